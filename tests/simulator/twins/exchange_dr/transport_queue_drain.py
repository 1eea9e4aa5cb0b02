"""exchange_dr.recovery.transport_queue_drain: what plugins/modules/transport_queue_drain.ps1 does on a simulated host - the
intake stopped or restored (Set-ServerComponentState, or Suspend-Service / Resume-Service on MSExchangeTransport),
Redirect-Message, and the wait for the queues (Get-Queue every poll_interval simulated seconds)."""

from __future__ import annotations

from typing import Any

from simulator.exchange import cmdlets, transport
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr import _exchange_transport as tx
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


def _to_deliver(queues: list[dict[str, Any]]) -> int:
    total = 0
    for q in queues:
        name = str(q["identity"]).split("\\", 1)[-1]
        if q["delivery_type"] in ("ShadowRedundancy", "Unreachable") or name == "Poison" or name.casefold().startswith("shadow\\"):
            continue
        total += int(q["message_count"])
    return total


def _intake(m: ModuleRun, shell: Any, method: str) -> str:
    if method == "component":
        found = invoke(shell, "Get-ServerComponentState", {"Identity": m.host.name.upper(), "Component": "HubTransport"})
        return str(prop(found[0], "State"))
    return str(tx.transport_service(m.host)["state"])


@twin("exchange_dr.recovery.transport_queue_drain", required_together=[["exchange_username", "exchange_password"]])
def transport_queue_drain(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["server"] = host.name.upper()
    r["method"] = p["method"]
    r["intake"] = {"before": None, "after": None}
    r["redirected"] = 0
    r["queues_before"] = []
    r["queues"] = []
    r["waited"] = 0
    r["timed_out"] = False

    method = p["method"]
    if method == "auto":
        m.fail_json("method=auto is resolved by the exchange_dr.recovery.transport_queue_drain action plugin from the release; run the module through it")
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to drain {host.name.upper()}: Exchange Server is not installed on it")
    edge = "EdgeTransportRole" in state["roles"]
    service = tx.transport_service(host)
    if not service["exists"] or service["state"] not in ("running", "paused"):
        m.fail_json(
            f"Failed to drain {host.name.upper()}: the Microsoft Exchange Transport service is {service['state']}, so its queues cannot be "
            "delivered or read; start it first"
        )
    commands = (
        ["Get-Queue"]
        + (["Get-ServerComponentState", "Set-ServerComponentState"] if method == "component" else [])
        + (["Redirect-Message"] if p["target"] else [])
    )
    shell = open_exchange_shell(m, str(state["version"]), commands, edge=edge)
    failure = None
    computer = host.name.upper()
    try:
        r["queues_before"] = tx.queues(shell, computer)
        before = _intake(m, shell, method)
        r["intake"] = {"before": before, "after": before}
        stopped = (method == "component" and before != "Active") or (method == "pause" and before == "paused")
        if p["state"] == "drained":
            if not stopped:
                r["changed"] = True
                if not m.check_mode:
                    if method == "component":
                        invoke(
                            shell,
                            "Set-ServerComponentState",
                            {"Identity": computer, "Component": "HubTransport", "State": "Draining", "Requester": p["requester"]},
                        )
                    else:
                        host.pause_service(transport.SERVICE)
                    r["intake"]["after"] = _intake(m, shell, method)
            delivering = _to_deliver(r["queues_before"])
            if p["target"] and delivering > 0:
                r["changed"] = True
                r["redirected"] = delivering
                if not m.check_mode:
                    invoke(shell, "Redirect-Message", {"Server": computer, "Target": [p["target"]]}, no_domain_controller=True)
            queues = r["queues_before"]
            if not m.check_mode:
                started = host.clock.time()
                queues = tx.queues(shell, computer)
                while _to_deliver(queues) > 0:
                    elapsed = host.clock.time() - started
                    if elapsed >= p["timeout"]:
                        r["timed_out"] = True
                        break
                    host.clock.sleep(max(1, min(p["poll_interval"], p["timeout"] - elapsed)))
                    queues = tx.queues(shell, computer)
                r["waited"] = int(host.clock.time() - started)
            r["queues"] = queues
        else:
            if stopped:
                r["changed"] = True
                if not m.check_mode:
                    if method == "component":
                        invoke(
                            shell,
                            "Set-ServerComponentState",
                            {"Identity": computer, "Component": "HubTransport", "State": "Active", "Requester": p["requester"]},
                        )
                    else:
                        host.resume_service(transport.SERVICE)
                    r["intake"]["after"] = _intake(m, shell, method)
            r["queues"] = tx.queues(shell, computer)
    except (cmdlets.CmdletError, WinError) as error:
        failure = error
    finally:
        shell.close()
    if failure is not None:
        m.fail_json(f"Failed to {'drain' if p['state'] == 'drained' else 'reactivate'} {computer}: {failure}")
