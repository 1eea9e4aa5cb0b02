"""What ansible-core 2.19 sends over WinRM, decoded and turned into calls on twins and on the host.

The WinRS command line is one of:

- ``PowerShell ... -EncodedCommand <base64 UTF-16LE>`` whose script is Ansible's ``bootstrap_wrapper.ps1``: stdin carries the
  bootstrap JSON, ``\\n\\0\\0\\0\\0\\n``, the exec manifest, and optionally ``\\n\\0\\0\\0\\0\\n`` + input for the action
  (see ``ansible/executor/powershell/module_manifest.py``). The manifest's actions run in order:
  ``become_wrapper.ps1`` (runas: the password is checked against the host's accounts, the rest runs as that user),
  ``async_wrapper.ps1`` + ``async_watchdog.ps1`` (the module runs in the background and its result lands in the job file
  ``async_status`` reads), ``module_wrapper.ps1`` (the module: ``twins.run_module``), or one of the executor scripts
  ``powershell_mkdtemp.ps1``, ``powershell_expand_user.ps1``, ``winrm_put_file.ps1``, ``winrm_fetch_file.ps1``.
- ``PowerShell ... -EncodedCommand`` of another script: a raw snippet. Modelled: the snippets win_reboot sends (boot time
  query, the shutdown command, the post-reboot test), temp folder removal (``Remove-Item '<tmp>\\.' -Force -Recurse;``),
  and for ``ansible -m raw`` a small set of statements (see :data:`RAW_HELP`).
- ``type <file> | PowerShell ... -EncodedCommand <bootstrap>`` (``ANSIBLE_KEEP_REMOTE_FILES=1``): the manifest is read from the
  host's file.
- any other command line runs as a process on the host (``Host.run``).

Anything else fails with a message containing "not modelled by the simulator".
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from simulator import twins, winpath
from simulator.winerror import WinError
from simulator.wsman import ProcessResult

log = logging.getLogger(__name__)

SEPARATOR = b"\n\0\0\0\0\n"
BOOTSTRAP_MARKER = "$codeJson = foreach ($in in $input)"
PS_VERSION = "5.1.17763.1"
POWERSHELL = {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}
SYSTEM_ACCOUNTS = {
    "system": "NT AUTHORITY\\SYSTEM",
    "nt authority\\system": "NT AUTHORITY\\SYSTEM",
    "localsystem": "NT AUTHORITY\\SYSTEM",
    "s-1-5-18": "NT AUTHORITY\\SYSTEM",
    "localservice": "NT AUTHORITY\\LocalService",
    "nt authority\\localservice": "NT AUTHORITY\\LocalService",
    "s-1-5-19": "NT AUTHORITY\\LocalService",
    "networkservice": "NT AUTHORITY\\NetworkService",
    "nt authority\\networkservice": "NT AUTHORITY\\NetworkService",
    "s-1-5-20": "NT AUTHORITY\\NetworkService",
}
RAW_HELP = (
    "raw commands may be: a native command line (run by the host), Write-Output/echo of a literal, a quoted literal, "
    "$env:NAME, exit N, Get-Item -LiteralPath '<path>', Remove-Item [-LiteralPath] '<path>' [-Force] [-Recurse], "
    "the boot time query and shutdown command win_reboot sends"
)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_PRESERVE_RC = re.compile(
    r"[;\r\n]\s*If \(-not \$\?\) \{ If \(Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue\) "
    r"\{ exit \$LASTEXITCODE \} Else \{ exit 1 \} \}\s*$",
    re.IGNORECASE,
)
_STRICT = re.compile(r"^\s*Set-StrictMode -Version Latest\s*[\r\n]+", re.IGNORECASE)
_BOOT_TIME = re.compile(r"^\(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime\)\.LastBootUpTime\.ToFileTime\(\)$", re.IGNORECASE)
_REBOOT = re.compile(
    r"if \(\$(?P<remove>True|False)\) \{\s*Remove-Item -LiteralPath '(?P<key>(?:[^']|'')*)' -Force -ErrorAction SilentlyContinue\s*\}"
    r".*?\{ C:\\Windows\\System32\\shutdown\.exe /r /t (?P<delay>\d+) /c .*? \| Set-Variable stdout \}"
    r".*ConvertTo-Json -Compress -InputObject @\{",
    re.IGNORECASE | re.DOTALL,
)


class NotModelled(Exception):
    """The payload asks for something the simulator does not model."""


@dataclass(frozen=True)
class Accounts:
    """How the payload layer checks runas become: ``resolve(name)`` → the host's account name or None;
    ``check_password(name, password)`` → the account name when the password is right."""

    resolve: Callable[[str], str | None]
    check_password: Callable[[str, str], str | None]


@dataclass
class _Out:
    """stdout/stderr/rc of one simulated PowerShell process."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    rc: int = 0

    def result(self) -> ProcessResult:
        out = "".join(self.stdout).encode("utf-8")
        err = clixml_errors(self.stderr) if self.stderr else b""
        return ProcessResult(rc=self.rc, stdout=out, stderr=err)


