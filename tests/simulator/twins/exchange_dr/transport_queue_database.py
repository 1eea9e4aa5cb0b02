"""exchange_dr.recovery.transport_queue_database: what plugins/modules/transport_queue_database.ps1 does on a simulated host,
step by step - relocation (rights, stop, move, keys, start), a fresh database (stop, move aside, rights, start, check),
a repair (stop, copy aside, logs aside, eseutil /p [/d], start) and a replay (intake stopped, keys at the old database,
start, wait for its queues, keys back, marker, start, intake back)."""

from __future__ import annotations

import json
from typing import Any

from defusedxml.ElementTree import ParseError

from simulator.exchange import cmdlets, transport
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr import _exchange_transport as tx
from simulator.twins.exchange_dr._exchange_shell import invoke, invoke_eseutil, open_exchange_shell, prop
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


class _Failed(Exception):
    """A terminating error inside the .ps1's try block (throw, or a cmdlet's -ErrorAction Stop)."""


def _move_queue_files(m: ModuleRun, source: str, destination: str, *, logging: bool = False) -> list[str]:
    """Move-ExDrQueueFile: never over an existing file; a file the service holds open fails with 32."""
    host = m.host
    host.mkdir(destination)
    moved = []
    for f in tx.queue_files(host, source, logging=logging):
        target = rf"{destination}\{f['name']}"
        if host.exists(target):
            raise _Failed(f"{target} exists already: the queue database files are never moved over other files")
        try:
            tx.move_or_fail(host, rf"{source}\{f['name']}", target)
        except WinError as error:
            raise _Failed(error.message) from None
        moved.append(f["name"])
    return moved


def _complete_start(m: ModuleRun, database: str, logging: str, what: str) -> str | None:
    """Complete-ExDrStart: None, or why the service did not stay running."""
    started = tx.start_transport(m.host, m.params["settle_seconds"])
    r = m.result
    r["service"] = {"running": started["running"], "state": started["state"]}
    r["events"] = started["events"]
    r["new_files"] = {"database": tx.queue_files(m.host, database), "logging": tx.queue_files(m.host, logging, logging=True)}
    if started["running"]:
        return None
    detail = " ".join(f"event {e['id']}: {e['message']}" for e in started["events"])
    return f"{what}, but the Microsoft Exchange Transport service did not stay running ({started['state']}). {started['error'] or ''} {detail}".strip()


