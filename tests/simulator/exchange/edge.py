"""Edge Transport servers on simulated hosts: the AD LDS instance that holds an Edge's configuration, the EdgeSync
subscription between the organisation and an Edge, the Edge Subscription file and the cloned-configuration file formats.
Facts and sources: the collection's docs/transport-and-edge.md ("Edge Transport", "EdgeSync").

AD LDS (service ADAM_MSExchange) keeps the Edge's configuration on the Edge itself; here it is one file,
`<install>\\TransportRoles\\data\\Adam\\adamntds.dit`, whose first line is `#!simulator-adlds <json>`:

    {"server": "EDGE01", "certificate": "<thumbprint of the Edge's self-signed EdgeSync certificate>",
     "transport_server": {"ReceiveProtocolLogPath": ..., ...},
     "receive_connectors": [{"Name", "Bindings": [...], "RemoteIPRanges": [...], "Fqdn", "Enabled"}],
     "send_connectors": [{"Name", "AddressSpaces": [...], "SmartHosts": [...], "DNSRoutingEnabled", "SourceIPAddress",
                          "Enabled", "Credential": {"UserName", "Password"} | null}],
     "accepted_domains": [{"Name", "DomainName", "DomainType"}], "remote_domains": [{"Name", "DomainName"}],
     "transport_agents": [{"Identity", "Enabled", "Priority"}],
     "esbra": {"user": "ESRA.EDGE01", "password": ..., "created": t, "expires": t} | null,
     "subscription": {"site", "organization", "esra": [mailbox server names], "synced_at": t, "recipients": n} | null}

Losing the host's disk loses it, as on Windows. A clean install of the Edge role lays down defaults: the transport
server's paths under the install folder, the default Receive connector, the built-in transport agents, a new certificate.

The organisation side (domain.exchange.edge_subscriptions, in domain.json): per subscribed Edge its site, the certificate
it presented, the ESBRA from the file (until the first synchronization), created, last synchronization and status. A
synchronization from a Mailbox/Hub server of the site (Start-EdgeSynchronization, the scheduled one, Test-EdgeSynchronization)
binds to the Edge's AD LDS: with the ESRA it installed there, or the first time with the ESBRA, which expires 24 hours after
the file (simulated time; at once with the fault `edge_subscription_expired`). A rebuilt Edge has a new certificate and no
ESRA: the old subscription cannot bind to it ("the certificate does not match", modelled) until the Edge is subscribed again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from simulator.exchange import transport
from simulator.winerror import WinError

if TYPE_CHECKING:
    from simulator.estate import ExchangeOrganization
    from simulator.host import Host

MARKER = b"#!simulator-adlds"
ADAM_SERVICE = "ADAM_MSExchange"
ESBRA_LIFETIME_S = 24 * 3600  # 1,440 minutes (ODX edge-subscriptions.md; E10 bb266959)
SYNC_INTERVAL_S = 180  # configuration every 3 minutes (ODX edge-subscriptions.md)
ADAM_SSL_PORT = 50636
TICKS_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
FAULT_EXPIRED = "edge_subscription_expired"
DEFAULT_SITE = "Default-First-Site-Name"
IP_ANY = "0.0.0.0"  # noqa: S104 (an address property value, nothing binds here)
BUILTIN_AGENTS = (
    "Connection Filtering Agent",
    "Address Rewriting Inbound Agent",
    "Edge Rule Agent",
    "Content Filter Agent",
    "Sender Id Agent",
    "Sender Filter Agent",
    "Recipient Filter Agent",
    "Protocol Analysis Agent",
    "Attachment Filtering Agent",
    "Address Rewriting Outbound Agent",
)
TRANSPORT_PATHS = {  # the transport server settings cloned configuration treats as machine specific (Scripts' template)
    "ConnectivityLogPath": r"TransportRoles\Logs\Edge\Connectivity",
    "MessageTrackingLogPath": r"TransportRoles\Logs\MessageTracking",
    "PickupDirectoryPath": r"TransportRoles\Pickup",
    "PipelineTracingPath": r"TransportRoles\Logs\Edge\PipelineTracing",
    "ReceiveProtocolLogPath": r"TransportRoles\Logs\Edge\ProtocolLog\SmtpReceive",
    "ReplayDirectoryPath": r"TransportRoles\Replay",
    "RoutingTableLogPath": r"TransportRoles\Logs\Edge\Routing",
    "SendProtocolLogPath": r"TransportRoles\Logs\Edge\ProtocolLog\SmtpSend",
}
EDGESYNC_OWNED = ("send_connectors", "accepted_domains", "remote_domains")  # replaced by EdgeSync once subscribed


class EdgeError(Exception):
    """What an Edge cmdlet or script reports."""


# -- the AD LDS store ----------------------------------------------------------------------------------------------------------
def store_path(host: Host) -> str:
    root = transport.install_path(host)
    if root is None:
        raise EdgeError(f"{host.name} has no Exchange installation")
    return rf"{root}\TransportRoles\data\Adam\adamntds.dit"


def is_edge(host: Host) -> bool:
    for key in (r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\EdgeTransportRole", r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\EdgeTransportRole",
                r"HKLM:\SOFTWARE\Microsoft\Exchange\EdgeTransportRole"):  # fmt: skip
        if host.reg_key_exists(key):
            return True
    return False


def adam_running(host: Host) -> bool:
    svc = host.service(ADAM_SERVICE)
    return svc is not None and svc.state == "running"


def load(host: Host) -> dict[str, Any]:
    """The Edge's AD LDS data. EdgeError when AD LDS does not answer (service stopped, no instance)."""
    if not adam_running(host):
        raise EdgeError("Active Directory Lightweight Directory Services (ADAM_MSExchange) isn't running on this Edge Transport server (modelled).")
    path = store_path(host)
    try:
        blob = host.read_bytes(path)
    except WinError:
        raise EdgeError(f"The AD LDS instance of {host.name} has no data at {path} (modelled).") from None
    first = blob.split(b"\n", 1)[0]
    if not first.startswith(MARKER):
        raise EdgeError(f"{path} is not an AD LDS database (modelled).")
    return json.loads(first[len(MARKER) :].decode())


