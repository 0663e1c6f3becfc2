"""The one way the suite writes a file or a folder: nothing half-written ever looks complete.

Everything is written under a temporary sibling name (`.<name>.partial-<pid>`) and renamed
onto its real name only once complete, so a killed or failed writer leaves either the old
result or none, never a truncated one; on any error the temporary file or folder is removed.
A full disk or an unwritable place becomes an `OutputError` whose one-line message says what
to do. Run folders, tables, checkpoints, figures, Table 1, the claims and the report all go
through `replacing`.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class OutputError(RuntimeError):
    """A result cannot be written; the message (one line) says what to do."""


def partial_name(path: Path, pid: int | None = None) -> Path:
    """The temporary sibling that `path` is written under by process `pid` (default: this)."""
    return path.with_name(f".{path.name}.partial-{os.getpid() if pid is None else pid}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def disk_full(error: OSError) -> bool:
    """Whether `error` means no space (or quota) is left; pyarrow's IO errors carry no errno."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(error)


def describe(error: OSError, path: Path, advice: str) -> OutputError:
    """The one-line OutputError for failing to write `path`: a full disk says to free space
    (and rerun); any other failure gives `advice`."""
    if disk_full(error):
        return OutputError(f"cannot write {path}: no space left on device; free disk space and "
                           "rerun")
    reason = " ".join((error.strerror or str(error)).split())
    return OutputError(f"cannot write {path}: {reason}; {advice}")


@contextmanager
def replacing(path: str | Path, folder: bool = False,
              advice: str = "choose a writable place") -> Iterator[Path]:
    """Write `path` atomically: yields the temporary path to write (a folder, made empty, when
    `folder`), which replaces `path` when the block ends without error (a folder already at
    `path` is replaced whole). On error the temporary path is removed; OSError becomes an
    OutputError (one line: a full disk, else `advice`)."""
    path = Path(path)
    partial = partial_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove(partial)
        if folder:
            partial.mkdir()
        yield partial
        if folder and path.exists():
            retired = path.with_name(f".{path.name}.old-{os.getpid()}")
            _remove(retired)
            path.rename(retired)
            partial.rename(path)
            _remove(retired)
        else:
            os.replace(partial, path)
    except OSError as error:
        _remove(partial)
        raise describe(error, path, advice) from None
    except BaseException:
        _remove(partial)
        raise


def write_bytes(path: str | Path, data: bytes | bytearray | memoryview, **kwargs) -> Path:
    with replacing(path, **kwargs) as partial:
        partial.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str, **kwargs) -> Path:
    with replacing(path, **kwargs) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, payload: Any, allow_nan: bool = False, **kwargs) -> Path:
    """`payload` as indented JSON; NaN and infinities are refused unless `allow_nan` (JSON
    has none; Python writes them as NaN and Infinity)."""
    text = json.dumps(payload, indent=2, allow_nan=allow_nan, default=str) + "\n"
    return write_text(path, text, **kwargs)
