"""Tests of the Shapeset-3x2 generator (trainability.data.shapeset).

Each test checks a property that a plausible bug would break: the class prior, the link between
labels, scenes and pixels, the authors' integer grey-level bounds, the 1-px margin, the overlap
rule (recomputed independently from the returned scene), and counter-based determinism.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import stats

from trainability.data import shapeset
from trainability.data.shapeset import (
    CLASS_NAMES,
    N_CLASSES,
    SPLIT_STREAMS,
    ShapesetConfig,
    ShapesetStream,
    generate,
    generator,
    make_split,
    randomness,
    scenes,
    stream_key,
)

CFG = ShapesetConfig()
PRIOR = np.array([1 / 6] * 3 + [1 / 9] * 3 + [1 / 18] * 3)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Run this module single-threaded: on a shared 2-core machine, torch's two intra-op
    threads wait on each other whenever another process holds a core (30x slower runs were
    seen); one thread keeps the file at a few seconds.  Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def big():
    """20,000 examples of one stream, with scenes (shared by the statistical tests)."""
    return generate(stream_key(7, "train"), 0, 20_000, return_scenes=True)


@pytest.fixture(scope="module")
def small():
    return generate(stream_key(3, "test"), 0, 1_000, return_scenes=True)


# ---------------------------------------------------------------------------- distribution
def test_class_prior_matches_authors_generator(big):
    counts = np.bincount(big.labels.numpy(), minlength=N_CLASSES)
    assert counts.sum() == 20_000
    chi2, p = stats.chisquare(counts, PRIOR * counts.sum())
    assert p > 1e-3, (counts / counts.sum(), chi2, p)
    # And a direct 4-sigma bound per class.
    freq = counts / counts.sum()
    sigma = np.sqrt(PRIOR * (1 - PRIOR) / counts.sum())
    assert np.all(np.abs(freq - PRIOR) < 4 * sigma), freq


def test_number_and_type_of_objects(big):
    sc = big.scenes
    n_req = sc.n_requested.numpy()
    assert set(np.unique(n_req)) == {1, 2}
    assert abs((n_req == 2).mean() - 0.5) < 4 * math.sqrt(0.25 / n_req.size)
    types = sc.types[sc.present].numpy()
    assert set(np.unique(types)) == {0, 1, 2}
    # Slot 0 always present; slot 1 present only if requested.
    assert sc.present[:, 0].all()
    assert not (sc.present[:, 1] & (sc.n_requested == 1)).any()
    # Type frequencies of the first object: uniform over 3.
    f = np.bincount(sc.types[:, 0].numpy(), minlength=3) / len(n_req)
    assert np.all(np.abs(f - 1 / 3) < 4 * math.sqrt(2 / 9 / len(n_req)))
    nv = sc.n_vertices[sc.present].numpy()
    assert np.array_equal(nv, np.array(CFG.n_vertices)[types])


def test_label_agrees_with_scene(big):
    sc = big.scenes
    names = ("T", "P", "E")
    for i in range(len(big.labels)):
        present = sc.types[i][sc.present[i]].tolist()
        counts = {n: 0 for n in names}
        for t in present:
            counts[names[t]] += 1
        if len(present) == 1:
            expected = names[present[0]]
        elif max(counts.values()) == 2:
            expected = "2" + max(counts, key=counts.get)
        else:
            pair = {names[t] for t in present}
            expected = next(c for c in CLASS_NAMES if "+" in c and set(c.split("+")) == pair)
        assert CLASS_NAMES[int(big.labels[i])] == expected
        if i > 3000:  # the loop is slow in Python; 3000 examples cover every class many times
            break


def test_transform_parameters_are_the_authors(big):
    sc = big.scenes
    p = sc.present
    s = sc.scales[p].numpy()
    assert np.all(s[:, 0] >= s[:, 1])
    assert s.min() >= 0.2 * 32 and s.max() < 0.8 * 32
    rot = sc.rotation[p].numpy()
    # numpy randint(0, 254): the final rotation index never reaches 254.
    assert rot.min() == 0 and rot.max() == 253
    pre = sc.prerotation[p].numpy()
    types = sc.types[p].numpy()
    for t, n in enumerate(CFG.n_vertices):
        allowed = set(scenes.prerotation_map(255, n))
        got = set(np.unique(pre[types == t]).tolist())
        assert got <= allowed and len(got) > 0.9 * len(allowed)
    # Folding of the triangle's pre-rotation: 0..42 and 214..254 (254 twice as likely).
    assert set(scenes.prerotation_map(255, 3)) == set(range(43)) | set(range(214, 255))


# ---------------------------------------------------------------------------- grey levels
def test_levels_in_ranges_and_inversion_rate(big):
    sc = big.scenes
    inv = sc.inverted.numpy()
    n = inv.size
    assert abs(inv.mean() - 0.5) < 4 * math.sqrt(0.25 / n)
    bg = sc.background.numpy()
    lv = sc.levels.numpy()
    present = sc.present.numpy()
    # int(0.45*255) = 114, int(0.55*255) = 140, bounds inclusive (randint(lo, 1 + hi)).
    dark, light = (0, 114), (140, 255)
    for flag, bg_range, obj_range in ((False, dark, light), (True, light, dark)):
        rows = inv == flag
        assert bg[rows].min() == bg_range[0] and bg[rows].max() == bg_range[1]
        obj = lv[rows][present[rows]]
        assert obj.min() == obj_range[0] and obj.max() == obj_range[1]
    assert np.all(lv[~present] == -1)


def _signed_distances(vertices, n, points):
    """Signed distance of ``points`` (P, 2) to each edge line of the polygon (positive
    inside for counter-clockwise polygons); (P, n)."""
    v = vertices[:n]
    e = np.roll(v, -1, axis=0) - v
    rel = points[:, None, :] - v[None]
    cross = e[None, :, 0] * rel[..., 1] - e[None, :, 1] * rel[..., 0]
    return cross / np.linalg.norm(e, axis=1)[None]


#: How far (pixels) pygame's rule may move a pixel centre across the polygon's boundary.  The
#: authors' pygame truncates vertices (moving them by [0, 1) along -x and -y) and fills whole
#: pixels from truncated intercepts, both ends included (+-1 along x); pixel (i, j) has its
#: centre at (i + 0.5, j + 0.5).  Together: offsets within (-1.5, 1.5] x (-0.5, 0.5], i.e. less
#: than sqrt(1.5^2 + 0.5^2) = 1.58.  The pixel-exact check against a port of pygame 1.8.1 is in
#: test_shapeset_fidelity.py; this one links pixels to the scene's float geometry.
PYGAME_SLACK = 1.6


def test_pixels_are_exactly_the_drawn_levels_and_polygons(small):
    sc = small.scenes
    size = CFG.image_size
    ii, jj = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    centres = np.stack([ii.ravel(), jj.ravel()], 1)
    img = small.images.numpy()
    levels_map = np.rint(img * 255).astype(np.int64)
    # Exactly level / 255 in float32 (no other value can appear).
    assert np.array_equal(img, (torch.from_numpy(levels_map).float() / 255.0).numpy())
    slack = PYGAME_SLACK
    for k in range(len(img)):
        lv = levels_map[k].ravel()
        bg = int(sc.background[k])
        inside, strictly = [], []
        for s in (0, 1):
            if not sc.present[k, s]:
                inside.append(np.zeros(len(lv), bool))
                strictly.append(np.zeros(len(lv), bool))
                continue
            d = _signed_distances(sc.vertices[k, s].numpy(), int(sc.n_vertices[k, s]), centres).min(
                1
            )
            inside.append(d >= -slack)
            strictly.append(d > slack)
        obj_levels = [int(x) for x in sc.levels[k] if x >= 0]
        assert set(np.unique(lv)) <= {bg, *obj_levels}
        # Background pixels are outside both polygons.
        assert not np.any((lv == bg) & (strictly[0] | strictly[1]))
        # Object-level pixels are inside a polygon with that level.
        for s in (0, 1):
            if sc.present[k, s]:
                mine = lv == int(sc.levels[k, s])
                other = 1 - s
                covered = inside[s] | (
                    inside[other]
                    & bool(sc.present[k, other])
                    & (int(sc.levels[k, other]) == int(sc.levels[k, s]))
                )
                assert np.all(covered[mine])
        # The top object wins; the first object shows where the top one is absent.
        if sc.present[k, 1]:
            assert np.all(lv[strictly[1]] == int(sc.levels[k, 1]))
        assert np.all(lv[strictly[0] & ~inside[1]] == int(sc.levels[k, 0]))


def test_filled_area_matches_polygon_area(small):
    """Pixel counts agree with the shoelace area (catches half-planes of the wrong sign)."""
    sc = small.scenes
    rows = ~sc.present[:, 1]
    v = sc.vertices[rows, 0].numpy()
    n = sc.n_vertices[rows, 0].numpy()
    img = small.images[rows].numpy()
    bg = sc.background[rows].numpy()
    for k in range(len(v)):
        p = v[k, : n[k]]
        area = 0.5 * np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
        assert area > 0  # counter-clockwise
        filled = np.sum(np.rint(img[k] * 255) != bg[k])
        perimeter = np.sum(np.linalg.norm(np.roll(p, -1, 0) - p, axis=1))
        assert abs(filled - area) <= 0.75 * perimeter + 2


def test_objects_inside_image_with_margin(big):
    sc = big.scenes
    v = sc.vertices[sc.present].numpy()  # padded with vertex 0, so min/max are unaffected
    assert v.min() >= 1.0 - 1e-9 and v.max() <= 31.0 + 1e-9
    # pygame draws from int(vertex) with both span ends included: row/column 0 is never drawn
    # (vertices >= 1), row/column 31 only by a vertex at exactly 31.0.
    img = big.images
    border = torch.cat([img[:, 0], img[:, -1], img[:, :, 0], img[:, :, -1]], 1)
    bg = (sc.background.float() / 255.0)[:, None]
    assert torch.equal(border, bg.expand_as(border))
    # Translation uses the whole allowed range: objects reach both margins.
    assert v.min() < 1.01 and v.max() > 30.99


# ---------------------------------------------------------------------------- overlap rule
def _area(scales, types):
    n = np.array(CFG.n_vertices, dtype=np.float64)[types]
    return scales[:, 0] * scales[:, 1] * n * np.sin(2 * np.pi / n) / (2 * np.pi)


def _overlap_ratio(sc, rows):
    """The authors' overlap estimate recomputed from the scene, numpy float64."""
    c0 = sc.centres[rows, 0].numpy()
    c1 = sc.centres[rows, 1].numpy()
    pos0 = np.trunc(c0)  # the authors' int32 storage of the old centre
    v = c1 - pos0
    d = np.linalg.norm(v, axis=1)
    out = np.zeros(len(c0))
    for k in range(len(c0)):
        n0, n1 = (int(x) for x in sc.n_vertices[rows][k])
        p0 = sc.vertices[rows][k, 0, :n0].numpy() - pos0[k]
        p1 = sc.vertices[rows][k, 1, :n1].numpy() - c1[k]
        proj = (p0 @ v[k]).max() / d[k] + (p1 @ -v[k]).max() / d[k]
        if proj >= d[k]:
            factor = 1 - math.exp(-(proj - d[k]) / (d[k] / math.log(2)))
            a1 = _area(sc.scales[rows][k : k + 1, 1].numpy(), sc.types[rows][k : k + 1, 1].numpy())
            a0 = _area(sc.scales[rows][k : k + 1, 0].numpy(), sc.types[rows][k : k + 1, 0].numpy())
            out[k] = a1[0] * factor / a0[0]
    return out


