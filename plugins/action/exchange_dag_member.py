# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_dag_member: the options are validated before the host is touched (the
controller does not validate a PowerShell module's arguments), and the commands the module ran become the task's message
for the DR report."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.exchange_dag_member"


def message(result: dict[str, Any], check_mode: bool) -> str:
    server, dag = result.get("server"), result.get("dag")
    commands = result.get("commands") or []
    if not commands:
        return f"{server} is {'a member' if result.get('member') else 'not a member'} of {dag}: nothing to do"
    return ("would run: " if check_mode else "ran: ") + "; ".join(commands)


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("exchange_dag_member")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        if params["configuration_only"] and params["state"] != "absent":
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: configuration_only applies to state=absent only"}
        args = {k: v for k, v in params.items() if v is not None}
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        result.update(module_result)
        if not module_result.get("failed"):
            result["msg"] = message(module_result, bool(self._play_context.check_mode))
        return result
