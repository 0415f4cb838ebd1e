"""Calibration: fit a platform (host, driver, device) to real fio runs of one device.

Each parameter is identified by the runs that identify it, every fit a simulation of
those runs as fio ran them (``validate.run_config``), deterministic (host noise off while
fitting, one replication, the platform's seed, at most ``FIT_RUNTIME_S`` of each run):

1. **a first host scale** -- one factor on every ``HostCosts`` step, from the lowest-depth
   run's mean slat (submission is host work only);
2. **read service time** -- an ``empirical`` distribution: that run's clat quantiles
   less the host's and the transfer's part of clat, a shift found so that the simulated
   mean clat is the real one (secant steps from the clat simulated with a 1 us service);
3. **the host's step groups** (when the runs have two depths) -- the steps fall into
   groups whose counts per I/O differ: fio's own code (``USER_STEPS``, per I/O), the
   kernel's per-I/O steps (submission and completion together: the completion runs in
   interrupts that, while fio sleeps, are not in its rusage, so sys cannot tell it
   apart), the steps paid per system call, sleep, interrupt or task-work run
   (``EVENT_STEPS``: fewer per I/O as depth grows), and, on a controller with a shadow
   doorbell, the MMIO doorbell (paid only when the device sleeps).  One factor per group
   (the doorbell in ns) is fitted to five figures (``_fit_host``);
4. **parallel units** -- from the deepest small-block run: the count whose simulated
   IOPS are nearest the real ones (bisection; simulated IOPS grow with it);
5. **bandwidth** -- from the largest-block run (>= 64 KiB), if there is one: the rate at
   which the simulated bandwidth is the real one (bisection), read as the shared link
   and internal path (``bandwidth="link"``: an SSD) or as each unit's own transfer rate
   (``"unit"``, ``device.unit_gbps``: a unit stays busy while its data moves, as a
   virtual disk's backend copying per request).

With two depths, 3 then 5, 2, 4 (twice) make a round; rounds repeat, up to ``ROUNDS``,
until the fitted figures are within ``MISFIT_DONE``, and the best round is kept.

Two device behaviours are taken from the start's device if it sets them, else inferred
from the shallowest and the deepest run: a shadow doorbell (``device.shadow_doorbell``)
when slat falls to less than half (the doorbell is not rung while the device is busy),
and completion in rounds (``device.completes: round``) when fio's context switches per
I/O at depth are about one per iodepth I/Os (``ROUND_CTX``: fio sleeps once a round).
Writes are fitted the same way when the runs have writes.  Residuals: ``validate`` of
every run on the fitted platform.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import Config, config_from_dict
from ..config.fio_options import job_sections, workload_from_fio
from ..config.units import parse_size, parse_time_ns
from .runner import run
from .validate import ValidateError, read_run, run_config

PROBE_US = 1.0  # the service time that measures the host's part of clat
#: simulated seconds of a run while fitting (the fit is deterministic; a few thousand
#: I/Os fix a mean to well under 1%); validate simulates the whole runtime
FIT_RUNTIME_S = 0.3
#: HostCosts steps of fio's own code (usr CPU)
USER_STEPS = ("fio_prep_ns", "fio_complete_ns", "fio_reap_ns")
#: steps paid per system call, sleep/wake-up, interrupt, task-work run or poll pass:
#: their number per I/O falls as depth (and so batching) grows
EVENT_STEPS = ("syscall_ns", "wakeup_ns", "irq_entry_ns", "task_work_run_ns", "poll_ns")
#: the deepest run's slat below this fraction of the shallowest's: a shadow doorbell
SHADOW_SLAT_RATIO = 0.5
#: fio's context switches per iodepth I/Os at the deepest run inside this range: it
#: sleeps about once a round, as with a device that completes in rounds (one completing
#: each command wakes fio per completion or per interrupt, far more often; a CPU-bound
#: fio that always finds completions waiting hardly sleeps at all)
ROUND_CTX = (0.5, 2.0)
#: rounds of steps 3-5 at most, and the misfit (root mean square of the log errors of the
#: figures fitted to) at which they stop
ROUNDS, MISFIT_DONE = 4, 0.03


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
    host_scale: float  # the kernel's per-I/O steps' factor (every step's, from one depth)
    identified: dict[str, str] = field(default_factory=dict)
    host_scales: dict[str, float] = field(default_factory=dict)  # per step group (doorbell: ns)


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


def simulate(platform: Config, r: Run, cap_s: float | None = FIT_RUNTIME_S) -> dict[str, Any]:
    """fio's job document of the simulated run (at most ``cap_s`` simulated seconds of it)."""
    cfg = run_config(platform, r.path, r.doc, r.index, r.options)
    update: dict[str, Any] = {}
    if cap_s is not None and cfg.workload.time_based and cfg.workload.runtime > cap_s:
        update = {"runtime": cap_s, "ramp_time": min(cfg.workload.ramp_time, cap_s / 5)}
    cfg = cfg.model_copy(update={"sim": cfg.sim.model_copy(update={"replications": 1}),
                                 "workload": cfg.workload.model_copy(update=update)})
    return run(cfg, log_dir=None).fio_json(cfg.allocator.variants[0])["jobs"][0]


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


