"""The Dynamics CRM Email Router: its installer (SetupEmailRouter.exe) and its service (Microsoft.Crm.Tools.EmailAgent.exe).

Facts: the project's shared docs/email-router-facts.md ([C] a source shows it, [I] inferred, [U] not found).

Installer, kind `email_router_installer`, marker args `{"product": {code, name, version, publisher}, "service_display_name",
"seconds", "rc", "msi"}`:
- Unattended switches as the sibling CRM setup programs take them [C S20]: `/Q` or `/QR` (quiet; without one setup would wait
  at a dialog, which under WinRM is forever: 1602), `/L <log>`, `/config <file>` (required with `/Q` [C S20]), `/InstallAlways`
  (install again over an installed product), `/X` (remove; this model's choice, [U]).
- The config file is `<CRMSetup><EmailRouter><InstallDir>...</InstallDir></EmailRouter></CRMSetup>`, by analogy with the
  other CRM setup programs [U]; anything else fails the setup (rc 1, reason in the log).
- Installs `<InstallDir>\\Service` with the four executables [C S7], a default Microsoft.Crm.Tools.EmailAgent.xml with the
  sample SystemConfiguration values [C S1] and no providers [I], the install location under
  `HKLM\\SOFTWARE\\Microsoft\\MSCRM Email` [C S13, S7] in the value `InstallDir` (name [U]), the service `MSCRMEmail` [I]
  with the display name of the release [C S17, S18] running as LocalSystem [C S21], and an Uninstall entry whose
  QuietUninstallString runs the setup copy in `<InstallDir>\\Setup` with `/X /Q` [U]. The service is started at the end [I].
  With `"msi": true` the entry is the Windows Installer product's instead (how the setup registers it is [U]): WindowsInstaller=1,
  UninstallString `MsiExec.exe /I{code}` as Windows Installer writes it, no QuietUninstallString; `msiexec /x {code}` removes
  the router (programs/installers.py msi_remove_action).
- `"rc": 3010` is a successful install that asks for a restart: installed, then exit code 3010 (ERROR_SUCCESS_REBOOT_REQUIRED);
  any other non-zero `rc` fails the setup before it installs anything.

Service, kind `email_router_service` (a service entry, see programs.service_entry): once RUNNING it reads its configuration
set from its own folder after `config_load_seconds` (marker arg, default 5 simulated seconds) and stops with a `#16192` error
event in the Application log, source `MSCRMEmail` [C S14, S26], when:
- Microsoft.Crm.Tools.EmailAgent.xml is missing or its service account cannot read it (the file ACL):
  "System information was not specified ... UnauthorizedAccessException" [C S14];
- Microsoft.Crm.Tools.EmailAgent.xml is not well-formed XML, or its root is not `Configuration` [I];
- an EmailPassword is encrypted and EncryptionKey.xml is missing, unreadable or does not decrypt it (AES-CBC, PKCS7) [C S7, I];
- Microsoft.Crm.Tools.EmailAgent.SystemState.xml exists but is empty or corrupt: "cannot access system state file ... Root
  element is missing" [C S10, S26].
The messages quote the fragments the sources show; the rest of their wording is this model's. The event ID is not documented
(the router's own code is in the text), so events carry ID 0.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from simulator.hoststate import Product
from simulator.programs import ProcessContext, marker, program, service_entry
from simulator.programs.installers import cache_package, msi_remove_action
from simulator.winerror import ERROR_SUCCESS_REBOOT_REQUIRED, WinError

if TYPE_CHECKING:
    from simulator.host import Host

ERROR_INSTALL_USEREXIT = 1602  # the user cancelled (what a setup waiting at a dialog amounts to under WinRM)
REG_KEY = r"HKLM:\SOFTWARE\Microsoft\MSCRM Email"
REG_INSTALL_DIR = "InstallDir"  # [U] value name
SERVICE = "MSCRMEmail"
DISPLAY_NAME_2016 = "Microsoft Dynamics CRM Email Router"
DEFAULT_INSTALL_DIR = r"C:\Program Files\Microsoft CRM Email"
EVENT_SOURCE = "MSCRMEmail"
CONFIG = "Microsoft.Crm.Tools.EmailAgent.xml"
KEY = "EncryptionKey.xml"
STATE = "Microsoft.Crm.Tools.EmailAgent.SystemState.xml"
ENCRYPTED_PREFIX = "{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:"
EXECUTABLES = (
    "Microsoft.Crm.Tools.EmailAgent.exe",
    "Microsoft.Crm.Tools.Email.Management.exe",
    "Microsoft.Crm.Tools.ExchangeConnectorWizard.exe",
    "Microsoft.Crm.Setup.EMailRouter.exe",
)
DEFAULT_CONFIG = (
    '<?xml version="1.0" encoding="utf-8"?>\r\n<Configuration>\r\n  <SystemConfiguration>\r\n    <MaxThreads>50</MaxThreads>\r\n'
    "    <MaxThreadExecution>600000</MaxThreadExecution>\r\n    <SchedulingPeriod>1000</SchedulingPeriod>\r\n"
    "    <ConfigRefreshPeriod>5000</ConfigRefreshPeriod>\r\n    <ConfigUpdatePeriod>300000</ConfigUpdatePeriod>\r\n"
    "    <LogLevel>1</LogLevel>\r\n  </SystemConfiguration>\r\n</Configuration>\r\n"
)


# -- installer -------------------------------------------------------------------------------------------------------------
def _switches(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 1
    while i < len(argv):
        low = argv[i].casefold()
        if low in ("/l", "/config") and i + 1 < len(argv):
            out[low] = argv[i + 1]
            i += 2
            continue
        out[low] = ""
        i += 1
    return out


def _log(ctx: ProcessContext, switches: dict[str, str], lines: list[str]) -> None:
    log = switches.get("/l")
    if not log:
        return
    stamp = ctx.host.clock.now().strftime("%H:%M:%S")
    text = "".join(f"{stamp}|Info | {line}\r\n" for line in lines)
    ctx.host.write_bytes(ctx.resolve(log), text.encode("utf-8"), append=ctx.host.exists(ctx.resolve(log)))


def _install_dir(ctx: ProcessContext, config_path: str) -> str:
    """InstallDir from the /config file; ValueError with the reason when the file is not a usable CRMSetup file."""
    try:
        root = fromstring(ctx.host.read_bytes(ctx.resolve(config_path)))
    except WinError as e:
        raise ValueError(f"cannot read the configuration file {config_path}: {e.message}") from None
    except (ParseError, DefusedXmlException) as e:
        raise ValueError(f"the configuration file {config_path} is not valid XML: {e}") from None
    router = root.find("EmailRouter") if root.tag == "CRMSetup" else None
    if router is None:
        raise ValueError(f"the configuration file {config_path} has no <CRMSetup><EmailRouter> element")
    folder = (router.findtext("InstallDir") or "").strip()
    return folder or DEFAULT_INSTALL_DIR


@program("email_router_installer")
def email_router_installer(ctx: ProcessContext) -> int:
    a = ctx.args
    switches = _switches(ctx.argv)
    host = ctx.host
    spec = dict(a.get("product", {}))
    if "/q" not in switches and "/qr" not in switches:
        ctx.err("Microsoft Dynamics CRM E-mail Router Setup needs a user interface; run it with /Q or /QR and /config <file>\r\n")
        return ERROR_INSTALL_USEREXIT
    if "/x" in switches:
        return _uninstall(ctx, switches, spec)
    if "/config" not in switches:
        ctx.err("Setup /Q needs a configuration file: /config <file>\r\n")
        _log(ctx, switches, ["Error: quiet mode requires /config <file>"])
        return 1
    try:
        install_dir = _install_dir(ctx, switches["/config"])
    except ValueError as e:
        ctx.err(f"{e}\r\n")
        _log(ctx, switches, [f"Error: {e}"])
        return 1
    installed = host.product(spec["code"]) is not None
    if installed and "/installalways" not in switches:
        _log(ctx, switches, [f"{spec.get('name')} is already installed; nothing to do (use /InstallAlways to install again)"])
        return 0
    _log(ctx, switches, [f"Installing {spec.get('name')} {spec.get('version')} to {install_dir}"])
    ctx.sleep(float(a.get("seconds", 120)))
    rc = int(a.get("rc", 0))
    if rc not in (0, ERROR_SUCCESS_REBOOT_REQUIRED):
        _log(ctx, switches, [f"Error: setup failed with {rc}"])
        return rc
    service_folder = install_dir.rstrip("\\") + "\\Service"
    setup_folder = install_dir.rstrip("\\") + "\\Setup"
    host.mkdir(service_folder)
    host.mkdir(setup_folder)
    version = str(spec.get("version", ""))
    for exe in EXECUTABLES:
        kind = "email_router_service" if exe == EXECUTABLES[0] else "stub"
        args = {"file_version": version, "config_load_seconds": a.get("config_load_seconds", 5)} if exe == EXECUTABLES[0] else {"file_version": version}
        host.write_bytes(f"{service_folder}\\{exe}", marker(kind, args))
    host.copy(ctx.exe, f"{setup_folder}\\SetupEmailRouter.exe")
    if not host.exists(f"{service_folder}\\{CONFIG}"):
        host.write_bytes(f"{service_folder}\\{CONFIG}", DEFAULT_CONFIG.encode("utf-8"))
    host.reg_set_value(REG_KEY, REG_INSTALL_DIR, install_dir, "REG_SZ", create_key=True)
    host.reg_set_value(REG_KEY, "Version", version, "REG_SZ", create_key=True)
    setup_copy = f'"{setup_folder}\\SetupEmailRouter.exe"'
    msi = bool(a.get("msi", False))
    host.install_product(
        Product(
            code=spec["code"],
            name=spec.get("name", spec["code"]),
            version=version,
            publisher=spec.get("publisher", "Microsoft Corporation"),
            install_location=install_dir,
            msi=msi,
            uninstall_string="" if msi else f"{setup_copy} /X",  # Windows Installer writes MsiExec.exe /I{code}
            quiet_uninstall_string="" if msi else f"{setup_copy} /X /Q",
        )
    )
    if msi:
        cache_package(ctx, spec["code"], "email_router")
    image = f'"{service_folder}\\{EXECUTABLES[0]}"'
    if host.service(SERVICE) is None:
        host.create_service(SERVICE, a.get("service_display_name", DISPLAY_NAME_2016), image, "auto", account="LocalSystem")
    else:
        host.set_service(SERVICE, path=image)
    if host.service(SERVICE).state == "stopped":
        try:
            host.start_service(SERVICE)
        except WinError as e:
            _log(ctx, switches, [f"Warning: the service {SERVICE} did not start: {e.message}"])
    if rc == ERROR_SUCCESS_REBOOT_REQUIRED:
        _log(ctx, switches, [f"{spec.get('name')} installed successfully; restart the computer to finish"])
        return rc
    _log(ctx, switches, [f"{spec.get('name')} installed successfully"])
    return 0


def _uninstall(ctx: ProcessContext, switches: dict[str, str], spec: dict[str, Any]) -> int:
    host = ctx.host
    if host.product(spec["code"]) is None:
        _log(ctx, switches, ["Error: the product is not installed"])
        return 1605
    ctx.sleep(float(ctx.args.get("seconds", 120)) / 2)
    _remove_router(host)
    host.remove_product(spec["code"])
    _log(ctx, switches, [f"{spec.get('name')} removed"])
    return 0


@msi_remove_action("email_router")
def _msi_remove(ctx: ProcessContext, product: Product) -> None:
    """msiexec /x of the router's Windows Installer product (the registration itself msiexec removes)."""
    _remove_router(ctx.host)


