"""Run an action plugin of the collection with `_execute_module` answered by the module's simulator twin on a simulated
host (in process, no WinRM): the controller's decisions are tested against what the module really returns, call by call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import MagicMock

from simulator.host import Host
from simulator.twins import run_module

ADMIN = "CONTOSO\\Administrator"


@dataclass
class Run:
    """One task: its result and every module call the action plugin made (name, arguments, result)."""

    result: dict[str, Any]
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        return [str(c["args"].get("_operation")) for c in self.calls]


def run_action(
    action_class: type,
    fqcn: str,
    host: Host,
    args: dict[str, Any],
    *,
    check_mode: bool = False,
    diff: bool = False,
    user: str = ADMIN,
    host_for: dict[str, Host] | None = None,
) -> Run:
    """Run `action_class` for a task with `args` on `host` (as `user`); `host_for` maps other module names to other hosts."""
    calls: list[dict[str, Any]] = []

    def execute(self: Any, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        complex_args = {"_ansible_check_mode": check_mode, "_ansible_diff": diff, "_ansible_module_name": module_name, **module_args}
        target = (host_for or {}).get(module_name, host)
        _rc, out = run_module(module_name, complex_args, target, user)
        result = json.loads(out)
        calls.append({"module": module_name, "args": dict(module_args), "result": result})
        return dict(result)

    task = MagicMock()
    task.args = dict(args)
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = fqcn
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    action = action_class(task, connection, MagicMock(), MagicMock(), MagicMock(), None)
    action._execute_module = execute.__get__(action)  # type: ignore[method-assign]
    result = action.run(task_vars={"inventory_hostname": host.name})
    return Run(result, calls)
