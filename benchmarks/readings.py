"""Every plausible reading of the seed's "fio high-depth + high-batched on nvme", side by
side: which of its four claims each reproduces (docs/reproduction.md, section 2).

    python benchmarks/readings.py [--runtime 0.3] [--replications 3] [--workers 2]

Each reading is configs/highdepth.yaml with the engine, the io_uring task-run mode, the
device queue, fio's depth and batches and the number of jobs set as the row says; legacy
against stack, paired over the replications (common random numbers), 95% paired-t
intervals.  A claim counts as reproduced when its point estimate is inside the band of
docs/reproduction.md and its interval excludes zero.  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: (name, overrides): the readings the issue asks for
READINGS: list[tuple[str, dict]] = []


def _reading(name: str, engine: str, queue: int, depth: int, batch: int, jobs: int = 1,
             taskrun: str = "DEFER_TASKRUN") -> None:
    READINGS.append((name, {
        "workload.ioengine": engine, "workload.ring_taskrun": taskrun, "driver.queue_depth": queue,
        "workload.iodepth": depth, "workload.iodepth_batch_submit": batch,
        "workload.iodepth_batch_complete_min": batch, "workload.iodepth_batch_complete_max": batch,
        "workload.numjobs": jobs}))


_reading("io_uring DEFER, queue 1024, depth 8192, batch 4096", "io_uring", 1024, 8192, 4096)
_reading("io_uring no flags (fio < 3.33), queue 1024, depth 8192, batch 4096", "io_uring", 1024, 8192, 4096,
         taskrun="none")
_reading("io_uring DEFER, queue 256, depth 8192, batch 4096", "io_uring", 256, 8192, 4096)
_reading("io_uring DEFER, queue 1024, depth 8192, batch 512", "io_uring", 1024, 8192, 512)
_reading("io_uring DEFER, queue 1024, depth 1023 (within the tags), batch 256", "io_uring", 1024, 1023, 256)
_reading("io_uring DEFER, queue 1024, depth 1023, batch 32", "io_uring", 1024, 1023, 32)
_reading("io_uring DEFER, queue 1024, depth 8192, batch 4096, 4 jobs", "io_uring", 1024, 8192, 4096, jobs=4)
_reading("libaio, queue 256, depth 8192, batch 4096", "libaio", 256, 8192, 4096)
_reading("libaio, queue 1024, depth 8192, batch 4096", "libaio", 1024, 8192, 4096)
_reading("libaio, queue 1024, depth 1023, batch 256", "libaio", 1024, 1023, 256)
_reading("libaio, queue 256, depth 8192, batch 4096, 4 jobs", "libaio", 256, 8192, 4096, jobs=4)

#: the seed's claims as bands (docs/reproduction.md): (metric, low, high)
BANDS = {
    "slat": ("slat_mean_ns", -150e3, -60e3),
    "clat": ("clat_mean_ns", -150e3, -60e3),
    "iops": ("iops", 0.5, 2.0),  # percent
    "dma_pool": ("cpu_share_dma_pool_children", 0.35, 0.65),  # stack / legacy
}


def evaluate(args: tuple[str, dict, float, int]) -> dict:
    from nvmesim.api import load, run

    name, overrides, runtime, reps = args
    cfg = load(ROOT / "configs/highdepth.yaml", {**overrides, "workload.runtime": runtime,
                                                 "workload.ramp_time": 0.05, "sim.replications": reps})
    rows = {r["metric"]: r for r in run(cfg).to_json()["nvmesim"]["deltas"]}
    out = {"name": name}
    for claim, (metric, lo, hi) in BANDS.items():
        r = rows[metric]
        excl = r["delta_ci_low"] is not None and (r["delta_ci_low"] > 0 or r["delta_ci_high"] < 0)
        if claim == "iops":
            value, ci = r["delta_pct"], (100 * r["delta_ci_low"] / r["baseline_value"],
                                         100 * r["delta_ci_high"] / r["baseline_value"])
        elif claim == "dma_pool":
            value, ci = r["variant_value"] / r["baseline_value"], None
            self_r = rows["cpu_share_dma_pool_self"]
            out["dma_pool_self"] = self_r["variant_value"] / self_r["baseline_value"]
            out["dma_pool_legacy"] = r["baseline_value"]
        else:
            value, ci = r["delta"], (r["delta_ci_low"], r["delta_ci_high"])
        out[claim] = (value, ci, lo <= value <= hi and excl)
    base = rows["slat_mean_ns"]["baseline_value"], rows["clat_mean_ns"]["baseline_value"]
    out["lat_ms"] = (base[0] / 1e6, base[1] / 1e6)
    out["iops_k"] = rows["iops"]["baseline_value"] / 1e3
    return out


def _us(v: float, ci) -> str:
    return f"{v / 1e3:+.1f} [{ci[0] / 1e3:+.1f}, {ci[1] / 1e3:+.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runtime", type=float, default=0.3, help="simulated seconds per replication")
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    jobs = [(n, o, a.runtime, a.replications) for n, o in READINGS]
    with ProcessPoolExecutor(a.workers) as ex:
        results = list(ex.map(evaluate, jobs))
    ok = {True: "**yes**", False: "no"}
    print(f"{a.replications} replications of {a.runtime} s after a 50 ms ramp; kernel, device and host as in "
          "configs/highdepth.yaml\n")
    print("| reading | legacy slat / clat (ms), IOPS | Δslat µs | Δclat µs | ΔIOPS % | dma_pool stack/legacy "
          "(children; self) | reproduces |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        s, c, i, d = r["slat"], r["clat"], r["iops"], r["dma_pool"]
        got = [k for k, v in (("slat", s), ("clat", c), ("IOPS", i), ("dma_pool", d)) if v[2]]
        print(f"| {r['name']} | {r['lat_ms'][0]:.2f} / {r['lat_ms'][1]:.2f}, {r['iops_k']:.0f}k | {_us(s[0], s[1])} | "
              f"{_us(c[0], c[1])} | {i[0]:+.2f} [{i[1][0]:+.2f}, {i[1][1]:+.2f}] | {d[0]:.2f}; "
              f"{r['dma_pool_self']:.2f} (legacy {100 * r['dma_pool_legacy']:.2f}% of CPU) | "
              f"{', '.join(got) if got else 'none'} |")


if __name__ == "__main__":
    main()
