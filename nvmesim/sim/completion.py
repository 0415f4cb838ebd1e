"""The completion path: one per-CQE routine for interrupt and polled completion.

Per CQE, nvme-pci does ``nvme_handle_cqe`` -> ``nvme_pci_complete_rq`` ->
``nvme_unmap_data`` (DMA unmap, ``dma_pool_free`` of each list block under the pool
lock) -> ``blk_mq_end_request`` -> the engine posts the completion to the job's ring
(``FioJob.kernel_complete``).  :class:`CompletionPath` is that routine, for one queue,
with one lock discipline: before a pool lock, the code lets simulated time catch up
with its clock if another core can take that lock (``catch_up``), so locks are granted
in true time order; a lock only this core takes needs no catching up.

It runs in two contexts:

* :class:`IrqHandler` — ``nvme_irq`` on the queue's core, one invocation per interrupt
  (a callback-driven state machine run straight from the device's CQE event);
* :func:`poll` — ``nvme_poll`` from the polling thread's ``io_uring_enter`` (hipri on a
  poll queue).
"""

from __future__ import annotations

from collections import deque
from typing import Generator

from ..stats.records import IRQ_FREE, L_IRQ, L_POLL, PoolLabels
from .cpu import Core
from .driver import Driver
from .engine import Clock, Engine, Event, Timeout


class CompletionPath:
    """The per-CQE work of one queue on one clock, resumable when a lock must wait.

    :meth:`drain` completes CQEs until the CQ is empty (returns True) or until, before
    a pool lock, simulated time must catch up with the clock (returns False: call it
    again once time has reached ``clock.t``)."""

    __slots__ = ("env", "driver", "cq", "clock", "core", "label", "free_labels", "catch_up", "cur", "hidx")

    def __init__(self, driver: Driver, cq: deque, clock: Clock, core: Core, label: int, free_labels: PoolLabels,
                 catch_up: bool) -> None:
        self.env = driver.env
        self.driver = driver
        self.cq = cq
        self.clock = clock
        self.core = core
        self.label = label  # the context's own work (nvme_irq, or nvme_poll)
        self.free_labels = free_labels  # dma_pool_free under it
        self.catch_up = catch_up
        self.cur = None  # the io_u being completed, and its next list block
        self.hidx = 0

    def drain(self) -> bool:
        driver, clock, core, env = self.driver, self.clock, self.core, self.env
        cq = self.cq
        cqe_ns = driver.cqe_ns
        busy = clock.busy
        label = self.label
        free_labels = self.free_labels
        measure_from = clock.measure_from
        while True:
            io_u = self.cur
            if io_u is None:
                if not cq:
                    return True
                self.cur = io_u = cq.popleft()
                self.hidx = 0
                t = clock.t if clock.t > env.now else env.now  # (clock.charge, inlined)
                ns = cqe_ns * io_u.m
                if t >= measure_from:
                    busy[label] += ns
                clock.t = t + ns
            handles = io_u.handles
            while self.hidx < len(handles):
                if self.catch_up and clock.t > env.now and not clock.in_sync():
                    return False  # let time catch up before the lock
                driver.free_list(clock, core, io_u, handles[self.hidx], free_labels)
                self.hidx += 1
            handles.clear()
            self.cur = None
            io_u.job.kernel_complete(io_u, clock, label)


