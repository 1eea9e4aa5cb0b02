# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.edge_config_import.

Cloned configuration (2007-2013): the data file is parsed and checked here first (an error names its line), copied to a
temporary folder on the Edge, validated there by ImportEdgeConfig.ps1 (step validate: the answer file and the Edge's
current configuration come back), the answer file is filled from `answers` and checked (empty or still-wrong entries are
refused naming their line), and when the Edge is not already configured like the data file the module imports (step
import). Declared configuration (2016+): the module reads the Edge (step read), the changes are computed here, the module
makes them (step apply). plugin_utils/_edge_config.py holds every judgement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._edge_config import (
    KEY_LENGTHS,
    EdgeConfigError,
    configured_like,
    declared_changes,
    fill_answer,
    parse_answer,
    parse_clone_data,
    render_answer,
    script_verdict,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.edge_config_import"
SHELL_OPTIONS = ("exchange_shell", "exchange_connection_uri", "exchange_username", "exchange_password", "domain_controller")


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(**argument_spec("edge_config_import")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        args = {k: v for k, v in validation.validated_parameters.items() if v is not None}
        if not args.get("src") and args.get("definition") is None:
            return {
                **result,
                "failed": True,
                "msg": f"Invalid options for {MODULE}: give src (cloned configuration, 2007 to 2013) or definition (declared, 2016 and later)",
            }
        method = args["method"] if args["method"] != "auto" else ("cloned" if args.get("src") else "declared")
        if (method == "cloned") != bool(args.get("src")):
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: method={method} needs {'src' if method == 'cloned' else 'definition'}"}
        if args.get("key") is not None and len(args["key"]) not in KEY_LENGTHS:
            return {
                **result,
                "failed": True,
                "msg": f"Invalid options for {MODULE}: key must be 16, 24 or 32 characters long (ImportEdgeConfig.ps1 -Key), not {len(args['key'])}",
            }
        host_args = {k: args[k] for k in SHELL_OPTIONS if k in args}
        if method == "declared":
            return self._declared(result, args, host_args, task_vars)
        return self._cloned(result, args, host_args, task_vars)

    def _module(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)

    def _cloned(self, result: dict[str, Any], args: dict[str, Any], host_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        src = Path(str(args["src"])).expanduser()
        try:
            data = src.read_bytes()
        except OSError as error:
            return {**result, "failed": True, "msg": f"src: cannot read {src}: {error.strerror}"}
        try:
            clone = parse_clone_data(data, src.name)
            fill_answer([], args.get("answers"), clone)  # the variables name connectors of the data file, before the host
            user_answer = None
            if args.get("answer_src"):
                answer_path = Path(str(args["answer_src"])).expanduser()
                try:
                    user_answer = (answer_path.read_bytes(), answer_path.name)
                except OSError as error:
                    raise EdgeConfigError(f"answer_src: cannot read {answer_path}: {error.strerror}") from None
                parse_answer(*user_answer)
        except EdgeConfigError as error:
            return {**result, "failed": True, "method": "cloned", "msg": str(error)}
        remote_tmp = self._make_tmp_path()
        try:
            remote_data = self._connection._shell.join_path(remote_tmp, "CloneConfigData.xml")
            self._transfer_data(remote_data, data)
            base = {**host_args, "src": str(src), "method": "cloned", "_data_path": remote_data}
            validated = self._module({**base, "_step": "validate"}, task_vars)
            out = self._public(validated)
            if validated.get("failed"):
                return {**result, **out, "method": "cloned", "failed": True, "msg": validated.get("msg")}
            verdict = script_verdict("validate", validated.get("output"))
            if not verdict["ok"]:
                return {
                    **result,
                    **out,
                    "method": "cloned",
                    "failed": True,
                    "msg": "ImportEdgeConfig.ps1 could not validate the data file: " + ("; ".join(verdict["problems"]) or "no answer file"),
                }
            try:
                if user_answer is not None:
                    entries = parse_answer(*user_answer)
                else:
                    entries = parse_answer((validated.get("answer") or "").encode(), "CloneConfigAnswer.xml (written by the validation)")
                filled = fill_answer(entries, args.get("answers"), clone, user_answer[1] if user_answer else "CloneConfigAnswer.xml")
            except EdgeConfigError as error:
                return {**result, **out, "method": "cloned", "failed": True, "msg": str(error)}
            current = validated.get("current") or {}
            same, differences = configured_like(clone, filled, current, bool(current.get("subscribed")))
            out.update(method="cloned", differences=differences, changes=[])
            if same:
                return {**result, **out, "changed": False, "msg": "The Edge's configuration is already that of the data file"}
            if self._task.check_mode:
                return {**result, **out, "changed": True, "msg": "(check mode) the data file would be imported: " + "; ".join(differences)}
            import_args = {**base, "_step": "import", "_answer": render_answer(filled)}
            if args.get("key"):
                import_args["key"] = args["key"]
            imported = self._module(import_args, task_vars)
            out.update(self._public(imported))
            if imported.get("failed"):
                return {**result, **out, "failed": True, "msg": imported.get("msg")}
            verdict = script_verdict("import", imported.get("output"))
            if not verdict["ok"]:
                return {
                    **result,
                    **out,
                    "changed": True,
                    "failed": True,
                    "msg": "ImportEdgeConfig.ps1 failed: " + ("; ".join(verdict["problems"]) or "no success line"),
                }
            return {**result, **out, "changed": True, "msg": "Importing Edge configuration information succeeded"}
        finally:
            self._remove_tmp_path(remote_tmp)

    def _declared(self, result: dict[str, Any], args: dict[str, Any], host_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        base = {**host_args, "definition": args["definition"], "method": "declared"}
        read = self._module({**base, "_step": "read"}, task_vars)
        out = self._public(read)
        if read.get("failed"):
            return {**result, **out, "method": "declared", "failed": True, "msg": read.get("msg")}
        current = read.get("current") or {}
        try:
            changes, notes = declared_changes(args["definition"], current, bool(current.get("subscribed")))
        except EdgeConfigError as error:
            return {**result, **out, "method": "declared", "failed": True, "msg": str(error)}
        out.update(method="declared", differences=notes, changes=changes)
        for note in notes:
            result.setdefault("warnings", []).append(note)
        if not changes:
            return {**result, **out, "changed": False, "msg": "The Edge's configuration is already the declared one"}
        if self._task.check_mode:
            return {**result, **out, "changed": True, "msg": f"(check mode) {len(changes)} change(s) would be made"}
        applied = self._module({**base, "_step": "apply", "_changes": changes}, task_vars)
        out.update(self._public(applied))
        if applied.get("failed"):
            return {**result, **out, "failed": True, "msg": applied.get("msg")}
        return {**result, **out, "changed": True}

    @staticmethod
    def _public(module_result: dict[str, Any]) -> dict[str, Any]:
        keys = ("server", "exchange", "step", "script", "output", "answer", "current", "applied")
        return {k: module_result[k] for k in keys if k in module_result}
