"""The CLI fuzz test (issue 11, item 9): every command, driven with random and hostile option values
(negative, zero, NaN, inf, huge, empty, bogus choices) and hostile files (garbage bytes, truncated
or pickled .npz, non-UTF-8 TOML, empty files, folders, missing paths), must keep the CLI's promise:

* exit code 0 or 2 (1 only for a "check failed" verdict: ``igae check``, ``vectorize --strict``);
* never a traceback;
* on exit 2, stderr is one line, ``error: ...``;
* no partial output: an output that did not exist is not created, an existing one is unchanged,
  and no temporary file is left behind.

Bounded for CI: a few hundred examples in all, training kept tiny (a preset of 8 hidden units and
4 steps, a few dozen images, at most 2 epochs).  In CI the examples are derandomized (the same
every run); locally each run explores new ones.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from igae_robot.cli.main import app

runner = CliRunner()


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=bool(os.environ.get("CI")), database=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no "explain": it reruns a failure many times
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


# ---- hostile values, by the type click parses them as ------------------------------------------

# A real command line cannot carry NUL or unpaired surrogates; everything else is fair.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
INTS = st.one_of(st.sampled_from([0, -1, -5, 1, 2, 3, 10**9, 2**63, -(2**63), 10**30]), st.integers(-1000, 1000)).map(str)
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, -1.0, 1.0, 2.0, 0.5, 0.99, math.nan, math.inf, -math.inf, 1e308, 5e-324]),
    st.floats(allow_nan=True, allow_infinity=True),
).map(repr)
LENGTHS = st.sampled_from(["0", "-5mm", "nan", "inf", "-inf", "1e400mm", "10mm", "3in", "2.5cm", "", " ", "5 parsecs",
                           "abc", "0.001mm", "1e9mm", "96px", "mm", "1e-300mm"])
WORDS = st.one_of(st.sampled_from(["", " ", "bogus", "nan", "-1", "é", "[red]x[/]", "../../etc/passwd", "a" * 300]), _TEXT)
PAGES = st.one_of(st.sampled_from(["A4", "a5", "Letter", "A3", "200x150mm", "8.5in x 11in", "0x0", "-1x5mm", "nanxnan",
                                   "1e9x1e9mm", "20x20mm", "5x5mm", "", "A0", "x"]), WORDS)
DEVICES = st.sampled_from(["auto", "cpu", "cuda", "cuda:7", "meta", "mps", "", "tpu", "cpu:x", "cuda:-1"])


@dataclass(frozen=True)
class Opt:
    """One option of a command: its name (None: a positional argument), the values a careful user
    gives, and the hostile ones.  Each value is a list of argv pieces (In/Out markers allowed)."""

    name: str | None
    valid: st.SearchStrategy
    hostile: st.SearchStrategy
    required: bool = False


def opt(name: str | None, valid, hostile, required: bool = False) -> Opt:
    as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    return Opt(name, _strategy(valid).map(as_list), _strategy(hostile).map(as_list), required)


def flag(name: str) -> Opt:
    return Opt(None, st.sampled_from([[], [name]]), st.nothing())


def _strategy(values) -> st.SearchStrategy:
    return values if isinstance(values, st.SearchStrategy) else st.sampled_from(list(values))


@st.composite
def command_line(draw, options: list[Opt]) -> list:
    """A careful user's command line (a quarter of the examples), the same with one thing changed to a
    hostile value (half: the fault is reached deep in the command), or chaos (every option may be hostile)."""
    mode = draw(st.sampled_from(["fault", "fault", "clean", "chaos"]))
    chaos = mode == "chaos"
    can_fault = [i for i, o in enumerate(options) if not o.hostile.is_empty]
    faulty = draw(st.sampled_from(can_fault)) if mode == "fault" else -1
    args: list = []
    for i, o in enumerate(options):
        if i == faulty:
            value = draw(o.hostile)
        elif chaos and not o.hostile.is_empty and draw(st.booleans()):
            value = draw(o.hostile)
        elif not o.valid.is_empty and (o.required or draw(st.booleans())):
            value = draw(o.valid)
        else:
            continue
        args += ([o.name] if o.name else []) + value
    return args


# ---- files: inputs are shared, outputs live in one fresh folder per example -----------------------


@dataclass(frozen=True)
class In:
    """An input file of a kind (see ``Inputs``)."""

    kind: str


@dataclass(frozen=True)
class Out:
    """An output path of a kind: new, existing (a regular file with content), folder, nested, under-a-file,
    read-only, empty, fifo, symlink."""

    kind: str
    suffix: str = ""
    folder_output: bool = False  # a run folder (train --out) rather than a file


OUT_KINDS = ["new", "new", "new", "existing", "folder", "nested", "under-file", "read-only", "empty", "fifo", "symlink"]


class Inputs:
    """Input files, made once: valid ones (a tiny checkpoint, gestures, exported sheets, images, a tiny
    preset, a profile, text) and hostile ones."""

    def __init__(self, root: Path, checkpoint: Path, gestures: Path, hostile: dict[str, Path]):
        from PIL import Image

        self.scratch = root / "examples"  # each example's outputs, in a folder of its own under this one
        self.scratch.mkdir()
        self.paths: dict[str, Path] = {f"hostile:{k}": v for k, v in hostile.items()}
        self.paths["missing"] = root / "no-such-file.npz"
        self.paths["checkpoint"] = checkpoint
        self.paths["run-folder"] = checkpoint.parent
        self.paths["gestures"] = gestures
        images = root / "images"
        images.mkdir()
        for i in range(3):
            img = np.full((40, 30), 255, np.uint8)
            img[8:32, 10 + 2 * i : 15 + 2 * i] = 0
            Image.fromarray(img).save(images / f"glyph{i}.png")
        self.paths["image"] = images / "glyph0.png"
        self.paths["images-folder"] = images
        (root / "not-an-image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
        self.paths["bad-image"] = root / "not-an-image.png"
        self.paths["preset"] = root / "tiny.toml"
        self.paths["preset"].write_text('[model]\nhidden = [8]\nsteps = 4\n[train]\nepochs = 1\nbatch_size = 32\n')
        self.paths["preset-wrong-types"] = root / "wrong.toml"
        self.paths["preset-wrong-types"].write_text('model = 3\n[train]\nepochs = "many"\n')
        self.paths["profile"] = root / "plotter.toml"
        from importlib import resources

        self.paths["profile"].write_text(resources.files("igae_robot.paper.machines").joinpath("grbl-servo.toml").read_text())
        self.paths["text"] = root / "note.txt"
        self.paths["text"].write_bytes("\ufeff12 ab\n\ncd".encode())
        self.paths["latin1-text"] = root / "latin1.txt"
        self.paths["latin1-text"].write_bytes("café".encode("latin-1"))
        for fmt in ("svg", "gcode"):
            path = root / f"sheet.{fmt}"
            result = runner.invoke(app, ["export", str(gestures), "-o", str(path)])
            assert result.exit_code == 0, result.output
            self.paths[f"sheet.{fmt}"] = path


class Workspace:
    """One example's output folder; resolves In/Out markers to paths and checks what was left."""

    def __init__(self, inputs: Inputs):
        self.inputs = inputs
        self.root = Path(tempfile.mkdtemp(prefix="example-", dir=inputs.scratch))
        self.outs: list[tuple[Out, Path, bytes | None]] = []

    def resolve(self, arg) -> str:
        if isinstance(arg, In):
            return str(self.inputs.paths[arg.kind])
        if isinstance(arg, Out):
            path = self._make(arg)
            return "" if arg.kind == "empty" else str(path)  # str(Path("")) is ".", not empty
        return arg

    def _make(self, out: Out) -> Path:
        name = f"out{len(self.outs)}{out.suffix}"
        before = None
        if out.kind in ("new", "empty"):
            path = self.root / name if out.kind == "new" else Path("")
        elif out.kind == "existing":
            path = self.root / name
            if out.folder_output:
                path.mkdir()
            else:
                before = b"keep me"
                path.write_bytes(before)
        elif out.kind == "folder":
            path = self.root / name
            path.mkdir()
        elif out.kind == "nested":
            path = self.root / "a" / "b" / name
        elif out.kind == "under-file":
            (self.root / "a-file").write_text("x")
            path = self.root / "a-file" / name
        elif out.kind == "read-only":
            (self.root / "ro").mkdir(exist_ok=True)
            (self.root / "ro").chmod(0o555)
            path = self.root / "ro" / name
        elif out.kind == "fifo":
            path = self.root / name
            os.mkfifo(path)
        else:  # symlink
            target = self.root / f"target{len(self.outs)}"
            before = b"the link's target"
            target.write_bytes(before)
            path = self.root / name
            path.symlink_to(target)
            self.outs.append((Out("existing"), target, before))
        self.outs.append((out, path, before))
        return path

    def check_no_partial_output(self, failed: bool, output: str) -> None:
        leftovers = [p for p in self.root.rglob("*") if p.name.endswith(".tmp")]
        assert not leftovers, f"temporary files left: {leftovers}\n{output}"
        if not failed:
            return
        for out, path, before in self.outs:
            if out.kind == "empty":  # nothing may appear where the command ran
                stray = [p for p in self.root.iterdir() if p.name.startswith(("manifest", "glyph", "out"))]
                assert not stray, f"a failed command with an empty output wrote {stray}\n{output}"
                continue
            if before is not None and path.is_file() and not path.is_symlink():
                assert path.read_bytes() == before, f"{path} was changed by a failed command\n{output}"
            elif out.kind in ("new", "nested", "under-file", "read-only"):
                written = [p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()] if path.exists() else []
                if "loss became" in output:  # training diverged: the last good checkpoint is kept, by design
                    written = [p for p in written if p.name != "checkpoint.pt"]
                assert not written, f"a failed command left {written}\n{output}"

    def close(self) -> None:
        for p in [self.root, *self.root.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_checkpoint, tiny_gestures, hostile_files) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("fuzz-inputs"), tiny_checkpoint, tiny_gestures, hostile_files)


