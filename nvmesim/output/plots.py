"""Figures of sweep results (seaborn + matplotlib), for notebooks and ``nvmesim plot``.

Every ``plot_*`` function takes the tidy frames of :mod:`nvmesim.frames` — the
``results`` frame (one row per point x variant x replication x direction) and/or
the ``summary`` frame (one row per point x variant x metric) — and returns a
:class:`matplotlib.figure.Figure`; only :func:`save` writes files.

The figures are built as bare ``Figure`` objects, never through ``pyplot``: they
need no GUI backend (safe headless and in worker processes), are not kept alive
by pyplot's figure registry (no leak when plotting in a loop), and in Jupyter a
returned figure is displayed once (as the cell's value) instead of twice.

    >>> from nvmesim import plots
    >>> fig = plots.plot_metric(results, "workload.iodepth", "clat_mean_ns")  # doctest: +SKIP
    >>> fig = plots.plot_metric(summary, "workload.iodepth", "clat_ns.p99")   # doctest: +SKIP
    >>> plots.save(plots.plot_deltas(summary, "workload.iodepth"), "d.svg")   # doctest: +SKIP

Rows that carry an ``error`` (a failed point or replication, whose metrics are
missing) are left out of every figure.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "KINDS",
    "SAVE_FORMATS",
    "latency_cdf",
    "load_frames",
    "merge_bins",
    "plot_command",
    "plot_deltas",
    "plot_latency_cdf",
    "plot_metric",
    "plot_profile",
    "profile_table",
    "save",
    "short_name",
]

#: ``kind`` values of :func:`plot_command` (and ``nvmesim plot --kind``).
KINDS = ("metric", "cdf", "deltas", "profile")
#: File extensions :func:`save` accepts, with matplotlib's format name.
SAVE_FORMATS = {".png": "png", ".svg": "svg"}
#: Histogram columns of the results frame, by latency type.
LAT_TYPES = ("slat", "clat", "lat")

_IDLE_COLOR = "#d9d9d9"
_PANEL_W, _PANEL_H = 5.0, 3.8


# --------------------------------------------------------------------------- helpers


def _is_summary(frame: pd.DataFrame) -> bool:
    """A summary frame has the long-form ``metric``/``mean`` columns."""
    return {"metric", "mean"} <= set(frame.columns)


def _frame_name(frame: pd.DataFrame) -> str:
    return "summary" if _is_summary(frame) else "results"


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
    """The swept parameter columns: those between ``point`` and ``variant`` (frames' schema)."""
    cols = list(frame.columns)
    if "point" in cols and "variant" in cols and cols.index("point") < cols.index("variant"):
        return cols[cols.index("point") + 1:cols.index("variant")]
    return []


def _select_point(frame: pd.DataFrame, point: int | None) -> tuple[pd.DataFrame, str]:
    """The rows of one point (default: the first) and a title naming its parameters."""
    if "point" not in frame.columns:
        return frame, ""
    points = sorted(frame["point"].dropna().unique().tolist())
    if not points:
        raise ValueError("the results frame has no rows without errors")
    if point is None:
        point = points[0]
    elif point not in points:
        raise ValueError(f"no point {point!r}; available points: {', '.join(map(str, points))}")
    rows = frame[frame["point"] == point]
    params = ", ".join(f"{short_name(c)}={rows[c].iloc[0]}" for c in _param_columns(frame))
    return rows, f"point {point}" + (f": {params}" if params else "")


def _x_positions(frame: pd.DataFrame, x: str, categorical: bool = False) -> tuple[pd.Series, list[Any] | None]:
    """Numeric x as is (unless ``categorical``: then its sorted values); anything else (e.g.
    ``workload.bs`` = "16k") as positions 0..n-1 in order of first appearance (the sweep
    order), with the tick labels."""
    values = frame[x]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and not categorical:
        return values.astype(float), None
    cats = sorted(values.unique().tolist()) if numeric else list(dict.fromkeys(values.tolist()))
    return values.map({c: i for i, c in enumerate(cats)}).astype(float), cats


def _set_x_ticks(ax: Axes, cats: list[Any] | None) -> None:
    if cats is not None:
        ax.set_xticks(range(len(cats)), [str(c) for c in cats])


def _levels(frame: pd.DataFrame, col: str | None) -> list[Any]:
    return list(dict.fromkeys(frame[col].tolist())) if col is not None else [None]


def _palette(levels: list[Any]) -> dict[Any, Any]:
    return dict(zip(levels, sns.color_palette(n_colors=max(len(levels), 1))))


def _facets(n: int, sharey: bool = True) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(_PANEL_W * n + 1.5, _PANEL_H), layout="constrained")
    axes = fig.subplots(1, n, sharex=True, sharey=sharey, squeeze=False)[0]
    return fig, list(axes)


