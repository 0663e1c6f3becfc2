"""Build the HTML report from the pipeline's outputs.

Inputs: the aggregated tables (only runs.parquet is read), the figures folder
(<name>.png or <name>.svg per figure of `trainability.figures.FIGURES`), the Table 1 CSV and
the claims JSON of `trainability.analysis`, and optionally the Snakemake benchmark TSVs and
the workflow's config (`settings`: preset, budget, studies).

Output: ONE HTML file with every figure embedded as a data: URI and the stylesheet inline, so
it opens offline and can be mailed or archived as is. It is written atomically (a temporary
file in the same folder, then os.replace) and is a pure function of its inputs: no clock, no
host name, so rebuilding from the same inputs gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from trainability.analysis.common import PAPER_BUDGET, PAPER_TRICK, paper_rows
from trainability.analysis.table1 import BOLD_ALPHA
from trainability.results import REAGGREGATE, RUNS_COLUMNS, conform, read_table

#: (anchor, heading) of every section, in the paper's order. The tests check this order.
SECTIONS = (
    ("summary", "Summary"),
    ("shapeset", "Shapeset-3×2"),
    ("activations", "Effect of activation functions and saturation during training"),
    ("gradients", "Studying gradients and their propagation"),
    ("errors", "Error curves and conclusions"),
    ("tricks", "Training tricks"),
    ("ledger", "Claims ledger"),
    ("runs", "Runs"),
    ("provenance", "Provenance"),
)

#: Which figures each section shows, in the paper's order.
LAYOUT = {
    "shapeset": ("fig1",),
    "activations": ("fig2", "fig3", "fig4"),
    "gradients": ("fig5", "fig6", "fig7", "fig8", "jacobian", "fig9", "fig10"),
    "errors": ("fig11", "fig12", "depth"),
    "tricks": ("tricks_heatmap", "tricks_gradients", "dead_units", "selu_stats",
               "sigmoid_derivative", "matrix_product"),
}
#: Titles of the figures that are not the paper's numbered ones.
FIGURE_TITLES = {
    "jacobian": "Layer-Jacobian singular values", "depth": "Depth sweep",
    "tricks_heatmap": "Test error over depth × trick",
    "tricks_gradients": "Back-propagated gradients with and without tricks",
    "dead_units": "Dead units: ReLU and its leaky variants",
    "selu_stats": "SELU self-normalization",
    "sigmoid_derivative": "The sigmoid's derivative",
    "matrix_product": "Products of random matrices",
}
#: How a figure's claim is introduced, by FigureSpec.claim_source.
CLAIM_SOURCES = {"paper": "The paper", "practice": "The practitioners' claim"}

TABLE1_CLAIMS = ("P10",)
TABLE1_ROWS = ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")
TABLE1_DATASETS = ("Shapeset", "MNIST", "CIFAR-10", "ImageNet")
#: The cells the paper prints with one decimal ("53.8", "55.9"); the others have two.
ONE_DECIMAL = {("Softsign N", "CIFAR-10"), ("Tanh", "CIFAR-10")}
DATASET_LABELS = {"shapeset": "Shapeset", "mnist": "MNIST", "cifar10": "CIFAR-10",
                  "imagenet": "ImageNet", "smallimagenet": "ImageNet"}
DATASET_ORDER = ("shapeset", "mnist", "cifar10", "imagenet")

VERDICTS = {  # verdict -> (css class, symbol). The text is always printed next to the symbol.
    "supported": ("supported", "✓"),
    "not supported": ("not-supported", "✗"),
    "inconclusive": ("inconclusive", "?"),
}
NOT_EVALUATED = ("not-evaluated", "–")

REPORT_PACKAGES = ("trainability", "torch", "torchvision", "numpy", "pandas", "pyarrow",
                   "scipy", "matplotlib", "jinja2")

#: The paper's budget: "a large number of updates (5 million)".
PAPER_UPDATES = 5_000_000

MIME = {".png": "image/png", ".svg": "image/svg+xml"}


# ---------------------------------------------------------------------------------- helpers

def _num(value: Any) -> float | None:
    """A finite float, or None for NA/NaN/None/non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(value: Any, digits: int = 2, signed: bool = False) -> str:
    number = _num(value)
    if number is None:
        return "–"
    return f"{number:+.{digits}f}" if signed else f"{number:.{digits}f}"


def _fmt_paper(value: Any, one_decimal: bool = False) -> str:
    """A paper number as printed: two decimals ("15.60"), or one where the paper has one."""
    number = _num(value)
    return "–" if number is None else f"{number:.{1 if one_decimal else 2}f}"


