"""ESE files on a simulated host: database files (.edb) with their header, transaction logs (E00xxxxxxxx.log and the current
E00.log) and the checkpoint (E00.chk), and what ESE does with them: soft recovery, hard repair, offline defragmentation.

A file whose first line is `#!simulator-ese <kind> <json>` is an ESE file of that kind (database, log, checkpoint); the
rest of the file is padding, so a database has a real size on the host's volume (free-space checks, copies to a full
volume). Copying, moving or restoring the file carries its header, as on Windows.

Database header (what `eseutil /mh` shows; the ESE source, dbdump.cxx): state (Clean Shutdown, Dirty Shutdown...), log
required min-max (0-0 when clean), log committed, last consistent generation, the log signature (the log stream the
database belongs to), the DB signature, repair count, page size. Plus what the simulator needs: the database's name and
GUID in AD (a file that does not match the AD object is refused at mount unless AllowFileRestore is set; PS
Set-MailboxDatabase), `damaged` (pages with checksum errors: recovery and mount fail with -1018, /p repairs with loss) and
the store mailboxes it holds (Get-MailboxStatistics: DisplayName, MailboxGuid, ItemCount, TotalItemSize, DisconnectReason,
DisconnectDate).

Log header: generation, signature (the stream), the databases attached when it was written (recovery finds them there,
as ESE reads the attach records), damaged. Logs are 4 KB stand-ins here (real logs are 1 MB from Exchange 2007).

Soft recovery (ESE source eseutil.cxx /r; Exchange 2007 "Eseutil /R Recovery Mode" bb123479): replays the required logs
and everything after them in generation order; a required log that is missing stops it with -543 (RequiredLogFilesMissing),
a hole later in the stream with -528 (MissingLogFile) unless /a accepts losing what follows the hole, a damaged log with
-501 (LogFileCorrupt), a database that is not where the logs say with -1216 (AttachedDatabaseMismatch) unless /i.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simulator.winerror import WinError

if TYPE_CHECKING:
    from simulator.host import Host

MARKER = b"#!simulator-ese"
LOG_STANDIN_BYTES = 4096
CLEAN = "Clean Shutdown"
DIRTY = "Dirty Shutdown"
STATES = ("Just Created", DIRTY, CLEAN, "Being Converted", "Force Detach Replay Error", "Incremental Reseed In Progress", "Dirty and Patched Shutdown")
_NUMBERED = re.compile(r"^(?P<prefix>[ER][0-9A-Fa-f]{2})(?P<generation>[0-9A-Fa-f]{8})\.log$", re.IGNORECASE)

# JET errors (the ESE source's jethdr.w) the model raises, with their descriptions as eseutil prints them
JET = {
    -501: ("JET_errLogFileCorrupt", "Log file is corrupt"),
    -528: ("JET_errMissingLogFile", "Current log file missing"),
    -530: ("JET_errBadLogSignature", "Bad signature for a log file"),
    -543: ("JET_errRequiredLogFilesMissing", "The required log files for recovery is missing."),
    -550: (
        "JET_errDatabaseDirtyShutdown",
        "Database was not shutdown cleanly. Recovery must first be run to properly complete database operations for the previous shutdown.",
    ),
    -1003: ("JET_errInvalidParameter", "Invalid API parameter"),
    -1018: ("JET_errReadVerifyFailure", "Checksum error on a database page"),
    -1032: ("JET_errFileAccessDenied", "Cannot access file, the file is locked or in use"),
    -1206: ("JET_errDatabaseCorrupted", "Non database file or corrupted db"),
    -1216: (
        "JET_errAttachedDatabaseMismatch",
        "An outstanding database attachment has been detected at the start or end of recovery, but database is missing or does not match attachment info",
    ),
    -1808: ("JET_errDiskFull", "No space left on disk"),
    -1811: ("JET_errFileNotFound", "File not found"),
}


class EseError(Exception):
    """A JET error from an ESE operation; `code` is negative, `detail` says what the model found (for the tests)."""

    def __init__(self, code: int, detail: str = "") -> None:
        name, text = JET.get(code, ("JET_errUnknown", "Unknown error"))
        super().__init__(f"{code} ({name}, {text})" + (f": {detail}" if detail else ""))
        self.code, self.name, self.text, self.detail = code, name, text, detail


# -- the file format --------------------------------------------------------------------------------------------------------
def encode(kind: str, data: dict[str, Any], size: int = 0) -> bytes:
    line = MARKER + f" {kind} ".encode() + json.dumps(data, separators=(",", ":"), sort_keys=True).encode() + b"\r\n"
    return line + bytes(max(0, size - len(line)))


def decode(blob: bytes) -> tuple[str, dict[str, Any]] | None:
    if not blob.startswith(MARKER):
        return None
    first = blob.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    kind, _sep, raw = first[len(MARKER) :].strip().partition(" ")
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return (kind, data) if isinstance(data, dict) else None


def read(host: Host, path: str) -> tuple[str, dict[str, Any]] | None:
    """(kind, header) of an ESE file, None for any other file; WinError when it does not exist."""
    return decode(_head(host, path))


def _head(host: Host, path: str) -> bytes:
    with open(host.resolve(path), "rb") as fh:
        return fh.read(65536)


def write(host: Host, path: str, kind: str, data: dict[str, Any], size: int | None = None) -> None:
    """Write an ESE file; an existing file keeps its size unless `size` is given."""
    if size is None:
        size = host.stat(path).size if host.exists(path) else 0
    host.write_bytes(path, encode(kind, data, size))


# -- signatures -------------------------------------------------------------------------------------------------------------
def signature(seed: str, when: datetime | None = None) -> str:
    """A signature as eseutil prints it: 'Create time:MM/DD/YYYY HH:MM:SS.mmm Rand:N Computer:' (dbdump.cxx prints the
    create time and the random number; both identify a database or a log stream)."""
    rand = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16)
    when = when or datetime(2024, 1, 1, tzinfo=UTC)
    return f"Create time:{when:%m/%d/%Y %H:%M:%S}.{when.microsecond // 1000:03d} Rand:{rand} Computer:"


def same_stream(a: str | None, b: str | None) -> bool:
    def key(s: str | None) -> str | None:
        m = re.search(r"Rand:\s*(\d+)", s or "")
        return m.group(1) if m else s

    return a is not None and b is not None and key(a) == key(b)


# -- databases --------------------------------------------------------------------------------------------------------------
def new_database_header(
    name: str, guid: str, stream: str, *, state: str = CLEAN, required: tuple[int, int] = (0, 0), committed: int = 0, page_size: int = 32768
) -> dict[str, Any]:
    return {
        "database": name,
        "guid": guid,
        "state": state,
        "log_required": list(required),
        "log_committed": committed,
        "last_consistent": committed if state == CLEAN else max(0, required[0] - 1),
        "log_signature": stream,
        "db_signature": signature(f"db/{guid}"),
        "repair_count": 0,
        "page_size": page_size,
        "damaged": False,
        "mailboxes": [],
    }


def read_database(host: Host, path: str) -> dict[str, Any]:
    """The header of a database file. WinError 2/3 when it is missing; EseError -1206 when it is no ESE database."""
    found = read(host, path)
    if found is None or found[0] != "database":
        raise EseError(-1206, f"{path} is not an ESE database")
    return found[1]


def write_database(host: Host, path: str, header: dict[str, Any], size: int | None = None) -> None:
    write(host, path, "database", header, size)


# -- logs -------------------------------------------------------------------------------------------------------------------
@dataclass
class LogFile:
    name: str
    path: str
    generation: int | None  # from the header (None: unreadable)
    signature: str | None
    damaged: bool
    current: bool  # E00.log
    attached: list[str] = field(default_factory=list)


def log_name(prefix: str, generation: int) -> str:
    return f"{prefix}{generation:08X}.log"


def write_log(
    host: Host, folder: str, prefix: str, generation: int, stream: str, *, current: bool = False, attached: list[str] | None = None, damaged: bool = False
) -> str:
    path = f"{folder.rstrip(chr(92))}\\{prefix}.log" if current else f"{folder.rstrip(chr(92))}\\{log_name(prefix, generation)}"
    write(host, path, "log", {"generation": generation, "signature": stream, "attached": list(attached or []), "damaged": damaged}, LOG_STANDIN_BYTES)
    return path


def stream(host: Host, folder: str, prefix: str) -> list[LogFile]:
    """The logs of stream `prefix` in `folder`: numbered ones by generation, then the current log."""
    if not host.exists(folder) or not host.is_dir(folder):
        return []
    found: list[LogFile] = []
    for name in host.listdir(folder):
        path = f"{folder.rstrip(chr(92))}\\{name}"
        numbered = _NUMBERED.match(name)
        current = name.casefold() == f"{prefix}.log".casefold()
        if not current and not (numbered and numbered.group("prefix").casefold() == prefix.casefold()):
            continue
        parsed = read(host, path)
        data = parsed[1] if parsed and parsed[0] == "log" else {}
        generation = data.get("generation") if data else None
        if generation is None and numbered:
            generation = int(numbered.group("generation"), 16)
        found.append(LogFile(name, path, generation, data.get("signature"), bool(data.get("damaged")) or not data, current, list(data.get("attached") or [])))
    found.sort(key=lambda lf: (lf.current, lf.generation or 0))
    return found


def checkpoint_path(system_folder: str, prefix: str) -> str:
    return f"{system_folder.rstrip(chr(92))}\\{prefix}.chk"


def write_checkpoint(host: Host, system_folder: str, prefix: str, generation: int, stream_id: str) -> None:
    host.mkdir(system_folder)
    write(host, checkpoint_path(system_folder, prefix), "checkpoint", {"generation": generation, "signature": stream_id}, 8192)


# -- soft recovery ----------------------------------------------------------------------------------------------------------
@dataclass
class Recovery:
    recovered: list[str]  # database paths brought to Clean Shutdown
    replayed: tuple[int, int] | None  # generations replayed
    lost_after: int | None = None  # /a: the hole recovery stopped at


def soft_recover(
    host: Host,
    prefix: str,
    log_folder: str,
    system_folder: str | None = None,
    database_dir: str | None = None,
    *,
    allow_loss: bool = False,
    ignore_mismatch: bool = False,
    only: str | None = None,
) -> Recovery:
    """Replay stream `prefix` of `log_folder` into the databases its logs attach (or those found in `database_dir`, a folder
    or a database file, as eseutil /d takes it). `only` limits it to one database file (the Information Store's own
    recovery at mount). Raises EseError with the JET error eseutil /r reports."""
    logs = stream(host, log_folder, prefix)
    if not logs:
        raise EseError(-528, f"no {prefix} logs in {log_folder}")
    attached = attached_databases(logs, database_dir, host)
    if only is not None:
        attached = [p for p in attached if p.casefold() == only.casefold()] or [only]
    headers: dict[str, dict[str, Any]] = {}
    for path in attached:
        if not host.exists(path):
            if ignore_mismatch:
                continue
            raise EseError(-1216, f"{path} is attached in the logs but missing")
        headers[path] = read_database(host, path)
    by_generation = {lf.generation: lf for lf in logs if lf.generation is not None}
    lowest_needed = min((h["log_required"][0] for h in headers.values() if h["state"] != CLEAN and h["log_required"][0]), default=None)
    if lowest_needed is None:
        return Recovery([], None)  # every database is consistent: nothing to replay
    stream_id = next(h["log_signature"] for h in headers.values() if h["state"] != CLEAN)
    highest_required = max(h["log_required"][1] for h in headers.values() if h["state"] != CLEAN)
    for g in range(lowest_needed, highest_required + 1):
        lf = by_generation.get(g)
        if lf is None or not same_stream(lf.signature, stream_id):
            raise EseError(-543, f"generation {g} ({log_name(prefix, g)}) is missing or of another stream")
        if lf.damaged:
            raise EseError(-501, f"{lf.path} is damaged")
    last = highest_required
    lost_after = None
    present = sorted(g for g, lf in by_generation.items() if g > highest_required and same_stream(lf.signature, stream_id))
    for g in present:
        if g != last + 1:
            if not allow_loss:
                raise EseError(-528, f"generation {last + 1} is missing after the required logs")
            lost_after = last + 1
            break
        if by_generation[g].damaged:
            if not allow_loss:
                raise EseError(-501, f"{by_generation[g].path} is damaged")
            lost_after = g
            break
        last = g
    for path, header in headers.items():
        if header.get("damaged"):
            raise EseError(-1018, f"{path} has pages with checksum errors")
    recovered = []
    for path, header in headers.items():
        if header["state"] == CLEAN:
            continue
        header.update(state=CLEAN, log_required=[0, 0], log_committed=last, last_consistent=last)
        write_database(host, path, header)
        recovered.append(path)
    if system_folder:
        write_checkpoint(host, system_folder, prefix, last, stream_id or "")
    return Recovery(recovered, (lowest_needed, last), lost_after)


def attached_databases(logs: list[LogFile], database_dir: str | None, host: Host) -> list[str]:
    """The database files a recovery of `logs` opens: those the logs attach, or their namesakes in `database_dir`."""
    recorded: list[str] = []
    for lf in logs:
        for p in lf.attached:
            if p.casefold() not in (r.casefold() for r in recorded):
                recorded.append(p)
    if database_dir is None:
        return recorded
    if host.exists(database_dir) and not host.is_dir(database_dir):
        return [database_dir]
    folder = database_dir.rstrip("\\")
    return [f"{folder}\\{p.rsplit(chr(92), 1)[-1]}" for p in recorded]


# -- repair and defragmentation (destructive: the modules run them only after an explicit opt-in) ----------------------------
def repair(host: Host, path: str) -> dict[str, Any]:
    """eseutil /p: page-level repair; the database becomes consistent (Clean Shutdown) whatever the logs hold, which is
    why it loses data. Needs about 20% of the database free on its volume (E07 "How to Run Eseutil /P")."""
    header = read_database(host, path)
    _need_space(host, path, 0.20)
    header["repair_count"] = int(header.get("repair_count", 0)) + 1
    header["repaired_with_loss"] = bool(header.get("damaged")) or header["state"] != CLEAN
    header.update(state=CLEAN, log_required=[0, 0], damaged=False, log_signature=None)
    for mailbox in header.get("mailboxes") or []:
        if header["repaired_with_loss"]:
            mailbox["items"] = max(0, int(mailbox.get("items", 0)) - max(1, int(mailbox.get("items", 0)) // 50))
    write_database(host, path, header)
    return header


def defragment(host: Host, path: str) -> dict[str, Any]:
    """eseutil /d: offline defragmentation into TEMPDFRGnnnn.EDB, then instated; needs Clean Shutdown and about 110% of
    the database free (KB 255035; E07 "Eseutil /D Defragmentation Mode")."""
    header = read_database(host, path)
    if header["state"] != CLEAN:
        raise EseError(-550, f"{path} is in {header['state']}")
    _need_space(host, path, 1.10)
    write_database(host, path, header)
    return header


def _need_space(host: Host, path: str, ratio: float) -> None:
    size = host.stat(path).size
    drive = str(host.parse_path(path)).split(":", 1)[0]
    if host.free_bytes(drive) < int(size * ratio):
        raise EseError(-1808, f"{drive}: has {host.free_bytes(drive)} bytes free, {int(size * ratio)} needed")


def locked(host: Host, path: str) -> bool:
    """Whether the Information Store (a mounted database) or the Transport service (its queue database) holds the file
    open: eseutil gets -1032."""
    mounted = list((getattr(host.state, "exchange", None) or {}).get("mounted_files") or [])
    from simulator.exchange import transport  # the Transport service holds its queue database open as well

    mounted += transport.open_files(host)
    return path.casefold() in (p.casefold() for p in mounted)


def now_text(host: Host) -> str:
    return host.clock.now().strftime("%m/%d/%Y %H:%M:%S")


def error_text(error: WinError | EseError) -> str:
    return str(error)
