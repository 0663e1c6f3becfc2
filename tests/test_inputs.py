"""`inputs: standardized`: every input unit at mean 0, std 1 over the training data, applied
alike to minibatches, validation, test, monitor and training-error sets."""

import pytest
import torch

from trainability.data import shapeset
from trainability.train.config import BundleConfig, ConfigError
from trainability.train.data import STANDARDIZATION_EXAMPLES, Standardizer, load_training_data


def _config(**changes) -> BundleConfig:
    return BundleConfig(dataset="shapeset", depth=2, width=8, valid_size=200, test_size=200,
                        monitor_size=50, device="cpu").replace(**changes)


def test_standardizer_centres_and_scales_each_unit_and_zeroes_constant_ones():
    x = torch.tensor([[0.0, 1.0, 5.0], [2.0, 3.0, 5.0], [4.0, 8.0, 5.0]])
    standardize = Standardizer.fit(x)
    z = standardize(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(z[:, :2].std(0, correction=0), torch.ones(2))
    assert torch.equal(z[:, 2], torch.zeros(3))  # a constant unit: 0, not NaN


def test_the_stream_is_standardized_with_the_statistics_of_its_first_examples():
    raw = load_training_data(_config(), torch.device("cpu"))
    std = load_training_data(_config(inputs="standardized"), torch.device("cpu"))
    first, _ = shapeset.make_split(0, "train", STANDARDIZATION_EXAMPLES,
                                   shapeset.ShapesetConfig())
    standardize = Standardizer.fit(first)
    for name in ("valid_x", "test_x", "monitor_x", "train_eval_x"):
        torch.testing.assert_close(getattr(std, name), standardize(getattr(raw, name)))
    for _ in range(3):  # the same minibatches, standardized
        (x_raw, y_raw), (x_std, y_std) = raw.batches.next_batch(), std.batches.next_batch()
        assert torch.equal(y_raw, y_std)
        torch.testing.assert_close(x_std, standardize(x_raw))
    assert raw.valid_x.min() >= 0  # raw stays raw
    varying = first.std(0) > 0
    assert std.valid_x[:, varying].mean().abs() < 0.1
    assert 0.8 < std.valid_x[:, varying].std(0).mean() < 1.2


def test_a_finite_training_set_is_standardized_exactly():
    data = load_training_data(_config(train_size=500, inputs="standardized"),
                              torch.device("cpu"))
    x = data.batches.x  # the whole (standardized) training set: (500, 1024)
    varying = x.std(0) > 0
    torch.testing.assert_close(x.mean(0), torch.zeros(x.shape[1]), atol=1e-5, rtol=0)
    torch.testing.assert_close(x[:, varying].std(0, correction=0),
                               torch.ones(int(varying.sum())), atol=1e-4, rtol=0)
    assert torch.equal(data.train_eval_x, x[:200])


def test_an_unknown_inputs_setting_fails_clearly():
    with pytest.raises(ConfigError, match="inputs"):
        _config(inputs="whitened")
