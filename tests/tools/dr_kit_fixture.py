"""The DR kits tests/integration/targets/dr_kit_apply re-applies, made the way the capture makes them: a simulated Exchange
2019 CU14 server EX01 customised as the dr_kit_capture target's estate describes (a CA-issued certificate enabled for IIS and
SMTP, virtual directory URLs, a relay connector, a transport setting, an EdgeTransport.exe.config edit) is read by the
dr_kit_capture twin and the kit is built and written by plugin_utils/_dr_kit.py. Also a kit of another server (EX99) and
one of another build (EX01 on 2019 CU13), which the re-apply must refuse.

    python -m tests.tools.dr_kit_fixture     # rewrites tests/integration/targets/dr_kit_apply/files/

The kit password is the target's test value (defaults/main.yml); nothing here is a secret.
"""

from __future__ import annotations

import copy
import datetime
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _dr_kit as kit
from simulator.testing import make_host
from simulator.twins import run_module

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "tests" / "integration" / "targets" / "dr_kit_apply"
CAPTURE_ESTATE = ROOT / "tests" / "integration" / "targets" / "dr_kit_capture" / "estate.yml"
PASSWORD = yaml.safe_load((TARGET / "defaults" / "main.yml").read_text())["dr_kit_apply_password"]
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 10, "free_gb": 5}, "E": {"size_gb": 10, "free_gb": 5}}


def capture(root: Path, name: str, version: str, dest: Path, when: datetime.datetime) -> Path:
    """Build `name` on Exchange `version` customised as the capture target's EX01 and write its kit to `dest`."""
    estate = yaml.safe_load(CAPTURE_ESTATE.read_text())
    domain = copy.deepcopy(estate["domain"])
    domain["computers"] = [name]
    domain["exchange"]["servers"] = {name: {"version": version, "roles": ["Mailbox"]}}
    domain["exchange"].pop("dags")
    domain["exchange"]["databases"] = {}
    seed = copy.deepcopy(estate["hosts"]["EX01"]["state"])
    for conn in seed["exchange_config"]["receive_connectors"]:
        conn["Name"] = conn["Name"].replace("EX01", name)
    host = make_host(root / f"{name}-{version}", name, seed=seed, domain=domain, drives=DRIVES)
    args: dict[str, Any] = {"_ansible_check_mode": False, "_ansible_module_name": "exchange_dr.recovery.dr_kit_capture", "exchange_shell": "snapin"}
    args.update(dest=str(dest), password=PASSWORD, _tables=kit.read_tables())
    rc, out = run_module("exchange_dr.recovery.dr_kit_capture", args, host, "CONTOSO\\Administrator")
    result = json.loads(out)
    if rc != 0:
        raise SystemExit(f"dr_kit_fixture: the capture of {name} failed: {result.get('msg')}")
    raw = result["_read"]
    raw["exchange"] = result["exchange"]
    manifest, files, _warnings = kit.assemble(
        raw, None, now=when, version=kit.version_name(when, []), previous=None, collection_version="0.1.0", password=PASSWORD
    )
    kit.finish_manifest(manifest, files)
    return kit.write_kit(dest, manifest, files)


def main() -> int:
    files = TARGET / "files"
    when = datetime.datetime(2026, 11, 21, 3, 0, 0, tzinfo=datetime.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "files"
        for folder, name, version in (("kits", "EX01", "15.2.1544.4"), ("other_server", "EX99", "15.2.1544.4"), ("other_build", "EX01", "15.2.1258.12")):
            path = capture(Path(tmp), name, version, out / folder, when)
            print(f"{path.relative_to(out)}")
        shutil.rmtree(files, ignore_errors=True)
        shutil.copytree(out, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
