"""Mailbox users and disconnected mailboxes on a simulated Exchange organisation: Get-User, Get-Mailbox, Connect-Mailbox,
Update-StoreMailboxState (2013 and later) and Clean-MailboxDatabase (2007, 2010).

The AD side is domain.exchange.mailboxes (model.py): an entry with a database is a mailbox user (RecipientType
UserMailbox, its mailbox's ExchangeGuid is `guid`); an entry with `database: null` is a user account without a mailbox
(RecipientType User) - the account of a disabled mailbox; the domain's plain accounts (domain.users) are users without
mailboxes too. The store side is the database header's `mailboxes` (store.py seeds): a disconnected mailbox has a
`disconnect_reason`; one disabled while the store could not see it has none yet and no mailbox user owns it.

Facts (docs/databases.md, "Retention and disconnected mailboxes"):
- ODX ExchangeServer2013 "Connect a disabled mailbox": the user must exist with RecipientType User; the mailbox must be in
  the database with a DisconnectReason; afterwards Get-User shows RecipientType UserMailbox. "Disconnected mailboxes":
  Disabled and SoftDeleted mailboxes can both be connected.
- PS Connect-Mailbox: -Identity is the store mailbox (display name, GUID, LegacyExchangeDN), -Database its database;
  without -User Exchange looks for the user by the mailbox's LegacyExchangeDN and DisplayName and connects nothing unless
  one user matches (modelled by display name: LegacyExchangeDN is not modelled); -ValidateOnly changes nothing.
- PS Update-StoreMailboxState: synchronises one mailbox's store state (by MailboxGuid) with its AD user account.
- PS Clean-MailboxDatabase: scans AD for disconnected mailboxes the store does not show as such and marks them; it needs
  the database mounted.
- PS Get-User: RecipientType; Get-Mailbox: ExchangeGuid, Database.
Messages marked (modelled) are the simulator's wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.exchange import cmdlets, ese, model
from simulator.exchange.cmdlets import CmdletError, behaviour
from simulator.exchange.mrs import find_store_mailbox

if TYPE_CHECKING:
    from simulator.exchange.shell import ExchangeShell


def _key(shell: ExchangeShell, db: model.DatabaseObject) -> str:
    org = shell.organization
    return next(k for k, v in org.databases.items() if v is db)  # type: ignore[union-attr]


def find_user(shell: ExchangeShell, identity: str) -> model.MailboxObject | None:
    """UserIdParameter: a recipient of domain.exchange.mailboxes (alias, display name, GUID, DOMAIN\\alias, UPN), else a plain
    account of the domain, as a user without a mailbox."""
    org = shell.organization
    found = org.find_mailbox(identity) if org else None
    if found is not None:
        return found
    domain = shell.domain
    account = domain.user(str(identity).split("@", maxsplit=1)[0]) if domain is not None else None
    if account is None:
        return None
    return model.MailboxObject(alias=account.name, display_name=account.name, database=None, guid="", user=account.name)


def owner(shell: ExchangeShell, db: model.DatabaseObject, entry: dict[str, Any]) -> model.MailboxObject | None:
    """The mailbox user a store mailbox belongs to in AD, if any."""
    org = shell.organization
    for mailbox in org.mailboxes.values() if org else []:
        if mailbox.database is None or org.databases.get(mailbox.database) is not db:  # type: ignore[union-attr]
            continue
        if str(entry.get("guid", "")).casefold() == mailbox.guid.casefold():
            return mailbox
        alias = entry.get("alias")
        if alias and str(alias).casefold() == mailbox.alias.casefold() and not entry.get("disconnect_reason"):
            return mailbox
    return None


def _save(shell: ExchangeShell, db: model.DatabaseObject, header: dict[str, Any]) -> None:
    host = shell.host_of(db.server)
    with host.mutating():  # type: ignore[union-attr]
        ese.write_database(host, db.edb_file_path, header)  # type: ignore[arg-type]


def _sync(shell: ExchangeShell, db: model.DatabaseObject, header: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Make a store mailbox's state what AD says; whether it changed."""
    host = shell.host_of(db.server)
    owned = owner(shell, db, entry) is not None
    if owned and entry.get("disconnect_reason"):
        entry.update(disconnect_reason=None, disconnect_date=None)
        return True
    if not owned and not entry.get("disconnect_reason"):
        entry.update(disconnect_reason="Disabled", disconnect_date=ese.now_text(host))  # type: ignore[arg-type]
        return True
    return False


