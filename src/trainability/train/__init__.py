"""Training: bundle configs, the SGD step, the instrumentation and the run loop."""

from trainability.train.config import BundleConfig, ConfigError, MemberConfig

__all__ = ["BundleConfig", "ConfigError", "MemberConfig"]
