"""The HTML report: built from small fabricated inputs, read back as HTML, and opened in a
real headless browser (Chromium) when one is installed."""

import base64
import json
import re
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from conftest import write_tables
from readback import as_read
from trainability.analysis.table1 import table1
from trainability.figures import FIGURES
from trainability.figures.placeholder import placeholder_figure as _placeholder_figure
from trainability.pipeline.plan import plan
from trainability.report import build_report
from trainability.results import read_table

CHROMIUM = Path("/usr/bin/chromium")
HEADINGS = [
    "Summary",
    "Shapeset-3×2",
    "Effect of activation functions and saturation during training",
    "Studying gradients and their propagation",
    "Error curves and conclusions",
    "Training tricks",
    "Signal propagation",
    "Claims ledger",
    "Runs",
    "Provenance",
]
#: Table 1 of the paper as printed (fact sheet sec. 3), rows x (Shapeset, MNIST, CIFAR-10,
#: ImageNet).
PAPER = {
    "Softsign": ["16.27", "1.64", "55.78", "69.14"],
    "Softsign N": ["16.06", "1.72", "53.8", "68.13"],
    "Tanh": ["27.15", "1.76", "55.9", "70.58"],
    "Tanh N": ["15.60", "1.64", "52.92", "68.57"],
    "Sigmoid": ["82.61", "2.21", "57.28", "70.66"],
}
#: A config.yaml, small: one study on Shapeset, depth 5, width 8.
CONFIG = {
    "scale": "tiny", "datasets": ["shapeset"], "data_root": "data", "seed": 0, "device": "cpu",
    "presets": {"tiny": {"updates": 100, "eval_every": 50, "monitor_every": 50,
                         "lr_grid": [0.01, 0.1], "seeds": [0, 1], "width": 8}},
    "studies": {"table1": {"datasets": ["shapeset"], "activations": ["tanh", "softsign"],
                           "initializers": ["standard", "normalized"], "depths": [5]}},
}
#: What the workflow gives the report: the plan (results/plan.json), through JSON.
PLAN = json.loads(json.dumps(plan(CONFIG).to_dict()))
MISSING_FIGURE = "fig12"  # no file: the report must say so
PLACEHOLDER_FIGURE = "fig2"  # the workflow's placeholder: the report must give its reason
PLACEHOLDER_REASON = "no protocol network for sigmoid/standard on shapeset at depth 4"
SVG_FIGURE = "jacobian"  # given as SVG only


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour RGB PNG, written by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def svg(width: int, height: int) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><rect width="{width}" height="{height}" '
            f'fill="#3366aa"/><circle cx="20" cy="15" r="10" fill="#ffcc00"/></svg>').encode()


def fabricated_runs() -> pd.DataFrame:
    """Shapeset, depth 5, width 8: tanh x {standard, normalized} and softsign/standard, each
    swept over lr {0.01, 0.1} with seed 0 and rerun with seed 1 at the selected rate.
    tanh/standard at lr 0.1 diverged at update 37; softsign/standard's seed-1 rerun and all
    of softsign/normalized are missing."""
    rows = []
    configs = {("tanh", "standard"): 0.01, ("tanh", "normalized"): 0.1,
               ("softsign", "standard"): 0.1}
    errors = iter([0.31, 0.28, 0.22, 0.21, 0.25, 0.24, 0.30, 0.23, 0.26])
    for (activation, initializer), chosen in configs.items():
        members = [("sweep", lr, 0) for lr in (0.01, 0.1)]
        if activation == "tanh":
            members.append(("seeds", chosen, 1))
        for stage, lr, seed in members:
            diverged = (activation, initializer, lr) == ("tanh", "standard", 0.1)
            rows.append({
                "member": len(rows), "dataset": "shapeset", "depth": 5, "width": 8,
                "batch_size": 10, "data_seed": 0, "activation": activation,
                "initializer": initializer, "lr": lr, "init_seed": seed,
                "diverged_at": 37 if diverged else None,
                "final_test_error": float("nan") if diverged else next(errors),
                "final_train_loss": 1.0, "final_valid_error": 0.3, "best_valid_error": 0.29,
                "protocol": stage == "seeds" or lr == chosen,
                "run": f"shapeset-d5-w8-{stage}", "stage": stage, "updates": 100,
                "eval_every": 50, "wall_seconds": 3.5 if stage == "sweep" else 2.0,
                "git_commit": "0123456789abcdef0123456789abcdef01234567", "device": "cpu",
                "device_name": "cpu (x86_64, 2 threads)", "torch_version": "2.13.0",
                "trainability_version": "0.1.0", "schema_version": 1})
    runs = pd.DataFrame(rows)
    runs["diverged_at"] = runs["diverged_at"].astype("Int64")
    return runs


