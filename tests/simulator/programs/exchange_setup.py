"""Exchange Setup (Setup.exe / Setup.com on the media) in RecoverServer mode, and the prerequisite installers it needs.

Media file: `#!simulator-program exchange_setup {"file_version": "15.2.1544.4", "seconds": 2400}`; the module reads the
media's build from that `file_version` (FileVersionInfo). Facts: the project's exchange-recovery-facts.md sections 1-3 and
the real ExchangeSetup.log captures in microsoft/CSS-Exchange (Setup/Tests), whose line format, prerequisite-rule lines
(`Failed [Rule:X] [Message:Y]`, `[REQUIRED] Y`) and failure tail this program writes.

What it does, as the facts describe:
- appends a run to C:\\ExchangeSetupLogs\\ExchangeSetup.log (`[MM/DD/YYYY HH:MM:SS.ffff] [N] text`): the start banner,
  `Setup version: <build>.`, one `Command Line Parameter Name='x', Value='y'.` line per switch, and keeps the log open
  for writing while it runs, sharing read access only (a reader opening it with FileShare.Read gets a sharing violation);
- checks the license switch the build takes: none for 2007/2010, /IAcceptExchangeServerLicenseTerms up to 2016 CU21 and
  2019 CU10, only ..._DiagnosticDataON/OFF from 2016 CU22, 2019 CU11 and Subscription Edition ("the old switch no
  longer works"); an unknown switch is refused;
- RecoverServer reads the server object named like the local computer through the domain: none (or no domain) ->
  error; Edge Transport -> error (its configuration lives in AD LDS); /TargetDir defaults to msExchInstallPath;
- a plain /Mode:Install on a name that still has a server object fails with the documented "inconsistent state" message;
- the prerequisite check (rule lines as in the captures): domain membership (ComputerNotPartofDomain), the account's
  rights (GlobalServerInstall: Organization Management or Enterprise Admins; a domain admin stands in for the latter), pending restarts
  (PendingRebootWindowsComponents for Component Based Servicing, RebootPending for file renames / Windows Update), the
  Windows features, .NET Framework, Visual C++ 2012/2013, UCMA 4.0 and IIS URL Rewrite the release needs (section 2);
- copies files and unpacks the roles (role keys get UnpackedVersion + Action + Watermark), configures each component
  (taking simulated time), and on success writes ConfiguredVersion, removes Action/Watermark, registers the Uninstall
  entry with InstallDate, creates the version's services with their default start modes (profiles.py) and sets
  Net.Tcp Port Sharing to Automatic; /DoNotStartTransport leaves the transport services stopped and Manual;
- an enabled Scripting Agent without <TargetDir>\\Bin\\CmdletExtensionAgents\\ScriptingAgentConfig.xml stops Setup while
  configuring, with `Scripting Agent initialization failed: "File is not found: '...'."`;
- the `exchange_setup_fails` fault stops Setup at a component with [ERROR] lines and the real failure tail; a failed
  configuration leaves the incomplete-setup markers and the services created so far Disabled (CSS: "a failed setup can
  leave Exchange services Disabled"); running Setup again resumes and finishes.
Exit codes: 0 on success, 1 on failure (no documented exit-code table; the failure path returns 1).

Wording that the sources do not give verbatim is marked "(modelled)" next to it. The simulator's own prerequisite table
is written from the facts independently of the collection's plugin_utils tables, so tests compare two readings of them.
"""

from __future__ import annotations

import re
from typing import Any

from simulator import profiles
from simulator.faults import FaultSpec, register_fault
from simulator.hoststate import Product
from simulator.programs import ProcessContext, marker, program

SETUP_LOG = r"C:\ExchangeSetupLogs\ExchangeSetup.log"
FAULT = "exchange_setup_fails"
register_fault(
    FaultSpec(
        FAULT,
        "program",
        "Exchange Setup stops with a critical error while configuring `component` (`count` runs fail; markers stay, the next run resumes).",
        None,
        {"count": 1, "component": "Mailbox role: Transport service", "message": "The operation couldn't be performed because of a simulated failure."},
    )
)