def _fmt_any(value: Any) -> str:
    """A value of the claims' `numbers`: floats to 4 significant digits, the rest as JSON."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt_any(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt_any(v)}" for k, v in value.items()) + "}"
    return str(value)


def _key(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _dataset_label(name: Any) -> str:
    return DATASET_LABELS.get(_key(name), str(name))


def _dataset_rank(name: Any) -> int:
    key = _key(name)
    return DATASET_ORDER.index(key) if key in DATASET_ORDER else len(DATASET_ORDER)


def _verdict(verdict: str | None) -> dict[str, str]:
    if verdict is None:
        css, symbol = NOT_EVALUATED
        return {"css": css, "symbol": symbol, "text": "not evaluated"}
    css, symbol = VERDICTS.get(str(verdict).strip().lower(), NOT_EVALUATED)
    return {"css": css, "symbol": symbol, "text": str(verdict)}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- claims

def load_claims(claims_json: str | Path | None) -> list[dict[str, Any]]:
    """The verdict objects, each with a `badge` added; [] when the file is absent."""
    if claims_json is None or not Path(claims_json).is_file():
        return []
    data = json.loads(Path(claims_json).read_text(encoding="utf-8"))
    if isinstance(data, dict):  # write_claims' {"counts": ..., "claims": [...]}
        data = data.get("claims", [])
    claims = []
    for item in data:
        item = dict(item)
        item["id"] = str(item.get("id", "?"))
        item["badge"] = _verdict(item.get("verdict"))
        evidence = item.get("evidence")
        if isinstance(evidence, dict):
            item["evidence_items"] = [f"{k}: {_fmt_any(v)}" for k, v in evidence.items()]
        elif isinstance(evidence, list | tuple):
            item["evidence_items"] = [_fmt_any(v) for v in evidence]
        else:
            item["evidence_items"] = [str(evidence)] if evidence not in (None, "") else []
        numbers = item.get("numbers") or {}
        item["number_items"] = (_flatten(numbers) if isinstance(numbers, dict)
                                else [("", _fmt_any(numbers))])
        claims.append(item)
    return claims


def _flatten(numbers: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as dotted keys ("depth4.min_mean"), values formatted."""
    items = []
    for key, value in numbers.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not all(str(k).isdigit() for k in value):
            items += _flatten(value, prefix=f"{name}.")
        elif isinstance(value, dict):  # per layer or per seed: one line
            items.append((name, ", ".join(f"{k}: {_fmt_any(v)}" for k, v in value.items())))
        else:
            items.append((name, _fmt_any(value)))
    return items


