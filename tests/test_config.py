"""The config layer: fio option semantics, round trip, and located errors.

Every bad input must give ``file:line: dotted.path: what was expected`` on stderr,
exit code 2 and no traceback from ``nvmesim run CONFIG``.  The CLI cases run
in process through typer's CliRunner (fast); a few also as real subprocesses.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli_in_process
from nvmesim.api import load, run_replication
from nvmesim.config import (
    DEFAULT_PERCENTILES,
    Config,
    ConfigError,
    apply_overrides,
    config_from_dict,
    load_config,
    parse_cpus,
)

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _yaml(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _w(**kw) -> Config:
    """A config with only workload options set."""
    return config_from_dict({"workload": kw})


def _problems(tmp_path: Path, text: str, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(_yaml(tmp_path, text), overrides)
    assert e.value.problems and str(e.value) == "\n".join(e.value.problems)
    return e.value.problems


# --------------------------------------------------------------------------
# fio option semantics


def test_defaults_are_fios():
    w = Config().workload
    assert (w.ioengine, w.rw, w.bs, w.iodepth, w.numjobs) == ("io_uring", "randread", 4096, 1, 1)
    assert (w.iodepth_batch_submit, w.iodepth_batch_complete_min, w.iodepth_batch_complete_max) == (1, 1, 1)
    assert w.iodepth_low == 1 and w.thinktime == 0 and w.thinktime_blocks == 1
    assert w.percentile_list == list(DEFAULT_PERCENTILES)


def test_iodepth_batch_is_alias_of_submit():
    assert _w(iodepth=16, iodepth_batch=8).workload.iodepth_batch_submit == 8
    assert _w(iodepth=16, iodepth_batch_submit=8).workload.iodepth_batch_submit == 8


def test_iodepth_batch_complete_is_alias_of_min():
    w = _w(iodepth=16, iodepth_batch_complete=4).workload
    assert w.iodepth_batch_complete_min == 4
    assert w.iodepth_batch_complete_max == 4  # max defaults to min


@pytest.mark.parametrize("key", ["iodepth_batch_submit", "iodepth_batch"])
def test_batch_submit_zero_means_iodepth(key):
    assert _w(iodepth=32, **{key: 0}).workload.iodepth_batch_submit == 32


@pytest.mark.parametrize("key", ["iodepth_batch_submit", "iodepth_batch"])
def test_batch_submit_above_iodepth_is_capped_not_an_error(key):
    cfg = _w(iodepth=16, **{key: 64})
    assert cfg.workload.iodepth_batch_submit == 16
    assert cfg.effective()["workload"]["iodepth_batch_submit"] == 16


def test_batch_submit_above_iodepth_capped_from_yaml(tmp_path):
    cfg = load_config(_yaml(tmp_path, "workload:\n  iodepth: 8\n  iodepth_batch_submit: 64\n"))
    assert cfg.effective()["workload"]["iodepth_batch_submit"] == 8


@pytest.mark.parametrize(
    "cmin,cmax,expect",
    [
        (1, None, 1),  # default: max = min
        (4, None, 4),
        (8, 2, 8),  # lower than min: raised to min
        (8, 8, 8),
        (2, 16, 16),  # higher: kept
    ],
)
def test_batch_complete_max(cmin, cmax, expect):
    kw = {"iodepth": 32, "iodepth_batch_complete_min": cmin}
    if cmax is not None:
        kw["iodepth_batch_complete_max"] = cmax
    assert _w(**kw).workload.iodepth_batch_complete_max == expect


def test_batch_complete_min_zero_polls_and_still_reaps():
    # fio's fixup_options: batch_complete_max defaults to (and is raised to) min, 0 here;
    # with both 0 fio polls (io_in_polling) and wait_for_completions still asks for one
    w = _w(iodepth=8, iodepth_batch_complete_min=0).workload
    assert w.iodepth_batch_complete_min == 0 and w.iodepth_batch_complete_max == 0
    assert _w(iodepth=8, iodepth_batch_complete_min=0, iodepth_batch_complete_max=8).workload.iodepth_batch_complete_max == 8
    rep = run_replication(config_from_dict({"workload": {"iodepth": 8, "iodepth_batch_complete_min": 0,
                                                         "runtime": "5ms"}}), "stack", 0)
    # one wait for one completion per loop (as fio's): about depth 1 on a 90 us drive
    assert rep.jobs[0].read.clat.n > 30 and rep.mean_depth[0] < 1.5


@pytest.mark.parametrize("low,expect", [(None, 16), (0, 16), (4, 4), (16, 16), (64, 16)])
def test_iodepth_low(low, expect):
    kw = {"iodepth": 16} if low is None else {"iodepth": 16, "iodepth_low": low}
    assert _w(**kw).workload.iodepth_low == expect


@pytest.mark.parametrize(
    "bs,expect", [("4k", 4096), ("4K", 4096), ("128KiB", 131072), (8192, 8192), ("1.5k", 1536), ("256k", 262144)]
)
def test_sizes_use_kb_base_1024(bs, expect):
    assert _w(bs=bs).workload.bs == expect


def test_size_fields_elsewhere():
    assert config_from_dict({"driver": {"sgl_threshold": "64k"}}).driver.sgl_threshold == 65536
    assert config_from_dict({"driver": {"sgl_threshold": 0}}).driver.sgl_threshold == 0


@pytest.mark.parametrize(
    "value,seconds",
    [("500ms", 0.5), ("2s", 2.0), (3, 3.0), (0.25, 0.25), ("3", 3.0), ("1m", 60.0), ("250us", 250e-6), ("10ms", 0.01)],
)
def test_runtime_and_ramp_time_units(value, seconds):
    w = _w(runtime=value, ramp_time=value).workload
    assert w.runtime == pytest.approx(seconds) and w.ramp_time == pytest.approx(seconds)


@pytest.mark.parametrize("value,us", [(10, 10.0), (2.5, 2.5), ("10", 10.0), ("2ms", 2000.0), ("1s", 1e6), ("500ns", 0.5)])
def test_thinktime_bare_numbers_are_microseconds(value, us):
    assert _w(thinktime=value).workload.thinktime == pytest.approx(us)


def test_ramp_time_is_the_only_warm_up():
    assert _w(ramp_time="5ms").workload.ramp_time == pytest.approx(0.005)
    with pytest.raises(ConfigError, match="sim.warmup: unknown key"):
        config_from_dict({"sim": {"warmup": "1ms"}})


@pytest.mark.parametrize(
    "spec,cpus",
    [("0-3,8", [0, 1, 2, 3, 8]), ("0", [0]), ("3,1,2", [1, 2, 3]), ("0-1, 1-2", [0, 1, 2]), ("10-11,", [10, 11])],
)
def test_parse_cpus(spec, cpus):
    assert parse_cpus(spec) == cpus


@pytest.mark.parametrize("spec", ["", ",", "a", "1-", "-1", "3-1", "0-3:2", "1.5"])
def test_parse_cpus_rejects(spec):
    with pytest.raises(ValueError):
        parse_cpus(spec)


def test_cpus_allowed_ranges_assign_jobs_in_order():
    cfg = config_from_dict({"host": {"cores": 16}, "workload": {"cpus_allowed": "0-3,8", "numjobs": 5}})
    assert cfg.job_cpus() == [0, 1, 2, 3, 8]
    assert config_from_dict({"host": {"cores": 4}, "workload": {"numjobs": 3}}).job_cpus() == [0, 1, 2]


def test_cpus_allowed_single_cpu_unquoted(tmp_path):
    """`cpus_allowed: 2` is YAML's integer 2; fio's syntax means CPU 2."""
    cfg = load_config(_yaml(tmp_path, "workload:\n  cpus_allowed: 2\n"))
    assert cfg.job_cpus() == [2]


def test_device_preset_fields_override_preset():
    cfg = config_from_dict({"device": {"preset": "optane", "read": {"mean_us": 9.5}}})
    d = cfg.device
    assert d.parallel_units == 5 and d.sgl_support is False
    assert d.read.mean_us == 9.5 and d.read.p99_us == 10.0  # the rest of read from the preset


def test_overrides_dotted_paths():
    data = {"workload": {"iodepth": 2}}
    out = apply_overrides(data, {"workload.iodepth": 4, "sim.seed": 7})
    assert out == {"workload": {"iodepth": 4}, "sim": {"seed": 7}}
    assert data == {"workload": {"iodepth": 2}}  # input untouched
    cfg = load({"workload": {"iodepth": 2}}, {"workload.iodepth": 4})
    assert cfg.workload.iodepth == 4


def test_load_config_with_overrides(tmp_path):
    cfg = load_config(_yaml(tmp_path, "workload:\n  iodepth: 2\n"), {"workload.iodepth": 8, "sim.replications": 1})
    assert cfg.workload.iodepth == 8 and cfg.sim.replications == 1


# --------------------------------------------------------------------------
# the effective config round-trips


BUSY = {
    "workload": {
        "name": "busy", "rw": "randrw", "rwmixread": 70, "bs": "128k", "iomem": "mmaphuge", "iodepth": 64,
        "iodepth_batch": 0, "iodepth_batch_complete": 4, "iodepth_low": 0, "numjobs": 3,
        "cpus_allowed": "0-1,4", "runtime": "500ms", "ramp_time": "10ms", "thinktime": "2ms",
        "thinktime_blocks": 8, "percentile_list": [99.9, 50, 99], "lat_percentiles": True,
    },
    "host": {"cores": 8, "numa_nodes": 2, "costs": {"syscall_ns": 300}},
    "driver": {"kernel": "6.2", "sgl_threshold": "64k", "irq_coalescing": {"threshold": 8, "time_us": 100},
               "poll_queues": 2},
    "device": {"preset": "optane", "read": {"mean_us": 9.0}},
    "allocator": {"variants": ["stack", "legacy"]},
    "sim": {"seed": 42, "replications": 2},
}


@pytest.mark.parametrize("data", [{}, BUSY, {"workload": {"iodepth_batch_complete_min": 0}}],
                         ids=["defaults", "busy", "poll"])
def test_effective_round_trips(data):
    cfg = config_from_dict(data)
    eff = cfg.effective()
    assert config_from_dict(eff) == cfg
    assert config_from_dict(json.loads(json.dumps(eff))) == cfg  # JSON-able, still equal
    assert config_from_dict(cfg.effective()).effective() == eff


def test_effective_has_every_field_filled():
    eff = config_from_dict(BUSY).effective()
    assert set(eff) == set(Config.model_fields)
    w = eff["workload"]
    assert w["iodepth_batch_submit"] == 64 and w["iodepth_low"] == 64
    assert w["iodepth_batch_complete_min"] == 4 and w["iodepth_batch_complete_max"] == 4
    assert w["bs"] == 131072 and w["runtime"] == 0.5 and w["thinktime"] == 2000.0
    assert w["percentile_list"] == [50, 99, 99.9]
    assert eff["sim"]["replications"] == 2 and eff["workload"]["time_based"] is True
    assert eff["device"]["read"]["p99_us"] == 10.0


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_load_and_round_trip(path):
    cfg = load_config(path)
    assert config_from_dict(cfg.effective()) == cfg


# --------------------------------------------------------------------------
# located errors, in process


def test_error_names_file_line_and_path(tmp_path):
    (msg,) = _problems(tmp_path, "# a comment\n\nworkload:\n  runtime: 5ms\n  iodepht: 4\n")
    assert msg.startswith(f"{tmp_path / 'cfg.yaml'}:5: workload.iodepht: unknown key")
    assert "did you mean 'iodepth'?" in msg


def test_every_problem_is_reported(tmp_path):
    probs = _problems(tmp_path, "workload:\n  iodepth: abc\n  bs: xyz\nhost:\n  cores: 0\nsim:\n  sed: 1\n")
    src = str(tmp_path / "cfg.yaml")
    assert sorted(p.split(": ")[0] for p in probs) == [f"{src}:{n}" for n in (2, 3, 5, 7)]
    joined = "\n".join(probs)
    for path in ("workload.iodepth", "workload.bs", "host.cores", "sim.sed"):
        assert f": {path}: " in joined


def test_error_inside_a_list_points_at_the_item(tmp_path):
    (msg,) = _problems(tmp_path, "workload:\n  percentile_list:\n    - 50\n    - 99\n    - 101\n")
    assert ":2: workload.percentile_list: " in msg and "101" in msg


def test_config_from_dict_without_lines():
    with pytest.raises(ConfigError) as e:
        config_from_dict({"workload": {"iodepth": 0}})
    assert e.value.problems == ["<dict>: workload.iodepth: must be >= 1, got 0"]


def test_set_override_error_is_attributed_to_set(tmp_path):
    """A bad --set value is not in the file: don't point at a file line for it."""
    (msg,) = _problems(tmp_path, "workload:\n  iodepth: 2\n", {"workload.iodepth": "abc"})
    assert msg.startswith("--set: workload.iodepth: ") and "'abc'" in msg
    (msg,) = _problems(tmp_path, "workload:\n  iodepth: 2\n", {"workload.bs": "1m"})
    assert msg.startswith("--set: workload.bs: ") and "maximum transfer" in msg


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just a string\n", "42\n"])
def test_overrides_do_not_hide_a_bad_file(tmp_path, text):
    """An empty file or a non-mapping stays an error even with --set."""
    (msg,) = _problems(tmp_path, text, {"workload.iodepth": 4})
    assert msg.startswith(f"{tmp_path / 'cfg.yaml'}: ")
    assert "mapping" in msg


