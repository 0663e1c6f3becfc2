"""The interactive views of the report and of the comparison page, drawn with Plotly.

An *explorer* is a block of the page with one drop-down per facet of the networks (dataset,
activation, initializer, depth, trick, budget; and the run on the comparison page) and what
those drop-downs filter: a Plotly figure of error curves (one trace per network: hover for
its values, click the legend to hide or show a configuration) or a table whose rows carry
their facets. The numbers come from the aggregated tables, through
`trainability.analysis.compare.error_curves`; the page's script only shows and hides traces
and rows (templates/explorer.js.j2).

Plotly's JavaScript is inlined once per page (`plotly_js`), so the page opens with no network;
the figure data sits in a `<script type="application/json">` block of its explorer. Nothing
here depends on the clock or on random identifiers: the same tables give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from trainability.analysis.common import PAPER_BUDGET
from trainability.analysis.compare import FACETS
from trainability.figures.labels import (
    activation_rank,
    config_color,
    config_label,
    dataset_label,
    init_rank,
    trick_color,
    trick_order,
)
from trainability.report.format import dataset_rank

#: The drop-down label of each facet: the comparison page's run (column `side`, the run's
#: label) and the facets of a network (trainability.analysis.compare.FACETS).
FACET_LABELS: dict[str, str] = {"side": "run", **{facet: facet for facet in FACETS}}
#: The most points one curve keeps (evenly spaced records, the last one always kept): a
#: paper-scale curve has thousands of records, more than a screen shows.
MAX_POINTS = 400
#: Line style of each run on the comparison page (A, B).
RUN_DASHES = ("solid", "dash")

_SORT_KEYS: dict[str, Callable[[str], Any]] = {
    "dataset": dataset_rank, "activation": activation_rank, "initializer": init_rank,
    "depth": lambda value: (int(value),), "trick": trick_order,
    "budget": lambda value: (value != PAPER_BUDGET, value),
}
_TEXTS: dict[str, Callable[[str], str]] = {"dataset": dataset_label}


def plotly_js() -> Markup:
    """Plotly's JavaScript library (the version of the installed `plotly` package), to be
    inlined once in a page's `<script>`."""
    return Markup(get_plotlyjs())


def _json_for_script(payload: str) -> Markup:
    """JSON text safe inside a <script> element (no "</script>" can close it)."""
    return Markup(payload.replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("&", "\\u0026"))


def facet_values(row: Mapping[str, Any], facets: Sequence[str]) -> dict[str, str]:
    """A network's facets as the drop-downs name their options (strings)."""
    return {facet: str(row[facet]) for facet in facets}


