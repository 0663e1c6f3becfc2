"""The learning-rate protocol: the best finite rate per configuration, and what happens when
every rate of a configuration diverges."""

import math

import pytest

from trainability.pipeline.aggregate import aggregate
from trainability.pipeline.select import (
    read_selection,
    seeds_bundle,
    select_rates,
    write_selection,
)
from trainability.results import read_tables as load_tables
from trainability.train.config import BundleConfig, MemberConfig
from trainability.train.outputs import read_run
from trainability.train.trainer import train_bundle


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A sweep stage: tanh/normalized at two sane rates; relu/he_normal at two rates that
    overflow within a few updates."""
    config = BundleConfig(
        dataset="shapeset", depth=3, width=32, batch_size=10, updates=40, eval_every=20,
        monitor_every=40, monitor_size=50, histogram_bins=0, valid_size=200, test_size=200,
        device="cpu",
        members=(MemberConfig("tanh", "normalized", 0.01, 0),
                 MemberConfig("tanh", "normalized", 0.05, 0),
                 MemberConfig("relu", "he_normal", 1e8, 0),
                 MemberConfig("relu", "he_normal", 1e9, 0)))
    return train_bundle(config, tmp_path_factory.mktemp("select") / "sweep", progress=False)


def test_the_rate_with_the_lowest_final_validation_error_is_chosen(sweep):
    rows = select_rates(sweep).set_index(["activation", "initializer", "trick"])
    tanh = rows.loc[("tanh", "normalized", "none")]
    assert tanh["lr"] in (0.01, 0.05) and not tanh["all_diverged"]
    assert math.isfinite(tanh["valid_error"]) and tanh["diverged"] == []


def test_a_configuration_diverging_at_every_rate_keeps_its_smallest_rate_flagged(sweep, tmp_path):
    rows = select_rates(sweep).set_index(["activation", "initializer", "trick"])
    relu = rows.loc[("relu", "he_normal", "none")]
    assert relu["all_diverged"] and relu["lr"] == 1e8 and math.isnan(relu["valid_error"])
    assert relu["diverged"] == [1e8, 1e9]
    # The seeds stage can then run it (and records it diverged) instead of stopping the run.
    selection = write_selection(sweep, sweep.parent / "selection.json")
    rates = read_selection(selection)
    assert rates[("relu", "he_normal", "none")] == 1e8
    seeds = seeds_bundle(_seeds_job(sweep), rates)
    assert [m.lr for m in seeds.members if m.activation == "relu"] == [1e8]
    # In the tables its sweep member at that rate is the protocol's (diverged) network.
    runs = load_tables(aggregate([sweep], tmp_path / "tables"))["runs"]
    protocol = runs[runs.protocol]
    assert sorted(protocol.activation) == ["relu", "tanh"]
    assert protocol.loc[protocol.activation == "relu", "diverged_at"].notna().all()


def test_a_configuration_missing_from_the_selection_stops_the_seeds_stage(sweep):
    with pytest.raises(ValueError, match="no selected learning rate for relu/he_normal/none"):
        seeds_bundle(_seeds_job(sweep), {("tanh", "normalized", "none"): 0.01})


def test_aggregating_a_sweep_needs_its_selection(sweep, tmp_path):
    (sweep.parent / "selection.json").unlink(missing_ok=True)
    with pytest.raises(ValueError, match="no learning-rate selection .* trainability select"):
        aggregate([sweep], tmp_path / "tables")


def _seeds_job(sweep) -> dict:
    """The seeds stage of `sweep`'s two configurations as the plan holds it: learning rates
    null, selected on the sweep."""
    info, _ = read_run(sweep)
    members = [{"activation": a, "initializer": i, "lr": None, "seed": 1, "trick": "none"}
               for a, i in (("tanh", "normalized"), ("relu", "he_normal"))]
    return {"name": "x-seeds", "stage": "seeds", "bundle": info["config"] | {"members": members}}
