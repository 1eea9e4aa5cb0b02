"""What plugins/module_utils/_Windows.psm1 does, done the same way on a simulated Host; every function mirrors one of it.

The twins of the collection's modules use these, so a twin sees Windows through the same reads the .ps1 makes: the
Win32_Service instance of the host's Windows version (simulator/wmi.py), the service's registry key, WQL literals WMI parses,
and exceptions wrapped as PowerShell wraps them (DotNetException).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import SERVICE_STATE_NAMES
from simulator.winerror import WinError


def wql_string(value: str) -> str:
    """ConvertTo-ExDrWqlString: a WQL literal, backslash and quote escaped with a backslash."""
    return "'{}'".format(value.replace("\\", "\\\\").replace("'", "\\'"))


def ldap_filter_value(value: str) -> str:
    """ConvertTo-ExDrLdapFilterValue: the RFC 4515 escapes."""
    return value.replace("\\", r"\5c").replace("*", r"\2a").replace("(", r"\28").replace(")", r"\29").replace("\0", r"\00")


def service_state(state: Any) -> str:
    """ConvertTo-ExDrServiceState: Win32_Service.State or a ServiceControllerStatus name -> the collection's name."""
    return SERVICE_STATE_NAMES.get(str(state or "").replace(" ", ""), "unknown")


# ServiceControllerStatus names (what $sc.Status and Get-Service's Status say) of the host's service states
_CONTROLLER_STATUS = {
    "stopped": "Stopped",
    "start_pending": "StartPending",
    "stop_pending": "StopPending",
    "running": "Running",
    "continue_pending": "ContinuePending",
    "pause_pending": "PausePending",
    "paused": "Paused",
}


def controller_status(state: str) -> str:
    """ServiceController.Status of a host service state, as the .ps1 reads it before naming it."""
    return _CONTROLLER_STATUS.get(state, state)


def service_start_mode(host: Any, instance: dict[str, Any]) -> str:
    """Get-ExDrServiceStartMode: StartMode in lower case, 'delayed' from Win32_Service.DelayedAutoStart where the instance
    has it (Server 2016 on), else from the service key's DelayedAutostart value."""
    mode = str(instance.get("StartMode") or "").lower()
    if mode != "auto":
        return mode
    delayed = instance.get("DelayedAutoStart")
    if delayed is None:
        value = host.reg_get_value(rf"HKLM:\SYSTEM\CurrentControlSet\Services\{instance.get('Name')}", "DelayedAutostart")
        delayed = value is not None and value.data == 1
    return "delayed" if delayed else "auto"


@dataclass
class DotNetException:
    """A .NET exception as PowerShell hands it to a catch block ($_.Exception): type, message, InnerException."""

    type: str
    message: str
    inner: DotNetException | None = None
    native_error_code: int | None = None  # Win32Exception.NativeErrorCode

    def is_a(self, type_name: str) -> bool:
        return self.type == type_name


def method_invocation(method: str, argc: int, inner: DotNetException) -> DotNetException:
    """What PowerShell throws when a .NET method it calls throws (MicrosoftDocs/PowerShell-Docs about_Booleans shows the
    form): a MethodInvocationException whose InnerException is the method's exception."""
    return DotNetException(
        "System.Management.Automation.MethodInvocationException",
        f'Exception calling "{method}" with "{argc}" argument(s): "{inner.message}"',
        inner,
    )


def service_start_exception(service: str, error: WinError) -> DotNetException:
    """`$sc.Start()` failing in the SCM: ServiceController.Start throws InvalidOperationException("Cannot start service X on
    computer '.'.") with the Win32Exception as its InnerException (microsoft/referencesource System.ServiceProcess/
    ServiceController.cs), and PowerShell wraps that in a MethodInvocationException."""
    win32 = DotNetException("System.ComponentModel.Win32Exception", error.message, native_error_code=error.code)
    invalid = DotNetException("System.InvalidOperationException", f"Cannot start service {service} on computer '.'.", win32)
    return method_invocation("Start", 0, invalid)


def inner_exception(exception: DotNetException | None, type_name: str) -> DotNetException | None:
    """Get-ExDrInnerException: the first exception of the type in the InnerException chain (itself included), or None."""
    current = exception
    while current is not None:
        if current.is_a(type_name):
            return current
        current = current.inner
    return None
