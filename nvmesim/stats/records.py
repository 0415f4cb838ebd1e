"""The records a simulation produces: typed, plain data, no SimPy, no pandas.

* :class:`DirResult` / :class:`JobResult` — what fio keeps per direction and per job
  (``struct thread_stat``): counts, bytes, the slat/clat/lat histograms, CPU;
* :class:`PoolStats` — one dmapool's operations and its lock, over the window;
* :class:`ReplicationResult` — one replication of one variant: its jobs, the CPU profile
  per label (:data:`PROFILE_LABELS`), pools, depth, and simulation speed;
* :func:`merge_replications` / :func:`group_jobs` — fio's ``sum_thread_stats`` over
  replications and over jobs (``group_reporting``).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .hist import LatencyHist, RunningStat

#: The call chains the simulator books CPU time into, each from the entry of its context
#: (fio's own code, a syscall, the NVMe interrupt) down to the function that ran, by the
#: kernel function names perf shows.  Coarse by design: a syscall's own work (entry and
#: exit, iocb/SQE set-up, the block layer) is booked under its entry symbol; the pool's
#: lock is perf's ``_raw_spin_lock_irqsave`` (acquire and release, the lock line's
#: hand-off) and, when it has to wait for another holder, ``native_queued_spin_lock_slowpath``.
_POOL_OP = ("_raw_spin_lock_irqsave", "native_queued_spin_lock_slowpath")


def _with_pool(prefix: tuple[str, ...], op: str) -> tuple[tuple[str, ...], ...]:
    return (prefix + (op,), prefix + (op, _POOL_OP[0]), prefix + (op,) + _POOL_OP)


def _sq_lock(prefix: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """A shared queue's SQ lock under ``prefix``: ``nvme_submit_cmds`` / ``nvme_queue_rq`` copy the SQEs and
    ring the doorbell under ``spin_lock(&nvmeq->sq_lock)`` (no irqsave), perf's ``_raw_spin_lock``."""
    return (prefix + ("_raw_spin_lock",), prefix + ("_raw_spin_lock", _POOL_OP[1]))


CALL_CHAINS: tuple[tuple[str, ...], ...] = (
    ("fio",),
    ("io_submit",),
    ("io_submit", "nvme_queue_rq"),
    *_with_pool(("io_submit", "nvme_queue_rq"), "dma_pool_alloc"),
    *_sq_lock(("io_submit", "nvme_queue_rq")),
    ("io_getevents",),
    ("io_uring_enter",),
    ("io_uring_enter", "nvme_queue_rq"),
    *_with_pool(("io_uring_enter", "nvme_queue_rq"), "dma_pool_alloc"),
    *_sq_lock(("io_uring_enter", "nvme_queue_rq")),
    ("io_uring_enter", "io_req_rw_complete"),  # DEFER_TASKRUN: CQEs posted inside io_uring_enter
    ("tctx_task_work",),  # COOP_TASKRUN / none: task work on return to user mode
    ("tctx_task_work", "io_req_rw_complete"),
    ("io_uring_enter", "io_queue_iowq"),  # a request that found no tag, handed to io-wq
    ("tctx_task_work", "io_queue_iowq"),  # (6.14+ without DEFER_TASKRUN: handed over from task work)
    ("io_sq_thread",),  # SQPOLL: the SQ thread's own work and its spinning
    ("io_sq_thread", "nvme_queue_rq"),
    *_with_pool(("io_sq_thread", "nvme_queue_rq"), "dma_pool_alloc"),
    ("io_sq_thread", "io_req_rw_complete"),  # its task work: the CQEs
    ("io_wq_worker",),  # an io-wq worker: its switches and the blocking issue
    ("io_wq_worker", "nvme_queue_rq"),
    *_with_pool(("io_wq_worker", "nvme_queue_rq"), "dma_pool_alloc"),
    ("io_uring_enter", "nvme_poll"),
    *_with_pool(("io_uring_enter", "nvme_poll"), "dma_pool_free"),
    ("blk_mq_run_work_fn",),  # kblockd's worker: a plug flushed from schedule(), dispatched async
    ("blk_mq_run_work_fn", "nvme_queue_rq"),
    *_with_pool(("blk_mq_run_work_fn", "nvme_queue_rq"), "dma_pool_alloc"),
    *_sq_lock(("blk_mq_run_work_fn", "nvme_queue_rq")),
    ("nvme_irq",),
    *_with_pool(("nvme_irq",), "dma_pool_free"),
    ("blk_done_softirq",),  # rq_affinity: completions sent to the submitting CPU by IPI, run in its softirq
    *_with_pool(("blk_done_softirq",), "dma_pool_free"),
    ("__sysvec_apic_timer_interrupt",),  # the timer tick and the softirq work it raises (host noise)
)
#: Profile labels: the call chains folded as flame graphs write them (``a;b;c``).
PROFILE_LABELS: tuple[str, ...] = tuple(";".join(c) for c in CALL_CHAINS)
#: Every symbol of the chains, in first-appearance order.
SYMBOLS: tuple[str, ...] = tuple(dict.fromkeys(sym for c in CALL_CHAINS for sym in c))
#: The profile's share of time no label claimed.
IDLE = "idle"
#: The submitting syscall of each engine.
SUBMIT_SYSCALL = {"libaio": "io_submit", "io_uring": "io_uring_enter"}


