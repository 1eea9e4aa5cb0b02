"""Installers: msiexec.exe with simulated .msi packages, and a generic setup.exe kind.

A package file is `#!simulator-program msi {"product_code": "{GUID}", "name": ..., "version": ..., "publisher": ...,
"reboot": false, "seconds": 30, "arch": "x64", "install_location": ...}`; `msiexec /i pkg.msi /qn [/norestart]
[/l*v log] [PROP=value]` installs it, `msiexec /x {code}|pkg.msi` removes it. Exit codes and MsiInstaller events
(1033/1034, 11707/11724) follow Windows Installer: 0, 1605 unknown product, 1619 package cannot be opened, 1638 another
version installed, 3010 restart needed (with /norestart or REBOOT=ReallySuppress), 1641 restart started.

Options take their value glued or separate (`/X{code}` as Windows Installer writes it in UninstallString, or `/x {code}`;
MicrosoftDocs/win32 desktop-src/Msi/command-line-options.md: "/I Installs or configures a product", "/x Uninstalls a
product"). `/i {ProductCode}` of an installed product is a maintenance run: quietly it changes nothing and exits 0.
A product another program installed through Windows Installer can register what removing it undoes
(`msi_remove_action`): `msiexec /x` runs that, as Windows Installer runs the cached package's removal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from simulator.hoststate import Product
from simulator.programs import ProcessContext, marker, parse_marker, program
from simulator.winerror import (
    ERROR_INSTALL_PACKAGE_OPEN_FAILED,
    ERROR_SUCCESS_REBOOT_INITIATED,
    ERROR_SUCCESS_REBOOT_REQUIRED,
    ERROR_UNKNOWN_PRODUCT,
    WinError,
)

MSI = "MsiInstaller"
MsiRemoveAction = Callable[[ProcessContext, Product], None]
MSI_REMOVE_ACTIONS: dict[str, MsiRemoveAction] = {}
_CACHED_PACKAGES = r"C:\Windows\Installer"


def msi_remove_action(kind: str) -> Callable[[MsiRemoveAction], MsiRemoveAction]:
    """Register what `msiexec /x` undoes for products a program of `kind` installed as Windows Installer products."""

    def deco(fn: MsiRemoveAction) -> MsiRemoveAction:
        MSI_REMOVE_ACTIONS[kind] = fn
        return fn

    return deco


def cache_package(ctx: ProcessContext, code: str, remove_action: str) -> None:
    """Keep the package Windows Installer caches for an installed product (C:\\Windows\\Installer): its removal is `remove_action`."""
    ctx.host.mkdir(_CACHED_PACKAGES)
    ctx.host.write_bytes(rf"{_CACHED_PACKAGES}\{code}.msi", marker("msi", {"product_code": code, "remove_action": remove_action}))


def _options(argv: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """msiexec switches (lower-cased, with their value where they take one) and PROPERTY=value pairs."""
    switches: dict[str, str] = {}
    props: dict[str, str] = {}
    i = 1
    while i < len(argv):
        a = argv[i]
        low = a.casefold()
        if low.startswith(("/", "-")):
            key = "/" + low[1:]
            glued = re.match(r"/([ix])(\{.*)$", key)  # MsiExec.exe /I{code}, /X{code}
            if glued:
                switches["/" + glued.group(1)] = a[2:]
                i += 1
                continue
            takes_value = key in ("/i", "/x", "/package", "/uninstall", "/f") or key.startswith("/l")
            if takes_value and i + 1 < len(argv):
                switches[key] = argv[i + 1]
                i += 2
                continue
            switches[key] = ""
        elif "=" in a:
            name, _sep, value = a.partition("=")
            props[name.upper()] = value
        i += 1
    return switches, props


def _package(ctx: ProcessContext, path: str) -> dict[str, Any]:
    try:
        parsed = parse_marker(ctx.host.read_bytes(ctx.resolve(path))[:4096])
    except WinError:
        parsed = None
    if parsed is None or parsed[0] != "msi":
        raise WinError(ERROR_INSTALL_PACKAGE_OPEN_FAILED)
    return parsed[1]


def _log(ctx: ProcessContext, switches: dict[str, str], lines: list[str]) -> None:
    log = next((v for k, v in switches.items() if k.startswith("/l")), None)
    if log:
        stamp = ctx.host.clock.now().strftime("%H:%M:%S:%f")[:12]
        text = "".join(f"MSI (s) (A4:B8) [{stamp}]: {line}\r\n" for line in lines)
        ctx.host.write_bytes(ctx.resolve(log), text.encode("utf-16-le"), append=ctx.host.exists(ctx.resolve(log)))


@program("msiexec")
def msiexec(ctx: ProcessContext) -> int:
    switches, props = _options(ctx.argv)
    try:
        if "/i" in switches or "/package" in switches:
            return _install(ctx, switches.get("/i") or switches["/package"], switches, props)
        if "/x" in switches or "/uninstall" in switches:
            return _uninstall(ctx, switches.get("/x") or switches["/uninstall"], switches)
    except WinError as e:
        _log(ctx, switches, [f"Note: 1: {e.code}", e.message])
        return e.code
    ctx.err("Windows Installer. V 5.0.17763.1\r\n")
    return 1639  # ERROR_INVALID_COMMAND_LINE


def _install(ctx: ProcessContext, package: str, switches: dict[str, str], props: dict[str, str]) -> int:
    if package.startswith("{"):  # /i {ProductCode}: configure an installed product (a quiet maintenance run changes nothing)
        if ctx.host.product(package) is None:
            raise WinError(ERROR_UNKNOWN_PRODUCT)
        _log(ctx, switches, [f"Product: {package} -- Configuration completed successfully.", "MainEngineThread is returning 0"])
        return 0
    pkg = _package(ctx, package)
    host = ctx.host
    code = pkg["product_code"]
    existing = host.product(code)
    if existing is not None:
        if existing.version != pkg.get("version", ""):
            raise WinError(1638)
        return 0  # same product and version: maintenance mode, nothing to do quietly
    ctx.sleep(float(pkg.get("seconds", 0)))
    rc = int(pkg.get("rc", 0))
    if rc not in (0, ERROR_SUCCESS_REBOOT_REQUIRED):
        name = pkg.get("name", code)
        host.write_event("Application", MSI, 11708, "Error", f"Product: {name} -- Installation failed.")
        host.write_event(
            "Application",
            MSI,
            1033,
            "Information",
            f"Windows Installer installed the product. Product Name: {name}. Product Version: {pkg.get('version', '')}. Product Language: 1033. "
            f"Manufacturer: {pkg.get('publisher', '')}. Installation success or error status: {rc}.",
        )
        _log(ctx, switches, [f"Product: {name} -- Installation failed.", f"MainEngineThread is returning {rc}"])
        return rc
    location = props.get("INSTALLDIR") or props.get("TARGETDIR") or pkg.get("install_location", "")
    if location:
        host.mkdir(location)
    product = Product(
        code=code,
        name=pkg.get("name", code),
        version=pkg.get("version", ""),
        publisher=pkg.get("publisher", ""),
        install_location=location,
        arch=pkg.get("arch", "x64"),
        size_kb=int(pkg.get("size_kb", 1024)),
    )
    host.install_product(product)
    for svc in pkg.get("services", []):
        if host.service(svc["name"]) is None:
            host.create_service(**svc)
    name, version, publisher = product.name, product.version, product.publisher
    host.write_event("Application", MSI, 11707, "Information", f"Product: {name} -- Installation completed successfully.")
    host.write_event(
        "Application",
        MSI,
        1033,
        "Information",
        f"Windows Installer installed the product. Product Name: {name}. Product Version: {version}. Product Language: 1033. "
        f"Manufacturer: {publisher}. Installation success or error status: 0.",
    )
    _log(ctx, switches, [f"Product: {name} -- Installation completed successfully.", "MainEngineThread is returning 0"])
    return _finish(ctx, pkg, switches, props)


def _finish(ctx: ProcessContext, pkg: dict[str, Any], switches: dict[str, str], props: dict[str, str]) -> int:
    if not pkg.get("reboot") and int(pkg.get("rc", 0)) != ERROR_SUCCESS_REBOOT_REQUIRED:
        return 0
    if "/norestart" in switches or props.get("REBOOT", "").casefold() == "reallysuppress":
        # files in use are replaced at the next boot
        ctx.host.schedule_file_rename(r"C:\Config.Msi\pending.rbf", None)
        return ERROR_SUCCESS_REBOOT_REQUIRED
    ctx.host.reboot(0, user=ctx.user, process=r"C:\Windows\system32\msiexec.exe")
    return ERROR_SUCCESS_REBOOT_INITIATED


def _uninstall(ctx: ProcessContext, target: str, switches: dict[str, str]) -> int:
    host = ctx.host
    code = target if target.startswith("{") else _package(ctx, target)["product_code"]
    product = host.product(code)
    if product is None or not product.msi:
        raise WinError(ERROR_UNKNOWN_PRODUCT)
    cached = rf"{_CACHED_PACKAGES}\{product.code}.msi"
    if host.exists(cached):
        action = (parse_marker(host.read_bytes(cached)[:4096]) or ("", {}))[1].get("remove_action")
        if action in MSI_REMOVE_ACTIONS:
            MSI_REMOVE_ACTIONS[action](ctx, product)
        host.remove(cached, force=True)
    host.remove_product(code)
    host.write_event("Application", MSI, 11724, "Information", f"Product: {product.name} -- Removal completed successfully.")
    host.write_event(
        "Application",
        MSI,
        1034,
        "Information",
        f"Windows Installer removed the product. Product Name: {product.name}. Product Version: {product.version}. Product Language: 1033. "
        f"Manufacturer: {product.publisher}. Removal success or error status: 0.",
    )
    _log(ctx, switches, [f"Product: {product.name} -- Removal completed successfully.", "MainEngineThread is returning 0"])
    return 0


@program("exe_installer")
def exe_installer(ctx: ProcessContext) -> int:
    """A vendor setup.exe: `{"product": {code, name, version, publisher, install_location}, "seconds": 60, "reboot": false,
    "rc": 0, "uninstall_switch": "/uninstall", "quiet_switch": "/quiet"}`. Registers a non-MSI product whose
    UninstallString runs the same program with the uninstall switch. Without the quiet switch it would wait for a user
    at a dialog, which under WinRM means forever: it fails with 1602 (user cancelled) instead."""
    a = ctx.args
    spec = dict(a.get("product", {}))
    quiet = a.get("quiet_switch", "/quiet").casefold()
    uninstall = a.get("uninstall_switch", "/uninstall").casefold()
    flags = [x.casefold() for x in ctx.argv[1:]]
    if quiet and quiet not in flags:
        ctx.err("setup needs a user interface; run it with " + a.get("quiet_switch", "/quiet") + "\r\n")
        return 1602
    ctx.sleep(float(a.get("seconds", 0)))
    if uninstall in flags:
        if ctx.host.product(spec["code"]) is None:
            return ERROR_UNKNOWN_PRODUCT
        ctx.host.remove_product(spec["code"])
        return 0
    rc = int(a.get("rc", 0))
    if rc not in (0, ERROR_SUCCESS_REBOOT_REQUIRED):
        return rc
    if spec.get("install_location"):
        ctx.host.mkdir(spec["install_location"])
    ctx.host.install_product(
        Product(
            code=spec["code"],
            name=spec.get("name", spec["code"]),
            version=spec.get("version", ""),
            publisher=spec.get("publisher", ""),
            install_location=spec.get("install_location", ""),
            msi=False,
            uninstall_string=f'"{ctx.exe}" {a.get("uninstall_switch", "/uninstall")} {a.get("quiet_switch", "/quiet")}'.strip(),
        )
    )
    if a.get("reboot"):
        ctx.host.schedule_file_rename(str(ctx.host.parse_path(spec.get("install_location") or r"C:\Windows\Temp")) + r"\setup.pending", None)
        return ERROR_SUCCESS_REBOOT_REQUIRED
    return rc
