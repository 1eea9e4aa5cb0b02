"""Services modelled on the SCM: lookups, dependencies, Win32 errors and messages, SCM events, slow starts, faults."""

from __future__ import annotations

import pytest

from simulator.testing import make_host
from simulator.winerror import WinError


@pytest.fixture
def host(tmp_path):
    h = make_host(tmp_path, time_scale=0.001)
    h.create_service("Base", "Base Service", r"C:\svc\base.exe", "manual")
    h.create_service("App", "Contoso App", r"C:\svc\app.exe", "auto", dependencies=["Base"])
    return h


def scm_events(host, event_id: int) -> list[str]:
    return [e.message for e in host.events("System", source="Service Control Manager", event_id=event_id)]


def test_lookup_by_name_or_display_name(host) -> None:
    assert host.service("app").name == "App"
    assert host.service("contoso APP").name == "App"
    assert host.service("nope") is None
    with pytest.raises(WinError) as e:
        host.start_service("nope")
    assert e.value.code == 1060
    assert e.value.message.startswith("The specified service does not exist as an installed service.")


def test_install_event_7045(host) -> None:
    assert any("Service Name:  Contoso App" in m for m in scm_events(host, 7045))


def test_dependencies_start_first_and_7036_is_logged(host) -> None:
    host.start_service("App")
    assert host.service("Base").state == "running"
    assert host.service("App").state == "running"
    running = scm_events(host, 7036)
    assert running[-2:] == ["The Base Service service entered the running state.", "The Contoso App service entered the running state."]


def test_scm_error_codes(host) -> None:
    host.start_service("App")
    with pytest.raises(WinError) as e:
        host.start_service("App")
    assert e.value.code == 1056
    with pytest.raises(WinError) as e:
        host.stop_service("Base")
    assert e.value.code == 1051  # App depends on it
    assert host.stop_service("Base", force=True) == ["App", "Base"]
    with pytest.raises(WinError) as e:
        host.stop_service("Base")
    assert e.value.code == 1062
    host.set_service("Base", start_mode="disabled")
    with pytest.raises(WinError) as e:
        host.start_service("Base")
    assert (e.value.code, e.value.message) == (
        1058,
        "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.",
    )
    with pytest.raises(WinError) as e:
        host.start_service("App")
    assert e.value.code == 1068
    assert "The Contoso App service depends on the Base Service service which failed to start" in scm_events(host, 7001)[-1]
    with pytest.raises(WinError) as e:
        host.create_service("app")
    assert e.value.code == 1073


def test_start_type_change_logs_7040(host) -> None:
    assert host.set_service("Base", start_mode="auto") is True
    assert host.set_service("Base", start_mode="auto") is False
    assert scm_events(host, 7040)[-1] == "The start type of the Base Service service was changed from demand start to auto start."


def test_slow_start_takes_simulated_time(tmp_path) -> None:
    host = make_host(tmp_path, time_scale=0.004)
    host.create_service("Slow", "Slow One", "x.exe", "manual", start_seconds=50)
    t0_sim, t0_wall = host.clock.time(), host.clock.wall.time()
    host.start_service("Slow", wait=False)
    assert host.service("Slow").state == "start_pending"
    host.start_service("Slow")  # Start-Service waits for RUNNING
    assert host.service("Slow").state == "running"
    assert host.clock.time() - t0_sim == pytest.approx(50, abs=1)
    assert host.clock.wall.time() - t0_wall == pytest.approx(0.2, abs=0.01)  # 50 s at time_scale 0.004: a fifth of a second of wall time


def test_service_wont_start_fault(tmp_path) -> None:
    host = make_host(tmp_path, time_scale=0.0005, faults=[{"name": "service_wont_start", "target": "Spooler"}])
    host.stop_service("Spooler")
    t0 = host.clock.time()
    with pytest.raises(WinError) as e:
        host.start_service("spooler")
    assert e.value.code == 1053
    assert host.clock.time() - t0 >= 30  # the SCM's 30 s connect timeout passed
    assert host.service("Spooler").state == "stopped"
    assert scm_events(host, 7009)[-1] == "A timeout was reached (30000 milliseconds) while waiting for the Print Spooler service to connect."
    assert scm_events(host, 7000)[-1] == (
        "The Print Spooler service failed to start due to the following error: \r\n"
        "The service did not respond to the start or control request in a timely fashion."
    )


def test_service_stops_after_start_fault(tmp_path) -> None:
    host = make_host(tmp_path, time_scale=0.001, faults=[{"name": "service_stops_after_start", "target": "W32Time", "params": {"seconds": 600}}])
    host.stop_service("W32Time")
    host.start_service("W32Time")
    assert host.service("W32Time").state == "running"
    host.clock.sleep(601)
    assert host.service("W32Time").state == "stopped"
    assert scm_events(host, 7034)[-1] == "The Windows Time service terminated unexpectedly.  It has done this 1 time(s)."


def test_pause_and_resume(host) -> None:
    host.start_service("Base")
    with pytest.raises(WinError) as e:
        host.pause_service("Base")
    assert e.value.code == 1052
    host.set_service("Base", can_pause=True)
    host.pause_service("Base")
    assert host.service("Base").state == "paused"
    host.resume_service("Base")
    assert host.service("Base").state == "running"


def test_delete_and_keep_password(host) -> None:
    host.set_service("App", account="CONTOSO\\svc", password="pw")
    assert host.service("App").password == "pw"
    host.delete_service("App")
    assert host.service("App") is None


def test_baseline_services(host) -> None:
    winrm = host.service("WinRM")
    assert (winrm.display_name, winrm.start_mode, winrm.state) == ("Windows Remote Management (WS-Management)", "auto", "running")
    assert host.service("NetTcpPortSharing").start_mode == "disabled"
    assert host.service("Netlogon") is None  # not domain joined
