"""End to end: playbooks/dr_run.yml recovers a lost member of a two-member database availability group (Exchange 2019,
tests/simulator/estates/recover_dag_member2019.yml) with the real ansible-playbook over WinRM.

The estate: DAG1 = EX01 + EX02 with FS01 as witness; EX02 is lost (a bare Windows with its name); DB01 is active on EX01 and
EX02 held its lagged copy (preference 2, replay lag 1 day, truncation lag 2 hours); DB02 preferred EX02 and failed over to
EX01. The run: the plan in check mode (nothing changes), a run interrupted after `dag_remove` (only that phase ran: EX02's
copies and membership are gone, and with them the AD link that says it was a member), the run again (it completes from the
record the first one kept), and once more (nothing changes). After each step the DAG, the copies and their status are read
independently of Ansible and of the server: from the state folder, through the simulator's own model (a read-only estate).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from simulator.estate import Estate
from simulator.exchange.shell import ExchangeShell
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "simulator" / "estates" / "recover_dag_member2019.yml"
VARS = REPO / "tests" / "simulator" / "estates" / "vars" / "recover_dag_member.yml"
PLAYBOOK = REPO / "playbooks" / "dr_run.yml"
PASSWORD = "Contoso-Adm1n!"


def recap(output: str) -> dict[str, int]:
    match = re.search(r"^EX02\s+:\s+(.*)$", output, re.M)
    assert match, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def read_dag(state_dir: Path) -> dict[str, Any]:
    """DAG1, both databases' copies and settings, and every copy's Get-MailboxDatabaseCopyStatus, from the state folder."""
    estate = Estate.open(state_dir, writable=False)
    org = estate.domain.exchange
    ex01 = estate.host("EX01")
    shell = ExchangeShell.open(ex01, version="15.2.1544.4", requested="snapin")
    dag = org.dags["DAG1"]
    out: dict[str, Any] = {"members": list(dag.servers), "cluster_nodes": list(dag.cluster_nodes), "databases": {}}
    for name in ("DB01", "DB02"):
        db = org.database(name)
        statuses = {s["MailboxServer"]: s for s in shell.invoke("Get-MailboxDatabaseCopyStatus", Identity=name)}
        out["databases"][name] = {
            "active": db.server,
            "copies": list(db.copies),
            "settings": {s: dict(v) for s, v in db.copy_settings.items()},
            "status": {s: (st["Status"], st["CopyQueueLength"], st["ContentIndexState"]) for s, st in statuses.items()},
        }
    out["ex02_files"] = {p: estate.host("EX02").exists(p) for p in (r"D:\DB01\DB01.edb", r"D:\DB02\DB02.edb", r"D:\DB01\Logs\E00.log")}
    out["link"] = estate.domain.exchange_server_attributes("EX02").get("msExchMDBAvailabilityGroupLink")
    return out


def counters(lab: Any) -> dict[str, tuple[int, int]]:
    """(module executions, WinRM requests) per host so far (DIR/stats.json)."""
    return {host: (int(s.get("module_calls", 0)), int(s.get("requests", 0))) for host, s in lab.stats().items()}


def spent(after: dict[str, tuple[int, int]], before: dict[str, tuple[int, int]]) -> str:
    parts = []
    for host in sorted(after):
        calls, requests = (a - b for a, b in zip(after[host], before.get(host, (0, 0)), strict=True))
        if calls or requests:
            parts.append(f"{host} {calls} module executions / {requests} WinRM requests")
    return ", ".join(parts) or "nothing"


def test_a_lost_dag_member_comes_back_with_every_copy_healthy_and_its_lag_settings(tmp_path: Path) -> None:
    records = tmp_path / "dr_state"
    reports = tmp_path / "reports"
    args = ["-e", f"@{VARS}", "-e", f"recover_dag_member_record_dir={records}"]
    env = {"ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report", "EXCHANGE_DR_REPORT_DIR": str(reports)}
    with running_estate(ESTATE, tmp_path / "state") as lab:
        before = read_dag(lab.state_dir)
        assert before["members"] == ["EX01", "EX02"]
        assert before["databases"]["DB01"]["settings"]["EX02"] == {"replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}
        assert before["databases"]["DB01"]["status"]["EX02"][0] == "ServiceDown"
        assert before["link"] is not None

        # the plan: nothing changes, nothing is recorded
        figures = [counters(lab)]
        check = lab.playbook(PLAYBOOK, *args, "--check", env=env, timeout=600)
        assert check.returncode == 0, check.stdout[-4000:]
        assert "dag_remove: on EX01: record the settings of EX02's copies in DAG1" in check.stdout
        assert "dag_add: on EX01: add EX02 back to DAG1" in check.stdout
        assert read_dag(lab.state_dir) == before
        assert not records.exists()
        plan = json.loads((reports / "dr_report.json").read_text())
        assert plan["outcome"] == "planned"

        # interrupted after dag_remove: EX02 is out of the DAG, the cluster and AD's link; the record keeps its settings
        figures.append(counters(lab))
        removed = lab.playbook(PLAYBOOK, *args, "--tags", "dag_remove", env=env, timeout=600)
        assert removed.returncode == 0, removed.stdout[-4000:]
        after_remove = read_dag(lab.state_dir)
        assert after_remove["members"] == ["EX01"]
        assert after_remove["cluster_nodes"] == ["EX01"]
        assert after_remove["link"] is None
        assert after_remove["databases"]["DB01"]["copies"] == ["EX01"]
        assert after_remove["databases"]["DB02"]["copies"] == ["EX01"]
        record = json.loads((records / "dag-member-EX02.json").read_text())
        assert record["dag"] == "DAG1"
        assert {c["database"]: (c["activation_preference"], c["replay_lag_time"], c["truncation_lag_time"]) for c in record["copies"]} == {
            "DB01": (2, "1.00:00:00", "02:00:00"),
            "DB02": (1, "00:00:00", "00:00:00"),
        }

        # the rerun completes: RecoverServer, then EX02 back in DAG1 with its copies and their settings, all healthy
        figures.append(counters(lab))
        full = lab.playbook(PLAYBOOK, *args, env=env, timeout=900)
        assert full.returncode == 0, full.stdout[-6000:]
        figures.append(counters(lab))
        after = read_dag(lab.state_dir)
        assert after["members"] == ["EX01", "EX02"]
        assert after["cluster_nodes"] == ["EX01", "EX02"]
        assert after["link"] == before["link"]
        for name in ("DB01", "DB02"):
            assert after["databases"][name]["copies"] == before["databases"][name]["copies"], name
            assert after["databases"][name]["status"]["EX02"] == ("Healthy", 0, "Healthy"), after
            assert after["databases"][name]["status"]["EX01"][0] == "Mounted"
        assert after["databases"]["DB01"]["settings"]["EX02"] == {"replay_lag_time": "1.00:00:00", "truncation_lag_time": "02:00:00"}
        assert after["databases"]["DB02"]["settings"]["EX02"] == {"replay_lag_time": "00:00:00", "truncation_lag_time": "00:00:00"}
        assert all(after["ex02_files"].values()), after["ex02_files"]
        assert "DB01\\\\EX02 Healthy" in full.stdout
        report = json.loads((reports / "dr_report.json").read_text())
        assert report["outcome"] == "succeeded"
        assert {"dag_remove", "dag_add"} <= set(json.dumps(report["phases"]).replace('"', " ").split())
        assert PASSWORD not in json.dumps(report)

        # once more: nothing changes
        again = lab.playbook(PLAYBOOK, *args, env=env, timeout=600)
        assert again.returncode == 0, again.stdout[-4000:]
        assert recap(again.stdout)["changed"] == 0, again.stdout[-4000:]
        assert read_dag(lab.state_dir)["databases"] == after["databases"]
        figures.append(counters(lab))
        for label, i in (("check", 1), ("dag_remove only", 2), ("the rerun that completes", 3), ("the run after", 4)):
            print(f"{label}: {spent(figures[i], figures[i - 1])}")
