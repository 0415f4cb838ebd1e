"""``xarray`` against a literal xarray of 64-slot nodes (tests/naive_designs.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nvmesim.allocators import XarrayPool, get_variant
from nvmesim.allocators import xarray as xa
from naive_designs import NAIVE_PAGE_OFFSET, NAIVE_PHYS_BASE, NaiveXarray
from pool_checks import check_misuse, op_sequences, replay

GEOMETRIES = [(16, 16, 0), (64, 64, 0), (256, 256, 0), (1024, 1024, 0), (4096, 4096, 0),
              (68, 32, 4096), (100, 4, 1024), (48, 16, 512), (512, 512, 2048), (512, 512, 512),
              (8192, 4096, 0), (4, 0, 0)]


def _replay(fast, naive, ops):
    return replay(fast, naive, ops, lambda n: n.npages)


def test_address_convention_is_the_same():
    assert (xa.PAGE_OFFSET, xa.PHYS_BASE) == (NAIVE_PAGE_OFFSET, NAIVE_PHYS_BASE)


@settings(max_examples=150, deadline=None)
@given(op_sequences(GEOMETRIES))
def test_xarray_matches_naive(case):
    (size, align, boundary), ops = case
    _replay(XarrayPool(size, align, boundary), NaiveXarray(size, align, boundary), ops)


def test_many_pages_match_and_depth_is_eleven():
    fast, naive = XarrayPool(4096, 4096, 0), NaiveXarray(4096, 4096, 0)
    ops = [(True, 0)] * 1500 + [(False, i * 7919) for i in range(700)] + [(True, 0)] * 300
    _replay(fast, naive, ops)
    # the index is the page's kernel virtual address: bit 63 set, 11 levels of 6 bits,
    # for 1 page as for 1500
    assert naive.depth() == 11 == fast._levels
    one = NaiveXarray(64, 64, 0)
    one.alloc()
    assert one.depth() == 11


def test_lookup_reads_one_or_two_lines_a_level():
    # 11 levels; each costs 1 line (slot in the header line) or 2
    pool = XarrayPool(4096, 4096, 0)
    pool.alloc()
    lookup = pool.last.nodes  # xa_store's descent + xa_load + the descriptor
    pool.free(pool.base)
    assert 11 + 1 <= pool.last.nodes <= 22 + 1
    assert lookup == 2 * pool.last.nodes - 1


@pytest.mark.parametrize("size,blocks", [(16, 255), (64, 63), (256, 15), (1024, 3), (4096, 1)])
def test_rfc_page_layout(size, blocks):
    # patch 2/2's loop keeps ">=": a block must end before the boundary (block 0 always)
    assert XarrayPool(size, size, 0).blocks_per_page == blocks
    assert XarrayPool(512, 512, 512).blocks_per_page == 1
    assert XarrayPool(4, 0, 0).geometry.size == 8


def test_blocks_pop_in_ascending_order_then_lifo():
    pool = XarrayPool(256, 256, 0)
    hs = [pool.alloc()[0] for _ in range(30)]
    assert hs[:15] == sorted(hs[:15]) and hs[0] == pool.base
    pool.free(hs[3])
    pool.free(hs[20])
    assert pool.alloc()[0] == hs[20]
    assert pool.alloc()[0] == hs[3]


def test_double_free_and_foreign_handles_raise():
    check_misuse(lambda: XarrayPool(64, 64, 0))


def test_several_cpus_price_descriptor_transfers():
    pool = XarrayPool(256, 256, 0, node_of=lambda cpu: cpu // 2)
    live = [pool.alloc(cpu=0)[0] for _ in range(200)]
    for h in live:
        pool.free(h, cpu=3)
    assert pool.totals.transfers_remote > 0


def test_registered():
    assert get_variant("xarray") is XarrayPool


@pytest.mark.parametrize("size,align,boundary", [(16, 16, 0), (256, 256, 0), (4096, 4096, 0), (68, 32, 4096)])
def test_microbench_shortcut_is_exact(size, align, boundary):
    """dmapool-test's steady-state shortcut adds up the same rows as a full replay."""
    from nvmesim.allocators.microbench import run_case

    fast = run_case("xarray", size, align, boundary, rounds=12)
    full = run_case("xarray", size, align, boundary, rounds=12, shortcut=False)
    assert fast == full
