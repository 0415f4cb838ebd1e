"""The dmapool allocator models, their cost model and the kernel's micro benchmark.

Layer: the bottom one; imports nothing else of nvmesim.

* :mod:`.base` — the interface every variant implements (:class:`DmaPool`) and the
  bookkeeping all variants share;
* one module per variant: :mod:`.legacy` (dmapool up to v6.3), :mod:`.stack` (v6.4+),
  and five designs the kernel does not have (``docs/allocators.md``): :mod:`.battersby`
  (avail-page list + rbtree lookup, 2018/2022), :mod:`.xarray` (Keith Busch's 2022 RFC:
  xarray lookup + one free stack), :mod:`.oob` (the links out of the DMA memory,
  Johannesmeyer's 2024 RFC), :mod:`.magazine` (per-CPU caches in front of the stack),
  :mod:`.nopool` (no pool: a coherent page per block);
* :mod:`.costmodel` — what an operation costs, from a cache-footprint model;
* :mod:`.microbench` — replay of the kernel's ``mm/dmapool_test.c``.

``VARIANTS`` maps a name usable in configs and on the command line to its class;
:func:`register` adds one (or the entry point group ``nvmesim.allocators``).
"""

from __future__ import annotations

from .base import DmaPool, Geometry, OpStats, PoolError
from .battersby import BattersbyPool
from .legacy import LegacyPool
from .magazine import MagazinePool
from .nopool import NoPool
from .oob import OobPool
from .stack import StackPool
from .xarray import XarrayPool

VARIANTS: dict[str, type[DmaPool]] = {
    LegacyPool.name: LegacyPool,
    StackPool.name: StackPool,
    BattersbyPool.name: BattersbyPool,
    XarrayPool.name: XarrayPool,
    OobPool.name: OobPool,
    MagazinePool.name: MagazinePool,
    NoPool.name: NoPool,
}


ENTRY_POINT_GROUP = "nvmesim.allocators"
_entry_points_loaded = False


def register(cls: type[DmaPool], name: str | None = None) -> type[DmaPool]:
    """Make an allocator variant usable by name (``allocator.variants`` in a config,
    ``nvmesim dmapool-test --variant``).  Usable as a class decorator.

    The class must subclass :class:`DmaPool`; its ``name`` (or ``name=``) must not
    shadow another variant.  Third-party packages register through the entry point
    group ``nvmesim.allocators`` (``name = "module:Class"``) instead.
    """
    if not (isinstance(cls, type) and issubclass(cls, DmaPool)):
        raise PoolError(f"register: {cls!r} is not a DmaPool subclass")
    key = name or cls.name
    if not key:
        raise PoolError(f"register: {cls.__name__} has no name (set the class attribute or pass name=)")
    if key in VARIANTS and VARIANTS[key] is not cls:
        raise PoolError(f"register: a different variant is already registered as {key!r}")
    VARIANTS[key] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in VARIANTS:
            register(ep.load(), ep.name)


def get_variant(name: str) -> type[DmaPool]:
    """Look a variant up by name (built-in, registered, or from an entry point);
    the error suggests the closest known name."""
    if name not in VARIANTS:
        _load_entry_points()
    try:
        return VARIANTS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(VARIANTS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PoolError(
            f"unknown allocator variant {name!r} (known: {', '.join(sorted(VARIANTS))}){hint}"
        ) from None


__all__ = ["DmaPool", "Geometry", "OpStats", "PoolError", "VARIANTS", "get_variant", "register", "LegacyPool",
           "StackPool", "BattersbyPool", "XarrayPool", "OobPool", "MagazinePool", "NoPool"]
