"""ansible.windows.win_command: runs a command line through the host's process model (Host.run), as the module does
with CreateProcess: no shell, ``creates``/``removes`` checked first, rc != 0 fails with "non-zero return code".
The module does not support check mode (Ansible.Basic skips it)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

from simulator import winpath
from simulator.twins import ModuleRun, twin
from simulator.winerror import WinError

_COMMAND = ["_raw_params", "argv", "cmd"]


@twin(
    "ansible.windows.win_command",
    options={"_raw_params": {"type": "str"}},
    required_one_of=[_COMMAND],
    mutually_exclusive=[_COMMAND],
)
def win_command(m: ModuleRun) -> None:
    p, host = m.params, m.host
    if p["cmd"]:
        command = p["cmd"]
    elif p["_raw_params"]:
        command = p["_raw_params"].strip()
    else:
        argv = list(p["argv"])
        argv[0] = _resolve_executable(m, argv[0], p["chdir"])
        command = winpath.join_command_line(argv)
    m.result["cmd"] = command
    m.result["rc"] = 0
    if p["creates"] and host.exists(p["creates"]):
        m.exit_json(msg=f"skipped, since {p['creates']} exists", skipped=True)
    if p["removes"] and not host.exists(p["removes"]):
        m.exit_json(msg=f"skipped, since {p['removes']} does not exist", skipped=True)
    if p["output_encoding_override"]:
        m.fail_json("simulator: output_encoding_override is not modelled")
    start = _now(host)
    try:
        outcome = run_process(host, command, cwd=p["chdir"], user=m.user, stdin=p["stdin"])
    except WinError as e:
        m.result["rc"] = e.code
        m.fail_json(f"Failed to run: '{command}': CreateProcessW() failed ({e}, Win32ErrorCode {e.code} - 0x{e.code:08X})")
    end = _now(host)
    m.result.update(
        changed=True,
        stdout=_text(outcome.stdout),
        stderr=_text(outcome.stderr),
        rc=outcome.rc,
        start=f"{start:%Y-%m-%d %H:%M:%S.%f}",
        end=f"{end:%Y-%m-%d %H:%M:%S.%f}",
        delta=_delta(end - start),
    )
    if outcome.rc != 0:
        m.fail_json("non-zero return code")


def run_process(host: Any, command: str, *, cwd: str | None, user: str, stdin: str | None = None) -> Any:
    """Host.run with the options a module passes; stdin only where the host models it."""
    kwargs: dict[str, Any] = {"cwd": cwd, "user": user}
    if stdin:
        if "stdin" not in inspect.signature(host.run).parameters:
            raise WinError(50, "simulator: sending stdin to a process is not modelled by this host")
        kwargs["stdin"] = stdin
    if cwd and not host.is_dir(cwd):
        raise WinError(267)
    return host.run(command, **kwargs)


def _resolve_executable(m: ModuleRun, name: str, chdir: str | None) -> str:
    """Resolve-ExecutablePath: add .exe, look it up like Get-Command (the Path folders), then relative to chdir, else as given."""
    host = m.host
    if not winpath_has_extension(name):
        name = f"{name}.exe"
    if "\\" in name or "/" in name or ":" in name:
        if host.exists(name) and not host.is_dir(name):
            return host.stat(name).path
    else:
        folders = next((v for k, v in m.env.items() if k.lower() == "path"), "").split(";")
        for folder in filter(None, folders):
            candidate = f"{folder.rstrip(chr(92))}\\{name}"
            if host.exists(candidate) and not host.is_dir(candidate):
                return host.stat(candidate).path
    if chdir:
        candidate = f"{chdir.rstrip(chr(92))}\\{name}"
        if host.exists(candidate):
            return candidate
    return name


def winpath_has_extension(name: str) -> bool:
    leaf = name.replace("/", "\\").rpartition("\\")[2]
    return "." in leaf.strip(".")


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def _now(host: Any) -> datetime:
    clock = getattr(host, "clock", None)
    return datetime.fromtimestamp(clock.time() if clock else datetime.now(UTC).timestamp(), UTC)


def _delta(span: Any) -> str:
    total = span.total_seconds()
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{seconds:09.6f}"
