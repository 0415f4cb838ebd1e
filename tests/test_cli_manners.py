"""CLI manners: --version, shell completion, choices as enums with completion, live
progress within a replication (results unchanged), fio-style numbers in --set, --frame."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pandas.testing as pdt
import pytest
from typer.testing import CliRunner

import nvmesim
from nvmesim.cli import app, complete_output_format, complete_variant

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


# ---------------------------------------------------------------- --version


def test_version_prints_name_and_version():
    r = invoke("--version")
    assert r.exit_code == 0
    assert r.stdout.strip() == f"nvmesim {nvmesim.__version__}"


def test_python_m_nvmesim_version(tmp_path):
    p = subprocess.run([sys.executable, "-m", "nvmesim", "--version"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"nvmesim {nvmesim.__version__}"
    assert p.stderr == ""


# ---------------------------------------------------------------- completion


def test_help_lists_completion_options():
    r = invoke("--help")
    assert r.exit_code == 0
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    assert "--version" in r.stdout


def test_every_command_help_renders():
    for cmd in ("dmapool-test", "run", "validate", "calibrate", "sensitivity", "sweep", "plot"):
        r = invoke(cmd, "--help")
        assert r.exit_code == 0, (cmd, r.output)


# ---------------------------------------------------------------- choices


@pytest.mark.parametrize("cmd,option,shown", [
    (["dmapool-test"], "--format", "table|json"),
    (["validate"], "--output-format", "normal|json"),
    (["calibrate"], "--bandwidth", "link|unit"),
])
def test_help_shows_choices(cmd, option, shown):
    r = invoke(*cmd, "--help")
    assert r.exit_code == 0
    line = next(ln for ln in r.stdout.splitlines() if option in ln)
    assert shown in line


@pytest.mark.parametrize("args,option", [
    (["dmapool-test", "--format", "xml"], "--format"),
    (["validate", "cfg.yaml", "run.json", "--output-format", "xml"], "--output-format"),
    (["calibrate", "run.json", "-o", "out.yaml", "--bandwidth", "pipe"], "--bandwidth"),
])
def test_bad_choice_is_exit_2_naming_the_option(args, option):
    r = invoke(*args)
    assert r.exit_code == 2
    assert f"Invalid value for '{option}'" in r.output
    assert "Traceback" not in r.output


def test_dmapool_test_variant_still_checked_against_the_live_registry():
    r = invoke("dmapool-test", "--variant", "stak")
    assert r.exit_code == 2
    assert "--variant" in r.output and "did you mean 'stack'" in r.output


def test_variant_completion_lists_registered_variants():
    from nvmesim.allocators import VARIANTS, StackPool, register

    assert set(complete_variant("")) >= {"legacy", "stack"}
    assert complete_variant("st") == ["stack"]

    class Plugged(StackPool):
        name = "plugged-test"

    register(Plugged)
    try:
        assert "plugged-test" in complete_variant("plug")
        r = invoke("dmapool-test", "--variant", "plugged-test", "--sizes", "64", "--rounds", "2", "--format", "json")
        assert r.exit_code == 0, r.output
        assert {row["variant"] for row in json.loads(r.stdout)} == {"plugged-test"}
    finally:
        del VARIANTS["plugged-test"]


def test_output_format_completion_names_fios_formats():
    assert set(complete_output_format("")) == {"normal", "terse", "minimal", "csv", "json", "json+"}
    assert set(complete_output_format("js")) == {"json", "json+"}
    assert complete_output_format("terse,no") == ["terse,normal"]


# ---------------------------------------------------------------- progress within a replication


def test_progress_within_a_replication_leaves_results_identical():
    from nvmesim.api import load, run

    cfg = load({"workload": {"runtime": "5ms", "ramp_time": "1ms"}}, {"sim.replications": 2})
    seen: list[tuple[str, int, int, float]] = []
    # the live fraction is the serial mode's (workers > 1 report whole replications)
    with_progress = run(cfg, progress=lambda v, r, n, f: seen.append((v, r, n, f)), workers=1)
    without = run(cfg, progress=None)
    pdt.assert_frame_equal(with_progress.to_frame(), without.to_frame())
    pdt.assert_frame_equal(with_progress.hist_frame(), without.hist_frame())
    for v in without.variants:
        assert [r.events for r in with_progress.replications[v]] == [r.events for r in without.replications[v]]
    for v in without.variants:
        for r in range(2):
            fr = [f for (vv, rr, n, f) in seen if vv == v and rr == r]
            assert fr[0] == 0.0 and fr[-1] == 1.0
            inner = fr[1:-1]
            assert len(inner) > 10, fr  # moves during the replication, not only at its ends
            assert all(0.0 < f < 1.0 for f in inner)
            assert all(a < b for a, b in zip(inner, inner[1:]))


def test_progress_identical_on_a_busier_config():
    """Many events per chunk boundary (depth 32, two jobs): still the same run, event for event."""
    from nvmesim.api import load, run

    cfg = load("configs/qd1.yaml", {"workload.runtime": "2ms", "workload.ramp_time": "0.5ms",
                                    "workload.iodepth": 32, "workload.numjobs": 2,
                                    "workload.cpus_allowed": "0-1"})
    seen: list[float] = []
    a = run(cfg, progress=lambda v, r, n, f: seen.append(f), workers=1)
    b = run(cfg)
    pdt.assert_frame_equal(a.to_frame(), b.to_frame())
    for v in b.variants:
        assert [r.events for r in a.replications[v]] == [r.events for r in b.replications[v]]
        assert [r.profile_ns for r in a.replications[v]] == [r.profile_ns for r in b.replications[v]]
    assert sum(0.0 < f < 1.0 for f in seen) > 10


# ---------------------------------------------------------------- fio-style numbers in --set

# a short run of the qd1 config (its runtime is long for a test)
SHORT = ["--set", "workload.runtime=5e-3", "--set", "workload.ramp_time=1e-3"]


def test_set_takes_exponent_floats_for_times():
    r = invoke("run", "configs/qd1.yaml", *SHORT, "-q", "--output-format", "json")
    assert r.exit_code == 0, r.output
    config = json.loads(r.stdout)["nvmesim"]["config"]
    assert config["workload"]["runtime"] == 0.005
    assert config["workload"]["ramp_time"] == 0.001


@pytest.mark.parametrize("item,path,expected", [
    ("workload.runtime=5e-2", "workload.runtime", 0.05),
    ("workload.runtime=10ms", "workload.runtime", 0.01),
    ("workload.bs=4k", "workload.bs", 4096),
    ("workload.bs=8.192e3", "workload.bs", 8192),
    ("workload.iodepth=1e3", "workload.iodepth", 1000),
    ("host.costs.lock_handoff_ns=5e1", "host.costs.lock_handoff_ns", 50.0),
    ("workload.name=6.10", "workload.name", "6.10"),  # a text field keeps the text typed
    ("driver.kernel=6.16", "driver.kernel", "6.16"),
])
def test_set_values_read_as_fio_reads_them(item, path, expected):
    from nvmesim.api import load
    from nvmesim.config import parse_assignment

    key, value = parse_assignment(item)
    cfg = load("configs/qd1.yaml", {key: value})
    node = cfg
    for part in path.split("."):
        node = getattr(node, part)
    assert node == expected and type(node) is type(expected)


def test_set_text_field_keeps_trailing_zero():
    r = invoke("run", "configs/qd1.yaml", *SHORT, "--set", "driver.kernel=6.10", "-q")
    assert r.exit_code == 2
    assert "driver.kernel" in r.output and "'6.10'" in r.output  # not 6.1: the text as typed
    assert "Traceback" not in r.output


@pytest.mark.parametrize("item,path", [("workload.iodepth=true", "workload.iodepth"),
                                       ("workload.iodepth=1.5", "workload.iodepth"),
                                       ("workload.runtime=5e-2x", "workload.runtime")])
def test_set_bad_numbers_still_refused(item, path):
    r = invoke("run", "configs/qd1.yaml", "--set", item, "-q")
    assert r.exit_code == 2
    assert f"--set: {path}" in r.output
    assert "Traceback" not in r.output


def test_vary_reads_values_like_set():
    from nvmesim.config import parse_vary

    assert parse_vary("workload.runtime=1e-3,2e-3").values == (0.001, 0.002)
    assert parse_vary("workload.name=6.10,7").values == ("6.10", "7")


# ---------------------------------------------------------------- --frame


def test_frame_parquet_round_trip_with_provenance(tmp_path):
    from nvmesim.api import load, run
    from nvmesim.output.frames import parquet_provenance

    target = tmp_path / "results.parquet"
    r = invoke("run", "configs/qd1.yaml", *SHORT, "-q", "--output-format", "json", "--frame", str(target))
    assert r.exit_code == 0, r.output
    back = pd.read_parquet(target)
    expected = run(load("configs/qd1.yaml", {"workload.runtime": 5e-3, "workload.ramp_time": 1e-3})).to_frame()
    pdt.assert_frame_equal(back, expected)
    prov = parquet_provenance(str(target))
    assert prov is not None and prov
    assert json.loads(r.stdout)["nvmesim"]["config"]["workload"]["runtime"] == 0.005  # stdout as without --frame


def test_frame_csv(tmp_path):
    target = tmp_path / "results.csv"
    r = invoke("run", "configs/qd1.yaml", *SHORT, "-q", "--output-format", "terse", "--frame", str(target))
    assert r.exit_code == 0, r.output
    back = pd.read_csv(target)
    assert set(back["variant"]) == {"legacy", "stack"}
    assert len(back) >= 2


@pytest.mark.parametrize("name,needle", [("results.txt", ".parquet or .csv"), ("nodir/results.parquet",
                                                                            "no such directory")])
def test_frame_bad_name_refused_before_the_run(tmp_path, monkeypatch, name, needle):
    import nvmesim.api

    def no_run(*a, **k):
        raise AssertionError("the simulation ran before --frame was checked")

    monkeypatch.setattr(nvmesim.api, "run", no_run)
    r = invoke("run", "configs/qd1.yaml", *SHORT, "-q", "--frame", str(tmp_path / name))
    assert r.exit_code == 2
    assert "--frame" in r.output and needle in r.output
    assert not (tmp_path / name).exists()


def test_progress_bar_in_a_log_prints_whole_steps_only():
    import io

    from nvmesim.experiments.progress import ProgressBar

    log = io.StringIO()
    bar = ProgressBar(2, stream=log, delay=0.0)
    for done in (0.0, 0.25, 0.5, 1.0, 1.5, 2.0):
        bar.update(done, "x")
    bar.close()
    lines = log.getvalue().splitlines()
    assert [ln.split("]")[1].split()[0] for ln in lines] == ["0/2", "1/2", "2/2"]


def test_progress_bar_on_a_terminal_shows_fractions():
    import io

    from nvmesim.experiments.progress import ProgressBar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = ProgressBar(2, stream=tty, delay=0.0)
    bar.update(0.5, "x")
    assert "[" + "#" * 7 + "-" * 23 + "]" in tty.getvalue()  # a quarter of the way
