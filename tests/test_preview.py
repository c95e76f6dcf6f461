"""exporters/preview.py and ``igae preview``: the timeline, the self-contained page, the still PNG, and the
page in a real browser (headless Chromium: a screenshot with ink where the file draws, no console errors)."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from fixtures_machine import TOY_MACHINE, TOY_PLACEMENT, polyline, toy_sheet
from PIL import Image
from typer.testing import CliRunner

from igae_robot.cli.main import app
from igae_robot.exporters import export_file, read_file
from igae_robot.exporters.preview import preview_html, preview_machine, timeline, write_preview
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet, plot_stats

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-headless-shell")
PAGE = Page(148.0, 210.0, margin_mm=0.0, name="a5")
# An L and a dot in the top-left quarter, a diagonal in the bottom-right one; the other two quarters stay blank.
STROKES = ([[15, 20], [15, 80], [60, 80]], [[60, 40]], [[90, 130], [135, 195]])
SHEET = Sheet(PAGE, (TOY_PLACEMENT,), tuple(polyline(s, 0.5) for s in STROKES))
BLANK_MM = ((80, 0, 148, 100), (0, 110, 70, 210))  # x0, y0, x1, y1: no ink here
MACHINES = {"gcode": "grbl-servo", "svg": None, "waypoints-json": "arm-table"}
SUFFIX = {"gcode": ".gcode", "svg": ".svg", "waypoints-json": ".json"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The sheet written as each format the issue names: {writer: path}."""
    folder = tmp_path_factory.mktemp("plots")
    out = {}
    for fmt, machine in MACHINES.items():
        out[fmt] = export_file(SHEET, folder / f"sheet{SUFFIX[fmt]}", fmt, load_machine(machine) if machine else None)
    return out


def page_data(text: str) -> dict:
    found = re.search(r'<script id="plot-data" type="application/json">(.*?)</script>', text, re.S)
    assert found, "no plot data in the page"
    return json.loads(found.group(1))


def samples_mm(step_mm: float = 1.0) -> np.ndarray:
    """Points every ``step_mm`` along the strokes (and each dot), page mm."""
    out = []
    for stroke in STROKES:
        pts = np.asarray(stroke, float)
        out.append(pts[:1])
        for a, b in zip(pts[:-1], pts[1:]):
            n = max(1, int(np.hypot(*(b - a)) / step_mm))
            out.append(a + (b - a) * (np.arange(1, n + 1) / n)[:, None])
    return np.concatenate(out)


def assert_ink_where_drawn(dark: np.ndarray, to_px, radius: int = 2) -> None:
    """``dark`` (H,W) bool; ``to_px`` maps page mm (N,2) to pixel (col, row).  Ink near every stroke sample, none in
    the blank quarters."""
    cols, rows = to_px(samples_mm()).round().astype(int).T
    near = [dark[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1].any()
            for c, r in zip(cols, rows)]
    assert np.mean(near) >= 0.98, f"ink at only {np.mean(near):.0%} of the stroke samples"
    for x0, y0, x1, y1 in BLANK_MM:
        (c0, r0), (c1, r1) = to_px(np.array([[x0, y0], [x1, y1]], float)).round().astype(int)
        blank = dark[r0 + radius : r1 - radius, c0 + radius : c1 - radius]
        assert not blank.any(), f"ink in the blank area {x0, y0, x1, y1} mm"


# ---- the timeline --------------------------------------------------------------------------------


def test_timeline_by_hand():
    """TOY_MACHINE: 25 mm/s drawing, 50 mm/s travel, Z pen 5 mm at 25 mm/s: 0.2 s down, 0.2 s up per stroke."""
    sheet = toy_sheet(polyline([[0, 0], [10, 0]]), polyline([[10, 10], [10, 20], [10, 30]]))
    line = timeline(sheet, TOY_MACHINE)
    assert [m.down for m in line.moves] == [True, False, True]
    np.testing.assert_allclose(line.moves[0].t_s, [0.2, 0.6])
    np.testing.assert_allclose(line.moves[1].t_s, [0.8, 1.0])  # lifted, then 10 mm of travel
    np.testing.assert_allclose(line.moves[2].t_s, [1.2, 1.6, 2.0])
    assert line.total_s == pytest.approx(2.2) == plot_stats(sheet, TOY_MACHINE).time_s


