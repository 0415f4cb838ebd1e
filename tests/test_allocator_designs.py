"""docs/allocators.md's comparison regenerates from its stated command (issue 19).

``benchmarks/allocator_designs.py --quick`` is the doc's generator on small pools and
4 ms runs.  Its micro benchmark rows are deterministic, and the same cases at the same
rounds as the doc's full run: they must equal the doc's rows digit for digit.  Every
registered design is in every table, the crossovers are the ones the table shows, and
the figure is a PNG.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import allocator_designs as gen  # noqa: E402
from nvmesim.allocators import VARIANTS  # noqa: E402

DOC = ROOT / "docs" / "allocators.md"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("designs")
    assert gen.main(["--quick", "--out", str(out), "--workers", "1"]) == 0
    return out


def _tables(text: str) -> dict[str, list[list[str]]]:
    """Heading -> the rows of the first table under it (cells stripped)."""
    out: dict[str, list[list[str]]] = {}
    head = None
    for line in text.splitlines():
        if line.startswith("#"):
            head = line.lstrip("# ").strip()
        elif line.startswith("|") and head is not None:
            if not set(line) <= set("|-: "):
                out.setdefault(head, []).append([c.strip() for c in line.strip("|").split("|")])
        elif head in out:  # the table ended: later ones under the same heading are not its
            head = None
    return out


def test_every_design_is_in_every_table(quick):
    tables = _tables((quick / "comparison.md").read_text())
    designs = set(VARIANTS)
    micro = [h for h in tables if h.startswith(("The kernel's micro", "Cost per alloc+free"))]
    assert len(micro) == 3
    for h in micro:
        assert set(tables[h][0][1:]) == designs, h
    fio = tables["The fio workload"]
    assert {(r[0], r[1].strip("`")) for r in fio[1:]} == {(p, d) for p in gen.POINTS for d in designs}


def test_the_quick_micro_rows_are_the_docs_rows(quick):
    """The doc's tables come from the full command; the quick one reruns the same
    deterministic cases (all six kernel cases; pools of 1 to 1000 pages)."""
    doc, mine = _tables(DOC.read_text()), _tables((quick / "comparison.md").read_text())
    for head, rows in mine.items():
        if head == "The fio workload" or head not in doc:
            continue
        full = {r[0]: r for r in doc[head]}
        assert rows[0] == full[rows[0][0]], f"{head}: the designs' columns differ from the doc's"
        for r in rows[1:]:
            assert r == full.get(r[0]), f"{head}: row {r[0]} is not the doc's {full.get(r[0])}"


def test_crossovers_are_where_the_order_changes():
    table = {1: {"a": 1.0, "b": 2.0, "c": 0.5}, 10: {"a": 3.0, "b": 2.5, "c": 0.6}, 100: {"a": 9.0, "b": 2.6, "c": 0.7}}
    names = gen.designs

    try:
        gen.designs = lambda: ["a", "b", "c"]
        assert gen.crossovers(table) == [("a", "b", 1, 10)]
    finally:
        gen.designs = names


def test_the_figure_is_written(quick):
    png = (quick / "cost-vs-pages.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_the_doc_states_the_commands():
    text = DOC.read_text()
    assert "python benchmarks/allocator_designs.py" in text
    assert re.search(r"nvmesim dmapool-test --variant all --sizes 4096 --pages 1,", text)
    assert "figures/cost-vs-pages.png" in text
