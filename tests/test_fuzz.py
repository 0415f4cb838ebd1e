"""Fuzz suite (hypothesis) for nvmesim's promise on bad input: a config either loads or
fails with the project's located error — :class:`nvmesim.config.ConfigError` whose every
problem line is non-empty and names where (the file, ``--set``/``--vary`` or a dotted
path) — and never with any other exception, nor accepts nonsense silently (a bool, NaN or
infinity where a number belongs).

Targets: (1) YAML config files, (2) ``--set`` overrides (``load(mapping, {path: value})``
and ``parse_assignment`` on ``PATH=VALUE`` text), (3) sweep specs (``load_spec`` +
``expand``), (4) fio job files (``load_job_file``); plus a few command-line checks that
stop at validation (nothing is simulated in the fuzz loops).

Examples per target: ``NVMESIM_FUZZ_EXAMPLES`` (default 2000; the numeric-field sweep,
a small space, half that; the command-line checks at most 60); the ``slow`` variants
(``pytest -m slow tests/test_fuzz.py``) run ``NVMESIM_FUZZ_SLOW_EXAMPLES`` (default
20000).  Generation is derandomized, so a run is reproducible.  The default run takes
about 75 s on two cores; nearly all of it is hypothesis drawing the inputs (each
example's validation costs about a millisecond), so a strategy is kept to few draws.
"""

from __future__ import annotations

import math
import os
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

import nvmesim.cli
from nvmesim.api import load
from nvmesim.config import Config, ConfigError, load_config, parse_assignment, parse_vary
from nvmesim.config.fio_option_table import OPTIONS
from nvmesim.config.loader import load_job_file
from nvmesim.experiments.sweep import expand, load_spec

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("NVMESIM_FUZZ_EXAMPLES", "2000"))
N_SLOW = int(os.environ.get("NVMESIM_FUZZ_SLOW_EXAMPLES", "20000"))


def fuzz_settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


# --------------------------------------------------------------------------
# the schema's dotted paths


def _schema_paths(model: Any = Config, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        ann = field.annotation
        out[dotted] = ann
        args = [a for a in get_args(ann) if a is not type(None)] if get_origin(ann) in (Union, types.UnionType) \
            else [ann]
        for a in args:
            if get_origin(a) is list:
                (a,) = get_args(a) or (None,)
                if isinstance(a, type) and issubclass(a, BaseModel):
                    out.update(_schema_paths(a, f"{dotted}.0."))
            elif isinstance(a, type) and issubclass(a, BaseModel):
                out.update(_schema_paths(a, f"{dotted}."))
    return out


SCHEMA = _schema_paths()
PATHS = tuple(sorted(SCHEMA))
SECTIONS = tuple(sorted(Config.model_fields))


def _is_number_field(ann: Any) -> bool:
    args = [a for a in get_args(ann) if a is not type(None)] if get_origin(ann) in (Union, types.UnionType) \
        else [ann]
    return len(args) == 1 and args[0] in (int, float)


NUMERIC_PATHS = tuple(sorted(p for p, a in SCHEMA.items() if _is_number_field(a)))


def _fields(section: str) -> tuple[str, ...]:
    return tuple(sorted(p.split(".", 1)[1] for p in PATHS if p.startswith(section + ".") and p.count(".") == 1))


# --------------------------------------------------------------------------
# the located-error oracle


def assert_located(err: ConfigError, *names: str) -> None:
    """Every problem line is non-empty, a single line, and names where: one of ``names``
    (a file, ``--set``, ``--vary``, ``<dict>``) or a dotted path."""
    assert isinstance(err.problems, list) and err.problems, err
    for p in err.problems:
        assert isinstance(p, str) and p.strip(), err.problems
        assert "Traceback" not in p, p
        ok = any(n and n in p for n in names) or re.search(r"\b[a-z_]+\.[a-z_0-9]+\b", p)
        assert ok, f"unlocated problem: {p!r} (expected one of {names})"


def outcome(fn, *names: str) -> Any:
    """``fn()``'s result, or None after checking its ConfigError is located; any other
    exception fails the test."""
    try:
        return fn()
    except ConfigError as e:
        assert_located(e, *names)
        return None


def _nonsense_number(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, float) and not math.isfinite(v))


