"""Tidy pandas frames from results: the raw per-replication rows, their summary, and the
per-variant overview.  Every number comes from :mod:`nvmesim.stats.metrics`.

``results`` frame — one row per point x variant x replication x direction:

    point (int), <swept dotted paths...>, variant, replication, direction ("read"/"write"),
    ios, io_bytes, iops, bw_bytes,
    slat_mean_ns, slat_p50_ns, slat_p99_ns, slat_p99.9_ns, (same for clat_, lat_),
    cpu_<symbol> (self time) and cpu_children_<symbol> (with callees) for every perf
        symbol of the profile, cpu_idle (shares of the job CPUs' time, the same on both
        direction rows of a replication),
    cpu_share_dma_pool_self, cpu_share_dma_pool_children (dma_pool_alloc + dma_pool_free
        in each view), cpu_share_pool_lock, cpu_share_lock_spin,
    nodes_per_op (list descriptors walked per pool operation; 0 for stack, NaN without
    pool operations), mean_depth,
    slat_bins, clat_bins, lat_bins (fio json+ bins as JSON text: {"<ns>": count}),
    error (None, or the error text of a failed point/replication)

``summary`` frame — one row per point x variant x metric (long form, for seaborn):

    point, <swept paths...>, variant, baseline, metric, mean, ci_low, ci_high,
    replications, baseline_value, variant_value, delta, delta_pct, delta_ci_low,
    delta_ci_high, paired

with ``metric`` in ``slat_ns.mean``, ``slat_ns.p50``, ..., ``iops``, ``bw_bytes``,
``cpu_share_dma_pool.self``, ``cpu_share_dma_pool.children``, ``cpu_share_pool_lock``,
``cpu_share_lock_spin``; means over replications with a 95%
t interval, and for non-baseline variants the paired delta vs the baseline (first)
variant with its paired-t interval (common random numbers pair replication r).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pandas as pd

from ..stats.metrics import LAT_TYPES, Metrics, direction_hists, replication_metrics, summarize
from ..stats.records import ReplicationResult

DIRECTIONS = ("read", "write")


def column_name(metric: str) -> str:
    """The results-frame column of a metric: ``clat_ns.p99`` -> ``clat_p99_ns``,
    ``cpu.fio`` -> ``cpu_fio``, ``cpu_share_dma_pool.self`` -> ``cpu_share_dma_pool_self``."""
    head, dot, stat = metric.partition(".")
    if not dot:
        return metric
    if head.endswith("_ns"):
        return f"{head.removesuffix('_ns')}_{stat}_ns"
    return f"{head}_{stat}"


def replication_rows(rep: ReplicationResult, params: Mapping[str, Any] | None = None,
                     point: int = 0) -> list[dict[str, Any]]:
    """The tidy rows of one replication (one per direction that did I/O)."""
    params = dict(params or {})
    rows = []
    for direction in DIRECTIONS:
        m = replication_metrics(rep, direction)
        if not m["ios"]:
            continue
        row: dict[str, Any] = {"point": point, **params, "variant": rep.variant, "replication": rep.replication,
                               "direction": direction}
        row.update({column_name(k): v for k, v in m.items()})
        for kind, h in direction_hists(rep, direction).items():
            row[f"{kind}_bins"] = json.dumps(h.bins())
        row["error"] = None
        rows.append(row)
    return rows


def error_row(point: int, params: Mapping[str, Any] | None, variant: str | None, error: str) -> dict[str, Any]:
    """The row of a failed replication or point."""
    return {"point": point, **dict(params or {}), "variant": variant, "replication": -1, "direction": None,
            "error": error}


def results_frame(replications: Mapping[str, Sequence[ReplicationResult]], errors: Mapping[str, Sequence[str]],
                  params: Mapping[str, Any] | None = None, point: int = 0) -> pd.DataFrame:
    """All replications of all variants of one run as tidy rows (a failed replication:
    a row with its error)."""
    rows = []
    for v, reps in replications.items():
        for rep in reps:
            rows += replication_rows(rep, params, point)
        for err in errors.get(v, []):
            rows.append(error_row(point, params, v, err))
    return pd.DataFrame(rows)


def summary_rows(metrics: Metrics, params: Mapping[str, Any] | None = None, point: int = 0) -> list[dict[str, Any]]:
    """The summary rows of one point from its per-variant, per-replication metrics."""
    params = dict(params or {})
    return [{"point": point, **params, **row.as_dict()} for row in summarize(metrics)]


def summary_frame(metrics: Metrics, params: Mapping[str, Any] | None = None, point: int = 0) -> pd.DataFrame:
    """Means with 95% CIs per variant and metric, plus paired deltas vs the baseline."""
    return pd.DataFrame(summary_rows(metrics, params, point))


#: the overview's columns: label -> (metric, scale)
OVERVIEW: dict[str, tuple[str, float]] = {
    "IOPS": ("iops", 1.0),
    "BW (MB/s)": ("bw_bytes", 1e-6),
    **{f"{k} mean (µs)": (f"{k}_ns.mean", 1e-3) for k in LAT_TYPES},
    "clat p99 (µs)": ("clat_ns.p99", 1e-3),
    "dma_pool CPU % (self)": ("cpu_share_dma_pool.self", 100.0),
    "dma_pool CPU % (children)": ("cpu_share_dma_pool.children", 100.0),
    "pool lock CPU %": ("cpu_share_pool_lock", 100.0),
}


def overview_frame(metrics: Metrics, errors: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """One row per variant: the means over replications of the headline metrics (a variant
    whose every replication failed: its errors)."""
    by = {(r.variant, r.metric): r for r in summarize(metrics, [m for m, _ in OVERVIEW.values()])}
    rows = []
    for v, reps in metrics.items():
        if not reps:
            rows.append({"variant": v, "error": "; ".join(e.splitlines()[0] for e in errors.get(v, []))})
            continue
        row: dict[str, Any] = {"variant": v}
        for label, (metric, scale) in OVERVIEW.items():
            row[label] = by[(v, metric)].mean * scale
        row["replications"] = len(reps)
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def deltas_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The JSON's delta rows as a DataFrame."""
    return pd.DataFrame(list(rows))
