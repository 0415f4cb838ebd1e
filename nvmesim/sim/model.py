"""The model's wiring, in one place: build one replication of one allocator variant
from a :class:`~nvmesim.config.Config`, run it, and collect its results.

    fio job (core c) --commit: plug, flush--> nvme_queue_rq(s) + dma_pool_alloc (pool lock)
        --doorbell--> Device (units, internal path, PCIe link) --CQE--> Queue c
        --MSI-X--> IrqHandler on core c (or the polling thread): CompletionPath: CQ loop,
        unmap + dma_pool_free (pool lock), end requests, tags --> aio ring / io_uring
        task work --> fio reaps (clat/lat)
    io_uring without a tag --> IoWq --> IoWorker on a spare core w: blocking issue on
        Queue w (its own tags and interrupt), the completion back to the job's task work

Every flag a part needs is decided here and passed to it; no part sets attributes of
another.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ..allocators import get_variant
from ..config import Config
from ..stats.fiotime import mtime_since, runtime_ms, utime_since
from ..stats.iologs import LogPlan
from ..stats.records import IDLE, L_FIO, L_POLL, L_SQ, POLL_FREE, PROFILE_LABELS, JobResult, ReplicationResult
from .completion import CompletionPath, IpiHandler, IrqHandler
from .cpu import Core, SpinLock
from .device import Device
from .driver import Driver
from .engine import Engine
from .fio import FioJob, Streams
from .iowq import IoWorker, IoWq
from .sqpoll import SqThread
from .noise import Multipliers, Ticks, speed_factor
from .nvme import map_plan, segments
from .queue import Queue

#: streams per job, spawned from the root SeedSequence as (replication, job, k): the
#: read/write mix, read and write service times, then the host noise of its core: each
#: I/O's cost multiplier, the batch-level steps' multipliers, the timer ticks, the speed
(STREAM_RW, STREAM_READ_SVC, STREAM_WRITE_SVC, STREAM_IO_COSTS, STREAM_STEP_COSTS, STREAM_TICKS,
 STREAM_SPEED) = range(7)


def job_seeds(cfg: Config, replication: int, job: int) -> list[np.random.SeedSequence]:
    """The job's random streams: identical for every variant (common random numbers)."""
    return [np.random.SeedSequence(cfg.sim.seed, spawn_key=(replication, job, k)) for k in range(7)]


def worker_seeds(cfg: Config, replication: int, job: int, worker: int) -> list[np.random.SeedSequence]:
    """The host noise of the job's ``worker``-th io-wq core: its steps' multipliers and its
    timer ticks, streams (replication, job, 7 + 2 * worker + k) after the job's own."""
    return [np.random.SeedSequence(cfg.sim.seed, spawn_key=(replication, job, 7 + 2 * worker + k)) for k in (0, 1)]


def file_seeds(cfg: Config, replication: int, job: int, nfiles: int) -> list[np.random.SeedSequence]:
    """A job with several files: the stream of its file choice, then the read and write
    service times of its files after the first, streams (replication, job, 1000 + k)."""
    if nfiles < 2:
        return []
    return [np.random.SeedSequence(cfg.sim.seed, spawn_key=(replication, job, 1000 + k)) for k in range(2 * nfiles - 1)]


