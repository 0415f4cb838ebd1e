"""The sweep's local process pool: a worker's death fails its own task only, with how it
died; workers die with their parent; kill tests of whole sweeps through the command."""

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

from nvmesim.experiments.pool import LocalPool, describe_exit


def work(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    if x == 5:
        raise ValueError("five")
    if x == 7:
        os._exit(4)
    return x * x


def test_a_dead_worker_fails_only_its_task():
    pool = LocalPool(work, workers=2)
    outcomes = {o.task: o for o in pool.run((i, (i,)) for i in range(10))}
    assert sorted(outcomes) == list(range(10))
    for i, o in outcomes.items():
        if i in (3, 5, 7):
            assert not o.ok
        else:
            assert o.ok and o.value == i * i and not o.worker_died
    assert outcomes[3].worker_died and "killed by signal 9 (SIGKILL)" in outcomes[3].error
    assert outcomes[7].worker_died and "exited with status 4" in outcomes[7].error
    assert not outcomes[5].worker_died and outcomes[5].error.startswith("ValueError: five")
    assert 3 <= len(pool.pids) <= 4  # a replacement for a death, when work is left for it
    time.sleep(0.2)
    assert not [p for p in pool.pids if _alive(p)], "every worker is gone after the run"


def test_describe_exit():
    assert describe_exit(-15) == "killed by signal 15 (SIGTERM)"
    assert describe_exit(1) == "exited with status 1"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(") ", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(d.name))
    return kids


TINY = {"workload": {"runtime": "60ms", "ramp_time": "1ms", "bs": "16k", "iodepth_batch_submit": 2}}


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, "replications": 2,
                                    "grid": {"workload.iodepth": [2, 4, 6, 8, 12, 16]}}))
    return path


def _cmd(spec: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "nvmesim", "sweep", str(spec), "--out", str(out), "--workers", "2", "-q", *extra]


def _wait_for(cond, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_sigkill_of_one_worker_records_one_failure_and_retry_completes(tmp_path):
    spec, out = _spec(tmp_path), tmp_path / "killed"
    proc = subprocess.Popen(_cmd(spec, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: len(list((out / "points").glob("*.json"))) >= 1 and len(_children(proc.pid)) >= 2)
    victim = _children(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    records = [json.loads(p.read_text()) for p in (out / "points").glob("*.json")]
    assert len(records) == 6
    failed = [r for r in records if r["error"]]
    assert len(failed) == 1, [r["error"] for r in records]
    assert "killed by signal 9 (SIGKILL)" in failed[0]["error"]
    assert "1 points with errors" in stdout and "--retry-failed" in stdout
    # a plain re-run keeps the recorded failure; --retry-failed runs it again
    subprocess.run(_cmd(spec, out), check=True, capture_output=True)
    assert sum(bool(json.loads(p.read_text())["error"]) for p in (out / "points").glob("*.json")) == 1
    subprocess.run(_cmd(spec, out, "--retry-failed"), check=True, capture_output=True)
    assert not any(json.loads(p.read_text())["error"] for p in (out / "points").glob("*.json"))
    clean = tmp_path / "clean"
    subprocess.run(_cmd(spec, clean), check=True, capture_output=True)
    for name in ("results", "summary", "hists"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), pd.read_parquet(clean / f"{name}.parquet"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_sigkill_of_the_sweep_leaves_no_worker_behind(tmp_path):
    spec, out = _spec(tmp_path), tmp_path / "o"
    proc = subprocess.Popen(_cmd(spec, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: len(_children(proc.pid)) >= 2)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "orphaned workers"


def test_corrupt_point_file_is_reported_and_recomputed(tmp_path):
    from nvmesim.sweep import run_sweep

    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"base": {"workload": {"runtime": "3ms", "ramp_time": "1ms"}},
                                    "replications": 2, "grid": {"workload.iodepth": [2, 4]}}))
    out = tmp_path / "out"
    first, _ = run_sweep(spec, out, workers=1)
    files = sorted((out / "points").glob("*.json"))
    files[0].write_text('{"rows": [')  # cut short
    files[1].write_text('[1, 2]')      # not a record
    warnings: list[str] = []
    again, _ = run_sweep(spec, out, workers=1, warn=warnings.append)
    assert len(warnings) == 2 and all("corrupt point file" in w and "computed again" in w for w in warnings)
    pd.testing.assert_frame_equal(again, first)
