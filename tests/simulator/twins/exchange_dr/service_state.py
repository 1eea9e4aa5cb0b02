"""exchange_dr.recovery.service_state: the Windows half, as plugins/modules/service_state.ps1 does it.

What the .ps1 does, step by step, through the Host API:
- reads the first Exchange Setup key of v15, v14, 2007 (MsiProductMajor/Minor, MsiBuildMajor/Minor, MsiInstallPath) and the
  `*Role` keys next to it (UnpackedVersion, ConfiguredVersion, Action, Watermark), values only;
- enumerates the services once (ServiceController.GetServices + one Win32_Service query): exists, start mode (delayed when
  DelayedAutoStart), state, dependencies, exit code; lookups by service name only (as the .ps1's hashtable);
- with state=started and not in check mode: the requested services with start=true that are Automatic (or delayed) and
  Stopped are started (StartPending ones are only waited for: action `waited`), dependencies first (depth-first over
  ServicesDependedOn); each ServiceController.Start() is followed by WaitForStatus(Running, time left of `timeout`).
  StartService itself blocks for the SCM's 30 s connect timeout before it fails with 1053 (host_services.SCM_TIMEOUT_S);
  other errors (1058 disabled, 1068 dependency failed) return at once here;
- after starting, waits `settle_seconds` and reads the started services again; one that is no longer Running is
  `stopped_again` with its exit code (the host's service_stops_after_start fault: event 7034, exit code 1067).
Simulated time (host.clock) stands in for the waits.
"""

from __future__ import annotations

from typing import Any

from simulator.host_services import SCM_TIMEOUT_S
from simulator.twins import ModuleRun, twin
from simulator.winerror import ERROR_SERVICE_REQUEST_TIMEOUT, WinError

SETUP_LOCATIONS = (
    (r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup", r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15"),
    (r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\Setup", r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14"),
    (r"HKLM:\SOFTWARE\Microsoft\Exchange\Setup", r"HKLM:\SOFTWARE\Microsoft\Exchange\v8.0"),
)
# WaitForStatus polls every 250 ms; a coarser step changes nothing observable and keeps long waits cheap in real time.
_POLL_S = 1.0


@twin("exchange_dr.recovery.service_state")
def service_state(m: ModuleRun) -> None:
    p = m.params
    m.result["changed"] = False
    m.result["services"] = []
    m.result["started"] = []
    m.result["exchange"] = {"installed": False, "setup_key": None, "build": None, "install_path": None, "role_keys": []}

    info = _setup_info(m.host)
    if info:
        m.result["exchange"] = info

    requested = [r for r in p["services"] or [] if r]
    services = {s.name.casefold(): s for s in m.host.services()}
    entries: dict[str, dict[str, Any]] = {}
    to_start: list[str] = []
    for req in requested:
        svc = services.get(req["name"].casefold())
        if svc is None:
            entries[req["name"].casefold()] = _missing(req["name"])
            continue
        state = svc.state
        entries[svc.name.casefold()] = {
            "name": svc.name,
            "display_name": svc.display_name,
            "exists": True,
            "start_mode": svc.start_mode,
            "state": state,
            "state_before": state,
            "dependencies": list(svc.dependencies),
            "win32_exit_code": svc.exit_code,
            "action": "none",
            "start_error": None,
            "start_error_code": None,
            "stopped_again": False,
        }
        startable = state == "stopped" or (state == "start_pending" and not m.check_mode)
        if p["state"] == "started" and req["start"] and svc.start_mode in ("auto", "delayed") and startable and svc.name not in to_start:
            to_start.append(svc.name)

    order = _start_order(to_start, services)
    if order and m.check_mode:
        for name in order:
            entries[name.casefold()]["action"] = "would_start"
        m.result["started"] = order
        m.result["changed"] = True
    elif order:
        clock = m.host.clock
        deadline = clock.time() + p["timeout"]
        started: list[str] = []
        for name in order:
            entry = entries[name.casefold()]
            try:
                current = m.host.service(name)
                crashes = current.crash_count if current else 0
                if current is not None and current.state == "stopped":
                    m.host.start_service(name, wait=False)
                    entry["action"] = "started"
                else:
                    entry["action"] = "waited"  # StartPending already: only WaitForStatus
                if not _wait_running(m.host, name, deadline, crashes):
                    raise TimeoutError
                if entry["action"] == "started":
                    started.append(name)
            except TimeoutError:
                entry["action"] = "start_failed"
                entry["start_error"] = f"did not reach Running within {p['timeout']} seconds"
            except WinError as e:
                if e.code == ERROR_SERVICE_REQUEST_TIMEOUT:
                    clock.sleep(SCM_TIMEOUT_S)  # StartService returns 1053 only after the SCM's connect timeout
                entry["action"] = "start_failed"
                entry["start_error"] = e.message
                entry["start_error_code"] = e.code
            entry["state"] = _state(m.host, name)
        if started and p["settle_seconds"] > 0:
            clock.sleep(p["settle_seconds"])
            for name in started:
                now = m.host.service(name)
                entries[name.casefold()]["state"] = now.state if now else "stopped"
                if now is None or now.state != "running":
                    entries[name.casefold()]["stopped_again"] = True
                    entries[name.casefold()]["win32_exit_code"] = now.exit_code if now else None
        m.result["started"] = started
        m.result["changed"] = bool(started)

    m.result["services"] = list(entries.values())


