"""The CPU profile in perf's two views: self time adds up to the whole, a caller's
children time holds its callees', and the pool lock's time is exactly the lock the model
charged (acquire and release, hand-offs, spinning)."""

from __future__ import annotations

import pytest

from helpers import tiny_config
from nvmesim.api import run_replication
from nvmesim.stats.metrics import perf_views
from nvmesim.stats.records import CALL_CHAINS, IDLE, SYMBOLS, children_time, self_time

LOCK, SPIN = "_raw_spin_lock_irqsave", "native_queued_spin_lock_slowpath"
WORKLOADS = {
    "one-job": {"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16},
    "two-jobs": {"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16, "numjobs": 2},
    "hipri": {"bs": "16k", "iodepth": 32, "hipri": True, "ioengine": "io_uring"},
}


def _rep(name: str):
    extra = {"driver": {"poll_queues": 1}} if name == "hipri" else {}
    dev = {"internal_gbps": 100.0, "link_gbps": 100.0}
    return run_replication(tiny_config({**WORKLOADS[name], "ramp_time": 0}, device=dev, **extra), "legacy", 0)


def _quiet_rep(name: str):
    extra = {"driver": {"poll_queues": 1}} if name == "hipri" else {}
    dev = {"internal_gbps": 100.0, "link_gbps": 100.0}
    return run_replication(tiny_config({**WORKLOADS[name], "ramp_time": 0}, noise=False, device=dev, **extra),
                           "legacy", 0)


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_self_time_adds_up_and_children_hold_their_callees(name):
    rep = _rep(name)
    own, kids = perf_views(rep.profile_ns, rep.core_ns)
    assert sum(own.values()) == pytest.approx(1.0, abs=1e-9)  # idle included
    ns_self, ns_kids = self_time(rep.profile_ns), children_time(rep.profile_ns)
    for sym in SYMBOLS:
        # what sym's direct callees ran themselves, when sym called them
        under = sum(ns for chain, ns in rep.profile_ns.items()
                    if chain != IDLE and chain.split(";")[-2:-1] == [sym])
        assert ns_kids[sym] >= ns_self[sym] + under - 1e-6
    # per call-tree node, exactly: its children time = its self + its children nodes'
    nodes = {c[:i] for c in CALL_CHAINS for i in range(1, len(c) + 1)}
    tree = {n: sum(ns for chain, ns in rep.profile_ns.items() if tuple(chain.split(";"))[:len(n)] == n)
            for n in nodes}
    for n in nodes:
        kids_of_n = [m for m in nodes if len(m) == len(n) + 1 and m[:len(n)] == n]
        assert tree[n] == pytest.approx(rep.profile_ns[";".join(n)] + sum(tree[m] for m in kids_of_n), rel=1e-12)
    # a root's children time is its whole context: the roots' children add up to the whole
    roots = {c[0] for c in CALL_CHAINS}
    assert sum(ns_kids[r] for r in roots) + rep.profile_ns[IDLE] == pytest.approx(rep.core_ns, rel=1e-9)


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_the_locks_time_is_the_modelled_lock(name):
    rep = _quiet_rep(name)  # (with noise every cost is scaled by the core's speed)
    lock_ns = 10.0  # the cost model's default lock_ns: acquire and release, uncontended
    own = self_time(rep.profile_ns)
    acquisitions = sum(p.lock_acquisitions for p in rep.pools)
    handoffs = sum(p.lock_handoff_ns for p in rep.pools)
    spins = sum(p.lock_spin_ns for p in rep.pools)
    # with no ramp every lock operation is in the window, and the drain leaves none out
    assert own[LOCK] == pytest.approx(acquisitions * lock_ns + handoffs, rel=1e-9)
    assert own[SPIN] == pytest.approx(spins, rel=1e-9)
    if name == "two-jobs":
        assert spins > 0 and handoffs > 0  # two CPUs share the device's pool
    else:
        assert spins == handoffs == 0
