"""The architecture as tests: the rules of each folder, read from the source with ast.

- ``igae_robot/images/``, ``igae_robot/paper/``, ``igae_robot/plotter/`` and ``exporters/`` are torch-free: they never import
  torch or ``igae_robot.model``, neither in their own lines nor through what they import.
- The core (``igae_robot/``) never imports ``cli/`` or ``exporters/``.
- No import circles between our modules.
- No module over 400 lines; no function over 60 lines (its body: a command's option block is its
  signature, so the CLI's commands are measured like every other function).
- The wheel installs one namespace, ``igae_robot``.

Every import counts, function-local ones too: a function-local import is still a dependency (it
runs on the first call), and hiding one inside a function is how circles and torch creep back in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Source folder -> the package it installs as (pyproject.toml's package-dir).
FOLDERS = {"igae_robot": "igae_robot", "cli": "igae_robot.cli", "exporters": "igae_robot.exporters"}
TORCH_FREE = ("igae_robot/images", "igae_robot/paper", "igae_robot/plotter", "exporters")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module_of(path: Path) -> str:
    """The installed module name of a source file: exporters/gcode.py -> igae_robot.exporters.gcode."""
    rel = path.relative_to(REPO).with_suffix("").parts
    parts = [FOLDERS[rel[0]], *rel[1:]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    module = _module_of(path)
    return module if path.stem == "__init__" else module.rpartition(".")[0]


def _sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _all_sources() -> list[Path]:
    return [p for folder in FOLDERS for p in _sources(folder)]


@lru_cache(maxsize=None)
def _known_modules() -> frozenset[str]:
    return frozenset(_module_of(p) for p in _all_sources())


@lru_cache(maxsize=None)
def _imports(path: Path) -> frozenset[str]:
    """Absolute names a file imports, anywhere in it; ``from pkg import mod`` names ``pkg.mod``
    when that is one of our modules (relative imports resolved, folders mapped as installed)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(path).split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in _known_modules())
    return frozenset(n for n in names if n)


def _internal_edges(path: Path) -> set[str]:
    """Our modules that ``path`` imports: for ``from pkg import mod`` the submodule, not also pkg."""
    known = _known_modules()
    names = {n for n in _imports(path) if n in known}
    return {n for n in names if not any(other.startswith(n + ".") for other in names)} - {_module_of(path)}


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# ---- torch-free rooms ------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", TORCH_FREE)
def test_torch_free_folders_never_import_torch_or_the_model(folder):
    bad = {
        _rel(path): sorted(n for n in _imports(path) if n.split(".")[0] == "torch" or n.startswith("igae_robot.model"))
        for path in _sources(folder)
    }
    assert not {k: v for k, v in bad.items() if v}, bad


@pytest.mark.parametrize("folder", TORCH_FREE)
def test_importing_each_torch_free_module_leaves_torch_unloaded(folder):
    """Transitively: each module, imported alone in a fresh interpreter, loads neither torch nor the model."""
    for module in sorted(_module_of(p) for p in _sources(folder)):
        code = (
            f"import importlib, sys; importlib.import_module({module!r}); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or m.startswith('igae_robot.model')); "
            f"assert not bad, ({module!r}, bad[:5])"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]


def test_the_core_never_imports_exporters_or_cli():
    for path in _sources("igae_robot"):
        bad = {n for n in _imports(path) if n.startswith(("igae_robot.exporters", "igae_robot.cli", "cli", "exporters"))}
        assert not bad, f"{_rel(path)} imports {bad}"


def test_igae_help_loads_no_torch():
    code = (
        "import sys; from typer.testing import CliRunner; from igae_robot.cli.main import app; "
        "result = CliRunner().invoke(app, ['--help']); assert result.exit_code == 0, result.output; "
        "assert 'torch' not in sys.modules, 'igae --help loaded torch'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


# ---- no circles ------------------------------------------------------------------------------------


def _import_graph() -> dict[str, set[str]]:
    return {_module_of(p): _internal_edges(p) for p in _all_sources()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path a -> ... -> a, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_circle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_our_imports():
    graph = _import_graph()
    assert "igae_robot.paper.polyline" in graph["igae_robot.paper.geometry"]
    assert "igae_robot.paper.geometry" in graph["igae_robot.exporters.gcode"]


def test_no_import_circles():
    cycle = _find_cycle(_import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


# ---- sizes -----------------------------------------------------------------------------------------


def test_no_module_over_400_lines():
    long = {_rel(p): n for p in _all_sources() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's body: from its first statement (the docstring counts) to its end.
    The signature is left out, so a command's typer option block does not count against it."""
    return fn.end_lineno - fn.body[0].lineno + 1


def test_no_function_over_60_lines():
    long = {}
    for path in _all_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_lines(node) > MAX_FUNCTION_LINES:
                long[f"{_rel(path)}:{node.lineno} {node.name}"] = _body_lines(node)
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


# ---- what the wheel installs -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    """The file names inside a wheel built from this tree (once for the tests below)."""
    pytest.importorskip("setuptools")
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(folder), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = folder.glob("igae_robot-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_wheel_installs_one_namespace(wheel_names):
    """cli/ and exporters/ go inside igae_robot; presets ship as data; no generic top-level names."""
    top = {n.split("/")[0] for n in wheel_names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"igae_robot"}, top
    for needed in ("igae_robot/cli/main.py", "igae_robot/exporters/__init__.py", "igae_robot/presets/igae.toml",
                   "igae_robot/presets/static.toml", "igae_robot/presets/dynamic.toml",
                   "igae_robot/images/pen_habit.json", "igae_robot/handwriting/models/comic.hand.gz"):
        assert needed in wheel_names, needed


def test_wheel_holds_every_source_module(wheel_names):
    """Every subpackage is listed in pyproject.toml: a module missing from the wheel is a broken install."""
    expected = {_module_of(p).replace(".", "/") + ("/__init__.py" if p.stem == "__init__" else ".py") for p in _all_sources()}
    missing = sorted(expected - wheel_names)
    assert not missing, f"not in the wheel (add the package to pyproject.toml): {missing}"
