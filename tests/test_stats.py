"""Tests for nvmesim.stats: fio's latency histogram and statistics.

The reference data in tests/data/ was produced by Debian's fio 3.33 with
tests/data/make_fio_fixture.sh: a json+ document and, for two of its jobs,
fio's per-I/O latency logs, so the tests can replay exactly the latencies
fio saw and demand fio's exact numbers.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import LOGS, job_of
from nvmesim.config import DEFAULT_PERCENTILES
from nvmesim.stats.hist import (
    FIO_IO_U_LIST_MAX_LEN,
    FIO_IO_U_PLAT_BITS,
    FIO_IO_U_PLAT_GROUP_NR,
    FIO_IO_U_PLAT_NR,
    FIO_IO_U_PLAT_VAL,
    STRADDLING_BUCKETS,
    LatencyHist,
    normalize_percentile_list,
    percentile_key,
    percentile_threshold,
    plat_idx_range,
    plat_idx_to_val,
    plat_val_to_idx,
)


CLAMP_NS = 1 << 34  # values >= 2**34 ns land in the last bucket


_job = job_of


def _log_values(pattern: str) -> list[list[int]]:
    """Per-file lists of latencies (ns) from fio's --write_lat_log output."""
    files = sorted(LOGS.glob(pattern))
    assert files, pattern
    return [[int(line.split(",")[1]) for line in f.read_text().splitlines() if line.strip()]
            for f in files]


def _plist(lat_obj: dict) -> list[float]:
    return [float(k) for k in lat_obj["percentile"]]


# --------------------------------------------------------------------------
# bucket index <-> value


def test_constants():
    assert (FIO_IO_U_PLAT_BITS, FIO_IO_U_PLAT_VAL, FIO_IO_U_PLAT_GROUP_NR,
            FIO_IO_U_PLAT_NR) == (6, 64, 29, 1856)
    assert DEFAULT_PERCENTILES == (1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95,
                                   99, 99.5, 99.9, 99.95, 99.99)


def test_every_bucket_round_trips():
    prev = -1
    for idx in range(FIO_IO_U_PLAT_NR):
        v = plat_idx_to_val(idx)
        assert isinstance(v, int)
        assert plat_val_to_idx(v) == idx
        assert v > prev  # bucket values strictly increase
        prev = v
        lo, hi = plat_idx_range(idx)
        assert lo <= v < hi
        assert plat_val_to_idx(lo) == idx and plat_val_to_idx(hi - 1) == idx
        if idx + 1 < FIO_IO_U_PLAT_NR:
            assert plat_idx_range(idx + 1)[0] == hi  # buckets tile the line


def test_known_values():
    # below 128 ns a value is its own bucket
    assert [plat_val_to_idx(v) for v in (0, 1, 63, 64, 127)] == [0, 1, 63, 64, 127]
    assert [plat_idx_to_val(i) for i in (0, 1, 127)] == [0, 1, 127]
    # 128..129 share bucket 128, reported as 129 (midpoint base + 0.5 * 2)
    assert plat_val_to_idx(128) == plat_val_to_idx(129) == 128
    assert plat_idx_to_val(128) == 129
    # bucket values fio printed in its json+ bins
    for v in (61696, 87552, 444416, 1630208, 3227648):
        assert plat_idx_to_val(plat_val_to_idx(v)) == v
    # clamping
    assert plat_val_to_idx(CLAMP_NS - 1) == FIO_IO_U_PLAT_NR - 1
    assert plat_val_to_idx(CLAMP_NS) == FIO_IO_U_PLAT_NR - 1
    assert plat_val_to_idx(1 << 62) == FIO_IO_U_PLAT_NR - 1
    with pytest.raises(ValueError):
        plat_val_to_idx(-1)
    with pytest.raises(ValueError):
        plat_idx_to_val(FIO_IO_U_PLAT_NR)


