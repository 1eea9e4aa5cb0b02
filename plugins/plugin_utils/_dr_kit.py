# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The DR kit (docs/dr-kit.md): what a capture reads on a server, the manifest built from it, checksums, versions on the
controller and the difference between two kits.

For internal collection use only. The host half (plugins/module_utils/_DrKit.psm1) reads what READ_TABLES names and returns
it raw; everything here runs on the controller. Sources of the cmdlets, parameters and releases: docs/dr-kit.md ("Sources"):
PS = MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/<cmdlet>.md.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit_crypto import Encryptor, KitCryptoError, pfx_thumbprint
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import parse_build, release_of

SCHEMA = "exchange_dr.recovery/dr_kit/v1"
MANIFEST = "manifest.json"
INDEX = "index.json"
ALL_PRODUCTS = ("2010", "2013", "2016", "2019", "SE")
FROM_2013 = ("2013", "2016", "2019", "SE")


class KitError(ValueError):
    """A kit that cannot be used: the message names the file and what is wrong."""


# -- what the capture reads (PS pages; the release each parameter exists in) ------------------------------------------------
@dataclass(frozen=True)
class Setting:
    name: str  # the parameter (and property) name
    kind: str  # bool | url | host | list | flags | text | size | int | timespan | unlimited
    products: tuple[str, ...] = ALL_PRODUCTS


@dataclass(frozen=True)
class VdirType:
    key: str
    get: str
    set: str
    products: tuple[str, ...]
    settings: tuple[Setting, ...]


def _s(name: str, kind: str, products: tuple[str, ...] = ALL_PRODUCTS) -> Setting:
    return Setting(name, kind, products)


_URLS = (_s("InternalUrl", "url"), _s("ExternalUrl", "url"))
VIRTUAL_DIRECTORIES: tuple[VdirType, ...] = (
    VdirType(
        "owa",
        "Get-OwaVirtualDirectory",
        "Set-OwaVirtualDirectory",
        ALL_PRODUCTS,
        (
            *_URLS,
            _s("BasicAuthentication", "bool"),
            _s("DigestAuthentication", "bool"),
            _s("FormsAuthentication", "bool"),
            _s("WindowsAuthentication", "bool"),
            _s("AdfsAuthentication", "bool", FROM_2013),
            _s("OAuthAuthentication", "bool", FROM_2013),
            _s("ExternalAuthenticationMethods", "list"),
        ),
    ),
    VdirType(
        "ecp",
        "Get-EcpVirtualDirectory",
        "Set-EcpVirtualDirectory",
        ALL_PRODUCTS,
        (
            *_URLS,
            _s("BasicAuthentication", "bool"),
            _s("DigestAuthentication", "bool"),
            _s("FormsAuthentication", "bool"),
            _s("WindowsAuthentication", "bool"),
            _s("AdfsAuthentication", "bool", FROM_2013),
            _s("OAuthAuthentication", "bool", ("2019", "SE")),
            _s("ExternalAuthenticationMethods", "list"),
        ),
    ),
    VdirType(
        "ews",
        "Get-WebServicesVirtualDirectory",
        "Set-WebServicesVirtualDirectory",
        ALL_PRODUCTS,
        (
            *_URLS,
            _s("BasicAuthentication", "bool"),
            _s("DigestAuthentication", "bool"),
            _s("WindowsAuthentication", "bool"),
            _s("OAuthAuthentication", "bool", FROM_2013),
            _s("WSSecurityAuthentication", "bool"),
        ),
    ),
    VdirType(
        "activesync",
        "Get-ActiveSyncVirtualDirectory",
        "Set-ActiveSyncVirtualDirectory",
        ALL_PRODUCTS,
        (
            *_URLS,
            _s("BasicAuthEnabled", "bool"),
            _s("WindowsAuthEnabled", "bool"),
            _s("ClientCertAuth", "text"),
            _s("ExternalAuthenticationMethods", "list"),
        ),
    ),
    VdirType(
        "oab",
        "Get-OabVirtualDirectory",
        "Set-OabVirtualDirectory",
        ALL_PRODUCTS,
        (
            *_URLS,
            _s("BasicAuthentication", "bool"),
            _s("WindowsAuthentication", "bool"),
            _s("OAuthAuthentication", "bool", FROM_2013),
            _s("RequireSSL", "bool"),
        ),
    ),
    VdirType("mapi", "Get-MapiVirtualDirectory", "Set-MapiVirtualDirectory", FROM_2013, (*_URLS, _s("IISAuthenticationMethods", "list"))),
    VdirType(
        "outlook_anywhere",
        "Get-OutlookAnywhere",
        "Set-OutlookAnywhere",
        ALL_PRODUCTS,
        (
            _s("InternalHostname", "host", FROM_2013),
            _s("ExternalHostname", "host"),
            _s("ClientAuthenticationMethod", "text", ("2010",)),
            _s("InternalClientAuthenticationMethod", "text", FROM_2013),
            _s("ExternalClientAuthenticationMethod", "text", FROM_2013),
            _s("InternalClientsRequireSsl", "bool", FROM_2013),
            _s("ExternalClientsRequireSsl", "bool", FROM_2013),
            _s("IISAuthenticationMethods", "list"),
            _s("SSLOffloading", "bool"),
        ),
    ),
)
VDIR_BY_TYPE = {v.key: v for v in VIRTUAL_DIRECTORIES}