def per_io(job: dict[str, Any], ddir: str) -> dict[str, float]:
    """A job's CPU per I/O (usr, sys, in ns) and mean slat, from fio's figures: CPU% is of
    the runtime, IOPS over it, so CPU time per I/O is CPU% / 100 / IOPS."""
    iops = float(job[ddir]["iops"]) or math.nan
    return {"usr": job["usr_cpu"] / 100.0 / iops * 1e9, "sys": job["sys_cpu"] / 100.0 / iops * 1e9,
            "slat": float(job[ddir]["slat_ns"]["mean"])}


def _group_costs(base: dict[str, float], x: list[float], shadow: bool) -> dict[str, float]:
    """``base`` costs scaled by group: ``x`` = (fio's steps, the kernel's per-I/O steps,
    the per-event steps[, the doorbell in ns]); the doorbell is an event step unless
    ``shadow``."""
    u, a, b = x[:3]
    out = {}
    for k, v in base.items():
        if k == "doorbell_ns" and shadow:
            out[k] = float(x[3])
        elif k in USER_STEPS:
            out[k] = v * u
        elif k in EVENT_STEPS or k == "doorbell_ns":
            out[k] = v * b
        else:
            out[k] = v * a
    return out


def _fit_service(fitted: Config, base: Run, steps: int = 8) -> tuple[Config, str, str]:
    """Step 2: the empirical service time of ``base``'s direction: the run's clat
    quantiles less a shift -- the host's and the transfer's part of clat -- found so that
    the simulated mean clat is the real one.  The first guess is the simulated clat with
    a 1 us service, less that 1 us; then secant steps, since the part is not a constant
    where service overlaps submission (a device that starts during a slow doorbell)."""
    ddir = base.ddir()
    real = base.job[ddir]
    pct = real["clat_ns"].get("percentile") or {}
    pts = sorted((float(p) / 100.0, v) for p, v in pct.items() if 0 < float(p) < 100)
    lo_ns, hi_ns = float(real["clat_ns"]["min"]), float(real["clat_ns"]["max"])
    probs = [0.0] + [p for p, _ in pts] + [1.0]
    qs = [lo_ns] + [float(v) for _, v in pts] + [hi_ns]
    target = float(real["clat_ns"]["mean"])

    def shifted(host_ns: float) -> Config:
        quantiles, last = [], 0.0
        for q in qs:  # less the host's part, never below 0.1 us, never decreasing
            last = max(last, (q - host_ns) / 1e3, 0.1)
            quantiles.append(round(last, 3))
        return _with(fitted, **{f"device__{ddir}": {"dist": "empirical", "quantiles_us": quantiles, "probs": probs}})

    def error(host_ns: float) -> float:
        return simulate(shifted(host_ns), base)[ddir]["clat_ns"]["mean"] - target

    probe = _with(fitted, **{f"device__{ddir}": {"dist": "constant", "mean_us": PROBE_US}})
    h0 = simulate(probe, base)[ddir]["clat_ns"]["mean"] - PROBE_US * 1e3
    e0 = error(h0)
    best = (abs(e0), h0)
    h1 = h0 + e0  # a shift of the service moves clat one for one where they add
    for _ in range(steps):
        if best[0] < 0.002 * target:
            break
        e1 = error(h1)
        if abs(e1) < best[0]:
            best = (abs(e1), h1)
        slope = (e1 - e0) / (h1 - h0) if h1 != h0 else -1.0
        if slope > -0.05:  # flat or the wrong way: step as if they added
            slope = -1.0
        h0, e0, h1 = h1, e1, h1 - e1 / slope
    host_ns = best[1]
    fitted = shifted(host_ns)
    mean = (fitted.device.read if ddir == "read" else fitted.device.write).mean_us
    return (fitted, f"device.{ddir} (empirical, mean {mean:.1f} us)",
            f"{Path(base.path).name}: clat quantiles less {host_ns / 1e3:.1f} us of host and transfer")


