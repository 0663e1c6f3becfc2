"""The report's explorers (trainability.report.interactive): the test-error curves of the
paper's networks (beside Figs. 11 and 12), those of the trick studies, and the table of all
networks, each filtered by dataset, activation, initializer, depth, trick and budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trainability.analysis.common import on_axes, paper_rows
from trainability.analysis.compare import error_curves
from trainability.report.format import dataset_rank
from trainability.report.interactive import curves_explorer, table_explorer
from trainability.report.runs import sort_runs
from trainability.results import REAGGREGATE, columns, conform, read_table

#: The metric the curves explorers draw, and its axis title.
METRIC, Y_TITLE = "test_error", "test error (%)"


def load_curves(tables_dir: str | Path | None) -> pd.DataFrame:
    """The aggregated curves table (read through the schema); empty without one."""
    path = Path(tables_dir) / "curves.parquet" if tables_dir is not None else None
    if path is None or not path.is_file():
        return conform(pd.DataFrame(columns=list(columns("curves", aggregated=True))),
                       "curves", aggregated=True)
    return read_table(path, "curves", aggregated=True, rebuild=REAGGREGATE)


def first_dataset(curves: pd.DataFrame) -> dict[str, str]:
    """The initial filter of a curves explorer: the first dataset in the catalog's order,
    as Figs. 11 and 12 show one dataset per panel."""
    if curves.empty:
        return {}
    return {"dataset": min(curves["dataset"].astype(str).unique(), key=dataset_rank)}


def report_explorers(runs: pd.DataFrame, tables_dir: str | Path | None) -> dict[str, Any]:
    """{"errors": the paper's networks' curves, "tricks": the trick studies' curves,
    "runs": the table of every network, in the order of sort_runs}."""
    curves = error_curves({"runs": runs, "curves": load_curves(tables_dir)}, METRIC)
    paper = paper_rows(curves)
    tricks = curves.drop(on_axes(curves).index) if not curves.empty else curves
    caption = ("Test error of every protocol network (each configuration at its selected "
               "learning rate, one curve per seed), from the curves table.")
    return {
        "errors": curves_explorer("explore-errors", paper, y_title=Y_TITLE,
                                  initial=first_dataset(paper)),
        "errors_caption": caption + " The paper's plain SGD at the preset's budget; Figs. 11 "
                                    "and 12 above are the printed version.",
        "tricks": curves_explorer("explore-tricks", tricks, y_title=Y_TITLE,
                                  initial=first_dataset(tricks), color_by="trick"),
        "tricks_caption": caption + " The trick studies' networks, coloured by trick; the "
                                    "figures above are the printed version.",
        "runs": table_explorer("explore-runs", sort_runs(runs).to_dict("records")),
    }
