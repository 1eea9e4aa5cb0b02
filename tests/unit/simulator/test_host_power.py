"""Reboot, boot-time work, pending-reboot flags, power off/on, the event log and the simulated clock."""

from __future__ import annotations

import time

import pytest

from simulator import programs
from simulator.clock import Clock, VirtualWall
from simulator.estate import load_host
from simulator.host import CBS_REBOOT_PENDING, SESSION_MANAGER
from simulator.testing import make_host
from simulator.winerror import WinError

BOOT_LOG: list[tuple[str, dict]] = []


@programs.boot_hook("test_boot_hook")
def _hook(host, args) -> None:
    BOOT_LOG.append((host.name, args))
    host.write_bytes(r"C:\booted.txt", args["text"].encode())


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path, time_scale=0.001, reboot_seconds=600)


def wait_until_up(host, limit: float = 3600, step: float = 5) -> None:
    """Let simulated time pass, `step` seconds at a time, until the host answers (make_host's clock moves only while we wait)."""
    t0 = host.clock.time()
    while not host.is_up():
        assert host.clock.time() - t0 < limit, "host did not come back"
        host.clock.sleep(step)


def test_reboot_takes_the_host_down_and_moves_boot_time(host) -> None:
    boot = host.boot_time
    t0 = host.clock.time()
    host.reboot()
    assert not host.is_up()
    assert host.state.power == "rebooting"
    host.clock.sleep(599)
    assert not host.is_up()  # down for reboot_seconds of simulated time
    wait_until_up(host)
    assert host.boot_time > boot
    assert host.boot_time.timestamp() - t0 == pytest.approx(600, abs=0.01)
    logs = [(e.source, e.event_id) for e in host.events("System")]
    assert logs[-3:-1] == [("User32", 1074), ("EventLog", 6006)] or ("EventLog", 6006) in logs
    assert ("EventLog", 6005) in logs
    assert host.reg_key_exists(r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked")


def test_a_delayed_reboot_keeps_answering_until_it_starts(host) -> None:
    host.reboot(delay_s=3600)
    assert host.is_up()
    assert host.reboot_pending_at is not None
    with pytest.raises(WinError) as e:
        host.reboot()
    assert e.value.code == 1190
    assert host.abort_shutdown() is True
    assert host.reboot_pending_at is None
    assert host.abort_shutdown() is False


def test_boot_applies_pending_work_and_clears_the_flags(host) -> None:
    host.write_bytes(r"C:\old.dll", b"old")
    host.write_bytes(r"C:\new.dll", b"new")
    host.schedule_file_rename(r"C:\new.dll", r"C:\old.dll")
    host.write_bytes(r"C:\gone.tmp", b"x")
    host.schedule_file_rename(r"C:\gone.tmp", None)
    host.set_pending_reboot("windows_update")
    host.reg_set_value(r"HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName", "ComputerName", "EX01")
    assert host.pending_reboot() == {"component_based_servicing": False, "windows_update": True, "pending_file_rename": True, "computer_rename": True}
    host.register_on_boot("test_boot_hook", {"text": "hello"})
    host.reboot()
    wait_until_up(host)
    assert not any(host.pending_reboot().values())
    assert host.read_bytes(r"C:\old.dll") == b"new"
    assert not host.exists(r"C:\new.dll") and not host.exists(r"C:\gone.tmp")
    assert host.read_bytes(r"C:\booted.txt") == b"hello"
    assert (host.name, {"text": "hello"}) in BOOT_LOG
    assert host.state.on_boot == []


def test_automatic_services_start_at_boot_respecting_faults(tmp_path) -> None:
    host = make_host(tmp_path, time_scale=0.0005, faults=[{"name": "service_wont_start", "target": "Spooler"}])
    host.create_service("Slow", "Slow Auto", "x.exe", "auto", start_seconds=40)
    host.create_service("Later", "Delayed Auto", "y.exe", "delayed")
    host.create_service("Hand", "Manual One", "z.exe", "manual")
    host.reboot()
    wait_until_up(host)
    assert host.service("WinRM").state == "running"
    assert host.service("Spooler").state == "stopped"  # the fault keeps it down: 7009 + 7000 logged
    assert any("Print Spooler" in e.message for e in host.events("System", event_id=7000))
    assert host.service("Hand").state == "stopped"
    host.clock.sleep(125)
    assert host.service("Slow").state == "running"
    assert host.service("Later").state == "running"
    boot = host.boot_time.timestamp()
    started = {e.message.split(" service ")[0][4:]: e.time - boot for e in host.events("System", event_id=7036, since=boot - 0.001)}
    assert started["Slow Auto"] == pytest.approx(40, abs=1e-3)  # its start_seconds after boot
    assert started["Delayed Auto"] == pytest.approx(120, abs=1e-3)  # delayed-auto services start about two minutes after boot
    assert started["Windows Remote Management (WS-Management)"] == pytest.approx(0, abs=1e-3)


def test_power_off_and_on(host) -> None:
    host.power_off()
    assert not host.is_up()
    host.clock.sleep(100)
    assert not host.is_up()  # a lost host stays down
    host.power_on()
    wait_until_up(host)
    assert host.service("WinRM").state == "running"


def test_a_reboot_survives_a_server_restart(tmp_path) -> None:
    host = make_host(tmp_path, time_scale=0.001, reboot_seconds=30)
    host.register_on_boot("test_boot_hook", {"text": "after restart"})
    host.reboot()
    del host  # the server stops mid-reboot
    again = load_host(tmp_path, "WIN01")  # a new process reading state.json: the reboot carries on from where it was
    wait_until_up(again)
    assert again.read_bytes(r"C:\booted.txt") == b"after restart"


def test_event_log_queries(host) -> None:
    host.write_event("Application", "MSCRMEmail", 16192, "Error", "#16192 - cannot access system state file")
    host.write_event("Application", "Other", 1, "Information", "x")
    host.clock.sleep(1)
    since = host.clock.now()
    host.write_event("application", "MSCRMEmail", 61042, "Warning", "#61042 outgoing")
    assert [e.event_id for e in host.events("Application", source="mscrmemail")] == [16192, 61042]
    assert [e.event_id for e in host.events("Application", since=since)] == [61042]
    assert host.events("Application")[-1].record_id == 3
    with pytest.raises(ValueError):
        host.write_event("Application", "x", 1, "Loud", "x")


def test_pending_reboot_reads_the_real_locations(host) -> None:
    host.reg_create_key(CBS_REBOOT_PENDING)
    host.reg_set_value(SESSION_MANAGER, "PendingFileRenameOperations", [r"\??\C:\a", ""], "REG_MULTI_SZ")
    flags = host.pending_reboot()
    assert flags["component_based_servicing"] and flags["pending_file_rename"]
    assert host.reboot_required()


def test_clock_runs_fast_only_while_something_waits() -> None:
    wall = VirtualWall()  # real time that passes only when slept on: the rates are checked exactly, whatever the CPU does
    clock = Clock(time_scale=0.002, wall=wall)
    t0, r0 = clock.time(), wall.time()
    clock.sleep(100)
    assert clock.time() - t0 == pytest.approx(100, abs=0.5)
    assert wall.time() - r0 == pytest.approx(0.2, abs=0.001)  # 100 simulated seconds at time_scale 0.002
    t1 = clock.time()
    wall.sleep(0.05)  # time passes while nothing waits
    assert clock.time() - t1 == pytest.approx(0.05, abs=1e-6)  # back to wall-clock rate


def test_clock_now_is_never_after_time() -> None:
    clock = Clock(wall=VirtualWall(start=1_700_000_000.0000007))  # datetime would round this up to .000001
    assert clock.now().timestamp() <= clock.time()
    assert clock.time() - clock.now().timestamp() < 1e-6


def test_clock_sleep_on_the_system_clock_reaches_its_deadline() -> None:
    clock = Clock(time_scale=0.002)
    t0 = clock.time()
    clock.sleep(100)
    assert clock.time() - t0 >= 100


def test_clock_concurrent_waits_are_not_added_up() -> None:
    import threading

    clock = Clock(time_scale=0.004)
    spans: dict[int, tuple[float, float]] = {}

    def wait(index: int) -> None:
        start = clock.time()
        clock.sleep(50)
        spans[index] = (start, clock.time())

    threads = [threading.Thread(target=wait, args=(index,)) for index in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(end - start >= 50 for start, end in spans.values())
    # the waits overlap: everything is over 50 s after the last one began (plus the wall-clock time it took to notice),
    # never 4 x 50 s; measured from the last start, so a thread that starts late under load cannot make it fail
    assert max(end for _start, end in spans.values()) - max(start for start, _end in spans.values()) < 100


def test_clock_persists(tmp_path) -> None:
    path = tmp_path / "clock.json"
    clock = Clock(0.0001, path=path)
    clock.sleep(3600)
    again = Clock.load(path, 0.0001)
    assert again.time() - time.time() > 3500  # an hour ahead of the wall clock, as the estate was


def test_an_unexpected_restart_ends_processes_and_is_logged_at_boot(host) -> None:
    boot = host.boot_time
    pid = host.start_process(r"C:\Tools\long.exe", "long.exe", "Administrator")
    assert any(s.state == "running" for s in host.services())
    host.restart_unexpectedly()
    assert not host.is_up() and not host.process_alive(pid)
    assert all(s.state == "stopped" for s in host.services())
    wait_until_up(host)
    events = [(e.source, e.event_id, e.level) for e in host.events("System", since=boot)]
    assert ("EventLog", 6008, "Error") in events and ("Microsoft-Windows-Kernel-Power", 41, "Critical") in events
    assert not any(e[1] in (1074, 6006) for e in events)
    message = next(e.message for e in host.events("System", event_id=6008))
    assert message.startswith("The previous system shutdown at ") and message.endswith(" was unexpected.")
