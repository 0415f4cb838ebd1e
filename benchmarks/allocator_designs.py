"""The allocator designs side by side (issue 19): the tables and the figure of
``docs/allocators.md``'s comparison, regenerated.

    python benchmarks/allocator_designs.py [--quick] [--out DIR] [--workers N]

prints the comparison as markdown (the doc's tables are this output, pasted) and writes
the figure ``cost-vs-pages.png`` (and ``comparison.md``) to ``--out`` (default:
``docs/figures``).  Four parts, every design registered in ``nvmesim.allocators``:

1. the kernel's micro benchmark (``nvmesim dmapool-test --variant all``): ns per
   alloc+free pair at the six cases;
2. cost per operation against the pool's size: ``nvmesim dmapool-test --variant all
   --sizes S --pages P1,...`` for the nvme driver's two pools (``prp list 256``, 256 B;
   ``prp list page``, 4096 B), pools of 1 to 10^5 pages (10^4 at 256 B);
3. the crossovers: for each pair of designs, the pool sizes between which their order
   changes in part 2;
4. the fio workload (``nvmesim run``) at the ordinary operating point (io_uring, queue
   1024, depth 1023, batches of 256: within the tags) and the high-depth one
   (``configs/highdepth.yaml``: depth 8192, batches of 4096, io-wq beyond the tags), one
   job and four, every design in one run (common random numbers), ``stack`` the
   baseline of the deltas.

``--quick`` is the same with pools of up to 100 or 1000 pages and one 4 ms replication
per point: ``tests/test_allocator_designs.py`` runs it, and checks its micro rows
against the doc's (they are deterministic).  Everything is deterministic given the code: no timing
of this machine enters any figure.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nvmesim.allocators import VARIANTS  # noqa: E402
from nvmesim.allocators.microbench import blocks_for_pages, run_case, run_table  # noqa: E402

#: the order of every table: the kernel's two, then the proposals, then the bounds
ORDER = ("legacy", "stack", "battersby", "xarray", "oob", "magazine", "nopool")
#: part 2's pool sizes (pages), per block size
PAGES = {256: (1, 3, 10, 30, 100, 300, 1000, 3000, 10000),
         4096: (1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000)}
QUICK_PAGES = {256: (1, 10, 100), 4096: (1, 10, 100, 1000)}
#: part 4's operating points: overrides of configs/highdepth.yaml
ORDINARY = {"workload.iodepth": 1023, "workload.iodepth_batch_submit": 256,
            "workload.iodepth_batch_complete_min": 256, "workload.iodepth_batch_complete_max": 256}
POINTS = {"ordinary, 1 job": {**ORDINARY, "workload.numjobs": 1},
          "ordinary, 4 jobs": {**ORDINARY, "workload.numjobs": 4},
          "high-depth, 1 job": {"workload.numjobs": 1},
          "high-depth, 4 jobs": {"workload.numjobs": 4}}
FULL_RUN = {"workload.runtime": 0.2, "workload.ramp_time": 0.05, "sim.replications": 3}
QUICK_RUN = {"workload.runtime": 0.004, "workload.ramp_time": 0.002, "sim.replications": 1}


def designs() -> list[str]:
    """Every registered design, the built-in ones in :data:`ORDER`, others after."""
    return [v for v in ORDER if v in VARIANTS] + sorted(set(VARIANTS) - set(ORDER))


def stack_first(variants: list[str]) -> list[str]:
    """The fio runs' order: ``stack`` (the kernel today) first, the baseline of the deltas."""
    return ["stack"] + [v for v in variants if v != "stack"]


def kernel_cases(variants: list[str]) -> dict[tuple[int, int, int], dict[str, float]]:
    """Part 1: case -> design -> ns per pair (the kernel's 100 rounds)."""
    rows = run_table(variants)
    out: dict[tuple[int, int, int], dict[str, float]] = {}
    for r in rows:
        out.setdefault((r.size, r.align, r.boundary), {})[r.variant] = r.ns_per_pair
    return out


def by_pages(variants: list[str], quick: bool) -> dict[int, dict[int, dict[str, float]]]:
    """Part 2: block size -> pages -> design -> ns per pair (100 rounds, shortcut).  A
    design's row at P pages allocates the blocks that grow its pool to P pages
    (``blocks_for_pages``; nopool, which keeps none, the blocks P pages of it would hold)."""
    grid = QUICK_PAGES if quick else PAGES
    out: dict[int, dict[int, dict[str, float]]] = {}
    for size, pages in grid.items():
        table = out.setdefault(size, {})
        for p in pages:
            for v in variants:
                row = run_case(v, size, size, 0, blocks_for_pages(v, size, size, 0, p))
                table.setdefault(p, {})[v] = row.ns_per_pair
    return out


def crossovers(table: dict[int, dict[str, float]]) -> list[tuple[str, str, int, int]]:
    """Part 3: (cheaper at the small end, cheaper at the large end, pages before, pages
    after) for each pair of designs whose order changes between two pool sizes."""
    sizes = sorted(table)
    names = [v for v in designs() if all(v in table[p] for p in sizes)]
    out = []
    for a, b in itertools.combinations(names, 2):
        for p, q in zip(sizes, sizes[1:]):
            da, db = table[p][a] - table[p][b], table[q][a] - table[q][b]
            if da * db < 0:
                small, large = (a, b) if da < 0 else (b, a)
                out.append((small, large, p, q))
    return out


