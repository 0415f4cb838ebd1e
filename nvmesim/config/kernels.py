"""Kernel generations: what each one changes on the modelled I/O path.

A run names its kernel (``driver.kernel``); every rule that differs between the
generations the model knows is a field of :class:`KernelRules`, set per generation
here with the commit that changed it.  Code asks ``rules.<field>``, never compares
version strings.  Sources: ``docs/kernel-path.md`` (which also says how each fact was
read: source snapshots of 6.2.12, 6.4.6, 6.8.0 and 6.17.0; 6.16 from its commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KernelName = Literal["6.2", "6.4", "6.8", "6.16", "6.17"]


@dataclass(frozen=True, slots=True)
class KernelRules:
    """The behaviours that differ between kernel generations (one value per generation)."""

    name: str
    # ---- nvme-pci data mapping (drivers/nvme/host/pci.c)
    #: SGL lists chain a new page every 256 descriptors (removed in 6.3 by 01df742d8c5c
    #: "nvme-pci: remove SGL segment descriptors")
    sgl_chaining: bool
    #: the SGL decision averages over DMA-mapped segments, so IOMMU merging counts
    #: (6.3, ae5829350324 "nvme-pci: use mapped entries for sgl decision"); before, over
    #: the request's physical segments
    sgl_avg_mapped: bool
    #: one pair of PRP/descriptor pools per NUMA node (6.16, d977506f8863)
    per_node_pools: bool
    #: how a request's data is DMA-mapped: a scatterlist (``blk_rq_map_sg`` +
    #: ``dma_map_sgtable``) or ``blk_rq_dma_map`` (6.17, 7ce3c1dd78fc: with an IOMMU the
    #: whole request is one IOVA range)
    dma_map: Literal["sg", "iova"]
    #: a single segment too long for PRP1+PRP2 takes the inline SGL even with
    #: ``sgl_threshold=0`` (6.17's ``nvme_pci_setup_data_simple``; before, the inline SGL
    #: needed a non-zero threshold)
    inline_sgl_without_threshold: bool
    #: NVME_MAX_KB_SZ / NVME_MAX_BYTES in KiB, and NVME_MAX_SEGS
    max_kb: int
    max_segs: int
    # ---- block layer (block/blk-mq.c)
    #: the plug list is FIFO (6.13, e70c301faece "block: don't reorder requests in
    #: blk_add_rq_to_plug"); before, LIFO: a flush writes the SQEs in reverse order
    plug_fifo: bool
    #: the completion batch is FIFO (6.13, 00e8d290b55f "block: don't reorder requests in
    #: blk_mq_add_to_batch"); before, requests are added at its head
    batch_fifo: bool
    # ---- fs/aio.c
    #: aio_complete wakes an io_getevents waiter only once min_nr events are available
    #: (6.8, 71eb6b6b0ba9 "fs/aio: obey min_nr when doing wakeups"); before, every event
    #: wakes it
    aio_wake_min_nr: bool
    # ---- io_uring
    #: DEFER_TASKRUN's lazy wake: the waiter is woken once enough completions for its
    #: min_events are queued (6.4, IOU_F_TWQ_LAZY_WAKE); 6.2 wakes it at every completion
    defer_lazy_wake: bool
    #: at most max(this, min_events) local task-work items per run (6.13, "io_uring:
    #: limit local tw done", IO_LOCAL_TW_DEFAULT_MAX); 0 = no cap
    local_tw_cap: int
    #: a request that got -EAGAIN (no free tag) is re-issued from io-wq when its
    #: completion task work runs (6.14, d803d123948f); before, inline during the submit
    reissue_at_completion: bool
    #: io-wq workers are bound to the NUMA node of the CPU that queued the work (6.2's
    #: io_init_new_worker: cpumask_of_node); from 6.4 any CPU (cpu_possible_mask), from
    #: 6.12 the cgroup cpuset (84eacf177faa) -- never fio's own cpus_allowed
    iowq_node_bound: bool


def _rules(name: str, **kw) -> KernelRules:
    return KernelRules(name=name, **kw)


_62 = dict(sgl_chaining=True, sgl_avg_mapped=False, per_node_pools=False, dma_map="sg",
           inline_sgl_without_threshold=False, max_kb=4096, max_segs=127, plug_fifo=False, batch_fifo=False,
           aio_wake_min_nr=False, defer_lazy_wake=False, local_tw_cap=0, reissue_at_completion=False,
           iowq_node_bound=True)
# 6.4: 6.3's SGL changes; NVME_MAX_KB_SZ 8192 and NVME_MAX_SEGS 128 (read in 6.4.6)
_64 = {**_62, "sgl_chaining": False, "sgl_avg_mapped": True, "max_kb": 8192, "max_segs": 128,
       "defer_lazy_wake": True, "iowq_node_bound": False}
_68 = {**_64, "aio_wake_min_nr": True}
# 6.16 (inferred from 6.17 and the commits' release tags): per-node pools; 6.13's FIFO
# plug and task-work cap; 6.14's re-issue at completion
_616 = {**_68, "per_node_pools": True, "plug_fifo": True, "batch_fifo": True, "local_tw_cap": 20, "reissue_at_completion": True}
# 6.17: blk_rq_dma_map; NVME_MAX_BYTES 8 MiB, NVME_MAX_SEGS 256 (data SGLs never chain)
_617 = {**_616, "dma_map": "iova", "inline_sgl_without_threshold": True, "max_segs": 256}

KERNELS: dict[str, KernelRules] = {
    "6.2": _rules("6.2", **_62),
    "6.4": _rules("6.4", **_64),
    "6.8": _rules("6.8", **_68),
    "6.16": _rules("6.16", **_616),
    "6.17": _rules("6.17", **_617),
}

#: with an IOMMU in DMA-translated mode, dma_opt_mapping_size caps a request at the
#: IOVA rcache range, PAGE_SIZE << 5 = 128 KiB on x86 (kernel/dma/mapping.c,
#: drivers/iommu/iova.c: iova_rcache_range; nvme_pci_alloc_dev)
IOMMU_MAX_KB = 128


def rules(kernel: str) -> KernelRules:
    """The rules of generation ``kernel`` (one of :data:`KERNELS`)."""
    return KERNELS[kernel]
