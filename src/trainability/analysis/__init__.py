"""Analysis layer: Table 1 (ours vs the paper) and the claims ledger.

    from trainability.results import read_tables as load_tables
    from trainability.analysis import table1, table1_markdown, evaluate_claims

    tables = load_tables("results/tables")
    print(table1_markdown(table1(tables)))
    for verdict in evaluate_claims(tables):
        print(verdict.id, verdict.verdict, verdict.evidence)

Writers (`write_table1`, `write_claims`) read a tables folder and write CSV/JSON atomically.
The practitioner claims S1-S14 live in `trainability.analysis.practitioner`, with the two toy
computations its figures share (`random_matrix_product_norms`, `sigmoid_derivative_max`).
"""

from trainability.analysis.claims import (
    CLAIMS,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
    claim,
    evaluate_claims,
    write_claims,
)
from trainability.analysis.practitioner import (
    random_matrix_product_norms,
    sigmoid_derivative_max,
)
from trainability.analysis.table1 import (
    BOLD_ALPHA,
    BOLD_RULE,
    PAPER_TABLE1,
    table1,
    table1_html,
    table1_markdown,
    write_table1,
)

__all__ = [
    "BOLD_ALPHA",
    "BOLD_RULE",
    "CLAIMS",
    "INCONCLUSIVE",
    "NOT_SUPPORTED",
    "PAPER_TABLE1",
    "SUPPORTED",
    "Verdict",
    "claim",
    "evaluate_claims",
    "random_matrix_product_norms",
    "sigmoid_derivative_max",
    "table1",
    "table1_html",
    "table1_markdown",
    "write_claims",
    "write_table1",
]
