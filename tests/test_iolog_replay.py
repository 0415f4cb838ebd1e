"""fio's read_iolog as a workload (config/iolog.py, sim/replay.py), against real fio 3.33.

The oracle is real fio: tests/data/fio-iolog/ holds logs fio wrote (write_iolog, v3;
v2 derived by dropping the timestamps) and fio's own JSON output replaying each of
them (make_iolog_fixture.sh).  A simulated replay must issue the same I/Os per
direction with the same bytes; with timestamps it must take as long as the log says,
and with replay_no_stall it must be the plain job of the same I/Os.
"""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from helpers import DATA
from nvmesim.api import load
from nvmesim.config import ConfigError
from nvmesim.config.iolog import IOLOG_V3, READ, IologError, IologReader, scan
from nvmesim.sim.model import run_replication

LOGS = DATA / "fio-iolog"
FIO = "/usr/bin/fio"


def fio_replay(name: str) -> dict:
    """The job of real fio's JSON output replaying ``name`` (make_iolog_fixture.sh)."""
    return json.loads((LOGS / f"replay-{name}.json").read_text())["jobs"][0]


def log_lines(name: str) -> list[list[str]]:
    """A log's lines after its header, split into fields (an independent reading)."""
    return [ln.split() for ln in (LOGS / f"{name}.log").read_text().splitlines()[1:] if ln.strip()]


def replay_cfg(log: str | Path, *, noise: bool = True, preset: str = "optane", **workload):
    w = {"read_iolog": str(log), "replay_redirect": "nvme0n1", **workload}
    return load({"workload": w, "sim": {"replications": 1}, "allocator": {"variants": ["legacy"]},
                 "host": {"noise": {"enabled": noise}}, "device": {"preset": preset}})


def one_job(cfg):
    rep = run_replication(cfg, "legacy", 0)
    return rep, rep.jobs[0]


# ---- the parser, against fio's own replay --------------------------------------------

@pytest.mark.parametrize("name", ["randrw.v3", "randrw.v2", "paced.v3", "twofiles.v3"])
def test_scan_counts_what_fio_replays(name: str) -> None:
    s = scan(str(LOGS / f"{name}.log"))
    job = fio_replay(name)
    assert s.version == int(name[-1])
    assert s.ios == (job["write"]["total_ios"], job["read"]["total_ios"])
    assert s.bytes == (job["write"]["io_bytes"], job["read"]["io_bytes"])
    assert sum(s.ios) > 0
    # the files as the log adds them
    adds = [f[-2] for f in log_lines(name) if f[-1] == "add"]
    assert list(s.files) == adds


def test_v2_and_v3_give_the_same_entries() -> None:
    v3 = [e[2:] for e in IologReader(str(LOGS / "randrw.v3.log"))]
    v2 = [e[2:] for e in IologReader(str(LOGS / "randrw.v2.log"))]
    assert v2 == v3
    times = [e[1] for e in IologReader(str(LOGS / "randrw.v3.log"))]
    assert times == [int(f[0]) for f in log_lines("randrw.v3")]
    assert all(e[1] == -1 for e in IologReader(str(LOGS / "randrw.v2.log")))


def test_reader_streams(tmp_path: Path) -> None:
    """The log is read a line at a time: a bad line far down does not stop the first
    entries, and a long log is read in constant memory."""
    body = (LOGS / "randrw.v3.log").read_text().splitlines()
    bad = tmp_path / "bad.log"
    bad.write_text("\n".join(body[:10] + ["junk"] + body[10:]) + "\n")
    it = iter(IologReader(str(bad)))
    first = [next(it) for _ in range(9)]
    assert [e[0] for e in first] == list(range(2, 11))
    with pytest.raises(IologError, match=r"bad\.log:11: "):
        next(it)
    big = tmp_path / "big.log"
    ios = [ln for ln in body if ln.split()[2] in ("read", "write")]
    with big.open("w") as fh:
        fh.write("\n".join(body[:3]) + "\n")
        for _ in range(200):
            fh.write("\n".join(ios) + "\n")
    tracemalloc.start()
    s = scan(str(big))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sum(s.ios) == 200 * len(ios)
    assert peak < 200_000  # a few lines' worth, not the log's ~3.6 MB


# ---- the replay, against fio's own replay ----------------------------------------------