#: The updates at which the fabricated curves record the test error.
CURVE_UPDATES = (0, 50, 100)


def fabricated_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Every network's test error at CURVE_UPDATES, falling linearly from 90% to its final
    error; a diverged network's curve stops at update 0 (it diverged at 37)."""
    rows = []
    member_columns = [c for c in ("member", "dataset", "depth", "width", "batch_size",
                                  "data_seed", "activation", "initializer", "lr", "init_seed",
                                  "diverged_at", "run", "stage", "trick", "budget")
                      if c in runs.columns]
    for record in runs[member_columns].to_dict("records"):
        final = runs.loc[runs["member"] == record["member"], "final_test_error"].iloc[0]
        for update in CURVE_UPDATES[:1] if pd.isna(final) else CURVE_UPDATES:
            value = 0.9 if pd.isna(final) else 0.9 + (final - 0.9) * update / CURVE_UPDATES[-1]
            rows.append({**record, "update": update, "metric": "test_error", "value": value})
    return pd.DataFrame(rows)


CLAIM_VERDICTS = {"P1": "inconclusive", "P2": "supported", "P3": "not supported",
                  "P4": "supported", "P5": "supported", "P6": "inconclusive",
                  "P7": "not supported", "P8": "supported", "P9": "supported",
                  "P10": "inconclusive", "P11": "supported", "P12": "inconclusive",
                  "S3": "supported", "S4": "inconclusive", "S5": "supported",
                  "S6": "not supported", "S7": "inconclusive", "S9": "supported",
                  "S10": "supported", "S12": "inconclusive"}


@pytest.fixture
def inputs(tmp_path):
    """Every input of build_report, fabricated, in tmp_path/in."""
    root = tmp_path / "in"
    tables = root / "tables"
    tables.mkdir(parents=True)
    runs = as_read({"runs": fabricated_runs()})["runs"]  # as the suite writes and reads it
    write_tables({"runs": runs, "curves": fabricated_curves(runs)}, tables)
    (tables / "schema.json").write_text('{"schema_version": 2}\n')

    figures = root / "figures"
    figures.mkdir()
    for index, name in enumerate(FIGURES):
        if name == MISSING_FIGURE:
            continue
        if name == PLACEHOLDER_FIGURE:
            _placeholder_figure(name, PLACEHOLDER_REASON, figures / name)
            continue
        if name == SVG_FIGURE:
            (figures / f"{name}.svg").write_bytes(svg(60, 40))
        else:
            (figures / f"{name}.png").write_bytes(png(64, 40, ((20 + 15 * index) % 256, 90, 160)))

    table1_csv = root / "table1.csv"
    table1({"runs": runs}).to_csv(table1_csv, index=False)

    claims = [{"id": claim_id, "claim": f"claim text of {claim_id}", "verdict": verdict,
               "rule": f"decision rule of {claim_id}", "evidence": f"evidence of {claim_id}",
               "numbers": {"ratio": 0.5123, "per_layer": {"1": 0.1, "2": 0.2},
                           "parts": {"a": "supported"}}}
              for claim_id, verdict in CLAIM_VERDICTS.items()]
    claims_json = root / "claims.json"
    claims_json.write_text(json.dumps({"counts": {}, "claims": claims}))

    benchmarks = root / "benchmarks"
    (benchmarks / "train").mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (benchmarks / "train" / "shapeset-d5-w8-sweep.tsv").write_text(
        header + "12.5\t0:00:12\t512.3\t900.1\t500\t505\t0.1\t2.3\t180.5\t22.1\n")
    (benchmarks / "aggregate.tsv").write_text(
        header + "3.25\t0:00:03\t212.3\t900.1\t500\t505\t0.1\t2.3\t80.5\t2.1\n")
    return {"tables_dir": tables, "figures_dir": figures, "table1_csv": table1_csv,
            "claims_json": claims_json, "benchmarks_dir": benchmarks, "plan": PLAN}


