"""fio's terse output (``--output-format=terse``, also ``minimal`` and ``csv``): one
semicolon-separated line per job, terse version 3 (fio's default ``--terse-version``).

Built from the same :class:`~nvmesim.stats.records.JobResult` records as the JSON
(:mod:`.fiojson`), with fio 3.33's arithmetic and layout (``stat.c``:
``show_thread_status_terse`` -> ``show_thread_status_terse_all``,
``show_ddir_status_terse``, ``stat_calc_dist``, ``stat_calc_lat_nu``, ``stat_calc_lat_m``;
the field list is fio's HOWTO "Terse output").  Nothing is copied from fio.

A version-3 line has :data:`TERSE_V3_FIELDS` (121) fields:

* 5 general: ``3;fio version;jobname;groupid;error``;
* 41 for read, then 41 for write (version 3 has no trim): ``kb;bw (KiB/s);iops;runtime
  (ms)``, slat ``min;max;mean;stdev`` (us), clat ``min;max;mean;stdev`` (us), 20
  ``p%=v`` clat percentiles (us; the lat histogram's with ``lat_percentiles``; unused
  slots ``0%=0``), lat ``min;max;mean;stdev`` (us), bw ``min;max;agg%;mean;stdev`` (KiB/s);
* 5 CPU: ``usr%;sys%;ctx;majf;minf``;
* 7 I/O depths (``1, 2, 4, 8, 16, 32, >=64``), 10 us latency bins (``2 .. 1000``; the first
  also holds every I/O under 1 us), 12 ms latency bins (``2 .. 2000, >=2000``).

What fio does that is easy to get wrong (all reproduced here): ``iops`` is an integer
(``1000 * ios / runtime``, truncated), unlike JSON's float; latencies are ns divided by
1000, min/max truncated to integers, mean/stdev ``%f``; a direction without samples
prints ``0;0;0.000000;0.000000`` and its percentiles as ``p%=0``; ``agg%`` uses the
unrounded mean bandwidth over the group's aggregate in whole KiB/s (JSON's ``bw_agg``
truncates the mean first).  fio appends a disk's utilisation fields only when it
sampled a disk (``show_disk_util``); nvmesim's documents have no ``disk_util``, so its
lines do not have them either -- a real fio run with ``--disk_util=0`` gives the same
121 fields.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .. import __version__ as _NVMESIM_VERSION
from ..config import DEFAULT_PERCENTILES
from ..stats.distributions import latency_counts, stat_calc_dist, stat_calc_lat
from ..stats.hist import LatencyHist, RunningStat, normalize_percentile_list, percentile_key
from ..stats.records import DirResult, JobResult
from .fiojson import group_aggregates

__all__ = ["TERSE_VERSION", "TERSE_V3_FIELDS", "PERCENTILE_SLOTS", "terse_line", "terse"]

#: fio's default ``--terse-version`` (init.c: ``terse_version = 3``), the one written here
TERSE_VERSION = 3
#: fio's ``FIO_IO_U_LIST_MAX_LEN``: percentile slots per direction, used or not
PERCENTILE_SLOTS = 20
#: fields of a version-3 line without disk utilisation (see the module docstring)
TERSE_V3_FIELDS = 5 + 2 * (4 + 4 + 4 + PERCENTILE_SLOTS + 4 + 5) + 5 + 7 + 10 + 12


def _lat(s: RunningStat) -> str:
    """``calc_lat`` of a latency, in us: min/max truncated, mean/stdev ``%f``."""
    if not s.n:
        return ";0;0;0.000000;0.000000"
    return ";%d;%d;%f;%f" % (s.min // 1000, s.max // 1000, s.mean / 1000, s.stddev / 1000)


def _percentiles(h: LatencyHist, plist: Sequence[float]) -> str:
    """The 20 percentile slots of ``show_ddir_status_terse`` (values in us)."""
    ps = list(plist)[:PERCENTILE_SLOTS]
    vals = h.percentiles(ps) if h.n else {}
    # calc_clat_percentiles on an empty histogram: every threshold is met at bucket 0
    out = [";%f%%=%d" % (p, vals.get(percentile_key(p), 0) // 1000) for p in ps]
    out += [";0%=0"] * (PERCENTILE_SLOTS - len(ps))
    return "".join(out)


def _bw(s: RunningStat, agg_bytes: int) -> str:
    """``min;max;agg%;mean;stdev`` of the bandwidth samples (KiB/s); agg% is the mean's
    share of the group's aggregate in whole KiB/s, capped at 100."""
    if not s.n:
        return ";0;0;0.000000%;0.000000;0.000000"
    p = 100.0
    if agg_bytes:
        kib = agg_bytes // 1024
        # fio divides by the truncated KiB/s; below 1 KiB/s that is a division by 0 (inf,
        # capped to 100), which cannot happen with a bandwidth sample
        p = min(s.mean * 100 / kib, 100.0) if kib else 100.0
    return ";%d;%d;%f%%;%f;%f" % (s.min, s.max, p, s.mean, s.stddev)


