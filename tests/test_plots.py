"""nvmesim.plots: every figure kind renders (PNG/SVG/PDF) with readable labels and units,
refuses to pool a swept parameter that is not on an axis, and draws the numbers of the
frames it is given — from frames built by tiny simulations through the public API."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nvmesim import plots
from nvmesim.api import load, run
from nvmesim.cli import app

X, BS = "workload.iodepth", "workload.bs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sweep(points: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    results, sums, hists = [], [], []
    for i, params in enumerate(points):
        wl = {"runtime": "5ms", "ramp_time": "1ms", "bs": "16k", "iodepth": 4}
        wl.update({k.removeprefix("workload."): v for k, v in params.items()})
        r = run(load({"workload": wl}, {"sim.replications": 2}))
        results.append(r.to_frame(params, point=i))
        sums.append(r.summary(params, point=i))
        hists.append(r.hist_frame(params, point=i))
    return tuple(pd.concat(f, ignore_index=True) for f in (results, sums, hists))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def one_axis():
    """iodepth 4, 16 x (legacy, stack) x 2 replications, randread."""
    return _sweep([{X: 4}, {X: 16}])


@pytest.fixture(scope="module")
def two_axes():
    """iodepth 4, 16 x bs 4k, 16k."""
    return _sweep([{X: d, BS: b} for b in ("4k", "16k") for d in (4, 16)])


@pytest.fixture(scope="module")
def mixed():
    """One randrw point: a read and a write row per replication."""
    r = run(load({"workload": {"runtime": "4ms", "ramp_time": "1ms", "bs": "16k", "iodepth": 8, "rw": "randrw"}},
                 {"sim.replications": 2}))
    return r.to_frame({BS: "16k"}, point=0), r.hist_frame({BS: "16k"}, point=0)


def check_png(path) -> None:
    """A non-empty, valid PNG whose pixels are not all one colour."""
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    rgb = (img[..., :3] * 255).astype(np.uint32)
    assert len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])) > 10


def render(fig, tmp_path, name="fig.png"):
    path = tmp_path / name
    plots.save(fig, path)
    check_png(path)
    return path


def test_figures_display_in_jupyter_without_magic(one_axis):
    """The returned figure carries its own PNG repr (IPython's display uses it); no pyplot
    figure is created behind the user's back."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    results, summary, hists = one_axis
    for fig in (plots.plot_metric(results, X, "iops"), plots.plot_profile(results, point=0),
                plots.plot_deltas(summary, X), plots.plot_latency_cdf(hists, point=1)):
        assert isinstance(fig, plots.Figure)
        assert fig._repr_png_().startswith(PNG_MAGIC)
    assert plt.get_fignums() == before
    from IPython.core.formatters import PNGFormatter

    assert PNGFormatter()(plots.plot_metric(results, X, "iops")).startswith(PNG_MAGIC)


# ------------------------------------------------------------------ names and units


@pytest.mark.parametrize("metric,magnitude,label,scale", [
    ("clat_mean_ns", 5e5, "clat mean (µs)", 1e-3),
    ("clat_p99.9_ns", 3e6, "clat p99.9 (ms)", 1e-6),
    ("slat_p50_ns", 900, "slat median (µs)", 1e-3),
    ("iops", 3.5e5, "kIOPS", 1e-3),
    ("iops", 900, "IOPS", 1.0),
    ("bw_bytes", 2**30, "bandwidth (MiB/s)", 2**-20),
    ("cpu_share_pool_lock", 0.02, "pool lock (% of job CPUs)", 100.0),
    ("cpu_dma_pool_alloc", 0.02, "dma_pool_alloc, self (% of job CPUs)", 100.0),
    ("cpu_children_fio", 0.5, "fio, with callees (% of job CPUs)", 100.0),
])
def test_metric_labels(metric, magnitude, label, scale):
    assert plots.metric_label(metric, magnitude) == (label, pytest.approx(scale))


def test_param_labels():
    assert plots.param_label("workload.iodepth") == "iodepth"
    assert plots.param_label("workload.iodepth_batch_submit+workload.iodepth_batch_complete_min") == \
        "iodepth_batch_submit = iodepth_batch_complete_min"


# ------------------------------------------------------------------ plot_metric


def test_metric_results_column_in_microseconds(one_axis, tmp_path):
    results, _, _ = one_axis
    fig = plots.plot_metric(results, X, "clat_mean_ns")
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "iodepth" and ax.get_ylabel() == "clat mean (µs)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["legacy", "stack"]
    line = ax.get_lines()[0]
    expected = results[results.variant == "legacy"].groupby(X)["clat_mean_ns"].mean() / 1e3
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    np.testing.assert_allclose(line.get_xdata(), [4, 16])


def test_metric_summary_error_bars_are_its_t_interval(one_axis, tmp_path):
    results, summary, _ = one_axis
    for fig in (plots.plot_metric(results, X, "clat_p99_ns", summary=summary),
                plots.plot_metric(summary, X, "clat_p99_ns")):
        render(fig, tmp_path)
        ax = fig.axes[0]
        assert ax.get_ylabel() == "clat p99 (µs)"
        rows = summary[(summary.metric == "clat_p99_ns") & (summary.variant == "stack")].sort_values(X)
        stack = next(c for c in ax.containers if c.get_label() == "stack")
        np.testing.assert_allclose(stack.lines[0].get_ydata(), rows["mean"] / 1e3)
        segs = stack.lines[2][0].get_segments()
        np.testing.assert_allclose([s[0][1] for s in segs], rows["ci_low"] / 1e3)
        np.testing.assert_allclose([s[1][1] for s in segs], rows["ci_high"] / 1e3)


def test_results_column_interval_matches_the_summary(one_axis):
    """A results column aggregated by the plot gets the summary's own t interval (randread:
    one direction, so the per-direction rows are the replications)."""
    results, summary, _ = one_axis
    ax = plots.plot_metric(results, X, "lat_mean_ns").axes[0]
    legacy = next(c for c in ax.containers if c.get_label() == "legacy")
    rows = summary[(summary.metric == "lat_mean_ns") & (summary.variant == "legacy")].sort_values(X)
    segs = legacy.lines[2][0].get_segments()
    np.testing.assert_allclose([s[0][1] for s in segs], rows["ci_low"] / 1e3, rtol=1e-9)


def test_unplotted_swept_axis_is_refused_or_faceted(two_axes, tmp_path):
    results, summary, _ = two_axes
    for frame in (results, summary):
        with pytest.raises(ValueError, match=r"pool over workload\.bs \(4k, 16k\)") as e:
            plots.plot_metric(frame, X, "iops")
        assert "--where workload.bs=4k" in str(e.value) and "--col" in str(e.value)
    with pytest.raises(ValueError, match="workload.bs"):
        plots.plot_deltas(summary, X, "iops")
    fig = plots.plot_metric(summary, X, "iops", col=BS)
    render(fig, tmp_path)
    assert [a.get_title() for a in fig.axes] == ["bs = 4k", "bs = 16k"]
    fig = plots.plot_metric(results, X, "iops", style=BS)
    assert {t.get_text() for t in fig.legends[0].get_texts()} == {"legacy, 4k", "legacy, 16k", "stack, 4k",
                                                                 "stack, 16k"}
    fig = plots.plot_metric(summary, X, "iops", where={BS: "16k"})
    rows = summary[(summary.metric == "iops") & (summary.variant == "legacy") & (summary[BS] == "16k")]
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), rows.sort_values(X)["mean"] / 1e3)
    fig = plots.plot_deltas(summary, X, "iops", col=BS, row=None)
    assert len(fig.axes) == 2
    fig = plots.plot_deltas(summary, BS, "clat_mean_ns", row=X)
    assert [a.get_title() for a in fig.axes] == ["iodepth = 4", "iodepth = 16"]
    with pytest.raises(ValueError, match="workload.bs takes 4k, 16k"):
        plots.plot_metric(summary, X, "iops", where={BS: "8k"})
    # variant off the hue must be faceted too
    with pytest.raises(ValueError, match=r"variant \(legacy, stack\)"):
        plots.plot_metric(summary, X, "iops", hue=None, col=BS)


