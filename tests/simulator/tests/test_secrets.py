"""No password or key of the DR run appears anywhere it should not, at -vvvv, on a failing run and on its successful rerun.

The run (tests/tools/fault_matrix.py's runner, the demo estate, with --diff) recovers EX01 with the Email Router running as
a domain account whose password is a role variable, and the Email Router service stops after each start in the first run
(so the configuration step fails and rolls back, with messages); the rerun completes. Secrets: the inventory's passwords (also the
become password), the router's service password, the configuration set's EmailPassword (as stored and decrypted) and its
EncryptionKey.xml key. Searched (as UTF-8 and UTF-16): ansible's output at -vvvv, the ansible log, the DR report files (JSON,
JUnit) and the verify reports, the simulator's server.log, every host's event logs and registry, and every file on the hosts
but the configuration set itself (its place in the Service folder, its backups there and the backup on \\\\FS01 hold it by
design).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from simulator.estate import load_host
from tests.tools.fault_matrix import CONFIG, DEMO_ESTATE, KEY, Row, run_row

pytestmark = pytest.mark.slow

SERVICE_ACCOUNT = "CONTOSO\\svc-crm"
SET_FILES = {CONFIG.casefold(), KEY.casefold()}


def email_password_plaintext(value: str, key_b64: str) -> str:
    """The EmailPassword as the Email Router decrypts it: AES-CBC, key from EncryptionKey.xml, `<cipher>@<iv>` in base64."""
    body = value.split(":", 1)[1]
    cipher_b64, _sep, iv_b64 = body.rpartition("@")
    decryptor = Cipher(algorithms.AES(base64.b64decode(key_b64)), modes.CBC(base64.b64decode(iv_b64))).decryptor()
    padded = decryptor.update(base64.b64decode(cipher_b64)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8").strip()


def secrets(inventory: Path) -> dict[str, str]:
    doc = yaml.safe_load(DEMO_ESTATE.read_text())
    files = doc["hosts"]["FS01"]["state"]["files"]
    config = next(v["content"] for k, v in files.items() if k.endswith(CONFIG))
    key_file = next(v for k, v in files.items() if k.endswith(KEY))
    email_password = re.search(r"<EmailPassword>([^<]+)</EmailPassword>", config).group(1)
    key = re.search(r'Key="([^"]+)"', key_file).group(1)
    out = {
        "EmailPassword (as stored)": email_password,
        "EmailPassword (ciphertext)": email_password.split(":", 1)[1].rpartition("@")[0],
        "EmailPassword (decrypted)": email_password_plaintext(email_password, key),
        "EncryptionKey.xml key": key,
        "router service password": doc["domain"]["users"]["svc-crm"]["password"],
    }
    for host, spec in yaml.safe_load(inventory.read_text())["all"]["hosts"].items():
        out[f"{host} ansible_password"] = spec["ansible_password"]
    assert all(len(v) >= 8 for v in out.values()), out  # long enough that a match is a leak, not chance
    return out


def places(row_dir: Path, state: Path) -> Iterator[tuple[str, bytes]]:
    """(where, content) of everything that must stay free of secrets."""
    for path in sorted(row_dir.glob("*.log")):  # ansible output (-vvvv) and the ansible logs (ANSIBLE_LOG_PATH)
        yield path.name, path.read_bytes()
    for folder in sorted(row_dir.glob("reports-*")):  # DR report JSON + JUnit, verify reports
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield str(path.relative_to(row_dir)), path.read_bytes()
    yield "simulator server.log", (state / "server.log").read_bytes()
    for host_dir in sorted(p for p in (state / "hosts").iterdir() if p.is_dir()):
        host = load_host(state, host_dir.name)
        events = [f"{log}/{e.source}/{e.event_id}: {e.message}" for log, entries in host.state.events.items() for e in entries]
        yield f"{host.name} event logs", "\n".join(events).encode("utf-8")
        yield f"{host.name} registry", json.dumps(host.state.to_dict().get("registry"), default=str).encode("utf-8")
        for path in sorted(host.fs_root.rglob("*")):
            if path.is_file() and path.name.casefold() not in SET_FILES:
                yield f"{host.name}:{path.relative_to(host.fs_root)}", path.read_bytes()


def test_no_secret_at_vvvv_in_output_reports_logs_or_host_files(tmp_path: Path) -> None:
    vars_file = tmp_path / "router_account.yml"
    password = yaml.safe_load(DEMO_ESTATE.read_text())["domain"]["users"]["svc-crm"]["password"]
    vars_file.write_text(yaml.safe_dump({"email_router_service_account": SERVICE_ACCOUNT, "email_router_service_password": password}))
    row = Row("secrets", "secrets at -vvvv", faults=({"name": "service_stops_after_start", "host": "EX01", "target": "MSCRMEmail"},))

    result = run_row(row, tmp_path, verbosity=4, extra=("-e", f"@{vars_file}", "--diff"))

    assert not result.problem, result.problem
    assert result.faulted is not None and result.rerun is not None
    assert result.faulted.rc != 0 and result.faulted.phase.startswith("email_router"), (result.faulted.phase, result.faulted.error)
    assert result.rerun_completes, (result.rerun.error, result.router)
    assert result.ok, result.lost  # a fault matrix row too: the Email Router's service stops after start on a lost estate
    row_dir, state = tmp_path / "secrets", tmp_path / "secrets" / "state"
    output = (row_dir / "1-fault.log").read_text()
    assert "ESTABLISH WINRM CONNECTION FOR USER" in output and "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output  # really -vvvv
    assert load_host(state, "EX01").service("MSCRMEmail").account.casefold() == SERVICE_ACCOUNT.casefold()  # the password was used

    found = []
    checked = 0
    for where, content in places(row_dir, state):
        checked += 1
        for label, value in secrets(state / "inventory.yml").items():
            if value.encode("utf-8") in content or value.encode("utf-16-le") in content:
                found.append(f"{label} in {where}")
    assert checked > 30, checked
    assert not found, "secrets leaked:\n" + "\n".join(found)
