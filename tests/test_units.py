"""fio-style quantities: sizes (kb_base=1024) and times with units (nvmesim.units)."""

from __future__ import annotations

import pytest

from nvmesim.config.units import format_size, parse_size, parse_time_ns

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40

# --------------------------------------------------------------------------
# sizes


@pytest.mark.parametrize(
    "text,expect",
    [
        (4096, 4096),
        (0, 0),
        ("512", 512),
        ("4k", 4 * K),  # fio's default kb_base=1024: k means KiB
        ("4K", 4 * K),
        ("4kb", 4 * K),
        ("4KB", 4 * K),
        ("4KiB", 4 * K),
        ("4kib", 4 * K),
        ("128k", 128 * K),
        ("1m", M),
        ("1M", M),
        ("2MiB", 2 * M),
        ("1g", G),
        ("1t", T),
        ("1.5k", 1536),
        ("0.5m", 512 * K),
        (" 8k ", 8 * K),
        ("8 k", 8 * K),
        ("16b", 16),
        (4096.0, 4096),
    ],
)
def test_parse_size(text, expect):
    got = parse_size(text)
    assert got == expect and isinstance(got, int)


def test_parse_size_reads_hex_as_fio_does():
    # parse.c str_to_decimal: a 0x prefix is base 16 (fio --debug=parse: iodepth=0x10 -> out=16)
    assert parse_size("0x10") == 16 and parse_size("0X1000") == 4096


def test_parse_size_is_binary_not_decimal():
    assert parse_size("1k") == 1024 != 1000
    assert parse_size("1m") == 1024 * 1024 != 1_000_000


@pytest.mark.parametrize(
    "bad", ["", " ", "k", "4x", "4kk", "abc", "-4k", "-4", "+4k", "4 k b x", "1e3", "4k4", "1p", "k4"]
)
def test_parse_size_rejects_bad_strings(bad):
    with pytest.raises(ValueError, match="expected a size") as e:
        parse_size(bad)
    assert repr(bad) in str(e.value)  # the message quotes what was given


@pytest.mark.parametrize("bad", ["1.5", "0.1k", "1.0001k", 1.5])
def test_parse_size_rejects_fractional_bytes(bad):
    with pytest.raises(ValueError, match="whole number of bytes"):
        parse_size(bad)


@pytest.mark.parametrize("bad", [True, False])
def test_parse_size_rejects_booleans(bad):
    with pytest.raises(ValueError, match="boolean"):
        parse_size(bad)


@pytest.mark.parametrize("bad", [None, [1], {"a": 1}])
def test_parse_size_rejects_other_types(bad):
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(bad)


@pytest.mark.parametrize("bad", [-1, -4096])
def test_parse_size_rejects_negative_integers(bad):
    # "-4k" is rejected, so -4096 must be too (a size is never negative)
    with pytest.raises(ValueError, match="negative"):
        parse_size(bad)


@pytest.mark.parametrize(
    "n,text", [(131072, "128k"), (4096, "4k"), (M, "1m"), (3 * G, "3g"), (1000, "1000"), (1536, "1536"), (0, "0")]
)
def test_format_size(n, text):
    assert format_size(n) == text


@pytest.mark.parametrize("n", [1, 512, 1000, 1536, 4096, 65536, 520192, M, 5 * G])
def test_format_size_round_trips(n):
    assert parse_size(format_size(n)) == n


# --------------------------------------------------------------------------
# times


S = 1_000_000_000


@pytest.mark.parametrize(
    "text,expect",
    [
        ("2s", 2 * S),
        ("2sec", 2 * S),
        ("500ms", S // 2),
        ("500msec", S // 2),
        ("100us", 100_000),
        ("100usec", 100_000),
        ("10ns", 10),
        ("1m", 60 * S),  # fio: m is minutes for times
        ("1min", 60 * S),
        ("1h", 3600 * S),
        ("1d", 86400 * S),
        ("1.5s", 3 * S // 2),
        ("0.25ms", 250_000),
        ("2MS", 2_000_000),
        (" 5 ms ", 5_000_000),
        ("3", 3 * S),  # bare numbers default to seconds
        (3, 3 * S),
        (0, 0),
        (0.5, S // 2),
    ],
)
def test_parse_time_ns(text, expect):
    got = parse_time_ns(text)
    assert got == expect and isinstance(got, int)


@pytest.mark.parametrize(
    "text,expect", [(10, 10_000), ("10", 10_000), (2.5, 2_500), ("2ms", 2_000_000), ("1s", S), ("7ns", 7)]
)
def test_parse_time_ns_default_unit(text, expect):
    """fio's thinktime: a bare number is microseconds; an explicit unit wins."""
    assert parse_time_ns(text, default_unit="us") == expect


@pytest.mark.parametrize(
    "bad", ["", "ms", "2x", "-1s", "-1", "2 s s", "1e3", "1e3s", "abc", "2 mss", "s2", "1,5s", "2seconds"]
)
def test_parse_time_ns_rejects_bad_strings(bad):
    with pytest.raises(ValueError, match="expected a time") as e:
        parse_time_ns(bad)
    assert repr(bad) in str(e.value)


@pytest.mark.parametrize("bad", [True, False])
def test_parse_time_ns_rejects_booleans(bad):
    with pytest.raises(ValueError, match="boolean"):
        parse_time_ns(bad)


@pytest.mark.parametrize("bad", [None, [1]])
def test_parse_time_ns_rejects_other_types(bad):
    with pytest.raises(ValueError, match="expected a time"):
        parse_time_ns(bad)
