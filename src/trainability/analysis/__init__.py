"""Analysis: the science of the suite, computed from the tidy tables; figures only draw it.

    from trainability.results import read_tables
    from trainability.analysis.table1 import table1, table1_markdown
    from trainability.analysis.claims import evaluate_claims

    tables = read_tables("results/tables")
    print(table1_markdown(table1(tables)))
    for verdict in evaluate_claims(tables):
        print(verdict.id, verdict.verdict, verdict.evidence)

Modules, each with one job:

- `common`: what a network, a configuration and the paper's side are (selection helpers).
- `stats`: the statistical tests (Welch, Wilcoxon, one-sample t, Fisher, Student-t CI).
- `table1`: Table 1, ours beside the paper's, with its bold rule; `write_table1`.
- `ledger`: how a claim is registered and judged (`claim`, `Verdict`, `scale_gate`).
- `claims`: the whole ledger (P1-P12, S1-S14); `evaluate_claims`, `write_claims`.
- `paper_claims` and `paper_saturation` (P1-P3), `paper_gradients` (P4-P9), `paper_errors`
  (P10-P12): the paper's claims, by section of the paper.
- `practitioner` and `practitioner_activations`, `practitioner_remedies`,
  `practitioner_gradients`, `practitioner_overfitting`: the practitioners' claims S1-S14,
  by theme.
- `cost_surface`: Fig. 5's cost surfaces and the plateau measure (claim P9).
- `toys`: computations without tables: products of random matrices, their Lyapunov
  exponent, the sigmoid's derivative (claims S9, S10 and their figures).
- `dead_units`: dead and negative unit fractions of ReLU-family networks (claim S4 and its
  figure).
- `selection`, `trick_study`: which networks each figure shows, and the numbers it draws.

Nothing is imported here, so that `import trainability.figures` (which the workflow does at
every planning) pulls in only the light modules the figures need, not scipy.
"""
