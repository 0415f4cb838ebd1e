"""Slow, literal transcriptions of the two unmerged dmapool designs, for the tests.

``NaiveBattersby`` keeps real page objects on a real avail list and in a red-black tree
of node objects, searched node by node; ``NaiveXarray`` keeps a literal xarray of 64-slot
node objects, grown like ``xas_expand``/``xas_create`` and read like ``xas_descend``.
Both count the nodes (cache lines) they read.  They share nothing with the fast models in
``nvmesim.allocators`` except the handle numbering (page ``i`` spans
``[i * allocation, (i + 1) * allocation)``) and, for the xarray, the assumed virtual
address of a handle (``PAGE_OFFSET + PHYS_BASE + handle``, written out below).
"""

from __future__ import annotations


def _round(size: int, align: int, min_size: int) -> tuple[int, int]:
    align = align or 1
    size = max(size, min_size)
    size = (size + align - 1) // align * align
    return size, max(size, 4096)


# ---------------------------------------------------------------- battersby
class RbNode:
    def __init__(self, page: "BPage") -> None:
        self.page = page
        self.left: RbNode | None = None
        self.right: RbNode | None = None
        self.parent: RbNode | None = None
        self.red = True


class BPage:
    def __init__(self, index: int, dma: int) -> None:
        self.index = index
        self.dma = dma
        self.offset = 0  # first free block
        self.links: dict[int, int] = {}
        self.in_use = 0
        self.node = RbNode(self)
        self.on_avail = False


class NaiveBattersby:
    """Battersby v6: avail_page_list (head = index 0) + rbtree keyed by DMA address."""

    def __init__(self, size: int, align: int, boundary: int) -> None:
        self.size, self.allocation = _round(size, align, 4)
        self.boundary = min(boundary or self.allocation, self.allocation)
        self.root: RbNode | None = None
        self.avail: list[BPage] = []
        self.pages: list[BPage] = []

    # pool_initialise_page with the ">" boundary test (patch 04/11)
    def _new_page(self) -> BPage:
        page = BPage(len(self.pages), len(self.pages) * self.allocation)
        offset, next_boundary = 0, self.boundary
        while True:
            nxt = offset + self.size
            if nxt + self.size > next_boundary:
                nxt = next_boundary
                next_boundary += self.boundary
            page.links[offset] = nxt
            offset = nxt
            if offset >= self.allocation:
                break
        return page

    def _rotate(self, x: RbNode, left: bool) -> None:
        y = x.right if left else x.left
        inner = y.left if left else y.right
        if left:
            x.right = inner
        else:
            x.left = inner
        if inner is not None:
            inner.parent = x
        y.parent = x.parent
        if x.parent is None:
            self.root = y
        elif x is x.parent.left:
            x.parent.left = y
        else:
            x.parent.right = y
        if left:
            y.left = x
        else:
            y.right = x
        x.parent = y

    def _insert(self, page: BPage) -> int:
        """pool_insert_page + rb_insert_color; returns the nodes compared."""
        compared = 0
        parent, node = None, self.root
        while node is not None:
            compared += 1
            parent = node
            if page.dma < node.page.dma:
                node = node.left
            elif page.dma - node.page.dma >= self.allocation:
                node = node.right
            else:
                raise AssertionError("overlap")
        z = page.node
        z.parent = parent
        if parent is None:
            self.root = z
        elif page.dma < parent.page.dma:
            parent.left = z
        else:
            parent.right = z
        while z.parent is not None and z.parent.red:
            p = z.parent
            g = p.parent
            p_is_left = p is g.left
            uncle = g.right if p_is_left else g.left
            if uncle is not None and uncle.red:
                p.red = uncle.red = False
                g.red = True
                z = g
                continue
            if z is (p.right if p_is_left else p.left):
                z = p
                self._rotate(z, left=p_is_left)
                p = z.parent
            p.red = False
            g.red = True
            self._rotate(g, left=not p_is_left)
        self.root.red = False
        return compared

    def find(self, dma: int) -> tuple[BPage | None, int]:
        """pool_find_page: (page, nodes compared)."""
        compared = 0
        node = self.root
        while node is not None:
            compared += 1
            if dma < node.page.dma:
                node = node.left
            elif dma - node.page.dma >= self.allocation:
                node = node.right
            else:
                return node.page, compared
        return None, compared

    def alloc(self) -> tuple[int, int]:
        if self.avail:
            page = self.avail[0]
            nodes = 1
        else:
            page = self._new_page()
            nodes = self._insert(page)
            self.pages.append(page)
            self.avail.insert(0, page)
            page.on_avail = True
        page.in_use += 1
        off = page.offset
        page.offset = page.links.pop(off)
        if page.offset >= self.allocation:
            self.avail.remove(page)
            page.on_avail = False
        return page.dma + off, nodes

    def free(self, handle: int) -> int:
        page, nodes = self.find(handle)
        if page is None:
            raise ValueError("foreign handle")
        if not page.on_avail:
            self.avail.insert(0, page)
            page.on_avail = True
        page.in_use -= 1
        off = handle - page.dma
        page.links[off] = page.offset
        page.offset = off
        return nodes

    def check_red_black(self) -> int:
        """Assert the red-black and search-tree invariants; returns the black height."""

        def walk(node: RbNode | None, lo: int, hi: int) -> int:
            if node is None:
                return 1
            assert lo <= node.page.dma < hi
            if node.red:
                assert not (node.left and node.left.red) and not (node.right and node.right.red)
            for child in (node.left, node.right):
                assert child is None or child.parent is node
            a = walk(node.left, lo, node.page.dma)
            b = walk(node.right, node.page.dma + 1, hi)
            assert a == b
            return a + (0 if node.red else 1)

        assert self.root is None or not self.root.red
        return walk(self.root, -1, 1 << 62)

    def depth(self, page_index: int) -> int:
        node, d = self.pages[page_index].node, 0
        while node.parent is not None:
            node, d = node.parent, d + 1
        return d


