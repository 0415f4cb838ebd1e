"""Cache lines that move between CPUs, and pool memory on a NUMA node (issue 14).

The rules under test (``nvmesim/allocators/base.py``, ``docs/cost-model.md``): every line
of pool state has a set of holder CPUs; a write leaves the writer the only holder, a read
adds the reader.  An access by a CPU that holds the line (a store: alone) is priced by the
footprint rule as before; otherwise it is a cache-to-cache transfer (same NUMA node if a
holder is there, for a store if every other holder is; else cross-node), unless the line's
reuse footprint exceeds the LLC, when it comes from DRAM.  DRAM is remote when the memory
is on another node than the CPU.

The last test checks the pool against a slow reference written here from those rules: a
dict of line -> holders fed with the lines each operation touches, the operations replayed
on its own transcription of both dmapool designs.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvmesim.allocators import LegacyPool, PoolError, StackPool, get_variant
from nvmesim.allocators.costmodel import DEFAULT_COST_MODEL, LINE

M = DEFAULT_COST_MODEL
L1 = M.l1.latency_ns
SW = M.store_weight
TWO_NODES = {0: 0, 1: 0, 2: 1, 3: 1}.__getitem__  # cpus 0, 1 on node 0; 2, 3 on node 1


# ---- the transfer rule, on the v6.4 stack (one line per operation) -----------------

def _bounce(reader: int, node_of=TWO_NODES, **kw):
    """cpu 0 allocates a block and frees it (writing its link), then ``reader`` allocates
    it again (LIFO: the same block) and reads that link; returns (pool, first alloc ns)."""
    pool = StackPool(256, 256, 0, node_of=node_of, **kw)
    h, _ = pool.alloc(0)
    pool.free(h, 0)
    h2, ns = pool.alloc(reader)
    assert h2 == h
    return pool, ns


def test_a_line_written_on_one_cpu_and_read_on_another_pays_the_transfer():
    pool, ns = _bounce(1)
    assert (pool.last.transfers_local, pool.last.transfers_remote) == (1, 0)
    assert pool.last.transfers == 1
    # the transfer replaces the footprint rule's latency: base + c2c, nothing else
    assert ns == pytest.approx(M.call_ns + M.lock_ns + M.c2c_local_ns)
    assert pool.totals.transfers_local == 1 and pool.totals.transfers_remote == 0


def test_the_same_line_reused_on_its_writer_pays_nothing_extra():
    pool, ns = _bounce(0)
    assert pool.last.transfers == 0 and pool.totals.transfers == 0
    lone = StackPool(256, 256, 0)
    h, _ = lone.alloc(0)
    lone.free(h, 0)
    assert ns == lone.alloc(0)[1]  # exactly what a pool without topology charges
    # the reader shares the line with cpu 0 now: its store invalidates cpu 0's copy once,
    # after which it reuses the line alone, for free
    pool, _ = _bounce(1)
    h = pool.base  # block 0 of page 0: the one _bounce handed from cpu 0 to cpu 1
    pool.free(h, 1)
    assert pool.last.transfers == 1
    assert pool.alloc(1)[0] == h
    assert pool.last.transfers == 0


def test_a_cross_node_transfer_costs_more_than_a_same_node_one():
    local_pool, local_ns = _bounce(1)
    remote_pool, remote_ns = _bounce(2)
    assert (remote_pool.last.transfers_local, remote_pool.last.transfers_remote) == (0, 1)
    assert remote_ns - local_ns == pytest.approx(M.c2c_remote_ns - M.c2c_local_ns)
    assert remote_ns > local_ns


def test_a_store_to_a_line_another_cpu_holds_pays_the_exposed_share_of_the_transfer():
    """free writes the link of a block another CPU read last: the other copy must go
    (an RFO or an upgrade); stores are exposed at store_weight, as any store miss."""
    for cpu, remote in ((1, 0), (2, 1)):
        pool = StackPool(256, 256, 0, node_of=TWO_NODES)
        h, _ = pool.alloc(0)  # cpu 0 creates the page and reads the link
        ns = pool.free(h, cpu)
        assert (pool.last.transfers_local, pool.last.transfers_remote) == (1 - remote, remote)
        x = (M.c2c_local_ns, M.c2c_remote_ns)[remote]
        assert ns == pytest.approx(M.call_ns + M.lock_ns + L1 + (x - L1) * SW)


def test_a_read_finds_a_copy_on_its_own_node_first():
    """16 B blocks: four share a line.  cpu 2 (node 1) creates the page; each next block
    read by another CPU pulls the same line from wherever a copy is nearest."""
    pool = StackPool(16, 16, 0, node_of=TWO_NODES)
    hs = [pool.alloc(2)[0]]
    assert pool.last.transfers == 0
    expect = [(1, (0, 1)),  # node 0, only cpu 2 (node 1) holds it: remote
              (0, (1, 0)),  # node 0, cpu 1 holds it too: local
              (3, (1, 0))]  # node 1, cpu 2 holds it: local
    for cpu, counts in expect:
        hs.append(pool.alloc(cpu)[0])
        assert (pool.last.transfers_local, pool.last.transfers_remote) == counts, cpu
    assert len({h >> 6 for h in hs}) == 1  # one line
    pool.free(hs[0], 3)  # a store: the copies on node 0 must go too
    assert (pool.last.transfers_local, pool.last.transfers_remote) == (0, 1)
    pool.free(hs[1], 3)  # cpu 3 holds it alone now
    assert pool.last.transfers == 0


def test_a_line_that_left_every_cache_comes_from_dram_not_from_its_last_holder():
    """Reuse footprint beyond the LLC (huge pressure): no transfer, DRAM as before."""
    pressure = float(64 << 20)  # more than the 32 MiB LLC per operation
    pool = StackPool(256, 256, 0, pressure=pressure, node_of=TWO_NODES)
    h, _ = pool.alloc(0)
    pool.free(h, 0)
    _, ns = pool.alloc(1)
    assert pool.last.transfers == 0
    assert ns == pytest.approx(M.call_ns + M.lock_ns + M.dram_ns)


# ---- memory placement ------------------------------------------------------------

def _dram_op_costs(mem_node: int, pressure: float) -> list[float]:
    pool = StackPool(256, 256, 0, pressure=pressure, node_of=lambda cpu: 0, mem_node=mem_node)
    out = []
    hs = []
    for _ in range(16):  # one page
        h, ns = pool.alloc(0)
        hs.append(h)
        out.append(ns)
    for h in hs:
        out.append(pool.free(h, 0))
    return out


def test_remote_pool_memory_costs_more_for_accesses_that_miss_every_cache():
    big = float(64 << 20)  # every reused line has left the LLC
    local, remote = _dram_op_costs(0, big), _dram_op_costs(1, big)
    diffs = [r - l for l, r in zip(local, remote)]
    # allocs (loads) pay the DRAM difference in full, frees (stores) its exposed share;
    # the first alloc touches a line its page creation just wrote (no miss)
    dram_gap = M.dram_remote_ns - M.dram_ns
    assert diffs[0] == 0.0
    assert all(d == pytest.approx(dram_gap) for d in diffs[1:16])
    assert all(d == pytest.approx(dram_gap * SW) for d in diffs[16:])
    assert sum(remote) > sum(local)


def test_remote_pool_memory_costs_nothing_more_while_its_lines_stay_cached():
    assert _dram_op_costs(1, 16.0) == _dram_op_costs(0, 16.0)


def test_a_remote_node_line_is_not_in_this_nodes_llc():
    """cpu 2 (node 1) allocates and frees a block; cpu 0 (node 0) reading it at an
    LLC-sized reuse distance gets it from node 1, not from its own LLC."""
    pressure = 1 << 20  # one op's footprint: past L2 after 2 ops, inside the LLC for ~30
    pool = StackPool(256, 256, 0, pressure=pressure, node_of=TWO_NODES)
    hs = [pool.alloc(2)[0] for _ in range(4)]
    for h in hs:
        pool.free(h, 2)
    lone = StackPool(256, 256, 0, pressure=pressure)
    hs2 = [lone.alloc(0)[0] for _ in range(4)]
    for h in hs2:
        lone.free(h, 0)
    for _ in range(4):
        ns = pool.alloc(0)[1]
        ns_lone = lone.alloc(0)[1]
        assert pool.last.transfers_remote == 1
        assert ns_lone < M.call_ns + M.lock_ns + M.dram_ns  # the lone core finds it cached...
        assert ns == pytest.approx(M.call_ns + M.lock_ns + M.c2c_remote_ns)  # ...node 0 does not


# ---- the page descriptors (legacy) --------------------------------------------------

def test_legacy_walk_pays_for_descriptors_another_cpu_wrote():
    """Three pages; cpu 0 made them; cpu 1's walk to the oldest page reads all three
    descriptors, none of which it holds (it is new to the pool)."""
    pool = LegacyPool(1024, 1024, 0)
    assert pool.blocks_per_page == 3
    hs = [pool.alloc(0)[0] for _ in range(9)]
    assert pool.nr_pages == 3
    pool.free(hs[0], 1)  # walks 3 descriptors (all cpu 0's), writes the oldest's
    op = pool.last
    assert op.nodes == 3
    # 3 descriptor reads, the write of the one it shares with cpu 0, the block's link
    assert (op.transfers_local, op.transfers_remote) == (5, 0)
    lone = LegacyPool(1024, 1024, 0)
    hs2 = [lone.alloc(0)[0] for _ in range(9)]
    base = lone.free(hs2[0], 0)
    per_node = pool.pricer.row(3, 0.0)[4]  # the walk's latency per descriptor
    upgrade = (M.c2c_local_ns - L1) * SW  # a store that invalidates a copy, exposed share
    assert op.ns - base == pytest.approx(3 * (M.c2c_local_ns - per_node) + 2 * upgrade)
    # the same walk again on cpu 1: it holds every descriptor (the oldest alone), so only
    # the block's link (cpu 0's) moves
    pool.free(hs[1], 1)
    assert pool.last.nodes == 3 and pool.last.transfers == 1
    # cpu 0 walks there again: the oldest descriptor is cpu 1's now, read then written
    pool.free(hs[2], 0)
    assert pool.last.transfers == 2


def test_descriptors_other_cpus_hold_are_read_free_until_written():
    pool = LegacyPool(1024, 1024, 0)
    h0 = [pool.alloc(0)[0] for _ in range(9)]  # 3 pages, cpu 0
    pool.free(h0[8], 1)  # cpu 1 reads the newest descriptor (1 node), writes it, and the link
    assert pool.last.nodes == 1 and pool.last.transfers == 3
    pool.free(h0[7], 1)  # the same descriptor, cpu 1's alone now: only the link moves
    assert pool.last.nodes == 1 and pool.last.transfers == 1
    h, _ = pool.alloc(0)  # the newest page has room: cpu 0 reads and writes cpu 1's descriptor
    assert h == h0[7] and pool.last.nodes == 1
    assert pool.last.transfers == 3  # descriptor read, its write, the link cpu 1 wrote


def test_a_descriptor_walked_past_is_invalidated_by_its_next_writer():
    """cpu 1's walk passes the newest page's descriptor (full page) on its way to an older
    one: it shares it with cpu 0 from then on.  cpu 0's next write of it must take cpu 1's
    copy away, and cpu 1's next walk past it pays the transfer again."""
    pool = LegacyPool(4096, 4096, 0)  # one block per page
    hs = [pool.alloc(0)[0] for _ in range(2)]  # pages 0 and 1 (the head), both full
    pool.free(hs[0], 0)  # page 0 has room
    pool.alloc(1)  # cpu 1 walks page 1 (passes it: read) to page 0 (chosen: read, write)
    assert pool.last.nodes == 2
    pool.free(hs[1], 0)  # cpu 0 walks page 1 (its own, still held) and writes it
    assert pool.last.nodes == 1
    assert (pool.last.transfers_local, pool.last.transfers_remote) == (1, 0)  # cpu 1's copy goes
    pool.alloc(1)  # page 1 has room: cpu 1 reads the descriptor cpu 0 just wrote, writes it
    assert pool.last.nodes == 1
    assert pool.last.transfers == 3  # descriptor read, its write (cpu 0's copy), the link


