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
  1.8.1 is emulated exactly (``scanline_fill``), as read in its source: github.com/pygame/pygame
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

from trainability.data.shapeset.config import (
    CLASS_NAMES,
    N_CLASSES,
    PIXEL_RANGES,
    SPLIT_STREAMS,
    TYPE_NAMES,
    ShapesetConfig,
    stream_key,
)
from trainability.data.shapeset.fidelity import (
    AUTHORS_PIXEL_STATISTICS_10K,
    AUTHORS_PIXEL_STATISTICS_300K,
    PIXEL_STATISTICS,
    pixel_statistics,
)
from trainability.data.shapeset.generator import (
    Scenes,
    ShapesetBatch,
    ShapesetStream,
    generate,
    make_split,
)

__all__ = [
    "AUTHORS_PIXEL_STATISTICS_10K",
    "AUTHORS_PIXEL_STATISTICS_300K",
    "CLASS_NAMES",
    "N_CLASSES",
    "PIXEL_RANGES",
    "PIXEL_STATISTICS",
    "SPLIT_STREAMS",
    "TYPE_NAMES",
    "Scenes",
    "ShapesetBatch",
    "ShapesetConfig",
    "ShapesetStream",
    "generate",
    "make_split",
    "pixel_statistics",
    "stream_key",
]
