# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dr_report
type: aggregate
short_description: Writes the DR report (JSON, JUnit XML) and prints a short summary at the end of a run
description:
  - Records, per host and per phase, what a disaster-recovery run did - outcome, duration (the achieved recovery time),
    what changed (or would change in check mode), warnings, and failures with their cause - and at the end of the run
    writes it as JSON and JUnit XML files and prints a short human summary on the console.
  - A phase is a play. A play names its phase with the play variable C(dr_report_phase) (the plays of
    C(exchange_dr.recovery.dr_run) do); otherwise the play's name is the phase.
  - Works beside any stdout callback, so it runs unchanged under C(ansible-playbook), C(ansible-runner) and AWX /
    Automation Platform. Enable it with C(callbacks_enabled) in C(ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED).
  - "Secrets never appear in the report: results hidden with C(no_log) contribute their status only; values of keys whose
    names look secret (password, key, secret, token, credential, vault...) are replaced by C(********) wherever they appear
    - in task arguments, results, inventory, play and extra variables - and every such value is also removed from messages,
    warnings, stderr and item labels; C(name=value) pairs with a secret-looking name are redacted in free text."
version_added: 0.1.0
author:
  - exchange_dr.recovery maintainers (@exchange-dr)
requirements:
  - enabled with C(callbacks_enabled) (see examples)
options:
  output_dir:
    description:
      - Folder the report files are written to (created when missing).
      - When unset, C(<artifact dir>/dr_report) under ansible-runner and AWX (C(AWX_ISOLATED_DATA_DIR)), else C(reports)
        in the current working folder.
    type: path
    env:
      - name: EXCHANGE_DR_REPORT_DIR
    ini:
      - section: callback_dr_report
        key: output_dir
  formats:
    description:
      - Report files to write. Each run writes C(<prefix>-<run id>.<ext>) and the same content to C(<prefix>.<ext>)
        (the latest run, a stable name for pipelines).
      - An empty list writes no file (the console summary is still printed when I(console_summary) is true).
    type: list
    elements: str
    choices: [json, junit]
    default: [json, junit]
    env:
      - name: EXCHANGE_DR_REPORT_FORMATS
    ini:
      - section: callback_dr_report
        key: formats
  file_prefix:
    description: Base name of the report files.
    type: str
    default: dr_report
    env:
      - name: EXCHANGE_DR_REPORT_PREFIX
    ini:
      - section: callback_dr_report
        key: file_prefix
  console_summary:
    description: Print the short human summary (a table of hosts by phase, failures with their cause, the report files) at the end.
    type: bool
    default: true
    env:
      - name: EXCHANGE_DR_REPORT_CONSOLE
    ini:
      - section: callback_dr_report
        key: console_summary
  secret_names:
    description:
      - Extra regular expressions (case-insensitive, searched in key and variable names) whose values are secret, on top of
        the built-in ones (password, passwd, pwd, secret, token, credential, api key, private key, encryption key, key,
        vault, cookie, signature, auth).
    type: list
    elements: str
    default: []
    env:
      - name: EXCHANGE_DR_REPORT_SECRET_NAMES
    ini:
      - section: callback_dr_report
        key: secret_names
notes:
  - "JSON layout (schema C(exchange_dr.recovery/dr_report/v1)): C(outcome) (succeeded, failed, planned in check mode,
    interrupted), C(started), C(finished), C(duration_s), C(hosts) (per host: outcome, C(recovery_time_s), outcome per
    phase, failures) and C(phases) (in run order; per phase and host: outcome, duration, task counts, C(changes),
    C(warnings), C(failures) with C(msg), C(rc), C(stderr), C(exception), hints and the redacted module arguments)."
  - JUnit layout - one C(testsuite) per phase, one C(testcase) per host, whose time is the host's time in the phase;
    a failed host is a C(failure), an unreachable one an C(error), a host that never ran in the phase is C(skipped).
  - The recovery time of a host is the time from its first task to its last task in the run.
seealso:
  - name: The DR run playbook
    description: C(exchange_dr.recovery.dr_run) names its plays as the phases of a DR run.
    link: https://github.com/exchange-dr/recovery/blob/main/README.md
"""

EXAMPLES = r"""
# ansible.cfg of a project that runs the DR playbook:
#   [defaults]
#   callbacks_enabled = exchange_dr.recovery.dr_report
#   [callback_dr_report]
#   output_dir = reports

# From a shell or a pipeline step:
#   ANSIBLE_CALLBACKS_ENABLED=exchange_dr.recovery.dr_report EXCHANGE_DR_REPORT_DIR=out/dr \
#     ansible-playbook -i inventory.yml exchange_dr.recovery.dr_run

