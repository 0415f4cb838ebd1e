"""fio's ``--output-format``: its names, their combinations, and the order fio prints the
parts in.

fio 3.33 (``init.c: parse_output_format``) splits the value at commas and ORs one bit per
name into a set, so order and repetition do not matter: ``terse`` (also ``minimal`` and
``csv``), ``json``, ``json+`` (which is json with the latency bins: ``json,json+`` is
``json+``) and ``normal``, matched case-sensitively (``JSON`` is refused).  Any other
name, an empty one included (``json,``, ``""``), is an error ("invalid output format").
Whatever the order given, ``__show_run_stats`` (``stat.c``) fills one buffer per kind and
prints them in the order of fio's ``__FIO_OUTPUT_*`` values: terse, then json, then
normal (whose buffer starts with a newline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .result import RunResult

__all__ = ["FORMAT_NAMES", "PRINT_ORDER", "OutputFormatError", "parse_output_format", "render"]

#: fio's names and the part each selects (``parse_output_format``)
FORMAT_NAMES = {"minimal": "terse", "terse": "terse", "csv": "terse", "json": "json", "json+": "json+",
                "normal": "normal"}
#: the order fio prints the parts in (``fio.h``: ``__FIO_OUTPUT_TERSE``, ``_JSON``, ``_NORMAL``)
PRINT_ORDER = ("terse", "json", "normal")


class OutputFormatError(ValueError):
    """An ``--output-format`` value fio would refuse; the message names the bad part."""


def parse_output_format(value: str) -> frozenset[str]:
    """The parts ``value`` selects, as fio reads it: a subset of ``{"terse", "json",
    "json+", "normal"}``, where ``"json+"`` implies ``"json"`` (fio sets both bits).
    Raises :class:`OutputFormatError` for a name fio does not know, as fio fails."""
    parts: set[str] = set()
    for name in value.split(","):
        part = FORMAT_NAMES.get(name)
        if part is None:
            hint = f" (fio's names are lower case: {name.lower()!r})" if name.lower() in FORMAT_NAMES else ""
            raise OutputFormatError(
                f"invalid output format {name!r} in {value!r}{hint}; fio takes a comma-separated list of "
                "normal, terse (or minimal, csv), json, json+")
        parts.add(part)
        if part == "json+":
            parts.add("json")
    return frozenset(parts)


def render(result: "RunResult", parts: frozenset[str], variant: str | None = None) -> str:
    """The run in the selected parts, in fio's order: terse lines, the JSON document (json+
    when selected), then the normal output after a blank line, as fio separates it.  With
    ``variant``: that variant's fio documents (its jobs as fio reports them, the effective
    config under ``"nvmesim"``); without: one document of every variant
    (:meth:`~.result.RunResult.to_json`)."""
    from .fiojson import dumps

    out: list[str] = []
    if "terse" in parts:
        out.append(result.terse(variant))
    if "json" in parts:
        plus = "json+" in parts
        if variant is not None:
            doc = result.fio_json(variant, plus)
            doc["nvmesim"]["config"] = result.config.effective()
        else:
            doc = result.to_json(plus)
        out.append(dumps(doc))
    if "normal" in parts:
        text = result.text()
        if out and not text.startswith("\n"):
            text = "\n" + text  # fio's normal buffer opens with a newline
        out.append(text)
    return "".join(out)
