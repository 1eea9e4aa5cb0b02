# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Re-applying a DR kit (docs/dr-kit.md): the steps that bring a recovered server back to its kit, planned from the kit and
one read of the host, in the order they must run.

For internal collection use only. A step is data the host half runs without deciding anything (`kind`: cmdlet,
import_certificate, write_file, restart_service); `summary` is the line the task result and the DR report show. Nothing is
planned for what already matches, so a second run plans nothing. Cmdlets and parameters: docs/dr-kit.md ("Sources").
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit import (
    CONFIG_BY_PATH,
    RECEIVE_CONNECTOR_SETTINGS,
    TRANSPORT_SETTINGS,
    VDIR_BY_TYPE,
    KitError,
    Setting,
    normalize,
    same,
    services_list,
    settings_for,
    transport_cmdlets,
)

PARTS = ("certificates", "virtual_directories", "receive_connectors", "transport", "config_files")


@dataclass
class Plan:
    steps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the kit cannot bring back, and why
    blocked: list[str] = field(default_factory=list)  # what stops the whole re-apply before anything changes

    def add(self, part: str, kind: str, summary: str, **data: Any) -> None:
        self.steps.append({"id": len(self.steps) + 1, "part": part, "kind": kind, "summary": summary, **data})


def _value(setting: Setting, value: Any) -> Any:
    """A manifest value as the cmdlet parameter takes it: sizes and counts as numbers, an empty list or text as $null."""
    if value is None or value == []:
        return None
    if setting.kind == "size" and str(value).isdigit():
        return int(value)
    return value


def _changed(settings: tuple[Setting, ...], wanted: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    return {s.name: _value(s, wanted.get(s.name)) for s in settings if s.name in wanted and not same(s.kind, wanted.get(s.name), current.get(s.name))}


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'$null' if v is None else v}" for k, v in params.items())


def plan(
    manifest: dict[str, Any],
    folder: Path,
    current: dict[str, Any],
    *,
    parts: list[str] | tuple[str, ...] = PARTS,
    password_given: bool,
    now: datetime.datetime | None = None,
) -> Plan:
    """The steps for `parts`, from the kit (`manifest` in `folder`) and the host's read (`current`: the apply module's read)."""
    out = Plan()
    product = manifest["server"]["product"]
    server = str(current.get("server") or manifest["server"]["name"]).upper()
    restarts: list[str] = []
    if "certificates" in parts:
        _certificates(out, manifest, folder, current, password_given=password_given, now=now or datetime.datetime.now(datetime.timezone.utc))
    if "virtual_directories" in parts:
        _virtual_directories(out, manifest, current, product)
    if "receive_connectors" in parts:
        _receive_connectors(out, manifest, current, product, server)
    if "transport" in parts:
        _transport(out, manifest, current, product, server)
    if "config_files" in parts:
        restarts = _config_files(out, manifest, folder, current)
    services = current.get("services") or {}
    for name in restarts:
        if services.get(name) is not None:
            out.add("config_files", "restart_service", f"restart {name} so it reads its configuration file again", name=name)
    return out


def _certificates(out: Plan, manifest: dict[str, Any], folder: Path, current: dict[str, Any], *, password_given: bool, now: datetime.datetime) -> None:
    host = {str(c.get("thumbprint") or "").upper(): c for c in current.get("certificates") or []}
    for cert in manifest.get("certificates") or []:
        thumb = cert["thumbprint"]
        label = f"{thumb} ({cert.get('subject')})"
        services = cert.get("services") or []
        present = host.get(thumb)
        if present is None:
            if cert.get("self_signed"):
                out.notes.append(f"certificate {label}: the lost server's self-signed certificate; Setup made a new one")
                continue
            if not cert.get("pfx"):
                reason = cert.get("pfx_missing_reason") or "the kit holds no export of it"
                todo = f"import it from its source and enable {', '.join(services) or 'its services'}"
                out.notes.append(f"certificate {label} cannot be brought back from the kit: {reason}; {todo}")
                continue
            if not password_given:
                out.blocked.append(f"certificate {label}: importing its export needs the kit password (dr_kit_password) it was captured with")
                continue
            pfx = (folder / cert["pfx"]["file"]).read_bytes()
            if _expired(cert.get("not_after"), now):
                out.notes.append(f"certificate {label} expired on {cert.get('not_after')}; it is imported as it was, renew it")
            out.add(
                "certificates",
                "import_certificate",
                f"import certificate {label} with its private key",
                thumbprint=thumb,
                pfx=base64.b64encode(pfx).decode("ascii"),
                friendly_name=cert.get("friendly_name"),
            )
            missing = services
        else:
            have = services_list(present.get("services"))
            missing = [s for s in services if s not in have]
        if missing:
            params = {"Thumbprint": thumb, "Services": ", ".join(services), "Force": True}
            out.add("certificates", "cmdlet", f"enable certificate {label} for {', '.join(services)}", cmdlet="Enable-ExchangeCertificate", parameters=params)


