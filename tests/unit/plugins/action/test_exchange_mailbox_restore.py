"""exchange_mailbox_restore: the action plugin against the module's twin on simulated Exchange 2019, 2010 SP3, 2010 RTM and
2007 servers - a restore request that progresses over simulated time is created, polled and reported; a second run finds
it by name; a run cut short (or one that did not wait) completes when run again; Restore-Mailbox on 2007 and 2010 RTM; and
every refusal names what is wrong and creates nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_mailbox_restore import ActionModule
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._mailbox_restore import default_name
from simulator.estate import DomainUser
from simulator.exchange import ese
from simulator.host import Host
from simulator.testing import make_host
from tests.unit.plugins.action._simulated import Run, run_action

FQCN = "exchange_dr.recovery.exchange_mailbox_restore"
BOB_1 = "0a1b2c3d-0000-4000-8000-000000000001"
BOB_2 = "0a1b2c3d-0000-4000-8000-000000000002"
RESTORED = [
    {"display_name": "Alice Smith", "alias": "alice", "items": 500, "size_mb": 3},
    {"display_name": "Bob Jones", "alias": "bob", "guid": BOB_1, "items": 200, "size_mb": 1},
    {"display_name": "Bob Jones", "guid": BOB_2, "items": 40, "size_mb": 1},
    {"display_name": "Dave Corrupt", "alias": "dave", "items": 100, "size_mb": 1, "bad_items": 3},
    {"display_name": "Erin Big", "alias": "erin", "items": 9000, "size_mb": 300},
]


def domain(version: str, *, rdb: bool = True) -> dict[str, Any]:
    legacy = version.startswith("8.")
    databases: dict[str, Any] = {
        "DB09": {"server": "EX02", "edb_file_path": "D:\\DB09\\DB09.edb", "log_folder_path": "E:\\DB09"},
        "RDB09": {"server": "EX02", "edb_file_path": "D:\\RDB09\\RDB09.edb", "log_folder_path": "E:\\RDB09", "recovery": True},
    }
    if legacy:
        databases["DB01"] = {"server": "EX01", "edb_file_path": "D:\\SG1\\DB01.edb", "storage_group": "First Storage Group"}
        databases["RSG-DB01"] = {"name": "DB01", "server": "EX01", "edb_file_path": "E:\\RSG\\DB01.edb", "storage_group": "Recovery Storage Group"}
    else:
        databases["DB01"] = {"server": "EX01", "edb_file_path": "D:\\DB01\\DB01.edb", "log_folder_path": "E:\\DB01"}
        if rdb:
            databases["RDB01"] = {"server": "EX01", "edb_file_path": "D:\\RDB01\\DB01.edb", "log_folder_path": "E:\\RDB01", "recovery": True}
    spec: dict[str, Any] = {
        "name": "contoso.local",
        "users": {"Administrator": {"password": "Adm1n!", "admin": True}},
        "exchange": {
            "organization": "Contoso",
            "servers": {"EX01": {"version": version, "roles": ["Mailbox"]}, "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]}},
            "databases": databases,
            "mailboxes": {
                alias: {"display_name": name, "database": "DB01"}
                for alias, name in (("alice", "Alice Smith"), ("bob", "Bob Jones"), ("carol", "Carol King"), ("dave", "Dave Corrupt"), ("erin", "Erin Big"))
            },
        },
    }
    if legacy:
        spec["exchange"]["servers"]["EX01"]["install_path"] = "C:\\Program Files\\Microsoft\\Exchange Server"
        spec["exchange"]["storage_groups"] = {
            "First Storage Group": {"server": "EX01", "log_folder_path": "E:\\SG1"},
            "Recovery Storage Group": {"server": "EX01", "log_folder_path": "E:\\RSG", "log_prefix": "R00", "recovery": True},
        }
    return spec


def seed(version: str) -> dict[str, Any]:
    production = [
        {"display_name": "Alice Smith", "alias": "alice", "items": 1200, "size_mb": 80},
        {"display_name": "Old Timer", "items": 5, "disconnect_reason": "Disabled"},
    ]
    rdb_key = "RSG-DB01" if version.startswith("8.") else "RDB01"
    return {
        "exchange": True,
        "exchange_databases": {"DB01": {"mounted": True, "mailboxes": production}, rdb_key: {"mounted": True, "mailboxes": copy.deepcopy(RESTORED)}},
    }


def host_for(tmp_path: Path, version: str = "15.2.1544.4") -> Host:
    drives = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 2, "free_gb": 1}, "E": {"size_gb": 2, "free_gb": 1}}
    os_version = "6.3.9600" if version.startswith(("8.", "14.")) else "10.0.17763"
    return make_host(tmp_path, "EX01", os_version=os_version, seed=seed(version), domain=domain(version), drives=drives)


@pytest.fixture
def ex01(tmp_path: Path) -> Host:
    return host_for(tmp_path)


def run(host: Host, check_mode: bool = False, diff: bool = False, **args: Any) -> Run:
    return run_action(ActionModule, FQCN, host, args, check_mode=check_mode, diff=diff)


def target_entry(host: Host, alias: str, db_path: str = "D:\\DB01\\DB01.edb") -> dict[str, Any] | None:
    return next((m for m in ese.read_database(host, db_path)["mailboxes"] if m.get("alias") == alias), None)


def requests(host: Host) -> list[dict[str, Any]]:
    return list(host.estate.domain.exchange.restore_requests.values())


ALICE = {"source_database": "RDB01", "source_mailbox": "Alice Smith", "target_mailbox": "alice", "target_root_folder": "Restored"}


def test_check_then_a_request_that_is_waited_for_then_nothing(ex01: Host) -> None:
    check = run(ex01, check_mode=True, diff=True, **ALICE)
    assert check.result["changed"] is True and not check.result.get("failed"), check.result
    assert check.operations == ["read"] and requests(ex01) == [] and check.result["request"] is None
    assert check.result["diff"]["after"]["SourceStoreMailbox"] == check.result["source"]["mailbox_guid"]
    assert check.result["method"] == "New-MailboxRestoreRequest" and check.result["source"]["item_count"] == 500

    real = run(ex01, **ALICE)
    assert real.result["changed"] is True and not real.result.get("failed"), real.result
    assert real.operations == ["read", "start"] and real.result["polls"] == 1
    request = real.result["request"]
    assert request["status"] == "Completed" and request["items_transferred"] == 500 and request["bytes_transferred"] == 3 << 20
    assert request["identity"] == f"alice\\{default_name({**ALICE})}" and request["created"] is True and request["bad_items"] == 0
    alice = target_entry(ex01, "alice")
    assert alice["items"] == 1700 and alice["restored"][0]["folder"] == "Restored"

    again = run(ex01, **ALICE)
    assert again.result["changed"] is False and again.operations == ["read"] and again.result["request"]["status"] == "Completed"
    assert target_entry(ex01, "alice")["items"] == 1700 and len(requests(ex01)) == 1


def test_a_big_mailbox_is_polled_until_it_completes(ex01: Host) -> None:
    result = run(ex01, source_database="RDB01", source_mailbox="Erin Big", target_mailbox="erin", poll_interval=60)
    assert not result.result.get("failed"), result.result
    assert result.operations == ["read", "start", "poll", "poll"] and result.result["polls"] == 3
    assert result.result["request"]["items_transferred"] == 9000 and target_entry(ex01, "erin")["items"] == 9000


def test_a_request_not_waited_for_is_waited_for_on_the_next_run(ex01: Host) -> None:
    first = run(ex01, wait=False, **ALICE)
    assert first.result["changed"] is True and first.result["request"]["status"] == "Queued" and not first.result.get("failed")
    second = run(ex01, **ALICE)
    assert not second.result.get("failed"), second.result
    assert second.result["changed"] is False and second.result["request"]["status"] == "Completed" and second.operations[0] == "read"
    assert second.result["request"]["created"] is False and len(requests(ex01)) == 1


def test_a_timeout_leaves_the_request_running_and_a_rerun_completes_it(ex01: Host) -> None:
    first = run(ex01, source_database="RDB01", source_mailbox="Erin Big", target_mailbox="erin", timeout=0, poll_interval=30)
    assert first.result["failed"] and first.result["changed"] is True and "is still InProgress" in first.result["msg"], first.result["msg"]
    assert "run the task again to keep waiting" in first.result["msg"] and first.result["request"]["percent_complete"] < 100
    second = run(ex01, source_database="RDB01", source_mailbox="Erin Big", target_mailbox="erin")
    assert not second.result.get("failed") and second.result["request"]["status"] == "Completed", second.result


def test_into_another_mailbox_needs_allow_legacy_dn_mismatch(ex01: Host) -> None:
    args = {"source_database": "RDB01", "source_mailbox": BOB_1, "target_mailbox": "carol", "target_root_folder": "Bob"}
    refused = run(ex01, **args).result
    assert refused["failed"] and "isn't the target mailbox carol's" in refused["msg"] and requests(ex01) == []
    done = run(ex01, allow_legacy_dn_mismatch=True, **args).result
    assert not done.get("failed") and target_entry(ex01, "carol")["items"] == 200, done


def test_too_many_bad_items_fail_the_request_and_say_so(ex01: Host) -> None:
    args = {"source_database": "RDB01", "source_mailbox": "Dave Corrupt", "target_mailbox": "dave"}
    failed = run(ex01, **args).result
    assert failed["failed"] and failed["changed"] is True and failed["request"]["status"] == "Failed"
    assert "TooManyBadItemsPermanentException" in failed["msg"] and "3 bad items against a limit of 0" in failed["msg"]
    assert target_entry(ex01, "dave") is None
    again = run(ex01, **args).result
    assert again["failed"] and again["changed"] is False  # the failed request is found again, not retried behind the user's back
    allowed = run(ex01, bad_item_limit=5, name="Dave, again", **args).result  # the failed one stays: this is another request
    assert not allowed.get("failed") and allowed["request"]["bad_items"] == 3 and target_entry(ex01, "dave")["items"] == 97, allowed


def test_several_mailboxes_with_one_display_name_are_refused_with_their_guids(ex01: Host) -> None:
    result = run(ex01, source_database="RDB01", source_mailbox="Bob Jones", target_mailbox="bob").result
    assert result["failed"] and f"2 mailboxes in RDB01 are named Bob Jones: {BOB_1} (200 items" in result["msg"] and BOB_2 in result["msg"]
    assert "Name one by its GUID in source_mailbox" in result["msg"] and requests(ex01) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({**ALICE, "source_database": "RDB77"}, "there is no mailbox database RDB77 in the organization (none on EX01)"),
        ({**ALICE, "source_database": "RDB09"}, "RDB09 is a database of EX02, not of EX01: run the task on EX02"),
        ({**ALICE, "source_mailbox": "Zed"}, "no mailbox Zed in RDB01 (its mailboxes: Alice Smith, Bob Jones, Dave Corrupt, Erin Big)"),
        ({**ALICE, "target_mailbox": "nobody"}, "the target mailbox nobody cannot be used: The operation couldn't be performed because object 'nobody'"),
        ({**ALICE, "bad_item_limit": 60}, "bad_item_limit 60 lets the restore skip 51 or more corrupted items: that needs accept_large_data_loss: true"),
        ({**ALICE, "source_database": "DB01"}, "Alice Smith ("),
        ({**ALICE, "poll_interval": 1}, "poll_interval must be 5 or more"),
        ({**ALICE, "_identity": "x"}, "_identity are set by the action plugin, not by tasks"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(ex01: Host, args: dict[str, Any], message: str) -> None:
    before = ese.read_database(ex01, "D:\\DB01\\DB01.edb")
    result = run(ex01, **args)
    assert result.result.get("failed") is True and message in result.result["msg"], result.result["msg"]
    assert set(result.operations) <= {"read"} and requests(ex01) == [] and ese.read_database(ex01, "D:\\DB01\\DB01.edb") == before


def test_a_connected_production_mailbox_is_no_source_but_a_disabled_one_is(ex01: Host) -> None:
    connected = run(ex01, **{**ALICE, "source_database": "DB01"}).result
    assert connected["failed"] and "is connected to its user; a restore request copies from a recovery database" in connected["msg"]
    disabled = run(ex01, source_database="DB01", source_mailbox="Old Timer", target_mailbox="carol", allow_legacy_dn_mismatch=True).result
    assert not disabled.get("failed") and disabled["source"]["recovery_database"] is False, disabled


def test_a_request_of_the_same_name_that_is_another_restore_is_refused(ex01: Host) -> None:
    assert not run(ex01, name="Restore1", **ALICE).result.get("failed")
    other = run(ex01, name="Restore1", **{**ALICE, "target_root_folder": "Elsewhere"}).result
    assert other["failed"] and "a restore request alice\\Restore1 already exists and is another restore (into folder Restored, not Elsewhere)" in other["msg"]


def test_the_source_database_must_be_mounted(tmp_path: Path) -> None:
    host = host_for(tmp_path)
    from simulator.exchange import store

    store.dismount(host, host.estate.domain.exchange.database("RDB01"))
    result = run(host, **ALICE).result
    assert result["failed"] and "RDB01 is not mounted on EX01: mount it first" in result["msg"]


def test_exchange_2010_sp3_uses_a_request(tmp_path: Path) -> None:
    host = host_for(tmp_path, "14.3.123.4")
    result = run(host, **ALICE).result
    assert not result.get("failed") and result["method"] == "New-MailboxRestoreRequest" and result["request"]["status"] == "Completed", result
    assert result["exchange"]["release"]["name"] == "Exchange Server 2010 SP3 (14.3.123.4)"


def test_exchange_2010_rtm_uses_restore_mailbox_and_a_rerun_copies_nothing_new(tmp_path: Path) -> None:
    host = host_for(tmp_path, "14.0.639.21")
    no_folder = run(host, **{k: v for k, v in ALICE.items() if k != "target_root_folder"}).result
    assert no_folder["failed"] and "Exchange Server 2010 RTM (14.0.639.21) restores with Restore-Mailbox, whose -TargetFolder is mandatory" in no_folder["msg"]
    archive = run(host, target_is_archive=True, **ALICE).result
    assert archive["failed"] and "Restore-Mailbox, which has no target_is_archive" in archive["msg"]
    check = run(host, check_mode=True, **ALICE)
    assert check.result["changed"] is True and check.operations == ["read"]
    real = run(host, **ALICE)
    assert not real.result.get("failed"), real.result
    assert real.result["method"] == "Restore-Mailbox" and real.result["target_items"] == {"before": 1200, "after": 1700} and real.result["changed"] is True
    again = run(host, **ALICE).result
    assert again["changed"] is False and again["target_items"] == {"before": 1700, "after": 1700} and "found nothing new to copy" in again["msg"]


def test_exchange_2007_restores_from_the_recovery_storage_group(tmp_path: Path) -> None:
    host = host_for(tmp_path, "8.3.83.6")
    args = {"source_database": "DB01", "source_mailbox": "Alice Smith", "target_mailbox": "alice"}
    result = run(host, **args)
    assert not result.result.get("failed"), result.result
    assert result.result["method"] == "Restore-Mailbox" and result.result["source"]["database"] == "EX01\\Recovery Storage Group\\DB01"
    start = result.calls[-1]["args"]["_parameters"]
    assert start["RSGDatabase"] == "EX01\\Recovery Storage Group\\DB01" and "RecoveryDatabase" not in start
    assert target_entry(host, "alice", "D:\\SG1\\DB01.edb")["items"] == 1700
    refused = run(host, target_is_archive=True, **args).result
    assert refused["failed"] and "Exchange Server 2007 SP3 (8.3.83.6) restores mailbox content with Restore-Mailbox" in refused["msg"]


def test_the_shell_password_stays_out_of_every_result(ex01: Host) -> None:
    password = "S3cret-Shell-Passw0rd!"
    ex01.estate.domain.users["drrestore"] = DomainUser("drrestore", password, admin=True)
    args = {**ALICE, "exchange_username": "CONTOSO\\drrestore", "exchange_password": password}
    for check_mode in (True, False):
        result = run(ex01, check_mode=check_mode, **args)
        assert not result.result.get("failed"), result.result
        assert password not in json.dumps(result.result)
        assert all(password not in json.dumps(c["result"]) for c in result.calls)  # nor in what the module returned
    refused = run(ex01, **{**args, "source_database": "RDB77"})
    assert refused.result["failed"] and password not in json.dumps(refused.result)
