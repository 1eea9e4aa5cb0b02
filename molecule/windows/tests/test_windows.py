"""molecule/windows verify: the recovered hosts, checked over WinRM with pytest-testinfra (one Windows module per check).

testinfra's Ansible backend only runs Windows modules against Windows hosts (`host.ansible(...)`); its POSIX helpers
(`host.run`, `host.file`, `host.service`) do not work there. See molecule/default/tests/test_default.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or Path(__file__).resolve().parents[3])
REPORTS = Path(os.environ.get("EXCHANGE_DR_REPORT_DIR") or ROOT / "reports" / "molecule-windows")
SERVICES = ["MSExchangeADTopology", "MSExchangeIS", "MSExchangeTransport", "W3SVC"]


def module(host: Any, module_name: str, /, **args: Any) -> dict[str, Any]:
    result = host.ansible(module_name, json.dumps(args) if args else "", check=False)  # "{}" would be raw params
    assert not result.get("failed") and "Task failed" not in str(result.get("msg", "")), result
    return result


def test_exchange_is_configured(host: Any) -> None:
    role = module(host, "ansible.windows.win_reg_stat", path=r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole")
    assert role["exists"] and "ConfiguredVersion" in role["properties"]


@pytest.mark.parametrize("name", SERVICES)
def test_services_run(host: Any, name: str) -> None:
    services = module(host, "ansible.windows.win_service_info", name=name)["services"]
    assert services and services[0]["state"] == "started", services


def test_router_configuration_in_place(host: Any) -> None:
    variables = host.ansible.get_variables()
    if "email_router_servers" not in variables.get("group_names", []):
        pytest.skip("not an Email Router host")
    folder = variables.get("email_router_install_dir", r"C:\Program Files\Microsoft CRM Email")
    stat = module(host, "ansible.windows.win_stat", path=rf"{folder}\Service\Microsoft.Crm.Tools.EmailAgent.xml")["stat"]
    assert stat["exists"]


def test_dr_report() -> None:
    latest = json.loads((REPORTS / "dr_report.json").read_text())
    assert latest["outcome"] == "succeeded", latest["hosts"]
