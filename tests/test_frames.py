"""The frames: one name per metric across every frame and view, one meaning per CI
column, histograms as a long-form table, parquet with provenance, a short repr."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import tiny_config
from nvmesim import __version__
from nvmesim.api import run
from nvmesim.output.frames import OVERVIEW, parquet_provenance
from nvmesim.stats.intervals import mean_interval, paired_interval
from nvmesim.stats.metrics import COMPARED, replication_metrics


@pytest.fixture(scope="module")
def result():
    cfg = tiny_config({"bs": "16k", "iodepth": 32, "iodepth_batch_submit": 8, "ramp_time": "5ms"},
                      sim={"replications": 3})
    return run(cfg, log_dir=None)


def test_one_name_per_metric_in_every_frame_and_view(result):
    results, summary, deltas = result.to_frame(), result.summary(), result.deltas_frame()
    overview, html = result.overview(), result._repr_html_()
    doc = result.to_json()["nvmesim"]["deltas"]
    for metric in COMPARED:
        assert metric in results.columns
        assert metric in set(summary["metric"])
        assert metric in set(deltas["metric"])
        assert metric in {d["metric"] for d in doc}
        assert set(replication_metrics(result.replications["stack"][0])) >= {metric}
    for metric in OVERVIEW:
        assert metric in overview.columns
        assert f">{metric}<" in html  # the HTML header names the column as the frames do
    # and the values are the same quantity: the summary's mean is the mean of the results'
    # column (over the replications, both directions of a replication together)
    stack = results[results.variant == "stack"]
    s = summary[(summary.variant == "stack") & (summary.metric == "clat_mean_ns")]
    assert len(stack) == 3  # reads only: one row per replication
    assert s["mean"].iloc[0] == pytest.approx(stack["clat_mean_ns"].mean())
    assert overview.loc["stack", "clat_mean_ns"] == pytest.approx(stack["clat_mean_ns"].mean())


def test_ci_columns_have_one_meaning(result):
    """``ci_low``/``ci_high``: the t interval of a mean; ``delta_ci_*``: the paired interval
    of a delta — in the summary and in the deltas frame alike."""
    results, summary, deltas = result.to_frame(), result.summary(), result.deltas_frame()
    assert "ci_low" not in deltas.columns and {"delta_ci_low", "delta_ci_high"} <= set(deltas.columns)
    b = results[results.variant == "legacy"].sort_values("replication")["iops"].to_numpy()
    v = results[results.variant == "stack"].sort_values("replication")["iops"].to_numpy()
    m, d = mean_interval(list(v)), paired_interval(list(v), list(b))
    row = summary[(summary.variant == "stack") & (summary.metric == "iops")].iloc[0]
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(m.low), pytest.approx(m.high))
    assert (row["delta_ci_low"], row["delta_ci_high"]) == (pytest.approx(d.low), pytest.approx(d.high))
    drow = deltas[deltas.metric == "iops"].iloc[0]
    assert (drow["delta_ci_low"], drow["delta_ci_high"]) == (pytest.approx(d.low), pytest.approx(d.high))
    assert drow["paired"] == 3


def test_histograms_are_a_long_form_table(result):
    hists = result.hist_frame()
    results = result.to_frame()
    assert not any(c.endswith("_bins") for c in results.columns)
    assert list(hists.columns) == ["point", "variant", "replication", "direction", "kind", "bin_ns", "count"]
    assert set(hists["kind"]) == {"slat", "clat", "lat"}
    # each latency sample once: clat and lat per completion, slat per submission; the
    # counts of the window (ios) differ from them by at most what was in flight at its edges
    per = hists.groupby(["variant", "replication", "direction", "kind"])["count"].sum()
    for _, row in results.iterrows():
        key = (row.variant, row.replication, row.direction)
        assert per[(*key, "clat")] == per[(*key, "lat")]
        for kind in ("slat", "clat"):
            assert abs(per[(*key, kind)] - row.ios) <= 32
    # the buckets' values give the mean within fio's bucket width (1/64 relative at most)
    g = hists[(hists.variant == "stack") & (hists.replication == 0) & (hists.kind == "clat")]
    approx = (g.bin_ns * g["count"]).sum() / g["count"].sum()
    rep = result.replications["stack"][0]
    exact = sum(j.read.clat.mean * j.read.clat.n for j in rep.jobs) / sum(j.read.clat.n for j in rep.jobs)
    assert approx == pytest.approx(exact, rel=1 / 64)


@pytest.mark.parametrize("frame", ["results", "hists", "summary", "deltas"])
def test_to_parquet_round_trips_with_provenance(result, tmp_path, frame):
    path = tmp_path / f"{frame}.parquet"
    result.to_parquet(str(path), frame=frame)
    back = pd.read_parquet(path)
    want = {"results": result.to_frame, "hists": result.hist_frame, "summary": result.summary,
            "deltas": result.deltas_frame}[frame]()
    pd.testing.assert_frame_equal(back, want, check_dtype=False)
    prov = parquet_provenance(str(path))
    assert prov["nvmesim_version"] == __version__
    assert prov["seed"] == result.config.sim.seed
    assert prov["config"] == result.config.effective()


def test_to_parquet_refuses_an_unknown_frame(result, tmp_path):
    with pytest.raises(ValueError, match="results, hists, summary, deltas"):
        result.to_parquet(str(tmp_path / "x.parquet"), frame="bogus")


def test_repr_is_short(result):
    text = repr(result)
    assert len(text) < 200 and "legacy: 3" in text and "stack: 3" in text
    assert not math.isnan(result.to_frame()["iops"].iloc[0])
