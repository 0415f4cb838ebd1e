"""Tidy pandas frames from results: the raw per-replication rows and their summary.

``results`` frame — one row per point x variant x replication x direction:

    point (int), <swept dotted paths...>, variant, replication, direction ("read"/"write"),
    ios, io_bytes, iops, bw_bytes,
    slat_mean_ns, slat_p50_ns, slat_p99_ns, slat_p99.9_ns, (same for clat_, lat_),
    cpu_<label> for every profile label and cpu_idle (share of the job CPUs' time,
        the same on both direction rows of a replication),
    cpu_share_dma_pool (= cpu_dma_pool_alloc + cpu_dma_pool_free),
    nodes_per_op (legacy list walk; 0 for stack), mean_depth,
    slat_bins, clat_bins, lat_bins (fio json+ bins as JSON text: {"<ns>": count}),
    error (None, or the error text of a failed point/replication)

``summary`` frame — one row per point x variant x metric (long form, for seaborn):

    point, <swept paths...>, variant, baseline, metric, mean, ci_low, ci_high,
    delta, delta_pct, delta_ci_low, delta_ci_high, replications

with ``metric`` in ``slat_ns.mean``, ``slat_ns.p50``, ..., ``iops``, ``bw_bytes``,
``cpu_share_dma_pool``, ``cpu_share_spin_lock``; means over replications with a 95%
t interval, and for non-baseline variants the paired delta vs the baseline (first)
variant with its paired-t interval (common random numbers pair replication r).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from .compare import LAT_METRICS, LAT_STATS, SCALAR_METRICS, paired_ci, replication_metrics, t975
from .sim.cpu import LABELS

if TYPE_CHECKING:
    from .api import RunResult
    from .model import ReplicationResult

PCT_KEYS = {"p50": "50.000000", "p99": "99.000000", "p99.9": "99.900000"}


def replication_rows(rep: "ReplicationResult", params: Mapping[str, Any] | None = None,
                     point: int = 0) -> list[dict[str, Any]]:
    """The tidy rows of one replication (one per direction that did I/O)."""
    from .stats import LatencyHist

    params = dict(params or {})
    share = rep.profile_share()
    cpu = {f"cpu_{k}": share.get(k, 0.0) for k in (*LABELS, "idle")}
    cpu["cpu_share_dma_pool"] = share.get("dma_pool_alloc", 0.0) + share.get("dma_pool_free", 0.0)
    nodes = max((p["nodes_per_op"] for p in rep.pools.values()), default=0.0)
    seconds = rep.window_ns / 1e9
    rows = []
    for direction in ("read", "write"):
        hists: dict[str, LatencyHist] = {"slat": LatencyHist(), "clat": LatencyHist(), "lat": LatencyHist()}
        ios = nbytes = 0
        for job in rep.jobs:
            d = getattr(job, direction)
            hists["slat"].merge(d.slat)
            hists["clat"].merge(d.clat)
            hists["lat"].merge(d.lat)
            ios += d.total_ios
            nbytes += d.io_bytes
        if not ios:
            continue
        row: dict[str, Any] = {"point": point, **params, "variant": rep.variant, "replication": rep.replication,
                               "direction": direction, "ios": ios, "io_bytes": nbytes,
                               "iops": ios / seconds, "bw_bytes": nbytes / seconds}
        for name, h in hists.items():
            pct = h.percentiles([50.0, 99.0, 99.9]) if h.n else {}
            row[f"{name}_mean_ns"] = h.mean if h.n else math.nan
            for stat, key in PCT_KEYS.items():
                row[f"{name}_{stat}_ns"] = float(pct[key]) if key in pct else math.nan
        row.update(cpu)
        row["nodes_per_op"] = nodes
        row["mean_depth"] = sum(rep.mean_depth)
        for name, h in hists.items():
            row[f"{name}_bins"] = json.dumps(h.bins())
        row["error"] = None
        rows.append(row)
    return rows


def results_frame(result: "RunResult", params: Mapping[str, Any] | None = None, point: int = 0) -> pd.DataFrame:
    """All replications of all variants of one run as tidy rows."""
    rows = []
    for v in result.variants:
        for rep in result.replications[v]:
            rows += replication_rows(rep, params, point)
        for err in result.errors.get(v, []):
            rows.append({"point": point, **dict(params or {}), "variant": v, "replication": -1,
                         "direction": None, "error": err})
    return pd.DataFrame(rows)


def _mean_ci(xs: list[float]) -> tuple[float, float, float]:
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, math.nan, math.nan
    half = t975(n - 1) * math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n)
    return m, m - half, m + half


def summary_rows(metrics: dict[str, list[dict]], params: Mapping[str, Any] | None = None,
                 point: int = 0) -> list[dict[str, Any]]:
    """Summary rows of one point from per-replication metric dicts (see
    :func:`point_metrics`): ``metrics[variant][r]["clat_ns.mean"]`` etc."""
    params = dict(params or {})
    variants = list(metrics)
    if not variants:
        return []
    base = variants[0]
    names = [f"{m}.{s}" for m in LAT_METRICS for s in LAT_STATS] + list(SCALAR_METRICS)
    rows = []
    for v in variants:
        reps = metrics[v]
        if not reps:
            continue
        for name in names:
            xs = [r[name] for r in reps]
            mean, lo, hi = _mean_ci(xs)
            row = {"point": point, **params, "variant": v, "baseline": base, "metric": name, "mean": mean,
                   "ci_low": lo, "ci_high": hi, "delta": math.nan, "delta_pct": math.nan,
                   "delta_ci_low": math.nan, "delta_ci_high": math.nan, "replications": len(xs)}
            if v != base:
                b = [r[name] for r in metrics[base]]
                n = min(len(b), len(xs))
                if n:
                    d, dlo, dhi = paired_ci([xs[i] - b[i] for i in range(n)])
                    bmean = sum(b[:n]) / n
                    row.update(delta=d, delta_pct=100.0 * d / bmean if bmean else math.nan,
                               delta_ci_low=math.nan if dlo is None else dlo,
                               delta_ci_high=math.nan if dhi is None else dhi)
            rows.append(row)
    return rows


def point_metrics(result: "RunResult") -> dict[str, list[dict[str, float]]]:
    """Per variant, per replication: the compared metrics as ``{"clat_ns.mean": ...}``."""
    out: dict[str, list[dict[str, float]]] = {}
    for v in result.variants:
        out[v] = []
        for rep in result.replications[v]:
            m = replication_metrics(rep)
            out[v].append({(f"{k[0]}.{k[1]}" if k[1] != "value" else k[0]): float(x) for k, x in m.items()})
    return out


def summary_frame(result: "RunResult", params: Mapping[str, Any] | None = None, point: int = 0) -> pd.DataFrame:
    """Means with 95% CIs per variant and metric, plus paired deltas vs the baseline."""
    return pd.DataFrame(summary_rows(point_metrics(result), params, point))
