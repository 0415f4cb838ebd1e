"""fio's number formatting for its normal output: ``num2str`` and the unit rules of the
latency lines and the percentile block.

Modelled on fio 3.33 (``lib/num2str.c: num2str``; ``stat.h: nsec_to_usec``,
``nsec_to_msec``; ``stat.c: display_lat``, ``show_clat_percentiles``, ``show_lat``);
nothing is copied from fio.  What is easy to get wrong, and reproduced here:

* ``num2str`` keeps at most ``maxlen`` characters of digits (and the point): it divides
  by 1000 (or 1024) until the integer part fits, then fills the room left with decimals
  of the last remainder (``%.*f`` of ``modulo / 1000``), carrying a rounded-up decimal
  into the integer part; with no room for decimals it rounds the integer by the last
  remainder.  So ``340608 -> "341k"``, ``48745 KiB -> "47.6MiB"``, ``12024k`` (maxlen 6).
* a latency line switches to usec only when ``min > 2000``, ``max > 99999`` *and*
  ``stdev > 1000`` (msec: 2e6, 99999999, 1e6), each of min, max, mean and stdev divided
  (min and max as integers); so a run with a 1.4 us minimum prints ``clat (nsec)`` even
  when its mean is 400 us.
* the percentile block's unit looks at the smallest and largest percentile *value*
  (``minv > 2000 and maxv > 99999`` for usec), and its values are rounded *up*
  (``(v + 999) / 1000`` per step), its width from ``log10(maxv / divisor)``.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Sequence

__all__ = ["N2S", "num2str", "nsec_to_usec", "nsec_to_msec", "lat_unit", "display_lat",
           "percentile_precision", "clat_percentile_lines", "lat_dist_lines",
           "LAT_N_RANGES", "LAT_U_RANGES", "LAT_M_RANGES"]

_SI = ("", "k", "M", "G", "T", "P", "E")
_IEC = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_U64 = (1 << 64) - 1


class N2S(IntEnum):
    """fio's ``enum n2s_unit`` (lib/num2str.h): what ``num2str`` appends."""

    NONE = 0
    PERSEC = 1
    BYTE = 2
    BIT = 3
    BYTEPERSEC = 4
    BITPERSEC = 5


_UNIT_STR = {N2S.NONE: "", N2S.PERSEC: "/s", N2S.BYTE: "B", N2S.BIT: "bit",
             N2S.BYTEPERSEC: "B/s", N2S.BITPERSEC: "bit/s"}


def num2str(num: int, maxlen: int, base: int = 1, pow2: bool = False, units: N2S = N2S.NONE) -> str:
    """fio's ``num2str`` (lib/num2str.c): ``num`` (an unsigned 64-bit count of ``base``
    units) in at most ``maxlen`` digits with an SI (``pow2`` false: k, M, ...) or IEC (Ki,
    Mi, ...) prefix and a unit.  fio's normal output calls it with ``maxlen`` = the job's
    ``significant_figures`` (4) for IOPS, bandwidth and sizes, 6 for latency min/max."""
    units = N2S(units)
    thousand = 1024 if pow2 else 1000
    prefix = _IEC if pow2 else _SI
    post = 0
    while base > 1:
        base //= thousand
        post += 1
    num = int(num) & _U64
    if units in (N2S.BIT, N2S.BITPERSEC):
        num = (num * 8) & _U64
    modulo = None
    carry = False
    while post < len(_SI):
        if len(str(num)) <= maxlen:
            break
        modulo = num % thousand
        num //= thousand
        carry = modulo >= thousand // 2
        post += 1
    if post >= len(_SI):
        post = 0
    unit = _UNIT_STR[units]
    if modulo is None:
        return f"{num}{prefix[post]}{unit}"
    room = maxlen - len(str(num))
    if room <= 1:  # no room for decimals: round by the last remainder
        if carry:
            num += 1
        return f"{num}{prefix[post]}{unit}"
    frac = "%.*f" % (room - 1, modulo / thousand)
    if frac[0] == "1":  # the decimals rounded up to 1.0: carry into the integer
        num += 1
    return f"{num}.{frac[2:]}{prefix[post]}{unit}"


def nsec_to_usec(lo: int, hi: int, mean: float, dev: float) -> tuple[bool, int, int, float, float]:
    """fio's ``nsec_to_usec`` (stat.h): usec when min > 2000, max > 99999 and stdev > 1000;
    returns (switched, min, max, mean, stdev) in the chosen unit."""
    if lo > 2000 and hi > 99999 and dev > 1000.0:
        return True, lo // 1000, hi // 1000, mean / 1000.0, dev / 1000.0
    return False, lo, hi, mean, dev


