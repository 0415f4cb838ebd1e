"""The model's wiring, in one place: build one replication of one allocator variant
from a :class:`~nvmesim.config.Config`, run it, and collect its results.

    fio job (core c) --commit--> nvme_queue_rq + dma_pool_alloc (pool lock)
        --doorbell--> Device (units, internal path, PCIe link) --CQE--> Queue c
        --MSI-X--> irq handler on core c: dma_pool_free (pool lock), end request
        --> job ring --> fio reaps (clat/lat)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import simpy

from .allocators import get_variant
from .config import Config
from .fiojson import JobResult
from .sim.cpu import LABELS, Core, ThreadRunner
from .sim.device import Device
from .sim.driver import Driver, IrqHandler, Queue
from .sim.fio import FioJob, Streams
from .sim.nvme import map_plan, segments

#: streams per job, spawned from the root SeedSequence as (replication, job, k)
STREAM_RW, STREAM_READ_SVC, STREAM_WRITE_SVC = range(3)


@dataclass
class ReplicationResult:
    """Everything one replication of one variant produced (no per-I/O data)."""

    variant: str
    replication: int
    jobs: list[JobResult]
    profile_ns: dict[str, float]  # label -> CPU ns over all job cores, window only; includes "idle"
    window_ns: float
    cores_used: int
    mean_depth: list[float]  # time-average of outstanding I/Os per job (Little's L)
    pools: dict[str, dict[str, float]] = field(default_factory=dict)
    events: int = 0
    wall_s: float = 0.0
    ios_simulated: int = 0  # every I/O completed, warm-up included

    @property
    def ios_per_wall_second(self) -> float:
        """Simulation speed: simulated I/Os per second of wall-clock time."""
        return self.ios_simulated / self.wall_s if self.wall_s else 0.0

    @property
    def total_ios(self) -> int:
        return sum(j.total_ios for j in self.jobs)

    def profile_share(self) -> dict[str, float]:
        """Each label's share of the job cores' CPU time in the window (idle included)."""
        total = self.window_ns * self.cores_used
        return {k: v / total for k, v in self.profile_ns.items()} if total else {}


def job_seeds(cfg: Config, replication: int, job: int) -> list[np.random.SeedSequence]:
    """The job's random streams: identical for every variant (common random numbers)."""
    return [np.random.SeedSequence(cfg.sim.seed, spawn_key=(replication, job, k)) for k in range(3)]


