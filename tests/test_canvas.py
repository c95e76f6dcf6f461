"""Training on what the pen draws: the model's canvas under each renderer, the pen-up travel cost, and
the pen preset learning to travel less with the pen up."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from igae_robot.config import ModelConfig, apply_overrides, load_preset
from igae_robot.errors import ConfigError
from igae_robot.model.canvas import draw, pen_widths
from igae_robot.model.render_pen import render_pen
from igae_robot.model.tensors import GestureTensors
from igae_robot.model.terms import pen_up_travel
from igae_robot.training.data import load_dataset
from igae_robot.training.train import train


def _gesture(intensity) -> GestureTensors:
    pos = torch.tensor([[[0.2, 0.2], [0.5, 0.2], [0.5, 0.6], [0.8, 0.6]]])
    return GestureTensors.from_positions(pos, torch.full((1, 4), 0.5), torch.tensor([intensity], dtype=torch.float32))


def test_the_pen_canvas_is_the_pen_renderer_with_the_configured_pen():
    cfg = ModelConfig(renderer="pen", pen_px=3.0, image_size=28)
    g = _gesture([1.0, 1.0, 0.0, 1.0])
    expected = render_pen(g.positions(), g.intensity, torch.full((1, 4), 3.0 / 28), (28, 28))
    torch.testing.assert_close(draw(g, cfg, (28, 28)), expected)
    wide = dataclasses.replace(cfg, pen_px_max=5.0)
    torch.testing.assert_close(pen_widths(g.pressure, wide), torch.full((1, 4), 4.0 / 28))  # pressure 0.5


def test_straight_through_draws_the_hard_pen_and_passes_the_soft_gradient():
    cfg = ModelConfig(renderer="pen", pen_state="straight-through")
    soft = _gesture([0.9, 0.7, 0.2, 0.6])
    hard = _gesture([1.0, 1.0, 0.0, 1.0])
    torch.testing.assert_close(draw(soft, cfg, (28, 28)), draw(hard, dataclasses.replace(cfg, pen_state="soft"), (28, 28)))
    intensity = soft.intensity.clone().requires_grad_()
    g = GestureTensors.from_positions(soft.positions(), soft.pressure, intensity)
    draw(g, cfg, (28, 28)).sum().backward()
    assert intensity.grad.abs().sum() > 0


def test_pen_up_travel_counts_only_the_moves_that_draw_nothing():
    assert pen_up_travel(_gesture([1.0, 1.0, 1.0, 1.0])).item() == pytest.approx(0.0)
    # The move 2 -> 3 (0.3 long) and the move 1 -> 2 (0.4 long) both touch the pen-up step 2.
    assert pen_up_travel(_gesture([1.0, 1.0, 0.0, 1.0])).item() == pytest.approx(0.7, abs=1e-6)


@pytest.mark.parametrize("bad", ["model.renderer=crayon", "model.pen_state=maybe", "model.pen_px=0", "train.pen_up_travel=-1"])
def test_bad_pen_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        apply_overrides(load_preset("pen"), [bad])


def test_the_travel_cost_shortens_pen_up_travel(tmp_path):
    data = load_dataset("digits", split="train").first(512)
    tiny = ["model.hidden=[64]", "train.epochs=4", "train.batch_size=64", "data.limit=512"]
    travel = {}
    for weight in (0.0, 0.2):
        config = apply_overrides(load_preset("pen"), [*tiny, f"train.pen_up_travel={weight}"])
        ckpt = train(config, tmp_path / f"travel-{weight}", data=data)
        with torch.no_grad():
            travel[weight] = pen_up_travel(ckpt.model.encode(data.images[:128])).item()
    assert travel[0.2] < 0.5 * travel[0.0], travel
