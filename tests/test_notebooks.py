"""The notebooks run end to end (in their quick mode, ``NVMESIM_QUICK=1``) in a fresh
Jupyter kernel, and every cell that draws a figure shows it: an ``image/png`` output,
with no ``%matplotlib`` magic.  (Executing a notebook is the only way to see what a user
sees: a figure that renders as ``<Figure size ...>`` text passes any "does not raise"
check.)  This replaces collecting them with nbmake, which only checks that cells run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
#: a cell that calls a figure function of nvmesim.plots
PLOT_CALL = re.compile(r"\bplot_(metric|deltas|latency_cdf|profile)\(")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_figures(path: Path, monkeypatch):
    monkeypatch.setenv("NVMESIM_QUICK", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel picks its backend as Jupyter would
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        f"{path.name} is committed with outputs"
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # a failing cell raises CellExecutionError with its traceback
    plotting = [c for c in nb.cells if c.cell_type == "code" and PLOT_CALL.search(c.source)]
    if path.stem.startswith(("01", "02")):
        assert plotting, f"{path.name} draws no figure"
    for cell in plotting:
        kinds = {k for out in cell.outputs for k in out.get("data", {})}
        assert "image/png" in kinds or "image/svg+xml" in kinds, \
            f"{path.name}: the cell\n{cell.source}\nshows no image (outputs: {sorted(kinds)})"
