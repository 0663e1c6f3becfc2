"""The results' declared schema: every table the suite writes, its columns and their types.

Run folders (one bundle's training) hold `curves`, `layer_stats` and `histograms`; the
aggregated tables folder holds the same three with `run` and `stage` added, and `runs` (one
row per trained network). Every table is written by `write_table`, which checks the frame
against its declaration, casts each column to its declared type and stamps the schema version
into the file; every table is read by `read_table`, which refuses a file of another version or
shape with one line that says how to rebuild it. Readers can therefore rely on every declared
column being present with its type: nothing downstream patches missing columns.

Version history (`SCHEMA_VERSION` in trainability/__init__.py; each older version keeps an
upgrade here, so that results that cannot be regenerated, such as GPU reference runs, stay
readable):
  1  the first layout; aggregated integer columns of histograms could come out as floats.
  2  types fixed, the axis columns (trick, budget, inputs, train_size) always present.
  3  histograms carry raw counts and each histogram's number of values, minimum, maximum, sum
     and sum of squares (what TensorBoard's histograms need); read from version 2 with
     those missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trainability import SCHEMA_VERSION
from trainability.atomic import replacing

#: Type names: "int" int64, "Int" nullable int64, "float" float64, "str" text, "bool".
_DTYPES = {"int": "int64", "Int": "Int64", "float": "float64", "str": "object", "bool": "bool"}

#: The columns every row of a run's tables carries: its member's config and bundle shape.
MEMBER_COLUMNS: dict[str, str] = {
    "member": "int", "dataset": "str", "depth": "int", "width": "int", "batch_size": "int",
    "train_size": "Int", "budget": "str", "inputs": "str", "data_seed": "int",
    "activation": "str", "initializer": "str", "lr": "float", "init_seed": "int",
    "trick": "str", "diverged_at": "Int", "best_update": "Int",
}
#: What each table of a run folder adds to the member columns.
RUN_TABLES: dict[str, dict[str, str]] = {
    "curves": {"update": "int", "metric": "str", "value": "float"},
    "layer_stats": {"update": "int", "layer": "int", "quantity": "str", "stat": "str",
                    "value": "float"},
    "histograms": {"update": "int", "layer": "int", "quantity": "str", "bin": "int",
                   "bin_left": "float", "bin_right": "float", "count": "Int",
                   "fraction": "float", "n": "Int", "min": "float", "max": "float",
                   "sum": "float", "sum_squares": "float"},
}
#: The job that trained a row, added by aggregation.
RUN_KEYS: dict[str, str] = {"run": "str", "stage": "str"}
#: What identifies a network across the aggregated tables: its job and member.
RUN_KEY_COLUMNS = ["run", "member"]
#: The runs table: one row per trained network.
RUNS_COLUMNS: dict[str, str] = {
    **MEMBER_COLUMNS,
    "final_test_error": "float", "final_train_error": "float", "final_train_loss": "float",
    "final_valid_error": "float", "best_valid_error": "float", "protocol": "bool",
    **RUN_KEYS,
    "updates": "int", "eval_every": "int", "wall_seconds": "float", "git_commit": "str",
    "device": "str", "device_name": "str", "torch_version": "str",
    "trainability_version": "str", "schema_version": "int",
}


def columns(table: str, aggregated: bool) -> dict[str, str]:
    """The declared columns of `table` (a run folder's, or the aggregated tables')."""
    if table == "runs":
        return RUNS_COLUMNS
    return {**MEMBER_COLUMNS, **RUN_TABLES[table], **(RUN_KEYS if aggregated else {})}


class SchemaError(ValueError):
    """A results file of another version or shape; the message says how to rebuild it."""


def conform(frame: pd.DataFrame, table: str, aggregated: bool) -> pd.DataFrame:
    """`frame` with exactly the declared columns, in order, each of its declared type.
    ValueError naming the columns when some are missing or extra (a bug of the writer)."""
    declared = columns(table, aggregated)
    missing = [c for c in declared if c not in frame.columns]
    extra = [c for c in frame.columns if c not in declared]
    if missing or extra:
        raise ValueError(f"table {table!r} does not match its schema: missing {missing}, "
                         f"extra {extra}")
    if len(frame) == 0:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[t]) for c, t in declared.items()})
    return frame[list(declared)].astype({c: _DTYPES[t] for c, t in declared.items()})


def write_table(frame: pd.DataFrame, path: str | Path, table: str, aggregated: bool,
                metadata: Mapping[str, Any] | None = None) -> Path:
    """Write `frame` as the Parquet file of `table`, atomically, with the schema version and
    `metadata` (provenance) in the file's metadata."""
    arrow = pa.Table.from_pandas(conform(frame, table, aggregated), preserve_index=False)
    stamp = {"schema_version": SCHEMA_VERSION, "table": table, **(metadata or {})}
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           b"trainability": json.dumps(stamp).encode()})
    with replacing(path) as partial:
        pq.write_table(arrow, partial, compression="zstd")
    return Path(path)