# ---------------------------------------------------------------- xarray
NAIVE_PAGE_OFFSET = 0xFFFF_8880_0000_0000  # x86-64 direct map, 4-level paging
NAIVE_PHYS_BASE = 0x1_0000_0000  # the pool's pages from 4 GiB up, contiguous


class XaNode:
    def __init__(self, shift: int) -> None:
        self.shift = shift
        self.slots: list[object] = [None] * 64


class NaiveXarray:
    """Busch RFC 2022: one free stack through the blocks, pages in an xarray keyed by vaddr."""

    def __init__(self, size: int, align: int, boundary: int) -> None:
        self.size, self.allocation = _round(size, align, 8)
        self.boundary = min(boundary or self.allocation, self.allocation)
        self.head: XaNode | None = None
        self.next_block: int | None = None  # a vaddr
        self.links: dict[int, int | None] = {}  # free block vaddr -> next
        self.npages = 0
        self.in_use: dict[int, int] = {}

    @staticmethod
    def vaddr(handle: int) -> int:
        return NAIVE_PAGE_OFFSET + NAIVE_PHYS_BASE + handle

    # -- a literal xarray
    def store(self, index: int, entry: object) -> int:
        """xa_store: grow the top (xas_expand), then descend creating nodes; returns the
        lines read on the way down (counted like xa_load's)."""
        if self.head is None:
            shift = 0
            while (index >> shift) >= 64:
                shift += 6
            self.head = XaNode(shift)
        while index >= (64 << self.head.shift):
            top = XaNode(self.head.shift + 6)
            top.slots[0] = self.head
            self.head = top
        node, lines = self.head, 0
        while True:
            lines += 1
            offset = (index >> node.shift) & 63
            if 40 + 8 * offset >= 64:
                lines += 1
            if node.shift == 0:
                node.slots[offset] = entry
                return lines
            if node.slots[offset] is None:
                node.slots[offset] = XaNode(node.shift - 6)
            node = node.slots[offset]

    def load(self, index: int) -> tuple[object, int]:
        """xa_load: (entry, lines read): per node its header line (shift) and, if it is
        another line, the one holding slots[offset]."""
        node, lines = self.head, 0
        if node is None or index >= (64 << node.shift):
            return None, lines
        while True:
            lines += 1
            offset = (index >> node.shift) & 63
            if 40 + 8 * offset >= 64:
                lines += 1
            entry = node.slots[offset]
            if node.shift == 0 or entry is None:
                return entry, lines
            node = entry

    def depth(self) -> int:
        return 0 if self.head is None else self.head.shift // 6 + 1

    # -- the pool
    def _new_page(self) -> int:
        base = NAIVE_PAGE_OFFSET + NAIVE_PHYS_BASE + self.npages * self.allocation
        page = self.npages
        self.npages += 1
        nodes = self.store(base, page)
        self.in_use[page] = 0
        # pool_initialise_page of patch 2/2, literally: block 0, then each block ending
        # before the next boundary; the chain ends in NULL
        v = base
        offset, next_boundary = self.size, self.boundary
        while offset < self.allocation:
            if offset + self.size >= next_boundary:
                offset = next_boundary
                next_boundary += self.boundary
                continue
            self.links[v] = base + offset
            v = base + offset
            offset += self.size
        self.links[v] = None
        self.next_block = base
        return nodes

    def alloc(self) -> tuple[int, int]:
        nodes = 0
        if self.next_block is None:
            nodes += self._new_page()
        retval = self.next_block
        page, lines = self.load(retval & ~(self.allocation - 1))
        nodes += lines + 1  # + the dma_page (in_use++)
        self.in_use[page] += 1
        self.next_block = self.links.pop(retval)
        return retval - NAIVE_PAGE_OFFSET - NAIVE_PHYS_BASE, nodes

    def free(self, handle: int) -> int:
        vaddr = self.vaddr(handle)
        page, lines = self.load(vaddr & ~(self.allocation - 1))
        if page is None:
            raise ValueError("foreign handle")
        self.in_use[page] -= 1
        self.links[vaddr] = self.next_block
        self.next_block = vaddr
        return lines + 1
