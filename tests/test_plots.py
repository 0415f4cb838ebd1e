"""nvmesim.plots: every figure kind renders (PNG/SVG) with the expected labels, from frames
built by tiny simulations through the public API (no sweep engine)."""

from __future__ import annotations

import json
import math

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from nvmesim import plots
from nvmesim.api import load, run

X = "workload.iodepth"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two points (iodepth 4, 16) x two variants (legacy, stack) x two replications, randread."""
    results, sums = [], []
    for i, depth in enumerate([4, 16]):
        r = run(load({"workload": {"runtime": "5ms", "ramp_time": "1ms", "bs": "16k", "iodepth": depth}},
                     {"sim.replications": 2}))
        results.append(r.to_frame({X: depth}, point=i))
        sums.append(r.summary({X: depth}, point=i))
    return pd.concat(results, ignore_index=True), pd.concat(sums, ignore_index=True)


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """One randrw point: a read and a write row per replication."""
    r = run(load({"workload": {"runtime": "4ms", "ramp_time": "1ms", "bs": "16k", "iodepth": 8, "rw": "randrw"}},
                 {"sim.replications": 2}))
    return r.to_frame({"workload.bs": "16k"}, point=0)


def check_png(path) -> None:
    """A non-empty, valid PNG whose pixels are not all one colour."""
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    rgb = (img[..., :3] * 255).astype(np.uint32)
    colours = rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
    assert len(np.unique(colours)) > 10
    assert img.std() > 0.01


def render(fig, tmp_path, name="fig.png"):
    path = tmp_path / name
    plots.save(fig, path)
    check_png(path)
    return path


def test_no_pyplot_figures_are_created(frames):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    results, _ = frames
    plots.plot_metric(results, X, "iops")
    plots.plot_profile(results)
    assert plt.get_fignums() == before


# ------------------------------------------------------------------ plot_metric


def test_metric_results_column_png(frames, tmp_path):
    results, _ = frames
    fig = plots.plot_metric(results, X, "clat_mean_ns")
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == X and ax.get_ylabel() == "clat_mean_ns"
    labels = fig.legends[0].get_texts()
    assert [t.get_text() for t in labels] == ["legacy", "stack"]
    # seaborn's aggregate: the line goes through the replication means
    line = ax.get_lines()[0]
    expected = results[results.variant == "legacy"].groupby(X)["clat_mean_ns"].mean()
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    np.testing.assert_allclose(line.get_xdata(), [4, 16])


def test_metric_summary_metric_uses_t_interval(frames, tmp_path):
    results, summary = frames
    for fig in (plots.plot_metric(results, X, "clat_ns.p99", summary=summary),
                plots.plot_metric(summary, X, "clat_ns.p99")):
        render(fig, tmp_path)
        ax = fig.axes[0]
        assert ax.get_xlabel() == X and ax.get_ylabel() == "clat_ns.p99"
        rows = summary[(summary.metric == "clat_ns.p99") & (summary.variant == "stack")].sort_values(X)
        stack = next(c for c in ax.containers if c.get_label() == "stack")
        np.testing.assert_allclose(stack.lines[0].get_ydata(), rows["mean"].to_numpy())
        # the error bar spans ci_low..ci_high
        segs = stack.lines[2][0].get_segments()
        np.testing.assert_allclose([s[0][1] for s in segs], rows["ci_low"].to_numpy())
        np.testing.assert_allclose([s[1][1] for s in segs], rows["ci_high"].to_numpy())


def test_metric_col_facets_and_bars(frames, tmp_path):
    results, summary = frames
    fig = plots.plot_metric(results, X, "iops", hue=None, col="variant")
    render(fig, tmp_path)
    assert [a.get_title() for a in fig.axes] == ["variant = legacy", "variant = stack"]
    assert fig.axes[0].get_ylabel() == "iops" and all(a.get_xlabel() == X for a in fig.axes)
    for frame in (results, summary):
        fig = plots.plot_metric(frame, X, "iops", kind="bar")
        render(fig, tmp_path)
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "16"]
        assert ax.get_xlabel() == X and ax.get_ylabel() == "iops"


def test_metric_mixed_directions_and_categorical_x(mixed, tmp_path):
    fig = plots.plot_metric(mixed, "workload.bs", "clat_mean_ns")
    render(fig, tmp_path)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "read" in texts and "write" in texts  # direction drawn as line style
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["16k"]


def test_error_rows_are_ignored(frames, tmp_path):
    results, _ = frames
    bad = pd.DataFrame([{"point": 2, X: 64, "variant": "legacy", "replication": -1, "direction": None,
                         "error": "replication 0: RuntimeError: boom"}])
    with_errors = pd.concat([results, bad], ignore_index=True)
    fig = plots.plot_metric(with_errors, X, "clat_mean_ns")
    render(fig, tmp_path)
    assert 64 not in fig.axes[0].get_lines()[0].get_xdata()


def test_unknown_columns_list_the_available_ones(frames):
    results, summary = frames
    with pytest.raises(ValueError, match="no column 'nope'") as e:
        plots.plot_metric(results, X, "nope")
    assert "clat_mean_ns" in str(e.value) and X in str(e.value)
    with pytest.raises(ValueError, match="workload.bs") as e:
        plots.plot_metric(results, "workload.bs", "iops")
    assert X in str(e.value) and "available columns" in str(e.value)
    with pytest.raises(ValueError, match="hue") as e:
        plots.plot_metric(results, X, "iops", hue="colour")
    assert "variant" in str(e.value)
    with pytest.raises(ValueError, match="available metrics") as e:
        plots.plot_deltas(summary, X, metric="clat_ns.p42")
    assert "clat_ns.p99" in str(e.value)
    with pytest.raises(ValueError, match="slat, clat, lat"):
        plots.plot_latency_cdf(results, which="qlat")
    with pytest.raises(ValueError, match="available points: 0, 1"):
        plots.plot_profile(results, point=7)


# ------------------------------------------------------------------ latency CDF


def test_merge_bins_sums_counts_per_key():
    assert plots.merge_bins(['{"1000": 2, "1500": 1}', {"1000": 1, "2000": 3}, None, math.nan]) == \
        {1000: 3, 1500: 1, 2000: 3}


def test_latency_cdf(frames, tmp_path):
    results, _ = frames
    fig = plots.plot_latency_cdf(results)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "clat latency (us)" and ax.get_ylabel() == "fraction of I/Os ≤ x"
    assert ax.get_xscale() == "log"
    cdf = plots.latency_cdf(results, "clat", point=0)
    for v, g in cdf.groupby("variant"):
        assert np.all(np.diff(g["fraction"]) > 0) and g["fraction"].iloc[-1] == pytest.approx(1.0)
        rows = results[(results.point == 0) & (results.variant == v)]
        per_row = sum(sum(json.loads(b).values()) for b in rows["clat_bins"])
        assert g["count"].sum() == per_row  # all replications (and directions) merged
    assert plots.latency_cdf(results, "lat_bins", hue=None, point=1)["group"].unique().tolist() == ["all"]
    fig = plots.plot_latency_cdf(results, which="slat", point=1)
    assert fig.axes[0].get_xlabel() == "slat latency (us)"
    assert "iodepth=16" in fig.axes[0].get_title()  # short parameter names in titles


# ------------------------------------------------------------------ deltas


def test_deltas(frames, tmp_path):
    _, summary = frames
    fig = plots.plot_deltas(summary, X)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == X and ax.get_ylabel() == "Δ clat_ns.mean (stack − legacy)"
    zero = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0, 0]]
    assert zero, "zero line"
    rows = summary[(summary.metric == "clat_ns.mean") & (summary.variant == "stack")].sort_values(X)
    delta = next(ln for ln in ax.get_lines() if ln.get_label() == "stack")
    np.testing.assert_allclose(delta.get_ydata(), rows["delta"].to_numpy())
    assert len(ax.collections) == 1  # the CI band
    fig = plots.plot_deltas(summary, X, metric="iops", col="point")
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "Δ iops (stack − legacy)"
    with pytest.raises(ValueError, match="summary"):
        plots.plot_deltas(frames[0], X)


# ------------------------------------------------------------------ profile


def test_profile(frames, mixed, tmp_path):
    results, _ = frames
    fig = plots.plot_profile(results)
    render(fig, tmp_path)
    assert fig.axes[0].get_ylabel() == "share of job CPUs' time"
    table = plots.profile_table(results)
    assert list(table.index) == ["legacy", "stack"]
    assert table.columns[-1] == "idle"
    assert "io_submit" not in table.columns  # zero everywhere (io_uring job)
    assert "share_dma_pool" not in table.columns  # derived, not a label
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=1e-6)
    rows = results[(results.point == 0) & (results.variant == "legacy")]
    assert table.loc["legacy", "fio"] == pytest.approx(rows["cpu_fio"].mean())
    # idle drawn last, in light grey
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "idle"
    # two direction rows per replication count once
    t = plots.profile_table(mixed)
    once = mixed.drop_duplicates(["variant", "replication"])
    assert t.loc["stack", "fio"] == pytest.approx(once[once.variant == "stack"]["cpu_fio"].mean())
    assert len(mixed) == 2 * len(once)


# ------------------------------------------------------------------ save


def test_save_svg_and_bad_extension(frames, tmp_path):
    results, _ = frames
    fig = plots.plot_profile(results)
    path = tmp_path / "sub" / "profile.SVG"
    plots.save(fig, str(path))
    text = path.read_text()
    assert "<svg" in text and "share of job CPUs" in text
    with pytest.raises(ValueError, match=r"\.png, \.svg"):
        plots.save(fig, tmp_path / "profile.jpg")
    with pytest.raises(ValueError, match="none"):
        plots.save(fig, tmp_path / "profile")


# ------------------------------------------------------------------ plot_command


@pytest.fixture(scope="module")
def sweep_dir(frames, tmp_path_factory):
    pytest.importorskip("pyarrow")
    out = tmp_path_factory.mktemp("sweep")
    results, summary = frames
    results.to_parquet(out / "results.parquet", index=False)
    summary.to_parquet(out / "summary.parquet", index=False)
    return out


@pytest.mark.parametrize("kind,x,y,col", [
    ("metric", X, "clat_ns.mean", None),      # a summary metric
    ("metric", X, "clat_p99_ns", "variant"),  # a results column
    ("cdf", None, None, None),
    ("deltas", X, "lat_ns.p99", None),
    ("profile", None, None, None),
])
def test_plot_command_on_sweep_dir(sweep_dir, tmp_path, kind, x, y, col):
    out = tmp_path / f"{kind}.png"
    plots.plot_command(str(sweep_dir), x, y, "variant", col, str(out), kind)
    check_png(out)


def test_plot_command_csv_and_errors(frames, sweep_dir, tmp_path):
    results, _ = frames
    csv = tmp_path / "results.csv"
    results.to_csv(csv, index=False)
    plots.plot_command(str(csv), X, "iops", "variant", None, str(tmp_path / "a.svg"))
    assert "<svg" in (tmp_path / "a.svg").read_text()
    plots.plot_command(str(csv), None, "lat", "variant", None, str(tmp_path / "c.png"), "cdf")
    check_png(tmp_path / "c.png")
    with pytest.raises(ValueError, match="no column or metric 'clat_p98_ns'") as e:
        plots.plot_command(str(sweep_dir), X, "clat_p98_ns", "variant", None, str(tmp_path / "x.png"))
    assert "clat_p99_ns" in str(e.value) and "clat_ns.p99" in str(e.value)
    with pytest.raises(ValueError, match="workload.numjobs") as e:
        plots.plot_command(str(sweep_dir), "workload.numjobs", "iops", "variant", None, str(tmp_path / "x.png"))
    assert X in str(e.value)
    with pytest.raises(ValueError, match="metric, cdf, deltas, profile"):
        plots.plot_command(str(sweep_dir), X, "iops", "variant", None, str(tmp_path / "x.png"), "pie")
    with pytest.raises(ValueError, match="extension"):
        plots.plot_command(str(sweep_dir), X, "iops", "variant", None, str(tmp_path / "x.pdf"))
    with pytest.raises(ValueError, match="needs the summary"):
        plots.plot_command(str(csv), X, None, "variant", None, str(tmp_path / "x.png"), "deltas")
    with pytest.raises(ValueError, match="--x"):
        plots.plot_command(str(sweep_dir), None, "iops", "variant", None, str(tmp_path / "x.png"))
    with pytest.raises(FileNotFoundError):
        plots.plot_command(str(tmp_path / "missing"), X, "iops", "variant", None, str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_bins_columns_are_json_text(frames):
    """The schema the CDF relies on: ``{"<ns>": count}`` JSON text per row."""
    results, _ = frames
    bins = json.loads(results["clat_bins"].iloc[0])
    assert all(k.isdigit() and isinstance(v, int) for k, v in bins.items())
