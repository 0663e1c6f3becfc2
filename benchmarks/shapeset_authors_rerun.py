"""Re-measure the authors' Shapeset-3x2 images: ``shapeset.AUTHORS_PIXEL_STATISTICS_300K``.

Runs the authors' own scene generator (``polygongen.py`` of ``glorotxa/Shapeset``, commit
a0cd8be) and their ``buildimage`` drawing loop with the real pygame, and prints the
``shapeset.PIXEL_STATISTICS`` (mean +- standard error) over all images.

Needs a checkout of glorotxa/Shapeset and pygame (2.6.1 was used; not a project dependency, so
install it in a separate environment with numpy): ``python benchmarks/shapeset_authors_rerun.py
--shapeset-dir PATH [--seeds 0 1 ... 9] [--count 30000]``.  Defaults reproduce the constant.

``polygongen.py`` is Python 2; it is loaded with exactly these textual changes: ``xrange`` ->
``range``, ``/`` -> ``//`` in its three integer divisions of ``rotation_resolution`` (Python 2
``int / int``), and its "Too many rejections" ``print`` statement replaced by ``pass``.
"""

from __future__ import annotations

import argparse
import math
import os
import types
from pathlib import Path

import numpy as np

#: Shapeset-3x2 ``genparams`` of the authors' ``simpleexemple.py``.
GENPARAMS = {
    "inv_chance": 0.5,
    "img_shape": (32, 32),
    "n_vert_list": [3, 4, 20],
    "fg_min": 0.55,
    "fg_max": 1.0,
    "bg_min": 0.0,
    "bg_max": 0.45,
    "rot_min": 0.0,
    "rot_max": 1,
    "pos_min": 0,
    "pos_max": 1,
    "scale_min": 0.2,
    "scale_max": 0.8,
    "rotation_resolution": 255,
    "nb_poly_max": 2,
    "nb_poly_min": 1,
    "overlap_max": 0.5,
    "poly_type": 2,
    "rejectionmax": 50,
    "overlap_bool": True,
}

#: (Python 2 text, Python 3 text) applied to polygongen.py; each must occur.
PORT = (
    ("xrange", "range"),
    (
        "rotation_resolution/(len(points_orig))",
        "rotation_resolution//(len(points_orig))",
    ),
    (
        "(rotation_resolution-1)/(2*len(points_orig))",
        "(rotation_resolution-1)//(2*len(points_orig))",
    ),
    (
        "(rotation_resolution-1)/(len(points_orig))",
        "(rotation_resolution-1)//(len(points_orig))",
    ),
    ("print 'Too many rejections : stop polygon sampling'", "pass"),
)


def load_polygongen(shapeset_dir: Path) -> types.ModuleType:
    """The authors' ``polygongen`` module, ported to Python 3 by ``PORT`` only."""
    source = (shapeset_dir / "polygongen.py").read_text()
    for old, new in PORT:
        if old not in source:
            raise ValueError(f"polygongen.py does not contain {old!r}: another version?")
        source = source.replace(old, new)
    module = types.ModuleType("polygongen")
    exec(compile(source, str(shapeset_dir / "polygongen.py"), "exec"), module.__dict__)
    return module


def draw(scenes: dict) -> dict[str, np.ndarray]:
    """The authors' ``buildimage`` loop, returning per-image foreground pixel counts."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    n = scenes["batchsize"]
    surface = pygame.Surface(scenes["img_shape"], depth=8)
    pixels = np.asarray(pygame.surfarray.pixels2d(surface))  # indexed [x, y]
    drawn = np.zeros(n)
    for j in range(n):
        surface.fill(int(scenes["rval_bg"][j]))
        for i in range(scenes["rval_nbpol"][j]):
            points = scenes["rval_points"][scenes["nb_poly_max"] * j + i]
            pygame.draw.polygon(surface, int(scenes["rval_fg"][j, i]), points, 0)
        drawn[j] = np.count_nonzero(pixels != scenes["rval_bg"][j])
    return {
        "drawn": drawn,
        "n_obj": scenes["rval_nbpol"].astype(np.int64),
        "type0": scenes["rval_poly_id"][:, 0].astype(np.int64),
    }


def statistics(drawn: np.ndarray, n_obj: np.ndarray, type0: np.ndarray) -> dict:
    """Name -> (mean, standard error), as ``shapeset.pixel_statistics`` defines them."""
    pixels = GENPARAMS["img_shape"][0] * GENPARAMS["img_shape"][1]
    groups = {
        "foreground": (drawn / pixels, n_obj > 0),
        "foreground_1obj": (drawn / pixels, n_obj == 1),
        "foreground_2obj": (drawn / pixels, n_obj == 2),
    }
    for t, name in enumerate(("triangle", "parallelogram", "ellipse")):
        groups[f"area_{name}"] = (drawn, (n_obj == 1) & (type0 == t))
    return {
        name: (v[rows].mean(), v[rows].std(ddof=1) / math.sqrt(rows.sum()))
        for name, (v, rows) in groups.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapeset-dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--count", type=int, default=30_000, help="images per seed")
    args = parser.parse_args()
    polygongen = load_polygongen(args.shapeset_dir)
    parts = []
    for seed in args.seeds:
        gen = polygongen.Polygongen(**GENPARAMS)
        parts.append(draw(next(gen.iterator(args.count, seed))))  # numpy RandomState(seed)
        print(f"seed {seed}: {args.count:,} images drawn")
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    print(f"{len(joined['drawn']):,} images (mean +- s.e.)")
    for name, (m, se) in statistics(**joined).items():
        print(f"{name:>20} {m:.5f} +- {se:.5f}")


if __name__ == "__main__":
    main()