def test_recursive_yaml_alias_is_a_clean_error(tmp_path):
    probs = _problems(tmp_path, "workload:\n  percentile_list: &x [50, *x]\n")
    assert any("workload.percentile_list" in p for p in probs)


def test_non_utf8_file_is_a_clean_error(tmp_path):
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\xff\xfe\x00\x01workload: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    (msg,) = e.value.problems
    assert msg.startswith(f"{p}: ") and "UTF-8" in msg


# --------------------------------------------------------------------------
# located errors through `nvmesim run CONFIG` (real processes, started together)

# id: (YAML text, line or None, dotted path or None, fragments the message must contain)
BAD = {
    "unknown-workload-key": ("workload:\n  runtime: 5ms\n  iodepht: 4\n", 3, "workload.iodepht",
                             ["unknown key", "did you mean 'iodepth'"]),
    "unknown-device-read-key": ("device:\n  preset: tlc-dc\n  read:\n    mean: 4\n", 4, "device.read.mean",
                                ["unknown key", "did you mean 'mean_us'"]),
    "unknown-top-level-key": ("# typo below\nwrkload:\n  iodepth: 4\n", 2, "wrkload",
                              ["unknown key", "did you mean 'workload'"]),
    "unknown-host-costs-key": ("host:\n  costs:\n    syscal_ns: 10\n", 3, "host.costs.syscal_ns",
                               ["did you mean 'syscall_ns'"]),
    "unknown-allocator-cost-key": ("allocator:\n  cost:\n    no_such_constant: 1\n", 3,
                                   "allocator.cost.no_such_constant", ["unknown key"]),
    "iodepth-not-int": ("workload:\n  iodepth: abc\n", 2, "workload.iodepth", ["integer", "'abc'"]),
    "bs-list": ("workload:\n  bs: [1]\n", 2, "workload.bs", ["size", "[1]"]),
    "section-not-mapping": ("sim:\n  seed: 1\nworkload: 5\n", 3, "workload", ["mapping", "5"]),
    "iodepth-zero": ("workload:\n  iodepth: 0\n", 2, "workload.iodepth", [">= 1", "0"]),
    "numjobs-negative": ("workload:\n  numjobs: -1\n", 2, "workload.numjobs", [">= 1", "-1"]),
    "bs-zero": ("workload:\n  bs: 0\n", 2, "workload.bs", ["> 0"]),
    "bs-negative": ("workload:\n  bs: -4k\n", 2, "workload.bs", ["-4k"]),
    "bs-negative-int": ("workload:\n  bs: -4096\n", 2, "workload.bs", ["-4096"]),
    "bs-not-sector-multiple": ("workload:\n  bs: 1000\n", 2, "workload.bs", ["512"]),
    "sgl-threshold-negative": ("driver:\n  sgl_threshold: -1\n", 2, "driver.sgl_threshold", ["negative"]),
    "bs-above-max-transfer": ("workload:\n  iodepth: 4\n  bs: 1m\n", 3, "workload.bs",
                              ["maximum transfer", "524288", "NVME_MAX_SEGS = 128"]),
    "bs-above-nvme-max-kb": ("workload:\n  iomem: mmaphuge\n  bs: 16m\n", 3, "workload.bs", ["NVME_MAX_KB_SZ = 8192"]),
    "bs-above-iommu-cap": ("host:\n  iommu: true\nworkload:\n  bs: 256k\n", 4, "workload.bs",
                           ["131072", "IOMMU"]),
    "unknown-variant": ("allocator:\n  variants: [legacy, stak]\n", 2, "allocator.variants",
                        ["did you mean 'stack'"]),
    "unknown-rw": ("workload:\n  rw: randrd\n", 2, "workload.rw", ["'randread'", "'randrd'"]),
    "bad-runtime": ("workload:\n  runtime: 5 parsecs\n", 2, "workload.runtime", ["time"]),
    "zero-runtime": ("workload:\n  runtime: 0\n", 2, "workload.runtime", ["greater than 0"]),
    "negative-thinktime": ("workload:\n  thinktime: -1\n", 2, "workload.thinktime", ["greater than or equal"]),
    "cpu-missing": ("host:\n  cores: 4\nworkload:\n  cpus_allowed: '0-3,8'\n", 4, "workload.cpus_allowed",
                    ["[8]", "host.cores"]),
    "bad-cpus-syntax": ("workload:\n  cpus_allowed: 0-x\n", 2, "workload.cpus_allowed", ["0-3,8"]),
    "too-many-jobs": ("workload:\n  numjobs: 3\n  cpus_allowed: '0-1'\n", 2, "workload.numjobs", ["CPUs"]),
    "polled-iodepth-above-queue": ("workload:\n  iodepth: 5000\n  hipri: true\ndriver:\n  poll_queues: 1\n", 2,
                                   "workload.iodepth", ["1023", "hipri"]),
    "iodepth-above-queue-no-spare-cpu": ("workload:\n  iodepth: 5000\nhost:\n  cores: 1\n", 2, "workload.iodepth",
                                         ["1023", "io-wq"]),
    "hipri-without-poll-queues": ("workload:\n  hipri: true\n", 2, "workload.hipri", ["poll_queues"]),
    "lognormal-shape": ("device:\n  read:\n    mean_us: 500\n", 2, "device.read", ["p99_us/mean_us"]),
    "numa-split": ("host:\n  cores: 6\n  numa_nodes: 4\n", 1, "host", ["numa_nodes"]),
    "empty-file": ("", None, None, ["empty", "mapping"]),
    "comment-only-file": ("# nothing here\n", None, None, ["empty"]),
    "not-yaml": ("workload: [unclosed\n", None, None, ["not valid YAML"]),
    "tab-indent": ("workload:\n\tiodepth: 4\n", 2, None, ["not valid YAML"]),
    "yaml-list": ("- workload\n- sim\n", None, None, ["expected a mapping", "list"]),
    "yaml-scalar": ("hello\n", None, None, ["expected a mapping", "str"]),
}


