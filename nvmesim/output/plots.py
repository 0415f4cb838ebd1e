"""Figures of results and sweeps (seaborn palettes + matplotlib), for notebooks and ``nvmesim plot``.

Every ``plot_*`` function takes the tidy frames of :mod:`nvmesim.output.frames` — the
``results`` frame (point x variant x replication x direction rows), the ``summary`` frame
(point x variant x metric rows) or the ``hists`` frame (long-form latency histograms) —
and returns a :class:`Figure`; only :func:`save` writes files.

Correct by construction:

* **nothing is pooled silently.**  Every swept parameter (and ``variant``, and a results
  frame's ``direction``) that varies within what one line, bar or panel would draw must be
  on an axis (``x``, ``hue``, ``col``, ``row``, ``style``) or selected (``where={param:
  value}``, ``point=``); otherwise the function refuses with a ValueError that lists them
  and their values.  (A zip axis stepped with ``x`` does not vary within a line: it is not
  asked for.)
* **units are scaled and named** (µs or ms for latencies, kIOPS, MiB/s, % for CPU shares
  and relative deltas) and parameters read by their short name (``iodepth``, not
  ``workload.iodepth``);
* error bars are always the 95% t interval over replications — of a mean
  (``ci_low``/``ci_high``) or of a paired delta (``delta_ci_low``/``delta_ci_high``) — the
  interval the CLI prints, computed by :mod:`nvmesim.stats.intervals` for results columns.

The figures are :class:`Figure` objects (a ``matplotlib.figure.Figure`` with a
``_repr_png_``), never made through ``pyplot``: Jupyter shows them as PNG with no
``%matplotlib`` magic, they need no GUI backend (safe headless and in worker processes),
and pyplot's registry does not keep them alive.

    >>> from nvmesim import plots
    >>> plots.plot_metric(summary, "workload.iodepth", "clat_p99_ns", col="workload.bs")   # doctest: +SKIP
    >>> plots.plot_deltas(summary, "workload.iodepth", "iops", relative=True)             # doctest: +SKIP
    >>> plots.save(plots.plot_latency_cdf(hists, point=3), "cdf.pdf")                    # doctest: +SKIP

Rows that carry an ``error`` (a failed point or replication) are left out of every figure.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.figure
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from ..stats.intervals import mean_interval

__all__ = [
    "KINDS",
    "SAVE_FORMATS",
    "Figure",
    "Frames",
    "latency_cdf",
    "load_frames",
    "metric_label",
    "param_label",
    "parse_where",
    "plot_command",
    "plot_deltas",
    "plot_latency_cdf",
    "plot_metric",
    "plot_profile",
    "profile_table",
    "save",
]

#: ``kind`` values of :func:`plot_command` (and ``nvmesim plot --kind``).
KINDS = ("metric", "cdf", "deltas", "profile")
#: File extensions :func:`save` accepts, with matplotlib's format name.
SAVE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Latency kinds of the hists frame.
LAT_TYPES = ("slat", "clat", "lat")

_IDLE_COLOR = "#d9d9d9"
_PANEL_W, _PANEL_H = 4.6, 3.4
_MARKERS = "osD^v<>"
_DASHES = ["-", "--", ":", "-."]


class Figure(matplotlib.figure.Figure):
    """A matplotlib figure that Jupyter displays as PNG by itself (``_repr_png_``): no
    ``%matplotlib inline`` needed (ipykernel registers no PNG formatter for a bare
    ``Figure`` without it), and a figure shown as a cell's value is shown once."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


# --------------------------------------------------------------------------- names and units


def param_label(path: str) -> str:
    """A swept dotted path as people read it: its last component (``workload.iodepth`` →
    ``iodepth``); a joint axis ``a+b`` names both (``iodepth_batch_submit = iodepth_batch_complete_min``)."""
    return " = ".join(p.rsplit(".", 1)[-1] for p in str(path).split("+"))


_LAT_STAT = {"mean": "mean", "p50": "median", "p99": "p99", "p99.9": "p99.9"}
_SPECIAL = {
    "iops": "IOPS", "bw_bytes": "bandwidth", "io_bytes": "data transferred", "ios": "I/Os",
    "nodes_per_op": "list nodes walked per pool op", "mean_depth": "mean queue depth (I/Os)",
    "cpu_share_dma_pool_self": "dma_pool_alloc+free, self", "cpu_share_dma_pool_children":
    "dma_pool_alloc+free, with callees", "cpu_share_pool_lock": "pool lock", "cpu_share_lock_spin":
    "pool lock spinning", "cpu_idle": "idle",
}


