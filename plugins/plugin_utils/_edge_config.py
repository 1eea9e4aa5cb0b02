# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Edge Transport recovery judged on the controller: the cloned-configuration data file and answer file (parsed safely,
every error naming its line), filling the answer file from variables, the declared configuration of 2016 and later, and the
Edge Subscription file (its age and expiry).

For internal collection use only. Facts and sources: docs/transport-and-edge.md ("Edge Transport", "EdgeSync",
"Declared configuration"). The formats are those of the ExportEdgeConfig.ps1/ImportEdgeConfig.ps1 scripts: a data file
`<ExportedEdgeConfiguration>` with one element per object (named after the cmdlet noun) and one child per property;
an answer file `<MachineSpecificSettings>` with an entry per machine-specific item that failed validation on the target.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import parse_xml

DATA_ROOT = "ExportedEdgeConfiguration"
ANSWER_ROOT = "MachineSpecificSettings"
SUBSCRIPTION_ROOT = "EdgeSubscriptionData"
# the validation template of ImportEdgeConfig.ps1: component -> (key attribute, {item: validation type})
TRANSPORT_PATH_ITEMS = (
    "ConnectivityLogPath",
    "MessageTrackingLogPath",
    "PickupDirectoryPath",
    "PipelineTracingPath",
    "ReceiveProtocolLogPath",
    "ReplayDirectoryPath",
    "RoutingTableLogPath",
    "SendProtocolLogPath",
    "RootDropDirectoryPath",
)
MACHINE_SPECIFIC: dict[str, tuple[str | None, dict[str, str]]] = {
    "TransportServer": (None, {**dict.fromkeys(TRANSPORT_PATH_ITEMS[:-1], "DirectoryPath"), "RootDropDirectoryPath": "NullableDirectoryPath"}),
    "SendConnector": ("Name", {"SourceIPAddress": "IPAddress"}),
    "ReceiveConnector": ("Name", {"Bindings": "Bindings", "Fqdn": "FQDN"}),
}
ESBRA_LIFETIME = timedelta(hours=24)  # ODX edge-subscriptions.md; E10 bb266959 (1,440 minutes)
TICKS_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
KEY_LENGTHS = (16, 24, 32)  # ImportEdgeConfig.ps1 -Key
SUCCESS = {
    "export": re.compile(r"exported successfully to", re.IGNORECASE),
    "validate": re.compile(r"Answer file is successfully created", re.IGNORECASE),
    "import": re.compile(r"Importing Edge configuration information succeeded", re.IGNORECASE),
}
FAILURE_LINES = re.compile(
    r"(Failed|Cannot find|Please specify|Please run|should be running|Key Length|Invalid additional parameter|Reason:|Validation Process)", re.IGNORECASE
)


class EdgeConfigError(ValueError):
    """Bad input: the message names the file (or option) and the line."""


