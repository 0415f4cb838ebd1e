"""Simulation speed: simulated I/Os per wall-clock second, beside SimPy's raw event rate.

Run on demand (not part of the test suite; these machines are shared and noisy):

    python benchmarks/bench_sim.py [--runtime 0.2] [--repeat 5]

For each config it runs one replication of each variant ``--repeat`` times and
reports the best rate (the least disturbed run) beside every run's rate, the
SimPy events per I/O, and SimPy's raw rate for bare timeouts measured just
before that config's runs, so the ratio is comparable across machines and
moments (a shared machine's speed drifts by tens of percent).  It also runs the same config for T and 2T of
simulated time under tracemalloc: the peak must not grow with run length
(histograms, not lists).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import simpy

from nvmesim.api import load
from nvmesim.api import run_replication

ROOT = Path(__file__).resolve().parent.parent
#: config -> simulated seconds per timed run (None: the config's own runtime).  qd1's
#: own second is ~10k I/Os, a fifth of a wall second: too short to time on a shared
#: machine, so it runs 10 s; highdepth's own second is ~0.5 M I/Os.
CONFIGS = {"configs/highdepth.yaml": None, "configs/qd1.yaml": 10.0, "configs/multidevice.yaml": None}
#: the per-I/O cost of many jobs over many devices against one job on one device of the
#: same workload (issue 14: at most 1.5x), each pair timed alternately in one run
SCALE_RUNS = {
    "16 jobs x 4 devices (each job all 4: round robin)": ({}, 0.05),
    "16 jobs x 4 devices (4 a device: job sections)": ({"workload.numjobs": 4, "workload.filename": None, "jobs": [
        {"name": f"d{d}", "filename": f"nvme{d}n1"} for d in range(4)]}, 0.05),
    "4 jobs, a device each (filename_format)": ({"workload.numjobs": 4, "workload.filename": None,
                                                 "workload.filename_format": "nvme$jobnumn1"}, 0.2),
}
ONE_JOB = ({"workload.numjobs": 1, "workload.filename": "nvme0n1"}, 0.4)


def simpy_raw_rate(n: int = 300_000) -> float:
    """Events per second for a process yielding bare timeouts (SimPy's floor cost)."""
    env = simpy.Environment()

    def proc(env):
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc(env))
    t = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t)


def io_rate(path: str, runtime: float | None, repeat: int) -> dict:
    """Per variant: every run's (I/Os per wall second, I/Os, events, wall s), best first."""
    cfg = load(ROOT / path, {"workload.runtime": runtime} if runtime else {})
    out = {}
    for v in cfg.allocator.variants:
        rates = []
        for _ in range(repeat):
            rep = run_replication(cfg, v, 0)
            rates.append((rep.ios_per_wall_second, rep.ios_simulated, rep.events, rep.wall_s))
        out[v] = sorted(rates, reverse=True)
    return out


def scale_ratios(repeat: int) -> None:
    """Wall time per simulated I/O of each ``SCALE_RUNS`` config of configs/multidevice.yaml
    over that of ``ONE_JOB``, the best of ``repeat`` alternating runs of each."""
    path = ROOT / "configs/multidevice.yaml"

    def per_io(over: dict, runtime: float) -> tuple[float, float]:
        rep = run_replication(load(path, {**over, "workload.runtime": runtime}), "legacy", 0)
        return rep.wall_s / rep.ios_simulated, rep.events / rep.ios_simulated

    for name, (over, runtime) in SCALE_RUNS.items():
        many, one = [], []
        for _ in range(repeat):
            many.append(per_io(over, runtime))
            one.append(per_io(*ONE_JOB))
        (m, me), (o, oe) = min(many), min(one)
        print(f"{name}: {m * 1e6:.1f} us per I/O ({me:.2f} events) vs one job on one device {o * 1e6:.1f} us "
              f"({oe:.2f} events): {m / o:.2f}x")


def peak_memory(path: str, runtime: float) -> int:
    cfg = load(ROOT / path, {"workload.runtime": runtime})
    tracemalloc.start()
    run_replication(cfg, cfg.allocator.variants[0], 0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", type=float, default=None,
                    help="simulated seconds per run (default: each config's own runtime)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{'config':<26} {'variant':<8} {'I/Os':>9} {'wall s':>7} {'I/Os/s':>9} {'events/IO':>9} "
          f"{'raw ev/s':>9} {'I/O vs raw':>10}  all runs (I/Os/s)")
    for path, own in CONFIGS.items():
        raw = max(simpy_raw_rate() for _ in range(3))
        for v, runs in io_rate(path, args.runtime or own, args.repeat).items():
            rate, ios, events, wall = runs[0]
            every = " ".join(f"{r[0]:,.0f}" for r in runs)
            print(f"{path:<26} {v:<8} {ios:>9,} {wall:>7.2f} {rate:>9,.0f} {events / ios:>9.2f} "
                  f"{raw:>9,.0f} {rate / raw:>10.4f}  {every}")
    scale_ratios(max(1, args.repeat // 2))
    for path in CONFIGS:
        t = args.runtime or load(ROOT / path).workload.runtime
        a = peak_memory(path, t / 2)
        b = peak_memory(path, t)
        print(f"{path:<26} peak traced memory: {a / 2**20:.2f} MiB at T, {b / 2**20:.2f} MiB at 2T "
              f"(ratio {b / a:.2f})")


if __name__ == "__main__":
    main()
