"""Benchmark of the whole DR run (`make bench`): prints figures, asserts nothing.

    .venv/bin/python -m tests.tools.dr_bench [--hosts 1,10,20] [--rerun] [--keep DIR]

Runs `exchange_dr.recovery.dr_run` with unmodified ansible-playbook against estates built from the demo estate
(tests/simulator/estates/demo.yml): one run per host count, each with that many lost Exchange servers recovered at once
(forks = host count), each with its Email Router, all with their Active Directory objects and FS01's backups. For each run
it prints the wall time (and its ratio to the one-host run), the CPU time of the controller (ansible-playbook and its
workers) and of the simulator process, the DR report's outcome and its slowest host per phase, and per host: the module
executions, WinRM requests and bytes the simulator counted (its stats.json), by module.

How executions are counted: every module the host runs is one execution, whoever started it - a task, or an action plugin
on the controller (recover_server starts Setup as an async job, waits for it with a second call of its module and removes
the job file with async_status; exchange_info inside recover_server; win_service inside restore_transport_startup).
win_reboot restarts with raw PowerShell commands, not modules: they are counted under "(raw commands)" with the other
commands that run no module (temporary folders). WinRM requests are the HTTP requests the host answered: a module's
are its Command, Send, Receive and Signal requests; "(connections)" are the rest (NTLM authentication, shell create and
delete). With --rerun each estate is run a second time (nothing may change) and that run is printed too.

The simulator's time_scale makes Setup take seconds instead of 40 minutes, so the wall time measures Ansible + WinRM + the
simulator, not Exchange.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
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
RAW = "(raw commands)"
CONNECTIONS = "(connections)"


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


def process_cpu(pid_file: Path) -> float:
    """User + system CPU seconds of the simulator process (Linux /proc), 0 when unknown."""
    try:
        pid = int(pid_file.read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def play(lab: Any, hosts: int, reports: Path, log: Path) -> dict[str, Any]:
    """One DR run: its wall time, CPU times, the simulator's counters before and after, the DR report."""
    env = {
        "ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report",
        "EXCHANGE_DR_REPORT_DIR": str(reports),
        "EXCHANGE_DR_REPORT_CONSOLE": "false",
        "ANSIBLE_FORKS": str(max(hosts, 5)),
    }
    pid_file = lab.state_dir / "server.pid"
    before, sim0, ctl0, started = lab.stats(), process_cpu(pid_file), children_cpu(), time.monotonic()
    result = lab.playbook("exchange_dr.recovery.dr_run", "-e", f"@{VARS}", timeout=3600, env=env)
    wall = time.monotonic() - started
    time.sleep(1.2)  # the server writes stats.json from its monitor, once a second
    after, sim, ctl = lab.stats(), process_cpu(pid_file) - sim0, children_cpu() - ctl0
    log.write_text(result.stdout)
    report_file = reports / "dr_report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return {"rc": result.returncode, "wall": wall, "sim_cpu": sim, "ctl_cpu": ctl, "before": before, "after": after, "report": report, "log": log}


def run(hosts: int, work: Path, rerun: bool) -> tuple[list[str], list[dict[str, Any]]]:
    with running_estate(estate(hosts), work / f"state-{hosts}") as lab:
        names = [n for n in lab.host_names if n != "FS01"]
        runs = [play(lab, hosts, work / f"reports-{hosts}", work / f"dr_run-{hosts}.log")]
        if rerun:
            runs.append(play(lab, hosts, work / f"reports-{hosts}-rerun", work / f"dr_run-{hosts}-rerun.log"))
    return names, runs


def counters(run_: dict[str, Any], host: str) -> dict[str, float]:
    """The host's counters this run added: totals and, per module, executions and requests."""

    def get(snapshot: dict[str, Any]) -> dict[str, Any]:
        return snapshot.get(host) or {}

    after, before = get(run_["after"]), get(run_["before"])
    out = {k: float(after.get(k, 0) or 0) - float(before.get(k, 0) or 0) for k in ("module_calls", "requests", "bytes_in", "bytes_out")}
    attributed = 0.0
    for name, entry in (after.get("modules") or {}).items():
        old = (before.get("modules") or {}).get(name) or {}
        calls = float(entry.get("calls", 0)) - float(old.get("calls", 0))
        requests = float(entry.get("requests", 0)) - float(old.get("requests", 0))
        attributed += requests
        if calls or requests:
            out[f"calls:{name}"] = calls
            out[f"requests:{name}"] = requests
    out[f"requests:{CONNECTIONS}"] = out["requests"] - attributed
    return out


def show(names: list[str], run_: dict[str, Any], label: str, one_host_wall: float | None) -> None:
    n = len(names)
    report = run_["report"]
    ratio = f"   ({run_['wall'] / one_host_wall:.2f} x one host)" if one_host_wall else ""
    print(f"\n{label}: DR run on {n} lost host(s), forks={max(n, 5)}: rc={run_['rc']}, DR report outcome: {report.get('outcome', 'no report')}")
    print(f"  wall time                  {run_['wall']:8.1f} s{ratio}")
    print(f"  CPU: controller            {run_['ctl_cpu']:8.1f} s   (ansible-playbook and its workers)")
    print(f"  CPU: simulator             {run_['sim_cpu']:8.1f} s   (all {n + 1} simulated hosts, one process)")
    per_host = [counters(run_, h) for h in names]
    total = {k: sum(c.get(k, 0.0) for c in per_host) for k in {k for c in per_host for k in c}}
    print(f"  module executions per host {total['module_calls'] / n:8.1f}     (total {total['module_calls']:.0f})")
    print(f"  WinRM requests per host    {total['requests'] / n:8.1f}     (total {total['requests']:.0f})")
    print(f"  bytes to / from each host  {total['bytes_in'] / n / 1e6:8.2f} MB / {total['bytes_out'] / n / 1e6:.2f} MB")
    modules = sorted({k.split(":", 1)[1] for k in total if k.startswith("requests:")}, key=lambda m: (-total.get(f"calls:{m}", 0), -total[f"requests:{m}"]))
    print("  per host, by module        executions   WinRM requests")
    for module in modules:
        calls, requests = total.get(f"calls:{module}", 0.0) / n, total[f"requests:{module}"] / n
        if calls or requests:
            print(f"    {module.split('.')[-1] if not module.startswith('(') else module:<24} {calls:8.1f}     {requests:8.1f}")
    phases = [f"{p['name']} {float(p.get('duration_s') or 0):.1f}" for p in report.get("phases") or []]
    if phases:
        print("  phases (s)                 " + ", ".join(phases))
    if run_["rc"] != 0:
        print(f"  full output: {run_['log']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,10,20", help="host counts, one DR run each (default 1,10,20)")
    parser.add_argument("--rerun", action="store_true", help="run each estate a second time (the idempotent rerun)")
    parser.add_argument("--keep", type=Path, help="copy the logs, reports and estates here")
    args = parser.parse_args(argv)
    counts = [int(c) for c in str(args.hosts).split(",") if c.strip()]
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    with tempfile.TemporaryDirectory(prefix="dr-bench-") as tmp:
        work = Path(tmp)
        one_host_wall = None
        for hosts in counts:
            names, runs = run(hosts, work, args.rerun)
            show(names, runs[0], "first run", one_host_wall if hosts != 1 else None)
            if hosts == 1:
                one_host_wall = runs[0]["wall"]
            if len(runs) > 1:
                show(names, runs[1], "rerun", None)
            sys.stdout.flush()
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
