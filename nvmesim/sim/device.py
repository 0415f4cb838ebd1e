"""The NVMe device: parallel units, an internal data path and the PCIe link.

A command is fetched ``fetch_ns`` after its doorbell, waits for one of
``parallel_units`` units (first come, first served), occupies it for its service
time (drawn by the submitting job from its own stream, so variants see common
random numbers), and moves its data through the device's internal path and the
PCIe link, each a first-come-first-served pipe of fixed bandwidth.  Reads move
data after service, writes before.  Then the CQE is posted on the command's
queue, which raises an MSI-X interrupt on the queue's core (or waits for a
poller).  IOPS therefore saturate at ``parallel_units / mean service`` or at
``bandwidth / bs``, whichever binds.
"""

from __future__ import annotations

import heapq
import simpy
from simpy.events import Timeout  # direct: env.timeout() adds a bound-method hop per call

from ..config import Device as DeviceConfig


class Device:
    """One NVMe controller shared by every queue."""

    __slots__ = ("env", "units", "int_free", "link_free", "int_ns_per_b", "link_ns_per_b", "fetch_ns",
                 "commands")

    def __init__(self, env: simpy.Environment, cfg: DeviceConfig) -> None:
        self.env = env
        self.units = [0.0] * cfg.parallel_units  # heap of unit free times
        self.int_free = 0.0
        self.link_free = 0.0
        self.int_ns_per_b = 1.0 / cfg.internal_gbps  # GB/s = 1e9 B/s -> ns per byte
        self.link_ns_per_b = 1.0 / cfg.link_gbps
        self.fetch_ns = cfg.fetch_ns
        self.commands = 0

    def submit(self, io_u, at: float) -> None:
        """Doorbell for one command at instant ``at`` (calls come in time order)."""
        env = self.env
        now = env._now
        arrive = at + self.fetch_ns
        nbytes = io_u.nbytes
        self.commands += 1
        if io_u.is_read:
            end = self._unit(arrive, io_u.service_ns)
            ev = Timeout(env, end - now, io_u)
            ev.callbacks.append(self._read_served)
        else:
            # a write's data is pulled over the link and into the device first
            t = self._pipe_link(arrive, nbytes)
            t = self._pipe_internal(t, nbytes)
            end = self._unit(t, io_u.service_ns)
            ev = Timeout(env, end - now, io_u)
            ev.callbacks.append(self._done)

    def _unit(self, ready: float, service_ns: float) -> float:
        """First come, first served on the earliest free unit; returns the service end."""
        start = heapq.heappop(self.units)
        if start < ready:
            start = ready
        end = start + service_ns
        heapq.heappush(self.units, end)
        return end

    def _pipe_internal(self, ready: float, nbytes: int) -> float:
        t = (self.int_free if self.int_free > ready else ready) + nbytes * self.int_ns_per_b
        self.int_free = t
        return t

    def _pipe_link(self, ready: float, nbytes: int) -> float:
        t = (self.link_free if self.link_free > ready else ready) + nbytes * self.link_ns_per_b
        self.link_free = t
        return t

    def _read_served(self, ev: simpy.Event) -> None:
        """A read's data leaves the media now: internal path, then the link, then the CQE."""
        io_u = ev._value
        now = self.env._now
        t = self._pipe_link(self._pipe_internal(now, io_u.nbytes), io_u.nbytes)
        done = Timeout(self.env, t - now, io_u)
        done.callbacks.append(self._done)

    def _done(self, ev: simpy.Event) -> None:
        io_u = ev._value
        io_u.job.queue.post(io_u)  # the CQE lands on the submitting job's queue
