"""exchange_dr.recovery.exchange_mailbox_restore: what plugins/modules/exchange_mailbox_restore.ps1 does on a simulated host
- `read` (Get-StorageGroup on 2007, Get-MailboxDatabase -Server -Status, -Identity for a name not here, Get-MailboxStatistics
-Database of each mounted match, then Get-MailboxRestoreRequest -TargetMailbox -Name and its statistics, or on 2007/2010 RTM
Get-MailboxStatistics -Identity of the target), `start` (New-MailboxRestoreRequest and the wait, or Restore-Mailbox and the
target's statistics) and `poll` (the wait: statistics every 5 simulated seconds up to poll_interval).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import has
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop, text
from simulator.twins.exchange_dr._exchange_state import exchange_state

RUNNING = ("Queued", "InProgress", "CompletionInProgress")
STATISTICS = (
    "Name",
    "Identity",
    "Status",
    "StatusDetail",
    "PercentComplete",
    "ItemsTransferred",
    "BytesTransferred",
    "EstimatedTransferItemCount",
    "EstimatedTransferSize",
    "BadItemLimit",
    "BadItemsEncountered",
    "SourceDatabase",
    "SourceExchangeGuid",
    "TargetAlias",
    "TargetRootFolder",
    "TargetIsArchive",
    "QueuedTimestamp",
    "StartTimestamp",
    "CompletionTimestamp",
    "FailureType",
    "Message",
)


@twin("exchange_dr.recovery.exchange_mailbox_restore", required_together=[["exchange_username", "exchange_password"]])
def exchange_mailbox_restore(m: ModuleRun) -> None:
    p, host = m.params, m.host
    m.result["changed"] = False
    m.result["server"] = host.name.upper()
    m.result["exchange"] = {"version": None, "install_path": None, "shell": None, "snapin": None, "connection_uri": None}

    state = exchange_state(host)
    computer = host.name.upper()
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to restore mailbox content on {computer}: Exchange Server is not installed on it")
    version = str(state["version"])
    m.result["exchange"].update(version=version, install_path=state["install_path"])
    major = int(version.split(".", maxsplit=1)[0])
    operation = p["_operation"]
    if operation != "read" and m.check_mode:
        m.fail_json(f"Failed to {operation}: check mode only reads")
    if operation == "start" and p["_parameters"] is None:
        m.fail_json("Failed to start: _parameters is set by the action plugin (exchange_dr.recovery.exchange_mailbox_restore)")
    if operation == "poll" and not p["_identity"]:
        m.fail_json("Failed to poll: _identity is set by the action plugin (exchange_dr.recovery.exchange_mailbox_restore)")

    requests = has(release_of(version), "mailbox_restore_request")  # the .ps1's version test, from the same table
    commands = ["Get-MailboxDatabase", "Get-MailboxStatistics"] + (["Get-StorageGroup"] if major == 8 else [])
    commands += ["Get-MailboxRestoreRequest", "Get-MailboxRestoreRequestStatistics", "New-MailboxRestoreRequest"] if requests else ["Restore-Mailbox"]
    shell = open_exchange_shell(m, version, commands)
    m.result["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
    failure = None
    try:
        if operation == "read":
            m.result["_read"] = _read(m, shell, major, requests)
        elif operation == "start":
            parameters = dict(p["_parameters"])
            if requests:
                created = invoke(shell, "New-MailboxRestoreRequest", parameters)
                m.result["changed"] = True
                identity = text(prop(created[0], "Identity")) if created else None
                m.result["_identity"] = identity
                if identity:
                    m.result["_progress"] = _wait(m, shell, identity, p["poll_interval"] if p["wait"] else 0)
            else:
                invoke(shell, "Restore-Mailbox", parameters)
                m.result["changed"] = True
                m.result["_target"] = [_mailbox(s) for s in invoke(shell, "Get-MailboxStatistics", {"Identity": p["target_mailbox"]})]
        else:
            m.result["_progress"] = _wait(m, shell, p["_identity"], p["poll_interval"])
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to restore mailbox content from {p['source_database']} to {p['target_mailbox']}: {failure}")


def _statistics(stats: dict[str, Any]) -> dict[str, Any]:
    return {name: text(prop(stats, name)) for name in STATISTICS}


def _mailbox(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "display_name": text(prop(stats, "DisplayName")),
        "guid": text(prop(stats, "MailboxGuid")),
        "item_count": prop(stats, "ItemCount"),
        "size": text(prop(stats, "TotalItemSize")),
        "disconnect_reason": text(prop(stats, "DisconnectReason")),
    }


def _wait(m: ModuleRun, shell: Any, identity: str, seconds: int) -> dict[str, Any]:
    """Wait-ExDrRestoreRequest: statistics every 5 seconds (Start-Sleep: simulated time) up to `seconds` (once with 0)."""
    clock = m.host.clock
    deadline = clock.time() + seconds
    samples = 0
    while True:
        found = invoke(shell, "Get-MailboxRestoreRequestStatistics", {"Identity": identity})
        samples += 1
        statistics = _statistics(found[0]) if found else None
        if statistics is None or statistics["Status"] not in RUNNING or clock.time() >= deadline:
            break
        clock.sleep(5)
    return {"statistics": statistics, "samples": samples}


def _read(m: ModuleRun, shell: Any, major: int, requests: bool) -> dict[str, Any]:
    p = m.params
    computer = m.host.name.upper()
    groups: dict[str, Any] = {}
    if major == 8:
        groups = {str(prop(g, "Identity")): g for g in invoke(shell, "Get-StorageGroup", {"Server": computer})}
    databases = []
    for db in invoke(shell, "Get-MailboxDatabase", {"Server": computer, "Status": True}):
        group_name = text(prop(db, "StorageGroup"))
        settings = groups[group_name] if group_name and group_name in groups else db
        databases.append(
            {
                "name": text(prop(db, "Name")),
                "identity": text(prop(db, "Identity")),
                "server": text(prop(db, "Server")),
                "recovery": bool(prop(settings, "Recovery")),
                "mounted": prop(db, "Mounted"),
            }
        )
    query = p["source_database"]
    matching = [d for d in databases if str(d["name"]).casefold() == query.casefold() or str(d["identity"]).casefold() == query.casefold()]
    lookup = None
    if not matching:
        lookup = {"found": [], "error": None}
        try:
            lookup["found"] = [
                {"name": text(prop(d, "Name")), "identity": text(prop(d, "Identity")), "server": text(prop(d, "Server"))}
                for d in invoke(shell, "Get-MailboxDatabase", {"Identity": query})
            ]
        except cmdlets.CmdletError as error:
            lookup["error"] = str(error)
    mailboxes = [
        {"database": d["identity"], "mailboxes": [_mailbox(s) for s in invoke(shell, "Get-MailboxStatistics", {"Database": d["identity"]})]}
        for d in matching
        if d["mounted"] is True
    ]
    read: dict[str, Any] = {
        "databases": databases,
        "lookup": lookup,
        "mailboxes": mailboxes,
        "requests": requests,
        "request": None,
        "target": None,
        "target_error": None,
    }
    try:
        if requests:
            found = invoke(shell, "Get-MailboxRestoreRequest", {"TargetMailbox": p["target_mailbox"], "Name": p["name"]})
            if found:
                identity = text(prop(found[0], "Identity"))
                statistics = invoke(shell, "Get-MailboxRestoreRequestStatistics", {"Identity": identity})
                read["request"] = _statistics(statistics[0]) if statistics else None
        else:
            read["target"] = [_mailbox(s) for s in invoke(shell, "Get-MailboxStatistics", {"Identity": p["target_mailbox"]})]
    except cmdlets.CmdletError as error:
        read["target_error"] = str(error)
    return read
