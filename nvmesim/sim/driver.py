"""nvme-pci on the I/O path: request setup, PRP/SGL list allocation through the
dmapool models, the doorbell, and the completion path (interrupt or poll).

The two pools ("prp list 256", "prp list page") are per device and shared by
every queue and CPU, each behind one irqsave spinlock (kernel.md §5); with
``driver.kernel: "6.16"`` there is one pair per NUMA node (kernel.md §6).
"""

from __future__ import annotations

from collections import deque
from heapq import heappop
from typing import Generator

import simpy
from simpy.events import Timeout  # direct: env.timeout() adds a bound-method hop per call

from ..allocators import DmaPool
from ..config import Config
from .cpu import L_ALLOC, L_FREE, L_IRQ, L_SPIN, Core, HandlerClock, SpinLock
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

    __slots__ = ("env", "core", "cq", "polled", "handler", "coalesce_n", "coalesce_ns", "pending",
                 "timer_armed", "poll_waiter", "tags", "inflight", "wake_batch", "on_cqe", "service_bounds",
                 "post_times", "thread", "thread_waiting", "wake_armed")

    def __init__(self, env: simpy.Environment, core: Core, polled: bool, coalesce_n: int, coalesce_ns: float,
                 tags: int = 1 << 30) -> None:
        self.env = env
        self.tags = tags  # blk-mq tags: requests the queue can hold (queue depth - 1)
        self.inflight = 0  # requests holding a tag, from nvme_queue_rq to the end of completion
        # sbitmap wakes a tag waiter once this many tags are free again
        # (lib/sbitmap.c: clamp(depth / SBQ_WAIT_QUEUES, 1, SBQ_WAKE_BATCH), both 8)
        self.wake_batch = max(1, min(tags // 8, 8))
        self.core = core
        self.cq: deque = deque()
        self.polled = polled
        self.handler: IrqHandler | None = None  # set by the driver for interrupt queues
        self.coalesce_n = coalesce_n
        self.coalesce_ns = coalesce_ns
        self.pending = 0  # CQEs since the last interrupt (coalescing)
        self.timer_armed = False
        self.poll_waiter: simpy.Event | None = None
        self.on_cqe = [self.post]  # what the device's CQE event runs (shared, never mutated)
        # When this queue's next CQE can come at the earliest (kept by the device):
        # a heap of lower bounds for the reads it is serving (media time, then the
        # pipes at full speed), and a heap of the exact post times it has scheduled.
        # A job has one block size, so the smallest bound is always that of the
        # read served next, and posts come in time order: each pop is exact.
        self.service_bounds: list[float] = []
        self.post_times: list[float] = []
        self.thread = None  # the ThreadRunner of the job on this queue's core (set by the model)
        self.thread_waiting = False  # it waits for its clock (see await_thread_clock)
        self.wake_armed = False

    def post(self, io_u) -> None:
        """The device posts a CQE (called at the posting instant)."""
        heappop(self.post_times)
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
            self.pending = 0
        h = self.handler
        if not h.active:
            h.active = True
            h._start()

    def no_irq_before(self, t: float) -> bool:
        """No interrupt can start on this queue's core before ``t``: no CQE can land
        by then and no handler invocation is pending."""
        a, b = self.service_bounds, self.post_times
        return not ((a and a[0] <= t) or (b and b[0] <= t) or self.handler.active)

    def await_thread_clock(self) -> None:
        """The core's thread yields :data:`~nvmesim.sim.cpu.SLEEP` until simulated time
        reaches its clock, stretched by the interrupts that come first.

        Only for a thread that nothing but this queue's handler can preempt (see
        ``FioJob.lone_lock_user``).  Its wake is scheduled once no CQE can land
        before its clock, so it fires exactly once, at the right instant; until
        then every event that could move the answer (a read leaving the media,
        the end of a handler invocation) calls :meth:`arm_thread_wake` again.
        A plain timeout would go stale at every interrupt and be re-armed each time.
        """
        self.thread_waiting = True
        self.arm_thread_wake()

    def arm_thread_wake(self) -> None:
        if self.wake_armed:
            return
        t = self.core.t
        if not self.no_irq_before(t):
            return  # an interrupt may come first: its end, or the read's service, re-arms
        self.wake_armed = True
        env = self.env
        Timeout(env, t - env._now).callbacks.append(self._wake_thread)

    def _wake_thread(self, _ev) -> None:
        self.wake_armed = False
        self.thread_waiting = False
        self.thread.resume()

    def _timer(self, _ev) -> None:
        self.timer_armed = False
        if self.pending:
            self._raise()

    def _raise(self) -> None:
        self.pending = 0
        self.handler.interrupt()  # (post inlines this)


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
        # the one pool (and its lock) this run's lists come from, per poolset
        self.list_pools = [ps.pools[plan.pool] for ps in self.poolsets] if plan.lists else []
        self.list_locks = [ps.locks[plan.pool] for ps in self.poolsets] if plan.lists else []
        self.plan = plan
        self.nsegs = nsegs
        # per-request CPU work that does not interact with anything shared
        self.queue_rq_ns = c.nvme_queue_rq_ns + nsegs * c.dma_map_segment_ns + plan.entries * c.prp_entry_ns
        self.cqe_ns = c.nvme_cqe_ns + nsegs * c.dma_unmap_segment_ns
        # blk_mq_end_request + bio_endio + posting the CQE / io_event
        post = c.io_uring_cqe_ns if cfg.workload.ioengine == "io_uring" else c.libaio_event_ns
        self.end_ns = c.end_request_ns + post
        self.doorbell_ns = c.doorbell_ns
        self.irq_entry_ns = c.irq_entry_ns
        self.poll_ns = c.poll_ns

    def poolset_index(self, node: int) -> int:
        """Which of :attr:`poolsets` serves requests from a core on NUMA ``node``."""
        return node if self.per_node else 0

    # ---- submission (thread context, inside the syscall) --------------------
    # Callers make sure the code is in sync before each pool operation (the lock
    # must be asked for at the right instant), then call these plain functions.
    def alloc_list(self, core: Core, io_u) -> None:
        """dma_pool_alloc of one PRP/SGL list block under the pool's irqsave lock.

        The pool operation is done first and the lock granted after: grants are
        first come, first served, so the order of operations is the same, and the
        cost of an operation does not depend on when it is granted."""
        k = self.poolset_index(core.node)
        pool = self.list_pools[k]
        now = core.t if core.t > self.env._now else self.env._now  # core.local_now()
        handle, ns = pool.alloc(core.index)
        wait = self.list_locks[k].take(now, core, ns) if pool.last.locked else 0.0
        core.irq_off_until = core.t = now + wait + ns
        if now >= core.measure_from:
            busy = core.busy
            busy[L_SPIN] += wait
            busy[L_ALLOC] += ns
        io_u.handles.append(handle)
        io_u.poolset = k

    # ---- completion (interrupt handler, or the poller in thread context) ----
    def free_list(self, clock: HandlerClock | Core, core: Core, io_u, handle: int) -> None:
        """dma_pool_free of one list block (nvme_unmap_data), under the pool's lock."""
        k = io_u.poolset
        pool = self.list_pools[k]
        now = clock.t if clock.t > self.env._now else self.env._now  # clock.local_now()
        ns = pool.free(handle, core.index)
        wait = self.list_locks[k].take(now, core, ns) if pool.last.locked else 0.0
        clock.t = now + wait + ns
        if now >= core.measure_from:
            busy = core.busy
            busy[L_SPIN] += wait
            busy[L_FREE] += ns

    def complete(self, clock: HandlerClock | Core, core: Core, cq: deque, label: int) -> Generator[simpy.Event, None, None]:
        """Drain a completion queue: per CQE nvme_handle_cqe -> nvme_pci_complete_rq ->
        nvme_unmap_data (dma_pool_free per list) -> end the request, post the completion."""
        cqe_ns = self.cqe_ns
        while cq:
            io_u = cq.popleft()
            clock.charge(label, cqe_ns)
            handles = io_u.handles
            if handles:
                for handle in handles:
                    if not clock.in_sync():
                        yield from clock.sync()
                    self.free_list(clock, core, io_u, handle)
                handles.clear()
            io_u.job.kernel_complete(io_u, clock, label)


class IrqHandler:
    """The MSI-X handler of one queue (nvme_irq): drains the CQ, one invocation per
    interrupt, on the queue's core.

    Written as a small state machine driven by callbacks rather than a SimPy
    process: an interrupt runs it straight from the device's completion event,
    and it only schedules an event of its own when it must wait (interrupts off
    on the core, or its clock ahead of other activity before a pool lock).
    """

    __slots__ = ("env", "driver", "queue", "core", "clock", "active", "busy_until", "cur", "hidx", "lock_shared")

    def __init__(self, driver: Driver, queue: Queue, lock_shared: bool = True) -> None:
        self.env = driver.env
        self.driver = driver
        self.queue = queue
        self.core = queue.core
        self.clock = HandlerClock(queue.core)
        self.active = False
        self.busy_until = 0.0  # the last invocation runs until then
        self.cur = None  # the io_u being completed, and its next list block
        self.hidx = 0
        # Whether another core can take this core's pool locks.  If not, the
        # handler need not let time catch up before a lock: its own thread is
        # preempted, and nothing else scheduled before the handler's clock
        # (device stages, CQE posts that this invocation serves after the
        # current one) touches the pools.
        self.lock_shared = lock_shared
        queue.handler = self

    def interrupt(self) -> None:
        """An MSI-X for this queue arrives now."""
        if not self.active:
            self.active = True
            self._start()

    def _start(self, _ev: simpy.Event | None = None) -> None:
        env, core = self.env, self.core
        now = env._now
        # A CQE posted while the previous invocation was still running is served
        # by it (no new entry); interrupts may also be off on this core (a pool
        # lock taken with irqsave), which delays the start.
        start = core.irq_off_until if core.irq_off_until > now else now
        busy_until = self.busy_until
        if busy_until > start:
            start = busy_until
        if start > now:
            q = env._queue
            if q and q[0][0] <= start:  # something happens first: start then
                Timeout(env, start - now).callbacks.append(self._start)
                return
        clock = self.clock
        core.irq_enter(start)
        if start > busy_until:
            entry = self.driver.irq_entry_ns  # (clock.charge, inlined)
            if start >= clock.measure_from:
                clock.busy[L_IRQ] += entry
            start += entry
        clock.t = start
        self._drain()

    def _drain(self, _ev: simpy.Event | None = None) -> None:
        driver, clock, core, env = self.driver, self.clock, self.core, self.env
        cq = self.queue.cq
        cqe_ns = driver.cqe_ns
        busy = clock.busy
        measure_from = clock.measure_from
        while True:
            io_u = self.cur
            if io_u is None:
                if not cq:
                    break
                self.cur = io_u = cq.popleft()
                self.hidx = 0
                t = clock.t if clock.t > env._now else env._now  # (clock.charge, inlined)
                if t >= measure_from:
                    busy[L_IRQ] += cqe_ns
                clock.t = t + cqe_ns
            handles = io_u.handles
            while self.hidx < len(handles):
                if self.lock_shared and clock.t > env._now and not clock.in_sync():  # catch up before the lock
                    Timeout(env, clock.t - env._now).callbacks.append(self._drain)
                    return
                driver.free_list(clock, core, io_u, handles[self.hidx])
                self.hidx += 1
            handles.clear()
            self.cur = None
            io_u.job.kernel_complete(io_u, clock, L_IRQ)
        # The invocation ends at its own clock; nothing needs to wait for that
        # instant: a CQE posted before it re-enters at no cost.
        end = clock.t if clock.t > env._now else env._now
        core.irq_exit(end)
        self.busy_until = end
        self.active = False
        if self.queue.thread_waiting:  # its clock moved: maybe nothing can come first now
            self.queue.arm_thread_wake()
        if clock.to_wake:  # the woken threads run from the handler's end on
            woken, clock.to_wake = clock.to_wake, []
            for job in woken:
                job.runner.resume()
