"""Table 1 and the claims ledger on small fabricated tables with known values."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import write_tables
from readback import as_read
from trainability.analysis import ledger
from trainability.analysis.claims import CLAIMS, evaluate_claims, write_claims
from trainability.analysis.cost_surface import cost_surface, plateau_fractions
from trainability.analysis.table1 import (
    BOLD_RULE,
    PAPER_TABLE1,
    ROWS,
    columns,
    table1,
    table1_html,
    table1_markdown,
    write_table1,
)

PAPER_SCALE = {"width": 1000, "updates": 5_000_000}
KEY = ["member", "dataset", "depth", "width", "batch_size", "data_seed", "activation",
       "initializer", "lr", "init_seed", "diverged_at", "run", "stage"]
ROW_CONFIG = {label: (activation, initializer) for label, activation, initializer in ROWS}


class Fabricator:
    """Builds the four aggregate tables, one network at a time."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.stats: list[dict] = []
        self.curves: list[dict] = []
        self.hists: list[dict] = []
        self._members: Counter = Counter()

    def net(self, dataset="shapeset", depth=5, activation="tanh", initializer="standard",
            seed=0, error=0.2, width=1000, updates=5_000_000, protocol=True, stage="seeds",
            lr=0.01, diverged=False) -> dict:
        run = f"{dataset}-d{depth}-w{width}-{stage}"
        member = self._members[run]
        self._members[run] += 1
        key = {"member": member, "dataset": dataset, "depth": depth, "width": width,
               "batch_size": 10, "data_seed": 0, "activation": activation,
               "initializer": initializer, "lr": lr, "init_seed": seed,
               "diverged_at": 100 if diverged else pd.NA, "run": run, "stage": stage}
        self.runs.append({**key, "final_test_error": math.nan if diverged else error,
                          "final_valid_error": error, "protocol": protocol,
                          "updates": updates, "eval_every": 1000})
        return key

    def stat(self, net, update, layer, quantity, stat, value) -> None:
        self.stats.append({**net, "update": update, "layer": layer, "quantity": quantity,
                           "stat": stat, "value": value})

    def curve(self, net, update, value, metric="test_error") -> None:
        self.curves.append({**net, "update": update, "metric": metric, "value": value})

    def hist(self, net, update, layer, fractions, low=-1.0, high=1.0) -> None:
        edges = np.linspace(low, high, len(fractions) + 1)
        for i, fraction in enumerate(fractions):
            self.hists.append({**net, "update": update, "layer": layer,
                               "quantity": "activation", "bin": i, "bin_left": edges[i],
                               "bin_right": edges[i + 1], "fraction": fraction})

    def tables(self) -> dict[str, pd.DataFrame]:
        runs = pd.DataFrame(self.runs, columns=KEY + ["final_test_error", "final_valid_error",
                                                       "protocol", "updates", "eval_every"])
        runs["diverged_at"] = runs["diverged_at"].astype("Int64")
        frames = {
            "curves": (self.curves, ["update", "metric", "value"]),
            "layer_stats": (self.stats, ["update", "layer", "quantity", "stat", "value"]),
            "histograms": (self.hists, ["update", "layer", "quantity", "bin", "bin_left",
                                        "bin_right", "fraction"]),
        }
        out = {"runs": runs}
        for name, (rows, names) in frames.items():
            out[name] = pd.DataFrame(rows, columns=KEY + names)
        return as_read(out)


def table1_tables(errors: dict[tuple[str, str], list[float]], **scale) -> dict:
    """Protocol networks for {(row label, dataset key): [test errors as fractions]}."""
    fab = Fabricator()
    for (label, dataset), values in errors.items():
        activation, initializer = ROW_CONFIG[label]
        for seed, error in enumerate(values):
            fab.net(dataset, 5, activation, initializer, seed, error, **{**PAPER_SCALE, **scale})
    return fab.tables()


def cell(frame, label, dataset):
    return frame[(frame["row"] == label) & (frame["dataset"] == dataset)].iloc[0]


# ---- Table 1 ------------------------------------------------------------------------------

