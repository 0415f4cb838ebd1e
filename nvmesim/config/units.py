"""fio-style quantities: sizes with k/m/g suffixes (kb_base=1024) and times with units."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|usec|ms|msec|s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_TIME_NS = {
    "ns": 1,
    "us": 1_000,
    "usec": 1_000,
    "ms": 1_000_000,
    "msec": 1_000_000,
    "s": 1_000_000_000,
    "sec": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}


def parse_size(value: int | str) -> int:
    """Bytes from ``4096``, ``"4k"``, ``"128KiB"``, ``"1m"`` (fio's kb_base=1024), ``"0x1000"``."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 4096, 4k or 1m, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative, got {value}")
        return value
    hexa = re.match(r"^\s*0x([0-9a-f]+)\s*$", str(value), re.IGNORECASE)  # parse.c str_to_decimal: 0x is hex
    if hexa:
        return int(hexa.group(1), 16)
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"expected a size such as 4096, 4k or 1m, got {value!r}")
    n = float(m.group(1)) * _SIZE_MULT[m.group(2).lower()]
    if n != int(n):
        raise ValueError(f"size {value!r} is not a whole number of bytes")
    return int(n)


def parse_time_ns(value: int | float | str, default_unit: str = "s") -> int:
    """Nanoseconds from ``"2s"``, ``"500ms"``, ``"100us"`` or a bare number in ``default_unit``
    (fio's times default to seconds)."""
    if isinstance(value, bool):
        raise ValueError("expected a time such as 2s, 500ms or 100us, got a boolean")
    if isinstance(value, (int, float)):
        return int(round(value * _TIME_NS[default_unit]))
    m = _TIME.match(str(value))
    if not m:
        raise ValueError(f"expected a time such as 2s, 500ms or 100us, got {value!r}")
    unit = (m.group(2) or default_unit).lower()
    return int(round(float(m.group(1)) * _TIME_NS[unit]))


def format_size(n: int) -> str:
    """Short fio-style size: 131072 -> '128k'."""
    for suffix, mult in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{suffix}"
    return str(n)


def format_time(ns: float) -> str:
    """Short fio-style time: 1e9 -> '1s', 5e7 -> '50ms', 2.5e3 -> '2500ns'; the largest
    of s, ms, us that divides the time exactly (fio reads a bare number as seconds)."""
    n = int(round(ns))
    if n == 0:
        return "0"
    for suffix, mult in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if n % mult == 0:
            return f"{n // mult}{suffix}"
    return f"{n}ns"
