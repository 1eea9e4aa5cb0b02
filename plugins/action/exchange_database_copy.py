# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_database_copy: the copies' settings are validated and normalized here
(activation preference, replay and truncation lag in Exchange's range and spelling; plugin_utils/_exchange_dag.py) before
the host is touched, and the module's commands become the task's message for the DR report."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_dag import DagError, validate_copies
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.exchange_database_copy"


def message(result: dict[str, Any], check_mode: bool) -> str:
    server = result.get("server")
    done = [c for c in result.get("copies") or [] if c.get("action") != "none"]
    if not done:
        return f"the copies of {server} are as asked: nothing to do"
    verbs = (
        {"add": "added", "update": "updated", "remove": "removed"}
        if not check_mode
        else {"add": "would add", "update": "would update", "remove": "would remove"}
    )
    parts = []
    for c in done:
        text = f"{verbs[c['action']]} {c['database']}\\{server}"
        if c["action"] != "remove":
            text += f" (preference {c.get('activation_preference')}, replay lag {c.get('replay_lag_time')}, truncation lag {c.get('truncation_lag_time')})"
        parts.append(text)
    return "; ".join(parts)


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("exchange_database_copy")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        try:
            copies = validate_copies(params["copies"], "copies")
        except DagError as error:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: {error}"}
        args = {k: v for k, v in params.items() if v is not None}
        args["copies"] = [{k: v for k, v in c.items() if v is not None} for c in copies]
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        result.update(module_result)
        if not module_result.get("failed"):
            result["msg"] = message(module_result, bool(self._play_context.check_mode))
        return result
