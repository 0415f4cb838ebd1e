"""The small interface every dmapool allocator variant implements, and the bookkeeping
every variant shares.

A pool is created with (size, align, boundary) like ``dma_pool_create``.  Its users call
:meth:`DmaPool.alloc` (returns ``(handle, ns)``) and :meth:`DmaPool.free` (returns
``ns``).  The handle is the block's simulated DMA address: every pool owns its own 1 TiB
window starting at ``pool.base`` (so another pool's handle is recognised as foreign), and
page ``i`` spans ``base + [i * allocation, (i + 1) * allocation)``.  After every
operation ``pool.last`` says what it did (list nodes visited, pages created, whether it
held the pool lock, ns) and ``pool.totals`` accumulates the same over the pool's life.

The base class owns everything but the free-block structure: the operation clock, the
set of live handles and the double-free / foreign-handle check, page creation and the
cache-line ages the cost model prices.  A variant implements four hooks:

* :meth:`DmaPool.block_offsets` — where the blocks of one page sit (the kernel's layout);
* :meth:`DmaPool.take` — take a free block (creating pages with :meth:`DmaPool.new_page`);
* :meth:`DmaPool.give` — put a validated block back;
* :meth:`DmaPool.free_state` — the free structures as a hashable value.

``take`` and ``give`` report what they did in the :class:`OpStats` they are handed:
``nodes`` (descriptors walked), ``locked = False`` for a per-CPU fast path that skips
the pool's spinlock, ``extra_ns`` for work the variant prices itself (a batch refill).
A variant that walks the page descriptors says which with :meth:`DmaPool.touch_descriptors`.

**Side lines.**  A variant whose operations touch pool state outside the DMA memory
(out-of-band block metadata, a per-CPU array) allocates lines for it with
:meth:`DmaPool.new_side_lines`; they have their own ages and holders and are priced by
the same rules as block lines.  Setting ``self.op_line`` to a side line during ``take``
or ``give`` makes the operation's priced access that line instead of the block's own
(whose age is then left alone); :meth:`DmaPool.price_line` prices any further line an
operation touches (a side line or another block's link), to be added to ``extra_ns``.
A variant that uses none of this costs exactly what it did before side lines existed.

**Several CPUs.**  Every line of pool state has a set of holders, the CPUs whose caches
hold a valid copy: each block's free-link line (one entry per line of pool memory),
each page's descriptor (``struct dma_page``, one line) and, if the pool prices it
(``lock_line=True``), the first line of ``struct dma_pool`` with the lock.  A write
leaves the writer the only holder; a read adds the reader.  An access the cost model
prices by its footprint rule as today when the CPU holds the line (a store: holds it
alone); otherwise the line comes from a holder's cache: a cache-to-cache transfer, from
the CPU's own NUMA node if a holder is there (for a store: if every other holder is),
else from another node, unless the line's reuse footprint exceeds the LLC, when it has
left every cache and comes from DRAM.  DRAM is remote when the memory is on another node
than the CPU: the blocks on ``mem_node`` (``dma_alloc_coherent``: the device's node),
the descriptors on ``desc_node`` (``dma_pool_create_node``, 6.16) or, when that is None,
on the node of the CPU that created the page (``kmalloc`` before 6.16).  ``node_of``
maps a CPU to its node (None: every CPU on node 0).  ``OpStats.transfers_local`` and
``transfers_remote`` count the transfers an operation paid.  A pool used by one CPU
whose node is ``mem_node`` costs exactly what it did before ownership was modelled.

Variants live one per module (``legacy.py``, ``stack.py``, ``oob.py``, ``magazine.py``,
``nopool.py``), registered by name in :mod:`nvmesim.allocators`.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, NoReturn

from .costmodel import DEFAULT_COST_MODEL, PAGE, CostModel, PoolPricer


class PoolError(ValueError):
    """A misuse of a pool: bad geometry, a double free, or a foreign handle."""


@dataclass(slots=True)
class OpStats:
    """What one operation (or, summed, many) did and cost."""

    ops: int = 0
    nodes: int = 0
    pages_created: int = 0
    ns: float = 0.0
    locked: bool = True  # the operation took the pool's spinlock (per-CPU fast paths do not)
    extra_ns: float = 0.0  # work the variant priced itself (added to ``ns``)
    transfers_local: int = 0  # lines moved from another CPU's cache on the same NUMA node
    transfers_remote: int = 0  # lines moved from a CPU's cache on another NUMA node

    @property
    def transfers(self) -> int:
        """Cache-to-cache transfers paid, either kind."""
        return self.transfers_local + self.transfers_remote


def _align_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


@dataclass(frozen=True, slots=True)
class Geometry:
    """A pool's block size, page size and boundary after dma_pool_create's rounding."""

    size: int
    align: int
    allocation: int
    boundary: int

    @property
    def block_align(self) -> int:
        """Largest power of two dividing every block offset (limits cache-set reach)."""
        a = self.size & -self.size
        return min(max(a, self.align), PAGE)


def make_geometry(size: int, align: int, boundary: int, min_size: int) -> Geometry:
    """Round (size, align, boundary) the way dma_pool_create does.

    ``min_size`` is the smallest block: 4 B before v6.4 (the free-chain int),
    ``sizeof(struct dma_block)`` = 16 B from v6.4 on (kernel.md §3).
    """
    if size <= 0:
        raise PoolError(f"size must be > 0, got {size}")
    if align == 0:
        align = 1
    if align < 0 or align & (align - 1):
        raise PoolError(f"align must be a power of two, got {align}")
    size = _align_up(max(size, min_size), align)
    allocation = max(size, PAGE)
    if boundary == 0:
        boundary = allocation
    elif boundary < size or boundary & (boundary - 1):
        raise PoolError(
            f"boundary must be a power of two >= size ({size}), got {boundary}"
        )
    return Geometry(size=size, align=align, allocation=allocation, boundary=min(boundary, allocation))


def _insert(pages: list[int], page: int) -> None:
    """Add ``page`` to the ascending list ``pages`` unless it is there."""
    i = bisect_left(pages, page)
    if i == len(pages) or pages[i] != page:
        pages.insert(i, page)


def _remove(pages: list[int], page: int) -> None:
    """Remove ``page`` from the ascending list ``pages`` if it is there."""
    i = bisect_left(pages, page)
    if i < len(pages) and pages[i] == page:
        del pages[i]


class _Holders:
    """A pool's topology and who holds which of its lines (see the module docstring)."""

    __slots__ = ("node_of", "mem_node", "desc_node", "lock_line", "numa", "far_pricer", "cpus", "cpu_node",
                 "node_masks", "slot", "bit", "local", "shared", "line_holders", "desc_holders", "stale", "desc_cum",
                 "lock_holders", "xfer_ns", "side_holders")

    def __init__(self, node_of, mem_node: int, desc_node: int | None, lock_line: bool, op_ns, pricer) -> None:
        self.node_of = node_of
        self.mem_node = mem_node
        self.desc_node = desc_node
        self.lock_line = lock_line
        # anything but "every CPU and all memory on node 0" can make DRAM remote
        self.numa = node_of is not None or mem_node != 0 or bool(desc_node)
        self.far_pricer: PoolPricer | None = None  # for CPUs off mem_node (DRAM remote)
        self.cpus: dict[int, tuple[int, Callable, PoolPricer]] = {}  # cpu -> (bit, op_ns, pricer)
        self.cpu_node: dict[int, int] = {}
        self.node_masks: dict[int, int] = {}  # node -> bitmask of the CPUs on it seen so far
        self.slot: tuple[int, Callable, PoolPricer] = (0, op_ns, pricer)  # the current CPU's
        self.bit = 0
        self.local = 0  # bitmask of the CPUs on the current CPU's node (itself included)
        self.shared = False  # a second CPU has used the pool
        self.line_holders: list[int] = []  # per line of pool memory: bitmask of holder CPUs
        self.desc_holders: list[int] = []  # per page: bitmask of the CPUs holding its descriptor
        self.stale: dict[int, list[int]] = {}  # cpu -> pages whose descriptor it does not hold, ascending
        self.desc_cum: dict[int, list[int]] = {}  # node -> [descriptors on it among pages < i]
        self.lock_holders = 0
        self.xfer_ns = 0.0  # descriptor transfers priced during the operation under way
        self.side_holders: list[int] = []  # per side line (see DmaPool.new_side_lines)


