"""CPU cores, interrupt-handler clocks, and the device-wide pool spinlocks.

A core runs one fio thread and the NVMe interrupt handler of its queue.  Code
charges CPU time with :meth:`~nvmesim.sim.engine.Clock.charge`, which only advances
the code's own clock; before it touches shared state (a lock, the device, the
completion ring) it must be *in sync*: either nothing is scheduled before its clock
(``in_sync()``: it may act at its clock's instant at once), or it yields
:meth:`Core.sync` and lets simulated time catch up.  Nothing else can observe
the code between those points, so its work need not be split into SimPy
events: a few events per I/O instead of dozens.  The profile labels it charges
under are :data:`nvmesim.stats.records.PROFILE_LABELS`.

An interrupt takes the core from the thread: the handler starts at once unless
interrupts are disabled (a spinlock taken with irqsave), in which case it
starts when they are re-enabled; the thread's remaining work resumes after the
handler.  Interrupts arriving while the handler runs are served by that same
invocation (the handler drains the completion queue).
"""

from __future__ import annotations

from typing import Generator

from ..stats.records import PROFILE_LABELS
from .engine import Clock, Engine, Event
from .noise import Multipliers


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
        "irq_off_until",
        "_irq_done",
        "_preempt_rem",
        "irq_end",
        "handler_clocks",
        "scale",
        "jitter",
        "next_tick",
        "tick_total",
        "retired",
        "idle_irq",
        "_idle_since",
        "irq_waiting",
    )

    def __init__(self, env: Engine, index: int, node: int, measure_from: float = 0.0,
                 jitter: Multipliers | None = None) -> None:
        self.env = env
        self.index = index
        self.node = node
        self.t = 0.0
        self.thread_running = False
        self.in_irq = False
        self.irq_off_until = 0.0  # the thread holds/spins on an irqsave lock until then
        self._irq_done: Event | None = None
        self._preempt_rem: float | None = None
        self.irq_end = 0.0  # when the last handler invocation returned
        self.busy = [0.0] * len(PROFILE_LABELS)  # ns per profile label inside the measurement window
        self.measure_from = measure_from  # CPU work starting before this is not booked
        self.handler_clocks: list[HandlerClock] = []
        # host noise (sim/noise.py): the speed factor on every CPU cost, the per-step
        # multipliers (buffer: jitter.buf), the next timer tick, ticks' time so far
        self.jitter = jitter or Multipliers(None, 0.0, 1.0)
        self.scale = self.jitter.scale
        self.next_tick = float("inf")
        self.tick_total = 0.0
        self.retired = False  # the thread has finished: no more ticks
        # handler time while the thread was off the CPU (asleep): the kernel charges it to
        # the idle task, so it is not in the thread's rusage (fio's usr/sys)
        self.idle_irq = 0.0
        self._idle_since = -1.0
        # handlers of the core's other vectors raised while one runs: hard interrupts do
        # not nest, so each starts when the running one returns
        self.irq_waiting: list = []

    def charge(self, label: int, ns: float) -> None:
        """Add ``ns`` of CPU work, times the next per-step multiplier, under ``label``."""
        buf = self.jitter.buf
        ns *= buf.pop() if buf else self.jitter.more()
        now = self.env.now
        base = self.t if self.t > now else now
        if base >= self.measure_from:
            self.busy[label] += ns
        self.t = base + ns

    #: Add an I/O's own step of CPU work: the caller has applied that I/O's multiplier
    #: (``io_u.m``), so no per-step one is drawn.
    charge_io = Clock.charge

    def retire(self) -> None:
        """The thread has ended: the core idles from now on."""
        self.thread_running = False
        self.retired = True

    def handler_clock(self) -> "HandlerClock":
        """A clock for interrupt-handler code on this core (booking into its profile)."""
        clock = HandlerClock(self)
        self.handler_clocks.append(clock)
        return clock

    def open_window(self, t: float) -> None:
        """Book CPU work from ``t`` on, and nothing before: the job's stats were reset
        there (fio's ``clear_rusage_stat`` at the end of the ramp)."""
        self.busy[:] = [0.0] * len(self.busy)
        self.idle_irq = 0.0
        self.measure_from = t
        for clock in self.handler_clocks:
            clock.measure_from = t

    # ---- thread side -----------------------------------------------------
    def sync(self) -> Generator[Event, None, None]:
        """Let the thread's charged work elapse, stretched by interrupts that preempt it."""
        env = self.env
        self.thread_running = True
        while True:
            if self.in_irq:
                if self._irq_done is None:
                    self._irq_done = env.event()
                yield self._irq_done
                continue
            if env.now < self.t:
                yield self.t - env.now  # (a Timeout of that delay: see ThreadRunner)
                continue
            return

    def sleep(self) -> None:
        """The thread blocks (waits for completions): the core is free for interrupts."""
        self.thread_running = False

    def wake(self) -> Generator[Event, None, None]:
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
        now = self.env.now
        t = now if now > self.irq_end else self.irq_end
        if self.t < t:
            self.t = t

    # ---- interrupt side --------------------------------------------------
    def irq_enter(self, at: float) -> None:
        """The handler starts at ``at`` (interrupts enabled, nothing scheduled before)."""
        self.in_irq = True
        if self.thread_running:
            self._preempt_rem = self.t - at if self.t > at else None
        else:
            self._preempt_rem = None
            if at >= self.measure_from:
                self._idle_since = at

    def irq_exit(self, at: float) -> None:
        self.in_irq = False
        if self._idle_since >= 0.0:
            self.idle_irq += at - self._idle_since
            self._idle_since = -1.0
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
            env.fire(ev, wake_at - env.now if wake_at > env.now else 0.0)


