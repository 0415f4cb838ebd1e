"""``nopool`` (a coherent page per block) against its naive reference, misuse, and its prices."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nvmesim.allocators import NoPool, PoolError, StackPool, get_variant
from naive_designs_cache import NaiveNoPool, replay
from pool_checks import op_sequences

GEOMETRIES = [(16, 16, 0), (256, 256, 0), (4096, 4096, 0), (8192, 4096, 0)]


@settings(max_examples=100, deadline=None)
@given(op_sequences(GEOMETRIES, max_size=500, cpus=4))
def test_nopool_matches_naive(case):
    (size, align, boundary), cpus, ops = case
    replay(NoPool(size, align, boundary), NaiveNoPool(size, align, boundary), ops, cpus)


def test_drains_and_refills_match_naive():
    fast, naive = NoPool(256, 256, 0), NaiveNoPool(256, 256, 0)
    ops = [(True, 0, 0)] * 500 + [(False, 7, 1)] * 450 + [(True, 0, 0)] * 200 + [(True, 0, 1)] * 100
    replay(fast, naive, ops, 2)


def test_a_cpu_gets_back_the_frame_it_freed_last():
    assert get_variant("nopool") is NoPool
    pool = NoPool(256, 256, 0)
    a, _ = pool.alloc()
    b, _ = pool.alloc()
    pool.free(a)
    assert pool.alloc()[0] == a and pool.blocks_per_page == 1


def test_every_alloc_pays_a_page_and_no_pool_lock():
    pool, stack = NoPool(256, 256, 0), StackPool(256, 256, 0)
    cost = pool.cost
    hs = [pool.alloc()[1] for _ in range(3)]
    h, _ = pool.alloc()
    pool.free(h)
    again = pool.alloc()[1]  # a frame used before costs the same page allocation
    for ns in hs + [again]:
        assert ns >= cost.page_create_ns
    assert not pool.last.locked
    stack.alloc()  # (its first creates the page)
    assert pool.alloc()[1] > 10 * stack.alloc()[1]


def test_double_free_and_foreign_handles_raise():
    pool = NoPool(64, 64, 0)
    h, _ = pool.alloc()
    pool.free(h)
    with pytest.raises(PoolError, match="double free"):
        pool.free(h)
    with pytest.raises(PoolError, match="does not belong"):
        pool.free(h + 64)
    with pytest.raises(PoolError, match="does not belong"):
        pool.free(NoPool(64, 64, 0).alloc()[0])
