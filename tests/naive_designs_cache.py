"""Slow, literal transcriptions of the three designs the kernel does not ship (``oob``,
``magazine``, ``nopool``), for the tests.

Each keeps the structures the design describes (an array of ``struct dma_block``
entries per page linked by indices and an xarray as a dict; per-CPU arrays in front of a
stack; per-CPU page lists in front of the buddy lists) and reports per operation what
the fast models report: the handle (relative to the pool's base), ``nodes``, whether the
pool lock was taken, and the index of the line the operation itself touches (its
"side line": lines numbered in the order the design creates them).  They share nothing
with ``nvmesim.allocators``; the page layout is the v6.4 one, written out again.
"""

from __future__ import annotations

PAGE = 4096


def _geometry(size: int, align: int, boundary: int, min_size: int) -> tuple[int, int, int]:
    align = align or 1
    size = max(size, min_size)
    size = (size + align - 1) // align * align
    allocation = max(size, PAGE)
    return size, allocation, min(boundary or allocation, allocation)


def _v64_offsets(size: int, allocation: int, boundary: int) -> list[int]:
    offs, offset, next_boundary = [], 0, boundary
    while offset + size <= allocation:
        if offset + size > next_boundary:
            offset = next_boundary
            next_boundary += boundary
            continue
        offs.append(offset)
        offset += size
    return offs


