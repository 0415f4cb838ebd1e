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