@behaviour("Get-User")
def get_user(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if "Identity" not in bound:
        raise cmdlets.NotModelled(f"Get-User -{set_name} without -Identity")
    user = find_user(shell, bound["Identity"])
    if user is None:
        raise cmdlets._not_found(shell, bound["Identity"])
    return [
        {
            "Name": user.display_name,
            "SamAccountName": user.alias,
            "DisplayName": user.display_name,
            "RecipientType": "UserMailbox" if user.database else "User",
        }
    ]


def _mailbox_object(shell: ExchangeShell, mailbox: model.MailboxObject) -> dict[str, Any]:
    org = shell.organization
    db = org.databases.get(str(mailbox.database)) if org else None
    return {
        "Name": mailbox.display_name,
        "Alias": mailbox.alias,
        "DisplayName": mailbox.display_name,
        "ExchangeGuid": mailbox.guid,
        "Database": db.name if db else mailbox.database,
        "RecipientType": "UserMailbox",
    }


@behaviour("Get-Mailbox")
def get_mailbox(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    if set_name == "Identity" and "Identity" in bound:
        mailbox = org.find_mailbox(bound["Identity"]) if org else None
        if mailbox is None or mailbox.database is None:
            raise cmdlets._not_found(shell, bound["Identity"])
        return [_mailbox_object(shell, mailbox)]
    if set_name == "DatabaseSet" and "Database" in bound:
        db = cmdlets._database(shell, bound["Database"], "mailbox")
        return [_mailbox_object(shell, m) for m in org.mailboxes.values() if m.database and org.databases.get(m.database) is db]  # type: ignore[union-attr]
    raise cmdlets.NotModelled(f"Get-Mailbox -{set_name}")


@behaviour("Connect-Mailbox")
def connect_mailbox(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name not in ("User", "ValidateOnly"):
        raise cmdlets.NotModelled(f"Connect-Mailbox ({set_name} mailboxes)")
    org = shell.organization
    db = cmdlets._database(shell, bound["Database"], "mailbox")
    if db.recovery:
        raise CmdletError(f"The database {db.identity} is a recovery database; its mailboxes can't be connected to users (modelled).")
    header = cmdlets.mounted_header(shell, db)
    found = find_store_mailbox(shell, db, bound["Identity"])  # not there, or several of that name: the cmdlet's errors
    entry = header["mailboxes"][header["mailboxes"].index(found)]
    if not entry.get("disconnect_reason"):
        raise CmdletError(
            f"The mailbox '{bound['Identity']}' in database {db.name} isn't disconnected; only a disconnected mailbox can be connected (modelled).",
            "RecipientTaskException",
        )
    if "User" in bound:
        user = find_user(shell, bound["User"])
        if user is None:
            raise cmdlets._not_found(shell, bound["User"])
    else:
        name = str(entry.get("display_name")).casefold()
        candidates = [m for m in org.mailboxes.values() if m.database is None and m.display_name.casefold() == name]  # type: ignore[union-attr]
        if len(candidates) != 1:
            raise CmdletError(
                f"No unique user account matches the mailbox '{entry.get('display_name')}' (its LegacyExchangeDN and display name); use -User (modelled).",
                "RecipientTaskException",
            )
        user = candidates[0]
    if user.database is not None:
        raise CmdletError(
            f"The user {user.alias} already has a mailbox; a disconnected mailbox can be connected only to a user without one (modelled).",
            "RecipientTaskException",
        )
    if set_name == "ValidateOnly" or bound.get("WhatIf"):
        return []
    key = _key(shell, db)
    if user.alias not in org.mailboxes:  # type: ignore[union-attr]
        org.mailboxes[user.alias] = user  # type: ignore[union-attr]
    user.database, user.guid = key, str(entry.get("guid"))
    entry.update(disconnect_reason=None, disconnect_date=None, alias=user.alias)
    _save(shell, db, header)
    shell.save_domain()
    return []


@behaviour("Update-StoreMailboxState")
def update_store_mailbox_state(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db = cmdlets._database(shell, bound["Database"], "mailbox")
    header = cmdlets.mounted_header(shell, db)
    guid = str(bound["Identity"]).casefold()
    entry = next((m for m in header.get("mailboxes") or [] if str(m.get("guid", "")).casefold() == guid), None)
    if entry is None:
        raise CmdletError(f"The mailbox '{bound['Identity']}' couldn't be found in database {db.name} (modelled).", "ManagementObjectNotFoundException")
    if not bound.get("WhatIf") and _sync(shell, db, header, entry):
        _save(shell, db, header)
    return []


@behaviour("Clean-MailboxDatabase")
def clean_mailbox_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db = cmdlets._database(shell, bound["Identity"], "mailbox")
    host = shell.host_of(db.server)
    if host is None or not cmdlets.store.is_mounted(host, db):
        raise CmdletError(
            f"The database {db.identity} isn't mounted; Clean-MailboxDatabase updates the store only while the Information Store runs and the database "
            "is mounted (modelled wording).",
            "MapiExceptionMdbOffline",
        )
    header = cmdlets.mounted_header(shell, db)
    if bound.get("WhatIf"):
        return []
    changed = False
    for entry in header.get("mailboxes") or []:
        if not entry.get("disconnect_reason") and owner(shell, db, entry) is None:
            changed = _sync(shell, db, header, entry) or changed
    if changed:
        _save(shell, db, header)
    return []