def run(inputs: Inputs, args: list, check_failed_ok: bool = False) -> None:
    """Run one command line and check the CLI's promise."""
    ws = Workspace(inputs)
    cwd = os.getcwd()
    try:
        argv = [ws.resolve(a) for a in args]
        os.chdir(ws.root)  # anything written to a relative path lands in the example's folder, and is checked
        try:
            result = runner.invoke(app, argv)
        finally:
            os.chdir(cwd)
        shown = f"igae {' '.join(map(repr, argv))}\nexit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"traceback: {result.exception!r}\n{shown}"
        )
        allowed = {0, 2, 1} if check_failed_ok else {0, 2}
        assert result.exit_code in allowed, shown
        if result.exit_code == 2:
            lines = result.stderr.strip().splitlines()
            usage = "Usage:" in result.stderr  # click's own usage error (a malformed option), exit 2 too
            assert usage or (len(lines) >= 1 and lines[-1].startswith("error: ")), shown
            if not usage:
                # One error line, the last; before it only what the command reported while it worked
                # (a warning, an epoch's metrics).
                errors = [line for line in lines if line.startswith("error: ")]
                assert len(errors) == 1 and lines[-1] == errors[0], f"more than one error line\n{shown}"
        ws.check_no_partial_output(result.exit_code != 0, shown)
    finally:
        ws.close()


