"""`nvmesim run CONFIG`: output formats, --set, --output, determinism.

Tiny simulations (5 ms of simulated time, 2 replications) through the real
command line, ``python -m nvmesim.cli``.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import cli_in_process as nvmesim_in_process
from helpers import cli_subprocess as nvmesim
from helpers import run_clat2csv
from nvmesim import __version__
from nvmesim.api import load

TINY = """\
workload:
  runtime: 5ms
  ramp_time: 1ms
  iodepth: 4
  bs: 16k
sim:
  replications: 2
"""

TIME_KEYS = {"timestamp", "timestamp_ms", "time"}


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def _strip_times(x):
    if isinstance(x, dict):
        return {k: _strip_times(v) for k, v in x.items() if k not in TIME_KEYS}
    if isinstance(x, list):
        return [_strip_times(v) for v in x]
    return x


def _is_fio_doc(doc: dict) -> None:
    for key in ("fio version", "timestamp", "timestamp_ms", "time", "jobs", "disk_util"):
        assert key in doc, key
    (job,) = doc["jobs"]
    assert job["read"]["total_ios"] > 0 and job["read"]["iops"] > 0
    assert job["job options"]["iodepth"] == "4"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    p.write_text(TINY)
    return p


@pytest.fixture(scope="module")
def json_run(tiny) -> subprocess.CompletedProcess:
    return _ok(nvmesim("run", str(tiny), "--output-format", "json", "-q"))


# --------------------------------------------------------------------------
# --output-format json: every variant


def test_json_is_one_fio_document_with_config_and_deltas(json_run, tiny):
    doc = json.loads(json_run.stdout)
    assert list(doc)[-1] == "nvmesim" and {"fio version", "jobs", "disk_util"} <= set(doc)
    extra = doc["nvmesim"]
    assert extra["version"] == __version__
    assert list(extra["variants"]) == ["legacy", "stack"]  # the config's order: baseline first
    assert [j["jobname"] for j in doc["jobs"]] == ["job/legacy", "job/stack"]
    for i, (variant, v) in enumerate(extra["variants"].items()):
        job = doc["jobs"][i]
        assert job["groupid"] == i and job["read"]["total_ios"] > 0 and job["job options"]["iodepth"] == "4"
        assert v["variant"] == variant and v["replications"] == 2 and v["errors"] == []
    assert extra["deltas"] and all(d["baseline"] == "legacy" and d["variant"] == "stack" for d in extra["deltas"])
    # the effective config, every default filled in
    assert extra["config"] == load(tiny).effective()
    assert extra["config"]["workload"]["bs"] == 16384 and extra["config"]["workload"]["runtime"] == 0.005
    assert json_run.stderr == ""  # -q: no progress line, no warnings


def test_same_config_and_seed_give_identical_json(json_run, tiny):
    again = _ok(nvmesim("run", str(tiny), "--output-format", "json", "-q"))
    a, b = json.loads(json_run.stdout), json.loads(again.stdout)
    assert _strip_times(a) == _strip_times(b)


def test_another_seed_gives_different_numbers(json_run, tiny):
    """The determinism check is not vacuous: the seed does reach the simulation."""
    other = _ok(nvmesim("run", str(tiny), "--output-format", "json", "-q", "--set", "sim.seed=2"))
    a, b = json.loads(json_run.stdout), json.loads(other.stdout)
    assert b["nvmesim"]["config"]["sim"]["seed"] == 2
    assert _strip_times(a["jobs"]) != _strip_times(b["jobs"])


# --------------------------------------------------------------------------
# --variant X --output-format json+ --output F: one plain fio document


@pytest.fixture(scope="module")
def jsonplus(tiny, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("out") / "stack.json"
    proc = _ok(nvmesim("run", str(tiny), "--variant", "stack", "--output-format", "json+", "--output", str(out),
                       "-q"))
    return out, proc


def test_single_variant_jsonplus_is_one_fio_document(jsonplus, tiny):
    out, proc = jsonplus
    assert proc.stdout == ""  # the result went to the file
    doc = json.loads(out.read_text())
    assert "runs" not in doc and "deltas" not in doc and "config" not in doc
    _is_fio_doc(doc)
    assert doc["fio version"].startswith("nvmesim")
    bins = doc["jobs"][0]["read"]["clat_ns"]["bins"]
    assert bins and sum(bins.values()) == doc["jobs"][0]["read"]["clat_ns"]["N"]
    assert doc["nvmesim"]["variant"] == "stack"
    assert doc["nvmesim"]["config"] == load(tiny).effective()


@pytest.mark.skipif(shutil.which("fio_jsonplus_clat2csv") is None,
                    reason="fio_jsonplus_clat2csv (Debian package fio) not installed")
def test_fio_jsonplus_clat2csv_accepts_the_document(jsonplus, tmp_path):
    out, _ = jsonplus
    exe = shutil.which("fio_jsonplus_clat2csv")
    run_clat2csv(exe, [str(out), str(tmp_path / "lat.csv")], tmp_path)
    path = tmp_path / "lat_job0.csv"
    rows = list(csv.reader(path.read_text().splitlines(), skipinitialspace=True))
    header = [c for c in rows[0] if c]
    assert header[0] == "nsec"
    data = rows[1:]
    assert data
    col = header.index("read_clat_ns_count")
    doc = json.loads(out.read_text())
    assert sum(int(r[col]) for r in data if r[col].strip()) == doc["jobs"][0]["read"]["clat_ns"]["N"]
    checked = run_clat2csv(exe, [str(out), str(tmp_path / "lat.csv"), "--validate"], tmp_path)
    assert checked.stdout.count("validated") == 1


# --------------------------------------------------------------------------
# --set


def test_set_overrides_and_batch_is_capped(tiny):
    proc = _ok(nvmesim("run", str(tiny), "--output-format", "json", "-q", "--variant", "legacy",
                       "--set", "workload.iodepth=8", "--set", "workload.iodepth_batch_submit=64",
                       "--set", "sim.replications=1"))
    doc = json.loads(proc.stdout)
    w = doc["nvmesim"]["config"]["workload"]
    assert w["iodepth"] == 8
    assert w["iodepth_batch_submit"] == 8  # fio caps the batch to iodepth: not an error
    assert doc["nvmesim"]["config"]["sim"]["replications"] == 1 and doc["nvmesim"]["replications"] == 1
    assert doc["jobs"][0]["job options"]["iodepth"] == "8"
    assert doc["jobs"][0]["job options"]["iodepth_batch_submit"] == "8"


@pytest.mark.parametrize(
    "setting,fragments,real",
    [
        ("workload.iodepth=abc", ["workload.iodepth", "integer", "'abc'"], True),
        ("workload.iodepth=0", ["workload.iodepth", ">= 1"], False),
        ("workload.bs=1m", ["workload.bs", "maximum transfer"], False),
        ("workload.iodepht=4", ["workload.iodepht", "did you mean 'iodepth'"], False),
        ("allocator.variants=[legacy, stak]", ["allocator.variants", "did you mean 'stack'"], False),
        ("iodepth", ["--set", "DOTTED.PATH=VALUE"], False),
    ],
)
def test_bad_set_is_a_located_error(tiny, setting, fragments, real):
    proc = (nvmesim if real else nvmesim_in_process)("run", str(tiny), "--set", setting, "-q")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("nvmesim: error: --set: ")
    for frag in fragments:
        assert frag in line, line


# --------------------------------------------------------------------------
# --output that cannot be written, bad options


def test_unwritable_output_falls_back_to_stdout(tiny, tmp_path):
    target = tmp_path / "no-such-dir" / "out.json"
    proc = nvmesim("run", str(tiny), "--variant", "stack", "--output-format", "json", "--output", str(target),
                   "--set", "sim.replications=1", "-q")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "--output" in proc.stderr and str(target) in proc.stderr and "stdout" in proc.stderr
    assert not target.exists()
    doc = json.loads(proc.stdout)  # nothing computed is lost
    _is_fio_doc(doc)


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--variant", "stak"], "did you mean 'stack'"),
        (["--output-format", "xml"], "--output-format"),
    ],
)
def test_bad_options(tiny, args, fragment):
    proc = nvmesim_in_process("run", str(tiny), *args, "-q")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and fragment in proc.stderr


def test_normal_output_names_both_variants(tiny):
    proc = _ok(nvmesim("run", str(tiny), "-q", "--set", "sim.replications=1"))
    assert "variant=legacy" in proc.stdout and "variant=stack" in proc.stdout
    assert "IOPS=" in proc.stdout
