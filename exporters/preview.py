"""A plot file in time order, to watch before the machine draws it (``igae preview``).  Never imports torch.

    file --read_file--> Sheet --plot_timing (the speeds plot_stats adds up)--> Timeline
         --> one self-contained HTML page (canvas animation; script and data inline, nothing fetched)
         --> a still PNG (Pillow): ink solid, pen-up travel dashed and light

The timeline goes stroke by stroke as the machine does: lower the pen (half the profile's pen move),
draw each segment at its pen-down speed, lift the pen, travel to the next stroke at the travel rate;
its total is :func:`~igae_robot.paper.sheet.plot_stats`'s plot time (a G-code or waypoints file timed on
the profile it was written for keeps its own feeds / time stamps: see ``plot_timing``).  The profile is
``--machine``, else the one the file names (``igae machine``) when it is a built-in profile, else
the format's default; an SVG keeps no machine, so it is timed on the G-code default (grbl-servo).
The page opens playing; ``preview.html?t=end`` (or ``#end``, or ``?t=12.5`` seconds) opens paused there.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np

from igae_robot.atomic import atomic_write_bytes, atomic_write_text, check_output
from igae_robot.errors import MachineError, OutputError
from igae_robot.paper.machine import Machine, load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet, plot_timing

from . import default_machine, format_for, read_file

__all__ = ["Move", "Timeline", "timeline", "preview_machine", "preview_html", "preview_png", "write_preview"]

INK_MM = 0.4  # drawn line width of the ink, in both pictures
PNG_LONG_SIDE_PX = 1600  # the still picture's longer side


@dataclass(frozen=True)
class Move:
    """One move of the machine: pen down (ink) or up (travel).  xy (N,2) page mm; t_s (N,) s from the start."""

    down: bool
    xy: np.ndarray
    t_s: np.ndarray


@dataclass(frozen=True)
class Timeline:
    page: Page
    machine: str  # the profile that timed it
    moves: tuple[Move, ...]  # in time order
    total_s: float  # plot_stats(sheet, machine).time_s


def timeline(sheet: Sheet, machine: Machine) -> Timeline:
    """The sheet's strokes and the travel between them, each point with the time the machine reaches it."""
    polylines = list(sheet.polylines)
    seg_s, travel_mm_s, pen_move_s = plot_timing(sheet, machine)
    moves: list[Move] = []
    t, here = 0.0, None
    for poly, segments in zip(polylines, seg_s):
        if here is not None:
            duration = float(np.hypot(*(poly.points[0] - here))) / travel_mm_s
            moves.append(Move(False, np.stack([here, poly.points[0]]), np.array([t, t + duration])))
            t += duration
        times = t + pen_move_s / 2 + np.concatenate([[0.0], np.cumsum(segments)])  # lowered, then drawn
        moves.append(Move(True, poly.points, times))
        t, here = float(times[-1]) + pen_move_s / 2, poly.points[-1]  # lifted
    return Timeline(sheet.page, machine.name, tuple(moves), t)


def preview_machine(sheet: Sheet, path: str | os.PathLike, name: str | None = None) -> Machine:
    """``name`` if given; else the built-in profile the file was written for; else the format's default."""
    if name:
        return load_machine(name)
    written_for = sheet.meta.get("machine")
    if written_for:
        try:
            return load_machine(written_for)
        except MachineError:  # a user's .toml profile, not at hand: time it on the format's default
            pass
    return load_machine(default_machine(format_for(None, path)) or default_machine("gcode"))


def _data(line: Timeline, title: str) -> str:
    """The timeline as JSON for the page's script: moves as [down 0/1, [x0, y0, x1, ...], [t0, t1, ...]]."""
    moves = [
        [int(m.down), np.round(m.xy, 3).ravel().tolist(), np.round(m.t_s, 4).tolist()] for m in line.moves
    ]
    data = {"title": title, "machine": line.machine, "page": [line.page.width_mm, line.page.height_mm],
            "total_s": round(line.total_s, 6), "ink_mm": INK_MM, "moves": moves}
    # No "<" inside the <script> element: "</script>" in a title could not end it early.
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>igae preview: __TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html, body { margin: 0; height: 100%; background: #d8d8d8; font: 14px system-ui, sans-serif; overflow: hidden }
#bar { box-sizing: border-box; height: 40px; display: flex; gap: 10px; align-items: center; padding: 0 10px;
       background: #f0f0f0; border-bottom: 1px solid #b8b8b8 }
#scrub { flex: 1 } #clock { font-variant-numeric: tabular-nums; white-space: nowrap }
#stage { position: absolute; top: 40px; left: 0; right: 0; bottom: 0 } canvas { display: block }
</style></head><body>
<div id="bar"><button id="play" type="button">Pause</button>
<input id="scrub" type="range" min="0" max="1" step="any" value="0" aria-label="time">
<span id="clock"></span><label>speed <select id="speed"></select></label><span id="info"></span></div>
<div id="stage"><canvas id="view"></canvas></div>
<script id="plot-data" type="application/json">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("plot-data").textContent);
const moves = D.moves, total = D.total_s;
const ends = moves.map(m => m[2][m[2].length - 1]);
const view = document.getElementById("view"), ctx = view.getContext("2d");
const cache = document.createElement("canvas"), cctx = cache.getContext("2d");
const play = document.getElementById("play"), scrub = document.getElementById("scrub");
const clock = document.getElementById("clock"), speedBox = document.getElementById("speed");
let t = 0, playing = true, last = null, speed = 1, scale = 1, ox = 0, oy = 0, done = 0;
const X = x => ox + x * scale, Y = y => oy + y * scale;