def save(host: Host, data: dict[str, Any]) -> None:
    line = MARKER + b" " + json.dumps(data, separators=(",", ":"), sort_keys=True).encode() + b"\r\n"
    host.write_bytes(store_path(host), line + bytes(max(0, (4 << 20) - len(line))))


def new_certificate(host: Host) -> str:
    """A new self-signed certificate's thumbprint: unique per installation."""
    return hashlib.sha1(f"{host.name}/{host.clock.time()}/{secrets.token_hex(8)}".encode()).hexdigest().upper()  # noqa: S324 (a thumbprint, not security)


def clean_install(host: Host, install: str) -> dict[str, Any]:
    """What a clean installation of the Edge Transport role holds in AD LDS."""
    name = host.name.upper()
    return {
        "server": name,
        "certificate": new_certificate(host),
        "transport_server": {k: rf"{install}\{v}" for k, v in TRANSPORT_PATHS.items()} | {"RootDropDirectoryPath": ""},
        "receive_connectors": [
            {
                "Name": f"Default internal receive connector {name}",
                "Bindings": [f"{IP_ANY}:25", "[::]:25"],
                "RemoteIPRanges": [f"{IP_ANY}-255.255.255.255"],
                "Fqdn": host.fqdn,
                "Enabled": True,
            }
        ],
        "send_connectors": [],
        "accepted_domains": [],
        "remote_domains": [{"Name": "Default", "DomainName": "*"}],
        "transport_agents": [{"Identity": a, "Enabled": True, "Priority": i + 1} for i, a in enumerate(BUILTIN_AGENTS)],
        "esbra": None,
        "subscription": None,
    }


def apply_seed(host: Host, spec: dict[str, Any]) -> None:
    """hosts.<H>.state.edge: the Edge's AD LDS content on top of a clean install (a configured, healthy Edge)."""
    data = load(host)
    for key in ("receive_connectors", "send_connectors", "accepted_domains", "remote_domains"):
        if key in spec:
            data[key] = [dict(x) for x in spec[key]]
    for connector in data["send_connectors"]:  # New-SendConnector's defaults
        connector.setdefault("SourceIPAddress", IP_ANY)
        connector.setdefault("Enabled", True)
    if "transport_server" in spec:
        data["transport_server"].update(spec["transport_server"])
    if spec.get("certificate"):
        data["certificate"] = str(spec["certificate"])
    if spec.get("subscribed"):
        org = spec["subscribed"] if isinstance(spec["subscribed"], dict) else {}
        data["subscription"] = {
            "site": org.get("site", DEFAULT_SITE),
            "organization": org.get("organization"),
            "esra": list(org.get("esra") or []),
            "synced_at": host.clock.time(),
            "recipients": int(org.get("recipients", 0)),
        }
        if "send_connectors" not in spec:  # what EdgeSync replicated: its two Send connectors
            data["send_connectors"] = edgesync_send_connectors(data["subscription"]["site"])
    save(host, data)


