"""Hand-made tables as the suite reads them: written by its writer (conftest.write_tables),
read back through the declared schema (trainability.results.read_tables), so that every
declared column is present with its type, as in the pipeline's tables."""

from __future__ import annotations

import tempfile

import pandas as pd

from conftest import write_tables
from trainability.results import AGGREGATED_TABLES, read_tables


def as_read(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`tables` written and read back; a table not given is empty. Columns the schema does
    not declare are dropped, as the writer drops them."""
    with tempfile.TemporaryDirectory() as folder:
        return read_tables(write_tables({n: tables.get(n, pd.DataFrame())
                                         for n in AGGREGATED_TABLES}, folder))
