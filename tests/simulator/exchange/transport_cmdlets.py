"""Twins of the transport, queue, EdgeSync and Edge configuration cmdlets (issue 12), on top of cmdlets.py's binding.

Importing this module adds the cmdlets' documented parameters to cmdlets.SPECS_2010 / SPECS_2007 and registers their
behaviour, so `shell.invoke("Get-Queue", ...)` binds and runs like the database cmdlets do. Sources:
- 2010 to SE: MicrosoftDocs/office-docs-powershell `exchange/exchange-ps/ExchangePowerShell/<cmdlet>.md` (SYNTAX, `Type:`,
  `Required:`, `Position:` and `Applicable:` of each parameter), tabulated below; only the parameters a row lists bind.
- 2007: the Exchange 2007 library (exchg.80), lower confidence: EXCHANGE_2007 below (no Redirect-Message, no component
  states; Start/Test-EdgeSynchronization from SP1).
Behaviour: simulator/exchange/transport.py (queues), edge.py (AD LDS on an Edge, EdgeSync). Wording marked (modelled) is the
simulator's. Facts: docs/transport-and-edge.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from simulator.exchange import cmdlets, edge, transport
from simulator.exchange.cmdlets import ALL, BEHAVIOURS, DEFAULT_SETS, SPECS_2007, SPECS_2010, CmdletError, NotModelled, behaviour

if TYPE_CHECKING:
    from simulator.exchange.shell import ExchangeShell
    from simulator.host import Host

_ALL5 = "2010+2013+2016+2019+SE"
_13 = "2013+2016+2019+SE"

DOCUMENTED: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Get-Queue": (
        ("Identity", "QueueIdentity", ("Identity",), (), 1, _ALL5),
        ("BookmarkIndex", "Int32", ALL, (), None, _ALL5),
        ("BookmarkObject", "ExtensibleQueueInfo", ALL, (), None, _ALL5),
        ("Exclude", "QueueViewerIncludesAndExcludes", ALL, (), None, _13),
        ("Filter", "String", ("Server",), (), None, _ALL5),
        ("Include", "QueueViewerIncludesAndExcludes", ALL, (), None, _13),
        ("IncludeBookmark", "Boolean", ALL, (), None, _ALL5),
        ("ResultSize", "Unlimited", ALL, (), None, _ALL5),
        ("ReturnPageInfo", "Boolean", ALL, (), None, _ALL5),
        ("SearchForward", "Boolean", ALL, (), None, _ALL5),
        ("Server", "ServerIdParameter", ("Server",), (), None, _ALL5),
        ("SortOrder", "QueueViewerSortOrderEntry[]", ALL, (), None, _ALL5),
    ),
    **{
        name: (
            ("Identity", "QueueIdentity", ("Identity",), ("Identity",), 1, _ALL5),
            ("Filter", "String", ("Filter",), ("Filter",), None, _ALL5),
            ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
            ("Server", "ServerIdParameter", ("Filter",), (), None, _ALL5),
            ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
            *((("Resubmit", "Boolean", ALL, (), None, _ALL5),) if name == "Retry-Queue" else ()),
        )
        for name in ("Suspend-Queue", "Resume-Queue", "Retry-Queue")
    },
    "Redirect-Message": (
        ("Server", "ServerIdParameter", ALL, ALL, None, _13),
        ("Target", "MultiValuedProperty", ALL, ALL, None, _13),
        ("Confirm", "SwitchParameter", ALL, (), None, _13),
        ("WhatIf", "SwitchParameter", ALL, (), None, _13),
    ),
    "Get-ServerComponentState": (
        ("Identity", "ServerIdParameter", ALL, ALL, 1, _13),
        ("Component", "String", ALL, (), None, _13),
        ("DomainController", "Fqdn", ALL, (), None, _13),
    ),
    "Set-ServerComponentState": (
        ("Identity", "ServerIdParameter", ALL, ALL, 1, _13),
        ("Component", "String", ALL, ALL, None, _13),
        ("Requester", "String", ALL, ALL, None, _13),
        ("State", "ServiceState", ALL, ALL, None, _13),
        ("Confirm", "SwitchParameter", ALL, (), None, _13),
        ("DomainController", "Fqdn", ALL, (), None, _13),
        ("LocalOnly", "SwitchParameter", ALL, (), None, _13),
        ("RemoteOnly", "SwitchParameter", ALL, (), None, _13),
        ("TimeoutInSeconds", "Int32", ALL, (), None, _13),
        ("WhatIf", "SwitchParameter", ALL, (), None, _13),
    ),
    "New-EdgeSubscription": (
        ("AccountExpiryDuration", "TimeSpan", ALL, (), None, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("CreateInboundSendConnector", "Boolean", ALL, (), None, _ALL5),
        ("CreateInternetSendConnector", "Boolean", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("FileData", "Byte[]", ALL, (), None, _ALL5),
        ("FileName", "LongPath", ALL, (), None, _ALL5),
        ("Force", "SwitchParameter", ALL, (), None, _ALL5),
        ("Site", "AdSiteIdParameter", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Remove-EdgeSubscription": (
        ("Identity", "TransportServerIdParameter", ALL, ALL, 1, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("Force", "SwitchParameter", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Get-EdgeSubscription": (
        ("Identity", "TransportServerIdParameter", ALL, (), 1, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
    ),
    "Start-EdgeSynchronization": (
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("ForceFullSync", "SwitchParameter", ALL, (), None, _ALL5),
        ("ForceUpdateCookie", "SwitchParameter", ALL, (), None, _ALL5),
        ("Server", "ServerIdParameter", ALL, (), None, _ALL5),
        ("TargetServer", "String", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Test-EdgeSynchronization": (
        ("VerifyRecipient", "ProxyAddress", ("SingleValidation",), ("SingleValidation",), None, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("ExcludeRecipientTest", "SwitchParameter", ("Default",), (), None, _ALL5),
        ("FullCompareMode", "SwitchParameter", ("Default",), (), None, _ALL5),
        ("MaxReportSize", "Unlimited", ("Default",), (), None, _ALL5),
        ("MonitoringContext", "Boolean", ("Default",), (), None, _ALL5),
        ("TargetServer", "String", ("Default",), (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Get-ReceiveConnector": (
        ("Identity", "ReceiveConnectorIdParameter", ("Identity",), (), 1, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("Server", "ServerIdParameter", ("Server",), (), None, _ALL5),
    ),
    "New-ReceiveConnector": (  # the SYNTAX blocks' Custom, Internet and UsageType sets (the only ones the collection uses)
        ("Name", "String", ALL, ALL, 1, _ALL5),
        ("Bindings", "MultiValuedProperty", ("Custom", "Internet", "UsageType"), ("Custom", "Internet", "UsageType"), None, _ALL5),
        ("RemoteIPRanges", "MultiValuedProperty", ("Custom", "Internet", "UsageType"), ("Custom", "UsageType"), None, _ALL5),
        ("Custom", "SwitchParameter", ("Custom",), (), None, _ALL5),
        ("Internet", "SwitchParameter", ("Internet",), (), None, _ALL5),
        ("Usage", "UsageType", ("UsageType",), ("UsageType",), None, _ALL5),
        ("Fqdn", "Fqdn", ALL, (), None, _ALL5),
        ("Enabled", "Boolean", ALL, (), None, _ALL5),
        ("Server", "ServerIdParameter", ALL, (), None, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Set-ReceiveConnector": (
        ("Identity", "ReceiveConnectorIdParameter", ALL, ALL, 1, _ALL5),
        ("Bindings", "MultiValuedProperty", ALL, (), None, _ALL5),
        ("RemoteIPRanges", "MultiValuedProperty", ALL, (), None, _ALL5),
        ("Fqdn", "Fqdn", ALL, (), None, _ALL5),
        ("Enabled", "Boolean", ALL, (), None, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Get-SendConnector": (
        ("Identity", "SendConnectorIdParameter", ALL, (), 1, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
    ),
    "New-SendConnector": (
        ("Name", "String", ALL, ALL, 1, _ALL5),
        ("AddressSpaces", "MultiValuedProperty", ("AddressSpaces",), ("AddressSpaces",), None, _ALL5),
        ("Custom", "SwitchParameter", ALL, (), None, _ALL5),
        ("Internet", "SwitchParameter", ALL, (), None, _ALL5),
        ("DNSRoutingEnabled", "Boolean", ALL, (), None, _ALL5),
        ("SmartHosts", "MultiValuedProperty", ALL, (), None, _ALL5),
        ("SourceIPAddress", "IPAddress", ALL, (), None, _ALL5),
        ("Enabled", "Boolean", ALL, (), None, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
    "Get-AcceptedDomain": (
        ("Identity", "AcceptedDomainIdParameter", ALL, (), 1, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
    ),
    "New-AcceptedDomain": (
        ("Name", "String", ALL, ALL, 1, _ALL5),
        ("DomainName", "SmtpDomainWithSubdomains", ALL, ALL, None, _ALL5),
        ("DomainType", "AcceptedDomainType", ALL, (), None, _ALL5),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL5),
        ("DomainController", "Fqdn", ALL, (), None, _ALL5),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL5),
    ),
}

# Exchange 2007 (E07, lower confidence): the queue cmdlets, EdgeSync (Start/Test from SP1), the connector cmdlets.
_E07 = "2007"
EXCHANGE_2007: dict[str, tuple[tuple[Any, ...], ...]] = {
    name: tuple((row[0], row[1], row[2], row[3], row[4], _E07) for row in rows if row[5] != _13)
    for name, rows in DOCUMENTED.items()
    if name not in ("Redirect-Message", "Get-ServerComponentState", "Set-ServerComponentState")
}
SPECS_2010.update(cmdlets._build(DOCUMENTED, {}))
SPECS_2007.update(cmdlets._build(EXCHANGE_2007, {}))
DEFAULT_SETS.update({"Get-Queue": "Identity", "Test-EdgeSynchronization": "Default", "New-ReceiveConnector": "Custom", "Get-ReceiveConnector": "Identity"})

TRANSPORT_DOWN = (
    'Failed to connect to the Microsoft Exchange Transport service on computer "{server}". Verify that a valid computer name was used and the '
    "Microsoft Exchange Transport service is started. (modelled)"
)


# -- helpers -------------------------------------------------------------------------------------------------------------------
def _target_host(shell: ExchangeShell, server: str | None) -> Host:
    """The host the queue cmdlets talk to: -Server, else the shell's own server."""
    if not server:
        return shell.host
    host = shell.host_of(str(server).split("\\", maxsplit=1)[0])
    if host is None:
        raise CmdletError(TRANSPORT_DOWN.format(server=server), "QueueViewerException")
    return host


