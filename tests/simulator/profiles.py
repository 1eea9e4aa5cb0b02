"""Host-state profiles: what an installed product leaves on a host, reusable by seeds and by programs (a later Exchange
Setup program applies the same profile when a recovery succeeds).

exchange_server(host, spec): Exchange 2013/2016/2019/SE as exchange-recovery-facts.md describes it: the Setup registry key
(MsiInstallPath, MsiProductMajor/Minor, MsiBuildMajor/Minor), role keys with UnpackedVersion + ConfiguredVersion, the
Uninstall entry with InstallDate (what IE15 and DSC check), the ExchangeInstallPath system variable, the services of
section 3 with their start modes and states, the prerequisites of section 2 (features, .NET, VC++, UCMA, URL Rewrite) and
ExSetup.exe in Bin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import programs
from simulator.hoststate import Product

if TYPE_CHECKING:
    from simulator.host import Host

EXCHANGE_SETUP_KEY = r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup"
EXCHANGE_V15_KEY = r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15"
SYSTEM_ENVIRONMENT = r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
DEFAULT_INSTALL_PATH = r"C:\Program Files\Microsoft\Exchange Server\V15"
# Uninstall key names IE15 checks for InstallDate (facts section 1)
EXCHANGE_PRODUCT_CODES = {
    "15.0": "{4934D1EA-BE46-48B1-8847-F1AF20E892C1}",
    "15.1": "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}",
    "15.2": "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}",
}

# Prerequisite features (ODX prerequisites.md web set); Server Core drops the GUI ones.
EXCHANGE_FEATURES = (
    "Server-Media-Foundation",
    "NET-Framework-45-Features",
    "RPC-over-HTTP-proxy",
    "RSAT-Clustering",
    "RSAT-Clustering-CmdInterface",
    "RSAT-Clustering-Mgmt",
    "RSAT-Clustering-PowerShell",
    "WAS-Process-Model",
    "Web-Asp-Net45",
    "Web-Basic-Auth",
    "Web-Client-Auth",
    "Web-Digest-Auth",
    "Web-Dir-Browsing",
    "Web-Dyn-Compression",
    "Web-Http-Errors",
    "Web-Http-Logging",
    "Web-Http-Redirect",
    "Web-Http-Tracing",
    "Web-ISAPI-Ext",
    "Web-ISAPI-Filter",
    "Web-Lgcy-Mgmt-Console",
    "Web-Metabase",
    "Web-Mgmt-Console",
    "Web-Mgmt-Service",
    "Web-Net-Ext45",
    "Web-Request-Monitor",
    "Web-Server",
    "Web-Stat-Compression",
    "Web-Static-Content",
    "Web-Windows-Auth",
    "Web-WMI",
    "Windows-Identity-Foundation",
    "RSAT-ADDS",
)
EDGE_FEATURES = ("ADLDS",)

# (service, display name, start mode, state) — 2016/2019 Mailbox capture, facts section 3
_MAILBOX_SERVICES = (
    ("MSExchangeADTopology", "Microsoft Exchange Active Directory Topology", "auto", "running"),
    ("MSExchangeAntispamUpdate", "Microsoft Exchange Anti-spam Update", "auto", "running"),
    ("MSComplianceAudit", "Microsoft Exchange Compliance Audit", "auto", "running"),
    ("MSExchangeCompliance", "Microsoft Exchange Compliance Service", "auto", "running"),
    ("MSExchangeDagMgmt", "Microsoft Exchange DAG Management", "auto", "running"),
    ("MSExchangeDelivery", "Microsoft Exchange Mailbox Transport Delivery", "auto", "running"),
    ("MSExchangeDiagnostics", "Microsoft Exchange Diagnostics", "auto", "running"),
    ("MSExchangeEdgeSync", "Microsoft Exchange EdgeSync", "auto", "running"),
    ("MSExchangeFastSearch", "Microsoft Exchange Search", "auto", "running"),
    ("MSExchangeFrontEndTransport", "Microsoft Exchange Frontend Transport", "auto", "running"),
    ("MSExchangeHM", "Microsoft Exchange Health Manager", "auto", "running"),
    ("MSExchangeHMRecovery", "Microsoft Exchange Health Manager Recovery", "auto", "running"),
    ("MSExchangeIS", "Microsoft Exchange Information Store", "auto", "running"),
    ("MSExchangeMailboxAssistants", "Microsoft Exchange Mailbox Assistants", "auto", "running"),
    ("MSExchangeMailboxReplication", "Microsoft Exchange Mailbox Replication", "auto", "running"),
    ("MSExchangeMitigation", "Microsoft Exchange Emergency Mitigation Service", "auto", "running"),
    ("MSExchangeRepl", "Microsoft Exchange Replication", "auto", "running"),
    ("MSExchangeRPC", "Microsoft Exchange RPC Client Access", "auto", "running"),
    ("MSExchangeServiceHost", "Microsoft Exchange Service Host", "auto", "running"),
    ("MSExchangeSubmission", "Microsoft Exchange Mailbox Transport Submission", "auto", "running"),
    ("MSExchangeThrottling", "Microsoft Exchange Throttling", "auto", "running"),
    ("MSExchangeTransport", "Microsoft Exchange Transport", "auto", "running"),
    ("MSExchangeTransportLogSearch", "Microsoft Exchange Transport Log Search", "auto", "running"),
    ("HostControllerService", "Search Host Controller", "auto", "running"),
    ("SearchExchangeTracing", "Tracing Service for Search in Exchange", "auto", "running"),
    ("FMS", "Microsoft Filtering Management Service", "auto", "running"),
    ("MSExchangeImap4", "Microsoft Exchange IMAP4", "manual", "stopped"),
    ("MSExchangeIMAP4BE", "Microsoft Exchange IMAP4 Backend", "manual", "stopped"),
    ("MSExchangePop3", "Microsoft Exchange POP3", "manual", "stopped"),
    ("MSExchangePOP3BE", "Microsoft Exchange POP3 Backend", "manual", "stopped"),
    ("wsbexchange", "Microsoft Exchange Server Extension for Windows Server Backup", "manual", "stopped"),
)
_UM_SERVICES = (  # 2016 only
    ("MSExchangeUM", "Microsoft Exchange Unified Messaging", "auto", "running"),
    ("MSExchangeUMCR", "Microsoft Exchange Unified Messaging Call Router", "auto", "running"),
    ("MSExchangeNotificationsBroker", "Microsoft Exchange Notifications Broker", "auto", "stopped"),
)
_EDGE_SERVICES = (
    ("ADAM_MSExchange", "Microsoft Exchange ADAM", "auto", "running"),
    ("MSExchangeAntispamUpdate", "Microsoft Exchange Anti-spam Update", "auto", "running"),
    ("MSExchangeEdgeCredential", "Microsoft Exchange Credential Service", "auto", "running"),
    ("MSExchangeDiagnostics", "Microsoft Exchange Diagnostics", "auto", "running"),
    ("MSExchangeHM", "Microsoft Exchange Health Manager", "auto", "running"),
    ("MSExchangeHMRecovery", "Microsoft Exchange Health Manager Recovery", "auto", "running"),
    ("MSExchangeServiceHost", "Microsoft Exchange Service Host", "auto", "running"),
    ("MSExchangeTransport", "Microsoft Exchange Transport", "auto", "running"),
    ("MSExchangeTransportLogSearch", "Microsoft Exchange Transport Log Search", "auto", "running"),
)
# Services that need AD topology first; ADTopology itself needs Net.Tcp Port Sharing (so that one must not be Disabled).
_NEEDS_TOPOLOGY = {
    "MSExchangeIS",
    "MSExchangeTransport",
    "MSExchangeFrontEndTransport",
    "MSExchangeRPC",
    "MSExchangeRepl",
    "MSExchangeMailboxAssistants",
    "MSExchangeDelivery",
    "MSExchangeSubmission",
    "MSExchangeEdgeSync",
    "MSExchangeMailboxReplication",
    "MSExchangeServiceHost",
    "MSExchangeThrottling",
}

# Role keys under HKLM\SOFTWARE\Microsoft\ExchangeServer\v15 per role (2016+: the Mailbox role holds every component)
_ROLE_KEYS = {
    "Mailbox": ("MailboxRole", "ClientAccessRole", "HubTransportRole", "FrontendTransportRole", "CafeRole"),
    "ClientAccess": ("ClientAccessRole", "CafeRole", "FrontendTransportRole"),
    "Edge": ("EdgeTransportRole",),
}

# Prerequisite runtimes by DisplayName (how HealthChecker finds them). Product codes as commonly reported; unverified.
_VCREDIST = (
    ("{37B8F9C7-03FB-3253-8781-2517C99D7C00}", "Microsoft Visual C++ 2012 x64 Additional Runtime - 11.0.61030", "11.0.61030"),
    ("{CF2BEA3C-26EA-32F8-AA9B-331F7E34BA97}", "Microsoft Visual C++ 2012 x64 Minimum Runtime - 11.0.61030", "11.0.61030"),
    ("{929FBD26-9020-399B-9A7A-751D61F0B942}", "Microsoft Visual C++ 2013 x64 Additional Runtime - 12.0.40664", "12.0.40664"),
    ("{A749D8E6-B613-3BE3-8F5F-045C84EBA29B}", "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664", "12.0.40664"),
)
UCMA_KEY = r"HKLM:\SOFTWARE\Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}"
URL_REWRITE_KEY = r"HKLM:\SOFTWARE\Microsoft\IIS Extensions\URL Rewrite"


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in str(version).split("."))


def exchange_spec(host: Host, spec: Any) -> dict[str, Any]:
    """The profile parameters: `true` takes them from the domain's Exchange server object of the same name."""
    if spec is True:
        org = host.estate.domain.exchange if host.estate and host.estate.domain else None
        server = org.servers.get(host.name.upper()) if org else None
        if server is None:
            raise ValueError(f"hosts.{host.name}.state.exchange: true needs domain.exchange.servers.{host.name}")
        return {"version": server.version, "roles": list(server.roles), "install_path": server.install_path}
    if not isinstance(spec, dict) or "version" not in spec:
        raise ValueError(f"hosts.{host.name}.state.exchange: expected true or a mapping with version, roles, install_path")
    return {"roles": ["Mailbox"], "install_path": DEFAULT_INSTALL_PATH, **spec}