# ---- one test per command ----------------------------------------------------------------------

CHECKPOINT = [In("checkpoint"), In("run-folder")]
BAD_CHECKPOINT = [In("missing"), In("hostile:garbage"), In("hostile:empty"), In("hostile:folder"), In("gestures"),
                  In("hostile:pickle-npz")]
GESTURES_FILE = [In("gestures")]
BAD_GESTURES_FILE = [In("hostile:truncated-npz"), In("hostile:pickle-npz"), In("hostile:empty"), In("hostile:garbage"),
                     In("hostile:folder"), In("missing"), In("checkpoint")]
MACHINE = ["grbl-servo", "grbl-z", "marlin", "ur-table", "arm-table", In("profile")]
BAD_MACHINE = [In("hostile:empty"), In("missing"), In("hostile:not-utf8-toml"), In("hostile:garbage"),
               In("hostile:folder"), "bogus", "", In("preset")]
FORMAT_AND_SUFFIX = st.sampled_from([("svg", ".svg"), ("gcode", ".gcode"), ("waypoints", ".json"), ("waypoints", ".csv"),
                                     ("urscript", ".script")])
BAD_OUT_KINDS = [k for k in OUT_KINDS if k not in ("new", "existing")]


def out_file(suffixes) -> st.SearchStrategy:
    return st.tuples(st.sampled_from(["new", "new", "existing", "nested"]), _strategy(suffixes)).map(lambda t: Out(*t))


def bad_out_file(suffixes) -> st.SearchStrategy:
    return st.tuples(st.sampled_from(BAD_OUT_KINDS), _strategy(suffixes)).map(lambda t: Out(*t))


OUT_FOLDER = st.sampled_from(["new", "nested", "existing"]).map(lambda k: Out(k, folder_output=True))
BAD_OUT_FOLDER = st.sampled_from(["under-file", "read-only", "empty", "fifo", "symlink"]).map(lambda k: Out(k, folder_output=True))
SMALL_LIMIT = st.integers(10, 40).map(str)


