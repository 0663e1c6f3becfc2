"""Tests of trainability.data.datasets on tiny files written in the real formats.

Nothing here reads /work/shared or the network: torchvision's download_url is replaced
by a fake for every test (see ``downloads``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10, MNIST
from torchvision.datasets import utils as tv_utils

from trainability.data import datasets as D
from trainability.data.catalog import dataset, finite_datasets
from trainability.data.datasets import (
    DATA_ROOT_ENV,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    load_dataset,
    resolve_data_root,
)

FINITE_DATASETS = finite_datasets()


def expected_files(name: str) -> list[str]:
    return dataset(name).expected_files()

N_TRAIN, N_TEST = 120, 30  # MNIST stand-in sizes
CIFAR_BATCH, CIFAR_TEST = 8, 10  # 5 batches of 8 = 40 training images
MNIST_NAMES = [a.removesuffix(".gz") for a, _ in MNIST.resources]


# --------------------------------------------------------------------------- writers


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file: big-endian magic (2051 images / 2049 labels), then the dims, then uint8."""
    assert arr.dtype == np.uint8
    magic = {3: 2051, 1: 2049}[arr.ndim]
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.tobytes()


def make_mnist_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tr_x = rng.integers(0, 256, size=(N_TRAIN, 28, 28), dtype=np.uint8)
    te_x = rng.integers(0, 256, size=(N_TEST, 28, 28), dtype=np.uint8)
    tr_x[0] = 0
    tr_x[0, 0, 0] = 255  # first training image: one white pixel in the corner
    te_x[-1] = 255  # last test image: all white
    return {
        "train-images-idx3-ubyte": tr_x,
        "train-labels-idx1-ubyte": (np.arange(N_TRAIN) * 7 % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": te_x,
        "t10k-labels-idx1-ubyte": (np.arange(N_TEST) * 3 % 10).astype(np.uint8),
    }


def write_mnist(root: Path, arrays: dict[str, np.ndarray], form: str = "gz") -> Path:
    """Write the four files under root/MNIST/raw, as .gz ("gz"), extracted ("raw") or both."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        if form in ("gz", "both"):
            (raw / f"{name}.gz").write_bytes(gzip.compress(data))
        if form in ("raw", "both"):
            (raw / name).write_bytes(data)
    return raw


class Py2Str(str):
    """A str pickled as a Python 2 str, as in the real CIFAR-10 pickles."""


class Py2Pickler(pickle._Pickler):
    """Writes Py2Str as (SHORT_)BINSTRING, the opcode Python 2 used for str.

    The real CIFAR-10 batches are Python 2 pickles: loaded with encoding="bytes" their
    keys are b'data' and b'labels'; with encoding="latin1" (torchvision) 'data'/'labels'.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2str(self, obj):
        b = obj.encode("latin1")
        if len(b) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(b)]) + b)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(b)) + b)
        self.memoize(obj)

    dispatch[Py2Str] = save_py2str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def make_cifar_arrays(seed: int = 1) -> dict[str, tuple[np.ndarray, list[int]]]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(1, 6):
        x = rng.integers(0, 256, size=(CIFAR_BATCH, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, size=CIFAR_BATCH)]
        out[f"data_batch_{i}"] = (x, y)
    x = rng.integers(0, 256, size=(CIFAR_TEST, 3072), dtype=np.uint8)
    x[0] = 255
    out["test_batch"] = (x, [int(v) for v in rng.integers(0, 10, size=CIFAR_TEST)])
    return out


def cifar_file_bytes(name: str, arrays) -> bytes:
    if name == "batches.meta":
        names = ["airplane", "automobile", "bird", "cat", "deer"]
        names += ["dog", "frog", "horse", "ship", "truck"]
        meta = {
            Py2Str("num_cases_per_batch"): CIFAR_BATCH,
            Py2Str("label_names"): [Py2Str(n) for n in names],
            Py2Str("num_vis"): 3072,
        }
        return py2_pickle(meta)
    x, y = arrays[name]
    batch = {
        Py2Str("batch_label"): Py2Str(f"synthetic {name}"),
        Py2Str("labels"): y,
        Py2Str("data"): x,
        Py2Str("filenames"): [Py2Str(f"img_{i}.png") for i in range(len(y))],
    }
    return py2_pickle(batch)


CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def write_cifar(root: Path, arrays, files=CIFAR_FILES) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f).write_bytes(cifar_file_bytes(f, arrays))
    return folder


def cifar_tarball(arrays) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for f in CIFAR_FILES:
            data = cifar_file_bytes(f, arrays)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{f}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -------------------------------------------------------------------------- fixtures


class FakeDownloads:
    """Stands in for torchvision's download_url: records calls, writes or fails."""

    def __init__(self):
        self.calls: list[tuple[str, str, str]] = []
        self.files: dict[str, bytes] = {}  # filename -> bytes to "download"
        self.partial = False  # on failure, leave a half-written file behind first

    def __call__(self, url, root, filename=None, md5=None, max_redirect_hops=3):
        self.calls.append((url, str(root), filename))
        os.makedirs(root, exist_ok=True)
        if filename in self.files:
            Path(root, filename).write_bytes(self.files[filename])
            return
        if self.partial:
            Path(root, filename).write_bytes(b"half a file")
        raise urllib.error.URLError("offline (test)")


@pytest.fixture(autouse=True)
def downloads(monkeypatch) -> FakeDownloads:
    """No test touches the network: downloads fail unless a test provides the bytes."""
    fake = FakeDownloads()
    monkeypatch.setattr(tv_utils, "download_url", fake)

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to open a URL")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return fake


@pytest.fixture
def mnist_arrays():
    return make_mnist_arrays()


@pytest.fixture
def cifar_arrays():
    return make_cifar_arrays()


# ----------------------------------------------------------------------------- MNIST


@pytest.mark.parametrize("form", ["gz", "raw", "both"])
def test_mnist_shapes_values_and_splits(tmp_path, mnist_arrays, form):
    write_mnist(tmp_path, mnist_arrays, form)
    ds = load_dataset("mnist", tmp_path, verify=False, valid_size=20)

    assert ds.name == "mnist" and ds.n_inputs == 784 and ds.n_classes == 10
    tr_x = torch.from_numpy(mnist_arrays["train-images-idx3-ubyte"]).reshape(N_TRAIN, 784)
    tr_y = torch.from_numpy(mnist_arrays["train-labels-idx1-ubyte"]).long()
    te_x = torch.from_numpy(mnist_arrays["t10k-images-idx3-ubyte"]).reshape(N_TEST, 784)
    te_y = torch.from_numpy(mnist_arrays["t10k-labels-idx1-ubyte"]).long()

    for split, n in ((ds.train, 100), (ds.valid, 20), (ds.test, N_TEST)):
        assert split.x.shape == (n, 784) and split.x.dtype == torch.float32
        assert split.y.shape == (n,) and split.y.dtype == torch.int64
        assert split.x.device.type == "cpu" and len(split) == n
        assert 0.0 <= split.x.min() and split.x.max() <= 1.0

    # train = the first official training images, valid = the LAST 20, test = official test
    assert torch.equal(ds.train.x, tr_x[:100].float() / 255)
    assert torch.equal(ds.valid.x, tr_x[100:].float() / 255)
    assert torch.equal(ds.test.x, te_x.float() / 255)
    assert torch.equal(ds.train.y, tr_y[:100]) and torch.equal(ds.valid.y, tr_y[100:])
    assert torch.equal(ds.test.y, te_y)

    # exact pixel values
    assert ds.train.x[0, 0].item() == 1.0 and ds.train.x[0, 1:].abs().sum().item() == 0.0
    assert torch.all(ds.test.x[-1] == 1.0)
    assert ds.valid.x[-1, 5].item() == float(np.float32(int(tr_x[-1, 5])) / np.float32(255))


def test_mnist_extracts_gz_next_to_itself(tmp_path, mnist_arrays, downloads):
    raw = write_mnist(tmp_path, mnist_arrays, "gz")
    load_dataset("mnist", tmp_path, verify=False, valid_size=20)
    for name in MNIST_NAMES:
        assert (raw / name).read_bytes() == idx_bytes(mnist_arrays[name])
        assert (raw / f"{name}.gz").is_file()
    assert downloads.calls == []