def test_overlap_rule_holds_for_accepted_pairs(big):
    sc = big.scenes
    rows = torch.nonzero(sc.present[:, 1]).squeeze(1)[:3000]
    ratio = _overlap_ratio(sc, rows)
    assert np.all(ratio <= CFG.overlap_max + 1e-9), ratio.max()
    # The rule is active: some accepted pairs come close to the limit, and rejections happen.
    assert ratio.max() > 0.45
    two = sc.n_requested == 2
    rejected_first = (sc.n_rejections[two] > 0).float().mean().item()
    assert 0.2 < rejected_first < 0.7
    assert int(sc.n_rejections[sc.n_requested == 1].abs().sum()) == 0


def test_give_up_after_rejection_max():
    cfg = ShapesetConfig(overlap_max=0.0, rejection_max=3)
    b = generate(11, 0, 2000, cfg, return_scenes=True)
    sc = b.scenes
    dropped = (sc.n_requested == 2) & ~sc.present[:, 1]
    assert dropped.sum() > 100
    assert torch.all(sc.n_rejections[dropped] == 3)
    assert torch.all(sc.n_rejections[sc.present[:, 1]] < 3)
    # Dropped images are labelled by the single object drawn, and show only it.
    assert torch.equal(b.labels[dropped], sc.types[dropped, 0])
    assert torch.all(sc.levels[dropped, 1] == -1)
    # overlap_max = 0 accepts only pairs whose projections do not meet.
    rows = torch.nonzero(sc.present[:, 1]).squeeze(1)[:300]
    assert np.all(_overlap_ratio(sc, rows) == 0.0)