@fuzz(12)
@example(args=["--preset", In("preset"), "--epochs", "1", "--limit", "30", "--out", Out("new", folder_output=True)])
@given(args=command_line([
    opt("--preset", [In("preset")], [In("hostile:not-utf8-toml"), In("preset-wrong-types"), In("missing"), "bogus",
                                     "igae/../static", In("hostile:garbage")], required=True),
    opt("--epochs", ["1", "2"], ["0", "-1", str(10**7), str(2**63)], required=True),
    opt("--limit", SMALL_LIMIT, INTS.filter(lambda v: not 40 < int(v) < 10**6 and int(v) != 0), required=True),
    opt(None, [["--data", "digits"]], [["--data", "mnist"], ["--data", "bogus"], ["--data", "folder", "--data-dir", In("hostile:folder")],
                                       ["--data", "npz", "--data-dir", In("hostile:truncated-npz")], ["--data", ""],
                                       ["--data", "emnist-nope", "--data-dir", "."], ["--data-dir", In("missing")]]),
    opt("--device", ["cpu", "auto"], DEVICES),
    opt("--seed", ["0", "7"], INTS),
    opt("--precision", ["fp32"], ["bf16", "fp8", ""]),
    opt("--set", ["train.lr=3e-3", "train.batch_size=16", "model.start=none", "model.decoder=points"],
        ["train.lr=nan", "train.lr=-0.001", "train.lr=1e30", "train.batch_size=0", "train.batch_size=-3", "model.steps=0",
         "model.steps=1000000", "model.hidden=[]", "model.hidden=[0]", "model.hidden=x", "train.val_fraction=1",
         "train.val_fraction=nan", "data.limit=-1", "train.epochs=inf", "train.seed=-1", "model.image_size=3",
         "model.start=[nan, 0]", "model.var_eps=0", "nope", "train.nope=1", "model.activation=bogus",
         "train.precision=fp8", "train.dt_s=-1", "model.hidden=[1e400]", "train.epochs=true"]),
    opt(None, [[], ["--overwrite"]], [["--resume"], ["--resume", "--overwrite"]]),
    opt("--out", OUT_FOLDER, BAD_OUT_FOLDER, required=True),
]))
def test_train(inputs, args):
    run(inputs, ["train", "--no-progress", *args])


@fuzz(4)
@example(args=["--preset", In("preset"), "--epochs", "1", "--out", Out("new", folder_output=True)])
@given(args=command_line([
    opt("--preset", [In("preset")], [In("hostile:not-utf8-toml"), In("preset-wrong-types"), "bogus"], required=True),
    opt("--epochs", ["1"], ["0", "-1", str(2**63)], required=True),
    flag("--overwrite"),
    opt("--out", OUT_FOLDER, BAD_OUT_FOLDER, required=True),
]))
def test_demo(inputs, args):
    run(inputs, ["demo", "--no-progress", *args])


@fuzz(20)
@given(args=command_line([
    opt(None, CHECKPOINT, BAD_CHECKPOINT, required=True),
    opt(None, [["--data", "digits"], ["--data", "folder", "--data-dir", In("images-folder")]],
        [["--data", "mnist"], ["--data", "bogus"], ["--data", "folder", "--data-dir", In("hostile:folder")]]),
    opt("--split", ["train", "test"], ["bogus", ""]),
    opt("--limit", SMALL_LIMIT, INTS, required=True),
    opt("--device", ["cpu"], DEVICES),
    flag("--json"),
    opt("--pictures", OUT_FOLDER, BAD_OUT_FOLDER),
]))
def test_eval(inputs, args):
    run(inputs, ["eval", *args])


@fuzz(25)
@given(args=command_line([
    opt(None, CHECKPOINT, BAD_CHECKPOINT, required=True),
    opt(None, st.one_of(st.lists(st.sampled_from([In("image"), In("images-folder")]), min_size=1, max_size=2),
                        st.sampled_from([["--data", "digits", "--indices", "0:3"], ["--data", "digits", "--indices", "1,5"]])),
        st.one_of(st.lists(st.sampled_from([In("image"), In("bad-image"), In("hostile:empty"), In("missing"), In("gestures")]),
                           min_size=1, max_size=3),
                  st.one_of(st.sampled_from(["5:2", "-1", ":", "0:100000", "a", "", "1,,2", "0:5:0", str(2**63)]), WORDS).map(
                      lambda i: ["--data", "digits", "--indices", i]),
                  st.just([]), st.just(["--data", "digits", "--split", "bogus"])),
        required=True),
    opt("-o", out_file([".npz"]), bad_out_file([".npz", ""]), required=True),
    opt(None, [[], ["--invert"], ["--no-invert"]], st.nothing()),
]))
def test_encode(inputs, args):
    run(inputs, ["encode", *args])


