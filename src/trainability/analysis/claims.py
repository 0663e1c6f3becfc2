"""The claims ledger: every claim of the fact sheet (Sec. 11), judged on the tables.

    from trainability.results import read_tables
    from trainability.analysis.claims import evaluate_claims

    for verdict in evaluate_claims(read_tables("results/tables")):
        print(verdict.id, verdict.verdict, verdict.evidence)

Importing this module registers the whole ledger: the paper's claims by section
(`paper_saturation` P1-P3, `paper_gradients` P4-P9, `paper_errors` P10-P12) and the
practitioners' claims by theme (`practitioner_activations`, `practitioner_remedies`,
`practitioner_gradients`, `practitioner_overfitting`: S1-S14) and the signal-propagation
theory's (`signal_claims`: T1-T5). How a claim is registered and
judged is `trainability.analysis.ledger`; a new claim module is imported below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trainability.analysis import (  # noqa: F401  (each registers its claims)
    paper_errors,
    paper_gradients,
    paper_saturation,
    practitioner_activations,
    practitioner_gradients,
    practitioner_overfitting,
    practitioner_remedies,
    signal_claims,
)
from trainability.analysis.common import jsonable
from trainability.analysis.ledger import (
    CLAIMS,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    OUTCOMES,
    SUPPORTED,
    Verdict,
    claim,
    claim_order,
    evaluate_claims,
)
from trainability.atomic import write_json
from trainability.results import read_tables

__all__ = ["CLAIMS", "INCONCLUSIVE", "NOT_SUPPORTED", "OUTCOMES", "SUPPORTED", "Verdict",
           "claim", "claim_order", "evaluate_claims", "write_claims"]


def write_claims(tables_dir: str | Path, out_json: str | Path,
                 ids: Iterable[str] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Evaluate the ledger on the tables in `tables_dir`; write JSON atomically."""
    verdicts = evaluate_claims(read_tables(tables_dir), ids=ids, options=options)
    counts = {o: sum(v.verdict == o for v in verdicts) for o in OUTCOMES}
    payload = {"tables": str(tables_dir), "counts": counts,
               "claims": [v.to_dict() for v in verdicts]}
    return write_json(out_json, jsonable(payload))
