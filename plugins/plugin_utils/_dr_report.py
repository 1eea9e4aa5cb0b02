# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The DR report: what a run did per host and per phase, rendered as JSON, JUnit XML and a short console summary.

For internal collection use only. The `exchange_dr.recovery.dr_report` callback feeds `DrReport` with Ansible's events
(phase = play, task results per host); everything that decides an outcome, a duration, a failure's cause or what is
secret lives here, as plain Python, so it is unit-tested without Ansible.

Secrets never reach an output:
- a result Ansible hid (`no_log`) contributes its status and nothing else;
- the value of every key whose name looks secret (password, key, secret, token...) is replaced by `REDACTED`, wherever
  it appears (task arguments, results, host and play variables given to `Redactor.learn`);
- every value learnt that way is also removed from all free text (messages, warnings, stderr, item labels, task names);
- `name=value` / `-Name value` / `/Name:value` pairs with a secret-looking name are redacted in free text as well.
Redaction happens when an output is rendered, so a secret learnt late in a run is still removed from what came before.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

SCHEMA = "exchange_dr.recovery/dr_report/v1"
REDACTED = "********"
NO_LOG_MARKER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
HIDDEN = "(output hidden by no_log)"

# Key names whose values are secret. Deliberately broad: a redacted harmless value costs little, a leaked password a lot.
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?s?$|passw(or)?d|pwd|secret|token|credential|api.?key|private.?key|encryption.?key|"
    r"(^|[_.\-\s])key$|^key([_.\-]|$)|keytab|vault|cookie|session.?id|signature|^auth|_auth$|authorization",
    re.IGNORECASE,
)
# Secret-looking `name=value`, `name: value`, `/Name:value` and `-Name value` pairs in free text.
_SECRET_WORD = r"[A-Za-z0-9_.\-]*?(?:password|passwd|pwd|secret|token|apikey|api_key|credential)s?"  # noqa: S105 - a pattern
_VALUE = r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;\"'}\]]+)"
_TEXT_PAIRS = (
    re.compile(rf"(?P<name>(?<![A-Za-z0-9_])[-/]?{_SECRET_WORD})(?P<sep>\"?\s*[=:]\s*){_VALUE}", re.IGNORECASE),
    re.compile(rf"(?P<name>(?<![A-Za-z0-9_])[-/]{_SECRET_WORD})(?P<sep>\s+){_VALUE}", re.IGNORECASE),
)
MIN_SECRET_LENGTH = 4  # shorter values are not learnt as secrets (they would blank out ordinary words and numbers)
MAX_TEXT = 2000  # characters kept of one message
MAX_LINES = 8  # lines kept of stderr/stdout in a failure
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

OUTCOMES = ("failed", "unreachable", "interrupted", "changed", "ok", "skipped", "not_run")


# -- redaction -----------------------------------------------------------------------------------------------------------------
class Redactor:
    """Knows what is secret: key names (patterns) and the values learnt from secret-named keys."""

    def __init__(self, extra_name_patterns: Iterable[str] = ()) -> None:
        self._names = [SECRET_NAME, *(re.compile(p, re.IGNORECASE) for p in extra_name_patterns if p)]
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def is_secret_name(self, name: object) -> bool:
        return isinstance(name, str) and any(p.search(name) for p in self._names)

    def add_value(self, value: object) -> None:
        """Treat `value` (and, for a string with surrounding spaces, its stripped form) as a secret."""
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (list, tuple, set)):
            for v in value:
                self.add_value(v)
            return
        if isinstance(value, Mapping):
            for v in value.values():
                self.add_value(v)
            return
        text = str(value)
        for candidate in (text, text.strip()):
            wanted = len(candidate) >= MIN_SECRET_LENGTH and candidate not in (NO_LOG_MARKER, REDACTED) and "{{" not in candidate
            if wanted and candidate not in self._values:
                self._values.add(candidate)
                self._pattern = None

    def learn(self, data: object) -> None:
        """Learn the values of every secret-named key in `data` (mappings and lists, any depth)."""
        if isinstance(data, Mapping):
            for key, value in data.items():
                if self.is_secret_name(key):
                    self.add_value(value)
                else:
                    self.learn(value)
        elif isinstance(data, (list, tuple)):
            for value in data:
                self.learn(value)

    @property
    def known_values(self) -> int:
        return len(self._values)

    def text(self, value: object) -> str:
        """Free text with every learnt secret value and every secret-looking pair redacted."""
        text = "" if value is None else str(value)
        if self._values:
            if self._pattern is None:
                self._pattern = re.compile("|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True)))
            text = self._pattern.sub(REDACTED, text)
        for pattern in _TEXT_PAIRS:
            text = pattern.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}" if m["value"] != REDACTED else m[0], text)
        return text.replace(NO_LOG_MARKER, REDACTED)

    def data(self, value: object) -> Any:
        """A copy of JSON-shaped data with secret-named keys' values and secrets in strings redacted."""
        if isinstance(value, Mapping):
            return {str(k): (REDACTED if self.is_secret_name(k) and v not in (None, "") else self.data(v)) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (bool, int, float)) or value is None:
            return value
        return self.text(value)


