# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.email_router_config.

1. Validate the options; take the new set from `src` (read here) or `definition` (rendered here) and validate it - a bad set
   fails before any connection to the host is used.
2. One read-only module call returns the set in the Service folder (and, for `remote_src`, the set there), which is then
   validated here the same way.
3. Compare (normalised XML): an equal set ends the task unchanged. Check mode ends here with the redacted diff.
4. Otherwise upload the set (not for `remote_src`) and make one `place` call with the SHA-256 of each validated file, so the
   host places exactly what was validated.
Secrets (definition passwords, EmailPassword values, the key) are kept out of the result, the diff and the warnings.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_diff import diff_sets
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE, SET_FILES, XML_FILES
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError, Issue
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_normalise import changed_files
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_redact import redacted_text, secret_values
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_render import DefinitionError, definition_secrets, render_definition
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import parse_xml
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_validate import SetReport, validate_set
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

MODULE = "exchange_dr.recovery.email_router_config"
SOURCES = ("src", "remote_src", "definition")
INTERNAL = ("_operation", "_checksums")
# Options the Windows module uses; src, definition and organization stay on the controller.
HOST_OPTIONS = (
    "service_name",
    "registry_path",
    "registry_value",
    "service_folder",
    "service_account",
    "backup_path",
    "keep_backups",
    "verify_seconds",
    "failure_text",
    "event_sources",
    "max_file_size",
)


