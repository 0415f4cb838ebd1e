"""Parallel replications (issue 18, item 1): ``run(workers=N)`` runs the (variant,
replication) tasks on a LocalPool and gives what the serial loop gives, byte for byte,
apart from the wall-clock figures: documents, frames, text, errors, fio logs; a worker
that dies fails its replication only; Ctrl-C keeps the finished ones, marked partial.

No test here times anything (other tests share the machine's cores)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import signal

import pandas as pd
import pytest
from typer.testing import CliRunner

from nvmesim.api import load, run
from nvmesim.cli import app
from nvmesim.experiments import runner
from nvmesim.experiments.runner import Interrupted, default_workers

SMALL = ({"workload": {"runtime": "4ms", "ramp_time": "1ms", "bs": "16k", "iodepth": 16}}, {"sim.replications": 3})
#: the fields that carry wall-clock time or the date (everything else must be equal)
WALL = {"wall_s", "timestamp", "timestamp_ms", "time"}
CTIME = re.compile(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}")

fork_only = pytest.mark.skipif(mp.get_start_method() != "fork",
                               reason="the patched replication reaches the workers by fork")


def small():
    return load(*SMALL)


def drop_wall(x):
    """``x`` without the wall-clock and date fields, at any depth."""
    if isinstance(x, dict):
        return {k: drop_wall(v) for k, v in x.items() if k not in WALL}
    if isinstance(x, list):
        return [drop_wall(v) for v in x]
    return x


def no_ctime(text: str) -> str:
    return CTIME.sub("<ctime>", text)


@pytest.fixture(scope="module")
def both():
    """The small config run serially and on 2 workers."""
    cfg = small()
    return run(cfg, workers=1, log_dir=None), run(cfg, workers=2, log_dir=None)


def test_parallel_documents_equal_the_serial_ones(both):
    serial, par = both
    assert {v: [r.replication for r in reps] for v, reps in par.replications.items()} == \
        {"legacy": [0, 1, 2], "stack": [0, 1, 2]}
    assert not par.errors and par.partial is None
    for plus in (False, True):
        a = json.dumps(drop_wall(serial.to_json(plus=plus, timestamp=0)), sort_keys=True)
        b = json.dumps(drop_wall(par.to_json(plus=plus, timestamp=0)), sort_keys=True)
        assert a == b
    for v in serial.variants:
        assert json.dumps(serial.fio_json(v, plus=True, timestamp=0)) == json.dumps(par.fio_json(v, plus=True,
                                                                                                   timestamp=0))
    assert serial.terse() == par.terse()
    assert no_ctime(serial.text()) == no_ctime(par.text())
    assert serial.perf_report("stack") == par.perf_report("stack")


def test_parallel_frames_equal_the_serial_ones(both):
    serial, par = both
    for view in ("to_frame", "hist_frame", "summary", "deltas_frame", "overview"):
        pd.testing.assert_frame_equal(getattr(serial, view)(), getattr(par, view)(), check_exact=True, obj=view)


def test_parallel_replications_equal_the_serial_ones_field_by_field(both):
    """Every replication's data, wall time aside (so nothing is lost in the pickling)."""
    serial, par = both
    for v in serial.variants:
        for a, b in zip(serial.replications[v], par.replications[v], strict=True):
            assert (a.variant, a.replication, a.events, a.ios_simulated) == (b.variant, b.replication, b.events,
                                                                             b.ios_simulated)
            assert a.profile_ns == b.profile_ns and a.windows_ns == b.windows_ns and a.mean_depth == b.mean_depth
            assert a.pools == b.pools and a.helper_core_ns == b.helper_core_ns
            for ja, jb in zip(a.jobs, b.jobs, strict=True):
                for da, db in zip(ja.dirs(), jb.dirs()):
                    assert da.clat.counts == db.clat.counts and da.slat.counts == db.slat.counts
                    assert (da.clat.mean, da.clat.S, da.total_ios) == (db.clat.mean, db.clat.S, db.total_ios)


def _failing(real, action):
    """``run_replication`` whose stack replication 1 fails by ``action``; the others run."""

    def replicate(cfg, v, r, *args):
        if (v, r) == ("stack", 1):
            action()
        return real(cfg, v, r, *args)

    return replicate


def _raise():
    raise RuntimeError("replication that fails on purpose")


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


@fork_only
def test_a_failed_replication_reads_the_same_in_both_modes(monkeypatch):
    monkeypatch.setattr(runner, "run_replication", _failing(runner.run_replication, _raise))
    serial, par = run(small(), workers=1), run(small(), workers=2)
    assert list(serial.errors) == ["stack"] and serial.errors == par.errors
    assert serial.errors["stack"][0].startswith("replication 1: RuntimeError: replication that fails on purpose\n")
    assert [r.replication for r in par.replications["stack"]] == [0, 2]
    assert json.dumps(drop_wall(serial.to_json(plus=True, timestamp=0))) == \
        json.dumps(drop_wall(par.to_json(plus=True, timestamp=0)))


