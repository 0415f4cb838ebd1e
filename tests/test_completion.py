"""The one completion path: interrupt and polled completion do the same per-request
CPU work under the same lock discipline, and a pass (an interrupt handler's invocation,
or one nvme_poll) completes every CQE posted before its CQ loop ends, with one CQ
doorbell; its dma_pool_frees run after the loop, as one batch."""

from __future__ import annotations

import pytest

from helpers import tiny_config
from nvmesim.allocators import get_variant
from nvmesim.sim.completion import CompletionPath, IrqHandler, poll
from nvmesim.sim.cpu import Core
from nvmesim.sim.device import Device
from nvmesim.sim.driver import Driver
from nvmesim.sim.engine import Engine, ThreadRunner, Timeout
from nvmesim.sim.fio import FioJob, Streams
from nvmesim.sim.model import job_seeds
from nvmesim.sim.nvme import map_plan, segments
from nvmesim.sim.queue import Queue
from nvmesim.stats.records import IRQ_FREE, L_IRQ, L_POLL, POLL_FREE, PROFILE_LABELS

COSTS = {"nvme_cqe_ns": 500, "end_request_ns": 300, "irq_entry_ns": 700, "poll_ns": 100}


def pieces(polled: bool, requests: int = 6):
    """A job on core 0 with ``requests`` 16 KiB reads whose list blocks are allocated,
    ready to be posted to its queue; nothing else runs."""
    cfg = tiny_config({"bs": "16k", "iodepth": requests, "hipri": polled},
                      host={"costs": COSTS}, driver={"poll_queues": 1 if polled else 0})
    env = Engine()
    nsegs = segments(cfg.workload.bs, cfg.workload.iomem)
    plan = map_plan(cfg.workload.bs, nsegs, 0, sgl_supported=False)
    driver = Driver(env, cfg, get_variant("legacy"), plan, nsegs)
    core = Core(env, 0, 0, 0.0)
    queue = Queue(env, core, polled, 0, 0.0)
    path = CompletionPath(driver, queue, core, core, L_POLL, POLL_FREE, catch_up=False, fifo=True) if polled else None
    job = FioJob(env, cfg, 0, core, queue, driver, Device(env, cfg.device), Streams(cfg, job_seeds(cfg, 0, 0)),
                 lone=False, completion=path, poolset=0)
    handler = None if polled else IrqHandler(driver, queue, lock_shared=False, fifo=True)
    ios = list(job.free)
    for io_u in ios:
        driver.alloc_list(core, io_u, job.alloc_labels)
        queue.inflight += 1
    core.t = core.irq_off_until = 0.0
    core.busy[:] = [0.0] * len(PROFILE_LABELS)
    return env, core, queue, job, handler, path, ios


def post_all(env, queue, ios, at):
    """The device posts one CQE per request at the given times."""
    for io_u, t in zip(ios, at):
        queue.post_times.append(t)
        io_u.callbacks = queue.on_cqe
        env.push(t, io_u)


