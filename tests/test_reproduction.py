"""The headline comparison, on a shortened cousin of configs/highdepth.yaml (batches of
256 on the default queue, 100 ms, so it runs in seconds): the IOPS gain and the CPU
share stay in the seed's bands and every delta points the seed's way.  The full config
(and all four bands) is the command in docs/reproduction.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from nvmesim.api import load, run

from helpers import ROOT  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    cfg = load(ROOT / "configs/highdepth.yaml", {
        "workload.iodepth": 1023, "workload.iodepth_batch_submit": 256, "workload.iodepth_batch_complete_min": 256,
        "workload.iodepth_batch_complete_max": 256, "driver.queue_depth": 1024,
        "workload.runtime": 0.1, "workload.ramp_time": 0.03, "sim.replications": 2})
    return {(r["metric"], r["stat"]): r for r in run(cfg).to_json()["deltas"]}


def excludes_zero(row) -> bool:
    return row["ci_low"] is not None and (row["ci_low"] > 0 or row["ci_high"] < 0)


def test_iops_gain_in_the_seeds_band(rows):
    r = rows[("iops", "value")]
    assert 0.5 <= r["delta_pct"] <= 2.0
    assert excludes_zero(r)


@pytest.mark.parametrize("view", ["children", "self"])
def test_dma_pool_cpu_share_roughly_halved(view, rows):
    """In both of perf's views: with callees (perf report's default, the lock inside) and
    self time alone (--no-children, the lock a symbol of its own)."""
    r = rows[("cpu_share_dma_pool", view)]
    assert 0.35 <= r["variant_value"] / r["baseline_value"] <= 0.65
    assert excludes_zero(r)


@pytest.mark.parametrize("metric", ["slat_ns", "clat_ns", "lat_ns"])
def test_latencies_fall(metric, rows):
    r = rows[(metric, "mean")]
    assert r["delta"] < 0 and excludes_zero(r)
