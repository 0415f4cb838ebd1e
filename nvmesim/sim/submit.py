"""Dispatch to the device: the driver's side of a submission, from any submitting context
(the fio thread's syscall, kblockd, an io-wq worker)."""

from __future__ import annotations

from typing import Generator

from ..stats.records import PoolLabels, sq_lock_labels
from .cpu import Core
from .engine import SLEEP, Event
from .queue import Queue

#: a batch of more than this many requests is plugged (fs/aio.c AIO_PLUG_THRESHOLD;
#: io_uring's io_submit_state_start: need_plug = max_ios > 2)
PLUG_THRESHOLD = 2
BLK_MAX_REQUEST_COUNT = 32  # block/blk.h: a plug holds at most this many (one request queue)
BLK_PLUG_FLUSH_SIZE = 128 * 1024  # block/blk.h: a request this large flushes the plug at the next add


def plug_order(plug: list, fifo: bool) -> list:
    """The plugged requests in the order a flush sends them: before 6.13 the plug list
    is LIFO, so the SQEs go out in reverse (``blk_add_rq_to_plug``)."""
    return plug if fifo or len(plug) == 1 else plug[::-1]


def dispatch(core: Core, driver, device, queue: Queue, reqs: list, rq_label: int, alloc_labels: PoolLabels,
             lone: bool) -> Generator[Event, None, None]:
    """Send ``reqs`` (in that order) to the device on ``queue``: ``nvme_queue_rqs`` (a
    plug flush) or ``nvme_queue_rq`` per request (direct issue, kblockd, io-wq), each
    prepared by ``nvme_prep_rq`` -- the data's DMA mapping and its PRP/SGL list block
    from the pool, under the pool's lock -- then one SQ doorbell for the run, at which
    the device sees them.  ``lone``: see ``FioJob``."""
    env = core.env
    sq_lock = queue.sq_lock
    # a shared queue's SQE copies are done under its SQ lock, just before the doorbell
    copy_ns = driver.sqe_copy_ns if sq_lock is not None else 0.0
    busy = core.busy
    measure_from = core.measure_from
    for io_u in reqs:
        rq = io_u.rq  # the driver's work for the request's size (driver.RqWork)
        t = core.t if core.t > env.now else env.now  # (core.charge, inlined)
        ns = (rq.queue_rq_ns - copy_ns) * io_u.m
        if t >= measure_from:
            busy[rq_label] += ns
        core.t = t + ns
        for _ in range(rq.lists):
            # ask for the pool lock at the right instant: at once if nothing can come
            # before the thread's clock, or if only this core's interrupts could and none can
            if not core.in_sync():
                if lone or core.in_irq:
                    if not (lone and not core.in_irq and queue.no_irq_before(core.t)):
                        yield from catch_up(core, queue, lone)
                elif env.now < core.t:  # (catch_up's common case, inline: one timeout)
                    yield core.t - env.now
                    if core.in_irq or env.now < core.t:  # an interrupt came first
                        yield from catch_up(core, queue, lone)
            driver.alloc_list(core, io_u, alloc_labels)
    if not core.in_sync():
        yield from core.sync()
    # the doorbell: the device sees the new tail as the MMIO write is issued (a posted
    # write; in a guest, the exit that traps it), and the CPU pays for the write after
    jitter = core.jitter
    jbuf = jitter.buf
    t = core.t if core.t > env.now else env.now
    if driver.shadow_doorbell and (queue.service_bounds or queue.post_times):
        ns = 0.0  # the device is busy with this queue: it reads the shadow tail itself
    else:
        ns = driver.doorbell_ns * (jbuf.pop() if jbuf else jitter.more())
    if sq_lock is not None:
        t = _sq_locked(core, sq_lock, t, reqs, copy_ns, ns, rq_label)
    submit = device.submit
    for io_u in reqs:
        submit(io_u, t)
    if t >= core.measure_from:  # (core.charge, inlined)
        busy[rq_label] += ns
    core.t = t + ns


def _sq_locked(core: Core, lock, t: float, reqs: list, copy_ns: float, doorbell_ns: float, rq_label: int) -> float:
    """A queue shared by several CPUs: ``nvme_submit_cmds`` (or ``nvme_queue_rq``) takes
    ``nvmeq->sq_lock``, copies each SQE into the ring and rings the doorbell under it.
    Takes the lock at ``t`` (the caller is in sync), books the spinning and the lock
    line's hand-off, charges the copies, and returns when the doorbell write starts."""
    copies = 0.0
    for io_u in reqs:
        copies += copy_ns * io_u.m
    wait = lock.take(t, core, copies + doorbell_ns)
    if t >= core.measure_from:
        held, spin = sq_lock_labels(rq_label)
        busy = core.busy
        busy[spin] += lock.last_spin
        busy[held] += lock.last_handoff
        busy[rq_label] += copies
    return t + wait + copies


def catch_up(core: Core, queue: Queue, lone: bool) -> Generator[Event, None, None]:
    """Let simulated time reach the thread's clock (stretched by the interrupts that
    come first) before it asks for a pool lock."""
    if lone and not core.in_irq:
        # only this core's interrupts can come first: one exactly armed wake
        queue.await_thread_clock()
        yield SLEEP  # resumed at core.t, after any interrupts that came first
        return
    env = core.env
    while core.in_irq or env.now < core.t:  # (Core.sync without its bookkeeping)
        if core.in_irq:
            yield from core.sync()
        else:
            yield core.t - env.now  # (a Timeout of that delay: see ThreadRunner)