@pytest.mark.parametrize("gap_ns", [10_000.0, 100.0])  # CQEs far apart, and arriving during a pass
def test_polled_and_interrupt_completion_do_the_same_work_per_request(gap_ns):
    n = 6
    done = {}
    for polled in (False, True):
        env, core, queue, job, handler, path, ios = pieces(polled, n)
        post_all(env, queue, ios, [1000.0 + i * gap_ns for i in range(n)])
        if polled:
            def thread():
                core.woken()
                yield from poll(path, core, queue, job.ring, n)
            ThreadRunner(env, thread())
        queue.connect(path if polled else handler.path, handler, None)
        env.run()
        # the interrupt path queues io_uring task work (the task posts the CQEs); the
        # IOPOLL poller posts them itself
        assert len(job.tw if job.tw is not None else job.ring) == n and queue.inflight == 0
        pool = job.driver.list_pools[0]
        done[polled] = (core.busy, pool.totals.ops, pool.totals.ns, pool.nr_pages)
    irq, polled_ = done[False], done[True]
    assert irq[1:] == polled_[1:]  # the same frees at the same costs
    frees = lambda busy, labels: (busy[labels.op], busy[labels.lock], busy[labels.spin])  # noqa: E731
    assert frees(irq[0], IRQ_FREE) == frees(polled_[0], POLL_FREE) and irq[0][IRQ_FREE.op] > 0
    per_cqe = COSTS["nvme_cqe_ns"] + 4 * 40 + COSTS["end_request_ns"]  # + unmap of 4 segments
    doorbell = 150  # the CQ head doorbell, once per pass
    # everything else the two did: interrupt entries, or poll passes and spinning, and
    # doorbells; the interrupt queues task work (30 ns), the poller posts the CQE (60 ns)
    irq_extra = irq[0][L_IRQ] - n * (per_cqe + 30)
    poll_extra = polled_[0][L_POLL] - n * (per_cqe + 60)
    entry = COSTS["irq_entry_ns"] + doorbell
    assert irq_extra % entry == 0 and irq_extra > 0
    assert poll_extra >= COSTS["poll_ns"] + doorbell
    if gap_ns == 100.0:
        # the CQEs land while the first one's CQ loop runs: one invocation, one pass
        assert irq_extra == entry
        assert poll_extra - COSTS["poll_ns"] - doorbell == pytest.approx(1000.0)  # spun from 0 to the first CQE
    else:
        assert irq_extra == n * entry


def test_the_frees_of_a_pass_run_after_its_cq_loop():
    """nvme_pci_complete_batch runs after the CQ loop: every CQE of the pass is handled
    (and the CQ doorbell written) before the first dma_pool_free, and requests are ended
    only after every unmap (blk_mq_end_request_batch)."""
    env, core, queue, job, handler, path, ios = pieces(False, 4)
    order: list[str] = []
    driver = job.driver
    free, complete = driver.free_list, job.kernel_complete
    driver.free_list = lambda *a: (order.append("free"), free(*a))[1]
    job.kernel_complete = lambda *a: (order.append("end"), complete(*a))[1]
    queue.connect(handler.path, handler, None)
    queue.cq.extend(ios[1:])
    queue.post_times.append(0.0)
    ios[0].callbacks = queue.on_cqe
    env.push(0.0, ios[0])  # the last CQE's post raises the interrupt
    env.run()
    assert order == ["free"] * 4 + ["end"] * 4
    assert handler.path.loop_end == pytest.approx(COSTS["irq_entry_ns"] + 4 * COSTS["nvme_cqe_ns"] + 150)


def test_tags_are_freed_in_groups_of_32(monkeypatch):
    """blk_mq_end_request_batch frees tags TAG_COMP_BATCH (32) at a time."""
    from nvmesim.sim.completion import TAG_COMP_BATCH

    env, core, queue, job, handler, path, ios = pieces(False, 40)
    seen: list[int] = []
    orig = Queue.free_tags
    monkeypatch.setattr(Queue, "free_tags", lambda self, n, clock: (seen.append(n), orig(self, n, clock))[1])
    queue.connect(handler.path, handler, None)
    queue.cq.extend(ios[1:])
    queue.post_times.append(0.0)
    ios[0].callbacks = queue.on_cqe
    env.push(0.0, ios[0])
    env.run()
    assert TAG_COMP_BATCH == 32 and seen == [32, 8] and queue.inflight == 0


def test_a_shared_lock_is_asked_for_at_the_right_instant():
    """With another core taking the pool lock, the completion path lets time catch up
    before each free (the grant order is the order in true time)."""
    env, core, queue, job, handler, path, ios = pieces(False, 2)
    shared = CompletionPath(job.driver, queue, handler.clock, core, L_IRQ, IRQ_FREE, catch_up=True, fifo=True)
    queue.cq.extend(ios)
    handler.clock.t = 0.0
    Timeout(env, 50).callbacks.append(lambda e: None)  # something happens before the clock
    assert shared.drain() is False  # must wait: its clock (the CQ loop's work) is ahead
    assert shared.phase == 1 and shared.idx == 0 and shared.hidx == 0  # unmapped, before its free
    env.run()
    assert shared.drain() is True and len(job.tw) == 2
    assert job.driver.list_pools[0].totals.ops == 2 + 2  # two allocs, two frees
