"""Simulated executables.

An executable on a simulated host is a file whose first line is `#!simulator-program <kind> <json>`: Host.run resolves the
command line's program as CreateProcess would (path, working folder, System32, Windows, PATH; `.exe` etc. appended when the
name has no extension), reads that line and calls REGISTRY[kind](ctx) with a ProcessContext. So installer media in an
estate is a real file: an operator's path is resolved, copied, hashed and "run". The system programs (cmd.exe,
hostname.exe, whoami.exe, msiexec.exe, shutdown.exe, powershell.exe) are such files in C:\\Windows\\System32 on every host.

A program:

    @program("email_router_installer")
    def email_router_installer(ctx: ProcessContext) -> int:
        ctx.sleep(90)                          # simulated seconds (time_scale applies)
        ctx.host.install_product(...)          # any Host API
        ctx.register_on_boot("my_hook", {...}) # BOOT_HOOKS["my_hook"](host, args) runs at the next boot
        ctx.out("done\\r\\n")
        return 0                               # the exit code

Batch files (.bat/.cmd) run through the cmd program; any other file is not a valid Win32 application (193).

A program is a process while it runs, and a shutdown or restart ends every process: a program that is waiting (`ctx.sleep`)
when its host goes down stops there, and what it had not written yet is lost. The `restart_during_program` fault
(target: the program's file name) restarts the host without a clean shutdown `after` simulated seconds into the program's
run. The caller of a program ended that way gets exit code 1067 (ERROR_PROCESS_ABORTED); on Windows the caller - the
module's PowerShell, an async job - ends with it, so nothing it returns afterwards reaches the controller.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.winerror import ERROR_BAD_EXE_FORMAT, ERROR_FILE_NOT_FOUND, WinError
from simulator.winpath import join_command_line, split_command_line

if TYPE_CHECKING:
    from simulator.host import Host

MARKER = "#!simulator-program"
_EXTENSIONS = (".com", ".exe", ".bat", ".cmd")
RESTART_FAULT = "restart_during_program"
ERROR_PROCESS_ABORTED = 1067  # "The process terminated unexpectedly."


class ProcessTerminated(Exception):
    """The program's process was ended (its host shut down or restarted) while it ran."""


@dataclass
class ProcessResult:
    rc: int
    stdout: str
    stderr: str


@dataclass
class ProcessContext:
    """What a program sees: the host, its command line, the marker's JSON args, and its process environment."""

    host: Host
    argv: list[str]
    args: dict[str, Any]  # the JSON on the marker line
    exe: str  # Windows path of the executable
    command_line: str
    cwd: str
    env: dict[str, str]
    user: str
    stdin: str = ""
    pid: int = 0  # the process id while it runs (0: not registered)
    started: float = 0.0  # simulated time the process started
    _out: io.StringIO = field(default_factory=io.StringIO, repr=False)
    _err: io.StringIO = field(default_factory=io.StringIO, repr=False)

    def out(self, text: str) -> None:
        self._out.write(text)

    def err(self, text: str) -> None:
        self._err.write(text)

    def sleep(self, sim_seconds: float) -> None:
        """Take simulated time (sim_seconds * time_scale real seconds). Raises ProcessTerminated when the host went down
        meanwhile, or when the restart_during_program fault restarts it during this wait."""
        clock = self.host.clock
        name = self.exe.replace("/", "\\").rsplit("\\", 1)[-1]
        fault = self.host.fault(RESTART_FAULT, name) if self.pid else None
        if fault is not None:
            at = self.started + float(fault.params.get("after", 0))
            if clock.time() + sim_seconds >= at and self._restart_now(name, at):
                raise ProcessTerminated(self.pid)
        clock.sleep(sim_seconds)
        if self.pid and not self.host.process_alive(self.pid):
            raise ProcessTerminated(self.pid)

    def _restart_now(self, name: str, at: float) -> bool:
        """Wait until the fault's moment and restart the host (False when the fault is gone meanwhile)."""
        faults = self.host.faults
        if faults is not None and faults.consume(self.host.name, RESTART_FAULT, name) is None:
            return False
        self.host.clock.sleep_until(at)
        self.host.restart_unexpectedly()
        return True

    def run(self, command_line: str, cwd: str | None = None) -> ProcessResult:
        """Start a child process with this process's user and environment."""
        return run(self.host, command_line, cwd=cwd or self.cwd, env=self.env, user=self.user)

    def hold_open(self, path: str, *, access: str = "write", share: str = "read") -> None:
        """Keep a file open until the process ends (Host.hold_open): a log writer holds its log this way."""
        self.host.hold_open(self.resolve(path), self.pid, access=access, share=share)

    def register_on_boot(self, hook: str, args: dict[str, Any] | None = None) -> None:
        if hook not in BOOT_HOOKS:
            raise ValueError(f"unknown boot hook {hook!r}")
        self.host.register_on_boot(hook, args)

    def expand(self, text: str) -> str:
        return self.host.expand_vars(text, env=self.env)

    def resolve(self, path: str) -> str:
        """A path argument as the process would see it (relative to its working folder)."""
        return str(self.host.parse_path(path, self.cwd))