@pytest.mark.parametrize("fmt", list(MACHINES))
def test_page_total_is_plot_stats_time(files, tmp_path, fmt):
    """The page's timeline ends at plot_stats' plot time for the same file and profile (the file's own, or the
    format's default; SVG: grbl-servo)."""
    line = write_preview(files[fmt], tmp_path / "p.html", tmp_path / "p.png")
    sheet = read_file(files[fmt])
    machine = preview_machine(sheet, files[fmt])
    assert machine.name == (MACHINES[fmt] or "grbl-servo") == line.machine
    data = page_data((tmp_path / "p.html").read_text())
    assert data["total_s"] == pytest.approx(plot_stats(sheet, machine).time_s, rel=1e-6)
    if fmt != "svg":  # the file's own times (its feeds, its time stamps): what the export estimated for the sheet
        assert data["total_s"] == pytest.approx(plot_stats(SHEET, machine).time_s, rel=1e-3)
    assert data["machine"] == machine.name and data["page"] == [148.0, 210.0]
    assert [m[0] for m in data["moves"]] == [1, 0, 1, 0, 1]  # ink, travel, ink, travel, ink
    np.testing.assert_allclose(np.reshape(data["moves"][0][1], (-1, 2)), STROKES[0], atol=2e-3)


def test_machine_option_times_it_on_that_profile(files, tmp_path):
    """Another profile than the file's: the strokes' speeds follow that profile's feeds."""
    line = write_preview(files["gcode"], tmp_path / "p.html", tmp_path / "p.png", "grbl-z")
    assert line.machine == "grbl-z"
    assert line.total_s == pytest.approx(plot_stats(read_file(files["gcode"]), load_machine("grbl-z")).time_s)


# ---- the page and the picture ---------------------------------------------------------------------


def test_page_is_self_contained(files, tmp_path):
    write_preview(files["gcode"], tmp_path / "p.html", tmp_path / "p.png")
    text = (tmp_path / "p.html").read_text()
    for outside in ("http://", "https://", "//cdn", " src=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest"):
        assert outside not in text, outside
    for control in ('id="play"', 'id="scrub" type="range"', 'id="speed"', 'id="clock"', "<canvas"):
        assert control in text, control


def test_title_cannot_end_the_script_early():
    text = preview_html(timeline(SHEET, TOY_MACHINE), "a</script><b>.gcode")
    assert text.count("</script>") == 2  # the data's and the program's own
    assert page_data(text)["title"] == "a</script><b>.gcode"
    assert "<title>igae preview: " + html_lib.escape("a</script><b>.gcode") + "</title>" in text


def test_png_has_ink_where_the_file_draws(files, tmp_path):
    write_preview(files["svg"], tmp_path / "p.html", tmp_path / "p.png")
    image = np.asarray(Image.open(tmp_path / "p.png").convert("RGB")).astype(int)
    px_per_mm = image.shape[0] / PAGE.height_mm  # the longer side is 1600 px
    assert image.shape[:2] == (1600, round(PAGE.width_mm * px_per_mm))
    assert_ink_where_drawn(image.max(axis=2) < 100, lambda mm: mm * px_per_mm)
    travel = (image[..., 2] > 200) & (image[..., 0] < 170)  # light blue dashes: (150, 175, 220)
    assert travel.any()


# ---- a real browser ---------------------------------------------------------------------------------


def chromium(url: str, shot, tmp_path) -> tuple[str, str]:
    """Load ``url`` in headless Chromium at 800 x 800: (the DOM after the scripts ran, the browser's log)."""
    if CHROMIUM is None:
        pytest.skip("REQUIRED-IN-CI: chromium not on PATH; make system-deps (apt-get install chromium)")
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--force-device-scale-factor=1",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
         "--window-size=800,800",
         f"--screenshot={shot}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


@pytest.mark.parametrize("ending", ["?t=end", "#end"])
def test_chromium_shows_the_finished_drawing(files, tmp_path, ending):
    """Opened at its end, the page in Chromium shows ink along every stroke and none in the blank quarters,
    the clock at the total, and the browser logs no console message (an uncaught error would be one)."""
    line = write_preview(files["gcode"], tmp_path / "p.html", tmp_path / "p.png")
    shot = tmp_path / "shot.png"
    dom, log = chromium((tmp_path / "p.html").as_uri() + ending, shot, tmp_path)
    assert "CONSOLE" not in log, [x for x in log.splitlines() if "CONSOLE" in x]
    rendered = re.search(r'<body data-rendered="([^"]*)"', dom)
    assert rendered and float(rendered.group(1)) == pytest.approx(line.total_s, abs=1e-3), dom[:300]
    clock = re.search(r'<span id="clock">([^<]*) / ([^<]*)</span>', dom)
    assert clock and clock.group(1) == clock.group(2), dom[:600]
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    below_bar = np.zeros(image.shape[:2], bool)
    below_bar[45:] = True
    rows, cols = np.nonzero((image == 255).all(axis=2) & below_bar)  # the white page on the grey stage
    top, left = rows.min(), cols.min()
    px_per_mm = (cols.max() - left + 1) / PAGE.width_mm
    assert (rows.max() - top + 1) / PAGE.height_mm == pytest.approx(px_per_mm, rel=0.02)
    assert_ink_where_drawn((image.max(axis=2) < 128) & below_bar, lambda mm: np.array([left, top]) + mm * px_per_mm)