def label(*chain: str) -> int:
    """The index of a call chain in :data:`PROFILE_LABELS` (the simulator charges by index)."""
    return PROFILE_LABELS.index(";".join(chain))


@dataclass(frozen=True, slots=True)
class PoolLabels:
    """Where one pool operation's time goes: the dmapool function itself, its lock, and
    the spinning on that lock, under the context that called it."""

    op: int
    lock: int
    spin: int

    @classmethod
    def under(cls, *caller: str, op: str) -> "PoolLabels":
        return cls(label(*caller, op), label(*caller, op, _POOL_OP[0]), label(*caller, op, *_POOL_OP))


L_FIO = label("fio")
L_GETEVENTS = label("io_getevents")
L_URING = label("io_uring_enter")
L_IRQ = label("nvme_irq")
L_POLL = label("io_uring_enter", "nvme_poll")
L_TW_ENTER = label("io_uring_enter", "io_req_rw_complete")
L_TW_USER = label("tctx_task_work", "io_req_rw_complete")
L_TCTX = label("tctx_task_work")
L_TICK = label("__sysvec_apic_timer_interrupt")
#: the submitting CPU's completions sent by IPI (the IPI's entry, blk_done_softirq's pass)
L_IPI = label("blk_done_softirq")
IPI_FREE = PoolLabels.under("blk_done_softirq", op="dma_pool_free")
#: dma_pool_free in the interrupt handler and in the poll loop
IRQ_FREE = PoolLabels.under("nvme_irq", op="dma_pool_free")
POLL_FREE = PoolLabels.under("io_uring_enter", "nvme_poll", op="dma_pool_free")


#: kblockd's run of a hardware queue: its own switch, nvme_queue_rq, dma_pool_alloc
L_KBLOCKD = label("blk_mq_run_work_fn")
L_KBLOCKD_RQ = label("blk_mq_run_work_fn", "nvme_queue_rq")
KBLOCKD_ALLOC = PoolLabels.under("blk_mq_run_work_fn", "nvme_queue_rq", op="dma_pool_alloc")


#: io-wq: the hand-over (in the submitting task), the worker's own work, nvme_queue_rq
#: and dma_pool_alloc under it
L_PUNT = label("io_uring_enter", "io_queue_iowq")
L_PUNT_TW = label("tctx_task_work", "io_queue_iowq")
L_IOWQ = label("io_wq_worker")
L_IOWQ_RQ = label("io_wq_worker", "nvme_queue_rq")
IOWQ_ALLOC = PoolLabels.under("io_wq_worker", "nvme_queue_rq", op="dma_pool_alloc")


#: SQPOLL's thread: its own work and spinning, nvme_queue_rq, dma_pool_alloc, its CQE posts
L_SQ = label("io_sq_thread")
L_SQ_RQ = label("io_sq_thread", "nvme_queue_rq")
SQ_ALLOC = PoolLabels.under("io_sq_thread", "nvme_queue_rq", op="dma_pool_alloc")
L_SQ_CQE = label("io_sq_thread", "io_req_rw_complete")