# PS New-/Set-ReceiveConnector (TransportRole and TlsCertificateName: 2013+)
RECEIVE_CONNECTOR_SETTINGS: tuple[Setting, ...] = (
    _s("Bindings", "list"),
    _s("RemoteIPRanges", "list"),
    _s("TransportRole", "text", FROM_2013),
    _s("AuthMechanism", "flags"),
    _s("PermissionGroups", "flags"),
    _s("Fqdn", "text"),
    _s("Banner", "text"),
    _s("Comment", "text"),
    _s("MaxMessageSize", "size"),
    _s("MaxRecipientsPerMessage", "int"),
    _s("MessageRateLimit", "unlimited"),
    _s("ConnectionTimeout", "timespan"),
    _s("Enabled", "bool"),
    _s("RequireTLS", "bool"),
    _s("ProtocolLoggingLevel", "text"),
    _s("TlsCertificateName", "text", FROM_2013),
)
# The connectors Setup creates (ODX ExchangeServer/mail-flow/connectors/receive-connectors.md; 2010: Default and Client)
DEFAULT_CONNECTORS = {
    "2010": ("Default {server}", "Client {server}"),
    "2013": ("Default {server}", "Client Proxy {server}", "Default Frontend {server}", "Outbound Proxy Frontend {server}", "Client Frontend {server}"),
}

# PS Set-TransportService (2013+) / Set-TransportServer (2010): the per-server settings administrators change
TRANSPORT_SETTINGS: tuple[Setting, ...] = (
    _s("MaxConcurrentMailboxDeliveries", "int"),
    _s("MaxConcurrentMailboxSubmissions", "int"),
    _s("MaxConnectionRatePerMinute", "int"),
    _s("MaxOutboundConnections", "unlimited"),
    _s("MaxPerDomainOutboundConnections", "unlimited"),
    _s("MessageExpirationTimeout", "timespan"),
    _s("MessageRetryInterval", "timespan"),
    _s("TransientFailureRetryCount", "int"),
    _s("TransientFailureRetryInterval", "timespan"),
    _s("MessageTrackingLogEnabled", "bool"),
    _s("MessageTrackingLogMaxAge", "timespan"),
    _s("MessageTrackingLogPath", "text"),
    _s("ConnectivityLogEnabled", "bool"),
    _s("ConnectivityLogPath", "text"),
    _s("ReceiveProtocolLogPath", "text"),
    _s("SendProtocolLogPath", "text"),
    _s("PickupDirectoryPath", "text"),
    _s("ReplayDirectoryPath", "text"),
    _s("InternalDNSServers", "list"),
    _s("ExternalDNSServers", "list"),
)


def transport_cmdlets(product: str) -> tuple[str, str]:
    """(Get, Set) of the per-server transport settings: *-TransportService from 2013, *-TransportServer on 2010."""
    return ("Get-TransportService", "Set-TransportService") if product in FROM_2013 else ("Get-TransportServer", "Set-TransportServer")


@dataclass(frozen=True)
class ConfigFile:
    path: str  # under the install folder
    products: tuple[str, ...]
    service: str | None  # the service that reads it at start (restarted after the file is put back); IIS reloads web.config


