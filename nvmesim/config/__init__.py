"""What a run is: the config schema, device presets, fio's units, overrides and loading.

Layer: may import :mod:`nvmesim.allocators` (the cost model's constants are part of a
config, and variant names are checked against the registry); nothing above.

* :mod:`.schema` — the pydantic sections (``workload``, ``host``, ``driver``, ``device``,
  ``allocator``, ``sim``) and :class:`Config`;
* :mod:`.presets` — named devices;
* :mod:`.units` — fio's size and time syntax;
* :mod:`.overrides` — ``--set``, ``--vary``, sweep axes: one parser;
* :mod:`.loader` — YAML with line numbers, validation, located errors.
"""

from .loader import ConfigError, config_from_dict, load, load_config, read_yaml
from .overrides import Axis, apply_overrides, parse_assignment, parse_assignments, parse_vary
from .schema import (
    DEFAULT_PERCENTILES,
    Allocator,
    Coalescing,
    Config,
    DeviceConfig,
    DriverConfig,
    Host,
    HostCosts,
    HostNoise,
    ServiceTime,
    Sim,
    Workload,
    parse_cpus,
)

__all__ = [
    "DEFAULT_PERCENTILES", "Allocator", "Axis", "Coalescing", "Config", "ConfigError", "DeviceConfig",
    "DriverConfig", "Host", "HostCosts", "HostNoise", "ServiceTime", "Sim", "Workload", "apply_overrides", "config_from_dict",
    "load", "load_config", "parse_assignment", "parse_assignments", "parse_cpus", "parse_vary", "read_yaml",
]
