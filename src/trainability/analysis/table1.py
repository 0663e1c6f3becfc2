"""Table 1 of Glorot & Bengio (2010): test error (%) of the five deep networks, ours vs paper.

`table1(tables)` returns a tidy frame, one row per (paper row, dataset column):

    row, activation, initializer, depth, dataset, dataset_key, status, width, lr,
    n_seeds, n_diverged, mean_test_error, ci95_halfwidth, std_test_error,
    paper_test_error, diff, bold, p_value, best, bold_rule

Errors are in percent. Rows are in the paper's order (Softsign, Softsign N, Tanh, Tanh N,
Sigmoid; "N" = normalized initialization, the others use the standard initialization, and
the Sigmoid row uses the standard initialization) and columns in the paper's order
(Shapeset, MNIST, CIFAR-10, ImageNet). A column is filled by the dataset of the catalog
(trainability.data.catalog) whose `column` names it (`columns()`).

What the numbers are:

- *ours*: the protocol networks (`runs.protocol`: each configuration at its selected
  learning rate, every seed) of depth `depth` (5, as in the paper). When several widths are
  present the largest is used. Only the paper's plain SGD at the scale preset's budget
  counts (trick "none", budget "preset"): the networks of the trick studies never enter
  Table 1.
- The **Sigmoid row's depth is UNCONFIRMED** in the paper (Sec. 2.3 says the best sigmoid
  depth on Shapeset was 4; the table says 5 hidden layers). It is the parameter
  `sigmoid_depth`, default 5; the `depth` column states the depth used for every row.
- **Diverged networks** (diverged_at set, or no final test error) are *excluded* from the
  mean, the CI and the test, and counted in `n_diverged`; they are not scored as errors at
  chance. `n_seeds` counts the networks that entered the mean.
- `ci95_halfwidth`: Student-t 95% half-width of the mean over seeds,
  t_{0.975, n-1} * s / sqrt(n) with the sample std s; NaN with n = 1.
- `paper_test_error`: Table 1 as printed (53.8 and 55.9 have one decimal in the paper).
  ImageNet (Small-ImageNet 37x37) is not in the catalog: its cells are paper-only with
  status "not run". Cells of datasets that were not trained have status "not run" too.
- `diff` = ours - paper, in percentage points.

Bold rule (`BOLD_RULE`): the paper's caption says bold results are "statistically
different from non-bold ones under the null hypothesis test with p = 0.005" without naming
the test, and which cells are bold is UNCONFIRMED. Here, within each dataset column, the
configuration with the lowest mean (`best`) is bold, and so is every configuration that is
NOT significantly different from it under Welch's two-sample t-test
(scipy.stats.ttest_ind, equal_var=False, two-sided) at p = 0.005, i.e. with p >= 0.005.
`p_value` is that test's p-value against the best cell (NaN for the best cell itself). With
fewer than 2 seeds in either cell the test is undefined: p is NaN and only the best is
bold. When both cells have zero variance the t statistic is undefined; p is then 1 if the
means are equal and 0 otherwise.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.analysis.common import is_diverged, protocol_runs
from trainability.analysis.stats import ci_halfwidth, welch_p
from trainability.atomic import write_text
from trainability.data.catalog import DATASETS
from trainability.results import read_tables

#: Name of the bold rule (written into every row's `bold_rule` column).
BOLD_RULE = "welch_t_vs_best_p0.005"
#: Significance level of the bold rule (the paper's caption).
BOLD_ALPHA = 0.005
#: The paper's hidden-layer count for Table 1.
TABLE1_DEPTH = 5

#: (row label, activation, initializer) in the paper's order.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("Softsign", "softsign", "standard"),
    ("Softsign N", "softsign", "normalized"),
    ("Tanh", "tanh", "standard"),
    ("Tanh N", "tanh", "normalized"),
    ("Sigmoid", "sigmoid", "standard"),
)
#: Table 1 as printed (test error, %), by row and by the paper's column. Fact sheet Sec. 3.
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "Softsign": {"Shapeset": 16.27, "MNIST": 1.64, "CIFAR-10": 55.78, "ImageNet": 69.14},
    "Softsign N": {"Shapeset": 16.06, "MNIST": 1.72, "CIFAR-10": 53.8, "ImageNet": 68.13},
    "Tanh": {"Shapeset": 27.15, "MNIST": 1.76, "CIFAR-10": 55.9, "ImageNet": 70.58},
    "Tanh N": {"Shapeset": 15.60, "MNIST": 1.64, "CIFAR-10": 52.92, "ImageNet": 68.57},
    "Sigmoid": {"Shapeset": 82.61, "MNIST": 2.21, "CIFAR-10": 57.28, "ImageNet": 70.66},
}
#: The paper's columns, in its order.
PAPER_COLUMNS: tuple[str, ...] = tuple(PAPER_TABLE1["Softsign"])
#: The row labels, in the paper's order.
ROW_LABELS: tuple[str, ...] = tuple(label for label, _, _ in ROWS)

#: Cells printed with one decimal in the paper (all others have two).
PAPER_ONE_DECIMAL = {("Softsign N", "CIFAR-10"), ("Tanh", "CIFAR-10")}


def paper_text(row: str, dataset: str) -> str:
    """A Table 1 number as the paper prints it ("15.60", "53.8")."""
    digits = 1 if (row, dataset) in PAPER_ONE_DECIMAL else 2
    return f"{PAPER_TABLE1[row][dataset]:.{digits}f}"


COLUMNS = ["row", "activation", "initializer", "depth", "dataset", "dataset_key", "status",
           "width", "lr", "updates", "n_seeds", "n_diverged", "mean_test_error",
           "ci95_halfwidth", "std_test_error", "paper_test_error", "diff", "bold", "p_value",
           "best", "bold_rule"]


def columns() -> list[tuple[str, str | None]]:
    """(the paper's column, the catalog's dataset that fills it or None) in the paper's order:
    a dataset fills the column named by its `column` (trainability.data.catalog); a column
    no registered dataset fills (ImageNet) is the paper's alone."""
    by_column = {d.column: name for name, d in DATASETS.items() if d.column is not None}
    return [(column, by_column.get(column)) for column in PAPER_COLUMNS]


