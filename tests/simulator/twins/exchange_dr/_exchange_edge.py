"""What plugins/module_utils/_ExchangeEdge.psm1 does, on a simulated host: one function per PowerShell function."""

from __future__ import annotations

import re
from typing import Any

from simulator.exchange.shell import ExchangeShell
from simulator.programs import join_command_line
from simulator.twins import ModuleRun
from simulator.twins.exchange_dr._exchange_shell import invoke, prop, text


def string_list(value: Any) -> list[str]:
    """ConvertTo-ExDrStringList."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None]


def edge_configuration(shell: ExchangeShell) -> dict[str, Any]:
    """Get-ExDrEdgeConfiguration."""
    receive = [
        {
            "name": text(prop(c, "Name")),
            "bindings": string_list(prop(c, "Bindings")),
            "remote_ip_ranges": string_list(prop(c, "RemoteIPRanges")),
            "fqdn": text(prop(c, "Fqdn")),
        }
        for c in invoke(shell, "Get-ReceiveConnector", {}, no_domain_controller=True)
    ]
    send = [
        {
            "name": text(prop(c, "Name")),
            "address_spaces": string_list(prop(c, "AddressSpaces")),
            "smart_hosts": string_list(prop(c, "SmartHosts")),
            "dns_routing": prop(c, "DNSRoutingEnabled"),
            "source_ip": text(prop(c, "SourceIPAddress")),
        }
        for c in invoke(shell, "Get-SendConnector", {}, no_domain_controller=True)
    ]
    accepted = [
        {"name": text(prop(d, "Name")), "domain_name": text(prop(d, "DomainName")), "domain_type": text(prop(d, "DomainType"))}
        for d in invoke(shell, "Get-AcceptedDomain", {}, no_domain_controller=True)
    ]
    return {
        "receive_connectors": receive,
        "send_connectors": send,
        "accepted_domains": accepted,
        "subscribed": any(str(c["name"]).casefold().startswith("edgesync - ") for c in send),
    }


def edge_script(m: ModuleRun, path: str, parameters: dict[str, Any]) -> list[str]:
    """Invoke-ExDrEdgeScript: `& <script> @parameters *>&1` - the script is a program of the simulator (programs/edge_scripts.py);
    PowerShell passes each splatted parameter as -Name:value."""
    argv = [path, *(f"-{k}:{_ps(v)}" for k, v in parameters.items())]
    result = m.host.run(join_command_line(argv), user=m.user)
    return [line for line in re.split(r"\r?\n", result.stdout + result.stderr) if line != ""]


def _ps(value: Any) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)
