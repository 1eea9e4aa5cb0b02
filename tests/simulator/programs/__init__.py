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
    pid: int = 0  # set once the process runs
    _out: io.StringIO = field(default_factory=io.StringIO, repr=False)
    _err: io.StringIO = field(default_factory=io.StringIO, repr=False)

    def out(self, text: str) -> None:
        self._out.write(text)

    def err(self, text: str) -> None:
        self._err.write(text)

    def sleep(self, sim_seconds: float) -> None:
        """Take simulated time (sim_seconds * time_scale real seconds)."""
        self.host.clock.sleep(sim_seconds)

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
    pid = ctx.pid = host.start_process(exe, command_line, user)  # a process while it runs (Win32_Process sees it)
    try:
        rc = fn(ctx)
    finally:
        host.end_process(pid)
    return ProcessResult(int(rc), ctx._out.getvalue(), ctx._err.getvalue())


__all__ = [
    "BOOT_HOOKS",
    "MARKER",
    "REGISTRY",
    "SERVICE_ENTRIES",
    "ProcessContext",
    "ProcessResult",
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
