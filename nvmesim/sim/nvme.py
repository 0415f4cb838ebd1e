"""nvme-pci's rules for mapping a request's data (kernel.md §5; per generation:
:mod:`nvmesim.config.kernels`).

``map_plan`` decides, for a request of ``nbytes`` over ``nsegs`` DMA segments,
whether the command carries its data pointers inline (no pool), or needs PRP /
SGL list blocks from the "prp list 256" or "prp list page" pool, and how many.
Behaviour modelled on drivers/nvme/host/pci.c (``nvme_map_data``,
``nvme_pci_setup_prps``/``_sgls`` up to 6.16; ``nvme_pci_setup_data_simple``,
``nvme_pci_setup_data_prp``/``_sgl`` in 6.17); no code copied.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..allocators.costmodel import PAGE
from ..config.kernels import KERNELS

CTRL_PAGE = 4096  # NVME_CTRL_PAGE_SIZE
SMALL_POOL = 256  # "prp list 256"
PAGE_POOL = 4096  # "prp list page"
SGL_DESC = 16  # bytes per SGL descriptor
PRPS_PER_PAGE = CTRL_PAGE // 8  # 512 entries of 8 B in one list page


@dataclass(frozen=True, slots=True)
class MapPlan:
    """How one request is mapped."""

    method: str  # "prp-inline", "sgl-inline", "prp", "sgl"
    pool: int  # 0 (no pool), 256 or 4096: block size of the pool used
    lists: int  # pool blocks per request
    entries: int  # PRP entries / SGL descriptors written


def map_plan(
    nbytes: int,
    nsegs: int,
    offset: int = 0,
    sgl_supported: bool = False,
    sgl_threshold: int = 32768,
    kernel: str = "6.4",
    iommu: bool = False,
) -> MapPlan:
    """The driver's choice for one request on an I/O queue (so SGLs may apply).

    ``nsegs`` counts the request's physically contiguous runs; with an IOMMU the DMA
    mapping merges them into one (6.17: one IOVA range from ``blk_rq_dma_map``;
    before, ``iommu_dma_map_sg`` concatenates granule-aligned entries).  PRPs need
    one entry per 4 KiB page whatever the segments; an SGL needs one descriptor per
    mapped segment, inline when there is one."""
    k = KERNELS[kernel]
    if nsegs == 1:
        # the single-segment fast path (nvme_map_data's simple cases; 6.17's
        # nvme_pci_setup_data_simple)
        if (offset & (CTRL_PAGE - 1)) + nbytes <= 2 * CTRL_PAGE:
            return MapPlan("prp-inline", 0, 0, min(2, _pages(nbytes, offset)))
        if sgl_supported and (sgl_threshold or k.inline_sgl_without_threshold):
            return MapPlan("sgl-inline", 0, 0, 1)
    mapped = 1 if iommu else nsegs  # DMA segments after mapping
    avg = -(-nbytes // (mapped if k.sgl_avg_mapped else nsegs))
    if sgl_supported and sgl_threshold and avg >= sgl_threshold:
        if mapped == 1:
            return MapPlan("sgl-inline", 0, 0, 1)
        if mapped <= SMALL_POOL // SGL_DESC:
            return MapPlan("sgl", SMALL_POOL, 1, mapped)
        per = CTRL_PAGE // SGL_DESC  # 256 descriptors per list page
        if k.sgl_chaining:
            # before 6.3 a full list page chains to the next (last slot = segment pointer)
            lists = 1 if mapped <= per else 1 + -(-(mapped - per) // (per - 1))
        else:
            lists = 1
        return MapPlan("sgl", PAGE_POOL, lists, mapped)
    # PRPs: PRP1 covers the first (partial) page; the rest fits PRP2 or a list
    first = CTRL_PAGE - (offset & (CTRL_PAGE - 1))
    rest = nbytes - first
    if rest <= 0:
        return MapPlan("prp-inline", 0, 0, 1)
    if rest <= CTRL_PAGE:
        return MapPlan("prp-inline", 0, 0, 2)
    nprps = -(-rest // CTRL_PAGE)
    if nprps <= SMALL_POOL // 8:
        return MapPlan("prp", SMALL_POOL, 1, nprps)
    # each list page holds 511 entries plus a chain pointer; the last holds 512
    lists = 1 if nprps <= PRPS_PER_PAGE else 1 + -(-(nprps - PRPS_PER_PAGE) // (PRPS_PER_PAGE - 1))
    return MapPlan("prp", PAGE_POOL, lists, nprps)


def _pages(nbytes: int, offset: int) -> int:
    return -(-((offset & (CTRL_PAGE - 1)) + nbytes) // CTRL_PAGE)


HUGE_PAGE = 2 * 1024 * 1024  # fio's iomem=mmaphuge: 2 MiB huge pages (x86's default hugepagesz)


def segments(nbytes: int, iomem: str) -> int:
    """DMA segments of an I/O buffer (physically contiguous runs): one per 4 KiB page
    (malloc), one per 2 MiB huge page (mmaphuge: contiguous pages merge into one
    multi-page bio_vec and one segment; nvme's unlimited max_segment_size allows it)."""
    if iomem == "mmaphuge":
        return -(-nbytes // HUGE_PAGE)
    return -(-nbytes // PAGE)
