"""What plugins/module_utils/_ExchangeState.psm1 reads, read from a simulated Host the same way (registry, the log).

The one twin helper for the Exchange Setup registry read: the exchange_info, recover_server and service_state twins use it,
as their .ps1 files use the module_util. Every function mirrors one PowerShell function of that util; the key locations
are the controller's table (plugin_utils/_exchange_versions.py), which the .psm1 copies and a unit test holds equal.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import (
    SETUP_REGISTRY_LOCATIONS,
    SETUP_UNINSTALL_CODES,
    UNINSTALL_ROOT,
)

_BUILD_VALUES = ("MsiProductMajor", "MsiProductMinor", "MsiBuildMajor", "MsiBuildMinor")
_LOG_PATTERN = re.compile(
    r"Starting Microsoft Exchange Server|\] Setup version: |Command Line Parameter Name=|\[ERROR\] |\[REQUIRED\] |"
    r"Failed \[Rule:|setup operation completed successfully|setup operation didn't complete|\] End of Setup|"
    r"installation mode is set to|Exchange Server object found|No Exchange Server with identity|Setup is stopping now"
)


def reg_value(host: Any, path: str, name: str) -> Any:
    """Get-ExDrRegistryValue: the value's data, or None."""
    value = host.reg_get_value(path, name)
    return value.data if value is not None else None


def setup_registry(host: Any) -> dict[str, Any]:
    """Get-ExDrSetupRegistry: the first Setup key with an MsiInstallPath, its build, install path and *Role keys (sorted by
    name, as Sort-Object -Property PSChildName)."""
    found: dict[str, Any] = {"installed": False, "setup_key": None, "build": None, "install_path": None, "role_keys": []}
    for _generation, setup_key, roles_key in SETUP_REGISTRY_LOCATIONS:
        install_path = reg_value(host, setup_key, "MsiInstallPath")
        if install_path is None:
            continue
        parts = [reg_value(host, setup_key, name) for name in _BUILD_VALUES]
        found.update(installed=True, setup_key=setup_key, install_path=str(install_path).rstrip("\\"))
        if all(part is not None for part in parts):
            found["build"] = ".".join(str(part) for part in parts)
        parent = host.reg_get_key(roles_key)
        names = sorted((sub for sub in (parent.subkeys if parent else ()) if sub.casefold().endswith("role")), key=str.casefold)
        found["role_keys"] = [
            {
                "name": name,
                "unpacked_version": reg_value(host, rf"{roles_key}\{name}", "UnpackedVersion"),
                "configured_version": reg_value(host, rf"{roles_key}\{name}", "ConfiguredVersion"),
                "action": reg_value(host, rf"{roles_key}\{name}", "Action"),
                "watermark": reg_value(host, rf"{roles_key}\{name}", "Watermark"),
            }
            for name in names
        ]
        break
    return found


def exchange_state(host: Any) -> dict[str, Any]:
    """Get-ExDrExchangeState."""
    found = setup_registry(host)
    markers = []
    for key in found["role_keys"]:
        marker = {"role": key["name"], **{k: key[k] for k in ("unpacked_version", "configured_version", "action", "watermark")}}
        marker["incomplete"] = bool(
            (marker["unpacked_version"] is not None and marker["configured_version"] is None) or marker["action"] is not None or marker["watermark"] is not None
        )
        markers.append(marker)
    state: dict[str, Any] = {
        "installed": found["installed"],
        "configured": bool(found["installed"] and markers and all(m["configured_version"] is not None for m in markers)),
        "incomplete": any(m["incomplete"] for m in markers),
        "version": found["build"],
        "install_path": found["install_path"],
        "install_date": None,
        "roles": [m["role"] for m in markers],
        "setup_markers": markers,
    }
    for code in SETUP_UNINSTALL_CODES:
        date = reg_value(host, rf"{UNINSTALL_ROOT}\{code}", "InstallDate")
        if date is not None:
            state["install_date"] = str(date)
    return state


def setup_log_summary(host: Any, env: dict[str, str], max_lines: int = 400) -> dict[str, Any]:
    """Get-ExDrSetupLogSummary: the key lines of the last run, read through a FileStream shared for reading and writing
    (a running Setup holds the log open for writing)."""
    path = f"{env.get('SystemDrive', 'C:')}\\ExchangeSetupLogs\\ExchangeSetup.log"
    summary: dict[str, Any] = {"path": path, "exists": False, "lines": []}
    if not host.exists(path) or host.is_dir(path):
        return summary
    summary["exists"] = True
    text = host.read_bytes(path, share="readwrite").decode("utf-8-sig", errors="replace")  # StreamReader: BOM detection, UTF-8
    lines = re.split(r"\r?\n", text)
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
