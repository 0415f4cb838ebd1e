"""Sweep speed-up: the same 8-point sweep with 1 and with 2 local worker processes.

    python benchmarks/bench_sweep.py

Reports both wall times and their ratio, measured in one run (aim: >= 1.7x on a
2-core machine, with nothing else running).  The points cost the same (a seed sweep)
and each is about a second of simulation, so process start-up and result writing are
a small share.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from nvmesim.sweep import run_sweep

SPEC = {
    "base": {"workload": {"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16, "runtime": "60ms",
                          "ramp_time": "10ms"}},
    # eight points of equal cost (a seed sweep), so the ratio measures the executor,
    # not how unevenly the work happens to split
    "grid": {"sim.seed": [1, 2, 3, 4, 5, 6, 7, 8]},
    "replications": 1,
}


def timed(workers: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        spec = Path(d) / "sweep.yaml"
        spec.write_text(yaml.safe_dump(SPEC))
        t = time.perf_counter()
        run_sweep(spec, Path(d) / "out", workers=workers)
        return time.perf_counter() - t


def main() -> None:
    one = timed(1)
    two = timed(2)
    print(f"8-point sweep: 1 worker {one:.1f} s, 2 workers {two:.1f} s, speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
