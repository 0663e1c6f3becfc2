"""Two runs side by side on one self-contained HTML page (`trainability compare A B --out P`).

A run is a folder holding the aggregated tables (runs.parquet and curves.parquet, read through
the declared schema; layer_stats and histograms when present): a tables folder itself, or a
folder with them in `tables/` (reference results) or `results/tables/` (a workflow's working
directory). Its claims are the claims file the pipeline wrote (`claims.json` beside the
tables, or `reports/claims.json` of the working directory); without one, the ledger is
evaluated on the tables here, and the page says so.

The page shows, for run A (the baseline) and run B:

- each run's provenance (networks, updates, widths, devices, commits);
- Table 1 of both runs and their difference B − A, each run's cells bold by the report's rule
  and each difference tested by the same test at the same level
  (`trainability.analysis.compare.table1_comparison`);
- every claim's verdict in both runs, the changed ones marked;
- the test-error curves of both runs overlaid (A solid, B dashed) in an explorer
  (`trainability.report.interactive`), filtered by run, dataset, activation, initializer,
  depth, trick and budget.

`comparison_context` gives what the page shows, so another page (the report's reference-run
display) can show two runs side by side the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trainability.analysis.common import is_diverged
from trainability.analysis.compare import (
    DIFFERENCE_RULE,
    FACETS,
    claims_comparison,
    error_curves,
    table1_comparison,
)
from trainability.analysis.table1 import BOLD_ALPHA, PAPER_ONE_DECIMAL
from trainability.atomic import write_text
from trainability.report.build import environment
from trainability.report.explore import METRIC, Y_TITLE, first_dataset
from trainability.report.format import badge, dataset_label, fmt_number, fmt_paper, values_text
from trainability.report.interactive import RUN_DASHES, curves_explorer, plotly_js
from trainability.report.table1 import fmt_p
from trainability.results import REAGGREGATE, RUN_TABLES, columns, conform, read_table

#: Where a run's tables may be, relative to the folder given, in the order they are looked for.
TABLES_PLACES = (".", "tables", "results/tables")
#: The tables a run must have; the others are read when present.
REQUIRED_TABLES = ("runs", "curves")
#: The claims file the pipeline writes (trainability claims), looked for in these folders
#: relative to the folder given and to its tables folder.
CLAIMS_FILE = "claims.json"
#: The run labels on the page, in the order of the runs given.
SIDES = ("A", "B")
#: Plotly's line styles (interactive.RUN_DASHES) in words.
LINE_WORDS = {"solid": "solid", "dash": "dashed", "dot": "dotted"}


@dataclass
class Run:
    """One run as the comparison reads it."""

    label: str  #: "A" or "B"
    folder: Path  #: as given
    tables_dir: Path
    tables: dict[str, pd.DataFrame]
    claims: list[dict[str, Any]] = field(default_factory=list)
    claims_source: str = ""  #: the claims file, or how the verdicts were obtained


def find_tables(folder: Path) -> Path:
    """The tables folder of a run folder; ValueError saying what to give otherwise."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; give a results folder (with tables/ or "
                         "results/tables/) or a folder of aggregated tables")
    for place in TABLES_PLACES:
        candidate = folder / place
        if all((candidate / f"{name}.parquet").is_file() for name in REQUIRED_TABLES):
            return candidate
    wanted = " and ".join(f"{name}.parquet" for name in REQUIRED_TABLES)
    places = ", ".join(str(folder / p) if p != "." else str(folder) for p in TABLES_PLACES)
    raise ValueError(f"no aggregated tables ({wanted}) in {places}; give a results folder "
                     "or a tables folder (trainability aggregate writes them)")


def read_run_tables(tables_dir: Path) -> dict[str, pd.DataFrame]:
    """runs and curves (required), layer_stats and histograms (empty when absent), each read
    through the schema (trainability.results: a file of another version or shape is refused
    with one line)."""
    tables = {}
    for name in ("runs", *RUN_TABLES):
        path = tables_dir / f"{name}.parquet"
        if name in REQUIRED_TABLES or path.is_file():
            tables[name] = read_table(path, name, aggregated=True, rebuild=REAGGREGATE)
        else:
            tables[name] = conform(pd.DataFrame(columns=list(columns(name, aggregated=True))),
                                   name, aggregated=True)
    return tables


def find_claims(folder: Path, tables_dir: Path) -> Path | None:
    """The claims file of a run: claims.json in the folder given, its reports/, its tables
    folder or the folder above it, or the reports/ of a workflow's working directory."""
    places = [folder, folder / "reports", tables_dir, tables_dir.parent,
              tables_dir.parent.parent / "reports"]
    for place in places:
        if (place / CLAIMS_FILE).is_file():
            return place / CLAIMS_FILE
    return None


