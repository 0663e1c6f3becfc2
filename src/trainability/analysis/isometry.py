"""Dynamical isometry at init: which networks keep the input-output Jacobian's whole spectrum
near 1 (Saxe, McClelland & Ganguli 2014; Pennington, Schoenholz & Ganguli 2017).

`SETUPS` are the comparisons of the report's spectrum figure and of claim T3: tanh at the
order-to-chaos boundary with orthogonal weights (`critical_orthogonal`) against the same
sigma_w^2, sigma_b^2 with Gaussian weights; ReLU at its critical sigma_w^2 = 2, Gaussian (He)
and orthogonal; the linear network, Gaussian (squared singular values follow the
Fuss-Catalan law) and orthogonal (all exactly 1). Spectra are sampled at `DEPTHS` with the
suite's initializers (trainability.analysis.jacobian_spectrum); their concentration is the
share of squared singular values lambda within a factor `BAND` of 1.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from trainability.analysis import jacobian_spectrum as js
from trainability.lazy import lazy_import
from trainability.nets.gaussian import tanh_critical_point
from trainability.nets.initializers import CRITICAL_Q
from trainability.registry import format_value

np = lazy_import("numpy")
pd = lazy_import("pandas")

#: Depths (layers) at which spectra are sampled; width (units) and networks per setup.
DEPTHS = (10, 100)
WIDTH = 200
NETS = 4
SEED = 0
#: lambda within [1/BAND, BAND] counts as "near 1".
BAND = 3.0
#: Claim T3: a concentrated spectrum has at least this share near 1 at the largest depth; a
#: spread one at most `SPREAD_SHARE`.
CONCENTRATED_SHARE = 0.9
SPREAD_SHARE = 0.5


@dataclass(frozen=True)
class Setup:
    """One network family of the comparison: its label, activation, initializer spec, and
    its role in claim T3 ("isometric": expected concentrated; "spread": expected not)."""

    label: str
    activation: str
    initializer: str
    role: str
    weights: str  #: "orthogonal" or "gaussian", for the figure's line style


def _critical_gaussian() -> str:
    sw2, sb2 = tanh_critical_point(CRITICAL_Q)
    return f"gaussian:sw2={format_value(sw2)},sb2={format_value(sb2)}"


@functools.lru_cache(maxsize=1)
def setups() -> tuple[Setup, ...]:
    """The compared families (see the module docstring)."""
    relu_gain = format_value(math.sqrt(2.0))
    return (
        Setup("tanh, orthogonal, critical", "tanh", "critical_orthogonal", "isometric",
              "orthogonal"),
        Setup("tanh, Gaussian, critical", "tanh", _critical_gaussian(), "spread", "gaussian"),
        Setup("ReLU, Gaussian (He)", "relu", "he_normal", "spread", "gaussian"),
        Setup("ReLU, orthogonal (gain √2)", "relu", f"orthogonal:{relu_gain}", "spread",
              "orthogonal"),
        Setup("linear, Gaussian", "identity", "gaussian:sw2=1", "reference", "gaussian"),
        Setup("linear, orthogonal", "identity", "orthogonal", "isometric", "orthogonal"),
    )


def spectra(depths: tuple[int, ...] | None = None, width: int | None = None,
            nets: int | None = None, seed: int | None = None):
    """Sampled squared singular values: one row per (setup, depth, lambda), columns label,
    activation, initializer, role, weights, depth, lambda (nets x width values each).
    Arguments default to the module's DEPTHS, WIDTH, NETS and SEED (read at call time);
    computed once per process and arguments."""
    return _spectra(tuple(depths or DEPTHS), width or WIDTH, nets or NETS,
                    SEED if seed is None else seed).copy()


@functools.lru_cache(maxsize=2)
def _spectra(depths: tuple[int, ...], width: int, nets: int, seed: int):
    frames = []
    for setup in setups():
        for depth in depths:
            lam = js.sample_squared_singular_values(setup.activation, setup.initializer,
                                                    width, depth, nets, seed=seed).ravel()
            frames.append(pd.DataFrame({"label": setup.label, "activation": setup.activation,
                                        "initializer": setup.initializer, "role": setup.role,
                                        "weights": setup.weights, "depth": depth,
                                        "lambda": lam}))
    return pd.concat(frames, ignore_index=True)


def summary(spectra_frame, width: int | None = None):
    """Per (setup, depth): sampled mean and variance of lambda, the free-probability
    prediction of both (for `width`, default WIDTH), and the share of lambda within a factor
    BAND of 1."""
    width = width or WIDTH
    rows = []
    for (label, depth), group in spectra_frame.groupby(["label", "depth"], sort=False):
        first = group.iloc[0]
        lam = group["lambda"].to_numpy()
        predicted = js.predicted_moments(first["activation"], first["initializer"], width,
                                         int(depth))
        rows.append({"label": label, "depth": int(depth), "role": first["role"],
                     "mean": float(lam.mean()), "variance": float(lam.var()),
                     "predicted_mean": predicted["mean"],
                     "predicted_variance": predicted["variance"],
                     "near_one": float(((lam > 1 / BAND) & (lam < BAND)).mean())})
    return pd.DataFrame(rows)
