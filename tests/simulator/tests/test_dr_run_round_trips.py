"""End to end: the DR run does not read a host again while nothing has changed on it.

The demo estate's lost server (tests/simulator/estates/demo.yml, the variables of `make demo`): its DR run must run at
most 20 module executions on the host, exchange_info only where the host may have changed since the last read (preflight,
after the prerequisites' installs and restart, after Setup), the router's service read once, and Setup waited for in one
call (async_status only removes the job file). Counted by the simulator, which sees every module the host runs, whoever
started it (a task or an action plugin). The rerun is molecule's idempotence step (`make bench` with --rerun counts it).
The roles refuse a value of their earlier-read variable that is not such a read, before anything is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.testing import REPO, running_estate

pytestmark = pytest.mark.slow

ESTATE = REPO / "tests" / "simulator" / "estates" / "demo.yml"
VARS = REPO / "tests" / "demo" / "dr_run_vars.yml"


def calls(before: dict[str, Any], after: dict[str, Any], host: str = "EX01") -> dict[str, int]:
    """Module executions on `host` between two stats snapshots, by short module name."""
    old = (before.get(host) or {}).get("modules") or {}
    out = {}
    for fqcn, entry in ((after.get(host) or {}).get("modules") or {}).items():
        n = int(entry.get("calls", 0)) - int((old.get(fqcn) or {}).get("calls", 0))
        if n:
            out[fqcn.rsplit(".", 1)[-1]] = n
    return out


def test_the_dr_run_reads_a_host_again_only_after_a_change(tmp_path: Path) -> None:
    with running_estate(yaml.safe_load(ESTATE.read_text()), tmp_path / "state", in_process=True) as lab:
        before = lab.stats()
        run = lab.playbook("exchange_dr.recovery.dr_run", "-e", f"@{VARS}")
        assert run.returncode == 0, run.stdout[-6000:]
        first = calls(before, lab.stats())
        assert sum(first.values()) <= 20, first
        assert first["exchange_info"] == 3, first  # preflight, after the installs and their restart, after Setup
        assert first["win_service_info"] == 1, first  # preflight's read of the router serves the email_router role
        assert first["recover_server"] == 2 and first["async_status"] == 1, first  # start Setup, wait for it, remove the job
        assert lab.host("EX01").service("MSCRMEmail").state == "running"

        play = (
            "- hosts: EX01\n  gather_facts: false\n  tasks:\n"
            "    - ansible.windows.win_service_info: {name: W3SVC}\n      register: other\n"
            "    - ansible.builtin.include_role: {name: exchange_dr.recovery.exchange_prerequisites}\n"
            "      vars: {exchange_prerequisites_exchange_info: '{{ other }}'}\n"
        )
        stats = lab.stats()
        refused = lab.playbook(play, env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})  # the message on one line
        assert refused.returncode != 0
        assert "exchange_prerequisites_exchange_info must be the registered result of a successful exchange_dr.recovery.exchange_info" in refused.stdout
        assert "has no exchange, media, prerequisites" in refused.stdout
        assert calls(stats, lab.stats()) == {"win_service_info": 1, "exchange_info": 1}, "the role only read the host itself"
