"""The datasets, each described once: the registry every other list of datasets derives from.

A dataset is one small class (torchvision's style): its name (the config and table value), its
labels, its shape, its chance error, where its files are and how it loads. The config schema's
allowed values, the command line's choices, Snakemake's wildcard constraint, the resource
estimates, the figures' and report's labels, the chance lines and the claims' lists of finite
datasets all read `DATASETS`. Adding a dataset is one class with `@register`, in this file or
in a plugin module (trainability.plugins), for example torchvision's Fashion-MNIST:

    @register
    class FashionMNIST(FiniteDataset):
        name, label, column = "fashion_mnist", "Fashion-MNIST", None
        n_inputs, n_classes, chance_error = 784, 10, 0.9
        folder, files, examples = "FashionMNIST/raw", (...), 70_000

        def read(self, root, download, verify):
            ...  # (x_train, y_train, x_test, y_test) uint8/int64 tensors

This module is torch-free: planning reads it before any job runs (see trainability.lazy).
Loading imports torch and torchvision, in `read` (trainability.data.datasets for the two the
paper uses).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

#: The environment variable naming the data root (see datasets.resolve_data_root).
DATA_ROOT_ENV = "TRAINABILITY_DATA"


class Dataset:
    """What the suite knows about a dataset. Subclasses set the class attributes.

    Attributes:
        name: the value in config.yaml, the command line and the tables ("mnist").
        label: how figures and the report name it ("MNIST", "Shapeset-3×2").
        column: its column in the paper's Table 1 ("Shapeset"), None if the paper has none.
        n_inputs: input units (pixels x channels); n_classes: classes.
        chance_error: the error of always answering the most frequent class (a fraction).
        generated: True for a stream generated in-process (no files, no finite training set).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    column: ClassVar[str | None] = None
    n_inputs: ClassVar[int]
    n_classes: ClassVar[int]
    chance_error: ClassVar[float]
    generated: ClassVar[bool] = False

    def expected_files(self) -> list[str]:
        """Files the dataset needs, relative to the data root (none when generated)."""
        return []

    def present(self, root: str | Path) -> bool:
        """Whether every file is under the data `root` (a .gz file may stand extracted)."""
        for relative in self.expected_files():
            path = Path(root) / relative
            if not (path.exists() or path.with_name(path.name.removesuffix(".gz")).exists()):
                return False
        return True

    def __repr__(self) -> str:
        return f"<dataset {self.name}>"


class FiniteDataset(Dataset):
    """A dataset with a fixed training set read from files under the data root.

    Attributes:
        folder: where its files live, relative to the data root.
        files: the files it needs in `folder`.
        examples: training + test examples, held in memory as float32 (for memory estimates).
        valid_examples: how many of the last official training examples form its validation
            split (the paper's 10,000 unless a dataset says otherwise); a run validates on the
            first `valid_size` of them.
    """

    folder: ClassVar[str]
    files: ClassVar[tuple[str, ...]]
    examples: ClassVar[int]
    valid_examples: ClassVar[int] = 10_000

    def expected_files(self) -> list[str]:
        return [(PurePosixPath(self.folder) / f).as_posix() for f in self.files]

    def read(self, root: Path, download: bool, verify: bool) -> tuple[Any, Any, Any, Any]:
        """(x_train, y_train, x_test, y_test): uint8 (N, n_inputs) and int64 (N,) tensors of the
        official splits (the validation set is cut from the end of the training set later)."""
        raise NotImplementedError

    def load(self, root: str | Path | None, device, download: bool = True):
        """The train, validation and test splits as float tensors on `device`
        (trainability.data.datasets.load_dataset)."""
        from trainability.data import datasets  # torch and torchvision: only to load

        return datasets.load_dataset(self.name, datasets.resolve_data_root(root), device,
                                     download=download)


#: Every dataset by name, in registration order (the paper's column order first).
DATASETS: dict[str, Dataset] = {}


def register(cls: type[Dataset]) -> type[Dataset]:
    """Class decorator: add an instance of `cls` to DATASETS under `cls.name`."""
    if cls.name in DATASETS:
        raise ValueError(f"dataset {cls.name!r} is registered twice")
    DATASETS[cls.name] = cls()
    return cls


