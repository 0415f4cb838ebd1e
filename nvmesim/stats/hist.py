"""fio's latency statistics, reproduced bit for bit.

This module models (it does not copy) what fio keeps per latency type
(slat/clat/lat) and per data direction, so that nvmesim can print the same
numbers fio would print for the same per-I/O latencies:

* a log-linear histogram of 1856 buckets (``io_u_plat`` in fio's ``stat.h``,
  filled by ``add_lat_percentile_sample``/``plat_val_to_idx`` in ``stat.c``);
* exact ``min``/``max``/``N`` and a running mean and sum of squared
  deviations ``S`` updated with Welford's method (``add_stat_sample`` in
  ``stat.c``), from which fio derives the sample standard deviation
  (``calc_lat`` in ``stat.c``);
* merging of two such records with Chan et al.'s parallel formula
  (``__sum_stat``/``sum_stat`` in ``stat.c``);
* percentiles read off the histogram (``calc_clat_percentiles`` in ``stat.c``),
  including the floating-point threshold arithmetic of fio's compiled binary;
* the JSON latency object (``add_ddir_lat_json`` in ``stat.c``).

No per-I/O list is kept: memory is constant (one list of 1856 ints).

Notes on fio's exact behaviour (all checked against ``stat.c`` and against
``fio-3.33`` output):

* latencies are integer nanoseconds in fio (``ntime_since``); :meth:`LatencyHist.add`
  truncates a float with ``int()`` like the C conversion does;
* values below 128 ns (``2 * FIO_IO_U_PLAT_VAL``) have one bucket each; above,
  the most significant bit picks a group of 64 buckets and the next 6 bits
  pick the bucket; values of 2**34 ns and more are clamped into bucket 1855;
* a bucket is reported by its midpoint ``base + (k + 0.5) * 2**error_bits``,
  which is always an integer for buckets >= 128 (``plat_idx_to_val``);
* percentile ``p`` is the value of the first bucket whose cumulative count
  satisfies ``sum >= (long double) p / 100.0 * N`` in the source; fio is
  compiled with ``-ffast-math`` and the binary actually evaluates
  ``p * (N * 0.01L)`` in x87 80-bit arithmetic.  Where ``p/100*N`` is an
  integer the three possible readings (double, long double, fast-math) pick
  different buckets; :func:`percentile_threshold` reproduces the binary
  exactly (e.g. N=100, p=7: 7 I/Os suffice; N=100, p=30: 30 suffice);
* the percentile list is cut at its first ``0.0`` entry and at
  ``FIO_IO_U_LIST_MAX_LEN`` (20) entries, then sorted ascending, and the JSON
  keys are ``"%f"`` of the sorted values;
* ``stddev`` is ``sqrt(S / (N - 1))`` for N > 1, else 0; ``min``/``max``/
  ``mean``/``stddev`` print as 0 when N == 0.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable, Mapping, Sequence

from ..config.schema import DEFAULT_PERCENTILES

__all__ = [
    "FIO_IO_U_PLAT_BITS",
    "FIO_IO_U_PLAT_VAL",
    "FIO_IO_U_PLAT_GROUP_NR",
    "FIO_IO_U_PLAT_NR",
    "FIO_IO_U_LIST_MAX_LEN",
    "PERCENTILE_ARITHMETIC",
    "plat_val_to_idx",
    "plat_idx_to_val",
    "plat_idx_range",
    "LAT_DIST_STEPS",
    "LAT_DIST_MS_STEPS",
    "LAT_DIST_BOUNDARIES_NS",
    "STRADDLING_BUCKETS",
    "percentile_threshold",
    "normalize_percentile_list",
    "percentile_key",
    "fio_float",
    "LatencyHist",
    "RunningStat",
]

# stat.h
FIO_IO_U_PLAT_BITS = 6
FIO_IO_U_PLAT_VAL = 1 << FIO_IO_U_PLAT_BITS  # 64
FIO_IO_U_PLAT_GROUP_NR = 29
FIO_IO_U_PLAT_NR = FIO_IO_U_PLAT_GROUP_NR * FIO_IO_U_PLAT_VAL  # 1856
FIO_IO_U_LIST_MAX_LEN = 20

# How fio's compiled binary evaluates the percentile threshold; see
# percentile_threshold().  One of "x87-fast-math" (Debian fio-3.33 amd64),
# "long-double", "double".
PERCENTILE_ARITHMETIC = "x87-fast-math"

_LAST_IDX = FIO_IO_U_PLAT_NR - 1
_ULONG_MAX = (1 << 64) - 1


def plat_val_to_idx(ns: int) -> int:
    """Bucket index of a latency in ns (fio ``stat.c:plat_val_to_idx``)."""
    v = int(ns)
    if v < 0:
        raise ValueError(f"negative latency {ns!r}")
    # msb <= FIO_IO_U_PLAT_BITS  <=>  v < 128: the value is its own index.
    if v < (FIO_IO_U_PLAT_VAL << 1):
        return v
    error_bits = v.bit_length() - 1 - FIO_IO_U_PLAT_BITS
    idx = ((error_bits + 1) << FIO_IO_U_PLAT_BITS) + ((v >> error_bits) & (FIO_IO_U_PLAT_VAL - 1))
    return idx if idx < _LAST_IDX else _LAST_IDX


def plat_idx_to_val(idx: int) -> int:
    """Value fio reports for bucket ``idx`` (fio ``stat.c:plat_idx_to_val``).

    Below 128 the bucket's only value; above, the midpoint
    ``base + (k + 0.5) * 2**error_bits``.  fio computes that in ``double``
    and converts to ``unsigned long long``; since ``error_bits >= 1`` there
    the result is the exact integer ``base + (2k+1) * 2**(error_bits-1)``.
    """
    if not 0 <= idx < FIO_IO_U_PLAT_NR:
        raise ValueError(f"bucket index {idx} out of range")
    if idx < (FIO_IO_U_PLAT_VAL << 1):
        return idx
    error_bits = (idx >> FIO_IO_U_PLAT_BITS) - 1
    base = 1 << (error_bits + FIO_IO_U_PLAT_BITS)
    k = idx % FIO_IO_U_PLAT_VAL
    return base + ((2 * k + 1) << (error_bits - 1))


# Precomputed bucket values (used by bins()/percentiles()).
_IDX_VAL: tuple[int, ...] = tuple(plat_idx_to_val(i) for i in range(FIO_IO_U_PLAT_NR))


def plat_idx_range(idx: int) -> tuple[int, int]:
    """Half-open range ``[lo, hi)`` of latencies (ns) that land in bucket
    ``idx`` (the last bucket also takes everything clamped into it)."""
    if not 0 <= idx < FIO_IO_U_PLAT_NR:
        raise ValueError(f"bucket index {idx} out of range")
    if idx < (FIO_IO_U_PLAT_VAL << 1):
        return idx, idx + 1
    error_bits = (idx >> FIO_IO_U_PLAT_BITS) - 1
    lo = (FIO_IO_U_PLAT_VAL + idx % FIO_IO_U_PLAT_VAL) << error_bits
    return lo, lo + (1 << error_bits)


# The bins of fio's latency distribution tables latency_ns/us/ms: upper bounds in
# ns, us and ms, the ms table with one more (2000) and an open last bin
# (io_u.c: io_u_mark_latency and io_u_mark_lat_{nsec,usec,msec}).
LAT_DIST_STEPS: tuple[int, ...] = (2, 4, 10, 20, 50, 100, 250, 500, 750, 1000)
LAT_DIST_MS_STEPS: tuple[int, ...] = LAT_DIST_STEPS + (2000,)
LAT_DIST_BOUNDARIES_NS: tuple[int, ...] = tuple(sorted(
    set(LAT_DIST_STEPS)
    | {x * 1000 for x in LAT_DIST_STEPS}
    | {x * 1000000 for x in LAT_DIST_MS_STEPS}
))


def _straddling_buckets() -> dict[int, int]:
    out: dict[int, int] = {}
    for b in LAT_DIST_BOUNDARIES_NS:
        i = plat_val_to_idx(b)
        lo, _hi = plat_idx_range(i)
        if lo < b:
            assert i not in out  # a bucket never straddles two boundaries
            out[i] = b
    return out


# Buckets that hold latencies on both sides of a latency-distribution
# boundary, mapped to that boundary.  LatencyHist counts, for these buckets
# only, how many samples fell below the boundary (``below``), so that fio's
# latency_ns/us/ms tables can be derived exactly from the histogram.
STRADDLING_BUCKETS: dict[int, int] = _straddling_buckets()
_STRADDLE: tuple[int, ...] = tuple(STRADDLING_BUCKETS.get(i, 0) for i in range(FIO_IO_U_PLAT_NR))


def _round_to_bits(q: Fraction, bits: int) -> Fraction:
    """Round a non-negative rational to the nearest binary float with a
    ``bits``-bit significand, ties to even (IEEE / x87 round-to-nearest)."""
    if q <= 0:
        if q == 0:
            return q
        raise ValueError("negative value")
    n, d = q.numerator, q.denominator
    e = n.bit_length() - d.bit_length()
    # Normalise e so that 2**e <= q < 2**(e+1).
    if (e >= 0 and n < (d << e)) or (e < 0 and (n << -e) < d):
        e -= 1
    shift = bits - 1 - e
    if shift >= 0:
        num, den = n << shift, d
    else:
        num, den = n, d << -shift
    m, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and (m & 1)):
        m += 1
    return Fraction(m) * (Fraction(2) ** -shift)


# 1/100 rounded to the x87 64-bit significand: the constant GCC folds into
# fio's binary (0xa3d70a3d70a3d70a * 2**-70 in fio-3.33 amd64).
_X87_ONE_HUNDREDTH = _round_to_bits(Fraction(1, 100), 64)


def percentile_threshold(p: float, n: int, arith: str | None = None) -> Fraction:
    """The exact threshold fio compares cumulative bucket counts against.

    fio's source (``calc_clat_percentiles``) says
    ``sum >= (long double) p / 100.0 * nr``, but fio is built with
    ``-O3 -ffast-math`` (its Makefile's ``OPTFLAGS``), and GCC rewrites that
    to ``p * (nr * (1/100.0L))`` with the product ``nr * 0.01L`` hoisted out
    of the loop; on x86-64 every step is rounded to the x87 64-bit
    significand.  That is ``arith="x87-fast-math"``, the default
    (:data:`PERCENTILE_ARITHMETIC`), verified against Debian's fio-3.33
    amd64 binary (disassembly and real runs; see
    ``tests/data/fio-jsonplus-randread.json``, job ``edge``).

    Other models, for other builds: ``"long-double"`` (the C source
    evaluated literally with 80-bit long double), ``"double"`` (the same in
    IEEE double).  They disagree when ``p/100*N`` is (nearly) an integer:
    for N=100, p=7: x87-fast-math needs 7 I/Os, double needs 8; p=30:
    long-double needs 31, the others 30.
    """
    arith = arith or PERCENTILE_ARITHMETIC
    p = Fraction(float(p))
    n = int(n)
    if arith == "x87-fast-math":
        k = _round_to_bits(_X87_ONE_HUNDREDTH * n, 64)
        return _round_to_bits(k * p, 64)
    if arith == "long-double":
        return _round_to_bits(_round_to_bits(p / 100, 64) * n, 64)
    if arith == "double":
        return _round_to_bits(_round_to_bits(p / 100, 53) * n, 53)
    raise ValueError(f"unknown percentile arithmetic {arith!r}")


def normalize_percentile_list(plist: Iterable[float] | str | None) -> list[float]:
    """The percentiles fio actually uses, in the order it reports them.

    Mirrors ``calc_clat_percentiles``: entries up to (excluding) the first
    ``0.0`` and at most ``FIO_IO_U_LIST_MAX_LEN`` of them, sorted ascending.
    A string is parsed like fio's ``percentile_list`` option (``"1:50:99.9"``).
    """
    if plist is None:
        return []
    if isinstance(plist, str):
        plist = [float(x) for x in plist.split(":") if x.strip() != ""]
    out: list[float] = []
    for p in plist:
        p = float(p)
        if len(out) >= FIO_IO_U_LIST_MAX_LEN or p == 0.0:
            break
        if not 0.0 < p <= 100.0:
            raise ValueError(f"percentile {p!r} outside (0, 100]")
        out.append(p)
    out.sort()
    return out


def percentile_key(p: float) -> str:
    """JSON key fio uses for percentile ``p`` (``snprintf("%f")``)."""
    return "%f" % float(p)


def fio_float(x: float) -> float:
    """``x`` as it reads back from fio's JSON, which prints floats with ``%f``."""
    return float("%f" % x)


class RunningStat:
    """fio's ``struct io_stat``: exact min/max, a running mean and sum of squared
    deviations (Welford, ``add_stat_sample``), and the sample count.  fio keeps one per
    latency type (inside :class:`LatencyHist`) and per bandwidth and IOPS sample series.
    ``min``/``max``/``mean``/``stddev`` read 0 when empty, as fio prints them."""

    __slots__ = ("n", "mean", "S", "_min", "_max")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.S = 0.0
        self._min = _ULONG_MAX  # fio initialises min_val to ULONG_MAX
        self._max = 0

    def add(self, value: int) -> None:
        """fio ``add_stat_sample`` (an unsigned integer sample)."""
        v = int(value)
        if v > self._max:
            self._max = v
        if v < self._min:
            self._min = v
        delta = v - self.mean
        if delta:
            self.mean += delta / (self.n + 1.0)
            self.S += delta * (v - self.mean)
        self.n += 1

    @property
    def min(self) -> int:
        return self._min if self.n else 0

    @property
    def max(self) -> int:
        return self._max if self.n else 0

    @property
    def stddev(self) -> float:
        """Sample standard deviation exactly as fio's ``calc_lat``."""
        n = self.n
        if n > 1:
            return math.sqrt(self.S / (n - 1.0))
        return 0.0

    def merge_stats(self, other: "RunningStat") -> None:
        """Pool ``other``'s samples into these (fio's ``__sum_stat``: Chan et al.'s
        parallel formula; ``self`` is fio's ``dst``)."""
        if other.n == 0:  # sum_stat: nothing to add
            return
        dn, sn = self.n, other.n
        if dn == 0:  # __sum_stat(first=true)
            mean, S = other.mean, other.S
        else:
            # __sum_stat: delta = src.mean - dst.mean;
            # mean = (src.mean*src.n + dst.mean*dst.n) / (dst.n + src.n);
            # S = src.S + dst.S + pow(delta, 2.0) * (dst.n*src.n) / (dst.n+src.n)
            # (GCC folds pow(x, 2.0) to x*x; the sample-count product and sum
            # are integers converted to double.)
            delta = other.mean - self.mean
            mean = (other.mean * sn + self.mean * dn) / float(dn + sn)
            S = other.S + self.S + (delta * delta) * float(dn * sn) / float(dn + sn)
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        self.n = dn + sn
        self.mean = mean
        self.S = S

    def sum_rates(self, other: "RunningStat") -> None:
        """Add ``other``'s rate samples to these as fio's ``group_reporting`` does for
        bandwidth and IOPS (``sum_stat`` with ``pure_sum``): min, max, mean and S add up,
        so the group's figures are its jobs' together."""
        if other.n == 0:
            return
        if self.n == 0:
            self._min, self._max, self.n, self.mean, self.S = other._min, other._max, other.n, other.mean, other.S
            return
        self._min += other._min
        self._max += other._max
        self.n += other.n
        self.mean += other.mean
        self.S += other.S

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, min={self.min}, max={self.max}, mean={self.mean!r})"


