"""exchange_dr.recovery.edge_subscription: what plugins/modules/edge_subscription.ps1 does on a simulated Mailbox or Hub
Transport server - the organisation's Edge Subscriptions and the Edge's EdgeSync status (query), Remove-EdgeSubscription,
New-EdgeSubscription -FileData -Site, Start-EdgeSynchronization and the Test-EdgeSynchronization wait (subscribe),
Remove-EdgeSubscription (remove)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulator.exchange import cmdlets
from simulator.exchange.shell import ExchangeShell
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop, text
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError

COMMANDS = [
    "Get-EdgeSubscription",
    "Get-ExchangeServer",
    "Test-EdgeSynchronization",
    "Remove-EdgeSubscription",
    "New-EdgeSubscription",
    "Start-EdgeSynchronization",
]


def _sync_status(shell: ExchangeShell, edge: str) -> dict[str, Any] | None:
    test = invoke(shell, "Test-EdgeSynchronization", {"TargetServer": edge, "ExcludeRecipientTest": True})
    if not test:
        return None
    return {"status": text(prop(test[0], "SyncStatus")), "failure": text(prop(test[0], "FailureDetail")), "last": text(prop(test[0], "LastSynchronizedDate"))}


def _site_name(value: Any) -> str | None:
    """Get-SiteName: the last part of the site's ADObjectId."""
    name = text(value)
    return None if name is None else name.rsplit("/", maxsplit=1)[-1]


@twin("exchange_dr.recovery.edge_subscription", required_together=[["exchange_username", "exchange_password"]])
def edge_subscription(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r.update(
        changed=False,
        server=host.name.upper(),
        step=p["_step"],
        site=None,
        host_time=datetime.fromtimestamp(host.clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
        subscriptions=[],
        removed=False,
        subscribed=False,
        sync=None,
        start=[],
        waited=0,
        timed_out=False,
    )
    state = exchange_state(host)
    edge, step = p["edge_server"], p["_step"]
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to manage the Edge Subscription of {edge} on {host.name.upper()}: Exchange Server is not installed on it")
    if "EdgeTransportRole" in state["roles"]:
        m.fail_json(
            f"{host.name.upper()} is an Edge Transport server: the subscription file is imported on a Mailbox or Hub Transport server of the Edge's site"
        )
    shell = open_exchange_shell(m, str(state["version"]), COMMANDS)
    failure: Exception | None = None
    try:
        me = invoke(shell, "Get-ExchangeServer", {"Identity": host.name.upper()})
        r["site"] = _site_name(prop(me[0], "Site"))
        r["subscriptions"] = [{"name": text(prop(s, "Name")), "site": _site_name(prop(s, "Site"))} for s in invoke(shell, "Get-EdgeSubscription", {})]
        existing = [s for s in r["subscriptions"] if str(s["name"]).casefold() == edge.split(".")[0].casefold()]
        r["subscribed"] = bool(existing)
        if step == "query":
            if r["subscribed"] and str(existing[0]["site"]).casefold() == str(r["site"]).casefold():
                r["sync"] = _sync_status(shell, edge)
        elif step == "remove":
            if r["subscribed"]:
                r["changed"] = r["removed"] = True
                if not m.check_mode:
                    invoke(shell, "Remove-EdgeSubscription", {"Identity": edge, "Confirm": False})
                r["subscribed"] = False
        else:
            path = p["_file_path"]
            if not path or not host.exists(path) or host.is_dir(path):
                raise cmdlets.CmdletError(
                    "the subscription file is copied here by the exchange_dr.recovery.edge_subscription action plugin; run the module through it"
                )
            r["changed"] = True
            if not m.check_mode:
                if r["subscribed"] and p["remove_existing"]:
                    invoke(shell, "Remove-EdgeSubscription", {"Identity": edge, "Confirm": False})
                    r["removed"] = True
                params = {
                    "FileData": host.read_bytes(path),
                    "CreateInternetSendConnector": p["create_internet_send_connector"],
                    "CreateInboundSendConnector": p["create_inbound_send_connector"],
                    "Confirm": False,
                }
                if p["site"]:
                    params["Site"] = p["site"]
                try:
                    invoke(shell, "New-EdgeSubscription", params)
                finally:
                    if host.exists(path):
                        host.remove(path, force=True)
                r["subscribed"] = True
                r["start"] = [
                    {"result": text(prop(s, "Result")), "failure": text(prop(s, "FailureDetails"))}
                    for s in invoke(
                        shell, "Start-EdgeSynchronization", {"TargetServer": edge, "ForceFullSync": True, "Confirm": False}, no_domain_controller=True
                    )
                ]
                started = host.clock.time()
                r["sync"] = _sync_status(shell, edge)
                while r["sync"] is None or r["sync"]["status"] != "Normal":
                    elapsed = host.clock.time() - started
                    if elapsed >= p["timeout"]:
                        r["timed_out"] = True
                        break
                    host.clock.sleep(max(1, min(p["poll_interval"], p["timeout"] - elapsed)))
                    r["sync"] = _sync_status(shell, edge)
                r["waited"] = int(host.clock.time() - started)
    except (cmdlets.CmdletError, WinError) as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to {'read' if step == 'query' else step} the Edge Subscription of {edge} on {host.name.upper()}: {failure}")
