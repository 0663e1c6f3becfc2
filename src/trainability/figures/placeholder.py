"""The image the workflow draws in place of a figure its tables cannot support."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from trainability.figures.style import savefig


def placeholder_figure(name: str, reason: str, prefix: str | Path) -> list[Path]:
    """A figure-sized image whose only text is "<name>: not available" and `reason`, written
    as prefix.png and prefix.svg (the report reads the reason back from the SVG)."""
    figure = Figure(figsize=(6, 2))
    figure.text(0.5, 0.5, f"{name}: not available\n{reason}", ha="center", va="center",
                wrap=True)
    return savefig(figure, prefix)
