# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.dr_kit_apply (docs/dr-kit.md).

1. The kit is loaded and checked here: schema, the manifest's own checksum, every file's. A damaged kit is refused before
   the host is touched.
2. One read of the host (_operation=read); a kit of another server or build is refused.
3. The steps are planned (plugin_utils/_dr_kit_plan.py). Check mode returns the plan; otherwise one call runs it
   (_operation=apply) and each step's outcome is reported. The task's result never carries what the steps carried (PFX
   exports, file contents).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit import INDEX, MANIFEST, KitError, check_target, load_kit, read_index, read_tables
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit_plan import plan, plan_without_host, public_steps, summary_line
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.dr_kit_apply"
INTERNAL = ("_operation", "_tables", "_steps")
HOST_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller", "kit", "parts")


def kit_folder(path: str) -> Path:
    """A kit version folder from what the task names: the folder, its manifest.json, or a server's folder (its newest)."""
    p = Path(path).expanduser()
    if p.name == MANIFEST:
        return p.parent
    if (p / MANIFEST).is_file():
        return p
    if (p / INDEX).is_file():
        versions = read_index(p)["versions"]
        if not versions:
            raise KitError(f"{p} holds no kit version yet")
        return p / versions[-1]["version"]
    raise KitError(f"{p}: no kit there (expected a kit version folder with {MANIFEST}, or a server's folder with {INDEX})")


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
            result.update({"failed": True, "changed": False, "msg": f"{MODULE}: {error}"})
        return result

    def _run(self, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        args = dict(self._task.args)
        internal = [name for name in INTERNAL if name in args]
        if internal:
            return {"failed": True, "msg": f"{MODULE}: {', '.join(internal)} is set by the action plugin, not by tasks"}
        validation = ArgumentSpecValidator(**argument_spec("dr_kit_apply")).validate(args)
        if validation.error_messages:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters

        # 1. the kit, checked before the host is touched
        manifest, folder = load_kit(kit_folder(params["kit"]))

        # 2. one read of the host
        host_args = {k: params[k] for k in HOST_OPTIONS if params[k] is not None}
        tables = read_tables([f["path"] for f in manifest.get("config_files") or []])
        read = self._execute_module(module_name=MODULE, module_args={**host_args, "_operation": "read", "_tables": tables}, task_vars=task_vars)
        current = read.pop("_read", None)
        read.pop("invocation", None)
        if read.get("failed"):
            return read
        out: dict[str, Any] = {"server": read.get("server"), "exchange": read.get("exchange"), "kit": str(folder), "kit_version": manifest.get("version")}
        check = self._task.check_mode
        if current is None:
            if not check:
                return {**out, "failed": True, "changed": False, "msg": f"{MODULE}: Exchange Server is not installed on {read.get('server')}: recover it first"}
            # check mode before the recovery: what the kit would bring back, compared with nothing yet
            at_most = plan_without_host(manifest, params["parts"])
            summary = (
                f"after the recovery, would re-apply up to {len(at_most.steps)} step(s) from kit {manifest.get('version')} (the server is not recovered yet)"
            )
            out.update(changed=bool(at_most.steps), steps=public_steps(at_most.steps), notes=at_most.notes, summary=summary, msg=summary)
            if at_most.notes:
                out["warnings"] = list(at_most.notes)
            return out
        current["exchange"] = read.get("exchange")
        refusal = check_target(manifest, str(read.get("server") or ""), str((read.get("exchange") or {}).get("version")))
        if refusal:
            return {**out, "failed": True, "changed": False, "msg": f"{MODULE}: refusing kit {folder}: {refusal}"}

        # 3. the plan, and (not in check mode) the run
        planned = plan(manifest, folder, current, parts=params["parts"], password_given=bool(params["password"]))
        if planned.blocked:
            return {**out, "failed": True, "changed": False, "notes": planned.notes, "msg": f"{MODULE}: nothing was changed: " + "; ".join(planned.blocked)}
        out["notes"] = planned.notes
        if planned.notes:
            out["warnings"] = list(planned.notes)
        if check or not planned.steps:
            out.update(changed=bool(planned.steps), steps=public_steps(planned.steps), summary=summary_line(planned.steps, check_mode=check))
            out["msg"] = out["summary"]
            return out
        apply_args = {**host_args, "_operation": "apply", "_tables": tables, "_steps": planned.steps}
        if params["password"]:
            apply_args["password"] = params["password"]
        applied = self._execute_module(module_name=MODULE, module_args=apply_args, task_vars=task_vars)
        results = applied.pop("_results", None)
        applied.pop("invocation", None)
        if applied.get("failed") or results is None:
            return {**out, **{k: v for k, v in applied.items() if k in ("failed", "msg", "exception", "changed")}}
        steps = public_steps(planned.steps, results)
        failed = [s for s in steps if s["status"] == "failed"]
        done = [s for s in steps if s["status"] == "done"]
        out.update(changed=bool(done), steps=steps, summary=summary_line(done, check_mode=False))
        if failed:
            out["failed"] = True
            out["msg"] = f"{MODULE}: {len(failed)} of {len(steps)} step(s) failed: " + "; ".join(f"{s['summary']}: {s['error']}" for s in failed)
        else:
            out["msg"] = out["summary"]
        return out