def test_table1_means_cis_paper_column_and_exclusions():
    fab = Fabricator()
    for seed, error in enumerate([0.10, 0.12, 0.14]):
        fab.net("shapeset", 5, "tanh", "normalized", seed, error)
    fab.net("shapeset", 5, "tanh", "normalized", 3, diverged=True)
    fab.net("shapeset", 5, "tanh", "normalized", 0, 0.99, protocol=False, stage="sweep", lr=1.0)
    fab.net("shapeset", 4, "sigmoid", "standard", 0, 0.50)
    fab.net("shapeset", 5, "sigmoid", "standard", 0, 0.80)
    frame = table1(fab.tables())

    assert list(frame["row"].drop_duplicates()) == [r for r, _, _ in ROWS]
    assert list(frame["dataset"].drop_duplicates()) == ["Shapeset", "MNIST", "CIFAR-10",
                                                        "ImageNet"]
    tanh_n = cell(frame, "Tanh N", "Shapeset")
    assert tanh_n["mean_test_error"] == pytest.approx(12.0)
    s = math.sqrt(((10 - 12) ** 2 + 0 + (14 - 12) ** 2) / 2)  # = 2
    assert tanh_n["ci95_halfwidth"] == pytest.approx(stats.t.ppf(0.975, 2) * s / math.sqrt(3))
    assert (tanh_n["n_seeds"], tanh_n["n_diverged"]) == (3, 1)
    assert tanh_n["diff"] == pytest.approx(12.0 - 15.60)
    sigmoid = cell(frame, "Sigmoid", "Shapeset")
    assert sigmoid["depth"] == 5 and sigmoid["mean_test_error"] == pytest.approx(80.0)
    assert math.isnan(sigmoid["ci95_halfwidth"])  # n = 1
    assert cell(table1(fab.tables(), sigmoid_depth=4), "Sigmoid", "Shapeset")[
        "mean_test_error"] == pytest.approx(50.0)
    assert cell(frame, "Tanh", "MNIST")["status"] == "not run"
    assert (frame.loc[frame["dataset"] == "ImageNet", "status"] == "not run").all()
    for _, row in frame.iterrows():
        assert row["paper_test_error"] == PAPER_TABLE1[row["row"]][row["dataset"]]
    assert cell(frame, "Softsign N", "CIFAR-10")["paper_test_error"] == 53.8
    assert cell(frame, "Tanh", "CIFAR-10")["paper_test_error"] == 55.9
    assert cell(frame, "Sigmoid", "Shapeset")["paper_test_error"] == 82.61
    assert (frame["bold_rule"] == BOLD_RULE).all()


def test_bold_rule_flags_indistinguishable_cells_only():
    errors = {("Tanh N", "shapeset"): [0.100, 0.101, 0.099, 0.1005],
              ("Softsign N", "shapeset"): [0.1005, 0.102, 0.0995, 0.101],  # same as best
              ("Softsign", "shapeset"): [0.1010, 0.1030, 0.1000, 0.1020],
              ("Tanh", "shapeset"): [0.30, 0.305, 0.295, 0.30],  # clearly worse
              ("Sigmoid", "shapeset"): [0.80, 0.81, 0.79, 0.80]}
    frame = table1(table1_tables(errors))
    bold = dict(zip(frame.loc[frame["dataset"] == "Shapeset", "row"],
                    frame.loc[frame["dataset"] == "Shapeset", "bold"], strict=True))
    assert bold == {"Tanh N": True, "Softsign N": True, "Softsign": True, "Tanh": False,
                    "Sigmoid": False}
    assert cell(frame, "Tanh N", "Shapeset")["best"]
    assert math.isnan(cell(frame, "Tanh N", "Shapeset")["p_value"])
    expected = stats.ttest_ind(np.array(errors["Tanh", "shapeset"]) * 100,
                               np.array(errors["Tanh N", "shapeset"]) * 100,
                               equal_var=False).pvalue
    assert cell(frame, "Tanh", "Shapeset")["p_value"] == pytest.approx(expected)
    assert cell(frame, "Tanh", "Shapeset")["p_value"] < 0.005
    assert cell(frame, "Softsign N", "Shapeset")["p_value"] >= 0.005
    assert not frame.loc[frame["dataset"] != "Shapeset", "bold"].any()


def test_bold_rule_with_one_seed_marks_only_the_best():
    errors = {(label, "mnist"): [0.02 + 0.001 * i] for i, (label, _, _) in enumerate(ROWS)}
    frame = table1(table1_tables(errors))
    mnist = frame[frame["dataset"] == "MNIST"]
    assert mnist["bold"].tolist() == [True, False, False, False, False]
    assert mnist["p_value"].isna().all()


