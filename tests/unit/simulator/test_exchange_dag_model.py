"""The simulator's database availability groups: estate keys, the DAG cmdlets' binding and behaviour (membership, copies,
seeding, quorum, Test-ReplicationHealth), the failover cluster, the AD link exchange_info reads, and the twins of
exchange_dag_info, exchange_dag_member and exchange_database_copy - bad input, check mode, idempotence."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from simulator import profiles
from simulator.estate import EstateError, load_config
from simulator.exchange import cmdlets
from simulator.exchange import dag as dag_model
from simulator.exchange.shell import ExchangeShell
from simulator.host import Host
from simulator.testing import make_host
from tests.unit.simulator._twin_host import call

ADMIN = {"CONTOSO\\Administrator": {"password": "Adm1n!", "admin": True}}
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 10, "free_gb": 5}}
DOMAIN: dict[str, Any] = {
    "name": "contoso.local",
    "users": {"Administrator": {"password": "Adm1n!", "admin": True}},
    "exchange": {
        "organization": "Contoso",
        "servers": {
            "EX01": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX2016": {"version": "15.1.2507.6", "roles": ["Mailbox"]},
        },
        "dags": {"DAG1": {"servers": ["EX01", "EX02"], "witness_server": "FS01"}},
        "databases": {
            "DB01": {
                "server": "EX01",
                "edb_file_path": "D:\\DB01\\DB01.edb",
                "log_folder_path": "D:\\DB01\\Logs",
                "copies": ["EX01", "EX02"],
                "copy_settings": {"EX02": {"replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}},
            },
            "DB02": {"server": "EX01", "edb_file_path": "D:\\DB02\\DB02.edb", "log_folder_path": "D:\\DB02\\Logs", "copies": ["EX02", "EX01"]},
        },
    },
}
SEED = {"exchange": True, "exchange_databases": {"DB01": {"mounted": True, "logs": {"first": 1, "last": 20}, "size_mb": 40}, "DB02": {"mounted": True}}}
SHELL = {"exchange_shell": "snapin"}
COPIES = [
    {"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"},
    {"database": "DB02", "activation_preference": 1},
]


def estate(root: Path, time_scale: float) -> Host:
    """The surviving member EX01; EX02 is a bare host (lost), FS01 the witness."""
    return make_host(
        root, "EX01", seed=copy.deepcopy(SEED), domain=copy.deepcopy(DOMAIN), drives=DRIVES, time_scale=time_scale,
        other_hosts={"EX02": {"accounts": ADMIN, "drives": DRIVES}, "FS01": {"accounts": ADMIN}},
    )  # fmt: skip


@pytest.fixture
def ex01(tmp_path: Path) -> Host:
    return estate(tmp_path, 0.001)


@pytest.fixture
def ex01_real_time(tmp_path: Path) -> Host:
    """The same estate with simulated time at the wall clock's pace: a status window of seconds is not skipped by a warp."""
    return estate(tmp_path, 1.0)


def shell(host: Host) -> ExchangeShell:
    return ExchangeShell.open(host, version="15.2.1544.4", requested="snapin")


def domain_state(host: Host) -> str:
    org = host.estate.domain.exchange
    return json.dumps(
        {"dags": {k: asdict(v) for k, v in org.dags.items()}, "dbs": {k: (v.copies, v.copy_settings, v.replication) for k, v in org.databases.items()}},
        sort_keys=True,
    )


def recover(host: Host) -> Host:
    """EX02 rebuilt by Setup /Mode:RecoverServer (the profile of an installed server)."""
    ex02 = host.estate.host("EX02")
    profiles.exchange_server(ex02, True)
    return ex02


def remove_ex02(host: Host) -> None:
    sh = shell(host)
    sh.invoke("Remove-MailboxDatabaseCopy", Identity="DB01\\EX02")
    sh.invoke("Remove-MailboxDatabaseCopy", Identity="DB02\\EX02")
    sh.invoke("Remove-DatabaseAvailabilityGroupServer", Identity="DAG1", MailboxServer="EX02", ConfigurationOnly=True)
    dag_model.remove_cluster_node(host, "EX02")


# -- estate keys -----------------------------------------------------------------------------------------------------------
def with_dag(change: dict[str, Any], databases: dict[str, Any] | None = None) -> dict[str, Any]:
    domain = copy.deepcopy(DOMAIN)
    domain["exchange"]["dags"] = change
    if databases is not None:
        domain["exchange"]["databases"] = databases
    return {"name": "t", "domain": domain, "hosts": {"EX01": {"accounts": {"Administrator": {"password": "x", "admin": True}}}}}