@dataclass
class CloneData:
    """The objects of a cloned-configuration data file, by component, each a property dict with its `_line`."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def names(self, component: str) -> list[str]:
        return [str(o.get("Name") or o.get("Identity") or "") for o in self.objects.get(component, [])]

    def get(self, component: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.objects.get(component, []) if str(o.get("Name", "")).casefold() == name.casefold()), None)

    def has_credentials(self) -> bool:
        return any(o.get("AuthenticationCredential") for o in self.objects.get("SendConnector", []))


def _parse(data: bytes, file_name: str) -> Any:
    try:
        return parse_xml(data, file_name)
    except EmailAgentError as error:
        raise EdgeConfigError("; ".join(_issue(i) for i in error.issues)) from None


def _issue(issue: Any) -> str:
    where = f"{issue.file}:{issue.line}" if getattr(issue, "line", None) else str(issue.file)
    return f"{where}: {issue.message}"


def multi_value(text: str | None) -> list[str]:
    """A multi-valued property as the export writes it: `'a', 'b'`; `$null` or empty is none."""
    value = (text or "").strip()
    if value in ("", "$null"):
        return []
    return [p.strip().strip("'") for p in value.split(",") if p.strip().strip("'")]


def parse_clone_data(data: bytes, file_name: str = "CloneConfigData.xml") -> CloneData:
    """The data file ExportEdgeConfig.ps1 writes; EdgeConfigError (file:line) for anything else."""
    root = _parse(data, file_name)
    if root.tag != DATA_ROOT:
        raise EdgeConfigError(
            f"{file_name}:{root.sourceline}: the root element is <{root.tag}>, not <{DATA_ROOT}>: this is not an Edge cloned-configuration data file"
        )
    clone = CloneData()
    for element in root:
        if not isinstance(element.tag, str):
            continue
        obj: dict[str, Any] = {"_line": element.sourceline}
        for prop in element:
            if not isinstance(prop.tag, str):
                continue
            if prop.tag == "AuthenticationCredential":
                obj[prop.tag] = None if (prop.text or "").strip() == "$null" else {"UserName": prop.findtext("UserName") or ""}
            else:
                obj[prop.tag] = (prop.text or "").strip()
        clone.objects.setdefault(element.tag, []).append(obj)
    if not clone.objects.get("TransportServer"):
        raise EdgeConfigError(f"{file_name}:{root.sourceline}: no <TransportServer> element: the export is incomplete (ExportEdgeConfig.ps1 always writes one)")
    for component in ("SendConnector", "ReceiveConnector", "AcceptedDomain"):
        for obj in clone.objects.get(component, []):
            if not obj.get("Name"):
                raise EdgeConfigError(f"{file_name}:{obj['_line']}: a <{component}> without <Name>")
    return clone


# -- the answer file ---------------------------------------------------------------------------------------------------------------
@dataclass
class AnswerEntry:
    component: str
    key: str  # the Name attribute ("" for TransportServer)
    item: str
    value: str | list[str]
    failed: bool  # preceded by <!-- Validation failed -->
    line: int


def parse_answer(data: bytes, file_name: str = "CloneConfigAnswer.xml") -> list[AnswerEntry]:
    """The entries of an answer file; EdgeConfigError naming the line of anything that is not one."""
    root = _parse(data, file_name)
    if root.tag != ANSWER_ROOT:
        raise EdgeConfigError(
            f"{file_name}:{root.sourceline}: the root element is <{root.tag}>, not <{ANSWER_ROOT}>: this is not an ImportEdgeConfig.ps1 answer file"
        )
    entries: list[AnswerEntry] = []
    for component in root:
        if not isinstance(component.tag, str):
            continue
        if component.tag not in MACHINE_SPECIFIC:
            raise EdgeConfigError(f"{file_name}:{component.sourceline}: <{component.tag}> is not a component of an answer file ({', '.join(MACHINE_SPECIFIC)})")
        key_attr, items = MACHINE_SPECIFIC[component.tag]
        key = ""
        if key_attr:
            key = component.get(key_attr) or ""
            if not key:
                raise EdgeConfigError(f"{file_name}:{component.sourceline}: <{component.tag}> needs its {key_attr} attribute (the connector it is for)")
        failed = False
        for child in component:
            if not isinstance(child.tag, str):
                failed = "failed" in str(child.text or "").casefold()
                continue
            if child.tag not in items:
                raise EdgeConfigError(f"{file_name}:{child.sourceline}: <{child.tag}> is not an item of <{component.tag}> (expected {', '.join(items)})")
            sub = [c for c in child if isinstance(c.tag, str)]
            if sub:
                bad = next((c for c in sub if c.tag != "Item"), None)
                if bad is not None:
                    raise EdgeConfigError(f"{file_name}:{bad.sourceline}: <{bad.tag}> inside <{child.tag}>: multi-valued items are <Item> elements")
                value: str | list[str] = [(c.text or "").strip() for c in sub]
                item_failed = failed or any("failed" in str(c.text or "").casefold() for c in child if not isinstance(c.tag, str))
            else:
                value = (child.text or "").strip()
                item_failed = failed
            entries.append(AnswerEntry(component.tag, key, child.tag, value, item_failed, child.sourceline))
            failed = False
    return entries


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def check_value(kind: str, value: str | list[str]) -> str | None:
    """Why a value cannot be right for its validation type (syntax only; the script checks it on the host), or None."""
    if kind in ("DirectoryPath", "NullableDirectoryPath"):
        text = str(value).strip()
        if kind == "NullableDirectoryPath" and text in ("", "$null"):
            return None
        return None if re.match(r"^[A-Za-z]:\\", text) else f"{text!r} is not a full local folder path"
    if kind == "IPAddress":
        return None if _ip(str(value)) else f"{value!r} is not an IP address"
    if kind == "FQDN":
        text = str(value).strip()
        return None if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*", text) else f"{text!r} is not a host name"
    if kind == "Bindings":
        values = value if isinstance(value, list) else multi_value(str(value))
        if not values:
            return "no binding"
        for binding in values:
            address, sep, port = binding.rpartition(":")
            if not sep or not port.isdigit() or not 0 < int(port) < 65536 or _ip(address) is None:
                return f"{binding!r} is not an IP:port binding"
        return None
    return None


def fill_answer(entries: list[AnswerEntry], answers: dict[str, Any] | None, clone: CloneData, file_name: str = "CloneConfigAnswer.xml") -> list[AnswerEntry]:
    """The answer file's entries with the values of `answers` put in, checked: every entry the script flagged as failed must
    get a value from `answers` (it still holds the source server's value, which is wrong here), every value must fit its
    type, and `answers` may only name connectors of the data file. EdgeConfigError names the line or the variable."""
    answers = answers or {}
    unknown = sorted(set(answers) - {"transport_server", "send_connectors", "receive_connectors"})
    if unknown:
        raise EdgeConfigError(f"answers.{unknown[0]}: unknown key (known: transport_server, send_connectors, receive_connectors)")
    for group, component in (("send_connectors", "SendConnector"), ("receive_connectors", "ReceiveConnector")):
        for name in answers.get(group) or {}:
            if clone.get(component, name) is None:
                known = ", ".join(clone.names(component)) or "none"
                raise EdgeConfigError(f"answers.{group}.{name}: the data file has no {component} named {name!r} (it has: {known})")
    for item in answers.get("transport_server") or {}:
        if item not in TRANSPORT_PATH_ITEMS:
            raise EdgeConfigError(f"answers.transport_server.{item}: not a machine-specific transport server item ({', '.join(TRANSPORT_PATH_ITEMS)})")
    filled: list[AnswerEntry] = []
    for entry in entries:
        value, source = entry.value, f"{file_name}:{entry.line}"
        given = _answer_for(answers, entry)
        if given is not None:
            value, source = given, f"answers ({entry.component} {entry.key or ''} {entry.item})".replace("  ", " ")
        elif entry.failed:
            raise EdgeConfigError(
                f"{file_name}:{entry.line}: <{entry.item}> of {entry.component}{' ' + repr(entry.key) if entry.key else ''} failed validation on this "
                f"server ({_show(entry.value)} is the source server's value); give this server's value in answers.{_group(entry.component)}"
            )
        kind = MACHINE_SPECIFIC[entry.component][1][entry.item]
        empty = (isinstance(value, list) and not [v for v in value if v.strip()]) or (not isinstance(value, list) and not str(value).strip())
        if empty and kind != "NullableDirectoryPath":
            raise EdgeConfigError(
                f"{source}: <{entry.item}> of {entry.component}{' ' + repr(entry.key) if entry.key else ''} is empty; the import fails on an empty value"
            )
        problem = check_value(kind, value)
        if problem:
            raise EdgeConfigError(f"{source}: <{entry.item}> of {entry.component}{' ' + repr(entry.key) if entry.key else ''}: {problem}")
        filled.append(AnswerEntry(entry.component, entry.key, entry.item, value, False, entry.line))
    return filled


def _show(value: str | list[str]) -> str:
    return ", ".join(value) if isinstance(value, list) else repr(value)


def _group(component: str) -> str:
    return {"TransportServer": "transport_server", "SendConnector": "send_connectors", "ReceiveConnector": "receive_connectors"}[component]


def _answer_for(answers: dict[str, Any], entry: AnswerEntry) -> str | list[str] | None:
    if entry.component == "TransportServer":
        value = (answers.get("transport_server") or {}).get(entry.item)
        return None if value is None else str(value)
    group = answers.get(_group(entry.component)) or {}
    spec = next((v for k, v in group.items() if k.casefold() == entry.key.casefold()), None)
    if spec is None:
        return None
    if entry.component == "SendConnector":
        value = spec.get("source_ip") if isinstance(spec, dict) else spec
        return None if value is None else str(value)
    if entry.item == "Bindings":
        bindings = spec.get("bindings") if isinstance(spec, dict) else None
        return None if bindings is None else [str(b) for b in bindings]
    fqdn = spec.get("fqdn") if isinstance(spec, dict) else None
    return None if fqdn is None else str(fqdn)


def render_answer(entries: list[AnswerEntry]) -> str:
    """An answer file ImportEdgeConfig.ps1 reads, from checked entries."""
    lines = [f"<{ANSWER_ROOT}>"]
    groups: dict[tuple[str, str], list[AnswerEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.component, entry.key), []).append(entry)
    for (component, key), items in groups.items():
        key_attr = MACHINE_SPECIFIC[component][0]
        attr = f" {key_attr}={quoteattr(key)}" if key_attr else ""
        lines.append(f"  <{component}{attr}>")
        for e in items:
            if isinstance(e.value, list):
                lines += [f"    <{e.item}>", *(f"      <Item>{escape(v)}</Item>" for v in e.value), f"    </{e.item}>"]
            else:
                lines.append(f"    <{e.item}>{escape(str(e.value))}</{e.item}>")
        lines.append(f"  </{component}>")
    lines.append(f"</{ANSWER_ROOT}>")
    return "\r\n".join(lines) + "\r\n"


def script_verdict(step: str, output: list[str] | None) -> dict[str, Any]:
    """Whether ExportEdgeConfig.ps1 / ImportEdgeConfig.ps1 succeeded: they end with a bare `exit` whatever happened, so only
    their text says it (the success line of the step, and no failure line)."""
    lines = [str(line) for line in output or [] if str(line).strip()]
    ok = any(SUCCESS[step].search(line) for line in lines)
    problems = [line.strip() for line in lines if FAILURE_LINES.search(line) and not SUCCESS[step].search(line)]
    if step == "validate":
        problems = [p for p in problems if not p.startswith("Validation Failed for ")]  # what the answer file is for
    return {"ok": ok and not problems, "problems": problems, "lines": lines}


# -- idempotence: is the Edge already configured like the data file? ----------------------------------------------------------
def configured_like(clone: CloneData, entries: list[AnswerEntry], current: dict[str, Any], subscribed: bool) -> tuple[bool, list[str]]:
    """Whether the Edge's Receive connectors (and, before it is subscribed, Send connectors and accepted domains) are those
    of the data file with the answer file's values; returns (same, differences). EdgeSync replaces Send connectors and
    accepted domains once the Edge is subscribed, so those are not compared then."""
    differences: list[str] = []
    answered = {(e.component, e.key.casefold(), e.item): e.value for e in entries}
    have = {str(c.get("name") or "").casefold(): c for c in current.get("receive_connectors") or []}
    for obj in clone.objects.get("ReceiveConnector", []):
        name = str(obj["Name"])
        found = have.get(name.casefold())
        if found is None:
            differences.append(f"Receive connector {name} is missing")
            continue
        bindings = answered.get(("ReceiveConnector", name.casefold(), "Bindings")) or multi_value(obj.get("Bindings"))
        if sorted(str(b).casefold() for b in found.get("bindings") or []) != sorted(str(b).casefold() for b in bindings):
            differences.append(f"Receive connector {name} binds {', '.join(found.get('bindings') or [])}, not {', '.join(bindings)}")
    extra = sorted(set(have) - {n.casefold() for n in clone.names("ReceiveConnector")})
    differences += [f"Receive connector {have[n].get('name')} is not in the data file" for n in extra]
    if not subscribed:
        for component, key in (("SendConnector", "send_connectors"), ("AcceptedDomain", "accepted_domains")):
            wanted = sorted(n.casefold() for n in clone.names(component))
            present = sorted(str(c.get("name") or "").casefold() for c in current.get(key) or [])
            if wanted != present:
                differences.append(f"{component}s are {', '.join(present) or 'none'}, not {', '.join(wanted) or 'none'}")
    return not differences, differences


# -- declared configuration (2016 and later) --------------------------------------------------------------------------------
DEFINITION_KEYS = {"receive_connectors", "send_connectors", "accepted_domains"}


def declared_changes(definition: dict[str, Any], current: dict[str, Any], subscribed: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """The changes that make the Edge's configuration what `definition` declares: Receive connectors created or their
    bindings, remote IP ranges and FQDN set; Send connectors and accepted domains created (only before the Edge is
    subscribed: EdgeSync owns them after). Returns (changes, notes). EdgeConfigError names the bad key."""
    unknown = sorted(set(definition) - DEFINITION_KEYS)
    if unknown:
        raise EdgeConfigError(f"definition.{unknown[0]}: unknown key (the declared configuration covers {', '.join(sorted(DEFINITION_KEYS))})")
    changes: list[dict[str, Any]] = []
    notes: list[str] = []
    have = {str(c.get("name") or "").casefold(): c for c in current.get("receive_connectors") or []}
    for i, rc in enumerate(definition.get("receive_connectors") or []):
        where = f"definition.receive_connectors[{i}]"
        if not isinstance(rc, dict) or not rc.get("name"):
            raise EdgeConfigError(f"{where}: needs name and bindings")
        bindings = [str(b) for b in rc.get("bindings") or []]
        problem = check_value("Bindings", bindings)
        if problem:
            raise EdgeConfigError(f"{where}.bindings: {problem}")
        ranges = [str(r) for r in rc.get("remote_ip_ranges") or []]
        usage = str(rc.get("usage") or ("Custom" if ranges else "Internet"))
        if usage not in ("Custom", "Internet"):
            raise EdgeConfigError(f"{where}.usage: {usage!r} (the declared configuration takes Custom or Internet)")
        if usage == "Custom" and not ranges:
            raise EdgeConfigError(f"{where}.remote_ip_ranges: a Custom Receive connector needs remote IP ranges")
        found = have.get(str(rc["name"]).casefold())
        wanted = {"name": str(rc["name"]), "bindings": bindings, "remote_ip_ranges": ranges, "fqdn": rc.get("fqdn"), "usage": usage}
        if found is None:
            changes.append({"action": "new_receive_connector", **wanted})
            continue
        update = {}
        if sorted(b.casefold() for b in found.get("bindings") or []) != sorted(b.casefold() for b in bindings):
            update["bindings"] = bindings
        if ranges and sorted(found.get("remote_ip_ranges") or []) != sorted(ranges):
            update["remote_ip_ranges"] = ranges
        if rc.get("fqdn") and str(found.get("fqdn") or "").casefold() != str(rc["fqdn"]).casefold():
            update["fqdn"] = str(rc["fqdn"])
        if update:
            changes.append({"action": "set_receive_connector", "name": str(rc["name"]), **update})
    for group, action in (("send_connectors", "new_send_connector"), ("accepted_domains", "new_accepted_domain")):
        present = {str(c.get("name") or "").casefold() for c in current.get(group) or []}
        for i, item in enumerate(definition.get(group) or []):
            where = f"definition.{group}[{i}]"
            if not isinstance(item, dict) or not item.get("name"):
                raise EdgeConfigError(f"{where}: needs name")
            if group == "send_connectors" and not item.get("address_spaces"):
                raise EdgeConfigError(f"{where}.address_spaces: a Send connector needs address spaces (SMTP:*;1)")
            if group == "accepted_domains" and not re.fullmatch(r"(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", str(item.get("domain_name") or "")):
                raise EdgeConfigError(f"{where}.domain_name: {item.get('domain_name')!r} is not an SMTP domain")
            if str(item["name"]).casefold() in present:
                continue
            if subscribed:
                notes.append(f"{group} {item['name']}: the Edge is subscribed; EdgeSync replicates {group.replace('_', ' ')} from the organisation")
                continue
            changes.append({"action": action, **{k: v for k, v in item.items() if v is not None}})
    return changes, notes


# -- the Edge Subscription file -----------------------------------------------------------------------------------------------
@dataclass
class Subscription:
    edge_server: str
    edge_fqdn: str
    effective: datetime | None
    duration: timedelta
    version: str | None

    @property
    def expires(self) -> datetime | None:
        return self.effective + self.duration if self.effective else None

    def age(self, now: datetime) -> timedelta | None:
        return now - self.effective if self.effective else None

    def to_dict(self, now: datetime) -> dict[str, Any]:
        age = self.age(now)
        return {
            "edge_server": self.edge_server,
            "edge_fqdn": self.edge_fqdn,
            "effective": self.effective.isoformat() if self.effective else None,
            "expires": self.expires.isoformat() if self.expires else None,
            "age_hours": round(age.total_seconds() / 3600, 2) if age is not None else None,
            "valid_hours": round((self.expires - now).total_seconds() / 3600, 2) if self.expires else None,
            "version": self.version,
        }


def _when(text: str) -> datetime | None:
    """EffectiveDate: .NET ticks (what the file's serializer writes for a long) or an xs:dateTime."""
    value = text.strip()
    if re.fullmatch(r"\d{15,19}", value):
        return TICKS_EPOCH + timedelta(microseconds=int(value) // 10)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _span(text: str) -> timedelta | None:
    """Duration: TimeSpan ticks, xs:duration (P1D, PT24H) or d.hh:mm:ss."""
    value = text.strip()
    if re.fullmatch(r"\d+", value):
        return timedelta(microseconds=int(value) // 10)
    if m := re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value):
        d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
        return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if m := re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", value):
        return timedelta(days=int(m.group(1) or 0), hours=int(m.group(2)), minutes=int(m.group(3)), seconds=int(m.group(4)))
    return None


def parse_subscription(data: bytes, file_name: str = "EdgeSubscriptionInfo.xml") -> Subscription:
    """The metadata of an Edge Subscription file (never its ESBRA password). EdgeConfigError names the line."""
    root = _parse(data, file_name)
    if root.tag != SUBSCRIPTION_ROOT:
        raise EdgeConfigError(
            f"{file_name}:{root.sourceline}: the root element is <{root.tag}>, not <{SUBSCRIPTION_ROOT}>: this is not an Edge Subscription file"
        )
    fields = {c.tag: c for c in root if isinstance(c.tag, str)}
    for required in ("EdgeServerName", "ESRAUsername", "ESRAPassword", "EffectiveDate"):
        if required not in fields or not (fields[required].text or "").strip():
            raise EdgeConfigError(f"{file_name}:{root.sourceline}: <{required}> is missing or empty: not a complete Edge Subscription file")
    effective = _when(fields["EffectiveDate"].text or "")
    if effective is None:
        raise EdgeConfigError(f"{file_name}:{fields['EffectiveDate'].sourceline}: <EffectiveDate> {fields['EffectiveDate'].text!r} is not a date")
    duration = ESBRA_LIFETIME
    if "Duration" in fields and (fields["Duration"].text or "").strip():
        parsed = _span(fields["Duration"].text or "")
        if parsed is None:
            raise EdgeConfigError(f"{file_name}:{fields['Duration'].sourceline}: <Duration> {fields['Duration'].text!r} is not a length of time")
        duration = parsed
    version = (fields["SerialNumber"].text or "").strip() if "SerialNumber" in fields else None
    return Subscription(
        str(fields["EdgeServerName"].text).strip(),
        str((fields.get("EdgeServerFQDN").text if "EdgeServerFQDN" in fields else "") or "").strip(),
        effective,
        duration,
        version,
    )


def subscription_refusal(sub: Subscription, edge_server: str, now: datetime, file_name: str) -> str | None:
    """Why the file cannot subscribe `edge_server` now: another Edge's file, or its bootstrap account has expired (with its
    age), else None."""
    if sub.edge_server.casefold() != edge_server.split(".", maxsplit=1)[0].casefold():
        return f"{file_name} is the Edge Subscription file of {sub.edge_server}, not of {edge_server}"
    age = sub.age(now)
    if sub.expires is not None and now >= sub.expires:
        hours = age.total_seconds() / 3600 if age is not None else 0
        return (
            f"{file_name} was created {hours:.1f} hours ago ({sub.effective:%Y-%m-%d %H:%M} UTC) and its EdgeSync bootstrap account expired "
            f"{(now - sub.expires).total_seconds() / 3600:.1f} hours ago (it is valid {sub.duration.total_seconds() / 3600:.0f} hours): create a new "
            f"one on {sub.edge_server} (exchange_dr.recovery.edge_subscription_file) and import it within 24 hours"
        )
    return None


def host_time(text: str | None) -> datetime:
    """A module's UTC time stamp (ISO 8601 from ToString('o')), else the controller's clock."""
    parsed = _when(str(text)) if text else None
    return parsed if parsed is not None else datetime.now(UTC)
