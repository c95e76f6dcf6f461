"""exporters/svg.py: SVG writer and reader: exact text, Inkscape layers, round trip, and what vpype reads."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from fixtures_machine import (
    DOT, EMPTY_SHEET, LINE, LINE_SHEET, SQUARE, TOY_PAGE, assert_same_placements, polyline, random_glyph_gestures, toy_sheet,
)

from igae_robot.paper import geometry
from igae_robot.errors import CheckError, ExportError
from igae_robot.exporters.svg import read_svg, svg_texts, write_svg
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet


def svg_text(sheet, **options) -> str:
    out = io.StringIO()
    write_svg(sheet, out, **options)
    return out.getvalue()


def test_line_exact_text():
    lines = svg_text(LINE_SHEET).splitlines()
    assert 'height="100mm"' in lines[1] and 'viewBox="0 0 100 100"' in lines[1] and 'width="100mm"' in lines[1]
    assert lines[9:13] == [
        ' <g fill="none" id="layer1" inkscape:groupmode="layer" inkscape:label="1 row-1" stroke="black" '
        'stroke-linecap="round" stroke-linejoin="round">',
        '  <path d="M 0,0 L 10,0" data-igae-glyph="0" data-igae-pressure="0.5 0.5" stroke-width="0.4"/>',
        " </g>",
        "</svg>",
    ]


def test_whole_document_exact_text():
    """The whole file, as the svgwrite-based writer of igae 0.1 wrote it (earlier runs' files stay the same)."""
    assert svg_text(LINE_SHEET) == (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:ev="http://www.w3.org/2001/xml-events" '
        'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'baseProfile="full" height="100mm" version="1.1" viewBox="0 0 100 100" width="100mm">\n'
        " <title>igae sheet</title>\n"
        " <desc>igae sheet 1\n"
        "igae page 100 100 margin 0 name toy\n"
        "igae pen-threshold 0.5 0.35\n"
        "igae glyph 0 label -1 row 0 col 0 scale 100 at 0 0\n"
        "igae svg-width 0.2 0.6</desc>\n"
        " <defs/>\n"
        ' <g fill="none" id="layer1" inkscape:groupmode="layer" inkscape:label="1 row-1" stroke="black" '
        'stroke-linecap="round" stroke-linejoin="round">\n'
        '  <path d="M 0,0 L 10,0" data-igae-glyph="0" data-igae-pressure="0.5 0.5" stroke-width="0.4"/>\n'
        " </g>\n"
        "</svg>\n"
    )


def test_many_sheets_at_once_are_each_sheet_alone():
    sheets = [plan_sheet(random_glyph_gestures(1 + k % 4, seed=k), Page.from_spec("A5")) for k in range(6)]
    sheets += [EMPTY_SHEET, toy_sheet(polyline([[5, 6]], pressure=1.0)), LINE_SHEET]
    for options in ({}, {"layers": "pen", "pens": 2}, {"layers": "glyph", "width_mm": (0.1, 1.0)}):
        assert svg_texts(sheets, **options) == [svg_text(sheet, **options) for sheet in sheets]
    assert svg_texts([]) == []


def test_empty_sheet_is_a_valid_page_without_layers():
    text = svg_text(EMPTY_SHEET)
    assert "<path" not in text and "<g" not in text
    assert read_svg(io.StringIO(text)).polylines == ()


def test_dot_is_a_zero_length_segment():
    text = svg_text(toy_sheet(polyline([[5, 6]], pressure=1.0)))
    assert 'd="M 5,6 L 5.01,6"' in text and 'stroke-width="0.6"' in text
    (dot,) = read_svg(io.StringIO(text)).polylines
    assert dot.points.tolist() == [[5, 6]]


def test_stroke_of_no_length_is_written_as_a_dot():
    still = geometry.Polyline(np.full((3, 2), 5.0), np.array([0.2, 0.9, 0.4]), np.arange(3.0), 0)
    text = svg_text(toy_sheet(still))
    assert 'd="M 5,5 L 5.01,5" data-igae-glyph="0" data-igae-pressure="0.9"' in text


def test_layers_per_row_glyph_pen():
    sheet = plan_sheet([LINE, SQUARE, DOT, LINE], TOY_PAGE, SheetOptions(cols=2))
    assert svg_text(sheet).count('inkscape:groupmode="layer"') == 2
    assert re.findall(r'inkscape:label="(\d+) glyph-(\d+)"', svg_text(sheet, layers="glyph")) == [
        ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4")]
    assert svg_text(sheet, layers="one").count("inkscape:groupmode") == 1
    assert 'id="layer1" inkscape:groupmode="layer" inkscape:label="1" ' in svg_text(sheet, layers="one")
    pen_text = svg_text(toy_sheet(polyline([[0, 0], [1, 0]], 0.1), polyline([[0, 5], [1, 5]], 0.9)), layers="pen", pens=2)
    assert re.findall(r'<g [^>]*inkscape:label="([^"]*)"', pen_text) == ["1 pen-1", "!pause: pen 2 next", "2 pen-2"]
    with pytest.raises(ExportError, match="unknown SVG layer mode 'rows'"):
        svg_text(sheet, layers="rows")


def test_round_trip_points_pressure_glyph_and_layout():
    sheet = plan_sheet(random_glyph_gestures(6, seed=2), Page.from_spec("A5"))
    back = read_svg(io.StringIO(svg_text(sheet)))
    assert_same_placements(back.placements, sheet.placements)
    assert back.page == sheet.page
    assert len(back.polylines) == len(sheet.polylines)
    by_glyph = lambda polys: sorted(polys, key=lambda p: (p.glyph, p.points[0].tolist()))  # noqa: E731
    for a, b in zip(by_glyph(sheet.polylines), by_glyph(back.polylines)):
        assert a.glyph == b.glyph
        np.testing.assert_allclose(a.points, b.points, atol=6e-4)
        np.testing.assert_allclose(a.pressure, b.pressure, atol=6e-5)


def test_reader_keeps_no_time():
    """An SVG stores no timing: t_s is 0 (no time known), never step indices posing as seconds.
    (Determinism, once a write-twice test here, is checked across two processes in
    test_exporters_properties.py.)"""
    back = read_svg(io.StringIO(svg_text(LINE_SHEET)))
    assert [p.t_s.tolist() for p in back.polylines] == [[0.0, 0.0]]


def test_reader_without_metadata_or_with_curves():
    plain = '<svg xmlns="http://www.w3.org/2000/svg"><path d="M 0 0 L 1 1"/></svg>'
    with pytest.raises(CheckError, match="no igae metadata"):
        read_svg(io.StringIO(plain), "plain.svg")
    curvy = '<svg xmlns="http://www.w3.org/2000/svg"><path d="M 0 0 C 1 1 2 2 3 3"/></svg>'
    with pytest.raises(CheckError, match="curves"):
        read_svg(io.StringIO(curvy))
    with pytest.raises(CheckError, match="not a readable SVG"):
        read_svg(io.StringIO("G21\nG90\n"))


def test_vpype_reads_same_strokes_and_length(tmp_path):
    vp = pytest.importorskip("vpype", reason="REQUIRED-IN-CI: vpype (test extra) not installed; pip install -e '.[test]'")
    gestures = random_glyph_gestures(24, seed=5) + [DOT]
    sheet = plan_sheet(gestures, Page.from_spec("A4"))
    path = tmp_path / "sheet.svg"
    path.write_text(svg_text(sheet))
    doc = vp.read_multilayer_svg(str(path), quantization=0.1)
    mm_per_px = 25.4 / 96  # vpype works in CSS pixels
    assert sum(len(layer) for layer in doc.layers.values()) == len(sheet.polylines)
    assert doc.length() * mm_per_px == pytest.approx(geometry.length(sheet.polylines), rel=0.01)
    assert sorted(doc.layers) == sorted({p.row + 1 for p in sheet.placements})
    assert doc.page_size[0] * mm_per_px == pytest.approx(210.0)


def test_vpype_reads_pen_layers_by_number_and_name(tmp_path):
    """A two-pen sheet: vpype reads two layers, ids and names from the labels; the pause layer is empty, so skipped.
    AxiDraw plots the layers in file order: pen 1, then a pause (the "!" layer) for the pen change, then pen 2."""
    vp = pytest.importorskip("vpype", reason="REQUIRED-IN-CI: vpype (test extra) not installed; pip install -e '.[test]'")
    sheet = toy_sheet(polyline([[10, 10], [40, 10]], 0.1), polyline([[10, 50], [40, 60]], 0.9), polyline([[60, 60], [90, 90]], 0.2))
    path = tmp_path / "pens.svg"
    path.write_text(svg_text(sheet, layers="pen", pens=2))
    doc = vp.read_multilayer_svg(str(path), quantization=0.1)
    assert sorted(doc.layers) == [1, 2]
    assert [doc.layers[i].property(vp.METADATA_FIELD_NAME) for i in (1, 2)] == ["1 pen-1", "2 pen-2"]
    assert [len(doc.layers[i]) for i in (1, 2)] == [2, 1]  # light strokes on pen 1, the heavy one on pen 2
