from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _service_health as h
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import ROLE_LABELS, plan_services
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

EX2019 = release_of("15.2.1544.4")
ROLE_KEYS_2019 = [{"name": n, "unpacked_version": "15.2.1544.4", "configured_version": "15.2.1544.4"} for n in ("CafeRole", "MailboxRole")]
EXCHANGE_2019 = {"installed": True, "setup_key": r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup", "build": "15.2.1544.4", "role_keys": ROLE_KEYS_2019}


def svc(name: str, state: str = "running", mode: str = "auto", **extra: Any) -> dict[str, Any]:
    return {"name": name, "display_name": name, "exists": True, "start_mode": mode, "state": state, "state_before": state, "dependencies": [], **extra}


def healthy_services(plan) -> list[dict[str, Any]]:
    return [svc(s.name) if s.running else svc(s.name, "stopped", s.start_mode) for s in plan.services if s.name != "MSCRMEmail"] + [
        {"name": "MSCRMEmail", "exists": False}
    ]


def run(services: list[dict[str, Any]], *, exchange: dict[str, Any] | None = None, check_mode: bool = False, **options: Any) -> dict[str, Any]:
    args = {"version_option": None, "roles_option": None, "include": (), "exclude": (), "email_router_service": "MSCRMEmail", **options}
    return h.evaluate(
        **args, module_result={"services": services, "exchange": EXCHANGE_2019 if exchange is None else exchange}, check_mode=check_mode, host="EX01"
    )


def replace(services: list[dict[str, Any]], name: str, **changes: Any) -> list[dict[str, Any]]:
    return [{**s, **changes} if s["name"] == name else s for s in services]


@pytest.fixture
def plan():
    return plan_services(EX2019, ["Mailbox"])


def test_healthy_server(plan) -> None:
    verdict = run(healthy_services(plan))
    assert verdict["healthy"] is True and verdict["not_running"] == []
    assert verdict["msg"].startswith("All ") and "required service(s) running on EX01" in verdict["msg"]
    assert [r["role"] for r in verdict["summary"]] == [ROLE_LABELS[r] for r in ("Mailbox", "ClientAccess", "HubTransport")]
    assert all(r["required_services_running"] and not r["services_not_running"] for r in verdict["summary"])
    assert verdict["exchange_version"] == {"product": "2019", "name": "Exchange Server 2019 CU14", "build": "15.2.1544.4", "cu": 14, "source": "host"}
    assert verdict["exchange_roles"] == ["Mailbox"] and verdict["roles_source"] == "host"
    router = next(c for c in verdict["checks"] if c["name"] == "MSCRMEmail")
    assert router["result"] == "skipped"
    assert verdict["hints"] == []


def test_stopped_required_service_fails_naming_it_with_mode_and_state(plan) -> None:
    verdict = run(replace(healthy_services(plan), "MSExchangeTransport", state="stopped"))
    assert verdict["healthy"] is False
    assert verdict["not_running"] == ["MSExchangeTransport"]
    assert verdict["msg"] == "1 required service(s) not running on EX01: MSExchangeTransport (start mode auto, state stopped)"
    hub = next(r for r in verdict["summary"] if r["role"] == "Hub Transport Server Role")
    assert hub["required_services_running"] is False and hub["services_not_running"] == ["MSExchangeTransport"]
    mailbox = next(r for r in verdict["summary"] if r["role"] == "Mailbox Server Role")
    assert mailbox["required_services_running"] is True


def test_disabled_exchange_service_gets_the_failed_setup_hint(plan) -> None:
    verdict = run(replace(healthy_services(plan), "MSExchangeIS", state="stopped", start_mode="disabled"))
    assert "MSExchangeIS (start mode disabled, state stopped)" in verdict["msg"]
    codes = [(x["code"], x.get("service")) for x in verdict["hints"]]
    assert ("disabled_after_failed_setup", "MSExchangeIS") in codes
    assert "ExchangeSetup.log" in verdict["hints"][0]["message"]


def test_service_that_stopped_again_after_start(plan) -> None:
    services = replace(
        healthy_services(plan), "MSExchangeRepl", state="stopped", state_before="stopped", action="started", stopped_again=True, win32_exit_code=1067
    )
    verdict = run(services)
    assert verdict["not_running"] == ["MSExchangeRepl"]
    assert any(x["code"] == "stopped_after_start" and "stopped again" in x["message"] for x in verdict["hints"])


def test_exit_code_1067_without_a_start_is_the_same_cause(plan) -> None:
    verdict = run(replace(healthy_services(plan), "MSExchangeRepl", state="stopped", win32_exit_code=1067))
    assert any(x["code"] == "stopped_after_start" and "terminated unexpectedly" in x["message"] for x in verdict["hints"])


def test_email_router_is_required_when_installed_and_gets_its_own_hint(plan) -> None:
    services = [s for s in healthy_services(plan) if s["name"] != "MSCRMEmail"]
    verdict = run([*services, svc("MSCRMEmail", "stopped", stopped_again=True, action="started")])
    assert verdict["not_running"] == ["MSCRMEmail"]
    assert verdict["summary"][-1] == {
        "role": "Dynamics CRM Email Router",
        "required_services_running": False,
        "services_running": [],
        "services_not_running": ["MSCRMEmail"],
    }
    router_hint = next(x for x in verdict["hints"] if x["code"] == "stopped_after_start")
    assert "SystemState.xml" in router_hint["message"] and "#16192" in router_hint["message"]
    assert run([*services, svc("MSCRMEmail")])["healthy"]


def test_missing_required_service(plan) -> None:
    verdict = run(replace(healthy_services(plan), "MSExchangeRPC", exists=False))
    assert "MSExchangeRPC (not installed)" in verdict["msg"]
    assert any(x["code"] == "not_installed" and x["service"] == "MSExchangeRPC" for x in verdict["hints"])


def test_monitored_service_is_a_warning_only(plan) -> None:
    verdict = run(replace(healthy_services(plan), "MSExchangeFrontEndTransport", state="stopped", start_mode="manual"))
    assert verdict["healthy"] is True
    assert verdict["warnings_not_running"] == ["MSExchangeFrontEndTransport"]
    assert "other Exchange service(s) not running: MSExchangeFrontEndTransport" in verdict["msg"]
    assert any(x["code"] == "do_not_start_transport" for x in verdict["hints"])


def test_check_mode_counts_what_would_start(plan) -> None:
    services = replace(healthy_services(plan), "MSExchangeIS", state="stopped", action="would_start")
    assert run(services, check_mode=True)["healthy"] is True
    assert "once MSExchangeIS start(s) (check mode)" in run(services, check_mode=True)["msg"]
    assert run(services, check_mode=False)["healthy"] is False
    disabled = replace(services, "MSExchangeTransport", state="stopped", start_mode="disabled")
    assert run(disabled, check_mode=True)["not_running"] == ["MSExchangeTransport"]


def test_setup_incomplete_hint() -> None:
    keys = [{"name": "MailboxRole", "unpacked_version": "15.2.1544.4", "configured_version": None, "watermark": "MailboxComponent___abc"}]
    exchange = {**EXCHANGE_2019, "role_keys": keys}
    plan = plan_services(EX2019, ["Mailbox"])
    verdict = run(healthy_services(plan), exchange=exchange)
    assert verdict["exchange_roles"] == ["Mailbox"]
    assert [x["code"] for x in verdict["hints"]] == ["setup_incomplete"]
    assert "MailboxRole" in verdict["hints"][0]["message"] and "watermark" in verdict["hints"][0]["message"]


def test_dependency_disabled_hint(plan) -> None:
    services = replace(healthy_services(plan), "MSExchangeADTopology", state="stopped", dependencies=["NetTcpPortSharing"])
    services = replace(services, "NetTcpPortSharing", state="stopped", start_mode="disabled")
    verdict = run(services)
    assert any(x["code"] == "dependency_disabled" and x["service"] == "MSExchangeADTopology" for x in verdict["hints"])


def test_start_errors_give_hints(plan) -> None:
    services = replace(
        healthy_services(plan), "MSExchangeIS", state="stopped", action="start_failed", start_error="The service did not respond", start_error_code=1053
    )
    services = replace(
        services, "MSExchangeRPC", state="stopped", action="start_failed", start_error="The dependency service or group failed to start.", start_error_code=1068
    )
    services = replace(
        services, "W3Svc", state="stopped", action="start_failed", start_error="does not exist", start_error_code=1075, dependencies=["WAS", "HTTP"]
    )
    codes = {(x["code"], x.get("service")) for x in run(services)["hints"]}
    assert {("start_timeout", "MSExchangeIS"), ("dependency_failed", "MSExchangeRPC"), ("dependency_missing", "W3Svc")} <= codes


def test_version_option_wins_and_mismatch_is_hinted(plan) -> None:
    verdict = run(healthy_services(plan), version_option="2016", roles_option=["Mailbox"])
    assert verdict["exchange_version"]["product"] == "2016" and verdict["exchange_version"]["source"] == "option"
    assert any(x["code"] == "version_mismatch" for x in verdict["hints"])
    same = run(healthy_services(plan), version_option="2019")
    assert same["exchange_version"]["build"] == "15.2.1544.4"  # same product: the host's exact build
    assert not any(x["code"] == "version_mismatch" for x in same["hints"])


def test_services_missing_from_the_read_are_not_judged(plan) -> None:
    """The host's exact build can list a service the call did not read: it is noted, not failed."""
    services = [s for s in healthy_services(plan) if s["name"] != "MSExchangeMitigation"]
    verdict = run(services)
    assert verdict["healthy"] and any("MSExchangeMitigation" in n for n in verdict["notes"])


def test_no_exchange_installed() -> None:
    verdict = run([{"name": "MSCRMEmail", "exists": False}], exchange={"installed": False, "build": None, "role_keys": []})
    assert verdict["healthy"] and verdict["exchange_version"] is None
    assert verdict["msg"] == "No Exchange installation found on EX01; nothing to check"


def test_roles_unknown_hint() -> None:
    verdict = run([{"name": "MSCRMEmail", "exists": False}], exchange={**EXCHANGE_2019, "role_keys": []})
    assert [x["code"] for x in verdict["hints"]] == ["roles_unknown"]


def test_explicit_services() -> None:
    verdict = h.evaluate(
        version_option=None,
        roles_option=None,
        include=(),
        exclude=(),
        email_router_service="MSCRMEmail",
        explicit_services=[{"name": "Spooler", "required": True, "start": True}, {"name": "BITS", "required": False, "start": False}],
        module_result={"services": [svc("Spooler", "stopped"), svc("BITS", "stopped", "manual")], "exchange": {}},
    )
    assert verdict["not_running"] == ["Spooler"] and verdict["warnings_not_running"] == ["BITS"]
    assert verdict["summary"][0]["role"] == "Additional services"


@pytest.mark.parametrize(
    ("value", "product", "cu"),
    [("2019", "2019", 15), ("2019 CU11", "2019", 11), ("2016cu22", "2016", 22), ("SE", "SE", 0), ("2010", "2010", None), ("15.1.2507.6", "2016", 23)],
)
def test_parse_version_option(value: str, product: str, cu: int | None) -> None:
    release = h.parse_version_option(value)
    assert (release.product, release.cu) == (product, cu)


@pytest.mark.parametrize("value", ["2020", "Exchange", "2019 CU99"])
def test_bad_version_option(value: str) -> None:
    with pytest.raises(ValueError, match=r"build|CU99"):
        h.parse_version_option(value)


def test_email_router_on_a_host_without_exchange() -> None:
    verdict = run([svc("MSCRMEmail")], exchange={"installed": False, "build": None, "role_keys": []})
    assert verdict["healthy"] and verdict["msg"] == "No Exchange installation found on EX01; all 1 required service(s) running (MSCRMEmail)"
    assert [r["role"] for r in verdict["summary"]] == ["Dynamics CRM Email Router"]
