"""The model-side gesture: a batch of drawing programs as named torch tensors.

Shapes and units (canvas units: the image spans [0, 1] on both axes, x right, y down):

    start      (B, 2)    where the pen is at step 0
    velocity   (B, T, 2) displacement per step
    pressure   (B, T)    in [0, 1]: marker size (pen width, Z depth, force)
    intensity  (B, T)    in [0, 1]: ink (marker amplitude); below a threshold the pen is up

Positions are the *exclusive* cumulative sum of velocities from ``start`` (the article's
dynamic gesture): step t is drawn where the pen is before its own move, so step 0 is at ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from igae_robot.errors import GestureError
from igae_robot.gesture import Gesture

__all__ = ["GestureTensors"]


@dataclass(frozen=True)
class GestureTensors:
    start: Tensor
    velocity: Tensor
    pressure: Tensor
    intensity: Tensor

    def __post_init__(self) -> None:
        b, t = self.pressure.shape[:2] if self.pressure.dim() == 2 else (-1, -1)
        expected = {"start": (b, 2), "velocity": (b, t, 2), "pressure": (b, t), "intensity": (b, t)}
        for name, shape in expected.items():
            got = tuple(getattr(self, name).shape)
            if got != shape or b < 0:
                raise GestureError(
                    f"GestureTensors.{name} must have shape {_fmt(name)}, got {got} "
                    f"(pressure shape {tuple(self.pressure.shape)})"
                )

    @property
    def batch(self) -> int:
        return self.pressure.shape[0]

    @property
    def steps(self) -> int:
        return self.pressure.shape[1]

    def positions(self) -> Tensor:
        """(B, T, 2) pen position at each step: start + exclusive cumsum of velocity."""
        return self.start[:, None, :] + torch.cumsum(self.velocity, dim=1) - self.velocity

    @classmethod
    def from_positions(cls, positions: Tensor, pressure: Tensor, intensity: Tensor) -> "GestureTensors":
        """Build from absolute positions (B,T,2), e.g. the static-points model.

        velocity[t] = positions[t+1] - positions[t]; the last step does not move.
        """
        velocity = torch.cat([positions[:, 1:] - positions[:, :-1], torch.zeros_like(positions[:, :1])], dim=1)
        return cls(positions[:, 0], velocity, pressure, intensity)

    def to(self, *args, **kwargs) -> "GestureTensors":
        return GestureTensors(*(getattr(self, f).to(*args, **kwargs) for f in _FIELDS))

    def detach(self) -> "GestureTensors":
        return GestureTensors(*(getattr(self, f).detach() for f in _FIELDS))

    def __getitem__(self, index) -> "GestureTensors":
        """Select glyphs along the batch axis (an int keeps the batch axis)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return GestureTensors(*(getattr(self, f)[index] for f in _FIELDS))

    def to_gestures(
        self, variance: Tensor | None = None, dt_s: float = 0.05, labels: Tensor | None = None
    ) -> list[Gesture]:
        """Convert to torch-free :class:`Gesture` objects (glyph units = canvas units)."""
        pos = self.positions().detach().cpu().double().numpy()
        pressure = self.pressure.detach().cpu().double().numpy()
        intensity = self.intensity.detach().cpu().double().numpy()
        var = None if variance is None else variance.detach().cpu().double().numpy()
        lab = np.full(self.batch, -1) if labels is None else labels.detach().cpu().numpy()
        return [
            Gesture(pos[i], pressure[i], intensity[i], dt_s=dt_s, label=int(lab[i]), variance=None if var is None else var[i])
            for i in range(self.batch)
        ]

    @classmethod
    def from_gestures(cls, gestures: list[Gesture], dtype=torch.float32, device=None) -> "GestureTensors":
        """Stack torch-free gestures (same T) back into tensors, e.g. for the re-render check."""
        if not gestures:
            raise GestureError("no gestures given")
        steps = {len(g) for g in gestures}
        if len(steps) != 1:
            raise GestureError(f"gestures must all have the same number of steps to batch, got {sorted(steps)}")
        pos = torch.as_tensor(np.stack([g.points for g in gestures]), dtype=dtype, device=device)
        pressure = torch.as_tensor(np.stack([g.pressure for g in gestures]), dtype=dtype, device=device)
        intensity = torch.as_tensor(np.stack([g.intensity for g in gestures]), dtype=dtype, device=device)
        return cls.from_positions(pos, pressure, intensity)


_FIELDS = ("start", "velocity", "pressure", "intensity")


def _fmt(name: str) -> str:
    return {"start": "(B, 2)", "velocity": "(B, T, 2)", "pressure": "(B, T)", "intensity": "(B, T)"}[name]
