"""Whole pages, words and drawings of any size: the pen engine against a skeleton tracer and potrace (issue 14).

    make bench-deps                                          # potrace (Debian package), once
    .venv/bin/python benchmarks/build_pages.py               # the pages, into ~/.cache/igae-pages
    .venv/bin/python benchmarks/pages.py --json pages.json   # every page, every method
    .venv/bin/python benchmarks/pages.py --kinds words,blank --limit 2
    .venv/bin/python benchmarks/pages.py --igae-steps 8,8                # a longer page fit (quality for time)
    .venv/bin/python benchmarks/pages.py --igae-hatch --kinds blob       # thick areas hatched (vectorize --hatch)
    .venv/bin/python benchmarks/pages.py --repeat 3 --json pages.json    # times: medians of 3 rounds a page

Input: ``--pages`` folder with ``pages.json``: a list of {name, kind, scan (png/jpg), truth (png, ink 0 on
white 255, the clean ink, same size), dpi, pen_px (median stroke width of the truth), width, height}.

What is measured, for every method alike (issue 14's acceptance):

* each method draws each page in its own subprocess (``--child``), so that its peak RSS is its own
  (VmHWM of the process, plus potrace's, sampled every 2 ms while it runs); wall time from reading the
  scan to the SVG written, and the CPU seconds of that span (all threads, potrace included: igae's fit runs
  its windows on threads, the tracers on one).  Imports and building the engine (for the pen engine, loading
  its compiled fit: about 0.5 s, as a model engine would load its weights) are timed separately ("setup s")
  and not in the page time;
* igae: :func:`igae_robot.vectorize.vectorize` (the library call behind ``igae vectorize``, the pen
  engine, the page's dpi, no worker processes), SVG in mm, with its own manifest and fidelity check;
* skeleton: the scan's ink (:func:`igae_robot.images.scan.scan_ink` where it exists, else
  :func:`~igae_robot.images.glyphs.ink_image`) binarised at 0.5, :func:`tracers.skeleton_polylines`,
  SVG in pixels; potrace: the same binary image as PBM, ``potrace -b svg`` (outlines, in points);
* every SVG is read back by **vpype** into page pixels and drawn by **Pillow** with a round pen
  ``pen_px`` wide (:func:`~igae_robot.images.pen_draw.pen_iou`, which draws a large page in bands):
  IoU against the truth (< 128 = ink); pen lifts (= polylines); pen-down length and pen-up travel in mm,
  the latter in the file's order and after every method's polylines are re-ordered by the project's
  own :func:`igae_robot.paper.ordering.order`;
* a method that fails on a page is recorded with its error line and judged by what it wrote (if anything).

Prints a table per page kind (medians over its pages) and one over all pages, with the ratios the
acceptance names, the date and the load average (a run started with the 1-minute load above the core
count is marked BUSY); ``--json`` saves every number.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pen_fidelity import read_back, travel  # noqa: E402

METHODS = ("igae", "skeleton", "potrace")
RESULT = "PAGES-RESULT "


# ---- methods: one page in, one SVG out, in a subprocess of their own ------------------------------------


def binary_ink(scan: Path) -> np.ndarray:
    """The scan's ink binarised at 0.5, as the tracers get it.  Its imports are made in :func:`setup`, as
    igae's are: imported here, inside the page's time, they had cost the tracers ~30 ms a page that igae's
    figures did not carry (sessions up to 12)."""
    from igae_robot.images.read import read_image

    try:
        from igae_robot.images.scan import scan_ink
    except ImportError:
        from igae_robot.images.glyphs import ink_image as scan_ink
    return scan_ink(read_image(scan)) > 0.5


def setup(method: str):
    """Imports (and the engine) for ``method``; the function that draws a page (scan, out svg, dpi)."""
    import scipy.ndimage  # noqa: F401  (used by all three, lazily imported by some)
    import skimage.morphology  # noqa: F401

    import igae_robot.images.read  # noqa: F401  (binary_ink's: the tracers' setup, as igae's imports are its own)
    try:
        import igae_robot.images.scan  # noqa: F401
    except ImportError:  # an old checkout, compared against
        import igae_robot.images.glyphs  # noqa: F401

    if method == "igae":
        import functools

        from igae_robot.exporters import export_files
        from igae_robot.vectorize import Source, VectorizeOptions, vectorize
        from igae_robot.vectorize.engines import PenEngine

        steps = os.environ.get("PAGES_IGAE_STEPS")  # --igae-steps COARSE,FINE, passed down to this child
        coarse, fine = (int(x) for x in steps.split(",")) if steps else (None, None)
        hatch = os.environ.get("PAGES_IGAE_HATCH") == "1"  # --igae-hatch: `igae vectorize --hatch`
        engine = PenEngine(hatch=hatch) if steps is None else PenEngine(page_fit_steps=fine, page_coarse_steps=coarse, hatch=hatch)
        engine.prepare("cpu")  # loads the compiled fit, as a model engine loads its weights: setup, not page time
        writers = {".svg": functools.partial(export_files, fmt="svg", machine=None)}

        def draw(scan: Path, out: Path, dpi: float) -> None:
            source = Source(scan, scan.name, out.stem)
            summary = vectorize([source], out.parent, engine, writers, VectorizeOptions(dpi=dpi, workers=0))
            record = summary.records[0]
            if record["status"] != "ok":
                raise RuntimeError(f"igae {record['status']}: {record.get('reason')}")
        return draw
    if method == "skeleton":
        from tracers import skeleton_polylines, write_polylines_svg

        def draw(scan: Path, out: Path, dpi: float) -> None:
            ink = binary_ink(scan)
            write_polylines_svg(skeleton_polylines(ink), ink.shape[1], ink.shape[0], out)
        return draw

    def draw(scan: Path, out: Path, dpi: float) -> None:
        pbm = out.with_suffix(".pbm")
        Image.fromarray(~binary_ink(scan)).save(pbm)  # mode "1": white where True
        potrace = subprocess.Popen(["potrace", "-b", "svg", "-o", str(out), str(pbm)], stderr=subprocess.PIPE, text=True)
        while potrace.poll() is None:  # its peak, sampled: ru_maxrss of a forked child starts at ours
            SUBPROCESS_MB[0] = max(SUBPROCESS_MB[0], peak_rss_mb(potrace.pid))
            time.sleep(0.002)
        if potrace.returncode:
            raise RuntimeError(f"potrace exit {potrace.returncode}: {potrace.stderr.read().strip()}")
        pbm.unlink()
    return draw


SUBPROCESS_MB = [0.0]


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM, the process's peak resident memory since its exec (``ru_maxrss`` would include its parent's
    at the fork: Linux carries it over exec), MB; 0 when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(x.split()[1]) / 1024 for x in status.splitlines() if x.startswith("VmHWM:")), 0.0)


def _cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and of the children it has waited for (potrace)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def child(method: str, scan: Path, out: Path, dpi: float) -> None:
    """Runs in the method's own process: prints one RESULT line (seconds, setup s, peak RSS, error)."""
    result = {"error": None}
    tic = time.perf_counter()
    try:
        draw = setup(method)
        gc.collect()  # as `igae vectorize` does after its imports, for every method alike
        gc.freeze()
        result["setup_s"] = time.perf_counter() - tic
        tic, cpu = time.perf_counter(), _cpu_seconds()
        draw(scan, out, dpi)
    except Exception as e:  # recorded, judged by what was written
        result["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"[:300]
    result["seconds"] = time.perf_counter() - tic
    result["cpu_s"] = _cpu_seconds() - cpu if "setup_s" in result else None
    result["rss_mb"] = peak_rss_mb() + SUBPROCESS_MB[0]  # potrace runs while the page is held
    print(RESULT + json.dumps(result), flush=True)


def run_method(method: str, page: dict, folder: Path, work: Path, timeout: float) -> dict:
    """One method on one page in a fresh interpreter: its RESULT, or the way it died."""
    out = work / method / page["name"] / "page.svg"  # a folder of its own: igae resumes from a manifest there
    out.parent.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--child", method, str(folder / page["scan"]), str(out), str(page["dpi"])]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "svg": None}
    lines = [x for x in p.stdout.splitlines() if x.startswith(RESULT)]
    if lines:
        result = json.loads(lines[-1][len(RESULT):])
    else:
        tail = (p.stderr.strip().splitlines() or [""])[-1]
        result = {"error": f"exit {p.returncode}: {tail}"[:300]}
    result["svg"] = str(out) if out.exists() else None
    return result


# ---- judge: read back by vpype, drawn by Pillow band by band ---------------------------------------------


def judge(svg: str | None, px_per_unit: float, page: dict, truth: np.ndarray) -> dict:
    """IoU, lifts, pen-down and pen-up (file order, re-ordered) in mm of one method's SVG."""
    from igae_robot.images.pen_draw import pen_iou
    from igae_robot.paper.ordering import order
    from igae_robot.paper.polyline import Polyline

    lines = [p for p in read_back(Path(svg), px_per_unit) if len(p)] if svg else []
    iou = pen_iou(lines, truth, max(1.0, float(page["pen_px"])))
    mm = 25.4 / float(page["dpi"])
    down, up = travel(lines)
    zeros = [np.zeros(len(p)) for p in lines]
    ordered = [q.points for q in order([Polyline(p, z, z) for p, z in zip(lines, zeros)])]
    return {"iou": iou, "lifts": len(lines), "down_mm": down * mm, "up_mm_file": up * mm,
            "up_mm": travel(ordered)[1] * mm}


def _median_round(runs: list[dict]) -> dict:
    """One method's runs of a page as one: the first's result, with the median wall and CPU seconds of the runs
    that have them (and all of them), and the largest peak RSS."""
    out = dict(runs[0])
    for key in ("seconds", "cpu_s", "rss_mb"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[key] = max(values) if key == "rss_mb" else statistics.median(values)
            out[f"{key}_runs"] = values
    return out


def px_per_unit(method: str, dpi: float) -> float:
    """vpype reads CSS pixels (96/in): igae writes mm (one page pixel = 25.4/dpi mm), potrace points (one
    pixel = 1 pt at its default 72 dpi), the skeleton tracer page pixels."""
    return {"igae": 96 / dpi, "potrace": 96 / 72, "skeleton": 1.0}[method]


def one_page(page: dict, folder: Path, work: Path, timeout: float, repeat: int = 1) -> dict:
    """Every method on one page, ``repeat`` times in rounds (igae, skeleton, potrace, then again), so that the
    host's drift falls on all three alike; times are the medians of the rounds, the first round's SVG is judged."""
    truth = np.asarray(Image.open(folder / page["truth"]).convert("L")) < 128
    row = {k: page[k] for k in ("name", "kind", "dpi", "pen_px")} | {"width": truth.shape[1], "height": truth.shape[0]}
    rounds = [{method: run_method(method, page, folder, work / f"round-{r}", timeout) for method in METHODS} for r in range(repeat)]
    for method in METHODS:
        ran = _median_round([r[method] for r in rounds])
        try:
            ran |= judge(ran.pop("svg"), px_per_unit(method, float(page["dpi"])), page, truth)
        except Exception as e:  # an SVG vpype cannot read: a failure of the method
            ran["error"] = ran.get("error") or f"read back: {type(e).__name__}: {e}"[:300]
        row[method] = ran
    for r in range(repeat):
        shutil.rmtree(work / f"round-{r}")
    return row


# ---- report -----------------------------------------------------------------------------------------------

ROWS = [("pen-drawn IoU", "iou", "{:.3f}"), ("pen lifts", "lifts", "{:.0f}"), ("pen-down mm", "down_mm", "{:.0f}"),
        ("pen-up mm, ordered", "up_mm", "{:.0f}"), ("pen-up mm, file order", "up_mm_file", "{:.0f}"),
        ("wall s (page)", "seconds", "{:.2f}"), ("CPU s (page, all threads)", "cpu_s", "{:.2f}"), ("setup s (excluded)", "setup_s", "{:.2f}"), ("peak RSS MB", "rss_mb", "{:.0f}")]


def medians(rows: list[dict]) -> dict:
    """Per method, the median of each number over ``rows`` (pages), and the failure count."""
    out = {}
    for m in METHODS:
        out[m] = {k: statistics.median(v) for _, k, _ in ROWS if (v := [r[m][k] for r in rows if r[m].get(k) is not None])}
        out[m]["failures"] = sum(bool(r[m].get("error")) for r in rows)
    return out


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "—"


def print_table(title: str, rows: list[dict]) -> dict:
    med = medians(rows)
    print(f"### {title} ({len(rows)} pages, medians)\n")
    print("| | igae | skeleton | potrace | igae / skeleton | igae / potrace |\n|---|---:|---:|---:|---:|---:|")
    for label, key, fmt in ROWS + [("failures", "failures", "{}")]:
        v = [med[m].get(key) for m in METHODS]
        cells = [fmt.format(x) if x is not None else "—" for x in v]
        print(f"| {label} | {' | '.join(cells)} | {ratio(v[0], v[1])} | {ratio(v[0], v[2])} |")
    i, s, p = (med[m] for m in METHODS)
    checks = {"IoU >= skeleton": i.get("iou", 0) >= s.get("iou", 1),
              "lifts <= skeleton/2": i.get("lifts", 1e9) <= s.get("lifts", 0) / 2,
              "ordered pen-up < skeleton": i.get("up_mm", 1e9) < s.get("up_mm", 0),
              "time <= skeleton": i.get("seconds", 1e9) <= s.get("seconds", 0),
              "time <= 3x potrace": i.get("seconds", 1e9) <= 3 * p.get("seconds", 0),
              "RSS <= 2 GB (every page)": all((r["igae"].get("rss_mb") or 1e9) <= 2048 for r in rows)}
    failed = [f"{m} failed on {med[m]['failures']}" for m in METHODS if med[m]["failures"]]
    print("\nacceptance: " + ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in checks.items())
          + (f" ({', '.join(failed)} pages: judged by what they wrote)" if failed else "") + "\n", flush=True)
    return {"medians": med, "acceptance": checks}


PAGE_HEADER = ("| page | kind | px | IoU i/s/p | lifts i/s/p | pen-up mm ordered i/s/p | wall s i/s/p | CPU s i/s/p | RSS MB i/s/p | errors |\n"
               "|---|---|---|---|---|---|---|---|---|---|")


def print_page(r: dict) -> None:
    """One page's row: igae / skeleton / potrace in each cell."""
    def cells(key, fmt):
        return " / ".join(fmt.format(r[m][key]) if r[m].get(key) is not None else "—" for m in METHODS)
    errors = "; ".join(f"{m}: {r[m]['error']}" for m in METHODS if r[m].get("error"))
    print(f"| {r['name']} | {r['kind']} | {r['width']}x{r['height']} | {cells('iou', '{:.3f}')} | {cells('lifts', '{:.0f}')} "
          f"| {cells('up_mm', '{:.0f}')} | {cells('seconds', '{:.2f}')} | {cells('cpu_s', '{:.2f}')} | {cells('rss_mb', '{:.0f}')} | {errors} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", default=str(Path.home() / ".cache" / "igae-pages"), help="folder with pages.json")
    parser.add_argument("--kinds", default=None, help="comma-separated page kinds (default: all)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages per kind (0: all)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per method and page")
    parser.add_argument("--json", default=None, help="save every number here")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every method this many times per page, in rounds; times are the medians (the host is noisy)")
    parser.add_argument("--igae-steps", default=None, metavar="COARSE,FINE",
                        help="the pen engine's page fit: Adam steps at half resolution, then at full (default: the engine's)")
    parser.add_argument("--igae-hatch", action="store_true", help="the pen engine fills thick areas with hatching (igae vectorize --hatch)")
    parser.add_argument("--child", nargs=4, metavar=("METHOD", "SCAN", "SVG", "DPI"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], Path(args.child[1]), Path(args.child[2]), float(args.child[3]))
    if args.igae_hatch:
        os.environ["PAGES_IGAE_HATCH"] = "1"
    if args.igae_steps:
        os.environ["PAGES_IGAE_STEPS"] = ",".join(str(int(x)) for x in args.igae_steps.split(","))
    folder = Path(args.pages).expanduser()
    pages = json.loads((folder / "pages.json").read_text())
    kinds = list(dict.fromkeys(p["kind"] for p in pages if not args.kinds or p["kind"] in args.kinds.split(",")))
    pages = [p for k in kinds for p in [q for q in pages if q["kind"] == k][: args.limit or None]]
    cpus, load = os.cpu_count() or 1, os.getloadavg()
    busy = " BUSY" if load[0] > cpus else ""
    steps = f", igae page fit {args.igae_steps} steps" if args.igae_steps else ""
    steps += ", igae --hatch" if args.igae_hatch else ""
    steps += f", each method {args.repeat} times a page (median times)" if args.repeat > 1 else ""
    print(f"# pages, {time.strftime('%Y-%m-%d %H:%M')}, {cpus} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}{busy}, {len(pages)} pages from {folder}{steps}\n", flush=True)
    rows = []
    print(PAGE_HEADER)
    with tempfile.TemporaryDirectory(prefix="pages-bench-") as tmp:
        for page in pages:
            rows.append(one_page(page, folder, Path(tmp), args.timeout, max(1, args.repeat)))
            print_page(rows[-1])
    print()
    summary = {k: print_table(k, [r for r in rows if r["kind"] == k]) for k in kinds}
    summary["all"] = print_table("all pages", rows)
    end = os.getloadavg()
    judge_mb = peak_rss_mb()
    print(f"load average at the end {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}{busy}; the judge's own peak RSS {judge_mb:.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": cpus, "load_start": load, "load_end": end,
                                               "busy": bool(busy), "judge_rss_mb": judge_mb, "pages": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
