"""Figures of the trick axis: each renders from synthetic tables that follow the data contract
(the declared schema: runs/layer_stats with `trick` and `budget`), raises MissingData when its
rows are absent; the heat map marks diverged cells; the paper's figures ignore trick rows."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pandas as pd
import pytest

from conftest import write_tables
from readback import as_read
from trainability.analysis.common import paper_rows, trick_names
from trainability.analysis.selection import Config, select_network
from trainability.analysis.toys import random_matrix_product_norms, top_lyapunov_exponent
from trainability.analysis.trick_study import depth_sweep, trick_study
from trainability.figures import (
    FIGURES,
    MissingData,
    errors,
    figures_in,
    render_figures,
    saturation,
    toys,
    tricks_activations,
    tricks_depth,
)
from trainability.figures.labels import activation_label, trick_order

TRICK_FIGURES = figures_in("tricks")

UPDATES = 1_000
MONITOR = (0, 500, 1_000)
WIDTH = 32
BUDGET = "tricks"
DEPTHS = (2, 5, 10)
TRICKS = ("none", "batchnorm", "residual", "clip_norm:1")
#: Every seed of this cell diverged; one seed of PARTIAL did.
DIVERGED = ("shapeset", "sigmoid", "standard", 10, "none")
PARTIAL = ("shapeset", "relu", "normalized", 10, "clip_norm:1")


def _net(rows, *, dataset, depth, activation, initializer, trick, budget, seed, final,
         diverged=False, width=WIDTH, protocol=True, stats=None):
    """Append one network's runs row and layer_stats rows (`stats(update, layer)` gives
    {(quantity, stat): value}) to `rows`."""
    run = f"{dataset}-d{depth}-w{width}-{budget}"
    member = sum(r["run"] == run for r in rows["runs"])
    config = dict(run=run, member=member, stage="seeds", dataset=dataset, depth=depth,
                  width=width, batch_size=10, activation=activation, initializer=initializer,
                  lr=0.1, init_seed=seed, trick=trick, budget=budget)
    rows["runs"].append({**config, "protocol": protocol, "updates": UPDATES,
                         "diverged_at": 700 if diverged else np.nan,
                         "final_train_loss": final, "final_train_error": final,
                         "final_valid_error": final, "best_valid_error": final,
                         "final_test_error": np.nan if diverged else final,
                         "wall_seconds": 1.0, "git_commit": "0" * 40, "device": "cpu"})
    rows["curves"] += [{**config, "update": u, "metric": "test_error",
                        "value": final + (0.9 - final) * math.exp(-u / 300)} for u in MONITOR]
    for u in MONITOR:
        for layer in range(1, depth + 1):
            values = (stats or _default_stats)(u, layer, depth, trick)
            rows["layer_stats"] += [{**config, "update": u, "layer": layer, "quantity": q,
                                     "stat": s, "value": v} for (q, s), v in values.items()]


def _default_stats(update, layer, depth, trick):
    """Back-propagated gradients that shrink toward the input unless a trick is on."""
    decay = 1.0 if trick != "none" else 0.25 ** (depth - layer)
    return {("backprop_grad", "mean"): 0.0, ("backprop_grad", "std"): 1e-2 * decay,
            ("activation", "mean"): 0.1, ("activation", "std"): 0.5}


#: Trick runs outside the depth sweep (one depth only): the heat map leaves them out.
ONE_DEPTH = (("shapeset", "relu", "normalized", 5, "dropout:0.5"),
             ("shapeset", "selu", "lecun_normal", 5, "dropout:0.1"))
#: The MNIST sweep: ReLU only (no sigmoid panels on that row).
MNIST_ACTIVATIONS = ("relu",)


def negative_fraction(update, layer, slope):
    """The fabricated share of units with s <= 0 on every example: grows with training and
    layer, less for a larger leak."""
    return (0.05 - 0.1 * slope) * layer * update / UPDATES


def fabricate(*, depth_study=True, activation_study=True, paper_net=True,
              older=False) -> dict[str, pd.DataFrame]:
    """`older`: the monitor before negative_fraction, whose dead_fraction counted s <= 0."""
    rows = {"runs": [], "curves": [], "layer_stats": [], "histograms": []}
    if depth_study:
        for dataset, depth in product(("shapeset", "mnist"), DEPTHS):
            activations = ("sigmoid", "relu") if dataset == "shapeset" else MNIST_ACTIVATIONS
            for activation, initializer in product(activations, ("standard", "normalized")):
                for k, trick in enumerate(TRICKS):
                    for seed in (0, 1):
                        key = (dataset, activation, initializer, depth, trick)
                        diverged = key == DIVERGED or (key == PARTIAL and seed == 1)
                        final = 0.1 + 0.02 * depth + 0.05 * k + 0.01 * seed
                        _net(rows, dataset=dataset, depth=depth, activation=activation,
                             initializer=initializer, trick=trick, budget=BUDGET,
                             seed=seed, final=final, diverged=diverged)
        for dataset, activation, initializer, depth, trick in ONE_DEPTH:
            _net(rows, dataset=dataset, depth=depth, activation=activation,
                 initializer=initializer, trick=trick, budget=BUDGET, seed=0, final=0.3)
    if activation_study:
        def relu_stats(update, layer, depth, trick, slope):
            negative = negative_fraction(update, layer, slope)
            dead = 0.0 if slope else negative
            stats = {("activation", "mean"): 0.3, ("activation", "std"): 0.6}
            if older:
                return {**stats, ("activation", "dead_fraction"): negative}
            return {**stats, ("activation", "dead_fraction"): dead,
                    ("activation", "negative_fraction"): negative}

        for activation, slope in (("relu", 0), ("leaky_relu:0.01", 0.01),
                                  ("leaky_relu:0.2", 0.2), ("prelu", 0.25), ("rrelu", 0.2)):
            for seed in (0, 1):
                _net(rows, dataset="shapeset", depth=5, activation=activation,
                     initializer="he_normal", trick="none", budget=BUDGET, seed=seed,
                     final=0.2, stats=lambda u, ly, d, t, s=slope: relu_stats(u, ly, d, t, s))
        for depth in (5, 12):
            _net(rows, dataset="shapeset", depth=depth, activation="selu",
                 initializer="lecun_normal", trick="none", budget=BUDGET, seed=0, final=0.2,
                 stats=lambda u, layer, d, t: {("activation", "mean"): 0.01 * layer,
                                               ("activation", "std"): 1 - 0.01 * layer})
    if paper_net:  # the paper's Fig. 2 network, plain SGD with the preset's budget
        _net(rows, dataset="shapeset", depth=4, activation="sigmoid", initializer="standard",
             trick="none", budget="preset", seed=0, final=0.5, width=16,
             stats=lambda u, layer, d, t: {("activation", "mean"): 0.5 + 0.01 * layer,
                                           ("activation", "std"): 0.2})
    return as_read({name: pd.DataFrame(frame) for name, frame in rows.items()})


@pytest.fixture(scope="module")
def tables():
    return fabricate()


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# ---- rendering ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", TRICK_FIGURES)
def test_each_trick_figure_renders_a_png(tables, tmp_path, name):
    write_tables(tables, tmp_path)
    result = render_figures(tmp_path, tmp_path / "out", [name])[name]
    assert not isinstance(result, str), f"{name} not drawn: {result}"
    png, svg = result
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert "<svg" in svg.read_text()[:2000]


@pytest.mark.parametrize("name", ["tricks_heatmap", "tricks_gradients", "dead_units",
                                  "selu_stats"])
def test_missing_rows_raise_missing_data_with_a_reason(name, tmp_path):
    empty = fabricate(depth_study=False, activation_study=False)
    with pytest.raises(MissingData, match=r"needs .*"):
        FIGURES[name].function(empty)
    write_tables(empty, tmp_path)
    reason = render_figures(tmp_path, tmp_path / "out", [name])[name]
    assert isinstance(reason, str) and reason.startswith("needs")


def test_missing_layer_statistics_are_named():
    no_stats = fabricate()
    no_stats["layer_stats"] = no_stats["layer_stats"].iloc[0:0]
    for function in (tricks_depth.tricks_gradients, tricks_activations.dead_units,
                     tricks_activations.selu_stats):
        with pytest.raises(MissingData, match="layer statistic"):
            function(no_stats)


def test_registry_names_the_s_claims():
    expected = {"tricks_heatmap": ("S5", "S6", "S7", "S12"),
                "tricks_gradients": ("S5", "S6", "S10"), "dead_units": ("S4",),
                "selu_stats": ("S3",), "sigmoid_derivative": ("S10",),
                "matrix_product": ("S9",)}
    assert set(TRICK_FIGURES) == set(expected)
    for name, ids in expected.items():
        assert FIGURES[name].claim_ids == ids and FIGURES[name].claim_source == "practice"
    assert not FIGURES["sigmoid_derivative"].needs_tables
    assert not FIGURES["matrix_product"].needs_tables


# ---- content ------------------------------------------------------------------------------
def test_heatmap_marks_diverged_cells_and_annotates_means(tables):
    fig = tricks_depth.tricks_heatmap(tables)
    panels = {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}
    sigmoid = panels["shapeset/sigmoid/standard"]
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text()
             for t in sigmoid.texts}
    depth, trick = DEPTHS.index(DIVERGED[3]), TRICKS.index(DIVERGED[4])
    assert texts[(depth, trick)] == "div"
    assert any(p.get_hatch() for p in sigmoid.patches)
    # mean over the two seeds, in %: depth 2, trick none: (0.14 + 0.15) / 2
    assert texts[(0, 0)] == "14.5"
    relu = panels["shapeset/relu/normalized"]
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text()
             for t in relu.texts}
    # one of two seeds diverged: the other seed's error, starred
    assert texts[(DEPTHS.index(PARTIAL[3]), TRICKS.index(PARTIAL[4]))] == "45.0*"
    assert [t.get_text() for t in sigmoid.get_yticklabels()] == list(TRICKS)
    assert [t.get_text() for t in sigmoid.get_xticklabels()] == [str(d) for d in DEPTHS]


def _panel_texts(ax) -> dict[tuple[int, int], str]:
    return {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text()
            for t in ax.texts}


def test_heatmap_is_a_grid_of_the_depth_sweep(tables):
    fig = tricks_depth.tricks_heatmap(tables)
    panels = {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}
    # only the sweep: no panel for SELU (two tricks, but at depth 5 only), no dropout row
    # (ReLU/normalized ran it at depth 5 only)
    assert set(panels) == {f"shapeset/{a}/{i}" for a in ("sigmoid", "relu")
                           for i in ("standard", "normalized")} | {
        "mnist/relu/standard", "mnist/relu/normalized"}
    for ax in panels.values():
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == list(TRICKS) or not any(labels)
        assert not any("dropout" in t for t in _panel_texts(ax).values())
    # rows of panels = datasets, columns = (activation, initializer), the same in every row
    place = {gid: (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
             for gid, ax in panels.items()}
    columns = ["sigmoid/standard", "sigmoid/normalized", "relu/standard", "relu/normalized"]
    for gid, (row, column) in place.items():
        dataset, combo = gid.split("/", 1)
        assert row == ("shapeset", "mnist").index(dataset) and column == columns.index(combo)
    # the row's tricks are named once, on its first panel, none first
    assert [t.get_text() for t in panels["mnist/relu/standard"].get_yticklabels()] == list(
        TRICKS)
    assert not any(t.get_text() for t in panels["shapeset/relu/standard"].get_yticklabels())
    # one colour scale for every panel
    images = [ax.get_images()[0] for ax in panels.values()]
    assert len({(im.norm.vmin, im.norm.vmax) for im in images}) == 1
    assert "budget tricks" in fig.get_suptitle() and f"width {WIDTH}" in fig.get_suptitle()


@pytest.mark.parametrize("depths", [DEPTHS, (2, 5)])
def test_heatmap_titles_do_not_overlap(tables, depths):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # two depths: the narrowest panels (their titles are wider than their cells)
    shown = {**tables, "runs": tables["runs"][tables["runs"]["depth"].isin(depths)]}
    fig = tricks_depth.tricks_heatmap(shown)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_gid()]
    assert len(panels) == 6
    titles = [ax.title.get_window_extent(renderer) for ax in panels]
    for k, box in enumerate(titles):
        assert not any(box.overlaps(other) for other in titles[k + 1:])
        # nor the neighbouring panels (cells and tick labels)
        assert not any(box.overlaps(ax.get_window_extent(renderer))
                       for j, ax in enumerate(panels) if j != k)
        assert not box.overlaps(fig._suptitle.get_window_extent(renderer))


def test_depth_sweep_needs_three_depths_or_every_depth_there_is():
    def rows(cells):
        return pd.DataFrame([{"dataset": "mnist", "activation": a, "initializer": "normalized",
                              "trick": t, "depth": d} for a, t, d in cells])

    sweep = [("relu", t, d) for t in ("none", "adam") for d in (2, 5, 10)]
    kept = depth_sweep(rows([*sweep, ("relu", "l2", 5), ("relu", "l1", 5),
                                    ("tanh", "none", 5), ("tanh", "adam", 5),
                                    ("selu", "none", 2), ("selu", "none", 5),
                                    ("selu", "dropout", 5), ("selu", "dropout", 10)]))
    assert set(zip(kept["activation"], kept["trick"], strict=True)) == {
        ("relu", "none"), ("relu", "adam")}
    # two depths in all: two are enough
    two = depth_sweep(rows([("relu", t, d) for t in ("none", "adam") for d in (2, 5)]
                                  + [("relu", "l2", 5)]))
    assert set(two["trick"]) == {"none", "adam"} and len(two) == 4


def test_heatmap_ignores_groups_without_tricks():
    tables = fabricate()
    rows = trick_study(tables)
    # the configurations trained with two tricks or more (SELU: none and dropout) ...
    assert set(rows["trick"]) == {*TRICKS, "dropout:0.5", "dropout:0.1"}
    assert "he_normal" not in set(rows["initializer"])  # the activation study: trick none
    # ... of which the depth sweep keeps the tricks run at three depths
    assert set(depth_sweep(rows)["trick"]) == set(TRICKS)


def test_heatmap_without_a_depth_sweep_raises_missing_data(tables):
    single = {**tables, "runs": tables["runs"][tables["runs"]["depth"] != 2]}
    single["runs"] = single["runs"][(single["runs"]["depth"] != 10)
                                    | (single["runs"]["trick"] == "none")]
    with pytest.raises(MissingData, match="depth sweep"):
        tricks_depth.tricks_heatmap(single)


def test_gradients_show_the_deepest_nets_one_line_per_trick(tables):
    fig = tricks_depth.tricks_gradients(tables)
    titled = {a.get_title(): a for a in fig.axes}
    ax = titled["Sigmoid, normalized init\nat initialization"]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(TRICKS)
    plain = lines["none"]
    assert list(plain.get_xdata()) == list(range(1, max(DEPTHS) + 1))
    # RMS = sqrt(mean^2 + std^2) = std here: shrinks by 4 per layer toward the input
    assert np.allclose(plain.get_ydata(), 1e-2 * 0.25 ** (max(DEPTHS) - np.arange(1, 11)))
    assert np.allclose(lines["batchnorm"].get_ydata(), 1e-2)
    diverged = titled["Sigmoid, standard init\nat initialization"]
    assert {ln.get_label(): ln.get_linestyle() for ln in diverged.get_lines()}["none"] == "--"


def test_gradients_have_no_empty_panels_and_pair_init_with_end(tables):
    fig = tricks_depth.tricks_gradients(tables)
    # every panel has data: SELU (deeper, depth 12, but one trick there) is left out
    assert fig.axes and all(ax.get_lines() for ax in fig.axes)
    combos = [f"{a}, {i} init" for a in ("Sigmoid", "ReLU") for i in ("standard", "normalized")]
    assert [ax.get_title() for ax in fig.axes] == [
        f"{c}\n{w}" for c in combos for w in ("at initialization", "end of training")]
    assert "depth 10" in fig.get_suptitle()
    # init and end side by side, on the same row, sharing the y range
    for init, end in zip(fig.axes[::2], fig.axes[1::2], strict=True):
        assert init.get_subplotspec().rowspan == end.get_subplotspec().rowspan
        assert end.get_subplotspec().colspan.start == init.get_subplotspec().colspan.start + 1
        assert init.get_ylim() == end.get_ylim()
    # an odd number of configurations: the spare panels are removed, not left empty
    odd = {**tables, "runs": tables["runs"][~((tables["runs"]["activation"] == "relu")
                                             & (tables["runs"]["initializer"] == "standard"))]}
    fig = tricks_depth.tricks_gradients(odd)
    assert len(fig.axes) == 6 and all(ax.get_lines() for ax in fig.axes)


def test_dead_units_show_relu_dead_and_the_leaky_variants_negative(tables):
    fig = tricks_activations.dead_units(tables)
    (ax,) = [a for a in fig.axes if a.get_lines()]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"ReLU (dead)", "Leaky ReLU 0.01 (s ≤ 0)", "Leaky ReLU 0.2 (s ≤ 0)",
                          "PReLU (s ≤ 0)", "RReLU (s ≤ 0)"}
    # relu: 5% x layer x progress, averaged over layers 1..5 -> 15% at the end
    assert lines["ReLU (dead)"].get_ydata()[-1] == pytest.approx(15.0)
    assert lines["ReLU (dead)"].get_linestyle() == "-"
    leaky = lines["Leaky ReLU 0.2 (s ≤ 0)"]
    assert leaky.get_linestyle() == "--"
    assert leaky.get_ydata()[-1] == pytest.approx(100 * negative_fraction(UPDATES, 3, 0.2))
    assert ax.get_xlabel() == "updates" and "%" in ax.get_ylabel()
    title = fig.get_suptitle()
    assert "no gradient" in title and "still gets gradient" in title
    assert "older tables" not in title


def test_dead_units_read_older_tables_and_show_a_dying_leaky_unit():
    # before negative_fraction, dead_fraction counted s <= 0: the variants' values are drawn
    # as their negative fraction, never as dead
    fig = tricks_activations.dead_units(fabricate(depth_study=False, older=True))
    (ax,) = [a for a in fig.axes if a.get_lines()]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert not [label for label in lines if "dead" in label and "ReLU (dead)" != label]
    assert lines["PReLU (s ≤ 0)"].get_ydata()[-1] == pytest.approx(
        100 * negative_fraction(UPDATES, 3, 0.25))
    assert lines["ReLU (dead)"].get_ydata()[-1] == pytest.approx(15.0)
    assert "older tables" in fig.get_suptitle()
    # a PReLU whose slope went to 0 has dead units: they are drawn, solid
    tables = fabricate(depth_study=False)
    stats = tables["layer_stats"]
    dying = ((stats["activation"] == "prelu") & (stats["stat"] == "dead_fraction")
             & (stats["update"] == UPDATES))
    tables["layer_stats"] = stats.assign(value=stats["value"].mask(dying, 0.1))
    (ax,) = [a for a in tricks_activations.dead_units(tables).axes if a.get_lines()]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["PReLU (dead)"].get_linestyle() == "-"
    assert lines["PReLU (dead)"].get_ydata()[-1] == pytest.approx(10.0)


def test_selu_stats_show_mean_and_std_per_layer_with_references(tables):
    fig = tricks_activations.selu_stats(tables)
    mean_ax, std_ax = [a for a in fig.axes if a.get_title()][:2]
    assert "depth 12" in mean_ax.get_title() and mean_ax.get_title().endswith("mean")
    layer_lines = [ln for ln in mean_ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(layer_lines) == 12
    references = [ln.get_ydata()[0] for ax in (mean_ax, std_ax) for ln in ax.get_lines()
                  if ln.get_linestyle() == "--"]
    assert references == [0.0, 1.0]


def test_sigmoid_derivative_marks_the_maximum():
    fig = toys.sigmoid_derivative_figure()
    assert any("0.25" in text for text in _texts(fig))
    left = fig.axes[0]
    derivative = next(ln for ln in left.get_lines() if ln.get_label().startswith("σ′"))
    assert max(derivative.get_ydata()) == pytest.approx(0.25)


def test_matrix_product_grows_at_the_lyapunov_rate():
    rate = top_lyapunov_exponent(4)
    assert rate == pytest.approx(0.5 * (math.log(2) + (1 - 0.5772156649)), rel=1e-6)
    norms = random_matrix_product_norms(n_matrices=100, size=4, draws=200, seed=0,
                                        running=True)
    assert norms.shape == (200, 100)
    growth = np.median(np.log(norms[:, -1])) / 100
    assert growth == pytest.approx(rate, abs=0.05)
    assert 1e22 < np.median(norms[:, -1]) < 1e27
    fig = toys.matrix_product(draws=50)
    assert fig.axes[0].get_yscale() == "log"


# ---- the paper's figures ignore trick rows ------------------------------------------------
def test_paper_selection_ignores_trick_and_own_budget_rows(tables):
    plain = select_network(tables, Config("sigmoid", "standard", 4))
    with_decoys = {name: frame.copy() for name, frame in tables.items()}
    decoys = []
    for trick, budget in (("batchnorm", "preset"), ("none", BUDGET)):
        # a wider network with a smaller seed: the selection would prefer it if it counted
        decoy = fabricate(depth_study=False, activation_study=False)
        decoy["runs"] = decoy["runs"].assign(trick=trick, budget=budget, width=64, init_seed=-1,
                                             run="decoy", member=len(decoys))
        decoys.append(decoy["runs"])
    with_decoys["runs"] = pd.concat([tables["runs"], *decoys], ignore_index=True)
    chosen = select_network(with_decoys, Config("sigmoid", "standard", 4))
    assert (chosen["run"], chosen["member"]) == (plain["run"], plain["member"])
    assert chosen["budget"] == "preset" and chosen["trick"] == "none"
    # ... so Fig. 2 plots the same thing
    before = [ln.get_ydata().tolist() for ln in saturation.fig2(tables).axes[0].get_lines()]
    after = [ln.get_ydata().tolist() for ln in saturation.fig2(with_decoys).axes[0].get_lines()]
    assert before == after
    # only trick rows: the paper's figure has nothing to draw
    only_tricks = {**tables, "runs": pd.concat(decoys, ignore_index=True)}
    with pytest.raises(MissingData):
        select_network(only_tricks, Config("sigmoid", "standard", 4))


def test_the_papers_rows_are_plain_sgd_at_the_presets_budget():
    runs = pd.DataFrame({"trick": ["none", "adam", "none"],
                         "budget": ["preset", "preset", "tricks"]})
    assert paper_rows(runs).index.tolist() == [0]
    assert trick_names("batchnorm+clip_norm:1") == ("batchnorm", "clip_norm")
    assert trick_names("none") == ()
    assert activation_label("leaky_relu:0.2") == "Leaky ReLU 0.2"


def test_fig11_takes_pretraining_from_trick_rows(tables):
    pre = fabricate(depth_study=False, activation_study=False)
    for name in ("runs", "curves", "layer_stats"):
        pre[name] = pre[name].assign(trick="pretrain_dae", budget="tricks_pretraining",
                                     depth=5, width=WIDTH, run="pretrain")
    combined = {name: pd.concat([tables[name], pre[name]], ignore_index=True)
                for name in ("runs", "curves", "layer_stats", "histograms")}
    fig = errors.fig11(combined)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "Pre-training" in labels
    assert "tricks_pretraining" in fig.get_suptitle()
    # the trick rows of other tricks never enter Fig. 11
    assert not any("batchnorm" in label for label in labels)


def test_tricks_are_ordered_plain_first_combinations_after_their_parts():
    order = ["none", "batchnorm", "residual", "batchnorm+residual", "clip_norm:1",
             "clip_value:0.1", "momentum:0.9", "adagrad", "rmsprop", "adam"]
    assert sorted(reversed(order), key=trick_order) == order

