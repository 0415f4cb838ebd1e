"""fio's logs (``write_lat_log``, ``write_bw_log``, ``write_iops_log``, ``write_hist_log``;
``nvmesim/stats/iologs.py``), checked against real fio and fio's own tools:

* the names and the column layout of every log type equal those real fio 3.33 writes
  (``tests/data/fio-logs-3.33``, from ``make_fio_logs_fixture.sh``; and live, when fio is
  installed);
* a per-I/O log has one line per I/O accounted in the window: rebuilt into fio's
  histogram, its values give exactly the run's slat/clat/lat statistics;
* per-I/O bw and iops logs make fio's rate statistics per I/O, as real fio's do
  (``bytes * 1e6 / clat`` and 1 -- both rules read off real fio's own files);
* Debian's ``fiologparser_hist.py`` reads the histogram log (1856 bins, and coarser),
  and its percentiles agree with nvmesim's clat percentiles;
* ``fio2gnuplot`` reads the bw and iops logs, and its min/max/mean/count are the run's
  reported bandwidth and IOPS samples;
* averaged logs (``log_avg_msec``, ``log_max_value``) against a naive reference computed
  from the per-I/O log of the same simulation;
* bad log options are located errors (exit 2).
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess
import importlib.util
import os
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from helpers import DATA, cli_in_process, tiny_config
from nvmesim.config import ConfigError, Workload, config_from_dict
from nvmesim.config.fio_options import FioOptionError, workload_from_fio
from nvmesim.experiments.runner import run
from nvmesim.stats.hist import LatencyHist, percentile_key

REAL = DATA / "fio-logs-3.33"
MAKE_REAL = DATA / "make_fio_logs_fixture.sh"
FIO = shutil.which("fio")
FIO2GNUPLOT = shutil.which("fio2gnuplot")
HIST_TOOL_GZ = Path("/usr/share/doc/fio/fiologparser_hist.py.gz")
#: the per-I/O job of the real fixture, as nvmesim's workload (the same options)
PERIO = {"ioengine": "libaio", "rw": "randrw", "iodepth": 4, "write_lat_log": "perio", "write_bw_log": "perio",
         "write_iops_log": "perio", "write_hist_log": "perio", "log_hist_msec": 5}
#: the averaged job of the real fixture
AVG = {"log_avg_msec": 50, "write_lat_log": "avg", "write_bw_log": "avg", "write_iops_log": "avg",
       "write_hist_log": "avg", "log_hist_msec": 50, "log_hist_coarseness": 2}
ONE = {"allocator": {"variants": ["stack"]}, "sim": {"replications": 1}}


def read_log(path: Path) -> list[list[int]]:
    """A fio log's rows, checking fio's exact line syntax (``%lu, %ld, ...\\n``)."""
    text = path.read_text()
    assert text == "" or text.endswith("\n"), path
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split(", ")
        assert all(f.lstrip("-").isdigit() for f in fields), f"{path}:{n}: {line[:80]!r}"
        rows.append([int(f) for f in fields])
    return rows


def simulate(tmp: Path, workload: dict, **sections) -> tuple[Path, object]:
    """Run a tiny config with ``workload`` on top, its logs into ``tmp``."""
    sections = {**ONE, **sections}
    cfg = tiny_config(workload, **sections)
    result = run(cfg, log_dir=tmp)
    assert not result.errors, result.errors
    return tmp, result


@pytest.fixture(scope="module")
def perio(tmp_path_factory):
    """The per-I/O job: 20 ms after a 2 ms ramp, two replications (only the first logs)."""
    return simulate(tmp_path_factory.mktemp("perio"), PERIO, sim={"replications": 2})


@pytest.fixture(scope="module")
def avg(tmp_path_factory):
    """The averaged job (300 ms, like the real fixture's)."""
    return simulate(tmp_path_factory.mktemp("avg"), {"runtime": "300ms", **AVG})


@pytest.fixture(scope="module", params=["committed", "live"])
def real(request, tmp_path_factory) -> Path:
    """Real fio 3.33's logs: the committed ones, and a fresh run when fio is here."""
    if request.param == "committed":
        return REAL
    if FIO is None:
        pytest.skip("fio is not installed")
    out = tmp_path_factory.mktemp("real")
    proc = subprocess.run(["sh", str(MAKE_REAL), str(out)], capture_output=True, text=True, timeout=120)
    if proc.returncode:
        pytest.skip(f"real fio could not run here: {proc.stderr.strip()[-200:]}")
    return out


def rep0(result):
    """Replication 0's job (the one that wrote the logs)."""
    (job,) = result.replications["stack"][0].jobs
    return job


# ---------------------------------------------------------------------------
# names and layout against real fio


def _kinds(directory: Path, prefix: str) -> dict[str, Path]:
    """``{kind: path}`` of the ``<prefix>_<kind>.<n>.log`` files in ``directory``."""
    out = {}
    for p in directory.glob(f"{prefix}_*.log"):
        kind, num, _ = p.name[len(prefix) + 1:].rsplit(".", 2)
        out[kind] = p
        assert num.isdigit()
    return out


def test_names_and_layout_are_real_fios(real, perio, avg):
    """Every log type, per I/O and averaged: the same files (types), the same number of
    columns and the same constant columns as real fio's (bs in per-I/O lines, 0 in
    averaged ones; the priority column 0; the histogram's ``time, ddir, bs`` + 1856 bins,
    or 464 with coarseness 2)."""
    for prefix, (ours, _) in (("perio", perio), ("avg", avg)):
        theirs_files, ours_files = _kinds(real, prefix), _kinds(ours, prefix)
        assert sorted(ours_files) == sorted(theirs_files) == ["bw", "clat", "clat_hist", "iops", "lat", "slat"]
        for kind in theirs_files:
            theirs, mine = read_log(theirs_files[kind]), read_log(ours_files[kind])
            assert theirs and mine, (prefix, kind)
            widths = {len(r) for r in theirs}
            assert {len(r) for r in mine} == widths, (prefix, kind)
            if kind == "clat_hist":
                assert widths == {3 + (1856 if prefix == "perio" else 464)}
                assert {r[2] for r in mine} == {r[2] for r in theirs} == {4096}
                assert {r[1] for r in mine} <= {0, 1}
                continue
            assert widths == {5}
            # block size: the I/O's per I/O, 0 in an averaged window; priority 0
            assert {r[3] for r in mine} == {r[3] for r in theirs} == ({4096} if prefix == "perio" else {0})
            assert {r[4] for r in mine} == {r[4] for r in theirs} == {0}
            assert {r[2] for r in mine} <= {0, 1}
            times = [r[0] for r in mine]
            assert times == sorted(times) and times[0] >= 0
    # the job's number in the name is fio's thread_number: the fixture's second job is .2
    assert {p.name for p in REAL.glob("avg_*.log")} == {f"avg_{k}.2.log" for k in _kinds(REAL, "avg")}


def test_real_fios_rules_hold_in_its_files(real):
    """What the tests below expect of nvmesim, read off real fio: one line per I/O in each
    per-I/O log, per direction (clat N of its JSON), bw = bytes * 1e6 / clat_ns, and the
    per-I/O iops log making iops_mean 1 with a sample per I/O."""
    doc = json.loads((real / "fio.json").read_text())
    (job,) = [j for j in doc["jobs"] if j["jobname"] == "perio"]
    clat, bw, iops = (read_log(real / f"perio_{k}.1.log") for k in ("clat", "bw", "iops"))
    for ddir, name in enumerate(("read", "write")):
        d = job[name]
        assert sum(r[2] == ddir for r in clat) == d["clat_ns"]["N"] == d["total_ios"] > 0
        assert d["iops_mean"] == 1.0 and d["iops_samples"] == d["bw_samples"] == d["total_ios"]
    assert [b[1] for b in bw] == [4096 * 1_000_000 // c[1] for c in clat]
    assert {r[1] for r in iops} == {1}
    # around the ramp: nothing of the ramp is logged; times count from its end (the epoch)
    (job,) = [j for j in doc["jobs"] if j["jobname"] == "ramp"]
    for kind in ("lat", "clat", "slat"):
        rows = read_log(real / f"ramp_{kind}.3.log")
        assert len(rows) == job["read"][f"{kind}_ns"]["N"] > 0, kind
        assert rows[0][0] == 0 and max(r[0] for r in rows) <= job["job_runtime"]


# ---------------------------------------------------------------------------
# per-I/O logs


def _hist_of(values: list[int]) -> LatencyHist:
    h = LatencyHist()
    for v in values:
        h.add(v)
    return h


def test_per_io_logs_hold_every_accounted_io(perio):
    """lat/clat/slat logs: one line per I/O accounted (after the ramp), per direction, whose
    values rebuild the run's histograms and statistics exactly; times within the job's
    runtime.  Only replication 0 writes (replication 1's counts differ)."""
    directory, result = perio
    job = rep0(result)
    other = result.replications["stack"][1].jobs[0]
    assert (other.read.clat.n, other.write.clat.n) != (job.read.clat.n, job.write.clat.n)
    for kind in ("lat", "clat", "slat"):
        rows = read_log(directory / f"perio_{kind}.1.log")
        for ddir, d in enumerate((job.read, job.write)):
            want = getattr(d, kind)
            got = _hist_of([r[1] for r in rows if r[2] == ddir])
            assert want.n > 0 and got.n == want.n, (kind, ddir)
            assert got.counts == want.counts and (got.min, got.max) == (want.min, want.max)
            assert got.mean == want.mean and got.S == want.S  # the same samples in the same order
        assert max(r[0] for r in rows) <= job.job_runtime_ms


def test_per_io_rate_logs_make_the_rates_per_io(perio):
    """log_avg_msec=0: the bw log is bytes * 1e6 / clat per I/O and the iops log 1 per I/O
    (line for line with the clat log), and the reported bandwidth and IOPS statistics are
    those samples (iops_mean 1, a sample per I/O) -- real fio's rule above."""
    directory, result = perio
    clat, bw, iops = (read_log(directory / f"perio_{k}.1.log") for k in ("clat", "bw", "iops"))
    assert [b[1] for b in bw] == [4096 * 1_000_000 // c[1] for c in clat]
    assert [(r[0], r[2]) for r in iops] == [(c[0], c[2]) for c in clat] and {r[1] for r in iops} == {1}
    job = rep0(result)
    for ddir, d in enumerate((job.read, job.write)):
        rates = [b[1] for b in bw if b[2] == ddir]
        assert d.iops_stat.n == d.bw_stat.n == d.clat.n == len(rates)
        assert d.iops_stat.mean == 1.0
        assert (d.bw_stat.min, d.bw_stat.max) == (min(rates), max(rates))


def test_logs_change_nothing_simulated(tmp_path):
    """The same run with and without logs: identical latencies and counts (a bw/iops log
    changes only how fio samples its rates)."""
    plain = run(tiny_config(PERIO | {"write_bw_log": None, "write_iops_log": None}, **ONE), log_dir=None)
    _, logged = simulate(tmp_path, PERIO)
    a, b = rep0(plain), rep0(logged)
    for x, y in ((a.read, b.read), (a.write, b.write)):
        assert (x.clat.counts, x.lat.counts, x.slat.counts, x.io_bytes) == (y.clat.counts, y.lat.counts,
                                                                          y.slat.counts, y.io_bytes)


#: the model's other paths: io_uring beyond the tags (io-wq), SQPOLL (no slat), polled
#: completions with two jobs, libaio with batches
PATHS = {
    "iowq": ({"iodepth": 256, "iodepth_batch_submit": 32, "iodepth_batch_complete_min": 32}, {"queue_depth": 64}),
    "sqpoll": ({"sqthread_poll": True, "iodepth": 64, "iodepth_batch_submit": 16, "cpus_allowed": "0"}, {}),
    "hipri-2jobs": ({"hipri": True, "iodepth": 16, "iodepth_batch_submit": 4, "numjobs": 2}, {"poll_queues": 1}),
    "libaio-batch": ({"ioengine": "libaio", "iodepth": 64, "iodepth_batch_submit": 16,
                      "iodepth_batch_complete_min": 8}, {}),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_logs_what_it_accounts(tmp_path, path):
    """On each of the model's paths, every job's lat/clat/slat logs hold exactly its
    accounted samples (SQPOLL: no slat, as fio >= 3.34 records none), and the
    simulation is the one without logs."""
    workload, driver = PATHS[path]
    sections = {**ONE, **({"driver": driver} if driver else {})}
    plain = run(tiny_config(workload, **sections), log_dir=None)
    _, logged = simulate(tmp_path, workload | {"write_lat_log": "x", "write_hist_log": "x", "log_hist_msec": 2},
                         **sections)
    for j, (a, b) in enumerate(zip(plain.replications["stack"][0].jobs, logged.replications["stack"][0].jobs)):
        for kind in ("lat", "clat", "slat"):
            rows = read_log(tmp_path / f"x_{kind}.{j + 1}.log")
            got = _hist_of([r[1] for r in rows])
            want = getattr(b.read, kind)
            assert got.counts == want.counts == getattr(a.read, kind).counts, (path, kind)
        assert (path == "sqpoll") == (b.read.slat.n == 0)
        assert b.read.clat.n > 0 and a.read.io_bytes == b.read.io_bytes


# ---------------------------------------------------------------------------
# the histogram log, through fiologparser_hist.py


@pytest.fixture(scope="module")
def hist_tool(tmp_path_factory) -> Path:
    """Debian's fiologparser_hist.py, gunzipped (it needs numpy and pandas)."""
    if not HIST_TOOL_GZ.exists():
        pytest.skip("Debian's fio tools are not installed")
    pytest.importorskip("pandas")
    tool = tmp_path_factory.mktemp("tool") / "fiologparser_hist.py"
    tool.write_bytes(gzip.decompress(HIST_TOOL_GZ.read_bytes()))
    return tool


def _parse_hist_tool(out: str) -> list[dict[str, float]]:
    lines = out.strip().splitlines()
    head = [h.strip() for h in lines[0].split(",")]
    return [dict(zip(head, (float(x) for x in line.split(",")))) for line in lines[1:]]


@pytest.mark.parametrize("coarseness", [0, 2])
def test_fiologparser_hist_reads_the_hist_log(tmp_path, hist_tool, coarseness):
    """The tool reads nvmesim's clat histogram log (it infers the bin layout from the
    column count: fio's 1856 bins, or 464 at coarseness 2); over the whole run its sample
    count is the log's (every I/O but those of the last, unwritten window), and its min,
    median, 90/95/99th percentiles and max agree with nvmesim's own clat figures to
    within a bucket (1/64 of the value, or 1/16 at coarseness 2) plus the missing tail."""
    directory, result = simulate(tmp_path, {"runtime": "100ms", "write_hist_log": "h", "log_hist_msec": 5,
                                            "log_hist_coarseness": coarseness})
    path = directory / "h_clat_hist.1.log"
    rows = read_log(path)
    logged = sum(sum(r[3:]) for r in rows)
    clat = rep0(result).read.clat
    assert 0.9 * clat.n < logged < clat.n  # the last window (<= 5 of 100 ms) is not written, as in fio
    proc = subprocess.run([sys.executable, str(hist_tool), "--noweight", "-i", str(10**9),
                           "--percentiles", "90:95:99", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (row,) = _parse_hist_tool(proc.stdout)
    assert row["samples"] == logged
    want = clat.percentiles([50, 90, 95, 99])
    width = 1 / 64 * (1 << coarseness)
    for col, p in (("median", 50), ("90%", 90), ("95%", 95), ("99%", 99)):
        assert row[col] == pytest.approx(want[percentile_key(p)], rel=width + 0.02), col
    assert row["min"] == pytest.approx(clat.min, rel=width) and row["max"] == pytest.approx(clat.max, rel=width)
    # its default, time-weighted mode reads it too: one row per second of the run at most
    proc = subprocess.run([sys.executable, str(hist_tool), str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 1 <= len(_parse_hist_tool(proc.stdout)) <= 2


def test_hist_log_windows(tmp_path):
    """log_hist_msec: entries per direction every N ms of the job (counts since the last
    entry); without log_hist_msec fio writes an empty file; with clat_percentiles off,
    fio's histogram is empty, so are the entries."""
    directory, result = simulate(tmp_path, {"runtime": "60ms", "rw": "randrw", "write_hist_log": "h",
                                            "log_hist_msec": 10})
    rows = read_log(directory / "h_clat_hist.1.log")
    job = rep0(result)
    for ddir, d in enumerate((job.read, job.write)):
        times = [r[0] for r in rows if r[1] == ddir]
        assert len(times) == job.job_runtime_ms // 10 or len(times) == job.job_runtime_ms // 10 - 1
        assert all(b - a in (10, 11) for a, b in zip(times, times[1:])), times  # drift kept: N ms apart
        total = [sum(c) for c in zip(*(r[3:] for r in rows if r[1] == ddir))]
        assert all(t <= c for t, c in zip(total, d.clat.counts))  # a prefix of the run's clat histogram
    for sub in ("none", "off"):
        (tmp_path / sub).mkdir()
    directory, _ = simulate(tmp_path / "none", {"write_hist_log": "h"})
    assert (directory / "h_clat_hist.1.log").read_text() == ""
    directory, _ = simulate(tmp_path / "off", {"write_hist_log": "h", "log_hist_msec": 5, "clat_percentiles": False})
    rows = read_log(directory / "h_clat_hist.1.log")
    assert rows and all(sum(r[3:]) == 0 for r in rows)


# ---------------------------------------------------------------------------
# averaged logs: fio2gnuplot, and a naive reference


def _fio2gnuplot(directory: Path, flag: str) -> dict[str, float]:
    # Debian's fio2gnuplot imports six, which its package does not depend on (nor a fresh
    # venv has): run it with this Python and a one-line stand-in, as run_clat2csv does
    env = dict(os.environ)
    if importlib.util.find_spec("six") is None:
        shim = directory.parent / f"{directory.name}-six"
        shim.mkdir(exist_ok=True)
        (shim / "six").mkdir(exist_ok=True)
        (shim / "six" / "__init__.py").write_text("def iteritems(d, **kw):\n    return iter(d.items(**kw))\n")
        (shim / "six" / "moves.py").write_text("map, range, zip = map, range, zip\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, FIO2GNUPLOT, flag], cwd=directory, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("mygraph", "mymath", "result", "result.global", "result.min", "result.max", "result.average"):
        assert (directory / name).exists(), name
    return {k: float(v) for k, v in (line.split("=") for line in (directory / "result.global").read_text().split())}


@pytest.mark.skipif(FIO2GNUPLOT is None, reason="fio2gnuplot is not installed")
def test_fio2gnuplot_reads_the_bw_and_iops_logs(tmp_path, avg):
    """fio2gnuplot -b / -i parse the averaged bw and iops logs (exit 0, their outputs); the
    minimum, maximum, mean and count it computes are the run's reported bw and IOPS
    sample statistics (each window's entry is one of fio's rate samples)."""
    directory, result = avg
    d = rep0(result).read
    for kind, flag, stat in (("bw", "-b", d.bw_stat), ("iops", "-i", d.iops_stat)):
        work = tmp_path / kind
        work.mkdir()
        shutil.copy(directory / f"avg_{kind}.1.log", work)  # (it reads every matching log under its cwd)
        g = _fio2gnuplot(work, flag)
        assert g["values_count"] == stat.n >= 5 and g["disks_count"] == 1
        assert (g["min"], g["max"]) == (stat.min, stat.max)
        assert g["avg"] == pytest.approx(stat.mean, abs=0.006)


def _naive_windows(rows: list[list[int]], n: int, end: int, use_max: bool) -> list[tuple[int, int, int]]:
    """fio's averaging of a latency log, from its per-I/O lines: per direction, the first
    sample N ms past the window's start closes it (itself included) with the window's mean
    rounded, or its max; the next window starts at the last multiple of N; what is left
    is written at the job's end."""
    out = []
    start, vals = [0, 0], [[], []]
    for t, v, ddir, _, _ in rows:
        vals[ddir].append(v)
        if t >= start[ddir] + n:
            w = vals[ddir]
            out.append((t, max(w) if use_max else Fraction(sum(w), len(w)), ddir))
            vals[ddir], start[ddir] = [], t - t % n
    for ddir in (0, 1):
        if vals[ddir]:
            w = vals[ddir]
            out.append((end, max(w) if use_max else Fraction(sum(w), len(w)), ddir))
    return out


@pytest.mark.parametrize("use_max", [False, True])
def test_averaged_latency_logs(tmp_path, use_max):
    """log_avg_msec (and log_max_value): the averaged lat/clat/slat logs against the naive
    reference applied to the per-I/O logs of the same simulation."""
    base = {"runtime": "80ms", "rw": "randrw", "iodepth": 4}
    for sub in ("per", "avg"):
        (tmp_path / sub).mkdir()
    per, _ = simulate(tmp_path / "per", base | {"write_lat_log": "x"})
    avg_dir, result = simulate(tmp_path / "avg", base | {"write_lat_log": "x", "log_avg_msec": 10,
                                                         "log_max_value": use_max})
    end = rep0(result).job_runtime_ms
    for kind in ("lat", "clat", "slat"):
        want = _naive_windows(read_log(per / f"x_{kind}.1.log"), 10, end, use_max)
        got = [(r[0], r[1], r[2]) for r in read_log(avg_dir / f"x_{kind}.1.log")]
        assert [(t, d) for t, _, d in got] == [(t, d) for t, _, d in want]
        for (_, value, _), (_, exact, _) in zip(got, want):
            # the mean + 0.5, truncated; fio's running mean (Welford, in double) is within
            # rounding of the exact one, which matters only right at a half
            if use_max or abs(exact - math.floor(exact) - Fraction(1, 2)) > Fraction(1, 10**6):
                assert value == math.floor(exact + Fraction(1, 2)), kind
            else:
                assert value in (math.floor(exact), math.ceil(exact)), kind
        assert {r[3] for r in read_log(avg_dir / f"x_{kind}.1.log")} == {0}


# ---------------------------------------------------------------------------
# names, directories, replications, variants, errors


def test_names_jobs_and_variants(tmp_path):
    """numjobs: one file per job (fio's thread_number from 1); several variants: the
    variant after the prefix; an empty prefix (a bare option) is the job's name; nothing
    else is written."""
    cfg = tiny_config({"numjobs": 2, "write_lat_log": "", "write_iops_log": "io"},
                      allocator={"variants": ["legacy", "stack"]}, sim={"replications": 1})
    result = run(cfg, log_dir=tmp_path)
    assert not result.errors
    want = {f"job.{v}_{k}.{n}.log" for v in ("legacy", "stack") for k in ("lat", "slat", "clat") for n in (1, 2)}
    want |= {f"io.{v}_iops.{n}.log" for v in ("legacy", "stack") for n in (1, 2)}
    assert {p.name for p in tmp_path.iterdir()} == want
    job2 = result.replications["stack"][0].jobs[1]
    assert len(read_log(tmp_path / "job.stack_clat.2.log")) == job2.read.clat.n


def test_no_logs_no_files(tmp_path, monkeypatch):
    """Without log options nothing is written; with them and log_dir=None (sweeps, fits)
    nothing either, and the rate statistics still follow fio's rule."""
    monkeypatch.chdir(tmp_path)
    run(tiny_config(**ONE))
    result = run(tiny_config({"write_iops_log": "i"}, **ONE), log_dir=None)
    assert list(tmp_path.iterdir()) == []
    assert rep0(result).read.iops_stat.mean == 1.0


def test_cli_writes_into_the_current_directory(tmp_path, monkeypatch):
    """`nvmesim run` puts the logs where fio would: relative to the current directory, a
    prefix with a directory inside it."""
    (tmp_path / "logs").mkdir()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("workload:\n  runtime: 5ms\n  write_lat_log: logs/q\n  write_bw_log: true\n"
                   "allocator:\n  variants: [stack]\nsim:\n  replications: 1\n")
    monkeypatch.chdir(tmp_path)
    proc = cli_in_process("run", str(cfg), "-q", "--output-format", "json", "--variant", "stack")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["q_clat.1.log", "q_lat.1.log", "q_slat.1.log"]
    assert (tmp_path / "job_bw.1.log").stat().st_size > 0
    job = json.loads(proc.stdout)["jobs"][0]
    assert job["job options"]["write_lat_log"] == "logs/q"


@pytest.mark.parametrize("sets, where", [
    (["workload.write_lat_log=nodir/x"], "workload.write_lat_log"),
    (["workload.write_lat_log=x", "workload.log_offset=1"], "workload.log_offset"),
    (["workload.write_hist_log=x", "workload.log_hist_coarseness=7"], "workload.log_hist_coarseness"),
    (["workload.log_avg_msec=-5"], "workload.log_avg_msec"),
])
def test_bad_log_options_are_located_errors(tmp_path, monkeypatch, sets, where):
    monkeypatch.chdir(tmp_path)
    args = ["run", str(Path(__file__).parent.parent / "configs" / "qd1.yaml"), "-q"]
    for s in sets:
        args += ["--set", s]
    proc = cli_in_process(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert where in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # refused before anything ran


def test_log_avg_msec_sets_the_rate_sampling_reproducibly(tmp_path):
    """An averaged bw/iops log: bw_avg_time and iops_avg_time become log_avg_msec unless
    given (fio's add_job); the effective config, where every field is given, runs the
    same (sweeps and stored results rebuild configs from it)."""
    cfg = tiny_config({"runtime": "100ms", "write_bw_log": "b", "write_iops_log": "i", "log_avg_msec": 10,
                       "iops_avg_time": 50}, **ONE)
    w = cfg.workload
    assert (w.bw_avg_time, w.iops_avg_time) == (10, 50)
    again = config_from_dict(cfg.effective())
    assert again.workload == w
    a, b = (rep0(run(c, log_dir=None)).read for c in (cfg, again))
    assert a.bw_stat.n == b.bw_stat.n and a.iops_stat.n == b.iops_stat.n
    assert 8 <= a.bw_stat.n <= 10 and 1 <= a.iops_stat.n <= 2
    assert Workload(write_bw_log="b").bw_avg_time == Workload().bw_avg_time == 500


def test_missing_directory_is_checked_before_running(tmp_path):
    with pytest.raises(ConfigError, match=r"workload.write_bw_log: cannot write .*nodir"):
        run(tiny_config({"write_bw_log": "nodir/b"}, **ONE), log_dir=tmp_path)


def test_fio_job_options_read_as_log_fields():
    """fio's own option echo (the real fixture's) reads as the same workload fields; a bare
    option is the job's name; options nvmesim cannot honour are refused by name."""
    doc = json.loads((REAL / "fio.json").read_text())
    for job in doc["jobs"]:
        opts = job["job options"]
        w = Workload.model_validate(workload_from_fio({**opts, "direct": "1"}), context={"text": True})
        for option in ("write_lat_log", "write_bw_log", "write_iops_log", "write_hist_log"):
            assert getattr(w, option) == opts.get(option)
        assert w.write_lat_log == job["jobname"]
        assert (w.log_avg_msec, w.log_hist_msec) == (int(opts.get("log_avg_msec", 0)), int(opts.get("log_hist_msec", 0)))
    bare = workload_from_fio({"direct": "1", "write_lat_log": None, "write_bw_log": ""})
    assert (bare["write_lat_log"], bare["write_bw_log"]) == ("", "")
    with pytest.raises(FioOptionError, match="per_job_logs"):
        workload_from_fio({"direct": "1", "per_job_logs": "0"})
    with pytest.raises(ValueError, match="offsets"):
        Workload(**workload_from_fio({"direct": "1", "log_offset": "1"}))