def load_claims(folder: Path, tables_dir: Path,
                tables: dict[str, pd.DataFrame]) -> tuple[list[dict[str, Any]], str]:
    """The run's verdicts and where they come from."""
    path = find_claims(folder, tables_dir)
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not a claims file ({error}); rebuild it: "
                             "trainability claims --tables TABLES --out FILE") from None
        claims = data.get("claims") if isinstance(data, dict) else data
        if not isinstance(claims, list) or not all(isinstance(c, dict) and "id" in c
                                                   for c in claims):
            raise ValueError(f"{path} holds no list of claims with ids; rebuild it: "
                             "trainability claims --tables TABLES --out FILE")
        return claims, str(path)
    from trainability.analysis.claims import evaluate_claims

    return ([v.to_dict() for v in evaluate_claims(tables)],
            "no claims file was found: evaluated on the tables by trainability compare")


def load_run(folder: str | Path, label: str) -> Run:
    """Read one run folder (see the module docstring); ValueError with one line if it is not
    one."""
    folder = Path(folder)
    tables_dir = find_tables(folder)
    tables = read_run_tables(tables_dir)
    if tables["runs"].empty:
        raise ValueError(f"{tables_dir / 'runs.parquet'} holds no network; give a run with "
                         "results")
    claims, source = load_claims(folder, tables_dir, tables)
    return Run(label, folder, tables_dir, tables, claims, source)


def run_summary(run: Run) -> dict[str, Any]:
    """What a reader needs to know of a run to compare it: where it is, its networks, their
    budget and where they were trained."""
    runs = run.tables["runs"]
    diverged = is_diverged(runs)
    return {"label": run.label, "folder": str(run.folder), "tables": str(run.tables_dir),
            "networks": len(runs), "protocol": int(runs["protocol"].sum()),
            "diverged": int(diverged.sum()),
            "datasets": ", ".join(dataset_label(d) for d in sorted(runs["dataset"].unique())),
            "updates": values_text(runs, "updates", "{:,}"), "widths": values_text(runs, "width"),
            "devices": values_text(runs, "device_name"), "commits": values_text(runs, "git_commit"),
            "claims_source": run.claims_source}


def _side(row: pd.Series, side: str) -> dict[str, Any]:
    mean = row[f"mean_test_error_{side}"]
    available = pd.notna(mean)
    note = "" if available else (f"all {int(row[f'n_diverged_{side}'])} diverged"
                                 if row[f"n_diverged_{side}"] else "not run")
    return {"available": available, "note": note, "mean": fmt_number(mean),
            "ci": fmt_number(row[f"ci95_halfwidth_{side}"])
            if pd.notna(row[f"ci95_halfwidth_{side}"]) else None,
            "n": int(row[f"n_seeds_{side}"]), "n_diverged": int(row[f"n_diverged_{side}"]),
            "bold": bool(row[f"bold_{side}"]), "best": bool(row[f"best_{side}"])}


def table1_context(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The Table 1 comparison (analysis.compare.table1_comparison) as groups of formatted
    cells, one group per dataset that either run trained."""
    groups = []
    for dataset, cells in frame.groupby("dataset", sort=False):
        if not (cells["mean_test_error_a"].notna().any()
                or cells["mean_test_error_b"].notna().any()):
            continue
        rows = []
        for _, row in cells.iterrows():
            rows.append({
                "label": row["row"], "a": _side(row, "a"), "b": _side(row, "b"),
                "diff": fmt_number(row["diff"], signed=True).replace("-", "−"),
                "p_value": fmt_p(row["p_value"]) or "–", "significant": row["significant"],
                "paper": fmt_paper(row["paper_test_error"],
                                   (row["row"], dataset) in PAPER_ONE_DECIMAL)})
        groups.append({"dataset": dataset, "rows": rows})
    return groups


def comparison_context(run_a: Run, run_b: Run) -> dict[str, Any]:
    """Everything the comparison page shows of two runs (templates/compare.html.j2)."""
    claims = claims_comparison(run_a.claims, run_b.claims)
    for claim in claims:
        claim["badge_a"], claim["badge_b"] = badge(claim["verdict_a"]), badge(claim["verdict_b"])
    curves = pd.concat([error_curves(run.tables, METRIC).assign(side=run.label)
                        for run in (run_a, run_b)], ignore_index=True)
    return {
        "runs": [run_summary(run_a), run_summary(run_b)],
        "table1": table1_context(table1_comparison(run_a.tables, run_b.tables)),
        "alpha": BOLD_ALPHA, "difference_rule": DIFFERENCE_RULE,
        "claims": claims, "n_changed": sum(c["changed"] for c in claims),
        "curves": curves_explorer("compare-curves", curves, y_title=Y_TITLE,
                                  facets=("side", *FACETS), initial=first_dataset(curves),
                                  sides=(run_a.label, run_b.label)),
        "lines": dict(zip((run_a.label, run_b.label), (LINE_WORDS[d] for d in RUN_DASHES),
                          strict=True)),
    }


def build_comparison(folder_a: str | Path, folder_b: str | Path,
                     out_html: str | Path) -> Path:
    """Write the comparison page of two run folders to `out_html` (atomically); ValueError
    (one line) when a folder is not a run."""
    run_a, run_b = (load_run(folder, side) for folder, side in
                    zip((folder_a, folder_b), SIDES, strict=True))
    html = environment().get_template("compare.html.j2").render(
        **comparison_context(run_a, run_b), plotly_js=plotly_js())
    return write_text(Path(out_html), html)