# -- jobs (wsman.Job) ------------------------------------------------------------------------------------------------
@dataclass
class _FixedJob:
    result: ProcessResult
    needs_stdin: bool = False

    def run(self, stdin: bytes) -> ProcessResult:
        return self.result


_RUNNING = threading.local()  # the job this worker thread runs (benchmark labels)


@dataclass
class _CallJob:
    call: Callable[[bytes], ProcessResult]
    needs_stdin: bool = False
    label: str = ""  # the module this command ran (set by call_module / _async), for the per-module request counts

    def run(self, stdin: bytes) -> ProcessResult:
        _RUNNING.job = self
        try:
            return self.call(stdin)
        finally:
            _RUNNING.job = None


def _label_running_job(label: str) -> None:
    job = getattr(_RUNNING, "job", None)
    if job is not None and not job.label:
        job.label = label


class PayloadRunner:
    """Turns WinRS command lines into jobs for one host (implements wsman.CommandRunner)."""

    def __init__(
        self,
        host: Any,
        accounts: Accounts,
        *,
        run_module: Callable[[str, dict[str, Any], Any, str], tuple[int, str]] = twins.run_module,
        on_module: Callable[[str, float, float], None] | None = None,
    ) -> None:
        """``host`` is a simulator Host; ``on_module(fqcn, cpu_s, wall_s)`` counts module runs for the benchmarks."""
        self.host = host
        self.accounts = accounts
        self.run_module = run_module
        self.on_module = on_module

    # -- command line ------------------------------------------------------------------------------------------------
    def prepare(self, command: str, arguments: list[str], user: str) -> _FixedJob | _CallJob:
        """Decide what a command line is; the work happens in the job's ``run``."""
        line = " ".join([command, *arguments]).strip()
        argv = winpath.split_command_line(line)
        if not argv:
            return _FixedJob(ProcessResult(1, stderr=b"empty command line"))
        exe = argv[0].rsplit("\\", 1)[-1].lower()
        if exe in POWERSHELL:
            return self._powershell(argv[1:], user)
        if exe == "type" and "|" in argv:
            return self._type_pipe(argv, user)
        return _CallJob(lambda _stdin: self._native(line, user))

    def _powershell(self, args: list[str], user: str) -> _FixedJob | _CallJob:
        script = _encoded_command(args)
        if script is None:
            return _not_modelled_job(f"powershell.exe {' '.join(args)[:200]}: only -EncodedCommand is modelled by the simulator")
        if BOOTSTRAP_MARKER in script:
            return _CallJob(lambda stdin: self.run_bootstrap(stdin, user), needs_stdin=True)
        return _CallJob(lambda _stdin: self.run_script(script, user))

    def _type_pipe(self, argv: list[str], user: str) -> _FixedJob | _CallJob:
        pipe = argv.index("|")
        path = _unquote(" ".join(argv[1:pipe]))
        rest = argv[pipe + 1 :]
        script = _encoded_command(rest[1:]) if rest and rest[0].lower() in POWERSHELL else None
        if script is None or BOOTSTRAP_MARKER not in script:
            return _not_modelled_job(f"type {path} | ...: only piping a kept module file into the bootstrap wrapper is modelled by the simulator")

        def run(_stdin: bytes) -> ProcessResult:
            try:
                data = self.host.read_bytes(path)
            except WinError as exc:
                return ProcessResult(1, stderr=f"{exc}\r\n".encode())
            return self.run_bootstrap(data, user)

        return _CallJob(run)

    def _native(self, line: str, user: str) -> ProcessResult:
        """A WinRS command line: cmd.exe runs it, and says so when the program does not exist."""
        try:
            with self._logon(user, delegation=False):
                result = self.host.run(line, user=user)
        except WinError as exc:
            if exc.code in (2, 3):
                name = winpath.split_command_line(line)[0]
                text = f"'{name}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
                return ProcessResult(9009, stderr=text.encode())
            return ProcessResult(1, stderr=f"{exc}\r\n".encode())
        return ProcessResult(result.rc, _bytes(result.stdout), _bytes(result.stderr))

    # -- bootstrap wrapper + exec manifest ---------------------------------------------------------------------------
    def run_bootstrap(self, stdin: bytes, user: str) -> ProcessResult:
        """What bootstrap_wrapper.ps1 → exec_wrapper.ps1 → the manifest's actions do with this stdin."""
        parts = stdin.split(SEPARATOR, 2)
        if len(parts) < 2:
            return _wrapper_error("the bootstrap input has no exec manifest (missing \\n\\0\\0\\0\\0\\n separator)")
        try:
            bootstrap = json.loads(parts[0])
            manifest = json.loads(parts[1])
        except ValueError as exc:
            return _wrapper_error(f"the bootstrap input is not JSON: {exc}")
        if bootstrap.get("name") != "exec_wrapper":
            return _wrapper_error(f"bootstrap script {bootstrap.get('name')!r} is not modelled by the simulator")
        min_ps = (bootstrap.get("params") or {}).get("MinPSVersion")
        if min_ps and _version(min_ps) > _version(PS_VERSION):
            msg = f'This module cannot run as it requires a minimum PowerShell version of {min_ps}, actual was "{PS_VERSION}"'
            return _json_result({"failed": True, "msg": msg}, rc=1)
        extra = parts[2] if len(parts) > 2 else b""
        try:
            return self._actions(list(manifest.get("actions") or []), extra, user, delegation=False)
        except NotModelled as exc:
            return _wrapper_error(f"{exc}")

    def _actions(self, actions: list[dict[str, Any]], extra: bytes, user: str, *, delegation: bool) -> ProcessResult:
        """Run the manifest's actions. `delegation` says whether the logon can reach other hosts: a WinRM logon with NTLM or
        Basic cannot (the second-hop rule); runas become logs on with the password, whose credentials can."""
        if not actions:
            return _wrapper_error("the exec manifest has no actions")
        action = actions[0]
        name = action.get("name", "")
        params = dict(action.get("params") or {})
        secure = dict(action.get("secure_params") or {})
        if name == "become_wrapper.ps1":
            become = self._become(params, secure)
            if isinstance(become, ProcessResult):
                return become
            return self._actions(actions[1:], extra, become, delegation=True)
        if name == "async_wrapper.ps1":
            return self._async(params, actions[1:], user, delegation)
        if name == "module_wrapper.ps1":
            with self._logon(user, delegation):
                return self._module(params, user)
        executor = _EXECUTORS.get(name)
        if executor is None:
            raise NotModelled(f"exec wrapper action {name!r} is not modelled by the simulator")
        try:
            with self._logon(user, delegation):
                return executor(self, params, extra, user)
        except WinError as exc:
            return _wrapper_error(str(exc))

    # -- modules -----------------------------------------------------------------------------------------------------
    def _module(self, params: dict[str, Any], user: str) -> ProcessResult:
        script = str(params.get("Script", ""))
        if not params.get("ForModule"):
            raise NotModelled(f"running the script {script!r} (script substyle) is not modelled by the simulator")
        variables = params.get("Variables") or []
        args = next((v.get("Value") for v in variables if v.get("Name") == "complex_args"), None)
        if not isinstance(args, dict):
            raise NotModelled("a module_wrapper action without complex_args is not modelled by the simulator")
        fqcn = module_fqcn(script)
        rc, stdout = self.call_module(fqcn, args, user)
        return ProcessResult(rc, (stdout.rstrip("\r\n") + "\r\n").encode("utf-8"))

    def call_module(self, fqcn: str, args: dict[str, Any], user: str) -> tuple[int, str]:
        """Run one twin and count its CPU time."""
        _label_running_job(fqcn)
        cpu, wall = time.thread_time(), time.monotonic()
        try:
            return self.run_module(fqcn, args, self.host, user)
        finally:
            if self.on_module:
                self.on_module(fqcn, time.thread_time() - cpu, time.monotonic() - wall)

    # -- runas become ------------------------------------------------------------------------------------------------
    def _become(self, params: dict[str, Any], secure: dict[str, Any]) -> str | ProcessResult:
        """The account the rest of the manifest runs as, or the error Ansible.Become raises."""
        name = str(params.get("BecomeUser") or "")
        password = secure.get("BecomePassword")
        service = SYSTEM_ACCOUNTS.get(name.lower())
        if service:
            return service
        account = self.accounts.resolve(name) if name else None
        if account is None:
            return _become_error("Some or all identity references could not be translated.")
        if password is None:
            return account  # no password: Ansible.Become uses an S4U logon, which an administrator may do
        if self.accounts.check_password(name, str(password)) is None:
            logon = name if "\\" in name or "@" in name else f".\\{name}"
            return _become_error(f"Failed to logon {logon} (The user name or password is incorrect, Win32ErrorCode 1326 - 0x0000052E)")
        return account

    # -- async -------------------------------------------------------------------------------------------------------
    def _logon(self, user: str, delegation: bool) -> contextlib.AbstractContextManager[Any]:
        """The host's logon session for what runs next in this thread (hosts without the model: no restriction)."""
        logon_session = getattr(self.host, "logon_session", None)
        return logon_session(user, delegation=delegation) if logon_session else contextlib.nullcontext()

    def _async(self, params: dict[str, Any], rest: list[dict[str, Any]], user: str, delegation: bool) -> ProcessResult:
        """async_wrapper.ps1: write the job file, start the watchdog in the background, answer at once."""
        if not rest or rest[0].get("name") != "async_watchdog.ps1":
            raise NotModelled("async_wrapper without async_watchdog is not modelled by the simulator")
        timeout = float((rest[0].get("params") or {}).get("Timeout", 0))
        async_dir = self.expand(str(params.get("AsyncDir", "")), user)
        if not self.host.exists(async_dir):
            self.host.mkdir(async_dir, parents=True)
        jid = f"{params.get('AsyncJid')}.{random.randint(1000, 65000)}"  # noqa: S311 - a process id, not a secret
        results_path = f"{async_dir.rstrip(chr(92))}\\{jid}"
        started = {
            "started": True,
            "finished": False,
            "results_file": results_path,
            "ansible_job_id": jid,
            "_ansible_suppress_tmpdir_delete": True,
            "ansible_async_watchdog_pid": int(jid.rsplit(".", 1)[1]),
        }
        text = json.dumps(started, separators=(",", ":"))
        self.host.write_bytes(results_path, text.encode("utf-8"))
        module_actions = rest[1:]
        wrapper = next((a for a in module_actions if a.get("name") == "module_wrapper.ps1"), None)
        if wrapper is not None:  # the command that starts the job counts as the module's (it runs in the watchdog)
            _label_running_job(module_fqcn(str((wrapper.get("params") or {}).get("Script", ""))))
        watchdog = threading.Thread(
            target=self._watchdog,
            args=(results_path, started, timeout, module_actions, user),
            kwargs={"delegation": delegation},
            name=f"async-{jid}",
            daemon=True,
        )
        watchdog.start()
        return ProcessResult(0, (text + "\r\n").encode("utf-8"))

    def _watchdog(self, results_path: str, started: dict[str, Any], timeout: float, actions: list[dict[str, Any]], user: str, *, delegation: bool) -> None:
        """async_watchdog.ps1: run the module, wait at most ``timeout`` simulated seconds, merge its result into the job file."""
        boot = self.host.boot_time
        box: dict[str, ProcessResult] = {}
        worker = threading.Thread(target=lambda: box.setdefault("r", self._run_safely(actions, user, delegation)), daemon=True)
        worker.start()
        clock = self.host.clock
        deadline = clock.time() + timeout
        while worker.is_alive() and clock.time() < deadline:
            worker.join(0.05)
        result = dict(started, finished=True)
        if "r" in box:
            result.update(_module_result(box["r"]))
        else:
            result.update(failed=True, msg="failure during async watchdog: timed out waiting for module completion")
        if self.host.boot_time != boot or not self.host.is_up():
            log.info("%s: async job %s died with the reboot", self.host.name, started["ansible_job_id"])
            return  # the host went down (or came back): the watchdog process is gone and never writes its result
        # Set-Content -Encoding UTF8 in Windows PowerShell 5.1 writes a byte order mark
        self.host.write_bytes(results_path, b"\xef\xbb\xbf" + json.dumps(result, separators=(",", ":")).encode("utf-8"))
        if hasattr(self.host, "save"):
            self.host.save()

    def _run_safely(self, actions: list[dict[str, Any]], user: str, delegation: bool) -> ProcessResult:
        try:
            return self._actions(actions, b"", user, delegation=delegation)
        except NotModelled as exc:
            return _wrapper_error(str(exc))
        except Exception as exc:
            log.exception("%s: async module crashed", self.host.name)
            return ProcessResult(1, f"simulator internal error: {exc}".encode())

    # -- raw PowerShell snippets -------------------------------------------------------------------------------------
    def run_script(self, script: str, user: str) -> ProcessResult:
        """A PowerShell snippet that is not the bootstrap wrapper (raw module, win_reboot, temp dir removal)."""
        body, preserve_rc = normalise_script(script)
        out = _Out()
        reboot = _REBOOT.search(body)
        if reboot:
            self._reboot_snippet(reboot, out, user)
            return out.result()
        state = _ScriptState(preserve_rc=preserve_rc)
        for statement in split_statements(body):
            if not self._statement(statement, user, out, state):
                break
        out.rc = state.exit_code()
        return out.result()

    def _statement(self, stmt: str, user: str, out: _Out, state: _ScriptState) -> bool:
        """Run one statement; False stops the script (exit or a terminating error)."""
        for pattern, handler in _STATEMENTS:
            match = pattern.match(stmt)
            if match:
                return handler(self, match, user, out, state)
        if _is_native(stmt):
            result = self._native_from_powershell(stmt, user)
            out.stdout.append(result.stdout.decode("utf-8", "replace"))
            if result.stderr:
                out.stderr.append(result.stderr.decode("utf-8", "replace"))
            state.native(result.rc)
            return True
        out.stderr.append(f"{stmt[:200]}: this PowerShell is not modelled by the simulator; {RAW_HELP}")
        state.ok = False
        return False

    def _native_from_powershell(self, stmt: str, user: str) -> ProcessResult:
        try:
            with self._logon(user, delegation=False):
                result = self.host.run(stmt, user=user)
        except WinError as exc:
            name = winpath.split_command_line(stmt)[0]
            if exc.code in (2, 3):
                text = (
                    f"{name} : The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
                    "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
                )
            else:
                text = f"Program '{name}' failed to run: {exc}"
            return ProcessResult(1, stderr=text.encode())
        return ProcessResult(result.rc, _bytes(result.stdout), _bytes(result.stderr))

    def _reboot_snippet(self, match: re.Match[str], out: _Out, user: str) -> None:
        """win_reboot's shutdown script: optional removal of the LogonUI key, then shutdown.exe /r /t N /c msg."""
        if match.group("remove").lower() == "true":
            with contextlib.suppress(WinError, KeyError):  # -ErrorAction SilentlyContinue
                self.host.reg_delete_key(_ps_unquote(match.group("key")), recurse=True)
        rc, stdout, stderr = self.shutdown(["/r", "/t", match.group("delay")], user)
        out.stdout.append(json.dumps({"stdout": stdout, "stderr": stderr, "rc": rc}, separators=(",", ":")) + "\r\n")

    def shutdown(self, args: list[str], user: str) -> tuple[int, str, str]:
        """shutdown.exe: ``/r /t N`` restarts after N seconds; ``/a`` aborts a pending restart (rc, stdout, stderr)."""
        flags = [a.lower() for a in args]
        if "/a" in flags:
            abort = getattr(self.host, "abort_reboot", None)
            if abort is not None and abort():
                return 0, "", ""
            return 1116, "", "Unable to abort the system shutdown because no shutdown was in progress.(1116)"
        if "/r" not in flags:
            return 1, "", f"shutdown.exe {' '.join(args)}: only /r and /a are modelled by the simulator"
        delay = float(args[flags.index("/t") + 1]) if "/t" in flags else 30.0
        comment = args[flags.index("/c") + 1] if "/c" in flags and flags.index("/c") + 1 < len(args) else ""
        try:
            self.host.reboot(delay_s=delay, user=user, comment=comment)
        except WinError as exc:
            return exc.code, "", f"{exc}({exc.code})"
        return 0, "", ""

    def expand(self, text: str, user: str) -> str:
        """%VAR% expansion with the user's environment ([Environment]::ExpandEnvironmentVariables)."""
        env = {k.lower(): v for k, v in user_environment(self.host, user).items()}
        return re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1).lower(), m.group(0)), text)