class NaiveOob:
    """Metadata out of band: per page an array of (next_block, dma, vaddr) entries; one
    stack through them (``next_block`` = (page, index) or None); free finds its entry in
    an xarray (a dict vaddr -> (page, index)) after 8 shared levels."""

    ENTRY = 24
    SHARED_LEVELS = 8

    def __init__(self, size: int, align: int, boundary: int) -> None:
        self.size, self.allocation, self.boundary = _geometry(size, align, boundary, 1)
        self.offsets = _v64_offsets(self.size, self.allocation, self.boundary)
        self.pages: list[list[dict]] = []  # per page: its entries
        self.next_block: tuple[int, int] | None = None
        self.xarray: dict[int, tuple[int, int]] = {}
        n = len(self.offsets)
        meta = -(-n * self.ENTRY // 64)
        leaves = len({o >> 6 for o in self.offsets})
        mids = len({o >> 12 for o in self.offsets})
        tops = len({o >> 18 for o in self.offsets})
        self.lines_per_page = meta + leaves + mids + tops

    def _line(self, page: int, index: int) -> int:
        return page * self.lines_per_page + index * self.ENTRY // 64

    def alloc(self, cpu: int) -> dict:
        if self.next_block is None:
            page = len(self.pages)
            entries = [{"vaddr": page * self.allocation + o, "next": None} for o in self.offsets]
            for i in range(len(entries) - 1):
                entries[i]["next"] = (page, i + 1)
            entries[-1]["next"] = self.next_block
            self.next_block = (page, 0)
            self.pages.append(entries)
            for i, e in enumerate(entries):
                self.xarray[e["vaddr"]] = (page, i)
        page, index = self.next_block
        entry = self.pages[page][index]
        self.next_block = entry["next"]
        return {"handle": entry["vaddr"], "nodes": 0, "locked": True, "line": self._line(page, index),
                "pages": len(self.pages)}

    def free(self, handle: int, cpu: int) -> dict:
        page, index = self.xarray[handle]
        self.pages[page][index]["next"] = self.next_block
        self.next_block = (page, index)
        return {"nodes": self.SHARED_LEVELS, "locked": True, "line": self._line(page, index),
                "pages": len(self.pages)}


class NaiveMagazine:
    """SLAB's per-CPU arrays (limit by object size, batch = (limit + 1) // 2) in front of
    a v6.4 stack (list index 0 = top)."""

    HEADER = 16

    def __init__(self, size: int, align: int, boundary: int) -> None:
        self.size, self.allocation, self.boundary = _geometry(size, align, boundary, 16)
        self.offsets = _v64_offsets(self.size, self.allocation, self.boundary)
        s = self.size
        if s > 131072:
            self.limit = 1
        elif s > 4096:
            self.limit = 8
        elif s > 1024:
            self.limit = 24
        elif s > 256:
            self.limit = 54
        else:
            self.limit = 120
        self.batch = (self.limit + 1) // 2
        self.stack: list[int] = []
        self.npages = 0
        self.arrays: dict[int, list[int]] = {}  # cpu -> entries, entry[0] the bottom
        self.array_line: dict[int, int] = {}  # cpu -> its first line
        self.lines = 0
        self.lines_per_array = -(-(self.HEADER + 8 * self.limit) // 64)

    def _array(self, cpu: int) -> list[int]:
        if cpu not in self.arrays:
            self.arrays[cpu] = []
            self.array_line[cpu] = self.lines
            self.lines += self.lines_per_array
        return self.arrays[cpu]

    def _pop_stack(self) -> int:
        if not self.stack:
            base = self.npages * self.allocation
            self.npages += 1
            self.stack = [base + o for o in self.offsets] + self.stack
        return self.stack.pop(0)

    def _slot_line(self, cpu: int, slot: int) -> int:
        return self.array_line[cpu] + (self.HEADER + 8 * slot) // 64

    def alloc(self, cpu: int) -> dict:
        arr = self._array(cpu)
        locked = not arr
        if locked:
            for _ in range(self.batch):
                arr.append(self._pop_stack())
        handle = arr.pop()
        return {"handle": handle, "nodes": 0, "locked": locked, "line": self._slot_line(cpu, len(arr)),
                "pages": self.npages}

    def free(self, handle: int, cpu: int) -> dict:
        arr = self._array(cpu)
        locked = len(arr) == self.limit
        if locked:
            for h in arr[:self.batch]:
                self.stack.insert(0, h)
            arr[:] = arr[self.batch:]
        line = self._slot_line(cpu, len(arr))
        arr.append(handle)
        return {"nodes": 0, "locked": locked, "line": line, "pages": self.npages}


class NaiveNoPool:
    """A page per block from a page allocator with LIFO per-CPU lists (batch 63, high
    6 x 63) over buddy lists; frames numbered as first handed out."""

    BATCH = 63
    HIGH = 6 * 63

    def __init__(self, size: int, align: int, boundary: int) -> None:
        self.size, self.allocation, _ = _geometry(size, align, boundary, 1)
        self.pcp: dict[int, list] = {}  # cpu -> frames, index 0 = head
        self.buddy: list[int] = []  # index 0 = most recently drained
        self.frames = 0

    def alloc(self, cpu: int) -> dict:
        pcp = self.pcp.setdefault(cpu, [])
        if not pcp:
            for _ in range(self.BATCH):
                pcp.append(self.buddy.pop(0) if self.buddy else "fresh")
        frame = pcp.pop(0)
        if frame == "fresh":
            frame = self.frames
            self.frames += 1
        return {"handle": frame * self.allocation, "nodes": 0, "locked": False, "line": frame,
                "pages": self.frames}

    def free(self, handle: int, cpu: int) -> dict:
        frame = handle // self.allocation
        pcp = self.pcp.setdefault(cpu, [])
        pcp.insert(0, frame)
        if len(pcp) >= self.HIGH:
            drained = pcp[-self.BATCH:]  # the oldest, at the tail
            del pcp[-self.BATCH:]
            for f in reversed(drained):  # the oldest first
                if f != "fresh":
                    self.buddy.insert(0, f)
        return {"nodes": 0, "locked": False, "line": frame, "pages": self.frames}


def replay(fast, naive, ops, cpus: int) -> None:
    """Run ``ops`` ((is_alloc, pick, cpu) triples; a free frees live block ``pick``
    modulo the live count) on the fast model and the naive one, comparing after every
    operation the handle, nodes, lock taken, the line touched and the page count."""
    live: list[int] = []
    for is_alloc, pick, cpu in ops:
        cpu %= cpus
        if is_alloc or not live:
            h, _ = fast.alloc(cpu)
            want = naive.alloc(cpu)
            assert h - fast.base == want["handle"]
            live.append(h)
        else:
            h = live.pop(pick % len(live))
            fast.free(h, cpu)
            want = naive.free(h - fast.base, cpu)
        assert fast.last.nodes == want["nodes"]
        assert fast.last.locked == want["locked"]
        assert fast.op_line == want["line"]
        assert fast.nr_pages == want["pages"]
        assert fast.last.ns > 0
