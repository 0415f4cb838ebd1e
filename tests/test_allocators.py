"""The allocator models against a naive walk, the kernel's page layout, and misuse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nvmesim.allocators import LegacyPool, PoolError, StackPool, get_variant
from naive_dmapool import NaiveLegacy, NaiveStack
from pool_checks import check_misuse, op_sequences, replay

GEOMETRIES = [(16, 16, 0), (64, 64, 0), (256, 256, 0), (1024, 1024, 0), (4096, 4096, 0),
              (68, 32, 4096), (100, 4, 1024), (48, 16, 512), (8192, 4096, 0), (4, 0, 0)]


@settings(max_examples=150, deadline=None)
@given(op_sequences(GEOMETRIES))
def test_legacy_matches_naive_walk(case):
    (size, align, boundary), ops = case
    replay(LegacyPool(size, align, boundary), NaiveLegacy(size, align, boundary), ops)


@settings(max_examples=150, deadline=None)
@given(op_sequences(GEOMETRIES))
def test_stack_matches_naive_stack(case):
    (size, align, boundary), ops = case
    replay(StackPool(size, align, boundary), NaiveStack(size, align, boundary), ops)


def test_legacy_fill_many_pages_matches_naive():
    """Long walks: thousands of blocks over hundreds of pages, freed out of order."""
    fast, naive = LegacyPool(256, 256, 0), NaiveLegacy(256, 256, 0)
    ops = [(True, 0)] * 3000 + [(False, i * 7919) for i in range(1500)] + [(True, 0)] * 800
    replay(fast, naive, ops)
    assert fast.nr_pages == len(naive.pages) == 200


@pytest.mark.parametrize(
    "size,legacy_blocks,stack_blocks",
    [(16, 255, 256), (64, 63, 64), (256, 15, 16), (1024, 3, 4), (4096, 1, 1)],
)
def test_blocks_per_page_follow_kernel_layout(size, legacy_blocks, stack_blocks):
    # kernel.md §2: the ">=" boundary test leaves the last block of a page unused
    assert LegacyPool(size, size, 0).blocks_per_page == legacy_blocks
    assert StackPool(size, size, 0).blocks_per_page == stack_blocks


def test_boundary_segments():
    # 64 B blocks, 1 KiB boundary: legacy skips the last block of every segment
    assert LegacyPool(64, 64, 1024).blocks_per_page == 4 * 15
    assert StackPool(64, 64, 1024).blocks_per_page == 64
    # 68 B aligned to 32 = 96 B blocks: 42 fit a page under both rules
    assert LegacyPool(68, 32, 4096).blocks_per_page == 42
    assert StackPool(68, 32, 4096).blocks_per_page == 42
    # no block straddles a boundary
    for off in StackPool(100, 4, 512).offsets:
        assert off // 512 == (off + 100 - 1) // 512


def test_stack_pops_new_blocks_in_ascending_order():
    pool = StackPool(256, 256, 0)
    handles = [pool.alloc()[0] for _ in range(16 * 3)]
    for page in range(3):
        chunk = handles[page * 16:(page + 1) * 16]
        assert chunk == sorted(chunk)
        assert chunk[0] == pool.base + page * 4096
    # freed blocks come back LIFO
    pool.free(handles[5])
    pool.free(handles[9])
    assert pool.alloc()[0] == handles[9]
    assert pool.alloc()[0] == handles[5]


def test_pages_are_never_freed():
    for cls in (LegacyPool, StackPool):
        pool = cls(1024, 1024, 0)
        hs = [pool.alloc()[0] for _ in range(40)]
        pages = pool.nr_pages
        for h in hs:
            pool.free(h)
        assert pool.nr_pages == pages and pool.in_use == 0


@pytest.mark.parametrize("cls", [LegacyPool, StackPool])
def test_double_free_and_foreign_handles_raise(cls):
    check_misuse(lambda: cls(64, 64, 0))


@pytest.mark.parametrize("args", [(0, 0, 0), (64, 3, 0), (64, 64, 32), (64, 64, 1000)])
def test_bad_geometry_is_rejected(args):
    with pytest.raises(PoolError):
        StackPool(*args)


def test_ops_report_cost():
    pool = LegacyPool(4096, 4096, 0)
    handles = [pool.alloc()[0] for _ in range(10)]
    assert pool.last.pages_created == 1 and pool.last.nodes == 9
    ns = pool.free(handles[0])  # the oldest page is the last on the list
    assert pool.last.nodes == 10 and ns == pool.last.ns > 0
    assert pool.totals.ops == 11 and pool.totals.pages_created == 10


def test_legacy_cost_grows_with_outstanding_blocks_stack_does_not():
    """In-flight I/Os: keep ``outstanding`` blocks live, allocate one, free the oldest."""

    def per_op(cls, outstanding):
        pool = cls(256, 256, 0)
        live = [pool.alloc()[0] for _ in range(outstanding)]
        ns = 0.0
        for i in range(2000):
            h, a = pool.alloc()
            live.append(h)
            ns += a + pool.free(live[i])
        return ns / 4000, live

    l_small, _ = per_op(LegacyPool, 16)
    l_big, _ = per_op(LegacyPool, 4000)
    s_small, _ = per_op(StackPool, 16)
    s_big, _ = per_op(StackPool, 4000)
    assert l_big > 5 * l_small
    assert abs(s_big - s_small) < 0.25 * s_small


def test_unknown_variant_suggests_closest():
    with pytest.raises(PoolError, match="did you mean 'stack'"):
        get_variant("stak")
