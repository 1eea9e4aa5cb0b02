"""Installed products (mirrored in the Uninstall keys) and Windows features (catalogue, parents, defaults, restarts)."""

from __future__ import annotations

import pytest

from simulator.host_software import UNINSTALL, UNINSTALL_WOW
from simulator.hoststate import Product
from simulator.testing import make_host
from simulator.winerror import WinError
from simulator.winfeatures import catalogue


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path)


def test_products_live_in_the_uninstall_keys(host) -> None:
    code = "{23170F69-40C1-2702-2301-000001000000}"
    assert host.install_product(Product(code, "7-Zip", "23.01.00.0", "Igor Pavlov", r"C:\Program Files\7-Zip")) is True
    key = host.reg_get_key(rf"{UNINSTALL}\{code}")
    assert key.value("DisplayName").data == "7-Zip"
    # Windows Installer's UninstallString reconfigures (/I) unless the package sets ARPNOMODIFY (arpnomodify.md)
    assert key.value("UninstallString").data == f"MsiExec.exe /I{code}"
    assert key.value("NoModify") is None
    assert key.value("WindowsInstaller").data == 1
    assert (key.value("VersionMajor").data, key.value("VersionMinor").data) == (23, 1)
    assert len(key.value("InstallDate").data) == 8
    assert host.product(code.lower()).version == "23.01.00.0"
    assert host.install_product(Product(code, "7-Zip", "23.01.00.0", "Igor Pavlov", r"C:\Program Files\7-Zip")) is False
    host.remove_product(code)
    assert host.product(code) is None
    with pytest.raises(WinError) as e:
        host.remove_product(code)
    assert e.value.code == 1605


def test_arpnomodify_records_a_removing_uninstall_string(host) -> None:
    code = "{11111111-2222-3333-4444-555555555555}"
    host.install_product(Product(code, "Tool", "1.0", no_modify=True))
    key = host.reg_get_key(rf"{UNINSTALL}\{code}")
    assert key.value("UninstallString").data == f"MsiExec.exe /X{code}"
    assert key.value("NoModify").data == 1
    assert host.product(code).no_modify is True


def test_x86_products_are_under_wow6432node_and_keys_without_displayname_are_hidden(host) -> None:
    host.install_product(Product("{AAAA}", "Old Tool", "1.0", arch="x86", msi=False, uninstall_string=r"C:\x\unins.exe"))
    assert host.reg_key_exists(rf"{UNINSTALL_WOW}\{{AAAA}}")
    assert host.products()["{AAAA}"].arch == "x86"
    host.reg_create_key(rf"{UNINSTALL}\KB123456")  # an update entry without DisplayName
    assert "KB123456" not in host.products()


def test_feature_catalogue_per_version() -> None:
    r2 = catalogue(9600)
    assert "as-http-activation" in r2 and "desktop-experience" in r2
    s2019 = catalogue(17763)
    assert "as-http-activation" not in s2019 and "desktop-experience" not in s2019
    assert s2019["net-framework-45-features"].display_name == ".NET Framework 4.7 Features"
    assert "powershell-v2" not in catalogue(26100)
    assert "web-mgmt-console" not in catalogue(17763, server_core=True)
    exchange_web_set = {"web-server", "web-asp-net45", "web-lgcy-mgmt-console", "rpc-over-http-proxy", "server-media-foundation", "rsat-adds"}
    for build in (9600, 14393, 17763, 20348, 26100):
        assert exchange_web_set <= set(catalogue(build))


def test_fresh_server_features(host) -> None:
    assert host.feature("NET-Framework-45-Core").installed
    assert host.feature("net-framework-core").install_state == "Removed"  # payload removed from the image
    assert not host.feature("Web-Server").installed


def test_installing_a_sub_feature_installs_parents_and_a_role_its_defaults(host) -> None:
    result = host.install_features(["Web-Asp-Net45"])
    assert result.success and result.exit_code == "Success" and not result.reboot_required
    names = {c.name for c in result.changes}
    assert {"Web-Server", "Web-WebServer", "Web-App-Dev", "Web-Asp-Net45", "Web-Net-Ext45", "NET-Framework-45-ASPNET", "Web-ISAPI-Ext"} <= names
    assert {"Web-Static-Content", "Web-Default-Doc"} <= names  # Web-Server's default role services
    assert "Web-Dyn-Compression" not in names
    assert host.service("W3SVC").state == "running"
    assert host.install_features(["web-asp-net45"]).exit_code == "NoChangeNeeded"


