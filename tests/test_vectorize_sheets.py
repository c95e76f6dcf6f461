"""Stage 3 of a vectorize run (igae_robot.vectorize.sheets) on the one sheet pipeline: pen-down runs of many
gestures, lengths of many sheets, placed sheets."""

from __future__ import annotations

import numpy as np
import pytest

from igae_robot.errors import GestureError
from igae_robot.paper.sheet import SheetOptions


# ---- the batched pieces of stage 3 ------------------------------------------------------------


def test_pen_down_of_many_gestures_keeps_the_hysteresis():
    from igae_robot.gesture import pen_down

    intensity = np.array([[0.2, 0.6, 0.4, 0.3, 0.5, 0.49], [0.5, 0.34, 0.36, 0.5, 0.5, 0.0]])
    expected = [[False, True, True, False, True, True], [True, False, False, True, True, False]]
    assert pen_down(intensity).tolist() == expected
    assert pen_down(intensity, 0.5, 0.35).tolist() == expected
    with pytest.raises(GestureError, match="must not exceed"):
        pen_down(intensity, 0.5, 0.6)


def test_lengths_of_many_sheets_are_plot_stats():
    from fixtures_machine import DOT, EMPTY, random_glyph_gestures

    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import plan_sheet, plot_stats
    from igae_robot.paper.sheet import plot_lengths

    sheets = [plan_sheet(random_glyph_gestures(1 + k % 5, seed=k) + [DOT, EMPTY], Page.from_spec("A5")) for k in range(8)]
    sheets.append(plan_sheet([EMPTY], Page.from_spec("A5")))
    strokes, down, up = plot_lengths(sheets)
    for sheet, n, d, u in zip(sheets, strokes, down, up):
        stats = plot_stats(sheet)
        assert (n, d, u) == (stats.strokes, pytest.approx(stats.pen_down_mm, abs=1e-9), pytest.approx(stats.pen_up_mm, abs=1e-9))


def test_place_sheet_chains_the_pieces_of_a_stroke():
    from fixtures_machine import gesture

    from igae_robot.paper.layout import Placement
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import SheetOptions
    from igae_robot.paper.sheet import place_sheet

    # One stroke drawn in two pen-down pieces, the second starting 1 mm from where the first ended.
    g = gesture([[0.1, 0.5], [0.3, 0.5], [0.6, 0.6], [0.31, 0.5], [0.5, 0.5]], intensity=[1, 1, 0, 1, 1])
    page = Page(100, 100, 0, "image")
    place = [Placement(0, -1, 100.0, 0.0, 0.0)]
    apart = place_sheet([g], place, page, SheetOptions(merge_mm=0.0))
    joined = place_sheet([g], place, page, SheetOptions(merge_mm=2.0))
    assert len(apart.polylines) == 2 and len(joined.polylines) == 1
    assert joined.polylines[0].points[:, 0].tolist() == pytest.approx([10, 30, 31, 50])
