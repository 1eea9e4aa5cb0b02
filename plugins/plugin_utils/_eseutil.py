# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""eseutil output parsers and the judgements made from them: can soft recovery work, which logs are missing, is there a
gap, is there room for a repair or a defragmentation.

For internal collection use only. The Windows modules run eseutil and return its output as it is; everything here runs on
the controller. Formats (docs/databases.md, "eseutil"):
- the ESE source, microsoft/Extensible-Storage-Engine: dev/ese/src/ese/dbdump.cxx (/mh fields and the state names, which
  "never change ... because we will break applications that parse our output"), dev/ese/src/ese/_log/logdump.cxx (/ml:
  "Verifying log files...", "Log file: <path> - OK", "Missing log file(s): ...", "No damaged log files were found.",
  "lGeneration: N (0xN)"), dev/ese/src/eseutil/eseutil.cxx (mode banners, "Operation completed successfully in S.M
  seconds.", "Operation terminated with error E (NAME, text) after S.M seconds.", the exit code is the error);
- real Exchange captures (exchange-recovery-facts.md section 4): `State: Dirty Shutdown`, `Log Required: 143-143 (0x8f-0x8f)`.
Free space: /p needs about 20% of the database (Exchange 2007 "How to Run Eseutil /P (Repair)", aa998231), /d about 110%
(KB 255035; Exchange 2007 "Eseutil /D Defragmentation Mode", aa997972).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

CLEAN_SHUTDOWN = "Clean Shutdown"
DIRTY_SHUTDOWN = "Dirty Shutdown"
# dbdump.cxx rgszDBState: every state /mh can print
DATABASE_STATES = (
    "Just Created",
    DIRTY_SHUTDOWN,
    CLEAN_SHUTDOWN,
    "Being Converted",
    "Force Detach Replay Error",
    "Incremental Reseed In Progress",
    "Dirty and Patched Shutdown",
    "Database Revert in Progress",
)
REPAIR_FREE_SPACE_RATIO = 0.20
DEFRAG_FREE_SPACE_RATIO = 1.10

# JET errors the modules meet (jethdr.w in the ESE source)
JET_ERRORS = {
    -501: "JET_errLogFileCorrupt",
    -528: "JET_errMissingLogFile",
    -543: "JET_errRequiredLogFilesMissing",
    -550: "JET_errDatabaseDirtyShutdown",
    -1003: "JET_errInvalidParameter",
    -1032: "JET_errFileAccessDenied",
    -1216: "JET_errAttachedDatabaseMismatch",
    -1808: "JET_errDiskFull",
    -1811: "JET_errFileNotFound",
}

_SUCCESS = re.compile(r"Operation completed successfully(?: with (-?\d+) \(([^,)]*)(?:, ([^)]*))?\))? (?:in|after) (\d+\.\d+) seconds\.")
_FAILURE = re.compile(r"Operation terminated with error (-?\d+) \(([^,)]*)(?:, ([^)]*))?\) after (\d+\.\d+) seconds\.")
_FAILURE_UNKNOWN = re.compile(r"Operation terminated unsuccessfully after (\d+\.\d+) seconds\.")
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z .]*?):\s?(.*)$")
_RANGE = re.compile(r"^(\d+)-(\d+)\s*\(0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)\)")
_NUMBER = re.compile(r"^(\d+)\s*\(0x([0-9a-fA-F]+)\)")
_LGPOS = re.compile(r"^\(0x([0-9a-fA-F]+),")
_LOG_NAME = re.compile(r"^(?P<prefix>[A-Za-z][0-9A-Fa-f]{2})(?P<generation>[0-9A-Fa-f]{8}|[0-9A-Fa-f]{5})\.(?P<ext>log|jtx)$", re.IGNORECASE)
_VERIFIED = re.compile(r"^\s*Log file: (?P<path>.+?)(?: - (?P<status>OK))?\s*$")
_MISSING_ONE = re.compile(r"^\s*Missing log file: (?P<name>\S.*?)\s*$")
_MISSING_RANGE = re.compile(r"^\s*Missing log files: (?P<base>.*?)\{(?P<first>[0-9A-Fa-f]+) - (?P<last>[0-9A-Fa-f]+)\}(?P<ext>\.\w+)\s*$")
_GENERATION = re.compile(r"^\s*lGeneration: (\d+) \(0x([0-9A-Fa-f]+)\)")


