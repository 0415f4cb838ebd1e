"""The CPU profile as perf shows it: ``perf report --stdio`` tables and folded stacks.

The simulator books CPU time into call chains (:data:`~nvmesim.stats.records.CALL_CHAINS`);
this module renders a profile of them

* as ``perf report --stdio -g none`` prints it (:func:`perf_report`): with children (the
  default: ``Children  Self  Command  Shared Object  Symbol``) or ``--no-children``
  (``Overhead  Command  Shared Object  Symbol``), perf's comment header, column widths,
  percentages and row order (perf without ``-g none`` also draws each entry's call
  graph beneath it; nvmesim's chains are in the folded stacks instead);
* as folded stacks (:func:`folded_stacks`, ``comm;a;b;c N``), the input of Brendan Gregg's
  ``flamegraph.pl``, inferno and speedscope.

What nvmesim puts where perf puts a sampled quantity, and why:

* **Event count**: the simulated CPU time in ns.  perf's ``cpu-clock`` software event
  counts ns (its sample period is the ns since the last sample), so ``# Event count
  (approx.)`` of a ``perf record -e cpu-clock`` run *is* the CPU time in ns; the event is
  named ``cpu-clock``.  Nothing is sampled: **Samples** is stated as what ``perf record``
  at its default 4000 Hz would take in that time (``event count / 250000``), and the
  header says so.  The folded counts are ns too (one line per chain, rounded to an
  integer ns), so ``flamegraph.pl --countname ns`` labels them right.
* **Command** (the task a sample is charged to, perf's ``comm``): a chain's context
  (its first symbol) decides it (:func:`command_of`).  fio's own code and the syscalls
  and task work it runs are the job thread's (``command``, ``fio``: fio's job processes
  keep fio's comm).  io-wq's workers are ``iou-wrk``, SQPOLL's thread ``iou-sqp``,
  kblockd's worker ``kworker`` (the kernel appends the owning pid, or the CPU, worker
  number and workqueue: ``iou-wrk-1234``, ``kworker/3:1H-kblockd``; nvmesim has neither
  pids nor a per-CPU profile, so it shows the name's fixed part).  Interrupt context
  (``nvme_irq``, the timer tick) is charged by perf to whatever task it interrupted.  The
  profile pools the interrupts of every core it covers (the job cores and their io-wq or
  SQPOLL cores) and does not record which task each one found running, so nvmesim shows
  them all under the job thread's command.  On a job core that is right for the tick
  (NOHZ: it only fires on a busy core, i.e. in the job thread) and for an NVMe
  interrupt that preempted the thread; on a real machine the share of ``nvme_irq`` that
  arrived while the core was idle is listed under ``swapper``, and an interrupt on an
  io-wq or SQPOLL CPU under that thread's name.
* **Idle**: perf samples an idle CPU in the idle task, ``swapper``; its deepest frame is
  the idle driver's (``intel_idle``, ``acpi_idle_do_entry``, ``pv_native_safe_halt``
  in a VM), all under the idle loop ``do_idle`` (kernel/sched/idle.c), which every idle
  CPU runs.  nvmesim models no idle driver, so the job cores' idle time (the profile's
  ``idle``) is one entry, ``swapper  [kernel.kallsyms]  [k] do_idle``, with Self ==
  Children, and the folded stack ``swapper;do_idle``.  Rows' Self then add up to 100% of
  the measured core time (the job cores' windows, and what their io-wq and SQPOLL
  threads ran: ReplicationResult.core_ns), as perf's do for ``perf record -a``.
* **Shared Object**: ``[kernel.kallsyms]`` and ``[k]`` for kernel symbols, ``fio`` and
  ``[.]`` for fio's own code (booked as one symbol, ``fio``).

Everything here is pure: strings in, strings out (the command line writes the files).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..stats.records import CALL_CHAINS, IDLE

#: perf record's default sampling frequency (``-F``, builtin-record.c's 4000 Hz) and the
#: cpu-clock period it stands for, in ns: how :func:`perf_report` states Samples.
PERF_FREQ_HZ = 4000
SAMPLE_PERIOD_NS = 1_000_000_000 // PERF_FREQ_HZ
#: The event whose count is CPU time in ns (perf's software event ``cpu-clock``).
EVENT = "cpu-clock"
KERNEL_DSO = "[kernel.kallsyms]"
#: fio's own code: its shared object (the fio binary) and the symbol it is booked as.
USER_SYMBOLS: Mapping[str, str] = {"fio": "fio"}
#: The idle task and the idle loop every idle CPU runs (kernel/sched/idle.c: do_idle).
IDLE_COMMAND = "swapper"
IDLE_SYMBOL = "do_idle"
#: A chain's context (its first symbol) -> the task perf charges it to; None: the job
#: thread's command (see the module docstring for interrupts).
CONTEXT_COMMAND: Mapping[str, str | None] = {
    "fio": None, "io_submit": None, "io_getevents": None, "io_uring_enter": None, "tctx_task_work": None,
    "nvme_irq": None, "__sysvec_apic_timer_interrupt": None, "blk_done_softirq": None,  # (the IPI's softirq)
    "io_wq_worker": "iou-wrk",   # io_uring/io-wq.c: io_wq_worker names it "iou-wrk-<pid>"
    "io_sq_thread": "iou-sqp",   # io_uring/sqpoll.c: io_sq_thread names it "iou-sqp-<pid>"
    "blk_mq_run_work_fn": "kworker",  # kernel/workqueue.c: a kblockd (WQ_HIGHPRI) pool's worker
}


def command_of(chain: str, command: str = "fio") -> str:
    """The task (perf's ``comm``) a chain's time is charged to, by its context: its
    first symbol (:data:`CONTEXT_COMMAND`; ``command`` for the job thread's own work and
    the interrupts it takes), ``swapper`` for idle.  A context without a rule is an error,
    so that a new chain gets one."""
    if chain == IDLE:
        return IDLE_COMMAND
    root = chain.split(";", 1)[0]
    if root not in CONTEXT_COMMAND:
        raise ValueError(f"call chain {chain!r}: no task is known for its context {root!r} (perf.CONTEXT_COMMAND)")
    return CONTEXT_COMMAND[root] or command


def shared_object(symbol: str) -> str:
    """perf's Shared Object of a symbol: the fio binary for fio's code, else the kernel."""
    return USER_SYMBOLS.get(symbol, KERNEL_DSO)


@dataclass(frozen=True)
class PerfEntry:
    """One row of ``perf report``: a (Command, Shared Object, Symbol) and its time in
    ns, its own (Self) and with everything it called (Children)."""

    command: str
    dso: str
    symbol: str
    self_ns: float
    children_ns: float

    @property
    def level(self) -> str:
        """perf's privilege mark (_hist_entry__sym_snprintf's ``[%c]``): k kernel, . user."""
        return "k" if self.dso == KERNEL_DSO else "."


def perf_entries(profile_ns: Mapping[str, float], command: str = "fio") -> list[PerfEntry]:
    """The profile's entries as perf builds them (hist_entry_iter__add, with
    ``--children`` the cumulative iterator): each chain's time is the Self of its last
    symbol and the Children of every distinct symbol in it, per (Command, Shared Object,
    Symbol); idle is ``swapper``'s ``do_idle``.  Chains never charged make no entry."""
    own: dict[tuple[str, str, str], float] = defaultdict(float)
    kids: dict[tuple[str, str, str], float] = defaultdict(float)
    for chain, ns in profile_ns.items():
        if not ns > 0:
            continue
        comm = command_of(chain, command)
        syms = [IDLE_SYMBOL] if chain == IDLE else chain.split(";")
        for sym in dict.fromkeys(syms):
            kids[(comm, shared_object(sym), sym)] += ns
        own[(comm, shared_object(syms[-1]), syms[-1])] += ns
    return [PerfEntry(c, d, s, own.get((c, d, s), 0.0), ns) for (c, d, s), ns in kids.items()]