Program = Callable[[ProcessContext], int]
BootHook = Callable[["Host", dict[str, Any]], None]
ServiceEntry = Callable[["Host", str, float, dict[str, Any]], None]
REGISTRY: dict[str, Program] = {}
BOOT_HOOKS: dict[str, BootHook] = {}
SERVICE_ENTRIES: dict[str, ServiceEntry] = {}


def program(kind: str) -> Callable[[Program], Program]:
    """Register a program kind."""

    def deco(fn: Program) -> Program:
        REGISTRY[kind] = fn
        return fn

    return deco


def boot_hook(name: str) -> Callable[[BootHook], BootHook]:
    """Register a function a program can ask to run at the next boot."""

    def deco(fn: BootHook) -> BootHook:
        BOOT_HOOKS[name] = fn
        return fn

    return deco


def service_entry(kind: str) -> Callable[[ServiceEntry], ServiceEntry]:
    """Register what a service whose image is a program of this kind does once it runs: `entry(host, service_name, at,
    args)` is called with args {"phase": "started", "image": path, "marker": marker args} when the service reaches RUNNING at
    simulated time `at`, and again for each `host.add_timer(t, "service_entry", service=name, entry=kind, phase=...)` it
    schedules while the service keeps running."""

    def deco(fn: ServiceEntry) -> ServiceEntry:
        SERVICE_ENTRIES[kind] = fn
        return fn

    return deco


def run_service_entry(host: Host, service: str, image_path: str, at: float, args: dict[str, Any]) -> None:
    """Called by the host's service control (caller holds the host lock): run the service entry of the service's image."""
    kind = args.get("entry")
    marker_args: dict[str, Any] = {}
    image = ""
    if kind is None:
        argv = split_command_line(image_path) if image_path else []
        image = argv[0] if argv else ""
        try:
            parsed = parse_marker(host.read_bytes(image)[:4096]) if image else None
        except (WinError, ValueError, OSError):  # an image that cannot be read runs no entry
            parsed = None
        if parsed is None or parsed[0] not in SERVICE_ENTRIES:
            return
        kind, marker_args = parsed[0], parsed[1]
    entry = SERVICE_ENTRIES.get(kind)
    if entry is not None:
        entry(host, service, at, {"image": image, "marker": marker_args, **args, "entry": kind})


def marker(kind: str, args: dict[str, Any] | None = None, body: str = "") -> bytes:
    """The content of a program file of this kind."""
    return f"{MARKER} {kind} {json.dumps(args or {}, separators=(',', ':'))}\r\n{body}".encode()


