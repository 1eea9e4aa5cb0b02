"""Benchmark of the WinRM simulator: prints figures, asserts nothing.

    .venv/bin/python -m simulator.bench [--hosts 10] [--tasks 20]

Runs a play of ``--tasks`` tasks (win_ping, win_file, win_stat in turn) with unmodified ansible-playbook against a fresh
estate served in this process: once on one host, once on ``--hosts`` hosts with forks equal to the host count. For each
run it prints wall time, WinRM requests and bytes (from the server's counters), module calls, and the simulator's CPU time
(this process, so everything the server did: TLS/NTLM, SOAP, payload decoding, twins) in total and per module call.
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

from simulator.estate import prepare_state_dir
from simulator.server import EstateServer

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Bench-Passw0rd!"


def play(tasks: int) -> str:
    """A play of `tasks` small tasks: the per-task cost of Ansible + WinRM + the simulator dominates, as intended."""
    kinds = [
        "ansible.windows.win_ping: {}",
        r"ansible.windows.win_file: {path: 'C:\bench\d%(i)d', state: directory}",
        r"ansible.windows.win_stat: {path: 'C:\bench'}",
    ]
    body = "\n".join(f"    - {kinds[i % len(kinds)] % {'i': i}}" for i in range(tasks))
    return f"- hosts: all\n  gather_facts: false\n  tasks:\n{body}\n"


def estate_spec(hosts: int) -> dict[str, Any]:
    spec = {"address": "auto", "os": {"version": "10.0.17763"}, "accounts": {"Administrator": {"password": PASSWORD, "admin": True}}}
    return {"name": "bench", "time_scale": 0.02, "hosts": {f"BENCH{i:02d}": dict(spec) for i in range(1, hosts + 1)}}


def inventory(server: EstateServer, names: list[str]) -> dict[str, Any]:
    hosts = {n: {"ansible_host": server.endpoints[n].listener.address} for n in names}
    common = {
        "ansible_connection": "winrm",
        "ansible_user": "Administrator",
        "ansible_password": PASSWORD,
        "ansible_port": 5985,
        "ansible_winrm_transport": "ntlm",
    }
    return {"all": {"hosts": hosts, "vars": common}}


def totals(server: EstateServer, names: list[str]) -> dict[str, float]:
    snap = server.stats.snapshot()
    keys = ("requests", "bytes_in", "bytes_out", "module_calls", "module_cpu_s")
    return {k: float(sum(float(snap.get(n, {}).get(k, 0)) for n in names)) for k in keys}


def run(server: EstateServer, work: Path, names: list[str], tasks: int) -> None:
    (work / "inventory.yml").write_text(yaml.safe_dump(inventory(server, names)))
    (work / "play.yml").write_text(play(tasks))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORKS=str(len(names)))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory.yml", "play.yml"]
    before, cpu0, wall0 = totals(server, names), time.process_time(), time.monotonic()
    result = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    after = totals(server, names)
    delta = {k: after[k] - before[k] for k in after}
    status = "ok" if result.returncode == 0 else f"FAILED rc={result.returncode}"
    calls = max(delta["module_calls"], 1)
    print(f"{tasks} tasks x {len(names)} host(s), forks={len(names)}: {status}")
    print(f"  wall time            {wall:8.2f} s   ({wall / tasks:.3f} s per task)")
    print(f"  WinRM requests       {delta['requests']:8.0f}     ({delta['requests'] / (tasks * len(names)):.1f} per task per host)")
    print(f"  bytes in / out       {delta['bytes_in'] / 1e6:8.2f} MB / {delta['bytes_out'] / 1e6:.2f} MB")
    print(f"  module calls         {delta['module_calls']:8.0f}")
    print(f"  simulator CPU        {cpu:8.2f} s   ({cpu / calls * 1000:.1f} ms per module call, all layers)")
    print(f"  twin CPU             {delta['module_cpu_s']:8.3f} s   ({delta['module_cpu_s'] / calls * 1000:.1f} ms per module call)")
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="winrm-bench-") as tmp:
        state = Path(tmp) / "state"
        estate = prepare_state_dir(estate_spec(args.hosts), state)
        server = EstateServer(estate, state)
        server.start()
        try:
            names = sorted(estate.hosts)
            run(server, Path(tmp), names[:1], args.tasks)
            run(server, Path(tmp), names, args.tasks)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
