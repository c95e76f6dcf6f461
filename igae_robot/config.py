"""One readable config tree: defaults in dataclasses, presets in TOML, ``--set a.b=value`` overrides.

The whole config is saved in every checkpoint, so a checkpoint alone rebuilds its model.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from igae_robot.errors import ConfigError

__all__ = ["ModelConfig", "TrainConfig", "DataConfig", "Config", "load_preset", "preset_names", "apply_overrides",
           "with_values"]


@dataclass(frozen=True)
class ModelConfig:
    decoder: str = "gesture"  # "points": independent markers (static); "gesture": velocities integrated from a start;
    # "recurrent": the same gesture, its steps from a GRU unrolled step by step
    steps: int = 25  # markers (points) or steps (gesture) per glyph
    encoder: str = "mlp"  # "mlp" or "conv"
    hidden: tuple[int, ...] = (600, 500, 400, 300)  # MLP widths (or the conv encoder's dense widths)
    channels: tuple[int, ...] = (32, 64)  # conv encoder channels (stride-2 3x3 convs)
    activation: str = "sigmoid"  # "sigmoid" (article), "relu", "gelu"
    norm: bool = False  # LayerNorm after each hidden layer
    init: str = "torch"  # weight init: "torch" (PyTorch defaults) or "glorot" (TensorFlow/Keras Dense defaults)
    image_size: int = 28  # canvas is image_size x image_size
    step_size_px: float = 3.0  # largest move per step, in pixels (velocity = tanh * step_size_px / image_size)
    start: tuple[float, float] | None = (0.1, 0.5)  # fixed pen start (x, y); None = predicted per glyph
    intensity: bool = True  # predict ink per step; False = every marker at full ink (static preset)
    var_coef: float = 0.01  # marker variance = pressure * var_coef + var_eps (canvas units²)
    var_eps: float = 1e-4
    # What the loss sees: "markers" (the article's Gaussian dots) or "pen" (what a plotter draws: lines of
    # the pen's width between pen-down steps, nothing where the pen is up; model/canvas.py).
    renderer: str = "markers"
    pen_px: float = 2.5  # the pen's width on the canvas, pixels
    pen_px_max: float = 0.0  # > pen_px: the width follows pressure from pen_px to pen_px_max; 0 = fixed
    pen_state: str = "soft"  # "soft" (intensity as is) or "straight-through" (hard forward, soft gradient)

    def __post_init__(self) -> None:
        _in_range("model.steps", self.steps, 1, MAX_STEPS)
        _in_range("model.image_size", self.image_size, 4, MAX_IMAGE_SIZE)
        for key in ("hidden", "channels"):
            if any(not 1 <= width <= MAX_WIDTH for width in getattr(self, key)):
                raise ConfigError(f"model.{key} must list widths in 1..{MAX_WIDTH}, got {list(getattr(self, key))}")
        _positive("model.step_size_px", self.step_size_px)
        _positive("model.var_coef", self.var_coef, zero_ok=True)
        _positive("model.var_eps", self.var_eps)
        _positive("model.pen_px", self.pen_px)
        _positive("model.pen_px_max", self.pen_px_max, zero_ok=True)
        if self.renderer not in ("markers", "pen"):
            raise ConfigError(f"unknown model.renderer {self.renderer!r}; known: markers, pen")
        if self.pen_state not in ("soft", "straight-through"):
            raise ConfigError(f"unknown model.pen_state {self.pen_state!r}; known: soft, straight-through")
        if self.start is not None and (len(self.start) != 2 or not all(math.isfinite(v) for v in self.start)):
            raise ConfigError(f"model.start must be two finite numbers (x, y) or none, got {self.start!r}")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3  # Adam
    weight_decay: float = 0.0
    lr_schedule: str = "constant"  # "constant" or "cosine" (to 0 over all epochs)
    seed: int = 0
    val_fraction: float = 0.1  # held out of the training split for per-epoch validation
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1"...
    precision: str = "fp32"  # "fp32" or "bf16" (autocast of the encoder; the renderer always draws in float32)
    compile: bool = False  # torch.compile the model for training
    dt_s: float = 0.05  # seconds per gesture step at nominal playback speed (exported timing)
    intensity_tv: float = 0.0  # weight of the ink's total variation over steps: fewer pen lifts (gesture_terms.py)
    edge: float = 0.0  # weight of "end on the ink's right edge" (connected writing, gesture_terms.py)
    pen_up_travel: float = 0.0  # weight of the distance moved with the pen up (canvas units, terms.py)

    def __post_init__(self) -> None:
        _in_range("train.epochs", self.epochs, 1, MAX_EPOCHS)
        _in_range("train.batch_size", self.batch_size, 1, MAX_BATCH)
        _in_range("train.seed", self.seed, 0, 2**32 - 1)  # the epoch shuffles seed with seed * 100003 + epoch (int64)
        _positive("train.lr", self.lr)
        for key in ("weight_decay", "intensity_tv", "edge", "pen_up_travel"):
            _positive(f"train.{key}", getattr(self, key), zero_ok=True)
        _positive("train.dt_s", self.dt_s)
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"train.val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"unknown train.lr_schedule {self.lr_schedule!r}; known: constant, cosine")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"unknown train.precision {self.precision!r}; known: bf16, fp32")


@dataclass(frozen=True)
class DataConfig:
    name: str = "digits"  # digits (embedded), mnist, emnist-<split>, kmnist, fashion, npz, folder
    dir: str = ""  # folder holding the dataset files (not needed for "digits")
    limit: int = 0  # use at most this many training images (0 = all)

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ConfigError(f"data.limit (--limit) must be 0 (all images) or a positive count, got {self.limit}")


# Bounds that catch a typo (an extra zero, a minus sign) before it costs hours or all memory.
MAX_STEPS = 10_000
MAX_IMAGE_SIZE = 1024
MAX_WIDTH = 1_000_000
MAX_EPOCHS = 1_000_000
MAX_BATCH = 10_000_000


def _in_range(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} must be a whole number in {low}..{high}, got {value!r}")


def _positive(key: str, value: float, zero_ok: bool = False) -> None:
    """A finite number > 0 (>= 0 with zero_ok): NaN and inf never reach an optimizer or a renderer."""
    if not (math.isfinite(value) and (value >= 0 if zero_ok else value > 0)):
        raise ConfigError(f"{key} must be a finite number {'>= 0' if zero_ok else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class Config:
    preset: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        try:
            return Config(
                preset=d.get("preset", "custom"),
                model=_build(ModelConfig, d.get("model", {}), "model"),
                train=_build(TrainConfig, d.get("train", {}), "train"),
                data=_build(DataConfig, d.get("data", {}), "data"),
            )
        except TypeError as exc:
            raise ConfigError(f"bad config: {exc}") from None


_SECTIONS = {"model": ModelConfig, "train": TrainConfig, "data": DataConfig}


def _build(cls, values: dict[str, Any], section: str):
    if not isinstance(values, dict):
        raise ConfigError(f"[{section}] must be a table of keys, got {values!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)} in [{section}]; known: {', '.join(sorted(known))}")
    default = cls()
    return cls(**{k: _coerce(v, getattr(default, k), f"{section}.{k}", "None" in str(known[k].type)) for k, v in values.items()})


def _coerce(value: Any, default: Any, key: str, optional: bool = False) -> Any:
    """Convert ``value`` to the type of ``default`` (the field's default), or fail naming the key.

    Optional fields (e.g. model.start) also take "none" -- TOML has no null.
    """
    if isinstance(value, list):
        value = tuple(value)
    if optional and (value is None or (isinstance(value, str) and value.lower() == "none")):
        return None
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = tuple(v for v in value.strip("()[] ").split(",") if v.strip())
        if not isinstance(value, tuple):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        elem = type(default[0]) if default else int
        try:
            return tuple(elem(v) for v in value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{key} must be a list of {elem.__name__}, got {value!r}") from None
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}")
    try:
        if isinstance(value, bool):
            raise TypeError  # true is not the number 1
        if isinstance(default, int) and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return type(default)(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise ConfigError(f"{key} must be {type(default).__name__}, got {value!r}") from None


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("igae_robot.presets").iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> Config:
    """A named preset (``static``, ``dynamic``, ``igae``...) or a path to a TOML file of the same form."""
    path = Path(name)
    if path.suffix == ".toml":
        if not path.is_file():
            raise ConfigError(f"{path}: no such preset file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the preset as UTF-8") from None
        preset = path.stem
    else:
        names = preset_names()
        if name not in names:
            raise ConfigError(f"unknown preset {name!r}; known: {', '.join(names)}")
        text = resources.files("igae_robot.presets").joinpath(f"{name}.toml").read_text()
        preset = name
    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"preset {name}: invalid TOML ({exc})") from None
    unknown = set(tree) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"preset {name}: unknown section(s) {sorted(unknown)}; known: {', '.join(_SECTIONS)}")
    return Config.from_dict({"preset": preset, **tree})


def apply_overrides(config: Config, overrides: list[str] | dict[str, Any]) -> Config:
    """Apply ``section.key=value`` overrides, type-checked against the field's default.

    A text value is read as a TOML literal (``3e-4``, ``[64, 32]``, ``"cpu"``; a bare word stays text)."""
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in overrides]
    tree = config.to_dict()
    for dotted, value in items:
        _put(tree, dotted, _parse_literal(value) if isinstance(value, str) else value)
    return Config.from_dict(tree)


def with_values(config: Config, values: dict[str, Any], overrides: Sequence[str] = ()) -> Config:
    """``values`` taken as they are (``{"data.dir": "", "train.epochs": 3}``, e.g. a command's typed
    options), then ``--set`` style ``section.key=value`` overrides on top; checked once, as one config."""
    tree = config.to_dict()
    for dotted, value in values.items():
        _put(tree, dotted, value)
    for dotted, text in map(_split, overrides):
        _put(tree, dotted, _parse_literal(text))
    return Config.from_dict(tree)


def _put(tree: dict[str, dict[str, Any]], dotted: str, value: Any) -> None:
    """Set ``section.key`` in a config tree; an unknown section or key names the known ones."""
    section, _, key = dotted.partition(".")
    if section not in _SECTIONS or not key:
        raise ConfigError(f"override {dotted!r} must look like section.key with section in {', '.join(_SECTIONS)}")
    known = {f.name for f in dataclasses.fields(_SECTIONS[section])}
    if key not in known:
        raise ConfigError(f"unknown key {dotted!r}; known in [{section}]: {', '.join(sorted(known))}")
    tree[section][key] = value


def _split(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value")
    key, _, value = item.partition("=")
    return key.strip(), value.strip()


def _parse_literal(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # bare word, e.g. model.activation=relu
