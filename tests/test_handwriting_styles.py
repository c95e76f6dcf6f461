"""Writing styles (``igae handwrite --style NAME``): the shipped sample hands built from fonts through the pen engine,
their listing, the fallback under a learned hand, variation between seeds, byte-identical files for one seed, the
slow drift, and one clear line for an unknown style, unknown characters and empty text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from igae_robot.cli.main import app
from igae_robot.errors import TextError
from igae_robot.exporters import read_file
from igae_robot.handwriting.drift import drift
from igae_robot.handwriting.sample_hand import SampleHand, load_sample_hand, save_sample_hand
from igae_robot.handwriting.styles import DEFAULT_STYLE, MODEL_STYLE, STYLE_SUFFIX, style_hands, style_names
from igae_robot.handwriting.template import TEMPLATE_CHARS
from igae_robot.images.pen_draw import pen_coverage

runner = CliRunner()
MODELS = Path(__file__).resolve().parents[1] / "igae_robot" / "handwriting" / "models"
COMIC_NEUE = Path("/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf")


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def test_every_shipped_style_loads_knows_the_template_characters_and_is_small():
    names = style_names()
    assert DEFAULT_STYLE in names and names[-2:] == ("cursive", MODEL_STYLE) and len(files := sorted(MODELS.glob(f"*{STYLE_SUFFIX}"))) >= 2
    assert sum(f.stat().st_size for f in files) < 1_000_000
    for name in [f.name[: -len(STYLE_SUFFIX)] for f in files]:
        (hand,) = style_hands(name)
        assert isinstance(hand, SampleHand) and set(TEMPLATE_CHARS) <= set(hand.chars), name
        assert all(len(hand.glyphs[c]) >= 2 for c in "aeMW0."), name  # several samples: variation
        assert hand.jitter > 1.0 and 0.0 < hand.pen < 0.1


def test_styles_are_listed_with_the_default_marked():
    result = runner.invoke(app, ["handwrite", "--styles"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0].split(" ")[0] for line in lines] == list(style_names())
    assert f"{DEFAULT_STYLE} (default):" in result.output


def test_an_unknown_style_is_one_line_naming_the_styles(tmp_path):
    with pytest.raises(TextError, match="known: .*comic"):
        style_hands("gothic")
    line = _one_error_line(runner.invoke(app, ["handwrite", "hello", "-o", str(tmp_path / "x.svg"), "--style", "gothic"]))
    assert "unknown style 'gothic'" in line and DEFAULT_STYLE in line


@pytest.mark.parametrize(("text", "words"), [("Hello ~ world", "'~'"), ("   \n ", "no text to write"), ("tab\tok ½", "'½'")])
def test_unknown_characters_and_empty_text_are_one_line_each(tmp_path, text, words):
    line = _one_error_line(runner.invoke(app, ["handwrite", text, "-o", str(tmp_path / "x.svg")]))
    assert words in line


def test_style_and_a_model_option_together_are_refused(tmp_path):
    line = _one_error_line(runner.invoke(app, ["handwrite", "hi", "-o", str(tmp_path / "x.svg"), "--style", "comic",
                                               "--letters-model", str(tmp_path / "l.pt")]))
    assert "--style" in line


def _glyphs(path: Path, side: int = 48) -> tuple[np.ndarray, list[str]]:
    """Each glyph of a handwriting SVG alone, in glyph units, drawn with a pen 1/20 of the cap height: (N,side,side)."""
    sheet = read_file(path)
    out = []
    for place in sheet.placements:
        lines = [(place.from_page(p.points) + 0.25) / 1.5 * side for p in sheet.polylines if p.glyph == place.glyph]
        out.append(pen_coverage(lines, (side, side), side / 1.5 * 0.35 / 20) > 0.5)
    return np.stack(out), [chr(p.label) for p in sheet.placements]


def test_default_style_one_seed_one_file_and_two_seeds_differ(tmp_path):
    text = "Call me at 555 0123, hello hello"
    paths = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        paths[name] = tmp_path / f"{name}.svg"
        result = runner.invoke(app, ["handwrite", text, "-o", str(paths[name]), "--seed", str(seed), "--page", "A5"])
        assert result.exit_code == 0, result.output
    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    a, chars = _glyphs(paths["a"])
    c, _ = _glyphs(paths["c"])
    iou = (a & c).sum(axis=(1, 2)) / np.maximum((a | c).sum(axis=(1, 2)), 1)
    assert iou.mean() < 0.9
    hello = [i for i in range(len(chars) - 4) if "".join(chars[i : i + 5]) == "hello"]
    first, second = a[hello[0] : hello[0] + 5], a[hello[1] : hello[1] + 5]
    assert ((first & second).sum() / (first | second).sum()) < 0.9  # one seed: the repeated word differs too


def test_a_learned_hand_falls_back_to_the_named_style_with_a_warning(tmp_path):
    (comic,) = style_hands("comic")
    mine = SampleHand({c: comic.glyphs[c][:2] for c in "abc"}, comic.baseline, comic.cap_top, pen=comic.pen, source="mine")
    save_sample_hand(tmp_path / "my.hand", mine)
    out = tmp_path / "x.svg"
    result = runner.invoke(app, ["handwrite", "abc xyz", "-o", str(out), "--hand", str(tmp_path / "my.hand"), "--style", "rufscript"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "has no x y z; these are written in the fallback style" in result.output
    assert [chr(p.label) for p in read_file(out).placements] == list("abcxyz")


def test_a_gzipped_hand_reads_back_and_the_same_hand_gives_the_same_bytes(tmp_path):
    (comic,) = style_hands("comic")
    hand = SampleHand({c: comic.glyphs[c] for c in "ab"}, comic.baseline, comic.cap_top, pen=comic.pen, source="s", jitter=2.0)
    first = save_sample_hand(tmp_path / "a.hand.gz", hand).read_bytes()
    again = load_sample_hand(tmp_path / "a.hand.gz")
    assert again.jitter == 2.0 and again.chars == "ab"
    again.source = "s"  # a loaded hand names its file
    assert save_sample_hand(tmp_path / "b.hand.gz", again).read_bytes() == first


def test_drift_is_slow_seeded_and_absent_when_neat():
    base, slant, size = drift(4000, np.random.default_rng(1), 0.5)
    again = drift(4000, np.random.default_rng(1), 0.5)
    assert all(np.array_equal(x, y) for x, y in zip((base, slant, size), again))
    for series in (base, slant, np.log(size)):
        assert np.corrcoef(series[:-1], series[1:])[0, 1] > 0.8  # a wander, not a jitter
        assert series.std() > 0
    neat = drift(100, np.random.default_rng(1), 0.0)
    assert not neat[0].any() and not neat[1].any() and np.all(neat[2] == 1.0)


@pytest.mark.skipif(not COMIC_NEUE.is_file(), reason="needs Debian's fonts-comic-neue")
def test_a_style_is_built_through_the_pen_engine_the_same_every_time(tmp_path):
    from igae_robot.handwriting.style_build import StyleRecipe, build_style

    recipe = StyleRecipe("t", (str(COMIC_NEUE),), "test", samples=2, chars="a,")
    hands = [build_style(recipe) for _ in range(2)]
    files = [save_sample_hand(tmp_path / f"{k}.hand.gz", h).read_bytes() for k, h in enumerate(hands)]
    assert files[0] == files[1]
    comma = hands[0].glyphs[","][0]
    ink = comma.points[comma.down]
    assert np.ptp(ink[:, 1]) > 1.5 * np.ptp(ink[:, 0])  # a comma stays a tail, not a round dot


def test_connect_keeps_the_pen_down_through_a_word_and_dots_and_crossings_come_after(tmp_path):
    """Each word's first stroke runs through all its letters; an i's dot and a t's bar are strokes of their own,
    after it and before the next word."""
    path = tmp_path / "joined.svg"
    words = "quiet kitten jumps over lazy dogs"
    result = runner.invoke(app, ["handwrite", words, "-o", str(path), "--connect", "--page", "A5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    sheet = read_file(path)
    placements = list(sheet.placements)
    starts = np.cumsum([0] + [len(w) for w in words.split()])
    word_of = {p.glyph: int(np.searchsorted(starts, k, side="right")) - 1 for k, p in enumerate(placements)}
    order = [word_of[p.glyph] for p in sheet.polylines]
    assert order == sorted(order)  # a word's marks before the next word's stroke
    for w, word in enumerate(words.split()):
        mine = [p for p in sheet.polylines if word_of[p.glyph] == w]
        body = mine[0]
        assert body.glyph == placements[starts[w]].glyph
        ink = [placements[k].to_page(np.array([[0.5, 0.5]]))[0, 0] for k in range(starts[w], starts[w + 1])]
        assert body.points[:, 0].min() <= ink[0] and body.points[:, 0].max() >= ink[-1]  # through every letter
        marks = sum(ch in "ijt" for ch in word)
        assert len(mine) >= 1 + marks, word  # the dots of i and j and the bar of t lifted, after the word
    plain = tmp_path / "plain.svg"
    runner.invoke(app, ["handwrite", words, "-o", str(plain), "--page", "A5", "--seed", "3"])
    assert len(read_file(plain).polylines) > len(sheet.polylines)


def test_a_joined_body_is_traced_whole_from_where_it_is_entered_to_where_it_is_left():
    from igae_robot.handwriting.cursive import _joins, _trace

    run = np.stack([np.arange(7.0), np.zeros(7)], axis=1)
    for enter, leave in [(0, 6), (2, 3), (5, 1), (3, None), (6, 0)]:
        path = _trace(run, enter, leave)
        assert path[0, 0] == enter and (leave is None or path[-1, 0] == leave)
        assert set(path[:, 0]) == set(run[:, 0])  # every point drawn
        assert np.abs(np.diff(path[:, 0])).max() == 1  # along the run, never a jump
    a = np.array([[0.0, 0.0], [1.0, -3.0]])
    b = np.array([[2.0, -3.0], [3.0, 0.0]])
    assert _joins(a, b, 0.0, 0.0) == (0, 1)  # low down, on the line, rather than the closer pair up high


def test_a_learned_hand_is_bent_by_an_affine_only_and_a_style_also_by_a_smooth_bend():
    (comic,) = style_hands("comic")
    assert comic.bend == 1.0
    sample = comic.glyphs["g"][0]
    for bend, curved in ((0.0, False), (1.0, True)):
        hand = SampleHand({"g": [sample]}, comic.baseline, comic.cap_top, pen=comic.pen, jitter=2.0, bend=bend)
        (g,) = hand.write("g", np.random.default_rng(0), neatness=0.2)
        design = np.concatenate([sample.points, np.ones((len(sample.points), 1))], axis=1)
        fit, *_ = np.linalg.lstsq(design, g.points, rcond=None)
        residual = np.abs(design @ fit - g.points).max()
        assert (residual > 1e-3) == curved, (bend, residual)


def test_cursive_draws_each_word_whole_the_same_for_one_seed_and_differently_for_another(tmp_path):
    """The cursive style: one placement per word, labelled with its first letter; its longest stroke (the joined
    body) first; byte-identical files for one seed, other drawings for another."""
    text = "minimum jump, 42"
    paths = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        paths[name] = tmp_path / f"{name}.svg"
        result = runner.invoke(app, ["handwrite", text, "-o", str(paths[name]), "--style", "cursive", "--seed", str(seed), "--page", "A5"])
        assert result.exit_code == 0, result.output
    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    assert paths["a"].read_bytes() != paths["c"].read_bytes()
    sheet = read_file(paths["a"])
    assert [chr(p.label) for p in sheet.placements] == ["m", "j", "4"]
    first = [p for p in sheet.polylines if p.glyph == sheet.placements[0].glyph]
    length = [float(np.linalg.norm(np.diff(p.points, axis=0), axis=1).sum()) for p in first]
    assert length[0] == max(length) and len(first) <= 4  # "minimum": a joined body and its dots
    ink = first[0].points
    assert np.ptp(ink[:, 0]) > 0.8 * (np.ptp(np.concatenate([p.points for p in first])[:, 0]))  # the body spans the word


def test_cursive_writes_without_the_extra_slant_and_lists_itself():
    from igae_robot.handwriting.styles import CURSIVE_STYLE, default_slant

    assert CURSIVE_STYLE in style_names() and default_slant(CURSIVE_STYLE) == 0.0 and default_slant(DEFAULT_STYLE) == 6.0
    (hand,) = style_hands(CURSIVE_STYLE)
    assert hand.whole_words and hand.knows("Hello,") and hand.knows("world!") and not hand.knows("café")


def test_touching_runs_are_joined_into_one_stroke_and_far_ones_are_not():
    from igae_robot.handwriting.cursive import touching_chains

    left = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    crossing = np.stack([np.ones(5), np.linspace(-1.0, 1.0, 5)], axis=1)  # meets the left run in its middle
    far = np.array([[9.0, 0.0], [10.0, 0.0]])
    chains = touching_chains([far, crossing, left], reach=0.1)
    assert len(chains) == 2 and np.array_equal(chains[1], far)
    joined = chains[0]
    for run in (left, crossing):
        assert all(np.linalg.norm(joined - p, axis=1).min() == 0 for p in run)  # every point drawn
    assert np.linalg.norm(np.diff(joined, axis=0), axis=1).max() <= 1.0 + 1e-9  # no long link added
