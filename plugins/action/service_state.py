# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.service_state: choose the services, call the Windows module once, judge."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import candidate_services, plan_services
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_diffs import service_state_diff
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._service_health import evaluate, parse_version_option

MODULE = "exchange_dr.recovery.service_state"


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp

        validation = ArgumentSpecValidator(**argument_spec("service_state")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters

        try:
            services = self._services_to_read(params)
        except ValueError as error:
            return {**result, "failed": True, "msg": f"{MODULE}: {error}"}

        module_args = {key: value for key, value in params.items() if value is not None}
        module_args["services"] = services
        module_result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        result.update(module_result)
        if module_result.get("failed") or module_result.get("skipped"):
            return result

        host = str((task_vars or {}).get("inventory_hostname", ""))
        verdict = evaluate(
            version_option=params["exchange_version"],
            roles_option=params["exchange_roles"],
            include=params["include_services"] or (),
            exclude=params["exclude_services"] or (),
            email_router_service=params["email_router_service"],
            explicit_services=params["services"],
            module_result=module_result,
            check_mode=bool(self._task.check_mode),
            host=host,
        )
        result.update(verdict)
        if self._task.diff:
            result["diff"] = service_state_diff(module_result.get("services") or [])
        result.pop("services", None)  # the host's raw read: every field is in `checks`, judged
        result["checked_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not verdict["healthy"] and params["fail_on_unhealthy"]:
            result["failed"] = True
        return result

    @staticmethod
    def _services_to_read(params: dict[str, Any]) -> list[dict[str, Any]]:
        """The `services` the Windows module reads: as given, the table's for a known release and roles, or every
        candidate when the host has to tell which Exchange it runs (still one call)."""
        if params["services"] is not None:
            return [dict(s) for s in params["services"]]
        options = {
            "include": params["include_services"] or (),
            "exclude": params["exclude_services"] or (),
            "email_router_service": params["email_router_service"],
        }
        if params["exchange_version"] and params["exchange_roles"]:
            return plan_services(parse_version_option(params["exchange_version"]), params["exchange_roles"], **options).module_services()
        if params["exchange_version"]:
            parse_version_option(params["exchange_version"])  # refuse a bad value before touching the host
        return candidate_services(**options)
