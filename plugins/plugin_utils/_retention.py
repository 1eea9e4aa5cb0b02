# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of exchange_retention: the time spans checked against their documented range, the database the task
names, what its retention settings become, which disconnected mailboxes it holds, and whether (and how) one is connected
to a user.

For internal collection use only. Facts and sources (docs/databases.md, "Retention and disconnected mailboxes"):
- PS Set-MailboxDatabase: DeletedItemRetention (default 14.00:00:00) and MailboxRetention (default 30.00:00:00) are time
  spans dd.hh:mm:ss from 00:00:00 to 24855.03:14:07; RetainDeletedItemsUntilBackup is a Boolean (default $false).
  Set-PublicFolderDatabase (2007, 2010) has DeletedItemRetention and RetainDeletedItemsUntilBackup, no MailboxRetention.
- ODX ExchangeServer2013 "Connect a disabled mailbox": the user account must exist and its RecipientType be `User` (no
  mailbox yet, Get-User); the mailbox must be in the database (Get-MailboxStatistics -Database) with a DisconnectReason;
  "Disconnected mailboxes": Disabled (Disable-Mailbox, Remove-Mailbox) and SoftDeleted (moved away) mailboxes can both be
  connected with Connect-Mailbox, until MailboxRetention purges them.
- PS Connect-Mailbox: -Identity (display name, GUID or LegacyExchangeDN of the store mailbox) -Database -User; its
  -ValidateOnly switch is a parameter set of its own, without -User.
- PS Update-StoreMailboxState (2013 and later; -Database -Identity <MailboxGuid>, no -DomainController) and
  Clean-MailboxDatabase (2010; 2007 from its library) bring the store's view of a mailbox in line with Active Directory: a
  mailbox disabled while the store could not see it shows no DisconnectReason until then.
- Exchange 2007's Get-MailboxStatistics has DisconnectDate but no DisconnectReason (community, lower confidence): there a
  disconnected mailbox is one with a DisconnectDate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import has
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import ExchangeRelease

MAX_TIMESPAN_SECONDS = ((24855 * 24 + 3) * 60 + 14) * 60 + 7  # 24855.03:14:07 (PS Set-MailboxDatabase)
TIMESPAN_OPTIONS = ("deleted_item_retention", "mailbox_retention")
SETTINGS = (*TIMESPAN_OPTIONS, "retain_deleted_items_until_backup")
PARAMETER = {
    "deleted_item_retention": "DeletedItemRetention",
    "mailbox_retention": "MailboxRetention",
    "retain_deleted_items_until_backup": "RetainDeletedItemsUntilBackup",
}
DISCONNECT_REASONS = ("Disabled", "SoftDeleted")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Refusal(Exception):
    """The task cannot go on; the message says what is wrong and where. Nothing was changed."""


def _fold(value: Any) -> str:
    return str(value or "").casefold()


# -- time spans -------------------------------------------------------------------------------------------------------------
def parse_timespan(value: Any, option: str = "the time span") -> int:
    """Seconds of an Exchange time span dd.hh:mm:ss (EnhancedTimeSpan) in the documented range 00:00:00-24855.03:14:07;
    Refusal naming the option otherwise."""
    text = str(value).strip()
    m = _TIMESPAN.match(text)
    if not m:
        hint = ""
        if text.isdigit():
            hint = " (an unquoted 30:00:00 in YAML is read as a number of seconds in base 60: quote time spans)"
        raise Refusal(f"{option} must be a time span dd.hh:mm:ss such as 14.00:00:00, got {value!r}{hint}")
    days, hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), int(m.group(3)), int(m.group(4))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise Refusal(f"{option}: {value!r} has hours above 23 or minutes or seconds above 59 (dd.hh:mm:ss)")
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total > MAX_TIMESPAN_SECONDS:
        raise Refusal(f"{option}: {value!r} is above the maximum Exchange accepts, 24855.03:14:07")
    return total


