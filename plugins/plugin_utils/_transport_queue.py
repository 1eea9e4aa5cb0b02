# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The transport queue database, judged on the controller: queue summaries, the database's state, folder rights, how a
server stops accepting mail per release, and the plan (or refusal) of each queue database step.

For internal collection use only. Facts and sources: docs/transport-and-edge.md ("The queue database", "Queues").
The host modules (transport_queue_info, transport_queue_drain, transport_queue_database) only read and act; what a result
means and whether a step may run is decided here, so it is unit-tested.
"""

from __future__ import annotations

import ntpath
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._eseutil import EseutilOutputError, parse_mh
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import ExchangeRelease, release_of

SERVICE = "MSExchangeTransport"
DATABASE_FILES = ("Mail.que", "Trn.chk")  # in QueueDatabasePath
# in QueueDatabaseLoggingPath; the queues page names the schema file Tmp.edb, the relocation pages Temp.edb (both listed)
LOG_FILE_PATTERNS = (r"^Trn.*\.log$", r"^Trnres\d+\.jrs$", r"^Temp\.edb$", r"^Tmp\.edb$")
# Full Control for these, on both folders (ODX queues/relocate-queue-database.md)
REQUIRED_RIGHTS = ("NT AUTHORITY\\NETWORK SERVICE", "NT AUTHORITY\\SYSTEM", "BUILTIN\\Administrators")
_IDENTITY_ALIASES = {
    "network service": "NT AUTHORITY\\NETWORK SERVICE",
    "nt authority\\network service": "NT AUTHORITY\\NETWORK SERVICE",
    "s-1-5-20": "NT AUTHORITY\\NETWORK SERVICE",
    "system": "NT AUTHORITY\\SYSTEM",
    "nt authority\\system": "NT AUTHORITY\\SYSTEM",
    "s-1-5-18": "NT AUTHORITY\\SYSTEM",
    "administrators": "BUILTIN\\Administrators",
    "builtin\\administrators": "BUILTIN\\Administrators",
    "s-1-5-32-544": "BUILTIN\\Administrators",
}
PERSISTENT = {"submission": "submission", "poison": "poison", "unreachable": "unreachable"}
DELIVERABLE_KINDS = ("submission", "delivery")
VERDICTS = ("healthy", "stopped", "corrupt", "missing", "dirty", "unknown")
STATES = ("present", "fresh", "repaired", "replayed")
REPLAY_MARKER = "exchange_dr.replayed"
CONFIG_BACKUP_SUFFIX = ".before-replay"
CORRUPT_EVENTS = (17003,)  # JetCorruptionError: "The database may be corrupted" (E10 ff980952)
IO_EVENTS = (17019,)  # JetIOError (E10 ff983822)


class QueuePlanError(ValueError):
    """A step that must not run; the message says why and what to do."""


# -- releases: how a server stops accepting mail ------------------------------------------------------------------------------
def release(version: str | None) -> ExchangeRelease | None:
    try:
        return release_of(str(version)) if version else None
    except ValueError:
        return None


def intake_method(version: str | None, edge: bool) -> str:
    """`component` (HubTransport Draining, 2013+ Mailbox: Set-ServerComponentState) or `pause` (pause MSExchangeTransport:
    2007, 2010 and every Edge, which the collection does not put in a component state)."""
    rel = release(version)
    if rel is None:
        raise QueuePlanError(f"Exchange {version!r} is not a release this collection knows (2007 to Subscription Edition)")
    if edge or rel.product in ("2007", "2010"):
        return "pause"
    return "component"


def can_redirect(version: str | None, edge: bool) -> bool:
    """Redirect-Message exists from 2013 (PS Redirect-Message: Applicable 2013 to SE); an Edge has no other server of its
    organisation to hand mail to."""
    rel = release(version)
    return rel is not None and rel.product not in ("2007", "2010") and not edge


# -- queues ---------------------------------------------------------------------------------------------------------------
def queue_kind(identity: str, delivery_type: str | None = None) -> str:
    """submission, poison, unreachable, shadow or delivery, from the identity (`<Server>\\<Queue>`) and DeliveryType."""
    ident = str(identity or "")
    name = ident.split("\\", 1)[1] if "\\" in ident and not ident.casefold().startswith("shadow\\") else ident
    low = name.casefold()
    if low in PERSISTENT:
        return PERSISTENT[low]
    if low.startswith("shadow\\") or (delivery_type or "").casefold() == "shadowredundancy":
        return "shadow"
    if (delivery_type or "").casefold() == "unreachable":
        return "unreachable"
    return "delivery"


def summarize_queues(queues: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Counts per kind, the total, what is still to deliver (Submission + delivery queues) and the non-empty queues."""
    counts = dict.fromkeys(("submission", "delivery", "poison", "shadow", "unreachable"), 0)
    listed: list[dict[str, Any]] = []
    for q in queues or []:
        kind = queue_kind(str(q.get("identity") or ""), q.get("delivery_type"))
        count = int(q.get("message_count") or 0)
        counts[kind] += count
        listed.append({**q, "kind": kind, "message_count": count})
    return {
        "queues": len(listed),
        "total": sum(counts.values()),
        **counts,
        "to_deliver": counts["submission"] + counts["delivery"],
        "not_empty": [q for q in listed if q["message_count"] > 0],
        "by_queue": listed,
    }


