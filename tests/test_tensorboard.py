"""The TensorBoard export, read back with TensorBoard's own reader and checked against the
tables: one run per network with its curves, layer statistics, histograms and hparams."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from trainability.export.tensorboard import run_name
from trainability.pipeline.aggregate import aggregate
from trainability.pipeline.select import write_selection
from trainability.results import read_tables
from trainability.train.config import BundleConfig, MemberConfig
from trainability.train.trainer import train_bundle


@pytest.fixture(scope="module")
def tables_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb")
    config = BundleConfig(
        dataset="shapeset", depth=2, width=16, updates=40, eval_every=20, monitor_every=20,
        monitor_size=30, valid_size=100, test_size=100, histogram_bins=6, device="cpu",
        members=(MemberConfig("tanh", "standard", 0.05, 0),
                 MemberConfig("relu", "he_normal", 0.05, 0, "adam")))
    sweep = train_bundle(config, root / "runs" / "shapeset-d2-w16" / "sweep", progress=False)
    write_selection(sweep, sweep.parent / "selection.json")
    return aggregate([sweep], root / "tables")


def test_every_network_is_a_tensorboard_run_holding_its_tables(tables_dir, tmp_path):
    out = tmp_path / "tb"
    result = subprocess.run([sys.executable, "-m", "trainability.cli", "export", "tensorboard",
                             str(tables_dir), str(out)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    tables = read_tables(tables_dir)
    runs = tables["runs"]
    assert len(runs) == 2
    for _, row in runs.iterrows():
        events = EventAccumulator(str(out / run_name(row)), size_guidance={"histograms": 0,
                                                                           "scalars": 0})
        events.Reload()
        def mine(name, row=row):
            frame = tables[name]
            return frame[(frame["run"] == row["run"]) & (frame["member"] == row["member"])]

        curves = mine("curves")
        for metric, rows in curves.groupby("metric"):
            logged = events.Scalars(f"curves/{metric}")
            assert [e.step for e in logged] == rows["update"].tolist()
            np.testing.assert_allclose([e.value for e in logged], rows["value"], rtol=1e-6)
        assert [e.value for e in events.Scalars("curves/diverged")] == [0.0]
        stats = mine("layer_stats")
        std = stats[(stats.quantity == "activation") & (stats.stat == "std")
                    & (stats.layer == 2)]
        logged = events.Scalars("layers/activation/std/layer2")
        np.testing.assert_allclose([e.value for e in logged], std["value"], rtol=1e-6)
        histograms = mine("histograms")
        for (quantity, layer), rows in histograms.groupby(["quantity", "layer"]):
            logged = events.Histograms(f"{quantity}/layer{layer}")
            assert [e.step for e in logged] == sorted(rows["update"].unique().tolist())
            first = rows[rows["update"] == rows["update"].min()].sort_values("bin")
            value = logged[0].histogram_value
            assert value.num == first["n"].iloc[0] and sum(value.bucket) == value.num
            assert list(value.bucket) == first["count"].tolist()
            assert value.min == pytest.approx(first["min"].iloc[0])
        content = events.PluginTagToContent("hparams")  # the HParams dashboard's session data
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]).session_start_info.hparams
        assert start["activation"].string_value == row["activation"]
        assert start["trick"].string_value == row["trick"]
        assert start["depth"].number_value == row["depth"]