@pytest.mark.parametrize("name", ["randrw.v3", "randrw.v2"])
@pytest.mark.parametrize("engine,depth", [("io_uring", 1), ("io_uring", 16), ("libaio", 4)])
def test_replay_issues_the_logs_ios(name: str, engine: str, depth: int) -> None:
    job = fio_replay(name)
    rep, res = one_job(replay_cfg(LOGS / f"{name}.log", ioengine=engine, iodepth=depth))
    for d in ("read", "write"):
        assert getattr(res, d).total_ios == job[d]["total_ios"]
        assert getattr(res, d).io_bytes == job[d]["io_bytes"]
        assert getattr(res, d).clat.n == job[d]["clat_ns"]["N"]


def test_replay_ignores_size_number_ios_and_time_based() -> None:
    """fio 3.33 replays the whole log whatever size, io_size or number_ios say, and does
    not loop it with time_based (checked with real fio when writing this test)."""
    job = fio_replay("randrw.v3")
    for extra in ({"time_based": False, "number_ios": 100}, {"time_based": False, "io_size": "100k"},
                  {"time_based": True}):
        _, res = one_job(replay_cfg(LOGS / "randrw.v3.log", replay_no_stall=True, **extra))
        assert (res.read.total_ios, res.write.total_ios) == (job["read"]["total_ios"], job["write"]["total_ios"])


def test_runtime_ends_a_longer_log() -> None:
    _, full = one_job(replay_cfg(LOGS / "paced.v3.log"))
    _, cut = one_job(replay_cfg(LOGS / "paced.v3.log", runtime="10ms"))
    assert cut.read.total_ios < full.read.total_ios == fio_replay("paced.v3")["read"]["total_ios"]
    assert 10 <= cut.job_runtime_ms <= 11


def test_two_files_replay_on_two_devices(tmp_path: Path) -> None:
    """Without replay_redirect each file of the log is the device of that name: the log's
    files renamed to /dev/nvme0n1 and /dev/nvme1n1, each device serves its own I/Os
    (16k reads: one PRP list block each, allocated and freed in that device's pool)."""
    text = (LOGS / "twofiles.v3.log").read_text()
    log = tmp_path / "two.log"
    log.write_text(text.replace("/tmp/iolog-a", "/dev/nvme0n1").replace("/tmp/iolog-b", "/dev/nvme1n1"))
    per_file = {}
    for f in log_lines("twofiles.v3"):
        if f[2] == "read":
            per_file[f[1]] = per_file.get(f[1], 0) + 1
    cfg = load({"workload": {"read_iolog": str(log), "bs": "16k", "iodepth": 4},
                "devices": [{"name": "nvme0n1"}, {"name": "nvme1n1"}],
                "sim": {"replications": 1}, "allocator": {"variants": ["legacy"]}})
    assert cfg.job_files() == [[0, 1]]
    rep, res = one_job(cfg)
    assert res.read.total_ios == fio_replay("twofiles.v3")["read"]["total_ios"]
    assert res.read.io_bytes == fio_replay("twofiles.v3")["read"]["io_bytes"]
    ops = {p.device: p.ops for p in rep.pools}
    assert ops == {"nvme0n1": 2 * per_file["/tmp/iolog-a"], "nvme1n1": 2 * per_file["/tmp/iolog-b"]}


def test_mixed_sizes_each_get_their_own_mapping(tmp_path: Path) -> None:
    """A log whose sizes vary (real fio's log, each I/O's length rewritten): every byte is
    moved, and each request takes the PRP list nvme-pci gives its size -- none up to two
    4 KiB pages, a "prp list 256" block up to 32 entries after the first page, a "prp
    list page" beyond (nvme_pci_setup_prps; SGLs only from 32 KiB per segment) -- one
    alloc and one free each."""
    sizes = [512, 4096, 8192, 12288, 65536, 131072, 135168, 262144]
    lines = [BASE[0]]
    want = {"read": 0, "write": 0}
    small = page = 0
    k = 0
    for ln in BASE[1:]:
        f = ln.split()
        if f[2] in ("read", "write"):
            size = sizes[k % len(sizes)]
            k += 1
            f[4] = str(size)
            want[f[2]] += size
            pages = size // 4096
            if pages > 2:
                small += pages - 1 <= 32
                page += pages - 1 > 32
        lines.append(" ".join(f))
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(lines) + "\n")
    for extra in ({"iodepth": 1}, {"ioengine": "libaio", "iodepth": 32, "iodepth_batch_submit": 16}):
        cfg = load({"workload": {"read_iolog": str(log), "replay_redirect": "nvme0n1", "replay_no_stall": True,
                                 **extra},
                    "device": {"sgl_support": False},
                    "sim": {"replications": 1}, "allocator": {"variants": ["legacy"]}})
        rep, res = one_job(cfg)
        assert res.read.io_bytes == want["read"] and res.write.io_bytes == want["write"]
        ops = {p.block_size: p.ops for p in rep.pools}
        assert ops == {256: 2 * small, 4096: 2 * page}


