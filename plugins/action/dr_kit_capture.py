# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.dr_kit_capture (docs/dr-kit.md).

1. One read-only module call returns everything the kit records (what to read is plugin_utils/_dr_kit.read_tables()).
2. When the Email Router runs on the host, email_router_config's read returns its configuration set (a second call).
3. The manifest, the kit files and their checksums are built here, compared with the server's newest kit, and - when
   something changed (or it is the first) and not in check mode - written as a new version. Nothing is written otherwise.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit import (
    KitError,
    assemble,
    config_file_name,
    diff,
    finish_manifest,
    latest_version,
    load_kit,
    prune,
    read_index,
    read_tables,
    record_baseline,
    server_dir,
    touch_index,
    version_name,
    write_kit,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.dr_kit_capture"
ROUTER_MODULE = "exchange_dr.recovery.email_router_config"
INTERNAL = ("_tables",)
HOST_OPTIONS = (
    "exchange_shell",
    "exchange_connection_uri",
    "exchange_username",
    "exchange_password",
    "domain_controller",
    "password",
    "email_router_service",
    "dest",
)


def collection_version() -> str:
    """The collection's version, from the installed MANIFEST.json or the source tree's galaxy.yml."""
    root = Path(__file__).resolve().parents[2]
    try:
        return str(json.loads((root / "MANIFEST.json").read_text())["collection_info"]["version"])
    except (OSError, ValueError, KeyError):
        pass
    try:
        for line in (root / "galaxy.yml").read_text().splitlines():
            if line.startswith("version:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def counts(manifest: dict[str, Any]) -> dict[str, int]:
    return {
        "virtual_directories": len(manifest["virtual_directories"]),
        "receive_connectors": len(manifest["receive_connectors"]),
        "certificates": len(manifest["certificates"]),
        "certificate_exports": sum(1 for c in manifest["certificates"] if c["pfx"]),
        "config_files": len(manifest["config_files"]),
        "email_router_files": len((manifest.get("email_router") or {}).get("files") or []),
        "database_copies": len((manifest.get("dag") or {}).get("database_copies") or []),
    }


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        try:
            result.update(self._run(task_vars))
        except KitError as error:
            result.update({"failed": True, "msg": f"{MODULE}: {error}"})
        return result

    def _run(self, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        args = dict(self._task.args)
        internal = [name for name in INTERNAL if name in args]
        if internal:
            return {"failed": True, "msg": f"{MODULE}: {', '.join(internal)} is set by the action plugin, not by tasks"}
        validation = ArgumentSpecValidator(**argument_spec("dr_kit_capture")).validate(args)
        if validation.error_messages:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        dest = Path(params["dest"]).expanduser()
        if dest.exists() and not dest.is_dir():
            return {"failed": True, "msg": f"{MODULE}: dest {dest} is not a folder"}
        baseline = Path(params["baseline_dir"]).expanduser() if params["baseline_dir"] else None
        if params["record_baseline"] and baseline is None:
            return {"failed": True, "msg": f"{MODULE}: record_baseline needs baseline_dir (where the build's defaults are kept)"}
        password = params["password"]
        for path in params["config_files"]:
            config_file_name(path)  # a path that could leave the install folder (or the kit) is refused before anything runs

        # 1. the host: one read-only call
        module_args = {k: params[k] for k in HOST_OPTIONS if params[k] is not None}
        module_args["_tables"] = read_tables(params["config_files"])
        read = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        raw = read.pop("_read", None)
        router_info = read.pop("_email_router", None) or {}
        read.pop("invocation", None)
        if read.get("failed") or raw is None:
            return read
        out: dict[str, Any] = {"server": read.get("server"), "exchange": read.get("exchange"), "changed": False}
        warnings: list[str] = list(read.get("warnings") or [])
        raw["exchange"] = read.get("exchange")
        if raw.get("dag_error"):
            warnings.append(f"DAG membership and database copies were not read: {raw['dag_error']}")

        # 2. the Email Router's set, through email_router_config's own read
        router = None
        if router_info.get("installed"):
            reply = self._execute_module(
                module_name=ROUTER_MODULE, module_args={"_operation": "read", "service_name": router_info.get("service_name")}, task_vars=task_vars
            )
            current = reply.pop("_current_set", None)
            if reply.get("failed"):
                warnings.append(f"the Email Router's configuration set was not read: {reply.get('msg')}")
            router = {"installed": True, "service_folder": reply.get("service_folder"), "set": current or {}}

        # 3. the kit, compared with the newest one
        server = str(read.get("server") or "").upper()
        folder = server_dir(dest, server)
        existing = [v["version"] for v in read_index(folder)["versions"]] if folder.is_dir() else []
        previous_manifest, previous_version = None, None
        newest = latest_version(dest, server) if folder.is_dir() else None
        if newest is not None:
            try:
                previous_manifest, _previous_folder = load_kit(newest)
                previous_version = previous_manifest["version"]
            except KitError as error:
                warnings.append(f"the newest kit cannot be compared with: {error}")
        now = datetime.datetime.now(datetime.timezone.utc)
        version = version_name(now, existing)
        manifest, files, kit_warnings = assemble(
            raw, router, now=now, version=version, previous=previous_version, collection_version=collection_version(), password=password, baseline=baseline
        )
        warnings += kit_warnings
        differences = diff(previous_manifest, manifest) if previous_manifest is not None else []
        new_version = previous_manifest is None or bool(differences)
        check = self._task.check_mode
        kit_path: Path | None = folder / version if new_version else newest
        if new_version and not check:
            finish_manifest(manifest, files)
            kit_path = write_kit(dest, manifest, files)
            prune(dest, server, params["keep"])
        elif not check:
            touch_index(dest, server, now)
        recorded = record_baseline(baseline, manifest, files) if params["record_baseline"] and baseline is not None and not check else []
        if new_version:
            what = "first kit" if previous_manifest is None else f"{len(differences)} change(s) since kit {previous_version}"
            summary = f"{server}: {'would write' if check else 'wrote'} kit {version} ({what})"
        else:
            summary = f"{server}: nothing changed since kit {previous_version}"
            version = previous_version
        out.update(
            changed=new_version,
            kit=str(kit_path) if kit_path is not None and (not check or not new_version) else None,
            version=version,
            previous=previous_version,
            new_version=new_version,
            differences=differences,
            summary=summary,
            counts=counts(manifest),
            baseline_recorded=recorded,
            msg=summary,
        )
        if warnings:
            out["warnings"] = warnings
        return out
