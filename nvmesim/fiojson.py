"""fio's JSON / json+ result document, built from simulation results.

Independent of the simulator: fill :class:`JobResult`/:class:`DirResult`
(with :class:`~nvmesim.stats.LatencyHist` histograms) and call
:func:`document`; :func:`dumps` prints it with fio's own layout.

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

Bandwidth/IOPS samples: nvmesim does not sample bandwidth or IOPS per
``bw_avg_msec``/``iops_avg_msec`` window, so ``bw_min``, ``bw_max``,
``bw_agg``, ``bw_mean``, ``bw_dev``, ``bw_samples``, ``iops_min``,
``iops_max``, ``iops_mean``, ``iops_stddev``, ``iops_samples`` carry exactly
what fio prints when it has no samples (``calc_lat`` false): 0 / 0.0 and
``*_samples = 0``.  The aggregate bandwidth and IOPS are in ``bw``/``iops``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .stats import (
    DEFAULT_PERCENTILES,
    STRADDLING_BUCKETS,
    LatencyHist,
    _IDX_VAL,
    fio_float,
    normalize_percentile_list,
)

try:  # the package's version, for the "fio version" string
    from . import __version__ as _NVMESIM_VERSION
except Exception:  # pragma: no cover - package metadata missing
    _NVMESIM_VERSION = "0"

__all__ = [
    "DirResult",
    "JobResult",
    "LAT_N_KEYS",
    "LAT_U_KEYS",
    "LAT_M_KEYS",
    "IODEPTH_LEVEL_KEYS",
    "IODEPTH_SUBMIT_KEYS",
    "IODEPTH_COMPLETE_KEYS",
    "latency_distribution",
    "stat_calc_dist",
    "depth_level_index",
    "batch_map_index",
    "iodepth_dict",
    "dir_to_json",
    "job_to_json",
    "document",
    "dumps",
    "dump",
]

DDIRS = ("read", "write", "trim")

# Keys of fio's distributions (stat.c: show_thread_status_json).
LAT_N_KEYS = ("2", "4", "10", "20", "50", "100", "250", "500", "750", "1000")
LAT_U_KEYS = LAT_N_KEYS
LAT_M_KEYS = LAT_N_KEYS + ("2000", ">=2000")
IODEPTH_LEVEL_KEYS = ("1", "2", "4", "8", "16", "32", ">=64")
IODEPTH_SUBMIT_KEYS = ("0", "4", "8", "16", "32", "64", ">=64")
IODEPTH_COMPLETE_KEYS = IODEPTH_SUBMIT_KEYS

# Upper bounds (exclusive) of the latency distribution bins, in the unit of
# each table; the last ms bin is open (io_u.c: io_u_mark_lat_{nsec,usec,msec}).
_LAT_BOUNDS = (2, 4, 10, 20, 50, 100, 250, 500, 750, 1000, 2000)


def _lat_bin(x: int) -> int:
    for i, b in enumerate(_LAT_BOUNDS):
        if x < b:
            return i
    return len(_LAT_BOUNDS)  # ms only: >= 2000


def _mark_latency(ns: int, lat_n: list[int], lat_u: list[int], lat_m: list[int], k: int = 1) -> None:
    """fio ``io_u_mark_latency``: < 1 us by ns, < 1 ms by us, else by ms."""
    if ns < 1000:
        lat_n[_lat_bin(ns)] += k
    elif ns < 1000000:
        lat_u[_lat_bin(ns // 1000)] += k
    else:
        lat_m[_lat_bin(ns // 1000000)] += k


def _percent(counts: Sequence[int], total: int, floor: float) -> list[float]:
    """Percent of ``total`` per count, a non-zero share below ``floor`` shown as ``floor``
    (fio's stat_calc_lat uses 0.01, stat_calc_dist 0.1)."""
    out = []
    for c in counts:
        if total:
            v = float(c) / float(total)
            v *= 100.0
            if v < floor and c:
                v = floor
        else:
            v = 0.0
        out.append(v)
    return out


def _stat_calc_lat(counts: Sequence[int], total: int) -> list[float]:
    """fio ``stat_calc_lat``: percent of ``total``, non-zero shares < 0.01 -> 0.01."""
    return _percent(counts, total, 0.01)


def stat_calc_dist(counts: Sequence[int], total: int) -> list[float]:
    """fio ``stat_calc_dist``: percent of ``total``, non-zero shares < 0.1 -> 0.1."""
    return _percent(counts, total, 0.1)


def depth_level_index(cur_depth: int) -> int:
    """Index into ``iodepth_level`` for the queue depth at submission
    (fio ``io_u_mark_depth``: 1 | 2-3 | 4-7 | 8-15 | 16-31 | 32-63 | >=64).
    fio adds the number of I/Os submitted to that slot; the denominator is
    the total number of I/Os."""
    if cur_depth <= 1:
        return 0
    if cur_depth >= 64:
        return 6
    return cur_depth.bit_length() - 1


def batch_map_index(nr: int) -> int:
    """Index into ``iodepth_submit``/``iodepth_complete`` for one submit or
    reap call handling ``nr`` I/Os (fio ``__io_u_mark_map``: 0 | 1-4 | 5-8 |
    9-16 | 17-32 | 33-64 | >64, labelled 0, 4, 8, 16, 32, 64, >=64).  fio adds
    1 per call; the denominator is the number of calls."""
    if nr <= 0:
        return 0
    if nr <= 4:
        return 1
    if nr > 64:
        return 6
    return (nr - 1).bit_length() - 1


def iodepth_dict(kind: str, counts: Sequence[int], total: int) -> dict[str, float]:
    """An ``iodepth_level``/``iodepth_submit``/``iodepth_complete`` object from
    the 7 slot counters and their denominator (``stat_calc_dist``)."""
    keys = {"level": IODEPTH_LEVEL_KEYS, "submit": IODEPTH_SUBMIT_KEYS,
            "complete": IODEPTH_COMPLETE_KEYS}[kind]
    if len(counts) != 7:
        raise ValueError("need 7 counters")
    return dict(zip(keys, (fio_float(v) for v in stat_calc_dist(counts, total))))


class _LatDist:
    """fio's latency-distribution counters ``io_u_lat_n/u/m``."""

    __slots__ = ("n", "u", "m")

    def __init__(self) -> None:
        self.n = [0] * len(LAT_N_KEYS)
        self.u = [0] * len(LAT_U_KEYS)
        self.m = [0] * len(LAT_M_KEYS)

    def mark(self, ns: int, k: int = 1) -> None:
        _mark_latency(ns, self.n, self.u, self.m, k)

    def to_json(self, total_ios: int) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        return (
            dict(zip(LAT_N_KEYS, map(fio_float, _stat_calc_lat(self.n, total_ios)))),
            dict(zip(LAT_U_KEYS, map(fio_float, _stat_calc_lat(self.u, total_ios)))),
            dict(zip(LAT_M_KEYS, map(fio_float, _stat_calc_lat(self.m, total_ios)))),
        )


def latency_distribution(hists: LatencyHist | Iterable[LatencyHist], total_ios: int | None = None
                         ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """fio's ``latency_ns``, ``latency_us``, ``latency_ms`` objects.

    fio counts every completed read/write/trim I/O's *completion* latency
    (``io_u_mark_latency``, called next to ``add_clat_sample`` in
    ``io_u.c``) into 32 bins (< 1 us by ns, < 1 ms by us, else by ms) and
    prints each bin as a percentage of ``total_ios`` (the job's
    read+write+trim ``total_ios``) via ``stat_calc_lat`` (a non-zero share
    below 0.01 % is shown as 0.01).

    Derived here from the clat histograms: a bucket lying wholly inside a
    bin goes to that bin; for the 20 buckets that straddle a bin boundary
    (750 ns, 10 us, 20 us, 50 us, 100 us, ...) :class:`LatencyHist` counted
    how many samples fell below the boundary (``below``), so the result is
    exactly fio's.  (For a histogram rebuilt from json+ bins the split is
    unknown and each straddling bucket is placed by its reported value.)

    ``total_ios`` defaults to the histograms' total sample count.
    """
    if isinstance(hists, LatencyHist):
        hists = [hists]
    d = _LatDist()
    n_samples = 0
    for h in hists:
        n_samples += h.n
        below = h.below
        for i, k in enumerate(h.counts):
            if not k:
                continue
            b = STRADDLING_BUCKETS.get(i)
            if b is None:
                d.mark(_IDX_VAL[i], k)
            else:
                lo = below[i]
                if lo:
                    d.mark(b - 1, lo)
                if k - lo:
                    d.mark(b, k - lo)
    return d.to_json(n_samples if total_ios is None else total_ios)


@dataclass
class DirResult:
    """One direction ("read"/"write"/"trim") of one job."""

    total_ios: int = 0      # I/Os completed in the measurement window
    io_bytes: int = 0
    runtime_ms: int = 0     # measurement window, ms (fio's per-direction 'runtime')
    slat: LatencyHist = field(default_factory=LatencyHist)
    clat: LatencyHist = field(default_factory=LatencyHist)
    lat: LatencyHist = field(default_factory=LatencyHist)
    short_ios: int = 0
    drop_ios: int = 0

    def merge(self, other: "DirResult") -> "DirResult":
        """Fold ``other`` into ``self`` like fio's ``sum_thread_stats``
        (group_reporting): histograms merged, counters summed, runtime the
        max.  Returns ``self``."""
        self.total_ios += other.total_ios
        self.io_bytes += other.io_bytes
        self.short_ios += other.short_ios
        self.drop_ios += other.drop_ios
        if other.runtime_ms > self.runtime_ms:
            self.runtime_ms = other.runtime_ms
        self.slat.merge(other.slat)
        self.clat.merge(other.clat)
        self.lat.merge(other.lat)
        return self

    @property
    def runtime_reported(self) -> int:
        """fio accumulates a direction's runtime only if it moved bytes."""
        return int(self.runtime_ms) if self.io_bytes else 0

    @property
    def bw_bytes(self) -> int:
        """Bytes/s, integer-truncated: ``(1000 * io_bytes) / runtime``."""
        rt = self.runtime_reported
        return (1000 * int(self.io_bytes)) // rt if rt else 0

    @property
    def bw(self) -> int:
        """KiB/s, integer-truncated: ``bw_bytes / 1024``."""
        return self.bw_bytes // 1024

    @property
    def iops(self) -> float:
        rt = self.runtime_reported
        return (1000.0 * int(self.total_ios)) / rt if rt else 0.0


@dataclass
class JobResult:
    """Everything fio prints for one job (or one group with group_reporting)."""

    jobname: str = "nvmesim"
    groupid: int = 0
    error: int = 0
    job_options: dict[str, str] = field(default_factory=dict)
    read: DirResult = field(default_factory=DirResult)
    write: DirResult = field(default_factory=DirResult)
    trim: DirResult = field(default_factory=DirResult)
    job_runtime_ms: int = 0       # fio 'job_runtime' (total_run_time)
    elapsed_s: int = 0            # fio 'elapsed'
    eta_s: int = 0                # fio 'eta' (0 once finished)
    usr_cpu: float = 0.0          # percent of job_runtime
    sys_cpu: float = 0.0
    ctx: int = 0
    majf: int = 0
    minf: int = 0
    # 7-slot distributions in percent; None -> all 0.0 (not modelled)
    iodepth_level: dict[str, float] | None = None
    iodepth_submit: dict[str, float] | None = None
    iodepth_complete: dict[str, float] | None = None
    # None -> derived from the read/write/trim clat histograms
    latency_ns: dict[str, float] | None = None
    latency_us: dict[str, float] | None = None
    latency_ms: dict[str, float] | None = None
    # fio prints these four whenever latency_depth != 0, i.e. always;
    # latency_depth None -> the job's iodepth option (fio's latency_qd).
    latency_depth: int | None = None
    latency_target: int = 0
    latency_percentile: float = 100.0
    latency_window: int = 0
    extra: dict = field(default_factory=dict)  # emitted under "nvmesim" inside the job

    def dirs(self) -> tuple[DirResult, DirResult, DirResult]:
        return (self.read, self.write, self.trim)

    @property
    def total_ios(self) -> int:
        """fio's ``ddir_rw_sum(total_io_u)``."""
        return sum(d.total_ios for d in self.dirs())


# ---------------------------------------------------------------------------
# JSON builders


def _lat_obj(h: LatencyHist, percentiles_on: bool, plist: Sequence[float], plus: bool) -> dict:
    return h.to_json(plist if percentiles_on else None, with_bins=plus)


def dir_to_json(d: DirResult, plist: Sequence[float], plus: bool, *,
                clat_percentiles: bool = True, lat_percentiles: bool = False,
                slat_percentiles: bool = False) -> dict:
    """One direction object (fio ``add_ddir_status_json``)."""
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
        # No bandwidth/IOPS samples: what fio prints when calc_lat() fails.
        "bw_min": 0,
        "bw_max": 0,
        "bw_agg": 0.0,
        "bw_mean": 0.0,
        "bw_dev": 0.0,
        "bw_samples": 0,
        "iops_min": 0,
        "iops_max": 0,
        "iops_mean": 0.0,
        "iops_stddev": 0.0,
        "iops_samples": 0,
    }


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
                lat_percentiles: bool = False, slat_percentiles: bool = False) -> dict:
    """One element of fio's ``jobs`` array (``show_thread_status_json``).

    ``percentile_list`` None -> fio's default list.  ``plus`` -> json+ bins.
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
    for name, d in zip(DDIRS, job.dirs()):
        out[name] = dir_to_json(d, plist, plus, **flags)
    # DDIR_SYNC: nvmesim issues no fsync; fio's empty sync object.
    out["sync"] = {"total_ios": 0, "lat_ns": LatencyHist().to_json(None)}
    out["job_runtime"] = int(job.job_runtime_ms)
    out["usr_cpu"] = fio_float(job.usr_cpu)
    out["sys_cpu"] = fio_float(job.sys_cpu)
    out["ctx"] = int(job.ctx)
    out["majf"] = int(job.majf)
    out["minf"] = int(job.minf)
    out["iodepth_level"] = _float_dict(IODEPTH_LEVEL_KEYS, job.iodepth_level)
    out["iodepth_submit"] = _float_dict(IODEPTH_SUBMIT_KEYS, job.iodepth_submit)
    out["iodepth_complete"] = _float_dict(IODEPTH_COMPLETE_KEYS, job.iodepth_complete)
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
    doc["jobs"] = [
        job_to_json(j, percentile_list, plus, clat_percentiles=clat_percentiles,
                    lat_percentiles=lat_percentiles, slat_percentiles=slat_percentiles)
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
