"""Cost model: turns what a dmapool operation did into simulated nanoseconds.

An operation's cost is

    call + lock/irqsave (+ a second lock round trip if it had to create a page)
    + pages created x page creation
    + list nodes visited x latency of the level the descriptor list lives in
    + latency of the level the block's free-link line lives in (loads in full,
      stores weighted by ``store_weight``).

Where a line lives is decided by a footprint model of an LRU cache hierarchy:
a line is found in the smallest level whose capacity holds every distinct byte
touched since the line's previous use (its reuse footprint).  The reuse
footprint is estimated from the reuse *time* (pool operations since the line
was last touched) times the bytes each operation brings in: the standard
footprint/"HOTL" conversion (Xiang et al., ASPLOS'13; StatCache, Berg &
Hagersten, ISPASS'04 use the same reuse-time input).  A list walk of k
descriptors re-touches its whole prefix every operation, so its footprint is the
k descriptor lines themselves plus what the rest of the system touched between
two pool operations (``pressure``): a cyclic walk longer than a level thrashes it
under LRU, which is what makes the measured per-node cost climb from ~1.2 ns to
~3.4 ns as the list outgrows L1 (``../shared/reference/kernel.md`` §4).

Blocks aligned to large powers of two (256 B, 1 KiB, 4 KiB pool blocks) only
map to a fraction of a set-indexed cache's sets: the page-offset bits of their
address are fixed, the higher bits come from random physical frames.  Their
bytes therefore count ``1/reach`` times against such a level.  Hashed
(sliced) last-level caches are not affected.

Several cores: every line of pool state has a set of holders, the cores whose
caches have a valid copy (a write leaves the writer the only one).  The
footprint rule above prices a line the accessing core holds (a store: holds
alone).  A line it does not hold comes from a holder's cache instead: a
cache-to-cache transfer, same NUMA node or another (``c2c_local_ns``,
``c2c_remote_ns``), unless its reuse footprint exceeds the LLC, when it has left
every cache and comes from DRAM.  DRAM is ``dram_remote_ns`` when the line's
memory is on another node than the core.  The rules are in ``base.py`` and
``docs/cost-model.md``; a pool used by one core on its memory's node pays nothing of this.

Every constant below carries its source or stated assumption.  The same
constants serve every row of the micro benchmark and the I/O path: there are no
per-size corrections (see ``docs/cost-model.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

LINE = 64  # bytes per cache line (x86-64)
PAGE = 4096  # bytes per page (x86-64 base page)


class _Constants(BaseModel):
    """Numbers as numbers: finite, and no bool or string where a number belongs (pydantic
    would read ``lock_ns: true`` as 1.0 and ``.inf`` as infinity); the config's rule
    (``config.schema._Section._strict_numbers``), which this layer cannot import."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, v: Any, info: Any) -> Any:
        field = cls.model_fields.get(info.field_name)
        if field is not None and field.annotation in (int, float, "int", "float") and isinstance(v, (bool, str)):
            what = "an integer" if field.annotation in (int, "int") else "a number"
            if isinstance(v, bool):
                raise ValueError(f"expected {what}, got {v!r} (a boolean)")
            if not (info.context or {}).get("text"):
                raise ValueError(f"expected {what}, got the string {v!r}")
        return v


class CacheLevel(_Constants):
    """One level of the data-cache hierarchy seen by the core running the pool code."""

    name: str
    size_kib: float = Field(gt=0, description="capacity in KiB")
    ways: int = Field(gt=0, description="associativity")
    latency_ns: float = Field(gt=0, description="load-to-use latency of a hit, ns")
    hashed: bool = Field(False, description="sets chosen by a hash of the whole address (sliced LLC)")

    @property
    def size_bytes(self) -> int:
        return int(self.size_kib * 1024)

    def reach(self, align: int) -> float:
        """Fraction of this level's sets that lines aligned to ``align`` bytes can use."""
        if self.hashed or align <= LINE:
            return 1.0
        sets = self.size_bytes // (LINE * self.ways)
        span = LINE * sets  # bytes covered by the set-index bits
        fixed = min(align, span, PAGE)  # bits fixed by alignment within a page
        return max(1.0 / sets, LINE / fixed)


