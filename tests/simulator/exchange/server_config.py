"""What lives on an Exchange server besides its databases (issue 13, docs/dr-kit.md): the certificates in the machine store
and the services each is enabled for, the virtual directories' URLs and authentication, the receive connectors, the
per-server transport settings and the .config files Exchange reads.

State: host.state.exchange["server_config"] = {"certificates": {THUMBPRINT: {...}}, "virtual_directories": {type: {...}},
"receive_connectors": [{...}], "transport": {...}}; the .config files are files on the host's disk. It goes with the host's
disk when a server is lost.

What Setup creates (a new install, and RecoverServer - `install_defaults`): the decision for the simulator, from Facts §1
(NOT restored by RecoverServer: CA-issued certificates - "Setup binds a self-signed one" -, custom settings and IIS virtual
directory customisations, local config files) and ODX recover-exchange-servers.md ("assigns a self-signed certificate to all
Exchange services that require SSL/TLS"):
- the machine store gets a self-signed certificate ("Microsoft Exchange", CN=<server>, the server's names) enabled for
  IMAP, POP, IIS and SMTP, its private key not exportable (PS Export-ExchangeCertificate: the default self-signed
  certificate is not exportable);
- the virtual directories are created anew with the defaults below (internal URL https://<fqdn>/<path>, no external URL,
  the authentication the PS pages call the default; where a page names none: (modelled));
- the receive connectors are Setup's defaults (ODX ExchangeServer/mail-flow/connectors/receive-connectors.md, "Default
  Receive connectors created during setup"): customised defaults and custom connectors are gone. Receive connectors are
  Active Directory objects under the server, so on a real lab they may survive; the re-apply does not depend on which:
  it sets what differs and creates what is missing. (modelled, lower confidence)
- the transport settings are Setup's defaults (modelled, as the connectors);
- the .config files are the build's defaults (`default_config`; EdgeTransport.exe.config is written by profiles.py).
Messages marked (modelled) are the simulator's wording.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit import CONFIG_FILES, FROM_2013
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

if TYPE_CHECKING:
    from simulator.host import Host

STATE = "server_config"
SELF_SIGNED_SERVICES = ["IMAP", "POP", "IIS", "SMTP"]
WRONG_PASSWORD = "The specified network password is not correct."  # CryptographicException of a PKCS #12 import with a wrong password
ALL_IP = ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-255.255.255.255"]
SETUP_AUTH = "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer"


class ConfigError(Exception):
    """A cmdlet's failure; the cmdlet twins turn it into a CmdletError."""


def product_of(version: str) -> str:
    return release_of(version).product


def fqdn_of(host: Host) -> str:
    return f"{host.name}.{host.domain.name}".lower() if host.domain is not None else host.name.lower()


def state(host: Host) -> dict[str, Any]:
    """The server's configuration (empty when Exchange never configured it)."""
    return host.state.exchange.setdefault(STATE, {})


def configured(host: Host) -> bool:
    return bool(host.state.exchange.get(STATE))


# -- defaults (what Setup creates) ---------------------------------------------------------------------------------------------
VDIR_NAMES = {
    "owa": ("owa (Default Web Site)", "/owa"),
    "ecp": ("ecp (Default Web Site)", "/ecp"),
    "ews": ("EWS (Default Web Site)", "/EWS/Exchange.asmx"),
    "activesync": ("Microsoft-Server-ActiveSync (Default Web Site)", "/Microsoft-Server-ActiveSync"),
    "oab": ("OAB (Default Web Site)", "/OAB"),
    "mapi": ("mapi (Default Web Site)", "/mapi"),
    "outlook_anywhere": ("Rpc (Default Web Site)", None),
}


