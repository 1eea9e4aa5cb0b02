"""`make demo`: the whole DR run against a simulated estate, from a clean state, with the DR report.

1. starts tests/simulator/estates/demo.yml (EX01 lost, its Email Router with it; AD object, media and backups on \\\\FS01);
2. runs `exchange_dr.recovery.dr_run --check` and prints each host's plan (nothing changes);
3. runs `exchange_dr.recovery.dr_run` for real; the dr_report callback prints the summary and writes the report files;
4. stops the estate, also when something failed or on Ctrl-C.

The full ansible output goes to .work/demo/dr_run*.log; the console shows the plays, the plan, failures and the summary.

Usage: python -m tests.tools.dr_demo [--keep] [--reports DIR] [--no-plan]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from simulator.estate import load_host
from simulator.testing import running_estate

ROOT = Path(__file__).resolve().parents[2]
ESTATE = ROOT / "tests" / "simulator" / "estates" / "demo.yml"
VARS = ROOT / "tests" / "demo" / "dr_run_vars.yml"
WORK = ROOT / ".work" / "demo"
PLAYBOOK = "exchange_dr.recovery.dr_run"
_SHOW = re.compile(r"^(PLAY \[|fatal:|failed:|\[ERROR\]|ERROR!|DR REPORT|  )")


def snapshot(state: Path, hosts: list[str]) -> dict[str, object]:
    """What a change would show in, per host: services, installed products and features, registry keys, files outside the
    temporary folders (Ansible's own temp files come and go), read from the saved state without the server."""
    out: dict[str, object] = {}
    for name in hosts:
        host = load_host(state, name)
        st = host.state
        fs = state / "hosts" / name / "fs"
        files = sorted(
            (str(p.relative_to(fs)), p.stat().st_size)
            for p in fs.rglob("*")
            if p.is_file() and not any(part.lower() in ("temp", ".ansible", ".ansible_async") for part in p.relative_to(fs).parts)
        )
        out[name] = {
            "services": sorted((s.name, s.start_mode, s.state) for s in st.services.values()),
            "products": sorted(host.products()),
            "features": sorted(st.features_installed),
            "registry": json_of(st.registry),
            "files": files,
        }
    return out


def json_of(value: object) -> str:
    return json.dumps(value, default=lambda o: getattr(o, "__dict__", str(o)), sort_keys=True)


def ansible_env(reports: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report",
        "EXCHANGE_DR_REPORT_DIR": str(reports),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(WORK / "ansible-tmp"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def run_playbook(inventory: Path, log: Path, reports: Path, *extra: str) -> int:
    """ansible-playbook with the full output in `log` and the interesting lines on the console."""
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), PLAYBOOK, "-e", f"@{VARS}", *extra]
    in_plan = in_summary = False
    with log.open("w") as out, subprocess.Popen(argv, cwd=ROOT, env=ansible_env(reports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            text = line.rstrip("\n")
            if text.startswith("TASK [Show the plan]"):
                in_plan = True
                continue
            if in_plan:
                if not text.strip():
                    in_plan = False
                elif text.strip().startswith('"') and not text.strip().startswith('"msg"'):
                    print("   ", text.strip().rstrip(",").strip('"').replace("\\\\", "\\"))
                continue
            in_summary = in_summary or text.startswith("DR REPORT")
            if in_summary or (_SHOW.match(text) and not text.startswith("  ")):
                print(text)
        return proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", default=str(ROOT / "reports" / "demo"), help="where the DR report files go (default: reports/demo)")
    parser.add_argument("--keep", action="store_true", help="keep the estate's state folder (.work/demo/state) for a look afterwards")
    parser.add_argument("--no-plan", action="store_true", help="skip the --check run")
    args = parser.parse_args(argv)
    reports = Path(args.reports).resolve()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    (WORK / "ansible-tmp").mkdir()
    print(f"== starting the simulated estate {ESTATE.relative_to(ROOT)} (EX01 lost with its Email Router; media and backups on \\\\FS01)")
    started = time.monotonic()
    with running_estate(ESTATE, WORK / "state") as lab:
        print(f"   hosts: {', '.join(f'{n} {lab.address(n)}' for n in lab.host_names)}; inventory {lab.inventory.relative_to(ROOT)}")
        if not args.no_plan:
            print(f"\n== the plan: ansible-playbook {PLAYBOOK} --check (changes nothing)")
            before = snapshot(lab.state_dir, lab.host_names)
            rc = run_playbook(lab.inventory, WORK / "dr_run-check.log", reports / "plan", "--check")
            if rc != 0:
                print(f"!! the --check run failed (rc={rc}); full output: {(WORK / 'dr_run-check.log').relative_to(ROOT)}")
                return rc
            time.sleep(0.5)  # the server saves host state after each command and from its flusher
            unchanged = [n for n, v in snapshot(lab.state_dir, lab.host_names).items() if v == before[n]]
            verdict = "unchanged" if len(unchanged) == len(before) else f"CHANGED: {sorted(set(before) - set(unchanged))}"
            print(f"   estate after --check: {verdict} (services, products, features, registry and files of {', '.join(before)})")
        print(f"\n== the DR run: ansible-playbook {PLAYBOOK}")
        rc = run_playbook(lab.inventory, WORK / "dr_run.log", reports)
        print(f"\n== full output: {(WORK / 'dr_run.log').relative_to(ROOT)}; report files in {reports}")
        print(f"== stopping the estate ({time.monotonic() - started:.0f}s in all)")
    if not args.keep and rc == 0:
        shutil.rmtree(WORK / "state", ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
