"""fio's job options read as a workload (config/fio_options.py): taken under fio's own
names and aliases, checked, ignored, or refused by name."""

from __future__ import annotations

import pytest

from nvmesim.config import config_from_dict, load
from nvmesim.config.fio_options import FioOptionError, job_sections, workload_from_fio
from nvmesim.output.fiojson import job_options


def test_fio_aliases_and_syntax():
    w = workload_from_fio({"readwrite": "randrw", "rwmixwrite": "30", "blocksize": "16k", "iodepth": "32",
                           "iodepth_batch": "8", "iodepth_batch_complete": "4", "percentile_list": "50:99:99.9",
                           "direct": "1", "filename": "/dev/nvme0n1", "group_reporting": "1", "time_based": None})
    cfg = config_from_dict({"workload": w}, text=True).workload  # fio options are text
    assert (cfg.rw, cfg.rwmixread, cfg.bs, cfg.iodepth) == ("randrw", 70, 16384, 32)
    assert (cfg.iodepth_batch_submit, cfg.iodepth_batch_complete_min) == (8, 4)
    assert cfg.percentile_list == [50.0, 99.0, 99.9] and cfg.time_based is True


def test_nvmesims_own_echo_reads_back_as_the_same_workload():
    """Every workload option nvmesim echoes into fio's "job options" reads back to it."""
    w = load({"workload": {"bs": "12k", "iodepth": 64, "iodepth_batch_submit": 16, "runtime": "2s",
                           "ramp_time": "50ms", "thinktime": 20, "thinktime_blocks": 8, "rw": "randwrite",
                           "sqthread_poll": True, "numjobs": 1}, "host": {"cores": 2}}).workload
    again = config_from_dict({"workload": workload_from_fio(job_options(w)), "host": {"cores": 2}}, text=True).workload
    assert again == w


@pytest.mark.parametrize("options,option", [
    ({"direct": "1", "verify": "crc32c"}, "verify"),
    ({"direct": "0"}, "direct"),
    ({"rw": "randread"}, "direct"),  # fio's default is buffered
    ({"direct": "1", "cpus_allowed_policy": "shared"}, "cpus_allowed_policy"),
])
def test_what_nvmesim_cannot_simulate_is_refused_by_name(options, option):
    with pytest.raises(FioOptionError) as e:
        workload_from_fio(options)
    assert e.value.option == option


def test_job_options_override_global_options():
    doc = {"global options": {"bs": "4k", "direct": "1"}, "jobs": [{"job options": {"bs": "8k"}}, {}]}
    assert job_sections(doc) == [(0, {"bs": "8k", "direct": "1"}), (1, {"bs": "4k", "direct": "1"})]
