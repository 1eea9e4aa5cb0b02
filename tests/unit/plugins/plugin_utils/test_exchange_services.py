from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_services as s
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import PRODUCTS, release_of

BUILDS = {"2007": "8.3.83.6", "2010": "14.3.123.4", "2013": "15.0.1497.2", "2016": "15.1.2507.6", "2019": "15.2.1544.4", "SE": "15.2.2562.17"}
# Every version x role the issue names; UM where the product has it.
ROLES_OF = {
    "2007": ("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge"),
    "2010": ("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge"),
    "2013": ("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge"),
    "2016": ("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge"),
    "2019": ("Mailbox", "ClientAccess", "HubTransport", "Edge"),
    "SE": ("Mailbox", "ClientAccess", "HubTransport", "Edge"),
}
CASES = [(product, role) for product in PRODUCTS for role in ROLES_OF[product]]


def names(plan: s.ServicePlan, level: str) -> set[str]:
    return {x.name for x in plan.services if x.level == level}


@pytest.mark.parametrize(("product", "role"), CASES)
def test_every_version_and_role_has_required_services_in_its_rows(product: str, role: str) -> None:
    plan = s.plan_services(release_of(BUILDS[product]), [role], email_router_service=None)
    assert plan.rows, (product, role)
    for row in plan.rows:
        required = [x for x in plan.services if row in x.rows]
        assert required, f"{product} {role}: row {row} has no required service"
        assert all(x.level == "required" and x.start_mode == "auto" and x.running for x in required)
    # every required service is started by state=started, informational ones never
    sent = {e["name"]: e for e in plan.module_services()}
    assert all(sent[n]["start"] and sent[n]["required"] for n in names(plan, "required"))
    assert not any(sent[n]["start"] for n in names(plan, "informational"))


@pytest.mark.parametrize("product", ["2016", "2019", "SE"])
def test_2019_capture_rows_for_a_mailbox_server(product: str) -> None:
    """facts section 3: the 2019 Test-ServiceHealth capture has three rows for one Mailbox role (2016 adds UM)."""
    plan = s.plan_services(release_of(BUILDS[product]), ["Mailbox"], email_router_service=None)
    expected_rows = ("Mailbox", "ClientAccess", "HubTransport") + (("UnifiedMessaging",) if product == "2016" else ())
    assert plan.rows == expected_rows
    mailbox = {x.name for x in plan.services if "Mailbox" in x.rows}
    assert mailbox == set(s.REQUIRED["2019"]["Mailbox"])
    assert {"MSExchangeIS", "MSExchangeRPC", "W3Svc", "WinRM", "IISAdmin"} <= mailbox
    hub = {x.name for x in plan.services if "HubTransport" in x.rows}
    assert {"MSExchangeTransport", "MSExchangeEdgeSync"} <= hub
    assert "MSExchangeFrontEndTransport" in names(plan, "monitored")  # runs, but Test-ServiceHealth does not check it
    assert {"MSExchangeImap4", "MSExchangePop3", "wsbexchange"} <= names(plan, "informational")


def test_2016_notifications_broker_is_never_started() -> None:
    plan = s.plan_services(release_of(BUILDS["2016"]), ["Mailbox"])
    broker = plan.get("MSExchangeNotificationsBroker")
    assert broker is not None and broker.level == "informational" and not broker.start  # Automatic but Stopped by design


@pytest.mark.parametrize(("build", "present"), [("15.2.922.7", False), ("15.2.986.5", True), ("15.1.2308.8", False), ("15.1.2375.7", True)])
def test_mitigation_service_from_2019_cu11_and_2016_cu22(build: str, present: bool) -> None:
    assert (s.plan_services(release_of(build), ["Mailbox"]).get("MSExchangeMitigation") is not None) is present


def test_2013_has_no_hm_recovery_compliance_or_mitigation() -> None:
    plan = s.plan_services(release_of(BUILDS["2013"]), ["Mailbox", "ClientAccess"])
    assert all(plan.get(n) is None for n in ("MSExchangeHMRecovery", "MSComplianceAudit", "MSExchangeCompliance", "MSExchangeMitigation"))
    assert "MSExchangeFrontEndTransport" in {x.name for x in plan.services if "ClientAccess" in x.rows}


