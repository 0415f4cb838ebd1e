"""Resource guards: what a run or a sweep would cost, estimated before anything runs.

A config can ask for more than the machine has — ``iodepth=1e9`` (about 270 GB of
in-flight I/O state), ``numjobs=1e5``, ``replications=1e6``, a 10⁶-point grid — and a
run that would take days or exhaust memory should be refused with a message that says
why and how to proceed (``--force``), not started.  The estimates are deliberately
simple upper bounds from stated constants:

* memory: :data:`BYTES_PER_SLOT` per I/O slot (``iodepth`` of every job) on top of
  :data:`BASE_BYTES`; replications run one after another, so a run's peak is one
  replication's;
* simulated work: the I/Os the run can complete at most — its time (``ramp_time +
  runtime`` of every replication of every variant) at the highest rate the devices allow
  (each device: ``parallel_units`` commands per mean service time, and no more than its
  link moves at ``bs``; no more than the jobs' total depth per mean service time);
* a sweep: its points (the grid's product before expanding it) and its replications.

The limits are the defaults of :class:`Limits`; ``force`` skips every check.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..config import Config, ConfigError

#: Python heap per in-flight I/O slot: measured with tracemalloc on the 16k randread job
#: (iodepth 10,000 -> 50,000: +273 B per slot; 2026-12-03), rounded up
BYTES_PER_SLOT = 300
#: a replication's fixed heap (measured ~1.3 MB at iodepth 1,000), rounded up
BASE_BYTES = 4 << 20
#: heap per job (thread): its random-draw blocks, records and histograms; measured with
#: tracemalloc at iodepth 1: 555 KB per job for 256 and 1,024 jobs (2026-12-03), rounded up
BYTES_PER_JOB = 600_000
#: the microbenchmark's heap per block (measured 127-172 B for one round, legacy and
#: stack; the steady-state snapshots hold up to one more copy), rounded up
BYTES_PER_BLOCK = 400


def physical_memory() -> int:
    """This machine's RAM in bytes (0 if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class Limits:
    """What a run may ask for without ``--force``."""

    #: peak memory of one replication (default: half of this machine's RAM, or 8 GiB)
    memory_bytes: int = 0
    #: simulated I/Os of the whole run (all variants and replications): ~45 minutes at the
    #: ~38,000 simulated I/Os per second one core gave configs/highdepth.yaml (2.97 M I/Os
    #: in 77.6 s, 2026-12-03)
    ios: float = 1e8
    #: points of a sweep
    points: int = 10_000
    #: replications of a sweep (points x variants x replications)
    sweep_replications: int = 100_000

    def memory(self) -> int:
        return self.memory_bytes or (physical_memory() // 2) or (8 << 30)


def _size(n: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def run_memory(cfg: Config) -> int:
    """Estimated peak heap of one replication."""
    return (BASE_BYTES + BYTES_PER_JOB * cfg.numjobs
            + BYTES_PER_SLOT * sum(job.iodepth * job.numjobs for _, job in cfg.sections()))


def run_ios(cfg: Config, variants: int | None = None) -> float:
    """Upper bound on the I/Os a run completes (every variant and replication)."""
    depth = sum(job.iodepth * job.numjobs for _, job in cfg.sections())
    seconds = max(job.ramp_time + job.runtime for _, job in cfg.sections())
    bs = min(job.bs for _, job in cfg.sections())
    rate = 0.0
    for dev in cfg.device_list():
        mean_s = max(min(dev.read.mean_us or 1.0, dev.write.mean_us or 1.0), 1e-3) * 1e-6
        link = min(dev.link_gbps, dev.internal_gbps) * 1e9 / max(bs, 1)
        rate += min(dev.parallel_units / mean_s, link)
    # Little's law: no more completions per second than I/Os in flight per mean service time
    quickest = min(min(d.read.mean_us or 1.0, d.write.mean_us or 1.0) for d in cfg.device_list()) * 1e-6
    rate = min(rate, depth / max(quickest, 1e-9))
    n = variants if variants is not None else len(cfg.allocator.variants)
    return rate * seconds * cfg.sim.replications * n


def check_run(cfg: Config, variants: int | None = None, limits: Limits = Limits(), *,
              where: str = "config") -> None:
    """A :class:`ConfigError` if one replication would need more memory, or the run more
    simulated I/Os, than ``limits`` allow; the message gives the estimate, what drives
    it, and ``--force``."""
    problems = []
    mem = run_memory(cfg)
    if mem > limits.memory():
        slots = sum(job.iodepth * job.numjobs for _, job in cfg.sections())
        problems.append(f"{where}: the run needs about {_size(mem)} of memory ({cfg.numjobs:,} jobs at "
                        f"~{BYTES_PER_JOB // 1000} KB and {slots:,} in-flight I/O slots, iodepth x numjobs, at "
                        f"~{BYTES_PER_SLOT} B each), more than the {_size(limits.memory())} "
                        f"allowed (half this machine's RAM); lower iodepth or numjobs, or pass --force")
    ios = run_ios(cfg, variants)
    if ios > limits.ios:
        problems.append(f"{where}: the run may simulate up to {ios:.3g} I/Os (runtime x the devices' top rate x "
                        f"replications x variants), more than {limits.ios:.3g} (~45 minutes); shorten "
                        f"workload.runtime or sim.replications, or pass --force")
    if problems:
        raise ConfigError(problems)


def check_sweep(points: int, replications: int, limits: Limits = Limits(), *, where: str = "sweep") -> None:
    """A :class:`ConfigError` for a sweep with more points or replications than ``limits``."""
    problems = []
    if points > limits.points:
        problems.append(f"{where}: {points:,} points (the grid's product x the zip's length), more than "
                        f"{limits.points:,}; split the sweep or pass --force")
    if replications > limits.sweep_replications:
        problems.append(f"{where}: {replications:,} replications (points x variants x replications), more than "
                        f"{limits.sweep_replications:,}; pass --force to run them")
    if problems:
        raise ConfigError(problems)


def check_blocks(blocks: int, limits: Limits = Limits()) -> None:
    """A :class:`ConfigError` for a ``dmapool-test --blocks`` whose pool would not fit (one
    case runs at a time; the model keeps no block bytes, only their bookkeeping)."""
    need = BYTES_PER_BLOCK * blocks
    if need > limits.memory():
        raise ConfigError([f"--blocks: {blocks:,} blocks need about {_size(need)} of memory, more than the "
                           f"{_size(limits.memory())} allowed (half this machine's RAM); pass --force"])


def grid_points(lengths: list[int], zip_length: int | None) -> int:
    """Points of a sweep from its axes' lengths, without expanding it."""
    return math.prod(lengths) * (zip_length if zip_length is not None else 1)