class CostModel(_Constants):
    """Global cost constants of the dmapool model (one set for every pool and case).

    Defaults were calibrated once against the ten published ``dmapool_test``
    figures (``docs/cost-model.md``); each sits inside the published range it
    cites (``../shared/reference/calibration.md``).
    """

    call_ns: float = Field(
        4.0,
        ge=0,
        description="call/return, argument checks and the pop/push bookkeeping of one "
        "dma_pool_alloc/free with all its lines in L1 (~15 instructions at ~3 GHz; assumption)",
    )
    lock_ns: float = Field(
        10.0,
        ge=0,
        description="uncontended spin_lock_irqsave + spin_unlock_irqrestore: one locked "
        "cmpxchg (~20 cycles) plus pushf/cli/popf ('tens of ns', calibration.md)",
    )
    page_create_ns: float = Field(
        1350.0,
        ge=0,
        description="pool_alloc_page: kmalloc of the descriptor, dma_alloc_coherent of one "
        "page (page allocator + zeroing 4 KiB) and chaining its blocks; assumption of "
        "~1 us, the order of an order-0 page allocation plus a 4 KiB memset",
    )
    store_weight: float = Field(
        0.08,
        ge=0,
        le=1,
        description="share of a store miss's latency exposed to the caller; stores retire "
        "into the store buffer, so most of a free's write miss is hidden; fitted (8%)",
    )
    descriptor_bytes: int = Field(
        64,
        gt=0,
        description="bytes of one struct dma_page: ~40 B from kmalloc-64, so one line "
        "(kernel.md §2)",
    )
    l1: CacheLevel = CacheLevel(
        name="L1d", size_kib=32, ways=8, latency_ns=1.28
    )  # 32 KiB 8-way; 4-5 cycles = 1.2-1.5 ns (calibration.md); fitted 1.28 inside that range
    l2: CacheLevel = CacheLevel(
        name="L2", size_kib=2048, ways=16, latency_ns=4.0
    )  # 1-2 MiB (calibration.md); 2 MiB 16-way as on Sapphire Rapids (assumption); ~14 cycles = 4 ns
    llc: CacheLevel = CacheLevel(
        name="LLC", size_kib=32768, ways=16, latency_ns=18.0, hashed=True
    )  # tens of MiB, 40-70 cycles = 15-25 ns (calibration.md); sliced by an address hash
    dram_ns: float = Field(90.0, gt=0, description="DRAM load latency, 80-100 ns (calibration.md)")
    dram_remote_ns: float = Field(
        144.0,
        gt=0,
        description="DRAM load latency when the memory sits on another NUMA node than the core: Intel MLC "
        "v3.10 idle latency, 2-socket Skylake-SP Xeon, remote 143.2-144.3 ns against local 89.1-90.2 ns "
        "(= dram_ns) on the same machine (KU Leuven VSC docs, hpcleuven/VscDocumentation "
        "source/leuven/old_hardware/genius/skylake_mlc.txt); 130-180 ns on other 2-socket Xeons",
    )
    c2c_local_ns: float = Field(
        50.0,
        gt=0,
        description="a line another core of the same NUMA node holds (dirty or clean) moved to this core: "
        "Intel MLC v3.10 --c2c_latency, Skylake-SP Xeon, local socket L2->L2 HITM 49.9 ns, HIT 50.5 ns "
        "(skylake_mlc.txt above); core-to-core-latency's CAS medians 44-51 ns on Broadwell to Ice Lake "
        "Xeons (nviennot/core-to-core-latency README)",
    )
    c2c_remote_ns: float = Field(
        115.0,
        gt=0,
        description="the same from a core of another NUMA node (socket): MLC remote socket L2->L2 HITM "
        "114.0-114.6 ns homed in the writer's socket, 114.0-123.2 ns homed in the reader's (skylake_mlc.txt); "
        "core-to-core-latency's dual-socket medians 108 ns (Ice Lake 8375C), 118 ns (Broadwell E5-2695 v4), "
        "134-136 ns (Cascade Lake); 197 ns on a 2-socket EPYC 7R13",
    )

    def levels(self) -> tuple[CacheLevel, ...]:
        return (self.l1, self.l2, self.llc)

    def pricer(self, block_size: int, block_align: int, far: bool = False) -> "PoolPricer":
        """Precompute the per-pool tables the hot path uses (one per pool geometry).

        ``far``: for a core on another NUMA node than the pool's memory, whose misses of
        every cache level cost ``dram_remote_ns`` instead of ``dram_ns``."""
        return PoolPricer(self, block_size, block_align, far=far)