def file_version(path: str | Path) -> int | None:
    """The schema version of a Parquet file: stamped in it, or (aggregated tables of version
    1, which carried none) in the schema.json beside it; None: not one of the suite's."""
    metadata = pq.read_schema(path).metadata or {}
    stamp = metadata.get(b"trainability")
    if stamp:
        return json.loads(stamp).get("schema_version")
    beside = Path(path).with_name("schema.json")
    return json.loads(beside.read_text()).get("schema_version") if beside.is_file() else None


def read_table(path: str | Path, table: str, aggregated: bool, rebuild: str) -> pd.DataFrame:
    """The table in `path`, checked against its declaration; an older version is upgraded.

    Raises SchemaError (one line, ending with `rebuild`: what to run to rewrite it) for a file
    of a newer or unknown version, or one whose columns do not match.
    """
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path} is missing; {rebuild}")
    version = file_version(path)
    frame = pd.read_parquet(path)
    upgrade = UPGRADES.get(version) if version != SCHEMA_VERSION else (lambda f, t, a: f)
    if upgrade is None:
        raise SchemaError(f"{path} was written with results schema version {version}; this "
                          f"trainability reads versions {sorted(UPGRADES)} and "
                          f"{SCHEMA_VERSION}; {rebuild}")
    try:
        return conform(upgrade(frame, table, aggregated), table, aggregated)
    except (ValueError, TypeError) as error:
        raise SchemaError(f"{path} does not hold the {table} table of schema version "
                          f"{SCHEMA_VERSION} ({error}); {rebuild}") from None


#: The tables of an aggregated tables folder, and what to do with one of another version.
AGGREGATED_TABLES = ("runs", *RUN_TABLES)
REAGGREGATE = "rebuild them: snakemake --forcerun aggregate (or trainability aggregate)"


def read_tables(tables_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The aggregated tables in `tables_dir`, each checked against the schema."""
    return {name: read_table(Path(tables_dir) / f"{name}.parquet", name, aggregated=True,
                             rebuild=REAGGREGATE) for name in AGGREGATED_TABLES}


# ---- upgrades of older versions ----------------------------------------------------------------
#: Axis columns that version-1 tables written before the trick axis lack, and their value.
_V1_AXIS_DEFAULTS = {"trick": "none", "budget": "preset", "inputs": "raw", "train_size": None}


def _from_v1(frame: pd.DataFrame, table: str, aggregated: bool) -> pd.DataFrame:
    """Version 1: fill the axis columns that early tables lack (empty values read as the
    paper's: plain SGD, the preset's budget, raw inputs, the full training set)."""
    frame = frame.copy()
    for column, default in _V1_AXIS_DEFAULTS.items():
        if column not in frame:
            frame[column] = default
        elif default is not None:
            empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
            frame[column] = frame[column].astype(object).where(~empty, default)
    return frame


#: Columns that version-2 histograms lack (counts and raw moments): missing values.
_V2_HISTOGRAM_COLUMNS = ("count", "n", "min", "max", "sum", "sum_squares")


def _from_v2(frame: pd.DataFrame, table: str, aggregated: bool) -> pd.DataFrame:
    """Version 2: histograms without raw counts and moments (exports needing them refuse)."""
    if table != "histograms":
        return frame
    return frame.assign(**{c: pd.NA if c in ("count", "n") else float("nan")
                           for c in _V2_HISTOGRAM_COLUMNS if c not in frame})


UPGRADES: dict[int | None, Callable[[pd.DataFrame, str, bool], pd.DataFrame]] = {
    1: lambda frame, table, aggregated: _from_v2(_from_v1(frame, table, aggregated), table,
                                                 aggregated),
    2: _from_v2,
}
