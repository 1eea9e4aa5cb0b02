"""exchange_dr.recovery.service_state's twin against a real simulated host (Exchange seeded by profiles.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.testing import make_host
from simulator.twins import run_module

FQCN = "exchange_dr.recovery.service_state"
EX2019 = {"exchange": {"version": "15.2.1544.4", "roles": ["Mailbox"]}}


def call(host: Any, check: bool = False, **args: Any) -> tuple[int, dict[str, Any]]:
    rc, out = run_module(FQCN, {"_ansible_check_mode": check, **args}, host, "Administrator")
    return rc, json.loads(out)


def entry(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in result["services"] if s["name"].casefold() == name.casefold())


def wanted(*names: str, start: bool = True) -> list[dict[str, Any]]:
    return [{"name": n, "start": start} for n in names]


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path, "EX01", seed=EX2019)


def test_reads_setup_key_and_services_in_one_call(host) -> None:
    rc, out = call(host, services=wanted("MSExchangeIS", "MSExchangeImap4", "NoSuchService", "msexchangeadtopology"))
    assert rc == 0 and out["changed"] is False and out["started"] == []
    assert out["exchange"]["build"] == "15.2.1544.4" and out["exchange"]["setup_key"].endswith(r"v15\Setup")
    assert {k["name"] for k in out["exchange"]["role_keys"]} >= {"MailboxRole", "CafeRole"}
    assert entry(out, "MSExchangeIS") | {} == {
        **entry(out, "MSExchangeIS"),
        "exists": True,
        "start_mode": "auto",
        "state": "running",
        "dependencies": ["MSExchangeADTopology"],
        "action": "none",
    }
    assert entry(out, "MSExchangeImap4")["start_mode"] == "manual"
    assert entry(out, "NoSuchService")["exists"] is False
    assert entry(out, "MSExchangeADTopology")["name"] == "MSExchangeADTopology"  # the host's spelling


def test_no_exchange(tmp_path) -> None:
    _rc, out = call(make_host(tmp_path, "FS01"), services=wanted("MSCRMEmail"))
    assert out["exchange"]["installed"] is False and out["exchange"]["build"] is None


def test_started_in_dependency_order_then_idempotent(host) -> None:
    host.stop_service("MSExchangeADTopology", force=True)  # stops its dependents first
    assert host.service("MSExchangeIS").state == "stopped"
    names = ("MSExchangeIS", "MSExchangeTransport", "MSExchangeADTopology", "MSExchangeImap4")
    _rc, out = call(host, check=True, services=wanted(*names), state="started")
    assert out["changed"] is True and out["started"] == ["MSExchangeADTopology", "MSExchangeIS", "MSExchangeTransport"]
    assert host.service("MSExchangeADTopology").state == "stopped"  # check mode started nothing
    _rc, out = call(host, services=wanted(*names), state="started", settle_seconds=5)
    assert out["changed"] is True and out["started"] == ["MSExchangeADTopology", "MSExchangeIS", "MSExchangeTransport"]
    assert entry(out, "MSExchangeIS")["state_before"] == "stopped" and entry(out, "MSExchangeIS")["state"] == "running"
    assert entry(out, "MSExchangeImap4")["action"] == "none"  # Manual: never started
    assert all(host.service(n).state == "running" for n in names[:3])
    _rc, again = call(host, services=wanted(*names), state="started")
    assert again["changed"] is False and again["started"] == []


def test_disabled_and_start_false_are_never_started(host) -> None:
    host.set_service("MSExchangeIS", start_mode="disabled")
    host.stop_service("MSExchangeIS")
    host.stop_service("MSExchangeRepl")
    _rc, out = call(host, services=[*wanted("MSExchangeIS"), *wanted("MSExchangeRepl", start=False)], state="started")
    assert out["started"] == [] and out["changed"] is False
    assert host.service("MSExchangeIS").state == "stopped" and host.service("MSExchangeRepl").state == "stopped"


def test_service_that_wont_start_times_out_with_1053(tmp_path) -> None:
    host = make_host(tmp_path, "EX01", seed=EX2019, faults=[{"name": "service_wont_start", "target": "MSExchangeTransport"}])
    host.stop_service("MSExchangeTransport")
    before = host.clock.time()
    _rc, out = call(host, services=wanted("MSExchangeTransport"), state="started")
    transport = entry(out, "MSExchangeTransport")
    assert transport["action"] == "start_failed" and transport["start_error_code"] == 1053 and transport["state"] == "stopped"
    assert out["changed"] is False
    assert host.clock.time() - before >= 30  # StartService waits for the SCM's connect timeout


def test_service_that_stops_again_after_start(tmp_path) -> None:
    host = make_host(
        tmp_path, "EX01", seed=EX2019, time_scale=0.02, faults=[{"name": "service_stops_after_start", "target": "MSExchangeRepl", "params": {"seconds": 5}}]
    )
    host.stop_service("MSExchangeRepl")
    _rc, out = call(host, services=wanted("MSExchangeRepl"), state="started", settle_seconds=10)
    repl = entry(out, "MSExchangeRepl")
    assert repl["action"] == "started" and repl["stopped_again"] is True and repl["state"] == "stopped"
    assert repl["win32_exit_code"] == 1067
    assert out["changed"] is True


def test_slow_start_waits_up_to_the_timeout(host) -> None:
    host.stop_service("MSExchangeFastSearch")
    host.set_service("MSExchangeFastSearch", start_seconds=120)
    _rc, out = call(host, services=wanted("MSExchangeFastSearch"), state="started", timeout=30, settle_seconds=0)
    search = entry(out, "MSExchangeFastSearch")
    assert search["action"] == "start_failed" and "within 30 seconds" in search["start_error"] and search["state"] == "start_pending"
    # still starting: the next call waits for it (without starting it again), which changes nothing
    _rc, out = call(host, services=wanted("MSExchangeFastSearch"), state="started", timeout=300, settle_seconds=0)
    search = entry(out, "MSExchangeFastSearch")
    assert (search["action"], search["state"], out["changed"], out["started"]) == ("waited", "running", False, [])
