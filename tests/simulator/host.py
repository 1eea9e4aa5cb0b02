"""One simulated Windows host: its state and the operations twins and programs call.

The operations are grouped in mixins (host_files, host_registry, host_services, host_software); this module holds the core:
locking and persistence, lazily applied timers (boot, a slow service reaching RUNNING...), accounts and identities,
environment variables, the event log, reboot and pending-reboot flags, and running programs.

Concurrency: every public method takes `lock` (re-entrant). Mutating methods save state.json atomically when the
outermost mutation ends. Time-dependent transitions are timers in the state, applied in time order by tick(), which
every entry point calls; so a host that was rebooting when the server stopped finishes booting when it is next loaded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator import winfeatures
from simulator.clock import Clock, atomic_write_text
from simulator.host_files import FilesMixin
from simulator.host_registry import RegistryMixin
from simulator.host_services import ServicesMixin
from simulator.host_software import SoftwareMixin
from simulator.hoststate import (
    EVENT_LEVELS,
    AccessRule,
    Account,
    Drive,
    Event,
    Feature,
    FeatureResult,
    FileInfo,
    HostState,
    Product,
    RegKeyInfo,
    RegValue,
    Service,
    Timer,
    utc,
)
from simulator.winerror import ERROR_SHUTDOWN_IN_PROGRESS, WinError

if TYPE_CHECKING:
    from simulator.estate import Estate
    from simulator.faults import Fault, FaultSet
    from simulator.programs import ProcessResult

__all__ = [
    "AccessRule",
    "Account",
    "Drive",
    "Event",
    "Feature",
    "FeatureResult",
    "FileInfo",
    "Host",
    "Product",
    "RegKeyInfo",
    "RegValue",
    "Service",
    "WinError",
]

# Real registry locations Windows and installers use to say a restart is needed.
CBS_REBOOT_PENDING = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending"
WU_REBOOT_REQUIRED = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired"
SESSION_MANAGER = r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager"
ACTIVE_COMPUTER_NAME = r"HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName"
COMPUTER_NAME = r"HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName"
SYSTEM_ENVIRONMENT = r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
# LogonUI creates this when the logon screen is ready; win_reboot deletes it before restarting and waits for it to return.
AUTOLOGON_CHECKED = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"

MAX_EVENTS_PER_LOG = 5000  # logs overwrite their oldest events when full (OverwriteAsNeeded)
EVENT_LOGS = ("Application", "System", "Security", "Setup")

_WELL_KNOWN: dict[str, str] = {}
for _canon, _aliases in {
    "Everyone": ("everyone", "s-1-1-0"),
    "NT AUTHORITY\\SYSTEM": ("system", "localsystem", "local system", "nt authority\\system", "s-1-5-18"),
    "NT AUTHORITY\\LOCAL SERVICE": ("local service", "localservice", "nt authority\\local service", "nt authority\\localservice", "s-1-5-19"),
    "NT AUTHORITY\\NETWORK SERVICE": ("network service", "networkservice", "nt authority\\network service", "nt authority\\networkservice", "s-1-5-20"),
    "NT AUTHORITY\\Authenticated Users": ("authenticated users", "nt authority\\authenticated users", "s-1-5-11"),
    "BUILTIN\\Administrators": ("administrators", "builtin\\administrators", "s-1-5-32-544"),
    "BUILTIN\\Users": ("users", "builtin\\users", "s-1-5-32-545"),
    "CREATOR OWNER": ("creator owner", "s-1-3-0"),
    "NT SERVICE\\TrustedInstaller": ("trustedinstaller", "nt service\\trustedinstaller"),
}.items():
    for _alias in _aliases:
        _WELL_KNOWN[_alias] = _canon


@dataclass(frozen=True)
class ProcessInfo:
    """A running process, as Win32_Process shows it (ProcessId, Name, ExecutablePath, CommandLine, CreationDate)."""

    pid: int
    name: str
    path: str
    command_line: str
    user: str
    started: datetime


@dataclass(frozen=True)
class OpenFile:
    """A file a running process holds open, with the access it asked for and what it lets others do (CreateFile's
    dwDesiredAccess and dwShareMode, as sets of "read"/"write")."""

    pid: int
    path: str  # the resolved real path, case-folded (one key per file)
    access: frozenset[str]
    share: frozenset[str]


def _modes(text: str) -> frozenset[str]:
    """'read', 'write', 'readwrite' or 'none' (FileAccess / FileShare names) as a set."""
    low = text.casefold()
    if low not in ("read", "write", "readwrite", "none"):
        raise ValueError(f"file access or share mode {text!r}: expected read, write, readwrite or none")
    return frozenset(m for m in ("read", "write") if m in low)


@dataclass(frozen=True)
class LogonSession:
    """Who runs the current operation and whether their credentials can travel to another host."""

    user: str
    delegation: bool  # False for a WinRM network logon with NTLM; True with become, CredSSP or Kerberos delegation


_SESSION = threading.local()


class _HostLock:
    """The host's re-entrant lock; the outermost acquisition first applies the transitions that are due (tick), so every
    operation sees the host as it is now (booted, the slow service RUNNING...)."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._rlock = threading.RLock()
        self._depth = 0  # only the owning thread changes it

    def __enter__(self) -> _HostLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> bool:
        self._rlock.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self._host.tick()
            except BaseException:
                self.release()
                raise
        return True

    def release(self) -> None:
        self._depth -= 1
        self._rlock.release()


