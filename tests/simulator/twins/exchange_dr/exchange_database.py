"""exchange_dr.recovery.exchange_database: what plugins/modules/exchange_database.ps1 does on a simulated host.

- _operation=inspect reads: the record of earlier runs (a registry value per database GUID), the size of the live logs,
  the aside folder's volume, the backup folder (Get-Item, the .edb files with eseutil /mh, the logs with eseutil /ml), on
  2007 the storage group's databases (Get-MailboxDatabase / Get-PublicFolderDatabase -StorageGroup -Status) and
  isinteg's list (isinteg run with no answer on its input).
- _operation=apply runs the planned steps in order through the same shell, cmdlets and programs, stops at the first
  failure, then reads the database back (Get-MailboxDatabase -Identity -Status, the EDB, the log count). A copy or a move
  onto an existing file fails, unless it is already done (a move whose source is gone; a copy with the source's length and
  last write time); a copy goes to <dst>.exdr-partial first and is renamed.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, invoke_eseutil, open_exchange_shell, prop, text, volume_of
from simulator.twins.exchange_dr._exchange_state import exchange_state, reg_value
from simulator.winerror import WinError
from simulator.winpath import join_command_line

RECORD_KEY = r"HKLM:\SOFTWARE\exchange_dr\recovery\Databases"


class _StepFailed(Exception):
    pass


@twin("exchange_dr.recovery.exchange_database")
def exchange_database(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["changed"] = False
    r["_inspect"] = None
    r["_applied"] = []
    r["_final"] = None

    database = p["_database"]
    if database is None:
        m.fail_json("Failed to run exchange_database: _database is set by the exchange_dr.recovery.exchange_database action plugin; none was given")
    name = p["name"]
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to work on database {name}: Exchange Server is not installed on {host.name.upper()}")
    version = str(state["version"])
    eseutil = rf"{state['install_path']}\Bin\eseutil.exe"
    isinteg = rf"{state['install_path']}\Bin\isinteg.exe"
    prefix = str(database.get("log_prefix") or "E00")

    if p["_operation"] == "inspect":
        r["_inspect"] = _inspect(m, database, prefix=prefix, eseutil=eseutil, isinteg=isinteg, version=version)
        return

    steps = list(p["_steps"] or [])
    if m.check_mode:
        return
    commands = ["Get-PublicFolderDatabase"] if database.get("kind") == "public_folder" else ["Get-MailboxDatabase"]
    for step in steps:
        if step.get("cmdlet") and step["cmdlet"] not in commands:
            commands.append(str(step["cmdlet"]))
    shell = open_exchange_shell(m, version, commands)
    applied: list[dict[str, Any]] = []
    failure: str | None = None
    failed_step: str | None = None
    try:
        for step in steps:
            failed_step = str(step.get("kind"))
            done: dict[str, Any] = {"kind": failed_step, "ok": False, "run": None, "output": None}
            applied.append(done)
            r["changed"] = True
            _run_step(m, shell, step, done, name=name, eseutil=eseutil, isinteg=isinteg)
            done["ok"] = True
        failed_step = None
    except (cmdlets.CmdletError, WinError, _StepFailed) as error:
        failure = str(error)
    final: dict[str, Any] = {
        "mounted": None,
        "allow_file_restore": None,
        "edb": {"exists": False, "size": None, "modified": None},
        "log_count": 0,
        "error": None,
    }
    try:
        cmdlet = "Get-PublicFolderDatabase" if database.get("kind") == "public_folder" else "Get-MailboxDatabase"
        objects = invoke(shell, cmdlet, {"Identity": name, "Status": True})
        obj = objects[0] if objects else None
        final["mounted"] = prop(obj, "Mounted")
        final["allow_file_restore"] = prop(obj, "AllowFileRestore")
    except cmdlets.CmdletError as error:
        final["error"] = str(error)
    finally:
        shell.close()
    edb = str(database.get("edb_file_path") or "")
    if edb and host.exists(edb) and not host.is_dir(edb):
        info = host.stat(edb)
        final["edb"] = {"exists": True, "size": info.size, "modified": info.mtime.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"}
    folder = str(database.get("log_folder_path") or "")
    if folder and host.is_dir(folder):
        final["log_count"] = len([n for n in host.listdir(folder) if _like(n, f"{prefix}*.log") and not host.is_dir(rf"{folder}\{n}")])
    r["_applied"] = applied
    r["_final"] = final
    if failure is not None:
        m.fail_json(f"Failed to {failed_step} {name}: {failure}")


def _run_step(m: ModuleRun, shell: Any, step: dict[str, Any], done: dict[str, Any], *, name: str, eseutil: str, isinteg: str) -> None:
    host = m.host
    kind = step.get("kind")
    if kind == "dismount":
        invoke(shell, "Dismount-Database", {"Identity": name, "Confirm": False})
    elif kind == "mount":
        parameters: dict[str, Any] = {"Identity": name}
        if step.get("force"):
            parameters["Force"] = True
        invoke(shell, "Mount-Database", parameters)
    elif kind == "allow_file_restore":
        invoke(shell, str(step["cmdlet"]), {"Identity": name, "AllowFileRestore": True})
    elif kind == "repair_request":
        found = invoke(shell, "New-MailboxRepairRequest", {"Database": name, "CorruptionType": [str(t) for t in step.get("corruption_types") or []]})
        request = found[0] if found else None
        done["output"] = {"identity": text(prop(request, "Identity")), "request_guid": text(prop(request, "RequestGuid"))}
    elif kind in ("move", "copy"):
        for entry in step.get("items") or []:
            source, destination = str(entry["src"]), str(entry["dst"])
            if host.exists(destination):
                # a rerun after a cut: a move whose source is gone, or a copy with the source's length and last write
                # time (CopyFile keeps it), is done; any other file is never replaced
                done_already = False
                if not host.is_dir(destination):
                    if kind == "move":
                        done_already = not host.exists(source)
                    elif host.exists(source) and not host.is_dir(source):
                        original, target = host.stat(source), host.stat(destination)
                        done_already = original.size == target.size and original.mtime == target.mtime
                if done_already:
                    continue
                raise _StepFailed(f"{destination} exists and is not the {kind} of {source} (another file); it is not replaced")
            parent = destination.rsplit("\\", 1)[0]
            if not host.is_dir(parent):
                host.mkdir(parent)
            if kind == "move":
                host.move(source, destination)
            else:
                partial = f"{destination}.exdr-partial"
                if host.exists(partial) and not host.is_dir(partial):
                    host.remove(partial, force=True)
                host.copy(source, partial)
                host.move(partial, destination)
    elif kind == "eseutil":
        done["run"] = invoke_eseutil(m, eseutil, [str(a) for a in step.get("arguments") or []])
        if done["run"]["rc"] != 0:
            raise _StepFailed(f"eseutil exited with {done['run']['rc']}")
    elif kind == "isinteg":
        done["run"] = _program(m, isinteg, [str(a) for a in step.get("arguments") or []], str(step.get("input") or ""))
        if done["run"]["rc"] != 0:
            raise _StepFailed(f"isinteg exited with {done['run']['rc']}")
    elif kind == "record":
        host.reg_set_value(str(step["key"]), str(step["value"]), str(step["data"]), "REG_SZ", create_key=True)
    else:
        raise _StepFailed(f"unknown step {kind}")


def _program(m: ModuleRun, path: str, arguments: list[str], stdin: str) -> dict[str, Any]:
    """Invoke-ExDrProgram: CreateProcess with text on standard input (Ansible.Process adds a final newline)."""
    command_line = join_command_line([path, *arguments])
    if stdin and not stdin.endswith("\r\n"):
        stdin += "\r\n"
    result = m.host.run(command_line, user=m.user, stdin=stdin)
    return {"command_line": command_line, "rc": result.rc & 0xFFFFFFFF, "output": re.split(r"\r?\n", result.stdout)}


def _file_entry(host: Any, path: str) -> dict[str, Any]:
    info = host.stat(path)
    return {"name": info.name, "path": info.path, "size": info.size, "modified": info.mtime.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"}


def _inspect(m: ModuleRun, database: dict[str, Any], *, prefix: str, eseutil: str, isinteg: str, version: str) -> dict[str, Any]:
    host, p = m.host, m.params
    inspect: dict[str, Any] = {
        "server": host.name.upper(),
        "now": host.clock.now().strftime("%Y%m%dT%H%M%SZ"),
        "record": reg_value(host, RECORD_KEY, str(database.get("guid"))),
        "log_bytes": 0,
        "aside_volume": None,
        "backup": None,
        "siblings": [],
        "isinteg": None,
        "repair_requests": None,
        "live": {"ml": None, "current_log": None},
    }
    folder = str(database.get("log_folder_path") or "")
    if folder and host.is_dir(folder):
        for n in host.listdir(folder):
            path = rf"{folder}\{n}"
            if _like(n, f"{prefix}*.log") and not host.is_dir(path):
                inspect["log_bytes"] += host.stat(path).size
    if p["aside_folder"]:
        inspect["aside_volume"] = volume_of(host, p["aside_folder"])

    if p["restore_from"] and database.get("read_backup"):
        if not (host.exists(eseutil) and not host.is_dir(eseutil)):
            m.fail_json(f"Failed to read the backup of {p['name']}: eseutil.exe is not at {eseutil}")
        source = p["restore_from"]
        logs_from = p["restore_logs_from"] or source
        backup: dict[str, Any] = {
            "folder": source,
            "exists": False,
            "error": None,
            "edb_files": [],
            "eseutil": {},
            "logs": {"folder": logs_from, "exists": False, "files": [], "ml": None, "current_log": None},
        }
        try:
            item = host.stat(source)  # Get-Item -ErrorAction Stop
            backup["exists"] = item.is_dir
            if item.is_dir:
                edbs = sorted((n for n in host.listdir(source) if n.casefold().endswith(".edb") and not host.is_dir(rf"{source}\{n}")), key=str.casefold)[:5]
                backup["edb_files"] = [_file_entry(host, rf"{source.rstrip(chr(92))}\{n}") for n in edbs]
                for entry in backup["edb_files"]:
                    backup["eseutil"][entry["name"]] = {"mh": invoke_eseutil(m, eseutil, ["/mh", entry["path"]])}
                if host.is_dir(logs_from):
                    backup["logs"]["exists"] = True
                    names = sorted((n for n in host.listdir(logs_from) if _like(n, "*.log") and not host.is_dir(rf"{logs_from}\{n}")), key=str.casefold)
                    backup["logs"]["files"] = [_file_entry(host, rf"{logs_from.rstrip(chr(92))}\{n}") for n in names]
                    if any(_like(n, f"{prefix}*.log") for n in names):
                        backup["logs"]["ml"] = invoke_eseutil(m, eseutil, ["/ml", rf"{logs_from.rstrip(chr(92))}\{prefix}"])
                    current = rf"{logs_from.rstrip(chr(92))}\{prefix}.log"
                    if host.exists(current) and not host.is_dir(current):
                        backup["logs"]["current_log"] = invoke_eseutil(m, eseutil, ["/ml", current])
        except WinError as error:
            if error.code in (2, 3):
                backup["exists"] = False  # ItemNotFoundException
            else:
                backup["error"] = str(error)
        inspect["backup"] = backup

        # the logs in the database's own log folder take part in the restore: their verification and the current log's header
        ours = [n for n in host.listdir(folder) if _like(n, f"{prefix}*.log") and not host.is_dir(rf"{folder}\{n}")] if folder and host.is_dir(folder) else []
        if ours:
            inspect["live"]["ml"] = invoke_eseutil(m, eseutil, ["/ml", rf"{folder.rstrip(chr(92))}\{prefix}"])
            current = rf"{folder.rstrip(chr(92))}\{prefix}.log"
            if host.exists(current) and not host.is_dir(current):
                inspect["live"]["current_log"] = invoke_eseutil(m, eseutil, ["/ml", current])

    if database.get("repair_requests"):
        shell = open_exchange_shell(m, version, ["Get-MailboxRepairRequest"])
        failure = None
        try:
            found = invoke(shell, "Get-MailboxRepairRequest", {"Database": p["name"]})
            inspect["repair_requests"] = [{"identity": text(prop(o, "Identity")), "status": text(prop(o, "Status"))} for o in found]
        except cmdlets.CmdletError as error:
            failure = error
        finally:
            shell.close()
        if failure is not None:
            m.fail_json(f"Failed to read the repair requests of {p['name']}: {failure}")

    if database.get("storage_group") or database.get("isinteg"):
        shell = open_exchange_shell(m, version, ["Get-MailboxDatabase", "Get-PublicFolderDatabase"])
        failure = None
        try:
            if database.get("storage_group"):
                group = f"{host.name.upper()}\\{database['storage_group']}"
                found = invoke(shell, "Get-MailboxDatabase", {"StorageGroup": group, "Status": True})
                found += invoke(shell, "Get-PublicFolderDatabase", {"StorageGroup": group, "Status": True})
                inspect["siblings"] = [{"name": text(prop(o, "Name")), "mounted": prop(o, "Mounted")} for o in found]
        except cmdlets.CmdletError as error:
            failure = error
        finally:
            shell.close()
        if failure is not None:
            m.fail_json(f"Failed to read the storage group of {p['name']}: {failure}")
        if database.get("isinteg") and host.exists(isinteg) and not host.is_dir(isinteg):
            inspect["isinteg"] = _program(m, isinteg, ["-s", host.name.upper(), "-test", "alltests"], "")
    return inspect


def _like(name: str, pattern: str) -> bool:
    """Get-ChildItem -Filter 'E00*.log' (prefix*, extension), case-insensitive."""
    head, _star, tail = pattern.casefold().partition("*")
    low = name.casefold()
    return low.startswith(head) and low.endswith(tail)
