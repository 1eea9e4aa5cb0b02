"""win_service and win_service_info against a real simulated host."""

from __future__ import annotations

import pytest
from _twin_host import call, make_host


@pytest.fixture
def host(tmp_path):
    h = make_host(tmp_path)
    h.create_service("Base", "Base Service", "C:\\base.exe", "manual")
    h.create_service("App", "Contoso App", "C:\\app.exe", "manual", dependencies=["Base"])
    return h


def test_start_check_real_idempotent(host):
    rc, out = call(host, "ansible.windows.win_service", check=True, name="App", state="started", start_mode="auto")
    assert (rc, out["changed"], out["state"], out["start_mode"]) == (0, True, "running", "auto")
    assert host.service("App").state == "stopped" and host.service("App").start_mode == "manual"
    rc, out = call(host, "ansible.windows.win_service", name="App", state="started", start_mode="auto")
    assert out["changed"] is True
    assert host.service("App").state == "running" and host.service("Base").state == "running"
    assert host.service("App").start_mode == "auto"
    assert call(host, "ansible.windows.win_service", name="Contoso App", state="started", start_mode="auto")[1]["changed"] is False


def test_stop_with_running_dependents_needs_force(host):
    host.start_service("App")
    rc, out = call(host, "ansible.windows.win_service", name="Base", state="stopped")
    assert rc == 1 and "because it has dependent services" in out["msg"]
    rc, out = call(host, "ansible.windows.win_service", name="Base", state="stopped", force_dependent_services=True)
    assert out["changed"] is True and host.service("App").state == "stopped"


def test_create_needs_path_and_absent_removes(host):
    _rc, out = call(host, "ansible.windows.win_service", name="New", state="stopped")
    assert out["msg"] == "Service 'New' is not installed, need to set 'path' to create a new service"
    _rc, out = call(host, "ansible.windows.win_service", check=True, name="New", path="C:\\new.exe")
    assert out["changed"] is True and host.service("New") is None
    _rc, out = call(host, "ansible.windows.win_service", name="New", path="C:\\new.exe", display_name="New One")
    assert out["changed"] is True and out["display_name"] == "New One"
    assert host.service("New").start_mode == "auto"  # New-Service's default StartupType
    assert call(host, "ansible.windows.win_service", name="New", state="absent")[1]["changed"] is True
    assert host.service("New") is None


def test_password_is_no_log_and_account_change(host):
    host.state.accounts["win01\\svc"] = type(host.state.accounts["win01\\administrator"])("WIN01\\svc", "pw")
    rc, out = call(host, "ansible.windows.win_service", diff=True, name="App", username=".\\svc", password="S3cret!")
    assert out["changed"] is True
    assert out["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert out["diff"]["after"]["password"] == "CHANGED REDACTED"
    assert host.service("App").account == "WIN01\\svc"
    rc, out = call(host, "ansible.windows.win_service", name="App", username="nobody")
    assert rc == 1 and "could not be translated" in out["msg"]


def test_unmodelled_options_are_refused(host):
    _rc, out = call(host, "ansible.windows.win_service", name="App", error_control="severe")
    assert out["msg"] == "simulator: win_service option(s) error_control are not modelled"


def test_service_info(host):
    host.start_service("App")
    _rc, out = call(host, "ansible.windows.win_service_info", name="app")
    assert out["exists"] is True
    info = out["services"][0]
    assert (info["name"], info["state"], info["dependencies"], info["controls_accepted"]) == ("App", "started", ["Base"], ["stop"])
    assert call(host, "ansible.windows.win_service_info", name="Bas*")[1]["services"][0]["dependency_of"] == ["App"]
    assert len(call(host, "ansible.windows.win_service_info")[1]["services"]) == 2
    assert call(host, "ansible.windows.win_service_info", name="nope")[1] == {
        "changed": False,
        "exists": False,
        "services": [],
        "invocation": {"module_args": {"name": "nope"}},
    }
