"""The pipeline's steps as `trainability` subcommands; each workflow rule calls one of them.

    trainability data DATASET --root DIR --out MARKER.json
    trainability select --sweep RUN --out SELECTION.json
    trainability aggregate --out TABLES_DIR RUN [RUN ...]
    trainability figure NAME --tables DIR --out PREFIX
    trainability table1 --tables DIR --out TABLE1.csv
    trainability claims --tables DIR --out CLAIMS.json
    trainability report --out REPORT.html --tables DIR --figures DIR --table1 CSV --claims JSON

Science lives in the modules these call, never in the workflow files.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from trainability.data.catalog import DATASETS


def add_commands(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="check (and, if allowed, fetch) a dataset's files")
    data.add_argument("dataset", choices=list(DATASETS))
    data.add_argument("--root", type=Path, help="data root (default $TRAINABILITY_DATA or ./data)")
    data.add_argument("--out", type=Path, required=True, help="JSON marker to write when ready")
    data.add_argument("--no-download", action="store_true", help="never try to download")

    select = commands.add_parser("select", help="pick each configuration's learning rate")
    select.add_argument("--sweep", type=Path, required=True, help="run folder of a sweep")
    select.add_argument("--out", type=Path, required=True, help="selection JSON to write")

    aggregate = commands.add_parser("aggregate", help="merge run folders into tidy tables")
    aggregate.add_argument("--out", type=Path, required=True, help="tables folder to write")
    aggregate.add_argument("runs", type=Path, nargs="+", help="run folders")

    figure = commands.add_parser("figure", help="draw one figure of the paper")
    figure.add_argument("name", help="fig1 .. fig12, jacobian, depth")
    figure.add_argument("--tables", type=Path, help="tables folder (not needed by fig1, fig5)")
    figure.add_argument("--out", type=Path, required=True, help="output prefix (.png, .svg)")

    table = commands.add_parser("table1", help="Table 1 beside the paper's numbers")
    table.add_argument("--tables", type=Path, required=True)
    table.add_argument("--out", type=Path, required=True, help="CSV to write")

    claims = commands.add_parser("claims", help="the claims ledger with verdicts")
    claims.add_argument("--tables", type=Path, required=True)
    claims.add_argument("--out", type=Path, required=True, help="JSON to write")

    report = commands.add_parser("report", help="the self-contained HTML report")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--tables", type=Path, required=True)
    report.add_argument("--figures", type=Path, required=True)
    report.add_argument("--table1", type=Path, required=True)
    report.add_argument("--claims", type=Path, required=True)
    report.add_argument("--benchmarks", type=Path, help="folder of Snakemake benchmark TSVs")
    report.add_argument("--settings-json", help="the workflow config, as JSON")


def _atomic_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    partial.replace(path)


def _placeholder_figure(name: str, reason: str, prefix: Path) -> None:
    """A figure-sized image that says why the figure could not be drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trainability.figures import savefig

    figure = plt.figure(figsize=(6, 2))
    figure.text(0.5, 0.5, f"{name}: not available\n{reason}", ha="center", va="center",
                wrap=True)
    savefig(figure, prefix)
    plt.close(figure)


def run_command(args: argparse.Namespace) -> int | None:
    """Run a pipeline subcommand; None if `args.command` is not one of them."""
    if args.command == "data":
        from trainability.data import datasets

        if DATASETS[args.dataset].generated:
            payload = {"dataset": args.dataset, "generated": True}
        else:
            root = datasets.resolve_data_root(args.root)
            try:
                data = datasets.load_dataset(args.dataset, root, download=not args.no_download)
            except datasets.DatasetNotFoundError as error:
                # The workflow's user sets the data root in the config, not on this command.
                raise error.with_hint(
                    "point the workflow at your copy with --config data_root=DIR; to run "
                    "without it: --config datasets=[shapeset] (or list the datasets you "
                    "have)") from None
            payload = {"dataset": args.dataset, "root": str(root),
                       "sizes": {split: len(getattr(data, split).y)
                                 for split in ("train", "valid", "test")}}
        _atomic_json(args.out, payload)
    elif args.command == "select":
        from trainability.pipeline.select import write_selection

        write_selection(args.sweep, args.out)
    elif args.command == "aggregate":
        from trainability.pipeline.aggregate import aggregate

        aggregate(args.runs, args.out)
    elif args.command == "figure":
        from trainability.figures import MissingData, render_figure

        try:
            render_figure(args.name, args.tables, args.out)
        except MissingData as reason:
            # The report says why a figure is absent; the workflow still completes.
            _placeholder_figure(args.name, str(reason), args.out)
    elif args.command == "table1":
        from trainability.analysis.table1 import write_table1

        write_table1(args.tables, args.out)
    elif args.command == "claims":
        from trainability.analysis.claims import write_claims

        write_claims(args.tables, args.out)
    elif args.command == "report":
        from trainability.report import build_report

        settings = json.loads(args.settings_json) if args.settings_json else None
        build_report(args.out, args.tables, args.figures, args.table1, args.claims,
                     args.benchmarks, settings)
    else:
        return None
    print(args.out)
    return 0
