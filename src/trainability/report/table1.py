"""Table 1 as the report shows it: the CSV of trainability.analysis.table1 as rows x datasets
of formatted cells, in the paper's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trainability.analysis.table1 import PAPER_COLUMNS, PAPER_ONE_DECIMAL, ROW_LABELS
from trainability.report.format import finite_number, fmt_number, fmt_paper

#: The claims Table 1 bears on.
TABLE1_CLAIMS = ("P10",)
#: Columns of the Table 1 CSV (`trainability.analysis.table1.COLUMNS`) that the report uses.
TABLE1_REQUIRED = ("row", "dataset", "mean_test_error", "paper_test_error")
#: Known bold rules (`bold_rule` column) in words; another rule is shown by its name.
BOLD_RULES = {
    "welch_t_vs_best_p0.005": (
        "Welch's two-sample t-test (unequal variances, two-sided) of each cell against the "
        "cell with the lowest mean in its dataset column"),
}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    number = finite_number(value)
    return bool(number) if number is not None else False


def fmt_p(value: Any) -> str | None:
    p = finite_number(value)
    if p is None:
        return None
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def load_table1(table1_csv: str | Path | None) -> dict[str, Any]:
    """Table 1 as rows x datasets of formatted cells, in the paper's order."""
    result: dict[str, Any] = {"available": False, "datasets": list(PAPER_COLUMNS),
                              "groups": [], "rule": None, "test": None, "depths": [],
                              "widths": []}
    if table1_csv is None or not Path(table1_csv).is_file():
        return result
    frame = pd.read_csv(table1_csv)
    missing = [c for c in TABLE1_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{table1_csv}: no column {', '.join(missing)} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    datasets, row_labels = list(PAPER_COLUMNS), list(ROW_LABELS)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        row, dataset = str(record["row"]), str(record["dataset"])  # the paper's column
        datasets += [dataset] if dataset not in datasets else []
        row_labels += [row] if row not in row_labels else []
        ours = finite_number(record["mean_test_error"])
        ci = finite_number(record.get("ci95_halfwidth"))
        n_seeds = finite_number(record.get("n_seeds"))
        n_div = finite_number(record.get("n_diverged"))
        status = str(record.get("status") or "")
        if ours is None:
            note = (f"all {int(n_div)} diverged" if n_div else
                    "not run" if status in ("", "nan", "not run") else status)
        else:
            note = ""
        cells[(row, dataset)] = {
            "available": ours is not None, "note": note,
            "ours": fmt_number(ours), "ci": fmt_number(ci) if ci is not None else None,
            "n_seeds": int(n_seeds) if n_seeds is not None else None,
            "n_diverged": int(n_div) if n_div is not None else 0,
            "paper": fmt_paper(record["paper_test_error"], (row, dataset) in PAPER_ONE_DECIMAL),
            "difference": fmt_number(record.get("diff"), signed=True).replace("-", "−"),
            "bold": _truthy(record.get("bold")), "best": _truthy(record.get("best")),
            "p_value": fmt_p(record.get("p_value")),
        }
    rules = sorted({str(r) for r in frame.get("bold_rule", pd.Series(dtype=str)).dropna()})
    ran = frame[frame["mean_test_error"].notna()]
    depths = []
    if "depth" in frame.columns:
        for row in row_labels:
            at = frame.loc[frame["row"] == row, "depth"].dropna().unique().tolist()
            depths += [(row, int(at[0]))] if len(at) == 1 else []
    result.update(
        available=True, datasets=datasets,
        groups=[{"dataset": d, "rows": [{"label": r, "cell": cells[(r, d)]}
                                        for r in row_labels if (r, d) in cells]}
                for d in datasets if any((r, d) in cells for r in row_labels)],
        rule=" / ".join(rules) or None,
        test=" / ".join(BOLD_RULES.get(r, r) for r in rules) or None,
        depths=depths,
        widths=sorted({int(w) for w in ran.get("width", pd.Series(dtype=float)).dropna()}))
    return result
