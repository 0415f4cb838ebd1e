"""The I/O path model against queueing theory and against its own configured costs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from helpers import NOISE_OFF, tiny_config
from nvmesim.api import load, run
from nvmesim.stats.intervals import t975
from nvmesim.stats.metrics import replication_metrics
from nvmesim.stats.records import self_time
from nvmesim.config import HostCosts
from nvmesim.api import run_replication

from helpers import ROOT  # noqa: E402
ZERO_HOST = {k: 0 for k in HostCosts.model_fields}
FAST_DEVICE = {"fetch_ns": 0, "internal_gbps": 1e6, "link_gbps": 1e6}


# ---------------------------------------------------------------- Little's law
@pytest.mark.parametrize(
    "workload,extra",
    [
        ({"bs": "4k", "iodepth": 1}, {}),
        ({"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16, "iodepth_batch_complete_min": 8,
          "numjobs": 3}, {}),
        ({"bs": "64k", "rw": "randrw", "rwmixread": 70, "iodepth": 32, "ioengine": "libaio", "numjobs": 2}, {}),
        ({"bs": "128k", "iodepth": 128, "iodepth_batch_submit": 32, "iodepth_batch_complete_min": 32}, {}),
        ({"bs": "8k", "iodepth": 16, "hipri": True}, {"driver": {"poll_queues": 1}}),
    ],
)
def test_littles_law(workload, extra):
    """Mean outstanding I/Os = throughput x mean latency, for every job.  Without a ramp
    a job's window starts and ends empty (it drains), so the law holds exactly (up to
    fio's truncation of each latency to whole ns)."""
    cfg = tiny_config({**workload, "ramp_time": 0}, **extra)
    rep = run_replication(cfg, "legacy", 0)
    for job, L, window in zip(rep.jobs, rep.mean_depth, rep.windows_ns):
        done = job.read.lat.n + job.write.lat.n  # I/Os completed in the job's window
        lat_sum = job.read.lat.mean * job.read.lat.n + job.write.lat.mean * job.write.lat.n
        W = lat_sum / done
        lam = done / (window / 1e9)
        assert done > 100 and done == job.read.total_ios + job.write.total_ios  # all drained
        assert L == pytest.approx(lam * W / 1e9, rel=1e-5)


# -------------------------------------------------------- M/M/c, finite source
def finite_source_response(N: int, c: int, mu: float, Z: float) -> float:
    """Mean response time of N sources thinking Z (any distribution) in front of a
    FCFS c-server station with exponential service rate mu: the product-form
    machine-repairman model (BCMP: infinite-server + FCFS exponential node)."""
    weights = []
    for n in range(N + 1):
        w = math.factorial(N) / math.factorial(N - n) * (1.0 / (mu * Z)) ** n
        for k in range(1, n + 1):
            w /= min(k, c)
        weights.append(w)
    total = sum(weights)
    X = sum(w / total * min(n, c) * mu for n, w in enumerate(weights))
    return N / X - Z


@pytest.mark.parametrize("N,c,think_us", [(12, 4, 20.0), (8, 8, 5.0), (16, 2, 40.0)])
def test_mmc_finite_source(N, c, think_us):
    """Zero host costs, an exponential device with c units, N jobs at depth 1 that think
    between I/Os: the mean latency matches the closed M/M/c//N prediction within the
    95% confidence interval across replications.

    Justification for a closed check: fio's rate limiting quiesces the queue before it
    sleeps, so fio cannot generate open Poisson arrivals at depth > 1; fio's thinktime
    with iodepth=1 is exactly the finite-source model, which is insensitive to the
    think-time distribution and tends to M/M/c as N grows."""
    mean_us = 10.0
    cfg = load(
        {
            "workload": {"bs": "4k", "iodepth": 1, "numjobs": N, "thinktime": think_us,
                         "runtime": "40ms", "ramp_time": "2ms"},
            "host": {"cores": N, "costs": ZERO_HOST, **NOISE_OFF},
            "device": {"parallel_units": c, "read": {"dist": "exponential", "mean_us": mean_us}, **FAST_DEVICE},
            "allocator": {"variants": ["stack"]},
            "sim": {"replications": 6},
        }
    )
    result = run(cfg)
    means = []
    for rep in result.replications["stack"]:
        n = sum(j.read.lat.n for j in rep.jobs)
        means.append(sum(j.read.lat.mean * j.read.lat.n for j in rep.jobs) / n)
    k = len(means)
    m = sum(means) / k
    half = t975(k - 1) * math.sqrt(sum((x - m) ** 2 for x in means) / (k - 1) / k)
    expect = finite_source_response(N, c, 1.0 / (mean_us * 1000), think_us * 1000)
    assert abs(m - expect) <= half, (m, expect, half)
    assert half < 0.05 * expect  # the check has teeth


