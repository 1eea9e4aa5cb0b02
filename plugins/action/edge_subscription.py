# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.edge_subscription: the module reads the subscriptions and EdgeSync's status
(step query); a subscribed and synchronized Edge is left alone. Otherwise the subscription file is checked here (its Edge,
its age against the server's clock: plugin_utils/_edge_config.py), copied to a temporary folder on the server, and the module
subscribes and waits (step subscribe). state=absent removes the subscription (step remove)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._edge_config import EdgeConfigError, host_time, parse_subscription, subscription_refusal
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.edge_subscription"
PUBLIC = ("server", "step", "site", "host_time", "subscriptions", "subscribed", "removed", "sync", "start", "waited", "timed_out")


def synchronized(module_result: dict[str, Any]) -> bool:
    """Subscribed, and Test-EdgeSynchronization says Normal."""
    return bool(module_result.get("subscribed")) and (module_result.get("sync") or {}).get("status") == "Normal"


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(**argument_spec("edge_subscription")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None and not k.startswith("_")}
        edge = str(args["edge_server"]).split(".", maxsplit=1)[0].upper()
        if not edge:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: edge_server is empty"}
        if args["timeout"] < 0 or args["poll_interval"] < 1:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: timeout must be 0 or more and poll_interval 1 or more"}
        args["edge_server"] = edge
        out: dict[str, Any] = {"subscription": None, "file_removed": False, "synchronized": False}
        query = self._execute_module(module_name=MODULE, module_args={**args, "_step": "query"}, task_vars=task_vars)
        out.update({k: query[k] for k in PUBLIC if k in query})
        if query.get("failed"):
            return {**result, **out, "failed": True, "msg": query.get("msg")}
        current = next((s for s in query.get("subscriptions") or [] if str(s.get("name", "")).casefold() == edge.casefold()), None)
        if args["state"] == "absent":
            if current is None:
                return {**result, **out, "changed": False, "msg": f"{edge} has no Edge Subscription"}
            removed = self._execute_module(module_name=MODULE, module_args={**args, "_step": "remove"}, task_vars=task_vars)
            out.update({k: removed[k] for k in PUBLIC if k in removed})
            if removed.get("failed"):
                return {**result, **out, "failed": True, "msg": removed.get("msg")}
            return {**result, **out, "changed": True, "msg": f"{'(check mode) ' if self._task.check_mode else ''}the Edge Subscription of {edge} removed"}
        my_site = query.get("site")
        site = args.get("site") or (current or {}).get("site") or my_site
        sync = query.get("sync") or {}
        if current is not None and str(current.get("site") or "").casefold() == str(site or "").casefold():
            if str(current.get("site") or "").casefold() != str(my_site or "").casefold():
                return {
                    **result,
                    **out,
                    "failed": True,
                    "msg": f"{edge} is subscribed to the site {current.get('site')}; {query.get('server')} is in {my_site}: "
                    f"run this on a Mailbox or Hub Transport server of {current.get('site')}",
                }
            if sync.get("status") == "Normal":
                out["synchronized"] = True
                return {**result, **out, "changed": False, "msg": f"{edge} is subscribed to {site} and synchronized (last {sync.get('last')})"}
        why = (
            f"{edge} is not subscribed"
            if current is None
            else (
                f"{edge} is subscribed to {current.get('site')}, not {site}"
                if str(current.get("site")).casefold() != str(site).casefold()
                else f"EdgeSync reports {sync.get('status') or 'nothing'} for {edge}" + (f": {sync['failure']}" if sync.get("failure") else "")
            )
        )
        if not args.get("subscription_file") and self._task.check_mode:
            return {
                **result,
                **out,
                "changed": True,
                "msg": f"(check mode) {why.rstrip('.')}: {edge} would be subscribed to {site} with a new Edge Subscription file",
            }
        if not args.get("subscription_file"):
            return {
                **result,
                **out,
                "failed": True,
                "msg": f"{why.rstrip('.')}; give subscription_file, an Edge Subscription file made on {edge} within the last 24 hours "
                "(exchange_dr.recovery.edge_subscription_file)",
            }
        path = Path(str(args["subscription_file"])).expanduser()
        try:
            data = path.read_bytes()
        except OSError as error:
            return {**result, **out, "failed": True, "msg": f"subscription_file: cannot read {path}: {error.strerror}"}
        now = host_time(query.get("host_time"))
        try:
            sub = parse_subscription(data, path.name)
        except EdgeConfigError as error:
            return {**result, **out, "failed": True, "msg": str(error)}
        out["subscription"] = sub.to_dict(now)
        refusal = subscription_refusal(sub, edge, now, path.name)
        if refusal:
            return {**result, **out, "failed": True, "msg": refusal}
        if self._task.check_mode:
            return {**result, **out, "changed": True, "msg": f"(check mode) {why}: {edge} would be subscribed to {site} with {path.name}"}
        remote_tmp = self._make_tmp_path()
        try:
            remote = self._connection._shell.join_path(remote_tmp, "EdgeSubscriptionInfo.xml")
            self._transfer_data(remote, data)
            done = self._execute_module(module_name=MODULE, module_args={**args, "site": site, "_step": "subscribe", "_file_path": remote}, task_vars=task_vars)
        finally:
            self._remove_tmp_path(remote_tmp)
        out.update({k: done[k] for k in PUBLIC if k in done})
        out["synchronized"] = synchronized(done)
        if done.get("failed"):
            return {**result, **out, "failed": True, "msg": done.get("msg")}
        if args["remove_file"]:
            try:
                path.unlink()
                out["file_removed"] = True
            except OSError as error:
                result.setdefault("warnings", []).append(f"{path} holds a password and cannot be used again; delete it ({error.strerror})")
        sync = done.get("sync") or {}
        if sync.get("status") != "Normal":
            detail = sync.get("failure") or "; ".join(str(s.get("failure")) for s in done.get("start") or [] if s.get("failure")) or "no detail"
            return {
                **result,
                **out,
                "changed": True,
                "failed": True,
                "msg": f"{edge} was subscribed to {site} but EdgeSync reports {sync.get('status') or 'nothing'} after {done.get('waited')} seconds: {detail}",
            }
        return {**result, **out, "changed": True, "msg": f"{edge} subscribed to {site} and synchronized after {done.get('waited')} seconds"}