# ---- a pool used by one CPU is unchanged ---------------------------------------------

#: per-operation ns of a seeded alloc/free sequence, hashed, computed with the cost model
#: before cache-line ownership existed (main at 21889e5): a pool used by one CPU must
#: give exactly these figures, with or without a topology
GOLDEN = {
    ("legacy", 64, 16.0): ("2079867576e00ffe", "0x1.9bfed288ce627p+15"),
    ("legacy", 256, 4096.0): ("c835d4b808185835", "0x1.ea4d5b573ea4fp+15"),
    ("legacy", 4096, 1048576.0): ("454686473e5766f9", "0x1.8f571ce075fb1p+18"),
    ("stack", 64, 16.0): ("e258c3fe79a068d2", "0x1.7d12fb7e90ef3p+15"),
    ("stack", 256, 4096.0): ("c310d1269238e15c", "0x1.ab95ad42c3cb6p+15"),
    ("stack", 4096, 1048576.0): ("606aacc73cdd2bb5", "0x1.6b1239c0ebf4cp+17"),
}


def _seeded_run(variant, size, pressure, seed=7, n=3000, cpu=0, **kw):
    pool = get_variant(variant)(size, size, 0, pressure=pressure, **kw)
    rnd = random.Random(seed)
    live, out = [], []
    for _ in range(n):
        if live and rnd.random() < 0.48:
            out.append(pool.free(live.pop(rnd.randrange(len(live))), cpu))
        else:
            h, ns = pool.alloc(cpu)
            live.append(h)
            out.append(ns)
    return pool, hashlib.sha256(",".join(x.hex() for x in out).encode()).hexdigest()[:16]


