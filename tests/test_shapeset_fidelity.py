"""Fidelity of Shapeset-3x2 pixels to the authors' pygame 1.8.1 drawing.

The reference is a direct, line-by-line Python port of pygame 1.8.1's filled polygon
(github.com/pygame/pygame, commit 91d50ca0c "1.8.1release", 2008-07-28: ``src/draw.c``
``polygon``, ``draw_fillpoly``, ``drawhorzlineclip``; ``src/base.c`` ``TwoIntsFromObj``,
``IntFromObj``).  It is slow and obviously faithful; the generator's vectorized fill must equal it
pixel for pixel.  The statistics test compares the images with the authors' own, as measured in
``shapeset.AUTHORS_PIXEL_STATISTICS_10K`` / ``_300K``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainability.data.shapeset import (
    AUTHORS_PIXEL_STATISTICS_10K,
    AUTHORS_PIXEL_STATISTICS_300K,
    PIXEL_STATISTICS,
    fill,
    generate,
    pixel_statistics,
    stream_key,
)

SIZE = 32


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Single-threaded, as in test_shapeset.py (2 shared cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------- the reference
def _c_int_div(a: int, b: int) -> int:
    """C ``int`` division: truncates toward zero (Python's ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _drawhorzlineclip(surf: np.ndarray, color: int, x1: int, y1: int, x2: int) -> None:
    """``drawhorzlineclip`` with the clip rectangle = the whole surface ``surf[x, y]``."""
    w, h = surf.shape
    if y1 < 0 or y1 >= h:
        return
    if x2 < x1:
        x1, x2 = x2, x1
    x1 = max(x1, 0)
    x2 = min(x2, w - 1)
    if x2 < 0 or x1 >= w:
        return
    surf[x1 : x2 + 1, y1] = color  # drawhorzline / set_at: both ends included


def _draw_fillpoly(surf: np.ndarray, vx: list[int], vy: list[int], color: int) -> None:
    """``draw_fillpoly`` of pygame 1.8.1, statement by statement."""
    n = len(vx)
    miny = min(vy)
    maxy = max(vy)
    for y in range(miny, maxy + 1):
        polyints = []
        for i in range(n):
            if not i:
                ind1, ind2 = n - 1, 0
            else:
                ind1, ind2 = i - 1, i
            y1, y2 = vy[ind1], vy[ind2]
            if y1 < y2:
                x1, x2 = vx[ind1], vx[ind2]
            elif y1 > y2:
                y2, y1 = vy[ind1], vy[ind2]
                x2, x1 = vx[ind1], vx[ind2]
            else:
                continue
            if y1 <= y < y2:
                polyints.append(_c_int_div((y - y1) * (x2 - x1), y2 - y1) + x1)
            elif y == maxy and y1 < y <= y2:
                polyints.append(_c_int_div((y - y1) * (x2 - x1), y2 - y1) + x1)
        polyints.sort()
        for i in range(0, len(polyints), 2):
            _drawhorzlineclip(surf, color, polyints[i], y, polyints[i + 1])


def draw_polygon_181(surf: np.ndarray, color: int, points) -> None:
    """``pygame.draw.polygon(surf, color, points, 0)`` of pygame 1.8.1 on ``surf[x, y]``.

    ``TwoIntsFromObj`` -> ``IntFromObj`` -> ``PyInt_AsLong(float)``: ``int(v)``, truncation
    toward zero.  Width 0 draws the fill only (no outline).
    """
    vx = [int(float(p[0])) for p in points]
    vy = [int(float(p[1])) for p in points]
    _draw_fillpoly(surf, vx, vy, color)


def _render_scene(sc, k: int) -> np.ndarray:
    """The authors' ``buildimage`` of example ``k``: fill with the background, then the objects
    in order, each with its own level.  (SIZE, SIZE) int64 levels, indexed [x, y]."""
    surf = np.full((SIZE, SIZE), int(sc.background[k]), dtype=np.int64)
    for s in range(2):
        if sc.present[k, s]:
            pts = sc.vertices[k, s, : int(sc.n_vertices[k, s])].tolist()
            draw_polygon_181(surf, int(sc.levels[k, s]), pts)
    return surf


# ---------------------------------------------------------------------------- the reference itself
def test_reference_port_basics():
    """Hand-checked cases of the port: inclusive spans, the maxy row, truncation toward zero."""
    surf = np.zeros((8, 8), dtype=np.int64)
    draw_polygon_181(surf, 1, [(1.9, 1.9), (5.99, 1.0), (5.5, 4.2)])
    # Vertices truncate to (1, 1), (5, 1), (5, 4); scanline 1 spans x 1..5, scanline 4 (maxy) is
    # the single intercept pair (5, 5).
    assert surf[:, 1].tolist() == [0, 1, 1, 1, 1, 1, 0, 0]
    assert surf[:, 4].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    # Scanline y spans x = 1 + (y - 1) * 4 / 3 (C int division) .. 5: widths 5, 4, 3, 1.
    assert [int(surf[:, y].sum()) for y in range(8)] == [0, 5, 4, 3, 1, 0, 0, 0]
    assert _c_int_div(-7, 2) == -3 and _c_int_div(7, -2) == -3 and _c_int_div(-8, 2) == -4
    flat = np.zeros((8, 8), dtype=np.int64)
    draw_polygon_181(flat, 1, [(1, 3), (6, 3.7), (3, 3.2)])  # one scanline: 1.8.1 draws nothing
    assert flat.sum() == 0
    # int(-0.5) == 0 (floor would give -1 and a two-scanline polygon drawing its maxy row 0).
    neg = np.zeros((8, 8), dtype=np.int64)
    draw_polygon_181(neg, 1, [(0.0, -0.5), (4.0, -0.5), (4.0, 0.5)])
    assert neg.sum() == 0


# ---------------------------------------------------------------------------- fast == reference
def _fast_masks(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The generator's fill of polygons (M, n) float64 -> (M, SIZE, SIZE) bool, [m, x, y]."""
    spans = fill.scanline_fill(torch.from_numpy(x), torch.from_numpy(y), SIZE)
    out = torch.empty(x.shape[0], SIZE, SIZE)
    fill.fill_masks(spans, SIZE, out)  # scanline-major [m, y, x]
    return out.transpose(1, 2).numpy() == 1.0, spans


def _reference_masks(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros((x.shape[0], SIZE, SIZE), dtype=np.int64)
    for m in range(x.shape[0]):
        draw_polygon_181(out[m], 1, list(zip(x[m].tolist(), y[m].tolist(), strict=True)))
    return out == 1


def _random_polygons(rng: np.random.Generator, count: int, n: int) -> tuple[np.ndarray, ...]:
    """Awkward polygons: non-convex and self-intersecting (random vertices), partly outside the
    image (clipping, negative truncation), on integer coordinates (exact intercepts), with
    repeated vertices and collinear or single-scanline vertex sets."""
    x = rng.uniform(-6.0, SIZE + 6.0, (count, n))
    y = rng.uniform(-6.0, SIZE + 6.0, (count, n))
    k = count // 6
    x[:k], y[:k] = np.floor(x[:k]), np.floor(y[:k])  # integer vertices
    y[k : 2 * k] = y[k : 2 * k, :1] + rng.uniform(0, 0.9, (k, n))  # often one scanline
    x[2 * k : 3 * k] = x[2 * k : 3 * k, :1]  # vertical: all on one column
    dup = rng.random((count, n)) < 0.3  # repeat the previous vertex
    dup[:, 0] = False
    for j in range(1, n):
        x[:, j] = np.where(dup[:, j], x[:, j - 1], x[:, j])
        y[:, j] = np.where(dup[:, j], y[:, j - 1], y[:, j])
    small = slice(3 * k, 4 * k)  # tiny polygons around one point
    x[small] = x[small, :1] + rng.uniform(-1.5, 1.5, (k, n))
    y[small] = y[small, :1] + rng.uniform(-1.5, 1.5, (k, n))
    return x, y


@pytest.mark.parametrize("n", [3, 4, 5, 8, 20])
def test_fast_fill_equals_pygame_181_on_random_polygons(n):
    rng = np.random.default_rng(n)
    x, y = _random_polygons(rng, 600, n)
    fast, spans = _fast_masks(x, y)
    ref = _reference_masks(x, y)
    bad = np.nonzero((fast != ref).any((1, 2)))[0]
    assert bad.size == 0, (bad[:5], x[bad[:1]], y[bad[:1]])
    assert ref.any((1, 2)).mean() > 0.5  # most draw something
    if n > 3:  # both paths are exercised (a triangle never needs the general one)
        assert 0 < spans.general.numel() < 600


def test_fast_fill_equals_pygame_181_on_scene_vertices():
    """Every object slot of 3,000 generated scenes, with the scenes' padding (vertex 0 repeated
    up to 20 vertices) and absent slots (all vertices 0), drawn alone."""
    sc = generate(stream_key(5, "valid"), 0, 3000, return_scenes=True).scenes
    v = sc.vertices.reshape(-1, sc.vertices.shape[2], 2).numpy()  # (6000, 20, 2)
    x, y = v[..., 0].copy(), v[..., 1].copy()
    fast, spans = _fast_masks(x, y)
    assert np.array_equal(fast, _reference_masks(x, y))
    assert spans.general.numel() == 0  # convex objects take the fast path
    assert not fast[~sc.present.reshape(-1).numpy()].any()  # absent: nothing drawn


def test_images_equal_pygame_181_rendering_of_their_scenes():
    """The whole generator, pixel for pixel: 2,000 images against the authors' ``buildimage``
    loop with the reference ``draw.polygon``, indexed [x, y] like pygame's surfarray."""
    b = generate(stream_key(2, "test"), 0, 2000, return_scenes=True)
    levels = torch.round(b.images * 255).long().numpy()
    for k in range(len(levels)):
        assert np.array_equal(levels[k], _render_scene(b.scenes, k)), k


# ---------------------------------------------------------------------------- statistics
FOREGROUND_TOLERANCE = 0.005  #: absolute, on foreground fractions
AREA_TOLERANCE = 0.03  #: relative, on mean areas


def _tolerance(name: str, reference: float) -> float:
    return FOREGROUND_TOLERANCE if name.startswith("foreground") else AREA_TOLERANCE * reference


def test_statistics_match_the_authors():
    """Foreground fractions and lone-object areas of 10,000 images (seed 0 train stream).

    Targets: within 0.005 (fractions) or 3% (areas) of the authors' figures.  Against the
    300,000-image re-measurement every statistic must also lie within 3 standard errors.
    Against the 10,000-image figures every target holds except the ellipse area: ours is 220.3
    (+3.8% over 212.3), while the authors' own generator drawn by the real pygame 2.6.1 averages
    217.8 +- 0.5 over 300,000 images and exceeds 212.3 * 1.03 on 3 of 10 seeds of 30,000
    images; 212.3 is a low sample (about 2 standard errors of a 10,000-image sample).  For that
    one statistic the 10,000-image figure is held to 3 standard errors of the difference of two
    10,000-image means instead (ours +- se, the authors' with the same spread).
    """
    stats = pixel_statistics(generate(stream_key(0, "train"), 0, 10_000, return_scenes=True))
    for name in PIXEL_STATISTICS:
        ours, se = stats[name]
        ref, ref_se = AUTHORS_PIXEL_STATISTICS_300K[name]
        assert abs(ours - ref) <= _tolerance(name, ref), (name, ours, ref)
        assert abs(ours - ref) <= 3 * math.hypot(se, ref_se), (name, ours, ref, se)
        small = AUTHORS_PIXEL_STATISTICS_10K[name]
        if name == "area_ellipse":
            assert abs(ours - small) <= 3 * math.hypot(se, se), (name, ours, small, se)
        else:
            assert abs(ours - small) <= _tolerance(name, small), (name, ours, small)
