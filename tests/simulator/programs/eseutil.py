"""eseutil.exe of Exchange (<install>\\Bin\\eseutil.exe): `#!simulator-program eseutil {"file_version": "15.2.1544.4"}`.

Modes, on the ESE files of simulator/exchange/ese.py:
- /mh <database>          header dump (state, logs required...); a file the store holds open gets -1032
- /ml <folder\\E00>        verifies every log of the stream in generation order: "- OK", missing generations, damaged logs
- /ml <log file>          one log's header (lGeneration, signature, attached databases)
- /r <E00> [/l<logs>] [/s<system>] [/d[dir]] [/i] [/a] [/o]   soft recovery (changes the database: header to Clean Shutdown)
- /p <database> [/t<temp>] [/o]   DESTRUCTIVE: hard repair, loses data; needs ~20% of the database free; without /o it
                                  asks for confirmation in a message box (the ESE source, repair.cxx), which a WinRM session
                                  cannot answer: refused here with -1003 (modelled)
- /d <database> [/t<temp>] [/o]   DESTRUCTIVE (rewrites the file): offline defragmentation; needs Clean Shutdown and ~110%
Output: the ESE source (microsoft/Extensible-Storage-Engine: eseutil.cxx banners and outcome lines, dbdump.cxx header
fields, logdump.cxx log verification) and real Exchange captures (exchange-recovery-facts.md section 4). The exit code is the
JET error (0 on success), as eseutil's main returns it. Lines the sources do not give are marked (modelled).
"""

from __future__ import annotations

from typing import Any

from simulator.exchange import ese
from simulator.programs import ProcessContext, program
from simulator.winerror import WinError

DESTRUCTIVE_MODES = ("p", "d")
_NL = "\r\n"
_PROGRESS = (
    "                      {title} (% complete)\r\n\r\n"
    "          0    10   20   30   40   50   60   70   80   90  100\r\n"
    "          |----|----|----|----|----|----|----|----|----|----|\r\n"
    "          ...................................................\r\n"
)


