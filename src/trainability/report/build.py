"""Build the HTML report from the pipeline's outputs.

Inputs: the aggregated tables (only the runs table is read, through trainability.results), the
figures folder (<name>.png or <name>.svg per figure of `trainability.figures.FIGURES`), the
Table 1 CSV and the claims JSON of `trainability.analysis`, and optionally the Snakemake
benchmark TSVs and the workflow's config (`settings`: preset, budget, studies).

Output: ONE HTML file with every figure embedded as a data: URI and the stylesheet inline, so
it opens offline and can be mailed or archived as is. It is written atomically
(trainability.atomic) and is a pure function of its inputs: no clock, no host name, so
rebuilding from the same inputs gives the same bytes.

The sections' contents come from one module each: `figures` (every figure in the section its
spec names), `table1`, `claims` (the ledger), `tricks`, `runs` and `expected` (the networks
trained, diverged and missing; the settings), `provenance`, and `explore`: the interactive
error curves and table of all networks (`interactive`: Plotly, its JavaScript inlined once,
so the page still opens offline; the static figures stay for print).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from trainability.analysis.common import paper_rows
from trainability.analysis.table1 import BOLD_ALPHA
from trainability.atomic import write_text
from trainability.report.claims import claim_refs, load_claims
from trainability.report.expected import load_plan, runs_context, settings_context
from trainability.report.explore import report_explorers
from trainability.report.figures import collect_figures
from trainability.report.format import VERDICTS
from trainability.report.interactive import plotly_js
from trainability.report.provenance import provenance_context
from trainability.report.runs import depth_table, load_runs
from trainability.report.signal import signal_context
from trainability.report.table1 import TABLE1_CLAIMS, load_table1
from trainability.report.tricks import tricks_context

#: (anchor, heading) of every section, in the paper's order. The tests check this order. A
#: figure appears in the section its spec names (trainability.figures.FigureSpec.section).
SECTIONS = (
    ("summary", "Summary"),
    ("shapeset", "Shapeset-3×2"),
    ("activations", "Effect of activation functions and saturation during training"),
    ("gradients", "Studying gradients and their propagation"),
    ("errors", "Error curves and conclusions"),
    ("tricks", "Training tricks"),
    ("signal", "Signal propagation"),
    ("ledger", "Claims ledger"),
    ("runs", "Runs"),
    ("provenance", "Provenance"),
)


def environment() -> jinja2.Environment:
    """The pages' templates (templates/), HTML-escaped, every variable required."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("trainability.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def build_report(out_html: str | Path, tables_dir: str | Path | None,
                 figures_dir: str | Path | None, table1_csv: str | Path | None,
                 claims_json: str | Path | None, benchmarks_dir: str | Path | None = None,
                 plan: str | Path | dict[str, Any] | None = None) -> Path:
    """Write the report to `out_html` (atomically) and return its path.

    Every input may be missing; the report then says what is not available rather than
    failing, so that a partial pipeline still gives a readable report. A Table 1 CSV without
    the expected columns is an error (it means the analysis and the report disagree). `plan`
    is the pipeline's plan (results/plan.json, or its contents): the networks that should
    exist and the budgets they were given.
    """
    if not isinstance(plan, dict):
        plan = load_plan(plan)
    out_html = Path(out_html)
    claims = load_claims(claims_json)
    by_id = {c["id"]: c for c in claims}
    figures, extra_figures = collect_figures(figures_dir, by_id,
                                             [anchor for anchor, _ in SECTIONS])
    table1 = load_table1(table1_csv)
    table1["alpha"] = BOLD_ALPHA
    table1["claims"] = claim_refs(TABLE1_CLAIMS, by_id)
    runs = load_runs(tables_dir)
    explorers = report_explorers(runs, tables_dir)
    interactive = bool(explorers["errors"]["figure"] or explorers["tricks"]["figure"]
                       or not runs.empty)
    tally = {v: sum(c["badge"]["text"].strip().lower() == v for c in claims)
             for v in VERDICTS}
    context = {
        "sections": dict(SECTIONS),
        "toc": SECTIONS,
        "claims": claims,
        "tally": tally,
        "tally_other": len(claims) - sum(tally.values()),
        "figures": figures,
        "extra_figures": extra_figures,
        "table1": table1,
        "depth": depth_table(paper_rows(runs)),
        "tricks": tricks_context(runs, claims, plan),
        "signal": signal_context(runs, claims),
        "runs": runs_context(runs, plan),
        "settings": settings_context(plan),
        "provenance": provenance_context(runs, tables_dir, benchmarks_dir),
        "explore": explorers,
        "plotly_js": plotly_js() if interactive else None,
    }
    html = environment().get_template("report.html.j2").render(**context)
    write_text(out_html, html)
    return out_html