def edgesync_send_connectors(site: str) -> list[dict[str, Any]]:
    """The Send connectors EdgeSync replicates to a subscribed Edge (New-EdgeSubscription -CreateInternetSendConnector and
    -CreateInboundSendConnector, both true by default)."""
    internet = {"Name": f"EdgeSync - {site} to Internet", "AddressSpaces": ["SMTP:*;100"], "SmartHosts": [], "DNSRoutingEnabled": True}
    inbound = {"Name": f"EdgeSync - Inbound to {site}", "AddressSpaces": ["SMTP:--;1"], "SmartHosts": ["--"], "DNSRoutingEnabled": False}
    return [{**c, "SourceIPAddress": IP_ANY, "Enabled": True, "Credential": None} for c in (internet, inbound)]


SEED_KEYS = {"receive_connectors", "send_connectors", "accepted_domains", "remote_domains", "transport_server", "certificate", "subscribed"}


def validate_seed(where: str, spec: Any) -> str | None:
    if not isinstance(spec, dict):
        return f"{where}: expected a mapping ({', '.join(sorted(SEED_KEYS))})"
    unknown = sorted(set(spec) - SEED_KEYS)
    if unknown:
        return f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(SEED_KEYS))})"
    for key in ("receive_connectors", "send_connectors", "accepted_domains", "remote_domains"):
        for i, item in enumerate(spec.get(key) or []):
            if not isinstance(item, dict) or not item.get("Name"):
                return f"{where}.{key}[{i}]: expected a mapping with Name (and the cmdlet's property names)"
    return None


# -- the subscription file (ODX 2013 edge-subscription-credentials: its contents) ----------------------------------------------
def to_ticks(when: datetime) -> int:
    return int((when - TICKS_EPOCH).total_seconds() * 10_000_000)


