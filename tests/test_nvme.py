"""nvme-pci's data-pointer rules (kernel.md §5) and the per-NUMA pools of 6.16."""

from __future__ import annotations

import pytest

from nvmesim.api import load
from nvmesim.stats.metrics import replication_metrics
from nvmesim.api import run_replication
from nvmesim.sim.nvme import PAGE_POOL, SMALL_POOL, map_plan, segments

KIB = 1024


@pytest.mark.parametrize(
    "nbytes,pool,lists",
    [
        (4 * KIB, 0, 0),          # PRP1 only
        (8 * KIB, 0, 0),          # PRP1 + PRP2
        (12 * KIB, SMALL_POOL, 1),  # PRP2 -> a list of 2 entries
        (128 * KIB, SMALL_POOL, 1),
        (132 * KIB, SMALL_POOL, 1),  # 32 entries still fit 256 B
        (136 * KIB, PAGE_POOL, 1),   # 33 entries: a page-sized list
        (508 * KIB, PAGE_POOL, 1),
        (2048 * KIB + 4 * KIB, PAGE_POOL, 1),  # 512 entries: one full list page
        (2048 * KIB + 8 * KIB, PAGE_POOL, 2),  # 513: the last slot chains to a second
    ],
)
def test_page_aligned_prp_rules(nbytes, pool, lists):
    plan = map_plan(nbytes, segments(nbytes, "malloc"))
    assert (plan.pool, plan.lists) == (pool, lists)


def test_unaligned_first_page_shifts_the_thresholds():
    # 8 KiB starting 512 B into a page spans three pages: PRP1 + a 2-entry list
    assert map_plan(8 * KIB, 3, offset=512).pool == SMALL_POOL
    assert map_plan(8 * KIB - 512, 2, offset=512).pool == 0


def test_sgl_rules():
    # one segment on an SGL-capable queue: an inline SGL, no pool, whatever the size
    assert map_plan(1024 * KIB, 1, sgl_supported=True).pool == 0
    # several segments of >= sgl_threshold on average: an SGL list
    assert map_plan(256 * KIB, 4, sgl_supported=True, sgl_threshold=32 * KIB).pool == SMALL_POOL
    assert map_plan(256 * KIB, 64, sgl_supported=True, sgl_threshold=4 * KIB).pool == PAGE_POOL
    # below the threshold: PRPs, even with SGL support
    assert map_plan(128 * KIB, 32, sgl_supported=True, sgl_threshold=32 * KIB).method == "prp"
    # sgl_threshold 0 disables SGLs
    assert map_plan(1024 * KIB, 1, sgl_supported=True, sgl_threshold=0).method == "prp"
    # before 6.3 a long SGL chains list pages (255 descriptors + a segment pointer each)
    assert map_plan(4096 * 300, 300, sgl_supported=True, sgl_threshold=4096, kernel="6.2").lists == 2
    assert map_plan(4096 * 300, 300, sgl_supported=True, sgl_threshold=4096, kernel="6.4").lists == 1


def test_huge_pages_make_one_segment():
    assert segments(2048 * KIB, "mmaphuge") == 1
    assert segments(12 * KIB, "malloc") == 3


def test_per_numa_pools_in_6_16():
    """6.16 gives each NUMA node its own pair of pools: jobs on different nodes never
    share a lock, while before it every CPU shares the device's."""

    def run(kernel: str):
        cfg = load({"workload": {"bs": "16k", "iodepth": 128, "iodepth_batch_submit": 16, "numjobs": 2,
                                 "cpus_allowed": "0,4", "runtime": "10ms", "ramp_time": "2ms"},
                    "host": {"cores": 8, "numa_nodes": 2}, "driver": {"kernel": kernel},
                    "device": {"link_gbps": 100.0, "internal_gbps": 100.0}})
        return run_replication(cfg, "legacy", 0)

    shared, split = run("6.4"), run("6.16")
    assert [p.name for p in shared.pools] == ["node0/prp256"]
    assert sorted(p.name for p in split.pools) == ["node0/prp256", "node1/prp256"]
    spin = lambda rep: replication_metrics(rep)["cpu_share_lock_spin"]  # noqa: E731
    assert spin(shared) > 0
    assert spin(split) == 0


def test_iommu_maps_a_request_to_one_segment_for_sgls_not_for_prps():
    """With an IOMMU the request is one IOVA range (6.17 blk_rq_dma_map; 6.4
    iommu_dma_map_sg merging): an SGL-capable device takes one inline SGL, no pool,
    while PRPs still need an entry per 4 KiB page, so the same list as without."""
    for kernel in ("6.4", "6.17"):
        direct = map_plan(128 * KIB, 32, sgl_supported=True, sgl_threshold=4 * KIB, kernel=kernel)
        mapped = map_plan(128 * KIB, 32, sgl_supported=True, sgl_threshold=4 * KIB, kernel=kernel, iommu=True)
        assert (direct.method, direct.pool) == ("sgl", PAGE_POOL)
        assert (mapped.method, mapped.pool, mapped.lists) == ("sgl-inline", 0, 0)
        prp = map_plan(128 * KIB, 32, kernel=kernel, iommu=True)
        assert (prp.method, prp.pool, prp.entries) == ("prp", SMALL_POOL, 31)
    # 6.3 made the SGL decision average over mapped segments (ae5829350324): before, the
    # 32 KiB average of 4 KiB physical segments decides for PRPs even though they merge
    assert map_plan(128 * KIB, 32, sgl_supported=True, sgl_threshold=32 * KIB, kernel="6.4",
                    iommu=True).method == "sgl-inline"
    assert map_plan(128 * KIB, 32, sgl_supported=True, sgl_threshold=32 * KIB, kernel="6.2",
                    iommu=True).method == "prp"


