"""Shared test helpers: small bundles that train in seconds on the CPU."""

import pytest

from trainability.train.config import BundleConfig, MemberConfig


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
