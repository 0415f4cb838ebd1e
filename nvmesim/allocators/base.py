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

Variants live one per module (``legacy.py``, ``stack.py``), registered by name in
:mod:`nvmesim.allocators`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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
    ) -> None:
        self.geometry = make_geometry(size, align, boundary, self.min_size)
        DmaPool._pools_created += 1
        self.base = DmaPool._pools_created << 40
        self.offsets: tuple[int, ...] = self.block_offsets(self.geometry)
        self._offset_set = frozenset(self.offsets)
        self.cost = cost or DEFAULT_COST_MODEL
        self.pricer: PoolPricer = self.cost.pricer(self.geometry.size, self.geometry.block_align)
        self._op_ns = self.pricer.op_ns
        #: bytes of other data the caller touches between two pool operations
        self.pressure = float(pressure)
        self.last = OpStats(ops=1)
        self.totals = OpStats()
        self.nr_pages = 0
        self._live: set[int] = set()
        self._clock = 0  # pool operations so far
        self._line_touch: list[int] = []  # per cache line of pool memory: op of last touch
        self._lines_per_page = self.geometry.allocation // 64
        self._page_bytes = self.geometry.allocation

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

    # ---- what variants call ----------------------------------------------
    def new_page(self) -> int:
        """pool_alloc_page: a new page of blocks; returns the handle of its first byte.
        pool_initialise_page writes every block's link, so all its lines are touched now."""
        page = self.nr_pages
        self._line_touch.extend([self._clock] * self._lines_per_page)
        self.nr_pages = page + 1
        return self.base + page * self._page_bytes

    # ---- the interface its users call --------------------------------------
    def alloc(self, cpu: int = 0) -> tuple[int, float]:
        """dma_pool_alloc on behalf of ``cpu``: returns (handle, simulated ns).

        ``last.locked`` says whether the operation held the pool's lock for those ns
        (the I/O path then serialises it with other CPUs); kernel dmapools always do."""
        self._clock += 1
        op = self.last
        op.nodes = 0
        op.locked = True
        op.extra_ns = 0.0
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
        op = self.last
        op.nodes = 0
        op.locked = True
        op.extra_ns = 0.0
        self.give(handle, cpu, op)
        return self._price(handle, op, 0, True)

    def snapshot(self) -> tuple:
        """The pool's state: free structures, each line's age, and the clock."""
        now = self._clock
        return (self.free_state(), [now - t for t in self._line_touch], now)

    @staticmethod
    def repeats(earlier: tuple, later: tuple) -> bool:
        """True if the pool at ``later`` behaves exactly as it did at ``earlier``.

        That holds when the free structures are equal and every line touched
        between the two moments had the same age at ``earlier`` as at ``later``:
        replaying the same requests then touches the same lines at the same
        ages, so costs repeat (lines outside that set are never reached again).
        """
        if earlier[0] != later[0]:
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
        """Price the operation just done (it touched ``handle``'s first line, walked
        ``op.nodes`` descriptors and created ``pages`` pages), record it in ``last`` and
        ``totals``; returns ns.  An operation that did not take the lock pays no lock cost."""
        line = (handle - self.base) >> 6
        touch = self._line_touch
        clock = self._clock
        reuse = clock - touch[line]
        touch[line] = clock
        nodes = op.nodes
        ns = self._op_ns(nodes, pages, reuse, self.pressure, store)
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
