"""The DR kit in the simulator (issue 13): the estate keys (DAGs, copy settings, exchange_config), the cmdlet twins' binding and
behaviour (documented parameter sets and types, certificates, IIS and SMTP bindings, connectors, DAG reads), what Setup
leaves, and the two action plugins driving their module twins (`_execute_module` runs the twin on a simulated host)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action import dr_kit_apply as apply_action
from ansible_collections.exchange_dr.recovery.plugins.action import dr_kit_capture as capture_action
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _dr_kit as kit
from simulator.estate import EstateError, load_config
from simulator.exchange import cmdlets, server_config
from simulator.exchange import dr_kit_cmdlets as _dr_kit_cmdlets  # noqa: F401 (registers the cmdlets)
from simulator.exchange.shell import ExchangeShell
from simulator.host import Host
from simulator.testing import make_host
from simulator.twins import run_module

PASSWORD = "Kit-Sim-Passw0rd!"
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 10, "free_gb": 5}, "E": {"size_gb": 10, "free_gb": 5}}
DOMAIN: dict[str, Any] = {
    "name": "contoso.local",
    "users": {"Administrator": {"password": "Adm1n!", "admin": True}},
    "exchange": {
        "organization": "Contoso",
        "servers": {"EX01": {"version": "15.2.1544.4", "roles": ["Mailbox"]}, "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]}},
        "dags": {"DAG1": {"servers": ["EX01", "EX02"], "witness_server": "fs01.contoso.local", "witness_directory": "C:\\DAG1"}},
        "databases": {
            "DB01": {
                "server": "EX01",
                "edb_file_path": "D:\\DB01\\DB01.edb",
                "log_folder_path": "E:\\DB01",
                "copies": ["EX01", "EX02"],
                "copy_settings": {"EX02": {"replay_lag_time": "7.00:00:00"}},
            }
        },
    },
}
CUSTOM: dict[str, Any] = {
    "certificates": [{"subject": "CN=mail.contoso.com", "domains": ["mail.contoso.com"], "services": ["IIS", "SMTP"], "friendly_name": "Contoso"}],
    "virtual_directories": {"owa": {"ExternalUrl": "https://mail.contoso.com/owa"}},
    "receive_connectors": [{"Name": "Relay EX01", "Bindings": ["0.0.0.0:25"], "RemoteIPRanges": ["10.0.0.20"], "PermissionGroups": "AnonymousUsers"}],
    "transport": {"MaxOutboundConnections": "500"},
    "config_files": {"Bin\\EdgeTransport.exe.config": {"app_settings": {"QueueDatabaseMaxConnections": "20"}}},
}
INSTALL = "C:\\Program Files\\Microsoft\\Exchange Server\\V15"


@pytest.fixture(scope="module")
def ex01(tmp_path_factory: pytest.TempPathFactory) -> Host:
    return make_host(
        tmp_path_factory.mktemp("ex01"), "EX01", seed={"exchange": True, "exchange_config": copy.deepcopy(CUSTOM)}, domain=copy.deepcopy(DOMAIN), drives=DRIVES
    )


def shell(host: Host, method: str = "snapin") -> ExchangeShell:
    return ExchangeShell.open(
        host,
        version="15.2.1544.4",
        requested=method,
        user="Administrator",
        username="CONTOSO\\Administrator" if method == "remote" else None,
        password="Adm1n!",
    )


# -- estate keys ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dags": {"DAG1": {"servers": ["EX01"]}, "DAG2": {"servers": ["EX01"]}}}, "EX01 is already a member of DAG1"),
        ({"dags": {"DAG1": {"servers": ["EX09"]}}}, "dags.DAG1.servers: expected a list of Exchange servers"),
        ({"dags": {"DAG1": {"servers": ["EX01"], "datacenter_activation_mode": "On"}}}, "expected Off or DagOnly"),
        (
            {"databases": {"DB01": {"server": "EX01", "edb_file_path": "D:\\a.edb", "log_folder_path": "E:\\a", "copy_settings": {"EX02": {}}}}},
            "EX02 holds no copy",
        ),
        (
            {
                "databases": {
                    "DB01": {
                        "server": "EX01",
                        "edb_file_path": "D:\\a.edb",
                        "log_folder_path": "E:\\a",
                        "copies": ["EX01"],
                        "copy_settings": {"EX01": {"activation_preference": 0}},
                    }
                }
            },
            "expected a number from 1",
        ),
    ],
)
def test_dag_keys_are_validated_naming_the_key(change: dict[str, Any], message: str) -> None:
    domain = copy.deepcopy(DOMAIN)
    domain["exchange"].update(change)
    with pytest.raises(EstateError, match=message):
        load_config(
            {
                "name": "t",
                "domain": domain,
                "hosts": {"EX01": {"os": {"version": "10.0.17763"}, "accounts": {"Administrator": {"password": "x", "admin": True}}}},
            }
        )


def test_an_unknown_exchange_config_key_is_refused() -> None:
    domain = copy.deepcopy(DOMAIN)
    with pytest.raises(EstateError, match=r"state\.exchange_config\.certificate: unknown key"):
        load_config(
            {
                "name": "t",
                "domain": domain,
                "hosts": {
                    "EX01": {
                        "os": {"version": "10.0.17763"},
                        "accounts": {"Administrator": {"password": "x", "admin": True}},
                        "state": {"exchange": True, "exchange_config": {"certificate": []}},
                    }
                },
            }
        )


# -- binding ---------------------------------------------------------------------------------------------------------------------------
def test_binding_follows_the_pages() -> None:
    assert cmdlets.bind("Import-ExchangeCertificate", "2019", {"FileData": b"x", "Password": "p"})[0] == "FileData"
    assert cmdlets.bind("Import-ExchangeCertificate", "2013", {"FileName": "\\\\fs\\c.pfx"})[0] == "FileName"
    with pytest.raises(cmdlets.CmdletError, match="A parameter cannot be found that matches parameter name 'FileName'"):
        cmdlets.bind("Import-ExchangeCertificate", "2019", {"FileName": "c.pfx"})  # 2013 only
    with pytest.raises(cmdlets.CmdletError, match="Invalid URI"):
        cmdlets.bind("Set-OwaVirtualDirectory", "2019", {"Identity": "owa (Default Web Site)", "ExternalUrl": "mail.contoso.com/owa"})
    assert cmdlets.bind("Set-OwaVirtualDirectory", "2019", {"Identity": "owa (Default Web Site)", "ExternalUrl": None})[1]["ExternalUrl"] is None
    with pytest.raises(cmdlets.CmdletError, match="valid enumerator name"):
        cmdlets.bind("Enable-ExchangeCertificate", "2019", {"Thumbprint": "AB", "Services": "IIS, HTTP"})
    with pytest.raises(cmdlets.CmdletError, match="missing mandatory parameters: Services"):
        cmdlets.bind("Enable-ExchangeCertificate", "2019", {"Thumbprint": "AB"})
    with pytest.raises(cmdlets.CmdletError, match="'OAuthAuthentication'"):
        cmdlets.bind("Set-EcpVirtualDirectory", "2016", {"Identity": "ecp", "OAuthAuthentication": True})  # 2019 and SE only
    assert cmdlets.spec_for("Get-MapiVirtualDirectory", "2010") is None  # 2013 and later
    assert cmdlets.bind("Set-ReceiveConnector", "2019", {"Identity": "R", "MaxMessageSize": "50MB"})[1]["MaxMessageSize"] == 52428800


# -- behaviour ------------------------------------------------------------------------------------------------------------------------
def test_the_customised_server_reads_as_the_estate_says(ex01: Host) -> None:
    sh = shell(ex01)
    certs = {c["Subject"]: c for c in sh.invoke("Get-ExchangeCertificate", Server="EX01")}
    assert certs["CN=mail.contoso.com"]["Services"] == "IIS, SMTP" and certs["CN=EX01"]["Services"] == "IMAP, POP, SMTP"  # IIS moved
    assert not certs["CN=EX01"]["PrivateKeyExportable"] and certs["CN=mail.contoso.com"]["PrivateKeyExportable"]
    assert sh.invoke("Get-OwaVirtualDirectory", Server="EX01")[0]["ExternalUrl"] == "https://mail.contoso.com/owa"
    assert {c["Name"] for c in sh.invoke("Get-ReceiveConnector", Server="EX01")} >= {"Relay EX01", "Default Frontend EX01", "Client Proxy EX01"}
    assert sh.invoke("Get-TransportService", Identity="EX01")[0]["MaxOutboundConnections"] == "500"
    assert sh.invoke("Get-MailboxServer", Identity="EX01")[0]["DatabaseAvailabilityGroup"] == "DAG1"
    assert sh.invoke("Get-DatabaseAvailabilityGroup", Identity="DAG1")[0]["Servers"] == ["EX01", "EX02"]
    db = sh.invoke("Get-MailboxDatabase", Server="EX01")[0]
    assert db["ReplayLagTimes"] == [{"Key": {"Name": "EX01"}, "Value": "00:00:00"}, {"Key": {"Name": "EX02"}, "Value": "7.00:00:00"}]  # ADObjectId keys
    remote = shell(ex01, "remote").invoke("Get-MailboxDatabase", Server="EX01")[0]
    assert remote["ActivationPreference"] == ["[EX01, 1]", "[EX02, 2]"]  # deserialized by a remote session
    config = ex01.read_bytes(f"{INSTALL}\\Bin\\EdgeTransport.exe.config").decode()
    assert server_config.app_settings(config)["QueueDatabaseMaxConnections"] == "20"


def test_certificates_export_import_and_enable_as_documented(tmp_path: Path, ex01: Host) -> None:
    sh = shell(ex01)
    certs = {c["Subject"]: c["Thumbprint"] for c in sh.invoke("Get-ExchangeCertificate", Server="EX01")}
    with pytest.raises(cmdlets.CmdletError, match="isn't exportable"):
        sh.invoke("Export-ExchangeCertificate", Thumbprint=certs["CN=EX01"], BinaryEncoded=True, Password=PASSWORD)
    pfx = sh.invoke("Export-ExchangeCertificate", Thumbprint=certs["CN=mail.contoso.com"], BinaryEncoded=True, Password=PASSWORD)[0]["FileData"]
    other = make_host(tmp_path, "EX01", seed={"exchange": True}, domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    osh = shell(other)
    with pytest.raises(cmdlets.CmdletError, match="The specified network password is not correct"):
        osh.invoke("Import-ExchangeCertificate", FileData=pfx, Password="wrong")
    imported = osh.invoke("Import-ExchangeCertificate", FileData=pfx, Password=PASSWORD, PrivateKeyExportable=True)[0]
    assert imported["Thumbprint"] == certs["CN=mail.contoso.com"] and imported["Services"] == "None"
    with pytest.raises(cmdlets.CmdletError, match="already exists"):
        osh.invoke("Import-ExchangeCertificate", FileData=pfx, Password=PASSWORD)
    with pytest.raises(cmdlets.CmdletError, match="Overwrite the existing default SMTP certificate"):
        osh.invoke("Enable-ExchangeCertificate", Thumbprint=imported["Thumbprint"], Services="IIS, SMTP")
    osh.invoke("Enable-ExchangeCertificate", Thumbprint=imported["Thumbprint"], Services="IIS, SMTP", Force=True)
    services = {c["Subject"]: c["Services"] for c in osh.invoke("Get-ExchangeCertificate", Server="EX01")}
    assert services == {"CN=mail.contoso.com": "IIS, SMTP", "CN=EX01": "IMAP, POP, SMTP"}


def test_connectors_refuse_a_conflicting_binding_and_a_duplicate_name(ex01: Host) -> None:
    sh = shell(ex01)
    with pytest.raises(cmdlets.CmdletError, match='conflict with the settings on Receive connector "Relay EX01"'):
        sh.invoke("New-ReceiveConnector", Name="Relay 2", Bindings=["0.0.0.0:25"], RemoteIPRanges=["10.0.0.20"], Custom=True)
    with pytest.raises(cmdlets.CmdletError, match="already exists"):
        sh.invoke("New-ReceiveConnector", Name="relay ex01", Bindings=["0.0.0.0:2526"], RemoteIPRanges=["10.0.0.30"], Custom=True)
    with pytest.raises(cmdlets.CmdletError, match="couldn't be found"):
        sh.invoke("Set-ReceiveConnector", Identity="EX01\\Nope", Enabled=False)


def test_forms_authentication_also_sets_basic_and_clears_windows(tmp_path: Path) -> None:
    host = make_host(tmp_path, "EX01", seed={"exchange": True}, domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    sh = shell(host)
    sh.invoke("Set-OwaVirtualDirectory", Identity="EX01\\owa (Default Web Site)", WindowsAuthentication=True, FormsAuthentication=False)
    sh.invoke("Set-OwaVirtualDirectory", Identity="EX01\\owa (Default Web Site)", FormsAuthentication=True)
    owa = sh.invoke("Get-OwaVirtualDirectory", Identity="EX01\\owa*")[0]
    assert (owa["FormsAuthentication"], owa["BasicAuthentication"], owa["WindowsAuthentication"]) == (True, True, False)


def test_setup_leaves_its_defaults_where_the_kit_had_changes(tmp_path: Path) -> None:
    host = make_host(tmp_path, "EX01", seed={"exchange": True, "exchange_config": copy.deepcopy(CUSTOM)}, domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    server_config.install_defaults(host, "15.2.1544.4", INSTALL)  # what Setup's configuration does again
    st = server_config.state(host)
    assert st["virtual_directories"]["owa"]["settings"]["ExternalUrl"] is None
    assert "Relay EX01" not in {c["Name"] for c in st["receive_connectors"]} and st["transport"]["MaxOutboundConnections"] == "1000"
    defaults = server_config.default_config("Bin\\MSExchangeDelivery.exe.config", "15.2.1544.4")
    assert host.read_bytes(f"{INSTALL}\\Bin\\MSExchangeDelivery.exe.config").decode() == defaults


# -- the action plugins over their twins --------------------------------------------------------------------------------------------
def action(cls: type, args: dict[str, Any], *, check_mode: bool = False) -> Any:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    return cls(task, connection, MagicMock(), MagicMock(), MagicMock(), None)


def run(
    cls: type, host: Host, args: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *, check_mode: bool = False, router: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    calls: list[str] = []

    def execute(self: Any, module_name: str, module_args: dict[str, Any], task_vars: Any, **_: Any) -> dict[str, Any]:
        calls.append(module_name)
        if module_name == "exchange_dr.recovery.email_router_config":
            return copy.deepcopy(router or {"failed": True, "msg": "no router"})
        complex_args = {"_ansible_check_mode": check_mode, "_ansible_module_name": module_name, "exchange_shell": "snapin", **module_args}
        _rc, out = run_module(module_name, json.loads(json.dumps(complex_args)), host, "CONTOSO\\Administrator")
        return json.loads(out)

    monkeypatch.setattr(cls, "_execute_module", execute)
    return action(cls, args, check_mode=check_mode).run(task_vars={}), calls


def test_capture_writes_a_kit_once_and_then_says_nothing_changed(tmp_path: Path, ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"dest": str(tmp_path), "password": PASSWORD}
    check, _calls = run(capture_action.ActionModule, ex01, args, monkeypatch, check_mode=True)
    assert check["changed"] and check["kit"] is None and not (tmp_path / "EX01").exists()
    router = {"service_folder": "S", "_current_set": {"EncryptionKey.xml": {"sha256": "ab", "content": base64.b64encode(b"<Key>k</Key>").decode()}}}
    monkeypatch.setattr(ex01, "service", lambda name, _orig=ex01.service: MagicMock() if name == "MSCRMEmail" else _orig(name))
    first, calls = run(capture_action.ActionModule, ex01, args, monkeypatch, router=router)
    assert calls == ["exchange_dr.recovery.dr_kit_capture", "exchange_dr.recovery.email_router_config"]
    assert first["changed"] and first["new_version"] and Path(first["kit"]).is_dir() and first["counts"]["certificate_exports"] == 1
    assert first["counts"]["email_router_files"] == 1 and (Path(first["kit"]) / "email_router" / "EncryptionKey.xml.enc").is_file()
    assert PASSWORD not in json.dumps(first) and "_read" not in first
    again, _calls = run(capture_action.ActionModule, ex01, args, monkeypatch, router=router)
    assert not again["changed"] and again["summary"] == f"EX01: nothing changed since kit {first['version']}" and again["kit"] == first["kit"]
    assert kit.read_index(tmp_path / "EX01")["last_checked"] is not None


def test_capture_refuses_bad_input_before_the_host(tmp_path: Path, ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    for args, message in (
        ({"dest": str(tmp_path), "_tables": {}}, "_tables is set by the action plugin"),
        ({"dest": str(tmp_path), "record_baseline": True}, "record_baseline needs baseline_dir"),
        ({"dest": str(tmp_path), "config_files": ["..\\x.config"]}, "must be relative to the Exchange install folder"),
        ({"dest": str(tmp_path), "keep": "many"}, "Invalid options"),
    ):
        result, calls = run(capture_action.ActionModule, ex01, args, monkeypatch)
        assert result["failed"] and message in result["msg"] and calls == [], (args, result)


def test_apply_plans_then_applies_then_has_nothing_to_do(tmp_path: Path, ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    captured, _calls = run(capture_action.ActionModule, ex01, {"dest": str(tmp_path / "kits"), "password": PASSWORD}, monkeypatch)
    recovered = make_host(tmp_path / "recovered", "EX01", seed={"exchange": True}, domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    args = {"kit": str(tmp_path / "kits" / "EX01"), "password": PASSWORD}

    plan, calls = run(apply_action.ActionModule, recovered, args, monkeypatch, check_mode=True)
    assert calls == ["exchange_dr.recovery.dr_kit_apply"] and plan["changed"] and plan["kit_version"] == captured["version"]
    assert {s["part"] for s in plan["steps"]} == {"certificates", "virtual_directories", "receive_connectors", "transport", "config_files"}
    assert plan["warnings"] and "self-signed" in plan["warnings"][0]

    applied, calls = run(apply_action.ActionModule, recovered, args, monkeypatch)
    assert calls == ["exchange_dr.recovery.dr_kit_apply"] * 2 and applied["changed"] and {s["status"] for s in applied["steps"]} == {"done"}
    assert PASSWORD not in json.dumps(applied) and "pfx" not in json.dumps(applied["steps"])
    again, calls = run(apply_action.ActionModule, recovered, args, monkeypatch)
    assert not again["changed"] and again["steps"] == [] and calls == ["exchange_dr.recovery.dr_kit_apply"]

    missing, _calls = run(apply_action.ActionModule, recovered, {"kit": str(tmp_path / "kits" / "EX01")}, monkeypatch)
    assert not missing.get("failed")  # nothing left to import: the password is not needed any more


def test_apply_before_the_recovery_plans_from_the_kit_in_check_mode_and_refuses_for_real(tmp_path: Path, ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    run(capture_action.ActionModule, ex01, {"dest": str(tmp_path / "kits"), "password": PASSWORD}, monkeypatch)
    bare = make_host(tmp_path / "bare", "EX01", domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    args = {"kit": str(tmp_path / "kits" / "EX01"), "password": PASSWORD}
    plan, _calls = run(apply_action.ActionModule, bare, args, monkeypatch, check_mode=True)
    assert plan["changed"] and plan["summary"].startswith("after the recovery, would re-apply up to") and not plan.get("failed")
    real, _calls = run(apply_action.ActionModule, bare, args, monkeypatch)
    assert real["failed"] and "recover it first" in real["msg"]


def test_a_failed_step_is_reported_and_the_others_still_run(tmp_path: Path, ex01: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    run(capture_action.ActionModule, ex01, {"dest": str(tmp_path / "kits"), "password": PASSWORD}, monkeypatch)
    recovered = make_host(tmp_path / "recovered", "EX01", seed={"exchange": True}, domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    shell(recovered).invoke("New-ReceiveConnector", Name="Blocker", Bindings=["0.0.0.0:25"], RemoteIPRanges=["10.0.0.20"], Custom=True)
    result, _calls = run(apply_action.ActionModule, recovered, {"kit": str(tmp_path / "kits" / "EX01"), "password": PASSWORD}, monkeypatch)
    assert result["failed"] and "1 of" in result["msg"] and 'Receive connector "Blocker"' in result["msg"]
    statuses = {s["part"]: s["status"] for s in result["steps"]}
    assert statuses["receive_connectors"] == "failed" and statuses["virtual_directories"] == "done" and statuses["config_files"] == "done"
