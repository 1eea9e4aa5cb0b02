"""Run the collection's integration targets against simulated estates with ansible-test windows-integration.

Each target in tests/integration/targets/<name>/ that has an `estate.yml` gets its own simulated estate: the runner starts it
(every address `auto`), writes an INI inventory (ansible-test copies it to `inventory.winrm`, which only the INI parser reads),
runs `ansible-test windows-integration --inventory <file> <name>`, and stops the estate. The targets themselves know nothing of
the simulator, so the same command runs them against real hosts:

    ansible-test windows-integration --inventory /path/to/inventory.winrm <target>

Hosts in the estate's inventory group `integration_targets` form the `windows` group the target plays against; without that
group every host does. All other hosts and groups stay in the inventory (for delegation, e.g. a file server).

Usage: python -m tests.tools.run_integration [--jobs N] [--keep] [TARGET ...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulator.testing import running_estate

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "tests" / "integration" / "targets"
COLLECTION_LINK = ROOT / ".collections" / "ansible_collections" / "exchange_dr" / "recovery"
WORK = ROOT / ".work" / "integration"
ANSIBLE_TEST_HOME = ROOT / ".work" / "ansible-test-home"
SKIP_ALIASES = {"disabled", "unsupported", "unstable"}
_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_./:@-]+$")  # no backslash: INI host lines are split like a shell line


@dataclass
class Outcome:
    target: str
    returncode: int
    seconds: float
    log: Path


def discover(names: list[str]) -> list[str]:
    available = []
    for target in sorted(p for p in TARGETS.iterdir() if p.is_dir()) if TARGETS.is_dir() else []:
        aliases = set((target / "aliases").read_text().split()) if (target / "aliases").is_file() else set()
        if (target / "estate.yml").is_file() and not aliases & SKIP_ALIASES:
            available.append(target.name)
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(f"run_integration: no runnable target named {', '.join(unknown)} (a target needs an estate.yml and aliases)")
    return names or available


def _ini_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if _PLAIN_VALUE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ini_inventory(inventory: dict[str, Any]) -> str:
    """The simulator's YAML inventory as INI, with `windows` narrowed to the estate's integration_targets group."""
    root = inventory["all"]
    hosts: dict[str, dict[str, Any]] = root.get("hosts") or {}
    groups: dict[str, list[str]] = {name: list((group or {}).get("hosts") or {}) for name, group in (root.get("children") or {}).items()}
    playing = groups.get("integration_targets") or groups.get("windows") or list(hosts)
    groups["windows"] = playing
    lines = ["# Written by tests/tools/run_integration.py from a simulated estate's inventory."]
    lines.append("[all_hosts]")
    lines.extend(f"{name} " + " ".join(f"{key}={_ini_value(value)}" for key, value in (variables or {}).items()) for name, variables in hosts.items())
    for name, members in sorted(groups.items()):
        lines.append(f"\n[{name}]")
        lines.extend(members)
    lines.append("\n[all:vars]")
    lines.extend(f"{key}={_ini_value(value)}" for key, value in (root.get("vars") or {}).items())
    return "\n".join(lines) + "\n"


def ensure_ansible_test_key() -> None:
    """The SSH key pair ansible-test wants in ~/.ansible/test/ (it never uses it against Windows hosts). ansible-test makes it
    with ssh-keygen on first use; made here with the pinned cryptography library, a machine with only Python needs no OpenSSH."""
    folder = ANSIBLE_TEST_HOME / ".ansible" / "test"
    key, pub = folder / "id_rsa", folder / "id_rsa.pub"
    if key.is_file() and pub.is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    key.write_bytes(pem)
    key.chmod(0o600)
    openssh = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    pub.write_bytes(openssh + b"\n")


def run_target(name: str, keep: bool) -> Outcome:

    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "ansible-test.log"
    started = time.monotonic()
    with running_estate(TARGETS / name / "estate.yml", work / "state") as lab:
        inventory_file = work / "inventory.winrm"
        inventory_file.write_text(ini_inventory(yaml.safe_load(lab.inventory.read_text())))
        env = {**os.environ, "HOME": str(ANSIBLE_TEST_HOME), "ANSIBLE_TEST_CONTENT_ROOT": str(COLLECTION_LINK)}
        command = [str(Path(sys.executable).parent / "ansible-test"), "windows-integration", "--color", "no", "--inventory", str(inventory_file), name]
        with log.open("w") as output:
            result = subprocess.run(command, cwd=COLLECTION_LINK, env=env, stdout=output, stderr=subprocess.STDOUT, check=False)
    if result.returncode == 0 and not keep:
        shutil.rmtree(work / "state", ignore_errors=True)
    return Outcome(name, result.returncode, time.monotonic() - started, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="targets run at once (default: 2)")
    parser.add_argument("--keep", action="store_true", help="keep the estate state of passing targets under .work/integration")
    args = parser.parse_args(argv)
    names = discover(args.targets)
    if not names:
        print("run_integration: no integration targets with an estate.yml found", file=sys.stderr)
        return 1
    ensure_ansible_test_key()
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        status = "ok" if outcome.returncode == 0 else f"FAILED (rc={outcome.returncode})"
        print(f"{outcome.target:40} {status:18} {outcome.seconds:6.1f}s  {outcome.log.relative_to(ROOT)}", flush=True)
        outcomes.append(outcome)

    # The first target runs alone: on a fresh machine ansible-test sets itself up on first use (its SSH key, its
    # directories), and two first uses at once race each other. The smoke target, when selected, is the quick one to go first.
    names = sorted(names, key=lambda name: name != "smoke")
    report(run_target(names[0], args.keep))
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for outcome in pool.map(lambda n: run_target(n, args.keep), names[1:]):
            report(outcome)
    failed = [o for o in outcomes if o.returncode != 0]
    for outcome in failed:
        print(f"\n===== {outcome.target}: last lines of {outcome.log.relative_to(ROOT)} =====")
        print("\n".join(outcome.log.read_text(errors="replace").splitlines()[-60:]))
    print(f"run_integration: {len(outcomes) - len(failed)}/{len(outcomes)} target(s) passed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