def short_name(path: str) -> str:
    """A dotted path (or joint ``a+b`` sweep axis) short enough for a panel title:
    the last component of each path, e.g. ``iodepth_batch_submit+…complete_min``."""
    parts = [p.rsplit(".", 1)[-1] for p in path.split("+")]
    return parts[0] if len(parts) == 1 else f"{parts[0]} (+{len(parts) - 1})"


def _finish_legend(fig: Figure, axes: list[Axes], title: str | None = None) -> None:
    """One legend, outside the panels on the right (drawn from the last panel's handles)."""
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels and not ll.startswith("_"):
                handles.append(hh)
                labels.append(ll)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", title=title, frameon=False)


# --------------------------------------------------------------------------- metric


def plot_metric(results: pd.DataFrame, x: str, y: str, hue: str | None = "variant", col: str | None = None,
                kind: str = "line", *, summary: pd.DataFrame | None = None, logx: bool = False) -> Figure:
    """``y`` against the swept parameter ``x``, one line (or bar group) per ``hue`` value and
    one panel per ``col`` value — how a metric responds to a parameter, per variant.

    ``y`` is either a column of the results frame (e.g. ``clat_mean_ns``, ``iops``): the
    replication rows are aggregated by seaborn (mean, ``errorbar=("ci", 95)``, bootstrap);
    or a summary ``metric`` (e.g. ``clat_ns.mean``, ``clat_ns.p99``, ``iops``), when
    ``results`` is itself a summary frame or ``summary`` is given: then the summary's
    ``mean`` is drawn with its 95% t interval ``ci_low``/``ci_high`` as error bars (the
    interval the CLI reports; the bootstrap one is narrow with 2-5 replications).  A
    summary given explicitly wins for names in both (``iops``, ``bw_bytes``): the
    results' ``iops`` is per direction, the summary's is both directions together.

    With several directions in the results (``rw=randrw``) and ``direction`` neither the
    hue nor the col, line style tells read from write (``kind="bar"``: one panel each).
    ``kind`` is ``"line"`` or ``"bar"``; ``logx`` puts a numeric x on a log2 axis.
    The axis labels are the raw names ``x`` and ``y``.
    """
    if kind not in ("line", "bar"):
        raise ValueError(f"kind must be 'line' or 'bar', not {kind!r}")
    if _is_summary(results):
        summary, results = results, None
    use_summary = summary is not None and y in set(summary["metric"])
    if not use_summary and results is None:
        metrics = sorted(set(summary["metric"])) if summary is not None else []
        raise ValueError(f"no metric {y!r} in the summary frame; available metrics: {', '.join(metrics)}")
    frame = summary if use_summary else results
    assert frame is not None
    if not use_summary and y not in frame.columns:
        hint = ""
        if summary is not None:
            hint = f"; summary metrics: {', '.join(sorted(set(summary['metric'])))}"
        elif "." in y:
            hint = " (a summary metric? pass summary=... or plot the summary frame)"
        raise ValueError(f"no column {y!r} (for y) in the results frame; available columns: "
                         f"{', '.join(map(str, frame.columns))}{hint}")
    for name, role in ((x, "x"), (hue, "hue"), (col, "col")):
        _require(frame, name, role)

    data = _ok_rows(frame)
    if use_summary:
        data = data[data["metric"] == y]
    style = None
    if not use_summary and "direction" in data.columns and data["direction"].nunique() > 1 \
            and "direction" not in (hue, col, x):
        if kind == "line":
            style = "direction"
        elif col is None:
            col = "direction"
        else:
            raise ValueError("several directions in the results: use 'direction' as hue or col")
    pos, cats = _x_positions(data, x, categorical=kind == "bar")
    data = data.assign(__x=pos)
    hue_levels = _levels(data, hue)
    colors = _palette(hue_levels)
    col_levels = _levels(data, col)
    fig, axes = _facets(len(col_levels))
    for ax, cv in zip(axes, col_levels):
        sub = data if col is None else data[data[col] == cv]
        if use_summary:
            _summary_panel(ax, sub, hue, hue_levels, colors, kind)
        elif kind == "line":
            sns.lineplot(data=sub, x="__x", y=y, hue=hue, hue_order=hue_levels if hue else None,
                         palette=colors if hue else None, style=style, markers=True, dashes=True,
                         errorbar=("ci", 95), seed=0, err_style="band", ax=ax)
        else:
            sns.barplot(data=sub, x=x, y=y, hue=hue, order=cats, hue_order=hue_levels if hue else None,
                        palette=colors if hue else None, errorbar=("ci", 95), seed=0, ax=ax)
        if col is not None:
            ax.set_title(f"{short_name(col)} = {cv}", fontsize="medium")
        ax.set_xlabel(x)
        ax.set_ylabel(y if ax is axes[0] else "")
        _set_x_ticks(ax, cats)
        if logx and cats is None:
            ax.set_xscale("log", base=2)
        ax.grid(True, alpha=0.3)
        ax.set_axisbelow(True)
    _finish_legend(fig, axes, title=hue if hue and style is None else None)  # with a style: seaborn's subtitles
    return fig


