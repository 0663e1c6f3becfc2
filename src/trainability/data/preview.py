"""Preview grid of Shapeset-3x2 samples, like Fig. 1 of Glorot & Bengio (2010).

``save_preview`` writes a PNG (matplotlib, Agg backend) with the class name under each image.
The paper's Fig. 1 shows images at 64x64 (the authors' viewer, ``examplecurripolygen.py``,
renders at 64x64 and uses 30-gons for the ellipses); ``image_size=64`` reproduces that view.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # file output only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from trainability.data.shapeset import (  # noqa: E402
    CLASS_NAMES,
    ShapesetConfig,
    generate,
    stream_key,
)

__all__ = ["save_preview"]


def save_preview(
    path: str | Path,
    seed: int = 0,
    n: int = 36,
    image_size: int = 32,
    config: ShapesetConfig | None = None,
    split: str = "train",
    columns: int | None = None,
) -> Path:
    """Write a PNG grid of the first ``n`` examples of ``stream_key(seed, split)``.

    ``image_size`` is used only when ``config`` is None: 32 gives the training images, 64 the
    viewer's size (with 30-vertex ellipses, as in the authors' viewer); other sizes use the
    default 20-vertex ellipses.  Images are shown as the
    authors' pygame surface shows them: the first array axis horizontal (``imshow(img.T)``).
    Returns the path written.
    """
    if config is None:  # ShapesetConfig validates image_size (ValueError below 4)
        n_vertices = (3, 4, 30) if image_size == 64 else (3, 4, 20)
        config = ShapesetConfig(image_size=image_size, n_vertices=n_vertices)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    batch = generate(stream_key(seed, split), 0, n, config)
    lo, hi = (0.0, 1.0) if config.pixel_range == "zero_one" else (-1.0, 1.0)
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.set_axis_off()
            continue
        ax.imshow(batch.images[k].T.numpy(), cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_xlabel(CLASS_NAMES[int(batch.labels[k])], fontsize=9)
    fig.suptitle(f"Shapeset-3x2, {config.image_size}x{config.image_size}, seed {seed} ({split})")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
