"""Shapeset-3x2's parameters (the authors' ``genparams``), class names and stream keys."""

from __future__ import annotations

from dataclasses import dataclass

N_CLASSES = 9
CLASS_NAMES = ("T", "P", "E", "T+P", "P+E", "T+E", "2T", "2P", "2E")
TYPE_NAMES = ("triangle", "parallelogram", "ellipse")
SPLIT_STREAMS = {"train": 0, "valid": 1, "test": 2}
PIXEL_RANGES = ("zero_one", "minus_one_one")

#: Distance (pixels) every vertex keeps from the image border (hard-coded ``+1``/``-1`` in
#: ``polygongen._corners``).
MARGIN_PX = 1.0

#: Class of a two-object image, indexed by the two object types (symmetric).
PAIR_CLASS = ((6, 3, 5), (3, 7, 4), (5, 4, 8))

#: Examples processed per internal block.  Bounds peak memory; results do not depend on it.
BLOCK = 4096

#: Candidate blocks for the second object's rejection sampling: most examples accept their
#: first candidate, so later candidates are only evaluated for the examples still rejected.
CANDIDATE_STAGES = (1, 4, 16)


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
