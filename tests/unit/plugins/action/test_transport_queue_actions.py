"""The transport_queue_info, transport_queue_drain and transport_queue_database action plugins with `_execute_module`
replaced: which modules they run with which arguments, what they refuse before touching the host, and what they add."""

from __future__ import annotations

import copy
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action import transport_queue_database, transport_queue_drain, transport_queue_info

PASSWORD = "Adm1n!"
INFO = {
    "changed": False,
    "server": "EX01",
    "exchange": {"version": "15.2.1544.4", "install_path": "C:\\Exchange", "roles": ["MailboxRole"], "edge": False,
                 "shell": "remote"},
    "config": {"path": "C:\\Exchange\\Bin\\EdgeTransport.exe.config", "exists": True, "queue_database_path": None,
               "queue_database_logging_path": None},
    "paths": {"database": "C:\\Exchange\\TransportRoles\\data\\Queue", "logging": "C:\\Exchange\\TransportRoles\\data\\Queue",
              "aside_root": "C:\\Q\\QueueAside"},
    "service": {"exists": True, "state": "running", "start_mode": "auto"},
    "files": {"database": [{"name": "Mail.que", "size": 1}, {"name": "Trn.chk", "size": 1}], "logging": []},
    "folders": [{"path": "C:\\Exchange\\TransportRoles\\data\\Queue", "exists": True, "access": [
        {"identity": i, "rights": "FullControl", "type": "Allow"}
        for i in ("NT AUTHORITY\\NETWORK SERVICE", "NT AUTHORITY\\SYSTEM", "BUILTIN\\Administrators")]}],
    "queues": [{"identity": "EX01\\Submission", "delivery_type": "Undefined", "message_count": 0},
               {"identity": "EX01\\3", "delivery_type": "DnsConnectorDelivery", "message_count": 5}],
    "queue_error": None,
    "eseutil": {"mh": None},
    "events": [],
    "aside": [],
    "replay": {"path": None, "exists": False, "files": [], "marker": None, "in_progress": False, "config_backup": False, "mh": None},
}  # fmt: skip


def make(cls: type, args: dict[str, Any], *, check_mode: bool = False) -> Any:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    return cls(task, connection, MagicMock(), MagicMock(), MagicMock(), None)


