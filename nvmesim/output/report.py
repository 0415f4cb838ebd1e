"""Human-readable output: a fio-style summary per variant, the CPU profile, the delta table.

Every figure comes from the records' fio arithmetic (:class:`~nvmesim.stats.records.DirResult`)
or from the metrics layer (:mod:`nvmesim.stats.metrics`); nothing is computed here.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..config import Workload
from ..stats.hist import LatencyHist
from ..stats.metrics import perf_views, pooled_profile
from ..stats.records import DirResult, JobResult, ReplicationResult, group_jobs, merge_replications
from .fiojson import agg_percent, depth_distributions, group_aggregates


def _si(x: float) -> str:
    """fio-style IOPS: 412k, 1.2M."""
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.1f}{unit}"
    return f"{x:.0f}"


def _lat_unit(h: LatencyHist) -> tuple[str, float]:
    """fio picks nsec/usec/msec so numbers stay readable."""
    m = h.max if h.n else 0
    if m >= 10_000_000:
        return "msec", 1e6
    if m >= 10_000:
        return "usec", 1e3
    return "nsec", 1.0


def _lat_line(name: str, h: LatencyHist) -> str:
    unit, div = _lat_unit(h)
    return (
        f"    {name:>4} ({unit}): min={h.min / div:.0f}, max={h.max / div:.0f}, "
        f"avg={h.mean / div:.2f}, stdev={h.stddev / div:.2f}"
    )


def _percentiles(name: str, h: LatencyHist, plist: list[float]) -> list[str]:
    unit, div = _lat_unit(h)
    pct = h.percentiles(plist)
    items = [f"{float(k):5.2f}th=[{v / div:7.0f}]" for k, v in pct.items()]
    lines = [f"    {name} percentiles ({unit}):"]
    for i in range(0, len(items), 4):
        lines.append("     | " + ", ".join(items[i:i + 4]) + ",")
    lines[-1] = lines[-1].rstrip(",")
    return lines


def _rate_lines(d: DirResult, agg_bytes: int) -> list[str]:
    """fio's ``bw (KiB/s):`` and ``iops :`` sample lines (show_ddir_status), when sampled."""
    lines = []
    b = d.bw_stat
    if b.n:
        lo, hi, mean, dev, unit = b.min, b.max, b.mean, b.stddev, "KiB"
        per = agg_percent(agg_bytes, mean)
        if mean > 1024 * 1024:  # fio switches to MiB/s (integer min/max, as fio's divisions)
            lo, hi, mean, dev, unit = lo // 1024, hi // 1024, mean / 1024, dev / 1024, "MiB"
        lines.append(f"   bw ({unit:>5}/s): min={lo:5d}, max={hi:5d}, per={per:3.2f}%, avg={mean:5.02f}, "
                     f"stdev={dev:5.02f}, samples={b.n}")
    i = d.iops_stat
    if i.n:
        lines.append(f"   iops        : min={i.min:5d}, max={i.max:5d}, avg={i.mean:5.02f}, stdev={i.stddev:5.02f}, "
                     f"samples={i.n}")
    return lines


def _depth_lines(g: JobResult) -> list[str]:
    """fio's ``IO depths``, ``submit``, ``complete``, ``issued rwts`` and ``latency`` lines."""
    level, submit, complete = depth_distributions(g)

    def dist(d: dict[str, float]) -> str:
        return ", ".join(f"{k}={v:3.1f}%" for k, v in d.items())

    return [
        f"  IO depths    : {dist(level)}",
        f"     submit    : {dist(submit)}",
        f"     complete  : {dist(complete)}",
        f"     issued rwts: total={g.read.total_ios},{g.write.total_ios},{g.trim.total_ios},0 "
        f"short={g.read.short_ios},{g.write.short_ios},{g.trim.short_ios},0 "
        f"dropped={g.read.drop_ios},{g.write.drop_ios},{g.trim.drop_ios},0",
        f"     latency   : target={g.latency_target}, window={g.latency_window}, "
        f"percentile={g.latency_percentile:.2f}%, depth={g.latency_depth}",
    ]


