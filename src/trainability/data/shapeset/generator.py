"""The public generator: images and labels of any slice of a stream, finite splits, and the
infinite training stream."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from trainability.data.shapeset.config import BLOCK, ShapesetConfig, stream_key
from trainability.data.shapeset.fill import fill_by_type, paint
from trainability.data.shapeset.randomness import D_BG, D_INVERT, D_LEVEL, D_NOBJ, Bits
from trainability.data.shapeset.scenes import (
    draw_candidates,
    draw_object,
    second_object,
    subset,
    tables,
)


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
    ``stream`` in [0, 2^64), ``start >= 0``.  Work is done in blocks of ``BLOCK`` examples
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
    pixels = min(count, BLOCK) * size * size
    work = tuple(torch.empty(pixels, dtype=torch.float32, device=device) for _ in range(2))
    parts = []
    for b in range(0, count, BLOCK):
        e = min(b + BLOCK, count)
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
    scratch buffers for ``paint``."""
    count, device = labels.shape[0], labels.device
    tab = tables(config, str(device))
    size = config.image_size
    index = torch.arange(start, start + count, dtype=torch.int64, device=device)
    bits = Bits.for_examples(stream, index)

    n_req = config.min_objects + bits.randint(D_NOBJ, config.max_objects - config.min_objects + 1)
    # The authors invert (objects from the bg range) when not rand() > inv_chance.
    inverted = bits.uniform(D_INVERT) <= config.inv_chance
    bg_lo = torch.where(inverted, tab.fg_lo, tab.bg_lo)
    bg_hi = torch.where(inverted, tab.fg_hi, tab.bg_hi)
    obj_lo = torch.where(inverted, tab.bg_lo, tab.fg_lo)
    obj_hi = torch.where(inverted, tab.bg_hi, tab.fg_hi)
    background = bg_lo + bits.randint(D_BG, bg_hi - bg_lo + 1)

    k0 = torch.zeros(1, dtype=torch.int64, device=device)
    first = draw_candidates(bits, 0, k0, draw_object(bits, 0, tab), tab, config)

    two = torch.nonzero(n_req == 2).squeeze(1)
    second_obj, second, accepted, n_rej = second_object(
        bits.subset(two), subset(first, two), tab, config
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
        [obj_lo + bits.randint(D_LEVEL[s], obj_hi - obj_lo + 1) for s in (0, 1)], 1
    )
    levels = torch.where(present, levels, -1)

    fills = [
        fill_by_type(vx[:, s], vy[:, s], types[:, s], present[:, s], tab, size) for s in (0, 1)
    ]
    grey = torch.cat([background[:, None], levels.clamp(min=0)], 1).to(torch.float32)
    paint(grey, fills, size, config.pixel_range, images, work)

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
