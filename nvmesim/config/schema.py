"""The schema of a run: one pydantic model per config section.

Sections: ``workload`` (fio's option names and defaults), ``host`` (cores and the
CPU cost of each software step), ``driver`` (nvme-pci behaviour), ``device``
(the NVMe drive), ``allocator`` (dmapool variants and cost constants) and
``sim`` (seed, replications, warm-up).  Unknown keys are rejected.

The *effective* config (every default filled in) is ``Config.effective()``; it
is stored with every result.  Loading from YAML with located errors is
:mod:`nvmesim.config.loader`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..allocators import PoolError, get_variant
from ..allocators.costmodel import PAGE, CostModel
from .kernels import IOMMU_MAX_KB, KERNELS, KernelName, KernelRules
from .iolog import IologError, scan, split_names
from .presets import DEVICE_PRESETS
from .units import parse_size, parse_time_ns

# --------------------------------------------------------------------------
# field types


def _size(v: Any) -> int:
    return parse_size(v)


def _seconds(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if not math.isfinite(v):
            raise ValueError(f"expected a finite time, got {v!r}")
        return float(v)
    return parse_time_ns(v) / 1e9


def _usecs(v: Any) -> float:
    """fio's thinktime: a bare number is microseconds; strings may carry a unit."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return parse_time_ns(v, default_unit="us") / 1e3


Size = Annotated[int, BeforeValidator(_size)]
Micros = Annotated[float, BeforeValidator(_usecs)]
Seconds = Annotated[float, BeforeValidator(_seconds)]


#: fio's default ``percentile_list`` (options.c, HOWTO)
DEFAULT_PERCENTILES: tuple[float, ...] = (
    1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0,
    95.0, 99.0, 99.5, 99.9, 99.95, 99.99,
)


def _numeric(field: Any) -> bool:
    """A plain number field (int, float, an int Literal, or one of them or None), whose
    value pydantic's lax mode would take from a bool (``true`` -> 1) or a string.  Fields
    with their own parser (sizes, times: :data:`Size`, :data:`Seconds`) are not plain."""
    if any(type(m).__name__.endswith("Validator") for m in field.metadata):
        return False
    ann = field.annotation
    args = getattr(ann, "__args__", None)
    if getattr(ann, "__origin__", None) is Literal:
        return all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    if args and type(None) in args:  # X | None
        rest = [a for a in args if a is not type(None)]
        return len(rest) == 1 and rest[0] in (int, float)
    return ann in (int, float)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)  # a cost, time or size is finite

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, v: Any, info: Any) -> Any:
        """No bool where a number belongs (pydantic would read ``iodepth: true`` as 1),
        and — for YAML configs, ``--set`` and the Python API, where a number can be
        written as one — no string either (``iodepth: "64"``); a fio job file's values
        are text by nature and are converted by fio's rules (``context={"text": True}``)."""
        if isinstance(v, (bool, str)):
            field = cls.model_fields.get(info.field_name)
            if field is not None and _numeric(field):
                what = "a number" if float in getattr(field.annotation, "__args__", (field.annotation,)) else \
                    "an integer"
                if isinstance(v, bool):
                    raise ValueError(f"expected {what}, got {v!r} (a boolean)")
                if not (info.context or {}).get("text"):
                    raise ValueError(f"expected {what}, got the string {v!r}")
        return v


#: Linux's largest NR_CPUS on x86-64: the most CPUs a host can have
MAX_CPUS = 8192


def parse_cpus(spec: str) -> list[int]:
    """fio's ``cpus_allowed`` syntax: ``"0-3,8,10-11"`` -> [0, 1, 2, 3, 8, 10, 11]."""
    cpus: list[int] = []
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ValueError(f"expected CPU ranges like '0-3,8', got {spec!r}")
        a, b = int(lo), int(hi or lo)
        if b >= MAX_CPUS:  # (before the list: 0-99999999999 would exhaust memory)
            raise ValueError(f"CPU {b} in {spec!r} does not exist: at most {MAX_CPUS} CPUs (Linux's largest NR_CPUS)")
        if b < a:
            raise ValueError(f"CPU range {part!r} runs backwards")
        cpus.extend(range(a, b + 1))
    if not cpus:
        raise ValueError("expected at least one CPU")
    return sorted(set(cpus))


# --------------------------------------------------------------------------
# sections


def file_service(text: str) -> tuple[str, int]:
    """fio's ``file_service_type`` value: (kind, file_service_nr)."""
    kind, _, nr = str(text).partition(":")
    if kind in ("sequential", "zipf", "pareto", "gauss", "normal"):
        raise ValueError(f"{kind!r} is not modelled (roundrobin or random, optionally ':N')")
    if kind not in ("roundrobin", "random"):
        raise ValueError(f"expected roundrobin or random, optionally ':N', got {text!r}")
    if not nr:
        return kind, 1
    if not nr.isdigit() or int(nr) < 1:
        raise ValueError(f"':N' must be a positive count of I/Os, got {text!r}")
    return kind, int(nr)