# -- executor scripts ------------------------------------------------------------------------------------------------
def _mkdtemp(runner: PayloadRunner, params: dict[str, Any], extra: bytes, user: str) -> ProcessResult:
    """powershell_mkdtemp.ps1: New-Item -ItemType Directory (creates missing parents, fails if it exists); prints FullName."""
    base = runner.expand(str(params["Directory"]), user)
    path = str(winpath.parse(f"{base.rstrip(chr(92))}\\{params['Name']}"))
    if runner.host.exists(path):
        return _wrapper_error(f"An item with the specified name {path} already exists.")
    runner.host.mkdir(path, parents=True)
    return ProcessResult(0, f"{path}\r\n".encode())


def _expand_user(runner: PayloadRunner, params: dict[str, Any], extra: bytes, user: str) -> ProcessResult:
    """powershell_expand_user.ps1: ``~`` and ``~\\x`` relative to the user's profile."""
    path = str(params["Path"])
    profile = user_environment(runner.host, user)["USERPROFILE"]
    if path == "~":
        path = profile
    elif path.startswith("~\\"):
        path = f"{profile}\\{path[2:]}"
    return ProcessResult(0, f"{path}\r\n".encode())


def _put_file(runner: PayloadRunner, params: dict[str, Any], extra: bytes, user: str) -> ProcessResult:
    """winrm_put_file.ps1: base64 lines from stdin into the file; prints the SHA1 of what was written."""
    try:
        data = b"".join(base64.b64decode(line) for line in extra.split(b"\r\n") if line.strip())
    except binascii.Error as exc:
        return _wrapper_error(f"Invalid length for a Base-64 char array or string: {exc}")
    runner.host.write_bytes(str(params["Path"]), data)
    digest = hashlib.sha1(data).hexdigest()  # noqa: S324 - the checksum Ansible compares
    return ProcessResult(0, (json.dumps({"sha1": digest}, separators=(",", ":")) + "\r\n").encode())


