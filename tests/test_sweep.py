"""Sweeps: expansion, durable resumable execution, and executor independence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nvmesim.config import ConfigError
from nvmesim.experiments.progress import ProgressBar
from nvmesim.sweep import expand, load_spec, run_point, run_sweep

TINY = {"workload": {"runtime": "3ms", "ramp_time": "1ms", "bs": "16k", "iodepth_batch_submit": 2}}


def write_spec(tmp_path: Path, **spec) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, "replications": 2, **spec}))
    return path


def frames(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / "results.parquet"), pd.read_parquet(out / "summary.parquet")


def test_expand_grid_and_zip(tmp_path):
    points = expand(load_spec(write_spec(tmp_path, grid={"workload.iodepth": [2, 4, 8]},
                                         zip={"workload.bs": ["16k", "32k"], "workload.numjobs": [1, 2]})))
    assert len(points) == 6
    assert [p.index for p in points] == list(range(6))
    assert points[5].params == {"workload.iodepth": 8, "workload.bs": "32k", "workload.numjobs": 2}
    assert points[5].config["workload"]["bs"] == 32768 and points[5].config["sim"]["replications"] == 2
    assert len({p.key for p in points}) == 6


def test_joint_paths_and_base_file(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(TINY))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", "set": {"sim.seed": 7},
                                    "grid": {"workload.iodepth_batch_submit+workload.iodepth_batch_complete_min": [4]},
                                    "variants": ["stack"]}))
    (p,) = expand(load_spec(path))
    w = p.config["workload"]
    # both paths take the value; fio caps a submit batch above iodepth (1) to iodepth
    assert w["iodepth_batch_submit"] == 1 and w["iodepth_batch_complete_min"] == 4
    assert p.config["sim"]["seed"] == 7 and p.config["allocator"]["variants"] == ["stack"]


def test_bad_points_are_reported_before_anything_runs(tmp_path):
    sweep = load_spec(write_spec(tmp_path, grid={"workload.iodepth": [4, 0]}))
    with pytest.raises(ConfigError) as e:
        expand(sweep)
    # located at the axis's line of the sweep file
    (problem,) = e.value.problems
    assert problem.startswith(f"point {{'workload.iodepth': 0}}: {sweep.path}:")
    assert "workload.iodepth: must be >= 1" in problem
    line = int(problem.split(f"{sweep.path}:")[1].split(":")[0])
    assert "workload.iodepth" in sweep.path.read_text().splitlines()[line - 1]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, "zip": {"workload.bs": ["16k"], "workload.numjobs": [1, 2]}}))
    with pytest.raises(ConfigError, match="zip lists must have the same length"):
        load_spec(path)


def test_overlapping_axes_are_an_error(tmp_path):
    """Two axes that set one path would label rows with a value that did not run."""
    path = write_spec(tmp_path, grid={"workload.iodepth": [1, 2], "workload.iodepth+workload.numjobs": [1]})
    with pytest.raises(ConfigError, match="workload.iodepth is already swept by axis 'workload.iodepth'"):
        expand(load_spec(path))


def test_sweep_file_errors_are_located(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("base: {}\ngrid:\n  workload.iodepth: 4\nreplications: 0\n")
    with pytest.raises(ConfigError) as e:
        expand(load_spec(path))
    text = "\n".join(e.value.problems)
    assert f"{path}:4: replications:" in text


def test_failed_point_is_recorded_not_raised():
    record = run_point({"workload": {"iodepth": "nonsense"}}, {"x": 1}, 3, "k")
    assert record["error"] and record["rows"][0]["error"] and record["point"] == 3


def test_sweep_writes_frames_and_resumes_without_rerunning(tmp_path, monkeypatch):
    out = tmp_path / "out"
    spec = write_spec(tmp_path, grid={"workload.iodepth": [2, 8]})
    results, summary = run_sweep(spec, out, workers=2, csv=True)
    assert set(results["point"]) == {0, 1}
    assert len(results) == 2 * 2 * 2  # points x variants x replications (reads only)
    assert {"workload.iodepth", "variant", "replication", "direction", "iops", "clat_p99_ns",
            "cpu_share_dma_pool_self", "cpu_share_dma_pool_children", "cpu_dma_pool_alloc",
            "cpu_children_dma_pool_alloc"} <= set(results.columns)
    hists = pd.read_parquet(out / "hists.parquet")
    assert list(hists.columns) == ["point", "workload.iodepth", "variant", "replication", "direction", "kind",
                                   "bin_ns", "count"]
    clat = hists[hists.kind == "clat"].groupby(["point", "variant", "replication"])["count"].sum()
    assert len(clat) == len(results) and (clat > 0).all()
    iops = summary[(summary.metric == "iops") & (summary.variant == "stack")]
    assert len(iops) == 2 and iops["delta_ci_low"].notna().all()
    assert (out / "results.csv").exists() and (out / "summary.csv").exists()
    stamps = {p: p.stat().st_mtime_ns for p in (out / "points").glob("*.json")}
    import nvmesim.experiments.sweep as sweep_module

    def no_executor(*args, **kwargs):
        raise AssertionError("a finished sweep must not start workers again")

    monkeypatch.setattr(sweep_module, "_run_local", no_executor)
    again, _ = run_sweep(spec, out, workers=2)
    assert {p: p.stat().st_mtime_ns for p in (out / "points").glob("*.json")} == stamps
    pd.testing.assert_frame_equal(again, results)


def test_sigkill_then_rerun_equals_uninterrupted(tmp_path):
    spec = write_spec(tmp_path, grid={"workload.iodepth": [2, 4, 6, 8, 12, 16, 24, 32]},
                      set={"workload.runtime": "40ms"})
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "nvmesim.cli", "sweep", str(spec), "--out", str(out), "--workers", "1", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "points").glob("*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((out / "points").glob("*.json"))
    assert 2 <= len(done) < 8, "the sweep must be interrupted halfway for this test to mean anything"
    for p in done:
        json.loads(p.read_text())  # every point file on disk is whole
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    clean = tmp_path / "clean"
    subprocess.run(cmd[:6] + [str(clean)] + cmd[7:], check=True, stdout=subprocess.DEVNULL)
    for a, b in zip(frames(out), frames(clean)):
        pd.testing.assert_frame_equal(a, b)


def test_dask_cluster_gives_the_same_frames(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = write_spec(tmp_path, grid={"workload.iodepth": [2, 8]})
    local = run_sweep(spec, tmp_path / "local", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    for a, b in zip(local, remote):
        pd.testing.assert_frame_equal(a, b)


def test_progress_bar_lines_and_quiet():
    import io

    buf = io.StringIO()
    bar = ProgressBar(4, stream=buf, delay=0.0, label="x")
    bar.update(2, "point 1")
    assert "2/4" in buf.getvalue() and "ETA" in buf.getvalue()
    quiet = io.StringIO()
    ProgressBar(4, quiet=True, stream=quiet, delay=0.0).update(4)
    assert quiet.getvalue() == ""


# ------------------------------------------------------------------ provenance


def test_output_folder_and_parquet_carry_the_provenance(tmp_path):
    import nvmesim
    from nvmesim.sweep import read_provenance

    (tmp_path / "base.yaml").write_text(yaml.safe_dump(TINY))
    spec = tmp_path / "s.yaml"
    spec.write_text("# my sweep\nbase: base.yaml\nreplications: 2\nset: {sim.seed: 11}\n"
                    "grid: {workload.iodepth: [2, 4]}\n")
    out = tmp_path / "out"
    run_sweep(spec, out, workers=1)
    assert (out / "spec.yaml").read_text() == spec.read_text()
    assert (out / "base.yaml").read_text() == (tmp_path / "base.yaml").read_text()
    manifest = read_provenance(out)
    assert manifest["nvmesim_version"] == nvmesim.__version__
    assert manifest["model_version"] == nvmesim.model_version()
    assert manifest["libraries"]["simpy"] and manifest["spec"].startswith("# my sweep")
    assert [p["params"] for p in manifest["points"]] == [{"workload.iodepth": 2}, {"workload.iodepth": 4}]
    assert {p["seed"] for p in manifest["points"]} == {11}
    configs = json.loads((out / "configs.json").read_text())
    points = expand(load_spec(spec))
    assert configs == {str(p.index): json.loads(json.dumps(p.config)) for p in points}
    assert configs["1"]["workload"]["iodepth"] == 4
    for name in ("results", "summary", "hists"):
        meta = read_provenance(out / f"{name}.parquet")
        assert meta["model_version"] == nvmesim.model_version() and meta["points"][1]["config"] == configs["1"]


def test_files_follow_the_umask(tmp_path):
    spec = write_spec(tmp_path, grid={"workload.iodepth": [2]})
    old = os.umask(0o027)
    try:
        run_sweep(spec, tmp_path / "out", workers=1, csv=True)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(files) >= 9  # frames, csv copies, provenance, point, figure-less
    for p in files:
        assert p.stat().st_mode & 0o777 == 0o640, p


def test_resume_refuses_points_of_another_model_version(tmp_path, monkeypatch):
    import nvmesim.experiments.sweep as sweep_module
    from nvmesim.sweep import SweepVersionError

    spec = write_spec(tmp_path, grid={"workload.iodepth": [2, 4]})
    out = tmp_path / "out"
    first, _ = run_sweep(spec, out, workers=1)
    monkeypatch.setattr(sweep_module, "model_version", lambda: "9.9.9+feedc0ffee00")
    with pytest.raises(SweepVersionError, match=r"2 of 2 saved points were computed by nvmesim 0\.") as e:
        run_sweep(spec, out, workers=1)
    assert "--allow-version-mix" in str(e.value) and "9.9.9+feedc0ffee00" in str(e.value)
    again, _ = run_sweep(spec, out, workers=1, allow_version_mix=True)
    pd.testing.assert_frame_equal(again, first)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_version"] == "9.9.9+feedc0ffee00"
    assert {p["model_version"] for p in manifest["points"]} == {first_version(out)}
    # through the command: exit 2, the message, no traceback
    from typer.testing import CliRunner

    from nvmesim.cli import app

    r = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out), "-q"])
    assert r.exit_code == 2 and "--allow-version-mix" in r.output and "Traceback" not in r.output


def first_version(out: Path) -> str:
    (version,) = {json.loads(p.read_text())["model_version"] for p in (out / "points").glob("*.json")}
    return version


# ------------------------------------------------------------------ Dask manners


@pytest.mark.parametrize("address,expected", [
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("tls://sched.example:9000", "tls://sched.example:9000"),
    ("tcp://[::1]:8786", "tcp://[::1]:8786"),
])
def test_scheduler_addresses(address, expected):
    from nvmesim.sweep import scheduler_address

    assert scheduler_address(address) == expected


@pytest.mark.parametrize("address,message", [
    ("http://127.0.0.1:8787", "dashboard"),
    ("garbage", "expected tcp://HOST:PORT"),
    ("tcp://host", "expected tcp://HOST:PORT"),
    ("tcp://host:99999", "expected tcp://HOST:PORT"),
    ("ftp://host:21", "unknown scheme 'ftp'"),
])
def test_bad_scheduler_address_exits_2(tmp_path, address, message):
    from typer.testing import CliRunner

    from nvmesim.cli import app

    spec = write_spec(tmp_path, grid={"workload.iodepth": [2]})
    r = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", address, "-q"])
    assert r.exit_code == 2, r.output
    assert message in r.output and "--scheduler" in r.output and "Traceback" not in r.output


def test_workers_with_scheduler_is_refused(tmp_path):
    from typer.testing import CliRunner

    from nvmesim.cli import app

    spec = write_spec(tmp_path, grid={"workload.iodepth": [2]})
    r = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler",
                                 "tcp://127.0.0.1:8786", "--workers", "2", "-q"])
    assert r.exit_code == 2 and "--workers" in r.output and "--scheduler" in r.output


def test_scheduler_without_workers_times_out_with_a_message(tmp_path):
    distributed = pytest.importorskip("distributed")
    from nvmesim.sweep import SweepError

    spec = write_spec(tmp_path, grid={"workload.iodepth": [2]})
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        t0 = time.monotonic()
        with pytest.raises(SweepError, match=r"has no workers \(waited 1 s, --worker-timeout\)") as e:
            run_sweep(spec, tmp_path / "o", scheduler=cluster.scheduler_address, worker_timeout=1.0)
        assert time.monotonic() - t0 < 60
    assert "dask worker" in str(e.value)


def test_lost_scheduler_says_how_many_points_are_saved(tmp_path, monkeypatch):
    """The scheduler dies after the first point: the saved point survives, the error counts
    it, and a re-run (locally here) resumes with it."""
    distributed = pytest.importorskip("distributed")
    import nvmesim.experiments.sweep as sweep_module
    from nvmesim.sweep import SweepError

    spec = write_spec(tmp_path, grid={"workload.iodepth": [2, 4, 6]})
    out = tmp_path / "o"
    real_save = sweep_module._save_point
    state = {"cluster": None}

    def save_then_kill(o, record):
        real_save(o, record)
        if state["cluster"] is not None:
            cluster, state["cluster"] = state["cluster"], None
            cluster.close()

    monkeypatch.setattr(sweep_module, "_save_point", save_then_kill)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    state["cluster"] = cluster
    try:
        with pytest.raises(SweepError, match=r"lost the Dask scheduler .*; 1 of 3 points saved in .*re-run"):
            run_sweep(spec, out, scheduler=cluster.scheduler_address, worker_timeout=10)
    finally:
        cluster.close()
    assert len(list((out / "points").glob("*.json"))) == 1
    monkeypatch.setattr(sweep_module, "_save_point", real_save)
    results, _ = run_sweep(spec, out, workers=1)
    assert set(results["point"]) == {0, 1, 2}


def test_the_base_must_be_valid_on_its_own(tmp_path):
    """An axis or `set` overriding a bad base value must not hide it (the base is what the
    user reads as the sweep's config)."""
    (tmp_path / "base.yaml").write_text("workload:\n  runtime: 0.01\n  iodepth: 0\n")
    path = tmp_path / "s.yaml"
    path.write_text("base: base.yaml\ngrid: {workload.iodepth: [1, 2]}\n")
    with pytest.raises(ConfigError) as e:
        expand(load_spec(path))
    assert e.value.problems == [f"{tmp_path / 'base.yaml'}:3: workload.iodepth: must be >= 1, got 0"]


def test_zip_length_mismatch_is_located_at_zip(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("base: {}\ngrid: {workload.bs: [4k]}\nzip:\n  workload.iodepth: [1, 2]\n  workload.numjobs: [1]\n")
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert e.value.problems == [f"{path}:3: zip: zip lists must have the same length, got [1, 2]"]
