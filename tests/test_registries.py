"""Additions take one place each: an activation added by one registry entry is named, coloured
and ordered by the figures from that entry; a figure added by one function plus one spec
renders through `render_figure` and appears in its section of the report, with its title and
caption. Both registrations are removed again after each test."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import product

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from conftest import write_tables
from readback import as_read
from trainability.figures import FIGURES, MissingData, errors, figure, render_figure, tricks_depth
from trainability.figures.labels import activation_rank
from trainability.figures.style import new_figure, styled
from trainability.lazy import lazy_import
from trainability.nets.activations import ACTIVATIONS, Activation
from trainability.report import build_report

torch = lazy_import("torch")

GELU_COLOR = "#8c613c"


@pytest.fixture
def gelu():
    """GELU, registered as a user would: one entry in the activation registry."""

    @ACTIVATIONS.register("gelu")
    def _gelu() -> Activation:
        return Activation("gelu", lambda s: torch.nn.functional.gelu(s), label="GELU",
                          family="smooth", color=GELU_COLOR)

    yield "gelu"
    ACTIVATIONS.unregister("gelu")


def _runs(rows: list[dict]) -> dict[str, pd.DataFrame]:
    """Protocol networks of the runs table, as the suite reads them."""
    return as_read({"runs": pd.DataFrame(rows)})


def _network(activation, initializer, depth, error, seed=0, trick="none", budget="preset",
             width=32):
    return {"run": f"{budget}-{activation}-{initializer}-d{depth}", "member": seed,
            "stage": "seeds", "dataset": "shapeset", "depth": depth, "width": width,
            "activation": activation, "initializer": initializer, "init_seed": seed,
            "trick": trick, "budget": budget, "protocol": True, "updates": 1_000,
            "final_test_error": error}


def test_an_activation_added_in_one_entry_is_labelled_coloured_and_ordered(gelu):
    assert ACTIVATIONS.registered()[-1] == "gelu"
    built_in = [a for a in ACTIVATIONS.registered() if a != "gelu"]
    assert sorted(["gelu", *built_in], key=activation_rank)[-1] == "gelu"

    # The depth figure compares the paper's networks by activation: GELU is in its legend,
    # drawn in its colour, after the built-in activations.
    tables = _runs([_network(a, "standard", depth, 0.5 - 0.05 * depth + 0.01 * seed, seed)
                    for a, depth, seed in product(("tanh", gelu), (1, 2, 3), (0, 1))])
    fig = errors.fig_depth(tables)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Tanh", "GELU"]
    colors = {c.get_label(): to_hex(c.lines[0].get_color()) for c in ax.containers}
    assert colors["GELU"] == GELU_COLOR
    assert colors["Tanh"] == ACTIVATIONS.build("tanh").color

    # The heat map of the trick study has a column per activation, in the registry's order:
    # GELU's comes after every built-in one, titled by its label.
    rows = [_network(a, "normalized", depth, 0.2 + 0.01 * depth, seed, trick, "tricks")
            for a, depth, seed, trick in product(("relu", gelu, "tanh"), (2, 5, 10), (0, 1),
                                                  ("none", "batchnorm"))]
    fig = tricks_depth.tricks_heatmap(_runs(rows))
    panels = sorted((ax for ax in fig.axes if ax.get_gid()),
                    key=lambda ax: ax.get_subplotspec().colspan.start)
    assert [ax.get_gid() for ax in panels] == [
        "shapeset/tanh/normalized", "shapeset/relu/normalized", "shapeset/gelu/normalized"]
    assert panels[-1].get_title() == "GELU, normalized init"


def test_an_activation_a_registry_does_not_know_keeps_its_name(gelu):
    tables = _runs([_network(a, "standard", depth, 0.3, seed)
                    for a, depth, seed in product(("tanh", "swish"), (1, 2), (0, 1))])
    (ax,) = errors.fig_depth(tables).axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Tanh", "swish"]


# ---- a figure added by one function plus one spec ------------------------------------------
NAME = "test_extra_figure"
TITLE = "Final error per depth (an added figure)"
CAPTION = "Final test error of every protocol network against its depth, one dot each."


@pytest.fixture
def added_figure():
    """One function plus its spec, as a figure module would hold it."""

    @figure(NAME, section="errors", title=TITLE, caption=CAPTION,
            claim="Deeper networks reach a lower error (a made-up claim).", claim_ids=("P10",))
    @styled
    def final_error_by_depth(tables):
        runs = tables["runs"]
        runs = runs[runs["protocol"]]
        if runs.empty:
            raise MissingData("needs protocol networks; the runs table has none")
        fig, axes = new_figure(1, 1)
        axes[0].plot(runs["depth"], 100 * runs["final_test_error"], "o")
        axes[0].set_xlabel("depth")
        return fig

    yield final_error_by_depth
    del FIGURES[NAME]


def _tables_dir(tmp_path, runs: list[dict]):
    """A tables folder as the pipeline writes it: these runs, the other tables empty."""
    return write_tables({"runs": pd.DataFrame(runs), "curves": pd.DataFrame(),
                         "layer_stats": pd.DataFrame(), "histograms": pd.DataFrame()},
                        tmp_path / "tables")


class Sections(HTMLParser):
    """The figures (id, title, caption text) of each <section id=...> of the report."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.figures: dict[str, list[tuple[str, str]]] = {}
        self._figure: tuple[str, str, list[str]] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "id" in attrs:
            self.stack.append(attrs["id"])
        if tag == "figure":
            self._figure = (self.stack[0], attrs.get("id", ""), [])

    def handle_endtag(self, tag):
        if tag == "section":
            self.stack.pop()
        if tag == "figure" and self._figure is not None:
            section, name, text = self._figure
            self.figures.setdefault(section, []).append((name, " ".join("".join(text).split())))
            self._figure = None

    def handle_data(self, data):
        if self._figure is not None:
            self._figure[2].append(data)


def test_a_figure_added_in_one_function_and_spec_renders_and_is_reported(added_figure,
                                                                         tmp_path):
    assert FIGURES[NAME].function is added_figure and FIGURES[NAME].section == "errors"
    tables = _tables_dir(tmp_path, [_network("tanh", "standard", d, 0.3 - 0.02 * d)
                                    for d in (1, 2, 3)])
    figures = tmp_path / "figures"
    written = render_figure(NAME, tables, figures / NAME)
    assert [p.name for p in written] == [f"{NAME}.png", f"{NAME}.svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = build_report(tmp_path / "report.html", tables, figures, None, None)
    sections = Sections(report.read_text(encoding="utf-8")).figures
    (text,) = [text for name, text in sections["errors"] if name == f"figure-{NAME}"]
    assert text.startswith(f"{TITLE}. {CAPTION}")
    assert "made-up claim" in text
    # in its section, after the section's own figures (registration order), and nowhere else
    assert [name for name, _ in sections["errors"]][-1] == f"figure-{NAME}"
    assert sum(name == f"figure-{NAME}" for figs in sections.values() for name, _ in figs) == 1
    assert re.search(r"data:image/png;base64,", report.read_text(encoding="utf-8"))


def test_an_added_figure_without_its_data_says_why(added_figure, tmp_path):
    tables = _tables_dir(tmp_path, [{**_network("tanh", "standard", 1, 0.3), "protocol": False}])
    with pytest.raises(MissingData, match="needs protocol networks"):
        render_figure(NAME, tables, tmp_path / "figures" / NAME)


def test_the_registrations_are_removed_after_each_test():
    assert NAME not in FIGURES and "gelu" not in ACTIVATIONS.registered()