def _queues(shell: ExchangeShell, host: Host) -> list[dict[str, Any]]:
    try:
        return transport.advance(host)
    except transport.TransportDown:
        raise CmdletError(TRANSPORT_DOWN.format(server=host.name.upper()), "QueueViewerException") from None


def _find_queue(shell: ExchangeShell, identity: str) -> tuple[Host, list[dict[str, Any]], dict[str, Any]]:
    server, _sep, name = (
        str(identity).rpartition("\\") if str(identity).count("\\") and not str(identity).casefold().startswith("shadow\\") else ("", "", str(identity))
    )
    if server.casefold().endswith("\\shadow"):
        server, name = server[: -len("\\shadow")], f"Shadow\\{name}"
    host = _target_host(shell, server or None)
    queues = _queues(shell, host)
    found = next((q for q in queues if str(q.get("id")).casefold() == name.casefold()), None)
    if found is None:
        raise CmdletError(f"The queue {identity} couldn't be found. (modelled)", "LocalizedException")
    return host, queues, found


def _local_edge(shell: ExchangeShell) -> dict[str, Any]:
    """The AD LDS data of the Edge the shell runs on; the connector and accepted-domain cmdlets of an Edge use it."""
    try:
        return edge.load(shell.host)
    except edge.EdgeError as error:
        raise CmdletError(str(error), "ADOperationException") from None


