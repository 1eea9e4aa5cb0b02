"""ansible.windows.win_package: install or remove an MSI or an executable installer, idempotent by product id.

Providers as win_package.ps1 picks them: ``msi`` for a Windows Installer package (here: a simulated program file of kind
``msi``, whose header names its ``product_code``), ``registry`` for anything else (an installer whose ``product_id`` is
an Uninstall key name). MSI is run as ``msiexec.exe /i <path> /L*V <log> /qn /norestart [arguments]`` and removed with
``/x {code}``; other installers run as ``<path> [arguments]`` and are removed with their (Quiet)UninstallString, all
through Host.run. rc 3010 sets ``reboot_required``; an rc not in ``expected_return_code`` fails with stdout/stderr (and
the MSI log). URLs, msix and msp packages are not modelled and say so.
"""

from __future__ import annotations

import json
from typing import Any

from simulator import winpath
from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import HASHES, extension, join_path
from simulator.twins.ansible_windows.win_command import run_process
from simulator.winerror import WinError

_UNINSTALL_KEYS = [
    f"{hive}:\\{key}\\Microsoft\\Windows\\CurrentVersion\\Uninstall" for hive in ("HKLM", "HKCU") for key in ("SOFTWARE", "SOFTWARE\\Wow6432Node")
]
_MSIX = (".appx", ".appxbundle", ".msix", ".msixbundle")


@twin(
    "ansible.windows.win_package",
    # The .ps1 offers msi, msix, msp, registry and auto; the documentation lists the same.
    required_by={"creates_version": "creates_path"},
    required_if=[["state", "present", ["path"]], ["state", "absent", ["path", "product_id"], True]],
)
def win_package(m: ModuleRun) -> None:
    p, host = m.params, m.host
    m.result["reboot_required"] = False
    arguments = p["arguments"]
    if isinstance(arguments, list):
        arguments = " ".join(winpath.quote_arg(str(a)) for a in arguments)
    present = p["state"].lower() == "present"
    path = p["path"]
    if path and path.lower().startswith("http"):
        m.fail_json("simulator: win_package from a URL is not modelled")
    if path and not host.exists(path) and not m.check_mode:
        m.fail_json(f"the file at the path '{path}' cannot be reached")
    status = _installed_status(m, path if path and host.exists(path) else None)
    changed = present != status["installed"]
    m.result["rc"] = 0
    if changed and not m.check_mode:
        if p["checksum_algorithm"] and present and path:
            digest = HASHES[p["checksum_algorithm"].lower()](host.read_bytes(path), usedforsecurity=False).hexdigest().upper()
            m.result["checksum"] = digest
            if p["checksum"] and p["checksum"] != digest:
                m.fail_json(f"The checksum for {path} did not match '{p['checksum']}', it was '{digest}'")
        if status["provider"] == "msi":
            _msiexec(m, ["/i", path] if present else ["/x", status["id"]], arguments)
        else:
            _registry_set(m, path if present else None, status, arguments)
    m.result["changed"] = changed


def program_header(host: Any, path: str) -> tuple[str, dict[str, Any]] | None:
    """(kind, args) of a simulated program file (first line ``#!simulator-program <kind> <json>``), else None."""
    try:
        first = host.read_bytes(path)[:4096].split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    except WinError:
        return None
    if not first.startswith("#!simulator-program "):
        return None
    kind, _sep, args = first.removeprefix("#!simulator-program ").partition(" ")
    try:
        return kind, json.loads(args) if args.strip() else {}
    except json.JSONDecodeError:
        return kind, {}


def _installed_status(m: ModuleRun, path: str | None) -> dict[str, Any]:
    """Get-InstalledStatus: provider, product id and whether it is installed (then creates_* override it)."""
    p, host = m.params, m.host
    provider = p["provider"].lower()
    if provider in ("msix", "msp") or (path and provider == "auto" and extension(path).lower() in _MSIX):
        m.fail_json("simulator: win_package msix and msp packages are not modelled")
    header = program_header(host, path) if path else None
    if path:
        if provider == "auto":
            provider = "msi" if header and header[0] == "msi" else "registry"
        status = _test(m, provider, p["product_id"], header)
    else:
        candidates = ["msi", "registry"] if provider == "auto" else [provider]
        for name in candidates:
            status = _test(m, name, p["product_id"], None)
            if status["installed"]:
                break
    if p["creates_path"]:
        exists = host.exists(p["creates_path"])
        status["installed"] = exists
        if p["creates_version"] and exists:
            if host.is_dir(p["creates_path"]):
                m.fail_json("creates_path must be a file not a directory when creates_version is set")
            status["installed"] = _file_version(host, p["creates_path"]) == _version(p["creates_version"])
    if p["creates_service"]:
        status["installed"] = host.service(p["creates_service"]) is not None
    return status