def _summary_panel(ax: Axes, sub: pd.DataFrame, hue: str | None, hue_levels: list[Any],
                   colors: Mapping[Any, Any], kind: str) -> None:
    """Summary means with their 95% CI as error bars (a missing CI — one replication — as none)."""
    n = len(hue_levels)
    for i, hv in enumerate(hue_levels):
        g = (sub if hue is None else sub[sub[hue] == hv]).sort_values("__x")
        if g.empty:
            continue
        mean = g["mean"].to_numpy(float)
        lo = np.nan_to_num(mean - g["ci_low"].to_numpy(float))
        hi = np.nan_to_num(g["ci_high"].to_numpy(float) - mean)
        label = str(hv) if hue is not None else None
        color = colors[hv]
        if kind == "line":
            ax.errorbar(g["__x"], mean, yerr=[lo, hi], marker="osD^v<>"[i % 7], capsize=3, color=color,
                        label=label)
        else:
            width = 0.8 / n
            ax.bar(g["__x"].to_numpy(float) + (i - (n - 1) / 2) * width, mean, width=width, yerr=[lo, hi], capsize=3,
                   color=color, label=label)


# --------------------------------------------------------------------------- latency CDF


def merge_bins(bins: Iterable[str | Mapping[str, int] | None]) -> dict[int, int]:
    """Merge fio json+ histograms (JSON text or dicts ``{"<ns>": count}``): counts summed per
    bin key.  Missing entries (``None``/NaN, from error rows) are skipped."""
    out: dict[int, int] = {}
    for b in bins:
        if b is None or (isinstance(b, float) and math.isnan(b)):
            continue
        d = json.loads(b) if isinstance(b, str) else b
        for k, v in d.items():
            out[int(k)] = out.get(int(k), 0) + int(v)
    return dict(sorted(out.items()))


