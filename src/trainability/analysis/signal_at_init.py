"""Signal propagation at init: the suite's own networks, measured by its own monitor, beside
what the theory predicts for them (trainability.analysis.mean_field).

For every activation and every initializer of the registries (each in its default
spelling), a network of `WIDTH` units and `DEPTH` hidden layers is drawn as training draws it
(`BundledMLP.initialize`: weights, and biases from the initializer's sigma_b^2) and
`EXAMPLES` Shapeset-3x2 images run through it, measured as the monitor measures them at
update 0 (the statistics the pipeline records). Beside each measured per-layer
statistic stand the mean-field prediction (Gauss-Hermite length map; Poole et al. 2016) and
the paper's linear-regime one (Glorot & Bengio 2010, eqs. 5-6), both from the same inputs'
E[x^2] (the pixels are not centred). Back-propagated gradients are predicted relative to the
top hidden layer, so their predictions are put on the measurement's scale by the measured
top layer.

Nothing here trains: the measurement costs a few seconds, so the figure and the claims that
use it compute it (once per process, `at_init`) instead of reading a results table.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from trainability.analysis.mean_field import predictions, supported
from trainability.lazy import lazy_import
from trainability.nets.activations import ACTIVATIONS
from trainability.nets.initializers import INITIALIZERS

np = lazy_import("numpy")
pd = lazy_import("pandas")
torch = lazy_import("torch")

#: The measured networks: hidden width (units), depth (hidden layers), monitor examples and
#: the seed of their weights and of the Shapeset examples. Width >= 256 is where claim T1
#: expects the mean field within 10%.
WIDTH = 256
DEPTH = 50
EXAMPLES = 100
SEED = 0
DATASET = "shapeset"
#: How many quantiles of the inputs' per-example E[x^2] the predictions pool (`input_moments`).
MOMENT_POINTS = 32
#: The per-layer statistics compared: (quantity, stat) of the monitor's tables.
STATISTICS = (("activation", "std"), ("backprop_grad", "std"))
#: Columns of `at_init`.
COLUMNS = ["activation", "initializer", "width", "depth", "layer", "quantity", "stat",
           "measured", "mean_field", "linear", "no_prediction"]


def default_spellings(registry) -> list[str]:
    """Every entry of a registry in the spelling it builds with its defaults, once each."""
    spellings = []
    for name in registry.names():
        spelling = registry.build(name).name
        if spelling not in spellings:
            spellings.append(spelling)
    return spellings


@functools.lru_cache(maxsize=8)
def inputs(n: int = EXAMPLES, seed: int = SEED, dataset: str = DATASET):
    """x (n, n_inputs), y (n,): the first n test examples of the dataset's stream (generated
    once per process and arguments: callers only read them)."""
    from trainability.data.catalog import dataset as dataset_of

    return dataset_of(dataset).split(seed, "test", n, "zero_one", "cpu")


def input_moments(x, points: int = MOMENT_POINTS):
    """The inputs' E[x^2] per example (x: (E, n_inputs)), summarized by `points` quantiles
    (midpoints (i + 1/2) / points): the predictions pool a mixture of Gaussians over the
    examples, and their cost grows with its size; the quantiles keep its shape."""
    moments = (x.double() ** 2).mean(dim=1).numpy()
    if len(moments) <= points:
        return moments
    return np.quantile(moments, (np.arange(points) + 0.5) / points)


def measure(activation: str, initializers: Sequence[str], width: int, depth: int,
            x, y, seed: int = SEED):
    """The statistics at update 0 of one bundle: `activation` with each of `initializers`,
    all members drawn from `seed`, as the monitor defines them (trainability.train.monitor:
    per member and layer, the std over every example and unit of the activations h^l and of
    each example's back-propagated gradient dCost/ds^l, Cost its NLL). Returns rows
    (initializer, layer, quantity, stat, measured) for `STATISTICS`."""
    from trainability.nets.mlp import BundledMLP, nll_per_member

    inits = list(initializers)
    net = BundledMLP.initialize(x.shape[1], int(y.max()) + 1, depth, width,
                                [activation] * len(inits), inits, [seed] * len(inits))
    forward = net.forward(x, track_input_grad=True, mode="monitor")
    # Sum over examples, as the monitor does: each row of dCost/ds is one example's gradient.
    total = nll_per_member(forward.logits, y).sum() * len(y)
    grads = torch.autograd.grad(total, forward.pre_activations)
    values = {"activation": forward.activations, "backprop_grad": grads}
    rows = []
    for quantity, stat in STATISTICS:
        for layer, tensor in enumerate(values[quantity], start=1):
            stds = tensor.detach().flatten(1).std(dim=-1)  # (K,)
            rows += [(init, layer, quantity, stat, float(v))
                     for init, v in zip(inits, stds, strict=True)]
    return pd.DataFrame(rows, columns=["initializer", "layer", "quantity", "stat", "measured"])


def at_init(width: int | None = None, depth: int | None = None,
            examples: int | None = None, seed: int | None = None):
    """Measured and predicted per-layer statistics at init for every activation x every
    initializer (columns `COLUMNS`; the predictions are NaN where a theory says nothing, and
    `no_prediction` names why for activations the mean field cannot predict). Arguments
    default to the module's WIDTH, DEPTH, EXAMPLES and SEED (read at call time). Computed
    once per process and arguments."""
    return _at_init(width or WIDTH, depth or DEPTH, examples or EXAMPLES,
                    SEED if seed is None else seed).copy()


@functools.lru_cache(maxsize=4)
def _at_init(width: int, depth: int, examples: int, seed: int):
    x, y = inputs(examples, seed)
    second_moment = input_moments(x)
    inits = default_spellings(INITIALIZERS)
    frames = []
    for activation in default_spellings(ACTIVATIONS):
        measured = measure(activation, inits, width, depth, x, y, seed)
        reason = supported(activation)
        predicted = pd.concat([predictions(activation, init, second_moment, x.shape[1], width,
                                           depth) for init in inits], ignore_index=True)
        predicted = predicted.pivot_table(index=["initializer", "layer", "quantity", "stat"],
                                          columns="theory", values="value").reset_index()
        frame = measured.merge(predicted, on=["initializer", "layer", "quantity", "stat"],
                               how="left")
        for theory in ("mean_field", "linear"):
            if theory not in frame:
                frame[theory] = np.nan
        frame = _on_the_measured_scale(frame)
        frame["activation"] = activation
        frame["no_prediction"] = reason or ""
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["width"], table["depth"] = width, depth
    return table[COLUMNS]


def _on_the_measured_scale(frame):
    """Back-propagated gradients are predicted relative to the top hidden layer: multiply
    by the measured top layer's value of the same initializer and statistic."""
    grads = frame["quantity"] == "backprop_grad"
    top = frame[grads].sort_values("layer").groupby(["initializer", "stat"])["measured"].last()
    scale = frame[grads].set_index(["initializer", "stat"]).index.map(top)
    for theory in ("mean_field", "linear"):
        frame.loc[grads, theory] = frame.loc[grads, theory].to_numpy() * np.asarray(scale)
    return frame


def relative_errors(table, theory: str = "mean_field", power: int = 1):
    """|(measured / predicted)^power - 1| per row where `theory` predicts (a copy with an
    "error" column): power 1 compares the stds as tabled, 2 the variances."""
    rows = table[table[theory].notna() & (table[theory] > 0)].copy()
    rows["error"] = ((rows["measured"] / rows[theory]) ** power - 1).abs()
    return rows


#: The monitor's quantities that Figs. 6-8 draw, with the predictions' name for each.
SPREAD_QUANTITIES = ("activation", "backprop_grad", "weight_grad")
#: The monitor set's size the spread predictions assume (the paper's 300 test examples;
#: the runs table does not record it, and E[x^2] over 100 or 300 images differs little).
MONITOR_EXAMPLES = 300


def predicted_spread(tables, net, quantity: str):
    """The predicted per-layer std of `quantity` at init for a trained network `net` (a runs
    row, trainability.analysis.selection.select_network), on its own monitor inputs: a
    frame (layer, mean_field, linear) or None when the theory cannot say (a dataset not
    generated in-process, an activation the mean field does not cover: then only "linear"
    is given, standardized inputs). Gradients are predicted relative to the top layer and put
    on the measured scale by the top layer's measured std at update 0 (the monitor's
    tables)."""
    from trainability.analysis.selection import layer_stat_table
    from trainability.data.catalog import dataset as dataset_of

    if not getattr(dataset_of(str(net["dataset"])), "generated", False) \
            or str(net.get("inputs", "raw")) != "raw":
        return None
    x, _ = inputs(MONITOR_EXAMPLES, int(net["data_seed"]), str(net["dataset"]))
    moments = input_moments(x)
    predicted = predictions(str(net["activation"]), str(net["initializer"]), moments,
                            x.shape[1], int(net["width"]), int(net["depth"]))
    predicted = predicted[(predicted["quantity"] == quantity) & (predicted["stat"] == "std")]
    frame = predicted.pivot_table(index="layer", columns="theory", values="value")
    for theory in ("mean_field", "linear"):
        if theory not in frame:
            frame[theory] = np.nan
    if quantity != "activation":
        measured = layer_stat_table(tables, net, quantity, "std")
        if 0 not in measured.index:
            return None
        top = measured.loc[0]
        frame = frame.mul(float(top[top.index.max()]), axis=0)
    return frame.reset_index()[["layer", "mean_field", "linear"]]
