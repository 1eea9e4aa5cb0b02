"""End to end: the DR kit exported from a healthy Exchange 2013 Edge Transport server, then exchange_dr.recovery.dr_run
recovers a lost Exchange 2013 Mailbox server (Setup /Mode:RecoverServer) and the lost Edge (its configuration from the kit,
a new Edge Subscription from the recovered Mailbox server, a check of its queue database) in one run.

The estate: tests/simulator/estates/dr_edge2013.yml (after the loss); before the loss EX01 runs its Exchange and EDGE01 is a
configured, subscribed Edge. The loss throws both hosts' disks away (as tests/tools/dr_estate.py does) and starts the estate
again from the file: EX01 is a bare Windows with the media, EDGE01 a clean Edge installation. The plan (--check, nothing
changes), the run, then the run again: the second changes nothing. Every run is real ansible-playbook over WinRM; the hosts
and the organisation are read back from the state afterwards. Kept lean for make test's time: one real DR run and its
rerun; an interrupted run is the plan's business (tests/unit/plugins/plugin_utils/test_dr_plan.py: a finished phase is left
out) and each module's (its integration target runs it twice).

The module executions and WinRM requests the Edge's recovery cost are printed (pytest -s) and kept in
`<tmp>/edge-figures.json`: docs/transport-and-edge.md quotes them.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.exchange import edge
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "simulator" / "estates" / "dr_edge2013.yml"
VARS = REPO / "tests" / "simulator" / "estates" / "vars" / "dr_edge.yml"
CERTIFICATE = "7A1B2C3D4E5F60718293A4B5C6D7E8F901234567"  # the organisation's subscription of the lost EDGE01 (estate file)
PARTNERS = {"Name": "Partners", "Bindings": ["0.0.0.0:2525"], "RemoteIPRanges": ["192.0.2.0/24"], "Fqdn": "mail.contoso.com"}


def healthy_estate() -> dict[str, Any]:
    """The estate before the loss: EX01 runs its Exchange, EDGE01 is configured and subscribed."""
    doc = yaml.safe_load(ESTATE.read_text())
    doc["hosts"]["EX01"]["state"]["exchange"] = True
    doc["hosts"]["EDGE01"]["state"]["edge"] = {
        "receive_connectors": [
            {"Name": "Default internal receive connector EDGE01", "Bindings": ["0.0.0.0:25"], "RemoteIPRanges": ["0.0.0.0-255.255.255.255"], "Fqdn": "EDGE01"},
            copy.deepcopy(PARTNERS),
        ],
        "certificate": CERTIFICATE,
        "subscribed": {"site": "Default-First-Site-Name", "organization": "Contoso"},
    }
    return doc


def recap(output: str, host: str) -> dict[str, int]:
    match = re.search(rf"^{host}\s+:\s+(.*)$", output, re.M)
    assert match, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def counters(stats: dict[str, Any], host: str) -> dict[str, float]:
    per_host = (stats.get("hosts", stats).get(host)) or {}
    return {k: float(per_host.get(k, 0) or 0) for k in ("module_calls", "requests")}


def delta(before: dict[str, Any], after: dict[str, Any], host: str) -> dict[str, float]:
    b, a = counters(before, host), counters(after, host)
    return {k: a[k] - b[k] for k in a}


def modules_run(before: dict[str, Any], after: dict[str, Any], host: str) -> dict[str, float]:
    b = ((before.get("hosts", before).get(host)) or {}).get("modules", {})
    a = ((after.get("hosts", after).get(host)) or {}).get("modules", {})
    out = {m.split(".")[-1]: float(c.get("calls", 0)) - float((b.get(m) or {}).get("calls", 0)) for m, c in a.items()}
    return {m: c for m, c in sorted(out.items()) if c}


def test_dr_run_recovers_a_lost_mailbox_server_and_a_lost_edge_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    state, kit, reports = tmp_path / "state", tmp_path / "kit", tmp_path / "reports"
    common = ["-e", f"@{VARS}", "-e", f"recover_edge_kit_dir={kit}", "-e", f"verify_report_dir={reports}"]

    # before the loss: the DR kit, exported from the healthy Edge
    with running_estate(healthy_estate(), state) as lab:
        exported = lab.playbook("exchange_dr.recovery.recover_edge", "-e", "recover_edge_state=exported", *common, timeout=300)
        assert exported.returncode == 0, exported.stdout[-4000:]
    assert sorted(p.name for p in kit.iterdir()) == ["EDGE01.CloneConfigData.xml", "EDGE01.edge-definition.yml"]
    assert "Partners" in (kit / "EDGE01.CloneConfigData.xml").read_text()

    # the loss: both disks gone; EX01 comes back as a bare Windows, EDGE01 as a clean Edge installation
    for host in ("EX01", "EDGE01"):
        shutil.rmtree(state / "hosts" / host)
    env = {"ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report", "EXCHANGE_DR_REPORT_DIR": str(reports), "EXCHANGE_DR_REPORT_CONSOLE": "false"}
    with running_estate(ESTATE, state) as lab:
        assert edge.load(lab.host("EDGE01"))["certificate"] != CERTIFICATE

        # check mode: the plan, nothing changes
        check = lab.playbook("exchange_dr.recovery.dr_run", "--check", *common, timeout=600, env=env)
        assert check.returncode == 0, check.stdout[-5000:]
        for line in ("edge_config: import", "ImportEdgeConfig.ps1", "edge_subscription: subscribe EDGE01", "transport_queue: read the queue database"):
            assert line in check.stdout, line
        assert not any(c["Name"] == "Partners" for c in edge.load(lab.host("EDGE01"))["receive_connectors"])
        assert "EDGE01.EdgeSubscriptionInfo.xml" not in {p.name for p in kit.iterdir()}

        before = lab.stats()
        first = lab.playbook("exchange_dr.recovery.dr_run", *common, timeout=1500, env=env)
        after = lab.stats()
        assert first.returncode == 0, first.stdout[-6000:]
        ex01 = lab.host("EX01")
        role = ex01.reg_values(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole")
        assert role.get("ConfiguredVersion") is not None and role["ConfiguredVersion"].data == "15.0.1497.2"
        assert ex01.service("MSExchangeTransport").state == "running"
        data = edge.load(lab.host("EDGE01"))
        assert any(c["Name"] == "Partners" for c in data["receive_connectors"])  # the configuration from the kit
        assert [c["Name"] for c in data["send_connectors"]] == [
            "EdgeSync - Default-First-Site-Name to Internet",
            "EdgeSync - Inbound to Default-First-Site-Name",
        ]
        record = lab.estate.domain.exchange.edge_subscriptions["EDGE01"]
        assert record["status"] == "Normal" and record["certificate"] == data["certificate"] and data["subscription"]["esra"] == ["EX01"]
        assert "EDGE01.EdgeSubscriptionInfo.xml" not in {p.name for p in kit.iterdir()}  # it held a password: deleted after the import
        # the subscription file (the ESBRA's password in clear text) is nowhere in the output or the report; EdgeSync used the
        # password once and dropped it, so its content is looked for (the plugins' unit tests look for the password itself)
        for text in [first.stdout] + [f.read_text(errors="replace") for f in reports.iterdir() if f.is_file()]:
            assert "ESRAPassword" not in text and "EdgeSubscriptionData" not in text
        report = json.loads((reports / "dr_report.json").read_text())
        phases = [p["name"] for p in report["phases"]]
        for phase in ("edge_config", "edge_subscription", "transport_queue", "final_verify"):
            assert phase in phases, phases
        assert {h: report["hosts"][h]["outcome"] for h in ("EX01", "EDGE01")} == {"EX01": "recovered", "EDGE01": "recovered"}

        second = lab.playbook("exchange_dr.recovery.dr_run", *common, timeout=900)
        again_stats = lab.stats()
        assert second.returncode == 0, second.stdout[-5000:]
        for host in ("EX01", "EDGE01"):
            again = recap(second.stdout, host)
            assert again["changed"] == 0 and again["failed"] == 0, (host, again, second.stdout[-5000:])

    figures = {
        "full_run": {"edge": delta(before, after, "EDGE01"), "edge_modules": modules_run(before, after, "EDGE01"),
                     "mailbox": delta(before, after, "EX01"), "mailbox_modules": modules_run(before, after, "EX01")},
        "second_run": {"edge": delta(after, again_stats, "EDGE01"), "edge_modules": modules_run(after, again_stats, "EDGE01"),
                       "mailbox_modules": modules_run(after, again_stats, "EX01")},
    }  # fmt: skip
    (tmp_path / "edge-figures.json").write_text(json.dumps(figures, indent=1))
    print("\nDR run (lost EX01 + lost EDGE01):", json.dumps(figures, indent=1))
