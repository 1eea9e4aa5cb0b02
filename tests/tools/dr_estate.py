"""The demo estate before and after the disaster, for molecule/default (create: healthy; prepare: the loss).

    python -m tests.tools.dr_estate start --state DIR [--healthy]   # start tests/simulator/estates/demo.yml
    python -m tests.tools.dr_estate lose --state DIR --host EX01    # the loss: the host is rebuilt empty with the same name
    python -m tests.tools.dr_estate stop --state DIR

`--healthy` starts the estate as it was before the disaster: EX01 runs Exchange 2019 CU14 as its Active Directory object says
(the simulator's `exchange: true` seed: registry, services, files, prerequisites). `lose` stops the estate, throws the host's
disk away (its state folder) and starts the estate again from demo.yml, where the host has a bare Windows: what is left is
what survives a real loss - the domain with the host's computer account and Exchange server object, and the file server
with the media and the backups. The simulator's own commands do the rest (`python -m simulator ...`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

from simulator import cli

ROOT = Path(__file__).resolve().parents[2]
ESTATE = ROOT / "tests" / "simulator" / "estates" / "demo.yml"


def healthy_estate(state: Path) -> Path:
    """demo.yml with every host that has an Exchange server object running its Exchange (before the disaster)."""
    doc = yaml.safe_load(ESTATE.read_text())
    servers = {name.upper() for name in (doc.get("domain", {}).get("exchange", {}).get("servers") or {})}
    for name, spec in doc["hosts"].items():
        if name.upper() in servers:
            spec.setdefault("state", {})["exchange"] = True
    path = state.parent / f"{state.name}-healthy.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def start(state: Path, healthy: bool) -> int:
    source = healthy_estate(state) if healthy else ESTATE
    return cli.main(["start", "--estate", str(source), "--state", str(state), "--auto-addresses"])


def lose(state: Path, host: str) -> int:
    rc = cli.main(["stop", "--state", str(state)])
    if rc != 0:
        return rc
    disk = state / "hosts" / host
    if not disk.is_dir():
        print(f"dr_estate: {state} has no host {host}", file=sys.stderr)
        return 1
    shutil.rmtree(disk)
    print(f"{host} is lost: its disk is gone; Windows is reinstalled with the same name (Active Directory and \\\\FS01 are intact)")
    return cli.main(["start", "--estate", str(ESTATE), "--state", str(state), "--auto-addresses"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "lose", "stop"])
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--healthy", action="store_true")
    parser.add_argument("--host", default="EX01")
    args = parser.parse_args(argv)
    state = args.state.resolve()
    state.parent.mkdir(parents=True, exist_ok=True)
    if args.action == "start":
        return start(state, args.healthy)
    if args.action == "lose":
        return lose(state, args.host)
    return cli.main(["stop", "--state", str(state)])


if __name__ == "__main__":
    sys.exit(main())
