"""The --diff of service_state, email_router and recover_server, from module results: what before and after say, planned in
check mode."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_diffs import (
    email_router_diff,
    exchange_install_state,
    planned_recovery_state,
    service_state_diff,
)


def service(name: str, action: str, state_before: str | None, state: str | None) -> dict[str, object]:
    return {"name": name, "action": action, "state_before": state_before, "state": state, "exists": state is not None}


# -- service_state --------------------------------------------------------------------------------------------------------
def test_service_diff_lists_only_the_services_the_call_acted_on():
    diff = service_state_diff(
        [
            service("MSExchangeADTopology", "none", "running", "running"),
            service("MSExchangeIS", "started", "stopped", "running"),
            service("MSExchangeTransport", "start_failed", "stopped", "stopped"),
            service("MSExchangeRepl", "waited", "start_pending", "running"),
            service("MSExchangeMissing", "none", None, None),
        ]
    )
    assert diff == {
        "before": {"services": {"MSExchangeIS": "stopped", "MSExchangeTransport": "stopped", "MSExchangeRepl": "start_pending"}},
        "after": {"services": {"MSExchangeIS": "running", "MSExchangeTransport": "stopped", "MSExchangeRepl": "running"}},
    }


def test_service_diff_in_check_mode_plans_running():
    # the module reports the state as read (nothing started); would_start means it would be running afterwards
    diff = service_state_diff([service("MSExchangeIS", "would_start", "stopped", "stopped")])
    assert diff == {"before": {"services": {"MSExchangeIS": "stopped"}}, "after": {"services": {"MSExchangeIS": "running"}}}


def test_service_diff_of_a_query_is_empty_on_both_sides():
    assert service_state_diff([service("MSExchangeIS", "none", "stopped", "stopped")]) == {"before": {"services": {}}, "after": {"services": {}}}


# -- email_router ---------------------------------------------------------------------------------------------------------
ABSENT = {"installed": False, "version": None, "service_account": None}
PRESENT = {"installed": True, "version": "8.2.0.749", "service_account": "LocalSystem"}


def router_result(before: dict[str, object], now: dict[str, object], changed: bool) -> dict[str, object]:
    return {"changed": changed, "before": before, **now, "service_state": "running", "rc": 0}


def test_router_diff_of_a_real_run_is_before_and_as_read_after():
    diff = email_router_diff(router_result(ABSENT, PRESENT, True), "present", check_mode=False)
    assert diff == {"before": ABSENT, "after": PRESENT}


@pytest.mark.parametrize(
    ("state", "before", "reported", "after"),
    [
        # check mode reports the router as found: the plan is installed, at a version only setup will tell
        ("present", ABSENT, ABSENT, {"installed": True, "version": None, "service_account": None}),
        ("reinstalled", PRESENT, PRESENT, {"installed": True, "version": None, "service_account": None}),
        ("absent", PRESENT, PRESENT, ABSENT),
        # only the account changes: the module already reports the planned account
        ("present", PRESENT, {**PRESENT, "service_account": "CONTOSO\\svc-crm"}, {**PRESENT, "service_account": "CONTOSO\\svc-crm"}),
    ],
    ids=["install", "reinstall", "remove", "account"],
)
def test_router_diff_in_check_mode_is_the_plan(state, before, reported, after):
    diff = email_router_diff(router_result(before, reported, True), state, check_mode=True)
    assert diff == {"before": before, "after": after}


def test_router_diff_of_an_install_in_check_mode_plans_the_requested_account():
    diff = email_router_diff(router_result(ABSENT, ABSENT, True), "present", check_mode=True, service_account="CONTOSO\\svc-crm")
    assert diff["after"] == {"installed": True, "version": None, "service_account": "CONTOSO\\svc-crm"}


def test_router_diff_without_a_change_is_equal_on_both_sides():
    diff = email_router_diff(router_result(PRESENT, PRESENT, False), "present", check_mode=True)
    assert diff["before"] == diff["after"] == PRESENT


def test_router_diff_carries_only_the_three_facts():
    result = {**router_result(ABSENT, PRESENT, True), "service_password": "Crm-Passw0rd!", "install_config": "<CRMSetup/>"}
    diff = email_router_diff(result, "present", check_mode=False)
    assert set(diff["before"]) == set(diff["after"]) == {"installed", "version", "service_account"}
    assert "Crm-Passw0rd!" not in repr(diff)


# -- recover_server -------------------------------------------------------------------------------------------------------
RECOVERED = {
    "installed": True,
    "configured": True,
    "incomplete": False,
    "version": "15.2.1544.4",
    "roles": ["MailboxRole", "CafeRole", "ClientAccessRole", "FrontendTransportRole", "HubTransportRole"],
}


def test_install_state_of_a_fresh_host():
    assert exchange_install_state({"installed": False, "configured": False, "incomplete": False, "version": None, "roles": []}) == {
        "installed": False,
        "configured": False,
        "incomplete": False,
        "version": None,
        "release": None,
        "roles": [],
    }
    assert exchange_install_state(None)["installed"] is False


def test_install_state_names_the_release_and_the_roles():
    state = exchange_install_state(RECOVERED)
    assert state["release"] == "Exchange Server 2019 CU14"
    assert state["roles"] == ["Mailbox"]  # from 2016 on the Mailbox role holds every component


def test_install_state_of_an_interrupted_2010_setup():
    state = exchange_install_state(
        {"installed": True, "configured": False, "incomplete": True, "version": "14.3.123.4", "roles": ["MailboxRole", "HubTransportRole"]}
    )
    assert state["incomplete"] is True and state["configured"] is False
    assert state["roles"] == ["Mailbox", "HubTransport"]


def test_install_state_keeps_the_role_keys_when_the_build_is_unknown():
    state = exchange_install_state({"installed": True, "version": None, "roles": ["MailboxRole", "CafeRole"]})
    assert state["release"] is None and state["roles"] == ["CafeRole", "MailboxRole"]


def test_planned_recovery_is_the_media_build_with_the_ad_roles():
    assert planned_recovery_state("15.2.1544.4", ["Mailbox", "ClientAccess", "HubTransport"]) == {
        "installed": True,
        "configured": True,
        "incomplete": False,
        "version": "15.2.1544.4",
        "release": "Exchange Server 2019 CU14",
        "roles": ["Mailbox", "ClientAccess", "HubTransport"],
    }
    assert planned_recovery_state("not a build", [])["release"] is None
