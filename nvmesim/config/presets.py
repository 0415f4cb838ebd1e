"""Named NVMe device presets: every figure with its source or stated assumption
(``../shared/reference/calibration.md``).  ``device.preset`` picks one; any field given
beside it overrides the preset's value."""

from __future__ import annotations

from typing import Any

DEVICE_PRESETS: dict[str, dict[str, Any]] = {
    # A TLC data-centre drive, Samsung PM1725a class: 4 KiB random read QD1 ~90 us
    # (Tom's Hardware table); TLC tR 45-60 us + firmware ~20 us (AnandTech 13951,
    # NVMeVirt presets); p99 ~2x mean (assumption); writes land in the drive's
    # DRAM buffer (~20 us, assumption); PCIe Gen4 x4 ~7 GB/s usable; 128 dies.
    "tlc-dc": {
        "parallel_units": 128,
        "read": {"dist": "lognormal", "mean_us": 90.0, "p99_us": 180.0},
        "write": {"dist": "lognormal", "mean_us": 20.0, "p99_us": 60.0},
        "internal_gbps": 6.8,
        "link_gbps": 7.0,
        "max_queue_entries": 1024,
        "sgl_support": True,
    },
    # Optane P4800X class: 4 KiB random read QD1 mean 8.9 us, p99 10 us (AnandTech
    # 11209); ~550 K IOPS 4 KiB read -> ~5 units; PCIe Gen3 x4 ~3.5 GB/s.
    "optane": {
        "parallel_units": 5,
        "read": {"dist": "lognormal", "mean_us": 8.9, "p99_us": 10.0},
        "write": {"dist": "lognormal", "mean_us": 10.0, "p99_us": 12.0},
        "internal_gbps": 2.6,
        "link_gbps": 3.5,
        "max_queue_entries": 4096,
        "sgl_support": False,
    },
}