class Host(FilesMixin, RegistryMixin, ServicesMixin, SoftwareMixin):
    """A simulated Windows host. Build one with estate.Estate (or simulator.testing.make_host in unit tests)."""

    def __init__(
        self,
        state: HostState,
        root: Path,
        *,
        estate: Estate | None = None,
        clock: Clock | None = None,
        faults: FaultSet | None = None,
        reboot_seconds: float = 20.0,
        autosave: bool = True,
    ) -> None:
        self.state = state
        self.root = Path(root)
        self.fs_root = self.root / "fs"
        self.estate = estate
        self.clock = clock or Clock()
        self.faults = faults
        self.reboot_seconds = float(reboot_seconds)
        self.autosave = autosave
        self._depth = 0
        self._dirty = False
        self._ticking = False
        # Processes live in memory only: like on Windows, none survives a shutdown (nor a restart of the simulator).
        self._processes: dict[int, ProcessInfo] = {}
        self._open_files: list[OpenFile] = []
        self._next_pid = 4100
        self.lock = _HostLock(self)
        for timer in state.timers:  # pending transitions keep simulated time running fast after a reload
            self.clock.schedule(timer.at)

    # -- identity --------------------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.state.name

    @property
    def os_version(self) -> str:
        return str(self.state.os.get("version", "10.0.17763"))

    @property
    def os_build(self) -> int:
        return winfeatures.os_build(self.os_version)

    @property
    def server_core(self) -> bool:
        return str(self.state.os.get("installation_type", "Server")).casefold() == "server core"

    @property
    def domain(self) -> Any:
        """The estate's domain when this host is joined to it, else None."""
        if self.state.domain_joined and self.estate is not None:
            return self.estate.domain
        return None

    @property
    def address(self) -> str:
        """The IPv4 address the host listens on (from the estate; 127.0.0.1 when standalone)."""
        if self.estate is not None:
            return self.estate.address_of(self.name)
        return "127.0.0.1"

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain.name}" if self.domain else self.name

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.state.power}>"

    # -- persistence -----------------------------------------------------------------------------------------------------
    @contextmanager
    def mutating(self) -> Iterator[None]:
        """Wrap a change: state.json is written once, when the outermost mutation ends (even if it failed half-way, as
        Windows does not roll back either)."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                self._dirty = True
                if self._depth == 0 and self.autosave:
                    self.save()

    def save(self) -> None:
        """Write state.json atomically (tmp + rename) if anything changed."""
        with self.lock:
            if not self._dirty:
                return
            atomic_write_text(self.root / "state.json", json.dumps(self.state.to_dict(), separators=(",", ":"), sort_keys=True))
            self._dirty = False
            self.clock.save()  # simulated time that passed is part of the state (timestamps must not go backwards)

    @classmethod
    def load(cls, root: Path, **kwargs: Any) -> Host:
        state = HostState.from_dict(json.loads((Path(root) / "state.json").read_text()))
        return cls(state, root, **kwargs)

    # -- timers ----------------------------------------------------------------------------------------------------------
    def add_timer(self, at: float, kind: str, **args: Any) -> None:
        """Schedule a transition at simulated time `at` (the clock runs fast until then)."""
        if not hasattr(self, f"_timer_{kind}"):
            raise ValueError(f"no timer handler for {kind!r}")
        with self.lock:
            self.state.timers.append(Timer(at=at, kind=kind, args=args))
            self._dirty = True
        self.clock.schedule(at)

    def tick(self) -> None:
        """Apply every transition that is due, in time order."""
        with self.lock:
            if self._ticking or not self._due():
                return
            self._ticking = True
            try:
                with self.mutating():  # one save for everything a boot does
                    while due := self._due():
                        timer = min(due, key=lambda t: t.at)
                        self.state.timers.remove(timer)
                        getattr(self, f"_timer_{timer.kind}")(timer.at, timer.args)
            finally:
                self._ticking = False

    def _due(self) -> list[Timer]:
        if not self.state.timers:
            return []
        now = self.clock.time()
        return [t for t in self.state.timers if t.at <= now]

    def fault(self, name: str, target: str | None = None) -> Fault | None:
        """The active fault `name` on this host (for `target` if given), or None."""
        if self.faults is None:
            return None
        return self.faults.get(self.name, name, target)

    # -- accounts and identities -----------------------------------------------------------------------------------------
    def canonical_identity(self, identity: str) -> str:
        """'DOMAIN\\name' form of an account or group: well-known names and SIDs, '.\\x', 'x@fqdn', bare names."""
        raw = identity.strip()
        low = raw.casefold()
        if low in _WELL_KNOWN:
            return _WELL_KNOWN[low]
        dom = self.domain
        if "@" in raw:
            user, _sep, realm = raw.partition("@")
            if dom and realm.casefold() in (dom.name.casefold(), dom.netbios.casefold()):
                return f"{dom.netbios}\\{user}"
            return raw
        if "\\" in raw:
            prefix, _sep, user = raw.partition("\\")
            if prefix in (".", "") or prefix.casefold() == self.name.casefold():
                return f"{self.name}\\{self._local_account_name(user) or user}"
            if dom and prefix.casefold() in (dom.netbios.casefold(), dom.name.casefold()):
                return f"{dom.netbios}\\{user}"
            return raw
        local = self._local_account_name(raw)
        if local:
            return f"{self.name}\\{local}"
        if dom and (dom.user(raw) or dom.group_members(raw) is not None):
            return f"{dom.netbios}\\{raw}"
        return f"{self.name}\\{raw}"

    def _local_account_name(self, user: str) -> str | None:
        acct = self.state.accounts.get(f"{self.name}\\{user}".casefold())
        return acct.user if acct else None

    def account(self, user: str) -> Account | None:
        """The account `user` logs on as (local accounts, then domain accounts when joined)."""
        canon = self.canonical_identity(user).casefold()
        acct = self.state.accounts.get(canon)
        if acct is None and self.domain is not None:
            acct = self.domain.account(canon)
        return acct

    def all_accounts(self) -> list[Account]:
        """Every account that can log on here (for the transport's credential checks)."""
        out = list(self.state.accounts.values())
        if self.domain is not None:
            known = {a.name.casefold() for a in out}
            out += [a for a in self.domain.accounts() if a.name.casefold() not in known]
        return out

    def authenticate(self, user: str, password: str) -> Account | None:
        acct = self.account(user)
        return acct if acct is not None and acct.password == password else None

    def is_admin(self, user: str) -> bool:
        return "builtin\\administrators" in self.principals(user)

    def principals(self, identity: str) -> set[str]:
        """Casefolded names of the identity and every group its token would carry."""
        canon = self.canonical_identity(identity)
        out = {canon.casefold(), "everyone"}
        if canon == "NT AUTHORITY\\SYSTEM":
            return out | {"builtin\\administrators", "nt authority\\authenticated users", "builtin\\users"}
        if canon.startswith(("NT AUTHORITY\\", "NT SERVICE\\")):
            return out | {"nt authority\\authenticated users", "builtin\\users"}
        acct = self.account(canon)
        if acct is None:
            return out
        out |= {"nt authority\\authenticated users", "builtin\\users"}
        if acct.admin:
            out.add("builtin\\administrators")
        dom = self.domain
        if acct.domain and dom is not None:
            out.add(f"{dom.netbios}\\domain users".casefold())
            if acct.admin:
                out.add(f"{dom.netbios}\\domain admins".casefold())
            out |= {f"{dom.netbios}\\{g}".casefold() for g in dom.groups_of(acct.user)}
        return out

    # -- logon sessions ----------------------------------------------------------------------------------------------------
    @contextmanager
    def logon_session(self, user: str, *, delegation: bool) -> Iterator[LogonSession]:
        """Run what follows (in this thread) as a logon of `user`; without `delegation`, UNC access to another host fails
        with 5 (the second-hop restriction). Outside any session, access is not restricted."""
        previous = getattr(_SESSION, "session", None)
        _SESSION.session = LogonSession(self.canonical_identity(user), delegation)
        try:
            yield _SESSION.session
        finally:
            _SESSION.session = previous

    @staticmethod
    def current_session() -> LogonSession | None:
        return getattr(_SESSION, "session", None)

    # -- environment -----------------------------------------------------------------------------------------------------
    def profile_dir(self, user: str | None = None) -> str:
        canon = self.canonical_identity(user or "Administrator")
        if canon.startswith("NT AUTHORITY\\"):
            return r"C:\Windows\system32\config\systemprofile"
        return "C:\\Users\\" + canon.split("\\", 1)[1]

    def env(self, user: str | None = None) -> dict[str, str]:
        """Environment variables a process of `user` sees (the profile folders are created on first use, as at logon)."""
        canon = self.canonical_identity(user or "Administrator")
        system = canon.startswith("NT AUTHORITY\\")
        profile = self.profile_dir(canon)
        temp = r"C:\Windows\TEMP" if system else profile + r"\AppData\Local\Temp"
        if not system:
            self.mkdir(temp)
        domain_name = canon.split("\\", 1)[0]
        env = {
            "ALLUSERSPROFILE": r"C:\ProgramData",
            "APPDATA": profile + r"\AppData\Roaming",
            "CommonProgramFiles": r"C:\Program Files\Common Files",
            "CommonProgramFiles(x86)": r"C:\Program Files (x86)\Common Files",
            "COMPUTERNAME": self.name.upper(),
            "ComSpec": r"C:\Windows\system32\cmd.exe",
            "LOCALAPPDATA": profile + r"\AppData\Local",
            "NUMBER_OF_PROCESSORS": "2",
            "OS": "Windows_NT",
            "Path": r"C:\Windows\system32;C:\Windows;C:\Windows\System32\Wbem;C:\Windows\System32\WindowsPowerShell\v1.0\\",
            "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
            "PROCESSOR_ARCHITECTURE": "AMD64",
            "ProgramData": r"C:\ProgramData",
            "ProgramFiles": r"C:\Program Files",
            "ProgramFiles(x86)": r"C:\Program Files (x86)",
            "ProgramW6432": r"C:\Program Files",
            "PUBLIC": r"C:\Users\Public",
            "SystemDrive": "C:",
            "SystemRoot": r"C:\Windows",
            "TEMP": temp,
            "TMP": temp,
            "USERDOMAIN": "WORKGROUP" if system else domain_name,
            "USERNAME": f"{self.name.upper()}$" if system else canon.split("\\", 1)[1],
            "USERPROFILE": profile,
            "windir": r"C:\Windows",
        }
        if self.domain is not None and domain_name.casefold() == self.domain.netbios.casefold():
            env["USERDNSDOMAIN"] = self.domain.name.upper()
        # system variables installers add (e.g. ExchangeInstallPath) live in the Session Manager\Environment key
        system_vars = self.reg_get_key(SYSTEM_ENVIRONMENT)
        for value in system_vars.values if system_vars else ():
            text = value.data if isinstance(value.data, str) else str(value.data)
            env[value.name] = self.expand_vars(text, env=env) if value.type == "REG_EXPAND_SZ" else text
        return env

    def expand_vars(self, text: str, user: str | None = None, env: dict[str, str] | None = None) -> str:
        """Expand %NAME% references (case-insensitive); unknown ones stay as written, as cmd.exe leaves them."""
        values = {k.casefold(): v for k, v in (env or self.env(user)).items()}
        return re.sub(r"%([^%]+)%", lambda m: values.get(m.group(1).casefold(), m.group(0)), text)

    # -- event log -------------------------------------------------------------------------------------------------------
    def write_event(self, log: str, source: str, event_id: int, level: str, message: str, *, time: float | None = None) -> Event:
        if level not in EVENT_LEVELS:
            raise ValueError(f"event level must be one of {EVENT_LEVELS}, not {level!r}")
        with self.lock, self.mutating():
            name = self._log_name(log)
            record = self.state.next_record.get(name, 1)
            self.state.next_record[name] = record + 1
            event = Event(record, name, source, int(event_id), level, message, self.clock.time() if time is None else time)
            entries = self.state.events.setdefault(name, [])
            entries.append(event)
            del entries[:-MAX_EVENTS_PER_LOG]
            return event

    def _log_name(self, log: str) -> str:
        known = {n.casefold(): n for n in (*EVENT_LOGS, *self.state.events)}
        return known.get(log.casefold(), log)

    def events(self, log: str, source: str | None = None, since: datetime | float | None = None, event_id: int | None = None) -> list[Event]:
        """Events of a log, oldest first; optionally only one source / id, or those at or after `since`."""
        with self.lock:
            self.tick()
            since_ts = since.timestamp() if isinstance(since, datetime) else since
            out = [
                e
                for e in self.state.events.get(self._log_name(log), [])
                if (source is None or e.source.casefold() == source.casefold())
                and (event_id is None or e.event_id == event_id)
                and (since_ts is None or e.time >= since_ts)
            ]
            return sorted(out, key=lambda e: (e.time, e.record_id))

    # -- power -----------------------------------------------------------------------------------------------------------
    @property
    def boot_time(self) -> datetime:
        with self.lock:
            self.tick()
            return utc(self.state.boot_time)

    def is_up(self) -> bool:
        """Does the host answer (not shut down, not between shutdown and the end of boot)?"""
        with self.lock:
            self.tick()
            return self.state.power in ("on", "shutting_down")

    def reboot(self, delay_s: float = 0.0, *, user: str = "Administrator", process: str = r"C:\Windows\system32\shutdown.exe", comment: str = "") -> None:
        """Restart in `delay_s` simulated seconds (shutdown /r /t N): the host stops answering for reboot_seconds, then
        boots (boot time moves, pending changes applied, pending-reboot flags cleared, on-boot hooks run, Automatic
        services start). 1190 if a shutdown is already scheduled."""
        with self.lock, self.mutating():
            self.tick()
            if self.state.power == "shutting_down":
                raise WinError(1190)
            if self.state.power != "on":
                raise WinError(ERROR_SHUTDOWN_IN_PROGRESS)
            now = self.clock.time()
            self.write_event(
                "System",
                "User32",
                1074,
                "Information",
                f"The process {process} ({self.name.upper()}) has initiated the restart of computer {self.name.upper()} on behalf of user "
                f"{self.canonical_identity(user)} for the following reason: No title for this reason could be found\r\n Reason Code: 0x800000ff\r\n"
                f" Shutdown Type: restart\r\n Comment: {comment}",
            )
            self.state.power = "shutting_down"
            self.add_timer(now + max(0.0, delay_s), "shutdown", restart=True)

    def abort_shutdown(self) -> bool:
        """shutdown /a: cancel a scheduled shutdown that has not started; False if none was pending."""
        with self.lock, self.mutating():
            self.tick()
            if self.state.power != "shutting_down":
                return False
            self.state.timers = [t for t in self.state.timers if t.kind != "shutdown"]
            self.state.power = "on"
            return True

    abort_reboot = abort_shutdown

    @property
    def reboot_pending_at(self) -> datetime | None:
        """When a scheduled shutdown (shutdown /r /t N) begins, if one is scheduled."""
        with self.lock:
            self.tick()
            due = [t.at for t in self.state.timers if t.kind == "shutdown"]
            return utc(min(due)) if due else None

    def power_off(self) -> None:
        """Pull the plug (a lost host): it stays down until power_on()."""
        with self.lock, self.mutating():
            self.tick()
            self.state.timers = [t for t in self.state.timers if t.kind not in ("shutdown", "boot")]
            self._timer_shutdown(self.clock.time(), {"restart": False})

    def restart_unexpectedly(self) -> None:
        """The host restarts without a clean shutdown (power loss, a bugcheck, a reset from the hypervisor): every process
        ends at once and services stop without their events; no 1074 and no 6006 are written. At the next boot Windows finds
        the dirty shutdown and logs EventLog 6008 ("The previous system shutdown at %1 on %2 was unexpected.") and
        Kernel-Power 41 (Microsoft KB 2028504, "Windows Kernel event ID 41 error": the check at startup of whether the
        computer was shut down cleanly)."""
        with self.lock, self.mutating():
            self.tick()
            if self.state.power not in ("on", "shutting_down"):
                raise WinError(ERROR_SHUTDOWN_IN_PROGRESS)
            now = self.clock.time()
            self.state.timers = [t for t in self.state.timers if t.kind not in ("shutdown", "boot")]
            self._processes.clear()
            self._open_files = []  # their handles go with them
            for svc in self.state.services.values():
                self._set_stopped(svc, now, log=False)
            self.state.power = "rebooting"
            self.add_timer(now + self.reboot_seconds, "boot", unexpected=now)

    def process_alive(self, pid: int) -> bool:
        """Is the process still running (a shutdown or restart ends every process)?"""
        with self.lock:
            return pid in self._processes

    def power_on(self) -> None:
        with self.lock, self.mutating():
            self.tick()
            if self.state.power == "off":
                self.state.power = "booting"
                self.add_timer(self.clock.time() + self.reboot_seconds, "boot")

    # -- processes -----------------------------------------------------------------------------------------------------------
    def start_process(self, path: str, command_line: str, user: str) -> int:
        """Register a program that has started running (programs.run does this for the program's whole run)."""
        with self.lock:
            self._next_pid += 4  # Windows process ids are multiples of 4
            name = path.replace("/", "\\").rsplit("\\", 1)[-1]
            self._processes[self._next_pid] = ProcessInfo(self._next_pid, name, path, command_line, user, utc(self.clock.time()))
            return self._next_pid

    def end_process(self, pid: int) -> None:
        with self.lock:
            self._processes.pop(pid, None)
            self._open_files = [f for f in self._open_files if f.pid != pid]  # a process's handles close when it ends

    def hold_open(self, path: str, pid: int, *, access: str = "write", share: str = "read") -> None:
        """Process `pid` keeps `path` open until it ends (a log writer: write access, others may only read). The open
        follows CreateFile's sharing rules: 32 when it conflicts with a handle already open."""
        with self.lock:
            key = self._handle_key(path)
            self.check_sharing(path, access=access, share=share)
            self._open_files.append(OpenFile(pid, key, _modes(access), _modes(share)))

    def check_sharing(self, path: str, *, access: str, share: str) -> None:
        """Would an open of `path` with this access and share mode succeed? Every open handle must share what the new one
        asks for, and the new one must share what each open handle has (CreateFile sharing rules); 32 otherwise."""
        with self.lock:
            key = self._handle_key(path)
            want, allow = _modes(access), _modes(share)
            for held in self._open_files:
                if held.path == key and (not want <= held.share or not held.access <= allow):
                    raise WinError(32, path=path)

    def _handle_key(self, path: str) -> str:
        owner, local = self._locate(path)
        return str(owner._real(local)).casefold()

    def processes(self) -> list[ProcessInfo]:
        """Running processes started through Host.run (system processes are not modelled)."""
        with self.lock:
            return sorted(self._processes.values(), key=lambda p: p.pid)

    def _timer_shutdown(self, at: float, args: dict[str, Any]) -> None:
        self._processes.clear()  # a shutdown ends every process
        self._open_files = []
        for svc in self.state.services.values():
            self._set_stopped(svc, at, log=False)
        self.write_event("System", "EventLog", 6006, "Information", "The Event log service was stopped.", time=at)
        if args.get("restart"):
            self.state.power = "rebooting"
            self.add_timer(at + self.reboot_seconds, "boot")
        else:
            self.state.power = "off"

    def _timer_boot(self, at: float, args: dict[str, Any]) -> None:
        self.state.power = "on"
        self.state.boot_time = at
        self.write_event("System", "EventLog", 6005, "Information", "The Event log service was started.", time=at)
        if args.get("unexpected") is not None:  # restart_unexpectedly: the startup check finds the dirty shutdown
            down = utc(float(args["unexpected"]))
            when = f"{down.strftime('%I:%M:%S %p').lstrip('0')} on {down.month}/{down.day}/{down.year}"
            self.write_event("System", "EventLog", 6008, "Error", f"The previous system shutdown at {when} was unexpected.", time=at)
            self.write_event(
                "System",
                "Microsoft-Windows-Kernel-Power",
                41,
                "Critical",
                "The system has rebooted without cleanly shutting down first. This error could be caused if the system stopped "
                "responding, crashed, or lost power unexpectedly.",
                time=at,
            )
        self._apply_pending_features()
        self._apply_file_renames()
        self.clear_pending_reboot()
        self._run_boot_hooks(at)
        self._start_automatic(at)
        self.reg_create_key(AUTOLOGON_CHECKED)
        if any(s.start_mode == "delayed" for s in self.state.services.values()):
            self.add_timer(at + 120.0, "delayed_autostart")

    def _run_boot_hooks(self, at: float) -> None:
        from simulator import programs  # programs sit above the host layer

        hooks, self.state.on_boot = self.state.on_boot, []
        for entry in hooks:
            hook = programs.BOOT_HOOKS.get(entry["hook"])
            if hook is None:
                self.write_event("Application", "Simulator", 1, "Error", f"unknown on-boot hook {entry['hook']!r}", time=at)
                continue
            hook(self, dict(entry.get("args", {})))

    def register_on_boot(self, hook: str, args: dict[str, Any] | None = None) -> None:
        """Run programs.BOOT_HOOKS[hook](host, args) at the next boot (persisted, so a server restart keeps it)."""
        with self.lock, self.mutating():
            self.state.on_boot.append({"hook": hook, "args": dict(args or {})})

    # -- pending reboot --------------------------------------------------------------------------------------------------
    def pending_reboot(self) -> dict[str, bool]:
        """The flags Windows keeps in the registry (what CSS HealthChecker and Exchange Setup's prerequisite check read)."""
        with self.lock:
            self.tick()
            renames = self.reg_get_value(SESSION_MANAGER, "PendingFileRenameOperations")
            active = self.reg_get_value(ACTIVE_COMPUTER_NAME, "ComputerName")
            pending = self.reg_get_value(COMPUTER_NAME, "ComputerName")
            return {
                "component_based_servicing": self.reg_key_exists(CBS_REBOOT_PENDING),
                "windows_update": self.reg_key_exists(WU_REBOOT_REQUIRED),
                "pending_file_rename": bool(renames and any(renames.data)),
                "computer_rename": bool(active and pending and active.data.casefold() != pending.data.casefold()),
            }

    def reboot_required(self) -> bool:
        return any(self.pending_reboot().values())

    def set_pending_reboot(self, kind: str) -> None:
        """Raise a pending-reboot flag the way Windows components do (component_based_servicing | windows_update)."""
        paths = {"component_based_servicing": CBS_REBOOT_PENDING, "windows_update": WU_REBOOT_REQUIRED}
        if kind not in paths:
            raise ValueError(f"kind must be one of {sorted(paths)} (use schedule_file_rename for the rename queue)")
        self.reg_create_key(paths[kind])

    def schedule_file_rename(self, src: str, dst: str | None) -> None:
        """MoveFileEx(MOVEFILE_DELAY_UNTIL_REBOOT): queue in PendingFileRenameOperations (dst None = delete at boot)."""
        with self.lock, self.mutating():
            current = self.reg_get_value(SESSION_MANAGER, "PendingFileRenameOperations")
            entries = list(current.data) if current else []
            entries += ["\\??\\" + str(self.parse_path(src)), ("!\\??\\" + str(self.parse_path(dst))) if dst else ""]
            self.reg_set_value(SESSION_MANAGER, "PendingFileRenameOperations", entries, "REG_MULTI_SZ", create_key=True)

    def _apply_file_renames(self) -> None:
        current = self.reg_get_value(SESSION_MANAGER, "PendingFileRenameOperations")
        if current is None:
            return
        ops = list(current.data)
        for src, dst in zip(ops[0::2], ops[1::2], strict=False):
            src_path = src.removeprefix("\\??\\")
            try:
                if dst:
                    dst_path = dst.removeprefix("!").removeprefix("\\??\\")
                    if dst.startswith("!") and self.exists(dst_path):
                        self.remove(dst_path, recursive=True, force=True)
                    self.move(src_path, dst_path)
                else:
                    self.remove(src_path, recursive=True, force=True)
            except WinError:
                continue  # the session manager skips entries it cannot apply

    def clear_pending_reboot(self) -> None:
        for path in (CBS_REBOOT_PENDING, WU_REBOOT_REQUIRED):
            if self.reg_key_exists(path):
                self.reg_delete_key(path, recurse=True)
        if self.reg_get_value(SESSION_MANAGER, "PendingFileRenameOperations") is not None:
            self.reg_delete_value(SESSION_MANAGER, "PendingFileRenameOperations")
        pending = self.reg_get_value(COMPUTER_NAME, "ComputerName")
        if pending is not None:
            self.reg_set_value(ACTIVE_COMPUTER_NAME, "ComputerName", pending.data, "REG_SZ", create_key=True)

    # -- programs --------------------------------------------------------------------------------------------------------
    def run(self, command_line: str, *, cwd: str | None = None, env: dict[str, str] | None = None, user: str | None = None, stdin: str = "") -> ProcessResult:
        """Run a command line as CreateProcess would (see programs/__init__.py)."""
        from simulator import programs

        return programs.run(self, command_line, cwd=cwd, env=env, user=user, stdin=stdin)