def run_replication(cfg: Config, variant: str, replication: int = 0, logs: LogPlan | None = None,
                    progress: Callable[[float], None] | None = None) -> ReplicationResult:
    """Simulate ``cfg`` once with allocator ``variant``; replication ``r`` uses streams (r, job, k).

    The run lasts until every job has stopped issuing and drained what it had in
    flight; each job's statistics cover its own window, from the end of its ramp to the
    end of its drain, as fio's do.  ``logs``: where the jobs write the fio logs the
    workload asks for (none without it; stats/iologs.py).  ``progress(fraction)``: called
    as simulated time passes each 1/50 of ``ramp_time + runtime`` (fractions strictly
    between 0 and 1; the results are the same with and without it:
    :meth:`~.engine.Engine.run_reporting`)."""
    t0 = time.perf_counter()
    w = cfg.workload
    env = Engine()
    nsegs = segments(w.bs, w.iomem)
    devs = cfg.device_list()
    named = len(devs) > 1  # pools are labelled by device only when there are several
    drivers, devices = [], []
    for dev in devs:  # each device: its own driver state (pools, locks) and controller
        plan = map_plan(w.bs, nsegs, 0, sgl_supported=dev.sgl_support and cfg.driver.sgl,
                        sgl_threshold=cfg.driver.sgl_threshold, kernel=cfg.driver.kernel, iommu=cfg.host.iommu)
        drivers.append(Driver(env, cfg, get_variant(variant), plan, nsegs, dev, dev.name if named else ""))
        devices.append(Device(env, dev))
    job_files = cfg.job_files()
    co = cfg.driver.irq_coalescing
    polled = w.hipri and cfg.driver.poll_queues > 0
    kernel = cfg.kernel()
    # CPU time is booked from the end of the ramp (the job opens its core's window)
    measure_from = float("inf") if w.ramp_time else 0.0
    job_cpus = cfg.job_cpus()
    iowq_cpus = cfg.iowq_cpus()
    sq_cpus = cfg.sq_cpus()
    # blk-mq's map: each CPU's hardware queue on each device, and the CPU of its vector
    # (a queue per CPU, its vector on that CPU, unless device.max_io_queues is lower)
    groups = [cfg.queue_groups(d) for d in range(len(devs))]
    hwq = [{c: g for g, cpus in enumerate(gs) for c in cpus} for gs in groups]
    vector = [[cfg.vector_cpu(d, cpus) for cpus in gs] for d, gs in enumerate(groups)]
    # the CPUs that take each (device, poolset)'s locks: submitters (io-wq workers and SQ
    # threads submit to their job's one device) and the cores completing on its queues; a
    # lock no other core takes needs no ordering
    takers: dict[tuple[int, int], set[int]] = {}
    submitters: dict[tuple[int, int], set[int]] = {}  # CPUs submitting to each (device, queue)
    helper_cpus = [[c for c in iowq_cpus[j]] + ([sq_cpus[j]] if sq_cpus else []) for j in range(len(job_cpus))]
    for j, cpu in enumerate(job_cpus):
        for d in job_files[j]:
            for c in [cpu] + (helper_cpus[j] if d == job_files[j][0] else []):
                # c allocates from its node's poolset; its queue's vector core frees into it
                k = (d, drivers[d].poolset_index(cfg.host.node_of(c)))
                takers.setdefault(k, set()).update((c, vector[d][hwq[d][c]]))
                submitters.setdefault((d, hwq[d][c]), set()).add(c)
    users = {k: len(v) for k, v in takers.items()}
    jobs: list[FioJob] = []
    cores: list[Core] = []
    helpers: list[tuple[Core, int]] = []  # io-wq, SQ thread and interrupt-only cores, with the job they serve
    noise = cfg.host.noise
    seeds_of = [job_seeds(cfg, replication, j) for j in range(len(job_cpus))]
    scales = [speed_factor(noise, np.random.default_rng(seeds[STREAM_SPEED])) for seeds in seeds_of]
    # SMT: a job whose core's other thread runs a job or a helper thread too runs slower
    threads = _threads(cfg)
    base_scales = list(scales)  # (a helper thread's own SMT factor is its own)
    for j, cpu in enumerate(job_cpus):
        if cfg.host.sibling_of(cpu) in threads:
            scales[j] *= cfg.host.smt_slowdown
    for j, cpu in enumerate(job_cpus):  # the job cores first: a queue's vector may be on a later job's
        steps = Multipliers(np.random.default_rng(seeds_of[j][STREAM_STEP_COSTS]) if noise.enabled else None,
                            noise.cost_cv, scales[j])
        cores.append(Core(env, cpu, cfg.host.node_of(cpu), measure_from, jitter=steps))
    core_of = {core.index: core for core in cores}
    on_core: dict[int, tuple[list, list]] = {c: ([], []) for c in core_of}  # the queues and handlers of its vectors
    built: dict[tuple[int, int], tuple] = {}  # (device, hardware queue) -> (queue, handler, completion)
    for j, cpu in enumerate(job_cpus):
        seeds, scale, core = seeds_of[j], scales[j], cores[j]
        # the job's queue on each device it opens (each with its vector)
        files, handlers = [], []
        shared = False
        completion = None
        for d in job_files[j]:
            driver, device = drivers[d], devices[d]
            g = hwq[d][cpu]
            poolset = driver.poolset_index(core.node)
            lock_shared = users[(d, poolset)] > 1
            shared = shared or lock_shared or vector[d][g] != cpu or len(submitters[(d, g)]) > 1
            if (d, g) not in built:
                vcore = core_of.get(vector[d][g]) or _irq_core(env, cfg, vector[d][g], replication, measure_from,
                                                               core_of, on_core, helpers, j)
                queue = Queue(env, vcore, polled, co.cqes, co.time_us * 1000.0,
                              tags=cfg.effective_queue_depth(d) - 1, rounds=devs[d].completes == "round")
                if len(submitters[(d, g)]) > 1:
                    queue.sq_lock = SpinLock(cfg.host.costs.lock_handoff_ns, cfg.host.costs.lock_handoff_remote_ns)
                vshared = any(users[(d, driver.poolset_index(cfg.host.node_of(c)))] > 1 for c in submitters[(d, g)])
                if polled:  # (one file, a queue per CPU: cross-checked in the config)
                    handler = None
                    completion = CompletionPath(driver, queue, core, core, L_POLL, POLL_FREE, catch_up=vshared,
                                                fifo=kernel.batch_fifo)
                else:
                    handler = IrqHandler(driver, queue, lock_shared=vshared, fifo=kernel.batch_fifo)
                built[(d, g)] = (queue, handler, completion)
                on_core[vcore.index][0].append(queue)
                on_core[vcore.index][1].append(handler)
            queue, handler, completion = built[(d, g)]
            files.append((queue, driver, device))
            handlers.append(handler)
        queue, driver, device = files[0]
        d0 = job_files[j][0]
        poolset = driver.poolset_index(core.node)
        # a thread only its own queue's interrupt handler can preempt
        lone = not polled and not shared and not co.cqes and len(files) == 1
        tags = cfg.effective_queue_depth(d0) - 1
        iowq = _io_wq(env, cfg, driver, device, d0, iowq_cpus[j], replication, j, base_scales[j], measure_from,
                      tags, users, kernel.batch_fifo, helpers) if iowq_cpus[j] else None
        streams = Streams(cfg, seeds, scale, [devs[d] for d in job_files[j]], file_seeds(cfg, replication, j,
                                                                                        len(files)))
        job = FioJob(env, cfg, j, core, queue, driver, device, streams,
                     lone=lone, completion=completion, poolset=poolset, iowq=iowq, files=files, logs=logs)
        runner = job.start()
        for (q, _, _), h in zip(files, handlers):
            if q.path is None:
                q.connect(completion if polled else h.path, h, runner)
        if noise.enabled and noise.tick_hz > 0:
            Ticks(env, core, *on_core[cpu], noise, np.random.default_rng(seeds[STREAM_TICKS]))
        if sq_cpus:
            _sq_thread(env, cfg, driver, device, d0, job, sq_cpus[j], replication, base_scales[j], measure_from,
                       tags, users, kernel, helpers)
        jobs.append(job)
    if cfg.driver.rq_affinity:
        _ipi_paths(cfg, built, submitters, core_of, on_core, drivers)
    try:
        if progress is None:
            env.run()  # until every job has drained and nothing is left to happen
        else:
            env.run_reporting((w.ramp_time + w.runtime) * 1e9, progress)
    finally:  # the logs' last windows (fio_writeout_logs as fio's helper thread exits), files closed
        for job in jobs:
            if job.logs is not None:
                job.logs.close(env.now, job.epoch)

    windows = []
    busy = [0.0] * len(PROFILE_LABELS)
    results = []
    depth = []
    for job, core in zip(jobs, cores):
        job.close_window()
        window = job.window_ns()
        windows.append(window)
        if job.sq is not None:  # SQPOLL: both threads spin, never sleep: what they did not book, they spun
            core.busy[L_FIO] += max(0.0, window - sum(core.busy))
            sq_core = job.sq.core
            sq_core.busy[L_SQ] += max(0.0, window - sum(sq_core.busy))
        for i, ns in enumerate(core.busy):
            busy[i] += ns
        depth.append(job.depth_area / window if window else 0.0)
        results.append(_job_result(cfg, job, core, window))
    profile = dict(zip(PROFILE_LABELS, busy))
    profile[IDLE] = max(0.0, sum(windows) - sum(busy))
    # the CPU time io-wq's workers spent (in each job's window) joins the profile; their
    # CPUs' idle time is not the jobs' (fio's own usr/sys stays the job thread's alone:
    # getrusage(RUSAGE_THREAD))
    helper_ns = 0.0
    for core, _job in helpers:
        for i, ns in enumerate(core.busy):
            profile[PROFILE_LABELS[i]] += ns
            helper_ns += ns
    return ReplicationResult(
        variant=variant,
        replication=replication,
        jobs=results,
        profile_ns=profile,
        windows_ns=windows,
        mean_depth=depth,
        pools=[p for drv in drivers for p in drv.pool_stats()],
        events=env.events_scheduled,
        wall_s=time.perf_counter() - t0,
        ios_simulated=sum(job.reaped_all for job in jobs),
        helper_core_ns=helper_ns,
    )


