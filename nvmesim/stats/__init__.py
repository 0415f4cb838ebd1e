"""Statistics: fio's latency histogram and distribution tables, the result records,
the metrics layer and its confidence intervals.

Layer: may import :mod:`nvmesim.config` (fio's option defaults); no SimPy, no pandas.

* :mod:`.hist` — fio's 1856-bucket latency histogram, bit for bit;
* :mod:`.distributions` — fio's latency_ns/us/ms and iodepth tables;
* :mod:`.records` — what a replication produces (jobs, directions, pools, profile);
* :mod:`.metrics` — one definition of every reported or compared figure;
* :mod:`.intervals` — t intervals, plain and paired.
"""
