"""exchange_recovery_database: the action plugin's plan against the module's twin on simulated Exchange 2019 and 2007 servers
- check mode plans and changes nothing, the real run creates, restores, recovers and mounts, a second run changes nothing,
a run cut short completes, removal keeps the files aside, and every refusal names what is wrong and changes nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_recovery_database import ActionModule
from simulator.estate import DomainUser
from simulator.exchange import ese, store
from simulator.host import Host
from simulator.testing import make_host
from tests.unit.plugins.action._simulated import Run, run_action

FQCN = "exchange_dr.recovery.exchange_recovery_database"
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 2, "free_gb": 1}, "E": {"size_gb": 2, "free_gb": 1}}
BACKUP_MAILBOXES = [
    {"display_name": "Alice Smith", "alias": "alice", "items": 500, "size_mb": 3},
    {"display_name": "Bob Jones", "alias": "bob", "items": 200, "size_mb": 1},
]
DOMAIN: dict[str, Any] = {
    "name": "contoso.local",
    "users": {"Administrator": {"password": "Adm1n!", "admin": True}},
    "exchange": {
        "organization": "Contoso",
        "servers": {
            "EX01": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX2007": {"version": "8.3.83.6", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server"},
        },
        "storage_groups": {"First Storage Group": {"server": "EX2007", "log_folder_path": "E:\\SG1", "system_folder_path": "E:\\SG1"}},
        "databases": {
            "DB01": {"server": "EX01", "edb_file_path": "D:\\DB01\\DB01.edb", "log_folder_path": "E:\\DB01"},
            "RDB09": {"server": "EX02", "edb_file_path": "D:\\RDB09\\RDB09.edb", "log_folder_path": "E:\\RDB09", "recovery": True},
            "MBX2007": {"server": "EX2007", "edb_file_path": "D:\\SG1\\Mailbox Database.edb", "storage_group": "First Storage Group"},
            "PF2007": {"server": "EX2007", "kind": "public_folder", "edb_file_path": "D:\\SG1\\Public.edb", "storage_group": "First Storage Group"},
        },
        "mailboxes": {"alice": {"display_name": "Alice Smith", "database": "DB01"}, "bob": {"display_name": "Bob Jones", "database": "DB01"}},
    },
}
SEED: dict[str, Any] = {
    "exchange": True,
    "exchange_databases": {"DB01": {"mounted": True, "logs": {"first": 1, "last": 150}}},
    "ese_files": {
        "C:\\Backups\\DB01\\DB01.edb": {"database": "DB01", "state": "dirty", "log_required": [140, 145], "size_mb": 6, "mailboxes": BACKUP_MAILBOXES},
        "C:\\Backups\\DB01": {"logs": {"database": "DB01", "first": 138, "last": 147, "current": False}},
        "C:\\Backups\\Gap\\DB01.edb": {"database": "DB01", "state": "dirty", "log_required": [140, 145], "size_mb": 6},
        "C:\\Backups\\Gap": {"logs": {"database": "DB01", "first": 138, "last": 147, "missing": [142], "current": False}},
        "C:\\Backups\\Clean\\DB01.edb": {"database": "DB01", "state": "clean", "size_mb": 6, "mailboxes": BACKUP_MAILBOXES},
    },
    "directories": ["C:\\Backups\\Empty"],
}
RDB = {"name": "RDB01", "database": "DB01", "edb_file_path": "D:\\RDB01\\DB01.edb", "log_folder_path": "E:\\RDB01", "restore_from": "C:\\Backups\\DB01"}


@pytest.fixture
def ex01(tmp_path: Path) -> Host:
    return make_host(tmp_path, "EX01", seed=copy.deepcopy(SEED), domain=copy.deepcopy(DOMAIN), drives=DRIVES)


def run(host: Host, check_mode: bool = False, diff: bool = False, **args: Any) -> Run:
    return run_action(ActionModule, FQCN, host, args, check_mode=check_mode, diff=diff)


def snapshot(host: Host) -> dict[str, Any]:
    """What a refusal must leave as it was: the files of D: and E:, the organisation's databases."""
    files = {}
    for drive in ("D:\\", "E:\\"):
        for info in host.walk(drive):
            files[info.path] = None if info.is_dir else host.checksum(info.path, "sha256")
    org = host.estate.domain.exchange
    return {"files": files, "databases": sorted(org.databases), "groups": sorted(org.storage_groups)}


def rdb(host: Host) -> Any:
    return host.estate.domain.exchange.database("RDB01")