# -- helpers on Ansible result dictionaries ------------------------------------------------------------------------------------
def message_text(entry: object) -> str:
    """The text of a warning/deprecation/exception entry: a string, a dict (`msg` or `event.msg`), or a summary object."""
    if entry is None:
        return ""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping):
        event = entry.get("event")
        if isinstance(event, Mapping) and event.get("msg"):
            return str(event["msg"])
        for key in ("msg", "message", "details"):
            if entry.get(key):
                return str(entry[key])
        return json.dumps(entry, default=str, sort_keys=True)
    event = getattr(entry, "event", None)
    if event is not None and getattr(event, "msg", None):
        return str(event.msg)
    return str(entry)


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _lines(value: object, limit: int = MAX_LINES) -> list[str]:
    if isinstance(value, list):
        lines = [str(x) for x in value]
    elif isinstance(value, str):
        lines = value.splitlines()
    else:
        return []
    lines = [ln.rstrip() for ln in lines if ln.strip()]
    return lines[:limit] + ([f"... ({len(lines) - limit} more lines)"] if len(lines) > limit else [])


def is_hidden(result: Mapping[str, Any]) -> bool:
    return bool(result.get("_ansible_no_log")) or "censored" in result


def item_label(result: Mapping[str, Any]) -> str | None:
    if is_hidden(result):
        return HIDDEN
    label = result.get("_ansible_item_label", result.get("item"))
    if label is None:
        return None
    return label if isinstance(label, str) else json.dumps(label, default=str, sort_keys=True)


# Failures whose message is the transport's, not the task's: what they mean for the operator (the fault matrix, docs/fault-matrix.md,
# shows each of them). pywinrm/requests word a dropped TCP connection as 'Connection aborted.'/RemoteDisconnected, a session
# that did not survive a restart of the host or of WinRM as HTTP 400, an unreachable listener as 'Connection refused'.
CONNECTION_HINTS = (
    (
        re.compile(r"Connection aborted|RemoteDisconnected|Connection reset|Connection refused|Max retries exceeded|Read timed out|Code 400\b"),
        "the WinRM connection to the host was lost during this task (network, or the host or WinRM restarted): whether the task's "
        "change happened is not known; run again - the DR run resumes and skips the work that is done",
    ),
    (
        re.compile(r"credentials were rejected|the user name or password is incorrect|401 Unauthorized", re.IGNORECASE),
        "the host refused the logon: check ansible_user and ansible_password (or the vault) for this host",
    ),
)


def connection_hint(message: str) -> str | None:
    """What a transport-level failure message means for the operator, or None."""
    return next((hint for pattern, hint in CONNECTION_HINTS if pattern.search(message)), None)


