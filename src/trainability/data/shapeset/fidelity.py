"""Pixel statistics of generated images against the authors' own: the generator's fidelity."""

from __future__ import annotations

import math

import torch

from trainability.data.shapeset.config import PIXEL_RANGES, TYPE_NAMES
from trainability.data.shapeset.generator import ShapesetBatch

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
