# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of exchange_mailbox_restore: which cmdlet the release restores with, which database and store mailbox
the options mean, the cmdlet's parameters, whether an earlier request of the same name is this one, and the report of a
request's progress.

For internal collection use only. Facts and sources (docs/databases.md, "Mailbox content"):
- New-MailboxRestoreRequest (2010 SP1 and later; capability mailbox_restore_request): -SourceDatabase -SourceStoreMailbox
  (MailboxGuid or display name) -TargetMailbox [-Name] [-TargetRootFolder] [-TargetIsArchive] [-IncludeFolders]
  [-AllowLegacyDNMismatch] [-BadItemLimit, 51 or more with -AcceptLargeDataLoss] (PS New-MailboxRestoreRequest); the
  request's identity is <target alias>\\<name>; Get-MailboxRestoreRequestStatistics reports Status (Queued, InProgress,
  Completed, Failed, Suspended...), PercentComplete, ItemsTransferred, EstimatedTransferItemCount, EstimatedTransferSize,
  BadItemsEncountered, FailureType, Message (Exchange 2013 help "Manage mailbox restore requests").
- Restore-Mailbox (2007 with -RSGDatabase/-RSGMailbox, 2010 with -RecoveryDatabase/-RecoveryMailbox/-TargetFolder;
  capability restore_mailbox) copies within the cmdlet; the 2010 page makes -RecoveryMailbox and -TargetFolder mandatory.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import has
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import ExchangeRelease

REQUEST = "New-MailboxRestoreRequest"
RESTORE_MAILBOX = "Restore-Mailbox"
RUNNING = ("Queued", "InProgress", "CompletionInProgress")  # the module's poll loop waits while a request is in one of these
LARGE_BAD_ITEM_LIMIT = 51
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_BYTES = re.compile(r"\(([\d,]+) bytes\)")


class Refusal(Exception):
    """The task cannot go on; the message says what is wrong and where. Nothing was changed."""


def _fold(value: Any) -> str:
    return str(value or "").casefold()


def method_for(release: ExchangeRelease) -> str:
    """New-MailboxRestoreRequest from 2010 SP1, Restore-Mailbox before (2007 and 2010 RTM)."""
    return REQUEST if has(release, "mailbox_restore_request") else RESTORE_MAILBOX


def default_name(args: dict[str, Any]) -> str:
    """A request name that is the same for the same restore, so a second run finds the first run's request."""
    key = [_fold(args.get(k)) for k in ("source_database", "source_mailbox", "target_mailbox", "target_root_folder")]
    key += [bool(args.get("target_is_archive")), sorted(_fold(f) for f in args.get("include_folders") or [])]
    return "ExDr-" + hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]


def check_options(args: dict[str, Any], release: ExchangeRelease, label: str) -> None:
    """Options the release's cmdlet does not have, and the data-loss opt-in; refused before anything runs."""
    limit = int(args.get("bad_item_limit") or 0)
    if limit < 0:
        raise Refusal(f"bad_item_limit must be 0 or more, got {limit}")
    if limit >= LARGE_BAD_ITEM_LIMIT and not args.get("accept_large_data_loss"):
        raise Refusal(f"bad_item_limit {limit} lets the restore skip {LARGE_BAD_ITEM_LIMIT} or more corrupted items: that needs accept_large_data_loss: true")
    if method_for(release) == REQUEST:
        return
    unsupported = [o for o in ("target_is_archive", "allow_legacy_dn_mismatch") if args.get(o)]
    if unsupported:
        raise Refusal(
            f"{label} restores mailbox content with Restore-Mailbox, which has no {' or '.join(unsupported)} "
            "(New-MailboxRestoreRequest has, from Exchange 2010 SP1)"
        )
    if release.product == "2010" and not args.get("target_root_folder"):
        raise Refusal(f"{label} restores with Restore-Mailbox, whose -TargetFolder is mandatory: set target_root_folder")


