"""The package's layering, enforced: every import of every module of nvmesim (at the top,
inside functions, under TYPE_CHECKING alike) must follow the layer rules each package's
docstring states, third-party libraries stay in their layers, and no import cycle exists.

    allocators  <-  config  <-  stats  <-  sim
                              \\-  output  <-  experiments  <-  api, cli (and shims)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nvmesim"

#: layer -> the layers its modules may import (besides their own and the version root)
ALLOWED: dict[str, set[str]] = {
    "allocators": set(),
    "config": {"allocators"},
    "stats": {"config"},
    "sim": {"config", "allocators", "stats"},
    "output": {"stats", "config"},
    "experiments": {"sim", "output", "stats", "config", "allocators"},
    "top": {"allocators", "config", "stats", "sim", "output", "experiments"},
}
#: third-party packages and the modules that may use them
THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "simpy": ("nvmesim.sim.engine",),
    "pandas": ("nvmesim.output.", "nvmesim.experiments.", "nvmesim.api", "nvmesim.cli"),
    "matplotlib": ("nvmesim.output.plots",),
    "seaborn": ("nvmesim.output.plots",),
    "typer": ("nvmesim.cli",),
}
TOP = {"nvmesim.api", "nvmesim.cli", "nvmesim.__main__", "nvmesim.sweep", "nvmesim.plots"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer of an nvmesim module; None for the package root (its version only)."""
    if module == "nvmesim":
        return None
    if module in TOP:
        return "top"
    return module.split(".")[1]


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``source``; ``from x import y`` names the
    module ``x.y`` when that is a module, else ``x``."""
    out = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((node.lineno, sub if sub in known else target))
    return out


def check(modules: dict[str, tuple[str, bool]]) -> tuple[list[str], dict[str, set[str]]]:
    """Problems with the imports of ``{module: (source, is_package)}``, and the graph of
    imports between them."""
    known = set(modules)
    problems, graph = [], {m: set() for m in modules}
    for module, (source, is_package) in modules.items():
        layer = layer_of(module)
        for line, target in imports_of(source, module, is_package, known):
            top = target.split(".")[0]
            if top == "nvmesim":
                graph[module].add(target if target in known else target.rpartition(".")[0])
                dest = layer_of(target)
                if layer is None and dest is not None:
                    problems.append(f"{module}:{line}: the package root imports {target}")
                elif dest is not None and layer is not None and dest != layer and dest not in ALLOWED[layer]:
                    problems.append(f"{module}:{line}: layer {layer} may not import {target} (layer {dest})")
            elif top in THIRD_PARTY and not module.startswith(THIRD_PARTY[top]):
                problems.append(f"{module}:{line}: {top} is for {', '.join(THIRD_PARTY[top])} only")
    return problems, graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def package_modules() -> dict[str, tuple[str, bool]]:
    return {module_name(p): (p.read_text(), p.name == "__init__.py") for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_import_follows_the_layers():
    problems, _ = check(package_modules())
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    _, graph = check(package_modules())
    assert not cycles(graph)


def test_every_package_states_its_layer_rule():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "Layer:" in doc, f"{init.parent.name}/__init__.py does not say what it may import"


# ---- the checker itself can fail ------------------------------------------------
@pytest.mark.parametrize("module,source,fragment", [
    ("nvmesim.output.frames", "from ..sim.cpu import Core\n", "layer output may not import nvmesim.sim.cpu"),
    ("nvmesim.stats.metrics", "def f():\n    import pandas\n", "pandas is for"),
    ("nvmesim.sim.fio", "import simpy\n", "simpy is for nvmesim.sim.engine only"),
    ("nvmesim.allocators.base", "from ..config import Config\n", "layer allocators may not import"),
    ("nvmesim.config.schema", "from ..stats.records import PoolStats\n", "layer config may not import"),
])
def test_a_forbidden_import_is_caught(module, source, fragment):
    modules = package_modules()
    modules[module] = (modules[module][0] + source, False)
    problems, _ = check(modules)
    assert any(fragment in p for p in problems), problems


def test_a_cycle_is_caught():
    modules = package_modules()
    src, pkg = modules["nvmesim.stats.intervals"]
    modules["nvmesim.stats.intervals"] = (src + "from .metrics import COMPARED\n", pkg)
    _, graph = check(modules)
    assert ["nvmesim.stats.intervals", "nvmesim.stats.metrics"] in cycles(graph)
