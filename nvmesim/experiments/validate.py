"""Validation against real fio runs: simulate each run's job as fio ran it, on a
platform (a config's host, driver, device, allocator and sim sections), and compare
fio's figures with the simulation's, read the same way from both fio documents.

The run's workload is the job's own options (``config/fio_options.py``), with fio's
defaults for the rest: nothing of the config's ``workload`` section carries over.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..config import Config, ConfigError, config_from_dict
from ..config.fio_options import FioOptionError, job_sections, workload_from_fio
from ..config.units import parse_time_ns
from .runner import run


class ValidateError(ValueError):
    """A run that cannot be validated; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ValidationRow:
    """One figure of one real run beside its simulation."""

    run: str
    job: str
    direction: str
    metric: str
    real: float
    simulated: float

    @property
    def error_pct(self) -> float:
        if not self.real or math.isnan(self.real) or math.isnan(self.simulated):
            return math.nan
        return 100.0 * (self.simulated - self.real) / self.real

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_pct": self.error_pct}


def _pct(lat: Mapping[str, Any], p: str) -> float:
    return float((lat.get("percentile") or {}).get(p, math.nan))


#: (metric, getter of one direction of a fio job)
DIRECTION_METRICS: tuple[tuple[str, Callable[[Mapping[str, Any]], float]], ...] = (
    ("iops", lambda d: float(d["iops"])),
    ("bw_bytes", lambda d: float(d["bw_bytes"])),
    ("slat_mean_ns", lambda d: float(d["slat_ns"]["mean"]) if d["slat_ns"].get("N") else math.nan),
    ("clat_mean_ns", lambda d: float(d["clat_ns"]["mean"])),
    ("clat_p50_ns", lambda d: _pct(d["clat_ns"], "50.000000")),
    ("clat_p99_ns", lambda d: _pct(d["clat_ns"], "99.000000")),
    ("lat_mean_ns", lambda d: float(d["lat_ns"]["mean"])),
)
JOB_METRICS = (("usr_cpu", "usr_cpu"), ("sys_cpu", "sys_cpu"))


def read_run(path: str | Path) -> dict[str, Any]:
    """A fio JSON (or json+) document, or a located :class:`ValidateError`."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ValidateError(f"{p}: cannot read: {e.strerror}") from None
    start = text.find("{")  # fio may print notes before the document
    try:
        doc = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError as e:
        raise ValidateError(f"{p}: not fio JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), list) or not doc["jobs"]:
        raise ValidateError(f"{p}: not fio JSON (no \"jobs\" list; run fio with --output-format=json or json+)")
    return doc


def run_config(platform: Config, path: str | Path, doc: Mapping[str, Any], index: int,
               options: Mapping[str, Any]) -> Config:
    """The config that simulates job ``index`` of a real run: the platform with the job's
    workload.  fio's JSON leaves out ``time_based``: a job that ran its whole runtime
    is taken as time-based, one that stopped earlier as bounded by its size."""
    where = f"{path}: jobs[{index}] job options"
    try:
        workload = workload_from_fio(options)
    except FioOptionError as e:
        raise ValidateError(f"{where}: {e}") from None
    job = doc["jobs"][index]
    if int(workload.get("numjobs", 1)) != 1:
        raise ValidateError(f"{where}: numjobs: validation compares one job per run (numjobs=1)")
    if "time_based" not in workload and "runtime" in workload:
        try:
            wanted_ms = parse_time_ns(workload["runtime"]) / 1e6
        except ValueError:  # (the config reports the bad runtime, located)
            wanted_ms = 0.0
        ran_ms = float(job.get("job_runtime", 0))
        workload["time_based"] = "1" if not wanted_ms or ran_ms >= 0.95 * wanted_ms else "0"
    data = platform.effective()
    data["workload"] = workload
    data["allocator"]["variants"] = platform.allocator.variants[:1]
    try:
        return config_from_dict(data, where, text=True)
    except ConfigError as e:
        raise ValidateError(str(e)) from None


def compare(path: str, real_job: Mapping[str, Any], sim_job: Mapping[str, Any]) -> list[ValidationRow]:
    """The rows of one job: every metric of each direction that moved I/O in the real run."""
    rows = []
    name = str(real_job.get("jobname", ""))
    for ddir in ("read", "write"):
        r, s = real_job.get(ddir), sim_job.get(ddir)
        if not r or not r.get("total_ios"):
            continue
        for metric, get in DIRECTION_METRICS:
            rows.append(ValidationRow(path, name, ddir, metric, get(r), get(s)))
    for metric, key in JOB_METRICS:
        rows.append(ValidationRow(path, name, "job", metric, float(real_job[key]), float(sim_job[key])))
    return rows


def validate(platform: Config, runs: list[str | Path], progress: bool = False) -> list[ValidationRow]:
    """Simulate every job of every run on ``platform`` and compare (raises
    :class:`ValidateError` before simulating anything if a run cannot be read or
    simulated)."""
    plans = []
    for path in runs:
        doc = read_run(path)
        for index, options in job_sections(doc):
            plans.append((str(path), doc["jobs"][index], run_config(platform, path, doc, index, options)))
    rows: list[ValidationRow] = []
    for path, real_job, cfg in plans:
        result = run(cfg, progress=progress, log_dir=None)
        variant = cfg.allocator.variants[0]
        sim_job = result.fio_json(variant)["jobs"][0]
        rows += compare(path, real_job, sim_job)
    return rows


def text_table(rows: list[ValidationRow]) -> str:
    """The comparison as text: per run and direction, real | simulated | error %."""
    out = [f"{'run':<28} {'dir':<5} {'metric':<13} {'real':>14} {'simulated':>14} {'error %':>8}", "-" * 87]
    for r in rows:
        err = "" if math.isnan(r.error_pct) else f"{r.error_pct:+.1f}"
        out.append(f"{Path(r.run).name[:28]:<28} {r.direction:<5} {r.metric:<13} {r.real:>14,.1f} "
                   f"{r.simulated:>14,.1f} {err:>8}")
    return "\n".join(out) + "\n"
