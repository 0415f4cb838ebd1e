"""Parallel replications: one config run serially (``workers=1``) and on the machine's
cores (``workers=None``), in one process, with a byte-identity check of the results.

Run on demand (not part of the test suite; these machines are shared and noisy):

    python benchmarks/bench_run.py [--config configs/highdepth.yaml] [--workers N] [--set PATH=VALUE ...]

It prints each run's wall time and CPU time (this process plus its worker processes,
reaped: ``RUSAGE_CHILDREN``), the serial/parallel ratios, and whether
``to_json(plus=True, timestamp=0)`` is the same for both once the wall-clock fields
(``wall_s``, the document's ``time``/``timestamp``/``timestamp_ms``) are dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from nvmesim.api import load, run
from nvmesim.experiments.runner import default_workers

ROOT = Path(__file__).resolve().parent.parent
#: the fields that carry wall-clock time or the date
WALL = {"wall_s", "timestamp", "timestamp_ms", "time"}


def drop_wall(x: Any) -> Any:
    """``x`` without the wall-clock and date fields, at any depth."""
    if isinstance(x, dict):
        return {k: drop_wall(v) for k, v in x.items() if k not in WALL}
    if isinstance(x, list):
        return [drop_wall(v) for v in x]
    return x


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(cfg: Any, workers: int | None) -> tuple[float, float, str]:
    """(wall s, CPU s, the canonical json+ text minus wall fields) of one run."""
    c0, t0 = _cpu(), time.perf_counter()
    result = run(cfg, workers=workers, log_dir=None)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if result.errors:
        raise SystemExit(f"replications failed: {result.errors}")
    return wall, cpu, json.dumps(drop_wall(result.to_json(plus=True, timestamp=0)), sort_keys=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/highdepth.yaml", help="YAML config (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=None, help="the parallel run's workers (default: cores)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override a config value (repeatable)")
    args = ap.parse_args()
    overrides = {}
    for item in args.sets:
        path, _, value = item.partition("=")
        overrides[path] = yaml.safe_load(value)
    cfg = load(ROOT / args.config if not os.path.isabs(args.config) else args.config, overrides)
    n = args.workers or default_workers()
    tasks = len(cfg.allocator.variants) * cfg.sim.replications
    print(f"{args.config}: {len(cfg.allocator.variants)} variants x {cfg.sim.replications} replications "
          f"= {tasks} tasks; {os.cpu_count()} CPUs, {default_workers()} usable; parallel run: {n} workers",
          flush=True)
    w1, c1, doc1 = timed(cfg, 1)
    print(f"workers=1      wall {w1:8.2f} s   CPU {c1:8.2f} s", flush=True)
    wn, cn, docn = timed(cfg, args.workers)
    print(f"workers={'None' if args.workers is None else args.workers:<6} wall {wn:8.2f} s   CPU {cn:8.2f} s  "
          f"({n} workers)", flush=True)
    print(f"speed-up (serial wall / parallel wall) {w1 / wn:.2f}x;  CPU parallel / serial {cn / c1:.2f}")
    same = doc1 == docn
    print(f"to_json(plus=True, timestamp=0) minus wall fields: {'identical' if same else 'DIFFERENT'} "
          f"({len(doc1):,} bytes)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
