"""End to end: the `exchange_dr.recovery.restore_email_router` playbook with the real ansible-playbook over WinRM, on the Email
Router estate (tests/simulator/estates/email_router.yml: a rebuilt EX01 without the router, backups and media on \\\\FS01).

Three recoveries on the same host - from the share's backup (the router is reinstalled first), from a backup on the controller,
from a declared definition - each run twice (the second run changes nothing), with the host read back independently of the
server (load_host). Every run is at -vvv, and no password, encrypted password or key may appear in its output.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from simulator.testing import running_estate

pytestmark = pytest.mark.slow

ESTATE = Path(__file__).resolve().parents[1] / "estates" / "email_router.yml"
BACKUP = r"D:\Backups\EmailRouter\2024-05-01"
SERVICE_FOLDER = r"C:\Program Files\Microsoft CRM Email\Service"
SET = (
    "Microsoft.Crm.Tools.EmailAgent.xml",
    "EncryptionKey.xml",
    "Microsoft.Crm.Tools.EmailAgent.SystemState.xml",
    "Microsoft.Crm.Tools.EmailAgent.Configuration.bin",
)
SVC_PASSWORD = "Crm-Svc-Passw0rd!"
DEFINITION_PASSWORD = "Rebuilt-Mailbox-Passw0rd!"
COMMON = {
    "email_router_installer_path": r"\\FS01\Media\CRM2016\EmailRouter\amd64\SetupEmailRouter.exe",
    "email_router_service_account": "CONTOSO\\svc-crm",
    "email_router_service_password": SVC_PASSWORD,
    "email_router_organization": "Contoso",
    "email_router_verify_seconds": 20,
    "email_router_become": True,
    "ansible_become_password": "{{ ansible_password }}",
}


def recap_changed(stdout: str) -> int:
    match = re.search(r"EX01\s+: ok=\d+\s+changed=(\d+)", stdout)
    assert match, stdout
    return int(match.group(1))


def test_restore_email_router_playbook(tmp_path: Path) -> None:
    with running_estate(ESTATE, tmp_path / "state") as lab:
        fs01 = lab.host("FS01")
        backup = {name: fs01.read_bytes(f"{BACKUP}\\{name}") for name in SET}
        secrets = [SVC_PASSWORD, DEFINITION_PASSWORD]
        secrets += re.findall(rb"<EmailPassword>([^<]+)</EmailPassword>", backup[SET[0]])[0:2]
        secrets.append(re.search(rb'Key="([^"]+)"', backup[SET[1]]).group(1))
        secrets = [s.decode() if isinstance(s, bytes) else s for s in secrets]

        def run(name: str, variables: dict[str, object]) -> str:
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps({**COMMON, **variables}))
            result = lab.playbook("exchange_dr.recovery.restore_email_router", "-e", f"@{path}", "-vvv")
            assert result.returncode == 0, result.stdout[-6000:]
            leaked = [i for i, s in enumerate(secrets) if s in result.stdout]
            assert leaked == [], f"secret(s) {leaked} in the -vvv output of {name}"
            return result.stdout

        def placed() -> dict[str, str | None]:
            ex01 = lab.host("EX01")
            return {n: hashlib.sha256(ex01.read_bytes(f"{SERVICE_FOLDER}\\{n}")).hexdigest() if ex01.exists(f"{SERVICE_FOLDER}\\{n}") else None for n in SET}

        # 1. from the share: the router is reinstalled, the whole set put back
        assert lab.host("EX01").service("MSCRMEmail") is None
        out = run("share", {"email_router_backup_remote_path": "\\\\FS01\\Backups\\EmailRouter\\2024-05-01"})
        assert '"config_source": "remote_src"' in out and '"installed_now": true' in out
        assert placed() == {n: hashlib.sha256(d).hexdigest() for n, d in backup.items()}
        ex01 = lab.host("EX01")
        assert ex01.service("MSCRMEmail").state == "running" and ex01.service("MSCRMEmail").account == "CONTOSO\\svc-crm"
        assert recap_changed(run("share-again", {"email_router_backup_remote_path": "\\\\FS01\\Backups\\EmailRouter\\2024-05-01"})) == 0

        # 2. from a backup kept on the controller (an older copy: another log level, no .bin)
        local = tmp_path / "controller-backup"
        local.mkdir()
        for name in SET[:3]:
            data = backup[name].replace(b"<LogLevel>1</LogLevel>", b"<LogLevel>3</LogLevel>")
            (local / name).write_bytes(data)
        out = run("controller", {"email_router_backup_local_path": str(local)})
        assert '"config_source": "src"' in out and '"installed_now": false' in out
        assert placed() == {**{n: hashlib.sha256((local / n).read_bytes()).hexdigest() for n in SET[:3]}, SET[3]: None}
        assert recap_changed(run("controller-again", {"email_router_backup_local_path": str(local)})) == 0

        # 3. rebuilt from a definition
        definition = {
            "crm_server_url": "https://crm.contoso.local/Contoso",
            "profiles": [
                {"name": "Exchange", "direction": "incoming", "email_server": "https://ex01.contoso.local/EWS/Exchange.asmx",
                 "access_credentials": "Other", "user": "CONTOSO\\svc-crm", "password": DEFINITION_PASSWORD},
                {"name": "Smtp", "direction": "outgoing", "email_server": "ex01.contoso.local", "port": 25, "access_credentials": "Self"},
            ],
            "queues": [{"email": "sales@contoso.local", "queue_id": "5d1f8c2a-3b4e-4f60-8a7b-9c0d1e2f3a4b", "incoming_profile": "Exchange",
                        "outgoing_profile": "Smtp"}],
            "forward_mailboxes": [{"email": "crm-forward@contoso.local", "incoming_profile": "Exchange", "delete_emails": True}],
        }  # fmt: skip
        out = run("definition", {"email_router_definition": definition})
        assert '"config_source": "definition"' in out and "processed again" in out
        ex01 = lab.host("EX01")
        text = ex01.read_bytes(f"{SERVICE_FOLDER}\\{SET[0]}").decode()
        assert text.count("<ProviderConfiguration>") == 3 and "<IsForwardMailbox>True</IsForwardMailbox>" in text
        assert placed()[SET[1]] is None and ex01.service("MSCRMEmail").state == "running"
        assert recap_changed(run("definition-again", {"email_router_definition": definition})) == 0
        backups = ex01.listdir(r"C:\Program Files\Microsoft CRM Email\ConfigurationBackups")
        assert len(backups) == 3  # one previous set kept per placement
