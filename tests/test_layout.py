"""paper/layout.py: glyphs on a grid of cells, and the placement map both ways."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_machine import TOY_PAGE

from igae_robot.errors import PageError
from igae_robot.paper.layout import layout_grid
from igae_robot.paper.page import Page


def test_layout_grid_largest_cells_centred():
    places = layout_grid(4, Page(100, 100, margin_mm=0), spacing_mm=0)
    assert [(p.row, p.col) for p in places] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [p.scale_mm for p in places] == [50.0] * 4
    assert (places[3].x_mm, places[3].y_mm) == (50.0, 50.0)
    assert places[1].from_page(places[1].to_page(np.array([[0.3, 0.7]]))) == pytest.approx(np.array([[0.3, 0.7]]))


def test_layout_empty_and_too_small_page():
    assert layout_grid(0, TOY_PAGE) == []
    with pytest.raises(PageError, match="page too small: 100 glyphs .* 30 mm cells"):
        layout_grid(100, Page.from_spec("A5"), cell_mm=30)
