"""What a training run is: a bundle of member networks that share a shape and a data stream.

A `BundleConfig` is plain data (it round-trips through YAML and JSON); `validate()` checks it
and raises `ConfigError` with a one-line message that names the bad key and what to do.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trainability.config_files import load_yaml
from trainability.data.catalog import DATASETS
from trainability.nets.activations import ACTIVATIONS, shared_pieces
from trainability.nets.initializers import INITIALIZERS
from trainability.tricks.spec import TrickSet, canonical, check_bundle, parse_trick

PIXEL_RANGES = ("zero_one", "minus_one_one")
INPUTS = ("raw", "standardized")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A bad setting. Its message is one line that says what to change."""


@dataclass(frozen=True)
class MemberConfig:
    """One network of a bundle: what may differ between members.

    Attributes:
        activation: activation spec, e.g. "tanh" or "leaky_relu:0.2".
        initializer: initializer spec, e.g. "standard", "normalized".
        lr: SGD learning rate (> 0).
        seed: initialization seed of this member's weights.
        trick: "none" (the paper's plain SGD network) or '+'-joined trick specs, e.g.
            "batchnorm+residual+clip_norm:1" (see trainability.tricks.spec).
    """

    activation: str = "tanh"
    initializer: str = "normalized"
    lr: float = 0.01
    seed: int = 0
    trick: str = "none"

    def label(self) -> str:
        trick = "" if self.trick == "none" else f"/{self.trick}"
        return f"{self.activation}/{self.initializer}{trick}/lr={self.lr:g}/seed={self.seed}"


