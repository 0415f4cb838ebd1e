"""The one YAML reader (nvmesim/config/yamlread.py): nothing silent, nothing unbounded.

Each case here was a defect of the PyYAML-based reader: a duplicate key silently kept the
last value, an alias bomb expanded until memory ran out (in the line-tracking walk), deep
nesting raised RecursionError, unconstructable scalars and /dev/zero gave tracebacks."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from nvmesim.cli import app
from nvmesim.config import ConfigError, load_config, read_yaml
from nvmesim.config.yamlread import LIMITS, YamlLimits, YamlProblem, yaml_with_lines

BOMB = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10) if p else ', '.join(['x'] * 10)}]\n"
               for p, c in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh"))


def problems(tmp_path, text: str, name: str = "c.yaml") -> list[str]:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    return [x.replace(str(p), "F") for x in e.value.problems]


def test_a_duplicate_section_is_an_error_at_both_lines(tmp_path):
    (msg,) = problems(tmp_path, "workload:\n  iodepth: 4\nhost:\n  cores: 2\nworkload:\n  bs: 8k\n")
    assert msg.startswith("F:5: workload: duplicate key (first at line 1)")


def test_a_duplicate_key_is_an_error_at_both_lines(tmp_path):
    (msg,) = problems(tmp_path, "workload:\n  iodepth: 4\n  bs: 8k\n  iodepth: 8\n")
    assert msg.startswith("F:4: workload.iodepth: duplicate key (first at line 2)")


@pytest.mark.parametrize("key", ["null", "true", "''", "~"])
def test_keys_must_be_names_and_are_located(tmp_path, key):
    (msg,) = problems(tmp_path, f"workload:\n  iodepth: 4\n  {key}: 3\n")
    assert msg.startswith("F:3: ") and "key" in msg


@pytest.mark.parametrize("value", ["2024-02-30", "0x_"])
def test_unconstructable_scalars_are_located(tmp_path, value):
    (msg,) = problems(tmp_path, f"workload:\n  runtime: {value}\n")
    assert msg.startswith("F:2: cannot read the value") and value in msg


def test_an_alias_bomb_stops_at_the_limit_quickly(tmp_path):
    t0 = time.monotonic()
    (msg,) = problems(tmp_path, BOMB)
    assert "alias" in msg and str(LIMITS.max_nodes) in msg
    assert time.monotonic() - t0 < 30  # (the old reader ate GBs here; this bound is generous)


def test_an_alias_bomb_in_a_sweep_spec_is_located(tmp_path):
    from nvmesim.experiments.sweep import load_spec

    p = tmp_path / "s.yaml"
    p.write_text("base: {}\nset:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()))
    with pytest.raises(ConfigError) as e:
        load_spec(p)
    assert "alias" in str(e.value) and str(p) in str(e.value)


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_refused(tmp_path, depth):
    (msg,) = problems(tmp_path, "workload: " + "[" * depth + "]" * depth + "\n")
    assert "nested too deeply" in msg


def test_a_recursive_alias_is_refused():
    with pytest.raises(YamlProblem, match="recursive alias"):
        yaml_with_lines("a: &x [1, *x]\n")


def test_the_size_limit_and_dev_zero(tmp_path):
    with pytest.raises(ConfigError, match="larger than"):
        read_yaml("/dev/zero")
    with pytest.raises(YamlProblem, match="larger than 10 bytes"):
        yaml_with_lines("a: 1\nb: 2\nc: 3\n", YamlLimits(max_bytes=10))


def test_merge_keys_and_lines_still_work():
    data, lines = yaml_with_lines("base: &b {iodepth: 4, bs: 8k}\nworkload:\n  <<: *b\n  bs: 16k\n")
    assert data["workload"] == {"iodepth": 4, "bs": "16k"}
    assert lines["workload.bs"] == 4 and lines["base.iodepth"] == 1


@pytest.mark.parametrize("text", [BOMB, "workload:\n  iodepth: 1\n  iodepth: 2\n", "w: 2024-02-30\n",
                                  "a: " + "[" * 3000 + "]" * 3000])
def test_the_cli_exits_2_with_a_located_message(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    r = CliRunner().invoke(app, ["run", str(p), "-q"])
    assert r.exit_code == 2, r.output
    assert f"nvmesim: error: {p}" in r.output and "Traceback" not in r.output


def test_the_cli_refuses_dev_zero():
    r = CliRunner().invoke(app, ["run", "/dev/zero", "-q"])
    assert r.exit_code == 2 and "larger than" in r.output