class IrqHandler:
    """The MSI-X handler of one queue (nvme_irq): drains the CQ, one invocation per
    interrupt, on the queue's core.

    A callback-driven state machine rather than a SimPy process: an interrupt runs it
    straight from the device's completion event, and it only schedules an event of its
    own when it must wait (interrupts off on the core, or its clock ahead of other
    activity before a shared pool lock).  A CQE posted while an invocation is still
    running is served by it: the next start finds ``busy_until`` ahead and pays no entry.
    """

    __slots__ = ("env", "driver", "queue", "core", "clock", "path", "active", "busy_until")

    def __init__(self, driver: Driver, queue, lock_shared: bool) -> None:
        self.env = driver.env
        self.driver = driver
        self.queue = queue
        self.core = queue.core
        self.clock = queue.core.handler_clock()
        # Whether another core can take this core's pool locks.  If not, the handler
        # need not let time catch up before a lock: its own thread is preempted, and
        # nothing else scheduled before the handler's clock (device stages, CQE posts
        # that this invocation serves after the current one) touches the pools.
        self.path = CompletionPath(driver, queue.cq, self.clock, self.core, L_IRQ, IRQ_FREE, catch_up=lock_shared)
        self.active = False
        self.busy_until = 0.0  # the last invocation runs until then

    def interrupt(self) -> None:
        """An MSI-X for this queue arrives now."""
        if not self.active:
            self.active = True
            self.start()

    def start(self, _ev: Event | None = None) -> None:
        """Begin an invocation (``active`` is set): now, or when the core can take it."""
        env, core = self.env, self.core
        now = env.now
        # A CQE posted while the previous invocation was still running is served
        # by it (no new entry); interrupts may also be off on this core (a pool
        # lock taken with irqsave), which delays the start.
        start = core.irq_off_until if core.irq_off_until > now else now
        busy_until = self.busy_until
        if busy_until > start:
            start = busy_until
        if start > now and not env.quiet_until(start):  # something happens first: start then
            Timeout(env, start - now).callbacks.append(self.start)
            return
        clock = self.clock
        core.irq_enter(start)
        if start > busy_until:
            jitter = core.jitter
            entry = self.driver.irq_entry_ns * (jitter.buf.pop() if jitter.buf else jitter.more())  # (clock.charge)
            if start >= clock.measure_from:
                clock.busy[L_IRQ] += entry
            start += entry
        clock.t = start
        self._drain()

    def _drain(self, _ev: Event | None = None) -> None:
        if not self.path.drain():
            env = self.env
            Timeout(env, self.clock.t - env.now).callbacks.append(self._drain)
            return
        # The invocation ends at its own clock; nothing needs to wait for that
        # instant: a CQE posted before it re-enters at no cost.
        env, clock = self.env, self.clock
        end = clock.t if clock.t > env.now else env.now
        self.core.irq_exit(end)
        self.busy_until = end
        self.active = False
        queue = self.queue
        if queue.thread_waiting:  # its clock moved: maybe nothing can come first now
            queue.arm_thread_wake()
        if clock.to_wake:  # the woken threads run from the handler's end on
            woken, clock.to_wake = clock.to_wake, []
            for runner in woken:
                runner.resume()


def poll(path: CompletionPath, core: Core, queue, ring: deque, need: int) -> Generator[Event, None, None]:
    """hipri: spin in io_uring_enter until ``ring`` holds ``need`` completions, completing
    the poll queue's CQEs in thread context; spinning is CPU time.

    Each pass (nvme_poll -> nvme_poll_cq) completes CQEs while the queue has any, so a
    CQE posted while the pass runs is completed by it: the pass ends once the CQ is
    empty at the pass's own clock (an interrupt handler's invocation ends the same way)."""
    env = core.env
    poll_ns = path.driver.poll_ns
    cq = queue.cq
    while len(ring) < need:
        if not cq:
            if not core.in_sync():
                yield from core.sync()
            if not cq:
                queue.poll_waiter = ev = env.event()
                t0 = core.t if core.t > env.now else env.now  # spinning starts when its work is done
                ticks0 = core.tick_total
                yield ev
                if t0 >= core.measure_from:  # busy-polling is CPU time (but not the ticks in it)
                    core.busy[L_POLL] += env.now - t0 - (core.tick_total - ticks0)
                core.t = env.now
        core.charge(L_POLL, poll_ns)  # one pass
        while True:
            while not path.drain():
                yield from core.sync()
            if not core.in_sync():  # CQEs posted before the pass's end are its own
                yield from core.sync()
            if not cq:
                break