def exchange_server(host: Host, spec: Any) -> None:
    """Make `host` an installed, configured Exchange server (2013+ in full; 2007 and 2010 as far as the database modules
    need: Setup key, role keys, services, eseutil, the management shell snap-in)."""
    p = exchange_spec(host, spec)
    version = str(p["version"])
    v = version_tuple(version)
    if len(v) != 4 or v[0] not in (8, 14, 15):
        raise ValueError(f"exchange version must be a build such as 15.2.1544.4 (2013 or later), 14.3.123.4 or 8.3.83.6, not {version!r}")
    roles = list(p["roles"])
    install = str(p["install_path"]).rstrip("\\")
    if v[0] < 15:
        _legacy_server(host, version, v, roles, install)
        _server_config(host, version, roles, install)
        return
    edge = "Edge" in roles
    _prerequisites(host, v, edge)
    _registry(host, version, v, roles, install)
    _files(host, version, install, roles)
    _services(host, v, roles, edge, install)
    _server_config(host, version, roles, install)
    start_transport(host)


def _server_config(host: Host, version: str, roles: list[str], install: str) -> None:
    """What Setup configures besides services and files (issue 13): certificate, virtual directories, receive connectors,
    transport settings, .config files - simulator/exchange/server_config.py. Not on an Edge (its configuration is AD LDS)."""
    if "Edge" in roles:
        return
    from simulator.exchange import server_config

    server_config.install_defaults(host, version, install)