def test_table1_markdown_and_html_layout():
    errors = {("Tanh N", "shapeset"): [0.15, 0.16], ("Tanh", "shapeset"): [0.30, 0.31]}
    frame = table1(table1_tables(errors))
    text = table1_markdown(frame)
    assert text.splitlines()[0] == "| TYPE | Shapeset | MNIST | CIFAR-10 | ImageNet |"
    tanh_n = next(line for line in text.splitlines() if line.startswith("| Tanh N |"))
    assert "**15.50 ± 6.35 (n=2) / 15.60 / −0.10**" in tanh_n
    assert "not run / 68.57 / —" in tanh_n
    assert "Sigmoid row: depth 5" in text
    assert "/ 53.8 /" in text and "/ 55.9 /" in text and "/ 82.61 /" in text
    assert "<b>15.50" in table1_html(frame)


# ---- claims at initialization -------------------------------------------------------------

def init_tables(profiles: dict[tuple[str, str], list[float]], quantity: str, stat: str,
                seeds=(0, 1), first_layer=1, dataset="shapeset", width=1000) -> dict:
    """Update-0 stats: {(activation, initializer): per-layer values} for each seed (with
    +-1% seed noise), each seed trained at two learning rates (counted once)."""
    fab = Fabricator()
    for (activation, initializer), values in profiles.items():
        for seed in seeds:
            for lr in (0.01, 0.1):
                net = fab.net(dataset, 5, activation, initializer, seed, 0.2, width=width,
                              lr=lr, stage="sweep", protocol=lr == 0.01)
                for layer, value in enumerate(values, start=first_layer):
                    fab.stat(net, 0, layer, quantity, stat, value * (1 + 0.01 * seed))
                    fab.stat(net, 1000, layer, quantity, stat, 123.0)  # not at init
    return fab.tables()


SHRINKING = [0.30, 0.17, 0.10, 0.055, 0.03]
FLAT = [0.30, 0.29, 0.28, 0.27, 0.26]
GROWING = list(reversed(SHRINKING))


@pytest.mark.parametrize(("claim_id", "quantity", "stat", "supporting", "contradicting"), [
    ("P4", "activation", "std",
     {("tanh", "standard"): SHRINKING, ("tanh", "normalized"): FLAT},
     {("tanh", "standard"): FLAT, ("tanh", "normalized"): FLAT}),
    ("P5", "backprop_grad", "std",
     {("tanh", "standard"): GROWING, ("tanh", "normalized"): FLAT},
     {("tanh", "standard"): GROWING, ("tanh", "normalized"): GROWING}),
    ("P6", "weight_grad", "std",
     {("tanh", "standard"): [1.0, 1.2, 0.9, 1.1, 1.0], ("tanh", "normalized"): FLAT},
     {("tanh", "standard"): SHRINKING, ("tanh", "normalized"): FLAT}),
])
def test_init_claims(claim_id, quantity, stat, supporting, contradicting):
    verdict = evaluate_claims(init_tables(supporting, quantity, stat), [claim_id],
                              strict=True)[0]
    assert verdict.verdict == "supported", verdict.evidence
    verdict = evaluate_claims(init_tables(contradicting, quantity, stat), [claim_id],
                              strict=True)[0]
    assert verdict.verdict == "not supported", verdict.evidence
    # the configuration is missing: only softsign networks, or another dataset
    other = {("softsign", i): v for (_, i), v in supporting.items()}
    verdict = evaluate_claims(init_tables(other, quantity, stat), [claim_id], strict=True)[0]
    assert verdict.verdict == "inconclusive" and "no tanh" in verdict.evidence
    verdict = evaluate_claims(init_tables(supporting, quantity, stat, dataset="mnist"),
                              [claim_id], strict=True)[0]
    assert verdict.verdict == "inconclusive"
    # smoke-scale width: provisional only
    verdict = evaluate_claims(init_tables(supporting, quantity, stat, width=48), [claim_id],
                              strict=True)[0]
    assert verdict.verdict == "inconclusive"
    assert verdict.numbers["provisional_verdict"] == "supported"


def test_p4_numbers_are_seed_means_of_ratios():
    tables = init_tables({("tanh", "standard"): SHRINKING, ("tanh", "normalized"): FLAT},
                         "activation", "std")
    verdict = evaluate_claims(tables, ["P4"], strict=True)[0]
    # Per layer: the first-to-last ratio's geometric mean over the 4 layer gaps.
    assert verdict.numbers["standard"]["ratio"] == pytest.approx(10.0 ** 0.25)
    assert verdict.numbers["standard"]["n_seeds"] == 2  # two learning rates counted once
    assert verdict.numbers["normalized"]["ratio"] == pytest.approx((0.30 / 0.26) ** 0.25)


