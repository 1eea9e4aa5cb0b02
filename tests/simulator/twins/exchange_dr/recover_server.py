"""exchange_dr.recovery.recover_server: the host half (plugins/modules/recover_server.ps1).

Runs the Setup command line the action plugin built through Host.run (the media file is an `exchange_setup` program, see
programs/exchange_setup.py), waits for it and returns the exit code, the last run's key lines of ExchangeSetup.log and the
registry state afterwards. It judges nothing: the action plugin does. The action plugin runs it as an async job, so the
simulator's async_wrapper/watchdog carry it, as on Windows, and then calls it with `_job` to wait for that job on the host:
the .ps1 looks at the job's results file every poll_interval seconds until it has finished or `_job.wait` seconds have
passed, and returns {id, finished, result}. A results file being rewritten (empty, half-written) is a job still running.
"""

from __future__ import annotations

import json
from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import dirname, join_path
from simulator.twins.exchange_dr._exchange_state import exchange_state, setup_log_summary
from simulator.winerror import WinError


@twin("exchange_dr.recovery.recover_server")
def recover_server(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r.update(changed=False, computer_name=host.name.upper(), command_line=None, rc=None, elapsed=0, stdout_lines=[])
    r["setup_log"] = {"path": None, "exists": False, "lines": []}
    r["exchange"] = {}
    if p["_job"] is not None:
        _wait(m, p["_job"])
        return
    setup_path = p["setup_path"]
    if p["arguments"] is None:
        m.fail_json("The Setup switches are built by the exchange_dr.recovery.recover_server action plugin; none were given")
    r["command_line"] = f'"{setup_path}" {" ".join(p["arguments"])}'.rstrip()
    if not host.exists(setup_path) or host.is_dir(setup_path):
        m.fail_json(f"Failed to find Exchange Setup at {setup_path}")
    if not m.check_mode:
        started = host.clock.time()
        try:
            process = host.run(r["command_line"], cwd=dirname(setup_path) or None, user=m.user)
        except WinError as error:
            m.fail_json(f"Failed to start Exchange Setup {setup_path}: {error}")
        r["elapsed"] = int(host.clock.time() - started)
        r["rc"] = process.rc
        r["stdout_lines"] = [line for line in process.stdout.splitlines() if line][-40:]
    r["changed"] = True
    r["setup_log"] = setup_log_summary(host, m.env)
    r["exchange"] = exchange_state(host)


def _wait(m: ModuleRun, job: dict[str, Any]) -> None:
    host, clock = m.host, m.host.clock
    path = join_path(job["async_dir"], job["id"])
    interval = max(1, m.params["poll_interval"])
    deadline = clock.time() + max(0, job["wait"])
    while True:
        if not host.exists(path) or host.is_dir(path):
            m.fail_json(f"Failed to find the Exchange Setup job {job['id']} in {job['async_dir']}")
        finished, result = _read_job(host, path)
        left = deadline - clock.time()
        if finished or left <= 0:
            break
        clock.sleep(min(interval, left))
    m.result["_job"] = {"id": job["id"], "finished": finished, "result": result}


def _read_job(host: Any, path: str) -> tuple[bool, dict[str, Any] | None]:
    try:
        text = host.read_bytes(path).decode("utf-8-sig")  # the watchdog's Set-Content -Encoding UTF8 writes a BOM
        data = json.loads(text) if text.strip() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        return False, None
    finished = "started" not in data or bool(data.get("finished"))
    return (True, data) if finished else (False, None)
