"""exchange_dr.recovery.transport_queue_info: what plugins/modules/transport_queue_info.ps1 does, step by step, on a simulated
host - the Setup key read (_ExchangeState), the queue keys, files, folder rights, service and events (_ExchangeTransport),
the sets aside, the replay folder, eseutil /mh when the service is stopped, Get-Queue through the shell when it runs."""

from __future__ import annotations

from typing import Any

from defusedxml.ElementTree import ParseError

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr import _exchange_transport as tx
from simulator.twins.exchange_dr._exchange_shell import invoke_eseutil, open_exchange_shell
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


@twin("exchange_dr.recovery.transport_queue_info", required_together=[["exchange_username", "exchange_password"]])
def transport_queue_info(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["exchange"] = {"version": None, "install_path": None, "roles": [], "edge": False, "shell": None}
    r["config"] = {"path": None, "exists": False, "queue_database_path": None, "queue_database_logging_path": None}
    r["paths"] = {"database": None, "logging": None, "aside_root": None}
    r["service"] = {"exists": False, "state": None, "start_mode": None}
    r["files"] = {"database": [], "logging": []}
    r["folders"] = []
    r["queues"] = None
    r["queue_error"] = None
    r["eseutil"] = {"mh": None}
    r["events"] = []
    r["aside"] = []
    r["replay"] = {"path": None, "exists": False, "files": [], "marker": None, "in_progress": False, "config_backup": False, "mh": None}

    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to read the queue database of {host.name.upper()}: Exchange Server is not installed on it")
    version, install = str(state["version"]), str(state["install_path"])
    edge = "EdgeTransportRole" in state["roles"]
    r["exchange"].update(version=version, install_path=install, roles=list(state["roles"]), edge=edge)
    failure: Exception | None = None
    running = False
    try:
        config = tx.transport_config(host, install)
        r["config"] = config
        default = rf"{install}\TransportRoles\data\Queue"
        database = (config["queue_database_path"] or default).rstrip("\\")
        logging = (config["queue_database_logging_path"] or default).rstrip("\\")
        aside_root = (p["aside_root"] or rf"{database}\QueueAside").rstrip("\\")
        r["paths"] = {"database": database, "logging": logging, "aside_root": aside_root}
        r["service"] = tx.transport_service(host)
        r["files"] = {"database": tx.queue_files(host, database), "logging": tx.queue_files(host, logging, logging=True)}
        r["folders"] = [tx.folder_access(host, f) for f in dict.fromkeys((database, logging))]
        r["events"] = tx.transport_events(host, host.clock.time() - 86400)
        if host.exists(aside_root) and host.is_dir(aside_root):
            r["aside"] = [
                {
                    "path": rf"{aside_root}\{n}",
                    "name": n,
                    "files": tx.queue_files(host, rf"{aside_root}\{n}") + tx.queue_files(host, rf"{aside_root}\{n}", logging=True),
                }
                for n in sorted(host.listdir(aside_root), key=str.casefold)
                if host.is_dir(rf"{aside_root}\{n}")
            ]
        eseutil = rf"{install}\Bin\eseutil.exe"
        running = r["service"]["state"] in ("running", "paused")
        mail = rf"{database}\Mail.que"
        if not running and p["eseutil"] == "stopped" and host.exists(mail) and host.exists(eseutil):
            r["eseutil"]["mh"] = invoke_eseutil(m, eseutil, ["/mh", mail])
        if p["replay_from"]:
            r["replay"] = _replay(m, p["replay_from"].rstrip("\\"), config, database, running, eseutil)
    except (WinError, ParseError) as error:
        failure = error
    if failure is not None:
        m.fail_json(f"Failed to read the queue database of {host.name.upper()}: {failure}")
    if running and p["queues"]:
        shell = open_exchange_shell(m, version, ["Get-Queue"], edge=edge)
        r["exchange"]["shell"] = shell.method
        try:
            r["queues"] = tx.queues(shell, host.name.upper())
        except cmdlets.CmdletError as error:
            r["queue_error"] = str(error)
        finally:
            shell.close()


def _replay(m: ModuleRun, source: str, config: dict[str, Any], database: str, running: bool, eseutil: str) -> dict[str, Any]:  # noqa: PLR0917
    host = m.host
    replay: dict[str, Any] = {"path": source, "exists": False, "files": [], "marker": None, "in_progress": False, "config_backup": False, "mh": None}
    replay["config_backup"] = host.exists(f"{config['path']}.before-replay")
    replay["in_progress"] = replay["config_backup"] and database.casefold() == source.casefold()
    if host.exists(source) and host.is_dir(source):
        replay["files"] = tx.queue_files(host, source) + tx.queue_files(host, source, logging=True)
        replay["exists"] = any(f["name"] == "Mail.que" for f in replay["files"])
        marker = rf"{source}\exchange_dr.replayed"
        if host.exists(marker):
            replay["marker"] = host.read_text(marker)
        if replay["exists"] and not (running and replay["in_progress"]) and m.params["eseutil"] == "stopped" and host.exists(eseutil):
            replay["mh"] = invoke_eseutil(m, eseutil, ["/mh", rf"{source}\Mail.que"])
    return replay