def run_replication(cfg: Config, variant: str, replication: int = 0) -> ReplicationResult:
    """Simulate ``cfg`` once with allocator ``variant``; replication ``r`` uses streams (r, job, k)."""
    t0 = time.perf_counter()
    w = cfg.workload
    env = simpy.Environment()
    measure_from = cfg.warmup_s() * 1e9
    end = measure_from + w.runtime * 1e9
    nsegs = segments(w.bs, w.iomem)
    plan = map_plan(
        w.bs,
        nsegs,
        0,
        sgl_supported=cfg.device.sgl_support and cfg.driver.sgl,
        sgl_threshold=cfg.driver.sgl_threshold,
        kernel=cfg.driver.kernel,
    )
    driver = Driver(env, cfg, get_variant(variant), plan, nsegs)
    queues: dict[int, Queue] = {}
    device = Device(env, cfg.device)
    co = cfg.driver.irq_coalescing
    polled = w.hipri and cfg.driver.poll_queues > 0
    jobs: list[FioJob] = []
    cores: dict[int, Core] = {}
    job_cpus = cfg.job_cpus()
    # cores whose requests use each poolset: a lock no other core takes needs no ordering
    users: dict[int, int] = {}
    for cpu in job_cpus:
        k = driver.poolset_index(cfg.host.node_of(cpu))
        users[k] = users.get(k, 0) + 1
    for j, cpu in enumerate(job_cpus):
        core = Core(env, cpu, cfg.host.node_of(cpu), measure_from)
        cores[cpu] = core
        queue = Queue(env, core, polled, co.threshold, co.time_us * 1000.0, tags=cfg.effective_queue_depth() - 1)
        queues[cpu] = queue
        if not polled:
            IrqHandler(driver, queue, lock_shared=users[driver.poolset_index(core.node)] > 1)
        job = FioJob(env, cfg, j, core, queue, driver, device, Streams(cfg, job_seeds(cfg, replication, j)),
                     measure_from, end)
        jobs.append(job)
        job.runner = queue.thread = ThreadRunner(env, job.run())
    env.run(until=end)

    window = end - measure_from
    profile = {label: 0.0 for label in LABELS}
    for core in cores.values():
        for i, label in enumerate(LABELS):
            profile[label] += core.busy[i]
    busy = sum(profile.values())
    profile["idle"] = max(0.0, window * len(cores) - busy)
    results = []
    depth = []
    for job in jobs:
        job.close_window(end)
        depth.append(job.depth_area / window if window else 0.0)
        results.append(_job_result(cfg, job, cores[job.core.index], window))
    pools = {}
    for ps_i, ps in enumerate(driver.poolsets):
        for size, pool in ps.pools.items():
            if pool.totals.ops:
                lock = ps.locks[size]
                pools[f"node{ps_i}/prp{size}"] = {
                    "ops": pool.totals.ops,
                    "nodes": pool.totals.nodes,
                    "nodes_per_op": pool.totals.nodes / pool.totals.ops,
                    "ns_per_op": pool.totals.ns / pool.totals.ops,
                    "pages": pool.nr_pages,
                    "lock_contended_pct": 100.0 * lock.contended / max(1, lock.acquisitions),
                }
    return ReplicationResult(
        variant=variant,
        replication=replication,
        jobs=results,
        profile_ns=profile,
        window_ns=window,
        cores_used=len(cores),
        mean_depth=depth,
        pools=pools,
        events=next(env._eid),  # SimPy numbers every scheduled event
        wall_s=time.perf_counter() - t0,
        ios_simulated=sum(job.reaped_all for job in jobs),
    )


def _job_result(cfg: Config, job: FioJob, core: Core, window: float) -> JobResult:
    w = cfg.workload
    runtime_ms = int(window / 1e6)
    job.read.runtime_ms = runtime_ms
    job.write.runtime_ms = runtime_ms
    busy = sum(core.busy)
    user = core.busy[LABELS.index("fio")]
    return JobResult(
        jobname=w.name,
        groupid=0,
        job_options=_fio_options(cfg),
        read=job.read,
        write=job.write,
        job_runtime_ms=runtime_ms,
        elapsed_s=int(round((window + cfg.warmup_s() * 1e9) / 1e9)),
        usr_cpu=100.0 * user / window if window else 0.0,
        sys_cpu=100.0 * (busy - user) / window if window else 0.0,
        ctx=job.reaps,
        latency_depth=w.iodepth,
        extra={"cpu": job.core.index, "mean_depth": job.depth_area / window if window else 0.0},
    )


def _fio_options(cfg: Config) -> dict[str, str]:
    """The job's options as fio would print them in 'job options'."""
    w = cfg.workload
    opts = {
        "name": w.name,
        "ioengine": w.ioengine,
        "rw": w.rw,
        "bs": str(w.bs),
        "iodepth": str(w.iodepth),
        "iodepth_batch_submit": str(w.iodepth_batch_submit),
        "iodepth_batch_complete_min": str(w.iodepth_batch_complete_min),
        "iodepth_batch_complete_max": str(w.iodepth_batch_complete_max),
        "iodepth_low": str(w.iodepth_low),
        "numjobs": str(w.numjobs),
        "runtime": str(w.runtime),
        "ramp_time": str(w.ramp_time),
        "direct": "1",
        "time_based": "1",
    }
    if w.rw in ("randrw", "rw", "readwrite"):
        opts["rwmixread"] = str(w.rwmixread)
    if w.hipri:
        opts["hipri"] = "1"
    if w.cpus_allowed:
        opts["cpus_allowed"] = w.cpus_allowed
    return opts
