"""What plugins/module_utils/_ExchangeTransport.psm1 does, on a simulated host: one function per PowerShell function.
The transport service and its queue database are simulator/exchange/transport.py."""

from __future__ import annotations

import ntpath
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from defusedxml.ElementTree import fromstring

from simulator import wmi
from simulator.exchange import transport
from simulator.hoststate import AccessRule
from simulator.twins.exchange_dr._exchange_shell import invoke, prop, text
from simulator.twins.exchange_dr._windows import service_start_mode, service_state, wql_string
from simulator.winerror import WinError

if TYPE_CHECKING:
    from simulator.exchange.shell import ExchangeShell
    from simulator.host import Host

QUEUE_FOLDER_IDENTITIES = ("NT AUTHORITY\\NETWORK SERVICE", "NT AUTHORITY\\SYSTEM", "BUILTIN\\Administrators")
_SIDS = {"NT AUTHORITY\\NETWORK SERVICE": "S-1-5-20", "NT AUTHORITY\\SYSTEM": "S-1-5-18", "BUILTIN\\Administrators": "S-1-5-32-544"}
DATABASE_PATTERNS = ("Mail.que", "Trn.chk")
LOG_PATTERNS = ("Trn*.log", "Trnres*.jrs", "Temp.edb", "Tmp.edb")


def transport_config(host: Host, install: str) -> dict[str, Any]:
    """Get-ExDrTransportConfig."""
    path = rf"{install}\Bin\EdgeTransport.exe.config"
    config: dict[str, Any] = {"path": path, "exists": False, "queue_database_path": None, "queue_database_logging_path": None}
    if not host.exists(path):
        return config
    config["exists"] = True
    root = fromstring(host.read_bytes(path))  # XmlDocument.Load: a malformed file throws, as it does on Windows
    for key, name in (("QueueDatabasePath", "queue_database_path"), ("QueueDatabaseLoggingPath", "queue_database_logging_path")):
        node = next((e for e in root.findall("appSettings/add") if e.get("key") == key), None)
        if node is not None and node.get("value"):
            config[name] = node.get("value")
    return config


def set_transport_config(host: Host, path: str, database: str, logging: str, backup: str) -> None:
    """Set-ExDrTransportConfig: the file copied to `backup`, then the two keys set (added to <appSettings> if missing)."""
    host.copy(path, backup)
    settings = transport.read_settings(host)
    settings.update(QueueDatabasePath=database, QueueDatabaseLoggingPath=logging)
    host.write_text(path, transport.edge_transport_config(settings))


def folder_access(host: Host, path: str) -> dict[str, Any]:
    """Get-ExDrFolderAccess: the rules of the folder, or of its nearest existing parent."""
    target: str | None = path
    while target and not (host.exists(target) and host.is_dir(target)):
        parent = ntpath.dirname(target.rstrip("\\")) if len(target.rstrip("\\")) > 2 else ""
        target = parent if parent and parent.rstrip("\\") != target.rstrip("\\") else None
    folder: dict[str, Any] = {"path": path, "exists": host.exists(path) and host.is_dir(path), "judged_on": target, "access": []}
    if target:
        folder["access"] = [
            {"identity": r.identity, "sid": _SIDS.get(r.identity), "rights": ", ".join(r.rights), "type": r.type, "inherited": r.inherited}
            for r in host.get_acl(target)
        ]
    return folder


def grant_queue_folder_rights(host: Host, path: str) -> bool:
    """Grant-ExDrQueueFolderRights: True when it created the folder or added a rule."""
    changed = False
    if not (host.exists(path) and host.is_dir(path)):
        host.mkdir(path)
        changed = True
    rules = host.get_acl(path)
    explicit = [r for r in rules if not r.inherited]
    added = False
    for identity in QUEUE_FOLDER_IDENTITIES:
        has = any(host.canonical_identity(r.identity).casefold() == identity.casefold() and r.type == "Allow" and "FullControl" in r.rights for r in rules)
        if not has:
            explicit.append(AccessRule(identity, ["FullControl"]))
            added = True
    if added:
        host.set_acl(path, explicit)
        changed = True
    return changed


def queue_files(host: Host, folder: str, *, logging: bool = False) -> list[dict[str, Any]]:
    """Get-ExDrQueueFiles."""
    if not (host.exists(folder) and host.is_dir(folder)):
        return []
    patterns = LOG_PATTERNS if logging else DATABASE_PATTERNS
    names = sorted({n for n in host.listdir(folder) if any(_like(n, p) for p in patterns) and not host.is_dir(rf"{folder}\{n}")}, key=str.casefold)
    out = []
    for name in names:
        info = host.stat(rf"{folder}\{name}")
        out.append({"name": info.name, "size": info.size, "modified": info.mtime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"})
    return out


def _like(name: str, pattern: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", ".*") + "$"
    return re.match(regex, name, re.IGNORECASE) is not None


def transport_service(host: Host) -> dict[str, Any]:
    """Get-ExDrTransportService: the Win32_Service instance named the collection's way (_windows.py)."""
    instances = wmi.query_win32_service(host, f"Name={wql_string(transport.SERVICE)}")
    if not instances:
        return {"exists": False, "state": None, "start_mode": None}
    return {"exists": True, "state": service_state(instances[0].get("State")), "start_mode": service_start_mode(host, instances[0])}


def transport_events(host: Host, since: float | None = None, maximum: int = 5) -> list[dict[str, Any]]:
    """Get-ExDrTransportEvents: the service's error events since `since` (simulated time)."""
    found = [e for e in host.events("Application", source=transport.SOURCE) if e.level == "Error" and (since is None or e.time >= since)]
    return [
        {"id": e.event_id, "time": datetime.fromtimestamp(e.time, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z", "message": e.message} for e in found[-maximum:]
    ]


def stop_transport(host: Host) -> None:
    """Stop-ExDrTransport."""
    if host.service(transport.SERVICE).state != "stopped":
        host.stop_service(transport.SERVICE, force=True)


def start_transport(host: Host, settle_seconds: int = 10) -> dict[str, Any]:
    """Start-ExDrTransport: start, wait `settle_seconds`, report whether it still runs and the error events since."""
    since = host.clock.time() - 1
    error = None
    try:
        host.start_service(transport.SERVICE)
    except WinError as e:
        error = e.message
    host.clock.sleep(settle_seconds)
    with host.lock:
        host.tick()
    service = transport_service(host)
    return {"running": service["state"] == "running", "state": service["state"], "events": transport_events(host, since), "error": error}


def queues(shell: ExchangeShell, server: str) -> list[dict[str, Any]]:
    """Get-ExDrQueues."""
    return [
        {
            "identity": text(prop(q, "Identity")),
            "delivery_type": text(prop(q, "DeliveryType")),
            "status": text(prop(q, "Status")),
            "message_count": int(prop(q, "MessageCount") or 0),
            "next_hop_domain": text(prop(q, "NextHopDomain")),
            "last_error": text(prop(q, "LastError")),
        }
        for q in invoke(shell, "Get-Queue", {"Server": server}, no_domain_controller=True)
    ]


def move_or_fail(host: Host, source: str, destination: str) -> None:
    """Move-Item of a queue file: a file the running service holds open fails with a sharing violation (32)."""
    if transport.is_open(host, source):
        raise WinError(32, "The process cannot access the file because it is being used by another process.")
    host.move(source, destination)