def _is_edge_shell(shell: ExchangeShell) -> bool:
    return edge.is_edge(shell.host)


# -- queues --------------------------------------------------------------------------------------------------------------------
@behaviour("Get-Queue")
def get_queue(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    for unmodelled in ("Filter", "Include", "Exclude", "BookmarkObject", "SortOrder"):
        if unmodelled in bound:
            raise NotModelled(f"Get-Queue -{unmodelled}")
    identity = str(bound.get("Identity") or "*")
    server, _sep, name = identity.rpartition("\\") if "\\" in identity and not identity.casefold().startswith("shadow\\") else ("", "", identity)
    host = _target_host(shell, bound.get("Server") or server or None)
    queues = _queues(shell, host)
    if name not in ("*", ""):
        queues = [q for q in queues if str(q.get("id")).casefold() == name.casefold()]
        if not queues:
            raise CmdletError(f"The queue {identity} couldn't be found. (modelled)", "LocalizedException")
    return [transport.queue_object(host, q) for q in queues if transport.listed(q) or name not in ("*", "")]


def _set_status(shell: ExchangeShell, bound: dict[str, Any], status: str | None, resubmit: bool = False) -> list[dict[str, Any]]:
    if "Filter" in bound:
        raise NotModelled("the -Filter parameter set of the queue cmdlets")
    if bound.get("WhatIf"):
        return []
    host, queues, found = _find_queue(shell, bound["Identity"])
    if status is not None:
        found["status"] = status
    if resubmit and transport.kind_of(found) == "unreachable":
        sub = next(q for q in queues if transport.kind_of(q) == "submission")
        sub["count"] = int(sub.get("count", 0)) + int(found.get("count", 0))
        found["count"] = 0
    transport.set_queues(host, queues)
    return []


@behaviour("Suspend-Queue")
def suspend_queue(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _set_status(shell, bound, "Suspended")


@behaviour("Resume-Queue")
def resume_queue(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _set_status(shell, bound, "Ready")


@behaviour("Retry-Queue")
def retry_queue(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _set_status(shell, bound, None, resubmit=bool(bound.get("Resubmit")))


@behaviour("Redirect-Message")
def redirect_message(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """Active messages of the source's delivery queues go to the target's Submission queue; shadow and poison stay
    (PS Redirect-Message)."""
    source = _target_host(shell, bound["Server"])
    targets = [str(t) for t in bound["Target"]]
    target = shell.host_of(targets[0].split(".", maxsplit=1)[0]) if targets else None
    if target is None or not transport.running(target):
        raise CmdletError(f"The target server {targets[0] if targets else ''} can't be reached to redirect messages to. (modelled)", "LocalizedException")
    if target is source:
        raise CmdletError("The target server of Redirect-Message must be another server. (modelled)", "ArgumentException")
    if bound.get("WhatIf"):
        return []
    queues = _queues(shell, source)
    moved = 0
    for q in queues:
        if transport.kind_of(q) == "delivery" and str(q.get("status")) != "Suspended":
            moved += int(q.get("count", 0))
            q["count"] = 0
    transport.set_queues(source, queues)
    if moved:
        transport.receive(target, moved)
    return []


# -- component states (2013+) ------------------------------------------------------------------------------------------------
COMPONENTS = ("ServerWideOffline", "HubTransport", "FrontendTransport")
SERVICE_STATES = ("Active", "Inactive", "Draining")


@behaviour("Get-ServerComponentState")
def get_server_component_state(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    host = _server_host(shell, bound["Identity"])
    wanted = [bound["Component"]] if bound.get("Component") else list(COMPONENTS)
    return [{"Identity": host.name.upper(), "Component": c, "State": transport.component_state(host, c)} for c in wanted]


@behaviour("Set-ServerComponentState")
def set_server_component_state(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    host = _server_host(shell, bound["Identity"])
    state = next((s for s in SERVICE_STATES if s.casefold() == str(bound["State"]).casefold()), None)
    if state is None:
        raise CmdletError(
            f"Cannot process argument transformation on parameter 'State'. Cannot convert value \"{bound['State']}\" to type \"ServiceState\". "
            f"Valid values: {', '.join(SERVICE_STATES)}.",
            "ParameterBindingArgumentTransformationException",
        )
    if not bound.get("WhatIf"):
        transport.advance(host) if transport.running(host) else None
        transport.set_component_state(host, str(bound["Component"]), str(bound["Requester"]), state)
    return []


def _server_host(shell: ExchangeShell, identity: str) -> Host:
    host = shell.host_of(str(identity).split(".", maxsplit=1)[0])
    if host is None:
        raise cmdlets._not_found(shell, identity)
    return host


# -- EdgeSync --------------------------------------------------------------------------------------------------------------
def _org(shell: ExchangeShell) -> Any:
    org = shell.organization
    if org is None:
        raise CmdletError("There is no Exchange organization in Active Directory. (modelled)")
    return org


def _site_of_server(shell: ExchangeShell) -> str:
    org = _org(shell)
    server = org.servers.get(shell.host.name.upper())
    return getattr(server, "site", None) or edge.DEFAULT_SITE


def _sites(shell: ExchangeShell) -> set[str]:
    org = _org(shell)
    return {getattr(s, "site", None) or edge.DEFAULT_SITE for s in org.servers.values()}


@behaviour("New-EdgeSubscription")
def new_edge_subscription(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if _is_edge_shell(shell):
        return _new_subscription_on_edge(shell, bound)
    return _new_subscription_in_org(shell, bound)


def _new_subscription_on_edge(shell: ExchangeShell, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """On the Edge: the ESBRA and the file; the Edge's own Send connectors and domains are deleted (ODX edge-subscriptions.md)."""
    path = bound.get("FileName")
    if not path:
        raise CmdletError(
            "The FileName parameter must be specified when New-EdgeSubscription runs on an Edge Transport server. (modelled)", "ArgumentException"
        )
    if not bound.get("Force"):
        raise CmdletError(
            "A command that prompts the user failed because the host program or the command type does not support user interaction. "
            "(New-EdgeSubscription asks to confirm the configuration it deletes; -Force skips the prompt.)",
            "HostException",
        )
    host = shell.host
    data = _local_edge(shell)
    if bound.get("WhatIf"):
        return []
    edge.new_subscription(host, data)
    edge.save(host, data)
    try:
        host.write_text(path, edge.subscription_xml(host, data, shell.version))
    except Exception as error:  # WinError from the file system, as the cmdlet's IOException
        raise CmdletError(f"{error}", "IOException") from None
    return []


def _new_subscription_in_org(shell: ExchangeShell, bound: dict[str, Any]) -> list[dict[str, Any]]:
    blob = bound.get("FileData")
    if blob is None:
        raise CmdletError(
            "The FileData parameter must be specified when New-EdgeSubscription runs on a Mailbox or Hub Transport server. (modelled)", "ArgumentException"
        )
    org = _org(shell)
    site = str(bound.get("Site") or _site_of_server(shell))
    if site.casefold() not in (s.casefold() for s in _sites(shell)):
        raise cmdlets._not_found(shell, site)
    try:
        fields = edge.parse_subscription(bytes(blob))
    except edge.EdgeError as error:
        raise CmdletError(str(error), "LocalizedException") from None
    if bound.get("WhatIf"):
        return []
    edge.subscribe(org, fields, next(s for s in _sites(shell) if s.casefold() == site.casefold()), shell.host.clock.time())
    shell.save_domain()
    return []


@behaviour("Get-EdgeSubscription")
def get_edge_subscription(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if _is_edge_shell(shell):
        raise NotModelled("Get-EdgeSubscription on an Edge Transport server")
    org = _org(shell)
    items = sorted(org.edge_subscriptions.items())
    if bound.get("Identity"):
        wanted = str(bound["Identity"]).split(".", maxsplit=1)[0].upper()
        items = [(n, r) for n, r in items if n == wanted]
    return [{"Name": n, "Site": r["site"], "Domain": r.get("edge_fqdn"), "Identity": n} for n, r in items]


@behaviour("Remove-EdgeSubscription")
def remove_edge_subscription(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if _is_edge_shell(shell):
        raise NotModelled("Remove-EdgeSubscription on an Edge Transport server (the collection removes the organisation's side only)")
    org = _org(shell)
    name = str(bound["Identity"]).split(".", maxsplit=1)[0].upper()
    if name not in org.edge_subscriptions:
        raise cmdlets._not_found(shell, bound["Identity"])
    if not bound.get("WhatIf"):
        del org.edge_subscriptions[name]
        shell.save_domain()
    return []


def _subscriptions_in_scope(shell: ExchangeShell, target: str | None) -> list[str]:
    org = _org(shell)
    site = _site_of_server(shell)
    names = [n for n, r in org.edge_subscriptions.items() if r["site"].casefold() == site.casefold()]
    if target:
        wanted = str(target).split(".", maxsplit=1)[0].upper()
        names = [n for n in names if n == wanted]
        if not names:
            raise CmdletError(
                f"The Edge Transport server {target} isn't subscribed to this server's Active Directory site {site}. (modelled)", "LocalizedException"
            )
    return sorted(names)


def _sync(shell: ExchangeShell, name: str) -> dict[str, Any]:
    org = _org(shell)
    domain = shell.domain.name if shell.domain is not None else "contoso.com"
    record = edge.synchronize(org, name, shell.host_of(name), shell.host.name.upper(), now=shell.host.clock.time(), domain=domain)
    shell.save_domain()
    return record


@behaviour("Start-EdgeSynchronization")
def start_edge_synchronization(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if bound.get("Server") and str(bound["Server"]).split(".", maxsplit=1)[0].upper() != shell.host.name.upper():
        raise NotModelled("Start-EdgeSynchronization -Server <another server>")
    out = []
    for name in _subscriptions_in_scope(shell, bound.get("TargetServer")):
        if bound.get("WhatIf"):
            continue
        record = _sync(shell, name)
        out.append(
            {"Result": "Success" if record["status"] == "Normal" else "Failure", "Type": "Configuration", "Name": name, "FailureDetails": record["failure"]}
        )
    return out


@behaviour("Test-EdgeSynchronization")
def test_edge_synchronization(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name == "SingleValidation":
        raise NotModelled("Test-EdgeSynchronization -VerifyRecipient")
    org = _org(shell)
    now = shell.host.clock.time()
    out = []
    for name in _subscriptions_in_scope(shell, bound.get("TargetServer")):
        record = org.edge_subscriptions[name]
        if edge.sync_due(record, now):
            record = _sync(shell, name)
        synced = record["status"] == "Normal"
        status = "Synchronized" if synced else "NotSynchronized"
        out.append(
            {
                "Name": name,
                "SyncStatus": "Normal" if synced else ("Failed" if record.get("failure") else "Inconclusive"),
                "FailureDetail": record.get("failure"),
                "LastSynchronizedDate": _date(record.get("last_sync")),
                "CredentialStatus": status,
                "TransportServerStatus": status,
                "TransportConfigStatus": status,
                "AcceptedDomainStatus": status,
                "SendConnectorStatus": status,
                "RecipientStatus": "Skipped" if bound.get("ExcludeRecipientTest") else status,
            }
        )
    return out


def _date(when: float | None) -> str | None:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(when, UTC).strftime("%m/%d/%Y %H:%M:%S") if when else None


# -- the Edge's own configuration (AD LDS) ---------------------------------------------------------------------------------
def _edge_only(shell: ExchangeShell, cmdlet: str) -> dict[str, Any]:
    if not _is_edge_shell(shell):
        raise NotModelled(f"{cmdlet} on a Mailbox or Hub Transport server (the collection calls it on an Edge only)")
    return _local_edge(shell)


def _subscribed(data: dict[str, Any]) -> bool:
    return bool((data.get("subscription") or {}).get("esra")) or data.get("esbra") is not None


def _disabled_when_subscribed(data: dict[str, Any], cmdlet: str) -> None:
    if _subscribed(data):
        raise CmdletError(
            f"{cmdlet} isn't available on an Edge Transport server that has an Edge Subscription: EdgeSync manages this configuration. (modelled)",
            "InvalidOperationException",
        )


def _pick(items: list[dict[str, Any]], identity: Any) -> list[dict[str, Any]]:
    if not identity:
        return items
    name = str(identity).rsplit("\\", 1)[-1].casefold()
    return [i for i in items if str(i.get("Name", "")).casefold() == name]


@behaviour("Get-ReceiveConnector")
def get_receive_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "Get-ReceiveConnector")
    found = _pick(data["receive_connectors"], bound.get("Identity"))
    if bound.get("Identity") and not found:
        raise cmdlets._not_found(shell, bound["Identity"])
    return [{**c, "Identity": f"{data['server']}\\{c['Name']}", "Server": data["server"]} for c in found]


@behaviour("New-ReceiveConnector")
def new_receive_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "New-ReceiveConnector")
    if _pick(data["receive_connectors"], bound["Name"]):
        raise CmdletError(f"A Receive connector named {bound['Name']} already exists. (modelled)", "ADObjectAlreadyExistsException")
    _check_bindings(shell.host, bound.get("Bindings") or [])
    connector = {
        "Name": bound["Name"],
        "Bindings": list(bound.get("Bindings") or []),
        "RemoteIPRanges": list(bound.get("RemoteIPRanges") or [f"{edge.IP_ANY}-255.255.255.255"]),
        "Fqdn": bound.get("Fqdn") or shell.host.fqdn,
        "Enabled": bound.get("Enabled", True),
    }
    if not bound.get("WhatIf"):
        data["receive_connectors"].append(connector)
        edge.save(shell.host, data)
    return [connector]


@behaviour("Set-ReceiveConnector")
def set_receive_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "Set-ReceiveConnector")
    found = _pick(data["receive_connectors"], bound["Identity"])
    if not found:
        raise cmdlets._not_found(shell, bound["Identity"])
    if "Bindings" in bound:
        _check_bindings(shell.host, bound["Bindings"])
    if not bound.get("WhatIf"):
        for key in ("Bindings", "RemoteIPRanges", "Fqdn", "Enabled"):
            if key in bound:
                found[0][key] = list(bound[key]) if isinstance(bound[key], list) else bound[key]
        edge.save(shell.host, data)
    return []


def _check_bindings(host: Host, bindings: list[str]) -> None:
    for b in bindings:
        address, _sep, port = str(b).rpartition(":")
        address = address.strip("[]")
        if not port.isdigit() or address not in (edge.IP_ANY, "::", host.address, "127.0.0.1"):
            raise CmdletError(f"The binding {b} isn't valid on this server: the IP address isn't one of its addresses. (modelled)", "DataValidationException")


@behaviour("Get-SendConnector")
def get_send_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "Get-SendConnector")
    found = _pick(data["send_connectors"], bound.get("Identity"))
    if bound.get("Identity") and not found:
        raise cmdlets._not_found(shell, bound["Identity"])
    return [{k: v for k, v in c.items() if k != "Credential"} | {"Identity": c["Name"]} for c in found]


@behaviour("New-SendConnector")
def new_send_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "New-SendConnector")
    _disabled_when_subscribed(data, "New-SendConnector")
    if _pick(data["send_connectors"], bound["Name"]):
        raise CmdletError(f"A Send connector named {bound['Name']} already exists. (modelled)", "ADObjectAlreadyExistsException")
    connector = {
        "Name": bound["Name"],
        "AddressSpaces": list(bound["AddressSpaces"]),
        "SmartHosts": list(bound.get("SmartHosts") or []),
        "DNSRoutingEnabled": bound.get("DNSRoutingEnabled", not bound.get("SmartHosts")),
        "SourceIPAddress": bound.get("SourceIPAddress") or edge.IP_ANY,
        "Enabled": bound.get("Enabled", True),
        "Credential": None,
    }
    if not bound.get("WhatIf"):
        data["send_connectors"].append(connector)
        edge.save(shell.host, data)
    return []


_DOMAIN_TYPES = ("Authoritative", "InternalRelay", "ExternalRelay")


@behaviour("Get-AcceptedDomain")
def get_accepted_domain(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "Get-AcceptedDomain")
    found = _pick(data["accepted_domains"], bound.get("Identity"))
    if bound.get("Identity") and not found:
        raise cmdlets._not_found(shell, bound["Identity"])
    return [{**d, "Identity": d["Name"]} for d in found]


@behaviour("New-AcceptedDomain")
def new_accepted_domain(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    data = _edge_only(shell, "New-AcceptedDomain")
    _disabled_when_subscribed(data, "New-AcceptedDomain")
    kind = str(bound.get("DomainType") or "Authoritative")
    if kind not in _DOMAIN_TYPES:
        raise CmdletError(
            f"Cannot process argument transformation on parameter 'DomainType'. Cannot convert value \"{kind}\" to type \"AcceptedDomainType\".",
            "ParameterBindingArgumentTransformationException",
        )
    if not re.fullmatch(r"(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", str(bound["DomainName"])):
        raise CmdletError(f"\"{bound['DomainName']}\" isn't a valid SMTP domain. (modelled)", "ParameterBindingArgumentTransformationException")
    if _pick(data["accepted_domains"], bound["Name"]):
        raise CmdletError(f"An accepted domain named {bound['Name']} already exists. (modelled)", "ADObjectAlreadyExistsException")
    if not bound.get("WhatIf"):
        data["accepted_domains"].append({"Name": bound["Name"], "DomainName": bound["DomainName"], "DomainType": kind})
        edge.save(shell.host, data)
    return []


# Get-ExchangeServer on an Edge answers from its own AD LDS (the Edge has no access to Active Directory).
_org_get_exchange_server = BEHAVIOURS["get-exchangeserver"]


@behaviour("Get-ExchangeServer")
def get_exchange_server(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if not _is_edge_shell(shell):  # the organisation's servers, with the Active Directory site each belongs to
        org = shell.organization
        out = _org_get_exchange_server(shell, set_name, bound)
        for item in out:
            server = org.servers.get(str(item["Name"]).upper()) if org else None
            item["Site"] = getattr(server, "site", None) or edge.DEFAULT_SITE
        return out
    data = _local_edge(shell)
    if bound.get("Identity") and str(bound["Identity"]).split(".", maxsplit=1)[0].upper() != data["server"]:
        raise cmdlets._not_found(shell, bound["Identity"])
    v = shell.version.split(".")
    return [
        {
            "Name": data["server"],
            "Fqdn": shell.host.fqdn,
            "IsEdgeServer": True,
            "ServerRole": "Edge",
            "AdminDisplayVersion": f"Version {v[0]}.{v[1]} (Build {v[2]}.{v[3]})",
        }
    ]