# -- rights -----------------------------------------------------------------------------------------------------------------
def _canonical(identity: str) -> str:
    return _IDENTITY_ALIASES.get(str(identity).casefold(), str(identity))


def rights_verdict(folders: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Whether each queue folder grants Full Control to NETWORK SERVICE, SYSTEM and Administrators (an explicit or inherited
    Allow with FullControl and no Deny for it). A missing folder is judged by its parent (the service creates it)."""
    out = []
    for folder in folders or []:
        access = folder.get("access") or []
        missing = []
        for needed in REQUIRED_RIGHTS:
            rules = [a for a in access if _canonical(a.get("identity", "")) == needed and "fullcontrol" in str(a.get("rights", "")).casefold().replace(" ", "")]
            allowed = any(str(a.get("type", "Allow")).casefold() == "allow" for a in rules)
            denied = any(str(a.get("type", "Allow")).casefold() == "deny" for a in rules)
            if not allowed or denied:
                missing.append(needed)
        out.append(
            {"path": folder.get("path"), "exists": bool(folder.get("exists")), "judged_on": folder.get("judged_on") or folder.get("path"), "missing": missing}
        )
    return {"ok": all(not f["missing"] for f in out), "folders": out}


# -- the database ---------------------------------------------------------------------------------------------------------------
def log_files(names: list[str]) -> list[str]:
    return [n for n in names if any(re.match(p, n, re.IGNORECASE) for p in LOG_FILE_PATTERNS)]


def _names(files: list[dict[str, Any]] | None) -> list[str]:
    return [str(f.get("name")) for f in files or [] if f.get("name")]


def judge_database(info: dict[str, Any]) -> dict[str, Any]:
    """The queue database of a transport_queue_info result: header state (eseutil /mh when the service was stopped),
    a verdict and whether it holds messages (True, False, or None when they cannot be counted: the service is stopped).

    healthy  the service runs on it (queues answer)
    stopped  the service is stopped and the database is consistent (Clean Shutdown) or not read
    dirty    the service is stopped and the database was not shut down cleanly (the service replays its logs at start)
    corrupt  the service stops on it (event 17003) or eseutil cannot read it as a database
    missing  there is no Mail.que (the service creates a new one at start)
    """
    service = info.get("service") or {}
    state = str(service.get("state") or "").casefold()
    names = _names((info.get("files") or {}).get("database"))
    has_db = any(n.casefold() == "mail.que" for n in names)
    header_dict = None
    header_state = None
    problem = None
    mh = ((info.get("eseutil") or {}).get("mh")) or None
    if mh:
        try:
            header = parse_mh("\n".join(mh.get("output") or []), mh.get("rc"))
            header_dict = header.to_dict()
            header_state = header.state
            if header.state is None:
                problem = header.outcome.message or "eseutil could not read the header"
        except EseutilOutputError as error:
            problem = str(error)
    corrupt_events = [e for e in info.get("events") or [] if int(e.get("id") or 0) in CORRUPT_EVENTS]
    summary = summarize_queues(info.get("queues"))
    running = state in ("running", "paused") and info.get("queue_error") is None and info.get("queues") is not None
    holds: bool | None = None
    if not has_db:
        verdict, holds, message = "missing", False, "There is no Mail.que: the Transport service creates a new, empty queue database when it starts."
    elif running:
        verdict = "healthy"
        holds = summary["total"] > 0
        message = f"The Transport service runs on the queue database; {summary['total']} message(s) in {summary['queues']} queue(s)."
    elif corrupt_events and state not in ("running", "paused"):
        verdict = "corrupt"
        message = (
            f"The Transport service stopped on the queue database (event {corrupt_events[-1].get('id')}: {str(corrupt_events[-1].get('message') or '')[:200]})."
        )
    elif problem is not None and mh:
        verdict = "corrupt"
        message = f"eseutil cannot read Mail.que as a database: {problem}"
    elif header_state is not None and header_state != "Clean Shutdown":
        verdict, message = "dirty", f"Mail.que is in {header_state}: the Transport service replays its logs when it starts."
    elif state in ("running", "paused"):
        verdict, message = "unknown", f"The Transport service is {state} but its queues could not be read: {info.get('queue_error')}"
    else:
        verdict = "stopped"
        message = f"The Transport service is {state or 'not installed'}; Mail.que is {header_state or 'not read'}."
    size = next((int(f.get("size") or 0) for f in (info.get("files") or {}).get("database") or [] if str(f.get("name")).casefold() == "mail.que"), None)
    return {"verdict": verdict, "header": header_dict, "state": header_state, "size": size, "holds_messages": holds, "message": message}


def judge_replay(replay: dict[str, Any] | None) -> dict[str, Any]:
    """A replay folder of transport_queue_info judged: its header state, whether its logs are with it, whether it was
    replayed (the marker) and whether its Mail.que can be read as a database."""
    replay = dict(replay or {})
    names = _names(replay.get("files"))
    logs_present = any(re.match(r"^Trn.*\.log$", n, re.IGNORECASE) for n in names)
    replay.update(state=None, header_error=None, logs_present=logs_present, replayed=replay.get("marker") is not None)
    mh = replay.get("mh")
    if mh:
        try:
            header = parse_mh("\n".join(mh.get("output") or []), mh.get("rc"))
            replay["state"] = header.state
            if header.state is None:
                replay["header_error"] = header.outcome.message or "eseutil could not read the header"
        except EseutilOutputError as error:
            replay["header_error"] = str(error)
    return replay


def enrich(info: dict[str, Any]) -> dict[str, Any]:
    """Judge a transport_queue_info result in place (also returned): release, queue summary, database, rights."""
    if info.get("replay") is not None:
        info["replay"] = judge_replay(info.get("replay"))
    exchange = info.get("exchange") or {}
    rel = release(exchange.get("version"))
    exchange["release"] = {"product": rel.product, "cu": rel.cu, "name": rel.name, "build": rel.build_string} if rel is not None else None
    info["summary"] = summarize_queues(info.get("queues"))
    info["database"] = judge_database(info)
    info["rights"] = rights_verdict(info.get("folders"))
    return info


# -- plans ------------------------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    action: str  # none | rights | relocate | fresh | repair | defragment | replay | replay_finish
    message: str
    steps: list[str] = field(default_factory=list)
    refusal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _same(a: str | None, b: str | None) -> bool:
    return ntpath.normcase(str(a or "").rstrip("\\")) == ntpath.normcase(str(b or "").rstrip("\\"))


def _messages_refusal(info: dict[str, Any], doing: str) -> str | None:
    db = info.get("database") or {}
    summary = info.get("summary") or {}
    if db.get("holds_messages") is True:
        detail = ", ".join(f"{q['identity']} {q['message_count']}" for q in summary.get("not_empty", [])[:8])
        return (
            f"The queue database of {info.get('server')} holds {summary.get('total')} message(s) ({detail}): {doing} would leave them "
            f"behind. Drain the server first (exchange_dr.recovery.transport_queue_drain), or set replace_with_messages=true: the "
            f"old files are moved aside, never deleted, and can be replayed later with state=replayed."
        )
    if db.get("holds_messages") is None:
        return (
            f"The Transport service of {info.get('server')} is not running, so the messages in its queue database cannot be counted "
            f"({db.get('message')}). {doing.capitalize()} would leave any message in it behind. Set replace_with_messages=true to go ahead: "
            f"the old files are moved aside, never deleted, and can be replayed later with state=replayed."
        )
    return None


def plan(info: dict[str, Any], options: dict[str, Any]) -> Plan:
    """What transport_queue_database must do for `options` on the server `info` describes (an enriched
    transport_queue_info result), or a refusal. Raises nothing: a refusal is a Plan with `refusal` set."""
    state = options.get("state") or "present"
    paths = info.get("paths") or {}
    current_db, current_log = paths.get("database"), paths.get("logging")
    want_db = options.get("path") or current_db
    want_log = options.get("logging_path") or (options.get("path") if options.get("path") and _same(current_db, current_log) else None) or current_log
    db = info.get("database") or {}
    service = info.get("service") or {}
    if not service.get("exists"):
        return Plan("none", "", refusal=f"{info.get('server')} has no {SERVICE} service: it is not a Hub Transport, Mailbox or Edge Transport server.")
    for name, value in (("path", options.get("path")), ("logging_path", options.get("logging_path")), ("replay_from", options.get("replay_from"))):
        if value and not re.match(r"^[A-Za-z]:\\[^<>\"|?*]+$", str(value)):
            return Plan(
                "none", "", refusal=f"{name}: {value!r} is not a full local folder path (such as D:\\Queue): the Transport service needs a local folder."
            )
    if state == "replayed":
        return _plan_replay(info, options)
    relocating = not (_same(want_db, current_db) and _same(want_log, current_log))
    rights = info.get("rights") or {}
    if state == "present":
        if relocating:
            if not options.get("move_existing", True) and not options.get("replace_with_messages"):
                refusal = _messages_refusal(info, "moving to new, empty files")
                if refusal:
                    return Plan("none", "", refusal=refusal)
            if db.get("verdict") == "corrupt" and options.get("move_existing", True):
                return Plan(
                    "none",
                    "",
                    refusal="The queue database is corrupt; moving it to the new place would move the corruption. Use state=fresh "
                    "(with replace_with_messages) or state=repaired (with allow_repair) first.",
                )
            how = (
                "move Mail.que, Trn.chk and the logs there"
                if options.get("move_existing", True)
                else "start with a new database there (the old files stay, unused)"
            )
            message = (
                f"Relocate the queue database to {want_db} (logs {want_log}): stop {SERVICE}, set the folders' rights, {how}, set the "
                "EdgeTransport.exe.config keys, start it."
            )
            return Plan("relocate", message,
                        ["stop", "rights", "move" if options.get("move_existing", True) else "keep", "config", "start"])  # fmt: skip
        if not rights.get("ok", True):
            missing = "; ".join(f"{f['path']}: {', '.join(f['missing'])}" for f in rights.get("folders", []) if f["missing"])
            return Plan("rights", f"Grant Full Control on the queue folders ({missing}).", ["rights"])
        return Plan("none", f"The queue database is at {current_db} (logs {current_log}) with the rights it needs.")
    if state == "fresh":
        if db.get("verdict") == "healthy" and not db.get("holds_messages") and not relocating:
            return Plan("none", "The Transport service runs on an empty queue database: nothing to replace.")
        if db.get("verdict") == "missing":
            return Plan("fresh", f"There is no Mail.que: start {SERVICE}, which creates a new database, and check the new files.", ["rights", "start"])
        if not options.get("replace_with_messages"):
            refusal = _messages_refusal(info, "a fresh queue database")
            if refusal:
                return Plan("none", "", refusal=refusal)
        return Plan("fresh", f"Stop {SERVICE}, move Mail.que, Trn.chk and the logs aside with a time stamp (never deleted), start it and check the new files.",
                    ["stop", "aside", "rights", "start"])  # fmt: skip
    if state == "repaired":
        if not options.get("allow_repair"):
            return Plan(
                "none",
                "",
                refusal="state=repaired needs allow_repair=true: eseutil /p (repair) loses data, /d rewrites the database. The files are "
                "copied aside first and the Transport service is stopped while it runs.",
            )
        if db.get("verdict") == "missing":
            return Plan("none", "", refusal=f"There is no Mail.que at {current_db} to repair.")
        if db.get("verdict") == "healthy":
            return Plan("none", "The Transport service runs on the queue database: it needs no repair.")
        modes = ["/p", *(["/d"] if options.get("defragment") else [])]
        message = f"Stop {SERVICE}, copy the queue database aside, run eseutil {' then '.join(modes)} on Mail.que, start it and check it stays running."
        return Plan("repair", message,
                    ["stop", "copy_aside", *modes, "start"])  # fmt: skip
    return Plan("none", "", refusal=f"state must be one of {', '.join(STATES)}, not {state!r}")


def _plan_replay(info: dict[str, Any], options: dict[str, Any]) -> Plan:
    source = options.get("replay_from")
    if not source:
        return Plan("none", "", refusal="state=replayed needs replay_from: the folder that holds the old Mail.que (and its Trn.chk and logs).")
    replay = info.get("replay") or {}
    paths = info.get("paths") or {}
    if replay.get("in_progress") or _same(paths.get("database"), source):
        message = (
            f"A replay of {source} is under way (EdgeTransport.exe.config points at it): wait until its queues are empty, then put the configuration back."
        )
        return Plan("replay_finish", message,
                    ["wait", "stop", "restore_config", "mark", "start"])  # fmt: skip
    if replay.get("replayed"):
        return Plan("none", f"{source} was replayed already ({REPLAY_MARKER}: {replay.get('marker') or ''}).".strip())
    if not replay.get("exists"):
        return Plan("none", "", refusal=f"replay_from: {source} does not exist on {info.get('server')} (or holds no Mail.que).")
    state = replay.get("state")
    if state and state != "Clean Shutdown" and not replay.get("logs_present"):
        return Plan(
            "none",
            "",
            refusal=f"The queue database in {source} is in {state} and its logs are not with it: the Transport service cannot open it. "
            "Put its Trn*.log files next to it, or repair it first (eseutil /p, with allow_repair on a copy).",
        )
    if replay.get("header_error"):
        return Plan("none", "", refusal=f"The file in {source} cannot be read as a queue database: {replay.get('header_error')}")
    db = info.get("database") or {}
    if db.get("verdict") not in ("healthy", "stopped", "missing"):
        return Plan(
            "none",
            "",
            refusal=f"The server's own queue database is {db.get('verdict')}: {db.get('message')} Fix it first (state=fresh or repaired), then replay.",
        )
    message = (
        f"Replay {source}: stop accepting mail, stop {SERVICE}, point EdgeTransport.exe.config at {source} (the original kept as "
        ".before-replay), start it, wait until its queues are delivered, stop it, put the configuration back, mark the folder, start it."
    )
    return Plan("replay", message,
                ["intake_stop", "stop", "config_to_replay", "start", "wait", "stop", "restore_config", "mark", "start", "intake_restore"])  # fmt: skip


# -- drain --------------------------------------------------------------------------------------------------------------------
def drain_verdict(queues: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Whether a drain is complete: nothing left in the Submission and delivery queues (poison, shadow and unreachable
    messages are not drained - PS Redirect-Message; ODX queues.md)."""
    summary = summarize_queues(queues)
    left = [q for q in summary["not_empty"] if q["kind"] in DELIVERABLE_KINDS]
    return {"drained": not left, "to_deliver": summary["to_deliver"], "left": left, "kept": {k: summary[k] for k in ("poison", "shadow", "unreachable")}}
