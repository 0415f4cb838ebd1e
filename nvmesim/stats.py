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
  including the ``long double`` threshold arithmetic fio uses;
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
  satisfies ``sum >= (long double) p / 100.0 * N``.  On x86-64 ``long double``
  is the x87 80-bit format (64-bit significand); the comparison therefore
  differs from a plain ``double`` computation when ``p/100*N`` is an integer
  (e.g. p=99.9 with N=1000: fio needs all 1000 I/Os, a double computation
  only 999).  :func:`percentile_threshold` emulates that arithmetic exactly;
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

__all__ = [
    "FIO_IO_U_PLAT_BITS",
    "FIO_IO_U_PLAT_VAL",
    "FIO_IO_U_PLAT_GROUP_NR",
    "FIO_IO_U_PLAT_NR",
    "FIO_IO_U_LIST_MAX_LEN",
    "DEFAULT_PERCENTILES",
    "LONG_DOUBLE_MANT_BITS",
    "plat_val_to_idx",
    "plat_idx_to_val",
    "percentile_threshold",
    "normalize_percentile_list",
    "percentile_key",
    "fio_float",
    "LatencyHist",
]

# stat.h
FIO_IO_U_PLAT_BITS = 6
FIO_IO_U_PLAT_VAL = 1 << FIO_IO_U_PLAT_BITS  # 64
FIO_IO_U_PLAT_GROUP_NR = 29
FIO_IO_U_PLAT_NR = FIO_IO_U_PLAT_GROUP_NR * FIO_IO_U_PLAT_VAL  # 1856
FIO_IO_U_LIST_MAX_LEN = 20

# fio's default ``percentile_list`` (options.c / HOWTO).
DEFAULT_PERCENTILES: tuple[float, ...] = (
    1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0,
    95.0, 99.0, 99.5, 99.9, 99.95, 99.99,
)

# Significand width of C ``long double`` on the platform whose fio we model.
# x86-64 (Debian amd64 fio): x87 extended precision, 64 bits.  (aarch64 fio
# would use IEEE quad, 113 bits.)
LONG_DOUBLE_MANT_BITS = 64

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


def percentile_threshold(p: float, n: int, mant_bits: int = LONG_DOUBLE_MANT_BITS) -> Fraction:
    """The exact value of fio's ``(long double) p / 100.0 * nr``.

    ``p`` is the C double of the percentile; each of the two operations is
    rounded to a ``mant_bits`` significand (64 = x87 ``long double``; 53
    would give plain ``double`` arithmetic).
    """
    q = _round_to_bits(Fraction(float(p)) / 100, mant_bits)
    return _round_to_bits(q * int(n), mant_bits)


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


class LatencyHist:
    """fio's per-direction latency record: histogram + exact running stats.

    ``add(ns)`` is meant for the simulator's per-I/O hot path.  Attributes:

    ``counts``  list of 1856 ints (fio's ``io_u_plat``)
    ``n``       number of samples (fio's ``samples``; JSON ``N``)
    ``mean``    running mean (double, Welford, as fio's ``mean.u.f``)
    ``S``       running sum of squared deviations (fio's ``S.u.f``)
    ``min``/``max``  exact integer extremes (0 when empty, as fio prints)
    ``stddev``  sample standard deviation, 0 when n <= 1
    """

    __slots__ = ("counts", "n", "mean", "S", "_min", "_max", "approximate")

    def __init__(self) -> None:
        self.counts: list[int] = [0] * FIO_IO_U_PLAT_NR
        self.n = 0
        self.mean = 0.0
        self.S = 0.0
        self._min = _ULONG_MAX  # fio initialises min_val to ULONG_MAX
        self._max = 0
        # True when min/max/mean/S were reconstructed from bins (from_bins).
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

    # -- derived values -----------------------------------------------------
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
        return h

    # -- merging (sum_stat) -------------------------------------------------
    def merge(self, other: "LatencyHist") -> "LatencyHist":
        """Add ``other`` into ``self`` in place, as fio's ``sum_thread_stats``
        does for ``group_reporting`` (``self`` is fio's ``dst``, ``other``
        its ``src``).  Returns ``self``."""
        if other.n == 0:  # sum_stat: nothing to add
            return self
        c = self.counts
        for i, k in enumerate(other.counts):
            if k:
                c[i] += k
        dn, sn = self.n, other.n
        if dn == 0:  # __sum_stat(first=true)
            mean, S = other.mean, other.S
        else:
            delta = other.mean - self.mean
            mean = (other.mean * sn + self.mean * dn) / float(dn + sn)
            S = other.S + self.S + (delta ** 2.0) * float(dn * sn) / float(dn + sn)
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        self.n = dn + sn
        self.mean = mean
        self.S = S
        self.approximate = self.approximate or other.approximate
        return self

    # -- percentiles (calc_clat_percentiles) ---------------------------------
    def percentiles(self, plist: Iterable[float] | str | None = DEFAULT_PERCENTILES) -> dict[str, int]:
        """fio's percentiles, keyed like its JSON (``"99.900000"``), values in
        ns as ints (fio prints them with ``json_object_add_value_int``).

        Empty dict when the list is empty or there are no samples.
        """
        ps = normalize_percentile_list(plist)
        n = self.n
        if not ps or n == 0:
            return {}
        # Smallest integer cumulative count satisfying sum >= threshold.
        needs = [math.ceil(percentile_threshold(p, n)) for p in ps]
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
        (within a bucket's width, <= 1/128 relative).  ``approximate`` is set.
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