def _bins_column(which: str) -> str:
    w = which.removesuffix("_bins").removesuffix("_ns")
    if w not in LAT_TYPES:
        raise ValueError(f"which must be one of {', '.join(LAT_TYPES)}, not {which!r}")
    return f"{w}_bins"


def latency_cdf(results: pd.DataFrame, which: str = "clat", hue: str | None = "variant",
                point: int | None = None) -> pd.DataFrame:
    """The empirical CDF of one latency type per ``hue`` value at one point (default: the
    first), from the histograms of all its rows (replications and directions) merged.

    Columns: ``<hue>`` (or ``group`` = "all" without a hue), ``latency_us`` (the fio bucket
    value), ``count``, ``fraction`` (of I/Os with latency <= ``latency_us``).
    """
    column = _bins_column(which)
    _require(results, column, "which")
    _require(results, hue, "hue")
    rows, _ = _select_point(_ok_rows(results), point)
    key = hue or "group"
    parts = []
    for hv in _levels(rows, hue):
        g = rows if hue is None else rows[rows[hue] == hv]
        merged = merge_bins(g[column])
        if not merged:
            continue
        ns = np.fromiter(merged.keys(), float)
        counts = np.fromiter(merged.values(), float)
        parts.append(pd.DataFrame({key: hv if hue else "all", "latency_us": ns / 1e3, "count": counts,
                                   "fraction": np.cumsum(counts) / counts.sum()}))
    if not parts:
        raise ValueError(f"no {column} histograms in the selected rows")
    return pd.concat(parts, ignore_index=True)


def plot_latency_cdf(results: pd.DataFrame, which: str = "clat", hue: str | None = "variant",
                     point: int | None = None) -> Figure:
    """The latency distribution per variant at one point: the empirical CDF (a step plot, log
    latency axis in µs) of the fio histograms of all replications and directions merged — the
    whole distribution, where a tail change shows that a mean or one percentile can hide."""
    cdf = latency_cdf(results, which, hue, point)
    _, title = _select_point(_ok_rows(results), point)
    key = hue or "group"
    fig, (ax,) = _facets(1)
    levels = _levels(cdf, key)
    colors = _palette(levels)
    for hv in levels:
        g = cdf[cdf[key] == hv]
        xs = np.concatenate([[g["latency_us"].iloc[0]], g["latency_us"].to_numpy()])
        ys = np.concatenate([[0.0], g["fraction"].to_numpy()])
        ax.step(xs, ys, where="post", color=colors[hv], label=f"{hv} (n={int(g['count'].sum())})")
    w = _bins_column(which).removesuffix("_bins")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{w} latency (us)")
    ax.set_ylabel("fraction of I/Os ≤ x")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title, fontsize="medium")
    _finish_legend(fig, [ax], title=hue)
    return fig


# --------------------------------------------------------------------------- deltas


