"""The SimPy boundary (nvmesim.sim.engine): SimPy's internals it relies on are still
there, and the Engine behaves exactly as SimPy's Environment does.

If a SimPy release changes its event-queue layout or its Event internals, these tests
fail (the model would otherwise break silently); ``pyproject.toml`` pins SimPy 4.
"""

from __future__ import annotations

import itertools

import pytest
import simpy
from simpy.events import NORMAL, URGENT

from nvmesim.sim.engine import SLEEP, Clock, Engine, ReusableEvent, ThreadRunner, Timeout


def test_simpy_major_version_is_the_pinned_one():
    assert simpy.__version__.split(".")[0] == "4"


def test_simpys_event_queue_layout():
    """Entries are (time, priority, id, event) in a heap list ``_queue``; ids come from an
    itertools.count ``_eid``; priorities URGENT < NORMAL."""
    env = simpy.Environment()
    assert isinstance(env._queue, list) and isinstance(env._eid, itertools.count)
    ev = env.timeout(5)
    (entry,) = env._queue
    assert entry[0] == 5 and entry[1] == NORMAL and isinstance(entry[2], int) and entry[3] is ev
    assert URGENT < NORMAL
    assert env._now == 0 and env.now == 0


def test_simpys_event_internals():
    """A triggered event has ``_ok``/``_value``; ``step`` reads ``callbacks`` and sets it to
    None; Environment.now is a property over ``_now``."""
    env = simpy.Environment()
    ev = env.event()
    assert ev.callbacks == [] and not ev.triggered
    ev.succeed(7)
    assert ev._ok is True and ev._value == 7
    seen = []
    ev.callbacks.append(lambda e: seen.append(e.value))
    env.step()
    assert seen == [7] and ev.callbacks is None
    assert isinstance(vars(simpy.Environment)["now"], property)


def _trace(env) -> list:
    """A scenario with processes, timeouts, a failure caught by a process, a condition,
    and an untriggered event; returns what happened when."""
    log = []

    def worker(name, delay, n):
        for i in range(n):
            yield env.timeout(delay)
            log.append((env.now, name, i))

    def failing():
        yield env.timeout(3)
        raise ValueError("boom")

    def catcher():
        try:
            yield env.process(failing())
        except ValueError as e:
            log.append((env.now, "caught", str(e)))
        yield env.timeout(1) & env.timeout(2)
        log.append((env.now, "both", None))

    env.process(worker("a", 1.5, 4))
    env.process(worker("b", 2, 3))
    env.process(catcher())
    env.event()  # never triggered
    return log


@pytest.mark.parametrize("until", [None, 4.0, 100])
def test_engine_runs_exactly_as_simpy(until):
    a, b = simpy.Environment(), Engine()
    la, lb = _trace(a), _trace(b)
    ra, rb = a.run(until=until), b.run(until=until)
    assert la == lb and ra == rb
    assert a.now == b.now
    assert [e[:2] for e in a._queue] == [e[:2] for e in b._queue]


def test_engine_step_and_errors_as_simpy():
    for env in (simpy.Environment(), Engine()):
        env.timeout(1)
        env.step()
        assert env.now == 1
        with pytest.raises(simpy.core.EmptySchedule):
            env.step()
        env.event().fail(RuntimeError("unhandled"))
        with pytest.raises(RuntimeError, match="unhandled"):
            env.run()
        with pytest.raises(ValueError, match="must be greater"):
            env.run(until=0.5)


def test_run_until_an_event_returns_its_value():
    env = Engine()
    ev = env.timeout(3, value="done")
    assert env.run(until=ev) == "done" and env.now == 3


def test_push_schedules_at_the_absolute_time():
    """``now + (t - now)`` need not be ``t`` in floating point; push is exact."""
    env = Engine()
    env.run(until=1.0)
    t = float(2**53 + 2)
    assert env.now + (t - env.now) != t  # the rounding SimPy's delays would suffer (rare, but real)
    fired = []
    ev = ReusableEvent(env)
    ev.callbacks = [lambda e: fired.append(env.now)]
    env.push(t, ev)
    env.run()
    assert fired == [t]
    # reusable: pushed again, it fires again
    ev.callbacks = [lambda e: fired.append(env.now)]
    env.push(t + 1, ev)
    env.run()
    assert fired == [t, t + 1]


def test_fire_and_events_scheduled():
    env = Engine()
    ev = env.event()
    seen = []
    ev.callbacks.append(lambda e: seen.append(env.now))
    env.fire(ev, 2.5)
    n = env.events_scheduled
    assert env.events_scheduled == n  # reading it does not consume a number
    env.run()
    assert seen == [2.5] and env.events_scheduled == n


