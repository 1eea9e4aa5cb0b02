"""End to end: the collection's `exchange_dr.recovery.verify` playbook with the real ansible-playbook over WinRM.

An Exchange 2019 Mailbox server, a file server without Exchange and a host that does not answer. The report must have
one entry per host (the silent one `unreachable`), the summary must be printed, check mode must start nothing (read back
with load_host, independently of the server), and `verify_state=started` must start what should run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.testing import running_estate

pytestmark = pytest.mark.slow

ESTATE: dict[str, Any] = {
    "name": "verify-e2e",
    "time_scale": 0.02,
    "hosts": {
        "EX01": {
            "accounts": {"Administrator": {"password": "Ex01-Passw0rd!", "admin": True}},
            "state": {"exchange": {"version": "15.2.1544.4", "roles": ["Mailbox"]}},
        },
        "FS01": {"accounts": {"Administrator": {"password": "Fs01-Passw0rd!", "admin": True}}},
    },
}
# A host in the inventory that nothing answers for (port 9 on loopback: connection refused).
DOWN = "all:\n  hosts:\n    DOWN01: {ansible_host: 127.0.0.1, ansible_port: 9, ansible_user: x, ansible_password: y, ansible_connection: winrm}\n"


def reports(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("verify-*.json"))]


def test_verify_playbook(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    (tmp_path / "down.yml").write_text(DOWN)
    with running_estate(ESTATE, tmp_path / "state", in_process=True) as lab:
        extra = ["-i", str(tmp_path / "down.yml"), "-e", f"verify_report_dir={out}"]
        run = lab.playbook("exchange_dr.recovery.verify", *extra)
        assert run.returncode == 4, run.stdout  # an unreachable host
        (first,) = reports(out)
        by_host = {h["host"]: h for h in first["hosts"]}
        assert first["result"] == "failed" and first["totals"] == {"hosts": 3, "passed": 2, "failed": 0, "unreachable": 1}
        assert by_host["DOWN01"]["result"] == "unreachable"
        assert by_host["EX01"]["result"] == "passed" and by_host["EX01"]["version"]["name"] == "Exchange Server 2019 CU14"
        assert by_host["FS01"]["message"] == "No Exchange installation found on FS01; nothing to check"
        assert "PASSED   EX01 (Exchange Server 2019 CU14 Mailbox)" in run.stdout and "2/3 host(s) passed; report:" in run.stdout

        stop = lab.ansible("EX01", "-m", "ansible.windows.win_service", "-a", "name=MSExchangeTransport state=stopped")
        assert stop.returncode == 0, stop.stdout
        (out / "verify-old").mkdir()
        for p in out.glob("verify-*.json"):
            p.rename(out / "verify-old" / p.name)

        check = lab.playbook("exchange_dr.recovery.verify", "--check", "-l", "EX01", "-e", f"verify_report_dir={out}", "-e", "verify_state=started")
        assert check.returncode == 0, check.stdout  # would start: not a failure in check mode
        assert lab.host("EX01").service("MSExchangeTransport").state == "stopped"
        (report,) = reports(out)
        assert report["run"]["check_mode"] is True and report["hosts"][0]["started"] == ["MSExchangeTransport"]

        failing = lab.playbook("exchange_dr.recovery.verify", "-l", "EX01", "-e", f"verify_report_dir={out / 'f'}")
        assert failing.returncode == 2 and "MSExchangeTransport (start mode auto, state stopped)" in failing.stdout

        started = lab.playbook("exchange_dr.recovery.verify", "-l", "EX01", "-e", f"verify_report_dir={out / 's'}", "-e", "verify_state=started")
        assert started.returncode == 0, started.stdout
        assert lab.host("EX01").service("MSExchangeTransport").state == "running"
        (report,) = reports(out / "s")
        assert report["result"] == "passed" and report["hosts"][0]["started"] == ["MSExchangeTransport"]