def _test(m: ModuleRun, provider: str, product_id: str | None, header: tuple[str, dict] | None) -> dict[str, Any]:
    host = m.host
    if provider == "msi":
        code = (header[1].get("product_code") if header else None) or product_id
        product = host.product(code) if code else None
        return {"provider": "msi", "id": code, "installed": bool(product and product.msi), "registry_path": None}
    for root in _UNINSTALL_KEYS:
        if product_id and host.reg_get_key(f"{root}\\{product_id}") is not None:
            return {"provider": "registry", "id": product_id, "installed": True, "registry_path": f"{root}\\{product_id}"}
    return {"provider": "registry", "id": product_id, "installed": False, "registry_path": None}


def _msiexec(m: ModuleRun, actions: list[str], arguments: str | None) -> None:
    log = m.params["log_path"] or join_path(m.tmpdir, "msiexec.log")
    msiexec = m.env.get("SystemRoot", "C:\\Windows") + "\\System32\\msiexec.exe"
    command = winpath.join_command_line([msiexec, *actions, "/L*V", log, "/qn", "/norestart"])
    if arguments:
        command += f" {arguments}"
    _invoke(m, command, log)
    if not m.params["log_path"] and m.host.exists(log):
        m.host.remove(log)


def _registry_set(m: ModuleRun, path: str | None, status: dict[str, Any], arguments: str | None) -> None:
    host = m.host
    if path:
        command = winpath.quote_arg(path)
    else:
        key = host.reg_get_key(status["registry_path"])
        value = key.value("QuietUninstallString") or key.value("UninstallString")
        if value is None:
            m.fail_json(f"Failed to find registry uninstall string at registry path '{status['registry_path']}'")
        command = str(value.data)
        if command.startswith(("%", '"%')):
            command = m.expand_env(command)
    if arguments:
        command += f" {arguments}"
    _invoke(m, command, None)


def _invoke(m: ModuleRun, command: str, log: str | None) -> None:
    """Invoke-Executable: an rc outside expected_return_code fails with the output (and the MSI log)."""
    try:
        outcome = run_process(m.host, command, cwd=m.params["chdir"], user=m.user)
    except WinError as e:
        raise WinError(e.code, f"CreateProcessW() failed ({e}, Win32ErrorCode {e.code} - 0x{e.code:08X})") from None
    rc = outcome.rc - (1 << 32) if outcome.rc >= 1 << 31 else outcome.rc  # UInt32 exit code read as Int32
    m.result["rc"] = rc
    if rc not in m.params["expected_return_code"]:
        m.result["stdout"] = _text(outcome.stdout)
        m.result["stderr"] = _text(outcome.stderr)
        if log and m.host.exists(log):
            m.result["log"] = _log_text(m.host.read_bytes(log))
        m.fail_json(f"unexpected rc from '{command}': see rc, stdout, and stderr for more details")
    m.result["failed"] = False
    if rc == 3010:
        m.result["reboot_required"] = True


def _file_version(host: Any, path: str) -> tuple[int, ...]:
    """FileVersionInfo as a 4-part System.Version; simulated programs carry it as ``file_version`` in their header."""
    header = program_header(host, path)
    parts = _version(str((header[1] if header else {}).get("file_version", "0")))
    return tuple(max(p, 0) for p in (*parts, 0, 0, 0, 0)[:4])


def _version(text: str) -> tuple[int, ...]:
    """[System.Version]: missing build/revision parts are -1, so '1.2' never equals a file's 1.2.0.0."""
    parts = [int(x) if x.isdigit() else 0 for x in str(text).split(".")]
    return tuple((*parts, -1, -1, -1, -1)[:4])


def _log_text(data: bytes) -> str:
    """Get-Content of an msiexec log: Windows Installer may write it as UTF-16."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if data[1:2] == b"\x00":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