# ---- timing -------------------------------------------------------------------------

def _span_us(name: str) -> int:
    times = [int(f[0]) for f in log_lines(name)]
    return times[-1] - times[0]


def test_timestamps_set_the_pace() -> None:
    """v3 without replay_no_stall: the run lasts as long as the log (its first to its
    last timestamp; the fast device keeps up), and so did real fio's own replay."""
    span = _span_us("paced.v3")
    assert fio_replay("paced.v3")["job_runtime"] >= span / 1000
    rep, res = one_job(replay_cfg(LOGS / "paced.v3.log"))
    window_us = rep.windows_ns[0] / 1000
    assert span <= window_us <= span * 1.01 + 200
    # replay_time_scale=200: the log at twice its rate
    rep2, _ = one_job(replay_cfg(LOGS / "paced.v3.log", replay_time_scale=200))
    assert span / 2 <= rep2.windows_ns[0] / 1000 <= span / 2 * 1.02 + 200


def test_each_io_waits_for_its_timestamp() -> None:
    """The k-th I/O is issued its log delay after the previous issue (iolog_delay), to
    within the thread's own few µs of work: the issue times of a depth-1 replay follow
    the log's timestamps."""
    import nvmesim.sim.replay as replay_mod

    issued: list[float] = []
    orig = replay_mod.Replay.issued

    def record(self, t: float) -> None:
        issued.append(t)
        orig(self, t)

    replay_mod.Replay.issued = record
    try:
        one_job(replay_cfg(LOGS / "paced.v3.log", noise=False))
    finally:
        replay_mod.Replay.issued = orig
    times = [int(f[0]) for f in log_lines("paced.v3") if f[2] == "read"]
    assert len(issued) == len(times)
    for k in range(1, len(times)):
        gap = (issued[k] - issued[k - 1]) / 1000
        want = times[k] - times[k - 1]
        assert want <= gap + 1 and gap <= max(want, 30) + 5, (k, gap, want)


def test_no_stall_is_the_plain_job_of_the_same_ios() -> None:
    """replay_no_stall replays as fast as the depth allows: a read-only log of N reads is
    then exactly the randread job of number_ios=N (same streams, same path)."""
    n = fio_replay("paced.v3")["read"]["total_ios"]
    rates = {"bw_avg_time": 1, "iops_avg_time": 1}
    rep, res = one_job(replay_cfg(LOGS / "paced.v3.log", replay_no_stall=True, iodepth=1, preset="tlc-dc", **rates))
    plain = load({"workload": {"rw": "randread", "time_based": False, "number_ios": n, "iodepth": 1, **rates},
                  "sim": {"replications": 1}, "allocator": {"variants": ["legacy"]}, "device": {"preset": "tlc-dc"}})
    rep0, res0 = one_job(plain)
    assert res.read.total_ios == res0.read.total_ios == n
    assert rep.windows_ns == rep0.windows_ns
    assert res.read.clat.to_json(None) == res0.read.clat.to_json(None)
    # the bandwidth samples (from the I/Os' own sizes in a replay) and the IOPS samples
    assert res.read.bw_stat.n >= 3
    for a, b in ((res.read.bw_stat, res0.read.bw_stat), (res.read.iops_stat, res0.read.iops_stat)):
        assert (a.n, a.mean, a.S, a.min, a.max) == (b.n, b.mean, b.S, b.min, b.max)
    assert rep.windows_ns[0] / 1000 < _span_us("paced.v3") / 3


