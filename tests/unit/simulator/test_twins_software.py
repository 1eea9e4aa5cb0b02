"""win_package (MSI through msiexec, setup.exe installers) and win_feature against a real simulated host."""

from __future__ import annotations

import pytest
from _twin_host import call, make_host

from simulator.programs import marker

CODE = "{11111111-2222-3333-4444-555555555555}"


@pytest.fixture
def host(tmp_path):
    h = make_host(tmp_path)
    h.mkdir("C:\\Media")
    h.write_bytes("C:\\Media\\app.msi", marker("msi", {"product_code": CODE, "name": "Contoso App", "version": "1.0.0"}))
    h.write_bytes("C:\\Media\\reboot.msi", marker("msi", {"product_code": "{AAAAAAAA-0000-0000-0000-000000000000}", "name": "R", "reboot": True}))
    setup = {"product": {"code": "ContosoTool", "name": "Contoso Tool", "version": "2.0"}, "quiet_switch": "/quiet"}
    h.write_bytes("C:\\Media\\setup.exe", marker("exe_installer", setup))
    return h


def test_msi_check_real_idempotent(host):
    rc, out = call(host, "ansible.windows.win_package", check=True, path="C:\\Media\\app.msi")
    assert (rc, out["changed"], out["reboot_required"], out["rc"]) == (0, True, False, 0)
    assert host.product(CODE) is None
    rc, out = call(host, "ansible.windows.win_package", path="C:\\Media\\app.msi")
    assert (rc, out["changed"], out["rc"]) == (0, True, 0)
    assert host.product(CODE).name == "Contoso App"
    assert call(host, "ansible.windows.win_package", path="C:\\Media\\app.msi")[1]["changed"] is False
    assert call(host, "ansible.windows.win_package", product_id=CODE, state="absent")[1]["changed"] is True
    assert host.product(CODE) is None


def test_msi_3010_sets_reboot_required(host):
    rc, out = call(host, "ansible.windows.win_package", path="C:\\Media\\reboot.msi")
    assert (rc, out["rc"], out["reboot_required"]) == (0, 3010, True)
    assert host.reboot_required()


def test_expected_return_code_limits_success(host):
    rc, out = call(host, "ansible.windows.win_package", path="C:\\Media\\reboot.msi", expected_return_code=[0])
    assert rc == 1 and out["rc"] == 3010
    assert out["msg"].startswith("unexpected rc from '") and "msiexec.exe /i C:\\Media\\reboot.msi" in out["msg"]


def test_exe_installer_with_product_id_and_arguments(host):
    args = {"path": "C:\\Media\\setup.exe", "product_id": "ContosoTool", "arguments": "/quiet"}
    assert call(host, "ansible.windows.win_package", check=True, **args)[1]["changed"] is True
    rc, out = call(host, "ansible.windows.win_package", **args)
    assert (rc, out["changed"]) == (0, True)
    assert host.product("ContosoTool") is not None
    assert call(host, "ansible.windows.win_package", **args)[1]["changed"] is False
    rc, out = call(host, "ansible.windows.win_package", product_id="ContosoTool", state="absent")
    assert (rc, out["changed"]) == (0, True)
    assert host.product("ContosoTool") is None


def test_exe_installer_failure_reports_output(host):
    rc, out = call(host, "ansible.windows.win_package", path="C:\\Media\\setup.exe", product_id="ContosoTool")
    assert rc == 1 and out["rc"] == 1602 and "needs a user interface" in out["stderr"]


def test_creates_path_and_unreachable_path(host):
    host.write_bytes("C:\\marker.txt", b"")
    assert call(host, "ansible.windows.win_package", path="C:\\Media\\setup.exe", creates_path="C:\\marker.txt")[1]["changed"] is False
    _rc, out = call(host, "ansible.windows.win_package", path="C:\\Nope\\x.msi")
    assert out["msg"] == "the file at the path 'C:\\Nope\\x.msi' cannot be reached"


def test_checksum_is_upper_case_and_verified(host):
    rc, out = call(host, "ansible.windows.win_package", path="C:\\Media\\app.msi", checksum="abc")
    assert rc == 1 and out["msg"].startswith("The checksum for C:\\Media\\app.msi did not match 'abc', it was '")
    assert host.product(CODE) is None


def test_feature_check_real_idempotent(host):
    name = "Web-Server"
    rc, out = call(host, "ansible.windows.win_feature", check=True, name=name)
    assert (rc, out["changed"], out["success"]) == (0, True, True)
    assert not host.feature(name).installed
    rc, out = call(host, "ansible.windows.win_feature", name=name)
    assert out["changed"] is True and out["exitcode"] in ("Success", "SuccessRestartRequired")
    assert host.feature(name).installed
    rc, out = call(host, "ansible.windows.win_feature", name=name)
    assert (out["changed"], out["exitcode"], out["feature_result"]) == (False, "NoChangeNeeded", [])


def test_feature_unknown_name(host):
    rc, out = call(host, "ansible.windows.win_feature", name="No-Such-Feature")
    assert rc == 1
    assert (
        out["msg"] == "Failed to install Windows Feature: ArgumentNotValid: The role, role service, or feature name is not valid: "
        "'No-Such-Feature'. The name was not found."
    )