def test_p6_judges_standard_alone_when_normalized_is_absent():
    tables = init_tables({("tanh", "standard"): [1.0, 1.2, 0.9, 1.1, 1.0]}, "weight_grad",
                         "std")
    verdict = evaluate_claims(tables, ["P6"], strict=True)[0]
    assert verdict.verdict == "supported" and "standard init alone" in verdict.evidence


def test_p8_jacobian_bands():
    def run(standard, normalized):
        tables = init_tables({("tanh", "standard"): standard,
                              ("tanh", "normalized"): normalized},
                             "jacobian", "mean_singular_value", seeds=(0,), first_layer=2)
        return evaluate_claims(tables, ["P8"], strict=True)[0]

    verdict = run([0.48, 0.50, 0.52, 0.50], [0.78, 0.80, 0.82, 0.80])
    assert verdict.verdict == "supported"
    assert verdict.numbers["normalized"]["ratio"] == pytest.approx(0.80)
    assert run([0.80] * 4, [0.80] * 4).verdict == "not supported"
    tables = init_tables({("tanh", "standard"): [0.5] * 4}, "jacobian", "mean_singular_value",
                         first_layer=2)
    verdict = evaluate_claims(tables, ["P8"], strict=True)[0]
    assert verdict.verdict == "inconclusive" and "no tanh/normalized" in verdict.evidence


# ---- claims on training -------------------------------------------------------------------

def paper_table(datasets=("shapeset", "mnist", "cifar10"), seeds=3, **scale) -> dict:
    """Protocol errors around the paper's Table 1 means (+-0.1 point per seed)."""
    column_of = {dataset: column for column, dataset in columns() if dataset is not None}
    errors = {}
    for label, _, _ in ROWS:
        for key in datasets:
            mean = PAPER_TABLE1[label][column_of[key]]
            errors[label, key] = [(mean + 0.1 * (i - (seeds - 1) / 2)) / 100
                                  for i in range(seeds)]
    return table1_tables(errors, **scale)


def test_p10_table1_orderings():
    verdict = evaluate_claims(paper_table(), ["P10"], strict=True)[0]
    assert verdict.verdict == "supported", verdict.evidence
    assert verdict.numbers["parts"]["Shapeset: Tanh N best"] == "supported"

    tables = paper_table()
    runs = tables["runs"]
    sigmoid_mnist = (runs["dataset"] == "mnist") & (runs["activation"] == "sigmoid")
    runs.loc[sigmoid_mnist, "final_test_error"] = 0.010  # sigmoid best on MNIST
    verdict = evaluate_claims(tables, ["P10"], strict=True)[0]
    assert verdict.verdict == "not supported"
    assert verdict.numbers["parts"]["MNIST: sigmoid worst"] == "not supported"

    verdict = evaluate_claims(paper_table(("shapeset", "mnist")), ["P10"], strict=True)[0]
    assert verdict.verdict == "inconclusive"
    assert verdict.numbers["incomplete_datasets"] == ["CIFAR-10"]
    verdict = evaluate_claims(paper_table(updates=10_000), ["P10"], strict=True)[0]
    assert verdict.verdict == "inconclusive"
    assert verdict.numbers["provisional_verdict"] == "supported"
    verdict = evaluate_claims(paper_table(updates=10_000), ["P10"], strict=True,
                              options={"P10": {"min_updates": 0}})[0]
    assert verdict.verdict == "supported"


def test_p2_sequential_saturation():
    def tables(order):
        fab = Fabricator()
        net = fab.net("shapeset", 5, "tanh", "standard")
        for update in range(0, 600_001, 100_000):
            for layer in range(1, 6):
                reached = update >= 100_000 * order.index(layer) + 100_000
                fab.stat(net, update, layer, "activation", "p98", 0.99 if reached else 0.8)
                fab.stat(net, update, layer, "activation", "p02", -0.5)
        return fab.tables()

    verdict = evaluate_claims(tables([1, 2, 3, 4, 5]), ["P2"], strict=True)[0]
    assert verdict.verdict == "supported", verdict.evidence
    assert verdict.numbers["t_reach"] == {"1": 100_000, "2": 200_000, "3": 300_000,
                                          "4": 400_000, "5": 500_000}
    assert evaluate_claims(tables([3, 1, 2, 4, 5]), ["P2"])[0].verdict == "not supported"
    assert evaluate_claims(Fabricator().tables() | {"runs": paper_table()["runs"]},
                           ["P2"])[0].verdict == "inconclusive"