def test_zip_axis_stepped_with_x_is_not_pooling(tmp_path):
    """bs and iodepth stepped together (a zip): each bs has one iodepth, nothing is pooled."""
    results, summary, _ = _sweep([{X: 4, BS: "4k"}, {X: 16, BS: "16k"}])
    render(plots.plot_metric(summary, X, "iops"), tmp_path)
    render(plots.plot_deltas(summary, BS, "iops", relative=True), tmp_path)


def test_bars_and_mixed_directions(one_axis, mixed, tmp_path):
    results, summary, _ = one_axis
    for frame in (results, summary):
        fig = plots.plot_metric(frame, X, "iops", kind="bar")
        render(fig, tmp_path)
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["4", "16"]
    rw, _ = mixed
    fig = plots.plot_metric(rw, BS, "clat_mean_ns")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "legacy, read" in texts and "stack, write" in texts  # direction as line style
    fig = plots.plot_metric(rw, BS, "clat_mean_ns", kind="bar")
    assert [a.get_title() for a in fig.axes] == ["direction = read", "direction = write"]


def test_error_rows_are_ignored(one_axis, tmp_path):
    results, _, _ = one_axis
    bad = pd.DataFrame([{"point": 2, X: 64, "variant": "legacy", "replication": -1, "direction": None,
                         "error": "replication 0: RuntimeError: boom"}])
    fig = plots.plot_metric(pd.concat([results, bad], ignore_index=True), X, "clat_mean_ns")
    render(fig, tmp_path)
    assert 64 not in fig.axes[0].get_lines()[0].get_xdata()