@pytest.fixture
def report(inputs, tmp_path):
    out = tmp_path / "out" / "report.html"
    assert build_report(out, **inputs) == out
    return out


class Parsed(HTMLParser):
    """Headings (h2) in order, every element's attributes, text per element id."""

    def __init__(self, html: str):
        super().__init__()
        self.h2: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_by_id: dict[str, list[str]] = {}
        self._open_ids: list[tuple[str, str]] = []
        self._in_h2 = False
        self.feed(html)

    BLOCKS = {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "td", "th", "tr", "table",
              "caption", "h1", "h2", "h3", "h4", "figure", "figcaption", "article", "section",
              "br", "pre"}

    def _gap(self, tag):
        if tag in self.BLOCKS:
            for _, element_id in self._open_ids:
                self.text_by_id[element_id].append(" ")

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._gap(tag)
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        if attributes.get("id") and tag not in ("img", "br", "meta"):
            self._open_ids.append((tag, attributes["id"]))
            self.text_by_id[attributes["id"]] = []

    def handle_endtag(self, tag):
        self._gap(tag)
        if tag == "h2":
            self._in_h2 = False
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data
        for _, element_id in self._open_ids:
            self.text_by_id[element_id].append(data)

    def text(self, element_id: str) -> str:
        return " ".join("".join(self.text_by_id[element_id]).split())


def test_report_is_self_contained(report):
    html = report.read_text(encoding="utf-8")
    parsed = Parsed(html)
    for tag, attributes in parsed.tags:
        for name in ("src", "href", "srcset", "data", "action", "poster"):
            value = (attributes.get(name) or "").strip()
            assert not value or value.startswith(("data:", "#")), (tag, name, value[:80])
        assert tag not in ("link", "iframe", "object", "embed"), tag
        if tag == "script":  # inline code, or the explorers' data
            assert "src" not in attributes, attributes
            assert attributes.get("type") in (None, "application/json"), attributes
    # Plotly's library is in the page once, whole (the browser test runs it offline).
    assert html.count(get_plotlyjs()) == 1
    page = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)  # the markup and the CSS
    assert not re.search(r"url\(\s*['\"]?(?!data:|#)", page), "external url() in CSS"
    assert "@import" not in page and "@font-face" not in page
    assert "file://" not in page
    assert not list(report.parent.glob(".*partial*")), "the temporary file was left behind"


def test_sections_in_the_papers_order(report):
    headings = [" ".join(h.split()) for h in Parsed(report.read_text(encoding="utf-8")).h2]
    assert headings == HEADINGS


