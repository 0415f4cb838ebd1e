"""Where the scope of nvme-pci's PRP pools matters: one pool pair per device (up to 6.15)
or per device per NUMA node (6.16), against cores, nodes and devices (issue 14).

    python benchmarks/pool_scope.py [--runtime 0.02] [--replications 1]

Every row is configs/multidevice.yaml's workload (io_uring, 12 KiB random reads, iodepth
128 in batches of 32, so each I/O allocates and frees one block of the "prp list 256"
pool) with legacy and stack dmapool on common random numbers; what changes is the host
(jobs, nodes), the device count and the kernel.  It prints, per row and variant, the
IOPS, the mean slat and clat, dma_pool_alloc/free's self share of the job cores' CPU,
the pool lock's share (acquire, release and the line's hand-offs), the spinning
(native_queued_spin_lock_slowpath: pool and SQ locks), and stack's IOPS change.  About
a minute at the defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEVICES4 = [{"name": f"nvme{i}n1", "node": i // 2} for i in range(4)]
FILES4 = "nvme0n1:nvme1n1:nvme2n1:nvme3n1"
#: row -> overrides of configs/multidevice.yaml
ROWS = {
    "4 jobs, 1 node, 1 device": {"host": {"cores": 4, "numa_nodes": 1}, "workload": {"numjobs": 4, "cpus_allowed":
                                 "0-3", "filename": "nvme0n1"}, "devices": [{"name": "nvme0n1"}]},
    "16 jobs, 2 nodes, 1 device": {"workload": {"filename": "nvme0n1"}, "devices": [{"name": "nvme0n1"}]},
    "16 jobs, 2 nodes, 4 devices": {},
}
KERNELS = ("6.4", "6.16")


def config(row: dict, kernel: str, runtime: float, replications: int):
    from nvmesim.api import load
    from nvmesim.config.loader import read_with_includes

    base, _, _ = read_with_includes(ROOT / "configs/multidevice.yaml")
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for section, values in row.items():
        data[section] = {**data.get(section, {}), **values} if isinstance(values, dict) else values
    data["driver"] = {**data["driver"], "kernel": kernel}
    data["workload"] = {**data["workload"], "runtime": runtime, "ramp_time": runtime / 4}
    data["sim"] = {**data["sim"], "replications": replications}
    return load(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", type=float, default=0.02)
    ap.add_argument("--replications", type=int, default=1)
    args = ap.parse_args()
    from nvmesim.api import run
    from nvmesim.stats.metrics import replication_metrics

    print("| host | kernel | variant | IOPS | slat mean | clat mean | dma_pool self | pool lock | spinning "
          "| stack vs legacy IOPS |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in ROWS.items():
        for kernel in KERNELS:
            result = run(config(row, kernel, args.runtime, args.replications))
            means = {}
            for v in ("legacy", "stack"):
                ms = [replication_metrics(r) for r in result.replications[v]]
                means[v] = {k: sum(m[k] for m in ms) / len(ms) for k in ms[0]}
            for v, m in means.items():
                delta = "" if v == "legacy" else f"{100 * (m['iops'] / means['legacy']['iops'] - 1):+.2f}%"
                print(f"| {name} | {kernel} | {v} | {m['iops']:,.0f} | {m['slat_mean_ns'] / 1e3:,.1f} us | "
                      f"{m['clat_mean_ns'] / 1e3:,.1f} us | {100 * m['cpu_share_dma_pool_self']:.2f}% | "
                      f"{100 * m['cpu_share_pool_lock']:.2f}% | {100 * m['cpu_share_lock_spin']:.2f}% | {delta} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
