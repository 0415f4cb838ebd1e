"""nvmesim validate: real fio runs beside their simulation (experiments/validate.py,
config/fio_options.py)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from nvmesim.api import load, run
from nvmesim.cli import app
from nvmesim.experiments.validate import ValidateError, read_run, validate

from helpers import ROOT  # noqa: E402

REAL = ROOT / "tests/data/fio-uring-direct-qd4.json"


def test_a_simulated_run_validates_against_itself_exactly(tmp_path):
    """The known answer: simulate a job, write its fio JSON, validate the same platform
    on it -- the job's options are read back from the document, the same seed runs the
    same simulation, and every error is zero."""
    cfg = load({"workload": {"bs": "16k", "iodepth": 8, "iodepth_batch_submit": 4, "runtime": "5ms",
                             "ramp_time": "1ms", "rw": "randrw", "rwmixread": 70},
                "allocator": {"variants": ["stack"]}, "sim": {"replications": 1}})
    doc = run(cfg).fio_json("stack")
    path = tmp_path / "sim.json"
    path.write_text(json.dumps(doc))
    rows = validate(cfg, [path])
    assert {r.direction for r in rows} == {"read", "write", "job"}
    assert len(rows) == 2 * 7 + 2
    for r in rows:
        assert r.real == r.simulated or (math.isnan(r.real) and math.isnan(r.simulated)), r


def test_a_real_fio_run_is_read_as_fio_ran_it():
    """Debian's fio 3.33, io_uring, direct=1, 4k randread at iodepth 4 (fixture): the rows
    carry fio's own figures, and the simulated job is that job."""
    doc = json.loads(REAL.read_text())
    real = doc["jobs"][0]["read"]
    rows = {(r.direction, r.metric): r for r in validate(load(ROOT / "configs/qd1.yaml", {"sim.replications": 1}),
                                                         [REAL])}
    assert rows[("read", "iops")].real == real["iops"]
    assert rows[("read", "clat_mean_ns")].real == real["clat_ns"]["mean"]
    assert rows[("read", "clat_p99_ns")].real == real["clat_ns"]["percentile"]["99.000000"]
    assert rows[("job", "sys_cpu")].real == doc["jobs"][0]["sys_cpu"]
    assert all(r.simulated > 0 for r in rows.values())


def _doc_with(tmp_path, **options):
    doc = json.loads(REAL.read_text())
    doc["jobs"][0]["job options"].update(options)
    p = tmp_path / "run.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize("options,text", [
    ({"direct": "0"}, r"jobs\[0\] job options: direct: '0' is not simulated"),
    ({"verify": "md5"}, "verify: an option nvmesim does not model"),
    ({"ioengine": "psync"}, "workload.ioengine"),
    ({"rw": "trim"}, "workload.rw"),
    ({"numjobs": "2"}, "numjobs"),
])
def test_a_run_nvmesim_cannot_simulate_is_a_located_error(tmp_path, options, text):
    path = _doc_with(tmp_path, **options)
    with pytest.raises(ValidateError, match=f"{path}.*{text}"):
        validate(load(ROOT / "configs/qd1.yaml"), [path])


def test_a_file_that_is_not_fio_json_is_named(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    with pytest.raises(ValidateError, match="notes.txt: not fio JSON"):
        read_run(bad)
    empty = tmp_path / "empty.json"
    empty.write_text('{"fio version": "fio-3.33"}')
    with pytest.raises(ValidateError, match="empty.json: not fio JSON .no \"jobs\""):
        read_run(empty)


def test_cli_validate_exit_codes(tmp_path):
    cli = CliRunner()
    ok = cli.invoke(app, ["validate", str(ROOT / "configs/qd1.yaml"), str(REAL), "-q", "--set",
                          "sim.replications=1", "--output-format", "json"])
    assert ok.exit_code == 0, ok.output
    rows = json.loads(ok.stdout)["rows"]
    assert {r["metric"] for r in rows} >= {"iops", "clat_mean_ns", "usr_cpu"}
    bad = cli.invoke(app, ["validate", str(ROOT / "configs/qd1.yaml"), str(_doc_with(tmp_path, direct="0")), "-q"])
    assert bad.exit_code == 2 and "direct" in bad.output