def test_every_provided_figure_is_embedded_with_its_caption_as_alt(report, inputs):
    html = report.read_text(encoding="utf-8")
    images = {attrs["src"]: attrs.get("alt", "") for tag, attrs in Parsed(html).tags
              if tag == "img"}
    for path in sorted(inputs["figures_dir"].iterdir()):
        if path.stem == PLACEHOLDER_FIGURE:
            continue
        mime = "image/png" if path.suffix == ".png" else "image/svg+xml"
        src = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()
        assert src in images, f"{path.name} is not embedded"
        assert FIGURES[path.stem].caption in images[src], f"{path.name}: alt is not its caption"
    assert len(images) == len(FIGURES) - 2
    parsed = Parsed(html)
    assert "not available: no fig12.png or fig12.svg" in parsed.text(f"figure-{MISSING_FIGURE}")
    assert (f"Figure 2 is not available: {PLACEHOLDER_REASON}."
            in parsed.text(f"figure-{PLACEHOLDER_FIGURE}"))


def test_figures_carry_the_papers_claim_and_our_verdicts(report):
    parsed = Parsed(report.read_text(encoding="utf-8"))
    for name, spec in FIGURES.items():
        text = parsed.text(f"figure-{name}")
        assert spec.claim in text, name
        for claim_id in spec.claim_ids:
            assert f"Our verdict on {claim_id}: " in text, (name, claim_id)
            verdict = CLAIM_VERDICTS.get(claim_id)
            if verdict is None:  # a claim the fabricated claims file does not judge
                assert f"{claim_id}: – not evaluated (not in the claims ledger)" in text
            else:
                assert re.search(rf"{claim_id}: [✓✗?] {verdict}\b", text), (name, claim_id)


def test_table1_has_ours_paper_and_difference_with_the_test_named(report):
    parsed = Parsed(report.read_text(encoding="utf-8"))
    text = parsed.text("errors")
    table = text[text.index("ours: mean ± 95% CI"):text.index("Ours: mean test error")]
    assert "paper" in table and "difference" in table
    for dataset in ("Shapeset", "MNIST", "CIFAR-10", "ImageNet"):
        block = table[table.index(dataset):]
        for row, values in PAPER.items():
            column = ["Shapeset", "MNIST", "CIFAR-10", "ImageNet"].index(dataset)
            assert re.search(rf"{re.escape(row)} .*?{re.escape(values[column])}", block), (
                dataset, row)
    # Tanh on Shapeset: seeds 0 and 1 at lr 0.01 (31% and 28%); Tanh N is the best cell
    assert "Tanh 29.50 ± 19.06 bold 2 27.15 +2.35" in table
    assert "Tanh N 23.00 ± 25.41 best 2 15.60 +7.40" in table
    assert "Welch" in text and "p = 0.005" in text


def test_ledger_lists_every_claim_with_its_verdict(report, inputs):
    parsed = Parsed(report.read_text(encoding="utf-8"))
    claims = json.loads(inputs["claims_json"].read_text())["claims"]
    for claim in claims:
        text = parsed.text(f"claim-{claim['id']}")
        assert re.search(rf"^{claim['id']} [✓✗?] {claim['verdict']}\b", text), text[:120]
        assert claim["rule"] in text and claim["evidence"] in text
        assert "per_layer 1: 0.1, 2: 0.2" in text and "parts.a supported" in text
    summary = parsed.text("summary")
    assert "20 claims" in summary
    assert "10 supported, 3 not supported and 7 inconclusive" in summary


def test_training_tricks_section_has_its_figures_studies_and_s_claims(inputs, tmp_path):
    runs = pd.read_parquet(inputs["tables_dir"] / "runs.parquet")
    tricks = runs.iloc[:2].assign(trick=["batchnorm", "none"], budget="tricks", width=128,
                                  updates=3000, depth=20, run="shapeset-d20-w128-tricks-sweep")
    pd.concat([runs.assign(trick="none", budget="preset"), tricks], ignore_index=True).to_parquet(
        inputs["tables_dir"] / "runs.parquet", index=False)
    out = build_report(tmp_path / "r.html", **inputs)
    parsed = Parsed(out.read_text(encoding="utf-8"))
    text = parsed.text("tricks")
    assert "2 networks at width 128 with 3,000 updates" in text
    # the second row copied is the diverged tanh/standard network
    assert ("tricks 2 1 Shapeset-3×2 20 128 3,000 raw tanh standard none, batchnorm"
            in parsed.text("tricks-studies"))
    for name in ("tricks_heatmap", "tricks_gradients", "dead_units", "selu_stats",
                 "sigmoid_derivative", "matrix_product"):
        figure = parsed.text(f"figure-{name}")
        assert FIGURES[name].caption in figure and "The practitioners' claim:" in figure
    for claim_id in ("S3", "S9", "S12"):
        assert re.search(rf"{claim_id} [✓✗?] {CLAIM_VERDICTS[claim_id]}", text), claim_id
    assert "P1 " not in text.split("Practitioner claims S1–S14")[1]
    # trick rows stay out of the paper's sections, and the runs table names their trick
    assert "depth 20" not in parsed.text("errors")
    assert "batchnorm tricks" in parsed.text("runs-all")
    assert "batchnorm" not in parsed.text("runs-missing")


