"""fio's iolog replay in the job thread (``read_iolog``): the next I/O of the log, after
the wait its timestamp asks for.

The log is streamed (:class:`~nvmesim.config.iolog.IologReader`), one line at a time,
and each I/O goes through the job's usual path (``FioJob.run``: prep, queue, commit,
reap): only its direction, its file and its size come from the log instead of ``rw``,
``bs`` and ``file_service_type``.  Offsets are checked but not simulated (the device
model has no LBA-dependent behaviour).

Timing follows fio 3.33 (``iolog.c``):

* a v3 line's delay is its timestamp minus the previous line's, 0 for the first line,
  while the previous timestamp is 0, if time went backwards, or with ``replay_no_stall``;
  scaled by 100 / ``replay_time_scale`` (``delay_since_ttime``);
* the delay counts from the last issue: the last batch's submission time (the engines'
  ``fio_ioring_queued``/``fio_libaio_queued`` copy it into ``td->last_issue``), or the
  last file action's processing (``ipo_special``); fio sleeps for what is left of it,
  in whole µs, in pieces of at most 0.5 s, and carries an oversleep over to the next
  delay (``iolog_delay``'s ``time_offset``).  The sleep is taken when the job gets its
  next io_u (``read_iolog_get``), before its prep: fio does not reap while it sleeps;
* v2's ``wait`` line compares its value with the ms since the run began and sleeps for
  the difference in ms (``read_iolog_get``'s DDIR_WAIT branch, as the code does it;
  the HOWTO describes µs relative to the last wait); ``replay_no_stall`` drops it;
* the job ends when the log is exhausted (``td->done``), or at ``runtime`` if that
  comes first; ``size``, ``io_size`` and ``number_ios`` do not end a replay
  (``do_io``: "Jobs read from iolog do not use this stop condition"; real fio 3.33
  replays the whole log with any of them, and with ``time_based`` it does not loop).
"""

from __future__ import annotations

from typing import Generator

from ..config import Config
from ..config.iolog import FILE_ACTION, WAIT, IologReader, split_names
from ..stats.fiotime import mtime_since, utime_since
from .engine import Event, Timeout

_SLEEP_MAX_US = 500_000  # iolog_delay sleeps in pieces of at most this


class Replay:
    """Job ``job``'s log (the ``job % n``-th of ``read_iolog``'s names), its read
    position and fio's replay clock state (``io_log_last_ttime``, ``last_issue``,
    ``time_offset``).  The log's k-th file is the job's k-th (``Config.job_files`` lists
    a replaying job's files as the log adds them)."""

    __slots__ = ("it", "no_stall", "scale", "last_ttime", "last_issue", "time_offset")

    def __init__(self, cfg: Config, job: int) -> None:
        w = cfg.workload
        names = split_names(w.read_iolog)
        reader = IologReader(names[job % len(names)], w.replay_redirect)
        self.it = iter(reader)
        self.no_stall = w.replay_no_stall
        self.scale = w.replay_time_scale
        self.last_ttime = 0
        self.last_issue: float | None = None  # nothing issued yet: no delay applies
        self.time_offset = 0

    def issued(self, t: float) -> None:
        """A batch was submitted at ``t`` (the engine's ``td->last_issue``)."""
        self.last_issue = t

    def _delay_of(self, t: int) -> int:
        """``delay_since_ttime``: µs between this line's timestamp and the previous one's."""
        last = self.last_ttime
        self.last_ttime = t
        if not last or self.no_stall or t < last:
            return 0
        if self.scale == 100:
            return t - last
        return int((t - last) * (100.0 / self.scale))

    def next_io(self, job) -> Generator[Event, None, tuple[bool, int, int] | None]:
        """The next I/O of the log as (is_read, the job's file index, bytes), after the
        file actions and waits before it (sleeping the job as fio would); None when the
        log is exhausted."""
        for _n, t, f, kind, off, length in self.it:
            delay = self._delay_of(t) if t >= 0 else 0
            if kind == FILE_ACTION:  # ipo_special: add, open, close
                if delay:
                    yield from self._iolog_delay(job, delay)
                self.last_issue = job.core.local_now()
                continue
            if kind == WAIT:  # (a v2 wait: never with replay_no_stall)
                if self.no_stall:
                    continue
                elapsed = mtime_since(0.0, job.core.local_now())
                if off > elapsed:
                    yield from _sleep(job, (off - elapsed) * 1_000_000.0)
                continue
            if delay:
                yield from self._iolog_delay(job, delay)
            return bool(kind), f, length
        return None

    def _iolog_delay(self, job, delay: int) -> Generator[Event, None, None]:
        """``iolog_delay``: sleep until ``delay`` µs after the last issue, less what an
        earlier sleep overslept."""
        if self.last_issue is None:  # td->last_issue is still zero: long ago
            return
        orig = delay
        if delay < self.time_offset:
            self.time_offset = 0
            return
        delay -= self.time_offset
        usec = utime_since(self.last_issue, job.core.local_now())
        if delay < usec:
            return
        delay -= usec
        ts = job.core.local_now()
        while delay:
            this = delay if delay < _SLEEP_MAX_US else _SLEEP_MAX_US
            yield from _sleep(job, this * 1000.0)
            delay -= this
        slept = utime_since(ts, job.core.local_now())
        self.time_offset = slept - orig if slept > orig else 0


def _sleep(job, ns: float) -> Generator[Event, None, None]:
    """The job thread sleeps (``usec_sleep``: nanosleep, off the CPU) for ``ns``."""
    core = job.core
    yield from core.sync()
    core.sleep()
    job.ctx += 1
    if ns > 0:
        yield Timeout(job.env, ns)
    yield from core.wake()
