"""``xarray``: Keith Busch's RFC "dmapool performance enhancements" (April 2022, never merged).

Source: "[PATCH 0/2] dmapool performance enhancements", linux-mm, 28 April 2022
(``20220428202714.17630-1-kbusch@kernel.org``), both patches applied:

* 1/2 "mm/dmapool: replace linked list with xarray" (``...-2-kbusch@kernel.org``): the
  pages sit in ``struct xarray pages`` stored at index ``page->vaddr`` (the page's kernel
  virtual address itself, not a page number); ``pool_find_page`` is
  ``xa_load(&pool->pages, vaddr & ~(allocation - 1))``;
* 2/2 "mm/dmapool: link blocks across pages" (``...-3-kbusch@kernel.org``): free blocks
  of all pages form one stack through ``pool->next_block`` (a pointer in each free block,
  so the minimum block is ``sizeof(void *)`` = 8 B); a new page is made only when the
  stack is empty and its blocks pop in ascending order.  Alloc pops and then still calls
  ``pool_find_page`` on the popped block (for ``page->in_use++``); free calls it (for
  ``in_use--``) and pushes.  ``pool_initialise_page``'s new loop keeps a ``>=`` test: a
  block is used only if it ends *before* the next boundary (block 0 always), so a 4 KiB
  page still holds 255 x 16 B (the cover letter's "all the blocks" is not what that
  loop does); the last block, outside the chain, is where the patch writes the old
  ``next_block`` (NULL: the stack was empty).

So every alloc and every free does one ``xa_load``.  An xarray is rooted at index 0
with 64 slots a node (``XA_CHUNK_SHIFT`` 6), so a tree holding index ``k`` is
``ceil(bits(k) / 6)`` levels deep whatever the number of pages: x86-64's direct map
starts at ``0xffff888000000000`` (4-level paging, no KASLR; :data:`PAGE_OFFSET`), bit
63 is set, so **every lookup descends 11 xa_nodes**, for one page as for thousands (the
brief's ``ceil(log64 P)`` would hold for an index of page numbers, not for the patch's).

What ``op.nodes`` counts: the cache lines the lookup reads, each a dependent load priced
as a descriptor (64 B) by the walk pricing, plus the ``struct dma_page`` it returns
(``in_use`` read and written).  An ``xa_node`` is 576 B (``include/linux/xarray.h``:
shift/offset/count/nr_values, parent, array, a 16-B list head, then ``slots[64]`` from
byte 40, then the marks); ``xas_descend`` reads ``node->shift`` to compute the offset,
then ``node->slots[offset]``, two dependent loads on two lines unless the slot sits in
the header's line (offset <= 2), one line then.  So a level costs 1 or 2 node visits by
the key's bits; the count per page is fixed when it is created.

The pages' physical addresses are an assumption (:data:`PHYS_BASE`): one contiguous run
from 4 GiB, like the model's handles (page ``i`` at ``base + i * allocation``); scattered
frames change which low levels cost 1 or 2 lines, not the 11 levels.  Page creation's
``xa_store`` (outside the lock, with node allocations) is priced as one more descent of
the same lines, inside page creation's own cost.
"""

from __future__ import annotations

from .base import DmaPool, Geometry, OpStats

#: x86-64 direct-map base (``PAGE_OFFSET``, 4-level paging, no KASLR): dma_alloc_coherent's
#: vaddr without an IOMMU remap is ``page_address()``, so PAGE_OFFSET + physical address
PAGE_OFFSET = 0xFFFF888000000000
#: assumed physical address of the pool's first page; page ``i`` at ``PHYS_BASE + i * allocation``
PHYS_BASE = 1 << 32
XA_CHUNK_SHIFT = 6  # 64 slots per xa_node (CONFIG_BASE_SMALL=0)
XA_SLOTS_OFFSET = 40  # byte offset of slots[] in struct xa_node (x86-64)
LINE = 64


def page_vaddr(page: int, allocation: int) -> int:
    """The kernel virtual address the RFC uses as page ``page``'s xarray index."""
    return PAGE_OFFSET + PHYS_BASE + page * allocation


def xa_levels(index: int) -> int:
    """Levels of xa_node an xarray rooted at 0 needs to hold ``index`` (> 0)."""
    bits = index.bit_length()
    return max(1, -(-bits // XA_CHUNK_SHIFT))


def lookup_lines(index: int, levels: int) -> int:
    """Lines ``xa_load(index)`` reads in a tree ``levels`` deep: per level the node's
    header line (``shift``) and, if another line, the line of ``slots[offset]``."""
    lines = 0
    for level in range(levels - 1, -1, -1):
        offset = (index >> (level * XA_CHUNK_SHIFT)) & ((1 << XA_CHUNK_SHIFT) - 1)
        lines += 1 if XA_SLOTS_OFFSET + 8 * offset < LINE else 2
    return lines


class XarrayPool(DmaPool):
    """One stack of free blocks; the page of every popped/pushed block found by xa_load."""

    name = "xarray"
    min_size = 8  # the stack link is a pointer in each free block

    def __init__(self, *args, **kwargs) -> None:
        self._stack: list[int] = []  # free handles, top = end
        self._lookup: list[int] = []  # per page: xa_load lines + the descriptor
        self._levels = 0
        super().__init__(*args, **kwargs)

    @classmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        # patch 2/2's pool_initialise_page: block 0, then each block that ends before the
        # next boundary (">="), skipping to the boundary otherwise
        offs = [0]
        offset, next_boundary = g.size, g.boundary
        while offset < g.allocation:
            if offset + g.size >= next_boundary:
                offset = next_boundary
                next_boundary += g.boundary
                continue
            offs.append(offset)
            offset += g.size
        return tuple(offs)

    def take(self, cpu: int, op: OpStats) -> int:
        stack = self._stack
        if not stack:
            self._grow(op)
        handle = stack.pop()
        page = (handle - self.base) // self._page_bytes
        op.nodes += self._lookup[page]  # pool_find_page(pool, retval), then in_use++
        if self._slow:
            self.touch_descriptor_set((page,), page)
        return handle

    def _grow(self, op: OpStats) -> None:
        """pool_alloc_page + xa_store: the store's descent is counted like a load's."""
        page = self.nr_pages
        key = page_vaddr(page, self._page_bytes)
        levels = xa_levels(key)
        if levels > self._levels:  # xas_expand: the tree grows taller, every path longer
            self._levels = levels
            self._lookup = [lookup_lines(page_vaddr(p, self._page_bytes), levels) + 1
                            for p in range(page)]
        self._lookup.append(lookup_lines(key, self._levels) + 1)
        op.nodes += self._lookup[page] - 1  # xa_store's descent (no descriptor read)
        base = self.new_page()
        self._stack.extend(base + o for o in reversed(self.offsets))

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        page = (handle - self.base) // self._page_bytes
        op.nodes = self._lookup[page]  # pool_find_page(pool, vaddr), then in_use--
        if self._slow:
            self.touch_descriptor_set((page,), page)
        self._stack.append(handle)

    def free_state(self) -> tuple:
        return tuple(self._stack)
