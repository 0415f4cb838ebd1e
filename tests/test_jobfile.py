"""fio job files as input: the parser against real fio's own reading of the same files
(``fio --showcmd`` for sections, inheritance, comments, flags and includes; ``fio
--debug=parse`` for the values its option parser makes of units), the mapping onto the
workload, the located errors, and a job file run end to end."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from nvmesim.api import ConfigError, load, run_replication
from nvmesim.config import fio_option_table
from nvmesim.config.jobfile import effective_options, fio_name, parse_job_file

FIO = shutil.which("fio")
needs_fio = pytest.mark.skipif(FIO is None, reason="real fio (Debian's fio package) is not installed")

MULTI = """\
; 16 jobs over 4 drives, 4 a drive: the multi-device config as fio users write it
[global]
ioengine=io_uring
direct=1 ; inline comment
rw=randread
bs=12k
iodepth=128   # another comment
iodepth_batch_submit=32
iodepth_batch_complete_min=32
iodepth_batch_complete_max=32
time_based
runtime=4ms
ramp_time=1ms
numjobs=4
cpus_allowed=0-15
cpus_allowed_policy=split
group_reporting

[d0]
filename=/dev/nvme0n1
[d1]
filename=/dev/nvme1n1
[d2]
filename=/dev/nvme2n1
[global]
; a later global section: only the jobs after it
iodepth_batch_complete_max=32
[d3]
include tail.inc
"""

PLATFORM = """\
host: {cores: 16, numa_nodes: 2}
driver: {kernel: "6.16"}
device: {preset: optane, parallel_units: 64, link_gbps: 14.0, internal_gbps: 14.0}
devices:
  - {name: nvme0n1, node: 0}
  - {name: nvme1n1, node: 0}
  - {name: nvme2n1, node: 1}
  - {name: nvme3n1, node: 1}
