"""The NVMe device: parallel units, an internal data path and the PCIe link.

A command is fetched ``fetch_ns`` after its doorbell, waits for one of
``parallel_units`` units (first come, first served), occupies it for its service
time (drawn by the submitting job from its own stream, so variants see common
random numbers; plus bytes / ``unit_gbps`` when a unit moves its own data), and moves its data through the device's internal path and the
PCIe link, each a first-come-first-served pipe of fixed bandwidth.  Reads move
data after service, writes before.  Then the CQE is posted on the command's
queue, which raises an MSI-X interrupt on the queue's core (or waits for a
poller).  IOPS therefore saturate at ``parallel_units / mean service`` or at
``bandwidth / bs``, whichever binds.
"""

from __future__ import annotations

from heapq import heappop, heappush, heapreplace

from ..config import DeviceConfig
from .engine import Engine


class Device:
    """One NVMe controller shared by every queue.

    A command in the device is scheduled as its own SimPy event: each io_u is a
    :class:`~nvmesim.sim.engine.ReusableEvent` (see :class:`~nvmesim.sim.fio.IoU`),
    pushed for its next stage with a callback list shared by all commands, so a
    command costs no event objects.
    """

    __slots__ = ("env", "units", "int_free", "link_free", "int_ns_per_b", "link_ns_per_b", "unit_ns_per_b", "fetch_ns", "wake_ns",
                 "commands", "_push", "_served")

    def __init__(self, env: Engine, cfg: DeviceConfig) -> None:
        self.env = env
        self.units = [0.0] * cfg.parallel_units  # heap of unit free times
        self.int_free = 0.0
        self.link_free = 0.0
        self.int_ns_per_b = 1.0 / cfg.internal_gbps  # GB/s = 1e9 B/s -> ns per byte
        self.link_ns_per_b = 1.0 / cfg.link_gbps
        self.unit_ns_per_b = 1.0 / cfg.unit_gbps if cfg.unit_gbps else 0.0  # the unit held while data moves
        self.fetch_ns = cfg.fetch_ns
        self.wake_ns = cfg.wake_ns
        self.commands = 0
        self._push = env.push
        self._served = [self._read_served]

    def submit(self, io_u, at: float) -> None:
        """Doorbell for one command at instant ``at`` (calls come in time order)."""
        arrive = at + self.fetch_ns
        if self.wake_ns:
            queue = io_u.queue
            if not queue.service_bounds and not queue.post_times:  # the controller sleeps: woken first
                arrive += self.wake_ns
        units = self.units
        self.commands += 1
        if io_u.is_read:
            # first come, first served on the earliest free unit
            start = units[0]
            if start < arrive:
                start = arrive
            nbytes = io_u.nbytes
            end = start + io_u.service_ns + nbytes * self.unit_ns_per_b
            heapreplace(units, end)
            io_u.callbacks = self._served
            # the CQE comes after both pipes at the earliest: the same additions as
            # _read_served with idle pipes, so the bound is never above the post
            heappush(io_u.queue.service_bounds,
                     (end + nbytes * self.int_ns_per_b) + nbytes * self.link_ns_per_b)
        else:
            # a write's data is pulled over the link and into the device first
            nbytes = io_u.nbytes
            t = (self.link_free if self.link_free > arrive else arrive) + nbytes * self.link_ns_per_b
            self.link_free = t
            t = (self.int_free if self.int_free > t else t) + nbytes * self.int_ns_per_b
            self.int_free = t
            start = units[0]
            if start < t:
                start = t
            end = start + io_u.service_ns + nbytes * self.unit_ns_per_b
            heapreplace(units, end)
            io_u.callbacks = io_u.queue.on_cqe  # the CQE lands on the submitting job's queue
            heappush(io_u.queue.post_times, end)
        self._push(end, io_u)

    def _read_served(self, io_u) -> None:
        """A read's data leaves the media now: internal path, then the link, then the CQE."""
        nbytes = io_u.nbytes
        now = self.env.now
        t = (self.int_free if self.int_free > now else now) + nbytes * self.int_ns_per_b
        self.int_free = t
        t = (self.link_free if self.link_free > t else t) + nbytes * self.link_ns_per_b
        self.link_free = t
        io_u.callbacks = io_u.queue.on_cqe
        self._push(t, io_u)
        queue = io_u.queue
        bound = heappop(queue.service_bounds)
        assert bound <= t, f"service bound {bound} above the post time {t} (see Queue)"
        heappush(queue.post_times, t)
        if queue.thread_waiting:  # this post time was only bounded until now
            queue.arm_thread_wake()
