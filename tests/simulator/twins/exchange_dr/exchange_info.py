"""exchange_dr.recovery.exchange_info: what plugins/modules/exchange_info.ps1 reads, read from the simulated host and its domain.

The AD server object comes from the estate's domain (Domain.exchange_server_attributes: the attributes the .ps1's
DirectorySearcher loads), seen as a SearchResult's Properties: lower-case names, a list of values, and no entry for an
attribute without a value; the first value is read as Get-ExDrFirstValue does. The Scripting Agent's state is bit 0x1 of
its msExchCmdletExtensionFlags (Domain.cmdlet_extension_agent_attributes). The media's build is the `file_version` in the
Setup program file's marker (FileVersionInfo), ExSetup.exe under Setup\\ServerRoles\\Common first, as the .ps1 does.
Services are the Win32_Service instances of the host's Windows version (simulator/wmi.py), named as _Windows.psm1 names them.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import dirname, join_path
from simulator.twins.ansible_windows.win_package import program_header
from simulator.twins.exchange_dr._exchange_state import exchange_state, pending_reboot, reg_value, setup_log_summary
from simulator.twins.exchange_dr._windows import service_start_mode, service_state
from simulator.wmi import query_win32_service

EXCHANGE_SERVICE_NAMES = {"adam_msexchange", "fms", "hostcontrollerservice", "mscomplianceaudit", "msftesql-exchange", "searchexchangetracing", "wsbexchange"}
NDP_V4 = r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full"
UCMA_KEY = r"HKLM:\SOFTWARE\Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}"
URL_REWRITE_KEY = r"HKLM:\SOFTWARE\Microsoft\IIS Extensions\URL Rewrite"
UNINSTALL_ROOTS = (r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall", r"HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall")
_VC = re.compile(r"^Microsoft Visual C\+\+ (2012|2013) x64 ")


@twin("exchange_dr.recovery.exchange_info")
def exchange_info(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["computer_name"] = host.name.upper()
    domain = host.domain
    r["domain"] = {"joined": domain is not None, "name": domain.name if domain is not None else None}
    r["os"] = {"version": host.os_version, "build": host.os_build, "caption": host.state.os.get("caption"), "server_core": host.server_core}
    r["exchange"] = exchange_state(host)
    r["pending_reboot"] = pending_reboot(host)
    r["reboot_pending"] = any(r["pending_reboot"].values())
    r["setup_log"] = setup_log_summary(host, m.env)

    server = (p["server_name"] or host.name).upper()
    ad: dict[str, Any] = {
        "exists": False,
        "name": server,
        "distinguished_name": None,
        "role_mask": None,
        "install_path": None,
        "version": None,
        "admin_display_version": None,
        "error": None,
        "dag": None,
        "dag_distinguished_name": None,
        "dag_members": [],
    }
    agent = {"enabled": False, "config_path": None, "config_present": False}
    if domain is None:
        ad["error"] = f"{host.name.upper()} is not joined to a domain"
    else:
        found = _search_result(domain.exchange_server_attributes(server))
        if found is not None:
            ad["exists"] = True
            ad["distinguished_name"] = str(_first_value(found, "distinguishedname"))
            roles = _first_value(found, "msexchcurrentserverroles")
            if roles is not None:
                ad["role_mask"] = int(roles)
            ad["install_path"] = _first_value(found, "msexchinstallpath")
            display = _first_value(found, "serialnumber")
            if display is not None:
                ad["admin_display_version"] = str(display)
                match = re.search(r"Version (\d+)\.(\d+) \(Build (\d+)\.(\d+)\)", str(display))
                if match:
                    ad["version"] = ".".join(match.groups())
            link = _first_value(found, "msexchmdbavailabilitygrouplink")
            if link is not None:
                ad["dag_distinguished_name"] = str(link)
                named = re.match(r"^CN=((?:\\.|[^,\\])+),", str(link))
                if named:
                    ad["dag"] = re.sub(r"\\(.)", r"\1", named.group(1))
                linked = [domain.exchange_server_attributes(s) for s in (domain.exchange.servers if domain.exchange else {})]
                ad["dag_members"] = sorted(str(a["name"]) for a in linked if a and a.get("msExchMDBAvailabilityGroupLink") == str(link))
        agent_object = _search_result(domain.exchange.cmdlet_extension_agent_attributes("Scripting Agent") if domain.exchange else None)
        if agent_object is not None:
            flags = _first_value(agent_object, "msexchcmdletextensionflags")
            agent["enabled"] = flags is not None and int(flags) & 1 == 1
    r["ad_server"] = ad

    folder = (
        p["target_dir"]
        or r["exchange"]["install_path"]
        or ad["install_path"]
        or m.env.get("ProgramFiles", r"C:\Program Files") + r"\Microsoft\Exchange Server\V15"
    )
    agent["config_path"] = join_path(folder.rstrip("\\"), r"Bin\CmdletExtensionAgents\ScriptingAgentConfig.xml")
    agent["config_present"] = host.exists(agent["config_path"]) and not host.is_dir(agent["config_path"])
    r["scripting_agent"] = agent

    r["media"] = _media(m, p["setup_path"])
    r["setup_processes"] = _setup_processes(host, r["media"])
    r["prerequisites"] = _prerequisites(host)
    r["services"] = [
        {"name": i["Name"], "display_name": i["DisplayName"], "start_mode": service_start_mode(host, i), "state": service_state(i["State"])}
        for i in sorted(query_win32_service(host), key=lambda i: i["Name"].casefold())
        if i["Name"].casefold().startswith("msexchange") or i["Name"].casefold() in EXCHANGE_SERVICE_NAMES
    ]


def _search_result(attrs: dict[str, Any] | None) -> dict[str, list[Any]] | None:
    """A DirectorySearcher result's Properties for the loaded attributes: lower-case names, lists of values, an attribute
    without a value absent (the AdminDisplayVersion text is the serialNumber value)."""
    if attrs is None:
        return None
    loaded = (
        "distinguishedName",
        "msExchCurrentServerRoles",
        "msExchInstallPath",
        "serialNumber",
        "msExchCmdletExtensionFlags",
        "msExchMDBAvailabilityGroupLink",
    )
    out: dict[str, list[Any]] = {}
    for name in loaded:
        if name in attrs and attrs[name] is not None:
            value = attrs[name]
            out[name.lower()] = list(value) if isinstance(value, list) else [value]
    return out


def _first_value(found: dict[str, list[Any]], name: str) -> Any:
    """Get-ExDrFirstValue: the first value, or None when the object has none."""
    values = found.get(name, [])
    return values[0] if values else None


def _media(m: ModuleRun, setup_path: str | None) -> dict[str, Any]:
    host = m.host
    media: dict[str, Any] = {"path": setup_path, "exists": False, "version": None}
    if not setup_path:
        return media
    path = setup_path
    if host.exists(path) and host.is_dir(path):
        path = next((join_path(setup_path, n) for n in ("Setup.exe", "Setup.com") if host.exists(join_path(setup_path, n))), None)
    if not path or not host.exists(path) or host.is_dir(path):
        return media
    media.update(path=path, exists=True)
    ex_setup = join_path(dirname(path), r"Setup\ServerRoles\Common\ExSetup.exe")
    header = program_header(host, ex_setup if host.exists(ex_setup) else path)
    version = (header[1] if header else {}).get("file_version")
    media["version"] = str(version) if version else None
    return media


def _setup_processes(host: Any, media: dict[str, Any]) -> list[dict[str, Any]]:
    """Win32_Process entries of ExSetup.exe, or of the media's own Setup program (the module's filter)."""
    media_path = str(media["path"]).casefold() if media["exists"] else None
    return [
        {"pid": p.pid, "name": p.name, "path": p.path, "command_line": p.command_line, "started": p.started.isoformat()}
        for p in host.processes()
        if p.name.casefold() in ("exsetup.exe", "setup.exe", "setup.com") and (p.name.casefold() == "exsetup.exe" or p.path.casefold() == media_path)
    ]


def _prerequisites(host: Any) -> dict[str, Any]:
    years: set[str] = set()
    rewrite_product = None
    for root in UNINSTALL_ROOTS:
        for code in host.reg_subkeys(root) if host.reg_key_exists(root) else []:
            name = str(reg_value(host, rf"{root}\{code}", "DisplayName") or "")
            if match := _VC.match(name):
                years.add(match.group(1))
            if name.startswith("IIS URL Rewrite Module"):
                rewrite_product = reg_value(host, rf"{root}\{code}", "DisplayVersion")
    release = reg_value(host, NDP_V4, "Release")
    url_rewrite = reg_value(host, URL_REWRITE_KEY, "Version") or rewrite_product
    return {
        "dotnet_release": int(release or 0),
        "vcredist": sorted(years),
        "ucma_version": reg_value(host, UCMA_KEY, "Version"),
        "url_rewrite_version": str(url_rewrite) if url_rewrite else None,
    }
