"""Issue 17's defects, one test each: nothing wrong is silent, nothing unbounded, every
error located and exit 2 (the YAML reader's own are in test_yaml_guards.py)."""

from __future__ import annotations

import json

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
