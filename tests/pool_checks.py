"""Shared checks of the allocator variants against their naive references: the random
operation sequences, the single-CPU replay, and the misuse every pool must refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from nvmesim.allocators import PoolError


def op_sequences(geometries: list[tuple[int, int, int]], max_size: int = 400, cpus: int = 0):
    """A geometry and up to ``max_size`` operations: (is_alloc, pick) pairs, a free freeing
    live block ``pick`` modulo the live count; with ``cpus``, (is_alloc, pick, cpu) triples
    and the number of CPUs used, as ``(geometry, ncpus, ops)``."""

    @st.composite
    def cases(draw):
        geometry = draw(st.sampled_from(geometries))
        if not cpus:
            return geometry, draw(st.lists(st.tuples(st.booleans(), st.integers(0, 10**6)),
                                           min_size=1, max_size=max_size))
        ops = draw(st.lists(st.tuples(st.booleans(), st.integers(0, 10**6), st.integers(0, cpus - 1)),
                            min_size=1, max_size=max_size))
        return geometry, draw(st.integers(1, cpus)), ops

    return cases()


def replay(fast, naive, ops, naive_pages: Callable[[Any], int] | None = None) -> list[int]:
    """Run (is_alloc, pick) ``ops`` on the fast model and the naive one on one CPU, comparing
    each handle and the nodes visited (and, with ``naive_pages``, the page count after
    every operation); returns the handles still live."""
    live: list[int] = []
    for is_alloc, pick in ops:
        if is_alloc or not live:
            h_fast, _ = fast.alloc()
            h_naive, nodes = naive.alloc()
            assert h_fast - fast.base == h_naive
            assert fast.last.nodes == nodes
            live.append(h_fast)
        else:
            h = live.pop(pick % len(live))
            fast.free(h)
            assert fast.last.nodes == naive.free(h - fast.base)
        if naive_pages is not None:
            assert fast.nr_pages == naive_pages(naive)
    return live


def check_misuse(make: Callable[[], Any], not_a_block_start: bool = True) -> None:
    """A double free, a handle outside the pool, (``not_a_block_start``) an address inside
    a block, and another pool's handle are refused with the right message."""
    pool = make()
    h, _ = pool.alloc()
    pool.free(h)
    with pytest.raises(PoolError, match="double free"):
        pool.free(h)
    with pytest.raises(PoolError, match="does not belong"):
        pool.free(10**9)
    if not_a_block_start:
        with pytest.raises(PoolError, match="does not belong"):
            pool.free(h + 1)  # not a block start
    other = make()
    with pytest.raises(PoolError, match="does not belong"):
        pool.free(other.alloc()[0])  # a handle of another pool
