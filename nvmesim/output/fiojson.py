"""fio's JSON / json+ result document, built from simulation results.

Independent of the simulator: fill :class:`~nvmesim.stats.records.JobResult` /
:class:`~nvmesim.stats.records.DirResult` (with :class:`~nvmesim.stats.hist.LatencyHist`
histograms) and call :func:`document`; :func:`dumps` prints it with fio's own layout;
:func:`job_options` is fio's ``job options`` echo of a workload.

The structure and the arithmetic model fio 3.33's ``stat.c``
(``__show_run_stats``, ``show_thread_status_json``, ``add_ddir_status_json``,
``add_ddir_lat_json``, ``stat_calc_dist``, ``stat_calc_lat``) and
``io_u.c`` (``io_u_mark_latency``, ``io_u_mark_depth``, ``__io_u_mark_map``);
the text layout models ``json.c``.  Nothing is copied from fio.

What fio does that is easy to get wrong (all reproduced here):

* ``bw_bytes = (1000 * io_bytes) // runtime_ms`` and ``bw = bw_bytes // 1024``
  are *integers* (truncated, KiB/s); ``iops = 1000.0 * total_ios / runtime_ms``
  is a float; all three are 0 when runtime is 0.  ``io_kbytes = io_bytes >> 10``.
* fio's per-direction ``runtime`` is only accumulated for a direction that
  moved bytes (``backend.c``); we print ``runtime_ms`` only when
  ``io_bytes > 0``, else 0.
* every float is printed with ``%f``: the document holds floats rounded the
  same way (:func:`nvmesim.stats.fio_float`), so ``json.loads`` of fio's text
  and our dict compare equal for equal inputs.
* ``slat_ns``/``lat_ns`` carry ``percentile`` only when ``slat_percentiles`` /
  ``lat_percentiles`` are on (defaults off); ``clat_ns`` when
  ``clat_percentiles`` is on (default on); json+ ``bins`` only appear beside
  ``percentile`` (fio emits them inside that branch) and only when N > 0.
* ``"job options"`` and ``"global options"`` are omitted when empty
  (``json_add_job_opts``); string values that are empty are dropped by fio's
  JSON writer, and we drop them too.
* the latency distribution (``latency_ns``/``_us``/``_ms``) is a percentage of
  all read+write+trim I/Os (``total_ios``), from *completion* latency, and a
  non-zero share below 0.01 % is printed as 0.01 (``stat_calc_lat``); it is
  derived exactly from the clat histograms (:func:`latency_distribution`).
  The iodepth distributions clamp a non-zero share below 0.1 % to 0.1
  (``stat_calc_dist``).

Bandwidth/IOPS samples (``bw_min`` ... ``iops_samples``) are the job's samples every
``bw_avg_time``/``iops_avg_time`` (fio's ``__add_samples``); with none, fio prints 0 / 0.0
and ``*_samples = 0``, and so does this.  The depth distributions come from the job's
``io_u_map``/``io_u_submit``/``io_u_complete`` counters (:func:`depth_distributions`).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Iterable, Mapping, Sequence

from .. import __version__ as _NVMESIM_VERSION
from ..config import DEFAULT_PERCENTILES, Workload
from ..config.units import format_size
from ..stats.distributions import (
    IODEPTH_COMPLETE_KEYS,
    IODEPTH_LEVEL_KEYS,
    IODEPTH_SUBMIT_KEYS,
    LAT_M_KEYS,
    LAT_N_KEYS,
    LAT_U_KEYS,
    latency_distribution,
    stat_calc_dist,
)
from ..stats.hist import LatencyHist, fio_float, normalize_percentile_list
from ..stats.records import DirResult, JobResult

__all__ = ["DDIRS", "dir_to_json", "job_to_json", "job_options", "fio_time", "document", "dumps", "dump"]

DDIRS = ("read", "write", "trim")

# ---------------------------------------------------------------------------
# fio's "job options" echo

#: the options that define a job, echoed even at their defaults; every other
#: ``Workload`` field is echoed when it differs from the default
_ALWAYS_ECHOED = ("name", "ioengine", "rw", "bs", "iodepth", "runtime")
_DEFAULTS = Workload()
_SIZES = ("bs", "size", "io_size")
_SECONDS = ("runtime", "ramp_time")
_MICROS = ("thinktime",)
#: workload fields whose fio option has another name (options.c: ``bwavgtime``,
#: ``iopsavgtime``; fio refuses ``bw_avg_time`` as a bad option)
FIO_OPTION_NAMES = {"bw_avg_time": "bwavgtime", "iops_avg_time": "iopsavgtime"}
#: workload fields that are no fio option (fio sets its ring's flags itself): not echoed
NOT_FIO_OPTIONS = ("ring_taskrun",)


def fio_time(us: float) -> str:
    """A time as fio's time options read it (parse.c: ``check_str_time``/``get_mult_time``):
    an integer with the largest of ``s``, ``ms``, ``us`` that divides it.  fio keeps these
    options in whole microseconds and reads a fraction's integer part only (``0.05`` is 0,
    ``2.5s`` is 2 s) and ``ns`` as ``us``, so a time is rounded to the microsecond and
    never written with a fraction or ``ns``."""
    n = int(round(us))
    if n == 0:
        return "0"
    for suffix, mult in (("s", 1_000_000), ("ms", 1_000)):
        if n % mult == 0:
            return f"{n // mult}{suffix}"
    return f"{n}us"


def _float_text(x: float) -> str:
    """The shortest text that reads back as ``x`` (``99.99999``, not ``%g``'s ``100``)."""
    r = repr(float(x))
    return r[:-2] if r.endswith(".0") else r


def _option_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if name in _SIZES:
        return format_size(int(value))
    if name in _SECONDS:
        return fio_time(value * 1e6)
    if name in _MICROS:
        return fio_time(value)
    if isinstance(value, (list, tuple)):
        return ":".join(_float_text(x) for x in value)
    return str(value)


def job_options(w: Workload) -> dict[str, str]:
    """fio's ``job options`` of a workload: its fields in schema order, under fio's option
    names, in a syntax real fio reads back to the same value (sizes ``12k``, times ``50ms``
    or ``1500us``, flags ``1``/``0``), each one that differs from the default or defines
    the job; plus ``direct=1``, which every nvmesim job is, and ``time_based`` as the
    workload has it (fio's default is 0, nvmesim's 1).  Fields that are no fio option
    (:data:`NOT_FIO_OPTIONS`) are left out."""
    out: dict[str, str] = {}
    for name in Workload.model_fields:
        value = getattr(w, name)
        if value is None or name in NOT_FIO_OPTIONS or name in ("time_based", "echo") or (
                name not in _ALWAYS_ECHOED and value == getattr(_DEFAULTS, name)):
            continue
        out[FIO_OPTION_NAMES.get(name, name)] = _option_text(name, value)
    for name, text in w.echo.items():  # a job file's options that change nothing simulated, as given
        if name != "rw_offset_modifier":
            out.setdefault(name, text)
    out["direct"] = "1"
    out["time_based"] = "1" if w.time_based else "0"
    return out


# ---------------------------------------------------------------------------
# JSON builders


def _lat_obj(h: LatencyHist, percentiles_on: bool, plist: Sequence[float], plus: bool) -> dict:
    return h.to_json(plist if percentiles_on else None, with_bins=plus)


def agg_percent(agg_bytes: int, mean: float) -> float:
    """fio's ``convert_agg_kbytes_percent``: the job's mean sampled bandwidth (truncated
    to an int, KiB/s) as a share of its group's aggregate, capped at 100."""
    p = 100.0
    if agg_bytes > 1024:
        p = int(mean) * 100.0 / (agg_bytes / 1024.0)
        if p > 100.0:
            p = 100.0
    return p


def dir_to_json(d: DirResult, plist: Sequence[float], plus: bool, *,
                clat_percentiles: bool = True, lat_percentiles: bool = False,
                slat_percentiles: bool = False, agg_bytes: int = 0) -> dict:
    """One direction object (fio ``add_ddir_status_json``); ``agg_bytes`` is the group's
    aggregate bandwidth (B/s), which ``bw_agg`` is a percentage of."""
    bw, iops = d.bw_stat, d.iops_stat
    return {
        "io_bytes": int(d.io_bytes),
        "io_kbytes": int(d.io_bytes) >> 10,
        "bw_bytes": d.bw_bytes,
        "bw": d.bw,
        "iops": fio_float(d.iops),
        "runtime": d.runtime_reported,
        "total_ios": int(d.total_ios),
        "short_ios": int(d.short_ios),
        "drop_ios": int(d.drop_ios),
        "slat_ns": _lat_obj(d.slat, slat_percentiles, plist, plus),
        "clat_ns": _lat_obj(d.clat, clat_percentiles, plist, plus),
        "lat_ns": _lat_obj(d.lat, lat_percentiles, plist, plus),
        # sampled every bw_avg_time / iops_avg_time; with no sample, what fio prints
        # when calc_lat() fails: 0 / 0.0
        "bw_min": bw.min,
        "bw_max": bw.max,
        "bw_agg": fio_float(agg_percent(agg_bytes, bw.mean)) if bw.n else 0.0,
        "bw_mean": fio_float(bw.mean) if bw.n else 0.0,
        "bw_dev": fio_float(bw.stddev) if bw.n else 0.0,
        "bw_samples": bw.n,
        "iops_min": iops.min,
        "iops_max": iops.max,
        "iops_mean": fio_float(iops.mean) if iops.n else 0.0,
        "iops_stddev": fio_float(iops.stddev) if iops.n else 0.0,
        "iops_samples": iops.n,
    }


def depth_distributions(job: JobResult) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """``iodepth_level``, ``iodepth_submit``, ``iodepth_complete`` as fio prints them
    (``stat_calc_dist``): the depth counters over all I/Os queued (total_io_u), the submit
    and complete counters over their calls; given percentages where only those are known."""
    out = []
    for keys, counts, total, given in (
            (IODEPTH_LEVEL_KEYS, job.depth_map, job.total_ios, job.iodepth_level),
            (IODEPTH_SUBMIT_KEYS, job.submit_map, job.total_submit, job.iodepth_submit),
            (IODEPTH_COMPLETE_KEYS, job.complete_map, job.total_complete, job.iodepth_complete)):
        if counts is not None:
            out.append(dict(zip(keys, (fio_float(v) for v in stat_calc_dist(counts, total)))))
        else:
            out.append(_float_dict(keys, given))
    return out[0], out[1], out[2]


def _str_options(opts: Mapping[str, Any] | None) -> dict[str, str]:
    # fio prints every option value as a string; empty strings are dropped
    # by its JSON writer (json_create_value_string fails on "").
    out: dict[str, str] = {}
    for k, v in (opts or {}).items():
        s = str(v)
        if s != "":
            out[str(k)] = s
    return out


def _float_dict(keys: Sequence[str], given: Mapping[str, float] | None) -> dict[str, float]:
    given = {str(k): v for k, v in (given or {}).items()}
    unknown = set(given) - set(keys)
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; fio uses {list(keys)}")
    return {k: fio_float(float(given.get(k, 0.0))) for k in keys}


def _iodepth_of(job: JobResult) -> int:
    if job.latency_depth is not None:
        return int(job.latency_depth)
    v = str(job.job_options.get("iodepth", "1")).strip()
    try:
        return int(v)
    except ValueError:
        return 1


def job_to_json(job: JobResult, percentile_list: Sequence[float] | str | None = None,
                plus: bool = False, *, clat_percentiles: bool = True,
                lat_percentiles: bool = False, slat_percentiles: bool = False,
                agg_bytes: Sequence[int] = (0, 0, 0)) -> dict:
    """One element of fio's ``jobs`` array (``show_thread_status_json``).

    ``percentile_list`` None -> fio's default list.  ``plus`` -> json+ bins.
    ``agg_bytes``: the job's group's aggregate bandwidth per direction (bw_agg).
    """
    plist = normalize_percentile_list(DEFAULT_PERCENTILES if percentile_list is None
                                      else percentile_list)
    flags = dict(clat_percentiles=clat_percentiles, lat_percentiles=lat_percentiles,
                 slat_percentiles=slat_percentiles)
    out: dict[str, Any] = {
        "jobname": job.jobname,
        "groupid": int(job.groupid),
        "error": int(job.error),
        "eta": int(job.eta_s),
        "elapsed": int(job.elapsed_s),
    }
    if out["jobname"] == "":
        del out["jobname"]  # fio's JSON writer drops empty strings
    opts = _str_options(job.job_options)
    if opts:
        out["job options"] = opts
    for name, d, agg in zip(DDIRS, job.dirs(), agg_bytes):
        out[name] = dir_to_json(d, plist, plus, agg_bytes=agg, **flags)
    # DDIR_SYNC: nvmesim issues no fsync; fio's empty sync object.
    out["sync"] = {"total_ios": 0, "lat_ns": LatencyHist().to_json(None)}
    out["job_runtime"] = int(job.job_runtime_ms)
    out["usr_cpu"] = fio_float(job.usr_cpu)
    out["sys_cpu"] = fio_float(job.sys_cpu)
    out["ctx"] = int(job.ctx)
    out["majf"] = int(job.majf)
    out["minf"] = int(job.minf)
    out["iodepth_level"], out["iodepth_submit"], out["iodepth_complete"] = depth_distributions(job)
    if job.latency_ns is None or job.latency_us is None or job.latency_ms is None:
        dn, du, dm = latency_distribution([d.clat for d in job.dirs()], job.total_ios)
    out["latency_ns"] = _float_dict(LAT_N_KEYS, job.latency_ns if job.latency_ns is not None else dn)
    out["latency_us"] = _float_dict(LAT_U_KEYS, job.latency_us if job.latency_us is not None else du)
    out["latency_ms"] = _float_dict(LAT_M_KEYS, job.latency_ms if job.latency_ms is not None else dm)
    out["latency_depth"] = _iodepth_of(job)
    out["latency_target"] = int(job.latency_target)
    out["latency_percentile"] = fio_float(job.latency_percentile)
    out["latency_window"] = int(job.latency_window)
    if job.extra:
        out["nvmesim"] = job.extra
    return out


def group_aggregates(jobs: Sequence[JobResult]) -> dict[int, tuple[int, int, int]]:
    """Per group, per direction: fio's aggregate bandwidth ``iobytes * 1000 / max_run``
    (``__show_run_stats``), what ``bw_agg`` is a share of."""
    out = {}
    for gid in {j.groupid for j in jobs}:
        members = [j for j in jobs if j.groupid == gid]
        agg = []
        for i in range(3):
            max_run = max(j.dirs()[i].runtime_reported for j in members)
            iobytes = sum(j.dirs()[i].io_bytes for j in members)
            agg.append(iobytes * 1000 // max_run if max_run else 0)
        out[gid] = (agg[0], agg[1], agg[2])
    return out


def document(jobs: Iterable[JobResult], global_options: Mapping[str, Any] | None = None,
             fmt: str = "json", percentile_list: Sequence[float] | str | None = None,
             timestamp: int | float | None = None,
             fio_version: str = f"nvmesim-{_NVMESIM_VERSION}", *,
             timestamp_ms: int | None = None, clat_percentiles: bool = True,
             lat_percentiles: bool = False, slat_percentiles: bool = False,
             disk_util: list | None = None) -> dict:
    """fio's whole JSON document (``__show_run_stats``).

    ``fmt`` is ``"json"`` or ``"json+"`` (adds latency ``bins``).
    ``timestamp`` (epoch s) defaults to now; ``timestamp_ms`` defaults to
    ``timestamp * 1000`` (or now in ms); ``time`` is ``ctime()`` of it in
    local time, as fio prints it.  ``"global options"`` is omitted when
    empty, like fio.  ``disk_util`` defaults to an empty list.
    """
    if fmt not in ("json", "json+"):
        raise ValueError(f"fmt must be 'json' or 'json+', not {fmt!r}")
    plus = fmt == "json+"
    if timestamp is None:
        now = time.time()
        sec = int(now)
        ms = int(now * 1000) if timestamp_ms is None else int(timestamp_ms)
    else:
        sec = int(timestamp)
        ms = int(round(float(timestamp) * 1000)) if timestamp_ms is None else int(timestamp_ms)
    doc: dict[str, Any] = {
        "fio version": fio_version,
        "timestamp": sec,
        "timestamp_ms": ms,
        "time": time.ctime(sec),
    }
    gopts = _str_options(global_options)
    if gopts:
        doc["global options"] = gopts
    jobs = list(jobs)
    agg = group_aggregates(jobs)
    doc["jobs"] = [
        job_to_json(j, percentile_list, plus, clat_percentiles=clat_percentiles,
                    lat_percentiles=lat_percentiles, slat_percentiles=slat_percentiles,
                    agg_bytes=agg[j.groupid])
        for j in jobs
    ]
    doc["disk_util"] = list(disk_util) if disk_util is not None else []
    return doc


# ---------------------------------------------------------------------------
# Text output in fio's layout (json.c: json_print_object & co.)


def _escape(s: str) -> str:
    # fio escapes only '\\' and '"'; we additionally escape control
    # characters so that the output stays valid JSON.
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(json.dumps(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def _emit(v: Any, level: int, parts: list[str]) -> None:
    if isinstance(v, Mapping):
        parts.append("{\n")
        first = True
        for k, x in v.items():
            if isinstance(x, str) and x == "":
                continue  # fio drops empty strings
            if not first:
                parts.append(",\n")
            first = False
            parts.append("  " * (level + 1))
            parts.append('"%s" : ' % _escape(str(k)))
            _emit(x, level + 1, parts)
        parts.append("\n" + "  " * level + "}")
    elif isinstance(v, (list, tuple)):
        parts.append("[\n")
        for i, x in enumerate(v):
            if i:
                parts.append(",\n")
            parts.append("  " * (level + 1))
            _emit(x, level + 1, parts)
        parts.append("\n" + "  " * level + "]")
    elif isinstance(v, str):
        parts.append('"%s"' % _escape(v))
    elif isinstance(v, bool):  # not produced by fio; valid JSON for extras
        parts.append("true" if v else "false")
    elif isinstance(v, int):
        parts.append("%d" % v)
    elif isinstance(v, float):
        if math.isfinite(v):
            parts.append("%f" % v)
        else:  # fio would print nan/inf (invalid JSON); keep ours valid
            parts.append("null")
    elif v is None:
        parts.append("null")
    else:
        raise TypeError(f"cannot serialise {type(v).__name__}")


def dumps(doc: Mapping[str, Any]) -> str:
    """Serialise like fio: two-space indent, ``"key" : value``, floats with
    ``%f``, integers with ``%lld``, final newline."""
    parts: list[str] = []
    _emit(doc, 0, parts)
    parts.append("\n")
    return "".join(parts)


def dump(doc: Mapping[str, Any], fp) -> None:
    """Write :func:`dumps` output to a text file object."""
    fp.write(dumps(doc))
