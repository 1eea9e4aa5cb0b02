"""End to end: the DR kit (issue 13, docs/dr-kit.md) with the real ansible-playbook over WinRM on the demo estate.

1. The healthy estate: EX01 runs Exchange 2019 CU14, customised as administrators do (a CA-issued certificate enabled for IIS
   and SMTP, OWA/ECP/EWS URLs on mail.contoso.com, Basic authentication on EWS, a relay receive connector, a larger message
   size on the default frontend connector, a transport setting, an EdgeTransport.exe.config edit). The playbook
   `exchange_dr.recovery.capture_dr_kit` writes its kit on the controller; run again, it says nothing changed.
2. The loss: EX01's disk is thrown away (tests/tools/dr_estate.py does the same for molecule).
3. `exchange_dr.recovery.dr_run --check` plans the reapply phase from the kit alone (the server is not recovered yet); its
   DR report lists the planned steps.
4. `exchange_dr.recovery.dr_run` with the kit, at -vvvv with the DR report: Setup /Mode:RecoverServer rebuilds EX01 with its
   defaults (a new self-signed certificate, default URLs, connectors and .config files), then the `reapply` phase puts the
   kit back. A second run changes nothing in that phase.

EX01 is read back from its state on disk (lab.host), independently of the server and of Ansible: the certificate and its services, the URLs,
the connectors, the transport setting and the .config file are what they were before the loss. The kit password and the
certificate's private key appear nowhere in the output at -vvvv, the DR report or unencrypted in the kit.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from simulator.exchange import server_config
from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

DEMO = REPO / "tests" / "simulator" / "estates" / "demo.yml"
VARS = REPO / "tests" / "demo" / "dr_run_vars.yml"
PASSWORD = "Kit-E2E-Passw0rd!"
INSTALL = r"C:\Program Files\Microsoft\Exchange Server\V15"
CUSTOM: dict[str, Any] = {
    "certificates": [
        {
            "subject": "CN=mail.contoso.com",
            "domains": ["mail.contoso.com", "autodiscover.contoso.com"],
            "issuer": "CN=Contoso Issuing CA",
            "services": ["IIS", "SMTP"],
            "exportable": True,
            "friendly_name": "Contoso 2026",
        }
    ],
    "virtual_directories": {
        "owa": {"InternalUrl": "https://mail.contoso.com/owa", "ExternalUrl": "https://mail.contoso.com/owa"},
        "ecp": {"InternalUrl": "https://mail.contoso.com/ecp", "ExternalUrl": "https://mail.contoso.com/ecp"},
        "ews": {"ExternalUrl": "https://mail.contoso.com/EWS/Exchange.asmx", "BasicAuthentication": True},
    },
    "receive_connectors": [
        {
            "Name": "Relay EX01",
            "Bindings": ["0.0.0.0:25"],
            "RemoteIPRanges": ["10.0.0.20"],
            "TransportRole": "FrontendTransport",
            "PermissionGroups": "AnonymousUsers",
            "AuthMechanism": "ExternalAuthoritative",
        },
        {"Name": "Default Frontend EX01", "MaxMessageSize": "50 MB (52,428,800 bytes)"},
    ],
    "transport": {"MaxOutboundConnections": "500"},
    "config_files": {"Bin\\EdgeTransport.exe.config": {"app_settings": {"QueueDatabaseMaxConnections": "20"}}},
}


def healthy_estate() -> dict[str, Any]:
    doc = yaml.safe_load(DEMO.read_text())
    doc["hosts"]["EX01"].setdefault("state", {}).update(exchange=True, exchange_config=copy.deepcopy(CUSTOM))
    return doc


def configuration(host: Any) -> dict[str, Any]:
    """What the kit is about, read straight from the simulated host: certificates (subject -> services, key exportable), URLs
    and authentication, connectors, transport settings, the edited .config file's settings."""
    st = server_config.state(host)
    certs = {
        server_config.certificate_object(c)["Subject"]: (sorted(c["services"]), c["exportable"]) for c in st["certificates"].values() if not c["self_signed"]
    }
    return {
        "certificates": certs,
        "virtual_directories": {t: v["settings"] for t, v in st["virtual_directories"].items()},
        "receive_connectors": {c["Name"]: c for c in st["receive_connectors"]},
        "transport": st["transport"],
        "edge_config": server_config.app_settings(host.read_bytes(rf"{INSTALL}\Bin\EdgeTransport.exe.config").decode()),
    }


