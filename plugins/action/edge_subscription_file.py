# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.edge_subscription_file: a valid file already at `dest` for this Edge is kept
(nothing runs on the Edge); otherwise the module makes one, it is fetched (mode 0600), checked (plugin_utils/_edge_config.py)
and deleted from the Edge. Only metadata is returned: the file holds a password in clear text."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._edge_config import EdgeConfigError, host_time, parse_subscription
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.edge_subscription_file"
SHELL_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller")


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(**argument_spec("edge_subscription_file")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        dest = Path(str(args["dest"])).expanduser()
        edge = str(task_vars.get("inventory_hostname_short") or task_vars.get("inventory_hostname", "")).split(".", maxsplit=1)[0].upper()
        now = datetime.now(UTC)
        out: dict[str, Any] = {"server": edge, "path": None, "created": None, "dest": str(dest), "subscription": None}
        if dest.exists() and not args["force"]:
            try:
                current = parse_subscription(dest.read_bytes(), dest.name)
            except EdgeConfigError as error:
                current = None
                result.setdefault("warnings", []).append(f"{dest} is not a usable Edge Subscription file ({error}); making a new one")
            if (
                current is not None
                and current.edge_server.upper() == edge
                and current.expires
                and (current.expires - now).total_seconds() >= args["min_valid_hours"] * 3600
            ):
                return {
                    **result,
                    **out,
                    "changed": False,
                    "subscription": current.to_dict(now),
                    "msg": f"{dest} is valid until {current.expires:%Y-%m-%d %H:%M} UTC",
                }
        if self._task.check_mode:
            return {**result, **out, "changed": True, "msg": f"(check mode) a new Edge Subscription file would be made on {edge}"}
        host_args = {k: args[k] for k in SHELL_OPTIONS if k in args}
        made = self._execute_module(module_name=MODULE, module_args={**host_args, "dest": str(dest)}, task_vars=task_vars)
        out.update({k: made.get(k) for k in ("server", "path", "created") if k in made})
        if made.get("failed"):
            return {**result, **out, "failed": True, "msg": made.get("msg")}
        with tempfile.TemporaryDirectory() as scratch:
            local = Path(scratch) / "EdgeSubscriptionInfo.xml"
            self._connection.fetch_file(made["path"], str(local))
            data = local.read_bytes()
        cleanup = self._execute_module(
            module_name=MODULE, module_args={**host_args, "dest": str(dest), "_state": "absent", "_path": made["path"]}, task_vars=task_vars
        )
        if cleanup.get("failed"):
            result.setdefault("warnings", []).append(f"the Edge Subscription file stays on the Edge at {made['path']}: {cleanup.get('msg')} - delete it")
        try:
            sub = parse_subscription(data, dest.name)
        except EdgeConfigError as error:
            return {**result, **out, "changed": True, "failed": True, "msg": f"The Edge wrote no usable Edge Subscription file: {error}"}
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")  # mode 0600, then put in place at once
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(staged).replace(dest)
        return {**result, **out, "changed": True, "subscription": sub.to_dict(host_time(made.get("created")))}
