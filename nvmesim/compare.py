"""Variant comparison: paired deltas with t confidence intervals across replications.

Replication ``r`` of every variant runs on the same random streams (common
random numbers), so the difference ``variant_r - baseline_r`` removes most of
the noise both share; the interval is the paired-t interval of those
differences (Law & Kelton, "Simulation Modeling and Analysis", §10.2).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .stats import LatencyHist

if TYPE_CHECKING:
    from .api import RunResult
    from .model import ReplicationResult

LAT_METRICS = ("slat_ns", "clat_ns", "lat_ns")
LAT_STATS = ("mean", "p50", "p99", "p99.9")
SCALAR_METRICS = ("iops", "bw_bytes", "cpu_share_dma_pool", "cpu_share_spin_lock")

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


def paired_ci(diffs: list[float]) -> tuple[float, float | None, float | None]:
    """Mean difference and its 95% paired-t interval (None with one replication)."""
    n = len(diffs)
    mean = sum(diffs) / n
    if n < 2:
        return mean, None, None
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    half = t975(n - 1) * math.sqrt(var / n)
    return mean, mean - half, mean + half


def replication_metrics(rep: "ReplicationResult") -> dict[tuple[str, str], float]:
    """The compared metrics of one replication, all jobs and both directions together."""
    hists = {"slat_ns": LatencyHist(), "clat_ns": LatencyHist(), "lat_ns": LatencyHist()}
    ios = nbytes = 0
    for job in rep.jobs:
        for d in (job.read, job.write):
            hists["slat_ns"].merge(d.slat)
            hists["clat_ns"].merge(d.clat)
            hists["lat_ns"].merge(d.lat)
            ios += d.total_ios
            nbytes += d.io_bytes
    out: dict[tuple[str, str], float] = {}
    for name, h in hists.items():
        pct = h.percentiles([50.0, 99.0, 99.9]) if h.n else {}
        out[(name, "mean")] = h.mean if h.n else 0.0
        for stat, key in (("p50", "50.000000"), ("p99", "99.000000"), ("p99.9", "99.900000")):
            out[(name, stat)] = float(pct.get(key, 0.0))
    seconds = rep.window_ns / 1e9
    out[("iops", "value")] = ios / seconds if seconds else 0.0
    out[("bw_bytes", "value")] = nbytes / seconds if seconds else 0.0
    share = rep.profile_share()
    out[("cpu_share_dma_pool", "value")] = share.get("dma_pool_alloc", 0.0) + share.get("dma_pool_free", 0.0)
    out[("cpu_share_spin_lock", "value")] = share.get("spin_lock", 0.0)
    return out


def deltas(result: "RunResult") -> list[dict[str, Any]]:
    """Every variant against the first (the baseline), metric by metric, paired by replication."""
    names = result.variants
    base = names[0]
    base_m = [replication_metrics(r) for r in result.replications[base]]
    rows = []
    for v in names[1:]:
        var_m = [replication_metrics(r) for r in result.replications[v]]
        n = min(len(base_m), len(var_m))
        if n == 0:
            continue
        keys = [(m, s) for m in LAT_METRICS for s in LAT_STATS] + [(m, "value") for m in SCALAR_METRICS]
        for key in keys:
            b = [base_m[i][key] for i in range(n)]
            x = [var_m[i][key] for i in range(n)]
            mean, lo, hi = paired_ci([x[i] - b[i] for i in range(n)])
            bmean = sum(b) / n
            rows.append(
                {
                    "metric": key[0],
                    "stat": key[1],
                    "baseline": base,
                    "variant": v,
                    "baseline_value": bmean,
                    "variant_value": sum(x) / n,
                    "delta": mean,
                    "delta_pct": 100.0 * mean / bmean if bmean else None,
                    "ci_low": lo,
                    "ci_high": hi,
                    "replications": n,
                }
            )
    return rows
