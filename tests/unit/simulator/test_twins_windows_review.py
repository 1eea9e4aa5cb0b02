"""The Windows behaviours the PowerShell review (issue 10, docs/powershell.md) found the modules getting wrong, each held by a
test against the twins on a real simulated host: the twin reads Windows the way the fixed .ps1 does, and the simulated
Windows behaves as documented, so the old .ps1 logic would fail these tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.programs import marker
from simulator.testing import make_host, task_failed
from simulator.twins import run_module
from simulator.twins.exchange_dr._windows import inner_exception, service_start_exception, wql_string
from simulator.winerror import WinError
from simulator.wmi import WBEM_E_INVALID_QUERY, name_filter, query_win32_service

ADMIN = "Administrator"
SETUP = r"C:\Media\SetupEmailRouter.exe"
CODE = "{5A5A0001-0000-4000-8000-0000000E0001}"
INSTALL = r"C:\Program Files\Microsoft CRM Email"
CONFIG = f"<CRMSetup><EmailRouter><InstallDir>{INSTALL}</InstallDir></EmailRouter></CRMSetup>"
LOG = r"C:\ExchangeSetupLogs\ExchangeSetup.log"
WIN2012R2 = "6.3.9600"


def twin(host: Any, module: str, user: str = ADMIN, **args: Any) -> dict[str, Any]:
    fqcn = f"exchange_dr.recovery.{module}"
    rc, out = run_module(fqcn, {"_ansible_module_name": fqcn, **args}, host, user)
    return {"_rc": rc, **json.loads(out)}


def delayed_service(name: str) -> dict[str, Any]:
    return {name: {"display_name": name, "path": rf"C:\x\{name}.exe", "start_mode": "delayed", "state": "running"}}


# -- 6: delayed automatic start on Windows Server 2012 R2 --------------------------------------------------------------------
@pytest.mark.parametrize("os_version", [WIN2012R2, "10.0.14393", "10.0.26100"])
def test_delayed_start_is_read_on_every_windows(tmp_path: Path, os_version: str) -> None:
    host = make_host(tmp_path, "EX01", os_version=os_version, seed={"services": delayed_service("MSExchangeDelayed")})
    instance = query_win32_service(host, "Name='MSExchangeDelayed'")[0]
    # Win32_Service.DelayedAutoStart exists from Server 2016 on (win32-service.md): reading it alone says "auto" on 2012 R2
    assert ("DelayedAutoStart" in instance) is (os_version != WIN2012R2)
    assert host.reg_get_value(r"HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeDelayed", "DelayedAutostart").data == 1
    info = twin(host, "exchange_info")
    assert next(s for s in info["services"] if s["name"] == "MSExchangeDelayed")["start_mode"] == "delayed"
    state = twin(host, "service_state", services=[{"name": "MSExchangeDelayed"}])
    assert state["services"][0]["start_mode"] == "delayed"


# -- 5: one name per service state -----------------------------------------------------------------------------------------
def test_a_starting_service_is_start_pending_in_every_module(tmp_path: Path) -> None:
    seed = {"services": {"MSExchangeSlow": {"display_name": "Slow", "path": r"C:\x\slow.exe", "start_mode": "auto", "start_seconds": 600}}}
    host = make_host(tmp_path, "EX01", seed=seed)
    host.start_service("MSExchangeSlow", wait=False)
    assert query_win32_service(host, "Name='MSExchangeSlow'")[0]["State"] == "Start Pending"  # what WMI says
    info = twin(host, "exchange_info")
    assert next(s for s in info["services"] if s["name"] == "MSExchangeSlow")["state"] == "start_pending"
    state = twin(host, "service_state", services=[{"name": "MSExchangeSlow"}])
    assert state["services"][0]["state"] == "start_pending"


# -- 2: the Win32 code of a failed start is two exceptions down --------------------------------------------------------------
def test_a_failed_start_reaches_the_catch_block_wrapped_twice() -> None:
    caught = service_start_exception("MSExchangeIS", WinError(1053))
    assert caught.type == "System.Management.Automation.MethodInvocationException"
    assert caught.inner is not None and caught.inner.type == "System.InvalidOperationException"
    assert not caught.inner.is_a("System.ComponentModel.Win32Exception")  # what `$_.Exception.InnerException -is` tested
    found = inner_exception(caught, "System.ComponentModel.Win32Exception")
    assert found is not None and found.native_error_code == 1053 and "timely fashion" in found.message


def test_service_state_reports_the_start_error_code(tmp_path: Path) -> None:
    seed = {"services": {"CrmSvc": {"display_name": "Crm", "path": r"C:\x\crm.exe", "start_mode": "auto", "state": "stopped"}}}
    host = make_host(tmp_path, "EX01", seed=seed, faults=[{"name": "service_wont_start", "host": "EX01", "target": "CrmSvc"}])
    out = twin(host, "service_state", services=[{"name": "CrmSvc"}], state="started", settle_seconds=0)
    entry = out["services"][0]
    assert entry["action"] == "start_failed" and entry["start_error_code"] == 1053
    assert entry["start_error"] == "The service did not respond to the start or control request in a timely fashion."


# -- 4 and section 5: Exchange 2007 keys, one table, one read ----------------------------------------------------------------
def test_exchange_2007_keys_are_read_the_same_by_every_module(tmp_path: Path) -> None:
    registry = {
        r"HKLM:\SOFTWARE\Microsoft\Exchange\Setup": {
            "MsiInstallPath": "C:\\Program Files\\Microsoft\\Exchange Server\\",
            "MsiProductMajor": 8,
            "MsiProductMinor": 3,
            "MsiBuildMajor": 83,
            "MsiBuildMinor": 6,
        },
        r"HKLM:\SOFTWARE\Microsoft\Exchange\v8.0\MailboxRole": {"UnpackedVersion": "8.3.83.6", "ConfiguredVersion": "8.3.83.6"},
        r"HKLM:\SOFTWARE\Microsoft\Exchange\v8.0\HubTransportRole": {"UnpackedVersion": "8.3.83.6", "Watermark": "x"},
    }
    host = make_host(tmp_path, "EX07", seed={"registry": registry})
    info = twin(host, "exchange_info")["exchange"]
    assert info["installed"] and info["version"] == "8.3.83.6" and info["install_path"] == r"C:\Program Files\Microsoft\Exchange Server"
    assert info["roles"] == ["HubTransportRole", "MailboxRole"] and info["incomplete"] and not info["configured"]
    state = twin(host, "service_state", services=[])["exchange"]
    assert state["setup_key"] == r"HKLM:\SOFTWARE\Microsoft\Exchange\Setup" and state["build"] == "8.3.83.6"
    assert [k["name"] for k in state["role_keys"]] == info["roles"]
    assert state["role_keys"][0]["watermark"] == "x" and state["install_path"] == info["install_path"]


# -- 8: ExchangeSetup.log while a Setup still writes it ----------------------------------------------------------------------
def test_the_setup_log_is_read_while_setup_holds_it_open(tmp_path: Path) -> None:
    host = make_host(tmp_path, "EX01")
    host.mkdir(r"C:\ExchangeSetupLogs")
    host.write_bytes(LOG, b"[01/02/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup\r\n")
    pid = host.start_process(r"C:\Temp\ExSetup.exe", "ExSetup.exe /Mode:RecoverServer", ADMIN)
    host.hold_open(LOG, pid, access="write", share="read")
    with pytest.raises(WinError) as sharing:
        host.read_bytes(LOG, share="read")  # File.ReadAllLines: FileShare.Read does not let the writer's handle in
    assert sharing.value.code == 32
    summary = twin(host, "exchange_info")["setup_log"]
    assert summary["exists"] and summary["lines"] == ["[01/02/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup"]
    host.end_process(pid)
    assert host.read_bytes(LOG, share="read")  # the handle closed with the process


# -- 9: WQL string literals ------------------------------------------------------------------------------------------------
def test_wql_escapes_with_a_backslash() -> None:
    literal = wql_string("Bob's\\router")
    assert literal == "'Bob\\'s\\\\router'" and name_filter(f"Name={literal}") == ["Bob's\\router"]
    with pytest.raises(WinError) as invalid:
        name_filter("Name='Bob''s'")  # the SQL escape the module used: two literals in a row
    assert invalid.value.code == WBEM_E_INVALID_QUERY


def test_the_router_service_is_found_by_a_name_with_a_quote(tmp_path: Path) -> None:
    seed = {"services": {"Bob's Router": {"display_name": "Router", "path": r"C:\x\a.exe", "start_mode": "auto", "state": "running"}}}
    host = make_host(tmp_path, "EX01", seed=seed)
    out = twin(host, "email_router", state="absent", service_name="Bob's Router", product_name="*nothing*")
    assert out["_rc"] == 1 and "exists but no product matches" in out["msg"]  # detected: the service exists


# -- 11 and 10: the server object in AD, the Scripting Agent -----------------------------------------------------------------
def domain(roles: list[str], agent: bool) -> dict[str, Any]:
    return {
        "name": "contoso.local",
        "users": {"Administrator": {"password": "Adm1n-Passw0rd!", "admin": True}},
        "exchange": {"organization": "Contoso", "scripting_agent_enabled": agent, "servers": {"EX01": {"version": "15.2.1544.4", "roles": roles}}},
    }


def test_a_server_object_without_roles_is_read_without_an_error(tmp_path: Path) -> None:
    ad = twin(make_host(tmp_path, "EX01", domain=domain([], False)), "exchange_info")["ad_server"]
    assert ad["exists"] and ad["role_mask"] is None and ad["error"] is None
    assert ad["install_path"] and ad["version"] == "15.2.1544.4"


@pytest.mark.parametrize("enabled", [False, True])
def test_the_scripting_agent_state_is_the_enabled_bit_of_its_flags(tmp_path: Path, enabled: bool) -> None:
    host = make_host(tmp_path, "EX01", domain=domain(["Mailbox"], enabled))
    flags = host.domain.exchange.cmdlet_extension_agent_attributes("Scripting Agent")["msExchCmdletExtensionFlags"]
    assert flags >> 16 & 0xFF == 6 and bool(flags)  # priority 6 lives in the same value: the whole value is never 0
    assert twin(host, "exchange_info")["scripting_agent"]["enabled"] is enabled


# -- 1 and 3: the Email Router's installer and its removal -------------------------------------------------------------------
def router_host(tmp_path: Path, **installer: Any) -> Any:
    host = make_host(tmp_path, "EX01")
    host.mkdir(r"C:\Media")
    product = {"code": CODE, "name": "Microsoft Dynamics CRM E-mail Router", "version": "8.2.0.749"}
    host.write_bytes(SETUP, marker("email_router_installer", {"product": product, "file_version": "8.2.0.749", "seconds": 30, **installer}))
    return host


def test_an_install_that_asks_for_a_restart_is_not_a_failed_task(tmp_path: Path) -> None:
    host = router_host(tmp_path, rc=3010)
    out = twin(host, "email_router", path=SETUP, install_config=CONFIG)
    assert out["_rc"] == 0 and out["rc"] == 3010 and out["reboot_required"] and out["installed"]
    assert out["failed"] is False and not task_failed(out)
    assert task_failed({k: v for k, v in out.items() if k != "failed"})  # what ansible-core made of it before


def test_a_windows_installer_router_is_removed_by_product_code(tmp_path: Path) -> None:
    host = router_host(tmp_path, msi=True)
    assert twin(host, "email_router", path=SETUP, install_config=CONFIG)["installed"]
    product = host.product(CODE)
    assert product.msi and product.uninstall_string == f"MsiExec.exe /I{CODE}" and not product.quiet_uninstall_string
    # the old command: UninstallString + " /Q" is a quiet maintenance run, exit 0, nothing removed
    assert host.run(f"{product.uninstall_string} /Q").rc == 0 and host.product(CODE) is not None
    out = twin(host, "email_router", state="absent")
    assert out["_rc"] == 0 and out["changed"] and out["rc"] == 0
    assert host.product(CODE) is None and host.service("MSCRMEmail") is None
    assert not host.exists(INSTALL + r"\Service\Microsoft.Crm.Tools.EmailAgent.exe")
    assert twin(host, "email_router", state="absent")["changed"] is False
