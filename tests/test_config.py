from __future__ import annotations

import pytest

from igae_robot.config import Config, apply_overrides, load_preset, preset_names
from igae_robot.errors import ConfigError


def test_article_presets_are_exactly_the_article():
    static, dynamic = load_preset("static").model, load_preset("dynamic").model
    assert (static.decoder, static.steps, static.hidden, static.activation, static.intensity) == (
        "points", 10, (300, 200), "sigmoid", False)
    assert (static.var_coef, static.var_eps) == (0.01, 1e-4)
    assert (dynamic.decoder, dynamic.steps, dynamic.hidden, dynamic.activation) == (
        "gesture", 25, (600, 500, 400, 300), "sigmoid")
    assert (dynamic.step_size_px, dynamic.start, dynamic.image_size) == (3.0, (0.1, 0.5), 28)
    assert load_preset("static").train.epochs == 10 and load_preset("dynamic").train.epochs == 50
    # The notebook is TensorFlow: Keras Dense defaults (Glorot-uniform weights, zero biases).
    assert static.init == dynamic.init == "glorot"


def test_glorot_init_matches_keras_defaults():
    import math

    from igae_robot.model.network import build_model

    model = build_model(load_preset("dynamic").model)
    first = model.encoder[1][0]  # Flatten, then the MLP's first Linear (784 -> 600)
    assert float(first.bias.detach().abs().max()) == 0.0
    limit = math.sqrt(6 / (784 + 600))
    assert limit * 0.95 < float(first.weight.detach().abs().max()) <= limit
    with pytest.raises(ConfigError, match="unknown init 'he'"):
        build_model(apply_overrides(load_preset("dynamic"), ["model.init=he"]).model)


def test_every_preset_loads_and_round_trips():
    for name in preset_names():
        config = load_preset(name)
        assert Config.from_dict(config.to_dict()) == config


def test_overrides_are_type_checked():
    config = apply_overrides(load_preset("dynamic"), ["train.lr=3e-4", "model.hidden=[64, 32]", "model.start=none",
                                                     "model.activation=relu", "model.norm=true"])
    assert config.train.lr == 3e-4 and config.model.hidden == (64, 32) and config.model.start is None
    assert config.model.activation == "relu" and config.model.norm is True
    with pytest.raises(ConfigError, match="train.epochs must be int"):
        apply_overrides(config, ["train.epochs=ten"])
    with pytest.raises(ConfigError, match="unknown key 'train.learning_rate'.*lr"):
        apply_overrides(config, ["train.learning_rate=1"])
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides(config, ["train.lr"])


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown preset 'nope'; known: .*dynamic.*static"):
        load_preset("nope")


def test_preset_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[model]\nsteps = 7\n[train]\nepochs = 2\n')
    config = load_preset(str(path))
    assert config.preset == "mine" and config.model.steps == 7
    path.write_text('[modle]\nsteps = 7\n')
    with pytest.raises(ConfigError, match="unknown section"):
        load_preset(str(path))


@pytest.mark.parametrize("override, message", [
    ("train.epochs=0", "train.epochs must be a whole number in 1.."),
    ("train.lr=nan", "train.lr must be a finite number > 0, got nan"),
    ("train.lr=-1e-3", "train.lr must be a finite number > 0"),
    ("train.batch_size=0", "train.batch_size must be"),
    ("train.weight_decay=inf", "train.weight_decay must be a finite number >= 0"),
    ("train.val_fraction=1", r"train.val_fraction must be in \[0, 1\)"),
    ("train.seed=-1", "train.seed must be"),
    ("train.epochs=inf", "train.epochs must be int, got inf"),  # int(inf) is an OverflowError, not a ValueError
    ("train.epochs=true", "train.epochs must be int, got True"),  # a bool is not the number 1
    ("train.lr_schedule=linear", "unknown train.lr_schedule 'linear'"),
    ("data.limit=-5", "data.limit"),
    ("data.name=3", "data.name must be a string"),
    ("model.steps=0", "model.steps must be"),
    ("model.hidden=[0]", "model.hidden must list widths"),
    ("model.var_eps=0", "model.var_eps must be a finite number > 0"),
    ("model.start=[nan, 0.5]", "model.start must be two finite numbers"),
    ("model.image_size=100000", "model.image_size must be"),
])
def test_values_are_range_checked_where_the_config_is_built(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(load_preset("dynamic"), [override])


def test_preset_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[model]\nactivation = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.toml: not UTF-8 text"):
        load_preset(str(path))
    path.write_text("model = 3\n")
    with pytest.raises(ConfigError, match=r"\[model\] must be a table"):
        load_preset(str(path))


def test_typed_values_are_taken_as_they_are_and_overrides_win():
    from igae_robot.config import with_values

    config = with_values(load_preset("dynamic"), {"data.name": "true", "data.dir": "", "train.epochs": 3, "train.compile": True},
                         ["train.epochs=4", 'train.device="cpu"'])
    assert config.data.name == "true" and config.data.dir == ""  # text is never read as TOML
    assert config.train.epochs == 4 and config.train.compile is True and config.train.device == "cpu"
    with pytest.raises(ConfigError, match="unknown key 'train.learning_rate'"):
        with_values(config, {"train.learning_rate": 1.0})
    with pytest.raises(ConfigError, match="data.limit .* must be 0"):
        with_values(config, {"data.limit": -1})
    assert with_values(config, {"data.limit": -1}, ["data.limit=2"]).data.limit == 2, "checked once, as one config"