def test_v2_wait(tmp_path: Path) -> None:
    """v2's wait: fio 3.33 sleeps until the value in ms since the run began
    (read_iolog_get); replay_no_stall drops it."""
    log = tmp_path / "w.log"
    log.write_text("fio version 2 iolog\n/dev/nvme0n1 add\n/dev/nvme0n1 open\n/dev/nvme0n1 read 0 4096\n"
                   "/dev/nvme0n1 wait 7 0\n/dev/nvme0n1 read 4096 4096\n")
    rep, res = one_job(replay_cfg(log))
    assert res.read.total_ios == 2
    assert 7e6 <= rep.windows_ns[0] <= 7.2e6
    rep, _ = one_job(replay_cfg(log, replay_no_stall=True))
    assert rep.windows_ns[0] < 1e6


@pytest.mark.skipif(shutil.which(FIO) is None, reason="needs Debian's fio")
def test_real_fio_waits_in_ms_since_its_start(tmp_path: Path) -> None:
    """Real fio 3.33 reads the same v2 wait line as ms since it started (its genesis,
    some 100 ms before the job starts): a wait of 300 ends the job well after 100 ms and
    before 300 (as µs it would not be felt at all); nvmesim's run starts at genesis."""
    import subprocess

    f = tmp_path / "f"
    f.write_bytes(b"\0" * 8192)
    log = tmp_path / "w.log"
    log.write_text(f"fio version 2 iolog\n{f} add\n{f} open\n{f} read 0 4096\n{f} wait 300 0\n{f} read 4096 4096\n")
    out = subprocess.run([FIO, "--name=r", "--ioengine=psync", f"--read_iolog={log}", "--output-format=json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    assert job["read"]["total_ios"] == 2 and 20 < job["job_runtime"] <= 300


# ---- bad input: located errors, exit 2 --------------------------------------------------

BASE = (LOGS / "randrw.v3.log").read_text().splitlines()


def _bad(tmp_path: Path, line: int, text: str | None) -> Path:
    """randrw.v3.log with its ``line``-th line (1-based) replaced by ``text`` (None: removed)."""
    lines = list(BASE)
    if text is None:
        del lines[line - 1]
    else:
        lines[line - 1] = text
    p = tmp_path / "log.txt"
    p.write_text("\n".join(lines) + "\n")
    return p


def _io(k: int) -> int:
    """The line number (1-based) of the log's k-th I/O."""
    return [i for i, ln in enumerate(BASE, 1) if ln.split()[2:3] in (["read"], ["write"])][k]


CASES = [
    (1, "fio version 1 iolog", "expected 'fio version 2 iolog' or 'fio version 3 iolog'"),
    (_io(3), "999 /tmp/iolog-a read 0", "expected '[time] file action' or '[time] file action offset length'"),
    (_io(3), "999 /tmp/iolog-a read x 4096", "read offset: expected a non-negative integer, got 'x'"),
    (_io(3), "abc /tmp/iolog-a read 0 4096", "timestamp (µs, v3): expected a non-negative integer"),
    (_io(3), "999 /tmp/iolog-a frobnicate 0 4096", "'frobnicate': not an I/O action"),
    (_io(3), "999 /tmp/iolog-a trim 0 4096", "trim: not modelled"),
    (_io(3), "999 /tmp/iolog-a sync 0 0", "sync: not modelled"),
    (_io(3), "999 /tmp/iolog-a datasync 0 0", "datasync: not modelled"),
    (_io(3), "999 /tmp/iolog-a wait 10 0", "wait: not allowed in a v3 log"),
    (_io(3), "999 /tmp/iolog-a read 0 1000", "read: length 1000: expected a positive multiple of 512"),
    (_io(3), "999 /tmp/iolog-a write 0 0", "write: length 0: expected a positive multiple of 512"),
    (_io(3), "999 /tmp/iolog-a read 100 4096", "read: offset 100: expected a multiple of 512"),
    (_io(3), "999 /tmp/iolog-a read 0 33554432", "33554432 B exceeds the driver's maximum transfer"),
    (_io(3), "999 /tmp/iolog-a close", None),  # then the next I/O is on a closed file (checked below)
]


@pytest.mark.parametrize("line,text,msg", [c for c in CASES if c[2]])
def test_bad_line_is_located(tmp_path: Path, cli, line: int, text: str, msg: str) -> None:
    log = _bad(tmp_path, line, text)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"workload:\n  read_iolog: {log}\n  replay_redirect: nvme0n1\n")
    r = cli("run", str(cfg), "-q")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert f"c.yaml:2: workload.read_iolog: {log}:{line}: " in r.stderr
    assert msg in r.stderr


def test_io_on_a_closed_or_unopened_file(tmp_path: Path) -> None:
    log = _bad(tmp_path, _io(3), "999 /tmp/iolog-a close")
    with pytest.raises(IologError, match=rf"log\.txt:{_io(4)}: /tmp/iolog-a: (read|write) on a file that is not "
                                         "open"):
        scan(str(log))
    opened = [i for i, ln in enumerate(BASE, 1) if ln.endswith(" open")][0]
    log = _bad(tmp_path, opened, None)
    with pytest.raises(IologError, match=rf"log\.txt:{_io(0) - 1}: .*not open"):
        scan(str(log))


def test_unknown_file_is_located_at_its_add(tmp_path: Path) -> None:
    """Without replay_redirect, the log's file must be a device of the config."""
    log = tmp_path / "log.txt"
    shutil.copy(LOGS / "randrw.v3.log", log)
    with pytest.raises(ConfigError) as e:
        load({"workload": {"read_iolog": str(log)}})
    add = [i for i, ln in enumerate(BASE, 1) if ln.endswith(" add")][0]
    assert f"workload.read_iolog: {log}:{add}: '/tmp/iolog-a' is not a device of this config (devices: nvme0n1)" \
        in str(e.value)
    with pytest.raises(ConfigError, match="workload.replay_redirect: '/dev/nvme9n1' is not a device"):
        load({"workload": {"read_iolog": str(log), "replay_redirect": "/dev/nvme9n1"}})
    # an I/O on a file the log never added
    other = tmp_path / "other.txt"
    lines = [ln.replace("/tmp/iolog-a", "nvme0n1") for ln in BASE]
    lines[_io(3) - 1] = lines[_io(3) - 1].replace("nvme0n1", "/dev/nvme1n1")
    other.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=rf"other\.txt:{_io(3)}: /dev/nvme1n1: (read|write) on a file the log has "
                                          "not added"):
        load({"workload": {"read_iolog": str(other)}})
    # /dev/ is optional, as in filename
    assert load({"workload": {"read_iolog": str(log), "replay_redirect": "/dev/nvme0n1"}}).job_files() == [[0]]


