"""exchange_database over real WinRM when the connection drops: a run cut off at its last module execution (the one that
runs eseutil /r and mounts) completes when it is run again, whether the steps ran and only the answer was lost, or they
never ran and the host restarted.

The fault is `drop_connection` (simulator/faults.py) aimed at one WinRM Command: the action plugin makes one module
execution per Command (read, inspect, apply), so the third Command of a run is the apply. The count is made here by
wrapping the in-process server's per-Command fault decision - what the fault's own `skip` parameter will express once it is
there - so the drop lands on that Command every time, with no timing involved."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from simulator.exchange import ese, store
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "integration" / "targets" / "exchange_database" / "estate.yml"
LOGIN = {"exchange_username": "CONTOSO\\Administrator", "exchange_password": "Contoso-Adm1n!"}
BECOME = ["-b", "--become-method", "runas", "--become-user", "CONTOSO\\Administrator", "-e", "ansible_become_password=Contoso-Adm1n!"]


def result_of(output: str) -> dict[str, Any]:
    """The task result of `ansible HOST -m ...`: the JSON after 'HOST | STATUS => '."""
    start = output.index(" => {", output.index("EX01 | ")) + 4
    return json.loads(output[start : output.rindex("}") + 1])


def aim_at_command(server: Any, host: str, number: int, decision: str, then: Callable[[], None] | None = None) -> list[int]:
    """The `number`th WinRM Command to `host` from now on gets `decision` ('drop-receive': it runs, its output is not sent;
    'drop': it does not run); `then` runs at that moment. Returns the running count."""
    seen = [0]
    original = server._command_fault

    def decide(name: str) -> str | None:
        if name.upper() != host.upper():
            return original(name)
        seen[0] += 1
        if seen[0] == number:
            if then is not None:
                then()
            return decision
        return original(name)

    server._command_fault = decide
    return seen


def test_a_dropped_answer_after_eseutil_r_and_mount(tmp_path) -> None:
    with running_estate(yaml.safe_load(ESTATE.read_text()), tmp_path / "state", in_process=True) as lab:
        args = json.dumps({"name": "DB02", "restore_from": "\\\\FS01\\Backups\\EX01\\DB02", **LOGIN})
        seen = aim_at_command(lab.server, "EX01", 3, "drop-receive")
        cut = lab.ansible("EX01", "-m", "exchange_dr.recovery.exchange_database", "-a", args, *BECOME)
        assert "EX01 | FAILED!" in cut.stdout and "Remote end closed connection" in cut.stdout, cut.stdout
        assert seen[0] == 3
        live = lab.server.estate.host("EX01")
        db = live.estate.domain.exchange.database("DB02")
        assert store.is_mounted(live, db), "the apply did not run before its answer was lost"

        again = lab.ansible("EX01", "-m", "exchange_dr.recovery.exchange_database", "-a", args, *BECOME, "-vvv")
        assert "EX01 | SUCCESS" in again.stdout, again.stdout
        assert LOGIN["exchange_password"] not in again.stdout, "the password reached the -vvv output"
        result = result_of(again.stdout)
        assert result["changed"] is False and result["mounted"] is True and result["plan"] == []


def test_a_run_cut_off_by_a_restart_completes_after_it(tmp_path) -> None:
    with running_estate(yaml.safe_load(ESTATE.read_text()), tmp_path / "state", in_process=True) as lab:
        live = lab.server.estate.host("EX01")
        booted = live.boot_time
        args = json.dumps({"name": "DB03", **LOGIN})
        aim_at_command(lab.server, "EX01", 3, "drop", then=lambda: live.reboot(user="NT AUTHORITY\\SYSTEM", comment="power cut"))
        cut = lab.ansible("EX01", "-m", "exchange_dr.recovery.exchange_database", "-a", args)
        assert "EX01 | FAILED!" in cut.stdout or "UNREACHABLE" in cut.stdout, cut.stdout
        assert ese.read_database(live, "D:\\DB03\\DB03.edb")["state"] == ese.DIRTY, "the apply ran although its Command was dropped"

        deadline = time.monotonic() + 60
        while not (live.is_up() and live.boot_time != booted and store.information_store_running(live)):
            assert time.monotonic() < deadline, "EX01 did not come back"
            time.sleep(0.05)
        done = lab.ansible("EX01", "-m", "exchange_dr.recovery.exchange_database", "-a", args)
        assert "EX01 | CHANGED" in done.stdout, done.stdout
        result = result_of(done.stdout)
        assert result["action"] == "recover" and [s["step"] for s in result["steps"]] == ["eseutil_recover", "mount"]
        assert store.is_mounted(live, live.estate.domain.exchange.database("DB03"))
