"""Writing styles: ``igae handwrite --style NAME``.

A style is either a sample hand shipped with the package (``models/NAME.hand.gz``, built from handwriting fonts
through the pen engine by ``benchmarks/build_styles.py``, see :mod:`~igae_robot.handwriting.style_build`) or
``model``: the gesture models of :mod:`~igae_robot.handwriting.hand` (digits learned from MNIST, letters from a
Hershey face), the hand igae wrote with before styles existed.

    style_names()        -> ("comic", ..., "model")
    style_hands("comic") -> [SampleHand]: the hands write_text takes
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

from igae_robot.errors import TextError

__all__ = ["DEFAULT_STYLE", "MODEL_STYLE", "STYLE_SUFFIX", "style_names", "style_hands", "describe_styles"]

# Chosen by Tesseract's character error rate on tuning sentences that are not the benchmark's (docs/handwriting.md).
DEFAULT_STYLE = "comic"
MODEL_STYLE = "model"  # the gesture models
STYLE_SUFFIX = ".hand.gz"


def _folder():
    return resources.files("igae_robot.handwriting.models")


def style_names() -> tuple[str, ...]:
    """The styles this igae has: the shipped sample hands in name order, then ``model``."""
    shipped = sorted(p.name[: -len(STYLE_SUFFIX)] for p in _folder().iterdir() if p.name.endswith(STYLE_SUFFIX))
    return (*shipped, MODEL_STYLE)


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
    return [_sample_hand(name)]


def describe_styles() -> list[str]:
    """One line per style: its name, the default marked, what it is made from and the characters it writes."""
    lines = []
    for name in style_names():
        mark = " (default)" if name == DEFAULT_STYLE else ""
        if name == MODEL_STYLE:
            lines.append(f"{name}{mark}: gesture models (digits learned from MNIST, letters from a Hershey face)")
            continue
        state = json.loads(gzip.decompress((_folder() / f"{name}{STYLE_SUFFIX}").read_bytes()))
        lines.append(f"{name}{mark}: {state['source']}; {len(state['glyphs'])} characters")
    return lines
