"""Issue 17's defects, one test each: nothing wrong is silent, nothing unbounded, every
error located and exit 2 (the YAML reader's own are in test_yaml_guards.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from nvmesim.cli import app


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("path,value", [
    ("host.costs.fio_prep_ns", ".inf"), ("host.costs.fio_prep_ns", ".nan"), ("device.read.mean_us", ".inf"),
    ("device.read.mean_us", "-.inf"), ("workload.runtime", ".inf"), ("workload.bs", ".inf"),
])
def test_infinite_or_nan_numbers_are_refused_where_they_are(tmp_path, path, value):
    """``fio_prep_ns: .inf`` once exited 0 with usr=inf% and JSON holding Infinity;
    ``mean_us: .inf`` ended in "math domain error"."""
    section, *middle, key = path.split(".")
    text = f"{section}:\n" + "".join(f"{'  ' * (i + 1)}{m}:\n" for i, m in enumerate(middle)) \
        + f"{'  ' * (len(middle) + 1)}{key}: {value}\n"
    p = tmp_path / "c.yaml"
    p.write_text(text)
    r = run_cli("run", str(p), "-q", "--output-format", "json")
    assert r.exit_code == 2, r.output
    line = len(middle) + 2
    assert f"nvmesim: error: {p}:{line}: {path}:" in r.output and "finite" in r.output
    assert "Infinity" not in r.output and "NaN" not in r.output


@pytest.mark.parametrize("text,line,path,words", [
    ("workload:\n  iodepth: true\n", 2, "workload.iodepth", ["integer", "True", "boolean"]),
    ("workload:\n  iodepth: '64'\n", 2, "workload.iodepth", ["integer", "string", "'64'"]),
    ("host:\n  costs:\n    fio_prep_ns: yes\n", 3, "host.costs.fio_prep_ns", ["number", "boolean"]),
    ("driver:\n  rq_affinity: true\n", 2, "driver.rq_affinity", ["boolean"]),
])
def test_strict_types_no_bool_or_string_for_a_number(tmp_path, text, line, path, words):
    """pydantic's lax mode read ``iodepth: true`` as 1 and ``"64"`` as 64, silently."""
    p = tmp_path / "c.yaml"
    p.write_text(text)
    r = run_cli("run", str(p), "-q")
    assert r.exit_code == 2, r.output
    assert f"nvmesim: error: {p}:{line}: {path}: expected" in r.output
    for w in words:
        assert w in r.output


def test_a_job_file_s_text_values_are_still_numbers(tmp_path):
    """A fio job file is text by nature: ``iodepth=64`` is read as fio reads it."""
    from nvmesim.config import load

    p = tmp_path / "j.fio"
    p.write_text("[j]\nioengine=io_uring\nrw=randread\nbs=4k\niodepth=64\nruntime=10ms\ntime_based\n"
                 "filename=/dev/nvme0n1\ndirect=1\n")
    assert load(p).workload.iodepth == 64


@pytest.mark.parametrize("text,line,words", [
    ("workload: 5\n", 1, ["workload: expected a mapping", "5"]),
    ("workload:\n  iodepth: abc\n", 2, ["workload.iodepth: expected an integer", "'abc'"]),
])
def test_set_applies_on_top_of_a_valid_file_never_instead_of_its_error(tmp_path, text, line, words):
    """An invalid ``workload:`` section was silently replaced once any --set workload.x was given."""
    p = tmp_path / "c.yaml"
    p.write_text(text)
    r = run_cli("run", str(p), "-q", "--set", "workload.iodepth=4")
    assert r.exit_code == 2, r.output
    assert f"nvmesim: error: {p}:{line}: " in r.output
    for w in words:
        assert w in r.output


