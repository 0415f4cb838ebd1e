"""fio's I/O logs (``read_iolog``): the trace file formats v2 and v3, read as a stream.

A log is a text file whose first line is ``fio version 2 iolog`` or ``fio version 3
iolog`` (fio >= 3.31 writes v3: ``iolog.c: init_iolog_write``); each further line is a
file action (``[time] file add|open|close``) or an I/O (``[time] file
read|write|trim|sync|datasync|wait offset length``), v3 with a leading timestamp in µs
since the start of the recorded run (``iolog.c: log_io_u``/``log_file``).  HOWTO "Trace
file format"; the reading rules are ``iolog.c: read_iolog`` (fio 3.33).

:class:`IologReader` yields one small tuple per line and keeps nothing but the file table, so
a log of any length is replayed in constant memory (it is read once per job and
replication); :func:`scan` consumes it once to check every line and summarise it (the
config checks the summary against the devices, ``schema.py``), cached per file
version.

Where nvmesim is stricter than fio: fio reports a bad line (``bad iolog2: ...``, ``bad
iolog file action``) and skips it, and aborts on an I/O to a file that is not open
(``filesetup.c: get_file``'s assertion) or was never added (a crash); every one of these
is a located error ``log:LINE: ...`` here.  Not modelled, hence errors too: ``trim``
(fio 3.33 drops it, ``bad ddir``), ``sync``/``datasync`` (a flush), ``-`` (stdin), and
sizes or offsets not a multiple of 512 (O_DIRECT on a block device: EINVAL).

Layer: config (nothing of nvmesim above it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator

IOLOG_V2 = "fio version 2 iolog"  # iolog.c: iolog_ver2
IOLOG_V3 = "fio version 3 iolog"  # iolog.c: iolog_ver3

#: an entry's kind (the I/O kinds are fio's is-read flag: 1 read, 0 write)
WRITE, READ, FILE_ACTION, WAIT = 0, 1, 2, 3
SECTOR = 512  # O_DIRECT on a block device: offsets and lengths in logical blocks
_U32 = 0xFFFFFFFF  # fio reads the length with %u

#: one line as the replay uses it: (line, time_us or -1 (v2), file index, kind, offset, length)
Entry = tuple[int, int, int, int, int, int]


class IologError(ValueError):
    """A problem in an I/O log, located: ``str()`` is ``path:line: message``."""

    def __init__(self, path: str, line: int, msg: str) -> None:
        self.path, self.line, self.msg = path, line, msg
        super().__init__(f"{path}:{line}: {msg}" if line else f"{path}: {msg}")


def split_names(text: str) -> list[str]:
    """fio's ':'-separated list of logs (``read_iolog=a.log:b.log``); job *j* replays the
    ``j % n``-th (``options.c: get_name_by_idx``)."""
    return [p for p in str(text).split(":")]


def _int(path: str, line: int, word: str, what: str) -> int:
    if not word.isdigit():
        raise IologError(path, line, f"{what}: expected a non-negative integer, got {word!r}")
    return int(word)


class IologReader:
    """The log at ``path``, line by line: iterate it for :data:`Entry` tuples, in order,
    each checked (blank lines skipped); ``files`` is the file table so far (name -> index,
    in the order of the ``add`` lines) and ``v3`` the version, known once iteration began.

    With ``redirect`` (fio's ``replay_redirect``) every line names that one file instead,
    and a second ``add`` or ``open`` of it is ignored (``read_iolog``, ``ipo_special``).
    An I/O needs its file added and open; ``close`` closes it until the next ``open``.
    v2's ``wait`` (its offset field is the value) is passed on; v3 forbids it (fio
    ignores it, with a message).  Iterating raises :class:`IologError` at the first bad
    line."""

    def __init__(self, path: str, redirect: str | None = None) -> None:
        self.path = path
        self.redirect = redirect
        self.files: dict[str, int] = {}
        self.v3 = True

    def __iter__(self) -> Iterator[Entry]:
        path = self.path
        try:
            fh = open(path, "r", encoding="utf-8", errors="strict", newline=None)
        except OSError as e:
            raise IologError(path, 0, f"cannot read the I/O log: {e.strerror}") from None
        with fh:
            try:
                head = fh.readline().rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise IologError(path, 1, f"not a text I/O log (byte {e.start} is not UTF-8)") from None
            # fio compares the first line's start with the version string (strncmp)
            if head.startswith(IOLOG_V3):
                self.v3 = v3 = True
            elif head.startswith(IOLOG_V2):
                self.v3 = v3 = False
            else:
                raise IologError(path, 1, f"expected {IOLOG_V2!r} or {IOLOG_V3!r} as the first line (fio reads no "
                                          f"other iolog version; blktrace files are not modelled), got {head[:60]!r}")
            files = self.files
            files.clear()
            is_open: list[bool] = []
            redirect = self.redirect
            n = 1
            try:
                for text in fh:
                    n += 1
                    words = text.split()
                    if words:
                        yield _entry(path, n, words, v3, redirect, files, is_open)
            except UnicodeDecodeError as e:
                raise IologError(path, n + 1, f"not a text I/O log (byte {e.start} of the line is not UTF-8)") from None


def _entry(path: str, n: int, words: list[str], v3: bool, redirect: str | None, files: dict[str, int],
           is_open: list[bool]) -> Entry:
    """One line of ``read_iolog``: ``[time] file action [offset length]``."""
    t = -1
    if v3:
        t = _int(path, n, words[0], "timestamp (µs, v3)")
        words = words[1:]
    if len(words) not in (2, 4):
        form = "[time] file action" if v3 else "file action"
        raise IologError(path, n, f"expected '{form}' or '{form} offset length', got {len(words)} fields after "
                                  f"the {'timestamp' if v3 else 'start'}")
    name, act = words[0], words[1]
    if redirect is not None:
        name = redirect
    if len(words) == 2:
        if act == "add":
            if name in files:
                if redirect is None:
                    raise IologError(path, n, f"{name}: added twice")
                return (n, t, files[name], FILE_ACTION, 0, 0)  # fio ignores a re-add under replay_redirect
            files[name] = len(files)
            is_open.append(False)
            return (n, t, files[name], FILE_ACTION, 0, 0)
        if act in ("open", "close"):
            f = files.get(name)
            if f is None:
                raise IologError(path, n, f"{name}: {act} of a file the log has not added")
            if act == "open":
                if is_open[f] and redirect is None:
                    raise IologError(path, n, f"{name}: opened twice")
                is_open[f] = True
            else:
                if not is_open[f]:
                    raise IologError(path, n, f"{name}: close of a file that is not open")
                is_open[f] = False
            return (n, t, f, FILE_ACTION, 0, 0)
        if act in ("read", "write", "trim", "sync", "datasync", "wait"):
            raise IologError(path, n, f"{act}: expected an offset and a length after it")
        raise IologError(path, n, f"{act!r}: not a file action (add, open, close)")
    offset = _int(path, n, words[2], f"{act} offset")
    length = _int(path, n, words[3], f"{act} length")
    if act == "wait":
        if v3:
            raise IologError(path, n, "wait: not allowed in a v3 log (its timestamps say when; fio ignores the line)")
        return (n, t, -1, WAIT, offset, 0)
    if act in ("trim", "sync", "datasync"):
        what = {"trim": "a discard", "sync": "a flush (fsync)", "datasync": "a flush (fdatasync)"}[act]
        raise IologError(path, n, f"{act}: not modelled ({what}; nvmesim simulates reads and writes)")
    if act not in ("read", "write"):
        raise IologError(path, n, f"{act!r}: not an I/O action (read, write; trim, sync, datasync and v2's wait "
                                  f"are fio's others)")
    f = files.get(name)
    if f is None:
        raise IologError(path, n, f"{name}: {act} on a file the log has not added (fio crashes on it)")
    if not is_open[f]:
        raise IologError(path, n, f"{name}: {act} on a file that is not open (fio aborts: get_file's assertion)")
    if length == 0 or length % SECTOR or length > _U32:
        raise IologError(path, n, f"{act}: length {length}: expected a positive multiple of {SECTOR} bytes "
                                  f"(O_DIRECT on a block device)")
    if offset % SECTOR:
        raise IologError(path, n, f"{act}: offset {offset}: expected a multiple of {SECTOR} bytes (O_DIRECT on a "
                                  f"block device)")
    return (n, t, f, READ if act == "read" else WRITE, offset, length)


@dataclass(frozen=True)
class IologSummary:
    """What the config checks of a whole log: its files (as the log or the redirect names
    them, in ``add`` order, with the line of each ``add``), I/O counts and bytes per
    direction ([write, read]), each request size with the first line that has it (up to
    :data:`MAX_SIZES` sizes), the largest size with its first line, and the last
    timestamp."""

    path: str
    version: int
    files: tuple[str, ...]
    file_lines: tuple[int, ...]
    ios: tuple[int, int]
    bytes: tuple[int, int]
    sizes: dict[int, int] = field(default_factory=dict)
    largest: tuple[int, int] = (0, 0)
    last_us: int = -1


MAX_SIZES = 1024  # distinct request sizes remembered with their first line


def _scan(path: str, redirect: str | None) -> IologSummary:
    ios, nbytes = [0, 0], [0, 0]
    sizes: dict[int, int] = {}
    add_lines: dict[int, int] = {}
    last = -1
    largest = (0, 0)
    reader = IologReader(path, redirect)
    for n, t, f, kind, _off, length in reader:
        if t > last:
            last = t
        if kind <= READ:
            ios[kind] += 1
            nbytes[kind] += length
            if length not in sizes and len(sizes) < MAX_SIZES:
                sizes[length] = n
            if length > largest[0]:
                largest = (length, n)
        elif kind == FILE_ACTION and f not in add_lines:
            add_lines[f] = n
    names = tuple(sorted(reader.files, key=reader.files.__getitem__))
    return IologSummary(path, 3 if reader.v3 else 2, names, tuple(add_lines[reader.files[x]] for x in names),
                        (ios[0], ios[1]), (nbytes[0], nbytes[1]), sizes, largest, last)


_CACHE: dict[tuple, IologSummary] = {}


def scan(path: str, redirect: str | None = None) -> IologSummary:
    """Check every line of the log at ``path`` and summarise it (:class:`IologSummary`);
    the result is cached while the file's size and mtime stay the same."""
    if path == "-":
        raise IologError(path, 0, "reading the I/O log from stdin is not supported (name a file)")
    try:
        st = os.stat(path)
    except OSError as e:
        raise IologError(path, 0, f"cannot read the I/O log: {e.strerror}") from None
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, redirect)
    got = _CACHE.get(key)
    if got is None:
        got = _CACHE[key] = _scan(path, redirect)
    return got
