"""The completion path: one per-pass routine for interrupt and polled completion.

A pass is ``nvme_poll_cq`` with an ``io_comp_batch`` (6.x): for each CQE
``nvme_handle_cqe`` adds the request to the batch; after the loop the CQ head doorbell
is written once; then ``nvme_pci_complete_batch`` unmaps every request
(``nvme_unmap_data``: DMA unmap, ``dma_pool_free`` of each list block under the pool
lock) and ``blk_mq_end_request_batch`` ends them — each posts its completion
(``FioJob.kernel_complete``: the aio event, or io_uring's task work) — freeing their
tags in groups of ``TAG_COMP_BATCH`` (32), one sbitmap wake-up per group.
:class:`CompletionPath` is that routine, for one queue, with one lock discipline:
before a pool lock, the code lets simulated time catch up with its clock if another
core can take that lock (``catch_up``), so locks are granted in true time order; a lock
only this core takes needs no catching up.

It runs in two contexts:

* :class:`IrqHandler` — ``nvme_irq`` on the queue's core, one invocation per interrupt
  (a callback-driven state machine run straight from the device's CQE event);
* :func:`poll` — ``nvme_poll`` from the polling thread's ``io_uring_enter`` (hipri on a
  poll queue).
"""

from __future__ import annotations

from collections import deque
from typing import Generator

from ..stats.records import IPI_FREE, IRQ_FREE, L_IPI, L_IRQ, L_POLL, PoolLabels
from .cpu import Core
from .driver import Driver
from .engine import Clock, Engine, Event, ReusableEvent, Timeout


TAG_COMP_BATCH = 32  # include/linux/blk-mq.h: tags blk_mq_end_request_batch frees at once


