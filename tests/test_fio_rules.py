"""fio's rules for what a run counts and when: the drain at the end, the runtime and its
rounding, the ramp, the depth/submit/complete distributions and the bandwidth/IOPS
samples — in the model, and, where a real fio can run here (Debian's fio, in CI), the
same relations in real fio's own output for a job of the same shape."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from helpers import ROOT, tiny_config
from nvmesim.api import load, run, run_replication
from nvmesim.output.fiojson import depth_distributions
from nvmesim.stats.fiotime import first_instant, mtime_since, runtime_ms, utime_since
from nvmesim.stats.metrics import replication_metrics

FIO = shutil.which("fio")
needs_fio = pytest.mark.skipif(FIO is None, reason="real fio (Debian package fio) not installed")

# one shape for the model and for real fio: libaio, 4 KiB random reads, depth 16 in
# batches of 8, a ramp
SHAPE = {"ioengine": "libaio", "rw": "randread", "bs": "4k", "iodepth": 16, "iodepth_batch_submit": 8,
         "iodepth_batch_complete_min": 8, "iodepth_batch_complete_max": 8, "runtime": "300ms",
         "ramp_time": "100ms"}


# ---------------------------------------------------------------- fio's clock
def test_utime_since_truncates_the_nanoseconds_first():
    """fio subtracts seconds and nanoseconds apart and divides the ns by 1000 toward zero."""
    assert utime_since(100, 2_000) == 1  # 1.9 µs -> 1
    # across a second the negative ns difference is truncated toward zero, then borrowed:
    # 900 ns read as 1 µs, 1.001 µs as 2
    assert utime_since(999_999_500, 1_000_000_400) == 1
    assert utime_since(999_999_999, 1_000_001_000) == 2
    assert utime_since(10, 5) == 0  # time never runs backwards
    assert mtime_since(0, 2_999_999) == 2
    assert runtime_ms(300_001) == 301 and runtime_ms(300_000) == 300  # rounded up
    t = first_instant(123_456_789, 300_000)
    assert utime_since(123_456_789, t) >= 300_000 > utime_since(123_456_789, t - 1)


# ---------------------------------------------------------------- the end of a run
def test_every_queued_io_is_drained_and_counted():
    cfg = tiny_config({**SHAPE, "ramp_time": 0})
    job = run_replication(cfg, "stack", 0).jobs[0]
    d = job.read
    # nothing is left in flight: every I/O queued completed, and was sampled
    assert d.total_ios == d.clat.n == d.io_bytes // 4096 > 100
    assert d.iops == pytest.approx(1000.0 * d.total_ios / d.runtime_ms)
    assert d.bw_bytes == 1000 * d.io_bytes // d.runtime_ms


def test_runtime_runs_to_the_end_of_the_drain_rounded_up_to_ms():
    cfg = load({"workload": {**SHAPE, "iodepth": 256, "iodepth_batch_submit": 64,
                             "iodepth_batch_complete_min": 64, "iodepth_batch_complete_max": 64},
                "device": {"read": {"dist": "constant", "mean_us": 2000.0}}})  # 2 ms reads: a long drain
    rep = run_replication(cfg, "stack", 0)
    job, window = rep.jobs[0], rep.windows_ns[0]
    assert window > 300e6 + 1.5e6  # the last reads were still at the device at 300 ms
    # elapsed µs rounded up to ms (utime_since's own truncation is tested above)
    assert abs(job.read.runtime_ms - runtime_ms(int(window // 1000))) <= 1
    assert job.read.runtime_ms >= 302
    assert job.job_runtime_ms == int(window // 1e6)  # total_run_time: mtime_since, truncated


def test_iops_does_not_jump_at_reap_batch_boundaries():
    """Regression: I/Os in flight at the end were dropped, so IOPS counted whole reap
    batches (4096 I/Os = 2.9% here) and moved by that much with a few ms of runtime.
    With fio's drain the runs just before and just past a batch boundary agree."""
    iops = []
    for runtime in (0.300, 0.310):  # 10 ms: more than one reap period (~8.6 ms)
        cfg = load(ROOT / "configs/highdepth.yaml", {"workload.runtime": runtime})
        iops.append(replication_metrics(run_replication(cfg, "legacy", 0))["iops"])
    assert abs(iops[1] - iops[0]) / iops[0] < 0.003


# ---------------------------------------------------------------- the ramp
def test_the_ramp_resets_statistics_at_the_first_accounting_point_after_it():
    cfg = tiny_config(SHAPE)
    rep = run_replication(cfg, "stack", 0)
    job, d = rep.jobs[0], rep.jobs[0].read
    window = rep.windows_ns[0]
    assert window == pytest.approx(300e6, rel=0.02)  # the runtime counts from the epoch
    # the batch whose submission ended the ramp has slat samples but was queued before
    # it (not in total_ios); a reap that ended it, or that came in fio's RAMP runstate
    # right after, counts bytes but no latency samples
    assert d.slat.n - d.total_ios in (0, 8)
    assert d.io_bytes // 4096 - d.clat.n in (0, 8)
    assert d.clat.n - d.total_ios in (0, 8, 16)
    # CPU is booked only in the window
    assert sum(v for k, v in rep.profile_ns.items() if k != "idle") <= window * 1.01


def test_no_ramp_means_the_window_starts_at_zero():
    rep = run_replication(tiny_config({**SHAPE, "ramp_time": 0}), "stack", 0)
    assert rep.windows_ns[0] == pytest.approx(300e6, rel=0.02)


