"""One fio job thread: fio's do_io loop with the io_uring or libaio engine.

Timestamps follow fio exactly (../shared/reference/fio.md):

* ``start`` when an io_u is prepared (after get_io_u/td_io_prep);
* ``issue`` one clock read after the submitting syscall returns, copied into
  every io_u of the batch (FIO_ASYNCIO_SETS_ISSUE_TIME);
* ``reap`` one clock read per reaped batch;
* slat = issue - start, clat = reap - issue, lat = reap - start.

Batching follows fio's rules: a batch is committed once ``iodepth_batch_submit``
io_us are queued, and before any wait for completions (td_io_getevents commits
first when min > 0); fio reaps only when the queue is full (or when
``iodepth_batch_complete_min`` is 0), waiting for
``min(iodepth_batch_complete_min, cur_depth)`` events (at least 1 when full),
taking at most ``iodepth_batch_complete_max``, and keeps reaping while full and
above ``iodepth_low`` (backend.c wait_for_completions).

io_us are preallocated (``iodepth`` per job) and recycled, so nothing per I/O
outlives its completion; statistics go straight into fio-style histograms.
"""

from __future__ import annotations

from collections import deque
from typing import Generator

import numpy as np

from ..config import Config
from ..stats.distributions import batch_map_index, depth_level_index
from ..stats.fiotime import first_instant, mtime_since
from ..stats.iologs import JobLogs, LogPlan, rate_intervals
from ..stats.records import (KBLOCKD_ALLOC, L_FIO, L_GETEVENTS, L_KBLOCKD, L_KBLOCKD_RQ, L_PUNT, L_PUNT_TW, L_TCTX, L_TW_ENTER,
                             L_TW_USER, L_URING, DirResult, submit_labels)
from .completion import CompletionPath, poll
from .cpu import Core
from .device import Device
from .driver import Driver
from .engine import SLEEP, Engine, Event, ReusableEvent, ThreadRunner, Timeout
from .noise import Multipliers
from .iowq import IoWq
from .queue import Queue
from .replay import Replay
from .submit import BLK_MAX_REQUEST_COUNT, BLK_PLUG_FLUSH_SIZE, PLUG_THRESHOLD, dispatch, plug_order

_DRAW_BLOCK = 4096  # random numbers drawn per numpy call


class IoU(ReusableEvent):
    """One of a job's ``iodepth`` preallocated I/O units (fio's struct io_u).

    It is also the event of its command's next stage in the device, reused for every
    stage and every I/O (the device sets ``callbacks`` and pushes it).
    """

    __slots__ = ("job", "is_read", "nbytes", "start", "issue", "service_ns", "handles", "poolset", "queue", "m",
                 "ready", "file", "rq")

    def __init__(self, job: "FioJob", nbytes: int) -> None:
        super().__init__(job.env)
        self.job = job
        self.is_read = True
        self.nbytes = nbytes
        self.start = 0.0
        self.issue = 0.0
        self.service_ns = 0.0
        self.handles: list[int] = []
        self.poolset = job.poolset  # which of the driver's poolsets its list blocks come from
        self.queue = job.queue  # the NVMe queue its command is submitted on
        self.m = 1.0  # the multiplier of its own CPU steps (host noise)
        self.ready = 0.0  # when it was handed to io-wq (if it was)
        self.file = 0  # which of the job's files (devices) it is for
        self.rq = job.driver.work  # its driver's work for its size (driver.RqWork)


class Streams:
    """A job's random sources, each its own numpy Generator (common random numbers:
    the k-th read of job j gets the same service time under every variant)."""

    def __init__(self, cfg: Config, seeds: list[np.random.SeedSequence], scale: float = 1.0,
                 devices: list | None = None, file_seeds: list[np.random.SeedSequence] | None = None) -> None:
        self._rw = np.random.default_rng(seeds[0])
        self._svc = {True: np.random.default_rng(seeds[1]), False: np.random.default_rng(seeds[2])}
        first = devices[0] if devices else cfg.device
        self._dist = {True: first.read, False: first.write}
        self._buf: dict[bool, list[float]] = {True: [], False: []}
        # a job with several files: each device's own service times, from streams of
        # their own, unless every file's device serves alike (then the one pair above);
        # and the stream of fio's file choice (file_service_type=random)
        self.files: list[Streams] | None = None
        self._pick = np.random.default_rng(file_seeds[0]) if file_seeds else None
        self._pickbuf: list[float] = []
        if devices and len(devices) > 1 and any((d.read, d.write) != (first.read, first.write) for d in devices):
            self.files = [self]
            for k, dev in enumerate(devices[1:], start=1):
                other = Streams.__new__(Streams)
                other._svc = {True: np.random.default_rng(file_seeds[2 * k - 1]),
                              False: np.random.default_rng(file_seeds[2 * k])}
                other._dist = {True: dev.read, False: dev.write}
                other._buf = {True: [], False: []}
                self.files.append(other)
        self._rwbuf: list[bool] = []
        self.read_fraction = cfg.workload.read_fraction
        # the cost multiplier of each I/O's own CPU steps (host noise): the k-th I/O of the
        # job gets the same one in every variant
        noise = cfg.host.noise
        self.io_costs = Multipliers(np.random.default_rng(seeds[3]) if noise.enabled else None,
                                    noise.cost_cv, scale)

    def is_read(self) -> bool:
        f = self.read_fraction
        if f >= 1.0:
            return True
        if f <= 0.0:
            return False
        if not self._rwbuf:
            self._rwbuf = (self._rw.random(_DRAW_BLOCK) < f).tolist()
            self._rwbuf.reverse()
        return self._rwbuf.pop()

    @staticmethod
    def _empirical(d, rng: np.random.Generator) -> np.ndarray:
        """Inverse-CDF draws from an empirical distribution (ServiceTime.empirical_points):
        linear between quantiles, or the bins' own values."""
        xs, ps, discrete = d.empirical_points()
        u = rng.random(_DRAW_BLOCK)
        if discrete:
            idx = np.searchsorted(np.asarray(ps), u, side="right")
            return np.asarray(xs)[np.minimum(idx, len(xs) - 1)] * 1000.0
        return np.interp(u, ps, xs) * 1000.0

    def file_index(self, n: int) -> int:
        """fio's get_next_file_rand: a file drawn uniformly among ``n``."""
        if not self._pickbuf:
            self._pickbuf = self._pick.random(_DRAW_BLOCK)[::-1].tolist()
        return int(self._pickbuf.pop() * n)

    def file_service_ns(self, f: int, is_read: bool) -> float:
        """A service time from file ``f``'s device."""
        s = self if self.files is None else self.files[f]
        buf = s._buf[is_read]
        return buf.pop() if buf else Streams.service_ns(s, is_read)

    def service_ns(self, is_read: bool) -> float:
        buf = self._buf[is_read]
        if not buf:
            d = self._dist[is_read]
            rng = self._svc[is_read]
            if d.dist == "lognormal":
                mu, sigma = d.lognormal_params()
                draws = rng.lognormal(mu, sigma, _DRAW_BLOCK)
            elif d.dist == "exponential":
                draws = rng.exponential(d.mean_us * 1000.0, _DRAW_BLOCK)
            elif d.dist == "empirical":
                draws = self._empirical(d, rng)
            else:
                draws = np.full(_DRAW_BLOCK, d.mean_us * 1000.0)
            buf.extend(draws[::-1].tolist())
        return buf.pop()


