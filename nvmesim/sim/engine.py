"""The simulation kernel: the one module that imports SimPy and knows its internals.

SimPy's public API is too slow for a per-I/O hot path in three places, so this module
uses three of its internals, each behind a name of its own, and nothing else in nvmesim
touches SimPy (``tests/test_engine.py`` fails if SimPy's layout changes; ``simpy`` is
pinned to major version 4 in ``pyproject.toml``):

* the clock: SimPy's ``Environment.now`` is a property; :class:`Engine` keeps the time
  in a plain attribute ``now`` instead (its ``schedule``, ``step`` and ``run`` are
  SimPy 4's, reading and writing that attribute; ``run`` processes events without a
  ``step()`` call each), so the model reads the time at attribute speed;
* the event heap: :meth:`Engine.push` schedules an event at an *absolute* time (SimPy's
  ``schedule`` takes a delay, and ``now + (t - now)`` need not equal ``t``), and
  :meth:`Clock.in_sync` peeks the earliest entry;
* events reused many times: :class:`ReusableEvent` is triggered once and rescheduled
  for ever (SimPy's ``step`` reads only ``callbacks``, ``_ok`` and ``_value`` of a
  triggered event), at an absolute time (:meth:`Engine.push`) or after a delay as a
  ``Timeout`` would be (:meth:`Engine.push_in`); :meth:`Engine.fire` triggers a plain
  event after a delay.

On top of that, two concepts every part of the model uses:

* :class:`Clock` — the clock of code running on one CPU: it runs ahead of simulated
  time by the CPU work charged to it and books that work under a profile label; the
  code yields to SimPy only when it must meet shared state at the right instant;
* :class:`ThreadRunner` — drives a thread's generator on events, like ``simpy.Process``
  but lean; a thread may also yield a delay (a ``float``: a ``Timeout`` without the
  object), or block on :data:`SLEEP` until the code that wakes it calls
  :meth:`ThreadRunner.resume`.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count
from typing import Callable, Generator

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, Timeout

__all__ = ["Clock", "Engine", "Event", "ReusableEvent", "SLEEP", "ThreadRunner", "Timeout"]


class Engine(simpy.Environment):
    """SimPy's Environment with the time in a plain attribute and absolute-time pushes."""

    now = 0  # shadows SimPy's read-only property: a plain instance attribute from here on

    def __init__(self) -> None:
        super().__init__()
        self.now = self._now

    def schedule(self, event: Event, priority: int = NORMAL, delay: float = 0) -> None:
        """SimPy 4's ``Environment.schedule``, on the plain ``now``."""
        heappush(self._queue, (self.now + delay, priority, next(self._eid), event))

    def step(self) -> None:
        """SimPy 4's ``Environment.step``: process the next event."""
        self._process(1)

    def run(self, until: float | Event | None = None) -> object:
        """SimPy 4's ``Environment.run``, its loop calling no ``step()`` per event (the
        model runs millions of events: a call each is a measurable share of the time)."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        try:
            self._process(-1)
        except StopSimulation as exc:
            return exc.args[0]
        except EmptySchedule:
            if until is not None:
                assert not until.triggered
                raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}') from None
        return None

    def run_reporting(self, horizon: float, report: Callable[[float], None], chunks: int = 50) -> None:
        """``run()`` to the end, calling ``report(fraction)`` as simulated time passes
        ``horizon * k / chunks`` (``fraction = k / chunks``, k = 1 .. chunks - 1).

        Unlike ``run(until=t)``, which pushes a stop event onto the heap (one more event
        number, an URGENT event at ``t`` that ``Clock.in_sync`` and ``quiet_until`` would
        see, and a leftover it reschedules), this only stops popping before the first
        event at or after ``t``: the heap holds exactly what ``run()`` would, so the
        events, their order, ``now`` and ``events_scheduled`` are the same as ``run()``'s.
        ``report`` must not touch the simulation."""
        queue = self._queue
        if horizon > 0:
            for k in range(1, chunks):
                t = horizon * k / chunks
                while queue and queue[0][0] < t:
                    self._process(1)
                if not queue:
                    break  # finished early (a size-bound job): nothing left to report
                report(k / chunks)
        self.run()

    def _process(self, count: int) -> None:
        """Process ``count`` events (-1: until StopSimulation or EmptySchedule): SimPy 4's
        ``step`` body, setting the plain ``now``."""
        queue = self._queue
        while count:
            count -= 1
            try:
                self.now, _, _, event = heappop(queue)
            except IndexError:
                raise EmptySchedule from None
            callbacks, event.callbacks = event.callbacks, None
            try:
                for callback in callbacks:
                    callback(event)
            except StopSimulation:
                event.callbacks = callbacks[callbacks.index(callback) + 1:]
                self.schedule(event, URGENT - 1)
                raise
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc

    def push(self, t: float, event: Event) -> None:
        """Schedule a triggered ``event`` (its ``callbacks`` set) at absolute time ``t``."""
        heappush(self._queue, (t, NORMAL, next(self._eid), event))

    def push_in(self, delay: float, event: Event, callbacks: list) -> None:
        """Schedule ``event`` with ``callbacks`` after ``delay``, exactly as
        ``Timeout(env, delay)`` would be (at ``now + delay``, NORMAL, the next event
        number): for a :class:`ReusableEvent`, the wait costs no event object."""
        event.callbacks = callbacks
        heappush(self._queue, (self.now + delay, NORMAL, next(self._eid), event))

    def fire(self, event: Event, delay: float) -> None:
        """Trigger a pending ``event`` successfully, its callbacks to run after ``delay``."""
        event._ok = True
        event._value = None
        self.schedule(event, NORMAL, delay)

    def quiet_until(self, t: float) -> bool:
        """True if nothing is scheduled at or before ``t``."""
        q = self._queue
        return not q or q[0][0] > t

    @property
    def events_scheduled(self) -> int:
        """How many events have been scheduled so far (SimPy numbers each one)."""
        n = next(self._eid)
        self._eid = count(n)  # put the number back
        return n


class ReusableEvent(Event):
    """An event that is triggered once and rescheduled for ever (with :meth:`Engine.push`),
    e.g. an io_u that is its command's next device stage: no event object per stage."""

    __slots__ = ()

    def __init__(self, env: Engine) -> None:
        self.env = env
        self.callbacks = None
        self._ok = True
        self._value = None


