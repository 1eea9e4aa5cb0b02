# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which Windows services an Exchange server should have, per release and role, and which of them must be running.

For internal collection use only. `plan_services()` turns a release (from `_exchange_versions.release_of`) and a list of
roles into the services `service_state` reads on the host, each with what is expected of it:

- ``required``: a service Test-ServiceHealth checks for a role (its "required services"); the health check fails when one
  is not running.
- ``monitored``: Automatic services an installed server runs, that Test-ServiceHealth does not check; one that is not
  running is a warning.
- ``informational``: services read for the report only (Manual ones such as IMAP4/POP3, or Automatic ones that are stopped
  by design); never started, never judged.

Facts (exchange-recovery-facts.md section 3): the 2016/2019 lists come from a real Get-Service capture and the 2019
Test-ServiceHealth capture (CSS HealthChecker test data); 2013 differences and the Edge list from the same section; the
2007/2010 lists are marked lower confidence there, and are so here (`CONFIDENCE`). Where a row below goes beyond a
capture it says so. Users correct the tables per run with `include_services` / `exclude_services`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import CUMULATIVE_UPDATES, PRODUCTS, ExchangeRelease, release_of

# Roles as users name them (the msExchCurrentServerRoles names of _exchange_versions.ROLE_BITS).
ROLES = ("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge")
# Test-ServiceHealth's `Role` value for each summary row.
ROLE_LABELS = {
    "Mailbox": "Mailbox Server Role",
    "ClientAccess": "Client Access Server Role",
    "HubTransport": "Hub Transport Server Role",
    "UnifiedMessaging": "Unified Messaging Server Role",
    "Edge": "Edge Transport Server Role",
    "EmailRouter": "Dynamics CRM Email Router",
    "Additional": "Additional services",
}
LEVELS = ("required", "monitored", "informational")
# The one name of each service state in every module's result: Win32_Service.State ("Start Pending") and
# ServiceControllerStatus ("StartPending") both map here with the spaces removed (MicrosoftDocs/win32 win32-service.md; the
# module_util _Windows.psm1 keeps a copy held equal by tests/unit/plugins/module_utils/test_tables.py). Anything else: unknown.
SERVICE_STATE_NAMES = {
    "Stopped": "stopped",
    "StartPending": "start_pending",
    "StopPending": "stop_pending",
    "Running": "running",
    "ContinuePending": "continue_pending",
    "PausePending": "pause_pending",
    "Paused": "paused",
}
EMAIL_ROUTER_SERVICE = "MSCRMEmail"  # email-router-facts.md: short name inferred from the event source; a parameter

# How sure the sources are about each product's lists (facts section 3).
CONFIDENCE = {
    "2007": "low: facts section 3 marks the 2007/2010 service lists lower confidence",
    "2010": "low: facts section 3 marks the 2007/2010 service lists lower confidence",
    "2013": "medium: 2013 differences from facts section 3 applied to the 2019 capture",
    "2016": "high: real Get-Service and Test-ServiceHealth captures (CSS HealthChecker test data)",
    "2019": "high: real Get-Service and Test-ServiceHealth captures (CSS HealthChecker test data)",
    "SE": "high: Subscription Edition is 2019 CU15 plus a hotfix (facts section 2)",
}

# -- Test-ServiceHealth required services per product and summary row ------------------------------------------------
# 2019 capture (facts section 3), used for 2016, 2019 and SE.
_REQUIRED_2016_UP = {
    "Mailbox": (
        "IISAdmin",
        "MSExchangeADTopology",
        "MSExchangeDelivery",
        "MSExchangeIS",
        "MSExchangeMailboxAssistants",
        "MSExchangeRepl",
        "MSExchangeRPC",
        "MSExchangeServiceHost",
        "MSExchangeSubmission",
        "MSExchangeThrottling",
        "MSExchangeTransportLogSearch",
        "W3Svc",
        "WinRM",
    ),
    "ClientAccess": ("IISAdmin", "MSExchangeADTopology", "MSExchangeMailboxReplication", "MSExchangeRPC", "MSExchangeServiceHost", "W3Svc", "WinRM"),
    "HubTransport": (
        "IISAdmin",
        "MSExchangeADTopology",
        "MSExchangeEdgeSync",
        "MSExchangeServiceHost",
        "MSExchangeTransport",
        "MSExchangeTransportLogSearch",
        "W3Svc",
        "WinRM",
    ),
    # Edge (not in the capture): the Automatic Edge services of facts section 3 that carry mail or its configuration.
    "Edge": (
        "ADAM_MSExchange",
        "MSExchangeAntispamUpdate",
        "MSExchangeEdgeCredential",
        "MSExchangeServiceHost",
        "MSExchangeTransport",
        "MSExchangeTransportLogSearch",
    ),
}
# 2016 keeps Unified Messaging (MSExchangeUM, MSExchangeUMCR Automatic); the row follows the pattern of the others (inferred).
_REQUIRED_UM_2016 = ("IISAdmin", "MSExchangeADTopology", "MSExchangeServiceHost", "MSExchangeUM", "MSExchangeUMCR", "W3Svc", "WinRM")

