"""exchange_dr.recovery.recover_server: the host half (plugins/modules/recover_server.ps1).

Runs the Setup command line the action plugin built through Host.run (the media file is an `exchange_setup` program, see
programs/exchange_setup.py), waits for it and returns the exit code, the last run's key lines of ExchangeSetup.log and the
registry state afterwards. It judges nothing: the action plugin does. The action plugin runs it as an async job, so the
simulator's async_wrapper/watchdog and async_status carry it, as on Windows.
"""

from __future__ import annotations

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import dirname
from simulator.twins.exchange_dr._exchange_state import exchange_state, setup_log_summary
from simulator.winerror import WinError


@twin("exchange_dr.recovery.recover_server")
def recover_server(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r.update(changed=False, computer_name=host.name.upper(), command_line=None, rc=None, elapsed=0, stdout_lines=[])
    r["setup_log"] = {"path": None, "exists": False, "lines": []}
    r["exchange"] = {}
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