class HandlerClock(Clock):
    """The clock of interrupt-handler code on a core: it books into the core's
    profile, and a handler is never preempted.  Made by :meth:`Core.handler_clock`."""

    __slots__ = ("core", "to_wake")

    def __init__(self, core: Core) -> None:
        self.core = core
        self.env = core.env
        self.t = 0.0
        self.busy = core.busy
        self.measure_from = core.measure_from
        self.in_irq = False
        self.to_wake: list = []  # thread runners to resume when this invocation returns

    def wake_after(self, runner) -> None:
        """Wake a thread once the handler invocation returns (try_to_wake_up)."""
        self.to_wake.append(runner)


class SpinLock:
    """A queued spinlock taken with interrupts off (``spin_lock_irqsave``).

    Acquisitions are served first come, first served (qspinlock is FIFO).  A
    core asks at the current simulated time; because hold times are known when
    the lock is granted (interrupts are off, nothing can stretch them), the
    grant time is ``max(now, free_at)`` and no waiting process is needed.  A
    grant to a different core than the last holder pays the cache-line
    hand-off.
    """

    __slots__ = ("free_at", "last_core", "last_node", "handoff_ns", "remote_ns", "acquisitions", "contended",
                 "last_spin", "last_handoff", "spin_total", "handoff_total")

    def __init__(self, handoff_ns: float, remote_ns: float) -> None:
        self.free_at = 0.0
        self.last_core = -1
        self.last_node = -1
        self.handoff_ns = handoff_ns
        self.remote_ns = remote_ns
        self.acquisitions = 0
        self.contended = 0
        self.last_spin = 0.0  # of the last take: waiting for another holder (the slowpath)
        self.last_handoff = 0.0  # and pulling the lock's line from the last holder's CPU
        self.spin_total = 0.0  # over all takes (the whole run, ramp included)
        self.handoff_total = 0.0

    def take(self, now: float, core: Core, hold_ns: float) -> float:
        """Core ``core`` asks at ``now`` and holds the lock ``hold_ns`` once granted.

        Returns the time it waits first: spinning while another holder finishes
        (``last_spin``), plus the lock line's hand-off when the last holder was another
        CPU (``last_handoff``).
        """
        spin = self.free_at - now if self.free_at > now else 0.0
        if spin:
            self.contended += 1
        handoff = 0.0
        last = self.last_core
        if last != core.index:
            if last >= 0:
                handoff = self.handoff_ns if self.last_node == core.node else self.remote_ns
            self.last_core = core.index
            self.last_node = core.node
        self.acquisitions += 1
        self.last_spin = spin
        self.last_handoff = handoff
        self.spin_total += spin
        self.handoff_total += handoff
        wait = spin + handoff
        self.free_at = now + wait + hold_ns
        return wait