# The .config files the collection keeps: those Microsoft's own tools read or collect (CSS-Exchange: HealthChecker
# Invoke-JobExchangeInformationLocal.ps1 - EdgeTransport.exe.config, noderunner.exe.config; ExchangeLogCollector
# Invoke-RemoteMain.ps1 - EdgeTransport, MSExchangeFrontEndTransport, MSExchangeDelivery, MSExchangeSubmission .exe.config;
# Test-AMSI.ps1 - FrontEnd\HttpProxy\ecp and ClientAccess\ecp web.config; Get-EASMailboxLogs.ps1 - ClientAccess\Sync\web.config).
# More files: the capture's config_files option.
CONFIG_FILES: tuple[ConfigFile, ...] = (
    ConfigFile(r"Bin\EdgeTransport.exe.config", ALL_PRODUCTS, "MSExchangeTransport"),
    ConfigFile(r"Bin\MSExchangeFrontEndTransport.exe.config", FROM_2013, "MSExchangeFrontEndTransport"),
    ConfigFile(r"Bin\MSExchangeDelivery.exe.config", FROM_2013, "MSExchangeDelivery"),
    ConfigFile(r"Bin\MSExchangeSubmission.exe.config", FROM_2013, "MSExchangeSubmission"),
    ConfigFile(r"Bin\Search\Ceres\Runtime\1.0\noderunner.exe.config", FROM_2013, "HostControllerService"),
    ConfigFile(r"ClientAccess\ecp\web.config", ALL_PRODUCTS, None),
    ConfigFile(r"FrontEnd\HttpProxy\ecp\web.config", FROM_2013, None),
    ConfigFile(r"ClientAccess\Sync\web.config", ALL_PRODUCTS, None),
)
CONFIG_BY_PATH = {c.path.casefold(): c for c in CONFIG_FILES}
CERTIFICATE_SERVICES = ("IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter")
_MIN_VERSION = {"2010": "14.0", "2013": "15.0"}


def read_tables(extra_config_files: list[str] | None = None) -> dict[str, Any]:
    """What the host half reads, as data (module option `_tables`): per virtual directory type the Get cmdlet, the first
    release it exists in and the properties to return; the receive connector and transport properties (the union of every
    release: a property a release lacks reads as null); the .config files (relative to the install folder)."""
    return {
        "virtual_directories": [
            {
                "type": v.key,
                "cmdlet": v.get,
                "min_version": _MIN_VERSION["2010" if "2010" in v.products else "2013"],
                "properties": [s.name for s in v.settings],
            }
            for v in VIRTUAL_DIRECTORIES
        ],
        "receive_connector_properties": [s.name for s in RECEIVE_CONNECTOR_SETTINGS],
        "transport": [
            {"min_version": _MIN_VERSION["2013"], "cmdlet": transport_cmdlets("2013")[0]},
            {"min_version": _MIN_VERSION["2010"], "cmdlet": transport_cmdlets("2010")[0]},
        ],
        "transport_properties": [s.name for s in TRANSPORT_SETTINGS],
        "config_files": [c.path for c in CONFIG_FILES] + [p for p in (extra_config_files or []) if p.casefold() not in CONFIG_BY_PATH],
        "services": sorted({c.service for c in CONFIG_FILES if c.service}),
    }


# -- values ------------------------------------------------------------------------------------------------------------------
_SIZE_BYTES = re.compile(r"\(([\d,.\s]+) bytes\)")
_SIZE_UNIT = re.compile(r"^\s*([\d.]+)\s*(B|KB|MB|GB|TB)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$")