def parse_marker(data: bytes) -> tuple[str, dict[str, Any]] | None:
    """(kind, args) when `data` starts with a program marker, else None. Invalid JSON is an invalid image."""
    if not data.startswith(MARKER.encode()):
        return None
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    rest = first[len(MARKER) :].strip()
    kind, _sep, raw = rest.partition(" ")
    try:
        args = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise WinError(ERROR_BAD_EXE_FORMAT, "%1 is not a valid Win32 application.") from None
    if not isinstance(args, dict):
        raise WinError(ERROR_BAD_EXE_FORMAT, "%1 is not a valid Win32 application.")
    return kind, args


def resolve_executable(host: Host, name: str, cwd: str, env: dict[str, str]) -> str | None:
    """CreateProcess's search: an explicit path is used as given (relative to cwd); a bare name is looked up in the
    working folder, System32, Windows and the Path folders. Without an extension, .com/.exe/.bat/.cmd are tried."""
    name = host.expand_vars(name, env=env)
    has_ext = "." in name.replace("/", "\\").rsplit("\\", 1)[-1]
    candidates = [name] if has_ext else [name + ext for ext in _EXTENSIONS]
    if "\\" in name or "/" in name or ":" in name:
        folders = [""]
    else:
        path_var = next((v for k, v in env.items() if k.casefold() == "path"), "")
        folders = [cwd, r"C:\Windows\System32", r"C:\Windows", *[p for p in path_var.split(";") if p]]
    for folder in folders:
        for cand in candidates:
            try:
                info = host.stat(str(host.parse_path(cand, folder or cwd)))
            except WinError as exc:
                if exc.code == 5 and folders == [""]:
                    raise  # an explicit path it may not read: CreateProcess fails with access denied, not "not found"
                continue
            if not info.is_dir:
                return info.path
    return None


def run(host: Host, command_line: str, *, cwd: str | None = None, env: dict[str, str] | None = None, user: str | None = None, stdin: str = "") -> ProcessResult:
    """Run a command line on `host`. Raises WinError(2) when the program is not found, 193 when it is not a program."""
    user = host.canonical_identity(user or "Administrator")
    env = dict(env) if env is not None else host.env(user)
    cwd = str(host.parse_path(cwd)) if cwd else host.profile_dir(user)
    argv = split_command_line(command_line)
    if not argv:
        raise WinError(ERROR_FILE_NOT_FOUND)
    exe = resolve_executable(host, argv[0], cwd, env)
    if exe is None:
        raise WinError(ERROR_FILE_NOT_FOUND, path=argv[0])
    parsed = parse_marker(host.read_bytes(exe)[:4096])
    if parsed is None:
        if exe.casefold().endswith((".bat", ".cmd")):
            parsed = ("cmd", {"batch": exe})
        else:
            raise WinError(ERROR_BAD_EXE_FORMAT, path=exe)
    kind, args = parsed
    fn = REGISTRY.get(kind)
    if fn is None:
        return ProcessResult(1, "", f"{exe}: program kind {kind!r} is not modelled by the simulator\r\n")
    ctx = ProcessContext(host, argv, args, exe, command_line, cwd, env, user, stdin)
    ctx.pid = host.start_process(exe, command_line, user)  # a process while it runs (Win32_Process sees it)
    ctx.started = host.clock.time()
    try:
        rc = fn(ctx)
    except ProcessTerminated:
        rc = ERROR_PROCESS_ABORTED
    finally:
        host.end_process(ctx.pid)
    return ProcessResult(int(rc), ctx._out.getvalue(), ctx._err.getvalue())


__all__ = [
    "BOOT_HOOKS",
    "MARKER",
    "REGISTRY",
    "RESTART_FAULT",
    "SERVICE_ENTRIES",
    "ProcessContext",
    "ProcessResult",
    "ProcessTerminated",
    "boot_hook",
    "join_command_line",
    "marker",
    "parse_marker",
    "program",
    "resolve_executable",
    "run",
    "run_service_entry",
    "service_entry",
]


def _load_programs() -> None:
    """Import every program module of this package once: each registers its kinds and boot hooks on import."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_programs()
