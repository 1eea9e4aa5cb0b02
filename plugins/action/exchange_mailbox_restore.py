# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_mailbox_restore.

1. Validate the options; name the request (a name derived from the restore when none is given, so a rerun finds it).
2. One read-only module call: the source database and its store mailboxes, the request of that name (2010 SP1 and later)
   or the target's statistics (Restore-Mailbox). Judged here (plugin_utils/_mailbox_restore.py): the release's cmdlet and
   options, the database (this server, mounted), the store mailbox (one display name, several mailboxes: refused with
   their GUIDs), an earlier request of the same name.
3. Check mode ends with the plan. Otherwise one `start` call: New-MailboxRestoreRequest (the module then waits up to
   poll_interval seconds on the host) or Restore-Mailbox (it copies within the call).
4. A request is then polled by `poll` calls, each waiting up to poll_interval seconds on the host, until it completes,
   fails or `timeout` passes. Why not an async job: the request already runs asynchronously in the Mailbox Replication
   service and is found again by name, so a poll needs no process on the host to outlive a call, a dropped connection or
   a rerun just polls again, and no job files are left behind; each poll is one module execution, however many samples
   it takes on the host.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _mailbox_restore as restore
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._recovery_database import release_label

display = Display()

MODULE = "exchange_dr.recovery.exchange_mailbox_restore"
INTERNAL = ("_operation", "_parameters", "_identity")