def from_ticks(ticks: int) -> datetime:
    return TICKS_EPOCH + timedelta(microseconds=ticks // 10)


def new_subscription(host: Host, data: dict[str, Any]) -> dict[str, Any]:
    """New-EdgeSubscription on the Edge: a new ESBRA (expires in 24 h) and the file's content."""
    now = host.clock.time()
    password = secrets.token_urlsafe(24)
    data["esbra"] = {"user": f"ESRA.{data['server']}", "password": password, "created": now, "expires": now + ESBRA_LIFETIME_S}
    # EdgeSync owns these from now on: the Edge's own copies are deleted (ODX edge-subscriptions.md)
    for key in EDGESYNC_OWNED:
        data[key] = [x for x in data[key] if key == "remote_domains" and x.get("Name") == "Default"]
    return data["esbra"]


def subscription_xml(host: Host, data: dict[str, Any], version: str) -> str:
    esbra = data["esbra"]
    created = datetime.fromtimestamp(esbra["created"], UTC)
    fields = [
        ("EdgeServerName", data["server"]),
        ("EdgeServerFQDN", host.fqdn.lower()),
        ("EdgeCertificateBlob", base64.b64encode(f"CERT:{data['certificate']}".encode()).decode()),
        ("PfxKPKCertificateBlob", ""),
        ("ESRAUsername", esbra["user"]),
        ("ESRAPassword", esbra["password"]),
        ("EffectiveDate", str(to_ticks(created))),
        ("Duration", str(ESBRA_LIFETIME_S * 10_000_000)),
        ("AdamSslPort", str(ADAM_SSL_PORT)),
        ("ServerType", "Edge"),
        ("ProductID", "00000-00000-00000-00000-00000"),
        ("VersionNumber", "1"),
        ("SerialNumber", f"Version {'.'.join(version.split('.')[:2])} (Build {'.'.join(version.split('.')[2:])})"),
    ]
    body = "".join(f"  <{k}>{escape(v)}</{k}>\r\n" for k, v in fields)
    return f'<?xml version="1.0" encoding="utf-8"?>\r\n<EdgeSubscriptionData>\r\n{body}</EdgeSubscriptionData>\r\n'


def parse_subscription(blob: bytes) -> dict[str, str]:
    """The fields of a subscription file (what New-EdgeSubscription -FileData reads); EdgeError for anything else."""
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(blob)
    except ParseError as e:
        raise EdgeError(f"The Edge Subscription file is not valid XML: {e} (modelled)") from None
    if root.tag != "EdgeSubscriptionData":
        raise EdgeError("The data isn't an Edge Subscription file (modelled).")
    return {child.tag: (child.text or "") for child in root}


# -- the organisation side: subscriptions and synchronization --------------------------------------------------------------
def certificate_of_blob(blob_b64: str) -> str:
    try:
        text = base64.b64decode(blob_b64).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
    return text.removeprefix("CERT:")


def subscribe(org: ExchangeOrganization, fields: dict[str, str], site: str, now: float) -> dict[str, Any]:
    """New-EdgeSubscription -FileData on a Mailbox/Hub server: the subscription object (it replaces an existing one)."""
    name = fields.get("EdgeServerName", "").upper()
    record = {
        "site": site,
        "edge_fqdn": fields.get("EdgeServerFQDN"),
        "certificate": certificate_of_blob(fields.get("EdgeCertificateBlob", "")),
        "esbra_user": fields.get("ESRAUsername"),
        "esbra_password": fields.get("ESRAPassword"),
        "created": now,
        "last_sync": None,
        "status": "NotSynchronized",
        "failure": None,
    }
    org.edge_subscriptions[name] = record
    return record


def synchronize(
    org: ExchangeOrganization, edge_name: str, edge_host: Host | None, source_server: str, *, now: float, domain: str = "contoso.com"
) -> dict[str, Any]:
    """One EdgeSync session from `source_server` to the Edge: binds with the ESRA, or the first time with the ESBRA, and
    replicates the organisation's accepted domains and the EdgeSync Send connectors. Records and returns the status."""
    record = org.edge_subscriptions[edge_name.upper()]
    failure = None
    if edge_host is None or not edge_host.is_up():
        failure = f"Couldn't connect to the Edge Transport server {edge_name} over secure LDAP port {ADAM_SSL_PORT} (modelled)."
    else:
        try:
            data = load(edge_host)
        except EdgeError as e:
            data, failure = None, f"Couldn't connect to the Edge Transport server {edge_name}: {e}"
        if data is not None and failure is None:
            failure = _bind(org, record, data, edge_host, now)
            if failure is None:
                _replicate(org, record, data, source_server, domain=domain, now=now)
                save(edge_host, data)
    record["last_sync"] = now
    record["status"] = "Failed" if failure else "Normal"
    record["failure"] = failure
    return record


def _bind(org: ExchangeOrganization, record: dict[str, Any], data: dict[str, Any], edge_host: Host, now: float) -> str | None:
    if data.get("certificate") != record.get("certificate"):
        return (
            "The Edge Transport server's certificate doesn't match the one in the Edge Subscription: the Edge was rebuilt or "
            "re-installed; subscribe it again (modelled)."
        )
    sub = data.get("subscription") or {}
    if sub.get("organization") == org.organization and sub.get("esra"):
        return None  # the ESRA installed by an earlier synchronization
    esbra = data.get("esbra") or {}
    if not esbra or esbra.get("user") != record.get("esbra_user") or esbra.get("password") != record.get("esbra_password"):
        return "The credentials of the Edge Subscription were rejected by the Edge Transport server (modelled)."
    expired = now >= float(esbra.get("expires") or 0) or edge_host.fault(FAULT_EXPIRED) is not None
    if expired:
        return (
            "The EdgeSync bootstrap replication account (ESBRA) of the Edge Subscription has expired: it is valid 24 hours after "
            "New-EdgeSubscription ran on the Edge. Create a new Edge Subscription file and subscribe again (modelled)."
        )
    return None


def _replicate(org: ExchangeOrganization, record: dict[str, Any], data: dict[str, Any], source: str, *, domain: str, now: float) -> None:
    site = record["site"]
    accepted = org.accepted_domains or [{"Name": domain, "DomainName": domain, "DomainType": "Authoritative"}]  # the org's default domain
    data["accepted_domains"] = [{"DomainType": "Authoritative", **d} for d in accepted]
    data["send_connectors"] = edgesync_send_connectors(site)
    sub = data.get("subscription") or {}
    esra = sorted({*sub.get("esra", []), source.upper()})
    data["subscription"] = {
        "site": site,
        "organization": org.organization,
        "esra": esra,
        "synced_at": now,
        "recipients": len(getattr(org, "mailboxes", {}) or {}),
    }
    data["esbra"] = None  # used once: the ESRA accounts take over
    record["esbra_password"] = None


def sync_due(record: dict[str, Any], now: float) -> bool:
    """The scheduled synchronization (configuration every 3 minutes) has come since the last one (or since the
    subscription was made); a subscription the estate seeded, with no times, is due at once."""
    last = record.get("last_sync")
    if last is None:
        last = record.get("created")
    return last is None or now - float(last) >= SYNC_INTERVAL_S
