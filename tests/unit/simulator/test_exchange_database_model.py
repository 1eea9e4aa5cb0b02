"""The simulator's Exchange database model: estate keys, ESE files, the eseutil program (read back with the controller's own
parsers), the Information Store, cmdlet parameter binding, the management shell and the exchange_database_info twin."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_database_info import enrich
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil as parse
from simulator.estate import EstateError, load_config
from simulator.exchange import cmdlets, ese, store
from simulator.exchange.shell import ExchangeShell, ShellError
from simulator.host import Host
from simulator.programs import join_command_line
from simulator.testing import make_host
from simulator.twins import run_module

ESEUTIL = r"C:\Program Files\Microsoft\Exchange Server\V15\Bin\eseutil.exe"
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 1, "free_gb": 0.5}, "E": {"size_gb": 1, "free_gb": 0.5}}
DOMAIN: dict[str, Any] = {
    "name": "contoso.local",
    "users": {"Administrator": {"password": "Adm1n!", "admin": True}, "viewer": {"password": "View3r!"}, "orgadmin": {"password": "0rgAdm!"}},
    "groups": {"Organization Management": ["orgadmin"]},
    "exchange": {
        "organization": "Contoso",
        "servers": {"EX01": {"version": "15.2.1544.4", "roles": ["Mailbox"]}, "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]}},
        "databases": {
            "DB01": {"server": "EX01", "edb_file_path": "D:\\DB01\\DB01.edb", "log_folder_path": "E:\\DB01", "copies": ["EX01", "EX02"]},
            "DB02": {"server": "EX01", "edb_file_path": "D:\\DB02\\DB02.edb", "log_folder_path": "E:\\DB02"},
            "DB03": {"server": "EX01", "edb_file_path": "D:\\DB03\\DB03.edb", "log_folder_path": "E:\\DB03", "allow_file_restore": False},
            "DB09": {"server": "EX02", "edb_file_path": "D:\\DB09\\DB09.edb", "log_folder_path": "E:\\DB09"},
        },
        "mailboxes": {"alice": {"display_name": "Alice", "database": "DB01"}},
    },
}
SEED: dict[str, Any] = {
    "exchange": True,
    "exchange_databases": {
        "DB01": {"mounted": True, "logs": {"first": 1, "last": 20}, "mailboxes": [{"display_name": "Alice", "items": 10, "size_mb": 2}]},
        "DB02": {"state": "dirty", "log_required": [140, 145], "logs": {"first": 130, "last": 147, "missing": [143]}},
        "DB03": {"state": "dirty", "log_required": [10, 12], "logs": {"first": 5, "last": 12}},
    },
    "ese_files": {"C:\\Backups\\DB02\\DB02.edb": {"database": "DB02", "state": "clean", "size_mb": 1}},
}


@pytest.fixture
def ex01(tmp_path: Path) -> Host:
    return make_host(tmp_path, "EX01", seed=copy.deepcopy(SEED), domain=copy.deepcopy(DOMAIN), drives=DRIVES)


def eseutil(host: Host, *args: str) -> tuple[int, str]:
    result = host.run(join_command_line([ESEUTIL, *args]), user="CONTOSO\\Administrator")
    return result.rc, result.stdout


def db(host: Host, name: str) -> Any:
    return host.estate.domain.exchange.database(name)


# -- estate keys -----------------------------------------------------------------------------------------------------------------
def estate(domain: dict[str, Any], seed: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": "t",
        "domain": domain,
        "hosts": {"EX01": {"accounts": {"Administrator": {"password": "x", "admin": True}}, "state": seed or {}}},
    }


def with_change(path: str, value: Any, *, delete: bool = False) -> dict[str, Any]:
    domain = copy.deepcopy(DOMAIN)
    node = domain
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    if delete:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return domain


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("exchange.databases.DB01.server", "EX99", "domain.exchange.databases.DB01.server: no Exchange server 'EX99'"),
        ("exchange.databases.DB01.kind", "archive", "domain.exchange.databases.DB01.kind: expected one of mailbox, public_folder"),
        ("exchange.databases.DB01.kind", "public_folder", "domain.exchange.databases.DB01.kind: Exchange 2013 and later have no public folder databases"),
        ("exchange.databases.DB01.edb_file_path", "D:\\DB01\\DB01.mdb", "domain.exchange.databases.DB01.edb_file_path: the file name must end in .edb"),
        ("exchange.databases.DB01.edb_file_path", "DB01.edb", "domain.exchange.databases.DB01.edb_file_path: expected a local path"),
        ("exchange.databases.DB01.log_prefix", "X00", "domain.exchange.databases.DB01.log_prefix: expected a log prefix such as E00"),
        (
            "exchange.databases.DB01.deleted_item_retention",
            "30000.00:00:00",
            "domain.exchange.databases.DB01.deleted_item_retention: '30000.00:00:00' is above",
        ),
        ("exchange.databases.DB01.mailbox_retention", "thirty days", "domain.exchange.databases.DB01.mailbox_retention: expected a time span"),
        ("exchange.databases.DB01.storage_group", "First Storage Group", "domain.exchange.databases.DB01.storage_group: storage groups are Exchange 2007 only"),
        ("exchange.databases.DB01.copies", ["EX01", "EX77"], "domain.exchange.databases.DB01.copies: expected a list of Exchange servers"),
        ("exchange.databases.DB01.colour", "blue", "domain.exchange.databases.DB01.colour: unknown key"),
        ("exchange.databases.DB02.edb_file_path", "D:\\DB01\\DB01.edb", "domain.exchange.databases.DB02.edb_file_path: D:\\DB01\\DB01.edb is also DB01's"),
        ("exchange.databases.DB02.log_folder_path", "E:\\DB01", "domain.exchange.databases.DB02.log_folder_path: E:\\DB01 is also DB01's log folder"),
        ("exchange.mailboxes.alice.database", "DB77", "domain.exchange.mailboxes.alice.database: no database 'DB77'"),
        (
            "exchange.storage_groups",
            {"SG1": {"server": "EX01", "log_folder_path": "E:\\SG1"}},
            "domain.exchange.storage_groups.SG1.server: storage groups are Exchange 2007 only",
        ),
    ],
)
def test_estate_database_keys_are_validated(path: str, value: Any, message: str) -> None:
    with pytest.raises(EstateError) as raised:
        load_config(estate(with_change(path, value)))
    assert str(raised.value).startswith(message), str(raised.value)


def test_required_database_keys() -> None:
    with pytest.raises(EstateError, match=r"^domain\.exchange\.databases\.DB01\.edb_file_path: required"):
        load_config(estate(with_change("exchange.databases.DB01.edb_file_path", None, delete=True)))
    with pytest.raises(EstateError, match=r"^domain\.exchange\.databases\.DB01\.log_folder_path: required"):
        load_config(estate(with_change("exchange.databases.DB01.log_folder_path", None, delete=True)))


def test_2007_databases_take_their_logs_from_the_storage_group() -> None:
    domain = copy.deepcopy(DOMAIN)
    domain["exchange"]["servers"]["EX2007"] = {"version": "8.3.83.6", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server"}
    domain["exchange"]["storage_groups"] = {
        "First Storage Group": {"server": "EX2007", "log_folder_path": "E:\\SG1", "log_prefix": "E00"},
        "Recovery Storage Group": {"server": "EX2007", "log_folder_path": "E:\\RSG", "log_prefix": "R00", "recovery": True},
    }
    domain["exchange"]["databases"]["MBX1"] = {"server": "EX2007", "edb_file_path": "D:\\SG1\\MBX1.edb", "storage_group": "First Storage Group"}
    domain["exchange"]["databases"]["PF1"] = {
        "server": "EX2007",
        "kind": "public_folder",
        "edb_file_path": "D:\\SG1\\PF1.edb",
        "storage_group": "First Storage Group",
    }
    config = load_config(estate(domain))
    mbx = config.domain.exchange.database("MBX1")
    assert (mbx.log_folder_path, mbx.log_prefix, mbx.system_folder_path, mbx.storage_group) == ("E:\\SG1", "E00", "E:\\SG1", "First Storage Group")
    assert config.domain.exchange.database("PF1").mailbox_retention is None
    bad = copy.deepcopy(domain)
    bad["exchange"]["databases"]["MBX1"]["log_folder_path"] = "E:\\X"
    with pytest.raises(EstateError, match=r"^domain\.exchange\.databases\.MBX1\.log_folder_path: on Exchange 2007 this belongs to the storage group"):
        load_config(estate(bad))
    bad = copy.deepcopy(domain)
    del bad["exchange"]["databases"]["MBX1"]["storage_group"]
    with pytest.raises(EstateError, match=r"^domain\.exchange\.databases\.MBX1\.storage_group: required"):
        load_config(estate(bad))
    bad = copy.deepcopy(domain)
    bad["exchange"]["storage_groups"]["Second"] = {"server": "EX2007", "log_folder_path": "E:\\SG2", "log_prefix": "E00"}
    with pytest.raises(EstateError, match=r"^domain\.exchange\.storage_groups\.Second\.log_prefix: E00 is already the prefix"):
        load_config(estate(bad))


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"exchange_databases": {"DB77": {}}}, "hosts.EX01.state.exchange_databases.DB77: no database 'DB77'"),
        ({"exchange_databases": {"DB09": {}}}, "hosts.EX01.state.exchange_databases.DB09: DB09 has no copy on EX01"),
        ({"exchange_databases": {"DB02": {"state": "broken"}}}, "hosts.EX01.state.exchange_databases.DB02.state: expected clean or dirty"),
        ({"exchange_databases": {"DB02": {"log_required": [3, 4]}}}, "hosts.EX01.state.exchange_databases.DB02.log_required: only a dirty database"),
        (
            {"exchange_databases": {"DB02": {"state": "dirty", "log_required": [9, 4]}}},
            "hosts.EX01.state.exchange_databases.DB02.log_required: expected [first, last]",
        ),
        (
            {"exchange_databases": {"DB02": {"logs": {"first": 5, "last": 9, "missing": [12]}}}},
            "hosts.EX01.state.exchange_databases.DB02.logs.missing: expected generations between 5 and 9",
        ),
        ({"exchange_databases": {"DB02": {"logs": {"last": 9, "colour": 1}}}}, "hosts.EX01.state.exchange_databases.DB02.logs.colour: unknown key"),
        (
            {"exchange_databases": {"DB02": {"mounted": True, "state": "dirty"}}},
            "hosts.EX01.state.exchange_databases.DB02.mounted: a mounted database's file state",
        ),
        ({"exchange_databases": {"DB02": {"mailboxes": [{"items": 3}]}}}, "hosts.EX01.state.exchange_databases.DB02.mailboxes[0].display_name: required"),
        (
            {"exchange_databases": {"DB02": {"mailboxes": [{"display_name": "x", "disconnect_reason": "Gone"}]}}},
            "hosts.EX01.state.exchange_databases.DB02.mailboxes[0].disconnect_reason",
        ),
        ({"ese_files": {"C:\\x.edb": {"state": "clean"}}}, "hosts.EX01.state.ese_files.C:\\x.edb.database: required"),
        ({"ese_files": {"C:\\logs": {"logs": {"first": 1, "last": 3}}}}, "hosts.EX01.state.ese_files.C:\\logs.logs.database: required"),
    ],
)
def test_host_seeds_are_validated(seed: dict[str, Any], message: str) -> None:
    with pytest.raises(EstateError) as raised:
        load_config(estate(copy.deepcopy(DOMAIN), seed))
    assert str(raised.value).startswith(message), str(raised.value)


# -- seeds and ESE files -------------------------------------------------------------------------------------------------------------
def test_seed_lays_down_databases_logs_and_store_state(ex01: Host) -> None:
    db01, db02 = db(ex01, "DB01"), db(ex01, "DB02")
    assert store.is_mounted(ex01, db01) and not store.is_mounted(ex01, db02)
    header = ese.read_database(ex01, db02.edb_file_path)
    assert header["state"] == ese.DIRTY and header["log_required"] == [140, 145] and header["guid"] == db02.guid
    stream = ese.stream(ex01, "E:\\DB02", "E00")
    assert [lf.generation for lf in stream][:3] == [130, 131, 132] and 143 not in [lf.generation for lf in stream]
    assert stream[-1].current and stream[-1].name == "E00.log" and stream[-1].generation == 147
    assert ex01.exists("E:\\DB02\\E00.chk") and ex01.stat(db02.edb_file_path).size == 1 << 20
    assert ese.read_database(ex01, "C:\\Backups\\DB02\\DB02.edb")["state"] == ese.CLEAN
    assert ex01.reg_key_exists(r"HKLM:\SOFTWARE\Microsoft\PowerShell\1\PowerShellSnapIns\Microsoft.Exchange.Management.PowerShell.SnapIn")


# -- eseutil, read back by the controller's parsers ---------------------------------------------------------------------------------
def test_eseutil_mh_and_ml_as_the_controller_reads_them(ex01: Host) -> None:
    rc, out = eseutil(ex01, "/mh", "D:\\DB02\\DB02.edb")
    header = parse.parse_mh(out, rc)
    assert rc == 0 and header.state == "Dirty Shutdown" and header.log_required == (140, 145) and header.outcome.succeeded
    assert out.startswith("\r\nExtensible Storage Engine Utilities for Microsoft(R) Exchange Server\r\nVersion 15.02\r\n")
    rc, out = eseutil(ex01, "/ml", "E:\\DB02\\E00")
    verification = parse.parse_ml(out, rc & 0xFFFFFFFF)
    assert rc == -528 and verification.missing == (143,) and verification.outcome.error_name == "JET_errMissingLogFile"
    rc, out = eseutil(ex01, "/ml", "E:\\DB02\\E00.log")
    assert rc == 0 and parse.parse_log_header(out).generation == 147


def test_eseutil_on_a_mounted_or_missing_database(ex01: Host) -> None:
    rc, out = eseutil(ex01, "/mh", "D:\\DB01\\DB01.edb")
    assert rc == -1032 and parse.parse_mh(out, rc).outcome.error_name == "JET_errFileAccessDenied"
    rc, out = eseutil(ex01, "/mh", "D:\\none.edb")
    assert rc == -1811 and "JET_errFileNotFound" in out


def test_eseutil_soft_recovery(ex01: Host) -> None:
    rc, out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB02", "/d", "D:\\DB02")
    assert rc == -543 and parse.parse_operation(out, rc).outcome.error_name == "JET_errRequiredLogFilesMissing"
    assert ese.read_database(ex01, "D:\\DB02\\DB02.edb")["state"] == ese.DIRTY  # nothing changed
    rc, out = eseutil(ex01, "/r", "E00", "/lE:\\DB03", "/sE:\\DB03", "/dD:\\DB03")
    run = parse.parse_operation(out, rc)
    assert rc == 0 and run.mode == "RECOVERY" and run.fields["Log files"] == "E:\\DB03" and run.outcome.succeeded
    header = ese.read_database(ex01, "D:\\DB03\\DB03.edb")
    assert header["state"] == ese.CLEAN and header["log_required"] == [0, 0] and header["last_consistent"] == 12


def test_eseutil_recovery_stops_at_a_gap_unless_a(ex01: Host) -> None:
    ex01.remove("E:\\DB03\\E000000000B.log")  # generation 11 of 10-12: required
    rc, _out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB03")
    assert rc == -543
    ese.write_log(ex01, "E:\\DB03", "E00", 11, store.stream_id(db(ex01, "DB03")), attached=["D:\\DB03\\DB03.edb"])
    ese.write_log(ex01, "E:\\DB03", "E00", 15, store.stream_id(db(ex01, "DB03")), attached=["D:\\DB03\\DB03.edb"])  # hole 13-14
    rc, _out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB03")
    assert rc == -528
    rc, _out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB03", "/a")
    assert rc == 0 and ese.read_database(ex01, "D:\\DB03\\DB03.edb")["last_consistent"] == 12


def test_eseutil_recovery_of_a_damaged_log_and_a_missing_database(ex01: Host) -> None:
    ese.write_log(ex01, "E:\\DB03", "E00", 11, store.stream_id(db(ex01, "DB03")), attached=["D:\\DB03\\DB03.edb"], damaged=True)
    rc, _out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB03")
    assert rc == -501
    ese.write_log(ex01, "E:\\DB03", "E00", 11, store.stream_id(db(ex01, "DB03")), attached=["D:\\DB03\\DB03.edb"])
    ex01.move("D:\\DB03\\DB03.edb", "D:\\DB03\\elsewhere.edb")
    rc, _out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB03")
    assert rc == -1216
    rc, _out = eseutil(ex01, "/r", "E00", "/l", "E:\\DB03", "/i")
    assert rc == 0


def test_eseutil_repair_is_opt_in_and_needs_space(ex01: Host) -> None:
    rc, out = eseutil(ex01, "/p", "D:\\DB02\\DB02.edb")
    assert rc == -1003 and "message box" in out
    assert ese.read_database(ex01, "D:\\DB02\\DB02.edb")["repair_count"] == 0
    rc, out = eseutil(ex01, "/p", "D:\\DB02\\DB02.edb", "/o")
    assert rc == 0 and parse.parse_operation(out).mode == "REPAIR"
    header = ese.read_database(ex01, "D:\\DB02\\DB02.edb")
    assert header["state"] == ese.CLEAN and header["repair_count"] == 1 and header["repaired_with_loss"] is True


def test_eseutil_repair_and_defragment_refuse_without_space(tmp_path: Path) -> None:
    drives = {**DRIVES, "D": {"size_gb": 1, "free_gb": 3_200_000 / (1 << 30)}}  # the three 1 MB databases leave ~50 KB
    seed = copy.deepcopy(SEED)
    seed["exchange_databases"]["DB02"]["size_mb"] = 1
    host = make_host(tmp_path, "EX01", seed=seed, domain=copy.deepcopy(DOMAIN), drives=drives)
    rc, out = eseutil(host, "/p", "D:\\DB02\\DB02.edb", "/o")
    assert rc == -1808 and "JET_errDiskFull" in out
    rc, out = eseutil(host, "/d", "D:\\DB02\\DB02.edb")
    assert rc == -550  # not clean first
    ese.write_database(host, "D:\\DB02\\DB02.edb", {**ese.read_database(host, "D:\\DB02\\DB02.edb"), "state": ese.CLEAN, "log_required": [0, 0]})
    rc, out = eseutil(host, "/d", "D:\\DB02\\DB02.edb")
    assert rc == -1808


# -- the Information Store ---------------------------------------------------------------------------------------------------------
def test_mount_replays_logs_and_locks_the_file(ex01: Host) -> None:
    db03 = db(ex01, "DB03")
    store.mount(ex01, db03)
    assert store.is_mounted(ex01, db03) and ese.locked(ex01, db03.edb_file_path)
    header = ese.read_database(ex01, db03.edb_file_path)
    assert header["state"] == ese.DIRTY and header["log_required"] == [13, 13]  # attached: a new current log
    assert ese.stream(ex01, "E:\\DB03", "E00")[-1].generation == 13 and ex01.exists("E:\\DB03\\E000000000C.log")
    store.dismount(ex01, db03)
    assert not store.is_mounted(ex01, db03) and ese.read_database(ex01, db03.edb_file_path)["state"] == ese.CLEAN


def test_mount_refusals(ex01: Host) -> None:
    with pytest.raises(store.StoreError, match=r"Unable to mount database\. \(hr=0x80004005, ec=-543\)"):
        store.mount(ex01, db(ex01, "DB02"))
    ex01.copy("D:\\DB02\\DB02.edb", "D:\\DB03\\DB03.edb")  # another database's file
    with pytest.raises(store.StoreError, match="doesn't match the database entry in Active Directory"):
        store.mount(ex01, db(ex01, "DB03"))
    ex01.remove("D:\\DB03\\DB03.edb")
    with pytest.raises(store.StoreError, match="-Force creates a new, empty database"):
        store.mount(ex01, db(ex01, "DB03"))
    store.mount(ex01, db(ex01, "DB03"), force=True)  # dial tone: a new empty database
    assert ese.read_database(ex01, "D:\\DB03\\DB03.edb")["mailboxes"] == []
    ex01.stop_service("MSExchangeIS", force=True)
    assert not store.is_mounted(ex01, db(ex01, "DB01"))
    with pytest.raises(store.StoreError, match="Information Store service isn't running"):
        store.mount(ex01, db(ex01, "DB02"))


# -- cmdlet binding ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cmdlet", "product", "args", "message"),
    [
        ("Get-MailboxDatabase", "2019", {"Colour": "x"}, "A parameter cannot be found that matches parameter name 'Colour'."),
        ("Get-MailboxDatabase", "2019", {"IncludePreExchange2010": True}, "A parameter cannot be found that matches parameter name 'IncludePreExchange2010'."),
        (
            "New-MailboxDatabase",
            "2010",
            {"Name": "X", "Server": "EX01", "SkipDatabaseLogFolderCreation": True},
            "A parameter cannot be found that matches parameter name 'SkipDatabaseLogFolderCreation'.",
        ),
        ("Get-MailboxDatabase", "2019", {"Server": "EX01", "Identity": "DB01"}, "Parameter set cannot be resolved using the specified named parameters."),
        ("Mount-Database", "2019", {"Force": True}, "Cannot process command because of one or more missing mandatory parameters: Identity."),
        ("Get-MailboxDatabase", "2019", {"Status": "yes"}, "Cannot process argument transformation on parameter 'Status'."),
        (
            "Set-MailboxDatabase",
            "2016",
            {"Identity": "DB01", "DeletedItemRetention": "99999.00:00:00"},
            "Cannot process argument transformation on parameter 'DeletedItemRetention'.",
        ),
        ("New-MailboxDatabase", "2019", {"Name": "RDB", "Server": "EX01", "EdbFilePath": "D:\\RDB\\RDB.mdb"}, "the file name must end in .edb"),
        ("Get-StorageGroup", "2019", {"Server": "EX01"}, "The term 'Get-StorageGroup' is not recognized"),
        ("Get-MailboxDatabase", "2019", {"StorageGroup": "SG1"}, "A parameter cannot be found that matches parameter name 'StorageGroup'."),
    ],
)
def test_binding_follows_the_documented_parameters(cmdlet: str, product: str, args: dict[str, Any], message: str) -> None:
    with pytest.raises(cmdlets.CmdletError) as raised:
        cmdlets.bind(cmdlet, product, args)
    assert message in str(raised.value)


def test_binding_resolves_parameter_sets() -> None:
    assert cmdlets.bind("Get-MailboxDatabase", "2019", {"Server": "EX01", "Status": True, "ErrorAction": "Stop"}) == (
        "Server",
        {"Server": "EX01", "Status": True},
    )
    assert cmdlets.bind("Get-MailboxDatabase", "2019", {})[0] == "Identity"
    assert cmdlets.bind("New-MailboxDatabase", "2019", {"Server": "EX01", "Recovery": True, "Name": "RDB"})[0] == "Recovery"
    assert cmdlets.bind("New-MailboxDatabase", "2019", {"Server": "EX01", "Name": "DB5"})[0] == "NonRecovery"
    assert cmdlets.bind("Get-MailboxDatabase", "2007", {"StorageGroup": "EX2007\\SG1"})[0] == "StorageGroup"
    assert cmdlets.bind("New-MailboxDatabase", "2007", {"MailboxDatabaseToRecover": "MBX1", "StorageGroup": "RSG"})[0] == "Recovery"
    assert cmdlets.bind("New-MailboxRestoreRequest", "2010", {"SourceDatabase": "RDB", "SourceStoreMailbox": "Alice", "TargetMailbox": "alice"})[0] == "Default"


# -- the shell ---------------------------------------------------------------------------------------------------------------------
def test_remote_shell_second_hop_credentials_and_rbac(ex01: Host) -> None:
    with ex01.logon_session("CONTOSO\\Administrator", delegation=False):
        with pytest.raises(ShellError, match="A specified logon session does not exist"):
            ExchangeShell.open(ex01, version="15.2.1544.4", user="CONTOSO\\Administrator")
        with pytest.raises(ShellError, match="The user name or password is incorrect"):
            ExchangeShell.open(ex01, version="15.2.1544.4", username="CONTOSO\\Administrator", password="wrong")
        shell = ExchangeShell.open(ex01, version="15.2.1544.4", username="CONTOSO\\Administrator", password="Adm1n!")
        assert shell.identity == "CONTOSO\\Administrator"
        assert shell.method == "remote" and shell.connection_uri == "http://ex01.contoso.local/PowerShell/"
        with pytest.raises(ShellError, match="isn't assigned to any management roles"):
            ExchangeShell.open(ex01, version="15.2.1544.4", username="CONTOSO\\viewer", password="View3r!")
        assert ExchangeShell.open(ex01, version="15.2.1544.4", username="CONTOSO\\orgadmin", password="0rgAdm!").identity == "CONTOSO\\orgadmin"
    with ex01.logon_session("CONTOSO\\Administrator", delegation=True):
        assert ExchangeShell.open(ex01, version="15.2.1544.4", user="CONTOSO\\Administrator").method == "remote"


def test_snapin_shell_needs_registration_and_a_logon_that_reaches_ad(ex01: Host) -> None:
    with ex01.logon_session("CONTOSO\\Administrator", delegation=False):
        shell = ExchangeShell.open(ex01, version="15.2.1544.4", requested="snapin", user="CONTOSO\\Administrator")
        with pytest.raises(cmdlets.CmdletError, match="the second hop"):
            shell.invoke("Get-MailboxDatabase", Server="EX01")
    with ex01.logon_session("CONTOSO\\Administrator", delegation=True):
        shell = ExchangeShell.open(ex01, version="15.2.1544.4", requested="snapin", user="CONTOSO\\Administrator")
        assert [d["Name"] for d in shell.invoke("Get-MailboxDatabase", Server="EX01")] == ["DB01", "DB02", "DB03"]
        assert shell.calls == [("Get-MailboxDatabase", {"Server": "EX01"})]
    ex01.reg_delete_key(r"HKLM:\SOFTWARE\Microsoft\PowerShell\1\PowerShellSnapIns\Microsoft.Exchange.Management.PowerShell.SnapIn")
    with pytest.raises(ShellError, match="is not installed on this computer"):
        ExchangeShell.open(ex01, version="15.2.1544.4", requested="snapin")
    with pytest.raises(ShellError, match="Exchange 2007 cannot be reached with exchange_shell=remote"):
        ExchangeShell.open(ex01, version="8.3.83.6", requested="remote")
    ex01.stop_service("W3SVC", force=True)
    with pytest.raises(ShellError, match="W3SVC isn't running"):
        ExchangeShell.open(ex01, version="15.2.1544.4", user="CONTOSO\\Administrator")


def test_cmdlets_read_and_change_the_organisation(ex01: Host) -> None:
    shell = ExchangeShell.open(ex01, version="15.2.1544.4", user="CONTOSO\\Administrator")
    found = {d["Name"]: d for d in shell.invoke("Get-MailboxDatabase", Server="EX01", Status=True)}
    assert found["DB01"]["Mounted"] is True and found["DB02"]["Mounted"] is False and found["DB01"]["ReplicationType"] == "Remote"
    assert found["DB01"]["Servers"] == ["EX01", "EX02"] and found["DB02"]["LogFilePrefix"] == "E00" and found["DB02"]["DeletedItemRetention"] == "14.00:00:00"
    assert shell.invoke("Get-MailboxDatabase", Server="EX01")[0]["Mounted"] is None  # only with -Status
    assert shell.invoke("Get-MailboxDatabase", Identity="DB09")[0]["Server"] == "EX02"
    with pytest.raises(cmdlets.CmdletError, match=r"couldn't be found on 'contoso\.local'"):
        shell.invoke("Get-MailboxDatabase", Identity="DB77")
    stats = shell.invoke("Get-MailboxStatistics", Database="DB01")
    assert stats[0]["DisplayName"] == "Alice" and stats[0]["ItemCount"] == 10
    shell.invoke("Set-MailboxDatabase", Identity="DB03", AllowFileRestore=True, DeletedItemRetention="30.00:00:00")
    assert db(ex01, "DB03").allow_file_restore is True and db(ex01, "DB03").deleted_item_retention == "30.00:00:00"
    shell.invoke("Mount-Database", Identity="DB03")
    assert shell.invoke("Get-MailboxDatabase", Identity="DB03", Status=True)[0]["Mounted"] is True
    with pytest.raises(cmdlets.CmdletError, match="ec=-543"):
        shell.invoke("Mount-Database", Identity="DB02")
    # a documented parameter set without behaviour binds, then says it is not modelled
    with pytest.raises(cmdlets.NotModelled, match="Get-MailboxRepairRequest -Mailbox"):
        shell.invoke("Get-MailboxRepairRequest", Mailbox="alice")


# -- the module twin -------------------------------------------------------------------------------------------------------------
def run_twin(host: Host, user: str = "CONTOSO\\Administrator", **args: Any) -> tuple[int, dict[str, Any]]:
    complex_args = {"_ansible_check_mode": False, "_ansible_module_name": "exchange_dr.recovery.exchange_database_info", **args}
    rc, out = run_module("exchange_dr.recovery.exchange_database_info", complex_args, host, user)
    return rc, json.loads(out)


def test_twin_reads_every_database_and_the_controller_judges_them(ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    original = ExchangeShell.invoke
    monkeypatch.setattr(ExchangeShell, "invoke", lambda self, name, **kw: calls.append((name, kw)) or original(self, name, **kw))
    rc, result = run_twin(ex01, verify_logs=True)
    assert rc == 0, result
    assert calls == [("Get-MailboxDatabase", {"Server": "EX01", "Status": True})]  # one cmdlet on 2013+
    assert result["exchange"]["shell"] == "remote" and result["all_database_names"] == ["DB01", "DB02", "DB03"]
    by_name = {d["name"]: d for d in enrich(result)["databases"]}
    assert by_name["DB01"]["mounted"] is True and by_name["DB01"]["files"]["eseutil"] == {"mh": None, "current_log": None, "ml": None}
    assert by_name["DB01"]["files"]["log_files"] is None and by_name["DB01"]["files"]["log_count"] == 20
    assert by_name["DB02"]["recovery_verdict"]["verdict"] == "logs_missing" and by_name["DB02"]["recovery_verdict"]["missing"] == [143]
    assert by_name["DB02"]["log_verification"]["missing"] == [143]
    assert by_name["DB03"]["recovery_verdict"]["verdict"] == "recoverable" and by_name["DB03"]["logs"]["current_assumed"] is False
    assert by_name["DB02"]["files"]["edb_volume"] == {"name": "D:\\", "free_bytes": ex01.free_bytes("D"), "size_bytes": 1 << 30}


def test_twin_names_databases_of_other_servers(ex01: Host) -> None:
    rc, result = run_twin(ex01, databases=["DB02", "DB09", "DB77"])
    assert rc == 0 and [d["name"] for d in result["databases"]] == ["DB02"]
    assert result["not_found"] == [{"name": "DB09", "server": "EX02"}, {"name": "DB77", "server": None}]


def test_twin_failures_are_the_modules(ex01: Host, tmp_path: Path) -> None:
    with ex01.logon_session("CONTOSO\\Administrator", delegation=False):
        rc, result = run_twin(ex01)
    assert rc == 1 and result["msg"].startswith("Failed to open the Exchange Management Shell at http://ex01.contoso.local/PowerShell/: ")
    rc, result = run_twin(ex01, exchange_username="CONTOSO\\Administrator")
    assert rc == 1 and "parameters are required together: exchange_username, exchange_password" in result["msg"]
    bare = make_host(tmp_path / "bare", "EX01", domain=copy.deepcopy(DOMAIN))
    rc, result = run_twin(bare)
    assert rc == 1 and result["msg"] == "Failed to read the databases of EX01: Exchange Server is not installed on it"


def test_twin_on_2007_and_2010(tmp_path: Path) -> None:
    domain = copy.deepcopy(DOMAIN)
    domain["exchange"]["servers"] = {
        "EX2007": {"version": "8.3.83.6", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server"},
        "EX2010": {"version": "14.3.123.4", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V14"},
    }
    domain["exchange"]["storage_groups"] = {
        "First Storage Group": {"server": "EX2007", "log_folder_path": "E:\\SG1", "system_folder_path": "E:\\SG1\\sys"},
        "Recovery Storage Group": {"server": "EX2007", "log_folder_path": "E:\\RSG", "log_prefix": "R00", "recovery": True},
    }
    domain["exchange"]["databases"] = {
        "MBX1": {"server": "EX2007", "edb_file_path": "D:\\SG1\\MBX1.edb", "storage_group": "First Storage Group"},
        "PF1": {"server": "EX2007", "kind": "public_folder", "edb_file_path": "D:\\SG1\\PF1.edb", "storage_group": "First Storage Group"},
        "RMBX1": {"server": "EX2007", "edb_file_path": "D:\\RSG\\MBX1.edb", "storage_group": "Recovery Storage Group"},
        "DB10": {"server": "EX2010", "edb_file_path": "D:\\DB10\\DB10.edb", "log_folder_path": "E:\\DB10"},
        "PF10": {"server": "EX2010", "kind": "public_folder", "edb_file_path": "D:\\PF10\\PF10.edb", "log_folder_path": "E:\\PF10", "log_prefix": "E01"},
    }
    domain["exchange"]["mailboxes"] = {}
    seed07 = {
        "exchange": True,
        "exchange_databases": {"MBX1": {"mounted": True}, "PF1": {"mounted": True}, "RMBX1": {"state": "dirty", "logs": {"first": 1, "last": 4}}},
    }
    ex2007 = make_host(tmp_path / "a", "EX2007", os_version="6.3.9600", seed=seed07, domain=domain, drives=DRIVES)
    rc, result = run_twin(ex2007)
    assert rc == 0, result
    assert result["exchange"]["shell"] == "snapin" and result["exchange"]["snapin"] == "Microsoft.Exchange.Management.PowerShell.Admin"
    by_name = {d["name"]: d for d in enrich(result)["databases"]}
    assert set(by_name) == {"MBX1", "PF1", "RMBX1"} and by_name["PF1"]["kind"] == "public_folder"
    assert by_name["MBX1"]["storage_group"] == "First Storage Group" and by_name["MBX1"]["system_folder_path"] == "E:\\SG1\\sys"
    assert by_name["RMBX1"]["recovery"] is True and by_name["RMBX1"]["log_prefix"] == "R00"
    assert by_name["RMBX1"]["recovery_verdict"]["verdict"] == "recoverable" and by_name["RMBX1"]["header"]["page_size"] == 8192
    assert result["capabilities"]["recovery_storage_group"] and not result["capabilities"]["recovery_database"]
    rc, result = run_twin(ex2007, exchange_shell="remote")
    assert rc == 1 and "Exchange 2007 has no remote shell" in result["msg"]

    seed10 = {"exchange": True, "exchange_databases": {"DB10": {"mounted": True}, "PF10": {}}}
    ex2010 = make_host(tmp_path / "b", "EX2010", os_version="6.3.9600", seed=seed10, domain=copy.deepcopy(domain), drives=DRIVES)
    rc, result = run_twin(ex2010)
    assert rc == 0, result
    assert result["exchange"]["shell"] == "remote" and [d["name"] for d in result["databases"]] == ["DB10", "PF10"]
    assert enrich(result)["databases"][1]["recovery_verdict"]["verdict"] == "clean"


def test_twin_keeps_the_shell_password_out_of_its_result(ex01: Host) -> None:
    with ex01.logon_session("CONTOSO\\Administrator", delegation=False):
        rc, result = run_twin(ex01, exchange_username="CONTOSO\\Administrator", exchange_password="Adm1n!")
        assert rc == 0 and result["invocation"]["module_args"]["exchange_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert "Adm1n!" not in json.dumps(result)
        rc, result = run_twin(ex01, exchange_username="CONTOSO\\Administrator", exchange_password="Wr0ng-Adm1n!")
        assert rc == 1 and "The user name or password is incorrect" in result["msg"] and "Wr0ng-Adm1n!" not in json.dumps(result)
