"""The Microsoft Exchange Transport service of a simulated Hub Transport, Mailbox or Edge Transport server and its queue
database. Facts and sources: the collection's docs/transport-and-edge.md ("The queue database", "Queues").

Files (ODX queues/relocate-queue-database.md): `Mail.que` and `Trn.chk` in QueueDatabasePath; `Trn.log`, `Trntmp.log`,
`Trnres00001.jrs`, `Trnres00002.jrs` and `Temp.edb` in QueueDatabaseLoggingPath; both paths are `<appSettings>` keys of
`<install>\\Bin\\EdgeTransport.exe.config`, read when the service starts (default `<install>\\TransportRoles\\data\\Queue`).
Mail.que is an ESE database file of simulator/exchange/ese.py (so eseutil /mh, /p and /d work on it); its header also
carries the queues:

    {"queue_database": true, "queues": [{"id": "Submission" | "Poison" | "Unreachable" | "3" | "Shadow\\\\4",
     "delivery_type": "SmtpDeliveryToMailbox", "next_hop": "contoso.com", "status": "Ready", "count": 12,
     "reachable": true}], "drain_rate": 30, ...}

The service (image `<install>\\Bin\\MSExchangeTransport.exe`, a program with a service entry) on reaching RUNNING:
- reads the two keys; a folder that is missing is created when its parent grants NETWORK SERVICE Full Control, else the
  service stops (event 17019, the I/O error event; its text for this case is modelled); a folder without that right stops it
  the same way (ODX: the folders need Full Control for Network Service, System and Administrators);
- opens Mail.que: damaged (or not an ESE database) -> event 17003 "The database may be corrupted. The Microsoft Exchange
  Transport service is shutting down." and the service stops (E10 ff980952); Dirty Shutdown -> its logs are replayed (the
  engine's recovery at attach), it becomes consistent; missing -> a new, empty set is created (Facts section 6);
- while it runs (or is paused) the files are open: eseutil gets -1032 and moving them fails with a sharing violation (32).
Queues change only through modelled operations: while the intake is stopped (the service paused - 2007/2010, Edge - or the
HubTransport component Draining/Inactive - 2013+) the delivery queues and the Submission queue whose next hop answers lose
`drain_rate` messages per simulated minute (computed when read); Redirect-Message moves the active delivery queues to
another server's Submission queue; poison, shadow, unreachable and Retry queues stay.

Runtime: host.state.exchange["transport"] = {"database": <Mail.que path>, "files": [open files], "advanced_at": t};
host.state.exchange["components"] = {"HubTransport": {<requester>: "Active" | "Draining" | "Inactive"}} (2013+,
Set-ServerComponentState; the most restrictive state wins).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from defusedxml.ElementTree import ParseError, fromstring

from simulator.exchange import ese
from simulator.winerror import WinError

if TYPE_CHECKING:
    from simulator.host import Host

SERVICE = "MSExchangeTransport"
SOURCE = "MSExchangeTransport"
NETWORK_SERVICE = "NT AUTHORITY\\NETWORK SERVICE"
DATABASE_FILES = ("Mail.que", "Trn.chk")
LOG_FILES = ("Trn.log", "Trntmp.log", "Trnres00001.jrs", "Trnres00002.jrs", "Temp.edb")
SETUP_KEYS = (
    r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
    r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\Setup",
    r"HKLM:\SOFTWARE\Microsoft\Exchange\Setup",
)
QUEUE_KEYS = ("QueueDatabasePath", "QueueDatabaseLoggingPath")
DEFAULT_DRAIN_RATE = 30  # messages per simulated minute and queue (modelled)
PERSISTENT = {"submission": "Undefined", "poison": "Undefined", "unreachable": "Unreachable"}
EVENT_CORRUPT = (
    17003,
    "{path}: An operation has encountered a fatal error. The database may be corrupted. The Microsoft Exchange Transport service "
    "is shutting down. Manual database recovery or repair may be required. Exception details: {detail}",
)
EVENT_IO = (
    17019,
    "{path}: A database operation has encountered an I/O error. The Microsoft Exchange Transport service is shutting down. Exception details: {detail}",
)
_QUEUE_SEED_KEYS = {"id", "delivery_type", "next_hop", "status", "count", "reachable"}
_SEED_KEYS = {"queues", "damaged", "state", "database_path", "logging_path", "drain_rate", "files", "size_mb"}


class TransportDown(Exception):
    """The Transport service does not answer (Get-Queue and the queue cmdlets report it)."""


# -- where things are ----------------------------------------------------------------------------------------------------------
def install_path(host: Host) -> str | None:
    for key in SETUP_KEYS:
        value = host.reg_get_value(key, "MsiInstallPath")
        if value is not None and value.data:
            return str(value.data).rstrip("\\")
    return None


def config_path(host: Host) -> str:
    root = install_path(host)
    if root is None:
        raise WinError(2, path="EdgeTransport.exe.config")
    return rf"{root}\Bin\EdgeTransport.exe.config"


def default_queue_path(host: Host) -> str:
    return rf"{install_path(host)}\TransportRoles\data\Queue"


def read_settings(host: Host) -> dict[str, str]:
    """The <appSettings> keys of EdgeTransport.exe.config (key names are case-sensitive: ODX)."""
    try:
        root = fromstring(host.read_bytes(config_path(host)))
    except (WinError, ParseError):
        return {}
    settings = root.find("appSettings")
    if settings is None:
        return {}
    return {str(e.get("key")): str(e.get("value") or "") for e in settings.findall("add") if e.get("key")}


def queue_paths(host: Host) -> tuple[str, str]:
    """(QueueDatabasePath, QueueDatabaseLoggingPath) as the service reads them; an empty or missing key is the default."""
    settings = read_settings(host)
    default = default_queue_path(host)
    database = settings.get("QueueDatabasePath") or default
    logging = settings.get("QueueDatabaseLoggingPath") or default
    return database.rstrip("\\"), logging.rstrip("\\")


def edge_transport_config(values: dict[str, str]) -> str:
    """An EdgeTransport.exe.config with the queue keys (the shape of CSS HealthChecker's E19 capture, trimmed)."""
    lines = "".join(f'    <add key="{k}" value="{v}" />\r\n' for k, v in values.items())
    return f'<?xml version="1.0" encoding="utf-8"?>\r\n<configuration>\r\n  <appSettings>\r\n{lines}  </appSettings>\r\n</configuration>\r\n'


# -- the service ---------------------------------------------------------------------------------------------------------------
def runtime(host: Host) -> dict[str, Any]:
    return host.state.exchange.setdefault("transport", {})


def service_state(host: Host) -> str | None:
    svc = host.service(SERVICE)
    return svc.state if svc is not None else None


def running(host: Host) -> bool:
    """The service answers (running or paused)."""
    return service_state(host) in ("running", "paused")


def open_files(host: Host) -> list[str]:
    """The files the running service holds open (ese.locked() and file moves consult this)."""
    if not running(host):
        return []
    return list((host.state.exchange.get("transport") or {}).get("files") or [])


def is_open(host: Host, path: str) -> bool:
    return path.casefold() in (p.casefold() for p in open_files(host))


def component_state(host: Host, component: str = "HubTransport") -> str:
    """The effective state of a server component (2013+): the most restrictive state any requester set."""
    by_requester = (host.state.exchange.get("components") or {}).get(component) or {}
    states = set(by_requester.values())
    return "Inactive" if "Inactive" in states else "Draining" if "Draining" in states else "Active"


def set_component_state(host: Host, component: str, requester: str, state: str) -> None:
    components = host.state.exchange.setdefault("components", {})
    components.setdefault(component, {})[requester] = state


def intake_stopped(host: Host) -> bool:
    return service_state(host) == "paused" or component_state(host) in ("Draining", "Inactive")


def on_start(host: Host, service: str, at: float) -> None:
    """The service reached RUNNING at simulated time `at` (called by the service entry; the host lock is held)."""
    database, logging = queue_paths(host)
    mail = rf"{database}\Mail.que"
    for folder in dict.fromkeys((database, logging)):
        problem = _folder_problem(host, folder)
        if problem:
            _fail(host, service, at, EVENT_IO, path=mail, detail=problem)
            return
    if host.exists(mail):
        found = ese.read(host, mail)
        header = found[1] if found and found[0] == "database" else None
        if header is None or header.get("damaged"):
            detail = "Microsoft.Exchange.Isam.IsamDatabaseCorruptedException: Non database file or corrupted db (-1206)"
            if header is not None:
                detail = "Microsoft.Exchange.Isam.IsamReadVerifyFailureException: Checksum error on a database page (-1018)"
            _fail(host, service, at, EVENT_CORRUPT, path=mail, detail=detail)
            return
        if header.get("state") != ese.CLEAN:  # the engine replays the (circular) logs at attach
            header.update(state=ese.CLEAN, log_required=[0, 0])
            ese.write_database(host, mail, header)
    else:
        create_database(host, database, logging)
    rt = runtime(host)
    rt.update(database=mail, files=[rf"{database}\{n}" for n in DATABASE_FILES] + [rf"{logging}\{n}" for n in LOG_FILES], advanced_at=at)


def _folder_problem(host: Host, folder: str) -> str | None:
    if host.exists(folder):
        if not host.is_dir(folder):
            return f"System.IO.IOException: {folder} is a file (modelled)"
        if not host.access_allowed(folder, NETWORK_SERVICE, "FullControl"):
            return f"System.UnauthorizedAccessException: Access to the path '{folder}' is denied. (NETWORK SERVICE needs Full Control) (modelled)"
        return None
    parent = folder.rsplit("\\", 1)[0]
    if len(parent) <= 2 or not host.exists(parent) or not host.access_allowed(parent, NETWORK_SERVICE, "FullControl"):
        return (
            f"System.UnauthorizedAccessException: Access to the path '{folder}' is denied. (the folder is missing and NETWORK SERVICE "
            "cannot create it) (modelled)"
        )
    host.mkdir(folder)
    return None


def _fail(host: Host, service: str, at: float, event: tuple[int, str], *, path: str, detail: str) -> None:
    event_id, text = event
    host.write_event("Application", SOURCE, event_id, "Error", text.format(path=path, detail=detail), time=at)
    host.add_timer(at + 2.0, "service_crash", service=service)


def create_database(host: Host, database: str, logging: str, *, queues: list[dict[str, Any]] | None = None, size: int = 2 << 20) -> str:
    """A new, empty queue database set, as the service creates it (Facts section 6)."""
    host.mkdir(database)
    host.mkdir(logging)
    created = host.clock.time()
    stream = ese.signature(f"queue/{host.name}/{database}/{created}")
    guid = _guid(f"{host.name}/{database}/{created}")
    header = ese.new_database_header("Mail.que", guid, stream)
    if queues is None:  # a new database: the persistent Submission queue, empty
        queues = [{"id": "Submission", "status": "Ready", "reachable": True, "count": 0}]
    header.update(queue_database=True, queues=list(queues), drain_rate=DEFAULT_DRAIN_RATE, created=created)
    mail = rf"{database}\Mail.que"
    ese.write_database(host, mail, header, size)
    ese.write(host, rf"{database}\Trn.chk", "checkpoint", {"generation": 1, "signature": stream}, 8192)
    for name in ("Trn.log", "Trntmp.log"):
        ese.write(host, rf"{logging}\{name}", "log", {"generation": 1, "signature": stream, "attached": [mail], "damaged": False}, ese.LOG_STANDIN_BYTES)
    for name in ("Trnres00001.jrs", "Trnres00002.jrs"):
        host.write_bytes(rf"{logging}\{name}", bytes(ese.LOG_STANDIN_BYTES))
    ese.write(host, rf"{logging}\Temp.edb", "database", ese.new_database_header("Temp.edb", _guid(f"temp/{guid}"), stream), 1 << 20)
    return mail


def _guid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


# -- queues --------------------------------------------------------------------------------------------------------------------
def database_header(host: Host) -> dict[str, Any]:
    """The open queue database's header; TransportDown when the service does not answer."""
    if not running(host):
        raise TransportDown(host.name)
    path = (host.state.exchange.get("transport") or {}).get("database")
    if not path or not host.exists(path):
        raise TransportDown(host.name)
    return ese.read_database(host, path)


def advance(host: Host) -> list[dict[str, Any]]:
    """Bring the open database's queues up to now (drain progress while the intake is stopped) and return them."""
    header = database_header(host)
    rt = runtime(host)
    now = host.clock.time()
    last = float(rt.get("advanced_at") or now)
    queues = [dict(q) for q in header.get("queues") or []]
    if intake_stopped(host) and now > last:
        budget = int((now - last) / 60.0 * float(header.get("drain_rate") or DEFAULT_DRAIN_RATE))
        changed = False
        for q in queues:
            if deliverable(q) and q.get("count", 0) > 0 and budget > 0:
                q["count"] = max(0, int(q["count"]) - budget)
                changed = True
        if changed:
            header["queues"] = queues
            ese.write_database(host, rt["database"], header)
        rt["advanced_at"] = now if budget > 0 else last
    else:
        rt["advanced_at"] = now
    return queues


def deliverable(queue: dict[str, Any]) -> bool:
    """A queue the transport empties by itself: Submission and delivery queues whose next hop answers."""
    kind = kind_of(queue)
    return kind in ("submission", "delivery") and queue.get("reachable", True) and str(queue.get("status", "Ready")) not in ("Retry", "Suspended")


def kind_of(queue: dict[str, Any]) -> str:
    ident = str(queue.get("id", ""))
    low = ident.casefold()
    if low in PERSISTENT:
        return low
    if low.startswith("shadow\\") or queue.get("delivery_type") == "ShadowRedundancy":
        return "shadow"
    return "delivery"


def queue_object(host: Host, queue: dict[str, Any]) -> dict[str, Any]:
    """A Get-Queue result object with the properties the collection reads (ODX queues/queue-properties.md)."""
    kind = kind_of(queue)
    next_hop = queue.get("next_hop") or {"submission": "Submission", "poison": "Poison Message", "unreachable": "Unreachable Domain"}.get(kind, "")
    delivery = queue.get("delivery_type") or PERSISTENT.get(kind) or ("ShadowRedundancy" if kind == "shadow" else "SmtpRelayToRemoteAdSite")
    return {
        "Identity": f"{host.name.upper()}\\{queue.get('id')}",
        "DeliveryType": delivery,
        "Status": queue.get("status") or ("Retry" if not queue.get("reachable", True) else "Ready"),
        "MessageCount": int(queue.get("count", 0)),
        "NextHopDomain": next_hop,
        "NextHopCategory": "Internal" if kind != "delivery" or delivery.startswith(("SmtpRelay", "MapiDelivery", "SmtpDeliveryToMailbox")) else "External",
        "LastError": None
        if queue.get("reachable", True)
        else "451 4.4.0 Primary target IP address responded with: \"421 4.4.0 Unable to connect.\" (modelled)",
        "Velocity": 0,
    }


def listed(queue: dict[str, Any]) -> bool:
    """Get-Queue lists the poison and unreachable queues only when they hold messages (ODX queues.md: poison)."""
    return kind_of(queue) not in ("poison", "unreachable") or int(queue.get("count", 0)) > 0


def set_queues(host: Host, queues: list[dict[str, Any]]) -> None:
    header = database_header(host)
    header["queues"] = queues
    ese.write_database(host, runtime(host)["database"], header)


def receive(host: Host, count: int) -> None:
    """Messages another server hands over (Redirect-Message's target): they enter the Submission queue."""
    queues = advance(host)
    sub = next((q for q in queues if kind_of(q) == "submission"), None)
    if sub is None:
        sub = {"id": "Submission", "status": "Ready", "count": 0}
        queues.insert(0, sub)
    sub["count"] = int(sub.get("count", 0)) + count
    set_queues(host, queues)


# -- estate seed -------------------------------------------------------------------------------------------------------------
def validate_seed(where: str, spec: Any) -> str | None:
    """The first problem of a host's `state.transport` seed as 'key: message', or None."""
    if not isinstance(spec, dict):
        return f"{where}: expected a mapping with queues, damaged, state, database_path, logging_path, drain_rate"
    unknown = sorted(set(spec) - _SEED_KEYS)
    if unknown:
        return f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(_SEED_KEYS))})"
    if spec.get("state", "clean") not in ("clean", "dirty"):
        return f"{where}.state: expected clean or dirty"
    for i, q in enumerate(spec.get("queues") or []):
        key = f"{where}.queues[{i}]"
        if not isinstance(q, dict) or "id" not in q:
            return f"{key}: expected a mapping with id (Submission, Poison, Unreachable, a number or Shadow\\<number>), count, status"
        bad = sorted(set(q) - _QUEUE_SEED_KEYS)
        if bad:
            return f"{key}.{bad[0]}: unknown key (allowed: {', '.join(sorted(_QUEUE_SEED_KEYS))})"
        if not re.fullmatch(r"(?i)submission|poison|unreachable|\d+|shadow\\\d+", str(q["id"])):
            return f"{key}.id: {q['id']!r} is not a queue identity (Submission, Poison, Unreachable, <n>, Shadow\\<n>)"
        if not isinstance(q.get("count", 0), int) or q.get("count", 0) < 0:
            return f"{key}.count: expected a number of messages"
    return None


