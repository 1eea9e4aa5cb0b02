"""exchange_dr.recovery.exchange_database_info: what plugins/modules/exchange_database_info.ps1 does, step by step, on a
simulated host - the Setup key read (_ExchangeState), the shell opened (_ExchangeShell), the same cmdlets called in the same
order with the same parameters (Get-MailboxDatabase -Server -Status, Get-PublicFolderDatabase on 2007/2010, Get-StorageGroup
on 2007, Get-MailboxDatabase -Identity for a name that is not here), then the files and eseutil for dismounted databases.
"""

from __future__ import annotations

from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, invoke_eseutil, open_exchange_shell, prop, text, volume_of
from simulator.twins.exchange_dr._exchange_state import exchange_state


@twin("exchange_dr.recovery.exchange_database_info", required_together=[["exchange_username", "exchange_password"]])
def exchange_database_info(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["exchange"] = {"version": None, "install_path": None, "shell": None, "snapin": None, "connection_uri": None}
    r["databases"] = []
    r["all_database_names"] = []
    r["not_found"] = []

    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to read the databases of {host.name.upper()}: Exchange Server is not installed on it")
    version = str(state["version"])
    r["exchange"].update(version=version, install_path=state["install_path"])
    major = int(version.split(".", maxsplit=1)[0])
    eseutil = rf"{state['install_path']}\Bin\eseutil.exe"
    commands = ["Get-MailboxDatabase"] + (["Get-PublicFolderDatabase"] if major <= 14 else []) + (["Get-StorageGroup"] if major == 8 else [])

    shell = open_exchange_shell(m, version, commands)
    r["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
    computer = host.name.upper()
    entries: list[dict[str, Any]] = []
    not_found: list[dict[str, Any]] = []
    failure = None
    try:
        objects = [("mailbox", o) for o in invoke(shell, "Get-MailboxDatabase", {"Server": computer, "Status": True})]
        if major <= 14:
            objects += [("public_folder", o) for o in invoke(shell, "Get-PublicFolderDatabase", {"Server": computer, "Status": True})]
        groups = {}
        if major == 8:
            groups = {str(prop(g, "Identity")): g for g in invoke(shell, "Get-StorageGroup", {"Server": computer})}
        for kind, db in objects:
            group = None
            if major == 8:  # the group by identity (SERVER\Group), else by name
                group_name, short_name = text(prop(db, "StorageGroup")), text(prop(db, "StorageGroupName"))
                if group_name and group_name in groups:
                    group = groups[group_name]
                elif short_name:
                    group = next((g for g in groups.values() if str(prop(g, "Name")).casefold() == short_name.casefold()), None)
            settings = group if group is not None else db
            log_folder = text(prop(settings, "LogFolderPath"))
            system_folder = text(prop(settings, "SystemFolderPath")) or log_folder
            entries.append(
                {
                    "name": text(prop(db, "Name")),
                    "guid": text(prop(db, "Guid")),
                    "kind": kind,
                    "server": text(prop(db, "Server")),
                    "recovery": bool(prop(settings, "Recovery")),
                    "mounted": prop(db, "Mounted"),
                    "edb_file_path": text(prop(db, "EdbFilePath")),
                    "log_folder_path": log_folder,
                    "system_folder_path": system_folder,
                    "log_prefix": text(prop(settings, "LogFilePrefix")),
                    "storage_group": text(prop(group, "Name")) if group is not None else None,
                    "allow_file_restore": prop(db, "AllowFileRestore"),
                    "circular_logging": prop(settings, "CircularLoggingEnabled"),
                    "mount_at_startup": prop(db, "MountAtStartup"),
                    "retention": {
                        "deleted_item_retention": text(prop(db, "DeletedItemRetention")),
                        "mailbox_retention": text(prop(db, "MailboxRetention")),
                        "retain_deleted_items_until_backup": prop(db, "RetainDeletedItemsUntilBackup"),
                    },
                    "replication": {
                        "replicated": text(prop(db, "ReplicationType")) == "Remote",
                        "copies": [str(s) for s in prop(db, "Servers") or [] if s is not None],
                        "master_type": text(prop(db, "MasterType")),
                    },
                    "files": None,
                }
            )
        r["all_database_names"] = [e["name"] for e in entries]
        if p["databases"] is not None:
            known = {str(e["name"]).casefold() for e in entries}
            for name in p["databases"]:
                if name.casefold() in known:
                    continue
                owner = None
                try:
                    other = invoke(shell, "Get-MailboxDatabase", {"Identity": name})
                    owner = text(prop(other[0], "Server")) if other else None
                except cmdlets.CmdletError:
                    owner = None
                not_found.append({"name": name, "server": owner})
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to read the databases of {computer}: {failure}")
    r["not_found"] = not_found

    wanted = [n.casefold() for n in p["databases"]] if p["databases"] is not None else None
    selected = [e for e in entries if wanted is None or str(e["name"]).casefold() in wanted]
    for entry in selected:
        entry["files"] = _files(m, entry, eseutil)
    r["databases"] = selected


def _files(m: ModuleRun, entry: dict[str, Any], eseutil: str) -> dict[str, Any]:
    host, p = m.host, m.params
    files: dict[str, Any] = {
        "edb": {"exists": False, "size": None, "modified": None},
        "edb_volume": None,
        "log_volume": None,
        "log_folder_exists": False,
        "log_count": 0,
        "log_files": None,
        "checkpoint_present": False,
        "eseutil": {"mh": None, "current_log": None, "ml": None},
    }
    edb = entry["edb_file_path"]
    if edb and host.exists(edb) and not host.is_dir(edb):
        info = host.stat(edb)
        files["edb"] = {"exists": True, "size": info.size, "modified": info.mtime.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"}
    if edb:
        files["edb_volume"] = volume_of(host, edb)
    prefix = entry["log_prefix"] or "E00"
    folder = entry["log_folder_path"]
    dismounted = entry["mounted"] is not True
    if folder:
        files["log_volume"] = volume_of(host, folder)
        if host.exists(folder) and host.is_dir(folder):
            files["log_folder_exists"] = True
            names = [n for n in host.listdir(folder) if _like(n, f"{prefix}*.log") and not host.is_dir(rf"{folder}\{n}")]
            files["log_count"] = len(names)
            if dismounted:
                files["log_files"] = names
    if entry["system_folder_path"]:
        checkpoint = rf"{entry['system_folder_path'].rstrip(chr(92))}\{prefix}.chk"
        files["checkpoint_present"] = host.exists(checkpoint) and not host.is_dir(checkpoint)
    if dismounted and p["eseutil"] == "dismounted" and files["edb"]["exists"]:
        if not (host.exists(eseutil) and not host.is_dir(eseutil)):
            m.fail_json(f"Failed to read the header of {edb}: eseutil.exe is not at {eseutil}")
        files["eseutil"]["mh"] = invoke_eseutil(m, eseutil, ["/mh", edb])
        current = rf"{folder.rstrip(chr(92))}\{prefix}.log" if folder else None
        if current and host.exists(current) and not host.is_dir(current):
            files["eseutil"]["current_log"] = invoke_eseutil(m, eseutil, ["/ml", current])
        if p["verify_logs"] and files["log_count"] > 0:
            files["eseutil"]["ml"] = invoke_eseutil(m, eseutil, ["/ml", rf"{folder.rstrip(chr(92))}\{prefix}"])
    return files


def _like(name: str, pattern: str) -> bool:
    """Get-ChildItem -Filter 'E00*.log' (prefix*, extension .log), case-insensitive."""
    head, _star, tail = pattern.casefold().partition("*")
    low = name.casefold()
    return low.startswith(head) and low.endswith(tail)
