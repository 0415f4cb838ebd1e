"""Parameter sweeps: a spec file expands into points; each point runs every variant for
its replications, on a local process pool or on a Dask cluster, and lands on disk
atomically as soon as it is done.

Spec (YAML)::

    base: ../highdepth.yaml          # a config path (relative to the spec) or an inline mapping
    set: {sim.replications: 2}       # overrides applied to the base
    grid:                            # cartesian product over dotted paths
      workload.iodepth: [64, 256, 1023]
      workload.iodepth_batch_submit+workload.iodepth_batch_complete_min: [16, 64]   # joint paths
    zip:                             # lists stepped through together (one more axis)
      workload.bs: [16k, 64k]
      workload.numjobs: [1, 2]
    variants: [legacy, stack]        # optional: allocator.variants
    replications: 2                  # optional: sim.replications

Output directory::

    spec.yaml            the sweep file as given (base.yaml: its base config file, if it names one)
    manifest.json        nvmesim's model version, the command's library versions, each point's
                         params, key, root seed and model version
    configs.json         each point's effective config (defaults filled in)
    points/<key>.json    one per finished point (key = hash of its effective config, seed included)
    results.parquet      raw rows, one per point x variant x replication x direction
    hists.parquet        the latency histograms, long form (point ... direction, kind, bin_ns, count)
    summary.parquet      per point x variant x metric: mean, 95% CI, paired delta vs baseline

Every parquet file carries the manifest (and the configs) in its metadata (key
``nvmesim``; :func:`read_provenance`).  Files are created with the process umask.

Re-running a sweep skips points whose file exists, so an interrupted sweep resumes; a
point that fails records its error and the sweep goes on.  A point file written by
another model version (:func:`nvmesim.model_version`) is not mixed in silently: the
re-run refuses (:class:`SweepVersionError`) unless ``allow_version_mix``.  The same seeds give the same
numbers whichever executor ran them (a point is a pure function of its config).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .. import __version__, model_version
from ..config import Axis, ConfigError, apply_overrides, config_from_dict, read_yaml
from ..config.overrides import OverrideError
from ..config.loader import locate
from ..output.frames import (HIST_COLUMNS, error_row, hist_frame, parquet_bytes, parquet_provenance, results_frame,
                             summary_rows)
from .budget import check_run, check_sweep, grid_points
from .runner import run


class SweepError(RuntimeError):
    """A sweep that cannot start or go on; the message says why and what to do (exit 2)."""


class SweepVersionError(SweepError):
    """The output folder holds points computed by another model version."""


class SweepSpec(BaseModel):
    """A sweep file: base config, overrides, axes, variants, replications."""

    model_config = ConfigDict(extra="forbid")

    base: str | dict[str, Any] = Field(description="config path (relative to the spec) or inline mapping")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted-path overrides of the base")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="cartesian axes: path -> values")
    zip: dict[str, list[Any]] = Field(default_factory=dict, description="axes stepped through together")
    variants: list[str] | None = None
    replications: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _axes(self) -> "SweepSpec":
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ValueError(f"zip lists must have the same length, got {sorted(lengths)}")
        return self


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its index, the swept values, and its full config as data."""

    index: int
    params: dict[str, Any]
    config: dict[str, Any]  # effective config (defaults filled in)
    key: str


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file: the spec, where it lives, and the line of every key."""

    spec: SweepSpec
    path: Path
    lines: dict[str, int]

    def where(self, dotted: str) -> str:
        return locate(str(self.path), self.lines, dotted)


def load_spec(path: str | Path) -> Sweep:
    """Read and validate a sweep file; errors are located ``file:line: path: problem``."""
    path = Path(path)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with base, set, grid, zip, variants, replications"])
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = [str(x) for x in err["loc"]]
            if loc and loc[0] == "base" and len(loc) == 2 and loc[1] in ("str", "dict[str,any]"):
                if loc[1] == "dict[str,any]":
                    continue  # one message for the union, below
                dotted, msg = "base", f"expected a config path or a mapping (an inline config), got " \
                                      f"{type(err['input']).__name__} {str(err['input'])[:60]!r}"
            else:
                msg = _spec_message(err)
                dotted = ".".join(loc) or ("zip" if msg.startswith("zip ") else "(top level)")
            problems.append(f"{locate(str(path), lines, dotted)}: {dotted}: {msg}")
        raise ConfigError(problems) from None
    return Sweep(spec, path, lines)


_SPEC_KEYS = ("base", "set", "grid", "zip", "variants", "replications")


def _spec_message(err: Mapping[str, Any]) -> str:
    """pydantic's wording in the project's: what was expected, with a suggestion."""
    import difflib

    kind, loc = err["type"], err["loc"]
    if kind == "extra_forbidden":
        near = difflib.get_close_matches(str(loc[-1]), _SPEC_KEYS, n=1)
        return (f"unknown key; a sweep file has {', '.join(_SPEC_KEYS)}"
                + (f" (did you mean {near[0]!r}?)" if near else ""))
    if kind in ("dict_type", "model_type"):
        return f"expected a mapping (keys and values), got {type(err['input']).__name__}"
    if kind == "list_type":
        return f"expected a list of values, got {type(err['input']).__name__} {str(err['input'])[:40]!r}"
    return err["msg"].removeprefix("Value error, ")


def axes_of(sweep: Sweep) -> tuple[list[Axis], list[Axis]]:
    """The grid and zip axes, parsed and checked: no dotted path may be set by two axes
    (the rows would be labelled with a value that did not run)."""
    grid, zips, problems = [], [], []
    owner: dict[str, str] = {}
    for section, axes in (("grid", grid), ("zip", zips)):
        for name, values in getattr(sweep.spec, section).items():
            where = sweep.where(f"{section}.{name}")
            try:
                axis = Axis.of(name, values)
            except ValueError as e:
                problems.append(f"{where}: {section}.{name}: {e}")
                continue
            for p in axis.paths:
                if p in owner:
                    problems.append(f"{where}: {section}.{name}: {p} is already swept by axis {owner[p]!r}")
                owner.setdefault(p, name)
            axes.append(axis)
    if problems:
        raise ConfigError(problems)
    return grid, zips


def expand(sweep: Sweep) -> list[Point]:
    """Every point of the sweep, validated before anything runs."""
    spec = sweep.spec
    if isinstance(spec.base, str):
        base_path = sweep.path.parent / spec.base
        if not base_path.is_file():  # (False for a NUL in the name, too)
            what = "is a directory" if base_path.is_dir() else "no such file"
            raise ConfigError([f"{sweep.where('base')}: base: {spec.base!r}: {what} (relative to "
                               f"{sweep.path.parent}; expected a config path or an inline mapping)"])
        base, base_lines = read_yaml(base_path)
        if not isinstance(base, dict):
            raise ConfigError([f"{sweep.where('base')}: base: {base_path} is not a config mapping"])
        base_source = str(base_path)
    else:
        base, base_lines, base_source = dict(spec.base), {}, f"{sweep.path}: base"
    config_from_dict(base, base_source, base_lines)  # the base must be valid on its own, before any override
    fixed = dict(spec.set)
    located = {p: sweep.where(f"set.{p}") for p in spec.set}
    if spec.variants is not None:
        fixed["allocator.variants"] = spec.variants
        located["allocator.variants"] = sweep.where("variants")
    if spec.replications is not None:
        fixed["sim.replications"] = spec.replications
        located["sim.replications"] = sweep.where("replications")
    grid, zips = axes_of(sweep)
    for section, axes in (("grid", grid), ("zip", zips)):
        for axis in axes:
            located.update({p: sweep.where(f"{section}.{axis.name}") for p in axis.paths})
    zip_rows = list(zip(*[a.values for a in zips])) if zips else [()]
    points = []
    problems = []
    for combo in itertools.product(*[a.values for a in grid]):
        for zrow in zip_rows:
            params = {a.name: v for a, v in zip(grid, combo)} | {a.name: v for a, v in zip(zips, zrow)}
            overrides = dict(fixed)
            for axis, value in zip([*grid, *zips], [*combo, *zrow]):
                overrides.update(axis.overrides(value))
            try:
                cfg = config_from_dict(apply_overrides(base, overrides), base_source, base_lines, located)
            except ConfigError as e:
                problems += [f"point {params}: {p}" for p in e.problems]
                continue
            except OverrideError as e:
                problems.append(f"point {params}: {located.get(e.path, base_source)}: {e}")
                continue
            eff = cfg.effective()
            points.append(Point(len(points), params, eff, point_key(eff)))
    if problems:
        raise ConfigError(problems)
    return points


def point_key(effective: Mapping[str, Any]) -> str:
    """A point's identity: its effective config, seed included."""
    blob = json.dumps(effective, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def run_point(config: dict[str, Any], params: dict[str, Any], index: int, key: str) -> dict[str, Any]:
    """Run one point (all variants, all replications) and return its record.

    A pure function of its arguments (picklable, no shared state), so a local process
    and a Dask worker produce the same record; a failure is recorded, not raised.
    """
    t0 = time.perf_counter()
    record: dict[str, Any] = {"key": key, "point": index, "params": params, "error": None,
                              "model_version": model_version()}
    try:
        result = run(config_from_dict(config), log_dir=None, workers=1)  # the sweep's pool is the parallelism
        record["rows"] = results_frame(result.replications, result.errors, params, index).to_dict("records")
        record["metrics"] = result.metrics()
        # compact: one [variant, replication, direction, kind, bins, counts] per histogram
        h = hist_frame(result.replications)
        record["hists"] = [[*k, g["bin_ns"].tolist(), g["count"].tolist()]
                           for k, g in h.groupby(list(HIST_COLUMNS[1:5]), sort=False)]
        errs = [e for v in result.errors.values() for e in v]
        if errs:
            record["error"] = errs[0]
    except Exception as e:  # recorded; the sweep goes on
        record["rows"] = [error_row(index, params, None, f"{type(e).__name__}: {e}")]
        record["metrics"] = {}
        record["hists"] = []
        record["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}"
    record["wall_s"] = time.perf_counter() - t0
    return record


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that it either exists whole or not at all (Ctrl-C, SIGKILL), with
    the mode a plain ``open`` gives (0666 less the umask; mkstemp alone makes it 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _save_point(out: Path, record: dict[str, Any]) -> None:
    _write_atomic(out / "points" / f"{record['key']}.json", json.dumps(record, default=str).encode())


_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")


def scheduler_address(address: str) -> str:
    """A Dask scheduler address as ``distributed`` takes it: ``SCHEME://HOST:PORT`` (tcp,
    tls, ucx, ws, wss) or ``HOST:PORT`` (tcp); anything else — ``http://`` (the dashboard's
    URL), no port, a port out of range — is a SweepError saying what is expected."""
    expected = "expected tcp://HOST:PORT (or HOST:PORT, tls://HOST:PORT), e.g. tcp://127.0.0.1:8786"
    scheme, sep, rest = address.strip().rpartition("://")
    if not sep:
        scheme, rest = "tcp", address.strip()
    if scheme not in _SCHEMES:
        hint = " (that is the dashboard's URL; the scheduler listens on tcp://, port 8786 by default)" \
            if scheme in ("http", "https") else ""
        raise SweepError(f"--scheduler {address!r}: unknown scheme {scheme!r}{hint}; {expected}")
    if scheme == "inproc":
        return f"{scheme}://{rest}"
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host:
        raise SweepError(f"--scheduler {address!r}: {expected}")
    return f"{scheme}://{host}:{port}"


def _dask_client(scheduler: str, worker_timeout: float = 60.0):
    """A Dask client that has waited (up to ``worker_timeout`` s) for at least one worker."""
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install 'nvmesim[distributed]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as e:
        raise SweepError(f"--scheduler: cannot reach the Dask scheduler at {scheduler}: {e}") from None
    try:
        client.wait_for_workers(1, timeout=worker_timeout)
    except (TimeoutError, OSError) as e:
        client.close()
        raise SweepError(f"--scheduler: the Dask scheduler at {scheduler} has no workers (waited "
                         f"{worker_timeout:g} s, --worker-timeout); start one with: dask worker {scheduler}"
                         + ("" if isinstance(e, TimeoutError) else f" ({type(e).__name__}: {e})")) from None
    return client


Progress = Callable[[int, int, str], None]  # (done, total, detail)


def run_sweep(
    spec_path: str | Path,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | bool | None = None,
    csv: bool = False,
    *,
    worker_timeout: float = 60.0,
    allow_version_mix: bool = False,
    retry_failed: bool = False,
    warn: Callable[[str], None] | None = None,
    force: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) a sweep into ``out``; returns (results, summary) frames.

    ``progress=True`` shows a progress bar (stderr, or live in a notebook).  ``scheduler``
    is a Dask scheduler address (then ``workers`` must be None: the cluster has its own);
    the sweep waits ``worker_timeout`` s for a worker.  A scheduler lost mid-sweep is a
    SweepError saying how many points are saved (a re-run resumes).  Point files of another
    model version in ``out`` are a SweepVersionError unless ``allow_version_mix``.  A point
    whose worker process dies is recorded as failed (the others go on); a re-run retries
    recorded failures only with ``retry_failed``.  A corrupt point file is reported through
    ``warn`` (default: a Python warning) and recomputed.  A sweep past the resource guards
    (:mod:`.budget`: its points, replications, a point's memory or work) is a ConfigError
    before anything runs, unless ``force``."""
    if scheduler is not None and workers is not None:
        raise SweepError("--workers sizes the local process pool; with --scheduler the Dask cluster's workers "
                         "run the points (start more with `dask worker`): give one or the other")
    if scheduler is not None:
        scheduler = scheduler_address(scheduler)
    if progress is True:
        from .progress import ProgressBar

        bars: list[ProgressBar] = []

        def progress(done: int, total: int, detail: str) -> None:
            if not bars:
                bars.append(ProgressBar(total, label="nvmesim sweep"))
            bars[0].update(done, detail)
    sweep = load_spec(spec_path)
    if not force:
        check_sweep(grid_points([len(v) for v in sweep.spec.grid.values()],
                                len(next(iter(sweep.spec.zip.values()))) if sweep.spec.zip else None), 0,
                    where=str(sweep.path))
    points = expand(sweep)
    if not force:
        _check_points(sweep, points)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {str(out)!r} is a file; expected a directory (new, or a sweep's to resume)")
    try:
        (out / "points").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SweepError(f"--out {str(out)!r}: cannot create the output directory: {e.strerror}") from None
    if not os.access(out / "points", os.W_OK):
        raise SweepError(f"--out {str(out)!r}: the output directory is not writable")
    saved = _saved_points(out, points, warn or _warn)
    _check_versions(out, points, saved, allow_version_mix)
    _write_provenance(out, sweep, points, {i: h["model_version"] for i, h in saved.items()})
    todo = [p for p in points if p.index not in saved or (retry_failed and saved[p.index]["error"])]
    done = len(points) - len(todo)
    if progress:
        progress(done, len(points), "resuming" if done else "")
    if todo:
        records = _run_dask(todo, scheduler, worker_timeout, out, done, len(points)) if scheduler else \
            _run_local(todo, workers)
        for record in records:
            _save_point(out, record)
            done += 1
            if progress:
                progress(done, len(points), f"point {record['point']}")
    versions = {i: h["model_version"] for i, h in saved.items()} | {p.index: model_version() for p in todo}
    return assemble(out, points, csv=csv, provenance=_provenance(sweep, points, versions))


def _check_points(sweep: Sweep, points: list[Point]) -> None:
    """The sweep's replications, and each point's memory and work, within the guards."""
    reps = sum(p.config["sim"]["replications"] * len(p.config["allocator"]["variants"]) for p in points)
    check_sweep(len(points), reps, where=str(sweep.path))
    problems = []
    for p in points:
        try:
            check_run(config_from_dict(p.config), where=f"{sweep.path}: point {p.index} {p.params}")
        except ConfigError as e:
            problems += e.problems
    if problems:
        raise ConfigError(problems)


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, stacklevel=3)


def failed_record(point: Point, error: str) -> dict[str, Any]:
    """The record of a point that produced none itself (its worker died)."""
    return {"key": point.key, "point": point.index, "params": point.params, "error": error,
            "model_version": model_version(), "rows": [error_row(point.index, point.params, None, error)],
            "metrics": {}, "hists": [], "wall_s": None}


def _run_local(todo: list[Point], workers: int | None):
    """The points' records from a :class:`~.pool.LocalPool`: a point whose worker dies is
    recorded as failed with how it died; the others go on."""
    from .pool import LocalPool

    by_index = {p.index: p for p in todo}
    pool = LocalPool(run_point, workers or os.cpu_count() or 1)
    for o in pool.run((p.index, (p.config, p.params, p.index, p.key)) for p in todo):
        yield o.value if o.ok else failed_record(by_index[o.task], o.error or "failed")


def _run_dask(todo: list[Point], scheduler: str, worker_timeout: float, out: Path, done: int, total: int):
    """The points' records from a Dask cluster (Dask itself re-runs a task whose worker died
    on another one, and gives up with KilledWorker after a few: that point is recorded as
    failed)."""
    client = _dask_client(scheduler, worker_timeout)
    futures = {}
    try:
        futures = {client.submit(run_point, p.config, p.params, p.index, p.key): p for p in todo}
        pending = set(futures)
        while pending:
            finished, pending = _dask_wait(pending, scheduler, out, done, total)
            for f in finished:
                try:
                    record = _dask_result(f, scheduler, out, done, total)
                except SweepError:
                    raise
                except Exception as e:  # KilledWorker: the point crashed every worker it ran on
                    record = failed_record(futures[f], f"{type(e).__name__}: {e}")
                done += 1
                yield record
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    finally:
        client.close()


def _lost(scheduler: str, out: Path, done: int, total: int, e: BaseException) -> SweepError:
    reason = (str(e).splitlines() or [""])[0].rstrip(":")
    return SweepError(f"lost the Dask scheduler at {scheduler} ({type(e).__name__}: {reason}); {done} of {total} "
                      f"points saved in {out}; re-run the same command to resume")


def _dask_result(future: Any, scheduler: str, out: Path, done: int, total: int) -> dict[str, Any]:
    """A finished Dask future's record; a cancelled or unreachable one means the scheduler
    (or the connection to it) is gone."""
    from distributed.client import FuturesCancelledError

    try:
        return future.result()
    except (FuturesCancelledError, OSError, TimeoutError) as e:
        raise _lost(scheduler, out, done, total, e) from None
    except Exception as e:
        if type(e).__name__ in ("CancelledError", "CommClosedError"):
            raise _lost(scheduler, out, done, total, e) from None
        raise


def _dask_wait(pending: set, scheduler: str, out: Path, done: int, total: int):
    from distributed import wait as dwait
    from distributed.client import FuturesCancelledError

    try:
        res = dwait(list(pending), return_when="FIRST_COMPLETED")
    except (FuturesCancelledError, OSError, TimeoutError) as e:
        raise _lost(scheduler, out, done, total, e) from None
    return set(res.done), set(res.not_done)


def _saved_points(out: Path, points: list[Point], warn: Callable[[str], None]) -> dict[int, dict[str, Any]]:
    """For every point with a whole record in ``out``: its model version and whether it
    failed.  A file that is not a point record (cut short, edited, another file's bytes) is
    reported through ``warn`` and removed, so the point is computed again."""
    saved = {}
    for p in points:
        path = out / "points" / f"{p.key}.json"
        if not path.exists():
            continue
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or not {"rows", "metrics", "point"} <= set(record):
                raise ValueError("not a point record")
        except (OSError, ValueError) as e:
            warn(f"{path}: corrupt point file ({type(e).__name__}: {e}); point {p.index} {p.params} is computed "
                 f"again")
            path.unlink(missing_ok=True)
            continue
        saved[p.index] = {"model_version": record.get("model_version", "unknown"), "error": record.get("error")}
    return saved


def _check_versions(out: Path, points: list[Point], saved: Mapping[int, Mapping[str, Any]], allow_mix: bool) -> None:
    """Refuse to resume points of another model version (their numbers would be mixed with
    this version's in one frame), unless ``allow_mix``."""
    versions = {i: h["model_version"] for i, h in saved.items()}
    other = {v for v in versions.values() if v != model_version()}
    if other and not allow_mix:
        n = sum(v != model_version() for v in versions.values())
        raise SweepVersionError(
            f"{out}: {n} of {len(points)} saved points were computed by nvmesim {', '.join(sorted(other))}, and "
            f"this is {model_version()}: resuming would mix two model versions in one result. Use a new --out, "
            f"or delete {out / 'points'} to recompute, or pass --allow-version-mix to keep them (the manifest "
            f"records each point's version)")


def _provenance(sweep: Sweep, points: list[Point], versions: Mapping[int, str]) -> dict[str, Any]:
    """What produced a sweep's numbers: the spec, versions, and each point's params, key,
    root seed, model version (saved, or the one about to compute it) and effective config."""
    import importlib.metadata as md
    import platform

    libs = {}
    for lib in ("simpy", "numpy", "pandas", "pydantic", "pyarrow"):
        try:
            libs[lib] = md.version(lib)
        except md.PackageNotFoundError:
            libs[lib] = None
    return {
        "nvmesim_version": __version__, "model_version": model_version(), "python": platform.python_version(),
        "libraries": libs, "spec_file": str(sweep.path), "spec": sweep.path.read_text(),
        "points": [{"point": p.index, "params": p.params, "key": p.key, "seed": p.config["sim"]["seed"],
                    "model_version": versions.get(p.index, model_version()), "config": p.config} for p in points],
    }


def _write_provenance(out: Path, sweep: Sweep, points: list[Point], versions: Mapping[int, str]) -> None:
    """spec.yaml (+ base.yaml), manifest.json and configs.json in ``out``, before any point runs."""
    prov = _provenance(sweep, points, versions)
    _write_atomic(out / "spec.yaml", prov["spec"].encode())
    if isinstance(sweep.spec.base, str):
        base = sweep.path.parent / sweep.spec.base
        _write_atomic(out / "base.yaml", base.read_bytes())
    configs = {str(p["point"]): p.pop("config") for p in prov["points"]}
    _write_atomic(out / "manifest.json", (json.dumps(prov, indent=2, default=str) + "\n").encode())
    _write_atomic(out / "configs.json", (json.dumps(configs, indent=1, default=str) + "\n").encode())


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance stored with a sweep's output: its ``manifest.json`` (a directory) or
    a parquet file's ``nvmesim`` metadata (then with each point's config)."""
    path = Path(path)
    if path.is_dir():
        return json.loads((path / "manifest.json").read_text()) if (path / "manifest.json").exists() else None
    return parquet_provenance(str(path))


def assemble(out: Path, points: list[Point], csv: bool = False,
             provenance: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the frames from the point files, in point order, and write them (results,
    summary, hists; ``provenance`` in each parquet file's metadata); returns (results, summary)."""
    rows: list[dict] = []
    summary: list[dict] = []
    hists: list[dict] = []
    for p in points:
        path = out / "points" / f"{p.key}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        # two points may share a record (fio caps a batch above iodepth, say, so their
        # effective configs are equal): label the rows with this point
        rows += [{**row, "point": p.index, **p.params} for row in record["rows"]]
        for variant, rep, direction, kind, bins, counts in record.get("hists", []):
            head = {"point": p.index, **p.params, "variant": variant, "replication": rep, "direction": direction,
                    "kind": kind}
            hists += [{**head, "bin_ns": b, "count": c} for b, c in zip(bins, counts)]
        metrics = {v: {int(r): m for r, m in reps.items()} for v, reps in record["metrics"].items()}
        summary += summary_rows(metrics, p.params, p.index)
    results = pd.DataFrame(rows)
    summ = pd.DataFrame(summary)
    params = list(points[0].params) if points else []
    hist = pd.DataFrame(hists, columns=["point", *params, *HIST_COLUMNS[1:]])
    for name, frame in (("results", results), ("summary", summ), ("hists", hist)):
        _write_atomic(out / f"{name}.parquet", parquet_bytes(frame, provenance))
        if csv:
            _write_atomic(out / f"{name}.csv", frame.to_csv(index=False).encode())
    return results, summ