UNINSTALL = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
NDP_V4 = r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full"
UCMA_KEY = r"HKLM:\SOFTWARE\Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}"
URL_REWRITE_KEY = r"HKLM:\SOFTWARE\Microsoft\IIS Extensions\URL Rewrite"
SYSTEM_ENVIRONMENT = r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
HELP_URL = "http://technet.microsoft.com/library(EXCHG.150)/ms.exch.setupreadiness.{}.aspx"
LICENSE = "iacceptexchangeserverlicenseterms"
LICENSE_NEW = ("iacceptexchangeserverlicenseterms_diagnosticdataon", "iacceptexchangeserverlicenseterms_diagnosticdataoff")
# Switches Setup knows (long and short forms); the value is the canonical name it logs.
KNOWN_SWITCHES = {
    "mode": "mode",
    "m": "mode",
    "targetdir": "targetdir",
    "t": "targetdir",
    "domaincontroller": "domaincontroller",
    "dc": "domaincontroller",
    "donotstarttransport": "donotstarttransport",
    "updatesdir": "updatesdir",
    "u": "updatesdir",
    "enableerrorreporting": "enableerrorreporting",
    "installwindowscomponents": "installwindowscomponents",
    "roles": "roles",
    "r": "roles",
    "sourcedir": "sourcedir",
    LICENSE: LICENSE,
    **{s: s for s in LICENSE_NEW},
}
TRANSPORT = ("MSExchangeTransport", "MSExchangeFrontEndTransport")
FAILURE_LINE = "The Exchange Server setup operation didn't complete."
ORG_ADMIN = "You must be a member of the 'Organization Management' role group or a member of the 'Enterprise Admins' group to continue."
PENDING_COMPONENTS = (
    "There is a pending reboot from a previous installation of a Windows Server role or feature. Please restart the computer and then run Setup again."
)

# -- the prerequisite table Setup checks (facts section 2) -------------------------------------------------------------
GUI_ONLY = {"Web-Lgcy-Mgmt-Console", "Web-Mgmt-Console", "Windows-Identity-Foundation", "RSAT-Clustering-Mgmt"}
FEATURES_2010 = ("NET-Framework-Core", "RSAT-ADDS", "Web-Server", "Web-Metabase", "Web-ISAPI-Ext", "WAS-Process-Model", "RPC-over-HTTP-proxy")


def _v(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in str(version).split("."))


def product_label(v: tuple[int, ...]) -> str:
    """The banner's product: 'Starting Microsoft Exchange Server (\\d{4}|Subscription Edition) Setup'."""
    if v[0] == 8:
        return "2007"
    if v[0] == 14:
        return "2010"
    if v[:2] == (15, 0):
        return "2013"
    if v[:2] == (15, 1):
        return "2016"
    return "Subscription Edition" if v[2] >= 2562 else "2019"


def new_license_switch(v: tuple[int, ...]) -> bool:
    """2016 CU22 (15.1.2375) and later, 2019 CU11 (15.2.986) and later, Subscription Edition."""
    return (v[:2] == (15, 1) and v[2] >= 2375) or (v[:2] == (15, 2) and v[2] >= 986)


def required_dotnet(v: tuple[int, ...]) -> tuple[int, str]:
    if v[:2] == (15, 0):
        return 461808, "4.7.2"
    return 528040, "4.8"  # 2016, 2019, SE (4.8.1 is also supported from 2019 CU14: it has a higher Release value)


class _Log:
    """ExchangeSetup.log lines in the real format. Lines are stamped when written and appended to the file in batches
    (before Setup waits, and at the end), so a run does not rewrite the host's state for every line."""

    def __init__(self, ctx: ProcessContext) -> None:
        self.ctx = ctx
        self.host = ctx.host
        self.pending: list[str] = []
        if not self.host.exists(r"C:\ExchangeSetupLogs"):
            self.host.mkdir(r"C:\ExchangeSetupLogs")
        # Setup keeps its log open while it runs, writing and letting others read (FileShare.Read, what a .NET FileStream
        # opened for appending allows): a reader must share write access too, or it fails with a sharing violation.
        ctx.hold_open(SETUP_LOG, access="write", share="read")

    def __call__(self, text: str, depth: int = 0) -> None:
        now = self.host.clock.now()
        stamp = now.strftime("%m/%d/%Y %H:%M:%S") + f".{now.microsecond // 100:04d}"
        self.pending.append(f"[{stamp}] [{depth}] {text}\r\n")

    def flush(self) -> None:
        if self.pending:
            data = "".join(self.pending).encode("utf-8")
            self.pending = []
            self.host.write_bytes(SETUP_LOG, data, append=self.host.exists(SETUP_LOG))


