"""A slow, obviously-correct transcription of both dmapool designs, for the tests.

It walks real Python lists one node at a time, exactly as the kernel walks its
page list, and counts every descriptor examined.  It shares nothing with the
fast models in ``nvmesim.allocators`` except the handle numbering (page ``i``
spans ``[i * allocation, (i + 1) * allocation)``).
"""

from __future__ import annotations


class NaivePage:
    def __init__(self, index: int, first_free: int) -> None:
        self.index = index
        self.offset = first_free  # first free block, like dma_page.offset
        self.links: dict[int, int] = {}  # free block -> next free (the int in the block)
        self.in_use = 0


class NaiveLegacy:
    """dmapool <= v6.3: page list newest-first, per-page free chains, ``>=`` boundary test."""

    def __init__(self, size: int, align: int, boundary: int) -> None:
        align = align or 1
        size = max(size, 4)
        size = (size + align - 1) // align * align
        self.size = size
        self.allocation = max(size, 4096)
        self.boundary = boundary or self.allocation
        self.pages: list[NaivePage] = []  # head first
        self.nodes = 0

    def _new_page(self) -> NaivePage:
        page = NaivePage(len(self.pages), 0)
        offset, next_boundary = 0, self.boundary
        while True:
            nxt = offset + self.size
            if nxt + self.size >= next_boundary:
                nxt = next_boundary
                next_boundary += self.boundary
            page.links[offset] = nxt
            offset = nxt
            if offset >= self.allocation:
                break
        return page

    def alloc(self) -> tuple[int, int]:
        nodes = 0
        found = None
        for page in self.pages:
            nodes += 1
            if page.offset < self.allocation:
                found = page
                break
        if found is None:
            found = self._new_page()
            self.pages.insert(0, found)
        off = found.offset
        found.offset = found.links.pop(off)
        found.in_use += 1
        return found.index * self.allocation + off, nodes

    def free(self, handle: int) -> int:
        nodes = 0
        for page in self.pages:
            nodes += 1
            base = page.index * self.allocation
            if base <= handle < base + self.allocation:
                off = handle - base
                page.links[off] = page.offset
                page.offset = off
                page.in_use -= 1
                return nodes
        raise ValueError("foreign handle")


class NaiveStack:
    """dmapool >= v6.4: one LIFO of free blocks, new pages popping in ascending order."""

    def __init__(self, size: int, align: int, boundary: int) -> None:
        align = align or 1
        size = max(size, 16)
        size = (size + align - 1) // align * align
        self.size = size
        self.allocation = max(size, 4096)
        self.boundary = min(boundary or self.allocation, self.allocation)
        self.free_list: list[int] = []  # index 0 = top of stack
        self.npages = 0

    def alloc(self) -> tuple[int, int]:
        if not self.free_list:
            base = self.npages * self.allocation
            self.npages += 1
            offset, next_boundary = 0, self.boundary
            blocks = []
            while offset + self.size <= self.allocation:
                if offset + self.size > next_boundary:
                    offset = next_boundary
                    next_boundary += self.boundary
                    continue
                blocks.append(base + offset)
                offset += self.size
            self.free_list = blocks + self.free_list
        return self.free_list.pop(0), 0

    def free(self, handle: int) -> int:
        self.free_list.insert(0, handle)
        return 0