def size_bytes(value: Any) -> int | None:
    """Bytes of a ByteQuantifiedSize as Exchange prints it ('36 MB (37,748,736 bytes)') or as given ('36MB', 37748736)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    m = _SIZE_BYTES.search(text)
    if m:
        return int(re.sub(r"[,.\s]", "", m.group(1)))
    m = _SIZE_UNIT.match(text)
    if m:
        return int(float(m.group(1)) * _UNITS[(m.group(2) or "B").upper()])
    return None


def timespan_seconds(value: Any) -> int | None:
    m = _TIMESPAN.match(str(value).strip()) if value is not None else None
    if not m:
        return None
    days, h, mi, s = int(m.group(1) or 0), int(m.group(2)), int(m.group(3)), int(m.group(4))
    return ((days * 24 + h) * 60 + mi) * 60 + s


def format_timespan(seconds: int) -> str:
    """As Exchange prints an EnhancedTimeSpan: 7.00:00:00, 00:30:00 below a day."""
    days, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    mi, s = divmod(rest, 60)
    clock = f"{h:02d}:{mi:02d}:{s:02d}"
    return f"{days}.{clock}" if days else clock


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and str(v) != ""]
    text = str(value).strip()
    return [text] if text else []


def normalize(kind: str, value: Any) -> Any:
    """A value in the form the manifest keeps and compares: what Exchange printed, made stable (lists as lists, sizes in
    bytes, time spans as d.hh:mm:ss, empty text as null)."""
    if kind == "bool":
        if isinstance(value, str):
            return value.strip().casefold() == "true"
        return None if value is None else bool(value)
    if kind == "list":
        return as_list(value)
    if kind == "flags":
        items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
        return ", ".join(t.strip() for t in (str(i) for i in items) if t.strip()) or None
    if kind == "size":
        if isinstance(value, str) and value.strip().casefold() == "unlimited":
            return "Unlimited"
        n = size_bytes(value)
        return None if n is None else str(n)
    if kind == "unlimited":
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip()
        return "Unlimited" if text.casefold() == "unlimited" else text
    if kind == "int":
        try:
            return None if value is None or str(value).strip() == "" else int(str(value).strip())
        except ValueError:
            return str(value)
    if kind == "timespan":
        seconds = timespan_seconds(value)
        return format_timespan(seconds) if seconds is not None else (None if value in (None, "") else str(value))
    text = None if value is None else str(value).strip()
    return text or None


def same(kind: str, a: Any, b: Any) -> bool:
    """Whether two values are the same setting (lists and flags ignore order and case, URLs and host names case)."""
    a, b = normalize(kind, a), normalize(kind, b)
    if kind == "list":
        return sorted(x.casefold() for x in a) == sorted(x.casefold() for x in b)
    if kind == "flags":
        return sorted(t.strip().casefold() for t in (a or "").split(",")) == sorted(t.strip().casefold() for t in (b or "").split(","))
    if kind in ("url", "host", "text") and a is not None and b is not None:
        return str(a).rstrip("/").casefold() == str(b).rstrip("/").casefold()
    return a == b


def settings_for(settings: tuple[Setting, ...], product: str) -> tuple[Setting, ...]:
    return tuple(s for s in settings if product in s.products)


# -- the manifest ------------------------------------------------------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def manifest_checksum(manifest: dict[str, Any]) -> str:
    return sha256_bytes(canonical({k: v for k, v in manifest.items() if k != "checksum"}))


def _pairs(value: Any) -> dict[str, str]:
    """ActivationPreference / ReplayLagTimes / TruncationLagTimes: objects with Key and Value (the snap-in) or their text
    '[EX01, 1]' (deserialized by a remote session) -> upper-case server -> value text."""
    out: dict[str, str] = {}
    for item in value if isinstance(value, list) else ([] if value is None else [value]):
        if isinstance(item, dict):
            key, val = item.get("key"), item.get("value")
        else:
            m = re.match(r"^\s*\[\s*([^,\]]+?)\s*,\s*([^\]]*?)\s*\]\s*$", str(item))
            if not m:
                continue
            key, val = m.group(1), m.group(2)
        if key is not None:
            out[str(key).rsplit("\\", maxsplit=1)[-1].split(".", maxsplit=1)[0].upper()] = "" if val is None else str(val)
    return out


def dag_section(raw: dict[str, Any] | None, server: str) -> dict[str, Any] | None:
    """The manifest's `dag` (docs/dr-kit.md) from the host's read: membership, witness and every copy of each database with a
    copy on the server, with its activation preference and lag times."""
    if raw is None:
        return None
    info = raw.get("dag") or {}
    member = bool(info.get("name"))
    copies: list[dict[str, Any]] = []
    for db in raw.get("databases") or []:
        prefs = _pairs(db.get("activation_preference"))
        replay = _pairs(db.get("replay_lag_times"))
        truncation = _pairs(db.get("truncation_lag_times"))
        servers = [str(s).split(".", maxsplit=1)[0].upper() for s in as_list(db.get("servers"))] or sorted(prefs)
        for copy_server in servers:
            pref = prefs.get(copy_server)
            copies.append(
                {
                    "database": str(db.get("name")),
                    "server": copy_server,
                    "activation_preference": int(pref) if pref and pref.isdigit() else None,
                    "replay_lag_time": normalize("timespan", replay.get(copy_server) or "00:00:00"),
                    "truncation_lag_time": normalize("timespan", truncation.get(copy_server) or "00:00:00"),
                }
            )
    copies.sort(key=lambda c: (c["database"].casefold(), c["activation_preference"] or 99, c["server"]))
    return {
        "member": member,
        "name": info.get("name") if member else None,
        "servers": sorted(str(s).split(".", maxsplit=1)[0].upper() for s in as_list(info.get("servers"))) if member else [],
        "witness_server": info.get("witness_server") if member else None,
        "witness_directory": info.get("witness_directory") if member else None,
        "alternate_witness_server": info.get("alternate_witness_server") if member else None,
        "alternate_witness_directory": info.get("alternate_witness_directory") if member else None,
        "datacenter_activation_mode": info.get("datacenter_activation_mode") if member else None,
        "database_copies": copies,
    }


def _settings(raw: dict[str, Any] | None, settings: tuple[Setting, ...]) -> dict[str, Any]:
    raw = raw or {}
    return {s.name: normalize(s.kind, raw.get(s.name)) for s in settings}


def is_default_connector(name: str, server: str, product: str) -> bool:
    names = DEFAULT_CONNECTORS["2010" if product == "2010" else "2013"]
    return any(name.casefold() == n.format(server=server).casefold() for n in names)


def build_manifest(raw: dict[str, Any], *, now: datetime.datetime, version: str, previous: str | None, collection_version: str) -> dict[str, Any]:
    """The manifest (without `files` and `checksum`, which come with the files) from the host's read (`raw`: the capture
    module's result). Certificates' PFX and config contents are in `raw` too; their files are made by `kit_files`."""
    exchange = raw.get("exchange") or {}
    release = release_of(str(exchange.get("version")))
    product = release.product
    server = str(raw.get("server") or "").upper()
    vdirs = []
    for entry in raw.get("virtual_directories") or []:
        vtype = VDIR_BY_TYPE.get(str(entry.get("type")))
        if vtype is None or product not in vtype.products:
            continue
        props = entry.get("properties") or {}
        settings = _settings(props, settings_for(vtype.settings, product))
        vdirs.append(
            {
                "type": vtype.key,
                "name": entry.get("name"),
                "identity": entry.get("identity"),
                "internal_url": settings.get("InternalUrl"),
                "external_url": settings.get("ExternalUrl"),
                "settings": settings,
            }
        )
    vdirs.sort(key=lambda v: (v["type"], str(v["name"]).casefold()))
    connectors = []
    for entry in raw.get("receive_connectors") or []:
        name = str(entry.get("name"))
        connectors.append(
            {
                "name": name,
                "identity": entry.get("identity") or f"{server}\\{name}",
                "default": is_default_connector(name, server, product),
                "settings": _settings(entry.get("properties"), settings_for(RECEIVE_CONNECTOR_SETTINGS, product)),
            }
        )
    connectors.sort(key=lambda c: c["name"].casefold())
    transport_raw = raw.get("transport") or {}
    transport = {"cmdlet": transport_raw.get("cmdlet"), "settings": _settings(transport_raw.get("properties"), TRANSPORT_SETTINGS)} if transport_raw else None
    certificates = []
    for cert in raw.get("certificates") or []:
        certificates.append(
            {
                "thumbprint": str(cert.get("thumbprint") or "").upper(),
                "subject": cert.get("subject"),
                "issuer": cert.get("issuer"),
                "friendly_name": cert.get("friendly_name"),
                "domains": as_list(cert.get("domains")),
                "services": services_list(cert.get("services")),
                "not_before": cert.get("not_before"),
                "not_after": cert.get("not_after"),
                "self_signed": bool(cert.get("self_signed")),
                "has_private_key": bool(cert.get("has_private_key")),
                "private_key_exportable": bool(cert.get("private_key_exportable")),
                "pfx": None,
                "pfx_missing_reason": cert.get("pfx_error"),
            }
        )
    certificates.sort(key=lambda c: c["thumbprint"])
    return {
        "schema": SCHEMA,
        "version": version,
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "previous": previous,
        "collection_version": collection_version,
        "server": {
            "name": server,
            "fqdn": raw.get("fqdn"),
            "version": release.build_string,
            "product": product,
            "release": release.name,
            "install_path": exchange.get("install_path"),
        },
        "virtual_directories": vdirs,
        "receive_connectors": connectors,
        "transport": transport,
        "certificates": certificates,
        "config_files": [],
        "email_router": None,
        "dag": dag_section(raw.get("dag"), server),
        "files": {},
        "checksum": None,
    }


def services_list(value: Any) -> list[str]:
    """Services of a certificate ('IMAP, POP, IIS, SMTP' or a list; 'None' is none) in the collection's order."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    names = {t.strip().casefold() for t in (str(i) for i in items) if t.strip() and t.strip().casefold() != "none"}
    return [s for s in CERTIFICATE_SERVICES if s.casefold() in names]


