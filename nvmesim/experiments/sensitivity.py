"""One-factor-at-a-time sensitivity of the variant deltas around a base config.

For each axis (a dotted path, or joint paths ``a.b+c.d``, with its values), every value
is run (all variants, the config's replications, common random numbers) with the rest of
the config as it is, and the headline figures are tabulated: slat/clat mean and their
delta with its 95% paired interval, IOPS and its delta %, the dma_pool CPU share ratio
and lock waiting.  It answers "where does the allocator change matter" around one
operating point; grids over many axes are what sweeps are for.  With a single variant
the table has the variant's figures and no deltas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..config import Axis, Config, load
from ..stats.intervals import NAN
from ..stats.metrics import SummaryRow
from .runner import run


@dataclass
class SensitivityRow:
    """One point of the table: the baseline's figures and the (first) variant's deltas."""

    axis: str
    value: Any
    slat_base_us: float = NAN
    slat_delta_us: float = NAN
    slat_ci_us: tuple[float, float] = (NAN, NAN)
    clat_base_us: float = NAN
    clat_delta_us: float = NAN
    clat_ci_us: tuple[float, float] = (NAN, NAN)
    iops_base: float = NAN
    iops_delta_pct: float = NAN
    iops_ci_pct: tuple[float, float] = (NAN, NAN)
    dma_share_base: float = NAN  # children (perf report's default view)
    dma_share_ratio: float = NAN
    dma_self_base: float = NAN  # self (perf report --no-children)
    dma_self_ratio: float = NAN
    spin_share_base: float = NAN  # waiting for the pool lock (its slowpath)
    spin_share_variant: float = NAN
    nodes_per_op: float = NAN
    error: str | None = None


def evaluate(cfg: Config, axis: str = "base", value: Any = None, workers: int | None = None) -> SensitivityRow:
    """Run ``cfg`` (its replications on ``workers`` processes: :func:`~.runner.run`) and
    summarise its baseline and, if there is one, its first other variant."""
    result = run(cfg, log_dir=None, workers=workers)
    if not any(result.replications.values()):
        errors = [e.splitlines()[0] for v in result.errors.values() for e in v]
        return SensitivityRow(axis, value, error="; ".join(errors) or "no replication ran")
    rows = result.summary_rows()
    base = result.variants[0]
    other = next((v for v in result.variants[1:] if result.replications[v]), None)
    b = {r.metric: r for r in rows if r.variant == base}
    d = {r.metric: r for r in rows if r.variant == other}
    nodes = result.metrics()[base]
    row = SensitivityRow(
        axis=axis,
        value=value,
        slat_base_us=b["slat_mean_ns"].mean / 1e3,
        clat_base_us=b["clat_mean_ns"].mean / 1e3,
        iops_base=b["iops"].mean,
        dma_share_base=b["cpu_share_dma_pool_children"].mean,
        dma_self_base=b["cpu_share_dma_pool_self"].mean,
        spin_share_base=b["cpu_share_lock_spin"].mean,
        nodes_per_op=sum(m["nodes_per_op"] for m in nodes.values()) / len(nodes),
    )
    if d:
        row.slat_delta_us, row.slat_ci_us = _delta(d["slat_mean_ns"], 1e3)
        row.clat_delta_us, row.clat_ci_us = _delta(d["clat_mean_ns"], 1e3)
        ib = d["iops"].baseline_value
        row.iops_delta_pct, row.iops_ci_pct = _delta(d["iops"], ib / 100.0 if ib else NAN)
        row.dma_share_ratio = _ratio(d["cpu_share_dma_pool_children"])
        row.dma_self_ratio = _ratio(d["cpu_share_dma_pool_self"])
        row.spin_share_variant = d["cpu_share_lock_spin"].variant_value
    return row


def _ratio(r: SummaryRow) -> float:
    return r.variant_value / r.baseline_value if r.baseline_value else NAN


def _delta(r: SummaryRow, scale: float) -> tuple[float, tuple[float, float]]:
    return r.delta / scale, (r.delta_ci_low / scale, r.delta_ci_high / scale)


def one_at_a_time(
    cfg: Config,
    axes: Sequence[Axis],
    progress: Callable[[str, Any], None] | None = None,
    workers: int | None = None,
) -> list[SensitivityRow]:
    """The base point, then each axis value with everything else at the base.
    A joint axis (``"a.b+c.d"``) sets all its paths to each value (e.g. a batch size for
    submission and completion together).  A point that fails is recorded as a row with
    its error.  Each point's replications run on ``workers`` processes (``None``: the
    machine's cores; the table is the same whatever the number)."""
    out = [evaluate(cfg, workers=workers)]
    base = cfg.effective()
    for axis in axes:
        for v in axis.values:
            if progress:
                progress(axis.name, v)
            try:
                out.append(evaluate(load(base, axis.overrides(v), origin=f"--vary {axis.name}"), axis.name, v,
                                    workers))
            except Exception as e:  # recorded; the other points go on
                out.append(SensitivityRow(axis.name, v, error=f"{type(e).__name__}: {e}"))
    return out


def _fmt_ci(ci: tuple[float, float], digits: int = 1) -> str:
    if math.isnan(ci[0]):
        return "n/a"
    return f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"


def _fmt(x: float, spec: str) -> str:
    return "n/a" if math.isnan(x) else format(x, spec)


def markdown(rows: list[SensitivityRow]) -> str:
    """The rows as a Markdown table (the form docs/reproduction.md quotes)."""
    head = ("| axis | value | slat µs | Δslat µs [95% CI] | clat µs | Δclat µs [95% CI] | IOPS | ΔIOPS % [95% CI] "
            "| dma_pool share children / self (baseline) | variant/baseline children / self "
            "| lock spin baseline→variant | baseline nodes/op |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        if r.error:
            lines.append(f"| {r.axis} | {r.value} | error: {r.error} |" + " |" * 9)
            continue
        lines.append(
            f"| {r.axis} | {'' if r.value is None else r.value} | {r.slat_base_us:,.1f} | "
            f"{_fmt(r.slat_delta_us, '+.1f')} {_fmt_ci(r.slat_ci_us)} | {r.clat_base_us:,.1f} | "
            f"{_fmt(r.clat_delta_us, '+.1f')} {_fmt_ci(r.clat_ci_us)} | {r.iops_base / 1e3:,.0f}k | "
            f"{_fmt(r.iops_delta_pct, '+.2f')} {_fmt_ci(r.iops_ci_pct, 2)} | {100 * r.dma_share_base:.2f}% / "
            f"{100 * r.dma_self_base:.2f}% | {_fmt(r.dma_share_ratio, '.2f')} / {_fmt(r.dma_self_ratio, '.2f')} | "
            f"{100 * r.spin_share_base:.2f}% → "
            f"{_fmt(100 * r.spin_share_variant, '.2f')}% | {_fmt(r.nodes_per_op, '.1f')} |"
        )
    return "\n".join(lines)