@dataclass
class _Task:
    """One task's options, module arguments, variables and the result being built."""

    params: dict[str, Any]
    module_args: dict[str, Any]
    task_vars: dict[str, Any]
    out: dict[str, Any]
    what: str


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        result.update(self._run(task_vars or {}))
        return result

    def _module(self, task: _Task, **internal: Any) -> dict[str, Any]:
        return self._execute_module(module_name=MODULE, module_args={**task.module_args, **internal}, task_vars=task.task_vars)

    def _run(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        args = dict(self._task.args)
        internal = [name for name in INTERNAL if name in args]
        if internal:
            return {"failed": True, "msg": f"{MODULE}: {', '.join(internal)} are set by the action plugin, not by tasks"}
        validation = ArgumentSpecValidator(**argument_spec("exchange_mailbox_restore")).validate(args)
        if validation.error_messages:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = dict(validation.validated_parameters)
        params["name"] = params.get("name") or restore.default_name(params)
        if params["poll_interval"] < 5 or params["timeout"] < 0:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: poll_interval must be 5 or more and timeout 0 or more"}
        what = f"{params['source_mailbox']} from {params['source_database']} to {params['target_mailbox']}"
        task = _Task(params, {k: v for k, v in params.items() if v is not None and k not in INTERNAL}, task_vars, {}, what)

        read = self._module(task, _operation="read")
        raw = read.pop("_read", None)
        if read.get("failed") or raw is None:
            return read
        server = str(read.get("server") or task_vars.get("inventory_hostname") or "").upper()
        exchange = dict(read.get("exchange") or {})
        release = release_of(str(exchange.get("version")))
        label = release_label(release)
        exchange["release"] = {"product": release.product, "cu": release.cu, "name": label, "build": release.build_string}
        method = restore.method_for(release)
        task.out = {
            "changed": False,
            "server": server,
            "exchange": exchange,
            "method": method,
            "source": None,
            "target": {"mailbox": params["target_mailbox"], "root_folder": params.get("target_root_folder"), "is_archive": params["target_is_archive"]},
            "request": None,
            "target_items": None,
            "polls": 0,
        }
        try:
            restore.check_options(params, release, label)
            db = restore.source_database(raw, params["source_database"], server)
            mailboxes = next((m["mailboxes"] for m in raw.get("mailboxes") or [] if m.get("database") == db.get("identity")), [])
            mailbox = restore.source_mailbox(mailboxes, params["source_mailbox"], str(db.get("identity")))
            restore.check_source(db, mailbox, method)
            if raw.get("target_error"):
                raise restore.Refusal(f"the target mailbox {params['target_mailbox']} cannot be used: {raw['target_error']}")
            existing = raw.get("request")
            if existing is not None:
                restore.same_request(existing, db, mailbox, params)
        except restore.Refusal as error:
            return {**task.out, "failed": True, "msg": f"{MODULE}: {what} on {server}: {error}"}
        task.out["source"] = {
            "database": db.get("identity"),
            "recovery_database": bool(db.get("recovery")),
            "mailbox": mailbox.get("display_name"),
            "mailbox_guid": mailbox.get("guid"),
            "item_count": mailbox.get("item_count"),
            "size_bytes": restore.size_bytes(mailbox.get("size")),
        }
        if method == restore.RESTORE_MAILBOX:
            return self._restore_mailbox(task, restore.restore_mailbox_parameters(params, db, mailbox, release), _items(raw.get("target")))
        if existing is not None:
            if self._task.check_mode or existing.get("Status") not in restore.RUNNING:
                return self._finish(task, existing, created=False)
            return self._wait(task, str(existing.get("Identity")), existing, created=False)
        return self._create(task, restore.request_parameters(params, db, mailbox, params["name"]))

    # -- 2010 SP1 and later: a restore request, polled ------------------------------------------------------------------------
    def _create(self, task: _Task, parameters: dict[str, Any]) -> dict[str, Any]:
        params, out = task.params, task.out
        out["changed"] = True
        if self._task.diff:
            out["diff"] = {"before": {"request": None}, "after": {"request": f"{params['target_mailbox']}\\{params['name']}", **parameters}}
        if self._task.check_mode:
            out["msg"] = f"{task.what} (check mode, nothing changed): would create restore request {params['name']} ({restore.REQUEST})"
            return out
        started = self._module(task, _operation="start", _parameters=parameters)
        identity = started.pop("_identity", None)
        progress = started.pop("_progress", None) or {}
        if started.get("failed") or not identity:
            return {**out, "failed": True, "changed": bool(started.get("changed")), "msg": started.get("msg") or f"{restore.REQUEST} returned no request"}
        out["polls"] = 1
        return self._wait(task, str(identity), progress.get("statistics"), created=True)

    def _wait(self, task: _Task, identity: str, statistics: dict[str, Any] | None, *, created: bool) -> dict[str, Any]:
        params, out = task.params, task.out
        started = time.monotonic()
        host = task.task_vars.get("inventory_hostname", "")
        while params["wait"] and statistics is not None and statistics.get("Status") in restore.RUNNING:
            if time.monotonic() - started >= params["timeout"]:
                report = restore.report(statistics, created=created) or {}
                return {
                    **out,
                    "request": report,
                    "changed": created,
                    "failed": True,
                    "msg": f"{MODULE}: {task.what}: the restore request {identity} is still {report.get('status')} ({report.get('percent_complete')}%) "
                    f"after {params['timeout']}s; it goes on in the Mailbox Replication service - run the task again to keep waiting",
                }
            display.display(f"{self._task.action}: {host}: restore request {identity} {statistics.get('Status')} ({statistics.get('PercentComplete')}%)")
            polled = self._module(task, _operation="poll", _identity=identity)
            progress = polled.pop("_progress", None) or {}
            out["polls"] += 1
            if polled.get("failed"):
                return {**out, "request": restore.report(statistics, created=created), "changed": created, "failed": True, "msg": polled.get("msg")}
            statistics = progress.get("statistics")
        return self._finish(task, statistics, created=created)

    @staticmethod
    def _finish(task: _Task, statistics: dict[str, Any] | None, *, created: bool) -> dict[str, Any]:
        report = restore.report(statistics, created=created)
        out = {**task.out, "request": report, "changed": created}
        if report is None:
            return {**out, "failed": True, "msg": f"{MODULE}: {task.what}: the restore request is gone (removed while the task waited?)"}
        status = report["status"]
        if status in ("Completed", "CompletedWithWarning"):
            out["msg"] = (
                f"{task.what}: restore request {report['identity']} {status.lower()} - {report['items_transferred']} items, "
                f"{report['bytes_transferred']} bytes, {report['bad_items'] or 0} bad items"
            )
            return out
        if status in restore.RUNNING:
            out["msg"] = f"{task.what}: restore request {report['identity']} is {status} ({report['percent_complete']}%)"
            return out
        return {**out, "failed": True, "msg": f"{MODULE}: {task.what}: {restore.outcome_message(report)}"}

    # -- 2007 and 2010 RTM: Restore-Mailbox ------------------------------------------------------------------------------------
    def _restore_mailbox(self, task: _Task, parameters: dict[str, Any], before: int | None) -> dict[str, Any]:
        """Restore-Mailbox copies within the call and skips items the target already has (its duplicate check), so the
        task changed something when the target holds more items afterwards; check mode cannot know that and plans it."""
        out = task.out
        out["target_items"] = {"before": before, "after": None}
        if self._task.diff:
            out["diff"] = {"before": {"target_items": before}, "after": {"restore_mailbox": parameters}}
        if self._task.check_mode:
            return {
                **out,
                "changed": True,
                "msg": f"{task.what} (check mode, nothing changed): would run {restore.RESTORE_MAILBOX} (it skips items already there)",
            }
        started = self._module(task, _operation="start", _parameters=parameters)
        target = started.pop("_target", None)
        if started.get("failed"):
            return {**out, "failed": True, "msg": started.get("msg")}
        after = _items(target)
        copied = (after or 0) - (before or 0)
        out.update(target_items={"before": before, "after": after}, changed=copied > 0)
        out["msg"] = f"{task.what}: {restore.RESTORE_MAILBOX} " + (f"copied {copied} items" if copied else "found nothing new to copy")
        return out


def _items(target: list[dict[str, Any]] | None) -> int | None:
    """Items of the target mailbox (Get-MailboxStatistics -Identity), None before it holds any content."""
    if not target:
        return None
    return sum(int(t.get("item_count") or 0) for t in target)
