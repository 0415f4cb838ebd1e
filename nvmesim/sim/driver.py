"""nvme-pci on the I/O path: request setup, PRP/SGL list allocation through the
dmapool models, the doorbell, and the completion path (interrupt or poll).

The two pools ("prp list 256", "prp list page") are per device and shared by
every queue and CPU, each behind one irqsave spinlock (kernel.md §5); with
``driver.kernel: "6.16"`` there is one pair per NUMA node (kernel.md §6).
"""

from __future__ import annotations

from collections import deque
from typing import Generator

import simpy

from ..allocators import DmaPool
from ..config import Config
from .cpu import L_ALLOC, L_FREE, L_IRQ, L_POLL, L_QUEUE_RQ, L_SPIN, Core, HandlerClock, SpinLock
from .nvme import PAGE_POOL, SMALL_POOL, MapPlan


class PoolSet:
    """The driver's PRP/SGL pools for one device (or one NUMA node), each with its lock."""

    __slots__ = ("pools", "locks")

    def __init__(self, variant: type[DmaPool], cfg: Config) -> None:
        cost = cfg.allocator.cost
        # bytes this core touches between two of its pool operations: the rest of
        # the I/O path's per-I/O footprint, split over an alloc and a free
        pressure = cfg.host.cache_bytes_per_io / 2
        c = cfg.host.costs
        self.pools = {
            SMALL_POOL: variant(SMALL_POOL, SMALL_POOL, 0, cost=cost, pressure=pressure),
            PAGE_POOL: variant(PAGE_POOL, PAGE_POOL, 0, cost=cost, pressure=pressure),
        }
        self.locks = {k: SpinLock(c.lock_handoff_ns, c.lock_handoff_remote_ns) for k in self.pools}


class Queue:
    """One NVMe I/O queue pair, its completion queue and its interrupt (or poller)."""

    __slots__ = ("env", "core", "cq", "polled", "irq_event", "handler_active", "coalesce_n", "coalesce_ns",
                 "pending", "timer_armed", "poll_waiter")

    def __init__(self, env: simpy.Environment, core: Core, polled: bool, coalesce_n: int, coalesce_ns: float) -> None:
        self.env = env
        self.core = core
        self.cq: deque = deque()
        self.polled = polled
        self.irq_event: simpy.Event = env.event()
        self.handler_active = False
        self.coalesce_n = coalesce_n
        self.coalesce_ns = coalesce_ns
        self.pending = 0  # CQEs since the last interrupt (coalescing)
        self.timer_armed = False
        self.poll_waiter: simpy.Event | None = None

    def post(self, io_u) -> None:
        """The device posts a CQE (called at the posting instant)."""
        self.cq.append(io_u)
        if self.polled:
            w = self.poll_waiter
            if w is not None:
                self.poll_waiter = None
                w.succeed()
            return
        if self.coalesce_n:
            self.pending += 1
            if self.pending < self.coalesce_n:
                if not self.timer_armed and self.coalesce_ns:
                    self.timer_armed = True
                    self.env.timeout(self.coalesce_ns).callbacks.append(self._timer)
                return
        self._raise()

    def _timer(self, _ev) -> None:
        self.timer_armed = False
        if self.pending:
            self._raise()

    def _raise(self) -> None:
        self.pending = 0
        if not self.handler_active:
            self.handler_active = True
            ev = self.irq_event
            self.irq_event = self.env.event()
            ev.succeed()


class Driver:
    """The nvme-pci driver of one device: per-request submit work and the completion path."""

    def __init__(self, env: simpy.Environment, cfg: Config, variant: type[DmaPool], plan: MapPlan,
                 nsegs: int) -> None:
        self.env = env
        self.cfg = cfg
        c = cfg.host.costs
        nodes = cfg.host.numa_nodes if cfg.driver.kernel == "6.16" else 1
        self.poolsets = [PoolSet(variant, cfg) for _ in range(nodes)]
        self.per_node = nodes > 1
        self.plan = plan
        self.nsegs = nsegs
        # per-request CPU work that does not interact with anything shared
        self.queue_rq_ns = c.nvme_queue_rq_ns + nsegs * c.dma_map_segment_ns + plan.entries * c.prp_entry_ns
        self.cqe_ns = c.nvme_cqe_ns + nsegs * c.dma_unmap_segment_ns
        self.end_ns = c.end_request_ns
        self.doorbell_ns = c.doorbell_ns
        self.irq_entry_ns = c.irq_entry_ns
        self.poll_ns = c.poll_ns

    def poolset(self, core: Core) -> PoolSet:
        return self.poolsets[core.node if self.per_node else 0]

    # ---- submission (thread context, inside the syscall) --------------------
    def map_request(self, core: Core, io_u) -> Generator[simpy.Event, None, None]:
        """nvme_queue_rq for one request: set up, allocate its list blocks, build them."""
        core.charge(L_QUEUE_RQ, self.queue_rq_ns)
        plan = self.plan
        if plan.pool:
            ps = self.poolset(core)
            pool = ps.pools[plan.pool]
            lock = ps.locks[plan.pool]
            handles = io_u.handles
            for _ in range(plan.lists):
                if not core.in_sync():  # arrive at the lock at the right instant
                    yield from core.sync()
                now = core.local_now()
                spin, handoff = lock.acquire(now, core)
                handle, ns = pool.alloc()
                release = now + spin + handoff + ns
                lock.hold(release)
                core.irq_off_until = release
                core.charge(L_SPIN, spin + handoff)
                core.charge(L_ALLOC, ns)
                handles.append(handle)
            io_u.poolset = ps

    # ---- completion (interrupt handler, or the poller in thread context) ----
    def complete_one(self, clock: HandlerClock | Core, core: Core, io_u, label: int) -> Generator[simpy.Event, None, None]:
        """nvme_handle_cqe -> nvme_pci_complete_rq -> nvme_unmap_data (dma_pool_free) -> end request."""
        clock.charge(label, self.cqe_ns)
        handles = io_u.handles
        if handles:
            ps = io_u.poolset
            pool = ps.pools[self.plan.pool]
            lock = ps.locks[self.plan.pool]
            for handle in handles:
                if not clock.in_sync():
                    yield from clock.sync()
                now = clock.local_now()
                spin, handoff = lock.acquire(now, core)
                ns = pool.free(handle)
                release = now + spin + handoff + ns
                lock.hold(release)
                clock.charge(L_SPIN, spin + handoff)
                clock.charge(L_FREE, ns)
            handles.clear()
        clock.charge(label, self.end_ns)
        io_u.job.kernel_complete(io_u, clock, label)

    def irq_handler(self, queue: Queue) -> Generator[simpy.Event, None, None]:
        """The MSI-X handler of one queue: drains the CQ, one invocation per interrupt."""
        env = self.env
        core = queue.core
        clock = HandlerClock(core)
        while True:
            yield queue.irq_event
            # interrupts may be off on this core (a pool lock taken with irqsave)
            start = max(env._now, core.irq_off_until)
            while start > env._now and env.peek() <= start:
                yield env.timeout(start - env._now)
                start = max(env._now, core.irq_off_until)
            clock.t = start
            core.irq_enter(start)
            clock.charge(L_IRQ, self.irq_entry_ns)
            cq = queue.cq
            while cq:
                yield from self.complete_one(clock, core, cq.popleft(), L_IRQ)
            if not clock.in_sync():
                yield from clock.sync()
            core.irq_exit(clock.local_now())
            queue.handler_active = False
            if cq:  # CQEs posted after the last check raise a new interrupt
                queue._raise()