def test_no_overlap_rejection_when_disabled():
    b = generate(11, 0, 500, ShapesetConfig(overlap_rejection=False), return_scenes=True)
    sc = b.scenes
    assert torch.equal(sc.present[:, 1], sc.n_requested == 2)
    assert int(sc.n_rejections.sum()) == 0


# ---------------------------------------------------------------------------- determinism
def _assert_batches_equal(a, b):
    assert torch.equal(a.images, b.images)
    assert torch.equal(a.labels, b.labels)
    if a.scenes is not None:
        for f in dataclasses.fields(shapeset.Scenes):
            assert torch.equal(getattr(a.scenes, f.name), getattr(b.scenes, f.name)), f.name


def test_slicing_independence():
    s = stream_key(5, "train")
    whole = generate(s, 0, 1000, return_scenes=True)
    parts = [generate(s, 0, 300, return_scenes=True), generate(s, 300, 700, return_scenes=True)]
    cat = shapeset.ShapesetBatch(
        images=torch.cat([p.images for p in parts]),
        labels=torch.cat([p.labels for p in parts]),
        scenes=shapeset.Scenes(
            **{
                f.name: torch.cat([getattr(p.scenes, f.name) for p in parts])
                for f in dataclasses.fields(shapeset.Scenes)
            }
        ),
    )
    _assert_batches_equal(whole, cat)
    one = generate(s, 517, 1, return_scenes=True)
    assert torch.equal(one.images[0], whole.images[517])
    assert one.labels[0] == whole.labels[517]
    assert torch.equal(one.scenes.vertices[0], whole.scenes.vertices[517])
    _assert_batches_equal(generate(s, 0, 1000, return_scenes=True), whole)  # repeatable


