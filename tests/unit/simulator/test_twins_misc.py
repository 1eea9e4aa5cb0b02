"""win_ping, win_command, async_status and setup (gather_facts) against a real simulated host."""

from __future__ import annotations

import json

import pytest
from _twin_host import call, make_host


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path)


def test_win_ping(host):
    assert call(host, "ansible.windows.win_ping")[1]["ping"] == "pong"
    rc, out = call(host, "ansible.windows.win_ping", data="crash")
    assert (rc, out["msg"]) == (1, "Unhandled exception while executing module: boom")


def test_win_command_runs_through_host_programs(host):
    rc, out = call(host, "ansible.windows.win_command", _raw_params="hostname")
    assert (rc, out["changed"], out["rc"], out["stdout"].strip()) == (0, True, 0, "WIN01")
    assert out["cmd"] == "hostname"
    assert {"start", "end", "delta", "stderr"} <= set(out)


def test_win_command_argv_and_nonzero_rc(host):
    rc, out = call(host, "ansible.windows.win_command", argv=["cmd.exe", "/c", "exit 3"])
    assert (rc, out["rc"], out["msg"]) == (1, 3, "non-zero return code")
    assert out["cmd"] == 'C:\\Windows\\System32\\cmd.exe /c "exit 3"'  # Resolve-ExecutablePath found it on PATH


def test_win_command_creates_skips_and_check_mode_is_unsupported(host):
    host.write_bytes("C:\\done.txt", b"")
    _rc, out = call(host, "ansible.windows.win_command", cmd="whoami", creates="C:\\done.txt")
    assert (out["skipped"], out["msg"], out["changed"]) == (True, "skipped, since C:\\done.txt exists", False)
    _rc, out = call(host, "ansible.windows.win_command", check=True, cmd="whoami")
    assert out["skipped"] is True and out["msg"] == "remote module (ansible.windows.win_command) does not support check mode"


def test_win_command_missing_program(host):
    rc, out = call(host, "ansible.windows.win_command", cmd="nosuch.exe /x")
    assert rc == 1 and out["rc"] == 2
    assert out["msg"].startswith("Failed to run: 'nosuch.exe /x': CreateProcessW() failed (The system cannot find the file specified")


def test_async_status_reads_job_files(host):
    async_dir = "C:\\Users\\Administrator\\.ansible_async"
    host.mkdir(async_dir)
    host.write_bytes(f"{async_dir}\\j1.1", json.dumps({"started": True, "finished": False, "ansible_job_id": "j1.1"}).encode())
    rc, out = call(host, "ansible.windows.async_status", jid="j1.1", _async_dir="%USERPROFILE%\\.ansible_async")
    assert (rc, out["finished"], out["started"]) == (0, False, True)
    host.write_bytes(f"{async_dir}\\j1.1", b"\xef\xbb\xbf" + json.dumps({"rc": 0, "changed": True, "finished": True, "started": True}).encode())
    assert call(host, "ansible.windows.async_status", jid="j1.1", _async_dir=async_dir)[1]["finished"] is True
    rc, out = call(host, "ansible.windows.async_status", jid="j1.1", _async_dir=async_dir, mode="cleanup")
    assert out["erased"] == f"{async_dir}\\j1.1" and not host.exists(f"{async_dir}\\j1.1")
    rc, out = call(host, "ansible.windows.async_status", jid="j9", _async_dir=async_dir)
    assert rc == 1 and out["msg"] == f"could not find job at '{async_dir}'"


def test_setup_facts(host):
    rc, out = call(host, "ansible.windows.setup", gather_subset=["all"], gather_timeout=10)
    facts = out["ansible_facts"]
    assert rc == 0 and facts["module_setup"] is True
    assert facts["ansible_os_family"] == "Windows"
    assert facts["ansible_distribution"] == "Microsoft Windows Server 2019 Datacenter"
    assert facts["ansible_distribution_version"] == "10.0.17763.0"
    assert facts["ansible_hostname"] == "WIN01"
    assert facts["ansible_windows_domain_member"] is False
    assert facts["ansible_windows_domain_role"] == "Stand-alone server"
    assert facts["ansible_env"]["COMPUTERNAME"] == "WIN01"
    assert facts["ansible_powershell_version"] == 5
    assert facts["ansible_reboot_pending"] is False
    assert "ansible_date_time" in facts and "ansible_uptime_seconds" in facts


def test_setup_subsets_and_unknown_arguments(host):
    _rc, out = call(host, "ansible.windows.setup", gather_subset=["!all", "!min", "platform", "bogus"], filter="*")
    facts = out["ansible_facts"]
    assert "ansible_hostname" in facts and "ansible_env" not in facts and "ansible_interfaces" not in facts
    assert out["warnings"] == ["invalid value bogus specified in gather_subset"]
    host.set_pending_reboot("component_based_servicing")
    assert call(host, "ansible.windows.setup", gather_subset=["platform"])[1]["ansible_facts"]["ansible_reboot_pending"] is True