def plot_deltas(summary: pd.DataFrame, x: str, metric: str = "clat_ns.mean", col: str | None = None, *,
                logx: bool = False) -> Figure:
    """The paired difference ``variant − baseline`` of one metric against the swept parameter
    ``x``, with its 95% paired-t interval as a shaded band and a zero line: where along the
    sweep the allocator change matters (band clear of zero) and by how much."""
    if not _is_summary(summary):
        raise ValueError("plot_deltas needs the summary frame (columns metric, mean, delta, ...)")
    metrics = list(dict.fromkeys(summary["metric"]))
    if metric not in metrics:
        raise ValueError(f"no metric {metric!r} in the summary frame; available metrics: {', '.join(metrics)}")
    for name, role in ((x, "x"), (col, "col")):
        _require(summary, name, role)
    data = _ok_rows(summary)
    data = data[(data["metric"] == metric) & (data["variant"] != data["baseline"])]
    if data.empty:
        raise ValueError("no non-baseline variant in the summary frame: nothing to compare")
    pos, cats = _x_positions(data, x)
    data = data.assign(__x=pos)
    variants = _levels(data, "variant")
    baselines = _levels(data, "baseline")
    colors = _palette(variants)
    col_levels = _levels(data, col)
    fig, axes = _facets(len(col_levels))
    for ax, cv in zip(axes, col_levels):
        sub = data if col is None else data[data[col] == cv]
        for v in variants:
            g = sub[sub["variant"] == v].sort_values("__x")
            if g.empty:
                continue
            ax.fill_between(g["__x"], g["delta_ci_low"].astype(float), g["delta_ci_high"].astype(float),
                            color=colors[v], alpha=0.25, linewidth=0, label=f"{v}: 95% CI")
            ax.plot(g["__x"], g["delta"], marker="o", color=colors[v], label=v)
        ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
        if col is not None:
            ax.set_title(f"{short_name(col)} = {cv}", fontsize="medium")
        _set_x_ticks(ax, cats)
        if logx and cats is None:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(x)
        ax.set_ylabel(f"Δ {metric} ({' / '.join(map(str, variants))} − {' / '.join(map(str, baselines))})"
                      if ax is axes[0] else "")
        ax.grid(True, alpha=0.3)
    _finish_legend(fig, axes)
    return fig


# --------------------------------------------------------------------------- CPU profile


def profile_table(results: pd.DataFrame, point: int | None = None) -> pd.DataFrame:
    """The CPU profile of one point (default: the first): per variant (rows, in frame order)
    the mean over replications of each symbol's self-time share ``cpu_<symbol>`` (perf
    report --no-children; they add up to the whole, idle included: columns are the
    symbols, profile order, ``idle`` last), symbols that are zero everywhere dropped.

    The shares repeat on both direction rows of a replication, so rows are first
    deduplicated by variant + replication.  The inclusive ``cpu_children_*`` and the
    derived ``cpu_share_*`` columns are not self time and are left out."""
    for name in ("variant", "replication"):
        _require(results, name, "the profile")
    rows, _ = _select_point(_ok_rows(results), point)
    labels = [c for c in rows.columns
              if c.startswith("cpu_") and not c.startswith(("cpu_share_", "cpu_children_"))]
    if not labels:
        raise ValueError("no cpu_<label> columns in the results frame")
    labels = [c for c in labels if c != "cpu_idle"] + [c for c in labels if c == "cpu_idle"]
    reps = rows.drop_duplicates(subset=["variant", "replication"])
    table = reps.groupby("variant", sort=False)[labels].mean()
    table = table.loc[:, (table.fillna(0.0) != 0.0).any(axis=0)]
    return table.rename(columns=lambda c: c.removeprefix("cpu_"))


def plot_profile(results: pd.DataFrame, point: int | None = None) -> Figure:
    """The perf-style CPU profile per variant at one point, as stacked bars of each symbol's
    self time (perf report --no-children) as a share of the job CPUs' time (idle last, light
    grey): where the cycles go, and how much of them the allocator
    (``dma_pool_alloc``/``dma_pool_free``) and its lock (``_raw_spin_lock_irqsave`` and its
    slowpath) take."""
    table = profile_table(results, point)
    _, title = _select_point(_ok_rows(results), point)
    busy = [c for c in table.columns if c != "idle"]
    colors = dict(zip(busy, sns.color_palette("tab10" if len(busy) <= 10 else "husl", n_colors=len(busy))))
    colors["idle"] = _IDLE_COLOR
    fig = Figure(figsize=(max(3.0, 1.3 * len(table)) + 3.0, 4.5), layout="constrained")
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
    ax.set_ylabel("share of job CPUs' time")
    ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.02)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    if title:
        ax.set_title(title, fontsize="medium")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="outside right upper", frameon=False)
    return fig


# --------------------------------------------------------------------------- output


