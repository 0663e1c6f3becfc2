"""Shared selection helpers for Table 1 and the claims ledger.

Everything here reads the tidy tables written by `trainability.pipeline.aggregate`
(`runs`, `curves`, `layer_stats`, `histograms`) and never modifies them.

Conventions used throughout the analysis layer:

- A *configuration* is (dataset, depth, activation, initializer); when several widths are
  present for one configuration the largest is used (the paper's width is 1000; smaller
  widths come from smoke runs) and the width is reported.
- *Protocol* networks are the rows with `protocol == True` in `runs`: the member at the
  selected learning rate of each sweep plus every member of the seeds stage. Statistics of
  other tables are attached to runs through the (run, member) key.
- A network is *diverged* when `diverged_at` is set or its final test error is NaN.
- The trick axis: every network has a `trick` ("none" = the paper's plain SGD) and a `budget`
  ("preset" = the scale preset's budget, else the name of a study with its own budget).
  Tables written before the trick axis lack both columns; they read as "none" and "preset"
  (`with_axes`). The paper's side (Table 1, P1-P11) uses only trick "none" at the preset
  budget: `protocol_runs`, `config_rows` and `init_rows` filter on (trick, budget), default
  ("none", "preset"); pass None to accept any value.
- "Epoch" means 20,000 updates, the unit of the paper's training-time figures (whether the
  paper meant updates or examples is UNCONFIRMED, see the fact sheet Sec. 1.7).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

#: Updates in one "epoch" of the paper's training-time figures.
EPOCH_UPDATES = 20_000
#: The paper's training budget, in updates ("a large number of updates (5 million)").
PAPER_UPDATES = 5_000_000
#: The paper's units per hidden layer.
PAPER_WIDTH = 1000

RUN_KEY = ["run", "member"]
#: The paper's plain SGD on the trick axis, and the scale preset's budget.
PAPER_TRICK = "none"
PAPER_BUDGET = "preset"
#: Axis columns that older tables may lack, with the value they then take.
#: Values of BundleConfig.inputs: raw pixels (the paper's setting), or standardized.
RAW_INPUTS, STANDARDIZED_INPUTS = "raw", "standardized"
AXIS_DEFAULTS = {"trick": PAPER_TRICK, "budget": PAPER_BUDGET, "inputs": RAW_INPUTS}


def tables_empty(tables: Mapping[str, pd.DataFrame], name: str) -> bool:
    frame = tables.get(name)
    return frame is None or len(frame) == 0


def is_diverged(runs: pd.DataFrame) -> pd.Series:
    """Boolean Series: the network diverged (diverged_at set or no final test error)."""
    diverged = runs["diverged_at"].notna() if "diverged_at" in runs else False
    return pd.Series(np.asarray(diverged, dtype=bool) | runs["final_test_error"].isna().to_numpy(),
                     index=runs.index)


def with_axes(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `trick`, `budget` and `inputs` columns, missing or empty values read as
    the paper's ("none", "preset", "raw"), and a `train_size` column (None: the full
    training set) for tables written before the trick axis existed. Returns `frame` itself
    when nothing needs filling. The one definition of "the paper's rows" for analysis,
    figures and report."""
    fill = {}
    for column, default in AXIS_DEFAULTS.items():
        if column not in frame:
            fill[column] = default
        else:
            missing = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
            if missing.any():
                fill[column] = frame[column].astype(object).where(~missing, default)
    if "train_size" not in frame:
        fill["train_size"] = None  # the full training set
    return frame.assign(**fill) if fill else frame


def on_axes(frame: pd.DataFrame, trick: str | None = PAPER_TRICK,
            budget: str | None = PAPER_BUDGET) -> pd.DataFrame:
    """Rows of `frame` with this trick and budget (None: any); absent columns count as the
    paper's values."""
    if trick is None and budget is None:
        return frame
    frame = with_axes(frame)
    mask = np.ones(len(frame), dtype=bool)
    if trick is not None:
        mask &= (frame["trick"].astype(str) == trick).to_numpy()
    if budget is not None:
        mask &= (frame["budget"].astype(str) == budget).to_numpy()
    return frame[mask]


def paper_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's side: trick "none" at the preset budget."""
    return on_axes(frame, PAPER_TRICK, PAPER_BUDGET)


def _restrict_to_runs(frame: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                      trick: str | None, budget: str | None) -> pd.DataFrame:
    """Rows of a non-runs table whose network (run, member) has this trick and budget in
    `runs` (the authority: curves and layer_stats need not carry the budget)."""
    if trick is None and budget is None:
        return frame
    if tables_empty(tables, "runs") or not set(RUN_KEY) <= set(frame.columns):
        return on_axes(frame, trick, budget)
    allowed = on_axes(tables["runs"], trick, budget)[RUN_KEY].drop_duplicates()
    return frame.merge(allowed, on=RUN_KEY, how="inner")


def trick_names(trick: Any) -> tuple[str, ...]:
    """The spec names of a trick string: "batchnorm+clip_norm:1" -> ("batchnorm",
    "clip_norm"); "none" (or a missing value) -> ()."""
    if trick is None or (isinstance(trick, float) and math.isnan(trick)):
        return ()
    text = str(trick).strip()
    if text in ("", PAPER_TRICK):
        return ()
    return tuple(item.split(":", 1)[0].strip() for item in text.split("+"))


