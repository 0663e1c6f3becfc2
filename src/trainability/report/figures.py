"""The figures as the report shows them: each in the section its spec names
(trainability.figures.FIGURES), with its title, caption and claims, embedded as a data: URI,
or the reason it could not be drawn."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainability.figures import FIGURES, FigureSpec, figures_in
from trainability.report.claims import claim_refs

#: How a figure's claim is introduced, by FigureSpec.claim_source.
CLAIM_SOURCES = {"paper": "The paper", "practice": "The practitioners' claim",
                 "theory": "The theory's claim"}
MIME = {".png": "image/png", ".svg": "image/svg+xml"}


@dataclass
class Figure:
    name: str
    title: str
    caption: str
    paper_claim: str
    claims: list[dict[str, Any]] = field(default_factory=list)
    claim_source: str = "The paper"  #: how `paper_claim` is introduced
    src: str | None = None  # data: URI, or None when no file was found
    reason: str | None = None  # why it could not be drawn (from the workflow's placeholder)


def _embed(figures_dir: Path | None, name: str) -> str | None:
    """The figure's file as a data: URI (PNG preferred, else SVG), or None."""
    if figures_dir is None:
        return None
    for suffix in (".png", ".svg"):
        path = figures_dir / f"{name}{suffix}"
        if path.is_file() and path.stat().st_size > 0:
            return f"data:{MIME[suffix]};base64,{base64.b64encode(path.read_bytes()).decode()}"
    return None


def _placeholder_reason(figures_dir: Path | None, name: str) -> str | None:
    """Why the figure could not be drawn, if its file is the workflow's placeholder (an image
    whose only text is "<name>: not available" and the reason); None for a real figure."""
    path = figures_dir / f"{name}.svg" if figures_dir is not None else None
    if path is None or not path.is_file() or path.stat().st_size > 50_000:
        return None
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", path.read_text(errors="replace"))
    words = " ".join(" ".join(html.unescape(t) for t in texts).split())
    marker = f"{name}: not available"
    if not words.startswith(marker):
        return None
    return words[len(marker):].strip() or "no reason given"


def _figure(name: str, spec: FigureSpec | None, figures_dir: Path | None,
            by_id: dict[str, dict[str, Any]]) -> Figure:
    """`spec` is the figure's spec, or None for a file of another name."""
    reason = _placeholder_reason(figures_dir, name)
    return Figure(name=name, title=spec.title if spec is not None else name,
                  caption=spec.caption if spec is not None else name,
                  paper_claim=spec.claim if spec is not None else "",
                  claims=claim_refs(spec.claim_ids if spec is not None else (), by_id),
                  claim_source=CLAIM_SOURCES.get(spec.claim_source if spec is not None
                                                 else "paper", "The claim"),
                  src=_embed(figures_dir, name) if reason is None else None,
                  reason=reason)


def collect_figures(figures_dir: str | Path | None, by_id: dict[str, dict[str, Any]],
                    sections: Iterable[str]) -> tuple[dict[str, list[Figure]], list[Figure]]:
    """Figures per section of `sections` (each figure in the section its spec names, in
    registration order), and every other figure: registered for a section the report does not
    have, or found on disk without a spec."""
    figures_dir = Path(figures_dir) if figures_dir is not None else None
    sections = list(sections)
    placed = {section: [_figure(n, FIGURES[n], figures_dir, by_id) for n in figures_in(section)]
              for section in sections}
    others = [n for n, spec in FIGURES.items() if spec.section not in sections]
    if figures_dir is not None and figures_dir.is_dir():
        on_disk = sorted({p.stem for p in figures_dir.iterdir()
                          if p.suffix in MIME and p.is_file()})
        others += [n for n in on_disk if n not in FIGURES]
    extra = [_figure(n, FIGURES.get(n), figures_dir, by_id) for n in others]
    return placed, extra
