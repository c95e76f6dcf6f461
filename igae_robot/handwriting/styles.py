"""Writing styles: ``igae handwrite --style NAME``.

A style is one of:

* a sample hand shipped with the package (``models/NAME.hand.gz``, built from handwriting fonts through the pen
  engine by ``benchmarks/build_styles.py``, see :mod:`~igae_robot.handwriting.style_build`);
* ``cursive``: whole words of a joined script font drawn by the pen engine as they are written
  (:mod:`~igae_robot.handwriting.word_hand`), always joined up;
* ``model``: the gesture models of :mod:`~igae_robot.handwriting.hand` (digits learned from MNIST, letters from a
  Hershey face), the hand igae wrote with before styles existed.

    style_names()        -> ("comic", ..., "cursive", "model")
    style_hands("comic") -> [SampleHand]: the hands write_text takes
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

from igae_robot.errors import TextError

__all__ = ["DEFAULT_STYLE", "MODEL_STYLE", "CURSIVE_STYLE", "default_slant", "STYLE_SUFFIX", "style_names", "style_hands", "describe_styles"]

# Chosen by Tesseract's character error rate on tuning sentences that are not the benchmark's (docs/handwriting.md).
DEFAULT_STYLE = "comic"
MODEL_STYLE = "model"  # the gesture models
CURSIVE_STYLE = "cursive"  # whole words drawn by the pen engine
STYLE_SUFFIX = ".hand.gz"


def default_slant(style: str) -> float:
    """The mean slant to the right a style writes with unless told (degrees): 0 for cursive, whose font leans
    already (6 more cost 3.7 points of Tesseract CER on the tuning sentences), else 6."""
    return 0.0 if style == CURSIVE_STYLE else 6.0


def _folder():
    return resources.files("igae_robot.handwriting.models")


def style_names() -> tuple[str, ...]:
    """The styles this igae has: the shipped sample hands in name order, then ``cursive`` and ``model``."""
    shipped = sorted(p.name[: -len(STYLE_SUFFIX)] for p in _folder().iterdir() if p.name.endswith(STYLE_SUFFIX))
    return (*shipped, CURSIVE_STYLE, MODEL_STYLE)


def _check(name: str) -> None:
    names = style_names()
    if name not in names:
        raise TextError(f"unknown style {name!r}; known: {', '.join(names)} (igae handwrite --styles describes them)")


@lru_cache(maxsize=None)
def _sample_hand(name: str):
    from igae_robot.handwriting.sample_hand import load_sample_hand

    with resources.as_file(_folder() / f"{name}{STYLE_SUFFIX}") as path:
        hand = load_sample_hand(path)
    hand.source = f"style {name}"
    return hand


def style_hands(name: str = DEFAULT_STYLE) -> list:
    """The hands that write in style ``name`` (a TextError listing the styles for an unknown name)."""
    _check(name)
    if name == MODEL_STYLE:
        from igae_robot.handwriting.writing import load_hands

        return load_hands()
    if name == CURSIVE_STYLE:
        from igae_robot.handwriting.word_hand import WordHand

        return [WordHand()]
    return [_sample_hand(name)]


def describe_styles() -> list[str]:
    """One line per style: its name, the default marked, what it is made from and the characters it writes."""
    lines = []
    for name in style_names():
        mark = " (default)" if name == DEFAULT_STYLE else ""
        if name == MODEL_STYLE:
            lines.append(f"{name}{mark}: gesture models (digits learned from MNIST, letters from a Hershey face)")
            continue
        if name == CURSIVE_STYLE:
            lines.append(f"{name}{mark}: whole words of Dancing Script drawn by the pen engine as they are written, "
                         "always joined up (slower: about 10 ms a character)")
            continue
        state = json.loads(gzip.decompress((_folder() / f"{name}{STYLE_SUFFIX}").read_bytes()))
        lines.append(f"{name}{mark}: {state['source']}; {len(state['glyphs'])} characters")
    return lines
