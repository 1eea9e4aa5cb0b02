"""What a freshly installed Windows Server has, per version, and the estate's `state:` seed applied on top of it.

Only used when a host's state folder is created; afterwards state.json is the truth (a changed estate file does not
rewrite an existing host — delete the state folder to re-seed).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

from simulator import programs, winfeatures
from simulator.host import AUTOLOGON_CHECKED
from simulator.hoststate import AccessRule, Drive, attribute_flags
from simulator.winfeatures import WS2012R2, WS2016, WS2019, WS2022, WS2025

if TYPE_CHECKING:
    from simulator.host import Host

GB = 1024**3

# Per build: product name stem, ReleaseId/DisplayVersion, the .NET 4.x Release it ships with (NDP\v4\Full\Release; CSS
# HealthChecker maps >= 528040 to 4.8 and >= 533320 to 4.8.1), a patch level (UBR).
OS_TABLE: dict[int, dict[str, Any]] = {
    WS2012R2: {"product": "Windows Server 2012 R2", "release_id": "", "display_version": "", "net_release": 378675, "ubr": 20402, "ps": "4.0"},
    WS2016: {"product": "Windows Server 2016", "release_id": "1607", "display_version": "", "net_release": 394802, "ubr": 5066, "ps": "5.1"},
    WS2019: {"product": "Windows Server 2019", "release_id": "1809", "display_version": "", "net_release": 461808, "ubr": 4645, "ps": "5.1"},
    WS2022: {"product": "Windows Server 2022", "release_id": "2009", "display_version": "21H2", "net_release": 528449, "ubr": 2113, "ps": "5.1"},
    WS2025: {"product": "Windows Server 2025", "release_id": "2009", "display_version": "24H2", "net_release": 533320, "ubr": 2033, "ps": "5.1"},
}

CURRENT_VERSION = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
NDP_V4_FULL = r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full"

# Services of a fresh server (name, display name, start mode, state, binary path, dependencies).
_BASE_SERVICES: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    ("RpcSs", "Remote Procedure Call (RPC)", "auto", "running", r"C:\Windows\system32\svchost.exe -k rpcss", ()),
    ("EventLog", "Windows Event Log", "auto", "running", r"C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted", ()),
    ("Winmgmt", "Windows Management Instrumentation", "auto", "running", r"C:\Windows\system32\svchost.exe -k netsvcs", ("RpcSs",)),
    ("WinRM", "Windows Remote Management (WS-Management)", "auto", "running", r"C:\Windows\System32\svchost.exe -k NetworkService", ("RpcSs", "HTTP")),
    ("LanmanServer", "Server", "auto", "running", r"C:\Windows\system32\svchost.exe -k smbsvcs", ()),
    ("LanmanWorkstation", "Workstation", "auto", "running", r"C:\Windows\System32\svchost.exe -k NetworkService", ()),
    ("Dnscache", "DNS Client", "auto", "running", r"C:\Windows\system32\svchost.exe -k NetworkService", ()),
    ("Schedule", "Task Scheduler", "auto", "running", r"C:\Windows\system32\svchost.exe -k netsvcs", ()),
    ("RemoteRegistry", "Remote Registry", "auto", "running", r"C:\Windows\system32\svchost.exe -k localService", ("RpcSs",)),
    ("MSDTC", "Distributed Transaction Coordinator", "delayed", "running", r"C:\Windows\System32\msdtc.exe", ("RpcSs",)),
    ("W32Time", "Windows Time", "manual", "running", r"C:\Windows\system32\svchost.exe -k LocalService", ()),
    ("BITS", "Background Intelligent Transfer Service", "manual", "stopped", r"C:\Windows\System32\svchost.exe -k netsvcs", ("RpcSs",)),
    ("wuauserv", "Windows Update", "manual", "stopped", r"C:\Windows\system32\svchost.exe -k netsvcs", ("RpcSs",)),
    ("TrustedInstaller", "Windows Modules Installer", "manual", "stopped", r"C:\Windows\servicing\TrustedInstaller.exe", ()),
    ("msiserver", "Windows Installer", "manual", "stopped", r"C:\Windows\system32\msiexec.exe /V", ("RpcSs",)),
    ("NetTcpPortSharing", "Net.Tcp Port Sharing Service", "disabled", "stopped", r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\SMSvcHost.exe", ()),
    ("Spooler", "Print Spooler", "auto", "running", r"C:\Windows\System32\spoolsv.exe", ("RpcSs",)),
)

_SYSTEM_PROGRAMS = {
    r"C:\Windows\System32\cmd.exe": "cmd",
    r"C:\Windows\System32\hostname.exe": "hostname",
    r"C:\Windows\System32\whoami.exe": "whoami",
    r"C:\Windows\System32\msiexec.exe": "msiexec",
    r"C:\Windows\System32\shutdown.exe": "shutdown",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe": "powershell",
}
_FOLDERS = (
    r"C:\Windows\Temp",
    r"C:\Program Files\Common Files",
    r"C:\Program Files (x86)\Common Files",
    r"C:\ProgramData",
    r"C:\Users\Public",
)


def os_defaults(os_cfg: dict[str, Any]) -> dict[str, Any]:
    """The host's `os` block with defaults filled in (caption, edition, installation type, build facts)."""
    build = winfeatures.os_build(os_cfg.get("version", "10.0.17763"))
    if build not in OS_TABLE:
        raise ValueError(f"os.version {os_cfg.get('version')!r}: supported builds are {sorted(OS_TABLE)} (Server 2012 R2 to 2025)")
    facts = OS_TABLE[build]
    edition = os_cfg.get("edition", "Datacenter")
    return {
        "version": os_cfg.get("version", "10.0.17763"),
        "edition": edition,
        "installation_type": os_cfg.get("installation_type", "Server"),
        "caption": os_cfg.get("caption") or f"Microsoft {facts['product']} {edition}",
        "ubr": os_cfg.get("ubr", facts["ubr"]),
        "net_release": os_cfg.get("net_release", facts["net_release"]),
    }


