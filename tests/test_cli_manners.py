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
    with_progress = run(cfg, progress=lambda v, r, n, f: seen.append((v, r, n, f)))
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
    a = run(cfg, progress=lambda v, r, n, f: seen.append(f))
    b = run(cfg)
    pdt.assert_frame_equal(a.to_frame(), b.to_frame())
    for v in b.variants:
        assert [r.events for r in a.replications[v]] == [r.events for r in b.replications[v]]
        assert [r.profile_ns for r in a.replications[v]] == [r.profile_ns for r in b.replications[v]]
    assert sum(0.0 < f < 1.0 for f in seen) > 10
