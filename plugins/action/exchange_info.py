# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_info: one module call, then the release table names the builds."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_setup import parse_setup_log
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of, roles_from_mask
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.exchange_info"
# What a read depends on. Returned as `read_options`, so a role given an earlier read can tell whether it is its own read
# (Ansible drops `invocation` from registered results).
READ_OPTIONS = ("server_name", "setup_path", "target_dir")


def release_dict(build: Any) -> dict[str, Any] | None:
    """{product, cu, name, build} of a build string, or None when it is empty or not an Exchange build."""
    if not build:
        return None
    try:
        release = release_of(str(build))
    except ValueError:
        return None
    return {"product": release.product, "cu": release.cu, "name": release.name, "build": release.build_string}


def enrich(info: dict[str, Any]) -> dict[str, Any]:
    """Add what the controller's tables know to an exchange_info module result (in place; also returned)."""
    exchange = info.get("exchange") or {}
    exchange["release"] = release_dict(exchange.get("version"))
    ad = info.get("ad_server") or {}
    ad["release"] = release_dict(ad.get("version"))
    ad["roles"] = roles_from_mask(int(ad["role_mask"])) if ad.get("role_mask") is not None else []
    media = info.get("media") or {}
    media["release"] = release_dict(media.get("version"))
    log = info.get("setup_log") or {}
    log["last_run"] = parse_setup_log(log.get("lines") or []).to_dict()
    return info


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = True
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("exchange_info")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars, wrap_async=self._task.async_val)
        result.update(module_result)
        if not module_result.get("failed") and "exchange" in module_result:
            enrich(result)
            # roles see task-level check mode only here (ansible_check_mode reflects --check, not `check_mode: true`)
            result["check_mode"] = bool(self._task.check_mode)
            result["read_options"] = {key: args.get(key) for key in READ_OPTIONS}
        return result