def cell_errors(tables: Mapping[str, pd.DataFrame], dataset: str, depth: int, activation: str,
          initializer: str) -> tuple[dict, np.ndarray]:
    runs = protocol_runs(tables, dataset, depth, activation, initializer)
    if len(runs) == 0:
        return {"status": "not run", "width": math.nan, "lr": "", "updates": math.nan,
                "n_seeds": 0, "n_diverged": 0}, np.array([])
    diverged = is_diverged(runs)
    errors = runs.loc[~diverged, "final_test_error"].to_numpy(dtype=float) * 100.0
    lrs = sorted(set(runs["lr"].astype(float)))
    info = {
        "status": "ok" if len(errors) else "all diverged",
        "width": int(runs["width"].iloc[0]),
        "lr": ",".join(f"{lr:g}" for lr in lrs),
        "updates": int(runs["updates"].min()) if "updates" in runs else math.nan,
        "n_seeds": len(errors),
        "n_diverged": int(diverged.sum()),
    }
    return info, errors


def table1(tables: Mapping[str, pd.DataFrame], depth: int = TABLE1_DEPTH,
           sigmoid_depth: int = TABLE1_DEPTH, alpha: float = BOLD_ALPHA) -> pd.DataFrame:
    """Table 1, tidy (see the module docstring for every column and the bold rule).

    Args:
        tables: the aggregate tables (`trainability.results.read_tables`).
        depth: hidden layers of the Softsign and Tanh rows (the paper: 5).
        sigmoid_depth: hidden layers of the Sigmoid row (UNCONFIRMED in the paper; 5 or 4).
        alpha: significance level of the bold rule (the paper: 0.005).
    """
    records = []
    samples: dict[tuple[str, str], np.ndarray] = {}
    table_columns = columns()
    for label, activation, initializer in ROWS:
        row_depth = sigmoid_depth if activation == "sigmoid" else depth
        for column, key in table_columns:
            paper = PAPER_TABLE1[label][column]
            if key is None:
                info, errors = {"status": "not run", "width": math.nan, "lr": "",
                                "updates": math.nan, "n_seeds": 0, "n_diverged": 0}, np.array([])
            else:
                info, errors = cell_errors(tables, key, row_depth, activation, initializer)
            samples[label, column] = errors
            mean = float(np.mean(errors)) if len(errors) else math.nan
            records.append({
                "row": label, "activation": activation, "initializer": initializer,
                "depth": row_depth, "dataset": column, "dataset_key": key or "",
                **info,
                "mean_test_error": mean,
                "ci95_halfwidth": ci_halfwidth(errors),
                "std_test_error": float(np.std(errors, ddof=1)) if len(errors) > 1 else math.nan,
                "paper_test_error": paper,
                "diff": mean - paper,
                "bold": False, "p_value": math.nan, "best": False, "bold_rule": BOLD_RULE,
            })
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    for column, _ in table_columns:
        in_column = frame.index[(frame["dataset"] == column) & frame["mean_test_error"].notna()]
        if len(in_column) == 0:
            continue
        best = frame.loc[in_column, "mean_test_error"].idxmin()
        best_sample = samples[frame.at[best, "row"], column]
        frame.loc[best, ["best", "bold"]] = True
        for index in in_column:
            if index == best:
                continue
            p = welch_p(samples[frame.at[index, "row"], column], best_sample)
            frame.at[index, "p_value"] = p
            frame.at[index, "bold"] = bool(math.isfinite(p) and p >= alpha)
    frame["bold"] = frame["bold"].astype(bool)
    frame[["width", "updates"]] = frame[["width", "updates"]].astype("Int64")
    frame["best"] = frame["best"].astype(bool)
    return frame


