"""The one YAML reader: data and the line of every key, with guards.

Every YAML nvmesim reads (configs, platforms, included files, sweep specs and their base
configs) goes through :func:`yaml_with_lines`.  It composes the document once with
PyYAML's safe loader and builds the data from the node graph itself, so that:

* every mapping key and list item gets its line (``"workload.iodepth" -> 12``);
* a key given twice in one mapping is an error at both lines (PyYAML keeps the last one
  silently, so the first section's keys would be lost);
* a key must be a non-empty string or an integer (``null:``, ``true:``, ``"":`` are
  errors at their line);
* a scalar PyYAML cannot construct (``2024-02-30``, ``0x_``) is an error at its line;
* the guards of :class:`YamlLimits` bound the work: the text's size (a file is read
  only up to the limit, so ``/dev/zero`` cannot exhaust memory), the nesting depth, and
  the number of nodes built with aliases expanded (an alias bomb — "billion laughs" —
  stops at the limit instead of expanding), each with a message naming the limit.

A problem raises :class:`YamlProblem` (``line`` 0: not tied to a line); the loader
turns it into a located :class:`~.loader.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlLimits:
    """Guards on what one YAML document may cost to read (the defaults are far above
    any real config: the largest in configs/ is a few KiB, a few hundred nodes, depth 5)."""

    #: bytes of text
    max_bytes: int = 4 << 20
    #: levels of nested mappings and lists
    max_depth: int = 64
    #: nodes built, aliases expanded (each use of an alias counts its whole subtree)
    max_nodes: int = 200_000


LIMITS = YamlLimits()


class YamlProblem(ValueError):
    """A YAML document that nvmesim refuses; ``line`` is 1-based, 0 when not tied to one."""

    def __init__(self, line: int, msg: str) -> None:
        super().__init__(msg)
        self.line = line
        self.msg = msg


def read_text(path: str, limits: YamlLimits = LIMITS) -> str:
    """A file's text, read up to the size limit (a larger file — or an endless one like
    ``/dev/zero`` — is refused after reading one byte past the limit).  OSError and
    UnicodeDecodeError propagate for the caller to locate."""
    with open(path, "rb") as fh:
        data = fh.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise YamlProblem(0, f"larger than {limits.max_bytes} bytes (YamlLimits.max_bytes): not a config")
    return data.decode("utf-8")


def yaml_with_lines(text: str, limits: YamlLimits = LIMITS) -> tuple[Any, dict[str, int]]:
    """Parse YAML text; return the data and the line of every mapping key and list item,
    by dotted path.  Raises :class:`YamlProblem` (and yaml.YAMLError for bad syntax)."""
    if len(text) > limits.max_bytes:
        raise YamlProblem(0, f"larger than {limits.max_bytes} bytes (YamlLimits.max_bytes): not a config")
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlProblem(0, f"nested too deeply (more than {limits.max_depth} levels: YamlLimits.max_depth)") \
                from None
        if node is None:
            return None, {}
        return _Builder(loader, limits).build(node)
    finally:
        loader.dispose()


class _Builder:
    """Builds the data from a composed node graph (see the module docstring)."""

    def __init__(self, loader: yaml.SafeLoader, limits: YamlLimits) -> None:
        self.loader = loader
        self.limits = limits
        self.lines: dict[str, int] = {}
        self.nodes = 0

    def build(self, node: yaml.Node) -> tuple[Any, dict[str, int]]:
        return self.value(node, "", (), 0), self.lines

    def value(self, n: yaml.Node, path: str, above: tuple[int, ...], depth: int) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise YamlProblem(n.start_mark.line + 1, f"more than {self.limits.max_nodes} values with aliases "
                              f"expanded (YamlLimits.max_nodes): an alias bomb?")
        if depth > self.limits.max_depth:
            raise YamlProblem(n.start_mark.line + 1,
                              f"nested too deeply (more than {self.limits.max_depth} levels: YamlLimits.max_depth)")
        if id(n) in above:
            raise YamlProblem(n.start_mark.line + 1,
                              f"{path or '(top level)'}: a recursive alias (a value that contains itself)")
        if isinstance(n, yaml.ScalarNode):
            return self.scalar(n)
        above = above + (id(n),)
        if isinstance(n, yaml.SequenceNode):
            out = []
            for i, item in enumerate(n.value):
                key = f"{path}.{i}" if path else str(i)
                self.lines[key] = item.start_mark.line + 1
                out.append(self.value(item, key, above, depth + 1))
            return out
        if isinstance(n, yaml.MappingNode):
            return self.mapping(n, path, above, depth)
        raise YamlProblem(n.start_mark.line + 1, f"unsupported YAML node {type(n).__name__}")  # pragma: no cover

    def scalar(self, n: yaml.ScalarNode) -> Any:
        try:
            return self.loader.construct_object(n, deep=True)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError) as e:
            problem = getattr(e, "problem", None) or str(e)
            raise YamlProblem(n.start_mark.line + 1, f"cannot read the value {n.value!r}: {problem}") from None

    def key(self, k: yaml.Node) -> str:
        line = k.start_mark.line + 1
        if not isinstance(k, yaml.ScalarNode):
            raise YamlProblem(line, "a key must be a name, not a mapping or a list")
        value = self.scalar(k)
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int)):
            raise YamlProblem(line, f"a key must be a name, got {k.value!r} (read as {type(value).__name__})")
        if value == "":
            raise YamlProblem(line, "an empty key")
        return str(value)

    def mapping(self, n: yaml.MappingNode, path: str, above: tuple[int, ...], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        merged: list[yaml.Node] = []
        for k, v in n.value:
            if k.tag == MERGE_TAG:  # `<<: *base`: the base's keys, unless given here
                merged += v.value if isinstance(v, yaml.SequenceNode) else [v]
                continue
            name = self.key(k)
            line = k.start_mark.line + 1
            if name in first:
                where = f"{path}.{name}" if path else name
                raise YamlProblem(line, f"{where}: duplicate key (first at line {first[name]}); "
                                  f"the YAML would silently keep only this one")
            first[name] = line
            dotted = f"{path}.{name}" if path else name
            self.lines[dotted] = line
            out[name] = self.value(v, dotted, above, depth + 1)
        for m in merged:
            if not isinstance(m, yaml.MappingNode):
                raise YamlProblem(m.start_mark.line + 1, "<< (merge) expects a mapping or a list of mappings")
            outer, self.lines = self.lines, {}
            base = self.mapping(m, path, above + (id(n),), depth + 1)
            base_lines, self.lines = self.lines, outer
            for name, value in base.items():
                out.setdefault(name, value)
            cut = len(path) + 1 if path else 0
            for dotted, line in base_lines.items():  # the lines of the keys the merge gave
                if dotted[cut:].split(".", 1)[0] not in first:
                    self.lines.setdefault(dotted, line)
        return out
