"""Replay of the kernel's ``mm/dmapool_test.c`` harness on the allocator models.

Each case creates a pool and runs ``rounds`` rounds of "allocate ``blocks``
blocks, then free them in allocation order", timing all rounds together and
reporting microseconds like the kernel module does (kernel.md §4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import get_variant
from .base import make_geometry
from .costmodel import CostModel

NR_TESTS = 100  # rounds per case in mm/dmapool_test.c

#: (size, align, boundary) of the kernel test's cases; align = size, boundary 0
#: (whole page), plus the 68/32/4096 case added in v2 of the test.
KERNEL_CASES: tuple[tuple[int, int, int], ...] = (
    (16, 16, 0),
    (64, 64, 0),
    (256, 256, 0),
    (1024, 1024, 0),
    (4096, 4096, 0),
    (68, 32, 4096),
)

#: The seed's published times in us for all 100 rounds, keyed by (variant, size);
#: ../shared/seed/dmapool-link-blocks-across-pages.txt ("Before" = legacy).
SEED_TIME_US: dict[tuple[str, int], int] = {
    ("legacy", 16): 57282,
    ("legacy", 64): 172562,
    ("legacy", 256): 789247,
    ("legacy", 1024): 371823,
    ("legacy", 4096): 362237,
    ("stack", 16): 24997,
    ("stack", 64): 26584,
    ("stack", 256): 33542,
    ("stack", 1024): 9022,
    ("stack", 4096): 6045,
}

#: bytes the harness itself touches per pool operation: one ``struct
#: dma_pool_pair`` {void *v; dma_addr_t dma} of its array (mm/dmapool_test.c)
HARNESS_BYTES_PER_OP = 16


def nr_blocks(size: int) -> int:
    """The kernel test's block count: clamp((4096 / size) * 512, 1024, 8192)."""
    return min(max((4096 // size) * 512, 1024), 8192)


def blocks_for_pages(variant: str, size: int, align: int, boundary: int, pages: int) -> int:
    """Blocks per round that make ``variant``'s pool grow to exactly ``pages`` pages: the
    harness at a chosen pool size (issue 19's cost per operation against pool pages).
    Each variant packs its own number of blocks into a page (legacy's ``>=`` boundary
    test leaves one out), so the count is the variant's own."""
    cls = get_variant(variant)
    per_page = len(cls.block_offsets(make_geometry(size, align, boundary, cls.min_size)))
    return pages * per_page


@dataclass(slots=True)
class Row:
    """One line of the table: what the model did and how it compares to the seed."""

    variant: str
    size: int
    align: int
    boundary: int
    blocks: int
    rounds: int
    pages: int
    nodes_visited: int
    time_us: float
    ns_per_pair: float
    seed_time_us: int | None
    error_pct: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def run_case(
    variant: str,
    size: int,
    align: int,
    boundary: int,
    blocks: int | None = None,
    rounds: int = NR_TESTS,
    cost: CostModel | None = None,
    shortcut: bool = True,
) -> Row:
    """Run one harness case on one variant and return its row.

    With ``shortcut`` (the default) the replay stops as soon as the pool returns
    to a state it was in after an earlier round (its steady state, usually by
    round 3): the remaining rounds would repeat the same operations at the same
    costs, so their totals are added up exactly.  ``shortcut=False`` replays
    every round; the tests check both give the same row.
    """
    cls = get_variant(variant)
    blocks = nr_blocks(size) if blocks is None else blocks
    pool = cls(size, align, boundary, cost=cost, pressure=HARNESS_BYTES_PER_OP)
    alloc, free = pool.alloc, pool.free
    handles = [0] * blocks
    # cumulative (ns, nodes) after each round; recent state keys for cycle detection
    cum: list[tuple[float, int]] = [(0.0, 0)]
    recent: list[tuple[int, tuple]] = []  # (round, snapshot) of the last rounds
    total, nodes = 0.0, 0
    r = 0
    while r < rounds:
        for i in range(blocks):
            handles[i], ns = alloc()
            total += ns
        for h in handles:
            total += free(h)
        r += 1
        nodes = pool.totals.nodes
        cum.append((total, nodes))
        if not shortcut:
            continue
        key = pool.snapshot()
        seen = next((r0 for r0, k in recent if pool.repeats(k, key)), None)
        if seen is not None:
            # The pool is back in a state it was in after round ``seen``: being
            # deterministic, it repeats rounds seen+1..r forever.  Add them up.
            period = r - seen
            q, rem = divmod(rounds - r, period)
            p_ns = total - cum[seen][0]
            p_nodes = nodes - cum[seen][1]
            total += q * p_ns + (cum[seen + rem][0] - cum[seen][0])
            nodes += q * p_nodes + (cum[seen + rem][1] - cum[seen][1])
            break
        recent = (recent + [(r, key)])[-4:]
    seed = None
    if blocks == nr_blocks(size) and rounds == NR_TESTS and align == size and boundary == 0:
        seed = SEED_TIME_US.get((variant, size))
    time_us = total / 1000.0
    return Row(
        variant=variant,
        size=size,
        align=align,
        boundary=boundary,
        blocks=blocks,
        rounds=rounds,
        pages=pool.nr_pages,
        nodes_visited=nodes,
        time_us=round(time_us, 1),
        ns_per_pair=round(total / (rounds * blocks), 2) if blocks and rounds else 0.0,
        seed_time_us=seed,
        error_pct=None if seed is None else round(100.0 * (time_us - seed) / seed, 2),
    )


def run_table(
    variants: list[str],
    cases: list[tuple[int, int, int]] | None = None,
    blocks: int | None = None,
    rounds: int = NR_TESTS,
    cost: CostModel | None = None,
    shortcut: bool = True,
    pages: list[int] | None = None,
) -> list[Row]:
    """The whole table: every case on every variant, in the kernel's order.  With
    ``pages``, each case once per pool size instead, its blocks per round those that grow
    the variant's pool to that many pages (:func:`blocks_for_pages`; ``blocks`` unused)."""
    rows = []
    for v in variants:
        for size, align, boundary in cases or KERNEL_CASES:
            if pages is None:
                rows.append(run_case(v, size, align, boundary, blocks, rounds, cost, shortcut))
                continue
            for p in pages:
                n = blocks_for_pages(v, size, align, boundary, p)
                rows.append(run_case(v, size, align, boundary, n, rounds, cost, shortcut))
    return rows


def format_table(rows: list[Row]) -> str:
    """The rows as a fixed-width table, with before/after ratios where both exist."""
    w = max([8] + [len(r.variant) for r in rows])
    head = (
        f"{'variant':<{w}} {'size':>5} {'align':>5} {'bound':>5} {'blocks':>6} {'rounds':>6} "
        f"{'pages':>5} {'nodes':>12} {'time_us':>11} {'ns/pair':>8} {'seed_us':>8} {'err%':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        seed = "" if r.seed_time_us is None else str(r.seed_time_us)
        err = "" if r.error_pct is None else f"{r.error_pct:+.1f}"
        lines.append(
            f"{r.variant:<{w}} {r.size:>5} {r.align:>5} {r.boundary:>5} {r.blocks:>6} {r.rounds:>6} "
            f"{r.pages:>5} {r.nodes_visited:>12} {r.time_us:>11.1f} {r.ns_per_pair:>8.2f} {seed:>8} {err:>6}"
        )
    ratios = []
    by = {(r.variant, r.size, r.align, r.boundary, r.blocks, r.rounds): r for r in rows}
    for r in rows:
        if r.variant != "legacy":
            continue
        s = by.get(("stack", r.size, r.align, r.boundary, r.blocks, r.rounds))
        if s is None or not s.time_us:
            continue
        many = sum(1 for x in rows if x.variant == "legacy" and x.size == r.size) > 1
        at = f", {r.pages:>6} pages" if many else ""
        line = f"  size {r.size:>5}{at}: legacy/stack = {r.time_us / s.time_us:6.2f}x"
        if r.seed_time_us and s.seed_time_us:
            seed_ratio = r.seed_time_us / s.seed_time_us
            line += f"   seed {seed_ratio:6.2f}x   err {100 * (r.time_us / s.time_us / seed_ratio - 1):+.1f}%"
        ratios.append(line)
    if ratios:
        lines += ["", "before/after ratio:"] + ratios
    return "\n".join(lines)
