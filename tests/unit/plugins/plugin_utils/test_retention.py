"""plugin_utils/_retention.py: time spans against the documented range, the settings that change, the disconnected
mailboxes, and every verdict on a reconnect (connected already, connect, bring the store up to date first, refusals)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _retention as r
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

E2019 = release_of("15.2.1544.4")
E2010 = release_of("14.3.123.4")
E2007 = release_of("8.3.83.6")
GUID = "0a1b2c3d-0000-4000-8000-00000000000b"


@pytest.mark.parametrize(
    ("text", "seconds", "shown"),
    [
        ("14.00:00:00", 14 * 86400, "14.00:00:00"),
        ("00:00:00", 0, "00:00:00"),
        ("12:30:00", 45000, "12:30:00"),
        ("0.12:30:00", 45000, "12:30:00"),
        (" 30.00:00:00 ", 30 * 86400, "30.00:00:00"),
        ("24855.03:14:07", r.MAX_TIMESPAN_SECONDS, "24855.03:14:07"),
        ("1.00:00:00.5000000", 86400, "1.00:00:00"),
    ],
)
def test_time_spans_in_range_parse_and_print_as_exchange_prints_them(text: str, seconds: int, shown: str) -> None:
    assert r.parse_timespan(text) == seconds
    assert r.format_timespan(seconds) == shown


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("24855.03:14:08", "above the maximum Exchange accepts, 24855.03:14:07"),
        ("99999.00:00:00", "above the maximum"),
        ("14", "quote time spans"),
        (108000, "an unquoted 30:00:00 in YAML is read as a number of seconds in base 60"),
        ("14 days", "must be a time span dd.hh:mm:ss such as 14.00:00:00"),
        ("-1.00:00:00", "must be a time span"),
        ("1.24:00:00", "hours above 23"),
        ("1.00:60:00", "minutes or seconds above 59"),
        ("", "must be a time span"),
    ],
)
def test_time_spans_outside_the_form_or_range_are_refused_naming_the_option(value: Any, message: str) -> None:
    with pytest.raises(r.Refusal) as error:
        r.parse_timespan(value, "mailbox_retention")
    assert message in str(error.value) and str(error.value).startswith("mailbox_retention")


def test_desired_settings_keep_only_what_the_task_declares() -> None:
    assert r.desired_settings({"deleted_item_retention": "0.06:00:00", "mailbox_retention": None, "retain_deleted_items_until_backup": False}) == {
        "deleted_item_retention": "06:00:00",
        "retain_deleted_items_until_backup": False,
    }
    assert r.desired_settings({}) == {}


@pytest.mark.parametrize(
    ("option", "read", "normalised"),
    [
        ("deleted_item_retention", "14.00:00:00", "14.00:00:00"),
        ("mailbox_retention", "30.00:00:00", "30.00:00:00"),
        ("retain_deleted_items_until_backup", "False", False),
        ("retain_deleted_items_until_backup", "True", True),
        ("retain_deleted_items_until_backup", True, True),
        ("mailbox_retention", None, None),
        ("deleted_item_retention", "Unlimited", "Unlimited"),
    ],
)
def test_settings_read_from_the_host_are_normalised_for_comparison(option: str, read: Any, normalised: Any) -> None:
    assert r.current_setting(option, read) == normalised


@pytest.mark.parametrize(
    ("entry", "state"),
    [
        ({"disconnect_reason": "Disabled", "disconnect_date": "10/01/2026"}, "Disabled"),
        ({"disconnect_reason": "SoftDeleted"}, "SoftDeleted"),
        ({"disconnect_reason": None, "disconnect_date": "10/01/2026"}, "Disconnected"),  # 2007: only the date
        ({"disconnect_reason": None, "disconnect_date": None}, None),
        ({}, None),
    ],
)
def test_disconnect_state(entry: dict[str, Any], state: str | None) -> None:
    assert r.disconnect_state(entry) == state


READ = {
    "databases": [
        {"name": "DB01", "identity": "DB01", "guid": "g1", "server": "EX01", "kind": "mailbox", "mounted": True, "recovery": False},
        {"name": "PF01", "identity": "PF01", "guid": "g2", "server": "EX01", "kind": "public_folder", "mounted": True, "recovery": False},
        {"name": "RDB01", "identity": "RDB01", "guid": "g3", "server": "EX01", "kind": "mailbox", "mounted": True, "recovery": True},
    ],
    "lookup": None,
}


def test_find_database_by_name_identity_or_guid_and_where_it_is_otherwise() -> None:
    assert r.find_database(READ, "db01", "EX01")["name"] == "DB01"
    assert r.find_database(READ, "G2", "EX01")["name"] == "PF01"
    with pytest.raises(r.Refusal, match="DB09 is a database of EX02, not of EX01: run the task on EX02"):
        r.find_database({"databases": [], "lookup": {"found": [{"name": "DB09", "server": "EX02"}]}}, "DB09", "EX01")
    with pytest.raises(r.Refusal, match=r"there is no mailbox or public folder database DB77 in the organization \(none on EX01\)"):
        r.find_database({"databases": [], "lookup": {"found": [], "error": "not found"}}, "DB77", "EX01")


DB = READ["databases"][0]
BOB = {"display_name": "Bob Jones", "guid": GUID, "item_count": 3, "disconnect_reason": "Disabled", "disconnect_date": "10/01/2026"}
CONNECTED = {**BOB, "disconnect_reason": None, "disconnect_date": None}
USER = {"name": "Bob Jones", "recipient_type": "User", "exchange_guid": None, "database": None, "error": None}


def test_a_disabled_mailbox_and_a_user_without_one_plan_connect_mailbox() -> None:
    planned = r.plan_reconnect(E2019, DB, [BOB], "Bob Jones", "CONTOSO\\bob", user=USER)
    assert planned.state == "connect" and planned.report(done=False)["state"] == "would_connect"
    assert planned.steps[0]["cmdlet"] == "Connect-Mailbox"
    assert planned.steps[0]["parameters"] == {"Identity": GUID, "Database": "DB01", "User": "CONTOSO\\bob"}


def test_the_users_own_mailbox_connected_already_is_nothing_to_do() -> None:
    mailbox_user = {**USER, "recipient_type": "UserMailbox", "exchange_guid": GUID.upper(), "database": "DB01"}
    planned = r.plan_reconnect(E2019, DB, [CONNECTED], GUID, "bob", user=mailbox_user)
    assert planned.state == "connected" and planned.steps == [] and planned.report(done=False)["state"] == "connected"


@pytest.mark.parametrize(
    ("release", "cmdlet", "no_dc"),
    [(E2019, "Update-StoreMailboxState", True), (E2010, "Clean-MailboxDatabase", False), (E2007, "Clean-MailboxDatabase", False)],
)
def test_a_mailbox_not_yet_shown_disconnected_is_brought_up_to_date_first(release: Any, cmdlet: str, no_dc: bool) -> None:
    planned = r.plan_reconnect(release, DB, [CONNECTED], GUID, "bob", user=USER)
    assert planned.state == "sync" and [s["cmdlet"] for s in planned.steps] == [cmdlet] and planned.steps[0]["no_domain_controller"] is no_dc
    with pytest.raises(r.Refusal, match="is still connected to a user after the store's state was brought up to date"):
        r.plan_reconnect(release, DB, [CONNECTED], GUID, "bob", user=USER, synced=True)


@pytest.mark.parametrize(
    ("db", "mailboxes", "query", "user", "message"),
    [
        (READ["databases"][2], [BOB], GUID, USER, "RDB01 is a recovery database"),
        (DB, [BOB, {**BOB, "guid": "other"}], "bob jones", USER, "2 mailboxes in DB01 are named bob jones"),
        (DB, [BOB], "Zed", USER, "no mailbox Zed in DB01 (its disconnected mailboxes: Bob Jones (0a1b2c3d"),
        (DB, [BOB], GUID, {**USER, "name": None, "error": "couldn't be found"}, "no user bob in Active Directory (couldn't be found)"),
        (DB, [BOB], GUID, None, "no user bob in Active Directory (Get-User found nothing)"),
        (DB, [BOB], GUID, {**USER, "recipient_type": "UserMailbox", "exchange_guid": "x", "database": "DB02"}, "Bob Jones already has a mailbox (x in DB02)"),
        (DB, [BOB], GUID, {**USER, "recipient_type": "MailUser"}, "Bob Jones is a MailUser; Connect-Mailbox connects a mailbox to a user account"),
    ],
)
def test_reconnect_refusals(db: dict[str, Any], mailboxes: list[dict[str, Any]], query: str, user: Any, message: str) -> None:
    with pytest.raises(r.Refusal) as error:
        r.plan_reconnect(E2019, db, mailboxes, query, "bob", user=user)
    assert message in str(error.value)


def _read(**retention: Any) -> dict[str, Any]:
    base = {"deleted_item_retention": "14.00:00:00", "mailbox_retention": "30.00:00:00", "retain_deleted_items_until_backup": "False"}
    return {"databases": [{**DB, "retention": {**base, **retention}}, {**READ["databases"][1], "retention": {**base, "mailbox_retention": None}}]}


def test_plan_changes_only_what_differs_and_names_the_old_and_new_values() -> None:
    params = {"database": "DB01", "deleted_item_retention": "14.00:00:00", "mailbox_retention": "45.00:00:00"}
    planned = r.plan(params, r.desired_settings(params), _read(), release=E2019, server="EX01")
    assert planned.steps[0]["parameters"] == {"Identity": "DB01", "MailboxRetention": "45.00:00:00"}
    assert planned.actions == ["set MailboxRetention 30.00:00:00 -> 45.00:00:00"] and planned.after["mailbox_retention"] == "45.00:00:00"
    same = r.plan(params, r.desired_settings(params), _read(mailbox_retention="45.00:00:00"), release=E2019, server="EX01")
    assert not same.changed and same.disconnected is None and same.reconnect is None


def test_a_public_folder_database_is_set_with_its_own_cmdlet_and_has_no_mailbox_retention() -> None:
    params = {"database": "PF01", "retain_deleted_items_until_backup": True}
    planned = r.plan(params, r.desired_settings(params), _read(), release=E2010, server="EX01")
    assert planned.steps[0]["cmdlet"] == "Set-PublicFolderDatabase" and "mailbox_retention" not in planned.after
    with pytest.raises(r.Refusal, match="PF01 is a public folder database: it has no mailbox retention"):
        r.plan({"database": "PF01", "mailbox_retention": "1.00:00:00"}, {"mailbox_retention": "1.00:00:00"}, _read(), release=E2010, server="EX01")
    with pytest.raises(r.Refusal, match="holds no mailboxes to list or connect"):
        r.plan({"database": "PF01", "list_disconnected": True}, {}, _read(), release=E2010, server="EX01")
