"""Command line: a thin layer over the Python API (``nvmesim --help``)."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from .allocators import VARIANTS, PoolError, get_variant

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="nvmesim: simulate batched NVMe I/O on Linux and the dmapool allocator under it.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """nvmesim: simulate batched NVMe I/O on Linux and the dmapool allocator under it."""


def fail(msg: str) -> "typer.Exit":
    """Print a located error on stderr; the caller raises the returned Exit (code 2)."""
    typer.echo(f"nvmesim: error: {msg}", err=True)
    return typer.Exit(code=2)


def _parse_cases(sizes: Optional[str]) -> list[tuple[int, int, int]] | None:
    """``--sizes 16,64,68/32/4096``: SIZE[/ALIGN[/BOUNDARY]]; align defaults to size."""
    if not sizes:
        return None
    cases = []
    for item in sizes.split(","):
        parts = item.strip().split("/")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise fail(f"--sizes: {item!r} is not SIZE[/ALIGN[/BOUNDARY]] with integers") from None
        if not 1 <= len(nums) <= 3 or nums[0] <= 0 or any(n < 0 for n in nums):
            raise fail(f"--sizes: {item!r} is not SIZE[/ALIGN[/BOUNDARY]] with SIZE > 0")
        size = nums[0]
        align = nums[1] if len(nums) > 1 else size
        boundary = nums[2] if len(nums) > 2 else 0
        cases.append((size, align, boundary))
    return cases


@app.command("dmapool-test")
def dmapool_test(
    variant: str = typer.Option("all", help="allocator variant: " + "|".join(VARIANTS) + "|all"),
    sizes: Optional[str] = typer.Option(
        None, help="cases as SIZE[/ALIGN[/BOUNDARY]],... (default: the kernel test's six)"
    ),
    blocks: Optional[int] = typer.Option(None, min=1, help="blocks per round (default: the kernel's clamp rule)"),
    rounds: int = typer.Option(100, min=1, help="rounds per case (the kernel uses 100)"),
    format: str = typer.Option("table", "--format", help="table|json"),
) -> None:
    """Replay the kernel's mm/dmapool_test.c harness on the allocator models."""
    from .dmapool_test import format_table, run_table

    if format not in ("table", "json"):
        raise fail(f"--format: expected 'table' or 'json', got {format!r}")
    try:
        variants = list(VARIANTS) if variant == "all" else [get_variant(variant).name]
    except PoolError as e:
        raise fail(f"--variant: {e}") from None
    cases = _parse_cases(sizes)
    try:
        rows = run_table(variants, cases, blocks=blocks, rounds=rounds)
    except PoolError as e:
        raise fail(f"--sizes: {e}") from None
    if format == "json":
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        typer.echo(format_table(rows))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
