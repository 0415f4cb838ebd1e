"""A local process pool that knows which task each worker runs, for sweeps.

``concurrent.futures.ProcessPoolExecutor`` cannot say which task killed a worker: one
worker's death (SIGKILL, the OOM killer, a crash in an extension) breaks the whole pool
and fails every pending future with a message that names no task.  Here every worker is
its own process with its own pipe and runs one task at a time, so

* a worker that dies fails only its own task (reported with its signal or exit status),
  the other workers' tasks go on, and a fresh worker takes its place;
* workers die with their parent (Linux ``PR_SET_PDEATHSIG``, and a check that the parent
  is still the one that started them), so a SIGKILLed sweep leaves no process behind;
* workers ignore SIGINT: Ctrl-C is the parent's to handle (it stops the workers); SIGTERM
  gets its default action back (a parent's handler for it, say the CLI's, is not theirs).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent exits (prctl(2)), then make
    sure the parent did not exit before the request."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own cleanup still applies
        pass
    if os.getppid() != parent:
        os._exit(1)


def _worker_main(conn: Connection, fn: Callable[..., Any], parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        task, args = msg
        try:
            reply = (task, True, fn(*args))
        except BaseException as e:  # the task's failure is a result
            reply = (task, False, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


def describe_exit(exitcode: int | None) -> str:
    """A worker's end as people read it: ``killed by signal 9 (SIGKILL)`` or ``exited with status 1``."""
    if exitcode is None:
        return "disappeared"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-exitcode} ({name})"
    return f"exited with status {exitcode}"


@dataclass
class Outcome:
    """One task's end: ``ok`` with ``value`` (the function's return), or a failure whose
    ``error`` is the exception text or, if the worker died, how it died."""

    task: Any
    ok: bool
    value: Any = None
    error: str | None = None
    worker_died: bool = False


class _Worker:
    def __init__(self, ctx: Any, fn: Callable[..., Any]) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, fn, os.getpid()), daemon=True)
        self.proc.start()
        child.close()
        self.task: Any = None

    def stop(self, kill: bool = False) -> None:
        if kill and self.proc.is_alive():
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class LocalPool:
    """``workers`` processes running ``fn(*args)`` for each task; :meth:`run` yields an
    :class:`Outcome` per task as each finishes (in completion order)."""

    def __init__(self, fn: Callable[..., Any], workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.fn = fn
        self.workers = workers
        self.ctx = mp.get_context()
        self.pids: list[int] = []  # every worker started (tests look for leftovers)

    def run(self, tasks: Iterable[tuple[Any, tuple[Any, ...]]]) -> Iterator[Outcome]:
        """Run every ``(task, args)``; a worker's death fails its task only (``worker_died``),
        and a new worker replaces it.  Leaving the loop early (an exception, Ctrl-C, a
        ``break``) kills the workers."""
        queue = deque(tasks)
        idle: list[_Worker] = []
        busy: dict[int, _Worker] = {}  # id(worker) -> worker
        try:
            while queue or busy:
                while queue and (idle or len(busy) < self.workers):
                    w = idle.pop() if idle else self._start()
                    w.task, args = queue.popleft()
                    try:
                        w.conn.send((w.task, args))
                    except (BrokenPipeError, OSError):
                        pass  # dead already: its sentinel says so below
                    busy[id(w)] = w
                by_handle = {}
                for w in busy.values():
                    by_handle[w.conn] = w
                    by_handle[w.proc.sentinel] = w
                done: set[int] = set()
                for handle in wait(list(by_handle)):
                    w = by_handle[handle]
                    if id(w) in done:
                        continue
                    outcome = self._collect(w)
                    if outcome is None:
                        continue
                    done.add(id(w))
                    del busy[id(w)]
                    if outcome.worker_died:
                        w.stop(kill=True)
                    else:
                        idle.append(w)
                    yield outcome
        finally:
            for w in [*busy.values(), *idle]:
                w.stop(kill=bool(busy))

    def _start(self) -> _Worker:
        w = _Worker(self.ctx, self.fn)
        self.pids.append(w.proc.pid)
        return w

    def _collect(self, w: _Worker) -> Outcome | None:
        """The worker's reply if it sent one, its death if it died; None: neither yet."""
        try:
            if w.conn.poll():
                task, ok, payload = w.conn.recv()
                return Outcome(task, True, payload) if ok else Outcome(task, False, error=payload)
        except (EOFError, OSError):
            pass
        if w.proc.is_alive():
            return None
        w.proc.join()
        return Outcome(w.task, False, error=f"WorkerDied: the worker process running it {describe_exit(w.proc.exitcode)}",
                       worker_died=True)