@functools.cache
def sq_lock_labels(rq_label: int) -> tuple[int, int]:
    """The SQ lock's labels (held, spinning) under the nvme_queue_rq of ``rq_label``."""
    chain = PROFILE_LABELS[rq_label].split(";")
    return label(*chain, "_raw_spin_lock"), label(*chain, "_raw_spin_lock", _POOL_OP[1])


def submit_labels(engine: str) -> tuple[int, int, PoolLabels]:
    """The labels of a submission by ``engine``: the syscall's own, nvme_queue_rq under
    it, and dma_pool_alloc under that."""
    syscall = SUBMIT_SYSCALL[engine]
    return label(syscall), label(syscall, "nvme_queue_rq"), PoolLabels.under(syscall, "nvme_queue_rq",
                                                                              op="dma_pool_alloc")


def self_time(profile: Mapping[str, float]) -> dict[str, float]:
    """``perf report --no-children``: each symbol's own time, wherever it was called from."""
    out = dict.fromkeys(SYMBOLS, 0.0)
    for chain, ns in profile.items():
        if chain != IDLE:
            out[chain.rsplit(";", 1)[-1]] += ns
    return out


def children_time(profile: Mapping[str, float]) -> dict[str, float]:
    """``perf report`` (the default, ``--children``): each symbol's time with everything it
    called, counted once per chain it appears in."""
    out = dict.fromkeys(SYMBOLS, 0.0)
    for chain, ns in profile.items():
        if chain != IDLE:
            for sym in dict.fromkeys(chain.split(";")):
                out[sym] += ns
    return out

@dataclass
class DirResult:
    """One direction ("read"/"write"/"trim") of one job (fio's per-direction stats)."""

    total_ios: int = 0      # I/Os queued after the ramp (fio's total_io_u: counted at td_io_queue)
    io_bytes: int = 0       # bytes completed and accounted after the ramp
    runtime_ms: int = 0     # fio's per-direction 'runtime' (ms, the drain included)
    slat: LatencyHist = field(default_factory=LatencyHist)
    clat: LatencyHist = field(default_factory=LatencyHist)
    lat: LatencyHist = field(default_factory=LatencyHist)
    bw_stat: RunningStat = field(default_factory=RunningStat)    # KiB/s samples (bw_avg_time)
    iops_stat: RunningStat = field(default_factory=RunningStat)  # IOPS samples (iops_avg_time)
    short_ios: int = 0
    drop_ios: int = 0

    def reset(self) -> None:
        """fio's ``reset_io_stats`` for this direction (the end of the ramp), in place."""
        self.total_ios = self.io_bytes = self.runtime_ms = self.short_ios = self.drop_ios = 0
        self.slat, self.clat, self.lat = LatencyHist(), LatencyHist(), LatencyHist()
        self.bw_stat, self.iops_stat = RunningStat(), RunningStat()

    def merge(self, other: "DirResult", rates: str = "sum") -> "DirResult":
        """Fold ``other`` into ``self`` like fio's ``sum_thread_stats``
        (group_reporting): histograms merged, counters summed, runtime the
        max; bandwidth and IOPS samples summed as rates (``rates="sum"``, fio's
        pure sum) or pooled as more samples of one rate (``rates="pool"``: the same
        job's replications).  Returns ``self``."""
        self.total_ios += other.total_ios
        self.io_bytes += other.io_bytes
        self.short_ios += other.short_ios
        self.drop_ios += other.drop_ios
        if other.runtime_ms > self.runtime_ms:
            self.runtime_ms = other.runtime_ms
        self.slat.merge(other.slat)
        self.clat.merge(other.clat)
        self.lat.merge(other.lat)
        if rates == "sum":
            self.bw_stat.sum_rates(other.bw_stat)
            self.iops_stat.sum_rates(other.iops_stat)
        else:
            self.bw_stat.merge_stats(other.bw_stat)
            self.iops_stat.merge_stats(other.iops_stat)
        return self

    @property
    def runtime_reported(self) -> int:
        """fio accumulates a direction's runtime only if it moved bytes."""
        return int(self.runtime_ms) if self.io_bytes else 0

    @property
    def bw_bytes(self) -> int:
        """Bytes/s, integer-truncated: ``(1000 * io_bytes) / runtime``."""
        rt = self.runtime_reported
        return (1000 * int(self.io_bytes)) // rt if rt else 0

    @property
    def bw(self) -> int:
        """KiB/s, integer-truncated: ``bw_bytes / 1024``."""
        return self.bw_bytes // 1024

    @property
    def iops(self) -> float:
        rt = self.runtime_reported
        return (1000.0 * int(self.total_ios)) / rt if rt else 0.0


