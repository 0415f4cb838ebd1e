"""Host-side variability as mechanisms (``host.noise``): a core's speed factor, per-step
CPU cost multipliers, and the timer tick that steals the core (NOHZ: not while it idles).

Every source draws from its own stream of the job on the core (common random numbers:
the same multipliers and ticks in every variant); with ``enabled: false`` every
multiplier is exactly 1.0 and there is no tick, which is the deterministic model.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import HostNoise
from ..stats.records import L_TICK
from .engine import Engine, Event, Timeout

_DRAW_BLOCK = 4096


def lognormal_mean_one(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    """``n`` lognormal multipliers of mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(n)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), n)


class Multipliers:
    """A buffer of cost multipliers (the cost's jitter times the core's speed factor),
    drawn a block at a time; ``pop()`` on the buffer list is the hot-path read."""

    __slots__ = ("buf", "rng", "cv", "scale")

    def __init__(self, rng: np.random.Generator | None, cv: float, scale: float) -> None:
        self.buf: list[float] = []
        self.rng = rng
        self.cv = cv
        self.scale = scale

    def more(self) -> float:
        """Refill the buffer; returns the next multiplier."""
        if self.rng is None:
            self.buf.extend([self.scale] * _DRAW_BLOCK)
        else:
            draws = lognormal_mean_one(self.rng, self.cv, _DRAW_BLOCK) * self.scale
            self.buf.extend(draws[::-1].tolist())
        return self.buf.pop()


def speed_factor(noise: HostNoise, rng: np.random.Generator) -> float:
    """The factor on every CPU cost of one core for one replication (frequency)."""
    if not noise.enabled or noise.freq_cv <= 0:
        return 1.0
    return float(lognormal_mean_one(rng, noise.freq_cv, 1)[0])


class Ticks:
    """The periodic timer interrupt of one core, ``tick_hz`` a second from a random phase.

    A tick finds the core in one of four states: idle (thread asleep, no handler: NOHZ
    idle, no tick), interrupts off (a pool lock held: the tick waits until they are on),
    an NVMe handler running over a preempted thread (the thread's remaining work moves by
    the tick), or the thread running (its clock moves by the tick).  It then takes an
    exponential time of mean ``tick_mean_us``, booked under the timer interrupt.
    ``core.next_tick`` is the next tick's time: a thread that only its own interrupts can
    preempt must not run ahead past it (``Queue.no_irq_before``)."""

    __slots__ = ("env", "core", "queues", "handlers", "period", "mean_ns", "rng", "durations", "next_t")

    def __init__(self, env: Engine, core, queues: list, handlers: list, noise: HostNoise,
                 rng: np.random.Generator) -> None:
        self.env = env
        self.core = core
        self.queues = queues  # the NVMe queues whose vectors are on this core
        self.handlers = handlers  # and the handlers of the vectors on this core (None: a polled queue)
        self.period = 1e9 / noise.tick_hz
        self.mean_ns = noise.tick_mean_us * 1e3 * core.scale
        self.rng = rng
        self.durations: list[float] = []
        self.next_t = float(rng.uniform(0.0, self.period))
        core.next_tick = self.next_t
        Timeout(env, self.next_t).callbacks.append(self._tick)

    def _duration(self) -> float:
        if not self.durations:
            self.durations = self.rng.exponential(self.mean_ns, _DRAW_BLOCK)[::-1].tolist()
        return self.durations.pop()

    def _skip_missed(self, now: float) -> None:
        """Interrupts were off for longer than a tick period (a pool lock spun on by many
        CPUs): the ticks missed meanwhile do not queue up; the next one is the first of the
        period grid after now, as tick_sched's one late interrupt accounts the missed
        jiffies at once (kernel/time/tick-sched.c, tick_do_update_jiffies64)."""
        self.next_t += self.period * (math.floor((now - self.next_t) / self.period) + 1)

    def _tick(self, _ev: Event) -> None:
        env, core = self.env, self.core
        if core.retired:
            core.next_tick = float("inf")
            return
        now = env.now
        if core.irq_off_until > now:  # interrupts off: the tick comes when they are on again
            core.next_tick = core.irq_off_until
            Timeout(env, core.irq_off_until - now).callbacks.append(self._tick)
            return
        handler_busy = any(h is not None and (h.active or h.busy_until > now) for h in self.handlers)
        if core.thread_running or handler_busy:
            d = self._duration()
            if core.in_irq:
                if core._preempt_rem is not None:  # the preempted thread resumes d later
                    core._preempt_rem += d
            elif core.thread_running:
                core.t = (core.t if core.t > now else now) + d
            if now >= core.measure_from:
                core.busy[L_TICK] += d
            core.tick_total += d
        self.next_t += self.period
        if self.next_t <= now:
            self._skip_missed(now)
        core.next_tick = self.next_t
        Timeout(env, self.next_t - now).callbacks.append(self._tick)
        for queue in self.queues:
            if queue.thread_waiting:  # its clock moved, and the tick that bounded it is past
                queue.arm_thread_wake()
