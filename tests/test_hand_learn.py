"""Write in my hand (issue 15): the template sheet, learning a hand from a photo of it, writing with the hand.

The filled sheet is made without a writer (tests/hand_fixtures.py): a handwriting font in every box, then
"photographed" (3 degrees, uneven light, noise).  benchmarks/hand_learn.py runs the same on the whole sheet
with Tesseract reading the result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hand_fixtures import font_fill, photograph, template_glyphs
from PIL import Image
from typer.testing import CliRunner

from igae_robot.cli.main import app
from igae_robot.errors import ConfigError, DataError
from igae_robot.exporters import export_file
from igae_robot.handwriting.learn import learn_hand, learn_hand_file
from igae_robot.handwriting.sample_hand import HandFallbackWarning, hands_with, load_sample_hand
from igae_robot.handwriting.template import (
    MARGIN_MM, TEMPLATE_CHARS, render_template, template_layout, template_svg, write_template,
)
from igae_robot.handwriting.writing import WritingStyle, write_text
from igae_robot.images.pen_draw import pen_iou
from igae_robot.images.trace import median_stroke_width
from igae_robot.paper.page import Page

# The first installed of these writes the sheet (DejaVu Sans, which CI always has, when no handwriting face is).
FONTS = ["tlwg/Purisa.ttf", "fifthhorseman/dkg.ttf", "breip/Breip.ttf", "humor-sans/Humor-Sans.ttf", "dejavu/DejaVuSans.ttf"]
CHARS = "agkQM7.@(j"  # round, descending, tall, dotted and punctuation: 30 boxes, a few seconds to learn
DPI = 200.0


def _font() -> str:
    for name in FONTS:
        if Path("/usr/share/fonts/truetype", name).is_file():
            return str(Path("/usr/share/fonts/truetype", name))
    pytest.skip("REQUIRED-IN-CI: no TrueType font to fill the template with (apt-get install fonts-dejavu-core)")


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_template_geometry_marks_and_boxes_inside_the_page_without_overlap():
    layout = template_layout()
    assert layout.chars == TEMPLATE_CHARS and len(layout.boxes) == 3 * len(TEMPLATE_CHARS)
    rects = [(b.x0, b.y0, b.x1, b.y1) for b in layout.boxes]
    marks = [(x - 4.5, y - 4.5, x + 4.5, y + 4.5) for x, y in layout.marks]
    for r in rects + marks:
        assert 5 <= r[0] < r[2] <= layout.width_mm - 5 and 5 <= r[1] < r[3] <= layout.height_mm - 5
    for i, a in enumerate(rects):
        assert not any(_overlap(a, m) for m in marks)
        assert not any(_overlap(a, b) for b in rects[i + 1 :])  # neighbours share a border line at most
    box = layout.boxes[0]
    assert box.y0 + MARGIN_MM < box.capline_mm < box.baseline_mm < box.y1 - MARGIN_MM
    assert template_layout() == layout  # a pure function: learn finds the boxes from the marks alone


def test_template_is_written_as_svg_and_pdf_and_refuses_other_names(tmp_path):
    write_template(tmp_path / "sheet.svg")
    write_template(tmp_path / "sheet.pdf", dpi=100)
    svg = (tmp_path / "sheet.svg").read_text()
    assert svg.startswith("<?xml") and 'width="210mm" height="297mm"' in svg and svg == template_svg(template_layout())
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ConfigError, match="unknown template format '.png'"):
        write_template(tmp_path / "sheet.png")
    with pytest.raises(ConfigError, match="repeated: a"):
        template_layout("abca")
    assert not (tmp_path / "sheet.png").exists()


@pytest.fixture(scope="module")
def filled():
    layout = template_layout(CHARS)
    clean = font_fill(layout, _font(), DPI, seed=3)
    photo = photograph(clean, 3.0, seed=3)
    return layout, clean, photo, learn_hand(photo, layout, "photo.png")


def _glyph_iou(report, written) -> float:
    """Median over the characters of the median over their boxes of the learned glyph's pen-drawn IoU
    against the glyph written in the box (the pen: the written glyph's median stroke)."""
    per_char = {}
    for box in report.boxes:
        glyph = written[box.box]
        per_char.setdefault(box.char, []).append(pen_iou(_runs(box.sample), glyph, median_stroke_width(glyph > 0.5)))
    return float(np.median([np.median(v) for v in per_char.values()]))


def test_learn_finds_every_character_and_its_glyphs_match_the_written_ones(filled):
    layout, clean, _, report = filled
    assert report.hand.chars == CHARS and not report.missing
    assert all(len(report.hand.glyphs[c]) == 3 for c in CHARS)
    written = template_glyphs(clean, layout, DPI)
    assert _glyph_iou(report, written) >= 0.7
    hand = report.hand
    assert 0.2 < hand.cap_height < 0.6 and hand.baseline == pytest.approx((layout.boxes[0].baseline_mm - layout.boxes[0].inner[1]) / 13.9)
    for box in (b for b in report.boxes if b.char in "gj"):  # descenders keep their place against the line
        bottom = np.flatnonzero(written[box.box].max(axis=1) > 0.5).max() / written.shape[-1]
        assert box.sample.points[box.sample.down, 1].max() == pytest.approx(bottom, abs=0.03)
        assert abs(box.shift) < 0.1 * hand.cap_height


def _runs(sample) -> list[np.ndarray]:
    cuts = np.flatnonzero(np.diff(sample.down.astype(np.int8))) + 1
    return [sample.points[r] * 128 for r in np.split(np.arange(len(sample.down)), cuts) if sample.down[r[0]]]


def test_a_photo_without_marks_is_one_clear_line(filled, tmp_path):
    _, _, photo, _ = filled
    h, w = photo.shape
    cropped = photo[h // 8 : -h // 8, w // 8 : -w // 8]  # the corners, and with them the marks, cut off
    with pytest.raises(DataError, match=r"^photo\.png: no registration marks found \(") as err:
        learn_hand(cropped, template_layout(CHARS), "photo.png")
    assert "\n" not in str(err.value)
    path = tmp_path / "nomarks.png"
    Image.fromarray(np.round(cropped * 255).astype(np.uint8)).save(path)
    result = CliRunner().invoke(app, ["hand", "learn", str(path), "-o", str(tmp_path / "my.hand"), "--template-chars", CHARS])
    assert result.exit_code == 2 and "no registration marks found" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert not (tmp_path / "my.hand").exists()


def test_an_empty_template_learns_nothing():
    layout = template_layout(CHARS)
    blank = photograph(render_template(layout, DPI), 3.0, seed=1)
    with pytest.raises(DataError, match="boxes are empty"):
        learn_hand(blank, layout, "blank.png")


def test_a_photo_at_a_slant_is_rectified(filled):
    layout, clean, _, _ = filled
    report = learn_hand(photograph(clean, -2.0, seed=4, keystone=0.12), layout, "slanted.png")
    assert report.hand.chars == CHARS and _glyph_iou(report, template_glyphs(clean, layout, DPI)) >= 0.7


def test_a_sideways_photo_reads_the_right_way_round(filled):
    layout, _, photo, report = filled
    turned = learn_hand(np.rot90(photo).copy(), layout, "turned.png")
    assert turned.hand.chars == report.hand.chars
    assert all(len(turned.hand.glyphs[c]) == len(report.hand.glyphs[c]) for c in CHARS)


def test_the_learned_hand_writes_through_write_text_the_same_for_one_seed(filled, tmp_path):
    layout, _, photo, _ = filled
    path = tmp_path / "photo.png"
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(path)
    learn_hand_file(path, tmp_path / "my.hand", CHARS)
    hand = load_sample_hand(tmp_path / "my.hand")
    assert hand.chars == CHARS and hand.source.endswith("my.hand")
    page = Page.from_spec("150x80mm", False, "8mm")
    files = []
    for seed in (5, 5, 6):
        sheet = write_text("gag QM7 (jak@", [hand], page, WritingStyle(size_mm=5, slant_deg=0, seed=seed))
        assert [chr(p.label) for p in sheet.placements] == list("gagQM7(jak@")
        export_file(sheet, tmp_path / f"out{len(files)}.svg", "svg", None)
        files.append((tmp_path / f"out{len(files)}.svg").read_bytes())
    assert files[0] == files[1] and files[0] != files[2]


def test_hands_with_puts_the_learned_hand_first_and_warns_about_what_falls_back(filled, tmp_path):
    _, _, _, report = filled
    from igae_robot.handwriting.sample_hand import save_sample_hand

    save_sample_hand(tmp_path / "my.hand", report.hand)
    fallback = load_sample_hand(tmp_path / "my.hand")
    fallback.glyphs = {"z": fallback.glyphs["a"], **fallback.glyphs}
    fallback.__post_init__()
    with pytest.warns(HandFallbackWarning, match=r"my\.hand: has no z; it is written in the fallback style"):
        hands = hands_with(tmp_path / "my.hand", [fallback], text="a zag")
    assert hands[0].source.endswith("my.hand") and hands[1] is fallback
    sheet = write_text("a zag", hands, Page.from_spec("150x80mm", False, "8mm"), WritingStyle(size_mm=5, seed=1))
    assert [chr(p.label) for p in sheet.placements] == list("azag")
    with pytest.raises(DataError, match="no such hand file"):
        hands_with(tmp_path / "none.hand", [])
    (tmp_path / "bad.hand").write_text("{}")
    with pytest.raises(DataError, match="not an igae hand file"):
        load_sample_hand(tmp_path / "bad.hand")


def test_cli_template_writes_the_sheet(tmp_path):
    result = CliRunner().invoke(app, ["hand", "template", "-o", str(tmp_path / "sheet.svg"), "--chars", "abc"])
    assert result.exit_code == 0, result.output
    assert "3 characters x 3 boxes" in result.output and (tmp_path / "sheet.svg").is_file()
    result = CliRunner().invoke(app, ["hand", "template", "-o", str(tmp_path / "sheet.txt")])
    assert result.exit_code == 2 and "unknown template format" in result.output


def test_cli_learn_then_handwrite_in_the_learned_hand(filled, tmp_path):
    """`igae hand learn` then `igae handwrite --hand`: the writer's glyphs, a warning for what falls back, a
    first line with room for the writer's ascenders."""
    _, _, photo, _ = filled
    scan = tmp_path / "photo.png"
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(scan)
    learned = CliRunner().invoke(app, ["hand", "learn", str(scan), "-o", str(tmp_path / "my.hand"), "--template-chars", CHARS])
    assert learned.exit_code == 0, learned.output
    out = tmp_path / "note.svg"
    result = CliRunner().invoke(app, ["handwrite", "lag 7 jam", "-o", str(out), "--hand", str(tmp_path / "my.hand"), "--page", "150x80mm"])
    assert result.exit_code == 0, result.output
    assert "written in the fallback style" in result.output  # the template taught only CHARS
    assert out.read_text().count("<path") >= 7
