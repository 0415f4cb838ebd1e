"""fio's normal output (stat.c) against real fio 3.33's.

The fixtures (``tests/data/fio-normal-*.txt``, made by ``tests/data/make_normal_fixtures.sh``)
are real fio runs written with ``--output-format=normal,json+``: the json+ document holds
the raw figures, the normal part is what fio printed from them.  Three checks:

* the number formatters on figures from those runs give fio's strings;
* every fixture's json+ figures, rendered by ``nvmesim.output.report``, give fio's normal
  output line for line (the pid and the time of the header aside);
* a simulated run's text has fio's layout: the same lines in the same order with the
  same field names and formats (a skeleton with the numbers replaced).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import LOGS, fixture_doc, job_of

from nvmesim.api import load, run
from nvmesim.output import report
from nvmesim.output.fionum import N2S, clat_percentile_lines, display_lat, lat_unit, num2str, percentile_precision
from nvmesim.stats.hist import LatencyHist, RunningStat
from nvmesim.stats.records import DirResult, JobResult

DATA = Path(__file__).parent / "data"
FIXTURES = ("read", "randrw", "noperc", "allperc", "mixed", "unified", "groups")


def _fixture(name: str) -> tuple[dict, list[str]]:
    """(json+ document, fio's normal output as stat.c wrote it: from its leading blank line
    to the end of the last group block; the disk stats cut off)."""
    text = (DATA / f"fio-normal-{name}.txt").read_text()
    start = text.index("\n{\n") + 1
    end = text.index("\n}\n", start) + 2
    doc = json.loads(text[start:end])
    normal = text[end + 1:]
    normal = normal.split("\nDisk stats (read/write):\n")[0].rstrip("\n")
    return doc, normal.split("\n")


# ---------------------------------------------------------------------------
# fio's json+ figures as nvmesim records


def _stat(obj: dict, prefix: str, dev: str) -> RunningStat:
    s = RunningStat()
    n = obj[f"{prefix}_samples"]
    s.n, s._min, s._max, s.mean = n, obj[f"{prefix}_min"], obj[f"{prefix}_max"], obj[f"{prefix}_mean"]
    s.S = obj[f"{prefix}_{dev}"] ** 2 * (n - 1) if n > 1 else 0.0
    return s


def _hist(obj: dict) -> LatencyHist:
    h = LatencyHist.from_bins(obj.get("bins", {}))
    n = obj["N"]
    h.n, h._min, h._max, h.mean = n, obj["min"], obj["max"], obj["mean"]
    h.S = obj["stddev"] ** 2 * (n - 1) if n > 1 else 0.0
    return h


def _dir(d: dict) -> DirResult:
    return DirResult(total_ios=d["total_ios"], io_bytes=d["io_bytes"], runtime_ms=d["runtime"],
                     slat=_hist(d["slat_ns"]), clat=_hist(d["clat_ns"]), lat=_hist(d["lat_ns"]),
                     bw_stat=_stat(d, "bw", "dev"), iops_stat=_stat(d, "iops", "stddev"),
                     short_ios=d["short_ios"], drop_ios=d["drop_ios"])


def _dirs_of(j: dict) -> list[tuple[str, dict]]:
    """A job's directions as fio prints them: under unified_rw_reporting=mixed fio keeps one,
    ``mixed``, in the read slot."""
    if "read" not in j:
        return [("mixed", j["mixed"])]
    return [("read", j["read"]), ("write", j["write"])]


def _job(j: dict) -> JobResult:
    dirs = [_dir(d) for _, d in _dirs_of(j)] + [_dir(j["trim"]) if "trim" in j else DirResult()]
    return JobResult(
        jobname=j["jobname"], groupid=j["groupid"], error=j["error"], job_options=j["job options"],
        read=dirs[0], write=dirs[1] if len(dirs) > 2 else DirResult(), trim=dirs[-1],
        usr_cpu=j["usr_cpu"], sys_cpu=j["sys_cpu"], ctx=j["ctx"], majf=j["majf"], minf=j["minf"],
        iodepth_level=j["iodepth_level"], iodepth_submit=j["iodepth_submit"],
        iodepth_complete=j["iodepth_complete"], latency_ns=j["latency_ns"], latency_us=j["latency_us"],
        latency_ms=j["latency_ms"], latency_depth=j["latency_depth"], latency_target=j["latency_target"],
        latency_percentile=j["latency_percentile"], latency_window=j["latency_window"])


def _options(job_options: dict) -> report.NormalOptions:
    """What fio's options of the fixture say (fio's defaults otherwise)."""
    o = job_options
    plist = o.get("percentile_list")
    return report.NormalOptions(
        percentile_list=tuple(float(x) for x in plist.split(":")) if plist
        else report.NormalOptions.percentile_list,
        clat_percentiles=o.get("clat_percentiles", "1") == "1",
        lat_percentiles=o.get("lat_percentiles", "0") == "1",
        slat_percentiles=o.get("slat_percentiles", "0") == "1",
        unified_rw_reporting=o.get("unified_rw_reporting", "none"))


def _members(job_options: dict) -> int:
    return int(job_options.get("numjobs", 1)) if job_options.get("group_reporting") == "1" else 1


_HEADER_TAIL = re.compile(r"pid=\d+: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$")


def _no_pid_time(lines: list[str]) -> list[str]:
    return [_HEADER_TAIL.sub("pid=PID: TIME", line) for line in lines]


@pytest.mark.parametrize("name", FIXTURES)
def test_fio_figures_render_as_fio_printed_them(name):
    doc, real = _fixture(name)
    jobs = doc["jobs"]
    opts = _options(jobs[0]["job options"])
    blocks = [report.JobBlock(_job(j), j["groupid"], j["jobname"], _members(j["job options"])) for j in jobs]
    ours = report.normal_output(blocks, opts)
    assert _no_pid_time(ours) == _no_pid_time(real)


def test_the_header_prints_the_given_pid_and_time():
    doc, real = _fixture("read")
    job = _job(doc["jobs"][0])
    when = 1_790_000_000.0
    rs = report.GroupStats.of(0, [job])
    head = report.thread_status(job, rs, name="read", pid=4321, when=when)[0]
    assert head == f"read: (groupid=0, jobs=1): err= 0: pid=4321: {time.ctime(when)}"
    assert _HEADER_TAIL.search(real[1])  # fio's own header has that shape


# ---------------------------------------------------------------------------
# the formatters against figures of the fixtures


def _pairs() -> list[tuple[int, int, N2S, bool, str]]:
    """(number, maxlen, unit, IEC, fio's string) from the fixtures: IOPS, bandwidth and
    sizes of each direction line and group line, read from fio's text beside its json."""
    out = []
    for name in FIXTURES:
        doc, real = _fixture(name)
        for j, block in zip(doc["jobs"], _blocks(real)[0], strict=True):
            text = "\n".join(block)
            for ddir, d in _dirs_of(j):
                if not d["io_bytes"]:
                    continue
                runt = d["runtime"]
                m = re.search(rf"^  {ddir}: IOPS=(\S+), BW=(\S+) \((\S+)\)\((\S+)/{runt}msec\)", text, re.M)
                assert m, (name, ddir)
                iops, bw = (1000 * d["total_ios"]) // runt, (1000 * d["io_bytes"]) // runt
                out += [(iops, 4, N2S.NONE, False, m[1]), (bw, 4, N2S.BYTEPERSEC, True, m[2]),
                        (bw, 4, N2S.BYTEPERSEC, False, m[3]), (d["io_bytes"], 4, N2S.BYTE, True, m[4])]
    return out


def test_num2str_gives_fios_strings_for_fios_figures():
    pairs = _pairs()
    assert len(pairs) > 30
    for num, maxlen, unit, iec, expect in pairs:
        assert num2str(num, maxlen, 1, iec, unit) == expect, (num, expect)


@pytest.mark.parametrize("num,maxlen,pow2,unit,expect", [
    # from the fixtures' text beside the json figures they came from (fio-3.33)
    (10286000, 6, False, N2S.NONE, "10286k"),  # clat max=10286k (maxlen 6)
    (9970343, 6, False, N2S.NONE, "9970.3k"),  # clat max=9970.3k: room for one decimal
    (340608, 4, False, N2S.NONE, "341k"),      # 4 figures, no room for decimals: rounds up
    (12015, 4, False, N2S.NONE, "12.0k"),
    (0, 0, True, N2S.NONE, "0"),                # the mixed block's 0 figures
    (205242368, 0, True, N2S.BYTE, "0B"),
    (999999, 4, False, N2S.NONE, "1000k"),      # the remainder rounds the integer up
    (1023 * 1024 + 1000, 4, True, N2S.BYTE, "1024KiB"),
    (1536, 4, True, N2S.BYTE, "1536B"),
    (15360, 4, True, N2S.BYTE, "15.0KiB"),
    (8, 4, False, N2S.BITPERSEC, "64bit/s"),
])
def test_num2str_edges(num, maxlen, pow2, unit, expect):
    assert num2str(num, maxlen, 1, pow2, unit) == expect


FIO = shutil.which("fio")


@pytest.mark.skipif(FIO is None, reason="real fio (Debian package fio) not installed")
def test_num2str_agrees_with_real_fio_on_many_numbers(tmp_path):
    """fio prints a job's block size range through the same ``num2str`` (init.c's job
    header ``bs=(R) min-max``, at the job's ``significant_figures``, IEC or SI by its
    ``kb_base``): one fio run of many null-engine jobs checks edges (a remainder rounding
    the integer or the decimals up, every power of 1000 and 1024) and random numbers at
    every figure count fio allows (1..10)."""
    rng = random.Random(15)
    edges = [1, 9, 10, 999, 1000, 1023, 1024, 1535, 1536, 9999, 10000, 99949, 99950, 999499, 999500,
             1048063, 1048064, 1048575, 1048576, 10**9 - 1, 10**9, 2**30 - 1, 2**31]
    values = edges + [int(10 ** rng.uniform(0, 9.3)) for _ in range(60)]
    args, cases = [], []
    for i, v in enumerate(values):
        for figs, kb in ((1 + i % 10, 1024), (1 + (i * 7) % 10, 1000)):
            name = f"j{len(cases)}"
            args += [f"--name={name}", f"--bsrange={v}-{v}", f"--significant_figures={figs}", f"--kb_base={kb}"]
            cases.append((name, v, figs, kb == 1024))
    # null engine reads: no data moves and no buffer is touched (the block sizes reach 2 GiB)
    proc = subprocess.run([FIO, "--thread", "--ioengine=null", "--size=4g", "--number_ios=1", "--rw=read",
                           "--bs_unaligned", f"--directory={tmp_path}", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    heads = dict(re.findall(r"^(j\d+): \(g=0\): rw=read, bs=\(R\) (\S+)-\S+,", proc.stdout, re.M))
    assert len(heads) == len(cases)
    for name, v, figs, iec in cases:
        assert num2str(v, figs, 1, iec, N2S.BYTE) == heads[name], (v, figs, iec)


def test_latency_lines_choose_fios_unit_from_min_max_and_stdev():
    """Every slat/clat/lat line of every fixture, from its json figures."""
    seen = set()
    for name in FIXTURES:
        doc, real = _fixture(name)
        lines = [x for x in real if re.match(r"^    (slat|clat| lat) \(", x) or re.match(r"^     lat \(", x)]
        ours = []
        for j in doc["jobs"]:
            for _, d in _dirs_of(j):
                if not d["io_bytes"]:
                    continue
                for key, label in (("slat_ns", "slat"), ("clat_ns", "clat"), ("lat_ns", " lat")):
                    o = d[key]
                    if o["N"]:
                        ours.append(display_lat(label, o["min"], o["max"], o["mean"], o["stddev"]))
                        seen.add(lat_unit(o["min"], o["max"], o["mean"], o["stddev"])[0])
        assert ours == [x for x in lines][:len(ours)], name
    assert {"nsec", "usec"} <= seen
    # a 1.4 us minimum keeps a 400 us mean in nsec (fio's randrw run at iodepth 8 did that)
    assert lat_unit(1392, 11164000, 404053.35, 376376.88)[0] == "nsec"
    assert lat_unit(2001, 100000, 5e4, 1000.0)[0] == "nsec"  # stdev must exceed 1000
    assert lat_unit(2000001, 100000000, 5e7, 1000001.0)[0] == "msec"


def test_percentile_block_unit_width_and_rows():
    doc, real = _fixture("read")
    clat = doc["jobs"][0]["read"]["clat_ns"]
    pairs = [(float(k), v) for k, v in clat["percentile"].items()]
    start = real.index("    clat percentiles (nsec):")
    ours = clat_percentile_lines("clat", pairs, 2)
    assert ours == real[start:start + len(ours)]
    assert percentile_precision([1, 5, 99.5, 99.99]) == 2 and percentile_precision([50, 99, 99.9]) == 1
    assert percentile_precision([50.0, 99.0]) == 0
    # msec: the smallest value over 2 ms and the largest over 100 ms, values rounded up
    assert clat_percentile_lines("lat", [(50.0, 2_000_001), (99.0, 150_000_001)], 2) == [
        "    lat percentiles (msec):", "     | 50.00th=[    3], 99.00th=[  151]"]


# ---------------------------------------------------------------------------
# a simulated run's layout against fio's


_NUM = re.compile(r"\d+(?:\.\d+)?(?:[kKMGTPE]i?)?")


def _skeleton(lines: list[str]) -> list[str]:
    """Each line with its numbers replaced by ``#`` and padding collapsed; a percentile
    block's rows joined into one (fio fits as many to a row as their width allows); the
    ``lat (unit)`` distribution lines (one per unit that has I/Os, five bins a line) one
    line; the latency units a class; the job's name ``NAME``."""
    out: list[str] = []
    for line in lines:
        line = re.sub(r"^\S+: \(groupid=", "NAME: (groupid=", _HEADER_TAIL.sub("pid=PID: TIME", line))
        s = _NUM.sub("#", line)
        s = re.sub(r"\((nsec|usec|msec)\)", "(UNIT)", s)
        s = re.sub(r"\(\s*[KM]iB/s\)", "(UNIT/s)", s)
        s = re.sub(r"(?<=[=\[(]) +", "", s)
        if s.startswith("     |") and out and out[-1].startswith("     |"):
            out[-1] += s[len("     |"):]
            continue
        if s.startswith("  lat (UNIT)   : "):
            assert re.fullmatch(r"  lat \(UNIT\)   : [>=#]+%(, [>=#]+%){0,4}", s), line
            if out and out[-1] == "  lat (UNIT)   : ...":
                continue
            s = "  lat (UNIT)   : ..."
        out.append(s)
    return out


def _blocks(lines: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """fio's output split into its job blocks and its group blocks."""
    jobs: list[list[str]] = []
    groups: list[list[str]] = []
    cur = None
    for line in lines:
        if "(groupid=" in line and ": err=" in line:
            cur = [line]
            jobs.append(cur)
        elif line.startswith("Run status group "):
            cur = [line]
            groups.append(cur)
        elif not line:
            cur = None  # a blank line ends a block (fio's open none)
        elif cur is not None:
            cur.append(line)
    return jobs, groups


SIM = {"ioengine": "libaio", "bs": "4k", "runtime": "0.03", "bw_avg_time": 10, "iops_avg_time": 10}


def _sim_text(workload: dict, variants=("stack",)) -> str:
    cfg = load({"workload": {**SIM, **workload}, "allocator": {"variants": list(variants)},
                "sim": {"replications": 1}})
    return run(cfg, progress=False).text()


@pytest.mark.parametrize("name,workload", [
    ("read", {"name": "read", "rw": "read"}),
    ("randrw", {"name": "randrw", "rw": "randrw", "rwmixread": 70, "iodepth": 8}),
    ("noperc", {"name": "noperc", "rw": "randread", "bs": "128k", "iodepth": 4, "clat_percentiles": False}),
    ("allperc", {"name": "allperc", "rw": "randread", "iodepth": 16, "slat_percentiles": True,
                 "lat_percentiles": True, "percentile_list": [50, 99, 99.9]}),
])
def test_a_simulated_run_has_fios_layout(name, workload):
    _, real = _fixture(name)
    text = _sim_text(workload)
    ours = text.split("\n")
    fio_part = ours[:ours.index("", ours.index("Run status group 0 (all jobs):"))]
    assert _skeleton(fio_part) == _skeleton(real)
    # nvmesim's additions come after fio's block
    assert ours.index(f"nvmesim: {name} (group 0): variant=stack, replications=1") > len(fio_part)
    assert sum("(groupid=" in line for line in ours) == 1


def test_several_variants_are_groups_and_nvmesims_lines_follow_fios():
    _, real = _fixture("randrw")
    (real_job,), (real_group,) = _blocks(real)
    text = _sim_text({"name": "randrw", "rw": "randrw", "rwmixread": 70, "iodepth": 8},
                     variants=("legacy", "stack"))
    lines = text.split("\n")
    jobs, groups = _blocks(lines[:lines.index("nvmesim: randrw/legacy (group 0): variant=legacy, replications=1")])
    assert [j[0].split(":")[0] for j in jobs] == ["randrw/legacy", "randrw/stack"]
    assert ["(groupid=0," in jobs[0][0], "(groupid=1," in jobs[1][0]] == [True, True]
    assert [g[0] for g in groups] == ["Run status group 0 (all jobs):", "Run status group 1 (all jobs):"]
    for j in jobs:
        assert _skeleton(j) == _skeleton(real_job)
    for g in groups:
        assert _skeleton(g) == _skeleton(real_group)
    assert lines[0] == ""  # fio's output opens with a blank line
    assert text.index("Run status group 1") < text.index("variant=legacy") < text.index("variant=stack") \
        < text.index("deltas (stack vs legacy")


@pytest.mark.parametrize("fixture,unified,jobs", [("mixed", "both", 2), ("unified", "mixed", 1)])
def test_unified_reporting_on_a_simulated_run_has_fios_layout(fixture, unified, jobs):
    _, real = _fixture(fixture)
    cfg = load({"workload": {**SIM, "name": fixture, "rw": "randrw", "numjobs": jobs, "iodepth": 4,
                             "cpus_allowed": "0-1"},
                "allocator": {"variants": ["stack"]}, "sim": {"replications": 1}})
    result = run(cfg, progress=False)
    opts = report.NormalOptions(unified_rw_reporting=unified)
    ours = report.normal_output([report.JobBlock(result.group("stack"), 0, fixture, jobs)], opts)
    assert _skeleton(ours) == _skeleton(real)


def test_a_failed_variant_prints_no_fio_block_and_says_so_after_fios_part():
    cfg = load({"workload": {**SIM, "name": "job", "rw": "randread"}, "allocator": {"variants": ["stack"]},
                "sim": {"replications": 1}})
    reps = run(cfg, progress=False).replications["stack"]
    w = cfg.workload
    text = report.summary(w, {"legacy": [], "stack": reps}, {"legacy": ["RuntimeError: boom\n  trace"]}, [],
                          when=1_790_000_000.0)
    lines = text.split("\n")
    jobs, groups = _blocks(lines)
    assert [j[0].split(":")[0] for j in jobs] == ["job/stack"]
    assert "(groupid=1, jobs=1)" in jobs[0][0] and jobs[0][0].endswith(time.ctime(1_790_000_000.0))
    assert [g[0] for g in groups] == ["Run status group 1 (all jobs):"] and len(groups[0]) == 2
    failed = lines.index("nvmesim: job/legacy (group 0): variant=legacy: all replications failed")
    assert lines[failed + 1] == "  error: RuntimeError: boom"
    assert failed > lines.index("Run status group 1 (all jobs):")


@pytest.mark.parametrize("job,logs", [("edge", "edge_clat.*.log"), ("grp", "grp_clat.*.log")])
def test_latency_lines_from_histograms_match_fios_tables(job, logs):
    """The ``lat (unit)   :`` lines from histograms of fio's own per-I/O clat logs (the
    fixture of tests/test_stats.py) print the tables fio computed for the same I/Os."""
    j = job_of(fixture_doc(), job)
    hists = [LatencyHist.from_samples(int(line.split(",")[1]) for line in f.read_text().splitlines() if line.strip())
             for f in sorted(LOGS.glob(logs))]
    rec = JobResult(read=DirResult(total_ios=j["read"]["total_ios"], clat=hists[0]))
    for h in hists[1:]:
        rec.read.clat.merge(h)
    ours = report._latency_lines(rec)
    theirs = report._latency_lines(replace(rec, latency_ns=j["latency_ns"], latency_us=j["latency_us"],
                                           latency_ms=j["latency_ms"]))
    assert ours == theirs and ours