def test_p7_weight_gradient_spread():
    def tables(standard_late, normalized_late):
        fab = Fabricator()
        for initializer, late in (("standard", standard_late), ("normalized", normalized_late)):
            net = fab.net("shapeset", 5, "tanh", initializer, updates=400_000)
            for update in range(0, 400_001, 100_000):
                for layer in range(1, 6):
                    value = 1.0 if update == 0 else late[layer - 1]
                    fab.stat(net, update, layer, "weight_grad", "std", value)
        return fab.tables()

    diverging, even = [4.0, 3.0, 2.0, 1.5, 1.0], [1.2, 1.1, 1.0, 1.0, 1.0]
    assert evaluate_claims(tables(diverging, even), ["P7"])[0].verdict == "supported"
    assert evaluate_claims(tables(even, even), ["P7"])[0].verdict == "not supported"


def test_p11_slower_and_worse():
    def tables(bad_final):
        fab = Fabricator()
        for label, (activation, initializer) in ROW_CONFIG.items():
            bad = label in ("Sigmoid", "Tanh")
            final = bad_final if bad else 0.16
            net = fab.net("shapeset", 5, activation, initializer, error=final)
            for update in range(0, 1_000_001, 100_000):
                progress = min(1.0, update / (800_000 if bad else 200_000))
                fab.curve(net, update, 0.89 - (0.89 - final) * progress)
        return fab.tables()

    verdict = evaluate_claims(tables(0.30), ["P11"], strict=True)[0]
    assert verdict.verdict == "supported", verdict.evidence
    verdict = evaluate_claims(tables(0.10), ["P11"], strict=True)[0]
    assert verdict.verdict == "not supported"
    assert verdict.numbers["parts"]["Shapeset: worse final error"] == "not supported"


def test_p1_sigmoid_top_layer_desaturation():
    fab = Fabricator()
    for depth, desaturate_epoch in ((4, 110), (5, None)):
        net = fab.net("shapeset", depth, "sigmoid", "standard")
        for epoch in range(0, 251, 10):
            if epoch == 0:
                mean = 0.5
            elif desaturate_epoch is not None and epoch >= desaturate_epoch:
                mean = 0.3
            else:
                mean = 0.02
            fab.stat(net, epoch * 20_000, depth, "activation", "mean", mean)
    verdict = evaluate_claims(fab.tables(), ["P1"], strict=True)[0]
    assert verdict.verdict == "supported", verdict.evidence
    assert verdict.numbers["depth4"]["t_desaturated"] == 110 * 20_000


def test_p3_softsign_knees():
    fab = Fabricator()
    knee_peak = [0.0] * 20
    knee_peak[3] = knee_peak[16] = 0.3  # |z| in [0.6, 0.8)
    knee_peak[9] = knee_peak[10] = 0.2  # near 0
    asymptote_peak = [0.0] * 20
    asymptote_peak[0] = asymptote_peak[19] = 0.5
    for activation, saturation in (("softsign", 0.05), ("tanh", 0.4)):
        net = fab.net("shapeset", 5, activation, "standard")
        for layer in range(1, 6):
            fab.stat(net, 1_000_000, layer, "activation", "saturated_fraction", saturation)
            fab.hist(net, 1_000_000, layer, knee_peak if activation == "softsign"
                     else asymptote_peak)
    diverged = fab.net("shapeset", 5, "softsign", "standard", seed=1, diverged=True)
    for layer in range(1, 6):  # its last histogram (before diverging) is left out
        fab.stat(diverged, 20_000, layer, "activation", "saturated_fraction", 0.9)
        fab.hist(diverged, 20_000, layer, asymptote_peak)
    verdict = evaluate_claims(fab.tables(), ["P3"], strict=True)[0]
    assert verdict.verdict == "supported", verdict.evidence
    assert verdict.numbers["softsign_knee_mass"] == pytest.approx(0.6)
    assert verdict.numbers["saturated_fraction"]["softsign"] == pytest.approx(0.05)


def surfaces_unavailable():
    raise ImportError("torch is not installed")