def default_virtual_directories(product: str, fqdn: str) -> dict[str, dict[str, Any]]:
    """Setup's virtual directories. Authentication defaults: PS Set-OwaVirtualDirectory -FormsAuthentication ("$true ...
    the default. The BasicAuthentication parameter is also set to $true, and DigestAuthentication and WindowsAuthentication
    are set to $false"), the same for ECP; EWS, OAB, MAPI and Outlook Anywhere Windows (NTLM/Negotiate) and OAuth; ActiveSync
    Basic. (modelled where a page states no default)"""
    modern = product in FROM_2013

    def url(path: str) -> str:
        return f"https://{fqdn}{path}"

    out: dict[str, dict[str, Any]] = {
        "owa": {
            "InternalUrl": url("/owa"),
            "ExternalUrl": None,
            "BasicAuthentication": True,
            "DigestAuthentication": False,
            "FormsAuthentication": True,
            "WindowsAuthentication": False,
            "ExternalAuthenticationMethods": ["Fba"],
            **({"AdfsAuthentication": False, "OAuthAuthentication": False} if modern else {}),
        },
        "ecp": {
            "InternalUrl": url("/ecp"),
            "ExternalUrl": None,
            "BasicAuthentication": True,
            "DigestAuthentication": False,
            "FormsAuthentication": True,
            "WindowsAuthentication": False,
            "ExternalAuthenticationMethods": ["Fba"],
            **({"AdfsAuthentication": False} if modern else {}),
            **({"OAuthAuthentication": False} if product in ("2019", "SE") else {}),
        },
        "ews": {
            "InternalUrl": url("/EWS/Exchange.asmx"),
            "ExternalUrl": None,
            "BasicAuthentication": False,
            "DigestAuthentication": False,
            "WindowsAuthentication": True,
            "WSSecurityAuthentication": True,
            **({"OAuthAuthentication": True} if modern else {}),
        },
        "activesync": {
            "InternalUrl": url("/Microsoft-Server-ActiveSync"),
            "ExternalUrl": None,
            "BasicAuthEnabled": True,
            "WindowsAuthEnabled": False,
            "ClientCertAuth": "Ignore",
            "ExternalAuthenticationMethods": ["Basic"],
        },
        "oab": {
            "InternalUrl": url("/OAB"),
            "ExternalUrl": None,
            "BasicAuthentication": False,
            "WindowsAuthentication": True,
            "RequireSSL": False,
            **({"OAuthAuthentication": True} if modern else {}),
        },
        "outlook_anywhere": {"ExternalHostname": None, "IISAuthenticationMethods": ["Basic", "Ntlm", "Negotiate"], "SSLOffloading": True},
    }
    if modern:
        out["mapi"] = {"InternalUrl": url("/mapi"), "ExternalUrl": None, "IISAuthenticationMethods": ["Ntlm", "OAuth", "Negotiate"]}
        out["outlook_anywhere"].update(
            InternalHostname=fqdn,
            InternalClientAuthenticationMethod="Ntlm",
            ExternalClientAuthenticationMethod="Negotiate" if product != "2013" else "Ntlm",
            InternalClientsRequireSsl=False,
            ExternalClientsRequireSsl=False,
        )
    else:
        out["outlook_anywhere"]["ClientAuthenticationMethod"] = "Basic"
    return {k: {"name": VDIR_NAMES[k][0], "settings": v} for k, v in out.items()}