@pytest.mark.parametrize(
    ("dags", "databases", "message"),
    [
        ({"DAG1": {"witness_server": "FS01"}}, None, "domain.exchange.dags.DAG1.servers: required"),
        ({"DAG1": {"servers": ["EX01", "EX09"], "witness_server": "FS01"}}, None, "domain.exchange.dags.DAG1.servers: expected a list of Exchange servers"),
        ({"DAG1": {"servers": ["EX01", "EX2016"], "witness_server": "FS01"}}, None, "the members must run one Exchange release"),
        (
            {"DAG1": {"servers": ["EX01"], "witness_server": "FS01"}, "DAG2": {"servers": ["EX01", "EX02"], "witness_server": "FS01"}},
            {},
            "domain.exchange.dags.DAG2.servers: EX01 is already a member of DAG1",
        ),
        ({"DAG1": {"servers": ["EX01"], "witness_server": "FS01", "quorum": 3}}, None, "domain.exchange.dags.DAG1.quorum: unknown key"),
        ({"DAG1": {"servers": ["EX01"], "witness_server": "FS01"}}, None, "domain.exchange.databases.DB01.copies: every copy must be on a member of one DAG"),
    ],
)
def test_bad_dag_keys_are_refused_naming_the_key(dags: dict[str, Any], databases: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(EstateError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_config(with_dag(dags, databases))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"EX02": {"replay_lag_time": "15.00:00:00"}}, "copy_settings.EX02: '15.00:00:00' is above the maximum 14.00:00:00"),
        ({"EX09": {"replay_lag_time": "1.00:00:00"}}, "copy_settings.EX09: EX09 holds no copy"),
        ({"EX02": {"lag": "1.00:00:00"}}, "copy_settings.EX02.lag: unknown key"),
    ],
)
def test_copy_settings_out_of_range_are_refused(settings: dict[str, Any], message: str) -> None:
    doc = with_dag(DOMAIN["exchange"]["dags"])
    doc["domain"]["exchange"]["databases"]["DB01"]["copy_settings"] = settings
    with pytest.raises(EstateError, match=message.replace(".", r"\.")):
        load_config(doc)


# -- cmdlets ---------------------------------------------------------------------------------------------------------------
def test_the_dag_and_the_copies_as_exchange_shows_them(ex01: Host) -> None:
    sh = shell(ex01)
    [dag] = sh.invoke("Get-DatabaseAvailabilityGroup", Identity="dag1", Status=True)
    assert dag["Servers"] == ["EX01", "EX02"] and dag["OperationalServers"] == ["EX01"] and dag["WitnessServer"] == "FS01"
    assert sh.invoke("Get-DatabaseAvailabilityGroup")[0]["OperationalServers"] is None  # blank without -Status
    [db01] = sh.invoke("Get-MailboxDatabase", Identity="DB01")
    assert db01["MasterServerOrAvailabilityGroup"] == "DAG1"
    assert db01["ActivationPreference"] == [{"Key": {"Name": "EX01"}, "Value": 1}, {"Key": {"Name": "EX02"}, "Value": 2}]
    assert db01["ReplayLagTimes"][1] == {"Key": {"Name": "EX02"}, "Value": "1.00:00:00"}
    status = {s["MailboxServer"]: s["Status"] for s in sh.invoke("Get-MailboxDatabaseCopyStatus", Identity="DB01")}
    assert status == {"EX01": "Mounted", "EX02": "ServiceDown"}
    assert ex01.estate.domain.exchange_server_attributes("EX02")["msExchMDBAvailabilityGroupLink"].startswith(
        "CN=DAG1,CN=Database Availability Groups,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Contoso,"
    )


