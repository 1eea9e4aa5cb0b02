"""ExportEdgeConfig.ps1 and ImportEdgeConfig.ps1 of an Edge Transport server (2007-2013, `<install>\\Scripts`), as programs
(`#!simulator-program edge_export_config {}` / `edge_import_config {}`): the module runs them in its Exchange Management
Shell (`& <script> -CloneConfigData:<file> ...`) and the twin runs the program with the same arguments.

Facts (docs/transport-and-edge.md, "cloned configuration"): the parameters (-CloneConfigData, -CloneConfigAnswer, -IsImport,
-Key of 16, 24 or 32 characters, a default key otherwise), the data file `<ExportedEdgeConfiguration>` with one element per
object named after the cmdlet noun, the answer file `<MachineSpecificSettings>` with an entry per machine-specific item that
fails validation on the target (transport server paths; Send connector SourceIPAddress; Receive connector Bindings and
Fqdn), each preceded by `<!-- Validation failed -->`, the messages they print, and that they end with a bare `exit` (the
exit code does not tell success). What they read and write is the Edge's AD LDS (simulator/exchange/edge.py). The
encryption of connector passwords is modelled (a keyed XOR with a check prefix), not ConvertFrom-SecureString's.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from defusedxml.ElementTree import ParseError, fromstring

from simulator.exchange import edge, transport
from simulator.programs import ProcessContext, program
from simulator.winerror import WinError

DEFAULT_KEY = "A9ABA4D2C21C4bc58B303EA47BBE3608"
COMPONENTS = ("TransportServer", "AcceptedDomain", "RemoteDomain", "TransportAgent", "SendConnector", "ReceiveConnector")
# the validation template: component -> (key attribute, [(item, validation type)])
MACHINE_SPECIFIC: dict[str, tuple[str | None, list[tuple[str, str]]]] = {
    "TransportServer": (None, [(k, "DirectoryPath") for k in edge.TRANSPORT_PATHS] + [("RootDropDirectoryPath", "NullableDirectoryPath")]),
    "SendConnector": ("Name", [("SourceIPAddress", "IPAddress")]),
    "ReceiveConnector": ("Name", [("Bindings", "Bindings"), ("Fqdn", "FQDN")]),
}
_STORE_KEYS = {"AcceptedDomain": "accepted_domains", "RemoteDomain": "remote_domains", "TransportAgent": "transport_agents",
               "SendConnector": "send_connectors", "ReceiveConnector": "receive_connectors"}  # fmt: skip
_NL = "\r\n"


def _params(argv: list[str]) -> dict[str, str]:
    """`-Name:value` or `-Name value`, names case-insensitive (PowerShell's binding of the scripts' untyped param())."""
    out: dict[str, str] = {}
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            name, sep, value = arg[1:].partition(":")
            if not sep and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                value, i = argv[i + 1], i + 1
            out[name.casefold()] = value.strip('"')
        i += 1
    return out


def _bool(value: str | None) -> bool:
    return str(value or "").strip().casefold() in ("$true", "true", "1")


def _key(params: dict[str, str], ctx: ProcessContext) -> str | None:
    key = params.get("key") or DEFAULT_KEY
    if key == DEFAULT_KEY:
        ctx.out(f"WARNING: Passwords will be encrypted with a default script encryption key{_NL}")
    if len(key) not in (16, 24, 32):
        ctx.out(f"Key Length needs to be 16, 24 or 32 bytes long.{_NL}")
        return None
    return key


def _check_edge(ctx: ProcessContext, verb: str) -> dict[str, Any] | None:
    if not edge.adam_running(ctx.host):
        ctx.out(f"Adam service should be running, in order to {verb} clone config.{_NL}")
        return None
    if not edge.is_edge(ctx.host):
        ctx.out(f"Please run the {verb.capitalize()} script on the Edge Server.{_NL}")
        return None
    try:
        return edge.load(ctx.host)
    except edge.EdgeError as error:
        ctx.out(f"{error}{_NL}")
        return None


def _log(ctx: ProcessContext, text: str) -> None:
    root = transport.install_path(ctx.host)
    if root:
        path = rf"{root}\Logging\SetupLogs\cloneLogFile.log"
        ctx.host.mkdir(rf"{root}\Logging\SetupLogs")
        ctx.host.write_bytes(path, (_NL + text + _NL).encode(), append=ctx.host.exists(path))


# -- password encryption (modelled) ------------------------------------------------------------------------------------------
def encrypt(password: str, key: str) -> str:
    stream = hashlib.sha256(key.encode()).digest()
    data = b"EXDR" + password.encode()
    return bytes(b ^ stream[i % len(stream)] for i, b in enumerate(data)).hex()


def decrypt(blob: str, key: str) -> str | None:
    stream = hashlib.sha256(key.encode()).digest()
    try:
        data = bytes(b ^ stream[i % len(stream)] for i, b in enumerate(bytes.fromhex(blob)))
    except ValueError:
        return None
    return data[4:].decode(errors="replace") if data.startswith(b"EXDR") else None


# -- ExportEdgeConfig.ps1 ------------------------------------------------------------------------------------------------------
def _value(v: Any) -> str:
    if v is None or v in ([], ""):
        return "$null"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, list):
        return ", ".join(f"'{x}'" for x in v)
    return str(v)


def export_xml(data: dict[str, Any], key: str) -> str:
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<ExportedEdgeConfiguration>"]
    objects: list[tuple[str, dict[str, Any]]] = [("TransportServer", {"Name": data["server"], **data["transport_server"]})]
    for component, store_key in _STORE_KEYS.items():
        objects += [(component, dict(item)) for item in data.get(store_key) or []]
    for component, obj in objects:
        lines.append(f"  <{component}>")
        for prop, value in obj.items():
            if prop == "Credential":
                if value:
                    lines.append(f"    <AuthenticationCredential>{_NL}      <UserName>{escape(value['UserName'])}</UserName>")
                    lines.append(f"      <Password>{encrypt(value['Password'], key)}</Password>{_NL}    </AuthenticationCredential>")
                else:
                    lines.append("    <AuthenticationCredential>$null</AuthenticationCredential>")
                continue
            lines.append(f"    <{prop}>{escape(_value(value))}</{prop}>")
        if component == "SendConnector":
            lines.append("    <LinkedReceiveConnector>$null</LinkedReceiveConnector>")
        lines.append(f"  </{component}>")
    lines.append("</ExportedEdgeConfiguration>")
    return _NL.join(lines) + _NL


@program("edge_export_config")
def export_edge_config(ctx: ProcessContext) -> int:
    params = _params(ctx.argv)
    key = _key(params, ctx)
    data = _check_edge(ctx, "export")
    if key is None or data is None:
        return 0
    target = params.get("cloneconfigdata")
    if not target:
        ctx.out(f"Input parameters are not set{_NL}")
        return 0
    _log(ctx, "************ BEGIN EXPORT PROCESS **************")
    try:
        ctx.host.write_text(ctx.resolve(target), export_xml(data, key))
    except WinError as error:
        ctx.out(f"Exporting Edge configuration information failed.{_NL}Reason: {error.message}{_NL}")
        return 0
    ctx.out(f"Edge configuration is exported successfully to {target}{_NL}")
    _log(ctx, "************ END EXPORT PROCESS **************")
    return 0


# -- ImportEdgeConfig.ps1 --------------------------------------------------------------------------------------------------------
def _multi(text: str) -> list[str]:
    text = (text or "").strip()
    if text in ("", "$null"):
        return []
    return [p.strip().strip("'") for p in text.split(",") if p.strip()]


def read_data(blob: bytes) -> list[tuple[str, dict[str, Any]]]:
    root = fromstring(blob)
    if root.tag != "ExportedEdgeConfiguration":
        raise ValueError(f"the root element is {root.tag}, not ExportedEdgeConfiguration")
    out = []
    for el in root:
        obj: dict[str, Any] = {}
        for child in el:
            if child.tag == "AuthenticationCredential":
                obj[child.tag] = (
                    None
                    if (child.text or "").strip() == "$null"
                    else {"UserName": child.findtext("UserName") or "", "Password": child.findtext("Password") or ""}
                )
            else:
                obj[child.tag] = child.text or ""
        out.append((el.tag, obj))
    return out


def _valid_ip(host: Any, text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    return ip.is_unspecified or ip.is_loopback or str(ip) == host.address


def _valid_dir(host: Any, text: str) -> bool:
    path = text.strip()
    if len(path) < 3 or path[1] != ":":
        return False
    return path[0].upper() in host.state.drives


def _validate(host: Any, value: str, kind: str) -> bool | dict[str, bool]:
    if kind == "DirectoryPath":
        return _valid_dir(host, value)
    if kind == "NullableDirectoryPath":
        return value.strip() in ("", "$null") or _valid_dir(host, value)
    if kind == "IPAddress":
        return _valid_ip(host, value)
    if kind == "FQDN":
        return value.strip().casefold() == host.fqdn.casefold()
    if kind == "Bindings":
        results = {}
        for binding in _multi(value):
            address, sep, _port = binding.rpartition(":")
            results[binding] = bool(sep) and _valid_ip(host, address)
        return True if all(results.values()) else results
    return False


def answer_xml(ctx: ProcessContext, objects: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["<MachineSpecificSettings>"]
    for component, obj in objects:
        if component not in MACHINE_SPECIFIC:
            continue
        key_attr, items = MACHINE_SPECIFIC[component]
        entries: list[str] = []
        for item, kind in items:
            value = str(obj.get(item) or "")
            result = _validate(ctx.host, value, kind)
            if result is True:
                ctx.out(f"Validation succeeded for {item} element of type {kind}{_NL}")
                continue
            if result is False:
                ctx.out(f"Validation Failed for {item} element of type {kind}{_NL}")
                entries += ["    <!-- Validation failed -->", f"    <{item}>{escape(value)}</{item}>"]
                continue
            ctx.out(f"Validation Failed for {item} Multivalued element of type {kind} : Answer file entry created{_NL}")
            entries.append(f"    <{item}>")
            for binding, ok in result.items():
                entries += [f"      <!-- Validation {'succeeded' if ok else 'failed'} -->", f"      <Item>{escape(binding)}</Item>"]
            entries.append(f"    </{item}>")
        if entries:
            attr = f" {key_attr}={quoteattr(str(obj.get(key_attr) or ''))}" if key_attr else ""
            lines += [f"  <{component}{attr}>", *entries, f"  </{component}>"]
    lines.append("</MachineSpecificSettings>")
    return _NL.join(lines) + _NL


def _read_answer(blob: bytes) -> dict[tuple[str, str], dict[str, Any]]:
    """(component, key value) -> {item: value or [items]} from an answer file."""
    root = fromstring(blob)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for comp in root:
        key_attr = (MACHINE_SPECIFIC.get(comp.tag) or (None, []))[0]
        items: dict[str, Any] = {}
        for child in comp:
            if not isinstance(child.tag, str):
                continue
            sub = [c.text or "" for c in child if isinstance(c.tag, str) and c.tag == "Item"]
            items[child.tag] = sub if sub else (child.text or "").strip()
        out[(comp.tag, str(comp.get(key_attr) or "") if key_attr else "")] = items
    return out


def _validate_answers(ctx: ProcessContext, answers: dict[tuple[str, str], dict[str, Any]]) -> bool:
    ok = True
    for (component, _key), items in answers.items():
        template = dict((MACHINE_SPECIFIC.get(component) or (None, []))[1])
        for item, value in items.items():
            if item not in template:
                continue
            text = ", ".join(f"'{v}'" for v in value) if isinstance(value, list) else str(value)
            if (isinstance(value, list) and not any(v.strip() for v in value)) or (not isinstance(value, list) and not text.strip()):
                ctx.out(f"Validation Failed: {component} {item} {{ {text} }}{_NL}")
                ok = False
                continue
            result = _validate(ctx.host, text, template[item])
            if result is not True:
                ctx.out(f"Validation Failed: {component} {item} {{ {text} {template[item]} }}{_NL}")
                ok = False
    return ok


@program("edge_import_config")
def import_edge_config(ctx: ProcessContext) -> int:
    params = _params(ctx.argv)
    key = _key(params, ctx)
    data = _check_edge(ctx, "import")
    if key is None or data is None:
        return 0
    data_path, answer_path, importing = params.get("cloneconfigdata"), params.get("cloneconfiganswer"), _bool(params.get("isimport"))
    problems = []  # ValidateInput reports every problem it finds
    if not data_path or not ctx.host.exists(ctx.resolve(data_path)):
        problems.append(f"Cannot find Config Data file[{data_path}]")
    if importing and answer_path and not ctx.host.exists(ctx.resolve(answer_path)):
        problems.append(f"Cannot find Config Data file[{answer_path}]")
    if not importing and not answer_path:
        problems.append("Please specify an Answer File Path.")
    if problems:
        ctx.out(_NL.join(problems) + _NL)
        return 0
    _log(ctx, "************ BEGIN IMPORT PROCESS **************")
    try:
        objects = read_data(ctx.host.read_bytes(ctx.resolve(data_path)))
    except (ParseError, ValueError) as error:
        ctx.out(f"{'Importing Edge configuration information Failed.' if importing else 'Creating Answer File Step Failed.'}{_NL}Reason: {error}{_NL}")
        return 0
    if not importing:
        ctx.host.write_text(ctx.resolve(answer_path), answer_xml(ctx, objects))
        ctx.out(f"Answer File is successfully created: {answer_path}{_NL}")
        return 0
    answers: dict[tuple[str, str], dict[str, Any]] = {}
    if answer_path:
        try:
            answers = _read_answer(ctx.host.read_bytes(ctx.resolve(answer_path)))
        except ParseError as error:
            ctx.out(f"Loading Answer File Failed.{_NL}Reason: {error}{_NL}")
            return 0
    if not _validate_answers(ctx, answers):
        ctx.out(f"Validation Process Failed. Please enter correct information in {answer_path}{_NL}")
        return 0
    try:
        _import(data, objects, answers, key)
    except _ImportFailed as error:
        ctx.out(f"{error.headline}{_NL}Reason: {error}{_NL}")
        return 0
    edge.save(ctx.host, data)
    ctx.out(f"Importing Edge configuration information Succeeded.{_NL}")
    _log(ctx, "************ END IMPORT PROCESS **************")
    return 0


class _ImportFailed(Exception):
    def __init__(self, message: str, headline: str = "Importing Edge configuration information Failed.") -> None:
        super().__init__(message)
        self.headline = headline


def _import(data: dict[str, Any], objects: list[tuple[str, dict[str, Any]]], answers: dict[tuple[str, str], dict[str, Any]], key: str) -> None:
    """The import step: the transport server is set; connectors, accepted and remote domains are removed and created from
    the data file (the answer file's values first); on a subscribed Edge the Send connector and domain cmdlets are disabled."""
    subscribed = bool((data.get("subscription") or {}).get("esra")) or data.get("esbra") is not None
    by_component: dict[str, list[dict[str, Any]]] = {}
    for component, obj in objects:
        by_component.setdefault(component, []).append(obj)
    new: dict[str, Any] = {}
    for obj in by_component.get("TransportServer", [])[:1]:
        answer = answers.get(("TransportServer", ""), {})
        new["transport_server"] = {k: str(answer.get(k) or obj.get(k) or "") for k in [*edge.TRANSPORT_PATHS, "RootDropDirectoryPath"]}
    for component in ("AcceptedDomain", "RemoteDomain", "SendConnector"):
        if subscribed and component in ("AcceptedDomain", "SendConnector") and by_component.get(component):
            verb = "New-AcceptedDomain" if component == "AcceptedDomain" else "New-SendConnector"
            raise _ImportFailed(
                f"{verb} isn't available on an Edge Transport server that has an Edge Subscription: EdgeSync manages this configuration. (modelled)"
            )
    new["accepted_domains"] = [
        {"Name": o["Name"], "DomainName": o.get("DomainName", ""), "DomainType": o.get("DomainType") or "Authoritative"}
        for o in by_component.get("AcceptedDomain", [])
    ]
    new["remote_domains"] = [{"Name": o["Name"], "DomainName": o.get("DomainName", "")} for o in by_component.get("RemoteDomain", [])] or data["remote_domains"]
    new["receive_connectors"] = []
    for o in by_component.get("ReceiveConnector", []):
        answer = answers.get(("ReceiveConnector", o["Name"]), {})
        bindings = answer.get("Bindings") if isinstance(answer.get("Bindings"), list) else _multi(answer.get("Bindings") or o.get("Bindings", ""))
        new["receive_connectors"].append(
            {"Name": o["Name"], "Bindings": bindings, "RemoteIPRanges": _multi(o.get("RemoteIPRanges", "")), "Fqdn": answer.get("Fqdn") or o.get("Fqdn"),
             "Enabled": _bool(o.get("Enabled", "True"))}
        )  # fmt: skip
    new["send_connectors"] = []
    for o in by_component.get("SendConnector", []):
        answer = answers.get(("SendConnector", o["Name"]), {})
        credential = o.get("AuthenticationCredential")
        if credential:
            password = decrypt(credential["Password"], key)
            if password is None:
                raise _ImportFailed(
                    "System.Security.Cryptography.CryptographicException: Padding is invalid and cannot be removed.",
                    "Password Decryption Failed - Check the decryption key.",
                )
            credential = {"UserName": credential["UserName"], "Password": password}
        new["send_connectors"].append(
            {"Name": o["Name"], "AddressSpaces": _multi(o.get("AddressSpaces", "")), "SmartHosts": _multi(o.get("SmartHosts", "")),
             "DNSRoutingEnabled": _bool(o.get("DNSRoutingEnabled", "True")),
             "SourceIPAddress": answer.get("SourceIPAddress") or o.get("SourceIPAddress") or edge.IP_ANY,
             "Enabled": _bool(o.get("Enabled", "True")), "Credential": credential}
        )  # fmt: skip
    agents = {o.get("Identity"): o for o in by_component.get("TransportAgent", [])}
    for agent in data["transport_agents"]:
        if agent["Identity"] in agents:
            agent["Enabled"] = _bool(agents[agent["Identity"]].get("Enabled", "True"))
            agent["Priority"] = int(agents[agent["Identity"]].get("Priority") or agent["Priority"])
    if subscribed:
        new.pop("accepted_domains")
        new.pop("send_connectors")
        new.pop("remote_domains")
    data.update(new)