@fuzz(60)
@given(fmt=FORMAT_AND_SUFFIX, data=st.data())
def test_export(inputs, fmt, data):
    args = data.draw(command_line([
        opt(None, GESTURES_FILE, BAD_GESTURES_FILE, required=True),
        opt("-o", out_file([fmt[1]]), bad_out_file([fmt[1], ".txt", ""]), required=True),
        opt("--format", [fmt[0]], ["bogus", "", "SVG", "json"]),
        opt("--machine", MACHINE if fmt[0] != "svg" else [In("profile")], BAD_MACHINE),
        opt("--page", ["A4", "a5", "Letter", "200x150mm", "8.5in x 11in"], PAGES),
        opt("--margin", ["10mm", "0", "1cm"], LENGTHS),
        opt("--cols", ["0", "3"], INTS),
        opt("--cell", ["0", "20mm"], LENGTHS),
        opt("--spacing", ["5mm", "0"], LENGTHS),
        opt("--frame", ["fit", "canvas"], ["bogus", ""]),
        opt("--threshold", ["0.5", "0.3"], FLOATS),
        opt("--release", ["0.2"], FLOATS),
        opt("--simplify", ["0", "0.05mm"], LENGTHS),
        opt("--merge", ["0.05mm", "0"], LENGTHS),
        opt("--layers", ["row", "glyph", "pen", "one"], ["bogus", ""]),
        opt("--pens", ["3", "1"], st.one_of(st.integers(-3, 0).map(str), st.just(str(10**6)))),
        opt("--layout", ["grid"], ["spiral", ""]),
        flag("--clip"), flag("--landscape"), flag("--home"), flag("--no-order"), flag("--no-return"),
    ]))
    run(inputs, ["export", *args])


@fuzz(30)
@given(args=command_line([
    opt(None, [In("sheet.svg"), In("sheet.gcode")], [In("hostile:text"), In("hostile:garbage"), In("hostile:empty"),
                                                      In("missing"), In("hostile:folder"), In("gestures")], required=True),
    opt(None, [["--against", In("gestures")]],
        st.lists(st.sampled_from([In("image"), In("bad-image"), In("gestures"), In("hostile:pickle-npz"),
                                  In("hostile:truncated-npz"), In("missing"), In("hostile:folder")]), min_size=1, max_size=3).map(
            lambda paths: [a for p in paths for a in ("--against", p)]), required=True),
    opt("--min-iou", ["0.99", "0.5", "0"], FLOATS),
    opt("--size", ["28", "32"], INTS.filter(lambda v: not 64 < abs(int(v)) <= 1024)),
    opt("--var-coef", ["0.01"], FLOATS),
    opt("--var-eps", ["0.0001"], FLOATS),
    flag("--json"),
]))
def test_check(inputs, args):
    run(inputs, ["check", *args], check_failed_ok=True)


@fuzz(30)
@given(fmt=FORMAT_AND_SUFFIX, data=st.data())
def test_handwrite(inputs, fmt, data):
    args = data.draw(command_line([
        opt(None, st.one_of(st.sampled_from(["12", "Hello world", "1 2\n\n3", "ab cd"]).map(lambda t: [t]),
                            st.just(["--file", In("text")])),
            st.one_of(st.sampled_from(["", "   ", "\n\n", "café €5", "a" * 80]).map(lambda t: [t]), _TEXT.map(lambda t: [t]),
                      st.sampled_from([In("latin1-text"), In("hostile:empty"), In("missing"), In("hostile:folder"),
                                       In("hostile:garbage")]).map(lambda f: ["--file", f])),
            required=True),
        opt("-o", out_file([fmt[1]]), bad_out_file([fmt[1], ".txt", ""]), required=True),
        opt("--format", [fmt[0]], ["bogus", "", "json"]),
        opt("--machine", MACHINE if fmt[0] != "svg" else [In("profile")], BAD_MACHINE),
        opt("--page", ["A4", "A5", "200x150mm"], PAGES),
        opt("--margin", ["15mm", "1cm"], LENGTHS),
        opt("--size", ["6mm", "4mm"], LENGTHS),
        opt("--width", ["0", "100mm"], LENGTHS),
        opt("--line-spacing", ["1.5", "2"], FLOATS),
        opt("--align", ["left", "centre", "center", "right"], ["justify", ""]),
        opt("--seed", ["0", "7"], INTS),
        opt("--neatness", ["0.8", "1", "0"], FLOATS),
        opt("--slant", ["6", "0", "-10"], FLOATS),
        opt("--digits-model", st.nothing(), [In("hostile:garbage"), In("checkpoint"), In("missing"), In("hostile:folder")]),
        flag("--connect"), flag("--fallback"), flag("--home"), flag("--landscape"),
    ]))
    run(inputs, ["handwrite", *args])