def test_chromium_at_a_time_shows_part_of_the_drawing(files, tmp_path):
    """At t = just past the first stroke, the L is drawn and the diagonal (the last stroke) is not."""
    line = write_preview(files["gcode"], tmp_path / "p.html", tmp_path / "p.png")
    first_done = float(line.moves[0].t_s[-1]) + 0.01
    shot = tmp_path / "shot.png"
    dom, log = chromium((tmp_path / "p.html").as_uri() + f"?t={first_done}", shot, tmp_path)
    assert "CONSOLE" not in log
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    dark = image.max(axis=2) < 128
    dark[:45] = False
    rows, cols = np.nonzero(dark)
    assert len(rows) and rows.max() < 0.55 * image.shape[0], "ink below the L: the diagonal was drawn too early"


# ---- the command -----------------------------------------------------------------------------------


def test_cli_writes_page_and_picture_next_to_the_file(files):
    result = CliRunner().invoke(app, ["preview", str(files["waypoints-json"])])
    assert result.exit_code == 0, result.output
    folder = files["waypoints-json"].parent
    page, picture = folder / "sheet.json.html", folder / "sheet.json.png"
    assert page.is_file() and picture.is_file()
    assert "3 strokes" in result.output and "arm-table" in result.output


def refused(result, *words: str) -> str:
    """One line on stderr, ``error: ...``, exit code 2, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def test_bad_files_are_one_line(tmp_path, files):
    runner = CliRunner()
    garbage = tmp_path / "junk.gcode"
    garbage.write_text("G21\nthis is not G-code\n")
    plain = tmp_path / "plain.svg"
    plain.write_text('<svg xmlns="http://www.w3.org/2000/svg"><path d="M 0 0 L 1 1"/></svg>')
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    cases = [
        (tmp_path / "missing.gcode", "no such file"),
        (tmp_path / "drawing.pdf", "unknown file type"),
        (garbage, "igae pen"),
        (plain, "no igae metadata"),
        (binary, "not a text file"),
    ]
    for path, words in cases:
        refused(runner.invoke(app, ["preview", str(path)]), str(path), words)
        assert not path.with_name(path.name + ".html").exists()
    empty = tmp_path / "empty.svg"
    empty.write_text("")
    refused(runner.invoke(app, ["preview", str(empty)]), str(empty), "not a readable SVG")
    refused(runner.invoke(app, ["preview", str(files["svg"]), "--machine", "nope"]), "unknown machine 'nope'")
    refused(runner.invoke(app, ["preview", str(files["svg"]), "-o", str(tmp_path)]), str(tmp_path),
            "not a regular file")
    refused(runner.invoke(app, ["preview", str(files["svg"]), "--png", str(tmp_path / "no" / "p.png")]), "no folder")
    assert not files["svg"].with_name("sheet.svg.html").exists()  # refused before the page was written
    refused(runner.invoke(app, ["preview", str(files["svg"]), "-o", str(files["svg"])]), "is the input file")
    refused(runner.invoke(app, ["preview", str(files["svg"]), "-o", str(tmp_path / "x"), "--png", str(tmp_path / "x")]),
            "same file")


def test_chromium_loads_a_handwriting_page(tmp_path):
    """The issue's case: a handwritten letter as G-code, previewed, loads in Chromium without console messages and
    shows ink inside the page's margins at the end."""
    letter = tmp_path / "letter.gcode"
    words = "Dear Ada, pen down, pen up."
    result = CliRunner().invoke(app, ["handwrite", words, "-o", str(letter), "--page", "A5", "--seed", "1"])
    assert result.exit_code == 0, result.output
    line = write_preview(letter, tmp_path / "p.html", tmp_path / "p.png")
    assert line.total_s == pytest.approx(plot_stats(read_file(letter), load_machine("grbl-servo")).time_s)
    dom, log = chromium((tmp_path / "p.html").as_uri() + "?t=end", tmp_path / "shot.png", tmp_path)
    assert "CONSOLE" not in log and 'data-rendered="' in dom
    image = np.asarray(Image.open(tmp_path / "shot.png").convert("RGB")).astype(int)
    assert ((image[45:].max(axis=2) < 128).sum()) > 200, "no ink in the screenshot"
