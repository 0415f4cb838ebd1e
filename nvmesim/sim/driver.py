"""nvme-pci on the I/O path: per-request costs, and PRP/SGL list blocks allocated and
freed through the dmapool models under the pools' spinlocks.

The two pools ("prp list 256", "prp list page") are per device and shared by every
queue and CPU, each behind one irqsave spinlock (kernel.md §5); with
``driver.kernel: "6.16"`` there is one pair per NUMA node (kernel.md §6).
Submission is in :mod:`.fio` (the syscall that calls ``nvme_queue_rq``), completion in
:mod:`.completion`, the queues in :mod:`.queue`.
"""

from __future__ import annotations

from ..allocators import DmaPool
from ..config import Config, DeviceConfig
from ..stats.records import PoolLabels, PoolStats
from .cpu import Core, SpinLock
from .engine import Clock, Engine
from .nvme import PAGE_POOL, SMALL_POOL, MapPlan, map_plan, segments


class PoolSet:
    """The driver's PRP/SGL pools for one device (or one NUMA node), each with its lock."""

    __slots__ = ("pools", "locks")

    def __init__(self, variant: type[DmaPool], cfg: Config, device_node: int = 0, node: int | None = None) -> None:
        """``device_node``: the device's NUMA node, where ``dma_alloc_coherent`` puts the
        pages (the blocks); ``node``: the node of a 6.16 per-node pair, where
        ``dma_pool_create_node`` puts the pool and its page descriptors (None: one pair per
        device, each descriptor ``kmalloc``'d on the node of the CPU that grew the pool)."""
        cost = cfg.allocator.cost
        # bytes this core touches between two of its pool operations: the rest of
        # the I/O path's per-I/O footprint, split over an alloc and a free
        pressure = cfg.host.cache_bytes_per_io / 2
        c = cfg.host.costs
        # every line of pool state has holders: a CPU that does not hold it pays a transfer
        # (the lock's line is the SpinLock's hand-off, so the pool does not price it too)
        where = {"node_of": cfg.host.node_of, "mem_node": device_node, "desc_node": node}
        self.pools = {
            SMALL_POOL: variant(SMALL_POOL, SMALL_POOL, 0, cost=cost, pressure=pressure, **where),
            PAGE_POOL: variant(PAGE_POOL, PAGE_POOL, 0, cost=cost, pressure=pressure, **where),
        }
        self.locks = {k: SpinLock(c.lock_handoff_ns, c.lock_handoff_remote_ns) for k in self.pools}


class RqWork:
    """The driver's per-request work for one request size on one device: its mapping plan
    (``lists`` blocks from ``pools``/``locks``, one per poolset), ``nvme_queue_rq``'s
    set-up with the DMA map and the PRP/SGL entries, and the DMA unmap at completion.
    Every io_u carries the one of its size and device (``IoU.rq``)."""

    __slots__ = ("nbytes", "plan", "lists", "queue_rq_ns", "unmap_ns", "pools", "locks")

    def __init__(self, nbytes: int, plan: MapPlan, queue_rq_ns: float, unmap_ns: float, pools: list,
                 locks: list) -> None:
        self.nbytes = nbytes
        self.plan = plan
        self.lists = plan.lists
        self.queue_rq_ns = queue_rq_ns
        self.unmap_ns = unmap_ns
        self.pools = pools
        self.locks = locks