def source_database(read: dict[str, Any], query: str, server: str) -> dict[str, Any]:
    """The database the options name, on this server and mounted (a recovery database preferred where a 2007 recovery
    storage group database has its original's name)."""
    local = [d for d in read.get("databases") or [] if _fold(query) in (_fold(d.get("name")), _fold(d.get("identity")))]
    if len(local) > 1:
        recovery = [d for d in local if d.get("recovery")]
        local = recovery if len(recovery) == 1 else local
    if len(local) > 1:
        raise Refusal(f"{query} names several databases of {server} ({', '.join(str(d.get('identity')) for d in local)}); give its identity")
    if not local:
        lookup = read.get("lookup") or {}
        elsewhere = [d for d in lookup.get("found") or [] if _fold(d.get("server")) != _fold(server)]
        if elsewhere:
            return_to = elsewhere[0].get("server")
            raise Refusal(f"{query} is a database of {return_to}, not of {server}: run the task on {return_to}")
        raise Refusal(f"there is no mailbox database {query} in the organization (none on {server})")
    db = local[0]
    if db.get("mounted") is not True:
        raise Refusal(f"{db.get('identity')} is not mounted on {server}: mount it first (exchange_dr.recovery.exchange_recovery_database, state: mounted)")
    return db


def source_mailbox(mailboxes: list[dict[str, Any]], query: str, database: str) -> dict[str, Any]:
    """The store mailbox the options name: its MailboxGuid, or a display name only one mailbox of the database has."""
    if _GUID.match(str(query).strip()):
        found = [m for m in mailboxes if _fold(m.get("guid")) == _fold(query)]
    else:
        found = [m for m in mailboxes if _fold(m.get("display_name")) == _fold(query)]
    if not found:
        names = ", ".join(sorted({str(m.get("display_name")) for m in mailboxes})) or "none"
        raise Refusal(f"no mailbox {query} in {database} (its mailboxes: {names})")
    if len(found) > 1:
        listed = "; ".join(f"{m.get('guid')} ({m.get('item_count')} items, {m.get('disconnect_reason') or 'in the store'})" for m in found)
        raise Refusal(f"{len(found)} mailboxes in {database} are named {query}: {listed}. Name one by its GUID in source_mailbox")
    return found[0]


def check_source(db: dict[str, Any], mailbox: dict[str, Any], method: str) -> None:
    if db.get("recovery"):
        return
    if method == RESTORE_MAILBOX:
        raise Refusal(f"{db.get('identity')} is not a recovery database; Restore-Mailbox restores from one")
    if not mailbox.get("disconnect_reason"):
        raise Refusal(
            f"{mailbox.get('display_name')} ({mailbox.get('guid')}) in {db.get('identity')} is connected to its user; a restore request copies from a "
            "recovery database, or from a disconnected (disabled or soft-deleted) mailbox"
        )


def request_parameters(args: dict[str, Any], db: dict[str, Any], mailbox: dict[str, Any], name: str) -> dict[str, Any]:
    """New-MailboxRestoreRequest's parameters (switches only when on)."""
    parameters: dict[str, Any] = {
        "SourceDatabase": db.get("identity") or db.get("name"),
        "SourceStoreMailbox": mailbox.get("guid"),
        "TargetMailbox": args["target_mailbox"],
        "Name": name,
        "BadItemLimit": int(args.get("bad_item_limit") or 0),
    }
    if args.get("target_root_folder"):
        parameters["TargetRootFolder"] = args["target_root_folder"]
    if args.get("include_folders"):
        parameters["IncludeFolders"] = list(args["include_folders"])
    for option, switch in (("target_is_archive", "TargetIsArchive"), ("allow_legacy_dn_mismatch", "AllowLegacyDNMismatch")):
        if args.get(option):
            parameters[switch] = True
    if args.get("accept_large_data_loss"):
        parameters["AcceptLargeDataLoss"] = True
    return parameters


