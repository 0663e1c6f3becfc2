"""Rasterisation: pygame 1.8.1's filled ``draw.polygon``, vectorized."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from trainability.data.shapeset.scenes import Tables

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


def scanline_fill(x: torch.Tensor, y: torch.Tensor, size: int) -> _Fill:
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


def fill_by_type(x, y, types, present, tab: Tables, size: int) -> _Fill:
    """``scanline_fill`` of one object slot of N examples, grouped by vertex count so that
    triangles do not pay for the 20-gon's padding.  ``x``, ``y``: (N, V) float64; ``types``,
    ``present``: (N,).  Absent objects draw nothing."""
    n = x.shape[0]
    lo = torch.full((n, size), size, dtype=torch.int16, device=x.device)
    hi = torch.full((n, size), -1, dtype=torch.int16, device=x.device)
    general, masks = [], []
    for g, nv in enumerate(tab.n_vert.tolist()):
        rows = torch.nonzero(present & (types == g)).squeeze(1)
        if rows.numel():
            f = scanline_fill(x[rows, :nv], y[rows, :nv], size)
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


def fill_masks(fill: _Fill, size: int, out: torch.Tensor) -> torch.Tensor:
    """0/1 float32 masks of ``fill`` written into ``out`` (N, size, size), layout ``[n, j, i]``."""
    table = _span_masks(size, str(out.device))
    # Empty scanlines (lo > hi) map to a == b, an empty mask.
    lo = fill.lo.to(torch.int64)
    hi = torch.maximum(fill.hi.to(torch.int64) + 1, lo)
    torch.index_select(table, 0, (lo * (size + 1) + hi).view(-1), out=out.view(-1, size))
    if fill.general.numel():
        out[fill.general] = fill.masks
    return out


def paint(
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
        fill_masks(fill, size, mask)
        img.addcmul_(img, mask, value=-1.0).addcmul_(mask, levels[:, s + 1, None, None])
    if pixel_range == "minus_one_one":
        img.mul_(2.0).sub_(255.0)  # 2 * level - 255: exact in float32
    torch.div(img.transpose(1, 2), 255.0, out=out)