def _unit(metric: str, magnitude: float) -> tuple[str, float]:
    """(unit, scale) of a metric whose values reach ``magnitude`` (in the metric's own unit)."""
    if metric.endswith("_ns"):
        return ("ms", 1e-6) if magnitude >= 1e6 else ("µs", 1e-3)
    if metric == "iops":
        return ("kIOPS", 1e-3) if magnitude >= 1e4 else ("IOPS", 1.0)
    if metric == "bw_bytes":
        return "MiB/s", 1.0 / 2**20
    if metric == "io_bytes":
        return "MiB", 1.0 / 2**20
    if metric.startswith("cpu_"):
        return "% of job CPUs", 100.0
    return "", 1.0


def metric_label(metric: str, magnitude: float = 0.0) -> tuple[str, float]:
    """``(axis label with unit, scale)`` of a metric (one of :mod:`nvmesim.stats.metrics`'
    names) whose values reach ``magnitude``: ``clat_p99_ns`` → ``("clat p99 (µs)", 1e-3)``,
    ``iops`` at 350k → ``("IOPS (kIOPS)", 1e-3)``, ``cpu_share_pool_lock`` → a percentage."""
    unit, scale = _unit(metric, magnitude)
    name = _SPECIAL.get(metric)
    if name is None and metric.endswith("_ns"):
        kind, _, stat = metric.removesuffix("_ns").partition("_")
        name = f"{kind} {_LAT_STAT.get(stat, stat)}".strip()
    elif name is None and metric.startswith("cpu_children_"):
        name = f"{metric.removeprefix('cpu_children_')}, with callees"
    elif name is None and metric.startswith("cpu_"):
        name = f"{metric.removeprefix('cpu_')}, self"
    name = name or metric
    if metric == "iops":
        return unit, scale  # the unit is the name: IOPS or kIOPS
    return (f"{name} ({unit})" if unit else name), scale


# --------------------------------------------------------------------------- frame helpers


def _is_summary(frame: pd.DataFrame) -> bool:
    return {"metric", "mean"} <= set(frame.columns)


def _is_hists(frame: pd.DataFrame) -> bool:
    return {"bin_ns", "count", "kind"} <= set(frame.columns)


def _frame_name(frame: pd.DataFrame) -> str:
    return "summary" if _is_summary(frame) else "hists" if _is_hists(frame) else "results"


def _require(frame: pd.DataFrame, name: str | None, role: str) -> None:
    """ValueError naming the missing column and listing the available ones."""
    if name is not None and name not in frame.columns:
        raise ValueError(f"no column {name!r} (for {role}) in the {_frame_name(frame)} frame; "
                         f"available columns: {', '.join(map(str, frame.columns))}")