def _fetch_file(runner: PayloadRunner, params: dict[str, Any], extra: bytes, user: str) -> ProcessResult:
    """winrm_fetch_file.ps1: BufferSize bytes from Offset as base64, ``[DIR]`` for a folder, error when missing."""
    path = str(params["Path"])
    host = runner.host
    if host.exists(path) and not host.is_dir(path):
        with host.resolve(path).open("rb") as handle:
            handle.seek(int(params["Offset"]))
            chunk = handle.read(int(params["BufferSize"]))
        return ProcessResult(0, (base64.b64encode(chunk).decode() + "\r\n").encode() if chunk else b"")
    if host.is_dir(path):
        return ProcessResult(0, b"[DIR]\r\n")
    return ProcessResult(1, stderr=f"{path} does not exist\r\n".encode())


_EXECUTORS: dict[str, Callable[[PayloadRunner, dict[str, Any], bytes, str], ProcessResult]] = {
    "powershell_mkdtemp.ps1": _mkdtemp,
    "powershell_expand_user.ps1": _expand_user,
    "winrm_put_file.ps1": _put_file,
    "winrm_fetch_file.ps1": _fetch_file,
}


# -- raw statements --------------------------------------------------------------------------------------------------
@dataclass
class _ScriptState:
    preserve_rc: bool
    ok: bool = True  # $?
    last_exit: int | None = None  # $LASTEXITCODE
    exit: int | None = None

    def native(self, rc: int) -> None:
        self.last_exit = rc
        self.ok = rc == 0

    def exit_code(self) -> int:
        """powershell.exe -EncodedCommand exits 1 when the last statement failed; Ansible's suffix passes $LASTEXITCODE."""
        if self.exit is not None:
            return self.exit
        if self.ok:
            return 0
        if self.preserve_rc and self.last_exit is not None:
            return self.last_exit
        return 1


