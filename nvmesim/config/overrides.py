"""Dotted-path overrides, the one parser for all of them: ``--set PATH=VALUE``,
``--vary PATH=V1,V2``, sweep axes, and joint axes ``a.b+c.d`` that set several paths to
the same value.  Values are YAML scalars (``64``, ``16k``, ``true``, ``[1, 2]``), floats
also as fio's command line writes them (``5e-2``), and text fields keep the text typed
(:func:`parse_value`).

Errors are :class:`ValueError` whose text names what was expected; callers prefix the
option or file that carried the input.
"""

from __future__ import annotations

import copy
import re
import types
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import yaml


#: a float as YAML 1.2 (and fio's command line, strtod) writes it: YAML 1.1, which
#: PyYAML reads, wants a dot and a signed exponent, so ``5e-2`` and ``1e3`` are strings there
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def parse_value(text: str, paths: Sequence[str] = ()) -> Any:
    """A value typed on a command line, read as fio reads its options: YAML's scalar
    (``64`` -> 64, ``16k`` -> "16k", ``true`` -> True), a float also in YAML 1.2's and
    strtod's forms (``5e-2`` -> 0.05, ``1e3`` -> 1000.0), and — when every one of
    ``paths`` (dotted config paths) is a text field, e.g. ``driver.kernel`` or
    ``workload.name`` — the text itself (``6.10`` stays "6.10", not 6.1); ``null`` is None
    everywhere (to unset an optional field).  Text YAML cannot parse stays a string."""
    if text.strip() in ("null", "Null", "NULL", "~"):
        return None  # YAML's null, for every field: "unset" (a text field that needs text says so)
    if paths and all(_is_text_field(p) for p in paths):
        return text
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        return text  # e.g. 2024-02-30 (a timestamp PyYAML cannot build): the schema says what it expected
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)
    return value


def _is_text_field(path: str) -> bool:
    """True if the config field at dotted ``path`` takes text only (str, a Literal of
    strings, or either or None); False if it takes anything else or is not a field."""
    from typing import Literal, Union, get_args, get_origin

    from pydantic import BaseModel

    from .schema import Config

    model: Any = Config
    parts = path.split(".")
    ann: Any = None
    i = 0
    while i < len(parts):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return False
        field = model.model_fields.get(parts[i])
        if field is None:
            return False
        ann = field.annotation
        i += 1
        if get_origin(ann) is list and i < len(parts) and parts[i].isdigit():
            (ann,) = get_args(ann) or (None,)
            i += 1
        model = ann
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return False
    union = get_origin(ann) in (Union, types.UnionType)
    args = [a for a in (get_args(ann) if union else (ann,)) if a is not type(None)]

    def text(a: Any) -> bool:
        if a is str:
            return True
        return get_origin(a) is Literal and all(isinstance(x, str) for x in get_args(a))

    return bool(args) and all(text(a) for a in args)


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
    return path, parse_value(value, (path,))


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
    paths = split_paths(key.strip())
    text = values.strip()
    if text.startswith("["):  # a YAML list, [1, 2]
        try:
            parsed = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError, TypeError, RecursionError):
            parsed = None
        if not isinstance(parsed, list):
            raise ValueError(f"{key.strip()}: expected V1,V2,... or a list like [1, 2], got {text!r}")
        return Axis.of(key.strip(), parsed)
    return Axis.of(key.strip(), [parse_value(v, paths) for v in values.split(",")])


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
                    if node[k] is None:
                        node[k] = {}
                    _section(node[k], dotted, parts[:i + 1])
                    node = node[k]
                continue
            if last:
                node[p] = value
                break
            if node.get(p) is None:
                node[p] = {}
            _section(node[p], dotted, parts[:i + 1])
            node = node[p]
    return out


def _section(node: Any, dotted: str, at: Sequence[str]) -> None:
    """An override goes into a mapping (or list) only: over a value it would silently
    replace what was given (``workload: 5`` with ``workload.iodepth=4``)."""
    if not isinstance(node, (dict, list)):
        where = ".".join(at)
        raise OverrideError(dotted, f"{dotted}: {where} is {type(node).__name__} {str(node)[:40]!r}, not a section "
                                    f"(a mapping of keys): cannot set {dotted} inside it")
