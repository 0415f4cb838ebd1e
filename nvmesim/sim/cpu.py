"""CPU cores, the perf-style profile, and the device-wide pool spinlocks.

A core runs one fio thread and the NVMe interrupt handler of its queue.  Code
charges CPU time with :meth:`Core.charge`, which only advances the code's own
clock; before it touches shared state (a lock, the device, the completion
ring) it must be *in sync*: either nothing is scheduled before its clock
(``in_sync()``: it may act at its clock's instant at once), or it yields
:meth:`Core.sync` and lets simulated time catch up.  Nothing else can observe
the code between those points, so its work need not be split into SimPy
events: a few events per I/O instead of dozens.

An interrupt takes the core from the thread: the handler starts at once unless
interrupts are disabled (a spinlock taken with irqsave), in which case it
starts when they are re-enabled; the thread's remaining work resumes after the
handler.  Interrupts arriving while the handler runs are served by that same
invocation (the handler drains the completion queue).
"""

from __future__ import annotations

from typing import Generator

import simpy
from simpy.events import Timeout  # direct: env.timeout() adds a bound-method hop per call

#: Profile labels, in report order (kernel-function names as perf would show them).
LABELS = (
    "fio",
    "io_uring_enter",
    "io_submit",
    "io_getevents",
    "nvme_queue_rq",
    "dma_pool_alloc",
    "dma_pool_free",
    "spin_lock",
    "nvme_irq",
    "nvme_poll",
)
L_FIO, L_URING, L_SUBMIT, L_GETEVENTS, L_QUEUE_RQ, L_ALLOC, L_FREE, L_SPIN, L_IRQ, L_POLL = range(len(LABELS))


#: Yielded by a thread that blocks until someone calls its runner's ``resume()``.
SLEEP = object()


class ThreadRunner:
    """Drives a thread's generator on SimPy events, like ``simpy.Process`` but lean.

    A thread yields a SimPy event to continue when it fires, or :data:`SLEEP` to
    block until the code that wakes it calls :meth:`resume` (the completion path,
    at the end of the interrupt handler that posted enough completions): the
    thread then continues at that same instant without an event of its own.
    """

    __slots__ = ("gen", "finished")

    def __init__(self, env: simpy.Environment, gen: Generator) -> None:
        self.gen = gen
        self.finished = False
        Timeout(env, 0).callbacks.append(self.resume)  # start at time 0

    def resume(self, _ev: object = None) -> None:
        try:
            ev = self.gen.send(None)
        except StopIteration:
            self.finished = True
            return
        if ev is not SLEEP:
            ev.callbacks.append(self.resume)


class Clock:
    """The clock of code running on one CPU: it runs ahead of ``env.now`` by the
    CPU work charged to it, and books that work under a profile label."""

    __slots__ = ("env", "t", "busy", "measure_from")

    def local_now(self) -> float:
        """When the work charged so far is done."""
        now = self.env._now
        return self.t if self.t > now else now

    def charge(self, label: int, ns: float) -> None:
        """Add ``ns`` of CPU work under ``label`` (counted if it starts in the window)."""
        now = self.env._now
        base = self.t if self.t > now else now
        if base >= self.measure_from:
            self.busy[label] += ns
        self.t = base + ns


