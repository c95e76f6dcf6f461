"""igae handwrite on long texts: page breaks (write_pages), numbered files (--pages), all or nothing, the one-line
refusal without --pages, identical files for one seed, and the G-code of every page for every plotter profile."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from fixtures_machine import assert_moves_inside, run_rs274
from typer.testing import CliRunner

import igae_robot.exporters as exporters
from igae_robot.cli.main import app
from igae_robot.errors import PageError
from igae_robot.exporters import export_file, read_file
from igae_robot.handwriting.hand import builtin_hand
from igae_robot.handwriting.writing import WritingStyle, write_pages, write_text
from igae_robot.paper.machine import machine_profiles
from igae_robot.paper.page import Page

runner = CliRunner()

# Three paragraphs, about 2.5 pages of A5 at 8 mm.
TEXT = (
    "Dear Ada, the plotter writes this letter on more than one page, 42 lines or so. "
    "It breaks the lines at the end of a page and goes on at the top of the next one.\n\n"
    "The second paragraph has a few more words (and digits: 0123 4567 89) so that the text "
    "needs a second sheet of paper; nothing is lost on the way, not even a comma.\n\n"
    "Yours, B. P.S. the quick brown fox jumps over the lazy dog, again and again and again, "
    "until the third page starts and the last line is written."
)
PAGE = Page.from_spec("A5", margin="15mm")
STYLE = WritingStyle(size_mm=8, seed=5)
ARGS = ["--page", "A5", "--size", "8mm", "--seed", "5"]
PLOTTERS = sorted(name for name, m in machine_profiles().items() if m.kind == "plotter")


@pytest.fixture(scope="module")
def hands():
    return [builtin_hand("digits"), builtin_hand("letters")]


@pytest.fixture(scope="module")
def sheets(hands):
    return write_pages(TEXT, hands, PAGE, STYLE)


def _labels(sheet) -> str:
    return "".join(chr(p.label) for p in sheet.placements)


def test_lines_flow_on_to_the_next_page_and_no_glyph_is_lost(sheets):
    assert len(sheets) >= 2
    written = "".join(_labels(s) for s in sheets)
    assert written == "".join(TEXT.split())  # every non-space character, in order, once
    x0, y0, x1, y1 = PAGE.drawable
    for sheet in sheets:
        assert [p.glyph for p in sheet.placements] == list(range(len(sheet.placements)))  # each page numbers its own
        assert min(p.row for p in sheet.placements) == 0
        points = np.concatenate([p.points for p in sheet.polylines])
        assert points[:, 0].min() >= x0 and points[:, 0].max() <= x1 and points[:, 1].min() >= y0 and points[:, 1].max() <= y1
    # the pages before the last are full: their last line is near the page end
    bottoms = [max(p.points[:, 1].max() for p in s.polylines) for s in sheets]
    assert min(bottoms[:-1]) > y1 - 2 * 1.5 * 4 / 3 * STYLE.size_mm


def test_a_text_that_fits_gives_one_page_as_write_text(hands):
    short = TEXT.split("\n\n")[0]
    [one] = write_pages(short, hands, PAGE, STYLE)
    same = write_text(short, hands, PAGE, STYLE)
    assert one.placements == same.placements
    assert all(np.array_equal(a.points, b.points) for a, b in zip(one.polylines, same.polylines))


def test_write_text_refuses_a_longer_text_naming_the_pages(hands, sheets):
    with pytest.raises(PageError, match=rf"needs {len(sheets)} pages: .* lines .*--pages"):
        write_text(TEXT, hands, PAGE, STYLE)
    with pytest.raises(PageError, match="holds no line"):
        write_pages("a", hands, Page.from_spec("40x20mm", margin="5mm"), WritingStyle(size_mm=8))


def test_progress_reaches_the_end(hands):
    seen = []
    write_pages(TEXT, hands, PAGE, STYLE, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_pages_are_numbered_files_identical_for_one_seed(tmp_path, sheets):
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        result = runner.invoke(app, ["handwrite", TEXT, "-o", str(tmp_path / name / "note.svg"), "--pages", *ARGS])
        assert result.exit_code == 0, result.output
        runs.append(sorted(p.name for p in (tmp_path / name).iterdir()))
    expected = [f"note-{k}.svg" for k in range(1, len(sheets) + 1)]
    assert runs[0] == runs[1] == sorted(expected)
    for name in expected:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "".join(_labels(read_file(tmp_path / "a" / name)) for name in expected) == "".join(TEXT.split())


def test_without_pages_a_long_text_is_one_error_line(tmp_path, sheets):
    result = runner.invoke(app, ["handwrite", TEXT, "-o", str(tmp_path / "note.svg"), *ARGS])
    assert result.exit_code == 2
    assert f"needs {len(sheets)} pages" in result.output and "--pages" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_page_that_cannot_be_written_leaves_no_page(tmp_path, monkeypatch):
    (tmp_path / "note-2.svg").mkdir()  # refused before any work
    result = runner.invoke(app, ["handwrite", TEXT, "-o", str(tmp_path / "note.svg"), "--pages", *ARGS])
    assert result.exit_code == 2 and "note-2.svg" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note-2.svg"]
    (tmp_path / "note-2.svg").rmdir()
    real = exporters.atomic_write_text

    def full_disk_on_page_2(path, text):
        if str(path).endswith("-2.svg"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(exporters, "atomic_write_text", full_disk_on_page_2)
    result = runner.invoke(app, ["handwrite", TEXT, "-o", str(tmp_path / "note.svg"), "--pages", *ARGS])
    assert result.exit_code == 2 and "No space left" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("machine_name", PLOTTERS)
def test_gcode_of_every_page_passes_rs274_within_bounds(machine_name, sheets, tmp_path):
    machine = machine_profiles()[machine_name]
    for k, sheet in enumerate(sheets, 1):
        path = export_file(sheet, tmp_path / f"letter-{k}.gcode", "gcode", machine)
        assert_moves_inside(run_rs274(path.read_text(), machine, tmp_path), machine)


def test_cli_gcode_pages(tmp_path, sheets):
    result = runner.invoke(app, ["handwrite", TEXT, "-o", str(tmp_path / "letter.gcode"), "--pages", "--machine", "marlin", *ARGS])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"letter-{k}.gcode" for k in range(1, len(sheets) + 1))


def test_cli_draws_a_progress_bar_on_long_texts(tmp_path, monkeypatch):
    """The command hands write_pages a progress callback (the bar) once a text is long."""
    import igae_robot.cli.handwrite_commands as commands
    import igae_robot.handwriting.writing as writing

    monkeypatch.setattr(commands, "_PROGRESS_CHARS", 10)  # this text counts as long
    calls = []
    original = writing.write_pages
    monkeypatch.setattr(writing, "write_pages", lambda *args: calls.append(args[-1]) or original(*args))
    result = runner.invoke(app, ["handwrite", TEXT, "-o", str(tmp_path / "note.svg"), "--pages", *ARGS])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and callable(calls[0])