def build(host: Host, drives: dict[str, dict[str, Any]], now: datetime) -> None:
    """Lay down a fresh server: drives, folders, system programs, registry, services, default features."""
    for letter, spec in drives.items():
        size = int(float(spec.get("size_gb", 100)) * GB)
        free = int(float(spec.get("free_gb", spec.get("size_gb", 100) * 0.6)) * GB)
        host.state.drives[letter.upper()] = Drive(letter.upper(), size, max(0, size - free), spec.get("label", ""))
        (host.fs_root / letter.upper()).mkdir(parents=True, exist_ok=True)
    for folder in _FOLDERS:
        host.mkdir(folder)
    for path, kind in _SYSTEM_PROGRAMS.items():
        host.mkdir(str(host.parse_path(path).parent))
        host.write_bytes(path, programs.marker(kind))
    admin_profile = host.profile_dir("Administrator")
    host.mkdir(admin_profile + r"\AppData\Local\Temp")
    host.set_acl(
        admin_profile,
        [
            AccessRule("NT AUTHORITY\\SYSTEM", ["FullControl"]),
            AccessRule("BUILTIN\\Administrators", ["FullControl"]),
            AccessRule(host.canonical_identity("Administrator"), ["FullControl"]),
        ],
        protected=True,
    )
    _registry(host, now)
    # HTTP.sys: a kernel driver (demand start, running) that WinRM and IIS (W3SVC) depend on
    host.create_service("HTTP", "HTTP Service", r"system32\drivers\HTTP.sys", "manual", state="running", log_event=False, service_type="kernel_driver")
    for name, display, mode, state, path, deps in _BASE_SERVICES:
        host.create_service(name, display, path, mode, dependencies=deps, state=state, log_event=False)
    if host.state.domain_joined:
        host.create_service(
            "Netlogon", "Netlogon", r"C:\Windows\system32\lsass.exe", "auto", dependencies=("LanmanWorkstation",), state="running", log_event=False
        )
    host.state.features_installed = winfeatures.installed_by_default(host.os_build, host.server_core)


