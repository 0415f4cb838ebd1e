"""Shared test helpers: real fio artefacts (the committed fixtures, fio's own tools), a
builder of tiny configs, and the command line in process or as a subprocess.
``conftest.py`` offers the same as fixtures."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nvmesim.api import Config, load
from nvmesim.cli import app

ROOT = Path(__file__).resolve().parent.parent

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "fio-jsonplus-randread.json"
LOGS = DATA / "fio-lat-logs"


def run_clat2csv(exe: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run Debian's ``fio_jsonplus_clat2csv`` with this Python.  The tool imports six
    only for ``six.iteritems``, and Debian's fio package does not depend on it: if it
    is missing, a one-line stand-in is put on PYTHONPATH."""
    env = dict(os.environ)
    if importlib.util.find_spec("six") is None:
        shim = tmp_path / "shim"
        shim.mkdir(exist_ok=True)
        (shim / "six.py").write_text("def iteritems(d, **kw):\n    return iter(d.items(**kw))\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, exe, *args], capture_output=True, text=True,
                          env=env, timeout=60, check=True)


def fixture_doc() -> dict:
    """The committed json+ document of a real fio 3.33 run."""
    return json.loads(FIXTURE.read_text())


def job_of(doc: dict, name: str) -> dict:
    """The job called ``name`` in a fio JSON document."""
    (job,) = [j for j in doc["jobs"] if j["jobname"] == name]
    return job


#: the ``host`` section's noise switched off: the exact deterministic model
NOISE_OFF = {"noise": {"enabled": False}}


def tiny_config(workload: dict[str, Any] | None = None, *, noise: bool = True, **sections: Any) -> Config:
    """A short run (20 ms after a 2 ms warm-up) of the default config, with the given
    workload fields and whole sections (``sim={"replications": 3}``) on top;
    ``noise=False`` switches the host noise off (the deterministic model)."""
    base: dict[str, Any] = {"workload": {"runtime": "20ms", "ramp_time": "2ms", **(workload or {})}}
    base.update(sections)
    if not noise:
        base["host"] = {**base.get("host", {}), **NOISE_OFF}
    return load(base)


def cli_in_process(*args: str) -> subprocess.CompletedProcess:
    """The ``nvmesim`` command through typer's CliRunner (no interpreter start-up); an
    exception that escapes appears as a traceback in stderr."""
    result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (in process): " + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, stderr)


def cli_subprocess(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command line, ``python -m nvmesim.cli``."""
    return subprocess.run([sys.executable, "-m", "nvmesim.cli", *args], capture_output=True, text=True,
                          timeout=timeout)