@given(st.integers(min_value=0, max_value=CLAMP_NS - 1))
def test_value_lies_in_its_bucket(v):
    idx = plat_val_to_idx(v)
    lo, hi = plat_idx_range(idx)
    assert lo <= v < hi
    # independent statement of fio's layout: msb picks the group, next 6 bits
    # the bucket
    if v >= 128:
        msb = v.bit_length() - 1
        assert idx == (msb - 5) * 64 + ((v >> (msb - 6)) & 63)
        assert hi - lo == 1 << (msb - 6)
    else:
        assert idx == v


@given(st.integers(min_value=128, max_value=CLAMP_NS - 1))
def test_relative_error_bound(v):
    rep = plat_idx_to_val(plat_val_to_idx(v))
    assert abs(rep - v) / v <= 1 / 128


@given(st.integers(min_value=0, max_value=1 << 40), st.integers(min_value=0, max_value=1 << 40))
def test_monotonic(a, b):
    a, b = min(a, b), max(a, b)
    assert plat_val_to_idx(a) <= plat_val_to_idx(b)


@given(st.integers(min_value=0, max_value=1 << 40))
def test_add_uses_plat_val_to_idx(v):
    h = LatencyHist()
    h.add(v)
    assert h.counts[plat_val_to_idx(v)] == 1 and sum(h.counts) == 1


def test_add_truncates_floats_and_rejects_negatives():
    h = LatencyHist()
    h.add(99.9)
    h.add(1e12)  # 1000 s: clamped into the last bucket
    assert h.min == 99 and h.max == 10 ** 12
    assert h.counts[99] == 1 and h.counts[-1] == 1
    assert h.bins() == {"99": 1, str(plat_idx_to_val(FIO_IO_U_PLAT_NR - 1)): 1}
    with pytest.raises(ValueError):
        h.add(-1)


@given(st.lists(st.one_of(st.integers(0, 2 ** 36), st.floats(0, 2.0 ** 35, allow_nan=False)), max_size=60),
       st.integers(0, 3))
def test_add_many_is_exactly_add_in_order(values, split):
    """The batch add (issue 18) is the per-sample add: every field equal, floats bit for bit,
    whatever was recorded before it."""
    one, many = LatencyHist(), LatencyHist()
    head, tail = values[:split], values[split:]
    for v in head:
        one.add(v)
        many.add(v)
    for v in tail:
        one.add(v)
    many.add_many(tail)
    assert (many.n, many.min, many.max, many.counts, many.below) == (one.n, one.min, one.max, one.counts, one.below)
    assert (many.mean, many.S) == (one.mean, one.S) or math.isnan(one.mean)


def test_add_many_keeps_the_samples_before_a_negative_one():
    one, many = LatencyHist(), LatencyHist()
    one.add(5)
    one.add(700)
    with pytest.raises(ValueError, match="negative latency"):
        many.add_many([5, 700, -3, 9])
    assert (many.n, many.mean, many.S, many.counts) == (one.n, one.mean, one.S, one.counts)


# --------------------------------------------------------------------------
# exact running statistics


def _check_against_numpy(h: LatencyHist, values: list[int]) -> None:
    arr = np.asarray(values, dtype=np.float64)
    assert h.n == len(values)
    assert h.min == min(values) and h.max == max(values)
    assert math.isclose(h.mean, float(arr.mean()), rel_tol=1e-9, abs_tol=1e-9)
    if len(values) > 1:
        assert math.isclose(h.stddev, float(arr.std(ddof=1)), rel_tol=1e-9, abs_tol=1e-6)
    else:
        assert h.stddev == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_stats_match_numpy(seed):
    rng = random.Random(seed)
    n = rng.choice([1, 2, 3, 50, 5000])
    values = [int(rng.lognormvariate(11, 1.2)) for _ in range(n)]
    h = LatencyHist.from_samples(values)
    _check_against_numpy(h, values)
    assert sum(h.counts) == n


