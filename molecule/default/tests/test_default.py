"""molecule/default verify: the recovered estate, checked through Ansible's connection (WinRM) with pytest-testinfra.

testinfra's Ansible backend runs `ansible -m <module>` for each check. With Windows hosts only `host.ansible(...)` with
Windows modules works: `host.run`, `host.file`, `host.service` and the other POSIX modules run shell commands or Python
modules, which a Windows host cannot run. So every check here is an ansible.windows module (win_service_info, win_stat,
win_reg_stat) — one module call each, read-only (check=False lets the module run outside check mode; none of them changes
anything). The DR report is read on the controller.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import testinfra

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or Path(__file__).resolve().parents[3])
STATE = Path(os.environ.get("DR_SIM_STATE") or ROOT / ".work" / "molecule" / "state")
REPORTS = ROOT / ".work" / "molecule" / "reports"
ROUTER_SERVICE = r"C:\Program Files\Microsoft CRM Email\Service"
ROUTER_BACKUP = r"D:\Backups\EmailRouter\latest"
EXCHANGE_SETUP_KEY = r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup"
# services that must run on a recovered Exchange 2019 Mailbox server (a sample of facts section 3), and the router's
SERVICES = ["MSExchangeADTopology", "MSExchangeIS", "MSExchangeTransport", "MSExchangeFrontEndTransport", "W3SVC", "MSCRMEmail"]


_CACHE: dict[tuple[str, str, str], dict[str, Any]] = {}


def module(host: Any, module_name: str, /, **args: Any) -> dict[str, Any]:
    """One module call on the host (each is an `ansible` process: the result is kept for the other tests). Arguments go as
    JSON: in key=value form Ansible decodes escapes, and `\\v15` would become a vertical tab."""
    key = (host.backend.get_hostname(), module_name, json.dumps(args, sort_keys=True))
    if key not in _CACHE:
        result = host.ansible(module_name, json.dumps(args) if args else "", check=False)  # "{}" would be raw params
        assert not result.get("failed") and "Task failed" not in str(result.get("msg", "")), result
        _CACHE[key] = result
    return _CACHE[key]


@pytest.fixture(scope="module")
def fs01() -> Any:
    return testinfra.get_host("ansible://FS01", ansible_inventory=str(STATE / "inventory.yml"))


def test_exchange_is_installed_and_configured(host: Any) -> None:
    stat = module(host, "ansible.windows.win_reg_stat", path=EXCHANGE_SETUP_KEY)
    assert stat["exists"], "the Exchange Setup key is missing: Exchange was not recovered"
    assert stat["properties"]["MsiProductMajor"]["value"] == 15
    roles = module(host, "ansible.windows.win_reg_stat", path=r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole")
    assert roles["exists"] and "ConfiguredVersion" in roles["properties"], "the Mailbox role is not configured (Setup did not finish)"


@pytest.mark.parametrize("name", SERVICES)
def test_services_run(host: Any, name: str) -> None:
    every = {s["name"].casefold(): s for s in module(host, "ansible.windows.win_service_info")["services"]}  # one call for all
    service = every.get(name.casefold())
    assert service, f"{name} does not exist"
    assert service["state"] == "started", f"{name} is {service['state']} ({service['start_mode']})"


@pytest.mark.parametrize("name", ["Microsoft.Crm.Tools.EmailAgent.xml", "EncryptionKey.xml", "Microsoft.Crm.Tools.EmailAgent.SystemState.xml"])
def test_router_configuration_restored_from_the_backup(host: Any, fs01: Any, name: str) -> None:
    placed = module(host, "ansible.windows.win_stat", path=f"{ROUTER_SERVICE}\\{name}", get_checksum=True)["stat"]
    backup = module(fs01, "ansible.windows.win_stat", path=f"{ROUTER_BACKUP}\\{name}", get_checksum=True)["stat"]
    assert backup["exists"], f"the backup on FS01 has no {name}"
    assert placed["exists"], f"{name} was not put back"
    assert placed["checksum"] == backup["checksum"], f"{name} differs from the backup"


def reports() -> list[dict[str, Any]]:
    """The DR reports of this scenario's runs, oldest first (converge, then idempotence)."""
    runs = [json.loads(f.read_text()) for f in sorted(REPORTS.glob("dr_report-*.json"))]
    runs = [r for r in runs if r["playbook"] == "converge.yml"]
    assert len(runs) >= 2, f"expected the converge and idempotence reports in {REPORTS}"
    return runs


def test_report_of_the_recovery() -> None:
    converge = reports()[-2]
    assert converge["outcome"] == "succeeded"
    ex01 = converge["hosts"]["EX01"]
    assert ex01["outcome"] == "recovered"
    assert ex01["phases"]["recover"] == "changed"
    assert ex01["phases"]["email_router"] == "changed"
    assert ex01["phases"]["final_verify"] in ("ok", "changed")
    assert ex01["recovery_time_s"] > 0
    # every play of the DR run is a phase of the report; the DAG and DR kit phases are skipped here (no DAG, no kit given)
    assert [p["name"] for p in converge["phases"]] == [
        "preflight",
        "prerequisites",
        "dag_remove",
        "recover",
        "reboot",
        "reapply",
        "verify",
        "dag_add",
        "email_router",
        "final_verify",
    ]
    assert {ex01["phases"][p] for p in ("dag_remove", "reapply", "dag_add")} == {"skipped"}


def test_report_of_the_second_run_shows_nothing_redone() -> None:
    again = reports()[-1]
    assert again["outcome"] == "succeeded"
    assert again["hosts"]["EX01"]["phases"].get("recover") in (None, "skipped")  # the recovery was not run again
    assert again["hosts"]["EX01"]["changed"] == 0


def test_report_holds_no_secret() -> None:
    inventory = (STATE / "inventory.yml").read_text()
    passwords = [line.split(":", 1)[1].strip() for line in inventory.splitlines() if "ansible_password:" in line]
    assert passwords
    for path in REPORTS.iterdir():
        text = path.read_text()
        for password in passwords:
            assert password not in text, f"a password leaked into {path.name}"
