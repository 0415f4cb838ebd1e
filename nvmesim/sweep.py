"""Import shim: parameter sweeps live in :mod:`nvmesim.experiments.sweep`."""

from .experiments.sweep import Point, SweepSpec, assemble, expand, load_spec, run_point, run_sweep

__all__ = ["Point", "SweepSpec", "assemble", "expand", "load_spec", "run_point", "run_sweep"]
