"""End to end: unmodified ansible / ansible-playbook (from .venv/bin) drive a simulated estate over real WinRM.

One estate per module (two hosts with different Administrator passwords), served in this process by EstateServer so the
tests can see what arrived on the wire and check host state independently of Ansible.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator import faults
from simulator.estate import Estate, load_host, prepare_state_dir
from simulator.server import EstateServer

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]


class Wire:
    """Every request body as the transport received it."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str, str, bytes]] = []

    def __call__(self, host: str, scheme: str, content_type: str, body: bytes) -> None:
        self.bodies.append((host, scheme, content_type, body))


PASSWORDS = {"EX01": "Ex01-Passw0rd!", "EX02": "Ex02:Other-pw"}


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    state = tmp_path_factory.mktemp("estate")
    hosts = {
        name: {"address": "auto", "os": {"version": "10.0.17763"}, "accounts": {"Administrator": {"password": pw, "admin": True}}}
        for name, pw in PASSWORDS.items()
    }
    lab = prepare_state_dir({"name": "protocol", "time_scale": 0.05, "reboot_seconds": 30, "hosts": hosts}, state)
    wire = Wire()
    server = EstateServer(lab, state, wire_tap=wire)
    server.start()
    yield {"lab": lab, "server": server, "state": state, "wire": wire}
    server.stop()


def inventory(tmp_path: Path, state: Path, **overrides: object) -> Path:
    """An inventory like the one `python -m simulator start` writes, with per-test overrides."""
    lab = Estate.open(state, writable=False)
    hosts = {name: {"ansible_host": lab.address_of(name), "ansible_password": pw} for name, pw in PASSWORDS.items()}
    common = {
        "ansible_connection": "winrm",
        "ansible_user": "Administrator",
        "ansible_port": 5986,
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_ca_trust_path": str(state / "ca.pem"),
        "ansible_winrm_connection_timeout": 20,
    }
    common.update(overrides)
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"all": {"hosts": hosts, "vars": common}}))
    return path