def test_p9_with_injected_surfaces_and_without_provider():
    w1 = np.linspace(-4, 4, 81)
    w2 = np.linspace(-4, 4, 81)
    a, b = np.meshgrid(w1, w2, indexing="ij")
    cross_entropy = np.log1p(np.exp(-(a * b))) + 0.05 * (a**2 + b**2)
    quadratic = (1 - np.tanh(a * b)) ** 2 / 4  # flat over wide regions
    surfaces = {"w1": w1, "w2": w2, "cross_entropy": cross_entropy, "quadratic": quadratic}
    verdict = evaluate_claims({}, ["P9"], strict=True, options={"P9": {"surfaces": surfaces}})[0]
    assert verdict.verdict == "supported", verdict.evidence
    swapped = {**surfaces, "cross_entropy": quadratic, "quadratic": cross_entropy}
    verdict = evaluate_claims({}, ["P9"], options={"P9": {"surfaces": lambda: swapped}})[0]
    assert verdict.verdict == "not supported"
    verdict = evaluate_claims({}, ["P9"], strict=True,
                              options={"P9": {"surfaces": surfaces_unavailable}})[0]
    assert verdict.verdict == "inconclusive" and "unavailable" in verdict.evidence
    # by default, Fig. 5's surfaces (trainability.analysis.cost_surface), the same measure
    verdict = evaluate_claims({}, ["P9"], strict=True)[0]
    assert verdict.numbers["grid"] == [101, 101]
    fractions = plateau_fractions(cost_surface())
    assert verdict.numbers["plateau_fraction"] == pytest.approx(fractions)


def test_p12_inconclusive_without_pretraining_runs():
    verdict = evaluate_claims(paper_table(), ["P12"], strict=True)[0]
    assert verdict.verdict == "inconclusive" and "pre-training" in verdict.evidence


# ---- the ledger ---------------------------------------------------------------------------

def test_ledger_covers_p1_to_p12_and_runs_on_empty_tables():
    expected = [f"P{i}" for i in range(1, 13)]
    assert sorted((k for k in CLAIMS if k.startswith("P")), key=lambda k: int(k[1:])) == expected
    for claim_id in expected:
        text, function = CLAIMS[claim_id]
        assert text and function.rule
    verdicts = evaluate_claims(Fabricator().tables() | {"runs": paper_table()["runs"].iloc[:0]},
                               ids=expected, strict=True,
                               options={"P9": {"surfaces": surfaces_unavailable}})
    assert [v.id for v in verdicts] == expected
    assert {v.verdict for v in verdicts} == {"inconclusive"}


def test_claim_decorator_registers_and_rejects_duplicates(monkeypatch):
    monkeypatch.setattr(ledger, "CLAIMS", dict(ledger.CLAIMS))

    @ledger.claim("S99", "a test claim", rule="always")
    def _s99(tables, value=1):
        return ledger.SUPPORTED, f"value {value}", {"value": np.float64(value)}

    verdict = ledger.evaluate_claims({}, ["S99"], options={"S99": {"value": 2}})[0]
    assert (verdict.id, verdict.verdict, verdict.rule) == ("S99", "supported", "always")
    assert verdict.numbers == {"value": 2.0} and type(verdict.numbers["value"]) is float
    assert list(ledger.CLAIMS)[-1] == "S99"
    with pytest.raises(ValueError, match="already registered"):
        ledger.claim("S99", "again", rule="x")(_s99)


def test_writers_produce_valid_csv_and_json(tmp_path):
    tables = paper_table(("shapeset",), seeds=2)
    tables_dir = write_tables(tables, tmp_path / "tables")
    csv = write_table1(tables_dir, tmp_path / "out" / "table1.csv")
    frame = pd.read_csv(csv)
    assert len(frame) == 20 and frame["bold"].dtype == bool
    assert frame.loc[frame["dataset"] == "Shapeset", "n_seeds"].tolist() == [2] * 5
    out = write_claims(tables_dir, tmp_path / "out" / "claims.json")

    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    payload = json.loads(out.read_text(), parse_constant=reject)
    assert [c["id"] for c in payload["claims"]][:12] == [f"P{i}" for i in range(1, 13)]
    assert all(c["verdict"] in ("supported", "not supported", "inconclusive")
               for c in payload["claims"])
    assert sum(payload["counts"].values()) == len(payload["claims"])
    assert not list((tmp_path / "out").glob(".*partial*"))
