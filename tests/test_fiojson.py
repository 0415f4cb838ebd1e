"""Tests for nvmesim.fiojson: fio's JSON / json+ document.

Compared against a real fio 3.33 run (tests/data, see make_fio_fixture.sh)
and fed to fio's own json+ consumer, fio_jsonplus_clat2csv.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import time

import pytest

from helpers import FIXTURE, LOGS, job_of, run_clat2csv
from nvmesim.config import DEFAULT_PERCENTILES
from nvmesim.output.fiojson import document, dumps, job_to_json
from nvmesim.stats.distributions import (
    IODEPTH_LEVEL_KEYS,
    IODEPTH_SUBMIT_KEYS,
    LAT_M_KEYS,
    LAT_N_KEYS,
    batch_map_index,
    depth_level_index,
    iodepth_dict,
    latency_distribution,
    stat_calc_dist,
)
from nvmesim.stats.hist import LatencyHist, plat_idx_to_val, plat_val_to_idx
from nvmesim.stats.records import DirResult, JobResult

TS = 1_700_000_000


_job = job_of


def _hist_from_logs(pattern: str) -> LatencyHist:
    h = LatencyHist()
    files = sorted(LOGS.glob(pattern))
    assert files
    for f in files:
        h.merge(LatencyHist.from_samples(
            int(line.split(",")[1]) for line in f.read_text().splitlines() if line.strip()))
    return h


def _synthetic_job(seed: int = 0, n_read: int = 3000, n_write: int = 1000, **kw) -> JobResult:
    rng = random.Random(seed)
    job = JobResult(jobname=f"synth{seed}", job_options={"iodepth": "32", "bs": "4k"},
                    job_runtime_ms=1000, elapsed_s=1, **kw)
    for d, n in ((job.read, n_read), (job.write, n_write)):
        d.total_ios = n
        d.io_bytes = 4096 * n
        d.runtime_ms = 1000
        for _ in range(n):
            s = rng.randint(200, 3000)
            c = int(rng.lognormvariate(11.5, 0.6))
            d.slat.add(s)
            d.clat.add(c)
            d.lat.add(s + c)
    return job


# --------------------------------------------------------------------------
# structure against real fio


FREE_FORM = {"job options", "global options", "bins", "disk_util"}


def _types(a, b, path=""):
    """Assert that every key of fio's object b exists in a with the same JSON
    type (int vs float vs str vs dict vs list), recursively (option lists and
    bins hold run-specific keys and are only checked for their own type)."""
    if isinstance(b, dict):
        assert isinstance(a, dict), path
        if path.rsplit("/", 1)[-1] in FREE_FORM:
            assert all(type(x) is type(y) for x in a.values() for y in b.values()), path
            return
        for k, v in b.items():
            assert k in a, f"missing {path}/{k}"
            _types(a[k], v, f"{path}/{k}")
    elif isinstance(b, list):
        assert isinstance(a, list), path
    else:
        assert type(a) is type(b), f"{path}: {type(a).__name__} vs fio {type(b).__name__}"


def test_document_keys_and_types_match_fio(fio_doc):
    ours = document([_synthetic_job()], {"ioengine": "nvmesim", "iodepth": 32}, fmt="json+",
                    percentile_list="1:5:10:50:90:99:99.9:99.99", timestamp=TS,
                    lat_percentiles=True)
    assert list(ours) == list(fio_doc)  # same top-level keys, same order
    assert list(ours) == ["fio version", "timestamp", "timestamp_ms", "time",
                          "global options", "jobs", "disk_util"]
    fio_job = _job(fio_doc, "fixture")
    our_job = ours["jobs"][0]
    assert list(our_job) == list(fio_job)  # every per-job key, in fio's order
    for ddir in ("read", "write", "trim"):
        assert list(our_job[ddir]) == list(fio_job[ddir]), ddir
    assert list(our_job["read"]["clat_ns"]) == list(fio_job["read"]["clat_ns"])
    assert list(our_job["read"]["lat_ns"]) == list(fio_job["read"]["lat_ns"])
    assert list(our_job["read"]["slat_ns"]) == ["min", "max", "mean", "stddev", "N", ]
    _types(ours["jobs"][0], fio_job)
    _types({k: v for k, v in ours.items() if k != "jobs"},
           {k: v for k, v in fio_doc.items() if k != "jobs"})
    assert set(our_job["read"]) >= {
        "io_bytes", "io_kbytes", "bw_bytes", "bw", "iops", "runtime", "total_ios",
        "short_ios", "drop_ios", "slat_ns", "clat_ns", "lat_ns", "bw_min", "bw_max",
        "bw_agg", "bw_mean", "bw_dev", "bw_samples", "iops_min", "iops_max",
        "iops_mean", "iops_stddev", "iops_samples"}
    json.dumps(ours)  # plain JSON types only


def test_bw_iops_arithmetic_matches_fio(fio_doc):
    for job in fio_doc["jobs"]:
        for ddir in ("read", "write", "trim"):
            f = job[ddir]
            d = DirResult(total_ios=f["total_ios"], io_bytes=f["io_bytes"], runtime_ms=f["runtime"])
            ours = job_to_json(JobResult(**{ddir: d}))[ddir]
            for key in ("io_bytes", "io_kbytes", "bw_bytes", "bw", "iops", "runtime", "total_ios"):
                assert ours[key] == f[key], (job["jobname"], ddir, key)
                assert type(ours[key]) is type(f[key])


def test_whole_job_object_equals_fio(fio_doc):
    """The 'edge' job had no bandwidth samples (38 ms run), so with fio's own
    per-I/O latencies and counters every byte of the job object - directions,
    latency objects, percentiles, bins, latency_ns/us/ms - must equal fio's."""
    f = _job(fio_doc, "edge")
    fr = f["read"]
    assert fr["bw_samples"] == 0 and fr["iops_samples"] == 0
    read = DirResult(total_ios=fr["total_ios"], io_bytes=fr["io_bytes"], runtime_ms=fr["runtime"],
                     clat=_hist_from_logs("edge_clat.*.log"), lat=_hist_from_logs("edge_lat.*.log"))
    job = JobResult(jobname="edge", groupid=f["groupid"], job_options=f["job options"], read=read,
                    job_runtime_ms=f["job_runtime"], elapsed_s=f["elapsed"], usr_cpu=f["usr_cpu"],
                    sys_cpu=f["sys_cpu"], ctx=f["ctx"], majf=f["majf"], minf=f["minf"],
                    iodepth_level=f["iodepth_level"], iodepth_submit=f["iodepth_submit"],
                    iodepth_complete=f["iodepth_complete"])
    ours = job_to_json(job, f["job options"]["percentile_list"], plus=True, lat_percentiles=True)
    assert ours == f