@pytest.mark.parametrize("product", ["2007", "2010"])
def test_legacy_products_have_no_2013_services_and_say_so(product: str) -> None:
    plan = s.plan_services(release_of(BUILDS[product]), ["Mailbox", "ClientAccess", "HubTransport"])
    present = {x.name for x in plan.services}
    assert not present & {"MSExchangeFrontEndTransport", "MSExchangeDelivery", "MSExchangeSubmission", "MSExchangeHM"}
    assert {"MSExchangeSA", "MSExchangeMailSubmission"} <= present
    assert plan.notes and "lower confidence" in plan.notes[0]


def test_edge_rows_and_services() -> None:
    plan = s.plan_services(release_of(BUILDS["2019"]), ["Edge"])
    assert plan.rows == ("Edge", "EmailRouter")
    assert {"ADAM_MSExchange", "MSExchangeEdgeCredential", "MSExchangeTransport"} <= names(plan, "required")
    assert plan.get("MSExchangeIS") is None
    assert plan.get("MSExchangeHMRecovery").level == "monitored"
    assert s.plan_services(release_of(BUILDS["2013"]), ["Edge"]).get("MSExchangeHMRecovery") is None


@pytest.mark.parametrize(
    ("product", "roles", "error"),
    [
        ("2019", ["UnifiedMessaging"], "no Unified Messaging"),
        ("SE", ["Mailbox", "UnifiedMessaging"], "no Unified"),
        ("2016", ["Edge", "Mailbox"], "Edge"),
        ("2019", ["Gateway"], "Gateway"),
    ],
)
def test_impossible_roles_are_refused(product: str, roles: list[str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        s.plan_services(release_of(BUILDS[product]), roles)


def test_include_exclude_and_email_router() -> None:
    plan = s.plan_services(release_of(BUILDS["2019"]), ["Mailbox"], include=["ContosoAV"], exclude=["msexchangeis", "FMS"])
    assert plan.get("MSExchangeIS") is None and plan.get("FMS") is None
    extra = plan.get("ContosoAV")
    assert extra.level == "required" and extra.rows == ("Additional",)
    router = plan.get("MSCRMEmail")
    assert router.level == "required" and router.when_present
    assert plan.rows[-2:] == ("Additional", "EmailRouter")
    assert s.plan_services(release_of(BUILDS["2019"]), ["Mailbox"], email_router_service="").get("MSCRMEmail") is None
    # an included name that the table already has keeps its table rows and gains the Additional row
    both = s.plan_services(release_of(BUILDS["2019"]), ["Mailbox"], include=["msexchangeis"])
    assert set(both.get("MSExchangeIS").rows) == {"Mailbox", "Additional"}


def test_no_exchange_means_email_router_and_includes_only() -> None:
    plan = s.plan_services(None, (), include=["Spooler"])
    assert [x.name for x in plan.services] == ["Spooler", "MSCRMEmail"]
    assert plan.rows == ("Additional", "EmailRouter")


def test_candidates_cover_every_product_and_role_once() -> None:
    candidates = s.candidate_services()
    by_name = {str(c["name"]).casefold(): c for c in candidates}
    assert len(by_name) == len(candidates)
    for product, roles in ROLES_OF.items():
        for role in roles:
            for service in s.plan_services(release_of(BUILDS[product]), [role]).services:
                assert service.name.casefold() in by_name, (product, role, service.name)
                if service.start:
                    assert by_name[service.name.casefold()]["start"], service.name
    assert not by_name["msexchangenotificationsbroker"]["start"]
    assert not by_name["msexchangeimap4"]["start"]


@pytest.mark.parametrize(
    ("product", "keys", "roles"),
    [
        ("2019", ["CafeRole", "ClientAccessRole", "FrontendTransportRole", "HubTransportRole", "MailboxRole"], ["Mailbox"]),
        ("2016", ["MailboxRole", "UnifiedMessagingRole"], ["Mailbox"]),
        ("2019", ["EdgeTransportRole"], ["Edge"]),
        ("2013", ["CafeRole", "FrontendTransportRole"], ["ClientAccess"]),
        ("2013", ["MailboxRole", "ClientAccessRole", "HubTransportRole", "CafeRole", "FrontendTransportRole"], ["Mailbox", "ClientAccess"]),
        ("2010", ["HubTransportRole", "ClientAccessRole"], ["ClientAccess", "HubTransport"]),
        ("2007", ["mailboxrole"], ["Mailbox"]),
        ("2019", [], []),
    ],
)
def test_roles_from_role_keys(product: str, keys: list[str], roles: list[str]) -> None:
    assert s.roles_from_role_keys(product, keys) == roles
