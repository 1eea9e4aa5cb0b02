# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.exchange_retention.

1. Validate the options and the time spans (form and documented range) before the host is touched.
2. One read-only module call: the server's databases with their retention settings, the disconnected mailboxes of the one
   named (and the mailbox to connect), the user to connect it to.
3. Plan here (plugin_utils/_retention.py): the settings that differ, the mailbox to connect, or a refusal naming what and
   where. Check mode and a plan without steps end here (a second run: one module execution).
4. One `apply` call runs the cmdlets and reads again. A mailbox the store did not show as disconnected was only brought
   up to date by it (Update-StoreMailboxState / Clean-MailboxDatabase): that read is planned again, and a second `apply`
   connects it when the store now marks it disconnected.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _retention as retention
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._recovery_database import release_label

MODULE = "exchange_dr.recovery.exchange_retention"
INTERNAL = ("_operation", "_plan")


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
        validation = ArgumentSpecValidator(**argument_spec("exchange_retention")).validate(args)
        if validation.error_messages:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = dict(validation.validated_parameters)
        try:
            wanted = retention.desired_settings(params)
        except retention.Refusal as error:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: {error}"}
        module_args = {k: v for k, v in params.items() if v is not None and k not in INTERNAL}

        read = self._execute_module(module_name=MODULE, module_args={**module_args, "_operation": "read"}, task_vars=task_vars)
        raw = read.pop("_read", None)
        if read.get("failed") or raw is None:
            return read
        server = str(read.get("server") or task_vars.get("inventory_hostname") or "").upper()
        exchange = dict(read.get("exchange") or {})
        release = release_of(str(exchange.get("version")))
        exchange["release"] = {"product": release.product, "cu": release.cu, "name": release_label(release), "build": release.build_string}
        what = f"{params['database']} on {server}"
        out: dict[str, Any] = {
            "changed": False,
            "server": server,
            "exchange": exchange,
            "database": None,
            "retention": None,
            "disconnected": None,
            "reconnect": None,
            "plan": [],
        }
        try:
            planned = retention.plan(params, wanted, raw, release=release, server=server)
        except retention.Refusal as error:
            return {**out, "failed": True, "msg": f"{MODULE}: {what}: {error}"}
        out.update(database=planned.database, retention=planned.after, disconnected=planned.disconnected, plan=planned.actions, changed=planned.changed)
        out["reconnect"] = planned.reconnect.report(done=False) if planned.reconnect else None
        if planned.changed and self._task.diff:
            out["diff"] = _diff(planned)
        if not planned.changed:
            out["msg"] = f"{what}: nothing to change"
            return out
        if self._task.check_mode:
            out["msg"] = f"{what} (check mode, nothing changed): would " + "; ".join(planned.actions)
            return out

        done: list[str] = []
        rounds = 0
        reason = None  # the mailbox's disconnect reason before it was connected (the store's view after a sync)
        while planned.steps:
            rounds += 1
            if planned.reconnect:
                reason = retention.disconnect_state(planned.reconnect.mailbox) or reason
            applied = self._execute_module(
                module_name=MODULE, module_args={**module_args, "_operation": "apply", "_plan": {"steps": planned.steps}}, task_vars=task_vars
            )
            records = applied.pop("_steps", None)
            after = applied.pop("_read", None)
            if applied.get("failed") or records is None or after is None:
                return {**out, "failed": True, "changed": bool(applied.get("changed")) or bool(done), "plan": done, "msg": applied.get("msg")}
            done.extend(str(r.get("what")) for r in records if r.get("ok"))
            out.update(changed=True, plan=done)
            failed = next((r for r in records if not r.get("ok")), None)
            if failed is not None:
                return {**out, "failed": True, "msg": f"{MODULE}: {what}: {failed.get('what')} failed: {failed.get('error')}; nothing after it ran"}
            # What the host has now: nothing left to do, or - after the store's state was brought up to date - the connect.
            synced = bool(planned.reconnect and planned.reconnect.state == "sync")
            try:
                planned = retention.plan(params, wanted, after, release=release, server=server, synced=synced)
            except retention.Refusal as error:
                return {**out, "failed": True, "msg": f"{MODULE}: {what}: {error}"}
            if planned.steps and (not synced or rounds > 1):
                return {**out, "failed": True, "msg": f"{MODULE}: {what}: the cmdlets returned, but the server still needs: " + "; ".join(planned.actions)}
        out.update(retention=planned.after, disconnected=planned.disconnected)
        out["reconnect"] = planned.reconnect.report(done=True) if planned.reconnect else None
        if out["reconnect"] and reason:
            out["reconnect"]["disconnect_reason"] = reason
        out["msg"] = f"{what}: " + "; ".join(done)
        return out


def _diff(planned: retention.Plan) -> dict[str, dict[str, Any]]:
    """Settings before and after; the mailbox to connect, disconnected before and connected to the user after."""
    before: dict[str, Any] = dict(planned.before)
    after: dict[str, Any] = dict(planned.after)
    if planned.reconnect and planned.reconnect.state != "connected":
        mailbox = f"mailbox {planned.reconnect.mailbox.get('display_name')} ({planned.reconnect.mailbox.get('guid')})"
        before[mailbox] = retention.disconnect_state(planned.reconnect.mailbox) or "not shown disconnected by the store"
        after[mailbox] = f"connected to {planned.reconnect.user}"
    return {"before": before, "after": after}