def _ok_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows without an error, in point order (so categorical x keep the sweep's order)."""
    if "error" in frame.columns:
        frame = frame[frame["error"].isna()]
    if "point" in frame.columns:
        frame = frame.sort_values("point", kind="stable")
    return frame


def _param_columns(frame: pd.DataFrame) -> list[str]:
    """The swept parameter columns: those between ``point`` and ``variant`` (the frames' schema)."""
    cols = list(frame.columns)
    if "point" in cols and "variant" in cols and cols.index("point") < cols.index("variant"):
        return cols[cols.index("point") + 1:cols.index("variant")]
    return []


def parse_where(items: Sequence[str]) -> dict[str, str]:
    """``["workload.bs=16k", ...]`` → ``{"workload.bs": "16k"}`` (``nvmesim plot --where``);
    an item without ``=`` is a ValueError."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"--where {item!r}: expected PARAM=VALUE, e.g. workload.bs=16k")
        out[key.strip()] = value.strip()
    return out


def _matches(series: pd.Series, value: Any) -> pd.Series:
    """Rows whose value equals ``value``; a string (from the command line) also matches a
    number it spells (``"64"`` matches 64, ``"1e3"`` matches 1000)."""
    if isinstance(value, str):
        hit = series.astype(str) == value
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            try:
                hit |= series.astype(float) == float(value)
            except ValueError:
                pass
        return hit
    return series == value


def _apply_where(frame: pd.DataFrame, where: Mapping[str, Any] | None) -> pd.DataFrame:
    """The rows matching every ``param=value`` of ``where`` (a value not present: a
    ValueError listing the values there are)."""
    for key, value in (where or {}).items():
        _require(frame, key, "where")
        hit = _matches(frame[key], value)
        if not hit.any():
            values = ", ".join(map(str, dict.fromkeys(frame[key].dropna().tolist())))
            raise ValueError(f"where {key}={value}: no such value; {key} takes {values}")
        frame = frame[hit]
    return frame


def _check_pooling(data: pd.DataFrame, keys: Sequence[str | None], candidates: Sequence[str],
                   what: str = "line") -> None:
    """Refuse to draw when a candidate column varies among rows that would be drawn as one
    ``what`` (same values of every ``keys`` column): it would be averaged over silently.
    The message lists each such column with its values and how to resolve it."""
    keys = [k for k in dict.fromkeys(keys) if k is not None]
    pooled = []
    for c in candidates:
        if c in keys or c not in data.columns or data[c].nunique(dropna=False) <= 1:
            continue
        per_group = data.groupby(keys, dropna=False, sort=False)[c].nunique(dropna=False) if keys else \
            pd.Series([data[c].nunique(dropna=False)])
        if (per_group > 1).any():
            values = list(dict.fromkeys(data[c].tolist()))
            shown = ", ".join(map(str, values[:8])) + (", ..." if len(values) > 8 else "")
            pooled.append((c, shown, values[0]))
    if pooled:
        listed = "; ".join(f"{c} ({shown})" for c, shown, _ in pooled)
        c0, _, v0 = pooled[0]
        raise ValueError(f"each {what} would pool over {listed}: put "
                         f"{'it' if len(pooled) == 1 else 'each'} on an axis (--col, --row, --style or --hue) "
                         f"or select one value (--where {c0}={v0})")


def _levels(frame: pd.DataFrame, col: str | None) -> list[Any]:
    return list(dict.fromkeys(frame[col].tolist())) if col is not None else [None]


def _palette(levels: list[Any]) -> dict[Any, Any]:
    return dict(zip(levels, sns.color_palette(n_colors=max(len(levels), 1))))


def _x_positions(frame: pd.DataFrame, x: str, categorical: bool = False) -> tuple[pd.Series, list[Any] | None]:
    """Numeric x as is (unless ``categorical``: then its sorted values as positions);
    anything else (``workload.bs`` = "16k") as positions 0..n-1 in sweep order, with the labels."""
    values = frame[x]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and not categorical:
        return values.astype(float), None
    cats = sorted(values.unique().tolist()) if numeric else list(dict.fromkeys(values.tolist()))
    return values.map({c: i for i, c in enumerate(cats)}).astype(float), cats


@dataclass
class _Grid:
    """The panels of a figure: one per (row value, col value)."""

    fig: Figure
    axes: dict[tuple[Any, Any], Axes]
    row: str | None
    col: str | None

    def titled(self) -> None:
        for (rv, cv), ax in self.axes.items():
            parts = [f"{param_label(n)} = {v}" for n, v in ((self.row, rv), (self.col, cv)) if n is not None]
            if parts:
                ax.set_title(", ".join(parts), fontsize="medium")


def _grid(data: pd.DataFrame, row: str | None, col: str | None, sharey: bool = True) -> _Grid:
    rows, cols = _levels(data, row), _levels(data, col)
    fig = Figure(figsize=(_PANEL_W * len(cols) + 1.8, _PANEL_H * len(rows) + 0.4), layout="constrained")
    grid = fig.subplots(len(rows), len(cols), sharex=True, sharey=sharey, squeeze=False)
    axes = {(rv, cv): grid[i][j] for i, rv in enumerate(rows) for j, cv in enumerate(cols)}
    return _Grid(fig, axes, row, col)


def _panel(data: pd.DataFrame, grid: _Grid, rv: Any, cv: Any) -> pd.DataFrame:
    sub = data
    if grid.row is not None:
        sub = sub[sub[grid.row] == rv]
    if grid.col is not None:
        sub = sub[sub[grid.col] == cv]
    return sub


def _finish(grid: _Grid, xlabel: str, ylabel: str, cats: list[Any] | None, *, logx: bool, logy: bool,
            title: str | None, legend_title: str | None) -> Figure:
    """Labels on the outer panels, ticks, scales, grid lines, one legend, the title."""
    grid.titled()
    rows, cols = _levels_of(grid, 0), _levels_of(grid, 1)
    for (rv, cv), ax in grid.axes.items():
        ax.set_xlabel(xlabel if rv == rows[-1] else "")
        ax.set_ylabel(ylabel if cv == cols[0] else "")
        if cats is not None:
            ax.set_xticks(range(len(cats)), [str(c) for c in cats])
        elif logx:
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
        if logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.set_axisbelow(True)
    handles, labels = [], []
    for ax in grid.axes.values():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if handles:
        grid.fig.legend(handles, labels, loc="outside right upper", title=legend_title, frameon=False)
    if title:
        grid.fig.suptitle(title)
    return grid.fig


def _levels_of(grid: _Grid, i: int) -> list[Any]:
    return list(dict.fromkeys(k[i] for k in grid.axes))


# --------------------------------------------------------------------------- metric


def _aggregate(data: pd.DataFrame, keys: list[str], y: str) -> pd.DataFrame:
    """Per group of ``keys``: the mean of ``y`` over its rows (replications) with the 95% t
    interval — the same interval the summary frame carries."""
    out = []
    for key, g in data.groupby(keys, dropna=False, sort=False):
        iv = mean_interval([float(v) for v in g[y] if pd.notna(v)])
        key = key if isinstance(key, tuple) else (key,)
        out.append({**dict(zip(keys, key)), "mean": iv.mean, "ci_low": iv.low, "ci_high": iv.high})
    return pd.DataFrame(out)


def plot_metric(frame: pd.DataFrame, x: str, y: str, hue: str | None = "variant", col: str | None = None,
                kind: str = "line", *, row: str | None = None, style: str | None = None,
                summary: pd.DataFrame | None = None, where: Mapping[str, Any] | None = None,
                logx: bool = False, logy: bool = False, title: str | None = None) -> Figure:
    """``y`` against the swept parameter ``x``: one line (or bar group) per ``hue`` value,
    line style per ``style`` value, one panel per ``col`` x ``row`` value — how a metric
    responds to a parameter, per variant — with the 95% t interval over replications as
    error bars.

    ``y`` is a metric name (:mod:`nvmesim.stats.metrics`).  It is read from the summary
    (``frame`` itself, or ``summary=``) when the summary has it — its means and CIs are
    over both directions together — else from the results frame's column, per direction
    (several directions are told apart by line style, or by panel with ``kind="bar"``).
    Swept parameters not on an axis must be selected with ``where`` (see the module doc).
    ``kind`` is ``"line"`` or ``"bar"``; ``logx`` puts a numeric x on a log2 axis.
    """
    if kind not in ("line", "bar"):
        raise ValueError(f"kind must be 'line' or 'bar', not {kind!r}")
    if kind == "bar" and style is not None:
        raise ValueError("style is for lines; with kind='bar' use hue, col or row")
    results = frame
    if _is_summary(frame):
        summary, results = frame, None
    use_summary = summary is not None and y in set(summary["metric"])
    if not use_summary and results is None:
        metrics = list(dict.fromkeys(summary["metric"])) if summary is not None else []
        raise ValueError(f"no metric {y!r} in the summary frame; available metrics: {', '.join(metrics)}")
    data = summary if use_summary else results
    assert data is not None
    if not use_summary and y not in data.columns:
        hint = f"; summary metrics: {', '.join(dict.fromkeys(summary['metric']))}" if summary is not None else ""
        raise ValueError(f"no column {y!r} (for y) in the results frame; available columns: "
                         f"{', '.join(map(str, data.columns))}{hint}")
    for name, role in ((x, "x"), (hue, "hue"), (col, "col"), (row, "row"), (style, "style")):
        _require(data, name, role)
    data = _apply_where(_ok_rows(data), where)
    if use_summary:
        data = data[data["metric"] == y]
    if data.empty:
        raise ValueError(f"no rows to plot for {y!r}")
    if not use_summary and "direction" in data.columns and data["direction"].nunique() > 1 \
            and "direction" not in (x, hue, col, row, style):
        if kind == "line" and style is None:
            style = "direction"
        elif col is None:
            col = "direction"
        elif row is None:
            row = "direction"
    keys = [k for k in dict.fromkeys((x, hue, col, row, style)) if k is not None]
    candidates = [*_param_columns(data), "variant", "direction"]
    _check_pooling(data, keys, candidates, "line" if kind == "line" else "bar")

    if use_summary:
        agg = data[[*keys, "mean", "ci_low", "ci_high"]]
    else:
        agg = _aggregate(data, keys, y)
    label, scale = metric_label(y, float(np.nanmax(np.abs(agg["mean"].to_numpy(float)))) if len(agg) else 0.0)
    agg = agg.assign(mean=agg["mean"] * scale, ci_low=agg["ci_low"] * scale, ci_high=agg["ci_high"] * scale)
    pos, cats = _x_positions(agg, x, categorical=kind == "bar")
    agg = agg.assign(__x=pos)
    hue_levels, style_levels = _levels(agg, hue), _levels(agg, style)
    colors = _palette(hue_levels)
    grid = _grid(agg, row, col)
    for (rv, cv), ax in grid.axes.items():
        sub = _panel(agg, grid, rv, cv)
        for i, hv in enumerate(hue_levels):
            for j, sv in enumerate(style_levels):
                g = sub if hue is None else sub[sub[hue] == hv]
                g = (g if style is None else g[g[style] == sv]).sort_values("__x")
                if g.empty:
                    continue
                m = g["mean"].to_numpy(float)
                err = [np.nan_to_num(m - g["ci_low"].to_numpy(float)), np.nan_to_num(g["ci_high"].to_numpy(float) - m)]
                name = ", ".join(str(v) for v in (hv, sv) if v is not None) or None
                if kind == "line":
                    ax.errorbar(g["__x"].to_numpy(float), m, yerr=err, marker=_MARKERS[(j if style else i) % len(_MARKERS)],
                                linestyle=_DASHES[j % len(_DASHES)], capsize=3, color=colors[hv], label=name)
                else:
                    width = 0.8 / len(hue_levels)
                    ax.bar(g["__x"].to_numpy(float) + (i - (len(hue_levels) - 1) / 2) * width, m, width=width,
                           yerr=err, capsize=3, color=colors[hv], label=name)
    legend_title = " / ".join(param_label(n) for n in (hue, style) if n is not None) or None
    return _finish(grid, param_label(x), label, cats, logx=logx, logy=logy, title=title, legend_title=legend_title)


# --------------------------------------------------------------------------- deltas


def plot_deltas(summary: pd.DataFrame, x: str, metric: str = "clat_mean_ns", col: str | None = None, *,
                row: str | None = None, where: Mapping[str, Any] | None = None, relative: bool = False,
                logx: bool = False, logy: bool = False, title: str | None = None) -> Figure:
    """The paired difference ``variant − baseline`` of one metric against the swept
    parameter ``x``, one colour per non-baseline variant, with its 95% paired-t interval
    as a band and a zero line: where along the sweep the allocator change matters (band
    clear of zero) and by how much.

    ``relative``: the delta in percent of the baseline mean (``delta_pct``; its band is the
    paired interval divided by the baseline mean, the baseline taken as exact)."""
    if not _is_summary(summary):
        raise ValueError("plot_deltas needs the summary frame (columns metric, mean, delta, ...)")
    metrics = list(dict.fromkeys(summary["metric"]))
    if metric not in metrics:
        raise ValueError(f"no metric {metric!r} in the summary frame; available metrics: {', '.join(metrics)}")
    for name, role in ((x, "x"), (col, "col"), (row, "row")):
        _require(summary, name, role)
    data = _apply_where(_ok_rows(summary), where)
    data = data[(data["metric"] == metric) & (data["variant"] != data["baseline"])]
    if data.empty:
        raise ValueError("no non-baseline variant in the summary frame: nothing to compare")
    _check_pooling(data, [x, "variant", col, row], [*_param_columns(data), "baseline"])
    base = data["baseline_value"].astype(float)
    if relative:
        y, lo, hi = data["delta_pct"].astype(float), 100 * data["delta_ci_low"] / base, 100 * data["delta_ci_high"] / base
        label = f"Δ {metric_label(metric)[0].split(' (')[0]} (% of baseline)"
    else:
        unit_label, scale = metric_label(metric, float(np.nanmax(np.abs(base.to_numpy()))))
        y, lo, hi = data["delta"] * scale, data["delta_ci_low"] * scale, data["delta_ci_high"] * scale
        label = f"Δ {unit_label}"
    data = data.assign(__y=y.astype(float), __lo=lo.astype(float), __hi=hi.astype(float))
    pos, cats = _x_positions(data, x)
    data = data.assign(__x=pos)
    variants, baselines = _levels(data, "variant"), _levels(data, "baseline")
    colors = _palette(variants)
    grid = _grid(data, row, col)
    for (rv, cv), ax in grid.axes.items():
        sub = _panel(data, grid, rv, cv)
        for v in variants:
            g = sub[sub["variant"] == v].sort_values("__x")
            if g.empty:
                continue
            gx = g["__x"].to_numpy(float)
            ax.fill_between(gx, g["__lo"].to_numpy(float), g["__hi"].to_numpy(float), color=colors[v], alpha=0.25, linewidth=0,
                            label=f"{v}: 95% CI")
            ax.plot(gx, g["__y"].to_numpy(float), marker="o", color=colors[v], label=v)
        ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
        if relative:
            ax.yaxis.set_major_formatter(mticker.PercentFormatter(100.0, decimals=None))
    legend_title = f"variant − {' / '.join(map(str, baselines))}"
    return _finish(grid, param_label(x), label, cats, logx=logx, logy=logy, title=title, legend_title=legend_title)


# --------------------------------------------------------------------------- one point


def _one_point(frame: pd.DataFrame, point: int | None, where: Mapping[str, Any] | None) -> tuple[pd.DataFrame, str]:
    """The rows of one point — ``point``, or the only one left after ``where`` — and a title
    naming its swept values.  Several points left: a ValueError listing them."""
    rows = _apply_where(_ok_rows(frame), where)
    if "point" not in rows.columns:
        return rows, ""
    points = list(dict.fromkeys(rows["point"].dropna().tolist()))
    if not points:
        raise ValueError(f"the {_frame_name(frame)} frame has no rows without errors")
    if point is not None:
        if point not in points:
            raise ValueError(f"no point {point!r}; available points: {', '.join(map(str, points))}")
        points = [point]
    params = _param_columns(frame)

    def describe(p: Any) -> str:
        r = rows[rows["point"] == p].iloc[0]
        return f"point {p}" + (": " + ", ".join(f"{param_label(c)}={r[c]}" for c in params) if params else "")

    if len(points) > 1:
        listed = "; ".join(describe(p) for p in points[:10]) + ("; ..." if len(points) > 10 else "")
        raise ValueError(f"this figure shows one point, and {len(points)} match: choose one with --point N "
                         f"(point=) or --where PARAM=VALUE; {listed}")
    return rows[rows["point"] == points[0]], describe(points[0])


# --------------------------------------------------------------------------- latency CDF


def latency_cdf(hists: pd.DataFrame, which: str = "clat", hue: str | None = "variant", point: int | None = None,
                *, style: str | None = None, where: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The empirical CDF of one latency kind per ``hue`` (x ``style``) value at one point,
    from the hists frame's buckets of all its replications merged (and of all directions,
    unless ``style="direction"``).

    Columns: ``<hue>`` (or ``group`` = "all" without a hue), ``<style>`` if given,
    ``latency_us`` (the fio bucket value), ``count``, ``fraction`` (of I/Os ≤ ``latency_us``).
    """
    if which not in LAT_TYPES:
        raise ValueError(f"which must be one of {', '.join(LAT_TYPES)}, not {which!r}")
    if not _is_hists(hists):
        raise ValueError("the latency CDF needs the hists frame (columns kind, bin_ns, count: "
                         "RunResult.hist_frame(), or a sweep's hists.parquet)")
    _require(hists, hue, "hue")
    _require(hists, style, "style")
    rows, _ = _one_point(hists, point, where)
    rows = rows[rows["kind"] == which]
    if rows.empty:
        raise ValueError(f"no {which} histograms in the selected rows")
    keys = [k for k in (hue, style) if k is not None]
    parts = []
    for key, g in (rows.groupby(keys, sort=False) if keys else [((), rows)]):
        key = key if isinstance(key, tuple) else (key,)
        merged = g.groupby("bin_ns")["count"].sum().sort_index()
        counts = merged.to_numpy(float)
        part = pd.DataFrame({"latency_us": merged.index.to_numpy(float) / 1e3, "count": counts,
                             "fraction": np.cumsum(counts) / counts.sum()})
        for k, v in reversed(list(zip(keys, key))):
            part.insert(0, k, v)
        if hue is None:
            part.insert(0, "group", "all")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _latency_axis(ax: Axes, lo_us: float, hi_us: float, log: bool) -> str:
    """A latency x axis that reads at any range: log with 1-2-5 ticks over a decade or more,
    linear over a narrower range; ms past 10 ms.  Returns the unit."""
    unit, scale = ("ms", 1e-3) if hi_us >= 1e4 else ("µs", 1.0)
    fmt = mticker.FuncFormatter(lambda v, _: f"{v * scale:g}")
    if log and hi_us / max(lo_us, 1e-9) >= 10:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    else:
        ax.xaxis.set_major_locator(mticker.MaxNLocator(6))
    ax.xaxis.set_major_formatter(fmt)
    return unit


def plot_latency_cdf(hists: pd.DataFrame, which: str = "clat", hue: str | None = "variant",
                     point: int | None = None, *, style: str | None = None, where: Mapping[str, Any] | None = None,
                     logx: bool = True, title: str | None = None) -> Figure:
    """The latency distribution per variant at one point: the empirical CDF (a step plot) of
    the fio histograms of all replications merged — the whole distribution, where a tail
    change shows that a mean or one percentile can hide.  Several directions in the point
    (``rw=randrw``) are drawn apart (line style) unless ``style`` says otherwise."""
    _require(hists, hue, "hue")
    if style is None and "direction" in hists.columns:
        sel, _ = _one_point(hists, point, where)
        if sel["direction"].nunique() > 1 and hue != "direction":
            style = "direction"
    cdf = latency_cdf(hists, which, hue, point, style=style, where=where)
    _, where_title = _one_point(hists, point, where)
    key = hue or "group"
    levels, style_levels = _levels(cdf, key), _levels(cdf, style)
    colors = _palette(levels)
    fig = Figure(figsize=(_PANEL_W + 2.4, _PANEL_H + 0.4), layout="constrained")
    ax = fig.subplots()
    for hv in levels:
        for j, sv in enumerate(style_levels):
            g = cdf[cdf[key] == hv]
            g = g if style is None else g[g[style] == sv]
            if g.empty:
                continue
            xs = np.concatenate([[g["latency_us"].iloc[0]], g["latency_us"].to_numpy()])
            ys = np.concatenate([[0.0], g["fraction"].to_numpy()])
            name = ", ".join(str(v) for v in (hv, sv) if v is not None)
            ax.step(xs, ys, where="post", color=colors[hv], linestyle=_DASHES[j % len(_DASHES)],
                    label=f"{name} (n={int(g['count'].sum()):,})")
    unit = _latency_axis(ax, float(cdf["latency_us"].min()), float(cdf["latency_us"].max()), logx)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel(f"{which} ({unit})")
    ax.set_ylabel(f"I/Os with {which} ≤ x")
    ax.grid(True, which="major", alpha=0.3)
    if where_title:
        ax.set_title(where_title, fontsize="medium")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False,
               title=" / ".join(param_label(n) for n in (hue, style) if n is not None) or None)
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- CPU profile


