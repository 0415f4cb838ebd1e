"""The metrics layer: one definition of every figure nvmesim reports or compares.

Every consumer — the text report, the JSON, the frames, the HTML view, sensitivity and
sweeps — reads its numbers from here:

* :func:`replication_metrics` — one replication's figures, for all jobs together, either
  for both directions or for one (``direction="read"``);
* :func:`profile_share` — the perf-style CPU profile as shares of the job cores' time;
* :func:`summarize` — per variant and metric, the mean over replications with its 95%
  interval and, for every variant but the first (the baseline), the paired delta
  against the baseline with its interval (common random numbers pair replication ``r``
  with replication ``r``);
* :func:`delta_rows` — the deltas alone, in the form of the JSON's ``"deltas"`` list.

Metric names — ONE name per quantity, the same in every frame, view and file (the results
frame's column, the summary's and the deltas' ``metric`` value, the JSON's deltas, the
HTML view's header; a unit suffix ``_ns`` where the value has one):
``ios``, ``io_bytes``, ``iops``, ``bw_bytes``, ``{slat,clat,lat}_{mean,p50,p99,p99.9}_ns``;
the CPU profile in perf's two views, as shares of the job cores' measured time:
``cpu_<symbol>`` (self time, ``perf report --no-children``) and ``cpu_children_<symbol>``
(with callees, ``perf report``'s default) for every symbol, ``cpu_idle``;
``cpu_share_dma_pool_self`` / ``_children`` (dma_pool_alloc + dma_pool_free in each view),
``cpu_share_pool_lock`` (the pool locks: ``_raw_spin_lock_irqsave`` with its slowpath),
``cpu_share_lock_spin`` (waiting for another holder: the slowpath alone);
``nodes_per_op``, ``mean_depth``.

The empty-data convention, everywhere: a count or a rate is 0 when nothing happened
(no I/O: 0 IOPS; a label never charged: a share of 0); a statistic of a sample — a mean,
a percentile, a per-operation ratio — is NaN when the sample is empty.  Intervals from
fewer than two replications have NaN bounds (:mod:`.intervals`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

from .hist import LatencyHist, percentile_key
from .intervals import NAN, mean_interval, paired_interval
from .records import IDLE, PROFILE_LABELS, SYMBOLS, ReplicationResult, children_time, self_time

LAT_TYPES: tuple[str, ...] = ("slat", "clat", "lat")
#: latency statistics and the percentile each ``p`` stat reads (fio's percentile rule)
LAT_STATS: dict[str, float | None] = {"mean": None, "p50": 50.0, "p99": 99.0, "p99.9": 99.9}
_PCT_LIST = [p for p in LAT_STATS.values() if p is not None]


def lat_metric(kind: str, stat: str) -> str:
    """The metric name of a latency statistic: ``lat_metric("clat", "p99")`` -> ``clat_p99_ns``."""
    return f"{kind}_{stat}_ns"


#: The metrics variants are compared on (the JSON's deltas, the summary frame).
COMPARED: tuple[str, ...] = (
    *(lat_metric(k, s) for k in LAT_TYPES for s in LAT_STATS),
    "iops", "bw_bytes", "cpu_share_dma_pool_self", "cpu_share_dma_pool_children", "cpu_share_pool_lock",
    "cpu_share_lock_spin",
)


def profile_share(profile_ns: Mapping[str, float], core_ns: float) -> dict[str, float]:
    """Each call chain's share of the job cores' measured time and io-wq's CPU time (``idle`` included); every
    chain present, 0 for one never charged."""
    return {k: (profile_ns.get(k, 0.0) / core_ns if core_ns else 0.0) for k in (*PROFILE_LABELS, IDLE)}


def pooled_profile(reps: Sequence[ReplicationResult]) -> tuple[dict[str, float], float]:
    """The CPU profile of several replications: ns per chain summed, and their summed
    core time (what shares divide)."""
    ns = {k: sum(r.profile_ns.get(k, 0.0) for r in reps) for k in (*PROFILE_LABELS, IDLE)}
    return ns, sum(r.core_ns for r in reps)


def perf_views(profile_ns: Mapping[str, float], core_ns: float) -> tuple[dict[str, float], dict[str, float]]:
    """perf's two views of a profile, as shares of the measured core time: per symbol its
    self time (``perf report --no-children``) and its time with its callees (``perf
    report``, the default); ``idle`` in both."""
    idle = profile_ns.get(IDLE, 0.0) / core_ns if core_ns else 0.0
    views = []
    for view in (self_time(profile_ns), children_time(profile_ns)):
        shares = {k: (v / core_ns if core_ns else 0.0) for k, v in view.items()}
        shares[IDLE] = idle
        views.append(shares)
    return views[0], views[1]


def direction_hists(rep: ReplicationResult, direction: str | None = None) -> dict[str, LatencyHist]:
    """The slat/clat/lat histograms of all jobs merged, for one direction or both."""
    dirs = ("read", "write") if direction is None else (direction,)
    hists = {k: LatencyHist() for k in LAT_TYPES}
    for job in rep.jobs:
        for name in dirs:
            d = getattr(job, name)
            hists["slat"].merge(d.slat)
            hists["clat"].merge(d.clat)
            hists["lat"].merge(d.lat)
    return hists


def replication_metrics(rep: ReplicationResult, direction: str | None = None) -> dict[str, float]:
    """One replication's metrics, all jobs together; ``direction`` "read"/"write" limits
    the I/O figures to one direction (the CPU and pool figures are the replication's).

    ``ios`` and ``io_bytes`` are the I/Os and bytes completed in the window.  IOPS and
    bandwidth follow fio's arithmetic per job and direction (``iops = 1000 * total_ios /
    runtime_ms``, ``bw_bytes`` integer-truncated) and are summed over jobs and
    directions, as fio's group aggregate adds its jobs' rates."""
    dirs = ("read", "write") if direction is None else (direction,)
    out: dict[str, float] = {"ios": 0, "io_bytes": 0, "iops": 0.0, "bw_bytes": 0.0}
    for job in rep.jobs:
        for name in dirs:
            d = getattr(job, name)
            out["ios"] += d.total_ios
            out["io_bytes"] += d.io_bytes
            out["iops"] += d.iops
            out["bw_bytes"] += d.bw_bytes
    for kind, h in direction_hists(rep, direction).items():
        pct = h.percentiles(_PCT_LIST) if h.n else {}
        for stat, p in LAT_STATS.items():
            if not h.n:
                out[lat_metric(kind, stat)] = NAN
            elif p is None:
                out[lat_metric(kind, stat)] = h.mean
            else:
                out[lat_metric(kind, stat)] = float(pct[percentile_key(p)])
    own, kids = perf_views(rep.profile_ns, rep.core_ns)
    for sym, share in own.items():
        out[f"cpu_{sym}"] = share
    for sym in SYMBOLS:
        out[f"cpu_children_{sym}"] = kids[sym]
    out["cpu_share_dma_pool_self"] = own["dma_pool_alloc"] + own["dma_pool_free"]
    out["cpu_share_dma_pool_children"] = kids["dma_pool_alloc"] + kids["dma_pool_free"]
    out["cpu_share_pool_lock"] = kids["_raw_spin_lock_irqsave"]
    out["cpu_share_lock_spin"] = own["native_queued_spin_lock_slowpath"]
    ops = sum(p.ops for p in rep.pools)
    out["nodes_per_op"] = sum(p.nodes for p in rep.pools) / ops if ops else NAN
    out["mean_depth"] = sum(rep.mean_depth)
    return out


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One variant's one metric over replications; deltas only for non-baseline variants."""

    variant: str
    baseline: str
    metric: str
    mean: float
    ci_low: float
    ci_high: float
    replications: int
    #: paired over the replications both variants completed
    baseline_value: float = NAN
    variant_value: float = NAN
    delta: float = NAN
    delta_pct: float = NAN
    delta_ci_low: float = NAN
    delta_ci_high: float = NAN
    paired: int = 0

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


