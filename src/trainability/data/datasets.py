"""The paper's finite datasets, MNIST and CIFAR-10, held whole as tensors.

Splits follow Glorot & Bengio (2010):

* MNIST: 50k train / 10k valid / 10k test. The validation set is the LAST 10k of the
  official 60k training images, the training set the first 50k, the test set the
  official 10k test images.
* CIFAR-10: 40k train / 10k valid / 10k test. The validation set is the LAST 10k of the
  official 50k training images (``data_batch_5``), the test set ``test_batch``.

Preprocessing is OUR choice: the paper does not say how pixels were preprocessed. We
scale the uint8 pixels to [0, 1] (divide by 255; the authors' later code does the same)
and flatten each image: MNIST to 784 values (row-major 28x28), CIFAR-10 to 3072 values
in torchvision's / the original pickles' CHW order (1024 red, 1024 green, 1024 blue).

Each split is built once, as one float32 tensor ``x`` of shape (N, D) and one int64
tensor ``y`` of shape (N,), on the requested device; no per-sample DataLoader. ``train``
and ``valid`` are row slices (views) of one tensor holding the official training set, so
the training images are stored on the device only once.

Files, downloads and checksums go through torchvision (``MNIST.resources``/``mirrors``,
``CIFAR10.train_list``/``test_list``/``meta``/``url``, ``download_url``,
``extract_archive``, ``calculate_md5``) and so does the parsing (``read_image_file``,
``read_label_file``, the ``CIFAR10`` class). What is written here by hand is what
torchvision lacks: md5s of the extracted MNIST files, never downloading over a file a user
already has, and one-line errors that say what to do.

Layout under the data root (see :func:`resolve_data_root`)::

    <root>/MNIST/raw/train-images-idx3-ubyte[.gz]   (and the three other MNIST files)
    <root>/cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch, batches.meta
"""

from __future__ import annotations

import contextlib
import errno
import numbers
import os
import pickle
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10, MNIST
from torchvision.datasets import utils as tv_utils
from torchvision.datasets.mnist import read_image_file, read_label_file

from trainability.data import catalog
from trainability.data.catalog import (
    DATA_ROOT_ENV,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    FiniteDataset,
    dataset,
)

__all__ = [
    "DATA_ROOT_ENV",
    "MNIST_EXTRACTED_MD5",
    "DatasetCorruptError",
    "DatasetError",
    "DatasetNotFoundError",
    "LoadedDataset",
    "Split",
    "load_dataset",
    "read_cifar10",
    "read_mnist",
    "resolve_data_root",
]

# torchvision's MNIST.resources only knows the md5 of the .gz archives, and torchvision
# keeps no checksum of the extracted files it reads. These are the md5s of the four files
# extracted from the official archives (whose md5s match MNIST.resources), computed with
# `gunzip -k *.gz && md5sum *ubyte`.
MNIST_EXTRACTED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

_MNIST_RAW = Path(catalog.MNIST.folder)  # torchvision's MNIST.raw_folder, relative to the root