def profile_table(results: pd.DataFrame, point: int | None = None, *,
                  where: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The CPU profile of one point: per variant (rows, in frame order) the mean over
    replications of each symbol's self-time share ``cpu_<symbol>`` (perf report
    --no-children; they add up to the whole, idle included: columns are the symbols,
    profile order, ``idle`` last), symbols that are zero everywhere dropped.

    The shares repeat on both direction rows of a replication, so rows are first
    deduplicated by variant + replication.  The inclusive ``cpu_children_*`` and the
    derived ``cpu_share_*`` columns are not self time and are left out."""
    for name in ("variant", "replication"):
        _require(results, name, "the profile")
    rows, _ = _one_point(results, point, where)
    labels = [c for c in rows.columns if c.startswith("cpu_") and not c.startswith(("cpu_share_", "cpu_children_"))]
    if not labels:
        raise ValueError("no cpu_<symbol> columns in the results frame")
    labels = [c for c in labels if c != "cpu_idle"] + [c for c in labels if c == "cpu_idle"]
    reps = rows.drop_duplicates(subset=["variant", "replication"])
    table = reps.groupby("variant", sort=False)[labels].mean()
    table = table.loc[:, (table.fillna(0.0) != 0.0).any(axis=0)]
    return table.rename(columns=lambda c: c.removeprefix("cpu_"))


def plot_profile(results: pd.DataFrame, point: int | None = None, *, where: Mapping[str, Any] | None = None,
                 title: str | None = None) -> Figure:
    """The perf-style CPU profile per variant at one point, as stacked bars of each symbol's
    self time (perf report --no-children) as a share of the job CPUs' time (idle last, light
    grey): where the cycles go, and how much of them the allocator
    (``dma_pool_alloc``/``dma_pool_free``) and its lock (``_raw_spin_lock_irqsave`` and its
    slowpath) take."""
    table = profile_table(results, point, where=where)
    _, point_title = _one_point(results, point, where)
    busy = [c for c in table.columns if c != "idle"]
    colors = dict(zip(busy, sns.color_palette("tab10" if len(busy) <= 10 else "husl", n_colors=len(busy))))
    colors["idle"] = _IDLE_COLOR
    fig = Figure(figsize=(max(3.0, 1.3 * len(table)) + 3.4, 4.5), layout="constrained")
    ax = fig.subplots()
    xs = np.arange(len(table))
    bottom = np.zeros(len(table))
    for label in table.columns:
        share = table[label].fillna(0.0).to_numpy(float)
        bars = ax.bar(xs, share, bottom=bottom, width=0.6, color=colors[label], label=label,
                      edgecolor="white", linewidth=0.5)
        ax.bar_label(bars, labels=[f"{s:.1%}" if s >= 0.04 else "" for s in share], label_type="center",
                     fontsize="x-small")
        bottom += share
    ax.set_xticks(xs, [str(v) for v in table.index])
    ax.set_xlabel("variant")
    ax.set_ylabel("self time (% of job CPUs)")
    ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.02)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    if point_title:
        ax.set_title(point_title, fontsize="medium")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="outside right upper", frameon=False, title="perf symbol")
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- files


def _save_format(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot save {str(path)!r}: extension {p.suffix or '(none)'!r} not supported; "
                         f"use one of {', '.join(SAVE_FORMATS)}")
    return fmt


def save(fig: matplotlib.figure.Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as PNG, SVG or PDF, chosen by the extension of ``path`` (parent
    directories are created).  Any other extension is a ValueError naming the accepted ones."""
    fmt = _save_format(path)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")


