"""Fit nvmesim's platform to Jens Axboe's published polled io_uring figures on a Gen2
Optane drive (../shared/reference/calibration.md: 512 B random reads on one core, QD1
290 K IOPS / 3.4 us, QD16 2.06 M / 6.9 us, QD128 2.58 M / 34.9 us; linux-block, 5.9-rc1
era) and write configs/platforms/axboe-optane-gen2.yaml.

    python benchmarks/fit_published.py [--check]

The fit uses the shallowest and deepest points (experiments/calibrate.py:
calibrate_points); QD16 is a prediction.  --check fits again and compares with the
committed file (tests/test_calibrate.py does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nvmesim.api import load  # noqa: E402
from nvmesim.experiments.calibrate import Point, calibrate_points, describe, platform_yaml, point_metrics  # noqa: E402

OUT = ROOT / "configs/platforms/axboe-optane-gen2.yaml"
POINTS = [Point(1, 290e3, 3.4), Point(16, 2.06e6, 6.9), Point(128, 2.58e6, 34.9)]
#: what the figures were measured with: polled io_uring (t/io_uring), 512 B reads, one core
WORKLOAD = {"ioengine": "io_uring", "hipri": True, "bs": 512, "rw": "randread", "cpus_allowed": "0"}
#: the start: a poll queue, the default 1024-entry queues, the Optane preset (Gen3 x4 link)
START = {"driver": {"poll_queues": 1, "queue_depth": 1024}, "host": {"cores": 2},
         "device": {"preset": "optane"}}


def fit() -> tuple[dict, str, list[tuple[Point, float, float]]]:
    cal = calibrate_points(POINTS, load(START), WORKLOAD)
    table = [(p, *point_metrics(cal.platform, WORKLOAD, p.depth)) for p in POINTS]
    return platform_yaml(cal), describe(cal), table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file instead of writing it")
    a = ap.parse_args()
    platform, text, table = fit()
    print(text)
    print(f"{'depth':>5} {'IOPS real':>11} {'simulated':>11} {'err %':>6} {'lat real':>9} {'simulated':>10} {'err %':>6}")
    for p, iops, lat in table:
        print(f"{p.depth:>5} {p.iops:>11,.0f} {iops:>11,.0f} {100 * (iops / p.iops - 1):>+6.1f} {p.lat_us:>9.1f} "
              f"{lat:>10.2f} {100 * (lat / p.lat_us - 1):>+6.1f}")
    if a.check:
        same = yaml.safe_load(OUT.read_text()) == platform
        print("committed file:", "same" if same else "DIFFERENT")
        sys.exit(0 if same else 1)
    header = ("# Fitted by benchmarks/fit_published.py to Jens Axboe's polled io_uring figures on Gen2 Optane\n"
              "# (512 B random reads, one core: QD1 290 K IOPS / 3.4 us, QD128 2.58 M IOPS; QD16 predicted).\n"
              "# Use it under a config of your own: `include: platforms/axboe-optane-gen2.yaml`.\n")
    OUT.write_text(header + yaml.safe_dump(platform, sort_keys=False))
    print("wrote", OUT.relative_to(ROOT))


if __name__ == "__main__":
    main()
