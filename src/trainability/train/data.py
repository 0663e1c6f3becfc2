"""The data a bundle trains on: a minibatch source plus fixed validation, test and monitor sets.

Shapeset-3x2 is an infinite stream (the paper's online setting): every minibatch is fresh.
MNIST and CIFAR-10 are finite: each epoch visits the training set in a new random order
drawn from the data seed. Either way all members of a bundle see the same minibatches, and
the whole state of the source is one integer (`position`: examples consumed), so a run can
resume exactly.

With `inputs: standardized` every input unit is shifted and scaled by statistics of the
training data (`Standardizer`) before anything sees it: minibatches, validation, test,
monitor and training-error sets alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainability.data.catalog import dataset
from trainability.seeding import derive_seed
from trainability.train.config import BundleConfig


@dataclass
class TrainingData:
    """Tensors on the training device.

    Attributes:
        valid_x, test_x: (N, n_inputs) float32; valid_y, test_y: (N,) int64.
        monitor_x, monitor_y: the first `monitor_size` test examples (the paper's 300).
        train_eval_x, train_eval_y: training examples on which the training error is
            measured: the first `valid_size` examples of the training set (or stream,
            for Shapeset: those of its first valid_size / batch_size minibatches).
    """

    name: str
    n_inputs: int
    n_classes: int
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    monitor_x: torch.Tensor
    monitor_y: torch.Tensor
    train_eval_x: torch.Tensor
    train_eval_y: torch.Tensor
    batches: MinibatchSource


class MinibatchSource:
    """Yields (x (B, n_inputs), y (B,)) minibatches; `position` counts examples served."""

    position: int

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


#: Examples at the start of the Shapeset stream whose statistics standardize its inputs.
STANDARDIZATION_EXAMPLES = 10_000
#: Below this std (in input units) an input unit counts as constant over the training data.
CONSTANT_STD = 1e-6


@dataclass(frozen=True)
class Standardizer:
    """x -> (x - mean) / std for each input unit, with statistics of the training data.

    Written by hand because torchvision's Normalize works per image channel, whereas an MLP
    needs each input unit (pixel) at mean 0 and std 1. Units constant over the training data
    (MNIST's blank border) keep std 1, so they become 0 instead of NaN.

    Attributes:
        mean, std: (n_inputs,) float32, in input units (population std, no correction).
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> Standardizer:
        """Statistics of training examples x (N, n_inputs)."""
        std, mean = torch.std_mean(x, dim=0, correction=0)
        return cls(mean, torch.where(std > CONSTANT_STD, std, torch.ones_like(std)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_inputs) -> (B, n_inputs) standardized."""
        return (x - self.mean) / self.std


class StreamSource(MinibatchSource):
    """Minibatches of a generated dataset's infinite stream (Shapeset's), standardized by
    `transform` when given."""

    def __init__(self, stream, transform: Standardizer | None = None):
        self._stream = stream
        self._transform = transform

    @property
    def position(self) -> int:
        return self._stream.position

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self._stream.next_batch()
        return (self._transform(x) if self._transform else x), y


class ShuffledSource(MinibatchSource):
    """Consecutive minibatches of a fresh permutation of the training set each epoch.

    A minibatch never straddles two epochs: the last incomplete one of an epoch is dropped.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                 position: int = 0):
        if batch_size > len(x):
            raise ValueError(f"batch_size {batch_size} exceeds the {len(x)} training examples")
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.per_epoch = (len(x) // batch_size) * batch_size
        self.position = position
        self._epoch = -1
        self._order = torch.empty(0, dtype=torch.long)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, offset = divmod(self.position, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(derive_seed(self.seed, "epoch", epoch))
            self._order = torch.randperm(len(self.x), generator=generator).to(self.x.device)
            self._epoch = epoch
        index = self._order[offset:offset + self.batch_size]
        self.position += self.batch_size
        return self.x[index], self.y[index]


def load_training_data(config: BundleConfig, device: torch.device,
                       position: int = 0) -> TrainingData:
    """Load or generate the bundle's dataset on `device`, resuming the stream at `position`."""
    order_seed = derive_seed(config.seed, "order")
    standardized = config.inputs == "standardized"
    data = dataset(config.dataset)
    stream = data.generated and config.train_size is None
    if data.generated:
        def split(name: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
            return data.split(config.seed, name, size, config.pixel_range, device)

        valid_x, valid_y = split("valid", config.valid_size)
        test_x, test_y = split("test", config.test_size)
        # The stream's first examples (those of its first minibatches), or the fixed set.
        first = (max(config.valid_size, STANDARDIZATION_EXAMPLES if standardized else 0)
                 if stream else config.train_size)
        fit_x, fit_y = split("train", first)
        train_x, train_y = (fit_x[:config.valid_size], fit_y[:config.valid_size]) if stream \
            else (fit_x, fit_y)
    else:
        loaded = data.load(config.data_root, device)
        # The first valid_size / test_size examples of each split (the whole split at the
        # paper's 10,000): short runs evaluate K members on fewer examples.
        valid_x, valid_y = loaded.valid.x[:config.valid_size], loaded.valid.y[:config.valid_size]
        test_x, test_y = loaded.test.x[:config.test_size], loaded.test.y[:config.test_size]
        train_x, train_y = loaded.train.x, loaded.train.y
        if config.train_size is not None:
            if config.train_size > len(train_x):
                raise ValueError(f"train_size {config.train_size} exceeds the {len(train_x)} "
                                 f"training examples of {config.dataset}")
            train_x, train_y = train_x[:config.train_size], train_y[:config.train_size]
        fit_x = train_x
    if config.monitor_size > len(test_x):
        raise ValueError(
            f"monitor_size {config.monitor_size} exceeds the {len(test_x)} test examples"
        )
    standardize = Standardizer.fit(fit_x) if standardized else None
    if standardize:
        train_x, valid_x, test_x = (standardize(x) for x in (train_x, valid_x, test_x))
    source: MinibatchSource = (
        StreamSource(data.stream(config.seed, config.batch_size, config.pixel_range, device,
                                 position), standardize) if stream
        else ShuffledSource(train_x, train_y, config.batch_size, order_seed, position))
    return TrainingData(
        name=config.dataset, n_inputs=valid_x.shape[1], n_classes=data.n_classes,
        valid_x=valid_x, valid_y=valid_y, test_x=test_x, test_y=test_y,
        monitor_x=test_x[:config.monitor_size], monitor_y=test_y[:config.monitor_size],
        train_eval_x=train_x[:config.valid_size], train_eval_y=train_y[:config.valid_size],
        batches=source,
    )
