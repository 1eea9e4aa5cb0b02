"""exchange_dr.recovery.exchange_dag_info: what plugins/modules/exchange_dag_info.ps1 does, step by step - the Setup key
read, the shell opened, Get-ExchangeServer, Get-DatabaseAvailabilityGroup -Status, Get-MailboxDatabase and, per database of
the DAG, Get-MailboxDatabaseCopyStatus -Identity <db>; Test-ReplicationHealth when asked; Get-ClusterNode on the host.
"""

from __future__ import annotations

from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_dag import copy_settings, copy_status, get_cluster_nodes, get_dags, server_name
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop, text
from simulator.twins.exchange_dr._exchange_state import exchange_state


@twin("exchange_dr.recovery.exchange_dag_info", required_together=[["exchange_username", "exchange_password"]])
def exchange_dag_info(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["changed"] = False
    r["exchange"] = {"version": None, "shell": None}
    r["server"] = {"name": None, "exists": False, "member": False, "dag": None}
    r["dag"] = None
    r["all_dag_names"] = []
    r["databases"] = []
    r["replication_health"] = None
    r["cluster"] = {"available": False, "nodes": [], "error": None}

    state = exchange_state(host)
    computer = host.name.upper()
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to read the database availability groups from {computer}: Exchange Server is not installed on it")
    version = str(state["version"])
    if int(version.split(".", maxsplit=1)[0]) < 14:
        m.fail_json(f"Failed to read the database availability groups from {computer}: DAGs exist from Exchange 2010; this is Exchange {version}")
    r["exchange"]["version"] = version
    name = p["server"].split(".", maxsplit=1)[0].upper() if p["server"] else computer
    r["server"]["name"] = name

    commands = ["Get-ExchangeServer", "Get-DatabaseAvailabilityGroup", "Get-MailboxDatabase", "Get-MailboxDatabaseCopyStatus", "Test-ReplicationHealth"]
    shell = open_exchange_shell(m, version, commands)
    r["exchange"]["shell"] = shell.method
    entries: list[dict[str, Any]] = []
    failure = None
    try:
        servers = invoke(shell, "Get-ExchangeServer", {})
        r["server"]["exists"] = any(server_name(prop(s, "Name")) == name for s in servers)
        dags = get_dags(shell)
        r["all_dag_names"] = [d["name"] for d in dags]
        member_of = next((d for d in dags if name in d["members"]), None)
        if member_of is not None:
            r["server"]["dag"] = member_of["name"]
        chosen = next((d for d in dags if str(d["name"]).casefold() == p["dag"].casefold()), None) if p["dag"] else member_of
        if chosen is not None:
            r["dag"] = chosen
            r["server"]["member"] = name in chosen["members"]
            for db in invoke(shell, "Get-MailboxDatabase", {}):
                if prop(db, "Recovery") is True:
                    continue
                settings = copy_settings(db)
                if not any(s in chosen["members"] or s == name for s in settings):
                    continue
                db_name = text(prop(db, "Name"))
                statuses = {}
                for status in invoke(shell, "Get-MailboxDatabaseCopyStatus", {"Identity": db_name}):
                    converted = copy_status(status)
                    statuses[converted["server"]] = converted
                copies = []
                for server in sorted(settings, key=lambda s: (settings[s]["activation_preference"] is not None, settings[s]["activation_preference"] or 0, s)):
                    status = statuses.get(server)
                    copies.append(
                        {
                            "server": server,
                            "activation_preference": settings[server]["activation_preference"],
                            "replay_lag_time": settings[server]["replay_lag_time"],
                            "truncation_lag_time": settings[server]["truncation_lag_time"],
                            "status": status["status"] if status else None,
                            "active": status["active"] if status else False,
                            "copy_queue_length": status["copy_queue_length"] if status else None,
                            "replay_queue_length": status["replay_queue_length"] if status else None,
                            "content_index_state": status["content_index_state"] if status else None,
                            "error_message": status["error_message"] if status else None,
                        }
                    )
                entries.append(
                    {
                        "name": db_name,
                        "active_server": server_name(prop(db, "Server")),
                        "circular_logging": prop(db, "CircularLoggingEnabled") is True,
                        "copies": copies,
                    }
                )
            if p["test_replication_health"] and r["server"]["member"]:
                r["replication_health"] = [
                    {"check": text(prop(row, "Check")), "result": text(prop(row, "Result")), "error": text(prop(row, "Error"))}
                    for row in invoke(shell, "Test-ReplicationHealth", {"Identity": name})
                ]
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to read the database availability groups from {computer}: {failure}")
    r["databases"] = sorted(entries, key=lambda e: str(e["name"]).casefold())

    if p["cluster"]:
        r["cluster"] = get_cluster_nodes(host)