def test_mnist_verify_passes_with_matching_md5s(tmp_path, mnist_arrays, monkeypatch, downloads):
    """verify=True accepts files whose md5 matches the tables (here: the synthetic files)."""
    write_mnist(tmp_path, mnist_arrays, "gz")
    resources = []
    for name, arr in mnist_arrays.items():
        data = idx_bytes(arr)
        resources.append((f"{name}.gz", md5((tmp_path / "MNIST/raw" / f"{name}.gz").read_bytes())))
        monkeypatch.setitem(D.MNIST_EXTRACTED_MD5, name, md5(data))
    monkeypatch.setattr(MNIST, "resources", resources)
    ds = load_dataset("mnist", tmp_path, verify=True, valid_size=20)
    assert len(ds.train) == 100 and len(ds.valid) == 20 and len(ds.test) == N_TEST
    assert downloads.calls == []


@pytest.mark.parametrize("form", ["gz", "raw"])
def test_mnist_corrupt_file_raises_and_is_left_alone(tmp_path, mnist_arrays, downloads, form):
    # The synthetic files are not the official ones, so their md5s do not match.
    raw = write_mnist(tmp_path, mnist_arrays, form)
    before = snapshot(raw)
    with pytest.raises(DatasetCorruptError) as info:
        load_dataset("mnist", tmp_path, verify=True, valid_size=20)
    msg = str(info.value)
    assert "\n" not in msg
    first = MNIST_NAMES[0] + (".gz" if form == "gz" else "")
    assert str(raw / first) in msg
    expected = dict(MNIST.resources)[first] if form == "gz" else D.MNIST_EXTRACTED_MD5[first]
    assert expected in msg
    assert md5((raw / first).read_bytes()) in msg
    assert "delete it to re-download or replace it" in msg
    assert snapshot(raw) == before  # nothing extracted, replaced or downloaded
    assert downloads.calls == []


def test_mnist_corrupt_extracted_next_to_good_gz(tmp_path, mnist_arrays, monkeypatch):
    """An extracted file that does not match its md5 is reported, not silently re-extracted."""
    raw = write_mnist(tmp_path, mnist_arrays, "both")
    resources = [(f"{n}.gz", md5((raw / f"{n}.gz").read_bytes())) for n in MNIST_NAMES]
    monkeypatch.setattr(MNIST, "resources", resources)
    for n in MNIST_NAMES:
        monkeypatch.setitem(D.MNIST_EXTRACTED_MD5, n, md5((raw / n).read_bytes()))
    (raw / MNIST_NAMES[1]).write_bytes(b"garbage")
    with pytest.raises(DatasetCorruptError, match=MNIST_NAMES[1]):
        load_dataset("mnist", tmp_path, verify=True, valid_size=20)
    assert (raw / MNIST_NAMES[1]).read_bytes() == b"garbage"


def test_mnist_corrupt_file_stops_download_of_missing_ones(tmp_path, mnist_arrays, downloads):
    raw = write_mnist(
        tmp_path, {"train-images-idx3-ubyte": mnist_arrays["train-images-idx3-ubyte"]}, "raw"
    )
    before = snapshot(raw)
    with pytest.raises(DatasetCorruptError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path, download=True, verify=True)
    assert snapshot(raw) == before
    assert downloads.calls == []


def test_mnist_unreadable_gz_with_verify_off(tmp_path, mnist_arrays):
    raw = write_mnist(tmp_path, mnist_arrays, "gz")
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetCorruptError) as info:
        load_dataset("mnist", tmp_path, verify=False, valid_size=20)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value) and "\n" not in str(info.value)
    assert (raw / "t10k-labels-idx1-ubyte.gz").read_bytes() == b"not gzip at all"
    assert not (raw / "t10k-labels-idx1-ubyte").exists()  # no half-extracted file left


def test_mnist_label_count_mismatch(tmp_path, mnist_arrays):
    mnist_arrays["train-labels-idx1-ubyte"] = mnist_arrays["train-labels-idx1-ubyte"][:-1]
    write_mnist(tmp_path, mnist_arrays, "raw")
    with pytest.raises(DatasetCorruptError, match="labels"):
        load_dataset("mnist", tmp_path, verify=False, valid_size=20)


