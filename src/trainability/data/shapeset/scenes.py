"""Scenes: object types, rotations, scales and positions, drawn exactly as the authors'
``polygongen.py`` draws them (the overlap rejection included), from counter-based bits."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import torch

from trainability.data.shapeset.config import (
    CANDIDATE_STAGES,
    MARGIN_PX,
    PAIR_CLASS,
    ShapesetConfig,
)
from trainability.data.shapeset.randomness import D_PREROT, D_ROT, D_TYPE, Bits, candidate_draws


# --------------------------------------------------------------------------------------------
# Host-built lookup tables (identical bits on every device)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tables:
    n_vert: torch.Tensor  # (3,) int64
    base_rotated: torch.Tensor  # (3, res, V, 2) float64: regular n-gon @ rot_mat[idx1], padded
    prerot_len: torch.Tensor  # (3,) int64: number of pre-rotation draws res // n (1 if unused)
    prerot_idx: torch.Tensor  # (3, L) int64: draw -> pre-rotation index (authors' folding)
    tan: torch.Tensor  # (res,) float64
    cos: torch.Tensor  # (res,) float64
    sin: torch.Tensor  # (res,) float64
    area_ratio: torch.Tensor  # (3,) float64: n sin(2 pi / n) / (2 pi)
    pair_class: torch.Tensor  # (3, 3) int64
    rot_lo: int  # final rotation index range [rot_lo, rot_hi) (rot_hi == rot_lo: fixed)
    rot_hi: int
    fg_lo: int  # integer grey-level ranges, inclusive
    fg_hi: int
    bg_lo: int
    bg_hi: int


def _regular_polygon(n: int) -> list[tuple[float, float]]:
    """``polygongen.n_sided``: n points on the circle of radius 0.5, bottom edge horizontal,
    counter-clockwise."""
    pts = []
    for t in range(n):
        angle = (t / n + 1.0 / (2 * n) + 0.25) * math.pi * 2.0
        pts.append((0.5 * math.cos(angle), 0.5 * math.sin(angle)))
    return pts


def prerotation_map(res: int, n: int) -> list[int]:
    """Pre-rotation index for each value of ``randint(0, res // n)`` (``_corners``, Python 2
    integer division kept): indices above res/(2n) fold onto negative angles, clamped to
    ``res - 1``."""
    out = []
    for k in range(res // n):
        if k > (res - 1) // (2 * n):
            k = min(res - (res - 1) // n + k, res - 1)
        out.append(k)
    return out


@functools.lru_cache(maxsize=16)
def tables(config: ShapesetConfig, device: str) -> Tables:
    res = config.rotation_resolution
    vmax = config.max_vertices
    step = 2 * math.pi / res
    cos = [math.cos(t * step) for t in range(res)]
    sin = [math.sin(t * step) for t in range(res)]
    base = torch.zeros(3, res, vmax, 2, dtype=torch.float64)
    for g, n in enumerate(config.n_vertices):
        pts = _regular_polygon(n)
        pts = pts + [pts[0]] * (vmax - n)  # pad by repeating a vertex: a degenerate edge
        p = torch.tensor(pts, dtype=torch.float64)  # (V, 2)
        c = torch.tensor(cos, dtype=torch.float64)[:, None]
        s = torch.tensor(sin, dtype=torch.float64)[:, None]
        # Row vector @ gen_rot(theta) with gen_rot = [[c, s], [-s, c]] (counter-clockwise).
        base[g, :, :, 0] = p[:, 0] * c - p[:, 1] * s
        base[g, :, :, 1] = p[:, 0] * s + p[:, 1] * c
    if config.poly_type == 2:
        maps = [prerotation_map(res, n) for n in config.n_vertices]
    else:  # poly_type 0/1: no pre-rotation
        maps = [[0] for _ in config.n_vertices]
    width = max(len(m) for m in maps)
    prerot_idx = torch.tensor([m + [0] * (width - len(m)) for m in maps], dtype=torch.int64)
    rot_lo = min(int(config.rot_min * (res - 1)), res - 1)
    rot_hi = min(int(config.rot_max * (res - 1)), res - 1)
    if rot_lo >= rot_hi:
        rot_hi = rot_lo
    f = functools.partial(torch.tensor, device=device)
    return Tables(
        n_vert=f(config.n_vertices, dtype=torch.int64),
        base_rotated=base.to(device),
        prerot_len=f([len(m) for m in maps], dtype=torch.int64),
        prerot_idx=prerot_idx.to(device),
        tan=f([math.tan(t * step) for t in range(res)], dtype=torch.float64),
        cos=f(cos, dtype=torch.float64),
        sin=f(sin, dtype=torch.float64),
        area_ratio=f(
            [n * math.sin(2 * math.pi / n) / (2 * math.pi) for n in config.n_vertices],
            dtype=torch.float64,
        ),
        pair_class=f(PAIR_CLASS, dtype=torch.int64),
        rot_lo=rot_lo,
        rot_hi=rot_hi,
        fg_lo=int(config.fg_min * 255),
        fg_hi=int(config.fg_max * 255),
        bg_lo=int(config.bg_min * 255),
        bg_hi=int(config.bg_max * 255),
    )


# --------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------
@dataclass
class Objects:
    """One object slot for M examples (candidate axis K where noted)."""

    type: torch.Tensor  # (M,) int64 in 0..2
    prerot: torch.Tensor  # (M,) int64 pre-rotation index r1
    rot: torch.Tensor  # (M,) int64 final rotation index r3
    x: torch.Tensor | None = None  # (M, K, V) float64 vertex offsets from the centre, axis 0
    y: torch.Tensor | None = None  # (M, K, V) float64, axis 1
    scale: torch.Tensor | None = None  # (M, K, 2) float64 s0 >= s1, pixels
    centre: torch.Tensor | None = None  # (M, K, 2) float64 translation t, pixels


def draw_object(bits: Bits, slot: int, tab: Tables) -> Objects:
    """Type, pre-rotation r1 and final rotation r3: drawn once per object (not per candidate)."""
    typ = bits.randint(D_TYPE[slot], 3)
    k = bits.randint(D_PREROT[slot], tab.prerot_len[typ])
    prerot = tab.prerot_idx[typ, k]
    if tab.rot_hi > tab.rot_lo:
        rot = tab.rot_lo + bits.randint(D_ROT[slot], tab.rot_hi - tab.rot_lo)
    else:
        rot = torch.full_like(typ, tab.rot_lo)
    return Objects(type=typ, prerot=prerot, rot=rot)


def draw_candidates(
    bits: Bits, slot: int, ks: torch.Tensor, obj: Objects, tab: Tables, config: ShapesetConfig
) -> Objects:
    """Scale, vertices and translation of candidates ``ks`` (K,) of ``obj`` (M examples).

    Returns a new ``Objects`` whose x, y are (M, K, V), scale and centre (M, K, 2).
    """
    size = float(config.image_size)
    span = config.scale_max - config.scale_min
    u0 = bits.uniform(candidate_draws(slot, ks, 0))  # (M, K)
    if config.poly_type == 0:  # isotropic: one draw for both axes
        s0 = (config.scale_min + span * u0) * size
        s1 = s0
    else:  # two draws, sorted so that s0 >= s1 (keeps the base horizontal)
        a = (config.scale_min + span * u0) * size
        b = (config.scale_min + span * bits.uniform(candidate_draws(slot, ks, 1))) * size
        s0, s1 = torch.maximum(a, b), torch.minimum(a, b)
    # r2 = -atan(s1/s0 * tan r1), from sqrt and division only (correctly rounded everywhere):
    # cos(atan z) = 1/sqrt(1+z^2), sin(-atan z) = -z/sqrt(1+z^2).
    z = s1 / s0 * tab.tan[obj.prerot][:, None]
    c2 = 1.0 / torch.sqrt(1.0 + z * z)
    sn2 = -z * c2
    c3, sn3 = tab.cos[obj.rot][:, None], tab.sin[obj.rot][:, None]
    cos_ = (c2 * c3 - sn2 * sn3)[..., None]  # rotation r2 then r3, combined: (M, K, 1)
    sin_ = (c2 * sn3 + sn2 * c3)[..., None]
    base = tab.base_rotated[obj.type, obj.prerot]  # (M, V, 2): regular polygon @ r1
    ax = base[:, None, :, 0] * s0[..., None]  # scaled: (M, K, V)
    ay = base[:, None, :, 1] * s1[..., None]
    x = ax * cos_ - ay * sin_
    y = ax * sin_ + ay * cos_
    centre = torch.stack(
        [
            _translation(x, bits.uniform(candidate_draws(slot, ks, 2)), config),
            _translation(y, bits.uniform(candidate_draws(slot, ks, 3)), config),
        ],
        dim=-1,
    )
    return Objects(
        type=obj.type,
        prerot=obj.prerot,
        rot=obj.rot,
        x=x,
        y=y,
        scale=torch.stack([s0, s1], dim=-1),
        centre=centre,
    )


def _translation(offsets: torch.Tensor, u: torch.Tensor, config: ShapesetConfig) -> torch.Tensor:
    """Translation along one axis (pixels), uniform over the positions keeping all vertices in
    ``[MARGIN_PX, size - MARGIN_PX]`` (``_corners``: relative units, clipped to [pos_min,
    pos_max]).  ``offsets`` (M, K, V); ``u`` (M, K) uniforms."""
    size = float(config.image_size)
    lo = torch.clamp((MARGIN_PX - offsets.amin(-1)) / size, min=config.pos_min)
    hi = torch.clamp(1.0 - (offsets.amax(-1) + MARGIN_PX) / size, max=config.pos_max)
    return (lo + (hi - lo) * u) * size


def _rejected(new: Objects, old: Objects, old_x, old_y, tab: Tables, config) -> torch.Tensor:
    """The authors' approximate overlap test of candidates ``new`` (M, K) against ``old``.

    ``old_x``/``old_y``: (M, V) absolute vertex coordinates of the old polygon.  Returns (M, K)
    bool, True where the candidate is rejected.
    """
    if not config.overlap_rejection:
        return torch.zeros(new.centre.shape[:2], dtype=torch.bool, device=new.centre.device)
    old_centre = old.centre[:, 0]  # (M, 2)
    pos = torch.trunc(old_centre)  # stored in an int32 array by the authors: truncated
    vx = new.centre[..., 0] - pos[:, None, 0]  # (M, K): centre line, old -> new
    vy = new.centre[..., 1] - pos[:, None, 1]
    d = torch.sqrt(vx * vx + vy * vy)
    ok = d > 0
    d_safe = torch.where(ok, d, torch.ones_like(d))
    # Largest projection of the old polygon on +v and of the new one on -v.
    rel_x, rel_y = old_x - pos[:, None, 0], old_y - pos[:, None, 1]  # (M, V)
    p_old = (rel_x[:, None, :] * vx[..., None] + rel_y[:, None, :] * vy[..., None]).amax(-1)
    p_new = -(new.x * vx[..., None] + new.y * vy[..., None]).amin(-1)
    proj = p_old / d_safe + p_new / d_safe
    factor = 1.0 - torch.exp(-(proj - d) / (d_safe / math.log(2)))
    factor = torch.where(ok, factor, torch.ones_like(factor))  # d -> 0+ limit: full overlap
    touching = (proj >= d) | ~ok
    area_new = new.scale[..., 0] * new.scale[..., 1] * tab.area_ratio[new.type][:, None]
    area_old = old.scale[:, 0, 0] * old.scale[:, 0, 1] * tab.area_ratio[old.type]
    return touching & (area_new * factor / area_old[:, None] > config.overlap_max)


def _select(obj: Objects, k: torch.Tensor) -> Objects:
    """Candidate ``k`` (M,) of each example, keeping a K axis of length 1."""
    rows = torch.arange(k.shape[0], device=k.device)
    return Objects(
        type=obj.type,
        prerot=obj.prerot,
        rot=obj.rot,
        x=obj.x[rows, k][:, None],
        y=obj.y[rows, k][:, None],
        scale=obj.scale[rows, k][:, None],
        centre=obj.centre[rows, k][:, None],
    )


def second_object(bits: Bits, first: Objects, tab: Tables, config: ShapesetConfig):
    """Rejection-sample the second object for M examples.

    Candidates are evaluated in stages (first candidate for everybody, the next few for the
    examples still rejected, and so on up to ``rejection_max``); the result equals evaluating all
    ``rejection_max`` candidates at once because each candidate's draws are fixed.

    Returns ``(obj, chosen, accepted, n_rejections)``: obj the type/rotation draws (M,);
    chosen the accepted candidate with K = 1 (meaningful where accepted; None when M = 0);
    accepted (M,) bool; n_rejections (M,) int64 (``rejection_max`` when giving up).
    """
    m = first.type.shape[0]
    dev = first.type.device
    obj = draw_object(bits, 1, tab)
    old_x = first.x[:, 0] + first.centre[:, 0, 0:1]  # absolute vertices (M, V)
    old_y = first.y[:, 0] + first.centre[:, 0, 1:2]
    r = config.rejection_max
    stops = sorted({min(s, r) for s in CANDIDATE_STAGES} | {r})
    chosen = None
    accepted = torch.zeros(m, dtype=torch.bool, device=dev)
    n_rej = torch.full((m,), r, dtype=torch.int64, device=dev)
    todo = torch.arange(m, device=dev)
    k0 = 0
    for k1 in stops:
        if todo.numel() == 0:
            break
        ks = torch.arange(k0, k1, device=dev)
        sub_first = subset(first, todo)
        sub_obj = Objects(type=obj.type[todo], prerot=obj.prerot[todo], rot=obj.rot[todo])
        cand = draw_candidates(bits.subset(todo), 1, ks, sub_obj, tab, config)
        ok = ~_rejected(cand, sub_first, old_x[todo], old_y[todo], tab, config)  # (M', K)
        hit = ok.any(-1)
        k_first = ok.to(torch.int8).argmax(-1)  # first accepted candidate
        rows, k_sel = todo[hit], k_first[hit]
        pick = _select(subset(cand, hit), k_sel)
        if chosen is None:
            chosen = _empty_like(pick, m)
        _scatter(chosen, rows, pick)
        accepted[rows] = True
        n_rej[rows] = k_sel + k0
        todo = todo[~hit]
        k0 = k1
    return obj, chosen, accepted, n_rej


def _rest(o: Objects, rows) -> tuple:
    return o.x[rows], o.y[rows], o.scale[rows], o.centre[rows]


def subset(o: Objects, rows: torch.Tensor) -> Objects:
    return Objects(o.type[rows], o.prerot[rows], o.rot[rows], *_rest(o, rows))


def _empty_like(o: Objects, m: int) -> Objects:
    def z(t):
        return t.new_zeros((m, *t.shape[1:]))

    return Objects(z(o.type), z(o.prerot), z(o.rot), z(o.x), z(o.y), z(o.scale), z(o.centre))


def _scatter(dst: Objects, rows: torch.Tensor, src: Objects) -> None:
    for f in fields(Objects):
        getattr(dst, f.name)[rows] = getattr(src, f.name)