def _remove_router(host: Host) -> None:
    """What removing the Email Router undoes: the service, the program files and the install-location key."""
    value = host.reg_get_value(REG_KEY, REG_INSTALL_DIR)
    install_dir = str(value.data) if value else DEFAULT_INSTALL_DIR
    svc = host.service(SERVICE)
    if svc is not None:
        if svc.state != "stopped":
            host.stop_service(SERVICE, force=True)
        host.delete_service(SERVICE)
    service_folder = install_dir.rstrip("\\") + "\\Service"
    for exe in EXECUTABLES:  # program files go; the configuration set in the folder stays, as uninstallers leave user data
        if host.exists(f"{service_folder}\\{exe}"):
            host.remove(f"{service_folder}\\{exe}", force=True)
    if host.reg_key_exists(REG_KEY):
        host.reg_delete_key(REG_KEY, recurse=True)


# -- the service ------------------------------------------------------------------------------------------------------------
@service_entry("email_router_service")
def email_router_service(host: Host, service: str, at: float, args: dict[str, Any]) -> None:
    if args.get("phase") == "started":
        folder = args["image"].replace("/", "\\").rsplit("\\", 1)[0]
        delay = float(args.get("marker", {}).get("config_load_seconds", 5))
        host.add_timer(at + delay, "service_entry", service=service, entry="email_router_service", phase="load", folder=folder)
        return
    if args.get("phase") == "load":
        problem = configuration_problem(host, service, args["folder"])
        if problem is None:
            return
        host.write_event("Application", EVENT_SOURCE, 0, "Error", problem, time=at)
        host.stop_service(service, force=True)


