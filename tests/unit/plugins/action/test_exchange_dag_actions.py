"""The action plugins of exchange_dag_info, exchange_dag_member and exchange_database_copy with `_execute_module` replaced:
options validated before the host is touched, the wait on the controller, the record on the controller, the messages."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action import exchange_dag_info, exchange_dag_member, exchange_database_copy
from tests.unit.plugins.plugin_utils.dag_samples import LOST, healthy, removed

SHELL = {"exchange_username": "CONTOSO\\Administrator", "exchange_password": "Adm1n!"}


def make(cls: type, args: dict[str, Any], *, check_mode: bool = False) -> Any:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    play_context = MagicMock()
    play_context.check_mode = check_mode
    return cls(task, connection, play_context, MagicMock(), MagicMock(), None)


def run(
    monkeypatch: pytest.MonkeyPatch, cls: type, args: dict[str, Any], results: list[dict[str, Any]], *, check_mode: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []
    answers = iter(results)

    def fake_execute(self: Any, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        calls.append({"module_name": module_name, "module_args": copy.deepcopy(module_args)})
        return copy.deepcopy(next(answers))

    monkeypatch.setattr(cls, "_execute_module", fake_execute)
    monkeypatch.setattr(exchange_dag_info.time, "sleep", lambda _s: None)
    return make(cls, args, check_mode=check_mode).run(task_vars={"inventory_hostname": "EX02"}), calls


def seeding() -> dict[str, Any]:
    info = healthy()
    for db in info["databases"]:
        for c in db["copies"]:
            if c["server"] == "EX02":
                c.update(status="Seeding", content_index_state="Seeding", copy_queue_length=20)
    return info


EXPECTED = [
    {"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "0.02:00:00"},
    {"database": "DB02", "activation_preference": 1},
]


def test_a_read_judges_every_copy_of_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, exchange_dag_info.ActionModule, {"server": "EX02", **SHELL}, [LOST])
    assert len(calls) == 1 and calls[0]["module_args"]["server"] == "EX02"
    assert not result.get("failed")
    assert not result["judgement"]["all_healthy"] and result["judgement"]["unhealthy"] == ["DB01", "DB02"]
    assert result["waited"] == 0 and result["polls"] == 1 and result["record"] is None


def test_the_wait_reads_again_until_every_copy_is_healthy_with_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"server": "EX02", "wait_healthy": True, "wait_delay": 1, "expected_copies": EXPECTED, **SHELL}
    result, calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [seeding(), seeding(), healthy()])
    assert len(calls) == 3
    assert not result.get("failed"), result
    assert result["judgement"]["all_healthy"] and result["polls"] == 3
    assert result["msg"].startswith("every copy on EX02 is healthy: DB01\\EX02 Healthy (copy 0, replay 39")


def test_the_wait_gives_up_naming_each_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"server": "EX02", "wait_healthy": True, "wait_delay": 1, "wait_timeout": 0, "test_replication_health": True, **SHELL}
    stuck = seeding()
    stuck["replication_health"] = [{"check": "DBLogCopyKeepingUp", "result": "Failed", "error": "Log copying isn't keeping up"}]
    result, calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [stuck])
    assert result["failed"] and len(calls) == 1
    assert "gave up after" in result["msg"] and "DB01\\EX02 Seeding" in result["msg"] and "DBLogCopyKeepingUp: Log copying" in result["msg"]


@pytest.mark.parametrize(
    ("args", "answer", "message"),
    [
        ({"dag": "DAG9"}, {**LOST, "dag": None}, "there is no database availability group DAG9 in the organisation (its DAGs: DAG1)"),
        ({"server": "EX09"}, {**LOST, "server": {"name": "EX09", "exists": False, "member": False, "dag": None}}, "there is no Exchange server EX09"),
        ({"server": "EX02", "wait_healthy": True}, removed(), "EX02 is not a member of DAG1; there are no copies of it to wait for"),
    ],
)
def test_a_dag_or_server_that_does_not_exist_is_refused(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], answer: dict[str, Any], message: str) -> None:
    result, _calls = run(monkeypatch, exchange_dag_info.ActionModule, {**args, **SHELL}, [answer])
    assert result["failed"] and message in result["msg"]


def test_bad_expected_settings_are_refused_before_the_host_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"server": "EX02", "expected_copies": [{"database": "DB01", "truncation_lag_time": "20.00:00:00"}], **SHELL}
    result, calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [])
    assert result["failed"] and not calls
    assert "expected_copies[0].truncation_lag_time: 20.00:00:00 is above the maximum 14.00:00:00" in result["msg"]


def test_the_record_is_kept_on_the_controller_but_not_in_check_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "dr_state" / "dag-member-EX02.json"
    args = {"server": "EX02", "record_path": str(path), **SHELL}
    result, _calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [LOST], check_mode=True)
    assert result["record"]["dag"] == "DAG1" and not path.exists()
    result, _calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [LOST])
    assert json.loads(path.read_text())["copies"][0] == {
        "database": "DB01",
        "activation_preference": 2,
        "replay_lag_time": "1.00:00:00",
        "truncation_lag_time": "02:00:00",
    }
    result, _calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [removed()])
    assert result["record"]["copies"] == json.loads(path.read_text())["copies"]  # the removed copies stay recorded
    path.write_text("{not json")
    result, _calls = run(monkeypatch, exchange_dag_info.ActionModule, args, [LOST])
    assert result["failed"] and "not a readable DAG member record" in result["msg"]


@pytest.mark.parametrize(
    ("copies", "message"),
    [
        ([{"database": "DB01", "replay_lag_time": "14.00:00:01"}], "copies[0].replay_lag_time: 14.00:00:01 is above the maximum 14.00:00:00"),
        ([{"database": "DB01", "activation_preference": 0}], "copies[0].activation_preference: 0 is out of range"),
        ([{"database": "DB01"}, {"database": "DB01"}], "copies[1].database: DB01 is already copies[0]"),
        ([{"activation_preference": 1}], "copies"),
    ],
)
def test_copy_settings_out_of_range_never_reach_the_host(monkeypatch: pytest.MonkeyPatch, copies: list[dict[str, Any]], message: str) -> None:
    result, calls = run(monkeypatch, exchange_database_copy.ActionModule, {"server": "EX02", "copies": copies, **SHELL}, [])
    assert result["failed"] and not calls
    assert message in result["msg"]


def test_copy_settings_are_sent_as_exchange_spells_them_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {
        "changed": True,
        "server": "EX02",
        "commands": ["Add-MailboxDatabaseCopy ..."],
        "copies": [
            {
                "database": "DB01",
                "action": "add",
                "present_before": False,
                "activation_preference": 2,
                "replay_lag_time": "1.00:00:00",
                "truncation_lag_time": "02:00:00",
            },
            {
                "database": "DB02",
                "action": "none",
                "present_before": True,
                "activation_preference": 1,
                "replay_lag_time": "00:00:00",
                "truncation_lag_time": "00:00:00",
            },
        ],
    }
    result, calls = run(monkeypatch, exchange_database_copy.ActionModule, {"server": "EX02", "copies": EXPECTED, **SHELL}, [answer])
    assert calls[0]["module_args"]["copies"] == [
        {"database": "DB01", "activation_preference": 2, "replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"},
        {"database": "DB02", "activation_preference": 1},
    ]
    assert result["msg"] == "added DB01\\EX02 (preference 2, replay lag 1.00:00:00, truncation lag 02:00:00)"
    result, _calls = run(monkeypatch, exchange_database_copy.ActionModule, {"server": "EX02", "copies": EXPECTED, **SHELL}, [answer], check_mode=True)
    assert result["msg"].startswith("would add DB01\\EX02")


def test_membership_options_are_checked_and_the_commands_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, exchange_dag_member.ActionModule, {"dag": "DAG1", "server": "EX02", "configuration_only": True, **SHELL}, [])
    assert result["failed"] and not calls and "configuration_only applies to state=absent only" in result["msg"]
    result, calls = run(monkeypatch, exchange_dag_member.ActionModule, {"dag": "DAG1", **SHELL}, [])
    assert result["failed"] and not calls and "server" in result["msg"]
    answer = {
        "changed": True,
        "dag": "DAG1",
        "server": "EX02",
        "member": False,
        "commands": ["Remove-DatabaseAvailabilityGroupServer ...", "Remove-ClusterNode -Name 'EX02' -Force"],
    }
    args = {"dag": "DAG1", "server": "EX02", "state": "absent", "configuration_only": True, **SHELL}
    result, calls = run(monkeypatch, exchange_dag_member.ActionModule, args, [answer])
    assert calls[0]["module_args"]["evict_cluster_node"] is True
    assert result["msg"] == "ran: Remove-DatabaseAvailabilityGroupServer ...; Remove-ClusterNode -Name 'EX02' -Force"
