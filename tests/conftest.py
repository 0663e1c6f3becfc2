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