def configuration_problem(host: Host, service: str, folder: str) -> str | None:
    """Why the Email Router service cannot load the configuration set in `folder` (the #16192 text), or None."""
    svc = host.service(service)
    account = svc.account if svc is not None else "LocalSystem"
    config_path = f"{folder}\\{CONFIG}"
    if not host.exists(config_path):
        return (
            "#16192 - System information was not specified for the E-mail Router service. "
            f"System.IO.FileNotFoundException: Could not find file '{config_path}'."
        )
    if not host.access_allowed(config_path, account, "Read"):
        return (
            "#16192 - System information was not specified for the E-mail Router service. "
            f"System.UnauthorizedAccessException: Access to the path '{config_path}' is denied."
        )
    try:
        root = fromstring(host.read_bytes(config_path))
    except (ParseError, DefusedXmlException) as e:
        return f"#16192 - An error occurred while loading the E-mail Router configuration {config_path}. System.Xml.XmlException: {e}"
    if root.tag != "Configuration":
        return f"#16192 - System information was not specified for the E-mail Router service: {config_path} has no <Configuration> element."
    encrypted = [el.text.strip() for el in root.iter("EmailPassword") if el.text and el.text.strip().startswith(ENCRYPTED_PREFIX)]
    if encrypted:
        key = _key(host, folder, account)
        if isinstance(key, str):
            return key
        if not all(_decrypts(value, key) for value in encrypted):
            return (
                "#16192 - The E-mail Router service could not decrypt a password in its configuration. "
                "System.Security.Cryptography.CryptographicException: Padding is invalid and cannot be removed."
            )
    state_path = f"{folder}\\{STATE}"
    if host.exists(state_path):
        problem = None
        try:
            data = host.read_bytes(state_path)
            state_root = fromstring(data) if data.strip(b" \r\n\t\xef\xbb\xbf") else None
            if state_root is None:
                problem = "Root element is missing."
        except (ParseError, DefusedXmlException) as e:
            problem = str(e)
        if problem:
            return (
                f"#16192 - The E-mail Router service cannot access system state file {state_path}. The file may be corrupt. System.Xml.XmlException: {problem}"
            )
    return None