def test_mnist_read_only_folder_extracts_to_a_temporary_one(tmp_path, mnist_arrays, monkeypatch):
    raw = write_mnist(tmp_path, mnist_arrays, "gz")
    real_extract = tv_utils.extract_archive

    def read_only(from_path, to_path=None, remove_finished=False):
        if Path(to_path) == raw:
            raise PermissionError(13, "Permission denied", str(to_path))
        return real_extract(from_path, to_path, remove_finished)

    monkeypatch.setattr(tv_utils, "extract_archive", read_only)
    before = snapshot(raw)
    ds = load_dataset("mnist", tmp_path, verify=False, valid_size=20)
    assert snapshot(raw) == before
    tr_x = torch.from_numpy(mnist_arrays["train-images-idx3-ubyte"]).reshape(N_TRAIN, 784)
    assert torch.equal(ds.valid.x, tr_x[100:].float() / 255)


def test_mnist_download_fetches_only_missing_files(tmp_path, mnist_arrays, downloads):
    raw = write_mnist(tmp_path, {k: v for k, v in mnist_arrays.items() if "t10k" not in k}, "raw")
    before = snapshot(raw)
    for name in MNIST_NAMES[2:]:
        downloads.files[f"{name}.gz"] = gzip.compress(idx_bytes(mnist_arrays[name]))
    ds = load_dataset("mnist", tmp_path, verify=False, valid_size=20)
    assert sorted(c[2] for c in downloads.calls) == sorted(f"{n}.gz" for n in MNIST_NAMES[2:])
    assert all(c[0].startswith(MNIST.mirrors[0]) and c[1] == str(raw) for c in downloads.calls)
    assert {k: v for k, v in snapshot(raw).items() if k in before} == before
    assert torch.equal(ds.test.y, torch.from_numpy(mnist_arrays["t10k-labels-idx1-ubyte"]).long())


# -------------------------------------------------------------------------- CIFAR-10


def test_cifar_pickles_look_like_the_real_ones(tmp_path, cifar_arrays):
    folder = write_cifar(tmp_path, cifar_arrays)
    with open(folder / "data_batch_1", "rb") as f:
        entry = pickle.load(f, encoding="bytes")
    assert {b"data", b"labels"} <= set(entry)
    assert entry[b"data"].dtype == np.uint8 and entry[b"data"].shape == (CIFAR_BATCH, 3072)


