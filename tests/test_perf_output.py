"""perf's views of the CPU profile (nvmesim/output/perf.py): the ``perf report --stdio``
table and the folded stacks flame-graph tools read.

Checked against independent references:

* real ``perf report --stdio -g none`` output (perf 6.1, tests/data/perf/, made by
  tests/data/make_perf_fixture.sh): our header and rows are re-rendered from its parsed
  fields byte for byte, our column widths and row order are perf's on its rows, and our
  report has its line structure;
* perf's own test expectations (tools/perf/tests/shell/base_report/test_basic.sh: the
  regular expressions it checks ``perf report --stdio`` with), on perf's output and ours;
* the folded format as flamegraph.pl, speedscope and inferno parse it (``stack count``,
  split at the last space; frames split at ``;``), with a strict parser; and
  flamegraph.pl itself when it is on PATH (no Debian or PyPI package ships it, so CI
  skips that one test);
* the profile's own two views (stats/records.py: self_time, children_time): the table's
  entries add up to them symbol by symbol.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import cli_in_process, tiny_config
from nvmesim.api import load, run, run_replication
from nvmesim.output.perf import (
    CONTEXT_COMMAND, IDLE_COMMAND, IDLE_SYMBOL, KERNEL_DSO, SAMPLE_PERIOD_NS, PerfEntry, Widths, column_widths,
    command_of, convert_unit, entry_line, folded_path, folded_stacks, header_lines, perf_entries, perf_report,
    sort_entries,
)
from nvmesim.stats.records import CALL_CHAINS, IDLE, children_time, self_time

DATA = Path(__file__).parent / "data" / "perf"

# ---- perf's own expectations (tools/perf/tests/shell/base_report/test_basic.sh, common/patterns.sh)
RE_NUMBER = r"[0-9\.]+"
RE_EVENT_ANY = r"[\w\-\:\/_=,]+"
REGEX_LOST_SAMPLES_INFO = rf"#\s*Total Lost Samples:\s+{RE_NUMBER}"
REGEX_SAMPLES_INFO = rf"#\s*Samples:\s+(?:{RE_NUMBER})\w?\s+of\s+event\s+'{RE_EVENT_ANY}'"
REGEX_LINES_HEADER = r"#\s*Children\s+Self\s+Command\s+Shared Object\s+Symbol"
REGEX_LINES = rf"\s*{RE_NUMBER}%\s+{RE_NUMBER}%\s+\S+\s+\[kernel\.(?:vmlinux)|(?:kallsyms)\]\s+\[[k\.]\]\s+\w+"


def _all_patterns_found(text: str, patterns: list[str]) -> None:
    """check_all_patterns_found.pl: every pattern matches some line."""
    lines = text.splitlines()
    for p in patterns:
        assert any(re.search(p, line) for line in lines), p


# ---- profiles from real simulations, one per kind of context ----------------------
def _small_libaio(**workload):
    return {"workload": {"ioengine": "libaio", "bs": "12k", "iodepth": 100, "iodepth_batch_submit": 100,
                         "iodepth_batch_complete_min": 100, "runtime": "2ms", "ramp_time": "1ms", **workload},
            "device": {"preset": "optane"}, "host": {"noise": {"enabled": False}}}


SCENARIOS = {
    # io_uring with the host noise on: the job thread, its interrupts, the timer tick, idle
    "uring": lambda: tiny_config({"bs": "16k", "iodepth": 64, "iodepth_batch_submit": 16, "ramp_time": 0},
                                 device={"internal_gbps": 100.0, "link_gbps": 100.0}),
    # libaio beyond the tags: kblockd's worker dispatches the plug
    "kblockd": lambda: load({**_small_libaio(), "driver": {"queue_depth": 32}}),
    # io_uring beyond the tags: io-wq's workers on the idle CPU
    "io-wq": lambda: load({"workload": {"ioengine": "io_uring", "bs": "12k", "iodepth": 1020,
                                        "iodepth_batch_submit": 64, "iodepth_batch_complete_min": 64,
                                        "runtime": "5ms", "ramp_time": "1ms", "cpus_allowed": "0"},
                           "host": {"cores": 2, "noise": {"enabled": False}},
                           "driver": {"queue_depth": 256, "kernel": "6.8"}, "device": {"preset": "optane"}}),
    # SQPOLL: its own thread on its own CPU
    "sqpoll": lambda: load({"workload": {"ioengine": "io_uring", "bs": "12k", "iodepth": 64,
                                         "iodepth_batch_submit": 16, "iodepth_batch_complete_min": 16,
                                         "runtime": "5ms", "ramp_time": "0", "cpus_allowed": "0",
                                         "sqthread_poll": True},
                            "host": {"cores": 2, "noise": {"enabled": False}}, "device": {"preset": "optane"}}),
}
#: the context each scenario exists for, and the command perf shows it under
EXPECT = {"uring": ("nvme_irq", "fio"), "kblockd": ("blk_mq_run_work_fn", "kworker"),
          "io-wq": ("io_wq_worker", "iou-wrk"), "sqpoll": ("io_sq_thread", "iou-sqp")}


@pytest.fixture(scope="module")
def reps() -> dict:
    return {name: run_replication(make(), "legacy", 0) for name, make in SCENARIOS.items()}


# ---- the folded stacks --------------------------------------------------------------
#: one folded line, strictly: frames of no whitespace and no ';', joined by ';', one
#: space, a positive integer (flamegraph.pl: /^(.*)\s+?(\d+(?:\.\d*)?)$/; speedscope's
#: bg-flamegraph.ts: /^(.*) (\d+)$/; both split the stack at ';')
FOLDED_LINE = re.compile(r"^(?P<stack>[^\s;]+(?:;[^\s;]+)*) (?P<n>[1-9][0-9]*)$")


def parse_folded(text: str) -> dict[str, int]:
    """A strict reader of the folded format: every line a stack and a count, no blank or
    stray line, no stack twice, and the whole file newline-terminated."""
    assert text.endswith("\n"), "not newline-terminated"
    out: dict[str, int] = {}
    for i, line in enumerate(text.splitlines(), 1):
        m = FOLDED_LINE.match(line)
        assert m, f"line {i}: {line!r} is not 'frame;frame;... count'"
        assert m["stack"] not in out, f"line {i}: stack {m['stack']!r} twice"
        out[m["stack"]] = int(m["n"])
    return out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_folded_stacks_parse_strictly_and_hold_the_profiles_ns(reps, name):
    rep = reps[name]
    text = folded_stacks(rep.profile_ns)
    stacks = parse_folded(text)
    assert list(stacks) == sorted(stacks)  # stackcollapse-perf.pl's order
    context, comm = EXPECT[name]
    assert any(s.startswith(f"{comm};{context}") for s in stacks)
    want = {}
    for chain, ns in rep.profile_ns.items():
        if round(ns) > 0:
            first = IDLE_COMMAND if chain == IDLE else command_of(chain)
            want[f"{first};{IDLE_SYMBOL if chain == IDLE else chain}"] = round(ns)
    assert stacks == want  # every chain charged, its ns, under its task; nothing else
    total = sum(rep.profile_ns.values())
    assert abs(sum(stacks.values()) - total) <= 0.5 * len(stacks)
    assert sum(stacks.values()) == pytest.approx(rep.core_ns, rel=1e-6)


def test_flamegraph_pl_reads_the_folded_file(reps, tmp_path):
    """Brendan Gregg's flamegraph.pl, when installed (FLAMEGRAPH_PL or on PATH): no line
    ignored, and its root frame holds the file's total."""
    exe = os.environ.get("FLAMEGRAPH_PL") or shutil.which("flamegraph.pl")
    if not exe:
        pytest.skip("flamegraph.pl is not installed (no Debian or PyPI package ships it)")
    text = folded_stacks(reps["kblockd"].profile_ns)
    f = tmp_path / "out.folded"
    f.write_text(text)
    proc = subprocess.run([exe, "--countname", "ns", str(f)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    total = sum(parse_folded(text).values())
    assert f"<title>all ({total:,} ns, 100%)</title>" in proc.stdout


def test_a_folded_line_names_only_known_chains():
    with pytest.raises(ValueError, match="not a call chain"):
        folded_stacks({"fio;made_up": 5.0})


def test_every_context_has_a_task():
    roots = {c[0] for c in CALL_CHAINS}
    assert roots == set(CONTEXT_COMMAND)
    assert {command_of(";".join(c), "fio") for c in CALL_CHAINS} == {"fio", "iou-wrk", "iou-sqp", "kworker"}
    assert command_of(IDLE) == "swapper"
    assert command_of("nvme_irq;dma_pool_free", "myjob") == "myjob"
    with pytest.raises(ValueError, match="no task is known"):
        command_of("ksoftirqd;something")


def test_folded_paths():
    assert folded_path("out.folded", "legacy", ["legacy"]) == "out.folded"
    assert folded_path("d/out.folded", "stack", ["legacy", "stack"]) == "d/out.stack.folded"
    assert folded_path("out", "legacy", ["legacy", "stack"]) == "out.legacy"


# ---- the perf report table: its numbers ----------------------------------------------
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_tables_entries_are_perfs_two_views(reps, name):
    rep = reps[name]
    entries = perf_entries(rep.profile_ns)
    for e in entries:
        assert e.children_ns >= e.self_ns - 1e-9 * rep.core_ns
        assert (e.dso == KERNEL_DSO) == (e.level == "k") and (e.symbol == "fio") == (e.dso == "fio")
    # Self adds up to the measured core time, idle (swapper's do_idle) included
    assert sum(e.self_ns for e in entries) == pytest.approx(rep.core_ns, rel=1e-9)
    idle = [e for e in entries if e.command == IDLE_COMMAND]
    if rep.profile_ns[IDLE] > 0:
        assert [(e.symbol, e.self_ns, e.children_ns) for e in idle] == [(IDLE_SYMBOL, rep.profile_ns[IDLE],
                                                                       rep.profile_ns[IDLE])]
    # summed over tasks, each symbol's Self and Children are the records' two views
    own, kids = self_time(rep.profile_ns), children_time(rep.profile_ns)
    for sym in own:
        assert sum(e.self_ns for e in entries if e.symbol == sym) == pytest.approx(own[sym], rel=1e-12, abs=1e-9)
        assert sum(e.children_ns for e in entries if e.symbol == sym) == pytest.approx(kids[sym], rel=1e-12,
                                                                                      abs=1e-9)


ROW = re.compile(r"^ +(?P<c>\d+\.\d\d)% +(?:(?P<s>\d+\.\d\d)% +)?(?P<comm>\S+) +(?P<dso>\S+) +\[(?P<lvl>[k.])\] "
                 r"(?P<sym>\S+)$")


def _rows(text: str) -> list[re.Match]:
    return [m for m in map(ROW.match, text.splitlines()) if m]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_printed_table_reads_back(reps, name):
    rep = reps[name]
    for children in (True, False):
        text = perf_report(rep.profile_ns, rep.core_ns, children=children)
        rows = _rows(text)
        entries = sort_entries(perf_entries(rep.profile_ns), children)
        assert len(rows) == len(entries) > 0
        first = [float(m["c"]) for m in rows]  # Children, or Overhead with --no-children
        assert first == sorted(first, reverse=True)  # perf's order
        for m, e in zip(rows, entries):
            assert (m["comm"], m["dso"], m["sym"]) == (e.command, e.dso, e.symbol)
            assert float(m["c"]) == pytest.approx(100 * (e.children_ns if children else e.self_ns) / rep.core_ns,
                                                  abs=0.005)
            if children:
                assert float(m["c"]) >= float(m["s"])
        own = [float(m["s"] if children else m["c"]) for m in rows]
        assert sum(own) == pytest.approx(100.0, abs=0.005 * len(own))
        count = int(re.search(r"^# Event count \(approx\.\): (\d+)$", text, re.M)[1])
        assert count == round(rep.core_ns)


def test_run_result_perf_report_and_folded_stacks():
    cfg = tiny_config({"runtime": "3ms", "ramp_time": "1ms"}, sim={"replications": 2})
    result = run(cfg, progress=False)
    assert len(result.variants) == 2
    for v in result.variants:
        text = result.perf_report(v)
        assert f"{cfg.workload.name}/{v}, 2 replications" in text.splitlines()[0]
        _all_patterns_found(text, [REGEX_LOST_SAMPLES_INFO, REGEX_SAMPLES_INFO, REGEX_LINES_HEADER, REGEX_LINES])
        assert re.search(r"^# Overhead  Command", result.perf_report(v, children=False), re.M)
        reps = result.replications[v]
        pooled = {k: sum(r.profile_ns.get(k, 0.0) for r in reps) for k in reps[0].profile_ns}
        assert parse_folded(result.folded_stacks(v)) == parse_folded(folded_stacks(pooled))


# ---- the perf report table: perf's layout ----------------------------------------------
def _golden(name: str) -> list[str]:
    return (DATA / name).read_text().splitlines()


def _golden_parts(lines: list[str], children: bool):
    """perf's header block, its column header, dots, and parsed rows."""
    head = next(i for i, line in enumerate(lines) if line.startswith("# Children" if children else "# Overhead"))
    dots = lines[head + 1]
    widths = [len(d) for d in dots[2:].split("  ")]
    rows = []
    for line in lines[head + 3:]:
        if not line.strip():
            break
        rows.append(line)
    return head, widths, rows


def _parse_golden_row(line: str, widths: list[int], children: bool) -> tuple[PerfEntry, str]:
    """A perf row cut at its columns (two spaces before each, widths from the dots), and
    its privilege mark."""
    cols, pos = [], 0
    for i, w in enumerate(widths):
        pos += 2
        cols.append(line[pos:pos + w] if i < len(widths) - 1 else line[pos:])
        pos += w
    pct = [float(c.strip().rstrip("%")) for c in cols[:2 if children else 1]]
    comm, dso, sym = (c.rstrip() for c in cols[-3:])
    m = re.fullmatch(r"\[([k.])\] (.+)", sym)
    assert m, sym
    return PerfEntry(comm, dso, m[2], pct[-1], pct[0]), m[1]


@pytest.mark.parametrize("children,name", [(True, "children.txt"), (False, "self.txt")])
def test_perfs_own_rows_rerender_byte_for_byte(children, name):
    """Our header and row formatting, fed perf's parsed fields, give perf's lines exactly
    (right-aligned two-decimal percentages, padded Command and Shared Object, unpadded
    Symbol, the header padded to every width), and our width rule gives perf's widths."""
    lines = _golden(name)
    head, widths, rows = _golden_parts(lines, children)
    w = Widths(*widths[-3:])
    assert header_lines(w, children) == lines[head:head + 3]
    parsed = [_parse_golden_row(r, widths, children) for r in rows]
    entries = [e for e, _ in parsed]
    assert len(entries) > 20 and {e.dso for e in entries} >= {KERNEL_DSO, "libc.so.6"}
    for row, (e, level) in zip(rows, parsed):
        if level == e.level:
            assert entry_line(e, 100.0, w, children) == row
        else:  # perf marks an address it could not resolve by its map alone: [k] or [.] in [unknown]
            assert e.dso == "[unknown]"
    assert column_widths(entries) == w


def _resolved(e: PerfEntry) -> bool:
    return not re.fullmatch(r"(0x)?[0-9a-f]+", e.symbol)


@pytest.mark.parametrize("children,name", [(True, "children.txt"), (False, "self.txt")])
def test_our_row_order_is_perfs(children, name):
    """perf's own rows, sorted by our key, keep perf's order (unresolved addresses left
    out: perf does not order equal ones, sort__sym_sort's cmp_null)."""
    lines = _golden(name)
    _, widths, rows = _golden_parts(lines, children)
    entries = [e for e, _ in (_parse_golden_row(r, widths, children) for r in rows) if _resolved(e)]
    assert sort_entries(entries, children) == entries


@pytest.mark.parametrize("children,name", [(True, "children.txt"), (False, "self.txt")])
def test_the_report_has_perfs_line_structure(reps, children, name):
    """From ``# Total Lost Samples`` to the end our report is perf's, line kind by line kind;
    perf's test regexes match both; the Samples line is perf's for perf's own count."""
    golden = _golden(name)
    ours = perf_report(reps["kblockd"].profile_ns, reps["kblockd"].core_ns, children=children).splitlines()

    def kinds(lines: list[str]) -> list[str]:
        start = next(i for i, line in enumerate(lines) if line.startswith("# Total Lost Samples"))
        out: list[str] = []
        for line in lines[start:]:
            if line in ("#", ""):
                kind = line or "empty"
            elif re.match(r"^ +\d+\.\d\d%", line):
                kind = "row"
            elif re.match(r"^# \.+  \.", line):
                kind = "dots"
            elif re.match(r"^# (Children|Overhead)  ", line):
                kind = "header"
            elif line.startswith("# ("):
                kind = "tip"
            else:  # '# Total Lost Samples', '# Samples', '# Event count '
                kind = re.sub(r"[:(].*", "", line)
            if kind != "row" or out[-1:] != ["row"]:
                out.append(kind)
        return out

    assert kinds(ours) == kinds(golden)
    assert kinds(golden) == ["# Total Lost Samples", "#", "# Samples", "# Event count ", "#", "header", "dots", "#",
                             "row", "empty", "empty", "#", "tip", "#"]
    patterns = [REGEX_LOST_SAMPLES_INFO, REGEX_SAMPLES_INFO]
    patterns += [REGEX_LINES_HEADER, REGEX_LINES] if children else [r"#\s*Overhead\s+Command\s+Shared Object\s+Symbol"]
    _all_patterns_found("\n".join(golden), patterns)
    _all_patterns_found("\n".join(ours), patterns)
    # perf's Samples / Event count lines for perf's own count (hists__fprintf_nr_sample_events)
    count = int(next(line for line in golden if line.startswith("# Event count"))[len("# Event count (approx.): "):])
    n, unit = convert_unit(count // SAMPLE_PERIOD_NS)
    assert f"# Samples: {n}{unit} of event 'cpu-clock'" in golden
    assert convert_unit(999) == (999, " ") and convert_unit(1000) == (1000, " ") and convert_unit(1001) == (1, "K")
    assert convert_unit(2_500_000) == (2, "M")


# ---- the command line --------------------------------------------------------------------
TINY = "workload:\n  runtime: 3ms\n  ramp_time: 1ms\n  iodepth: 4\n  bs: 16k\nsim:\n  replications: 1\n"


def test_run_writes_one_folded_file_per_variant(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    out = tmp_path / "out.folded"
    proc = cli_in_process("run", str(cfg), "-q", "--output-format", "json", "--profile-folded", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not out.exists()
    files = sorted(p.name for p in tmp_path.glob("out.*.folded"))
    assert files == ["out.legacy.folded", "out.stack.folded"]
    for f in files:
        assert parse_folded((tmp_path / f).read_text())
    one = tmp_path / "one.folded"
    proc = cli_in_process("run", str(cfg), "-q", "--variant", "stack", "--profile-folded", str(one))
    assert proc.returncode == 0, proc.stderr
    assert one.read_text() == (tmp_path / "out.stack.folded").read_text()  # same seed, same profile


@pytest.mark.parametrize("where,message", [("missing/out.folded", "no such directory"), (".", "is a directory")])
def test_a_bad_folded_path_is_a_located_error_before_the_run(tmp_path, where, message):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY.replace("3ms", "10s"))  # it would take minutes: the error must come first
    proc = cli_in_process("run", str(cfg), "-q", "--profile-folded", str(tmp_path / where))
    assert proc.returncode == 2
    assert "--profile-folded" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_folded_file_that_cannot_be_written_is_reported_after_the_result(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    (tmp_path / "out.stack.folded").mkdir()  # the second variant's file cannot be opened
    proc = cli_in_process("run", str(cfg), "-q", "--output-format", "json", "--profile-folded",
                          str(tmp_path / "out.folded"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"--profile-folded: cannot write {tmp_path / 'out.stack.folded'}: Is a directory" in proc.stderr
    assert '"jobs"' in proc.stdout and '"nvmesim"' in proc.stdout  # the result itself is out
    assert parse_folded((tmp_path / "out.legacy.folded").read_text())


def test_an_empty_profile_is_an_empty_table():
    text = perf_report({}, 0.0)
    assert not _rows(text) and "# Samples: 0  of event 'cpu-clock'" in text and "# Event count (approx.): 0" in text
    assert folded_stacks({IDLE: 0.0}) == ""