@dataclass(frozen=True)
class BundleConfig:
    """A bundle: K members of one shape trained on one minibatch stream.

    Units: `updates`, `eval_every`, `monitor_every` count SGD updates (minibatches), not
    examples; the paper's figures count "epochs" of 20,000 updates.

    Attributes:
        dataset: a name of trainability.data.catalog.DATASETS ("shapeset", "mnist", ...).
        depth: number of hidden layers (>= 1); width: units per hidden layer (>= 1).
        batch_size: examples per update (the paper: 10).
        updates: number of SGD updates.
        eval_every: record training loss and validation/test error every this many updates.
        monitor_every: record layer statistics and histograms every this many updates
            (and always at initialization and at the end); 0 = only at init and end.
        monitor_size: fixed monitor set: the first this-many test examples (the paper: 300).
        jacobian_every: record layer-Jacobian singular values every this many updates
            (0 = at initialization and at the end only; they cost an eigendecomposition).
        jacobian_examples: monitor examples whose Jacobians are decomposed.
        histogram_bins: bins of every histogram (0: record no histograms).
        seed: data seed (minibatch order, Shapeset streams); members carry init seeds.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        data_root: folder holding MNIST/ and cifar-10-batches-py/ (None: see datasets).
        pixel_range: Shapeset pixels in [0, 1] ("zero_one") or [-1, 1].
        inputs: "raw" (pixels as the dataset gives them, the paper's setting) or
            "standardized": every input unit shifted and scaled to mean 0 and std 1 over
            the training data (trainability.train.data.Standardizer), the premise of
            SELU's self-normalization.
        valid_size / test_size: validation and test set sizes (Shapeset: generated; MNIST,
            CIFAR-10: the first this-many examples of the split, all of it at 10,000).
        output_uses_init: initialize the softmax layer with the hidden layers' initializer
            (True, as in the authors' code) or with "normalized" (False).
        train_size: train on only the first this-many training examples (a fixed training
            set drawn once from the stream for Shapeset); None = the whole set (Shapeset:
            the infinite stream). Small sets make overfitting visible in short runs.
        members: the member networks.
    """

    dataset: str = "shapeset"
    depth: int = 5
    width: int = 1000
    batch_size: int = 10
    updates: int = 20_000
    eval_every: int = 2_000
    monitor_every: int = 2_000
    monitor_size: int = 300
    jacobian_every: int = 0
    jacobian_examples: int = 10
    histogram_bins: int = 100
    seed: int = 0
    device: str = "auto"
    data_root: str | None = None
    pixel_range: str = "zero_one"
    inputs: str = "raw"
    valid_size: int = 10_000
    test_size: int = 10_000
    output_uses_init: bool = True
    train_size: int | None = None
    budget: str = "preset"
    members: tuple[MemberConfig, ...] = field(default_factory=lambda: (MemberConfig(),))

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BundleConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"unknown bundle setting(s) {unknown}; valid: {sorted(known)}")
        values = dict(raw)
        member_keys = {f.name for f in dataclasses.fields(MemberConfig)}
        members = []
        for i, member in enumerate(values.pop("members", [{}]) or []):
            if not isinstance(member, dict) or set(member) - member_keys:
                raise ConfigError(
                    f"members[{i}] must be a mapping with keys among {sorted(member_keys)}"
                )
            members.append(MemberConfig(**member))
        return cls(**values, members=tuple(members)).validate()

    @classmethod
    def from_yaml(cls, path: str | Path) -> BundleConfig:
        try:
            raw = load_yaml(path) or {}
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            where = getattr(error, "problem_mark", None)
            line = f" (line {where.line + 1})" if where else ""
            raise ConfigError(f"cannot parse config {path}{line}: not valid YAML") from None
        except ValueError as error:  # a key given twice
            raise ConfigError(str(error)) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} must hold a mapping of bundle settings")
        return cls.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"members": [dataclasses.asdict(m) for m in self.members]}

    def replace(self, **changes: Any) -> BundleConfig:
        return dataclasses.replace(self, **changes).validate()

    # ---- validation ---------------------------------------------------------------------
    def validate(self) -> BundleConfig:
        """The config with every member's specs in their canonical spelling (so that
        "leaky_relu" and "leaky_relu:0.01" are one network), or ConfigError naming the first
        bad setting."""
        _choice("dataset", self.dataset, tuple(DATASETS))
        _choice("pixel_range", self.pixel_range, PIXEL_RANGES)
        _choice("inputs", self.inputs, INPUTS)
        _choice("device", self.device, DEVICES)
        for name in ("depth", "width", "batch_size", "updates", "monitor_size",
                     "jacobian_examples", "valid_size", "test_size"):
            _at_least(name, getattr(self, name), 1)
        for name in ("eval_every", "monitor_every", "jacobian_every", "seed", "histogram_bins"):
            _at_least(name, getattr(self, name), 0)
        if self.eval_every == 0:
            raise ConfigError("eval_every must be >= 1 (updates between evaluations)")
        if not self.members:
            raise ConfigError("a bundle needs at least one member")
        for i, member in enumerate(self.members):
            where = f"members[{i}]"
            for key, registry in (("activation", ACTIVATIONS), ("initializer", INITIALIZERS)):
                try:
                    registry.validate(getattr(member, key))
                except ValueError as error:
                    raise ConfigError(f"{where}.{key}: {error}") from None
            if (isinstance(member.lr, bool) or not isinstance(member.lr, int | float)
                    or not math.isfinite(member.lr) or not member.lr > 0):
                raise ConfigError(f"{where}.lr must be a finite number > 0, got {member.lr!r}")
            _at_least(f"{where}.seed", member.seed, 0)
            try:  # the tricks' own rules, with this member's depth and activation
                parse_trick(member.trick).check(self.depth, ACTIVATIONS.build(member.activation))
            except ValueError as error:
                raise ConfigError(f"{where}.trick: {error}") from None
        if self.train_size is not None:
            _at_least("train_size", self.train_size, self.batch_size)
        try:
            shared_pieces(m.activation for m in self.members)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        try:  # the tricks' rules for members trained together
            check_bundle(self.member_tricks(),
                         [ACTIVATIONS.build(m.activation) for m in self.members], self.depth)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        members = tuple(canonical_member(m) for m in self.members)
        return self if members == self.members else dataclasses.replace(self, members=members)

    def member_tricks(self) -> list[TrickSet]:
        return [parse_trick(m.trick) for m in self.members]

    def needs_tricks(self) -> bool:
        """True when some member needs the general (autograd) path: a trick, or an
        activation that is not a parameter-free elementwise function (maxout, PReLU, RReLU)."""
        return any(not t.is_plain for t in self.member_tricks()) or any(
            not ACTIVATIONS.build(m.activation).elementwise for m in self.members)


def canonical_member(member: MemberConfig) -> MemberConfig:
    """`member` with its activation, initializer and trick in their one spelling (valid
    specs only: BundleConfig.validate checks them first)."""
    return dataclasses.replace(member, activation=ACTIVATIONS.build(member.activation).name,
                               initializer=INITIALIZERS.build(member.initializer).name,
                               trick=canonical(member.trick))


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


def _at_least(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}; got {value!r}")