# Exchange 2007 (8.x) and 2010 (14.x): the Setup key where _ExchangeState.psm1 reads it, and the snap-in of each release
LEGACY_SETUP_ROOTS = {8: r"HKLM:\SOFTWARE\Microsoft\Exchange", 14: r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14"}
LEGACY_ROLE_KEYS = {
    "Mailbox": "MailboxRole",
    "ClientAccess": "ClientAccessRole",
    "HubTransport": "HubTransportRole",
    "UnifiedMessaging": "UnifiedMessagingRole",
    "Edge": "EdgeTransportRole",
}
SNAPIN_KEY = r"HKLM:\SOFTWARE\Microsoft\PowerShell\1\PowerShellSnapIns"
# 2007/2010 Edge Transport services (lower confidence; the 2013+ Edge table above without the 2013+ health services)
LEGACY_EDGE_SERVICES = (
    ("ADAM_MSExchange", "Microsoft Exchange ADAM", "auto"),
    ("MSExchangeTransport", "Microsoft Exchange Transport", "auto"),
    ("MSExchangeEdgeCredential", "Microsoft Exchange Credential Service", "auto"),
    ("MSExchangeAntispamUpdate", "Microsoft Exchange Anti-spam Update", "auto"),
    ("MSExchangeTransportLogSearch", "Microsoft Exchange Transport Log Search", "auto"),
)


def _legacy_server(host: Host, version: str, v: tuple[int, ...], roles: list[str], install: str) -> None:
    from simulator.programs.exchange_setup import _SERVICES_2010, FEATURES_2010  # (exchange_setup imports this module)

    # .NET 3.5 (NET-Framework-Core) needs the OS media's sources; a seeded server has it, the rest comes from the catalogue
    host.install_features([f for f in FEATURES_2010 if f != "NET-Framework-Core" and host.feature(f) is not None])
    host._apply_pending_features()
    host.clear_pending_reboot()
    root = LEGACY_SETUP_ROOTS[v[0]]
    host.reg_seed(
        rf"{root}\Setup",
        {"MsiInstallPath": install + "\\", "MsiProductMajor": v[0], "MsiProductMinor": v[1], "MsiBuildMajor": v[2], "MsiBuildMinor": v[3]},
    )
    for role in roles:
        host.reg_seed(rf"{root}\{LEGACY_ROLE_KEYS[role]}", {"UnpackedVersion": version, "ConfiguredVersion": version})
    host.reg_seed(SYSTEM_ENVIRONMENT, {"ExchangeInstallPath": {"type": "REG_EXPAND_SZ", "data": install + "\\"}})
    for sub in ("Bin", "Logging", "Mailbox", "Scripts"):
        host.mkdir(rf"{install}\{sub}")
    host.write_bytes(rf"{install}\Bin\ExSetup.exe", programs.marker("stub", {"file_version": version}))
    _shell_files(host, version, v, install)
    rows = list(_SERVICES_2010["common"]) + [row for r in roles for row in _SERVICES_2010.get(r, ())]
    if "Edge" in roles:  # an Edge has no AD topology service: AD LDS and the transport services (ODX edge-transport-servers.md)
        rows = list(LEGACY_EDGE_SERVICES)
    if host.service("NetTcpPortSharing") is not None:
        host.set_service("NetTcpPortSharing", start_mode="auto")
        host.state.services["nettcpportsharing"].state = "running"
    for name, display, mode in rows:
        if host.service(name) is None:
            deps = ["NetTcpPortSharing"] if name == "MSExchangeADTopology" else (["MSExchangeADTopology"] if name != "MSExchangeMonitoring" else [])
            if "Edge" in roles:
                deps = ["ADAM_MSExchange"] if name != "ADAM_MSExchange" else []
            image = rf'"{install}\Bin\{name}.exe"' if name == "MSExchangeTransport" else rf"{install}\Bin\{name}.exe"
            host.create_service(name, display, image, mode, dependencies=deps, state="running" if mode == "auto" else "stopped")
            if name == "MSExchangeTransport":
                host.set_service(name, can_pause=True)
    transport_files(host, version, install, roles)
    start_transport(host)


def _shell_files(host: Host, version: str, v: tuple[int, ...], install: str) -> None:
    """eseutil.exe (and isinteg.exe on 2007/2010) in Bin and the release's management shell snap-in, registered where
    Get-PSSnapin -Registered finds it."""
    from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import SHELLS
    from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

    host.write_bytes(rf"{install}\Bin\eseutil.exe", programs.marker("eseutil", {"file_version": version}))
    if v[0] in (8, 14):  # isinteg: 2007 and 2010 (2010 SP1 keeps the file but replaced it with New-MailboxRepairRequest)
        host.write_bytes(rf"{install}\Bin\isinteg.exe", programs.marker("isinteg", {"file_version": version}))
    snapin = SHELLS[release_of(version).product].snapin
    host.reg_seed(
        rf"{SNAPIN_KEY}\{snapin}",
        {"ApplicationBase": install + "\\Bin", "PowerShellVersion": "1.0" if v[0] < 15 else "2.0", "Version": version},
    )


def _prerequisites(host: Host, v: tuple[int, ...], edge: bool) -> None:
    features = EDGE_FEATURES if edge else EXCHANGE_FEATURES
    available = [f for f in features if host.feature(f) is not None]
    host.install_features(available)
    host._apply_pending_features()
    host.clear_pending_reboot()
    release = 528040 if v >= (15, 1) else 461808  # 4.8 for 2016/2019/SE, 4.7.2 for 2013 CU23
    current = host.reg_get_value(r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full", "Release")
    if current is None or current.data < release:
        host.reg_set_value(r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full", "Release", release, "REG_DWORD", create_key=True)
    for code, name, ver in _VCREDIST:
        host.install_product(Product(code=code, name=name, version=ver, publisher="Microsoft Corporation"))
    if not edge:
        host.reg_seed(UCMA_KEY, {"Version": "5.0.8308.0"})
        host.reg_seed(URL_REWRITE_KEY, {"Version": "7.2.1993"})
        host.set_service("NetTcpPortSharing", start_mode="auto")
        if host.service("NetTcpPortSharing").state != "running":
            host.state.services["nettcpportsharing"].state = "running"


def _registry(host: Host, version: str, v: tuple[int, ...], roles: list[str], install: str) -> None:
    host.reg_seed(
        EXCHANGE_SETUP_KEY,
        {
            "MsiInstallPath": install + "\\",
            "MsiProductMajor": v[0],
            "MsiProductMinor": v[1],
            "MsiBuildMajor": v[2],
            "MsiBuildMinor": v[3],
            "Services": install + "\\Bin",
        },
    )
    keys = {k for r in roles for k in _ROLE_KEYS.get(r, ())}
    if v[:2] == (15, 1) and "Mailbox" in roles:
        keys.add("UnifiedMessagingRole")
    for key in sorted(keys):
        host.reg_seed(rf"{EXCHANGE_V15_KEY}\{key}", {"UnpackedVersion": version, "ConfiguredVersion": version})
    product_names = {(15, 0): "Microsoft Exchange Server 2013", (15, 1): "Microsoft Exchange Server 2016", (15, 2): "Microsoft Exchange Server 2019"}
    name = product_names[v[:2]]
    if v[:2] == (15, 2) and v[2] >= 2562:
        name = "Microsoft Exchange Server Subscription Edition"
    cu_name = f"{name} Cumulative Update" if v[:2] != (15, 2) or v[2] < 2562 else name
    host.install_product(
        Product(
            code=EXCHANGE_PRODUCT_CODES[f"{v[0]}.{v[1]}"],
            name=cu_name,
            version=version,
            publisher="Microsoft Corporation",
            install_location=install + "\\",
            msi=False,
            uninstall_string=rf'"{install}\Bin\Setup.exe" /mode:uninstall',
        )
    )
    host.reg_seed(SYSTEM_ENVIRONMENT, {"ExchangeInstallPath": {"type": "REG_EXPAND_SZ", "data": install + "\\"}})


def _files(host: Host, version: str, install: str, roles: list[str] | None = None) -> None:
    for sub in ("Bin", "Logging", "TransportRoles\\data\\Queue", "Mailbox", "Scripts"):
        host.mkdir(rf"{install}\{sub}")
    host.write_bytes(rf"{install}\Bin\ExSetup.exe", programs.marker("stub", {"file_version": version, "stdout": f"Version {version}\r\n"}))
    _shell_files(host, version, version_tuple(version), install)
    transport_files(host, version, install, roles or ["Mailbox"])


def transport_files(host: Host, version: str, install: str, roles: list[str]) -> None:
    """What a transport server (Hub Transport 2007/2010, Mailbox 2013+, Edge) has for its queue database and, on an Edge, its
    AD LDS data and the cloned-configuration scripts (2007-2013). Facts: docs/transport-and-edge.md."""
    from simulator.exchange import edge, transport

    v = version_tuple(version)
    if not ({"Mailbox", "HubTransport", "Edge"} & set(roles)) or (v[0] < 15 and not ({"HubTransport", "Edge"} & set(roles))):
        return
    queue = rf"{install}\TransportRoles\data\Queue"
    host.mkdir(queue)
    transport.grant_queue_rights(host, queue)  # Setup leaves Full Control for NETWORK SERVICE, SYSTEM, Administrators (ODX)
    config = rf"{install}\Bin\EdgeTransport.exe.config"
    if not host.exists(config):  # a real 2019 file has both keys with the default path (CSS HealthChecker E19 capture)
        host.write_text(config, transport.edge_transport_config(dict.fromkeys(transport.QUEUE_KEYS, queue)))
    host.write_bytes(rf"{install}\Bin\MSExchangeTransport.exe", programs.marker("exchange_transport", {"file_version": version}))
    if "Edge" in roles:
        host.mkdir(rf"{install}\TransportRoles\data\Adam")
        if not host.exists(rf"{install}\TransportRoles\data\Adam\adamntds.dit"):
            edge.save(host, edge.clean_install(host, install))
        if v < (15, 1):  # the scripts of cloned configuration (2007-2013; Facts section 7)
            host.mkdir(rf"{install}\Scripts")
            host.write_bytes(rf"{install}\Scripts\ExportEdgeConfig.ps1", programs.marker("edge_export_config", {"file_version": version}))
            host.write_bytes(rf"{install}\Scripts\ImportEdgeConfig.ps1", programs.marker("edge_import_config", {"file_version": version}))


def start_transport(host: Host) -> None:
    """A transport service created running (a seeded server, Setup's configuration) opens its queue database as it would
    at start."""
    from simulator.exchange import transport

    svc = host.service(transport.SERVICE)
    if (
        svc is not None
        and svc.state == "running"
        and transport.install_path(host)
        and host.exists(rf"{transport.install_path(host)}\Bin\MSExchangeTransport.exe")
    ):
        transport.on_start(host, svc.name, host.clock.time())


def _services(host: Host, v: tuple[int, ...], roles: list[str], edge: bool, install: str) -> None:
    table = list(_EDGE_SERVICES if edge else _MAILBOX_SERVICES)
    if not edge and v[:2] == (15, 1):
        table += list(_UM_SERVICES)
    mitigation_since = {(15, 1): (15, 1, 2375), (15, 2): (15, 2, 986)}.get(v[:2], (99,))
    for name, display, mode, state in table:
        if name == "MSExchangeMitigation" and v[:3] < mitigation_since:
            continue
        if name in ("MSExchangeHMRecovery", "MSComplianceAudit", "MSExchangeCompliance") and v[:2] == (15, 0):
            continue
        deps = ["MSExchangeADTopology"] if name in _NEEDS_TOPOLOGY and not edge else []
        if name == "MSExchangeADTopology":
            deps = ["NetTcpPortSharing"]
        path = rf"{install}\Bin\{name}.exe" if name.startswith("MSExchange") else rf"{install}\Bin\Microsoft.Exchange.ServiceHost.exe"
        if name == "MSExchangeTransport":  # its service entry reads the image: the ImagePath is quoted, as Setup writes it
            path = f'"{path}"'
        if host.service(name) is None:
            host.create_service(name, display, path, mode, dependencies=deps, state=state)
            if name == "MSExchangeTransport":  # it accepts Pause (the 2007/2010 and Edge drain: docs/transport-and-edge.md)
                host.set_service(name, can_pause=True)
