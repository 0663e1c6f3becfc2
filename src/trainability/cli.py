"""The command line, the suite's one entry point: `trainability <command>`.

    trainability train ...                       train a bundle, write its run folder
    trainability shapeset preview|export ...     look at Shapeset-3x2
    trainability info                            versions, device, registries
    trainability data DATASET --out MARKER       check (or fetch) a dataset's files
    trainability plan --config-json C --out F    the workflow's plan (every job and network)
    trainability select --sweep RUN --out F      pick each configuration's learning rate
    trainability seeds --job-json J --selection F --out B
                                                 a seeds job's bundle (selected rates)
    trainability aggregate --out DIR RUN ...     run folders -> tidy tables
    trainability figure NAME --out PREFIX        one figure (.png, .svg)
    trainability table1 / claims / report        Table 1, the claims ledger, the report
    trainability export tensorboard TABLES OUT   one TensorBoard run per network
    trainability compare RUN_A RUN_B --out PAGE  two runs side by side, one HTML page

Each workflow rule calls one command; the science lives in the modules the commands call.
Every user error ends the same way: one line on stderr starting with "error:", saying what
to do, and exit status 2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from trainability import SCHEMA_VERSION, __version__
from trainability.atomic import OutputError, replacing, write_json
from trainability.data.catalog import DATASETS, DatasetError
from trainability.plugins import load_plugins
from trainability.threads import configure_waiting
from trainability.train.config import (
    DEVICES,
    INPUTS,
    PIXEL_RANGES,
    BundleConfig,
    MemberConfig,
)
from trainability.train.engine import ENGINES

EXIT_USAGE = 2


def _list(kind: type):
    def parse(text: str) -> list:
        try:
            values = [kind(item) for item in text.split(",") if item.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, "
                                             f"got {text!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
        return values
    return parse


def _specs(text: str) -> list[str]:
    """Comma-separated component specs; commas inside 'name:k=v,k=v' stay with their spec."""
    specs: list[str] = []
    for token in text.split(","):
        if specs and ("=" in token and ":" not in token):
            specs[-1] += "," + token
        elif token.strip():
            specs.append(token.strip())
    return specs


BUNDLE_FLAGS = {  # flag -> (BundleConfig field, type, help)
    "--dataset": ("dataset", str, lambda: f"one of {', '.join(DATASETS)}"),
    "--depth": ("depth", int, "hidden layers (>= 1)"),
    "--width": ("width", int, "units per hidden layer (>= 1)"),
    "--batch-size": ("batch_size", int, "examples per SGD update (the paper: 10)"),
    "--updates": ("updates", int, "SGD updates to train"),
    "--eval-every": ("eval_every", int, "updates between train-loss/valid/test records"),
    "--monitor-every": ("monitor_every", int,
                        "updates between layer-statistics records (0: init and end only)"),
    "--monitor-size": ("monitor_size", int, "fixed monitor examples (the paper: 300)"),
    "--jacobian-every": ("jacobian_every", int,
                         "updates between layer-Jacobian records (0: init and end only)"),
    "--jacobian-examples": ("jacobian_examples", int, "examples whose Jacobians are decomposed"),
    "--histogram-bins": ("histogram_bins", int, "bins per histogram"),
    "--seed": ("seed", int, "data seed (minibatch order and Shapeset streams)"),
    "--device": ("device", str, f"one of {', '.join(DEVICES)}"),
    "--data-root": ("data_root", str,
                    "folder holding MNIST/ and cifar-10-batches-py/ (default $TRAINABILITY_DATA "
                    "or ./data)"),
    "--pixel-range": ("pixel_range", str, f"Shapeset pixels: {', '.join(PIXEL_RANGES)}"),
    "--inputs": ("inputs", str, f"{' or '.join(INPUTS)}: standardized puts every input unit at "
                                "mean 0, std 1 over the training data"),
    "--valid-size": ("valid_size", int, "validation examples (first N of MNIST/CIFAR-10)"),
    "--test-size": ("test_size", int, "test examples (first N of MNIST/CIFAR-10)"),
    "--train-size": ("train_size", int, "train on the first N training examples only"),
}

MEMBER_FLAGS = {  # flag -> (MemberConfig field, parser, help)
    "--activation": ("activation", _specs,
                     "activation spec(s), comma-separated, e.g. tanh,softsign"),
    "--initializer": ("initializer", _specs, "initializer spec(s), e.g. standard,normalized"),
    "--lr": ("lr", _list(float), "learning rate(s), comma-separated"),
    "--init-seed": ("seed", _list(int), "initialization seed(s), comma-separated"),
    "--trick": ("trick", _specs, "trick(s), comma-separated; combine with '+', e.g. "
                "none,batchnorm+residual,adam+l2:0.0001"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not the 20-line usage) and says where the
    help is; its subcommand parsers are of this class too."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trainability",
        description="Replicate Glorot & Bengio (2010): train instrumented deep MLP bundles.")
    parser.add_argument("--version", action="version", version=f"trainability {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train a bundle of networks and write its run folder",
        description="Train a bundle: every combination of the --activation, --initializer, "
                    "--lr, --init-seed and --trick values is one member; all members share "
                    "the shape "
                    "and the minibatch stream. Flags override the --config file.")
    train.add_argument("--config", type=Path, help="YAML file of bundle settings (see README)")
    train.add_argument("--config-json", help="bundle settings as a JSON string (the workflow's)")
    train.add_argument("--out", type=Path, required=True, help="run folder to write")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                       help="save the training state every N updates and resume from it when "
                            "rerun after a kill (0: never)")
    train.add_argument("--checkpoint", type=Path,
                       help="checkpoint file (default: <out>.ckpt beside the run folder)")
    train.add_argument("--engine", choices=ENGINES, default="auto",
                       help="how updates run: auto (a captured CUDA graph on CUDA, eager on "
                            "the CPU), eager, or graph (fail without CUDA)")
    train.add_argument("--threads", type=int, metavar="N",
                       help="CPU threads for training (default: $OMP_NUM_THREADS, which "
                            "Snakemake sets to the job's threads, else torch's choice)")
    train.add_argument("--no-output-init", dest="output_uses_init", action="store_false",
                       default=None, help="initialize the softmax layer with 'normalized' "
                                          "instead of the hidden layers' initializer")
    for flag, (_, kind, text) in BUNDLE_FLAGS.items():  # registry choices: after plugins
        train.add_argument(flag, type=kind, help=text() if callable(text) else text)
    for flag, (_, kind, text) in MEMBER_FLAGS.items():
        train.add_argument(flag, type=kind, help=text)

    shapes = commands.add_parser("shapeset", help="preview or export Shapeset-3x2 samples")
    shape_commands = shapes.add_subparsers(dest="shapeset_command", required=True)
    preview = shape_commands.add_parser("preview", help="a labelled grid of samples (Fig. 1)")
    preview.add_argument("--out", type=Path, required=True, help="PNG file to write")
    preview.add_argument("--n", type=int, default=36, help="number of samples")
    preview.add_argument("--image-size", type=int, default=64, help="pixels per side (paper: 64)")
    preview.add_argument("--seed", type=int, default=0, help="stream seed")
    export = shape_commands.add_parser("export", help="write samples to a .pt file")
    export.add_argument("--out", type=Path, required=True, help=".pt file (torch.save) to write")
    export.add_argument("--split", choices=("train", "valid", "test"), default="train")
    export.add_argument("--count", type=int, default=1000, help="number of examples")
    export.add_argument("--seed", type=int, default=0, help="stream seed")
    export.add_argument("--pixel-range", choices=PIXEL_RANGES, default="zero_one")

    commands.add_parser("info", help="versions, device, schema version, registries")
    _add_pipeline_commands(commands)
    return parser


def _add_pipeline_commands(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="check (and, if allowed, fetch) a dataset's files")
    data.add_argument("dataset", choices=list(DATASETS))
    data.add_argument("--root", type=Path, help="data root (default $TRAINABILITY_DATA or ./data)")
    data.add_argument("--out", type=Path, required=True, help="JSON marker to write when ready")
    data.add_argument("--no-download", action="store_true", help="never try to download")

    plan = commands.add_parser("plan", help="write the workflow's plan: every job and network")
    plan.add_argument("--config-json", required=True, help="the workflow's config, as JSON")
    plan.add_argument("--out", type=Path, required=True, help="plan JSON to write")

    select = commands.add_parser("select", help="pick each configuration's learning rate")
    select.add_argument("--sweep", type=Path, required=True, help="run folder of a sweep")
    select.add_argument("--out", type=Path, required=True, help="selection JSON to write")

    seeds = commands.add_parser("seeds", help="write a seeds job's bundle: the plan's job at "
                                              "the rates selected on its sweep")
    seeds.add_argument("--job-json", required=True, help="the job as the plan holds it, JSON")
    seeds.add_argument("--selection", type=Path, required=True, help="the sweep's selection")
    seeds.add_argument("--out", type=Path, required=True,
                       help="bundle JSON to write (a `trainability train --config` file)")

    aggregate = commands.add_parser("aggregate", help="merge run folders into tidy tables")
    aggregate.add_argument("--out", type=Path, required=True, help="tables folder to write")
    aggregate.add_argument("runs", type=Path, nargs="+",
                           help="run folders (a sweep's selection.json beside each)")

    figure = commands.add_parser("figure", help="draw one figure")
    figure.add_argument("name", help="a figure's name (`trainability info` lists them)")
    figure.add_argument("--tables", type=Path, help="tables folder (figures drawn from data)")
    figure.add_argument("--out", type=Path, required=True, help="output prefix (.png, .svg)")

    table = commands.add_parser("table1", help="Table 1 beside the paper's numbers")
    table.add_argument("--tables", type=Path, required=True)
    table.add_argument("--out", type=Path, required=True, help="CSV to write")

    claims = commands.add_parser("claims", help="the claims ledger with verdicts")
    claims.add_argument("--tables", type=Path, required=True)
    claims.add_argument("--out", type=Path, required=True, help="JSON to write")

    export = commands.add_parser("export", help="the results in another tool's format")
    formats = export.add_subparsers(dest="format", required=True)
    tensorboard = formats.add_parser(
        "tensorboard", help="one TensorBoard run per network: curves, layer statistics, "
                            "histograms, the configuration as hyperparameters")
    tensorboard.add_argument("tables", type=Path, help="aggregated tables folder")
    tensorboard.add_argument("out", type=Path, help="folder to write (tensorboard --logdir)")

    report = commands.add_parser("report", help="the self-contained HTML report")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--tables", type=Path, required=True)
    report.add_argument("--figures", type=Path, required=True)
    report.add_argument("--table1", type=Path, required=True)
    report.add_argument("--claims", type=Path, required=True)
    report.add_argument("--benchmarks", type=Path, help="folder of Snakemake benchmark TSVs")
    report.add_argument("--plan", type=Path,
                        help="the workflow's plan (trainability plan): the networks that "
                             "should exist and their budgets")

    compare = commands.add_parser(
        "compare", help="two runs side by side: Table 1 and its differences, claim verdicts, "
                        "error curves overlaid (one self-contained HTML page)")
    compare.add_argument("run_a", type=Path, metavar="RUN_A",
                         help="the baseline: a results folder (tables/ or results/tables/ "
                              "in it) or a folder of aggregated tables")
    compare.add_argument("run_b", type=Path, metavar="RUN_B", help="the run compared with it")
    compare.add_argument("--out", type=Path, required=True, help="HTML page to write")


def config_from_args(args: argparse.Namespace) -> BundleConfig:
    """The bundle: the --config file (if any) with flags layered on top."""
    if args.config_json:
        config = BundleConfig.from_dict(json.loads(args.config_json))
    elif args.config:
        config = BundleConfig.from_yaml(args.config)
    else:
        config = BundleConfig()
    changes = {field: getattr(args, flag.lstrip("-").replace("-", "_"))
               for flag, (field, _, _) in BUNDLE_FLAGS.items()}
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.output_uses_init is not None:
        changes["output_uses_init"] = args.output_uses_init
    axes = {field: getattr(args, flag.lstrip("-").replace("-", "_"))
            for flag, (field, _, _) in MEMBER_FLAGS.items()}
    if any(values is not None for values in axes.values()):
        default = config.members[0] if config.members else MemberConfig()
        grid = [values if values is not None else [getattr(default, field)]
                for field, values in axes.items()]
        changes["members"] = tuple(MemberConfig(**dict(zip(axes, combo, strict=True)))
                                   for combo in itertools.product(*grid))
    return config.replace(**changes)


def _train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.checkpoint_every < 0:
        raise ValueError("--checkpoint-every must be >= 0")
    if args.threads is not None and args.threads < 1:
        raise ValueError("--threads must be >= 1")
    from trainability.threads import set_threads
    from trainability.train.trainer import train_bundle

    set_threads(args.threads)
    try:
        out = train_bundle(config, args.out, progress=not args.quiet, overwrite=args.overwrite,
                           checkpoint_every=args.checkpoint_every,
                           checkpoint_path=args.checkpoint, engine=args.engine)
    except (MemoryError, RuntimeError) as error:  # torch's allocators: torch.OutOfMemoryError
        if not isinstance(error, MemoryError) and "alloc" not in str(error).lower():
            raise
        raise ValueError("out of memory while training; reduce the width, the depth or the "
                         "number of members (split the bundle)") from None
    print(out)
    return 0


def _shapeset(args: argparse.Namespace) -> int:
    import torch

    from trainability.data import shapeset

    for name in ("n", "count", "image_size"):
        if getattr(args, name, 1) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
    if args.shapeset_command == "preview":
        from trainability.data.preview import save_preview

        save_preview(args.out, seed=args.seed, n=args.n, image_size=args.image_size)
    else:
        config = shapeset.ShapesetConfig(pixel_range=args.pixel_range)
        x, y = shapeset.make_split(args.seed, args.split, args.count, config)
        with replacing(args.out) as partial:
            torch.save({"images": x.view(-1, config.image_size, config.image_size),
                        "labels": y, "class_names": shapeset.CLASS_NAMES, "seed": args.seed,
                        "split": args.split}, partial)
    print(args.out)
    return 0


def _info(args: argparse.Namespace) -> int:
    from trainability.figures import FIGURES
    from trainability.nets.activations import ACTIVATIONS
    from trainability.nets.initializers import INITIALIZERS
    from trainability.provenance import provenance, resolve_device
    from trainability.tricks.spec import TRICKS

    info = provenance(resolve_device("auto")) | {
        "schema_version": SCHEMA_VERSION, "datasets": list(DATASETS),
        "activations": ACTIVATIONS.registered(), "initializers": INITIALIZERS.registered(),
        "tricks": TRICKS.registered(), "figures": list(FIGURES)}
    print(json.dumps(info, indent=2))
    return 0


def _data(args: argparse.Namespace) -> int:
    if DATASETS[args.dataset].generated:
        payload = {"dataset": args.dataset, "generated": True}
    else:
        from trainability.data import datasets

        root = datasets.resolve_data_root(args.root)
        try:
            # The files are checked here, not a split: every example of the official training
            # set stays in it (each run cuts its own validation set).
            data = datasets.load_dataset(args.dataset, root, download=not args.no_download,
                                         valid_size=0)
        except datasets.DatasetNotFoundError as error:
            # The workflow's user sets the data root in the config, not on this command.
            raise error.with_hint(
                "point the workflow at your copy with --config data_root=DIR; to run without "
                "it: --config datasets=[shapeset] (or list the datasets you have)") from None
        payload = {"dataset": args.dataset, "root": str(root),
                   "sizes": {split: len(getattr(data, split).y)
                             for split in ("train", "test")}}
    return _written(write_json(args.out, payload))


def _plan(args: argparse.Namespace) -> int:
    from trainability.pipeline.plan import write_plan

    return _written(write_plan(json.loads(args.config_json), args.out))


def _select(args: argparse.Namespace) -> int:
    from trainability.pipeline.select import write_selection

    return _written(write_selection(args.sweep, args.out))


def _seeds(args: argparse.Namespace) -> int:
    from trainability.pipeline.select import write_seeds_bundle

    return _written(write_seeds_bundle(json.loads(args.job_json), args.selection, args.out))


def _aggregate(args: argparse.Namespace) -> int:
    from trainability.pipeline.aggregate import aggregate

    return _written(aggregate(args.runs, args.out))


def _figure(args: argparse.Namespace) -> int:
    from trainability.figures import MissingData, render_figure
    from trainability.figures.placeholder import placeholder_figure

    try:
        render_figure(args.name, args.tables, args.out)
    except MissingData as reason:  # the report says why a figure is absent; the run goes on
        placeholder_figure(args.name, str(reason), args.out)
    return _written(args.out)


def _table1(args: argparse.Namespace) -> int:
    from trainability.analysis.table1 import write_table1

    return _written(write_table1(args.tables, args.out))


def _claims(args: argparse.Namespace) -> int:
    from trainability.analysis.claims import write_claims

    return _written(write_claims(args.tables, args.out))


def _export(args: argparse.Namespace) -> int:
    from trainability.export.tensorboard import export_tensorboard

    return _written(export_tensorboard(args.tables, args.out))


def _report(args: argparse.Namespace) -> int:
    from trainability.report import build_report

    return _written(build_report(args.out, args.tables, args.figures, args.table1, args.claims,
                                 args.benchmarks, args.plan))


def _compare(args: argparse.Namespace) -> int:
    from trainability.report.compare import build_comparison

    return _written(build_comparison(args.run_a, args.run_b, args.out))


def _written(path) -> int:
    print(path)
    return 0


#: Each command's handler. Handlers import what they need when they run, so that starting
#: a command (and checking its arguments) loads no torch (trainability.lazy).
COMMANDS = {"train": _train, "shapeset": _shapeset, "info": _info, "data": _data,
            "plan": _plan, "select": _select, "seeds": _seeds, "aggregate": _aggregate,
            "figure": _figure, "table1": _table1, "claims": _claims, "export": _export,
            "report": _report, "compare": _compare}


def main(argv: Sequence[str] | None = None) -> int:
    configure_waiting()  # before torch loads (see trainability.threads)
    try:
        load_plugins()  # before the parser: its choices come from the registries
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, DatasetError, OutputError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; no run folder was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
