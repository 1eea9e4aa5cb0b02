"""What plugins/module_utils/_ExchangeDag.psm1 does, on a simulated host: one function per PowerShell function. The DAGs,
copies and the cluster themselves are simulator/exchange/dag.py."""

from __future__ import annotations

import re
from typing import Any

from simulator.exchange import dag as dag_model
from simulator.exchange.shell import ExchangeShell
from simulator.host import Host
from simulator.twins.exchange_dr._exchange_shell import invoke, prop, text


def server_name(value: Any) -> str | None:
    """Get-ExDrServerName."""
    if value is None:
        return None
    name = prop(value, "Name") if isinstance(value, dict) else None
    if name is None:
        name = re.split(r"[\\/]", str(value))[-1]
    return str(name).split(".", maxsplit=1)[0].upper()


def get_dags(shell: ExchangeShell) -> list[dict[str, Any]]:
    """Get-ExDrDag."""
    dags = []
    for dag in invoke(shell, "Get-DatabaseAvailabilityGroup", {"Status": True}):
        dags.append(
            {
                "name": text(prop(dag, "Name")),
                "members": [server_name(s) for s in prop(dag, "Servers") or [] if s is not None],
                "operational_servers": [server_name(s) for s in prop(dag, "OperationalServers") or [] if s is not None],
                "primary_active_manager": server_name(prop(dag, "PrimaryActiveManager")),
                "witness_server": text(prop(dag, "WitnessServer")),
                "witness_directory": text(prop(dag, "WitnessDirectory")),
            }
        )
    return sorted(dags, key=lambda d: str(d["name"]).casefold())


def copy_settings(database: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Get-ExDrCopySetting."""
    settings: dict[str, dict[str, Any]] = {}
    for server in prop(database, "Servers") or []:
        if server is not None:
            settings[str(server_name(server))] = {"activation_preference": None, "replay_lag_time": "00:00:00", "truncation_lag_time": "00:00:00"}
    lists = {"ActivationPreference": "activation_preference", "ReplayLagTimes": "replay_lag_time", "TruncationLagTimes": "truncation_lag_time"}
    for prop_name, key in lists.items():
        for pair in prop(database, prop_name) or []:
            if pair is None:
                continue
            if isinstance(pair, str):  # the text of a deserialized KeyValuePair
                match = re.match(r"^\[(.+), (.+)\]$", pair)
                if not match:
                    continue
                name, value = server_name(match.group(1)), match.group(2)
            else:
                name = server_name(prop(pair, "Key"))
                value = prop(pair, "Value")
            if name is None or name not in settings or value is None:
                continue
            settings[name][key] = int(value) if key == "activation_preference" else str(value)
    return settings


def copy_status(status: dict[str, Any]) -> dict[str, Any]:
    """ConvertTo-ExDrCopyStatus."""
    copy_queue, replay_queue = prop(status, "CopyQueueLength"), prop(status, "ReplayQueueLength")
    return {
        "name": text(prop(status, "Name")),
        "server": server_name(prop(status, "MailboxServer")),
        "status": text(prop(status, "Status")),
        "active": prop(status, "ActiveCopy") is True,
        "copy_queue_length": None if copy_queue is None else int(copy_queue),
        "replay_queue_length": None if replay_queue is None else int(replay_queue),
        "content_index_state": text(prop(status, "ContentIndexState")),
        "error_message": text(prop(status, "ErrorMessage")),
    }


def cluster_node_cmdlets(host: Host) -> bool:
    """Get-Command Get-ClusterNode: the FailoverClusters module comes with RSAT-Clustering-PowerShell."""
    feature = host.feature("RSAT-Clustering-PowerShell")
    return feature is not None and feature.installed


def get_cluster_nodes(host: Host) -> dict[str, Any]:
    """Get-ExDrClusterNode."""
    result: dict[str, Any] = {"available": False, "nodes": [], "error": None}
    if not cluster_node_cmdlets(host):
        result["error"] = "the FailoverClusters module (feature RSAT-Clustering-PowerShell) is not installed"
        return result
    result["available"] = True
    try:
        result["nodes"] = [{"name": server_name(n["Name"]), "state": str(n["State"])} for n in dag_model.cluster_nodes(host)]
    except dag_model.ClusterError as error:
        result["error"] = str(error)
    return result
