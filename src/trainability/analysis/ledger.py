"""How the claims ledger works: a claim is one registered function of the tables.

Each claim is registered with the `claim` decorator, which records its id, its text and its
decision rule (a sentence built from the named threshold constants of its module, so the rule
printed in the ledger is the rule the code applies). The decorated function receives the
aggregate tables (`trainability.results.read_tables`) plus optional keyword options and
returns `(verdict, evidence, numbers)`; the decorator wraps that into a `Verdict`. Verdicts
are "supported", "not supported" or "inconclusive"; a claim is inconclusive, with the reason
in `evidence`, when the configuration it needs is absent or the training budget is too short
to judge it. Adding a claim is one function in one of the claim modules (or a new module
imported by `trainability.analysis.claims`, which is the whole ledger):

    from trainability.analysis.ledger import claim, SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE

    @claim("S9", "A product of many random Gaussian matrices explodes ...",
           rule="log10 of the product's norm after 100 factors > 20")
    def _s9(tables, **options):
        ...
        return SUPPORTED, "norm 1e25 after 100 products", {"log10_norm": 25.0}

Several sub-checks combine as (`combine`): any "not supported" -> not supported; all
"supported" -> supported; otherwise inconclusive. `scale_gate` turns a verdict reached on too
small a scale (updates, width) into "inconclusive", keeping the provisional one in the numbers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from trainability.analysis.common import jsonable

Outcome = Literal["supported", "not supported", "inconclusive"]
SUPPORTED: Outcome = "supported"
NOT_SUPPORTED: Outcome = "not supported"
INCONCLUSIVE: Outcome = "inconclusive"
OUTCOMES = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)


@dataclass
class Verdict:
    """One claim's verdict with its rule, a short human evidence string and the numbers."""

    id: str
    claim: str
    verdict: Outcome
    rule: str
    evidence: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


Finding = tuple[Outcome, str, dict]
ClaimFunction = Callable[..., Verdict]

#: id -> (claim text, function(tables, **options) -> Verdict). The function's decision rule
#: is its `.rule` attribute.
CLAIMS: dict[str, tuple[str, ClaimFunction]] = {}


def claim(claim_id: str, text: str, rule: str) -> Callable[[Callable[..., Finding]],
                                                           ClaimFunction]:
    """Register a claim: the decorated function maps (tables, **options) to a Finding."""

    def register(function: Callable[..., Finding]) -> ClaimFunction:
        if claim_id in CLAIMS:
            raise ValueError(f"claim {claim_id} is already registered")

        @functools.wraps(function)
        def evaluate(tables: Mapping[str, pd.DataFrame], **options: Any) -> Verdict:
            outcome, evidence, numbers = function(tables, **options)
            if outcome not in OUTCOMES:
                raise ValueError(f"claim {claim_id} returned verdict {outcome!r}")
            return Verdict(claim_id, text, outcome, rule, evidence, jsonable(numbers))

        evaluate.rule = rule  # type: ignore[attr-defined]
        evaluate.claim_id = claim_id  # type: ignore[attr-defined]
        CLAIMS[claim_id] = (text, evaluate)
        return evaluate

    return register


def claim_order(claim_id: str) -> tuple[str, int, str]:
    prefix = claim_id.rstrip("0123456789")
    digits = claim_id[len(prefix):]
    return prefix, int(digits) if digits else -1, claim_id


def evaluate_claims(tables: Mapping[str, pd.DataFrame], ids: Iterable[str] | None = None,
                    options: Mapping[str, Mapping[str, Any]] | None = None,
                    strict: bool = False) -> list[Verdict]:
    """Evaluate the claims `ids` (default: every registered claim, P before S, by number;
    `trainability.analysis.claims` registers the whole ledger).

    `options` maps a claim id to keyword options of its function (e.g.
    {"P10": {"min_updates": 0}} or {"P9": {"surfaces": provider}}). Unless `strict`, an
    exception inside a claim function gives an "inconclusive" verdict that names the error.
    """
    options = options or {}
    chosen = sorted(CLAIMS, key=claim_order) if ids is None else list(ids)
    unknown = [i for i in chosen if i not in CLAIMS]
    if unknown:
        raise KeyError(f"unknown claim ids: {unknown}; known: {sorted(CLAIMS, key=claim_order)}")
    verdicts = []
    for claim_id in chosen:
        text, function = CLAIMS[claim_id]
        try:
            verdicts.append(function(tables, **options.get(claim_id, {})))
        except Exception as error:
            if strict:
                raise
            verdicts.append(Verdict(claim_id, text, INCONCLUSIVE, function.rule,
                                    f"evaluation failed: {type(error).__name__}: {error}", {}))
    return verdicts


# ---- helpers ------------------------------------------------------------------------------

def combine(parts: Mapping[str, Outcome]) -> Outcome:
    values = list(parts.values())
    if NOT_SUPPORTED in values:
        return NOT_SUPPORTED
    if values and all(v == SUPPORTED for v in values):
        return SUPPORTED
    return INCONCLUSIVE


def scale_gate(outcome: Outcome, numbers: dict, *, updates: float = math.inf,
               min_updates: int = 0, width: float | None = math.inf,
               min_width: int = 0) -> tuple[Outcome, str]:
    """Downgrade to inconclusive below `min_updates` updates or `min_width` units per layer.

    The provisional verdict (what the data give at this scale) is kept in `numbers`.
    """
    width = math.nan if width is None else float(width)
    reasons = []
    if min_updates:
        numbers.update(updates=updates, min_updates=min_updates)
        if not math.isfinite(updates) or updates < min_updates:
            reasons.append(f"{fmt_count(updates)} updates < {min_updates:,} needed")
    if min_width:
        numbers.update(width=width, min_width=min_width)
        if not math.isfinite(width) or width < min_width:
            reasons.append(f"width {fmt_count(width)} < the paper's {min_width:,}")
    if not reasons:
        return outcome, ""
    if outcome == INCONCLUSIVE:
        return INCONCLUSIVE, f" Also below the required scale ({'; '.join(reasons)})."
    numbers["provisional_verdict"] = outcome
    return INCONCLUSIVE, (f" Scale too small ({'; '.join(reasons)}), so the verdict is "
                          f"inconclusive (at this scale the data give: {outcome}).")


def fmt_count(value: float) -> str:
    """A count of updates or units for the evidence: "20,000", or "?" when not finite."""
    return f"{int(value):,}" if math.isfinite(value) else "?"


def fmt(value: Any, digits: int = 3) -> str:
    """A number for the evidence, to `digits` significant digits; "nan" when not a finite
    number."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "nan"
    return f"{value:.{digits}g}" if math.isfinite(value) else "nan"