def _cli_in_process(args: list[str]) -> tuple[int, str, str]:
    proc = cli_in_process(*args)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    """{id: (path, `nvmesim run` arguments)} for every bad input."""
    d = tmp_path_factory.mktemp("bad")
    jobs = {}
    for name, (text, *_rest) in BAD.items():
        p = d / f"{name}.yaml"
        p.write_text(text)
        jobs[name] = (p, ["run", str(p), "-q"])
    jobs["missing-file"] = (d / "no-such.yaml", ["run", str(d / "no-such.yaml")])
    (d / "bin.yaml").write_bytes(b"\xff\xfe\x00\x01")
    jobs["binary-file"] = (d / "bin.yaml", ["run", str(d / "bin.yaml")])
    jobs["directory"] = (d, ["run", str(d)])
    return jobs


# A few of the cases also as real processes (started together): exit code 2 and no
# traceback from the actual `python -m nvmesim.cli`.
SUBPROCESS_CASES = ["unknown-device-read-key", "unknown-variant", "not-yaml", "missing-file", "binary-file"]


@pytest.fixture(scope="module")
def cli_errors(bad_files):
    """{id: (path, returncode, stdout, stderr)}: in process, plus real processes for SUBPROCESS_CASES."""
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "nvmesim.cli", *bad_files[name][1]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in SUBPROCESS_CASES
    }
    out = {name: (path, *_cli_in_process(args)) for name, (path, args) in bad_files.items()}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        out[f"{name}/subprocess"] = (bad_files[name][0], proc.returncode, stdout, stderr)
    return out