def format_timespan(seconds: int) -> str:
    """A time span as Exchange prints it: 14.00:00:00, or 12:00:00 below a day."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock


def desired_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The retention settings the task declares (those it leaves out are not touched), time spans normalised; Refusal
    before anything is read when one is malformed or out of range."""
    wanted: dict[str, Any] = {}
    for option in TIMESPAN_OPTIONS:
        if params.get(option) is not None:
            wanted[option] = format_timespan(parse_timespan(params[option], option))
    if params.get("retain_deleted_items_until_backup") is not None:
        wanted["retain_deleted_items_until_backup"] = bool(params["retain_deleted_items_until_backup"])
    return wanted


def current_setting(option: str, value: Any) -> Any:
    """A setting as read from the host (text of a deserialized EnhancedTimeSpan or Boolean), normalised for comparison."""
    if value is None:
        return None
    if option in TIMESPAN_OPTIONS:
        try:
            return format_timespan(parse_timespan(value, option))
        except Refusal:
            return str(value)
    if isinstance(value, bool):
        return value
    return str(value).strip().casefold() == "true"


# -- the database -----------------------------------------------------------------------------------------------------------
def find_database(read: dict[str, Any], query: str, server: str) -> dict[str, Any]:
    """The database the task names, with a copy on this server; Refusal naming where it is otherwise."""
    local = [d for d in read.get("databases") or [] if _fold(query) in (_fold(d.get("name")), _fold(d.get("identity")), _fold(d.get("guid")))]
    if len(local) > 1:
        raise Refusal(f"{query} names several databases of {server} ({', '.join(str(d.get('identity')) for d in local)}); give its identity")
    if local:
        return local[0]
    lookup = read.get("lookup") or {}
    elsewhere = [d for d in lookup.get("found") or [] if _fold(d.get("server")) != _fold(server)]
    if elsewhere:
        where = elsewhere[0].get("server")
        raise Refusal(f"{query} is a database of {where}, not of {server}: run the task on {where}")
    raise Refusal(f"there is no mailbox or public folder database {query} in the organization (none on {server})")


# -- disconnected mailboxes -------------------------------------------------------------------------------------------------
def disconnect_state(entry: dict[str, Any]) -> str | None:
    """Disabled or SoftDeleted for a disconnected mailbox, None for one the store shows connected. Exchange 2007 reports no
    DisconnectReason: there a DisconnectDate marks a disconnected mailbox (Disconnected)."""
    reason = entry.get("disconnect_reason")
    if reason:
        return str(reason)
    return "Disconnected" if entry.get("disconnect_date") else None


def mailbox_report(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "display_name": entry.get("display_name"),
        "guid": entry.get("guid"),
        "disconnect_reason": disconnect_state(entry),
        "disconnect_date": entry.get("disconnect_date"),
        "item_count": entry.get("item_count"),
        "size": entry.get("size"),
    }


