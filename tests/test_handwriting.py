"""igae handwrite: the gesture loss terms, the hand (sampling), layout, and the issue's acceptance checks
on the shipped models (legibility by an independent MNIST judge, variation, --connect, G-code)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from fixtures_machine import assert_moves_inside, run_rs274
from letter_judge import DEJAVU_FILES, LOWER, dejavu_fonts, train_judge
from typer.testing import CliRunner

from igae_robot.model.render import render_polylines
from igae_robot.cli.main import app
from igae_robot.config import apply_overrides, load_preset
from igae_robot.training.data import load_dataset
from igae_robot.errors import PageError, TextError
from igae_robot.exporters import export_file, read_file
from igae_robot.model.tensors import GestureTensors
from igae_robot.model.terms import edge_loss, ink_edges, intensity_tv
from igae_robot.handwriting.hand import builtin_hand
from igae_robot.handwriting.writing import WritingStyle, write_text
from igae_robot.handwriting.fonts import BASELINE, CAP_TOP, render_glyphs
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.training.train import train

runner = CliRunner()
# The digit judge: an MLP, three passes over the MNIST training digits (it must read > 95% of MNIST test).
JUDGE_EPOCHS = 3
LETTERS_READ = 0.9  # measured 98.8% with the shipped letters model (88.7% at --neatness 0) (docs/readme-issue-5.md)


@pytest.fixture(scope="module")
def hands():
    return [builtin_hand("digits"), builtin_hand("letters")]


# ---- loss terms ---------------------------------------------------------------------------------


def _gesture(intensity, start_x=0.1, steps=5, step_x=0.1):
    b = len(intensity)
    return GestureTensors(
        torch.tensor([[start_x, 0.5]] * b), torch.tensor([[[step_x, 0.0]] * steps] * b),
        torch.full((b, steps), 0.5), torch.tensor(intensity, dtype=torch.float32),
    )


def test_intensity_tv_counts_flicker():
    steady = _gesture([[1.0, 1, 1, 1, 1]])
    flicker = _gesture([[1.0, 0, 1, 0, 1]])
    assert intensity_tv(steady) == 0
    assert intensity_tv(flicker) == pytest.approx(1.0)


def test_ink_edges_and_edge_loss():
    image = torch.zeros(2, 1, 28, 28)
    image[0, 0, 10:15, 7:21] = 1.0  # ink in columns 7..20
    left, right = ink_edges(image)
    assert left[0] == pytest.approx(7 / 28) and right[0] == pytest.approx(21 / 28)
    assert (left[1], right[1]) == (0, 1)  # blank
    # A pen ending on the right edge (4 moves of 0.125 from 0.25) has no loss, wherever it starts.
    on_edges = _gesture([[1.0] * 5], start_x=7 / 28, steps=5, step_x=(21 / 28 - 7 / 28) / 4)
    assert edge_loss(on_edges, image[:1]) == pytest.approx(0.0, abs=1e-12)
    from_middle = _gesture([[1.0] * 5], start_x=0.5, steps=5, step_x=(21 / 28 - 0.5) / 4)
    assert edge_loss(from_middle, image[:1]) == pytest.approx(0.0, abs=1e-12)
    assert edge_loss(_gesture([[1.0] * 5], start_x=0.0), image[:1]) > 0.01


def test_training_with_intensity_tv_lifts_the_pen_less():
    data = load_dataset("digits")
    tv = {}
    for weight in (0.0, 0.5):
        cfg = apply_overrides(load_preset("igae"), {"train.epochs": 2, "train.intensity_tv": weight})
        ckpt = train(cfg, f"/tmp/igae-test-tv-{weight}", data=data)
        with torch.no_grad():
            tv[weight] = float(intensity_tv(ckpt.model.encode(data.images[:300])))
    assert tv[0.5] < 0.5 * tv[0.0]


# ---- text, layout, errors ----------------------------------------------------------------------


def test_unknown_characters_are_listed(hands):
    with pytest.raises(TextError, match=r"cannot write 'é' '€'.*--fallback"):
        write_text("café €5", hands, Page.from_spec("A5"))
    with pytest.raises(TextError, match=r"cannot write '€':"):  # the font fallback draws '~', not '€'
        write_text("a ~ €5", hands, Page.from_spec("A5"), WritingStyle(fallback=True))


def test_fallback_draws_from_the_font(hands):
    sheet = write_text("a ~ b", hands, Page.from_spec("A5"), WritingStyle(fallback=True))
    assert [p.label for p in sheet.placements] == [ord(c) for c in "a~b"]


def test_wrapping_alignment_paragraphs_and_margins(hands):
    page = Page.from_spec("A5", margin="15mm")
    text = "the quick brown fox jumps over the lazy dog " * 3 + "\n\nend"
    sheet = write_text(text.strip(), hands, page, WritingStyle(size_mm=5, width_mm=80, seed=1))
    rows = max(p.row for p in sheet.placements) + 1
    assert rows >= 4  # wrapped at 80 mm
    x0, y0, _, _ = page.drawable
    points = np.concatenate([p.points for p in sheet.polylines])
    assert points[:, 0].min() >= x0 and points[:, 0].max() <= x0 + 80
    # right alignment: every line ends near the right edge of the 80 mm column
    right = write_text(text.strip(), hands, page, WritingStyle(size_mm=5, width_mm=80, seed=1, align="right"))
    ends = [max(p.points[:, 0].max() for p in right.polylines if right.placement(p.glyph).row == r) for r in range(rows)]
    assert min(ends) > x0 + 80 - 5
    with pytest.raises(PageError, match="needs .* lines"):
        write_text("word " * 2000, hands, page, WritingStyle(size_mm=8))


# ---- acceptance ---------------------------------------------------------------------------------


def _glyph_images(path) -> tuple[torch.Tensor, list[str]]:
    """Every glyph of a produced file, re-rendered from the file alone on the model's 28x28 canvas."""
    sheet = read_file(path)
    by_glyph: dict[int, list] = {p.glyph: [] for p in sheet.placements}
    for poly in sheet.polylines:
        place = sheet.placement(poly.glyph)
        by_glyph[poly.glyph].append(type(poly)(place.from_page(poly.points), poly.pressure, poly.t_s, poly.glyph))
    images = render_polylines([by_glyph[p.glyph] for p in sheet.placements])
    return images, [chr(p.label) for p in sheet.placements]