def _threads(cfg: Config) -> set[int]:
    """The CPUs that run a thread: the jobs', their io-wq workers' and SQ threads'."""
    return set(cfg.job_cpus()) | {c for cpus in cfg.iowq_cpus() for c in cpus} | set(cfg.sq_cpus())


def _irq_core(env: Engine, cfg: Config, cpu: int, replication: int, measure_from: float, core_of: dict,
              on_core: dict, helpers: list[tuple[Core, int]], job: int) -> Core:
    """A CPU no job runs on that takes a shared queue's interrupts: its own step-cost
    stream (replication, 2000 + cpu); no timer tick (an otherwise idle CPU is NOHZ idle:
    an assumption), booked into the profile with the job that first used it."""
    noise = cfg.host.noise
    rng = np.random.default_rng(np.random.SeedSequence(cfg.sim.seed, spawn_key=(replication, 2000 + cpu)))
    core = Core(env, cpu, cfg.host.node_of(cpu), measure_from,
                jitter=Multipliers(rng if noise.enabled else None, noise.cost_cv, 1.0))
    core_of[cpu] = core
    on_core[cpu] = ([], [])
    helpers.append((core, job))
    return core


def _io_wq(env: Engine, cfg: Config, driver: Driver, device: Device, dev: int, cpus: list[int], replication: int,
           job: int, scale: float, measure_from: float, tags: int, users: dict[tuple[int, int], int], fifo: bool,
           helpers: list[tuple[Core, int]]) -> IoWq:
    """Job ``job``'s io-wq: a worker on each of ``cpus``, with that CPU's own NVMe queue
    (its tags) and interrupt handler (sim/iowq.py)."""
    wq = IoWq(env)
    for i, cpu in enumerate(cpus):
        _helper(env, cfg, driver, dev, cpu, worker_seeds(cfg, replication, job, i), scale, measure_from, tags,
                users, fifo, helpers, job,
                lambda core, queue, poolset: IoWorker(env, wq, core, queue, driver, device, cfg.host.costs, poolset))
    return wq


