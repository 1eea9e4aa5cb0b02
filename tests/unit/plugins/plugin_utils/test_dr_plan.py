"""The DR run's planner: phases per host from exchange_info results, refusals, and the rerun after an interruption."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.filter.dr_plan import FilterModule
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_plan import PHASES, plan_host

LOST: dict[str, Any] = {
    "computer_name": "EX01",
    "domain": {"joined": True, "name": "contoso.local"},
    "os": {"version": "10.0.17763", "build": 17763, "caption": "Microsoft Windows Server 2019 Datacenter", "server_core": False},
    "exchange": {"installed": False, "configured": False, "incomplete": False, "version": None, "roles": [], "setup_markers": []},
    "pending_reboot": {"component_based_servicing": False, "windows_update": False, "pending_file_rename": False, "computer_rename": False},
    "reboot_pending": False,
    "ad_server": {"exists": True, "name": "EX01", "role_mask": 38, "roles": ["Mailbox"], "version": "15.2.1544.4", "error": None},
    "scripting_agent": {"enabled": False, "config_present": False, "config_path": None},
    "media": {"path": r"\\FS01\Media\Exchange2019-CU14\Setup.exe", "exists": True, "version": "15.2.1544.4"},
    "prerequisites": {"dotnet_release": 0, "vcredist": [], "ucma_version": None, "url_rewrite_version": None},
}


def lost(**changes: Any) -> dict[str, Any]:
    info = copy.deepcopy(LOST)
    for path, value in changes.items():
        target = info
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return info


def recovered() -> dict[str, Any]:
    return lost(exchange={"installed": True, "configured": True, "incomplete": False, "version": "15.2.1544.4", "roles": ["Mailbox"], "setup_markers": []})


def test_lost_server_with_its_router_runs_every_phase_in_order() -> None:
    plan = plan_host("EX01", lost(), router={"installed": False}, databases=["DB02", "DB03"])
    # no DR kit given, not a DAG member, not an Edge
    assert plan["run"] == [p for p in PHASES if p != "reapply" and not p.startswith(("dag_", "edge_", "transport_"))]
    assert [s["phase"] for s in plan["steps"]] == ["prerequisites", "recover", "reboot", "verify", "databases", "email_router", "final_verify"]
    assert "dotnet" in plan["missing_prerequisites"]
    assert plan["lines"][1].startswith("2. recover: Setup /Mode:RecoverServer will rebuild EX01")
    assert plan["lines"][4].startswith("5. databases: bring back 2 database(s) - DB02, DB03: restore from the backup")
    assert plan["lines"][5].startswith("6. email_router: reinstall the Email Router")
    assert not plan["refused"]


def test_recovered_host_has_nothing_but_the_final_check() -> None:
    plan = plan_host("EX01", recovered(), router={"installed": True, "service_state": "running"})
    assert plan["run"] == ["preflight", "email_router", "final_verify"]
    assert plan["exchange_action"] == "none"
    assert "no reinstall" in plan["steps"][0]["what"]


def test_interrupted_after_setup_needs_only_the_reboot() -> None:
    info = recovered()
    info["pending_reboot"]["pending_file_rename"] = True
    plan = plan_host("EX01", info)
    assert plan["run"] == ["preflight", "reboot", "verify", "final_verify"]


def test_a_rerun_after_a_service_would_not_start_verifies_again() -> None:
    """A run that stopped at verify (MSExchangeTransport would not start) left Exchange configured with the service stopped:
    final_verify only reads, so the rerun needs verify (which starts it), or it could never complete."""
    info = recovered()
    info["services"] = [
        {"name": "MSExchangeIS", "start_mode": "auto", "state": "running"},
        {"name": "MSExchangeTransport", "start_mode": "auto", "state": "stopped"},
        {"name": "MSExchangeImap4", "start_mode": "manual", "state": "stopped"},
    ]
    plan = plan_host("EX01", info, router={"installed": True, "service_state": "running"})
    assert plan["run"] == ["preflight", "verify", "email_router", "final_verify"]
    assert plan["steps"][0]["what"] == "start the Automatic Exchange services that are stopped: MSExchangeTransport"
    info["services"][1]["state"] = "running"
    assert "verify" not in plan_host("EX01", info)["run"]


def test_interrupted_setup_resumes() -> None:
    info = lost(exchange={"installed": True, "configured": False, "incomplete": True, "version": "15.2.1544.4", "roles": ["Mailbox"], "setup_markers": []})
    plan = plan_host("EX01", info)
    assert plan["exchange_action"] == "resume"
    assert plan["phases"]["recover"] and plan["steps"][1]["what"].startswith("resume: ")


def test_pending_reboot_before_setup_is_planned_first() -> None:
    plan = plan_host("EX01", lost(pending_reboot__component_based_servicing=True))
    assert plan["exchange_action"] == "reboot"
    assert plan["steps"][0]["what"].startswith("A restart is pending on EX01")
    assert plan_host("EX01", lost(pending_reboot__component_based_servicing=True), reboot_first=False)["refused"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ad_server__exists": False}, "no Exchange server object named EX01"),
        ({"domain__joined": False}, "not joined to a domain"),
        ({"ad_server__roles": ["Edge"]}, "Edge Transport"),
        ({"scripting_agent__enabled": True}, "Scripting Agent"),
        ({"media__version": "15.2.1258.12"}, "older than"),
        ({"media__exists": False}, "No Exchange Setup found"),
    ],
)
def test_refusals_stop_the_host_before_anything_runs(changes: dict[str, Any], words: str) -> None:
    plan = plan_host("EX01", lost(**changes), router={"installed": False})
    assert plan["refused"]
    assert words in plan["refusal"]
    assert plan["run"] == []
    assert plan["lines"] == [f"REFUSED: {plan['refusal']}"]


@pytest.mark.parametrize("host", ["EX01", "ex01.contoso.local", "192.0.2.10", "[2001:db8::10]"])
def test_an_inventory_host_that_reaches_its_own_computer_is_planned(host: str) -> None:
    assert not plan_host(host, lost())["refused"]


def test_an_inventory_host_that_reaches_another_computer_is_refused() -> None:
    """A typo in ansible_host: the inventory's EX01 reaches FS01. Without the check the plan would be FS01's (and the router
    phase would install on it)."""
    plan = plan_host("EX01", lost(computer_name="FS01", ad_server__exists=False), router={"installed": False})
    assert plan["refused"] and plan["run"] == []
    assert plan["refusal"].startswith("The inventory host EX01 answers as the computer FS01: its address (ansible_host) reaches another computer")
    assert "Nothing was changed on FS01" in plan["refusal"]


def test_router_only_host() -> None:
    plan = plan_host("CRM01", None, recover=False, router={"installed": True, "service_state": "stopped"})
    assert plan["run"] == ["preflight", "email_router", "final_verify"]
    assert "put the Email Router configuration set back" in plan["steps"][0]["what"]


def test_filter() -> None:
    dr_plan = FilterModule().filters()["dr_plan"]
    assert dr_plan(lost())["host"] == "EX01"
    with pytest.raises(Exception, match="expected an exchange_info result"):
        dr_plan("not a dict")
    with pytest.raises(Exception, match="edge must be a dict or None, got str"):
        dr_plan(lost(), edge="EDGE01")


def test_a_dr_kit_adds_the_reapply_phase_after_the_reboot() -> None:
    plan = plan_host("EX01", lost(), router={"installed": False}, kit="/srv/kits/EX01")
    assert plan["run"] == [p for p in PHASES if p != "databases" and not p.startswith(("dag_", "edge_", "transport_"))]
    assert [s["phase"] for s in plan["steps"]].index("reapply") == 3
    assert plan["lines"][3].startswith("4. reapply: re-apply the DR kit /srv/kits/EX01")


def test_a_recovered_host_with_a_kit_still_reapplies_what_differs() -> None:
    plan = plan_host("EX01", recovered(), router=None, kit="/srv/kits")
    assert plan["run"] == ["preflight", "reapply", "final_verify"]


def test_no_reapply_for_a_refused_host_or_a_router_only_host() -> None:
    refused = lost(ad_server__exists=False)
    assert not plan_host("EX01", refused, kit="/srv/kits")["phases"]["reapply"]
    assert not plan_host("RTR01", None, recover=False, router={"installed": True}, kit="/srv/kits")["phases"]["reapply"]


# -- a lost DAG member ------------------------------------------------------------------------------------------------------
INVENTORY = ["EX01", "EX02", "FS01"]


def dag_member(**changes: Any) -> dict[str, Any]:
    info = lost(computer_name="EX02")
    info["ad_server"].update(name="EX02", dag="DAG1", dag_members=["EX01", "EX02"], **changes)
    return info


def test_a_lost_dag_member_gets_dag_remove_before_setup_and_dag_add_after_verify() -> None:
    plan = plan_host("EX02", dag_member(), dag_member={"inventory": INVENTORY, "recovering": ["EX02"]})
    assert plan["run"] == ["preflight", "prerequisites", "dag_remove", "recover", "reboot", "verify", "dag_add", "final_verify"]
    assert plan["dag"] == {"name": "DAG1", "source": "Active Directory", "via": "EX01", "members": ["EX01", "EX02"], "kit": None}
    steps = {s["phase"]: s["what"] for s in plan["steps"]}
    assert steps["dag_remove"].startswith("on EX01: record the settings of EX02's copies in DAG1")
    assert "wait until every copy is healthy" in steps["dag_add"]


def test_a_recovered_dag_member_only_checks_its_copies() -> None:
    info = recovered()
    info["computer_name"] = "EX02"
    info["ad_server"].update(name="EX02", dag="DAG1", dag_members=["EX01", "EX02"])
    plan = plan_host("EX02", info, dag_member={"inventory": INVENTORY, "recovering": ["EX02"]})
    assert plan["run"] == ["preflight", "dag_add", "final_verify"]


def test_a_rerun_after_the_removal_knows_the_dag_from_the_record(tmp_path: Any) -> None:
    from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_dag

    path = tmp_path / "dag-member-EX02.json"
    _exchange_dag.write_record(str(path), {"schema": _exchange_dag.RECORD_SCHEMA, "server": "EX02", "dag": "DAG1", "members": ["EX01", "EX02"], "copies": []})
    info = lost(computer_name="EX02")
    info["ad_server"].update(name="EX02")  # the membership is gone from AD
    plan = plan_host("EX02", info, dag_member={"inventory": INVENTORY, "recovering": ["EX02"], "record_path": str(path)})
    assert plan["dag"]["source"] == "the record of an earlier run" and plan["dag"]["via"] == "EX01"
    assert plan["phases"]["dag_remove"] and plan["phases"]["dag_add"]
    assert not plan_host("EX02", info, dag_member={"inventory": INVENTORY, "record_path": str(tmp_path / "none.json")})["dag"]


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        (
            {"inventory": ["EX02"], "recovering": ["EX02"]},
            "EX02 was a member of DAG1 (from Active Directory); its DAG steps run on a surviving member, and none is in the inventory",
        ),
        ({"inventory": INVENTORY, "dag": "DAG2"}, "Active Directory says DAG1; recover_dag_member_dag says DAG2"),
        ({"inventory": INVENTORY, "kit": {"server": {"name": "EX01"}, "dag": {"name": "DAG1"}}}, "EX02: the DR kit is of EX01, not of EX02"),
    ],
)
def test_a_dag_member_that_cannot_be_planned_is_refused(given: dict[str, Any], refusal: str) -> None:
    plan = plan_host("EX02", dag_member(), dag_member=given)
    assert plan["refused"] and refusal in plan["refusal"]


def test_a_lost_dag_member_with_a_kit_reapplies_it_before_verify_and_rejoins_the_dag_after() -> None:
    plan = plan_host("EX02", dag_member(), kit="/srv/kits", dag_member={"inventory": INVENTORY, "recovering": ["EX02"]})
    assert plan["run"] == ["preflight", "prerequisites", "dag_remove", "recover", "reboot", "reapply", "verify", "dag_add", "final_verify"]
    assert plan["run"] == [p for p in PHASES if p not in ("email_router", "databases") and not p.startswith(("edge_", "transport_"))]


# -- an Edge Transport server ------------------------------------------------------------------------------------------------------
EDGE_KIT = {"kit_dir": "/kit", "name": "EDGE01", "data": True, "definition": True, "subscription_server": "EX01"}


def edge_info(version: str = "15.0.1497.2", **changes: Any) -> dict[str, Any]:
    info = recovered()
    info["computer_name"] = "EDGE01"
    info["domain"] = {"joined": False, "name": None}
    info["exchange"] = {"installed": True, "configured": True, "incomplete": False, "version": version, "roles": ["EdgeTransportRole"]}
    info["services"] = [{"name": "MSExchangeTransport", "start_mode": "auto", "state": "running"}]
    for path, value in changes.items():
        target = info
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return info


def test_an_edge_gets_its_own_phases_with_the_cloned_configuration_on_2013() -> None:
    plan = plan_host("EDGE01", edge_info(), edge=EDGE_KIT)
    assert plan["exchange_action"] == "edge" and not plan["refused"]
    assert plan["run"] == ["preflight", "edge_config", "edge_subscription", "transport_queue", "final_verify"]
    assert plan["edge"] == {"method": "cloned", "file": "/kit/EDGE01.CloneConfigData.xml", "subscription_server": "EX01"}
    assert "ImportEdgeConfig.ps1" in plan["lines"][0] and "from EX01" in plan["lines"][1]


def test_a_2019_edge_is_rebuilt_from_the_declared_configuration() -> None:
    plan = plan_host("EDGE01", edge_info("15.2.1544.4"), edge=EDGE_KIT)
    assert plan["edge"]["method"] == "declared" and plan["edge"]["file"] == "/kit/EDGE01.edge-definition.yml"
    refused = plan_host("EDGE01", edge_info("15.2.1544.4"), edge={**EDGE_KIT, "method": "cloned"})
    assert refused["refused"] and "has no ImportEdgeConfig.ps1" in refused["refusal"]


def test_a_2013_edge_without_a_data_file_falls_back_to_its_definition() -> None:
    plan = plan_host("EDGE01", edge_info(), edge={**EDGE_KIT, "data": False})
    assert plan["edge"]["method"] == "declared"


@pytest.mark.parametrize(
    ("info", "edge", "expected"),
    [
        (edge_info(exchange__installed=False), EDGE_KIT, "has no Exchange installed: install the Edge Transport role"),
        (edge_info(exchange__roles=["MailboxRole"]), EDGE_KIT, "not the Edge Transport role"),
        (edge_info(exchange__incomplete=True), EDGE_KIT, "not completely installed"),
        (edge_info(), {**EDGE_KIT, "data": False, "definition": False}, "/kit/EDGE01.edge-definition.yml is missing"),
        (edge_info(), {**EDGE_KIT, "kit_dir": ""}, "set recover_edge_kit_dir"),
        (edge_info(), {**EDGE_KIT, "subscription_server": None}, "set recover_edge_subscription_server"),
        (edge_info(computer_name="EDGE02"), EDGE_KIT, "answers as the computer EDGE02"),
    ],
)
def test_an_edge_that_cannot_be_recovered_is_refused_with_what_to_do(info: dict[str, Any], edge: dict[str, Any], expected: str) -> None:
    plan = plan_host("EDGE01", info, edge=edge)
    assert plan["refused"] and expected in plan["refusal"] and plan["run"] == []


def test_an_edge_with_stopped_services_gets_verify_and_may_skip_the_subscription_and_the_queue() -> None:
    info = edge_info(services=[{"name": "MSExchangeTransport", "start_mode": "auto", "state": "stopped"}], domain__joined=True)
    plan = plan_host("EDGE01", info, edge={**EDGE_KIT, "subscribe": False, "check_queue": False})
    assert plan["run"] == ["preflight", "verify", "edge_config", "final_verify"]
    assert any("joined to a domain" in w for w in plan["warnings"])


def test_the_databases_phase_is_planned_only_for_a_host_with_databases_to_bring_back() -> None:
    assert not plan_host("EX01", lost())["phases"]["databases"]
    assert not plan_host("EX01", lost(), databases=[])["phases"]["databases"]
    # a recovered server: the role's module judges each database and changes nothing when it is back
    plan = plan_host("EX01", recovered(), databases=["DB02"])
    assert plan["run"] == ["preflight", "databases", "final_verify"]
    assert "DB02" in plan["lines"][0]
    # a router-only host and a refused host get no databases phase
    assert not plan_host("RT01", None, recover=False, router={"installed": True, "service_state": "running"}, databases=["DB02"])["phases"]["databases"]
    refused = plan_host("EX01", lost(ad_server__exists=False), databases=["DB02"])
    assert refused["refused"] and not refused["phases"]["databases"]


def test_the_filter_refuses_databases_that_are_not_a_list_of_names() -> None:
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="databases must be a list of database names"):
        FilterModule().filters()["dr_plan"](None, host="EX01", databases="DB02")


def test_databases_are_brought_back_after_the_server_is_back_in_its_dag() -> None:
    plan = plan_host("EX02", dag_member(), databases=["DB05"], dag_member={"inventory": INVENTORY, "recovering": ["EX02"]})
    assert plan["run"][plan["run"].index("dag_add") + 1] == "databases"
    assert [s["phase"] for s in plan["steps"]][-2:] == ["databases", "final_verify"]