@dataclass
class Split:
    """One split: ``x`` (N, D) float32 in [0, 1], ``y`` (N,) int64 class labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass
class LoadedDataset:
    """A finite dataset with its three splits, all on one device."""

    name: str
    train: Split
    valid: Split
    test: Split
    n_inputs: int
    n_classes: int


def resolve_data_root(explicit: str | Path | None = None) -> Path:
    """explicit (CLI or config) > $TRAINABILITY_DATA > ./data (made absolute)."""
    if explicit is not None and str(explicit) != "":
        root = Path(explicit)
    elif os.environ.get(DATA_ROOT_ENV):
        root = Path(os.environ[DATA_ROOT_ENV])
    else:
        root = Path("data")
    return root.expanduser().absolute()


def _cifar_files() -> list[tuple[str, str]]:
    """(file name, md5) of every file in cifar-10-batches-py that we need, from torchvision."""
    files = [(f, md5) for f, md5 in CIFAR10.train_list + CIFAR10.test_list]
    return files + [(CIFAR10.meta["filename"], CIFAR10.meta["md5"])]


def _not_found(key: str, root: Path, missing: list[str], reason: str) -> DatasetNotFoundError:
    if key == "mnist":
        folder = root / _MNIST_RAW
        what = ", ".join(a for a, _ in MNIST.resources) + " (or the same files extracted)"
    else:
        folder = root / CIFAR10.base_folder
        what = ", ".join(f for f, _ in _cifar_files())
        what += f" (or {CIFAR10.filename} in {root})"
    return DatasetNotFoundError(key, str(folder), what, f"{reason}; missing: {', '.join(missing)}")


def _md5(path: Path) -> str:
    return tv_utils.calculate_md5(path)


def _check_md5(path: Path, expected: str) -> None:
    found = _md5(path)
    if found != expected:
        raise DatasetCorruptError(
            f"checksum mismatch for {path}: expected md5 {expected}, found {found}; "
            "delete it to re-download or replace it with the official file"
        )


def _fetch(urls: list[str], folder: Path, filename: str, md5: str) -> None:
    """Download ``filename`` into ``folder`` with torchvision, trying each url in turn.

    torchvision's download_url checks the md5 of what it downloaded. We call this only
    for files that do not exist, so whatever a failed attempt leaves behind is ours to
    remove: the partial file, and the folders download_url made for it (an empty
    ``MNIST/raw`` would look like a dataset that is there but broken).
    """
    target = folder / filename
    new_folders = [p for p in (folder, *folder.parents) if not p.exists()]
    last: Exception | None = None
    for url in urls:
        try:
            tv_utils.download_url(url, str(folder), filename, md5)
            return
        except (OSError, RuntimeError) as e:  # URLError is an OSError
            last = e
            target.unlink(missing_ok=True)
    for made in new_folders:  # deepest first
        with contextlib.suppress(OSError):  # not empty: someone else's files, keep it
            made.rmdir()
    assert last is not None
    raise last


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


# ----------------------------------------------------------------------------- MNIST


def _decompress(gz: Path, target: Path) -> None:
    """Extract ``gz`` to ``target`` with torchvision; remove any half-written ``target``."""
    try:
        tv_utils.extract_archive(str(gz), str(target.parent))
    except BaseException:
        if target.exists():  # called only when target did not exist: this is ours
            target.unlink()
        raise


def _mnist_files(root: Path, download: bool, verify: bool, stack: ExitStack) -> dict[str, Path]:
    """Make sure the four extracted MNIST files exist and pass their md5; return their paths.

    torchvision's MNIST.download() is not used: whenever one extracted file is missing it
    re-extracts (and, if an archive is absent or fails its md5, re-downloads) all four,
    overwriting files the user has.
    """
    raw = root / _MNIST_RAW
    paths: dict[str, Path] = {}
    todo: list[str] = []  # archives still to extract
    missing: list[str] = []
    # Check everything present first, so that a bad file stops us before any download.
    for archive, archive_md5 in MNIST.resources:
        name = archive.removesuffix(".gz")
        gz, extracted = raw / archive, raw / name
        if verify and gz.is_file():
            _check_md5(gz, archive_md5)
        if extracted.is_file():
            if verify:
                _check_md5(extracted, MNIST_EXTRACTED_MD5[name])
            paths[name] = extracted
        elif gz.is_file():
            todo.append(archive)
        else:
            missing.append(archive)

    if missing:
        if not download:
            raise _not_found("mnist", root, missing, "download=False")
        md5s = dict(MNIST.resources)
        try:
            for archive in missing:
                _fetch([m + archive for m in MNIST.mirrors], raw, archive, md5s[archive])
        except (OSError, RuntimeError) as e:
            raise _not_found("mnist", root, missing, f"download failed: {_one_line(e)}") from e
        todo += missing

    scratch: Path | None = None
    for archive in todo:
        name = archive.removesuffix(".gz")
        target = raw / name
        try:
            _decompress(raw / archive, target)
        except OSError as e:
            if isinstance(e, PermissionError) or e.errno == errno.EROFS:
                # Read-only data folder (a shared copy): extract into a temporary folder
                # that lives as long as the load.
                if scratch is None:
                    scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                target = scratch / name
                try:
                    _decompress(raw / archive, target)
                except (OSError, EOFError) as e2:
                    raise _corrupt_archive(raw / archive, e2) from e2
            else:
                raise _corrupt_archive(raw / archive, e) from e
        except EOFError as e:
            raise _corrupt_archive(raw / archive, e) from e
        if verify:
            _check_md5(target, MNIST_EXTRACTED_MD5[name])
        paths[name] = target
    return paths


def _corrupt_archive(path: Path, e: BaseException) -> DatasetCorruptError:
    return DatasetCorruptError(
        f"cannot extract {path} ({_one_line(e)}): delete it to re-download or replace it"
    )


def _parse_idx(reader, path: Path) -> torch.Tensor:
    try:
        return reader(str(path))
    except (AssertionError, ValueError, TypeError, RuntimeError, KeyError, IndexError) as e:
        raise DatasetCorruptError(
            f"cannot parse {path} as an MNIST IDX file ({_one_line(e)}): "
            "delete it to re-download or replace it"
        ) from e


def _read_mnist(paths: dict[str, Path], prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = paths[f"{prefix}-images-idx3-ubyte"], paths[f"{prefix}-labels-idx1-ubyte"]
    x = _parse_idx(read_image_file, images)
    y = _parse_idx(read_label_file, labels)
    if x.shape[0] != y.shape[0]:
        raise DatasetCorruptError(
            f"{images} holds {x.shape[0]} images but {labels} holds {y.shape[0]} labels: "
            "replace them with the official files"
        )
    return x.reshape(x.shape[0], -1), y
    return x, y


def read_mnist(root: Path, download: bool, verify: bool):
    """MNIST's official training and test sets (catalog.MNIST.read)."""
    with ExitStack() as stack:
        paths = _mnist_files(root, download, verify, stack)
        x_train, y_train = _read_mnist(paths, "train")
        x_test, y_test = _read_mnist(paths, "t10k")
    return x_train, y_train, x_test, y_test


