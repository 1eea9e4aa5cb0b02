"""exchange_dr.recovery.exchange_retention: what plugins/modules/exchange_retention.ps1 does on a simulated host - `read`
(Get-StorageGroup on 2007, Get-MailboxDatabase -Server -Status, Get-PublicFolderDatabase on 2007/2010, -Identity lookups for a
name not here, Get-MailboxStatistics -Database of the named mounted mailbox database - its disconnected mailboxes and the one
named -, Get-User and for a mailbox user Get-Mailbox) and `apply` (the planned cmdlets from the allow-list, in order, stopping
at the first that fails, then the read again).
"""

from __future__ import annotations

from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop, text
from simulator.twins.exchange_dr._exchange_state import exchange_state

PLANNED_CMDLETS = ("Set-MailboxDatabase", "Set-PublicFolderDatabase", "Update-StoreMailboxState", "Clean-MailboxDatabase", "Connect-Mailbox")


@twin("exchange_dr.recovery.exchange_retention", required_together=[["exchange_username", "exchange_password"]])
def exchange_retention(m: ModuleRun) -> None:
    p, host = m.params, m.host
    m.result["changed"] = False
    m.result["server"] = host.name.upper()
    m.result["exchange"] = {"version": None, "install_path": None, "shell": None, "snapin": None, "connection_uri": None}

    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to manage retention of {p['database']} on {host.name.upper()}: Exchange Server is not installed on it")
    version = str(state["version"])
    m.result["exchange"].update(version=version, install_path=state["install_path"])
    major = int(version.split(".", maxsplit=1)[0])
    plan = p["_plan"]
    apply = p["_operation"] == "apply"
    if apply and plan is None:
        m.fail_json("Failed to apply: _plan is set by the action plugin (exchange_dr.recovery.exchange_retention)")
    if apply and m.check_mode:
        m.fail_json("Failed to apply: a plan does not run in check mode")

    commands = ["Get-MailboxDatabase", "Get-MailboxStatistics", "Get-User", "Get-Mailbox"]
    commands += ["Get-PublicFolderDatabase"] if major <= 14 else []
    commands += ["Get-StorageGroup"] if major == 8 else []
    if apply:
        for step in plan["steps"]:
            if step["cmdlet"] not in PLANNED_CMDLETS:
                m.fail_json(f"Failed to apply: {step['cmdlet']} is not a cmdlet this module runs")
            commands.append(str(step["cmdlet"]))
    commands = list(dict.fromkeys(commands))

    shell = open_exchange_shell(m, version, commands)
    m.result["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
    failure = None
    try:
        if apply:
            records = []
            for step in plan["steps"]:
                record: dict[str, Any] = {"cmdlet": str(step["cmdlet"]), "what": str(step["what"]), "ok": False, "error": None}
                try:
                    invoke(shell, record["cmdlet"], dict(step["parameters"]), no_domain_controller=bool(step.get("no_domain_controller")))
                    record["ok"] = True
                    m.result["changed"] = True
                except cmdlets.CmdletError as error:
                    record["error"] = str(error)
                records.append(record)
                if not record["ok"]:
                    break
            m.result["_steps"] = records
        m.result["_read"] = _read(m, shell, major)
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to read the retention settings and mailboxes of {p['database']} on {host.name.upper()}: {failure}")


def _database(db: dict[str, Any], kind: str, groups: dict[str, Any]) -> dict[str, Any]:
    """ConvertTo-ExDrRetentionDatabase."""
    group_name = text(prop(db, "StorageGroup"))
    settings = groups[group_name] if group_name and group_name in groups else db
    return {
        "name": text(prop(db, "Name")),
        "identity": text(prop(db, "Identity")),
        "guid": text(prop(db, "Guid")),
        "server": text(prop(db, "Server")),
        "kind": kind,
        "recovery": bool(prop(settings, "Recovery")),
        "mounted": prop(db, "Mounted"),
        "retention": {
            "deleted_item_retention": text(prop(db, "DeletedItemRetention")),
            "mailbox_retention": text(prop(db, "MailboxRetention")),
            "retain_deleted_items_until_backup": text(prop(db, "RetainDeletedItemsUntilBackup")),
        },
    }


def _read(m: ModuleRun, shell: Any, major: int) -> dict[str, Any]:
    """Get-ExDrRetentionRead."""
    p = m.params
    computer = m.host.name.upper()
    query = p["database"]
    groups: dict[str, Any] = {}
    if major == 8:
        groups = {str(prop(g, "Identity")): g for g in invoke(shell, "Get-StorageGroup", {"Server": computer})}
    databases = [_database(db, "mailbox", groups) for db in invoke(shell, "Get-MailboxDatabase", {"Server": computer, "Status": True})]
    if major <= 14:
        databases += [_database(db, "public_folder", groups) for db in invoke(shell, "Get-PublicFolderDatabase", {"Server": computer, "Status": True})]
    # PowerShell's -eq on strings is case-insensitive
    matching = [d for d in databases if query.casefold() in (str(d["name"]).casefold(), str(d["identity"]).casefold(), str(d["guid"]).casefold())]

    lookup = None
    if not matching:
        lookup = {"found": [], "error": None}
        found = []
        for cmdlet in ["Get-MailboxDatabase"] + (["Get-PublicFolderDatabase"] if major <= 14 else []):
            try:
                found += [{"name": text(prop(d, "Name")), "server": text(prop(d, "Server"))} for d in invoke(shell, cmdlet, {"Identity": query})]
            except cmdlets.CmdletError as error:
                lookup["error"] = str(error)
        lookup["found"] = found

    mailboxes: list[dict[str, Any]] = []
    reconnect = p["reconnect"]
    target = next((d for d in matching if d["kind"] == "mailbox" and d["mounted"] is True), None)
    if len(matching) == 1 and target is not None and (p["list_disconnected"] or reconnect is not None):
        named = str(reconnect["mailbox"]) if reconnect is not None else None
        for stats in invoke(shell, "Get-MailboxStatistics", {"Database": target["identity"]}):
            display_name, guid = text(prop(stats, "DisplayName")), text(prop(stats, "MailboxGuid"))
            reason, date = text(prop(stats, "DisconnectReason")), text(prop(stats, "DisconnectDate"))
            if reason or date or (named and named.casefold() in (str(display_name).casefold(), str(guid).casefold())):
                mailboxes.append(
                    {
                        "display_name": display_name,
                        "guid": guid,
                        "item_count": prop(stats, "ItemCount"),
                        "size": text(prop(stats, "TotalItemSize")),
                        "disconnect_reason": reason,
                        "disconnect_date": date,
                    }
                )

    user = None
    if reconnect is not None:
        user = {"name": None, "recipient_type": None, "exchange_guid": None, "database": None, "error": None}
        try:
            found_users = invoke(shell, "Get-User", {"Identity": str(reconnect["user"])})
            if found_users:
                user.update(name=text(prop(found_users[0], "Name")), recipient_type=text(prop(found_users[0], "RecipientType")))
        except cmdlets.CmdletError as error:
            user["error"] = str(error)
        if user["recipient_type"] == "UserMailbox":
            mailbox = invoke(shell, "Get-Mailbox", {"Identity": str(reconnect["user"])})
            if mailbox:
                user.update(exchange_guid=text(prop(mailbox[0], "ExchangeGuid")), database=text(prop(mailbox[0], "Database")))
    return {"databases": databases, "lookup": lookup, "mailboxes": mailboxes, "user": user}