def test_unknown_names_list_the_available_ones(one_axis):
    results, summary, hists = one_axis
    with pytest.raises(ValueError, match="no column 'nope'") as e:
        plots.plot_metric(results, X, "nope")
    assert "clat_mean_ns" in str(e.value)
    with pytest.raises(ValueError, match="hue") as e:
        plots.plot_metric(results, X, "iops", hue="colour")
    assert "variant" in str(e.value)
    with pytest.raises(ValueError, match="available metrics") as e:
        plots.plot_deltas(summary, X, metric="clat_p42_ns")
    assert "clat_p99_ns" in str(e.value)
    with pytest.raises(ValueError, match="slat, clat, lat"):
        plots.plot_latency_cdf(hists, which="qlat", point=0)
    with pytest.raises(ValueError, match="available points: 0, 1"):
        plots.plot_profile(results, point=7)


# ------------------------------------------------------------------ deltas


def test_deltas_absolute_and_relative(one_axis, tmp_path):
    _, summary, _ = one_axis
    fig = plots.plot_deltas(summary, X)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "iodepth" and ax.get_ylabel() == "Δ clat mean (µs)"
    assert fig.legends[0].get_title().get_text() == "variant − legacy"
    assert [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0, 0]], "zero line"
    rows = summary[(summary.metric == "clat_mean_ns") & (summary.variant == "stack")].sort_values(X)
    delta = next(ln for ln in ax.get_lines() if ln.get_label() == "stack")
    np.testing.assert_allclose(delta.get_ydata(), rows["delta"] / 1e3)
    assert len(ax.collections) == 1  # the CI band
    fig = plots.plot_deltas(summary, X, metric="iops", relative=True)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Δ IOPS (% of baseline)"
    rows = summary[(summary.metric == "iops") & (summary.variant == "stack")].sort_values(X)
    delta = next(ln for ln in ax.get_lines() if ln.get_label() == "stack")
    np.testing.assert_allclose(delta.get_ydata(), rows["delta_pct"])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose(band.min(), (100 * rows["delta_ci_low"] / rows["baseline_value"]).min())
    assert ax.yaxis.get_major_formatter()(2.0, 0).endswith("%")
    with pytest.raises(ValueError, match="summary"):
        plots.plot_deltas(one_axis[0], X)