def save(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as PNG or SVG, chosen by the extension of ``path`` (parent directories
    are created).  Any other extension is a ValueError naming the accepted ones."""
    p = Path(path)
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot save {str(path)!r}: extension {p.suffix or '(none)'!r} not supported; "
                         f"use one of {', '.join(SAVE_FORMATS)}")
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"{str(path)!r}: expected a .parquet or .csv file")


def load_frames(path: str | os.PathLike[str]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``(results, summary)`` from a sweep output directory (``results.parquet`` and
    ``summary.parquet``, or their ``.csv``) or from one .parquet/.csv file (a summary file is
    recognised by its ``metric`` column); a frame not found is None."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    if p.is_dir():
        found: list[pd.DataFrame | None] = []
        for name in ("results", "summary"):
            files = [p / f"{name}{ext}" for ext in (".parquet", ".csv") if (p / f"{name}{ext}").exists()]
            found.append(_read(files[0]) if files else None)
        if found[0] is None and found[1] is None:
            raise ValueError(f"{str(path)!r}: no results.parquet or summary.parquet in this directory")
        return found[0], found[1]
    frame = _read(p)
    return (None, frame) if _is_summary(frame) else (frame, None)


def _headless_backend() -> None:
    """Agg when no backend was chosen yet (a CLI run); a notebook's or user's choice stays."""
    get = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if get is not None and get() is None:
        matplotlib.use("Agg", force=False)


def plot_command(results_path: str, x: str | None, y: str | None, hue: str | None, col: str | None,
                 out: str, kind: str = "metric", *, point: int | None = None) -> None:
    """``nvmesim plot``: read a sweep directory or a results/summary file, draw one figure and
    save it to ``out`` (.png or .svg).

    ``kind``: ``metric`` (:func:`plot_metric`; ``x`` and ``y`` required, a summary metric is
    taken from the summary frame when there is one, else ``y`` is a results column),
    ``cdf`` (:func:`plot_latency_cdf`; ``y`` picks slat/clat/lat, default clat),
    ``deltas`` (:func:`plot_deltas`; ``y`` is the metric, default ``clat_ns.mean``; needs the
    summary) or ``profile`` (:func:`plot_profile`).  ``point`` picks the point of ``cdf`` and
    ``profile`` (default: the first).  A bad kind, extension or column name is a ValueError
    saying what is available (the CLI exits with code 2).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    suffix = Path(out).suffix.lower()
    if suffix not in SAVE_FORMATS:
        raise ValueError(f"cannot save {out!r}: extension {suffix or '(none)'!r} not supported; "
                         f"use one of {', '.join(SAVE_FORMATS)}")
    _headless_backend()
    results, summary = load_frames(results_path)

    def need(frame: pd.DataFrame | None, what: str) -> pd.DataFrame:
        if frame is None:
            raise ValueError(f"kind {kind!r} needs the {what} frame ({what}.parquet), not found in {results_path!r}")
        return frame

    if kind == "metric":
        if x is None or y is None:
            raise ValueError("kind 'metric' needs --x (a swept parameter) and --y (a metric)")
        if summary is not None and y in set(summary["metric"]):
            fig = plot_metric(summary, x, y, hue, col)
        elif results is not None and y in results.columns:
            fig = plot_metric(results, x, y, hue, col)
        else:
            avail = []
            if results is not None:
                avail.append(f"results columns: {', '.join(map(str, results.columns))}")
            if summary is not None:
                avail.append(f"summary metrics: {', '.join(dict.fromkeys(summary['metric']))}")
            raise ValueError(f"no column or metric {y!r} (for y); available {'; '.join(avail)}")
    elif kind == "cdf":
        fig = plot_latency_cdf(need(results, "results"), which=y or "clat", hue=hue, point=point)
    elif kind == "deltas":
        if x is None:
            raise ValueError("kind 'deltas' needs --x (a swept parameter)")
        fig = plot_deltas(need(summary, "summary"), x, metric=y or "clat_ns.mean", col=col)
    else:
        fig = plot_profile(need(results, "results"), point=point)
    save(fig, out)
