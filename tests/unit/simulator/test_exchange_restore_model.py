"""The simulator's pieces for exchange_database: New-MailboxRepairRequest and Get-MailboxRepairRequest (parameters and values
from the cmdlet page, one database-level request per server, a mounted database), isinteg (its list, the selection and the
confirmation on its input, a dismounted database, the release), and the exchange_database twin's steps."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from simulator.exchange import cmdlets, ese, store
from simulator.exchange.shell import ExchangeShell
from simulator.host import Host
from simulator.programs import join_command_line
from simulator.testing import make_host
from simulator.twins import run_module

DOMAIN: dict[str, Any] = {
    "name": "contoso.local",
    "users": {"Administrator": {"password": "Adm1n!", "admin": True}},
    "exchange": {
        "organization": "Contoso",
        "servers": {
            "EX01": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX2007": {"version": "8.3.83.6", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server"},
            "EX2010": {"version": "14.3.123.4", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V14"},
        },
        "storage_groups": {"SG1": {"server": "EX2007", "log_folder_path": "E:\\SG1", "system_folder_path": "E:\\SG1"}},
        "databases": {
            "DB01": {"server": "EX01", "edb_file_path": "D:\\DB01\\DB01.edb", "log_folder_path": "E:\\DB01"},
            "DB02": {"server": "EX01", "edb_file_path": "D:\\DB02\\DB02.edb", "log_folder_path": "E:\\DB02"},
            "PF1": {"server": "EX2010", "kind": "public_folder", "edb_file_path": "D:\\PF1\\PF1.edb", "log_folder_path": "E:\\PF1"},
            "MBX1": {"server": "EX2007", "edb_file_path": "D:\\SG1\\MBX1.edb", "storage_group": "SG1"},
        },
    },
}
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 1, "free_gb": 0.5}, "E": {"size_gb": 1, "free_gb": 0.5}}
ISINTEG = "C:\\Program Files\\Microsoft\\Exchange Server\\Bin\\isinteg.exe"


@pytest.fixture
def ex01(tmp_path: Path) -> Host:
    seed = {"exchange": True, "exchange_databases": {"DB01": {"mounted": True}, "DB02": {"mounted": True}}}
    return make_host(tmp_path, "EX01", seed=seed, domain=copy.deepcopy(DOMAIN), drives=DRIVES)


@pytest.fixture
def ex2007(tmp_path: Path) -> Host:
    seed = {"exchange": True, "exchange_databases": {"MBX1": {"logs": {"first": 1, "last": 3}}}}
    return make_host(tmp_path, "EX2007", os_version="6.3.9600", seed=seed, domain=copy.deepcopy(DOMAIN), drives=DRIVES)


def shell(host: Host, version: str = "15.2.1544.4") -> ExchangeShell:
    return ExchangeShell.open(host, version=version, username="CONTOSO\\Administrator", password="Adm1n!")


# -- New-MailboxRepairRequest -----------------------------------------------------------------------------------------------------
def test_a_repair_request_runs_on_a_mounted_database_one_per_server(ex01: Host) -> None:
    sh = shell(ex01)
    made = sh.invoke("New-MailboxRepairRequest", Database="DB01", CorruptionType=["SearchFolder", "FolderView"])
    assert made[0]["Database"] == "DB01" and made[0]["RequestGuid"] in made[0]["Identity"]
    with pytest.raises(cmdlets.CmdletError, match="only one can run on a server at a time"):
        sh.invoke("New-MailboxRepairRequest", Database="DB02", CorruptionType=["SearchFolder"])
    listed = sh.invoke("Get-MailboxRepairRequest", Database="DB01")
    assert [(r["Database"], r["Status"]) for r in listed] == [("DB01", "InProgress")]
    ex01.clock.sleep(cmdlets.REPAIR_SECONDS + 1)
    assert sh.invoke("Get-MailboxRepairRequest", Database="DB01")[0]["Status"] == "Succeeded"
    assert sh.invoke("New-MailboxRepairRequest", Database="DB02", CorruptionType=["SearchFolder"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"Database": "DB01"}, "missing mandatory parameters: CorruptionType"),
        ({"Database": "DB01", "CorruptionType": ["Bogus"]}, "Unable to match the identifier name Bogus to a valid enumerator name"),
        ({"Database": "DB01", "CorruptionType": ["FolderACL", "SearchFolder"]}, "FolderACL can only be used by itself"),
        ({"Database": "DB01", "Mailbox": "alice", "CorruptionType": ["SearchFolder"]}, "Parameter set cannot be resolved"),
    ],
)
def test_repair_request_parameters_follow_the_page(ex01: Host, args: dict[str, Any], message: str) -> None:
    with pytest.raises(cmdlets.CmdletError, match=message):
        shell(ex01).invoke("New-MailboxRepairRequest", **args)


def test_repair_request_values_and_cmdlets_per_release(ex01: Host) -> None:
    with pytest.raises(cmdlets.CmdletError, match="MissingSpecialFolders"):
        cmdlets.run(_FakeShell("2010"), "New-MailboxRepairRequest", {"Database": "DB01", "CorruptionType": ["MissingSpecialFolders"]})
    with pytest.raises(cmdlets.CmdletError, match="is not recognized"):
        cmdlets.bind("Get-MailboxRepairRequest", "2010", {"Database": "DB01"})
    with pytest.raises(cmdlets.CmdletError, match="isn't mounted"):
        sh = shell(ex01)
        sh.invoke("Dismount-Database", Identity="DB01", Confirm=False)
        sh.invoke("New-MailboxRepairRequest", Database="DB01", CorruptionType=["SearchFolder"])


class _FakeShell:
    def __init__(self, product: str, version: str = "14.3.123.4") -> None:
        self.product, self.version = product, version


# -- isinteg --------------------------------------------------------------------------------------------------------------------
def isinteg(host: Host, *args: str, stdin: str = "") -> tuple[int, str]:
    result = host.run(join_command_line([ISINTEG, *args]), user="CONTOSO\\Administrator", stdin=stdin)
    return result.rc, result.stdout


def test_isinteg_lists_and_checks_a_dismounted_database(ex2007: Host) -> None:
    rc, out = isinteg(ex2007, "-s", "EX2007", "-test", "alltests")
    assert rc == 0 and "Storage Group Name: SG1" in out and "  1    Offline      MBX1" in out and "press Return to exit" in out
    assert ese.read_database(ex2007, "D:\\SG1\\MBX1.edb").get("isinteg_fixed") is None
    rc, out = isinteg(ex2007, "-s", "EX2007", "-fix", "-test", "alltests", stdin="1\r\ny\r\n")
    assert rc == 0 and "You have selected SG1 / MBX1." in out and "Test result: 0 error(s)" in out
    assert ese.read_database(ex2007, "D:\\SG1\\MBX1.edb")["isinteg_fixed"] is True


def test_isinteg_refuses_a_mounted_database_another_server_and_bad_input(ex2007: Host) -> None:
    db = ex2007.estate.domain.exchange.database("MBX1")
    store.mount(ex2007, db)
    rc, out = isinteg(ex2007, "-s", "EX2007", "-fix", "-test", "alltests", stdin="1\r\ny\r\n")
    assert rc == 1 and "  1    Online       MBX1" in out and "dismount it before it can be checked" in out
    assert isinteg(ex2007, "-s", "EX9", "-test", "alltests")[0] == 1
    assert isinteg(ex2007, "-test", "alltests")[0] == 1
    assert isinteg(ex2007, "-s", "EX2007", "-test", "alltests", stdin="7\r\n")[0] == 1
    ex2007.stop_service("MSExchangeIS", force=True)
    rc, out = isinteg(ex2007, "-s", "EX2007", "-test", "alltests")
    assert rc == 1 and "must be running" in out


def test_isinteg_is_laid_down_for_2007_and_2010_only(ex01: Host, ex2007: Host) -> None:
    assert ex2007.exists(ISINTEG)
    assert not ex01.exists("C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Bin\\isinteg.exe")


# -- the twin -------------------------------------------------------------------------------------------------------------------
def call(host: Host, **args: Any) -> tuple[int, dict[str, Any]]:
    complex_args = {"_ansible_check_mode": False, "exchange_username": "CONTOSO\\Administrator", "exchange_password": "Adm1n!", **args}
    rc, out = run_module("exchange_dr.recovery.exchange_database", complex_args, host, "CONTOSO\\Administrator")
    return rc, json.loads(out)


def test_the_twin_never_copies_or_moves_onto_a_file(ex01: Host) -> None:
    ex01.write_text("C:\\x.txt", "new")
    before = ex01.read_bytes("D:\\DB01\\DB01.edb")
    for kind in ("copy", "move"):
        steps = [{"kind": kind, "items": [{"src": "C:\\x.txt", "dst": "D:\\DB01\\DB01.edb"}]}]
        rc, result = call(ex01, name="DB01", _operation="apply", _database={"guid": "g", "kind": "mailbox"}, _steps=steps)
        assert rc == 1 and f"D:\\DB01\\DB01.edb exists and is not the {kind} of C:\\x.txt (another file); it is not replaced" in result["msg"]
        assert result["_applied"] == [{"kind": kind, "ok": False, "run": None, "output": None}]
    assert ex01.read_bytes("D:\\DB01\\DB01.edb") == before and ex01.exists("C:\\x.txt")


def test_the_twin_stops_at_the_first_failure_and_reads_the_database_back(ex01: Host) -> None:
    steps = [
        {"kind": "dismount", "cmdlet": "Dismount-Database"},
        {"kind": "eseutil", "arguments": ["/r", "E00", "/lE:\\Nowhere"]},
        {"kind": "mount", "cmdlet": "Mount-Database"},
    ]
    rc, result = call(ex01, name="DB01", _operation="apply", _database={"guid": "g", "kind": "mailbox", "edb_file_path": "D:\\DB01\\DB01.edb"}, _steps=steps)
    assert rc == 1 and result["msg"].startswith("Failed to eseutil DB01: eseutil exited with")
    assert [a["ok"] for a in result["_applied"]] == [True, False]
    assert result["_final"]["mounted"] is False and result["_final"]["edb"]["exists"] is True


def test_the_twin_writes_and_reads_the_record(ex01: Host) -> None:
    data = json.dumps({"last": "restore"})
    step = {"kind": "record", "key": "HKLM:\\SOFTWARE\\exchange_dr\\recovery\\Databases", "value": "g", "data": data}
    assert call(ex01, name="DB01", _operation="apply", _database={"guid": "g", "kind": "mailbox"}, _steps=[step])[0] == 0
    rc, result = call(ex01, name="DB01", _database={"guid": "g", "kind": "mailbox"})
    assert rc == 0 and result["_inspect"]["record"] == data and result["changed"] is False
