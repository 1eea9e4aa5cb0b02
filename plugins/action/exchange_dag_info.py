# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_dag_info: one read of the DAG, or several while it waits for the
server's copies to be healthy; every copy is judged here (plugin_utils/_exchange_dag.py)."""

from __future__ import annotations

import time
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_dag import (
    DagError,
    judge,
    read_record,
    record_from_info,
    replication_health_failures,
    validate_copies,
    write_record,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.exchange_dag_info"


def refusal(result: dict[str, Any], params: dict[str, Any]) -> str | None:
    """Bad input the read shows: a DAG or a server that does not exist, waiting for a server that is not a member."""
    server = result.get("server") or {}
    name = server.get("name") or params.get("server") or "the server"
    if params.get("dag") and not result.get("dag"):
        known = ", ".join(result.get("all_dag_names") or []) or "none"
        return f"{MODULE}: there is no database availability group {params['dag']} in the organisation (its DAGs: {known})"
    if not server.get("exists"):
        return f"{MODULE}: there is no Exchange server {name} in the organisation"
    if params.get("wait_healthy") and not server.get("member"):
        where = (result.get("dag") or {}).get("name") or "a database availability group"
        return f"{MODULE}: {name} is not a member of {where}; there are no copies of it to wait for"
    return None


def enrich(result: dict[str, Any], params: dict[str, Any], expected: list[dict[str, Any]]) -> dict[str, Any]:
    server = (result.get("server") or {}).get("name") or ""
    verdict = judge(
        result,
        server,
        expected or None,
        max_copy_queue=int(params.get("max_copy_queue_length") or 0),
        max_replay_queue=int(params.get("max_replay_queue_length") or 0),
    )
    verdict["replication_health_failures"] = replication_health_failures(result.get("replication_health"))
    result["judgement"] = verdict
    return result


def settled(result: dict[str, Any]) -> bool:
    verdict = result["judgement"]
    return bool(verdict["all_healthy"]) and not verdict["replication_health_failures"]


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(**argument_spec("exchange_dag_info")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        try:
            expected = validate_copies(params.get("expected_copies") or [], "expected_copies")
        except DagError as error:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: {error}"}
        args = {k: v for k, v in params.items() if v is not None}
        started = time.monotonic()
        deadline = started + max(0, int(params["wait_timeout"]))
        polls = 0
        while True:
            module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
            polls += 1
            if module_result.get("failed") or "databases" not in module_result:
                return {**result, **module_result}
            message = refusal(module_result, params)
            if message:
                return {**result, **module_result, "failed": True, "msg": message}
            current = enrich(dict(module_result), params, expected)
            if not params["wait_healthy"] or settled(current):
                break
            if time.monotonic() + params["wait_delay"] > deadline:
                verdict = current["judgement"]
                health = "; Test-ReplicationHealth: " + "; ".join(verdict["replication_health_failures"]) if verdict["replication_health_failures"] else ""
                return {
                    **result,
                    **current,
                    "waited": int(time.monotonic() - started),
                    "polls": polls,
                    "failed": True,
                    "msg": f"{MODULE}: gave up after {int(time.monotonic() - started)} s ({polls} reads): {verdict['message']}{health}",
                }
            time.sleep(max(1, int(params["wait_delay"])))
        if params.get("record_path"):
            try:
                previous = read_record(params["record_path"])
                record = record_from_info(current, (current.get("server") or {}).get("name") or "", previous)
                if record is not None and record != previous and not self._play_context.check_mode:
                    write_record(params["record_path"], record)
            except (DagError, OSError) as error:
                return {**result, **current, "failed": True, "msg": f"{MODULE}: the record {params['record_path']}: {error}"}
            current["record"] = record
        else:
            current["record"] = None
        result.update(current)
        result["waited"] = int(time.monotonic() - started) if params["wait_healthy"] else 0
        result["polls"] = polls
        result["msg"] = current["judgement"]["message"]
        return result