def test_latency_distribution_exact_from_histograms(fio_doc):
    for name in ("edge", "grp"):
        f = _job(fio_doc, name)
        h = _hist_from_logs(f"{name}_clat.*.log")
        got = latency_distribution([h, LatencyHist(), LatencyHist()], f["read"]["total_ios"])
        assert got == (f["latency_ns"], f["latency_us"], f["latency_ms"]), name


def test_latency_distribution_rules():
    h = LatencyHist.from_samples([1] * 9999 + [999, 1000, 1999, 2000, 749, 750] + [3 * 10 ** 9])
    n, u, m = latency_distribution(h, 10_006)
    assert list(n) == list(LAT_N_KEYS) and list(m) == list(LAT_M_KEYS)
    assert n["2"] == 99.930042  # 9999 of 10006, printed with %f
    assert n["750"] == 0.01  # 749 alone: 0.009994 % is shown as 0.01
    assert n["1000"] == 0.019988  # 750 and 999
    assert u["2"] == 0.019988 and u["4"] == 0.01  # 1000 and 1999 | 2000
    assert m[">=2000"] == 0.01
    assert latency_distribution(LatencyHist(), 0)[1] == dict.fromkeys(LAT_N_KEYS, 0.0)


def test_fio_text_layout_round_trip():
    """dumps() reproduces fio's own text byte for byte."""
    text = FIXTURE.read_text()
    assert dumps(json.loads(text)) == text


# --------------------------------------------------------------------------
# options, flags, determinism