_Handler = Callable[["PayloadRunner", re.Match[str], str, _Out, _ScriptState], bool]
_LITERAL = r"(?:'(?:[^']|'')*'|\"[^\"$`]*\")"


def _st_boot_time(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    out.stdout.append(f"{filetime(runner.host.boot_time)}\r\n")
    st.ok = True
    return True


def _st_literal(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    out.stdout.append(_ps_unquote(m.group("value")) + "\r\n")
    st.ok = True
    return True


def _st_env(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    env = {k.lower(): v for k, v in user_environment(runner.host, user).items()}
    value = env.get(m.group("name").lower())
    if value is not None:
        out.stdout.append(value + "\r\n")
    st.ok = True
    return True


def _st_exit(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    st.exit = int(m.group("code") or 0)
    return False


def _st_get_item(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    path = _ps_unquote(m.group("path"))
    stop = bool(m.group("stop"))
    if _is_registry(path):
        found = runner.host.reg_get_key(path) is not None
        table = "Name                           Property\r\n----                           --------\r\n"
        listing = f"\r\n    Hive: {_registry_parent(path)}\r\n\r\n\r\n{table}{path.rsplit(chr(92), 1)[-1]}\r\n\r\n"
    else:
        found = runner.host.exists(path)
        listing = f"\r\n    Directory: {path.rsplit(chr(92), 1)[0]}\r\n\r\n{path.rsplit(chr(92), 1)[-1]}\r\n\r\n"
    if found:
        out.stdout.append(listing)
        st.ok = True
        return True
    out.stderr.append(f"Get-Item : Cannot find path '{path}' because it does not exist.")
    st.ok = False
    return not stop


def _st_remove_item(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    path = _ps_unquote(m.group("path"))
    if path.endswith("\\.") or path.endswith("/."):
        path = path[:-2]  # Ansible removes '<tmp>\.'; the path means the folder itself
    silent = bool(m.group("silent"))
    try:
        if _is_registry(path):
            runner.host.reg_delete_key(path, recurse=bool(m.group("recurse")))
        else:
            runner.host.remove(path, recursive=bool(m.group("recurse")))
        st.ok = True
    except WinError as exc:
        if exc.code in (2, 3):
            message = f"Remove-Item : Cannot find path '{path}' because it does not exist."
        else:
            message = f"Remove-Item : {exc}"
        if not silent:
            out.stderr.append(message)
        st.ok = False
    return True


def _st_shutdown(runner: PayloadRunner, m: re.Match[str], user: str, out: _Out, st: _ScriptState) -> bool:
    rc, stdout, stderr = runner.shutdown(winpath.split_command_line(m.group("args")), user)
    if stdout:
        out.stdout.append(stdout + "\r\n")
    if stderr:
        out.stderr.append(stderr)
    st.native(rc)
    return True


_STATEMENTS: list[tuple[re.Pattern[str], _Handler]] = [
    (_BOOT_TIME, _st_boot_time),
    (re.compile(rf"^(?:(?:Write-Output|echo|Write-Host)\s+(?:-InputObject\s+)?)?(?P<value>{_LITERAL})$", re.I), _st_literal),
    (re.compile(r"^\$env:(?P<name>\w+)$", re.I), _st_env),
    (re.compile(r"^exit(?:\s+(?P<code>-?\d+))?$", re.I), _st_exit),
    (re.compile(rf"^Get-Item\s+(?:-LiteralPath\s+|-Path\s+)?(?P<path>{_LITERAL})(?P<stop>\s+-ErrorAction\s+Stop)?$", re.I), _st_get_item),
    (
        re.compile(
            rf"^Remove-Item\s+(?:-LiteralPath\s+|-Path\s+)?(?P<path>{_LITERAL})(?:\s+-Force)?(?P<recurse>\s+-Recurse)?"
            r"(?:\s+-Force)?(?P<silent>\s+-ErrorAction\s+(?:SilentlyContinue|Ignore))?$",
            re.I,
        ),
        _st_remove_item,
    ),
    (re.compile(r"^(?:&\s*)?(?:'?C:\\Windows\\System32\\)?shutdown(?:\.exe)?'?\s+(?P<args>.*)$", re.I), _st_shutdown),
]


# -- helpers ---------------------------------------------------------------------------------------------------------
def normalise_script(script: str) -> tuple[str, bool]:
    """Strip Ansible's ``Set-StrictMode`` prefix and exit-code suffix; returns (body, whether the suffix was there)."""
    body = _STRICT.sub("", script, count=1)
    body, count = _PRESERVE_RC.subn("", body)
    return body.strip(), bool(count)


def split_statements(script: str) -> list[str]:
    """Split on newlines and ``;`` outside quotes."""
    statements, buf, quote = [], [], ""
    for ch in script:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch in ";\r\n":
            statements.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    statements.append("".join(buf).strip())
    return [s for s in statements if s]


def module_fqcn(script_name: str) -> str:
    """``ansible_collections.ns.coll.plugins.modules.name.ps1`` → ``ns.coll.name``; ``ansible.modules.x`` → ``ansible.builtin.x``."""
    name = re.sub(r"\.(ps1|cs)$", "", script_name)
    parts = name.split(".")
    if parts[0] == "ansible_collections" and "modules" in parts:
        return ".".join([parts[1], parts[2], parts[-1]])
    if parts[:2] == ["ansible", "modules"]:
        return "ansible.builtin." + parts[-1]
    return name


def filetime(moment: datetime) -> int:
    """A datetime as a Windows FILETIME (100 ns ticks since 1601-01-01 UTC), as ``.ToFileTime()`` prints it."""
    delta = moment.astimezone(UTC) - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def user_environment(host: Any, user: str) -> dict[str, str]:
    """The environment a process of ``user`` sees: the host's own when it provides one, else the Windows defaults."""
    provided = getattr(host, "env", None)
    if callable(provided):
        return dict(provided(user))
    short = user.rsplit("\\", 1)[-1]
    if user.upper().startswith("NT AUTHORITY\\"):
        profile, temp = r"C:\Windows\system32\config\systemprofile", r"C:\Windows\TEMP"
    else:
        profile = f"C:\\Users\\{short}"
        temp = f"{profile}\\AppData\\Local\\Temp"
    return {
        "USERPROFILE": profile,
        "TEMP": temp,
        "TMP": temp,
        "APPDATA": f"{profile}\\AppData\\Roaming",
        "LOCALAPPDATA": f"{profile}\\AppData\\Local",
        "USERNAME": short,
        "COMPUTERNAME": str(getattr(host, "name", "")).upper(),
        "SystemRoot": r"C:\Windows",
        "windir": r"C:\Windows",
        "SystemDrive": "C:",
        "ProgramFiles": r"C:\Program Files",
        "ProgramData": r"C:\ProgramData",
    }


def clixml_errors(lines: list[str]) -> bytes:
    """Error records as powershell.exe writes them to stderr under WinRM (CLIXML); Ansible's winrm plugin decodes them."""
    records = "".join(f'<S S="Error">{_clixml_escape(line)}_x000D__x000A_</S>' for line in "\n".join(lines).split("\n"))
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">' + records + "</Objs>").encode()


def _clixml_escape(text: str) -> str:
    text = escape(text).replace("_x", "_x005F_x")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m.group(0)):04X}_", text.replace("\r", ""))


def _encoded_command(args: list[str]) -> str | None:
    """The script of ``-EncodedCommand`` (any unambiguous prefix, as powershell.exe accepts: -e, -ec, -enc...)."""
    for i, arg in enumerate(args[:-1]):
        flag = arg.lower()
        if flag.startswith("-e") and "-encodedcommand".startswith(flag) and flag not in ("-ex", "-exe", "-exec"):
            try:
                return base64.b64decode(args[i + 1]).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def _is_native(stmt: str) -> bool:
    """A bare native command line: no PowerShell syntax and not a cmdlet (Verb-Noun)."""
    first = stmt.split(None, 1)[0] if stmt.split() else ""
    if re.search(r"[$|{}()`;@]", stmt) or re.match(r"^[A-Za-z]+-[A-Za-z]+$", first):
        return False
    return bool(re.match(r"^[A-Za-z0-9_.:\\-]+$", first))


def _is_registry(path: str) -> bool:
    return bool(re.match(r"^(HK(LM|CU|CR|U|CC)|HKEY_[A-Z_]+|Registry::)", path, re.I))


def _registry_parent(path: str) -> str:
    hives = {"HKLM:": "HKEY_LOCAL_MACHINE", "HKCU:": "HKEY_CURRENT_USER"}
    parent = path.rsplit("\\", 1)[0]
    head, _sep, rest = parent.partition("\\")
    return hives.get(head.upper(), head) + ("\\" + rest if rest else "")


def _ps_unquote(literal: str) -> str:
    if len(literal) >= 2 and literal[0] == literal[-1] == "'":
        return literal[1:-1].replace("''", "'")
    if len(literal) >= 2 and literal[0] == literal[-1] == '"':
        return literal[1:-1]
    return literal


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", str(text))[:4])


def _bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _json_result(data: dict[str, Any], rc: int) -> ProcessResult:
    return ProcessResult(rc, (json.dumps(data, separators=(",", ":")) + "\r\n").encode())


def _wrapper_error(message: str) -> ProcessResult:
    """exec_wrapper's Write-AnsibleErrorJson: the failure as module JSON on stdout, exit 1."""
    return _json_result({"failed": True, "msg": f"failure during exec_wrapper: {message}", "exception": message}, rc=1)


def _become_error(reason: str) -> ProcessResult:
    return _wrapper_error(f'Exception calling "CreateProcessAsUser" with "9" argument(s): "{reason}"')


def _not_modelled_job(message: str) -> _FixedJob:
    return _FixedJob(ProcessResult(1, stderr=clixml_errors([message])))


def _module_result(result: ProcessResult) -> dict[str, Any]:
    """The module's JSON inside the output, as async_watchdog.ps1 extracts it (first ``{`` to last ``}``)."""
    text = result.stdout.decode("utf-8", "replace")
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < 0:
        return {"failed": True, "msg": "failure during async watchdog: No start of json char found in module result"}
    try:
        data = json.loads(text[start : end + 1])
    except ValueError as exc:
        return {"failed": True, "msg": f"failure during async watchdog: {exc}"}
    return data if isinstance(data, dict) else {"failed": True, "msg": "module result is not an object"}
