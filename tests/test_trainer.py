"""The trainer: it learns, bundles equal solo runs, divergence is contained, outputs are whole."""

import json
import math

import numpy as np
import pytest
import torch

from trainability import SCHEMA_VERSION
from trainability.train.config import BundleConfig, ConfigError, MemberConfig
from trainability.train.data import ShuffledSource
from trainability.train.outputs import RUN_FILES, read_run
from trainability.train.trainer import train_bundle


def curve(tables, member, metric):
    frame = tables["curves"]
    rows = frame[(frame.member == member) & (frame.metric == metric)].sort_values("update")
    return rows["value"].to_numpy()


def test_loss_falls_on_shapeset_within_a_few_hundred_updates(tmp_path, small_bundle):
    config = small_bundle.replace(
        depth=2, width=128, updates=800, eval_every=200, monitor_every=0, valid_size=1000,
        members=(MemberConfig("tanh", "normalized", 0.02, 0),))
    _, tables = read_run(train_bundle(config, tmp_path / "run", progress=False))
    loss = curve(tables, 0, "train_loss")
    assert loss[0] > 2.15  # about ln 9 = 2.20 at initialization
    # Below the entropy of the class prior (2.11 nats): it learned more than the prior.
    assert loss[-1] < 2.09 and loss[-1] < loss[0] - 0.1, loss
    # Better than always answering the majority class (83.3% error).
    assert curve(tables, 0, "valid_error")[-1] < 0.81


def test_a_member_trained_in_a_bundle_equals_the_member_trained_alone(tmp_path, small_bundle):
    members = (MemberConfig("tanh", "standard", 0.05, 0),
               MemberConfig("sigmoid", "normalized", 0.2, 1),
               MemberConfig("softsign", "normalized", 0.1, 2))
    bundle = small_bundle.replace(members=members)
    _, together = read_run(train_bundle(bundle, tmp_path / "bundle", progress=False))
    for index, member in enumerate(members):
        _, alone = read_run(train_bundle(bundle.replace(members=(member,)),
                                         tmp_path / f"solo{index}", progress=False))
        for metric in ("train_loss", "valid_error", "test_error"):
            np.testing.assert_allclose(curve(together, index, metric), curve(alone, 0, metric),
                                       rtol=1e-4, atol=2 / bundle.valid_size)
        stats_b = together["layer_stats"].query("member == @index").drop(columns="member")
        stats_a = alone["layer_stats"].drop(columns="member")
        keys = ["update", "layer", "quantity", "stat"]
        merged = stats_b.merge(stats_a, on=keys, suffixes=("_bundle", "_solo"))
        assert len(merged) == len(stats_a) > 0
        # Bitwise equality is not promised (BLAS kernels may differ with K); counted
        # fractions may move by a unit-example crossing a threshold, 1 / (examples x units).
        counted = merged.stat.str.endswith("_fraction")
        unit = 2 / (bundle.monitor_size * bundle.width)
        np.testing.assert_allclose(merged.value_bundle[counted], merged.value_solo[counted],
                                   rtol=0, atol=unit)
        np.testing.assert_allclose(merged.value_bundle[~counted], merged.value_solo[~counted],
                                   rtol=2e-3, atol=1e-6)


def test_a_huge_learning_rate_diverges_one_member_and_not_the_others(tmp_path, small_bundle):
    members = (MemberConfig("relu", "he_normal", 0.01, 0),
               MemberConfig("relu", "he_normal", 1e8, 0),
               MemberConfig("tanh", "normalized", 0.05, 0))
    config = small_bundle.replace(members=members, updates=40, eval_every=10)
    info, tables = read_run(train_bundle(config, tmp_path / "run", progress=False))
    diverged = [m["diverged_at"] for m in info["members"]]
    assert diverged[0] is None and diverged[2] is None
    assert isinstance(diverged[1], int) and 1 <= diverged[1] <= 40
    for healthy in (0, 2):
        assert np.isfinite(curve(tables, healthy, "valid_error")).all()
        assert np.isfinite(curve(tables, healthy, "train_loss")).all()
    after = tables["curves"].query("member == 1 and update >= @diverged[1]")
    assert after["value"].isna().all() and len(after) > 0  # shown as diverged, not as numbers
    assert (tables["curves"].query("member == 1")["diverged_at"] == diverged[1]).all()