# 2013: transport and RPC Client Access live in the Mailbox role, Front End Transport in Client Access (facts section 3);
# rows inferred from the 2019 capture.
_REQUIRED_2013 = {
    "Mailbox": _REQUIRED_2016_UP["Mailbox"],
    "ClientAccess": ("IISAdmin", "MSExchangeADTopology", "MSExchangeFrontEndTransport", "MSExchangeServiceHost", "W3Svc", "WinRM"),
    "HubTransport": _REQUIRED_2016_UP["HubTransport"],
    "UnifiedMessaging": ("MSExchangeADTopology", "MSExchangeServiceHost", "MSExchangeUM"),
    "Edge": _REQUIRED_2016_UP["Edge"],
}

# 2010 (lower confidence): MSExchangeSA, MSExchangeMailSubmission, MSExchangeSearch, MSExchangeFDS, MSExchangeAB,
# MSExchangeProtectedServiceHost; no FrontEndTransport, Delivery, Submission or HM services (facts section 3).
_REQUIRED_2010 = {
    "Mailbox": (
        "IISAdmin",
        "MSExchangeADTopology",
        "MSExchangeIS",
        "MSExchangeMailboxAssistants",
        "MSExchangeMailSubmission",
        "MSExchangeRepl",
        "MSExchangeRPC",
        "MSExchangeSA",
        "MSExchangeSearch",
        "MSExchangeServiceHost",
        "MSExchangeThrottling",
        "MSExchangeTransportLogSearch",
        "W3Svc",
        "WinRM",
    ),
    "ClientAccess": (
        "IISAdmin",
        "MSExchangeAB",
        "MSExchangeADTopology",
        "MSExchangeFDS",
        "MSExchangeMailboxReplication",
        "MSExchangeProtectedServiceHost",
        "MSExchangeRPC",
        "MSExchangeServiceHost",
        "W3Svc",
        "WinRM",
    ),
    "HubTransport": _REQUIRED_2016_UP["HubTransport"],
    "UnifiedMessaging": ("IISAdmin", "MSExchangeADTopology", "MSExchangeFDS", "MSExchangeServiceHost", "MSExchangeUM", "W3Svc", "WinRM"),
    "Edge": ("ADAM_MSExchange", "MSExchangeEdgeCredential", "MSExchangeServiceHost", "MSExchangeTransport", "MSExchangeTransportLogSearch"),
}

# 2007 (lower confidence): no WinRM, RPC Client Access or throttling services; search is msftesql-Exchange.
_REQUIRED_2007 = {
    "Mailbox": (
        "IISAdmin",
        "MSExchangeADTopology",
        "MSExchangeIS",
        "MSExchangeMailboxAssistants",
        "MSExchangeMailSubmission",
        "MSExchangeRepl",
        "MSExchangeSA",
        "MSExchangeSearch",
        "MSExchangeServiceHost",
        "msftesql-Exchange",
        "W3Svc",
    ),
    "ClientAccess": ("IISAdmin", "MSExchangeADTopology", "MSExchangeFDS", "MSExchangeServiceHost", "W3Svc"),
    "HubTransport": ("MSExchangeADTopology", "MSExchangeEdgeSync", "MSExchangeTransport", "MSExchangeTransportLogSearch"),
    "UnifiedMessaging": ("MSExchangeADTopology", "MSExchangeFDS", "MSExchangeUM"),
    "Edge": ("ADAM_MSExchange", "MSExchangeEdgeCredential", "MSExchangeTransport", "MSExchangeTransportLogSearch"),
}

REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "2007": _REQUIRED_2007,
    "2010": _REQUIRED_2010,
    "2013": _REQUIRED_2013,
    "2016": {**_REQUIRED_2016_UP, "UnifiedMessaging": _REQUIRED_UM_2016},
    "2019": dict(_REQUIRED_2016_UP),
    "SE": dict(_REQUIRED_2016_UP),
}

# -- Other services an installed server runs (monitored) or has (informational) -------------------------------------
# (name, start mode it should have, running by design). From the 2016/2019 Get-Service capture (facts section 3).
_OTHERS_2016_UP_MAILBOX = (
    ("MSExchangeAntispamUpdate", "auto", True),
    ("MSComplianceAudit", "auto", True),
    ("MSExchangeCompliance", "auto", True),
    ("MSExchangeDagMgmt", "auto", True),
    ("MSExchangeDiagnostics", "auto", True),
    ("MSExchangeFastSearch", "auto", True),
    ("MSExchangeFrontEndTransport", "auto", True),
    ("MSExchangeHM", "auto", True),
    ("MSExchangeHMRecovery", "auto", True),
    ("HostControllerService", "auto", True),
    ("SearchExchangeTracing", "auto", True),
    ("FMS", "auto", True),
    ("NetTcpPortSharing", "auto", True),
    ("MSExchangeImap4", "manual", False),
    ("MSExchangeIMAP4BE", "manual", False),
    ("MSExchangePop3", "manual", False),
    ("MSExchangePOP3BE", "manual", False),
    ("wsbexchange", "manual", False),
)
_MITIGATION = ("MSExchangeMitigation", "auto", True)  # 2016 CU22+, 2019 CU11+ (the Emergency Mitigation service)
_OTHERS_2016_UM = (("MSExchangeNotificationsBroker", "auto", False),)  # Automatic but Stopped in the capture
_OTHERS_EDGE_2013_UP = (("MSExchangeDiagnostics", "auto", True), ("MSExchangeHM", "auto", True))
_HM_RECOVERY = ("MSExchangeHMRecovery", "auto", True)  # 2016+
# 2013: no HMRecovery, compliance or mitigation services; IMAP4/POP3 front ends are Manual on Client Access.
_OTHERS_2013 = {
    "Mailbox": (
        *(o for o in _OTHERS_2016_UP_MAILBOX if o[0] not in {"MSExchangeHMRecovery", "MSComplianceAudit", "MSExchangeCompliance"}),
        ("MSExchangeUM", "auto", True),
    ),
    "ClientAccess": (
        ("MSExchangeDiagnostics", "auto", True),
        ("MSExchangeHM", "auto", True),
        ("MSExchangeUMCR", "auto", True),
        ("MSExchangeImap4", "manual", False),
        ("MSExchangePop3", "manual", False),
    ),
}
_OTHERS_2010 = {
    "Mailbox": (("wsbexchange", "manual", False), ("MSExchangeMonitoring", "manual", False)),
    "ClientAccess": (("NetTcpPortSharing", "auto", True), ("MSExchangeImap4", "manual", False), ("MSExchangePop3", "manual", False)),
    "HubTransport": (("MSExchangeAntispamUpdate", "auto", True),),
    "Edge": (("MSExchangeAntispamUpdate", "auto", True),),
}
_OTHERS_2007 = {
    "ClientAccess": (("MSExchangeImap4", "manual", False), ("MSExchangePop3", "manual", False)),
    "HubTransport": (("MSExchangeAntispamUpdate", "auto", True),),
    "Edge": (("MSExchangeAntispamUpdate", "auto", True),),
}


@dataclass(frozen=True)
class ExpectedService:
    """One service `service_state` reads, and what is expected of it."""

    name: str
    level: str  # required | monitored | informational
    start_mode: str  # the start mode it should have: auto | manual
    running: bool  # whether it should be running
    rows: tuple[str, ...] = ()  # summary rows (ROLE_LABELS keys) that require it
    when_present: bool = False  # judged only if it exists on the host (the Email Router)

    @property
    def start(self) -> bool:
        """`state: started` may start it (if it is Automatic and stopped)."""
        return self.running