def welch_less(a: Any, b: Any) -> float:
    """One-sided Welch t-test p-value for mean(a) < mean(b) (scipy.stats.ttest_ind,
    equal_var=False, alternative="less"). NaN when a side has fewer than 2 values; when both
    sides have zero variance, 0 if mean(a) < mean(b) else 1."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.var(a, ddof=1) == 0 and np.var(b, ddof=1) == 0:
        return 0.0 if np.mean(a) < np.mean(b) else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)


def _match(frame: pd.DataFrame, **where: Any) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        if value is None:
            continue
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def largest_width(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep only the rows of the largest width present."""
    if len(frame) == 0 or "width" not in frame:
        return frame
    return frame[frame["width"] == frame["width"].max()]


def protocol_runs(tables: Mapping[str, pd.DataFrame], dataset: str, depth: int,
                  activation: str, initializer: str, trick: str | None = PAPER_TRICK,
                  budget: str | None = PAPER_BUDGET) -> pd.DataFrame:
    """The protocol networks of one configuration (largest width), one row per seed.

    Only networks with this trick and budget (default: the paper's plain SGD at the preset
    budget; None = any). If the same (width, lr, seed, data seed) network appears in both
    stages it is counted once.
    """
    if tables_empty(tables, "runs"):
        return pd.DataFrame()
    runs = on_axes(tables["runs"], trick, budget)
    rows = _match(runs[runs["protocol"].astype(bool)], dataset=dataset, depth=depth,
                  activation=activation, initializer=initializer)
    rows = largest_width(rows)
    keys = [c for c in ("width", "lr", "init_seed", "data_seed", "batch_size") if c in rows]
    return rows.sort_values(["stage", "run", "member"]).drop_duplicates(keys)


def attach_protocol(frame: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """`frame` (curves, layer_stats or histograms rows) with the runs' protocol flag."""
    flags = runs[[*RUN_KEY, "protocol"]].drop_duplicates(RUN_KEY)
    return frame.merge(flags, on=RUN_KEY, how="left")


def config_rows(tables: Mapping[str, pd.DataFrame], name: str, dataset: str, depth: int,
                activation: str, initializer: str, protocol_only: bool,
                trick: str | None = PAPER_TRICK, budget: str | None = PAPER_BUDGET,
                **where: Any) -> pd.DataFrame:
    """Rows of table `name` for one configuration (largest width).

    With protocol_only, only rows of protocol networks (matched by run and member) are kept;
    otherwise every network of the configuration, whatever its learning rate. Only networks
    with this trick and budget (default the paper's; None = any), judged from `runs`.
    """
    if tables_empty(tables, name):
        return pd.DataFrame()
    rows = _match(tables[name], dataset=dataset, depth=depth, activation=activation,
                  initializer=initializer, **where)
    if name == "runs":
        rows = on_axes(rows, trick, budget)
    elif len(rows):
        rows = _restrict_to_runs(rows, tables, trick, budget)
    if protocol_only and len(rows):
        chosen = protocol_runs(tables, dataset, depth, activation, initializer, trick, budget)
        if len(chosen) == 0:
            return rows.iloc[0:0]
        rows = rows.merge(chosen[RUN_KEY], on=RUN_KEY, how="inner")
    return largest_width(rows)


def init_rows(tables: Mapping[str, pd.DataFrame], name: str, dataset: str, depth: int,
              activation: str, initializer: str, trick: str | None = PAPER_TRICK,
              budget: str | None = PAPER_BUDGET, **where: Any) -> pd.DataFrame:
    """Rows at update 0 (initialization), one network per init seed.

    At update 0 the learning rate plays no part, so every network of the configuration
    counts, and networks sharing an init seed (the same weights at different rates) are
    counted once: the first by (run, member).
    """
    rows = config_rows(tables, name, dataset, depth, activation, initializer,
                       protocol_only=False, trick=trick, budget=budget, update=0, **where)
    if len(rows) == 0:
        return rows
    first = (rows[[*RUN_KEY, "init_seed"]].drop_duplicates()
             .sort_values(RUN_KEY).drop_duplicates("init_seed"))
    return rows.merge(first[RUN_KEY], on=RUN_KEY, how="inner")


def drop_diverged(rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """`rows` without those of diverged networks (matched by run and member)."""
    if len(rows) == 0 or tables_empty(tables, "runs"):
        return rows
    runs = tables["runs"]
    diverged = runs.loc[is_diverged(runs), RUN_KEY].drop_duplicates()
    if len(diverged) == 0:
        return rows
    marked = rows.merge(diverged.assign(_diverged=True), on=RUN_KEY, how="left")
    return rows[marked["_diverged"].isna().to_numpy()]


def finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON-ready Python; NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        return [jsonable(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value if isinstance(value, str) else str(value)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to a temporary sibling, then rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def dump_json(payload: Any) -> str:
    return json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n"
