"""User-defined allocator variants: registration from Python, use from YAML, entry points.

The variant under test is the one notebooks/03-your-own-allocator.ipynb defines: its
class cell is taken from the notebook and executed here, so the notebook's own code is
what is tested outside the notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nvmesim import allocators
from nvmesim.allocators import DmaPool, PoolError, StackPool, get_variant, register
from nvmesim.api import load, run
from nvmesim.allocators.microbench import run_case

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03-your-own-allocator.ipynb"


@pytest.fixture(scope="module")
def pcpu():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    (src,) = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and "class PerCpuCachePool" in
              "".join(c["source"])]
    ns: dict = {}
    exec(compile(src, str(NOTEBOOK), "exec"), ns)
    yield ns["PerCpuCachePool"]
    allocators.VARIANTS.pop("pcpu", None)


def test_registered_variant_runs_from_yaml(pcpu, tmp_path):
    assert get_variant("pcpu") is pcpu
    path = tmp_path / "pcpu.yaml"
    path.write_text(yaml.safe_dump({
        "workload": {"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16, "numjobs": 2,
                     "runtime": "10ms", "ramp_time": "2ms"},
        "allocator": {"variants": ["stack", "pcpu"]},
        "sim": {"replications": 1},
    }))
    result = run(load(path))
    over = result.overview()
    assert over.loc["pcpu", "iops"] > 0
    # hits in the per-CPU cache skip the device-wide lock
    assert over.loc["pcpu", "cpu_share_pool_lock"] < over.loc["stack", "cpu_share_pool_lock"]


def test_registered_variant_in_the_micro_harness(pcpu):
    stack = run_case("stack", 256, 256, 0, rounds=5)
    mine = run_case("pcpu", 256, 256, 0, rounds=5)
    assert mine.pages == stack.pages and mine.ns_per_pair < stack.ns_per_pair


def test_per_cpu_blocks_stay_correct(pcpu):
    pool = pcpu(64, 64, 0)
    held = {cpu: [pool.alloc(cpu)[0] for _ in range(40)] for cpu in (0, 1)}
    assert len(set(held[0]) | set(held[1])) == 80
    for cpu, hs in held.items():
        for h in hs:
            pool.free(h, 1 - cpu)  # freed on the other CPU
    assert pool.in_use == 0
    with pytest.raises(PoolError, match="double free"):
        pool.free(held[0][0])


def test_register_rejects_non_variants_and_name_clashes():
    with pytest.raises(PoolError, match="not a DmaPool subclass"):
        register(int)

    class Clash(StackPool):
        name = "stack"

    with pytest.raises(PoolError, match="already registered"):
        register(Clash)


def test_entry_point_variant_is_found(monkeypatch):
    """A third-party package declares [project.entry-points."nvmesim.allocators"]."""

    class FromPackage(StackPool):
        name = "third-party"

    class FakeEntryPoint:
        name = "third-party"

        def load(self):
            return FromPackage

    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [FakeEntryPoint()] if group == "nvmesim.allocators" else [])
    monkeypatch.setattr(allocators, "_entry_points_loaded", False)
    try:
        assert get_variant("third-party") is FromPackage
        assert load({"allocator": {"variants": ["third-party"]}}).allocator.variants == ["third-party"]
    finally:
        allocators.VARIANTS.pop("third-party", None)
        monkeypatch.setattr(allocators, "_entry_points_loaded", False)


def test_notebooks_are_committed_without_outputs():
    for nb in sorted(NOTEBOOK.parent.glob("*.ipynb")):
        doc = json.loads(nb.read_text())
        for cell in doc["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, f"{nb.name} has outputs"


def test_notebooks_read_the_quick_switch():
    for nb in sorted(NOTEBOOK.parent.glob("*.ipynb")):
        assert "NVMESIM_QUICK" in nb.read_text(), nb.name


def test_dmapool_interface_is_small():
    abstract = {n for n, v in vars(DmaPool).items() if getattr(v, "__isabstractmethod__", False)}
    assert abstract == {"block_offsets", "take", "give", "free_state"}
