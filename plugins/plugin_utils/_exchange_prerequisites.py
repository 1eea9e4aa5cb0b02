# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Exchange Setup needs on a host before it runs, per release, role set and Windows Server build.

For internal collection use only. Source: the project's exchange-recovery-facts.md, section 2 (Microsoft's prerequisites
page for the web feature set; CSS HealthChecker for the detection values). ``plan()`` compares the table with what
``exchange_info`` found on the host (``prerequisites`` key) and says what is missing; the role installs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import ExchangeRelease, release_of

WS2012R2, WS2016, WS2019, WS2022, WS2025 = 9600, 14393, 17763, 20348, 26100
OS_NAMES = {
    WS2012R2: "Windows Server 2012 R2",
    WS2016: "Windows Server 2016",
    WS2019: "Windows Server 2019",
    WS2022: "Windows Server 2022",
    WS2025: "Windows Server 2025",
}

# .NET Framework 4.x Release values (NDP\v4\Full\Release; CSS HealthChecker): the minimum that counts as the version.
DOTNET_RELEASES = {"4.7.2": 461808, "4.8": 528040, "4.8.1": 533320}

# The web feature set for 2013 and later (ODX prerequisites.md).
WEB_SET = (
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
# Server Core has no graphical features (ODX: Server Core drops these).
GUI_FEATURES = frozenset({"Web-Lgcy-Mgmt-Console", "Web-Mgmt-Console", "Windows-Identity-Foundation", "RSAT-Clustering-Mgmt", "Desktop-Experience"})
# 2013 (and 2016) on Windows Server 2012 R2 also need these two.
WS2012R2_EXTRA = ("AS-HTTP-Activation", "Desktop-Experience")
# Exchange 2010 SP3 (facts section 2; .NET 3.5.1 is the NET-Framework-Core feature, which needs the installation media).
EXCHANGE_2010 = (
    "NET-Framework-Core",
    "RSAT-ADDS",
    "Web-Server",
    "Web-Basic-Auth",
    "Web-Windows-Auth",
    "Web-Digest-Auth",
    "Web-Metabase",
    "Web-Lgcy-Mgmt-Console",
    "Web-Net-Ext",
    "Web-ISAPI-Ext",
    "Web-Dyn-Compression",
    "WAS-Process-Model",
    "NET-HTTP-Activation",
    "RPC-over-HTTP-proxy",
)
EDGE_SET = ("ADLDS",)

# Windows Server builds each release runs on (facts section 2: 2019 on Server 2022 from CU12, on 2025 from CU15).
SUPPORTED_OS: dict[str, tuple[tuple[int, int], ...]] = {
    # (os build, first CU on that build)
    "2010": ((WS2012R2, 0),),
    "2013": ((WS2012R2, 0),),
    "2016": ((WS2012R2, 0), (WS2016, 3)),
    "2019": ((WS2019, 0), (WS2022, 12), (WS2025, 15)),
    "SE": ((WS2019, 0), (WS2022, 0), (WS2025, 0)),
}

RUNTIMES = ("dotnet", "vcredist2012", "vcredist2013", "ucma", "url_rewrite")


class PrerequisiteError(ValueError):
    """The release cannot be prepared on this host (unsupported product or Windows version)."""


@dataclass
class Requirements:
    release: ExchangeRelease
    os_build: int
    features: list[str]
    dotnet: str | None  # "4.8" ... ; None: the .NET 3.5 feature is the requirement (2010)
    vcredist: list[str]  # "2012", "2013"
    ucma: bool
    url_rewrite: bool

    @property
    def dotnet_release(self) -> int | None:
        return DOTNET_RELEASES[self.dotnet] if self.dotnet else None


def requirements(release: ExchangeRelease | str, os_build: int, roles: list[str] | None = None, *, server_core: bool = False) -> Requirements:
    """The prerequisites Setup of ``release`` checks for ``roles`` on Windows Server build ``os_build``."""
    release = release if isinstance(release, ExchangeRelease) else release_of(release)
    roles = list(roles or ["Mailbox"])
    edge = "Edge" in roles
    product, cu = release.product, release.cu or 0
    if product == "2007":
        raise PrerequisiteError("Exchange 2007 runs on Windows Server 2003/2008, which this collection does not prepare: install its prerequisites by hand")
    supported = SUPPORTED_OS.get(product, ())
    if not any(build == os_build and cu >= first for build, first in supported):
        names = ", ".join(f"{OS_NAMES[b]}{f' (CU{f}+)' if f else ''}" for b, f in supported)
        raise PrerequisiteError(f"{release.name} is not supported on {OS_NAMES.get(os_build, f'Windows build {os_build}')}; it runs on {names}")
    if product == "2010":
        features = [f for f in EXCHANGE_2010 if not (server_core and f in GUI_FEATURES)]
        return Requirements(release, os_build, features, None, [], False, False)
    if edge:
        return Requirements(release, os_build, list(EDGE_SET), _dotnet(release), ["2012"], False, False)
    features = list(WEB_SET)
    if os_build == WS2012R2 and product in ("2013", "2016"):
        features += list(WS2012R2_EXTRA)
    if server_core:
        features = [f for f in features if f not in GUI_FEATURES]
    url_rewrite = (product == "2016" and cu >= 22) or (product == "2019" and cu >= 11) or product == "SE"
    return Requirements(release, os_build, features, _dotnet(release), ["2012", "2013"], True, url_rewrite)


def _dotnet(release: ExchangeRelease) -> str:
    """The minimum .NET Framework Setup accepts: 4.7.2 for 2013 CU23, 4.8 for 2016/2019/SE (4.8.1 is supported from 2019
    CU14 and satisfies the check: its Release value is higher)."""
    if release.product == "2013":
        return "4.7.2"
    return "4.8"


@dataclass
class Plan:
    requirements: Requirements
    features: list[str]  # every feature Setup needs (win_feature installs the missing ones idempotently)
    missing: list[str] = field(default_factory=list)  # runtimes (RUNTIMES names) not found on the host

    def to_dict(self) -> dict[str, Any]:
        r = self.requirements
        return {
            "release": {"product": r.release.product, "cu": r.release.cu, "name": r.release.name, "build": r.release.build_string},
            "os_build": r.os_build,
            "features": list(self.features),
            "dotnet": r.dotnet,
            "dotnet_release": r.dotnet_release,
            "vcredist": list(r.vcredist),
            "ucma": r.ucma,
            "url_rewrite": r.url_rewrite,
            "missing": list(self.missing),
        }


def plan(info: dict[str, Any], *, build: str | None = None, roles: list[str] | None = None) -> Plan:
    """What to install, from an ``exchange_info`` result. The build is the media's (what Setup will check), else the
    AD object's; the roles are the AD object's unless given."""
    media = info.get("media") or {}
    ad = info.get("ad_server") or {}
    version = build or media.get("version") or ad.get("version")
    if not version:
        raise PrerequisiteError("no Exchange build to prepare for: give setup_path (the media) or a server with an Active Directory object")
    release = release_of(str(version))
    os_info = info.get("os") or {}
    req = requirements(release, int(os_info.get("build") or 0), roles or list(ad.get("roles") or []) or None, server_core=bool(os_info.get("server_core")))
    found = info.get("prerequisites") or {}
    missing = []
    if req.dotnet_release and int(found.get("dotnet_release") or 0) < req.dotnet_release:
        missing.append("dotnet")
    have_vc = {str(v) for v in found.get("vcredist") or []}
    missing += [f"vcredist{year}" for year in req.vcredist if year not in have_vc]
    if req.ucma and not found.get("ucma_version"):
        missing.append("ucma")
    if req.url_rewrite and not found.get("url_rewrite_version"):
        missing.append("url_rewrite")
    return Plan(req, list(req.features), missing)
