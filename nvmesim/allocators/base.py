"""The small interface every dmapool allocator variant implements.

A pool is created with (size, align, boundary) like ``dma_pool_create``;
``alloc()`` returns ``(handle, ns)`` and ``free(handle)`` returns ``ns``.  The
handle is the block's simulated DMA address: every pool owns its own 1 TiB
window starting at ``pool.base`` (so another pool's handle is recognised as
foreign), and page ``i`` spans ``base + [i * allocation, (i + 1) * allocation)``.  After every operation
``pool.last`` says what it did (list nodes visited, pages created, ns) and
``pool.totals`` accumulates the same over the pool's life.

Variants live one per module (``legacy.py``, ``stack.py``), registered by
name in :mod:`nvmesim.allocators`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, NoReturn

from ..costmodel import DEFAULT_COST_MODEL, PAGE, CostModel, PoolPricer


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

    # ---- the interface -------------------------------------------------
    @classmethod
    @abstractmethod
    def block_offsets(cls, g: Geometry) -> tuple[int, ...]:
        """Offsets of the blocks one page holds, ascending (the kernel's layout)."""

    @abstractmethod
    def alloc(self, cpu: int = 0) -> tuple[int, float]:
        """Take a block on behalf of ``cpu``: returns (handle, simulated ns).

        ``last.locked`` says whether the operation held the pool's lock for those ns
        (the I/O path then serialises it with other CPUs); kernel dmapools always do."""

    @abstractmethod
    def free(self, handle: int, cpu: int = 0) -> float:
        """Return a block from ``cpu``: returns simulated ns (see :meth:`alloc`)."""

    @abstractmethod
    def _free_state(self) -> tuple:
        """The free-block structures, as a hashable value (for :meth:`state_key`)."""

    def snapshot(self) -> tuple:
        """The pool's state: free structures, each line's age, and the clock."""
        now = self._clock
        return (self._free_state(), [now - t for t in self._line_touch], now)

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

    # ---- shared mechanics ------------------------------------------------
    @property
    def blocks_per_page(self) -> int:
        return len(self.offsets)

    @property
    def in_use(self) -> int:
        return len(self._live)

    def _new_page_lines(self) -> None:
        # pool_initialise_page writes every block's link: all lines touched now
        self._line_touch.extend([self._clock] * self._lines_per_page)
        self.nr_pages += 1

    def _check_free(self, handle: int) -> int:
        """Validate a handle for free; returns its page index."""
        rel = handle - self.base
        if handle not in self._live:
            self._reject_free(handle)
        self._live.discard(handle)
        return rel // self.geometry.allocation

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

    def _finish(self, handle: int, nodes: int, pages: int, store: bool, locked: bool = True,
                extra_ns: float = 0.0) -> float:
        """Price the operation just done (it touched ``handle``'s first line and walked
        ``nodes`` descriptors), record it in ``last`` and ``totals``; returns ns.
        ``locked=False`` prices an operation that did not take the lock (no lock cost);
        ``extra_ns`` adds work the variant accounts for itself (e.g. a batch refill)."""
        line = (handle - self.base) >> 6
        touch = self._line_touch
        clock = self._clock
        reuse = clock - touch[line]
        touch[line] = clock
        ns = self._op_ns(nodes, pages, reuse, self.pressure, store)
        if extra_ns:
            ns += extra_ns
        if not locked:
            ns -= self.cost.lock_ns
        last = self.last
        last.nodes = nodes
        last.pages_created = pages
        last.ns = ns
        last.locked = locked
        t = self.totals
        t.ops += 1
        t.nodes += nodes
        t.pages_created += pages
        t.ns += ns
        return ns
