"""ansible.windows.win_service: create, configure, start/stop/restart/pause and remove a service, with diff.

Modelled options: name, path, display_name, description, start_mode, state, username/password/update_password,
dependencies/dependency_action, force_dependent_services. The host has no model of failure actions, error control,
load order groups, privileges, SID info, service types or desktop interaction: setting one of those fails with a
"not modelled" message rather than pretending it was applied.
"""

from __future__ import annotations

from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins._validate import UnhandledError
from simulator.twins.ansible_windows import _services
from simulator.winerror import WinError

_NOT_MODELLED = (
    "error_control",
    "failure_actions",
    "failure_actions_on_non_crash_failure",
    "failure_command",
    "failure_reboot_msg",
    "failure_reset_period_sec",
    "load_order_group",
    "pre_shutdown_timeout_ms",
    "required_privileges",
    "service_type",
    "sid_info",
)
_START_MODES = ("auto", "delayed", "disabled", "manual")


@twin(
    "ansible.windows.win_service",
    # The .ps1 types these as a uint32 delegate; the documentation says raw.
    options={"failure_actions": {"options": {"delay_ms": {"type": "int"}}}},
    required_by={"password": ["username"]},
)
def win_service(m: ModuleRun) -> None:
    p = m.params
    unsupported = [name for name in _NOT_MODELLED if p[name] is not None] + (["desktop_interact"] if p["desktop_interact"] else [])
    if unsupported:
        m.fail_json(f"simulator: win_service option(s) {', '.join(unsupported)} are not modelled")
    m.result["exists"] = False
    path = m.expand_env(p["path"]) if p["path"] is not None else None
    state = (p["state"] or "").lower() or None
    service = _services.find(m.host, p["name"])
    m.diff["before"] = _diff(m.host, service)

    if state == "absent":
        if service:
            _stop(m, service, p["force_dependent_services"])
            if not m.check_mode:
                m.host.delete_service(service.name)
            m.result["changed"] = True
        m.diff["after"] = ""
    elif _detect_changes(p, service, path, state):
        update_password = (p["update_password"] or "").lower() == "always"
        if service is None:
            update_password = True
            if path is None:
                m.fail_json(f"Service '{p['name']}' is not installed, need to set 'path' to create a new service")
            if not m.check_mode:
                # New-Service: display name = name, StartupType Automatic, LocalSystem
                m.host.create_service(p["name"], p["name"], path, "auto")
                service = m.host.service(p["name"])
            m.result["changed"] = True
        m.diff["after"] = {"name": service.name if service else p["name"]}
        _configure(m, service, path, update_password)
        _set_state(m, service, state)
    else:
        m.diff["after"] = m.diff["before"]
    _result_from_diff(m, service)


def _detect_changes(p: dict[str, Any], service: Any, path: str | None, state: str | None) -> bool:
    """Without any setting, win_service only reports the existing service."""
    given = ("description", "display_name", "dependencies", "username", "password", "start_mode")
    return service is not None or path is not None or state is not None or any(p[k] is not None for k in given) or p["dependency_action"] != "set"


def _diff(host: Any, service: Any) -> Any:
    if service is None:
        return ""
    return {
        "dependencies": list(service.dependencies),
        "description": service.description or None,
        "desktop_interact": False,
        "display_name": service.display_name,
        "error_control": "normal",
        "failure_actions": [],
        "failure_actions_on_non_crash_failure": False,
        "failure_command": None,
        "failure_reboot_msg": None,
        "failure_reset_period_sec": 0,
        "load_order_group": "",
        "name": service.name,
        "path": service.path,
        "pre_shutdown_timeout_ms": 180000,
        "required_privileges": [],
        "service_type": service.service_type,
        "sid_info": "none",
        "start_mode": service.start_mode,
        "state": _services.STATE_NAMES.get(service.state, service.state),
        "username": service.account,
        "password": "REDACTED",
    }


def _configure(m: ModuleRun, service: Any, path: str | None, update_password: bool) -> None:
    """The Set-Service* steps of win_service.ps1 for the modelled settings, in the module's order."""
    p, after, changes = m.params, m.diff["after"], {}
    if service is not None:
        changes.update(_account(m, service, update_password))
    changes.update(_dependencies(m, service))
    after["description"] = p["description"]
    if service is not None:
        if p["description"] is None:
            after["description"] = service.description or None
        elif (p["description"] or None) != (service.description or None):
            changes["description"] = p["description"]
    after["display_name"] = p["display_name"] or ""
    if service is not None:
        if not p["display_name"]:
            after["display_name"] = service.display_name
        elif p["display_name"] != service.display_name:
            changes["display_name"] = p["display_name"]
    after["path"] = path or ""
    if service is not None:
        if not path:
            after["path"] = service.path
        elif path != service.path:
            changes["path"] = path
    start_mode = (p["start_mode"] or "").lower()
    after["start_mode"] = start_mode
    if service is not None:
        if not start_mode:
            after["start_mode"] = service.start_mode
        elif start_mode in _START_MODES and start_mode != service.start_mode:
            changes["start_mode"] = start_mode
    after["desktop_interact"] = False
    if changes:
        m.result["changed"] = True
        if not m.check_mode:
            m.host.set_service(service.name, **changes)


