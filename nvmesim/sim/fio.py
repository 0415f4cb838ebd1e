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
from ..stats.records import L_FIO, L_GETEVENTS, L_URING, DirResult, submit_labels
from .completion import CompletionPath, poll
from .cpu import Core
from .device import Device
from .driver import Driver
from .engine import SLEEP, Engine, Event, ReusableEvent, ThreadRunner, Timeout
from .noise import Multipliers
from .queue import Queue

_DRAW_BLOCK = 4096  # random numbers drawn per numpy call


class IoU(ReusableEvent):
    """One of a job's ``iodepth`` preallocated I/O units (fio's struct io_u).

    It is also the event of its command's next stage in the device, reused for every
    stage and every I/O (the device sets ``callbacks`` and pushes it).
    """

    __slots__ = ("job", "is_read", "nbytes", "start", "issue", "service_ns", "handles", "poolset", "queue", "m")

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


class Streams:
    """A job's random sources, each its own numpy Generator (common random numbers:
    the k-th read of job j gets the same service time under every variant)."""

    def __init__(self, cfg: Config, seeds: list[np.random.SeedSequence], scale: float = 1.0) -> None:
        self._rw = np.random.default_rng(seeds[0])
        self._svc = {True: np.random.default_rng(seeds[1]), False: np.random.default_rng(seeds[2])}
        self._dist = {True: cfg.device.read, False: cfg.device.write}
        self._buf: dict[bool, list[float]] = {True: [], False: []}
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
                 poolset: int) -> None:
        w = cfg.workload
        c = cfg.host.costs
        self.env = env
        self.index = index
        self.core = core
        self.queue = queue
        self.driver = driver
        self.device = device
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
        self.ring: deque[IoU] = deque()  # completed by the kernel, not yet reaped by fio
        self.cur_depth = 0  # queued or in flight (fio's cur_depth)
        self.issued = 0  # since the job started (fio's io_issue_bytes / bs: the ramp counts)
        self.lone = lone
        self.runner: ThreadRunner | None = None  # set by start()
        self.sleeping = False  # blocked in the kernel until wait_need events are in the ring
        self.tag_wait = False  # blocked in blk_mq_get_tag until a request completes
        self.wait_need = 0
        # the end rules (times as fio checks them: in µs since the epoch)
        self.timeout_us = int(round(w.runtime * 1e6))
        self.ramp_us = int(round(w.ramp_time * 1e6))
        self.limit_ios = 0 if w.time_based else self._issue_limit(w)
        self.number_ios = 0 if w.time_based else w.number_ios
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
        self.end_ns = driver.end_ns
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
        self.samplers = (RateSampler(self, w.bw_avg_time, bandwidth=True),
                         RateSampler(self, w.iops_avg_time, bandwidth=False))
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
        core.woken()  # the thread runs from now on: interrupts preempt it
        while True:
            t = core.t if core.t > env.now else env.now  # core.local_now()
            if t >= self.end or (limited and self._issue_exceeded()):
                break  # runtime_exceeded (end is inf during the ramp), or the size's end
            if free:
                self.running = self.ramp_over  # td_set_runstate: RUNNING, or RAMP in the ramp
                io_u = free.pop()
                io_u.m = m = mbuf.pop() if mbuf else io_costs.more()
                ns = prep_ns * m
                if t >= core.measure_from:  # (core.charge, inlined)
                    busy[L_FIO] += ns
                io_u.start = start = core.t = t + ns
                if read_fraction >= 1.0:
                    r = True
                elif read_fraction <= 0.0:
                    r = False
                else:
                    r = streams.is_read()
                io_u.is_read = r
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
        self.finished_at = core.local_now()

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
        """io_uring_enter(to_submit=n) / io_submit(n): the whole batch in one syscall."""
        core = self.core
        env = self.env
        queued = self.queued
        driver = self.driver
        lists = driver.plan.lists
        sub_label, per_req_ns, queue_rq_ns = self.sub_label, self.per_req_ns, driver.queue_rq_ns
        rq_label, alloc_labels = self.queue_rq_label, self.alloc_labels
        busy = core.busy
        measure_from = core.measure_from
        jitter = core.jitter
        jbuf = jitter.buf  # the batch-level steps' cost multipliers
        t = core.t if core.t > env.now else env.now  # (core.charge, inlined)
        ns = self.syscall_ns * (jbuf.pop() if jbuf else jitter.more())
        if t >= measure_from:
            busy[sub_label] += ns
        core.t = t + ns
        queue = self.queue
        lone = self.lone
        sent = 0  # requests of the batch already handed to the device
        for i, io_u in enumerate(queued):
            if queue.inflight >= queue.tags:
                sent = yield from self._wait_for_tag(i, sent)
            queue.inflight += 1
            # SQE/iocb + block layer, then nvme_queue_rq: command, DMA map, PRP/SGL
            # build (Core.charge twice, inlined: this runs once per request)
            t = core.t if core.t > env.now else env.now
            m = io_u.m
            if t >= measure_from:
                busy[sub_label] += per_req_ns * m
                busy[rq_label] += queue_rq_ns * m
            core.t = t + per_req_ns * m + queue_rq_ns * m
            for _ in range(lists):
                # ask for the pool lock at the right instant: at once if nothing can
                # come before the thread's clock, or if only this core's interrupts
                # could and none can
                if not core.in_sync() and not (lone and not core.in_irq and queue.no_irq_before(core.t)):
                    yield from self._catch_up()
                driver.alloc_list(core, io_u, alloc_labels)
        t = core.t if core.t > env.now else env.now  # one doorbell for the batch (core.charge, inlined)
        ns = driver.doorbell_ns * (jbuf.pop() if jbuf else jitter.more())
        if t >= measure_from:
            busy[rq_label] += ns
        core.t = t + ns
        if not core.in_sync():
            yield from core.sync()
        issue = core.t if core.t > env.now else env.now  # the doorbell, then the syscall returns
        submit = self.device.submit
        for io_u in (queued[sent:] if sent else queued):
            submit(io_u, issue)
        # io_u_queued per io_u (slat; the first after the ramp ends it), then io_u_mark_submit
        if not self.ramp_over and issue >= self.ramp_end:
            self._end_ramp(issue)
        if self.ramp_over:
            rd, wr = self.read, self.write
            for io_u in queued:
                io_u.issue = issue
                (rd if io_u.is_read else wr).slat.add(issue - io_u.start)
        else:
            for io_u in queued:
                io_u.issue = issue
        self.submit_map[batch_map_index(len(queued))] += 1
        self.total_submit += 1
        queued.clear()

    def _wait_for_tag(self, i: int, sent: int) -> Generator[Event, None, int]:
        """blk_mq_get_tag with no free tag: the thread sleeps until enough tags are free
        again (sbitmap's wake batch).  Going to sleep flushes the plug, so the requests
        of the batch set up so far (``queued[sent:i]``) reach the device first, with one
        doorbell.  Returns how many requests of the batch have been sent."""
        core, queue, queued = self.core, self.queue, self.queued
        while queue.inflight >= queue.tags:
            core.charge(self.queue_rq_label, self.driver.doorbell_ns)
            if not core.in_sync():
                yield from core.sync()
            t = core.local_now()
            for r in queued[sent:i]:
                self.device.submit(r, t)
            sent = i
            if queue.inflight < queue.tags:  # tags freed while time caught up
                continue
            self.tag_wait = True
            core.sleep()
            self.ctx += 1
            yield SLEEP  # resumed by the interrupt handler that frees a tag
            if core.in_irq:
                yield from core.wake()
            else:
                core.woken()
            core.charge(self.sub_label, self.wakeup_ns)
        return sent

    def _catch_up(self) -> Generator[Event, None, None]:
        """Let simulated time reach the thread's clock (stretched by the interrupts that
        come first) before it asks for a pool lock."""
        core = self.core
        if self.lone and not core.in_irq:
            # only this core's interrupts can come first: one exactly armed wake
            self.queue.await_thread_clock()
            yield SLEEP  # resumed at core.t, after any interrupts that came first
            return
        env = self.env
        while core.in_irq or env.now < core.t:  # (Core.sync without its bookkeeping)
            if core.in_irq:
                yield from core.sync()
            else:
                yield Timeout(env, core.t - env.now)

    def getevents(self, min_evts: int) -> Generator[Event, None, None]:
        """td_io_getevents(min, max): commit pending io_us, then reap between min and max
        (io_u_mark_complete counts the call, then io_completed accounts each I/O)."""
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
        ring = self.ring
        if len(ring) < min_evts:
            # too few completions: io_uring_enter(GETEVENTS) / io_getevents blocks in the
            # kernel until the completion path has posted enough, and is woken once, by
            # the handler that posts the last one (inline: at low depth, every reap);
            # with hipri the thread spins in nvme_poll instead
            if self.uring:  # io_uring_enter(GETEVENTS) (core.charge, inlined)
                t = core.t if core.t > env.now else env.now
                ns = self.syscall_ns * (jbuf.pop() if jbuf else jitter.more())
                if t >= measure_from:
                    busy[L_URING] += ns
                core.t = t + ns
            if self.completion is not None:
                yield from poll(self.completion, core, self.queue, ring, min_evts)
            else:
                self.wait_need = min_evts
                self.sleeping = True
                core.sleep()
                self.ctx += 1
                yield SLEEP  # resumed by the interrupt handler that posts the last one
                if core.in_irq:  # woken by a handler still running: wait for it
                    yield from core.wake()
                else:
                    core.woken()
                t = core.t if core.t > env.now else env.now  # the switch back (core.charge, inlined)
                ns = self.wakeup_ns * (jbuf.pop() if jbuf else jitter.more())
                if t >= measure_from:
                    busy[self.wait_label] += ns
                core.t = t + ns
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
            rd, wr = self.read, self.write
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
        if self.ramp_over:  # td->io_bytes counts every completion after the ramp
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

    # ---- called by the completion path --------------------------------------
    def kernel_complete(self, io_u: IoU, clock, label: int) -> None:
        """The request is done in the kernel: post its CQE / io_event, free its tag,
        wake fio if it waits for this one."""
        ns = self.end_ns * io_u.m
        now = self.env.now
        t = clock.t if clock.t > now else now  # (clock.charge, inlined)
        if t >= clock.measure_from:
            clock.busy[label] += ns
        clock.t = t + ns
        self.ring.append(io_u)
        queue = self.queue
        queue.inflight -= 1  # the request's tag is free again
        if self.tag_wait and queue.tags - queue.inflight >= queue.wake_batch:
            self.tag_wait = False
            clock.wake_after(self.runner)
        if self.sleeping and len(self.ring) >= self.wait_need:
            self.sleeping = False
            clock.to_wake.append(self.runner)  # (clock.wake_after, inlined: at depth 1, every I/O)