def _plain(value: Any) -> Any:
    """JSON-ready: tuples become lists (results are compared and templated as lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class EseutilOutputError(ValueError):
    """eseutil printed something the parser does not recognise; the message names the mode and what is missing."""


# -- the outcome line every mode ends with ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """The last line of an eseutil run. `error` is the JET error (negative) or 0; `warning` a JET warning on success."""

    succeeded: bool
    error: int = 0
    error_name: str | None = None
    error_text: str | None = None
    seconds: float | None = None
    warning: int = 0

    @property
    def message(self) -> str:
        if self.succeeded:
            return "eseutil completed successfully" + (f" with warning {self.warning} ({self.error_name})" if self.warning else "")
        if self.error:
            return f"eseutil failed with error {self.error} ({self.error_name}{', ' + self.error_text if self.error_text else ''})"
        return "eseutil failed without an error code"


def signed_exit_code(rc: int | None) -> int | None:
    """eseutil's exit code is the JET error, a negative number; Windows reports it unsigned (Ansible.Process's ExitCode is
    a UInt32: -528 arrives as 4294966768)."""
    if rc is None:
        return None
    rc = int(rc)
    return rc - (1 << 32) if rc >= (1 << 31) else rc


def parse_outcome(text: str, rc: int | None = None) -> Outcome:
    """The outcome of a run from its output (the last outcome line) and, when the output has none, its exit code (eseutil
    returns the JET error: 0 on success)."""
    rc = signed_exit_code(rc)
    found: Outcome | None = None
    for line in text.splitlines():
        if m := _SUCCESS.search(line):
            warning = int(m.group(1)) if m.group(1) else 0
            found = Outcome(True, 0, m.group(2) if warning else None, m.group(3) if warning else None, float(m.group(4)), warning)
        elif m := _FAILURE.search(line):
            found = Outcome(False, int(m.group(1)), m.group(2).strip(), (m.group(3) or "").strip() or None, float(m.group(4)))
        elif m := _FAILURE_UNKNOWN.search(line):
            found = Outcome(False, rc or 0, None, None, float(m.group(1)))
    if found is not None:
        return found
    if rc == 0:
        return Outcome(True)
    error = rc if rc is not None and rc < 0 else 0
    return Outcome(False, error, JET_ERRORS.get(error), "no outcome line in the output")


# -- /mh: the database header -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatabaseHeader:
    """What `eseutil /mh <edb>` shows of a database file's header."""

    database: str | None
    state: str | None
    log_required: tuple[int, int] | None  # (0, 0) on a clean database: nothing required
    log_committed: int | None
    log_recovering: int | None
    last_consistent: int | None  # generation of the last consistent point
    repair_count: int | None
    page_size: int | None
    log_signature: str | None
    db_signature: str | None
    outcome: Outcome

    @property
    def clean(self) -> bool:
        return self.state == CLEAN_SHUTDOWN

    @property
    def dirty(self) -> bool:
        return self.state is not None and self.state != CLEAN_SHUTDOWN

    @property
    def required_generations(self) -> range:
        """The log generations soft recovery must replay (empty when nothing is required)."""
        if not self.log_required or self.log_required == (0, 0):
            return range(0)
        return range(self.log_required[0], self.log_required[1] + 1)

    def to_dict(self) -> dict[str, Any]:
        return _plain({**asdict(self), "clean": self.clean})


def parse_mh(text: str, rc: int | None = None) -> DatabaseHeader:
    """Parse `eseutil /mh` output. A run that failed (locked file, no file) gives a header with state None and the outcome;
    output that succeeded but lacks the State line raises EseutilOutputError."""
    outcome = parse_outcome(text, rc)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = _FIELD.match(line)
        if m and m.group(1) not in fields:
            fields[m.group(1).strip()] = m.group(2).strip()
    state = fields.get("State")
    if state is None:
        if outcome.succeeded:
            raise EseutilOutputError("eseutil /mh: the output has no 'State:' line (not a database header dump)")
        return DatabaseHeader(fields.get("Database"), None, None, None, None, None, None, None, None, None, outcome)
    if state not in DATABASE_STATES:
        raise EseutilOutputError(f"eseutil /mh: unknown database state {state!r} (known: {', '.join(DATABASE_STATES)})")
    return DatabaseHeader(
        database=fields.get("Database"),
        state=state,
        log_required=_range(fields.get("Log Required")),
        log_committed=_upper(fields.get("Log Committed")),
        log_recovering=_number(fields.get("Log Recovering")),
        last_consistent=_lgpos_generation(fields.get("Last Consistent")),
        repair_count=_int(fields.get("Repair Count")),
        page_size=_int(fields.get("cbDbPage")),
        log_signature=fields.get("Log Signature"),
        db_signature=fields.get("DB Signature"),
        outcome=outcome,
    )


