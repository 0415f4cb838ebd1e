"""fio job files (``.fio``) as a run's job sections, read the way fio reads them.

The parser follows fio's ``__parse_jobs_ini`` (init.c) and the option-string rules of
parse.c: a line is trimmed at its first ``;`` and then at its first ``#`` (``strip_blank_end``,
so a comment may follow an option), blank and comment lines are skipped, ``[name]`` opens
a section (everything between the brackets; a name starting with ``global`` is a global
section), ``include FILE`` inside a section reads FILE's lines as that section's options
(a path relative to the including file if it does not exist as given; no sections in an
included file), and an option outside any section is an error.  An option is ``key=value``
or a bare ``key`` (a flag); ``${VAR}`` is the environment variable (empty if unset:
``fio_option_dup_subs``) and ``$ncpus``/``$pagesize`` fio's keywords, here the simulated
host's (``fio_keyword_replace``; ``$mb_memory`` has no simulated value and is refused).

A job section's options are every global section's *before it*, in order, then its own
(``get_new_job`` copies the defaults as they stand when the section opens); a later
option wins.  Each option is then read by its fio name (aliases resolved with fio 3.33's
table, :mod:`.fio_option_table`): taken as the ``workload`` field of that name, checked
(``direct=1``), accepted without effect and echoed, or refused -- an unknown name with
the closest fio name, a fio option whose behaviour is not modelled, each located
``file:line: [section] option: problem`` and all of them reported at once.

The platform (host, driver, device(s), allocator, sim) comes from a YAML file (a config
without a ``workload`` section, e.g. ``configs/platforms/…``) or nvmesim's defaults.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from .fio_option_table import ALIASES as FIO_ALIASES
from .fio_option_table import ENGINE_OPTIONS, OPTIONS
from .fio_options import ALIASES, IGNORED, ONLY, REQUIRED
from .schema import PLACEMENT, Host, Workload
from .units import parse_size

#: what a bare flag means (fio's parse.c: a flag without a value is set)
FLAG = "1"
#: options that are fio's and take effect in a job file, beyond the workload's fields
_JOB_FILE_TAKEN = frozenset({"filename", "filename_format", "cpus_allowed_policy"})
#: options that split a job file into groups (run one after another, or reported apart)
GROUPING = ("stonewall", "wait_for_previous", "new_group")
#: fio's defaults where nvmesim's workload defaults differ (options.c, HOWTO)
FIO_DEFAULTS = {"rw": "read", "time_based": "0"}
#: a run that fio bounds by size alone: nvmesim's cap on its simulated time
NO_RUNTIME_CAP = "24h"
_KNOWN = frozenset(OPTIONS) | frozenset(ENGINE_OPTIONS)
_SECTION = re.compile(r"\[(.+)\]")
_DECIMAL = re.compile(r"^\s*\d+\.\d")
#: workload fields that are plain integers (fio's OPT_INT: str_to_decimal, so 4k and 0x10 are numbers)
_INT_FIELDS = {n: f.annotation in (int, int | None) for n, f in Workload.model_fields.items()}


class JobFileError(ValueError):
    """A job file that cannot be read as fio reads it; ``problems`` holds one located
    message per problem (``file:line: [section] option: what``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Option:
    """One option line: its key as written, its value (None: a bare flag) and where."""

    key: str
    value: str | None
    file: str
    line: int

    def where(self, section: str) -> str:
        return f"{self.file}:{self.line}: [{section}] {self.key}"


@dataclass
class Section:
    """A ``[name]`` section: its own options, includes expanded, in file order."""

    name: str
    file: str
    line: int
    options: list[Option] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        return self.name.startswith("global")  # init.c: strncmp(name, "global", 6)


def _strip(line: str) -> str:
    """fio's strip_blank_front + strip_blank_end: cut at the first ';', then at the first
    '#', then trim whitespace."""
    for mark in (";", "#"):
        cut = line.find(mark)
        if cut >= 0:
            line = line[:cut]
    return line.strip()


def _option(text: str, file: str, line: int) -> Option:
    key, eq, value = text.partition("=")
    return Option(key.strip(), value.strip() if eq else None, file, line)


def _read_lines(path: str, where: str) -> list[str]:
    from .yamlread import YamlProblem, read_text

    try:
        return read_text(path).splitlines()  # (bounded like a YAML config: /dev/zero)
    except YamlProblem as e:
        raise JobFileError([f"{where}: {path}: {e.msg.replace('not a config', 'not a job file')}"]) from None
    except OSError as e:
        raise JobFileError([f"{where}: cannot read {path}: {e.strerror}"]) from None
    except UnicodeDecodeError as e:
        raise JobFileError([f"{where}: {path} is not a text file: not UTF-8 (byte {e.start})"]) from None


def _include(section: Section, text: str, file: str, line: int, depth: int, chain: tuple[str, ...] = ()) -> list[str]:
    """An ``include FILE`` line of ``section``: FILE's options appended to it.  ``chain``:
    the files including it (real paths), so that a cycle is refused at once (re-reading
    a file that includes itself twice would double the work at every level)."""
    name = text[len("include"):].strip()
    path = name
    if not os.path.exists(path) and "/" in file:  # relative to the including file (init.c)
        path = os.path.join(os.path.dirname(file), name)
    where = f"{file}:{line}: [{section.name}] include"
    if depth > 16:
        return [f"{where}: includes nested more than 16 deep (a cycle?)"]
    if not os.path.exists(path):
        return [f"{where}: {name}: no such file"]
    chain = chain or (os.path.realpath(file),)
    if os.path.realpath(path) in chain:
        return [f"{where}: {name}: includes itself (through {' -> '.join(chain)})"]
    chain += (os.path.realpath(path),)
    problems = []
    for i, raw in enumerate(_read_lines(path, where), 1):
        t = _strip(raw)
        if not t:
            continue
        if t.startswith("["):
            problems.append(f"{path}:{i}: {t}: no new sections in included files (fio: included from {file}:{line})")
        elif t.startswith("include"):
            problems += _include(section, t, path, i, depth + 1, chain)
        else:
            section.options.append(_option(t, path, i))
    return problems


def parse_job_file(path: str | Path) -> list[Section]:
    """The sections of a job file, global ones included, in file order."""
    file = str(path)
    sections: list[Section] = []
    problems: list[str] = []
    for i, raw in enumerate(_read_lines(file, file), 1):
        text = _strip(raw)
        if not text:
            continue
        if text.startswith("["):
            m = _SECTION.fullmatch(text)
            if not m:
                problems.append(f"{file}:{i}: {text}: a section header is [name]")
                continue
            sections.append(Section(m.group(1), file, i))
            continue
        if not sections:
            problems.append(f"{file}:{i}: option <{text}> outside of [] job section (fio's words)")
            continue
        if text.startswith("include") and (len(text) == 7 or text[7].isspace()):
            problems += _include(sections[-1], text, file, i, 0)
            continue
        sections[-1].options.append(_option(text, file, i))
    if problems:
        raise JobFileError(problems)
    if not any(not s.is_global for s in sections):
        raise JobFileError([f"{file}: no job section (only [global] ones): fio would run nothing"])
    return sections


def effective_options(sections: list[Section]) -> list[tuple[Section, dict[str, Option]]]:
    """Each job section with its effective options by fio name: the global sections'
    before it, then its own, a later one winning (its key resolved through fio's aliases)."""
    defaults: dict[str, Option] = {}
    jobs = []
    for s in sections:
        own = dict(defaults) if not s.is_global else defaults
        for opt in s.options:
            own[fio_name(opt.key)] = opt
        if not s.is_global:
            jobs.append((s, own))
    return jobs


def fio_name(key: str) -> str:
    """fio's main name of an option key (its alias resolved); unknown keys as they are."""
    return FIO_ALIASES.get(key, key)


def _substitute(value: str, host_cores: int) -> tuple[str, str | None]:
    """``${VAR}`` and fio's keywords replaced; returns the text and a problem, if any."""
    value = re.sub(r"\$\{([^}]+)\}", lambda m: os.environ.get(m.group(1), ""), value)
    if "$mb_memory" in value:
        return value, "$mb_memory: the simulated host has no memory size"
    return value.replace("$ncpus", str(host_cores)).replace("$pagesize", "4096"), None


def _field_of(name: str) -> str:
    """The workload field a fio option sets (fio's and nvmesim's names differ for a few)."""
    return ALIASES.get(name, name)


def _single_bs(name: str, text: str) -> str | None:
    """bsrange=a-b / bssplit=size/pct: the one block size they allow, if only one."""
    if name == "bsrange":
        lo, _, hi = text.partition("-")
        return lo if lo and lo.lower() == (hi or lo).lower() else None
    parts = [p for p in text.split(":") if p]  # bssplit: one size at 100% (or no percentage)
    if len(parts) == 1:
        size, _, pct = parts[0].partition("/")
        if not pct or pct.strip() == "100":
            return size
    return None


def section_workload(section: Section, options: Mapping[str, Option], host_cores: int,
                     ignored: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Option], list[str],
                                                                dict[str, str]]:
    """One job section read into ``workload`` fields.  Returns the fields (as fio's
    option text), the option behind each field, the problems, and the options accepted
    without effect (echoed).  With ``ignored`` (a list), an option nvmesim does not model
    is left out and its location appended there instead of being a problem."""
    fields: dict[str, Any] = dict(FIO_DEFAULTS)
    origin: dict[str, Option] = {}
    problems: list[str] = []
    echo: dict[str, str] = {}
    direct = False
    for name, opt in options.items():
        where = opt.where(section.name)
        text, problem = _substitute(FLAG if opt.value is None or opt.value == "" else opt.value, host_cores)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        if name not in _KNOWN:
            close = difflib.get_close_matches(opt.key, sorted(_KNOWN | set(FIO_ALIASES)), n=1)
            problems.append(f"{where}: unknown option" + (f"; did you mean {close[0]!r}?" if close else
                                                           f" (not one of fio 3.33's)"))
            continue
        if name in GROUPING:
            if text != "0":
                echo[name] = text
            continue  # (the caller checks where groups start)
        if name in REQUIRED:
            direct = True
            if text not in REQUIRED[name]:
                problems.append(f"{where}: {text!r} is not simulated (nvmesim models {name}="
                                f"{' or '.join(REQUIRED[name])})")
            else:
                echo[name] = text
            continue
        if name in ONLY:
            if text not in ONLY[name]:
                problems.append(f"{where}: {text!r} is not modelled (only {', '.join(ONLY[name])}: each job "
                                "on a CPU of its own)")
            else:
                echo[name] = text
            continue
        if name in ("bsrange", "bssplit"):
            bs = _single_bs(name, text)
            if bs is None:
                (problems if ignored is None else ignored).append(
                    f"{where}: {text!r}: not modelled (one block size per run: a single size, e.g. bsrange=4k-4k "
                    "or bssplit=4k/100)")
                continue
            fields["bs"], origin["bs"] = bs, opt
            continue
        if name == "rw" and ":" in text:
            kind, _, nr = text.partition(":")
            if not nr.isdigit():
                problems.append(f"{where}: {text!r}: expected rw=TYPE[:N], N a count")
                continue
            text = kind  # the offset modifier: offsets change nothing nvmesim simulates
            echo["rw_offset_modifier"] = nr
        target = _field_of(name)
        if name in IGNORED and name not in _JOB_FILE_TAKEN:
            echo[name] = text
            continue
        if target not in Workload.model_fields or target in ("ring_taskrun", "echo"):
            (problems if ignored is None else ignored).append(f"{where}: not modelled")
            continue
        if name == "rwmixwrite":
            fields["rwmixread"], origin["rwmixread"] = str(100 - int(text)) if text.isdigit() else text, opt
            continue
        if name == "percentile_list":
            fields[target], origin[target] = [x for x in text.split(":") if x], opt
            continue
        if _DECIMAL.match(text):
            problems.append(f"{where}: {text!r}: fio's number parser stops at the decimal point (str_to_decimal: "
                            f"{text!r} reads as {text.split('.')[0]}, without its unit); write a whole number "
                            "with a unit (e.g. 1500ms, 1536k)")
            continue
        if _INT_FIELDS.get(target):  # fio's integer options take its number syntax (4k, 0x10)
            try:
                text = str(parse_size(text))
            except ValueError:
                pass  # (the field's own check says what was expected)
        fields[target], origin[target] = text, opt
    if "ioengine" not in fields:
        problems.append(f"{section.file}:{section.line}: [{section.name}] ioengine: fio's default (psync) is not "
                        "modelled; set ioengine=io_uring or ioengine=libaio")
    if not direct:
        problems.append(f"{section.file}:{section.line}: [{section.name}] direct: missing: fio's default is "
                        "buffered I/O (direct=0), which nvmesim does not simulate; the job needs direct=1")
    timed = fields.get("time_based") not in ("0", "false", "False")
    if "runtime" not in fields:
        if timed:
            problems.append(f"{section.file}:{section.line}: [{section.name}] time_based: needs a runtime")
        elif not any(k in fields for k in ("size", "io_size", "number_ios")):
            problems.append(f"{section.file}:{section.line}: [{section.name}] runtime: no runtime, size, io_size "
                            "or number_ios: fio would read the whole device, which nvmesim does not have")
        else:
            fields["runtime"] = NO_RUNTIME_CAP
    fields.setdefault("name", section.name)
    return fields, origin, problems, echo