def _sq_thread(env: Engine, cfg: Config, driver: Driver, device: Device, dev: int, job: FioJob, cpu: int,
               replication: int, scale: float, measure_from: float, tags: int, users: dict[tuple[int, int], int],
               kernel, helpers: list[tuple[Core, int]]) -> SqThread:
    """Job ``job``'s SQPOLL thread on ``cpu``, with that CPU's NVMe queue and interrupt
    handler (sim/sqpoll.py); its host noise on the job's first helper streams."""
    return _helper(env, cfg, driver, dev, cpu, worker_seeds(cfg, replication, job.index, 0), scale, measure_from,
                   tags, users, kernel.batch_fifo, helpers, job.index,
                   lambda core, queue, poolset: SqThread(env, job, core, queue, driver, device, cfg.host.costs,
                                                         poolset, kernel.plug_fifo, cfg.workload.bs))


def _helper(env: Engine, cfg: Config, driver: Driver, dev: int, cpu: int, seeds: list[np.random.SeedSequence],
            scale: float, measure_from: float, tags: int, users: dict[tuple[int, int], int], fifo: bool,
            helpers: list[tuple[Core, int]], job: int, make_thread):
    """A core that does a job's kernel work on another CPU (an io-wq worker, a SQ thread):
    its host noise (``seeds``: step multipliers, ticks), its own NVMe queue and interrupt
    handler, and the thread ``make_thread(core, queue, poolset)`` builds on it."""
    noise = cfg.host.noise
    co = cfg.driver.irq_coalescing
    steps_seed, ticks_seed = seeds
    if cfg.host.sibling_of(cpu) in _threads(cfg):
        scale *= cfg.host.smt_slowdown
    steps = Multipliers(np.random.default_rng(steps_seed) if noise.enabled else None, noise.cost_cv, scale)
    core = Core(env, cpu, cfg.host.node_of(cpu), measure_from, jitter=steps)
    poolset = driver.poolset_index(core.node)
    queue = Queue(env, core, False, co.cqes, co.time_us * 1000.0, tags=tags,
                  rounds=cfg.device_list()[dev].completes == "round")
    handler = IrqHandler(driver, queue, lock_shared=users[(dev, poolset)] > 1, fifo=fifo)
    thread = make_thread(core, queue, poolset)
    queue.connect(handler.path, handler, thread.runner)
    if noise.enabled and noise.tick_hz > 0:
        Ticks(env, core, [queue], [handler], noise, np.random.default_rng(ticks_seed))
    helpers.append((core, job))
    return thread


