"""End to end: every modelled module, run by the real ansible-playbook over WinRM against a simulated estate.

One estate for the whole module (WIN01, domain-joined, and FS01 sharing installer media as \\\\FS01\\Media) and one
playbook run three times: ``--check``, for real, and again. After each run the host is read back independently of the
server and of Ansible (``simulator.estate.load_host``): check mode must leave it exactly as it was, the real run must
have made the changes, and the third run must report no change and leave the state as the real run left it.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from simulator.testing import running_estate

pytestmark = pytest.mark.slow

PASSWORD = "Win01-Passw0rd!"
SVC_PASSWORD = "Svc-App-Passw0rd!"
MSI_CODE = "{E2E00000-0000-4000-8000-000000000001}"
ESTATE: dict[str, Any] = {
    "name": "twins-e2e",
    "time_scale": 0.01,
    "reboot_seconds": 20,
    "domain": {
        "name": "contoso.local",
        "netbios": "CONTOSO",
        "users": {"Administrator": {"password": "Contoso-Adm1n!", "admin": True}, "svc-app": {"password": SVC_PASSWORD}},
    },
    "shares": {"Media": {"host": "FS01", "path": "D:\\Media"}},
    "hosts": {
        "WIN01": {
            "os": {"version": "10.0.17763"},
            "accounts": {"Administrator": {"password": PASSWORD, "admin": True}},
            "drives": {"C": {"size_gb": 100, "free_gb": 60}},
        },
        "FS01": {
            "os": {"version": "10.0.20348"},
            "accounts": {"Administrator": {"password": "Fs01-Passw0rd!", "admin": True}},
            "drives": {"C": {"size_gb": 80, "free_gb": 50}, "D": {"size_gb": 200, "free_gb": 150}},
            "state": {
                "files": {
                    "D:\\Media\\app.msi": {"program": "msi", "args": {"product_code": MSI_CODE, "name": "E2E App", "version": "1.0.0"}},
                    "D:\\Media\\setup.exe": {
                        "program": "exe_installer",
                        "args": {"product": {"code": "E2ETool", "name": "E2E Tool", "version": "2.0"}, "quiet_switch": "/quiet"},
                    },
                },
            },
        },
    },
}

PLAYBOOK = r"""
- hosts: WIN01
  gather_facts: true
  tasks:
    - name: ping
      ansible.windows.win_ping:
    - name: folder
      ansible.windows.win_file: {path: 'C:\e2e\conf', state: directory}
    - name: copy content
      ansible.windows.win_copy: {content: "port=80\r\n", dest: 'C:\e2e\conf\app.ini'}
    - name: copy tree
      ansible.windows.win_copy: {src: "{{ tree_dir }}/", dest: 'C:\e2e\tree\'}
    - name: template
      ansible.windows.win_template: {src: "{{ template_file }}", dest: 'C:\e2e\conf\hello.txt'}
    - name: remote copy
      ansible.windows.win_copy: {src: 'C:\Windows\System32\hostname.exe', dest: 'C:\hostname-copy.exe', remote_src: true}
    - name: stat
      ansible.windows.win_stat: {path: 'C:\Windows\System32\cmd.exe'}
    - name: registry value
      ansible.windows.win_regedit: {path: 'HKLM:\SOFTWARE\E2E', name: Port, data: 443, type: dword}
    - name: registry stat
      ansible.windows.win_reg_stat: {path: 'HKLM:\SOFTWARE\E2E', name: Port}
    - name: service
      ansible.windows.win_service:
        name: E2ESvc
        path: 'C:\e2e\svc.exe'
        display_name: E2E Service
        start_mode: auto
        state: started
        username: 'CONTOSO\svc-app'
        password: "{{ svc_password }}"
    - name: service info
      ansible.windows.win_service_info: {name: E2ESvc}
    - name: feature
      ansible.windows.win_feature: {name: Telnet-Client}
    # A WinRM (NTLM) logon cannot reach another host's share (second hop): installing from one needs runas become.
    - name: msi from a share
      ansible.windows.win_package: {path: '\\FS01\Media\app.msi'}
      become: true
      become_method: ansible.builtin.runas
      become_user: CONTOSO\Administrator
      vars: {ansible_become_password: Contoso-Adm1n!}
    - name: exe installer from a share
      ansible.windows.win_package: {path: '\\FS01\Media\setup.exe', product_id: E2ETool, arguments: /quiet}
      become: true
      become_method: ansible.builtin.runas
      become_user: CONTOSO\Administrator
      vars: {ansible_become_password: Contoso-Adm1n!}
    - name: command
      ansible.windows.win_command: {cmd: 'cmd.exe /c echo done> C:\e2e\cmd.txt', creates: 'C:\e2e\cmd.txt'}
    - name: async
      ansible.windows.win_ping:
      async: 60
      poll: 1
      check_mode: false
    - name: slurp
      ansible.windows.slurp: {src: 'C:\e2e\conf\app.ini'}
      when: not ansible_check_mode
    - name: fetch
      ansible.builtin.fetch: {src: 'C:\e2e\conf\app.ini', dest: "{{ fetch_dir }}/", flat: true}
      when: not ansible_check_mode
"""

ANSIBLE_OWN = ("\\AppData\\Local\\Temp\\", "\\.ansible_async\\")

# task -> changed in (check, real, again); None = skipped (by the module or by `when`)
EXPECTED_CHANGED = {
    "ping": (False, False, False),
    "folder": (True, True, False),
    "copy content": (True, True, False),
    "copy tree": (True, True, False),
    "template": (True, True, False),
    "remote copy": (True, True, False),
    "stat": (False, False, False),
    "registry value": (True, True, False),
    "registry stat": (False, False, False),
    "service": (True, True, False),
    "service info": (False, False, False),
    "feature": (True, True, False),
    "msi from a share": (True, True, False),
    "exe installer from a share": (True, True, False),
    "command": (None, True, None),
    "async": (False, False, False),
    "slurp": (None, False, False),
    "fetch": (None, True, False),
}


def fingerprint(lab: Any) -> dict[str, Any]:
    """What the plays may change on WIN01, read from state.json and fs/ (events, timers and clocks left out)."""
    host = lab.host("WIN01")
    files = {}
    for info in host.walk("C:\\"):
        if any(part in info.path + "\\" for part in ANSIBLE_OWN):
            continue  # Ansible's temp folders and async job files (the async task runs in every run) come and go
        files[info.path] = "<dir>" if info.is_dir else hashlib.sha1(host.read_bytes(info.path), usedforsecurity=False).hexdigest()
    state = host.state.to_dict()
    services = {n: (s["state"], s["start_mode"], s["path"], s["account"]) for n, s in state["services"].items()}
    return {
        "files": files,
        # an empty hive root appears when a hive is first read (HKCU exists on Windows anyway): compare the keys in use
        "registry": json.dumps({hive: key for hive, key in state["registry"].items() if key["subkeys"] or key["values"]}, sort_keys=True),
        "services": services,
        "features": sorted(state["features_installed"]),
        "products": sorted(host.products()),
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins-e2e")
    with running_estate(ESTATE, root / "state", in_process=True) as running:
        yield running


@pytest.fixture(scope="module")
def controller_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("controller")
    tree = root / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha\r\n")
    (tree / "sub" / "b.txt").write_bytes(b"beta\r\n")
    template = root / "hello.txt.j2"
    template.write_text("hello from {{ ansible_hostname }} in {{ ansible_domain }}\n")
    fetched = root / "fetched"
    fetched.mkdir()
    return {"tree": tree, "template": template, "fetched": fetched, "root": root}


def play(lab: Any, files: dict[str, Path], *args: str, playbook: str = PLAYBOOK) -> dict[str, dict[str, Any]]:
    """Run the playbook with the json callback; results of WIN01 by task name."""
    extra = {"tree_dir": str(files["tree"]), "template_file": str(files["template"]), "fetch_dir": str(files["fetched"]), "svc_password": SVC_PASSWORD}
    book = files["root"] / "modules.yml"
    book.write_text(textwrap.dedent(playbook))
    done = lab.playbook(book, "-e", json.dumps(extra), *args, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    start = done.stdout.find("{")
    assert start >= 0, done.stdout
    report = json.loads(done.stdout[start:])
    results = {task["task"]["name"]: task["hosts"]["WIN01"] for task in report["plays"][0]["tasks"]}
    failed = {name: r.get("msg") for name, r in results.items() if r.get("failed")}
    assert not failed, f"{failed}\n{done.stdout[-3000:]}"
    assert done.returncode == 0, done.stdout[-3000:]
    return results


def assert_changed(results: dict[str, dict[str, Any]], run: int, expected_changed: dict[str, tuple] | None = None) -> None:
    for name, expected in (expected_changed or EXPECTED_CHANGED).items():
        result = results[name]
        if expected[run] is None:
            assert result.get("skipped") is True, (name, result)
        else:
            assert result.get("changed") is expected[run], (name, run, result)


@pytest.fixture(scope="module")
def runs(lab, controller_files):
    """The three runs, each with the host state before and after it."""
    warm = lab.ansible("WIN01", "-m", "ansible.windows.win_ping")  # first logon creates the profile folders
    assert warm.returncode == 0, warm.stdout
    before = fingerprint(lab)
    check = play(lab, controller_files, "--check", "--diff")
    after_check = fingerprint(lab)
    real = play(lab, controller_files, "--diff")
    after_real = fingerprint(lab)
    again = play(lab, controller_files)
    after_again = fingerprint(lab)
    return {
        "check": check,
        "real": real,
        "again": again,
        "states": {"before": before, "check": after_check, "real": after_real, "again": after_again},
    }


def test_check_mode_reports_changes_and_touches_nothing(runs):
    assert_changed(runs["check"], 0)
    states = runs["states"]
    for part in ("files", "registry", "services", "features", "products"):
        assert states["check"][part] == states["before"][part], part


def test_real_run_changes_the_host(runs, lab):
    assert_changed(runs["real"], 1)
    host = lab.host("WIN01")
    assert host.read_bytes("C:\\e2e\\conf\\app.ini") == b"port=80\r\n"
    assert host.read_bytes("C:\\e2e\\tree\\a.txt") == b"alpha\r\n"
    assert host.read_bytes("C:\\e2e\\tree\\sub\\b.txt") == b"beta\r\n"
    assert host.read_bytes("C:\\e2e\\conf\\hello.txt") == b"hello from WIN01 in contoso.local\r\n"  # newline_sequence \r\n
    assert host.read_bytes("C:\\hostname-copy.exe") == host.read_bytes("C:\\Windows\\System32\\hostname.exe")
    value = host.reg_get_value("HKLM:\\SOFTWARE\\E2E", "Port")
    assert (value.type, value.data) == ("REG_DWORD", 443)
    service = host.service("E2ESvc")
    assert (service.display_name, service.start_mode, service.state, service.account) == ("E2E Service", "auto", "running", "CONTOSO\\svc-app")
    assert host.feature("Telnet-Client").installed
    assert host.product(MSI_CODE).name == "E2E App"
    assert host.product("E2ETool") is not None
    assert host.read_bytes("C:\\e2e\\cmd.txt").startswith(b"done")


def test_real_run_returns_documented_values(runs, controller_files):
    real = runs["real"]
    facts = real["Gathering Facts"]["ansible_facts"]
    assert (facts["ansible_hostname"], facts["ansible_windows_domain"], facts["ansible_windows_domain_member"]) == ("WIN01", "contoso.local", True)
    assert facts["ansible_distribution_version"] == "10.0.17763.0"
    assert real["stat"]["stat"]["exists"] is True
    assert real["registry stat"]["value"] == 443 and real["registry stat"]["type"] == "REG_DWORD"
    assert real["registry value"]["diff"]["after"] == {"HKLM:\\SOFTWARE\\E2E": {"Port": {"type": "DWord", "value": "0x000001bb"}}}
    assert real["service"]["state"] == "running" and real["service"]["exists"] is True
    assert real["service"]["username"] == "CONTOSO\\svc-app"
    assert real["service"]["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert real["service"]["diff"]["after"]["password"] == "CHANGED REDACTED"
    assert real["service info"]["services"][0]["state"] == "started"
    assert real["feature"]["success"] is True and real["feature"]["feature_result"][0]["display_name"] == "Telnet Client"
    assert real["msi from a share"]["rc"] == 0 and real["msi from a share"]["reboot_required"] is False
    assert real["command"]["rc"] == 0
    assert real["async"]["ping"] == "pong" and real["async"]["finished"] in (True, 1)
    assert real["copy content"]["checksum"] == hashlib.sha1(b"port=80\r\n", usedforsecurity=False).hexdigest()
    assert (controller_files["fetched"] / "app.ini").read_bytes() == b"port=80\r\n"
    assert SVC_PASSWORD not in json.dumps(runs)


def test_second_run_is_idempotent(runs):
    assert_changed(runs["again"], 2)
    states = runs["states"]
    for part in ("files", "registry", "services", "features", "products"):
        assert states["again"][part] == states["real"][part], part


ABSENT_PLAYBOOK = (
    r"""
- hosts: WIN01
  gather_facts: false
  tasks:
    - name: folder
      ansible.windows.win_file: {path: 'C:\e2e', state: absent}
    - name: registry key
      ansible.windows.win_regedit: {path: 'HKLM:\SOFTWARE\E2E', state: absent}
    - name: service
      ansible.windows.win_service: {name: E2ESvc, state: absent}
    - name: feature
      ansible.windows.win_feature: {name: Telnet-Client, state: absent}
    - name: msi
      ansible.windows.win_package: {product_id: '"""
    + MSI_CODE
    + """', state: absent}
    - name: exe installer
      ansible.windows.win_package: {product_id: E2ETool, state: absent}
      # its UninstallString runs setup.exe from the share again: the second hop applies here too
      become: true
      become_method: ansible.builtin.runas
      become_user: CONTOSO\\Administrator
      vars: {ansible_become_password: Contoso-Adm1n!}
"""
)
ABSENT_CHANGED = dict.fromkeys(("folder", "registry key", "service", "feature", "msi", "exe installer"), (True, True, False))


@pytest.fixture(scope="module")
def absent_runs(runs, lab, controller_files):
    """After the present runs: the same three runs removing everything again."""
    before = fingerprint(lab)
    check = play(lab, controller_files, "--check", playbook=ABSENT_PLAYBOOK)
    after_check = fingerprint(lab)
    real = play(lab, controller_files, playbook=ABSENT_PLAYBOOK)
    again = play(lab, controller_files, playbook=ABSENT_PLAYBOOK)
    return (check, real, again), before, after_check, fingerprint(lab)


def test_removal_check_real_idempotent(absent_runs, lab):
    (check, real, again), before, after_check, after = absent_runs
    for run, results in enumerate((check, real, again)):
        assert_changed(results, run, ABSENT_CHANGED)
    for part in ("files", "registry", "services", "features", "products"):
        assert after_check[part] == before[part], part
    host = lab.host("WIN01")
    assert not host.exists("C:\\e2e")
    assert host.reg_get_key("HKLM:\\SOFTWARE\\E2E") is None
    assert host.service("E2ESvc") is None
    assert not host.feature("Telnet-Client").installed
    assert host.product(MSI_CODE) is None and host.product("E2ETool") is None
    assert before["products"] != after["products"]
