"""Benchmark of verifying Exchange servers: prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.verify_bench [--hosts 10]

Runs the collection's `exchange_dr.recovery.verify` playbook with unmodified ansible-playbook against a fresh estate of
Exchange 2019 Mailbox servers served in this process: once on one host, once on `--hosts` hosts (forks = host count).
For comparison it also verifies one host the naive way: one `ansible.windows.win_service_info` task per expected service.
For each run: wall time, module calls and WinRM requests (the server's counters, summed over the hosts), per host.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import plan_services
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from simulator.bench import inventory, totals
from simulator.estate import prepare_state_dir
from simulator.server import EstateServer

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Bench-Passw0rd!"
BUILD = "15.2.1544.4"


def estate_spec(hosts: int) -> dict[str, Any]:
    spec = {
        "address": "auto",
        "accounts": {"Administrator": {"password": PASSWORD, "admin": True}},
        "state": {"exchange": {"version": BUILD, "roles": ["Mailbox"]}},
    }
    return {"name": "verify-bench", "time_scale": 0.02, "hosts": {f"EX{i:02d}": dict(spec) for i in range(1, hosts + 1)}}


NAIVE_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: One module call per service
      ansible.windows.win_service_info:
        name: "{{ item }}"
      loop: %s
"""


def run(server: EstateServer, work: Path, names: list[str], label: str, argv: list[str]) -> None:
    (work / "inventory.yml").write_text(yaml.safe_dump(inventory(server, names)))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORKS=str(len(names)))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory.yml", *argv]
    before, wall0 = totals(server, names), time.monotonic()
    result = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - wall0
    after = totals(server, names)
    delta = {k: after[k] - before[k] for k in after}
    n = len(names)
    status = "ok" if result.returncode == 0 else f"FAILED rc={result.returncode}"
    print(f"{label}: {n} host(s), forks={n}: {status}")
    print(f"  wall time        {wall:8.2f} s")
    print(f"  module calls     {delta['module_calls']:8.0f}   ({delta['module_calls'] / n:.1f} per host)")
    print(f"  WinRM requests   {delta['requests']:8.0f}   ({delta['requests'] / n:.1f} per host)")
    print(f"  bytes in / out   {delta['bytes_in'] / 1e6:8.2f} MB / {delta['bytes_out'] / 1e6:.2f} MB")
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-2000:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        state = Path(tmp) / "state"
        t0 = time.monotonic()
        estate = prepare_state_dir(estate_spec(args.hosts), state)
        print(f"estate of {args.hosts} Exchange 2019 Mailbox servers seeded in {time.monotonic() - t0:.1f} s")
        server = EstateServer(estate, state)
        server.start()
        try:
            names = sorted(estate.hosts)
            play = ["exchange_dr.recovery.verify", "-e", "verify_report_dir=reports"]
            run(server, Path(tmp), names[:1], "verify playbook", play)
            run(server, Path(tmp), names, "verify playbook", play)
            services = [s.name for s in plan_services(release_of(BUILD), ["Mailbox"]).services]
            (Path(tmp) / "naive.yml").write_text(NAIVE_PLAY % yaml.safe_dump(services, default_flow_style=True).strip())
            run(server, Path(tmp), names[:1], f"naive: win_service_info per service ({len(services)} services)", ["naive.yml"])
        finally:
            server.stop()


if __name__ == "__main__":
    main()