def _expired(not_after: Any, now: datetime.datetime) -> bool:
    try:
        when = datetime.datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when < now


def _virtual_directories(out: Plan, manifest: dict[str, Any], current: dict[str, Any], product: str) -> None:
    host = {(v.get("type"), str(v.get("name") or "").casefold()): v for v in current.get("virtual_directories") or []}
    for vdir in manifest.get("virtual_directories") or []:
        vtype = VDIR_BY_TYPE.get(vdir["type"])
        if vtype is None:
            continue
        present = host.get((vdir["type"], str(vdir.get("name") or "").casefold()))
        if present is None:
            out.notes.append(f"virtual directory {vdir['name']} ({vdir['type']}) is not on the server: Setup did not create it; create it, then run again")
            continue
        changes = _changed(settings_for(vtype.settings, product), vdir.get("settings") or {}, present.get("properties") or {})
        if changes:
            identity = present.get("identity") or vdir.get("identity")
            out.add(
                "virtual_directories",
                "cmdlet",
                f"set {vdir['type']} virtual directory {vdir['name']}: {_describe(changes)}",
                cmdlet=vtype.set,
                parameters={"Identity": identity, **changes},
            )


def _receive_connectors(out: Plan, manifest: dict[str, Any], current: dict[str, Any], product: str, server: str) -> None:
    host = {str(c.get("name") or "").casefold(): c for c in current.get("receive_connectors") or []}
    settings = settings_for(RECEIVE_CONNECTOR_SETTINGS, product)
    for conn in manifest.get("receive_connectors") or []:
        wanted = conn.get("settings") or {}
        present = host.get(conn["name"].casefold())
        if present is None:
            params: dict[str, Any] = {"Name": conn["name"], "Server": server, "Custom": True}
            for s in settings:
                value = _value(s, wanted.get(s.name))
                if value is not None:
                    params[s.name] = value
            if not params.get("Bindings") or not params.get("RemoteIPRanges"):
                out.notes.append(f"receive connector {conn['name']}: the kit has no bindings or remote IP ranges for it; it cannot be created")
                continue
            out.add(
                "receive_connectors",
                "cmdlet",
                f"create receive connector {conn['name']}: {_describe(params)}",
                cmdlet="New-ReceiveConnector",
                parameters=params,
            )
            continue
        changes = _changed(settings, wanted, present.get("properties") or {})
        changes.pop("TransportRole", None)  # fixed when the connector is created
        if changes:
            identity = present.get("identity") or f"{server}\\{conn['name']}"
            out.add(
                "receive_connectors",
                "cmdlet",
                f"set receive connector {conn['name']}: {_describe(changes)}",
                cmdlet="Set-ReceiveConnector",
                parameters={"Identity": identity, **changes},
            )


def _transport(out: Plan, manifest: dict[str, Any], current: dict[str, Any], product: str, server: str) -> None:
    wanted = (manifest.get("transport") or {}).get("settings")
    present = current.get("transport")
    if not wanted or present is None:
        return
    changes = _changed(TRANSPORT_SETTINGS, {k: v for k, v in wanted.items() if v is not None}, present.get("properties") or {})
    if changes:
        cmdlet = transport_cmdlets(product)[1]
        out.add(
            "transport", "cmdlet", f"set the transport service of {server}: {_describe(changes)}", cmdlet=cmdlet, parameters={"Identity": server, **changes}
        )


