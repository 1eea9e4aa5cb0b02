"""The controller's DAG engine: copy settings and their ranges, where they come from, removing and adding a member, health."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_dag as dag
from tests.unit.plugins.plugin_utils.dag_samples import LOST, healthy, removed


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.00:00:00", "1.00:00:00"), ("02:00:00", "02:00:00"), ("0.02:00:00", "02:00:00"), ("14.00:00:00", "14.00:00:00"), ("00:00:00", "00:00:00")],
)
def test_lags_are_spelled_as_exchange_prints_them(value: str, expected: str) -> None:
    assert dag.normalize_lag(value, "x") == expected


@pytest.mark.parametrize(
    ("value", "words"), [("14.00:00:01", "above the maximum 14.00:00:00"), ("3 days", "time span"), ("1.25:00:00", "out of range"), (True, "time span")]
)
def test_a_lag_out_of_range_names_where(value: Any, words: str) -> None:
    with pytest.raises(dag.DagError, match=r"^copies\[0\]\.replay_lag_time: ") as caught:
        dag.validate_copies([{"database": "DB01", "replay_lag_time": value}])
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"database": "DB01", "activation_preference": 0}, r"copies\[0\]\.activation_preference: 0 is out of range"),
        ({"database": "DB01", "activation_preference": "first"}, r"expected a whole number"),
        ({"activation_preference": 1}, r"copies\[0\]\.database: required"),
        ({"database": "DB01", "lag": 1}, r"copies\[0\]\.lag: unknown key"),
    ],
)
def test_bad_copy_settings_are_refused_with_the_key(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(dag.DagError, match=message):
        dag.validate_copies([entry])


def test_a_database_named_twice_is_refused() -> None:
    with pytest.raises(dag.DagError, match=r"copies\[1\]\.database: db01 is already copies\[0\]"):
        dag.validate_copies([{"database": "DB01"}, {"database": "db01"}])


def test_the_record_keeps_the_copies_once_they_are_removed() -> None:
    first = dag.record_from_info(LOST, "EX02")
    assert first is not None and first["dag"] == "DAG1" and first["source"] == "live"
    assert first["copies"] == [
        {"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"},
        {"database": "DB02", "activation_preference": 1, "replay_lag_time": "00:00:00", "truncation_lag_time": "00:00:00"},
    ]
    again = dag.record_from_info(removed(), "EX02", first)
    assert again == first
    assert dag.record_from_info(removed(), "EX02") is None


def test_the_record_is_written_once_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dag-member-EX02.json"
    record = dag.record_from_info(LOST, "EX02")
    assert dag.write_record(str(path), record) is True
    assert dag.write_record(str(path), record) is False
    assert dag.read_record(str(path)) == record
    assert dag.read_record(str(tmp_path / "none.json")) is None
    (tmp_path / "other.json").write_text(json.dumps({"schema": "something/else"}))
    with pytest.raises(dag.DagError, match="not a DAG member record"):
        dag.read_record(str(tmp_path / "other.json"))


def kit_manifest(server: str = "EX02", **dag_keys: Any) -> dict[str, Any]:
    """A dr_kit/v1 manifest's parts this engine reads (docs/dr-kit.md), with its checksum."""
    section = {
        "member": True,
        "name": "DAG1",
        "servers": ["EX01", "EX02"],
        "witness_server": "FS01.contoso.local",
        "database_copies": [
            {"database": "DB01", "server": "EX01", "activation_preference": 1, "replay_lag_time": "00:00:00", "truncation_lag_time": "00:00:00"},
            {"database": "DB01", "server": "EX02", "activation_preference": 2, "replay_lag_time": "7.00:00:00", "truncation_lag_time": "00:00:00"},
        ],
        **dag_keys,
    }
    manifest = {"schema": "exchange_dr.recovery/dr_kit/v1", "version": "20261122T034828Z", "server": {"name": server}, "dag": section}
    manifest["checksum"] = {"algorithm": "sha256", "manifest": kit_checksum(manifest)}
    return manifest


