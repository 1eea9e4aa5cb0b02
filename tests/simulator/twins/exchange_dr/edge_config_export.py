"""exchange_dr.recovery.edge_config_export: what plugins/modules/edge_config_export.ps1 does on a simulated Edge - the Setup
key read, the snap-in opened, the connectors and accepted domains read, ExportEdgeConfig.ps1 run (a program of the simulator);
state=absent removes the exported file."""

from __future__ import annotations

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_edge import edge_configuration, edge_script
from simulator.twins.exchange_dr._exchange_shell import open_exchange_shell
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


@twin("exchange_dr.recovery.edge_config_export", required_together=[["exchange_username", "exchange_password"]])
def edge_config_export(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["exchange"] = {"version": None, "edge": False, "shell": None}
    r["method"] = None
    r["script"] = None
    r["path"] = None
    r["output"] = []
    r["exported"] = False
    r["definition"] = {"receive_connectors": [], "send_connectors": [], "accepted_domains": []}
    r["subscribed"] = False

    path = p["_path"] or rf"{m.expand_env('%TEMP%').rstrip(chr(92))}\exchange_dr\CloneConfigData.xml"
    r["path"] = path
    if p["_state"] == "absent":
        if host.exists(path) and not host.is_dir(path):
            r["changed"] = True
            if not m.check_mode:
                host.remove(path, force=True)
        return
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to export the Edge configuration of {host.name.upper()}: Exchange Server is not installed on it")
    r["exchange"].update(version=state["version"], edge="EdgeTransportRole" in state["roles"])
    if not r["exchange"]["edge"]:
        m.fail_json(f"Failed to export the Edge configuration of {host.name.upper()}: it is not an Edge Transport server (roles: {', '.join(state['roles'])})")
    script = rf"{state['install_path']}\Scripts\ExportEdgeConfig.ps1"
    has_script = host.exists(script) and not host.is_dir(script)
    method = p["method"]
    if method == "auto":
        method = "cloned" if has_script else "declared"
    if method == "cloned" and not has_script:
        m.fail_json(
            f"Failed to export the Edge configuration of {host.name.upper()}: {script} does not exist "
            "(cloned configuration is Exchange 2007 to 2013); use method=declared"
        )
    r["method"] = method
    shell = open_exchange_shell(m, str(state["version"]), ["Get-ReceiveConnector", "Get-SendConnector", "Get-AcceptedDomain"], edge=True)
    r["exchange"]["shell"] = shell.method
    failure = None
    try:
        current = edge_configuration(shell)
        r["definition"] = {k: current[k] for k in ("receive_connectors", "send_connectors", "accepted_domains")}
        r["subscribed"] = current["subscribed"]
        r["script"] = script if method == "cloned" else None
        if method == "cloned" and not m.check_mode:
            folder = path.rsplit("\\", 1)[0]
            host.mkdir(folder)
            if host.exists(path):
                host.remove(path, force=True)
            parameters = {"CloneConfigData": path, **({"Key": p["key"]} if p["key"] else {})}
            r["output"] = edge_script(m, script, parameters)
            r["exported"] = host.exists(path)
    except (cmdlets.CmdletError, WinError) as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to export the Edge configuration of {host.name.upper()}: {failure}")
