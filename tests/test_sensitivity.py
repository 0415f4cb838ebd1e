"""One-factor-at-a-time sensitivity: its rows against the run's own deltas, a single
variant, failing points, and the command line."""

from __future__ import annotations

import math

import pytest

from nvmesim.api import run
from nvmesim.config import Axis, parse_vary
from nvmesim.experiments.sensitivity import evaluate, markdown, one_at_a_time

WORKLOAD = {"bs": "16k", "iodepth": 32, "iodepth_batch_submit": 8, "numjobs": 2}


def test_rows_are_the_runs_own_deltas(tiny):
    cfg = tiny(WORKLOAD, sim={"replications": 2})
    row = evaluate(cfg)
    deltas = {d["metric"]: d for d in run(cfg).deltas()}
    slat, iops = deltas["slat_mean_ns"], deltas["iops"]
    assert row.slat_base_us == pytest.approx(slat["baseline_value"] / 1e3)
    assert row.slat_delta_us == pytest.approx(slat["delta"] / 1e3)
    assert row.slat_ci_us == (pytest.approx(slat["delta_ci_low"] / 1e3), pytest.approx(slat["delta_ci_high"] / 1e3))
    assert row.iops_delta_pct == pytest.approx(100 * iops["delta"] / iops["baseline_value"])
    assert row.nodes_per_op > 0 and row.error is None


def test_a_single_variant_has_figures_and_no_deltas(tiny):
    """Regression: a config with one variant once crashed sensitivity with a KeyError."""
    cfg = tiny(WORKLOAD, allocator={"variants": ["stack"]}, sim={"replications": 2})
    rows = one_at_a_time(cfg, [Axis.of("workload.iodepth", [8, 16])])
    assert [r.value for r in rows] == [None, 8, 16]
    for r in rows:
        assert r.error is None and r.iops_base > 0 and r.slat_base_us > 0
        assert math.isnan(r.slat_delta_us) and math.isnan(r.iops_delta_pct) and math.isnan(r.dma_share_ratio)
    table = markdown(rows)
    assert table.count("\n") == 1 + len(rows) and "n/a" in table


def test_a_failing_point_is_a_row_and_the_rest_go_on(tiny):
    cfg = tiny(WORKLOAD, sim={"replications": 1})
    rows = one_at_a_time(cfg, [Axis.of("workload.iodepth", [0, 8])])
    bad, good = rows[1], rows[2]
    assert bad.error and "iodepth" in bad.error and good.error is None
    assert "error:" in markdown(rows)


def test_joint_axes_set_every_path(tiny):
    cfg = tiny(WORKLOAD, sim={"replications": 1})
    axis = parse_vary("workload.iodepth_batch_submit+workload.iodepth_batch_complete_min=4")
    assert axis.paths == ("workload.iodepth_batch_submit", "workload.iodepth_batch_complete_min")
    (_, row) = one_at_a_time(cfg, [axis])
    assert row.axis == axis.name and row.value == 4 and row.error is None


def test_cli_single_variant_and_bad_vary(cli, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("workload: {runtime: 5ms, ramp_time: 1ms, bs: 16k, iodepth: 8}\n"
                    "allocator: {variants: [stack]}\nsim: {replications: 1}\n")
    ok = cli("sensitivity", str(path), "--vary", "workload.iodepth=4,8", "-q")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("| axis |") and ok.stdout.count("| workload.iodepth |") == 2
    for bad, fragment in (("workload.iodepth", "--vary: expected"), ("workload.iodepth=0", "workload.iodepth"),
                          ("workload..x=1", "--vary: expected DOTTED.PATH")):
        proc = cli("sensitivity", str(path), "--vary", bad, "-q")
        assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr, proc.stderr
        assert fragment in proc.stderr
