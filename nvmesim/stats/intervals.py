"""Confidence intervals across replications: the one interval helper.

Replications are independent, so a metric's mean over them has a Student-t interval;
replication ``r`` of every variant runs on the same random streams (common random
numbers), so a difference ``variant_r - baseline_r`` removes most of the noise both share
and its interval is the paired-t interval of those differences (Law & Kelton,
"Simulation Modeling and Analysis", §10.2).

Convention: an interval from fewer than two values has NaN bounds (its mean is still the
mean), and NaN values propagate (a metric undefined in some replication gives NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

NAN = float("nan")

# two-sided 95% Student t quantiles t_{0.975, df}, df = 1..30
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """Student's t 97.5% quantile (table to 30 df, Cornish-Fisher expansion beyond)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if df <= 30:
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean over ``n`` values and its 95% t interval [low, high] (NaN if n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def mean_interval(xs: Sequence[float]) -> Interval:
    """The mean of ``xs`` with its 95% t interval."""
    n = len(xs)
    if n == 0:
        return Interval(NAN, NAN, NAN, 0)
    m = sum(xs) / n
    if n < 2:
        return Interval(m, NAN, NAN, n)
    half = t975(n - 1) * math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n)
    return Interval(m, m - half, m + half, n)


def paired_interval(xs: Sequence[float], base: Sequence[float]) -> Interval:
    """The mean of ``xs[i] - base[i]`` with its 95% paired-t interval."""
    if len(xs) != len(base):
        raise ValueError(f"paired samples differ in length: {len(xs)} vs {len(base)}")
    return mean_interval([x - b for x, b in zip(xs, base)])