def test_percentile_flags_and_bins():
    job = _synthetic_job(1, n_read=500, n_write=0)
    plain = document([job], {}, fmt="json", timestamp=TS)
    r = plain["jobs"][0]["read"]
    assert "percentile" in r["clat_ns"] and "bins" not in r["clat_ns"]
    assert "percentile" not in r["slat_ns"] and "percentile" not in r["lat_ns"]
    assert list(r["clat_ns"]["percentile"]) == [f"{p:f}" for p in DEFAULT_PERCENTILES]
    w = plain["jobs"][0]["write"]
    assert w["clat_ns"] == {"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "N": 0}
    assert w["runtime"] == 0 and w["iops"] == 0.0 and w["bw"] == 0  # no bytes -> no runtime

    plus = document([job], {}, fmt="json+", timestamp=TS, slat_percentiles=True,
                    lat_percentiles=True, clat_percentiles=False, percentile_list=[99, 50])
    r = plus["jobs"][0]["read"]
    assert "percentile" not in r["clat_ns"] and "bins" not in r["clat_ns"]
    for lat, h in (("slat_ns", job.read.slat), ("lat_ns", job.read.lat)):
        assert r[lat]["percentile"] == h.percentiles([50, 99])
        assert list(r[lat]["percentile"]) == ["50.000000", "99.000000"]
        assert r[lat]["bins"] == h.bins()
        assert sum(r[lat]["bins"].values()) == 500
    with pytest.raises(ValueError):
        document([job], {}, fmt="csv")


def test_top_level_fields_and_options():
    job = _synthetic_job(2, n_read=10, n_write=10, extra={"cpu_profile": {"nvme_queue_rq": 1.5}})
    job.job_options["empty"] = ""
    doc = document([job], {}, timestamp=TS, fio_version="nvmesim-test")
    assert doc["fio version"] == "nvmesim-test"
    assert doc["timestamp"] == TS and doc["timestamp_ms"] == TS * 1000
    assert doc["time"] == time.ctime(TS)
    assert "global options" not in doc  # fio omits an empty option list
    assert doc["disk_util"] == []
    j = doc["jobs"][0]
    assert j["job options"] == {"iodepth": "32", "bs": "4k"}  # strings; empty dropped
    assert j["latency_depth"] == 32
    assert j["nvmesim"] == {"cpu_profile": {"nvme_queue_rq": 1.5}}
    assert list(j)[-1] == "nvmesim"
    assert document([job], {"a": 1}, timestamp=TS)["global options"] == {"a": "1"}
    assert document([job], {}).get("fio version", "").startswith("nvmesim-")
    # json and text agree
    assert json.loads(dumps(doc)) == doc


def test_dir_merge():
    a = _synthetic_job(3, n_read=300, n_write=0).read
    b = _synthetic_job(4, n_read=200, n_write=0).read
    b.runtime_ms = 1500
    expect_clat = a.clat.copy().merge(b.clat)
    a.merge(b)
    assert (a.total_ios, a.io_bytes, a.runtime_ms) == (500, 500 * 4096, 1500)
    assert a.clat.counts == expect_clat.counts and a.clat.n == 500
    assert a.slat.n == 500 and a.lat.n == 500


def test_depth_helpers():
    assert [depth_level_index(d) for d in (1, 2, 3, 4, 7, 8, 16, 32, 63, 64, 1000)] == \
        [0, 1, 1, 2, 2, 3, 4, 5, 5, 6, 6]
    assert [batch_map_index(n) for n in (0, 1, 4, 5, 8, 9, 16, 17, 32, 33, 64, 65)] == \
        [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    assert stat_calc_dist([999, 1, 0, 0, 0, 0, 0], 1000) == [99.9, 0.1, 0, 0, 0, 0, 0]
    assert stat_calc_dist([9999, 1, 0, 0, 0, 0, 0], 10000)[1] == 0.1  # clamped up
    d = iodepth_dict("submit", [0, 10, 0, 0, 0, 0, 0], 10)
    assert list(d) == list(IODEPTH_SUBMIT_KEYS) and d["4"] == 100.0
    assert list(iodepth_dict("level", [1] * 7, 7)) == list(IODEPTH_LEVEL_KEYS)
    job = JobResult(iodepth_level=d | {})  # wrong key set is rejected
    with pytest.raises(ValueError):
        job_to_json(job)


# --------------------------------------------------------------------------
# fio's own json+ consumer


@pytest.mark.skipif(shutil.which("fio_jsonplus_clat2csv") is None,
                    reason="fio_jsonplus_clat2csv (Debian package fio) not installed")
def test_fio_jsonplus_clat2csv_reads_our_output(tmp_path):
    exe = shutil.which("fio_jsonplus_clat2csv")
    jobs = [_synthetic_job(5, n_read=2000, n_write=700), _synthetic_job(6, n_read=0, n_write=300)]
    doc = document(jobs, {"ioengine": "nvmesim"}, fmt="json+", timestamp=TS, lat_percentiles=True)
    src = tmp_path / "nvmesim.json"
    src.write_text(dumps(doc))
    dest = tmp_path / "lat.csv"
    run_clat2csv(exe, [str(src), str(dest)], tmp_path)

    for jobnum, job in enumerate(jobs):
        path = tmp_path / f"lat_job{jobnum}.csv"
        rows = list(csv.reader(path.read_text().splitlines(), skipinitialspace=True))
        header = [c for c in rows[0] if c]
        assert header[0] == "nsec" and len(header) == 1 + 3 * 3 * 3
        col = {name: i for i, name in enumerate(header)}
        data = rows[1:]
        # one row per distinct bucket value over all columns, ascending
        hists = {f"{dd}_{lt}_ns": getattr(getattr(job, dd), lt)
                 for dd in ("read", "write") for lt in ("clat", "lat")}
        values = sorted({int(v) for h in hists.values() for v in h.bins()})
        assert [int(r[0]) for r in data] == values
        for name, h in hists.items():
            bins = h.bins()
            got = {int(r[0]): (int(r[col[f"{name}_count"]]), int(r[col[f"{name}_cumulative"]]),
                               float(r[col[f"{name}_percentile"]]))
                   for r in data if r[col[f"{name}_count"]].strip()}
            assert {str(v): c for v, (c, _, _) in got.items()} == bins, name
            if h.n:
                cum = 0
                for v in sorted(got):
                    cum += got[v][0]
                    assert got[v][1] == cum
                    assert plat_idx_to_val(plat_val_to_idx(v)) == v
                assert cum == h.n and got[max(got)][2] == 1.0
        # slat has no bins (slat_percentiles off): its columns stay empty
        assert all(not r[col["read_slat_ns_count"]].strip() for r in data)

    out = run_clat2csv(exe, [str(src), str(dest), "--validate"], tmp_path)
    assert out.stdout.count("validated") == len(jobs)
