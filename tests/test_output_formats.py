"""fio's output formats (``nvmesim run --output-format``): fio's names and combinations,
the order of the parts, terse version 3, the one fio document of a multi-variant run,
and the ``job options`` echo read back by real fio.

The oracles are Debian's fio 3.33 (run here when installed: skipped otherwise), a
captured real fio run printing terse and json+ together (``data/fio-terse-json.txt``,
``data/make_terse_fixture.sh``), the terse field names of fio's HOWTO
(``data/fio-terse-v3-fields.txt``, from ``/usr/share/doc/fio/HOWTO.rst.gz``) and fio's own
``fio_jsonplus_clat2csv``.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import DATA
from helpers import cli_in_process as nvmesim
from nvmesim.config import Workload
from nvmesim.output.fiojson import job_options
from nvmesim.output.formats import OutputFormatError, parse_output_format
from nvmesim.output.terse import TERSE_V3_FIELDS, TERSE_VERSION

FIO = shutil.which("fio")
needs_fio = pytest.mark.skipif(FIO is None, reason="fio (Debian package fio) not installed")
CLAT2CSV = shutil.which("fio_jsonplus_clat2csv")
HOWTO = Path("/usr/share/doc/fio/HOWTO.rst.gz")

TINY = """\
workload:
  name: tiny
  rw: randrw
  rwmixread: 70
  runtime: 5ms
  ramp_time: 1ms
  iodepth: 4
  bs: 16k
  bw_avg_time: 1
  iops_avg_time: 1
sim:
  replications: 2
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    p.write_text(TINY)
    return p


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def _split(text: str) -> tuple[list[str], dict | None, str]:
    """A combined output as (terse lines, the JSON document, what follows it)."""
    lines = text.splitlines(keepends=True)
    terse = [ln for ln in lines if ln.startswith(f"{TERSE_VERSION};")]
    rest = "".join(ln for ln in lines if not ln.startswith(f"{TERSE_VERSION};"))
    doc = None
    if rest.startswith("{"):
        doc, end = json.JSONDecoder().raw_decode(rest)
        rest = rest[end:]
    return terse, doc, rest


def _parts(text: str) -> list[str]:
    """The kinds of output in ``text`` in the order they first appear."""
    seen: list[str] = []
    for ln in text.splitlines():
        kind = ("terse" if ln.startswith("3;") else "json" if ln == "{" else
                "normal" if "(groupid=" in ln else None)
        if kind and kind not in seen:
            seen.append(kind)
    return seen