def write_table1(tables_dir: str | Path, out_csv: str | Path, **kwargs) -> Path:
    """Compute Table 1 from the tables in `tables_dir` and write it as CSV, atomically."""
    frame = table1(read_tables(tables_dir), **kwargs)
    return write_text(out_csv, frame.to_csv(index=False))


# ---- presentation -----------------------------------------------------------------------

def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "—"


def format_cell(row: pd.Series, sep: str = " / ") -> tuple[str, bool]:
    """("ours ± CI / paper / Δ", bold) for one tidy row; paper-only cells show the paper."""
    paper = paper_text(row["row"], row["dataset"])
    if row["status"] == "not run" or not math.isfinite(row["mean_test_error"]):
        note = "not run" if row["status"] == "not run" else f"all {row['n_diverged']} diverged"
        return f"{note}{sep}{paper}{sep}—", False
    ours = _fmt(row["mean_test_error"])
    if math.isfinite(row["ci95_halfwidth"]):
        ours += f" ± {_fmt(row['ci95_halfwidth'])}"
    ours += f" (n={row['n_seeds']}"
    ours += f", {row['n_diverged']} div.)" if row["n_diverged"] else ")"
    diff = f"{row['diff']:+.2f}".replace("-", "−")
    return f"{ours}{sep}{paper}{sep}{diff}", bool(row["bold"])


def _footnote(frame: pd.DataFrame) -> str:
    sigmoid = frame.loc[frame["row"] == "Sigmoid", "depth"]
    sigmoid_depth = int(sigmoid.iloc[0]) if len(sigmoid) else TABLE1_DEPTH
    return (f"Cells: our mean test error (%) ± 95% Student-t CI over seeds (n = networks in the "
            f"mean) / the paper's Table 1 / difference ours − paper (points). Bold "
            f"({BOLD_RULE}): per dataset, the lowest mean and every configuration not "
            f"significantly different from it (Welch t-test, p ≥ {BOLD_ALPHA}); with n < 2 "
            f"only the lowest. Diverged networks are excluded from the mean and counted "
            f"(\"div.\"). Sigmoid row: depth {sigmoid_depth} (the paper's depth for it is "
            f"UNCONFIRMED). ImageNet: paper only, not run.")


def table1_markdown(frame: pd.DataFrame, sep: str = " / ") -> str:
    """The paper's layout (rows x datasets) as a Markdown table, bold where flagged."""
    names = list(PAPER_COLUMNS)
    lines = ["| TYPE | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for label in ROW_LABELS:
        cells = []
        for column in names:
            row = frame[(frame["row"] == label) & (frame["dataset"] == column)].iloc[0]
            text, bold = format_cell(row, sep)
            cells.append(f"**{text}**" if bold else text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + _footnote(frame) + "\n"


def table1_html(frame: pd.DataFrame, sep: str = " / ") -> str:
    """The paper's layout as an HTML <table>, bold (<b>) where flagged."""
    out = ["<table class=\"table1\">", "<thead><tr><th>TYPE</th>"
           + "".join(f"<th>{html.escape(c)}</th>" for c in PAPER_COLUMNS) + "</tr></thead>",
           "<tbody>"]
    for label in ROW_LABELS:
        cells = []
        for column in PAPER_COLUMNS:
            row = frame[(frame["row"] == label) & (frame["dataset"] == column)].iloc[0]
            text, bold = format_cell(row, sep)
            text = html.escape(text)
            cells.append(f"<td><b>{text}</b></td>" if bold else f"<td>{text}</td>")
        out.append(f"<tr><th>{html.escape(label)}</th>" + "".join(cells) + "</tr>")
    out += ["</tbody>", f"<caption>{html.escape(_footnote(frame))}</caption>", "</table>"]
    return "\n".join(out) + "\n"
