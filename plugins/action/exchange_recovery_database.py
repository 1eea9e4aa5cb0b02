# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_recovery_database.

1. Validate the options (refused before the host is touched).
2. One read-only module call: the server's databases and storage groups, the recovery database's files and, when it has
   none yet, the backup's files, with eseutil's raw output.
3. Plan here (plugin_utils/_recovery_database.py): refuse what cannot work (naming what and where), else the steps. Check
   mode and a plan without steps end here.
4. One `apply` call runs the steps in order and stops at the first that fails; its records are judged here (eseutil's
   outcome parsed, the database mounted or not).
A run cut short completes when run again: every step is judged again from what the host has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._recovery_database import Refusal, plan, release_label

MODULE = "exchange_dr.recovery.exchange_recovery_database"
INTERNAL = ("_operation", "_plan")


def recovery_report(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The eseutil /r step as the task reports it: its command line and parsed outcome."""
    if record is None or record.get("eseutil") is None:
        return None
    run = record["eseutil"]
    parsed = _eseutil.parse_operation("\n".join(run.get("output") or []), run.get("rc"))
    return {
        "command_line": run.get("command_line"),
        "succeeded": parsed.outcome.succeeded,
        "error": parsed.outcome.error or None,
        "message": parsed.outcome.message,
    }


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        result.update(self._run(task_vars or {}))
        return result

    def _run(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        args = dict(self._task.args)
        internal = [name for name in INTERNAL if name in args]
        if internal:
            return {"failed": True, "msg": f"{MODULE}: {', '.join(internal)} are set by the action plugin, not by tasks"}
        validation = ArgumentSpecValidator(**argument_spec("exchange_recovery_database")).validate(args)
        if validation.error_messages:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        module_args = {k: v for k, v in params.items() if v is not None and k not in INTERNAL}

        read = self._execute_module(module_name=MODULE, module_args={**module_args, "_operation": "read"}, task_vars=task_vars)
        raw = read.pop("_read", None)
        if read.get("failed") or raw is None:
            return read
        server = str(read.get("server") or task_vars.get("inventory_hostname") or "").upper()
        exchange = dict(read.get("exchange") or {})
        release = release_of(str(exchange.get("version")))
        exchange["release"] = {"product": release.product, "cu": release.cu, "name": release_label(release), "build": release.build_string}
        out: dict[str, Any] = {
            "changed": False,
            "server": server,
            "exchange": exchange,
            "database": None,
            "plan": [],
            "source": None,
            "recovery": None,
            "moved_aside": [],
        }
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        try:
            planned = plan(params, raw, given=set(args), release=release, server=server, stamp=stamp)
        except Refusal as error:
            return {**out, "failed": True, "msg": f"{MODULE}: {params['name']} on {server}: {error}"}
        out.update(database=planned.database, plan=planned.actions, source=planned.source, moved_aside=planned.moved_aside, changed=planned.changed)
        if planned.changed and self._task.diff:
            out["diff"] = {"before": planned.before, "after": {k: planned.database.get(k) for k in planned.before}}
        if not planned.changed:
            out["msg"] = f"{params['name']} on {server} is {params['state']}: nothing to do"
            return out
        if self._task.check_mode:
            out["msg"] = f"{params['name']} on {server} (check mode, nothing changed): would " + "; ".join(planned.actions)
            return out

        applied = self._execute_module(
            module_name=MODULE, module_args={**module_args, "_operation": "apply", "_plan": {"steps": planned.steps}}, task_vars=task_vars
        )
        records = applied.pop("_steps", None)
        if applied.get("failed") or records is None:
            return {**out, "failed": True, "changed": bool(applied.get("changed")), "msg": applied.get("msg"), "moved_aside": []}
        done = [r for r in records if r.get("ok")]
        moves = [r for r in records if r.get("action") == "move"]
        out["moved_aside"] = [aside for i, aside in enumerate(planned.moved_aside) if i < len(moves) and moves[i].get("ok")]
        out["plan"] = [str(r.get("what")) for r in done if r.get("action") != "status"]
        out["changed"] = any(r.get("action") != "status" for r in done)
        out["recovery"] = recovery_report(next((r for r in records if r.get("action") == "eseutil"), None))
        failed = next((r for r in records if not r.get("ok")), None)
        if failed is not None:
            return {**out, "failed": True, "msg": self._failure(params, server, release, failed, created=planned.created)}
        status = next((r for r in records if r.get("action") == "status"), None)
        if status is not None and status.get("mounted") is not True:
            return {**out, "failed": True, "msg": f"{MODULE}: {params['name']} on {server}: Mount-Database returned, but the database is not mounted"}
        out["msg"] = f"{params['name']} on {server}: " + "; ".join(out["plan"])
        return out

    @staticmethod
    def _failure(params: dict[str, Any], server: str, release: Any, record: dict[str, Any], *, created: bool) -> str:
        head = f"{MODULE}: {params['name']} on {server}: {record.get('what')} failed"
        if record.get("action") == "eseutil":
            report = recovery_report(record) or {}
            return f"{head}: {report.get('message')} ({report.get('command_line')}); nothing after it ran. Run the task again once the cause is fixed"
        message = f"{head}: {record.get('error')}"
        if str(record.get("what")).startswith("mount ") and created and release.product not in ("2007", "2010"):
            message += (
                ". Microsoft's procedure restarts the Microsoft Exchange Information Store service after creating a recovery database "
                "(Restart-Service MSExchangeIS), which dismounts every database of the server for a moment: do it in a quiet moment and run the task again"
            )
        return message
