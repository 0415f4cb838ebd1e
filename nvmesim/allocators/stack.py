"""``stack``: dmapool from v6.4 on (kernel.md §3).

Free blocks of all pages form one intrusive stack: alloc pops, free pushes, no
lookup.  A new page's blocks are spliced on so that they pop in ascending
address order; every block that fits a page is used.  Pages are never freed.
"""

from __future__ import annotations

from .base import DmaPool, Geometry


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

    def alloc(self, cpu: int = 0) -> tuple[int, float]:
        self._clock += 1
        stack = self._stack
        pages = 0
        if not stack:
            self._grow()
            pages = 1
        handle = stack.pop()
        self._live.add(handle)
        return handle, self._finish(handle, 0, pages, False)

    def _grow(self) -> None:
        """pool_alloc_page: a new page's blocks go on the stack, to pop in ascending order."""
        base = self.base + self.nr_pages * self.geometry.allocation
        self._stack.extend(base + o for o in reversed(self.offsets))
        self._new_page_lines()

    def free(self, handle: int, cpu: int = 0) -> float:
        self._clock += 1
        try:
            self._live.remove(handle)  # _check_free, inlined: the hot path
        except KeyError:
            self._reject_free(handle)
        self._stack.append(handle)
        return self._finish(handle, 0, 0, True)

    def _free_state(self) -> tuple:
        return tuple(self._stack)