def _config_files(out: Plan, manifest: dict[str, Any], folder: Path, current: dict[str, Any]) -> list[str]:
    install = str((current.get("exchange") or {}).get("install_path") or manifest["server"].get("install_path") or "").rstrip("\\")
    if not install:
        raise KitError("the server's Exchange install folder is unknown; cannot place .config files")
    host = {str(f.get("path") or "").casefold(): f for f in current.get("config_files") or []}
    restarts: list[str] = []
    for entry in manifest.get("config_files") or []:
        if entry.get("edited") is False:
            continue
        present = host.get(entry["path"].casefold()) or {}
        if present.get("sha256") == entry["sha256"]:
            continue
        data = (folder / entry["file"]).read_bytes()
        state = "replace" if present.get("exists") else "create"
        out.add(
            "config_files",
            "write_file",
            f"{state} {entry['path']} with the kit's copy (the current file is kept aside)",
            path=f"{install}\\{entry['path']}",
            content=base64.b64encode(data).decode("ascii"),
            sha256=entry["sha256"],
        )
        known = CONFIG_BY_PATH.get(entry["path"].casefold())
        if known is not None and known.service and known.service not in restarts:
            restarts.append(known.service)
    return restarts


def plan_without_host(manifest: dict[str, Any], parts: list[str] | tuple[str, ...] = PARTS) -> Plan:
    """What a re-apply would do at most, from the kit alone (check mode before the server is recovered: there is nothing to
    compare with yet). Steps carry no data; the real plan after the recovery leaves out what Setup already matches."""
    out = Plan()
    if "certificates" in parts:
        for cert in manifest.get("certificates") or []:
            label = f"{cert['thumbprint']} ({cert.get('subject')})"
            if cert.get("self_signed"):
                out.notes.append(f"certificate {label}: the lost server's self-signed certificate; Setup makes a new one")
            elif not cert.get("pfx"):
                out.notes.append(f"certificate {label} cannot be brought back from the kit: {cert.get('pfx_missing_reason') or 'no export'}")
            else:
                services = ", ".join(cert.get("services") or []) or "no service"
                out.add("certificates", "import_certificate", f"import certificate {label} with its private key and enable it for {services}")
    if "virtual_directories" in parts:
        for vdir in manifest.get("virtual_directories") or []:
            out.add(
                "virtual_directories", "cmdlet", f"set {vdir['type']} virtual directory {vdir['name']} to the kit's URLs and authentication where they differ"
            )
    if "receive_connectors" in parts:
        for conn in manifest.get("receive_connectors") or []:
            what = "set" if conn.get("default") else "create or set"
            out.add("receive_connectors", "cmdlet", f"{what} receive connector {conn['name']} to the kit's settings where they differ")
    if "transport" in parts and (manifest.get("transport") or {}).get("settings"):
        out.add("transport", "cmdlet", "set the transport service to the kit's settings where they differ")
    if "config_files" in parts:
        for entry in manifest.get("config_files") or []:
            if entry.get("edited") is not False:
                out.add("config_files", "write_file", f"put back {entry['path']} when it differs from the kit's copy")
    return out


def public_steps(steps: list[dict[str, Any]], results: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The steps as the task returns them: what, in which part, and (after the run) how it went - never the data (PFX
    exports, file contents, parameters that may hold secrets)."""
    by_id = {r.get("id"): r for r in results or []}
    out = []
    for step in steps:
        result = by_id.get(step["id"])
        entry = {"id": step["id"], "part": step["part"], "action": step["kind"], "summary": step["summary"]}
        if results is not None:
            entry["status"] = "failed" if result and result.get("error") else "done" if result else "not run"
            entry["error"] = result.get("error") if result else None
            entry["backup"] = result.get("backup") if result else None
        else:
            entry["status"] = "planned"
        out.append(entry)
    return out


def summary_line(steps: list[dict[str, Any]], check_mode: bool) -> str:
    if not steps:
        return "nothing to re-apply: the server matches its kit"
    counts: dict[str, int] = {}
    for s in steps:
        counts[s["part"]] = counts.get(s["part"], 0) + 1
    verb = "would re-apply" if check_mode else "re-applied"
    return f"{verb} {len(steps)} step(s): " + ", ".join(f"{n} {part.replace('_', ' ')}" for part, n in counts.items())


__all__ = ["PARTS", "Plan", "normalize", "plan", "public_steps", "summary_line"]