def _account(m: ModuleRun, service: Any, update_password: bool) -> dict[str, Any]:
    p, after, host = m.params, m.diff["after"], m.host
    after["username"], after["password"] = p["username"] or "", "REDACTED"
    changes: dict[str, Any] = {}
    if not p["username"]:
        after["username"] = service.account
    else:
        _check_account(m, p["username"])
        after["username"] = _services.account_display(host, p["username"])
        if _services.account_key(host, p["username"]) != _services.account_key(host, service.account):
            changes["account"] = "LocalSystem" if _services.is_system(host, p["username"]) else _services.account_display(host, p["username"])
            update_password = True
            m.result["changed"] = True
    if update_password and p["password"]:
        # The password cannot be compared, so it is always "changed"; the host does not keep service passwords (yet).
        after["password"] = "CHANGED REDACTED"
        m.result["changed"] = True
    return changes


def _check_account(m: ModuleRun, username: str) -> None:
    """NTAccount.Translate fails for an account the host cannot resolve."""
    canonical = m.host.canonical_identity(username)
    if canonical.startswith(("NT AUTHORITY\\", "NT SERVICE\\")) or _services.is_system(m.host, username):
        return
    if m.host.account(canonical) is None:
        raise UnhandledError('Exception calling "Translate" with "1" argument(s): "Some or all identity references could not be translated."')


def _dependencies(m: ModuleRun, service: Any) -> dict[str, Any]:
    p, after = m.params, m.diff["after"]
    wanted = p["dependencies"]
    after["dependencies"] = wanted
    if service is None:
        return {}
    existing = list(service.dependencies)
    after["dependencies"] = existing
    if wanted is None:
        return {}
    action = p["dependency_action"].lower()
    has = {d.lower() for d in existing}
    added = [d for d in dict.fromkeys(wanted) if d.lower() not in has] if action in ("add", "set") else []
    if action == "remove":
        removed = [d for d in existing if d.lower() in {w.lower() for w in wanted}]
    elif action == "set":
        removed = [d for d in existing if d.lower() not in {w.lower() for w in wanted}]
    else:
        removed = []
    if not added and not removed:
        return {}
    new = [d for d in existing if d not in removed] + added
    after["dependencies"] = new
    return {"dependencies": new}


def _set_state(m: ModuleRun, service: Any, state: str | None) -> None:
    after = m.diff["after"]
    after["state"] = state or ""
    if service is None:
        return
    current = service.state
    if not state:
        after["state"] = _services.STATE_NAMES.get(current, current)
    elif state == "started" and current != "running":
        if current == "paused":
            if not m.check_mode:
                try:
                    m.host.resume_service(service.name)
                except WinError as e:
                    m.fail_json(f"failed to start service from paused state {service.name}: {e}")
        elif not m.check_mode:
            _start(m, service)
        m.result["changed"] = True
    elif state == "stopped" and current != "stopped":
        _stop(m, service, m.params["force_dependent_services"])
        m.result["changed"] = True
    elif state == "restarted":
        _stop(m, service, m.params["force_dependent_services"])
        if not m.check_mode:
            _start(m, service)
        m.result["changed"] = True
    elif state == "paused" and current != "paused":
        if not (service.can_pause and current in ("running", "paused")):
            m.fail_json(f"failed to pause service {service.name}: The service does not support pausing")
        if not m.check_mode:
            try:
                m.host.pause_service(service.name)
            except WinError as e:
                m.fail_json(f"failed to pause service {service.name}: {e}")
        m.result["changed"] = True


def _start(m: ModuleRun, service: Any) -> None:
    """Start-Service: a service that fails to start is a terminating error the module does not catch."""
    try:
        m.host.start_service(service.name)
    except WinError as e:
        raise UnhandledError(
            f"Service '{service.display_name} ({service.name})' cannot be started due to the following error: "
            f"Cannot start service {service.name} on computer '.'. ({e})"
        ) from None


def _stop(m: ModuleRun, service: Any, force: bool) -> None:
    """Stop-Service (-Force stops running dependents first; without it they make the stop fail)."""
    running_dependents = [s for s in m.host.services() if s.state != "stopped" and any(d.lower() == service.name.lower() for d in s.dependencies)]
    if running_dependents and not force:
        raise UnhandledError(
            f"Cannot stop service '{service.display_name} ({service.name})' because it has dependent services. It can only be stopped if the Force flag is set."
        )
    if m.check_mode or service.state == "stopped":
        return
    m.host.stop_service(service.name, force=force)


def _result_from_diff(m: ModuleRun, service: Any) -> None:
    """win_service.ps1 builds its return values from the after diff (for backwards compatibility)."""
    after = m.diff["after"]
    if not after:
        return
    r = m.result
    r["exists"] = True
    for key in ("dependencies", "description", "desktop_interact", "display_name", "name", "path", "start_mode"):
        r[key] = after.get(key)
    r["username"] = after.get("username")
    if r["username"] and _services.is_system(m.host, r["username"]):
        r["username"] = "LocalSystem"
    state = (after.get("state") or "").replace("_", "")
    r["state"] = "running" if state in ("restarted", "started") else state
    r["can_pause_and_continue"] = None
    r["depended_by"] = []
    if service is not None:
        fresh = m.host.service(service.name) or service
        r["depended_by"] = _services.depended_by(m.host, fresh)
        r["can_pause_and_continue"] = "pause_continue" in _services.controls_accepted(fresh)