class Core(Clock):
    """One CPU: a thread timeline, an interrupt handler, and per-label CPU time.

    ``t`` is the thread's own clock (absolute ns): the instant its charged work
    ends.  It runs ahead of ``env.now`` between syncs; an interrupt that starts
    before ``t`` pushes it back by the handler's duration.
    """

    __slots__ = (
        "index",
        "node",
        "thread_running",
        "in_irq",
        "irq_off_until",
        "_irq_done",
        "_preempt_rem",
        "irq_end",
    )

    def __init__(self, env: simpy.Environment, index: int, node: int, measure_from: float) -> None:
        self.env = env
        self.index = index
        self.node = node
        self.t = 0.0
        self.thread_running = False
        self.in_irq = False
        self.irq_off_until = 0.0  # the thread holds/spins on an irqsave lock until then
        self._irq_done: simpy.Event | None = None
        self._preempt_rem: float | None = None
        self.irq_end = 0.0  # when the last handler invocation returned
        self.busy = [0.0] * len(LABELS)  # ns per label inside the measurement window
        self.measure_from = measure_from

    # ---- thread side -----------------------------------------------------
    def in_sync(self) -> bool:
        """True if nothing can happen before the thread's clock: it may act at
        ``local_now()`` without letting simulated time pass (saves an event)."""
        q = self.env._queue  # env.peek(), inlined: this runs several times per I/O
        return not self.in_irq and (not q or q[0][0] > self.t)

    def sync(self) -> Generator[simpy.Event, None, None]:
        """Let the thread's charged work elapse, stretched by interrupts that preempt it."""
        env = self.env
        self.thread_running = True
        while True:
            if self.in_irq:
                if self._irq_done is None:
                    self._irq_done = env.event()
                yield self._irq_done
                continue
            if env._now < self.t:
                yield Timeout(env, self.t - env._now)
                continue
            return

    def sleep(self) -> None:
        """The thread blocks (waits for completions): the core is free for interrupts."""
        self.thread_running = False

    def wake(self) -> Generator[simpy.Event, None, None]:
        """The thread was woken: it runs once the handler that woke it has returned."""
        env = self.env
        while self.in_irq:
            if self._irq_done is None:
                self._irq_done = env.event()
            yield self._irq_done
        self.woken()

    def woken(self) -> None:
        """The thread runs again (no handler in progress): from now, or from the end
        of the handler invocation that woke it if that lies ahead."""
        self.thread_running = True
        now = self.env._now
        t = now if now > self.irq_end else self.irq_end
        if self.t < t:
            self.t = t

    # ---- interrupt side --------------------------------------------------
    def irq_enter(self, at: float) -> None:
        """The handler starts at ``at`` (interrupts enabled, nothing scheduled before)."""
        self.in_irq = True
        if self.thread_running and self.t > at:
            self._preempt_rem = self.t - at
        else:
            self._preempt_rem = None

    def irq_exit(self, at: float) -> None:
        self.in_irq = False
        self.irq_end = at
        if self._preempt_rem is not None:
            self.t = at + self._preempt_rem
            self._preempt_rem = None
        ev = self._irq_done
        if ev is not None:
            # the waiting thread runs again when both the handler and its own stretched
            # work are done: fire then, rather than now plus a second timeout
            self._irq_done = None
            env = self.env
            wake_at = self.t if self.thread_running and self.t > at else at
            ev._ok = True
            ev._value = None
            env.schedule(ev, delay=wake_at - env._now if wake_at > env._now else 0.0)


class HandlerClock(Clock):
    """The clock of interrupt-handler code on a core: it books into the core's
    profile, and a handler is never preempted."""

    __slots__ = ("core", "to_wake")

    def __init__(self, core: Core) -> None:
        self.core = core
        self.env = core.env
        self.t = 0.0
        self.busy = core.busy
        self.measure_from = core.measure_from
        self.to_wake: list = []  # threads to resume when this invocation returns

    def wake_after(self, job) -> None:
        """Wake ``job``'s thread once the handler invocation returns (try_to_wake_up)."""
        self.to_wake.append(job)

    def in_sync(self) -> bool:
        q = self.env._queue
        return not q or q[0][0] > self.t

    def sync(self) -> Generator[simpy.Event, None, None]:
        if self.t > self.env._now:
            yield self.env.timeout(self.t - self.env._now)


class SpinLock:
    """A queued spinlock taken with interrupts off (``spin_lock_irqsave``).

    Acquisitions are served first come, first served (qspinlock is FIFO).  A
    core asks at the current simulated time; because hold times are known when
    the lock is granted (interrupts are off, nothing can stretch them), the
    grant time is ``max(now, free_at)`` and no waiting process is needed.  A
    grant to a different core than the last holder pays the cache-line
    hand-off.
    """

    __slots__ = ("free_at", "last_core", "last_node", "handoff_ns", "remote_ns", "acquisitions", "contended")

    def __init__(self, handoff_ns: float, remote_ns: float) -> None:
        self.free_at = 0.0
        self.last_core = -1
        self.last_node = -1
        self.handoff_ns = handoff_ns
        self.remote_ns = remote_ns
        self.acquisitions = 0
        self.contended = 0

    def take(self, now: float, core: Core, hold_ns: float) -> float:
        """Core ``core`` asks at ``now`` and holds the lock ``hold_ns`` once granted.

        Returns the time it waits first: spinning while another holder finishes,
        plus the lock line's hand-off when the last holder was another CPU.
        """
        wait = self.free_at - now if self.free_at > now else 0.0
        if wait:
            self.contended += 1
        last = self.last_core
        if last != core.index:
            if last >= 0:
                wait += self.handoff_ns if self.last_node == core.node else self.remote_ns
            self.last_core = core.index
            self.last_node = core.node
        self.acquisitions += 1
        self.free_at = now + wait + hold_ns
        return wait
