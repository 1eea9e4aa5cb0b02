"""End to end: the DR run's `databases` phase with the real ansible-playbook over WinRM, on the restore_database_role
target's estate (EX01: Exchange 2019 recovered already; DB02 lost with its backup in C:\\Backups, DB03 in Dirty Shutdown with
every log). The plan (--check) names the phase and changes nothing, the run restores and mounts both databases and the DR
report records the phase, a second run changes nothing; a run without a list has no databases phase. The run is at -vvv and the shell password never appears."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from simulator.exchange import store
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "integration" / "targets" / "restore_database_role" / "estate.yml"
PASSWORD = "Contoso-Adm1n!"
VARIABLES: dict[str, object] = {
    "dr_run_exchange_hosts": "dr_databases",
    "dr_run_email_router_hosts": "no_email_router_hosts",  # a group the inventory does not have: no router in this run
    "restore_database_databases": [{"name": "DB02", "restore_from": "C:\\Backups\\DB02"}, {"name": "DB03"}],
    "restore_database_exchange_username": "CONTOSO\\Administrator",
    "restore_database_exchange_password": PASSWORD,
    "restore_database_become": True,
    "restore_database_become_user": "CONTOSO\\Administrator",
    "ansible_become_password": PASSWORD,
}


def test_the_databases_phase_is_planned_run_reported_and_idempotent(tmp_path: Path) -> None:
    estate = yaml.safe_load(ESTATE.read_text())
    estate["hosts"]["EX01"]["groups"].append("dr_databases")  # the DR run's Exchange servers: EX01 only
    with running_estate(estate, tmp_path / "state") as lab:
        variables = tmp_path / "vars.json"
        variables.write_text(json.dumps({**VARIABLES, "verify_report_dir": str(tmp_path / "verify")}))
        reports = tmp_path / "reports"
        env = {"ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report", "EXCHANGE_DR_REPORT_DIR": str(reports)}

        def run(*args: str, variables: Path = variables) -> tuple[str, dict]:
            result = lab.playbook("exchange_dr.recovery.dr_run", "-e", f"@{variables}", "-vvv", *args, env=env)
            assert result.returncode == 0, result.stdout[-6000:]
            assert PASSWORD not in result.stdout, "the password reached the -vvv output"
            return result.stdout, json.loads((reports / "dr_report.json").read_text())

        def mounted() -> list[bool]:
            live = lab.host("EX01")
            return [store.is_mounted(live, live.estate.domain.exchange.database(n)) for n in ("DB02", "DB03")]

        out, report = run("--check")
        assert "databases: bring back 2 database(s) - DB02, DB03" in out, out[out.find("DR plan for") :][:3000]
        assert report["outcome"] == "planned" and report["hosts"]["EX01"]["phases"]["databases"] == "changed", report["hosts"]
        assert "DB02: restore (would run in check mode); DB03: recover (would run in check mode)" in out
        assert mounted() == [False, False]

        out, report = run()
        assert report["outcome"] == "succeeded" and report["hosts"]["EX01"]["phases"]["databases"] == "changed", report["hosts"]
        assert "DB02: restore, mounted; DB03: recover, mounted" in out
        assert mounted() == [True, True]

        out, report = run()
        assert report["hosts"]["EX01"]["phases"]["databases"] == "ok", report["hosts"]
        assert re.search(r"EX01\s+: ok=\d+\s+changed=0", out), out[-3000:]

        # without a list the run has no databases phase: no play, no report column
        plain = tmp_path / "plain.json"
        plain.write_text(json.dumps({k: v for k, v in json.loads(variables.read_text()).items() if k != "restore_database_databases"}))
        out, report = run("--check", variables=plain)
        assert "databases" not in report["hosts"]["EX01"]["phases"] and "databases:" not in out[out.find("DR plan for") :][:600]