@fork_only
def test_a_killed_worker_fails_its_replication_only(monkeypatch):
    monkeypatch.setattr(runner, "run_replication", _failing(runner.run_replication, _die))
    result = run(small(), workers=2)
    assert result.errors == {"stack": ["replication 1: WorkerDied: the worker process running it killed by "
                                       "signal 9 (SIGKILL)"]}
    assert {v: [r.replication for r in reps] for v, reps in result.replications.items()} == \
        {"legacy": [0, 1, 2], "stack": [0, 2]}
    assert result.partial is None and not mp.active_children()


def test_an_interrupt_keeps_the_finished_replications_and_stops_the_workers():
    """Ctrl-C in the parent (here: from the progress callback, as the first replication
    finishes): Interrupted carries exactly what finished, marked partial; no worker is left."""
    seen = []

    def progress(v, r, n, fraction):
        seen.append((v, r, fraction))
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as e:
        run(small(), progress=progress, workers=2)
    result = e.value.result
    assert len(seen) == 1 and seen[0][2] == 1.0
    v, r, _ = seen[0]
    assert {k: [x.replication for x in reps] for k, reps in result.replications.items()} == \
        {"legacy": [r] if v == "legacy" else [], "stack": [r] if v == "stack" else []}
    counts = {k: len(reps) for k, reps in result.replications.items()}
    assert result.partial == (f"interrupted (SIGINT) after 1 of 6 replications: legacy {counts['legacy']} of 3, "
                              f"stack {counts['stack']} of 3")
    assert not mp.active_children()


def test_progress_advances_per_finished_replication():
    calls = []
    run(small(), progress=lambda v, r, n, f: calls.append((v, r, n, f)), workers=2, log_dir=None)
    assert sorted(calls) == [(v, r, 3, 1.0) for v in ("legacy", "stack") for r in range(3)]


def test_fio_logs_of_a_parallel_run_equal_the_serial_ones(tmp_path):
    logs = {"write_lat_log": "lat", "write_bw_log": "bw", "write_iops_log": "iops", "write_hist_log": "hist",
            "log_hist_msec": 1}
    cfg = load({"workload": {**SMALL[0]["workload"], **logs}}, SMALL[1])
    files = {}
    for n in (1, 2):
        d = tmp_path / f"w{n}"
        d.mkdir()
        run(cfg, workers=n, log_dir=d)
        files[n] = {p.name: p.read_bytes() for p in sorted(d.iterdir())}
    assert files[1] and files[1] == files[2]
    assert any(name.startswith("lat.stack_") for name in files[1])


def test_workers_must_be_at_least_one():
    with pytest.raises(ValueError, match="workers"):
        run(small(), workers=0)
    assert default_workers() >= 1


def test_sweep_points_run_their_replications_serially(monkeypatch):
    """A sweep's pool workers are daemonic (no processes of their own): run_point asks for 1."""
    from nvmesim.experiments import sweep

    asked = []
    real = sweep.run

    def spy(*args, **kw):
        asked.append(kw.get("workers"))
        return real(*args, **kw)

    monkeypatch.setattr(sweep, "run", spy)
    sweep.run_point(small().effective(), {}, 0, "k")
    assert asked == [1]


# ------------------------------------------------------------------ the CLI


def _cli(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def config_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("workload: {runtime: 4ms, ramp_time: 1ms, bs: 16k, iodepth: 16}\nsim: {replications: 3}\n")
    return p


def test_cli_run_with_workers_prints_what_a_serial_run_prints(config_file):
    out = {}
    for n in ("1", "2"):
        r = _cli("run", str(config_file), "-q", "--workers", n, "--output-format", "json+,normal,terse")
        assert r.exit_code == 0, r.output
        out[n] = r.stdout
    doc = {n: json.loads(s[s.index("{"):s.rindex("}") + 1]) for n, s in out.items()}
    assert drop_wall(doc["1"]) == drop_wall(doc["2"])
    assert no_ctime(re.sub(r'"(time|timestamp|timestamp_ms)" : [^\n]*', "", out["1"])) == \
        no_ctime(re.sub(r'"(time|timestamp|timestamp_ms)" : [^\n]*', "", out["2"]))


def test_cli_sensitivity_with_workers_prints_the_same_table(config_file):
    tables = []
    for n in ("1", "2"):
        r = _cli("sensitivity", str(config_file), "-q", "--workers", n, "--vary", "workload.iodepth=4,8")
        assert r.exit_code == 0, r.output
        tables.append(r.stdout)
    assert tables[0] == tables[1] and "workload.iodepth" in tables[0]


@pytest.mark.parametrize("command", ["run", "sensitivity"])
def test_cli_workers_zero_is_a_located_error(config_file, command):
    r = _cli(command, str(config_file), "-q", "--workers", "0")
    assert r.exit_code == 2
    assert "--workers" in r.output