def test_include_sub_features_and_management_tools(host) -> None:
    names = {c.name for c in host.install_features(["Web-Security"], include_sub_features=True).changes}
    assert {"Web-Basic-Auth", "Web-Windows-Auth", "Web-Digest-Auth"} <= names
    names = {c.name for c in host.install_features(["Failover-Clustering"], include_management_tools=True).changes}
    assert {"Failover-Clustering", "RSAT-Clustering-PowerShell", "RSAT-Clustering-Mgmt"} <= names


def test_a_restart_needing_feature_stays_pending_until_reboot(host) -> None:
    result = host.install_features(["Server-Media-Foundation"])
    assert result.exit_code == "SuccessRestartRequired" and result.reboot_required
    feature = host.feature("Server-Media-Foundation")
    assert (feature.install_state, feature.installed) == ("InstallPending", False)
    assert host.pending_reboot()["component_based_servicing"]
    host.reboot()
    host.clock.sleep(host.reboot_seconds + 1)
    assert host.feature("Server-Media-Foundation").install_state == "Installed"
    assert not host.pending_reboot()["component_based_servicing"]


def test_what_if_changes_nothing(host) -> None:
    before = host.state.to_dict()
    result = host.install_features(["Web-Server"], what_if=True)
    assert result.changed and "Web-Server" in {c.name for c in result.changes}
    assert host.state.to_dict() == before
    assert not host.feature("Web-Server").installed
    host.install_features(["Web-Server"])
    assert host.remove_features(["Web-Server"], what_if=True).changed
    assert host.feature("Web-Server").installed


def test_removal_takes_sub_features_and_dependents(host) -> None:
    host.install_features(["Web-Asp-Net45", "Web-Metabase"])
    result = host.remove_features(["Web-Server"])
    names = {c.name for c in result.changes}
    assert {"Web-Server", "Web-Asp-Net45", "Web-Metabase"} <= names
    assert host.service("W3SVC") is None and host.service("IISADMIN") is None
    assert host.feature("NET-Framework-45-ASPNET").installed  # a requirement, not a dependent: it stays


def test_feature_errors(host) -> None:
    with pytest.raises(WinError) as e:
        host.install_features(["No-Such-Feature"])
    assert "The role, role service, or feature name is not valid: 'No-Such-Feature'" in e.value.message
    with pytest.raises(WinError) as e:
        host.install_features(["NET-Framework-Core"])
    assert e.value.code == 0x800F081F
    host.mkdir(r"D:\sources\sxs") if host.exists("D:\\") else host.mkdir(r"C:\sources\sxs")
    assert host.install_features(["NET-Framework-Core"], source=r"C:\sources\sxs").success


def test_gui_features_are_absent_on_server_core(tmp_path) -> None:
    core = make_host(tmp_path, seed={})
    core.state.os["installation_type"] = "Server Core"
    assert core.feature("Web-Mgmt-Console") is None
    with pytest.raises(WinError):
        core.install_features(["Web-Mgmt-Console"])


def test_exchange_profile(tmp_path) -> None:
    exchange = {"version": "15.1.2507.6", "roles": ["Mailbox"], "install_path": r"D:\Exchange"}
    host = make_host(tmp_path, "EX01", drives={"C": {"size_gb": 100}, "D": {"size_gb": 200}}, seed={"exchange": exchange})
    setup = host.reg_get_key(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup")
    assert setup.value("MsiInstallPath").data == "D:\\Exchange\\"
    assert (setup.value("MsiProductMinor").data, setup.value("MsiBuildMajor").data) == (1, 2507)
    mailbox = host.reg_get_key(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole")
    assert mailbox.value("ConfiguredVersion").data == "15.1.2507.6"
    assert host.reg_key_exists(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\UnifiedMessagingRole")  # 2016 has UM
    product = host.product("{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}")
    assert product.install_date and product.version == "15.1.2507.6"
    assert host.service("MSExchangeUM").state == "running"
    assert host.service("MSExchangeMitigation") is not None  # 2016 CU22+
    assert host.service("MSExchangeADTopology").dependencies == ["NetTcpPortSharing"]
    assert host.service("NetTcpPortSharing").start_mode == "auto"
    assert host.env()["ExchangeInstallPath"] == "D:\\Exchange\\"
    assert host.file_version(r"D:\Exchange\Bin\ExSetup.exe") == "15.1.2507.6"
    assert host.feature("Server-Media-Foundation").installed
    assert host.reg_get_value(r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full", "Release").data >= 528040