class LatencyHist(RunningStat):
    """fio's per-direction latency record: histogram + exact running stats.

    ``add(ns)`` is meant for the simulator's per-I/O hot path.  Attributes:

    ``counts``  list of 1856 ints (fio's ``io_u_plat``)
    ``n``       number of samples (fio's ``samples``; JSON ``N``)
    ``mean``    running mean (double, Welford, as fio's ``mean.u.f``)
    ``S``       running sum of squared deviations (fio's ``S.u.f``)
    ``min``/``max``  exact integer extremes (0 when empty, as fio prints)
    ``stddev``  sample standard deviation, 0 when n <= 1
    ``below``   for the 20 buckets in :data:`STRADDLING_BUCKETS` only: how
                many samples lay below the latency-distribution boundary
                inside that bucket (lets fiojson derive fio's latency_ns/us/ms
                tables exactly; not something fio stores)
    ``approximate``  True when built from json+ bins (:meth:`from_bins`):
                min/max/mean/S/below are then estimates
    """

    __slots__ = ("counts", "below", "approximate")

    def __init__(self) -> None:
        super().__init__()
        self.counts: list[int] = [0] * FIO_IO_U_PLAT_NR
        self.below: dict[int, int] = dict.fromkeys(STRADDLING_BUCKETS, 0)
        # True when min/max/mean/S/below were reconstructed from bins.
        self.approximate = False

    # -- hot path -----------------------------------------------------------
    def add(self, ns: float | int) -> None:
        """Record one latency in ns (fio ``add_stat_sample`` +
        ``add_lat_percentile_sample``).  Floats are truncated to int ns."""
        v = int(ns)
        # Bucket (plat_val_to_idx, inlined).  For v >= 128 with
        # eb = msb - 6: (eb + 1) * 64 + ((v >> eb) & 63) == eb * 64 + (v >> eb)
        # because v >> eb lies in [64, 128).
        if v > 127:
            eb = v.bit_length() - 7
            idx = (eb << 6) + (v >> eb)
            if idx > 1855:
                idx = 1855
        elif v >= 0:
            idx = v
        else:
            raise ValueError(f"negative latency {ns!r}")
        self.counts[idx] += 1
        b = _STRADDLE[idx]
        if b and v < b:
            self.below[idx] += 1
        # Exact stats (add_stat_sample).
        if v > self._max:
            self._max = v
        if v < self._min:
            self._min = v
        mean = self.mean
        delta = v - mean  # int - float: v converted to double, as fio's `double val = data`
        n1 = self.n + 1
        self.n = n1
        if delta:
            # fio: mean += delta / (samples + 1.0); S += delta * (val - mean)
            mean += delta / n1
            self.mean = mean
            self.S += delta * (v - mean)

    def add_many(self, values: Sequence[float | int]) -> None:
        """Record several latencies in order: exactly ``for v in values: add(v)`` (the
        same float operations in the same order, so mean and S are bit-identical), with
        the record's fields in locals for the loop.  The reap and submit batches of fio's
        thread call it (issue 18: a batch shares its timestamp, not its samples)."""
        counts, below = self.counts, self.below
        mx, mn, mean, S, n = self._max, self._min, self.mean, self.S, self.n
        straddle = _STRADDLE
        try:
            for ns in values:
                v = int(ns)
                if v > 127:
                    eb = v.bit_length() - 7
                    idx = (eb << 6) + (v >> eb)
                    if idx > 1855:
                        idx = 1855
                elif v >= 0:
                    idx = v
                else:
                    raise ValueError(f"negative latency {ns!r}")
                counts[idx] += 1
                b = straddle[idx]
                if b and v < b:
                    below[idx] += 1
                if v > mx:
                    mx = v
                if v < mn:
                    mn = v
                delta = v - mean
                n += 1
                if delta:
                    mean += delta / n
                    S += delta * (v - mean)
        finally:  # (a negative latency keeps the samples before it, as add() would)
            self._max, self._min, self.mean, self.S, self.n = mx, mn, mean, S, n

    # -- derived values -----------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (f"LatencyHist(n={self.n}, min={self.min}, max={self.max}, "
                f"mean={self.mean!r}, stddev={self.stddev!r})")

    def copy(self) -> "LatencyHist":
        h = LatencyHist()
        h.counts = list(self.counts)
        h.n, h.mean, h.S = self.n, self.mean, self.S
        h._min, h._max, h.approximate = self._min, self._max, self.approximate
        h.below = dict(self.below)
        return h

    # -- merging (sum_stat) -------------------------------------------------
    def merge(self, other: "LatencyHist") -> "LatencyHist":
        """Add ``other`` into ``self`` in place, as fio's ``sum_thread_stats``
        does for ``group_reporting`` (``self`` is fio's ``dst``, ``other``
        its ``src``): bucket counts added, the exact stats pooled.  Returns ``self``."""
        if other.n == 0:  # sum_stat: nothing to add
            return self
        c = self.counts
        for i, k in enumerate(other.counts):
            if k:
                c[i] += k
        below = self.below
        for i, k in other.below.items():
            below[i] += k
        self.merge_stats(other)
        self.approximate = self.approximate or other.approximate
        return self

    # -- percentiles (calc_clat_percentiles) ---------------------------------
    def percentiles(self, plist: Iterable[float] | str | None = DEFAULT_PERCENTILES,
                    arith: str | None = None) -> dict[str, int]:
        """fio's percentiles, keyed like its JSON (``"99.900000"``), values in
        ns as ints (fio prints them with ``json_object_add_value_int``).

        The list is normalised like fio's (cut at the first 0, at most 20,
        sorted).  Percentile p maps to the first bucket whose cumulative
        count reaches fio's threshold (:func:`percentile_threshold`; ``arith``
        overrides :data:`PERCENTILE_ARITHMETIC`).  Empty dict when the list is
        empty or there are no samples.
        """
        ps = normalize_percentile_list(plist)
        n = self.n
        if not ps or n == 0:
            return {}
        # Smallest integer cumulative count satisfying sum >= threshold.
        needs = [math.ceil(percentile_threshold(p, n, arith)) for p in ps]
        out: dict[str, int] = {}
        j = 0
        cum = 0
        counts = self.counts
        last = len(ps)
        for i in range(FIO_IO_U_PLAT_NR):
            k = counts[i]
            if not k:
                continue
            cum += k
            while j < last and cum >= needs[j]:
                out[percentile_key(ps[j])] = _IDX_VAL[i]
                j += 1
            if j == last:
                break
        if j != last:
            raise RuntimeError("error calculating latency percentiles: "
                               "histogram holds fewer samples than n")
        return out

    # -- json+ bins ---------------------------------------------------------
    def bins(self) -> dict[str, int]:
        """Non-empty buckets keyed by ``str(plat_idx_to_val(i))`` (json+)."""
        return {str(_IDX_VAL[i]): k for i, k in enumerate(self.counts) if k}

    @classmethod
    def from_bins(cls, bins: Mapping[str | int, int]) -> "LatencyHist":
        """Rebuild a histogram from json+ ``bins``.

        Counts (hence percentiles and bins) are exact.  ``min``/``max``/
        ``mean``/``stddev`` are NOT known from bins: they are derived from the
        bucket values (min/max = smallest/largest non-empty bucket value,
        mean/S from bucket values weighted by counts) and are approximate
        (within a bucket's width, <= 1/128 relative).  Likewise ``below``
        (each straddling bucket is placed whole on the side of its reported
        value).  ``approximate`` is set.
        """
        h = cls()
        counts = h.counts
        for key, k in bins.items():
            v = int(key)
            k = int(k)
            if k < 0:
                raise ValueError(f"negative count for bin {key!r}")
            idx = plat_val_to_idx(v)
            if _IDX_VAL[idx] != v:
                raise ValueError(f"{key!r} is not a fio bucket value")
            counts[idx] += k
        n = sum(counts)
        h.n = n
        h.approximate = True
        if n:
            nz = [i for i, k in enumerate(counts) if k]
            h._min = _IDX_VAL[nz[0]]
            h._max = _IDX_VAL[nz[-1]]
            mean = math.fsum(_IDX_VAL[i] * counts[i] for i in nz) / n
            h.mean = mean
            h.S = math.fsum(counts[i] * (_IDX_VAL[i] - mean) ** 2 for i in nz)
            # below: unknown; place the whole bucket by its reported value.
            for i, b in STRADDLING_BUCKETS.items():
                h.below[i] = counts[i] if _IDX_VAL[i] < b else 0
        return h

    @classmethod
    def from_samples(cls, samples: Iterable[float | int]) -> "LatencyHist":
        h = cls()
        add = h.add
        for s in samples:
            add(s)
        return h

    # -- JSON (add_ddir_lat_json) -------------------------------------------
    def to_json(self, percentile_list: Sequence[float] | str | None = DEFAULT_PERCENTILES,
                with_bins: bool = False) -> dict:
        """fio's latency object: ``min``, ``max`` (ints), ``mean``, ``stddev``
        (floats, rounded the way fio's ``%f`` prints them), ``N``; then
        ``percentile`` only if the list is non-empty and N > 0, and ``bins``
        (json+) only in that same case - fio emits bins inside its percentile
        branch, so a latency type without percentiles has no bins.

        Pass ``percentile_list=None`` (or empty) when fio's
        ``{slat,clat,lat}_percentiles`` option for this type is off.
        """
        n = self.n
        obj: dict = {
            "min": self.min,
            "max": self.max,
            "mean": fio_float(self.mean) if n else 0.0,
            "stddev": fio_float(self.stddev) if n else 0.0,
            "N": n,
        }
        ps = normalize_percentile_list(percentile_list)
        if ps and n:
            obj["percentile"] = self.percentiles(ps)
            if with_bins:
                obj["bins"] = self.bins()
        return obj