@dataclass(frozen=True)
class Frames:
    """The frames found at a path (None: not there)."""

    results: pd.DataFrame | None
    summary: pd.DataFrame | None
    hists: pd.DataFrame | None


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"{str(path)!r}: expected a .parquet or .csv file")


def load_frames(path: str | os.PathLike[str]) -> Frames:
    """The frames of a sweep output directory (``results``, ``summary``, ``hists``, each
    .parquet or .csv) or of one .parquet/.csv file (recognised by its columns: ``metric``
    → summary, ``bin_ns`` → hists, else results)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    if p.is_dir():
        found: dict[str, pd.DataFrame | None] = {}
        for name in ("results", "summary", "hists"):
            files = [p / f"{name}{ext}" for ext in (".parquet", ".csv") if (p / f"{name}{ext}").exists()]
            found[name] = _read(files[0]) if files else None
        if all(v is None for v in found.values()):
            raise ValueError(f"{str(path)!r}: no results, summary or hists .parquet/.csv in this directory")
        return Frames(**found)
    frame = _read(p)
    if _is_summary(frame):
        return Frames(None, frame, None)
    if _is_hists(frame):
        return Frames(None, None, frame)
    return Frames(frame, None, None)


def _headless_backend() -> None:
    """Agg when no backend was chosen yet (a CLI run); a notebook's or user's choice stays."""
    get = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if get is not None and get() is None:
        matplotlib.use("Agg", force=False)


#: which ``nvmesim plot`` options each kind draws with (any other is refused, not ignored)
_APPLIES: dict[str, tuple[str, ...]] = {
    "--x": ("metric", "deltas"), "--col": ("metric", "deltas"), "--row": ("metric", "deltas"),
    "--style": ("metric", "cdf"), "--relative": ("deltas",), "--logx": ("metric", "deltas"),
    "--logy": ("metric", "deltas"), "--point": ("cdf", "profile"), "--hue": ("metric", "cdf"),
}


def plot_command(path: str, out: str, kind: str = "metric", *, x: str | None = None, y: str | None = None,
                 hue: str | None = "variant", col: str | None = None, row: str | None = None,
                 style: str | None = None, where: Mapping[str, Any] | None = None, point: int | None = None,
                 relative: bool = False, logx: bool = False, logy: bool = False,
                 title: str | None = None) -> None:
    """``nvmesim plot``: read a sweep directory or a frame file, draw one figure, save it
    to ``out`` (.png, .svg or .pdf).

    ``kind``: ``metric`` (:func:`plot_metric`; ``x`` and ``y`` required), ``deltas``
    (:func:`plot_deltas`; ``y`` the metric, default ``clat_mean_ns``; ``relative`` in %),
    ``cdf`` (:func:`plot_latency_cdf` from the hists; ``y`` picks slat/clat/lat, default
    clat) or ``profile`` (:func:`plot_profile`).  Any bad input is a ValueError (or
    FileNotFoundError) saying what is available; the CLI exits with code 2.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    _save_format(out)
    given = {"--x": x is not None, "--col": col is not None, "--row": row is not None, "--style": style is not None,
             "--relative": relative, "--logx": logx, "--logy": logy, "--point": point is not None,
             "--hue": hue != "variant"}
    for option in (o for o, on in given.items() if on and kind not in _APPLIES[o]):
        raise ValueError(f"{option} applies to --kind {' or '.join(_APPLIES[option])}, not {kind}")
    _headless_backend()
    frames = load_frames(path)

    def need(frame: pd.DataFrame | None, what: str) -> pd.DataFrame:
        if frame is None:
            raise ValueError(f"kind {kind!r} needs the {what} frame ({what}.parquet), not found in {path!r}")
        return frame

    fig: matplotlib.figure.Figure
    if kind == "metric":
        if x is None or y is None:
            raise ValueError("kind 'metric' needs --x (a swept parameter) and --y (a metric)")
        if frames.summary is not None and y in set(frames.summary["metric"]):
            fig = plot_metric(frames.summary, x, y, hue, col, row=row, style=style, where=where, logx=logx,
                              logy=logy, title=title)
        elif frames.results is not None and y in frames.results.columns:
            fig = plot_metric(frames.results, x, y, hue, col, row=row, style=style, where=where, logx=logx,
                              logy=logy, title=title)
        else:
            avail = []
            if frames.summary is not None:
                avail.append(f"metrics: {', '.join(dict.fromkeys(frames.summary['metric']))}")
            if frames.results is not None:
                avail.append(f"results columns: {', '.join(map(str, frames.results.columns))}")
            raise ValueError(f"no metric {y!r} (for --y); available {'; '.join(avail)}")
    elif kind == "cdf":
        fig = plot_latency_cdf(need(frames.hists, "hists"), which=y or "clat", hue=hue, point=point, style=style,
                               where=where, title=title)
    elif kind == "deltas":
        if x is None:
            raise ValueError("kind 'deltas' needs --x (a swept parameter)")
        fig = plot_deltas(need(frames.summary, "summary"), x, metric=y or "clat_mean_ns", col=col, row=row,
                          where=where, relative=relative, logx=logx, logy=logy, title=title)
    else:
        fig = plot_profile(need(frames.results, "results"), point=point, where=where, title=title)
    save(fig, out)