def test_empty_hist_prints_like_fio(fio_doc):
    h = LatencyHist()
    assert (h.n, h.min, h.max, h.mean, h.stddev) == (0, 0, 0, 0.0, 0.0)
    assert h.percentiles() == {}
    # fio's object for a direction without I/O (the write side of randread)
    assert h.to_json() == _job(fio_doc, "fixture")["write"]["clat_ns"]
    assert h.to_json(DEFAULT_PERCENTILES, with_bins=True) == {
        "min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "N": 0}


lat_lists = st.lists(st.integers(min_value=0, max_value=5 * 10 ** 9), max_size=300)


@settings(max_examples=60, deadline=None)
@given(lat_lists, lat_lists)
def test_merge_equals_concatenation(a, b):
    ha, hb = LatencyHist.from_samples(a), LatencyHist.from_samples(b)
    merged = ha.copy().merge(hb)
    whole = LatencyHist.from_samples(a + b)
    assert merged.counts == whole.counts
    assert merged.below == whole.below
    assert merged.n == whole.n == len(a) + len(b)
    assert (merged.min, merged.max) == (whole.min, whole.max)
    assert math.isclose(merged.mean, whole.mean, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(merged.stddev, whole.stddev, rel_tol=1e-9, abs_tol=1e-6)
    if a + b:
        _check_against_numpy(merged, a + b)
    # merging must not touch the source
    assert ha.counts == LatencyHist.from_samples(a).counts


def test_merge_with_empty_is_identity():
    h = LatencyHist.from_samples([5, 500, 50000])
    ref = h.copy()
    h.merge(LatencyHist())
    e = LatencyHist().merge(ref)
    for x in (h, e):
        assert (x.counts, x.n, x.min, x.max, x.mean, x.S) == (
            ref.counts, ref.n, ref.min, ref.max, ref.mean, ref.S)


# --------------------------------------------------------------------------
# percentiles


def test_percentile_list_normalisation():
    assert normalize_percentile_list([99.9, 1, 50]) == [1.0, 50.0, 99.9]
    assert normalize_percentile_list("50:99:0:1") == [50.0, 99.0]  # cut at 0
    assert len(normalize_percentile_list(range(1, 30))) == FIO_IO_U_LIST_MAX_LEN
    assert normalize_percentile_list(None) == []
    with pytest.raises(ValueError):
        normalize_percentile_list([101])
    assert percentile_key(99.9) == "99.900000" and percentile_key(5) == "5.000000"


def test_percentiles_sorted_keys_and_last_bucket():
    h = LatencyHist.from_samples(range(1, 101))
    p = h.percentiles([100, 50, 1])
    assert list(p) == ["1.000000", "50.000000", "100.000000"]
    assert p == {"1.000000": 1, "50.000000": 50, "100.000000": 100}


def test_percentile_threshold_models():
    """N=100 values 1..100, each in its own bucket, so the k-th smallest is
    value k and a percentile shows exactly how many I/Os fio demanded."""
    h = LatencyHist.from_samples(range(1, 101))
    # fio-3.33 amd64 evaluates p * (N * 0.01L) in x87 arithmetic:
    assert h.percentiles([7, 30, 55, 60]) == {
        "7.000000": 7, "30.000000": 30, "55.000000": 55, "60.000000": 60}
    # a plain double evaluation would need one more I/O at 7 and 55 ...
    assert h.percentiles([7, 55], arith="double") == {"7.000000": 8, "55.000000": 56}
    # ... and the C source read literally with 80-bit long double at 30, 60
    assert h.percentiles([30, 60], arith="long-double") == {"30.000000": 31, "60.000000": 61}
    assert percentile_threshold(50, 100) == 50


def _percentile_cases(doc):
    for job in doc["jobs"]:
        for lat in ("clat_ns", "lat_ns"):
            obj = job["read"][lat]
            if "percentile" in obj:
                yield job["jobname"], lat, obj


def test_fixture_is_real_fio(fio_doc):
    assert fio_doc["fio version"] == "fio-3.33"
    names = {j["jobname"] for j in fio_doc["jobs"]}
    assert names == {"fixture", "edge", "grp"}
    assert len(list(_percentile_cases(fio_doc))) == 6


def test_percentiles_from_real_fio_bins(fio_doc):
    """Rebuild each histogram from fio's json+ bins: our percentiles must be
    fio's, exactly, for every percentile of every job, clat and lat."""
    for name, lat, obj in _percentile_cases(fio_doc):
        h = LatencyHist.from_bins(obj["bins"])
        assert h.n == obj["N"], (name, lat)
        assert h.bins() == obj["bins"], (name, lat)
        assert h.percentiles(_plist(obj)) == obj["percentile"], (name, lat)


def test_fixture_discriminates_threshold_models(fio_doc):
    """The 'edge' and 'grp' jobs were given percentiles whose thresholds are
    integers; there, only the x87 fast-math model reproduces fio.  (If this
    fails after regenerating the fixture, run make_fio_fixture.sh again.)"""
    for name in ("edge", "grp"):
        obj = _job(fio_doc, name)["read"]["clat_ns"]
        h = LatencyHist.from_bins(obj["bins"])
        ps = _plist(obj)
        assert h.percentiles(ps, arith="x87-fast-math") == obj["percentile"]
        assert h.percentiles(ps, arith="double") != obj["percentile"], name
        assert h.percentiles(ps, arith="long-double") != obj["percentile"], name


@pytest.mark.parametrize("lat", ["clat", "lat"])
def test_replay_fio_latency_log_exactly(fio_doc, lat):
    """Feed fio's own per-I/O latencies, in completion order: min, max, mean,
    stddev (Welford, printed with %f), N, percentiles and bins must all equal
    fio's JSON object."""
    (values,) = _log_values(f"edge_{lat}.*.log")
    obj = _job(fio_doc, "edge")["read"][f"{lat}_ns"]
    h = LatencyHist.from_samples(values)
    assert h.to_json(_plist(obj), with_bins=True) == obj
    assert h.to_json(_plist(obj), with_bins=False) == {k: v for k, v in obj.items() if k != "bins"}


@pytest.mark.parametrize("lat", ["clat", "lat"])
def test_merge_matches_fio_group_reporting(fio_doc, lat):
    """numjobs=2 + group_reporting: fio sums the two jobs' stats with
    sum_stat; merging our two replayed histograms must give fio's object."""
    per_job = _log_values(f"grp_{lat}.*.log")
    assert len(per_job) == 2
    obj = _job(fio_doc, "grp")["read"][f"{lat}_ns"]
    merged = LatencyHist()
    for values in per_job:
        merged.merge(LatencyHist.from_samples(values))
    assert merged.to_json(_plist(obj), with_bins=True) == obj


def test_from_bins_is_approximate_but_close(fio_doc):
    obj = _job(fio_doc, "fixture")["read"]["clat_ns"]
    h = LatencyHist.from_bins(obj["bins"])
    assert h.approximate
    assert abs(h.min - obj["min"]) <= obj["min"] / 128
    assert abs(h.max - obj["max"]) <= obj["max"] / 128
    assert math.isclose(h.mean, obj["mean"], rel_tol=1 / 128)
    assert math.isclose(h.stddev, obj["stddev"], rel_tol=0.05)


def test_from_bins_rejects_non_bucket_values():
    with pytest.raises(ValueError):
        LatencyHist.from_bins({"130": 1})  # 130 is not a bucket midpoint
    assert LatencyHist.from_bins({"129": 2, "5": 1}).counts[128] == 2


def test_below_counts_straddling_buckets():
    # bucket 737 holds [99328, 100352) and straddles fio's 100 us boundary
    assert STRADDLING_BUCKETS[737] == 100000
    h = LatencyHist.from_samples([99999, 99999, 100000, 100351])
    assert h.counts[737] == 4 and h.below[737] == 2
