"""The exchange_database_info action plugin with `_execute_module` replaced by recorded module results
(fixtures/exchange_database_info, recorded from the simulator's twin of the module on the estate of
tests/unit/simulator/test_exchange_database_model.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_database_info import ActionModule

FIXTURES = Path(__file__).parent / "fixtures" / "exchange_database_info"
PASSWORD = "Adm1n!"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def make_action(args: dict[str, Any], *, check_mode: bool = False) -> ActionModule:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "exchange_dr.recovery.exchange_database_info"
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    return ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), None)


def run(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], fixture: str | None, *, check_mode: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def fake_execute(self: ActionModule, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        calls.append({"module_name": module_name, "module_args": module_args})
        return recorded(fixture) if fixture else {"failed": True, "msg": "should not be called"}

    monkeypatch.setattr(ActionModule, "_execute_module", fake_execute)
    result = make_action(args, check_mode=check_mode).run(task_vars={"inventory_hostname": "EX01"})
    return result, calls


def test_one_call_and_every_database_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"verify_logs": True, "exchange_username": "CONTOSO\\Administrator", "exchange_password": PASSWORD}
    result, calls = run(monkeypatch, args, "ex2019_mixed")
    assert len(calls) == 1 and calls[0]["module_name"] == "exchange_dr.recovery.exchange_database_info"
    sent = calls[0]["module_args"]
    assert sent["verify_logs"] is True and sent["exchange_password"] == PASSWORD and sent["eseutil"] == "dismounted"
    assert "databases" not in sent and "domain_controller" not in sent  # None options are not sent
    assert not result.get("failed")
    assert result["exchange"]["release"]["name"] == "Exchange Server 2019 CU14"
    assert result["capabilities"]["recovery_database"] and not result["capabilities"]["recovery_storage_group"]
    by_name = {d["name"]: d for d in result["databases"]}
    assert by_name["DB01"]["recovery_verdict"] is None and by_name["DB01"]["header"] is None  # mounted: files in use
    db02 = by_name["DB02"]["recovery_verdict"]
    assert db02["verdict"] == "logs_missing" and db02["missing"] == [143] and db02["missing_files"] == ["E000000008F.log"]
    assert by_name["DB03"]["recovery_verdict"]["verdict"] == "recoverable"
    size = by_name["DB02"]["files"]["edb"]["size"]
    assert by_name["DB02"]["space"]["repair"]["needed_bytes"] == int(size * 0.2 + 0.5) and by_name["DB02"]["space"]["defragment"]["needed_bytes"] == int(
        size * 1.1 + 0.5
    )
    assert result["summary"]["blocked"] == ["DB02"] and result["summary"]["recoverable"] == ["DB03"] and result["summary"]["mounted"] == ["DB01"]
    assert PASSWORD not in json.dumps(result)


def test_databases_of_other_servers_are_refused_naming_where_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, {"databases": ["DB02", "DB09", "DB77"]}, "ex2019_not_found")
    assert calls[0]["module_args"]["databases"] == ["DB02", "DB09", "DB77"]
    assert result["failed"] is True
    assert result["msg"] == (
        "exchange_dr.recovery.exchange_database_info: DB09 is a database of EX02, not of EX01; no database DB77 on EX01 (its databases: DB01, DB02, DB03)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"eseutil": "always"}, "eseutil"),
        ({"databases": "DB01", "verify_logs": "maybe"}, "verify_logs"),
        ({"server": "EX02"}, "server"),
        ({"exchange_shell": "ssh"}, "exchange_shell"),
    ],
)
def test_bad_options_are_refused_before_the_host_is_touched(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], message: str) -> None:
    result, calls = run(monkeypatch, args, None)
    assert calls == [] and result["failed"] is True
    assert result["msg"].startswith("Invalid options for exchange_dr.recovery.exchange_database_info: ") and message in result["msg"]


def test_a_module_failure_is_passed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {}, "ex2019_second_hop")
    assert result["failed"] is True and "A specified logon session does not exist" in result["msg"]
    assert "summary" not in result and "capabilities" not in result


def test_check_mode_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, {}, "ex2019_mixed", check_mode=True)
    assert len(calls) == 1 and not result.get("changed") and result["summary"]["total"] == 3