# ---------------------------------------------------------------- size-based ends
@pytest.mark.parametrize("options,expect", [
    ({"time_based": False, "size": "400k"}, 100),        # 100 I/Os of 4 KiB
    ({"time_based": False, "io_size": "200k", "size": "400k"}, 50),  # io_size wins
    ({"time_based": False, "number_ios": 37}, 37),
    ({"time_based": True, "number_ios": 37}, None),    # time_based runs for the runtime
])
def test_size_and_number_ios_end_a_job_that_is_not_time_based(options, expect):
    cfg = tiny_config({"bs": "4k", "iodepth": 4, "runtime": "50ms", "ramp_time": 0, **options})
    d = run_replication(cfg, "stack", 0).jobs[0].read
    if expect is None:
        assert d.total_ios > 200
    else:
        assert d.total_ios == d.clat.n == expect


# ---------------------------------------------------------------- depth distributions
@pytest.mark.parametrize("batch,depth,key", [(1, 1, ("1", "4", "4")), (16, 32, ("32", "16", "16")),
                                             (4096, 8192, (">=64", ">=64", ">=64"))])
def test_depth_submit_and_complete_fill_fios_buckets(batch, depth, key):
    """io_u_mark_depth buckets a committed batch by cur_depth (queued + in flight), the
    submit and complete maps by how many one call handled (__io_u_mark_map)."""
    w = {"ioengine": "libaio", "bs": "4k", "iodepth": depth, "iodepth_batch_submit": batch,
         "iodepth_batch_complete_min": batch, "iodepth_batch_complete_max": batch, "runtime": "20ms",
         "ramp_time": 0}
    dev = {"preset": "optane", "parallel_units": 64, "link_gbps": 14.0, "internal_gbps": 14.0}
    job = run_replication(tiny_config(w, device=dev, driver={"queue_depth": 256}), "stack", 0).jobs[0]
    level, submit, complete = depth_distributions(job)
    assert level[key[0]] >= 99.0 and submit[key[1]] >= 99.0 and complete[key[2]] >= 99.0
    assert job.total_submit == sum(job.submit_map) and job.total_complete == sum(job.complete_map)


def _fio_job(tmp_path, fmt: str = "json", extra: tuple[str, ...] = ()) -> str:
    path = tmp_path / "fio.dat"
    args = [FIO, "--name=shape", f"--filename={path}", "--size=16m", "--time_based",
            f"--output-format={fmt}", *extra]
    for k, v in SHAPE.items():
        args.append(f"--{k}={v}")
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


def _relations(doc: dict) -> dict:
    """What fio's rules imply about one job's figures, whatever the device's speed."""
    (job,) = doc["jobs"]
    d = job["read"]
    return {
        "runtime covers the run": d["runtime"] >= 300,
        "iops = 1000 total / runtime": abs(d["iops"] - 1000.0 * d["total_ios"] / d["runtime"]) < 1e-3,
        "bw = 1000 bytes / runtime": d["bw_bytes"] == 1000 * d["io_bytes"] // d["runtime"],
        "slat: total + the batch that ended the ramp": d["slat_ns"]["N"] - d["total_ios"] in (0, 8),
        "bytes: clat + one reap in RAMP": d["io_bytes"] // 4096 - d["clat_ns"]["N"] in (0, 8),
        "depth 16": job["iodepth_level"]["16"] >= 99.0,
        "submits of 8": job["iodepth_submit"]["8"] >= 99.0,
        "reaps of 8": job["iodepth_complete"]["8"] >= 99.0,
        "one bw and one iops sample per 500 ms": d["bw_samples"] == d["iops_samples"] == d["runtime"] // 500,
        "job_runtime truncated": job["job_runtime"] in (d["runtime"], d["runtime"] - 1),
    }


@needs_fio
def test_the_models_figures_obey_the_relations_real_fio_shows(tmp_path):
    real = _relations(json.loads(_fio_job(tmp_path)))
    result = run(load({"workload": {**SHAPE, "name": "shape"}, "allocator": {"variants": ["stack"]},
                       "sim": {"replications": 1}}))
    model = _relations(result.fio_json("stack"))
    assert real == dict.fromkeys(real, True), real  # fio itself works this way ...
    assert model == real  # ... and so does the model


@needs_fio
def test_normal_output_depth_lines_parse_like_fios(tmp_path):
    real = _fio_job(tmp_path, fmt="normal")
    result = run(load({"workload": {**SHAPE, "name": "shape"}, "allocator": {"variants": ["stack"]},
                       "sim": {"replications": 1}}))
    ours = result.text()
    pct = r"(\d+\.\d)%"
    patterns = [
        r"^  IO depths    : 1=" + pct + r", 2=" + pct + ", 4=" + pct + ", 8=" + pct + ", 16=" + pct + ", 32="
        + pct + ", >=64=" + pct + "$",
        r"^     submit    : 0=" + pct + ", 4=" + pct + ", 8=" + pct + ", 16=" + pct + ", 32=" + pct + ", 64="
        + pct + ", >=64=" + pct + "$",
        r"^     complete  : 0=" + pct + ", 4=" + pct + ", 8=" + pct + ", 16=" + pct + ", 32=" + pct + ", 64="
        + pct + ", >=64=" + pct + "$",
        r"^     issued rwts: total=(\d+),(\d+),(\d+),(\d+) short=\d+,\d+,\d+,0 dropped=\d+,\d+,\d+,0$",
        r"^     latency   : target=\d+, window=\d+, percentile=\d+\.\d\d%, depth=16$",
    ]
    for pattern in patterns:
        a = re.search(pattern, real, re.M)
        b = re.search(pattern, ours, re.M)
        assert a, f"real fio's output has no line matching {pattern!r}:\n{real}"
        assert b, f"our output has no line matching {pattern!r}:\n{ours}"
    assert re.search(r"^     submit    : .*8=100\.0%", ours, re.M)
