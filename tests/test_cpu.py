"""CPU and lock mechanics on their own: the pool spinlock's FIFO grants and hand-off
cost, and interrupts preempting a thread and stretching its clock."""

from __future__ import annotations

import pytest

from helpers import tiny_config
from nvmesim.sim.cpu import Core, SpinLock
from nvmesim.sim.engine import Engine, ThreadRunner, Timeout
from nvmesim.stats.records import L_FIO

HANDOFF, REMOTE = 80.0, 160.0


def cores(env, *nodes):
    return [Core(env, i, node, 0.0) for i, node in enumerate(nodes)]


def test_spinlock_grants_in_request_order_with_hand_off():
    env = Engine()
    a, b, c = cores(env, 0, 0, 1)
    lock = SpinLock(HANDOFF, REMOTE)
    assert lock.take(0.0, a, 10.0) == 0.0  # first ever: free, no previous holder
    # b asks at 5 while a holds it until 10: spins 5, then the line moves from a's CPU
    assert lock.take(5.0, b, 10.0) == 5.0 + HANDOFF  # granted at 90, held to 100
    # a asks at 6, after b: it is served after b (FIFO), and the line moves back
    assert lock.take(6.0, a, 10.0) == (100.0 - 6.0) + HANDOFF  # granted at 180
    # c on the other node pays the remote hand-off
    assert lock.take(500.0, c, 1.0) == REMOTE
    assert lock.take(700.0, c, 1.0) == 0.0  # same CPU again, lock free: the line is still here
    assert (lock.acquisitions, lock.contended) == (5, 2)


def test_spinlock_hold_time_is_not_stretched():
    """Held with interrupts off: the grant time and the release are known at request time."""
    env = Engine()
    (a, b) = cores(env, 0, 0)
    lock = SpinLock(HANDOFF, REMOTE)
    lock.take(0.0, a, 1000.0)
    assert lock.free_at == 1000.0
    wait = lock.take(0.0, b, 50.0)
    assert lock.free_at == 0.0 + wait + 50.0 == 1000.0 + HANDOFF + 50.0


def _thread(env, core, work, log):
    core.woken()
    core.charge(L_FIO, work)
    yield from core.sync()
    log.append(env.now)


def test_an_interrupt_preempts_and_stretches_the_thread():
    env = Engine()
    (core,) = cores(env, 0)
    log: list[float] = []
    ThreadRunner(env, _thread(env, core, 100.0, log))
    Timeout(env, 30).callbacks.append(lambda e: core.irq_enter(30.0))
    Timeout(env, 50).callbacks.append(lambda e: core.irq_exit(50.0))
    env.run()
    assert log == [120.0]  # 100 ns of work + the 20 ns handler that preempted it
    assert core.t == 120.0 and core.irq_end == 50.0


def test_a_thread_that_syncs_during_an_interrupt_waits_for_its_end():
    env = Engine()
    (core,) = cores(env, 0)
    log: list[float] = []
    Timeout(env, 10).callbacks.append(lambda e: core.irq_enter(10.0))
    Timeout(env, 40).callbacks.append(lambda e: core.irq_exit(40.0))

    def late_thread():
        yield Timeout(env, 20)  # becomes runnable while the handler runs
        yield from core.wake()
        core.charge(L_FIO, 5.0)
        yield from core.sync()
        log.append(env.now)

    ThreadRunner(env, late_thread())
    env.run()
    # runnable at 20, during the handler: its 5 ns run after the handler's end at 40
    assert log == [pytest.approx(45.0)]


def test_a_sleeping_thread_is_not_stretched():
    env = Engine()
    (core,) = cores(env, 0)
    core.t = 100.0
    core.sleep()
    core.irq_enter(30.0)
    core.irq_exit(50.0)
    assert core.t == 100.0  # nothing of the thread was running: nothing to push back


def test_cpu_time_is_booked_only_inside_the_window():
    env = Engine()
    core = Core(env, 0, 0, measure_from=50.0)
    core.charge(L_FIO, 40.0)  # starts at 0
    core.charge(L_FIO, 40.0)  # starts at 40 (< 50): still outside
    core.charge(L_FIO, 40.0)  # starts at 80
    assert core.busy[L_FIO] == 40.0


def test_handler_time_while_the_thread_sleeps_is_not_the_threads():
    """The kernel charges an interrupt that comes while the thread is off the CPU to the
    idle task: it is in the profile, not in the thread's rusage (fio's usr/sys)."""
    env = Engine()
    (core,) = cores(env, 0)
    core.sleep()
    core.irq_enter(30.0)
    core.irq_exit(50.0)
    assert core.idle_irq == 20.0
    core.woken()
    core.t = 200.0
    core.irq_enter(100.0)  # preempts the running thread: its rusage holds the handler
    core.irq_exit(120.0)
    assert core.idle_irq == 20.0


def test_rusage_at_depth_one_is_the_profile_less_the_interrupts():
    """At iodepth 1 every completion's interrupt comes while fio sleeps for it, so fio's
    usr + sys is the job core's profile less the nvme_irq chains (noise off: no ticks)."""
    from nvmesim.api import run_replication

    cfg = tiny_config({"iodepth": 1, "ioengine": "libaio", "ramp_time": 0}, noise=False)
    rep = run_replication(cfg, "legacy", 0)
    (job,) = rep.jobs
    window = job.extra["window_ns"]
    irq = sum(ns for label, ns in rep.profile_ns.items() if label.startswith("nvme_irq"))
    busy = sum(ns for label, ns in rep.profile_ns.items() if label != "idle")
    assert irq > 0
    assert (job.usr_cpu + job.sys_cpu) / 100.0 * window == pytest.approx(busy - irq, rel=1e-9)