def default_receive_connectors(product: str, server: str, fqdn: str) -> list[dict[str, Any]]:
    """The connectors Setup creates on a Mailbox (2013+) or Hub Transport (2010) server."""

    def conn(name: str, port: int, role: str | None, groups: str, auth: str, *, logging: str = "None") -> dict[str, Any]:
        c = {
            "Name": name.format(server=server),
            "Bindings": [f"[::]:{port}", f"0.0.0.0:{port}"],
            "RemoteIPRanges": list(ALL_IP),
            "AuthMechanism": auth,
            "PermissionGroups": groups,
            "Fqdn": fqdn,
            "Banner": None,
            "Comment": None,
            "MaxMessageSize": "36 MB (37,748,736 bytes)",
            "MaxRecipientsPerMessage": 200,
            "MessageRateLimit": "Unlimited",
            "ConnectionTimeout": "00:10:00",
            "Enabled": True,
            "RequireTLS": False,
            "ProtocolLoggingLevel": logging,
        }
        if role is not None:
            c["TransportRole"] = role
            c["TlsCertificateName"] = None
        return c

    if product == "2010":
        return [
            conn(
                "Default {server}",
                25,
                None,
                "ExchangeUsers, ExchangeServers, ExchangeLegacyServers",
                "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
            ),
            conn("Client {server}", 587, None, "ExchangeUsers", "Tls, Integrated, BasicAuth, BasicAuthRequireTLS"),
        ]
    hub, front = "HubTransport", "FrontendTransport"
    return [
        conn("Client Frontend {server}", 587, front, "ExchangeUsers", "Tls, Integrated, BasicAuth, BasicAuthRequireTLS"),
        conn("Client Proxy {server}", 465, hub, "ExchangeUsers, ExchangeServers", SETUP_AUTH),
        conn("Default {server}", 2525, hub, "ExchangeUsers, ExchangeServers, ExchangeLegacyServers", "Tls, Integrated, BasicAuth, ExchangeServer"),
        conn("Default Frontend {server}", 25, front, "AnonymousUsers, ExchangeServers, ExchangeLegacyServers", SETUP_AUTH, logging="Verbose"),
        conn("Outbound Proxy Frontend {server}", 717, front, "ExchangeServers", SETUP_AUTH),
    ]


