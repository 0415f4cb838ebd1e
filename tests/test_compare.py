"""Variant comparison: paired deltas, and the directions the mechanism must produce."""

from __future__ import annotations

import math

import pytest

from helpers import tiny_config
from nvmesim.api import run, run_replication
from nvmesim.stats.intervals import mean_interval, paired_interval, t975
from nvmesim.stats.metrics import replication_metrics


def small(workload: dict, **sections):
    return tiny_config({"ramp_time": "5ms", **workload}, **sections)


def deltas(result):
    return result.deltas()


def pool(rep, name: str):
    (p,) = [p for p in rep.pools if p.name == name]
    return p


def by_key(rows):
    return {r["metric"]: r for r in rows}


# ----------------------------------------------------------------- statistics
def test_t_quantiles():
    assert t975(1) == pytest.approx(12.706)
    assert t975(10) == pytest.approx(2.228)
    assert t975(60) == pytest.approx(2.000, abs=0.002)
    assert t975(10_000) == pytest.approx(1.960, abs=0.001)


def test_intervals_known_answer():
    i = mean_interval([1.0, 2.0, 3.0])
    assert i.mean == 2.0 and i.n == 3
    half = 4.303 * 1.0 / math.sqrt(3)
    assert (i.low, i.high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    one = mean_interval([5.0])
    assert one.mean == 5.0 and math.isnan(one.low) and math.isnan(one.high)  # one value: no interval
    assert math.isnan(mean_interval([]).mean)
    z = paired_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (z.mean, z.low, z.high) == (0.0, 0.0, 0.0)
    assert paired_interval([3.0, 5.0, 4.0], [1.0, 2.0, 3.0]).mean == 2.0
    with pytest.raises(ValueError):
        paired_interval([1.0], [1.0, 2.0])


def test_identical_variants_give_zero_delta_and_zero_width_interval():
    """4 KiB reads never touch a pool: legacy and stack run identically, so every delta
    is 0 with a zero-width interval (the pairing removes all noise)."""
    result = run(small({"bs": "4k", "iodepth": 16, "numjobs": 2}, sim={"replications": 3}))
    rows = deltas(result)
    assert len(rows) == 12 + 6  # 3 latencies x 4 statistics, 6 scalar figures
    for r in rows:
        assert r["delta"] == 0.0 and r["delta_ci_low"] == 0.0 and r["delta_ci_high"] == 0.0, r
        assert r["paired"] == 3


def test_deltas_are_paired_by_replication():
    """The interval comes from per-replication differences, not from two pooled means."""
    result = run(small({"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16, "numjobs": 2},
                       sim={"replications": 3}))
    rows = by_key(deltas(result))
    b = [replication_metrics(r)["iops"] for r in result.replications["legacy"]]
    v = [replication_metrics(r)["iops"] for r in result.replications["stack"]]
    d = mean_interval([x - y for x, y in zip(v, b)])
    row = rows["iops"]
    assert row["delta"] == pytest.approx(d.mean) and row["delta_ci_low"] == pytest.approx(d.low)


def test_json_shape():
    result = run(small({"bs": "16k", "iodepth": 8}, sim={"replications": 2}))
    doc = result.to_json()["nvmesim"]
    assert set(doc) == {"version", "config", "variants", "deltas", "partial"} and doc["partial"] is None
    assert set(doc["variants"]) == {"legacy", "stack"}
    assert doc["config"]["workload"]["iodepth"] == 8
    row = doc["deltas"][0]
    assert set(row) == {"metric", "baseline", "variant", "baseline_value", "variant_value", "delta",
                        "delta_pct", "delta_ci_low", "delta_ci_high", "paired"}
    metrics = {r["metric"] for r in doc["deltas"]}
    for m in ("slat", "clat", "lat"):
        for s in ("mean", "p50", "p99", "p99.9"):
            assert f"{m}_{s}_ns" in metrics
    for m in ("iops", "bw_bytes", "cpu_share_pool_lock", "cpu_share_lock_spin",
              "cpu_share_dma_pool_self", "cpu_share_dma_pool_children"):
        assert m in metrics


# ------------------------------------------------------ directions from mechanism
def test_depth1_single_job_deltas_under_a_microsecond():
    result = run(small({"bs": "16k", "iodepth": 1}, sim={"replications": 2}))
    rows = by_key(deltas(result))
    assert abs(rows["slat_mean_ns"]["delta"]) < 1000
    assert abs(rows["clat_mean_ns"]["delta"]) < 1000
    assert result.replications["legacy"][0].pools  # the pool is used, just never long


def test_slat_delta_grows_with_batch_size():
    def slat_delta(batch: int) -> float:
        r = run(small({"bs": "16k", "iodepth": 256, "iodepth_batch_submit": batch,
                       "iodepth_batch_complete_min": batch, "numjobs": 2}, sim={"replications": 1}))
        return by_key(deltas(r))["slat_mean_ns"]["delta"]

    d = [slat_delta(b) for b in (4, 32, 128)]
    assert d[0] > d[1] > d[2]  # more negative: stack saves more per batch
    assert d[2] < 0


def test_legacy_cost_per_op_grows_with_outstanding_ios_stack_does_not():
    """A list block is held from nvme_queue_rq until the interrupt, i.e. by the I/Os at the
    device.  A slow device with ample units and bandwidth keeps all iodepth of them there
    (the CPU is far from busy), so the pool holds ~iodepth blocks."""

    def ns_per_op(variant: str, depth: int) -> float:
        dev = {"parallel_units": 1024, "read": {"dist": "constant", "mean_us": 5000.0},
               "internal_gbps": 100.0, "link_gbps": 100.0}
        rep = run_replication(
            small({"bs": "16k", "iodepth": depth, "iodepth_batch_submit": min(depth, 16),
                   "runtime": "40ms", "ramp_time": "10ms"}, device=dev), variant, 0)
        return pool(rep, "node0/prp256").ns_per_op

    legacy = [ns_per_op("legacy", d) for d in (8, 128, 1000)]
    stack = [ns_per_op("stack", d) for d in (8, 128, 1000)]
    assert legacy[0] < legacy[1] < legacy[2] and legacy[2] > 2 * legacy[0]
    assert max(stack) < 1.5 * min(stack)


def test_lock_waiting_appears_with_jobs_on_several_cores_and_grows():
    def spin_per_io(jobs: int) -> float:
        rep = run_replication(small({"bs": "16k", "iodepth": 128, "iodepth_batch_submit": 16, "numjobs": jobs},
                                    device={"internal_gbps": 100.0, "link_gbps": 100.0}), "legacy", 0)
        return replication_metrics(rep)["cpu_share_lock_spin"] * rep.core_ns / rep.total_ios

    one, two, four = spin_per_io(1), spin_per_io(2), spin_per_io(4)
    assert one == 0.0
    assert 0 < two < four