class DmaPool(ABC):
    """One dmapool: blocks of one size carved from pages that are never freed."""

    name: ClassVar[str] = ""
    _pools_created: ClassVar[int] = 0
    #: smallest block size the variant supports (bytes)
    min_size: ClassVar[int] = 4

    def __init__(
        self,
        size: int,
        align: int = 0,
        boundary: int = 0,
        cost: CostModel | None = None,
        pressure: float = 0.0,
        *,
        node_of: Callable[[int], int] | None = None,
        mem_node: int = 0,
        desc_node: int | None = None,
        lock_line: bool = False,
    ) -> None:
        """``node_of(cpu)``: the CPU's NUMA node (None: every CPU is on node 0).
        ``mem_node``: the node of the pool's pages, the blocks (``dma_alloc_coherent``
        allocates them on the device's node).  ``desc_node``: the node of the page
        descriptors (``dma_pool_create_node``'s node, 6.16); None: each on the node of the
        CPU that created its page (``kmalloc``, before 6.16).  ``lock_line``: price the
        ``struct dma_pool`` line that holds the lock (and, from v6.4, ``next_block`` and
        the counters) moving between CPUs; off by default because a user that models the
        lock (the simulator's ``SpinLock``) already charges that line's hand-off."""
        self.geometry = make_geometry(size, align, boundary, self.min_size)
        DmaPool._pools_created += 1
        self.base = DmaPool._pools_created << 40
        self.offsets: tuple[int, ...] = self.block_offsets(self.geometry)
        self._offset_set = frozenset(self.offsets)
        self.cost = cost or DEFAULT_COST_MODEL
        self.pricer: PoolPricer = self.cost.pricer(*self.line_shape(self.geometry))
        self._op_ns = self.pricer.op_ns
        #: bytes of other data the caller touches between two pool operations
        self.pressure = float(pressure)
        self.last = OpStats(ops=1)
        self.totals = OpStats()
        self.nr_pages = 0
        self._live: set[int] = set()
        self._clock = 0  # pool operations so far
        self._line_touch: list[int] = []  # per cache line of pool memory: op of last touch
        self._side_touch: list[int] = []  # per side line: op of last touch
        #: the side line the operation under way touches instead of its block's (-1: none)
        self.op_line = -1
        self._lines_per_page = self.geometry.allocation // 64
        self._page_bytes = self.geometry.allocation
        # ---- topology and line holders (see the module docstring).  Kept in one object:
        # CPython stops sharing instance-dict keys (and specialising attribute loads)
        # past 30 attributes, which would slow every operation down.
        if node_of is not None and not callable(node_of):
            raise PoolError(f"node_of must be a callable cpu -> node or None, got {node_of!r}")
        mem_node = self._node(mem_node, "mem_node")
        desc_node = None if desc_node is None else self._node(desc_node, "desc_node")
        self._own = own = _Holders(node_of, mem_node, desc_node, bool(lock_line), self._op_ns, self.pricer)
        # the CPU of the operation under way (or of the last one) and its op_ns; _slow:
        # more than one CPU has used the pool (holders must be checked), or NUMA
        self._cpu = None
        self._cur_op_ns = self._op_ns
        self._slow = own.numa
        self._counted = False  # the operation under way counted transfers in ``last``

    @property
    def node_of(self) -> Callable[[int], int] | None:
        """cpu -> NUMA node, as given (None: every CPU on node 0)."""
        return self._own.node_of

    @property
    def mem_node(self) -> int:
        """The NUMA node of the pool's pages (its blocks)."""
        return self._own.mem_node

    @property
    def desc_node(self) -> int | None:
        """The NUMA node of the page descriptors (None: the creating CPU's)."""
        return self._own.desc_node

    @property
    def lock_line(self) -> bool:
        """Whether the pool prices the lock line's moves itself."""
        return self._own.lock_line

    # ---- the hooks a variant implements ----------------------------------
    @classmethod
    @abstractmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        """Offsets of the blocks one page holds, ascending (the kernel's layout)."""

    @abstractmethod
    def take(self, cpu: int, op: OpStats) -> int:
        """Take a free block on behalf of ``cpu`` and return its handle.

        Create pages with :meth:`new_page`.  Report in ``op``: ``nodes`` walked,
        ``locked = False`` if the pool's spinlock was not taken, ``extra_ns``."""

    @abstractmethod
    def give(self, handle: int, cpu: int, op: OpStats) -> None:
        """Return ``handle`` (already checked to be live) from ``cpu``; report in ``op``."""

    @abstractmethod
    def free_state(self) -> tuple:
        """The free-block structures, as a hashable value (for :meth:`snapshot`)."""

    @classmethod
    def line_shape(cls, g: Geometry) -> tuple[int, int]:
        """(bytes of pool state one operation brings into the cache, their alignment),
        for the footprint rule: by default the block's link line (the block size, at most
        a line, aligned as the blocks are).  A variant whose operations touch other state
        (out-of-band metadata) says what that is."""
        return g.size, g.block_align

    # ---- what variants call ----------------------------------------------
    def new_page(self) -> int:
        """pool_alloc_page: a new page of blocks; returns the handle of its first byte.
        pool_initialise_page writes every block's link, so all its lines are touched now,
        by the CPU of the operation under way (cpu 0 before any operation), which also
        writes the page's new descriptor and, linking it at the list head (``list_add``),
        the previous head's."""
        page = self.nr_pages
        if self._cpu is None:  # before any operation (a variant's constructor): cpu 0
            self._switch(0)
        own = self._own
        bit = own.bit
        cpu = self._cpu
        n = self._lines_per_page
        self._line_touch.extend([self._clock] * n)
        own.line_holders.extend([bit] * n)
        own.desc_holders.append(bit)
        for other, pages in own.stale.items():
            if other != cpu:
                pages.append(page)  # the largest index: the list stays sorted
        if own.numa:
            node = own.cpu_node[cpu] if own.desc_node is None else own.desc_node
            cum = own.desc_cum
            if node not in cum:
                cum[node] = [0] * (page + 1)
            for k, counts in cum.items():
                counts.append(counts[-1] + (k == node))
        self.nr_pages = page + 1
        if page and own.desc_holders[page - 1] != bit:  # list_add writes the previous head's prev link
            level = own.slot[2].row(self.last.nodes, self.pressure)[5]
            own.xfer_ns += self._write_descriptor(page - 1, level)
        return self.base + page * self._page_bytes

    def new_side_lines(self, n: int) -> int:
        """Allocate ``n`` side lines (state outside the DMA memory, see the module
        docstring), written now by the CPU of the operation under way (cpu 0 before
        any); returns the index of the first."""
        if self._cpu is None:
            self._switch(0)
        first = len(self._side_touch)
        self._side_touch.extend([self._clock] * n)
        self._own.side_holders.extend([self._own.bit] * n)
        return first

    def price_line(self, line: int, store: bool, side: bool = True) -> float:
        """The operation under way also touches ``line`` (a side line, or with
        ``side=False`` the pool-memory line ``(handle - base) >> 6``): its latency by the
        footprint rule, or a cache-to-cache transfer if another CPU holds it (counted in
        ``last`` and ``totals``), exactly as :meth:`_price` prices an operation's own
        line, without the call and lock.  Returns ns, for the variant's ``extra_ns``."""
        touch = self._side_touch if side else self._line_touch
        clock = self._clock
        reuse = clock - touch[line]
        touch[line] = clock
        own = self._own
        pricer = own.slot[2]
        row = pricer.row(self.last.nodes, self.pressure)
        if self._slow:
            holders = own.side_holders if side else own.line_holders
            bit = own.bit
            h = holders[line]
            if not (h == bit or (not store and h & bit)):
                holders[line] = bit if store else h | bit
                if reuse <= row[2]:
                    op = self.last
                    self._counted = True
                    if (h & ~own.local) if store else not h & own.local:
                        op.transfers_remote += 1
                        self.totals.transfers_remote += 1
                        return (pricer.xfer_store if store else pricer.xfer)[1]
                    op.transfers_local += 1
                    self.totals.transfers_local += 1
                    return (pricer.xfer_store if store else pricer.xfer)[0]
        lats = pricer.store_lats if store else pricer.lats
        if reuse <= row[0]:
            return lats[0]
        if reuse <= row[1]:
            return lats[1]
        if reuse <= row[2]:
            return lats[2]
        return lats[3]

    def price_lines(self, lines: list[int], store: bool, side: bool = True) -> float:
        """:meth:`price_line` of each of ``lines`` in turn (a batch a variant moves);
        the same result, with the one-CPU case's loop inlined."""
        if self._slow:
            price = self.price_line
            return sum([price(line, store, side) for line in lines])
        touch = self._side_touch if side else self._line_touch
        clock = self._clock
        pricer = self._own.slot[2]
        r0, r1, r2 = pricer.row(self.last.nodes, self.pressure)[:3]
        l0, l1, l2, l3 = pricer.store_lats if store else pricer.lats
        ns = 0.0
        for line in lines:
            reuse = clock - touch[line]
            touch[line] = clock
            ns += l0 if reuse <= r0 else l1 if reuse <= r1 else l2 if reuse <= r2 else l3
        return ns

    def touch_descriptors(self, first: int, write: int = -1) -> None:
        """The operation under way walked the page list from its head (the newest page)
        down to page ``first``, reading the descriptors of pages ``first`` ..
        ``nr_pages - 1``, and then wrote page ``write``'s descriptor (-1: none).

        The walk's own cost is :attr:`OpStats.nodes` x the footprint level's latency, as
        before; this prices what ownership changes: descriptors this CPU does not hold
        (another CPU wrote them since it last read them) come from a holder's cache
        instead, and writing a descriptor other CPUs hold invalidates their copies.  A
        walk whose footprint exceeds the LLC reads every descriptor from DRAM on its own
        node.  (Nothing to do while one CPU on node 0 uses the pool: callers on the hot
        path may skip the call when ``self._slow`` is false.)"""
        if not self._slow:
            return
        own = self._own
        cpu = self._cpu
        bit = own.bit
        holders = own.desc_holders
        stale = own.stale[cpu]
        walked_stale = stale and stale[-1] >= first  # it walked descriptors it does not hold
        invalidate = write >= 0 and holders[write] != bit  # the written one is not its alone
        if not (walked_stale or invalidate or own.numa):
            return
        pricer = own.slot[2]
        nodes = self.nr_pages - first
        row = pricer._rows.get(nodes) if pricer._rows_pressure == self.pressure else None
        if row is None:  # (pricer.row, inlined: this runs per I/O)
            row = pricer.row(nodes, self.pressure)
        level = row[5]  # 3: the walk's footprint exceeds the LLC, every copy evicted
        ns = 0.0
        op = self.last
        if walked_stale:  # each comes from a holder's cache (or DRAM, as the walk is priced)
            i = j = bisect_left(stale, first)
            end = len(stale)
            local = own.local
            near = far = 0
            while j < end:
                d = stale[j]
                j += 1
                h = holders[d]
                holders[d] = h | bit
                if h & local:
                    near += 1
                else:
                    far += 1
            del stale[i:]
            if level < 3:
                ns = self._descriptor_transfers(near, far, row, pricer)
        if level == 3 and own.numa and nodes:
            # a walk past the LLC reads each descriptor from its own node's DRAM
            counts = own.desc_cum.get(own.cpu_node[cpu])
            near = counts[self.nr_pages] - counts[first] if counts else 0
            ns += near * pricer.dram[0] + (nodes - near) * pricer.dram[1] - row[3]
        if invalidate:  # (_write_descriptor, inlined)
            h = holders[write]
            holders[write] = bit
            others = h & ~bit
            stale_of = own.stale
            while others:  # each other holder loses its copy (_insert, inlined)
                low = others & -others
                others ^= low
                pages = stale_of[low.bit_length() - 1]
                k = bisect_left(pages, write)
                if k == len(pages) or pages[k] != write:
                    pages.insert(k, write)
            if not h & bit:
                _remove(stale, write)
            if level < 3:
                if h & ~own.local:
                    op.transfers_remote += 1
                    self.totals.transfers_remote += 1
                    ns += pricer.upgrade[1]
                else:
                    op.transfers_local += 1
                    self.totals.transfers_local += 1
                    ns += pricer.upgrade[0]
                self._counted = True
        if ns:
            own.xfer_ns += ns

    def touch_descriptor_set(self, reads: Sequence[int], write: int = -1) -> None:
        """The operation under way read the descriptors of pages ``reads`` (any set, in
        any order: a tree search path, one looked-up page) and then wrote page ``write``'s
        (-1: none).  :meth:`touch_descriptors` for lookups that are not a walk from the
        list head.

        Priced as that method prices a walk: a descriptor this CPU does not hold comes
        from a holder's cache (over the walk's per-node latency), writing one that others
        hold invalidates their copies; when the operation's footprint level
        (``OpStats.nodes`` walked, as :meth:`DmaPool._price` prices it) is DRAM, each read
        descriptor comes from its own node's DRAM.  Nothing to do while one CPU on node 0
        uses the pool (callers may skip the call when ``self._slow`` is false)."""
        if not self._slow:
            return
        own = self._own
        cpu = self._cpu
        bit = own.bit
        holders = own.desc_holders
        stale = own.stale[cpu]
        pricer = own.slot[2]
        op = self.last
        row = pricer.row(op.nodes, self.pressure)
        level = row[5]
        ns = 0.0
        if stale:
            near = far = 0
            local = own.local
            for d in reads:
                k = bisect_left(stale, d)
                if k < len(stale) and stale[k] == d:
                    del stale[k]
                    h = holders[d]
                    holders[d] = h | bit
                    if h & local:
                        near += 1
                    else:
                        far += 1
            if (near or far) and level < 3:
                ns = self._descriptor_transfers(near, far, row, pricer)
        if level == 3 and own.numa and reads:
            counts = own.desc_cum.get(own.cpu_node[cpu])
            near = sum(counts[d + 1] - counts[d] for d in reads) if counts else 0
            ns += (near * pricer.dram[0] + (len(reads) - near) * pricer.dram[1]
                   - len(reads) * row[4])
        if write >= 0 and holders[write] != bit:
            ns += self._write_descriptor(write, level)
        if ns:
            own.xfer_ns += ns

    # ---- the interface its users call --------------------------------------
    def alloc(self, cpu: int = 0) -> tuple[int, float]:
        """dma_pool_alloc on behalf of ``cpu``: returns (handle, simulated ns).

        ``last.locked`` says whether the operation held the pool's lock for those ns
        (the I/O path then serialises it with other CPUs); kernel dmapools always do.
        ``last.transfers_local`` / ``transfers_remote`` count the lines it pulled from
        other CPUs' caches."""
        self._clock += 1
        if cpu != self._cpu:
            self._switch(cpu)
        op = self.last
        op.nodes = 0
        op.locked = True
        op.extra_ns = 0.0
        self.op_line = -1
        if self._counted:
            op.transfers_local = op.transfers_remote = 0
            self._counted = False
        pages = self.nr_pages
        handle = self.take(cpu, op)
        self._live.add(handle)
        return handle, self._price(handle, op, self.nr_pages - pages, False)

    def free(self, handle: int, cpu: int = 0) -> float:
        """dma_pool_free of ``handle`` from ``cpu``: returns simulated ns (see :meth:`alloc`).
        A handle that is not allocated from this pool raises :class:`PoolError`."""
        self._clock += 1
        try:
            self._live.remove(handle)
        except KeyError:
            self._reject_free(handle)
        if cpu != self._cpu:
            self._switch(cpu)
        op = self.last
        op.nodes = 0
        op.locked = True
        op.extra_ns = 0.0
        self.op_line = -1
        if self._counted:
            op.transfers_local = op.transfers_remote = 0
            self._counted = False
        self.give(handle, cpu, op)
        return self._price(handle, op, 0, True)

    def snapshot(self) -> tuple:
        """The pool's state: free structures, each line's age, the clock, and who holds
        which line."""
        now = self._clock
        own = self._own
        holders = (tuple(own.line_holders), tuple(own.desc_holders),
                   tuple(sorted((cpu, tuple(pages)) for cpu, pages in own.stale.items())),
                   own.lock_holders)
        ages = [now - t for t in self._line_touch]
        if self._side_touch:  # (absent for variants without side lines: their snapshots as before)
            ages += [now - t for t in self._side_touch]
            holders += (tuple(own.side_holders),)
        return (self.free_state(), ages, now, holders)

    @staticmethod
    def repeats(earlier: tuple, later: tuple) -> bool:
        """True if the pool at ``later`` behaves exactly as it did at ``earlier``.

        That holds when the free structures are equal and every line touched
        between the two moments had the same age at ``earlier`` as at ``later``:
        replaying the same requests then touches the same lines at the same
        ages, so costs repeat (lines outside that set are never reached again),
        provided every line has the same holders.
        """
        if earlier[0] != later[0] or earlier[3] != later[3]:
            return False
        window = later[2] - earlier[2]
        old_ages, new_ages = earlier[1], later[1]
        for i, age in enumerate(new_ages):
            if age < window and (i >= len(old_ages) or old_ages[i] != age):
                return False
        return True

    @property
    def blocks_per_page(self) -> int:
        return len(self.offsets)

    @property
    def in_use(self) -> int:
        return len(self._live)

    # ---- bookkeeping -------------------------------------------------------
    @staticmethod
    def _node(value, what: str) -> int:
        return DmaPool._index(value, f"{what} must be an int NUMA node >= 0")

    @staticmethod
    def _index(value, expected: str) -> int:
        """``value`` as an int >= 0, else a :class:`PoolError` saying ``expected``."""
        try:
            index = operator.index(value)
        except TypeError:
            raise PoolError(f"{expected}, got {value!r}") from None
        if index < 0:
            raise PoolError(f"{expected}, got {value!r}")
        return index

    def _switch(self, cpu) -> None:
        """The operation under way is another CPU's than the last one's."""
        own = self._own
        slot = own.cpus.get(cpu) or self._register(cpu)
        self._cpu = cpu
        own.slot = slot
        own.bit = slot[0]
        own.local = own.node_masks[own.cpu_node[cpu]]
        self._cur_op_ns = slot[1]

    def _register(self, cpu) -> tuple[int, Callable, PoolPricer]:
        """First operation of ``cpu`` on this pool: its node, its bit, its pricer (DRAM
        remote if its node is not the pool memory's); it holds no descriptor yet."""
        index = self._index(cpu, f"{self.name} pool: cpu must be an int >= 0")
        own = self._own
        node = 0 if own.node_of is None else self._node(own.node_of(index), f"node_of({index})")
        bit = 1 << index
        own.cpu_node[cpu] = node
        own.node_masks[node] = own.node_masks.get(node, 0) | bit
        if node == own.mem_node:
            pricer = self.pricer
        else:
            if own.far_pricer is None:
                own.far_pricer = self.cost.pricer(*self.line_shape(self.geometry), far=True)
            pricer = own.far_pricer
        own.stale[cpu] = list(range(self.nr_pages))
        if own.cpus and not own.shared:
            # a second CPU: from now on holders are checked.  Until now the first CPU held
            # every line alone, which the lists already say, and the lock line if it took
            # the lock at all (its first operation does, in every built-in variant).
            own.shared = self._slow = True
            if self.totals.ops:
                own.lock_holders = own.bit
        slot = (bit, pricer.op_ns, pricer)
        own.cpus[cpu] = slot
        return slot

    def _descriptor_transfers(self, near: int, far: int, row: tuple, pricer: PoolPricer) -> float:
        """``near`` + ``far`` walked descriptors came from another CPU's cache (same node,
        another node) instead of the walk's level: count them in ``last`` and ``totals``;
        returns the ns they add over the walk's per-node latency (``row[4]``)."""
        per_node = row[4]
        op = self.last
        op.transfers_local += near
        op.transfers_remote += far
        t = self.totals
        t.transfers_local += near
        t.transfers_remote += far
        self._counted = True
        return near * (pricer.xfer[0] - per_node) + far * (pricer.xfer[1] - per_node)

    def _write_descriptor(self, page: int, level: int) -> float:
        """The current CPU writes page ``page``'s descriptor, which others hold too: their
        copies are invalidated (a store, exposed at store_weight), unless the walk's
        footprint ``level`` is DRAM (3: every copy evicted).  Returns the ns it adds."""
        own = self._own
        holders = own.desc_holders
        bit = own.bit
        h = holders[page]
        holders[page] = bit
        stale = own.stale
        others = h & ~bit
        while others:
            low = others & -others
            others ^= low
            _insert(stale[low.bit_length() - 1], page)
        if not h & bit:
            _remove(stale[self._cpu], page)
        if level == 3:
            return 0.0
        op = self.last
        self._counted = True
        if h & ~own.local:
            op.transfers_remote += 1
            self.totals.transfers_remote += 1
            return own.slot[2].upgrade[1]
        op.transfers_local += 1
        self.totals.transfers_local += 1
        return own.slot[2].upgrade[0]

    def _reject_free(self, handle: int) -> NoReturn:
        """Raise the right :class:`PoolError` for a handle that is not allocated."""
        rel = handle - self.base
        page, off = divmod(rel, self.geometry.allocation) if rel >= 0 else (-1, 0)
        if 0 <= page < self.nr_pages and off in self._offset_set:
            raise PoolError(f"{self.name} pool: double free of handle {handle:#x} (block is already free)")
        raise PoolError(
            f"{self.name} pool: handle {handle!r} does not belong to this pool "
            f"({self.nr_pages} pages of {self.geometry.allocation} B)"
        )

    def _price(self, handle: int, op: OpStats, pages: int, store: bool) -> float:
        """Price the operation just done by the current CPU (it touched ``handle``'s first
        line, walked ``op.nodes`` descriptors and created ``pages`` pages), record it in
        ``last`` and ``totals``; returns ns.  An operation that did not take the lock pays
        no lock cost."""
        line = self.op_line
        if line < 0:  # the block's own link line
            line = (handle - self.base) >> 6
            touch = self._line_touch
        else:  # the variant said its operation touches a side line instead
            touch = self._side_touch
        clock = self._clock
        reuse = clock - touch[line]
        touch[line] = clock
        nodes = op.nodes
        if not self._slow:  # one CPU so far, everything on node 0: the footprint rule alone
            ns = self._cur_op_ns(nodes, pages, reuse, self.pressure, store)
        else:
            # Holders matter (inline: this runs per I/O).  A transfer is same-node (0) or
            # cross-node (1): a load is same-node if some holder is on this CPU's node
            # (``own.local``, which includes this CPU), a store if every other holder is.
            own = self._own
            bit, op_ns, pricer = own.slot
            holders = own.line_holders if self.op_line < 0 else own.side_holders
            h = holders[line]
            if h == bit or (not store and h & bit):  # this CPU holds the line (a store: alone)
                ns = op_ns(nodes, pages, reuse, self.pressure, store)
            else:  # it comes from a holder's cache, or from DRAM if it has left every cache
                holders[line] = bit if store else h | bit
                row = pricer._rows.get(nodes) if pricer._rows_pressure == self.pressure else None
                if row is None:  # (pricer.row, inlined)
                    row = pricer.row(nodes, self.pressure)
                if reuse <= row[2]:  # the footprint rule still finds it in a cache
                    if (h & ~own.local) if store else not h & own.local:
                        op.transfers_remote += 1
                        self.totals.transfers_remote += 1
                        ns = pricer.op_ns_moved(row, pages, store, 1)
                    else:
                        op.transfers_local += 1
                        self.totals.transfers_local += 1
                        ns = pricer.op_ns_moved(row, pages, store, 0)
                    self._counted = True
                else:
                    ns = op_ns(nodes, pages, reuse, self.pressure, store)
            if own.xfer_ns:
                ns += own.xfer_ns
                own.xfer_ns = 0.0
            if own.lock_line and op.locked:
                h = own.lock_holders
                if h != bit:
                    own.lock_holders = bit
                    if h:  # the first lock ever taken finds the line where dma_pool_create left it
                        # a locked RMW: needs the line alone, as a store, exposed in full
                        remote = 1 if h & ~own.local else 0
                        if remote:
                            op.transfers_remote += 1
                            self.totals.transfers_remote += 1
                        else:
                            op.transfers_local += 1
                            self.totals.transfers_local += 1
                        self._counted = True
                        ns += pricer.xfer[remote] - pricer.lats[0]
        if op.extra_ns:
            ns += op.extra_ns
        if not op.locked:
            ns -= self.cost.lock_ns
        op.pages_created = pages
        op.ns = ns
        t = self.totals
        t.ops += 1
        t.nodes += nodes
        t.pages_created += pages
        t.ns += ns
        return ns
