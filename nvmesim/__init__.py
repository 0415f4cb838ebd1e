"""nvmesim: a discrete-event simulator of batched NVMe I/O on Linux.

The package charges every PRP/SGL list allocation to an executable model of the
kernel's dmapool allocator (:mod:`nvmesim.allocators`) priced by a cache-aware
cost model (:mod:`nvmesim.costmodel`).
"""

__version__ = "0.1.0"


def model_version() -> str:
    """``<version>+<digest>``: nvmesim's version and a digest of the source of the code that
    computes results (the config, allocators, sim and stats packages and the replication
    runner).  Two runs with the same model version and config give the same numbers; a
    sweep refuses to resume points computed by another one (an edit without a version
    bump changes the digest too)."""
    global _MODEL_VERSION
    if _MODEL_VERSION is None:
        import hashlib
        from pathlib import Path

        root = Path(__file__).resolve().parent
        files = sorted(p for d in ("allocators", "config", "sim", "stats") for p in (root / d).rglob("*.py"))
        files.append(root / "experiments" / "runner.py")
        h = hashlib.sha256()
        for p in files:
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
        _MODEL_VERSION = f"{__version__}+{h.hexdigest()[:12]}"
    return _MODEL_VERSION


_MODEL_VERSION: str | None = None
