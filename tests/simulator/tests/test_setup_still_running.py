"""A Setup that outlived the run that started it: recover_server must not start a second one.

When the controller loses a recovery (Ctrl-C, a dropped VPN, an AWX job killed), the async Setup keeps running on the host.
A rerun then finds incomplete-setup markers and would resume by starting Setup again. exchange_info reports the running
Setup processes and the preflight refuses, naming the process, until it has ended.
"""

from __future__ import annotations

import json

import pytest
import yaml

from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "simulator" / "estates" / "recover_exchange2019.yml"
EXSETUP = r"C:\Windows\Temp\ExchangeSetup\ExSetup.exe"
LOG = r"C:\ExchangeSetupLogs\ExchangeSetup.log"


def result_of(output: str) -> dict:
    """The module result of `ansible HOST -m ...`: the JSON after 'HOST | STATUS => ' (a failure prints an error first)."""
    return json.loads(output[output.index(" => {") + 4 : output.rindex("}") + 1])


def test_recover_server_refuses_while_a_setup_runs(tmp_path) -> None:
    with running_estate(yaml.safe_load(ESTATE.read_text()), tmp_path / "state", in_process=True) as lab:
        live = lab.server.estate.host("EX01")
        pid = live.start_process(EXSETUP, f"{EXSETUP} /Mode:RecoverServer /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF", "CONTOSO\\Administrator")
        # the running Setup writes its log and keeps it open: exchange_info must still read it (FileShare.ReadWrite)
        live.mkdir(r"C:\ExchangeSetupLogs")
        live.write_bytes(LOG, b"[05/04/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup\r\n")
        live.hold_open(LOG, pid, access="write", share="read")

        info = lab.ansible("EX01", "-m", "exchange_dr.recovery.exchange_info", "-a", r"setup_path=E:\Setup.exe")
        assert info.returncode == 0, info.stdout
        running = result_of(info.stdout)["setup_processes"]
        assert [(p["pid"], p["name"], p["path"]) for p in running] == [(pid, "ExSetup.exe", EXSETUP)]
        assert result_of(info.stdout)["setup_log"]["lines"] == ["[05/04/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup"]

        refused = lab.ansible("EX01", "-m", "exchange_dr.recovery.recover_server", "-a", r"setup_path=E:\Setup.exe")
        assert refused.returncode != 0, refused.stdout
        verdict = result_of(refused.stdout)
        assert verdict["check"] == "setup_running"
        assert f"ExSetup.exe, process {pid}" in verdict["msg"]
        assert lab.host("EX01").read_bytes(LOG).count(b"Starting Microsoft") == 1, "a second Setup was started"

        live.end_process(pid)
        plan = lab.ansible("EX01", "-m", "exchange_dr.recovery.recover_server", "-a", r"setup_path=E:\Setup.exe", "--check")
        assert plan.returncode == 0, plan.stdout
        assert result_of(plan.stdout)["action"] == "recover"
