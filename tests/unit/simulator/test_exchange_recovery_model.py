"""The simulator's model of recovery databases and mailbox content restores: the cmdlets' documented parameters (bound per
release), creating and removing databases and storage groups, the store's rules for recovery databases, and restore
requests that progress over simulated time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from simulator.exchange import cmdlets, ese, mrs, store
from simulator.exchange.shell import ExchangeShell
from simulator.host import Host
from simulator.testing import make_host

DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 2, "free_gb": 1}, "E": {"size_gb": 2, "free_gb": 1}}


def domain(version: str) -> dict[str, Any]:
    legacy = version.startswith("8.")
    db01: dict[str, Any] = {"server": "EX01", "edb_file_path": "D:\\DB01\\DB01.edb"}
    db01.update({"storage_group": "First Storage Group"} if legacy else {"log_folder_path": "E:\\DB01"})
    spec: dict[str, Any] = {
        "name": "contoso.local",
        "users": {"Administrator": {"password": "Adm1n!", "admin": True}},
        "exchange": {
            "organization": "Contoso",
            "servers": {"EX01": {"version": version, "roles": ["Mailbox"]}},
            "databases": {"DB01": db01},
            "mailboxes": {"alice": {"display_name": "Alice Smith", "database": "DB01"}, "carol": {"display_name": "Carol King", "database": "DB01"}},
        },
    }
    if legacy:
        spec["exchange"]["servers"]["EX01"]["install_path"] = "C:\\Program Files\\Microsoft\\Exchange Server"
        spec["exchange"]["storage_groups"] = {"First Storage Group": {"server": "EX01", "log_folder_path": "E:\\SG1"}}
    return spec


BACKUP = [
    {"display_name": "Alice Smith", "alias": "alice", "items": 300, "size_mb": 60},
    {"display_name": "Twin", "guid": "00000000-0000-4000-8000-000000000001", "items": 1},
    {"display_name": "Twin", "guid": "00000000-0000-4000-8000-000000000002", "items": 2},
]


def ex01(tmp_path: Path, version: str = "15.2.1544.4") -> Host:
    seed = {
        "exchange": True,
        "exchange_databases": {"DB01": {"mounted": True, "mailboxes": [{"display_name": "Alice Smith", "alias": "alice", "items": 10}]}},
        "ese_files": {"C:\\Backups\\DB01.edb": {"database": "DB01", "state": "clean", "size_mb": 2, "mailboxes": copy.deepcopy(BACKUP)}},
    }
    os_version = "6.3.9600" if version.startswith(("8.", "14.")) else "10.0.17763"
    return make_host(tmp_path, "EX01", os_version=os_version, seed=seed, domain=domain(version), drives=DRIVES)


def shell_of(host: Host, version: str = "15.2.1544.4") -> ExchangeShell:
    return ExchangeShell.open(host, version=version, user="CONTOSO\\Administrator")


def recovery_database(host: Host, shell: ExchangeShell, name: str = "RDB01") -> Any:
    shell.invoke("New-MailboxDatabase", Recovery=True, Name=name, Server="EX01", EdbFilePath=f"D:\\{name}\\DB01.edb", LogFolderPath=f"E:\\{name}")
    host.mkdir(f"D:\\{name}")
    host.copy("C:\\Backups\\DB01.edb", f"D:\\{name}\\DB01.edb")
    return host.estate.domain.exchange.database(name)


@pytest.mark.parametrize(
    ("version", "args", "message"),
    [
        ("15.2.1544.4", {"Recovery": True, "Name": "RDB01"}, "missing mandatory parameters: Server"),
        (
            "14.3.123.4",
            {"Recovery": True, "Name": "RDB01", "Server": "EX01", "SkipDatabaseLogFolderCreation": True},
            "cannot be found that matches parameter name 'SkipDatabaseLogFolderCreation'",
        ),
        ("15.2.1544.4", {"Recovery": True, "Name": "DB01", "Server": "EX01"}, "A database named 'DB01' already exists"),
        ("15.2.1544.4", {"Recovery": True, "Name": "RDB01", "Server": "EX01", "EdbFilePath": "D:\\DB01\\DB01.edb"}, "already used by database DB01"),
        ("15.2.1544.4", {"Recovery": True, "Name": "RDB01", "Server": "EX01", "EdbFilePath": "D:\\RDB01\\RDB01.txt"}, "the file name must end in .edb"),
        ("8.3.83.6", {"Recovery": True, "Name": "RDB01", "StorageGroup": "First Storage Group"}, "cannot be found that matches parameter name 'Recovery'"),
        ("8.3.83.6", {"MailboxDatabaseToRecover": "DB01", "StorageGroup": "First Storage Group"}, "isn't a recovery storage group"),
    ],
)
def test_new_mailbox_database_binds_and_refuses_as_documented(tmp_path: Path, version: str, args: dict[str, Any], message: str) -> None:
    host = ex01(tmp_path, version)
    with pytest.raises(cmdlets.CmdletError, match=message.replace("(", r"\(").replace(")", r"\)").replace("\\", "\\\\").replace(".", r"\.")):
        shell_of(host, version).invoke("New-MailboxDatabase", **args)
    assert sorted(host.estate.domain.exchange.databases) == ["DB01"]


def test_a_recovery_database_is_created_mounts_a_foreign_file_and_only_one_mounts(tmp_path: Path) -> None:
    host = ex01(tmp_path)
    shell = shell_of(host)
    rdb = recovery_database(host, shell)
    assert rdb.recovery and not rdb.mount_at_startup and rdb.log_prefix == "E01" and host.is_dir("E:\\RDB01")
    shell.invoke("Mount-Database", Identity="RDB01")  # the file is DB01's: a recovery database mounts it without AllowFileRestore
    assert store.is_mounted(host, rdb)
    names = [m["DisplayName"] for m in shell.invoke("Get-MailboxStatistics", Database="RDB01")]
    assert names == ["Alice Smith", "Twin", "Twin"]
    rdb2 = recovery_database(host, shell, "RDB02")
    with pytest.raises(cmdlets.CmdletError, match="only one recovery database can be mounted on a server at a time, and RDB01 is mounted"):
        shell.invoke("Mount-Database", Identity="RDB02")
    with pytest.raises(cmdlets.CmdletError, match="RDB01 is mounted; dismount it before removing it"):
        shell.invoke("Remove-MailboxDatabase", Identity="RDB01", Confirm=False)
    shell.invoke("Dismount-Database", Identity="DB01", Confirm=False)
    with pytest.raises(cmdlets.CmdletError, match=r"contains one or more mailboxes \(alice, carol\)"):
        shell.invoke("Remove-MailboxDatabase", Identity="DB01", Confirm=False)
    shell.invoke("Dismount-Database", Identity="RDB01", Confirm=False)
    shell.invoke("Remove-MailboxDatabase", Identity="RDB01", Confirm=False)
    assert host.estate.domain.exchange.database("RDB01") is None and host.exists("D:\\RDB01\\DB01.edb")  # the file stays
    shell.invoke("Mount-Database", Identity="RDB02")
    assert store.is_mounted(host, rdb2)


def test_2007_recovery_storage_group_and_its_database(tmp_path: Path) -> None:
    host = ex01(tmp_path, "8.3.83.6")
    shell = shell_of(host, "8.3.83.6")
    groups = shell.invoke("New-StorageGroup", Server="EX01", Name="Recovery Storage Group", LogFolderPath="E:\\RSG", Recovery=True)
    assert groups[0]["LogFilePrefix"] == "R00" and groups[0]["Recovery"] is True and host.is_dir("E:\\RSG")
    with pytest.raises(cmdlets.CmdletError, match="already has a recovery storage group, Recovery Storage Group; a server has one"):
        shell.invoke("New-StorageGroup", Server="EX01", Name="RSG2", Recovery=True)
    created = shell.invoke("New-MailboxDatabase", MailboxDatabaseToRecover="DB01", StorageGroup="EX01\\Recovery Storage Group", EdbFilePath="E:\\RSG\\DB01.edb")
    assert created[0]["Name"] == "DB01" and created[0]["Identity"] == "EX01\\Recovery Storage Group\\DB01"
    with pytest.raises(cmdlets.CmdletError, match="'DB01' matches multiple entries"):
        shell.invoke("Get-MailboxDatabase", Identity="DB01")
    host.copy("C:\\Backups\\DB01.edb", "E:\\RSG\\DB01.edb")
    with pytest.raises(cmdlets.CmdletError, match="set AllowFileRestore to \\$true"):
        shell.invoke("Mount-Database", Identity="EX01\\Recovery Storage Group\\DB01")
    shell.invoke("Set-MailboxDatabase", Identity="EX01\\Recovery Storage Group\\DB01", AllowFileRestore=True)
    shell.invoke("Mount-Database", Identity="EX01\\Recovery Storage Group\\DB01")
    with pytest.raises(cmdlets.CmdletError, match=r"still contains databases \(DB01\)"):
        shell.invoke("Remove-StorageGroup", Identity="EX01\\Recovery Storage Group", Confirm=False)


def test_a_restore_request_progresses_over_simulated_time(tmp_path: Path) -> None:
    host = ex01(tmp_path)
    shell = shell_of(host)
    recovery_database(host, shell)
    shell.invoke("Mount-Database", Identity="RDB01")
    with pytest.raises(cmdlets.CmdletError, match="'Twin' matches multiple entries"):
        shell.invoke("New-MailboxRestoreRequest", SourceDatabase="RDB01", SourceStoreMailbox="Twin", TargetMailbox="alice")
    with pytest.raises(cmdlets.CmdletError, match="a limit of 51 or more needs -AcceptLargeDataLoss"):
        shell.invoke("New-MailboxRestoreRequest", SourceDatabase="RDB01", SourceStoreMailbox="Alice Smith", TargetMailbox="alice", BadItemLimit=60)
    with pytest.raises(cmdlets.CmdletError, match="use -AllowLegacyDNMismatch"):
        shell.invoke("New-MailboxRestoreRequest", SourceDatabase="RDB01", SourceStoreMailbox="Alice Smith", TargetMailbox="carol")
    assert shell.invoke("New-MailboxRestoreRequest", SourceDatabase="RDB01", SourceStoreMailbox="Alice Smith", TargetMailbox="alice", WhatIf=True) == []
    first = shell.invoke("New-MailboxRestoreRequest", SourceDatabase="RDB01", SourceStoreMailbox="Alice Smith", TargetMailbox="alice")
    second = shell.invoke(
        "New-MailboxRestoreRequest", SourceDatabase="RDB01", SourceStoreMailbox="Alice Smith", TargetMailbox="alice", TargetRootFolder="Again"
    )
    assert (first[0]["Identity"], second[0]["Identity"]) == ("alice\\MailboxRestore", "alice\\MailboxRestore1")

    def stats() -> dict[str, Any]:
        return shell.invoke("Get-MailboxRestoreRequestStatistics", Identity="alice\\MailboxRestore")[0]

    seen = [(stats()["Status"], stats()["PercentComplete"])]
    for _step in range(10):
        host.clock.sleep(mrs.QUEUED_SECONDS / 2 + 5)
        seen.append((stats()["Status"], stats()["PercentComplete"]))
    statuses = [s for s, _p in seen]
    assert statuses[0] == "Queued" and "InProgress" in statuses and statuses[-1] == "Completed"
    percents = [p for _s, p in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    final = stats()
    assert final["ItemsTransferred"] == 300 and final["BytesTransferred"] == "60.0 MB (62,914,560 bytes)" and final["CompletionTimestamp"]
    alice = next(m for m in ese.read_database(host, "D:\\DB01\\DB01.edb")["mailboxes"] if m.get("alias") == "alice")
    assert alice["items"] == 610 and {r["folder"] for r in alice["restored"]} == {"", "Again"}
    listed = shell.invoke("Get-MailboxRestoreRequest", TargetMailbox="alice", Name="MailboxRestore")
    assert [r["Status"] for r in listed] == ["Completed"]
    shell.invoke("Remove-MailboxRestoreRequest", Identity="alice\\MailboxRestore", Confirm=False)
    assert [r["Name"] for r in shell.invoke("Get-MailboxRestoreRequest")] == ["MailboxRestore1"]
    assert next(m for m in ese.read_database(host, "D:\\DB01\\DB01.edb")["mailboxes"] if m.get("alias") == "alice")["items"] == 610  # copied data stays


def test_restore_requests_need_2010_sp1_and_restore_mailbox_is_2007_and_2010(tmp_path: Path) -> None:
    host = ex01(tmp_path, "14.0.639.21")
    shell = shell_of(host, "14.0.639.21")
    with pytest.raises(cmdlets.CmdletError, match="The term 'New-MailboxRestoreRequest' is not recognized"):
        shell.invoke("New-MailboxRestoreRequest", SourceDatabase="DB01", SourceStoreMailbox="Alice Smith", TargetMailbox="alice")
    recovery_database(host, shell)
    shell.invoke("Mount-Database", Identity="RDB01")
    with pytest.raises(cmdlets.CmdletError, match="missing mandatory parameters: RecoveryMailbox TargetFolder"):
        shell.invoke("Restore-Mailbox", Identity="alice", RecoveryDatabase="RDB01")
    twin = "00000000-0000-4000-8000-000000000002"
    assert shell.invoke("Restore-Mailbox", Identity="carol", RecoveryDatabase="RDB01", RecoveryMailbox=twin, TargetFolder="Twin", ValidateOnly=True) == []
    assert shell.invoke("Get-MailboxStatistics", Identity="carol") == []  # ValidateOnly copied nothing (carol has no content yet)
    shell.invoke("Restore-Mailbox", Identity="carol", RecoveryDatabase="RDB01", RecoveryMailbox=twin, TargetFolder="Twin")
    shell.invoke("Restore-Mailbox", Identity="carol", RecoveryDatabase="RDB01", RecoveryMailbox=twin, TargetFolder="Twin")  # duplicates skipped
    assert shell.invoke("Get-MailboxStatistics", Identity="carol")[0]["ItemCount"] == 2
    with pytest.raises(cmdlets.CmdletError, match="The term 'Restore-Mailbox' is not recognized"):
        shell_of(ex01(tmp_path / "2019")).invoke("Restore-Mailbox", Identity="alice", RecoveryDatabase="RDB01")
