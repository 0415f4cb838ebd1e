"""The cost model's fast path against its rule written out directly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nvmesim.allocators.costmodel import DEFAULT_COST_MODEL, PoolPricer


def naive_op_ns(p: PoolPricer, nodes: int, pages: int, reuse: int, pressure: float, store: bool) -> float:
    """op_ns as docs/cost-model.md states it, evaluated term by term (no tables)."""
    u = reuse * pressure + nodes * p.desc
    a = reuse * p.block_bytes_per_op
    lat = p.lats[3]
    for level in range(3):
        if u + a * p.inv_reach[level] <= p.caps[level]:
            lat = p.lats[level]
            break
    if store:
        lat = p.lats[0] + (lat - p.lats[0]) * p.store_weight
    ns = p.base_ns + lat
    if nodes:
        ns += nodes * p.latency(nodes * p.desc + pressure, p.block_bytes_per_op)
    if pages:
        ns += pages * p.page_ns
    return ns


@settings(max_examples=400, deadline=None)
@given(
    size=st.sampled_from([16, 64, 256, 1024, 4096]),
    pressure=st.sampled_from([0.0, 0.5, 1024.0, 1750.0, 8192.0]),
    ops=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 2), st.integers(0, 1 << 22), st.booleans()),
                 min_size=1, max_size=30),
)
def test_op_ns_equals_the_rule_exactly(size, pressure, ops):
    p = DEFAULT_COST_MODEL.pricer(size, size)
    for nodes, pages, reuse, store in ops:
        assert p.op_ns(nodes, pages, reuse, pressure, store) == naive_op_ns(p, nodes, pages, reuse, pressure, store)


def test_thresholds_sit_exactly_on_the_level_boundaries():
    p = DEFAULT_COST_MODEL.pricer(256, 256)
    for nodes in (0, 1, 17, 300):
        row = p._row(nodes, 1750.0)
        for level in range(3):
            r = row[level]
            if r >= 0:
                assert p.fits(level, r, nodes, 1750.0)
            assert not p.fits(level, r + 1, nodes, 1750.0)
