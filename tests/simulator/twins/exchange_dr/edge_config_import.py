"""exchange_dr.recovery.edge_config_import: what plugins/modules/edge_config_import.ps1 does on a simulated Edge - per _step,
ImportEdgeConfig.ps1 (a program of the simulator) validating or importing with the answer file written next to the data
file, the declared changes one cmdlet each, and the Edge's configuration read back."""

from __future__ import annotations

from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_edge import edge_configuration, edge_script
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError

COMMANDS = [
    "Get-ReceiveConnector",
    "Get-SendConnector",
    "Get-AcceptedDomain",
    "New-ReceiveConnector",
    "Set-ReceiveConnector",
    "New-SendConnector",
    "New-AcceptedDomain",
]


def _cmdlet(change: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    action = change.get("action")
    if action == "new_receive_connector":
        params: dict[str, Any] = {"Name": change["name"], "Bindings": list(change.get("bindings") or [])}
        if change.get("usage") == "Internet":
            params["Internet"] = True
        else:
            params.update(Custom=True, RemoteIPRanges=list(change.get("remote_ip_ranges") or []))
        if change.get("fqdn"):
            params["Fqdn"] = change["fqdn"]
        return "New-ReceiveConnector", params
    if action == "set_receive_connector":
        params = {"Identity": change["name"]}
        for key, name in (("bindings", "Bindings"), ("remote_ip_ranges", "RemoteIPRanges"), ("fqdn", "Fqdn")):
            if key in change:
                params[name] = change[key]
        return "Set-ReceiveConnector", params
    if action == "new_send_connector":
        params = {"Name": change["name"], "AddressSpaces": list(change.get("address_spaces") or [])}
        if change.get("smart_hosts"):
            params.update(SmartHosts=list(change["smart_hosts"]), DNSRoutingEnabled=False)
        if change.get("source_ip"):
            params["SourceIPAddress"] = change["source_ip"]
        return "New-SendConnector", params
    if action == "new_accepted_domain":
        params = {"Name": change["name"], "DomainName": change.get("domain_name")}
        if change.get("domain_type"):
            params["DomainType"] = change["domain_type"]
        return "New-AcceptedDomain", params
    raise _Throw(f"unknown change {action} (set by the action plugin)")


class _Throw(Exception):
    pass


@twin("exchange_dr.recovery.edge_config_import", required_together=[["exchange_username", "exchange_password"]], mutually_exclusive=[["src", "definition"]])
def edge_config_import(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["exchange"] = {"version": None, "edge": False, "shell": None}
    r["step"] = p["_step"]
    r["script"] = None
    r["output"] = []
    r["answer"] = None
    r["current"] = {"receive_connectors": [], "send_connectors": [], "accepted_domains": [], "subscribed": False}
    r["applied"] = []

    step = p["_step"]
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to import the Edge configuration on {host.name.upper()}: Exchange Server is not installed on it")
    r["exchange"].update(version=state["version"], edge="EdgeTransportRole" in state["roles"])
    if not r["exchange"]["edge"]:
        m.fail_json(f"Failed to import the Edge configuration on {host.name.upper()}: it is not an Edge Transport server (roles: {', '.join(state['roles'])})")
    script = rf"{state['install_path']}\Scripts\ImportEdgeConfig.ps1"
    data_path = p["_data_path"]
    if step in ("validate", "import"):
        if not (host.exists(script) and not host.is_dir(script)):
            m.fail_json(
                f"Failed to import the Edge configuration on {host.name.upper()}: {script} does not exist (cloned configuration is Exchange 2007 to 2013); "
                "use definition (the declared configuration)"
            )
        if not data_path or not host.exists(data_path):
            m.fail_json("The data file is copied to the Edge by the exchange_dr.recovery.edge_config_import action plugin; run the module through it")
        r["script"] = script
    answer_path = rf"{data_path.rsplit(chr(92), 1)[0]}\CloneConfigAnswer.xml" if data_path else None
    shell = open_exchange_shell(m, str(state["version"]), COMMANDS, edge=True)
    r["exchange"]["shell"] = shell.method
    failure: Exception | None = None
    try:
        if step == "validate":
            r["output"] = edge_script(m, script, {"CloneConfigData": data_path, "IsImport": False, "CloneConfigAnswer": answer_path})
            if host.exists(answer_path):
                r["answer"] = host.read_text(answer_path)
        elif step == "import":
            r["changed"] = True
            if not m.check_mode:
                host.write_text(answer_path, p["_answer"] or "")
                parameters: dict[str, Any] = {"CloneConfigData": data_path, "IsImport": True, "CloneConfigAnswer": answer_path}
                if p["key"]:
                    parameters["Key"] = p["key"]
                r["output"] = edge_script(m, script, parameters)
        elif step == "apply":
            for change in p["_changes"] or []:
                r["changed"] = True
                cmdlet, parameters = _cmdlet(change)
                if not m.check_mode:
                    invoke(shell, cmdlet, parameters, no_domain_controller=True)
                r["applied"].append(f"{cmdlet} {change.get('name')}")
        r["current"] = edge_configuration(shell)
    except (cmdlets.CmdletError, WinError, _Throw) as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to import the Edge configuration on {host.name.upper()} ({step}): {failure}")
