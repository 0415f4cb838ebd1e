"""fio's log files -- ``write_lat_log``, ``write_bw_log``, ``write_iops_log``,
``write_hist_log`` -- in fio 3.33's names and formats, streamed as the run goes.

What fio does, and so what this module does (fio 3.33, the functions cited):

* **Names** (``init.c: add_job``, ``gen_log_name``, ``make_log_name``):
  ``<prefix>_<type>.<jobnum>.log`` with type ``lat``, ``slat``, ``clat`` (all three for
  ``write_lat_log``), ``clat_hist``, ``bw``, ``iops``; the prefix is the option's value,
  or the job's name when it has none; ``jobnum`` is fio's ``thread_number``, from 1.
  nvmesim puts a run's variant into the prefix when the run has several
  (``<prefix>.<variant>_lat.1.log``: :class:`LogPlan`).
* **Lines** (``iolog.c: flush_samples``): ``time, value, ddir, bs, prio``: time in ms
  since the job's epoch (the end of the ramp), the value (latency in ns, bandwidth,
  IOPS), the direction (0 read, 1 write), the block size, and the priority column, which
  3.33 writes as ``ioprio_value_is_class_rt(prio)``: 0 for nvmesim's jobs.  With
  ``log_offset`` fio adds the offset before the priority; nvmesim simulates no offsets,
  so it refuses that option.
* **Which samples** (``io_u.c: account_io_completion``, ``ioengines.c: io_u_queued``):
  lat, clat (and the histogram) and, with ``log_avg_msec=0``, one bw and one iops
  entry per I/O accounted at its completion -- not in the ramp, and not in the reap that
  ends it (``should_account``); slat per I/O at its submission once the ramp is over.
* **Averaging** (``stat.c: add_log_sample``, ``__add_stat_to_log``): with
  ``log_avg_msec`` N > 0 a direction's samples collect in a window; the sample that
  finds N ms passed since the window's start writes one line -- the window's mean rounded
  (``mean + 0.5`` truncated), or its maximum with ``log_max_value`` -- with block size 0,
  and the next window starts at the last multiple of N.  The bw and iops logs then get
  the rate samples of fio's helper thread (``stat.c: __add_samples``, which nvmesim's
  ``RateSampler`` already models) and ``bw_avg_time``/``iops_avg_time`` follow
  ``log_avg_msec`` unless set (:func:`rate_intervals`); their windows accept a sample
  up to ``LOG_MSEC_SLACK`` early, the latency logs' do not (``inline_log``).  What is left in
  the windows is written when the job ends (``finalize_logs``) and, for bw and iops,
  when the run ends (``fio_writeout_logs(false)`` as the helper thread exits).
* **Per-I/O rates** (``stat.c: add_bw_sample``, ``add_iops_sample``): with
  ``log_avg_msec=0`` a bw or iops log is per I/O, and fio's reported statistics follow:
  the helper thread no longer samples that rate (``calc_log_samples``); each I/O adds
  ``bytes * 1000000 / clat_ns`` to ``bw_stat`` and 1 to ``iops_stat`` -- so real fio then
  reports ``iops_mean`` = 1 and a bandwidth sample per I/O, and so does nvmesim.
* **Histograms** (``stat.c: add_clat_sample``, ``iolog.c: flush_hist_samples``): with
  ``log_hist_msec`` N > 0, the clat sample that finds N ms passed since the direction's
  last entry writes ``time, ddir, bs`` and the clat histogram's counts since that entry
  (1856 of them, fio's ``io_u_plat``; summed in groups of 2^``log_hist_coarseness``); the
  next window starts N ms after the last (the drift kept).  The window still open when
  the job ends is not written; with ``log_hist_msec=0`` the file stays empty, and with
  ``clat_percentiles=0`` (no ``io_u_plat``) every count is 0 -- all as fio does.

fio keeps samples in memory and writes them when the job ends; nvmesim writes each line
as it happens, through one buffered file per log, and keeps only the open windows
(a running statistic per direction, and for the histogram 1856 counts per direction).
A log entry's time is the simulated instant of its reap or submission (fio reads the
clock once more per sample, a fraction of a microsecond later).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Iterable, Protocol

from ..config import ConfigError, Workload
from .fiotime import mtime_since
from .hist import FIO_IO_U_PLAT_NR, RunningStat, plat_val_to_idx
from .records import DirResult

__all__ = ["LOG_OPTIONS", "LOG_MSEC_SLACK", "Completed", "LogPlan", "JobLogs", "log_plans", "rate_intervals", "wants_logs"]

#: stat.h: how early (ms) a rate sample may close a bw/iops window
LOG_MSEC_SLACK = 1
#: fio's log options and the log types each writes (init.c: add_job)
LOG_OPTIONS: dict[str, tuple[str, ...]] = {
    "write_lat_log": ("lat", "slat", "clat"),
    "write_hist_log": ("clat_hist",),
    "write_bw_log": ("bw",),
    "write_iops_log": ("iops",),
}
_BUFFER = 1 << 16  # per log file (fio gives each 1 MiB, set_file_buffer; many jobs x 6 logs here)


class Completed(Protocol):
    """What a log entry reads from an I/O (the simulator's io_u)."""

    is_read: bool
    nbytes: int
    start: float
    issue: float


@dataclass(frozen=True)
class LogPlan:
    """Where one replication writes its jobs' logs: ``directory`` (absolute: the current
    directory when the run started, as fio's relative names are) and ``tag``, put after the
    prefix (``".stack"`` when a run has several variants, else ``""``)."""

    directory: Path
    tag: str = ""

    def path(self, w: Workload, option: str, kind: str, jobnum: int) -> Path:
        """fio's ``gen_log_name``: ``<prefix>_<kind>.<jobnum>.log``, the prefix being the
        option's value or, when empty, the job's name (``make_log_name``)."""
        prefix = getattr(w, option) or w.name
        return self.directory / f"{prefix}{self.tag}_{kind}.{jobnum}.log"


def wants_logs(w: Workload) -> bool:
    """Whether the workload asks for any of fio's logs."""
    return any(getattr(w, option) is not None for option in LOG_OPTIONS)


def log_plans(w: Workload, variants: list[str], directory: str | os.PathLike | None) -> dict[str, LogPlan]:
    """The plan of each variant's logs (replication 0 writes them), or none when the
    workload asks for no log or ``directory`` is None.  Each variant's files carry its name
    when there are several.  Every file's directory must exist (fio does not create it):
    raises :class:`ConfigError` naming the option otherwise."""
    if directory is None or not wants_logs(w):
        return {}
    base = Path(directory).resolve()
    plans = {v: LogPlan(base, f".{v}" if len(variants) > 1 else "") for v in variants}
    problems = []
    for option, kinds in LOG_OPTIONS.items():
        if getattr(w, option) is None:
            continue
        for plan in plans.values():
            parent = plan.path(w, option, kinds[0], 1).parent
            if not parent.is_dir():
                problems.append(f"workload.{option}: cannot write {plan.path(w, option, kinds[0], 1)}: "
                                f"no directory {parent} (fio does not create it)")
                break
            if not os.access(parent, os.W_OK):
                problems.append(f"workload.{option}: cannot write into {parent}: permission denied")
                break
    if problems:
        raise ConfigError(problems)
    return plans


def rate_intervals(w: Workload) -> tuple[int, int]:
    """The ms between fio's bandwidth samples and between its IOPS samples, 0 for a
    per-I/O rate log (``log_avg_msec=0``: no sampling, ``calc_log_samples``); otherwise
    ``bw_avg_time`` (``iops_avg_time``), which an averaged log sets to ``log_avg_msec``
    unless it was given (``init.c: add_job``; resolved by the ``Workload`` schema)."""
    per_io = not w.log_avg_msec
    return (0 if per_io and w.write_bw_log is not None else w.bw_avg_time,
            0 if per_io and w.write_iops_log is not None else w.iops_avg_time)


class _Log:
    """One of fio's per-sample logs (``struct io_log``): its file, the averaging period
    and, per direction, the open window (``avg_window``) and its start (``avg_last``)."""

    __slots__ = ("fh", "avg_msec", "inline", "log_max", "windows", "avg_last")

    def __init__(self, fh: IO[str], avg_msec: int, inline: bool, log_max: bool) -> None:
        self.fh = fh
        self.avg_msec = avg_msec
        self.inline = inline  # lat/clat/slat: no slack (inline_log)
        self.log_max = log_max
        self.windows = [RunningStat(), RunningStat()]
        self.avg_last = [0, 0]

    def add(self, ddir: int, value: int, bs: int, elapsed: int) -> None:
        """``stat.c: add_log_sample``: the line, or the sample into its window."""
        if not self.avg_msec:
            self.fh.write(f"{elapsed}, {value}, {ddir}, {bs}, 0\n")
            return
        self.windows[ddir].add(value)
        last = self.avg_last[ddir]
        if elapsed < last:
            return
        this_window = elapsed - last
        if this_window < self.avg_msec and (self.inline or self.avg_msec - this_window > LOG_MSEC_SLACK):
            return
        self.close_window(ddir, elapsed)
        self.avg_last[ddir] = elapsed - elapsed % self.avg_msec

    def close_window(self, ddir: int, elapsed: int) -> None:
        """``__add_stat_to_log``: the window's mean (rounded) or maximum, if it has
        samples, with block size 0; the window is emptied."""
        win = self.windows[ddir]
        if win.n:
            value = win.max if self.log_max else int(win.mean + 0.50)
            self.fh.write(f"{elapsed}, {value}, {ddir}, 0, 0\n")
        self.windows[ddir] = RunningStat()


class _HistLog:
    """fio's clat histogram log: per direction the counts since its last entry
    (``io_u_plat`` minus the previous entry's copy) and when that entry was written
    (``hist_window.hist_last``)."""

    __slots__ = ("fh", "msec", "stride", "counts", "last", "track")

    def __init__(self, fh: IO[str], msec: int, coarseness: int, track: bool) -> None:
        self.fh = fh
        self.msec = msec
        self.stride = 1 << coarseness
        self.counts = [[0] * FIO_IO_U_PLAT_NR, [0] * FIO_IO_U_PLAT_NR]
        self.last = [0, 0]
        self.track = track  # clat_percentiles: fio fills io_u_plat only then

    def add(self, ddir: int, ns: int, bs: int, elapsed: int) -> None:
        """The histogram part of ``stat.c: add_clat_sample``."""
        counts = self.counts[ddir]
        if self.track:
            counts[plat_val_to_idx(ns)] += 1
        if not self.msec:
            return
        if not self.last[ddir]:
            self.last[ddir] = elapsed
        this_window = elapsed - self.last[ddir]
        if this_window >= self.msec:
            s = self.stride
            bins = counts if s == 1 else [sum(counts[j:j + s]) for j in range(0, FIO_IO_U_PLAT_NR, s)]
            self.fh.write(f"{elapsed}, {ddir}, {bs}, {', '.join(map(str, bins))}\n")
            self.counts[ddir] = [0] * FIO_IO_U_PLAT_NR
            self.last[ddir] = elapsed - (this_window - self.msec)


class JobLogs:
    """One job's logs, and the per-I/O rate statistics a per-I/O bw or iops log implies.

    The job thread calls :meth:`submitted` after a batch's submission (slat),
    :meth:`reaped` for each reaped batch that is accounted (before its I/Os are recycled),
    :meth:`rate` for each sample of the rate sampler, :meth:`job_end` when the thread ends;
    the wiring calls :meth:`close` when the run ends.  Build it with :meth:`for_job`.
    """

    def __init__(self, w: Workload, plan: LogPlan | None, jobnum: int, read: DirResult, write: DirResult) -> None:
        self.dirs = (read, write)  # fio's ddir index: 0 read, 1 write
        bw_ms, iops_ms = rate_intervals(w)
        self.unit_bw = w.write_bw_log is not None and bw_ms == 0
        self.unit_iops = w.write_iops_log is not None and iops_ms == 0
        self.files: list[IO[str]] = []
        self.lat = self.slat = self.clat = self.bw = self.iops = None
        self.hist: _HistLog | None = None
        if plan is None:
            return

        def open_log(option: str, kind: str) -> IO[str]:
            fh = open(plan.path(w, option, kind, jobnum), "w", buffering=_BUFFER, newline="\n")
            self.files.append(fh)
            return fh

        avg, log_max = w.log_avg_msec, w.log_max_value
        if w.write_lat_log is not None:
            self.lat, self.slat, self.clat = (_Log(open_log("write_lat_log", k), avg, True, log_max)
                                              for k in LOG_OPTIONS["write_lat_log"])
        if w.write_hist_log is not None:
            self.hist = _HistLog(open_log("write_hist_log", "clat_hist"), w.log_hist_msec, w.log_hist_coarseness,
                                 w.clat_percentiles)
        # a bw/iops log's own period: min(log_avg_msec, *_avg_time)
        if w.write_bw_log is not None:
            self.bw = _Log(open_log("write_bw_log", "bw"), 0 if self.unit_bw else min(avg, bw_ms), False, log_max)
        if w.write_iops_log is not None:
            self.iops = _Log(open_log("write_iops_log", "iops"), 0 if self.unit_iops else min(avg, iops_ms), False,
                             log_max)

    @classmethod
    def for_job(cls, w: Workload, plan: LogPlan | None, jobnum: int, read: DirResult,
                write: DirResult) -> "JobLogs | None":
        """The job's logs, or None when it has nothing to do: no file to write (no log
        option, or not this replication) and no per-I/O rate to account."""
        logs = cls(w, plan, jobnum, read, write) if wants_logs(w) else None
        if logs is not None and not logs.files and not (logs.unit_bw or logs.unit_iops):
            return None
        return logs

    def submitted(self, ios: Iterable[Completed], issue: float, epoch: float) -> None:
        """A batch's slat samples (``add_slat_sample`` from ``io_u_queued``)."""
        slat = self.slat
        if slat is None:
            return
        elapsed = mtime_since(epoch, issue)
        for io_u in ios:
            slat.add(0 if io_u.is_read else 1, int(issue - io_u.start), io_u.nbytes, elapsed)

    def reaped(self, ring: Iterable[Completed], n: int, reap: float, epoch: float) -> None:
        """The first ``n`` I/Os of ``ring``, reaped at ``reap`` and accounted, in fio's
        order per I/O (``account_io_completion``): lat, clat and its histogram, bw, iops."""
        elapsed = mtime_since(epoch, reap)
        lat, clat, hist, bw, iops = self.lat, self.clat, self.hist, self.bw, self.iops
        unit_bw, unit_iops = self.unit_bw, self.unit_iops
        for io_u in islice(ring, n):
            ddir = 0 if io_u.is_read else 1
            bs = io_u.nbytes
            c = int(reap - io_u.issue)
            if lat is not None:
                lat.add(ddir, int(reap - io_u.start), bs, elapsed)
                clat.add(ddir, c, bs, elapsed)
            if hist is not None:
                hist.add(ddir, c, bs, elapsed)
            if unit_bw:  # add_bw_sample: bytes * 1000000 / clat in ns
                rate = bs * 1000000 // c if c else 0
                self.dirs[ddir].bw_stat.add(rate)
                if bw is not None:
                    bw.add(ddir, rate, bs, elapsed)
            if unit_iops:  # add_iops_sample
                self.dirs[ddir].iops_stat.add(1)
                if iops is not None:
                    iops.add(ddir, 1, bs, elapsed)

    def rate(self, bandwidth: bool, is_read: bool, value: int, now: float, epoch: float) -> None:
        """One bandwidth (KiB/s) or IOPS sample of the helper thread (``__add_samples``)."""
        log = self.bw if bandwidth else self.iops
        if log is not None:
            log.add(0 if is_read else 1, value, 0, mtime_since(epoch, now))

    def job_end(self, t: float, epoch: float) -> None:
        """The job thread ends (``td_writeout_logs(td, true)`` -> ``finalize_logs``): the
        latency logs' open windows are written."""
        elapsed = mtime_since(epoch, t)
        for log in (self.lat, self.slat, self.clat):
            if log is not None and log.avg_msec:
                log.close_window(0, elapsed)
                log.close_window(1, elapsed)

    def close(self, t: float, epoch: float) -> None:
        """The run ends (the helper thread's ``fio_writeout_logs(false)``): the averaged
        bw and iops logs' open windows are written, and every file is closed."""
        elapsed = mtime_since(epoch, t)
        for log in (self.bw, self.iops):
            if log is not None and log.avg_msec:
                log.close_window(0, elapsed)
                log.close_window(1, elapsed)
        for fh in self.files:
            fh.close()
        self.files = []