@pytest.mark.parametrize(
    ("cmdlet", "args", "message"),
    [
        ("Add-MailboxDatabaseCopy", {"Identity": "DB01"}, "missing mandatory parameters: MailboxServer"),
        ("Add-MailboxDatabaseCopy", {"Identity": "DB01", "MailboxServer": "EX02", "ActivationPreference": -1}, "too large or too small for a UInt32"),
        ("Remove-DatabaseAvailabilityGroupServer", {"Identity": "DAG1", "MailboxServer": "EX02", "Force": True}, "parameter name 'Force'"),
        ("Get-DatabaseAvailabilityGroup", {"Identity": "DAG9"}, "object 'DAG9' couldn't be found"),
        ("Remove-MailboxDatabaseCopy", {"Identity": "DB01"}, "isn't a database copy identity"),
        ("Remove-MailboxDatabaseCopy", {"Identity": "DB01\\EX01"}, "is the active copy of DB01"),
        (
            "Remove-DatabaseAvailabilityGroupServer",
            {"Identity": "DAG1", "MailboxServer": "EX02", "ConfigurationOnly": True},
            "while it hosts replicated databases: DB01, DB02",
        ),
        ("Remove-DatabaseAvailabilityGroupServer", {"Identity": "DAG1", "MailboxServer": "EX2016"}, "isn't a member of the database availability group DAG1"),
        ("Add-DatabaseAvailabilityGroupServer", {"Identity": "DAG1", "MailboxServer": "EX2016"}, "runs another Exchange release"),
    ],
)
def test_what_exchange_refuses_changes_nothing(ex01: Host, cmdlet: str, args: dict[str, Any], message: str) -> None:
    before = domain_state(ex01)
    with pytest.raises(cmdlets.CmdletError, match=message.replace("(", r"\(")):
        shell(ex01).invoke(cmdlet, **args)
    assert domain_state(ex01) == before


def test_a_2010_dag_has_no_skip_dag_validation() -> None:
    with pytest.raises(cmdlets.CmdletError, match="parameter name 'SkipDagValidation'"):
        cmdlets.bind("Add-DatabaseAvailabilityGroupServer", "2010", {"Identity": "DAG1", "MailboxServer": "EX02", "SkipDagValidation": True})
    assert cmdlets.bind("Add-DatabaseAvailabilityGroupServer", "2016", {"Identity": "DAG1", "MailboxServer": "EX02", "SkipDagValidation": True})[1]


def test_a_gone_member_is_removed_configuration_only_and_its_node_stays_until_evicted(ex01: Host) -> None:
    sh = shell(ex01)
    sh.invoke("Remove-MailboxDatabaseCopy", Identity="DB01\\EX02")
    sh.invoke("Remove-MailboxDatabaseCopy", Identity="DB02\\EX02")
    with pytest.raises(cmdlets.CmdletError, match=r"EX02 can't be contacted\. Use -ConfigurationOnly"):
        sh.invoke("Remove-DatabaseAvailabilityGroupServer", Identity="DAG1", MailboxServer="EX02")
    sh.invoke("Remove-DatabaseAvailabilityGroupServer", Identity="DAG1", MailboxServer="EX02", ConfigurationOnly=True)
    dag = ex01.estate.domain.exchange.dags["DAG1"]
    assert dag.servers == ["EX01"] and dag.cluster_nodes == ["EX01", "EX02"]
    assert [n["State"] for n in dag_model.cluster_nodes(ex01)] == ["Up", "Down"]
    recover(ex01)
    with pytest.raises(cmdlets.CmdletError, match="still a node of the failover cluster of DAG1"):
        sh.invoke("Add-DatabaseAvailabilityGroupServer", Identity="DAG1", MailboxServer="EX02")
    dag_model.remove_cluster_node(ex01, "EX02")
    with pytest.raises(dag_model.ClusterError, match="not found in the cluster"):
        dag_model.remove_cluster_node(ex01, "EX02")
    assert "EX02" not in ex01.estate.domain.exchange_server_attributes("EX02").get("msExchMDBAvailabilityGroupLink", "")


def test_quorum_needs_the_witness_while_a_node_of_two_is_down(ex01: Host) -> None:
    sh = shell(ex01)
    dag = ex01.estate.domain.exchange.dags["DAG1"]
    assert dag_model.quorum(sh, dag) == (True, 2, 3)
    ex01.estate.host("FS01").power_off()
    assert dag_model.quorum(sh, dag) == (False, 1, 3)
    before = domain_state(ex01)
    with pytest.raises(cmdlets.CmdletError, match="doesn't have quorum \\(1 of 3 votes\\)"):
        sh.invoke("Remove-MailboxDatabaseCopy", Identity="DB01\\EX02")
    assert domain_state(ex01) == before


