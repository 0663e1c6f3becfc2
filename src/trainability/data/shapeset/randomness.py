"""Counter-based random bits: every random quantity of example i of stream s is a pure
function of (s, i, draw index), identical on every device and however examples are batched."""

from __future__ import annotations

import torch

# --------------------------------------------------------------------------------------------
# Counter-based random bits
# --------------------------------------------------------------------------------------------
_M32 = 0xFFFFFFFF
_TWO_M32 = 2.0**-32


def hash32(x):
    """32-bit bijective integer hash (lowbias32, shifts 16/15/15, multipliers 0x21f0aaad,
    0x735a2d97).  Works on Python ints and int64 tensors holding values in [0, 2^32).

    Both multipliers are < 2^31 so ``x * m < 2^63``: no int64 overflow on any device.
    """
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & _M32
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & _M32
    return x ^ (x >> 15)


class Bits:
    """Random 32-bit words for a set of examples, addressed by draw index.

    ``lane0``/``lane1`` are two independent 32-bit states per example, derived from the stream
    and the example index; together they give each example a 64-bit state so that two examples
    (of any streams) coincide only with probability ~2^-64.  Within one stream and one block of
    2^32 indices, ``lane0`` is a bijection of the index, so no two examples share it.
    """

    def __init__(self, lane0: torch.Tensor, lane1: torch.Tensor):
        self.lane0 = lane0
        self.lane1 = lane1

    @classmethod
    def for_examples(cls, stream: int, index: torch.Tensor) -> Bits:
        """``index``: (N,) int64 example indices (>= 0)."""
        key_lo, key_hi = stream & _M32, (stream >> 32) & _M32
        k0 = hash32(hash32(key_lo ^ 0x3C6EF372) ^ key_hi)
        k1 = hash32(hash32(key_lo ^ 0xA54FF53A) ^ key_hi ^ 0x510E527F)
        lo, hi = index & _M32, index >> 32
        return cls(hash32(hash32(lo ^ k0) ^ hi), hash32(hash32(lo ^ k1) ^ hi ^ 0x1F83D9AB))

    def subset(self, rows: torch.Tensor) -> Bits:
        return Bits(self.lane0[rows], self.lane1[rows])

    def word(self, draw) -> torch.Tensor:
        """Random words, int64 in [0, 2^32).

        ``draw`` is an int (result (N,)) or an int64 tensor of draw indices of shape (K,)
        (result (N, K)).
        """
        c = hash32(hash32(draw ^ 0x9B05688C) ^ 0x5BE0CD19)
        lane0, lane1 = self.lane0, self.lane1
        if isinstance(draw, torch.Tensor):
            lane0, lane1 = lane0[:, None], lane1[:, None]
        return hash32(hash32(lane0 ^ c) ^ lane1)

    def uniform(self, draw) -> torch.Tensor:
        """U[0, 1) float64 with 32 random bits (exact: word * 2^-32)."""
        return self.word(draw).to(torch.float64) * _TWO_M32

    def randint(self, draw, n) -> torch.Tensor:
        """Uniform integers in [0, n); ``n`` an int or int64 tensor (< 2^31).  Exact integer
        arithmetic, ``(word * n) >> 32``, so identical on every device."""
        return (self.word(draw) * n) >> 32


# Draw indices.  Each random quantity of an example owns one; never reuse or renumber them,
# since that would change every generated dataset.
D_NOBJ, D_INVERT, D_BG = 0, 1, 2
D_TYPE, D_PREROT, D_ROT, D_LEVEL = (8, 16), (9, 17), (10, 18), (11, 19)
D_CANDIDATE = 32  # + 4 * (2 * k + slot) + j, j: 0/1 scale draws, 2/3 translation draws


def candidate_draws(slot: int, ks: torch.Tensor, j: int) -> torch.Tensor:
    """Draw indices of quantity ``j`` of candidates ``ks`` (K,) of object ``slot``."""
    return D_CANDIDATE + 4 * (2 * ks + slot) + j
