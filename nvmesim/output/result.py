"""The result of a run and its views: fio JSON, tidy frames, text, HTML.

A :class:`RunResult` holds every replication of every variant of one config, the errors
of the replications that failed, and the effective config.  Its numbers come from the
metrics layer (:mod:`nvmesim.stats.metrics`); its views from the modules beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from .. import __version__, model_version
from ..config import Config
from ..stats.metrics import SummaryRow, delta_rows, perf_views, pooled_profile, replication_metrics, summarize
from ..stats.records import JobResult, ReplicationResult, group_jobs, merge_replications
from . import perf, report
from .fiojson import document, job_options
from .terse import terse as terse_lines

if TYPE_CHECKING:  # pandas is imported by the frame views only when one is asked for
    import pandas as pd


def json_safe(x: Any) -> Any:
    """``x`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


@dataclass
class RunResult:
    """All replications of all variants of one config, plus the effective config."""

    config: Config
    replications: dict[str, list[ReplicationResult]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    wall_s: float = 0.0
    #: None for a whole run; why it is partial (interrupted: which replications finished)
    partial: str | None = None

    def __repr__(self) -> str:
        reps = ", ".join(f"{v}: {len(r)}" for v, r in self.replications.items())
        return (f"RunResult({self.config.workload.name!r}, replications {{{reps}}}, "
                f"{sum(len(e) for e in self.errors.values())} errors, {self.wall_s:.1f} s"
                + (", PARTIAL" if self.partial else "") + ")")

    @property
    def variants(self) -> list[str]:
        return list(self.replications)

    # ---- numbers (the metrics layer) ----------------------------------------
    def merged_jobs(self, variant: str) -> list[JobResult]:
        """Each job merged over the variant's replications (fio records, with the job's
        options): histograms merged, counts and runtime summed, CPU averaged."""
        jobs = merge_replications(self.replications[variant])
        options = job_options(self.config.workload)
        for job in jobs:
            job.job_options = dict(options)
        return jobs

    def group(self, variant: str) -> JobResult:
        """All jobs of a variant as one (fio's group_reporting)."""
        return group_jobs(self.merged_jobs(variant))

    def profile(self, variant: str) -> dict[str, dict[str, float]]:
        """The CPU profile over all replications of ``variant``, as shares of the job
        cores' time: ``{"self": {symbol: share}, "children": {...}, "chains": {folded
        chain: share}}`` (perf report --no-children, perf report, and the call chains)."""
        ns, core = pooled_profile(self.replications[variant])
        own, kids = perf_views(ns, core)
        return {"self": own, "children": kids, "chains": {k: (v / core if core else 0.0) for k, v in ns.items()}}

    def perf_report(self, variant: str, children: bool = True) -> str:
        """The variant's CPU profile over all its replications as ``perf report --stdio``
        prints it (``children=False``: ``--no-children``); :func:`.perf.perf_report`."""
        reps = self.replications[variant]
        ns, core = pooled_profile(reps)
        label = f"{self.config.workload.name}/{variant}, {len(reps)} replication{'s' if len(reps) != 1 else ''}"
        return perf.perf_report(ns, core, children=children, label=label)

    def folded_stacks(self, variant: str) -> str:
        """The variant's CPU profile over all its replications as folded stacks
        (``comm;a;b;c ns``, flamegraph.pl's input); :func:`.perf.folded_stacks`."""
        return perf.folded_stacks(pooled_profile(self.replications[variant])[0])

    def metrics(self, direction: str | None = None) -> dict[str, dict[int, dict[str, float]]]:
        """Per variant, per replication index: that replication's metrics."""
        return {v: {rep.replication: replication_metrics(rep, direction) for rep in reps}
                for v, reps in self.replications.items()}

    def summary_rows(self) -> list[SummaryRow]:
        """Per variant and metric: mean, 95% CI, and the paired delta vs the baseline."""
        return summarize(self.metrics())

    def deltas(self) -> list[dict[str, Any]]:
        """Every variant against the first (the baseline), metric by metric, paired by
        replication (empty with one variant)."""
        return delta_rows(self.summary_rows())

    # ---- fio's documents: JSON, json+, terse ---------------------------------
    def variant_job(self, variant: str, groupid: int = 0) -> JobResult:
        """A variant's jobs as one fio job (fio's ``group_reporting``), named
        ``<jobname>/<variant>`` (``highdepth/stack``) and in group ``groupid``: what the
        multi-variant documents hold, one per variant."""
        job = self.group(variant)
        job.jobname = f"{self.config.workload.name}/{variant}"
        job.groupid = groupid
        job.extra = {}  # per variant under the document's "nvmesim" key
        return job

    def fio_jobs(self, variant: str | None = None) -> list[JobResult]:
        """The jobs of a fio document: with ``variant``, that variant's jobs as fio reports
        them (one per job, group 0); without, one job per variant (:meth:`variant_job`),
        each in its own group (0, 1, ... in the config's order) so fio's per-group figures
        (``bw_agg``, the terse ``agg%``) stay per variant."""
        if variant is not None:
            return self.merged_jobs(variant)
        return [self.variant_job(v, i) for i, v in enumerate(self.variants) if self.replications[v]]

    def _document(self, jobs: list[JobResult], plus: bool, timestamp: int | None) -> dict[str, Any]:
        w = self.config.workload
        return document(
            jobs,
            global_options={},
            fmt="json+" if plus else "json",
            percentile_list=w.percentile_list,
            timestamp=timestamp,
            fio_version=f"nvmesim-{__version__}",
            clat_percentiles=w.clat_percentiles,
            lat_percentiles=w.lat_percentiles,
            slat_percentiles=w.slat_percentiles,
        )

    def fio_json(self, variant: str, plus: bool = False, timestamp: int | None = None) -> dict[str, Any]:
        """fio's JSON document (json, or json+ with ``plus``) for one variant: its jobs as
        fio reports them, nvmesim's extras for the variant under ``"nvmesim"``."""
        doc = self._document(self.fio_jobs(variant), plus, timestamp)
        doc["nvmesim"] = self.nvmesim_extra(variant)
        return doc

    def nvmesim_extra(self, variant: str) -> dict[str, Any]:
        """What nvmesim adds beside fio's schema for one variant."""
        reps = self.replications[variant]
        return json_safe({
            "version": __version__,
            "variant": variant,
            "replications": len(reps),
            "profile": self.profile(variant),
            "pools": [[p.as_dict() for p in r.pools] for r in reps],
            "errors": self.errors.get(variant, []),
            "partial": self.partial,
        })

    def to_json(self, plus: bool = False, timestamp: int | None = None) -> dict[str, Any]:
        """The whole run as ONE fio document (json, or json+ with ``plus``): ``jobs`` has one
        job per variant (:meth:`fio_jobs`), and everything nvmesim adds is under the one
        top-level key ``"nvmesim"``, which fio's tools ignore: ``{"version", "config"`` (the
        effective config)``, "variants": {variant: {"jobname", "groupid", ...}}`` (each
        variant's :meth:`nvmesim_extra` and its jobs' figures)``, "deltas"`` (every variant
        against the first, NaN as null)``}``.  ``fio_jsonplus_clat2csv`` reads it whole."""
        jobs = self.fio_jobs()
        doc = self._document(jobs, plus, timestamp)
        names = {j.groupid: j.jobname for j in jobs}
        variants: dict[str, Any] = {}
        for i, v in enumerate(self.variants):
            extra = self.nvmesim_extra(v)
            extra.pop("version")
            head: dict[str, Any] = {"jobname": names[i], "groupid": i} if i in names else {}
            per_job = [j.extra for j in merge_replications(self.replications[v])]
            variants[v] = {**head, **extra, "jobs": json_safe(per_job)}
        doc["nvmesim"] = {
            "version": __version__,
            "config": self.config.effective(),
            "variants": variants,
            "deltas": json_safe(self.deltas()),
            "partial": self.partial,
        }
        return doc

    def terse(self, variant: str | None = None) -> str:
        """fio's terse output (version 3, :mod:`.terse`): one line per job of the document
        :meth:`fio_jobs` gives for ``variant`` (one per variant without it)."""
        w = self.config.workload
        return terse_lines(self.fio_jobs(variant), w.percentile_list, clat_percentiles=w.clat_percentiles,
                           lat_percentiles=w.lat_percentiles, fio_version=f"nvmesim-{__version__}")

    # ---- frames, text, HTML --------------------------------------------------
    def to_frame(self, params: Mapping[str, Any] | None = None, point: int = 0) -> "pd.DataFrame":
        """Tidy rows: one per variant x replication x direction (:mod:`.frames`)."""
        from . import frames

        return frames.results_frame(self.replications, self.errors, params, point)

    def hist_frame(self, params: Mapping[str, Any] | None = None, point: int = 0) -> "pd.DataFrame":
        """The latency histograms, long form: one row per variant x replication x
        direction x kind x non-empty fio bucket (:func:`.frames.hist_frame`)."""
        from . import frames

        return frames.hist_frame(self.replications, params, point)

    def provenance(self) -> dict[str, Any]:
        """What produced these numbers: nvmesim's version, the root seed and the effective
        config (stored with every frame written)."""
        return {"nvmesim_version": __version__, "model_version": model_version(), "seed": self.config.sim.seed,
                "config": self.config.effective()}

    def to_parquet(self, path: str, frame: str = "results") -> None:
        """Write the ``results`` frame (:meth:`to_frame`), or ``"hists"``
        (:meth:`hist_frame`), ``"summary"``, ``"deltas"``, as a parquet file with
        :meth:`provenance` in its metadata (read back with
        :func:`nvmesim.output.frames.parquet_provenance`)."""
        from . import frames

        views = {"results": self.to_frame, "hists": self.hist_frame, "summary": self.summary,
                 "deltas": self.deltas_frame}
        if frame not in views:
            raise ValueError(f"frame: expected one of {', '.join(views)}, got {frame!r}")
        data = frames.parquet_bytes(views[frame](), self.provenance())
        with open(path, "wb") as fh:
            fh.write(data)

    def summary(self, params: Mapping[str, Any] | None = None, point: int = 0) -> "pd.DataFrame":
        """Per variant and metric: mean, 95% CI, and the paired delta vs the baseline."""
        from . import frames

        return frames.summary_frame(self.metrics(), params, point)

    def overview(self) -> "pd.DataFrame":
        """One row per variant: IOPS, bandwidth, mean latencies, clat p99, CPU shares."""
        from . import frames

        return frames.overview_frame(self.metrics(), self.errors)

    def deltas_frame(self) -> "pd.DataFrame":
        """The paired deltas as a DataFrame (empty with one variant)."""
        from . import frames

        return frames.deltas_frame(self.deltas())

    def text(self) -> str:
        """fio's normal output per variant, the CPU profile, pools and the delta table."""
        return report.summary(self.config.workload, self.replications, self.errors, self.deltas(),
                              partial=self.partial)

    def _repr_html_(self) -> str:
        """Jupyter: the per-variant overview and the headline deltas as HTML tables."""
        w = self.config.workload
        head = (f"<p><b>{w.name}</b>: {w.ioengine} {w.rw} bs={w.bs} iodepth={w.iodepth} "
                f"batch={w.iodepth_batch_submit}/{w.iodepth_batch_complete_min} numjobs={self.config.numjobs}; "
                f"{self.config.sim.replications} replications; {self.wall_s:.1f} s</p>")
        from .frames import OVERVIEW, display_frame

        html = head + display_frame(self.overview()).to_html(float_format=lambda x: f"{x:,.2f}")
        d = self.deltas_frame()
        d = d[d["metric"].isin(list(OVERVIEW))]
        if not d.empty:
            keep = d[["metric", "baseline_value", "variant_value", "delta", "delta_pct", "delta_ci_low",
                      "delta_ci_high"]]
            html += ("<p>paired deltas, in each metric's own unit (ns, bytes/s, share), with the delta's "
                     "95% CI</p>" + keep.to_html(index=False, float_format=lambda x: f"{x:,.4g}"))
        return html