def nsec_to_msec(lo: int, hi: int, mean: float, dev: float) -> tuple[bool, int, int, float, float]:
    """fio's ``nsec_to_msec`` (stat.h): msec when min > 2e6, max > 99999999 and stdev > 1e6."""
    if lo > 2000000 and hi > 99999999 and dev > 1000000.0:
        return True, lo // 1000000, hi // 1000000, mean / 1000000.0, dev / 1000000.0
    return False, lo, hi, mean, dev


def lat_unit(lo: int, hi: int, mean: float, dev: float) -> tuple[str, int, int, float, float]:
    """``display_lat``'s unit choice: msec if ``nsec_to_msec`` takes it, else usec if
    ``nsec_to_usec`` does, else nsec; with the figures converted."""
    ms = nsec_to_msec(lo, hi, mean, dev)
    if ms[0]:
        return ("msec",) + ms[1:]
    us = nsec_to_usec(lo, hi, mean, dev)
    if us[0]:
        return ("usec",) + us[1:]
    return ("nsec", lo, hi, mean, dev)


def display_lat(name: str, lo: int, hi: int, mean: float, dev: float) -> str:
    """One ``slat``/``clat``/`` lat`` line (stat.c: ``display_lat``): min and max through
    ``num2str(..., 6, ...)``, mean and stdev ``%5.02f``, in the unit of :func:`lat_unit`."""
    unit, lo, hi, mean, dev = lat_unit(int(lo), int(hi), float(mean), float(dev))
    return (f"    {name} ({unit}): min={num2str(lo, 6)}, max={num2str(hi, 6)}, "
            f"avg={mean:5.02f}, stdev={dev:5.02f}")


def percentile_precision(plist: Sequence[float]) -> int:
    """fio's ``percentile_precision``: the most digits after the point among the
    ``percentile_list`` entries as written (parse.c, FIO_OPT_FLOAT_LIST); 2 for the default
    list.  From floats, the digits of each one's shortest repr (so ``99.90`` counts 1)."""
    best = 0
    for p in plist:
        text = repr(float(p))
        if "e" in text or "E" in text:
            text = f"{float(p):.20f}".rstrip("0")
        if "." in text:
            dec = text.split(".", 1)[1].rstrip("0")
            best = max(best, len(dec))
    return best


def clat_percentile_lines(pre: str, pairs: Sequence[tuple[float, int]], precision: int) -> list[str]:
    """fio's percentile block (stat.c: ``show_clat_percentiles``) for ``pairs`` of
    (percentile, value in ns) in fio's order: the unit from the smallest and largest value,
    values rounded up per division, ``per_line = 73 // (precision + 10 + width)`` items a
    line, each `` %{precision+3}.{precision}fth=[%{width}d]`` and a ``,`` (the last ends
    the line).  Empty when there are no pairs."""
    if not pairs:
        return []
    vals = [int(v) for _, v in pairs]
    minv, maxv = min(vals), max(vals)
    if minv > 2000000 and maxv > 99999999:
        scale, divisor, unit = 2, 1000000, "msec"
    elif minv > 2000 and maxv > 99999:
        scale, divisor, unit = 1, 1000, "usec"
    else:
        scale, divisor, unit = 0, 1, "nsec"
    q = maxv // divisor
    width = max(5, int(math.log10(q) + 1)) if q > 0 else 5  # C's (int)(-inf) is INT_MIN: 5
    per_line = (80 - 7) // (precision + 10 + width)
    lines = [f"    {pre} percentiles ({unit}):"]
    cur = "     |"
    for j, (p, v) in enumerate(pairs):
        if j and j % per_line == 0:
            cur = "     |"
        for _ in range(scale):
            v = (v + 999) // 1000
        last = j == len(pairs) - 1
        cur += " %*.*fth=[%*d]%s" % (precision + 3, precision, float(p), width, v, "" if last else ",")
        if last or j % per_line == per_line - 1:
            lines.append(cur)
            cur = ""
    return lines


#: the labels of fio's latency-distribution lines (stat.c: show_lat_n, show_lat_u, show_lat_m)
LAT_N_RANGES = ("2", "4", "10", "20", "50", "100", "250", "500", "750", "1000")
LAT_U_RANGES = LAT_N_RANGES
LAT_M_RANGES = LAT_N_RANGES + ("2000", ">=2000")


def lat_dist_lines(unit: str, ranges: Sequence[str], pct: Sequence[float]) -> list[str]:
    """fio's ``lat (nsec|usec|msec)   :`` lines (stat.c: ``show_lat``): every bin above 0 as
    ``label=%3.2f%%``, five a line; nothing when every bin is 0."""
    items = [f"{r}={v:3.2f}%" for r, v in zip(ranges, pct) if v > 0.0]
    return [f"  lat ({unit})   : " + ", ".join(items[i:i + 5]) for i in range(0, len(items), 5)]