def _get(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(dotted)
    return data


def assert_no_nonsense(cfg: Config, given: dict[str, Any]) -> None:
    """A config that loaded holds no bool, NaN or inf in a numeric field it was given one for."""
    for path, v in given.items():
        if path in NUMERIC_PATHS and _nonsense_number(v):
            pytest.fail(f"{path}={v!r} accepted as {_get(cfg.model_dump(), path)!r}")


# --------------------------------------------------------------------------
# hostile values

NASTY_TEXT = (
    "4k", "16k", "1e3", "5e-2", "2024-02-30", "2024-02-29", "0x_", "0x10", "0o17", "1_000", "-1", "0", "1",
    "64", "1023", "99999999999999999999999", "-0", "1.5", ".5", "nan", "inf", "-inf", "true", "false", "yes",
    "no", "on", "off", "null", "~", "", " ", "\t", "1s", "10ms", "1.5s", "0-3", "0-", "3-0", "legacy", "stack",
    "io_uring", "libaio", "randread", "read", "tlc-dc", "optane", "é", "日本", "\u202e", "\x00", "a\nb",
    "${HOME}", "$ncpus", "%s", "{}", "[]", "[1, 2]", "12:30", "1:2:3", "16k/100", "4k-4k", "2**64",
)
#: the hostile scalars as one choice each (a draw is what costs in hypothesis: one
#: sampled_from is far cheaper than st.floats() or st.text(); those come in sometimes)
HOSTILE_SCALARS = (None, True, False, 0, 1, -1, 2 ** 31, 2 ** 63, 2 ** 64, 2 ** 70, -(2 ** 70), 10 ** 30, 0.5, 1.5,
                   -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf) + NASTY_TEXT
nasty_str = st.one_of(st.sampled_from(NASTY_TEXT), st.sampled_from(NASTY_TEXT), st.text(max_size=6))
hostile_scalar = st.one_of(
    st.sampled_from(HOSTILE_SCALARS), st.sampled_from(HOSTILE_SCALARS), st.sampled_from(HOSTILE_SCALARS),
    st.integers(), st.floats(), st.text(max_size=6),
)
hostile = st.one_of(
    hostile_scalar, hostile_scalar, hostile_scalar,
    st.lists(st.sampled_from(HOSTILE_SCALARS), max_size=3),
    st.dictionaries(st.sampled_from(NASTY_TEXT), st.sampled_from(HOSTILE_SCALARS), max_size=2),
    st.sampled_from(([[[[1]]]], {"a": {"b": {"c": None}}}, [{}], {"": 1}, [math.nan, True], {"iodepth": 4})),
)

YAML_SCALARS = (
    "4k", "1e3", "1.0e+3", "2024-02-30", "2024-02-29", "2001-12-14t21:59:43.10-05:00", "0x_", "0x10", "0o17",
    "017", "0b101", "1_000", "1:30", "-1", "0", "1", "64", "1023", "99999999999999999999999", ".nan", ".NaN",
    ".inf", "-.inf", "1e400", "true", "false", "yes", "no", "on", "off", "null", "~", "''", '""', "'4k'",
    '"\\x00"', '"\\t"', "é", "日本", "[1, 2]", "[]", "{}", "{a: 1}", "[[[[1]]]]", "- 1", "!!binary aGk=",
    "!!str 64", "!!int x", "!!float .5", "!!python/object:os.system x", "!!set {a, b}", "!!omap [a: 1]",
    "!!timestamp 2024-02-30", "&a 5", "*a", "*nope", "legacy", "[legacy, stack]", "[legacy, nope]", "tlc-dc",
    "randread", "io_uring", "10ms", "1s", "\"0-3\"", "0-3", "?", "|\n  text", ">-\n  folded", "'unterminated",
    "[unterminated", "{a: ", "@x", "`x", "%x", "a: b: c",
)
KEY_JUNK = ("", "null", "~", "true", "1", "0", "[a]", "{a: 1}", "<<", "é", "iodepht", "runtme", "Workload",
            "a.b", "'quoted'", "\"x\"", "? complex", "include", "jobs", "devices")


def yaml_key(section: str | None):
    real = _fields(section) if section else SECTIONS
    return st.one_of(st.sampled_from(real or ("x",)), st.sampled_from(KEY_JUNK))


@st.composite
def yaml_config_text(draw) -> bytes:
    """A config file's text: sections and keys mostly from the schema, values hostile,
    then a mutation (duplicates, tabs, anchors, bytes, other top levels)."""
    shape = draw(st.sampled_from(("mapping",) * 8 + ("empty", "list", "scalar", "comment", "raw")))
    if shape == "empty":
        return draw(st.sampled_from((b"", b"\n", b"---\n", b"--- \n...\n", b"# nothing\n", b"~\n", b"null")))
    if shape == "list":
        return b"- workload:\n    iodepth: 4\n- host: {}\n"
    if shape == "scalar":
        return draw(st.sampled_from(YAML_SCALARS)).encode()
    if shape == "raw":
        return draw(st.binary(max_size=40))
    lines: list[str] = []
    if shape == "comment":
        lines.append("# a comment")
    for section in draw(st.lists(st.one_of(st.sampled_from(SECTIONS), st.sampled_from(KEY_JUNK)), max_size=3)):
        form = draw(st.sampled_from(("block", "block", "flow", "scalar")))
        if form == "scalar":
            lines.append(f"{section}: {draw(st.sampled_from(YAML_SCALARS))}")
            continue
        keys = draw(st.lists(yaml_key(section if section in SECTIONS else None), max_size=3))
        vals = [draw(st.sampled_from(YAML_SCALARS)) for _ in keys]
        if form == "flow":
            lines.append(f"{section}: {{{', '.join(f'{k}: {v}' for k, v in zip(keys, vals))}}}")
        else:
            lines.append(f"{section}:")
            for k, v in zip(keys, vals):
                if section == "devices" and draw(st.booleans()):
                    lines.append(f"  - {k}: {v}")
                else:
                    lines.append(f"  {k}: {v}")
    for _ in range(draw(st.integers(0, 2))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        m = draw(st.sampled_from(("dup", "tab", "anchor", "alias", "merge", "indent", "byte", "deep", "crlf")))
        if m == "dup":
            lines.insert(i, lines[i])
        elif m == "tab":
            lines[i] = "\t" + lines[i]
        elif m == "anchor":
            lines[i] = lines[i].replace(":", ": &a", 1) if ":" in lines[i] else lines[i]
        elif m == "alias":
            lines.append("sim: *a")
        elif m == "merge":
            lines.insert(i, "  <<: *a" if draw(st.booleans()) else "<<: {sim: {seed: 1}}")
        elif m == "indent":
            lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
        elif m == "byte":
            lines[i] += draw(st.sampled_from(("\x00", "\x07", "\ufeff", "\udcff", "\x85")))
        elif m == "deep":
            n = draw(st.integers(1, 80))
            lines.append("workload: {name: " + "[" * n + "]" * n + "}")
        else:
            lines[i] += "\r"
    text = "\n".join(lines) + "\n"
    return text.encode("utf-8", errors="surrogateescape")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One directory for the whole module: each example overwrites the same files."""
    d = tmp_path_factory.mktemp("fuzz")
    (d / "valid.yaml").write_text("workload: {iodepth: 4, runtime: 10ms}\nsim: {replications: 1}\n")
    (d / "platform.yaml").write_text("host: {cores: 4}\n")
    (d / "inc.fio").write_text("iodepth=8\n")
    return d


# --------------------------------------------------------------------------
# (1) YAML config files


def _check_yaml(path: Path, blob: bytes) -> None:
    path.write_bytes(blob)
    cfg = outcome(lambda: load(path), str(path))
    if cfg is not None:
        assert isinstance(cfg, Config)
        try:
            data = yaml.safe_load(blob)
        except Exception:
            return
        if isinstance(data, dict):
            flat = {f"{s}.{k}": v for s, sec in data.items() if isinstance(sec, dict) for k, v in sec.items()}
            assert_no_nonsense(cfg, flat)


@fuzz_settings(N)
@given(blob=yaml_config_text())
def test_yaml_config(scratch, blob):
    _check_yaml(scratch / "cfg.yaml", blob)


@pytest.mark.slow
@fuzz_settings(N_SLOW)
@given(blob=yaml_config_text())
def test_yaml_config_slow(scratch, blob):
    _check_yaml(scratch / "cfg.yaml", blob)


# --------------------------------------------------------------------------
# (2) --set overrides

path_st = st.one_of(
    st.sampled_from(PATHS), st.sampled_from(PATHS), st.sampled_from(NUMERIC_PATHS),
    st.sampled_from(("workload", "host", "devices.0", "devices.5.node", "devices.x", "jobs.0.cpus_allowed",
                     "jobs.-1", "workload.iodepth.x", "nope", "workload.nope", "sim.seed.0", "a..b", ".a", "a.",
                     "0", "workload.0", "allocator.variants.0", "allocator.variants.9", "workload.__class__",
                     "é.ü", "x" * 40)),
)


def _check_set(base: dict, overrides: dict) -> None:
    cfg = outcome(lambda: load(base, overrides), "--set", "<dict>")
    if cfg is not None:
        assert isinstance(cfg, Config)
        assert_no_nonsense(cfg, overrides)


BASES = [{}, {"workload": {"iodepth": 4}}, {"devices": [{"preset": "tlc-dc"}, {"preset": "tlc-dc"}]},
         {"jobs": [{"cpus_allowed": "0"}]}, {"allocator": {"variants": ["legacy"]}}]


@fuzz_settings(N)
@given(base=st.sampled_from(BASES), overrides=st.dictionaries(path_st, hostile, max_size=3))
def test_set_mapping(base, overrides):
    _check_set(base, overrides)


@fuzz_settings(N)
@given(path=st.one_of(path_st, nasty_str), eq=st.sampled_from(("=", "=", "==", " = ", "")),
       value=st.one_of(st.sampled_from(YAML_SCALARS), nasty_str))
def test_set_text(path, eq, value):
    item = f"{path}{eq}{value}"
    try:
        key, parsed = parse_assignment(item)
    except ValueError as e:
        assert str(e).strip()
        return
    cfg = outcome(lambda: load({}, {key: parsed}), "--set", "<dict>")
    if cfg is not None:
        assert_no_nonsense(cfg, {key: parsed})


@fuzz_settings(N)
@given(path=st.one_of(path_st, st.builds(lambda a, b: f"{a}+{b}", path_st, path_st)),
       values=st.one_of(st.lists(st.sampled_from(NASTY_TEXT), min_size=0, max_size=4).map(",".join),
                        st.sampled_from(YAML_SCALARS)))
def test_vary_text(path, values):
    try:
        axis = parse_vary(f"{path}={values}")
    except ValueError as e:
        assert str(e).strip()
        return
    for v in axis.values[:3]:
        outcome(lambda: load({}, axis.overrides(v), origin="--vary"), "--vary", "<dict>")


NUMBERS = (True, False, None, 0, -1, 2 ** 31, 2 ** 63, 2 ** 64, 2 ** 70, -(2 ** 70), 10 ** 30, 1e308, -1e308,
           math.nan, math.inf, -math.inf, 0.5, "4k", "1e3", "", [1], {}, [True], [math.nan], [2 ** 70])


@fuzz_settings(max(N // 2, 1))  # (a small space: 134 paths x 25 values, ~3400 cases)
@given(path=st.sampled_from(NUMERIC_PATHS + ("workload.percentile_list", "allocator.cost.l1", "host.cores")),
       value=st.sampled_from(NUMBERS))
def test_set_number_fields(path, value):
    """Every numeric field against the numbers that are not: located, never a crash."""
    _check_set({}, {path: value})


@pytest.mark.slow
@fuzz_settings(N_SLOW)
@given(base=st.sampled_from(BASES), overrides=st.dictionaries(path_st, hostile, max_size=4))
def test_set_mapping_slow(base, overrides):
    _check_set(base, overrides)


# --------------------------------------------------------------------------
# (3) sweep specs

SPEC_KEYS = ("base", "set", "grid", "zip", "variants", "replications")
axis_name = st.one_of(
    st.sampled_from(("workload.iodepth", "workload.bs", "workload.numjobs", "sim.seed",
                     "workload.iodepth+workload.iodepth_batch_submit", "workload.iodepth+sim.seed",
                     "sim.seed+sim.seed", "workload.iodepth_batch_submit+workload.iodepth_batch_complete_min")),
    path_st, st.sampled_from(("", "+", "a+", "+a", "a..b")),
)
axis_values = st.one_of(
    st.lists(st.sampled_from(YAML_SCALARS[:40]), max_size=3).map(lambda v: "[" + ", ".join(v) + "]"),
    st.sampled_from(YAML_SCALARS),
)


@st.composite
def sweep_text(draw) -> str:
    lines = []
    base = draw(st.sampled_from(("file", "file", "inline", "inline", "list", "scalar", "missing", "dir", "none",
                                 "bad", "self")))
    lines.append({
        "file": "base: valid.yaml", "inline": "base: {workload: {iodepth: 4}, sim: {replications: 1}}",
        "list": "base: [valid.yaml]", "scalar": f"base: {draw(st.sampled_from(YAML_SCALARS))}",
        "missing": "base: nope.yaml", "dir": "base: .", "none": "", "bad": "base: cfg.yaml",
        "self": "base: spec.yaml",
    }[base])
    for key in draw(st.lists(st.sampled_from(SPEC_KEYS[1:] + ("grdi", "sets", "Base", "extra")), max_size=4,
                             unique=True)):
        if key in ("grid", "zip", "set", "grdi", "sets"):
            form = draw(st.sampled_from(("block", "block", "scalar", "list")))
            if form == "scalar":
                lines.append(f"{key}: {draw(st.sampled_from(YAML_SCALARS))}")
            elif form == "list":
                lines.append(f"{key}: [workload.iodepth, 4]")
            else:
                lines.append(f"{key}:")
                for _ in range(draw(st.integers(0, 2))):  # (two axes can overlap; three cost more than they find)
                    name = draw(axis_name)
                    v = draw(axis_values) if key != "set" else draw(st.sampled_from(YAML_SCALARS))
                    lines.append(f"  {name}: {v}")
        elif key == "variants":
            lines.append(f"variants: {draw(st.sampled_from(('[legacy]', '[legacy, stack]', '[]', 'legacy', '[nope]', '7', '[true]', '~')))}")
        elif key == "replications":
            lines.append(f"replications: {draw(st.sampled_from(('1', '2', '0', '-1', 'true', '1.5', '.nan', '4k', '~', '[1]', '1e3')))}")
        else:
            lines.append(f"{key}: {draw(st.sampled_from(YAML_SCALARS))}")
    if draw(st.booleans()) and len(lines) > 1:
        lines.insert(1, lines[draw(st.integers(0, len(lines) - 1))])  # a duplicate key, sometimes
    return "\n".join(lines) + "\n"


def _check_sweep(d: Path, text: str) -> None:
    spec = d / "spec.yaml"
    spec.write_text(text, errors="surrogateescape")
    points = outcome(lambda: expand(load_spec(spec)), str(spec), str(d / "valid.yaml"), str(d / "cfg.yaml"))
    if points is not None:
        assert points and all(isinstance(p.config, dict) for p in points)


@fuzz_settings(N)
@given(text=sweep_text())
def test_sweep_spec(scratch, text):
    _check_sweep(scratch, text)


@pytest.mark.slow
@fuzz_settings(N_SLOW)
@given(text=sweep_text())
def test_sweep_spec_slow(scratch, text):
    _check_sweep(scratch, text)


# --------------------------------------------------------------------------
# (4) fio job files

FIO_NAMES = tuple(sorted(OPTIONS))
REAL_FIO = ("ioengine", "direct", "rw", "bs", "iodepth", "runtime", "time_based", "numjobs", "cpus_allowed",
            "iodepth_batch_submit", "iodepth_batch_complete_min", "iodepth_batch_complete_max", "size", "io_size",
            "number_ios", "ramp_time", "filename", "rwmixread", "rwmixwrite", "bsrange", "bssplit", "readwrite",
            "percentile_list", "stonewall", "new_group", "group_reporting", "cpus_allowed_policy", "thread")
FIO_VALUES = ("io_uring", "libaio", "psync", "1", "0", "randread", "randrw", "read", "rw:4", "rw:x", "4k", "4K",
              "4kib", "0x10", "1.5", "1.5k", "-1", "", "10ms", "50ms", "1s", "0-3", "0-1:2", "split", "shared",
              "${NOPE}", "${HOME}", "$ncpus", "$pagesize", "$mb_memory", "4k-4k", "4k-8k", "4k/100", "4k/50:8k/50",
              "1:5:99.9", "nan", "inf", "99999999999999999999999", "é", "\t", "true", "/dev/nvme0n1", "1e3")
SECTION_NAMES = ("global", "global", "job", "job", "globalx", "nvme0", "", " ", "[x]", "é", "job]")


@st.composite
def job_file_text(draw) -> str:
    shape = draw(st.sampled_from(("ini",) * 9 + ("empty", "outside", "binary")))
    if shape == "empty":
        return draw(st.sampled_from(("", "\n", "; comment\n", "[global]\nioengine=io_uring\n")))
    lines = []
    if shape == "outside":
        lines.append("iodepth=4")
    if shape == "binary":
        lines.append(draw(st.binary(max_size=20)).decode("latin-1"))
    good = draw(st.booleans())
    for _ in range(draw(st.integers(1, 3))):
        lines.append(f"[{draw(st.sampled_from(SECTION_NAMES))}]")
        if good:
            lines += ["ioengine=io_uring", "direct=1", "runtime=10ms"]
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(("opt",) * 6 + ("flag", "typo", "include", "comment", "junk")))
            if kind == "opt":
                name = draw(st.one_of(st.sampled_from(REAL_FIO), st.sampled_from(FIO_NAMES)))
                lines.append(f"{name}{draw(st.sampled_from(('=', ' = ', '=')))}{draw(st.sampled_from(FIO_VALUES))}")
            elif kind == "flag":
                lines.append(draw(st.sampled_from(REAL_FIO)))
            elif kind == "typo":
                lines.append(f"{draw(st.sampled_from(('iodepht', 'run_time', 'blocksz', 'IODEPTH', 'direct ')))}=4")
            elif kind == "include":
                lines.append(f"include {draw(st.sampled_from(('inc.fio', 'nope.fio', 'job.fio', '', '/dev/null')))}")
            elif kind == "comment":
                lines.append(draw(st.sampled_from(("; x", "# x", "bs=4k ; trailing", "bs=4k # trailing"))))
            else:
                lines.append(draw(st.sampled_from(("=", "=4", "[", "]", "a=b=c", "\tbs=4k"))))
    return "\n".join(lines) + "\n"


def _check_job(d: Path, text: str, platform: bool) -> None:
    job = d / "job.fio"
    job.write_text(text, errors="surrogateescape")
    plat = d / "platform.yaml" if platform else None
    cfg = outcome(lambda: load_job_file(job, platform=plat), str(job), str(d / "inc.fio"), str(d / "platform.yaml"))
    if cfg is not None:
        assert isinstance(cfg, Config)


@fuzz_settings(N)
@given(text=job_file_text(), platform=st.booleans())
def test_job_file(scratch, text, platform):
    _check_job(scratch, text, platform)


@pytest.mark.slow
@fuzz_settings(N_SLOW)
@given(text=job_file_text(), platform=st.booleans())
def test_job_file_slow(scratch, text, platform):
    _check_job(scratch, text, platform)


# --------------------------------------------------------------------------
# the command line, up to validation (inputs that fail it: nothing is simulated)

runner = CliRunner()


def _cli_ok(result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@fuzz_settings(min(N, 60))
@given(blob=yaml_config_text().filter(lambda b: b"workload" not in b))
def test_cli_run_bad_config(scratch, blob):
    cfg = scratch / "cli.yaml"
    cfg.write_bytes(blob + b"\nnot_a_section: 1\n")  # never valid: run stops at validation
    _cli_ok(runner.invoke(nvmesim.cli.app, ["run", str(cfg), "-q"]))


@fuzz_settings(min(N, 60))
@given(item=st.builds(lambda p, v: f"{p}={v}", path_st, st.sampled_from(YAML_SCALARS)))
def test_cli_run_bad_set(scratch, item):
    args = ["run", str(scratch / "valid.yaml"), "-q", "--set", item, "--set", "nope.nope=1"]
    _cli_ok(runner.invoke(nvmesim.cli.app, args))


@fuzz_settings(min(N, 40))
@given(text=sweep_text())
def test_cli_sweep_bad_spec(scratch, text):
    spec = scratch / "cli-spec.yaml"
    spec.write_text(text + "not_a_key: 1\n", errors="surrogateescape")
    _cli_ok(runner.invoke(nvmesim.cli.app, ["sweep", str(spec), "--out", str(scratch / "out"), "-q"]))


@fuzz_settings(min(N, 40))
@given(item=st.builds(lambda p, v: f"{p}={v}", path_st, st.sampled_from(YAML_SCALARS + ("", ","))))
def test_cli_sensitivity_bad_vary(scratch, item):
    args = ["sensitivity", str(scratch / "valid.yaml"), "--vary", item, "--vary", "nope.nope=1,2"]
    _cli_ok(runner.invoke(nvmesim.cli.app, args))


# --------------------------------------------------------------------------
# regressions: what the fuzzer found


def test_include_with_nul_byte_is_located(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text('include: "a\\x00b"\n')
    with pytest.raises(ConfigError) as e:
        load(cfg)
    assert e.value.problems == [f"{cfg}:1: include: expected the path of a YAML config, got 'a\\x00b'"]


def test_path_with_nul_byte_is_located():
    with pytest.raises(ConfigError) as e:
        load_config("a\x00b.yaml")
    assert e.value.problems == ["'a\\x00b.yaml': cannot read: embedded null byte"]


@pytest.mark.parametrize("base, what", [("4k", "no such file"), (".", "is a directory")])
def test_sweep_base_that_is_not_a_file_is_located_in_the_spec(tmp_path, base, what):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"set: {{}}\nbase: {base}\n")
    with pytest.raises(ConfigError) as e:
        expand(load_spec(spec))
    assert e.value.problems == [f"{spec}:2: base: {base!r}: {what} (relative to {tmp_path}; expected a config "
                                "path or an inline mapping)"]


def test_job_file_including_itself_is_refused_at_once(tmp_path):
    job = tmp_path / "j.fio"
    job.write_text("[j]\nioengine=io_uring\ndirect=1\nruntime=1ms\n" + "include j.fio\n" * 3)
    with pytest.raises(ConfigError) as e:  # was 3**16 re-reads of j.fio (minutes), then "16 deep"
        load_job_file(job)
    assert e.value.problems == [f"{job}:{n}: [j] include: j.fio: includes itself (through {job})"
                                for n in (5, 6, 7)]


def test_job_file_include_cycle_through_another_file(tmp_path):
    job, inc = tmp_path / "j.fio", tmp_path / "a.inc"
    job.write_text("[j]\nioengine=io_uring\ndirect=1\nruntime=1ms\ninclude a.inc\n")
    inc.write_text("iodepth=2\ninclude j.fio\n")
    with pytest.raises(ConfigError) as e:
        load_job_file(job)
    assert e.value.problems == [f"{inc}:2: [j] include: j.fio: includes itself (through {job} -> {inc})"]


@pytest.mark.parametrize("preset", [[], {}, ["tlc-dc"]])
def test_device_preset_that_is_not_a_name_is_located(preset):
    with pytest.raises(ConfigError) as e:  # was TypeError: unhashable type
        load({"device": {"preset": preset}})
    assert e.value.problems == [f"<dict>: device.preset: expected 'tlc-dc', 'optane' or 'custom', got {preset!r}"]


@pytest.mark.parametrize("path, value, msg", [
    ("allocator.cost.lock_ns", math.inf, "Input should be a finite number, got inf"),
    ("allocator.cost.lock_ns", True, "expected a number, got True (a boolean)"),
    ("allocator.cost.call_ns", "4", "expected a number, got the string '4'"),
    ("allocator.cost.l1.ways", False, "expected an integer, got False (a boolean)"),
    ("allocator.cost.llc.latency_ns", math.nan, "Input should be a finite number, got nan"),
])
def test_cost_model_numbers_are_numbers(path, value, msg):
    # were accepted: lock_ns=inf simulated an infinite lock, True as 1.0
    section, _, key = path.rpartition(".")
    if section.endswith(("l1", "llc")):  # a cache level is given whole
        path, value = section, {"name": "x", "size_kib": 32, "ways": 8, "latency_ns": 1.0, key: value}
    with pytest.raises(ConfigError) as e:
        load({}, {path: value})
    assert e.value.problems == [f"--set: {section}.{key}: {msg}"]


@pytest.mark.parametrize("cores", [2 ** 70, 8193])
def test_host_cores_is_bounded(cores):
    with pytest.raises(ConfigError) as e:  # 2**70 was OverflowError from range(); 10**9 a list of a billion CPUs
        load({"host": {"cores": cores}})
    assert e.value.problems == [f"<dict>: host.cores: Input should be less than or equal to 8192, got {cores}"]


@pytest.mark.parametrize("item, msg", [(True, "got True (a boolean)"), ("99", "got the string '99'")])
def test_percentile_list_items_are_numbers(item, msg):
    with pytest.raises(ConfigError) as e:  # [true] was read as [1.0]
        load({"workload": {"percentile_list": [50, item]}})
    assert e.value.problems == [f"<dict>: workload.percentile_list: expected numbers, {msg}"]


def test_cpus_allowed_beyond_any_cpu_is_located():
    with pytest.raises(ConfigError) as e:  # was MemoryError: a list of 10**11 CPUs
        load({"workload": {"cpus_allowed": "0-99999999999"}})
    (p,) = e.value.problems
    assert p.startswith("<dict>: workload.cpus_allowed: CPU 99999999999 in '0-99999999999' does not exist: at most "
                        "8192 CPUs")