# AWX / Automation Platform: in the job template's "Extra environment variables" (or the project's ansible.cfg):
#   ANSIBLE_CALLBACKS_ENABLED: exchange_dr.recovery.dr_report
"""

import atexit
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_report import DrReport, Redactor

EXTENSIONS = {"json": "json", "junit": "junit.xml"}


class CallbackModule(CallbackBase):
    """Collects per host and phase what a DR run did; writes JSON + JUnit XML and prints a summary at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "exchange_dr.recovery.dr_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None) -> None:
        super().__init__(display=display)
        self.report: DrReport | None = None
        self.written: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------------
    def _ensure_report(self, playbook: str = "") -> DrReport:
        if self.report is None:
            try:
                patterns = self.get_option("secret_names") or []
            except KeyError:
                patterns = []
            self.report = DrReport(playbook, redactor=Redactor(patterns))
            atexit.register(self._on_exit)
        return self.report

    def _on_exit(self) -> None:
        """An interrupted run (Ctrl-C, a killed job) never reaches the stats event: write what it did so far."""
        if self.report is not None and self.report.finished is None:
            self.report.finish(interrupted=True)
            self.written = self._write(self.report)

    def v2_playbook_on_start(self, playbook: Any) -> None:
        name = getattr(playbook, "_file_name", "") or ""
        self._ensure_report(Path(name).name if name else "")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        report = self._ensure_report()
        play_vars = getattr(play, "vars", None) or {}
        phase = play_vars.get("dr_report_phase") if isinstance(play_vars, Mapping) else None
        phase_name = str(phase) if isinstance(phase, str) and "{{" not in phase else ""
        name = str(play.get_name()).strip() if hasattr(play, "get_name") else ""
        report.start_phase(phase_name or name, name, self._play_hosts(play, report), check_mode=self._check_mode(play))

    def _check_mode(self, play: Any) -> bool:
        if getattr(play, "check_mode", None) is True:
            return True
        try:
            return bool(context.CLIARGS.get("check", False))
        except Exception:  # pragma: no cover - no CLI (API use)
            return False

    def _play_hosts(self, play: Any, report: DrReport) -> list[str]:
        """The play's hosts (after --limit), and the secrets in their variables, when Ansible lets us see them."""
        try:
            manager = play.get_variable_manager()
            inventory = manager._inventory
        except Exception:
            return []
        # learn secrets from extra vars, play vars and the inventory before any output can contain them
        for source in (getattr(manager, "extra_vars", None), getattr(play, "vars", None)):
            if isinstance(source, Mapping):
                report.redactor.learn(dict(source))
        pattern = play.hosts
        try:
            if any("{{" in p for p in (pattern if isinstance(pattern, list) else [pattern])):
                pattern = Templar(loader=play._loader, variables=dict(manager.extra_vars)).template(pattern)
            hosts = inventory.get_hosts(pattern)
        except Exception:
            hosts = []
        for host in hosts:
            try:
                report.redactor.learn(dict(host.get_vars()))
                for group in host.get_groups():
                    report.redactor.learn(dict(group.get_vars()))
            except Exception:  # noqa: S112 - a host whose variables cannot be read simply teaches nothing
                continue
        return [h.name for h in hosts]

    # -- task events ---------------------------------------------------------------------------------------------------
    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._ensure_report().task_started(host.get_name())

    def _record(self, result: Any, status: str, ignore_errors: bool = False) -> None:
        task = result.task
        args = getattr(task, "args", None)
        self._ensure_report().task_result(
            result.host.get_name(),
            status,
            result.task_name or task.get_name(),
            result.result,
            action=str(getattr(task, "action", "") or ""),
            args=args if isinstance(args, Mapping) else None,
            ignore_errors=ignore_errors,
            rescued=status == "failed" and not ignore_errors and _in_block_with_rescue(task),
            dry_run=getattr(task, "check_mode", None) is True,
        )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "failed", ignore_errors)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")

    def v2_runner_on_async_failed(self, result: Any) -> None:
        self._record(result, "failed")

    # -- the end -------------------------------------------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats: Any) -> None:
        report = self._ensure_report()
        per_host = {h: stats.summarize(h) for h in sorted(stats.processed)} if hasattr(stats, "processed") else {}
        report.finish(per_host)
        self.written = self._write(report)
        if self.get_option("console_summary"):
            self._display.display("")
            for line in report.summary_lines(self.written):
                self._display.display(line)

    def _output_dir(self) -> Path:
        configured = self.get_option("output_dir")
        if configured:
            return Path(configured)
        artifacts = os.environ.get("AWX_ISOLATED_DATA_DIR")
        return Path(artifacts) / "dr_report" if artifacts else Path("reports")

    def _write(self, report: DrReport) -> list[str]:
        formats = [f for f in (self.get_option("formats") or []) if f in EXTENSIONS]
        if not formats:
            return []
        folder = self._output_dir()
        prefix = self.get_option("file_prefix") or "dr_report"
        written: list[str] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                content = report.to_json() if fmt == "json" else report.to_junit()
                for name in (f"{prefix}-{report.run_id}.{EXTENSIONS[fmt]}", f"{prefix}.{EXTENSIONS[fmt]}"):
                    path = folder / name
                    tmp = path.with_name(f".{path.name}.tmp")
                    tmp.write_text(content, encoding="utf-8")
                    tmp.replace(path)
                written.append(str(folder / f"{prefix}.{EXTENSIONS[fmt]}"))
        except OSError as e:
            self._display.warning(f"dr_report: could not write the report to {folder}: {e}")
        return written


def _in_block_with_rescue(task: Any) -> bool:
    """Is the task in the `block:` part of a block that has a `rescue:` (so its failure is handled)?"""
    parent = getattr(task, "_parent", None)
    while parent is not None:
        rescue = getattr(parent, "rescue", None)
        block = getattr(parent, "block", None)
        if rescue and isinstance(block, list) and _contains(block, task):
            return True
        parent = getattr(parent, "_parent", None)
    return False


def _contains(tasks: list[Any], task: Any) -> bool:
    uuid = getattr(task, "_uuid", None)
    for entry in tasks:
        if entry is task or (uuid is not None and getattr(entry, "_uuid", None) == uuid):
            return True
        inner = getattr(entry, "block", None)
        if isinstance(inner, list) and _contains(inner, task):
            return True
    return False
