"""The Python API the CLI and notebooks share: load a config, run it, get results.

    >>> from nvmesim.api import load, run
    >>> cfg = load("configs/qd1.yaml", {"workload.runtime": 0.05})
    >>> result = run(cfg)
    >>> result.fio_json("stack")["jobs"][0]["read"]["iops"]   # doctest: +SKIP

A run simulates every allocator variant of ``cfg.allocator.variants`` for
``cfg.sim.replications`` replications; replication ``r`` of every variant uses
the same random streams (common random numbers).  A replication that fails is
recorded with its error instead of aborting the others.  ``run(cfg, workers=N)`` runs
the replications on N processes (default: the machine's cores; 1: in this process, one
after the other), with the same result whatever N.

Layer: the top; may import every other layer.
"""

from __future__ import annotations

from .config import Config, ConfigError, load
from .experiments.runner import run
from .output.result import RunResult
from .sim.model import run_replication
from .stats.records import ReplicationResult

__all__ = ["Config", "ConfigError", "ReplicationResult", "RunResult", "load", "run", "run_replication"]
