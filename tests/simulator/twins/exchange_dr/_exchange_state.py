"""What plugins/module_utils/_ExchangeState.psm1 reads, read from a simulated Host the same way (registry, the log).

Shared by the exchange_info and recover_server twins; every function mirrors one PowerShell function of that util.
"""

from __future__ import annotations

import re
from typing import Any

SETUP_KEYS = (
    ("v15", r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15"),
    ("v14", r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14"),
    ("v8", r"HKLM:\SOFTWARE\Microsoft\Exchange"),
)
ROLE_KEY_NAMES = (
    "AdminToolsRole",
    "BridgeheadRole",
    "CafeRole",
    "ClientAccessRole",
    "EdgeTransportRole",
    "FrontendTransportRole",
    "GatewayRole",
    "HubTransportRole",
    "MailboxRole",
    "UnifiedMessagingRole",
)
UNINSTALL_CODES = ("{4934D1EA-BE46-48B1-8847-F1AF20E892C1}", "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}")
UNINSTALL_ROOT = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
_LOG_PATTERN = re.compile(
    r"Starting Microsoft Exchange Server|\] Setup version: |Command Line Parameter Name=|\[ERROR\] |\[REQUIRED\] |"
    r"Failed \[Rule:|setup operation completed successfully|setup operation didn't complete|\] End of Setup|"
    r"installation mode is set to|Exchange Server object found|No Exchange Server with identity|Setup is stopping now"
)


def reg_value(host: Any, path: str, name: str) -> Any:
    """Get-ExDrRegistryValue: the value's data, or None."""
    value = host.reg_get_value(path, name)
    return value.data if value is not None else None


def exchange_state(host: Any) -> dict[str, Any]:
    """Get-ExDrExchangeState."""
    state: dict[str, Any] = {
        "installed": False,
        "configured": False,
        "incomplete": False,
        "version": None,
        "install_path": None,
        "install_date": None,
        "roles": [],
        "setup_markers": [],
    }
    for _generation, root in SETUP_KEYS:
        install_path = reg_value(host, rf"{root}\Setup", "MsiInstallPath")
        if install_path is None:
            continue
        state["installed"] = True
        state["install_path"] = str(install_path).rstrip("\\")
        parts = [reg_value(host, rf"{root}\Setup", n) for n in ("MsiProductMajor", "MsiProductMinor", "MsiBuildMajor", "MsiBuildMinor")]
        if all(p is not None for p in parts):
            state["version"] = ".".join(str(p) for p in parts)
        for role in ROLE_KEY_NAMES:
            key = rf"{root}\{role}"
            if not host.reg_key_exists(key):
                continue
            marker = {
                "role": role,
                "unpacked_version": reg_value(host, key, "UnpackedVersion"),
                "configured_version": reg_value(host, key, "ConfiguredVersion"),
                "action": reg_value(host, key, "Action"),
                "watermark": reg_value(host, key, "Watermark"),
            }
            marker["incomplete"] = bool(
                (marker["unpacked_version"] is not None and marker["configured_version"] is None)
                or marker["action"] is not None
                or marker["watermark"] is not None
            )
            state["roles"].append(role)
            state["setup_markers"].append(marker)
        break
    markers = state["setup_markers"]
    state["incomplete"] = any(m["incomplete"] for m in markers)
    state["configured"] = bool(state["installed"] and markers and all(m["configured_version"] is not None for m in markers))
    for code in UNINSTALL_CODES:
        date = reg_value(host, rf"{UNINSTALL_ROOT}\{code}", "InstallDate")
        if date is not None:
            state["install_date"] = str(date)
    return state


def setup_log_summary(host: Any, env: dict[str, str], max_lines: int = 400) -> dict[str, Any]:
    """Get-ExDrSetupLogSummary: the key lines of the last run."""
    path = f"{env.get('SystemDrive', 'C:')}\\ExchangeSetupLogs\\ExchangeSetup.log"
    summary: dict[str, Any] = {"path": path, "exists": False, "lines": []}
    if not host.exists(path) or host.is_dir(path):
        return summary
    summary["exists"] = True
    lines = host.read_bytes(path).decode("utf-8", errors="replace").splitlines()  # ReadAllLines: UTF-8 detection
    start = 0
    for i in range(len(lines) - 1, -1, -1):
        if "Starting Microsoft Exchange Server" in lines[i]:
            start = i
            break
    for line in lines[start:]:
        if len(summary["lines"]) >= max_lines:
            break
        if _LOG_PATTERN.search(line):
            summary["lines"].append(line)
    return summary


def pending_reboot(host: Any) -> dict[str, bool]:
    """Get-ExDrPendingReboot (the Host reads the same registry locations)."""
    return dict(host.pending_reboot())
