"""Fingerprint of simulation results: a hash per config of every replication's raw output.

A refactor or a speed-up must keep results bit-identical.  Run this before and after:

    python benchmarks/fingerprint.py                     # print one hash per config
    python benchmarks/fingerprint.py --check             # compare with benchmarks/fingerprints.json
    python benchmarks/fingerprint.py --write             # record the current hashes there
    python benchmarks/fingerprint.py --dump out.json     # the canonical data behind the hashes (to diff)
    python benchmarks/fingerprint.py --check --workers 1 # the same, the replications run serially

Each replication of each variant contributes, exactly (floats as ``float.hex``): per job
and direction the I/O and byte counts, the slat/clat/lat histograms (every non-empty
bucket, N, min, max, the running mean and sum of squares), usr/sys CPU and context
switches; the CPU profile per label; the mean depth; and every pool's operations, nodes
walked, ns, pages and lock statistics.  The number of SimPy events is printed beside
the hash but not hashed: a speed-up may change it without changing any result.

The configs cover every path of the model: the headline (io_uring beyond the tags, one
job, io-wq), libaio beyond the tags (kblockd, per-event wake-ups on 6.4), io-wq on 6.16
(hand-over from task work, two jobs), depth 1 (io_uring), four libaio jobs sharing the
pool lock, two io_uring randrw jobs, polled completion (one and two jobs), per-NUMA-node
pools (6.16), interrupt coalescing with its timer, thinktime, SQPOLL, chained SGL lists (6.2), 16 jobs over 4 devices, and every allocator design.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from nvmesim.api import load, run

ROOT = Path(__file__).resolve().parent.parent
STORE = Path(__file__).with_name("fingerprints.json")

SMALL = {"workload.runtime": 0.03, "workload.ramp_time": 0.005, "sim.replications": 2}
#: name -> (config file or None for the defaults, overrides)
CONFIGS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "highdepth": ("configs/highdepth.yaml", {}),
    "qd1": ("configs/qd1.yaml", {}),
    "libaio-beyond-tags": ("configs/highdepth.yaml", {
        "workload.ioengine": "libaio", "driver.queue_depth": 256, **SMALL}),
    "iowq-6.16-2jobs": ("configs/highdepth.yaml", {
        "driver.kernel": "6.16", "workload.numjobs": 2, "workload.iodepth": 2048, "workload.iodepth_batch_submit": 512,
        "workload.iodepth_batch_complete_min": 512, "workload.iodepth_batch_complete_max": 512,
        "driver.queue_depth": 256, "workload.ring_taskrun": "none", **SMALL}),
    "libaio-4jobs": ("configs/highdepth.yaml", {
        "workload.ioengine": "libaio", "workload.numjobs": 4, "workload.iodepth": 1023, "workload.iodepth_batch_submit": 256,
        "workload.iodepth_batch_complete_min": 256, "workload.iodepth_batch_complete_max": 256,
        "driver.queue_depth": 1024, **SMALL}),
    "uring-randrw-2jobs": (None, {
        "workload.rw": "randrw", "workload.rwmixread": 70, "workload.bs": "16k", "workload.iodepth": 64,
        "workload.iodepth_batch_submit": 16, "workload.iodepth_batch_complete_min": 8, "workload.numjobs": 2,
        **SMALL}),
    "hipri-1job": (None, {
        "workload.hipri": True, "driver.poll_queues": 1, "workload.bs": "12k", "workload.iodepth": 64,
        "workload.iodepth_batch_submit": 16, "workload.iodepth_batch_complete_min": 16,
        "device.preset": "optane", **SMALL}),
    "hipri-2jobs": (None, {
        "workload.hipri": True, "driver.poll_queues": 1, "workload.bs": "32k", "workload.iodepth": 32,
        "workload.iodepth_batch_submit": 8, "workload.numjobs": 2, **SMALL}),
    "numa-6.16": (None, {
        "driver.kernel": "6.16", "host.numa_nodes": 2, "workload.cpus_allowed": "0,4", "workload.numjobs": 2,
        "workload.bs": "64k", "workload.iodepth": 128, "workload.iodepth_batch_submit": 32,
        "workload.iodepth_batch_complete_min": 32, **SMALL}),
    "coalescing-thinktime": (None, {
        "driver.irq_coalescing.threshold": 8, "driver.irq_coalescing.time_us": 100, "workload.bs": "16k",
        "workload.iodepth": 16, "workload.thinktime": 50, "workload.thinktime_blocks": 64, **SMALL}),
    # io-wq on a small queue (64 tags): idle workers woken while their clocks catch up
    "iowq-queue64": (None, {"workload.iodepth": 256, "workload.iodepth_batch_submit": 32,
                            "workload.iodepth_batch_complete_min": 32, "driver.queue_depth": 64, **SMALL}),
    # many files: 16 jobs over 4 devices, each job all four (round robin), shared pool locks
    "multidevice": ("configs/multidevice.yaml", {"workload.runtime": 0.01, "workload.ramp_time": 0.002,
                                                 "sim.replications": 2}),
    # every allocator design (docs/allocators.md) on two jobs sharing the pools
    "designs-2jobs": ("configs/highdepth.yaml", {
        "allocator.variants": ["legacy", "stack", "battersby", "xarray", "oob", "magazine", "nopool"],
        "workload.numjobs": 2, "workload.iodepth": 1023, "workload.iodepth_batch_submit": 256,
        "workload.iodepth_batch_complete_min": 256, "workload.iodepth_batch_complete_max": 256,
        "driver.queue_depth": 1024, "workload.runtime": 0.01, "workload.ramp_time": 0.002, "sim.replications": 2}),
    # the deterministic model (host.noise off), on the shapes that exercise the exact waits
    "quiet-libaio-4jobs": ("configs/highdepth.yaml", {
        "host.noise.enabled": False, "workload.ioengine": "libaio", "workload.numjobs": 4, "workload.iodepth": 1023,
        "workload.iodepth_batch_submit": 256, "workload.iodepth_batch_complete_min": 256,
        "workload.iodepth_batch_complete_max": 256, "driver.queue_depth": 1024, **SMALL}),
    "quiet-hipri-2jobs": (None, {
        "host.noise.enabled": False, "workload.hipri": True, "driver.poll_queues": 1, "workload.bs": "32k",
        "workload.iodepth": 32, "workload.iodepth_batch_submit": 8, "workload.numjobs": 2, **SMALL}),
    "sqpoll": (None, {
        "workload.sqthread_poll": True, "workload.bs": "12k", "workload.iodepth": 256, "workload.iodepth_batch_submit": 32,
        "workload.iodepth_batch_complete_min": 32, "workload.cpus_allowed": "0", "device.preset": "optane", **SMALL}),
    "sgl-6.2": (None, {
        "driver.kernel": "6.2", "workload.bs": "256k", "workload.iodepth": 32,
        "workload.iodepth_batch_submit": 8, "workload.ioengine": "libaio", "driver.sgl_threshold": 4096,
        **SMALL}),
}


def _f(x: float) -> str:
    return float(x).hex()


def _hist(h) -> dict[str, Any]:
    return {
        "n": h.n, "min": h.min, "max": h.max, "mean": _f(h.mean), "S": _f(h.S),
        "counts": {i: k for i, k in enumerate(h.counts) if k},
        "below": {i: k for i, k in sorted(h.below.items()) if k},
    }


def _stat(s) -> dict[str, Any]:
    return {"n": s.n, "min": s.min, "max": s.max, "mean": _f(s.mean), "S": _f(s.S)}


def _dir(d) -> dict[str, Any]:
    return {"ios": d.total_ios, "bytes": d.io_bytes, "runtime_ms": d.runtime_ms,
            "slat": _hist(d.slat), "clat": _hist(d.clat), "lat": _hist(d.lat),
            "bw": _stat(d.bw_stat), "iops": _stat(d.iops_stat)}


def _pools(rep) -> dict[str, Any]:
    """ops, nodes walked, pages; ns per op and the lock's contended share, as the
    records have carried them since the first version (so old hashes stay comparable)."""
    out = {}
    for p in rep.pools:
        out[p.name] = {"ops": p.ops, "nodes": p.nodes, "pages": p.pages, "ns_per_op": _f(p.ns / p.ops),
                       "contended_pct": _f(100.0 * p.lock_contended / max(1, p.lock_acquisitions))}
    return out


def replication_data(rep) -> dict[str, Any]:
    """The canonical, exact form of one replication's results."""
    return {
        "variant": rep.variant,
        "replication": rep.replication,
        "windows_ns": [_f(w) for w in rep.windows_ns],
        "jobs": [{"read": _dir(j.read), "write": _dir(j.write), "usr": _f(j.usr_cpu), "sys": _f(j.sys_cpu),
                  "ctx": j.ctx, "runtime_ms": j.job_runtime_ms, "depth": j.depth_map, "submit": j.submit_map,
                  "complete": j.complete_map} for j in rep.jobs],
        # (call chains with no time are left out: a new chain must not change every hash)
        "profile": {k: _f(v) for k, v in rep.profile_ns.items() if v},
        "mean_depth": [_f(x) for x in rep.mean_depth],
        "pools": _pools(rep),
        "ios_simulated": rep.ios_simulated,
    }