def _dir_block(ddir: str, d: DirResult, plist: list[float], w, agg_bytes: int) -> list[str]:
    iops, bw = d.iops, d.bw_bytes
    lines = [
        f"  {ddir}: IOPS={_si(iops)}, BW={bw / 2**20:.1f}MiB/s ({bw / 1e6:.1f}MB/s)"
        f"({d.io_bytes / 2**20:.1f}MiB/{d.runtime_ms}msec)"
    ]
    if d.slat.n:  # show_ddir_status prints a latency only if calc_lat found samples (none with sqthread_poll)
        lines.append(_lat_line("slat", d.slat))
    lines.append(_lat_line("clat", d.clat))
    lines.append(_lat_line("lat", d.lat))
    if w.slat_percentiles and d.slat.n:
        lines += _percentiles("slat", d.slat, plist)
    if w.clat_percentiles and d.clat.n:
        lines += _percentiles("clat", d.clat, plist)
    if w.lat_percentiles and d.lat.n:
        lines += _percentiles("lat", d.lat, plist)
    return lines + _rate_lines(d, agg_bytes)


def summary(w: Workload, replications: Mapping[str, Sequence[ReplicationResult]],
            errors: Mapping[str, Sequence[str]], deltas: Sequence[Mapping[str, Any]]) -> str:
    """fio's normal output, one group per variant (its jobs and replications merged), then
    the CPU profile, the pools, and the delta table."""
    out: list[str] = []
    for v, reps in replications.items():
        if not reps:
            out.append(f"{w.name}: variant={v}: all replications failed")
            for e in errors.get(v, []):
                out.append("  " + e.splitlines()[0])
            continue
        jobs = merge_replications(reps)
        g = group_jobs(jobs)
        out.append(
            f"{w.name}: (groupid=0, jobs={len(jobs)}): err= 0: variant={v}, replications={len(reps)}"
        )
        agg = group_aggregates([g])[g.groupid]
        for ddir, d, a in (("read", g.read, agg[0]), ("write", g.write, agg[1])):
            if d.total_ios:
                out += _dir_block(ddir, d, w.percentile_list, w, a)
        out.append(f"  cpu          : usr={g.usr_cpu:.2f}%, sys={g.sys_cpu:.2f}%, ctx={g.ctx}, majf=0, minf=0")
        out += _depth_lines(g)
        mean_depth = sum(j.extra["mean_depth"] for j in jobs)
        out.append(f"  in flight    : {mean_depth:.1f} I/Os on average (all jobs)")
        own, kids = perf_views(*pooled_profile(reps))
        out.append("  cpu profile (share of the job cores' time and their io-wq and SQ threads'; perf report: Children with callees, Self own):")
        out.append("     Children      Self  Symbol")
        for k in sorted(kids, key=lambda sym: (-kids[sym], -own[sym])):
            if kids[k] > 0:
                out.append(f"     {kids[k] * 100:7.3f}%  {own[k] * 100:7.3f}%  {k}")
        for p in reps[0].pools:
            moved = p.transfers_local + p.transfers_remote  # lines pulled from other CPUs' caches
            out.append(
                f"  pool {p.name}: {p.nodes_per_op:.1f} list nodes/op, {p.ns_per_op:.1f} ns/op, "
                f"{p.pages} pages, lock contended {p.lock_contended_pct:.2f}%"
                + (f", {moved / p.ops:.2f} lines moved/op ({p.transfers_remote / p.ops:.2f} from another node)"
                   if moved else "")
            )
        for e in errors.get(v, []):
            out.append("  error: " + e.splitlines()[0])
        out.append("")
    if deltas:
        out.append(delta_table(deltas))
    return "\n".join(out).rstrip() + "\n"


def delta_table(rows: list[dict[str, Any]]) -> str:
    """The delta rows as a table: baseline, variant, delta, delta %, 95% CI."""
    if not rows:
        return ""
    head = f"{'metric':<20} {'stat':<6} {'baseline':>14} {'variant':>14} {'delta':>12} {'delta%':>8}  95% CI"
    lines = [f"deltas ({rows[0]['variant']} vs {rows[0]['baseline']}, paired over {rows[0]['replications']} "
             f"replications):", head, "-" * len(head)]
    for r in rows:
        pct = "" if math.isnan(r["delta_pct"]) else f"{r['delta_pct']:+.2f}"
        ci = "n/a" if math.isnan(r["ci_low"]) else f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
        lines.append(
            f"{r['metric']:<20} {r['stat']:<6} {_num(r['baseline_value']):>14} {_num(r['variant_value']):>14} "
            f"{_num(r['delta']):>12} {pct:>8}  {ci}"
        )
    return "\n".join(lines)


def _num(x: float) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    if abs(x) < 1 and x != 0:
        return f"{x:.5f}"
    return f"{x:,.1f}"
