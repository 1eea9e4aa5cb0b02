"""End to end, the three parts of issue 13 together: the DR kit of a DAG member carries its copies' settings through the loss.

1. The healthy estate of tests/simulator/estates/recover_dag_member2019.yml (DAG1 = EX01 + EX02; EX02 holds DB01's lagged
   copy - preference 2, replay lag 1 day, truncation lag 2 hours - and DB02's preferred copy), EX02 with a customised OWA
   URL and transport setting. `exchange_dr.recovery.capture_dr_kit` writes EX02's kit: its `dag` section holds the copies.
2. The loss: EX02's disk is thrown away; the estate file's bare EX02 with the Setup media takes its place.
3. `exchange_dr.recovery.dr_run` with the kit: dag_remove on EX01, RecoverServer, the reapply phase (the URL and the
   setting), and dag_add with the copy settings of the kit (the task says so). Read back from the state folder, through
   the simulator's model and not through Ansible: EX02 is a member again, every copy Healthy with its lag times and
   activation preference as before, and the customisation is back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.estate import Estate
from simulator.exchange import server_config
from simulator.exchange.shell import ExchangeShell
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "simulator" / "estates" / "recover_dag_member2019.yml"
VARS = REPO / "tests" / "simulator" / "estates" / "vars" / "recover_dag_member.yml"
PASSWORD = "Kit-DAG-Passw0rd!"
CUSTOM: dict[str, Any] = {
    "virtual_directories": {"owa": {"ExternalUrl": "https://mail.contoso.com/owa"}},
    "transport": {"MaxOutboundConnections": "500"},
}


def healthy_estate() -> dict[str, Any]:
    """The estate before the loss: EX02 is an installed member with its customisation."""
    doc = yaml.safe_load(ESTATE.read_text())
    doc["hosts"]["EX02"].setdefault("state", {}).update(exchange=True, exchange_config=CUSTOM)
    return doc


def read_back(state_dir: Path) -> dict[str, Any]:
    """DAG1's members, each database's copies in preference order, their lag times and EX02's copy status; EX02's OWA
    external URL and transport setting - from the state folder (a read-only estate)."""
    estate = Estate.open(state_dir, writable=False)
    org = estate.domain.exchange
    shell = ExchangeShell.open(estate.host("EX01"), version="15.2.1544.4", requested="snapin")
    out: dict[str, Any] = {"members": list(org.dags["DAG1"].servers), "databases": {}}
    for name in ("DB01", "DB02"):
        db = org.database(name)
        status = {s["MailboxServer"]: s["Status"] for s in shell.invoke("Get-MailboxDatabaseCopyStatus", Identity=name)}
        lags = {s: (db.copy_setting(s, "replay_lag_time"), db.copy_setting(s, "truncation_lag_time")) for s in db.copies}
        out["databases"][name] = {"copies": list(db.copies), "lags": lags, "status": status}
    ex02 = estate.host("EX02")
    if ex02.state.exchange.get(server_config.STATE):
        config = server_config.state(ex02)
        out["owa"] = config["virtual_directories"]["owa"]["settings"].get("ExternalUrl")
        out["transport"] = config["transport"].get("MaxOutboundConnections")
    return out


def test_the_kit_of_a_dag_member_brings_back_its_copies_settings_and_its_configuration(tmp_path: Path) -> None:
    state, kits, records = tmp_path / "state", tmp_path / "kits", tmp_path / "dr_state"
    kit_vars = tmp_path / "kit.yml"
    kit_vars.write_text(
        yaml.safe_dump(
            {
                "dr_kit_dir": str(kits),
                "dr_kit_password": PASSWORD,
                "dr_kit_exchange_username": "{{ ansible_user }}",
                "dr_kit_exchange_password": "{{ ansible_password }}",
                "reapply_dr_kit_exchange_username": "{{ ansible_user }}",
                "reapply_dr_kit_exchange_password": "{{ ansible_password }}",
                "recover_dag_member_record_dir": str(records),
            }
        )
    )

    # 1. the healthy member's kit
    with running_estate(healthy_estate(), state) as lab:
        capture = lab.playbook(REPO / "playbooks" / "capture_dr_kit.yml", "-e", f"@{kit_vars}", "-e", "capture_dr_kit_hosts=EX02")
        assert capture.returncode == 0, capture.stdout[-4000:]
    before = read_back(state)
    assert before["owa"] == "https://mail.contoso.com/owa" and before["transport"] == "500"
    [version] = [p for p in (kits / "EX02").iterdir() if p.is_dir()]
    dag = json.loads((version / "manifest.json").read_text())["dag"]
    assert (dag["member"], dag["name"], dag["servers"]) == (True, "DAG1", ["EX01", "EX02"])
    copies = {(c["database"], c["server"]): (c["activation_preference"], c["replay_lag_time"], c["truncation_lag_time"]) for c in dag["database_copies"]}
    assert copies[("DB01", "EX02")] == (2, "1.00:00:00", "02:00:00")
    assert copies[("DB02", "EX02")] == (1, "00:00:00", "00:00:00")

    # 2. the loss
    shutil.rmtree(state / "hosts" / "EX02")

    # 3. the DR run with the kit
    with running_estate(ESTATE, state) as lab:
        assert lab.host("EX02").service("MSExchangeIS") is None  # really lost
        run = lab.playbook(REPO / "playbooks" / "dr_run.yml", "-e", f"@{VARS}", "-e", f"@{kit_vars}", timeout=1500)
        assert run.returncode == 0, run.stdout[-6000:]
        assert "EX02 goes back to DAG1 with the settings of kit" in run.stdout, run.stdout[-6000:]
        after = read_back(state)

    assert after["members"] == ["EX01", "EX02"]
    for name in ("DB01", "DB02"):
        assert after["databases"][name]["copies"] == before["databases"][name]["copies"], name  # preference order
        assert after["databases"][name]["lags"] == before["databases"][name]["lags"], name
        assert after["databases"][name]["status"]["EX02"] == "Healthy", after
    assert after["databases"]["DB01"]["lags"]["EX02"] == ("1.00:00:00", "02:00:00")
    assert (after["owa"], after["transport"]) == (before["owa"], before["transport"])