def _fit_host(fitted: Config, base_costs: dict[str, float], x0: list[float] | None, shallow: Run, deep: Run,
              shadow: bool, iterations: int = 8) -> list[float]:
    """Step 3: the group factors (see ``_group_costs``) that fit five figures, least
    squares on their log ratios: the shallow run's usr per I/O (fio's steps), the deep
    run's slat (the submission's per-I/O work: its doorbell is rarely rung), the deep
    run's sys per I/O (adds the completion's per-I/O work where it is fio's), the shallow
    run's sys per I/O (adds the sleep, wake-up and system calls of an I/O reaped alone)
    and the shallow run's slat (adds the doorbell: with a shadow doorbell its own
    unknown, else one of the event steps).

    Without ``x0`` the start is the linear solution: with the event counts of the
    unscaled host, each figure is a sum of the groups' costs, so doubling one group at a
    time measures its part (least squares on relative errors, factors >= 0.05).  Then
    Newton's method on log(simulated / real), in log parameters (so they stay positive),
    the Jacobian by finite differences once and Broyden's update after, a step at most
    x4; the best point seen is kept."""
    rs, rd = per_io(shallow.job, shallow.ddir()), per_io(deep.job, deep.ddir())
    real = np.array([max(rs["usr"], 1.0), rd["slat"], rd["sys"], rs["sys"], rs["slat"]])

    def figures(x: np.ndarray) -> np.ndarray:
        cfg = _with(fitted, host__costs=_group_costs(base_costs, [float(v) for v in x], shadow))
        s, d = per_io(simulate(cfg, shallow), shallow.ddir()), per_io(simulate(cfg, deep), deep.ddir())
        return np.array([max(s["usr"], 1.0), d["slat"], d["sys"], s["sys"], s["slat"]])

    if x0 is None:
        ones = np.array([1.0, 1.0, 1.0] + ([base_costs["doorbell_ns"]] if shadow else []))
        f0 = figures(ones)
        parts = np.empty((len(real), len(ones)))
        for j in range(len(ones)):
            doubled = ones.copy()
            doubled[j] *= 2
            parts[:, j] = (figures(doubled) - f0) / ones[j]
        rest = f0 - parts @ ones
        x = np.linalg.lstsq(parts / real[:, None], (real - rest) / real, rcond=None)[0]
        x0 = list(np.maximum(x, 0.05 * ones))
    logx = np.log(np.asarray(x0, dtype=float))
    target = np.log(real)

    def resid(lx: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(figures(np.exp(lx)), 1e-3)) - target

    r = resid(logx)
    best = (float(np.sum(r * r)), logx)
    h = math.log(1.2)
    jac = np.empty((len(r), len(logx)))
    for j in range(len(logx)):
        step = logx.copy()
        step[j] += h
        jac[:, j] = (resid(step) - r) / h
    for _ in range(iterations):
        if best[0] < 1e-4:
            break
        dx = np.clip(np.linalg.lstsq(jac, -r, rcond=None)[0], -math.log(4), math.log(4))
        if not float(dx @ dx):
            break
        r_new = resid(logx + dx)
        jac += np.outer(r_new - r - jac @ dx, dx) / float(dx @ dx)  # Broyden's update
        logx, r = logx + dx, r_new
        if float(np.sum(r * r)) < best[0]:
            best = (float(np.sum(r * r)), logx)
    return [float(v) for v in np.exp(best[1])]


def _fit_units(fitted: Config, deep: Run) -> int:
    """Step 4: the unit count whose simulated IOPS of ``deep`` are nearest the real ones
    (in ratio): bisection for the fewest that reach 99% of them (where more units change
    nothing, as on a CPU-bound host, the fewest), then that count or one fewer."""
    d_real = deep.job[deep.ddir()]["iops"]
    seen: dict[int, float] = {}

    def iops(u: float) -> float:
        n = int(u)
        if n not in seen:
            seen[n] = simulate(_with(fitted, device__parallel_units=n), deep)[deep.ddir()]["iops"]
        return seen[n]

    units = int(_bisect(iops, 0.99 * d_real, 1.0, 1024.0, 12, integer=True))
    if units > 1 and abs(math.log(iops(units - 1) / d_real)) < abs(math.log(iops(units) / d_real)):
        units -= 1
    return units