def fio_points(variants: list[str], quick: bool, workers: int | None) -> dict[str, "object"]:
    """Part 4: operating point -> its RunResult (every design in one run, stack first)."""
    from nvmesim.api import load, run

    base = stack_first(variants)
    out = {}
    for name, over in POINTS.items():
        cfg = load(ROOT / "configs/highdepth.yaml",
                   {**over, **(QUICK_RUN if quick else FULL_RUN), "allocator.variants": base})
        out[name] = run(cfg, workers=workers)
    return out


def _fmt(ns: float) -> str:
    return f"{ns:,.1f}" if ns < 1000 else f"{ns:,.0f}"


def markdown(variants: list[str], k: dict, pages: dict, fio: dict, quick: bool) -> str:
    """The four parts as markdown tables."""
    cmd = "python benchmarks/allocator_designs.py" + (" --quick" if quick else "")
    out = [f"<!-- generated by `{cmd}` -->", "",
           "### The kernel's micro benchmark: ns per alloc+free pair", "",
           "`nvmesim dmapool-test --variant all`", "",
           "| size/align/boundary | " + " | ".join(variants) + " |",
           "|---|" + "---:|" * len(variants)]
    for (size, align, boundary), row in k.items():
        out.append(f"| {size}/{align}/{boundary} | " + " | ".join(_fmt(row[v]) for v in variants) + " |")
    for size, table in pages.items():
        grid = ",".join(str(p) for p in sorted(table))
        out += ["", f"### Cost per alloc+free pair against pool pages: {size}-byte blocks", "",
                f"`nvmesim dmapool-test --variant all --sizes {size} --pages {grid}` (ns per pair; the "
                "pool's pages are allocated and freed 100 times, page creation included)", "",
                "| pages | " + " | ".join(variants) + " |", "|---:|" + "---:|" * len(variants)]
        for p in sorted(table):
            out.append(f"| {p:,} | " + " | ".join(_fmt(table[p][v]) for v in variants) + " |")
        cross = crossovers(table)
        out += ["", f"Crossovers at {size} B (the pair's order changes between two pool sizes of the table):", ""]
        if cross:
            out += ["| cheaper in the smaller pool | cheaper in the larger pool | between (pages) |", "|---|---|---|"]
            out += [f"| `{s}` | `{l}` | {p:,} and {q:,} |" for s, l, p, q in cross]
        else:
            out.append("none.")
    if fio:
        run = QUICK_RUN if quick else FULL_RUN
        sets = " ".join(f"--set {k}={v}" for k, v in run.items())
        out += ["", "### The fio workload", "",
                f"`nvmesim run configs/highdepth.yaml --set allocator.variants=[{','.join(stack_first(variants))}] "
                f"{sets}` plus each point's overrides (ordinary: `" +
                " ".join(f"--set {k}={v}" for k, v in ORDINARY.items()) + "`; four jobs: `--set workload.numjobs=4`). "
                "Means over the replications; Δ against `stack` with its paired 95% CI.", "",
                "| point | design | IOPS | Δ IOPS % | slat µs | Δ slat µs [95% CI] | clat µs | Δ clat µs [95% CI] | "
                "dma_pool % CPU (children) | pool lock % CPU |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, res in fio.items():
            ov = res.overview()
            d = res.deltas_frame()
            for v in stack_first(variants):
                o = ov.loc[v]
                cells = [name, f"`{v}`", f"{o['iops']:,.0f}"]
                if v == "stack":
                    cells += ["", f"{o['slat_mean_ns'] / 1e3:,.1f}", "", f"{o['clat_mean_ns'] / 1e3:,.1f}", ""]
                else:
                    row = {m: d[(d.variant == v) & (d.metric == m)].iloc[0] for m in ("iops", "slat_mean_ns",
                                                                                     "clat_mean_ns")}
                    cells += [f"{row['iops'].delta_pct:+.2f}", f"{o['slat_mean_ns'] / 1e3:,.1f}", _delta(row["slat_mean_ns"]),
                              f"{o['clat_mean_ns'] / 1e3:,.1f}", _delta(row["clat_mean_ns"])]
                cells += [f"{100 * o['cpu_share_dma_pool_children']:.2f}", f"{100 * o['cpu_share_pool_lock']:.2f}"]
                out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _delta(row) -> str:
    lo, hi = row.delta_ci_low, row.delta_ci_high
    ci = "" if not (math.isfinite(lo) and math.isfinite(hi)) else f" [{lo / 1e3:+,.1f}, {hi / 1e3:+,.1f}]"
    return f"{row.delta / 1e3:+,.1f}{ci}"


def figure(variants: list[str], pages: dict, path: Path) -> None:
    """Cost per pair against pool pages, one panel per block size, every design."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(pages), figsize=(5.2 * len(pages), 3.9), squeeze=False)
    for ax, (size, table) in zip(axes[0], pages.items()):
        xs = sorted(table)
        for v in variants:
            ax.plot(xs, [table[p][v] for p in xs], marker="o", ms=3, label=v)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pages in the pool")
        ax.set_ylabel("ns per alloc+free pair")
        ax.set_title(f"{size}-byte blocks (nvme's prp list {'256' if size == 256 else 'page'})")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small pools, one short replication (the test's version)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures", help="where the figure and the tables go")
    ap.add_argument("--workers", type=int, default=None, help="processes for the fio runs (default: the cores)")
    ap.add_argument("--no-fio", action="store_true", help="parts 1-3 only")
    args = ap.parse_args(argv)
    variants = designs()
    k = kernel_cases(variants)
    pages = by_pages(variants, args.quick)
    fio = {} if args.no_fio else fio_points(variants, args.quick, args.workers)
    text = markdown(variants, k, pages, fio, args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "comparison.md").write_text(text)
    figure(variants, pages, args.out / "cost-vs-pages.png")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