class CompletionPath:
    """One pass's work on one queue's CQ, on one clock, resumable when a lock must wait.

    :meth:`drain` runs a pass over the CQEs posted so far (returns True when done) or
    stops before a pool lock when simulated time must catch up with the clock (returns
    False: call it again once time has reached ``clock.t``)."""

    __slots__ = ("env", "driver", "cq", "queue", "clock", "core", "label", "free_labels", "catch_up", "batch",
                 "phase", "idx", "hidx", "fifo", "loop_end", "late", "remote")

    def __init__(self, driver: Driver, queue, clock: Clock, core: Core, label: int, free_labels: PoolLabels,
                 catch_up: bool, fifo: bool) -> None:
        self.env = driver.env
        self.driver = driver
        self.queue = queue
        self.cq = queue.cq
        self.clock = clock
        self.core = core
        self.label = label  # the context's own work (nvme_irq, or nvme_poll)
        self.free_labels = free_labels  # dma_pool_free under it
        self.catch_up = catch_up
        self.fifo = fifo  # the batch list is FIFO (6.13+); before, requests were added at its head
        self.batch: list = []  # the io_comp_batch of the pass under way
        self.phase = 0  # 0: the CQ loop, 1: unmap and free, 2: end the requests
        self.idx = 0  # the request of the batch being unmapped, and its next list block
        self.hidx = 0
        self.loop_end = -1.0  # when the last pass's CQ loop ended (its CQ doorbell)
        self.late = False  # a CQE was posted after it: the next pass is a new one (Queue.post sets it)
        # submitting CPU -> its RemotePath, for the CPUs whose requests complete there by IPI
        # (rq_affinity; None: every request completes here)
        self.remote: dict[int, RemotePath] | None = None

    def drain(self, doorbell: bool = True) -> bool:
        """One pass: the CQ loop over what has been posted, the CQ doorbell (unless this
        pass continues a loop, see :class:`IrqHandler`), the batch's unmaps and frees,
        the end of each request."""
        driver, clock, env = self.driver, self.clock, self.env
        busy = clock.busy
        label = self.label
        batch = self.batch
        if self.phase == 0:
            cq = self.cq
            if not cq:
                return True
            ns = driver.handle_cqe_ns
            t = clock.t if clock.t > env.now else env.now  # (clock.charge, inlined)
            measure = t >= clock.measure_from
            if self.remote is None:
                while cq:
                    io_u = cq.popleft()
                    c = ns * io_u.m
                    if measure:
                        busy[label] += c
                    t += c
                    batch.append(io_u)
            else:
                t = self._loop_remote(t, measure)
            if doorbell:  # nvme_ring_cq_doorbell, once per pass
                jitter = self.core.jitter
                c = driver.doorbell_ns * (jitter.buf.pop() if jitter.buf else jitter.more())
                if measure:
                    busy[label] += c
                t += c
            clock.t = self.loop_end = t
            if not self.fifo:
                batch.reverse()
            self.phase = 1
            self.idx = 0
            self.hidx = -1
        if self.phase == 1:
            free_labels = self.free_labels
            core = self.core
            while self.idx < len(batch):
                io_u = batch[self.idx]
                handles = io_u.handles
                if self.hidx < 0:  # the request's DMA unmap, then its list blocks
                    t = clock.t if clock.t > env.now else env.now
                    c = io_u.rq.unmap_ns * io_u.m
                    if t >= clock.measure_from:
                        busy[label] += c
                    clock.t = t + c
                    self.hidx = 0
                while self.hidx < len(handles):
                    if self.catch_up and clock.t > env.now and not clock.in_sync():
                        return False  # let time catch up before the lock
                    driver.free_list(clock, core, io_u, handles[self.hidx], free_labels)
                    self.hidx += 1
                handles.clear()
                self.idx += 1
                self.hidx = -1
            self.phase = 2
        # blk_mq_end_request_batch: each request's completion, its tag freed in groups
        queue = self.queue
        n = 0
        for io_u in batch:
            io_u.job.kernel_complete(io_u, clock, label)
            n += 1
            if n == TAG_COMP_BATCH:
                queue.free_tags(n, clock)
                n = 0
        if n:
            queue.free_tags(n, clock)
        batch.clear()
        self.phase = 0
        return True


    def _loop_remote(self, t: float, measure: bool) -> float:
        """The CQ loop of a queue whose submitters include CPUs that complete by IPI:
        ``nvme_handle_cqe`` -> ``nvme_try_complete_req`` -> ``blk_mq_complete_request_remote``
        hands such a request to its submitting CPU (``blk_mq_complete_send_ipi``: onto that
        CPU's ``blk_cpu_done`` list, an IPI when the list was empty) instead of adding it
        to this pass's batch.  Returns the clock after the loop."""
        cq, batch, remote = self.cq, self.batch, self.remote
        ns = self.driver.handle_cqe_ns
        send_ns = self.driver.ipi_send_ns
        busy, label = self.clock.busy, self.label
        while cq:
            io_u = cq.popleft()
            c = ns * io_u.m
            target = remote.get(io_u.job.core.index)
            if target is not None:
                c += send_ns * io_u.m if not target.cq else 0.0
                if measure:
                    busy[label] += c
                t += c
                target.send(io_u, t)
                continue
            if measure:
                busy[label] += c
            t += c
            batch.append(io_u)
        return t