def _key(host: Host, folder: str, account: str) -> bytes | str:
    path = f"{folder}\\{KEY}"
    prefix = "#16192 - The E-mail Router service could not decrypt the passwords in its configuration. "
    if not host.exists(path):
        return prefix + f"System.IO.FileNotFoundException: Could not find file '{path}'."
    if not host.access_allowed(path, account, "Read"):
        return prefix + f"System.UnauthorizedAccessException: Access to the path '{path}' is denied."
    try:
        value = fromstring(host.read_bytes(path)).get("Key") or ""
        return base64.b64decode(value, validate=True)
    except (ParseError, DefusedXmlException, binascii.Error, ValueError) as e:
        return prefix + f"System.Xml.XmlException: {e}"


def _decrypts(value: str, key: bytes) -> bool:
    """AES-CBC with PKCS7 padding, the key from EncryptionKey.xml, `prefix + base64(ciphertext) + '@' + base64(IV)` [C S7]."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    body = value[len(ENCRYPTED_PREFIX) :]
    cipher_b64, _sep, iv_b64 = body.rpartition("@")
    try:
        ciphertext, iv = base64.b64decode(cipher_b64, validate=True), base64.b64decode(iv_b64, validate=True)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        unpadder.update(plain)
        unpadder.finalize()
    except (binascii.Error, ValueError):
        return False
    return True
