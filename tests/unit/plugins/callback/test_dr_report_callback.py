"""The dr_report callback under real ansible-playbook (local connection, no Windows host needed).

A test module that leaks on purpose (its password option has no no_log, as a careless or PowerShell module would) puts the
password into the task arguments, the result, a warning, the failure message and stderr; the inventory and the play carry
secrets too. None of them may reach the JSON, the JUnit XML or the console summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
PASSWORD = "Crm-Svc-Passw0rd!"
INVENTORY_PASSWORD = "Inv-Adm1n-Secret"
EXTRA_TOKEN = "tok-4242-abcd"

LEAKY_MODULE = '''#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule

def main():
    m = AnsibleModule(argument_spec=dict(name=dict(type="str"), service_password=dict(type="str"), fail=dict(type="bool", default=False)),
                      supports_check_mode=True)
    pw = m.params["service_password"]
    m.warn("logon as svc-crm with %s is slow" % pw)
    if m.params["fail"]:
        m.fail_json(msg="logon failure for %s (password %s)" % (m.params["name"], pw), stderr="Start-Service: password=%s rejected" % pw, rc=5)
    m.exit_json(changed=True, msg="configured %s with %s" % (m.params["name"], pw), service={"password": pw, "name": "MSCRMEmail"})

main()
'''

PLAYBOOK = """
- name: Preflight every host
  hosts: all
  gather_facts: false
  vars:
    dr_report_phase: preflight
  tasks:
    - name: Read state
      ansible.builtin.set_fact:
        seen: true
    - name: Hidden step
      ansible.builtin.debug:
        msg: "{{ api_token }}"
      no_log: true

- name: Email Router
  hosts: all
  gather_facts: false
  vars:
    dr_report_phase: email_router
    router_password: "Crm-Svc-Passw0rd!"
  tasks:
    - name: Install the router
      leaky:
        name: router
        service_password: "{{ router_password }}"
    - name: Place the configuration for {{ router_password }}
      leaky:
        name: "cfg {{ router_password }}"
        service_password: "{{ router_password }}"
        fail: "{{ inventory_hostname == 'EX02' }}"

- name: Final verify
  hosts: all
  gather_facts: false
  vars:
    dr_report_phase: final_verify
  tasks:
    - name: Check
      ansible.builtin.debug:
        msg: "verified with token {{ api_token }}"
"""


def run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "library").mkdir(exist_ok=True)
    (tmp_path / "library" / "leaky.py").write_text(LEAKY_MODULE)
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory.yml").write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {"EX01": {}, "EX02": {}},
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                        "ansible_password": INVENTORY_PASSWORD,
                    },
                }
            }
        )
    )
    full_env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report",
        "EXCHANGE_DR_REPORT_DIR": str(tmp_path / "reports"),
        "ANSIBLE_LIBRARY": str(tmp_path / "library"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        **(env or {}),
    }
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")]
    return subprocess.run([*argv, "-e", f"api_token={EXTRA_TOKEN}", *extra], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120, check=False)


def summary(stdout: str) -> str:
    """The callback's console output: from its first line to the end."""
    start = stdout.find("DR REPORT ")
    assert start >= 0, stdout[-3000:]
    return stdout[start:]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp_path = tmp_path_factory.mktemp("dr_report")
    return tmp_path, run(tmp_path)


def test_report_files_and_summary(real_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp_path, result = real_run
    assert result.returncode == 2, result.stdout[-3000:]  # EX02 fails on purpose
    reports = tmp_path / "reports"
    data = json.loads((reports / "dr_report.json").read_text())
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        ["dr_report.json", "dr_report.junit.xml", f"dr_report-{data['run_id']}.json", f"dr_report-{data['run_id']}.junit.xml"]
    )
    assert data["playbook"] == "play.yml"
    assert [p["name"] for p in data["phases"]] == ["preflight", "email_router", "final_verify"]
    assert data["outcome"] == "failed"
    assert data["hosts"]["EX01"]["outcome"] == "recovered"
    assert data["hosts"]["EX01"]["phases"] == {"preflight": "ok", "email_router": "changed", "final_verify": "ok"}
    assert data["hosts"]["EX02"]["phases"] == {"preflight": "ok", "email_router": "failed", "final_verify": "not_run"}
    failure = data["hosts"]["EX02"]["failures"][0]
    assert failure["phase"] == "email_router"
    assert failure["msg"].startswith("logon failure for cfg ")
    assert failure["rc"] == 5
    assert failure["args"]["service_password"] == "********"
    ex01 = data["phases"][1]["hosts"]["EX01"]
    assert ex01["changes"][0]["task"] == "Install the router"
    assert any("is slow" in w for w in ex01["warnings"])
    assert data["hosts"]["EX01"]["recovery_time_s"] > 0
    assert data["hosts"]["EX01"]["stats"]["changed"] == 2

    root = ET.fromstring((reports / "dr_report.junit.xml").read_text())  # noqa: S314
    assert root.get("failures") == "1"
    assert root.find("testsuite[@name='email_router']/testcase[@name='EX02']/failure") is not None

    text = summary(result.stdout)
    assert "FAILED EX02 / email_router / Place the configuration" in text
    assert f"report: {reports / 'dr_report.json'}, {reports / 'dr_report.junit.xml'}" in text


def test_no_secret_in_any_output(real_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp_path, result = real_run
    assert PASSWORD in result.stdout, "the leaky module must really leak for this test to mean anything"
    outputs = {p.name: p.read_text() for p in (tmp_path / "reports").iterdir()}
    outputs["console summary"] = summary(result.stdout)
    for name, text in outputs.items():
        for secret in (PASSWORD, INVENTORY_PASSWORD, EXTRA_TOKEN):
            assert secret not in text, f"{secret!r} leaked into {name}"
        assert "********" in text or name == "console summary"


def test_check_mode_gives_a_plan(tmp_path: Path) -> None:
    result = run(tmp_path, "--check", "--limit", "EX01")
    assert result.returncode == 0, result.stdout[-3000:]
    data = json.loads((tmp_path / "reports" / "dr_report.json").read_text())
    assert (data["check_mode"], data["outcome"]) == (True, "planned")
    assert list(data["hosts"]) == ["EX01"]
    assert "PLAN (check mode, nothing changed)" in summary(result.stdout)


def test_options_from_the_environment(tmp_path: Path) -> None:
    result = run(
        tmp_path, "--limit", "EX01", env={"EXCHANGE_DR_REPORT_FORMATS": "junit", "EXCHANGE_DR_REPORT_PREFIX": "nightly", "EXCHANGE_DR_REPORT_CONSOLE": "false"}
    )
    assert result.returncode == 0, result.stdout[-3000:]
    names = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert len(names) == 2 and "nightly.junit.xml" in names
    assert "DR REPORT" not in result.stdout


def test_ansible_doc_renders_the_callback() -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-t", "callback", "exchange_dr.recovery.dr_report"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "output_dir" in result.stdout and "EXCHANGE_DR_REPORT_DIR" in result.stdout
