"""One seed fixes everything: named sub-seeds derived from a base seed by hashing.

Hashing (rather than seed + offset) keeps sub-streams independent: the init seed of
member seed 1 never equals the data seed of run seed 0.
"""

from __future__ import annotations

import hashlib


def derive_seed(base: int, *labels: object) -> int:
    """A 63-bit seed determined by `base` and the labels, e.g. derive_seed(3, "init")."""
    text = "/".join([str(int(base)), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1
