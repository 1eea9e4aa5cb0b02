"""Mailbox content restores on a simulated Exchange organisation: the Mailbox Replication service's restore requests
(New-/Get-/Remove-MailboxRestoreRequest, Get-MailboxRestoreRequestStatistics; 2010 SP1 and later) and the older
Restore-Mailbox (2007 with -RSGDatabase, 2010 with -RecoveryDatabase).

Facts (docs/databases.md, "Mailbox content"):
- PS New-MailboxRestoreRequest: the source is a mailbox of a recovery database or a disconnected (Disabled/SoftDeleted) one
  (SourceStoreMailbox: MailboxGuid, display name or LegacyExchangeDN); the target mailbox must exist; by default the
  source's LegacyExchangeDN must be the target's unless -AllowLegacyDNMismatch; BadItemLimit defaults to 0 and a value of
  51 or more needs -AcceptLargeDataLoss; the request's identity is <target alias>\\<name>, the default name MailboxRestore
  and then MailboxRestore1-9 (ten at most); -TargetRootFolder puts the content under a folder, -TargetIsArchive into the
  archive; the conflict resolution default KeepSourceItem replaces matching messages rather than duplicating them.
- Exchange 2013 help "Manage mailbox restore requests" (assetid 8e668a52-c601-4d96-a51c-ab60267e1321): the request is
  Queued, then InProgress, then Completed (or Failed, Suspended); the statistics give Status, StatusDetail,
  PercentComplete, ItemsTransferred, EstimatedTransferItemCount, EstimatedTransferSize, BadItemLimit, BadItemsEncountered
  (more than BadItemLimit fails the request), the time stamps, FailureType and Message; removing a request leaves what
  it copied in the target.
- PS Restore-Mailbox (2010; 2007 -RSGDatabase/-RSGMailbox from E07): copies in the cmdlet itself; -RecoveryMailbox and
  -TargetFolder are needed when the source mailbox is not the target's own; it checks for duplicates unless
  -AllowDuplicates; -ValidateOnly checks without copying.

How a request progresses is modelled (simulated time): queued for QUEUED_SECONDS, then copying at BYTES_PER_SECOND (at
least MIN_COPY_SECONDS); at the end the content lands in the target mailbox's store entry (its database header), unless
the source has more corrupted items (`bad_items` in the store seed) than the limit, or a database went offline. A
request is brought up to date whenever a cmdlet looks at it. Messages marked (modelled) are the simulator's wording.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simulator.exchange import cmdlets, ese, model, store
from simulator.exchange.cmdlets import CmdletError, behaviour

if TYPE_CHECKING:
    from simulator.exchange.shell import ExchangeShell

MB = 1 << 20
QUEUED_SECONDS = 20.0
BYTES_PER_SECOND = 2 * MB
MIN_COPY_SECONDS = 30.0
RESTORE_MAILBOX_BYTES_PER_SECOND = 4 * MB
DEFAULT_NAME = "MailboxRestore"
FINAL = ("Completed", "Failed")
LARGE_BAD_ITEM_LIMIT = 51


def _when(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") if t is not None else None


def _limit(value: Any) -> int | None:
    """BadItemLimit (type Unlimited): a number, or None for unlimited."""
    if value is None:
        return 0
    if isinstance(value, str) and value.strip().casefold() == "unlimited":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CmdletError(
            f"Cannot process argument transformation on parameter 'BadItemLimit'. Cannot convert value \"{value}\" to type \"Unlimited\".",
            "ParameterBindingArgumentTransformationException",
        ) from None


# -- the store's mailboxes ------------------------------------------------------------------------------------------------------
def store_mailboxes(shell: ExchangeShell, db: model.DatabaseObject) -> list[dict[str, Any]]:
    return list(cmdlets.mounted_header(shell, db).get("mailboxes") or [])


def find_store_mailbox(shell: ExchangeShell, db: model.DatabaseObject, identity: str) -> dict[str, Any]:
    """StoreMailboxIdParameter: MailboxGuid or display name (or the LegacyExchangeDN, not modelled) in a mounted database."""
    key = str(identity).casefold()
    found = [m for m in store_mailboxes(shell, db) if key in (str(m.get("guid", "")).casefold(), str(m.get("display_name", "")).casefold())]
    if not found:
        raise CmdletError(f"The mailbox '{identity}' couldn't be found in database {db.name} (modelled).", "ManagementObjectNotFoundException")
    if len(found) > 1:
        raise CmdletError(f"The operation couldn't be performed because '{identity}' matches multiple entries.", "ManagementObjectAmbiguousException")
    return found[0]


def copy_content(
    shell: ExchangeShell,
    target: model.MailboxObject,
    source: dict[str, Any],
    *,
    folder: str | None,
    archive: bool,
    include_folders: list[str] | None,
    allow_duplicates: bool = False,
) -> tuple[int, int]:
    """Put a source mailbox's items into the target's store entry; (items, bytes) copied. The same source into the same
    place again copies nothing new: matching items are kept once (KeepSourceItem; Restore-Mailbox's duplicate check). A
    folder filter copies a share of the mailbox (modelled: a quarter per folder named)."""
    org = shell.organization
    db = org.databases.get(str(target.database)) if org and target.database else None
    if db is None:
        raise CmdletError(f"The mailbox {target.alias} has no mailbox database (modelled).")
    host = shell.host_of(db.server)
    header = cmdlets.mounted_header(shell, db)
    entries = header.setdefault("mailboxes", [])
    entry = next((m for m in entries if cmdlets.store_mailbox_matches(m, target)), None)
    if entry is None:
        entry = {"display_name": target.display_name, "guid": target.guid, "alias": target.alias, "items": 0, "size_bytes": 0}
        entries.append(entry)
    share = 1.0 if not include_folders else min(1.0, 0.25 * len(include_folders))
    good = max(0, int(source.get("items", 0)) - int(source.get("bad_items", 0)))
    items, size = int(good * share), int(int(source.get("size_bytes", 0)) * share)
    place = {"source": source.get("guid"), "folder": folder or "", "archive": bool(archive), "include_folders": sorted(include_folders or [])}
    restored = entry.setdefault("restored", [])
    if not allow_duplicates and any({k: r.get(k) for k in place} == place for r in restored):
        return 0, 0
    counter = "archive_items" if archive else "items"
    entry[counter] = int(entry.get(counter, 0)) + items
    entry["size_bytes"] = int(entry.get("size_bytes", 0)) + size
    restored.append({**place, "items": items, "size_bytes": size})
    with host.mutating():  # type: ignore[union-attr]
        ese.write_database(host, db.edb_file_path, header)  # type: ignore[arg-type]
    return items, size


# -- restore requests -------------------------------------------------------------------------------------------------------------
def _requests(shell: ExchangeShell) -> dict[str, dict[str, Any]]:
    org = shell.organization
    if org is None:
        raise CmdletError("There is no Exchange organization in this simulated domain (modelled).")
    return org.restore_requests


def refresh(shell: ExchangeShell, request: dict[str, Any]) -> bool:
    """Bring a request to what simulated time makes of it; True when that changed something to save."""
    if request["status"] in FINAL or request.get("suspend"):
        return False
    now = shell.host.clock.time()
    if now < request["started_at"]:
        request["status"] = "Queued"
        return False
    if now < request["completes_at"]:
        request["status"] = "InProgress"
        return False
    org = shell.organization
    source = org.database(request["source_database_guid"]) if org else None
    target = org.find_mailbox(request["target_guid"]) if org else None
    request["finished_at"] = request["completes_at"]
    failure: tuple[str, str] | None = None
    if source is None or target is None:
        failure = ("ManagementObjectNotFoundPermanentException", "The source database or the target mailbox no longer exists (modelled).")
    elif not _mounted(shell, source):
        failure = ("MapiExceptionMdbOffline", f"The source database {source.name} isn't mounted (modelled).")
    elif request["bad_items"] > (request["bad_item_limit"] if request["bad_item_limit"] is not None else request["bad_items"]):
        failure = (
            "TooManyBadItemsPermanentException",
            f"The request met {request['bad_items']} corrupted items, more than its BadItemLimit of {request['bad_item_limit']} (modelled).",
        )
    else:
        db = org.databases.get(str(target.database)) if target.database else None
        if db is None or not _mounted(shell, db):
            failure = ("MapiExceptionMdbOffline", f"The target mailbox's database {target.database} isn't mounted (modelled).")
    if failure is not None:
        request.update(status="Failed", failure_type=failure[0], message=failure[1], transferred_items=0, transferred_bytes=0)
        request["bad_items_encountered"] = request["bad_items"]
        return True
    source_entry = next((m for m in store_mailboxes(shell, source) if str(m.get("guid")) == request["source_guid"]), None)  # type: ignore[arg-type]
    if source_entry is None:
        request.update(status="Failed", failure_type="SourceMailboxNotFound", message="The source mailbox is gone from the source database (modelled).")
        return True
    copy_content(
        shell, target, source_entry, folder=request["target_root_folder"], archive=request["target_is_archive"], include_folders=request["include_folders"]
    )  # type: ignore[arg-type]
    request.update(
        status="Completed",
        transferred_items=request["estimated_items"],
        transferred_bytes=request["estimated_bytes"],
        bad_items_encountered=request["bad_items"],
    )
    return True


def _mounted(shell: ExchangeShell, db: model.DatabaseObject) -> bool:
    host = shell.host_of(db.server)
    return host is not None and store.is_mounted(host, db)


def _refresh_all(shell: ExchangeShell) -> None:
    changed = [refresh(shell, r) for r in _requests(shell).values()]  # every request, not only up to the first change
    if any(changed):
        shell.save_domain()


def statistics(shell: ExchangeShell, request: dict[str, Any]) -> dict[str, Any]:
    """Get-MailboxRestoreRequestStatistics' object (the properties the Exchange 2013 help lists)."""
    now = shell.host.clock.time()
    status = request["status"]
    if status == "InProgress":
        span = max(1.0, request["completes_at"] - request["started_at"])
        percent = min(95, max(10, int(10 + 85 * (now - request["started_at"]) / span)))
        items = int(request["estimated_items"] * (percent - 10) / 85)
        size = int(request["estimated_bytes"] * (percent - 10) / 85)
    elif status == "Completed":
        percent, items, size = 100, request["transferred_items"], request["transferred_bytes"]
    elif status == "Failed":
        percent, items, size = 95, request.get("transferred_items", 0), request.get("transferred_bytes", 0)
    else:
        percent, items, size = 0, 0, 0
    return {
        "Name": request["name"],
        "Identity": f"{request['target_alias']}\\{request['name']}",
        "RequestGuid": request["guid"],
        "Status": status,
        "StatusDetail": {"Queued": "Queued", "InProgress": "CopyingMessages", "Completed": "Completed", "Failed": "FailedOther"}.get(status, status),
        "Suspend": bool(request.get("suspend")),
        "PercentComplete": percent,
        "ItemsTransferred": items,
        "BytesTransferred": cmdlets.byte_size(size),
        "EstimatedTransferItemCount": request["estimated_items"],
        "EstimatedTransferSize": cmdlets.byte_size(request["estimated_bytes"]),
        "BadItemLimit": "Unlimited" if request["bad_item_limit"] is None else request["bad_item_limit"],
        "BadItemsEncountered": request.get("bad_items_encountered", 0),
        "SourceDatabase": request["source_database"],
        "SourceExchangeGuid": request["source_guid"],
        "SourceRootFolder": None,
        "TargetAlias": request["target_alias"],
        "TargetExchangeGuid": request["target_guid"],
        "TargetRootFolder": request["target_root_folder"],
        "TargetIsArchive": request["target_is_archive"],
        "IncludeFolders": list(request["include_folders"] or []),
        "QueuedTimestamp": _when(request["queued_at"]),
        "StartTimestamp": _when(request["started_at"]) if status != "Queued" else None,
        "CompletionTimestamp": _when(request.get("finished_at")) if status == "Completed" else None,
        "FailureTimestamp": _when(request.get("finished_at")) if status == "Failed" else None,
        "FailureType": request.get("failure_type"),
        "Message": request.get("message"),
    }


def _summary(request: dict[str, Any]) -> dict[str, Any]:
    """Get-MailboxRestoreRequest's object."""
    return {
        "Name": request["name"],
        "Identity": f"{request['target_alias']}\\{request['name']}",
        "RequestGuid": request["guid"],
        "TargetMailbox": request["target_alias"],
        "SourceDatabase": request["source_database"],
        "Status": request["status"],
        "Suspend": bool(request.get("suspend")),
        "BatchName": request.get("batch_name"),
    }


def _by_identity(shell: ExchangeShell, identity: str) -> dict[str, Any]:
    """MailboxRestoreRequestIdParameter: <target mailbox>\\<name>."""
    org = shell.organization
    who, _sep, name = str(identity).rpartition("\\")
    mailbox = org.find_mailbox(who) if org and who else None
    found = [r for r in _requests(shell).values() if mailbox is not None and r["target_guid"] == mailbox.guid and r["name"].casefold() == name.casefold()]
    if not found:
        raise cmdlets._not_found(shell, identity)
    return found[0]


@behaviour("New-MailboxRestoreRequest")
def new_mailbox_restore_request(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name != "Default":
        raise cmdlets.NotModelled(f"New-MailboxRestoreRequest ({set_name} parameter set)")
    org = shell.organization
    requests = _requests(shell)
    source_db = cmdlets._database(shell, bound["SourceDatabase"], "mailbox")
    source = find_store_mailbox(shell, source_db, bound["SourceStoreMailbox"])
    if not source_db.recovery and not source.get("disconnect_reason"):
        raise CmdletError(
            f"The mailbox '{bound['SourceStoreMailbox']}' in {source_db.name} is connected to a user; the source of a restore request is a mailbox of "
            "a recovery database or a disconnected (disabled or soft-deleted) one (modelled).",
            "RecipientTaskException",
        )
    target = org.find_mailbox(bound["TargetMailbox"]) if org else None
    if target is None:
        raise cmdlets._not_found(shell, bound["TargetMailbox"])
    same_mailbox = str(source.get("guid", "")).casefold() == target.guid.casefold() or str(source.get("alias") or "").casefold() == target.alias.casefold()
    if not same_mailbox and not bound.get("AllowLegacyDNMismatch"):
        raise CmdletError(
            f"The LegacyExchangeDN of the source mailbox '{source.get('display_name')}' isn't the target mailbox {target.alias}'s (nor one of its X500 "
            "addresses); use -AllowLegacyDNMismatch to restore into another mailbox (modelled).",
            "RecipientTaskException",
        )
    limit = _limit(bound.get("BadItemLimit"))
    if (limit is None or limit >= LARGE_BAD_ITEM_LIMIT) and not bound.get("AcceptLargeDataLoss"):
        raise CmdletError(
            f"The BadItemLimit is {'Unlimited' if limit is None else limit}: a limit of {LARGE_BAD_ITEM_LIMIT} or more needs -AcceptLargeDataLoss (modelled).",
            "RecipientTaskException",
        )
    taken = {r["name"].casefold() for r in requests.values() if r["target_guid"] == target.guid}
    if bound.get("Name"):
        name = str(bound["Name"])
        if name.casefold() in taken:
            raise CmdletError(f"A restore request named '{name}' already exists for mailbox {target.alias}; a name is unique per mailbox (modelled).")
    else:
        name = next((n for n in [DEFAULT_NAME] + [f"{DEFAULT_NAME}{i}" for i in range(1, 10)] if n.casefold() not in taken), "")
        if not name:
            raise CmdletError(f"Mailbox {target.alias} already has ten restore requests named MailboxRestore to MailboxRestore9; name the request (modelled).")
    if bound.get("WhatIf"):
        return []
    now = shell.host.clock.time()
    size = int(source.get("size_bytes", 0))
    request = {
        "guid": model.default_guid(org.organization, "restore-request", f"{target.guid}/{name}@{now:.6f}"),  # type: ignore[union-attr]
        "name": name,
        "status": "Queued",
        "target_alias": target.alias,
        "target_guid": target.guid,
        "source_database": source_db.name,
        "source_database_guid": source_db.guid,
        "source_guid": str(source.get("guid")),
        "source_display_name": source.get("display_name"),
        "estimated_items": int(source.get("items", 0)) - int(source.get("bad_items", 0)),
        "estimated_bytes": size,
        "bad_items": int(source.get("bad_items", 0)),
        "bad_item_limit": limit,
        "target_root_folder": bound.get("TargetRootFolder"),
        "target_is_archive": bool(bound.get("TargetIsArchive")),
        "include_folders": list(bound.get("IncludeFolders") or []),
        "batch_name": bound.get("BatchName"),
        "suspend": bool(bound.get("Suspend")),
        "queued_at": now,
        "started_at": now + QUEUED_SECONDS,
        "completes_at": now + QUEUED_SECONDS + max(MIN_COPY_SECONDS, size / BYTES_PER_SECOND),
    }
    # No clock.schedule here: the request moves on with simulated time, which runs fast while a module waits for it
    # (Start-Sleep), so how far a wait gets does not depend on the wall clock.
    requests[request["guid"]] = request
    shell.save_domain()
    return [_summary(request)]


@behaviour("Get-MailboxRestoreRequest")
def get_mailbox_restore_request(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    _refresh_all(shell)
    if bound.get("Identity"):
        return [_summary(_by_identity(shell, bound["Identity"]))]
    found = list(_requests(shell).values())
    org = shell.organization
    if bound.get("TargetMailbox"):
        mailbox = org.find_mailbox(bound["TargetMailbox"]) if org else None
        if mailbox is None:
            raise cmdlets._not_found(shell, bound["TargetMailbox"])
        found = [r for r in found if r["target_guid"] == mailbox.guid]
    if bound.get("SourceDatabase"):
        db = cmdlets._database(shell, bound["SourceDatabase"], "mailbox")
        found = [r for r in found if r["source_database_guid"] == db.guid]
    for key, field in (("Name", "name"), ("Status", "status"), ("BatchName", "batch_name")):
        if bound.get(key):
            found = [r for r in found if str(r.get(field) or "").casefold() == str(bound[key]).casefold()]
    return [_summary(r) for r in sorted(found, key=lambda r: (r["target_alias"], r["name"]))]


@behaviour("Get-MailboxRestoreRequestStatistics")
def get_mailbox_restore_request_statistics(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name not in ("IdentityOnPremises", "IdentityCloud"):
        raise cmdlets.NotModelled(f"Get-MailboxRestoreRequestStatistics ({set_name} parameter set)")
    _refresh_all(shell)
    return [statistics(shell, _by_identity(shell, bound["Identity"]))]


@behaviour("Remove-MailboxRestoreRequest")
def remove_mailbox_restore_request(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name != "Identity":
        raise cmdlets.NotModelled(f"Remove-MailboxRestoreRequest ({set_name} parameter set)")
    _refresh_all(shell)
    request = _by_identity(shell, bound["Identity"])
    if not bound.get("WhatIf"):
        del _requests(shell)[request["guid"]]
        shell.save_domain()
    return []


# -- Restore-Mailbox (2007, 2010) -------------------------------------------------------------------------------------------------
@behaviour("Restore-Mailbox")
def restore_mailbox(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    legacy = shell.product == "2007"
    target = org.find_mailbox(bound["Identity"]) if org else None
    if target is None:
        raise cmdlets._not_found(shell, bound["Identity"])
    source_db = cmdlets._database(shell, bound["RSGDatabase" if legacy else "RecoveryDatabase"], "mailbox")
    if not source_db.recovery:
        kind = "a recovery storage group database" if legacy else "a recovery database"
        raise CmdletError(f"{source_db.identity} isn't {kind}; Restore-Mailbox restores from one (modelled).")
    wanted = bound.get("RSGMailbox") if legacy else bound.get("RecoveryMailbox")
    source = find_store_mailbox(shell, source_db, wanted or target.guid)
    if not cmdlets.store_mailbox_matches(source, target) and not bound.get("TargetFolder"):
        raise CmdletError(
            f"The source mailbox '{source.get('display_name')}' isn't {target.alias}'s own mailbox: name a -TargetFolder to restore it into (modelled, "
            "from the Restore-Mailbox page: TargetFolder is required when the mailbox restored is not the target).",
            "RecipientTaskException",
        )
    limit = int(bound.get("BadItemLimit") or 0)
    if int(source.get("bad_items", 0)) > limit:
        raise CmdletError(
            f"The source mailbox has {source.get('bad_items')} corrupted items, more than the BadItemLimit of {limit}; nothing was restored (modelled).",
            "RecipientTaskException",
        )
    target_db = org.databases.get(str(target.database)) if org and target.database else None
    if target_db is None or not _mounted(shell, target_db):
        raise CmdletError(f"The target mailbox's database {target.database} isn't mounted (modelled).", "MapiExceptionMdbOffline")
    if bound.get("ValidateOnly") or bound.get("WhatIf"):
        return []
    shell.host.clock.sleep(5 + int(source.get("size_bytes", 0)) / RESTORE_MAILBOX_BYTES_PER_SECOND)
    copy_content(
        shell,
        target,
        source,
        folder=bound.get("TargetFolder"),
        archive=False,
        include_folders=list(bound.get("IncludeFolders") or []),
        allow_duplicates=bool(bound.get("AllowDuplicates")),
    )
    return []