def size_text(value: Any) -> Any:
    """A ByteQuantifiedSize as Exchange prints it: '36 MB (37,748,736 bytes)' (the largest unit it reaches; modelled)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    for unit, factor in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if value >= factor:
            return f"{value / factor:.3f}".rstrip("0").rstrip(".") + f" {unit} ({value:,} bytes)"
    return f"{value} B ({value:,} bytes)"


def default_transport(install: str) -> dict[str, Any]:
    """Set-TransportService defaults (PS Set-TransportService: each parameter's stated default; log paths under the install
    folder's TransportRoles\\Logs)."""
    logs = rf"{install}\TransportRoles\Logs"
    return {
        "MaxConcurrentMailboxDeliveries": 20,
        "MaxConcurrentMailboxSubmissions": 20,
        "MaxConnectionRatePerMinute": 1200,
        "MaxOutboundConnections": "1000",
        "MaxPerDomainOutboundConnections": "20",
        "MessageExpirationTimeout": "2.00:00:00",
        "MessageRetryInterval": "00:15:00",
        "TransientFailureRetryCount": 6,
        "TransientFailureRetryInterval": "00:05:00",
        "MessageTrackingLogEnabled": True,
        "MessageTrackingLogMaxAge": "30.00:00:00",
        "MessageTrackingLogPath": rf"{logs}\MessageTracking",
        "ConnectivityLogEnabled": True,
        "ConnectivityLogPath": rf"{logs}\Hub\Connectivity",
        "ReceiveProtocolLogPath": rf"{logs}\Hub\ProtocolLog\SmtpReceive",
        "SendProtocolLogPath": rf"{logs}\Hub\ProtocolLog\SmtpSend",
        "PickupDirectoryPath": rf"{install}\TransportRoles\Pickup",
        "ReplayDirectoryPath": rf"{install}\TransportRoles\Replay",
        "InternalDNSServers": [],
        "ExternalDNSServers": [],
    }


_DEFAULT_KEYS = {
    "MSExchangeFrontEndTransport.exe.config": {"MaxConnectionRatePerMinute": "1200"},
    "MSExchangeDelivery.exe.config": {"MaxMailboxDeliveryConnections": "20"},
    "MSExchangeSubmission.exe.config": {"MaxSubmissionConnections": "20"},
    "noderunner.exe.config": {"MemoryLimitMegabytes": "0"},
    "web.config": {"LogLevel": "Warning"},
}


def default_config(path: str, version: str) -> str:
    """The content Setup of `version` lays down for a .config file (simulated: the same bytes for every server of a build)."""
    name = path.rsplit("\\", 1)[-1]
    keys = _DEFAULT_KEYS.get(name, {"Enabled": "true"})
    adds = "\n".join(f'    <add key="{k}" value="{v}" />' for k, v in keys.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n'
        f"  <!-- simulator: {path} as Exchange {version} Setup lays it down -->\n"
        f"  <appSettings>\n{adds}\n  </appSettings>\n</configuration>\n"
    )


def install_defaults(host: Host, version: str, install: str) -> None:
    """What Setup leaves (a new install or RecoverServer): see the module docstring."""
    product = product_of(version)
    if product == "2007":
        return
    server = host.name.upper()
    fqdn = fqdn_of(host)
    st = state(host)
    certs = st.setdefault("certificates", {})
    if not any(c.get("self_signed") for c in certs.values()):
        cert = make_certificate(f"CN={server}", [server, fqdn], issuer=None, days=5 * 365)
        certs[cert["thumbprint"]] = {**cert, "friendly_name": "Microsoft Exchange", "services": list(SELF_SIGNED_SERVICES), "exportable": False}
        _only_one_iis(certs, cert["thumbprint"])
    st["virtual_directories"] = default_virtual_directories(product, fqdn)
    st["receive_connectors"] = default_receive_connectors(product, server, fqdn)
    st["transport"] = default_transport(install)
    for entry in CONFIG_FILES:
        if product not in entry.products or entry.path == r"Bin\EdgeTransport.exe.config":
            continue
        path = rf"{install}\{entry.path}"
        host.mkdir(path.rsplit("\\", 1)[0])
        host.write_text(path, default_config(entry.path, version))
    host.state.exchange[STATE] = st


# -- certificates ------------------------------------------------------------------------------------------------------------------
def make_certificate(subject: str, domains: list[str], *, issuer: str | None, days: int, not_before: datetime.datetime | None = None) -> dict[str, Any]:
    """A certificate with its private key (RSA 2048), self-signed or signed by a throw-away CA named `issuer`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject.removeprefix("CN="))])
    signer_key, issuer_name = key, subject_name
    if issuer:
        signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer.removeprefix("CN="))])
    start = not_before or datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
        .sign(signer_key, hashes.SHA256())
    )
    return {
        "thumbprint": thumbprint(cert),
        "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "key_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode("ascii"),
        "self_signed": issuer is None,
    }


def thumbprint(cert: x509.Certificate) -> str:
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()  # noqa: S324 - a thumbprint is SHA-1


def certificate_object(entry: dict[str, Any]) -> dict[str, Any]:
    """Get-ExchangeCertificate's view of a machine store entry."""
    cert = x509.load_pem_x509_certificate(entry["cert_pem"].encode("ascii"))
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        sans = []
    services = [s for s in ("IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter") if s in entry.get("services", [])]
    return {
        "Thumbprint": entry["thumbprint"],
        "Subject": cert.subject.rfc4514_string(),
        "Issuer": cert.issuer.rfc4514_string(),
        "FriendlyName": entry.get("friendly_name"),
        "CertificateDomains": list(sans),
        "Services": ", ".join(services) or "None",
        "NotBefore": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "NotAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "HasPrivateKey": bool(entry.get("key_pem")),
        "PrivateKeyExportable": bool(entry.get("exportable")),
        "IsSelfSigned": bool(entry.get("self_signed")),
        "Status": "Valid",
    }


def export_pfx(entry: dict[str, Any], password: str) -> bytes:
    """Export-ExchangeCertificate -BinaryEncoded -Password: the PKCS #12 file, encrypted with the password; refused when the
    private key is not exportable (PS Export-ExchangeCertificate)."""
    if not entry.get("exportable") or not entry.get("key_pem"):
        raise ConfigError(f"The private key of certificate {entry['thumbprint']} isn't exportable. (modelled)")
    if not password:
        raise ConfigError("A password is required to export a certificate with its private key. (modelled)")
    cert = x509.load_pem_x509_certificate(entry["cert_pem"].encode("ascii"))
    key = serialization.load_pem_private_key(entry["key_pem"].encode("ascii"), password=None)
    return pkcs12.serialize_key_and_certificates(
        (entry.get("friendly_name") or "").encode("utf-8") or None, key, cert, None, serialization.BestAvailableEncryption(password.encode("utf-8"))
    )


def import_pfx(host: Host, data: bytes, password: str, *, exportable: bool, friendly_name: str | None) -> dict[str, Any]:
    """Import-ExchangeCertificate -FileData -Password: the certificate and its key go to the machine store, enabled for no
    service (PS Import-ExchangeCertificate: "After you import a certificate ... assign it ... by using Enable-ExchangeCertificate")."""
    try:
        key, cert, _extra = pkcs12.load_key_and_certificates(data, (password or "").encode("utf-8"))
    except ValueError:
        raise ConfigError(WRONG_PASSWORD) from None
    if cert is None:
        raise ConfigError("The file doesn't hold a certificate. (modelled)")
    certs = state(host).setdefault("certificates", {})
    thumb = thumbprint(cert)
    if thumb in certs:
        raise ConfigError(f"The certificate with thumbprint {thumb} already exists. (modelled)")
    entry = {
        "thumbprint": thumb,
        "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "key_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode("ascii")
        if key is not None
        else None,
        "self_signed": cert.issuer == cert.subject,
        "friendly_name": friendly_name,
        "services": [],
        "exportable": exportable,
    }
    certs[thumb] = entry
    return entry


def enable(host: Host, thumb: str, services: list[str], *, force: bool) -> None:
    """Enable-ExchangeCertificate: adds the services; IIS has one certificate (the site binding moves); replacing the
    default SMTP certificate asks for confirmation unless -Force (a remote session cannot answer)."""
    certs = state(host).get("certificates") or {}
    entry = certs.get(thumb.upper())
    if entry is None:
        raise ConfigError(f"The certificate with thumbprint {thumb.upper()} was not found on server {host.name.upper()}. (modelled)")
    if not entry.get("key_pem"):
        raise ConfigError(f"The certificate with thumbprint {thumb.upper()} has no private key; it can't be enabled for services. (modelled)")
    if "SMTP" in services and not force and any("SMTP" in c.get("services", []) for t, c in certs.items() if t != entry["thumbprint"]):
        raise ConfigError("Overwrite the existing default SMTP certificate? Confirmation is required; use -Force in a script. (modelled)")
    entry["services"] = [s for s in ("IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter") if s in set(entry.get("services", [])) | set(services)]
    if "IIS" in services:
        _only_one_iis(certs, entry["thumbprint"])


def _only_one_iis(certs: dict[str, Any], keep: str) -> None:
    for t, c in certs.items():
        if t != keep and "IIS" in c.get("services", []):
            c["services"] = [s for s in c["services"] if s != "IIS"]


# -- .config files ------------------------------------------------------------------------------------------------------------------
def set_app_settings(text: str, settings: dict[str, str]) -> str:
    """A .config file with appSettings keys added or changed (how administrators edit them)."""
    root = ET.fromstring(re.sub(r"^<\?xml[^>]*\?>\s*", "", text))  # noqa: S314
    app = root.find("appSettings")
    if app is None:
        app = ET.SubElement(root, "appSettings")
    for key, value in settings.items():
        node = next((n for n in app.findall("add") if n.get("key") == key), None)
        if node is None:
            node = ET.SubElement(app, "add", {"key": key})
        node.set("value", str(value))
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def app_settings(text: str) -> dict[str, str]:
    root = ET.fromstring(re.sub(r"^<\?xml[^>]*\?>\s*", "", text))  # noqa: S314
    return {n.get("key", ""): n.get("value", "") for n in root.iter("add")}


# -- the estate's seed ------------------------------------------------------------------------------------------------------------
SEED_KEYS = {"certificates", "virtual_directories", "receive_connectors", "transport", "config_files"}


def validate_seed(where: str, seed: Any) -> str | None:
    """Problems of a host's `state.exchange_config` (None when fine)."""
    if not isinstance(seed, dict):
        return f"{where}: expected a mapping with {', '.join(sorted(SEED_KEYS))}"
    unknown = sorted(set(seed) - SEED_KEYS)
    if unknown:
        return f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(SEED_KEYS))})"
    for i, cert in enumerate(seed.get("certificates") or []):
        if not isinstance(cert, dict) or "subject" not in cert:
            return f"{where}.certificates[{i}]: expected a mapping with subject, domains, issuer, services, exportable, days"
        bad = sorted(set(cert.get("services") or []) - {"IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter"})
        if bad:
            return f"{where}.certificates[{i}].services: unknown service {bad[0]}"
    for name in seed.get("virtual_directories") or {}:
        if name not in VDIR_NAMES:
            return f"{where}.virtual_directories.{name}: unknown type (allowed: {', '.join(VDIR_NAMES)})"
    for i, conn in enumerate(seed.get("receive_connectors") or []):
        if not isinstance(conn, dict) or "Name" not in conn:
            return f"{where}.receive_connectors[{i}]: expected a mapping with Name and the connector's settings"
    return None


