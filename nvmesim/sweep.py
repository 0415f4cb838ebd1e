"""Import shim: parameter sweeps live in :mod:`nvmesim.experiments.sweep`."""

from .experiments.sweep import (Point, SweepError, SweepSpec, SweepVersionError, assemble, expand, load_spec,
                                read_provenance, run_point, run_sweep, scheduler_address)

__all__ = ["Point", "SweepError", "SweepSpec", "SweepVersionError", "assemble", "expand", "load_spec",
           "read_provenance", "run_point", "run_sweep", "scheduler_address"]
