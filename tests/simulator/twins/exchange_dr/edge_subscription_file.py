"""exchange_dr.recovery.edge_subscription_file: what plugins/modules/edge_subscription_file.ps1 does on a simulated Edge -
New-EdgeSubscription -FileName <file> -Force through the snap-in; _state=absent deletes the file."""

from __future__ import annotations

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


@twin("exchange_dr.recovery.edge_subscription_file", required_together=[["exchange_username", "exchange_password"]])
def edge_subscription_file(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["path"] = None
    r["created"] = None
    path = p["_path"] or rf"{m.expand_env('%TEMP%').rstrip(chr(92))}\exchange_dr\EdgeSubscriptionInfo.xml"
    r["path"] = path
    if p["_state"] == "absent":
        if host.exists(path) and not host.is_dir(path):
            r["changed"] = True
            if not m.check_mode:
                host.remove(path, force=True)
        return
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to create an Edge Subscription file on {host.name.upper()}: Exchange Server is not installed on it")
    if "EdgeTransportRole" not in state["roles"]:
        m.fail_json(f"Failed to create an Edge Subscription file on {host.name.upper()}: it is not an Edge Transport server (the file is made on the Edge)")
    r["changed"] = True
    if m.check_mode:
        return
    shell = open_exchange_shell(m, str(state["version"]), ["New-EdgeSubscription"], edge=True)
    failure = None
    try:
        host.mkdir(path.rsplit("\\", 1)[0])
        invoke(shell, "New-EdgeSubscription", {"FileName": path, "Force": True}, no_domain_controller=True)
        r["created"] = host.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    except (cmdlets.CmdletError, WinError) as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to create an Edge Subscription file on {host.name.upper()}: {failure}")
