"""The I/O path model: CPU cores, pool locks, the nvme-pci driver rules, the device,
the completion path and fio's job loop.  :mod:`nvmesim.model` wires them together."""
