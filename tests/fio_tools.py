"""Shared test helpers for real fio artefacts: the committed fixtures and fio's own tools."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

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
