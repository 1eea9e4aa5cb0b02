# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.transport_queue_drain: the release and role are read first (transport_queue_info,
without queues or eseutil), the way to stop the intake is chosen and a redirect refused where the release has none
(plugin_utils/_transport_queue.py), then the module drains and the result is judged here."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._transport_queue import (
    QueuePlanError,
    can_redirect,
    drain_verdict,
    intake_method,
    release,
)

MODULE = "exchange_dr.recovery.transport_queue_drain"
INFO = "exchange_dr.recovery.transport_queue_info"
SHELL_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller")


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("transport_queue_drain")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        for name in ("timeout", "poll_interval"):
            if args[name] < (0 if name == "timeout" else 1):
                return {
                    **result,
                    "failed": True,
                    "msg": f"Invalid options for {MODULE}: {name} must be {'0 or more' if name == 'timeout' else '1 or more'} seconds, not {args[name]}",
                }
        info = self._execute_module(module_name=INFO, module_args={"queues": False, "eseutil": "never"}, task_vars=task_vars)
        if info.get("failed"):
            return {**result, "failed": True, "msg": f"Failed to read the server before draining it: {info.get('msg')}"}
        exchange = info.get("exchange") or {}
        version, edge = exchange.get("version"), bool(exchange.get("edge"))
        try:
            automatic = intake_method(version, edge)
        except QueuePlanError as error:
            return {**result, "failed": True, "msg": str(error)}
        method = automatic if args["method"] == "auto" else args["method"]
        rel = release(version)
        name = rel.name if rel is not None else version
        if method == "component" and automatic != "component":
            return {
                **result,
                "failed": True,
                "msg": f"method=component: {name}{' (Edge Transport)' if edge else ''} has no server component states "
                "(Set-ServerComponentState is Exchange 2013 and later, Mailbox servers); use method=pause or auto",
            }
        if args.get("target") and args["state"] == "drained" and not can_redirect(version, edge):
            where = "an Edge Transport server" if edge else name
            return {
                **result,
                "failed": True,
                "msg": f"target: Redirect-Message does not exist on {where} (Exchange 2013 and later Mailbox servers only); "
                "leave target out and let the queues drain",
            }
        args["method"] = method
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        result.update(module_result)
        if module_result.get("failed"):
            return result
        verdict = drain_verdict(module_result.get("queues"))
        result.update(drained=verdict["drained"], left=verdict["left"], kept=verdict["kept"])
        if args["state"] == "drained" and not verdict["drained"] and not self._task.check_mode:
            left = ", ".join(f"{q['identity']} {q['message_count']}" for q in verdict["left"])
            result.setdefault("warnings", []).append(
                f"{module_result.get('server')}: {verdict['to_deliver']} message(s) still to deliver after {module_result.get('waited')}s ({left})"
            )
        return result
