# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_database.

1. Validate the options (the module's documentation is the spec) and the combinations the spec cannot express.
2. Read the database with exchange_database_info (one call: the AD object, the files, eseutil /mh and /ml) and judge it
   here; a database of another server or an unknown one is refused naming where it is.
3. Read what the plan needs beyond that with the module's inspect operation (one call: the backup folder and eseutil's view
   of it, the record of earlier runs, the aside volume; 2007: the storage group and isinteg's list).
4. Plan (plugin_utils/_database_restore.py): the steps, or a refusal that names what is wrong and where - nothing changed.
   Check mode ends here with the plan and the predicted state.
5. Run the steps with the module's apply operation (one call) and judge what came back: eseutil's outcome lines, the
   mounted state read afterwards.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_database_info import enrich, not_found_message
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _database_restore as restore
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.exchange_database"
INFO_MODULE = "exchange_dr.recovery.exchange_database_info"
SHELL_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller")
INTERNAL = ("_operation", "_database", "_steps")
# What an eseutil or mount failure usually means, and what to do (JET errors: _eseutil.JET_ERRORS; the mount's ec=)
HINTS = {
    -501: "a log file is damaged: put an intact copy back (the backup's), or repair with allow_data_loss",
    -528: "a log file is missing: put it back, or replay up to the hole with allow_data_loss",
    -543: "the logs the database requires are missing: put them back from the backup",
    -550: "the database is in Dirty Shutdown: its logs must be replayed first (soft recovery)",
    -1018: "the database has damaged pages: restore it from a backup (restore_from, restore=always) or repair it (repair=repair, allow_data_loss=true)",
    -1032: "the file is in use: is the database mounted, or another eseutil running?",
    -1216: "the logs name a database file that is missing or another one: restore the database that belongs to these logs",
    -1808: "the volume is full: free space and run the task again",
}


def _jet(text: str) -> int | None:
    for token in ("ec=", "error "):
        at = text.find(token)
        if at >= 0:
            digits = text[at + len(token) :].split(")", 1)[0].split(" ", 1)[0].strip()
            try:
                return int(digits)
            except ValueError:
                continue
    return None


def describe(db: dict[str, Any] | None) -> dict[str, Any]:
    """The database as --diff and the result's `before` show it (facts only: no option value)."""
    if not db:
        return {}
    files = db.get("files") or {}
    edb = files.get("edb") or {}
    return {
        "mounted": db.get("mounted") is True,
        "edb_file_path": db.get("edb_file_path"),
        "edb_exists": bool(edb.get("exists")),
        "edb_size": edb.get("size"),
        "state": (db.get("header") or {}).get("state"),
        "verdict": (db.get("recovery_verdict") or {}).get("verdict"),
        "log_folder_path": db.get("log_folder_path"),
        "log_count": files.get("log_count", 0),
        "allow_file_restore": db.get("allow_file_restore"),
    }


def judge_applied(plan: restore.Plan, applied: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, dict[str, Any] | None]:
    """The steps as run (with eseutil's parsed outcome), the failure message (None when every step succeeded), and the
    repair request made."""
    done = list(applied.get("_applied") or [])
    steps, failure, request = [], None, None
    for planned, ran in zip(plan.steps, done, strict=False):
        entry: dict[str, Any] = {**planned.to_dict(), "ok": bool(ran.get("ok"))}
        run = ran.get("run")
        if run:
            outcome = _eseutil.parse_outcome("\n".join(run.get("output") or []), run.get("rc"))
            entry["outcome"] = {"succeeded": outcome.succeeded, "error": outcome.error, "error_name": outcome.error_name, "message": outcome.message}
            entry["command_line"] = run.get("command_line")
            entry["output"] = [line for line in run.get("output") or [] if line.strip()][-30:]
        if planned.kind == "repair_request" and ran.get("output"):
            request = ran["output"]
        steps.append(entry)
    if applied.get("failed"):
        last = steps[-1] if steps else None
        where = f" at the step '{last['description']}'" if last else ""
        error = str(applied.get("msg") or "")
        if last and last.get("outcome") and not last["outcome"]["succeeded"]:
            error = f"{last['command_line']}: {last['outcome']['message']}"
        code = _jet(error)
        hint = HINTS.get(code) if code is not None else None
        if "doesn't match the database entry" in error:
            hint = "the file belongs to another database: set allow_file_restore=true if it is the one you mean to mount"
        finished = ", ".join(s["step"] for s in steps if s["ok"]) or "none"
        failure = (
            f"{plan.database}: failed{where}: {error}" + (f" ({hint})" if hint else "") + f". Steps done: {finished}. The task can be run again: it "
            "continues from the files as they are now."
        )
    return steps, failure, request


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        internal = [k for k in INTERNAL if k in args]
        if internal:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: {', '.join(internal)} are set by the action plugin, not the task"}
        validation = ArgumentSpecValidator(**argument_spec("exchange_database")).validate(args)
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        combinations = restore.validate(params)
        if combinations:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(combinations)}
        name = params["name"]
        shell = {k: params[k] for k in SHELL_OPTIONS if params.get(k) is not None}
        result.update(changed=False, database=name, server=None, release=None, action="nothing", plan=[], steps=[], mounted=None)
        result.update(before={}, after={}, aside=[], database_copy=None, restored_from=None, recovery_verdict=None, repair_request=None)

        # 2: the database
        info = self._execute_module(module_name=INFO_MODULE, module_args={"databases": [name], "verify_logs": True, **shell}, task_vars=task_vars)
        if info.get("failed"):
            return {**result, "failed": True, "msg": f"Failed to read {name} before changing it: {info.get('msg')}"}
        refused = not_found_message(info)
        if refused:
            return {**result, "failed": True, "msg": refused.replace(INFO_MODULE, MODULE) + ". Nothing was changed."}
        enrich(info)
        db = (info.get("databases") or [None])[0]
        release = (info.get("exchange") or {}).get("release") or {}
        result.update(server=info.get("server"), release=release.get("name"), mounted=(db or {}).get("mounted") is True, before=describe(db))
        if db is None:
            return {**result, "failed": True, "msg": f"{MODULE}: {name} was not returned by {info.get('server')}"}
        if db.get("parse_errors"):
            return {**result, "failed": True, "msg": f"Cannot read the state of {name}: {'; '.join(db['parse_errors'])}. Nothing was changed."}
        capabilities = info.get("capabilities") or {}
        product = str(release.get("product") or "")

        # 3: what the plan needs beyond that
        database = {
            "guid": db.get("guid"),
            "kind": db.get("kind"),
            "edb_file_path": db.get("edb_file_path"),
            "log_folder_path": db.get("log_folder_path"),
            "log_prefix": db.get("log_prefix"),
            "storage_group": db.get("storage_group"),
            "isinteg": bool(params["repair"] != "none" and capabilities.get("isinteg") and not capabilities.get("mailbox_repair_request")),
            "read_backup": restore.backup_needed(params, db),
        }
        host_args = {k: v for k, v in params.items() if v is not None and k not in INTERNAL}
        inspect = self._execute_module(module_name=MODULE, module_args={**host_args, "_operation": "inspect", "_database": database}, task_vars=task_vars)
        if inspect.get("failed"):
            return {**result, "failed": True, "msg": f"Failed to read what restoring {name} needs: {inspect.get('msg')}"}

        # 4: the plan (it may ask for one more read: the backup when the first read left it out, the repair requests the
        # store lists after a run was cut off)
        ctx = restore.Context(params, db, product, capabilities, str(info.get("server")), inspect.get("_inspect") or {})
        planned = None
        try:
            for _attempt in range(3):
                try:
                    planned = restore.plan(ctx)
                    break
                except restore.NeedMore as more:
                    database[str(more)] = True
                    again = self._execute_module(
                        module_name=MODULE, module_args={**host_args, "_operation": "inspect", "_database": database}, task_vars=task_vars
                    )
                    if again.get("failed"):
                        return {**result, "failed": True, "msg": f"Failed to read what restoring {name} needs: {again.get('msg')}"}
                    ctx.inspect = again.get("_inspect") or {}
        except restore.PlanError as error:
            verdict = error.verdict or (db.get("recovery_verdict") if not db.get("mounted") else None)
            return {**result, "failed": True, "msg": str(error), "recovery_verdict": verdict}
        if planned is None:
            return {**result, "failed": True, "msg": f"{MODULE}: could not plan {name} from what the host returned"}
        result.update(
            action=planned.action,
            plan=[s.to_dict() for s in planned.steps],
            aside=planned.aside,
            database_copy=planned.copy,
            restored_from=planned.restored_from,
            recovery_verdict=planned.verdict,
            changed=planned.changes,
            msg=planned.msg,
        )
        if planned.warnings:
            result["warnings"] = planned.warnings
        predicted = {**result["before"], **planned.after}
        if planned.restored_from or planned.action == "dial_tone":
            predicted.update(edb_exists=True, restored_from=planned.restored_from, state=None, verdict=None)
        result["after"] = predicted
        if self._task.diff and planned.changes:
            # a pair of plain dicts, as the collection's other diffs (plugin_utils/_module_diffs.py); in check mode the plan
            result["diff"] = {"before": dict(result["before"]), "after": dict(predicted)}
        if self._task.check_mode or not planned.changes:
            return result

        # 5: the steps
        steps = [s.host for s in planned.steps]
        applied = self._execute_module(
            module_name=MODULE, module_args={**host_args, "_operation": "apply", "_database": database, "_steps": steps}, task_vars=task_vars
        )
        ran, failure, request = judge_applied(planned, applied)
        final = applied.get("_final") or {}
        after = {**result["before"], "mounted": final.get("mounted") is True, "edb_exists": bool((final.get("edb") or {}).get("exists"))}
        after.update(edb_size=(final.get("edb") or {}).get("size"), log_count=final.get("log_count"), allow_file_restore=final.get("allow_file_restore"))
        if ran:
            after.update(state=None, verdict=None)
        result.update(steps=ran, repair_request=request, mounted=after["mounted"], after=after)
        if "diff" in result:
            result["diff"]["after"] = dict(after)
        if failure is not None:
            return {**result, "failed": True, "msg": failure}
        if "_applied" not in applied:
            return {**result, "failed": True, "msg": f"Failed to run the steps for {name}: {applied.get('msg')}"}
        if params["state"] == "mounted" and final.get("mounted") is not True:
            error = final.get("error") or "Get-MailboxDatabase -Status does not report it mounted"
            return {**result, "failed": True, "msg": f"{name} was mounted but is not mounted now on {result['server']}: {error}"}
        if params["state"] == "dismounted" and final.get("mounted") is True:
            return {**result, "failed": True, "msg": f"{name} was dismounted but is still mounted on {result['server']}"}
        result["msg"] = planned.msg.replace(" will be ", " was ")
        return result
