"""The reboot base class: run a step, restart when it asks (and the task allows it), continue, strip private keys."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_with_reboot import ActionModuleWithReboot


class StepPlugin(ActionModuleWithReboot):
    """Calls a module once per step and returns its result; the module's private keys drive the restarts."""

    def _argument_spec(self) -> dict[str, Any]:
        return {"name": {"type": "str", "required": True}, "reboot": {"type": "bool", "default": False}, "reboot_timeout": {"type": "int", "default": 600}}

    def _run_step(self, args: dict[str, Any], task_vars: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        return self._execute_module(module_name="ns.col.thing", module_args={"name": args["name"], "previous": previous}, task_vars=task_vars)


def make(args: dict[str, Any], *, check_mode: bool = False) -> StepPlugin:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "ns.col.thing"
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    return StepPlugin(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())


def run(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], replies: list[dict[str, Any]], reboots: list[dict[str, Any]] | None = None, **kw: Any):
    calls: list[dict[str, Any]] = []
    restarts: list[str | None] = []
    replies = list(replies)
    reboot_replies = list(reboots or [])

    def fake_execute(self: StepPlugin, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        calls.append(module_args)
        return dict(replies.pop(0))

    def fake_reboot(self: StepPlugin, a: dict[str, Any], task_vars: dict[str, Any], reason: str | None) -> dict[str, Any]:
        restarts.append(reason)
        return reboot_replies.pop(0) if reboot_replies else {"rebooted": True, "elapsed": 42}

    monkeypatch.setattr(StepPlugin, "_execute_module", fake_execute)
    monkeypatch.setattr(StepPlugin, "_reboot_host", fake_reboot)
    result = make(args, **kw).run(task_vars={"inventory_hostname": "EX01"})
    return result, calls, restarts


def test_one_step_without_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls, restarts = run(monkeypatch, {"name": "x"}, [{"changed": True, "value": 1}])
    assert (len(calls), restarts) == (1, [])
    assert result["changed"] is True and result["rebooted"] is False and result["reboot_required"] is False and result["value"] == 1


def test_restart_and_continue_strips_private_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    first = {"changed": True, "_do_action_reboot": True, "_reboot_reason": "setup done", "_stage": "setup", "value": 1}
    result, calls, restarts = run(monkeypatch, {"name": "x", "reboot": True}, [first, {"changed": False, "value": 2}])
    assert restarts == ["setup done"] and len(calls) == 2
    assert calls[1]["previous"]["_stage"] == "setup"  # the step continues from where it stopped
    assert result["rebooted"] is True and result["changed"] is True and result["reboot_required"] is False and result["value"] == 2
    assert not [k for k in result if k.startswith("_do") or k in ("_reboot_reason", "_stage")]


def test_without_the_reboot_option_it_stops_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls, restarts = run(monkeypatch, {"name": "x"}, [{"changed": True, "_do_action_reboot": True}])
    assert (len(calls), restarts) == (1, [])
    assert result["reboot_required"] is True and result["rebooted"] is False and "_do_action_reboot" not in result


def test_check_mode_never_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls, restarts = run(monkeypatch, {"name": "x", "reboot": True}, [{"changed": True, "_do_action_reboot": True}], check_mode=True)
    assert restarts == [] and result["reboot_required"] is True


def test_a_failed_step_is_not_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _calls, restarts = run(monkeypatch, {"name": "x", "reboot": True}, [{"failed": True, "msg": "no", "_do_action_reboot": True}])
    assert restarts == [] and result["failed"] is True and result["msg"] == "no"


def test_a_failed_restart_fails_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    first = {"changed": True, "_do_action_reboot": True}
    result, calls, restarts = run(monkeypatch, {"name": "x", "reboot": True}, [first], reboots=[{"failed": True, "msg": "timed out waiting for the host"}])
    assert len(restarts) == 1 and len(calls) == 1
    assert result["failed"] is True and "timed out waiting for the host" in result["msg"] and result["reboot_required"] is True


def test_a_step_that_keeps_asking_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    again = {"changed": True, "_do_action_reboot": True, "_reboot_reason": "still pending"}
    result, _calls, restarts = run(monkeypatch, {"name": "x", "reboot": True}, [again] * 5)
    assert len(restarts) == StepPlugin.max_reboots
    assert result["failed"] is True and "still asks for a restart after 3 restart(s): still pending" in result["msg"]


def test_arguments_are_validated_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AnsibleActionFail, match="name"):
        run(monkeypatch, {"reboot": True}, [])
    with pytest.raises(AnsibleActionFail, match="reboot_timeout"):
        run(monkeypatch, {"name": "x", "reboot_timeout": "soon"}, [])


def test_the_restart_goes_through_win_reboot_with_the_timeout() -> None:
    plugin = make({"name": "x", "reboot": True, "reboot_timeout": 900})
    action = MagicMock()
    action.run.return_value = {"rebooted": True, "elapsed": 3}
    plugin._shared_loader_obj = MagicMock()
    plugin._shared_loader_obj.action_loader.get.return_value = action
    assert plugin._reboot_host({"reboot_timeout": 900}, {}, "setup done") == {"rebooted": True, "elapsed": 3}
    name, kwargs = plugin._shared_loader_obj.action_loader.get.call_args[0][0], plugin._shared_loader_obj.action_loader.get.call_args[1]
    assert name == "ansible.windows.win_reboot"
    assert kwargs["task"].args == {"reboot_timeout": 900, "msg": "Reboot initiated by Ansible (ns.col.thing): setup done"}
