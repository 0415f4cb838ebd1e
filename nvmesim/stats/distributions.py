"""fio's distribution tables: ``latency_ns``/``latency_us``/``latency_ms`` (completion
latency) and ``iodepth_level``/``iodepth_submit``/``iodepth_complete``, with fio's bins,
keys and percentage rules (``io_u.c``: ``io_u_mark_latency``, ``io_u_mark_depth``,
``__io_u_mark_map``; ``stat.c``: ``stat_calc_lat``, ``stat_calc_dist``).  Nothing is
copied from fio.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .hist import LAT_DIST_MS_STEPS, LAT_DIST_STEPS, STRADDLING_BUCKETS, LatencyHist, _IDX_VAL, fio_float

# Keys of fio's distributions (stat.c: show_thread_status_json).
LAT_N_KEYS = tuple(str(x) for x in LAT_DIST_STEPS)
LAT_U_KEYS = LAT_N_KEYS
LAT_M_KEYS = tuple(str(x) for x in LAT_DIST_MS_STEPS) + (">=2000",)
IODEPTH_LEVEL_KEYS = ("1", "2", "4", "8", "16", "32", ">=64")
IODEPTH_SUBMIT_KEYS = ("0", "4", "8", "16", "32", "64", ">=64")
IODEPTH_COMPLETE_KEYS = IODEPTH_SUBMIT_KEYS

def _lat_bin(x: int) -> int:
    """Bin of ``x`` in the unit of its table: the first upper bound above it."""
    for i, b in enumerate(LAT_DIST_MS_STEPS):
        if x < b:
            return i
    return len(LAT_DIST_MS_STEPS)  # ms only: >= 2000


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


def latency_counts(hists: LatencyHist | Iterable[LatencyHist]) -> tuple[list[int], list[int], list[int]]:
    """fio's latency-distribution counters ``io_u_lat_n``, ``io_u_lat_u``, ``io_u_lat_m``
    (``io_u_mark_latency``) of the completion latencies in ``hists``, derived exactly from
    the histograms (see :func:`latency_distribution`); the terse output needs the raw
    counts (``stat.c: stat_calc_lat_nu`` adds the unclamped ns share to the first us bin)."""
    if isinstance(hists, LatencyHist):
        hists = [hists]
    d = _LatDist()
    for h in hists:
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
    return d.n, d.u, d.m


def stat_calc_lat(counts: Sequence[int], total: int) -> list[float]:
    """fio ``stat_calc_lat``: each latency bin as a percent of ``total`` (the job's I/Os),
    a non-zero share below 0.01 shown as 0.01."""
    return _stat_calc_lat(counts, total)


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
    hists = list(hists)
    d = _LatDist()
    d.n, d.u, d.m = latency_counts(hists)
    n_samples = sum(h.n for h in hists)
    return d.to_json(n_samples if total_ios is None else total_ios)


def latency_shares(hists: LatencyHist | Iterable[LatencyHist], total_ios: int | None = None
                   ) -> tuple[list[float], list[float], list[float]]:
    """The same three tables as :func:`latency_distribution`, as fio's normal output
    prints them (``show_latencies``: ``stat_calc_lat`` unrounded, then ``%3.2f``): lists
    in the order of ``LAT_N_KEYS``, ``LAT_U_KEYS``, ``LAT_M_KEYS``."""
    if isinstance(hists, LatencyHist):
        hists = [hists]
    hists = list(hists)
    n, u, m = latency_counts(hists)
    total = sum(h.n for h in hists) if total_ios is None else total_ios
    return _stat_calc_lat(n, total), _stat_calc_lat(u, total), _stat_calc_lat(m, total)
