"""exchange_dr.recovery.service_state: the Windows half, as plugins/modules/service_state.ps1 does it.

What the .ps1 does, step by step, through the Host API:
- reads the Exchange Setup registry key with the shared module_util (Get-ExDrSetupRegistry; here _exchange_state.setup_registry);
- enumerates the services once (ServiceController.GetServices + one Win32_Service query whose WQL filter is built and parsed
  as on Windows): exists, start mode (delayed from Win32_Service.DelayedAutoStart, or on 2012 R2 the service key's
  DelayedAutostart value), state (one name for both spellings), dependencies, exit code; lookups by service name only;
- with state=started and not in check mode: the requested services with start=true that are Automatic (or delayed) and
  Stopped are started (StartPending ones are only waited for: action `waited`), dependencies first (depth-first over
  ServicesDependedOn); each ServiceController.Start() is followed by WaitForStatus(Running, time left of `timeout`).
  StartService itself blocks for the SCM's 30 s connect timeout before it fails with 1053 (host_services.SCM_TIMEOUT_S);
  other errors (1058 disabled, 1068 dependency failed) return at once here. A failed Start() reaches the catch block as
  PowerShell wraps it (MethodInvocationException > InvalidOperationException > Win32Exception): start_error_code is the
  Win32Exception's code, found by walking the chain as the .ps1 does;
- after starting, waits `settle_seconds` and reads the started services again; one that is no longer Running is
  `stopped_again` with its exit code (the host's service_stops_after_start fault: event 7034, exit code 1067).
Simulated time (host.clock) stands in for the waits.
"""

from __future__ import annotations

from typing import Any

from simulator.host_services import SCM_TIMEOUT_S
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_state import setup_registry
from simulator.twins.exchange_dr._windows import controller_status, inner_exception, service_start_exception, service_start_mode, wql_string
from simulator.twins.exchange_dr._windows import service_state as state_name
from simulator.winerror import ERROR_SERVICE_REQUEST_TIMEOUT, WinError
from simulator.wmi import query_win32_service

# WaitForStatus polls every 250 ms; a coarser step changes nothing observable and keeps long waits cheap in real time.
_POLL_S = 1.0


@twin("exchange_dr.recovery.service_state")
def service_state(m: ModuleRun) -> None:
    p = m.params
    m.result["changed"] = False
    m.result["services"] = []
    m.result["started"] = []
    m.result["exchange"] = {"installed": False, "setup_key": None, "build": None, "install_path": None, "role_keys": []}

    m.result["exchange"] = setup_registry(m.host)

    requested = [r for r in p["services"] or [] if r]
    services = {s.name.casefold(): s for s in m.host.services()}
    cim: dict[str, dict[str, Any]] = {}
    if requested:
        wql = " OR ".join(f"Name={wql_string(r['name'])}" for r in requested)
        try:
            cim = {i["Name"].casefold(): i for i in query_win32_service(m.host, wql)}
        except WinError as e:
            m.fail_json(f"Failed to read the services: {e}")
    entries: dict[str, dict[str, Any]] = {}
    to_start: list[str] = []
    for req in requested:
        svc = services.get(req["name"].casefold())
        if svc is None:
            entries[req["name"].casefold()] = _missing(req["name"])
            continue
        state = state_name(controller_status(svc.state))
        instance = cim.get(svc.name.casefold())
        mode = service_start_mode(m.host, instance) if instance else _controller_start_type(svc.start_mode)
        entries[svc.name.casefold()] = {
            "name": svc.name,
            "display_name": svc.display_name,
            "exists": True,
            "start_mode": mode,
            "state": state,
            "state_before": state,
            "dependencies": list(svc.dependencies),
            "win32_exit_code": instance["ExitCode"] if instance else None,
            "action": "none",
            "start_error": None,
            "start_error_code": None,
            "stopped_again": False,
        }
        startable = state == "stopped" or (state == "start_pending" and not m.check_mode)
        if p["state"] == "started" and req["start"] and mode in ("auto", "delayed") and startable and svc.name not in to_start:
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
                caught = service_start_exception(name, e)  # $_.Exception in the .ps1's catch block
                entry["action"] = "start_failed"
                win32 = inner_exception(caught, "System.ComponentModel.Win32Exception")
                if win32 is not None:
                    entry["start_error"] = win32.message
                    entry["start_error_code"] = win32.native_error_code
                else:
                    entry["start_error"] = caught.message
            entry["state"] = _state(m.host, name)
        if started and p["settle_seconds"] > 0:
            clock.sleep(p["settle_seconds"])
            for name in started:
                now = m.host.service(name)
                entries[name.casefold()]["state"] = state_name(controller_status(now.state)) if now else "stopped"
                if now is None or now.state != "running":
                    entries[name.casefold()]["stopped_again"] = True
                    instances = query_win32_service(m.host, f"Name={wql_string(name)}")
                    if instances:
                        entries[name.casefold()]["win32_exit_code"] = instances[0]["ExitCode"]
        m.result["started"] = started
        m.result["changed"] = bool(started)

    m.result["services"] = list(entries.values())


def _controller_start_type(mode: str) -> str:
    """ServiceController.StartType when no Win32_Service instance was read: Automatic (also for delayed) -> auto."""
    return "auto" if mode == "delayed" else mode


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
    return state_name(controller_status(svc.state)) if svc else None
