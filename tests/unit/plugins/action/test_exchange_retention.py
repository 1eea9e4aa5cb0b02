"""exchange_retention: the action plugin against the module's twin on simulated Exchange 2019, 2010 and 2007 servers -
retention declared and idempotent (check mode, --diff, a second run), disconnected mailboxes listed, one connected to its user
(also one the store did not show as disconnected yet: Update-StoreMailboxState / Clean-MailboxDatabase first), and every
refusal names what is wrong and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_retention import ActionModule
from simulator.exchange import ese
from simulator.host import Host
from simulator.testing import make_host
from tests.unit.plugins.action._simulated import Run, run_action

FQCN = "exchange_dr.recovery.exchange_retention"
BOB = "0a1b2c3d-0000-4000-8000-00000000000b"
OLD_BOB = "0a1b2c3d-0000-4000-8000-0000000000b0"
CAROL = "0a1b2c3d-0000-4000-8000-00000000000c"
DAVE = "0a1b2c3d-0000-4000-8000-00000000000d"


def domain(version: str) -> dict[str, Any]:
    legacy = version.startswith("8.")
    databases: dict[str, Any] = {"DB09": {"server": "EX02", "edb_file_path": "D:\\DB09\\DB09.edb", "log_folder_path": "E:\\DB09"}}
    if legacy:
        databases["DB01"] = {"name": "Mailbox Database", "server": "EX01", "edb_file_path": "D:\\SG1\\DB01.edb", "storage_group": "First Storage Group"}
        databases["PF01"] = {"server": "EX01", "kind": "public_folder", "edb_file_path": "D:\\SG1\\PF01.edb", "storage_group": "First Storage Group"}
    else:
        databases["DB01"] = {"server": "EX01", "edb_file_path": "D:\\DB01\\DB01.edb", "log_folder_path": "E:\\DB01"}
        databases["DB02"] = {"server": "EX01", "edb_file_path": "D:\\DB02\\DB02.edb", "log_folder_path": "E:\\DB02"}
        databases["RDB01"] = {"server": "EX01", "edb_file_path": "D:\\RDB01\\DB01.edb", "log_folder_path": "E:\\RDB01", "recovery": True}
        if version.startswith("14."):
            databases["PF01"] = {"server": "EX01", "kind": "public_folder", "edb_file_path": "D:\\PF01\\PF01.edb", "log_folder_path": "E:\\PF01"}
    spec: dict[str, Any] = {
        "name": "contoso.local",
        "users": {"Administrator": {"password": "Adm1n!", "admin": True}, "zoe": {"password": "Z0e-pass!"}},
        "exchange": {
            "organization": "Contoso",
            "servers": {"EX01": {"version": version, "roles": ["Mailbox"]}, "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]}},
            "databases": databases,
            "mailboxes": {
                "alice": {"display_name": "Alice Smith", "database": "DB01"},
                "bob": {"display_name": "Bob Jones", "database": None},
                "carol": {"display_name": "Carol King", "database": None},
                "dave": {"display_name": "Dave Moved", "database": "DB09", "guid": DAVE},
                "erin": {"display_name": "Erin New", "database": "DB01"},
            },
        },
    }
    if legacy:
        spec["exchange"]["servers"]["EX01"]["install_path"] = "C:\\Program Files\\Microsoft\\Exchange Server"
        spec["exchange"]["storage_groups"] = {"First Storage Group": {"server": "EX01", "log_folder_path": "E:\\SG1"}}
    return spec


def seed(version: str) -> dict[str, Any]:
    mailboxes = [
        {"display_name": "Alice Smith", "alias": "alice", "items": 1200, "size_mb": 80},
        {"display_name": "Bob Jones", "guid": BOB, "items": 310, "size_mb": 12, "disconnect_reason": "Disabled", "disconnect_date": "2026-10-01"},
        {"display_name": "Bob Jones", "guid": OLD_BOB, "items": 4, "size_mb": 1, "disconnect_reason": "Disabled", "disconnect_date": "2026-09-01"},
        # Carol's mailbox was disabled while the store could not see it: no DisconnectReason yet
        {"display_name": "Carol King", "guid": CAROL, "items": 77, "size_mb": 2},
        {"display_name": "Dave Moved", "guid": DAVE, "items": 50, "size_mb": 2, "disconnect_reason": "SoftDeleted", "disconnect_date": "2026-10-02"},
        {"display_name": "Erin New", "alias": "erin", "items": 3, "size_mb": 1},
    ]
    databases: dict[str, Any] = {"DB01": {"mounted": True, "mailboxes": mailboxes}}
    if not version.startswith("8."):
        databases["DB02"] = {"mounted": False}
        databases["RDB01"] = {"mounted": True, "mailboxes": [{"display_name": "Bob Jones", "guid": BOB, "items": 300, "size_mb": 12}]}
    if version.startswith(("8.", "14.")):
        databases["PF01"] = {"mounted": True}
    return {"exchange": True, "exchange_databases": databases}


def host_for(tmp_path: Path, version: str = "15.2.1544.4") -> Host:
    drives = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 2, "free_gb": 1}, "E": {"size_gb": 2, "free_gb": 1}}
    os_version = "6.3.9600" if version.startswith(("8.", "14.")) else "10.0.17763"
    return make_host(tmp_path, "EX01", os_version=os_version, seed=seed(version), domain=domain(version), drives=drives)


@pytest.fixture
def ex01(tmp_path: Path) -> Host:
    return host_for(tmp_path)


def run(host: Host, check_mode: bool = False, diff: bool = False, **args: Any) -> Run:
    return run_action(ActionModule, FQCN, host, args, check_mode=check_mode, diff=diff)


def database(host: Host, name: str = "DB01") -> Any:
    return host.estate.domain.exchange.databases[name]


def store(host: Host, path: str = "D:\\DB01\\DB01.edb") -> list[dict[str, Any]]:
    return ese.read_database(host, path)["mailboxes"]


def entry(host: Host, guid: str, path: str = "D:\\DB01\\DB01.edb") -> dict[str, Any]:
    return next(m for m in store(host, path) if m["guid"] == guid)


def snapshot(host: Host) -> tuple[Any, ...]:
    org = host.estate.domain.exchange
    return (
        {k: (d.deleted_item_retention, d.mailbox_retention, d.retain_deleted_items_until_backup) for k, d in org.databases.items()},
        {k: (m.database, m.guid) for k, m in org.mailboxes.items()},
        store(host),
    )


RETENTION = {"database": "DB01", "deleted_item_retention": "30.00:00:00", "mailbox_retention": "60.00:00:00", "retain_deleted_items_until_backup": True}


def test_retention_check_then_set_then_nothing(ex01: Host) -> None:
    before = snapshot(ex01)
    check = run(ex01, check_mode=True, diff=True, **RETENTION)
    assert check.result["changed"] is True and not check.result.get("failed"), check.result
    assert check.operations == ["read"] and snapshot(ex01) == before
    assert check.result["diff"] == {
        "before": {"deleted_item_retention": "14.00:00:00", "mailbox_retention": "30.00:00:00", "retain_deleted_items_until_backup": False},
        "after": {"deleted_item_retention": "30.00:00:00", "mailbox_retention": "60.00:00:00", "retain_deleted_items_until_backup": True},
    }
    assert check.result["plan"] == [
        "set DeletedItemRetention 14.00:00:00 -> 30.00:00:00, MailboxRetention 30.00:00:00 -> 60.00:00:00, RetainDeletedItemsUntilBackup $false -> $true"
    ]

    real = run(ex01, **RETENTION)
    assert real.result["changed"] is True and not real.result.get("failed"), real.result
    assert real.operations == ["read", "apply"] and real.result["retention"] == check.result["diff"]["after"]
    db = database(ex01)
    assert (db.deleted_item_retention, db.mailbox_retention, db.retain_deleted_items_until_backup) == ("30.00:00:00", "60.00:00:00", True)
    assert real.calls[1]["args"]["_plan"]["steps"][0]["parameters"] == {
        "Identity": "DB01",
        "DeletedItemRetention": "30.00:00:00",
        "MailboxRetention": "60.00:00:00",
        "RetainDeletedItemsUntilBackup": True,
    }

    again = run(ex01, diff=True, **RETENTION)
    assert again.result["changed"] is False and again.operations == ["read"] and "diff" not in again.result, again.result


def test_only_declared_settings_change_and_a_half_day_is_printed_as_exchange_does(ex01: Host) -> None:
    result = run(ex01, database="db01", deleted_item_retention="12:00:00").result
    assert result["changed"] and result["retention"]["deleted_item_retention"] == "12:00:00", result
    assert result["retention"]["mailbox_retention"] == "30.00:00:00" and database(ex01).deleted_item_retention == "12:00:00"
    same = run(ex01, database="DB01", deleted_item_retention="0.12:00:00").result
    assert same["changed"] is False, same


def test_disconnected_mailboxes_are_listed(ex01: Host) -> None:
    result = run(ex01, database="DB01", list_disconnected=True).result
    assert result["changed"] is False and not result.get("failed"), result
    listed = {(m["display_name"], m["guid"]): m["disconnect_reason"] for m in result["disconnected"]}
    assert listed == {("Bob Jones", BOB): "Disabled", ("Bob Jones", OLD_BOB): "Disabled", ("Dave Moved", DAVE): "SoftDeleted"}
    bob = next(m for m in result["disconnected"] if m["guid"] == BOB)
    assert bob["item_count"] == 310 and "bytes" in bob["size"] and bob["disconnect_date"] == "2026-10-01"


def test_reconnect_check_then_connect_then_nothing(ex01: Host) -> None:
    args = {"database": "DB01", "reconnect": {"mailbox": BOB, "user": "CONTOSO\\bob"}, "list_disconnected": True}
    before = snapshot(ex01)
    check = run(ex01, check_mode=True, diff=True, **args)
    assert check.result["changed"] is True and check.operations == ["read"] and snapshot(ex01) == before, check.result
    assert check.result["reconnect"] == {"mailbox": "Bob Jones", "guid": BOB, "user": "Bob Jones", "disconnect_reason": "Disabled", "state": "would_connect"}
    assert check.result["diff"]["before"][f"mailbox Bob Jones ({BOB})"] == "Disabled"
    assert check.result["diff"]["after"][f"mailbox Bob Jones ({BOB})"] == "connected to Bob Jones"

    real = run(ex01, **args)
    assert real.result["changed"] is True and not real.result.get("failed"), real.result
    assert real.operations == ["read", "apply"] and real.result["reconnect"]["state"] == "connected"
    assert real.result["reconnect"]["disconnect_reason"] == "Disabled"  # what it was before the task connected it
    bob = ex01.estate.domain.exchange.mailboxes["bob"]
    assert (bob.database, bob.guid) == ("DB01", BOB) and entry(ex01, BOB)["disconnect_reason"] is None
    assert [m["guid"] for m in real.result["disconnected"]] == [OLD_BOB, DAVE]  # the list after the task

    again = run(ex01, **args)
    assert again.result["changed"] is False and again.operations == ["read"] and again.result["reconnect"]["state"] == "connected", again.result


def test_a_soft_deleted_mailbox_connects_to_another_user_account(ex01: Host) -> None:
    result = run(ex01, database="DB01", reconnect={"mailbox": "Dave Moved", "user": "zoe"}).result
    assert result["changed"] and not result.get("failed"), result
    zoe = ex01.estate.domain.exchange.mailboxes["zoe"]
    assert (zoe.database, zoe.guid) == ("DB01", DAVE)


@pytest.mark.parametrize(("version", "sync"), [("15.2.1544.4", "Update-StoreMailboxState"), ("14.3.123.4", "Clean-MailboxDatabase")])
def test_a_mailbox_the_store_does_not_show_disconnected_is_brought_up_to_date_first(tmp_path: Path, version: str, sync: str) -> None:
    host = host_for(tmp_path, version)
    args = {"database": "DB01", "reconnect": {"mailbox": "Carol King", "user": "carol"}}
    check = run(host, check_mode=True, **args).result
    assert check["reconnect"]["state"] == "would_sync" and f"({sync})" in check["plan"][0] and "then connect it to Carol King" in check["plan"][1], check
    assert entry(host, CAROL).get("disconnect_reason") is None

    real = run(host, **args)
    assert not real.result.get("failed") and real.result["changed"], real.result
    assert real.operations == ["read", "apply", "apply"]
    assert [s["cmdlet"] for c in real.calls[1:] for s in c["args"]["_plan"]["steps"]] == [sync, "Connect-Mailbox"]
    carol = host.estate.domain.exchange.mailboxes["carol"]
    assert (carol.database, carol.guid) == ("DB01", CAROL) and real.result["reconnect"]["state"] == "connected"
    assert real.result["reconnect"]["disconnect_reason"] == "Disabled"  # as the store marked it after the update
    assert run(host, **args).result["changed"] is False


def test_update_store_mailbox_state_gets_no_domain_controller(ex01: Host) -> None:
    """Update-StoreMailboxState has no -DomainController (PS page): the module leaves it out of that one cmdlet."""
    args = {"database": "DB01", "reconnect": {"mailbox": CAROL, "user": "carol"}, "domain_controller": "dc01.contoso.local"}
    result = run(ex01, **args)
    assert not result.result.get("failed"), result.result
    assert result.calls[1]["args"]["_plan"]["steps"][0]["no_domain_controller"] is True


def test_a_mailbox_still_connected_after_the_store_update_is_refused(ex01: Host) -> None:
    """Erin's store mailbox is hers: after Update-StoreMailboxState it is still connected, so nothing is connected."""
    result = run(ex01, database="DB01", reconnect={"mailbox": "Erin New", "user": "zoe"}).result
    assert result["failed"] and "is still connected to a user after the store's state was brought up to date" in result["msg"], result
    assert ex01.estate.domain.exchange.mailboxes["erin"].database == "DB01" and "zoe" not in ex01.estate.domain.exchange.mailboxes