def test_internal_block_size_does_not_matter(monkeypatch):
    s = stream_key(2, "valid")
    ref = generate(s, 100, 400, return_scenes=True)
    monkeypatch.setattr(generator, "BLOCK", 37)
    _assert_batches_equal(generate(s, 100, 400, return_scenes=True), ref)
    monkeypatch.setattr(scenes, "CANDIDATE_STAGES", (50,))  # all candidates at once
    _assert_batches_equal(generate(s, 100, 400, return_scenes=True), ref)


def test_large_indices_and_streams():
    big_start = 2**33 + 5  # crosses into the high 32-bit word of the counter
    a = generate(2**40 + 3, big_start, 64)
    b = generate(2**40 + 3, big_start + 32, 32)
    assert torch.equal(a.images[32:], b.images)
    assert not torch.equal(a.images[:32], generate(3, big_start, 32).images)


def test_streams_and_splits_differ():
    keys = {stream_key(seed, split) for seed in range(5) for split in SPLIT_STREAMS}
    assert len(keys) == 15
    a = generate(stream_key(0, "train"), 0, 500)
    for other in (stream_key(0, "test"), stream_key(0, "valid"), stream_key(1, "train")):
        b = generate(other, 0, 500)
        same = (a.images == b.images).flatten(1).all(1)
        assert same.sum() == 0
        assert (a.labels == b.labels).float().mean() < 0.3
    # Consecutive examples of one stream are not identical either.
    assert (a.images[1:] == a.images[:-1]).flatten(1).all(1).sum() == 0


