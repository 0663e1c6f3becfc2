"""The signal-propagation section: measurement at init beside the theory, the phase diagram,
the isometry comparison, claims T1-T5 and their figures (small settings: the module
constants are monkeypatched down, so each test runs in seconds)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trainability.analysis import isometry, phase_diagram, signal_at_init, signal_claims
from trainability.analysis.claims import evaluate_claims
from trainability.analysis.ledger import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from trainability.analysis.mean_field import critical_sw2, signal_propagation
from trainability.figures import FIGURES, figures_in, render_figures


@pytest.fixture
def small(monkeypatch):
    """Networks at init and spectra small enough for a test."""
    monkeypatch.setattr(signal_at_init, "WIDTH", 64)
    monkeypatch.setattr(signal_at_init, "DEPTH", 6)
    monkeypatch.setattr(signal_at_init, "EXAMPLES", 40)
    monkeypatch.setattr(isometry, "DEPTHS", (3, 12))
    monkeypatch.setattr(isometry, "WIDTH", 40)
    monkeypatch.setattr(isometry, "NETS", 2)


# ---- measurement at init -----------------------------------------------------------------------
def test_every_activation_and_initializer_is_measured_beside_its_predictions(small):
    table = signal_at_init.at_init()
    activations = set(table["activation"])
    assert {"tanh", "relu", "sigmoid", "identity", "maxout:2", "prelu", "rrelu"} <= activations
    assert set(table["initializer"]) >= {"standard", "normalized", "he_normal", "orthogonal"}
    assert set(table["layer"]) == set(range(1, 7))
    assert table["measured"].gt(0).all()
    # the mean field says nothing for maxout, PReLU and RReLU, and says why
    unsupported = table[table["activation"].isin(["maxout:2", "prelu", "rrelu"])]
    assert unsupported["mean_field"].isna().all()
    assert unsupported["no_prediction"].str.len().gt(10).all()
    assert table[table["activation"] == "tanh"]["mean_field"].notna().all()


def test_an_orthogonal_linear_net_matches_both_theories_exactly(small):
    """Orthogonal square layers preserve norms exactly: the measured activation variance of a
    linear net equals the prediction (up to the first layer's 1024 -> 64 projection and the
    sample mean)."""
    table = signal_at_init.at_init()
    rows = table[(table["activation"] == "identity") & (table["initializer"] == "orthogonal")
                 & (table["quantity"] == "activation") & (table["layer"] >= 2)]
    first = rows[rows["layer"] == 2]["measured"].iloc[0]
    # layer to layer the variance of a norm-preserving linear map stays put (centring aside)
    assert np.allclose(rows["measured"], first, rtol=0.05)
    errors = signal_at_init.relative_errors(rows)
    assert errors["error"].max() < 0.2
    assert np.allclose(rows["mean_field"], rows["linear"], rtol=1e-6)


def test_the_measurement_is_what_the_monitor_records(small):
    """The at-init measurement and the training monitor agree on one network."""
    import torch

    from trainability.nets.mlp import BundledMLP
    from trainability.train.monitor import Monitor

    x, y = signal_at_init.inputs(30)
    measured = signal_at_init.measure("tanh", ["normalized"], 32, 4, x, y)
    net = BundledMLP.initialize(x.shape[1], int(y.max()) + 1, 4, 32, ["tanh"], ["normalized"],
                                [signal_at_init.SEED])
    monitor = Monitor(x, y, bins=0, jacobian_examples=0)
    monitor.record(net, 0, with_jacobian=False)
    stats = pd.DataFrame(monitor.records.stats)
    for quantity in ("activation", "backprop_grad"):
        ours = measured[measured["quantity"] == quantity].sort_values("layer")["measured"]
        theirs = stats[(stats["quantity"] == quantity) & (stats["stat"] == "std")]
        np.testing.assert_allclose(ours.to_numpy(), theirs.sort_values("layer")["value"],
                                   rtol=1e-5)
    del torch


def test_input_moments_keep_the_distribution_in_quantiles():
    import torch

    x = torch.rand(500, 100) * torch.linspace(0.1, 1.0, 500).unsqueeze(1)
    moments = signal_at_init.input_moments(x, points=16)
    exact = (x.double() ** 2).mean(dim=1).numpy()
    assert len(moments) == 16 and np.all(np.diff(moments) >= 0)
    assert moments.mean() == pytest.approx(exact.mean(), rel=0.02)
    assert len(signal_at_init.input_moments(x[:10], points=16)) == 10  # fewer: all of them


# ---- the phase diagram ---------------------------------------------------------------------
def _phase_tables(trained_within: bool = True) -> dict[str, pd.DataFrame]:
    """Fabricated runs of the signal budget: tanh over sigma_w^2 at depths 10 and 100; a net
    trains (low training error) when within 6 xi_c, or the opposite if not trained_within."""
    rows = []
    for member, (sw2, depth) in enumerate((s, d) for s in (0.5, 1.0, 1.5, 3.0)
                                          for d in (10, 100)):
        xi_c = float(signal_propagation("tanh", sw2, 0.0)["xi_c"].iloc[0])
        within = depth <= phase_diagram.XI_MULTIPLE * xi_c
        good = within if trained_within else not within
        error = 0.05 if good else 0.82
        rows.append({"run": f"shapeset-d{depth}-w128-signal-sweep", "stage": "sweep",
                     "member": member, "dataset": "shapeset", "depth": depth, "width": 128,
                     "batch_size": 10, "train_size": pd.NA, "budget": "signal",
                     "inputs": "raw", "data_seed": 0, "activation": "tanh",
                     "initializer": f"gaussian:sw2={sw2:g}", "lr": 0.01, "init_seed": 0,
                     "trick": "none", "diverged_at": pd.NA, "best_update": pd.NA,
                     "final_test_error": error, "final_train_error": error,
                     "final_train_loss": 1.0, "final_valid_error": error,
                     "best_valid_error": error, "protocol": True, "updates": 2000})
    return {"runs": pd.DataFrame(rows)}


def test_phase_points_read_sigmas_from_the_initializer_spec():
    points = phase_diagram.phase_points(_phase_tables())
    assert sorted(points["sw2"].unique()) == pytest.approx([0.5, 1.0, 1.5, 3.0])
    assert (points["sb2"] == 0).all()
    critical = points[np.isclose(points["sw2"], 1.0)]
    assert np.isinf(critical["xi_c"]).all() and critical["within"].all()  # chi_1 = 1
    ordered = points[np.isclose(points["sw2"], 0.5)]
    assert ordered["chi1"].iloc[0] == pytest.approx(0.5, rel=1e-6)  # sigma_w^2 E[1] at q* = 0
    assert not ordered[ordered["depth"] == 100]["within"].any()


def test_t2_follows_the_networks_not_the_theory():
    tables = _phase_tables(trained_within=True)
    (verdict,) = evaluate_claims(tables, ids=["T2"], strict=True)
    assert verdict.verdict in (SUPPORTED, INCONCLUSIVE)  # few networks: p may not reach 0.05
    assert verdict.numbers["trained_within"] == 1.0 and verdict.numbers["trained_beyond"] == 0
    (opposite,) = evaluate_claims(_phase_tables(trained_within=False), ids=["T2"], strict=True)
    assert opposite.verdict == NOT_SUPPORTED
    (absent,) = evaluate_claims({"runs": tables["runs"].iloc[:0]}, ids=["T2"], strict=True)
    assert absent.verdict == INCONCLUSIVE


def test_the_depth_scale_test_is_fisher_exact():
    points = pd.DataFrame({"within": [True] * 6 + [False] * 6,
                           "trained": [True] * 6 + [False] * 6})
    result = phase_diagram.depth_scale_test(points)
    assert result["table"] == [[6, 0], [0, 6]]
    assert result["p"] == pytest.approx(1 / math.comb(12, 6))


def test_boundary_draws_the_critical_line_of_each_bias_variance():
    lines, critical = phase_diagram.boundary("tanh", [0.0, 0.05], np.linspace(0.5, 4, 8))
    assert critical[0.0] == pytest.approx(1.0, abs=1e-3)
    assert critical[0.05] == pytest.approx(float(critical_sw2("tanh", [0.05])[0]))
    assert critical[0.05] > 1.0
    assert set(lines["sb2"]) == {0.0, 0.05} and (lines["depth_limit"] > 0).all()


# ---- isometry ----------------------------------------------------------------------------------
def test_isometry_summary_separates_orthogonal_from_gaussian(small):
    summary = isometry.summary(isometry.spectra()).set_index(["label", "depth"])
    deep = max(isometry.DEPTHS)
    assert summary.loc[("linear, orthogonal", deep), "near_one"] == 1.0
    assert summary.loc[("linear, orthogonal", deep), "variance"] < 1e-20
    assert (summary.loc[("tanh, orthogonal, critical", deep), "near_one"]
            > summary.loc[("tanh, Gaussian, critical", deep), "near_one"])
    assert summary.loc[("linear, Gaussian", deep), "predicted_variance"] == pytest.approx(deep)


def test_t3_is_judged_on_the_sampled_spectra(small, monkeypatch):
    (verdict,) = evaluate_claims({}, ids=["T3"], strict=True)
    assert verdict.verdict == SUPPORTED, verdict.evidence
    # A band so wide that every spectrum is "near 1": the Gaussian ones are no longer spread.
    monkeypatch.setattr(isometry, "BAND", 1e40)
    (wide,) = evaluate_claims({}, ids=["T3"], strict=True)
    assert wide.verdict == NOT_SUPPORTED


def test_t1_reports_the_share_of_networks_within_tolerance(small, monkeypatch):
    (verdict,) = evaluate_claims({}, ids=["T1"], strict=True)
    shares = verdict.numbers["share_within"]
    assert set(shares) == {"activation", "backprop_grad"}
    expected = SUPPORTED if min(shares.values()) >= signal_claims.NETWORK_SHARE \
        else NOT_SUPPORTED
    assert verdict.verdict == expected
    monkeypatch.setattr(signal_claims, "VARIANCE_TOLERANCE", 1e9)
    (loose,) = evaluate_claims({}, ids=["T1"], strict=True)
    assert loose.verdict == SUPPORTED


# ---- figures -----------------------------------------------------------------------------------
def test_signal_figures_render(small, tmp_path):
    tables_dir = tmp_path / "tables"
    tables_dir.mkdir()
    names = figures_in("signal")
    assert all(FIGURES[n].claim_source == "theory" for n in names)
    no_tables = [n for n in names if not FIGURES[n].needs_tables]
    rendered = render_figures(None, tmp_path / "figures", no_tables)
    for name in no_tables:
        assert not isinstance(rendered[name], str), rendered[name]
        assert rendered[name][0].stat().st_size > 5_000


def test_phase_diagram_figure_draws_fabricated_points(tmp_path):
    from trainability.figures.signal import phase_diagram_figure

    fig = phase_diagram_figure(_phase_tables())
    (ax, *_) = fig.axes
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == 8
    assert any("χ1 = 1" in str(line.get_label()) for line in ax.lines)


# ---- residual scaling (T4) ---------------------------------------------------------------------
def _residual_tables(fixup_trains: bool = True, unscaled_trains: bool = False):
    base = _phase_tables()["runs"].iloc[0].to_dict()
    rows = []
    outcomes = {"none": False, "residual:block=2": unscaled_trains,
                "residual:block=2+fixup": fixup_trains, "residual:block=2+rezero": True}
    for member, (trick, depth) in enumerate((t, d) for t in outcomes for d in (50, 100)):
        error = 0.1 if outcomes[trick] else 0.85
        rows.append({**base, "member": member, "depth": depth, "trick": trick,
                     "budget": "signal_residual",
                     "activation": "relu", "initializer": "he_normal",
                     "run": f"shapeset-d{depth}-w128-signal-sweep",
                     "final_train_error": error, "final_test_error": error})
    return {"runs": pd.DataFrame(rows)}


@pytest.mark.parametrize(("fixup", "unscaled", "expected"), [
    (True, False, SUPPORTED), (False, False, NOT_SUPPORTED), (True, True, INCONCLUSIVE)])
def test_t4_needs_fixup_and_rezero_to_train_where_the_unscaled_skip_does_not(
        fixup, unscaled, expected):
    (verdict,) = evaluate_claims(_residual_tables(fixup, unscaled), ids=["T4"], strict=True)
    assert verdict.verdict == expected, verdict.evidence
    (absent,) = evaluate_claims(_phase_tables(), ids=["T4"], strict=True)
    assert absent.verdict == INCONCLUSIVE


def test_residual_scaling_figure_has_a_panel_per_depth():
    from trainability.figures.signal import residual_scaling

    fig = residual_scaling(_residual_tables())
    panels = [ax for ax in fig.axes if ax.patches]
    assert len(panels) == 2 and all(len(ax.patches) == 4 for ax in panels)
    # every arm is drawn; the claim reads its own subset
    tables = _residual_tables()
    extra = tables["runs"].iloc[:1].assign(trick="residual:block=2,scale=invsqrt", member=99)
    tables = {"runs": pd.concat([tables["runs"], extra], ignore_index=True)}
    fig = residual_scaling(tables)
    assert sum(len(ax.patches) for ax in fig.axes) == 9


# ---- the report's section ----------------------------------------------------------------------
def test_the_report_section_summarizes_the_signal_budget_and_the_t_claims():
    from trainability.report.signal import signal_context
    from trainability.report.tricks import tricks_context

    runs = _phase_tables()["runs"].assign(wall_seconds=60.0, inputs="raw")
    claims = [{"id": i, "claim": i, "badge": {}} for i in ("P1", "T2", "S3", "T1", "T10")]
    context = signal_context(runs, claims)
    assert [c["id"] for c in context["claims"]] == ["T1", "T2", "T10"]
    trained = context["trained"]
    assert trained["networks"] == 8 and trained["depths"] == "10, 100"
    assert trained["wall_minutes"] == "2.0"  # two jobs of 60 s
    # the signal budget's networks are this section's, not the trick studies'
    assert tricks_context(runs, claims, None)["studies"] == []
    assert signal_context(runs.iloc[:0], claims)["trained"] is None
