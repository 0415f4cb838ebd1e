"""``oob``: the v6.4 stack with its links kept out of band, outside the DMA memory.

Brian Johannesmeyer's "dmapool: Mitigate device-controllable mem. corruption" (RFC v2,
``20241119205529.3871048-1-bjohannesmeyer@gmail.com``; v3,
``20241122211144.4186080-4-bjohannesmeyer@gmail.com``; never merged).  A device can
overwrite a free block's ``next_block`` and make ``dma_pool_alloc`` return any kernel
address, so the series moves ``struct dma_block`` out of the blocks:

* v3 1/3 "Move pool metadata into non-DMA memory" (``...-3-bjohannesmeyer@gmail.com``):
  every page gets a ``kmalloc_array`` of ``blocks_per_page`` ``struct dma_block``
  entries (``next_block``, ``dma`` and a new ``vaddr``: 24 B on 64-bit), filled by
  ``pool_initialise_page`` in address order; the free stack links those entries, not the
  blocks.  The 16-B minimum block size goes (v3 cover letter: "Remove the minimum DMA
  block size constraint").  Alloc pops an entry and returns its ``vaddr``.
* Free must map the caller's ``vaddr`` back to its entry.  In RFC v2 (and v3 1/3 alone)
  ``pool_find_block`` walks the page list from the head, like the old
  ``pool_find_page``, and divides the offset by the block size; v3 3/3 "Use xarray for
  vaddr-to-block lookup" (``20241122211144.4186080-1-bjohannesmeyer@gmail.com``) replaces
  the walk with ``xa_load`` of an xarray keyed by every block's ``vaddr``, filled by an
  ``xa_store`` per block in ``pool_initialise_page``.  This models v3 (the series' last
  word), in ``dma_pool_free`` before the lock is taken.

What an operation touches, as priced here:

* alloc: the pool line (lock, ``next_block``; priced with the lock as in ``stack``) and
  the popped entry's metadata line (a load) — not the block;
* free: ``xa_load`` — a walk down the xarray, one node per 6 key bits (XA_CHUNK_SHIFT 6,
  64-slot nodes): keys are direct-map kernel addresses (top bits set), so 11 levels.
  The bottom :data:`PRIVATE_LEVELS` levels' nodes span at most 256 KiB and are taken to
  hold only this page's blocks (a pool's pages are scattered over physical memory): they
  are side lines of the page (a leaf per 64 B of block starts, then per 4 KiB, per
  256 KiB), each priced by its own reuse; the 8 upper levels are shared by every block
  and reported as ``nodes`` (priced by the walk rule, as a hot path).  Then the entry's
  ``next_block`` is written (a store to its metadata line).

Doubts, stated: xa_load's lookup runs outside the pool lock in the series, but an
operation here is locked or not as a whole (it counts as locked); one line is priced per
xarray node (the slot line; the node header line is taken to be hot with the upper
levels); a 24-B entry that straddles two lines is priced by the line of its first byte;
the ``kmalloc_array`` and the ``xa_store`` per block of a new page are inside
``page_create_ns`` (not priced separately).
"""

from __future__ import annotations

from .base import Geometry, OpStats
from .stack import StackPool

#: sizeof(struct dma_block) with the series' ``vaddr`` (next_block, dma, vaddr), 64-bit
ENTRY_BYTES = 24
#: xarray levels for a 64-bit key, XA_CHUNK_SHIFT = 6: ceil(64 / 6)
XA_LEVELS = 11
#: levels whose nodes (spanning 64 B, 4 KiB, 256 KiB of addresses) belong to one page
PRIVATE_LEVELS = 3


class OobPool(StackPool):
    """The stack with its free links in kmalloc'd memory and an xarray for free's lookup."""

    name = "oob"
    min_size = 1  # v3: no struct dma_block inside the block any more

    def __init__(self, *args, **kwargs) -> None:
        self._side_base: list[int] = []  # per page: its first side line
        super().__init__(*args, **kwargs)
        offs = self.offsets
        self.meta_lines = -(-len(offs) * ENTRY_BYTES // 64)  # lines of a page's entry array
        # per offset: (its entry's line, its xarray nodes' lines), relative to the page's first
        groups = [sorted({o >> (6 * k) for o in offs}) for k in range(1, PRIVATE_LEVELS + 1)]
        start, firsts = self.meta_lines, []
        for g in groups:
            firsts.append(start)
            start += len(g)
        self.side_per_page = start
        index = [{v: i for i, v in enumerate(g)} for g in groups]
        self._where: dict[int, tuple[int, tuple[int, ...]]] = {
            o: ((j * ENTRY_BYTES) >> 6,
                tuple(firsts[k] + index[k][o >> (6 * (k + 1))] for k in range(PRIVATE_LEVELS)))
            for j, o in enumerate(offs)}

    @classmethod
    def line_shape(cls, g: Geometry) -> tuple[int, int]:
        """An operation brings in a 24-B metadata entry of a kmalloc'd array (8-B aligned:
        every cache set reachable), not a block line."""
        return ENTRY_BYTES, 8

    def _grow(self) -> None:
        """pool_alloc_page: the page, its entry array and its xarray nodes, written now."""
        super()._grow()
        self._side_base.append(self.new_side_lines(self.side_per_page))

    def _locate(self, handle: int) -> tuple[int, tuple[int, tuple[int, ...]]]:
        page, off = divmod(handle - self.base, self._page_bytes)
        return self._side_base[page], self._where[off]

    def take(self, cpu: int, op: OpStats) -> int:
        stack = self._stack
        if not stack:
            self._grow()
        handle = stack.pop()
        first, (meta, _) = self._locate(handle)
        self.op_line = first + meta  # next_block, dma and vaddr read from the entry
        return handle

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        first, (meta, nodes) = self._locate(handle)
        op.nodes = XA_LEVELS - PRIVATE_LEVELS  # xa_load through the shared upper levels
        price = self.price_line
        op.extra_ns = price(first + nodes[2], False) + price(first + nodes[1], False) + \
            price(first + nodes[0], False)  # ... then the page's own nodes down to the leaf
        self.op_line = first + meta  # next_block written into the entry
        self._stack.append(handle)

    def meta_line(self, handle: int) -> int:
        """The side line of ``handle``'s metadata entry (for tests and inspection)."""
        first, (meta, _) = self._locate(handle)
        return first + meta