def _hash32_reference(x: np.ndarray) -> np.ndarray:
    """The same hash with native uint32 wrap-around arithmetic (independent of the int64
    masking trick used in the module)."""
    x = x.astype(np.uint32)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x21F0AAAD)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x735A2D97)
        x ^= x >> np.uint32(15)
    return x


def test_hash_matches_uint32_reference_and_is_uniform():
    x = np.concatenate([np.arange(1 << 16), np.array([2**31 - 1, 2**31, 2**32 - 1])])
    h = randomness.hash32(torch.from_numpy(x.astype(np.int64)))
    assert np.array_equal(h.numpy(), _hash32_reference(x).astype(np.int64))
    assert [randomness.hash32(int(v)) for v in x[:50]] == h[:50].tolist()  # int == tensor path
    assert h[: 1 << 16].unique().numel() == 1 << 16  # bijective on this range
    bits = randomness.Bits.for_examples(9, torch.arange(1 << 16))
    u = bits.uniform(3).numpy()
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    r = bits.randint(4, 10).numpy()
    assert stats.chisquare(np.bincount(r, minlength=10)).pvalue > 1e-3
    # Two draws of one example, and one draw of neighbouring examples, are uncorrelated.
    assert abs(np.corrcoef(u, bits.uniform(4).numpy())[0, 1]) < 0.02
    assert abs(np.corrcoef(u[1:], u[:-1])[0, 1]) < 0.02


#: Re-pinned when the fill became pygame 1.8.1's ``draw.polygon`` (truncated vertices, C-integer
#: intercepts, inclusive spans along x, scanlines along y) instead of "pixel centre inside":
#: the scenes, labels and backgrounds are unchanged, the drawn pixels are not (was 2139897,
#: 1125351705).
GOLDEN_SUM, GOLDEN_WEIGHTED = 2112219, 1114752125


def test_golden_values():
    """Regression pin of stream 0: if this fails, every generated dataset has changed.
    Update the numbers only when changing the generator on purpose."""
    b = generate(0, 0, 16, return_scenes=True)
    assert b.labels.tolist() == [2, 0, 2, 6, 6, 0, 2, 4, 0, 3, 8, 2, 5, 3, 2, 6]
    assert b.scenes.background.tolist() == [
        100,
        87,
        230,
        206,
        214,
        163,
        34,
        149,
        40,
        207,
        190,
        217,
        176,
        179,
        68,
        69,
    ]
    levels = torch.round(b.images * 255).long()
    assert int(levels.sum()) == GOLDEN_SUM
    assert int((levels * torch.arange(1024).view(32, 32)).sum()) == GOLDEN_WEIGHTED


# ---------------------------------------------------------------------------- options & API
def test_pixel_range_option():
    s = stream_key(1, "train")
    a = generate(s, 0, 200, return_scenes=True)
    b = generate(s, 0, 200, ShapesetConfig(pixel_range="minus_one_one"))
    assert a.images.dtype == b.images.dtype == torch.float32
    assert float(a.images.min()) >= 0.0 and float(a.images.max()) <= 1.0
    assert float(b.images.min()) >= -1.0 and float(b.images.max()) <= 1.0
    torch.testing.assert_close(b.images, a.images * 2 - 1, atol=1e-6, rtol=0)
    assert torch.equal(a.labels, b.labels)
    assert float(b.images.min()) < -0.99 and float(b.images.max()) > 0.99
    with pytest.raises(ValueError, match="zero_one"):
        ShapesetConfig(pixel_range="0-1")