@pytest.mark.parametrize("key", sorted(GOLDEN))
@pytest.mark.parametrize("topology", [
    {},  # the default: no topology, cpu 0
    {"cpu": 5},  # another lone CPU
    {"cpu": 3, "node_of": TWO_NODES, "mem_node": 1},  # on the memory's node
    {"cpu": 3, "node_of": TWO_NODES, "mem_node": 1, "desc_node": 1, "lock_line": True},
])
def test_a_single_cpu_pool_is_bit_identical_to_before(key, topology):
    variant, size, pressure = key
    pool, digest = _seeded_run(variant, size, pressure, **topology)
    assert (digest, pool.totals.ns.hex()) == GOLDEN[key]
    assert pool.totals.transfers == 0


@settings(max_examples=60, deadline=None)
@given(
    variant=st.sampled_from(["legacy", "stack"]),
    size=st.sampled_from([16, 64, 256, 1024]),
    pressure=st.sampled_from([0.0, 16.0, 4096.0, float(1 << 20)]),
    cpu=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
)
def test_a_single_cpu_pool_matches_the_default_pool_op_by_op(variant, size, pressure, cpu, seed, n):
    cls = get_variant(variant)
    plain = cls(size, size, 0, pressure=pressure)
    topo = cls(size, size, 0, pressure=pressure, node_of=TWO_NODES, mem_node=TWO_NODES(cpu), lock_line=True)
    rnd = random.Random(seed)
    live_a, live_b = [], []
    for is_alloc, pick in [(rnd.random() < 0.55, rnd.randrange(10_000)) for _ in range(n)]:
        if is_alloc or not live_a:
            ha, na = plain.alloc()
            hb, nb = topo.alloc(cpu)
            live_a.append(ha)
            live_b.append(hb)
        else:
            i = pick % len(live_a)
            na = plain.free(live_a.pop(i))
            nb = topo.free(live_b.pop(i), cpu)
        assert na == nb
        assert topo.last.transfers == 0
    assert plain.totals.ns == topo.totals.ns


