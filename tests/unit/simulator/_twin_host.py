"""A real simulator Host in a temporary folder, and a helper that runs a twin on it the way payload.py does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulator.clock import Clock, VirtualWall
from simulator.host import Host
from simulator.hoststate import Account, Drive, HostState
from simulator.programs import marker
from simulator.twins import run_module

GB = 1 << 30


def make_host(root: Path, name: str = "WIN01", **os: Any) -> Host:
    (root / "fs" / "C").mkdir(parents=True, exist_ok=True)
    state = HostState(
        name=name,
        os={"version": "10.0.17763", "caption": "Microsoft Windows Server 2019 Datacenter", **os},
        drives={"C": Drive("C", 100 * GB, 20 * GB)},
        accounts={f"{name}\\administrator".casefold(): Account(f"{name}\\Administrator", "Passw0rd!", admin=True)},
    )
    host = Host(state, root, autosave=False, clock=Clock(wall=VirtualWall()))  # simulated time moves only when a twin waits
    host.mkdir("C:\\Windows\\System32")
    for kind in ("cmd", "hostname", "whoami", "msiexec"):
        host.write_bytes(f"C:\\Windows\\System32\\{kind}.exe", marker(kind))
    return host


def call(host: Host, fqcn: str, check: bool = False, diff: bool = False, **args: Any) -> tuple[int, dict[str, Any]]:
    """Run module ``fqcn`` with the _ansible_* keys ansible-core 2.19 sends."""
    complex_args = {
        "_ansible_check_mode": check,
        "_ansible_diff": diff,
        "_ansible_no_log": False,
        "_ansible_verbosity": 0,
        "_ansible_module_name": fqcn,
        "_ansible_tmpdir": None,
        "_ansible_remote_tmp": "%TEMP%",
        "_ansible_keep_remote_files": False,
        "_ansible_ignore_unknown_opts": False,
        **args,
    }
    rc, out = run_module(fqcn, complex_args, host, "Administrator")
    return rc, json.loads(out)
