"""``battersby`` against a literal avail list + red-black tree (tests/naive_designs.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nvmesim.allocators import BattersbyPool, get_variant
from naive_designs import NaiveBattersby
from pool_checks import check_misuse, op_sequences, replay

GEOMETRIES = [(16, 16, 0), (64, 64, 0), (128, 128, 0), (256, 256, 0), (1024, 1024, 0), (4096, 4096, 0),
              (68, 32, 4096), (100, 4, 1024), (48, 16, 512), (512, 512, 2048), (512, 512, 512),
              (8192, 4096, 0), (4, 0, 0)]


def _replay(fast, naive, ops):
    return replay(fast, naive, ops, lambda n: len(n.pages))


@settings(max_examples=150, deadline=None)
@given(op_sequences(GEOMETRIES))
def test_battersby_matches_naive(case):
    (size, align, boundary), ops = case
    _replay(BattersbyPool(size, align, boundary), NaiveBattersby(size, align, boundary), ops)


def test_many_pages_tree_shape_and_invariants():
    """Hundreds of pages freed out of order: every page's depth equals the literal tree's,
    which keeps the red-black invariants; the depth stays within 2 log2(P + 1)."""
    fast, naive = BattersbyPool(256, 256, 0), NaiveBattersby(256, 256, 0)
    ops = [(True, 0)] * 3000 + [(False, i * 7919) for i in range(1500)] + [(True, 0)] * 800
    _replay(fast, naive, ops)
    assert fast.nr_pages == len(naive.pages) == 188  # 16 blocks a page: the ">" boundary fix
    naive.check_red_black()
    fast._recompute_depths()
    assert fast._depth == [naive.depth(i) for i in range(fast.nr_pages)]
    import math
    assert max(fast._depth) + 1 <= 2 * math.log2(fast.nr_pages + 1)


@pytest.mark.parametrize("size,blocks", [(16, 256), (64, 64), (256, 16), (1024, 4), (4096, 1)])
def test_boundary_fix_uses_every_block(size, blocks):
    # patch 04/11 ("fix boundary comparison"): ">" instead of ">="
    assert BattersbyPool(size, size, 0).blocks_per_page == blocks
    assert BattersbyPool(512, 512, 2048).blocks_per_page == 8
    assert BattersbyPool(68, 32, 4096).blocks_per_page == 42


def test_alloc_is_constant_free_is_logarithmic():
    pool = BattersbyPool(4096, 4096, 0)
    hs = [pool.alloc()[0] for _ in range(1024)]  # every alloc creates a page
    assert pool.nr_pages == 1024
    pool.free(hs[0])
    assert 1 <= pool.last.nodes <= 20
    assert pool.alloc()[0] == hs[0] and pool.last.nodes == 1  # the avail head, one descriptor
    for h in hs[1:]:
        pool.free(h)
    assert pool.totals.nodes / pool.totals.ops < 25


def test_avail_list_is_lifo_of_pages():
    pool = BattersbyPool(1024, 1024, 0)  # 4 blocks a page
    hs = [pool.alloc()[0] for _ in range(12)]  # three full pages
    pool.free(hs[1])  # page 0 back at the head
    pool.free(hs[9])  # page 2 at the head, before page 0
    assert pool.alloc()[0] == hs[9]
    assert pool.alloc()[0] == hs[1]


def test_double_free_and_foreign_handles_raise():
    check_misuse(lambda: BattersbyPool(64, 64, 0))


def test_several_cpus_and_numa_price_transfers():
    """Alloc on one CPU, free on another (other node): the lookup's descriptors move."""
    pool = BattersbyPool(256, 256, 0, node_of=lambda cpu: cpu // 2)
    live = [pool.alloc(cpu=0)[0] for _ in range(400)]
    for h in live:
        pool.free(h, cpu=3)
    assert pool.totals.transfers_remote > 0
    single = BattersbyPool(256, 256, 0)
    for h in [single.alloc()[0] for _ in range(400)]:
        single.free(h)
    assert pool.totals.ns > single.totals.ns
    # a footprint past the LLC (huge pressure): descriptors from DRAM, still finite
    far = BattersbyPool(256, 256, 0, node_of=lambda cpu: cpu, pressure=64 << 20)
    hs = [far.alloc(cpu=0)[0] for _ in range(100)]
    for h in hs:
        far.free(h, cpu=1)
    assert far.totals.ns > 0


def test_registered():
    assert get_variant("battersby") is BattersbyPool


@pytest.mark.parametrize("size,align,boundary", [(16, 16, 0), (256, 256, 0), (4096, 4096, 0), (68, 32, 4096)])
def test_microbench_shortcut_is_exact(size, align, boundary):
    """dmapool-test's steady-state shortcut adds up the same rows as a full replay."""
    from nvmesim.allocators.microbench import run_case

    fast = run_case("battersby", size, align, boundary, rounds=12)
    full = run_case("battersby", size, align, boundary, rounds=12, shortcut=False)
    assert fast == full
