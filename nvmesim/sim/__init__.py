"""The I/O path model on SimPy: CPU cores and pool locks, fio's job thread, the nvme-pci
driver's submission and completion, the queues and the device.

Layer: may import :mod:`nvmesim.config`, :mod:`nvmesim.allocators` and
:mod:`nvmesim.stats`; only :mod:`.engine` imports SimPy.

* :mod:`.engine` — the SimPy boundary: the clock, raw scheduling, reusable events,
  :class:`~.engine.Clock` and :class:`~.engine.ThreadRunner`;
* :mod:`.cpu` — cores (interrupts preempt threads), handler clocks, spinlocks;
* :mod:`.fio` — fio's job thread: batching, reaping, timestamps;
* :mod:`.nvme` — nvme-pci's PRP/SGL rules (pure functions);
* :mod:`.driver` — per-request costs, list blocks from the pools under their locks;
* :mod:`.queue` — an I/O queue pair: tags, CQ, interrupt raising;
* :mod:`.completion` — the one completion path, for interrupts and polling;
* :mod:`.device` — the NVMe device: units, internal path, PCIe link;
* :mod:`.model` — the wiring: one replication from a config.
"""