function fmt(s) {  // 83.25 -> "1:23.3"
  const d = Math.round(s * 10) / 10, m = Math.floor(d / 60);
  return m + ":" + (d - 60 * m).toFixed(1).padStart(4, "0");
}
function firstUnfinished(time) {  // the first move that ends after `time` (binary search)
  let lo = 0, hi = ends.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (ends[mid] <= time) lo = mid + 1; else hi = mid; }
  return lo;
}
function pen(c, down) {
  c.lineCap = c.lineJoin = "round";
  if (down) { c.setLineDash([]); c.strokeStyle = c.fillStyle = "#000"; c.lineWidth = Math.max(1, D.ink_mm * scale); }
  else { c.setLineDash([5, 4]); c.strokeStyle = "rgba(70, 110, 190, 0.55)"; c.lineWidth = 1; }
}
function drawMove(c, m, upto) {  // the part of move m the machine has done by time `upto`; returns the pen's position
  const xy = m[1], ts = m[2];
  let px = xy[0], py = xy[1];
  pen(c, m[0]);
  c.beginPath(); c.moveTo(X(px), Y(py));
  if (ts.length === 1) { c.arc(X(px), Y(py), c.lineWidth / 2, 0, 2 * Math.PI); c.fill(); return [px, py]; }
  for (let i = 1; i < ts.length; i++) {
    let f = 1;
    if (ts[i] > upto) f = ts[i] > ts[i - 1] ? Math.max(0, (upto - ts[i - 1]) / (ts[i] - ts[i - 1])) : 0;
    px = xy[2 * i - 2] + f * (xy[2 * i] - xy[2 * i - 2]); py = xy[2 * i - 1] + f * (xy[2 * i + 1] - xy[2 * i - 1]);
    c.lineTo(X(px), Y(py));
    if (f < 1) break;
  }
  c.stroke();
  return [px, py];
}
function layout() {
  const box = document.getElementById("stage").getBoundingClientRect(), r = window.devicePixelRatio || 1;
  for (const c of [view, cache]) { c.width = Math.round(box.width * r); c.height = Math.round(box.height * r); }
  view.style.width = box.width + "px"; view.style.height = box.height + "px";
  scale = Math.min((view.width - 20 * r) / D.page[0], (view.height - 20 * r) / D.page[1]);
  ox = (view.width - D.page[0] * scale) / 2; oy = (view.height - D.page[1] * scale) / 2;
  done = -1;
}
function render() {
  const k = firstUnfinished(t);
  if (done < 0 || k < done) {  // start the finished moves' picture again (a resize, or scrubbing back)
    cctx.fillStyle = "#d8d8d8"; cctx.fillRect(0, 0, cache.width, cache.height);
    cctx.fillStyle = "#fff"; cctx.fillRect(ox, oy, D.page[0] * scale, D.page[1] * scale);
    done = 0;
  }
  for (; done < k; done++) drawMove(cctx, moves[done], Infinity);
  ctx.drawImage(cache, 0, 0);
  let at = null;
  if (k < moves.length && moves[k][2][0] <= t) at = drawMove(ctx, moves[k], t);
  else if (k > 0) { const xy = moves[k - 1][1]; at = [xy[xy.length - 2], xy[xy.length - 1]]; }
  else if (moves.length) at = [moves[0][1][0], moves[0][1][1]];
  if (at) {
    ctx.setLineDash([]); ctx.fillStyle = "rgba(220, 30, 30, 0.85)";
    ctx.beginPath(); ctx.arc(X(at[0]), Y(at[1]), 5 * (window.devicePixelRatio || 1), 0, 2 * Math.PI); ctx.fill();
  }
  clock.textContent = fmt(t) + " / " + fmt(total);
  scrub.value = t;
  play.textContent = playing ? "Pause" : "Play";
}
function frame(now) {
  if (!playing) { last = null; return; }
  if (last !== null) t = Math.min(total, t + (now - last) / 1000 * speed);
  last = now;
  if (t >= total) playing = false;
  render();
  requestAnimationFrame(frame);
}
function start() { if (t >= total) t = 0; playing = true; last = null; requestAnimationFrame(frame); }
play.onclick = () => { if (playing) { playing = false; render(); } else start(); };
scrub.oninput = () => { t = Math.min(total, Math.max(0, parseFloat(scrub.value) || 0)); render(); };
speedBox.onchange = () => { speed = parseFloat(speedBox.value); };
document.addEventListener("keydown", e => {
  if (e.key === " " && e.target === document.body) { e.preventDefault(); play.onclick(); }
});
window.addEventListener("resize", () => { layout(); render(); });
for (const v of [1, 2, 5, 10, 20, 50, 100, 200, 500]) speedBox.add(new Option(v + "\\u00d7", v));
speed = [1, 2, 5, 10, 20, 50, 100, 200, 500].find(v => total / v <= 30) || 500;  // the whole plot in about 30 s
speedBox.value = speed;
scrub.max = total;
document.getElementById("info").textContent = D.machine + ", " + moves.filter(m => m[0]).length + " strokes";
const wanted = new URLSearchParams(location.search).get("t") || location.hash.replace(/^#(t=)?/, "");
if (wanted) { playing = false; t = wanted === "end" ? total : Math.min(total, Math.max(0, parseFloat(wanted) || 0)); }
layout(); render();
if (playing) start();
document.body.dataset.rendered = t;  // the script ran to its end (tests read it from the DOM)
</script></body></html>
"""


def preview_html(line: Timeline, title: str) -> str:
    """The self-contained page: inline style, script and data; it fetches nothing."""
    return _PAGE.replace("__TITLE__", escape(title)).replace("__DATA__", _data(line, title))


def preview_png(line: Timeline, long_side_px: int = PNG_LONG_SIDE_PX) -> bytes:
    """The whole drawing as a PNG: white page, pen-up travel dashed and light under solid black ink."""
    from PIL import Image, ImageDraw

    w_mm, h_mm = line.page.width_mm, line.page.height_mm
    scale = long_side_px / max(w_mm, h_mm, 1e-9)  # px per mm
    image = Image.new("RGB", (max(1, round(w_mm * scale)), max(1, round(h_mm * scale))), "white")
    draw = ImageDraw.Draw(image)
    for move in line.moves:
        if not move.down:
            _dashed(draw, move.xy * scale, (150, 175, 220))
    width = max(1, round(INK_MM * scale))
    for move in line.moves:
        xy = [tuple(p) for p in (move.xy * scale).tolist()]
        if move.down and len(xy) > 1:
            draw.line(xy, fill="black", width=width, joint="curve")
        if move.down:  # round ends (and a dot for a one-point stroke)
            for x, y in (xy[0], xy[-1]):
                draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _dashed(draw, xy: np.ndarray, colour: tuple[int, int, int], dash_px: float = 6.0, gap_px: float = 5.0) -> None:
    """A dashed straight line from xy[0] to xy[-1] (pixels)."""
    a, b = xy[0], xy[-1]
    length = float(np.hypot(*(b - a)))
    if length == 0:
        return
    starts = np.arange(0.0, length, dash_px + gap_px)
    for s0, s1 in zip(starts, np.minimum(starts + dash_px, length)):
        p, q = a + (b - a) * (s0 / length), a + (b - a) * (s1 / length)
        draw.line([tuple(p), tuple(q)], fill=colour, width=1)


def write_preview(
    path: str | os.PathLike, html: str | os.PathLike, png: str | os.PathLike, machine: str | None = None
) -> Timeline:
    """Read the plot file at ``path``, time it, and write the animated page ``html`` and the still ``png``.

    Each output is all or nothing, and the two together nearly so: both are refused before any work if one
    would replace the input, they are the same file, or a folder is missing; a new page is removed again
    if the picture then cannot be written."""
    path, html, png = Path(path), Path(html), Path(png)
    existed = check_output(html)
    for out, option in ((html, "-o"), (png, "--png")):
        check_output(out)
        if path.exists() and out.exists() and out.resolve() == path.resolve():
            raise OutputError(f"{option} {out}: is the input file; give another name")
        if not out.parent.is_dir():
            raise OutputError(f"{option} {out}: no folder {out.parent}")
    if html.resolve() == png.resolve():
        raise OutputError(f"-o and --png name the same file ({html}); give two names")
    sheet = read_file(path)
    line = timeline(sheet, preview_machine(sheet, path, machine))
    page, picture = preview_html(line, path.name), preview_png(line)
    atomic_write_text(html, page)
    try:
        atomic_write_bytes(png, picture)
    except BaseException:
        if existed is None:
            html.unlink(missing_ok=True)
        raise
    return line
