"""The Python API the CLI and notebooks share: load a config, run it, get results.

    >>> from nvmesim.api import load, run
    >>> cfg = load("configs/qd1.yaml", {"workload.runtime": 0.05})
    >>> result = run(cfg)
    >>> result.fio_json("stack")["jobs"][0]["read"]["iops"]   # doctest: +SKIP

A run simulates every allocator variant of ``cfg.allocator.variants`` for
``cfg.sim.replications`` replications; replication ``r`` of every variant uses
the same random streams (common random numbers).  A replication that fails is
recorded with its error instead of aborting the others.
"""

from __future__ import annotations

import copy
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import __version__
from .config import Config, apply_overrides, config_from_dict, load_config
from .fiojson import JobResult, document
from .model import ReplicationResult, run_replication

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[str, int, int, float], None]  # (variant, replication, replications, fraction)


def load(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Config:
    """A validated :class:`Config` from a YAML path or a dict, with dotted-path overrides."""
    if isinstance(source, Mapping):
        data = apply_overrides(dict(source), dict(overrides or {}))
        return config_from_dict(data)
    return load_config(source, dict(overrides or {}))


@dataclass
class RunResult:
    """All replications of all variants of one config, plus the effective config."""

    config: Config
    replications: dict[str, list[ReplicationResult]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def variants(self) -> list[str]:
        return list(self.replications)

    def merged_jobs(self, variant: str) -> list[JobResult]:
        """Each job merged over the variant's replications: histograms merged, counts
        and measured runtime summed (so IOPS and bandwidth are replication averages)."""
        reps = self.replications[variant]
        if not reps:
            return []
        out = []
        for j in range(len(reps[0].jobs)):
            base = copy.deepcopy(reps[0].jobs[j])
            for rep in reps[1:]:
                other = rep.jobs[j]
                for mine, theirs in ((base.read, other.read), (base.write, other.write)):
                    runtime = mine.runtime_ms + theirs.runtime_ms
                    mine.merge(theirs)
                    mine.runtime_ms = runtime
                base.job_runtime_ms += other.job_runtime_ms
                base.elapsed_s += other.elapsed_s
                base.ctx += other.ctx
            n = len(reps)
            base.usr_cpu = sum(r.jobs[j].usr_cpu for r in reps) / n
            base.sys_cpu = sum(r.jobs[j].sys_cpu for r in reps) / n
            base.extra = {
                "cpu": base.extra.get("cpu"),
                "mean_depth": sum(r.mean_depth[j] for r in reps) / n,
                "replications": n,
            }
            out.append(base)
        return out

    def group(self, variant: str) -> JobResult:
        """All jobs of a variant as one (fio's group_reporting)."""
        jobs = self.merged_jobs(variant)
        g = copy.deepcopy(jobs[0])
        for other in jobs[1:]:
            for mine, theirs in ((g.read, other.read), (g.write, other.write)):
                mine.merge(theirs)
            g.ctx += other.ctx
            g.usr_cpu += other.usr_cpu
            g.sys_cpu += other.sys_cpu
        g.usr_cpu /= len(jobs)
        g.sys_cpu /= len(jobs)
        return g

    def profile_share(self, variant: str) -> dict[str, float]:
        """CPU share per label on the job cores, over all replications of ``variant``."""
        reps = self.replications[variant]
        total = sum(r.window_ns * r.cores_used for r in reps)
        out: dict[str, float] = {}
        for r in reps:
            for k, v in r.profile_ns.items():
                out[k] = out.get(k, 0.0) + v
        return {k: v / total for k, v in out.items()} if total else {}

    def fio_json(self, variant: str, plus: bool = False, timestamp: int | None = None) -> dict[str, Any]:
        """fio's JSON document (json, or json+ with ``plus``) for one variant."""
        w = self.config.workload
        doc = document(
            self.merged_jobs(variant),
            global_options={},
            fmt="json+" if plus else "json",
            percentile_list=w.percentile_list,
            timestamp=timestamp,
            fio_version=f"nvmesim-{__version__}",
            clat_percentiles=w.clat_percentiles,
            lat_percentiles=w.lat_percentiles,
            slat_percentiles=w.slat_percentiles,
        )
        doc["nvmesim"] = self.nvmesim_extra(variant)
        return doc

    def nvmesim_extra(self, variant: str) -> dict[str, Any]:
        """What nvmesim adds beside fio's schema for one variant."""
        reps = self.replications[variant]
        return {
            "variant": variant,
            "replications": len(reps),
            "profile": self.profile_share(variant),
            "pools": [r.pools for r in reps],
            "errors": self.errors.get(variant, []),
        }

    def to_frame(self, params: Mapping[str, Any] | None = None, point: int = 0) -> "pd.DataFrame":
        """Tidy rows: one per variant x replication x direction (``nvmesim.frames``)."""
        from .frames import results_frame

        return results_frame(self, params, point)

    def summary(self, params: Mapping[str, Any] | None = None, point: int = 0) -> "pd.DataFrame":
        """Per variant and metric: mean, 95% CI, and the paired delta vs the baseline."""
        from .frames import summary_frame

        return summary_frame(self, params, point)

    def overview(self) -> "pd.DataFrame":
        """One row per variant: IOPS, bandwidth, mean latencies, clat p99, CPU shares."""
        import pandas as pd

        rows = []
        for v in self.variants:
            if not self.replications[v]:
                rows.append({"variant": v, "error": "; ".join(e.splitlines()[0] for e in self.errors.get(v, []))})
                continue
            g = self.group(v)
            secs = sum(r.window_ns for r in self.replications[v]) / 1e9
            ios = g.read.total_ios + g.write.total_ios
            nbytes = g.read.io_bytes + g.write.io_bytes
            lat = {k: [getattr(g.read, k), getattr(g.write, k)] for k in ("slat", "clat", "lat")}

            def mean_us(hs):
                n = sum(h.n for h in hs)
                return sum(h.mean * h.n for h in hs) / n / 1e3 if n else float("nan")

            clat = lat["clat"][0].copy().merge(lat["clat"][1])
            share = self.profile_share(v)
            rows.append({
                "variant": v, "IOPS": ios / secs if secs else 0.0, "BW (MB/s)": nbytes / secs / 1e6 if secs else 0.0,
                "slat mean (µs)": mean_us(lat["slat"]), "clat mean (µs)": mean_us(lat["clat"]),
                "lat mean (µs)": mean_us(lat["lat"]),
                "clat p99 (µs)": clat.percentiles([99.0]).get("99.000000", 0) / 1e3 if clat.n else float("nan"),
                "dma_pool CPU %": 100 * (share.get("dma_pool_alloc", 0) + share.get("dma_pool_free", 0)),
                "spin_lock CPU %": 100 * share.get("spin_lock", 0), "replications": len(self.replications[v]),
            })
        return pd.DataFrame(rows).set_index("variant")

    def deltas_frame(self) -> "pd.DataFrame":
        """The paired deltas (``to_json()["deltas"]``) as a DataFrame."""
        import pandas as pd

        from .compare import deltas

        return pd.DataFrame(deltas(self)) if len(self.variants) > 1 else pd.DataFrame()

    def _repr_html_(self) -> str:
        """Jupyter: the per-variant overview and the headline deltas as HTML tables."""
        w = self.config.workload
        head = (f"<p><b>{w.name}</b>: {w.ioengine} {w.rw} bs={w.bs} iodepth={w.iodepth} "
                f"batch={w.iodepth_batch_submit}/{w.iodepth_batch_complete_min} numjobs={w.numjobs}; "
                f"{self.config.sim.replications} replications; {self.wall_s:.1f} s</p>")
        html = head + self.overview().to_html(float_format=lambda x: f"{x:,.2f}")
        d = self.deltas_frame()
        if not d.empty:
            keep = d[(d["stat"].isin(["mean", "value"]))][
                ["metric", "stat", "baseline_value", "variant_value", "delta", "delta_pct", "ci_low", "ci_high"]]
            html += "<p>paired deltas (95% CI)</p>" + keep.to_html(index=False, float_format=lambda x: f"{x:,.4g}")
        return html

    def to_json(self, plus: bool = False, timestamp: int | None = None) -> dict[str, Any]:
        """``{"config", "runs": {variant: fio document}, "deltas": [...]}``."""
        from .compare import deltas

        return {
            "config": self.config.effective(),
            "runs": {v: self.fio_json(v, plus, timestamp) for v in self.variants},
            "deltas": deltas(self) if len(self.variants) > 1 else [],
        }


def run(cfg: Config, progress: Progress | bool | None = None, variants: list[str] | None = None) -> RunResult:
    """Simulate every variant (or the named ones) for ``cfg.sim.replications`` replications.

    ``progress=True`` shows a progress bar (on stderr, or live in a notebook)."""
    t0 = time.perf_counter()
    result = RunResult(config=cfg)
    names = variants or list(cfg.allocator.variants)
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
    for v in names:
        result.replications[v] = []
        for r in range(reps):
            if progress:
                progress(v, r, reps, 0.0)
            try:
                result.replications[v].append(run_replication(cfg, v, r))
            except Exception as e:  # recorded, not fatal: the other runs go on
                result.errors.setdefault(v, []).append(
                    f"replication {r}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
                )
            if progress:
                progress(v, r, reps, 1.0)
    if bar is not None:
        bar.close()
    result.wall_s = time.perf_counter() - t0
    return result
