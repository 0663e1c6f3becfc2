"""A dataset added in one file: what a user writes to put a dataset of their own through the
whole pipeline (`TRAINABILITY_PLUGINS=toy_dataset`, this folder on PYTHONPATH).

Two Gaussian blobs in 16 dimensions, 600 training and 200 test examples, made from a fixed
seed (a real dataset would read its files under the data root, as catalog.MNIST does).
"""

import numpy as np
import torch

from trainability.data.catalog import FiniteDataset, register


@register
class ToyBlobs(FiniteDataset):
    name, label, column = "toy", "Toy blobs", None
    n_inputs, n_classes, chance_error = 16, 2, 0.5
    folder, files, examples = "toy", (), 800
    valid_examples = 100  # the last 100 of the 600 training examples validate

    def read(self, root, download, verify):
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 800)
        x = rng.normal(0, 1, (800, 16)) + 1.5 * (2 * y[:, None] - 1)
        pixels = np.clip((x + 6) * 20, 0, 255).astype(np.uint8)  # as the others: uint8
        return (torch.from_numpy(pixels[:600]), torch.from_numpy(y[:600]),
                torch.from_numpy(pixels[600:]), torch.from_numpy(y[600:]))