# ------------------------------------------------------------------ latency CDF


def test_latency_cdf_from_hists(one_axis, mixed, tmp_path):
    _, _, hists = one_axis
    with pytest.raises(ValueError, match="--point N") as e:
        plots.plot_latency_cdf(hists)
    assert "point 0: iodepth=4" in str(e.value) and "point 1: iodepth=16" in str(e.value)
    fig = plots.plot_latency_cdf(hists, point=0)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel() in ("clat (µs)", "clat (ms)") and ax.get_ylabel() == "I/Os with clat ≤ x"
    assert ax.get_title() == "point 0: iodepth=4"
    cdf = plots.latency_cdf(hists, "clat", point=0)
    for v, g in cdf.groupby("variant"):
        assert np.all(np.diff(g["fraction"]) > 0) and g["fraction"].iloc[-1] == pytest.approx(1.0)
        rows = hists[(hists.point == 0) & (hists.variant == v) & (hists.kind == "clat")]
        assert g["count"].sum() == rows["count"].sum()  # all replications merged
    assert plots.latency_cdf(hists, "lat", hue=None, where={X: "16"})["group"].unique().tolist() == ["all"]
    fig = plots.plot_latency_cdf(hists, which="slat", where={X: 16})
    assert fig.axes[0].get_title() == "point 1: iodepth=16"
    _, rw = mixed
    fig = plots.plot_latency_cdf(rw)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("legacy, read (n=") for t in texts) and any(t.startswith("stack, write") for t in texts)
    with pytest.raises(ValueError, match="hists frame"):
        plots.plot_latency_cdf(one_axis[0], point=0)


def test_latency_axis_ticks_do_not_collide():
    """A narrow range (under a decade) gets a linear axis with a few plain ticks; a wide one
    log ticks at 1-2-5; never more labels than fit."""
    from matplotlib.figure import Figure

    from nvmesim.output.plots import _latency_axis

    for lo, hi, scale in ((400.0, 600.0, "linear"), (5.0, 5000.0, "log")):
        fig = Figure()
        ax = fig.subplots()
        ax.plot([lo, hi], [0, 1])
        _latency_axis(ax, lo, hi, log=True)
        ax.set_xlim(lo, hi)
        fig.canvas.draw()
        assert ax.get_xscale() == scale
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert 2 <= len(labels) <= 12 and len(set(labels)) == len(labels)


# ------------------------------------------------------------------ profile


def test_profile(one_axis, mixed, tmp_path):
    results, _, _ = one_axis
    fig = plots.plot_profile(results, point=0)
    render(fig, tmp_path)
    assert fig.axes[0].get_ylabel() == "self time (% of job CPUs)"
    table = plots.profile_table(results, point=0)
    assert list(table.index) == ["legacy", "stack"] and table.columns[-1] == "idle"
    assert "io_submit" not in table.columns  # zero everywhere (io_uring job)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=1e-6)
    rows = results[(results.point == 0) & (results.variant == "legacy")]
    assert table.loc["legacy", "fio"] == pytest.approx(rows["cpu_fio"].mean())
    assert [t.get_text() for t in fig.legends[0].get_texts()][0] == "idle"
    with pytest.raises(ValueError, match="--point"):
        plots.plot_profile(results)
    rw, _ = mixed
    t = plots.profile_table(rw)
    once = rw.drop_duplicates(["variant", "replication"])
    assert t.loc["stack", "fio"] == pytest.approx(once[once.variant == "stack"]["cpu_fio"].mean())


# ------------------------------------------------------------------ save and the command


@pytest.mark.parametrize("ext,magic", [(".png", PNG_MAGIC), (".svg", b"<?xml"), (".PDF", b"%PDF")])
def test_save_formats(one_axis, tmp_path, ext, magic):
    path = tmp_path / "sub" / f"profile{ext}"
    plots.save(plots.plot_profile(one_axis[0], point=0), str(path))
    assert path.read_bytes().startswith(magic)


