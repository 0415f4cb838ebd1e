"""Results rendered: fio's JSON and json+, the fio-style text report, pandas frames,
seaborn figures, and :class:`~.result.RunResult` that offers them all.

Layer: may import :mod:`nvmesim.stats` and :mod:`nvmesim.config`; never
:mod:`nvmesim.sim` (output knows nothing of SimPy).

* :mod:`.result` — :class:`~.result.RunResult`: a run's replications and their views;
* :mod:`.fiojson` — fio's JSON document and its text layout, the ``job options`` echo;
* :mod:`.report` — fio's normal output, the CPU profile, the delta table;
* :mod:`.perf` — the CPU profile as ``perf report --stdio`` and as folded stacks;
* :mod:`.frames` — tidy frames: results, summary, overview;
* :mod:`.plots` — figures from the frames.
"""