def _validate(section: Section, fields: dict[str, Any], origin: Mapping[str, Option]) -> tuple[Workload | None,
                                                                                          list[str]]:
    """The section's workload, or each field's own check (units, ranges) as a located problem."""
    try:
        return Workload.model_validate(fields, context={"text": True}), []
    except ValidationError as e:
        out = []
        for err in e.errors():
            f = str(err["loc"][0]) if err["loc"] else ""
            opt = origin.get(f)
            where = opt.where(section.name) if opt else f"{section.file}:{section.line}: [{section.name}] {f}"
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            out.append(f"{where}: {msg}" + (f", got {got!r}" if isinstance(got, str) and repr(got) not in msg else ""))
        return None, out


def job_file_config(path: str | Path, platform: Mapping[str, Any] | None = None, *,
                    ignored: list[str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """A config dict for a job file over ``platform`` (a config dict without a workload
    section), and the location (``file:line: [section] option``) of every dotted path that
    came from the job file.  Raises :class:`JobFileError` listing every problem.  With
    ``ignored`` (a list), unmodelled options are left out and located there instead."""
    platform = dict(platform or {})
    host = platform.get("host") if isinstance(platform.get("host"), dict) else {}
    cores = int(host.get("cores", Host.model_fields["cores"].default))
    sections = parse_job_file(path)
    jobs = effective_options(sections)
    problems: list[str] = []
    entries: list[tuple[Section, dict[str, Any], dict[str, Option], Workload | None]] = []
    for k, (section, options) in enumerate(jobs):
        fields, origin, probs, echo = section_workload(section, options, cores, ignored)
        if k and any(g in echo for g in GROUPING):
            g = next(g for g in GROUPING if g in echo)
            problems.append(f"{options[g].where(section.name)}: not modelled (jobs in groups run one group after "
                            "another, or are reported apart; nvmesim runs one group: put each group in a file "
                            "of its own)")
        if echo:
            fields["echo"] = echo
        w, bad = _validate(section, fields, origin)
        problems += probs + bad
        entries.append((section, fields, origin, w))
    s0, f0, o0, w0 = entries[0]
    for section, fields, origin, w in entries[1:]:
        if w is None or w0 is None:
            continue
        for f in Workload.model_fields:
            if f not in PLACEMENT and getattr(w, f) != getattr(w0, f):
                opt = origin.get(f) or o0.get(f)
                where = (opt.where(section.name) if opt and opt in origin.values()
                         else f"{section.file}:{section.line}: [{section.name}] {f}")
                problems.append(f"{where}: {getattr(w, f)!r} differs from [{s0.name}]'s {getattr(w0, f)!r}: job "
                                f"sections that differ in {f} are not modelled yet (the jobs of one run share "
                                f"every option but {', '.join(PLACEMENT)})")
    if problems:
        raise JobFileError(problems)
    located: dict[str, str] = {}
    data = {k: v for k, v in platform.items() if k != "include"}
    one = len(entries) == 1
    data["workload"] = {k: v for k, v in f0.items() if one or k not in PLACEMENT}
    for f, opt in o0.items():
        if one or f not in PLACEMENT:
            located[f"workload.{f}"] = f"{opt.file}:{opt.line}: [{s0.name}] {opt.key}"
    if not one:
        data["jobs"] = [{k: v for k, v in fields.items() if k in PLACEMENT} for _, fields, _, _ in entries]
        for i, (section, _, origin, _) in enumerate(entries):
            for f, opt in origin.items():
                if f in PLACEMENT:
                    located[f"jobs.{i}.{f}"] = f"{opt.file}:{opt.line}: [{section.name}] {opt.key}"
    return data, located
