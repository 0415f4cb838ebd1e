"""Shared fixtures: the real fio document, the command line (in process and as a real
subprocess), and a builder of tiny configs (the functions behind them: ``helpers.py``)."""

from __future__ import annotations

import subprocess
from typing import Callable

import pytest

from helpers import cli_in_process, cli_subprocess, fixture_doc, tiny_config
from nvmesim.api import Config


@pytest.fixture(scope="session")
def tiny() -> Callable[..., Config]:
    """``tiny({"bs": "16k"}, sim={"replications": 3})``: a 20 ms run of the defaults."""
    return tiny_config


@pytest.fixture(scope="session")
def fio_doc() -> dict:
    """The committed json+ document of a real fio 3.33 run (tests/data)."""
    return fixture_doc()


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """``cli("run", "cfg.yaml", ...)``: the command line in process."""
    return cli_in_process


@pytest.fixture(scope="session")
def cli_process() -> Callable[..., subprocess.CompletedProcess]:
    """``cli_process("run", ...)``: the real command line in a subprocess."""
    return cli_subprocess
