"""Running a config: every allocator variant for ``sim.replications`` replications.

Replication ``r`` of every variant uses the same random streams (common random
numbers).  A replication that fails is recorded with its error instead of aborting the
others (desmod's rule: a failed run is a result).  fio's logs, if the workload asks for
them, come from replication 0 of each variant (stats/iologs.py).

With several workers the (variant, replication) tasks run on a
:class:`~.pool.LocalPool`, one process per worker; a replication depends only on its
config, variant and index, and the results are put back in the serial loop's order, so
every output is the same as a serial run's (bar the wall-clock figures).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from typing import Callable

from ..config import Config
from ..output.result import RunResult
from ..sim.model import run_replication
from ..stats.iologs import LogPlan, log_plans
from ..stats.records import ReplicationResult

Progress = Callable[[str, int, int, float], None]  # (variant, replication, replications, fraction)


def default_workers() -> int:
    """The worker processes a run uses by default: the cores this process may run on
    (``os.sched_getaffinity``, else ``os.cpu_count()``); 1 inside a daemonic process (a
    sweep's pool worker, which may not start processes of its own)."""
    if mp.current_process().daemon:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def run(cfg: Config, progress: Progress | bool | None = None, variants: list[str] | None = None, *,
        log_dir: str | os.PathLike | None = ".", workers: int | None = None) -> RunResult:
    """Simulate every variant (or the named ones) for ``cfg.sim.replications`` replications.

    ``progress=True`` shows a progress bar (on stderr, or live in a notebook); a callable
    is called ``(variant, replication, replications, fraction)``: 0.0 as a replication
    starts, fractions strictly between 0 and 1 that increase with its simulated time
    (of ``ramp_time + runtime``), and 1.0 when it is done.  fio's
    logs go where fio puts them, relative to ``log_dir`` (the current directory, resolved
    now); ``None``: none are written (sweeps and fits run many configs).  A log whose
    directory does not exist is a :class:`~nvmesim.config.ConfigError` before anything runs.

    ``workers``: the processes the replications run on (``None``: :func:`default_workers`,
    the machine's cores); ``1`` runs them one after the other in this process.  With more
    than one (and more than one replication to run) the results, errors and logs are the
    same as a serial run's, a replication whose worker process dies is recorded as failed
    with how it died, and ``progress`` is called with 1.0 only, as each replication
    finishes (in the order they finish)."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers: expected a number >= 1, got {workers}")
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
    n = min(default_workers() if workers is None else workers, len(names) * reps)
    try:
        if n > 1:
            _run_parallel(cfg, names, reps, plans, progress, result, n)
        else:
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
            within = (lambda f, v=v, r=r: progress(v, r, reps, f)) if progress else None
            _record(result, v, _replicate(cfg, v, r, plans.get(v) if r == 0 else None, within))
            if progress:
                progress(v, r, reps, 1.0)


def _replicate(cfg: Config, v: str, r: int, logs: LogPlan | None,
               within: Callable[[float], None] | None = None) -> tuple[bool, ReplicationResult | str]:
    """One replication: ``(True, its result)``, or ``(False, the error's text)`` if it
    raised (recorded, not fatal: the other runs go on).  The task both modes run, so a
    failure reads the same in a worker process as in the serial loop."""
    try:
        return True, run_replication(cfg, v, r, logs, within)
    except Exception as e:
        return False, f"replication {r}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"


def _record(result: RunResult, v: str, outcome: tuple[bool, ReplicationResult | str]) -> None:
    ok, value = outcome
    if ok:
        result.replications[v].append(value)
    else:
        result.errors.setdefault(v, []).append(value)


def _run_parallel(cfg: Config, names: list[str], reps: int, plans: dict, progress: Progress | None,
                  result: RunResult, workers: int) -> None:
    """The (variant, replication) tasks on a :class:`~.pool.LocalPool` of ``workers``
    processes; ``result`` gets them in the serial loop's order (variant, then replication)
    whatever the order they finish in, also when the loop is left early (Ctrl-C: the pool
    kills its workers, the finished replications are kept)."""
    from .pool import LocalPool

    done: dict[tuple[str, int], tuple[bool, ReplicationResult | str]] = {}
    tasks = [((v, r), (cfg, v, r, plans.get(v) if r == 0 else None)) for v in names for r in range(reps)]
    outcomes = LocalPool(_replicate, workers).run(tasks)
    try:
        for o in outcomes:
            v, r = o.task
            # a worker that died (or a task the pool could not run) is a failed replication too
            done[v, r] = o.value if o.ok else (False, f"replication {r}: {o.error}")
            if progress:
                progress(v, r, reps, 1.0)
    finally:
        outcomes.close()  # kills the workers still running (Ctrl-C)
        for v in names:
            for r in range(reps):
                if (v, r) in done:
                    _record(result, v, done[v, r])