def test_finite_source_formula_limits():
    # one server, one source: R = 1/mu; many servers: no queueing
    assert finite_source_response(1, 1, 0.1, 5.0) == pytest.approx(10.0)
    assert finite_source_response(5, 5, 0.1, 5.0) == pytest.approx(10.0)
    # saturated single server: R = N/mu - Z
    assert finite_source_response(50, 1, 0.1, 1.0) == pytest.approx(50 / 0.1 - 1.0, rel=1e-6)


# ------------------------------------------------ depth 1: the path, component by component
def test_depth1_latency_is_device_plus_software_path():
    costs = HostCosts()
    service_us = 50.0
    cfg = load(
        {
            "workload": {"bs": "4k", "iodepth": 1, "runtime": "5ms", "ramp_time": "1ms"},
            "device": {"read": {"dist": "constant", "mean_us": service_us}, "fetch_ns": 700,
                       "internal_gbps": 4.0, "link_gbps": 8.0},
            "host": NOISE_OFF,  # the exact costs, no ticks
        }
    )
    rep = run_replication(cfg, "legacy", 0)
    d = rep.jobs[0].read
    c = costs
    # inside io_uring_enter: the syscall, one SQE, the block layer, nvme_queue_rq (one
    # segment, one PRP), the doorbell; the issue time is read when it returns
    slat = c.syscall_ns + c.io_uring_sqe_ns + c.blk_mq_ns + c.nvme_queue_rq_ns + c.dma_map_segment_ns \
        + 1 * c.prp_entry_ns + c.doorbell_ns
    xfer = 4096 / 4.0 + 4096 / 8.0
    # the device sees the command as the SQ doorbell is written, so the doorbell's cost
    # overlaps it; command fetch, service, data over the internal path and the link; then
    # the interrupt: entry, the CQE, the CQ head doorbell, unmap, end of request +
    # queueing the task work; then fio is woken (DEFER_TASKRUN's lazy wake: one is
    # enough) and its io_uring_enter runs the task work, which posts the CQE
    clat = -c.doorbell_ns + 700 + service_us * 1000 + xfer + c.irq_entry_ns + c.nvme_cqe_ns + c.doorbell_ns \
        + c.dma_unmap_segment_ns + c.end_request_ns + c.io_uring_tw_add_ns + c.wakeup_ns \
        + c.task_work_run_ns + c.io_uring_cqe_ns
    assert d.slat.min == d.slat.max == int(slat)
    assert d.clat.mean == pytest.approx(clat, abs=1)
    assert d.clat.max - d.clat.min <= 1
    assert d.lat.mean == pytest.approx(slat + clat, abs=1)


# ----------------------------------------------------------- saturation
def completion_rate(rep) -> float:
    """I/Os completed per second, all jobs, each over its window: the device's throughput.
    (fio's IOPS divides the I/Os *queued* after the ramp by the runtime with the drain, so
    a short run with a deep backlog reports less than this; see test_fio_rules.py.)"""
    return sum((j.read.lat.n + j.write.lat.n) / (w / 1e9) for j, w in zip(rep.jobs, rep.windows_ns))