def sort_entries(entries: Iterable[PerfEntry], children: bool = True) -> list[PerfEntry]:
    """perf's row order under ``-g none``: the sort keys are the overhead columns, then
    the default sort order ``comm,dso,symbol`` (sort.c: setup_overhead prefixes
    ``overhead_children`` and ``overhead``); periods descending (hpp__sort_overhead_acc,
    hpp__sort_overhead: without call graphs no caller-above-callee tie-break), names
    ascending (sort__comm_sort, sort__dso_sort, sort__sym_sort compare right to left
    and hists__output_resort puts the greater first).  ``--no-children`` drops entries
    with no Self: they had no sample of their own."""
    rows = [e for e in entries if children or e.self_ns > 0]
    if children:
        return sorted(rows, key=lambda e: (-e.children_ns, -e.self_ns, e.command, e.dso, e.symbol))
    return sorted(rows, key=lambda e: (-e.self_ns, e.command, e.dso, e.symbol))


@dataclass(frozen=True)
class Widths:
    """The sort columns' widths (util/hist.c: hists__calc_col_len, at least the header's
    length by perf_hpp__reset_sort_width)."""

    command: int
    dso: int
    symbol: int


def column_widths(entries: Sequence[PerfEntry]) -> Widths:
    """Command: the longest comm; Shared Object: the longest DSO name; Symbol: the longest
    name + 4 for ``[k] `` (hists__calc_col_len); each at least its header."""
    return Widths(
        command=max([len("Command"), *(len(e.command) for e in entries)]),
        dso=max([len("Shared Object"), *(len(e.dso) for e in entries)]),
        symbol=max([len("Symbol"), *(len(e.symbol) + 4 for e in entries)]),
    )


