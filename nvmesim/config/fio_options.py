"""fio's job options (as fio echoes them in its JSON ``job options`` / ``global options``,
or writes them in a job file) read as a ``workload`` section.

Every option fio reports is either taken (the ``Workload`` field of the same name, or an
alias of fio's), checked (it must have the value nvmesim simulates, e.g. ``direct=1``),
ignored (it changes nothing nvmesim models: names, files, output), or refused with an
error that names it -- never silently dropped.
"""

from __future__ import annotations

from typing import Any, Mapping

from .schema import Workload

#: fio's aliases of options nvmesim has under fio's main name (fio's options.c)
ALIASES = {"readwrite": "rw", "mem": "iomem", "blocksize": "bs", "iodepth_batch": "iodepth_batch_submit",
           "iodepth_batch_complete": "iodepth_batch_complete_min", "io_limit": "io_size",
           "percentiles": "clat_percentiles", "bwavgtime": "bw_avg_time", "iopsavgtime": "iops_avg_time"}
#: options that must have this value: what nvmesim simulates (raw block device, O_DIRECT)
REQUIRED = {"direct": ("1",)}
#: options that change nothing nvmesim models
IGNORED = frozenset({
    "filename", "directory", "filename_format", "group_reporting", "thread", "output", "output-format",
    "per_job_logs", "log_prio",
    "norandommap", "randrepeat", "random_generator", "randseed", "invalidate", "allow_file_create",
    "unlink", "stonewall", "wait_for_previous", "description", "lockmem", "exitall", "gtod_reduce",
    "cpus_allowed_policy", "fixedbufs", "registerfiles", "nonvectored", "allow_mounted_write",
})
#: options whose value nvmesim takes only when it is this one (else refused)
ONLY = {"cpus_allowed_policy": ("split",), "per_job_logs": ("1",), "log_prio": ("0",)}
#: fio's log options (stats/iologs.py): a bare one logs under the job's name
LOG_PREFIXES = ("write_lat_log", "write_bw_log", "write_iops_log", "write_hist_log")


class FioOptionError(ValueError):
    """An option nvmesim cannot simulate; ``option`` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def workload_from_fio(options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``workload`` section for fio's ``options`` (option -> value, as strings).

    Raises :class:`FioOptionError` for an option nvmesim does not model or a value it
    cannot simulate.  A flag without a value is "1".  fio's JSON does not echo every
    flag (``--time_based`` is not in it): the caller decides what a missing one was."""
    out: dict[str, Any] = {}
    fields = Workload.model_fields
    for raw, value in options.items():
        name = ALIASES.get(raw, raw)
        if name in LOG_PREFIXES and (value is None or value == ""):
            out[name] = ""
            continue
        text = "1" if value is None or value == "" else str(value)
        if name in REQUIRED:
            if text not in REQUIRED[name]:
                raise FioOptionError(raw, f"{text!r} is not simulated (nvmesim models {name}="
                                          f"{' or '.join(REQUIRED[name])})")
            continue
        if name in ONLY and text not in ONLY[name]:
            raise FioOptionError(raw, f"{text!r} is not simulated (only {', '.join(ONLY[name])})")
        if name in IGNORED:
            continue
        if name == "rwmixwrite":
            out["rwmixread"] = 100 - int(text)
            continue
        if name == "percentile_list":
            out[name] = [float(x) for x in text.split(":") if x]
            continue
        if name not in fields or name in ("ring_taskrun",):
            raise FioOptionError(raw, "an option nvmesim does not model")
        out[name] = text
    if "direct" not in {ALIASES.get(k, k) for k in options}:
        raise FioOptionError("direct", "missing: fio's default is buffered I/O (direct=0), which nvmesim does not "
                                       "simulate; the run needs direct=1")
    return out


def job_sections(doc: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(index, options) of each job of a fio JSON document: its ``job options`` over the
    document's ``global options``, as fio applies them."""
    glob = dict(doc.get("global options") or {})
    return [(i, {**glob, **dict(job.get("job options") or {})}) for i, job in enumerate(doc.get("jobs") or [])]
