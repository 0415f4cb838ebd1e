"""Running a config: every allocator variant for ``sim.replications`` replications.

Replication ``r`` of every variant uses the same random streams (common random
numbers).  A replication that fails is recorded with its error instead of aborting the
others (desmod's rule: a failed run is a result).  fio's logs, if the workload asks for
them, come from replication 0 of each variant (stats/iologs.py).
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Callable

from ..config import Config
from ..output.result import RunResult
from ..sim.model import run_replication
from ..stats.iologs import log_plans

Progress = Callable[[str, int, int, float], None]  # (variant, replication, replications, fraction)


def run(cfg: Config, progress: Progress | bool | None = None, variants: list[str] | None = None, *,
        log_dir: str | os.PathLike | None = ".") -> RunResult:
    """Simulate every variant (or the named ones) for ``cfg.sim.replications`` replications.

    ``progress=True`` shows a progress bar (on stderr, or live in a notebook); a callable
    is called ``(variant, replication, replications, fraction)``: 0.0 as a replication
    starts, fractions strictly between 0 and 1 that increase with its simulated time
    (of ``ramp_time + runtime``), and 1.0 when it is done.  fio's
    logs go where fio puts them, relative to ``log_dir`` (the current directory, resolved
    now); ``None``: none are written (sweeps and fits run many configs).  A log whose
    directory does not exist is a :class:`~nvmesim.config.ConfigError` before anything runs."""
    t0 = time.perf_counter()
    result = RunResult(config=cfg)
    names = variants or list(cfg.allocator.variants)
    plans = log_plans(cfg.workload, names, log_dir)
    reps = cfg.sim.replications
    bar = None
    if progress is True:
        from .progress import ProgressBar

        bar = ProgressBar(len(names) * reps, label="nvmesim run")
        count = [0]

        def progress(v: str, r: int, n: int, fraction: float) -> None:
            if fraction >= 1.0:
                count[0] += 1
                bar.update(count[0], f"{v} rep {r + 1}/{n}")
            elif fraction > 0.0:  # under way (a log shows whole steps only: ProgressBar)
                bar.update(count[0] + fraction, f"{v} rep {r + 1}/{n}")
    for v in names:
        result.replications[v] = []
    try:
        _run_all(cfg, names, reps, plans, progress, result)
    except KeyboardInterrupt as e:
        done = sum(len(x) for x in result.replications.values()) + sum(len(x) for x in result.errors.values())
        how = str(e) or "SIGINT"
        result.partial = (f"interrupted ({how}) after {done} of {len(names) * reps} replications: "
                          + ", ".join(f"{v} {len(result.replications[v])} of {reps}" for v in names))
        result.wall_s = time.perf_counter() - t0
        raise Interrupted(result) from None
    finally:
        if bar is not None:
            bar.close()
    result.wall_s = time.perf_counter() - t0
    return result


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, as the CLI maps it) during :func:`run`: ``result`` holds the
    replications that finished (the one in progress is abandoned), marked ``partial``."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.partial)
        self.result = result


def _run_all(cfg: Config, names: list[str], reps: int, plans: dict, progress: Progress | None,
             result: RunResult) -> None:
    for v in names:
        for r in range(reps):
            if progress:
                progress(v, r, reps, 0.0)
            try:
                within = (lambda f, v=v, r=r: progress(v, r, reps, f)) if progress else None
                result.replications[v].append(run_replication(cfg, v, r, plans.get(v) if r == 0 else None,
                                                              within))
            except Exception as e:  # recorded, not fatal: the other runs go on
                result.errors.setdefault(v, []).append(
                    f"replication {r}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
                )
            if progress:
                progress(v, r, reps, 1.0)