def fingerprint(name: str, workers: int | None = None) -> tuple[str, int, list[dict[str, Any]]]:
    """(hash, SimPy events, canonical data) of one config's replications, all variants, run
    on ``workers`` processes (None: the cores; the hash must not depend on it)."""
    path, overrides = CONFIGS[name]
    cfg = load(ROOT / path if path else {}, overrides)
    result = run(cfg, workers=workers)
    if result.errors:
        raise SystemExit(f"{name}: replications failed: {result.errors}")
    data = [replication_data(rep) for v in result.variants for rep in result.replications[v]]
    events = sum(rep.events for v in result.variants for rep in result.replications[v])
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16], events, data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help=f"compare with {STORE.name}; exit 1 on a difference")
    ap.add_argument("--write", action="store_true", help=f"record the hashes in {STORE.name}")
    ap.add_argument("--dump", metavar="FILE", help="write the canonical data of every config to FILE")
    ap.add_argument("--workers", type=int, default=None, help="processes the replications run on (default: cores)")
    ap.add_argument("configs", nargs="*", help=f"subset of: {', '.join(CONFIGS)}")
    args = ap.parse_args()
    names = args.configs or list(CONFIGS)
    stored = json.loads(STORE.read_text()) if STORE.exists() else {}
    hashes, dump, bad = {}, {}, []
    for name in names:
        h, events, data = fingerprint(name, args.workers)
        hashes[name] = h
        dump[name] = data
        mark = ""
        if args.check:
            mark = "same" if stored.get(name) == h else f"DIFFERENT (stored {stored.get(name)})"
            if stored.get(name) != h:
                bad.append(name)
        print(f"{name:<22} {h}  {events:>10,} events  {mark}", flush=True)
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump, sort_keys=True, indent=1))
    if args.write:
        STORE.write_text(json.dumps({**stored, **hashes}, indent=2, sort_keys=True) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
