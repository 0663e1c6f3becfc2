"""The equivalent formulations of back-propagation: the same results to float rounding, the
machine's choice measured once and cached, and a resumed run keeps the one it started with."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trainability.nets import formulations
from trainability.train.config import BundleConfig, MemberConfig
from trainability.train.outputs import read_run
from trainability.train.trainer import train_bundle

CONFIG = BundleConfig(
    dataset="shapeset", depth=3, width=48, updates=60, eval_every=20, monitor_every=30,
    monitor_size=40, valid_size=200, test_size=200, histogram_bins=10, device="cpu",
    members=(MemberConfig("tanh", "standard", 0.05, 0), MemberConfig("relu", "he_normal", 0.02, 1),
             MemberConfig("softsign", "normalized", 0.1, 2)))


def test_every_formulation_trains_the_same_networks(tmp_path, monkeypatch):
    curves = {}
    for name in formulations.BACKWARD_INPUT:
        monkeypatch.setenv(formulations.FORMULATION_ENV, name)
        info, tables = read_run(train_bundle(CONFIG, tmp_path / name, progress=False))
        assert info["engine"]["formulation"] == name
        curves[name] = tables["curves"].sort_values(["member", "metric", "update"])["value"]
    first, *others = curves.values()
    for other in others:  # float rounding apart, one computation
        np.testing.assert_allclose(other.to_numpy(), first.to_numpy(), rtol=1e-4, atol=1e-3)


def test_the_choice_is_measured_once_per_machine_and_cached(tmp_path, monkeypatch):
    monkeypatch.delenv(formulations.FORMULATION_ENV, raising=False)
    monkeypatch.setenv(formulations.CACHE_ENV, str(tmp_path))
    calls = []
    real = formulations.measure
    monkeypatch.setattr(formulations, "measure", lambda: calls.append(1) or real(repeats=1))
    first = formulations.choose("cpu")
    assert first in formulations.BACKWARD_INPUT and calls == [1]
    assert formulations.choose("cpu") == first and calls == [1]  # from the cache
    cached = json.loads(formulations.cache_file().read_text())
    (entry,) = cached.values()
    assert entry["choice"] == first and set(entry["seconds"]) == set(formulations.BACKWARD_INPUT)
    assert entry["seconds"][first] == min(entry["seconds"].values())
    formulations.cache_file().write_text("not json")
    assert formulations.choose("cpu") in formulations.BACKWARD_INPUT and calls == [1, 1]


def test_a_pinned_or_cuda_choice_is_not_measured(monkeypatch):
    monkeypatch.setattr(formulations, "measure", lambda: pytest.fail("measured"))
    monkeypatch.setenv(formulations.FORMULATION_ENV, "w_gt")
    assert formulations.choose("cpu") == "w_gt"
    monkeypatch.setenv(formulations.FORMULATION_ENV, "fastest")
    with pytest.raises(ValueError, match="must be one of w_gt, g_wt"):
        formulations.choose("cpu")
    monkeypatch.delenv(formulations.FORMULATION_ENV)
    assert formulations.choose("cuda") == "g_wt"


def test_a_resumed_run_keeps_its_formulation(tmp_path, monkeypatch):
    from trainability.train import trainer

    monkeypatch.setenv(formulations.FORMULATION_ENV, "w_gt")
    real_save = trainer.checkpoints.save

    def save_then_stop(checkpoint, path):
        real_save(checkpoint, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.checkpoints, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train_bundle(CONFIG, tmp_path / "run", progress=False, checkpoint_every=20)
    monkeypatch.setattr(trainer.checkpoints, "save", real_save)
    monkeypatch.setenv(formulations.FORMULATION_ENV, "g_wt")  # the machine would now say
    info, _ = read_run(train_bundle(CONFIG, tmp_path / "run", progress=False,
                                    checkpoint_every=20))
    assert info["resumed_from_update"] == 20 and info["engine"]["formulation"] == "w_gt"