def test_iops_saturates_at_the_units():
    """4 KiB reads, 8 units of constant 20 us, far more I/Os outstanding than units."""
    cfg = load(
        {
            "workload": {"bs": "4k", "iodepth": 64, "numjobs": 2, "runtime": "20ms", "ramp_time": "2ms"},
            "device": {"parallel_units": 8, "read": {"dist": "constant", "mean_us": 20.0}, "link_gbps": 100.0,
                       "internal_gbps": 100.0},
            "allocator": {"variants": ["stack"]},
        }
    )
    rep = run_replication(cfg, "stack", 0)
    assert completion_rate(rep) == pytest.approx(8 / 20e-6, rel=0.02)


def test_iops_saturates_at_the_link():
    """128 KiB reads over a 2 GB/s link: IOPS = 2e9 / 131072, whatever the units could do."""
    cfg = load(
        {
            "workload": {"bs": "128k", "iodepth": 64, "numjobs": 2, "runtime": "40ms", "ramp_time": "4ms"},
            "device": {"parallel_units": 64, "read": {"dist": "constant", "mean_us": 20.0}, "link_gbps": 2.0,
                       "internal_gbps": 100.0},
            "allocator": {"variants": ["stack"]},
        }
    )
    rep = run_replication(cfg, "stack", 0)
    assert completion_rate(rep) == pytest.approx(2e9 / 131072, rel=0.02)


def test_internal_bandwidth_binds_when_lower():
    cfg = load(
        {
            "workload": {"bs": "64k", "rw": "randwrite", "iodepth": 64, "runtime": "40ms", "ramp_time": "4ms"},
            "device": {"parallel_units": 64, "write": {"dist": "constant", "mean_us": 10.0}, "link_gbps": 8.0,
                       "internal_gbps": 1.5},
            "allocator": {"variants": ["stack"]},
        }
    )
    rep = run_replication(cfg, "stack", 0)
    assert completion_rate(rep) == pytest.approx(1.5e9 / 65536, rel=0.02)


# ------------------------------------------------ when the pools are not touched
@pytest.mark.parametrize(
    "workload",
    [
        {"bs": "4k", "iodepth": 32, "numjobs": 2},
        {"bs": "8k", "iodepth": 16, "rw": "randrw", "ioengine": "libaio", "iodepth_batch_submit": 8},
        {"bs": "64k", "iodepth": 16, "iomem": "mmaphuge"},  # one segment: an inline SGL
    ],
)
def test_no_pool_means_identical_variants(workload):
    cfg = tiny_config(workload)
    a = run_replication(cfg, "legacy", 0)
    b = run_replication(cfg, "stack", 0)
    assert not a.pools and not b.pools
    for ja, jb in zip(a.jobs, b.jobs):
        for da, db in ((ja.read, jb.read), (ja.write, jb.write)):
            assert da.total_ios == db.total_ios
            for h in ("slat", "clat", "lat"):
                ha, hb = getattr(da, h), getattr(db, h)
                assert ha.counts == hb.counts and ha.mean == hb.mean
    assert a.profile_ns == b.profile_ns


def test_pools_are_used_above_8k():
    rep = run_replication(tiny_config({"bs": "16k", "iodepth": 8}), "legacy", 0)
    assert [p.name for p in rep.pools] == ["node0/prp256"]
    rep = run_replication(tiny_config({"bs": "256k", "iodepth": 8}), "legacy", 0)
    assert [p.name for p in rep.pools] == ["node0/prp4096"]


def test_polled_completions_run_in_thread_context():
    rep = run_replication(tiny_config({"bs": "16k", "iodepth": 8, "hipri": True}, driver={"poll_queues": 1}), "stack", 0)
    own = self_time(rep.profile_ns)
    assert own["nvme_irq"] == 0
    assert own["nvme_poll"] > 0
    assert rep.profile_ns["io_uring_enter;nvme_poll;dma_pool_free"] > 0  # freed under the poll


def test_interrupt_coalescing_batches_completions():
    plain = run_replication(tiny_config({"bs": "4k", "iodepth": 32}), "stack", 0)
    co = run_replication(tiny_config({"bs": "4k", "iodepth": 32}, driver={"irq_coalescing": {"threshold": 8,
                                                                                          "time_us": 100}}),
                         "stack", 0)
    # fewer interrupt entries -> less time in nvme_irq per I/O
    per_io = lambda r: r.profile_ns["nvme_irq"] / r.total_ios  # noqa: E731
    assert per_io(co) < 0.8 * per_io(plain)


