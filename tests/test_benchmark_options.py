"""benchmarks/renderer.py and benchmarks/train.py run, on tiny sizes, with the options issue 17 added:
time-budgeted turns and interquartile ranges, --profile, --busy, the load lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from cpu_load import OthersCpu  # noqa: E402


def _run(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_renderer_table_has_medians_spreads_and_the_machine_load():
    out = _run(str(BENCH / "renderer.py"), "--device", "cpu", "--sizes", "6x5x8", "--threads", "1", "--rounds", "2",
               "--seconds", "0", "--fast-per-round", "2", "--allow-busy")
    assert "command: benchmarks/renderer.py" in out and "load average before" in out and "load average after" in out
    row = next(line for line in out.splitlines() if line.startswith("| 6x5x8x8 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert "[" in cells[1] and "(4, kernel" in cells[2]  # median [q1-q3] (2 rounds x 2 counted fast passes)
    assert "x [" in cells[3] and float(cells[5]) <= 1e-5 and float(cells[6]) <= 1e-5  # ratio [per-round quartiles]


def test_renderer_profile_prints_ops_and_phases():
    out = _run(str(BENCH / "renderer.py"), "--device", "cpu", "--sizes", "6x5x8", "--threads", "1", "--profile", "2",
               "--allow-busy")
    assert "| op (self CPU time) |" in out and "| phase |" in out
    assert "max over steps, forward" in out and "max over steps, backward" in out


def test_train_runs_each_variant_quiet_and_beside_a_busy_process(tmp_path):
    out = _run(str(BENCH / "train.py"), "--data", "digits", "--data-dir", "", "--limit", "120", "--epochs", "1",
               "--busy", "0,1", "--allow-busy", "--out", str(tmp_path / "runs"))
    rows = [line for line in out.splitlines() if line.startswith("| igae |")]
    assert [row.split("|")[5].strip() for row in rows] == ["0", "1"]
    assert "command: benchmarks/train.py" in out and "load average after" in out


def test_others_cpu_reads_the_machine():
    cores = OthersCpu().cores()
    if Path("/proc/stat").exists():
        assert cores is not None and cores[0] >= 0 and cores[1] >= 0
