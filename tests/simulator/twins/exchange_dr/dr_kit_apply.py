"""exchange_dr.recovery.dr_kit_apply: what plugins/modules/dr_kit_apply.ps1 does on a simulated host - _operation=read is the
capture's read without contents or exports; _operation=apply runs each step (twins _dr_kit.run_step) in order, recording
each one's error and going on with the next."""

from __future__ import annotations

from typing import Any

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._dr_kit import command_names, read_server, run_step
from simulator.twins.exchange_dr._exchange_shell import open_exchange_shell
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


@twin("exchange_dr.recovery.dr_kit_apply", required_together=[["exchange_username", "exchange_password"]])
def dr_kit_apply(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["changed"] = False
    r["server"] = host.name.upper()
    r["exchange"] = {"version": None, "install_path": None, "shell": None, "snapin": None, "connection_uri": None}
    tables = p["_tables"]
    if tables is None:
        m.fail_json("Failed to re-apply the DR kit: _tables is set by the action plugin (run the module through its action plugin)")
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        if p["_operation"] == "read":  # not recovered yet: the action plugin plans from the kit alone in check mode
            r["_read"] = None
            return
        m.fail_json(f"Failed to re-apply the DR kit on {host.name.upper()}: Exchange Server is not installed on it (recover it first)")
    version = str(state["version"])
    r["exchange"].update(version=version, install_path=state["install_path"])

    if p["_operation"] == "read":
        shell = open_exchange_shell(m, version, command_names(tables, version))
        r["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
        failure = None
        read = None
        try:
            read = read_server(host, shell, tables, version, str(state["install_path"]), password=None, with_content=False)
        except (cmdlets.CmdletError, WinError) as error:
            failure = error
        finally:
            shell.close()
        if failure is not None or read is None:
            m.fail_json(f"Failed to read {host.name.upper()} for the DR kit: {failure}")
        r["_read"] = read
        return

    steps: list[dict[str, Any]] = list(p["_steps"] or [])
    results: list[dict[str, Any]] = []
    if not steps or m.check_mode:
        r["_results"] = []
        return
    commands = [str(s["cmdlet"]) for s in steps if s.get("kind") == "cmdlet"]
    if any(s.get("kind") == "import_certificate" for s in steps):
        commands.append("Import-ExchangeCertificate")
    shell = None
    if commands:
        shell = open_exchange_shell(m, version, list(dict.fromkeys(commands)))
        r["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
    try:
        for step in steps:
            entry: dict[str, Any] = {"id": step.get("id"), "error": None, "backup": None}
            try:
                entry["backup"] = run_step(host, shell, step, p["password"])
                r["changed"] = True
            except (cmdlets.CmdletError, WinError, RuntimeError) as error:
                entry["error"] = str(error)
            results.append(entry)
    finally:
        if shell is not None:
            shell.close()
    r["_results"] = results