#: An overhead column's width (ui/hist.c: perf_hpp__reset_width gives OVERHEAD and
#: OVERHEAD_ACC len 8) and its entry: ``" %*.2f%%"`` at len - 2 (hpp__fmt).
_PCT_WIDTH = 8


def _pct(ns: float, total: float) -> str:
    percent = 100.0 * ns / total if total else 0.0  # __hpp__fmt: 0.0 when the total is 0
    return f" {percent:{_PCT_WIDTH - 2}.2f}%"


def header_lines(widths: Widths, children: bool = True) -> list[str]:
    """The column header, its dots and the closing ``#`` (ui/stdio/hist.c:
    hists__fprintf_standard_headers): columns joined by two spaces, overhead headers
    right-aligned (hpp__header_fn ``%*s``), sort headers left-aligned and padded to their
    width, the last one too (__sort__hpp_header ``%-*.*s``)."""
    over = [f"{'Children':>{_PCT_WIDTH}}", f"{'Self':>{_PCT_WIDTH}}"] if children else [f"{'Overhead':>{_PCT_WIDTH}}"]
    sort = [f"{'Command':<{widths.command}}", f"{'Shared Object':<{widths.dso}}", f"{'Symbol':<{widths.symbol}}"]
    dots = ["." * _PCT_WIDTH] * len(over) + ["." * widths.command, "." * widths.dso, "." * widths.symbol]
    return ["# " + "  ".join(over + sort), "# " + "  ".join(dots), "#"]


def entry_line(e: PerfEntry, total_ns: float, widths: Widths, children: bool = True) -> str:
    """One row (ui/stdio/hist.c: hist_entry__snprintf): every column after two spaces;
    percentages of the total (two decimals, right-aligned in 8); Command and Shared
    Object left-aligned and padded (hist_entry__comm_snprintf, _hist_entry__dso_snprintf
    ``%-*.*s``); the Symbol, the last column, ``[k] name`` unpadded
    (hist_entry__snprintf_alignment pads every column but the last)."""
    over = [_pct(e.children_ns, total_ns), _pct(e.self_ns, total_ns)] if children else [_pct(e.self_ns, total_ns)]
    cols = over + [f"{e.command:<{widths.command}.{widths.command}}", f"{e.dso:<{widths.dso}.{widths.dso}}",
                   f"[{e.level}] {e.symbol}"[:widths.symbol]]
    return "".join("  " + c for c in cols)