def test_make_split_and_stream():
    x, y = make_split(4, "valid", 300)
    assert x.shape == (300, 1024) and x.dtype == torch.float32 and y.shape == (300,)
    ref = generate(stream_key(4, "valid"), 0, 300)
    assert torch.equal(x, ref.images.reshape(300, -1)) and torch.equal(y, ref.labels)

    st = ShapesetStream(4, 32, chunk=70)
    xs, ys = zip(*(st.next_batch() for _ in range(9)), strict=True)
    assert st.position == 288
    ref = generate(stream_key(4, "train"), 0, 288)
    assert torch.equal(torch.cat(xs), ref.images.reshape(288, -1))
    assert torch.equal(torch.cat(ys), ref.labels)
    # Resuming at `position` with another chunk size continues the same stream.
    resumed = ShapesetStream(4, 32, chunk=1000, start=st.position)
    assert torch.equal(resumed.next_batch()[0], st.next_batch()[0])


def test_output_shapes_and_empty():
    b = generate(0, 10, 0, return_scenes=True)
    assert b.images.shape == (0, 32, 32) and b.labels.shape == (0,)
    b = generate(0, 0, 5, ShapesetConfig(image_size=64), return_scenes=True)
    assert b.images.shape == (5, 64, 64) and b.scenes.vertices.shape == (5, 2, 20, 2)
    assert float(b.scenes.vertices[b.scenes.present].max()) <= 63 + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pixel_range": "unit"}, "pixel_range"),
        ({"image_size": 2}, "image_size"),
        ({"image_size": 32.0}, "image_size"),
        ({"poly_type": 3}, "poly_type"),
        ({"n_vertices": (3, 4)}, "n_vertices"),
        ({"n_vertices": (2, 4, 20)}, "n_vertices"),
        ({"min_objects": 0}, "min_objects"),
        ({"max_objects": 3}, "max_objects"),
        ({"min_objects": 2, "max_objects": 1}, "min_objects"),
        ({"scale_min": 0.9}, "scale_min"),
        ({"scale_max": 1.5}, "scale_max"),
        ({"scale_min": 0.0}, "scale_min"),
        ({"fg_min": -0.1}, "fg_min"),
        ({"bg_max": 2.0}, "bg_max"),
        ({"pos_min": 0.6, "pos_max": 0.4}, "pos_min"),
        ({"rot_max": 1.1}, "rot_max"),
        ({"rotation_resolution": 10}, "rotation_resolution"),
        ({"inv_chance": 1.5}, "inv_chance"),
        ({"overlap_max": -0.1}, "overlap_max"),
        ({"rejection_max": -1}, "rejection_max"),
        ({"rejection_max": 0}, "rejection_max"),
        ({"overlap_rejection": 1}, "overlap_rejection"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShapesetConfig(**kwargs)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="split"):
        stream_key(0, "training")
    with pytest.raises(ValueError, match="seed"):
        stream_key(-1, "train")
    with pytest.raises(ValueError, match="start"):
        generate(0, -1, 10)
    with pytest.raises(ValueError, match="count"):
        generate(0, 0, -5)
    with pytest.raises(ValueError, match="batch_size"):
        ShapesetStream(0, 0)


def test_other_poly_types_run():
    for pt in (0, 1):
        b = generate(0, 0, 300, ShapesetConfig(poly_type=pt), return_scenes=True)
        sc = b.scenes
        assert torch.all(sc.prerotation[sc.present] == 0)
        if pt == 0:
            assert torch.equal(sc.scales[..., 0], sc.scales[..., 1])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    a = generate(stream_key(0, "test"), 0, 5000, return_scenes=True)
    b = generate(stream_key(0, "test"), 0, 5000, device="cuda", return_scenes=True)
    assert torch.equal(a.labels, b.labels.cpu())
    assert torch.equal(a.images, b.images.cpu())
    assert torch.equal(a.scenes.vertices, b.scenes.vertices.cpu())


def test_preview_writes_png(tmp_path):
    from trainability.data.preview import save_preview

    out = save_preview(tmp_path / "grid.png", seed=0, n=9, image_size=64)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="image_size"):
        save_preview(tmp_path / "x.png", image_size=2)