@pytest.mark.parametrize("co", [{"threshold": 8, "time_us": 0}, {"threshold": 0, "time_us": 100}])
def test_coalescing_with_time_or_threshold_zero_is_off(co):
    """NVMe Set Features 08h: TIME or THR cleared to 0 disables coalescing.  A threshold
    without a time once deadlocked the run (the last CQEs never raised an interrupt:
    0 I/Os, exit 0)."""
    plain = run_replication(tiny_config({"bs": "4k", "iodepth": 32}), "stack", 0)
    off = run_replication(tiny_config({"bs": "4k", "iodepth": 32}, driver={"irq_coalescing": co}), "stack", 0)
    assert off.total_ios == plain.total_ios > 0
    assert off.profile_ns == plain.profile_ns


# ------------------------------------------------ blk-mq tags: iodepth beyond the queue
def test_libaio_beyond_the_tag_depth_waits_in_io_submit():
    """With more I/Os than a queue has tags, io_submit sleeps in blk_mq_get_tag until
    completions free tags: the wait is part of slat, the device never holds more than
    the tags, and Little's law still holds."""
    cfg = load({
        "workload": {"ioengine": "libaio", "bs": "4k", "iodepth": 256, "iodepth_batch_submit": 64,
                     "iodepth_batch_complete_min": 64, "runtime": "400ms", "ramp_time": "20ms"},
        "driver": {"queue_depth": 65},  # 64 tags
        "device": {"parallel_units": 128, "read": {"dist": "constant", "mean_us": 1000.0}},
    })
    rep = run_replication(cfg, "stack", 0)
    job = rep.jobs[0]
    # never more than 64 commands at the device, each 1 ms: at most 64k IOPS (the CPU
    # could do ~6x); less in fact, since a thread asleep in io_submit cannot reap
    iops = replication_metrics(rep)["iops"]
    assert 0.5 * 64 / 1e-3 < iops <= 1.01 * 64 / 1e-3
    # a batch of 64 waits for 64 tags, i.e. for about a full device round of 1 ms
    assert job.read.slat.mean > 500_000
    L = rep.mean_depth[0]  # (latencies of ~4 ms: a long window keeps the edge effect < 2%)
    assert L == pytest.approx(iops * job.read.lat.mean / 1e9, rel=0.02)


def test_polled_io_beyond_the_tag_depth_is_refused():
    """(io_uring beyond the tags goes to io-wq: tests/test_kernel_path.py)"""
    from nvmesim.config import ConfigError

    with pytest.raises(ConfigError, match="workload.iodepth: 2000 exceeds the 1023 tags.*hipri"):
        load({"workload": {"iodepth": 2000, "hipri": True}, "driver": {"poll_queues": 1}})


def test_tag_wait_is_not_lost_when_tags_free_while_flushing():
    """Regression: tags freed while io_submit flushes its plug must not leave the thread
    asleep waiting for a tag nobody holds (it once deadlocked after one batch)."""
    cfg = load({
        "workload": {"ioengine": "libaio", "bs": "12k", "iodepth": 1023, "iodepth_batch_submit": 256,
                     "iodepth_batch_complete_min": 256, "iodepth_batch_complete_max": 256,
                     "runtime": "50ms", "ramp_time": "10ms"},
        "driver": {"queue_depth": 256},
        "device": {"preset": "optane", "parallel_units": 64, "link_gbps": 14.0, "internal_gbps": 14.0},
    })
    rep = run_replication(cfg, "stack", 0)
    job = rep.jobs[0]
    assert job.read.total_ios > 10_000
    iops = replication_metrics(rep)["iops"]
    assert rep.mean_depth[0] == pytest.approx(iops * job.read.lat.mean / 1e9, rel=0.05)