class Driver:
    """The nvme-pci driver's state for one device (``device``, default the config's one):
    per-request CPU work and the list pools (per device, and per node from 6.16)."""

    def __init__(self, env: Engine, cfg: Config, variant: type[DmaPool], plan: MapPlan, nsegs: int,
                 device: DeviceConfig | None = None, label: str = "") -> None:
        self.env = env
        device = device or cfg.device
        self.label = label  # the device's name in the pools' figures ("" with one device)
        c = cfg.host.costs
        nodes = cfg.host.numa_nodes if cfg.kernel().per_node_pools else 1
        self.poolsets = [PoolSet(variant, cfg, device.node, k if nodes > 1 else None) for k in range(nodes)]
        self.per_node = nodes > 1
        # the one pool (and its lock) this run's lists come from, per poolset
        self.list_pools = [ps.pools[plan.pool] for ps in self.poolsets] if plan.lists else []
        self.list_locks = [ps.locks[plan.pool] for ps in self.poolsets] if plan.lists else []
        self.plan = plan
        self.nsegs = nsegs
        self._cfg, self._sgl = cfg, device.sgl_support and cfg.driver.sgl
        # per-request CPU work that does not interact with anything shared, for bs
        self.work = self._rq_work(cfg.workload.bs, plan, nsegs)
        self.works = {cfg.workload.bs: self.work}  # (other sizes: an iolog replay's, rq_work)
        self.queue_rq_ns, unmap_ns = self.work.queue_rq_ns, self.work.unmap_ns
        self.sqe_copy_ns = c.sqe_copy_ns  # (of nvme_queue_rq_ns) under a shared queue's SQ lock
        self.handle_cqe_ns = c.nvme_cqe_ns  # nvme_handle_cqe, in the CQ loop
        self.unmap_ns = unmap_ns  # nvme_pci_unmap_rq's DMA unmap, in the batch after the loop
        self.doorbell_ns = c.doorbell_ns
        self.shadow_doorbell = device.shadow_doorbell  # the SQ doorbell only when the device sleeps
        # the lock's part of a locked pool operation's cost (cost model: lock_ns)
        self.lock_ns = cfg.allocator.cost.lock_ns
        self.irq_entry_ns = c.irq_entry_ns
        self.ipi_send_ns = c.ipi_send_ns  # rq_affinity: an IPI to the submitting CPU
        self.poll_ns = c.poll_ns

    def _rq_work(self, nbytes: int, plan: MapPlan, nsegs: int) -> RqWork:
        c = self._cfg.host.costs
        pages = -(-nbytes // 4096)
        if self._cfg.host.iommu:  # one IOVA range: allocate it, write a PTE per page; free it (lazy IOTLB flush)
            map_ns, unmap_ns = c.iommu_map_ns + pages * c.iommu_page_ns, c.iommu_unmap_ns
        else:  # direct mapping: one dma_map_page per physically contiguous run
            map_ns, unmap_ns = nsegs * c.dma_map_segment_ns, nsegs * c.dma_unmap_segment_ns
        pools = [ps.pools[plan.pool] for ps in self.poolsets] if plan.lists else []
        locks = [ps.locks[plan.pool] for ps in self.poolsets] if plan.lists else []
        return RqWork(nbytes, plan, c.nvme_queue_rq_ns + map_ns + plan.entries * c.prp_entry_ns, unmap_ns,
                      pools, locks)

    def rq_work(self, nbytes: int) -> RqWork:
        """The per-request work of an ``nbytes`` request (an iolog replay's sizes vary):
        nvme-pci's mapping rules (``sim/nvme.py: map_plan``) for its buffer's segments."""
        work = self.works.get(nbytes)
        if work is None:
            cfg = self._cfg
            nsegs = segments(nbytes, cfg.workload.iomem)
            plan = map_plan(nbytes, nsegs, 0, sgl_supported=self._sgl, sgl_threshold=cfg.driver.sgl_threshold,
                            kernel=cfg.driver.kernel, iommu=cfg.host.iommu)
            work = self.works[nbytes] = self._rq_work(nbytes, plan, nsegs)
        return work

    def poolset_index(self, node: int) -> int:
        """Which of :attr:`poolsets` serves requests from a core on NUMA ``node``."""
        return node if self.per_node else 0

    # Callers make sure their clock is in sync before each pool operation (the lock
    # must be asked for at the right instant), then call these plain functions.
    def alloc_list(self, core: Core, io_u, labels: PoolLabels) -> None:
        """dma_pool_alloc of one PRP/SGL list block under the pool's irqsave lock
        (nvme_pci_setup_prps / nvme_pci_setup_sgls, thread context).

        The pool operation is done first and the lock granted after: grants are
        first come, first served, so the order of operations is the same, and the
        cost of an operation does not depend on when it is granted."""
        k = io_u.poolset
        rq = io_u.rq
        pool = rq.pools[k]
        now = core.t if core.t > self.env.now else self.env.now  # core.local_now()
        handle, ns = pool.alloc(core.index)
        ns *= core.scale  # the core's speed (host noise); the cost model prices the rest
        wait = self._book(core, now, rq.locks[k], pool.last.locked, labels, ns)
        core.irq_off_until = core.t = now + wait + ns
        io_u.handles.append(handle)

    def free_list(self, clock: Clock, core: Core, io_u, handle: int, labels: PoolLabels) -> None:
        """dma_pool_free of one list block (nvme_unmap_data), under the pool's lock, on
        ``clock`` (the interrupt handler's, or the polling thread's) of ``core``."""
        k = io_u.poolset
        rq = io_u.rq
        pool = rq.pools[k]
        now = clock.t if clock.t > self.env.now else self.env.now  # clock.local_now()
        ns = pool.free(handle, core.index) * core.scale
        clock.t = now + self._book(core, now, rq.locks[k], pool.last.locked, labels, ns) + ns

    def _book(self, core: Core, now: float, lock: SpinLock, locked: bool, labels: PoolLabels, ns: float) -> float:
        """Take the pool's ``lock`` for an operation of ``ns`` if it was ``locked`` and
        return the wait; book it as perf sees it: the lock's acquire and release and its
        line's hand-off under ``_raw_spin_lock_irqsave``, waiting for another holder under
        its slowpath, the rest under the dmapool function."""
        if not locked:  # a per-CPU fast path: no lock
            if now >= core.measure_from:
                core.busy[labels.op] += ns
            return 0.0
        wait = lock.take(now, core, ns)
        if now >= core.measure_from:
            busy = core.busy
            busy[labels.spin] += lock.last_spin
            lock_ns = self.lock_ns * core.scale
            busy[labels.lock] += lock.last_handoff + lock_ns
            busy[labels.op] += ns - lock_ns
        return wait

    def pool_stats(self) -> list[PoolStats]:
        """Every pool that did any operation, with its lock's figures."""
        out = []
        for node, ps in enumerate(self.poolsets):
            for size, pool in ps.pools.items():
                t = pool.totals
                if t.ops:
                    lock = ps.locks[size]
                    out.append(PoolStats(device=self.label, node=node, block_size=size, ops=t.ops, nodes=t.nodes, ns=t.ns,
                                         pages=pool.nr_pages, lock_acquisitions=lock.acquisitions,
                                         lock_contended=lock.contended, lock_spin_ns=lock.spin_total,
                                         lock_handoff_ns=lock.handoff_total, transfers_local=t.transfers_local,
                                         transfers_remote=t.transfers_remote))
        return out
