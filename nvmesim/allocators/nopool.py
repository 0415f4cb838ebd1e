"""``nopool``: no pooling — every alloc is a ``dma_alloc_coherent`` of a page, every free
a ``dma_free_coherent``: what a driver would pay without dmapool, to show what pooling buys.

The pool keeps nothing: a block is a whole allocation (``max(size, PAGE)`` bytes, one
block at offset 0), handed back to the page allocator on free.  Assumed: dma-direct (no
IOMMU: no IOVA allocation, no IOTLB flush on free), order-0 pages, so
``dma_alloc_coherent`` is the page allocator plus zeroing and ``dma_free_coherent`` is
``__free_pages``.

The page allocator is modelled as far as it decides which frame comes back and which
lines it touches: the per-CPU page lists (``struct per_cpu_pages``, ``mm/page_alloc.c``)
are LIFO — a freed frame goes to the head of the freeing CPU's list, an alloc takes the
head of its CPU's list — so a CPU gets back the frame it freed last.  An empty list is
refilled with :data:`PCP_BATCH` frames from the buddy lists (``rmqueue_bulk``; frames
other CPUs drained, newest first, then frames never used); a list that reaches
:data:`PCP_HIGH` frames drains its ``PCP_BATCH`` oldest to the buddy lists
(``free_pcppages_bulk``).  ``batch`` 63 and ``high = 6 * batch`` are the per-zone values of
kernels before 5.14 for any zone over ~256 MiB (``zone_batchsize``, ``pageset_set_batch``;
later kernels scale ``high`` with the zone and the CPUs): an assumption.

``nr_pages`` counts the distinct page frames the modelled page allocator has handed out
(the handle space), not pages the pool holds — it holds none; ``pages_created`` is 1 on an
alloc that uses a frame for the first time.

Prices, from the one cost model:

* alloc: ``page_create_ns`` (the page allocator and zeroing the page; it also covers
  ``pool_alloc_page``'s descriptor kmalloc and block chaining, which this does not do: an
  over-estimate of that small part) plus one ``lock_ns`` (the per-CPU list's lock with
  interrupts off, in place of the pool lock, which is not taken), and the frame's
  ``struct page`` line (a side line per frame: 64 B, one line);
* free: the call, one ``lock_ns`` (as above) and the ``struct page`` line written; a
  drain or refill also touches each moved frame's ``struct page`` and takes the zone
  lock (one more ``lock_ns``).
"""

from __future__ import annotations

from .base import DmaPool, Geometry, OpStats

PCP_BATCH = 63
PCP_HIGH = 6 * PCP_BATCH


class NoPool(DmaPool):
    """No pool: a fresh coherent page per block, freed straight back."""

    name = "nopool"
    min_size = 1

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pcp: dict[int, list[int]] = {}  # cpu -> free frames (page indices), head = end
        self._buddy: list[int] = []  # frames drained from per-CPU lists, newest = end
        self._struct_page: list[int] = []  # per frame: its struct page side line

    @classmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        return (0,)  # the whole allocation is the block

    def _new_frame(self) -> int:
        self.new_page()
        self._struct_page.append(self.new_side_lines(1))
        return self.nr_pages - 1

    def take(self, cpu: int, op: OpStats) -> int:
        pcp = self._pcp.get(cpu)
        if pcp is None:
            pcp = self._pcp[cpu] = []
        op.locked = False  # no pool lock; the page allocator's own is priced below
        cost = self.cost
        ns = 0.0
        if not pcp:  # rmqueue_bulk: a batch from the buddy lists, under the zone lock
            buddy = self._buddy
            lines = self._struct_page
            price = self.price_line
            moved = []
            for _ in range(PCP_BATCH):
                if buddy:
                    frame = buddy.pop()
                    ns += price(lines[frame], True)
                else:
                    frame = -1  # a frame never used: numbered when it is handed out
                moved.append(frame)
            pcp.extend(reversed(moved))  # the first taken ends at the head
            ns += cost.lock_ns
        frame = pcp.pop()
        if frame < 0:  # new_page: the base adds page_ns = page_create_ns + lock_ns
            frame = self._new_frame()
        else:  # the same price for a frame used before
            ns += cost.page_create_ns + cost.lock_ns
        op.extra_ns = ns
        self.op_line = self._struct_page[frame]
        return self.base + frame * self._page_bytes

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        frame = (handle - self.base) // self._page_bytes
        pcp = self._pcp.get(cpu)
        if pcp is None:
            pcp = self._pcp[cpu] = []
        op.locked = False
        ns = self.cost.lock_ns  # the pcp lock, irqsave
        pcp.append(frame)
        self.op_line = self._struct_page[frame]
        if len(pcp) >= PCP_HIGH:  # free_pcppages_bulk: the oldest batch to the buddy lists
            lines = self._struct_page
            price = self.price_line
            drained = pcp[:PCP_BATCH]
            del pcp[:PCP_BATCH]
            for f in drained:
                if f >= 0:
                    ns += price(lines[f], True)
                    self._buddy.append(f)
            ns += self.cost.lock_ns  # the zone lock
        op.extra_ns = ns

    def free_state(self) -> tuple:
        return (tuple((c, tuple(p)) for c, p in sorted(self._pcp.items())), tuple(self._buddy))
