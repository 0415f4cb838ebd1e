"""Loading a config: one YAML reader with line numbers (config files, sweep files and
their base configs all go through it), validation into :class:`~.schema.Config`, and
located errors: ``file:line: dotted.path: what was expected``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from . import yamlread
from .overrides import OverrideError, apply_overrides
from .schema import Config, CrossFieldError


class ConfigError(Exception):
    """Invalid configuration; ``str()`` is one located message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def yaml_with_lines(text: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML text; also return the line of every mapping key and list item, by
    dotted path (``"workload.iodepth" -> 12``); :mod:`.yamlread` (duplicate keys, keys
    that are not names and values PyYAML cannot construct are errors; size, depth and
    alias expansion are bounded).  Raises :class:`.yamlread.YamlProblem` or yaml.YAMLError."""
    return yamlread.yaml_with_lines(text)


def _fields_at(path: tuple) -> list[str]:
    """Known keys of the section a dotted path points into (for suggestions)."""
    model: Any = Config
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return []
    return list(getattr(model, "model_fields", {}))


def _describe(err: dict) -> str:
    typ, msg = err["type"], err["msg"]
    if typ == "extra_forbidden":
        known = _fields_at(err["loc"])
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key{hint} (expected one of: {', '.join(known)})"
    if typ == "missing":
        return "required key is missing"
    if typ in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (a section of keys), got {err.get('input')!r}"
    if typ in ("list_type", "tuple_type"):
        return f"expected a list, got {err.get('input')!r}"
    if typ == "literal_error":
        return f"expected {msg.removeprefix('Input should be ')}, got {err.get('input')!r}"
    msg = msg.removeprefix("Value error, ")
    if "input" in err and typ not in ("value_error",) and not isinstance(err["input"], dict):
        return f"{msg}, got {err['input']!r}"
    return msg


def locate(source: str, lines: Mapping[str, int], dotted: str) -> str:
    """``file:line`` of a dotted path (or of its nearest ancestor with a line), else ``file``."""
    p = dotted
    while p:
        if p in lines:
            return f"{source}:{lines[p]}"
        p = p.rpartition(".")[0]
    return source


def config_from_dict(
    data: Any, source: str = "<dict>", lines: Mapping[str, int] | None = None,
    overridden: Iterable[str] | Mapping[str, str] = (), *, text: bool = False,
) -> Config:
    """Validate a plain dict into a :class:`Config`; raise :class:`ConfigError` with located messages.

    ``overridden`` names the dotted paths that did not come from ``source``: problems under
    them are located at ``--set`` (an iterable of paths) or at the location each maps to
    (a mapping: path -> ``"sweep.yaml:7"``).  ``text``: the values came from a text
    format (a fio job file, fio's JSON job options), so a number written as a string is
    read; elsewhere it is an error (schema: ``_Section._strict_numbers``)."""
    lines = lines or {}
    origin = dict(overridden) if isinstance(overridden, Mapping) else dict.fromkeys(overridden, "--set")

    def where(path: str) -> str:
        p = path
        while p:
            if p in origin:
                return origin[p]
            if p in lines:
                break
            p = p.rpartition(".")[0]
        return locate(source, lines, path)

    if data is None:
        raise ConfigError([f"{source}: the file is empty; expected a mapping with sections "
                           f"{', '.join(Config.model_fields)}"])
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a mapping with sections {', '.join(Config.model_fields)}, "
                           f"got {type(data).__name__}"])
    try:
        return Config.model_validate(data, context={"text": text})
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            ctx_err = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_err, CrossFieldError):
                path = ctx_err.path
                problems.append(f"{where(path)}: {path}: {ctx_err.msg}")
                continue
            path = ".".join(str(x) for x in loc) or "(top level)"
            problems.append(f"{where(path)}: {path}: {_describe(err)}")
        raise ConfigError(problems) from None


def read_yaml(path: str | Path) -> tuple[Any, dict[str, int]]:
    """Read a YAML file: its data and the line of every dotted path.  A file that cannot
    be read, is not UTF-8 or is not valid YAML raises a located :class:`ConfigError`."""
    source = str(path)
    try:
        if Path(path).is_dir():
            raise ConfigError([f"{source}: cannot read: is a directory (expected a YAML file)"])
        text = yamlread.read_text(source)
    except OSError as e:
        raise ConfigError([f"{source}: cannot read: {e.strerror}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"{source}: not a YAML text file: not UTF-8 (byte {e.start})"]) from None
    except yamlread.YamlProblem as e:
        raise ConfigError([f"{source}: {e.msg}"]) from None
    except ValueError as e:  # a NUL in the path: "embedded null byte"
        raise ConfigError([f"{source!r}: cannot read: {e}"]) from None
    try:
        return yaml_with_lines(text)
    except yamlread.YamlProblem as e:
        raise ConfigError([f"{source}:{e.line}: {e.msg}" if e.line else f"{source}: {e.msg}"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError([f"{loc}: not valid YAML: {problem}"]) from None


def _merge(base: dict, top: dict) -> dict:
    """``top`` over ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_with_includes(path: str | Path, _seen: tuple[str, ...] = ()) -> tuple[Any, dict[str, int], dict[str, str]]:
    """Read a YAML config and the file its top-level ``include:`` names (a path relative
    to it, e.g. a platform file from ``nvmesim calibrate``), the including file's values
    over the included one's.  Returns the data, the lines of this file's paths, and the
    location (``file:line``) of every path that came from an included file."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict) or "include" not in data:
        return data, lines, {}
    inc = data.pop("include")
    here = locate(str(path), lines, "include")
    if not isinstance(inc, str) or not inc or "\x00" in inc:
        raise ConfigError([f"{here}: include: expected the path of a YAML config, got {inc!r}"])
    target = (Path(path).parent / inc)
    key = str(target.resolve())
    if key in _seen or key == str(Path(path).resolve()):
        raise ConfigError([f"{here}: include: {inc} includes itself (through {' -> '.join(_seen) or path})"])
    if not target.is_file():
        raise ConfigError([f"{here}: include: {inc}: no such file (relative to {Path(path).parent or '.'})"])
    base, base_lines, base_origin = read_with_includes(target, _seen + (str(Path(path).resolve()),))
    if not isinstance(base, dict):
        raise ConfigError([f"{target}: an included config must be a mapping of sections"])
    origin = dict(base_origin)
    for dotted, line in base_lines.items():
        if dotted not in lines and dotted not in origin:
            origin[dotted] = f"{target}:{line}"
    return _merge(base, data), lines, origin


def _overridden(data: dict, overrides: Mapping[str, Any], origin: str) -> dict:
    """``apply_overrides``, its path errors located at ``origin``."""
    try:
        return apply_overrides(data, overrides)
    except OverrideError as e:
        raise ConfigError([f"{origin}: {e}"]) from None


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None, *, origin: str = "--set") -> Config:
    """Load and validate a YAML config (with its ``include:``, see
    :func:`read_with_includes`); ``overrides`` maps dotted paths to values (their errors
    are located at ``origin``)."""
    data, lines, included = read_with_includes(path)
    if overrides:  # on top of a valid file only: never instead of reporting its errors
        config_from_dict(data, str(path), lines, included)
        data = _overridden(data, overrides, origin)
    return config_from_dict(data, str(path), lines, {**included, **dict.fromkeys(overrides or (), origin)})


def is_job_file(path: str | Path) -> bool:
    """A fio job file rather than a YAML config: named ``.fio``, or not ``.yaml``/``.yml``
    and its first line that is not blank or a comment opens a ``[section]``."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return False
    if suffix == ".fio":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", errors="replace")  # (bounded: /dev/zero)
    except OSError:
        return False
    for line in head.splitlines():
        text = line.split(";")[0].split("#")[0].strip()
        if text:
            return text.startswith("[")
    return False


def load_job_file(path: str | Path, overrides: Mapping[str, Any] | None = None, *,
                  platform: str | Path | None = None, origin: str = "--set",
                  ignored: list[str] | None = None) -> Config:
    """A fio job file's jobs on a platform: the YAML file ``platform`` (host, driver,
    device(s), allocator, sim; no workload) or nvmesim's defaults (see :mod:`.jobfile`).
    Problems are located in the job file (``file:line: [section] option``), the platform
    file, or at ``origin`` for ``overrides``.  With ``ignored`` (a list), options nvmesim
    does not model are left out and their locations appended to it, instead of refused."""
    from .jobfile import JobFileError, job_file_config

    pdata, plines, pincluded = read_with_includes(platform) if platform is not None else ({}, {}, {})
    if platform is not None and not isinstance(pdata, dict):
        raise ConfigError([f"{platform}: a platform is a mapping of sections (host, driver, device, devices, "
                           "allocator, sim)"])
    for key in ("workload", "jobs"):
        if key in pdata:
            raise ConfigError([f"{locate(str(platform), plines, key)}: {key}: a platform for a job file has no "
                               f"{key} section (the job file is the workload)"])
    try:
        data, located = job_file_config(path, pdata, ignored=ignored)
    except JobFileError as e:
        raise ConfigError(e.problems) from None
    where = {p: f"{platform}:{line}" for p, line in plines.items()}
    where.update(pincluded)
    where.update(located)
    if overrides:  # on top of a valid job file only
        config_from_dict(data, str(path), {}, where, text=True)
        data = _overridden(data, overrides, origin)
    return config_from_dict(data, str(path), {}, {**where, **dict.fromkeys(overrides or (), origin)}, text=True)


def load(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None, *,
         origin: str = "--set", platform: str | Path | None = None, ignored: list[str] | None = None) -> Config:
    """A validated :class:`Config` from a YAML path, a fio job file (on ``platform``, see
    :func:`load_job_file`) or a mapping, with dotted-path overrides (problems in them are
    located at ``origin``: the option or axis they came from)."""
    if isinstance(source, Mapping):
        if overrides:  # on top of a valid mapping only
            config_from_dict(dict(source), "<dict>")
        return config_from_dict(_overridden(dict(source), dict(overrides or {}), origin), "<dict>",
                                overridden=dict.fromkeys(overrides or (), origin))
    if is_job_file(source):
        return load_job_file(source, overrides, platform=platform, origin=origin, ignored=ignored)
    if platform is not None:
        raise ConfigError([f"--platform: {platform}: a platform goes with a fio job file; {source} is a YAML "
                           "config (give its platform with include:)"])
    return load_config(source, overrides, origin=origin)