def facet_controls(values: Iterable[Mapping[str, str]], facets: Sequence[str],
                   initial: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One drop-down per facet: its key, label, options (value, text) in the registries'
    order, and the option selected when the page opens ("" = every value)."""
    values = list(values)
    initial = initial or {}
    controls = []
    for facet in facets:
        present = sorted({v[facet] for v in values}, key=_SORT_KEYS.get(facet, str))
        text = _TEXTS.get(facet, str)
        selected = initial.get(facet, "")
        controls.append({"key": facet, "label": FACET_LABELS.get(facet, facet),
                         "options": [(value, text(value)) for value in present],
                         "selected": selected if selected in present else ""})
    return controls


def _thinned(curve: pd.DataFrame) -> pd.DataFrame:
    """At most MAX_POINTS evenly spaced records of one curve, its first and last kept."""
    if len(curve) <= MAX_POINTS:
        return curve
    index = sorted(set(round(i * (len(curve) - 1) / (MAX_POINTS - 1))
                       for i in range(MAX_POINTS)))
    return curve.iloc[index]


def _label(net: Mapping[str, Any], varying: set[str]) -> str:
    """A configuration's legend name: the facets that vary in the explorer, in a fixed order
    ("A · Shapeset-3×2 · depth 5 · Tanh N · batchnorm · tricks")."""
    parts = []
    if "side" in varying:
        parts.append(str(net["side"]))
    if "dataset" in varying:
        parts.append(dataset_label(net["dataset"]))
    if "depth" in varying:
        parts.append(f"depth {net['depth']}")
    parts.append(config_label(str(net["activation"]), str(net["initializer"])))
    parts += [str(net[f]) for f in ("trick", "budget") if f in varying]
    return " · ".join(parts)


def curves_explorer(explorer_id: str, curves: pd.DataFrame, *, y_title: str,
                    facets: Sequence[str] = FACETS,
                    initial: Mapping[str, str] | None = None, color_by: str = "config",
                    sides: Sequence[str] = ()) -> dict[str, Any]:
    """The context of one curves explorer (templates/explorer.html.j2, macro `explorer`).

    Args:
        explorer_id: the block's HTML id (unique in the page).
        curves: `trainability.analysis.compare.error_curves`, plus a `side` column on the
            comparison page (the label of the run each network belongs to).
        y_title: the y axis' title, with its unit.
        facets: the columns the drop-downs filter on.
        initial: the option selected in each drop-down when the page opens (absent: all).
        color_by: "config" (the paper's colour of activation x initializer) or "trick".
        sides: the runs' labels, in the order of RUN_DASHES (the comparison page).
    """
    context: dict[str, Any] = {"id": explorer_id, "controls": [], "figure": None,
                               "traces": 0}
    if curves.empty:
        return context
    network_keys = [*(["side"] if "side" in curves else []), "run", "member"]
    networks = curves.drop_duplicates(network_keys)
    varying = {f for f in facets if networks[f].astype(str).nunique() > 1}
    figure = go.Figure()
    shown_groups: set[str] = set()
    all_values = []
    for _, curve in curves.groupby(network_keys, sort=False):
        net = curve.iloc[0]
        values = facet_values(net, facets)
        all_values.append(values)
        label = _label(net, varying)
        color = (trick_color(str(net["trick"])) if color_by == "trick"
                 else config_color(str(net["activation"]), str(net["initializer"])))
        dash = (RUN_DASHES[list(sides).index(net["side"]) % len(RUN_DASHES)] if sides
                else "solid")
        points = _thinned(curve)
        about = (f"seed {int(net['init_seed'])}, lr {float(net['lr']):g}, width "
                 f"{int(net['width'])}" + (", diverged" if bool(net["diverged"]) else ""))
        figure.add_trace(go.Scatter(
            x=points["update"].tolist(), y=points["value"].round(4).tolist(), mode="lines",
            name=label, legendgroup=label, showlegend=label not in shown_groups,
            line={"color": color, "dash": dash, "width": 1.5}, meta=values,
            hovertemplate=(f"<b>{label}</b><br>{about}<br>update %{{x:,}}<br>"
                           f"{y_title} %{{y:.2f}}<extra></extra>")))
        shown_groups.add(label)
    figure.update_layout(
        template="plotly_white", height=460, margin={"l": 60, "r": 20, "t": 20, "b": 50},
        xaxis={"title": {"text": "updates"}}, yaxis={"title": {"text": y_title}},
        hovermode="closest", legend={"groupclick": "togglegroup"})
    context.update(controls=facet_controls(all_values, facets, initial),
                   figure=_json_for_script(pio.to_json(figure, engine="json")),
                   traces=len(figure.data))
    return context


def table_explorer(explorer_id: str, rows: Iterable[Mapping[str, Any]],
                   facets: Sequence[str] = FACETS) -> dict[str, Any]:
    """The context of a table explorer: drop-downs over the facets of `rows` (the raw runs
    rows the table shows, in its order) and each row's facets, as JSON for its data-facets
    attribute."""
    values = [facet_values(row, facets) for row in rows]
    return {"id": explorer_id, "controls": facet_controls(values, facets),
            "row_facets": [json.dumps(v, sort_keys=True) for v in values]}
