"""Calibration: fit a platform (host, driver, device) to real fio runs of one device.

Each parameter is identified by the run that identifies it, in order, every fit a
simulation of that run as fio ran it (``validate.run_config``), deterministic (host noise
off while fitting, one replication, the platform's seed):

1. **host scale** -- one factor on every ``HostCosts`` step, from the lowest-depth run's
   mean slat (submission is host work only; which step costs what is not identifiable
   from fio's figures, so they scale together);
2. **read service time** -- an ``empirical`` distribution: that run's clat quantiles
   minus the host's and the transfer's part of clat at that depth (the simulated clat of
   the same run with a 1 us service time, less that 1 us);
3. **parallel units** -- from the deepest small-block run: the smallest count whose
   simulated IOPS reaches the real ones (bisection; simulated IOPS grow with it);
4. **bandwidth** -- from the largest-block run (>= 64 KiB), if there is one: the link
   and internal bandwidth at which the simulated bandwidth is the real one (bisection).

Writes are fitted the same way when the runs have writes.  Residuals: ``validate`` of
every run on the fitted platform.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..config import Config, config_from_dict
from ..config.fio_options import job_sections, workload_from_fio
from ..config.units import parse_size
from .runner import run
from .validate import ValidateError, read_run, run_config

PROBE_US = 1.0  # the service time that measures the host's part of clat


@dataclass
class Run:
    """One real fio job: where it came from, its document and its config on a platform."""

    path: str
    doc: dict[str, Any]
    index: int
    options: dict[str, Any]

    @property
    def job(self) -> dict[str, Any]:
        return self.doc["jobs"][self.index]

    def ddir(self) -> str:
        j = self.job
        return "read" if j["read"]["total_ios"] >= j["write"]["total_ios"] else "write"

    def depth(self) -> int:
        return int(self.options.get("iodepth", 1))

    def bs(self) -> int:
        return parse_size(workload_from_fio(self.options).get("bs", 4096))


@dataclass
class Calibration:
    """The fitted platform and how each parameter was identified."""

    platform: Config
    host_scale: float
    identified: dict[str, str] = field(default_factory=dict)


def load_runs(paths: list[str | Path]) -> list[Run]:
    """Every job of every document; runs of different files (devices) mixed are refused."""
    runs = []
    for p in paths:
        doc = read_run(p)
        for index, options in job_sections(doc):
            runs.append(Run(str(p), doc, index, options))
    targets = {r.options.get("filename") for r in runs if r.options.get("filename")}
    if len(targets) > 1:
        raise ValidateError(f"runs of different devices mixed ({', '.join(sorted(targets))}): calibrate one device "
                            "at a time")
    return runs


def _with(platform: Config, **paths: Any) -> Config:
    """The platform with dotted ``paths`` replaced (``device__parallel_units=8``)."""
    data = copy.deepcopy(platform.effective())
    for dotted, value in paths.items():
        node = data
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return config_from_dict(data, "<calibration>")


def simulate(platform: Config, r: Run) -> dict[str, Any]:
    """fio's job document of the simulated run."""
    cfg = run_config(platform, r.path, r.doc, r.index, r.options)
    cfg = cfg.model_copy(update={"sim": cfg.sim.model_copy(update={"replications": 1})})
    return run(cfg).fio_json(cfg.allocator.variants[0])["jobs"][0]


