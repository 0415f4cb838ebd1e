"""``magazine`` (per-CPU arrays in front of the stack) against its naive reference, misuse,
and its prices."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nvmesim.allocators import MagazinePool, PoolError, StackPool, get_variant
from naive_designs_cache import NaiveMagazine, replay
from pool_checks import op_sequences

GEOMETRIES = [(16, 16, 0), (256, 256, 0), (512, 512, 0), (2048, 2048, 0), (4096, 4096, 0), (68, 32, 4096),
              (8192, 4096, 0)]


@settings(max_examples=120, deadline=None)
@given(op_sequences(GEOMETRIES, max_size=500, cpus=4))
def test_magazine_matches_naive(case):
    (size, align, boundary), cpus, ops = case
    replay(MagazinePool(size, align, boundary), NaiveMagazine(size, align, boundary), ops, cpus)


def test_long_runs_cross_the_flush_threshold():
    """Frees on one CPU of blocks another allocated: its array fills and flushes."""
    fast, naive = MagazinePool(256, 256, 0), NaiveMagazine(256, 256, 0)
    ops = [(True, 0, 0)] * 400 + [(False, 0, 1)] * 400 + [(True, 0, 1)] * 300 + [(True, 0, 0)] * 50
    replay(fast, naive, ops, 2)
    assert fast.totals.transfers > 0


@pytest.mark.parametrize("size,limit,batch", [(16, 120, 60), (256, 120, 60), (512, 54, 27), (4096, 24, 12),
                                              (8192, 8, 4)])
def test_slab_sizes(size, limit, batch):
    pool = MagazinePool(size, size, 0)
    assert (pool.limit, pool.batch) == (limit, batch)


def test_hits_skip_the_lock_refills_pay_for_their_lines():
    assert get_variant("magazine") is MagazinePool
    pool = MagazinePool(256, 256, 0)
    refill = pool.alloc()[1]
    assert pool.last.locked and pool.last.extra_ns >= pool.batch * pool.cost.l1.latency_ns
    hit = pool.alloc()[1]
    assert not pool.last.locked
    stack = StackPool(256, 256, 0)
    stack.alloc()
    assert hit < stack.alloc()[1] < refill


def test_class_constants_override_the_rule():
    class Small(MagazinePool):
        name = "magazine-small-test"
        LIMIT, BATCH = 4, 2

    pool = Small(64, 64, 0)
    hs = [pool.alloc()[0] for _ in range(5)]
    for h in hs:
        pool.free(h)
    assert len(pool.cached(0)) <= 4 and pool.totals.ops == 10


def test_double_free_and_foreign_handles_raise():
    pool = MagazinePool(64, 64, 0)
    h, _ = pool.alloc()
    pool.free(h)  # now in cpu 0's array
    with pytest.raises(PoolError, match="double free"):
        pool.free(h, 1)
    with pytest.raises(PoolError, match="does not belong"):
        pool.free(MagazinePool(64, 64, 0).alloc()[0])


def test_config_and_cli_name_the_new_variants(tmp_path):
    """``allocator: {variants: [...]}`` and ``dmapool-test --variant`` take the three designs."""
    import yaml
    from typer.testing import CliRunner

    from nvmesim.api import load, run
    from nvmesim.cli import app

    path = tmp_path / "designs.yaml"
    path.write_text(yaml.safe_dump({
        "workload": {"bs": "16k", "iodepth": 32, "iodepth_batch_submit": 8, "numjobs": 2,
                     "runtime": "4ms", "ramp_time": "1ms"},
        "allocator": {"variants": ["stack", "magazine", "oob", "nopool"]},
        "sim": {"replications": 1},
    }))
    result = run(load(path))
    over = result.overview()
    assert (over["iops"] > 0).all()
    assert over.loc["magazine", "cpu_share_pool_lock"] < over.loc["stack", "cpu_share_pool_lock"]
    assert over.loc["nopool", "cpu_share_pool_lock"] == 0
    r = CliRunner().invoke(app, ["dmapool-test", "--variant", "magazine", "--sizes", "256", "--rounds", "2"])
    assert r.exit_code == 0 and "magazine" in r.output


@pytest.mark.parametrize("size,align,boundary", [(16, 16, 0), (256, 256, 0), (68, 32, 4096)])
def test_renamed_repeats_give_the_harness_the_same_answer(size, align, boundary):
    """The micro harness's shortcut on the renamed snapshot equals running every round."""
    from nvmesim.allocators.microbench import run_case

    fast = run_case("magazine", size, align, boundary, rounds=25)
    slow = run_case("magazine", size, align, boundary, rounds=25, shortcut=False)
    assert (fast.time_us, fast.nodes_visited, fast.pages) == (slow.time_us, slow.nodes_visited, slow.pages)


def test_renamed_snapshot_only_when_it_is_exact():
    pool = MagazinePool(64, 64, 0)
    h, _ = pool.alloc()
    assert pool.snapshot()[0] != "renamed"  # a live block: the exact snapshot
    pool.free(h)
    assert pool.snapshot()[0] == "renamed"
    h, _ = pool.alloc(1)
    pool.free(h, 1)  # all free again, but a second CPU has used the pool: holders matter
    assert pool.snapshot()[0] != "renamed"