@dataclass
class ServicePlan:
    """The services to read on one host and the summary rows to report."""

    release: ExchangeRelease | None
    roles: tuple[str, ...]
    rows: tuple[str, ...]
    services: list[ExpectedService] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> ExpectedService | None:
        want = name.casefold()
        return next((s for s in self.services if s.name.casefold() == want), None)

    def module_services(self) -> list[dict[str, object]]:
        """The `services` option sent to the Windows module."""
        return [{"name": s.name, "required": s.level == "required", "start": s.start} for s in self.services]


def summary_rows(product: str, roles: Iterable[str]) -> tuple[str, ...]:
    """The Test-ServiceHealth rows a server with `roles` reports.

    2016 and later install one Mailbox role that contains Client Access and Hub Transport (msExchCurrentServerRoles 38,
    and the 2019 Test-ServiceHealth capture has all three rows); 2016 adds Unified Messaging. 2013 Mailbox holds
    transport. 2007/2010 roles are separate.
    """
    roles = list(roles)
    _check_roles(product, roles)
    rows: list[str] = []
    for role in roles:
        if role == "Mailbox" and product in ("2016", "2019", "SE"):
            expanded = ["Mailbox", "ClientAccess", "HubTransport"] + (["UnifiedMessaging"] if product == "2016" else [])
        elif role == "Mailbox" and product == "2013":
            expanded = ["Mailbox", "HubTransport"]
        else:
            expanded = [role]
        rows.extend(r for r in expanded if r not in rows)
    return tuple(r for r in ROLES if r in rows)


def _check_roles(product: str, roles: list[str]) -> None:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown Exchange role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    if product in ("2019", "SE") and "UnifiedMessaging" in roles:
        raise ValueError(f"Exchange {product} has no Unified Messaging role (removed in 2019)")
    if "Edge" in roles and len(roles) > 1:
        raise ValueError("the Edge Transport role cannot be combined with other roles on one server")


def _others(release: ExchangeRelease, rows: tuple[str, ...]) -> list[tuple[str, str, bool]]:
    product = release.product
    out: list[tuple[str, str, bool]] = []
    if product in ("2016", "2019", "SE"):
        if "Edge" in rows:
            out += [*_OTHERS_EDGE_2013_UP, _HM_RECOVERY]
        if "Mailbox" in rows:
            out += list(_OTHERS_2016_UP_MAILBOX)
            if release.at_least("2019", 11) or (product == "2016" and release.at_least("2016", 22)):
                out.append(_MITIGATION)
        if "UnifiedMessaging" in rows:
            out += list(_OTHERS_2016_UM)
    elif product == "2013":
        if "Edge" in rows:
            out += list(_OTHERS_EDGE_2013_UP)
        for row in ("Mailbox", "ClientAccess"):
            if row in rows:
                out += list(_OTHERS_2013[row])
    else:
        table = _OTHERS_2010 if product == "2010" else _OTHERS_2007
        for row in rows:
            out += list(table.get(row, ()))
    return out


def plan_services(
    release: ExchangeRelease | None,
    roles: Iterable[str] = (),
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    email_router_service: str | None = EMAIL_ROUTER_SERVICE,
) -> ServicePlan:
    """The services to read and judge for a server of `release` with `roles`.

    `include` adds required services (row "Additional"); `exclude` drops names from every level (case-insensitive);
    the Email Router service is required when it exists on the host. `release` None: no Exchange services (a host
    without Exchange can still be checked for the Email Router and `include`).
    """
    roles = tuple(roles)
    rows: tuple[str, ...] = ()
    by_name: dict[str, ExpectedService] = {}

    def add(service: ExpectedService) -> None:
        key = service.name.casefold()
        old = by_name.get(key)
        if old is None:
            by_name[key] = service
            return
        level = min(old.level, service.level, key=LEVELS.index)
        by_name[key] = replace(
            old,
            level=level,
            running=old.running or service.running,
            start_mode="auto" if "auto" in (old.start_mode, service.start_mode) else old.start_mode,
            rows=old.rows + tuple(r for r in service.rows if r not in old.rows),
            when_present=old.when_present and service.when_present,
        )

    notes: list[str] = []
    if release is not None:
        rows = summary_rows(release.product, roles)
        required = REQUIRED[release.product]
        for row in rows:
            for name in required.get(row, ()):
                add(ExpectedService(name, "required", "auto", True, (row,)))
        for name, mode, running in _others(release, rows):
            add(ExpectedService(name, "monitored" if running else "informational", mode, running))
        if CONFIDENCE[release.product].startswith("low"):
            notes.append(f"{release.name}: service lists are {CONFIDENCE[release.product]}")
    for name in include:
        add(ExpectedService(name, "required", "auto", True, ("Additional",)))
    if email_router_service:
        add(ExpectedService(email_router_service, "required", "auto", True, ("EmailRouter",), when_present=True))
    dropped = {n.casefold() for n in exclude}
    services = [s for k, s in by_name.items() if k not in dropped]
    all_rows = list(rows)
    for extra in ("Additional", "EmailRouter"):
        if any(extra in s.rows for s in services):
            all_rows.append(extra)
    return ServicePlan(release, roles, tuple(all_rows), services, notes)


