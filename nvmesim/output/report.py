"""Human-readable output: fio's normal output per variant, then nvmesim's additions (the
replications, the mean depth, the CPU profile, the pools) and the delta table.

fio's part is laid out as fio 3.33's ``stat.c`` writes it (``__show_run_stats`` with
``--output-format=normal``): a blank line, one ``show_thread_status_normal`` block per
job (here: per variant, its jobs and replications merged as ``group_reporting`` does),
then one ``show_group_stats`` block per group (``Run status group N (all jobs):``); each
variant is its own group, ids 0, 1, ... in variant order, as in the JSON.  fio then
prints its disk stats (``show_disk_util``); nvmesim models no block-layer disk
accounting, and fio prints nothing there when it has no disk to report (its disk list is
empty: a job on a file it cannot map to a device, or ``disk_util=0``), so neither does
this.  Everything nvmesim adds comes after that, so a script that reads fio's output
reads nvmesim's.

Number formatting is :mod:`.fionum` (``num2str`` and the unit rules); every figure comes
from the records' fio arithmetic (:class:`~nvmesim.stats.records.DirResult`), the
distributions (:mod:`nvmesim.stats.distributions`) or the metrics layer; nothing is
computed here that fio does not compute for its own output.  Nothing is copied from fio.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Literal, Mapping, Sequence

from ..config import DEFAULT_PERCENTILES, Workload
from ..stats.distributions import latency_shares, stat_calc_dist
from ..stats.hist import LatencyHist, RunningStat, normalize_percentile_list, percentile_key
from ..stats.metrics import perf_views, pooled_profile
from ..stats.records import DirResult, JobResult, ReplicationResult, group_jobs, merge_replications
from .fiojson import agg_percent, group_aggregates
from .fionum import (
    LAT_M_RANGES, LAT_N_RANGES, LAT_U_RANGES, N2S, clat_percentile_lines, display_lat, lat_dist_lines,
    num2str, percentile_precision,
)

#: the pid printed in a job's header: a simulated job has no process, and 0 is no process's pid
SIM_PID = 0

Unified = Literal["none", "mixed", "both"]


@dataclass(frozen=True)
class NormalOptions:
    """The job options that shape fio's normal output, at fio's defaults: the percentile
    list and its ``percentile_precision`` (None: from the list, as fio's option parser
    counts it), which latencies get percentiles, ``unified_rw_reporting``,
    ``significant_figures`` and ``kb_base`` (bandwidth in bytes: fio's ``unit_base``
    default)."""

    percentile_list: tuple[float, ...] = tuple(DEFAULT_PERCENTILES)
    clat_percentiles: bool = True
    lat_percentiles: bool = False
    slat_percentiles: bool = False
    percentile_precision: int | None = None
    unified_rw_reporting: Unified = "none"
    sig_figs: int = 4
    kb_base: int = 1024

    @classmethod
    def of(cls, w: Workload) -> "NormalOptions":
        """The options of a workload (the others at fio's defaults)."""
        return cls(percentile_list=tuple(w.percentile_list), clat_percentiles=w.clat_percentiles,
                   lat_percentiles=w.lat_percentiles, slat_percentiles=w.slat_percentiles)

    @property
    def precision(self) -> int:
        if self.percentile_precision is not None:
            return self.percentile_precision
        return percentile_precision(self.percentile_list)

    @property
    def i2p(self) -> bool:
        """fio's ``is_power_of_2(kb_base)``: IEC prefixes (KiB, MiB) first."""
        kb = self.kb_base
        return kb > 0 and kb & (kb - 1) == 0


@dataclass(frozen=True)
class GroupStats:
    """fio's ``struct group_run_stats`` of one group (``__show_run_stats``), per direction
    (read, write, trim): each job's runtime and bandwidth range, the bytes, the aggregate."""

    groupid: int
    min_run: tuple[int, int, int]
    max_run: tuple[int, int, int]
    min_bw: tuple[int, int, int]
    max_bw: tuple[int, int, int]
    iobytes: tuple[int, int, int]
    agg: tuple[int, int, int]

    @classmethod
    def of(cls, groupid: int, jobs: Sequence[JobResult]) -> "GroupStats":
        """The group's figures from its jobs (each a fio ``thread_stat``): a direction's
        runtime and bandwidth range over the jobs that ran it; ``agg`` is
        ``iobytes * 1000 / max_run`` (:func:`~nvmesim.output.fiojson.group_aggregates`)."""
        lo_run, hi_run, lo_bw, hi_bw, io = [], [], [], [], []
        for i in range(3):
            runs = [(j.dirs()[i].runtime_reported, j.dirs()[i].bw_bytes) for j in jobs
                    if j.dirs()[i].runtime_reported]
            lo_run.append(min((r for r, _ in runs), default=0))
            hi_run.append(max((r for r, _ in runs), default=0))
            lo_bw.append(min((b for _, b in runs), default=0))
            hi_bw.append(max((b for _, b in runs), default=0))
            io.append(sum(j.dirs()[i].io_bytes for j in jobs))
        agg = group_aggregates([_as_group(j, groupid) for j in jobs])[groupid]
        return cls(groupid, tuple(lo_run), tuple(hi_run), tuple(lo_bw), tuple(hi_bw), tuple(io), agg)


def _as_group(j: JobResult, groupid: int) -> JobResult:
    """``j`` counted in group ``groupid``."""
    return j if j.groupid == groupid else replace(j, groupid=groupid)


# ---------------------------------------------------------------------------
# show_thread_status_normal and what it calls


def _percentile_pairs(h: LatencyHist, opts: NormalOptions) -> list[tuple[float, int]]:
    """(percentile, ns) in fio's order (``calc_clat_percentiles``: the list sorted)."""
    plist = normalize_percentile_list(opts.percentile_list)
    pct = h.percentiles(plist)
    return [(p, pct[percentile_key(p)]) for p in plist] if pct else []


def _rate_lines(d: DirResult, agg_bytes: int, opts: NormalOptions) -> list[str]:
    """fio's ``bw (KiB/s):`` and ``iops :`` sample lines (``show_ddir_status``), when
    there are samples (``calc_lat``): bandwidth in KiB/s, or MiB/s once the mean passes
    ``kb_base``² (min and max divided as integers); ``per`` is the share of the group's
    aggregate (``convert_agg_kbytes_percent``)."""
    lines = []
    b: RunningStat = d.bw_stat
    if b.n:
        kb = float(opts.kb_base)
        lo, hi, mean, dev = b.min, b.max, b.mean, b.stddev
        unit = "KiB" if opts.i2p else "kB"
        per = agg_percent(agg_bytes, mean)
        if mean > kb * kb:
            lo, hi, mean, dev, unit = int(lo / kb), int(hi / kb), mean / kb, dev / kb, "MiB"
        lines.append(f"   bw ({unit:>5}/s): min={lo:5d}, max={hi:5d}, per={per:3.2f}%, avg={mean:5.02f}, "
                     f"stdev={dev:5.02f}, samples={b.n}")
    i = d.iops_stat
    if i.n:
        lines.append(f"   iops        : min={i.min:5d}, max={i.max:5d}, avg={i.mean:5.02f}, "
                     f"stdev={i.stddev:5.02f}, samples={i.n}")
    return lines


def ddir_status(label: str, d: DirResult, agg_bytes: int, opts: NormalOptions, *, write: bool = False,
                sig_figs: int | None = None, unit_base: N2S = N2S.BYTEPERSEC) -> list[str]:
    """One direction's block (stat.c: ``show_ddir_status``): ``IOPS=`` and ``BW=`` through
    ``num2str`` at ``significant_figures`` (IOPS and bandwidth fio's integer
    ``1000 * n / runtime``), a write's ``; 0 zone resets`` (``zbd_write_status``: nvmesim
    models no zoned device), the slat/clat/lat lines of the latencies that have samples,
    the percentile blocks that are on, then the sample lines.  Nothing for a direction
    that did not run."""
    runt = d.runtime_reported
    if not runt:
        return []
    figs = opts.sig_figs if sig_figs is None else sig_figs
    i2p = opts.i2p
    bw = (1000 * int(d.io_bytes)) // runt
    iops = (1000 * int(d.total_ios)) // runt
    post = "; 0 zone resets" if write else ""
    lines = [f"  {label}: IOPS={num2str(iops, figs)}, BW={num2str(bw, figs, 1, i2p, unit_base)} "
             f"({num2str(bw, figs, 1, not i2p, unit_base)})({num2str(d.io_bytes, figs, 1, i2p, N2S.BYTE)}"
             f"/{runt}msec){post}"]
    for name, h in (("slat", d.slat), ("clat", d.clat), (" lat", d.lat)):
        if h.n:  # calc_lat: only a latency with samples (no slat with sqthread_poll)
            lines.append(display_lat(name, h.min, h.max, h.mean, h.stddev))
    for name, on, h in (("slat", opts.slat_percentiles, d.slat), ("clat", opts.clat_percentiles, d.clat),
                        ("lat", opts.lat_percentiles, d.lat)):
        if on and h.n:
            lines += clat_percentile_lines(name, _percentile_pairs(h, opts), opts.precision)
    return lines + _rate_lines(d, agg_bytes, opts)


def _mixed(dirs: Sequence[DirResult]) -> DirResult:
    """fio's ``gen_mixed_ddir_stats_from_ts``: every direction summed into one
    (``sum_thread_stats`` under ``UNIFIED_MIXED``: latencies pooled, rate samples summed,
    runtime the longest)."""
    out = DirResult()
    for d in dirs:
        out.merge(d, rates="sum")
    return out


def _latency_lines(job: JobResult) -> list[str]:
    """fio's ``lat (nsec|usec|msec)   :`` lines (``show_latencies``): the completion
    latencies of every direction as shares of all I/Os, a non-zero share below 0.01 %
    shown as 0.01 (``stat_calc_lat``); the job's own tables where it carries them (a fio
    document read back), else exactly from the clat histograms."""
    if job.latency_ns is not None and job.latency_us is not None and job.latency_ms is not None:
        n, u, m = (list(t.values()) for t in (job.latency_ns, job.latency_us, job.latency_ms))
    else:
        n, u, m = latency_shares([d.clat for d in job.dirs()], job.total_ios)
    return (lat_dist_lines("nsec", LAT_N_RANGES, n) + lat_dist_lines("usec", LAT_U_RANGES, u)
            + lat_dist_lines("msec", LAT_M_RANGES, m))


def _dist(counts: list[int] | None, total: int, given: Mapping[str, float] | None) -> list[float]:
    if counts is not None:
        return stat_calc_dist(counts, total)
    return list(given.values()) if given else [0.0] * 7


def _depth_lines(job: JobResult, iodepth: int) -> list[str]:
    """fio's ``IO depths``, ``submit``, ``complete``, ``issued rwts`` and ``latency``
    lines (``show_thread_status_normal``; ``stat_calc_dist``'s 0.1 % floor, ``%3.1f``)."""
    level = _dist(job.depth_map, job.total_ios, job.iodepth_level)
    submit = _dist(job.submit_map, job.total_submit, job.iodepth_submit)
    complete = _dist(job.complete_map, job.total_complete, job.iodepth_complete)

    def dist(keys: Sequence[str], v: Sequence[float]) -> str:
        return ", ".join(f"{k}={x:3.1f}%" for k, x in zip(keys, v))

    r, w, t = job.dirs()
    lines = [
        f"  IO depths    : {dist(('1', '2', '4', '8', '16', '32', '>=64'), level)}",
        f"     submit    : {dist(('0', '4', '8', '16', '32', '64', '>=64'), submit)}",
        f"     complete  : {dist(('0', '4', '8', '16', '32', '64', '>=64'), complete)}",
        f"     issued rwts: total={r.total_ios},{w.total_ios},{t.total_ios},0 "
        f"short={r.short_ios},{w.short_ios},{t.short_ios},0 "
        f"dropped={r.drop_ios},{w.drop_ios},{t.drop_ios},0",
    ]
    if iodepth:  # fio prints it when latency_depth != 0: always
        lines.append(f"     latency   : target={job.latency_target}, window={job.latency_window}, "
                     f"percentile={job.latency_percentile:.2f}%, depth={iodepth}")
    return lines


def _unified(job: JobResult) -> JobResult:
    """The job as fio accounts it under ``unified_rw_reporting=mixed``: every direction's
    I/Os in the first (``sum_thread_stats`` into ddir 0)."""
    m = _mixed(job.dirs())
    m.short_ios = sum(d.short_ios for d in job.dirs())
    m.drop_ios = sum(d.drop_ios for d in job.dirs())
    return replace(job, read=m, write=DirResult(), trim=DirResult())


def thread_status(job: JobResult, rs: GroupStats, opts: NormalOptions = NormalOptions(), *,
                  name: str | None = None, members: int = 1, pid: int = SIM_PID,
                  when: float | None = None, iodepth: int | None = None) -> list[str]:
    """One job's block (stat.c: ``show_thread_status_normal``), as lines.

    ``name`` defaults to the job's name, ``members`` is fio's ``jobs=`` (the jobs summed
    into this one), ``pid`` is printed as is (:data:`SIM_PID`), ``when`` (epoch seconds,
    default now) is the ``ctime`` fio prints at the end of the header, ``iodepth`` the
    ``latency : depth=`` (default the job's ``latency_depth``, else its iodepth option).
    Nothing for a job that moved no byte and queued no I/O."""
    if not sum(d.io_bytes for d in job.dirs()) and not job.total_ios:
        return []
    stamp = time.ctime(time.time() if when is None else when)
    err = f"err={job.error:2d}"  # fio adds " (verror)" for a failed job; nvmesim's never fail with an errno
    out = [f"{job.jobname if name is None else name}: (groupid={rs.groupid}, jobs={members}): {err}: "
           f"pid={pid}: {stamp}"]
    shown = _unified(job) if opts.unified_rw_reporting == "mixed" else job
    labels = ("mixed",) * 3 if opts.unified_rw_reporting == "mixed" else ("read", "write", "trim")
    for i, d in enumerate(shown.dirs()):
        if d.io_bytes:
            out += ddir_status(labels[i], d, rs.agg[i], opts, write=i == 1)
    if opts.unified_rw_reporting == "both":
        # gen_mixed_ddir_stats_from_ts starts from init_thread_stat and copies the percentile
        # settings but not sig_figs, unit_base or kb_base: fio 3.33 prints the mixed IOPS, BW
        # and size through num2str with 0 figures and no unit ("IOPS=0, BW=0 (0)(0B/...)"),
        # and takes the group's read aggregate for per=.  Reproduced as fio prints it.
        out += ddir_status("mixed", _mixed(job.dirs()), rs.agg[0], opts, sig_figs=0, unit_base=N2S.NONE)
    out += _latency_lines(job)
    out.append(f"  cpu          : usr={job.usr_cpu:3.2f}%, sys={job.sys_cpu:3.2f}%, ctx={job.ctx}, "
               f"majf={job.majf}, minf={job.minf}")
    if iodepth is None:
        iodepth = job.latency_depth if job.latency_depth is not None else _iodepth_option(job)
    return out + _depth_lines(shown, iodepth)


def _iodepth_option(job: JobResult) -> int:
    try:
        return int(str(job.job_options.get("iodepth", "1")).strip())
    except ValueError:
        return 1


def group_status(rs: GroupStats, opts: NormalOptions = NormalOptions()) -> list[str]:
    """One group's block (stat.c: ``show_group_stats``): a blank line, ``Run status group
    N (all jobs):``, then per direction that ran ``READ: bw=agg (alt), min-max (alt-alt),
    io=bytes (alt), run=min-maxmsec``, each figure through ``num2str`` at
    ``significant_figures`` in IEC then SI (or the reverse with a decimal ``kb_base``);
    ``MIXED`` for ``unified_rw_reporting=mixed``, a ``MIXED`` line after them for
    ``both`` (``show_mixed_group_stats``)."""
    figs, i2p, unit = opts.sig_figs, opts.i2p, N2S.BYTEPERSEC
    out = ["", f"Run status group {rs.groupid} (all jobs):"]

    def line(label: str, agg: int, lo: int, hi: int, io: int, rlo: int, rhi: int) -> str:
        def two(x: int, u: N2S) -> tuple[str, str]:
            return num2str(x, figs, 1, i2p, u), num2str(x, figs, 1, not i2p, u)

        (a, a2), (mn, mn2), (mx, mx2), (b, b2) = two(agg, unit), two(lo, unit), two(hi, unit), two(io, N2S.BYTE)
        return f"{label}: bw={a} ({a2}), {mn}-{mx} ({mn2}-{mx2}), io={b} ({b2}), run={rlo}-{rhi}msec"

    mixed = opts.unified_rw_reporting == "mixed"
    dirs = [i for i in range(3) if rs.max_run[i]]
    for i in dirs:
        label = "  MIXED" if mixed else ("   READ", "  WRITE", "   TRIM")[i]
        out.append(line(label, rs.agg[i], rs.min_bw[i], rs.max_bw[i], rs.iobytes[i], rs.min_run[i],
                        rs.max_run[i]))
    if opts.unified_rw_reporting == "both":
        out.append(line("  MIXED", sum(rs.agg[i] for i in dirs), min((rs.min_bw[i] for i in dirs), default=0),
                        max((rs.max_bw[i] for i in dirs), default=0), sum(rs.iobytes[i] for i in dirs),
                        min((rs.min_run[i] for i in dirs), default=0), max((rs.max_run[i] for i in dirs), default=0)))
    return out


@dataclass
class JobBlock:
    """One job of fio's normal output: the record, its group, and what its header says."""

    job: JobResult
    groupid: int
    name: str
    members: int = 1


def normal_output(blocks: Sequence[JobBlock], opts: NormalOptions = NormalOptions(), *,
                  when: float | None = None, pid: int = SIM_PID) -> list[str]:
    """fio's whole normal output (``__show_run_stats``): a blank line, every job's block,
    then every group's, in group order.  No disk stats (see the module docstring)."""
    out = [""]
    groups: dict[int, list[JobResult]] = {}
    for b in blocks:
        groups.setdefault(b.groupid, []).append(_as_group(b.job, b.groupid))
    stats = {g: GroupStats.of(g, [_unified(j) if opts.unified_rw_reporting == "mixed" else j for j in jobs])
             for g, jobs in groups.items()}
    for b in blocks:
        out += thread_status(b.job, stats[b.groupid], opts, name=b.name,
                             members=b.members, pid=pid, when=when)
    for g in sorted(stats):
        out += group_status(stats[g], opts)
    return out


# ---------------------------------------------------------------------------
# the run's text: fio's output, then nvmesim's


def _extras(name: str, groupid: int, variant: str, reps: Sequence[ReplicationResult], jobs: Sequence[JobResult],
            errors: Sequence[str]) -> list[str]:
    """What nvmesim adds for one variant: replications, mean depth, CPU profile, pools.  Its
    first line starts ``nvmesim:``, never a job's ``name: (groupid=`` that scripts split on."""
    out = [f"nvmesim: {name} (group {groupid}): variant={variant}, replications={len(reps)}"]
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
    for e in errors:
        out.append("  error: " + e.splitlines()[0])
    return out


def summary(w: Workload, replications: Mapping[str, Sequence[ReplicationResult]],
            errors: Mapping[str, Sequence[str]], deltas: Sequence[Mapping[str, Any]], *,
            when: float | None = None, partial: str | None = None) -> str:
    """The run as text: fio's normal output with one job and one group per variant (its
    jobs and replications merged by :func:`~nvmesim.stats.records.merge_replications`:
    bytes, I/Os and runtimes summed, so IOPS and bandwidth are the replications' average
    and ``msec`` their total; ``jobs=`` the run's jobs; the job is named
    ``name/variant`` when the run has several variants), then per variant what nvmesim
    adds (replications, the mean depth, the CPU profile, the pools, failed replications),
    then the delta table.  ``when`` is the time the headers print (default now).
    ``partial``: the run was interrupted; said first in nvmesim's part (and a variant with
    no finished replication says so)."""
    several = len(replications) > 1
    blocks: list[JobBlock] = []
    extras: list[str] = [f"nvmesim: PARTIAL result, {partial}", ""] if partial else []
    for gid, (v, reps) in enumerate(replications.items()):
        name = f"{w.name}/{v}" if several else w.name
        if not reps and partial and not errors.get(v):
            extras += [f"nvmesim: {name} (group {gid}): variant={v}: no replication finished", ""]
            continue
        if not reps:
            extras.append(f"nvmesim: {name} (group {gid}): variant={v}: all replications failed")
            extras += ["  error: " + e.splitlines()[0] for e in errors.get(v, [])]
            extras.append("")
            continue
        jobs = merge_replications(reps)
        blocks.append(JobBlock(group_jobs(jobs), gid, name, len(jobs)))
        extras += _extras(name, gid, v, reps, jobs, errors.get(v, [])) + [""]
    out = normal_output(blocks, NormalOptions.of(w), when=when) if blocks else []
    out += [""] + extras
    if deltas:
        out.append(delta_table(list(deltas)))
    return "\n".join(out).rstrip() + "\n"


def delta_table(rows: list[dict[str, Any]]) -> str:
    """The delta rows as a table: baseline, variant, delta, delta %, 95% CI."""
    if not rows:
        return ""
    head = f"{'metric':<28} {'baseline':>14} {'variant':>14} {'delta':>12} {'delta%':>8}  95% CI"
    lines = [f"deltas ({rows[0]['variant']} vs {rows[0]['baseline']}, paired over {rows[0]['paired']} "
             f"replications):", head, "-" * len(head)]
    for r in rows:
        pct = "" if math.isnan(r["delta_pct"]) else f"{r['delta_pct']:+.2f}"
        ci = "n/a" if math.isnan(r["delta_ci_low"]) else f"[{_num(r['delta_ci_low'])}, {_num(r['delta_ci_high'])}]"
        lines.append(
            f"{r['metric']:<28} {_num(r['baseline_value']):>14} {_num(r['variant_value']):>14} "
            f"{_num(r['delta']):>12} {pct:>8}  {ci}"
        )
    return "\n".join(lines)


def _num(x: float) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    if abs(x) < 1 and x != 0:
        return f"{x:.5f}"
    return f"{x:,.1f}"
