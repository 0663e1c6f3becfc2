"""What the finite datasets are made of: their names, files and folders, and their errors.

Planning reads this (which datasets are present under a data root) before any job runs, and
it must not load torch or torchvision to do so (see trainability.lazy), so the file names
live here as plain data. They are torchvision's own (`MNIST.resources`, `CIFAR10.train_list`,
`test_list`, `meta`), whose checksums trainability.data.datasets verifies when it loads the
files; `tests/test_datasets.py` checks that the names still agree with torchvision's.
"""

from __future__ import annotations

from pathlib import PurePosixPath

FINITE_DATASETS = ("mnist", "cifar10")
#: The environment variable naming the data root (see datasets.resolve_data_root).
DATA_ROOT_ENV = "TRAINABILITY_DATA"

PRETTY = {"mnist": "MNIST", "cifar10": "CIFAR-10"}

#: torchvision's MNIST.raw_folder, relative to the data root.
MNIST_FOLDER = PurePosixPath("MNIST") / "raw"
#: The four official MNIST archives: the names of torchvision's MNIST.resources.
MNIST_ARCHIVES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
#: torchvision's CIFAR10.base_folder, relative to the data root.
CIFAR10_FOLDER = PurePosixPath("cifar-10-batches-py")
#: Every CIFAR-10 file we read: the names of CIFAR10.train_list + test_list + meta.
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch", "batches.meta")


def canonical_name(name: str) -> str:
    """"MNIST" -> "mnist"; ValueError naming the valid names for anything else."""
    key = str(name).strip().lower()
    if key not in FINITE_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(FINITE_DATASETS)}")
    return key


def expected_files(name: str) -> list[str]:
    """Files the dataset needs, relative to the data root (for presence checks and errors).

    For MNIST these are the four ``.gz`` archives; their extracted copies (same names
    without ``.gz``) may stand in for them.
    """
    if canonical_name(name) == "mnist":
        return [(MNIST_FOLDER / archive).as_posix() for archive in MNIST_ARCHIVES]
    return [(CIFAR10_FOLDER / f).as_posix() for f in CIFAR10_FILES]


class DatasetError(RuntimeError):
    """Base of the dataset errors; its message is one line that says what to do."""

    def __init__(self, message: str) -> None:
        # Fold any newline (from a wrapped exception, a path) so the message stays one line.
        super().__init__(" ".join(str(message).split()))


class DatasetNotFoundError(DatasetError):
    """Files missing (and not downloadable); names the files and the folder for them.

    Attributes:
        dataset: the dataset's canonical name; folder: where the files belong; what: the
            files to put there; reason: why they are not there (download=False, a failed
            download). `with_hint` rewords the advice for the pipeline's own setting.
    """

    def __init__(self, dataset: str, folder: str, what: str, reason: str,
                 hint: str = "point the data root elsewhere with --data-root or "
                             f"${DATA_ROOT_ENV}") -> None:
        self.dataset, self.folder, self.what, self.reason = dataset, folder, what, reason
        super().__init__(f"{PRETTY[dataset]} not found ({reason}): put {what} in {folder}, "
                         f"or {hint}")

    def with_hint(self, hint: str) -> DatasetNotFoundError:
        """The same error, advising `hint` instead of the command line's --data-root."""
        return DatasetNotFoundError(self.dataset, self.folder, self.what, self.reason, hint)


class DatasetCorruptError(DatasetError):
    """A file fails its md5 check or cannot be parsed; names the file. Never re-downloaded."""