# ---- the slow reference --------------------------------------------------------------

class Reference:
    """Both dmapool designs transcribed naively (a page list walked node by node, head
    first), each operation listing the lines it touches, and a dict line -> holders that
    prices them with the rules in this file's docstring.  Shares only the cost model's
    constants and its footprint rule (``PoolPricer.fits`` and ``latency``) with the pool."""

    def __init__(self, variant, size, pressure, node_of, mem_node, desc_node):
        self.legacy = variant == "legacy"
        size = max(size, 4 if self.legacy else 16)
        self.size = size
        self.alloc_bytes = max(size, 4096)
        self.pressure = pressure
        self.node_of = node_of
        self.mem_node = mem_node
        self.desc_node = desc_node
        self.p = M.pricer(size, size)  # for the footprint rule only
        self.pages = []  # head first: dicts(index, free offsets stack, node)
        self.stack = []  # stack variant: free handles, top = end
        self.holders = {}  # line key -> set of cpus
        self.touched = {}  # block line -> clock of last touch
        self.clock = 0
        self.local = self.remote = 0

    # the page layouts, as the kernel builds them
    def _offsets(self):
        offs, off = [], 0
        if self.legacy:
            while off < self.alloc_bytes:
                offs.append(off)
                nxt = off + self.size
                if nxt + self.size >= self.alloc_bytes:
                    nxt = self.alloc_bytes
                off = nxt
        else:
            while off + self.size <= self.alloc_bytes:
                offs.append(off)
                off += self.size
        return offs

    # ---- the rules
    def _level(self, u, a):
        for i in range(3):
            if u + a * self.p.inv_reach[i] <= self.p.caps[i]:
                return i
        return 3

    def _dram(self, cpu, node):
        return M.dram_ns if self.node_of(cpu) == node else M.dram_remote_ns

    def _xfer(self, key, cpu, store):
        """Count the transfer of ``key`` to ``cpu`` and return its c2c latency."""
        mine = self.node_of(cpu)
        others = self.holders[key] - {cpu}
        if store:
            remote = any(self.node_of(o) != mine for o in others)
        else:
            remote = not any(self.node_of(o) == mine for o in self.holders[key])
        if remote:
            self.remote += 1
        else:
            self.local += 1
        return M.c2c_remote_ns if remote else M.c2c_local_ns

    def _held(self, key, cpu, store):
        h = self.holders[key]
        return h == {cpu} if store else cpu in h

    def _access(self, key, cpu, store):
        if store:
            self.holders[key] = {cpu}
        else:
            self.holders[key].add(cpu)

    def _block_line(self, handle, cpu, store, nodes):
        key = ("line", handle // LINE)
        reuse = self.clock - self.touched[key]
        self.touched[key] = self.clock
        level = self._level(reuse * self.pressure + nodes * 64, reuse * min(self.size, LINE))
        if level < 3 and not self._held(key, cpu, store):
            lat = self._xfer(key, cpu, store)
        elif level < 3:
            lat = (M.l1, M.l2, M.llc)[level].latency_ns
        else:
            lat = self._dram(cpu, self.mem_node)
        self._access(key, cpu, store)
        return L1 + (lat - L1) * SW if store else lat

    def _walk(self, walked, cpu):
        """Read the descriptors of ``walked`` pages (head first)."""
        nodes = len(walked)
        level = self._level(nodes * 64 + self.pressure, min(self.size, LINE))
        ns = 0.0
        for page in walked:
            key = ("desc", page["index"])
            if level == 3:
                ns += self._dram(cpu, page["node"])
            elif cpu in self.holders[key]:
                ns += (M.l1, M.l2, M.llc)[level].latency_ns
            else:
                ns += self._xfer(key, cpu, False)
            self._access(key, cpu, False)
        return ns

    def _write_desc(self, page, cpu, nodes):
        key = ("desc", page["index"])
        ns = 0.0
        if not self._held(key, cpu, True) and self._level(nodes * 64 + self.pressure, min(self.size, LINE)) < 3:
            ns = (self._xfer(key, cpu, True) - L1) * SW
        self._access(key, cpu, True)
        return ns

    def _new_page(self, cpu, nodes):
        index = len(self.pages)
        node = self.node_of(cpu) if self.desc_node is None else self.desc_node
        page = {"index": index, "node": node, "free": list(reversed(self._offsets()))}
        base = index * self.alloc_bytes
        for line in range(self.alloc_bytes // LINE):  # pool_initialise_page writes them all
            self.holders[("line", base // LINE + line)] = {cpu}
            self.touched[("line", base // LINE + line)] = self.clock
        self.holders[("desc", index)] = {cpu}
        ns = M.page_create_ns + M.lock_ns
        if self.pages:  # list_add: the old head's prev link
            ns += self._write_desc(self.pages[0], cpu, nodes)
        self.pages.insert(0, page)
        if not self.legacy:
            self.stack.extend(base + o for o in reversed(self._offsets()))
        return page, ns

    # ---- the operations
    def alloc(self, cpu):
        self.clock += 1
        ns = M.call_ns + M.lock_ns
        if self.legacy:
            walked = []
            found = None
            for page in self.pages:
                walked.append(page)
                if page["free"]:
                    found = page
                    break
            nodes = len(walked)
            ns += self._walk(walked, cpu)
            if found is None:
                found, extra = self._new_page(cpu, nodes)
                ns += extra
            else:
                ns += self._write_desc(found, cpu, nodes)
            handle = found["index"] * self.alloc_bytes + found["free"].pop()
        else:
            nodes = 0
            if not self.stack:
                ns += self._new_page(cpu, 0)[1]
            handle = self.stack.pop()
        return handle, ns + self._block_line(handle, cpu, False, nodes), nodes

    def free(self, handle, cpu):
        self.clock += 1
        ns = M.call_ns + M.lock_ns
        nodes = 0
        if self.legacy:
            walked = []
            for page in self.pages:
                walked.append(page)
                if page["index"] == handle // self.alloc_bytes:
                    break
            nodes = len(walked)
            ns += self._walk(walked, cpu) + self._write_desc(walked[-1], cpu, nodes)
            walked[-1]["free"].append(handle % self.alloc_bytes)
        else:
            self.stack.append(handle)
        return ns + self._block_line(handle, cpu, True, nodes), nodes


@settings(max_examples=150, deadline=None)
@given(
    variant=st.sampled_from(["legacy", "stack"]),
    size=st.sampled_from([64, 256, 1024, 4096]),
    pressure=st.sampled_from([16.0, 4096.0, float(1 << 20), float(40 << 20)]),
    same_node=st.booleans(),
    mem_node=st.sampled_from([0, 1]),
    desc_node=st.sampled_from([None, 0, 1]),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
)
def test_pool_agrees_with_a_naive_line_owner_reference(variant, size, pressure, same_node, mem_node, desc_node,
                                                       seed, n):
    """A random two-CPU alloc/free sequence (two allocs in three: pages fill up and the
    legacy walks pass full pages): transfers (local and remote) per operation exactly, ns
    to rounding, against the reference.  The 40 MiB pressure makes every walk and reused
    line miss the LLC (DRAM by node); 1 MiB puts reused lines in the LLC."""
    cpus = (0, 1) if same_node else (0, 2)
    pool = get_variant(variant)(size, size, 0, pressure=pressure, node_of=TWO_NODES, mem_node=mem_node,
                                desc_node=desc_node)
    ref = Reference(variant, size, pressure, TWO_NODES, mem_node, desc_node)
    rnd = random.Random(seed)
    ops = [(rnd.randrange(3), rnd.randrange(2), rnd.randrange(10_000)) for _ in range(n)]
    live = []  # (pool handle, reference handle)
    for kind, which, pick in ops:
        cpu = cpus[which]
        before = (ref.local, ref.remote)
        if kind or not live:
            h, ns = pool.alloc(cpu)
            rh, rns, nodes = ref.alloc(cpu)
            assert h - pool.base == rh
            live.append((h, rh))
        else:
            h, rh = live.pop(pick % len(live))
            ns = pool.free(h, cpu)
            rns, nodes = ref.free(rh, cpu)
        assert pool.last.nodes == nodes
        assert (pool.last.transfers_local, pool.last.transfers_remote) == (ref.local - before[0],
                                                                            ref.remote - before[1])
        assert ns == pytest.approx(rns, rel=1e-12, abs=1e-9)
    assert (pool.totals.transfers_local, pool.totals.transfers_remote) == (ref.local, ref.remote)


# ---- the lock line, and the interface -------------------------------------------------

def test_the_lock_line_is_priced_only_when_asked():
    for lock_line, expect in ((False, 0), (True, 1)):
        pool = StackPool(256, 256, 0, node_of=TWO_NODES, lock_line=lock_line)
        h, _ = pool.alloc(0)
        h2, _ = pool.alloc(0)
        pool.free(h, 0)
        pool.free(h2, 1)  # a line cpu 0 holds alone, + the lock line cpu 0 took last
        assert pool.last.transfers == 1 + expect
    for node_of, other, x in ((TWO_NODES, 2, M.c2c_remote_ns), (None, 1, M.c2c_local_ns)):
        pool = StackPool(256, 256, 0, node_of=node_of, lock_line=True)
        pool.alloc(0)
        ns0 = pool.alloc(0)[1]  # block 1: a line the page creation wrote, in L1
        ns2 = pool.alloc(other)[1]  # block 2: the same from the other CPU, and the lock line
        assert pool.last.transfers == 2
        assert pool.last.transfers_remote == (2 if node_of else 0)
        # the link load pays the transfer instead of L1; the lock's locked RMW likewise
        assert ns2 - ns0 == pytest.approx(2 * (x - L1))


def test_the_topology_keywords_are_checked_and_exposed():
    pool = StackPool(64, 64, 0, M, 16.0, node_of=TWO_NODES, mem_node=1, desc_node=1, lock_line=True)
    assert (pool.node_of, pool.mem_node, pool.desc_node, pool.lock_line) == (TWO_NODES, 1, 1, True)
    plain = StackPool(64)
    assert (plain.node_of, plain.mem_node, plain.desc_node, plain.lock_line) == (None, 0, None, False)
    with pytest.raises(PoolError, match="node_of must be a callable"):
        StackPool(64, node_of=3)
    with pytest.raises(PoolError, match="mem_node"):
        StackPool(64, mem_node=-1)
    with pytest.raises(PoolError, match="desc_node"):
        StackPool(64, desc_node="a")
    with pytest.raises(PoolError, match="cpu must be an int"):
        StackPool(64).alloc(-1)
    with pytest.raises(PoolError, match=r"node_of\(1\)"):
        StackPool(64, node_of=lambda cpu: None).alloc(1)


def test_totals_add_up_the_transfers_of_every_operation():
    pool = LegacyPool(256, 256, 0, node_of=TWO_NODES)
    rnd = random.Random(3)
    live, local, remote = [], 0, 0
    for _ in range(2000):
        cpu = rnd.choice((0, 1, 2, 3))
        if live and rnd.random() < 0.5:
            pool.free(live.pop(rnd.randrange(len(live))), cpu)
        else:
            live.append(pool.alloc(cpu)[0])
        local += pool.last.transfers_local
        remote += pool.last.transfers_remote
    assert (pool.totals.transfers_local, pool.totals.transfers_remote) == (local, remote)
    assert local > 0 and remote > 0