def _range(value: str | None) -> tuple[int, int] | None:
    m = _RANGE.match(value or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _upper(value: str | None) -> int | None:
    bounds = _range(value)
    return bounds[1] if bounds else None


def _number(value: str | None) -> int | None:
    m = _NUMBER.match(value or "")
    return int(m.group(1)) if m else None


def _int(value: str | None) -> int | None:
    m = re.match(r"^(\d+)", value or "")
    return int(m.group(1)) if m else None


def _lgpos_generation(value: str | None) -> int | None:
    m = _LGPOS.match(value or "")
    return int(m.group(1), 16) if m else None


# -- log file names ---------------------------------------------------------------------------------------------------------
def log_generation(name: str, prefix: str | None = None) -> int | None:
    """The generation a numbered log file's name carries (E0000000090.log -> 144), or None for any other name (the current
    log E00.log, reserve logs, other prefixes). Exchange 2007 and later use 8 hex digits, older versions 5."""
    m = _LOG_NAME.match(name.rsplit("\\", 1)[-1])
    if not m or (prefix is not None and m.group("prefix").casefold() != prefix.casefold()):
        return None
    return int(m.group("generation"), 16)


def log_file_name(prefix: str, generation: int, digits: int = 8) -> str:
    """The numbered log file of a generation: log_file_name('E00', 144) == 'E0000000090.log'."""
    return f"{prefix}{generation:0{digits}X}.log"


def missing_ranges(generations: list[int] | range) -> list[tuple[int, int]]:
    """Runs of consecutive generations, e.g. [5, 6, 7, 9] -> [(5, 7), (9, 9)]."""
    runs: list[tuple[int, int]] = []
    for g in sorted(set(generations)):
        if runs and g == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], g)
        else:
            runs.append((g, g))
    return runs


@dataclass(frozen=True)
class LogInventory:
    """The transaction logs of one log stream found in a folder."""

    prefix: str
    numbered: tuple[int, ...]  # generations of the numbered files (E00xxxxxxxx.log)
    current_present: bool  # the current log (E00.log)
    current_generation: int | None  # its generation: read from its header (/ml), else assumed to follow the last numbered log
    current_assumed: bool

    @property
    def generations(self) -> tuple[int, ...]:
        present = set(self.numbered)
        if self.current_present and self.current_generation is not None:
            present.add(self.current_generation)
        return tuple(sorted(present))

    @property
    def highest(self) -> int | None:
        return self.generations[-1] if self.generations else None

    @property
    def gaps(self) -> list[tuple[int, int]]:
        """Generations missing between the lowest and the highest log present."""
        present = self.generations
        if len(present) < 2:
            return []
        have = set(present)
        return missing_ranges([g for g in range(present[0], present[-1] + 1) if g not in have])

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "count": len(self.numbered) + (1 if self.current_present else 0),
            "lowest": self.generations[0] if self.generations else None,
            "highest": self.highest,
            "current_present": self.current_present,
            "current_generation": self.current_generation,
            "current_assumed": self.current_assumed,
            "gaps": [list(g) for g in self.gaps],
        }


def inventory_logs(names: list[str], prefix: str, current_generation: int | None = None) -> LogInventory:
    """The logs of stream `prefix` among file names of a log folder. `current_generation` is the current log's generation
    read from its header; without it the current log is assumed to follow the highest numbered log (what ESE does when it
    renames E00.log at the next log roll)."""
    numbered = sorted({g for n in names if (g := log_generation(n, prefix)) is not None})
    current = any(n.rsplit("\\", 1)[-1].casefold() == f"{prefix}.log".casefold() for n in names)
    assumed = False
    if current and current_generation is None:
        current_generation = (numbered[-1] + 1) if numbered else None
        assumed = True
    return LogInventory(prefix.upper(), tuple(numbered), current, current_generation if current else None, assumed and current)


# -- /ml: log verification and a single log's header ------------------------------------------------------------------------
@dataclass(frozen=True)
class LogVerification:
    """`eseutil /ml <folder>\\<prefix>`: every log of the stream checked in generation order."""

    base_name: str | None
    checked: tuple[str, ...]  # paths printed with "- OK"
    damaged: tuple[str, ...]  # paths printed without "- OK" (an ERROR line follows)
    missing: tuple[int, ...]  # generations named by "Missing log file(s)" lines
    outcome: Outcome

    @property
    def clean(self) -> bool:
        return self.outcome.succeeded and not self.damaged and not self.missing

    def to_dict(self) -> dict[str, Any]:
        return _plain({**asdict(self), "clean": self.clean})