def _ipi_paths(cfg: Config, built: dict, submitters: dict, core_of: dict, on_core: dict, drivers: list) -> None:
    """rq_affinity: the queues whose interrupt runs on a CPU that does not share a cache
    with a submitter (rq_affinity 1: another NUMA node) or is not the submitter
    (rq_affinity 2) send that submitter's completions to it by IPI
    (``blk_mq_complete_need_ipi``); each such CPU gets one :class:`IpiHandler` (its
    ``blk_cpu_done`` list), shared by every queue that sends to it."""
    node_of = cfg.host.node_of
    force = cfg.driver.rq_affinity == 2
    ipis: dict[int, IpiHandler] = {}
    for (d, _g), (queue, handler, _completion) in built.items():
        if handler is None:  # a polled queue completes in its poller (REQ_POLLED: never remote)
            continue
        vec = queue.core.index
        remote = {}
        for c in sorted(submitters[(d, _g)]):
            if c != vec and (force or node_of(c) != node_of(vec)):
                if c not in ipis:
                    ipis[c] = IpiHandler(drivers[d], core_of[c], cfg.host.costs.ipi_latency_ns)
                    on_core[c][1].append(ipis[c])
                remote[c] = ipis[c].path
        if remote:
            handler.path.remote = remote


def _job_result(cfg: Config, job: FioJob, core: Core, window: float) -> JobResult:
    """fio's per-job record of one job (its options are added by the output layer)."""
    elapsed_us = utime_since(job.epoch, job.finished_at)
    runtime = runtime_ms(elapsed_us)
    # update_runtime: a direction's runtime accumulates only if it moved bytes
    job.read.runtime_ms = runtime if job.read.io_bytes else 0
    job.write.runtime_ms = runtime if job.write.io_bytes else 0
    busy = sum(core.busy) - core.idle_irq  # the thread's rusage: not the handlers that ran while it slept
    user = core.busy[L_FIO]
    return JobResult(
        jobname=cfg.job_names()[job.index],
        groupid=0,
        read=job.read,
        write=job.write,
        job_runtime_ms=mtime_since(job.epoch, job.finished_at),  # total_run_time
        elapsed_s=int(round(job.finished_at / 1e9)),
        usr_cpu=100.0 * user / window if window else 0.0,
        sys_cpu=100.0 * (busy - user) / window if window else 0.0,
        ctx=job.ctx,
        depth_map=job.depth_map,
        submit_map=job.submit_map,
        complete_map=job.complete_map,
        total_submit=job.total_submit,
        total_complete=job.total_complete,
        latency_depth=cfg.workload.iodepth,
        extra={"cpu": job.core.index, "mean_depth": job.depth_area / window if window else 0.0,
               "window_ns": window},
    )
