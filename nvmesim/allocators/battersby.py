"""``battersby``: Tony Battersby's dmapool scalability series (never merged; docs/allocators.md).

Source: "[PATCH v6 00/11] mpt3sas and dmapool scalability", linux-mm, 7 June 2022
(cover ``340ff8ef-9ff5-7175-c234-4132bbdfc5f7@cybernetics.com``), the red-black tree
version of his 2018 series v1 (``73ec1f52-d758-05df-fb6a-41d269e910d0@cybernetics.com``;
2018's v2-v4 used ``virt_to_page`` instead and were reverted from linux-next).  Modelled
from three of its patches to ``mm/dmapool.c``:

* 04/11 "dmapool: fix boundary comparison" (``6eaea467-cc50-acbd-6232-892011fc803c``):
  ``pool_initialise_page`` tests ``>`` instead of ``>=``, so a block ending exactly on a
  boundary is used (256 x 16 B a page, not 255);
* 10/11 "improve scalability of dma_pool_alloc" (``6a4fb3c3-e627-6266-7c49-322253abefb9``):
  ``avail_page_list`` holds the pages with a free block.  ``dma_pool_alloc`` takes the
  **first** page of it (``list_first_entry_or_null``: the head); a page whose chain runs
  out leaves it (``list_del_init``); a new page is added **at the head** (``list_add``);
  ``dma_pool_free`` adds a page that was full **at the head** (``list_add``, when
  ``list_empty(&page->avail_page_link)``).  Full pages are on no list of their own (the
  tree holds every page).  So the avail list is a LIFO of pages;
* 11/11 "improve scalability of dma_pool_free" (``65b3425b-989e-25ed-9e0d-18122e529a35``):
  every page sits in an ``rb_root page_tree`` keyed by its DMA address;
  ``pool_find_page`` descends from the root comparing the handle with each node's range;
  ``pool_insert_page`` descends the same way to link a new page, then ``rb_insert_color``.

Within a page the free chain is legacy's: ``page->offset`` is the first free block and
each free block's first 4 bytes (an ``int``) hold the next offset (LIFO), so the
minimum block is 4 B.  Pages are never freed.

What ``op.nodes`` counts (each one ``struct dma_page`` read: the ``rb_node`` is inside
the descriptor, which with it is 64 B: ``rb_node`` 24 + ``avail_page_link`` 16 + ``vaddr``
8 + ``dma`` 8 + ``in_use`` 4 + ``offset`` 4, one kmalloc-64 line, so the walk pricing's
descriptor-sized loads apply unchanged):

* alloc from an avail page: 1 (the head page's descriptor: ``offset``, ``in_use``);
* alloc that creates a page: the nodes ``pool_insert_page`` compares on its way down (the
  list it pops from was empty);
* free: the nodes ``pool_find_page`` compares, i.e. the depth of the page's node + 1.

The tree is a real red-black tree (CLRS insertion, the same recolour/rotate cases
``rb_insert_color`` implements, so the same shape), not the ``ceil(log2(P+1))`` bound: a
red-black tree of P nodes can be up to ~2 log2 P deep, and the model's DMA addresses grow
with the page index (page ``i`` at ``base + i * allocation``), ascending insertion, which
leaves the tree skewed to the right.  Depths are recomputed lazily after an insertion
(O(P), once per created page at most), so a free is O(1) on the hot path.
"""

from __future__ import annotations

from .base import DmaPool, Geometry, OpStats


