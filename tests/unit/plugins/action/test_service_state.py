"""The service_state action plugin with `_execute_module` replaced by recorded module results (fixtures/service_state)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.service_state import ActionModule
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import candidate_services

FIXTURES = Path(__file__).parent / "fixtures" / "service_state"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def make_action(args: dict[str, Any], *, check_mode: bool = False, diff: bool = False) -> ActionModule:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = "exchange_dr.recovery.service_state"
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    return ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), None)


def run(
    monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], fixture: str | None, *, check_mode: bool = False, diff: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def fake_execute(self: ActionModule, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        calls.append({"module_name": module_name, "module_args": module_args})
        return recorded(fixture) if fixture else {"failed": True, "msg": "should not be called"}

    monkeypatch.setattr(ActionModule, "_execute_module", fake_execute)
    result = make_action(args, check_mode=check_mode, diff=diff).run(task_vars={"inventory_hostname": "EX01"})
    return result, calls


def test_healthy_host_one_call_with_every_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, {}, "healthy_2019_mailbox")
    assert len(calls) == 1 and calls[0]["module_name"] == "exchange_dr.recovery.service_state"
    sent = calls[0]["module_args"]
    assert sent["services"] == candidate_services() and sent["state"] == "query"
    assert "exchange_version" not in sent  # None options are not sent
    assert not result.get("failed") and result["healthy"] is True
    assert result["exchange_version"]["name"] == "Exchange Server 2019 CU14" and result["exchange_roles"] == ["Mailbox"]
    assert result["checked_at"].endswith("Z")


def test_known_version_and_roles_send_the_exact_table(monkeypatch: pytest.MonkeyPatch) -> None:
    _rc, calls = run(monkeypatch, {"exchange_version": "2019", "exchange_roles": ["Edge"], "email_router_service": ""}, "healthy_2019_mailbox")
    names = {s["name"] for s in calls[0]["module_args"]["services"]}
    assert "ADAM_MSExchange" in names and "MSExchangeIS" not in names and "MSCRMEmail" not in names


def test_unhealthy_host_fails_naming_services(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {}, "broken_2019_mailbox")
    assert result["failed"] is True
    assert result["msg"] == (
        "2 required service(s) not running on EX01: MSExchangeIS (start mode disabled, state stopped), MSExchangeTransport (start mode auto, state stopped)"
    )
    assert ("disabled_after_failed_setup", "MSExchangeIS") in {(x["code"], x.get("service")) for x in result["hints"]}


def test_fail_on_unhealthy_false_returns_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {"fail_on_unhealthy": False}, "broken_2019_mailbox")
    assert not result.get("failed") and result["healthy"] is False and result["not_running"] == ["MSExchangeIS", "MSExchangeTransport"]


def test_check_mode_reports_what_would_start(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, {"state": "started"}, "broken_2019_mailbox_check_started", check_mode=True)
    assert calls[0]["module_args"]["state"] == "started"
    assert result["changed"] is True and result["started"] == ["MSExchangeTransport"]
    transport = next(c for c in result["checks"] if c["name"] == "MSExchangeTransport")
    assert transport["result"] == "would_start" and transport["state"] == "stopped"
    assert result["not_running"] == ["MSExchangeIS"]  # Disabled: would not start, still fails


def test_diff_shows_each_service_started_before_and_after(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {"state": "started"}, "broken_2019_mailbox_started", diff=True)
    assert result["changed"] is True and result["started"] == ["MSExchangeTransport"]
    # MSExchangeIS is Disabled: not started, so not in the diff (the verdict reports it)
    assert result["diff"] == {"before": {"services": {"MSExchangeTransport": "stopped"}}, "after": {"services": {"MSExchangeTransport": "running"}}}


def test_check_mode_diff_is_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {"state": "started"}, "broken_2019_mailbox_check_started", check_mode=True, diff=True)
    transport = next(c for c in result["checks"] if c["name"] == "MSExchangeTransport")
    assert transport["state"] == "stopped"  # nothing was started ...
    assert result["diff"]["after"] == {"services": {"MSExchangeTransport": "running"}}  # ... but the preview shows the outcome


def test_no_diff_without_diff_mode_and_an_empty_one_for_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {"state": "started"}, "broken_2019_mailbox_started")
    assert "diff" not in result
    result, _calls = run(monkeypatch, {}, "broken_2019_mailbox", diff=True)
    assert result["diff"] == {"before": {"services": {}}, "after": {"services": {}}}


def test_no_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls = run(monkeypatch, {}, "no_exchange")
    assert not result.get("failed") and result["exchange_version"] is None and "No Exchange installation" in result["msg"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"state": "restarted"}, "state"),
        ({"exchange_roles": ["Gateway"]}, "exchange_roles"),
        ({"timeout": "soon"}, "timeout"),
        ({"bogus": 1}, "bogus"),
        ({"exchange_version": "2020"}, "2020"),
        ({"exchange_version": "2019", "exchange_roles": ["UnifiedMessaging"]}, "no Unified Messaging"),
    ],
)
def test_bad_options_fail_before_touching_the_host(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], error: str) -> None:
    result, calls = run(monkeypatch, args, None)
    assert calls == []
    assert result["failed"] is True and error in result["msg"]


def test_module_failure_is_returned_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ActionModule, "_execute_module", lambda self, **_: {"failed": True, "msg": "Failed to read the services: RPC server unavailable"})
    result = make_action({}).run(task_vars={})
    assert result["failed"] is True and result["msg"].startswith("Failed to read the services") and "healthy" not in result


def test_explicit_services_are_sent_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls = run(monkeypatch, {"services": [{"name": "WinRM"}, {"name": "BITS", "required": False, "start": False}]}, "healthy_2019_mailbox")
    assert calls[0]["module_args"]["services"] == [{"name": "WinRM", "required": True, "start": True}, {"name": "BITS", "required": False, "start": False}]
    assert [c["name"] for c in result["checks"]] == ["WinRM"]  # BITS was not in the recording's read