@twin("exchange_dr.recovery.transport_queue_database", required_together=[["exchange_username", "exchange_password"]])
def transport_queue_database(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["state"] = p["state"]
    r["paths"] = {"database": None, "logging": None}
    r["previous_paths"] = {"database": None, "logging": None}
    r["aside"] = None
    r["moved"] = []
    r["copied"] = []
    r["config_backup"] = None
    r["rights_changed"] = False
    r["eseutil"] = []
    r["service"] = {"running": None, "state": None}
    r["events"] = []
    r["new_files"] = {"database": [], "logging": []}
    r["replay"] = {"source": None, "finished": False, "waited": 0, "timed_out": False, "queues": []}

    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to manage the queue database of {host.name.upper()}: Exchange Server is not installed on it")
    install = str(state["install_path"])
    try:
        config = tx.transport_config(host, install)
    except (WinError, ParseError) as error:
        m.fail_json(f"Failed to read EdgeTransport.exe.config on {host.name.upper()}: {error}")
    if not config["exists"]:
        m.fail_json(f"Failed to manage the queue database of {host.name.upper()}: {config['path']} does not exist")
    default = rf"{install}\TransportRoles\data\Queue"
    current_db = (config["queue_database_path"] or default).rstrip("\\")
    current_log = (config["queue_database_logging_path"] or default).rstrip("\\")
    r["previous_paths"] = {"database": current_db, "logging": current_log}
    r["paths"] = {"database": current_db, "logging": current_log}
    aside_root = (p["aside_root"] or rf"{current_db}\QueueAside").rstrip("\\")
    stamp = host.clock.now().strftime("%Y%m%dT%H%M%S")
    handler = {"present": _present, "fresh": _fresh, "repaired": _repaired, "replayed": _replayed}[p["state"]]
    handler(m, state, config, current_db, current_log, aside_root, stamp)


def _present(m: ModuleRun, state: dict[str, Any], config: dict[str, Any], current_db: str, current_log: str, aside_root: str, stamp: str) -> None:  # noqa: PLR0917
    p, host, r = m.params, m.host, m.result
    want_db = (p["path"] or current_db).rstrip("\\")
    want_log = current_log
    if p["logging_path"]:
        want_log = p["logging_path"].rstrip("\\")
    elif p["path"] and current_db.casefold() == current_log.casefold():
        want_log = want_db
    r["paths"] = {"database": want_db, "logging": want_log}
    r["changed"] = True
    if m.check_mode:
        return
    relocating = want_db.casefold() != current_db.casefold() or want_log.casefold() != current_log.casefold()
    failure = None
    try:
        for folder in dict.fromkeys((want_db, want_log)):
            if tx.grant_queue_folder_rights(host, folder):
                r["rights_changed"] = True
        if relocating:
            tx.stop_transport(host)
            if p["move_existing"]:
                r["moved"] = _move_queue_files(m, current_db, want_db) + _move_queue_files(m, current_log, want_log, logging=True)
            r["config_backup"] = f"{config['path']}.{stamp}"
            tx.set_transport_config(host, config["path"], want_db, want_log, r["config_backup"])
    except (_Failed, WinError) as error:
        failure = error
    if failure is not None:
        m.fail_json(f"Failed to relocate the queue database of {host.name.upper()}: {failure}")
    if relocating or tx.transport_service(host)["state"] == "stopped":
        problem = _complete_start(m, want_db, want_log, f"The queue database is now at {want_db}")
        if problem:
            m.fail_json(problem)


def _fresh(m: ModuleRun, state: dict[str, Any], config: dict[str, Any], current_db: str, current_log: str, aside_root: str, stamp: str) -> None:  # noqa: PLR0917
    host, r = m.host, m.result
    r["changed"] = True
    if m.check_mode:
        return
    failure = None
    try:
        tx.stop_transport(host)
        existing = tx.queue_files(host, current_db) + tx.queue_files(host, current_log, logging=True)
        if existing:
            r["aside"] = rf"{aside_root}\{stamp}"
            r["moved"] = _move_queue_files(m, current_db, r["aside"]) + _move_queue_files(m, current_log, r["aside"], logging=True)
        for folder in dict.fromkeys((current_db, current_log)):
            if tx.grant_queue_folder_rights(host, folder):
                r["rights_changed"] = True
    except (_Failed, WinError) as error:
        failure = error
    if failure is not None:
        m.fail_json(f"Failed to move the queue database of {host.name.upper()} aside: {failure}")
    problem = _complete_start(m, current_db, current_log, "The old queue database is aside")
    if problem:
        m.fail_json(problem)
    created = [f for f in r["new_files"]["database"] if f["name"] in ("Mail.que", "Trn.chk")]
    if len(created) < 2:
        m.fail_json(f"The Transport service runs but did not create Mail.que and Trn.chk in {current_db}")


def _repaired(m: ModuleRun, state: dict[str, Any], config: dict[str, Any], current_db: str, current_log: str, aside_root: str, stamp: str) -> None:  # noqa: PLR0917
    p, host, r = m.params, m.host, m.result
    if not p["allow_repair"]:
        m.fail_json("state=repaired needs allow_repair=true: eseutil /p loses data")
    r["changed"] = True
    if m.check_mode:
        return
    mail = rf"{current_db}\Mail.que"
    failure = None
    try:
        tx.stop_transport(host)
        r["aside"] = rf"{aside_root}\{stamp}-before-repair"
        host.mkdir(r["aside"])
        host.copy(mail, rf"{r['aside']}\Mail.que")
        r["copied"] = ["Mail.que"]
        r["moved"] = _move_queue_files(m, current_log, r["aside"], logging=True)
        if host.exists(rf"{current_db}\Trn.chk"):
            tx.move_or_fail(host, rf"{current_db}\Trn.chk", rf"{r['aside']}\Trn.chk")
            r["moved"].append("Trn.chk")
    except (_Failed, WinError) as error:
        failure = error
    if failure is not None:
        m.fail_json(f"Failed to set the queue database of {host.name.upper()} aside before repairing it: {failure}")
    eseutil = rf"{state['install_path']}\Bin\eseutil.exe"
    runs = [invoke_eseutil(m, eseutil, ["/p", mail, "/o"])]
    if runs[0]["rc"] == 0 and p["defragment"]:
        runs.append(invoke_eseutil(m, eseutil, ["/d", mail, "/o"]))
    r["eseutil"] = runs
    if runs[-1]["rc"] != 0:
        m.fail_json(f"eseutil failed on {mail} (exit code {runs[-1]['rc']}); the Transport service is left stopped and the database's copy is in {r['aside']}")
    problem = _complete_start(m, current_db, current_log, "The queue database was repaired")
    if problem:
        m.fail_json(problem)


def _left(queues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        q
        for q in queues
        if q["delivery_type"] not in ("ShadowRedundancy", "Unreachable") and str(q["identity"]).split("\\", 1)[-1] != "Poison" and int(q["message_count"]) > 0
    ]


def _replayed(m: ModuleRun, state: dict[str, Any], config: dict[str, Any], current_db: str, current_log: str, aside_root: str, stamp: str) -> None:  # noqa: PLR0917 (the .ps1's one procedure)
    p, host, r = m.params, m.host, m.result
    source = p["replay_from"].rstrip("\\") if p["replay_from"] else None
    if not source:
        m.fail_json("state=replayed needs replay_from")
    method = p["method"]
    if method == "auto":
        m.fail_json("method=auto is resolved by the exchange_dr.recovery.transport_queue_database action plugin from the release; run the module through it")
    r["replay"]["source"] = source
    backup = f"{config['path']}.before-replay"
    notes = rf"{source}\exchange_dr.replay.json"
    in_progress = host.exists(backup) and current_db.casefold() == source.casefold()
    r["changed"] = True
    if m.check_mode:
        return
    edge = "EdgeTransportRole" in state["roles"]
    commands = ["Get-Queue"] + (["Get-ServerComponentState", "Set-ServerComponentState"] if method == "component" else [])
    computer = host.name.upper()
    version = str(state["version"])
    failure: Exception | None = None
    shell = None
    try:
        if not in_progress:
            intake_before = "running"
            if method == "component":
                shell = open_exchange_shell(m, version, commands, edge=edge)
                found = invoke(shell, "Get-ServerComponentState", {"Identity": computer, "Component": "HubTransport"})
                intake_before = str(prop(found[0], "State"))
                if intake_before == "Active":
                    invoke(
                        shell, "Set-ServerComponentState", {"Identity": computer, "Component": "HubTransport", "State": "Draining", "Requester": "Maintenance"}
                    )
            host.write_text(notes, json.dumps({"intake_before": intake_before, "started": host.clock.now().isoformat()}, separators=(",", ":")))
            tx.stop_transport(host)
            r["config_backup"] = backup
            tx.set_transport_config(host, config["path"], source, source, backup)
            problem = _complete_start(m, source, source, f"EdgeTransport.exe.config points at {source}")
            if problem:
                raise _Failed(problem)
            if method == "pause":
                host.pause_service(transport.SERVICE)
        if shell is None:
            shell = open_exchange_shell(m, version, commands, edge=edge)
        started = host.clock.time()
        queues = tx.queues(shell, computer)
        while _left(queues):
            elapsed = host.clock.time() - started
            if elapsed >= p["timeout"]:
                r["replay"]["timed_out"] = True
                break
            host.clock.sleep(max(1, min(p["poll_interval"], p["timeout"] - elapsed)))
            queues = tx.queues(shell, computer)
        r["replay"]["waited"] = int(host.clock.time() - started)
        r["replay"]["queues"] = queues
        if not r["replay"]["timed_out"]:
            tx.stop_transport(host)
            keep = f"{backup}.{stamp}"
            host.copy(backup, config["path"])
            host.move(backup, keep)
            r["config_backup"] = keep
            intake_before = "Active"
            if host.exists(notes):
                intake_before = str(json.loads(host.read_text(notes)).get("intake_before"))
            host.write_text(rf"{source}\exchange_dr.replayed", f"replayed on {computer} at {host.clock.now().isoformat()}")
            restored = tx.transport_config(host, state["install_path"])
            default = rf"{state['install_path']}\TransportRoles\data\Queue"
            back_db = (restored["queue_database_path"] or default).rstrip("\\")
            back_log = (restored["queue_database_logging_path"] or default).rstrip("\\")
            r["paths"] = {"database": back_db, "logging": back_log}
            problem = _complete_start(m, back_db, back_log, f"The replay of {source} is finished")
            if problem:
                raise _Failed(problem)
            if method == "component" and intake_before == "Active":
                invoke(shell, "Set-ServerComponentState", {"Identity": computer, "Component": "HubTransport", "State": "Active", "Requester": "Maintenance"})
            r["replay"]["finished"] = True
        else:
            r["paths"] = {"database": source, "logging": source}
    except (_Failed, WinError, cmdlets.CmdletError) as error:
        failure = error
    finally:
        if shell is not None:
            shell.close()
    if failure is not None:
        m.fail_json(f"Failed to replay {source} on {computer}: {failure}")
