"""Dotted-path overrides, the one parser for all of them: ``--set PATH=VALUE``,
``--vary PATH=V1,V2``, sweep axes, and joint axes ``a.b+c.d`` that set several paths to
the same value.  Values are YAML scalars (``64``, ``16k``, ``true``, ``[1, 2]``).

Errors are :class:`ValueError` whose text names what was expected; callers prefix the
option or file that carried the input.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import yaml


def parse_value(text: str) -> Any:
    """A value as YAML reads it (``64`` -> 64, ``16k`` -> "16k"); text YAML cannot
    parse stays a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def split_paths(name: str) -> tuple[str, ...]:
    """The dotted paths of an axis name: ``"a.b+c.d"`` -> ("a.b", "c.d")."""
    paths = tuple(p.strip() for p in str(name).split("+"))
    if not paths or any(not p or p.startswith(".") or p.endswith(".") or ".." in p for p in paths):
        raise ValueError(f"expected DOTTED.PATH[+DOTTED.PATH...], got {name!r}")
    return paths


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"workload.iodepth=64"`` -> ("workload.iodepth", 64)."""
    key, eq, value = item.partition("=")
    if not eq or not key.strip():
        raise ValueError(f"expected DOTTED.PATH=VALUE, got {item!r}")
    if "+" in key:
        raise ValueError(f"expected one DOTTED.PATH=VALUE (no '+'), got {item!r}")
    (path,) = split_paths(key)
    return path, parse_value(value)


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """Several ``PATH=VALUE`` items as one overrides mapping (a later one wins)."""
    return dict(parse_assignment(item) for item in items)


@dataclass(frozen=True)
class Axis:
    """One swept parameter: the dotted paths it sets (several for a joint axis) and
    the values it takes."""

    paths: tuple[str, ...]
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        """The axis as written: paths joined by ``+`` (the column name in frames)."""
        return "+".join(self.paths)

    def overrides(self, value: Any) -> dict[str, Any]:
        """The overrides that put this axis at ``value``."""
        return {p: value for p in self.paths}

    @classmethod
    def of(cls, name: str, values: Sequence[Any]) -> "Axis":
        """An axis from its name (``a.b+c.d``) and a non-empty list of values."""
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ValueError(f"axis {name!r}: expected a list of values, got {values!r}")
        if not values:
            raise ValueError(f"axis {name!r} has no values")
        return cls(split_paths(name), tuple(values))


def parse_vary(item: str) -> Axis:
    """``"workload.iodepth=64,256"`` or ``"a.b+c.d=16,64"`` -> an :class:`Axis`."""
    key, eq, values = item.partition("=")
    if not eq or not key.strip() or not values.strip():
        raise ValueError(f"expected DOTTED.PATH[+PATH...]=V1,V2,..., got {item!r}")
    return Axis.of(key.strip(), [parse_value(v) for v in values.split(",")])


class OverrideError(ValueError):
    """An override whose path cannot be applied (a bad list index); ``path`` names it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with ``{"workload.iodepth": 64, ...}`` applied (sections that
    do not exist, or are not mappings, are created).  A number indexes a list that is
    there (``devices.1.node``); one past its end appends an entry."""
    out = copy.deepcopy(dict(data))
    for dotted, value in overrides.items():
        node: Any = out
        parts = dotted.split(".")
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not p.isdigit() or int(p) > len(node):
                    raise OverrideError(dotted, f"{dotted}: {'.'.join(parts[:i])} is a list of {len(node)}: "
                                        f"expected an index 0-{len(node)}, got {p!r}")
                k = int(p)
                if k == len(node):
                    node.append({})
                if last:
                    node[k] = value
                else:
                    if not isinstance(node[k], (dict, list)):
                        node[k] = {}
                    node = node[k]
                continue
            if last:
                node[p] = value
                break
            if not isinstance(node.get(p), (dict, list)):
                node[p] = {}
            node = node[p]
    return out