def test_diverged_and_missing_networks_are_named(report):
    parsed = Parsed(report.read_text(encoding="utf-8"))
    diverged = parsed.text("runs-diverged")
    assert re.search(r"tanh standard 0\.1 0 sweep DIVERGED at update 37 of 100", diverged)
    missing = parsed.text("runs-missing")
    assert "softsign standard seeds MISSING: seed 1" in missing
    assert "softsign normalized sweep MISSING: lr 0.01, seed 0; lr 0.1, seed 0" in missing
    assert "softsign normalized seeds MISSING: seed 1" in missing
    assert re.search(r"tanh standard 0\.1 0 sweep no DIVERGED at update 37",
                     parsed.text("runs-all"))


def test_the_plan_file_gives_the_same_runs_section(report, inputs, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN))
    out = build_report(tmp_path / "r.html", **dict(inputs, plan=path))
    section = Parsed(out.read_text(encoding="utf-8")).text("runs")
    assert section == Parsed(report.read_text(encoding="utf-8")).text("runs")
    assert "SGD updates per network 100" in Parsed(out.read_text(encoding="utf-8")).text(
        "summary")


def test_without_a_plan_missing_networks_are_inferred_from_the_runs(inputs, tmp_path):
    out = build_report(tmp_path / "r.html", **dict(inputs, plan=None))
    parsed = Parsed(out.read_text(encoding="utf-8"))
    missing = parsed.text("runs-missing")
    assert "softsign standard seeds MISSING: seed 1" in missing
    assert "normalized sweep" not in missing  # nothing says softsign/normalized was planned
    assert "DIVERGED at update 37" in parsed.text("runs-diverged")


def test_provenance_and_benchmarks(report):
    parsed = Parsed(report.read_text(encoding="utf-8"))
    text = parsed.text("provenance")
    assert "0123456789abcdef0123456789abcdef01234567" in text
    assert "cpu (x86_64, 2 threads)" in text and "tiny" in text
    assert "train/shapeset-d5-w8-sweep 12.5 0:00:12 512" in text
    assert "total (2 jobs) 15.8 0:00:16" in text
    for package in ("python", "torch", "pandas", "jinja2", "trainability"):
        assert re.search(rf"\b{package} \S+", text), package


def test_rebuilding_gives_the_same_bytes(report, inputs, tmp_path):
    again = build_report(tmp_path / "again.html", **inputs)
    assert again.read_bytes() == report.read_bytes()


def test_missing_inputs_give_a_readable_report(tmp_path):
    out = build_report(tmp_path / "r.html", tmp_path / "none", tmp_path / "none",
                       tmp_path / "none.csv", tmp_path / "none.json")
    parsed = Parsed(out.read_text(encoding="utf-8"))
    assert [" ".join(h.split()) for h in parsed.h2] == HEADINGS
    assert "Table 1 is not available" in parsed.text("errors")
    assert "not available" in parsed.text("ledger")
    assert "No runs table" in parsed.text("runs")


# ---------------------------------------------------------------- a real browser (Chromium)