def test_6_17_takes_the_inline_sgl_even_with_sgl_threshold_0():
    # nvme_pci_setup_data_simple: a single segment beyond PRP1+PRP2 takes the inline SGL
    # if the device supports SGLs; before 6.17 that needed a non-zero threshold
    assert map_plan(64 * KIB, 1, sgl_supported=True, sgl_threshold=0, kernel="6.16").method == "prp"
    assert map_plan(64 * KIB, 1, sgl_supported=True, sgl_threshold=0, kernel="6.17").method == "sgl-inline"


def test_huge_page_segments_follow_2_mib_pages():
    assert segments(128 * KIB, "mmaphuge") == 1
    assert segments(4 * 1024 * KIB, "mmaphuge") == 2


@pytest.mark.parametrize("kernel,kb", [("6.2", 4096), ("6.4", 8192), ("6.17", 8192)])
def test_max_transfer_per_kernel(kernel, kb):
    cfg = load({"driver": {"kernel": kernel}, "workload": {"iomem": "mmaphuge"}})
    assert cfg.max_transfer() == kb * KIB
    iommu = load({"driver": {"kernel": kernel}, "host": {"iommu": True}})
    assert iommu.max_transfer() == 128 * KIB


def _doorbell_run(depth: int, shadow: bool):
    """(job, ns per I/O booked under io_submit;nvme_queue_rq) of a quiet libaio run."""
    from helpers import tiny_config

    cfg = tiny_config({"iodepth": depth, "ioengine": "libaio", "ramp_time": 0}, noise=False,
                      device={"shadow_doorbell": shadow})
    rep = run_replication(cfg, "legacy", 0)
    (job,) = rep.jobs
    return job, rep.profile_ns["io_submit;nvme_queue_rq"] / (job.read.io_bytes / 4096)


def test_a_shadow_doorbell_at_depth_one_is_always_rung():
    """At iodepth 1 the device has finished the last command before the next is
    submitted: it is asleep, asks for the MMIO write, and nothing changes."""
    (on, _), (off, _) = _doorbell_run(1, True), _doorbell_run(1, False)
    assert on.read.slat.mean == off.read.slat.mean
    assert on.read.io_bytes == off.read.io_bytes


def test_a_shadow_doorbell_is_free_while_the_device_is_busy():
    """At iodepth 16 one I/O at a time (iodepth_batch_submit 1), nearly every
    submission finds the device serving others: the doorbell's cost leaves the
    driver's submission time, and slat."""
    (on, rq_on), (off, rq_off) = _doorbell_run(16, True), _doorbell_run(16, False)
    doorbell = load({}).host.costs.doorbell_ns
    assert 0.8 * doorbell < rq_off - rq_on <= doorbell * (1 + 1e-6)
    assert on.read.slat.mean < off.read.slat.mean - 0.8 * doorbell


def _device_run(depth: int, **device):
    from helpers import tiny_config

    dev = {"preset": "custom", "parallel_units": 1, "read": {"dist": "constant", "mean_us": 20.0}, **device}
    cfg = tiny_config({"iodepth": depth, "ramp_time": 0}, noise=False, device=dev)
    (job,) = run_replication(cfg, "legacy", 0).jobs
    return job


def test_a_device_that_completes_in_rounds_wakes_fio_once_a_round():
    """fio keeps iodepth commands in a one-unit device; completed in rounds, they all come
    back together and fio sleeps once per iodepth I/Os (fio's ctx), where a device that
    completes each command wakes it for nearly every one."""
    depth = 8
    rounds, each = _device_run(depth, completes="round"), _device_run(depth)
    ios_r, ios_e = rounds.read.io_bytes / 4096, each.read.io_bytes / 4096
    assert 0.8 < rounds.ctx * depth / ios_r < 1.3
    assert each.ctx / ios_e > 0.5
    # one unit of 20 us serves either way: the same IOPS within the rounds' start-up
    assert ios_r == pytest.approx(ios_e, rel=0.1)


def test_an_idle_controller_s_wake_adds_to_every_latency_at_depth_one():
    base, woken = _device_run(1), _device_run(1, wake_ns=5000.0)
    assert woken.read.clat.mean - base.read.clat.mean == pytest.approx(5000.0, abs=1.0)