def test_quiet_until():
    env = Engine()
    assert env.quiet_until(10)
    env.timeout(5)
    assert env.quiet_until(4.9) and not env.quiet_until(5)


def test_thread_runner_and_sleep():
    env = Engine()
    log = []
    runner = None

    def thread():
        log.append(("start", env.now))
        yield Timeout(env, 2)
        log.append(("slept", env.now))
        yield SLEEP
        log.append(("woken", env.now))

    runner = ThreadRunner(env, thread())
    Timeout(env, 5).callbacks.append(lambda e: runner.resume())
    env.run()
    assert log == [("start", 0), ("slept", 2), ("woken", 5)] and runner.finished


def _wait_order(delay_wait) -> list:
    """Three threads and a timeout, all due at the same instants: who runs when, in what
    order.  ``delay_wait(d)`` is what a thread yields to wait ``d``."""
    env = Engine()
    log = []

    def thread(name, waits):
        for d in waits:
            yield delay_wait(env, d)
            log.append((name, env.now))

    ThreadRunner(env, thread("a", [1.5, 0.25, 0.1]))
    ThreadRunner(env, thread("b", [1.0, 0.75, 0.1]))
    Timeout(env, 1.75).callbacks.append(lambda e: log.append(("timeout", env.now)))
    ThreadRunner(env, thread("c", [1.75, 0.1]))
    env.run()
    return log + [("events", env.events_scheduled)]


def test_a_yielded_delay_is_a_timeout():
    """A thread yielding a float waits as if it yielded ``Timeout(env, delay)``: the same
    instant, the same place among events due then (event numbers), the same count."""
    as_timeout = _wait_order(lambda env, d: Timeout(env, d))
    assert _wait_order(lambda env, d: float(d)) == as_timeout
    # four due at 1.75, in the order their waits were created
    assert [x for x, t in as_timeout if t == 1.75] == ["timeout", "c", "b", "a"]


def test_a_thread_resumed_while_its_delay_is_pending_runs_as_with_timeouts():
    """An io-wq worker can be woken (``IoWorker.wake_at``) while it waits out a delay: it
    is resumed twice, once by the wake and once when the delay fires, as it was when each
    delay was a Timeout -- the same steps at the same instants, and no event fired twice."""

    def trace(delay):
        env = Engine()
        log = []

        def thread():
            log.append(("start", env.now))
            yield delay(env, 2.0)
            log.append(("after first", env.now))
            yield delay(env, 3.0)
            log.append(("after second", env.now))
            yield delay(env, 1.0)
            log.append(("after third", env.now))

        runner = ThreadRunner(env, thread())
        Timeout(env, 1.0).callbacks.append(runner.resume)  # the early wake
        env.run()
        return log, runner.finished

    as_timeout = trace(lambda env, d: Timeout(env, d))
    assert trace(lambda env, d: float(d)) == as_timeout
    assert as_timeout == ([("start", 0), ("after first", 1.0), ("after second", 2.0), ("after third", 3.0)], True)


def test_push_in_is_a_timeout():
    """``Engine.push_in`` on a reusable event fires when, and in the order, a Timeout of
    the same delay created at that point would."""
    for reuse in (False, True):
        env = Engine()
        env.run(until=0.1)
        log = []
        ev = ReusableEvent(env)
        Timeout(env, 0.2).callbacks.append(lambda e: log.append("first"))
        if reuse:
            env.push_in(0.2, ev, [lambda e: log.append(("mine", env.now))])
        else:
            Timeout(env, 0.2).callbacks.append(lambda e: log.append(("mine", env.now)))
        Timeout(env, 0.2).callbacks.append(lambda e: log.append("last"))
        env.run()
        assert log == ["first", ("mine", 0.1 + 0.2), "last"]  # (now + delay, as SimPy adds it)


def test_clock_charges_and_syncs():
    class C(Clock):
        __slots__ = ()

    env = Engine()
    c = C()
    c.env, c.t, c.busy, c.measure_from, c.in_irq = env, 0.0, [0.0, 0.0], 10.0, False
    c.charge(0, 5.0)  # starts before the window: not booked
    c.charge(1, 7.0)  # starts at 5: not booked either
    assert c.t == 12.0 and c.busy == [0.0, 0.0]
    c.charge(1, 3.0)  # starts at 12: booked
    assert c.busy == [0.0, 3.0] and c.local_now() == 15.0
    assert c.in_sync()  # nothing scheduled
    env.timeout(14)
    assert not c.in_sync()  # something happens before the clock
    gen = c.sync()
    ev = next(gen)
    env.run(until=ev)
    assert env.now == 15.0