def _claim_refs(ids: Any, by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    refs = []
    for claim_id in ids or ():
        claim = by_id.get(str(claim_id))
        refs.append({"id": str(claim_id),
                     "claim": claim.get("claim", "") if claim else "",
                     "badge": claim["badge"] if claim else _verdict(None),
                     "in_ledger": claim is not None})
    return refs


# --------------------------------------------------------------------------------- figures

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


def _title(name: str) -> str:
    match = re.fullmatch(r"fig(\d+)", name)
    if match:
        return f"Figure {match.group(1)}"
    return FIGURE_TITLES.get(name, name)


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


def _figure(name: str, spec: Any, figures_dir: Path | None,
            by_id: dict[str, dict[str, Any]]) -> Figure:
    """`spec` is a `trainability.figures.FigureSpec`, or None for a file of another name."""
    reason = _placeholder_reason(figures_dir, name)
    return Figure(name=name, title=_title(name),
                  caption=spec.caption if spec is not None else name,
                  paper_claim=spec.claim if spec is not None else "",
                  claims=_claim_refs(spec.claim_ids if spec is not None else (), by_id),
                  claim_source=CLAIM_SOURCES.get(getattr(spec, "claim_source", "paper"),
                                                 "The claim"),
                  src=_embed(figures_dir, name) if reason is None else None,
                  reason=reason)


def collect_figures(figures_dir: str | Path | None, by_id: dict[str, dict[str, Any]]
                    ) -> tuple[dict[str, list[Figure]], list[Figure]]:
    """Figures per section (LAYOUT), and every other figure (registered or found on disk)."""
    from trainability.figures import FIGURES as specs

    figures_dir = Path(figures_dir) if figures_dir is not None else None
    placed = {name for names in LAYOUT.values() for name in names}
    sections = {section: [_figure(n, specs.get(n), figures_dir, by_id) for n in names]
                for section, names in LAYOUT.items()}
    others = [n for n in specs if n not in placed]
    if figures_dir is not None and figures_dir.is_dir():
        on_disk = sorted({p.stem for p in figures_dir.iterdir()
                          if p.suffix in MIME and p.is_file()})
        others += [n for n in on_disk if n not in placed and n not in specs]
    extra = [_figure(n, specs.get(n), figures_dir, by_id) for n in others]
    return sections, extra


# --------------------------------------------------------------------------------- table 1

#: Columns of the Table 1 CSV (`trainability.analysis.table1.COLUMNS`) that the report uses.
TABLE1_REQUIRED = ("row", "dataset", "mean_test_error", "paper_test_error")
#: Known bold rules (`bold_rule` column) in words; another rule is shown by its name.
BOLD_RULES = {
    "welch_t_vs_best_p0.005": (
        "Welch's two-sample t-test (unequal variances, two-sided) of each cell against the "
        "cell with the lowest mean in its dataset column"),
}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    number = _num(value)
    return bool(number) if number is not None else False


def _p(value: Any) -> str | None:
    p = _num(value)
    if p is None:
        return None
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def load_table1(table1_csv: str | Path | None) -> dict[str, Any]:
    """Table 1 as rows x datasets of formatted cells, in the paper's order."""
    result: dict[str, Any] = {"available": False, "datasets": list(TABLE1_DATASETS),
                              "groups": [], "rule": None, "test": None, "depths": [],
                              "widths": []}
    if table1_csv is None or not Path(table1_csv).is_file():
        return result
    frame = pd.read_csv(table1_csv)
    missing = [c for c in TABLE1_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{table1_csv}: no column {', '.join(missing)} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    datasets, row_labels = list(TABLE1_DATASETS), list(TABLE1_ROWS)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        row, dataset = str(record["row"]), _dataset_label(record["dataset"])
        datasets += [dataset] if dataset not in datasets else []
        row_labels += [row] if row not in row_labels else []
        ours, ci = _num(record["mean_test_error"]), _num(record.get("ci95_halfwidth"))
        n_seeds, n_div = _num(record.get("n_seeds")), _num(record.get("n_diverged"))
        status = str(record.get("status") or "")
        if ours is None:
            note = (f"all {int(n_div)} diverged" if n_div else
                    "not run" if status in ("", "nan", "not run") else status)
        else:
            note = ""
        cells[(row, dataset)] = {
            "available": ours is not None, "note": note,
            "ours": _fmt(ours), "ci": _fmt(ci) if ci is not None else None,
            "n_seeds": int(n_seeds) if n_seeds is not None else None,
            "n_diverged": int(n_div) if n_div is not None else 0,
            "paper": _fmt_paper(record["paper_test_error"], (row, dataset) in ONE_DECIMAL),
            "difference": _fmt(record.get("diff"), signed=True).replace("-", "−"),
            "bold": _truthy(record.get("bold")), "best": _truthy(record.get("best")),
            "p_value": _p(record.get("p_value")),
        }
    rules = sorted({str(r) for r in frame.get("bold_rule", pd.Series(dtype=str)).dropna()})
    ran = frame[frame["mean_test_error"].notna()]
    depths = []
    if "depth" in frame.columns:
        for row in row_labels:
            at = frame.loc[frame["row"] == row, "depth"].dropna().unique().tolist()
            depths += [(row, int(at[0]))] if len(at) == 1 else []
    result.update(
        available=True, datasets=datasets,
        groups=[{"dataset": d, "rows": [{"label": r, "cell": cells[(r, d)]}
                                        for r in row_labels if (r, d) in cells]}
                for d in datasets if any((r, d) in cells for r in row_labels)],
        rule=" / ".join(rules) or None,
        test=" / ".join(BOLD_RULES.get(r, r) for r in rules) or None,
        depths=depths,
        widths=sorted({int(w) for w in ran.get("width", pd.Series(dtype=float)).dropna()}))
    return result


# ------------------------------------------------------------------------------------ runs

def load_runs(tables_dir: str | Path | None) -> pd.DataFrame:
    """The runs table (trainability.results: every declared column, checked); an empty one
    with the declared columns when there is none."""
    path = Path(tables_dir) / "runs.parquet" if tables_dir is not None else None
    if path is None or not path.is_file():
        return conform(pd.DataFrame(columns=list(RUNS_COLUMNS)), "runs", aggregated=True)
    return read_table(path, "runs", aggregated=True, rebuild=REAGGREGATE)


def _sort_runs(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return runs
    keys = runs.assign(_d=runs["dataset"].map(_dataset_rank),
                       _s=runs["stage"].map({"sweep": 0, "seeds": 1}).fillna(2))
    order = [c for c in ("_d", "dataset", "depth", "width", "activation", "initializer",
                         "budget", "trick", "_s", "lr", "init_seed") if c in keys.columns]
    return keys.sort_values(order, kind="stable").drop(columns=["_d", "_s"])


def _diverged(runs: pd.DataFrame) -> pd.Series:
    """As the analysis counts them: diverged_at set, or no final test error."""
    flag = pd.Series(False, index=runs.index)
    if "diverged_at" in runs.columns:
        flag |= runs["diverged_at"].notna()
    if "final_test_error" in runs.columns:
        flag |= runs["final_test_error"].isna()
    return flag


def _run_record(row: dict[str, Any]) -> dict[str, Any]:
    diverged_at = _num(row.get("diverged_at"))
    updates = row.get("updates")
    error = _num(row.get("final_test_error"))
    valid = _num(row.get("best_valid_error"))
    diverged = diverged_at is not None or error is None
    if diverged_at is not None:
        status = (f"DIVERGED at update {int(diverged_at)}"
                  + (f" of {int(updates)}" if _num(updates) is not None else ""))
    elif error is None:
        status = "DIVERGED (no final test error; update not recorded)"
    else:
        status = "trained"
    return {
        "run": row.get("run", ""), "dataset": _dataset_label(row.get("dataset", "")),
        "depth": row.get("depth", ""), "width": row.get("width", ""),
        "activation": row.get("activation", ""), "initializer": row.get("initializer", ""),
        "lr": f"{row['lr']:g}" if _num(row.get("lr")) is not None else "–",
        "seed": row.get("init_seed", ""), "stage": row.get("stage", ""),
        "protocol": bool(row.get("protocol", False)),
        "trick": str(row.get("trick") or PLAIN_TRICK) if not pd.isna(row.get("trick"))
        else PLAIN_TRICK,
        "budget": _budget_label(row.get("budget") if isinstance(row.get("budget"), str)
                                else PRESET_BUDGET, row.get("train_size")),
        "diverged": diverged,
        "status": status,
        "test_error": _fmt(error * 100) if error is not None else "–",
        "valid_error": _fmt(valid * 100) if valid is not None else "–",
    }


#: What identifies a configuration (a grid point) in the runs table. `trick`, `budget` and
#: `train_size` are absent from older tables: "none", "preset" and the full training set.
CONFIG_KEYS = ("dataset", "depth", "width", "activation", "initializer", "trick", "budget",
               "train_size")
PLAIN_TRICK, PRESET_BUDGET = PAPER_TRICK, PAPER_BUDGET


def _train_size(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None else None


def _config_of(row: Any) -> tuple:
    """The CONFIG_KEYS of a runs row (a dict) or a grid point (an object), normalized."""
    get = row.get if isinstance(row, dict) else (lambda key, default=None:
                                                 getattr(row, key, default))
    return (str(get("dataset")), int(get("depth")), int(get("width")),
            str(get("activation")), str(get("initializer")),
            str(get("trick", PLAIN_TRICK) or PLAIN_TRICK),
            str(get("budget", PRESET_BUDGET) or PRESET_BUDGET),
            _train_size(get("train_size", None)))


def _inferred_schedule(runs: pd.DataFrame) -> tuple[list[float], list[int], list[int]]:
    """(sweep rates, sweep seeds, rerun seeds) seen in `runs`."""
    sweep = runs[runs["stage"] == "sweep"]
    seeds = runs[runs["stage"] == "seeds"]
    return (sorted(sweep["lr"].unique().tolist()), sorted(sweep["init_seed"].unique().tolist()),
            sorted(seeds["init_seed"].unique().tolist()))


def _budget_of(grid: dict[str, Any], name: str, preset: Any) -> Any:
    """The Budget `name` of the report's grid config, or None when it is not defined there."""
    if name == PRESET_BUDGET:
        return preset
    from trainability.pipeline.settings import resolve_budget
    try:
        return resolve_budget(grid, name)
    except (ValueError, TypeError, KeyError):
        return None


def expected_networks(settings: dict[str, Any] | None, runs: pd.DataFrame
                      ) -> tuple[list[dict[str, Any]], str]:
    """Every network the protocol should have trained, and where that list comes from.

    From the studies of `settings` (see `resolve_settings`): each grid point x every learning
    rate of its budget's grid with the first seed (sweep), and x the other seeds at the
    selected rate (seeds). A study whose budget `settings` does not define (its `budgets`) is
    inferred from its runs. Without studies, inferred from the runs themselves: every
    configuration present should have every sweep rate and every seed that appears anywhere
    in its budget.
    """
    budget, _, grid = resolve_settings(settings)
    #: (config, rates, sweep seeds, other seeds)
    schedule: list[tuple[tuple, list, list, list]] = []
    inferred_budgets: list[str] = []
    if grid is not None and budget is not None:
        from trainability.pipeline.plan import grid_points
        source = "the workflow's studies and budget"
        for name, study in grid["studies"].items():
            budget_name = str(study.get("budget", PRESET_BUDGET))
            own = _budget_of(grid, budget_name, budget)
            if own is None:
                inferred_budgets.append(budget_name)
                continue
            try:
                points = grid_points({**grid, "studies": {name: study}})
            except (ValueError, KeyError):
                inferred_budgets.append(budget_name)
                continue
            for point in points:
                schedule.append((_config_of(point), list(own.lr_grid), [own.seeds[0]],
                                 list(own.seeds[1:])))
        if inferred_budgets:
            source += ("; for budget " + ", ".join(sorted(set(inferred_budgets)))
                       + ", which the settings do not define, the runs themselves")
    else:
        if runs.empty:
            return [], "nothing (no config was given and no run was found)"
        inferred_budgets = sorted(runs["budget"].astype(str).unique())
        source = ("the runs themselves (the studies were not given): every configuration "
                  "present should have every sweep rate and every seed that appears anywhere "
                  "in its budget")
    for budget_name in sorted(set(inferred_budgets)):
        mine = runs[runs["budget"].astype(str) == budget_name] if not runs.empty else runs
        if mine.empty:
            continue
        rates, sweep_seeds, other_seeds = _inferred_schedule(mine)
        for config in sorted({_config_of(r) for r in mine.to_dict("records")},
                             key=lambda c: (_dataset_rank(c[0]), *map(str, c))):
            schedule.append((config, rates, sweep_seeds, other_seeds))
    expected, seen = [], set()
    for config, rates, sweep_seeds, other_seeds in schedule:
        if config in seen:  # a grid point that several studies ask for trains once
            continue
        seen.add(config)
        base = dict(zip(CONFIG_KEYS, config, strict=True))
        for lr in rates:
            for seed in sweep_seeds:
                expected.append(dict(base, stage="sweep", lr=float(lr), init_seed=int(seed)))
        for seed in other_seeds:
            expected.append(dict(base, stage="seeds", lr=None, init_seed=int(seed)))
    return expected, source


def missing_networks(expected: list[dict[str, Any]], runs: pd.DataFrame
                     ) -> list[dict[str, Any]]:
    """The expected networks with no row in runs, grouped by configuration and stage."""
    present_sweep, present_seeds, all_diverged = set(), set(), set()
    if not runs.empty:
        runs = runs.assign(_div=_diverged(runs))
        by_config: dict[tuple, list[bool]] = {}
        for row in runs.to_dict("records"):
            config = _config_of(row)
            if row["stage"] == "sweep":
                present_sweep.add((*config, round(float(row["lr"]), 12), int(row["init_seed"])))
                by_config.setdefault(config, []).append(bool(row["_div"]))
            else:
                present_seeds.add((*config, int(row["init_seed"])))
        all_diverged = {config for config, flags in by_config.items() if all(flags)}
    groups: dict[tuple, dict[str, Any]] = {}
    for net in expected:
        config = _config_of(net)
        if net["stage"] == "sweep":
            key = (*config, round(float(net["lr"]), 12), int(net["init_seed"]))
            if key in present_sweep:
                continue
            what = f"lr {net['lr']:g}, seed {net['init_seed']}"
        else:
            if (*config, int(net["init_seed"])) in present_seeds:
                continue
            what = f"seed {net['init_seed']}"
        group = groups.setdefault((*config, net["stage"]), {
            "dataset": _dataset_label(config[0]), "depth": config[1], "width": config[2],
            "activation": config[3], "initializer": config[4], "trick": config[5],
            "budget": _budget_label(config[6], config[7]), "stage": net["stage"],
            "members": [], "reason": "no result in runs.parquet"})
        group["members"].append(what)
        if net["stage"] == "seeds" and config in all_diverged:
            group["reason"] = "every sweep rate diverged, so no learning rate was selected"
    return list(groups.values())


def _budget_label(budget: Any, train_size: Any = None) -> str:
    """"preset", "tricks", "tricks, 1,000 training examples"."""
    size = _train_size(train_size)
    return str(budget) + (f", {size:,} training examples" if size is not None else "")


def runs_context(runs: pd.DataFrame, settings: dict[str, Any] | None) -> dict[str, Any]:
    runs = _sort_runs(runs)
    records = [_run_record(r) for r in runs.to_dict("records")]
    expected, source = expected_networks(settings, runs)
    missing = missing_networks(expected, runs)
    return {
        "all": records,
        "diverged": [r for r in records if r["diverged"]],
        "missing": missing,
        "n_missing": sum(len(m["members"]) for m in missing),
        "n_expected": len(expected),
        "expected_source": source,
        "n_protocol": sum(r["protocol"] for r in records),
        "stages": {s: sum(r["stage"] == s for r in records) for s in ("sweep", "seeds")},
    }


def depth_sweep(runs: pd.DataFrame) -> dict[str, Any] | None:
    """Mean final test error (%) of the protocol networks by configuration x depth, for
    every dataset trained at three depths or more. None when there is no such dataset."""
    if runs.empty or "protocol" not in runs.columns:
        return None
    protocol = runs[runs["protocol"].astype(bool)].assign(_div=_diverged(runs))
    tables = []
    for dataset, frame in sorted(protocol.groupby("dataset"), key=lambda x: _dataset_rank(x[0])):
        depths = sorted(frame["depth"].unique().tolist())
        if len(depths) < 3:  # two depths (e.g. Table 1's 5 and sigmoid's 4) are no sweep
            continue
        rows = []
        for (activation, initializer), group in frame.groupby(["activation", "initializer"]):
            means = {}
            for depth in depths:
                at = group[group["depth"] == depth]
                finite = at.loc[~at["_div"], "final_test_error"].dropna()
                means[depth] = (float(finite.mean()) * 100 if len(finite) else None,
                                len(finite), int(at["_div"].sum()))
            finite_means = {d: m[0] for d, m in means.items() if m[0] is not None}
            best = min(finite_means, key=finite_means.get) if finite_means else None
            rows.append({"activation": activation, "initializer": initializer,
                         "best": best,
                         "cells": [{"depth": d, "mean": _fmt(means[d][0]), "n": means[d][1],
                                    "diverged": means[d][2], "best": d == best}
                                   for d in depths]})
        tables.append({"dataset": _dataset_label(dataset), "depths": depths, "rows": rows})
    return {"tables": tables} if tables else None


# -------------------------------------------------------------------------- training tricks

def _claim_number(claim_id: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", claim_id)
    return (int(digits) if digits else 0, claim_id)


def _values(frame: pd.DataFrame, column: str, fmt: str = "{}") -> str:
    if column not in frame.columns:
        return "–"
    values = frame[column].dropna().unique().tolist()
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    return ", ".join(fmt.format(v) for v in values) or "–"


def tricks_context(runs: pd.DataFrame, claims: list[dict[str, Any]],
                   settings: dict[str, Any] | None) -> dict[str, Any]:
    """The networks of the trick studies (a trick other than "none", or a budget of their
    own), summarized per budget (and training-set size), and the practitioner claims (S)."""
    s_claims = sorted((c for c in claims if c["id"].upper().startswith("S")),
                      key=lambda c: _claim_number(c["id"]))
    result: dict[str, Any] = {"studies": [], "claims": s_claims, "n_networks": 0,
                              "widths": "–", "updates": "–", "preset_width": None,
                              "preset_updates": None}
    budget, _, _ = resolve_settings(settings)
    if budget is not None:
        result["preset_width"] = f"{budget.width:,}"
        result["preset_updates"] = f"{budget.updates:,}"
    if runs.empty:
        return result
    plain = paper_rows(runs)
    if budget is None and not plain.empty:  # the paper's networks as run
        result["preset_width"] = _values(plain, "width", "{:,}")
        result["preset_updates"] = _values(plain, "updates", "{:,}")
    rows = runs[(runs["trick"].astype(str) != PLAIN_TRICK)
                | (runs["budget"].astype(str) != PRESET_BUDGET)]
    if rows.empty:
        return result
    rows = rows.assign(_div=_diverged(rows), _size=rows["train_size"].map(_train_size))
    for (name, size), group in rows.groupby(["budget", rows["_size"].fillna(-1)], sort=True):
        tricks = sorted(group["trick"].astype(str).unique(),
                        key=lambda t: (t != PLAIN_TRICK, t))
        result["studies"].append({
            "budget": _budget_label(name, None if size == -1 else size),
            "networks": len(group), "diverged": int(group["_div"].sum()),
            "datasets": ", ".join(_dataset_label(d) for d in sorted(
                group["dataset"].unique(), key=_dataset_rank)),
            "depths": _values(group, "depth"), "widths": _values(group, "width", "{:,}"),
            "updates": _values(group, "updates", "{:,}"), "inputs": _values(group, "inputs"),
            "activations": _values(group, "activation"),
            "initializers": _values(group, "initializer"), "tricks": ", ".join(tricks)})
    result.update(n_networks=len(rows), widths=_values(rows, "width", "{:,}"),
                  updates=_values(rows, "updates", "{:,}"))
    return result


# ------------------------------------------------------------------------------ provenance

def load_benchmarks(benchmarks_dir: str | Path | None) -> dict[str, Any]:
    """Snakemake benchmark TSVs: one row per job (the file name, without .tsv, relative to
    benchmarks_dir) and repeat, with its wall time, peak memory and CPU time."""
    result: dict[str, Any] = {"given": benchmarks_dir is not None, "jobs": [],
                              "total_s": None, "total_hms": None}
    if benchmarks_dir is None or not Path(benchmarks_dir).is_dir():
        return result
    root = Path(benchmarks_dir)
    total = 0.0
    for path in sorted(root.rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            result["jobs"].append({"job": str(path.relative_to(root).with_suffix("")),
                                   "repeat": "", "s": "–", "hms": "unreadable file",
                                   "max_rss": "–", "cpu_time": "–", "mean_load": "–"})
            continue
        for repeat, row in enumerate(frame.to_dict("records"), start=1):
            seconds = _num(row.get("s"))
            total += seconds or 0.0
            result["jobs"].append({
                "job": str(path.relative_to(root).with_suffix("")),
                "repeat": repeat if len(frame) > 1 else "",
                "s": _fmt(seconds, 1), "hms": str(row.get("h:m:s", "–")),
                "max_rss": _fmt(row.get("max_rss"), 0),
                "cpu_time": _fmt(row.get("cpu_time"), 1),
                "mean_load": _fmt(row.get("mean_load"), 1),
            })
    result["total_s"] = _fmt(total, 1)
    result["total_hms"] = _hms(total)
    return result


def _hms(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _counts(runs: pd.DataFrame, column: str) -> list[tuple[str, int]]:
    if runs.empty or column not in runs.columns:
        return []
    counts = runs[column].astype(str).value_counts()
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: kv[0])


def provenance_context(runs: pd.DataFrame, tables_dir: str | Path | None,
                       benchmarks_dir: str | Path | None) -> dict[str, Any]:
    from trainability.provenance import git_commit, package_versions
    versions = package_versions()
    for name in REPORT_PACKAGES:
        if name not in versions:
            try:
                import importlib.metadata
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                versions[name] = "not installed"
    devices = []
    if not runs.empty and "device" in runs.columns:
        name_col = "device_name" if "device_name" in runs.columns else "device"
        counts = runs.groupby(["device", name_col]).size()
        devices = [(str(d), str(n), int(c)) for (d, n), c in sorted(counts.items())]
    wall = None
    if not runs.empty and {"run", "wall_seconds"} <= set(runs.columns):
        per_run = runs.groupby("run")["wall_seconds"].first()
        wall = {"runs": len(per_run), "s": _fmt(per_run.sum(), 1), "hms": _hms(per_run.sum())}
    schema = None
    if tables_dir is not None and (Path(tables_dir) / "schema.json").is_file():
        schema = json.loads((Path(tables_dir) / "schema.json").read_text()).get(
            "schema_version")
    return {
        "report_versions": sorted(versions.items(), key=lambda kv: (kv[0] != "python", kv[0])),
        "run_versions": {"torch": _counts(runs, "torch_version"),
                         "trainability": _counts(runs, "trainability_version"),
                         "schema": _counts(runs, "schema_version")},
        "tables_schema": schema,
        "report_commit": git_commit(),
        "run_commits": _counts(runs, "git_commit"),
        "devices": devices,
        "n_runs": len(runs),
        "n_jobs": int(runs["run"].nunique()) if "run" in runs.columns else 0,
        "run_wall": wall,
        "benchmarks": load_benchmarks(benchmarks_dir),
    }


# -------------------------------------------------------------------------------- settings

def resolve_settings(settings: dict[str, Any] | None
                     ) -> tuple[Any, list[str] | None, dict[str, Any] | None]:
    """(Budget or None, datasets or None, a config for `plan.grid_points` or None).

    `settings` is either what the workflow passes (`workflow_settings()` in
    workflow/rules/common.smk: scale, datasets, resolved_datasets, budget, and optionally
    studies and `budgets`, the studies' own budgets by name, each a full budget) or a full
    config.yaml (presets, studies). The grid needs the studies; it carries the studies' own
    budgets that the settings define.
    """
    from trainability.pipeline.settings import Budget, resolve_budget, resolve_datasets

    settings = dict(settings or {})
    budget = None
    if isinstance(settings.get("budget"), dict):
        fields = Budget.__dataclass_fields__
        budget = Budget(**{k: v for k, v in settings["budget"].items() if k in fields})
    elif settings.get("scale") in (settings.get("presets") or {}):
        budget = resolve_budget(settings)
    datasets = settings.get("resolved_datasets")
    if datasets is None and "presets" in settings and "studies" in settings:
        datasets = resolve_datasets(settings)
    if datasets is None and isinstance(settings.get("datasets"), list):
        datasets = list(settings["datasets"])
    grid = None
    if budget is not None and datasets is not None and isinstance(settings.get("studies"), dict):
        grid = {"scale": "report",
                "presets": {"report": {**asdict(budget), "budgets": _own_budgets(settings)}},
                "datasets": list(datasets), "studies": settings["studies"]}
    return budget, datasets, grid


def _own_budgets(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The studies' own budgets by name, as full budget dicts: from the settings' `budgets`,
    or resolved from a full config's preset."""
    from trainability.pipeline.settings import resolve_budget

    if isinstance(settings.get("budgets"), dict):
        return {str(k): dict(v) for k, v in settings["budgets"].items() if isinstance(v, dict)}
    preset = (settings.get("presets") or {}).get(settings.get("scale")) or {}
    budgets = {}
    for name in preset.get("budgets") or {}:
        try:
            budgets[str(name)] = asdict(resolve_budget(settings, name))
        except (TypeError, ValueError):  # an older resolve_budget without named budgets
            continue
    return budgets


def settings_context(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The preset's name and the budget the runs were given."""
    budget_obj, datasets, _ = resolve_settings(settings)
    budget = asdict(budget_obj) if budget_obj is not None else {}
    labels = {
        "updates": "SGD updates per network", "batch_size": "examples per update",
        "eval_every": "updates between error records",
        "monitor_every": "updates between layer statistics",
        "lr_grid": "learning-rate grid", "seeds": "init seeds", "width": "units per layer",
        "monitor_size": "monitor examples", "valid_size": "validation examples (Shapeset)",
        "test_size": "test examples (Shapeset)",
    }
    rows = []
    for key, value in budget.items():
        shown = (", ".join(_fmt_any(v) for v in value) if isinstance(value, list | tuple)
                 else f"{value:,}" if isinstance(value, int) else _fmt_any(value))
        rows.append((labels.get(key, key), shown))
    if datasets is not None:
        shown = (", ".join(_dataset_label(d) for d in datasets)
                 if isinstance(datasets, list | tuple) else str(datasets))
        rows.append(("datasets", shown))
    updates = _num(budget.get("updates"))
    return {
        "scale": (settings or {}).get("scale"),
        "budget": rows,
        "fraction_of_paper": (f"{updates / PAPER_UPDATES * 100:.2g}%" if updates else None),
        "updates": f"{int(updates):,}" if updates else None,
    }


# ----------------------------------------------------------------------------------- build

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("trainability.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def build_report(out_html: str | Path, tables_dir: str | Path | None,
                 figures_dir: str | Path | None, table1_csv: str | Path | None,
                 claims_json: str | Path | None, benchmarks_dir: str | Path | None = None,
                 settings: dict[str, Any] | None = None) -> Path:
    """Write the report to `out_html` (atomically) and return its path.

    Every input may be missing; the report then says what is not available rather than
    failing, so that a partial pipeline still gives a readable report. A Table 1 CSV without
    the expected columns is an error (it means the analysis and the report disagree).
    """
    out_html = Path(out_html)
    claims = load_claims(claims_json)
    by_id = {c["id"]: c for c in claims}
    figures, extra_figures = collect_figures(figures_dir, by_id)
    table1 = load_table1(table1_csv)
    table1["alpha"] = BOLD_ALPHA
    table1["claims"] = _claim_refs(TABLE1_CLAIMS, by_id)
    runs = load_runs(tables_dir)
    tally = {v: sum(c["badge"]["text"].strip().lower() == v for c in claims)
             for v in VERDICTS}
    context = {
        "sections": dict(SECTIONS),
        "toc": SECTIONS,
        "claims": claims,
        "tally": tally,
        "tally_other": len(claims) - sum(tally.values()),
        "figures": figures,
        "extra_figures": extra_figures,
        "table1": table1,
        "depth": depth_sweep(paper_rows(runs)),
        "tricks": tricks_context(runs, claims, settings),
        "runs": runs_context(runs, settings),
        "settings": settings_context(settings),
        "provenance": provenance_context(runs, tables_dir, benchmarks_dir),
    }
    html = _environment().get_template("report.html.j2").render(**context)
    _write_atomic(out_html, html)
    return out_html