def apply_seed(host: Host, seed: dict[str, Any]) -> None:
    """Customise a configured server (after `exchange: true`): certificates added and enabled, virtual directory settings,
    receive connectors changed (by Name) or added, transport settings, appSettings edits in .config files."""
    st = state(host)
    if not st:
        raise ValueError(f"hosts.{host.name}.state.exchange_config needs an installed Exchange 2010 or later (state.exchange)")
    for spec in seed.get("certificates") or []:
        cert = make_certificate(
            spec["subject"],
            list(spec.get("domains") or [spec["subject"].removeprefix("CN=")]),
            issuer=spec.get("issuer", "CN=Contoso CA"),
            days=int(spec.get("days", 365)),
        )
        st["certificates"][cert["thumbprint"]] = {
            **cert,
            "friendly_name": spec.get("friendly_name"),
            "services": [],
            "exportable": bool(spec.get("exportable", True)),
        }
        if spec.get("services"):
            enable(host, cert["thumbprint"], list(spec["services"]), force=True)
    for vtype, settings in (seed.get("virtual_directories") or {}).items():
        st["virtual_directories"][vtype]["settings"].update(settings)
    for conn in seed.get("receive_connectors") or []:
        existing = next((c for c in st["receive_connectors"] if c["Name"].casefold() == str(conn["Name"]).casefold()), None)
        if existing is None:
            st["receive_connectors"].append({**default_receive_connectors(product_of(_version(host)), host.name.upper(), fqdn_of(host))[0], **conn})
        else:
            existing.update(conn)
    st["transport"].update(seed.get("transport") or {})
    install = _install(host)
    for path, edit in (seed.get("config_files") or {}).items():
        full = rf"{install}\{path}"
        host.write_text(full, set_app_settings(host.read_bytes(full).decode("utf-8"), dict((edit or {}).get("app_settings") or {})))
    host.state.exchange[STATE] = st


def _version(host: Host) -> str:
    from simulator.twins.exchange_dr._exchange_state import exchange_state

    return str(exchange_state(host)["version"])


def _install(host: Host) -> str:
    from simulator.twins.exchange_dr._exchange_state import exchange_state

    return str(exchange_state(host)["install_path"]).rstrip("\\")