class Workload(_Section):
    """One fio job section; fio's option names, fio's defaults."""

    name: str = "job"
    ioengine: Literal["io_uring", "libaio"] = "io_uring"
    rw: Literal["read", "write", "randread", "randwrite", "randrw", "rw", "readwrite"] = "randread"
    rwmixread: int = Field(50, ge=0, le=100, description="percent reads for rw=randrw/rw")
    bs: Size = Field(4096, description="block size (4k, 128k, ...)")
    iomem: Literal["malloc", "mmaphuge"] = Field(
        "malloc",
        description="fio's iomem: malloc = 4 KiB pages, one DMA segment per page; "
        "mmaphuge = huge pages, one segment per I/O",
    )
    iodepth: int = Field(1, description="I/Os in flight per job")
    iodepth_batch_submit: int = Field(
        1,
        validation_alias=AliasChoices("iodepth_batch_submit", "iodepth_batch"),
        description="submit once this many are queued; 0 = iodepth (alias iodepth_batch)",
    )
    iodepth_batch_complete_min: int = Field(
        1,
        ge=0,
        validation_alias=AliasChoices("iodepth_batch_complete_min", "iodepth_batch_complete"),
        description="reap at least this many; 0 = poll (alias iodepth_batch_complete)",
    )
    iodepth_batch_complete_max: int | None = Field(None, description="reap at most this many; default = min")
    iodepth_low: int | None = Field(None, ge=0, description="when full, reap down to this depth; 0/default = iodepth")
    numjobs: int = Field(1, description="identical jobs, one thread each")
    cpus_allowed: str | None = Field(None, description="CPUs the jobs run on (split: job i on the i-th CPU)")
    runtime: Seconds = Field(1.0, gt=0, description="measured run time after ramp_time (s or with unit); fio "
                             "stops issuing then and drains what is in flight (fio has no default; nvmesim's is 1 s)")
    time_based: bool = Field(True, description="run for the whole runtime, whatever size says (fio's default is 0; "
                             "nvmesim simulates no file to exhaust, so its default is 1)")
    size: Size | None = Field(None, description="bytes of I/O per job before it stops issuing, when not time_based "
                              "(fio: the file's size; nvmesim has none: no limit)")
    io_size: Size | None = Field(None, description="like size, and preferred to it (fio's io_size / io_limit)")
    ramp_time: Seconds = Field(0.0, ge=0, description="warm-up: fio resets every statistic at the first "
                               "submission or completion after it, and the runtime counts from there")
    number_ios: int = Field(0, ge=0, description="when not time_based: stop issuing once this many I/Os are "
                            "done or in flight (0 = no limit)")
    bw_avg_time: int = Field(500, ge=1, description="ms between bandwidth samples (bw_min/max/mean/dev)")
    iops_avg_time: int = Field(500, ge=1, description="ms between IOPS samples (iops_min/max/mean/stddev)")
    # fio's logs (nvmesim/stats/iologs.py): a prefix each ("" or true: the job's name); files
    # <prefix>_<type>.<jobnum>.log in the current directory, <prefix>.<variant>_... when the run
    # has several variants, from replication 0 of each
    write_lat_log: str | None = Field(None, description="fio's write_lat_log: per-I/O lat, slat and clat logs "
                                      "(<prefix>_lat.1.log, _slat, _clat; ns)")
    write_bw_log: str | None = Field(None, description="fio's write_bw_log: bandwidth log (<prefix>_bw.1.log; "
                                     "per I/O bytes*1e6/clat_ns, else KiB/s per log_avg_msec window)")
    write_iops_log: str | None = Field(None, description="fio's write_iops_log: IOPS log (<prefix>_iops.1.log; "
                                       "per I/O 1, else IOPS per log_avg_msec window)")
    write_hist_log: str | None = Field(None, description="fio's write_hist_log: clat histogram log "
                                       "(<prefix>_clat_hist.1.log) every log_hist_msec (0: none)")
    log_avg_msec: int = Field(0, ge=0, description="fio's log_avg_msec: one averaged entry per window of this many "
                              "ms (0: an entry per I/O); also bw_avg_time/iops_avg_time unless they are set")
    log_hist_msec: int = Field(0, ge=0, description="fio's log_hist_msec: ms between histogram log entries")
    log_hist_coarseness: int = Field(0, ge=0, le=6, description="fio's log_hist_coarseness: histogram log bins "
                                     "merged in groups of 2^N (0: fio's 1856)")
    log_max_value: bool = Field(False, description="fio's log_max_value: a window's maximum instead of its mean")
    log_offset: bool = Field(False, description="fio's log_offset: 0 only (nvmesim simulates no offsets)")

    @field_validator("write_lat_log", "write_bw_log", "write_iops_log", "write_hist_log", mode="before")
    @classmethod
    def _log_prefix(cls, v: Any) -> Any:
        # fio's str_write_*_log_cb: a bare option (YAML true) logs under the job's name
        if isinstance(v, bool):
            return "" if v else None
        return str(v) if isinstance(v, int) else v

    @field_validator("log_offset")
    @classmethod
    def _no_offsets(cls, v: bool) -> bool:
        if v:
            raise ValueError("not modelled: nvmesim simulates no I/O offsets (fio's log_offset column)")
        return v

    @model_validator(mode="after")
    def _log_rates(self) -> "Workload":
        # init.c add_job: an averaged bw (iops) log's period becomes bw_avg_time (iops_avg_time)
        # unless that was set -- resolved here, so the effective config reproduces the run
        for log, avg in (("write_bw_log", "bw_avg_time"), ("write_iops_log", "iops_avg_time")):
            if getattr(self, log) is not None and self.log_avg_msec and avg not in self.model_fields_set:
                object.__setattr__(self, avg, self.log_avg_msec)
        return self
    hipri: bool = Field(False, description="polled completions (needs driver.poll_queues > 0)")
    ring_taskrun: Literal["DEFER_TASKRUN", "COOP_TASKRUN", "none"] = Field(
        "DEFER_TASKRUN",
        description="io_uring: where completions' task work runs (IORING_SETUP_* of fio's ring). fio >= 3.33 "
        "sets COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN (engines/io_uring.c, 4d22c1037daf, e453f369ecf4): CQEs are "
        "posted inside the submitter's io_uring_enter. COOP_TASKRUN (fio's fallback without DEFER): task work at "
        "the next return to user mode, no IPI. none (fio < 3.33): TWA_SIGNAL, the task is woken or kicked at the "
        "first completion. Ignored with hipri (IOPOLL: the poller posts)",
    )
    sqthread_poll: bool = Field(
        False, description="io_uring: IORING_SETUP_SQPOLL -- a kernel thread (on a CPU no job runs on) takes the "
        "SQEs from the ring and runs their task work; fio submits and reaps without syscalls, spinning on the CQ "
        "ring, and records no slat (fio >= 3.34, c011bf1292f1). The kernel refuses the taskrun flags with SQPOLL, "
        "so ring_taskrun is ignored")
    sqthread_poll_cpu: int | None = Field(
        None, ge=0, description="the SQ thread's CPU (fio sets IORING_SETUP_SQ_AFF); default: the first CPU no "
        "job runs on")
    filename: str | None = Field(
        None, description="fio's filename: the devices every job opens, ':'-separated, by their names in "
        "devices (a leading /dev/ is optional), e.g. nvme0n1:nvme1n1; default: the config's one device")
    filename_format: str | None = Field(
        None, description="fio's filename_format, used when filename is unset: each job's one device, with "
        "$jobnum (the job's number, 0-based) and $jobname replaced, e.g. nvme$jobnumn1")
    file_service_type: str = Field(
        "roundrobin", description="fio's file_service_type: how a job with several files picks the next I/O's: "
        "roundrobin (fio's default) or random, with ':N' to switch after N I/Os (default 1); sequential, zipf, "
        "pareto, gauss are not modelled")
    thinktime: Micros = Field(
        0.0, ge=0, description="fio's thinktime in microseconds (or with a unit, '2ms'): stall after every "
        "thinktime_blocks I/Os"
    )
    thinktime_blocks: int = Field(1, ge=1, description="I/Os between thinktime stalls")
    echo: dict[str, str] = Field(
        default_factory=dict, description="fio options a job file gave that change nothing nvmesim simulates "
        "(direct, group_reporting, ...): kept to be echoed in the job options")
    # -- iolog replay (fio's read_iolog; the log: config/iolog.py, the replay: sim/replay.py)
    read_iolog: str | None = Field(
        None, description="fio's read_iolog: replay this I/O log (fio's trace format v2 or v3, as write_iolog "
        "writes it): each I/O's direction, file and size, and (v3) its timestamp; ':'-separated logs go to "
        "the jobs in turn. rw, bs, filename and file_service_type give way to the log; a relative path is "
        "from the working directory (fio's rule)")
    replay_no_stall: bool = Field(
        False, description="fio's replay_no_stall: ignore the log's timestamps (and v2 waits) and replay as "
        "fast as iodepth allows")
    replay_redirect: str | None = Field(
        None, description="fio's replay_redirect: replay every I/O of the log on this device (a name in "
        "devices, /dev/ optional), whatever files the log names")
    replay_time_scale: int = Field(
        100, ge=1, description="fio's replay_time_scale: percent of the log's rate (200 replays its delays at "
        "half length)")
    percentile_list: list[float] = Field(default_factory=lambda: list(DEFAULT_PERCENTILES))
    clat_percentiles: bool = True
    lat_percentiles: bool = False
    slat_percentiles: bool = False

    @field_validator("iodepth", "numjobs")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"must be >= 1, got {v}")
        return v

    @field_validator("iodepth_batch_submit")
    @classmethod
    def _nonneg(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"must be >= 0 (0 means iodepth), got {v}")
        return v

    @field_validator("bs")
    @classmethod
    def _bs(cls, v: int) -> int:
        if v <= 0:
            raise ValueError(f"must be > 0, got {v}")
        if v % 512:
            raise ValueError(f"must be a multiple of 512 (direct I/O), got {v}")
        return v

    @field_validator("percentile_list", mode="before")
    @classmethod
    def _plist_numbers(cls, v: Any, info: Any) -> Any:
        """Each percentile a number, as ``_strict_numbers`` wants of a number field."""
        for p in v if isinstance(v, list) else ():
            if isinstance(p, bool):
                raise ValueError(f"expected numbers, got {p!r} (a boolean)")
            if isinstance(p, str) and not (info.context or {}).get("text"):
                raise ValueError(f"expected numbers, got the string {p!r}")
        return v

    @field_validator("percentile_list")
    @classmethod
    def _plist(cls, v: list[float]) -> list[float]:
        if not 1 <= len(v) <= 20:
            raise ValueError("fio accepts 1 to 20 percentiles")
        for p in v:
            if not 0 < p <= 100:
                raise ValueError(f"percentiles must be in (0, 100], got {p}")
        return sorted(v)

    @field_validator("file_service_type")
    @classmethod
    def _fst(cls, v: str) -> str:
        file_service(v)
        return v

    @property
    def file_service(self) -> tuple[str, int]:
        """(roundrobin | random, I/Os before the next switch): fio's file_service_type and
        file_service_nr (``str_fst_cb``)."""
        return file_service(self.file_service_type)

    @field_validator("cpus_allowed", mode="before")
    @classmethod
    def _cpus_int(cls, v: Any) -> Any:
        # `cpus_allowed: 2` is a YAML integer; fio's syntax means CPU 2
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("cpus_allowed")
    @classmethod
    def _cpus(cls, v: str | None) -> str | None:
        if v is not None:
            parse_cpus(v)
        return v

    @model_validator(mode="after")
    def _fio_defaults(self) -> "Workload":
        # fio: iodepth_batch_submit 0 means iodepth; a batch larger than the
        # depth is capped to it (options.c / backend.c).
        if self.iodepth_batch_submit == 0 or self.iodepth_batch_submit > self.iodepth:
            object.__setattr__(self, "iodepth_batch_submit", self.iodepth)
        # fixup_options: batch_complete_max defaults to, and is raised to, batch_complete_min
        if self.iodepth_batch_complete_max is None or self.iodepth_batch_complete_max < self.iodepth_batch_complete_min:
            object.__setattr__(self, "iodepth_batch_complete_max", self.iodepth_batch_complete_min)
        if not self.iodepth_low or self.iodepth_low > self.iodepth:
            object.__setattr__(self, "iodepth_low", self.iodepth)
        return self

    @property
    def read_fraction(self) -> float:
        if self.rw in ("read", "randread"):
            return 1.0
        if self.rw in ("write", "randwrite"):
            return 0.0
        return self.rwmixread / 100.0