def disconnected(mailboxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [mailbox_report(m) for m in mailboxes if disconnect_state(m)]


def find_store_mailbox(mailboxes: list[dict[str, Any]], query: str, database: str) -> dict[str, Any]:
    """The store mailbox the task names: its MailboxGuid, or a display name only one mailbox of the database has."""
    if _GUID.match(str(query).strip()):
        found = [m for m in mailboxes if _fold(m.get("guid")) == _fold(query)]
    else:
        found = [m for m in mailboxes if _fold(m.get("display_name")) == _fold(query)]
    if not found:
        listed = ", ".join(f"{m.get('display_name')} ({m.get('guid')})" for m in mailboxes if disconnect_state(m)) or "none"
        raise Refusal(f"no mailbox {query} in {database} (its disconnected mailboxes: {listed}); a purged mailbox is gone - restore it from a backup")
    if len(found) > 1:
        listed = "; ".join(f"{m.get('guid')} ({m.get('item_count')} items, {disconnect_state(m) or 'connected'})" for m in found)
        raise Refusal(f"{len(found)} mailboxes in {database} are named {query}: {listed}. Name one by its GUID in reconnect.mailbox")
    return found[0]


@dataclass
class Reconnect:
    """What the task does about reconnect: `state` is connected (nothing to do), connect, or sync (bring the store's view
    up to date first, then judge again)."""

    state: str
    mailbox: dict[str, Any]
    user: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    def report(self, *, done: bool) -> dict[str, Any]:
        return {
            "mailbox": self.mailbox.get("display_name"),
            "guid": self.mailbox.get("guid"),
            "user": self.user,
            "disconnect_reason": disconnect_state(self.mailbox),
            "state": "connected" if self.state == "connected" or done else f"would_{self.state}",
        }


def sync_step(release: ExchangeRelease, db: dict[str, Any], guid: str) -> dict[str, Any]:
    """Update-StoreMailboxState for one mailbox (2013 and later; it has no -DomainController), Clean-MailboxDatabase for the
    database before."""
    identity = db.get("identity") or db.get("name")
    if has(release, "update_store_mailbox_state"):
        return {
            "action": "cmdlet",
            "cmdlet": "Update-StoreMailboxState",
            "parameters": {"Database": identity, "Identity": guid, "Confirm": False},
            "no_domain_controller": True,
            "what": f"bring the store's state of mailbox {guid} up to date (Update-StoreMailboxState)",
        }
    return {
        "action": "cmdlet",
        "cmdlet": "Clean-MailboxDatabase",
        "parameters": {"Identity": identity},
        "no_domain_controller": False,
        "what": f"bring the store's state of {identity}'s mailboxes up to date (Clean-MailboxDatabase)",
    }


def plan_reconnect(
    release: ExchangeRelease,
    db: dict[str, Any],
    mailboxes: list[dict[str, Any]],
    query: str,
    user_query: str,
    *,
    user: dict[str, Any] | None,
    synced: bool = False,
) -> Reconnect:
    """Connect-Mailbox for one store mailbox and one user, or why not. `user` is what Get-User (and, for a mailbox user,
    Get-Mailbox) read; `synced`: the store's view was brought up to date in this run already."""
    database = str(db.get("identity") or db.get("name"))
    if db.get("recovery"):
        raise Refusal(
            f"{database} is a recovery database: its mailboxes are restored into mailboxes (exchange_dr.recovery.exchange_mailbox_restore), not connected"
        )
    mailbox = find_store_mailbox(mailboxes, query, database)
    guid = str(mailbox.get("guid"))
    user = user or {}
    if user.get("error") or not user.get("name"):
        raise Refusal(
            f"no user {user_query} in Active Directory ({user.get('error') or 'Get-User found nothing'}): Connect-Mailbox connects a mailbox to an "
            "existing user account - create or restore the account first"
        )
    name = str(user.get("name"))
    recipient_type = str(user.get("recipient_type") or "")
    if recipient_type == "UserMailbox":
        if _fold(user.get("exchange_guid")) == _fold(guid):
            return Reconnect("connected", mailbox, name)
        raise Refusal(
            f"{name} already has a mailbox ({user.get('exchange_guid')} in {user.get('database')}); Connect-Mailbox connects a mailbox only to a "
            f"user without one (RecipientType User). To bring {mailbox.get('display_name')}'s content into it, restore it with "
            f"exchange_dr.recovery.exchange_mailbox_restore (source_database: {database}, source_mailbox: {guid}, target_mailbox: {user_query})"
        )
    if recipient_type != "User":
        raise Refusal(
            f"{name} is a {recipient_type or 'recipient of unknown type'}; Connect-Mailbox connects a mailbox to a user account whose RecipientType is User"
        )
    if disconnect_state(mailbox):
        step = {
            "action": "cmdlet",
            "cmdlet": "Connect-Mailbox",
            "parameters": {"Identity": guid, "Database": database, "User": user_query},
            "no_domain_controller": False,
            "what": f"connect mailbox {mailbox.get('display_name')} ({guid}) to {name} (Connect-Mailbox)",
        }
        return Reconnect("connect", mailbox, name, [step])
    if synced:
        raise Refusal(
            f"{mailbox.get('display_name')} ({guid}) in {database} is still connected to a user after the store's state was brought up to date: "
            "Connect-Mailbox connects only a disconnected (Disabled or SoftDeleted) mailbox"
        )
    return Reconnect("sync", mailbox, name, [sync_step(release, db, guid)])


# -- the whole task ---------------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    database: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    steps: list[dict[str, Any]]
    actions: list[str]
    reconnect: Reconnect | None
    disconnected: list[dict[str, Any]] | None

    @property
    def changed(self) -> bool:
        return bool(self.steps)


def database_report(db: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": db.get("name"),
        "identity": db.get("identity"),
        "kind": db.get("kind"),
        "server": db.get("server"),
        "mounted": db.get("mounted"),
        "recovery": bool(db.get("recovery")),
    }


def plan(
    params: dict[str, Any],
    wanted: dict[str, Any],
    read: dict[str, Any],
    *,
    release: ExchangeRelease,
    server: str,
    synced: bool = False,
) -> Plan:
    """Judge one read: the retention settings to change, the disconnected mailboxes, the reconnect; Refusal otherwise."""
    db = find_database(read, params["database"], server)
    identity = str(db.get("identity") or db.get("name"))
    public_folder = db.get("kind") == "public_folder"
    if public_folder and "mailbox_retention" in wanted:
        raise Refusal(f"{identity} is a public folder database: it has no mailbox retention (MailboxRetention), only deleted item retention")
    reconnect_opt = params.get("reconnect") or None
    if public_folder and (reconnect_opt or params.get("list_disconnected")):
        raise Refusal(f"{identity} is a public folder database: it holds no mailboxes to list or connect")
    before = {
        option: current_setting(option, (db.get("retention") or {}).get(option)) for option in SETTINGS if not (public_folder and option == "mailbox_retention")
    }
    after = {**before, **wanted}
    changes = {option: value for option, value in wanted.items() if before.get(option) != value}
    steps: list[dict[str, Any]] = []
    actions: list[str] = []
    if changes:
        cmdlet = "Set-PublicFolderDatabase" if public_folder else "Set-MailboxDatabase"
        parameters = {"Identity": identity, **{PARAMETER[option]: value for option, value in changes.items()}}
        what = "set " + ", ".join(f"{PARAMETER[o]} {_shown(before.get(o))} -> {_shown(v)}" for o, v in changes.items())
        steps.append({"action": "cmdlet", "cmdlet": cmdlet, "parameters": parameters, "no_domain_controller": False, "what": what})
        actions.append(what)
    needs_store = bool(reconnect_opt or params.get("list_disconnected"))
    if needs_store and db.get("mounted") is not True:
        raise Refusal(f"{identity} is not mounted on {server}: the store lists and connects mailboxes of a mounted database only - mount it first")
    mailboxes = list(read.get("mailboxes") or [])
    reconnect = None
    if reconnect_opt:
        reconnect = plan_reconnect(release, db, mailboxes, str(reconnect_opt["mailbox"]), str(reconnect_opt["user"]), user=read.get("user"), synced=synced)
        steps.extend(reconnect.steps)
        actions.extend(str(s["what"]) for s in reconnect.steps)
        if reconnect.state == "sync":
            actions.append(f"then connect it to {reconnect.user} if the store marks it disconnected (Connect-Mailbox)")
    listed = disconnected(mailboxes) if params.get("list_disconnected") else None
    return Plan(database_report(db), before, after, steps, actions, reconnect, listed)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)