def test_missing_empty_and_stdin_logs(tmp_path: Path, cli) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"workload:\n  read_iolog: {tmp_path / 'nope.log'}\n")
    r = cli("run", str(cfg), "-q")
    assert r.returncode == 2 and f"{tmp_path / 'nope.log'}: cannot read the I/O log" in r.stderr
    empty = tmp_path / "empty.log"
    empty.write_text(IOLOG_V3 + "\n10 /dev/nvme0n1 add\n20 /dev/nvme0n1 open\n")
    with pytest.raises(ConfigError, match="no read or write to replay"):
        load({"workload": {"read_iolog": str(empty)}})
    with pytest.raises(ConfigError, match="stdin is not supported"):
        load({"workload": {"read_iolog": "-"}})


def test_logs_go_to_the_jobs_in_turn(tmp_path: Path) -> None:
    """read_iolog=a:b with numjobs=3: jobs 0, 1, 2 replay a, b, a (get_name_by_idx)."""
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    shutil.copy(LOGS / "randrw.v3.log", a)
    shutil.copy(LOGS / "paced.v3.log", b)
    cfg = load({"workload": {"read_iolog": f"{a}:{b}", "replay_redirect": "nvme0n1", "numjobs": 3,
                             "replay_no_stall": True},
                "sim": {"replications": 1}, "allocator": {"variants": ["legacy"]}})
    rep = run_replication(cfg, "legacy", 0)
    got = [(j.read.total_ios, j.write.total_ios) for j in rep.jobs]
    ra, rb = fio_replay("randrw.v3"), fio_replay("paced.v3")
    want_a = (ra["read"]["total_ios"], ra["write"]["total_ios"])
    assert got == [want_a, (rb["read"]["total_ios"], 0), want_a]
    assert sum(1 for e in IologReader(str(a)) if e[3] == READ) == want_a[0]
