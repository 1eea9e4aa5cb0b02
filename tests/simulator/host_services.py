"""Services of a simulated host, modelled on the Service Control Manager.

Lookups take the service name or display name, case-insensitively (as Get-Service does). Errors are the SCM's Win32 codes;
SCM events go to the System log with source "Service Control Manager": 7036 (entered the running/stopped state), 7000
(failed to start), 7001 (dependency failed), 7009 (30000 ms connect timeout), 7034 (terminated unexpectedly), 7040
(start type changed), 7045 (service installed). Message texts are Windows' (en-US).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from simulator.hoststate import START_MODES, Service
from simulator.winerror import (
    ERROR_DEPENDENT_SERVICES_RUNNING,
    ERROR_SERVICE_ALREADY_RUNNING,
    ERROR_SERVICE_DEPENDENCY_FAIL,
    ERROR_SERVICE_DISABLED,
    ERROR_SERVICE_DOES_NOT_EXIST,
    ERROR_SERVICE_EXISTS,
    ERROR_SERVICE_NOT_ACTIVE,
    ERROR_SERVICE_REQUEST_TIMEOUT,
    WinError,
    message,
)

if TYPE_CHECKING:
    from simulator.host import Host

SCM = "Service Control Manager"
SCM_TIMEOUT_S = 30.0  # ServicesPipeTimeout default: 30000 ms
DELAYED_AUTOSTART_S = 120.0  # delayed-auto services start about two minutes after the automatic ones
_START_TYPE_TEXT = {"auto": "auto start", "delayed": "auto start", "manual": "demand start", "disabled": "disabled"}


class ServicesMixin:
    """Service operations of Host."""

    # -- lookups ---------------------------------------------------------------------------------------------------------
    def _svc(self: Host, name: str) -> Service:
        want = name.casefold()
        svc = self.state.services.get(want)
        if svc is None:
            svc = next((s for s in self.state.services.values() if s.display_name.casefold() == want), None)
        if svc is None:
            raise WinError(ERROR_SERVICE_DOES_NOT_EXIST, f"{message(ERROR_SERVICE_DOES_NOT_EXIST)} ({name})")
        return svc

    def service(self: Host, name: str) -> Service | None:
        """A copy of the service's current state, by name or display name; None if it does not exist."""
        with self.lock:
            self.tick()
            try:
                return replace(self._svc(name), dependencies=list(self._svc(name).dependencies))
            except WinError:
                return None

    def services(self: Host, *, include_drivers: bool = False) -> list[Service]:
        """Win32 services, as Get-Service and ServiceController.GetServices() enumerate them; drivers (such as HTTP) only
        with `include_drivers` (GetDevices()). A driver is still found by name through service()."""
        with self.lock:
            self.tick()
            return [
                replace(s, dependencies=list(s.dependencies)) for s in self.state.services.values() if include_drivers or not s.service_type.endswith("driver")
            ]

    def dependents(self: Host, name: str) -> list[str]:
        """Services that depend on `name` (directly)."""
        with self.lock:
            target = self._svc(name).name.casefold()
            return [s.name for s in self.state.services.values() if target in (d.casefold() for d in s.dependencies)]

    # -- configuration ---------------------------------------------------------------------------------------------------
    def create_service(
        self: Host,
        name: str,
        display_name: str | None = None,
        path: str = "",
        start_mode: str = "manual",
        *,
        account: str = "LocalSystem",
        dependencies: Iterable[str] = (),
        start_seconds: float = 0.0,
        description: str = "",
        state: str = "stopped",
        log_event: bool = True,
        service_type: str = "win32_own_process",
    ) -> Service:
        _check_start_mode(start_mode)
        with self.lock, self.mutating():
            if name.casefold() in self.state.services:
                raise WinError(ERROR_SERVICE_EXISTS)
            svc = Service(
                name=name,
                display_name=display_name or name,
                path=path,
                start_mode=start_mode,
                state=state,
                account=account,
                dependencies=list(dependencies),
                start_seconds=float(start_seconds),
                description=description,
                service_type=service_type,
            )
            self.state.services[name.casefold()] = svc
            if not log_event:
                return replace(svc)
            self.write_event(
                "System",
                SCM,
                7045,
                "Information",
                f"A service was installed in the system.\r\n\r\nService Name:  {svc.display_name}\r\nService File Name:  {path}\r\n"
                f"Service Type:  user mode service\r\nService Start Type:  {_START_TYPE_TEXT[start_mode]}\r\nService Account:  {account}",
            )
            return replace(svc)

    def set_service(self: Host, name: str, **changes: Any) -> bool:
        """Change display_name, path, start_mode, account, dependencies, description or start_seconds; True if changed."""
        allowed = {"display_name", "path", "start_mode", "account", "password", "dependencies", "description", "start_seconds", "can_pause"}
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"set_service: unknown fields {sorted(unknown)}")
        if "start_mode" in changes:
            _check_start_mode(changes["start_mode"])
        with self.lock, self.mutating():
            svc = self._svc(name)
            changed = False
            for field, value in changes.items():
                if getattr(svc, field) == value:
                    continue
                if field == "start_mode" and _START_TYPE_TEXT[svc.start_mode] != _START_TYPE_TEXT[value]:
                    self.write_event(
                        "System",
                        SCM,
                        7040,
                        "Information",
                        f"The start type of the {svc.display_name} service was changed from {_START_TYPE_TEXT[svc.start_mode]} to {_START_TYPE_TEXT[value]}.",
                    )
                setattr(svc, field, list(value) if field == "dependencies" else value)
                changed = True
            return changed

    def delete_service(self: Host, name: str) -> None:
        with self.lock, self.mutating():
            svc = self._svc(name)
            del self.state.services[svc.name.casefold()]
            self.state.timers = [t for t in self.state.timers if t.args.get("service") != svc.name]

    # -- control ---------------------------------------------------------------------------------------------------------
    def start_service(self: Host, name: str, wait: bool = True) -> None:
        """StartService: dependencies first; 1058 if disabled, 1056 if already running, 1053 (after the SCM's 30 s
        timeout) when a fault keeps it from starting. With `wait` (Start-Service), returns once it is RUNNING."""
        with self.lock, self.mutating():
            self.tick()
            svc = self._svc(name)
            if svc.state == "running":
                raise WinError(ERROR_SERVICE_ALREADY_RUNNING)
            now = self.clock.time()
            if svc.state != "start_pending":
                ready_at = self._begin_start(svc, now, set())
            else:
                ready_at = min((t.at for t in self.state.timers if t.kind == "service_ready" and t.args["service"] == svc.name), default=now)
        if isinstance(ready_at, WinError):
            if wait:
                self.clock.sleep(SCM_TIMEOUT_S)
            raise ready_at
        if wait and ready_at > self.clock.time():
            self.clock.sleep_until(ready_at)
            with self.lock, self.mutating():
                self.tick()

    def stop_service(self: Host, name: str, force: bool = False) -> list[str]:
        """ControlService(STOP): 1062 if not running; 1051 if running services depend on it, unless `force` (Stop-Service
        -Force), which stops those first. Returns the services stopped, dependents first."""
        with self.lock, self.mutating():
            self.tick()
            svc = self._svc(name)
            if svc.state == "stopped":
                raise WinError(ERROR_SERVICE_NOT_ACTIVE)
            running_dependents = [d for d in self.dependents(svc.name) if self._svc(d).state in ("running", "start_pending")]
            if running_dependents and not force:
                raise WinError(ERROR_DEPENDENT_SERVICES_RUNNING)
            stopped: list[str] = []
            for dep in running_dependents:
                stopped += self.stop_service(dep, force=True)
            self._set_stopped(svc, self.clock.time())
            return [*stopped, svc.name]

    def pause_service(self: Host, name: str) -> None:
        """ControlService(PAUSE): only services that accept it (can_pause); 1052 otherwise, 1062 if not running."""
        with self.lock, self.mutating():
            self.tick()
            svc = self._svc(name)
            if svc.state not in ("running", "paused"):
                raise WinError(ERROR_SERVICE_NOT_ACTIVE)
            if not svc.can_pause:
                raise WinError(1052, "The requested control is not valid for this service.")
            if svc.state == "running":
                svc.state = "paused"
                self.write_event("System", SCM, 7036, "Information", f"The {svc.display_name} service entered the paused state.")

    def resume_service(self: Host, name: str) -> None:
        """ControlService(CONTINUE)."""
        with self.lock, self.mutating():
            self.tick()
            svc = self._svc(name)
            if svc.state != "paused":
                raise WinError(
                    ERROR_SERVICE_NOT_ACTIVE if svc.state == "stopped" else 1052,
                    None if svc.state == "stopped" else "The requested control is not valid for this service.",
                )
            svc.state = "running"
            self.write_event("System", SCM, 7036, "Information", f"The {svc.display_name} service entered the running state.")

    def restart_service(self: Host, name: str, force: bool = False, wait: bool = True) -> None:
        svc = self.service(name)
        if svc is None:
            raise WinError(ERROR_SERVICE_DOES_NOT_EXIST)
        if svc.state != "stopped":
            self.stop_service(name, force=force)
        self.start_service(name, wait=wait)

    # -- internals (caller holds the lock) -------------------------------------------------------------------------------
    def _begin_start(self: Host, svc: Service, at: float, seen: set[str]) -> float | WinError:
        """Start `svc` (and its stopped dependencies) at simulated time `at`. Returns when it will be RUNNING, or the
        WinError StartService reports; SCM events are logged either way."""
        if svc.start_mode == "disabled":
            return WinError(ERROR_SERVICE_DISABLED)
        seen.add(svc.name.casefold())
        ready = at
        for dep_name in svc.dependencies:
            dep_error = self._start_dependency(svc, dep_name, at, seen)
            if isinstance(dep_error, WinError):
                return dep_error
            ready = max(ready, dep_error)
        if self.fault("service_wont_start", target=svc.name):
            timeout_at = ready + SCM_TIMEOUT_S
            self.write_event(
                "System",
                SCM,
                7009,
                "Error",
                f"A timeout was reached ({int(SCM_TIMEOUT_S * 1000)} milliseconds) while waiting for the {svc.display_name} service to connect.",
                time=timeout_at,
            )
            self.write_event("System", SCM, 7000, "Error", _failed_text(svc, ERROR_SERVICE_REQUEST_TIMEOUT), time=timeout_at)
            return WinError(ERROR_SERVICE_REQUEST_TIMEOUT)
        ready += svc.start_seconds
        if ready > at:
            svc.state = "start_pending"
            self.add_timer(ready, "service_ready", service=svc.name)
        else:
            self._set_running(svc, at)
        return ready

    def _start_dependency(self: Host, svc: Service, dep_name: str, at: float, seen: set[str]) -> float | WinError:
        try:
            dep = self._svc(dep_name)
        except WinError:
            err = WinError(1075, "The dependency service does not exist or has been marked for deletion.")
            self._log_dependency_failure(svc, dep_name, err)
            return err
        if dep.state == "running" or dep.name.casefold() in seen:
            return at
        if dep.state == "start_pending":
            return min((t.at for t in self.state.timers if t.kind == "service_ready" and t.args["service"] == dep.name), default=at)
        result = self._begin_start(dep, at, seen)
        if isinstance(result, WinError):
            self._log_dependency_failure(svc, dep.display_name, result)
            return WinError(ERROR_SERVICE_DEPENDENCY_FAIL)
        return result

    def _log_dependency_failure(self: Host, svc: Service, dep_display: str, err: WinError) -> None:
        self.write_event(
            "System",
            SCM,
            7001,
            "Error",
            f"The {svc.display_name} service depends on the {dep_display} service which failed to start because of the following error: \r\n{err.message}",
        )

    def _set_running(self: Host, svc: Service, at: float) -> None:
        svc.state = "running"
        svc.exit_code = 0
        self.write_event("System", SCM, 7036, "Information", f"The {svc.display_name} service entered the running state.", time=at)
        fault = self.fault("service_stops_after_start", target=svc.name)
        if fault:
            self.add_timer(at + float(fault.params.get("seconds", 5)), "service_crash", service=svc.name)
        self._service_entry(svc, at, {"phase": "started"})

    def _service_entry(self: Host, svc: Service, at: float, args: dict[str, Any]) -> None:
        """A service whose image is a simulated program with a service entry (programs.SERVICE_ENTRIES) runs that entry
        when it reaches RUNNING (phase "started") and for the `service_entry` timers the entry schedules (they are dropped
        when the service stops). Services with any other image behave as before."""
        from simulator.programs import run_service_entry  # programs sit above the host layer

        run_service_entry(self, svc.name, svc.path, at, args)

    def _timer_service_entry(self: Host, at: float, args: dict[str, Any]) -> None:
        svc = self.state.services.get(args["service"].casefold())
        if svc is not None and svc.state == "running":
            self._service_entry(svc, at, args)

    def _set_stopped(self: Host, svc: Service, at: float, log: bool = True) -> None:
        svc.state = "stopped"
        self.state.timers = [t for t in self.state.timers if t.args.get("service") != svc.name]
        if log:
            self.write_event("System", SCM, 7036, "Information", f"The {svc.display_name} service entered the stopped state.", time=at)

    def _timer_service_ready(self: Host, at: float, args: dict[str, Any]) -> None:
        svc = self.state.services.get(args["service"].casefold())
        if svc is not None and svc.state == "start_pending":
            self._set_running(svc, at)

    def _timer_service_crash(self: Host, at: float, args: dict[str, Any]) -> None:
        svc = self.state.services.get(args["service"].casefold())
        if svc is None or svc.state != "running":
            return
        svc.crash_count += 1
        svc.exit_code = 1067  # ERROR_PROCESS_ABORTED
        self.write_event(
            "System",
            SCM,
            7034,
            "Error",
            f"The {svc.display_name} service terminated unexpectedly.  It has done this {svc.crash_count} time(s).",
            time=at,
        )
        svc.state = "stopped"

    def _start_automatic(self: Host, at: float, modes: tuple[str, ...] = ("auto",)) -> None:
        """What the SCM does at boot: start every Automatic service (dependencies first); failures are only logged."""
        for svc in list(self.state.services.values()):
            if svc.start_mode in modes and svc.state == "stopped":
                self._begin_start(svc, at, set())

    def _timer_delayed_autostart(self: Host, at: float, args: dict[str, Any]) -> None:
        self._start_automatic(at, ("delayed",))


def _check_start_mode(mode: str) -> None:
    if mode not in START_MODES:
        raise ValueError(f"start_mode must be one of {', '.join(START_MODES)}, not {mode!r}")


def _failed_text(svc: Service, code: int) -> str:
    return f"The {svc.display_name} service failed to start due to the following error: \r\n{message(code)}"
