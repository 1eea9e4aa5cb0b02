"""How the ansible.windows service modules present a host's services (shared by win_service and win_service_info)."""

from __future__ import annotations

import fnmatch
from typing import Any

# Service.state of the host → the modules' names (SCManager ServiceStatus)
STATE_NAMES = {"stopped": "stopped", "start_pending": "start_pending", "stop_pending": "stop_pending", "running": "started", "paused": "paused"}
SYSTEM_NAMES = {"localsystem", "system", "nt authority\\system", ".\\localsystem", "s-1-5-18"}


def find(host: Any, name: str) -> Any | None:
    """Get-ServiceFromName: exact service or display name (case-insensitive), else Get-Service -Name (wildcards)."""
    services = host.services()
    for service in services:
        if name.lower() in (service.name.lower(), service.display_name.lower()):
            return service
    return next(iter(matching(host, name)), None)


def matching(host: Any, pattern: str | None) -> list[Any]:
    """Get-Service -Name <pattern>: wildcard match on name or display name; no pattern means every service."""
    services = host.services()
    if pattern is None:
        return list(services)
    exact = [s for s in services if s.name.lower() == pattern.lower()]
    if exact:
        return exact
    lowered = pattern.lower()
    return [s for s in services if fnmatch.fnmatchcase(s.name.lower(), lowered) or fnmatch.fnmatchcase(s.display_name.lower(), lowered)]


def depended_by(host: Any, service: Any) -> list[str]:
    return [s.name for s in host.services() if any(d.lower() == service.name.lower() for d in s.dependencies)]


def controls_accepted(service: Any) -> list[str]:
    """A stopped service accepts no controls; a running one accepts stop (and pause/continue if it can)."""
    if service.state not in ("running", "paused"):
        return []
    return ["stop", "pause_continue"] if service.can_pause else ["stop"]


def account_key(host: Any, account: str | None) -> str:
    """A comparable identity for an account name (stands in for comparing SIDs)."""
    if not account:
        return ""
    if account.lower() in SYSTEM_NAMES:
        return "nt authority\\system"
    return host.canonical_identity(account).casefold()


def account_display(host: Any, account: str) -> str:
    """NTAccount.Value after a SID round trip: LocalSystem shows as NT AUTHORITY\\SYSTEM, '.\\x' as HOST\\x."""
    if account.lower() in SYSTEM_NAMES:
        return "NT AUTHORITY\\SYSTEM"
    return host.canonical_identity(account)


def is_system(host: Any, account: str | None) -> bool:
    return account_key(host, account) == "nt authority\\system"
