# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.transport_queue_database.

1. read the server (exchange_dr.recovery.transport_queue_info: paths, files, rights, service, queues, eseutil /mh, the
   replay folder) and judge it (plugin_utils/_transport_queue.enrich);
2. plan the step for the options (plugin_utils/_transport_queue.plan): nothing to do, a refusal (messages without
   replace_with_messages, a repair without allow_repair, a corrupt database to relocate...) or one action;
3. in check mode return the plan; otherwise run the module once, which carries the step out on the host.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._transport_queue import QueuePlanError, enrich, intake_method, plan

MODULE = "exchange_dr.recovery.transport_queue_database"
INFO = "exchange_dr.recovery.transport_queue_info"
SHELL_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller")


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("transport_queue_database")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        for name, low in (("timeout", 0), ("poll_interval", 1), ("settle_seconds", 0)):
            if args[name] < low:
                return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: {name} must be {low} or more seconds, not {args[name]}"}
        if args["state"] == "replayed" and not args.get("replay_from"):
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: state=replayed needs replay_from (the folder of the old queue database)"}
        info_args = {k: args[k] for k in (*SHELL_OPTIONS, "aside_root", "replay_from") if k in args}
        info = self._execute_module(module_name=INFO, module_args=info_args, task_vars=task_vars)
        if info.get("failed"):
            return {**result, "failed": True, "msg": f"Failed to read the queue database before changing it: {info.get('msg')}"}
        enrich(info)
        step = plan(info, args)
        db = info["database"]
        before = {k: db.get(k) for k in ("verdict", "state", "holds_messages", "message")}
        base = {
            "server": info.get("server"),
            "state": args["state"],
            "plan": step.to_dict(),
            "before": before,
            "paths": {"database": info["paths"].get("database"), "logging": info["paths"].get("logging")},
            "previous_paths": {"database": info["paths"].get("database"), "logging": info["paths"].get("logging")},
        }
        if step.refusal:
            return {**result, **base, "failed": True, "msg": step.refusal}
        if step.action == "none":
            return {**result, **base, "changed": False, "msg": step.message}
        if self._task.check_mode:
            return {**result, **base, "changed": True, "msg": f"(check mode) {step.message}"}
        if args["state"] == "replayed" and args["method"] == "auto":
            exchange = info.get("exchange") or {}
            try:
                args["method"] = intake_method(exchange.get("version"), bool(exchange.get("edge")))
            except QueuePlanError as error:
                return {**result, **base, "failed": True, "msg": str(error)}
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        result.update(module_result)
        result.update(plan=step.to_dict(), before=before)
        if module_result.get("failed"):
            return result
        result.setdefault("msg", step.message)
        replay = module_result.get("replay") or {}
        if replay.get("timed_out"):
            result.setdefault("warnings", []).append(
                f"{module_result.get('server')}: the replay of {replay.get('source')} has not delivered everything after {replay.get('waited')}s; "
                f"the server still runs on it - run the task again to finish it"
            )
        return result
