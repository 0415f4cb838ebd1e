"""io-wq: the workers that re-issue the io_uring requests that found no free tag.

io_uring issues each request with ``IOCB_NOWAIT``.  When blk-mq has no tag the bio ends
with ``BLK_STS_AGAIN`` (``bio_wouldblock_error``), ``io_rw_should_reissue`` marks the
request ``REQ_F_REISSUE`` and ``io_queue_async`` hands it to the task's io-wq
(``io_queue_iowq`` -> ``io_wq_enqueue``, which wakes an idle worker) -- inline, during
the submission, up to 6.13; when the request's completion task work runs from 6.14
(d803d123948f).  A worker issues it blocking (``io_wq_submit_work`` without NOWAIT): it
sleeps in ``blk_mq_get_tag`` until a tag is free on the hardware queue **of the CPU it
runs on**, then dispatches it directly (``blk_mq_try_issue_directly``: ``nvme_queue_rq``
and one doorbell; no plug).  The completion comes back on that queue's interrupt and
queues task work to the fio thread like any other.  So fio's slat stays short (the
submission does not sleep) and the wait for a tag moves into clat.

The model: one worker thread on each core the job's workers may run on -- the cores no
fio job runs on (of the job's node on 6.2; ``Config.iowq_cpus``), each with its own NVMe
queue, tags and interrupt.  The kernel runs about one worker per punted request (each
one that blocks has io-wq fork another, up to ``min(sq_entries, 4 x CPUs)``); those on
one CPU take it in turn and wait for the same tags, so one thread per core stands for
them and serves the work in order.  Where the scheduler puts a woken worker is ordinary
CFS placement (no io-wq code chooses): that it picks an idle CPU is an assumption.
"""

from __future__ import annotations

from collections import deque
from typing import Generator

from ..stats.records import IOWQ_ALLOC, L_IOWQ, L_IOWQ_RQ
from .cpu import Core
from .engine import SLEEP, Engine, Event, ThreadRunner, Timeout
from .queue import Queue
from .submit import dispatch


class IoWq:
    """One fio job's io-wq: the list of handed-over requests and the workers serving it."""

    __slots__ = ("env", "work", "idle", "workers")

    def __init__(self, env: Engine) -> None:
        self.env = env
        self.work: deque = deque()  # requests waiting for a worker, in order
        self.idle: list[IoWorker] = []  # the free list: the last to go idle is woken first
        self.workers: list[IoWorker] = []

    def enqueue(self, io_u, t: float) -> None:
        """``io_wq_enqueue`` at ``t`` (the submitter's clock): queue the request and wake
        an idle worker (``io_acct_activate_free_worker``) if there is one."""
        io_u.ready = t
        self.work.append(io_u)
        if self.idle:
            self.idle.pop().wake_at(t)

    def open_window(self, t: float) -> None:
        """The job's ramp ended at ``t``: the workers' cores book CPU from then on."""
        for w in self.workers:
            w.core.open_window(t)

    def retire(self) -> None:
        """The job has finished: its workers' cores idle from now on."""
        for w in self.workers:
            w.core.retire()


class IoWorker:
    """The io-wq worker thread(s) of one job on one core, with that core's NVMe queue."""

    __slots__ = ("env", "wq", "core", "queue", "driver", "device", "poolset", "issue_ns", "wakeup_ns",
                 "runner", "reqs")

    def __init__(self, env: Engine, wq: IoWq, core: Core, queue: Queue, driver, device, costs,
                 poolset: int) -> None:
        self.env = env
        self.wq = wq
        self.core = core
        self.queue = queue
        self.driver = driver
        self.device = device
        self.poolset = poolset
        self.issue_ns = costs.iowq_work_ns + costs.blk_mq_ns  # the blocking issue, up to the tag
        self.wakeup_ns = costs.wakeup_ns
        self.reqs: list = [None]  # the one request a dispatch sends
        wq.workers.append(self)
        self.runner = ThreadRunner(env, self.run())

    def wake_at(self, t: float) -> None:
        """``wake_up_process`` of this idle worker, effective at ``t``."""
        env = self.env
        Timeout(env, t - env.now if t > env.now else 0.0).callbacks.append(self.runner.resume)

    def run(self) -> Generator[Event, None, None]:
        """``io_wq_worker``: take work while there is some, else sleep on the free list."""
        wq, core, queue = self.wq, self.core, self.queue
        work = wq.work
        while True:
            if not work:
                wq.idle.append(self)
                yield from self._sleep()
                continue
            io_u = work.popleft()
            if io_u.ready > core.t:  # it cannot start before it was queued
                core.t = io_u.ready
            core.charge_io(L_IOWQ, self.issue_ns * io_u.m)
            while queue.inflight >= queue.tags:  # blk_mq_get_tag: no tag on this CPU's queue
                if not core.in_sync():
                    yield from core.sync()
                    continue
                if work and wq.idle:  # io_wq_dec_running: another worker takes the rest
                    wq.idle.pop().wake_at(core.t)
                queue.tag_waiters.append(self.runner)
                yield from self._sleep()  # woken once sbitmap's wake batch is free
            queue.inflight += 1
            io_u.queue = queue
            io_u.poolset = self.poolset
            self.reqs[0] = io_u
            yield from dispatch(core, self.driver, self.device, queue, self.reqs, L_IOWQ_RQ, IOWQ_ALLOC, False)

    def _sleep(self) -> Generator[Event, None, None]:
        """Block until woken, then be switched back in (``wakeup_ns``)."""
        core = self.core
        if not core.in_sync():
            yield from core.sync()
        core.sleep()
        yield SLEEP
        if core.in_irq:
            yield from core.wake()
        else:
            core.woken()
        core.charge(L_IOWQ, self.wakeup_ns)