def _fit_bandwidth(fitted: Config, runs: list[Run], ident: dict[str, str], reading: str) -> Config:
    """Step 5: from the largest-block run (>= 64 KiB) if any, the bandwidth at which the
    simulated bandwidth is 99% of the real one: the shared link and internal path
    (``reading="link"``) or a unit's own transfer rate (``"unit"``)."""
    big = max(runs, key=lambda r: r.bs())
    if big.bs() < 65536:
        return fitted
    b_real = big.job[big.ddir()]["bw_bytes"]

    def setting(g: float) -> dict[str, Any]:
        return {"device__unit_gbps": g} if reading == "unit" else {"device__link_gbps": g, "device__internal_gbps": g}

    def bw(g: float) -> float:
        return simulate(_with(fitted, **setting(g)), big)[big.ddir()]["bw_bytes"]

    gbps = round(_bisect(bw, 0.99 * b_real, 0.01, 64.0, 16), 3)
    if gbps >= 64.0:  # the bandwidth does not bind at that size: leave it be
        return fitted
    for k in [k for k in ident if k.startswith("device.unit_gbps") or k.startswith("device.link_gbps")]:
        del ident[k]
    name = "device.unit_gbps" if reading == "unit" else "device.link_gbps = internal_gbps"
    ident[f"{name} ({gbps})"] = f"{Path(big.path).name}: bandwidth at bs {big.bs()}"
    return _with(fitted, **setting(gbps))


BANDWIDTH_READINGS = ("link", "unit")


def _figure(job: dict[str, Any], ddir: str, key: str) -> float:
    if key in ("usr", "sys", "slat"):
        return per_io(job, ddir)[key]
    d = job[ddir]
    return float({"clat": d["clat_ns"]["mean"], "iops": d["iops"], "bw": d["bw_bytes"]}[key])


def _misfit(fitted: Config, shallow: Run, deep: Run, big: Run) -> float:
    """How far the fitted figures are from the real ones: the root mean square of
    log(simulated / real) over the shallow run's usr, sys, slat and clat, the deep run's
    slat, sys and IOPS and the largest-block run's bandwidth."""
    errs = []
    for r, keys in ((shallow, ("usr", "sys", "slat", "clat")), (deep, ("slat", "sys", "iops")), (big, ("bw",))):
        sim = simulate(fitted, r)
        for k in keys:
            a, b = _figure(r.job, r.ddir(), k), _figure(sim, r.ddir(), k)
            if a > 0 and b > 0:
                errs.append(math.log(b / a))
    return math.sqrt(sum(e * e for e in errs) / len(errs)) if errs else 0.0


