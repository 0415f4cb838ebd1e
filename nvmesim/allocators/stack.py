"""``stack``: dmapool from v6.4 on (kernel.md §3).

Free blocks of all pages form one intrusive stack: alloc pops, free pushes, no
lookup.  A new page's blocks are spliced on so that they pop in ascending
address order; every block that fits a page is used.  Pages are never freed.

The pool-wide ``next_block`` and the counters (``nr_active``, ...) share the first line
of ``struct dma_pool`` with the spinlock (x86-64, no lock debugging: ``page_list`` at
0, ``lock`` at 16, ``next_block`` at 24, counters up to 56; kmalloc-128 aligns it), so
taking the lock brings them along: their line moves between CPUs as the lock's does,
and is priced with it (``lock_line``).  The descriptors are not read on this path.
"""

from __future__ import annotations

from .base import DmaPool, Geometry, OpStats


class StackPool(DmaPool):
    """dmapool after "dmapool: link blocks across pages"."""

    name = "stack"
    min_size = 16  # struct dma_block: next pointer + dma address

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stack: list[int] = []  # free handles, top = end

    @classmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        offs: list[int] = []
        offset, next_boundary = 0, g.boundary
        while offset + g.size <= g.allocation:
            if offset + g.size > next_boundary:
                offset = next_boundary
                next_boundary += g.boundary
                continue
            offs.append(offset)
            offset += g.size
        return tuple(offs)

    def take(self, cpu: int, op: OpStats) -> int:
        stack = self._stack
        if not stack:
            self._grow()
        return stack.pop()

    def _grow(self) -> None:
        """pool_alloc_page: a new page's blocks go on the stack, to pop in ascending order."""
        base = self.new_page()
        self._stack.extend(base + o for o in reversed(self.offsets))

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        self._stack.append(handle)

    def free_state(self) -> tuple:
        return tuple(self._stack)