def _real_fio(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    target = tmp_path / "fio.dat"
    return subprocess.run([FIO, "--name=t", f"--filename={target}", "--size=1m", "--bs=64k", "--rw=read",
                           "--ioengine=psync", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)


# --------------------------------------------------------------------------
# --output-format: fio's names and combinations

ACCEPTED = ["normal", "terse", "minimal", "csv", "json", "json+", "json,normal", "terse,normal",
            "json+,terse", "normal,terse,json", "json,json+", "terse,terse", "csv,minimal,json+,normal"]
REFUSED = ["JSON", "Normal", "bogus", "json,", ",json", "", "json;normal", "json normal", "json++", "xml"]


@pytest.mark.parametrize("value,parts", [
    ("normal", {"normal"}), ("minimal", {"terse"}), ("csv", {"terse"}), ("json", {"json"}),
    ("json+", {"json", "json+"}), ("json,json+", {"json", "json+"}),
    ("normal,terse,json", {"normal", "terse", "json"}), ("terse,terse", {"terse"}),
])
def test_fio_names_select_parts_as_fio_sets_its_bits(value, parts):
    assert parse_output_format(value) == parts


@pytest.mark.parametrize("value", REFUSED)
def test_what_fio_refuses_is_refused(value):
    with pytest.raises(OutputFormatError):
        parse_output_format(value)


@needs_fio
def test_accepted_and_refused_as_real_fio_accepts_them(tmp_path):
    """Each value: real fio's --parse-only accepts it exactly when nvmesim does."""
    for value in ACCEPTED + REFUSED:
        proc = _real_fio(tmp_path, f"--output-format={value}", "--parse-only")
        try:
            parse_output_format(value)
            ours = True
        except OutputFormatError:
            ours = False
        assert (proc.returncode == 0) == ours, (value, proc.stderr)
        if not ours:
            assert "invalid output format" in proc.stderr


@pytest.mark.parametrize("value,fragment", [("JSON", "lower case"), ("json,", "''"), ("xml", "'xml'")])
def test_a_bad_name_is_a_located_error(tiny, value, fragment):
    proc = nvmesim("run", str(tiny), "--output-format", value, "-q")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("nvmesim: error: --output-format: invalid output format") and fragment in line


@pytest.fixture(scope="module")
def combined(tiny) -> str:
    """One run printed in every part, the options in an order fio does not print them."""
    return _ok(nvmesim("run", str(tiny), "--output-format", "normal,json+,terse", "-q")).stdout


@needs_fio
@pytest.mark.parametrize("value", ["json,normal", "terse,normal", "json+,terse", "normal,terse,json"])
def test_parts_come_in_real_fios_order(tmp_path, tiny, value):
    real = _real_fio(tmp_path, f"--output-format={value}")
    assert real.returncode == 0, real.stderr
    ours = _ok(nvmesim("run", str(tiny), "--output-format", value, "-q", "--set", "sim.replications=1"))
    assert _parts(ours.stdout) == _parts(real.stdout)
    assert len(_parts(ours.stdout)) == len(parse_output_format(value) - {"json+"})


def test_combined_output_holds_every_part_of_one_run(combined):
    terse, doc, rest = _split(combined)
    assert _parts(combined) == ["terse", "json", "normal"]
    assert [ln.split(";")[2] for ln in terse] == [j["jobname"] for j in doc["jobs"]]
    assert "bins" in doc["jobs"][0]["read"]["clat_ns"]  # json+
    assert rest.startswith("\n\n")  # the JSON's newline, then fio's blank line before normal
    assert "variant=legacy" in rest and "variant=stack" in rest


def test_output_file_gets_every_part(tiny, tmp_path):
    out = tmp_path / "all.txt"
    proc = _ok(nvmesim("run", str(tiny), "--output-format", "terse,json", "-o", str(out), "-q",
                       "--set", "sim.replications=1"))
    assert proc.stdout == ""
    terse, doc, rest = _split(out.read_text())
    assert len(terse) == 2 and len(doc["jobs"]) == 2 and rest == "\n"  # the JSON ends its line


# --------------------------------------------------------------------------
# terse, version 3

FIELD_NAMES = (DATA / "fio-terse-v3-fields.txt").read_text().strip().split(";")
DISK_FIELDS = FIELD_NAMES.index("disk_name")  # disk utilisation follows the job's fields


def _real_fixture() -> tuple[str, dict]:
    terse, doc, _ = _split((DATA / "fio-terse-json.txt").read_text())
    (line,) = terse
    return line, doc


def _named(line: str) -> dict[str, str]:
    fields = line.rstrip("\n").split(";")
    assert len(fields) == DISK_FIELDS, len(fields)
    return dict(zip(FIELD_NAMES, fields))


def test_field_names_are_fios_howto():
    if not HOWTO.exists():
        pytest.skip("fio's HOWTO not installed")
    text = gzip.decompress(HOWTO.read_bytes()).decode()
    (names,) = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("terse_version_3;")]
    assert names.split(";") == FIELD_NAMES


def test_field_count_is_real_fios():
    line, _ = _real_fixture()
    assert len(line.rstrip("\n").split(";")) == TERSE_V3_FIELDS == DISK_FIELDS == 121


@needs_fio
def test_field_count_is_live_fios(tmp_path, combined):
    real = _real_fio(tmp_path, "--output-format=terse", "--disk_util=0")
    assert real.returncode == 0, real.stderr
    (line,) = real.stdout.splitlines()
    assert line.startswith("3;fio-")  # fio's default terse version is 3
    ours, _, _ = _split(combined)
    assert {len(ln.rstrip("\n").split(";")) for ln in ours} == {len(line.split(";"))}


def _close(text: str, value: float, tol: float) -> bool:
    return abs(float(text.rstrip("%")) - value) <= tol


def check_terse_against_json(f: dict[str, str], job: dict, doc: dict) -> None:
    """The terse fields of ``f`` (by the HOWTO's names) against the same job's JSON, by
    fio's rules: what real fio's own pair must satisfy, and nvmesim's too."""
    assert f["terse_version_3"] == "3" and f["fio_version"] == doc["fio version"]
    assert (f["jobname"], int(f["groupid"]), int(f["error"])) == (job["jobname"], job["groupid"], job["error"])
    for ddir in ("read", "write"):
        d = job[ddir]
        assert int(f[f"{ddir}_kb"]) == d["io_kbytes"]
        assert int(f[f"{ddir}_bandwidth_kb"]) == d["bw"]
        assert int(f[f"{ddir}_runtime_ms"]) == d["runtime"]
        assert int(f[f"{ddir}_iops"]) == (1000 * d["total_ios"] // d["runtime"] if d["runtime"] else 0)
        for lat, min_key in (("slat", "slat_min_us"), ("clat", "clat_min_us"), ("lat", "tlat_min_us")):
            s = d[f"{lat}_ns"]
            prefix = f"{ddir}_{lat}" if lat != "lat" else f"{ddir}_lat"
            assert int(f[f"{ddir}_{min_key}"]) == s["min"] // 1000
            assert int(f[f"{prefix}_max_us"]) == s["max"] // 1000
            assert _close(f[f"{prefix}_mean_us"], s["mean"] / 1000, 1.1e-6)
            assert _close(f[f"{prefix}_dev_us"], s["stddev"] / 1000, 1.1e-6)
        pct = d["clat_ns"].get("percentile", {})
        slots = [f[f"{ddir}_clat_pct{i:02d}"] for i in range(1, 21)]
        plist = [float(p) for p in doc["jobs"][0]["job options"].get("percentile_list", "").split(":") if p] or \
            [float(k) for k in (pct or job["read"]["clat_ns"]["percentile"])]
        for slot, p in zip(slots, plist):
            key = "%f" % p
            assert slot == f"{key}%={pct.get(key, 0) // 1000}", (slot, key)
        assert slots[len(plist):] == ["0%=0"] * (20 - len(plist))
        assert int(f[f"{ddir}_bw_min_kb"]) == d["bw_min"] and int(f[f"{ddir}_bw_max_kb"]) == d["bw_max"]
        assert _close(f[f"{ddir}_bw_mean_kb"], d["bw_mean"], 1.1e-6)
        assert _close(f[f"{ddir}_bw_dev_kb"], d["bw_dev"], 1.1e-6)
        # agg%: the unrounded mean over the group's aggregate (one job per group: its bw)
        group = [j for j in doc["jobs"] if j["groupid"] == job["groupid"]]
        max_run = max(j[ddir]["runtime"] for j in group)
        agg_kib = (sum(j[ddir]["io_bytes"] for j in group) * 1000 // max_run if max_run else 0) // 1024
        share = min(100.0, d["bw_mean"] * 100 / agg_kib) if d["bw_samples"] and agg_kib else \
            (100.0 if d["bw_samples"] else 0.0)
        assert _close(f[f"{ddir}_bw_agg_pct"], share, 1e-5)
    assert _close(f["cpu_user"], job["usr_cpu"], 1.1e-6) and _close(f["cpu_sys"], job["sys_cpu"], 1.1e-6)
    assert [int(f[k]) for k in ("cpu_csw", "cpu_mjf", "cpu_minf")] == [job["ctx"], job["majf"], job["minf"]]
    depth_names = [n for n in FIELD_NAMES if n.startswith("iodepth_")]
    assert [f[n] for n in depth_names] == ["%3.1f%%" % v for v in job["iodepth_level"].values()]
    us_names = [n for n in FIELD_NAMES if re.fullmatch(r"lat_\d+us", n)]
    ms_names = [n for n in FIELD_NAMES if re.fullmatch(r"lat_(\d+ms|over_2000ms)", n)]
    us = list(job["latency_us"].values())
    # the first us bin also holds every I/O under 1 us (each ns bin clamped to >= 0.01 in JSON)
    assert _close(f[us_names[0]], us[0] + sum(job["latency_ns"].values()), 0.005 + 0.01 * 10)
    for name, v in zip(us_names[1:], us[1:]):
        assert _close(f[name], v, 0.0051), name
    for name, v in zip(ms_names, job["latency_ms"].values()):
        assert _close(f[name], v, 0.0051), name


def test_the_rules_hold_for_real_fio():
    """The check is fio's: real fio's terse line and JSON of one run satisfy it."""
    line, doc = _real_fixture()
    (job,) = doc["jobs"]
    assert job["read"]["bw_samples"] and job["write"]["total_ios"]  # both directions, sampled
    check_terse_against_json(_named(line), job, doc)


def test_nvmesims_terse_lines_follow_the_rules(combined):
    terse, doc, _ = _split(combined)
    assert len(terse) == len(doc["jobs"]) == 2
    for line, job in zip(terse, doc["jobs"]):
        f = _named(line)
        assert int(f["read_kb"]) and int(f["write_kb"]) and f["read_bw_mean_kb"] != "0.000000"
        check_terse_against_json(f, job, doc)


def test_variant_terse_is_its_jobs(tiny):
    proc = _ok(nvmesim("run", str(tiny), "--variant", "stack", "--output-format", "terse,json", "-q",
                       "--set", "sim.replications=1", "--set", "workload.numjobs=2",
                       "--set", "workload.percentile_list=[50, 99.5]", "--set", "workload.lat_percentiles=true",
                       "--set", "host.cores=4"))
    terse, doc, _ = _split(proc.stdout)
    assert len(terse) == len(doc["jobs"]) == 2  # the variant's jobs as fio reports them
    for line, job in zip(terse, doc["jobs"]):
        f = _named(line)
        # lat_percentiles: the terse slots are the lat histogram's (show_ddir_status_terse)
        lat = job["read"]["lat_ns"]["percentile"]
        assert [f[f"read_clat_pct{i:02d}"] for i in (1, 2, 3)] == [
            f"50.000000%={lat['50.000000'] // 1000}", f"99.500000%={lat['99.500000'] // 1000}", "0%=0"]


# --------------------------------------------------------------------------
# a multi-variant run: one fio document


@pytest.fixture(scope="module")
def multi(tiny, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("multi") / "all.json"
    _ok(nvmesim("run", str(tiny), "--output-format", "json+", "-o", str(out), "-q"))
    return out, json.loads(out.read_text())


def test_one_fio_document_one_job_per_variant(multi, tiny):
    from nvmesim.api import load

    _, doc = multi
    assert list(doc) == ["fio version", "timestamp", "timestamp_ms", "time", "jobs", "disk_util", "nvmesim"]
    assert [(j["jobname"], j["groupid"]) for j in doc["jobs"]] == [("tiny/legacy", 0), ("tiny/stack", 1)]
    assert all("nvmesim" not in j for j in doc["jobs"])  # nvmesim's extras: one top-level key
    extra = doc["nvmesim"]
    assert set(extra) == {"version", "config", "variants", "deltas", "partial"} and extra["partial"] is None
    assert extra["config"] == load(tiny).effective()
    assert list(extra["variants"]) == ["legacy", "stack"]
    for i, (v, e) in enumerate(extra["variants"].items()):
        assert (e["jobname"], e["groupid"], e["variant"], e["replications"]) == (f"tiny/{v}", i, v, 2)
        assert e["profile"]["self"] and e["pools"] and e["errors"] == [] and len(e["jobs"]) == 1
    assert extra["deltas"] and {d["variant"] for d in extra["deltas"]} == {"stack"}
    # bw_agg is per variant: each job is its group's whole bandwidth
    for j in doc["jobs"]:
        assert j["read"]["bw_agg"] == pytest.approx(min(100.0, int(j["read"]["bw_mean"]) * 100 / (j["read"]["bw"])),
                                                    abs=1e-5)


def _clat2csv(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Debian's tool with Debian's Python (it imports six; a stand-in if that is missing)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3"
    probe = subprocess.run([python, "-c", "import six"], capture_output=True, env=env)
    if probe.returncode != 0 or importlib.util.find_spec("six") is None and python != "/usr/bin/python3":
        shim = tmp_path / "shim"
        shim.mkdir(exist_ok=True)
        (shim / "six.py").write_text("def iteritems(d, **kw):\n    return iter(d.items(**kw))\n")
        env["PYTHONPATH"] = str(shim)
    return subprocess.run([python, CLAT2CSV, *args], capture_output=True, text=True, env=env, timeout=60,
                          check=True, cwd=tmp_path)


@pytest.mark.skipif(CLAT2CSV is None, reason="fio_jsonplus_clat2csv (Debian package fio) not installed")
def test_fio_jsonplus_clat2csv_reads_the_multi_variant_document(multi, tmp_path):
    out, doc = multi
    _clat2csv([str(out), str(tmp_path / "lat.csv")], tmp_path)
    written = sorted(p.name for p in tmp_path.glob("lat_job*.csv"))
    assert written == [f"lat_job{i}.csv" for i in range(len(doc["jobs"]))] == ["lat_job0.csv", "lat_job1.csv"]
    for i, job in enumerate(doc["jobs"]):
        rows = list(csv.reader((tmp_path / f"lat_job{i}.csv").read_text().splitlines(), skipinitialspace=True))
        header = rows[0]
        for ddir in ("read", "write"):
            col = header.index(f"{ddir}_clat_ns_count")
            assert sum(int(r[col]) for r in rows[1:] if r[col].strip()) == job[ddir]["clat_ns"]["N"] > 0
    checked = _clat2csv([str(out), str(tmp_path / "lat.csv"), "--validate"], tmp_path)
    assert checked.stdout.count("validated") == len(doc["jobs"])


def test_to_json_is_the_document(tiny):
    from nvmesim.api import load, run

    result = run(load(tiny, {"sim.replications": 1}))
    doc = result.to_json(timestamp=1_700_000_000)
    assert [j["jobname"] for j in doc["jobs"]] == ["tiny/legacy", "tiny/stack"]
    assert doc["jobs"][1]["read"]["total_ios"] == result.group("stack").read.total_ios
    assert doc["nvmesim"]["deltas"] == json.loads(json.dumps(doc["nvmesim"]["deltas"]))
    # the one-variant document is unchanged: the variant's jobs, its extras under "nvmesim"
    one = result.fio_json("stack")
    assert [j["jobname"] for j in one["jobs"]] == ["tiny"] and one["nvmesim"]["variant"] == "stack"


# --------------------------------------------------------------------------
# the job options echo, read back by real fio

#: fio's canonical names of the options nvmesim echoes under an alias (options.c)
FIO_CANONICAL = {"iodepth_batch_submit": "iodepth_batch", "iomem": "mem"}

ECHO_CASES = {
    "issue-15": dict(runtime=0.05),  # fio read "0.05" as 0 s
    "times": dict(runtime=1.5, ramp_time=0.0123, thinktime=250.0, thinktime_blocks=4, time_based=False),
    "rich": dict(ioengine="libaio", rw="randrw", rwmixread=70, bs="12k", iomem="mmaphuge", iodepth=64,
                 iodepth_batch_submit=16, iodepth_batch_complete_min=8, iodepth_batch_complete_max=16,
                 iodepth_low=4, numjobs=2, cpus_allowed="0-3", runtime=2.0, size="1m", number_ios=1000,
                 bw_avg_time=100, iops_avg_time=250, file_service_type="random",
                 percentile_list=[50.0, 99.0, 99.99999], lat_percentiles=True, slat_percentiles=True,
                 clat_percentiles=False),
    "uring": dict(ioengine="io_uring", hipri=True, sqthread_poll=True, sqthread_poll_cpu=3,
                  ring_taskrun="COOP_TASKRUN", runtime=0.0005),
}


def _fio_values(w: Workload) -> dict[str, object]:
    """What fio should hold for each echoed option, from the workload itself: times in
    fio's microseconds, sizes in bytes, flags 0/1, lists as floats."""
    out: dict[str, object] = {}
    for name, value in w.model_dump().items():
        if name in ("runtime", "ramp_time"):
            out[name] = round(value * 1e6)
        elif name == "thinktime":
            out[name] = round(value)
        elif isinstance(value, bool):
            out[name] = int(value)
        else:
            out[name] = value
    return out


def _parse_debug(stderr_and_out: str) -> dict[str, tuple[str, list[str]]]:
    """fio --debug=parse: per option handled, (the text it was given, the values it read)."""
    seen: dict[str, tuple[str, list[str]]] = {}
    current = None
    for ln in stderr_and_out.splitlines():
        m = re.search(r"\s__handle_option=([^,]+), type=\S+, ptr=(.*)$", ln)
        if m:
            current = m.group(1)
            text, outs = seen.get(current, (m.group(2), []))
            seen[current] = (text, outs)
            continue
        m = re.search(r"^parse\s+\d+\s+(?:ret=\d+, )?out=(\S+)$", ln)
        if m and current:
            seen[current][1].append(m.group(1))
    return seen


@needs_fio
@pytest.mark.parametrize("case", list(ECHO_CASES))
def test_real_fio_reads_the_echo_back_to_the_same_values(case, tmp_path):
    w = Workload(**ECHO_CASES[case])
    opts = job_options(w)
    assert "ring_taskrun" not in opts  # not a fio option: fio would drop the job
    job = tmp_path / "echo.fio"
    job.write_text(f"[{opts['name']}]\n" + "".join(f"{k}={v}\n" for k, v in opts.items() if k != "name"))
    proc = subprocess.run([FIO, "--debug=parse", "--parse-only", str(job)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and "Bad option" not in proc.stderr, proc.stdout + proc.stderr
    parsed = _parse_debug(proc.stdout + proc.stderr)
    want = _fio_values(w)
    fields = {"bwavgtime": "bw_avg_time", "iopsavgtime": "iops_avg_time"}
    for name, text in opts.items():
        if name == "name":
            continue
        fio_name = FIO_CANONICAL.get(name, name)
        assert fio_name in parsed, (name, sorted(parsed))
        given, outs = parsed[fio_name]
        assert given == text
        field = fields.get(name, name)
        if field == "direct":
            assert outs == ["1"]
        elif field == "percentile_list":
            assert [float(x) for x in outs] == pytest.approx(w.percentile_list, abs=1e-6)
        elif field in ("bs", "size", "io_size"):
            assert outs == [str(want[field])]
        elif outs:  # integers, times, flags; strings (rw, cpus_allowed, ...) have no out= line
            assert outs == [str(want[field])], (name, text, outs)
        else:
            assert given == str(want[field])
    if case == "issue-15":
        assert parsed["runtime"][1] == ["50000"]  # 50 ms, in fio's microseconds
