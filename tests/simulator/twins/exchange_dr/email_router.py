"""exchange_dr.recovery.email_router: the Windows half, as plugins/modules/email_router.ps1 does it.

Through the Host API, step by step like the .ps1 (and module_utils/_EmailRouter.psm1's Get-ExDrEmailRouter):
- detection: the service (the Win32_Service instance a WQL filter built with ConvertTo-ExDrWqlString finds; a filter WMI
  cannot parse finds nothing, as -ErrorAction SilentlyContinue hides the error: state, start mode, StartName, PathName), the
  Service folder = folder of the service executable, the install folder from `registry_path`/`registry_value` (else the
  folder above the Service folder), the first Uninstall entry (64-bit, then 32-bit view) whose DisplayName is -like
  `product_name` (with WindowsInstaller), the file version of Microsoft.Crm.Tools.EmailAgent.exe (the `file_version` of its
  program marker). Installed = product + service + executable;
- state=absent: runs the entry's QuietUninstallString; for a Windows Installer product `msiexec.exe /x {code} /qn
  /norestart` (its UninstallString is MsiExec.exe /I{code}: a silent /I run of an installed product is a maintenance run
  that removes nothing); else UninstallString + " /Q"; rc 0/3010 accepted;
- state=present and not complete, or state=reinstalled: (reinstalled: uninstall first) writes `install_config` to the module
  tmpdir and runs `path arguments /L log_path /config <file>` (+ /InstallAlways when a registration is left); rc 0/3010;
  the last 20 log lines are returned on failure;
- `before`: installed, version and service account as detected first (the controller builds the --diff from it);
- rc 3010 sets reboot_required and failed=false (ansible-core fails a result whose rc is not 0 and that has no failed key);
- service_account: compared by SID (here: canonical identity); Win32_Service.Change sets StartName/StartPassword ("" when no
  password is given); a running service is restarted (Restart-Service -Force).
The program that setup runs is simulator/programs/email_router.py.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from simulator.programs import parse_marker
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._windows import service_start_mode, service_state, wql_string
from simulator.winerror import WinError
from simulator.winpath import join_command_line, split_command_line
from simulator.wmi import query_win32_service

EXE = "Microsoft.Crm.Tools.EmailAgent.exe"


def service_image(path: str) -> str | None:
    argv = split_command_line(path) if path else []
    return argv[0] if argv else None


def detect(host: Any, service_name: str, registry_path: str, registry_value: str, product_name: str = "*E-mail Router*") -> dict[str, Any]:
    """Get-ExDrEmailRouter (module_utils/_EmailRouter.psm1)."""
    info: dict[str, Any] = {"service": None, "install_folder": None, "service_folder": None, "version": None, "product": None}
    try:
        instances = query_win32_service(host, f"Name={wql_string(service_name)}")  # the filter matches the name only
    except WinError:
        instances = []  # Get-CimInstance -ErrorAction SilentlyContinue: an invalid query finds nothing
    if instances:
        svc = instances[0]
        info["service"] = {
            "name": svc["Name"],
            "display_name": svc["DisplayName"],
            "state": service_state(svc["State"]),
            "start_mode": service_start_mode(host, svc),
            "account": svc["StartName"],
            "path": svc["PathName"],
        }
        image = service_image(svc["PathName"])
        if image:
            info["service_folder"] = image.rsplit("\\", 1)[0]
            if host.exists(image):
                parsed = parse_marker(host.read_bytes(image)[:4096])
                info["version"] = str(parsed[1].get("file_version")) if parsed and parsed[1].get("file_version") else None
    value = host.reg_get_value(registry_path, registry_value)
    if value is not None and value.data:
        info["install_folder"] = str(value.data).rstrip("\\")
        if not info["service_folder"]:
            info["service_folder"] = info["install_folder"] + "\\Service"
    elif info["service_folder"]:
        info["install_folder"] = info["service_folder"].rsplit("\\", 1)[0]
    pattern = product_name.casefold()
    for code, product in host.products().items():
        if product.name and fnmatch.fnmatchcase(product.name.casefold(), pattern):
            info["product"] = {
                "code": code,
                "name": product.name,
                "version": product.version,
                "uninstall_string": product.uninstall_string,
                "quiet_uninstall_string": product.quiet_uninstall_string,
                "windows_installer": product.msi,
            }
            break
    if not info["version"] and info["product"]:
        info["version"] = info["product"]["version"]
    return info


def _complete(host: Any, info: dict[str, Any]) -> bool:
    return bool(info["product"] and info["service"] and info["service_folder"] and host.exists(f"{info['service_folder']}\\{EXE}"))


def _log_tail(host: Any, path: str) -> list[str]:
    if not host.exists(path):
        return []
    return host.read_bytes(path).decode("utf-8", "replace").splitlines()[-20:]


@twin("exchange_dr.recovery.email_router", required_if=[["state", "present", ["path"]], ["state", "reinstalled", ["path"]]])
def email_router(m: ModuleRun) -> None:
    p = m.params
    r = m.result
    r.update(
        changed=False,
        installed=False,
        install_folder=None,
        service_folder=None,
        version=None,
        product_code=None,
        service_name=p["service_name"],
        service_state=None,
        service_account=None,
        rc=0,
        reboot_required=False,
        before={"installed": False, "version": None, "service_account": None},
        log_tail=[],
    )
    host = m.host

    def find() -> dict[str, Any]:
        return detect(host, p["service_name"], p["registry_path"], p["registry_value"], p["product_name"])

    def exit_code(rc: int) -> None:
        """Set-ExDrExitCode."""
        r["rc"] = rc
        if rc == 3010:
            r["reboot_required"] = True
            r["failed"] = False

    def uninstall(info: dict[str, Any]) -> None:
        product = info["product"]
        command = uninstall_command(m, product)
        try:
            rc = host.run(command, user=m.user).rc
        except WinError as e:  # Run-Command throws when the program cannot be started
            m.fail_json(f"Failed to remove the Email Router ({product['name']}): '{command}' could not be started: {e}")
        exit_code(rc)
        if rc not in (0, 3010):
            m.fail_json(f"Failed to remove the Email Router ({product['name']}): '{command}' returned {rc}: ")

    def assert_setup() -> None:
        if not host.exists(p["path"]) or host.is_dir(p["path"]):  # Test-Path: False also when the session cannot reach it
            m.fail_json(
                f"Failed to install the Email Router: the setup program '{p['path']}' cannot be found (or this session cannot reach it: the second hop)"
            )
        if not p["install_config"]:
            m.fail_json("Failed to install the Email Router: install_config is empty (the action plugin renders it; run the module through it)")

    def setup(again: bool) -> None:
        config_file = m.tmpdir + "\\EmailRouterSetup.xml"
        host.write_bytes(config_file, p["install_config"].encode("utf-8"))
        argv = [p["path"], *p["arguments"], "/L", p["log_path"], "/config", config_file] + (["/InstallAlways"] if again else [])
        command = join_command_line(argv)
        try:
            outcome = host.run(command, user=m.user)
        except WinError as e:
            m.fail_json(f"Failed to install the Email Router: '{command}' could not be started: {e}")
        exit_code(outcome.rc)
        if outcome.rc not in (0, 3010):
            r["log_tail"] = _log_tail(host, p["log_path"])
            m.fail_json(f"Failed to install the Email Router: '{command}' returned {outcome.rc}: {outcome.stderr}")

    info = find()
    r["before"].update(installed=_complete(host, info), version=info["version"], service_account=info["service"]["account"] if info["service"] else None)
    state = p["state"]
    if state == "absent":
        if info["product"] or info["service"]:
            r["changed"] = True
            if not m.check_mode:
                if not info["product"]:
                    m.fail_json(f"Failed to remove the Email Router: the service '{p['service_name']}' exists but no product matches '{p['product_name']}'")
                uninstall(info)
    elif state == "reinstalled" or not _complete(host, info):
        assert_setup()
        r["changed"] = True
        if not m.check_mode:
            again = False
            if state == "reinstalled" and info["product"]:
                uninstall(info)
            elif info["product"]:
                again = True
            setup(again)

    if not m.check_mode:
        info = find()
    account = p["service_account"]
    if state != "absent" and account and info["service"]:
        wanted = _identity(m, account)
        if wanted != _identity(m, info["service"]["account"]):
            r["changed"] = True
            if not m.check_mode:
                start_name = "LocalSystem" if wanted == "NT AUTHORITY\\SYSTEM" else account
                password = "" if p["service_password"] is None else p["service_password"]  # "" for an account without one
                host.set_service(info["service"]["name"], account=start_name, password=password)
                if info["service"]["state"] == "running":
                    try:
                        host.restart_service(info["service"]["name"], force=True)
                    except WinError as e:
                        m.fail_json(f"Failed to restart the service '{info['service']['name']}' as '{account}': {e}")
                info = find()
            else:
                info["service"]["account"] = account

    r["installed"] = _complete(host, info)
    r["install_folder"] = info["install_folder"]
    r["service_folder"] = info["service_folder"]
    r["version"] = info["version"]
    if info["product"]:
        r["product_code"] = info["product"]["code"]
    if info["service"]:
        r["service_state"] = info["service"]["state"]
        r["service_account"] = info["service"]["account"]


_GUID = re.compile(r"\{[0-9A-Fa-f-]{36}\}")
_MSIEXEC = re.compile(r'(^|[\\"\s])msiexec(\.exe)?"?\s', re.IGNORECASE)


def uninstall_command(m: ModuleRun, product: dict[str, Any]) -> str:
    """Get-ExDrUninstallCommand."""
    if product["quiet_uninstall_string"]:
        return str(product["quiet_uninstall_string"])
    uninstall = str(product["uninstall_string"] or "")
    if product["windows_installer"] or _MSIEXEC.search(uninstall):
        code = product["code"]
        found = _GUID.search(uninstall)
        if not _GUID.fullmatch(code) and found:
            code = found.group(0)
        msiexec = m.env.get("SystemRoot", r"C:\Windows") + r"\System32\msiexec.exe"
        return join_command_line([msiexec, "/x", code, "/qn", "/norestart"])
    return f"{uninstall} /Q"


def _identity(m: ModuleRun, account: str) -> str:
    """NTAccount.Translate(SecurityIdentifier): an unknown account fails the module."""
    canon = m.host.canonical_identity(account)
    if canon.startswith(("NT AUTHORITY\\", "NT SERVICE\\")) or m.host.account(canon) is not None:
        return canon
    translate = 'Exception calling "Translate" with "1" argument(s): "Some or all identity references could not be translated."'
    m.fail_json(f"Failed to find the account '{account}': {translate}")
    return canon  # unreachable