def parse_ml(text: str, rc: int | None = None) -> LogVerification:
    outcome = parse_outcome(text, rc)
    base = None
    checked: list[str] = []
    damaged: list[str] = []
    missing: list[int] = []
    for line in text.splitlines():
        if m := re.match(r"^\s*Base name: (\S+)", line):
            base = m.group(1)
        elif m := _MISSING_RANGE.match(line):
            missing.extend(range(int(m.group("first"), 16), int(m.group("last"), 16) + 1))
        elif m := _MISSING_ONE.match(line):
            generation = log_generation(m.group("name").rsplit("\\", 1)[-1])
            if generation is not None:
                missing.append(generation)
        elif m := _VERIFIED.match(line):
            (checked if m.group("status") else damaged).append(m.group("path"))
    if base is None and outcome.succeeded:
        raise EseutilOutputError("eseutil /ml: the output has no 'Base name:' line (not a log verification)")
    return LogVerification(base, tuple(checked), tuple(damaged), tuple(sorted(set(missing))), outcome)


@dataclass(frozen=True)
class LogHeader:
    """`eseutil /ml <file>` of one log (the current log E00.log, whose name does not carry its generation)."""

    path: str | None
    generation: int | None
    signature: str | None
    outcome: Outcome


def parse_log_header(text: str, rc: int | None = None) -> LogHeader:
    outcome = parse_outcome(text, rc)
    path = generation = signature = None
    for line in text.splitlines():
        if m := _GENERATION.match(line):
            generation = int(m.group(1))
        elif (m := re.match(r"^\s*Log file: (.+?)\s*$", line)) and path is None:
            path = m.group(1)
        elif (m := re.match(r"^\s*Signature: (.+?)\s*$", line)) and signature is None:
            signature = m.group(1)
    if generation is None and outcome.succeeded:
        raise EseutilOutputError("eseutil /ml: the output has no 'lGeneration:' line (not a log header dump)")
    return LogHeader(path, generation, signature, outcome)


# -- /r, /p, /d ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OperationRun:
    """The banner of a recovery (/r), repair (/p) or defragmentation (/d) run and its outcome."""

    mode: str | None  # RECOVERY, REPAIR, DEFRAGMENTATION
    fields: dict[str, str] = field(default_factory=dict)  # the banner's "Name: value" lines (Logfile base name, Database...)
    outcome: Outcome = field(default_factory=lambda: Outcome(False))

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def parse_operation(text: str, rc: int | None = None) -> OperationRun:
    mode = None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if m := re.match(r"^\s*Initiating (\w+) mode\.\.\.", line):
            mode = m.group(1).upper()
        elif mode and (m := _FIELD.match(line)) and not line.strip().startswith(("Operation", "Note")):
            fields.setdefault(m.group(1).strip(), m.group(2).strip())
    return OperationRun(mode, fields, parse_outcome(text, rc))


# -- judgements -------------------------------------------------------------------------------------------------------------
VERDICTS = ("clean", "recoverable", "recoverable_with_loss", "logs_missing", "logs_mismatch", "unknown")