class _Done(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@program("eseutil")
def eseutil(ctx: ProcessContext) -> int:
    version = str(ctx.args.get("file_version", "15.2.0.0")).split(".")
    ctx.out(f"{_NL}Extensible Storage Engine Utilities for Microsoft(R) Exchange Server{_NL}")
    ctx.out(f"Version {int(version[0]):02d}.{int(version[1]):02d}{_NL}Copyright (C) Microsoft Corporation. All Rights Reserved.{_NL}{_NL}")
    args = ctx.argv[1:]
    if not args:
        ctx.out(f"Usage Error: no mode specified (modelled).{_NL}{_NL}")
        return -1003
    mode, rest = args[0].lower(), args[1:]
    started = ctx.host.clock.time()
    try:
        handler = {"/mh": _dump_header, "/ml": _dump_logs, "/r": _recover, "/p": _repair, "/d": _defragment}.get(mode)
        if handler is None:
            ctx.out(f"Usage Error: mode {args[0]} is not modelled by the simulator (modelled).{_NL}{_NL}")
            return -1003
        handler(ctx, rest)
        code = 0
    except _Done as done:
        code = done.code
    except ese.EseError as error:
        code = error.code
        ctx.out(_NL + _NL)
        _finish(ctx, started, code)
        return code
    if code == 0:
        _finish(ctx, started, 0)
    return code


def _finish(ctx: ProcessContext, started: float, code: int) -> None:
    seconds = max(0.01, ctx.host.clock.time() - started)
    whole, frac = int(seconds), int((seconds % 1) * 1000)
    if code == 0:
        ctx.out(f"Operation completed successfully in {whole}.{frac:03d} seconds.{_NL}{_NL}")
    else:
        name, text = ese.JET.get(code, ("JET_errUnknown", "Unknown error"))
        ctx.out(f"Operation terminated with error {code} ({name}, {text}) after {whole}.{frac:03d} seconds.{_NL}{_NL}")


def _options(rest: list[str]) -> tuple[list[str], dict[str, str | bool]]:
    """Positional arguments and switches: /l<path> or /l <path>, /d[path], /i, /a, /o, /t<temp>, /s<path>."""
    positional: list[str] = []
    switches: dict[str, str | bool] = {}
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg.startswith("/") and len(arg) >= 2:
            key, value = arg[1].lower(), arg[2:]
            if (key in ("l", "s", "t") and not value and i + 1 < len(rest) and not rest[i + 1].startswith("/")) or (
                key == "d" and not value and i + 1 < len(rest) and not rest[i + 1].startswith("/") and positional
            ):
                value, i = rest[i + 1], i + 1
            switches[key] = value or True
        else:
            positional.append(arg)
        i += 1
    return positional, switches


def _path(ctx: ProcessContext, value: str) -> str:
    return ctx.resolve(value.strip('"'))


# -- /mh ----------------------------------------------------------------------------------------------------------------
def _dump_header(ctx: ProcessContext, rest: list[str]) -> None:
    positional, _switches = _options(rest)
    ctx.out(f"Initiating FILE DUMP mode...{_NL}")
    if not positional:
        raise ese.EseError(-1003, "no database")
    path = _path(ctx, positional[0])
    ctx.out(f"         Database: {path}{_NL}{_NL}")
    ctx.sleep(0.5)
    header = _read_database(ctx, path)
    checksum = f"0x{abs(hash(path)) & 0xFFFFFFFF:08x}"
    low, high = header["log_required"]
    committed = int(header.get("log_committed") or 0)
    consistent = int(header.get("last_consistent") or 0)
    lines = [
        "DATABASE HEADER:",
        "Checksum Information:",
        f"Expected Checksum: {checksum}",
        f"  Actual Checksum: {checksum}",
        "",
        "Fields:",
        "        File Type: Database",
        f"         Checksum: {checksum}",
        "   Format ulMagic: 0x89abcdef",
        "   Engine ulMagic: 0x89abcdef",
        " Format ulVersion: 0x620,20",
        " Engine ulVersion: 0x620,20",
        "Created ulVersion: 0x620,20",
        f"     DB Signature: {header.get('db_signature')}",
        f"         cbDbPage: {header.get('page_size', 32768)}",
        f"           dbtime: {committed * 1000} (0x{committed * 1000:x})",
        f"            State: {header['state']}",
        f"     Log Required: {low}-{high} (0x{low:x}-0x{high:x})",
        f"    Log Committed: 0-{committed} (0x0-0x{committed:x})",
        "   Log Recovering: 0 (0x0)",
        "         Shadowed: Yes",
        f"     Repair Count: {header.get('repair_count', 0)}",
        "      Repair Date: 00/00/1900 00:00:00.000",
        " Old Repair Count: 0",
        f"  Last Consistent: (0x{consistent:X},1,0)  {ese.now_text(ctx.host)}",
        "      Last Detach: (0x0,0,0)  00/00/1900 00:00:00.000",
        "             Dbid: 1",
        f"    Log Signature: {header.get('log_signature') or 'Create time:00/00/1900 00:00:00.000 Rand:0 Computer:'}",
        "",
    ]
    ctx.out(_NL.join(lines) + _NL)


def _read_database(ctx: ProcessContext, path: str) -> dict[str, Any]:
    try:
        exists = ctx.host.exists(path)
    except WinError:
        exists = False
    if not exists:
        raise ese.EseError(-1811, path)
    if ese.locked(ctx.host, path):
        raise ese.EseError(-1032, f"{path} is mounted")
    return ese.read_database(ctx.host, path)


# -- /ml ----------------------------------------------------------------------------------------------------------------
def _dump_logs(ctx: ProcessContext, rest: list[str]) -> None:
    positional, _switches = _options(rest)
    ctx.out(f"Initiating FILE DUMP mode...{_NL}")
    if not positional:
        raise ese.EseError(-1003, "no log")
    target = _path(ctx, positional[0])
    folder, _sep, name = target.rpartition("\\")
    if name.casefold().endswith((".log", ".jtx")):
        _dump_one_log(ctx, target, name[:3])
        return
    _verify_stream(ctx, folder, name, target)


def _dump_one_log(ctx: ProcessContext, path: str, prefix: str) -> None:
    ctx.out(f"{_NL}      Base name: {prefix}{_NL}      Log file: {path}{_NL}")
    if not ctx.host.exists(path):
        raise ese.EseError(-1811, path)
    found = ese.read(ctx.host, path)
    if found is None or found[0] != "log" or found[1].get("damaged"):
        ctx.out(f"{_NL}                ERROR: Cannot read log file header. Error -501.{_NL}")
        raise ese.EseError(-501, path)
    data = found[1]
    generation = int(data["generation"])
    lines = [
        f"      lGeneration: {generation} (0x{generation:X})",
        "      Checkpoint: NOT AVAILABLE",
        f"      creation time: {ese.now_text(ctx.host)}",
        "      Format LGVersion: (7.3704.20.2)",
        "      Engine LGVersion: (7.3704.20.2)",
        f"      Signature: {data.get('signature')}",
    ]
    lines += [f"       {i} {p}" for i, p in enumerate(data.get("attached") or [], start=1)]
    lines += ["", f"      Last Lgpos: (0x{generation:X},8,0)", "", f"Integrity check passed for log file: {path}", ""]
    ctx.sleep(0.1)
    ctx.out(_NL.join(lines) + _NL)


def _verify_stream(ctx: ProcessContext, folder: str, prefix: str, shown: str) -> None:
    ctx.out(f"{_NL}Verifying log files...{_NL}     Base name: {prefix}{_NL}{_NL}")
    logs = ese.stream(ctx.host, folder, prefix)
    if not logs:
        raise ese.EseError(-1811, f"no {prefix} logs in {folder}")
    error = 0
    previous: int | None = None
    for lf in logs:
        ctx.sleep(0.02)
        if lf.current and previous is not None and lf.generation is not None and lf.generation != previous + 1:
            ctx.out(f"      Log file: {lf.path}{_NL}")
            ctx.out(
                f"{_NL}                ERROR: Missing log file(s). Log file is generation {lf.generation} (0x{lf.generation:X}), but "
                f"expected generation is {previous + 1} (0x{previous + 1:X}).{_NL}"
            )
            error = error or -528
            continue
        if not lf.current and previous is not None and lf.generation is not None and lf.generation != previous + 1:
            first, last = previous + 1, lf.generation - 1
            if first == last:
                ctx.out(f"      Missing log file: {shown}{first:08X}.log{_NL}")
            else:
                ctx.out(f"      Missing log files: {shown}{{{first:08X} - {last:08X}}}.log{_NL}")
            error = error or -528
        if lf.damaged:
            ctx.out(f"      Log file: {lf.path}{_NL}                ERROR: Cannot read log file header. Error -501.{_NL}")
            error = error or -501
        else:
            ctx.out(f"      Log file: {lf.path} - OK{_NL}")
        if lf.generation is not None:
            previous = lf.generation
    if error:
        raise ese.EseError(error, "log verification")
    ctx.out(f"{_NL}No damaged log files were found.{_NL}{_NL}")


# -- /r -----------------------------------------------------------------------------------------------------------------
def _recover(ctx: ProcessContext, rest: list[str]) -> None:
    positional, switches = _options(rest)
    if not positional:
        ctx.out(f"Usage Error: Missing logfile base name specification.{_NL}{_NL}")
        raise _Done(-1003)
    base = positional[0].upper()
    log_folder = _path(ctx, str(switches["l"])) if isinstance(switches.get("l"), str) else ctx.cwd
    system_folder = _path(ctx, str(switches["s"])) if isinstance(switches.get("s"), str) else ctx.cwd
    database = switches.get("d")
    db_dir = _path(ctx, database) if isinstance(database, str) else (ctx.cwd if database is True else None)
    ctx.out(f"Initiating RECOVERY mode...{_NL}    Logfile base name: {base}{_NL}")
    ctx.out(f"            Log files: {switches['l'] if isinstance(switches.get('l'), str) else '<current directory>'}{_NL}")
    ctx.out(f"         System files: {switches['s'] if isinstance(switches.get('s'), str) else '<current directory>'}{_NL}")
    if database is not None:
        ctx.out(f"   Database Directory: {database if isinstance(database, str) else '<current directory>'}{_NL}")
    ctx.out(f"{_NL}Performing soft recovery...")
    logs = ese.stream(ctx.host, log_folder, base)
    # the databases recovery opens: those the logs attach, found in /d's folder when it is given (a redirected recovery
    # leaves the mounted original alone)
    for path in ese.attached_databases(logs, db_dir, ctx.host):
        if ese.locked(ctx.host, path):
            raise ese.EseError(-1032, f"{path} is mounted")
    ctx.sleep(2 + 0.1 * len(logs))
    ese.soft_recover(ctx.host, base, log_folder, system_folder, db_dir, allow_loss=bool(switches.get("a")), ignore_mismatch=bool(switches.get("i")))
    ctx.out(_NL + _PROGRESS.format(title="Restore Status") + _NL)


# -- /p and /d (destructive) --------------------------------------------------------------------------------------------
def _repair(ctx: ProcessContext, rest: list[str]) -> None:
    positional, switches = _options(rest)
    if not positional:
        raise ese.EseError(-1003, "no database")
    path = _path(ctx, positional[0])
    temp = str(switches["t"]) if isinstance(switches.get("t"), str) else f"TEMPREPAIR{ctx.host.clock.time() % 10000:.0f}.EDB"
    ctx.out(f"Initiating REPAIR mode...{_NL}        Database: {path}{_NL}  Temp. Database: {temp}{_NL}")
    _read_database(ctx, path)
    if not switches.get("o"):
        ctx.out(f"{_NL}The repair confirmation message box cannot be answered in this non-interactive session (modelled).{_NL}")
        raise ese.EseError(-1003, "repair needs /o to run unattended")
    size_gb = ctx.host.stat(path).size / (1 << 30)
    header = ese.read_database(ctx.host, path)
    ctx.out(f"{_NL}Checking database integrity.{_NL}{_NL}")
    if header["state"] != ese.CLEAN:
        ctx.out(
            f"The database is not up-to-date. This operation may find that{_NL}this database is corrupt because data from the log files has{_NL}"
            f"yet to be placed in the database.{_NL}{_NL}To ensure the database is up-to-date please use the 'Recovery' operation.{_NL}{_NL}"
        )
    ctx.out(_PROGRESS.format(title="Scanning Status") + _NL)
    ctx.sleep(5 + 60 * size_gb)
    repaired = ese.repair(ctx.host, path)
    ctx.out(("Repairing damaged tables (modelled).\r\n\r\n" if repaired.get("repaired_with_loss") else "") + f"Integrity check successful.{_NL}{_NL}")
    ctx.out(
        f"Note:{_NL}  It is recommended that you immediately perform a full backup{_NL}  of this database. If you restore a backup made before the{_NL}"
        f"  repair, the database will be rolled back to the state{_NL}  it was in at the time of that backup.{_NL}{_NL}"
    )


def _defragment(ctx: ProcessContext, rest: list[str]) -> None:
    positional, _switches = _options(rest)
    if not positional:
        raise ese.EseError(-1003, "no database")
    path = _path(ctx, positional[0])
    ctx.out(f"Initiating DEFRAGMENTATION mode...{_NL}            Database: {path}{_NL}{_NL}")
    _read_database(ctx, path)
    size_gb = ctx.host.stat(path).size / (1 << 30)
    ctx.sleep(5 + 120 * size_gb)
    ese.defragment(ctx.host, path)
    ctx.out(_PROGRESS.format(title="Defragmentation Status") + _NL)
    ctx.out(f"Moving 'TEMPDFRG{ctx.host.clock.time() % 10000:.0f}.EDB' to '{path}'... DONE!{_NL}{_NL}")
    ctx.out(
        f"Note:{_NL}  It is recommended that you immediately perform a full backup{_NL}  of this database. If you restore a backup made before the{_NL}"
        f"  defragmentation, the database will be rolled back to the state{_NL}  it was in at the time of that backup.{_NL}{_NL}"
    )
