"""Extending the suite: a dataset added in one file runs through the whole pipeline.

(The other additions have their tests beside the code they extend: an activation and a figure
in tests/test_registries.py, a trick in tests/test_trick_units.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainability.results import read_tables

REPO = Path(__file__).resolve().parents[1]
PLUGINS = Path(__file__).resolve().parent / "plugins"


@pytest.mark.slow
def test_a_dataset_added_in_one_file_runs_through_the_pipeline_into_the_report(tmp_path):
    """tests/plugins/toy_dataset.py registers a dataset; one environment variable and one
    study bring it through planning, training, aggregation, the figures and the report."""
    study = {"toy_study": {"datasets": ["toy"], "activations": ["tanh"],
                           "initializers": ["normalized"], "depths": [2]}}
    overlay = tmp_path / "toy.yaml"
    # A small dataset says how many of its examples validate and test (the smoke preset's 500
    # would be most of it).
    sizes = {"valid_size": 100, "test_size": 100}
    overlay.write_text(yaml.safe_dump({"studies": study, "presets": {"smoke": sizes}}))
    env = {**os.environ, "TRAINABILITY_PLUGINS": "toy_dataset",
           "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(REPO / "config.yaml"), str(overlay),
         "--cores", "2", "--config", "scale=smoke", "datasets=[toy]", "run_studies=[toy_study]"],
        capture_output=True, text=True, timeout=3600, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    runs = read_tables(tmp_path / "results" / "tables")["runs"]
    assert set(runs["dataset"]) == {"toy"} and runs["protocol"].any()
    assert runs["final_test_error"].notna().all()
    report = (tmp_path / "reports" / "report.html").read_text()
    assert "Toy blobs" in report  # the dataset's label, from its registration