#: Yielded by a thread that blocks until someone calls its runner's ``resume()``.
SLEEP = object()


class ThreadRunner:
    """Drives a thread's generator on SimPy events, like ``simpy.Process`` but lean.

    A thread yields a SimPy event to continue when it fires, a delay (a ``float``, ns)
    to continue after it, or :data:`SLEEP` to block until the code that wakes it calls
    :meth:`resume` (the completion path, at the end of the interrupt handler that posted
    enough completions): the thread then continues at that same instant without an
    event of its own.  A delay is served by the runner's own :class:`ReusableEvent`,
    scheduled exactly as ``Timeout(env, delay)`` would be (at ``now + delay``, NORMAL,
    the next event number), so it orders the same against every other event but costs
    no event object.  A thread may be resumed by another event while its delay is still
    pending (an io-wq worker woken on the idle list while it lets its clock catch up:
    ``IoWorker.wake_at``); the delay it then yields gets a ``Timeout`` of its own, as every
    delay did before, and the pending wake still resumes it when it fires.
    """

    __slots__ = ("gen", "finished", "env", "wake", "_resume", "pending")

    def __init__(self, env: Engine, gen: Generator) -> None:
        self.gen = gen
        self.finished = False
        self.env = env
        self.wake = ReusableEvent(env)
        self._resume = [self.resume]  # the wake's callbacks (shared, never mutated)
        self.pending = False  # the wake is scheduled and has not fired yet
        Timeout(env, 0).callbacks.append(self.resume)  # start at time 0

    def resume(self, _ev: object = None) -> None:
        if _ev is self.wake:
            self.pending = False
        try:
            ev = self.gen.send(None)
        except StopIteration:
            self.finished = True
            return
        if ev is SLEEP:
            return
        if isinstance(ev, float):  # a delay: Timeout(env, ev), without the object
            if self.pending:  # (the wake is taken: a Timeout, as _after_pending says)
                self._after_pending(ev)
                return
            env = self.env
            wake = self.wake
            wake.callbacks = self._resume
            self.pending = True
            heappush(env._queue, (env.now + ev, NORMAL, next(env._eid), wake))
        else:
            ev.callbacks.append(self.resume)

    def _after_pending(self, delay: float) -> None:
        """A delay yielded while the wake is still scheduled (the thread was resumed by
        another event first): a ``Timeout`` of its own, exactly as before reusable wakes."""
        Timeout(self.env, delay).callbacks.append(self.resume)


class Clock:
    """The clock of code running on one CPU: it runs ahead of ``env.now`` by the CPU
    work charged to it, and books that work under a profile label (by index into
    ``busy``; only work that starts inside the measurement window counts).

    Before the code touches shared state (a lock, the device, a completion ring) it must
    be *in sync*: nothing is scheduled before its clock (:meth:`in_sync`: it may act at
    its clock's instant at once), or it lets simulated time catch up (:meth:`sync`).
    ``in_irq`` is true while an interrupt handler has the CPU (the code cannot run).
    """

    __slots__ = ("env", "t", "busy", "measure_from", "in_irq")

    def local_now(self) -> float:
        """When the work charged so far is done."""
        now = self.env.now
        return self.t if self.t > now else now

    def charge(self, label: int, ns: float) -> None:
        """Add ``ns`` of CPU work under ``label`` (counted if it starts in the window)."""
        now = self.env.now
        base = self.t if self.t > now else now
        if base >= self.measure_from:
            self.busy[label] += ns
        self.t = base + ns

    def in_sync(self) -> bool:
        """True if nothing can happen before this clock: the code may act at
        ``local_now()`` without letting simulated time pass (saves an event)."""
        q = self.env._queue  # Engine.quiet_until(self.t), inlined: several times per I/O
        return not self.in_irq and (not q or q[0][0] > self.t)

    def sync(self) -> Generator[Event, None, None]:
        """Let simulated time catch up with this clock."""
        if self.t > self.env.now:
            yield Timeout(self.env, self.t - self.env.now)
