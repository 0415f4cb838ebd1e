"""nvmesim: a discrete-event simulator of batched NVMe I/O on Linux.

The package charges every PRP/SGL list allocation to an executable model of the
kernel's dmapool allocator (:mod:`nvmesim.allocators`) priced by a cache-aware
cost model (:mod:`nvmesim.costmodel`).
"""

__version__ = "0.1.0"