def test_exchange_2007_sets_retention_lists_by_disconnect_date_and_connects(tmp_path: Path) -> None:
    host = host_for(tmp_path, "8.3.83.6")
    identity = "EX01\\First Storage Group\\Mailbox Database"
    result = run(host, database=identity, deleted_item_retention="7.00:00:00", list_disconnected=True, reconnect={"mailbox": BOB, "user": "bob"}).result
    assert not result.get("failed") and result["changed"], result
    assert database(host).deleted_item_retention == "7.00:00:00" and host.estate.domain.exchange.mailboxes["bob"].database == "DB01"
    assert {m["guid"]: m["disconnect_reason"] for m in result["disconnected"]} == {OLD_BOB: "Disconnected", DAVE: "Disconnected"}
    pf = run(host, database="PF01", deleted_item_retention="20.00:00:00", retain_deleted_items_until_backup=True).result
    assert pf["changed"] and "mailbox_retention" not in pf["retention"] and database(host, "PF01").deleted_item_retention == "20.00:00:00", pf


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"database": "DB01", "deleted_item_retention": "14 days"},
            "deleted_item_retention must be a time span dd.hh:mm:ss such as 14.00:00:00, got '14 days'",
        ),
        ({"database": "DB01", "mailbox_retention": "108000"}, "quote time spans"),
        ({"database": "DB01", "mailbox_retention": "24855.03:14:08"}, "is above the maximum Exchange accepts, 24855.03:14:07"),
        ({"database": "DB01", "deleted_item_retention": "1.24:00:00"}, "has hours above 23"),
        ({"database": "DB77", "deleted_item_retention": "1.00:00:00"}, "there is no mailbox or public folder database DB77 in the organization (none on EX01)"),
        ({"database": "DB09", "deleted_item_retention": "1.00:00:00"}, "DB09 is a database of EX02, not of EX01: run the task on EX02"),
        ({"database": "DB02", "list_disconnected": True}, "DB02 is not mounted on EX01: the store lists and connects mailboxes of a mounted database only"),
        ({"database": "RDB01", "reconnect": {"mailbox": BOB, "user": "bob"}}, "RDB01 is a recovery database: its mailboxes are restored"),
        ({"database": "DB01", "reconnect": {"mailbox": "Bob Jones", "user": "bob"}}, f"2 mailboxes in DB01 are named Bob Jones: {BOB} (310 items, Disabled)"),
        ({"database": "DB01", "reconnect": {"mailbox": "Zed", "user": "bob"}}, f"no mailbox Zed in DB01 (its disconnected mailboxes: Bob Jones ({BOB})"),
        ({"database": "DB01", "reconnect": {"mailbox": BOB, "user": "nobody"}}, "no user nobody in Active Directory (The operation couldn't be performed"),
        ({"database": "DB01", "reconnect": {"mailbox": BOB, "user": "alice"}}, "Alice Smith already has a mailbox"),
        ({"database": "DB01", "reconnect": {"mailbox": BOB}}, "missing required arguments: user found in reconnect"),
        ({"database": "DB01", "_plan": {}}, "_plan are set by the action plugin, not by tasks"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(ex01: Host, args: dict[str, Any], message: str) -> None:
    before = snapshot(ex01)
    result = run(ex01, **args)
    assert result.result.get("failed") is True and message in result.result["msg"], result.result["msg"]
    assert set(result.operations) <= {"read"} and snapshot(ex01) == before


def test_mailbox_retention_of_a_public_folder_database_is_refused(tmp_path: Path) -> None:
    host = host_for(tmp_path, "14.3.123.4")
    result = run(host, database="PF01", mailbox_retention="10.00:00:00").result
    assert result["failed"] and "PF01 is a public folder database: it has no mailbox retention" in result["msg"], result


def test_the_shell_password_stays_out_of_the_result(ex01: Host) -> None:
    secret = "Adm1n!"
    result = run(ex01, exchange_username="CONTOSO\\Administrator", exchange_password=secret, **RETENTION)
    assert not result.result.get("failed"), result.result
    assert secret not in repr(result.result) and secret not in repr([c["result"] for c in result.calls])