def test_an_added_copy_seeds_then_initializes_then_is_healthy(ex01_real_time: Host) -> None:
    ex01 = ex01_real_time
    remove_ex02(ex01)
    ex02 = recover(ex01)
    sh = shell(ex01)
    sh.invoke("Add-DatabaseAvailabilityGroupServer", Identity="DAG1", MailboxServer="EX02")
    assert ex02.feature("Failover-Clustering").installed
    with pytest.raises(cmdlets.CmdletError, match="ActivationPreference 3 is out of range"):
        sh.invoke("Add-MailboxDatabaseCopy", Identity="DB01", MailboxServer="EX02", ActivationPreference=3)
    with pytest.raises(cmdlets.CmdletError, match="ReplayLagTime is out of range"):
        sh.invoke("Add-MailboxDatabaseCopy", Identity="DB01", MailboxServer="EX02", ReplayLagTime="14.00:00:01")
    sh.invoke(
        "Add-MailboxDatabaseCopy", Identity="DB01", MailboxServer="EX02", ActivationPreference=2, ReplayLagTime="1.00:00:00", TruncationLagTime="02:00:00"
    )
    sh.invoke("Add-MailboxDatabaseCopy", Identity="DB02", MailboxServer="EX02", ActivationPreference=1, SeedingPostponed=True)
    db01, db02 = (ex01.estate.domain.exchange.database(n) for n in ("DB01", "DB02"))
    assert db01.copies == ["EX01", "EX02"] and db02.copies == ["EX02", "EX01"]
    assert ex02.exists(r"D:\DB01\DB01.edb") and not ex02.exists(r"D:\DB02\DB02.edb")

    def status(name: str) -> dict[str, Any]:
        return next(s for s in sh.invoke("Get-MailboxDatabaseCopyStatus", Server="EX02") if s["DatabaseName"] == name)

    assert (status("DB01")["Status"], status("DB01")["ContentIndexState"]) == ("Seeding", "Seeding")
    assert status("DB02")["Status"] == "Suspended" and "needs to be seeded" in status("DB02")["SuspendComment"]
    # simulated time runs at the wall clock's pace here: move the seeding's start back instead of waiting for it
    seeding = db01.replication["EX02"]
    seeding["seeding_started"] = ex01.clock.time() - seeding["seed_seconds"] - 2
    assert status("DB01")["Status"] == "Initializing"
    seeding["seeding_started"] = ex01.clock.time() - seeding["seed_seconds"] - dag_model.INITIALIZING_SECONDS - 1
    healthy = status("DB01")
    assert (healthy["Status"], healthy["CopyQueueLength"], healthy["ContentIndexState"]) == ("Healthy", 0, "Healthy")
    assert healthy["ReplayQueueLength"] > 0  # a lagged copy keeps its logs unreplayed
    rows = {r["Check"]: r for r in sh.invoke("Test-ReplicationHealth", Identity="EX02")}
    assert rows["DagMembersUp"]["Result"] == "Passed" and rows["QuorumGroup"]["Result"] == "Passed"
    assert rows["DBCopySuspended"]["Result"] == "Failed" and "DB02\\EX02" in rows["DBCopySuspended"]["Error"]
    sh.invoke("Set-MailboxDatabaseCopy", Identity="DB01\\EX02", ActivationPreference=1, ReplayLagTime="00:00:00")
    assert db01.copies == ["EX02", "EX01"] and db01.copy_settings["EX02"]["replay_lag_time"] == "00:00:00"