def config_file_name(path: str) -> str:
    """Where a .config file goes in the kit: config/<path with forward slashes>; refuses anything that could leave the kit."""
    parts = [p for p in re.split(r"[\\/]+", path) if p]
    if not parts or any(p in (".", "..") or ":" in p for p in parts):
        raise KitError(f"config file path {path!r} must be relative to the Exchange install folder")
    return "config/" + "/".join(parts)


def finish_manifest(manifest: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """Record every file's checksum and seal the manifest with its own."""
    manifest["files"] = {name: {"sha256": sha256_bytes(data), "size": len(data)} for name, data in sorted(files.items())}
    manifest["checksum"] = None
    manifest["checksum"] = {"algorithm": "sha256", "manifest": manifest_checksum(manifest)}
    return manifest


def assemble(
    raw: dict[str, Any],
    router: dict[str, Any] | None,
    *,
    now: datetime.datetime,
    version: str,
    previous: str | None,
    collection_version: str,
    password: str | None,
    baseline: Path | None = None,
) -> tuple[dict[str, Any], dict[str, bytes], list[str]]:
    """The whole kit from one capture: (manifest, files by kit name, warnings). `raw` is the capture module's read (with the
    PFX exports and .config contents in base64), `router` the Email Router's set as email_router_config reads it (or None)."""
    manifest = build_manifest(raw, now=now, version=version, previous=previous, collection_version=collection_version)
    files: dict[str, bytes] = {}
    warnings: list[str] = []
    by_thumb = {c["thumbprint"]: c for c in manifest["certificates"]}
    for cert in raw.get("certificates") or []:
        entry = by_thumb.get(str(cert.get("thumbprint") or "").upper())
        if entry is None or not cert.get("pfx"):
            continue
        data = base64.b64decode(cert["pfx"])
        try:
            opened = pfx_thumbprint(data, password or "")
        except KitCryptoError as error:
            entry["pfx_missing_reason"] = f"the export could not be checked: {error}"
            warnings.append(f"certificate {entry['thumbprint']}: {entry['pfx_missing_reason']}")
            continue
        if opened != entry["thumbprint"]:
            entry["pfx_missing_reason"] = f"the export holds certificate {opened}, not {entry['thumbprint']}"
            warnings.append(f"certificate {entry['thumbprint']}: {entry['pfx_missing_reason']}")
            continue
        name = f"certificates/{entry['thumbprint']}.pfx"
        files[name] = data
        entry["pfx"] = {"file": name, "sha256": sha256_bytes(data)}
    for cert in manifest["certificates"]:
        if cert["pfx"] is None and cert["pfx_missing_reason"] is None:
            cert["pfx_missing_reason"] = (
                "self-signed by Exchange (Setup makes a new one)"
                if cert["self_signed"]
                else "no private key on the server"
                if not cert["has_private_key"]
                else "its private key is not exportable (PrivateKeyExportable is False)"
                if not cert["private_key_exportable"]
                else "no kit password was given, so it was not exported"
            )
    build = manifest["server"]["version"]
    for item in sorted(raw.get("config_files") or [], key=lambda f: str(f.get("path")).casefold()):
        if not item.get("exists") or item.get("content") is None:
            continue
        data = base64.b64decode(item["content"])
        name = config_file_name(str(item["path"]))
        default = None
        if baseline is not None:
            reference = baseline / build / name.removeprefix("config/")
            default = sha256_bytes(reference.read_bytes()) if reference.is_file() else None
        digest = sha256_bytes(data)
        files[name] = data
        manifest["config_files"].append(
            {
                "path": str(item["path"]),
                "file": name,
                "sha256": digest,
                "size": len(data),
                "default_sha256": default,
                "edited": None if default is None else digest != default,
            }
        )
    if router is not None:
        manifest["email_router"] = _router_section(router, password, files, warnings)
    return manifest, files, warnings


def _router_section(router: dict[str, Any], password: str | None, files: dict[str, bytes], warnings: list[str]) -> dict[str, Any]:
    section: dict[str, Any] = {"installed": bool(router.get("installed")), "service_folder": router.get("service_folder"), "stored": False, "files": []}
    current = router.get("set") or {}
    box = Encryptor(password) if password and current else None
    for name in sorted(current):
        meta = current[name] or {}
        entry = {"name": name, "sha256": meta.get("sha256"), "file": None}
        if box is not None and meta.get("content") is not None:
            entry["file"] = f"email_router/{name}.enc"
            files[entry["file"]] = box.encrypt(base64.b64decode(meta["content"]))
        section["files"].append(entry)
    section["stored"] = box is not None
    if current and box is None:
        why = "it holds the router's encryption key, so it is stored only with a kit password (dr_kit_password)"
        warnings.append(f"Email Router configuration set: {why}; only its checksums were recorded")
    return section


def record_baseline(baseline: Path, manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    """Keep this capture's .config files as the defaults of its build (run once against a freshly installed or recovered
    server); files already recorded for the build are left alone. Returns the paths recorded."""
    recorded = []
    for entry in manifest["config_files"]:
        target = baseline / manifest["server"]["version"] / entry["file"].removeprefix("config/")
        if not target.exists():
            write_private(target, files[entry["file"]])
            recorded.append(entry["path"])
    return recorded


# -- versions on the controller ----------------------------------------------------------------------------------------------
def version_name(now: datetime.datetime, existing: list[str]) -> str:
    base = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while name in existing:
        n += 1
        name = f"{base}-{n}"
    return name


def server_dir(root: str | Path, server: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", server):
        raise KitError(f"server name {server!r} is not a computer name")
    return Path(root) / server.upper()


def read_index(folder: Path) -> dict[str, Any]:
    path = folder / INDEX
    if not path.exists():
        return {"server": folder.name, "versions": [], "last_checked": None}
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KitError(f"{path}: not a readable kit index ({error})") from None
    if not isinstance(index, dict) or not isinstance(index.get("versions"), list):
        raise KitError(f"{path}: not a kit index (no versions list)")
    return index


def write_private(path: Path, data: bytes) -> None:
    """Write a kit file only its owner can read (0600), through a temporary name so a crash leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_kit(root: str | Path, manifest: dict[str, Any], files: dict[str, bytes]) -> Path:
    """Write a new kit version and add it to the server's index. Nothing of an earlier version is touched."""
    folder = server_dir(root, manifest["server"]["name"])
    target = folder / manifest["version"]
    if target.exists():
        raise KitError(f"{target} exists already; a kit version is never overwritten")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = folder / f".{manifest['version']}.partial"
    staging.mkdir(mode=0o700, exist_ok=True)
    for name, data in files.items():
        write_private(staging / name, data)
    write_private(staging / MANIFEST, dump(manifest))
    staging.replace(target)
    index = read_index(folder)
    index["server"] = manifest["server"]["name"]
    index["versions"].append({"version": manifest["version"], "created": manifest["created"], "manifest_sha256": manifest["checksum"]["manifest"]})
    index["last_checked"] = manifest["created"]
    write_private(folder / INDEX, dump(index))
    return target


def touch_index(root: str | Path, server: str, when: datetime.datetime) -> None:
    folder = server_dir(root, server)
    index = read_index(folder)
    index["last_checked"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    write_private(folder / INDEX, dump(index))


def latest_version(root: str | Path, server: str) -> Path | None:
    folder = server_dir(root, server)
    versions = read_index(folder)["versions"]
    return folder / versions[-1]["version"] if versions else None


def prune(root: str | Path, server: str, keep: int) -> list[str]:
    """Remove the oldest versions beyond `keep` (0 keeps all); returns the names removed."""
    if keep <= 0:
        return []
    folder = server_dir(root, server)
    index = read_index(folder)
    removed = [v["version"] for v in index["versions"][:-keep]]
    for name in removed:
        shutil.rmtree(folder / name, ignore_errors=True)
    index["versions"] = index["versions"][-keep:]
    write_private(folder / INDEX, dump(index))
    return removed


def load_kit(path: str | Path) -> tuple[dict[str, Any], Path]:
    """A kit version (its folder or its manifest.json), checked: schema, the manifest's own checksum and every file's. Raises
    KitError naming the file that fails."""
    path = Path(path)
    folder = path.parent if path.name == MANIFEST else path
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KitError(f"{manifest_path}: no kit manifest there") from None
    except (OSError, ValueError) as error:
        raise KitError(f"{manifest_path}: not a readable kit manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise KitError(f"{manifest_path}: schema {manifest.get('schema') if isinstance(manifest, dict) else None!r} is not {SCHEMA}")
    recorded = (manifest.get("checksum") or {}).get("manifest")
    actual = manifest_checksum(manifest)
    if recorded != actual:
        raise KitError(f"{manifest_path} fails its checksum (recorded {recorded}, computed {actual}): the kit was altered or damaged; refusing it")
    for name, meta in sorted((manifest.get("files") or {}).items()):
        file_path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise KitError(f"{manifest_path}: file {name!r} is outside the kit")
        try:
            data = file_path.read_bytes()
        except OSError:
            raise KitError(f"{file_path} is missing from the kit (the manifest lists it); refusing the kit") from None
        digest = sha256_bytes(data)
        if digest != meta.get("sha256"):
            raise KitError(f"{file_path} fails its checksum (recorded {meta.get('sha256')}, computed {digest}): the kit was altered or damaged; refusing it")
    return manifest, folder


def kit_file(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes()


def check_target(manifest: dict[str, Any], server: str, version: str) -> str | None:
    """Why a kit must not be applied to this server and build (None when it may)."""
    kit_server = str((manifest.get("server") or {}).get("name") or "").upper()
    if kit_server != server.upper():
        return f"the kit is of server {kit_server or '(none)'}, not {server.upper()}: a kit is re-applied only to the server it was captured on"
    kit_build = (manifest.get("server") or {}).get("version")
    try:
        same_build = parse_build(str(kit_build)) == parse_build(version)
    except ValueError:
        same_build = False
    if not same_build:
        kit_rel = _release_name(kit_build)
        host_rel = _release_name(version)
        return (
            f"the kit was captured on Exchange {kit_build} ({kit_rel}) and {server.upper()} runs {version} ({host_rel}): its .config files and "
            "settings belong to another build; recover with the same build's media or capture a kit on this build first"
        )
    return None


def _release_name(build: Any) -> str:
    try:
        return release_of(str(build)).name
    except ValueError:
        return "unknown build"


# -- comparing two kits --------------------------------------------------------------------------------------------------------
def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What changed between two manifests of a server, one line each ("what changed since last night"). Certificates are
    compared by thumbprint, services and PFX presence (an export is encrypted afresh each time, so its bytes always differ)."""
    if old is None:
        return ["first kit of this server"]
    out: list[str] = []
    if (old.get("server") or {}).get("version") != (new.get("server") or {}).get("version"):
        out.append(f"server: build {old['server'].get('version')} -> {new['server'].get('version')}")
    out += _diff_keyed("virtual directory", old.get("virtual_directories"), new.get("virtual_directories"), lambda v: f"{v['type']} {v['name']}", "settings")
    out += _diff_keyed("receive connector", old.get("receive_connectors"), new.get("receive_connectors"), lambda c: c["name"], "settings")
    o_tr, n_tr = (old.get("transport") or {}).get("settings") or {}, (new.get("transport") or {}).get("settings") or {}
    out += [f"transport: {k} {o_tr.get(k)!r} -> {n_tr.get(k)!r}" for k in sorted(set(o_tr) | set(n_tr)) if o_tr.get(k) != n_tr.get(k)]
    certs_old = {c["thumbprint"]: c for c in old.get("certificates") or []}
    certs_new = {c["thumbprint"]: c for c in new.get("certificates") or []}
    for t in sorted(set(certs_old) | set(certs_new)):
        a, b = certs_old.get(t), certs_new.get(t)
        label = f"certificate {t} ({(b or a or {}).get('subject')})"
        if a is None:
            out.append(f"{label}: added")
        elif b is None:
            out.append(f"{label}: removed")
        else:
            if a.get("services") != b.get("services"):
                out.append(f"{label}: services {', '.join(a['services']) or 'none'} -> {', '.join(b['services']) or 'none'}")
            if bool(a.get("pfx")) != bool(b.get("pfx")):
                out.append(f"{label}: private key export {'added' if b.get('pfx') else 'no longer in the kit'}")
    files_old = {f["path"].casefold(): f for f in old.get("config_files") or []}
    files_new = {f["path"].casefold(): f for f in new.get("config_files") or []}
    for key in sorted(set(files_old) | set(files_new)):
        a, b = files_old.get(key), files_new.get(key)
        if a is None or b is None or a.get("sha256") != b.get("sha256"):
            state = "added" if a is None else "removed" if b is None else "changed"
            out.append(f"config file {(b or a)['path']}: {state}")
    out += _diff_router(old.get("email_router"), new.get("email_router"))
    out += _diff_dag(old.get("dag"), new.get("dag"))
    return out


def _diff_keyed(label: str, old: Any, new: Any, key: Any, field: str) -> list[str]:
    a = {key(x): x for x in old or []}
    b = {key(x): x for x in new or []}
    out = []
    for k in sorted(set(a) | set(b), key=str.casefold):
        if k not in a:
            out.append(f"{label} {k}: added")
        elif k not in b:
            out.append(f"{label} {k}: removed")
        else:
            sa, sb = a[k].get(field) or {}, b[k].get(field) or {}
            out += [f"{label} {k}: {p} {sa.get(p)!r} -> {sb.get(p)!r}" for p in sorted(set(sa) | set(sb)) if sa.get(p) != sb.get(p)]
    return out


def _diff_router(old: Any, new: Any) -> list[str]:
    old_files = {f["name"]: f.get("sha256") for f in (old or {}).get("files") or []}
    new_files = {f["name"]: f.get("sha256") for f in (new or {}).get("files") or []}
    out = [f"Email Router {name}: changed" for name in sorted(set(old_files) | set(new_files)) if old_files.get(name) != new_files.get(name)]
    if bool((old or {}).get("installed")) != bool((new or {}).get("installed")):
        out.append(f"Email Router: {'installed' if (new or {}).get('installed') else 'no longer installed'}")
    return out


def _diff_dag(old: Any, new: Any) -> list[str]:
    old, new = old or {}, new or {}
    out = []
    for k in ("name", "servers", "witness_server", "witness_directory", "datacenter_activation_mode"):
        if old.get(k) != new.get(k):
            out.append(f"dag: {k} {old.get(k)!r} -> {new.get(k)!r}")
    a = {(c["database"], c["server"]): c for c in old.get("database_copies") or []}
    b = {(c["database"], c["server"]): c for c in new.get("database_copies") or []}
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            state = "added" if k not in a else "removed" if k not in b else "changed"
            out.append(f"dag: copy {k[0]}\\{k[1]} {state}")
    return out