def _bisect(f: Callable[[float], float], target: float, lo: float, hi: float, steps: int,
            integer: bool = False) -> float:
    """The x in [lo, hi] where the increasing f(x) meets ``target`` (geometric steps)."""
    if f(hi) <= target:
        return hi
    if f(lo) >= target:
        return lo
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        if integer:
            mid = float(round(mid))
            if mid in (lo, hi):
                break
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def calibrate(runs: list[Run], start: Config) -> Calibration:
    """Fit ``start``'s host costs and device to ``runs`` (see the module's steps)."""
    if not runs:
        raise ValidateError("no runs to calibrate on")
    for r in runs:  # every run's options are simulable (located errors before any fit)
        run_config(start, r.path, r.doc, r.index, r.options)
    quiet = _with(start, host__noise__enabled=False)
    ident: dict[str, str] = {}
    base = min(runs, key=lambda r: (r.depth(), r.bs()))
    ddir = base.ddir()
    real = base.job[ddir]
    # 1. host scale from slat
    probe = _with(quiet, device__preset="custom", **{f"device__{ddir}": {"dist": "constant", "mean_us": PROBE_US}})
    sim = simulate(probe, base)[ddir]
    scale = real["slat_ns"]["mean"] / sim["slat_ns"]["mean"] if sim["slat_ns"]["mean"] else 1.0
    costs = {k: v * scale for k, v in quiet.host.costs.model_dump().items()}
    fitted = _with(probe, host__costs=costs)
    ident["host.costs (x %.3f)" % scale] = f"{Path(base.path).name}: mean slat at iodepth {base.depth()}"
    # 2. service distribution: real clat quantiles less the host's part at that depth
    host_ns = simulate(fitted, base)[ddir]["clat_ns"]["mean"] - PROBE_US * 1e3
    pct = real["clat_ns"].get("percentile") or {}
    pts = sorted((float(p) / 100.0, v) for p, v in pct.items() if 0 < float(p) < 100)
    lo_ns, hi_ns = float(real["clat_ns"]["min"]), float(real["clat_ns"]["max"])
    probs = [0.0] + [p for p, _ in pts] + [1.0]
    qs = [lo_ns] + [float(v) for _, v in pts] + [hi_ns]
    quantiles, last = [], 0.0
    for q in qs:  # less the host's part, never below 0.1 us, never decreasing
        last = max(last, (q - host_ns) / 1e3, 0.1)
        quantiles.append(round(last, 3))
    fitted = _with(fitted, **{f"device__{ddir}": {"dist": "empirical", "quantiles_us": quantiles, "probs": probs}})
    ident[f"device.{ddir} (empirical, mean {fitted.device.read.mean_us if ddir == 'read' else fitted.device.write.mean_us:.1f} us)"] = (
        f"{Path(base.path).name}: clat quantiles less {host_ns / 1e3:.1f} us of host and transfer")
    # 3. parallel units from the deepest small-block run
    small = [r for r in runs if r.bs() <= 16384]
    deep = max(small or runs, key=lambda r: r.depth())
    if deep.depth() > 1:
        d_real = deep.job[deep.ddir()]["iops"]

        def iops(u: float) -> float:
            return simulate(_with(fitted, device__parallel_units=int(u)), deep)[deep.ddir()]["iops"]

        units = int(_bisect(iops, 0.99 * d_real, 1.0, 1024.0, 12, integer=True))
        fitted = _with(fitted, device__parallel_units=units)
        ident[f"device.parallel_units ({units})"] = f"{Path(deep.path).name}: IOPS at iodepth {deep.depth()}"
    # 4. bandwidth from the largest blocks
    big = max(runs, key=lambda r: r.bs())
    if big.bs() >= 65536:
        b_real = big.job[big.ddir()]["bw_bytes"]

        def bw(g: float) -> float:
            return simulate(_with(fitted, device__link_gbps=g, device__internal_gbps=g), big)[big.ddir()]["bw_bytes"]

        gbps = round(_bisect(bw, 0.99 * b_real, 0.05, 64.0, 16), 3)
        fitted = _with(fitted, device__link_gbps=gbps, device__internal_gbps=gbps)
        ident[f"device.link_gbps = internal_gbps ({gbps})"] = f"{Path(big.path).name}: bandwidth at bs {big.bs()}"
    platform = _with(fitted, host__noise__enabled=start.host.noise.enabled)
    return Calibration(platform=platform, host_scale=scale, identified=ident)


def platform_yaml(cal: Calibration) -> dict[str, Any]:
    """The platform file: the fitted host, driver and device sections (and sim), which any
    config can start from."""
    eff = cal.platform.effective()
    return {k: eff[k] for k in ("host", "driver", "device", "sim")}


def residual_rows(cal: Calibration, paths: list[str | Path]) -> list:
    from .validate import validate

    return validate(cal.platform, paths)


def describe(cal: Calibration) -> str:
    lines = ["fitted parameters (and what identified each):"]
    lines += [f"  {k:<48} {v}" for k, v in cal.identified.items()]
    return "\n".join(lines) + "\n"


__all__ = ["Calibration", "Point", "Run", "calibrate", "calibrate_points", "describe", "load_runs", "platform_yaml",
           "point_metrics", "residual_rows"]