def _registry(host: Host, now: datetime) -> None:
    os_ = host.state.os
    facts = OS_TABLE[host.os_build]
    major, minor = (int(x) for x in host.os_version.split(".")[:2])
    values: dict[str, Any] = {
        "ProductName": f"{facts['product']} {os_['edition']}",
        "EditionID": "Server" + os_["edition"].replace(" ", "") + ("Cor" if host.server_core and host.os_build <= WS2012R2 else ""),
        "InstallationType": os_["installation_type"],
        "CurrentVersion": "6.3",
        "CurrentBuild": str(host.os_build),
        "CurrentBuildNumber": str(host.os_build),
        "UBR": {"type": "REG_DWORD", "data": int(os_["ubr"])},
        "InstallDate": {"type": "REG_DWORD", "data": int(now.timestamp())},
        "SystemRoot": r"C:\Windows",
        "RegisteredOwner": "Windows User",
    }
    if major >= 10:
        values |= {"CurrentMajorVersionNumber": major, "CurrentMinorVersionNumber": minor}
    if facts["release_id"]:
        values["ReleaseId"] = facts["release_id"]
    if facts["display_version"]:
        values["DisplayVersion"] = facts["display_version"]
    host.reg_seed(CURRENT_VERSION, values)
    host.reg_seed(NDP_V4_FULL, {"Release": int(os_["net_release"]), "Install": 1})
    host.reg_seed(r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall", {})
    host.reg_seed(r"HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall", {})
    host.reg_seed(r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing", {})
    host.reg_seed(r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update", {})
    host.reg_seed(r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager", {})
    for key in ("ComputerName", "ActiveComputerName"):
        host.reg_seed(rf"HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\{key}", {"ComputerName": host.name.upper()})
    tcpip = {"Hostname": host.name, "NV Hostname": host.name}
    if host.domain is not None:
        tcpip |= {"Domain": host.domain.name, "NV Domain": host.domain.name}
    host.reg_seed(r"HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters", tcpip)
    host.reg_seed(r"HKLM:\SOFTWARE\Microsoft\PowerShell\3\PowerShellEngine", {"PowerShellVersion": facts["ps"]})
    host.reg_seed(
        r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment", {"OS": "Windows_NT", "windir": {"type": "REG_EXPAND_SZ", "data": "%SystemRoot%"}}
    )
    host.reg_create_key(AUTOLOGON_CHECKED)


# -- the estate's `state:` seed ----------------------------------------------------------------------------------------------
SEED_KEYS = (
    "directories",
    "files",
    "registry",
    "services",
    "products",
    "features",
    "events",
    "exchange",
    "exchange_databases",
    "ese_files",
    "exchange_config",
    "edge",
    "transport",
)


def apply_seed(host: Host, seed: dict[str, Any]) -> None:
    """Apply a host's `state:` block (format in estates/example.yml)."""
    unknown = set(seed) - set(SEED_KEYS)
    if unknown:
        raise ValueError(f"hosts.{host.name}.state: unknown keys {sorted(unknown)} (allowed: {', '.join(SEED_KEYS)})")
    dirs = seed.get("directories") or {}
    for path, spec in dirs.items() if isinstance(dirs, dict) else ((d, {}) for d in dirs):
        host.mkdir(path)
        _apply_meta(host, path, spec or {})
    for path, spec in (seed.get("files") or {}).items():
        _seed_file(host, path, spec)
    for path, values in (seed.get("registry") or {}).items():
        host.reg_seed(path, values)
    for name, spec in (seed.get("services") or {}).items():
        _seed_service(host, name, dict(spec or {}))
    for code, spec in (seed.get("products") or {}).items():
        from simulator.hoststate import Product

        host.install_product(Product(code=code, **spec))
    if seed.get("features"):
        host.install_features(seed["features"])
        host._apply_pending_features()
        host.clear_pending_reboot()
    for ev in seed.get("events") or []:
        host.write_event(ev.get("log", "Application"), ev["source"], ev["id"], ev.get("level", "Information"), ev.get("message", ""))
    if seed.get("exchange"):
        from simulator.profiles import exchange_server

        exchange_server(host, seed["exchange"])
    if seed.get("exchange_databases") or seed.get("ese_files"):
        from simulator.exchange import store

        store.apply_seed(host, seed)
    if seed.get("exchange_config"):
        from simulator.exchange import server_config  # issue 13: a customised server (certificates, vdirs, connectors, .config edits)

        server_config.apply_seed(host, seed["exchange_config"])
    if seed.get("edge"):
        from simulator.exchange import edge

        edge.apply_seed(host, seed["edge"])
    if seed.get("transport"):
        from simulator.exchange import transport

        transport.apply_seed(host, seed["transport"])


def _seed_file(host: Host, path: str, spec: Any) -> None:
    if isinstance(spec, str):
        spec = {"content": spec}
    spec = dict(spec or {})
    host.mkdir(str(host.parse_path(path).parent))
    if "program" in spec:
        data = programs.marker(spec["program"], spec.get("args"), spec.get("content", ""))
    elif "base64" in spec:
        data = base64.b64decode(spec["base64"])
    elif "size" in spec:
        data = bytes(int(spec["size"]))
    else:
        data = str(spec.get("content", "")).encode(spec.get("encoding", "utf-8"))
    host.write_bytes(path, data)
    _apply_meta(host, path, spec)


def _apply_meta(host: Host, path: str, spec: dict[str, Any]) -> None:
    if "mtime" in spec:
        when = spec["mtime"]
        host.set_mtime(path, when if isinstance(when, datetime) else datetime.fromisoformat(str(when).replace("Z", "+00:00")))
    if "attributes" in spec:
        host.set_attributes(path, attribute_flags(spec["attributes"]))
    if "acl" in spec:
        rules = [AccessRule(r["identity"], list(r["rights"]) if isinstance(r["rights"], list) else [r["rights"]], r.get("type", "Allow")) for r in spec["acl"]]
        host.set_acl(path, rules, protected=spec.get("acl_protected"))


def _seed_service(host: Host, name: str, spec: dict[str, Any]) -> None:
    existing = host.service(name)
    state = spec.pop("state", None)
    if existing is None:
        host.create_service(name, **spec, state=state or "stopped")
    else:
        host.set_service(name, **spec)
        if state:
            host.state.services[existing.name.casefold()].state = state
