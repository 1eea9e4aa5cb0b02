"""ansible.windows.win_service_info: the services matching ``name`` (exact, else wildcard on name/display name).

Failure actions, triggers and privileges are not part of the host model: they are returned empty/default.
"""

from __future__ import annotations

from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows import _services


@twin("ansible.windows.win_service_info")
def win_service_info(m: ModuleRun) -> None:
    name = m.params["name"]
    m.result["exists"] = False
    # ``Get-Service | Where Name -eq $null`` finds nothing, then ``Get-Service -Name $null`` lists every service.
    services = _services.matching(m.host, name)
    m.result["services"] = [describe(m.host, s) for s in services]
    m.result["exists"] = bool(services)


def describe(host: Any, service: Any) -> dict[str, Any]:
    running = service.state in ("running", "paused")
    return {
        "checkpoint": 0,
        "controls_accepted": _services.controls_accepted(service),
        "dependencies": list(service.dependencies),
        "dependency_of": _services.depended_by(host, service),
        "description": service.description or None,
        "desktop_interact": False,
        "display_name": service.display_name,
        "error_control": "normal",
        "failure_actions": [],
        "failure_actions_on_non_crash_failure": False,
        "failure_command": None,
        "failure_reboot_msg": None,
        "failure_reset_period_sec": 0,
        "launch_protection": "none",
        "load_order_group": "",
        "name": service.name,
        "path": service.path,
        "pre_shutdown_timeout_ms": 180000,
        "preferred_node": None,
        "process_id": _pid(service) if running else 0,
        "required_privileges": [],
        "service_exit_code": 0,
        "service_flags": [],
        "service_type": service.service_type,
        "sid_info": "none",
        "start_mode": service.start_mode,
        "state": _services.STATE_NAMES.get(service.state, service.state),
        "triggers": [],
        "username": service.account,
        "wait_hint_ms": 0,
        "win32_exit_code": 0 if running else service.exit_code,
    }


def _pid(service: Any) -> int:
    """A stable stand-in process id for a running service."""
    return 1000 + sum(ord(c) for c in service.name.lower()) * 4 % 60000
