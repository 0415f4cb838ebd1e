"""fio's clock arithmetic, exactly: how it turns two timestamps into µs and ms.

fio reads ``clock_gettime`` into a ``struct timespec`` (integer ns) and subtracts
seconds and nanoseconds apart (``gettime.c``: ``utime_since``, ``rel_time_since``);
``backend.c: update_runtime`` rounds a job's elapsed µs *up* to whole ms.  The simulator's
times are float ns since the start of the run; a timestamp is their integer part, as
``fio_gettime`` would read it.
"""

from __future__ import annotations

_NS = 1_000_000_000


def _split(t: float) -> tuple[int, int]:
    n = int(t)
    return n // _NS, n % _NS


def utime_since(start: float, end: float) -> int:
    """µs from ``start`` to ``end`` as fio's ``utime_since`` computes them: the nanosecond
    difference divided by 1000 toward zero *before* the seconds are borrowed from, so
    the result depends on where the two instants fall within their seconds."""
    s_sec, s_ns = _split(start)
    e_sec, e_ns = _split(end)
    sec = e_sec - s_sec
    usec = int((e_ns - s_ns) / 1000)  # C division truncates toward zero
    if sec > 0 and usec < 0:
        sec -= 1
        usec += 1_000_000
    if sec < 0 or (sec == 0 and usec < 0):
        return 0
    return usec + sec * 1_000_000


def mtime_since(start: float, end: float) -> int:
    """ms from ``start`` to ``end`` (fio's ``mtime_since`` via ``rel_time_since``; >= 0)."""
    s_sec, s_ns = _split(start)
    e_sec, e_ns = _split(end)
    sec, ns = e_sec - s_sec, e_ns - s_ns
    if ns < 0:
        sec -= 1
        ns += _NS
    return max(sec * 1000 + ns // 1_000_000, 0)


def runtime_ms(elapsed_us: int) -> int:
    """A job's reported runtime: elapsed µs rounded up to ms (``update_runtime``)."""
    return (elapsed_us + 999) // 1000


def first_instant(start: float, us: int) -> int:
    """The earliest integer-ns timestamp at which ``utime_since(start, t) >= us``: when a
    check that fio makes against a µs limit (``ramp_time``, ``runtime``) first passes.
    ``utime_since`` never decreases as ``t`` grows, so a bisection finds it exactly."""
    lo = int(start)
    hi = lo + us * 1000 + 2000  # utime_since(start, hi) >= us always holds by then
    while lo < hi:
        mid = (lo + hi) // 2
        if utime_since(start, mid) >= us:
            hi = mid
        else:
            lo = mid + 1
    return lo
