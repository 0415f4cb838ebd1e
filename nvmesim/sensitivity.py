"""One-factor-at-a-time sensitivity of the variant deltas around a base config.

For each ``(dotted.path, values)`` axis, every value is run (all variants, the
config's replications, common random numbers) with the rest of the config as it
is, and the headline deltas are tabulated: slat/clat mean delta with its 95%
paired interval, IOPS delta %, the dma_pool CPU share ratio and lock waiting.
It answers "where does the allocator change matter" around one operating point;
grids over many axes are what sweeps are for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .api import load, run
from .compare import deltas
from .config import Config


@dataclass
class SensitivityRow:
    axis: str
    value: Any
    slat_base_us: float
    slat_delta_us: float
    slat_ci_us: tuple[float | None, float | None]
    clat_base_us: float
    clat_delta_us: float
    clat_ci_us: tuple[float | None, float | None]
    iops_base: float
    iops_delta_pct: float
    iops_ci_pct: tuple[float | None, float | None]
    dma_share_base: float
    dma_share_ratio: float
    spin_share_base: float
    spin_share_variant: float
    nodes_per_op: float
    error: str | None = None


def _ci(row: dict, scale: float) -> tuple[float | None, float | None]:
    if row["ci_low"] is None:
        return (None, None)
    return (row["ci_low"] / scale, row["ci_high"] / scale)


def evaluate(cfg: Config, axis: str = "base", value: Any = None) -> SensitivityRow:
    """Run ``cfg`` (its first two variants) and summarise the headline deltas."""
    result = run(cfg)
    rows = {(r["metric"], r["stat"]): r for r in deltas(result)}
    s, c, i = rows[("slat_ns", "mean")], rows[("clat_ns", "mean")], rows[("iops", "value")]
    d, sp = rows[("cpu_share_dma_pool", "value")], rows[("cpu_share_spin_lock", "value")]
    base = result.variants[0]
    pools = result.replications[base][0].pools if result.replications[base] else {}
    nodes = max((p["nodes_per_op"] for p in pools.values()), default=0.0)
    ib = i["baseline_value"] or 1.0
    return SensitivityRow(
        axis=axis,
        value=value,
        slat_base_us=s["baseline_value"] / 1e3,
        slat_delta_us=s["delta"] / 1e3,
        slat_ci_us=_ci(s, 1e3),
        clat_base_us=c["baseline_value"] / 1e3,
        clat_delta_us=c["delta"] / 1e3,
        clat_ci_us=_ci(c, 1e3),
        iops_base=i["baseline_value"],
        iops_delta_pct=100 * i["delta"] / ib,
        iops_ci_pct=(None, None) if i["ci_low"] is None else (100 * i["ci_low"] / ib, 100 * i["ci_high"] / ib),
        dma_share_base=d["baseline_value"],
        dma_share_ratio=d["variant_value"] / d["baseline_value"] if d["baseline_value"] else float("nan"),
        spin_share_base=sp["baseline_value"],
        spin_share_variant=sp["variant_value"],
        nodes_per_op=nodes,
    )


def one_at_a_time(
    cfg: Config,
    axes: dict[str, list[Any]],
    progress: Callable[[str, Any], None] | None = None,
) -> list[SensitivityRow]:
    """The base point, then each axis value with everything else at the base.
    An axis ``"a.b+c.d"`` sets both paths to each value (e.g. a batch size for
    submission and completion together)."""
    out = [evaluate(cfg)]
    base = cfg.effective()
    for path, values in axes.items():
        for v in values:
            if progress:
                progress(path, v)
            try:
                out.append(evaluate(load(base, {p: v for p in path.split("+")}), path, v))
            except Exception as e:  # recorded; the other points go on
                out.append(SensitivityRow(path, v, *([float("nan")] * 2), (None, None), *([float("nan")] * 2),
                                          (None, None), float("nan"), float("nan"), (None, None),
                                          *([float("nan")] * 5), error=f"{type(e).__name__}: {e}"))
    return out


def _fmt_ci(ci: tuple[float | None, float | None], digits: int = 1) -> str:
    if ci[0] is None:
        return "n/a"
    return f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"


def markdown(rows: list[SensitivityRow]) -> str:
    """The rows as a Markdown table (the form docs/reproduction.md quotes)."""
    head = ("| axis | value | slat µs | Δslat µs [95% CI] | clat µs | Δclat µs [95% CI] | IOPS | ΔIOPS % [95% CI] "
            "| dma_pool share (legacy) | stack/legacy | lock wait legacy→stack | legacy nodes/op |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        if r.error:
            lines.append(f"| {r.axis} | {r.value} | error: {r.error} |" + " |" * 9)
            continue
        lines.append(
            f"| {r.axis} | {'' if r.value is None else r.value} | {r.slat_base_us:,.1f} | "
            f"{r.slat_delta_us:+.1f} {_fmt_ci(r.slat_ci_us)} | {r.clat_base_us:,.1f} | "
            f"{r.clat_delta_us:+.1f} {_fmt_ci(r.clat_ci_us)} | {r.iops_base / 1e3:,.0f}k | "
            f"{r.iops_delta_pct:+.2f} {_fmt_ci(r.iops_ci_pct, 2)} | {100 * r.dma_share_base:.2f}% | "
            f"{r.dma_share_ratio:.2f} | {100 * r.spin_share_base:.2f}% → {100 * r.spin_share_variant:.2f}% | "
            f"{r.nodes_per_op:.1f} |"
        )
    return "\n".join(lines)
