"""Host-side variability (host.noise): off it is exactly the deterministic model; on,
replications differ as real runs do, the intervals measure that variance (a null
comparison covers zero about 95% of the time), and common random numbers still pair
the variants."""

from __future__ import annotations

import math

import pytest

from helpers import tiny_config
from nvmesim.api import load, run, run_replication
from nvmesim.stats.intervals import mean_interval
from nvmesim.stats.metrics import replication_metrics

WORKLOAD = {"bs": "16k", "iodepth": 16, "iodepth_batch_submit": 4, "runtime": "10ms", "ramp_time": "1ms"}


def _data(rep):
    return ([(d.total_ios, d.clat.counts, d.clat.mean, d.slat.mean) for j in rep.jobs for d in (j.read, j.write)],
            rep.profile_ns, rep.windows_ns)


def test_noise_off_is_noise_with_every_source_at_zero():
    """enabled: false and cost_cv = tick_hz = freq_cv = 0 are the same model, exactly."""
    off = tiny_config(WORKLOAD, noise=False)
    zero = tiny_config(WORKLOAD, host={"noise": {"cost_cv": 0, "tick_hz": 0, "freq_cv": 0}})
    a, b = run_replication(off, "legacy", 0), run_replication(zero, "legacy", 0)
    assert _data(a) == _data(b)


def test_noise_off_replications_differ_only_by_the_device():
    """Without noise the host is deterministic: at 4 KiB (no pool) on a constant device
    two replications are identical; with noise they are not."""
    dev = {"read": {"dist": "constant", "mean_us": 50.0}}
    w = {"bs": "4k", "iodepth": 4, "runtime": "10ms", "ramp_time": "1ms"}
    quiet = tiny_config(w, noise=False, device=dev)
    assert _data(run_replication(quiet, "stack", 0)) == _data(run_replication(quiet, "stack", 1))
    noisy = tiny_config(w, device=dev)
    assert _data(run_replication(noisy, "stack", 0)) != _data(run_replication(noisy, "stack", 1))


def test_with_noise_latency_has_a_spread_and_ticks_take_their_share():
    cfg = load("configs/highdepth.yaml", {"workload.runtime": 0.05, "workload.ramp_time": 0.01})
    m = replication_metrics(run_replication(cfg, "legacy", 0))
    assert m["clat_p99_ns"] > m["clat_p50_ns"]  # (without noise p50 = p99 = p99.9 here)
    # the ticks: 1000 a second of ~5.4 us on a busy core, about 0.5% of it
    assert 0.002 < m["cpu___sysvec_apic_timer_interrupt"] < 0.01


def test_common_random_numbers_still_pair_the_variants():
    """The same streams in both variants: at 4 KiB neither touches a pool, so legacy and
    stack run identically, noise and all."""
    cfg = tiny_config({"bs": "4k", "iodepth": 8, "runtime": "10ms"}, sim={"replications": 2})
    result = run(cfg)
    for r in (0, 1):
        assert _data(result.replications["legacy"][r]) == _data(result.replications["stack"][r])


def test_a_null_comparison_covers_zero_about_95_percent_of_the_time():
    """The same variant against itself on independent streams (another root seed), paired
    by replication: if the noise is the only difference, the 95% paired-t interval must
    cover zero in about 95% of such comparisons.  24 comparisons of 4 replications: with
    a true coverage of 95%, 20 or fewer cover zero with probability 3%."""
    covered = 0
    trials = 24
    for k in range(trials):
        runs = []
        for seed in (1000 + 2 * k, 1001 + 2 * k):
            cfg = tiny_config(WORKLOAD, sim={"seed": seed, "replications": 4})
            runs.append([replication_metrics(run_replication(cfg, "stack", r))["clat_mean_ns"] for r in range(4)])
        d = mean_interval([a - b for a, b in zip(*runs)])
        assert not math.isnan(d.low) and d.high > d.low  # the noise is there
        covered += d.low <= 0.0 <= d.high
    assert covered >= 21, f"{covered}/{trials} null comparisons covered zero"


@pytest.mark.parametrize("source", ["cost_cv", "tick_hz", "freq_cv"])
def test_each_source_alone_makes_replications_differ(source):
    quiet = {"cost_cv": 0, "tick_hz": 0, "freq_cv": 0}
    on = {"cost_cv": 0.3, "tick_hz": 1000, "freq_cv": 0.01}[source]
    cfg = tiny_config({"bs": "4k", "iodepth": 4, "runtime": "10ms"}, host={"noise": {**quiet, source: on}},
                      device={"read": {"dist": "constant", "mean_us": 50.0}})
    assert _data(run_replication(cfg, "stack", 0)) != _data(run_replication(cfg, "stack", 1))


def test_a_tick_delayed_past_a_period_skips_the_missed_ones():
    """Interrupts off for longer than a tick period (found at 8192 CPUs spinning on one pool
    lock: 'Negative delay'): the late tick fires once, and the next is the first period
    mark after it, as tick_sched accounts the missed jiffies in one late interrupt."""
    from collections import defaultdict
    from types import SimpleNamespace

    import numpy as np

    from nvmesim.config import HostNoise
    from nvmesim.sim.engine import Engine
    from nvmesim.sim.noise import Ticks

    env = Engine()
    core = SimpleNamespace(retired=False, irq_off_until=0.0, thread_running=True, in_irq=False, next_tick=0.0,
                           measure_from=0.0, busy=defaultdict(float), tick_total=0.0, scale=1.0, t=0.0,
                           _preempt_rem=None)
    ticks = Ticks(env, core, [], [], HostNoise(tick_hz=1000), np.random.default_rng(1))
    first = ticks.next_t
    core.irq_off_until = first + 3.5e6  # interrupts off for 3.5 periods from the first tick
    env.run(until=first + 9.5e6)
    # one late tick at +3.5 ms, then +4 ... +9 ms on the period grid: 7 ticks, each one charged
    assert len(ticks.durations) == 4096 - 7
    assert ticks.next_t == pytest.approx(first + 10e6) and core.next_tick == ticks.next_t