def _setup_info(host: Any) -> dict[str, Any] | None:
    for setup, roles in SETUP_LOCATIONS:
        key = host.reg_get_key(setup)
        if key is None:
            continue
        parts = [_value(key, n) for n in ("MsiProductMajor", "MsiProductMinor", "MsiBuildMajor", "MsiBuildMinor")]
        build = ".".join(str(x) for x in parts) if all(x is not None for x in parts) else None
        role_keys = []
        parent = host.reg_get_key(roles)
        for sub in parent.subkeys if parent else ():
            if not sub.lower().endswith("role"):
                continue
            rk = host.reg_get_key(rf"{roles}\{sub}")
            role_keys.append(
                {
                    "name": sub,
                    "unpacked_version": _value(rk, "UnpackedVersion"),
                    "configured_version": _value(rk, "ConfiguredVersion"),
                    "action": _value(rk, "Action"),
                    "watermark": _value(rk, "Watermark"),
                }
            )
        return {"installed": True, "setup_key": setup, "build": build, "install_path": _value(key, "MsiInstallPath"), "role_keys": role_keys}
    return None


def _value(key: Any, name: str) -> Any:
    value = key.value(name) if key is not None else None
    return value.data if value is not None else None


def _missing(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "display_name": None,
        "exists": False,
        "start_mode": None,
        "state": None,
        "state_before": None,
        "dependencies": [],
        "win32_exit_code": None,
        "action": "none",
        "start_error": None,
        "start_error_code": None,
        "stopped_again": False,
    }


def _start_order(names: list[str], services: dict[str, Any]) -> list[str]:
    """Depth-first over the dependencies, restricted to the services being started (as Get-ExDrStartOrder)."""
    wanted = {n.casefold() for n in names}
    done: set[str] = set()
    order: list[str] = []

    def visit(name: str) -> None:
        key = name.casefold()
        if key in done:
            return
        done.add(key)
        svc = services.get(key)
        for dep in svc.dependencies if svc else ():
            if dep.casefold() in wanted:
                visit(services[dep.casefold()].name)
        order.append(name)

    for name in names:
        visit(name)
    return order


def _wait_running(host: Any, name: str, deadline: float, crashes: int) -> bool:
    """ServiceController.WaitForStatus(Running, deadline - now).

    Simulated time runs fast while a transition is pending, so a service that runs for a few seconds and then terminates
    (service_stops_after_start) can pass from Running to Stopped between two reads; a crash counted after the start means
    it was Running, which WaitForStatus (polling every 250 ms) would have seen.
    """
    while True:
        svc = host.service(name)
        if svc is not None and (svc.state == "running" or svc.crash_count > crashes):
            return True
        remaining = deadline - host.clock.time()
        if remaining <= 0:
            return False
        host.clock.sleep(min(_POLL_S, remaining))


def _state(host: Any, name: str) -> str | None:
    svc = host.service(name)
    return svc.state if svc else None