def test_save_bad_extension(one_axis, tmp_path):
    fig = plots.plot_profile(one_axis[0], point=0)
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        plots.save(fig, tmp_path / "profile.jpg")
    with pytest.raises(ValueError, match="none"):
        plots.save(fig, tmp_path / "profile")


@pytest.fixture(scope="module")
def sweep_dir(two_axes, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    for name, frame in zip(("results", "summary", "hists"), two_axes):
        frame.to_parquet(out / f"{name}.parquet", index=False)
    return out


def cli(*args: str):
    return CliRunner().invoke(app, ["plot", *args])


@pytest.mark.parametrize("args", [
    ["--x", X, "--y", "clat_mean_ns", "--col", BS],
    ["--x", X, "--y", "clat_p99_ns", "--where", f"{BS}=16k", "--logx", "--logy", "--title", "t"],
    ["--kind", "deltas", "--x", X, "--y", "iops", "--style", BS, "--relative"],  # style: refused for deltas?
    ["--kind", "deltas", "--x", BS, "--y", "lat_p99_ns", "--row", X],
    ["--kind", "cdf", "--point", "2", "--y", "slat"],
    ["--kind", "profile", "--where", f"{BS}=4k", "--where", f"{X}=16"],
])
def test_plot_command_on_sweep_dir(sweep_dir, tmp_path, args):
    out = tmp_path / "fig.png"
    r = cli(str(sweep_dir), "-o", str(out), *args)
    if "--style" in args:  # deltas draw one line per variant: no style axis
        assert r.exit_code == 2 and "--style applies to --kind metric or cdf, not deltas" in r.output
        return
    assert r.exit_code == 0, r.output
    check_png(out)


@pytest.mark.parametrize("args,message", [
    (["--x", X, "--y", "iops"], "pool over workload.bs (4k, 16k)"),
    (["--kind", "deltas", "--x", X], "--where workload.bs=4k"),
    (["--kind", "cdf"], "choose one with --point N"),
    (["--x", X, "--y", "clat_p98_ns", "--col", BS], "no metric 'clat_p98_ns'"),
    (["--x", "workload.numjobs", "--y", "iops"], "no column 'workload.numjobs'"),
    (["--kind", "pie"], "'pie' is not one of"),
    (["--x", X, "--y", "iops", "--where", "bs"], "expected PARAM=VALUE"),
    (["--x", X, "--y", "iops", "--relative", "--col", BS], "--relative applies to --kind deltas"),
])
def test_plot_command_errors_exit_2(sweep_dir, tmp_path, args, message):
    out = tmp_path / "x.png"
    r = cli(str(sweep_dir), "-o", str(out), *args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_plot_command_files(one_axis, tmp_path):
    results, summary, hists = one_axis
    csv = tmp_path / "results.csv"
    results.to_csv(csv, index=False)
    assert cli(str(csv), "--x", X, "--y", "iops", "-o", str(tmp_path / "a.svg")).exit_code == 0
    assert "<svg" in (tmp_path / "a.svg").read_text()
    hists.to_parquet(tmp_path / "h.parquet")
    assert cli(str(tmp_path / "h.parquet"), "--kind", "cdf", "--point", "1", "-o", str(tmp_path / "c.pdf")).exit_code == 0
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    r = cli(str(csv), "--kind", "deltas", "--x", X, "-o", str(tmp_path / "x.png"))
    assert r.exit_code == 2 and "needs the summary" in r.output
    r = cli(str(tmp_path / "missing"), "--x", X, "--y", "iops", "-o", str(tmp_path / "x.png"))
    assert r.exit_code == 2 and "does not exist" in r.output
    r = cli(str(csv), "--x", X, "--y", "iops", "-o", str(tmp_path / "x.jpg"))
    assert r.exit_code == 2 and ".png, .svg, .pdf" in r.output