def failure_cause(result: Mapping[str, Any]) -> dict[str, Any]:
    """What a failed (or unreachable) result says about why: message, rc, stderr/stdout lines, exception, hints, failed items."""
    if is_hidden(result):
        return {"msg": HIDDEN}
    cause: dict[str, Any] = {}
    msg = result.get("msg") or result.get("reason") or result.get("message")
    if msg:
        cause["msg"] = _clip(message_text(msg))
    if isinstance(result.get("rc"), int) and not isinstance(result.get("rc"), bool):
        cause["rc"] = result["rc"]
    for key in ("stderr", "stdout"):
        lines = _lines(result.get(f"{key}_lines") or result.get(key))
        if lines and (key == "stderr" or "msg" not in cause or cause.get("rc")):
            cause[key] = lines
    if result.get("exception"):
        exc = message_text(result["exception"]).strip().splitlines()
        if exc and exc[-1].strip() != "(traceback unavailable)":
            cause["exception"] = _clip(exc[-1], 500)
    for key in ("hints", "errors", "error_lines", "log_path", "failed_services", "not_running"):
        if result.get(key):
            cause[key] = result[key]
    items = [r for r in result.get("results") or [] if isinstance(r, Mapping) and r.get("failed")]
    if items:
        cause["items"] = [{"item": item_label(r), **failure_cause(r)} for r in items[:10]]
        if "msg" not in cause or cause["msg"] == "One or more items failed":
            cause["msg"] = "; ".join(c.get("msg", "failed") for c in cause["items"])
    if not cause:
        cause["msg"] = "failed without a message"
    hint = connection_hint(str(cause.get("msg", "")))
    if hint:
        cause["hint"] = hint
    return cause


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# -- the model -------------------------------------------------------------------------------------------------------------
@dataclass
class HostPhase:
    """One host in one phase."""

    host: str
    started: float | None = None
    finished: float | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("ok", "changed", "failed", "skipped", "unreachable", "ignored", "rescued"), 0))
    changes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    not_run_reason: str | None = None
    running: int = 0  # tasks started and not finished (a task in flight when the run was interrupted)
    interrupted: bool = False

    @property
    def outcome(self) -> str:
        if self.counts["unreachable"]:
            return "unreachable"
        if self.failures:
            return "failed"
        if self.interrupted:
            return "interrupted"
        if self.counts["changed"]:
            return "changed"
        if self.counts["ok"] or self.counts["ignored"] or self.counts["rescued"]:
            return "ok"
        if self.counts["skipped"]:
            return "skipped"
        return "not_run"

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return max(0.0, self.finished - self.started)


@dataclass
class Phase:
    """One play of the run."""

    name: str
    play: str
    check_mode: bool = False
    started: float | None = None
    finished: float | None = None
    hosts: dict[str, HostPhase] = field(default_factory=dict)

    def host(self, name: str) -> HostPhase:
        if name not in self.hosts:
            self.hosts[name] = HostPhase(name)
        return self.hosts[name]

    @property
    def outcome(self) -> str:
        outcomes = {hp.outcome for hp in self.hosts.values()}
        for outcome in OUTCOMES:
            if outcome in outcomes:
                return outcome
        return "not_run"

    @property
    def duration(self) -> float | None:
        return None if self.started is None or self.finished is None else max(0.0, self.finished - self.started)