def convert_unit(value: int) -> tuple[int, str]:
    """perf's sample-count abbreviation (util/units.c: convert_unit): divide by 1000 while
    above 1000, up to G; ' ' when not divided."""
    unit = " "
    for u in "KMG":
        if value > 1000:
            value //= 1000
            unit = u
    return value, unit


def perf_report(profile_ns: Mapping[str, float], core_ns: float, children: bool = True, command: str = "fio",
                label: str | None = None) -> str:
    """``profile_ns`` (call chain -> ns, ``idle`` included) over ``core_ns`` (the measured
    core time its shares divide) as ``perf report --stdio -g none`` (``children=False``:
    ``--no-children``) prints it, per builtin-report.c: evlist__tty_browse_hists: the
    comment header (``# Total Lost Samples``, hists__fprintf_nr_sample_events' ``#
    Samples: N of event 'cpu-clock'`` / ``# Event count (approx.)``), the column header,
    the rows in perf's order, two empty lines and the closing tip line.  perf's first
    line, the pointer to perf.data's header, becomes nvmesim's statement of what the
    figures are (and ``label``, if given, says whose profile it is)."""
    entries = sort_entries(perf_entries(profile_ns, command), children)
    widths = column_widths(entries)
    count = int(round(core_ns))
    samples, unit = convert_unit(count // SAMPLE_PERIOD_NS)
    out = [f"# nvmesim: a simulated profile{' of ' + label if label else ''}; nothing was sampled.",
           f"# Event count: the simulated CPU time in ns (what {EVENT} counts); Samples: what",
           f"# perf record -F {PERF_FREQ_HZ} would take in that time.  Idle: {IDLE_COMMAND}'s {IDLE_SYMBOL};",
           "# interrupts: charged to the job thread.",
           "#", "#", "# Total Lost Samples: 0", "#",
           f"# Samples: {samples}{unit} of event '{EVENT}'",
           f"# Event count (approx.): {count}", "#"]
    out += header_lines(widths, children)
    out += [entry_line(e, core_ns, widths, children) for e in entries]
    out += ["", "", "#", "# (nvmesim: folded stacks for flame graphs: nvmesim run --profile-folded FILE)", "#"]
    return "\n".join(out) + "\n"


def folded_stacks(profile_ns: Mapping[str, float], command: str = "fio") -> str:
    """The profile as folded stacks, one line per chain charged: ``comm;a;b;c N`` with the
    task first (as stackcollapse-perf.pl writes perf's samples), the chain from its
    context down, and N the chain's CPU time in integer ns (rounded; a chain under half a
    ns is left out); idle is ``swapper;do_idle``.  Lines sorted, as stackcollapse-perf.pl
    prints them; flamegraph.pl, inferno and speedscope read it (``stack count`` split at
    the last space)."""
    lines = []
    known = {";".join(c) for c in CALL_CHAINS} | {IDLE}
    for chain, ns in profile_ns.items():
        if chain not in known:
            raise ValueError(f"{chain!r} is not a call chain of stats.records.CALL_CHAINS")
        n = int(round(ns)) if math.isfinite(ns) else 0
        if n > 0:
            stack = IDLE_SYMBOL if chain == IDLE else chain
            lines.append(f"{command_of(chain, command)};{stack} {n}")
    return "".join(line + "\n" for line in sorted(lines))


def folded_path(path: str, variant: str, variants: Sequence[str]) -> str:
    """Where ``--profile-folded PATH`` writes a variant's stacks: PATH itself when the run
    has one variant; else one file per variant, the variant inserted before PATH's
    extension (``out.folded`` -> ``out.legacy.folded``; ``out`` -> ``out.legacy``), so that
    each renders on its own and two compare with difffolded.pl."""
    if len(variants) <= 1:
        return path
    root, ext = os.path.splitext(path)
    return f"{root}.{variant}{ext}"