# ---- published summary figures (IOPS and latency per depth, no fio documents) --------
@dataclass(frozen=True)
class Point:
    """A published measurement: at ``depth``, ``iops`` and a mean latency ``lat_us``."""

    depth: int
    iops: float
    lat_us: float


def point_config(platform: Config, workload: dict[str, Any], depth: int, runtime: float = 0.01) -> Config:
    """``workload`` at ``depth`` on the platform: submitted in batches of min(depth, 32),
    reaped as soon as one is there, up to a batch (t/io_uring's defaults: an assumption)."""
    batch = min(depth, 32)
    data = copy.deepcopy(platform.effective())
    data["workload"] = {**workload, "iodepth": depth, "iodepth_batch_submit": batch,
                        "iodepth_batch_complete_min": 1, "iodepth_batch_complete_max": batch,
                        "runtime": runtime, "ramp_time": runtime / 5}
    data["allocator"]["variants"] = platform.allocator.variants[:1]
    data["sim"]["replications"] = 1
    return config_from_dict(data, "<calibration>")


def point_metrics(platform: Config, workload: dict[str, Any], depth: int, runtime: float = 0.01) -> tuple[float, float]:
    """(IOPS, mean lat in us) of ``workload`` at ``depth``."""
    cfg = point_config(platform, workload, depth, runtime)
    job = run(cfg).fio_json(cfg.allocator.variants[0])["jobs"][0]["read"]
    return float(job["iops"]), float(job["lat_ns"]["mean"]) / 1e3


def calibrate_points(points: list[Point], start: Config, workload: dict[str, Any], rounds: int = 2) -> Calibration:
    """Fit a platform to summary figures of one core, on the shallowest and the deepest
    point only (the others are predictions): the host scale to the deepest point's IOPS
    (a CPU-bound core: IOPS fall as every step costs more), a constant service time to
    the shallowest point's latency, in ``rounds`` passes (each moves the other a
    little); the start's parallel units stay unless they cap the deepest point, then the
    fewest that do not."""
    pts = sorted(points, key=lambda p: p.depth)
    shallow, deep = pts[0], pts[-1]
    fitted = _with(start, host__noise__enabled=False, device__preset="custom",
                   device__read={"dist": "constant", "mean_us": max(shallow.lat_us / 2, 0.1)})
    base_costs = start.host.costs.model_dump()
    units = fitted.device.parallel_units
    scale = 1.0
    for _ in range(rounds):
        wide = _with(fitted, device__parallel_units=1024)

        def deep_iops(inv: float) -> float:  # IOPS rise as the costs fall: bisect on 1/scale
            cfg = _with(wide, host__costs={k: v / inv for k, v in base_costs.items()})
            return point_metrics(cfg, workload, deep.depth)[0]

        scale = 1.0 / _bisect(deep_iops, deep.iops, 1 / 50.0, 50.0, 20)
        fitted = _with(fitted, host__costs={k: v * scale for k, v in base_costs.items()})

        def shallow_lat(svc: float) -> float:
            cfg = _with(fitted, device__read={"dist": "constant", "mean_us": svc})
            return point_metrics(cfg, workload, shallow.depth)[1]

        svc = round(_bisect(shallow_lat, shallow.lat_us, 0.05, 1000.0, 20), 4)
        fitted = _with(fitted, device__read={"dist": "constant", "mean_us": svc})

    def capped_iops(u: float) -> float:
        return point_metrics(_with(fitted, device__parallel_units=int(u)), workload, deep.depth)[0]

    if capped_iops(units) < 0.99 * deep.iops:
        units = int(_bisect(capped_iops, 0.99 * deep.iops, float(units), 1024.0, 12, integer=True))
    fitted = _with(fitted, device__parallel_units=units)
    ident = {f"host.costs (x {scale:.4f})": f"IOPS at depth {deep.depth} ({deep.iops:,.0f})",
             f"device.read (constant {fitted.device.read.mean_us:g} us)":
                 f"latency at depth {shallow.depth} ({shallow.lat_us} us)",
             f"device.parallel_units ({units})": "kept unless it capped the deepest point"}
    return Calibration(platform=_with(fitted, host__noise__enabled=start.host.noise.enabled), host_scale=scale,
                       identified=ident)