class DrReport:
    """Collects a run's events; renders them. Feed it in event order; `finish()` once at the end."""

    def __init__(self, playbook: str = "", *, redactor: Redactor | None = None, clock: Callable[[], float] = time.time) -> None:
        self.playbook = playbook
        self.redactor = redactor or Redactor()
        self.clock = clock
        self.started = clock()
        self.finished: float | None = None
        self.phases: list[Phase] = []
        self.check_mode = False
        self.stats: dict[str, dict[str, int]] = {}
        self.run_id = datetime.fromtimestamp(self.started, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.interrupted = False

    # -- events ------------------------------------------------------------------------------------------------------------
    @property
    def current(self) -> Phase | None:
        return self.phases[-1] if self.phases else None

    def start_phase(self, name: str, play: str = "", hosts: Iterable[str] = (), check_mode: bool = False) -> Phase:
        now = self.clock()
        if self.current is not None and self.current.finished is None:
            self.current.finished = now
        phase = Phase(name=name or play or f"play {len(self.phases) + 1}", play=play or name, check_mode=check_mode, started=now)
        for host in hosts:
            phase.host(host)
        self.check_mode = self.check_mode or check_mode
        self.phases.append(phase)
        return phase

    def _phase(self) -> Phase:
        return self.current or self.start_phase("run")

    def task_started(self, host: str) -> None:
        hp = self._phase().host(host)
        hp.running += 1
        if hp.started is None:
            hp.started = self.clock()

    def task_result(
        self,
        host: str,
        status: str,
        task: str,
        result: Mapping[str, Any],
        *,
        action: str = "",
        args: Mapping[str, Any] | None = None,
        ignore_errors: bool = False,
        rescued: bool = False,
        dry_run: bool = False,
    ) -> None:
        """Record one task result; status is ok, failed, skipped or unreachable (as the callback event says). A failure
        with `ignore_errors` or inside a block whose rescue handles it (`rescued`) is a warning, not a failure. A task forced
        into check mode in a real run (`dry_run`: a role's own preflight) changed nothing, whatever it reports."""
        now = self.clock()
        hidden = is_hidden(result)
        if not hidden:
            self.redactor.learn(result)
        if args:
            self.redactor.learn(args)
        hp = self._phase().host(host)
        hp.running = max(0, hp.running - 1)
        hp.started = now if hp.started is None else hp.started
        hp.finished = now
        entry_base = {"task": task, **({"action": action} if action else {})}
        if status == "unreachable":
            hp.counts["unreachable"] += 1
            hp.failures.append({**entry_base, "kind": "unreachable", **failure_cause(result)})
            return
        if status == "skipped":
            hp.counts["skipped"] += 1
            return
        if status == "failed" and rescued:
            hp.counts["rescued"] += 1
            hp.warnings.append(f"{task}: failed, handled by the block's rescue: {failure_cause(result).get('msg', '')}")
            return
        if status == "failed" and not ignore_errors:
            hp.counts["failed"] += 1
            failure = {**entry_base, "kind": "failed", **failure_cause(result)}
            invocation = result.get("invocation") if not hidden else None
            if isinstance(invocation, Mapping) and isinstance(invocation.get("module_args"), Mapping):
                failure["args"] = dict(invocation["module_args"])
            hp.failures.append(failure)
            return
        if status == "failed":
            hp.counts["ignored"] += 1
            hp.warnings.append(f"{task}: failed (ignored): {failure_cause(result).get('msg', '')}")
            return
        hp.counts["ok"] += 1
        if not hidden:
            for warning in result.get("warnings") or []:
                hp.warnings.append(f"{task}: {message_text(warning)}")
        if result.get("changed") and not (dry_run and not self.check_mode):
            hp.counts["changed"] += 1
            hp.changes.extend(self._changes(entry_base, result))

    @staticmethod
    def _changes(base: dict[str, Any], result: Mapping[str, Any]) -> list[dict[str, Any]]:
        if is_hidden(result):
            return [{**base, "detail": HIDDEN}]
        items = [r for r in result.get("results") or [] if isinstance(r, Mapping) and r.get("changed")]
        if items:
            return [{**base, "item": item_label(r), **_change_detail(r)} for r in items]
        # a task that reports its own steps (exchange_dr.recovery.dr_kit_apply): one change per step done or planned
        steps = [st for st in result.get("steps") or [] if isinstance(st, Mapping) and st.get("status") in ("done", "planned") and st.get("summary")]
        if steps:
            return [{**base, "item": str(st["summary"])} for st in steps]
        return [{**base, **_change_detail(result)}]

    def finish(self, stats: Mapping[str, Mapping[str, int]] | None = None, *, interrupted: bool = False) -> None:
        now = self.clock()
        self.finished = now
        self.interrupted = interrupted
        if self.current is not None and self.current.finished is None:
            self.current.finished = now
        if interrupted and self.current is not None:
            for hp in self.current.hosts.values():
                if hp.running:
                    hp.interrupted, hp.finished = True, now
        self.stats = {h: dict(s) for h, s in (stats or {}).items()}
        self._mark_not_run()

    def _mark_not_run(self) -> None:
        stopped: dict[str, str] = {}
        for phase in self.phases:
            for name, hp in phase.hosts.items():
                if hp.outcome == "not_run":
                    hp.not_run_reason = f"host stopped in phase {stopped[name]}" if name in stopped else "no task ran for this host"
                elif hp.outcome in ("failed", "unreachable", "interrupted") and name not in stopped:
                    stopped[name] = phase.name

    # -- derived -----------------------------------------------------------------------------------------------------------
    @property
    def ran_phases(self) -> list[Phase]:
        """The phases in which at least one host ran a task (a play skipped whole, by tags or conditions, is left out)."""
        return [p for p in self.phases if any(hp.started is not None for hp in p.hosts.values())]

    @property
    def host_names(self) -> list[str]:
        names: dict[str, None] = {}
        for phase in self.phases:
            names.update(dict.fromkeys(phase.hosts))
        return list(names)

    def host_outcome(self, host: str) -> str:
        outcomes = [p.hosts[host].outcome for p in self.phases if host in p.hosts]
        if "unreachable" in outcomes:
            return "unreachable"
        if "failed" in outcomes:
            return "failed"
        if self.interrupted or "interrupted" in outcomes:
            return "interrupted"
        if "changed" in outcomes:
            return "planned" if self.check_mode else "recovered"
        return "unchanged" if outcomes else "not_run"

    def host_duration(self, host: str) -> float | None:
        spans = [(p.hosts[host].started, p.hosts[host].finished) for p in self.phases if host in p.hosts and p.hosts[host].started is not None]
        if not spans:
            return None
        return max(end or start for start, end in spans) - min(start for start, _end in spans)

    @property
    def outcome(self) -> str:
        hosts = [self.host_outcome(h) for h in self.host_names]
        if any(o in ("failed", "unreachable") for o in hosts):
            return "failed"
        if self.interrupted:
            return "interrupted"
        return "planned" if self.check_mode else "succeeded"

    @property
    def duration(self) -> float:
        return max(0.0, (self.finished or self.clock()) - self.started)

    # -- outputs -----------------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON report (redacted)."""
        phases = []
        for phase in self.ran_phases:
            phases.append(
                {
                    "name": phase.name,
                    "play": phase.play,
                    "outcome": phase.outcome,
                    "started": _iso(phase.started),
                    "finished": _iso(phase.finished),
                    "duration_s": _round(phase.duration),
                    "hosts": {name: self._host_phase_dict(hp) for name, hp in phase.hosts.items()},
                }
            )
        hosts = {}
        for name in self.host_names:
            mine = [(p, p.hosts[name]) for p in self.ran_phases if name in p.hosts]
            hosts[name] = {
                "outcome": self.host_outcome(name),
                "recovery_time_s": _round(self.host_duration(name)),
                "phases": {p.name: hp.outcome for p, hp in mine},
                "changed": sum(hp.counts["changed"] for _phase, hp in mine),
                "warnings": sum(len(hp.warnings) for _phase, hp in mine),
                "failures": [{"phase": p.name, **f} for p, hp in mine for f in hp.failures],
                "stats": self.stats.get(name, {}),
            }
        doc = {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "playbook": self.playbook,
            "check_mode": self.check_mode,
            "outcome": self.outcome,
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "duration_s": _round(self.duration),
            "hosts": hosts,
            "phases": phases,
        }
        return self.redactor.data(doc)

    @staticmethod
    def _host_phase_dict(hp: HostPhase) -> dict[str, Any]:
        out: dict[str, Any] = {
            "outcome": hp.outcome,
            "started": _iso(hp.started),
            "finished": _iso(hp.finished),
            "duration_s": _round(hp.duration),
            "tasks": {k: v for k, v in hp.counts.items() if v},
            "changes": hp.changes,
            "warnings": hp.warnings,
            "failures": hp.failures,
        }
        if hp.not_run_reason:
            out["not_run_reason"] = hp.not_run_reason
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str) + "\n"

    def to_junit(self) -> str:
        """JUnit XML: one testsuite per phase, one testcase per host (time = the host's time in that phase)."""
        data = self.to_dict()
        root = ET.Element("testsuites", name=f"DR run {data['playbook'] or ''}".strip(), time=_fmt(data["duration_s"]), timestamp=data["started"] or "")
        totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        for phase in data["phases"]:
            suite = ET.SubElement(root, "testsuite", name=phase["name"], timestamp=phase["started"] or "", time=_fmt(phase["duration_s"]))
            props = ET.SubElement(suite, "properties")
            for key, value in (("play", phase["play"]), ("check_mode", str(data["check_mode"]).lower()), ("run_id", data["run_id"])):
                ET.SubElement(props, "property", name=key, value=_xml(value))
            counts = dict.fromkeys(totals, 0)
            for host, hp in phase["hosts"].items():
                case = ET.SubElement(suite, "testcase", classname=f"dr_run.{phase['name']}", name=host, time=_fmt(hp["duration_s"]))
                counts["tests"] += 1
                if hp["outcome"] in ("failed", "unreachable"):
                    tag = "error" if hp["outcome"] == "unreachable" else "failure"
                    counts["errors" if tag == "error" else "failures"] += 1
                    first = hp["failures"][0] if hp["failures"] else {}
                    node = ET.SubElement(case, tag, message=_xml(_clip(f"{first.get('task', '')}: {first.get('msg', '')}", 500)), type=hp["outcome"])
                    node.text = _xml("\n\n".join(_failure_text(f) for f in hp["failures"]))
                elif hp["outcome"] == "interrupted":
                    counts["errors"] += 1
                    ET.SubElement(case, "error", message="the run was interrupted while this host was in this phase", type="interrupted")
                elif hp["outcome"] in ("skipped", "not_run"):
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=_xml(hp.get("not_run_reason") or "every task skipped"))
                out_lines = [f"outcome: {hp['outcome']}"]
                out_lines += [f"{'would change' if data['check_mode'] else 'changed'}: {_change_text(c)}" for c in hp["changes"]]
                out_lines += [f"warning: {w}" for w in hp["warnings"]]
                ET.SubElement(case, "system-out").text = _xml("\n".join(out_lines))
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
        for key, value in totals.items():
            root.set(key, str(value))
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def summary_lines(self, files: Iterable[str] = ()) -> list[str]:
        """The short human summary printed at the end of the run (redacted)."""
        data = self.to_dict()
        phase_names = [p["name"] for p in data["phases"]]
        verdict = {"succeeded": "SUCCEEDED", "failed": "FAILED", "planned": "PLAN (check mode, nothing changed)", "interrupted": "INTERRUPTED"}
        headline = verdict.get(data["outcome"], data["outcome"])
        lines = [f"DR REPORT {data['playbook']}: {headline} in {human_duration(data['duration_s'])} (run {data['run_id']})"]
        if not data["hosts"]:
            return [*lines, "  no host ran a task"]
        width = max(len(h) for h in data["hosts"]) + 2
        cols = [max(len(n), 11) + 2 for n in phase_names]
        lines.append("  " + "host".ljust(width) + "".join(n.ljust(c) for n, c in zip(phase_names, cols, strict=True)) + "time")
        for host, summary in data["hosts"].items():
            cells = []
            for phase, col in zip(data["phases"], cols, strict=True):
                hp = phase["hosts"].get(host)
                cell = "-" if hp is None else _cell(hp, data["check_mode"])
                cells.append(cell.ljust(col))
            lines.append("  " + host.ljust(width) + "".join(cells) + f"{human_duration(summary['recovery_time_s'])}  {summary['outcome']}")
        for host, summary in data["hosts"].items():
            for failure in summary["failures"]:
                lines.append(f"  FAILED {host} / {failure['phase']} / {failure['task']}: {_clip(str(failure.get('msg', '')), 300)}")
                if failure.get("hint"):
                    lines.append(f"    hint: {failure['hint']}")
        warnings = [(host, phase["name"], w) for phase in data["phases"] for host, hp in phase["hosts"].items() for w in hp["warnings"]]
        for host, phase, warning in warnings[:5]:
            lines.append(f"  warning {host} / {phase}: {_clip(warning, 200)}")
        if len(warnings) > 5:
            lines.append(f"  ... {len(warnings) - 5} more warning(s) in the report")
        files = list(files)
        if files:
            lines.append("  report: " + ", ".join(files))
        return lines


