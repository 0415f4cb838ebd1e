"""SQPOLL: io_uring's submission thread (``IORING_SETUP_SQPOLL``, fio's ``sqthread_poll``).

The kernel thread ``io_sq_thread`` spins on the submission ring: each pass submits every
SQE fio has written (``io_submit_sqes``, under a plug when there are more than two:
``PLUG_THRESHOLD``, flushed at ``BLK_MAX_REQUEST_COUNT`` or after a request of
``BLK_PLUG_FLUSH_SIZE``), issued from *its* CPU -- so through that CPU's hardware queue,
whose interrupt comes back to it -- and runs the ring's task work (``io_sq_tw``),
posting the CQEs.  It keeps spinning while there is work (it sleeps only after
``sq_thread_idle``, 1 s by default, without any, which a running fio job never leaves it).
It is allowed every online CPU, not fio's affinity (``io_sq_thread``), or the one
``sqthread_poll_cpu`` names (``IORING_SETUP_SQ_AFF``).

fio's side (``engines/io_uring.c``): the commit only fills the SQ ring and stamps the
issue time (no syscall while the thread is awake) and records no slat (fio >= 3.34,
c011bf1292f1); ``getevents`` reaps the CQ ring in user space and spins until enough are
there.  Both spins are CPU time.  Not modelled: SQPOLL beyond the tags (the thread's
io-wq) and with IOPOLL (refused by the config).
"""

from __future__ import annotations

from collections import deque
from typing import Generator

from ..stats.records import L_SQ, L_SQ_CQE, L_SQ_RQ, SQ_ALLOC
from .cpu import Core
from .engine import Engine, Event, ThreadRunner, Timeout
from .queue import Queue
from .submit import BLK_MAX_REQUEST_COUNT, BLK_PLUG_FLUSH_SIZE, PLUG_THRESHOLD, dispatch, plug_order


class SqThread:
    """One job's SQ thread on its own core, submitting on that core's NVMe queue."""

    __slots__ = ("env", "job", "core", "queue", "driver", "device", "poolset", "sq", "tw", "waiter", "done",
                 "per_req_ns", "tw_run_ns", "cqe_ns", "flush_at", "sized", "plug_fifo", "runner")

    def __init__(self, env: Engine, job, core: Core, queue: Queue, driver, device, costs, poolset: int,
                 plug_fifo: bool, bs: int) -> None:
        self.env = env
        self.job = job
        self.core = core
        self.queue = queue
        self.driver = driver
        self.device = device
        self.poolset = poolset
        self.sq: deque = deque()  # SQEs fio has written, not yet consumed
        self.tw: deque = deque()  # completed requests whose task work (the CQE post) is due
        self.waiter: Event | None = None  # set while the thread spins with nothing to do
        self.done = False
        self.per_req_ns = costs.io_uring_sqe_ns + costs.blk_mq_ns
        self.tw_run_ns = costs.task_work_run_ns
        self.cqe_ns = costs.io_uring_cqe_ns
        # an iolog replay's sizes vary: the plug's last request's decides (blk_add_rq_to_plug)
        self.sized = job.replay is not None
        self.flush_at = 1 if bs >= BLK_PLUG_FLUSH_SIZE and not self.sized else BLK_MAX_REQUEST_COUNT
        self.plug_fifo = plug_fifo
        job.sq = self
        self.runner = ThreadRunner(env, self.run())

    # ---- called by fio and by the completion path --------------------------
    def submit(self, batch: list, t: float) -> None:
        """fio wrote ``batch`` into the SQ ring at ``t`` (its clock)."""
        for io_u in batch:
            io_u.ready = t
        self.sq.extend(batch)
        self.poke_at(t)

    def poke_at(self, t: float) -> None:
        """New work at ``t``: a spinning thread sees it then."""
        w = self.waiter
        if w is not None:
            self.waiter = None
            env = self.env
            env.fire(w, t - env.now if t > env.now else 0.0)

    def stop(self, t: float) -> None:
        """fio's job has ended (its ring is torn down)."""
        self.done = True
        self.poke_at(t)

    # ---- the thread -------------------------------------------------------
    def run(self) -> Generator[Event, None, None]:
        """``io_sq_thread``: submit, run task work, spin when there is neither."""
        core = self.core
        core.woken()
        while not self.done:
            if self.sq:
                yield from self._submit()
            if self.tw:
                if not core.in_sync():
                    yield from core.sync()
                self._task_work()
            if not self.sq and not self.tw and not self.done:
                yield from self._spin()
        yield from core.sync()
        core.retire()

    def _spin(self) -> Generator[Event, None, None]:
        """Nothing to do: spin until fio writes SQEs or a completion queues task work.
        The thread never sleeps, so its core is busy the whole window: the time it did
        not book elsewhere is its spinning, under ``io_sq_thread``."""
        core, env = self.core, self.env
        if not core.in_sync():
            yield from core.sync()
            if self.sq or self.tw or self.done:
                return
        self.waiter = ev = env.event()
        yield ev  # (the spinning is booked at the end: what the core did not book, sim/model.py)
        if core.in_irq:  # poked by a handler on this core: it goes on after it
            yield from core.wake()
        else:
            core.woken()

    def _submit(self) -> Generator[Event, None, None]:
        """``io_submit_sqes`` of everything in the ring: each request's SQE, bio and
        blk-mq request (a tag is always free: the config keeps iodepth within the
        tags), the plug's flushes through :func:`~.submit.dispatch`."""
        core, queue = self.core, self.queue
        reqs = list(self.sq)
        self.sq.clear()
        plugged = len(reqs) > PLUG_THRESHOLD
        plug: list = []
        args = (core, self.driver, self.device, queue)
        for io_u in reqs:
            if io_u.ready > core.t:  # it cannot be seen before fio wrote it
                core.t = io_u.ready
            core.charge_io(L_SQ, self.per_req_ns * io_u.m)
            queue.inflight += 1
            io_u.queue = queue
            io_u.poolset = self.poolset
            if plugged and (len(plug) >= self.flush_at or (self.sized and plug and
                                                           plug[-1].nbytes >= BLK_PLUG_FLUSH_SIZE)):
                yield from dispatch(*args, plug_order(plug, self.plug_fifo), L_SQ_RQ, SQ_ALLOC, False)
                plug.clear()
            plug.append(io_u)
            if not plugged:
                yield from dispatch(*args, plug, L_SQ_RQ, SQ_ALLOC, False)
                plug.clear()
        if plug:
            yield from dispatch(*args, plug_order(plug, self.plug_fifo), L_SQ_RQ, SQ_ALLOC, False)

    def _task_work(self) -> None:
        """``io_sq_tw``: post the CQE of every completed request into the job's ring and
        let a spinning fio see them.  The caller is in sync."""
        core, env = self.core, self.env
        core.charge(L_SQ, self.tw_run_ns)
        tw, job = self.tw, self.job
        ring = job.ring
        cqe_ns = self.cqe_ns
        while tw:
            io_u = tw.popleft()
            core.charge_io(L_SQ_CQE, cqe_ns * io_u.m)
            ring.append(io_u)
        w = job.cq_waiter
        if w is not None and len(ring) >= job.wait_need:
            job.cq_waiter = None
            env.fire(w, core.t - env.now if core.t > env.now else 0.0)
