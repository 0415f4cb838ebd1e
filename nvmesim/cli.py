"""Command line: a thin layer over the Python API (``nvmesim --help``).

Layer: the top; may import every other layer.  Bad input exits with code 2 and a
located message (the option, or the file and line, and what was expected).
"""

from __future__ import annotations

import json
import signal
import sys
from enum import Enum
from typing import Optional

import typer

from .allocators import VARIANTS, PoolError, get_variant

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    help="nvmesim: simulate batched NVMe I/O on Linux and the dmapool allocator under it.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: SIZE[/ALIGN[/BOUNDARY]] is not Rich markup
)


def _version(value: bool) -> None:
    """``--version``: print ``nvmesim <version>`` and exit 0."""
    if value:
        from . import __version__

        typer.echo(f"nvmesim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    """nvmesim: simulate batched NVMe I/O on Linux and the dmapool allocator under it."""


class TableFormat(str, Enum):
    """``dmapool-test --format``."""

    table = "table"
    json = "json"


class ReportFormat(str, Enum):
    """``validate --output-format``."""

    normal = "normal"
    json = "json"


class Bandwidth(str, Enum):
    """``calibrate --bandwidth``: what the largest-block run's bandwidth is."""

    link = "link"
    unit = "unit"


def complete_variant(incomplete: str) -> list[str]:
    """Shell completion of ``--variant``: the allocator variants registered now (built-in,
    registered, entry points), for ``dmapool-test`` also ``all``."""
    from .allocators import _load_entry_points

    try:
        _load_entry_points()
    except Exception:  # a broken plugin must not break completion
        pass
    return [v for v in sorted(VARIANTS) if v.startswith(incomplete)]


def _complete_variant_or_all(incomplete: str) -> list[str]:
    return complete_variant(incomplete) + (["all"] if "all".startswith(incomplete) else [])


def complete_output_format(incomplete: str) -> list[str]:
    """Shell completion of ``run --output-format`` (a comma-separated list of fio's
    names): the names, after whatever the list already holds."""
    from .output.formats import FORMAT_NAMES

    head, comma, last = incomplete.rpartition(",")
    prefix = head + comma
    return [prefix + name for name in FORMAT_NAMES if name.startswith(last)]


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


def _parse_pages(text: Optional[str], blocks: Optional[int]) -> list[int] | None:
    """``--pages 1,10,100``: pool sizes, each an int >= 1; not with ``--blocks``."""
    if text is None:
        return None
    if blocks is not None:
        raise fail("--pages: give either --pages or --blocks, not both")
    out = []
    for item in text.split(","):
        try:
            n = int(item.strip())
        except ValueError:
            n = 0
        if n < 1:
            raise fail(f"--pages: {item!r} is not a page count (an int >= 1); expected PAGES,... e.g. 1,10,100")
        out.append(n)
    return out


@app.command("dmapool-test")
def dmapool_test(
    variant: str = typer.Option("all", autocompletion=_complete_variant_or_all,
                                help="allocator variant: " + "|".join(VARIANTS) + "|all (or one a plugin registers)"),
    sizes: Optional[str] = typer.Option(
        None, help="cases as SIZE[/ALIGN[/BOUNDARY]],... (default: the kernel test's six)"
    ),
    blocks: Optional[int] = typer.Option(None, min=1, help="blocks per round (default: the kernel's clamp rule)"),
    pages: Optional[str] = typer.Option(
        None, help="pool sizes as PAGES,...: each case once per size, with the blocks per round that grow the "
                   "variant's pool to that many pages (instead of --blocks)"),
    rounds: int = typer.Option(100, min=1, help="rounds per case (the kernel uses 100)"),
    format: TableFormat = typer.Option(TableFormat.table, "--format", help="table rows or a JSON list"),
    force: bool = typer.Option(False, "--force", help="run even when the estimated memory or work is past the "
                               "guards (see nvmesim.experiments.budget)"),
) -> None:
    """Replay the kernel's mm/dmapool_test.c harness on the allocator models."""
    from .allocators.microbench import format_table, run_table

    try:
        variants = list(VARIANTS) if variant == "all" else [get_variant(variant).name]
    except PoolError as e:
        raise fail(f"--variant: {e}") from None
    cases = _parse_cases(sizes)
    page_list = _parse_pages(pages, blocks)
    if not force and (blocks is not None or page_list):
        from .allocators.microbench import KERNEL_CASES, blocks_for_pages
        from .config import ConfigError
        from .experiments.budget import check_blocks

        try:
            most = blocks if blocks is not None else max(
                blocks_for_pages(v, *case, p) for v in variants for case in (cases or KERNEL_CASES) for p in page_list)
            check_blocks(most)
        except PoolError as e:
            raise fail(f"--sizes: {e}") from None
        except ConfigError as e:
            raise _config_errors(e) from None
    try:
        rows = run_table(variants, cases, blocks=blocks, rounds=rounds, pages=page_list)
    except PoolError as e:
        raise fail(f"--sizes: {e}") from None
    if format is TableFormat.json:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        typer.echo(format_table(rows))


def _parse_sets(sets: list[str]) -> dict[str, object]:
    """``--set workload.iodepth=64``: dotted path = YAML value."""
    from .config import parse_assignment

    out: dict[str, object] = {}
    for item in sets:
        try:
            path, value = parse_assignment(item)
        except ValueError as e:
            raise fail(f"--set: {e}") from None
        out[path] = value
    return out


def _config_errors(e) -> "typer.Exit":
    for line in e.problems:
        typer.echo(f"nvmesim: error: {line}", err=True)
    return typer.Exit(code=2)


def _folded_dir_check(path: Optional[str]) -> None:
    """``--profile-folded FILE``: its directory must exist before the run, not after it."""
    import os

    if path is None:
        return
    if os.path.isdir(path):
        raise fail(f"--profile-folded: {path} is a directory; expected a file name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise fail(f"--profile-folded: {path}: no such directory {os.path.dirname(path)!r}")


def _write_folded(result, path: str) -> str | None:
    """Each variant's folded stacks (nvmesim.output.perf: folded_stacks, folded_path):
    PATH with one variant, else PATH with the variant before its extension.  Returns the
    error, if a file could not be written, for the caller to report after the result."""
    from .output.perf import folded_path

    variants = result.variants
    for v in variants:
        if not result.replications[v]:
            continue  # every replication failed: no profile (the error is reported below)
        target = folded_path(path, v, variants)
        try:
            with open(target, "w") as fh:
                fh.write(result.folded_stacks(v))
        except OSError as e:
            return f"--profile-folded: cannot write {target}: {e.strerror}"
    return None


#: ``run --frame``: the file kinds it writes
FRAME_EXTENSIONS = (".parquet", ".csv")


def _frame_check(path: Optional[str]) -> None:
    """``--frame FILE``: a .parquet or .csv name in a directory that exists, checked before
    the run (not after it)."""
    import os

    if path is None:
        return
    if os.path.splitext(path)[1].lower() not in FRAME_EXTENSIONS:
        raise fail(f"--frame: {path}: expected a file name ending in {' or '.join(FRAME_EXTENSIONS)}")
    if os.path.isdir(path):
        raise fail(f"--frame: {path} is a directory; expected a file name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise fail(f"--frame: {path}: no such directory {os.path.dirname(path)!r}")


def _write_frame(result, path: str) -> str | None:
    """Write the results frame to ``path`` (.parquet with provenance, or .csv); returns
    the error, if it could not be written, for the caller to report after the result."""
    try:
        if path.lower().endswith(".parquet"):
            result.to_parquet(path, frame="results")
        else:
            result.to_frame().to_csv(path, index=False)
    except OSError as e:
        return f"--frame: cannot write {path}: {e.strerror}"
    return None


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    """SIGTERM during a run ends it as Ctrl-C does: the finished replications are reported."""
    raise KeyboardInterrupt("SIGTERM")


def _stdout(text: str) -> None:
    """Write a result to stdout; if stdout cannot take it (a full disk, a closed pipe), put
    it in a file in the temporary directory instead and say where (exit 2)."""
    import os
    import tempfile

    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as e:
        try:  # the unflushed buffer would fail again at exit: let it drain into /dev/null
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        try:
            fd, path = tempfile.mkstemp(prefix="nvmesim-result-", suffix=".txt")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            where = f"the result is in {path}"
        except OSError as e2:
            where = f"and it could not be saved elsewhere either ({e2.strerror})"
        raise fail(f"cannot write the result to stdout: {e.strerror or e}; {where}") from None


@app.command("run")
def run_cmd(
    config: str = typer.Argument(..., help="YAML config (see configs/), or a fio job file (on --platform)"),
    output_format: str = typer.Option(
        "normal", "--output-format", autocompletion=complete_output_format, help="fio's names, comma-separated: normal, terse (minimal, csv), json, json+; "
        "printed in fio's order (terse, json, normal)"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="write the result here instead of stdout"),
    sets: list[str] = typer.Option([], "--set", help="override a config value: DOTTED.PATH=VALUE (repeatable)"),
    variant: Optional[str] = typer.Option(
        None, "--variant", autocompletion=complete_variant,
        help="run only this allocator variant; json then holds its jobs as fio reports them"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    platform: Optional[str] = typer.Option(
        None, "--platform", help="with a fio job file: the YAML file of host, driver, device(s), allocator and "
        "sim (e.g. configs/platforms/*.yaml; default: nvmesim's defaults)"),
    ignore_unsupported: bool = typer.Option(
        False, "--ignore-unsupported", help="with a fio job file: run without the options nvmesim does not model "
        "(each is still reported on stderr)"),
    profile_folded: Optional[str] = typer.Option(
        None, "--profile-folded", metavar="FILE",
        help="write the CPU profile as folded stacks (comm;a;b;c ns) for flamegraph.pl; several variants: "
             "one file each, FILE with the variant before its extension"),
    frame: Optional[str] = typer.Option(
        None, "--frame", metavar="FILE", help="also write the results frame (one row per variant x replication "
        "x direction): FILE.parquet (with the run's provenance) or FILE.csv"),
    force: bool = typer.Option(False, "--force", help="run even when the estimated memory or work is past the "
                               "guards (see nvmesim.experiments.budget)"),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="worker processes the replications run on (default: cores; 1: one after "
        "the other in this process); the result is the same whatever the number"),
) -> None:
    """Simulate a fio job on the modelled I/O path, once per allocator variant."""
    from .api import ConfigError, load, run
    from .output.formats import OutputFormatError, parse_output_format, render

    try:
        parts = parse_output_format(output_format)
    except OutputFormatError as e:
        raise fail(f"--output-format: {e}") from None
    try:
        ignored: list[str] = []
        cfg = load(config, _parse_sets(sets), platform=platform, ignored=ignored if ignore_unsupported else None)
    except ConfigError as e:
        raise _config_errors(e) from None
    for where in ignored:
        typer.echo(f"nvmesim: warning: {where}, ignored (--ignore-unsupported)", err=True)
    variants = None
    if variant is not None:
        try:
            name = get_variant(variant).name
        except PoolError as e:
            raise fail(f"--variant: {e}") from None
        variants = [name]
    _folded_dir_check(profile_folded)
    _frame_check(frame)
    if not force:
        from .experiments.budget import check_run

        try:
            check_run(cfg, len(variants) if variants else None, where=config)
        except ConfigError as e:
            raise _config_errors(e) from None
    from .experiments.runner import Interrupted

    interrupted: str | None = None
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        result = run(cfg, progress=not quiet, variants=variants, workers=workers)
    except ConfigError as e:  # (a log's directory)
        raise _config_errors(e) from None
    except Interrupted as e:  # report what the finished replications give, as fio does
        result, interrupted = e.result, e.result.partial
    finally:
        signal.signal(signal.SIGTERM, previous)
    folded_error = _write_folded(result, profile_folded) if profile_folded is not None else None
    frame_error = _write_frame(result, frame) if frame is not None else None
    text = render(result, parts, variants[0] if variants else None)
    if output:
        try:
            with open(output, "w") as fh:
                fh.write(text)
        except OSError as e:
            _stdout(text)  # nothing computed is lost
            raise fail(f"--output: cannot write {output}: {e.strerror}; the result went to stdout") from None
    else:
        _stdout(text)
    if folded_error or frame_error:
        raise fail(folded_error or frame_error)  # the result itself is out
    if interrupted:
        typer.echo(f"nvmesim: {interrupted}; the result above is PARTIAL", err=True)
        raise typer.Exit(code=130)
    if result.errors:
        for v, errs in result.errors.items():
            for e in errs:
                typer.echo(f"nvmesim: {v}: {e.splitlines()[0]}", err=True)
        raise typer.Exit(code=1)


@app.command("validate")
def validate_cmd(
    config: str = typer.Argument(..., help="YAML config whose host, driver, device and sim sections are the platform"),
    runs: list[str] = typer.Argument(..., help="real fio runs: JSON or json+ documents (fio --output-format=json)"),
    output_format: ReportFormat = typer.Option(ReportFormat.normal, "--output-format",
                                               help="a table, or JSON with the effective config"),
    sets: list[str] = typer.Option([], "--set", help="override a platform value: DOTTED.PATH=VALUE (repeatable)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Simulate each real fio run's job as fio ran it and compare: IOPS, bandwidth,
    slat/clat/lat, usr/sys CPU, real vs simulated with the error in %."""
    from .api import ConfigError, load
    from .experiments.validate import ValidateError, text_table, validate

    try:
        platform = load(config, _parse_sets(sets))
    except ConfigError as e:
        raise _config_errors(e) from None
    try:
        rows = validate(platform, runs, progress=not quiet)
    except ValidateError as e:
        for line in str(e).splitlines():
            typer.echo(f"nvmesim: error: {line}", err=True)
        raise typer.Exit(code=2) from None
    if output_format is ReportFormat.json:
        sys.stdout.write(json.dumps({"config": platform.effective(), "rows": [r.as_dict() for r in rows]},
                                    indent=2, default=str).replace("NaN", "null") + "\n")
    else:
        sys.stdout.write(text_table(rows))


@app.command("calibrate")
def calibrate_cmd(
    runs: list[str] = typer.Argument(..., help="real fio runs of one device (JSON or json+), at several depths and "
                                     "block sizes"),
    output: str = typer.Option(..., "--output", "-o", help="the platform file to write (YAML)"),
    config: Optional[str] = typer.Option(None, "--config", help="the platform to start from (default: nvmesim's)"),
    sets: list[str] = typer.Option([], "--set", help="override a starting value: DOTTED.PATH=VALUE (repeatable)"),
    bandwidth: Bandwidth = typer.Option(Bandwidth.link, "--bandwidth", help="read the largest-block run's bandwidth as the "
                                  "shared link (link: an SSD) or as each unit's own transfer rate (unit: a "
                                  "virtual disk copying per request)"),
) -> None:
    """Fit a platform (host costs, device service time, parallelism, bandwidth) to real fio
    runs, write it, and print each run's residuals on it."""
    import yaml

    from .api import ConfigError, load
    from .experiments.calibrate import calibrate, describe, load_runs, platform_yaml, residual_rows
    from .experiments.validate import ValidateError, text_table

    try:
        start = load(config or {}, _parse_sets(sets))
    except ConfigError as e:
        raise _config_errors(e) from None
    try:
        cal = calibrate(load_runs(runs), start, bandwidth=bandwidth.value)
    except ValidateError as e:
        for line in str(e).splitlines():
            typer.echo(f"nvmesim: error: {line}", err=True)
        raise typer.Exit(code=2) from None
    text = yaml.safe_dump(platform_yaml(cal), sort_keys=False)
    try:
        with open(output, "w") as fh:
            fh.write("# nvmesim platform fitted by `nvmesim calibrate` to: " + ", ".join(runs) + "\n" + text)
    except OSError as e:
        sys.stdout.write(text)  # nothing computed is lost
        raise fail(f"--output: cannot write {output}: {e.strerror}; the platform went to stdout") from None
    sys.stdout.write(describe(cal))
    sys.stdout.write(f"wrote {output}\n\nresiduals (each run on the fitted platform):\n")
    sys.stdout.write(text_table(residual_rows(cal, runs)))


@app.command("sensitivity")
def sensitivity_cmd(
    config: str = typer.Argument(..., help="YAML config: the base point"),
    vary: list[str] = typer.Option(
        [], "--vary", help="DOTTED.PATH[+PATH...]=V1,V2,... (repeatable): one axis at a time; "
        "paths joined by + take the same value together"
    ),
    sets: list[str] = typer.Option([], "--set", help="override a base value: DOTTED.PATH=VALUE (repeatable)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress lines"),
    force: bool = typer.Option(False, "--force", help="run even when the estimated memory or work is past the "
                               "guards (see nvmesim.experiments.budget)"),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="worker processes each point's replications run on (default: cores; 1: one "
        "after the other in this process); the table is the same whatever the number"),
) -> None:
    """How the variant deltas move when one parameter at a time changes (a Markdown table)."""
    from .api import ConfigError, load
    from .experiments.budget import check_run
    from .config import parse_vary
    from .experiments.sensitivity import markdown, one_at_a_time

    axes = []
    for item in vary:
        try:
            axes.append(parse_vary(item))
        except ValueError as e:
            raise fail(f"--vary: {e}") from None
    try:
        cfg = load(config, _parse_sets(sets))
        base = cfg.effective()
        for axis in axes:
            for v in axis.values:
                point = load(base, axis.overrides(v), origin=f"--vary {axis.name}")  # every point, before any runs
                if not force:
                    check_run(point, where=f"--vary {axis.name}={v}")
        if not force:
            check_run(cfg, where=config)
    except ConfigError as e:
        raise _config_errors(e) from None

    def progress(path: str, value: object) -> None:
        if not quiet:
            typer.echo(f"nvmesim: {path} = {value}", err=True)

    rows = one_at_a_time(cfg, axes, progress, workers=workers)
    typer.echo(markdown(rows))


@app.command("sweep")
def sweep_cmd(
    spec: str = typer.Argument(..., help="sweep file (see configs/sweeps/)"),
    out: str = typer.Option(..., "--out", help="output directory (re-running resumes it)"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="local worker processes (default: cores)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="tcp://HOST:PORT of a dask.distributed cluster"),
    csv: bool = typer.Option(False, "--csv", help="also write results.csv and summary.csv"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    worker_timeout: float = typer.Option(60.0, "--worker-timeout", min=0.0,
                                         help="with --scheduler: seconds to wait for a first Dask worker"),
    allow_version_mix: bool = typer.Option(False, "--allow-version-mix",
                                           help="resume points saved by another nvmesim model version"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="run again the points recorded as failed"),
    force: bool = typer.Option(False, "--force", help="run even when the estimated memory or work is past the "
                               "guards (see nvmesim.experiments.budget)"),
) -> None:
    """Run a parameter sweep; writes OUT/results.parquet, summary.parquet, hists.parquet,
    and the provenance (spec.yaml, manifest.json, configs.json)."""
    from .config import ConfigError
    from .experiments.progress import ProgressBar
    from .experiments.sweep import run_sweep

    bar: ProgressBar | None = None

    def progress(done: int, total: int, detail: str) -> None:
        nonlocal bar
        if bar is None:
            bar = ProgressBar(total, quiet, "nvmesim sweep")
        bar.update(done, detail)

    try:
        results, summary = run_sweep(spec, out, workers=workers, scheduler=scheduler, progress=progress, csv=csv,
                                     worker_timeout=worker_timeout, allow_version_mix=allow_version_mix,
                                     retry_failed=retry_failed, force=force,
                                     warn=lambda m: typer.echo(f"nvmesim: warning: {m}", err=True))
    except ConfigError as e:
        raise _config_errors(e) from None
    except RuntimeError as e:
        raise fail(str(e)) from None
    except KeyboardInterrupt:
        typer.echo("\nnvmesim: interrupted; finished points are saved, re-run to resume", err=True)
        raise typer.Exit(code=130) from None
    finally:
        if bar is not None:
            bar.close()
    figure = _sweep_figure(summary, out)
    failed = results.loc[results["error"].notna(), "point"].nunique() if "error" in results else 0
    typer.echo(f"{out}: {results['point'].nunique() if len(results) else 0} points, {len(results)} rows "
               f"-> results.parquet, summary.parquet, hists.parquet" + (f", {figure}" if figure else "")
               + (f"; {failed} points with errors (their rows' error column; --retry-failed runs them again)"
                  if failed else ""))


def _sweep_figure(summary, out: str) -> str | None:
    """A first look at a sweep: the IOPS change (% of the baseline, with its paired CI)
    against the first swept axis, one panel column per value of the second and one panel
    row per value of the third; further axes are held at their first value (and the title
    says so).  Returns the file name, or None if there is nothing to compare."""
    from pathlib import Path

    from .output.plots import param_label, plot_deltas, save

    if summary.empty or "point" not in summary or "variant" not in summary or "baseline" not in summary:
        return None
    cols = list(summary.columns)
    axes = cols[cols.index("point") + 1:cols.index("variant")]
    if not axes or summary["variant"].nunique() < 2:
        return None
    ok = summary[summary["error"].isna()] if "error" in summary else summary
    if ok.empty:
        return None
    where = {a: ok[a].iloc[0] for a in axes[3:]}
    title = ("held at: " + ", ".join(f"{param_label(k)}={v}" for k, v in where.items())) if where else None
    try:
        fig = plot_deltas(ok, x=axes[0], metric="iops", col=axes[1] if len(axes) > 1 else None,
                          row=axes[2] if len(axes) > 2 else None, where=where, relative=True, title=title)
    except ValueError:
        return None  # e.g. no paired deltas (one replication): the frames are the result
    save(fig, str(Path(out) / "deltas.png"))
    return "deltas.png"


class PlotKind(str, Enum):
    metric = "metric"
    cdf = "cdf"
    deltas = "deltas"
    profile = "profile"


@app.command("plot")
def plot_cmd(
    results: str = typer.Argument(..., help="a sweep output directory, or a results/summary/hists .parquet/.csv file"),
    output: str = typer.Option(..., "-o", "--output", help="FILE.png, FILE.svg or FILE.pdf"),
    kind: PlotKind = typer.Option(PlotKind.metric, "--kind", help="metric: y against x; deltas: variant − baseline "
                                  "against x; cdf: latency distribution at one point; profile: perf self time at "
                                  "one point"),
    x: Optional[str] = typer.Option(None, "--x", help="swept parameter on the x axis (e.g. workload.iodepth)"),
    y: Optional[str] = typer.Option(None, "--y", help="metric (e.g. clat_p99_ns, iops); cdf: slat, clat or lat"),
    hue: Optional[str] = typer.Option("variant", "--hue", help="one colour per value of this column"),
    col: Optional[str] = typer.Option(None, "--col", help="one panel column per value of this parameter"),
    row: Optional[str] = typer.Option(None, "--row", help="one panel row per value of this parameter"),
    style: Optional[str] = typer.Option(None, "--style", help="one line style per value of this parameter"),
    where: list[str] = typer.Option([], "--where", help="PARAM=VALUE: plot only these rows (repeatable)"),
    point: Optional[int] = typer.Option(None, "--point", min=0, help="cdf, profile: the sweep point to show"),
    relative: bool = typer.Option(False, "--relative", help="deltas in % of the baseline"),
    logx: bool = typer.Option(False, "--logx", help="log2 x axis (a numeric parameter)"),
    logy: bool = typer.Option(False, "--logy", help="log y axis"),
    title: Optional[str] = typer.Option(None, "--title", help="a title over the figure"),
) -> None:
    """Plot results (seaborn palettes); the same functions are in nvmesim.plots for notebooks.
    A swept parameter that is not on an axis must be selected with --where (or the command
    says which)."""
    from .output.plots import parse_where, plot_command

    try:
        plot_command(results, output, kind.value, x=x, y=y, hue=hue, col=col, row=row, style=style,
                     where=parse_where(where), point=point, relative=relative, logx=logx, logy=logy, title=title)
    except (ValueError, FileNotFoundError) as e:
        raise fail(str(e)) from None


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