def ansible(tmp_path: Path, inv: Path, *args: str, playbook: str | None = None, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0")
    if playbook is not None:
        book = tmp_path / "play.yml"
        book.write_text(playbook)
        cmd = [str(BIN / "ansible-playbook"), "-i", str(inv), str(book), *args]
    else:
        cmd = [str(BIN / "ansible"), "-i", str(inv), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout, check=False)


def adhoc_json(result: subprocess.CompletedProcess[str]) -> dict:
    """`ansible -m ... -o`-free parse: the JSON after 'HOST | STATUS => '."""
    text = result.stdout
    return json.loads(text[text.index("{") : text.rindex("}") + 1])


# -- transport -------------------------------------------------------------------------------------------------------
def test_ntlm_bodies_are_encrypted_on_the_wire(estate, tmp_path):
    wire = estate["wire"]
    wire.bodies.clear()
    result = ansible(tmp_path, inventory(tmp_path, estate["state"], ansible_port=5985), "EX01", "-m", "ansible.windows.win_ping")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ping": "pong"' in result.stdout
    http = [(ctype, body) for host, scheme, ctype, body in wire.bodies if host == "EX01" and scheme == "http" and body]
    assert len(http) > 5, "the module run took several WS-Man requests"
    for ctype, body in http:
        assert ctype.startswith("multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\"")
        for plaintext in (b"Envelope", b"PowerShell", b"win_ping", b"rsp:Stream"):
            assert plaintext not in body


def test_https_validates_with_the_estate_ca_and_fails_without_it(estate, tmp_path):
    good = ansible(tmp_path, inventory(tmp_path, estate["state"]), "EX01", "-m", "ansible.windows.win_ping")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = ansible(tmp_path, inventory(tmp_path, estate["state"], ansible_winrm_ca_trust_path=None), "EX01", "-m", "ansible.windows.win_ping")
    assert bad.returncode != 0
    assert "UNREACHABLE" in bad.stdout and "CERTIFICATE_VERIFY_FAILED" in bad.stdout


def test_basic_over_http_is_refused(estate, tmp_path):
    inv = inventory(tmp_path, estate["state"], ansible_port=5985, ansible_winrm_transport="basic")
    result = ansible(tmp_path, inv, "EX01", "-m", "ansible.windows.win_ping")
    assert "UNREACHABLE" in result.stdout
    assert "basic: the specified credentials were rejected by the server" in result.stdout
    https = ansible(tmp_path, inventory(tmp_path, estate["state"], ansible_winrm_transport="basic"), "EX01", "-m", "ansible.windows.win_ping")
    assert https.returncode == 0, https.stdout


def test_wrong_password_and_other_hosts_password_are_unreachable(estate, tmp_path):
    inv = inventory(tmp_path, estate["state"])
    data = json.loads(inv.read_text())
    data["all"]["hosts"]["EX01"]["ansible_password"] = PASSWORDS["EX02"]
    inv.write_text(json.dumps(data))
    result = ansible(tmp_path, inv, "all", "-m", "ansible.windows.win_ping")
    assert "EX01 | UNREACHABLE" in result.stdout and "ntlm: the specified credentials were rejected by the server" in result.stdout
    assert "EX02 | SUCCESS" in result.stdout


# -- payloads --------------------------------------------------------------------------------------------------------
def test_copy_and_fetch_5mb_byte_identical(estate, tmp_path):
    data = os.urandom(5 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(data)
    play = r"""
- hosts: EX01
  gather_facts: false
  tasks:
    - ansible.windows.win_file: {path: 'C:\transfer', state: directory}
    - ansible.windows.win_copy: {src: big.bin, dest: 'C:\transfer\big.bin'}
    - ansible.builtin.fetch: {src: 'C:\transfer\big.bin', dest: fetched.bin, flat: true}
"""
    result = ansible(tmp_path, inventory(tmp_path, estate["state"]), playbook=play)
    assert result.returncode == 0, result.stdout + result.stderr
    host = load_host(estate["state"], "EX01")  # the host as saved on disk, not through the server
    assert hashlib.sha256(host.read_bytes("C:\\transfer\\big.bin")).digest() == hashlib.sha256(data).digest()
    assert (tmp_path / "fetched.bin").read_bytes() == data


def test_runas_become(estate, tmp_path):
    play = """
- hosts: EX01
  gather_facts: false
  become_method: runas
  tasks:
    - ansible.windows.win_ping:
      become: true
      become_user: Administrator
      vars: {ansible_become_password: "PASSWORD"}
    - ansible.windows.win_ping:
      become: true
      become_user: Administrator
      vars: {ansible_become_password: wrong}
      register: bad
      ignore_errors: true
    - ansible.builtin.assert:
        that: ["bad is failed", "'The user name or password is incorrect' in bad.msg"]
""".replace("PASSWORD", PASSWORDS["EX01"])
    result = ansible(tmp_path, inventory(tmp_path, estate["state"]), playbook=play)
    assert result.returncode == 0, result.stdout + result.stderr


def test_async_task_completes(estate, tmp_path):
    play = r"""
- hosts: EX01
  gather_facts: false
  tasks:
    - ansible.windows.win_file: {path: 'C:\async-marker', state: directory}
      async: 60
      poll: 1
      register: job
    - ansible.builtin.assert:
        that: ["job is changed", "job.finished == 1"]
"""
    result = ansible(tmp_path, inventory(tmp_path, estate["state"]), playbook=play)
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_host(estate["state"], "EX01").is_dir("C:\\async-marker")


def test_win_reboot_completes_and_boot_time_moves(estate, tmp_path):
    host = estate["lab"].hosts["EX02"]
    before = host.boot_time
    play = """
- hosts: EX02
  gather_facts: false
  tasks:
    - ansible.windows.win_reboot: {reboot_timeout: 120}
      register: rb
    - ansible.builtin.assert:
        that: ["rb.rebooted", "rb is changed"]
"""
    result = ansible(tmp_path, inventory(tmp_path, estate["state"]), playbook=play)
    assert result.returncode == 0, result.stdout + result.stderr
    assert host.boot_time > before


# -- faults ----------------------------------------------------------------------------------------------------------
def test_drop_connection_fails_the_task_once(estate, tmp_path):
    """ansible-core's winrm plugin does not turn a connection closed during a command into 'unreachable': the task fails
    with the requests error (and a retry or the next task opens a new connection)."""
    fault_set = estate["lab"].faults
    fault_set.switch_on(faults.make_fault("drop_connection", "EX01", params={"count": 1}))
    try:
        first = ansible(tmp_path, inventory(tmp_path, estate["state"]), "EX01", "-m", "ansible.windows.win_ping")
        assert "EX01 | FAILED!" in first.stdout, first.stdout
        assert "Remote end closed connection without response" in first.stdout
        second = ansible(tmp_path, inventory(tmp_path, estate["state"]), "EX01", "-m", "ansible.windows.win_ping")
        assert "EX01 | SUCCESS" in second.stdout, second.stdout
    finally:
        fault_set.switch_off("drop_connection", "EX01")


def test_slow_host_delays_every_request(estate, tmp_path):
    inv = inventory(tmp_path, estate["state"])
    fault_set = estate["lab"].faults
    clock = estate["lab"].clock
    seconds = 0.25 / clock.time_scale  # simulated seconds that take 0.25 s of real time per request
    before = estate["server"].stats.snapshot()["EX01"]["requests"]
    fault_set.switch_on(faults.make_fault("slow_host", "EX01", params={"seconds": seconds}))
    try:
        started = time.monotonic()
        result = ansible(tmp_path, inv, "EX01", "-m", "ansible.windows.win_ping")
        elapsed = time.monotonic() - started
    finally:
        fault_set.switch_off("slow_host", "EX01")
    assert "EX01 | SUCCESS" in result.stdout, result.stdout
    requests = estate["server"].stats.snapshot()["EX01"]["requests"] - before
    assert elapsed >= requests * 0.25
