"""Text in, pages of handwriting out: each character a freshly sampled gesture, laid out in lines.

    text --paragraphs/words--> characters --Hand.write (or the font fallback)--> gestures (glyph units)
         --slant, size--> word widths --wrap, align--> lines --page breaks--> placements --strokes--> Sheet(s)

:func:`write_text` writes one page (and refuses a longer text, saying how many pages it needs);
:func:`write_pages` lets the lines flow on to as many pages as the text needs, one Sheet each.

The sheet is the same :class:`~igae_robot.paper.sheet.Sheet` that ``igae export`` writes, so every
exporter (SVG, G-code, waypoints, URScript) and ``igae check`` work on handwriting unchanged.
Each glyph's :class:`~igae_robot.paper.layout.Placement` maps its (slanted) glyph units to page mm and
carries the character's code point as its label.

Sizes: ``size_mm`` is the height of capitals and digits; a line is ``line_spacing`` times
``LINE_BODY`` cap heights from the next.  All randomness (which glyph is drawn, baseline wobble,
slant and spacing jitter, and the slow drift of baseline, slant and size, :mod:`~igae_robot.handwriting.drift`)
comes from one ``numpy`` generator seeded by ``seed``, so the same text and seed give the same file, byte for byte.  The jitter grows as ``neatness`` falls.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from igae_robot.errors import PageError, TextError
from igae_robot.paper.geometry import Polyline
from igae_robot.gesture import PEN_DOWN, PEN_UP, Gesture, pen_down
from igae_robot.handwriting.cursive import cursive_word
from igae_robot.handwriting.drift import drift, drift_margin
from igae_robot.handwriting.hand import Hand, builtin_hand, load_any_hand
from igae_robot.handwriting.fonts import BASELINE as FONT_BASELINE
from igae_robot.handwriting.fonts import CAP_TOP as FONT_CAP_TOP
from igae_robot.handwriting.fonts import fallback_gesture
from igae_robot.paper.layout import Placement
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet
from igae_robot.units import format_number

__all__ = ["WritingStyle", "write_text", "write_pages", "load_hands", "unsupported_characters", "ALIGNMENTS", "Progress"]

Progress = Callable[[int, int], None]  # progress(done, total): work units, for a progress bar

ALIGNMENTS = ("left", "centre", "right")
LINE_BODY = 4 / 3  # cap height + descender, in cap heights: lines 1.0 apart just touch
LETTER_GAP = 0.12  # between the ink of two letters, in cap heights
WORD_GAP = 0.6  # between two words, in cap heights
PARAGRAPH_GAP = 0.5  # extra space after a paragraph, in lines
ASCENT = 1.25  # room above the first baseline for ascenders and brackets, in cap heights
ASCENT_SLACK = 0.1  # cap heights above a sample hand's tallest sample: its jitter and the drift may lift it
WRITE_BATCH = 512  # characters a hand decodes at once: a fixed number, so a long text gives the same file with or without a progress bar


@dataclass(frozen=True)
class WritingStyle:
    size_mm: float = 6.0  # cap height
    line_spacing: float = 1.5
    width_mm: float = 0.0  # line width; 0 = the page's drawable width
    align: str = "left"
    # 1: the most typical glyph, no jitter; 0: 1.5 times the natural spread.  0.8: the independent
    # judge of tests/test_handwriting.py reads >= 95% of the digits (with hand format 1, 0.6 read 94.2%).
    neatness: float = 0.8
    slant_deg: float = 6.0  # mean slant to the right
    connect: bool = False  # join the letters of each word into one pen-down stroke
    fallback: bool = False  # draw characters no model knows from a single-stroke font
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.size_mm < math.inf:
            raise PageError(f"--size must be a positive length, got {self.size_mm} mm")
        if not 0 < self.line_spacing < math.inf:
            raise PageError(f"--line-spacing must be a positive number, got {self.line_spacing}")
        if not 0 <= self.width_mm < math.inf:
            raise PageError(f"--width must be 0 (the page) or a positive length, got {self.width_mm} mm")
        if not -60 <= self.slant_deg <= 60:  # also NaN; beyond 60 degrees letters lie down
            raise TextError(f"--slant must be between -60 and 60 degrees, got {self.slant_deg}")
        if not 0 <= self.seed < 2**63:
            raise TextError(f"--seed must be 0 or a positive whole number, got {self.seed}")
        if self.align not in ALIGNMENTS:
            raise PageError(f"unknown alignment {self.align!r}; known: {', '.join(ALIGNMENTS)}")
        if not 0.0 <= self.neatness <= 1.0:
            raise TextError(f"--neatness must be between 0 and 1, got {self.neatness}")

    @property
    def messiness(self) -> float:
        return 1.0 - self.neatness


@dataclass
class _Glyph:
    char: str
    points: np.ndarray  # (T,2) the gesture's points, slanted, glyph units
    pressure: np.ndarray  # (T,)
    down: np.ndarray  # (T,) bool: the pen state
    dt_s: float
    scale_mm: float  # mm per glyph unit
    baseline: float  # glyph units
    left: float  # ink extent in x, glyph units
    right: float
    wobble_mm: float  # baseline offset on the page
    lead: float = 0.0  # ink left of ``left`` (a script's swash before its advance), glyph units: room at a line's start


def load_hands(digits: str | Path | None = None, letters: str | Path | None = None, data_dir: str = "") -> list[Hand]:
    """The hands that write: digits and letters, each a trained checkpoint or hand ``.pt`` when
    given, else the built-in one (``data_dir``: where a checkpoint's training data is, default the
    folder it was trained from)."""
    return [
        load_any_hand(digits, data_dir) if digits else builtin_hand("digits"),
        load_any_hand(letters, data_dir) if letters else builtin_hand("letters"),
    ]


def unsupported_characters(text: str, hands: Sequence[Hand]) -> list[str]:
    """Characters of ``text`` (other than white space) that no hand knows, in order of first appearance."""
    seen: list[str] = []
    for ch in text:
        if not ch.isspace() and not any(h.knows(ch) for h in hands) and ch not in seen:
            seen.append(ch)
    return seen


def write_text(text: str, hands: Sequence[Hand], page: Page, style: WritingStyle = WritingStyle(),
               progress: Progress | None = None) -> Sheet:
    """Lay ``text`` out as handwriting on one ``page``: paragraphs split at blank lines, lines at newlines,
    words wrapped.  A text longer than the page is refused, saying how many pages it needs (see :func:`write_pages`)."""
    layout = _lay_out(text, hands, page, style, progress)
    if len(layout.pages) > 1:
        raise PageError(
            f"the text needs {len(layout.pages)} pages: {layout.line_count} lines of {format_number(layout.pitch, 1)} mm, "
            f"and {page.describe()} holds {layout.fit} at --size {format_number(style.size_mm)}mm --line-spacing "
            f"{format_number(style.line_spacing)}; write one file per page with --pages, or use a larger page, "
            f"a smaller --size or less text"
        )
    return _place(layout, 0, page, style)


def write_pages(text: str, hands: Sequence[Hand], page: Page, style: WritingStyle = WritingStyle(),
                progress: Progress | None = None) -> list[Sheet]:
    """Lay ``text`` out as handwriting on as many pages as it needs, one :class:`Sheet` each: the lines flow
    on to the next page at the page end (a paragraph's gap is dropped at the top of a page).

    ``progress(done, total)`` is called as the glyphs are drawn and placed (``total``: twice the glyphs)."""
    layout = _lay_out(text, hands, page, style, progress)
    return [_place(layout, k, page, style) for k in range(len(layout.pages))]


@dataclass
class _Layout:
    """The drawn glyphs in lines, the lines on pages (each line: its words and its baseline offset from the page's first)."""

    pages: list[list[tuple[list[list[_Glyph]], float]]]
    rng: np.random.Generator  # the spacing jitter is drawn from it at placement, page after page
    pitch: float  # line to line, mm
    fit: int  # lines a page holds
    line_count: int
    glyphs: int
    progress: Progress | None
    ascent: float  # room above the first baseline, cap heights
    placed: int = 0  # glyphs placed so far, for the progress


def _lay_out(text: str, hands: Sequence[Hand], page: Page, style: WritingStyle, progress: Progress | None) -> _Layout:
    if not text.strip():
        raise TextError("no text to write: the text is empty or only spaces (give the text, or --file with some in it)")
    _refuse_unknown(text, hands, style.fallback)
    x0, y0, x1, y1 = page.drawable
    width = style.width_mm or (x1 - x0)
    if width > x1 - x0 + 1e-9:
        raise PageError(f"line width {format_number(width)} mm is wider than the drawable area of {page.describe()} ({format_number(x1 - x0)} mm)")
    pitch = style.line_spacing * LINE_BODY * style.size_mm
    ascent = _ascent(hands) + drift_margin(style.messiness, _ascent(hands))
    room = y1 - style.size_mm * (0.6 + drift_margin(style.messiness, 0.6)) - (y0 + style.size_mm * ascent)  # first baseline to the lowest one
    if room < -1e-9:
        raise PageError(f"{page.describe()} holds no line at --size {format_number(style.size_mm)}mm; use a smaller --size or a larger page")
    rng = np.random.default_rng(style.seed)
    paragraphs = [[line.split() for line in block.split("\n")] for block in re.split(r"\n\s*\n", text.strip("\n"))]
    whole = bool(getattr(hands[0], "whole_words", False))  # a hand that draws a word at once, not its letters
    units = [unit for block in paragraphs for line in block for word in line for unit in ([word] if whole else word)]
    glyphs = iter(_draw_glyphs(units, hands, style, rng, lambda done: progress(done, 2 * len(units)) if progress else None))
    words = [[[[next(glyphs) for _ in ([word] if whole else word)] for word in line] for line in block] for block in paragraphs]
    pages: list[list[tuple[list[list[_Glyph]], float]]] = [[]]
    offset, top, count = 0.0, 0.0, 0
    for block in words:
        for line in block:
            for wrapped in _wrap(line, width, style, rng) or [[]]:
                if offset - top > room + 1e-9 and pages[-1]:  # past the page end: the next page
                    pages.append([])
                    top = offset
                pages[-1].append((wrapped, offset - top))
                offset += pitch
                count += 1
        offset += PARAGRAPH_GAP * pitch
    while len(pages) > 1 and not any(line for line, _ in pages[-1]):  # blank lines at the end: no blank page
        pages.pop()
    return _Layout(pages, rng, pitch, int(room // pitch) + 1, count, len(units), progress, ascent)


def _ascent(hands: Sequence[Hand]) -> float:
    """Room above the first baseline, in cap heights: 1.25 for the models' letters and brackets, more for a
    learned hand whose ascenders reach higher (a writer's l and f reach about 1.3)."""
    return max([ASCENT] + [float(h.ascent) + ASCENT_SLACK for h in hands if hasattr(h, "ascent")])


def _place(layout: _Layout, number: int, page: Page, style: WritingStyle) -> Sheet:
    """Page ``number`` of the layout as a sheet: each glyph placed (the spacing jitter drawn now), its strokes in page mm."""
    x0, y0, x1, _ = page.drawable
    width = style.width_mm or (x1 - x0)
    first = y0 + style.size_mm * layout.ascent  # room for ascenders and brackets above the cap line
    rng = layout.rng
    placements: list[Placement] = []
    polylines: list[Polyline] = []
    for row, (line, y_off) in enumerate(layout.pages[number]):
        x = x0 + _indent(_line_width(line, style), width, style.align) + (line[0][0].lead * line[0][0].scale_mm if line else 0.0)
        row_start = len(placements)
        for word in line:
            start = len(placements)
            for glyph in word:
                n = len(placements)
                placements.append(Placement(n, ord(glyph.char[0]), glyph.scale_mm, x - glyph.left * glyph.scale_mm,
                                            first + y_off + glyph.wobble_mm - glyph.baseline * glyph.scale_mm, row, n - row_start))
                x += (glyph.right - glyph.left) * glyph.scale_mm + _letter_gap(style, rng)
            polylines += _word_strokes(word, placements[start:], style.connect)
            x += _word_gap(style, rng) - LETTER_GAP * style.size_mm
    layout.placed += len(placements)
    if layout.progress:
        layout.progress(layout.glyphs + layout.placed, 2 * layout.glyphs)
    _check_inside(polylines, page)
    return Sheet(page, tuple(placements), tuple(polylines), PEN_DOWN, PEN_UP)


def _refuse_unknown(text: str, hands: Sequence[Hand], fallback: bool) -> None:
    unknown = unsupported_characters(text, hands)
    if fallback:
        from igae_robot.handwriting.fonts import glyph_polylines

        unknown = [ch for ch in unknown if not _font_has(ch, glyph_polylines)]
    if unknown:
        known = "".join(sorted({ch for h in hands for ch in h.chars if ch.isprintable()}))
        hint = "" if fallback else "; --fallback draws other printable ASCII characters from a single-stroke font"
        raise TextError(f"cannot write {' '.join(repr(c) for c in unknown)}: no hand of this style knows them (known: {known}){hint}")


def _font_has(ch: str, glyph_polylines) -> bool:
    if not (ch.isascii() and ch.isprintable()):
        return False
    try:
        glyph_polylines(ch)
        return True
    except Exception:
        return False


def _draw_glyphs(chars: Sequence[str], hands: Sequence[Hand], style: WritingStyle, rng: np.random.Generator,
                 progress: Callable[[int], None]) -> list[_Glyph]:
    """One sampled gesture per character (per word, for a hand that writes whole words), each hand writing its
    characters in text order (deterministic),
    :data:`WRITE_BATCH` at a time (``progress(done)`` after each batch)."""
    owner = [next((i for i, h in enumerate(hands) if h.knows(ch)), -1) for ch in chars]
    gestures: list[Gesture | None] = [None] * len(chars)
    done = 0
    for i, hand in enumerate(hands):
        index = [k for k, o in enumerate(owner) if o == i]
        for b in range(0, len(index), WRITE_BATCH):  # the hand draws from rng character by character: batches change nothing
            batch = index[b : b + WRITE_BATCH]
            for k, g in zip(batch, hand.write([chars[k] for k in batch], rng, style.neatness)):
                gestures[k] = g
            done += len(batch)
            progress(done)
    drawn = [g if g is not None else fallback_gesture(ch, label=ord(ch)) for ch, g in zip(chars, gestures)]
    downs = _pen_states(drawn)
    out = []
    m = style.messiness
    sink, lean, grow = drift(len(chars), rng, m)  # the slow drift along the text; the jitter below is per glyph
    for ch, o, g, down, k in zip(chars, owner, drawn, downs, range(len(chars))):
        baseline, cap_top = (hands[o].baseline, hands[o].cap_top) if o >= 0 else (FONT_BASELINE, FONT_CAP_TOP)
        slant = math.tan(math.radians(style.slant_deg + lean[k] + rng.normal(0.0, 4.0 * m)))
        points = g.points.copy()
        points[:, 0] += slant * (baseline - points[:, 1])  # lean right above the baseline
        left, right = _ink_extent(points, down)
        advance = getattr(hands[o], "advances", {}).get(ch) if style.connect and o >= 0 and ch.isalpha() else None
        if advance:  # joined up, a script's letters stand at its advance, so that one's exit meets the next one's entry
            left, right = 0.5 - advance / 2, 0.5 + advance / 2 - LETTER_GAP * (baseline - cap_top) / grow[k]
        lead = max(0.0, left - _ink_extent(points, down)[0])
        wobble = (rng.normal(0.0, 0.05 * m) + sink[k]) * style.size_mm
        scale = style.size_mm * grow[k] / (baseline - cap_top)
        out.append(_Glyph(ch, points, g.pressure, down, g.dt_s, scale, baseline, left, right, wobble, lead))
    return out


def _pen_states(gestures: list[Gesture]) -> list[np.ndarray]:
    """Each gesture's ``pen_down()``, computed for all gestures of one length at once (one by one, the
    step-by-step hysteresis took 2/3 of the time of a 20 000-character text)."""
    out: list[np.ndarray] = [np.zeros(0, bool)] * len(gestures)
    for steps in {len(g) for g in gestures}:
        index = [k for k, g in enumerate(gestures) if len(g) == steps]
        for k, down in zip(index, pen_down(np.stack([gestures[k].intensity for k in index]))):
            out[k] = down
    return out


def _ink_extent(points: np.ndarray, down: np.ndarray) -> tuple[float, float]:
    """Left and right of the pen-down points, glyph units (a blank glyph: a narrow box in the middle)."""
    if not down.any():
        return 0.4, 0.6
    xs = points[down, 0]
    return float(xs.min()), float(xs.max())


def _letter_gap(style: WritingStyle, rng: np.random.Generator) -> float:
    return style.size_mm * LETTER_GAP * max(0.2, 1.0 + rng.normal(0.0, 0.4 * style.messiness))


def _word_gap(style: WritingStyle, rng: np.random.Generator) -> float:
    return style.size_mm * WORD_GAP * max(0.5, 1.0 + rng.normal(0.0, 0.2 * style.messiness))


def _word_width(word: list[_Glyph], style: WritingStyle) -> float:
    """Ink width of a word with nominal letter gaps (the jitter is drawn later, at placement)."""
    return sum((g.right - g.left) * g.scale_mm for g in word) + LETTER_GAP * style.size_mm * max(len(word) - 1, 0)


def _line_width(line: list[list[_Glyph]], style: WritingStyle) -> float:
    return sum(_word_width(w, style) for w in line) + WORD_GAP * style.size_mm * max(len(line) - 1, 0)


def _indent(line_mm: float, width_mm: float, align: str) -> float:
    free = max(width_mm - line_mm, 0.0)
    return {"left": 0.0, "centre": free / 2, "right": free}[align]


def _wrap(words: list[list[_Glyph]], width_mm: float, style: WritingStyle, rng: np.random.Generator) -> list[list[list[_Glyph]]]:
    """Greedy word wrap on nominal widths, with 10% slack kept for the spacing jitter."""
    lines: list[list[list[_Glyph]]] = []
    for word in words:
        if _word_width(word, style) > width_mm * 0.9:
            text = "".join(g.char for g in word)
            raise TextError(f"the word {text!r} is {format_number(_word_width(word, style), 1)} mm long, wider than the line ({format_number(width_mm, 1)} mm); use a smaller --size or a wider --width")
        if lines and _line_width(lines[-1] + [word], style) <= width_mm * 0.9:
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines


def _word_strokes(word: list[_Glyph], placements: list[Placement], connect: bool) -> list[Polyline]:
    """The pen-down polylines of one word (page mm).  With ``connect``, each run of letters is joined up."""
    out: list[Polyline] = []
    run: list[tuple[_Glyph, Placement]] = []
    for g, place in zip(word, placements):
        if connect and g.char.isalpha() and g.down.any():
            run.append((g, place))
            continue
        out += _joined(run)
        run = []
        # the pen-down runs (as Gesture.strokes): a run of one step is a dot
        edges = np.flatnonzero(np.diff(np.concatenate(([0], g.down.astype(np.int8), [0]))))
        out += [Polyline(place.to_page(g.points[a:b]), g.pressure[a:b], np.arange(a, b) * g.dt_s, place.glyph)
                for a, b in zip(edges[::2], edges[1::2])]
    return out + _joined(run)


def _joined(run: list[tuple[_Glyph, Placement]]) -> list[Polyline]:
    """Letters joined up (:func:`~igae_robot.handwriting.cursive.cursive_word`): each letter's longest pen-down
    run linked to the next one's in one stroke, then the rest (dots, crossings), each lifted, after the word."""
    if not run:
        return []
    letters = []
    for g, place in run:
        edges = np.flatnonzero(np.diff(np.concatenate(([0], g.down.astype(np.int8), [0]))))
        letters.append([place.to_page(g.points[a:b]) for a, b in zip(edges[::2], edges[1::2])])
    baselines = [float(place.to_page(np.array([[0.0, g.baseline]]))[0, 1]) for g, place in run]
    return cursive_word("".join(g.char for g, _ in run), letters, [place.glyph for _, place in run], baselines, run[0][0].dt_s)


def _check_inside(polylines: list[Polyline], page: Page) -> None:
    x0, y0, x1, y1 = page.drawable
    for p in polylines:
        out = (p.points[:, 0] < x0 - 1e-6) | (p.points[:, 0] > x1 + 1e-6) | (p.points[:, 1] < y0 - 1e-6) | (p.points[:, 1] > y1 + 1e-6)
        if out.any():
            x, y = p.points[int(np.argmax(out))]
            raise PageError(
                f"glyph {p.glyph} reaches ({format_number(x, 1)}, {format_number(y, 1)}) mm, outside the drawable area of "
                f"{page.describe()}; use a smaller --size or a narrower --width"
            )
