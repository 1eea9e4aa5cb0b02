"""End to end: playbooks/recover_exchange_server.yml recovers each example estate of a lost server, and a second run
changes nothing.

The estates (tests/simulator/estates/recover_exchange*.yml): Exchange 2010 SP3 multi-role on Server 2012 R2 (Setup.com),
2016 CU21 in a custom folder on Server 2016 (legacy license switch, /TargetDir), 2019 CU14 on Server 2019 and Subscription
Edition on Server 2022 (_DiagnosticDataOFF). Each playbook run is real ansible-playbook over WinRM; the host is read back
afterwards with load_host, independently of the server and of Ansible. Two estates run at a time.
"""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path
from typing import Any

import pytest

from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATES = REPO / "tests" / "simulator" / "estates"
VARS = ESTATES / "vars" / "recover_exchange.yml"
PLAYBOOK = REPO / "playbooks" / "recover_exchange_server.yml"
CASES: dict[str, dict[str, Any]] = {
    "recover_exchange2010.yml": {"host": "EX2010", "key": r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14", "version": "14.3.123.4",
                                 "command": r'"E:\Setup.com" /m:RecoverServer', "service": "MSExchangeSA"},
    "recover_exchange2016.yml": {"host": "EX01", "key": r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15", "version": "15.1.2308.8",
                                 "command": r'"E:\Setup.exe" /m:RecoverServer /IAcceptExchangeServerLicenseTerms /TargetDir:"D:\Exchange Server\V15"',
                                 "service": "MSExchangeUM"},
    "recover_exchange2019.yml": {"host": "EX01", "key": r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15", "version": "15.2.1544.4",
                                 "command": r'"E:\Setup.exe" /Mode:RecoverServer /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF',
                                 "service": "MSExchangeMitigation"},
    "recover_exchange_se.yml": {"host": "EX01", "key": r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15", "version": "15.2.2562.17",
                                "command": r'"E:\Setup.exe" /Mode:RecoverServer /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF',
                                "service": "MSExchangeMitigation"},
}  # fmt: skip


def recap(output: str, host: str) -> dict[str, int]:
    match = re.search(rf"^{host}\s+:\s+(.*)$", output, re.M)
    assert match, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def recover(estate: str, tmp_path: Path) -> list[str]:
    """Run the playbook twice on one estate; return the problems found (empty when it behaved)."""
    case = CASES[estate]
    problems: list[str] = []
    with running_estate(ESTATES / estate, tmp_path / estate.removesuffix(".yml")) as lab:
        before = lab.host(case["host"]).boot_time
        first = lab.playbook(PLAYBOOK, "-e", f"@{VARS}", timeout=900)
        stats = recap(first.stdout, case["host"])
        if first.returncode != 0 or stats["failed"] or stats["changed"] == 0:
            return [f"{estate}: first run rc={first.returncode} {stats}\n{first.stdout[-4000:]}"]
        if case["command"] not in first.stdout.replace("\\\\", "\\").replace("\\\"", "\""):  # the JSON-escaped debug output
            problems.append(f"{estate}: the plan does not show {case['command']}")
        host = lab.host(case["host"])
        role_keys = [k for k in host.reg_subkeys(case["key"]) if k.endswith("Role")]
        configured = {k: (host.reg_values(rf"{case['key']}\{k}").get("ConfiguredVersion") or None) for k in role_keys}
        if not role_keys or any(v is None or v.data != case["version"] for v in configured.values()):
            problems.append(f"{estate}: role keys not configured with {case['version']}: {configured}")
        if host.service(case["service"]) is None or host.service("MSExchangeADTopology").state != "running":
            problems.append(f"{estate}: services missing or not running after the restart")
        if host.boot_time <= before:
            problems.append(f"{estate}: the host was not restarted")
        if "completed successfully" not in host.read_bytes(r"C:\ExchangeSetupLogs\ExchangeSetup.log").decode():
            problems.append(f"{estate}: ExchangeSetup.log has no success line")
        second = lab.playbook(PLAYBOOK, "-e", f"@{VARS}", timeout=600)
        again = recap(second.stdout, case["host"])
        if second.returncode != 0 or again["changed"] != 0 or again["failed"]:
            problems.append(f"{estate}: the second run changed something or failed: {again}\n{second.stdout[-3000:]}")
    return problems


def test_the_playbook_recovers_every_example_estate_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda estate: recover(estate, tmp_path), CASES))
    problems = [p for result in results for p in result]
    assert not problems, "\n\n".join(problems)
