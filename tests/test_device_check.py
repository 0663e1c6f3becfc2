"""benchmarks/device_check.py runs anywhere in its dry mode (tiny shapes on the CPU), so the
script a GPU machine runs is known to work before a GPU is lent."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_device_check_runs_dry_and_writes_its_summary(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "device_check.py"),
                             str(tmp_path), "--dry"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "device_check.json").read_text())
    assert summary["dry"] is True and summary["tests"] == {"ran": False, "reason": "dry run"}
    assert [row["K"] for row in summary["plain"]][:1] == [1]
    assert all(row["member_updates_per_s"] > 0 and row["fraction_of_floor"] > 0
               for row in summary["plain"])
    assert {row["engine"] for row in summary["tricks"]} == {"eager"}  # no CUDA here
    markdown = (tmp_path / "device_check.md").read_text()
    assert "| K | engine | ms/update | member-updates/s | fraction of floor |" in markdown
    assert markdown.count("\n| ") >= len(summary["plain"]) + len(summary["tricks"])
