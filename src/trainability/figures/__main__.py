"""python -m trainability.figures TABLES_DIR OUT_DIR [NAME ...]: render the paper's figures.

Prints one line per figure (the files written, or why it is absent). Exit status 0, or 1 with
--strict when any figure could not be drawn.
"""

from __future__ import annotations

import argparse
import sys

from trainability.figures.registry import FIGURES, render_figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainability.figures",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("tables_dir")
    parser.add_argument("out_dir")
    parser.add_argument("names", nargs="*", help=f"figures (default all): {', '.join(FIGURES)}")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a figure is absent")
    args = parser.parse_args(argv)
    results = render_figures(args.tables_dir, args.out_dir, args.names or None)
    missing = 0
    for name, result in results.items():
        if isinstance(result, str):
            missing += 1
            print(f"{name}: not drawn: {result}")
        else:
            print(f"{name}: " + " ".join(str(p) for p in result))
    return 1 if args.strict and missing else 0


if __name__ == "__main__":
    sys.exit(main())