# ------------------------------------------------------------------ interrupted runs


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_reports_its_finished_replications(tmp_path, sig):
    """Ctrl-C (or SIGTERM) after the first of 3 replications: the output and the -o file
    hold the replications that finished (with parallel workers, one or more, fewer than
    3), marked partial, and the exit code is 130."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("workload: {runtime: 0.15, ramp_time: 0.01, bs: 16k, iodepth: 64}\nsim: {replications: 3}\n")
    out = tmp_path / "o.json"
    proc = subprocess.Popen([sys.executable, "-m", "nvmesim", "run", str(cfg), "--variant", "stack",
                             "--output-format", "json", "-o", str(out)], stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "1/3" in line:
            break
    else:
        pytest.fail("no progress line: " + "".join(lines))
    time.sleep(0.3)  # into the second replication
    proc.send_signal(sig)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    doc = json.loads(out.read_text())
    extra = doc["nvmesim"]
    how = 'SIGINT' if sig == signal.SIGINT else 'SIGTERM'
    m = re.fullmatch(rf"interrupted \({how}\) after (\d) of 3 replications: stack (\d) of 3", extra["partial"])
    assert m and m[1] == m[2] and 1 <= int(m[1]) < 3, extra["partial"]
    assert extra["variant"] == "stack" and extra["replications"] == int(m[1])
    assert doc["jobs"][0]["read"]["total_ios"] > 0
    assert "PARTIAL" in rest and "Traceback" not in rest


def test_interrupted_api_run_keeps_the_partial_result(monkeypatch):
    """In Python the interrupt still propagates (a KeyboardInterrupt), carrying the result
    (serial: the patched replication raises in this process; the parallel case is in
    test_parallel.py)."""
    from nvmesim.api import load, run
    from nvmesim.experiments import runner
    from nvmesim.experiments.runner import Interrupted

    real = runner.run_replication
    calls = []

    def second_interrupts(cfg, v, r, *args):
        calls.append((v, r))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(cfg, v, r, *args)

    monkeypatch.setattr(runner, "run_replication", second_interrupts)
    with pytest.raises(KeyboardInterrupt) as e:
        run(load({"workload": {"runtime": "3ms", "ramp_time": "1ms"}}, {"sim.replications": 2}), workers=1)
    assert isinstance(e.value, Interrupted)
    result = e.value.result
    assert {v: len(r) for v, r in result.replications.items()} == {"legacy": 1, "stack": 0}
    assert result.partial == "interrupted (SIGINT) after 1 of 4 replications: legacy 1 of 2, stack 0 of 2"
    text = result.text()
    assert text.splitlines()[0].startswith("nvmesim: PARTIAL result") or "nvmesim: PARTIAL result" in text
    assert "variant=stack: no replication finished" in text
    assert "PARTIAL" in repr(result)


def test_stdout_on_a_full_disk_is_a_located_error_and_the_result_is_kept(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("workload: {runtime: 0.003, ramp_time: 0.001}\nsim: {replications: 1}\n")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "nvmesim", "run", str(cfg), "-q"], stdout=full,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "cannot write the result to stdout: No space left on device" in r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr
    (saved,) = tmp_path.glob("nvmesim-result-*.txt")
    assert "nvmesim: " in saved.read_text() and "IOPS=" in saved.read_text()


# ------------------------------------------------------------------ resource guards

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args,message", [
    (["run", "configs/highdepth.yaml", "--set", "workload.iodepth=1000000000"], "1,000,000,000 in-flight I/O slots"),
    (["run", "configs/qd1.yaml", "--set", "workload.numjobs=8000", "--set", "host.cores=8192",
      "--set", "workload.cpus_allowed=null", "--set", "workload.iodepth=1000000", "--set", "workload.ioengine=libaio"],
     "(8,000 jobs at ~600 KB"),
    (["run", "configs/qd1.yaml", "--set", "sim.replications=1000000"], "may simulate up to"),
    (["dmapool-test", "--blocks", "1000000000"], "--blocks: 1,000,000,000 blocks need about"),
])
def test_resource_guards_refuse_before_running(args, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "--force" in r.output and "Traceback" not in r.output


def test_sweep_guards(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("base: {workload: {runtime: 0.01}}\ngrid: {workload.iodepth: [%s], workload.bs: [%s]}\n"
                   % (", ".join(map(str, range(1, 1001))), ", ".join(f"{k}k" for k in range(4, 1004))))
    r = CliRunner().invoke(app, ["sweep", str(big), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2 and "1,000,000 points" in r.output and "--force" in r.output
    assert not (tmp_path / "o").exists()  # refused before the grid was expanded or anything written
    reps = tmp_path / "reps.yaml"
    reps.write_text("base: {workload: {runtime: 0.01}}\nreplications: 100000\ngrid: {workload.iodepth: [1, 2]}\n")
    r = CliRunner().invoke(app, ["sweep", str(reps), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2 and "400,000 replications" in r.output
    deep = tmp_path / "deep.yaml"
    deep.write_text("base: {workload: {runtime: 0.01}}\ngrid: {workload.iodepth: [1, 1000000000]}\n")
    r = CliRunner().invoke(app, ["sweep", str(deep), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2 and "point 1 {'workload.iodepth': 1000000000}" in r.output and "GiB" in r.output


def test_estimates_are_upper_bounds_of_a_real_run():
    """The work estimate bounds what a run does (a guard that under-estimates protects nothing)."""
    from nvmesim.api import load, run
    from nvmesim.experiments import budget

    cfg = load({"workload": {"runtime": "5ms", "ramp_time": "1ms", "iodepth": 64, "bs": "16k"}},
               {"sim.replications": 2})
    result = run(cfg)
    done = sum(m["ios"] for v in result.metrics().values() for m in v.values())
    assert 0 < done <= budget.run_ios(cfg)
    assert budget.run_memory(cfg) == budget.BASE_BYTES + budget.BYTES_PER_JOB + 64 * budget.BYTES_PER_SLOT


def test_an_override_never_replaces_a_value_given_as_a_section():
    """`workload: 5` (from a --set or a sweep's set) with `workload.iodepth=4` was silently
    replaced by {iodepth: 4}; now it is an error at the override."""
    from nvmesim.config import apply_overrides
    from nvmesim.config.overrides import OverrideError

    with pytest.raises(OverrideError, match="workload is int '5', not a section"):
        apply_overrides({"workload": 5}, {"workload.iodepth": 4})
    with pytest.raises(OverrideError, match="devices.0 is str 'x'"):
        apply_overrides({"devices": ["x"]}, {"devices.0.node": 1})
    assert apply_overrides({"workload": None}, {"workload.iodepth": 4}) == {"workload": {"iodepth": 4}}
    assert apply_overrides({}, {"host.costs.x": 1}) == {"host": {"costs": {"x": 1}}}
    r = CliRunner().invoke(app, ["run", str(ROOT / "configs/qd1.yaml"), "--set", "workload=5", "--set",
                                 "workload.iodepth=4"])
    assert r.exit_code == 2 and "--set: workload.iodepth: workload is int '5', not a section" in r.output
