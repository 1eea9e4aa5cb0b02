"""exchange_dr.recovery.exchange_recovery_database: what plugins/modules/exchange_recovery_database.ps1 does on a simulated
host - `read` (Get-StorageGroup on 2007, Get-MailboxDatabase -Server -Status, a Get-MailboxDatabase -Identity lookup for
a name that is not here, the recovery database's and the backup's files, eseutil /mh and /ml) and `apply` (the planned
steps in order - cmdlets, folders, moves aside, copies, eseutil, a status read - stopping at the first that fails).
"""

from __future__ import annotations

import re
from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, invoke_eseutil, open_exchange_shell, prop, text, volume_of
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError

PLANNED_CMDLETS = (
    "New-StorageGroup",
    "New-MailboxDatabase",
    "Set-MailboxDatabase",
    "Mount-Database",
    "Dismount-Database",
    "Remove-MailboxDatabase",
    "Remove-StorageGroup",
)
_CURRENT_LOG = re.compile(r"^[ER][0-9A-Fa-f]{2}\.log$")


@twin("exchange_dr.recovery.exchange_recovery_database", required_together=[["exchange_username", "exchange_password"]])
def exchange_recovery_database(m: ModuleRun) -> None:
    p, host = m.params, m.host
    m.result["changed"] = False
    m.result["server"] = host.name.upper()
    m.result["exchange"] = {"version": None, "install_path": None, "shell": None, "snapin": None, "connection_uri": None}

    state = exchange_state(host)
    computer = host.name.upper()
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to manage recovery database {p['name']} on {computer}: Exchange Server is not installed on it")
    version = str(state["version"])
    m.result["exchange"].update(version=version, install_path=state["install_path"])
    major = int(version.split(".", maxsplit=1)[0])
    eseutil = rf"{state['install_path']}\Bin\eseutil.exe"
    plan = p["_plan"]
    apply = p["_operation"] == "apply"
    if apply and plan is None:
        m.fail_json("Failed to apply: _plan is set by the action plugin (exchange_dr.recovery.exchange_recovery_database)")
    if apply and m.check_mode:
        m.fail_json("Failed to apply: a plan does not run in check mode")
    commands = ["Get-MailboxDatabase"] + (["Get-StorageGroup"] if major == 8 else [])
    if apply:
        for step in plan["steps"]:
            if step["action"] == "cmdlet":
                if step["cmdlet"] not in PLANNED_CMDLETS:
                    m.fail_json(f"Failed to apply: {step['cmdlet']} is not a cmdlet this module runs")
                commands.append(step["cmdlet"])
    commands = list(dict.fromkeys(commands))

    shell = open_exchange_shell(m, version, commands)
    m.result["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
    failure = None
    try:
        if apply:
            m.result["_steps"] = _apply(m, shell, plan, eseutil)
        else:
            m.result["_read"] = _read(m, shell, major, eseutil)
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to manage recovery database {p['name']} on {computer}: {failure}")


def _apply(m: ModuleRun, shell: Any, plan: dict[str, Any], eseutil: str) -> list[dict[str, Any]]:
    host = m.host
    records: list[dict[str, Any]] = []
    for step in plan["steps"]:
        record: dict[str, Any] = {"action": step["action"], "what": step.get("what"), "ok": False, "error": None, "eseutil": None, "mounted": None}
        try:
            if step["action"] == "cmdlet":
                invoke(shell, step["cmdlet"], dict(step["parameters"]))
                record["ok"] = True
            elif step["action"] == "mkdir":
                host.mkdir(step["path"])
                record["ok"] = True
            elif step["action"] == "move":  # aside, never over anything
                if host.exists(step["to"]):
                    raise WinError(183, "Cannot create a file when that file already exists.")
                host.move(step["path"], step["to"])
                record["ok"] = True
            elif step["action"] == "copy":
                if step.get("partial"):
                    host.copy(step["path"], step["partial"], overwrite=True)
                    if host.exists(step["to"]):
                        raise WinError(183, "Cannot create a file when that file already exists.")
                    host.move(step["partial"], step["to"])
                else:
                    host.copy(step["path"], step["to"], overwrite=False)
                record["ok"] = True
            elif step["action"] == "eseutil":
                record["eseutil"] = invoke_eseutil(m, eseutil, [str(a) for a in step["arguments"]])
                record["ok"] = record["eseutil"]["rc"] == 0
            elif step["action"] == "status":
                found = invoke(shell, "Get-MailboxDatabase", {"Identity": step["identity"], "Status": True})
                record["mounted"] = prop(found[0], "Mounted") if found else None
                record["ok"] = True
            else:
                record["error"] = f"unknown step {step['action']}"
        except (cmdlets.CmdletError, WinError) as error:
            record["error"] = str(error)
        records.append(record)
        if record["ok"] and record["action"] != "status":
            m.result["changed"] = True
        if not record["ok"]:
            break
    return records


def _listing(host: Any, path: str | None) -> dict[str, Any]:
    listing: dict[str, Any] = {"path": path, "exists": False, "files": []}
    if path and host.exists(path) and host.is_dir(path):
        listing["exists"] = True
        listing["files"] = [{"name": n, "size": host.stat(rf"{path}\{n}").size} for n in host.listdir(path) if not host.is_dir(rf"{path}\{n}")]
    return listing


def _file(host: Any, path: str | None) -> dict[str, Any]:
    if path and host.exists(path) and not host.is_dir(path):
        return {"path": path, "exists": True, "size": host.stat(path).size}
    return {"path": path, "exists": False, "size": None}


def _entry(db: dict[str, Any], groups: dict[str, Any]) -> dict[str, Any]:
    group_name = text(prop(db, "StorageGroup"))
    group = groups.get(group_name) if group_name else None
    settings = group if group is not None else db
    log_folder = text(prop(settings, "LogFolderPath"))
    return {
        "name": text(prop(db, "Name")),
        "identity": text(prop(db, "Identity")),
        "guid": text(prop(db, "Guid")),
        "server": text(prop(db, "Server")),
        "recovery": bool(prop(settings, "Recovery")),
        "mounted": prop(db, "Mounted"),
        "allow_file_restore": prop(db, "AllowFileRestore"),
        "edb_file_path": text(prop(db, "EdbFilePath")),
        "log_folder_path": log_folder,
        "system_folder_path": text(prop(settings, "SystemFolderPath")) or log_folder,
        "log_prefix": text(prop(settings, "LogFilePrefix")),
        "storage_group": text(prop(group, "Name")) if group is not None else None,
    }


def _current_logs(m: ModuleRun, listing: dict[str, Any], eseutil: str) -> list[dict[str, Any]]:
    return [
        {"file": f["name"], "eseutil": invoke_eseutil(m, eseutil, ["/ml", rf"{listing['path'].rstrip(chr(92))}\{f['name']}"])}
        for f in listing["files"]
        if _CURRENT_LOG.match(f["name"])
    ]


def _read(m: ModuleRun, shell: Any, major: int, eseutil: str) -> dict[str, Any]:
    p, host = m.params, m.host
    computer = host.name.upper()
    groups: dict[str, Any] = {}
    storage_groups: list[dict[str, Any]] = []
    if major == 8:
        for group in invoke(shell, "Get-StorageGroup", {"Server": computer}):
            groups[str(prop(group, "Identity"))] = group
            storage_groups.append(
                {
                    "name": text(prop(group, "Name")),
                    "identity": text(prop(group, "Identity")),
                    "recovery": bool(prop(group, "Recovery")),
                    "log_folder_path": text(prop(group, "LogFolderPath")),
                    "system_folder_path": text(prop(group, "SystemFolderPath")),
                    "log_prefix": text(prop(group, "LogFilePrefix")),
                }
            )
    databases = [_entry(db, groups) for db in invoke(shell, "Get-MailboxDatabase", {"Server": computer, "Status": True})]

    lookups: list[dict[str, Any]] = []
    for query in (p["name"], p["database"]):
        if not query:
            continue
        if any(str(d["name"]).casefold() == query.casefold() or str(d["identity"]).casefold() == query.casefold() for d in databases):
            continue
        lookup: dict[str, Any] = {"query": query, "found": [], "error": None}
        try:
            lookup["found"] = [_entry(db, groups) for db in invoke(shell, "Get-MailboxDatabase", {"Identity": query})]
        except cmdlets.CmdletError as error:
            lookup["error"] = str(error)
        lookups.append(lookup)

    existing = next((d for d in databases if d["recovery"] and str(d["name"]).casefold() == p["name"].casefold()), None)
    edb_path, log_path, system_path = p["edb_file_path"], p["log_folder_path"], p["system_folder_path"]
    if existing is not None:
        edb_path, log_path, system_path = existing["edb_file_path"], existing["log_folder_path"], existing["system_folder_path"]
    elif major == 8:
        group = next((g for g in storage_groups if str(g["name"]).casefold() == p["storage_group"].casefold()), None)
        if group is not None:
            log_path, system_path = group["log_folder_path"], group["system_folder_path"]
    target: dict[str, Any] = {
        "edb": _file(host, edb_path),
        "partial": False,
        "log_folder": _listing(host, log_path),
        "system_folder": _listing(host, system_path),
        "edb_volume": volume_of(host, edb_path) if edb_path else None,
        "log_volume": volume_of(host, log_path) if log_path else None,
        "mh": None,
        "current_logs": [],
    }
    if edb_path:
        target["partial"] = host.exists(f"{edb_path}.exdr-partial") and not host.is_dir(f"{edb_path}.exdr-partial")
    mounted = existing is not None and existing["mounted"] is True
    if target["edb"]["exists"] and not mounted and p["state"] != "absent":
        target["mh"] = invoke_eseutil(m, eseutil, ["/mh", edb_path])
        target["current_logs"] = _current_logs(m, target["log_folder"], eseutil)

    source = None
    if p["restore_from"] and not target["edb"]["exists"] and p["state"] != "absent":
        logs_from = p["restore_logs_from"] or p["restore_from"]
        source = {"folder": _listing(host, p["restore_from"]), "logs": _listing(host, logs_from), "mh": [], "current_logs": []}
        edb_files = [f for f in source["folder"]["files"] if f["name"].casefold().endswith(".edb")][:4]
        source["mh"] = [
            {"file": f["name"], "eseutil": invoke_eseutil(m, eseutil, ["/mh", rf"{p['restore_from'].rstrip(chr(92))}\{f['name']}"])} for f in edb_files
        ]
        source["current_logs"] = _current_logs(m, source["logs"], eseutil)
    return {"databases": databases, "storage_groups": storage_groups, "lookups": lookups, "target": target, "source": source}