@fuzz(20)
@given(args=command_line([
    opt(None, st.lists(st.sampled_from([In("image"), In("images-folder")]), min_size=1, max_size=2),
        st.lists(st.sampled_from([In("bad-image"), In("hostile:empty"), In("missing"), In("hostile:garbage")]), min_size=1,
                 max_size=2), required=True),
    opt("-o", OUT_FOLDER, BAD_OUT_FOLDER, required=True),
    opt("--model", CHECKPOINT, BAD_CHECKPOINT, required=True),
    opt("--format", ["svg", "gcode", "svg,gcode", "waypoints"], ["bogus", "", "svg,,svg"]),
    opt("--dpi", ["96", "300"], FLOATS),
    opt("--width", ["0", "50mm"], LENGTHS),
    opt("--split", ["auto", "none", "components"], ["bogus", ""]),
    opt("--join", ["1", "0"], FLOATS),
    opt("--refine", ["0", "1"], ["-1", str(10**9)]),
    opt("--refine-lr", ["0.05"], FLOATS),
    opt("--threshold", ["0.5"], FLOATS),
    opt("--simplify", ["0", "0.05mm"], LENGTHS),
    opt("--batch-size", ["256", "2"], INTS),
    opt("--max-pixels", ["50000000"], INTS),
    opt("--device", ["cpu", "auto"], DEVICES),
    flag("--force"), flag("--no-order"),
    opt(None, [[]], [["--strict"]]),
]))
def test_vectorize(inputs, args):
    run(inputs, ["vectorize", *args, "--workers", "0", "--no-progress"], check_failed_ok="--strict" in args)


@fuzz(12)
@given(args=command_line([
    opt(None, CHECKPOINT, BAD_CHECKPOINT, required=True),
    opt("--limit", st.integers(20, 60).map(str), INTS.filter(lambda v: not 60 < int(v) < 10**6 and int(v) != 0), required=True),
    opt("--k", ["2", "3,4"], st.one_of(st.sampled_from(["", "0", "-1", "x", "5000", "2,,3", str(2**63)]), WORDS)),
    opt("--features", ["gesture", "pixels", "velocity+pressure"], ["bogus", "", "gesture+", "start,shape"]),
    opt("--reduce", ["none", "standard", "pca", "spectral"], ["bogus", ""]),
    opt("--algorithm", ["kmeans", "gmm"], ["bogus", ""]),
    opt("--label-budget", ["0", "5"], INTS),
    opt("--seeds", ["1", "2"], ["0", "-1", str(10**9)], required=True),
    opt("--dims", ["2", "5"], INTS),
    opt("--device", ["cpu"], DEVICES),
    opt("--out", OUT_FOLDER, BAD_OUT_FOLDER, required=True),
    opt(None, [["--no-pictures"], ["--no-pictures"], []], st.nothing(), required=True),
]))
def test_cluster(inputs, args):
    run(inputs, ["cluster", "--no-progress", *args])


@fuzz(12)
@given(files=st.lists(st.sampled_from([In("profile"),
                                       In("hostile:empty"), In("missing"), In("hostile:folder"), In("preset")]), max_size=3))
def test_machines(inputs, files):
    run(inputs, ["machines", *files])


@pytest.mark.parametrize("profile", ["hostile:not-utf8-toml", "hostile:garbage"])
@pytest.mark.parametrize("command", [["machines"], ["export", In("gestures"), "-o", Out("new", ".gcode"), "--machine"]])
def test_non_utf8_machine_profile(inputs, command, profile):
    run(inputs, [*command, In(profile)])


def test_presets_and_version(inputs):
    run(inputs, ["presets"])
    run(inputs, ["--version"])
