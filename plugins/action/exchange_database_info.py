# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_database_info: one module call, then eseutil's output is parsed and
every dismounted database judged here (plugin_utils/_eseutil.py, _exchange_databases.py)."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import capabilities, judge_database, summarize
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.exchange_database_info"


def enrich(result: dict[str, Any]) -> dict[str, Any]:
    """Judge a module result in place (also returned): release, capabilities, per-database verdicts, summary."""
    exchange = result.get("exchange") or {}
    release = None
    try:
        release = release_of(str(exchange.get("version"))) if exchange.get("version") else None
    except ValueError:
        release = None
    exchange["release"] = {"product": release.product, "cu": release.cu, "name": release.name, "build": release.build_string} if release is not None else None
    result["capabilities"] = capabilities(release) if release is not None else {}
    result["databases"] = [judge_database(dict(db)) for db in result.get("databases") or []]
    result["summary"] = summarize(result["databases"])
    return result


def not_found_message(result: dict[str, Any]) -> str | None:
    """The refusal for names given in `databases` that this server does not hold, naming where they are."""
    missing = result.get("not_found") or []
    if not missing:
        return None
    server = result.get("server") or "the server"
    parts = []
    for item in missing:
        where = item.get("server")
        if where and str(where).upper() != str(server).upper():
            parts.append(f"{item.get('name')} is a database of {where}, not of {server}")
        else:
            parts.append(f"no database {item.get('name')} on {server}")
    known = ", ".join(result.get("all_database_names") or []) or "none"
    return f"{MODULE}: " + "; ".join(parts) + f" (its databases: {known})"


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("exchange_database_info")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        result.update(module_result)
        if module_result.get("failed") or "databases" not in module_result:
            return result
        message = not_found_message(result)
        if message:
            return {**result, "failed": True, "msg": message}
        return enrich(result)
