"""Allocator variants, one module each, behind :class:`~nvmesim.allocators.base.DmaPool`.

``VARIANTS`` maps a name usable in configs and on the command line to its class.
"""

from __future__ import annotations

from .base import DmaPool, Geometry, OpStats, PoolError
from .legacy import LegacyPool
from .stack import StackPool

VARIANTS: dict[str, type[DmaPool]] = {
    LegacyPool.name: LegacyPool,
    StackPool.name: StackPool,
}


def get_variant(name: str) -> type[DmaPool]:
    """Look a variant up by name; the error suggests the closest known name."""
    try:
        return VARIANTS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(VARIANTS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PoolError(
            f"unknown allocator variant {name!r} (known: {', '.join(sorted(VARIANTS))}){hint}"
        ) from None


__all__ = ["DmaPool", "Geometry", "OpStats", "PoolError", "VARIANTS", "get_variant", "LegacyPool", "StackPool"]