PROBE = """<script>
window.addEventListener("load", () => {
  const sizes = Array.from(document.images, i => [i.naturalWidth, i.naturalHeight, i.complete]);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(sizes);
  document.body.appendChild(out);
});
</script>
"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(report, inputs, tmp_path):
    # The DOM after load, with a probe (in a copy; the report itself has no script) that
    # records every image's natural size once decoded.
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    result = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert 'class="table1"' in dom and "ours: mean ± 95% CI" in dom and "15.60" in dom
    for claim_id, verdict in CLAIM_VERDICTS.items():
        assert f'id="claim-{claim_id}"' in dom and verdict in dom
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, "the probe did not run: no load event?"
    sizes = json.loads(match.group(1))
    assert len(sizes) == len(FIGURES) - 2  # one has no file, one is a placeholder
    assert all(w > 0 and h > 0 and done for w, h, done in sizes), sizes

    # A screenshot of the report itself: produced, and not blank.
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={shot}",
                      report.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    dark = (pixels.mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5, f"{dark:.4f} of the screenshot is dark: blank or broken?"
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, 3).round(2)}) > 20



# ---------------------------------------------------------------- the interactive explorers

def explorer_figure(html: str, explorer_id: str) -> dict:
    """The Plotly figure (data, layout) of one explorer, as the page holds it."""
    block = html[html.index(f'id="{explorer_id}"'):]
    match = re.search(r'<script type="application/json" class="explorer-figure">(.*?)</script>',
                      block, re.S)
    return json.loads(match.group(1))


def read(tables_dir: Path, name: str) -> pd.DataFrame:
    return read_table(tables_dir / f"{name}.parquet", name, aggregated=True, rebuild="")


def protocol_curves(tables_dir: Path) -> pd.DataFrame:
    """The paper's protocol networks and their test-error records, from the tables."""
    runs, curves = read(tables_dir, "runs"), read(tables_dir, "curves")
    runs = runs[runs["protocol"] & (runs["trick"] == "none") & (runs["budget"] == "preset")]
    curves = curves[curves["metric"] == "test_error"]
    return runs.merge(curves[["run", "member", "update", "value"]], on=["run", "member"])


def test_error_curves_explorer_draws_every_protocol_network_from_the_tables(report, inputs):
    html = report.read_text(encoding="utf-8")
    figure = explorer_figure(html, "explore-errors")
    facets = ("dataset", "activation", "initializer", "depth", "trick", "budget")
    drawn = sorted((tuple(t["meta"][f] for f in facets), tuple(t["x"]),
                    tuple(round(y, 4) for y in t["y"])) for t in figure["data"])
    expected = sorted(
        (tuple(str(curve[f].iloc[0]) for f in facets), tuple(curve["update"].tolist()),
         tuple(round(v * 100, 4) for v in curve["value"]))
        for _, curve in protocol_curves(inputs["tables_dir"]).groupby(["run", "member"]))
    assert drawn == expected and len(drawn) == 5
    # one legend entry per configuration (its seeds share it), hover names it
    legend = [t["name"] for t in figure["data"] if t.get("showlegend", True)]
    assert sorted(legend) == ["Softsign", "Tanh", "Tanh N"]
    assert all(t["hovertemplate"].startswith(f"<b>{t['name']}</b>") for t in figure["data"])
    # the drop-downs offer what is present, the page opens on the first dataset
    parsed = Parsed(html)
    options = [a.get("value") for tag, a in parsed.tags if tag == "option"]
    assert {"tanh", "softsign", "standard", "normalized", "shapeset"} <= set(options)
    assert re.search(r'data-facet="dataset">\s*<option value="">all</option>\s*'
                     r'<option value="shapeset" selected>', html)
    # the table of all networks: one row per network, each with its own facets
    rows = re.findall(r"<tr data-facets='([^']*)'><td>[^<]*</td><td class=\"num\">(\d+)</td>"
                      r"<td class=\"num\">\d+</td><td>([^<]*)</td>", html)
    assert len(rows) == len(read(inputs["tables_dir"], "runs"))
    for facets_json, depth, activation in rows:
        row_facets = json.loads(facets_json.replace("&#34;", '"'))
        assert (row_facets["depth"], row_facets["activation"]) == (depth, activation)