def restore_mailbox_parameters(args: dict[str, Any], db: dict[str, Any], mailbox: dict[str, Any], release: ExchangeRelease) -> dict[str, Any]:
    """Restore-Mailbox's parameters: -RSGDatabase/-RSGMailbox on 2007, -RecoveryDatabase/-RecoveryMailbox on 2010."""
    legacy = release.product == "2007"
    parameters: dict[str, Any] = {
        "Identity": args["target_mailbox"],
        "RSGDatabase" if legacy else "RecoveryDatabase": db.get("identity") or db.get("name"),
        "RSGMailbox" if legacy else "RecoveryMailbox": mailbox.get("guid"),
        "BadItemLimit": int(args.get("bad_item_limit") or 0),
        "Confirm": False,
    }
    if args.get("target_root_folder"):
        parameters["TargetFolder"] = args["target_root_folder"]
    if args.get("include_folders"):
        parameters["IncludeFolders"] = list(args["include_folders"])
    return parameters


def size_bytes(value: Any) -> int | None:
    """Bytes of a size Exchange prints, '3.5 MB (3,670,016 bytes)', or a number."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    m = _BYTES.search(str(value))
    if m:
        return int(m.group(1).replace(",", ""))
    return int(value) if str(value).isdigit() else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value) != "" else None
    except (TypeError, ValueError):
        return None


def report(stats: dict[str, Any] | None, *, created: bool) -> dict[str, Any] | None:
    """A request's statistics as the task reports them."""
    if stats is None:
        return None
    limit = stats.get("BadItemLimit")
    return {
        "name": stats.get("Name"),
        "identity": stats.get("Identity"),
        "created": created,
        "status": stats.get("Status"),
        "status_detail": stats.get("StatusDetail"),
        "percent_complete": _int(stats.get("PercentComplete")),
        "items_transferred": _int(stats.get("ItemsTransferred")),
        "items_estimated": _int(stats.get("EstimatedTransferItemCount")),
        "bytes_transferred": size_bytes(stats.get("BytesTransferred")),
        "bytes_estimated": size_bytes(stats.get("EstimatedTransferSize")),
        "bad_items": _int(stats.get("BadItemsEncountered")),
        "bad_item_limit": _int(limit) if _int(limit) is not None else limit,
        "failure_type": stats.get("FailureType") or None,
        "message": stats.get("Message") or None,
        "queued": stats.get("QueuedTimestamp"),
        "started": stats.get("StartTimestamp"),
        "completed": stats.get("CompletionTimestamp"),
    }


def same_request(stats: dict[str, Any], db: dict[str, Any], mailbox: dict[str, Any], args: dict[str, Any]) -> None:
    """An earlier request of the same name must be this restore (same source mailbox, place); refused otherwise."""
    differences = []
    if stats.get("SourceExchangeGuid") and _fold(stats.get("SourceExchangeGuid")) != _fold(mailbox.get("guid")):
        differences.append(f"it restores {stats.get('SourceExchangeGuid')}, not {mailbox.get('guid')}")
    if _fold(stats.get("TargetRootFolder")) != _fold(args.get("target_root_folder")):
        differences.append(f"into folder {stats.get('TargetRootFolder') or '(the top)'}, not {args.get('target_root_folder') or '(the top)'}")
    if stats.get("SourceDatabase") and _fold(stats.get("SourceDatabase")) not in (_fold(db.get("name")), _fold(db.get("identity"))):
        differences.append(f"from {stats.get('SourceDatabase')}, not {db.get('name')}")
    if differences:
        raise Refusal(f"a restore request {stats.get('Identity')} already exists and is another restore ({'; '.join(differences)}): give another name")


def outcome_message(request: dict[str, Any]) -> str:
    """What a request that ended without completing says."""
    status = request.get("status")
    if status == "Failed":
        cause = str(request.get("message")).rstrip(".")
        bad = f"; {request.get('bad_items')} bad items against a limit of {request.get('bad_item_limit')}" if request.get("bad_items") else ""
        return (
            f"the restore request {request.get('identity')} failed ({request.get('failure_type')}: {cause}{bad}). It stays in the Mailbox "
            "Replication service: fix the cause, remove it (Remove-MailboxRestoreRequest) and run the task again, or give another name"
        )
    return f"the restore request {request.get('identity')} is {status} ({request.get('message') or 'suspended'}): resume it with Resume-MailboxRestoreRequest"
