"""exchange_dr.recovery.exchange_dag_member: what plugins/modules/exchange_dag_member.ps1 does, step by step - the cluster
read first when a node must be evicted, then Get-ExchangeServer, Get-DatabaseAvailabilityGroup -Status, (absent)
Get-MailboxDatabase, Add- or Remove-DatabaseAvailabilityGroupServer, and Remove-ClusterNode -Force.
"""

from __future__ import annotations

from simulator.exchange import cmdlets
from simulator.exchange import dag as dag_model
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_dag import copy_settings, get_cluster_nodes, get_dags, server_name
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop, text
from simulator.twins.exchange_dr._exchange_state import exchange_state


@twin("exchange_dr.recovery.exchange_dag_member", required_together=[["exchange_username", "exchange_password"]])
def exchange_dag_member(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["changed"] = False
    r["dag"] = None
    r["server"] = None
    r["member_before"] = False
    r["member"] = False
    r["members"] = []
    r["cluster_node"] = {"checked": False, "present_before": False, "evicted": False}
    r["commands"] = []

    computer = host.name.upper()
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to manage the DAG membership from {computer}: Exchange Server is not installed on it")
    version = str(state["version"])
    if int(version.split(".", maxsplit=1)[0]) < 14:
        m.fail_json(f"Failed to manage the DAG membership from {computer}: DAGs exist from Exchange 2010; this is Exchange {version}")
    name = p["server"].split(".", maxsplit=1)[0].upper()
    r["server"] = name
    absent = p["state"] == "absent"
    evict = absent and p["configuration_only"] and p["evict_cluster_node"]
    commands: list[str] = []

    cluster = None
    if evict:
        if name == computer:
            m.fail_json(f"Failed to remove {name} from {p['dag']}: run the task on a surviving member; a node does not evict itself")
        cluster = get_cluster_nodes(host)
        if not cluster["available"] or cluster["error"] is not None:
            m.fail_json(f"Failed to read the failover cluster on {computer} to evict {name}: {cluster['error']}")
        if any(n["name"] == name and n["state"] == "Up" for n in cluster["nodes"]):
            m.fail_json(
                f"Failed to remove {name} from {p['dag']} as a server that is gone: its cluster node is Up; remove it without configuration_only instead"
            )

    refusal = None
    failure = None
    shell = open_exchange_shell(
        m,
        version,
        [
            "Get-ExchangeServer",
            "Get-DatabaseAvailabilityGroup",
            "Get-MailboxDatabase",
            "Add-DatabaseAvailabilityGroupServer",
            "Remove-DatabaseAvailabilityGroupServer",
        ],
    )
    try:
        servers = invoke(shell, "Get-ExchangeServer", {})
        dags = get_dags(shell)
        dag = next((d for d in dags if str(d["name"]).casefold() == p["dag"].casefold()), None)
        if not any(server_name(prop(s, "Name")) == name for s in servers):
            refusal = f"there is no Exchange server {name} in the organisation"
        elif dag is None:
            known = ", ".join(d["name"] for d in dags) or "none"
            refusal = f"there is no database availability group {p['dag']} in the organisation (its DAGs: {known})"
        else:
            r["dag"] = dag["name"]
            before = name in dag["members"]
            r["member_before"] = before
            r["member"] = before
            r["members"] = list(dag["members"])
            other = next((d for d in dags if d["name"] != dag["name"] and name in d["members"]), None)
            if not absent and other is not None:
                refusal = f"{name} is a member of {other['name']}, not of {dag['name']}; a server is in one DAG at most"
            elif not absent and not before:
                commands.append(f"Add-DatabaseAvailabilityGroupServer -Identity '{dag['name']}' -MailboxServer '{name}'")
                if not m.check_mode:
                    invoke(shell, "Add-DatabaseAvailabilityGroupServer", {"Identity": dag["name"], "MailboxServer": name})
                r["changed"] = True
                r["member"] = True
                r["members"] = [*dag["members"], name]
            elif absent and before:
                replicated = [
                    text(prop(db, "Name")) for db in invoke(shell, "Get-MailboxDatabase", {}) if len(copy_settings(db)) > 1 and name in copy_settings(db)
                ]
                if replicated:
                    held = ", ".join(str(x) for x in replicated)
                    refusal = f"{name} still holds copies of replicated databases ({held}): remove them first (exchange_database_copy state=absent)"
                else:
                    parameters = {"Identity": dag["name"], "MailboxServer": name, "Confirm": False}
                    line = f"Remove-DatabaseAvailabilityGroupServer -Identity '{dag['name']}' -MailboxServer '{name}'"
                    if p["configuration_only"]:
                        parameters["ConfigurationOnly"] = True
                        line += " -ConfigurationOnly"
                    commands.append(line)
                    if not m.check_mode:
                        invoke(shell, "Remove-DatabaseAvailabilityGroupServer", parameters)
                    r["changed"] = True
                    r["member"] = False
                    r["members"] = [s for s in dag["members"] if s != name]
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    r["commands"] = list(commands)
    if failure is not None:
        doing = f"remove {name} from" if absent else f"add {name} to"
        m.fail_json(f"Failed to {doing} {p['dag']}: {failure}")
    if refusal is not None:
        m.fail_json(f"Failed to manage the membership of {name} in {p['dag']}: {refusal}")

    if evict:
        assert cluster is not None
        r["cluster_node"]["checked"] = True
        node = next((n for n in cluster["nodes"] if n["name"] == name), None)
        if node is not None:
            r["cluster_node"]["present_before"] = True
            commands.append(f"Remove-ClusterNode -Name '{name}' -Force")
            if not m.check_mode:
                try:
                    dag_model.remove_cluster_node(host, name)
                except dag_model.ClusterError as error:
                    r["commands"] = list(commands)
                    m.fail_json(f"Failed to evict {name} from the failover cluster of {p['dag']}: {error}")
            r["cluster_node"]["evicted"] = True
            r["changed"] = True
    r["commands"] = list(commands)
