"""MSExchangeTransport.exe, the Microsoft Exchange Transport service's image (`#!simulator-program exchange_transport {}`):
a service entry that opens or creates the queue database when the service reaches RUNNING (simulator/exchange/transport.py),
and the faults of issue 12:

- `queue_database_corrupt` (target: none): the open queue database is damaged; the service stops with event 17003 the next
  time it starts (and at once if it runs), as a corrupt Mail.que does (E10, MSExchangeTransport 17003).
- `edge_subscription_expired` (on the Edge): the EdgeSync bootstrap account of the Edge's subscription file has expired
  (what 24 hours without an import do; simulator/exchange/edge.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.exchange import ese, transport
from simulator.exchange import transport_cmdlets as _transport_cmdlets  # noqa: F401 (registers the cmdlets' tables)
from simulator.faults import FaultSpec, register_fault
from simulator.programs import ProcessContext, program, service_entry

if TYPE_CHECKING:
    from simulator.host import Host

FAULT_CORRUPT = "queue_database_corrupt"
register_fault(FaultSpec(FAULT_CORRUPT, "host", "Mail.que is damaged: MSExchangeTransport stops with event 17003 when it opens it."))
register_fault(FaultSpec("edge_subscription_expired", "host", "The Edge's EdgeSync bootstrap account (ESBRA) has expired: the initial EdgeSync fails."))


@service_entry("exchange_transport")
def exchange_transport_service(host: Host, service: str, at: float, args: dict[str, Any]) -> None:
    if args.get("phase") != "started":
        return
    if host.fault(FAULT_CORRUPT) is not None:
        _damage(host)
    transport.on_start(host, service, at)


def _damage(host: Host) -> None:
    database, _logging = transport.queue_paths(host)
    mail = rf"{database}\Mail.que"
    if host.exists(mail):
        found = ese.read(host, mail)
        if found and found[0] == "database" and not found[1].get("damaged"):
            found[1]["damaged"] = True
            ese.write_database(host, mail, found[1])


@program("exchange_transport")
def exchange_transport_exe(ctx: ProcessContext) -> int:
    """Run by hand it does nothing useful: the SCM starts it (modelled)."""
    ctx.err("MSExchangeTransport.exe is a service; start it with the Service Control Manager (modelled).\r\n")
    return 1
