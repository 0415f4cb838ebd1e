"""One NVMe I/O queue pair: its blk-mq tags, its completion queue, and its interrupt
(with coalescing) or poller.

The device posts CQEs here (:meth:`Queue.post`); an interrupt queue starts its
:class:`~nvmesim.sim.completion.IrqHandler` (connected by the model's builder), a polled
queue wakes a thread waiting in :func:`~nvmesim.sim.completion.poll`.

For a thread that nothing but this queue's interrupts can preempt, the queue also keeps
lower bounds of its next CQE, so the thread can wait for its own clock with one exactly
armed wake (:meth:`Queue.await_thread_clock`).  A device change must keep the rule
**every entry of** ``service_bounds`` **is a lower bound of the post time of the read it
stands for**: a bound above it would let the thread's clock pass an interrupt that
preempts it.  ``Device`` asserts the rule for every read it posts.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop

from .cpu import Core
from .engine import Engine, Event, ReusableEvent, Timeout, ThreadRunner


class Queue:
    """One NVMe I/O queue pair, its completion queue and its interrupt (or poller)."""

    __slots__ = ("env", "core", "cq", "polled", "handler", "coalesce_n", "coalesce_ns", "pending",
                 "timer_armed", "poll_waiter", "tags", "inflight", "wake_batch", "on_cqe", "service_bounds",
                 "post_times", "thread", "thread_waiting", "wake_armed", "tag_waiters", "path", "round", "sq_lock",
                 "_wake", "_wake_on")

    def __init__(self, env: Engine, core: Core, polled: bool, coalesce_n: int, coalesce_ns: float,
                 tags: int = 1 << 30, rounds: bool = False) -> None:
        self.env = env
        self.tags = tags  # blk-mq tags: requests the queue can hold (queue depth - 1)
        self.inflight = 0  # requests holding a tag, from nvme_queue_rq to the end of completion
        # sbitmap wakes a tag waiter once this many tags are free again
        # (lib/sbitmap.c: clamp(depth / SBQ_WAIT_QUEUES, 1, SBQ_WAKE_BATCH), both 8)
        self.wake_batch = max(1, min(tags // 8, 8))
        # the threads asleep in blk_mq_get_tag (more than one on a queue several CPUs share)
        self.tag_waiters: list[ThreadRunner] = []
        # a queue several CPUs submit to: the SpinLock its SQE copies and doorbell are under
        self.sq_lock = None
        self.core = core
        self.cq: deque = deque()
        self.polled = polled
        self.handler = None  # the IrqHandler of an interrupt queue (see connect)
        self.path = None  # the CompletionPath serving the CQ (see connect)
        self.coalesce_n = coalesce_n
        self.coalesce_ns = coalesce_ns
        self.pending = 0  # CQEs since the last interrupt (coalescing)
        self.timer_armed = False
        self.poll_waiter: Event | None = None
        # what the device's CQE event runs (shared, never mutated): the post, or with a
        # device that completes in rounds, the command's place in the round
        self.on_cqe = [self.round_done if rounds else self.post]
        self.round: list = []  # done commands whose CQEs wait for the round's end
        # When this queue's next CQE can come at the earliest (kept by the device):
        # a heap of lower bounds for the reads it is serving (media time, then the
        # pipes at full speed), and a heap of the exact post times it has scheduled.
        # A job has one block size, so the smallest bound is always that of the
        # read served next, and posts come in time order: each pop is exact.
        self.service_bounds: list[float] = []
        self.post_times: list[float] = []
        self.thread: ThreadRunner | None = None  # the job thread on this queue's core (see connect)
        self.thread_waiting = False  # it waits for its clock (see await_thread_clock)
        self.wake_armed = False
        self._wake = ReusableEvent(env)  # the thread's armed wake (one at a time: wake_armed)
        self._wake_on = [self._wake_thread]  # (its callbacks: shared, never mutated)

    def connect(self, path, handler, thread: ThreadRunner | None) -> None:
        """The builder's wiring: the completion path that serves this queue's CQ, the
        interrupt handler this queue raises (None for a polled queue) and the thread of
        the job on its core."""
        self.path = path
        self.handler = handler
        self.thread = thread

    def round_done(self, io_u) -> None:
        """A device that completes in rounds (``device.completes: round``) is done with a
        command: its CQE waits until the queue holds no command in the device, then the
        round's CQEs are posted together (one interrupt: the handler drains them all)."""
        heappop(self.post_times)
        batch = self.round
        batch.append(io_u)
        if not self.service_bounds and not self.post_times:
            self.round = []
            # all of the round's entries are in the CQ before its one interrupt
            self.cq.extend(batch[:-1])
            if self.coalesce_n:
                self.pending += len(batch) - 1
            self.land(io_u)
        elif self.thread_waiting:  # no interrupt came at this bound: the wake may be armed now
            self.arm_thread_wake()

    def post(self, io_u) -> None:
        """The device posts a CQE (called at the posting instant)."""
        heappop(self.post_times)
        self.land(io_u)

    def land(self, io_u) -> None:
        """A CQE lands in the completion queue: raise the interrupt (coalescing) or wake
        the poller."""
        self.cq.append(io_u)
        path = self.path
        if self.env.now > path.loop_end:  # after the last pass's CQ loop: a new pass (a new MSI-X)
            path.late = True
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
                    Timeout(self.env, self.coalesce_ns).callbacks.append(self._timer)
                return
            self.pending = 0
        h = self.handler
        if not h.active:
            h.active = True
            h.start()

    def free_tags(self, n: int, clock) -> None:
        """``n`` requests' tags are free again (``blk_mq_put_tags`` for a group of
        ``blk_mq_end_request_batch``): a thread asleep for a tag is woken once sbitmap's
        wake batch is free, when the freeing invocation returns (every sleeper looks again:
        each re-checks)."""
        self.inflight -= n
        waiters = self.tag_waiters
        if waiters and self.tags - self.inflight >= self.wake_batch:
            for waiter in waiters:
                clock.wake_after(waiter)
            waiters.clear()

    def no_irq_before(self, t: float) -> bool:
        """No interrupt can start on this queue's core before ``t``: no CQE can land
        by then, no handler invocation is pending, and no timer tick is due."""
        a, b = self.service_bounds, self.post_times
        return not ((a and a[0] <= t) or (b and b[0] <= t) or self.handler.active or self.core.next_tick <= t)

    def await_thread_clock(self) -> None:
        """The core's thread yields :data:`~nvmesim.sim.engine.SLEEP` until simulated time
        reaches its clock, stretched by the interrupts that come first.

        Only for a thread that nothing but this queue's handler can preempt (see
        ``FioJob.lone``).  Its wake is scheduled once no CQE can land before its
        clock, so it fires exactly once, at the right instant; until then every event
        that could move the answer (a read leaving the media, the end of a handler
        invocation) calls :meth:`arm_thread_wake` again.  A plain timeout would go
        stale at every interrupt and be re-armed each time.
        """
        self.thread_waiting = True
        self.arm_thread_wake()

    def arm_thread_wake(self) -> None:
        """Schedule the waiting thread's wake at its clock, unless an interrupt may come
        first (then its end, or the read's service, calls this again)."""
        if self.wake_armed:
            return
        t = self.core.t
        a, b = self.service_bounds, self.post_times  # (no_irq_before, inlined: every handler end)
        if (a and a[0] <= t) or (b and b[0] <= t) or self.handler.active or self.core.next_tick <= t:
            return
        self.wake_armed = True
        env = self.env
        env.push_in(t - env.now, self._wake, self._wake_on)

    def _wake_thread(self, _ev) -> None:
        self.wake_armed = False
        self.thread_waiting = False
        self.thread.resume()

    def _timer(self, _ev) -> None:
        self.timer_armed = False
        if self.pending:
            self.pending = 0
            self.handler.interrupt()
