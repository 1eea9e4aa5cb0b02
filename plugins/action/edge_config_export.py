# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.edge_config_export: the module exports on the Edge, the data file is fetched into
the DR kit on the controller, checked (plugin_utils/_edge_config.py) and removed from the Edge; the declared configuration
read from the Edge is written next to it. A kit file is only replaced when its content changes, and the previous one is
kept with a time stamp."""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._edge_config import KEY_LENGTHS, EdgeConfigError, parse_clone_data, script_verdict
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.edge_config_export"
SHELL_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller")


def declared(definition: dict[str, Any], subscribed: bool) -> dict[str, Any]:
    """The Edge's configuration in edge_config_import's `definition` form. Once the Edge is subscribed, its Send connectors
    and accepted domains are EdgeSync's and are left out (a rebuilt Edge gets them from EdgeSync again)."""
    out: dict[str, Any] = {
        "receive_connectors": [
            {"name": c.get("name"), "bindings": list(c.get("bindings") or []), "remote_ip_ranges": list(c.get("remote_ip_ranges") or []),
             "fqdn": c.get("fqdn"), "usage": "Custom"}
            for c in definition.get("receive_connectors") or []
        ],
    }  # fmt: skip
    if not subscribed:
        out["send_connectors"] = [
            {"name": c.get("name"), "address_spaces": list(c.get("address_spaces") or []), "smart_hosts": list(c.get("smart_hosts") or []),
             "dns_routing": c.get("dns_routing"), "source_ip": c.get("source_ip")}
            for c in definition.get("send_connectors") or []
        ]  # fmt: skip
        out["accepted_domains"] = [
            {"name": d.get("name"), "domain_name": d.get("domain_name"), "domain_type": d.get("domain_type")} for d in definition.get("accepted_domains") or []
        ]
    return out


def store(path: Path, data: bytes) -> bool:
    """Write a kit file (mode 0600) when its content differs; the previous one is kept as <name>.<time stamp>."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.rename(path.with_name(f"{path.name}.{datetime.now(UTC):%Y%m%dT%H%M%SZ}"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return True


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(**argument_spec("edge_config_export")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        if args.get("key") is not None and len(args["key"]) not in KEY_LENGTHS:
            return {
                **result,
                "failed": True,
                "msg": f"Invalid options for {MODULE}: key must be 16, 24 or 32 characters long (ExportEdgeConfig.ps1 -Key), not {len(args['key'])}",
            }
        dest = Path(str(args["dest"])).expanduser()
        name = str(args.get("name") or str(task_vars.get("inventory_hostname", "edge")).split(".", maxsplit=1)[0].upper())
        module_args = {k: args[k] for k in (*SHELL_OPTIONS, "dest", "key", "method") if k in args}
        exported = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        if exported.get("failed"):
            return {**result, **{k: v for k, v in exported.items() if k != "invocation"}}
        out: dict[str, Any] = {k: exported.get(k) for k in ("server", "exchange", "method", "script", "path", "output", "exported", "definition", "subscribed")}
        files: dict[str, Any] = {"data": None, "definition": None}
        changed = False
        if exported.get("method") == "cloned" and not self._task.check_mode:
            verdict = script_verdict("export", exported.get("output"))
            if not verdict["ok"] or not exported.get("exported"):
                detail = "; ".join(verdict["problems"]) or "the script wrote no file"
                return {**result, **out, "failed": True, "msg": f"ExportEdgeConfig.ps1 failed on {exported.get('server')}: {detail}"}
            data_path = dest / f"{name}.CloneConfigData.xml"
            with tempfile.TemporaryDirectory() as scratch:
                local = Path(scratch) / "CloneConfigData.xml"
                self._connection.fetch_file(exported["path"], str(local))
                data = local.read_bytes()
            cleanup = self._execute_module(
                module_name=MODULE, module_args={"dest": str(dest), "_state": "absent", "_path": exported["path"]}, task_vars=task_vars
            )
            try:
                clone = parse_clone_data(data, data_path.name)
            except EdgeConfigError as error:
                return {**result, **out, "failed": True, "msg": f"The exported data file is not usable: {error}"}
            changed = store(data_path, data) or changed
            files["data"] = {"path": str(data_path), "sha256": hashlib.sha256(data).hexdigest(), "objects": {k: len(v) for k, v in clone.objects.items()},
                             "credentials": clone.has_credentials()}  # fmt: skip
            if cleanup.get("failed"):
                result.setdefault("warnings", []).append(f"the exported file stays on the Edge at {exported['path']}: {cleanup.get('msg')}")
        definition_text = yaml.safe_dump(declared(exported.get("definition") or {}, bool(exported.get("subscribed"))), sort_keys=False).encode()
        definition_path = dest / f"{name}.edge-definition.yml"
        if not self._task.check_mode:
            changed = store(definition_path, definition_text) or changed
        else:
            changed = not definition_path.exists() or definition_path.read_bytes() != definition_text or exported.get("method") == "cloned"
        files["definition"] = {"path": str(definition_path), "sha256": hashlib.sha256(definition_text).hexdigest()}
        return {**result, **out, "changed": changed, "files": files}