def test_copies_over_a_remote_session_carry_their_pairs_as_text(ex01: Host) -> None:
    remote = shell(ex01)
    remote.method = "remote"
    [db01] = remote.invoke("Get-MailboxDatabase", Identity="DB01")
    assert db01["ActivationPreference"] == ["[EX01, 1]", "[EX02, 2]"] and db01["ReplayLagTimes"][1] == "[EX02, 1.00:00:00]"
    from simulator.twins.exchange_dr._exchange_dag import copy_settings

    assert copy_settings(db01)["EX02"] == {"activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}


def test_a_preference_in_the_estate_orders_the_copies() -> None:
    doc = with_dag(DOMAIN["exchange"]["dags"])
    doc["domain"]["exchange"]["databases"]["DB01"]["copy_settings"]["EX02"]["activation_preference"] = 1
    db01 = load_config(doc).domain.exchange.databases["DB01"]
    assert db01.copies == ["EX02", "EX01"] and db01.copy_setting("EX02", "activation_preference") == 1
    assert db01.copy_settings["EX02"] == {"replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}


def test_replication_health_fails_while_a_member_is_down(ex01: Host) -> None:
    rows = {r["Check"]: r for r in shell(ex01).invoke("Test-ReplicationHealth", Identity="EX01")}
    assert rows["DagMembersUp"]["Result"] == "Failed" and "down: EX02" in rows["DagMembersUp"]["Error"]
    assert rows["DatabaseRedundancy"]["Result"] == "Failed" and rows["QuorumGroup"]["Result"] == "Passed"


# -- twins -------------------------------------------------------------------------------------------------------------------
def test_exchange_info_reads_the_dag_link_and_the_other_members(ex01: Host) -> None:
    rc, result = call(ex01.estate.host("EX02"), "exchange_dr.recovery.exchange_info")
    assert rc == 0, result
    assert result["ad_server"]["dag"] == "DAG1" and result["ad_server"]["dag_members"] == ["EX01", "EX02"]
    assert result["ad_server"]["dag_distinguished_name"].startswith("CN=DAG1,CN=Database Availability Groups,")


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        (
            "exchange_dag_member",
            {"dag": "NODAG", "server": "EX02", "state": "absent", "configuration_only": True},
            "no database availability group NODAG in the organisation (its DAGs: DAG1)",
        ),
        ("exchange_dag_member", {"dag": "DAG1", "server": "EX09", "state": "absent"}, "there is no Exchange server EX09"),
        (
            "exchange_dag_member",
            {"dag": "DAG1", "server": "EX02", "state": "absent", "configuration_only": True},
            "still holds copies of replicated databases (DB01, DB02)",
        ),
        ("exchange_dag_member", {"dag": "DAG1", "server": "EX01", "state": "absent", "configuration_only": True}, "a node does not evict itself"),
        (
            "exchange_database_copy",
            {"server": "EX02", "state": "absent", "copies": [{"database": "DB01"}, {"database": "DB09"}]},
            "there is no mailbox database DB09",
        ),
        ("exchange_database_copy", {"server": "EX01", "state": "absent", "copies": [{"database": "DB01"}]}, "DB01\\EX01 is the active copy of DB01"),
        ("exchange_database_copy", {"server": "EX2016", "copies": [{"database": "DB01"}]}, "EX2016 is not a member of DAG1 (the DAG of DB01)"),
    ],
)
def test_bad_input_fails_naming_what_and_changes_nothing(ex01: Host, module: str, args: dict[str, Any], message: str) -> None:
    before = domain_state(ex01)
    rc, result = call(ex01, f"exchange_dr.recovery.{module}", **args, **SHELL)
    assert rc == 1 and result["failed"] and message in result["msg"], result
    assert domain_state(ex01) == before


def test_an_up_node_is_not_evicted_as_a_server_that_is_gone(ex01: Host) -> None:
    recover(ex01)
    before = domain_state(ex01)
    rc, result = call(ex01, "exchange_dr.recovery.exchange_dag_member", dag="DAG1", server="EX02", state="absent", configuration_only=True, **SHELL)
    assert rc == 1 and "its cluster node is Up" in result["msg"]
    assert domain_state(ex01) == before


def test_the_three_modules_take_a_member_out_and_back_in_check_mode_first_then_idempotently(ex01: Host) -> None:
    def module(name: str, check: bool = False, **args: Any) -> dict[str, Any]:
        rc, result = call(ex01, f"exchange_dr.recovery.{name}", check=check, **args, **SHELL)
        assert rc == 0, result
        return result

    steps = [
        ("exchange_database_copy", {"server": "EX02", "state": "absent", "copies": [{"database": "DB01"}, {"database": "DB02"}]}),
        ("exchange_dag_member", {"dag": "DAG1", "server": "EX02", "state": "absent", "configuration_only": True}),
    ]
    for name, args in steps:
        before = domain_state(ex01)
        planned = module(name, check=True, **args)
        assert planned["changed"] and domain_state(ex01) == before
        done = module(name, **args)
        assert done["changed"] and done["commands"] == planned["commands"]
        assert not module(name, **args)["changed"]
    assert ex01.estate.domain.exchange.dags["DAG1"].cluster_nodes == ["EX01"]
    recover(ex01)
    for name, args in [("exchange_dag_member", {"dag": "DAG1", "server": "EX02"}), ("exchange_database_copy", {"server": "EX02", "copies": COPIES})]:
        assert module(name, **args)["changed"]
        assert not module(name, **args)["changed"]
    info = module("exchange_dag_info", server="EX02")
    copies = {d["name"]: next(c for c in d["copies"] if c["server"] == "EX02") for d in info["databases"]}
    assert (copies["DB01"]["activation_preference"], copies["DB01"]["replay_lag_time"], copies["DB01"]["truncation_lag_time"]) == (2, "1.00:00:00", "02:00:00")
    assert copies["DB02"]["activation_preference"] == 1
    assert info["cluster"] == {"available": True, "nodes": [{"name": "EX01", "state": "Up"}, {"name": "EX02", "state": "Up"}], "error": None}
    changed = module("exchange_database_copy", server="EX02", copies=[{"database": "DB01", "replay_lag_time": "2.00:00:00"}])
    assert changed["copies"][0]["action"] == "update" and changed["commands"] == ["Set-MailboxDatabaseCopy -Identity 'DB01\\EX02' -ReplayLagTime '2.00:00:00'"]