@torch.enable_grad()
def _digit_judge(mnist_dir) -> torch.nn.Module:
    """An MLP (784-256-10) trained for a few passes on the real MNIST training digits.  In torch: seconds,
    where sklearn's MLPClassifier took two minutes for a weaker judge on a busy 2-core machine."""
    train_set = load_dataset("mnist", mnist_dir, "train")
    torch.manual_seed(0)
    judge = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    optimiser = torch.optim.Adam(judge.parameters(), lr=2e-3)
    for _ in range(JUDGE_EPOCHS):
        for batch in torch.randperm(len(train_set)).split(128):
            loss = torch.nn.functional.cross_entropy(judge(train_set.images[batch]), train_set.labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return judge.eval()


@torch.no_grad()
def test_digits_are_legible_to_an_independent_judge(hands, mnist_dir, tmp_path):
    judge = _digit_judge(mnist_dir)
    test_set = load_dataset("mnist", mnist_dir, "test")
    judge_acc = float((judge(test_set.images[:2000]).argmax(1) == test_set.labels[:2000]).float().mean())
    assert judge_acc > 0.95  # a judge that reads real handwriting

    rng = np.random.default_rng(2024)
    strings = ["".join(map(str, rng.integers(0, 10, rng.integers(3, 9)))) for _ in range(200)]
    images, truth = [], []
    for part in range(4):  # 50 strings a page, written with igae handwrite's defaults but the size
        path = tmp_path / f"digits{part}.svg"
        sheet = write_text("\n".join(strings[part * 50 : part * 50 + 50]), hands, Page.from_spec("A3"), WritingStyle(size_mm=3, seed=part))
        export_file(sheet, path, "svg")
        x, chars = _glyph_images(path)
        images.append(x)
        truth += chars
    read = judge(torch.cat(images)).argmax(1).numpy()
    accuracy = float(np.mean(read == np.array([int(c) for c in truth])))
    print(f"judge reads {accuracy:.1%} of {len(truth)} digits (judge on MNIST test: {judge_acc:.1%})")
    assert accuracy >= 0.95


@pytest.mark.skipif(len(dejavu_fonts()) < len(DEJAVU_FILES), reason="REQUIRED-IN-CI: the DejaVu fonts (apt-get install fonts-dejavu-core; make system-deps)")
def test_lower_case_letters_are_legible_to_an_independent_judge(hands, tmp_path):
    assert (hands[1].cap_top, hands[1].baseline) == pytest.approx((CAP_TOP, BASELINE))  # the judge's glyph box
    judge = train_judge()
    # The judge reads the type the letters model learnt from, though it never saw that font.
    teacher, teacher_labels = render_glyphs(LOWER, 10, seed=1, fonts=("futural", "rowmans"))
    judge_acc = judge.score(teacher.reshape(len(teacher), -1), teacher_labels)
    assert judge_acc > 0.9

    rng = np.random.default_rng(2025)
    words = ["".join(rng.choice(list(LOWER), rng.integers(3, 9))) for _ in range(100)]
    path = tmp_path / "words.svg"
    export_file(write_text(" ".join(words), hands, Page.from_spec("A3"), WritingStyle(size_mm=4, seed=1)), path, "svg")
    images, truth = _glyph_images(path)
    read = np.array([LOWER[k] for k in judge.predict(images.reshape(len(images), -1).numpy())])
    accuracy = float(np.mean(read == np.array(truth)))
    misread = Counter(f"{t}->{r}" for t, r in zip(truth, read) if t != r).most_common(8)
    print(f"judge reads {accuracy:.1%} of {len(truth)} letters (judge on the teacher font: {judge_acc:.1%}); most misread: {misread}")
    assert accuracy >= LETTERS_READ


def _iou(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    a, b = a > 0.5, b > 0.5
    return ((a & b).sum((1, 2, 3)) / (a | b).sum((1, 2, 3)).clamp(min=1)).numpy()


def test_variation_between_seeds_and_identical_files_for_one_seed(tmp_path):
    text = "Call me at 555 0123, hello hello"
    files = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        files[name] = tmp_path / f"{name}.svg"
        result = runner.invoke(app, ["handwrite", text, "-o", str(files[name]), "--size", "8mm", "--page", "A5", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
    assert files["a"].read_bytes() == files["b"].read_bytes()
    a, chars = _glyph_images(files["a"])
    c, _ = _glyph_images(files["c"])
    iou = _iou(a, c)
    print(f"mean per-glyph IoU between seeds 7 and 8: {iou.mean():.3f}")
    assert iou.mean() < 0.9
    # the repeated word is written differently each time, with one seed
    hello = [i for i in range(len(chars) - 4) if "".join(chars[i : i + 5]) == "hello"]
    assert len(hello) == 2 and _iou(a[hello[0] : hello[0] + 5], a[hello[1] : hello[1] + 5]).mean() < 0.9


@pytest.mark.parametrize("machine_name", ["grbl-servo", "grbl-z", "marlin"])
def test_gcode_passes_the_exporter_checks(machine_name, tmp_path):
    path = tmp_path / "letter.gcode"
    (tmp_path / "letter.txt").write_text("Dear Ada,\n\nthe plotter writes 42 words (and #7) - right?\nYours, B.\n")
    args = ["handwrite", "--file", str(tmp_path / "letter.txt"), "-o", str(path), "--machine", machine_name,
            "--page", "A5", "--width", "100mm", "--line-spacing", "1.6", "--align", "centre", "--fallback"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    machine = load_machine(machine_name)
    assert_moves_inside(run_rs274(path.read_text(), machine, tmp_path), machine)


def test_cli_user_errors_exit_2(tmp_path):
    result = runner.invoke(app, ["handwrite", "price: 5€", "-o", str(tmp_path / "x.svg")])
    assert result.exit_code == 2 and "'€'" in result.output
    assert not (tmp_path / "x.svg").exists()
    result = runner.invoke(app, ["handwrite", "-o", str(tmp_path / "x.svg")])
    assert result.exit_code == 2


def test_nothing_to_write_and_bad_style_values_are_refused(hands):
    for text in ("", "  \n\t "):
        with pytest.raises(TextError, match="no text to write"):
            write_text(text, hands, Page.from_spec("A5"))
    with pytest.raises(TextError, match="--seed must be 0 or a positive"):
        WritingStyle(seed=-1)
    with pytest.raises(TextError, match="--slant"):
        WritingStyle(slant_deg=float("nan"))
    with pytest.raises(PageError, match="--line-spacing"):
        WritingStyle(line_spacing=float("inf"))
