"""paper/page.py: named and custom page sizes, and errors that name the problem."""

from __future__ import annotations

import pytest

from igae_robot.errors import PageError
from igae_robot.paper.page import Page


def test_page_named_sizes_and_orientation():
    a4 = Page.from_spec("a4")
    assert (a4.width_mm, a4.height_mm, a4.name) == (210.0, 297.0, "A4")
    assert Page.from_spec("A4", landscape=True).width_mm == 297.0
    assert Page.from_spec("Letter").width_mm == pytest.approx(215.9)
    assert Page.from_spec("A3", margin="1cm").drawable == (10.0, 10.0, 287.0, 410.0)


def test_page_custom_size():
    page = Page.from_spec("200x150mm")
    assert (page.width_mm, page.height_mm) == (200.0, 150.0)
    assert Page.from_spec("8.5in x 11in").height_mm == pytest.approx(279.4)


@pytest.mark.parametrize("spec, margin", [("B17", "10mm"), ("A4", "120mm"), ("0x10mm", "0")])
def test_page_errors_name_the_problem(spec, margin):
    with pytest.raises(PageError, match="page|margin|size"):
        Page.from_spec(spec, margin=margin)
