"""Calibrate and validate on committed real fio runs (issue 13), deterministically.

``tests/data/real-fio-2026-12-02/`` holds the json+ documents (bins stripped) of one
``python benchmarks/real_fio.py`` pass on the 2-vCPU Firecracker VM (Debian fio 3.33,
kernel 6.18, randread direct=1 on a file; every job twice), and ``TABLE.txt`` what the
benchmark printed.  Of the day's three passes it is the one whose fitted runs fio
reproduced best (largest spread 29%, at iodepth 1): the VM was not stable that day, so the
held-out target is reported in docs/calibration.md, not asserted here.  What is asserted
is what the data determine whatever the machine's drift: the mechanisms inferred from
fio's own counters, the fitted runs coming back, and the calibrated platform predicting
the held-out runs better than the default one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import real_fio  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "real-fio-2026-12-02"


@pytest.fixture(scope="module")
def committed():
    docs = {n: [DATA / f"{n}-{rep}.json" for rep in ("a", "b")] for n in real_fio.job_names()}
    assert all(p.exists() for ps in docs.values() for p in ps)
    cal, preds = real_fio.evaluate(docs, bandwidth="unit")
    return docs, cal, {p.name: p for p in preds}


def test_mechanisms_are_inferred_from_fios_counters(committed):
    _, cal, _ = committed
    dev = cal.platform.device
    # slat 24 -> 8 us from iodepth 1 to 64; fio slept once per ~64 I/Os at 64 (ctx / total_ios)
    assert dev.shadow_doorbell is True
    assert dev.completes == "round"
    assert dev.read.dist == "empirical"
    assert dev.unit_gbps is not None and 0.05 < dev.unit_gbps < 5


def test_the_runs_fitted_to_come_back(committed):
    _, _, preds = committed
    for name, iops_tol, clat_tol in (("io_uring-bs4k-qd1", 0.05, 0.05), ("io_uring-bs128k-qd16", 0.05, 0.05),
                                     ("io_uring-bs4k-qd64", 0.15, 0.15)):
        p = preds[name]
        assert p.fitted
        assert abs(p.iops_err) < iops_tol and abs(p.clat_err) < clat_tol, p


def test_calibration_beats_the_default_platform_on_held_out_runs(committed):
    from nvmesim.api import load
    from nvmesim.experiments.validate import validate

    docs, _, preds = committed
    held = [n for n, p in preds.items() if not p.fitted]
    rows = validate(load({"sim": {"replications": 1}}), [docs[n][0] for n in held])
    default = sorted(abs(math.log(r.simulated / r.real)) for r in rows if r.metric == "iops" and r.direction == "read")
    calibrated = sorted(abs(math.log(preds[n].iops_sim / preds[n].iops_real)) for n in held)
    assert len(default) == len(calibrated) == len(held) == 9
    assert calibrated[len(held) // 2] < default[len(held) // 2] / 2  # the medians, by more than 2x