def test_check_then_restore_recover_mount_then_nothing(ex01: Host) -> None:
    before = snapshot(ex01)
    check = run(ex01, check_mode=True, diff=True, **RDB)
    assert check.result["changed"] is True and not check.result.get("failed"), check.result
    assert check.operations == ["read"] and snapshot(ex01) == before
    assert check.result["plan"][0] == "create the recovery database RDB01" and check.result["plan"][-1] == "mount RDB01"
    assert check.result["diff"]["before"]["exists"] is False and check.result["diff"]["after"]["mounted"] is True
    assert check.result["source"]["state"] == "Dirty Shutdown" and check.result["source"]["log_required"] == [140, 145]

    real = run(ex01, **RDB)
    assert real.result["changed"] is True and not real.result.get("failed"), real.result
    assert real.operations == ["read", "apply"]
    assert real.result["recovery"]["succeeded"] is True and "/r E00 /lE:\\RDB01 /sE:\\RDB01 /dD:\\RDB01" in real.result["recovery"]["command_line"]
    db = rdb(ex01)
    assert db.recovery and store.is_mounted(ex01, db) and real.result["database"]["recovers"] == "DB01"
    assert ese.read_database(ex01, "D:\\RDB01\\DB01.edb")["mailboxes"][0]["display_name"] == "Alice Smith"
    assert ex01.exists("C:\\Backups\\DB01\\DB01.edb") and ese.read_database(ex01, "C:\\Backups\\DB01\\DB01.edb")["state"] == ese.DIRTY  # backup untouched

    again = run(ex01, **RDB)
    assert again.result["changed"] is False and again.operations == ["read"] and again.result["plan"] == []


def test_present_leaves_it_dismounted_then_mounted_mounts(ex01: Host) -> None:
    present = run(ex01, state="present", **RDB)
    assert present.result["changed"] is True and not present.result.get("failed"), present.result
    assert "mount RDB01" not in present.result["plan"] and not store.is_mounted(ex01, rdb(ex01))
    assert ese.read_database(ex01, "D:\\RDB01\\DB01.edb")["state"] == ese.CLEAN
    assert run(ex01, state="present", **RDB).result["changed"] is False
    mounted = run(ex01, **RDB)
    assert mounted.result["plan"] == ["mount RDB01"] and store.is_mounted(ex01, rdb(ex01))


def test_a_clean_backup_is_copied_and_mounted_without_recovery(ex01: Host) -> None:
    result = run(ex01, **{**RDB, "restore_from": "C:\\Backups\\Clean"}).result
    assert not result.get("failed"), result
    assert result["recovery"] is None and result["source"]["state"] == "Clean Shutdown" and result["source"]["log_files"] == 0
    assert store.is_mounted(ex01, rdb(ex01))


def test_absent_dismounts_keeps_the_files_aside_and_removes_it(ex01: Host) -> None:
    assert not run(ex01, **RDB).result.get("failed")
    check = run(ex01, state="absent", name="RDB01", check_mode=True)
    assert check.result["changed"] is True and rdb(ex01) is not None and store.is_mounted(ex01, rdb(ex01))
    gone = run(ex01, state="absent", name="RDB01", diff=True)
    assert gone.result["changed"] is True and not gone.result.get("failed"), gone.result
    assert rdb(ex01) is None and gone.result["diff"]["after"]["exists"] is False
    assert [a["path"] for a in gone.result["moved_aside"]] == ["E:\\RDB01", "D:\\RDB01\\DB01.edb"]
    for aside in gone.result["moved_aside"]:
        assert not ex01.exists(aside["path"]) and ex01.exists(aside["to"])
    assert ese.read_database(ex01, gone.result["moved_aside"][1]["to"])["state"] == ese.CLEAN  # kept, never deleted
    assert run(ex01, state="absent", name="RDB01").result["changed"] is False