def _ddir(d: DirResult, plist: Sequence[float], clat_percentiles: bool, lat_percentiles: bool,
          agg_bytes: int) -> str:
    rt = d.runtime_reported
    bw = ((1000 * int(d.io_bytes)) // rt) // 1024 if rt else 0
    iops = (1000 * int(d.total_ios)) // rt if rt else 0
    head = ";%d;%d;%d;%d" % (int(d.io_bytes) >> 10, bw, iops, rt)
    if lat_percentiles:
        pct = _percentiles(d.lat, plist)
    elif clat_percentiles:
        pct = _percentiles(d.clat, plist)
    else:
        pct = ";0%=0" * PERCENTILE_SLOTS
    return head + _lat(d.slat) + _lat(d.clat) + pct + _lat(d.lat) + _bw(d.bw_stat, agg_bytes)


def _depths(job: JobResult) -> list[float]:
    if job.depth_map is not None:
        return stat_calc_dist(job.depth_map, job.total_ios)
    return list((job.iodepth_level or {}).values()) or [0.0] * 7


def _lat_bins(job: JobResult) -> tuple[list[float], list[float]]:
    """``stat_calc_lat_nu`` and ``stat_calc_lat_m``: the us bins (every ns bin's unclamped
    share added to the first) and the ms bins, as percents of the job's I/Os."""
    total = job.total_ios
    if job.latency_ns is not None and job.latency_us is not None and job.latency_ms is not None:
        u = list(job.latency_us.values())  # a document read back: only the printed shares
        u[0] += sum(job.latency_ns.values())
        return u, list(job.latency_ms.values())
    n, u, m = latency_counts([d.clat for d in job.dirs()])
    lat_u = stat_calc_lat(u, total)
    if total:  # fio divides by total unconditionally (0/0 with no I/O; 0 here)
        lat_u[0] += 100.0 * sum(n) / total
    return lat_u, stat_calc_lat(m, total)


def terse_line(job: JobResult, percentile_list: Sequence[float] | str | None = None, *,
               clat_percentiles: bool = True, lat_percentiles: bool = False,
               agg_bytes: Sequence[int] = (0, 0, 0),
               fio_version: str = f"nvmesim-{_NVMESIM_VERSION}") -> str:
    """One job's version-3 terse line, with its newline (``show_thread_status_terse_all``).

    ``percentile_list`` None -> fio's default list; ``agg_bytes`` is the job's group's
    aggregate bandwidth per direction (B/s, :func:`.fiojson.group_aggregates`), which the
    bandwidth ``agg%`` fields are a share of.
    """
    plist = normalize_percentile_list(DEFAULT_PERCENTILES if percentile_list is None else percentile_list)
    parts = ["%d;%s;%s;%d;%d" % (TERSE_VERSION, fio_version, job.jobname, int(job.groupid), int(job.error))]
    for d, agg in ((job.read, agg_bytes[0]), (job.write, agg_bytes[1])):
        parts.append(_ddir(d, plist, clat_percentiles, lat_percentiles, agg))
    parts.append(";%f%%;%f%%;%d;%d;%d" % (job.usr_cpu, job.sys_cpu, int(job.ctx), int(job.majf), int(job.minf)))
    parts.append("".join(";%3.1f%%" % v for v in _depths(job)))
    lat_u, lat_m = _lat_bins(job)
    parts.append("".join(";%3.2f%%" % v for v in lat_u))
    parts.append("".join(";%3.2f%%" % v for v in lat_m))
    return "".join(parts) + "\n"


def terse(jobs: Iterable[JobResult], percentile_list: Sequence[float] | str | None = None, *,
          clat_percentiles: bool = True, lat_percentiles: bool = False,
          fio_version: str = f"nvmesim-{_NVMESIM_VERSION}") -> str:
    """Every job's terse line, in order (``__show_run_stats``), each against its group's
    aggregate bandwidth."""
    jobs = list(jobs)
    agg = group_aggregates(jobs)
    return "".join(terse_line(j, percentile_list, clat_percentiles=clat_percentiles,
                              lat_percentiles=lat_percentiles, agg_bytes=agg[j.groupid],
                              fio_version=fio_version) for j in jobs)