class RemotePath:
    """A CPU's completions sent to it by IPI (``rq_affinity``): the ``blk_cpu_done`` list
    and the pass that runs it, ``blk_done_softirq`` -> ``blk_complete_reqs`` (the IPI's
    handler raises BLOCK_SOFTIRQ, which runs as the interrupt returns: 5.12+, "blk-mq:
    Always complete remote completions requests in softirq").  Each request is completed
    whole before the next -- ``nvme_pci_complete_rq``: its DMA unmap and ``dma_pool_free``
    of its list blocks, then ``blk_mq_end_request`` (one request: its tag freed alone) --
    so, unlike the interrupt's pass, there is no batch.  Before a pool lock the pass lets
    time catch up (the pools are shared: these are other CPUs' queues).  Offers the
    interface :class:`IrqHandler` drives as it drives a queue: ``core``, ``cq`` (here the
    list of requests sent and not yet taken), ``drain``, ``late``, ``loop_end``."""

    __slots__ = ("env", "clock", "core", "label", "free_labels", "cq", "batch", "idx", "hidx", "loop_end",
                 "late", "handler", "latency_ns", "thread_waiting", "unmap_ns")

    def __init__(self, env: Engine, core: Core, clock: Clock, label: int, free_labels: PoolLabels,
                 latency_ns: float, unmap_ns: float) -> None:
        self.env = env
        self.core = core
        self.clock = clock
        self.label = label
        self.free_labels = free_labels
        self.latency_ns = latency_ns  # from the ICR write to the target's interrupt entry
        self.unmap_ns = unmap_ns
        self.cq: list = []  # the llist: requests sent, not yet taken by a pass
        self.batch: list = []  # the pass's requests (llist_del_all at its start)
        self.idx = 0
        self.hidx = -1
        self.loop_end = float("inf")  # (every IPI is an entry of its own)
        self.late = False
        self.handler: IrqHandler | None = None
        self.thread_waiting = False  # (the IrqHandler interface of a queue)

    def send(self, io_u, t: float) -> None:
        """``blk_mq_complete_send_ipi`` at ``t``: the request joins the list; the first
        one on an empty list sends the IPI, which arrives ``latency_ns`` later."""
        first = not self.cq
        self.cq.append(io_u)
        if first:
            env = self.env
            Timeout(env, t + self.latency_ns - env.now).callbacks.append(self._arrive)

    def _arrive(self, _ev: Event) -> None:
        self.handler.interrupt()

    def arm_thread_wake(self) -> None:  # (no thread waits on this list's clock)
        return

    def drain(self, _entry: bool = True) -> bool:
        """The softirq's pass over the list as it was when the pass began; False when it
        stops before a pool lock for time to catch up."""
        clock, env = self.clock, self.env
        busy = clock.busy
        label = self.label
        if not self.batch:
            if not self.cq:
                return True
            self.batch, self.cq = self.cq, []
            self.idx, self.hidx = 0, -1
        batch = self.batch
        core = self.core
        while self.idx < len(batch):
            io_u = batch[self.idx]
            job = io_u.job
            handles = io_u.handles
            if self.hidx < 0:  # nvme_pci_unmap_rq: the DMA unmap, then the list blocks
                t = clock.t if clock.t > env.now else env.now
                c = self.unmap_ns * io_u.m
                if t >= clock.measure_from:
                    busy[label] += c
                clock.t = t + c
                self.hidx = 0
            driver = job.drivers[io_u.file]
            while self.hidx < len(handles):
                if clock.t > env.now and not clock.in_sync():
                    return False  # let time catch up before the lock
                driver.free_list(clock, core, io_u, handles[self.hidx], self.free_labels)
                self.hidx += 1
            handles.clear()
            job.kernel_complete(io_u, clock, label)  # blk_mq_end_request: its completion, its tag
            job.queues[io_u.file].free_tags(1, clock)
            self.idx += 1
            self.hidx = -1
        self.batch = []
        return True