def apply_seed(host: Host, spec: dict[str, Any]) -> None:
    """Lay down a host's queue database as the seed describes (after `exchange`, which installs the transport service)."""
    if install_path(host) is None:
        raise ValueError(f"hosts.{host.name}.state.transport needs an installed Exchange server (state.exchange)")
    if spec.get("database_path") or spec.get("logging_path"):
        settings = read_settings(host) or {}
        settings["QueueDatabasePath"] = spec.get("database_path") or settings.get("QueueDatabasePath") or default_queue_path(host)
        settings["QueueDatabaseLoggingPath"] = spec.get("logging_path") or settings.get("QueueDatabaseLoggingPath") or default_queue_path(host)
        host.write_text(config_path(host), edge_transport_config(settings))
    database, logging = queue_paths(host)
    for folder in (database, logging):
        host.mkdir(folder)
        grant_queue_rights(host, folder)
    if spec.get("files", True) is False:
        return
    queues = [{"status": "Ready" if q.get("reachable", True) else "Retry", "reachable": True, "count": 0, **q} for q in spec.get("queues") or []]
    if not any(kind_of(q) == "submission" for q in queues):
        queues.insert(0, {"id": "Submission", "status": "Ready", "reachable": True, "count": 0})
    mail = create_database(host, database, logging, queues=queues, size=int(spec.get("size_mb", 2)) << 20)
    header = ese.read_database(host, mail)
    header.update(damaged=bool(spec.get("damaged")), drain_rate=int(spec.get("drain_rate", DEFAULT_DRAIN_RATE)))
    if spec.get("state") == "dirty":
        header.update(state=ese.DIRTY, log_required=[1, 1])
    ese.write_database(host, mail, header)
    if running(host):
        if header["damaged"]:
            svc = host.state.services[SERVICE.casefold()]
            svc.state = "stopped"
            host.write_event(
                "Application", SOURCE, EVENT_CORRUPT[0], "Error", EVENT_CORRUPT[1].format(path=mail, detail="Checksum error on a database page (-1018)")
            )
        else:
            runtime(host).update(
                database=mail, files=[rf"{database}\{n}" for n in DATABASE_FILES] + [rf"{logging}\{n}" for n in LOG_FILES], advanced_at=host.clock.time()
            )


def grant_queue_rights(host: Host, folder: str) -> None:
    """Full Control for NETWORK SERVICE, SYSTEM and Administrators, as Setup leaves the queue folder (ODX)."""
    from simulator.hoststate import AccessRule

    rules = [AccessRule(i, ["FullControl"]) for i in (NETWORK_SERVICE, "NT AUTHORITY\\SYSTEM", "BUILTIN\\Administrators")]
    host.set_acl(folder, rules)
