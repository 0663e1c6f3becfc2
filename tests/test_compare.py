"""`trainability compare`: two small runs that differ only in their init seeds, trained here,
compared on one page; the page's differences checked against each run's own tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainability.analysis.claims import write_claims
from trainability.analysis.stats import welch_p
from trainability.analysis.table1 import table1
from trainability.cli import main
from trainability.pipeline.aggregate import aggregate
from trainability.results import read_tables
from trainability.train.config import BundleConfig, MemberConfig
from trainability.train.trainer import train_bundle

CONFIGS = (("tanh", "standard"), ("tanh", "normalized"))
SEEDS = {"A": (0, 1), "B": (2, 3)}
#: The claims the fixture judges (the pipeline judges every one; a few about the trained
#: networks keep the test short), and the one whose verdict it changes in run B's file.
CLAIM_IDS = ("P1", "P4", "P10", "P11", "P12", "S1", "S4", "S14")
FLIPPED = "P10"


def train_run(root: Path, seeds: tuple[int, ...]) -> Path:
    """A seeds-stage job (every member a protocol network) of Table 1's depth-5 Tanh and
    Tanh N networks, tiny, aggregated into root/tables."""
    config = BundleConfig(
        dataset="shapeset", depth=5, width=8, updates=60, eval_every=20, monitor_every=30,
        monitor_size=30, valid_size=100, test_size=100, histogram_bins=6, device="cpu",
        members=tuple(MemberConfig(a, i, 0.05, s) for a, i in CONFIGS for s in seeds))
    run = train_bundle(config, root / "runs" / "shapeset-d5-w8" / "seeds", progress=False)
    return aggregate([run], root / "tables")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run A as a workflow leaves it (results/tables, reports/claims.json), run B as reference
    results (tables/ and claims.json beside it). The claims are the pipeline's (trainability
    claims, CLAIM_IDS); B's verdict of FLIPPED is then changed, so that one differs."""
    root = tmp_path_factory.mktemp("compare")
    a_tables = train_run(root / "a" / "results", SEEDS["A"])
    write_claims(a_tables, root / "a" / "reports" / "claims.json", ids=CLAIM_IDS)
    b_tables = train_run(root / "b", SEEDS["B"])
    claims_b = root / "b" / "claims.json"
    write_claims(b_tables, claims_b, ids=CLAIM_IDS)
    data = json.loads(claims_b.read_text())
    for claim in data["claims"]:
        if claim["id"] == FLIPPED:
            claim["verdict"] = ("not supported" if claim["verdict"] != "not supported"
                                else "supported")
    claims_b.write_text(json.dumps(data))
    return {"A": root / "a", "B": root / "b", "tables": {"A": a_tables, "B": b_tables},
            "claims": {"A": root / "a" / "reports" / "claims.json", "B": claims_b}}


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "compare.html"
    result = subprocess.run([sys.executable, "-m", "trainability.cli", "compare",
                             str(runs["A"]), str(runs["B"]), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == str(out)
    return out.read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def row_html(html: str, element_id: str) -> str:
    return re.search(rf'<tr id="{re.escape(element_id)}"[^>]*>(.*?)</tr>', html, re.S).group(0)


def cell_errors(tables_dir: Path, activation: str, initializer: str) -> np.ndarray:
    """Test errors (%) of the protocol networks of one Table 1 cell, from the runs table."""
    runs = read_tables(tables_dir)["runs"]
    mine = runs[runs["protocol"] & (runs["activation"] == activation)
                & (runs["initializer"] == initializer) & (runs["depth"] == 5)
                & runs["diverged_at"].isna()]
    return mine["final_test_error"].dropna().to_numpy() * 100


def test_table1_of_both_runs_and_their_difference(runs, page):
    frames = {side: table1(read_tables(runs["tables"][side])) for side in "AB"}
    for (label, activation, initializer) in (("Tanh", *CONFIGS[0]), ("Tanh N", *CONFIGS[1])):
        cells = {side: frame[(frame["row"] == label) & (frame["dataset"] == "Shapeset")].iloc[0]
                 for side, frame in frames.items()}
        text = text_of(row_html(page, f"t1-Shapeset-{label.replace(' ', '-')}"))
        for side in "AB":  # each run's own cell, as its report shows it
            assert f"{cells[side]['mean_test_error']:.2f} ± {cells[side]['ci95_halfwidth']:.2f}" \
                in text
            assert cells[side]["n_seeds"] == len(SEEDS[side])
        diff = cells["B"]["mean_test_error"] - cells["A"]["mean_test_error"]
        assert f"{diff:+.2f}".replace("-", "−") in text.split()
        p = welch_p(cell_errors(runs["tables"]["B"], activation, initializer),
                    cell_errors(runs["tables"]["A"], activation, initializer))
        shown = f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"
        assert shown in text.split(), (label, shown, text)
        assert ("significant" in text) == (p < 0.005)
    # cells neither run trained say so; the paper's number is beside them
    assert "not run 0 not run 0 – – 82.61" in text_of(row_html(page, "t1-Shapeset-Sigmoid"))


def test_claim_verdicts_side_by_side_and_the_changed_one_marked(runs, page):
    verdicts = {side: {c["id"]: c["verdict"] for c in
                       json.loads(runs["claims"][side].read_text())["claims"]}
                for side in "AB"}
    changed = {i for i in verdicts["A"] if verdicts["A"][i] != verdicts["B"][i]}
    assert changed == {FLIPPED}
    for claim_id in verdicts["A"]:
        row = row_html(page, f"claim-{claim_id}")
        text = text_of(row)
        match = re.match(rf"{claim_id} [✓✗?] {verdicts['A'][claim_id]} [✓✗?] "
                         rf"{verdicts['B'][claim_id]} (changed|same) ", text)
        assert match, text
        assert (match.group(1) == "changed") == (claim_id in changed)
        assert ('class="changed"' in row) == (claim_id in changed)
    assert f"{len(changed)} of {len(verdicts['A'])} verdicts changed" in text_of(page)


def test_error_curves_of_both_runs_overlaid(runs, page):
    block = page[page.index('id="compare-curves"'):]
    figure = json.loads(re.search(r'class="explorer-figure">(.*?)</script>', block, re.S)
                        .group(1))
    for side, dash in (("A", "solid"), ("B", "dash")):
        tables = read_tables(runs["tables"][side])
        curves = tables["curves"][tables["curves"]["metric"] == "test_error"]
        traces = [t for t in figure["data"] if t["meta"]["side"] == side]
        assert len(traces) == len(CONFIGS) * len(SEEDS[side])
        assert {t["line"]["dash"] for t in traces} == {dash}
        expected = sorted(tuple(np.round(g["value"].to_numpy() * 100, 4))
                          for _, g in curves.groupby("member"))
        assert sorted(tuple(t["y"]) for t in traces) == expected
    # the run is one of the drop-downs, with both runs
    assert re.search(r'data-facet="side">\s*<option value="" selected>all</option>\s*'
                     r'<option value="A"[^>]*>A</option>\s*<option value="B"', page)


def test_page_is_self_contained(page):
    for match in re.finditer(r'\b(src|href)="([^"]*)"', re.sub(
            r"<script\b[^>]*>.*?</script>", "", page, flags=re.S)):
        assert match.group(2).startswith(("#", "data:")), match.group(0)
    assert not re.search(r"<script\b[^>]*\bsrc=", page)


def test_bad_input_is_one_line_and_no_page(runs, tmp_path, capsys):
    out = tmp_path / "page.html"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["compare", str(runs["A"]), str(empty), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: no aggregated tables") and error.count("\n") == 1
    assert "trainability aggregate" in error

    wrong = tmp_path / "wrong"  # a runs table of another shape
    wrong.mkdir()
    pd.DataFrame({"network": [1, 2]}).to_parquet(wrong / "runs.parquet")
    pd.DataFrame({"network": [1, 2]}).to_parquet(wrong / "curves.parquet")
    assert main(["compare", str(wrong), str(runs["B"]), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "runs.parquet" in error and "rebuild" in error

    assert main(["compare", str(tmp_path / "absent"), str(runs["B"]), "--out", str(out)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))