def _check_clean_failure(rc: int, stdout: str, stderr: str) -> list[str]:
    assert rc == 2, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert stdout == ""
    lines = stderr.splitlines()
    assert lines and all(line.startswith("nvmesim: error: ") for line in lines), stderr
    return lines


def _check_located(cli_errors, key: str, name: str) -> None:
    _text, line, dotted, fragments = BAD[name]
    path, rc, stdout, stderr = cli_errors[key]
    lines = _check_clean_failure(rc, stdout, stderr)
    loc = re.escape(str(path)) + (f":{line}" if line else r"(:\d+)?")
    head = rf"^nvmesim: error: {loc}: " + (re.escape(dotted) + ": " if dotted else "")
    matching = [ln for ln in lines if re.match(head, ln)]
    assert matching, f"no line matches {head!r} in:\n{stderr}"
    for frag in fragments:
        assert any(frag in ln for ln in matching), f"{frag!r} not in {matching}"


@pytest.mark.parametrize("name", list(BAD))
def test_cli_located_error(cli_errors, name):
    _check_located(cli_errors, name, name)


@pytest.mark.parametrize("name", [n for n in SUBPROCESS_CASES if n in BAD])
def test_cli_located_error_subprocess(cli_errors, name):
    _check_located(cli_errors, f"{name}/subprocess", name)


UNREADABLE = {"missing-file": "No such file", "binary-file": "UTF-8", "directory": "cannot read"}


@pytest.mark.parametrize("key", [*UNREADABLE, *(f"{n}/subprocess" for n in SUBPROCESS_CASES if n in UNREADABLE)])
def test_cli_unreadable_file(cli_errors, key):
    path, rc, stdout, stderr = cli_errors[key]
    (line,) = _check_clean_failure(rc, stdout, stderr)
    assert line.startswith(f"nvmesim: error: {path}: ") and UNREADABLE[key.split("/")[0]] in line


def test_infinite_runtime_is_rejected():
    from nvmesim.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match="workload.runtime: expected a finite time"):
        config_from_dict({"workload": {"runtime": float("inf")}}, "x.yaml")
