"""The command line: inventory, fault switching, errors, and a real start/status/stop cycle (slow)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from simulator import cli
from simulator.estate import Estate, load_host, prepare_state_dir
from simulator.testing import EXAMPLE_ESTATE, running_estate

ADMIN = {"Administrator": {"password": "pw", "admin": True}}


def test_inventory_groups_and_connection_settings(tmp_path) -> None:
    estate = prepare_state_dir(EXAMPLE_ESTATE, tmp_path, force_auto=True)
    inv = cli.build_inventory(estate)["all"]
    assert inv["vars"]["ansible_connection"] == "winrm"
    assert (inv["vars"]["ansible_port"], inv["vars"]["ansible_winrm_scheme"], inv["vars"]["ansible_winrm_transport"]) == (5985, "http", "ntlm")
    assert inv["vars"]["ansible_winrm_ca_trust_path"] == str(tmp_path / "ca.pem")
    assert inv["hosts"]["EX01"] == {"ansible_host": estate.address_of("EX01"), "ansible_user": "Administrator", "ansible_password": "Ex01-Local-Passw0rd!"}
    groups = {g: set(v["hosts"]) for g, v in inv["children"].items()}
    assert groups["exchange_servers"] == {"EX01"} and groups["mailbox_servers"] == {"EX01"}
    assert groups["file_servers"] == {"FS01"} and groups["spares"] == {"SPARE01"}
    assert groups["windows"] == {"EX01", "FS01", "SPARE01"} == groups["domain_members"]
    https = cli.build_inventory(estate, https=True)["all"]["vars"]
    assert (https["ansible_port"], https["ansible_winrm_scheme"]) == (5986, "https")


def test_fault_command_edits_the_control_file(tmp_path, capsys) -> None:
    prepare_state_dir({"name": "t", "hosts": {"EX01": {"accounts": ADMIN}}}, tmp_path, force_auto=True)
    argv = ["fault", "--state", str(tmp_path), "on", "service_stops_after_start", "--host", "ex01", "--target", "W32Time", "--param", "seconds=7"]
    assert cli.main(argv) == 0
    fault = json.loads((tmp_path / "control.json").read_text())["faults"][0]
    assert fault == {"name": "service_stops_after_start", "host": "EX01", "target": "W32Time", "params": {"seconds": 7}}
    assert cli.main(["fault", "--state", str(tmp_path), "list"]) == 0
    assert "service_stops_after_start" in capsys.readouterr().out
    assert cli.main(["fault", "--state", str(tmp_path), "off", "service_stops_after_start", "--host", "EX01"]) == 0
    assert json.loads((tmp_path / "control.json").read_text())["faults"] == []
    assert cli.main(["fault", "--state", str(tmp_path), "on", "meteor", "--host", "EX01"]) == 1
    assert "unknown fault 'meteor'" in capsys.readouterr().err
    assert cli.main(["fault", "--state", str(tmp_path), "on", "slow_host", "--host", "NOPE"]) == 1


def test_a_bad_estate_file_is_reported_with_its_key(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"name": "t", "hosts": {"EX01": {"accounts": ADMIN, "os": {"version": "5.2.3790"}}}}))
    assert cli.main(["start", "--estate", str(bad), "--state", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err.startswith("estate error: hosts.EX01.os.version:")


def test_stop_and_status_without_a_server(tmp_path, capsys) -> None:
    prepare_state_dir({"name": "t", "hosts": {"EX01": {"accounts": ADMIN}}}, tmp_path, force_auto=True)
    assert cli.main(["stop", "--state", str(tmp_path)]) == 0
    assert "not running" in capsys.readouterr().out
    assert cli.main(["status", "--state", str(tmp_path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is False and status["hosts"][0]["up"] is True and status["hosts"][0]["answering"] is False
    (tmp_path / "server.pid").write_text("1\n")  # a stale or foreign pid is never signalled
    assert cli.server_pid(tmp_path) is None


@pytest.mark.slow
def test_start_status_fault_stop_resume(tmp_path) -> None:
    """The whole cycle through `python -m simulator` in subprocesses, as a developer runs it."""
    estate = tmp_path / "estate.yml"
    estate.write_text(yaml.safe_dump({"name": "cli", "time_scale": 0.01, "hosts": {"WIN01": {"accounts": ADMIN}, "WIN02": {"accounts": ADMIN}}}))
    state = tmp_path / "state"

    def sim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=120, check=False)

    started = sim("start", "--estate", str(estate), "--state", str(state))
    assert started.returncode == 0, started.stderr
    try:
        inv = yaml.safe_load((state / "inventory.yml").read_text())
        addresses = {h: v["ansible_host"] for h, v in inv["all"]["hosts"].items()}
        for address in addresses.values():
            assert cli.answers(address, 5985) and cli.answers(address, 5986)
        again = sim("start", "--estate", str(estate), "--state", str(state))
        assert again.returncode == 1 and "already running" in again.stderr
        status = json.loads(sim("status", "--state", str(state), "--json").stdout)
        assert status["running"] and all(h["answering"] for h in status["hosts"])
        assert sim("fault", "--state", str(state), "on", "slow_host", "--host", "WIN01", "--param", "seconds=1").returncode == 0
        assert "slow_host" in sim("status", "--state", str(state)).stdout
    finally:
        stopped = sim("stop", "--state", str(state))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not any(cli.answers(a, 5985) for a in addresses.values())
    # a second start resumes the same state, the same addresses and the run-time faults
    with running_estate(estate, state) as lab:
        assert {h: lab.address(h) for h in addresses} == addresses
        assert lab.estate.faults.get("WIN01", "slow_host") is not None
        assert lab.host("WIN02").service("WinRM").state == "running"
    assert Estate.open(state, writable=False).config.hosts["WIN01"].address == addresses["WIN01"]


@pytest.mark.slow
def test_running_estate_drives_real_ansible(tmp_path) -> None:
    doc = {"name": "drive", "time_scale": 0.01, "hosts": {"WIN01": {"accounts": ADMIN}}}
    with running_estate(doc, tmp_path / "state") as lab:
        result = lab.ansible("all", "-m", "ansible.windows.win_file", "-a", r"path=C:\Made\By\Ansible state=directory")
        assert result.returncode == 0, result.stdout
        assert load_host(lab.state_dir, "WIN01").is_dir(r"C:\made\by\ansible")
        play = "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.windows.win_service: {name: Spooler, state: stopped}\n"
        assert lab.playbook(play).returncode == 0
        assert lab.host("WIN01").service("Spooler").state == "stopped"
        assert lab.stats()