# ------------------------------------------------ one CPU: work conservation and irqsave
@pytest.mark.parametrize("variant", ["legacy", "stack"])
@pytest.mark.parametrize("tags", [1023, 255])
def test_a_cpu_bound_core_is_never_overbooked(variant, tags):
    """One job, CPU-bound (deep queue, fast device): the core's labelled CPU time
    cannot exceed the window, and a pool lock that only one core takes is never
    contended (thread and handler exclude each other with interrupts off).
    Regression: an interrupt once failed to preempt a thread that had not yet
    slept, so both ran at once (160% busy, spin_lock time on one core)."""
    cfg = load({
        "workload": {"ioengine": "libaio", "bs": "12k", "iodepth": 1023, "iodepth_batch_submit": 256,
                     "iodepth_batch_complete_min": 256, "iodepth_batch_complete_max": 256,
                     "runtime": "30ms", "ramp_time": "10ms"},
        "driver": {"queue_depth": tags + 1},
        "device": {"preset": "optane", "parallel_units": 64, "link_gbps": 14.0, "internal_gbps": 14.0},
    })
    rep = run_replication(cfg, variant, 0)
    busy = sum(v for k, v in rep.profile_ns.items() if k != "idle")
    # (work is booked where it starts: what starts just before the end runs past it)
    assert busy <= rep.core_ns * 1.005
    assert replication_metrics(rep)["cpu_idle"] < 0.05  # CPU-bound indeed
    assert replication_metrics(rep)["cpu_share_lock_spin"] == 0
    assert all(p.lock_contended == 0 for p in rep.pools)


PER_NODE_POOLS = {"driver.kernel": "6.16", "host.numa_nodes": 2, "workload.numjobs": 2,
                  "workload.cpus_allowed": "0,4", "workload.iodepth": 1023, "workload.iodepth_batch_submit": 64,
                  "workload.iodepth_batch_complete_min": 64, "workload.iodepth_batch_complete_max": 64}


ONE_JOB = {"workload.iodepth": 1023, "workload.iodepth_batch_submit": 256, "workload.iodepth_batch_complete_min": 256,
           "workload.iodepth_batch_complete_max": 256}  # within the tags: no io-wq worker shares the lock


@pytest.mark.parametrize("variant", ["legacy", "stack"])
@pytest.mark.parametrize("extra", [ONE_JOB, PER_NODE_POOLS], ids=["one-job", "a-job-per-node"])
def test_exact_thread_wake_equals_catching_up_step_by_step(variant, extra, monkeypatch):
    """A thread that only its own interrupts can preempt waits for its clock with one
    exactly armed wake (Queue.await_thread_clock); the general path re-arms a timeout
    after every interrupt.  Both must give identical results, with fewer events."""
    from nvmesim.sim import fio

    cfg = load(ROOT / "configs/highdepth.yaml",
               {"workload.runtime": 0.02, "workload.ramp_time": 0.005, **extra})
    fast = run_replication(cfg, variant, 0)
    init = fio.FioJob.__init__

    def general(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.lone = False

    monkeypatch.setattr(fio.FioJob, "__init__", general)
    slow = run_replication(cfg, variant, 0)
    assert fast.events < slow.events
    assert fast.profile_ns == slow.profile_ns and fast.pools == slow.pools
    for a, b in zip(fast.jobs, slow.jobs):
        for h in ("slat", "clat", "lat"):
            ha, hb = getattr(a.read, h), getattr(b.read, h)
            assert (ha.counts, ha.n, ha.mean, ha.S) == (hb.counts, hb.n, hb.mean, hb.S)


def test_a_device_breaking_the_service_bound_rule_is_caught(monkeypatch):
    """The rule a device change must keep (docs/architecture.md): every service bound is
    a lower bound of its read's CQE time.  A device that pushes a bound above it fails
    at once, in any run, instead of silently desynchronising the thread's wake."""
    from heapq import heappop, heappush

    from nvmesim.sim import device

    submit = device.Device.submit

    def late_bound(self, io_u, at):
        submit(self, io_u, at)
        if io_u.is_read:
            b = heappop(io_u.queue.service_bounds)
            heappush(io_u.queue.service_bounds, b + 1e6)  # a bound 1 ms too late

    monkeypatch.setattr(device.Device, "submit", late_bound)
    with pytest.raises(AssertionError, match="service bound .* above the post time"):
        run_replication(tiny_config({"bs": "4k", "iodepth": 4}), "stack", 0)
