"""nvmesim calibrate: fitting a platform to fio runs (experiments/calibrate.py), checked
on runs whose answer is known: simulated on a known platform, written as fio JSON,
calibrated on, and the parameters recovered."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from nvmesim.api import load, run
from nvmesim.cli import app
from nvmesim.experiments.calibrate import calibrate, load_runs, platform_yaml, residual_rows
from nvmesim.experiments.validate import ValidateError

HOST_SCALE = 1.5
TRUTH = {"device": {"preset": "custom", "parallel_units": 16, "link_gbps": 2.0, "internal_gbps": 2.0,
                    "read": {"dist": "lognormal", "mean_us": 60.0, "p99_us": 120.0}},
         "allocator": {"variants": ["stack"]}, "sim": {"replications": 1}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    costs = {k: v * HOST_SCALE for k, v in load({}).host.costs.model_dump().items()}
    paths = []
    for name, wl in [("qd1", {"bs": "4k", "iodepth": 1}), ("qd32", {"bs": "4k", "iodepth": 32}),
                     ("bs128", {"bs": "128k", "iodepth": 8})]:
        cfg = load({**TRUTH, "host": {"costs": costs}, "workload": {**wl, "runtime": "50ms", "ramp_time": "5ms"}})
        p = d / f"{name}.json"
        p.write_text(json.dumps(run(cfg).fio_json("stack")))
        paths.append(p)
    return paths


def test_the_known_platform_is_recovered(runs):
    """The device's parameters and every step group's factor come back (runs simulated
    with host noise on, fitted with it off), and so do the figures they were fitted to."""
    cal = calibrate(load_runs(runs), load({"sim": {"replications": 1}}))
    dev = cal.platform.device
    for group in ("user", "io", "event"):
        assert cal.host_scales[group] == pytest.approx(HOST_SCALE, rel=0.10), group
    assert set(cal.host_scales) == {"user", "io", "event"}  # no shadow doorbell inferred
    assert dev.parallel_units == pytest.approx(16, rel=0.25)
    assert dev.link_gbps == pytest.approx(2.0, rel=0.05)
    assert dev.read.dist == "empirical" and dev.read.mean_us == pytest.approx(60.0, rel=0.10)
    rows = residual_rows(cal, runs[:2])  # the runs the host was fitted to
    for r in rows:
        if r.metric in ("iops", "slat_mean_ns", "clat_mean_ns", "usr_cpu", "sys_cpu"):
            assert abs(r.error_pct) < 6.0, r


def test_calibration_is_deterministic_and_its_file_loads_as_a_config(runs, tmp_path):
    a = calibrate(load_runs(runs), load({"sim": {"replications": 1}}))
    b = calibrate(load_runs(runs), load({"sim": {"replications": 1}}))
    assert a.platform.effective() == b.platform.effective()
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(platform_yaml(a)))
    again = load(path)
    for section in ("host", "driver", "device"):
        assert getattr(again, section) == getattr(a.platform, section)


def test_runs_of_different_devices_are_refused(runs, tmp_path):
    docs = []
    for i, p in enumerate(runs[:2]):
        doc = json.loads(p.read_text())
        doc["jobs"][0].setdefault("job options", {})["filename"] = f"/dev/nvme{i}n1"
        q = tmp_path / f"dev{i}.json"
        q.write_text(json.dumps(doc))
        docs.append(q)
    with pytest.raises(ValidateError, match="different devices mixed"):
        load_runs(docs)


def test_cli_calibrate_writes_the_platform_and_the_residuals(runs, tmp_path):
    out = tmp_path / "platform.yaml"
    res = CliRunner().invoke(app, ["calibrate", *map(str, runs), "-o", str(out), "--set", "sim.replications=1"])
    assert res.exit_code == 0, res.output
    assert "device.parallel_units" in res.stdout and "residuals" in res.stdout
    assert load(out).device.read.dist == "empirical"
    bad = CliRunner().invoke(app, ["calibrate", str(tmp_path / "missing.json"), "-o", str(out)])
    assert bad.exit_code == 2 and "missing.json" in bad.output


def test_the_published_optane_platform_is_the_fit_of_its_figures():
    """configs/platforms/axboe-optane-gen2.yaml is what benchmarks/fit_published.py fits
    to Jens Axboe's polled figures, not a file typed by hand: fitting again gives it, and
    the two fitted points come out as published (QD16 is a prediction)."""
    import importlib.util

    from helpers import ROOT

    spec = importlib.util.spec_from_file_location("fit_published", ROOT / "benchmarks/fit_published.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    platform, _text, table = mod.fit()
    assert yaml.safe_load(mod.OUT.read_text()) == platform
    by_depth = {p.depth: (p, iops, lat) for p, iops, lat in table}
    p, iops, _ = by_depth[128]
    assert iops == pytest.approx(p.iops, rel=0.02)
    p, _, lat = by_depth[1]
    assert lat == pytest.approx(p.lat_us, rel=0.02)


VIRTUAL = {"device": {"preset": "custom", "parallel_units": 2, "completes": "round", "shadow_doorbell": True,
                      "unit_gbps": 0.5, "read": {"dist": "lognormal", "mean_us": 12.0, "p99_us": 30.0}},
           "allocator": {"variants": ["stack"]}, "sim": {"replications": 1}}
DOORBELL_NS = 8000.0  # a VM exit


def test_a_virtual_disk_s_behaviours_are_inferred_and_its_doorbell_recovered(tmp_path):
    """Runs of a known virtual disk (rounds, a shadow doorbell of 8 us, 2 units moving
    their own data): calibrate infers both behaviours from slat and fio's ctx, and gets
    the doorbell, the units and the transfer rate back."""
    costs = {**load({}).host.costs.model_dump(), "doorbell_ns": DOORBELL_NS}
    paths = []
    for name, wl in [("qd1", {"bs": "4k", "iodepth": 1}), ("qd32", {"bs": "4k", "iodepth": 32}),
                     ("bs128", {"bs": "128k", "iodepth": 8})]:
        cfg = load({**VIRTUAL, "host": {"costs": costs}, "workload": {**wl, "runtime": "50ms", "ramp_time": "5ms"}})
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(run(cfg).fio_json("stack")))
        paths.append(p)
    cal = calibrate(load_runs(paths), load({"sim": {"replications": 1}}), bandwidth="unit")
    dev = cal.platform.device
    assert dev.completes == "round" and dev.shadow_doorbell
    assert cal.host_scales["doorbell_ns"] == pytest.approx(DOORBELL_NS, rel=0.15)
    assert dev.parallel_units == 2
    assert dev.unit_gbps == pytest.approx(0.5, rel=0.10)