class BattersbyPool(DmaPool):
    """dmapool with an avail-page list (O(1) alloc) and an rbtree page lookup (free)."""

    name = "battersby"
    min_size = 4  # the per-page free chain keeps an int in each free block

    def __init__(self, *args, **kwargs) -> None:
        # the tree, in parallel lists indexed by page (-1: none)
        self._left: list[int] = []
        self._right: list[int] = []
        self._parent: list[int] = []
        self._red: list[bool] = []
        self._root = -1
        self._depth: list[int] = []  # per page: depth of its node (root 0); valid unless _dirty
        self._dirty = False
        self._chains: list[list[int]] = []  # per page: free offsets, top = end
        self._avail: list[int] = []  # avail_page_list, head = end
        super().__init__(*args, **kwargs)
        self._top_first = tuple(reversed(self.offsets))  # pop() yields offset 0 first

    @classmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        # pool_initialise_page with patch 04/11's ">" test: a block may end on a boundary
        offs: list[int] = []
        offset, next_boundary = 0, g.boundary
        while offset < g.allocation:
            offs.append(offset)
            nxt = offset + g.size
            if nxt + g.size > next_boundary:
                nxt = next_boundary
                next_boundary += g.boundary
            offset = nxt
        return tuple(offs)

    # ---- hot path ---------------------------------------------------------
    def take(self, cpu: int, op: OpStats) -> int:
        avail = self._avail
        if avail:
            page = avail[-1]  # list_first_entry_or_null(&pool->avail_page_list)
            op.nodes = 1
            chain = self._chains[page]
            off = chain.pop()
            if not chain:
                avail.pop()  # list_del_init: the page is full
            if self._slow:
                self.touch_descriptor_set((page,), page)  # in_use and offset written
            return self.base + page * self._page_bytes + off
        page = self.nr_pages
        path = self._insert(page)  # pool_insert_page's descent, then rb_insert_color
        op.nodes = len(path)
        if self._slow:
            self.touch_descriptor_set(path)  # (new_page prices the parent's write)
        chain = list(self._top_first)
        self._chains.append(chain)
        self.new_page()
        off = chain.pop()
        if chain:
            avail.append(page)  # list_add at the head
        return self.base + page * self._page_bytes + off

    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        page, off = divmod(handle - self.base, self._page_bytes)
        if self._dirty:
            self._recompute_depths()
        op.nodes = self._depth[page] + 1  # pool_find_page compares every node on the path
        if self._slow:
            self.touch_descriptor_set(self._path(page), page)  # in_use and offset written
        chain = self._chains[page]
        if not chain:
            self._avail.append(page)  # it was full: list_add at the head
        chain.append(off)

    def free_state(self) -> tuple:
        return (tuple(tuple(c) for c in self._chains), tuple(self._avail))

    # ---- the red-black tree (page creation only) --------------------------
    def _path(self, page: int) -> list[int]:
        """The pages whose nodes a search for ``page`` compares, root first."""
        path = []
        parent = self._parent
        while page >= 0:
            path.append(page)
            page = parent[page]
        path.reverse()
        return path

    def _insert(self, page: int) -> list[int]:
        """Link ``page`` (the largest key so far, as the model's DMA addresses ascend, but
        the descent compares like ``pool_insert_page``) and rebalance; returns the pages
        compared on the way down."""
        left, right, parent, red = self._left, self._right, self._parent, self._red
        left.append(-1)
        right.append(-1)
        parent.append(-1)
        red.append(True)
        self._depth.append(0)
        self._dirty = True
        path: list[int] = []
        node, up = self._root, -1
        while node >= 0:
            path.append(node)
            up = node
            node = left[node] if page < node else right[node]
        parent[page] = up
        if up < 0:
            self._root = page
        elif page < up:
            left[up] = page
        else:
            right[up] = page
        # rb_insert_color: the CLRS cases
        z = page
        while parent[z] >= 0 and red[parent[z]]:
            p = parent[z]
            g = parent[p]
            if p == left[g]:
                u = right[g]
                if u >= 0 and red[u]:
                    red[p] = red[u] = False
                    red[g] = True
                    z = g
                    continue
                if z == right[p]:
                    z = p
                    self._rotate_left(z)
                    p = parent[z]
                red[p] = False
                red[g] = True
                self._rotate_right(g)
            else:
                u = left[g]
                if u >= 0 and red[u]:
                    red[p] = red[u] = False
                    red[g] = True
                    z = g
                    continue
                if z == left[p]:
                    z = p
                    self._rotate_right(z)
                    p = parent[z]
                red[p] = False
                red[g] = True
                self._rotate_left(g)
        red[self._root] = False
        return path

    def _rotate_left(self, x: int) -> None:
        left, right, parent = self._left, self._right, self._parent
        y = right[x]
        right[x] = left[y]
        if left[y] >= 0:
            parent[left[y]] = x
        parent[y] = parent[x]
        if parent[x] < 0:
            self._root = y
        elif x == left[parent[x]]:
            left[parent[x]] = y
        else:
            right[parent[x]] = y
        left[y] = x
        parent[x] = y

    def _rotate_right(self, x: int) -> None:
        left, right, parent = self._left, self._right, self._parent
        y = left[x]
        left[x] = right[y]
        if right[y] >= 0:
            parent[right[y]] = x
        parent[y] = parent[x]
        if parent[x] < 0:
            self._root = y
        elif x == right[parent[x]]:
            right[parent[x]] = y
        else:
            left[parent[x]] = y
        right[y] = x
        parent[x] = y

    def _recompute_depths(self) -> None:
        depth = self._depth
        left, right = self._left, self._right
        todo = [(self._root, 0)] if self._root >= 0 else []
        while todo:
            node, d = todo.pop()
            depth[node] = d
            if left[node] >= 0:
                todo.append((left[node], d + 1))
            if right[node] >= 0:
                todo.append((right[node], d + 1))
        self._dirty = False
