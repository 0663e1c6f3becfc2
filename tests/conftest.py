"""Shared test helpers: small bundles that train in seconds on the CPU."""

from trainability.threads import configure_waiting

configure_waiting()  # before any test module loads torch, as every entry point does

import pytest  # noqa: E402

from trainability.train.config import BundleConfig, MemberConfig  # noqa: E402


@pytest.fixture
def small_bundle() -> BundleConfig:
    """A depth-3, width-32 Shapeset bundle: big enough to learn, small enough to be quick."""
    return BundleConfig(
        dataset="shapeset", depth=3, width=32, batch_size=10, updates=60, eval_every=20,
        monitor_every=30, monitor_size=50, jacobian_examples=2, histogram_bins=20,
        valid_size=300, test_size=300, device="cpu",
        members=(MemberConfig("tanh", "standard", 0.05, 0),
                 MemberConfig("tanh", "normalized", 0.05, 0)),
    )


#: Values fabricated tables get for the declared columns they leave out.
FABRICATED_DEFAULTS = {"trick": "none", "budget": "preset", "inputs": "raw", "protocol": True,
                       "schema_version": 3, "batch_size": 10, "data_seed": 0, "member": 0,
                       "init_seed": 0, "lr": 0.1, "updates": 0, "eval_every": 1}


def write_tables(tables, folder, aggregated=True):
    """Write hand-made tables the way the suite does (trainability.results.write_table), the
    declared columns they leave out filled with FABRICATED_DEFAULTS or missing values."""
    from pathlib import Path

    import pandas as pd

    from trainability.results import columns, write_table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        declared = columns(name, aggregated)
        filled = frame.copy()
        for column, kind in declared.items():
            if column not in filled:
                missing = {"int": 0, "bool": False, "float": float("nan"), "Int": pd.NA,
                           "str": None}[kind]
                filled[column] = FABRICATED_DEFAULTS.get(column, missing)
        write_table(filled[[c for c in declared]], folder / f"{name}.parquet", name, aggregated)
    return folder