# -------------------------------------------------------------------------- CIFAR-10


class _CIFAR10Unchecked(CIFAR10):
    """torchvision's CIFAR10 reader without its own md5 checks.

    load_dataset checks the md5s itself, once and only when verify=True: CIFAR10 would
    hash all six batches again for each of the train and test sets, and would reject the
    tiny synthetic files the tests use.
    """

    def _check_integrity(self) -> bool:
        return True

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        with open(path, "rb") as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


def _cifar_prepare(root: Path, download: bool, verify: bool) -> None:
    folder = root / CIFAR10.base_folder
    files = _cifar_files()
    missing = [f for f, _ in files if not (folder / f).is_file()]
    if verify:
        for f, md5 in files:
            if f not in missing:
                _check_md5(folder / f, md5)
    if not missing:
        return

    tgz = root / CIFAR10.filename
    if tgz.is_file():
        if verify:
            _check_md5(tgz, CIFAR10.tgz_md5)
    elif not download:
        raise _not_found("cifar10", root, missing, "download=False")
    else:
        try:
            _fetch([CIFAR10.url], root, CIFAR10.filename, CIFAR10.tgz_md5)
        except (OSError, RuntimeError) as e:
            raise _not_found("cifar10", root, missing, f"download failed: {_one_line(e)}") from e

    # Not CIFAR10.download(): it extracts the whole archive over the folder, overwriting
    # files the user has. Extract next to it and move in only the missing files.
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        try:
            tv_utils.extract_archive(str(tgz), scratch)
        except (OSError, EOFError, ValueError) as e:
            raise _corrupt_archive(tgz, e) from e
        for f in missing:
            src = Path(scratch) / CIFAR10.base_folder / f
            if not src.is_file():
                raise DatasetCorruptError(
                    f"{tgz} has no {CIFAR10.base_folder}/{f}: "
                    "delete it to re-download or replace it"
                )
            shutil.move(src, folder / f)
    if verify:
        md5s = dict(files)
        for f in missing:
            _check_md5(folder / f, md5s[f])


