"""The inverse-graphics autoencoder: an ordinary encoder, a gesture head, and a renderer (markers or pen).

    image (B,1,H,W) --encoder--> features --head--> GestureTensors --render--> canvas (B,1,H,W)

The decoder has no weights: it *is* the drawing program, so what the encoder outputs can be played
back on a machine.
"""

from __future__ import annotations


import torch
from torch import Tensor, nn

from igae_robot.config import ModelConfig
from igae_robot.errors import ConfigError
from igae_robot.model.tensors import GestureTensors
from igae_robot.model.canvas import draw
from igae_robot.model.render import MarkerRenderer, marker_variance

__all__ = ["GestureAutoencoder", "build_model"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; known: {', '.join(sorted(_ACTIVATIONS))}")
    return _ACTIVATIONS[name]()


def _mlp(sizes: list[int], activation: str, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(fan_in, fan_out))
        if norm:
            layers.append(nn.LayerNorm(fan_out))
        layers.append(_activation(activation))
    return nn.Sequential(*layers)


def _encoder(cfg: ModelConfig) -> tuple[nn.Module, int]:
    """The encoder and the width of the features it returns."""
    pixels = cfg.image_size * cfg.image_size
    if cfg.encoder == "mlp":
        return nn.Sequential(nn.Flatten(), _mlp([pixels, *cfg.hidden], cfg.activation, cfg.norm)), cfg.hidden[-1]
    if cfg.encoder == "conv":
        convs: list[nn.Module] = []
        c_in, side = 1, cfg.image_size
        for c_out in cfg.channels:
            convs += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), _activation(cfg.activation)]
            c_in, side = c_out, (side + 1) // 2
        dense = _mlp([c_in * side * side, *cfg.hidden], cfg.activation, cfg.norm)
        return nn.Sequential(*convs, nn.Flatten(), dense), cfg.hidden[-1]
    raise ConfigError(f"unknown encoder {cfg.encoder!r}; known: conv, mlp")


class GestureAutoencoder(nn.Module):
    """Encoder + gesture head + differentiable renderer, configured by a :class:`ModelConfig`."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.decoder not in ("points", "gesture", "recurrent"):
            raise ConfigError(f"unknown decoder {cfg.decoder!r}; known: gesture, points, recurrent")
        if cfg.steps < 1 or not cfg.hidden:
            raise ConfigError(f"model needs steps >= 1 and at least one hidden layer, got {cfg.steps}, {cfg.hidden}")
        self.cfg = cfg
        self.encoder, width = _encoder(cfg)
        # Per step: x/y (points) or dx/dy (gesture), pressure, and intensity when predicted.
        self.per_step = 3 + int(cfg.intensity)
        self.predict_start = cfg.decoder != "points" and cfg.start is None
        if cfg.decoder == "recurrent":  # one step at a time, each seeing the one before (the article's next step)
            self.head = RecurrentHead(width, cfg.steps, self.per_step, 2 * self.predict_start)
        else:
            self.head = nn.Linear(width, cfg.steps * self.per_step + 2 * self.predict_start)
        self.renderer = MarkerRenderer((cfg.image_size, cfg.image_size), cfg.var_coef, cfg.var_eps)  # the article's
        _initialise(self, cfg.init)
        if cfg.decoder != "points" and cfg.start is not None:
            self.register_buffer("fixed_start", torch.tensor(cfg.start, dtype=torch.float32), persistent=False)

    def encode(self, images: Tensor) -> GestureTensors:
        """images (B,1,S,S) in [0,1] -> gestures in canvas units."""
        return self.decode_features(self.encoder(images))

    def decode_features(self, features: Tensor) -> GestureTensors:
        """Encoder features (B, hidden[-1]) -> gestures: the head alone.  Handwriting samples new glyphs
        as features drawn from a per-class distribution (:mod:`igae_robot.handwriting.models`)."""
        cfg = self.cfg
        out = self.head(features)
        b = out.shape[0]
        steps = out[:, : cfg.steps * self.per_step].reshape(b, cfg.steps, self.per_step)  # (B,T,per_step)
        pressure = torch.sigmoid(steps[..., 2])
        intensity = torch.sigmoid(steps[..., 3]) if cfg.intensity else torch.ones_like(pressure)
        if cfg.decoder == "points":
            return GestureTensors.from_positions(torch.sigmoid(steps[..., :2]), pressure, intensity)
        velocity = torch.tanh(steps[..., :2]) * (cfg.step_size_px / cfg.image_size)
        if self.predict_start:
            start = torch.sigmoid(out[:, -2:])
        else:
            start = self.fixed_start.to(out.dtype).expand(b, 2)
        return GestureTensors(start, velocity, pressure, intensity)

    def forward(self, images: Tensor) -> tuple[Tensor, GestureTensors]:
        """Returns (reconstruction (B,1,S,S), gesture)."""
        gesture = self.encode(images)
        if self.cfg.renderer == "pen":  # what the plotter draws (model/canvas.py)
            return draw(gesture, self.cfg, (self.cfg.image_size, self.cfg.image_size)), gesture
        return self.renderer(gesture, check=False), gesture

    def variance(self, gesture: GestureTensors) -> Tensor:
        """(B,T) marker variance the renderer uses for ``gesture``."""
        return marker_variance(gesture.pressure, self.cfg.var_coef, self.cfg.var_eps)


class RecurrentHead(nn.Module):
    """Features (B,F) -> the same flat output as the linear head, (B, T*per_step + extra): a GRU unrolled over
    the T steps, each step's input the features and the step before, so a stroke can follow on from itself
    rather than every step being guessed at once.  ``extra`` outputs (the start point) come from the features."""

    def __init__(self, width: int, steps: int, per_step: int, extra: int, hidden: int = 256):
        super().__init__()
        self.steps, self.per_step = steps, per_step
        self.first = nn.Linear(width, hidden)
        self.cell = nn.GRUCell(width + per_step, hidden)
        self.step = nn.Linear(hidden, per_step)
        self.extra = nn.Linear(width, extra) if extra else None

    def forward(self, features: Tensor) -> Tensor:
        h = torch.tanh(self.first(features))
        previous = features.new_zeros(len(features), self.per_step)
        outputs = []
        for _ in range(self.steps):
            h = self.cell(torch.cat([features, previous], dim=1), h)
            previous = self.step(h)
            outputs.append(previous)
        flat = torch.cat(outputs, dim=1)
        return flat if self.extra is None else torch.cat([flat, self.extra(features)], dim=1)


def _initialise(model: nn.Module, scheme: str) -> None:
    """"glorot" reproduces Keras' Dense/Conv defaults (Glorot-uniform weights, zero biases), which the
    article's TensorFlow notebook used; its sigmoid MLPs train markedly better with it than with
    PyTorch's smaller default (Kaiming-uniform with a=sqrt(5))."""
    if scheme == "torch":
        return
    if scheme != "glorot":
        raise ConfigError(f"unknown init {scheme!r}; known: glorot, torch")
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def build_model(cfg: ModelConfig) -> GestureAutoencoder:
    return GestureAutoencoder(cfg)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