class IrqHandler:
    """The MSI-X handler of one queue (nvme_irq): one pass per invocation, on the
    queue's core.

    A callback-driven state machine rather than a SimPy process: an interrupt runs it
    straight from the device's CQE event, and it only schedules an event of its own
    when it must wait (interrupts off on the core, or its clock ahead of other activity
    before a shared pool lock).  A CQE posted while an invocation runs is served after
    it: if it was posted before the invocation's CQ loop ended, the loop would have
    picked it up (a continuation: no new entry, no second CQ doorbell); if after,
    the MSI-X it raised is taken when the handler returns (``path.late``: a new entry).
    """

    __slots__ = ("env", "driver", "queue", "core", "clock", "path", "active", "busy_until", "entry", "entry_label",
                 "wake", "_start", "_drain_on")

    def __init__(self, driver: Driver, queue, lock_shared: bool, fifo: bool, path=None) -> None:
        self.env = driver.env
        self.driver = driver
        self.queue = queue
        self.core = queue.core
        self.entry_label = L_IRQ
        if path is not None:  # another source of the same interrupt discipline (IpiHandler)
            self.clock = path.clock
            self.path = path
        else:
            self.clock = queue.core.handler_clock()
            # Whether another core can take this core's pool locks.  If not, the handler
            # need not let time catch up before a lock: its own thread is preempted, and
            # nothing else scheduled before the handler's clock (device stages, CQE posts
            # that this invocation serves after the current one) touches the pools.
            self.path = CompletionPath(driver, queue, self.clock, self.core, L_IRQ, IRQ_FREE, catch_up=lock_shared,
                                       fifo=fifo)
        self.active = False
        self.busy_until = 0.0  # the last invocation runs until then
        self.entry = True  # the invocation under way entered the handler (it is not a continuation)
        # the one event an invocation waits on (its start, or its pass before a lock: one
        # at a time, as ``active`` says), with the callbacks of each (shared, never mutated)
        self.wake = ReusableEvent(self.env)
        self._start = [self.start]
        self._drain_on = [self._drain]

    def interrupt(self) -> None:
        """An MSI-X for this queue arrives now (the coalescing timer's)."""
        self.path.late = True
        if not self.active:
            self.active = True
            self.start()

    def start(self, _ev: Event | None = None) -> None:
        """Begin an invocation (``active`` is set): now, or when the core can take it."""
        env, core = self.env, self.core
        now = env.now
        # interrupts may be off on this core (a pool lock taken with irqsave), and a
        # running invocation finishes first: both delay the start
        start = core.irq_off_until if core.irq_off_until > now else now
        busy_until = self.busy_until
        if busy_until > start:
            start = busy_until
        if core.irq_end > start:  # another vector's invocation on this core returns then
            start = core.irq_end
        if start > now and not env.quiet_until(start):  # something happens first: start then
            env.push_in(start - now, self.wake, self._start)
            return
        if core.in_irq:  # another vector's handler runs on this core: this one follows it
            core.irq_waiting.append(self.start)
            return
        clock = self.clock
        core.irq_enter(start)
        path = self.path
        self.entry = entry = path.late or start > busy_until
        path.late = False
        if entry:
            jitter = core.jitter
            ns = self.driver.irq_entry_ns * (jitter.buf.pop() if jitter.buf else jitter.more())  # (clock.charge)
            if start >= clock.measure_from:
                clock.busy[self.entry_label] += ns
            start += ns
        clock.t = start
        self._drain()

    def _drain(self, _ev: Event | None = None) -> None:
        if not self.path.drain(self.entry):
            env = self.env
            env.push_in(self.clock.t - env.now, self.wake, self._drain_on)
            return
        # The invocation ends at its own clock; nothing needs to wait for that instant.
        env, clock = self.env, self.clock
        end = clock.t if clock.t > env.now else env.now
        core = self.core
        core.irq_exit(end)
        self.busy_until = end
        self.active = False
        if core.irq_waiting:  # another vector's interrupt came meanwhile: it is taken now
            waiting, core.irq_waiting = core.irq_waiting, []
            for start in waiting:
                start()
        queue = self.queue
        if queue.thread_waiting:  # its clock moved: maybe nothing can come first now
            queue.arm_thread_wake()
        if clock.to_wake:  # the woken threads run from the handler's end on
            woken, clock.to_wake = clock.to_wake, []
            for runner in woken:
                runner.resume()
        if queue.cq and not self.active:  # posted while a pass that waited for a lock ran
            self.active = True
            self.start()


class IpiHandler(IrqHandler):
    """The IPI on a submitting CPU that completes its requests (``rq_affinity``): the
    same interrupt discipline as :class:`IrqHandler` (it waits while interrupts are off
    or another handler runs on the core, and runs its pass to the end), its entry the
    IPI's, its pass a :class:`RemotePath`'s."""

    __slots__ = ()

    def __init__(self, driver: Driver, core: Core, latency_ns: float) -> None:
        clock = core.handler_clock()
        path = RemotePath(driver.env, core, clock, L_IPI, IPI_FREE, latency_ns, driver.unmap_ns)
        super().__init__(driver, path, lock_shared=True, fifo=True, path=path)
        self.entry_label = L_IPI
        path.handler = self


def poll(path: CompletionPath, core: Core, queue, ring: deque, need: int) -> Generator[Event, None, None]:
    """hipri: spin in io_uring_enter until ``ring`` holds ``need`` completions, completing
    the poll queue's CQEs in thread context; spinning is CPU time.

    Each pass (nvme_poll -> nvme_poll_cq) loops while the CQ has entries, so a CQE
    posted before its loop ends is completed by it (no second doorbell); one posted
    after is left for the next nvme_poll, as the interrupt path leaves it for the
    next interrupt."""
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
        path.late = False
        doorbell = True
        while True:
            while not path.drain(doorbell):
                yield from core.sync()
            if not core.in_sync():  # were CQEs posted before the loop ended?
                yield from core.sync()
            if not cq or path.late:
                break
            doorbell = False  # they were: the same pass's loop takes them
