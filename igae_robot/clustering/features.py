"""Features of glyphs: what the encoder says about each (:class:`Codes`), and the named feature
sets built from it (units in the package doc, :mod:`igae_robot.clustering`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from igae_robot.errors import ConfigError

__all__ = ["Codes", "encode_codes", "FEATURES", "ALIASES", "feature_parts", "feature_matrix"]


@dataclass(frozen=True)
class Codes:
    """What the encoder says about N glyphs, as numpy arrays in the units listed in the module doc."""

    pixels: np.ndarray  # (N, H*W) in [0, 1]
    start: np.ndarray  # (N, 2) canvas units
    velocity: np.ndarray  # (N, T, 2) fraction of the largest step
    pressure: np.ndarray  # (N, T)
    intensity: np.ndarray  # (N, T)
    step: float  # the largest step in canvas units: velocity * step = canvas units

    def __len__(self) -> int:
        return len(self.pixels)

    def positions(self) -> np.ndarray:
        """(N, T, 2) pen positions: start + exclusive cumsum of velocity, canvas units."""
        v = self.velocity * self.step
        return self.start[:, None, :] + np.cumsum(v, axis=1) - v

    def subset(self, index) -> "Codes":
        return Codes(self.pixels[index], self.start[index], self.velocity[index], self.pressure[index],
                     self.intensity[index], self.step)


def encode_codes(model, images, batch_size: int = 2000) -> Codes:
    """Run the encoder of a :class:`~igae_robot.model.network.GestureAutoencoder` over images (N,1,S,S) in [0,1]."""
    import torch

    cfg = model.cfg
    step = cfg.step_size_px / cfg.image_size
    device = next(model.parameters()).device
    parts: dict[str, list[np.ndarray]] = {"start": [], "velocity": [], "pressure": [], "intensity": []}
    model.eval()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            gesture = model.encode(images[i : i + batch_size].float().to(device))
            for name, arrays in parts.items():
                arrays.append(getattr(gesture, name).cpu().double().numpy())
    joined = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    pixels = images.reshape(len(images), -1).double().numpy()
    return Codes(pixels, joined["start"], joined["velocity"] / step, joined["pressure"], joined["intensity"], step)


def _centred(codes: Codes) -> np.ndarray:
    """(N,T,2) positions minus their ink-weighted centre: where the glyph sits on the canvas no longer counts."""
    pos = codes.positions()
    w = codes.intensity[..., None] + 1e-6  # + eps: a glyph drawn with no ink still has a centre
    centre = (pos * w).sum(1, keepdims=True) / w.sum(1, keepdims=True)
    return pos - centre


def _shape(codes: Codes) -> np.ndarray:
    """Centred, scaled to unit RMS radius (ink-weighted): a small 3 and a large 3 become the same."""
    c = _centred(codes)
    w = codes.intensity[..., None] + 1e-6
    rms = np.sqrt((c**2 * w).sum((1, 2)) / w.sum((1, 2)))
    return c / np.maximum(rms, 1e-6)[:, None, None]


def _upright(codes: Codes) -> np.ndarray:
    """Shape, rotated so the principal axis of the ink is vertical: slanted and upright writing agree.

    Only the axis is fixed, not its direction (angles in (-90, 90] degrees), so a 6 does not turn into a 9."""
    s = _shape(codes)
    w = codes.intensity + 1e-6
    cov = np.einsum("nt,nti,ntj->nij", w, s, s) / w.sum(1)[:, None, None]  # (N,2,2) ink second moments
    # Angle of the principal axis measured from the y axis (x right, y down).
    angle = 0.5 * np.arctan2(2 * cov[:, 0, 1], cov[:, 1, 1] - cov[:, 0, 0])
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = s[..., 0], s[..., 1]
    return np.stack([x * cos - y * sin, x * sin + y * cos], axis=-1)


def _flat(f: Callable[[Codes], np.ndarray]) -> Callable[[Codes], np.ndarray]:
    return lambda codes: f(codes).reshape(len(codes), -1)


FEATURES: dict[str, Callable[[Codes], np.ndarray]] = {
    "pixels": lambda c: c.pixels,
    "velocity": _flat(lambda c: c.velocity),
    "intensity": lambda c: c.intensity,
    "pressure": lambda c: c.pressure,
    "positions": _flat(Codes.positions),
    "start": lambda c: c.start,
    "centred": _flat(_centred),
    "shape": _flat(_shape),
    "upright": _flat(_upright),
}
ALIASES = {"gesture": "velocity+intensity"}  # the article's codes


def feature_parts(name: str) -> list[str]:
    """'gesture+pressure' -> ['velocity', 'intensity', 'pressure']; unknown parts raise ConfigError."""
    parts: list[str] = []
    for part in name.split("+"):
        part = part.strip()
        expanded = ALIASES.get(part, part).split("+")
        for p in expanded:
            if p not in FEATURES:
                known = ", ".join([*FEATURES, *ALIASES])
                raise ConfigError(f"unknown feature {p!r} in {name!r}; known: {known} (join with '+')")
            parts.append(p)
    return parts


def feature_matrix(codes: Codes, name: str) -> np.ndarray:
    """(N, D) float64: the named parts side by side."""
    return np.hstack([FEATURES[p](codes) for p in feature_parts(name)]).astype(np.float64)
