"""The figure of the report's "Shapeset-3×2" section: Fig. 1, samples of the dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis.selection import Tables
from trainability.figures.labels import dataset_label
from trainability.figures.registry import figure
from trainability.figures.style import new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@figure("fig1", section="shapeset",
        caption="Shapeset-3×2 samples rendered at 64×64 with their class (training uses 32×32).",
        claim="Shapeset-3×2 images hold one or two triangles, parallelograms or ellipses; "
              "9 classes.",
        needs_tables=False)
@styled
def fig1(tables: Tables | None = None, *, seed: int = 0, rows: int = 3, cols: int = 6
         ) -> Figure:
    """Shapeset-3×2 samples at 64×64 (the paper's Fig. 1, top; Small-ImageNet is not shown)."""
    # Here, not at the top: the generator loads torch, which planning must not.
    from trainability.data.shapeset import CLASS_NAMES, ShapesetConfig, generate, stream_key

    config = ShapesetConfig(image_size=64, n_vertices=(3, 4, 30))  # the authors' viewer
    batch = generate(stream_key(seed, "train"), 0, rows * cols, config)
    lo, hi = (0.0, 1.0) if config.pixel_range == "zero_one" else (-1.0, 1.0)
    fig, axes = new_figure(rows, cols, panel=(1.0, 1.12))
    for k, ax in enumerate(axes):
        # The authors' arrays are indexed [x, y]: show the transpose, as their pygame view.
        ax.imshow(batch.images[k].T.numpy(), cmap="gray", vmin=lo, vmax=hi,
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(True)
        ax.set_xlabel(CLASS_NAMES[int(batch.labels[k])], fontsize=8, labelpad=2)
    fig.suptitle(f"{dataset_label('shapeset')} at 64×64 (training uses 32×32); "
                 "T triangle, P parallelogram, E ellipse", fontsize=8.5)
    return fig
