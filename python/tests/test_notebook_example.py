"""examples/notebook_analysis.py runs as shipped (shortened with --quick): the sweep,
the report's rows, the table and the plot."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cohort

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path(cohort.cohort_binary()).exists(), reason="the cohort CLI is not built")
def test_notebook_analysis_runs_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "sweep"
    cmd = [sys.executable, str(ROOT / "examples" / "notebook_analysis.py"), "--quick", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "20 cells ran" in first.stdout
    table = {line.split()[0]: line.split() for line in first.stdout.splitlines()
             if line.split() and line.split()[0] in ("random", "popularity", "greedy", "oracle")}
    assert set(table) == {"random", "popularity", "greedy", "oracle"}
    assert float(table["oracle"][2]) == 1.0 and float(table["random"][2]) == 0.0
    assert float(table["greedy"][2]) > 0.5
    assert (out / "agents.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "results.md").exists()
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "0 cells ran, 20 were already done" in again.stdout
