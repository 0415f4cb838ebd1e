"""``legacy``: dmapool up to v6.3 (kernel.md §2).

Pages sit on one list, newest first; each page keeps its own LIFO chain of free
blocks.  Alloc scans from the head for the first page with room (creating a
page at the head when none has any); free scans from the head for the page
that owns the handle (``pool_find_page``).  Pages are never freed.

The node counts are exactly those of that naive walk, but nothing is walked in
Python: page ``i`` (0-based creation order) of ``P`` sits at position
``P - i`` from the head, so

* free visits ``P - page(handle)`` nodes, and
* alloc visits ``P - i`` nodes where ``i`` is the newest page with room, kept
  in a max-heap of page indices (lazy deletion), or ``P`` nodes when no page
  has room.

Both are O(log P) per operation.

Each walk reads the descriptors it passes and writes the chosen page's (``in_use``,
``offset``): :meth:`DmaPool.touch_descriptors` tells the base class, which prices the
descriptors other CPUs wrote since this one last read them.
"""

from __future__ import annotations

from heapq import heappop, heappush

from .base import DmaPool, Geometry, OpStats


class LegacyPool(DmaPool):
    """dmapool before "dmapool: link blocks across pages"."""

    name = "legacy"
    min_size = 4  # the free chain keeps an int in each free block

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._chains: list[list[int]] = []  # per page: free offsets, top = end
        self._room: list[int] = []  # max-heap (negated) of pages that may have room
        self._in_heap: list[bool] = []
        self._top_first = tuple(reversed(self.offsets))  # pop() yields offset 0 first

    @classmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        # pool_initialise_page chains blocks from 0 up; its ">=" boundary test
        # skips the last block that would end exactly on a boundary.
        offs: list[int] = []
        offset, next_boundary = 0, g.boundary
        while offset < g.allocation:
            offs.append(offset)
            nxt = offset + g.size
            if nxt + g.size >= next_boundary:
                nxt = next_boundary
                next_boundary += g.boundary
            offset = nxt
        return tuple(offs)

    def take(self, cpu: int, op: OpStats) -> int:
        heap = self._room
        chains = self._chains
        while heap and not chains[-heap[0]]:
            self._in_heap[-heappop(heap)] = False
        if heap:
            page = -heap[0]
            op.nodes = self.nr_pages - page
            if self._slow:  # (touch_descriptors has nothing to do otherwise; this runs per I/O)
                self.touch_descriptors(page, page)  # read on the way; in_use and offset written
        else:
            op.nodes = page = self.nr_pages  # looked at every page, none had room
            if self._slow:
                self.touch_descriptors(0)
            chains.append(list(self._top_first))
            self._in_heap.append(True)
            heappush(heap, -page)
            self.new_page()  # its descriptor is written by this CPU as it is created
        return self.base + page * self._page_bytes + chains[page].pop()

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        page, off = divmod(handle - self.base, self._page_bytes)
        op.nodes = self.nr_pages - page  # pool_find_page walks from the newest page
        if self._slow:
            self.touch_descriptors(page, page)  # in_use and offset written
        self._chains[page].append(off)
        if not self._in_heap[page]:
            self._in_heap[page] = True
            heappush(self._room, -page)

    def free_state(self) -> tuple:
        return tuple(tuple(c) for c in self._chains)
