"""Every figure by name: its spec (section, title, caption, claim) and how it is rendered.

A figure is one function that draws it from the tables plus one spec, given by the `figure`
decorator next to the function:

    @figure("fig7", section="gradients", title="Figure 7",
            caption="Normalized histograms of back-propagated gradients ...",
            claim="With standard init back-propagated gradients get smaller ...",
            claim_ids=("P5",))
    @styled
    def fig7(tables: Tables) -> Figure:
        ...

The workflow learns the figures' names from `FIGURES`, the report places each figure in its
section (in registration order) with its title, caption and claim; nothing else lists them.

`render_figures(tables_dir, out_dir)` writes out_dir/<name>.png and .svg for each figure and
returns, per name, the paths written or, when the tables lack what the figure needs, the
reason as a string (so a report can say why a figure is absent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainability.analysis.selection import MissingData
from trainability.figures.style import savefig

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: Whose claim a figure's `claim` is: the paper's (Glorot & Bengio), the practitioners', or
#: the signal-propagation theory's (mean field, dynamical isometry: claims T1-T5).
CLAIM_SOURCES = ("paper", "practice", "theory")


@dataclass(frozen=True)
class FigureSpec:
    """A figure: how to draw it from the tables, where it goes, and what it is evidence for."""

    name: str
    function: Callable[..., Figure]  #: tables (None when not `needs_tables`) -> Figure
    section: str  #: the report's section: shapeset, activations, gradients, errors, tricks
    title: str  #: "Figure 7", or a short title for figures that are not the paper's
    caption: str  #: one sentence: what is shown, in which setting
    claim: str  #: the claim it bears on, one line (the paper's, or the practitioners')
    claim_ids: tuple[str, ...] = ()  #: ids in the claims ledger (reference sec. 11)
    needs_tables: bool = True
    claim_source: str = "paper"  #: one of CLAIM_SOURCES


#: Every figure by name, in registration order (the report's order within a section).
FIGURES: dict[str, FigureSpec] = {}


def figure(name: str, *, section: str, caption: str, claim: str,
           claim_ids: tuple[str, ...] = (), title: str | None = None,
           needs_tables: bool = True, claim_source: str = "paper"
           ) -> Callable[[Callable[..., Figure]], Callable[..., Figure]]:
    """Register the decorated function as figure `name` (see the module docstring); `title`
    defaults to "Figure N" for a name "figN". Returns the function unchanged."""
    if title is None:
        number = re.fullmatch(r"fig(\d+)", name)
        if number is None:
            raise ValueError(f"figure {name!r} needs a title")
        title = f"Figure {number.group(1)}"
    if claim_source not in CLAIM_SOURCES:
        raise ValueError(f"figure {name!r}: claim_source must be one of {CLAIM_SOURCES}")

    def register(function: Callable[..., Figure]) -> Callable[..., Figure]:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = FigureSpec(name, function, section, title, caption, claim,
                                   tuple(claim_ids), needs_tables, claim_source)
        return function

    return register


def figures_in(section: str) -> list[str]:
    """The names of the figures of `section`, in registration order."""
    return [name for name, spec in FIGURES.items() if spec.section == section]


def _load(tables_dir: str | Path | None) -> dict[str, pd.DataFrame] | str:
    """The tables, or the reason they cannot be read."""
    if tables_dir is None:
        return "no tables directory given"
    # Here, not at the top: results loads pandas and pyarrow, and the workflow imports the
    # figures at every planning only to read FIGURES.
    from trainability.results import SchemaError, read_tables

    try:
        return read_tables(tables_dir)
    except (OSError, SchemaError) as error:
        return f"cannot read the tables in {tables_dir}: {error}"


def _check(names: Iterable[str] | None) -> list[str]:
    names = list(FIGURES) if names is None else list(names)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; known: {list(FIGURES)}")
    return names


def _draw(spec: FigureSpec, tables: dict[str, pd.DataFrame] | str) -> Figure:
    if not spec.needs_tables:
        return spec.function(None)
    if isinstance(tables, str):
        raise MissingData(tables)
    return spec.function(tables)


def render_figures(tables_dir: str | Path | None, out_dir: str | Path,
                   names: Iterable[str] | None = None) -> dict[str, list[Path] | str]:
    """Write out_dir/<name>.png and .svg for each figure (all by default).

    Returns name -> [png, svg] paths, or name -> reason (str) when the tables lack what the
    figure needs (MissingData); other errors propagate.
    """
    names = _check(names)
    tables: dict[str, pd.DataFrame] | str = "not loaded"
    if any(FIGURES[n].needs_tables for n in names):
        tables = _load(tables_dir)
    results: dict[str, list[Path] | str] = {}
    for name in names:
        try:
            drawn = _draw(FIGURES[name], tables)
        except MissingData as error:
            results[name] = str(error)
            continue
        results[name] = savefig(drawn, Path(out_dir) / name)
    return results


def render_figure(name: str, tables_dir: str | Path | None, out_prefix: str | Path
                  ) -> list[Path]:
    """Write out_prefix.png and .svg for one figure; raises MissingData if it cannot be drawn."""
    (name,) = _check([name])
    spec = FIGURES[name]
    tables = _load(tables_dir) if spec.needs_tables else "not needed"
    return savefig(_draw(spec, tables), out_prefix)