@dataclass(slots=True)
class PoolPricer:
    """Per-pool precomputed cost tables; every method is O(levels) and allocation-free.

    ``block_size`` is the pool's rounded block size, ``block_align`` the largest
    power of two that divides every block address (what limits set reach).
    """

    model: CostModel
    block_size: int
    block_align: int
    far: bool = False  # the pool's memory is on another NUMA node: DRAM costs dram_remote_ns
    caps: tuple[float, ...] = ()
    lats: tuple[float, ...] = ()
    inv_reach: tuple[float, ...] = ()
    block_bytes_per_op: float = 0.0
    base_ns: float = 0.0
    desc: int = 64
    store_weight: float = 0.0
    page_ns: float = 0.0
    store_lats: tuple[float, ...] = ()
    # a line moved from another core's cache, (same node, other node): loads pay it in
    # full, stores store_weight of it over an L1 hit (as any store miss)
    xfer: tuple[float, float] = (0.0, 0.0)
    xfer_store: tuple[float, float] = (0.0, 0.0)
    # what a store that must invalidate other copies adds over an L1 hit, (same, other node)
    upgrade: tuple[float, float] = (0.0, 0.0)
    dram: tuple[float, float] = (0.0, 0.0)  # DRAM latency, (local, remote) memory
    # per walked-list length, for the pressure they were computed with: the largest
    # reuse distance each cache level holds, and the walk's cost (see _row)
    _rows: dict = field(default_factory=dict)
    _rows_pressure: float = -1.0

    def __post_init__(self) -> None:
        m = self.model
        lv = m.levels()
        self.caps = tuple(float(x.size_bytes) for x in lv)
        self.lats = tuple(x.latency_ns for x in lv) + (m.dram_remote_ns if self.far else m.dram_ns,)
        self.inv_reach = tuple(1.0 / x.reach(self.block_align) for x in lv)
        # Blocks smaller than a line share it with their neighbours: one op brings
        # in ``block_size`` new bytes of block lines, a larger block one line.
        self.block_bytes_per_op = float(min(self.block_size, LINE))
        self.base_ns = m.call_ns + m.lock_ns
        self.desc = m.descriptor_bytes
        self.store_weight = m.store_weight
        self.page_ns = m.page_create_ns + m.lock_ns
        # a store pays only store_weight of its miss over an L1 hit
        self.store_lats = tuple(self.lats[0] + (x - self.lats[0]) * self.store_weight for x in self.lats)
        l1 = self.lats[0]
        self.xfer = (m.c2c_local_ns, m.c2c_remote_ns)
        self.xfer_store = tuple(l1 + (x - l1) * self.store_weight for x in self.xfer)
        self.upgrade = tuple((x - l1) * self.store_weight for x in self.xfer)
        self.dram = (m.dram_ns, m.dram_remote_ns)

    def latency(self, uniform_bytes: float, aligned_bytes: float) -> float:
        """Latency of a line whose reuse footprint is ``uniform_bytes`` of ordinary data
        plus ``aligned_bytes`` of pool blocks with this pool's alignment."""
        caps, inv, lats = self.caps, self.inv_reach, self.lats
        # three levels, unrolled: this runs twice per pool operation
        if uniform_bytes + aligned_bytes * inv[0] <= caps[0]:
            return lats[0]
        if uniform_bytes + aligned_bytes * inv[1] <= caps[1]:
            return lats[1]
        if uniform_bytes + aligned_bytes * inv[2] <= caps[2]:
            return lats[2]
        return lats[3]

    def op_ns(self, nodes: int, pages_created: int, reuse_ops: int, pressure: float, store: bool) -> float:
        """Total cost of one alloc or free (this runs twice per simulated I/O).

        * base: call + lock;
        * the block's free-link line, last touched ``reuse_ops`` pool operations
          ago: its reuse footprint is that many operations' block lines plus
          ``pressure`` bytes each, plus the descriptors walked; a load pays the
          level's latency, a store only ``store_weight`` of its miss;
        * the walk (legacy): ``nodes`` dependent loads of descriptors whose
          footprint is the walked prefix (walked one operation ago) plus one
          operation's block line and ``pressure``;
        * page creation, with the lock dropped and retaken around it.
        """
        if pressure != self._rows_pressure:
            self._rows.clear()
            self._rows_pressure = pressure
        row = self._rows.get(nodes)
        if row is None:
            row = self._rows[nodes] = self._row(nodes, pressure)
        lats = self.store_lats if store else self.lats
        if reuse_ops <= row[0]:
            lat = lats[0]
        elif reuse_ops <= row[1]:
            lat = lats[1]
        elif reuse_ops <= row[2]:
            lat = lats[2]
        else:
            lat = lats[3]
        ns = self.base_ns + lat
        if nodes:
            ns += row[3]
        if pages_created:
            ns += pages_created * self.page_ns
        return ns

    def row(self, nodes: int, pressure: float) -> tuple:
        """The table row for a walk of ``nodes`` (see :meth:`_row`), cached per pressure."""
        if pressure != self._rows_pressure:
            self._rows.clear()
            self._rows_pressure = pressure
        row = self._rows.get(nodes)
        if row is None:
            row = self._rows[nodes] = self._row(nodes, pressure)
        return row

    def cached(self, nodes: int, reuse_ops: int, pressure: float) -> bool:
        """Is a block line last touched ``reuse_ops`` operations ago still in some cache
        (its reuse footprint within the LLC: ``row(nodes, pressure)[2]``)?  If not, it
        has left every core's caches."""
        return reuse_ops <= self.row(nodes, pressure)[2]

    def op_ns_moved(self, row: tuple, pages: int, store: bool, remote: int) -> float:
        """:meth:`op_ns` when the block line comes from another core's cache (``remote``:
        0 same NUMA node, 1 another): the transfer replaces the level's latency.  ``row``
        is :meth:`row` of the operation's walk (``row[3]`` its cost, 0.0 without one)."""
        ns = self.base_ns + (self.xfer_store if store else self.xfer)[remote] + row[3]
        if pages:
            ns += pages * self.page_ns
        return ns

    def fits(self, level: int, reuse_ops: int, nodes: int, pressure: float) -> bool:
        """The footprint rule: does cache ``level`` still hold a line last touched
        ``reuse_ops`` operations ago, with ``nodes`` descriptors walked?"""
        u = reuse_ops * pressure + nodes * self.desc
        a = reuse_ops * self.block_bytes_per_op
        return u + a * self.inv_reach[level] <= self.caps[level]

    def _row(self, nodes: int, pressure: float) -> tuple[int, int, int, float, float, int]:
        """For ``nodes`` walked: the largest reuse distance each level holds, found by
        bisection on :meth:`fits` (monotone in ``reuse_ops``: every term is a float
        product or sum with non-negative constants, and those round monotonically,
        so the thresholds reproduce the rule exactly), the walk's cost, and the latency
        and level (3 = DRAM) of one walked descriptor."""
        limits = []
        for level in range(3):
            if not self.fits(level, 0, nodes, pressure):
                limits.append(-1)
                continue
            lo, hi = 0, 1
            while self.fits(level, hi, nodes, pressure):
                lo, hi = hi, hi * 2
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self.fits(level, mid, nodes, pressure):
                    lo = mid
                else:
                    hi = mid
            limits.append(lo)
        u, a = nodes * self.desc + pressure, self.block_bytes_per_op
        per_node = self.latency(u, a)
        level = next((i for i in range(3) if u + a * self.inv_reach[i] <= self.caps[i]), 3)
        walk = nodes * per_node if nodes else 0.0
        return (limits[0], limits[1], limits[2], walk, per_node, level)


DEFAULT_COST_MODEL = CostModel()
