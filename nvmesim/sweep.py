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

    points/<key>.json    one per finished point (key = hash of its effective config, seed included)
    results.parquet      raw rows, one per point x variant x replication x direction
    summary.parquet      per point x variant x metric: mean, 95% CI, paired delta vs baseline

Re-running a sweep skips points whose file exists, so an interrupted sweep resumes; a
point that fails records its error and the sweep goes on.  The same seeds give the same
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
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .config import ConfigError, apply_overrides, config_from_dict


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
        for name, values in {**self.grid, **self.zip}.items():
            if not values:
                raise ValueError(f"axis {name!r} has no values")
        return self


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its index, the swept values, and its full config as data."""

    index: int
    params: dict[str, Any]
    config: dict[str, Any]  # effective config (defaults filled in)
    key: str


def _set_joint(overrides: dict[str, Any], name: str, value: Any) -> None:
    for path in name.split("+"):
        overrides[path] = value


def load_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Read and validate a sweep file; errors are located ``file: path: problem``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror}"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError([f"{path}{':' + str(mark.line + 1) if mark else ''}: not valid YAML"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with base, set, grid, zip, variants, replications"])
    try:
        return SweepSpec.model_validate(data), path.parent
    except ValidationError as e:
        raise ConfigError([f"{path}: {'.'.join(map(str, err['loc'])) or '(top)'}: {err['msg']}"
                           for err in e.errors()]) from None


def expand(spec: SweepSpec, base_dir: Path = Path("."), source: str = "<sweep>") -> list[Point]:
    """Every point of the sweep, validated before anything runs."""
    if isinstance(spec.base, str):
        base_path = (base_dir / spec.base)
        try:
            base = yaml.safe_load(base_path.read_text()) or {}
        except OSError as e:
            raise ConfigError([f"{source}: base: cannot read {base_path}: {e.strerror}"]) from None
        base_source = str(base_path)
    else:
        base, base_source = dict(spec.base), f"{source}: base"
    fixed = dict(spec.set)
    if spec.variants is not None:
        fixed["allocator.variants"] = spec.variants
    if spec.replications is not None:
        fixed["sim.replications"] = spec.replications
    grid_names = list(spec.grid)
    grid_values = [spec.grid[n] for n in grid_names]
    zip_names = list(spec.zip)
    zip_rows = list(zip(*[spec.zip[n] for n in zip_names])) if zip_names else [()]
    points = []
    problems = []
    for combo in itertools.product(*grid_values) if grid_names else [()]:
        for zrow in zip_rows:
            params = dict(zip(grid_names, combo)) | dict(zip(zip_names, zrow))
            overrides = dict(fixed)
            for name, value in params.items():
                _set_joint(overrides, name, value)
            try:
                cfg = config_from_dict(apply_overrides(base, overrides), base_source)
            except ConfigError as e:
                problems += [f"point {params}: {p}" for p in e.problems]
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
    from .api import run
    from .frames import point_metrics, results_frame

    t0 = time.perf_counter()
    record: dict[str, Any] = {"key": key, "point": index, "params": params, "error": None}
    try:
        result = run(config_from_dict(config))
        rows = results_frame(result, params, index).to_dict("records")
        record["rows"] = rows
        record["metrics"] = point_metrics(result)
        errs = [e for v in result.errors.values() for e in v]
        if errs:
            record["error"] = errs[0]
    except Exception as e:  # recorded; the sweep goes on
        record["rows"] = [{"point": index, **params, "variant": None, "replication": -1, "direction": None,
                           "error": f"{type(e).__name__}: {e}"}]
        record["metrics"] = {}
        record["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}"
    record["wall_s"] = time.perf_counter() - t0
    return record


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that it either exists whole or not at all (Ctrl-C, SIGKILL)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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


def _executor(workers: int | None, scheduler: str | None):
    """A concurrent.futures-style executor: local processes, or a Dask client."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeError("--scheduler needs Dask: pip install 'nvmesim[distributed]'") from None
        try:
            return Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise RuntimeError(f"--scheduler: cannot reach the Dask scheduler at {scheduler}: {e}") from None
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)


Progress = Callable[[int, int, str], None]  # (done, total, detail)


def run_sweep(
    spec_path: str | Path,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | bool | None = None,
    csv: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) a sweep into ``out``; returns (results, summary) frames.
    ``progress=True`` shows a progress bar (stderr, or live in a notebook)."""
    if progress is True:
        from .progress import ProgressBar

        bars: list[ProgressBar] = []

        def progress(done: int, total: int, detail: str) -> None:
            if not bars:
                bars.append(ProgressBar(total, label="nvmesim sweep"))
            bars[0].update(done, detail)
    spec, base_dir = load_spec(spec_path)
    points = expand(spec, base_dir, str(spec_path))
    out = Path(out)
    (out / "points").mkdir(parents=True, exist_ok=True)
    todo = [p for p in points if not (out / "points" / f"{p.key}.json").exists()]
    done = len(points) - len(todo)
    if progress:
        progress(done, len(points), "resuming" if done else "")
    if todo:
        ex = _executor(workers, scheduler)
        try:
            futures = {ex.submit(run_point, p.config, p.params, p.index, p.key): p for p in todo}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED) if not scheduler else \
                    _dask_wait(pending)
                for f in finished:
                    record = f.result()
                    _save_point(out, record)
                    done += 1
                    if progress:
                        progress(done, len(points), f"point {record['point']}")
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        finally:
            if scheduler:
                ex.close()
            else:
                ex.shutdown(wait=False, cancel_futures=True)
    return assemble(out, points, csv=csv)


def _dask_wait(pending: set):
    from distributed import wait as dwait

    res = dwait(list(pending), return_when="FIRST_COMPLETED")
    return set(res.done), set(res.not_done)


def assemble(out: Path, points: list[Point], csv: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the two frames from the point files, in point order, and write them."""
    from .frames import summary_rows

    rows: list[dict] = []
    summary: list[dict] = []
    for p in points:
        path = out / "points" / f"{p.key}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        # two points may share a record (fio caps a batch above iodepth, say, so their
        # effective configs are equal): label the rows with this point
        rows += [{**row, "point": p.index, **p.params} for row in record["rows"]]
        summary += summary_rows(record["metrics"], p.params, p.index)
    results = pd.DataFrame(rows)
    summ = pd.DataFrame(summary)
    for name, frame in (("results", results), ("summary", summ)):
        buf = frame.to_parquet(index=False)
        _write_atomic(out / f"{name}.parquet", buf)
        if csv:
            _write_atomic(out / f"{name}.csv", frame.to_csv(index=False).encode())
    return results, summ
