"""Command line: `trainability train | shapeset | info`.

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
from trainability.data.catalog import DATASETS, DatasetError
from trainability.pipeline.commands import add_commands as add_pipeline_commands
from trainability.pipeline.commands import run_command
from trainability.plugins import load_plugins
from trainability.threads import configure_waiting
from trainability.train.config import (
    DEVICES,
    INPUTS,
    PIXEL_RANGES,
    BundleConfig,
    MemberConfig,
)

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
    train.add_argument("--lr-from", type=Path,
                       help="selection JSON (trainability select): each member's learning rate "
                            "becomes the one selected for its activation and initializer")
    train.add_argument("--out", type=Path, required=True, help="run folder to write")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                       help="save the training state every N updates and resume from it when "
                            "rerun after a kill (0: never)")
    train.add_argument("--checkpoint", type=Path,
                       help="checkpoint file (default: <out>.ckpt beside the run folder)")
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

    commands.add_parser("info", help="versions, device, schema version")
    add_pipeline_commands(commands)
    return parser


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
    config = config.replace(**changes)
    if args.lr_from:
        from trainability.pipeline.plan import with_selected_rates
        from trainability.pipeline.select import read_selection

        config = with_selected_rates(config, read_selection(args.lr_from))
    return config


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
                           checkpoint_path=args.checkpoint)
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
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_name(args.out.name + ".partial")
        torch.save({"images": x.view(-1, config.image_size, config.image_size), "labels": y,
                    "class_names": shapeset.CLASS_NAMES, "seed": args.seed,
                    "split": args.split}, partial)
        partial.replace(args.out)
    print(args.out)
    return 0


def _info() -> int:
    from trainability.provenance import provenance, resolve_device

    info = provenance(resolve_device("auto")) | {"schema_version": SCHEMA_VERSION}
    print(json.dumps(info, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_waiting()  # before torch loads (see trainability.threads)
    try:
        load_plugins()  # before the parser: its choices come from the registries
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    from trainability.train.outputs import OutputError

    try:
        if args.command == "train":
            return _train(args)
        if args.command == "shapeset":
            return _shapeset(args)
        if args.command == "info":
            return _info()
        return run_command(args)
    except (ValueError, DatasetError, OutputError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; no run folder was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