@dataclass
class JobResult:
    """Everything fio prints for one job (or one group with group_reporting)."""

    jobname: str = "nvmesim"
    groupid: int = 0
    error: int = 0
    job_options: dict[str, str] = field(default_factory=dict)
    read: DirResult = field(default_factory=DirResult)
    write: DirResult = field(default_factory=DirResult)
    trim: DirResult = field(default_factory=DirResult)
    job_runtime_ms: int = 0       # fio 'job_runtime' (total_run_time)
    elapsed_s: int = 0            # fio 'elapsed'
    eta_s: int = 0                # fio 'eta' (0 once finished)
    usr_cpu: float = 0.0          # percent of job_runtime
    sys_cpu: float = 0.0
    ctx: int = 0
    majf: int = 0
    minf: int = 0
    # fio's depth and batch counters (io_u_map, io_u_submit, io_u_complete: 7 slots each,
    # io_u_mark_depth / __io_u_mark_map) and their denominators; None -> not counted
    depth_map: list[int] | None = None
    submit_map: list[int] | None = None
    complete_map: list[int] | None = None
    total_submit: int = 0
    total_complete: int = 0
    # the same as fio prints them (percent dicts), when only those are known (a fio
    # document read back); None -> derived from the counters above, or all 0.0
    iodepth_level: dict[str, float] | None = None
    iodepth_submit: dict[str, float] | None = None
    iodepth_complete: dict[str, float] | None = None
    # None -> derived from the read/write/trim clat histograms
    latency_ns: dict[str, float] | None = None
    latency_us: dict[str, float] | None = None
    latency_ms: dict[str, float] | None = None
    # fio prints these four whenever latency_depth != 0, i.e. always;
    # latency_depth None -> the job's iodepth option (fio's latency_qd).
    latency_depth: int | None = None
    latency_target: int = 0
    latency_percentile: float = 100.0
    latency_window: int = 0
    extra: dict = field(default_factory=dict)  # emitted under "nvmesim" inside the job

    def dirs(self) -> tuple[DirResult, DirResult, DirResult]:
        return (self.read, self.write, self.trim)

    def add_counters(self, other: "JobResult") -> None:
        """Add ``other``'s depth and batch counters to these (fio's ``sum_thread_stats``)."""
        for name in ("depth_map", "submit_map", "complete_map"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None:
                setattr(self, name, [a + b for a, b in zip(mine, theirs)] if mine is not None else list(theirs))
        self.total_submit += other.total_submit
        self.total_complete += other.total_complete

    @property
    def total_ios(self) -> int:
        """fio's ``ddir_rw_sum(total_io_u)``."""
        return sum(d.total_ios for d in self.dirs())


@dataclass(frozen=True, slots=True)
class PoolStats:
    """One dmapool (per device, or per NUMA node) and its spinlock, over the measurement
    window's replication (operations from the start of the run: the pool's whole life)."""

    node: int  # NUMA node of the poolset (0 with one pair per device)
    block_size: int  # 256 ("prp list 256") or 4096 ("prp list page")
    ops: int  # allocs + frees
    nodes: int  # list descriptors walked (legacy's page list)
    ns: float  # simulated ns of all operations
    pages: int  # pages the pool holds at the end
    lock_acquisitions: int
    lock_contended: int  # acquisitions that found the lock held
    lock_spin_ns: float = 0.0  # waiting for another holder, over all acquisitions
    lock_handoff_ns: float = 0.0  # pulling the lock's line from another CPU
    device: str = ""  # the device's name when a run has several ("" with one)
    transfers_local: int = 0  # pool lines pulled from another CPU's cache on the same node
    transfers_remote: int = 0  # ... from a CPU on another node

    @property
    def name(self) -> str:
        pool = f"node{self.node}/prp{self.block_size}"
        return f"{self.device}/{pool}" if self.device else pool

    @property
    def nodes_per_op(self) -> float:
        return self.nodes / self.ops if self.ops else float("nan")

    @property
    def ns_per_op(self) -> float:
        return self.ns / self.ops if self.ops else float("nan")

    @property
    def lock_contended_pct(self) -> float:
        return 100.0 * self.lock_contended / max(1, self.lock_acquisitions)

    def as_dict(self) -> dict[str, float | int | str]:
        """The record and its derived figures, as plain JSON-able data."""
        return {"name": self.name, **({"device": self.device} if self.device else {}), "node": self.node,
                "block_size": self.block_size, "ops": self.ops,
                "nodes": self.nodes, "ns": self.ns, "pages": self.pages,
                "lock_acquisitions": self.lock_acquisitions, "lock_contended": self.lock_contended,
                "lock_spin_ns": self.lock_spin_ns, "lock_handoff_ns": self.lock_handoff_ns,
                "transfers_local": self.transfers_local, "transfers_remote": self.transfers_remote,
                "nodes_per_op": self.nodes_per_op, "ns_per_op": self.ns_per_op,
                "lock_contended_pct": self.lock_contended_pct}


@dataclass
class ReplicationResult:
    """Everything one replication of one variant produced (no per-I/O data)."""

    variant: str
    replication: int
    jobs: list[JobResult]
    profile_ns: dict[str, float]  # label -> CPU ns over all job cores, each in its window; includes "idle"
    windows_ns: list[float]  # per job: its measured window, from the end of its ramp to the end of its drain
    mean_depth: list[float]  # per job: time-average of outstanding I/Os over its window (Little's L)
    pools: list[PoolStats] = field(default_factory=list)  # pools that did any operation
    events: int = 0  # SimPy events scheduled
    wall_s: float = 0.0
    ios_simulated: int = 0  # every I/O completed, ramp included
    helper_core_ns: float = 0.0  # CPU time io-wq's workers spent in their jobs' windows (in the profile too)

    @property
    def core_ns(self) -> float:
        """The job cores' measured time, plus the CPU time their io-wq workers spent on
        other cores: what the profile's shares divide."""
        return sum(self.windows_ns) + self.helper_core_ns

    @property
    def ios_per_wall_second(self) -> float:
        """Simulation speed: simulated I/Os per second of wall-clock time."""
        return self.ios_simulated / self.wall_s if self.wall_s else 0.0

    @property
    def total_ios(self) -> int:
        return sum(j.total_ios for j in self.jobs)


def merge_replications(reps: Sequence[ReplicationResult]) -> list[JobResult]:
    """Each job merged over replications: histograms merged, counts and measured runtime
    summed (so IOPS and bandwidth are replication averages), CPU averaged."""
    if not reps:
        return []
    out = []
    for j in range(len(reps[0].jobs)):
        base = copy.deepcopy(reps[0].jobs[j])
        for rep in reps[1:]:
            other = rep.jobs[j]
            for mine, theirs in ((base.read, other.read), (base.write, other.write)):
                runtime = mine.runtime_ms + theirs.runtime_ms
                mine.merge(theirs, rates="pool")
                mine.runtime_ms = runtime
            base.add_counters(other)
            base.job_runtime_ms += other.job_runtime_ms
            base.elapsed_s += other.elapsed_s
            base.ctx += other.ctx
        n = len(reps)
        base.usr_cpu = sum(r.jobs[j].usr_cpu for r in reps) / n
        base.sys_cpu = sum(r.jobs[j].sys_cpu for r in reps) / n
        base.extra = {
            "cpu": base.extra.get("cpu"),
            "mean_depth": sum(r.mean_depth[j] for r in reps) / n,
            "replications": n,
        }
        out.append(base)
    return out


def group_jobs(jobs: Sequence[JobResult]) -> JobResult:
    """All jobs as one (fio's ``group_reporting``): directions merged, context switches
    summed, CPU averaged over the jobs."""
    g = copy.deepcopy(jobs[0])
    for other in jobs[1:]:
        for mine, theirs in ((g.read, other.read), (g.write, other.write)):
            mine.merge(theirs)
        g.add_counters(other)
        g.ctx += other.ctx
        g.usr_cpu += other.usr_cpu
        g.sys_cpu += other.sys_cpu
    g.usr_cpu /= len(jobs)
    g.sys_cpu /= len(jobs)
    return g
