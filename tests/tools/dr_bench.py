"""Benchmark of the whole DR run (`make bench`): prints figures, asserts nothing.

    .venv/bin/python -m tests.tools.dr_bench [--hosts 10]

Runs `exchange_dr.recovery.dr_run` with unmodified ansible-playbook against an estate built from the demo estate
(tests/simulator/estates/demo.yml): once with one lost Exchange server, once with `--hosts` lost servers at once (forks =
host count), each with its Email Router, all with their Active Directory objects and FS01's backups. For each run it prints
the wall time and, per host, the module executions, WinRM requests and bytes the simulator counted (its stats.json), and the
DR report's outcome. The simulator's time_scale makes Setup take seconds instead of 40 minutes, so the wall time measures
Ansible + WinRM + the simulator, not Exchange.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from simulator.testing import running_estate

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tests" / "simulator" / "estates" / "demo.yml"
VARS = ROOT / "tests" / "demo" / "dr_run_vars.yml"


def estate(hosts: int) -> dict[str, Any]:
    """The demo estate with `hosts` lost Exchange servers EX01..EXnn, each built like demo.yml's EX01."""
    doc = yaml.safe_load(DEMO.read_text())
    ex01 = doc["hosts"].pop("EX01")
    fs01 = doc["hosts"].pop("FS01")
    server = doc["domain"]["exchange"]["servers"].pop("EX01")
    names = [f"EX{i:02d}" for i in range(1, hosts + 1)]
    doc["name"] = f"dr-bench-{hosts}"
    doc["domain"]["computers"] = [*names, "FS01"]
    doc["domain"]["exchange"]["servers"] = {n: dict(server) for n in names}
    doc["hosts"] = {n: copy.deepcopy(ex01) for n in names}
    doc["hosts"]["FS01"] = fs01
    return doc


def run(hosts: int, work: Path) -> dict[str, Any]:
    reports = work / f"reports-{hosts}"
    with running_estate(estate(hosts), work / f"state-{hosts}") as lab:
        names = [n for n in lab.host_names if n != "FS01"]
        before = lab.stats()
        env = {
            "ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report",
            "EXCHANGE_DR_REPORT_DIR": str(reports),
            "EXCHANGE_DR_REPORT_CONSOLE": "false",
            "ANSIBLE_FORKS": str(max(hosts, 5)),
        }
        started = time.monotonic()
        result = lab.playbook("exchange_dr.recovery.dr_run", "-e", f"@{VARS}", timeout=1800, env=env)
        wall = time.monotonic() - started
        time.sleep(0.5)  # the server writes stats.json from its flusher
        after = lab.stats()
    (work / f"dr_run-{hosts}.log").write_text(result.stdout)
    report = json.loads((reports / "dr_report.json").read_text()) if (reports / "dr_report.json").exists() else {}
    return {"hosts": names, "rc": result.returncode, "wall": wall, "before": before, "after": after, "report": report, "log": work / f"dr_run-{hosts}.log"}


def delta(run_: dict[str, Any], host: str, key: str) -> float:
    def get(snapshot: dict[str, Any]) -> float:
        per_host = snapshot.get("hosts", snapshot)
        return float((per_host.get(host) or {}).get(key, 0) or 0)

    return get(run_["after"]) - get(run_["before"])


def show(run_: dict[str, Any]) -> None:
    names = run_["hosts"]
    n = len(names)
    outcome = run_["report"].get("outcome", "no report")
    print(f"\nDR run on {n} lost host(s), forks={max(n, 5)}: rc={run_['rc']}, DR report outcome: {outcome}")
    print(f"  wall time                  {run_['wall']:8.1f} s")
    keys = {"module_calls": "module executions", "requests": "WinRM requests", "bytes_in": "bytes in (to hosts)", "bytes_out": "bytes out (from hosts)"}
    for key, label in keys.items():
        values = [delta(run_, h, key) for h in names]
        total = sum(values)
        per = total / n if n else 0
        if key.startswith("bytes"):
            print(f"  {label + ' per host':<26} {per / 1e6:8.2f} MB   (total {total / 1e6:.2f} MB)")
        else:
            print(f"  {label + ' per host':<26} {per:8.0f}      (total {total:.0f})")
    fs01 = {k: delta(run_, "FS01", k) for k in ("module_calls", "requests")}
    print(f"  FS01 (file server)         {fs01['module_calls']:8.0f} module executions, {fs01['requests']:.0f} WinRM requests (UNC reads go through the hosts)")
    modules: dict[str, float] = {}
    for host in names:
        after = (run_["after"].get(host) or {}).get("modules", {})
        before = (run_["before"].get(host) or {}).get("modules", {})
        for fqcn, counters in after.items():
            calls = float(counters.get("calls", 0)) - float((before.get(fqcn) or {}).get("calls", 0))
            modules[fqcn] = modules.get(fqcn, 0) + calls
    if modules:
        top = sorted(modules.items(), key=lambda kv: -kv[1])
        print("  module executions per host by module: " + ", ".join(f"{m.split('.')[-1]} {c / n:.0f}" for m, c in top if c))
    for host, summary in sorted(run_["report"].get("hosts", {}).items())[:3]:
        print(f"  {host}: {summary['outcome']}, recovery time {summary['recovery_time_s']:.1f} s, {summary['changed']} changes")
    if run_["rc"] != 0:
        print(f"  full output: {run_['log']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    with tempfile.TemporaryDirectory(prefix="dr-bench-") as tmp:
        work = Path(tmp)
        for hosts in (1, args.hosts):
            show(run(hosts, work))
            sys.stdout.flush()
        if "--keep" in (argv or sys.argv):
            subprocess.run(["cp", "-r", str(work), str(ROOT / ".work" / "dr-bench")], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
