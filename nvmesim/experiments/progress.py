"""A small progress bar on stderr: done / total, elapsed, ETA.

It stays silent for the first second (quick runs print nothing), redraws in
place on a terminal, updates one live output line in a Jupyter notebook, and
prints a line per step otherwise (CI logs).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``update(done, detail)`` as work completes; ``close()`` at the end."""

    def __init__(self, total: int, quiet: bool = False, label: str = "nvmesim", stream: TextIO | None = None,
                 delay: float = 1.0) -> None:
        self.total = max(total, 1)
        self.quiet = quiet
        self.label = label
        self.stream = stream or sys.stderr
        self.delay = delay
        self.t0 = time.monotonic()
        self.shown = False
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._handle = None
        self.notebook = stream is None and _in_notebook()

    def update(self, done: float, detail: str = "") -> None:
        """Show ``done`` of ``total`` steps (a fraction of a step too: a replication under
        way) with ``detail``; silent for the first ``delay`` seconds.  A log (no terminal,
        no notebook) gets a line per whole step only, not one per fraction."""
        if self.quiet:
            return
        if not self.tty and not self.notebook and done != int(done):
            return
        elapsed = time.monotonic() - self.t0
        if elapsed < self.delay and not self.shown:
            return  # a run that takes only a moment shows nothing
        self.shown = True
        frac = min(done / self.total, 1.0)
        eta = elapsed / frac * (1 - frac) if frac else float("nan")
        width = 30
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        eta_s = "?" if eta != eta else f"{eta:.0f}s"
        line = f"{self.label}: [{bar}] {int(done)}/{self.total}  {detail}  elapsed {elapsed:.0f}s  ETA {eta_s}"
        if self.notebook:
            from IPython.display import display

            if self._handle is None:
                self._handle = display({"text/plain": line}, raw=True, display_id=True)
            else:
                self._handle.update({"text/plain": line}, raw=True)
            return
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.shown and self.tty and not self.quiet and not self.notebook:
            self.stream.write("\n")
            self.stream.flush()


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where a terminal-style bar would not redraw)."""
    import sys as _sys

    if "ipykernel" not in _sys.modules:
        return False
    try:
        from IPython import get_ipython

        ip = get_ipython()
        return ip is not None and "IPKernelApp" in ip.config
    except Exception:
        return False