def test_run_folder_contents_and_provenance(tmp_path, small_bundle):
    out = train_bundle(small_bundle, tmp_path / "run", progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    assert not list(tmp_path.glob(".*partial*"))
    info = json.loads((out / "run.json").read_text())
    assert info["schema_version"] == SCHEMA_VERSION
    assert info["config"]["members"][1]["initializer"] == "normalized"
    provenance = info["provenance"]
    assert provenance["versions"]["torch"].startswith("2.13.0")
    assert provenance["git_commit"] and provenance["device"] == "cpu"
    assert info["wall_seconds"] > 0
    _, tables = read_run(out)
    for name, frame in tables.items():
        for column in ("member", "activation", "initializer", "lr", "init_seed", "dataset",
                       "depth", "width", "batch_size", "data_seed"):
            assert column in frame.columns, (name, column)
    stats = tables["layer_stats"]
    monitored = sorted(stats["update"].unique())
    assert monitored == [0, 30, 60]
    jacobian = stats[stats.quantity == "jacobian"]
    assert sorted(jacobian["update"].unique()) == [0, 60]  # init and end only by default
    assert sorted(jacobian.layer.unique()) == [2, 3]
    histograms = tables["histograms"]
    sums = histograms.groupby(["member", "update", "layer", "quantity"]).fraction.sum()
    assert np.allclose(sums, 1.0)
    evaluated = sorted(tables["curves"]["update"].unique())
    assert evaluated == [0, 20, 40, 60]
    meta = __import__("pyarrow.parquet", fromlist=["x"]).read_schema(out / "curves.parquet")
    assert json.loads(meta.metadata[b"trainability"])["schema_version"] == SCHEMA_VERSION


def test_standard_init_shrinks_backprop_gradients_toward_the_input(tmp_path):
    """The paper's Fig. 7 effect at initialization, from the monitor's tables (P5)."""
    config = BundleConfig(dataset="shapeset", depth=5, width=200, updates=1, eval_every=1,
                          monitor_size=100, valid_size=100, test_size=100, device="cpu",
                          members=(MemberConfig("tanh", "standard", 0.01, 0),
                                   MemberConfig("tanh", "normalized", 0.01, 0)))
    _, tables = read_run(train_bundle(config, tmp_path / "run", progress=False))
    stats = tables["layer_stats"].query("update == 0 and quantity == 'backprop_grad' "
                                        "and stat == 'std'")
    standard = stats.query("member == 0").sort_values("layer")["value"].to_numpy()
    normalized = stats.query("member == 1").sort_values("layer")["value"].to_numpy()
    assert (np.diff(standard) > 0).all()  # smaller toward layer 1
    assert standard[-1] / standard[0] > 2 * normalized[-1] / normalized[0]


def test_existing_output_is_refused_and_kept(tmp_path, small_bundle):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    with pytest.raises(Exception, match="already exists"):
        train_bundle(small_bundle, out, progress=False)
    assert (out / "precious.txt").read_text() == "keep"


def test_shuffled_source_visits_every_example_once_per_epoch_and_resumes():
    x = torch.arange(25, dtype=torch.float32).view(25, 1)
    y = torch.arange(25)
    source = ShuffledSource(x, y, batch_size=4, seed=3)
    epoch = torch.cat([source.next_batch()[1] for _ in range(6)])  # 24 of 25: last dropped
    assert len(set(epoch.tolist())) == 24
    second = torch.cat([source.next_batch()[1] for _ in range(6)])
    assert not torch.equal(epoch, second)  # a new order each epoch
    resumed = ShuffledSource(x, y, batch_size=4, seed=3, position=4 * 6)
    assert torch.equal(torch.cat([resumed.next_batch()[1] for _ in range(6)]), second)
    again = ShuffledSource(x, y, batch_size=4, seed=3)
    assert torch.equal(torch.cat([again.next_batch()[1] for _ in range(6)]), epoch)


@pytest.mark.parametrize("changes,fragment", [
    ({"depth": 0}, "depth must be an integer >= 1"),
    ({"width": 0}, "width"),
    ({"batch_size": 0}, "batch_size"),
    ({"dataset": "imagenet"}, "dataset must be one of"),
    ({"members": (MemberConfig(lr=0.0),)}, "lr must be a finite number > 0"),
    ({"members": (MemberConfig(lr=-1.0),)}, "lr must be a finite number > 0"),
    ({"members": (MemberConfig(lr=float("inf")),)}, "lr must be a finite number > 0"),
    ({"members": (MemberConfig(lr=float("nan")),)}, "lr must be a finite number > 0"),
    ({"members": (MemberConfig(activation="swish"),)}, "valid names"),
    ({"members": (MemberConfig(initializer="glorot"),)}, "valid names"),
    ({"members": ()}, "at least one member"),
])
def test_bad_configs_fail_with_one_line(small_bundle, changes, fragment):
    with pytest.raises(ConfigError, match=fragment) as error:
        small_bundle.replace(**changes)
    assert "\n" not in str(error.value)


def test_config_round_trips_through_yaml(tmp_path, small_bundle):
    import yaml

    path = tmp_path / "bundle.yaml"
    path.write_text(yaml.safe_dump(small_bundle.to_dict()))
    assert BundleConfig.from_yaml(path) == small_bundle
    path.write_text("depht: 5\n")
    with pytest.raises(ConfigError, match="unknown bundle setting.*depht"):
        BundleConfig.from_yaml(path)


def test_saturating_members_give_finite_statistics(tmp_path, small_bundle):
    """A saturating member never produces NaN statistics."""
    config = small_bundle.replace(members=(MemberConfig("sigmoid", "standard", 0.5, 0),))
    _, tables = read_run(train_bundle(config, tmp_path / "run", progress=False))
    stats = tables["layer_stats"]
    finite = stats[~stats.stat.isin(["dead_fraction", "negative_fraction"])]["value"]
    assert finite.notna().all()
    assert math.isnan(stats[stats.stat == "dead_fraction"]["value"].iloc[0])