def candidate_services(
    *, include: Iterable[str] = (), exclude: Iterable[str] = (), email_router_service: str | None = EMAIL_ROUTER_SERVICE
) -> list[dict[str, object]]:
    """The `services` option when the release or roles are not known before the host is read: every service any
    product and role expects, so one call reads what the host turns out to need. `start` only for services some
    product runs by design (so Automatic-but-stopped-by-design services are never started)."""
    merged: dict[str, dict[str, object]] = {}
    for product in PRODUCTS:
        release = release_of(max(CUMULATIVE_UPDATES[product].values()) if product in CUMULATIVE_UPDATES else _LEGACY_BUILDS[product])
        for roles in _ROLE_SETS[product]:
            plan = plan_services(release, roles, include=include, exclude=exclude, email_router_service=email_router_service)
            for entry in plan.module_services():
                key = str(entry["name"]).casefold()
                if key in merged:
                    merged[key]["start"] = bool(merged[key]["start"]) or bool(entry["start"])
                    merged[key]["required"] = bool(merged[key]["required"]) or bool(entry["required"])
                else:
                    merged[key] = dict(entry)
    return list(merged.values())


_LEGACY_BUILDS = {"2007": "8.3", "2010": "14.3"}  # no CU table: any build of the family (service pack 3)
# Role combinations that cover every row of every product (for candidate_services).
_ROLE_SETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "2007": (("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging"), ("Edge",)),
    "2010": (("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging"), ("Edge",)),
    "2013": (("Mailbox", "ClientAccess", "UnifiedMessaging"), ("Edge",)),
    "2016": (("Mailbox",), ("Edge",)),
    "2019": (("Mailbox",), ("Edge",)),
    "SE": (("Mailbox",), ("Edge",)),
}

# Role keys an installation leaves under the product's registry key (facts section 1: DSC's incomplete-setup check
# names CafeRole, ClientAccessRole, FrontendTransportRole, HubTransportRole, MailboxRole, UnifiedMessagingRole).
_ROLE_KEYS_SEPARATE = {
    "MailboxRole": "Mailbox",
    "ClientAccessRole": "ClientAccess",
    "HubTransportRole": "HubTransport",
    "UnifiedMessagingRole": "UnifiedMessaging",
    "EdgeTransportRole": "Edge",
}


def roles_from_role_keys(product: str, keys: Iterable[str]) -> list[str]:
    """Installed roles from the names of the role keys Setup leaves (MailboxRole, CafeRole, ...).

    2007/2010: one key per role. 2013: the Client Access role is the Cafe + Front End Transport keys; the Mailbox role
    holds the back-end Client Access, transport and UM keys. 2016+: the Mailbox role holds every component.
    """
    names = {k.casefold() for k in keys}
    if "edgetransportrole" in names:
        return ["Edge"]
    if product in ("2007", "2010"):
        return [role for key, role in _ROLE_KEYS_SEPARATE.items() if key.casefold() in names]
    roles: list[str] = []
    if "mailboxrole" in names:
        roles.append("Mailbox")
    if product == "2013" and names & {"caferole", "frontendtransportrole"}:
        roles.append("ClientAccess")
    return roles