def dataset(name: str) -> Dataset:
    """The dataset called `name` (case-insensitive); ValueError naming the valid ones."""
    key = str(name).strip().lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return DATASETS[key]


def finite_datasets() -> list[str]:
    """Names of the datasets with a finite training set (overfitting needs one)."""
    return [name for name, d in DATASETS.items() if isinstance(d, FiniteDataset)]


# ---- the paper's datasets ----------------------------------------------------------------------
@register
class Shapeset(Dataset):
    """Shapeset-3×2, generated in-process (trainability.data.shapeset): 32x32 grey images, 9
    classes with prior 1/6 (one object) and 1/18 or 1/9 (two)."""

    name, label, column = "shapeset", "Shapeset-3×2", "Shapeset"
    n_inputs, n_classes, chance_error = 1024, 9, 5 / 6
    generated = True

    def split(self, seed: int, split: str, size: int, pixel_range: str, device) -> tuple:
        """The first `size` examples of the (seed, split) stream: x (size, 1024), y (size,)."""
        from trainability.data import shapeset

        return shapeset.make_split(seed, split, size,
                                   shapeset.ShapesetConfig(pixel_range=pixel_range), device)

    def stream(self, seed: int, batch_size: int, pixel_range: str, device, start: int = 0):
        """The infinite training stream from example `start`: `next_batch()`, `position`."""
        from trainability.data import shapeset

        return shapeset.ShapesetStream(seed, batch_size,
                                       shapeset.ShapesetConfig(pixel_range=pixel_range),
                                       device=device, start=start)


@register
class MNIST(FiniteDataset):
    """MNIST (50k/10k/10k), read by torchvision from MNIST/raw; the file names are those of
    torchvision's MNIST.resources (checked by tests/test_datasets.py)."""

    name, label, column = "mnist", "MNIST", "MNIST"
    n_inputs, n_classes, chance_error = 784, 10, 1 - 0.1135  # "1" is 11.35% of the test set
    folder = "MNIST/raw"
    files = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    examples = 70_000

    def read(self, root, download, verify):
        from trainability.data import datasets  # torch and torchvision: only to load

        return datasets.read_mnist(root, download, verify)


@register
class CIFAR10(FiniteDataset):
    """CIFAR-10 (40k/10k/10k), read by torchvision from cifar-10-batches-py; the file names
    are those of torchvision's CIFAR10.train_list, test_list and meta."""

    name, label, column = "cifar10", "CIFAR-10", "CIFAR-10"
    n_inputs, n_classes, chance_error = 3072, 10, 0.9
    folder = "cifar-10-batches-py"
    files = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
             "test_batch", "batches.meta")
    examples = 60_000

    def read(self, root, download, verify):
        from trainability.data import datasets  # torch and torchvision: only to load

        return datasets.read_cifar10(root, download, verify)


# ---- errors --------------------------------------------------------------------------------------
class DatasetError(RuntimeError):
    """Base of the dataset errors; its message is one line that says what to do."""

    def __init__(self, message: str) -> None:
        # Fold any newline (from a wrapped exception, a path) so the message stays one line.
        super().__init__(" ".join(str(message).split()))


class DatasetNotFoundError(DatasetError):
    """Files missing (and not downloadable); names the files and the folder for them.

    Attributes:
        dataset: the dataset's name; folder: where the files belong; what: the files to put
            there; reason: why they are not there (download=False, a failed download).
            `with_hint` rewords the advice for the pipeline's own setting.
    """

    def __init__(self, dataset: str, folder: str, what: str, reason: str,
                 hint: str = "point the data root elsewhere with --data-root or "
                             f"${DATA_ROOT_ENV}") -> None:
        self.dataset, self.folder, self.what, self.reason = dataset, folder, what, reason
        label = DATASETS[dataset].label if dataset in DATASETS else dataset
        super().__init__(f"{label} not found ({reason}): put {what} in {folder}, or {hint}")

    def with_hint(self, hint: str) -> DatasetNotFoundError:
        """The same error, advising `hint` instead of the command line's --data-root."""
        return DatasetNotFoundError(self.dataset, self.folder, self.what, self.reason, hint)


class DatasetCorruptError(DatasetError):
    """A file fails its md5 check or cannot be parsed; names the file. Never re-downloaded."""