#: the options in which the job sections of one run may differ (where and how many, not what)
PLACEMENT: tuple[str, ...] = ("name", "numjobs", "filename", "filename_format", "cpus_allowed", "file_service_type",
                              "echo")


class HostCosts(_Section):
    """CPU time of each software step, in ns.  Sources: calibration.md; where a figure
    is an assumption it says so.  The totals per I/O (~2.5 us submit + complete on the
    interrupt path, ~1 us polled) sit between the 100 ns/I/O of a fully polled, batched
    10 M IOPS core and the 6.3 us of async CPU work of Yang et al. (FAST'12)."""

    fio_prep_ns: float = Field(150, ge=0, description="fio get_io_u + td_io_prep per I/O (assumption)")
    fio_complete_ns: float = Field(150, ge=0, description="fio io_completed + stats per I/O (assumption)")
    fio_reap_ns: float = Field(100, ge=0, description="fio per reap call, ring read (assumption)")
    syscall_ns: float = Field(
        250, ge=0, description="syscall entry + exit (io_uring_enter / io_submit / io_getevents); assumption"
    )
    io_uring_sqe_ns: float = Field(100, ge=0, description="io_uring: consume one SQE, prep the kiocb (assumption)")
    io_uring_cqe_ns: float = Field(60, ge=0, description="io_uring: post one CQE (assumption)")
    io_uring_tw_add_ns: float = Field(
        30, ge=0, description="io_uring: queue a completion's task work (an atomic llist add; assumption)")
    task_work_run_ns: float = Field(
        150, ge=0, description="io_uring: one run of task work (tctx_task_work / io_run_local_work: take the "
        "list, reverse it, lock the ring; assumption)")
    iowq_punt_ns: float = Field(
        500, ge=0, description="io_uring: a request that found no tag under NOWAIT: its bio ended with "
        "BLK_STS_AGAIN, REQ_F_REISSUE, io_queue_async's async prep and io_wq_enqueue with the worker's "
        "wake_up_process (assumption: no published figure; about two SQE issues' worth)")
    iowq_work_ns: float = Field(
        300, ge=0, description="io-wq worker: io_worker_handle_work + io_wq_submit_work + the blocking "
        "io_read's kiocb set-up, per request, before the block layer (assumption)")
    libaio_iocb_ns: float = Field(250, ge=0, description="libaio: copy + set up one iocb (assumption)")
    libaio_event_ns: float = Field(150, ge=0, description="libaio: aio_complete + copy one event (assumption)")
    blk_mq_ns: float = Field(
        300, ge=0, description="bio alloc, submit_bio, blk-mq request + tag, plug, per request (assumption)"
    )
    nvme_queue_rq_ns: float = Field(150, ge=0, description="nvme_prep_rq command setup, per request (assumption)")
    sqe_copy_ns: float = Field(
        10, ge=0, description="of nvme_queue_rq_ns, the 64 B SQE's copy into the submission ring (nvme_sq_copy_cmd: "
        "one cache line written; assumption), which a queue shared by several CPUs does under its SQ lock")
    dma_map_segment_ns: float = Field(
        60, ge=0, description="dma_map_sg per segment, direct mapping, no IOMMU (assumption; cf. pre-mapped buffers +4% IOPS)"
    )
    prp_entry_ns: float = Field(2, ge=0, description="writing one PRP entry / SGL descriptor (assumption)")
    iommu_map_ns: float = Field(
        150, ge=0, description="with an IOMMU: allocate a request's IOVA range from the per-CPU rcache and sync "
        "(assumption; Peleg et al., USENIX ATC'15, show IOVA allocation dominating before per-CPU caches)")
    iommu_page_ns: float = Field(20, ge=0, description="with an IOMMU: one IO page-table entry per 4 KiB (assumption)")
    iommu_unmap_ns: float = Field(
        200, ge=0, description="with an IOMMU: clear the PTEs, free the IOVA, queue the IOTLB flush (lazy mode; "
        "assumption)")
    doorbell_ns: float = Field(
        150, ge=0, description="MMIO doorbell write, per batch: 'tens to hundreds of ns' (calibration.md)"
    )
    irq_entry_ns: float = Field(
        600, ge=0, description="interrupt entry + exit + EOI per interrupt (assumption; FAST'12 irq vs poll gap)"
    )
    nvme_cqe_ns: float = Field(100, ge=0, description="nvme_handle_cqe per CQE (assumption)")
    dma_unmap_segment_ns: float = Field(40, ge=0, description="dma_unmap_sg per segment (assumption)")
    end_request_ns: float = Field(
        250, ge=0, description="blk_mq_end_request + bio_endio + iocb completion per request (assumption)"
    )
    wakeup_ns: float = Field(
        1200, ge=0, description="wake a sleeping thread and switch to it and back: one sleep/wake cycle (perf "
        "bench sched pipe pinned to one CPU: 2.79 us per round trip of 2 wake-ups + 2 switches + 4 syscalls, "
        "Ingo Molnar, LKML 2025-05-31; so <= ~1.4 us)"
    )
    poll_ns: float = Field(100, ge=0, description="one nvme_poll pass finding a CQE (hipri; assumption)")
    ipi_send_ns: float = Field(
        100, ge=0, description="rq_affinity: blk_mq_complete_send_ipi on the interrupt's CPU when the target's "
        "list was empty -- llist_add and one x2APIC ICR write (a WRMSR) -- per IPI (assumption: of the order of an "
        "uncached MSR write)")
    ipi_latency_ns: float = Field(
        1000, ge=0, description="rq_affinity: from the ICR write until the submitting CPU enters the IPI's handler "
        "(assumption: half of the ~2 us IPI round trip commonly reported for x86 servers)")
    lock_handoff_ns: float = Field(
        50, ge=0, description="a lock taken after another CPU of the node held it: its line moved, as "
        "allocator.cost.c2c_local_ns (Intel MLC c2c latency on a 2-socket Skylake-SP: 49.9 ns HITM; 50-100 ns in "
        "calibration.md)"
    )
    lock_handoff_remote_ns: float = Field(
        115, ge=0, description="same, from a CPU of another NUMA node: as allocator.cost.c2c_remote_ns (MLC remote "
        "HITM 114-123 ns)"
    )


