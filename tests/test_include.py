"""A config's ``include:``: a platform file (e.g. from nvmesim calibrate) under a config
of one's own, with errors located in the file they are in."""

from __future__ import annotations

import pytest

from nvmesim.api import load
from nvmesim.config import ConfigError

PLATFORM = """device:
  preset: custom
  parallel_units: 12
  read: {dist: constant, mean_us: 30}
host:
  cores: 4
"""


def test_the_including_file_wins_and_the_rest_comes_from_the_platform(tmp_path):
    (tmp_path / "platform.yaml").write_text(PLATFORM)
    (tmp_path / "whatif.yaml").write_text("include: platform.yaml\nworkload:\n  iodepth: 8\ndevice:\n"
                                          "  parallel_units: 24\n")
    cfg = load(tmp_path / "whatif.yaml")
    assert cfg.device.parallel_units == 24 and cfg.device.read.mean_us == 30 and cfg.host.cores == 4
    assert cfg.workload.iodepth == 8


def test_an_error_in_the_included_file_is_located_there(tmp_path):
    (tmp_path / "platform.yaml").write_text(PLATFORM.replace("cores: 4", "cores: 0"))
    (tmp_path / "whatif.yaml").write_text("include: platform.yaml\nworkload:\n  iodepth: 0\n")
    with pytest.raises(ConfigError) as e:
        load(tmp_path / "whatif.yaml")
    text = str(e.value)
    assert f"{tmp_path / 'platform.yaml'}:6: host.cores" in text
    assert "whatif.yaml:3: workload.iodepth" in text


@pytest.mark.parametrize("files,text", [
    ({"a.yaml": "include: missing.yaml\n"}, "a.yaml:1: include: missing.yaml: no such file"),
    ({"a.yaml": "include: b.yaml\n", "b.yaml": "include: a.yaml\n"}, "b.yaml:1: include: a.yaml includes itself"),
    ({"a.yaml": "include: [x]\n"}, "a.yaml:1: include: expected the path"),
])
def test_bad_includes(tmp_path, files, text):
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    with pytest.raises(ConfigError, match=text):
        load(tmp_path / "a.yaml")