EXPLORER_PROBE = """<script>
window.addEventListener("load", function () {
  function drawn(id) {
    return document.querySelectorAll("#" + id + " .scatterlayer .trace").length;
  }
  function rows(id) {
    return Array.from(document.querySelectorAll("#" + id + " tbody tr"))
      .filter(function (row) { return row.getClientRects().length > 0; }).length;
  }
  function choose(id, facet, value) {
    var select = document.querySelector("#" + id + " select[data-facet='" + facet + "']");
    select.value = value;
    select.dispatchEvent(new Event("change"));
  }
  setTimeout(function () {
    var out = {curves: drawn("explore-errors"), rows: rows("explore-runs")};
    choose("explore-errors", "initializer", "normalized");
    choose("explore-runs", "activation", "softsign");
    setTimeout(function () {
      out.curves_normalized = drawn("explore-errors");
      out.rows_softsign = rows("explore-runs");
      out.count = document.querySelector("#explore-runs .explorer-count").textContent;
      var pre = document.createElement("pre");
      pre.id = "probe-explorers";
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    }, 1000);
  }, 1000);
});
</script>
"""
#: Every request goes to a proxy that refuses it (port 9, discard), loopback included.
OFFLINE = ("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")


def page_requests(netlog: Path) -> list[str]:
    """The network requests (http, https, ws, ftp) a page made, from Chromium's net log.
    Chromium's own background requests (its initiator is "not an origin") are left out."""
    log = json.loads(netlog.read_text())
    types = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    return sorted({event["params"]["url"] for event in log["events"]
                   if types.get(event["type"]) == "URL_REQUEST_START_JOB"
                   and event["params"].get("initiator") != "not an origin"
                   and re.match(r"(https?|wss?|ftp):", event["params"].get("url", ""))})


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_explorer_filters_change_what_is_shown_offline(report, inputs, tmp_path):
    probe = tmp_path / "explorers.html"
    probe.write_text(report.read_text(encoding="utf-8").replace(
        "</body>", EXPLORER_PROBE + "</body>"), encoding="utf-8")
    netlog = tmp_path / "net.json"
    result = chromium(tmp_path, *OFFLINE, f"--log-net-log={netlog}",
                      "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'<pre id="probe-explorers">(.*?)</pre>', result.stdout, re.S)
    assert match, "the probe did not run: Plotly or the explorers failed offline?"
    shown = json.loads(match.group(1))
    curves = protocol_curves(inputs["tables_dir"]).drop_duplicates(["run", "member"])
    runs = read(inputs["tables_dir"], "runs")
    assert shown["curves"] == len(curves) > 0  # the page opens on Shapeset, the only dataset
    assert shown["curves_normalized"] == (curves["initializer"] == "normalized").sum() > 0
    assert shown["rows"] == len(runs)
    softsign = (runs["activation"] == "softsign").sum()
    assert 0 < shown["rows_softsign"] == softsign < len(runs)
    assert shown["count"] == f"{softsign} of {len(runs)} networks shown"
    assert page_requests(netlog) == []

    # The net log does see a page's requests: the same page with one remote image.
    remote = tmp_path / "remote.html"
    remote.write_text(probe.read_text(encoding="utf-8").replace(
        "</body>", '<img src="http://example.invalid/x.png" alt=""></body>'), encoding="utf-8")
    chromium(tmp_path, *OFFLINE, f"--log-net-log={netlog}", "--virtual-time-budget=5000",
             "--dump-dom", remote.as_uri())
    assert page_requests(netlog) == ["http://example.invalid/x.png"]
