"""Figures: every registered figure renders from synthetic tables; missing data is named;
legend order, time axis and the cost surface behave as documented."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_tables
from readback import as_read
from trainability.analysis.common import EPOCH_UPDATES
from trainability.analysis.cost_surface import (
    SurfaceSetup,
    compare_plateaus,
    cost_surface,
    plateau_fraction,
    plateau_fractions,
)
from trainability.analysis.selection import Config, select_network
from trainability.figures import (
    FIGURES,
    MissingData,
    errors,
    figures_in,
    gradients,
    render_figure,
    render_figures,
    saturation,
    savefig,
)
from trainability.figures.style import layer_color, time_axis

#: The paper's figures (the trick axis has its own tests: tests/test_trick_figures.py).
TRICK_FIGURES = figures_in("tricks")
#: Drawn from the theory and networks at init (tests/test_signal.py renders them, small).
SIGNAL_FIGURES = figures_in("signal")
PAPER_FIGURES = [name for name in FIGURES if name not in TRICK_FIGURES + SIGNAL_FIGURES]

UPDATES = 40_000  # two "epochs" of 20k updates
MONITOR = (0, 10_000, 20_000, 30_000, 40_000)
WIDTH = 16
BINS = 20

#: (dataset, activation, initializer, depth) -> final test error of its protocol network.
#: Deliberately NOT in the paper's order, so that fig11's legend must be sorted.
FINAL_ERRORS = {
    ("shapeset", "sigmoid", "standard", 5): 0.30,
    ("shapeset", "sigmoid", "standard", 4): 0.50,
    ("shapeset", "tanh", "standard", 5): 0.20,
    ("shapeset", "softsign", "standard", 5): 0.70,
    ("shapeset", "softsign", "normalized", 5): 0.10,
    ("shapeset", "tanh", "normalized", 5): 0.60,
    **{("shapeset", act, init, d): 0.4 + 0.02 * d
       for act in ("tanh", "softsign") for init in ("standard", "normalized") for d in (1, 2, 3)},
    ("mnist", "sigmoid", "standard", 5): 0.05,
    ("mnist", "tanh", "standard", 5): 0.03,
    ("mnist", "tanh", "normalized", 5): 0.02,
    ("mnist", "softsign", "standard", 5): 0.025,
    ("mnist", "softsign", "normalized", 5): 0.021,
}


def _network_rows(dataset, activation, initializer, depth, member, run, protocol, final,
                  init_seed=0, lr=0.1, trick="none"):
    """Rows of the four tables for one fabricated network with known values."""
    config = dict(dataset=dataset, depth=depth, width=WIDTH, batch_size=10, data_seed=0,
                  activation=activation, initializer=initializer, lr=lr, init_seed=init_seed,
                  diverged_at=pd.NA, trick=trick)
    keys = dict(run=run, stage=run.rsplit("-", 1)[1], member=member)
    runs = {**config, **keys, "final_test_error": final, "final_train_loss": final,
            "final_valid_error": final, "best_valid_error": final, "protocol": protocol,
            "updates": UPDATES, "eval_every": 10_000, "wall_seconds": 1.0,
            "git_commit": "0" * 40, "device": "cpu"}
    curves = [{**config, **keys, "update": u, "metric": metric,
               "value": final + (0.9 - final) * math.exp(-u / 10_000)}
              for u in MONITOR for metric in ("train_loss", "valid_error", "test_error")]
    normalized = initializer == "normalized"
    stats, hists = [], []
    for u in MONITOR:
        for layer in range(1, depth + 1):
            # Known values: std shrinks with the layer index under standard init.
            spread = 0.5 if normalized else 0.5 / layer
            values = {
                ("activation", "mean"): 0.01 * layer, ("activation", "std"): spread,
                ("activation", "p02"): -2 * spread, ("activation", "p98"): 2 * spread,
                ("activation", "saturated_fraction"): 0.0,
                ("activation", "dead_fraction"): float("nan"),
                ("backprop_grad", "mean"): 0.0, ("backprop_grad", "std"): 0.01 * layer,
                ("backprop_grad", "p02"): -0.02, ("backprop_grad", "p98"): 0.02,
                ("weight_grad", "mean"): 0.0, ("weight_grad", "std"): 0.001 * layer,
            }
            if u == 0 and layer >= 2:
                values[("jacobian", "mean_singular_value")] = 0.8 if normalized else 0.5
            stats += [{**config, **keys, "update": u, "layer": layer, "quantity": q, "stat": s,
                       "value": v} for (q, s), v in values.items()]
            for quantity, half in (("activation", 1.0), ("backprop_grad", 0.1),
                                   ("weight_grad", 0.01)):
                edges = np.linspace(-half, half, BINS + 1)
                centres = (edges[:-1] + edges[1:]) / 2
                weights = np.exp(-0.5 * (centres / (half * spread)) ** 2)
                weights /= weights.sum()
                hists += [{**config, **keys, "update": u, "layer": layer, "quantity": quantity,
                           "bin": b, "bin_left": edges[b], "bin_right": edges[b + 1],
                           "fraction": weights[b]} for b in range(BINS)]
    return runs, curves, stats, hists


def fabricate_tables(keep=lambda key: True) -> dict[str, pd.DataFrame]:
    """Synthetic runs/curves/layer_stats/histograms for the configurations in FINAL_ERRORS
    (those `keep` accepts), plus decoys the selection rule must skip: a non-protocol member
    with a better error and a protocol member with a larger init_seed."""
    collected = {"runs": [], "curves": [], "layer_stats": [], "histograms": []}
    members: dict[str, int] = {}

    def add(key, final, protocol=True, init_seed=0, lr=0.1):
        dataset, activation, initializer, depth = key
        run = f"{dataset}-d{depth}-w{WIDTH}-sweep"
        member = members.get(run, 0)
        members[run] = member + 1
        runs, curves, stats, hists = _network_rows(
            dataset, activation, initializer, depth, member, run, protocol, final,
            init_seed=init_seed, lr=lr)
        collected["runs"].append(runs)
        collected["curves"] += curves
        collected["layer_stats"] += stats
        collected["histograms"] += hists

    for key, final in FINAL_ERRORS.items():
        if keep(key):
            add(key, final)
    decoy = ("shapeset", "tanh", "normalized", 5)
    if keep(decoy):
        add(decoy, 0.01, protocol=False, lr=1.0)  # better error, but not the protocol's lr
        add(decoy, 0.02, protocol=True, init_seed=7)  # protocol, but a later seed
    return as_read({name: pd.DataFrame(rows) for name, rows in collected.items()})



@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return fabricate_tables()


@pytest.fixture(scope="module")
def tables_dir(tmp_path_factory, tables) -> Path:
    return write_tables(tables, tmp_path_factory.mktemp("tables"))


@pytest.fixture(scope="module")
def rendered(tables_dir, tmp_path_factory) -> dict:
    return render_figures(tables_dir, tmp_path_factory.mktemp("figures"),
                          [name for name in FIGURES if name not in SIGNAL_FIGURES])


# ---- rendering --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PAPER_FIGURES)
def test_every_figure_renders_png_and_svg(rendered, name):
    result = rendered[name]
    assert not isinstance(result, str), f"{name} not drawn: {result}"
    png, svg = result
    assert png.name == f"{name}.png" and svg.name == f"{name}.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert "<svg" in svg.read_text()[:2000]
    leftovers = [p for p in png.parent.iterdir() if ".partial-" in p.name]
    assert not leftovers


def test_registry_specs_are_complete():
    ledger = ({f"P{i}" for i in range(1, 13)} | {f"S{i}" for i in range(1, 15)}
              | {f"T{i}" for i in range(1, 6)})
    assert set(FIGURES) == {*(f"fig{i}" for i in range(1, 13)), "jacobian", "depth",
                            *TRICK_FIGURES, *SIGNAL_FIGURES}
    assert set(SIGNAL_FIGURES) >= {"signal_variance", "signal_gradients", "jacobian_spectra",
                                   "phase_diagram"}
    for name, spec in FIGURES.items():
        assert spec.name == name and spec.caption.endswith(".") and spec.claim
        assert set(spec.claim_ids) <= ledger
    assert FIGURES["fig2"].claim_ids == ("P1",)
    assert FIGURES["fig5"].claim_ids == ("P9",)
    assert FIGURES["jacobian"].claim_ids == ("P8",)


def test_trick_figures_without_trick_rows_give_a_reason(rendered):
    # These tables predate the trick axis: the figures that need it say why they are absent.
    for name in TRICK_FIGURES:
        if FIGURES[name].needs_tables:
            assert isinstance(rendered[name], str) and rendered[name].startswith("needs")
        else:
            assert [p.suffix for p in rendered[name]] == [".png", ".svg"]


def test_missing_configuration_is_named(tables, tmp_path):
    without = fabricate_tables(keep=lambda key: key[1:] != ("tanh", "normalized", 5))
    with pytest.raises(MissingData, match=r"depth 5, tanh with normalized init"):
        gradients.fig6(without)
    with pytest.raises(MissingData, match=r"tanh with normalized init"):
        gradients.fig_jacobian(without)
    # render_figures records the reason instead of failing; other figures still render.
    write_tables(without, tmp_path)
    results = render_figures(tmp_path, tmp_path / "out", ["fig6", "fig3"])
    assert isinstance(results["fig6"], str) and "normalized" in results["fig6"]
    assert isinstance(results["fig3"], list)
    with pytest.raises(MissingData):
        render_figure("fig10", tmp_path, tmp_path / "out" / "fig10")
    with pytest.raises(ValueError, match="unknown figure"):
        render_figures(tmp_path, tmp_path / "out", ["fig99"])


def test_sigmoid_depth4_required_depth5_optional():
    only4 = fabricate_tables(keep=lambda key: key[:2] == ("shapeset", "sigmoid")
                             and key[3] == 4)
    assert len(saturation.fig2(only4).axes) == 1
    assert len(saturation.fig2(fabricate_tables()).axes) == 2
    with pytest.raises(MissingData, match="depth 4, sigmoid with standard init"):
        saturation.fig2(fabricate_tables(keep=lambda key: key[3] == 5))


def test_missing_tables_directory_is_a_reason(tmp_path):
    results = render_figures(tmp_path / "absent", tmp_path / "out", ["fig2", "fig5"])
    assert isinstance(results["fig2"], str)
    assert [p.suffix for p in results["fig5"]] == [".png", ".svg"]  # needs no tables


# ---- selection and content --------------------------------------------------------------------
def test_select_network_uses_protocol_and_smallest_seed(tables):
    net = select_network(tables, Config("tanh", "normalized", 5))
    assert bool(net["protocol"]) and net["init_seed"] == 0
    assert net["final_test_error"] == pytest.approx(0.60)


def _legend_labels(fig) -> list[str]:
    (ax,) = fig.axes
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_fig11_legend_orders_by_decreasing_final_error(tables):
    labels = _legend_labels(errors.fig11(tables))
    names = {"Sigmoid depth 5": ("sigmoid", "standard", 5),
             "Sigmoid depth 4": ("sigmoid", "standard", 4), "Tanh": ("tanh", "standard", 5),
             "Softsign": ("softsign", "standard", 5),
             "Softsign N": ("softsign", "normalized", 5), "Tanh N": ("tanh", "normalized", 5)}
    expected = sorted(names, key=lambda n: -FINAL_ERRORS[("shapeset", *names[n])])
    assert labels == expected
    assert labels[0] == "Softsign" and labels[-1] == "Softsign N"


def test_fig11_includes_pretraining_when_present(tables):
    extra = fabricate_tables(keep=lambda key: key[0] == "shapeset" and key[3] == 5)
    pre = _network_rows("shapeset", "tanh", "normalized", 5, 0, "shapeset-d5-w16-pretrain",
                        True, 0.05, trick="pretrain_dae:updates=200")
    extra["runs"] = pd.concat([extra["runs"], as_read({"runs": pd.DataFrame([pre[0]])})["runs"]],
                              ignore_index=True)
    extra["curves"] = pd.concat([extra["curves"], pd.DataFrame(pre[1])], ignore_index=True)
    labels = _legend_labels(errors.fig11(extra))
    assert labels[-1] == "Pre-training"
    assert "Pre-training" not in _legend_labels(errors.fig11(tables))


def test_fig12_marks_a_dataset_not_run():
    mnist_only = fabricate_tables(keep=lambda key: key[0] == "mnist")
    fig = errors.fig12(mnist_only)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "CIFAR-10: not run" in texts
    with pytest.raises(MissingData, match="mnist or cifar10"):
        errors.fig12(fabricate_tables(keep=lambda key: key[0] == "shapeset"))


def test_histogram_figures_use_end_and_start_of_training(tables):
    fig4 = saturation.fig4(tables)
    assert any(f"update {UPDATES:,}" in ax.get_title() for ax in fig4.axes)
    fig6 = gradients.fig6(tables)
    top, bottom = fig6.axes[:2]
    assert [line.get_label() for line in top.get_lines()] == [f"Layer {i}" for i in range(1, 6)]
    # Layer colours are the shared palette.
    assert top.get_lines()[2].get_color() == layer_color(3)


def test_jacobian_figure_plots_the_measured_values(tables):
    (ax,) = gradients.fig_jacobian(tables).axes
    measured = {line.get_label(): line.get_ydata() for line in ax.get_lines()
                if "measured" in line.get_label()}
    assert np.allclose(measured["standard init (measured)"], 0.5)
    assert np.allclose(measured["normalized init (measured)"], 0.8)


# ---- time axis --------------------------------------------------------------------------------
def test_time_axis_switches_units():
    short = time_axis(EPOCH_UPDATES - 1)
    assert short.label == "updates" and short(np.array([150.0]))[0] == 150.0
    long = time_axis(5_000_000)
    assert "epochs" in long.label and long(np.array([40_000.0]))[0] == 2.0


def test_training_figures_use_epochs_for_long_runs(tables):
    fig = saturation.fig3(tables)
    bottom = fig.axes[1]
    assert "epochs" in bottom.get_xlabel()
    assert max(line.get_xdata().max() for line in bottom.get_lines()) == pytest.approx(2.0)


# ---- cost surface (Fig. 5) --------------------------------------------------------------------
def test_cost_surface_known_values():
    setup = SurfaceSetup(other_weight_std=0.0, n_classes=3, grid=21)
    surface = cost_surface(setup)
    zero = int(np.argmin(np.abs(surface.w1)))
    assert surface.w1[zero] == pytest.approx(0.0, abs=1e-12)
    # With every other weight 0, W1 = 0 or W2 = 0 gives uniform outputs.
    assert np.allclose(surface.cost["cross_entropy"][zero, :], math.log(3))
    assert np.allclose(surface.cost["cross_entropy"][:, zero], math.log(3))
    assert np.allclose(surface.cost["quadratic"][zero, :], 2 / 3)
    # ... and a flat direction there: the slope vanishes at the origin.
    slopes = np.gradient(surface.cost["cross_entropy"], surface.w1, surface.w2)
    assert all(g[zero, zero] == pytest.approx(0.0, abs=1e-12) for g in slopes)


def test_quadratic_cost_has_more_plateau_than_cross_entropy():
    fractions = plateau_fractions(cost_surface())
    assert fractions["quadratic"] > fractions["cross_entropy"]
    summary = compare_plateaus(seeds=range(8))
    assert summary["quadratic"] > summary["cross_entropy"]


def test_plateau_fraction_definition():
    w = np.linspace(0.0, 1.0, 101)
    w1, _ = np.meshgrid(w, w, indexing="ij")
    assert plateau_fraction(np.zeros((101, 101)), w, w) == 1.0  # no range: all plateau
    assert plateau_fraction(w1, w, w) == 0.0  # a plane: no plateau
    # flat for w1 < 0.5 (50 of 101 rows; the row at the kink has a slope), steep after
    half = np.maximum(w1 - 0.5, 0.0)
    assert plateau_fraction(half, w, w) == pytest.approx(50 / 101)
    # the threshold is relative to the surface's own range: scaling the cost changes nothing
    assert plateau_fraction(1e6 * half, w, w) == plateau_fraction(half, w, w)


# ---- saving -----------------------------------------------------------------------------------
def test_savefig_writes_both_formats_atomically(tmp_path):
    fig = gradients.fig5(setup=SurfaceSetup(grid=11))
    first = savefig(fig, tmp_path / "sub" / "five")
    assert [p.name for p in first] == ["five.png", "five.svg"]
    sizes = [p.stat().st_size for p in first]
    second = savefig(fig, tmp_path / "sub" / "five")  # overwrite in place
    assert second == first and all(s > 0 for s in sizes)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["five.png", "five.svg"]