class FioJob:
    """fio's thread for one job, pinned to one core, submitting to that core's queue.

    ``lone``: only this core takes its pool locks and only its own queue's interrupt
    handler (no coalescing timer, no polling) can preempt it, so before a lock it may
    run ahead of simulated time while no interrupt can come first (see :meth:`commit`).
    ``completion``: the poll queue's completion path, for hipri (None with interrupts).
    ``poolset``: which of the driver's poolsets serves this core (its NUMA node's).
    ``logs``: where it writes the fio logs its workload asks for (``stats/iologs.py``).

    The job's life follows fio's (``backend.c: do_io``, ``time.c: ramp_time_over``):

    * the ramp ends at the first accounting point (a batch's submission or a reap)
      once ``ramp_time`` has passed; every statistic is reset there, the epoch moves
      there, and the runtime counts from it (a reap that ends the ramp is not
      accounted: fio's runstate is RAMP until the next I/O is prepared);
    * the job stops issuing once ``runtime`` has passed since the epoch (or, when not
      time_based, once ``size``/``io_size``/``number_ios`` is reached), then drains
      every I/O in flight in one reap, and its runtime runs to the end of the drain;
    * total_ios counts I/Os when they are queued (fio's ``total_io_u``), io_bytes and
      the clat/lat samples when they complete (except in the reap that ends the ramp),
      io_bytes every completion after the ramp, slat when a batch is submitted.
    """

    def __init__(self, env: Engine, cfg: Config, index: int, core: Core, queue: Queue, driver: Driver,
                 device: Device, streams: Streams, *, lone: bool, completion: CompletionPath | None,
                 poolset: int, iowq: IoWq | None = None,
                 files: list[tuple[Queue, Driver, Device]] | None = None, logs: LogPlan | None = None) -> None:
        w = cfg.workload
        c = cfg.host.costs
        self.env = env
        self.index = index
        self.core = core
        self.queue = queue
        self.driver = driver
        self.device = device
        # the job's files: a device each, with this core's queue on it (the first is
        # queue, driver, device); fio's file_service_type picks one per I/O
        files = files or [(queue, driver, device)]
        self.queues = [f[0] for f in files]
        self.drivers = [f[1] for f in files]
        self.devices = [f[2] for f in files]
        self.works = [d.work for d in self.drivers]  # each file's driver's work for bs
        self.nfiles = len(files)
        self.file_random, self.file_nr = w.file_service[0] == "random", w.file_service[1]
        self.file_left = 0  # I/Os before the next switch (fio's file_service_left)
        self.file_cur = 0
        self.file_next = 0  # the round robin's next file (fio's next_file)
        self.plug_multi = False  # the plug holds requests for several devices (plug->multiple_queues)
        self.streams = streams
        self.uring = w.ioengine == "io_uring"
        self.completion = completion
        self.iodepth = w.iodepth
        self.bs = w.bs
        self.batch = w.iodepth_batch_submit
        self.cmin = w.iodepth_batch_complete_min
        self.cmax = w.iodepth_batch_complete_max
        self.low = w.iodepth_low
        self.polling = not self.cmin and not self.cmax  # fio's io_in_polling
        self.thinktime_ns = w.thinktime * 1e3
        self.thinktime_blocks = w.thinktime_blocks
        self.poolset = poolset
        self.free = [IoU(self, w.bs) for _ in range(w.iodepth)]
        self.queued: list[IoU] = []
        self.plug: list[IoU] = []  # the task's blk_plug: requests set up, not yet dispatched
        self.plug_fifo = cfg.kernel().plug_fifo
        self.ring: deque[IoU] = deque()  # completed by the kernel, not yet reaped by fio
        self.cur_depth = 0  # queued or in flight (fio's cur_depth)
        self.issued = 0  # since the job started (fio's io_issue_bytes / bs: the ramp counts)
        self.lone = lone
        self.runner: ThreadRunner | None = None  # set by start()
        self.sleeping = False  # blocked in the kernel until wait_need events are in the ring
        self.wait_need = 0
        # the end rules (times as fio checks them: in µs since the epoch)
        self.timeout_us = int(round(w.runtime * 1e6))
        self.ramp_us = int(round(w.ramp_time * 1e6))
        self.limit_ios = 0 if w.time_based else self._issue_limit(w)
        self.number_ios = 0 if w.time_based else w.number_ios
        # iolog replay (sim/replay.py): the log gives each I/O and ends the job; size,
        # io_size and number_ios do not (fio's do_io)
        self.replay = Replay(cfg, index) if w.read_iolog else None
        if self.replay is not None:
            self.limit_ios = self.number_ios = 0
        # every I/O one direction (1: reads, 0: writes; -1: mixed or a replay): the reap and
        # submit batches then add their latencies to one record with LatencyHist.add_many
        self.one_dir = -1 if self.replay is not None or 0.0 < w.read_fraction < 1.0 else int(w.read_fraction >= 1.0)
        self.epoch = 0.0  # the job starts at time 0; the end of the ramp moves it
        self.ramp_over = not self.ramp_us
        self.running = self.ramp_over  # fio's runstate TD_RUNNING (else TD_RAMP)
        self.ramp_end = float(first_instant(0.0, self.ramp_us)) if self.ramp_us else 0.0
        self.end = float(first_instant(0.0, self.timeout_us)) if self.ramp_over else float("inf")
        self.finished_at = float("inf")
        # per-I/O CPU costs, precomputed
        self.prep_ns = c.fio_prep_ns
        self.complete_ns = c.fio_complete_ns
        self.reap_ns = c.fio_reap_ns
        self.syscall_ns = c.syscall_ns
        # io_submit or io_uring_enter, nvme_queue_rq under it, dma_pool_alloc under that
        self.sub_label, self.queue_rq_label, self.alloc_labels = submit_labels(w.ioengine)
        self.wait_label = L_URING if self.uring else L_GETEVENTS
        self.per_req_ns = (c.io_uring_sqe_ns if self.uring else c.libaio_iocb_ns) + c.blk_mq_ns
        self.wakeup_ns = c.wakeup_ns
        k = cfg.kernel()
        # io_uring beyond the tags: requests that find none go to io-wq (sim/iowq.py)
        self.iowq = iowq
        # SQPOLL (sim/sqpoll.py): the SQ thread (it sets this) submits and posts the CQEs
        self.sq = None
        self.cq_waiter: Event | None = None  # fio spins on the CQ ring until wait_need are there
        self.punt_ns = c.iowq_punt_ns
        self.reissue_late = k.reissue_at_completion
        self.reissue: list[IoU] = []  # (6.14+) handed over when the task work runs
        # where completions are posted: task work (io_uring without IOPOLL or SQPOLL), or directly
        self.tw: deque[IoU] | None = deque() if self.uring and not w.hipri and not w.sqthread_poll else None
        self.defer = self.tw is not None and w.ring_taskrun == "DEFER_TASKRUN"
        self.tw_cap = k.local_tw_cap
        self.tw_run_ns = c.task_work_run_ns
        self.cqe_post_ns = c.io_uring_cqe_ns
        # the wake rule: every completion wakes a waiter (libaio before 6.8; DEFER_TASKRUN
        # on 6.2), or only enough of them
        self.wake_every = (not k.aio_wake_min_nr) if not self.uring else (self.defer and not k.defer_lazy_wake)
        if self.tw is not None or w.sqthread_poll:  # blk end + queueing task work; the CQE is posted later
            self.end_ns = c.end_request_ns + c.io_uring_tw_add_ns
        else:  # blk end + aio_complete's event, or IOPOLL's CQE
            self.end_ns = c.end_request_ns + (c.io_uring_cqe_ns if self.uring else c.libaio_event_ns)
        # results: fio's thread_stat, from the end of the ramp
        self.read = DirResult()
        self.write = DirResult()
        self.depth_map = [0] * 7  # io_u_map: batches committed, by cur_depth
        self.submit_map = [0] * 7  # io_u_submit: submit calls, by their size
        self.complete_map = [0] * 7  # io_u_complete: reap calls, by how many they reaped
        self.total_submit = 0
        self.total_complete = 0
        self.ctx = 0  # voluntary context switches: the thread blocked
        self.completed = 0  # I/Os completed since the ramp (fio's io_blocks: number_ios)
        self.done_blocks = [0, 0]  # completed since the ramp, [write, read] (this_io_blocks)
        # fio's logs (stats/iologs.py; None: none, and nothing per I/O) and its rate samplers,
        # whose periods a bw/iops log sets (0: a per-I/O log, no sampling)
        self.logs = JobLogs.for_job(w, logs, index + 1, self.read, self.write)
        bw_ms, iops_ms = rate_intervals(w)
        self.samplers = tuple(RateSampler(self, ms, bandwidth=bw) for ms, bw in ((bw_ms, True), (iops_ms, False)) if ms)
        self.depth_area = 0.0  # integral of cur_depth over the window (Little's law)
        self._depth_t = 0.0
        self.reaped_all = 0  # every I/O reaped, ramp included (simulation speed)

    @staticmethod
    def _issue_limit(w) -> int:
        """I/Os after which issuing stops (fio's io_issue_bytes_exceeded: io_size, else size)."""
        limit = w.io_size or w.size
        return -(-limit // w.bs) if limit else 0

    def start(self) -> ThreadRunner:
        """Start the job's thread (at time 0); returns its runner."""
        self.runner = ThreadRunner(self.env, self.run())
        if self.ramp_over:
            for sampler in self.samplers:
                sampler.start(0.0)
        return self.runner

    def window_ns(self) -> float:
        """The measured window: from the end of the ramp to the end of the drain."""
        return self.finished_at - self.epoch

    def close_window(self) -> None:
        """Account in-flight time up to the end of the job."""
        t = self.finished_at
        if t > self._depth_t:
            self.depth_area += self.cur_depth * (t - self._depth_t)
            self._depth_t = t

    # ---- the ramp ------------------------------------------------------------
    def _end_ramp(self, t: float) -> None:
        """fio's ``ramp_time_over`` once the ramp has run out, at an accounting point at
        ``t``: ``reset_all_stats`` + ``reset_io_stats`` — every counter and histogram is
        cleared, CPU is booked from now, the epoch (and with it the runtime) starts now,
        and the runstate is RAMP until the next I/O is prepared."""
        self.ramp_over = True
        self.running = False
        self.epoch = t
        self.end = float(first_instant(t, self.timeout_us))
        self.read.reset()
        self.write.reset()
        self.depth_map = [0] * 7
        self.submit_map = [0] * 7
        self.complete_map = [0] * 7
        self.total_submit = self.total_complete = self.ctx = self.completed = 0
        self.done_blocks = [0, 0]
        self.depth_area = 0.0
        self._depth_t = t
        self.core.open_window(t)
        if self.iowq is not None:
            self.iowq.open_window(t)
        if self.sq is not None:
            self.sq.core.open_window(t)
        for sampler in self.samplers:
            sampler.start(t)

    # ---- the job thread ----------------------------------------------------
    def run(self) -> Generator[Event, None, None]:
        """fio's do_io loop: get an io_u, queue it, commit batches, reap per the rules;
        at the end, drain what is in flight."""
        core = self.core
        env = self.env
        streams = self.streams
        free = self.free
        queued = self.queued
        read_fraction = streams.read_fraction
        svc_buf = streams._buf  # service times drawn ahead, per direction
        io_costs = streams.io_costs
        mbuf = io_costs.buf  # the I/Os' cost multipliers, drawn ahead
        prep_ns = self.prep_ns
        busy = core.busy
        rd, wr = self.read, self.write
        limited = self.limit_ios or self.number_ios
        replay = self.replay
        core.woken()  # the thread runs from now on: interrupts preempt it
        while True:
            t = core.t if core.t > env.now else env.now  # core.local_now()
            if t >= self.end or (limited and self._issue_exceeded()):
                break  # runtime_exceeded (end is inf during the ramp), or the size's end
            if free:
                self.running = self.ramp_over  # td_set_runstate: RUNNING, or RAMP in the ramp
                io_u = free.pop()
                if replay is not None:  # read_iolog_get: the log's next I/O, after its delay
                    got = yield from replay.next_io(self)
                    if got is None:
                        free.append(io_u)
                        break  # the log is exhausted (td->done)
                    t = core.t if core.t > env.now else env.now
                io_u.m = m = mbuf.pop() if mbuf else io_costs.more()
                ns = prep_ns * m
                if t >= core.measure_from:  # (core.charge, inlined)
                    busy[L_FIO] += ns
                io_u.start = start = core.t = t + ns
                if replay is not None:  # the direction, file and size the log says
                    r, f, nbytes = got
                    io_u.is_read = r
                    io_u.file = f
                    io_u.queue = self.queues[f]
                    io_u.nbytes = nbytes
                    io_u.rq = self.drivers[f].rq_work(nbytes)
                    io_u.service_ns = streams.file_service_ns(f, r)
                else:
                    if read_fraction >= 1.0:
                        r = True
                    elif read_fraction <= 0.0:
                        r = False
                    else:
                        r = streams.is_read()
                    io_u.is_read = r
                    if self.nfiles > 1:
                        self._next_file(io_u)
                    else:
                        buf = svc_buf[r]
                        io_u.service_ns = buf.pop() if buf else streams.service_ns(r)
                (rd if r else wr).total_ios += 1  # td_io_queue counts it (total_io_u)
                # fio's cur_depth and the time integral behind Little's law
                if start > self._depth_t:
                    self.depth_area += self.cur_depth * (start - self._depth_t)
                    self._depth_t = start
                self.cur_depth += 1
                self.issued += 1
                queued.append(io_u)
                if len(queued) >= self.batch:
                    # td_io_commit: the batch is marked by depth, then committed
                    self.depth_map[depth_level_index(self.cur_depth)] += len(queued)
                    yield from self.commit()
            full = not free
            if full or self.polling:
                min_evts = self._reap_min(full)
                while True:
                    yield from self.getevents(min_evts)
                    if not (full and self.cur_depth > self.low):
                        break
            if self.thinktime_ns and self.issued % self.thinktime_blocks == 0:
                yield from self._think()
        # fio stops issuing, then drains: io_u_queued_complete(td, cur_depth) is one
        # getevents(min = cur_depth) that commits what is queued and reaps everything
        if self.cur_depth:
            yield from self.getevents(self.cur_depth)
        yield from core.sync()
        core.retire()
        if self.iowq is not None:
            self.iowq.retire()
        if self.sq is not None:
            self.sq.stop(core.local_now())
        self.finished_at = core.local_now()
        if self.logs is not None:
            self.logs.job_end(self.finished_at, self.epoch)

    def _next_file(self, io_u: IoU) -> None:
        """fio's get_next_file for a job with several files: the current file until
        file_service_nr I/Os went to it, then the next in turn (roundrobin, from the
        first) or one drawn at random; then the I/O's queue and its device's service."""
        if self.file_left:
            self.file_left -= 1
            f = self.file_cur
        else:
            if self.file_random:
                f = self.streams.file_index(self.nfiles)
            else:
                f = self.file_next
                self.file_next = (f + 1) % self.nfiles
            self.file_cur = f
            self.file_left = self.file_nr - 1
        io_u.file = f
        io_u.queue = self.queues[f]
        io_u.rq = self.works[f]
        io_u.service_ns = self.streams.file_service_ns(f, io_u.is_read)

    def _flush(self, label: int, labels) -> Generator[Event, None, None]:
        """Flush the plug (``blk_mq_flush_plug_list``) and empty it.  With requests for
        several devices (``multiple_queues``), ``blk_mq_dispatch_plug_list`` takes the
        first request's hardware queue and every request of that queue, in plug order,
        dispatches them with one doorbell, and repeats."""
        reqs = plug_order(self.plug, self.plug_fifo)
        while reqs:
            f = reqs[0].file
            if self.plug_multi:
                group = [r for r in reqs if r.file == f]
                reqs = [r for r in reqs if r.file != f]
            else:
                group, reqs = reqs, []
            yield from dispatch(self.core, self.drivers[f], self.devices[f], self.queues[f], group, label, labels,
                                self.lone)
        self.plug_multi = False
        self.plug.clear()

    def _issue_exceeded(self) -> bool:
        """fio's io_issue_bytes_exceeded for a job that is not time_based: size/io_size
        issued, or number_ios done or in flight (exceeds_number_ios)."""
        if self.limit_ios and self.issued >= self.limit_ios:
            return True
        return bool(self.number_ios) and self.completed + self.cur_depth >= self.number_ios

    def _reap_min(self, full: bool) -> int:
        """How many completions to wait for (backend.c wait_for_completions): the
        batch-complete minimum, capped at what is in flight, at least one when the
        queue is full or when reaping is not batched."""
        min_evts = self.cmin if self.cmin < self.cur_depth else self.cur_depth
        if (full and not min_evts) or not self.cmin:
            min_evts = 1
        return min_evts

    def _think(self) -> Generator[Event, None, None]:
        """thinktime: the thread stalls (off the CPU) every thinktime_blocks I/Os."""
        core = self.core
        yield from core.sync()
        core.sleep()
        self.ctx += 1
        yield Timeout(self.env, self.thinktime_ns)
        yield from core.wake()

    def commit(self) -> Generator[Event, None, None]:
        """io_uring_enter(to_submit=n) / io_submit(n): the whole batch in one syscall.

        Per request the syscall sets up the SQE/iocb, the bio and the blk-mq request
        with its tag (sleeping in ``blk_mq_get_tag`` when none is free), then adds the
        request to the task's plug when the batch has more than two (fs/aio.c
        ``AIO_PLUG_THRESHOLD``; io_uring's ``io_submit_state_start``), or issues it
        directly (``blk_mq_try_issue_directly``: nvme_queue_rq and a doorbell).  The
        plug is flushed (:func:`~.submit.dispatch`) before a request is added to a plug that
        holds ``BLK_MAX_REQUEST_COUNT`` requests, or whose last request is at least
        ``BLK_PLUG_FLUSH_SIZE`` (``blk_add_rq_to_plug``), and at ``blk_finish_plug``.
        The syscall returns after the last flush: one clock read stamps the batch."""
        if self.sq is not None:
            self._commit_sqpoll()
            return
        core = self.core
        env = self.env
        queued = self.queued
        plug = self.plug
        sub_label, per_req_ns = self.sub_label, self.per_req_ns
        busy = core.busy
        measure_from = core.measure_from
        jitter = core.jitter
        jbuf = jitter.buf  # the batch-level steps' cost multipliers
        t = core.t if core.t > env.now else env.now  # (core.charge, inlined)
        ns = self.syscall_ns * (jbuf.pop() if jbuf else jitter.more())
        if t >= measure_from:
            busy[sub_label] += ns
        core.t = t + ns
        queues = self.queues
        plugged = len(queued) > PLUG_THRESHOLD
        flush_at = 1 if self.bs >= BLK_PLUG_FLUSH_SIZE and self.replay is None else BLK_MAX_REQUEST_COUNT
        sized = self.replay is not None  # sizes vary: the plug's last request's decides (blk_add_rq_to_plug)
        iowq = self.iowq
        for io_u in queued:
            queue = queues[io_u.file]
            if queue.inflight >= queue.tags:
                if iowq is None:
                    yield from self._wait_for_tag(queue)
                else:
                    if not core.in_sync():  # are there still none at the thread's clock?
                        yield from core.sync()
                    if queue.inflight >= queue.tags:
                        self._punt(io_u)
                        continue
            queue.inflight += 1
            if iowq is not None:  # (it may have gone through a worker's queue last time)
                io_u.queue = queue
                io_u.poolset = self.poolset
            # SQE/iocb + bio + blk-mq request and tag (core.charge, inlined: per request)
            t = core.t if core.t > env.now else env.now
            if t >= measure_from:
                busy[sub_label] += per_req_ns * io_u.m
            core.t = t + per_req_ns * io_u.m
            if plugged:
                if self.nfiles > 1:  # blk_add_rq_to_plug with several devices (see _plug_full)
                    if plug and self._plug_full(flush_at):
                        yield from self._flush(self.queue_rq_label, self.alloc_labels)
                    if plug and plug[-1].file != io_u.file:
                        self.plug_multi = True
                    plug.append(io_u)
                    continue
                if len(plug) >= flush_at or (sized and plug and plug[-1].nbytes >= BLK_PLUG_FLUSH_SIZE):
                    yield from dispatch(core, self.driver, self.device, queue, plug_order(plug, self.plug_fifo),
                                        self.queue_rq_label, self.alloc_labels, self.lone)
                    plug.clear()
                plug.append(io_u)
            else:  # blk_mq_try_issue_directly
                plug.append(io_u)
                f = io_u.file
                yield from dispatch(core, self.drivers[f], self.devices[f], queue, plug, self.queue_rq_label,
                                    self.alloc_labels, self.lone)
                plug.clear()
        if plug:  # blk_finish_plug
            yield from self._flush(self.queue_rq_label, self.alloc_labels)
        if not core.in_sync():
            yield from core.sync()
        if self.reissue:
            self._reissue()
        if self.tw:
            # fio submits with GETEVENTS: DEFER_TASKRUN runs local work after submitting
            # (two passes of at most 20 from 6.13); else task work runs at syscall exit
            self._task_work(0)
            if self.defer and self.tw_cap and self.tw:
                self._task_work(0)
            if not core.in_sync():
                yield from core.sync()
        issue = core.t if core.t > env.now else env.now  # the syscall returns
        if self.replay is not None:
            self.replay.issued(issue)  # td->last_issue (fio_ioring_queued / fio_libaio_queued)
        # io_u_queued per io_u (slat; the first after the ramp ends it), then io_u_mark_submit
        if not self.ramp_over and issue >= self.ramp_end:
            self._end_ramp(issue)
        if self.ramp_over:
            one = self.one_dir
            if one >= 0 and len(queued) > 1:  # one direction: the batch at once
                for io_u in queued:
                    io_u.issue = issue
                (self.read if one else self.write).slat.add_many([issue - io_u.start for io_u in queued])
            else:
                rd, wr = self.read, self.write
                for io_u in queued:
                    io_u.issue = issue
                    (rd if io_u.is_read else wr).slat.add(issue - io_u.start)
            if self.logs is not None:
                self.logs.submitted(queued, issue, self.epoch)
        else:
            for io_u in queued:
                io_u.issue = issue
        self.submit_map[batch_map_index(len(queued))] += 1
        self.total_submit += 1
        queued.clear()

    def _plug_full(self, flush_at: int) -> bool:
        """blk_add_rq_to_plug for a job with several files: the (non-empty) plug is
        flushed before the next request is added when it is full -- twice
        BLK_MAX_REQUEST_COUNT once it holds requests for several devices
        (``blk_plug_max_rq_count``) -- or its last request is large; the caller then notes
        whether the request's device differs from the last one's (``multiple_queues``)."""
        plug = self.plug
        return len(plug) >= (2 * flush_at if self.plug_multi and flush_at > 1 else flush_at) or (
            self.replay is not None and plug[-1].nbytes >= BLK_PLUG_FLUSH_SIZE)

    def _commit_sqpoll(self) -> None:
        """SQPOLL's commit (``fio_ioring_commit``): the SQEs are in the ring, the SQ thread
        takes them; fio stamps the issue time (``fio_ioring_queued``) and, with
        sqthread_poll, records no slat (fio >= 3.34)."""
        core, queued = self.core, self.queued
        issue = core.local_now()
        if self.replay is not None:
            self.replay.issued(issue)  # td->last_issue
        if not self.ramp_over and issue >= self.ramp_end:
            self._end_ramp(issue)
        for io_u in queued:
            io_u.issue = issue
        self.sq.submit(queued, issue)
        self.submit_map[batch_map_index(len(queued))] += 1
        self.total_submit += 1
        queued.clear()

    def _spin_cq(self, min_evts: int) -> Generator[Event, None, None]:
        """SQPOLL: fio reaps the CQ ring in user space and spins until ``min_evts`` are
        there (fio_ioring_getevents never enters the kernel with an SQ thread)."""
        core, env = self.core, self.env
        if not core.in_sync():
            yield from core.sync()
        ring = self.ring
        while len(ring) < min_evts:
            self.wait_need = min_evts
            self.cq_waiter = ev = env.event()
            yield ev  # (the spinning is fio's CPU time: booked at the end, sim/model.py)
            core.t = env.now
            if not core.in_sync():
                yield from core.sync()

    def _punt(self, io_u: IoU) -> None:
        """No tag for a NOWAIT issue: the request is handed to io-wq (sim/iowq.py) --
        at once up to 6.13 (``io_queue_async``), when its completion task work runs from
        6.14 (d803d123948f).  The attempt costs what a request's set-up costs."""
        core = self.core
        core.charge_io(self.sub_label, self.per_req_ns * io_u.m)
        if self.reissue_late:
            self.reissue.append(io_u)
        else:
            core.charge_io(L_PUNT, self.punt_ns * io_u.m)
            self.iowq.enqueue(io_u, core.t)

    def _reissue(self) -> None:
        """6.14+: the task work of the requests that got -EAGAIN runs (inside
        io_uring_enter with DEFER_TASKRUN, on return to user mode otherwise) and hands
        each to io-wq (``__io_submit_flush_completions`` -> ``io_queue_iowq``)."""
        core = self.core
        label = L_PUNT if self.defer else L_PUNT_TW
        iowq = self.iowq
        for io_u in self.reissue:
            core.charge_io(label, self.punt_ns * io_u.m)
            iowq.enqueue(io_u, core.t)
        self.reissue.clear()

    def _wait_for_tag(self, queue: Queue) -> Generator[Event, None, None]:
        """blk_mq_get_tag with no free tag: the thread sleeps (``io_schedule``) until
        sbitmap's wake batch of tags is free again.  Going to sleep flushes the plug
        from ``schedule()`` (``blk_flush_plug(plug, true)``): the requests go to the
        hardware queue's software lists and kblockd's worker on this CPU dispatches them
        (``queue_rq`` per request, one doorbell) while the thread sleeps."""
        core = self.core
        while queue.inflight >= queue.tags:
            if self.plug:
                core.charge(L_KBLOCKD, self.wakeup_ns)  # the kworker is switched in, and out
                yield from self._flush(L_KBLOCKD_RQ, KBLOCKD_ALLOC)
            if queue.inflight < queue.tags:  # tags freed while it ran
                continue
            if not core.in_sync():
                yield from core.sync()
                if queue.inflight < queue.tags:
                    continue
            queue.tag_waiters.append(self.runner)
            core.sleep()
            self.ctx += 1
            yield SLEEP  # resumed by the completion that frees the wake batch's last tag
            if core.in_irq:
                yield from core.wake()
            else:
                core.woken()
            core.charge(self.sub_label, self.wakeup_ns)

    def getevents(self, min_evts: int) -> Generator[Event, None, None]:
        """td_io_getevents(min, max): commit pending io_us, then reap between min and max
        (io_u_mark_complete counts the call, then io_completed accounts each I/O).

        With too few completions in the ring, io_uring_enter(GETEVENTS, min) /
        io_getevents blocks in the kernel until enough are there (with hipri the thread
        spins in nvme_poll instead).  Who wakes it, and how often, is the kernel's rule:

        * libaio before 6.8: ``aio_complete`` wakes the waiter at every event; it copies
          out what is there and sleeps again (``read_events``); from 6.8 (71eb6b6b0ba9)
          only once ``min_nr`` are available;
        * io_uring with DEFER_TASKRUN: the enter first runs the pending task work
          (posting CQEs); the waiter is woken once enough is queued for ``min`` (6.4's
          lazy wake), at every completion on 6.2; each wake runs the task work again;
        * io_uring with COOP_TASKRUN or none: the first completion's task work wakes it
          (``TWA_SIGNAL[_NO_IPI]``), it runs the work, and sleeps again if short."""
        core = self.core
        if min_evts > 0 and self.queued:
            yield from self.commit()  # the engine's commit directly: no depth mark
        mx = self.cmax if self.cmax < self.cur_depth else self.cur_depth
        if min_evts > mx:
            mx = min_evts
        env = self.env
        busy = core.busy
        measure_from = core.measure_from
        jitter = core.jitter
        jbuf = jitter.buf  # the batch-level steps' cost multipliers
        t = core.t if core.t > env.now else env.now  # (core.charge, inlined)
        ns = self.reap_ns * (jbuf.pop() if jbuf else jitter.more())
        if t >= measure_from:
            busy[L_FIO] += ns
        t += ns
        if not self.uring:  # io_getevents is always a syscall
            ns = self.syscall_ns * (jbuf.pop() if jbuf else jitter.more())
            if t >= measure_from:
                busy[L_GETEVENTS] += ns
            t += ns
        core.t = t
        if not core.in_sync():  # look at the ring at the right instant
            yield from core.sync()
        if self.tw and not self.defer:
            self._task_work(0)  # it ran when the thread last returned to user mode
        ring = self.ring
        if self.sq is not None and len(ring) < min_evts:
            yield from self._spin_cq(min_evts)
        elif len(ring) < min_evts:  # too few: block in the kernel (inline: the common path at low depth)
            if self.uring:  # io_uring_enter(0, min, GETEVENTS) (core.charge, inlined)
                t = core.t if core.t > env.now else env.now
                ns = self.syscall_ns * (jbuf.pop() if jbuf else jitter.more())
                if t >= core.measure_from:
                    busy[L_URING] += ns
                core.t = t + ns
            if self.completion is not None:  # hipri: spin in nvme_poll instead
                yield from poll(self.completion, core, self.queue, ring, min_evts)
            else:
                if self.defer and self.tw:
                    self._task_work(min_evts)
                while len(ring) < min_evts:
                    self.wait_need = min_evts
                    self.sleeping = True
                    core.sleep()
                    self.ctx += 1
                    yield SLEEP  # resumed by the completion that meets the wake rule
                    if core.in_irq:  # woken by a handler still running: wait for it
                        yield from core.wake()
                    else:
                        core.woken()
                    t = core.t if core.t > env.now else env.now  # the switch back (core.charge, inlined)
                    ns = self.wakeup_ns * (jbuf.pop() if jbuf else jitter.more())
                    if t >= core.measure_from:
                        busy[self.wait_label] += ns
                    core.t = t + ns
                    if self.tw:
                        if not core.in_sync():
                            yield from core.sync()
                        self._task_work(min_evts)

        n = len(ring)
        if n > mx:
            n = mx
        reap = core.t if core.t > env.now else env.now  # one clock read for the whole reaped batch
        self.complete_map[batch_map_index(n)] += 1
        self.total_complete += 1
        if not self.ramp_over and reap >= self.ramp_end:
            self._end_ramp(reap)  # this reap is not accounted: the runstate is RAMP
        free = self.free
        nread = 0
        if self.running:  # should_account: the latency samples
            if self.logs is not None:  # fio's logs, before the io_us leave the ring
                self.logs.reaped(ring, n, reap, self.epoch)
            rd, wr = self.read, self.write
            one = self.one_dir
            if one >= 0 and n > 1:  # one direction: the batch at once, in reap order
                d = rd if one else wr
                done = [ring.popleft() for _ in range(n)]
                d.clat.add_many([reap - io_u.issue for io_u in done])
                d.lat.add_many([reap - io_u.start for io_u in done])
                free.extend(done)
                nread = n if one else 0
            else:
                for _ in range(n):
                    io_u = ring.popleft()
                    if io_u.is_read:
                        d = rd
                        nread += 1
                    else:
                        d = wr
                    d.clat.add(reap - io_u.issue)
                    d.lat.add(reap - io_u.start)
                    free.append(io_u)
        else:
            for _ in range(n):
                io_u = ring.popleft()
                nread += io_u.is_read
                free.append(io_u)
        done = self.done_blocks
        done[1] += nread
        done[0] += n - nread
        if self.ramp_over and self.replay is not None:  # (a replay's sizes vary)
            self._replay_bytes(n)
        elif self.ramp_over:  # td->io_bytes counts every completion after the ramp
            self.read.io_bytes += nread * self.bs
            self.write.io_bytes += (n - nread) * self.bs
        self.completed += n
        measure_from = core.measure_from  # (the reap may have ended the ramp)
        ns = n * self.complete_ns * (jbuf.pop() if jbuf else jitter.more())
        if reap >= measure_from:  # fio's io_completed, per io_u (core.charge, inlined)
            busy[L_FIO] += ns
        core.t = reap + ns
        if reap > self._depth_t:  # fio's cur_depth and Little's integral
            self.depth_area += self.cur_depth * (reap - self._depth_t)
            self._depth_t = reap
        self.cur_depth -= n
        self.reaped_all += n

    def _replay_bytes(self, n: int) -> None:
        """td->io_bytes of the ``n`` io_us just reaped (the last ``n`` put back on the free
        list) when their sizes come from a log."""
        rd = wr = 0
        for io_u in self.free[-n:] if n else ():
            if io_u.is_read:
                rd += io_u.nbytes
            else:
                wr += io_u.nbytes
        self.read.io_bytes += rd
        self.write.io_bytes += wr

    def _task_work(self, min_evts: int) -> None:
        """Run the queued completions' task work on the thread: post each CQE
        (``io_req_rw_complete``) into the ring.  Inside io_uring_enter with DEFER_TASKRUN
        (at most max(20, min) items a pass from 6.13: ``IO_LOCAL_TW_DEFAULT_MAX``), else
        ``tctx_task_work`` on return to user mode (all of it).  The caller is in sync."""
        core = self.core
        tw = self.tw
        cap = self.tw_cap
        n = len(tw)
        if cap and self.defer:
            limit = cap if cap > min_evts else min_evts
            if n > limit:
                n = limit
        env = self.env
        busy = core.busy
        run_label, item_label = (L_URING, L_TW_ENTER) if self.defer else (L_TCTX, L_TW_USER)
        t = core.t if core.t > env.now else env.now
        jitter = core.jitter
        ns = self.tw_run_ns * (jitter.buf.pop() if jitter.buf else jitter.more())
        measure = t >= core.measure_from
        if measure:
            busy[run_label] += ns
        t += ns
        cqe_ns = self.cqe_post_ns
        ring = self.ring
        for _ in range(n):
            io_u = tw.popleft()
            ns = cqe_ns * io_u.m
            if measure:
                busy[item_label] += ns
            t += ns
            ring.append(io_u)
        core.t = t

    # ---- called by the completion path --------------------------------------
    def kernel_complete(self, io_u: IoU, clock, label: int) -> None:
        """The request is done in the block layer (``blk_mq_end_request_batch`` ->
        bio end_io): libaio's ``aio_complete`` posts the event (IOPOLL's poller posts the
        CQE); io_uring's ``io_complete_rw`` queues task work that posts it in the task.
        Wakes fio if it waits and the kernel's wake rule says so (:meth:`getevents`)."""
        ns = self.end_ns * io_u.m
        now = self.env.now
        t = clock.t if clock.t > now else now  # (clock.charge, inlined)
        if t >= clock.measure_from:
            clock.busy[label] += ns
        clock.t = t + ns
        tw = self.tw
        if tw is None:
            if self.sq is not None:  # SQPOLL: the SQ thread runs the task work
                self.sq.tw.append(io_u)
                self.sq.poke_at(clock.t)
                return
            ring = self.ring
            ring.append(io_u)
            if self.sleeping and (self.wake_every or len(ring) >= self.wait_need):
                self.sleeping = False
                clock.to_wake.append(self.runner)  # (clock.wake_after, inlined: at depth 1, every I/O)
            return
        tw.append(io_u)
        if self.sleeping:
            if self.defer:
                wake = self.wake_every or len(tw) + len(self.ring) >= self.wait_need
            else:
                wake = True  # the first task work since it slept (TIF_NOTIFY_SIGNAL wakes it)
            if wake:
                self.sleeping = False
                clock.to_wake.append(self.runner)


class RateSampler:
    """fio's helper thread sampling one job's bandwidth or IOPS every ``avg_ms``
    (``stat.c: __add_samples``): over each interval with completions, the rate in KiB/s
    (``delta * 1000 / spent / 1024``) or in I/Os per second (``delta * 1000 / spent``),
    per direction, into ``bw_stat`` / ``iops_stat``.  It samples only after the ramp and
    while the job runs; the intervals start at the epoch."""

    __slots__ = ("job", "avg_ms", "bandwidth", "prev_t", "prev", "armed", "prev_bytes")

    def __init__(self, job: FioJob, avg_ms: int, bandwidth: bool) -> None:
        self.job = job
        self.avg_ms = avg_ms
        self.bandwidth = bandwidth
        self.prev_t = 0.0
        self.prev = [0, 0]
        self.prev_bytes = [0, 0]  # (a replay's sizes vary: its bandwidth counts io_bytes)
        self.armed = False

    def start(self, t: float) -> None:
        """(Re)start the intervals at the epoch ``t``."""
        self.prev_t = t
        self.prev = [0, 0]
        self.prev_bytes = [0, 0]
        if not self.armed:
            self.armed = True
            Timeout(self.job.env, self.avg_ms * 1e6).callbacks.append(self._tick)

    def _tick(self, _ev: Event) -> None:
        job = self.job
        self.armed = False
        if job.finished_at != float("inf"):
            return  # the job has ended: the helper thread no longer samples it
        now = job.env.now
        if job.running:
            spent = mtime_since(self.prev_t, now)
            if spent >= self.avg_ms or self.avg_ms - spent <= 1:  # LOG_MSEC_SLACK
                done = job.done_blocks
                for is_read, d in ((1, job.read), (0, job.write)):
                    delta = done[is_read] - self.prev[is_read]
                    if not delta:
                        continue
                    if self.bandwidth:
                        if job.replay is not None:  # a replay's sizes vary: the bytes moved
                            nbytes = d.io_bytes - self.prev_bytes[is_read]
                            self.prev_bytes[is_read] = d.io_bytes
                            rate = (nbytes * 1000 // spent) // 1024 if spent else 0
                        else:
                            rate = (delta * job.bs * 1000 // spent) // 1024 if spent else 0
                        d.bw_stat.add(rate)
                    else:
                        rate = delta * 1000 // spent if spent else 0
                        d.iops_stat.add(rate)
                    if job.logs is not None:
                        job.logs.rate(self.bandwidth, bool(is_read), rate, now, job.epoch)
                    self.prev[is_read] = done[is_read]
                self.prev_t = now
        self.armed = True
        Timeout(job.env, self.avg_ms * 1e6).callbacks.append(self._tick)