def test_capture_lose_recover_and_reapply_brings_the_server_back(tmp_path: Path) -> None:
    state, kits, reports, plan_reports = tmp_path / "state", tmp_path / "kits", tmp_path / "reports", tmp_path / "plan_reports"
    env = {"ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report", "EXCHANGE_DR_REPORT_DIR": str(reports)}
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
            }
        )
    )

    # 1. the healthy estate and its kit
    with running_estate(healthy_estate(), state) as lab:
        before = configuration(lab.host("EX01"))
        key_pem = next(c["key_pem"] for c in server_config.state(lab.host("EX01"))["certificates"].values() if not c["self_signed"])
        first = lab.playbook(REPO / "playbooks" / "capture_dr_kit.yml", "-e", f"@{kit_vars}")
        assert first.returncode == 0, first.stdout[-4000:]
        second = lab.playbook(REPO / "playbooks" / "capture_dr_kit.yml", "-e", f"@{kit_vars}")
        assert second.returncode == 0, second.stdout[-4000:]
        assert "EX01: nothing changed since kit" in second.stdout
        inventory = (state / "inventory.yml").read_text()
    [version] = [p for p in (kits / "EX01").iterdir() if p.is_dir()]
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["dag"] == {**manifest["dag"], "member": False, "name": None}
    assert len([c for c in manifest["certificates"] if c["pfx"]]) == 1

    # 2. the loss
    shutil.rmtree(state / "hosts" / "EX01")

    # 3. the DR run with the kit, at -vvvv, and again
    with running_estate(DEMO, state) as lab:
        assert lab.host("EX01").service("MSExchangeIS") is None  # really lost
        plan_env = {**env, "EXCHANGE_DR_REPORT_DIR": str(plan_reports)}
        plan = lab.playbook(REPO / "playbooks" / "dr_run.yml", "--check", "-e", f"@{VARS}", "-e", f"@{kit_vars}", env=plan_env, timeout=600)
        assert plan.returncode == 0, plan.stdout[-6000:]
        assert "reapply: re-apply the DR kit" in plan.stdout
        run = lab.playbook(REPO / "playbooks" / "dr_run.yml", "-vvvv", "-e", f"@{VARS}", "-e", f"@{kit_vars}", env=env, timeout=1500)
        assert run.returncode == 0, run.stdout[-6000:]
        host = lab.host("EX01")
        after = configuration(host)
        rerun = lab.playbook(REPO / "playbooks" / "dr_run.yml", "-e", f"@{VARS}", "-e", f"@{kit_vars}", env=env, timeout=900)
        assert rerun.returncode == 0, rerun.stdout[-6000:]
        passwords = [p.split(": ", 1)[1].strip().strip('"') for p in inventory.splitlines() if "ansible_password" in p]

    # read back independently: what the kit recorded is there again
    assert after["certificates"] == {**before["certificates"]}
    assert after["certificates"]["CN=mail.contoso.com"] == (["IIS", "SMTP"], True)
    for vtype in ("owa", "ecp", "ews"):
        assert after["virtual_directories"][vtype] == before["virtual_directories"][vtype], vtype
    assert after["receive_connectors"]["Relay EX01"] == before["receive_connectors"]["Relay EX01"]
    assert after["receive_connectors"]["Default Frontend EX01"] == before["receive_connectors"]["Default Frontend EX01"]
    assert after["transport"]["MaxOutboundConnections"] == "500"
    assert after["edge_config"]["QueueDatabaseMaxConnections"] == "20"
    assert any(p.name.startswith("EdgeTransport.exe.config.exdr-") for p in (state / "hosts" / "EX01").rglob("*"))  # the default kept aside

    # the DR report lists each step of the reapply phase; the rerun had nothing to re-apply there
    def reapply_of(path: Path) -> dict[str, Any]:
        phases = {p["name"]: p for p in json.loads(path.read_text())["phases"]}
        assert "reapply" in phases, list(phases)
        return phases["reapply"]["hosts"]["EX01"]

    # the check run's report is the plan: the steps the kit would bring back, planned before the server exists again
    [plan_report] = sorted(plan_reports.glob("dr_report-*.json"))
    planned = reapply_of(plan_report)["changes"]
    assert any("import certificate" in str(c.get("item")) for c in planned), planned
    assert any("set owa virtual directory" in str(c.get("item")) for c in planned), planned

    first_report, second_report = sorted(reports.glob("dr_report-*.json"))
    changes = reapply_of(first_report)["changes"]
    assert any("import certificate" in str(c.get("item")) for c in changes), changes
    assert any("set owa virtual directory" in str(c.get("item")) for c in changes), changes
    assert reapply_of(second_report)["changes"] == [], reapply_of(second_report)

    # secrets: the kit password and the certificate's private key
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secrets = {"kit password": PASSWORD.encode(), "private key (PEM body)": key_pem.splitlines()[1].encode(), "private key (DER)": der}
    secrets |= {f"inventory password {i}": p.encode() for i, p in enumerate(passwords) if len(p) >= 8}
    places = {"dr_run output (-vvvv)": run.stdout.encode(), "dr_run rerun output": rerun.stdout.encode(), "dr_run --check output": plan.stdout.encode()}
    places |= {f"report {p.name}": p.read_bytes() for folder in (reports, plan_reports) for p in folder.iterdir() if p.is_file()}
    places |= {f"kit {p.relative_to(kits)}": p.read_bytes() for p in kits.rglob("*") if p.is_file()}
    found = [f"{label} in {where}" for where, data in places.items() for label, value in secrets.items() if value in data or base64.b64encode(value) in data]
    assert "ESTABLISH WINRM CONNECTION FOR USER" in run.stdout and "dr_kit_apply" in run.stdout  # really -vvvv, with the re-apply
    assert secrets["private key (PEM body)"] in (state / "hosts" / "EX01" / "state.json").read_bytes()  # the search finds what is there
    assert not found, found
    assert (version / "manifest.json").stat().st_mode & 0o077 == 0  # the kit is the owner's only