class RateSampler:
    """fio's helper thread sampling one job's bandwidth or IOPS every ``avg_ms``
    (``stat.c: __add_samples``): over each interval with completions, the rate in KiB/s
    (``delta * 1000 / spent / 1024``) or in I/Os per second (``delta * 1000 / spent``),
    per direction, into ``bw_stat`` / ``iops_stat``.  It samples only after the ramp and
    while the job runs; the intervals start at the epoch."""

    __slots__ = ("job", "avg_ms", "bandwidth", "prev_t", "prev", "armed")

    def __init__(self, job: FioJob, avg_ms: int, bandwidth: bool) -> None:
        self.job = job
        self.avg_ms = avg_ms
        self.bandwidth = bandwidth
        self.prev_t = 0.0
        self.prev = [0, 0]
        self.armed = False

    def start(self, t: float) -> None:
        """(Re)start the intervals at the epoch ``t``."""
        self.prev_t = t
        self.prev = [0, 0]
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
                        d.bw_stat.add((delta * job.bs * 1000 // spent) // 1024 if spent else 0)
                    else:
                        d.iops_stat.add(delta * 1000 // spent if spent else 0)
                    self.prev[is_read] = done[is_read]
                self.prev_t = now
        self.armed = True
        Timeout(job.env, self.avg_ms * 1e6).callbacks.append(self._tick)