def kit_checksum(manifest: dict[str, Any]) -> str:
    """As docs/dr-kit.md defines it: SHA-256 of the canonical manifest without its checksum."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def test_the_kit_gives_the_dag_and_the_servers_own_copies() -> None:
    settings = dag.settings_from_kit(kit_manifest(), "ex02.contoso.local")
    assert settings["dag"] == "DAG1" and settings["members"] == ["EX01", "EX02"]
    assert settings["copies"] == [{"database": "DB01", "activation_preference": 2, "replay_lag_time": "7.00:00:00", "truncation_lag_time": "00:00:00"}]
    assert dag.settings_from_kit(kit_manifest(member=False, name=None, servers=[]), "EX02") is None


def test_variables_win_over_the_kit_and_the_kit_over_the_record() -> None:
    record = dag.record_from_info(LOST, "EX02")
    chosen = dag.choose_settings("EX02", kit=kit_manifest(), record=record)
    assert chosen["source"] == "kit" and chosen["copies"][0]["replay_lag_time"] == "7.00:00:00"
    chosen = dag.choose_settings("EX02", dag="DAG1", copies=[{"database": "DB02", "activation_preference": 1}], kit=kit_manifest(), record=record)
    assert chosen["source"] == "variables" and [c["database"] for c in chosen["copies"]] == ["DB02"]
    assert dag.choose_settings("EX02", record=record)["source"] == "record"
    legacy = {"server": "EX02", "dag": {"Name": "DAG1", "copies": [{"DatabaseName": "DB01", "ActivationPreference": 2, "ReplayLagTime": "1.00:00:00"}]}}
    assert dag.choose_settings("EX02", kit=legacy)["copies"][0]["truncation_lag_time"] is None


def test_sources_that_disagree_on_the_dag_or_say_nothing_are_refused() -> None:
    record = dag.record_from_info(LOST, "EX02")
    with pytest.raises(dag.DagError, match="variables says DAG2; record says DAG1"):
        dag.choose_settings("EX02", dag="DAG2", record=record)
    with pytest.raises(dag.DagError, match="nothing says which DAG"):
        dag.choose_settings("EX02")
    with pytest.raises(dag.DagError, match="the DR kit is of EX01, not of EX02"):
        dag.choose_settings("EX02", kit=kit_manifest("EX01"))


def test_a_kit_is_found_in_its_folders_and_refused_when_changed(tmp_path: Path) -> None:
    server_dir = tmp_path / "EX02"
    for version, lag in (("20261121T034801Z", "1.00:00:00"), ("20261122T034828Z", "7.00:00:00")):
        manifest = kit_manifest()
        manifest["dag"]["database_copies"][1]["replay_lag_time"] = lag
        manifest["checksum"]["manifest"] = kit_checksum(manifest)
        (server_dir / version).mkdir(parents=True)
        (server_dir / version / "manifest.json").write_text(json.dumps(manifest))
    (server_dir / "index.json").write_text(json.dumps({"server": "EX02", "versions": [{"version": "20261121T034801Z"}, {"version": "20261122T034828Z"}]}))
    for given in (tmp_path, server_dir, server_dir / "20261122T034828Z", server_dir / "20261122T034828Z" / "manifest.json"):
        assert dag.choose_settings("EX02", kit=str(given))["copies"][0]["replay_lag_time"] == "7.00:00:00", given
    assert dag.load_kit(str(tmp_path), "EX03") is None  # no kit of EX03 under the root
    changed = json.loads((server_dir / "20261122T034828Z" / "manifest.json").read_text())
    changed["dag"]["database_copies"][1]["replay_lag_time"] = "14.00:00:00"
    (server_dir / "20261122T034828Z" / "manifest.json").write_text(json.dumps(changed))
    with pytest.raises(dag.DagError, match="fails its checksum"):
        dag.load_kit(str(server_dir), "EX02")
    with pytest.raises(dag.DagError, match="the DR kit"):
        dag.load_kit(str(tmp_path / "missing.json"))


def test_removing_a_lost_member_plans_its_copies_membership_and_cluster_node() -> None:
    plan = dag.plan_remove(LOST, "EX02")
    assert plan == {
        "refusal": None,
        "copies": [{"database": "DB01"}, {"database": "DB02"}],
        "member": True,
        "dag": "DAG1",
        "cluster_node": True,
        "configuration_only": True,
    }
    assert dag.plan_remove(removed(), "EX02") == {
        "refusal": None,
        "copies": [],
        "member": False,
        "dag": None,
        "cluster_node": False,
        "configuration_only": True,
    }
    answering = copy.deepcopy(LOST)
    answering["cluster"]["nodes"][1]["state"] = "Up"
    assert dag.plan_remove(answering, "EX02")["configuration_only"] is False  # a server that answers is removed the ordinary way


def test_a_copy_that_is_still_active_on_the_lost_server_stops_the_removal() -> None:
    info = copy.deepcopy(LOST)
    info["databases"][1]["active_server"] = "EX02"
    refusal = dag.plan_remove(info, "EX02")["refusal"]
    assert "the active copy of DB02 is still on EX02" in refusal and "Move-ActiveMailboxDatabase" in refusal


def test_adding_back_plans_add_update_or_nothing_per_copy() -> None:
    wanted = dag.validate_copies(
        [{"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00"}, {"database": "DB02", "activation_preference": 1}]
    )
    plan = dag.plan_add(removed(), "EX02", "DAG1", wanted)
    assert [(c["database"], c["action"]) for c in plan["copies"]] == [("DB01", "add"), ("DB02", "add")]
    info = healthy()
    info["databases"][0]["copies"][1]["replay_lag_time"] = "00:00:00"
    plan = dag.plan_add(info, "EX02", "DAG1", wanted)
    assert [(c["database"], c["action"], c["differs"]) for c in plan["copies"]] == [("DB01", "update", ["replay_lag_time"]), ("DB02", "none", [])]
    other = copy.deepcopy(LOST)
    other["server"]["dag"] = "DAG2"
    assert dag.plan_add(other, "EX02", "DAG1", wanted)["refusal"] == "EX02 is a member of DAG2, not of DAG1"


def test_a_lagged_copy_is_healthy_with_its_replay_queue_and_a_plain_one_is_not() -> None:
    expected = dag.validate_copies([{"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}])
    verdict = dag.judge(healthy(replay_queue=39), "EX02", expected)
    assert verdict["all_healthy"], verdict
    assert verdict["lines"][0] == "DB01\\EX02 Healthy (copy 0, replay 39, index Healthy, preference 2, replay lag 1.00:00:00, truncation lag 02:00:00)"
    info = healthy()
    info["databases"][1]["copies"][0]["replay_queue_length"] = 50
    verdict = dag.judge(info, "EX02")
    assert not verdict["all_healthy"] and verdict["unhealthy"] == ["DB02"]
    assert "replay queue 50 (at most 10)" in verdict["message"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "Seeding"}, "status Seeding"),
        ({"status": "Initializing"}, "status Initializing"),
        ({"copy_queue_length": 200}, "copy queue 200"),
        ({"content_index_state": "Crawling"}, "content index Crawling"),
        ({"activation_preference": 1}, "activation_preference 1 (expected 2)"),
        ({"truncation_lag_time": "00:00:00"}, "truncation_lag_time 00:00:00 (expected 02:00:00)"),
    ],
)
def test_a_copy_is_not_healthy_until_every_part_is(change: dict[str, Any], reason: str) -> None:
    info = healthy()
    info["databases"][0]["copies"][1].update(change)
    expected = dag.validate_copies([{"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}])
    verdict = dag.judge(info, "EX02", expected)
    assert not verdict["all_healthy"]
    assert reason in verdict["message"]


def test_an_expected_copy_that_is_missing_is_not_healthy() -> None:
    verdict = dag.judge(removed(), "EX02", dag.validate_copies([{"database": "DB01"}]))
    assert not verdict["all_healthy"] and verdict["lines"] == ["DB01\\EX02 missing"]


def test_replication_health_passes_only_on_passed() -> None:
    rows = [
        {"check": "DagMembersUp", "result": "Passed"},
        {"check": "DatabaseRedundancy", "result": "*FAILED*", "error": "DB01 has one copy"},
        {"check": "X", "result": "Failed"},
    ]
    assert dag.replication_health_failures(rows) == ["DatabaseRedundancy: DB01 has one copy", "X: Failed"]


def test_the_dag_steps_run_on_a_surviving_member_in_the_inventory() -> None:
    inventory = ["ex01.contoso.local", "ex02.contoso.local", "fs01.contoso.local"]
    assert dag.choose_via("EX02", ["EX01", "EX02"], inventory, ["ex02.contoso.local"]) == "ex01.contoso.local"
    assert dag.choose_via("EX02", ["EX01", "EX02", "EX03"], [*inventory, "ex03"], ["ex01.contoso.local", "ex02.contoso.local"]) == "ex03"
    assert dag.choose_via("EX02", ["EX01", "EX02"], inventory, ["ex01.contoso.local", "ex02.contoso.local"]) == "ex01.contoso.local"
    assert dag.choose_via("EX02", ["EX02"], inventory, []) is None
    assert dag.choose_via("EX02", ["EX01"], inventory, [], given="FS01") == "fs01.contoso.local"


def test_the_role_plan_of_each_step() -> None:
    remove = dag.member_plan(LOST, "remove", "ex02.contoso.local")
    assert remove["refusal"] is None and remove["dag"] == "DAG1" and len(remove["copies"]) == 2
    info = removed()
    info["record"] = dag.record_from_info(LOST, "EX02")
    add = dag.member_plan(info, "add", "EX02")
    assert add["source"] == "record" and add["dag"] == "DAG1" and not add["member"]
    assert [(c["database"], c["action"], c["activation_preference"]) for c in add["copies"]] == [("DB01", "add", 2), ("DB02", "add", 1)]
    live = dag.member_plan(healthy(), "add", "EX02")
    assert live["source"] == "live" and all(c["action"] == "none" for c in live["copies"])
    assert dag.member_plan(removed(), "add", "EX02")["refusal"].startswith("EX02: nothing says which DAG")
    bad = dag.member_plan(info, "add", "EX02", copies=[{"database": "DB01", "replay_lag_time": "15.00:00:00"}])
    assert "recover_dag_member_copies[0].replay_lag_time: 15.00:00:00 is above the maximum" in bad["refusal"]
