"""Experiments: running a config (variants x replications), one-factor sensitivity,
parameter sweeps on local processes or Dask, and the progress bar.

Layer: may import :mod:`nvmesim.sim`, :mod:`nvmesim.output`, :mod:`nvmesim.stats`,
:mod:`nvmesim.config` and :mod:`nvmesim.allocators`.

* :mod:`.runner` — :func:`~.runner.run`: a config -> a :class:`~nvmesim.output.result.RunResult`;
* :mod:`.sensitivity` — one parameter at a time around a config;
* :mod:`.sweep` — sweep files -> points -> parquet frames, resumable;
* :mod:`.validate` — real fio runs beside their simulation;
* :mod:`.progress` — the progress bar.
"""