class HostNoise(_Section):
    """What makes a real core's timing vary, as mechanisms (``enabled: false`` gives the
    exact deterministic model the theory tests use)."""

    enabled: bool = Field(True, description="host-side variability on; off: every host cost a constant")
    cost_cv: float = Field(
        0.3, ge=0, le=2,
        description="coefficient of variation of a CPU step's cost (cache, TLB and branch state): a lognormal "
        "multiplier of mean 1, one per I/O for its own steps and one per batch-level step (assumption, after the "
        "shape of kernel-function latency histograms: most calls in one power-of-two bucket, a right tail over "
        "the next two or three, bcc tools/funclatency_example.txt)",
    )
    tick_hz: float = Field(
        1000.0, ge=0,
        description="timer interrupts per second on a busy core (CONFIG_HZ=1000; 0 = none): the rtla "
        "osnoise-top example in Linux's Documentation/tools/rtla counts 53,110-53,156 IRQs in 53.1 s per CPU",
    )
    tick_mean_us: float = Field(
        5.4, ge=0,
        description="mean time one tick and the softirq work it raises take from the core, exponentially "
        "distributed: the same example's noise, 0.39-0.64% of each CPU (5.4 us per interrupt on average), and "
        "its largest single noise of 24-56 us is what an exponential of that mean gives over 53k ticks",
    )
    freq_cv: float = Field(
        0.01, ge=0, le=0.5,
        description="run-to-run variation of a core's speed (turbo, thermal and power limits): a lognormal "
        "factor on every CPU cost, drawn per replication and core (assumption: 1%; SPEC's HPG accepts 5% "
        "run-to-run variation of whole benchmarks as the tolerance a system should meet)",
    )


