"""How the report writes numbers, verdicts and dataset names (one place for each)."""

from __future__ import annotations

import json
import math
from typing import Any

from trainability.analysis.common import dataset_rank as catalog_rank
from trainability.data.catalog import DATASETS

VERDICTS = {  # verdict -> (css class, symbol). The text is always printed next to the symbol.
    "supported": ("supported", "✓"),
    "not supported": ("not-supported", "✗"),
    "inconclusive": ("inconclusive", "?"),
}
NOT_EVALUATED = ("not-evaluated", "–")


def finite_number(value: Any) -> float | None:
    """A finite float, or None for NA/NaN/None/non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_number(value: Any, digits: int = 2, signed: bool = False) -> str:
    number = finite_number(value)
    if number is None:
        return "–"
    return f"{number:+.{digits}f}" if signed else f"{number:.{digits}f}"


def fmt_paper(value: Any, one_decimal: bool = False) -> str:
    """A paper number as printed: two decimals ("15.60"), or one where the paper has one."""
    number = finite_number(value)
    return "–" if number is None else f"{number:.{1 if one_decimal else 2}f}"


def fmt_any(value: Any) -> str:
    """A value of the claims' `numbers`: floats to 4 significant digits, the rest as JSON."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt_any(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_any(v)}" for k, v in value.items()) + "}"
    return str(value)


def dataset_label(name: Any) -> str:
    """A dataset's name in the report: its catalog label ("Shapeset-3×2"), else as given."""
    known = DATASETS.get(str(name))
    return known.label if known is not None else str(name)


def dataset_rank(name: Any) -> tuple[int, str]:
    """Sort key of datasets: the catalog's order, then the others by name."""
    return catalog_rank(str(name))


def badge(verdict: str | None) -> dict[str, str]:
    if verdict is None:
        css, symbol = NOT_EVALUATED
        return {"css": css, "symbol": symbol, "text": "not evaluated"}
    css, symbol = VERDICTS.get(str(verdict).strip().lower(), NOT_EVALUATED)
    return {"css": css, "symbol": symbol, "text": str(verdict)}


def values_text(frame: Any, column: str, fmt: str = "{}") -> str:
    """The distinct values of a column, sorted (as strings where they do not compare),
    formatted with `fmt` and joined by commas; "–" when there are none or no such column."""
    if column not in frame.columns:
        return "–"
    values = frame[column].dropna().unique().tolist()
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    return ", ".join(fmt.format(v) for v in values) or "–"
