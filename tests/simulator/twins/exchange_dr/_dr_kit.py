"""What plugins/module_utils/_DrKit.psm1 does, on a simulated host: one function per PowerShell function, the same cmdlets
in the same order with the same parameters (through _exchange_shell.invoke), the same values returned."""

from __future__ import annotations

import base64
import datetime
from typing import Any

from simulator.exchange import dr_kit_cmdlets as _dr_kit_cmdlets  # noqa: F401 (registers the cmdlets the kit reads and re-applies)
from simulator.exchange.cmdlets import CmdletError
from simulator.exchange.shell import ExchangeShell
from simulator.twins.exchange_dr._exchange_shell import invoke, prop, text


def kit_value(value: Any) -> Any:
    """ConvertTo-ExDrKitValue."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value if v is not None]
    return str(value)


def kit_properties(obj: dict[str, Any] | None, names: list[str]) -> dict[str, Any]:
    """Get-ExDrKitProperties."""
    return {name: kit_value(prop(obj, name)) for name in names}


def kit_pairs(value: Any) -> list[Any]:
    """Get-ExDrKitPairs."""
    out: list[Any] = []
    for item in value if isinstance(value, list) else ([] if value is None else [value]):
        if isinstance(item, dict) and item.get("Key") is not None:
            key = item["Key"]
            # [string] of the pair's Key, an ADObjectId: its Name (the server)
            out.append({"key": str(key.get("Name") if isinstance(key, dict) else key), "value": text(item.get("Value")) or ""})
        elif item is not None:
            out.append(str(item))
    return out


def at_least(version: str, minimum: str) -> bool:
    """Test-ExDrKitVersion ([version] comparison)."""
    return tuple(int(p) for p in version.split(".")) >= tuple(int(p) for p in minimum.split("."))


def transport_cmdlet(tables: dict[str, Any], version: str) -> str | None:
    """Get-ExDrKitTransportCmdlet."""
    return next((str(e["cmdlet"]) for e in tables.get("transport") or [] if at_least(version, e["min_version"])), None)


def command_names(tables: dict[str, Any], version: str, *, export: bool = False) -> list[str]:
    """Get-ExDrKitCommandNames."""
    names = ["Get-ReceiveConnector", "Get-ExchangeCertificate", "Get-MailboxServer", "Get-DatabaseAvailabilityGroup", "Get-MailboxDatabase"]
    names += [str(e["cmdlet"]) for e in tables.get("virtual_directories") or [] if at_least(version, e["min_version"])]
    transport = transport_cmdlet(tables, version)
    if transport:
        names.append(transport)
    if export:
        names.append("Export-ExchangeCertificate")
    return names


def read_server(
    host: Any, shell: ExchangeShell, tables: dict[str, Any], version: str, install_path: str, *, password: str | None, with_content: bool
) -> dict[str, Any]:
    """Read-ExDrKitServer."""
    server = host.name.upper()
    read: dict[str, Any] = {
        "server": server,
        "virtual_directories": [],
        "receive_connectors": [],
        "transport": None,
        "certificates": [],
        "dag": None,
        "dag_error": None,
        "config_files": [],
        "services": {},
    }
    for entry in tables.get("virtual_directories") or []:
        if not at_least(version, entry["min_version"]):
            continue
        for vdir in invoke(shell, entry["cmdlet"], {"Server": server}):
            read["virtual_directories"].append(
                {
                    "type": str(entry["type"]),
                    "name": text(prop(vdir, "Name")),
                    "identity": text(prop(vdir, "Identity")),
                    "properties": kit_properties(vdir, list(entry["properties"])),
                }
            )
    for conn in invoke(shell, "Get-ReceiveConnector", {"Server": server}):
        read["receive_connectors"].append(
            {
                "name": text(prop(conn, "Name")),
                "identity": text(prop(conn, "Identity")),
                "properties": kit_properties(conn, list(tables.get("receive_connector_properties") or [])),
            }
        )
    transport = transport_cmdlet(tables, version)
    if transport:
        found = invoke(shell, transport, {"Identity": server})
        read["transport"] = {"cmdlet": transport, "properties": kit_properties(found[0] if found else None, list(tables.get("transport_properties") or []))}
    for cert in invoke(shell, "Get-ExchangeCertificate", {"Server": server}):
        thumb = text(prop(cert, "Thumbprint"))
        entry = {
            "thumbprint": thumb,
            "subject": text(prop(cert, "Subject")),
            "issuer": text(prop(cert, "Issuer")),
            "friendly_name": text(prop(cert, "FriendlyName")),
            "domains": kit_value(prop(cert, "CertificateDomains")),
            "services": text(prop(cert, "Services")),
            "not_before": kit_value(prop(cert, "NotBefore")),
            "not_after": kit_value(prop(cert, "NotAfter")),
            "self_signed": bool(prop(cert, "IsSelfSigned")),
            "has_private_key": bool(prop(cert, "HasPrivateKey")),
            "private_key_exportable": bool(prop(cert, "PrivateKeyExportable")),
            "pfx": None,
            "pfx_error": None,
        }
        if password and entry["has_private_key"] and entry["private_key_exportable"]:
            try:
                export = invoke(shell, "Export-ExchangeCertificate", {"Thumbprint": thumb, "BinaryEncoded": True, "Password": password, "Server": server})
                entry["pfx"] = base64.b64encode(bytes(prop(export[0] if export else None, "FileData") or b"")).decode("ascii")
            except CmdletError as error:
                entry["pfx_error"] = f"the export failed: {error}"
        read["certificates"].append(entry)
    try:
        found = invoke(shell, "Get-MailboxServer", {"Identity": server})
        dag_name = text(prop(found[0] if found else None, "DatabaseAvailabilityGroup"))
        dag: dict[str, Any] = {
            "name": dag_name,
            "servers": [],
            "witness_server": None,
            "witness_directory": None,
            "alternate_witness_server": None,
            "alternate_witness_directory": None,
            "datacenter_activation_mode": None,
        }
        if dag_name:
            groups = invoke(shell, "Get-DatabaseAvailabilityGroup", {"Identity": dag_name})
            group = groups[0] if groups else None
            dag.update(
                servers=kit_value(prop(group, "Servers")),
                witness_server=text(prop(group, "WitnessServer")),
                witness_directory=text(prop(group, "WitnessDirectory")),
                alternate_witness_server=text(prop(group, "AlternateWitnessServer")),
                alternate_witness_directory=text(prop(group, "AlternateWitnessDirectory")),
                datacenter_activation_mode=text(prop(group, "DatacenterActivationMode")),
            )
        databases = [
            {
                "name": text(prop(db, "Name")),
                "servers": kit_value(prop(db, "Servers")),
                "activation_preference": kit_pairs(prop(db, "ActivationPreference")),
                "replay_lag_times": kit_pairs(prop(db, "ReplayLagTimes")),
                "truncation_lag_times": kit_pairs(prop(db, "TruncationLagTimes")),
            }
            for db in invoke(shell, "Get-MailboxDatabase", {"Server": server})
        ]
        read["dag"] = {"dag": dag, "databases": databases}
    except CmdletError as error:
        read["dag_error"] = str(error)
    install = install_path.rstrip("\\")
    for relative in tables.get("config_files") or []:
        path = f"{install}\\{relative}"
        item: dict[str, Any] = {"path": str(relative), "exists": False, "sha256": None, "size": None, "content": None}
        if host.exists(path) and not host.is_dir(path):
            data = host.read_bytes(path)
            item.update(exists=True, size=len(data), sha256=host.checksum(path, "sha256"))
            if with_content:
                item["content"] = base64.b64encode(data).decode("ascii")
        read["config_files"].append(item)
    for name in tables.get("services") or []:
        read["services"][str(name)] = host.service(str(name)) is not None
    return read


def run_step(host: Any, shell: ExchangeShell | None, step: dict[str, Any], password: str | None) -> str | None:
    """Invoke-ExDrKitStep: where a replaced file was kept (else None); raises (CmdletError, WinError, RuntimeError) where the
    PowerShell throws."""
    kind = str(step.get("kind"))
    if kind == "cmdlet":
        invoke(shell, str(step["cmdlet"]), dict(step.get("parameters") or {}))  # type: ignore[arg-type]
        return None
    if kind == "import_certificate":
        parameters: dict[str, Any] = {
            "FileData": base64.b64decode(str(step["pfx"])),
            "Password": password or "",
            "PrivateKeyExportable": True,
            "Server": host.name.upper(),
        }
        if step.get("friendly_name"):
            parameters["FriendlyName"] = str(step["friendly_name"])
        invoke(shell, "Import-ExchangeCertificate", parameters)  # type: ignore[arg-type]
        return None
    if kind == "write_file":
        path = str(step["path"])
        data = base64.b64decode(str(step["content"]))
        folder = path.rsplit("\\", 1)[0]
        if not host.exists(folder):
            host.mkdir(folder)
        aside = None
        if host.exists(path) and not host.is_dir(path):
            stamp = datetime.datetime.fromtimestamp(host.clock.time(), datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = f"{path}.exdr-{stamp}"
            host.copy(path, aside)
        host.write_bytes(path, data)
        written = host.checksum(path, "sha256")
        if written != str(step["sha256"]):
            raise RuntimeError(f"the file written to {path} does not have the kit's checksum ({written}, expected {step['sha256']})")
        return aside
    if kind == "restart_service":
        service = host.service(str(step["name"]))
        if service is not None and service.state == "running":
            host.restart_service(str(step["name"]))
        return None
    raise RuntimeError(f"unknown step kind '{kind}'")