def test_cifar_shapes_values_and_splits(tmp_path, cifar_arrays):
    write_cifar(tmp_path, cifar_arrays)
    ds = load_dataset("cifar10", tmp_path, verify=False, valid_size=12)

    assert ds.name == "cifar10" and ds.n_inputs == 3072 and ds.n_classes == 10
    tr_x = np.concatenate([cifar_arrays[f"data_batch_{i}"][0] for i in range(1, 6)])
    tr_y = sum((cifar_arrays[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    te_x, te_y = cifar_arrays["test_batch"]
    n = len(tr_y)
    for split, size in ((ds.train, n - 12), (ds.valid, 12), (ds.test, CIFAR_TEST)):
        assert split.x.shape == (size, 3072) and split.x.dtype == torch.float32
        assert split.y.shape == (size,) and split.y.dtype == torch.int64
        assert 0.0 <= split.x.min() and split.x.max() <= 1.0

    # Rows stay in the pickles' CHW order (1024 R, 1024 G, 1024 B), scaled by 1/255.
    assert torch.equal(ds.train.x, torch.from_numpy(tr_x[: n - 12]).float() / 255)
    assert torch.equal(ds.valid.x, torch.from_numpy(tr_x[n - 12 :]).float() / 255)
    assert torch.equal(ds.test.x, torch.from_numpy(te_x).float() / 255)
    assert ds.train.y.tolist() == tr_y[: n - 12] and ds.valid.y.tolist() == tr_y[n - 12 :]
    assert ds.test.y.tolist() == te_y
    assert torch.all(ds.test.x[0] == 1.0)
    # valid spans the end of data_batch_4 and all of data_batch_5, in order
    assert torch.equal(ds.valid.x[-1], torch.from_numpy(cifar_arrays["data_batch_5"][0][-1]) / 255)


def test_cifar_verify_passes_with_matching_md5s(tmp_path, cifar_arrays, monkeypatch, downloads):
    folder = write_cifar(tmp_path, cifar_arrays)
    sums = {f: md5((folder / f).read_bytes()) for f in CIFAR_FILES}
    monkeypatch.setattr(CIFAR10, "train_list", [[f, sums[f]] for f in CIFAR_FILES[:5]])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", sums["test_batch"]]])
    meta = dict(CIFAR10.meta, md5=sums["batches.meta"])
    monkeypatch.setattr(CIFAR10, "meta", meta)
    ds = load_dataset("cifar10", tmp_path, verify=True, valid_size=12)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (28, 12, CIFAR_TEST)
    assert downloads.calls == []


def test_cifar_corrupt_file_raises_and_is_left_alone(tmp_path, cifar_arrays, downloads):
    folder = write_cifar(tmp_path, cifar_arrays)
    before = snapshot(tmp_path)
    with pytest.raises(DatasetCorruptError) as info:
        load_dataset("cifar10", tmp_path, verify=True, valid_size=12)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(folder / "data_batch_1") in msg and CIFAR10.train_list[0][1] in msg
    assert md5((folder / "data_batch_1").read_bytes()) in msg
    assert "delete it to re-download or replace it" in msg
    assert snapshot(tmp_path) == before
    assert downloads.calls == []


def test_cifar_corrupt_file_is_not_downloaded_over_when_others_missing(
    tmp_path, cifar_arrays, downloads
):
    write_cifar(tmp_path, cifar_arrays, files=["data_batch_1"])
    before = snapshot(tmp_path)
    with pytest.raises(DatasetCorruptError, match="data_batch_1"):
        load_dataset("cifar10", tmp_path, download=True, verify=True, valid_size=12)
    assert snapshot(tmp_path) == before
    assert downloads.calls == []


def test_cifar_download_adds_only_missing_files(tmp_path, cifar_arrays, downloads):
    # The user's own data_batch_1 differs from the one in the archive and must survive.
    mine = make_cifar_arrays(seed=99)
    folder = write_cifar(tmp_path, mine, files=["data_batch_1"])
    downloads.files[CIFAR10.filename] = cifar_tarball(cifar_arrays)
    ds = load_dataset("cifar10", tmp_path, download=True, verify=False, valid_size=12)
    assert [c[0] for c in downloads.calls] == [CIFAR10.url]
    assert (folder / "data_batch_1").read_bytes() == cifar_file_bytes("data_batch_1", mine)
    assert sorted(p.name for p in folder.iterdir()) == sorted(CIFAR_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["cifar-10-batches-py", CIFAR10.filename]
    )  # no scratch folder left
    assert torch.equal(ds.train.x[:CIFAR_BATCH], torch.from_numpy(mine["data_batch_1"][0]) / 255)
    assert ds.test.y.tolist() == cifar_arrays["test_batch"][1]


def test_cifar_local_tarball_is_used_without_download(tmp_path, cifar_arrays, downloads):
    (tmp_path / CIFAR10.filename).write_bytes(cifar_tarball(cifar_arrays))
    ds = load_dataset("cifar10", tmp_path, download=False, verify=False, valid_size=12)
    assert downloads.calls == []
    assert ds.test.y.tolist() == cifar_arrays["test_batch"][1]


def test_cifar_garbage_pickle_with_verify_off(tmp_path, cifar_arrays):
    folder = write_cifar(tmp_path, cifar_arrays)
    (folder / "data_batch_3").write_bytes(b"\x80\x02garbage")
    with pytest.raises(DatasetCorruptError) as info:
        load_dataset("cifar10", tmp_path, verify=False, valid_size=12)
    assert "cifar-10-batches-py" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ missing / offline


def _assert_not_found_message(msg: str, name: str, root: Path) -> None:
    assert "\n" not in msg
    folder = root / ("MNIST/raw" if name == "mnist" else "cifar-10-batches-py")
    assert str(folder) in msg
    for rel in expected_files(name):
        assert Path(rel).name in msg
    assert f"${DATA_ROOT_ENV}" in msg


@pytest.mark.parametrize("name", FINITE_DATASETS)
def test_missing_files_without_download(tmp_path, name, downloads):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, tmp_path, download=False)
    _assert_not_found_message(str(info.value), name, tmp_path)
    assert "download=False" in str(info.value)
    assert downloads.calls == []
    assert list(tmp_path.iterdir()) == []  # nothing created


@pytest.mark.parametrize("name", FINITE_DATASETS)
def test_missing_files_offline(tmp_path, name, downloads):
    downloads.partial = True  # each failed attempt leaves half a file behind
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, tmp_path, download=True)
    _assert_not_found_message(str(info.value), name, tmp_path)
    assert "download failed" in str(info.value) and "offline (test)" in str(info.value)
    assert downloads.calls  # torchvision's download was tried...
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # ...and left nothing


def test_one_missing_mnist_file_is_named(tmp_path, mnist_arrays):
    raw = write_mnist(tmp_path, mnist_arrays, "gz")
    (raw / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"missing: t10k-images-idx3-ubyte\.gz\)"):
        load_dataset("mnist", tmp_path, download=False, verify=False)


def test_errors_share_a_base():
    assert issubclass(DatasetNotFoundError, DatasetError)
    assert issubclass(DatasetCorruptError, DatasetError)
    assert issubclass(DatasetError, RuntimeError)
    assert str(DatasetError("two\nlines")) == "two lines"


# ---------------------------------------------------------------- names, sizes, roots


def test_unknown_name_lists_valid_names(tmp_path):
    for call in (lambda: load_dataset("svhn", tmp_path), lambda: expected_files("svhn")):
        with pytest.raises(ValueError) as info:
            call()
        assert all(n in str(info.value) for n in FINITE_DATASETS)


def test_the_catalog_names_torchvisions_files():
    """The catalog keeps the file names as plain data so that planning needs no torchvision;
    they must stay torchvision's."""
    assert dataset("mnist").files == tuple(a for a, _ in MNIST.resources)
    cifar = [f for f, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
    assert dataset("cifar10").files == tuple(cifar)
    assert dataset("mnist").folder == "MNIST/raw" and dataset("cifar10").folder == \
        CIFAR10.base_folder


def test_expected_files():
    assert expected_files("mnist") == [f"MNIST/raw/{n}.gz" for n in MNIST_NAMES]
    assert expected_files("CIFAR10") == [f"cifar-10-batches-py/{f}" for f in CIFAR_FILES]


def test_valid_size_checks(tmp_path, mnist_arrays):
    write_mnist(tmp_path, mnist_arrays, "raw")
    for bad in (N_TRAIN, N_TRAIN + 1, None):  # None: the paper's 10_000 > 120
        with pytest.raises(ValueError, match="valid_size"):
            load_dataset("mnist", tmp_path, verify=False, valid_size=bad)
    with pytest.raises(ValueError, match="valid_size"):
        load_dataset("mnist", tmp_path, verify=False, valid_size=-1)
    ds = load_dataset("mnist", tmp_path, verify=False, valid_size=N_TRAIN - 1)
    assert len(ds.train) == 1 and len(ds.valid) == N_TRAIN - 1


def test_resolve_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    assert resolve_data_root() == tmp_path / "data"
    monkeypatch.setenv(DATA_ROOT_ENV, "")
    assert resolve_data_root() == tmp_path / "data"
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "from_env"))
    assert resolve_data_root() == tmp_path / "from_env"
    assert resolve_data_root(None) == tmp_path / "from_env"
    assert resolve_data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_root("rel") == tmp_path / "rel"
    assert isinstance(resolve_data_root("rel"), Path)


def test_load_dataset_root_none_uses_env(tmp_path, monkeypatch, mnist_arrays):
    write_mnist(tmp_path / "env_root", mnist_arrays, "raw")
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "env_root"))
    ds = load_dataset("mnist", None, verify=False, valid_size=20)
    assert len(ds.test) == N_TEST
