"""WMI as the modules query it: Win32_Service instances as Get-CimInstance returns them on the host's Windows version, and the
WQL filters the modules send, parsed as WMI parses them.

Facts (MicrosoftDocs/win32):
- desktop-src/CIMWin32Prov/win32-service.md: State is one of "Stopped", "Start Pending", "Stop Pending", "Running",
  "Continue Pending", "Pause Pending", "Paused", "Unknown"; StartMode one of "Boot", "System", "Auto", "Manual", "Disabled";
  DelayedAutoStart "is not supported before Windows Server 2016 and Windows 10": on 2012 R2 the instance has no such
  property (a script reading it gets $null, or an error under strict mode).
- desktop-src/WmiSdk/where-clause.md and [MS-WMI] 2.2.1: in a WQL string literal a backslash escapes the next character
  (backslash, double quote, single quote). `'O''Brien'` is two literals in a row, which WMI rejects as an invalid query
  (WBEM_E_INVALID_QUERY); comparisons are case-insensitive.
Only the forms the collection's modules send are parsed: `Name = <literal>` terms joined by OR.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from simulator.winerror import WinError

if TYPE_CHECKING:
    from simulator.host import Host
    from simulator.hoststate import Service

WBEM_E_INVALID_QUERY = 0x80041017
FIRST_BUILD_WITH_DELAYED_AUTO_START = 14393  # Windows Server 2016
STATE_TEXT = {
    "stopped": "Stopped",
    "start_pending": "Start Pending",
    "stop_pending": "Stop Pending",
    "running": "Running",
    "continue_pending": "Continue Pending",
    "pause_pending": "Pause Pending",
    "paused": "Paused",
}
START_MODE_TEXT = {"auto": "Auto", "delayed": "Auto", "manual": "Manual", "disabled": "Disabled", "boot": "Boot", "system": "System"}
_TERM = re.compile(r"\s*(\w+)\s*=\s*", re.ASCII)


def invalid_query() -> WinError:
    """What Get-CimInstance raises for a query WMI cannot parse (CimException, 'Invalid query')."""
    return WinError(WBEM_E_INVALID_QUERY, "Invalid query ")


def win32_service(host: Host, svc: Service) -> dict[str, Any]:
    """The Win32_Service instance of a service, with the properties this host's Windows version has."""
    props: dict[str, Any] = {
        "Name": svc.name,
        "DisplayName": svc.display_name,
        "State": STATE_TEXT.get(svc.state, "Unknown"),
        "Started": svc.state == "running",
        "StartMode": START_MODE_TEXT.get(svc.start_mode, svc.start_mode.capitalize()),
        "StartName": svc.account,
        "PathName": svc.path,
        "ExitCode": svc.exit_code,
    }
    if host.os_build >= FIRST_BUILD_WITH_DELAYED_AUTO_START:
        props["DelayedAutoStart"] = svc.start_mode == "delayed"
    return props


def parse_literal(text: str, pos: int) -> tuple[str, int]:
    """A WQL string literal starting at text[pos] (quote character included): (value, position after the closing quote)."""
    if pos >= len(text) or text[pos] not in "'\"":
        raise invalid_query()
    quote, out, i = text[pos], [], pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise invalid_query()
            out.append(text[i + 1])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise invalid_query()  # unterminated


def name_filter(wql_filter: str, prop: str = "Name") -> list[str]:
    """The values of `<prop> = '<literal>' [OR <prop> = '<literal>' ...]`; WBEM_E_INVALID_QUERY for anything else."""
    values: list[str] = []
    pos = 0
    while True:
        match = _TERM.match(wql_filter, pos)
        if match is None or match.group(1).casefold() != prop.casefold():
            raise invalid_query()
        value, pos = parse_literal(wql_filter, match.end())
        values.append(value)
        rest = wql_filter[pos:]
        if not rest.strip():
            return values
        keyword = re.match(r"\s+OR\s+", rest, re.IGNORECASE)
        if keyword is None:
            raise invalid_query()
        pos += keyword.end()


def query_win32_service(host: Host, wql_filter: str | None = None) -> list[dict[str, Any]]:
    """Get-CimInstance -ClassName Win32_Service [-Filter ...]: the matching instances (names compare case-insensitively)."""
    wanted = {v.casefold() for v in name_filter(wql_filter)} if wql_filter is not None else None
    return [win32_service(host, s) for s in host.services() if wanted is None or s.name.casefold() in wanted]
