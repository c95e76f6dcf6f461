"""The architecture as tests: import directions, torch-free machine side, and what the wheel installs."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

def _package_of(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("").parts
    mapped = {"igae_robot": "igae_robot", "cli": "igae_robot.cli", "exporters": "igae_robot.exporters"}[rel[0]]
    return ".".join([mapped, *rel[1:-1]])


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved, folders mapped as installed)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(path).split(".")
                base = ".".join(base[: len(base) - node.level + 1])
                names.update(f"{base}.{node.module}" if node.module else f"{base}.{a.name}" for a in node.names)
            elif node.module:
                names.add(node.module)
    return names


def _sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def test_core_never_imports_exporters_or_cli():
    for path in _sources("igae_robot"):
        bad = {n for n in _imports(path) if n.startswith(("igae_robot.exporters", "igae_robot.cli", "cli", "exporters"))}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_exporters_never_import_torch_directly():
    for path in _sources("exporters"):
        bad = {n for n in _imports(path) if n.split(".")[0] == "torch"}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_importing_every_exporter_does_not_load_torch():
    """Transitively too: each exporters module, imported alone, leaves torch unloaded."""
    modules = [_package_of(p) + ("" if p.stem == "__init__" else f".{p.stem}") for p in _sources("exporters")]
    code = "import importlib, sys\n"
    code += "".join(f"importlib.import_module({m!r}); assert 'torch' not in sys.modules, {m!r}\n" for m in modules)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_wheel_installs_one_namespace(tmp_path):
    """cli/ and exporters/ go inside igae_robot; presets ship as data; no generic top-level names."""
    pytest.importorskip("setuptools")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("igae_robot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"igae_robot"}, top
    for needed in ("igae_robot/cli/main.py", "igae_robot/exporters/__init__.py", "igae_robot/presets/igae.toml",
                   "igae_robot/presets/static.toml", "igae_robot/presets/dynamic.toml"):
        assert needed in names, needed