class SetError(Exception):
    """The set cannot be used; `errors` are Issues (or plain messages)."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


def read_local_set(folder: str, max_bytes: int) -> dict[str, bytes]:
    """The set files of a controller folder (names matched case-insensitively); refuses files over the limit unread."""
    base = Path(folder)
    if not base.is_dir():
        raise SetError(f"src '{folder}' is not a folder on the controller")
    files: dict[str, bytes] = {}
    for path in sorted(base.iterdir()):
        name = next((k for k in SET_FILES if k.casefold() == path.name.casefold()), None)
        if name is None or not path.is_file():
            continue
        size = path.stat().st_size
        if size > max_bytes:
            issue = Issue("error", name, f"the file is {size} bytes, more than the limit of {max_bytes} bytes")
            raise SetError(str(issue), [issue])
        files[name] = path.read_bytes()
    return files


def decode_set(raw: dict[str, Any] | None, where: str, max_bytes: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, entry in (raw or {}).items():
        if entry.get("content") is None:
            issue = Issue("error", name, f"the file in {where} is {entry.get('size')} bytes, more than the limit of {max_bytes} bytes")
            raise SetError(str(issue), [issue])
        files[name] = base64.b64decode(entry["content"])
    return files


def compare(current: dict[str, bytes], oversize: dict[str, dict[str, Any]], new: dict[str, bytes]) -> list[str]:
    """Set files that differ; a file in place too large to read is compared by its SHA-256."""
    changed = set(changed_files(current, new)) - set(oversize)
    for name, entry in oversize.items():
        if name not in new or hashlib.sha256(new[name]).hexdigest() != entry.get("sha256"):
            changed.add(name)
    return [name for name in SET_FILES if name in changed]


def checked(files: dict[str, bytes], organization: str | None, max_bytes: int, where: str) -> SetReport:
    report = validate_set(files, organization, max_bytes)
    if report.errors:
        raise SetError(f"Invalid Email Router configuration set from {where}: " + "; ".join(str(i) for i in report.errors), report.issues)
    return report


def secrets_of(files: dict[str, bytes], max_bytes: int) -> set[str]:
    """Passwords and keys in a set (to keep them out of anything returned)."""
    out: set[str] = set()
    for name in XML_FILES:
        if name not in files:
            continue
        try:
            out |= {v for v in secret_values(parse_xml(files[name], name, max_bytes)).values() if v and len(v) > 3}
        except EmailAgentError:
            continue
    return out


def issue_dicts(issues: list[Issue]) -> list[dict[str, Any]]:
    return [{"file": i.file, "line": i.line, "element": i.element, "message": i.message} for i in issues if i.severity == "error"]


class ActionModule(ActionBase):
    # Files are uploaded only once the set is valid and differs: the temporary folder is made then, not before validation.
    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        secrets: set[str] = set()
        try:
            outcome = self._run(task_vars, secrets)
        except SetError as error:
            outcome = {"failed": True, "msg": f"{MODULE}: {error}", "errors": issue_dicts(error.issues)}
        result.update(outcome)
        return remove_values(result, secrets) if secrets else result

    def _run(self, task_vars: dict[str, Any] | None, secrets: set[str]) -> dict[str, Any]:
        args = dict(self._task.args)
        internal = [name for name in INTERNAL if name in args]
        if internal:
            return {"failed": True, "msg": f"{MODULE}: {', '.join(internal)} are set by the action plugin, not by tasks"}
        validation = ArgumentSpecValidator(**argument_spec("email_router_config")).validate(args)
        secrets |= {str(v) for v in validation._no_log_values if v}
        if validation.error_messages:
            return {"failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        given = [name for name in SOURCES if params[name] is not None]
        if len(given) != 1:
            return {"failed": True, "msg": f"{MODULE}: exactly one of src, remote_src and definition is required (got {', '.join(given) or 'none'})"}
        source = given[0]
        max_bytes = params["max_file_size"]
        organization = params["organization"]

        # 1. a set from the controller is read (or rendered) and validated before the host is touched
        files: dict[str, bytes] = {}
        report: SetReport | None = None
        if source == "src":
            files = read_local_set(params["src"], max_bytes)
            secrets |= secrets_of(files, max_bytes)
            report = checked(files, organization, max_bytes, f"src '{params['src']}'")
        elif source == "definition":
            secrets |= set(definition_secrets(params["definition"]))
            try:
                files = {CONFIG_FILE: render_definition(params["definition"])}
            except DefinitionError as error:
                return {"failed": True, "msg": f"{MODULE}: invalid definition: {error}"}
            report = checked(files, organization, max_bytes, "definition")

        # 2. one read-only call: the set in place (and the remote source)
        host_args = {name: params[name] for name in HOST_OPTIONS if params[name] is not None}
        read_args = {**host_args, "_operation": "read"}
        if source == "remote_src":
            read_args["remote_src"] = params["remote_src"]
        read = self._execute_module(module_name=MODULE, module_args=read_args, task_vars=task_vars)
        current_raw = read.pop("_current_set", None)
        source_raw = read.pop("_source_set", None)
        if read.get("failed"):
            return read
        # files in place over the size limit are not read: they are compared by their SHA-256 only
        oversize = {name: entry for name, entry in (current_raw or {}).items() if entry.get("content") is None}
        current = decode_set({n: e for n, e in (current_raw or {}).items() if n not in oversize}, "the Service folder", max_bytes)
        secrets |= secrets_of(current, max_bytes)
        if source == "remote_src":
            files = decode_set(source_raw, params["remote_src"], max_bytes)
            secrets |= secrets_of(files, max_bytes)
            report = checked(files, organization, max_bytes, f"remote_src '{params['remote_src']}'")
        if report is None:  # pragma: no cover - every source produced a report above
            raise SetError("no configuration set was read")

        folder = read.get("service_folder") or ""
        changed = compare(current, oversize, files)
        out: dict[str, Any] = {
            "changed": bool(changed),
            "source": source,
            "service_folder": folder,
            "service_name": read.get("service_name"),
            "service_account": read.get("service_account"),
            "service_state": read.get("service_state"),
            "files": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in sorted(report.files.items())],
            "changed_files": changed,
            "backup_folder": None,
            "rolled_back": False,
            "failure_event": None,
        }
        warnings = [str(w) for w in report.warnings]
        if warnings:
            out["warnings"] = warnings
        if changed and self._task.diff:
            out["diff"] = diff_sets(current, files, folder)
            for name in sorted(set(changed) & set(oversize)):
                out["diff"].append(
                    {
                        "before_header": f"{folder}\\{name}",
                        "after_header": f"{folder}\\{name}" + ("" if name in files else " (absent)"),
                        "before": f"<not read: {oversize[name].get('size')} bytes, more than max_file_size>\n",
                        "after": redacted_text(name, files.get(name)),
                    }
                )
        if not changed or self._task.check_mode:
            return out

        # 4. place exactly the validated set
        checksums = {name: hashlib.sha256(data).hexdigest() for name, data in report.files.items()}
        staging = None
        try:
            if source == "remote_src":
                location = params["remote_src"]
            else:
                staging = self._make_tmp_path()
                for name, data in report.files.items():
                    self._transfer_data(self._connection._shell.join_path(staging, name), data)
                location = staging
            place = self._execute_module(
                module_name=MODULE, module_args={**host_args, "_operation": "place", "remote_src": location, "_checksums": checksums}, task_vars=task_vars
            )
        finally:
            if staging is not None:  # the staged copy holds credentials: gone as soon as it is placed
                self._remove_tmp_path(staging)
                self._connection._shell.tmpdir = None
        for key in ("backup_folder", "rolled_back", "failure_event", "service_state", "service_account"):
            if key in place:
                out[key] = place[key]
        if place.get("failed"):
            out.update(failed=True, msg=place.get("msg"), changed=bool(place.get("changed")))
            if "exception" in place:
                out["exception"] = place["exception"]
        return out