allocator: {variants: [legacy, stack]}
sim: {seed: 1, replications: 1}
"""


@pytest.fixture
def multi(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "tail.inc").write_text("filename=/dev/nvme3n1\n# the include's own comment\n")
    job = tmp_path / "multi.fio"
    job.write_text(MULTI)
    plat = tmp_path / "platform.yaml"
    plat.write_text(PLATFORM)
    return job, plat


def showcmd_jobs(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    """Each job of ``fio --showcmd FILE`` with its effective options, read as fio reads a
    command line: options before the first --name are global, each --name opens a job."""
    out = subprocess.run([FIO, "--showcmd", str(path)], capture_output=True, text=True, check=True,
                         cwd=path.parent, timeout=30).stdout
    args = shlex.split(out)[1:]
    glob: dict[str, str | None] = {}
    jobs: list[tuple[str, dict[str, str | None]]] = []
    for a in args:
        key, eq, value = a[2:].partition("=")
        if key == "name":
            jobs.append((value, dict(glob)))
            continue
        target = jobs[-1][1] if jobs else glob
        target[fio_name(key)] = value if eq else None
    return jobs


@needs_fio
def test_sections_inheritance_comments_and_includes_match_fio_showcmd(multi):
    job, _ = multi
    ours = [(s.name, {k: o.value for k, o in opts.items()}) for s, opts in effective_options(parse_job_file(job))]
    theirs = showcmd_jobs(job)
    assert [n for n, _ in ours] == [n for n, _ in theirs] == ["d0", "d1", "d2", "d3"]
    for (name, mine), (_, fio) in zip(ours, theirs):
        assert mine == fio, name


@needs_fio
def test_a_global_section_after_a_job_applies_to_later_jobs_only(tmp_path):
    """fio --showcmd cannot say this (its command line has one global part), so real fio
    runs the file on a scratch file and each job's block size is read off its I/O."""
    f = tmp_path / "late.fio"
    f.write_text("[global]\nbs=4k\n[a]\nrw=read\n[global]\nbs=8k\n[b]\n[c]\nbs=16k\n")
    ours = {s.name: {k: o.value for k, o in opts.items()} for s, opts in effective_options(parse_job_file(f))}
    assert (ours["a"]["bs"], ours["b"]["bs"], ours["c"]["bs"]) == ("4k", "8k", "16k")
    run = tmp_path / "run.fio"
    run.write_text(f"[global]\nfilename={tmp_path / 'scratch'}\nsize=1m\nioengine=psync\nnumber_ios=4\n"
                   + f.read_text().replace("[global]\nbs=4k\n", "bs=4k\n", 1))
    doc = json.loads(subprocess.run([FIO, "--output-format=json", str(run)], capture_output=True, text=True,
                                    check=True, timeout=60, cwd=tmp_path).stdout)
    got = {j["jobname"]: j["read"]["io_bytes"] // j["read"]["total_ios"] for j in doc["jobs"]}
    assert got == {n: int(v["bs"][:-1]) * 1024 for n, v in ours.items()}


def parsed_values(path: Path) -> list[dict[str, int]]:
    """What fio's option parser made of each job section's values (``--debug=parse``:
    ``handle_option=NAME`` then ``out=VALUE``), one dict per job section in order."""
    err = subprocess.run([FIO, "--debug=parse", "--parse-only", str(path)], capture_output=True, text=True,
                         timeout=30).stdout
    jobs: list[dict[str, int]] = []
    glob: dict[str, int] = {}
    current: dict[str, int] = glob
    name = None
    for line in err.splitlines():
        m = re.search(r"Parsing section \[(.*)\]", line)
        if m:  # a job starts from the global options parsed so far ("dup options")
            current = glob if m.group(1).startswith("global") else dict(glob)
            if current is not glob:
                jobs.append(current)
            continue
        m = re.search(r"__handle_option=(\w+), type=", line)
        if m:
            name = m.group(1)
            continue
        m = re.search(r"ret=0, out=(\d+)", line)
        if m and name:
            current[name] = int(m.group(1))
            name = None
    return jobs


@needs_fio
def test_units_read_as_fio_reads_them(tmp_path):
    f = tmp_path / "units.fio"
    f.write_text("[global]\nioengine=libaio\ndirect=1\nbs=12k\nruntime=50ms\nramp_time=2\nsize=1g\n"
                 "[a]\nthinktime=3ms\niodepth=0x10\nio_size=1536k\n[b]\nbs=256K\nruntime=1m\nthinktime=250\n"
                 "ramp_time=1500us\n")
    fio = parsed_values(f)
    cfgs = []
    for name in ("a", "b"):  # one file per job: nvmesim's sections must agree on bs, times
        one = tmp_path / f"{name}.fio"
        body = f.read_text().split(f"[{name}]")[1].split("[")[0]
        one.write_text(f.read_text().split("[a]")[0] + f"[{name}]" + body)
        cfgs.append(load(one).workload)
    for w, got in zip(cfgs, fio):
        assert w.bs == got["bs"]
        assert round(w.runtime * 1e6) == got["runtime"]
        assert round(w.ramp_time * 1e6) == got["ramp_time"]
        assert w.size == got["size"]
        assert round(w.thinktime) == got["thinktime"]
    assert cfgs[0].iodepth == fio[0]["iodepth"] == 16
    assert cfgs[0].io_size == fio[0]["io_size"]


@needs_fio
def test_the_option_table_is_fio_3_33s():
    version = subprocess.run([FIO, "--version"], capture_output=True, text=True).stdout.strip()
    if version != fio_option_table.FIO_VERSION:
        pytest.skip(f"the table is {fio_option_table.FIO_VERSION}'s; this fio is {version}")
    out = subprocess.run([FIO, "--cmdhelp=all"], capture_output=True, text=True).stdout
    names = tuple(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    assert names == fio_option_table.OPTIONS
    for alias, main in fio_option_table.ALIASES.items():
        help_ = subprocess.run([FIO, f"--cmdhelp={main}"], capture_output=True, text=True).stdout
        assert re.search(rf"alias: {alias}\b", help_), (alias, main)


def test_a_job_file_runs_its_sections_as_jobs(multi):
    job, plat = multi
    cfg = load(job, platform=plat)
    assert cfg.numjobs == 16
    assert cfg.job_names() == [d for d in ("d0", "d1", "d2", "d3") for _ in range(4)]
    assert cfg.job_files() == [[d] for d in range(4) for _ in range(4)]
    assert cfg.job_cpus() == list(range(16))  # split over the whole run's job numbers
    assert cfg.workload.bs == 12288 and cfg.workload.iodepth_batch_complete_max == 32
    assert cfg.jobs[0].echo == {"direct": "1", "cpus_allowed_policy": "split", "group_reporting": "1"}
    rep = run_replication(cfg, "legacy", 0)
    assert [j.jobname for j in rep.jobs] == cfg.job_names()
    assert all(j.read.total_ios > 0 for j in rep.jobs)


def test_a_job_file_is_the_yaml_config_it_reads_as(tmp_path):
    """One section: the same simulation as the YAML workload of the same options."""
    f = tmp_path / "one.fio"
    f.write_text("[global]\nioengine=libaio\ndirect=1\ntime_based\n[hd]\nrw=randrw\nrwmixread=70\nbs=8k\n"
                 "iodepth=16\niodepth_batch=4\nruntime=3ms\nramp_time=500us\n")
    y = tmp_path / "one.yaml"
    y.write_text("workload: {name: hd, ioengine: libaio, rw: randrw, rwmixread: 70, bs: 8k, iodepth: 16, "
                 "iodepth_batch_submit: 4, runtime: 3ms, ramp_time: 500us}\n")
    a, b = load(f), load(y)
    assert a.workload.model_copy(update={"echo": {}}) == b.workload
    ra, rb = run_replication(a, "stack", 0), run_replication(b, "stack", 0)
    assert ra.jobs[0].read.clat.to_json(None, with_bins=True) == rb.jobs[0].read.clat.to_json(None, with_bins=True)


def test_fio_defaults_apply_where_nvmesim_s_differ(tmp_path):
    f = tmp_path / "d.fio"
    f.write_text("[j]\nioengine=io_uring\ndirect=1\nruntime=2ms\n")
    w = load(f).workload
    assert (w.rw, w.time_based) == ("read", False)  # fio: rw=read, time_based=0


@pytest.mark.parametrize("body, message", [
    ("[j]\nioengine=io_uring\ndirect=1\nruntime=1ms\niodeth=4\n", "j.fio:5: [j] iodeth: unknown option; did you mean 'iodepth'?"),
    ("[j]\nioengine=io_uring\ndirect=1\nruntime=1ms\nrate_iops=100\n", "j.fio:5: [j] rate_iops: not modelled"),
    ("[j]\nioengine=io_uring\ndirect=1\nruntime=1ms\nbs=4q\n", "j.fio:5: [j] bs: expected a size"),
    ("[j]\nioengine=io_uring\ndirect=1\nruntime=1.5s\n", "j.fio:4: [j] runtime: '1.5s': fio's number parser stops"),
    ("[j]\nioengine=io_uring\ndirect=1\nruntime=1ms\ninclude missing.inc\n", "j.fio:5: [j] include: missing.inc: no such file"),
    ("bs=4k\n[j]\n", "j.fio:1: option <bs=4k> outside of [] job section"),
    ("[j]\ndirect=1\nruntime=1ms\n", "j.fio:1: [j] ioengine: fio's default (psync) is not modelled"),
    ("[j]\nioengine=libaio\nruntime=1ms\n", "j.fio:1: [j] direct: missing"),
    ("[j]\nioengine=libaio\ndirect=0\nruntime=1ms\n", "j.fio:3: [j] direct: '0' is not simulated"),
    ("[a]\nioengine=libaio\ndirect=1\nruntime=1ms\n[b]\nioengine=libaio\ndirect=1\nruntime=1ms\nbs=8k\n",
     "j.fio:9: [b] bs: 8192 differs from [a]'s 4096"),
    ("[a]\nioengine=libaio\ndirect=1\nruntime=1ms\n[b]\nstonewall\nioengine=libaio\ndirect=1\nruntime=1ms\n",
     "j.fio:6: [b] stonewall: not modelled"),
    ("[j]\nioengine=libaio\ndirect=1\nruntime=1ms\nbssplit=4k/50:8k/50\n", "j.fio:5: [j] bssplit: '4k/50:8k/50': not modelled"),
    ("[j]\nioengine=libaio\ndirect=1\nruntime=1ms\nfilename=/dev/nvme9n1\n", "j.fio:5: [j] filename: workload.filename"),
])
def test_bad_job_files_are_located_errors(tmp_path, body, message):
    f = tmp_path / "j.fio"
    f.write_text(body)
    with pytest.raises(ConfigError) as e:
        load(f)
    text = str(e.value).replace(str(tmp_path) + "/", "")
    assert message in text, text


def test_an_included_file_with_a_section_is_an_error(tmp_path):
    (tmp_path / "sec.inc").write_text("bs=4k\n[other]\n")
    f = tmp_path / "j.fio"
    f.write_text("[j]\nioengine=libaio\ndirect=1\nruntime=1ms\ninclude sec.inc\n")
    with pytest.raises(ConfigError, match=r"sec.inc:2: \[other\]: no new sections in included files"):
        load(f)


def test_every_problem_is_reported_at_once(tmp_path):
    f = tmp_path / "j.fio"
    f.write_text("[j]\nioengine=libaio\ndirect=1\nruntime=1ms\nrate_iops=1\nverify=md5\nbs=3\n")
    with pytest.raises(ConfigError) as e:
        load(f)
    assert [p.split(": ")[1] for p in e.value.problems] == ["[j] rate_iops", "[j] verify", "[j] bs"]


def test_cli_runs_a_job_file_on_a_platform(cli, multi):
    job, plat = multi
    r = cli("run", str(job), "--platform", str(plat), "--output-format", "json", "-q", "--variant", "stack")
    assert r.returncode == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["jobs"]) >= 1


def test_cli_ignore_unsupported_runs_and_says_what_it_left_out(cli, tmp_path):
    f = tmp_path / "j.fio"
    f.write_text("[j]\nioengine=libaio\ndirect=1\nruntime=1ms\nrate_iops=100\n")
    r = cli("run", str(f), "-q")
    assert r.returncode == 2 and "rate_iops: not modelled" in r.stderr
    r = cli("run", str(f), "-q", "--ignore-unsupported", "--set", "sim.replications=1")
    assert r.returncode == 0, r.output
    assert "j.fio:5: [j] rate_iops: not modelled, ignored (--ignore-unsupported)" in r.stderr


def test_a_platform_with_a_workload_is_refused(cli, multi, tmp_path):
    job, _ = multi
    p = tmp_path / "p.yaml"
    p.write_text("host: {cores: 16}\nworkload: {iodepth: 4}\n")
    r = cli("run", str(job), "--platform", str(p), "-q")
    assert r.returncode == 2 and "p.yaml:2: workload: a platform for a job file has no workload section" in r.stderr


def test_the_example_job_file_is_the_multidevice_config_four_jobs_a_drive():
    from nvmesim.config import config_from_dict

    root = Path(__file__).resolve().parent.parent
    cfg = load(root / "configs/multidevice.fio", platform=root / "configs/platforms/two-node-four-optane.yaml")
    yaml_cfg = load(root / "configs/multidevice.yaml")
    from nvmesim.config.schema import PLACEMENT

    same = {k: v for k, v in yaml_cfg.workload if k not in PLACEMENT}
    assert {k: v for k, v in cfg.workload if k in same} == same
    assert cfg.numjobs == yaml_cfg.numjobs == 16 and cfg.job_cpus() == yaml_cfg.job_cpus()
    assert cfg.model_dump(exclude={"workload", "jobs"}) == yaml_cfg.model_dump(exclude={"workload", "jobs"})
    assert cfg.job_files() == [[d] for d in range(4) for _ in range(4)]
    assert config_from_dict(cfg.effective()) == cfg  # the effective config, jobs and all, reads back the same
