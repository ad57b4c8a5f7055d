"""`make bench` stays runnable: a --quick pass of every scenario (timings are not checked here)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_run():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| scenario |" in done.stdout
    rows = json.loads((ROOT / "benchmarks" / "results" / "quick.json").read_text())["rows"]
    assert {row["scenario"][0] for row in rows} >= set("12345678")