def _read_cifar(root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        ds = _CIFAR10Unchecked(str(root), train=train, download=False)
    except (OSError, EOFError, KeyError, ValueError, TypeError, pickle.UnpicklingError) as e:
        raise DatasetCorruptError(
            f"cannot read the CIFAR-10 pickles in {root / CIFAR10.base_folder} "
            f"({_one_line(e)}): delete them to re-download or replace them"
        ) from e
    # torchvision turns the pickled rows into HWC images; transposing back gives the
    # original CHW rows (a view, no copy).
    data = np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)).reshape(len(ds.data), -1)
    return torch.from_numpy(data), torch.as_tensor(ds.targets, dtype=torch.int64)


def read_cifar10(root: Path, download: bool, verify: bool):
    """CIFAR-10's official training and test sets (catalog.CIFAR10.read)."""
    _cifar_prepare(root, download, verify)
    x_train, y_train = _read_cifar(root, train=True)
    x_test, y_test = _read_cifar(root, train=False)
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------- public


def load_dataset(
    name: str,
    root: str | Path | None,
    device: str | torch.device = "cpu",
    download: bool = True,
    verify: bool = True,
    valid_size: int | None = None,
) -> LoadedDataset:
    """Load MNIST or CIFAR-10 as three tensor splits on ``device``.

    Args:
        name: "mnist" or "cifar10" (case-insensitive).
        root: the data root (``None``: ``$TRAINABILITY_DATA``, else ``./data``); MNIST
            lives in ``<root>/MNIST/raw``, CIFAR-10 in ``<root>/cifar-10-batches-py``.
        device: where the tensors go.
        download: fetch missing files with torchvision. Files that exist are never
            downloaded over, even when they fail their checksum.
        verify: check md5s (torchvision's, plus ours for the extracted MNIST files);
            ``False`` skips them, e.g. for small synthetic files.
        valid_size: how many of the LAST official training examples form the
            validation set; defaults to the dataset's ``valid_examples`` (10,000 for MNIST
            and CIFAR-10, as in the paper).

    Raises:
        ValueError: unknown name, or ``valid_size`` not in [0, training-set size).
        DatasetNotFoundError: files missing and not downloadable.
        DatasetCorruptError: a file fails its md5 check or cannot be parsed.
    """
    data = dataset(name)
    if not isinstance(data, FiniteDataset):
        raise ValueError(f"{data.label} is generated, not loaded from files")
    if valid_size is None:
        valid_size = data.valid_examples
    if isinstance(valid_size, bool) or not isinstance(valid_size, numbers.Integral):
        raise ValueError(f"valid_size must be an int, got {valid_size!r}")
    valid_size = int(valid_size)
    if valid_size < 0:
        raise ValueError(f"valid_size must be >= 0, got {valid_size}")
    device = torch.device(device)
    root = resolve_data_root(root)

    x_train, y_train, x_test, y_test = data.read(root, download, verify)

    n = x_train.shape[0]
    if valid_size >= n:
        raise ValueError(
            f"valid_size={valid_size} must be smaller than the {n} {data.label} training examples"
        )

    def pixels(x: torch.Tensor) -> torch.Tensor:
        # Move the uint8 bytes, then convert on the device: 4x less to copy.
        return x.to(device).to(torch.float32).div_(255.0)

    x_all, y_all = pixels(x_train), y_train.to(device=device, dtype=torch.int64)
    cut = n - valid_size
    return LoadedDataset(
        name=data.name,
        train=Split(x_all[:cut], y_all[:cut]),
        valid=Split(x_all[cut:], y_all[cut:]),
        test=Split(pixels(x_test), y_test.to(device=device, dtype=torch.int64)),
        n_inputs=x_all.shape[1],
        n_classes=data.n_classes,
    )
