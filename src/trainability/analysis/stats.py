"""The statistical tests of Table 1 and the claims ledger, each defined once (scipy.stats).

Every test returns NaN rather than raising when it is undefined (too few values), and says
what it does with zero variance, where scipy's t statistic is undefined.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import stats

#: Confidence level of Table 1's intervals.
CI_LEVEL = 0.95


def ci_halfwidth(values: np.ndarray, level: float = CI_LEVEL) -> float:
    """Student-t half-width of the mean's `level` CI; NaN for fewer than 2 values."""
    n = len(values)
    if n < 2:
        return math.nan
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch t-test p-value; NaN when a sample has < 2 values; when both have zero
    variance, 1 if the means are equal and 0 otherwise."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.var(a, ddof=1) == 0 and np.var(b, ddof=1) == 0:
        return 1.0 if np.mean(a) == np.mean(b) else 0.0
    with warnings.catch_warnings():  # "nearly identical data" precision warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def welch_less(a: Any, b: Any) -> float:
    """One-sided Welch t-test p-value for mean(a) < mean(b) (scipy.stats.ttest_ind,
    equal_var=False, alternative="less"). NaN when a side has fewer than 2 values; when both
    sides have zero variance, 0 if mean(a) < mean(b) else 1."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.var(a, ddof=1) == 0 and np.var(b, ddof=1) == 0:
        return 0.0 if np.mean(a) < np.mean(b) else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)


def signed_rank_less(x: Iterable[float]) -> dict[str, Any]:
    """One-sided Wilcoxon signed-rank test of H1: x tends to be < 0 (x = paired differences).
    All-zero differences give p = 1; no values, p = NaN."""
    x = np.asarray(list(x), dtype=float)
    x = x[np.isfinite(x)]
    result = {"test": "Wilcoxon signed-rank, one-sided", "n": len(x),
              "mean": float(np.mean(x)) if len(x) else math.nan,
              "median": float(np.median(x)) if len(x) else math.nan, "p": math.nan}
    if len(x) == 0:
        return result
    if not np.any(x != 0):
        result["p"] = 1.0
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result["p"] = float(stats.wilcoxon(x, alternative="less").pvalue)
    return result


def t_less(x: Iterable[float], popmean: float) -> dict[str, Any]:
    """One-sided one-sample t-test of H1: mean(x) < popmean (scipy.stats.ttest_1samp).
    Fewer than 2 values: p = NaN; zero variance: p = 0 if mean < popmean else 1."""
    x = np.asarray(list(x), dtype=float)
    x = x[np.isfinite(x)]
    result = {"test": "one-sample t-test, one-sided", "n": len(x), "popmean": popmean,
              "mean": float(np.mean(x)) if len(x) else math.nan, "p": math.nan}
    if len(x) < 2:
        return result
    if np.var(x, ddof=1) == 0:
        result["p"] = 0.0 if np.mean(x) < popmean else 1.0
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result["p"] = float(stats.ttest_1samp(x, popmean, alternative="less").pvalue)
    return result


def fisher_less(k_a: int, k_b: int, n: int) -> float:
    """One-sided Fisher exact test p-value that `k_a` events out of `n` are fewer than `k_b`
    out of `n` (the 2x2 table [[k_a, n - k_a], [k_b, n - k_b]])."""
    table = [[k_a, n - k_a], [k_b, n - k_b]]
    return float(stats.fisher_exact(table, alternative="less").pvalue)


def kendall_tau(x: Iterable[float], y: Iterable[float]) -> tuple[float, float]:
    """Kendall's tau between two orders, and its p-value (scipy.stats.kendalltau)."""
    result = stats.kendalltau(list(x), list(y))
    return float(result.statistic), float(result.pvalue)