def _change_detail(result: Mapping[str, Any]) -> dict[str, Any]:
    msg = result.get("msg")
    return {"detail": _clip(message_text(msg), 300)} if isinstance(msg, str) and msg.strip() else {}


def _change_text(change: Mapping[str, Any]) -> str:
    text = str(change.get("task", ""))
    if change.get("item") is not None:
        text += f" [{change['item']}]"
    if change.get("detail"):
        text += f" ({change['detail']})"
    return text


def _failure_text(failure: Mapping[str, Any]) -> str:
    parts = [f"task: {failure.get('task', '')}", f"msg: {failure.get('msg', '')}"]
    for key in ("rc", "exception", "log_path", "hint"):
        if key in failure:
            parts.append(f"{key}: {failure[key]}")
    for key in ("stderr", "stdout", "error_lines", "hints"):
        if failure.get(key):
            value = failure[key]
            parts.append(f"{key}:\n  " + "\n  ".join(str(x) for x in (value if isinstance(value, list) else [value])))
    return "\n".join(parts)


def _cell(hp: Mapping[str, Any], check_mode: bool) -> str:
    outcome = hp["outcome"]
    if outcome == "changed":
        n = hp["tasks"].get("changed", 0)
        return f"{'would chg' if check_mode else 'changed'}({n})"
    if outcome == "not_run":
        return "not run"
    return outcome


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _fmt(value: float | None) -> str:
    return f"{(value or 0.0):.3f}"


def _xml(value: object) -> str:
    return _XML_INVALID.sub("?", str(value))