class Host(_Section):
    cores: int = Field(8, ge=1, le=MAX_CPUS, description="CPU cores (at most 8192: Linux's largest NR_CPUS on x86-64)")
    numa_nodes: int = Field(1, ge=1, description="NUMA nodes; cores are split evenly, node = core // (cores/nodes)")
    threads_per_core: Literal[1, 2] = Field(
        1, description="hardware threads per physical core (SMT): cores counts logical CPUs; a node's CPUs are its "
        "cores' first threads, then their second threads (as Linux enumerates a socket), so CPU c's sibling is "
        "c +- cores/nodes/2")
    smt_slowdown: float = Field(
        1.6, ge=1.0, description="how much longer a thread's CPU work takes while its sibling runs a job too: two "
        "busy threads give 2 / 1.6 = 1.25x one thread's throughput, Intel's published gain of Hyper-Threading "
        "(up to 30% on server workloads: Marr et al., Intel Technology Journal 6(1), 2002). Applied for the whole "
        "run when both siblings run a job or a helper thread (an assumption: right for busy threads, an "
        "overestimate for threads that mostly sleep); caches shared by siblings are not modelled")
    cache_bytes_per_io: int = Field(
        8192,
        ge=0,
        description="bytes of other data (io_u, request, bio, iod, SQE/CQE, stack) the I/O path touches per I/O "
        "on a core: the cache pressure between pool operations (assumption: ~128 lines)",
    )
    iommu: bool = Field(
        False, description="an IOMMU in DMA-translated mode (not passthrough): a request's pages are mapped to one "
        "contiguous IOVA range (6.17 blk_rq_dma_map; before, iommu_dma_map_sg merges them), so an SGL-capable "
        "device takes one inline SGL; requests are capped at 128 KiB (dma_opt_mapping_size)")
    costs: HostCosts = Field(default_factory=HostCosts)
    noise: HostNoise = Field(default_factory=HostNoise)

    @model_validator(mode="after")
    def _nodes(self) -> "Host":
        if self.cores % self.numa_nodes:
            raise ValueError(f"cores ({self.cores}) must split evenly over numa_nodes ({self.numa_nodes})")
        if (self.cores // self.numa_nodes) % self.threads_per_core:
            raise ValueError(f"each node's {self.cores // self.numa_nodes} CPUs must split into cores of "
                             f"threads_per_core ({self.threads_per_core}) threads")
        return self

    def sibling_of(self, cpu: int) -> int | None:
        """The other hardware thread of ``cpu``'s core (None without SMT)."""
        if self.threads_per_core == 1:
            return None
        per_node = self.cores // self.numa_nodes
        base, i = divmod(cpu, per_node)
        half = per_node // 2
        return base * per_node + (i + half) % per_node

    def node_of(self, core: int) -> int:
        return core // (self.cores // self.numa_nodes)


class Coalescing(_Section):
    """NVMe Interrupt Coalescing (Set Features 08h): an interrupt when THR completions are
    pending or TIME has passed since the first; either at 0 disables coalescing (the
    spec: "If either the TIME or the THR fields are cleared to 0h, then interrupt
    coalescing is implicitly disabled")."""

    threshold: int = Field(0, ge=0, le=256, description="CQEs per interrupt (NVMe feature 08h THR); 0 = off")
    time_us: float = Field(0, ge=0, description="aggregation time (feature 08h TIME, in 100 us units on a real "
                           "drive); 0 = off")

    @property
    def cqes(self) -> int:
        """The completions per interrupt the queue waits for: 0 (an interrupt per
        completion) unless both THR and TIME are set."""
        return self.threshold if self.threshold and self.time_us > 0 else 0


class DriverConfig(_Section):
    """nvme-pci: kernel generation, module parameters, interrupt coalescing."""

    kernel: KernelName = Field(
        "6.4",
        description="kernel generation; what each changes is nvmesim/config/kernels.py (6.2: SGL lists chain, "
        "libaio wakes per event; 6.4: one SGL list, io_uring's lazy wake; 6.8: libaio obeys min_nr; 6.16: "
        "per-node pools, FIFO plug, task-work cap, -EAGAIN re-issue at completion; 6.17: blk_rq_dma_map)",
    )
    queue_depth: int = Field(1024, ge=2, le=65536, description="io_queue_depth module parameter")
    sgl: bool = Field(True, description="use SGLs when the device supports them")
    sgl_threshold: Size = Field(32768, description="sgl_threshold module parameter; 0 disables SGLs")
    irq_coalescing: Coalescing = Field(default_factory=Coalescing)
    poll_queues: int = Field(0, ge=0, description="poll_queues module parameter (hipri needs > 0)")
    rq_affinity: Literal[0, 1, 2] = Field(
        1, description="the block queue's rq_affinity (sysfs): where a completion runs when the interrupt's CPU is "
        "not the submitter's (blk_mq_complete_request_remote via nvme_try_complete_req, blk_mq_complete_need_ipi): "
        "0 on the interrupt's CPU; 1 (the default, QUEUE_FLAG_SAME_COMP) there if it shares a cache with the "
        "submitter (an LLC per NUMA node: an assumption), else on the submitter by IPI; 2 "
        "(QUEUE_FLAG_SAME_FORCE) always on the submitter by IPI (its softirq: unmap, dma_pool_free, end)")
    max_transfer_kb: int | None = Field(
        None, ge=4, description="largest request in KiB; default the kernel's NVME_MAX_KB_SZ / NVME_MAX_BYTES "
        "(4096 on 6.2, 8192 from 6.4), and 128 with an IOMMU (dma_opt_mapping_size)")


class ServiceTime(_Section):
    """Per-command service time of one parallel unit (first 4 KiB; data moves separately).

    ``empirical`` takes a measured distribution instead of a shape: either
    ``quantiles_us`` (service times at the probabilities ``probs``, evenly spaced from 0
    to 1 if not given; sampled by linear interpolation between them) or ``bins``
    (``[value_us, count]`` pairs, as fio's json+ latency bins; sampled as those values in
    proportion to their counts)."""

    dist: Literal["lognormal", "exponential", "constant", "empirical"] = "lognormal"
    mean_us: float | None = Field(None, gt=0, description="the mean (derived from the points for empirical)")
    p99_us: float | None = Field(None, gt=0, description="lognormal only: 99th percentile")
    quantiles_us: list[float] | None = Field(None, description="empirical: service times (us) at the probabilities "
                                             "probs, non-decreasing")
    probs: list[float] | None = Field(None, description="empirical: the quantiles' probabilities, increasing from "
                                      "0 to 1 (default: evenly spaced)")
    bins: list[tuple[float, int]] | None = Field(None, description="empirical: [value_us, count] pairs (fio json+ "
                                                 "bins)")

    @model_validator(mode="after")
    def _shape(self) -> "ServiceTime":
        if self.dist == "empirical":
            given = self.mean_us
            self._check_empirical()
            mean = self.empirical_mean_us()
            if given is not None and abs(given - mean) > 1e-9 * mean:  # (an effective config repeats it)
                raise ValueError(f"empirical: mean_us is the points' mean ({mean:g}); leave it out")
            object.__setattr__(self, "mean_us", mean)
            return self
        if self.quantiles_us is not None or self.probs is not None or self.bins is not None:
            raise ValueError(f"quantiles_us, probs and bins are for dist: empirical, not {self.dist}")
        if self.mean_us is None:
            raise ValueError(f"{self.dist} needs mean_us")
        if self.dist == "lognormal":
            if self.p99_us is None:
                raise ValueError("lognormal needs p99_us")
            r = math.log(self.p99_us / self.mean_us)
            if r <= 0 or r >= 2.326348 ** 2 / 2:
                raise ValueError(
                    f"p99_us/mean_us must be in (1, {math.exp(2.326348 ** 2 / 2):.1f}) for a lognormal, "
                    f"got {self.p99_us / self.mean_us:.2f}"
                )
        return self

    def _check_empirical(self) -> None:
        if self.p99_us is not None:
            raise ValueError("empirical: p99_us comes from the points; leave it out")
        if (self.quantiles_us is None) == (self.bins is None):
            raise ValueError("empirical needs exactly one of quantiles_us or bins")
        if self.bins is not None:
            if self.probs is not None:
                raise ValueError("empirical: probs goes with quantiles_us, not bins")
            if not self.bins or any(v <= 0 or c < 0 for v, c in self.bins) or not sum(c for _, c in self.bins):
                raise ValueError("empirical bins: [value_us > 0, count >= 0] pairs with a positive total count")
            return
        q = self.quantiles_us
        if len(q) < 2 or q[0] <= 0 or any(b < a for a, b in zip(q, q[1:])):
            raise ValueError("empirical quantiles_us: at least two values > 0, non-decreasing")
        p = self.probs
        if p is not None and (len(p) != len(q) or p[0] != 0.0 or p[-1] != 1.0
                              or any(b <= a for a, b in zip(p, p[1:]))):
            raise ValueError(f"empirical probs: {len(q)} probabilities increasing from 0 to 1 (one per quantile)")

    def empirical_points(self) -> tuple[list[float], list[float], bool]:
        """(values in us, cumulative probabilities, discrete?) of an empirical distribution:
        interpolate between the points (quantiles), or take the values themselves (bins)."""
        if self.bins is not None:
            pairs = sorted((v, c) for v, c in self.bins if c)
            total = sum(c for _, c in pairs)
            cum, acc = [], 0
            for _, c in pairs:
                acc += c
                cum.append(acc / total)
            return [v for v, _ in pairs], cum, True
        q = list(self.quantiles_us)
        n = len(q)
        return q, list(self.probs) if self.probs is not None else [i / (n - 1) for i in range(n)], False

    def empirical_mean_us(self) -> float:
        xs, ps, discrete = self.empirical_points()
        if discrete:
            prev, mean = 0.0, 0.0
            for x, p in zip(xs, ps):
                mean += x * (p - prev)
                prev = p
            return mean
        return sum((p1 - p0) * (x0 + x1) / 2 for x0, x1, p0, p1 in zip(xs, xs[1:], ps, ps[1:]))

    def lognormal_params(self) -> tuple[float, float]:
        """(mu, sigma) of ln X with E[X] = mean and P99 = p99 (smaller root)."""
        z = 2.326348
        r = math.log(self.p99_us / self.mean_us)
        sigma = z - math.sqrt(z * z - 2 * r)
        mu = math.log(self.mean_us * 1000) - sigma * sigma / 2
        return mu, sigma


_TLC = DEVICE_PRESETS["tlc-dc"]


class DeviceConfig(_Section):
    """The NVMe drive: a preset, with any field overridden."""

    preset: Literal["tlc-dc", "optane", "custom"] = Field("tlc-dc", description="named preset; fields override it")
    name: str = Field("nvme0n1", min_length=1, description="the namespace's block device, as fio's filename names "
                      "it (/dev/ optional); in devices, default nvme<i>n1")
    node: int = Field(0, ge=0, description="the NUMA node the device is attached to (its PCIe root port): its "
                      "queues' memory and, before 6.16, its pools' memory are there")
    # the defaults (what "custom" starts from) are the tlc-dc preset's
    parallel_units: int = Field(_TLC["parallel_units"], ge=1, description="commands the drive serves at once (dies/planes)")
    read: ServiceTime = Field(default_factory=lambda: ServiceTime(**_TLC["read"]))
    write: ServiceTime = Field(default_factory=lambda: ServiceTime(**_TLC["write"]))
    internal_gbps: float = Field(_TLC["internal_gbps"], gt=0, description="aggregate media/controller bandwidth, GB/s (1e9 B/s)")
    link_gbps: float = Field(_TLC["link_gbps"], gt=0, description="PCIe link bandwidth, GB/s (1e9 B/s)")
    unit_gbps: float | None = Field(
        None, gt=0, description="a unit's own transfer rate, GB/s: it stays busy while its command's data moves "
        "(a NAND die's data-out on its channel, a virtual disk's copy), so service = media time + bytes / rate; "
        "none: the unit is free after the media time and only the shared internal path and link move data")
    fetch_ns: float = Field(
        500, ge=0, description="doorbell to command fetched: SQE fetch over PCIe (assumption ~0.5 us)"
    )
    max_queue_entries: int = Field(_TLC["max_queue_entries"], ge=2, description="MQES+1: the device's per-queue entry limit")
    max_io_queues: int | None = Field(
        None, ge=1, description="I/O queues the controller grants (Set Features Number of Queues: NSQA+1); nvme-pci "
        "asks for one per possible CPU (nvme_setup_io_queues), so fewer than host.cores makes blk-mq map several "
        "CPUs to one queue, sharing its tags, SQ lock and interrupt vector; default: one per CPU")
    sgl_support: bool = Field(_TLC["sgl_support"], description="the controller supports SGLs (SGLS field)")
    completes: Literal["each", "round"] = Field(
        "each", description="each: a command's CQE is posted when it is done (an NVMe controller); round: a queue "
        "is served in rounds and every CQE of a round is posted at its end, when the queue holds no command in "
        "the device -- a virtual disk whose backend pops the ring until it is empty, executing each request, then "
        "raises one interrupt (Firecracker's virtio-block process_queue with its sync engine)")
    wake_ns: float = Field(
        0.0, ge=0, description="an idle controller's extra latency before it fetches (a queue with no command in "
        "the device): a virtual disk's backend thread woken from epoll by the doorbell's eventfd; 0 for hardware, "
        "whose controller polls its doorbells")
    shadow_doorbell: bool = Field(
        False, description="a virtual controller that reads its SQ tail from memory while it is busy: nvme-pci's "
        "Doorbell Buffer Config (nvme_dbbuf_update_and_check_event writes the MMIO register only when the "
        "controller's EventIdx asks), as virtio's EVENT_IDX does for virtio-blk.  Modelled: the controller asks "
        "only when it holds no command of that queue (it has gone to sleep), so a doorbell rung while it is busy "
        "costs nothing; the CQ head doorbell is unchanged (assumption: the EventIdx policy is the controller's, "
        "QEMU's nvme asks once per processing round, a polling backend as here)")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            preset = data.get("preset", "tlc-dc")
            if isinstance(preset, str) and preset in DEVICE_PRESETS:  # (a list or mapping: not hashable)
                merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEVICE_PRESETS[preset].items()}
                for k, v in data.items():
                    # a section merges into the preset's, unless it names another
                    # distribution (whose fields the preset's would not fit)
                    if isinstance(v, dict) and isinstance(merged.get(k), dict) and v.get(
                            "dist", merged[k].get("dist")) == merged[k].get("dist"):
                        merged[k] = {**merged[k], **v}
                    else:
                        merged[k] = v
                return merged
        return data