@dataclass(frozen=True)
class RecoveryVerdict:
    """Whether soft recovery (eseutil /r) can bring a dismounted database to Clean Shutdown with the logs that are there.

    verdict: clean (nothing to replay), recoverable (every required log is there and the stream has no hole), recoverable
    _with_loss (the required logs are there but the stream has a hole after them: eseutil /r /a replays up to the hole and
    loses what the later logs hold), logs_missing (a required log is missing or damaged: soft recovery cannot work),
    logs_mismatch (the logs belong to another log stream), unknown (the header could not be read).
    """

    verdict: str
    needs_recovery: bool
    can_soft_recover: bool
    required: tuple[int, int] | None
    missing: tuple[int, ...]
    missing_files: tuple[str, ...]
    gaps: tuple[tuple[int, int], ...]
    damaged: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def recovery_verdict(
    header: DatabaseHeader,
    logs: LogInventory,
    verification: LogVerification | None = None,
    current_signature: str | None = None,
    database: str = "the database",
) -> RecoveryVerdict:
    """Judge soft recovery for one database from its header, the logs in its log folder and, when it ran, /ml."""
    required = header.log_required if header.log_required and header.log_required != (0, 0) else None
    damaged = tuple(verification.damaged) if verification else ()
    if header.state is None:
        return RecoveryVerdict("unknown", False, False, None, (), (), (), damaged, f"{database}: the header could not be read ({header.outcome.message})")
    if header.clean:
        return RecoveryVerdict("clean", False, True, None, (), (), (), damaged, f"{database} is in Clean Shutdown: it can be mounted as it is")
    damaged_generations = {g for p in damaged if (g := log_generation(p, logs.prefix)) is not None}
    present = set(logs.generations) - damaged_generations
    if verification is not None:
        present -= set(verification.missing)
    if (
        current_signature
        and header.log_signature
        and _signature_key(current_signature) != _signature_key(header.log_signature)
        and logs.current_present
        and required is not None
        and logs.current_generation is not None
        and logs.current_generation in range(required[0], required[1] + 1)
    ):
        return RecoveryVerdict(
            "logs_mismatch",
            True,
            False,
            required,
            (),
            (),
            (),
            damaged,
            f"{database} is in {header.state}, but the logs in its log folder belong to another log stream (their signature "
            "differs from the database's): put the database's own logs back",
        )
    wanted = header.required_generations
    missing = tuple(g for g in wanted if g not in present)
    highest = max(present) if present else None
    gaps: tuple[tuple[int, int], ...] = ()
    if required is not None and highest is not None and highest > required[1]:
        gaps = tuple(missing_ranges([g for g in range(required[1] + 1, highest + 1) if g not in present]))
    files = tuple(_missing_file_names(missing, logs))
    if missing:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        return RecoveryVerdict(
            "logs_missing",
            True,
            False,
            required,
            missing,
            files,
            gaps,
            damaged,
            f"{database} is in {header.state} and needs logs {required[0]}-{required[1]} (not all there: {len(missing)} missing or "
            f"damaged: {shown}); soft recovery cannot work. Put the missing logs back from a backup, or repair the database "
            "with data loss (eseutil /p, only with allow_data_loss)",
        )
    if gaps:
        holes = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in gaps)
        return RecoveryVerdict(
            "recoverable_with_loss",
            True,
            False,
            required,
            (),
            (),
            gaps,
            damaged,
            f"{database} is in {header.state}; its required logs {required[0]}-{required[1]} are there but the log stream has a "
            f"hole after them (generations {holes}): soft recovery stops at the hole, and replaying only up to it (eseutil /r "
            "/a) loses what the later logs hold",
        )
    needed = f"logs {required[0]}-{required[1]}" if required else "its logs"
    return RecoveryVerdict(
        "recoverable",
        True,
        True,
        required,
        (),
        (),
        (),
        damaged,
        f"{database} is in {header.state}; {needed} are in its log folder: soft recovery (eseutil /r) can bring it to Clean Shutdown",
    )


def _signature_key(signature: str) -> str:
    """Signatures print as 'Create time:... Rand:N Computer:...'; the Rand and create time identify a stream."""
    m = re.search(r"Rand:\s*(\d+)", signature)
    return m.group(1) if m else signature.strip()


def _missing_file_names(missing: tuple[int, ...], logs: LogInventory) -> list[str]:
    names = []
    for g in missing:
        if logs.current_present and g == logs.current_generation:
            names.append(f"{logs.prefix}.log")
        else:
            names.append(log_file_name(logs.prefix, g))
    return names


@dataclass(frozen=True)
class SpaceVerdict:
    """Whether a volume has the free space an offline operation on a database needs."""

    operation: str  # repair | defragment | copy_aside
    volume: str | None
    database_bytes: int
    needed_bytes: int
    free_bytes: int | None
    enough: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


_RATIOS = {"repair": REPAIR_FREE_SPACE_RATIO, "defragment": DEFRAG_FREE_SPACE_RATIO, "copy_aside": 1.0}
_WHY = {
    "repair": "eseutil /p needs about 20% of the database free for its temporary database",
    "defragment": "eseutil /d builds a new copy of the database and needs about 110% of its size free",
    "copy_aside": "a copy of the database kept aside needs its full size free",
}


def space_verdict(operation: str, database_bytes: int, free_bytes: int | None, volume: str | None = None) -> SpaceVerdict:
    """Free space for `operation` (repair, defragment, copy_aside) on `volume`. Unknown free space is not enough."""
    if operation not in _RATIOS:
        raise ValueError(f"unknown operation {operation!r}; known: {', '.join(_RATIOS)}")
    needed = int(database_bytes * _RATIOS[operation] + 0.5)
    where = f" on {volume}" if volume else ""
    if free_bytes is None:
        return SpaceVerdict(operation, volume, database_bytes, needed, None, False, f"the free space{where} is not known; {_WHY[operation]}")
    enough = free_bytes >= needed
    verdict = "enough" if enough else "too little"
    return SpaceVerdict(
        operation,
        volume,
        database_bytes,
        needed,
        free_bytes,
        enough,
        f"{verdict} free space{where}: {_size(free_bytes)} free, {_size(needed)} needed ({_WHY[operation]})",
    )


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
