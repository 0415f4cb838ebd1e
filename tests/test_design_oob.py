"""``oob`` (links out of the DMA memory) against its naive reference, misuse, and what
its operations touch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nvmesim.allocators import OobPool, StackPool, get_variant
from naive_designs_cache import NaiveOob, replay
from pool_checks import check_misuse, op_sequences

GEOMETRIES = [(16, 16, 0), (64, 64, 0), (256, 256, 0), (4096, 4096, 0), (68, 32, 4096), (100, 4, 1024),
              (8192, 4096, 0), (1, 0, 0), (24, 8, 0)]


@settings(max_examples=120, deadline=None)
@given(op_sequences(GEOMETRIES, max_size=300, cpus=4))
def test_oob_matches_naive(case):
    (size, align, boundary), cpus, ops = case
    replay(OobPool(size, align, boundary), NaiveOob(size, align, boundary), ops, cpus)


def test_registered_and_same_handles_as_stack():
    assert get_variant("oob") is OobPool
    # the free stack is the v6.4 one, only its links moved: the same handles in the same order
    oob, stack = OobPool(256, 256, 0), StackPool(256, 256, 0)
    a = [oob.alloc()[0] - oob.base for _ in range(40)]
    b = [stack.alloc()[0] - stack.base for _ in range(40)]
    assert a == b


def test_no_minimum_block_size():
    assert OobPool(1, 0, 0).blocks_per_page == 4096
    assert StackPool(1, 0, 0).blocks_per_page == 256  # 16 B: struct dma_block in the block


def test_alloc_and_free_leave_the_block_line_alone():
    pool = OobPool(256, 256, 0)
    h, _ = pool.alloc()
    line = (h - pool.base) >> 6
    before = pool._line_touch[line]
    pool.free(h)
    pool.alloc()
    assert pool._line_touch[line] == before  # only the out-of-band lines were touched


@pytest.mark.parametrize("args", [(64, 64, 0), (1, 0, 0)])
def test_double_free_and_foreign_handles_raise(args):
    check_misuse(lambda: OobPool(*args), not_a_block_start=False)


def test_a_free_on_another_cpu_pulls_the_metadata_line():
    pool = OobPool(64, 64, 0)
    h, _ = pool.alloc(0)
    pool.free(h, 1)  # the entry and the page's xarray nodes were cpu 0's
    assert pool.last.transfers_local >= 1


def test_free_costs_more_than_the_stack_and_alloc_about_the_same():
    """The xarray lookup is what the series costs (its v3 cover letter: most of the
    overhead is dma_pool_free's vaddr-to-block translation)."""
    def per_op(cls):
        pool = cls(256, 256, 0)
        hs = [pool.alloc()[0] for _ in range(200)]
        a = sum(pool.alloc()[1] for _ in range(100))
        f = sum(pool.free(h) for h in hs[:100])
        return a / 100, f / 100

    (oa, of), (sa, sf) = per_op(OobPool), per_op(StackPool)
    assert of > sf + 5
    assert abs(oa - sa) < 5