class Allocator(_Section):
    variants: list[str] = Field(default_factory=lambda: ["legacy", "stack"], description="first = baseline")
    cost: CostModel = Field(default_factory=CostModel)

    @field_validator("variants")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("name at least one variant")
        for name in v:
            try:
                get_variant(name)
            except PoolError as e:
                raise ValueError(str(e)) from None
        if len(set(v)) != len(v):
            raise ValueError(f"variants repeat: {v}")
        return v


class Sim(_Section):
    seed: int = Field(1, ge=0, description="root seed of numpy's SeedSequence")
    replications: int = Field(3, ge=1, description="independent replications per variant")


class Config(_Section):
    workload: Workload = Field(default_factory=Workload)
    host: Host = Field(default_factory=Host)
    driver: DriverConfig = Field(default_factory=DriverConfig)
    device: DeviceConfig = Field(default_factory=DeviceConfig)
    devices: list[DeviceConfig] = Field(
        default_factory=list, description="several devices: each entry is the device section's fields overridden "
        "by its own (as a fio job section over [global]); empty: the one device of the device section")
    jobs: list[Workload] = Field(
        default_factory=list, description="several job sections (a fio job file's): each entry is the workload "
        "section's fields overridden by its own (as a fio job section over [global]); entries may differ in "
        f"{', '.join(PLACEMENT)} only. Empty: the workload section is the one job section")
    allocator: Allocator = Field(default_factory=Allocator)
    sim: Sim = Field(default_factory=Sim)

    @model_validator(mode="before")
    @classmethod
    def _job_entries(cls, data: Any) -> Any:
        """Each ``jobs`` entry starts from the ``workload`` section, the entry's keys winning."""
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            return data
        base = data.get("workload") if isinstance(data.get("workload"), dict) else {}
        if isinstance(base, BaseModel):
            base = base.model_dump()
        entries = [({**base, **e} if isinstance(e, dict) else e) for e in data["jobs"]]
        return {**data, "jobs": entries}

    @model_validator(mode="before")
    @classmethod
    def _device_entries(cls, data: Any) -> Any:
        """Each ``devices`` entry starts from the ``device`` section (its name excepted:
        entry ``i`` is ``nvme<i>n1`` unless it says), the entry's keys winning, a
        sub-section merged key by key."""
        if not isinstance(data, dict) or not isinstance(data.get("devices"), list):
            return data
        base = data.get("device") if isinstance(data.get("device"), dict) else {}
        entries = []
        for i, entry in enumerate(data["devices"]):
            if not isinstance(entry, dict):
                entries.append(entry)  # (pydantic says what was expected, at devices.i)
                continue
            merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items() if k != "name"}
            for k, v in entry.items():
                old = merged.get(k)
                # a sub-section merges key by key, unless it names another distribution
                same = isinstance(v, dict) and isinstance(old, dict) and v.get("dist", old.get("dist")) == old.get("dist")
                merged[k] = {**old, **v} if same else v
            merged.setdefault("name", f"nvme{i}n1")
            entries.append(merged)
        return {**data, "devices": entries}

    @model_validator(mode="after")
    def _cross(self) -> "Config":
        w, h, d = self.workload, self.host, self.driver
        self._check_sections()
        self._check_devices()
        limit, why = self._transfer_limit()
        if w.bs > limit:
            raise CrossFieldError("workload.bs", f"{w.bs} B exceeds the driver's maximum transfer of {limit} B ({why}; "
                                  f"the block layer would split it, which is not modelled)")
        if w.read_iolog is not None:
            self._check_replay_sizes(limit, why)
        qd = self.effective_queue_depth()
        if w.iodepth > qd - 1 and w.hipri:
            raise CrossFieldError(
                "workload.iodepth",
                f"{w.iodepth} exceeds the {qd - 1} tags of an I/O queue "
                f"(min(driver.queue_depth, device.max_queue_entries) - 1); beyond them polled I/O (hipri) is not "
                f"modelled (io-wq re-issues of IOPOLL requests spin on -EAGAIN up to 6.4: 2bc057692599)",
            )
        if w.iodepth > qd - 1 and w.ioengine == "io_uring" and not all(self.iowq_cpus()):
            node = "of the job's NUMA node " if self.kernel().iowq_node_bound else ""
            raise CrossFieldError(
                "workload.iodepth",
                f"{w.iodepth} exceeds the {qd - 1} tags of an I/O queue: io_uring hands the requests that find "
                f"no tag to io-wq, whose workers need a CPU {node}that no fio job runs on (host.cores = {h.cores}, "
                f"numjobs = {self.numjobs}); workers sharing a job's CPU are not modelled",
            )
        if w.sqthread_poll:
            self._check_sqpoll(qd)
        if w.hipri and d.poll_queues == 0:
            raise CrossFieldError("workload.hipri", "polled I/O needs driver.poll_queues > 0")
        return self

    def sections(self) -> list[tuple[str, Workload]]:
        """The job sections, each with its dotted path: the ``jobs`` entries, or the one
        ``workload`` section."""
        if self.jobs:
            return [(f"jobs.{i}", job) for i, job in enumerate(self.jobs)]
        return [("workload", self.workload)]

    @property
    def numjobs(self) -> int:
        """Every job of the run: each section's ``numjobs``, summed."""
        return sum(job.numjobs for _, job in self.sections())

    def job_names(self) -> list[str]:
        """Each job's name: its section's (fio names every clone of a section after it)."""
        return [job.name for _, job in self.sections() for _ in range(job.numjobs)]

    def _check_sections(self) -> None:
        """Job sections agree on every simulated option (they may differ in placement), and
        each one's CPUs exist, are enough for its jobs and are no other job's."""
        w, h = self.workload, self.host
        for at, job in self.sections():
            if job is not w:
                for name in Workload.model_fields:
                    if name not in PLACEMENT and getattr(job, name) != getattr(w, name):
                        raise CrossFieldError(f"{at}.{name}", f"{getattr(job, name)!r} differs from workload.{name} "
                                              f"= {getattr(w, name)!r}: job sections that differ in {name} are not "
                                              f"modelled yet (the jobs of one run share every option but "
                                              f"{', '.join(PLACEMENT)})")
            cpus = parse_cpus(job.cpus_allowed) if job.cpus_allowed else list(range(h.cores))
            bad = [c for c in cpus if c >= h.cores]
            if bad:
                raise CrossFieldError(f"{at}.cpus_allowed", f"CPUs {bad} do not exist (host.cores = {h.cores})")
            if job.numjobs > len(cpus):
                raise CrossFieldError(
                    f"{at}.numjobs",
                    f"{job.numjobs} jobs need {job.numjobs} distinct CPUs, only {len(cpus)} allowed "
                    f"(cpus_allowed={job.cpus_allowed or 'all'}, host.cores={h.cores})",
                )
        self.job_cpus(check=True)

    def _check_devices(self) -> None:
        """Device names unique, nodes on the host, every job's files among the devices, and
        what several files per job cannot do yet."""
        devs = self.device_list()
        seen: dict[str, int] = {}
        for i, dev in enumerate(devs):
            at = f"devices.{i}" if self.devices else "device"
            key = _dev_key(dev.name)
            if key in seen:
                raise CrossFieldError(f"{at}.name", f"{dev.name!r} names devices.{seen[key]} too: names must differ")
            seen[key] = i
            if dev.max_io_queues is not None and self.driver.poll_queues >= dev.max_io_queues:
                raise CrossFieldError("driver.poll_queues", f"{self.driver.poll_queues} poll queues, but {dev.name} "
                                      f"grants {dev.max_io_queues} I/O queues ({at}.max_io_queues): nvme-pci would "
                                      "cap them at one fewer, keeping one for interrupts (nvme_setup_irqs); ask for "
                                      f"at most {dev.max_io_queues - 1}")
            if dev.node >= self.host.numa_nodes:
                raise CrossFieldError(f"{at}.node", f"node {dev.node} does not exist (host.numa_nodes = "
                                      f"{self.host.numa_nodes})")
        files = self.job_files()
        w = self.workload
        self._check_queue_map(devs)
        if max(len(f) for f in files) > 1:
            if any(self.iowq_cpus()):
                raise CrossFieldError("workload.iodepth", f"{w.iodepth} is beyond an I/O queue's tags: io_uring's "
                                      "io-wq with several files per job is not modelled")
            for flag, what in (("hipri", "polled I/O"), ("sqthread_poll", "SQPOLL")):
                if getattr(w, flag):
                    raise CrossFieldError(f"workload.{flag}", f"{what} with several files per job is not modelled "
                                          f"(filename = {w.filename!r})")

    def queues_mapped(self) -> bool:
        """Some device has fewer I/O queues than the host has CPUs: blk-mq maps CPUs onto
        shared queues (else each CPU has its own queue, interrupt and vector on itself)."""
        return any(min(self.host.cores, d.max_io_queues or self.host.cores) < self.host.cores
                   for d in self.device_list())

    def _check_queue_map(self, devs: list) -> None:
        if not self.queues_mapped():
            return
        w = self.workload
        for flag, what in (("hipri", "polled I/O"), ("sqthread_poll", "SQPOLL")):
            if getattr(w, flag):
                raise CrossFieldError(f"workload.{flag}", f"{what} with fewer I/O queues than CPUs (device."
                                      "max_io_queues) is not modelled")
        if any(self.iowq_cpus()):
            raise CrossFieldError("workload.iodepth", f"{w.iodepth} is beyond an I/O queue's tags: io-wq with fewer "
                                  "I/O queues than CPUs (device.max_io_queues) is not modelled")
        # (completions that go to the submitting CPU by IPI, rq_affinity, are modelled: sim/completion.py)

    def queue_groups(self, device: int = 0) -> list[list[int]]:
        """Device ``device``'s I/O queues, each as the CPUs blk-mq maps to it: nvme-pci asks
        for one queue per CPU, the controller grants ``max_io_queues``, and the vectors'
        affinity masks -- which ``blk_mq_pci_map_queues`` turns into the CPU-to-queue map --
        come from ``group_cpus_evenly`` (lib/group_cpus.c): the groups shared out between
        the NUMA nodes in proportion to their CPUs (at least one each), each node's CPUs
        split in order into that many groups, the first ones a CPU larger (all nodes hold
        host.cores / numa_nodes CPUs here, so the order is the nodes').  With fewer
        groups than nodes, whole nodes are dealt to the groups in turn."""
        h = self.host
        dev = self.device_list()[device]
        n = min(h.cores, dev.max_io_queues or h.cores)
        per_node = h.cores // h.numa_nodes
        nodes = [list(range(k * per_node, (k + 1) * per_node)) for k in range(h.numa_nodes)]
        if n <= len(nodes):
            groups: list[list[int]] = [[] for _ in range(n)]
            for k, cpus in enumerate(nodes):
                groups[k % n].extend(cpus)
            return groups
        # alloc_nodes_groups: nodes by ascending CPU count, each max(1, groups left x its
        # CPUs / CPUs left), rounded down
        shares, left, cpus_left = [], n, h.cores
        for cpus in nodes:
            g = max(1, left * len(cpus) // cpus_left)
            shares.append(g)
            left -= g
            cpus_left -= len(cpus)
        groups = []
        for cpus, g in zip(nodes, shares):
            size, extra = divmod(len(cpus), g)
            at = 0
            for i in range(g):
                take = size + (1 if i < extra else 0)
                groups.append(cpus[at:at + take])
                at += take
        return groups

    def vector_cpu(self, device: int, group: list[int]) -> int:
        """The CPU a queue's interrupt is delivered to: one of its group's, the one with the
        fewest managed vectors so far (x86's ``irq_matrix_alloc_managed``), i.e. the
        ``device``-th in turn when each device allocates one vector per group."""
        return group[device % len(group)]

    def device_list(self) -> list[DeviceConfig]:
        """The devices: the ``devices`` entries, or the one ``device`` section."""
        return list(self.devices) if self.devices else [self.device]

    def job_files(self) -> list[list[int]]:
        """Each job's files, as indices into :meth:`device_list`, in fio's order: with
        ``read_iolog`` the files its log adds (or ``replay_redirect``'s one), else ``filename``
        (every job opens them all), else ``filename_format`` (one per job: ``$jobnum``,
        ``$jobname`` replaced, fio's ``make_filename``), else the one device."""
        out: list[list[int]] = []
        for at, w in self.sections():
            out += self._section_files(at, w)
        return out

    def _section_files(self, at: str, w: Workload) -> list[list[int]]:
        devs = self.device_list()
        index = {_dev_key(d.name): i for i, d in enumerate(devs)}
        names = [d.name for d in devs]

        def find(name: str, path: str) -> int:
            i = index.get(_dev_key(name))
            if i is None:
                raise CrossFieldError(path, f"{name!r} is not a device of this config (devices: {', '.join(names)})")
            return i

        if w.read_iolog is not None:
            return self._replay_files(index, names)
        if w.filename is not None:
            parts = w.filename.split(":")
            if not all(parts):
                raise CrossFieldError(f"{at}.filename", f"an empty name in {w.filename!r} (':'-separated names)")
            found = [find(p, f"{at}.filename") for p in parts]
            if len(set(found)) < len(found):
                raise CrossFieldError(f"{at}.filename", f"{w.filename!r} names a device twice")
            return [found] * w.numjobs
        if w.filename_format is not None:
            return [[find(w.filename_format.replace("$jobnum", str(j)).replace("$jobname", w.name),
                          f"{at}.filename_format")] for j in range(w.numjobs)]
        if len(devs) > 1:
            raise CrossFieldError(f"{at}.filename", f"{len(devs)} devices: name each job's files (fio's "
                                  f"filename={':'.join(names)}, or filename_format=nvme$jobnumn1)")
        return [[0]] * w.numjobs

    def _replay_logs(self) -> dict[str, Any]:
        """Each distinct log of ``read_iolog``, checked line by line (config/iolog.py: its
        summary, cached), by path; an unreadable or bad log is located at its line."""
        w = self.workload
        logs = split_names(w.read_iolog)
        if not all(logs):
            raise CrossFieldError("workload.read_iolog", f"an empty name in {w.read_iolog!r} (':'-separated logs)")
        out = {}
        for path in dict.fromkeys(logs):
            try:
                summary = scan(path, w.replay_redirect)
            except IologError as e:
                raise CrossFieldError("workload.read_iolog", str(e)) from None
            if not sum(summary.ios):
                raise CrossFieldError("workload.read_iolog", f"{path}: no read or write to replay (fio: failed "
                                      "initializing iolog)")
            out[path] = summary
        return out

    def _replay_files(self, index: dict[str, int], names: list[str]) -> list[list[int]]:
        """A replaying job's files (fio's ``read_iolog`` replaces ``filename``): the files
        its log adds, in order, each a device by name (/dev/ optional), or the one device
        of ``replay_redirect``; job *j* replays the ``j % n``-th log."""
        w = self.workload
        logs = split_names(w.read_iolog)
        summaries = self._replay_logs()
        found: dict[str, list[int]] = {}
        for path, s in summaries.items():
            devs: list[int] = []
            for name, line in zip(s.files, s.file_lines):
                i = index.get(_dev_key(name))
                if i is None:
                    if w.replay_redirect is not None:
                        raise CrossFieldError("workload.replay_redirect", f"{name!r} is not a device of this config "
                                              f"(devices: {', '.join(names)})")
                    raise CrossFieldError("workload.read_iolog", f"{path}:{line}: {name!r} is not a device of this "
                                          f"config (devices: {', '.join(names)}); replay_redirect=DEVICE replays "
                                          "the whole log on one")
                if i in devs:
                    raise CrossFieldError("workload.read_iolog", f"{path}:{line}: {name!r} names {names[i]} again: "
                                          "two files of the log on one device are not modelled")
                devs.append(i)
            found[path] = devs
        return [found[logs[j % len(logs)]] for j in range(w.numjobs)]

    def _check_replay_sizes(self, limit: int, why: str) -> None:
        """Every request size of the logs fits the driver's maximum transfer, located at a
        line with an offending size (the first such line when the log has at most
        ``iolog.MAX_SIZES`` distinct sizes)."""
        for path, s in self._replay_logs().items():
            bad = sorted((line, size) for size, line in s.sizes.items() if size > limit)
            line, size = bad[0] if bad else (s.largest[1], s.largest[0])
            if size > limit:
                raise CrossFieldError("workload.read_iolog", f"{path}:{line}: {size} B exceeds the driver's "
                                      f"maximum transfer of {limit} B ({why}; the block layer would split it, "
                                      "which is not modelled)")

    def _check_sqpoll(self, qd: int) -> None:
        w = self.workload
        if w.ioengine != "io_uring":
            raise CrossFieldError("workload.sqthread_poll", "needs ioengine=io_uring (an io_uring setup flag)")
        if w.hipri:
            raise CrossFieldError("workload.sqthread_poll", "with hipri (SQPOLL + IOPOLL) is not modelled")
        if w.iodepth > qd - 1:
            raise CrossFieldError("workload.sqthread_poll", f"with iodepth {w.iodepth} beyond the {qd - 1} tags "
                                  "(the SQ thread's io-wq) is not modelled")
        jobs = self.job_cpus()
        if w.sqthread_poll_cpu is not None:
            if w.sqthread_poll_cpu >= self.host.cores:
                raise CrossFieldError("workload.sqthread_poll_cpu",
                                      f"CPU {w.sqthread_poll_cpu} does not exist (host.cores = {self.host.cores})")
            if w.sqthread_poll_cpu in jobs or self.numjobs > 1:
                raise CrossFieldError("workload.sqthread_poll_cpu", "the SQ thread needs a CPU of its own: not a "
                                      "job's, and one per job (each job's ring has its own thread); with several "
                                      "jobs leave it unset")
        elif len(self.sq_cpus()) < len(jobs):
            raise CrossFieldError("workload.sqthread_poll", f"each job's SQ thread needs a CPU no job runs on "
                                  f"(host.cores = {self.host.cores}, numjobs = {self.numjobs})")

    def sq_cpus(self) -> list[int]:
        """The CPU of each job's SQPOLL thread (``sim/sqpoll.py``): ``sqthread_poll_cpu``,
        else the CPUs no job runs on, in order (the thread is allowed every online CPU,
        not fio's affinity: io_sq_thread; placement on a free one is an assumption)."""
        w = self.workload
        if not w.sqthread_poll:
            return []
        if w.sqthread_poll_cpu is not None:
            return [w.sqthread_poll_cpu]
        jobs = self.job_cpus()
        return [c for c in range(self.host.cores) if c not in jobs][: len(jobs)]

    # ---- derived facts the model uses --------------------------------------
    def kernel(self) -> KernelRules:
        """The rules of the configured kernel generation."""
        return KERNELS[self.driver.kernel]

    def max_transfer(self) -> int:
        """The largest request the driver takes whole, in bytes."""
        return self._transfer_limit()[0]

    def _transfer_limit(self) -> tuple[int, str]:
        k = self.kernel()
        kb, why = (self.driver.max_transfer_kb, "driver.max_transfer_kb") if self.driver.max_transfer_kb else (
            k.max_kb, f"NVME_MAX_KB_SZ = {k.max_kb} KiB on {k.name}")
        if self.host.iommu and kb > IOMMU_MAX_KB:
            kb, why = IOMMU_MAX_KB, f"{IOMMU_MAX_KB} KiB with an IOMMU: dma_opt_mapping_size"
        limit = kb * 1024
        if self.workload.iomem == "malloc" and not self.host.iommu and k.max_segs * PAGE < limit:
            limit, why = k.max_segs * PAGE, f"NVME_MAX_SEGS = {k.max_segs} segments x 4 KiB buffer pages on {k.name}"
        return limit, why

    def effective_queue_depth(self, device: int | None = None) -> int:
        """An I/O queue's entries: io_queue_depth capped by the device's MQES+1 (of device
        ``device`` of :meth:`device_list`; of the smallest when None)."""
        devs = self.device_list() if device is None else [self.device_list()[device]]
        return min(self.driver.queue_depth, *(d.max_queue_entries for d in devs))

    def job_cpus(self, check: bool = False) -> list[int]:
        """CPU of each job: fio's cpus_allowed with cpus_allowed_policy=split, which gives
        the job numbered ``j`` over the whole run (``thread_number - 1``) the ``j``-th CPU
        of its section's set, modulo its size (backend.c: fio_cpus_split).  A section
        without cpus_allowed has every CPU (fio lets its jobs float: pinning job ``j`` to
        CPU ``j`` is nvmesim's assumption).  ``check``: two jobs on one CPU is an error."""
        out: list[int] = []
        first: dict[int, int] = {}  # CPU -> the first job on it
        for at, w in self.sections():
            cpus = parse_cpus(w.cpus_allowed) if w.cpus_allowed else list(range(self.host.cores))
            for _ in range(w.numjobs):
                cpu = cpus[len(out) % len(cpus)]
                if check and cpu in first:
                    raise CrossFieldError(f"{at}.cpus_allowed" if w.cpus_allowed else f"{at}.numjobs",
                                          f"job {len(out)} would run on CPU {cpu}, which job {first[cpu]} runs "
                                          f"on (fio's cpus_allowed_policy=split: the job's number modulo the "
                                          f"{len(cpus)} CPUs of cpus_allowed={w.cpus_allowed or 'all'}); nvmesim "
                                          "runs each job on a CPU of its own")
                first.setdefault(cpu, len(out))
                out.append(cpu)
        return out

    def iowq_cpus(self) -> list[list[int]]:
        """The CPUs each job's io-wq workers run on (``sim/iowq.py``): none unless io_uring
        without hipri can find no tag (iodepth beyond the tags); else the CPUs no job runs
        on, shared out between the jobs, each to the job with the fewest so far among
        those on its NUMA node (the scheduler's wake-up placement prefers the waker's
        node: an assumption), else -- not on 6.2, whose workers are node-bound -- among
        all jobs."""
        w = self.workload
        jobs = self.job_cpus()
        out: list[list[int]] = [[] for _ in jobs]
        if w.ioengine != "io_uring" or w.hipri or w.iodepth <= self.effective_queue_depth() - 1:
            return out
        bound = self.kernel().iowq_node_bound
        node_of = self.host.node_of
        busy = set(jobs)
        by_node: dict[int, list[int]] = {}
        for j, cpu in enumerate(jobs):
            by_node.setdefault(node_of(cpu), []).append(j)
        for c in range(self.host.cores):
            if c in busy:
                continue
            cands = by_node.get(node_of(c), [])  # the waker's node first
            if not cands and not bound:
                cands = list(range(len(jobs)))
            if cands:
                out[min(cands, key=lambda j: len(out[j]))].append(c)
        return out

    def effective(self) -> dict[str, Any]:
        """Every field, defaults filled in, as plain JSON-able data."""
        return self.model_dump(mode="json")


def _dev_key(name: str) -> str:
    """A device name as fio's filename would give it, without ``/dev/``."""
    return name[5:] if name.startswith("/dev/") else name


class CrossFieldError(ValueError):
    """A cross-field error that knows its dotted path (the loader locates it)."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(msg)
        self.path = path
        self.msg = msg


