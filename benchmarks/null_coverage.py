"""How often the 95% paired interval of a null comparison covers zero, over many seeds.

    python benchmarks/null_coverage.py [--comparisons 200] [--replications 5]

The same variant is run on two independent root seeds, paired by replication, and the
paired-t interval of the difference in each metric is computed; with the host noise on,
the intervals measure real variance and should cover zero about 95% of the time.  (The
test suite checks a small version of this; this runs the large one on demand.)
"""

from __future__ import annotations

import argparse

from nvmesim.api import load, run_replication
from nvmesim.stats.intervals import mean_interval
from nvmesim.stats.metrics import replication_metrics

WORKLOAD = {"bs": "16k", "iodepth": 16, "iodepth_batch_submit": 4, "runtime": "10ms", "ramp_time": "1ms"}
METRICS = ("clat_mean_ns", "slat_mean_ns", "iops", "cpu_share_dma_pool_children")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comparisons", type=int, default=200)
    ap.add_argument("--replications", type=int, default=5)
    args = ap.parse_args()
    covered = dict.fromkeys(METRICS, 0)
    for k in range(args.comparisons):
        runs = []
        for seed in (10_000 + 2 * k, 10_001 + 2 * k):
            cfg = load({"workload": WORKLOAD, "sim": {"seed": seed, "replications": args.replications}})
            runs.append([replication_metrics(run_replication(cfg, "stack", r)) for r in range(args.replications)])
        for m in METRICS:
            d = mean_interval([a[m] - b[m] for a, b in zip(*runs)])
            covered[m] += d.low <= 0.0 <= d.high
    print(f"{args.comparisons} null comparisons of {args.replications} replications each:")
    for m, c in covered.items():
        print(f"  {m:<30} covers zero in {c}/{args.comparisons} = {100 * c / args.comparisons:.1f}%")


if __name__ == "__main__":
    main()