def test_a_run_cut_short_completes_when_run_again(ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.exchange_dr.recovery.plugins.action import exchange_recovery_database as action

    real_plan = action.plan

    def cut(*args: Any, **kwargs: Any) -> Any:  # the connection drops after the logs were copied, during the database copy
        planned = real_plan(*args, **kwargs)
        planned.steps = [s for s in planned.steps if s["action"] != "copy" or s["to"].endswith(".log")][:6]
        return planned

    monkeypatch.setattr(action, "plan", cut)
    first = run(ex01, **RDB)
    assert not first.result.get("failed") and rdb(ex01) is not None and not ex01.exists("D:\\RDB01\\DB01.edb")
    ex01.write_bytes("D:\\RDB01\\DB01.edb.exdr-partial", b"half a database")  # what a copy cut short leaves
    monkeypatch.setattr(action, "plan", real_plan)
    second = run(ex01, **RDB)
    assert not second.result.get("failed"), second.result
    assert second.result["plan"][0].startswith("move the folder E:\\RDB01 aside") and "create the recovery database RDB01" not in second.result["plan"]
    assert store.is_mounted(ex01, rdb(ex01)) and not ex01.exists("D:\\RDB01\\DB01.edb.exdr-partial")
    assert ex01.exists(second.result["moved_aside"][0]["to"])  # the logs of the first try: aside, not deleted


def test_recovery_cut_short_is_run_again(ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.exchange_dr.recovery.plugins.action import exchange_recovery_database as action

    real_plan = action.plan
    monkeypatch.setattr(action, "plan", lambda *a, **k: _without(real_plan(*a, **k), "eseutil", "cmdlet:Mount-Database", "status"))
    assert not run(ex01, **RDB).result.get("failed")
    assert ese.read_database(ex01, "D:\\RDB01\\DB01.edb")["state"] == ese.DIRTY
    monkeypatch.setattr(action, "plan", real_plan)
    again = run(ex01, **RDB)
    assert not again.result.get("failed"), again.result
    assert again.result["plan"][0].startswith("bring D:\\RDB01\\DB01.edb to Clean Shutdown") and store.is_mounted(ex01, rdb(ex01))


def _without(planned: Any, *actions: str) -> Any:
    planned.steps = [s for s in planned.steps if s["action"] not in actions and f"{s['action']}:{s.get('cmdlet')}" not in actions]
    return planned


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({**RDB, "name": "DB01"}, "DB01 is a mailbox database of EX01, not a recovery database"),
        ({**RDB, "name": "RDB09"}, "RDB09 is a recovery database of EX02, not of EX01: run the task on EX02"),
        ({**RDB, "database": "DB77"}, "there is no mailbox database DB77 in the organization"),
        ({**RDB, "restore_from": "C:\\Backups\\Empty"}, "there is no database file (*.edb) in restore_from C:\\Backups\\Empty (it holds nothing)"),
        ({**RDB, "restore_from": "C:\\Backups\\Nowhere"}, "restore_from C:\\Backups\\Nowhere is not a folder this logon can read"),
        ({**RDB, "restore_from": "C:\\Backups\\Gap"}, "not all there: 1 missing or damaged: E000000008E.log"),
        ({**RDB, "edb_file_path": "D:\\RDB01\\RDB01.edb"}, "name the recovery database's file the same (edb_file_path: D:\\RDB01\\DB01.edb)"),
        ({**RDB, "storage_group": "RSG"}, "Exchange Server 2019 CU14 (15.2.1544.4) has no storage groups: storage_group is for Exchange 2007"),
        ({k: v for k, v in RDB.items() if k != "edb_file_path"}, "creating recovery database RDB01 needs edb_file_path"),
        (
            {"name": "RDB01", "log_folder_path": "E:\\RDB01", "edb_file_path": "D:\\RDB01\\DB01.edb"},
            "there is no database file at D:\\RDB01\\DB01.edb and no restore_from",
        ),
        ({**RDB, "_plan": {"steps": []}}, "_plan are set by the action plugin, not by tasks"),
        ({**RDB, "state": "gone"}, "Invalid options for exchange_dr.recovery.exchange_recovery_database: value of state must be one of"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(ex01: Host, args: dict[str, Any], message: str) -> None:
    before = snapshot(ex01)
    result = run(ex01, **args)
    assert result.result.get("failed") is True and message in result.result["msg"], result.result["msg"]
    assert result.result.get("changed") is not True and snapshot(ex01) == before
    assert set(result.operations) <= {"read"}


def test_too_little_space_is_refused(tmp_path: Path) -> None:
    drives = {**DRIVES, "D": {"size_gb": 1, "free_gb": 0.001}}
    host = make_host(tmp_path, "EX01", seed=copy.deepcopy(SEED), domain=copy.deepcopy(DOMAIN), drives=drives)
    result = run(host, **RDB).result
    assert result["failed"] and "too little free space on D:\\ to restore the backup: 6.0 MB to copy" in result["msg"], result["msg"]


def test_a_second_mounted_recovery_database_is_refused(ex01: Host) -> None:
    assert not run(ex01, **RDB).result.get("failed")
    before = snapshot(ex01)
    second = run(ex01, **{**RDB, "name": "RDB02", "edb_file_path": "D:\\RDB02\\DB01.edb", "log_folder_path": "E:\\RDB02"}).result
    assert second["failed"] and "RDB01 is mounted on EX01, and a server mounts one recovery database at a time" in second["msg"]
    assert snapshot(ex01) == before
    present = run(ex01, state="present", **{**RDB, "name": "RDB02", "edb_file_path": "D:\\RDB02\\DB01.edb", "log_folder_path": "E:\\RDB02"}).result
    assert not present.get("failed") and present["database"]["mounted"] is False  # restored beside it, not mounted


# -- Exchange 2007: the recovery storage group ----------------------------------------------------------------------------------
SEED_2007: dict[str, Any] = {
    "exchange": True,
    "exchange_databases": {"MBX2007": {"mounted": True, "logs": {"first": 1, "last": 60}}, "PF2007": {"mounted": True}},
    "ese_files": {
        "C:\\Backups\\SG1\\Mailbox Database.edb": {"database": "MBX2007", "state": "dirty", "log_required": [50, 52], "mailboxes": BACKUP_MAILBOXES},
        "C:\\Backups\\SG1": {"logs": {"database": "MBX2007", "first": 48, "last": 55, "current": False}},
    },
}
RSG = {
    "name": "MBX2007",
    "database": "MBX2007",
    "edb_file_path": "E:\\RSG\\Mailbox Database.edb",
    "log_folder_path": "E:\\RSG",
    "restore_from": "C:\\Backups\\SG1",
}


@pytest.fixture
def ex2007(tmp_path: Path) -> Host:
    return make_host(tmp_path, "EX2007", os_version="6.3.9600", seed=copy.deepcopy(SEED_2007), domain=copy.deepcopy(DOMAIN), drives=DRIVES)


def test_2007_recovery_storage_group_create_restore_mount_remove(ex2007: Host) -> None:
    org = ex2007.estate.domain.exchange
    real = run(ex2007, **RSG)
    assert not real.result.get("failed"), real.result
    assert real.result["plan"][:3] == [
        "create the recovery storage group Recovery Storage Group on EX2007",
        "create the recovery database EX2007\\Recovery Storage Group\\MBX2007",
        "allow a restored file for EX2007\\Recovery Storage Group\\MBX2007",
    ]
    assert real.result["recovery"]["command_line"].endswith('/r E00 /lE:\\RSG /sE:\\RSG /dE:\\RSG /i')
    copy_db = org.database("EX2007\\Recovery Storage Group\\MBX2007")
    assert copy_db.recovery and copy_db.log_prefix == "R00" and store.is_mounted(ex2007, copy_db)
    assert store.is_mounted(ex2007, org.database("EX2007\\First Storage Group\\MBX2007"))  # the production database is untouched
    assert run(ex2007, **RSG).result["changed"] is False
    gone = run(ex2007, name="MBX2007", state="absent").result
    assert not gone.get("failed"), gone
    assert gone["plan"][-1] == "remove the recovery storage group EX2007\\Recovery Storage Group"
    assert org.database("EX2007\\Recovery Storage Group\\MBX2007") is None and "Recovery Storage Group" not in org.storage_groups
    assert ex2007.exists(gone["moved_aside"][0]["to"] + "\\Mailbox Database.edb")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({k: v for k, v in RSG.items() if k != "database"}, "Exchange Server 2007 SP3 (8.3.83.6) recovers into a recovery storage group database"),
        ({**RSG, "name": "Recovered"}, "the database of a recovery storage group takes the name of the database it recovers: set name to MBX2007"),
        ({**RSG, "database": "PF2007"}, "there is no mailbox database PF2007 in the organization"),
        ({**RSG, "storage_group": "First Storage Group"}, "First Storage Group is a storage group of EX2007 that is not a recovery storage group"),
    ],
)
def test_2007_bad_input_is_refused_and_changes_nothing(ex2007: Host, args: dict[str, Any], message: str) -> None:
    before = snapshot(ex2007)
    result = run(ex2007, **args).result
    assert result.get("failed") is True and message in result["msg"], result["msg"]
    assert snapshot(ex2007) == before


def test_the_shell_password_stays_out_of_every_result(ex01: Host) -> None:
    password = "S3cret-Shell-Passw0rd!"
    ex01.estate.domain.users["drrestore"] = DomainUser("drrestore", password, admin=True)
    args = {**RDB, "exchange_username": "CONTOSO\\drrestore", "exchange_password": password}
    for check_mode in (True, False):
        result = run(ex01, check_mode=check_mode, diff=True, **args)
        assert not result.result.get("failed"), result.result
        assert password not in json.dumps(result.result)
        assert all(password not in json.dumps(c["result"]) for c in result.calls)
    refused = run(ex01, **{**args, "database": "DB77"})
    assert refused.result["failed"] and password not in json.dumps(refused.result)
