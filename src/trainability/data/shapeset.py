"""Shapeset-3x2: a faithful, vectorized, counter-based generator.

Glorot & Bengio (2010) train on *Shapeset-3x2*, an infinite stream of 32x32 grey images
holding one or two objects (triangle, parallelogram, "ellipse"), labelled by which objects
are present (9 classes).  The authors' generator survives as ``glorotxa/Shapeset``
(``polygongen.py`` + ``buildfeaturespolygon.py``, Python 2 + pygame); see
``/work/shared/reference/glorot-bengio-2010.md`` sections 1.1, 1.2 and 10.  No library provides
a counter-based, GPU-capable Shapeset generator, so this module re-implements the authors'
sampling procedure in vectorized torch code.  Everything below is hand-written for that reason.

What is reproduced from ``polygongen.py`` (the Shapeset-3x2 ``genparams``)
-------------------------------------------------------------------------
* Number of objects uniform on ``{min_objects, ..., max_objects}`` = {1, 2}; each object's type
  uniform over (triangle, parallelogram, ellipse) with ``n_vertices = (3, 4, 20)``.
* An object is the regular n-gon inscribed in a circle of radius 0.5 (horizontal bottom edge),
  pre-rotated by ``r1`` (``poly_type = 2``: index ``randint(0, res // n)`` folded onto
  ``[-res/(2n), +res/(2n)]`` exactly as the authors' integer arithmetic does it, including the
  clamp at ``res - 1``), scaled by ``s = sorted-descending U(scale_min, scale_max, size=2) * 32``
  per axis, rotated back by ``r2 = -atan(s1/s0 * tan(r1))`` (the authors' "inverse rotation"
  that keeps the base horizontal), rotated by the final angle ``r3 = k * 2*pi/255`` with
  ``k = numpy randint(0, 254)``, i.e. k in {0, ..., 253} (numpy's upper bound is exclusive),
  and translated uniformly among positions that keep every vertex inside
  ``[1, size - 1]`` (the authors' 1-px margin).
* Grey levels are integers 0-255.  Integer bounds are formed as the authors do:
  ``randint(int(lo * 255), 1 + int(hi * 255))``, so the default fg range is 140..255 and the bg
  range 0..114 (inclusive).  One level is drawn for the background and one per object.  With
  probability ``inv_chance`` the ranges swap (objects from the bg range on a background from the
  fg range).
* Second object: the type, ``r1`` and ``r3`` are drawn once; on rejection only the scale and
  translation are redrawn (as in ``_corners``).  The rejection test is the authors'
  approximation: with ``d`` the distance between centres and ``proj`` the sum of both polygons'
  largest vertex projections on the centre line, ``overlap = 1 - exp(-(proj - d) / (d / ln 2))``,
  reject when ``area_new * overlap / area_old > overlap_max`` with
  ``area = s0 * s1 * n * sin(2 pi / n) / (2 pi)``.  Faithful quirks kept on purpose:
  the *old* polygon's centre is its translation truncated to integers (the authors store it in an
  ``int32`` array), and no test is made when ``proj < d``.
* Give-up rule: ``_corners`` counts rejections per image and the caller drops the object when
  the count reaches ``rejection_max``.  Worked through, the second object is kept iff one of its
  first ``rejection_max`` (= 50) candidates is accepted; otherwise the image keeps only the first
  object and is labelled by it.  Here all candidates of an example are drawn from fixed counter
  positions and the first accepted one is picked (candidates are evaluated lazily in blocks, which
  cannot change the result because every candidate's randomness is fixed in advance).
* Labels (``convertout``): class from the counts of each type among the objects drawn:
  0 T, 1 P, 2 E, 3 T+P, 4 P+E, 5 T+E, 6 2T, 7 2P, 8 2E.  Prior 1/6, 1/9, 1/18.

Deliberate differences and choices where the reference is silent
-----------------------------------------------------------------
* Rasterisation: the authors' ``pygame.draw.polygon(surface, level, points, 0)`` under pygame
  1.8.1 is emulated exactly (``_scanline_fill``), as read in its source: github.com/pygame/pygame
  commit 91d50ca0c ("1.8.1release", 2008-07-28), ``src/draw.c`` functions ``polygon``,
  ``draw_fillpoly`` and ``drawhorzlineclip``, ``src/base.c`` ``TwoIntsFromObj``/``IntFromObj``.
  The authors pass their float vertices unrounded (``buildfeaturespolygon.buildimage``); pygame
  truncates each coordinate toward zero (``int(v)``).  For each scanline y = miny .. maxy, every
  non-horizontal edge with lower end (x1, y1) and upper end (x2, y2) gives an intercept when
  y1 <= y < y2, or when y == maxy and y1 < y <= y2: ``(y - y1) * (x2 - x1) / (y2 - y1) + x1`` in C
  ``int`` arithmetic (the division truncates toward zero, also for negative numerators).  The
  intercepts are sorted and pixels ``ints[k] .. ints[k + 1]``, both ends included, are filled
  for k = 0, 2, ...  Horizontal edges add nothing, width 0 draws no outline, and a polygon lying
  on one scanline draws nothing (pygame 2 adds passes for those cases and truncates the
  intercept after adding x1; neither changes the statistics measurably).  No antialiasing; the
  later object is drawn on top.  Checked pixel for pixel against a line-by-line port of
  ``draw_fillpoly`` in ``tests/test_shapeset_fidelity.py``.  Drawn objects are therefore larger
  than their polygons by about half a perimeter (mean lone-object areas 98 / 144 / 218 px for
  polygon areas 83 / 128 / 198 px), as in the authors' images (``pixel_statistics`` against
  ``AUTHORS_PIXEL_STATISTICS_300K``).  Row/column 0 is never drawn (vertices are >= 1),
  row/column ``size - 1`` only by a vertex at exactly ``size - 1``.
* Layout: ``images[n, i, j]`` is pygame's pixel (x, y) = (i, j), as in the authors'
  ``surfarray.pixels2d`` arrays (indexed [x, y]), and the flattened vectors (``make_split``,
  ``ShapesetStream``) are their row-major flattening, index ``x * size + y``, like the authors'
  ``rval_image.reshape(batchsize, size * size)``.  Vertex coordinate 0 is x, 1 is y.  pygame's
  scanlines run along y, so a scanline is a fixed j and its spans run over i.
* d = 0 (the new centre exactly on the old truncated centre; probability zero in exact
  arithmetic): the authors' code would divide by zero, get NaN and accept.  We use the limit
  d -> 0+, overlap = 1, i.e. reject iff ``area_new / area_old > overlap_max``.
* ``proj < d``: no rejection (the authors skip the test; the formula would give a negative
  overlap anyway).
* ``r2`` and ``r3`` are composed into one rotation matrix before being applied (the authors apply
  them one after the other); this only changes the last bits of the vertex coordinates.
* ``rejection_max = -1`` (retry forever) is not supported: candidates are drawn up front.
* Pixel range: ``zero_one`` gives ``level / 255`` (``buildimage(neg=False)``, used by
  ``DeepANN/Curridata.conf``); ``minus_one_one`` gives ``level / 255 * 2 - 1`` (``neg=True``, used
  by ``simpleexemple.py``).  **Which one the paper used is UNCONFIRMED**; ``zero_one`` is the
  default.  Values are computed in float32 as ``level / 255`` and ``(2 * level - 255) / 255``
  (one IEEE rounding each).

Randomness: counter-based, so examples can be split, resumed and regenerated
----------------------------------------------------------------------------
Every random quantity of example ``i`` of stream ``s`` is a pure function of ``(s, i, d)`` where
``d`` is a fixed *draw index* for that quantity (see ``_D_*`` below).  The bits come from a 32-bit
integer hash (the "lowbias32" finaliser ``[16 21f0aaad 15 735a2d97 15]`` from C. Wellons'
hash-prospector) evaluated with torch int64 ops.  Both multipliers are below 2^31, so every
product of a 32-bit value and a multiplier stays below 2^63 and never overflows; results are
masked back to 32 bits.  Integer ops are exact, so the bits are identical on CPU and CUDA and do
not depend on how a range of examples is cut into batches.

Geometry is computed in float64 with basic IEEE operations (``+ - * / sqrt``, which are
correctly rounded on CPU and CUDA) from tables built on the host, so vertices should be identical
across devices too; the fill works on ``int(vertex)`` in int32 arithmetic (integer division with
``rounding_mode="trunc"``, C's rule), which is exact everywhere, so pixels follow the vertices.
The only transcendental function evaluated on the device is ``exp`` in the overlap test; a
CPU/CUDA difference there could flip an accept/reject decision only if the ratio fell within one
float64 ulp of ``overlap_max``.  (Checked on CPU only: no GPU
was available when this module was written.)

Shapes and units
----------------
Images ``(count, size, size)`` float32 in the configured pixel range; labels ``(count,)`` int64.
Vertices and translations are in pixels (float64).  Grey levels are integers 0-255.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import torch

__all__ = [
    "AUTHORS_PIXEL_STATISTICS_10K",
    "AUTHORS_PIXEL_STATISTICS_300K",
    "CLASS_NAMES",
    "N_CLASSES",
    "PIXEL_RANGES",
    "PIXEL_STATISTICS",
    "SPLIT_STREAMS",
    "Scenes",
    "ShapesetBatch",
    "ShapesetConfig",
    "ShapesetStream",
    "generate",
    "make_split",
    "pixel_statistics",
    "stream_key",
]

N_CLASSES = 9
CLASS_NAMES = ("T", "P", "E", "T+P", "P+E", "T+E", "2T", "2P", "2E")
TYPE_NAMES = ("triangle", "parallelogram", "ellipse")
SPLIT_STREAMS = {"train": 0, "valid": 1, "test": 2}
PIXEL_RANGES = ("zero_one", "minus_one_one")

#: Distance (pixels) every vertex keeps from the image border (hard-coded ``+1``/``-1`` in
#: ``polygongen._corners``).
MARGIN_PX = 1.0

#: Class of a two-object image, indexed by the two object types (symmetric).
_PAIR_CLASS = ((6, 3, 5), (3, 7, 4), (5, 4, 8))

#: Examples processed per internal block.  Bounds peak memory; results do not depend on it.
_BLOCK = 4096

#: Candidate blocks for the second object's rejection sampling: most examples accept their
#: first candidate, so later candidates are only evaluated for the examples still rejected.
_CANDIDATE_STAGES = (1, 4, 16)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShapesetConfig:
    """Generator parameters; defaults are the authors' Shapeset-3x2 ``genparams``.

    Field names follow ``polygongen.Polygongen`` (renamed where noted).  Ranges given as
    fractions are relative: scales of the image size, grey levels of 255, positions of the
    image size, rotations of a full turn.
    """

    image_size: int = 32  #: ``img_shape`` (square images only), pixels
    pixel_range: str = "zero_one"  #: "zero_one" -> level/255; "minus_one_one" -> x*2-1
    poly_type: int = 2  #: 0 regular, 1 isosceles/rectangle, 2 triangle/parallelogram (+ellipse)
    n_vertices: tuple[int, int, int] = (3, 4, 20)  #: ``n_vert_list``: T, P, E
    min_objects: int = 1  #: ``nb_poly_min``
    max_objects: int = 2  #: ``nb_poly_max`` (at most 2: the 9 classes are defined for 1 or 2)
    scale_min: float = 0.2  #: fraction of the image size
    scale_max: float = 0.8
    rot_min: float = 0.0  #: fraction of a full turn
    rot_max: float = 1.0
    rotation_resolution: int = 255  #: rotations are multiples of 2*pi/rotation_resolution
    pos_min: float = 0.0  #: fraction of the image size
    pos_max: float = 1.0
    fg_min: float = 0.55  #: fraction of 255
    fg_max: float = 1.0
    bg_min: float = 0.0
    bg_max: float = 0.45
    inv_chance: float = 0.5  #: probability that the fg and bg ranges swap
    overlap_rejection: bool = True  #: ``overlap_bool``
    overlap_max: float = 0.5
    rejection_max: int = 50  #: ``rejectionmax``; -1 (retry forever) is not supported

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def max_vertices(self) -> int:
        """Padded vertex count of the scene tensors, ``max(n_vertices)``."""
        return max(self.n_vertices)


def _validate(c: ShapesetConfig) -> None:
    """Raise ``ValueError`` naming the field and the valid values for any bad parameter."""

    def is_int(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if c.pixel_range not in PIXEL_RANGES:
        raise ValueError(f"pixel_range must be one of {PIXEL_RANGES}, got {c.pixel_range!r}")
    if not is_int(c.image_size) or c.image_size < 4:
        raise ValueError(f"image_size must be an int >= 4, got {c.image_size!r}")
    if c.poly_type not in (0, 1, 2) or not is_int(c.poly_type):
        raise ValueError(f"poly_type must be 0, 1 or 2, got {c.poly_type!r}")
    if (
        not isinstance(c.n_vertices, tuple)
        or len(c.n_vertices) != 3
        or not all(is_int(n) and n >= 3 for n in c.n_vertices)
    ):
        raise ValueError(f"n_vertices must be a tuple of 3 ints >= 3, got {c.n_vertices!r}")
    if not (is_int(c.min_objects) and is_int(c.max_objects)) or not (
        1 <= c.min_objects <= c.max_objects <= 2
    ):
        raise ValueError(
            "need 1 <= min_objects <= max_objects <= 2, "
            f"got min_objects={c.min_objects!r}, max_objects={c.max_objects!r}"
        )
    for name in ("scale", "rot", "pos", "fg", "bg"):
        lo, hi = getattr(c, f"{name}_min"), getattr(c, f"{name}_max")
        if not (0.0 <= lo <= hi <= 1.0):
            raise ValueError(
                f"need 0 <= {name}_min <= {name}_max <= 1, got {name}_min={lo!r}, {name}_max={hi!r}"
            )
    if c.scale_min <= 0.0:
        raise ValueError(f"scale_min must be > 0, got {c.scale_min!r}")
    if not is_int(c.rotation_resolution) or not (
        max(c.n_vertices) <= c.rotation_resolution <= 65536
    ):
        raise ValueError(
            "rotation_resolution must be an int in [max(n_vertices), 65536], "
            f"got {c.rotation_resolution!r}"
        )
    if not (0.0 <= c.inv_chance <= 1.0):
        raise ValueError(f"inv_chance must be in [0, 1], got {c.inv_chance!r}")
    if not isinstance(c.overlap_rejection, bool):
        raise ValueError(f"overlap_rejection must be a bool, got {c.overlap_rejection!r}")
    if not (0.0 <= c.overlap_max <= 1.0):
        raise ValueError(f"overlap_max must be in [0, 1], got {c.overlap_max!r}")
    if not is_int(c.rejection_max) or not (1 <= c.rejection_max <= 10_000):
        raise ValueError(
            f"rejection_max must be an int in [1, 10000] (-1 is not supported), "
            f"got {c.rejection_max!r}"
        )


def stream_key(seed: int, split: str) -> int:
    """Stream number for ``(seed, split)``: ``4 * seed + SPLIT_STREAMS[split]``.

    The map is injective, so every (seed, split) pair gets its own stream, and different streams
    share no example (their per-example 64-bit states coincide with probability 2^-64).
    """
    if split not in SPLIT_STREAMS:
        raise ValueError(f"split must be one of {tuple(SPLIT_STREAMS)}, got {split!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**60:
        raise ValueError(f"seed must be an int in [0, 2**60), got {seed!r}")
    return 4 * seed + SPLIT_STREAMS[split]


# --------------------------------------------------------------------------------------------
# Counter-based random bits
# --------------------------------------------------------------------------------------------
_M32 = 0xFFFFFFFF
_TWO_M32 = 2.0**-32


def _hash32(x):
    """32-bit bijective integer hash (lowbias32, shifts 16/15/15, multipliers 0x21f0aaad,
    0x735a2d97).  Works on Python ints and int64 tensors holding values in [0, 2^32).

    Both multipliers are < 2^31 so ``x * m < 2^63``: no int64 overflow on any device.
    """
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & _M32
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & _M32
    return x ^ (x >> 15)


class _Bits:
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
    def for_examples(cls, stream: int, index: torch.Tensor) -> _Bits:
        """``index``: (N,) int64 example indices (>= 0)."""
        key_lo, key_hi = stream & _M32, (stream >> 32) & _M32
        k0 = _hash32(_hash32(key_lo ^ 0x3C6EF372) ^ key_hi)
        k1 = _hash32(_hash32(key_lo ^ 0xA54FF53A) ^ key_hi ^ 0x510E527F)
        lo, hi = index & _M32, index >> 32
        return cls(_hash32(_hash32(lo ^ k0) ^ hi), _hash32(_hash32(lo ^ k1) ^ hi ^ 0x1F83D9AB))

    def subset(self, rows: torch.Tensor) -> _Bits:
        return _Bits(self.lane0[rows], self.lane1[rows])

    def word(self, draw) -> torch.Tensor:
        """Random words, int64 in [0, 2^32).

        ``draw`` is an int (result (N,)) or an int64 tensor of draw indices of shape (K,)
        (result (N, K)).
        """
        c = _hash32(_hash32(draw ^ 0x9B05688C) ^ 0x5BE0CD19)
        lane0, lane1 = self.lane0, self.lane1
        if isinstance(draw, torch.Tensor):
            lane0, lane1 = lane0[:, None], lane1[:, None]
        return _hash32(_hash32(lane0 ^ c) ^ lane1)

    def uniform(self, draw) -> torch.Tensor:
        """U[0, 1) float64 with 32 random bits (exact: word * 2^-32)."""
        return self.word(draw).to(torch.float64) * _TWO_M32

    def randint(self, draw, n) -> torch.Tensor:
        """Uniform integers in [0, n); ``n`` an int or int64 tensor (< 2^31).  Exact integer
        arithmetic, ``(word * n) >> 32``, so identical on every device."""
        return (self.word(draw) * n) >> 32


# Draw indices.  Each random quantity of an example owns one; never reuse or renumber them,
# since that would change every generated dataset.
_D_NOBJ, _D_INVERT, _D_BG = 0, 1, 2
_D_TYPE, _D_PREROT, _D_ROT, _D_LEVEL = (8, 16), (9, 17), (10, 18), (11, 19)
_D_CANDIDATE = 32  # + 4 * (2 * k + slot) + j, j: 0/1 scale draws, 2/3 translation draws


def _candidate_draws(slot: int, ks: torch.Tensor, j: int) -> torch.Tensor:
    """Draw indices of quantity ``j`` of candidates ``ks`` (K,) of object ``slot``."""
    return _D_CANDIDATE + 4 * (2 * ks + slot) + j


# --------------------------------------------------------------------------------------------
# Host-built lookup tables (identical bits on every device)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Tables:
    n_vert: torch.Tensor  # (3,) int64
    base_rotated: torch.Tensor  # (3, res, V, 2) float64: regular n-gon @ rot_mat[idx1], padded
    prerot_len: torch.Tensor  # (3,) int64: number of pre-rotation draws res // n (1 if unused)
    prerot_idx: torch.Tensor  # (3, L) int64: draw -> pre-rotation index (authors' folding)
    tan: torch.Tensor  # (res,) float64
    cos: torch.Tensor  # (res,) float64
    sin: torch.Tensor  # (res,) float64
    area_ratio: torch.Tensor  # (3,) float64: n sin(2 pi / n) / (2 pi)
    pair_class: torch.Tensor  # (3, 3) int64
    rot_lo: int  # final rotation index range [rot_lo, rot_hi) (rot_hi == rot_lo: fixed)
    rot_hi: int
    fg_lo: int  # integer grey-level ranges, inclusive
    fg_hi: int
    bg_lo: int
    bg_hi: int


def _regular_polygon(n: int) -> list[tuple[float, float]]:
    """``polygongen.n_sided``: n points on the circle of radius 0.5, bottom edge horizontal,
    counter-clockwise."""
    pts = []
    for t in range(n):
        angle = (t / n + 1.0 / (2 * n) + 0.25) * math.pi * 2.0
        pts.append((0.5 * math.cos(angle), 0.5 * math.sin(angle)))
    return pts


def _prerotation_map(res: int, n: int) -> list[int]:
    """Pre-rotation index for each value of ``randint(0, res // n)`` (``_corners``, Python 2
    integer division kept): indices above res/(2n) fold onto negative angles, clamped to
    ``res - 1``."""
    out = []
    for k in range(res // n):
        if k > (res - 1) // (2 * n):
            k = min(res - (res - 1) // n + k, res - 1)
        out.append(k)
    return out


@functools.lru_cache(maxsize=16)
def _tables(config: ShapesetConfig, device: str) -> _Tables:
    res = config.rotation_resolution
    vmax = config.max_vertices
    step = 2 * math.pi / res
    cos = [math.cos(t * step) for t in range(res)]
    sin = [math.sin(t * step) for t in range(res)]
    base = torch.zeros(3, res, vmax, 2, dtype=torch.float64)
    for g, n in enumerate(config.n_vertices):
        pts = _regular_polygon(n)
        pts = pts + [pts[0]] * (vmax - n)  # pad by repeating a vertex: a degenerate edge
        p = torch.tensor(pts, dtype=torch.float64)  # (V, 2)
        c = torch.tensor(cos, dtype=torch.float64)[:, None]
        s = torch.tensor(sin, dtype=torch.float64)[:, None]
        # Row vector @ gen_rot(theta) with gen_rot = [[c, s], [-s, c]] (counter-clockwise).
        base[g, :, :, 0] = p[:, 0] * c - p[:, 1] * s
        base[g, :, :, 1] = p[:, 0] * s + p[:, 1] * c
    if config.poly_type == 2:
        maps = [_prerotation_map(res, n) for n in config.n_vertices]
    else:  # poly_type 0/1: no pre-rotation
        maps = [[0] for _ in config.n_vertices]
    width = max(len(m) for m in maps)
    prerot_idx = torch.tensor([m + [0] * (width - len(m)) for m in maps], dtype=torch.int64)
    rot_lo = min(int(config.rot_min * (res - 1)), res - 1)
    rot_hi = min(int(config.rot_max * (res - 1)), res - 1)
    if rot_lo >= rot_hi:
        rot_hi = rot_lo
    f = functools.partial(torch.tensor, device=device)
    return _Tables(
        n_vert=f(config.n_vertices, dtype=torch.int64),
        base_rotated=base.to(device),
        prerot_len=f([len(m) for m in maps], dtype=torch.int64),
        prerot_idx=prerot_idx.to(device),
        tan=f([math.tan(t * step) for t in range(res)], dtype=torch.float64),
        cos=f(cos, dtype=torch.float64),
        sin=f(sin, dtype=torch.float64),
        area_ratio=f(
            [n * math.sin(2 * math.pi / n) / (2 * math.pi) for n in config.n_vertices],
            dtype=torch.float64,
        ),
        pair_class=f(_PAIR_CLASS, dtype=torch.int64),
        rot_lo=rot_lo,
        rot_hi=rot_hi,
        fg_lo=int(config.fg_min * 255),
        fg_hi=int(config.fg_max * 255),
        bg_lo=int(config.bg_min * 255),
        bg_hi=int(config.bg_max * 255),
    )


# --------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------
@dataclass
class _Objects:
    """One object slot for M examples (candidate axis K where noted)."""

    type: torch.Tensor  # (M,) int64 in 0..2
    prerot: torch.Tensor  # (M,) int64 pre-rotation index r1
    rot: torch.Tensor  # (M,) int64 final rotation index r3
    x: torch.Tensor | None = None  # (M, K, V) float64 vertex offsets from the centre, axis 0
    y: torch.Tensor | None = None  # (M, K, V) float64, axis 1
    scale: torch.Tensor | None = None  # (M, K, 2) float64 s0 >= s1, pixels
    centre: torch.Tensor | None = None  # (M, K, 2) float64 translation t, pixels


def _draw_object(bits: _Bits, slot: int, tab: _Tables) -> _Objects:
    """Type, pre-rotation r1 and final rotation r3: drawn once per object (not per candidate)."""
    typ = bits.randint(_D_TYPE[slot], 3)
    k = bits.randint(_D_PREROT[slot], tab.prerot_len[typ])
    prerot = tab.prerot_idx[typ, k]
    if tab.rot_hi > tab.rot_lo:
        rot = tab.rot_lo + bits.randint(_D_ROT[slot], tab.rot_hi - tab.rot_lo)
    else:
        rot = torch.full_like(typ, tab.rot_lo)
    return _Objects(type=typ, prerot=prerot, rot=rot)


def _draw_candidates(
    bits: _Bits, slot: int, ks: torch.Tensor, obj: _Objects, tab: _Tables, config: ShapesetConfig
) -> _Objects:
    """Scale, vertices and translation of candidates ``ks`` (K,) of ``obj`` (M examples).

    Returns a new ``_Objects`` whose x, y are (M, K, V), scale and centre (M, K, 2).
    """
    size = float(config.image_size)
    span = config.scale_max - config.scale_min
    u0 = bits.uniform(_candidate_draws(slot, ks, 0))  # (M, K)
    if config.poly_type == 0:  # isotropic: one draw for both axes
        s0 = (config.scale_min + span * u0) * size
        s1 = s0
    else:  # two draws, sorted so that s0 >= s1 (keeps the base horizontal)
        a = (config.scale_min + span * u0) * size
        b = (config.scale_min + span * bits.uniform(_candidate_draws(slot, ks, 1))) * size
        s0, s1 = torch.maximum(a, b), torch.minimum(a, b)
    # r2 = -atan(s1/s0 * tan r1), from sqrt and division only (correctly rounded everywhere):
    # cos(atan z) = 1/sqrt(1+z^2), sin(-atan z) = -z/sqrt(1+z^2).
    z = s1 / s0 * tab.tan[obj.prerot][:, None]
    c2 = 1.0 / torch.sqrt(1.0 + z * z)
    sn2 = -z * c2
    c3, sn3 = tab.cos[obj.rot][:, None], tab.sin[obj.rot][:, None]
    cos_ = (c2 * c3 - sn2 * sn3)[..., None]  # rotation r2 then r3, combined: (M, K, 1)
    sin_ = (c2 * sn3 + sn2 * c3)[..., None]
    base = tab.base_rotated[obj.type, obj.prerot]  # (M, V, 2): regular polygon @ r1
    ax = base[:, None, :, 0] * s0[..., None]  # scaled: (M, K, V)
    ay = base[:, None, :, 1] * s1[..., None]
    x = ax * cos_ - ay * sin_
    y = ax * sin_ + ay * cos_
    centre = torch.stack(
        [
            _translation(x, bits.uniform(_candidate_draws(slot, ks, 2)), config),
            _translation(y, bits.uniform(_candidate_draws(slot, ks, 3)), config),
        ],
        dim=-1,
    )
    return _Objects(
        type=obj.type,
        prerot=obj.prerot,
        rot=obj.rot,
        x=x,
        y=y,
        scale=torch.stack([s0, s1], dim=-1),
        centre=centre,
    )


def _translation(offsets: torch.Tensor, u: torch.Tensor, config: ShapesetConfig) -> torch.Tensor:
    """Translation along one axis (pixels), uniform over the positions keeping all vertices in
    ``[MARGIN_PX, size - MARGIN_PX]`` (``_corners``: relative units, clipped to [pos_min,
    pos_max]).  ``offsets`` (M, K, V); ``u`` (M, K) uniforms."""
    size = float(config.image_size)
    lo = torch.clamp((MARGIN_PX - offsets.amin(-1)) / size, min=config.pos_min)
    hi = torch.clamp(1.0 - (offsets.amax(-1) + MARGIN_PX) / size, max=config.pos_max)
    return (lo + (hi - lo) * u) * size


def _rejected(new: _Objects, old: _Objects, old_x, old_y, tab: _Tables, config) -> torch.Tensor:
    """The authors' approximate overlap test of candidates ``new`` (M, K) against ``old``.

    ``old_x``/``old_y``: (M, V) absolute vertex coordinates of the old polygon.  Returns (M, K)
    bool, True where the candidate is rejected.
    """
    if not config.overlap_rejection:
        return torch.zeros(new.centre.shape[:2], dtype=torch.bool, device=new.centre.device)
    old_centre = old.centre[:, 0]  # (M, 2)
    pos = torch.trunc(old_centre)  # stored in an int32 array by the authors: truncated
    vx = new.centre[..., 0] - pos[:, None, 0]  # (M, K): centre line, old -> new
    vy = new.centre[..., 1] - pos[:, None, 1]
    d = torch.sqrt(vx * vx + vy * vy)
    ok = d > 0
    d_safe = torch.where(ok, d, torch.ones_like(d))
    # Largest projection of the old polygon on +v and of the new one on -v.
    rel_x, rel_y = old_x - pos[:, None, 0], old_y - pos[:, None, 1]  # (M, V)
    p_old = (rel_x[:, None, :] * vx[..., None] + rel_y[:, None, :] * vy[..., None]).amax(-1)
    p_new = -(new.x * vx[..., None] + new.y * vy[..., None]).amin(-1)
    proj = p_old / d_safe + p_new / d_safe
    factor = 1.0 - torch.exp(-(proj - d) / (d_safe / math.log(2)))
    factor = torch.where(ok, factor, torch.ones_like(factor))  # d -> 0+ limit: full overlap
    touching = (proj >= d) | ~ok
    area_new = new.scale[..., 0] * new.scale[..., 1] * tab.area_ratio[new.type][:, None]
    area_old = old.scale[:, 0, 0] * old.scale[:, 0, 1] * tab.area_ratio[old.type]
    return touching & (area_new * factor / area_old[:, None] > config.overlap_max)


def _select(obj: _Objects, k: torch.Tensor) -> _Objects:
    """Candidate ``k`` (M,) of each example, keeping a K axis of length 1."""
    rows = torch.arange(k.shape[0], device=k.device)
    return _Objects(
        type=obj.type,
        prerot=obj.prerot,
        rot=obj.rot,
        x=obj.x[rows, k][:, None],
        y=obj.y[rows, k][:, None],
        scale=obj.scale[rows, k][:, None],
        centre=obj.centre[rows, k][:, None],
    )


def _second_object(bits: _Bits, first: _Objects, tab: _Tables, config: ShapesetConfig):
    """Rejection-sample the second object for M examples.

    Candidates are evaluated in stages (first candidate for everybody, the next few for the
    examples still rejected, and so on up to ``rejection_max``); the result equals evaluating all
    ``rejection_max`` candidates at once because each candidate's draws are fixed.

    Returns ``(obj, chosen, accepted, n_rejections)``: obj the type/rotation draws (M,);
    chosen the accepted candidate with K = 1 (meaningful where accepted; None when M = 0);
    accepted (M,) bool; n_rejections (M,) int64 (``rejection_max`` when giving up).
    """
    m = first.type.shape[0]
    dev = first.type.device
    obj = _draw_object(bits, 1, tab)
    old_x = first.x[:, 0] + first.centre[:, 0, 0:1]  # absolute vertices (M, V)
    old_y = first.y[:, 0] + first.centre[:, 0, 1:2]
    r = config.rejection_max
    stops = sorted({min(s, r) for s in _CANDIDATE_STAGES} | {r})
    chosen = None
    accepted = torch.zeros(m, dtype=torch.bool, device=dev)
    n_rej = torch.full((m,), r, dtype=torch.int64, device=dev)
    todo = torch.arange(m, device=dev)
    k0 = 0
    for k1 in stops:
        if todo.numel() == 0:
            break
        ks = torch.arange(k0, k1, device=dev)
        sub_first = _subset(first, todo)
        sub_obj = _Objects(type=obj.type[todo], prerot=obj.prerot[todo], rot=obj.rot[todo])
        cand = _draw_candidates(bits.subset(todo), 1, ks, sub_obj, tab, config)
        ok = ~_rejected(cand, sub_first, old_x[todo], old_y[todo], tab, config)  # (M', K)
        hit = ok.any(-1)
        k_first = ok.to(torch.int8).argmax(-1)  # first accepted candidate
        rows, k_sel = todo[hit], k_first[hit]
        pick = _select(_subset(cand, hit), k_sel)
        if chosen is None:
            chosen = _empty_like(pick, m)
        _scatter(chosen, rows, pick)
        accepted[rows] = True
        n_rej[rows] = k_sel + k0
        todo = todo[~hit]
        k0 = k1
    return obj, chosen, accepted, n_rej


def _rest(o: _Objects, rows) -> tuple:
    return o.x[rows], o.y[rows], o.scale[rows], o.centre[rows]


def _subset(o: _Objects, rows: torch.Tensor) -> _Objects:
    return _Objects(o.type[rows], o.prerot[rows], o.rot[rows], *_rest(o, rows))


def _empty_like(o: _Objects, m: int) -> _Objects:
    def z(t):
        return t.new_zeros((m, *t.shape[1:]))

    return _Objects(z(o.type), z(o.prerot), z(o.rot), z(o.x), z(o.y), z(o.scale), z(o.centre))


def _scatter(dst: _Objects, rows: torch.Tensor, src: _Objects) -> None:
    for f in fields(_Objects):
        getattr(dst, f.name)[rows] = getattr(src, f.name)


# --------------------------------------------------------------------------------------------
# Rasterisation: pygame 1.8.1's filled ``draw.polygon``
# --------------------------------------------------------------------------------------------
# The authors call ``pygame.draw.polygon(surface, level, points, 0)`` with float vertices.
# pygame 1.8.1 (github.com/pygame/pygame, commit 91d50ca0c "1.8.1release", 2008-07-28):
# ``src/draw.c`` ``polygon()`` converts each point with ``TwoIntsFromObj`` (``src/base.c``:
# ``IntFromObj`` -> ``PyInt_AsLong``, i.e. ``int(v)``, truncation toward zero), then calls
# ``draw_fillpoly`` and nothing else (width 0 draws no outline).  ``draw_fillpoly`` walks the
# scanlines y = miny .. maxy; on each it collects, for every non-horizontal edge (lower end
# (x1, y1), upper end (x2, y2)) with y1 <= y < y2, or with y == maxy and y1 < y <= y2, the
# intercept ``(y - y1) * (x2 - x1) / (y2 - y1) + x1`` in C ``int`` arithmetic (the division
# truncates toward zero), sorts them, and fills x from ``ints[k]`` to ``ints[k + 1]``, both
# ends included, for k = 0, 2, 4, ... (``drawhorzlineclip`` clips to the surface).
# Horizontal edges are skipped, so a polygon lying on one scanline draws nothing (later pygame
# versions add passes for those cases; 1.8.1 does not).
#
# pygame's scanline y is the second index of the authors' ``surfarray`` [x, y] arrays, i.e. the
# last axis of our images: scanline j fills ``images[n, i0:i1 + 1, j]``.  The painting below
# works in the transposed, scanline-major layout ``[n, j, i]`` (the layout of pygame's surface
# memory) and transposes once when writing the output.
_NO_INTERCEPT = 2**30  #: sorts after every real intercept (intercepts lie between vertices)


def _pixel_vertices(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """pygame 1.8.1's ``TwoIntsFromObj``: ``int(v)``, truncation toward zero.

    ``x``, ``y``: (M, n) float64 pixels.  Returns (M, n) int32.  Vertices and the image size
    are assumed below 2^14 in magnitude, so that every product in ``_intercepts`` stays below
    2^30 (the generator's are below ``size``).
    """
    return torch.trunc(x).to(torch.int32), torch.trunc(y).to(torch.int32)


@dataclass
class _Edges:
    """Non-horizontal edges of M polygons, as ``draw_fillpoly`` orients them: lower end first.

    All fields (M, n) int32; edge k joins vertex k - 1 (cyclically) and vertex k.
    """

    xa: torch.Tensor  #: x of the lower end (smaller y)
    ya: torch.Tensor  #: y of the lower end
    dx: torch.Tensor  #: x2 - x1
    dy: torch.Tensor  #: y2 - y1 >= 1 (1 for horizontal edges, which have rows = 0)
    rows: torch.Tensor  #: scanlines the edge crosses: y2 - y1, +1 if y2 == maxy, 0 if horizontal


def _edges(vx: torch.Tensor, vy: torch.Tensor) -> _Edges:
    """Edges of polygons with integer vertices ``vx``, ``vy`` (M, n) int32.

    ``draw_fillpoly`` takes an edge's intercept on scanlines y1 <= y < y2, and also on y == maxy
    when y1 < maxy == y2 (which closes the polygon's top row).  Both rules together are the
    half-open range ``[y1, y1 + rows)`` with ``rows`` given here.
    """
    px, py = torch.roll(vx, 1, 1), torch.roll(vy, 1, 1)  # ind1 = i - 1, ind2 = i
    up = py < vy
    ya, yb = torch.minimum(py, vy), torch.maximum(py, vy)
    xa = torch.where(up, px, vx)
    dx = torch.where(up, vx, px) - xa
    maxy = vy.amax(1, keepdim=True)
    flat = ya == yb
    rows = torch.where(flat, 0, yb - ya + (yb == maxy).to(torch.int32))
    dy = torch.where(flat, 1, yb - ya)
    return _Edges(xa=xa, ya=ya, dx=dx, dy=dy, rows=rows)


def _intercepts(e: _Edges, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Intercept of every edge with every scanline 0 .. size - 1.

    Returns ``(x, active)``, (M, n, size): x int32 (meaningful where active), active bool
    (the edge contributes an intercept on that scanline).  ``torch.div(..., "trunc")`` on
    integers is C's ``int`` division (toward zero, also for negative numerators), exact on
    every device.
    """
    j = torch.arange(size, dtype=torch.int32, device=e.xa.device)
    t = j - e.ya[..., None]  # scanline relative to the edge's lower end
    active = (t >= 0) & (t < e.rows[..., None])
    x = torch.div(t * e.dx[..., None], e.dy[..., None], rounding_mode="trunc")
    return x.add_(e.xa[..., None]), active


def _general_masks(x: torch.Tensor, active: torch.Tensor, size: int) -> torch.Tensor:
    """``draw_fillpoly``'s general rule: sort each scanline's intercepts, fill pairs.

    ``x``, ``active``: (G, n, size) from ``_intercepts``.  Returns (G, size, size) bool masks in
    scanline-major layout ``[g, j, i]`` (clipped to the image as ``drawhorzlineclip`` does).
    Intercept counts are always even (crossings of a closed polygon), so pairs never mix a real
    intercept with the ``_NO_INTERCEPT`` padding; padding pairs are empty.
    """
    xs = torch.where(active, x, _NO_INTERCEPT).sort(1).values
    half = xs.shape[1] // 2
    a, b = xs[:, 0 : 2 * half : 2, :, None], xs[:, 1 : 2 * half : 2, :, None]  # (G, k, S, 1)
    i = torch.arange(size, dtype=torch.int32, device=x.device)
    return ((a <= i) & (i <= b)).any(1)


@dataclass
class _Fill:
    """Pixels of one object slot for N examples, scanline-major (``[n, j, i]``).

    Scanline j of example n is filled on ``lo[n, j] <= i <= hi[n, j]`` (empty when lo > hi),
    except for the examples ``general`` (G,), whose masks are given whole in ``masks``
    (G, size, size) float32 0/1.
    """

    lo: torch.Tensor  #: (N, size) int16 in [0, size]
    hi: torch.Tensor  #: (N, size) int16 in [-1, size - 1]
    general: torch.Tensor  #: (G,) int64 example rows
    masks: torch.Tensor  #: (G, size, size) float32


def _scanline_fill(x: torch.Tensor, y: torch.Tensor, size: int) -> _Fill:
    """pygame 1.8.1 ``draw.polygon(surface, c, points, 0)`` of M polygons on a size x size surface.

    ``x``, ``y``: (M, n) float64 vertex coordinates (pixels; x is pygame's x, the first image
    axis).  Returns the filled pixels as a ``_Fill`` over the M polygons.

    Fast path: when every scanline of a polygon has exactly two intercepts (or none), the sorted
    pair is (min, max), so one span per scanline.  That holds for every convex polygon even after
    truncation (``int`` is monotone, so the y sequence stays unimodal around the polygon), i.e.
    for all of the generator's objects.  Any other polygon (non-convex, self-intersecting) is
    detected from its edges alone and rasterised by ``_general_masks``: each scanline of
    [miny, maxy] has at least two intercepts, so all have exactly two iff their total,
    ``sum(rows)``, is ``2 * (maxy - miny + 1)``.
    """
    vx, vy = _pixel_vertices(x, y)
    e = _edges(vx, vy)
    xi, active = _intercepts(e, size)
    lo = torch.where(active, xi, size).amin(1).clamp_(0, size)  # no intercept -> empty span
    hi = torch.where(active, xi, -1).amax(1).clamp_(-1, size - 1)
    miny, maxy = vy.amin(1), vy.amax(1)
    general = torch.nonzero((e.rows.sum(1) != 2 * (maxy - miny + 1)) & (maxy > miny)).squeeze(1)
    if general.numel():
        masks = _general_masks(xi[general], active[general], size).to(torch.float32)
    else:  # the generator's objects: skip the sort
        masks = torch.zeros(0, size, size, dtype=torch.float32, device=x.device)
    return _Fill(lo.to(torch.int16), hi.to(torch.int16), general, masks)


def _fill_by_type(x, y, types, present, tab: _Tables, size: int) -> _Fill:
    """``_scanline_fill`` of one object slot of N examples, grouped by vertex count so that
    triangles do not pay for the 20-gon's padding.  ``x``, ``y``: (N, V) float64; ``types``,
    ``present``: (N,).  Absent objects draw nothing."""
    n = x.shape[0]
    lo = torch.full((n, size), size, dtype=torch.int16, device=x.device)
    hi = torch.full((n, size), -1, dtype=torch.int16, device=x.device)
    general, masks = [], []
    for g, nv in enumerate(tab.n_vert.tolist()):
        rows = torch.nonzero(present & (types == g)).squeeze(1)
        if rows.numel():
            f = _scanline_fill(x[rows, :nv], y[rows, :nv], size)
            lo[rows], hi[rows] = f.lo, f.hi
            general.append(rows[f.general])
            masks.append(f.masks)
    if not general:  # no object of this slot in the block
        general = [torch.zeros(0, dtype=torch.int64, device=x.device)]
        masks = [torch.zeros(0, size, size, dtype=torch.float32, device=x.device)]
    return _Fill(lo, hi, torch.cat(general), torch.cat(masks))


@functools.lru_cache(maxsize=16)
def _span_masks(size: int, device: str) -> torch.Tensor:
    """All possible filled scanlines: ``table[a * (size + 1) + b, i] = 1.0 if a <= i < b``;
    ((size + 1)^2, size) float32.  Looking a scanline up is one gather instead of two
    comparisons, an ``and`` and a conversion over every pixel."""
    i = torch.arange(size)
    a = torch.arange(size + 1)[:, None, None]
    b = torch.arange(size + 1)[None, :, None]
    spans = (a <= i) & (i < b)
    return spans.reshape((size + 1) ** 2, size).to(torch.float32).to(device)


def _fill_masks(fill: _Fill, size: int, out: torch.Tensor) -> torch.Tensor:
    """0/1 float32 masks of ``fill`` written into ``out`` (N, size, size), layout ``[n, j, i]``."""
    table = _span_masks(size, str(out.device))
    # Empty scanlines (lo > hi) map to a == b, an empty mask.
    lo = fill.lo.to(torch.int64)
    hi = torch.maximum(fill.hi.to(torch.int64) + 1, lo)
    torch.index_select(table, 0, (lo * (size + 1) + hi).view(-1), out=out.view(-1, size))
    if fill.general.numel():
        out[fill.general] = fill.masks
    return out


def _paint(
    levels: torch.Tensor,
    fills: list[_Fill],
    size: int,
    pixel_range: str,
    out: torch.Tensor,
    work: tuple[torch.Tensor, torch.Tensor],
) -> None:
    """Composite the objects over the background and write pixel values into ``out``.

    ``levels``: (N, 1 + slots) float32 integer grey levels, background first; ``fills``: one
    ``_Fill`` per slot; ``out``: (N, size, size) float32, ``out[n, i, j]`` the pixel at x = i,
    y = j; ``work``: two float32 scratch buffers of at least N * size * size elements, reused
    across blocks (fresh large temporaries cost a page fault per 4 KiB on CPU, a third of the
    run time when measured).  Later slots are painted on top.  Painting is done scanline-major
    (``[n, j, i]``) and transposed once into ``out``.

    Why arithmetic instead of ``torch.where``: on CPU ``where`` is several times slower than
    multiply/add.  With 0/1 masks and integer-valued float32 levels every step below is exact
    (``img - img * m + m * l`` is ``img`` or ``l``), so the result is exactly ``level / 255``.
    """
    n = levels.shape[0]
    img = work[0][: n * size * size].view(n, size, size)
    mask = work[1][: n * size * size].view(n, size, size)
    img.copy_(levels[:, 0, None, None].expand(n, size, size))
    for s, fill in enumerate(fills):
        _fill_masks(fill, size, mask)
        img.addcmul_(img, mask, value=-1.0).addcmul_(mask, levels[:, s + 1, None, None])
    if pixel_range == "minus_one_one":
        img.mul_(2.0).sub_(255.0)  # 2 * level - 255: exact in float32
    torch.div(img.transpose(1, 2), 255.0, out=out)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
@dataclass
class Scenes:
    """What was drawn, per example and object slot (slot 1 is on top).

    All tensors have leading dimension ``count``; V = ``config.max_vertices`` (20 by default).
    """

    present: torch.Tensor  #: (count, 2) bool
    types: torch.Tensor  #: (count, 2) int64, 0 T, 1 P, 2 E, -1 absent
    vertices: torch.Tensor  #: (count, 2, V, 2) float64 pixels; padded by repeating vertex 0
    n_vertices: torch.Tensor  #: (count, 2) int64, 0 for absent objects
    centres: torch.Tensor  #: (count, 2, 2) float64 translation t (pixels), 0 if absent
    scales: torch.Tensor  #: (count, 2, 2) float64 (s0, s1) in pixels, s0 >= s1, 0 if absent
    prerotation: torch.Tensor  #: (count, 2) int64 pre-rotation index r1 (-1 absent)
    rotation: torch.Tensor  #: (count, 2) int64 final rotation index r3 (-1 absent)
    levels: torch.Tensor  #: (count, 2) int64 grey levels 0..255, -1 absent
    background: torch.Tensor  #: (count,) int64 grey level 0..255
    inverted: torch.Tensor  #: (count,) bool: objects drawn from the bg range
    n_requested: torch.Tensor  #: (count,) int64 objects requested (1 or 2)
    n_rejections: torch.Tensor  #: (count,) int64 rejected candidates of object 2


@dataclass
class ShapesetBatch:
    """Images ``(count, H, W)`` float32 in the configured range, labels ``(count,)`` int64 in
    0..8, and the scenes when requested."""

    images: torch.Tensor
    labels: torch.Tensor
    scenes: Scenes | None = None


def generate(
    stream: int,
    start: int,
    count: int,
    config: ShapesetConfig = ShapesetConfig(),  # noqa: B008 (frozen, immutable)
    device: str | torch.device = "cpu",
    return_scenes: bool = False,
) -> ShapesetBatch:
    """Examples ``start .. start + count - 1`` of stream ``stream``.

    Example i of a stream is the same whatever ``start``/``count`` slice it is generated in.
    ``stream`` in [0, 2^64), ``start >= 0``.  Work is done in blocks of ``_BLOCK`` examples
    (memory bound only; results do not depend on it).
    """
    if not isinstance(config, ShapesetConfig):
        raise TypeError(f"config must be a ShapesetConfig, got {type(config).__name__}")
    for name, v, hi in (
        ("stream", stream, 2**64),
        ("start", start, 2**62),
        ("count", count, 2**40),
    ):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < hi:
            raise ValueError(f"{name} must be an int in [0, {hi}), got {v!r}")
    device = torch.device(device)
    size = config.image_size
    images = torch.empty(count, size, size, dtype=torch.float32, device=device)
    labels = torch.empty(count, dtype=torch.int64, device=device)
    pixels = min(count, _BLOCK) * size * size
    work = tuple(torch.empty(pixels, dtype=torch.float32, device=device) for _ in range(2))
    parts = []
    for b in range(0, count, _BLOCK):
        e = min(b + _BLOCK, count)
        parts.append(
            _generate_block(
                stream, start + b, images[b:e], labels[b:e], config, return_scenes, work
            )
        )
    scenes = None
    if return_scenes:
        if not parts:  # count == 0: empty scenes of the right shapes
            parts = [_generate_block(stream, start, images, labels, config, True, work)]
        scenes = Scenes(
            **{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(Scenes)}
        )
    return ShapesetBatch(images=images, labels=labels, scenes=scenes)


def _generate_block(
    stream: int,
    start: int,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: ShapesetConfig,
    return_scenes: bool,
    work: tuple[torch.Tensor, torch.Tensor],
) -> Scenes | None:
    """Examples ``start .. start + count - 1``, written into ``images`` (count, H, W) float32
    and ``labels`` (count,) int64; returns their scenes when ``return_scenes``.  ``work``:
    scratch buffers for ``_paint``."""
    count, device = labels.shape[0], labels.device
    tab = _tables(config, str(device))
    size = config.image_size
    index = torch.arange(start, start + count, dtype=torch.int64, device=device)
    bits = _Bits.for_examples(stream, index)

    n_req = config.min_objects + bits.randint(_D_NOBJ, config.max_objects - config.min_objects + 1)
    # The authors invert (objects from the bg range) when not rand() > inv_chance.
    inverted = bits.uniform(_D_INVERT) <= config.inv_chance
    bg_lo = torch.where(inverted, tab.fg_lo, tab.bg_lo)
    bg_hi = torch.where(inverted, tab.fg_hi, tab.bg_hi)
    obj_lo = torch.where(inverted, tab.bg_lo, tab.fg_lo)
    obj_hi = torch.where(inverted, tab.bg_hi, tab.fg_hi)
    background = bg_lo + bits.randint(_D_BG, bg_hi - bg_lo + 1)

    k0 = torch.zeros(1, dtype=torch.int64, device=device)
    first = _draw_candidates(bits, 0, k0, _draw_object(bits, 0, tab), tab, config)

    two = torch.nonzero(n_req == 2).squeeze(1)
    second_obj, second, accepted, n_rej = _second_object(
        bits.subset(two), _subset(first, two), tab, config
    )
    present1 = torch.zeros(count, dtype=torch.bool, device=device)
    present1[two[accepted]] = True
    n_rejections = torch.zeros(count, dtype=torch.int64, device=device)
    n_rejections[two] = n_rej

    # Per-slot (count, ...) tensors; slot 1 rows filled where it was drawn.
    types = torch.stack([first.type, torch.full_like(first.type, -1)], 1)
    prerot = torch.stack([first.prerot, torch.full_like(first.type, -1)], 1)
    rot = torch.stack([first.rot, torch.full_like(first.type, -1)], 1)
    vx = torch.zeros(count, 2, config.max_vertices, dtype=torch.float64, device=device)
    vy = torch.zeros_like(vx)
    centres = torch.zeros(count, 2, 2, dtype=torch.float64, device=device)
    scales = torch.zeros_like(centres)
    vx[:, 0] = first.x[:, 0] + first.centre[:, 0, 0:1]
    vy[:, 0] = first.y[:, 0] + first.centre[:, 0, 1:2]
    centres[:, 0], scales[:, 0] = first.centre[:, 0], first.scale[:, 0]
    if second is not None:
        rows, acc = two[accepted], accepted
        types[rows, 1] = second_obj.type[acc]
        prerot[rows, 1] = second_obj.prerot[acc]
        rot[rows, 1] = second_obj.rot[acc]
        vx[rows, 1] = second.x[acc, 0] + second.centre[acc, 0, 0:1]
        vy[rows, 1] = second.y[acc, 0] + second.centre[acc, 0, 1:2]
        centres[rows, 1], scales[rows, 1] = second.centre[acc, 0], second.scale[acc, 0]
    present = torch.stack([torch.ones_like(present1), present1], 1)

    levels = torch.stack(
        [obj_lo + bits.randint(_D_LEVEL[s], obj_hi - obj_lo + 1) for s in (0, 1)], 1
    )
    levels = torch.where(present, levels, -1)

    fills = [
        _fill_by_type(vx[:, s], vy[:, s], types[:, s], present[:, s], tab, size) for s in (0, 1)
    ]
    grey = torch.cat([background[:, None], levels.clamp(min=0)], 1).to(torch.float32)
    _paint(grey, fills, size, config.pixel_range, images, work)

    single = types[:, 0]
    pair = tab.pair_class[types[:, 0], types[:, 1].clamp(min=0)]
    torch.where(present1, pair, single, out=labels)

    if return_scenes:
        nv = torch.where(present, tab.n_vert[types.clamp(min=0)], 0)
        absent = ~present
        vx[absent], vy[absent] = 0.0, 0.0
        return Scenes(
            present=present,
            types=types,
            vertices=torch.stack([vx, vy], -1),
            n_vertices=nv,
            centres=centres,
            scales=scales,
            prerotation=prerot,
            rotation=rot,
            levels=levels,
            background=background,
            inverted=inverted,
            n_requested=n_req,
            n_rejections=n_rejections,
        )
    return None


def make_split(
    seed: int,
    split: str,
    size: int,
    config: ShapesetConfig = ShapesetConfig(),  # noqa: B008 (frozen, immutable)
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed finite set: examples ``0 .. size-1`` of ``stream_key(seed, split)``.

    Returns ``(x, y)``: x (size, H*W) float32 in the configured pixel range, y (size,) int64.
    """
    batch = generate(stream_key(seed, split), 0, size, config, device)
    return batch.images.reshape(size, -1), batch.labels


class ShapesetStream:
    """Infinite training stream of ``stream_key(seed, "train")``.

    ``next_batch()`` returns ``(x, y)``: x (batch_size, H*W) float32, y (batch_size,) int64.
    Examples are generated ``chunk`` at a time and sliced into batches.  ``position`` is the
    index of the next example to be returned, so ``ShapesetStream(seed, B, start=position)``
    resumes exactly where a run stopped (whatever ``chunk`` either run used).
    """

    def __init__(
        self,
        seed: int,
        batch_size: int,
        config: ShapesetConfig = ShapesetConfig(),  # noqa: B008 (frozen, immutable)
        device: str | torch.device = "cpu",
        chunk: int = 10_000,
        start: int = 0,
        split: str = "train",
    ):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"chunk must be an int >= 1, got {chunk!r}")
        if not isinstance(start, int) or start < 0:
            raise ValueError(f"start must be an int >= 0, got {start!r}")
        self.seed = seed
        self.stream = stream_key(seed, split)
        self.batch_size = batch_size
        self.config = config
        self.device = torch.device(device)
        self.chunk = chunk
        self.position = start
        self._x = torch.empty(0, config.image_size**2, dtype=torch.float32, device=self.device)
        self._y = torch.empty(0, dtype=torch.int64, device=self.device)
        self._buffer_start = start  # index of self._x[0]

    def _refill(self, needed: int) -> None:
        """Make the buffer hold at least ``needed`` examples from ``position`` on."""
        offset = self.position - self._buffer_start
        x, y = self._x[offset:], self._y[offset:]
        self._buffer_start = self.position
        end = self.position + x.shape[0]
        parts_x, parts_y = [x], [y]
        while end - self.position < needed:
            b = generate(self.stream, end, self.chunk, self.config, self.device)
            parts_x.append(b.images.reshape(self.chunk, -1))
            parts_y.append(b.labels)
            end += self.chunk
        self._x, self._y = torch.cat(parts_x), torch.cat(parts_y)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        offset = self.position - self._buffer_start
        if self._x.shape[0] - offset < self.batch_size:
            self._refill(self.batch_size)
            offset = 0
        sl = slice(offset, offset + self.batch_size)
        self.position += self.batch_size
        return self._x[sl], self._y[sl]

    def __iter__(self):
        while True:
            yield self.next_batch()


# --------------------------------------------------------------------------------------------
# Pixel statistics: fidelity of the drawn images to the authors'
# --------------------------------------------------------------------------------------------
#: Names of ``pixel_statistics``: the foreground fraction (fraction of pixels unequal to the
#: image's background level) over all, 1-object and 2-object images, then the mean drawn area
#: (foreground pixels) of the lone object of 1-object images, by type.
PIXEL_STATISTICS = (
    "foreground",
    "foreground_1obj",
    "foreground_2obj",
    "area_triangle",
    "area_parallelogram",
    "area_ellipse",
)

#: The authors' images, 10,000 of them, as measured when the pygame emulation was requested:
#: the authors' generator code run with pygame 2.6.1 (standard error of ``foreground`` 0.001;
#: an emulation of pygame 1.8.1's fill gave 0.187 where pygame 2.6.1 gave 0.189 on the same
#: 1,500 scenes).  Means only.
AUTHORS_PIXEL_STATISTICS_10K = {
    "foreground": 0.191,
    "foreground_1obj": 0.148,
    "foreground_2obj": 0.236,
    "area_triangle": 95.8,
    "area_parallelogram": 144.5,
    "area_ellipse": 212.3,
}

#: The authors' images re-measured for this module, (mean, standard error): 300,000 images from
#: ``glorotxa/Shapeset`` ``polygongen.py`` (commit a0cd8be; ported to Python 3 by ``xrange`` ->
#: ``range``, ``/`` -> ``//`` in its three Python 2 integer divisions, the "Too many rejections"
#: print dropped) with the Shapeset-3x2 ``genparams``, numpy ``RandomState`` seeds 0-9 x 30,000
#: images, drawn by their ``buildimage`` loop (8-bit surface, ``surface.fill``,
#: ``pygame.draw.polygon(surface, level, points, 0)``) with the real pygame 2.6.1 (SDL 2.28.4).
#: pygame 2.6.1 rather than 1.8.1 because only 2.6.1 installs today; on the same scenes a port of
#: 2.6.1's ``draw_fillpoly`` equals real pygame 2.6.1 pixel for pixel (10,000 images), and ports
#: of 1.8.1's and 2.6.1's fills differ by less than 0.0002 in ``foreground`` and 0.3 px in every
#: area, so these are also 1.8.1's figures to within their standard errors.  (The authors'
#: code is not part of this repository: it was run once, beside it.)
AUTHORS_PIXEL_STATISTICS_300K = {
    "foreground": (0.19263, 0.00018),
    "foreground_1obj": (0.14973, 0.00023),
    "foreground_2obj": (0.23556, 0.00022),
    "area_triangle": (98.30, 0.20),
    "area_parallelogram": (144.02, 0.30),
    "area_ellipse": (217.82, 0.46),
}


def pixel_statistics(
    batch: ShapesetBatch, pixel_range: str = "zero_one"
) -> dict[str, tuple[float, float]]:
    """The ``PIXEL_STATISTICS`` of a batch generated with ``return_scenes=True``.

    ``pixel_range``: the range the batch was generated in.  Returns name -> (mean, standard
    error of the mean), foreground as a fraction of the image, areas in pixels; NaN where no
    image qualifies.
    """
    if batch.scenes is None:
        raise ValueError("pixel_statistics needs a batch generated with return_scenes=True")
    if pixel_range not in PIXEL_RANGES:
        raise ValueError(f"pixel_range must be one of {PIXEL_RANGES}, got {pixel_range!r}")
    sc = batch.scenes
    img = batch.images if pixel_range == "zero_one" else (batch.images + 1.0) / 2.0
    levels = torch.round(img.double() * 255.0).long()  # exact: levels are 1/255 apart
    drawn = (levels != sc.background[:, None, None]).flatten(1).sum(1).double()  # (count,)
    n_obj = sc.present.sum(1)
    groups = {
        "foreground": (drawn / levels[0].numel(), n_obj > 0),
        "foreground_1obj": (drawn / levels[0].numel(), n_obj == 1),
        "foreground_2obj": (drawn / levels[0].numel(), n_obj == 2),
    }
    for t, name in enumerate(TYPE_NAMES):
        groups[f"area_{name}"] = (drawn, (n_obj == 1) & (sc.types[:, 0] == t))
    out = {}
    for name in PIXEL_STATISTICS:
        values, rows = groups[name]
        v = values[rows]
        se = v.std() / math.sqrt(v.numel()) if v.numel() > 1 else torch.tensor(math.nan)
        out[name] = (float(v.mean()) if v.numel() else math.nan, float(se))
    return out