class _Stop(Exception):
    """Setup stops: the failure tail is written and the exit code is 1."""


def _switches(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    out: dict[str, str] = {}
    unknown: list[str] = []
    for arg in argv:
        if not arg.startswith(("/", "-")):
            unknown.append(arg)
            continue
        name, _colon, value = arg[1:].partition(":")
        canonical = KNOWN_SWITCHES.get(name.casefold())
        if canonical is None:
            unknown.append(arg)
        else:
            out[canonical] = value.strip('"')
    return out, unknown


@program("exchange_setup")
def exchange_setup(ctx: ProcessContext) -> int:
    version = str(ctx.args["file_version"])
    v = _v(version)
    log = _Log(ctx)
    host = ctx.host
    log("**********************************************")
    log(f"Starting Microsoft Exchange Server {product_label(v)} Setup")
    log("**********************************************")
    log("Local time zone: (UTC) Coordinated Universal Time.")
    log(f"Operating system version: Microsoft Windows NT {host.os_version}.0.")
    log(f"Setup version: {version}.")
    log(f"Logged on user: {host.canonical_identity(ctx.user)}.")
    switches, unknown = _switches(ctx.argv[1:])
    for name, value in switches.items():
        log(f"Command Line Parameter Name='{name}', Value='{value}'.")
    try:
        _run(ctx, log, v, version, switches, unknown)
    except _Stop as stop:
        _failure_tail(ctx, log, str(stop))
        log.flush()
        return 1
    log("The Exchange Server setup operation completed successfully.")
    log("End of Setup")
    log("**********************************************")
    log.flush()
    ctx.out("\r\nThe Exchange Server setup operation completed successfully.\r\n")
    return 0


def _wait(ctx: ProcessContext, log: _Log, seconds: float) -> None:
    """Setup working for `seconds` of simulated time: what it logged so far is on disk first."""
    log.flush()
    ctx.sleep(seconds)


def _error(ctx: ProcessContext, log: _Log, message: str, depth: int = 1) -> _Stop:
    log(f"[ERROR] {message}", depth)
    ctx.out(f"\r\nError:\r\n{message}\r\n")
    return _Stop(message)


def _failure_tail(ctx: ProcessContext, log: _Log, message: str) -> None:
    log("CurrentResult launcherbase.maincore:90: 1")
    log("CurrentResult console.startmain:52: 1")
    log(f"{FAILURE_LINE}  More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.")
    log("CurrentResult main.run:235: 1")
    log("End of Setup")
    log("**********************************************")
    ctx.out(
        "\r\nThe Exchange Server setup operation didn't complete. More details can be found in ExchangeSetup.log located in the "
        "<SystemDrive>:\\ExchangeSetupLogs folder.\r\n"
    )


def _run(ctx: ProcessContext, log: _Log, v: tuple[int, ...], version: str, switches: dict[str, str], unknown: list[str]) -> None:  # noqa: PLR0917
    host = ctx.host
    if unknown:
        raise _error(ctx, log, f"The following parameter is not valid: {unknown[0]} (modelled)", 0)
    # license switch (facts section 1: 2016 CU22+, 2019 CU11+ and SE only take the _DiagnosticData form)
    if v[0] >= 15:
        if new_license_switch(v):
            if not any(s in switches for s in LICENSE_NEW):
                raise _error(
                    ctx,
                    log,
                    "To accept the license terms use /IAcceptExchangeServerLicenseTerms_DiagnosticDataON or "
                    "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF; /IAcceptExchangeServerLicenseTerms is no longer valid. (modelled)",
                    0,
                )
        elif any(s in switches for s in LICENSE_NEW):
            raise _error(ctx, log, "The following parameter is not valid: IAcceptExchangeServerLicenseTerms_DiagnosticData (modelled)", 0)
        elif LICENSE not in switches:
            raise _error(ctx, log, "You must accept the license terms: run Setup with /IAcceptExchangeServerLicenseTerms. (modelled)", 0)
    mode = switches.get("mode", "").casefold()
    domain = host.domain
    attrs = domain.exchange_server_attributes(host.name) if domain is not None else None
    if mode == "install" and attrs is not None:
        raise _error(
            ctx,
            log,
            "The Exchange Server is in an inconsistent state. Only disaster recovery mode is available. "
            "Please use Setup /m:RecoverServer to recover this Exchange server.",
            0,
        )
    if mode != "recoverserver":
        raise _error(ctx, log, f"simulator: Setup mode {switches.get('mode') or '(none)'!r} is not modelled; only RecoverServer is", 0)
    log("Setup is choosing the domain controller to use")
    if domain is not None:
        log(f"Setup will use the domain controller '{switches.get('domaincontroller') or 'DC01.' + domain.name}'.")
        log(f"Setup will search for an Exchange Server object for the local machine with name '{host.name.upper()}'.")
        if attrs is None:
            log(f"No Exchange Server with identity '{host.name.upper()}' was found.")
        else:
            log(f"Exchange Server object found : '{attrs['distinguishedName']}'.")
    _wait(ctx, log, 30)
    prereq_failures: list[tuple[str, str]] = []
    if domain is None:
        prereq_failures.append(("ComputerNotPartofDomain", "The local computer must be a member of an Active Directory domain. (modelled)"))
    elif attrs is None:
        raise _error(
            ctx,
            log,
            f"Setup can't recover this server because no Exchange server object named '{host.name.upper()}' was found in Active Directory. "
            "Run Setup in Install mode for a new server. (modelled)",
            0,
        )
    if domain is not None and not _organization_admin(host, domain, ctx.user):
        prereq_failures.append(("GlobalServerInstall", ORG_ADMIN))
    roles = list(attrs["roles"]) if attrs else ["Mailbox"]
    if "Edge" in roles:
        raise _error(ctx, log, "The Edge Transport server role can't be recovered with /Mode:RecoverServer; use cloned configuration instead. (modelled)", 0)
    target = (switches.get("targetdir") or (attrs or {}).get("msExchInstallPath") or _default_path(v)).rstrip("\\")
    state = _installed_state(host, v)
    if state == "configured":
        raise _error(ctx, log, "Exchange Server is already installed and configured on this computer; RecoverServer can't run. (modelled)", 0)
    for role in roles:
        log(f"'{_role_key_names(v, [role])[0]}' is installed on the server object.")
    log("The installation mode is set to: 'DisasterRecovery'.")
    log("Performing Microsoft Exchange Server Prerequisite Check")
    ctx.out("Performing Microsoft Exchange Server Prerequisite Check\r\n")
    prereq_failures += _prerequisites(host, v)
    _wait(ctx, log, 120)
    if prereq_failures:
        for rule, message in prereq_failures:
            log(f"Failed [Rule:{rule}] [Message:{message}]", 1)
            log(f"[REQUIRED] {message}", 1)
            log(f"Help URL: {HELP_URL.format(rule)}", 1)
            ctx.out(f"\r\nError:\r\n{message}\r\nFor more information, visit: {HELP_URL.format(rule)}\r\n")
        log("Ending processing test-SetupPrerequisites", 1)
        log("CurrentResult console.ProcessRunInternal:136: 1")
        log("Exchange Server installation failed during prereq check. Trying to restore the server state back to active.")
        raise _Stop(prereq_failures[0][1])
    # copy files and unpack the roles (resume: what is already unpacked is kept)
    total = float(ctx.args.get("seconds", 2400))
    components = _components(v, roles)
    log("Copying Exchange files", 1)
    ctx.out("Copying Exchange files ... COMPLETED\r\n")
    with host.mutating():  # one state write for the registry and files of this step (the host lock is held briefly)
        _unpack(host, v, version, roles, target, components[0])
    _wait(ctx, log, total * 0.25)
    agent_enabled = bool(domain and domain.exchange and getattr(domain.exchange, "scripting_agent_enabled", False))
    agent_config = rf"{target}\Bin\CmdletExtensionAgents\ScriptingAgentConfig.xml"
    fault = host.fault(FAULT)
    per_component = total * 0.7 / max(1, len(components))
    for component in components:
        log(f"Processing component '{component}' (Configuring Microsoft Exchange Server).", 1)
        host.reg_set_value(_v15_or_v14(v) + rf"\{_role_key_names(v, roles)[0]}", "Watermark", component, "REG_SZ", create_key=True)
        if agent_enabled and not host.exists(agent_config):
            with host.mutating():
                _services(host, v, roles, target, disabled=True)
            log("The following 1 error(s) occurred during task execution:", 1)
            message = f"Scripting Agent initialization failed: \"File is not found: '{agent_config}'.\""
            log(f"0.  ErrorRecord: {message}", 1)
            err = _error(ctx, log, message)
            log("Setup is stopping now because of one or more critical errors.", 1)
            raise err
        if fault is not None and fault.params.get("component", "").casefold() == component.casefold() and host.estate is not None:
            host.estate.faults.consume(host.name, FAULT)
            with host.mutating():
                _services(host, v, roles, target, disabled=True)
            message = str(fault.params.get("message"))
            log("The following 1 error(s) occurred during task execution:", 1)
            log(f"0.  ErrorRecord: {message}", 1)
            err = _error(ctx, log, message)
            log("[ERROR-REFERENCE] Id=SimulatedComponent___0 Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup", 1)
            log("Setup is stopping now because of one or more critical errors.", 1)
            log("Finished executing component tasks.", 1)
            log("CurrentResult console.ProcessRunInternal:198: 1")
            raise err
        _wait(ctx, log, per_component)
        ctx.out(f"{component} ... COMPLETED\r\n")
    with host.mutating():
        _configure(host, v, version, roles, target)
        _services(host, v, roles, target, disabled=False)
        profiles.start_transport(host)  # the transport service opens (or creates) its queue database
    if "donotstarttransport" in switches:
        for name in TRANSPORT:
            if host.service(name) is not None:
                host.set_service(name, start_mode="manual")
                if host.service(name).state == "running":
                    host.stop_service(name, force=True)
    _wait(ctx, log, total * 0.05)


# -- host state ----------------------------------------------------------------------------------------------------------
def _default_path(v: tuple[int, ...]) -> str:
    if v[0] == 8:
        return r"C:\Program Files\Microsoft\Exchange Server"
    return r"C:\Program Files\Microsoft\Exchange Server\V14" if v[0] == 14 else profiles.DEFAULT_INSTALL_PATH


def _v15_or_v14(v: tuple[int, ...]) -> str:
    return profiles.EXCHANGE_V15_KEY if v[0] >= 15 else r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14"


def _profile_roles(v: tuple[int, ...], roles: list[str]) -> list[str]:
    """profiles.py's role names for 2013+: Mailbox (2016+: every component), ClientAccess (2013), Edge."""
    out = [r for r in ("Mailbox", "ClientAccess", "Edge") if r in roles]
    return out or ["Mailbox"]


def _role_key_names(v: tuple[int, ...], roles: list[str]) -> list[str]:
    if v[0] >= 15:
        keys = {k for r in _profile_roles(v, roles) for k in profiles._ROLE_KEYS.get(r, ())}
        if v[:2] == (15, 1) and "Mailbox" in roles:
            keys.add("UnifiedMessagingRole")
        return sorted(keys, key=lambda k: (k != "MailboxRole", k))
    names = {"Mailbox": "MailboxRole", "ClientAccess": "ClientAccessRole", "HubTransport": "HubTransportRole", "UnifiedMessaging": "UnifiedMessagingRole"}
    return sorted({names[r] for r in roles if r in names}, key=lambda k: (k != "MailboxRole", k))


def _components(v: tuple[int, ...], roles: list[str]) -> list[str]:
    """What Setup configures, in order (the console's progress lines)."""
    if v[0] >= 15:
        steps = ["Language Files", "Restoring Server", "Stop services", "Management tools"]
        steps += ["Mailbox role: Transport service", "Mailbox role: Client Access service", "Mailbox role: Mailbox service"]
        steps += ["Mailbox role: Front End Transport service", "Mailbox role: Client Access Front End service"]
        if v[:2] == (15, 1):
            steps.insert(6, "Mailbox role: Unified Messaging service")
        return [*steps, "Finalizing setup"]
    names = {
        "HubTransport": "Hub Transport Role",
        "ClientAccess": "Client Access Role",
        "Mailbox": "Mailbox Role",
        "UnifiedMessaging": "Unified Messaging Role",
    }
    return ["Language Files", "Restoring Server", "Management Tools", *(names[r] for r in roles if r in names), "Finalizing Setup"]


def _installed_state(host: Any, v: tuple[int, ...]) -> str:
    """none | incomplete | configured, read from the role keys as DSC does."""
    root = _v15_or_v14(v)
    keys = [k for k in (host.reg_subkeys(root) if host.reg_key_exists(root) else []) if k.endswith("Role")]
    if not keys:
        return "none"
    for key in keys:
        values = host.reg_values(rf"{root}\{key}")
        if "ConfiguredVersion" not in values or "Action" in values or "Watermark" in values:
            return "incomplete"
    return "configured"


def _unpack(host: Any, v: tuple[int, ...], version: str, roles: list[str], target: str, first: str) -> None:  # noqa: PLR0917
    root = _v15_or_v14(v)
    host.reg_seed(
        rf"{root}\Setup",
        {"MsiInstallPath": target + "\\", "MsiProductMajor": v[0], "MsiProductMinor": v[1], "MsiBuildMajor": v[2], "MsiBuildMinor": v[3]},
    )
    for key in _role_key_names(v, roles):
        path = rf"{root}\{key}"
        host.reg_create_key(path)
        host.reg_set_value(path, "UnpackedVersion", version, "REG_SZ")
        if host.reg_get_value(path, "ConfiguredVersion") is None:
            host.reg_set_value(path, "Action", "DisasterRecovery", "REG_SZ")
            host.reg_set_value(path, "Watermark", first, "REG_SZ")
    for sub in ("Bin", r"Bin\CmdletExtensionAgents", "Logging", "Scripts", r"TransportRoles\data\Queue", "Mailbox"):
        host.mkdir(rf"{target}\{sub}")
    sample = rf"{target}\Bin\CmdletExtensionAgents\ScriptingAgentConfig.xml.sample"
    if not host.exists(sample):
        host.write_bytes(sample, b"<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n<Configuration version=\"1.0\">\r\n</Configuration>\r\n")


def _configure(host: Any, v: tuple[int, ...], version: str, roles: list[str], target: str) -> None:
    root = _v15_or_v14(v)
    if v[0] >= 15:
        profiles._registry(host, version, v, _profile_roles(v, roles), target)
        profiles._files(host, version, target, _profile_roles(v, roles))
    else:
        for key in _role_key_names(v, roles):
            host.reg_seed(rf"{root}\{key}", {"UnpackedVersion": version, "ConfiguredVersion": version})
        host.reg_seed(SYSTEM_ENVIRONMENT, {"ExchangeInstallPath": {"type": "REG_EXPAND_SZ", "data": target + "\\"}})
        host.write_bytes(rf"{target}\Bin\ExSetup.exe", marker("stub", {"file_version": version}))
        profiles._shell_files(host, version, v, target)
        profiles.transport_files(host, version, target, roles)
    for key in _role_key_names(v, roles):
        for name in ("Action", "Watermark"):
            if host.reg_get_value(rf"{root}\{key}", name) is not None:
                host.reg_delete_value(rf"{root}\{key}", name)
    # the certificate, virtual directories, receive connectors, transport settings and .config files of a new install
    # (issue 13, simulator/exchange/server_config.py: what RecoverServer does not bring back)
    profiles._server_config(host, version, roles, target)


# 2010 services per role (facts section 3, lower confidence): (name, display name, start mode)
_SERVICES_2010 = {
    "common": (
        ("MSExchangeADTopology", "Microsoft Exchange Active Directory Topology", "auto"),
        ("MSExchangeServiceHost", "Microsoft Exchange Service Host", "auto"),
        ("MSExchangeProtectedServiceHost", "Microsoft Exchange Protected Service Host", "auto"),
        ("MSExchangeMonitoring", "Microsoft Exchange Monitoring", "manual"),
    ),
    "Mailbox": (
        ("MSExchangeIS", "Microsoft Exchange Information Store", "auto"),
        ("MSExchangeSA", "Microsoft Exchange System Attendant", "auto"),
        ("MSExchangeMailSubmission", "Microsoft Exchange Mail Submission", "auto"),
        ("MSExchangeMailboxAssistants", "Microsoft Exchange Mailbox Assistants", "auto"),
        ("MSExchangeRepl", "Microsoft Exchange Replication Service", "auto"),
        ("MSExchangeSearch", "Microsoft Exchange Search Indexer", "auto"),
        ("MSExchangeThrottling", "Microsoft Exchange Throttling", "auto"),
        ("msftesql-Exchange", "Microsoft Search (Exchange Server)", "manual"),
        ("wsbexchange", "Microsoft Exchange Server Extension for Windows Server Backup", "manual"),
    ),
    "ClientAccess": (
        ("MSExchangeAB", "Microsoft Exchange Address Book", "auto"),
        ("MSExchangeFBA", "Microsoft Exchange Forms-Based Authentication service", "auto"),
        ("MSExchangeFDS", "Microsoft Exchange File Distribution", "auto"),
        ("MSExchangeMailboxReplication", "Microsoft Exchange Mailbox Replication", "auto"),
        ("MSExchangeRPC", "Microsoft Exchange RPC Client Access", "auto"),
        ("MSExchangeIMAP4", "Microsoft Exchange IMAP4", "manual"),
        ("MSExchangePOP3", "Microsoft Exchange POP3", "manual"),
    ),
    "HubTransport": (
        ("MSExchangeTransport", "Microsoft Exchange Transport", "auto"),
        ("MSExchangeEdgeSync", "Microsoft Exchange EdgeSync", "auto"),
        ("MSExchangeAntispamUpdate", "Microsoft Exchange Anti-spam Update", "auto"),
        ("MSExchangeTransportLogSearch", "Microsoft Exchange Transport Log Search", "auto"),
    ),
}


def _services(host: Any, v: tuple[int, ...], roles: list[str], target: str, *, disabled: bool) -> None:
    """Create the release's services (profiles.py for 2013+); a failed run leaves what it created Disabled."""
    _net_tcp_port_sharing(host)
    if v[0] >= 15:
        for svc in list(host.services()):  # a resumed run re-creates what the failed one left disabled
            if svc.start_mode == "disabled" and svc.path.strip('"').casefold().startswith(target.casefold() + "\\bin"):
                host.delete_service(svc.name)
        profiles._services(host, v, _profile_roles(v, roles), "Edge" in roles, target)
    else:
        rows = list(_SERVICES_2010["common"]) + [row for r in roles for row in _SERVICES_2010.get(r, ())]
        for name, display, mode in rows:
            existing = host.service(name)
            if existing is not None and existing.start_mode == "disabled":
                host.delete_service(name)
                existing = None
            if existing is None:
                deps = ["NetTcpPortSharing"] if name == "MSExchangeADTopology" else (["MSExchangeADTopology"] if name != "MSExchangeMonitoring" else [])
                state = "running" if mode == "auto" else "stopped"
                image = rf'"{target}\Bin\{name}.exe"' if name == "MSExchangeTransport" else rf"{target}\Bin\{name}.exe"  # ImagePath quoted (spaces)
                host.create_service(name, display, image, mode, dependencies=deps, state=state)
                if name == "MSExchangeTransport":
                    host.set_service(name, can_pause=True)
    if disabled:
        for svc in host.services():
            if svc.path.strip('"').casefold().startswith(target.casefold() + "\\bin") and svc.start_mode != "disabled":
                if host.service(svc.name).state == "running":  # stopping a dependency may have stopped it already
                    host.stop_service(svc.name, force=True)
                host.set_service(svc.name, start_mode="disabled")


def _net_tcp_port_sharing(host: Any) -> None:
    """Exchange's AD Topology service needs Net.Tcp Port Sharing, Disabled on a fresh server: Setup sets it Automatic."""
    svc = host.service("NetTcpPortSharing")
    if svc is not None and svc.start_mode != "auto":
        host.set_service("NetTcpPortSharing", start_mode="auto")
        host.start_service("NetTcpPortSharing")


def _prerequisites(host: Any, v: tuple[int, ...]) -> list[tuple[str, str]]:
    """The prerequisite rules that fail on this host: (rule, message)."""
    failures: list[tuple[str, str]] = []
    pending = host.pending_reboot()
    if pending.get("component_based_servicing"):
        failures.append(("PendingRebootWindowsComponents", PENDING_COMPONENTS))
    if pending.get("pending_file_rename") or pending.get("windows_update"):
        failures.append(("RebootPending", "Setup can't continue because a restart from a previous installation is pending. Restart the computer. (modelled)"))
    if v[0] == 14:
        missing = [f for f in FEATURES_2010 if not _feature_installed(host, f)]
        if missing:
            failures.append(("WindowsFeaturesNotInstalled", f"The required Windows features aren't installed: {', '.join(missing)}. (modelled)"))
        return failures
    if v[0] < 14:
        return failures
    web_set = profiles.EXCHANGE_FEATURES  # the ODX prerequisites.md set, as profiles.py lists it (read late: import order)
    wanted = [f for f in web_set if not (host.server_core and f in GUI_ONLY) and host.feature(f) is not None]
    missing = [f for f in wanted if not _feature_installed(host, f)]
    if "RSAT-ADDS" in missing:
        failures.append(("RsatAddsToolsInstalled", "The Active Directory management tools (RSAT-ADDS) aren't installed. (modelled)"))
        missing.remove("RSAT-ADDS")
    if missing:
        failures.append(("WindowsFeaturesNotInstalled", f"The required Windows features aren't installed: {', '.join(missing)}. (modelled)"))
    release, name = required_dotnet(v)
    have = host.reg_get_value(NDP_V4, "Release")
    if have is None or int(have.data) < release:
        failures.append(("NetFrameworkNotInstalled", f"Microsoft .NET Framework {name} isn't installed on this computer. (modelled)"))
    names = [p.name for p in host.products().values()]
    for year in ("2012", "2013"):
        if not any(re.match(rf"Microsoft Visual C\+\+ {year} x64 ", n) for n in names):
            failures.append(
                (
                    f"VC{year}RedistDependencyRequirement",
                    f"Visual C++ {year} Redistributable Package is a required component. Please install the required binaries and re-run the setup.",
                )
            )
    if not host.reg_key_exists(UCMA_KEY):
        failures.append(("UcmaRedistMsi", "The Unified Communications Managed API 4.0 Runtime isn't installed. (modelled)"))
    url_rewrite_needed = (v[:2] == (15, 1) and v[2] >= 2375) or (v[:2] == (15, 2) and v[2] >= 986)
    if url_rewrite_needed and not (host.reg_key_exists(URL_REWRITE_KEY) or any(n.startswith("IIS URL Rewrite Module") for n in names)):
        failures.append(("UrlRewriteNotInstalled", "The IIS URL Rewrite Module isn't installed. (modelled)"))
    return failures


def _organization_admin(host: Any, domain: Any, user: str) -> bool:
    """Setup needs Organization Management (or Enterprise Admins) membership: a domain account that is in the domain's
    'Organization Management' group, or a domain administrator (the lab's stand-in for Enterprise Admins). A local
    account cannot read or write the organisation in Active Directory at all."""
    account = host.account(user)
    if account is None or not account.domain:
        return False
    return account.admin or any(g.casefold() in ("organization management", "enterprise admins") for g in domain.groups_of(account.user))


def _feature_installed(host: Any, name: str) -> bool:
    feature = host.feature(name)
    return bool(feature and feature.installed)


# -- prerequisite installers ---------------------------------------------------------------------------------------------
@program("redist_installer")
def redist_installer(ctx: ProcessContext) -> int:
    """A vendor prerequisite installer (.NET Framework offline installer, vcredist_x64.exe, UcmaRuntimeSetup.exe):
    `{"quiet_switch": "/q", "products": [{code, name, version}], "registry": {key: {value: data}}, "rc": 0, "seconds": 60,
    "min_os_build": 0}`. Registers its products and registry values, then exits with `rc` (3010 = restart needed, also
    queued as a pending file rename, which is what makes Windows report the pending restart). Without the quiet switch it
    would wait for a user at a dialog: 1602 (user cancelled), as B's exe_installer does."""
    a = ctx.args
    quiet = str(a.get("quiet_switch", "/q")).casefold()
    if quiet not in (x.casefold() for x in ctx.argv[1:]):
        ctx.err(f"setup needs a user interface; run it with {a.get('quiet_switch', '/q')}\r\n")
        return 1602
    if ctx.host.os_build < int(a.get("min_os_build", 0)):
        ctx.err("This product is not supported on this operating system.\r\n")
        return 1633  # ERROR_INSTALL_PLATFORM_UNSUPPORTED
    ctx.sleep(float(a.get("seconds", 30)))
    for spec in a.get("products", []):
        ctx.host.install_product(Product(code=spec["code"], name=spec["name"], version=spec.get("version", ""), publisher="Microsoft Corporation"))
    for key, values in (a.get("registry") or {}).items():
        current = {k: v for k, v in values.items() if k != "Release" or _lower_release(ctx.host, key, v)}
        ctx.host.reg_seed(key, current)
    rc = int(a.get("rc", 0))
    if rc == 3010:
        ctx.host.schedule_file_rename(r"C:\Windows\Temp\redist.pending", None)
    return rc


def _lower_release(host: Any, key: str, value: Any) -> bool:
    """A .NET installer never lowers NDP\\v4\\Full\\Release."""
    current = host.reg_get_value(key, "Release")
    return current is None or int(current.data) < int(value)
