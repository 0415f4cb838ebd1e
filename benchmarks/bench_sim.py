"""Simulation speed: simulated I/Os per wall-clock second, beside SimPy's raw event rate.

Run on demand (not part of the test suite; these machines are shared and noisy):

    python benchmarks/bench_sim.py [--runtime 0.2] [--repeat 3]

For each config it runs one replication of each variant ``--repeat`` times and
reports the best rate (the least disturbed run), the SimPy events per I/O, and
SimPy's raw rate for bare timeouts measured in the same run, so the ratio is
comparable across machines.  It also runs the same config for T and 2T of
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
from nvmesim.model import run_replication

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ["configs/highdepth.yaml", "configs/qd1.yaml"]


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
    cfg = load(ROOT / path, {"workload.runtime": runtime} if runtime else {})
    best = {}
    for v in cfg.allocator.variants:
        rates = []
        for _ in range(repeat):
            rep = run_replication(cfg, v, 0)
            rates.append((rep.ios_per_wall_second, rep.ios_simulated, rep.events, rep.wall_s))
        best[v] = max(rates)
    return best


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
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    raw = max(simpy_raw_rate() for _ in range(3))
    print(f"SimPy raw timeout events/s: {raw:,.0f}")
    print(f"{'config':<26} {'variant':<8} {'I/Os':>9} {'wall s':>7} {'I/Os/s':>9} {'events/IO':>9} {'I/O vs raw':>10}")
    for path in CONFIGS:
        for v, (rate, ios, events, wall) in io_rate(path, args.runtime, args.repeat).items():
            print(f"{path:<26} {v:<8} {ios:>9,} {wall:>7.2f} {rate:>9,.0f} {events / ios:>9.2f} {rate / raw:>10.3f}")
    for path in CONFIGS:
        t = args.runtime or load(ROOT / path).workload.runtime
        a = peak_memory(path, t / 2)
        b = peak_memory(path, t)
        print(f"{path:<26} peak traced memory: {a / 2**20:.2f} MiB at T, {b / 2**20:.2f} MiB at 2T "
              f"(ratio {b / a:.2f})")


if __name__ == "__main__":
    main()