#: per variant (first = baseline), per replication index, the metrics of that replication
Metrics = Mapping[str, Mapping[int, Mapping[str, float]]]


def summarize(metrics: Metrics, names: Sequence[str] = COMPARED) -> list[SummaryRow]:
    """Means with 95% intervals per variant and metric, and paired deltas vs the baseline.

    Pairs are formed by replication index, so a failed replication of one variant drops
    only that pair."""
    variants = list(metrics)
    if not variants:
        return []
    base = variants[0]
    base_reps = metrics[base]
    rows = []
    for v in variants:
        reps = metrics[v]
        if not reps:
            continue
        common = sorted(set(reps) & set(base_reps)) if v != base else []
        for name in names:
            m = mean_interval([reps[r][name] for r in sorted(reps)])
            row = SummaryRow(v, base, name, m.mean, m.low, m.high, m.n)
            if common:
                xs = [reps[r][name] for r in common]
                bs = [base_reps[r][name] for r in common]
                d = paired_interval(xs, bs)
                bmean = sum(bs) / len(bs)
                row = SummaryRow(v, base, name, m.mean, m.low, m.high, m.n, baseline_value=bmean,
                                 variant_value=sum(xs) / len(xs), delta=d.mean,
                                 delta_pct=100.0 * d.mean / bmean if bmean else NAN,
                                 delta_ci_low=d.low, delta_ci_high=d.high, paired=d.n)
            rows.append(row)
    return rows


def delta_rows(rows: Sequence[SummaryRow]) -> list[dict[str, float | int | str]]:
    """The paired deltas of :func:`summarize`'s non-baseline rows, as the JSON's
    ``"deltas"`` list and the deltas frame: the metric by its one name, the delta's 95%
    paired-t interval as ``delta_ci_low``/``delta_ci_high`` (as in the summary frame, where
    ``ci_low``/``ci_high`` are always the interval of a mean)."""
    out = []
    for r in rows:
        if r.variant == r.baseline or not r.paired:
            continue
        out.append({"metric": r.metric, "baseline": r.baseline, "variant": r.variant,
                    "baseline_value": r.baseline_value, "variant_value": r.variant_value, "delta": r.delta,
                    "delta_pct": r.delta_pct, "delta_ci_low": r.delta_ci_low, "delta_ci_high": r.delta_ci_high,
                    "paired": r.paired})
    return out
