"""A Windows Server feature catalogue (Get-WindowsFeature) for Server 2012 R2 to 2025, covering at least the Exchange
prerequisites (exchange-recovery-facts.md section 2) and what a fresh server has installed.

Modelled behaviour (Server Manager / Install-WindowsFeature):
- installing a sub-feature installs its parents; installing a feature installs what it requires;
- a role installed without -IncludeAllSubFeature gets its default sub-features (flag `d`);
- -IncludeManagementTools adds the feature's management tools;
- a few features need a restart to finish (flag `r` on install, `R` on removal): the change stays "pending" until reboot;
- NET-Framework-Core's payload is removed from the image (Features on Demand): it needs a source (CBS_E_SOURCE_MISSING);
- Server Core lacks the graphical features (flag `g`), as the Exchange Server Core prerequisite list reflects.
Names and display names are Windows'; the catalogue is not exhaustive (unknown names fail as Windows does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# OS builds
WS2012R2, WS2016, WS2019, WS2022, WS2025 = 9600, 14393, 17763, 20348, 26100


@dataclass(frozen=True)
class FeatureDef:
    name: str
    display_name: str
    feature_type: str  # Role | Role Service | Feature
    parent: str | None
    flags: str = ""  # d default sub-feature, i installed on a fresh server, r/R restart on install/removal, g GUI only, s needs source
    requires: tuple[str, ...] = ()
    mgmt_tools: tuple[str, ...] = ()
    services: tuple[dict, ...] = ()  # services the feature installs (create_service kwargs)
    builds: tuple[int, int] = (0, 10**6)  # available from..to build (inclusive)
    sub_features: list[str] = field(default_factory=list, compare=False)


def _net45(build: int) -> str:
    """The version Server Manager shows in .NET 4.x display names."""
    if build >= WS2022:
        return "4.8"
    return {WS2012R2: "4.5", WS2016: "4.6", WS2019: "4.7"}.get(build, "4.5")


_W3SVC = {
    "name": "W3SVC",
    "display_name": "World Wide Web Publishing Service",
    "start_mode": "auto",
    "state": "running",
    "path": r"C:\Windows\system32\svchost.exe -k iissvcs",
    "dependencies": ["WAS", "HTTP"],
}
_WAS = {
    "name": "WAS",
    "display_name": "Windows Process Activation Service",
    "start_mode": "manual",
    "state": "running",
    "path": r"C:\Windows\system32\svchost.exe -k iissvcs",
}
_IISADMIN = {
    "name": "IISADMIN",
    "display_name": "IIS Admin Service",
    "start_mode": "auto",
    "state": "running",
    "path": r"C:\Windows\system32\inetsrv\inetinfo.exe",
}
_WMSVC = {"name": "WMSVC", "display_name": "Web Management Service", "start_mode": "manual", "path": r"C:\Windows\system32\inetsrv\WMSvc.exe"}
_CLUSSVC = {"name": "ClusSvc", "display_name": "Cluster Service", "start_mode": "manual", "path": r"C:\Windows\Cluster\clussvc.exe"}
_WBENGINE = {"name": "wbengine", "display_name": "Block Level Backup Engine Service", "start_mode": "manual", "path": r"C:\Windows\system32\wbengine.exe"}


def _rows(b: int) -> list[FeatureDef]:
    n = _net45(b)
    F, RS, R = "Feature", "Role Service", "Role"
    return [
        # roles
        FeatureDef("AD-Domain-Services", "Active Directory Domain Services", R, None, mgmt_tools=("RSAT-AD-PowerShell", "RSAT-ADDS")),
        FeatureDef("ADLDS", "Active Directory Lightweight Directory Services", R, None, mgmt_tools=("RSAT-ADLDS",)),
        FeatureDef("Application-Server", "Application Server", R, None, builds=(0, WS2012R2), requires=("NET-Framework-45-Core",)),
        FeatureDef("AS-NET-Framework", ".NET Framework 4.5", RS, "Application-Server", "d", builds=(0, WS2012R2)),
        FeatureDef("AS-Web-Support", "Web Server (IIS) Support", RS, "Application-Server", builds=(0, WS2012R2), requires=("Web-Server",)),
        FeatureDef("AS-WAS-Support", "Windows Process Activation Service Support", RS, "Application-Server", builds=(0, WS2012R2)),
        FeatureDef("AS-HTTP-Activation", "HTTP Activation", RS, "AS-WAS-Support", builds=(0, WS2012R2), requires=("WAS-Process-Model", "Web-Server")),
        FeatureDef("FileAndStorage-Services", "File and Storage Services", R, None, "i"),
        FeatureDef("File-Services", "File and iSCSI Services", RS, "FileAndStorage-Services"),
        FeatureDef("FS-FileServer", "File Server", RS, "File-Services", "d"),
        FeatureDef("Storage-Services", "Storage Services", RS, "FileAndStorage-Services", "i"),
        FeatureDef("Hyper-V", "Hyper-V", R, None, "rR", mgmt_tools=("RSAT-Hyper-V-Tools",)),
        FeatureDef("Web-Server", "Web Server (IIS)", R, None, mgmt_tools=("Web-Mgmt-Console",)),
        FeatureDef("Web-WebServer", "Web Server", RS, "Web-Server", "d", services=(_WAS, _W3SVC)),
        FeatureDef("Web-Common-Http", "Common HTTP Features", RS, "Web-WebServer", "d"),
        FeatureDef("Web-Default-Doc", "Default Document", RS, "Web-Common-Http", "d"),
        FeatureDef("Web-Dir-Browsing", "Directory Browsing", RS, "Web-Common-Http", "d"),
        FeatureDef("Web-Http-Errors", "HTTP Errors", RS, "Web-Common-Http", "d"),
        FeatureDef("Web-Static-Content", "Static Content", RS, "Web-Common-Http", "d"),
        FeatureDef("Web-Http-Redirect", "HTTP Redirection", RS, "Web-Common-Http"),
        FeatureDef("Web-Health", "Health and Diagnostics", RS, "Web-WebServer", "d"),
        FeatureDef("Web-Http-Logging", "HTTP Logging", RS, "Web-Health", "d"),
        FeatureDef("Web-Log-Libraries", "Logging Tools", RS, "Web-Health"),
        FeatureDef("Web-Request-Monitor", "Request Monitor", RS, "Web-Health"),
        FeatureDef("Web-Http-Tracing", "Tracing", RS, "Web-Health"),
        FeatureDef("Web-Performance", "Performance", RS, "Web-WebServer", "d"),
        FeatureDef("Web-Stat-Compression", "Static Content Compression", RS, "Web-Performance", "d"),
        FeatureDef("Web-Dyn-Compression", "Dynamic Content Compression", RS, "Web-Performance"),
        FeatureDef("Web-Security", "Security", RS, "Web-WebServer", "d"),
        FeatureDef("Web-Filtering", "Request Filtering", RS, "Web-Security", "d"),
        FeatureDef("Web-Basic-Auth", "Basic Authentication", RS, "Web-Security"),
        FeatureDef("Web-Client-Auth", "Client Certificate Mapping Authentication", RS, "Web-Security"),
        FeatureDef("Web-Digest-Auth", "Digest Authentication", RS, "Web-Security"),
        FeatureDef("Web-Cert-Auth", "IIS Client Certificate Mapping Authentication", RS, "Web-Security"),
        FeatureDef("Web-IP-Security", "IP and Domain Restrictions", RS, "Web-Security"),
        FeatureDef("Web-Url-Auth", "URL Authorization", RS, "Web-Security"),
        FeatureDef("Web-Windows-Auth", "Windows Authentication", RS, "Web-Security"),
        FeatureDef("Web-App-Dev", "Application Development", RS, "Web-WebServer"),
        FeatureDef("Web-Net-Ext", ".NET Extensibility 3.5", RS, "Web-App-Dev", requires=("NET-Framework-Core",)),
        FeatureDef("Web-Net-Ext45", f".NET Extensibility {n}", RS, "Web-App-Dev", requires=("NET-Framework-45-ASPNET",)),
        FeatureDef("Web-Asp-Net", "ASP.NET 3.5", RS, "Web-App-Dev", requires=("Web-Net-Ext", "Web-ISAPI-Ext", "Web-ISAPI-Filter")),
        FeatureDef("Web-Asp-Net45", f"ASP.NET {n}", RS, "Web-App-Dev", requires=("Web-Net-Ext45", "Web-ISAPI-Ext", "Web-ISAPI-Filter")),
        FeatureDef("Web-ISAPI-Ext", "ISAPI Extensions", RS, "Web-App-Dev"),
        FeatureDef("Web-ISAPI-Filter", "ISAPI Filters", RS, "Web-App-Dev"),
        FeatureDef("Web-Mgmt-Tools", "Management Tools", RS, "Web-Server"),
        FeatureDef("Web-Mgmt-Console", "IIS Management Console", RS, "Web-Mgmt-Tools", "g"),
        FeatureDef("Web-Mgmt-Compat", "IIS 6 Management Compatibility", RS, "Web-Mgmt-Tools"),
        FeatureDef("Web-Metabase", "IIS 6 Metabase Compatibility", RS, "Web-Mgmt-Compat", "d", services=(_IISADMIN,)),
        FeatureDef("Web-Lgcy-Mgmt-Console", "IIS 6 Management Console", RS, "Web-Mgmt-Compat", "g", requires=("Web-Metabase",)),
        FeatureDef("Web-Lgcy-Scripting", "IIS 6 Scripting Tools", RS, "Web-Mgmt-Compat", requires=("Web-Metabase", "Web-WMI")),
        FeatureDef("Web-WMI", "IIS 6 WMI Compatibility", RS, "Web-Mgmt-Compat", requires=("Web-Metabase",)),
        FeatureDef("Web-Scripting-Tools", "IIS Management Scripts and Tools", RS, "Web-Mgmt-Tools"),
        FeatureDef("Web-Mgmt-Service", "Management Service", RS, "Web-Mgmt-Tools", services=(_WMSVC,)),
        # features
        FeatureDef("NET-Framework-Features", ".NET Framework 3.5 Features", F, None),
        FeatureDef("NET-Framework-Core", ".NET Framework 3.5 (includes .NET 2.0 and 3.0)", F, "NET-Framework-Features", "ds"),
        FeatureDef(
            "NET-HTTP-Activation",
            "HTTP Activation",
            F,
            "NET-Framework-Features",
            requires=("NET-Framework-Core", "WAS-Process-Model", "WAS-NET-Environment", "WAS-Config-APIs"),
        ),
        FeatureDef("NET-Non-HTTP-Activ", "Non-HTTP Activation", F, "NET-Framework-Features", requires=("NET-Framework-Core", "WAS-Process-Model")),
        FeatureDef("NET-Framework-45-Features", f".NET Framework {n} Features", F, None, "i"),
        FeatureDef("NET-Framework-45-Core", f".NET Framework {n}", F, "NET-Framework-45-Features", "di"),
        FeatureDef("NET-Framework-45-ASPNET", f"ASP.NET {n}", F, "NET-Framework-45-Features"),
        FeatureDef("NET-WCF-Services45", "WCF Services", F, "NET-Framework-45-Features", "i"),
        FeatureDef(
            "NET-WCF-HTTP-Activation45",
            "HTTP Activation",
            F,
            "NET-WCF-Services45",
            requires=("NET-Framework-45-ASPNET", "WAS-Process-Model", "WAS-Config-APIs"),
        ),
        FeatureDef("NET-WCF-Pipe-Activation45", "Named Pipe Activation", F, "NET-WCF-Services45", requires=("WAS-Process-Model",)),
        FeatureDef("NET-WCF-TCP-Activation45", "TCP Activation", F, "NET-WCF-Services45", requires=("WAS-Process-Model",)),
        FeatureDef("NET-WCF-TCP-PortSharing45", "TCP Port Sharing", F, "NET-WCF-Services45", "di"),
        FeatureDef(
            "Failover-Clustering", "Failover Clustering", F, None, services=(_CLUSSVC,), mgmt_tools=("RSAT-Clustering-Mgmt", "RSAT-Clustering-PowerShell")
        ),
        FeatureDef("RPC-over-HTTP-proxy", "RPC over HTTP Proxy", F, None, requires=("Web-Server", "Web-ISAPI-Ext")),
        FeatureDef("Server-Media-Foundation", "Media Foundation", F, None, "rR"),
        FeatureDef("SNMP-Service", "SNMP Service", F, None),
        FeatureDef("System-DataArchiver", "System Data Archiver", F, None, "i", builds=(WS2019, 10**6)),
        FeatureDef("Telnet-Client", "Telnet Client", F, None),
        FeatureDef("User-Interfaces-Infra", "User Interfaces and Infrastructure", F, None, "gi", builds=(0, WS2012R2)),
        FeatureDef("Server-Gui-Mgmt-Infra", "Graphical Management Tools and Infrastructure", F, "User-Interfaces-Infra", "dgiR", builds=(0, WS2012R2)),
        FeatureDef("Server-Gui-Shell", "Server Graphical Shell", F, "User-Interfaces-Infra", "dgiR", builds=(0, WS2012R2)),
        FeatureDef(
            "Desktop-Experience",
            "Desktop Experience",
            F,
            "User-Interfaces-Infra",
            "grR",
            builds=(0, WS2012R2),
            requires=("Server-Media-Foundation", "InkAndHandwritingServices"),
        ),
        FeatureDef("InkAndHandwritingServices", "Ink and Handwriting Services", F, "User-Interfaces-Infra", "g", builds=(0, WS2012R2)),
        FeatureDef("WAS", "Windows Process Activation Service", F, None),
        FeatureDef("WAS-Process-Model", "Process Model", F, "WAS", "d", services=(_WAS,)),
        FeatureDef("WAS-NET-Environment", ".NET Environment 3.5", F, "WAS", requires=("NET-Framework-Core",)),
        FeatureDef("WAS-Config-APIs", "Configuration APIs", F, "WAS", "d"),
        FeatureDef("Windows-Defender", "Microsoft Defender Antivirus" if b >= WS2022 else "Windows Defender Antivirus", F, None, "iR", builds=(WS2016, 10**6)),
        FeatureDef("Windows-Identity-Foundation", "Windows Identity Foundation 3.5", F, None, "g"),
        FeatureDef("Windows-Server-Backup", "Windows Server Backup", F, None, services=(_WBENGINE,)),
        FeatureDef("PowerShellRoot", "Windows PowerShell", F, None, "i"),
        FeatureDef("PowerShell", "Windows PowerShell 4.0" if b <= WS2012R2 else "Windows PowerShell 5.1", F, "PowerShellRoot", "di"),
        FeatureDef("PowerShell-V2", "Windows PowerShell 2.0 Engine", F, "PowerShellRoot", "i", builds=(0, WS2022)),
        FeatureDef("PowerShell-ISE", "Windows PowerShell ISE", F, "PowerShellRoot", "gi"),
        FeatureDef("WoW64-Support", "WoW64 Support", F, None, "i"),
        FeatureDef("RSAT", "Remote Server Administration Tools", F, None),
        FeatureDef("RSAT-Feature-Tools", "Feature Administration Tools", F, "RSAT"),
        FeatureDef("RSAT-Clustering", "Failover Clustering Tools", F, "RSAT-Feature-Tools"),
        FeatureDef("RSAT-Clustering-Mgmt", "Failover Cluster Management Tools", F, "RSAT-Clustering", "dg"),
        FeatureDef("RSAT-Clustering-PowerShell", "Failover Cluster Module for Windows PowerShell", F, "RSAT-Clustering", "d"),
        FeatureDef("RSAT-Clustering-AutomationServer", "Failover Cluster Automation Server", F, "RSAT-Clustering"),
        FeatureDef("RSAT-Clustering-CmdInterface", "Failover Cluster Command Interface", F, "RSAT-Clustering"),
        FeatureDef("RSAT-Role-Tools", "Role Administration Tools", F, "RSAT"),
        FeatureDef("RSAT-AD-Tools", "AD DS and AD LDS Tools", F, "RSAT-Role-Tools"),
        FeatureDef("RSAT-AD-PowerShell", "Active Directory module for Windows PowerShell", F, "RSAT-AD-Tools", "d"),
        FeatureDef("RSAT-ADDS", "AD DS Tools", F, "RSAT-AD-Tools", "d"),
        FeatureDef("RSAT-AD-AdminCenter", "Active Directory Administrative Center", F, "RSAT-ADDS", "dg"),
        FeatureDef("RSAT-ADDS-Tools", "AD DS Snap-Ins and Command-Line Tools", F, "RSAT-ADDS", "d"),
        FeatureDef("RSAT-ADLDS", "AD LDS Snap-Ins and Command-Line Tools", F, "RSAT-AD-Tools"),
        FeatureDef("RSAT-Hyper-V-Tools", "Hyper-V Management Tools", F, "RSAT-Role-Tools"),
    ]


def os_build(version: str) -> int:
    """'10.0.17763' -> 17763 (the catalogue's key)."""
    try:
        return int(str(version).split(".")[2])
    except (IndexError, ValueError):
        raise ValueError(f"OS version must look like '10.0.17763', not {version!r}") from None


def catalogue(build: int, server_core: bool = False) -> dict[str, FeatureDef]:
    """The features Get-WindowsFeature lists on this build, keyed by casefolded name, parents before children."""
    out: dict[str, FeatureDef] = {}
    for row in _rows(build):
        lo, hi = row.builds
        if not lo <= build <= hi or (server_core and "g" in row.flags):
            continue
        out[row.name.casefold()] = FeatureDef(**{**row.__dict__, "sub_features": []})
    for row in out.values():
        if row.parent and row.parent.casefold() in out:
            out[row.parent.casefold()].sub_features.append(row.name)
    return out


def installed_by_default(build: int, server_core: bool = False) -> list[str]:
    return [f.name for f in catalogue(build, server_core).values() if "i" in f.flags]
