"""Tidy pandas frames from results: the raw per-replication rows, their summary, the
paired deltas, the per-variant overview, and the latency histograms.  Every number comes
from :mod:`nvmesim.stats.metrics`, and a metric has ONE name in all of them (the results
column, the ``metric`` value of the summary and the deltas, the overview's column):
``clat_mean_ns``, ``clat_p99_ns``, ``iops``, ``cpu_share_dma_pool_self``, ...

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
    error (None, or the error text of a failed point/replication)

``hists`` frame — the latency histograms, long form (one row per non-empty fio bucket):

    point, <swept paths...>, variant, replication, direction, kind ("slat"/"clat"/"lat"),
    bin_ns (the bucket's value, fio's plat_idx_to_val: json+'s "bins" key), count

``summary`` frame — one row per point x variant x metric (long form, for seaborn):

    point, <swept paths...>, variant, baseline, metric, mean, ci_low, ci_high,
    replications, baseline_value, variant_value, delta, delta_pct, delta_ci_low,
    delta_ci_high, paired

``deltas`` frame — the summary's non-baseline rows that have pairs:

    metric, baseline, variant, baseline_value, variant_value, delta, delta_pct,
    delta_ci_low, delta_ci_high, paired

The CI columns have one meaning each, everywhere: ``ci_low``/``ci_high`` are the 95%
t interval of a MEAN over replications; ``delta_ci_low``/``delta_ci_high`` the 95%
paired-t interval of a DELTA (variant − baseline; common random numbers pair
replication r with replication r).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from ..stats.metrics import LAT_TYPES, Metrics, direction_hists, replication_metrics, summarize
from ..stats.records import ReplicationResult

DIRECTIONS = ("read", "write")


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
        row.update(m)
        row["error"] = None
        rows.append(row)
    return rows


def hist_rows(rep: ReplicationResult, params: Mapping[str, Any] | None = None,
              point: int = 0) -> list[dict[str, Any]]:
    """The long-form histogram rows of one replication: one per direction x latency kind
    x non-empty fio bucket (``bin_ns``, ``count``)."""
    params = dict(params or {})
    rows = []
    for direction in DIRECTIONS:
        for kind, h in direction_hists(rep, direction).items():
            head = {"point": point, **params, "variant": rep.variant, "replication": rep.replication,
                    "direction": direction, "kind": kind}
            rows += [{**head, "bin_ns": int(b), "count": int(c)} for b, c in h.bins().items()]
    return rows


HIST_COLUMNS = ("point", "variant", "replication", "direction", "kind", "bin_ns", "count")


def hist_frame(replications: Mapping[str, Sequence[ReplicationResult]], params: Mapping[str, Any] | None = None,
               point: int = 0) -> pd.DataFrame:
    """Every replication's latency histograms as one long-form table (:func:`hist_rows`)."""
    rows = [r for reps in replications.values() for rep in reps for r in hist_rows(rep, params, point)]
    cols = ["point", *dict(params or {}), *HIST_COLUMNS[1:]]
    return pd.DataFrame(rows, columns=cols)


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


#: the overview's metrics (its columns, by their one name) and how the HTML view shows
#: them: metric -> (display unit, scale from the metric's unit)
OVERVIEW: dict[str, tuple[str, float]] = {
    "iops": ("IOPS", 1.0),
    "bw_bytes": ("MB/s", 1e-6),
    **{f"{k}_mean_ns": ("µs", 1e-3) for k in LAT_TYPES},
    "clat_p99_ns": ("µs", 1e-3),
    "cpu_share_dma_pool_self": ("%", 100.0),
    "cpu_share_dma_pool_children": ("%", 100.0),
    "cpu_share_pool_lock": ("%", 100.0),
}


def overview_frame(metrics: Metrics, errors: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """One row per variant: the means over replications of the headline metrics, in the
    metrics' own units (ns, bytes/s, shares); a variant whose every replication failed:
    its errors."""
    by = {(r.variant, r.metric): r for r in summarize(metrics, list(OVERVIEW))}
    rows = []
    for v, reps in metrics.items():
        if not reps:
            rows.append({"variant": v, "error": "; ".join(e.splitlines()[0] for e in errors.get(v, []))})
            continue
        row: dict[str, Any] = {"variant": v}
        for metric in OVERVIEW:
            row[metric] = by[(v, metric)].mean
        row["replications"] = len(reps)
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame of metric columns for people: each known metric scaled to its display unit
    (:data:`OVERVIEW`), under a two-level header (metric name, unit), so a column keeps
    its one name and still reads in µs or %."""
    cols, data = [], {}
    for c in frame.columns:
        unit, scale = OVERVIEW.get(c, ("", 1.0))
        if c.endswith("_ns") and c not in OVERVIEW:
            unit, scale = "µs", 1e-3
        cols.append((c, unit))
        data[(c, unit)] = frame[c] * scale if scale != 1.0 else frame[c]
    out = pd.DataFrame(data, index=frame.index)
    out.columns = pd.MultiIndex.from_tuples(cols)
    return out


#: the parquet metadata key under which nvmesim stores a frame's provenance
PARQUET_KEY = b"nvmesim"


def parquet_bytes(frame: pd.DataFrame, provenance: Mapping[str, Any] | None = None) -> bytes:
    """``frame`` as a parquet file (bytes), its provenance (nvmesim's version, the root
    seed, the effective config, ...) as JSON under the schema metadata key ``nvmesim``
    beside pandas' own."""
    import io
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    if provenance is not None:
        meta[PARQUET_KEY] = json.dumps(provenance, sort_keys=True, default=str).encode()
    table = table.replace_schema_metadata(meta)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def parquet_provenance(path: str) -> dict[str, Any] | None:
    """The provenance :func:`parquet_bytes` stored in a parquet file (None: none stored)."""
    import json

    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[PARQUET_KEY]) if PARQUET_KEY in meta else None


def deltas_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The JSON's delta rows as a DataFrame (the columns in the module docstring, also
    when there are none)."""
    cols = ["metric", "baseline", "variant", "baseline_value", "variant_value", "delta", "delta_pct",
            "delta_ci_low", "delta_ci_high", "paired"]
    return pd.DataFrame(list(rows), columns=cols)