def calibrate(runs: list[Run], start: Config, bandwidth: str = "link") -> Calibration:
    """Fit ``start``'s host costs and device to ``runs`` (see the module's steps).

    ``bandwidth``: how the large-block run's bandwidth is read -- ``link``: a shared path
    (an SSD stripes a command's data over its dies; the link and controller bind), or
    ``unit``: each unit moves its own command's data (a virtual disk whose backend copies
    per request).  The minimal set of runs cannot tell them apart; a mid-size held-out
    run can (docs/calibration.md)."""
    if bandwidth not in BANDWIDTH_READINGS:
        raise ValidateError(f"bandwidth: expected one of {', '.join(BANDWIDTH_READINGS)}, got {bandwidth!r}")
    if not runs:
        raise ValidateError("no runs to calibrate on")
    for r in runs:  # every run's options are simulable (located errors before any fit)
        run_config(start, r.path, r.doc, r.index, r.options)
    quiet = _with(start, host__noise__enabled=False)
    ident: dict[str, str] = {}
    base = min(runs, key=lambda r: (r.depth(), r.bs()))
    ddir = base.ddir()
    small = [r for r in runs if r.bs() <= 16384] or runs
    deep = max(small, key=lambda r: (r.depth(), r.bs() == base.bs()))
    two_depths = deep.depth() > base.depth()
    # the shadow doorbell: the start's if it says, else what the slat does with depth
    shadow = start.device.shadow_doorbell
    if not shadow and two_depths and "shadow_doorbell" not in start.device.model_fields_set:
        s_lo, s_hi = per_io(base.job, ddir)["slat"], per_io(deep.job, deep.ddir())["slat"]
        if s_hi < SHADOW_SLAT_RATIO * s_lo:
            shadow = True
            ident["device.shadow_doorbell (true)"] = (
                f"slat falls from {s_lo / 1e3:.1f} us at iodepth {base.depth()} to {s_hi / 1e3:.1f} us at "
                f"{deep.depth()}: the doorbell is not rung while the device is busy")
    # the device's completions: in rounds if fio slept about once per iodepth I/Os
    rounds = start.device.completes == "round"
    if not rounds and two_depths and deep.depth() >= 4 and "completes" not in start.device.model_fields_set:
        ios = float(deep.job[deep.ddir()]["total_ios"]) or math.nan
        ctx_io = float(deep.job.get("ctx", 0)) / ios
        if ROUND_CTX[0] / deep.depth() < ctx_io < ROUND_CTX[1] / deep.depth():
            rounds = True
            ident["device.completes (round)"] = (
                f"{Path(deep.path).name}: fio slept {ctx_io:.4f} times per I/O at iodepth {deep.depth()} "
                f"(about once per {1 / ctx_io:.0f} I/Os): the device completes its queue in rounds")
    quiet = _with(quiet, device__shadow_doorbell=shadow, device__completes="round" if rounds else "each")
    # 1. one host scale from slat
    probe = _with(quiet, device__preset="custom", **{f"device__{ddir}": {"dist": "constant", "mean_us": PROBE_US}})
    sim = simulate(probe, base)[ddir]
    scale = base.job[ddir]["slat_ns"]["mean"] / sim["slat_ns"]["mean"] if sim["slat_ns"]["mean"] else 1.0
    base_costs = quiet.host.costs.model_dump()
    fitted = _with(probe, host__costs={k: v * scale for k, v in base_costs.items()})
    scales = {"host": scale}
    host_why = f"{Path(base.path).name}: mean slat at iodepth {base.depth()}"
    units = None
    if two_depths:
        # a provisional device: half the shallow run's clat, the start's units
        half = max(float(base.job[ddir]["clat_ns"]["mean"]) / 2e3, PROBE_US)
        fitted = _with(fitted, **{f"device__{ddir}": {"dist": "constant", "mean_us": half}})
        x = None
        big = max(runs, key=lambda r: r.bs())
        best: tuple | None = None
        for _ in range(ROUNDS):
            # 3. the host's step groups; then 5. the bandwidth, 2. the service, 4. the units,
            # twice (the service after what moves the shallow run's transfer, the units last)
            x = _fit_host(fitted, base_costs, x, base, deep, shadow)
            fitted = _with(fitted, host__costs=_group_costs(base_costs, x, shadow))
            for _ in range(2):
                fitted = _fit_bandwidth(fitted, runs, ident, bandwidth)
                fitted, svc_key, svc_why = _fit_service(fitted, base)
                units = _fit_units(fitted, deep)
                fitted = _with(fitted, device__parallel_units=units)
            score = _misfit(fitted, base, deep, big)
            if best is None or score < best[0]:
                best = (score, fitted, x, units, svc_key, svc_why)
            if score < MISFIT_DONE:
                break
        misfit, fitted, x, units, svc_key, svc_why = best
        scales = dict(zip(("user", "io", "event", "doorbell_ns"), x))
        host_why = (f"{Path(base.path).name}: usr and sys per I/O and slat" +
                    f" at iodepth {base.depth()}; {Path(deep.path).name}: slat and sys per I/O at iodepth "
                    f"{deep.depth()} (misfit {misfit:.3f})")
    else:
        for _ in range(2):  # 2. the service, 4. the units (one host scale), 5. the bandwidth
            fitted, svc_key, svc_why = _fit_service(fitted, base)
            if deep.depth() > 1:
                units = _fit_units(fitted, deep)
                fitted = _with(fitted, device__parallel_units=units)
            fitted = _fit_bandwidth(fitted, runs, ident, bandwidth)
        fitted, svc_key, svc_why = _fit_service(fitted, base)  # (the transfer is in its clat)
    key = "host.costs (" + ", ".join(f"{k} x {v:.3f}" if k != "doorbell_ns" else f"doorbell {v:,.0f} ns"
                                     for k, v in scales.items()) + ")"
    ident[key] = host_why
    ident[svc_key] = svc_why
    if units is not None:
        ident[f"device.parallel_units ({units})"] = f"{Path(deep.path).name}: IOPS at iodepth {deep.depth()}"
    platform = _with(fitted, host__noise__enabled=start.host.noise.enabled)
    return Calibration(platform=platform, host_scale=scales.get("io", scale), identified=ident, host_scales=scales)


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
    job = run(cfg, log_dir=None).fio_json(cfg.allocator.variants[0])["jobs"][0]["read"]
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
