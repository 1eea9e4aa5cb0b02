"""End to end: the `exchange_dr.recovery.restore_database` playbook with the real ansible-playbook over WinRM on the three
version families at once (the restore_database_role target's estate: EX01 Exchange 2019, EX2010, EX2007 with storage
groups), each server with its own list in host_vars beside the inventory, as a real inventory holds it. --check changes
nothing, the run brings every database back and mounts it, a second run changes nothing; counted by the simulator: one
lost database restored = 3 module executions on its host. The password never appears in the -vvv output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from simulator.exchange import store
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

TARGET = REPO / "tests" / "integration" / "targets" / "restore_database_role"
PASSWORD = "Contoso-Adm1n!"
LOGIN = {
    "restore_database_exchange_username": "CONTOSO\\Administrator",
    "restore_database_exchange_password": PASSWORD,
    "restore_database_become": True,
    "restore_database_become_user": "CONTOSO\\Administrator",
    "ansible_become_password": PASSWORD,
}


def executions(before: dict, after: dict, host: str) -> int:
    return int((after.get(host) or {}).get("module_calls", 0)) - int((before.get(host) or {}).get("module_calls", 0))


def test_restore_database_playbook_on_2019_2010_and_2007(tmp_path: Path) -> None:
    lists = yaml.safe_load((TARGET / "defaults" / "main.yml").read_text())["rdb_databases"]
    with running_estate(TARGET / "estate.yml", tmp_path / "state", in_process=True) as lab:
        host_vars = lab.inventory.parent / "host_vars"
        host_vars.mkdir(exist_ok=True)
        for host, databases in lists.items():
            (host_vars / f"{host}.yml").write_text(yaml.safe_dump({"restore_database_databases": databases}))
        login = tmp_path / "login.json"
        login.write_text(json.dumps({**LOGIN, "restore_database_hosts": "integration_targets"}))

        def run(*args: str) -> str:
            result = lab.playbook("exchange_dr.recovery.restore_database", "-e", f"@{login}", "-vvv", *args)
            assert result.returncode == 0, result.stdout[-6000:]
            assert PASSWORD not in result.stdout, "the password reached the -vvv output"
            return result.stdout

        def mounted() -> dict[str, bool]:
            out = {}
            for host, databases in lists.items():
                live = lab.host(host)
                org = live.estate.domain.exchange
                for entry in databases:
                    db = next(d for d in org.databases.values() if d.name == entry["name"] and d.server == host)
                    out[entry["name"]] = store.is_mounted(live, db)
            return out

        run("--check")
        assert not any(mounted().values())

        before = lab.stats()
        out = run()
        after = lab.stats()
        assert all(mounted().values()), mounted()
        for host in lists:
            assert re.search(rf"{host}\s+: ok=\d+\s+changed=[1-9]", out), host
        # per lost database: exchange_database_info, inspect, apply; per database in Dirty Shutdown the same; plus one
        # exchange_retention read and apply for each declared retention
        retention = {host: sum(2 for d in databases if d.get("retention")) for host, databases in lists.items()}
        assert {h: executions(before, after, h) for h in lists} == {h: 3 * len(lists[h]) + retention[h] for h in lists}

        again = run()
        for host in lists:
            assert re.search(rf"{host}\s+: ok=\d+\s+changed=0", again), host