def run(
    monkeypatch: pytest.MonkeyPatch, module: Any, args: dict[str, Any], answers: dict[str, dict[str, Any]], *, check_mode: bool = False
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_execute(self: Any, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        calls.append((module_name, dict(module_args)))
        return copy.deepcopy(answers[module_name])

    monkeypatch.setattr(module.ActionModule, "_execute_module", fake_execute)
    result = make(module.ActionModule, args, check_mode=check_mode).run(task_vars={"inventory_hostname": "EX01"})
    return result, calls


def test_info_is_one_call_and_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(
        monkeypatch, transport_queue_info, {"exchange_username": "CONTOSO\\a", "exchange_password": PASSWORD}, {transport_queue_info.MODULE: INFO}
    )
    assert [c[0] for c in calls] == [transport_queue_info.MODULE]
    assert calls[0][1]["queues"] is True and calls[0][1]["eseutil"] == "stopped"
    assert result["summary"]["to_deliver"] == 5 and result["database"]["verdict"] == "healthy" and result["rights"]["ok"]
    assert result["exchange"]["release"]["product"] == "2019"


def test_info_refuses_bad_options_without_a_module_call(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, transport_queue_info, {"eseutil": "always"}, {})
    assert result["failed"] and "eseutil" in result["msg"] and calls == []


def test_drain_resolves_the_method_and_judges_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    drained = {"changed": True, "server": "EX01", "method": "component", "waited": 30, "timed_out": False,
               "queues": [{"identity": "EX01\\Poison", "delivery_type": "Undefined", "message_count": 2}]}  # fmt: skip
    answers = {transport_queue_drain.INFO: INFO, transport_queue_drain.MODULE: drained}
    result, calls = run(monkeypatch, transport_queue_drain, {"target": "ex02.contoso.com"}, answers)
    assert [c[0] for c in calls] == [transport_queue_drain.INFO, transport_queue_drain.MODULE]
    assert calls[0][1] == {"queues": False, "eseutil": "never"}
    assert calls[1][1]["method"] == "component" and calls[1][1]["target"] == "ex02.contoso.com"
    assert result["drained"] and result["kept"] == {"poison": 2, "shadow": 0, "unreachable": 0} and result["left"] == []


def test_drain_refuses_a_redirect_or_component_states_where_the_release_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    old = copy.deepcopy(INFO)
    old["exchange"]["version"] = "14.3.123.4"
    answers = {transport_queue_drain.INFO: old}
    result, calls = run(monkeypatch, transport_queue_drain, {"target": "ex02.contoso.com"}, answers)
    assert result["failed"] and "Redirect-Message does not exist on Exchange Server 2010" in result["msg"] and len(calls) == 1
    result, calls = run(monkeypatch, transport_queue_drain, {"method": "component"}, answers)
    assert result["failed"] and "no server component states" in result["msg"] and len(calls) == 1
    edge = copy.deepcopy(INFO)
    edge["exchange"]["edge"] = True
    result, _calls = run(monkeypatch, transport_queue_drain, {"target": "x"}, {transport_queue_drain.INFO: edge})
    assert "an Edge Transport server" in result["msg"]


def test_drain_warns_when_the_timeout_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    left = {"changed": True, "server": "EX01", "queues": INFO["queues"], "waited": 300, "timed_out": True}
    result, _calls = run(monkeypatch, transport_queue_drain, {}, {transport_queue_drain.INFO: INFO, transport_queue_drain.MODULE: left})
    assert not result.get("failed") and not result["drained"] and "5 message(s) still to deliver after 300s (EX01\\3 5)" in result["warnings"][0]


def test_database_refuses_before_anything_runs_and_plans_in_check_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {transport_queue_database.INFO: INFO}
    result, calls = run(monkeypatch, transport_queue_database, {"state": "fresh"}, answers)
    assert result["failed"] and "holds 5 message(s)" in result["msg"] and [c[0] for c in calls] == [transport_queue_database.INFO]
    result, calls = run(monkeypatch, transport_queue_database, {"state": "fresh", "replace_with_messages": True}, answers, check_mode=True)
    assert result["changed"] and result["plan"]["action"] == "fresh" and len(calls) == 1 and result["before"]["holds_messages"]


def test_database_runs_the_module_once_and_resolves_the_replay_method(monkeypatch: pytest.MonkeyPatch) -> None:
    info = copy.deepcopy(INFO)
    info["replay"] = {
        "path": "C:\\Aside\\1",
        "exists": True,
        "files": [{"name": "Mail.que"}, {"name": "Trn.log"}],
        "marker": None,
        "in_progress": False,
        "config_backup": False,
        "mh": None,
    }
    done = {"changed": True, "server": "EX01", "replay": {"source": "C:\\Aside\\1", "finished": True, "waited": 40, "timed_out": False, "queues": []}}
    answers = {transport_queue_database.INFO: info, transport_queue_database.MODULE: done}
    args = {"state": "replayed", "replay_from": "C:\\Aside\\1", "exchange_username": "CONTOSO\\a", "exchange_password": PASSWORD}
    result, calls = run(monkeypatch, transport_queue_database, args, answers)
    assert [c[0] for c in calls] == [transport_queue_database.INFO, transport_queue_database.MODULE]
    assert calls[0][1]["replay_from"] == "C:\\Aside\\1" and calls[0][1]["exchange_password"] == PASSWORD
    assert calls[1][1]["method"] == "component"
    assert result["plan"]["action"] == "replay" and result["changed"]


def test_database_needs_replay_from_for_a_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, transport_queue_database, {"state": "replayed"}, {})
    assert result["failed"] and "needs replay_from" in result["msg"] and calls == []
