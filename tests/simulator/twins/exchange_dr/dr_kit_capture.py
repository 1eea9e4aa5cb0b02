"""exchange_dr.recovery.dr_kit_capture: what plugins/modules/dr_kit_capture.ps1 does on a simulated host - the Setup key
read, the Email Router service looked up, the shell opened with the cmdlets the read needs, Read-ExDrKitServer (twins
_dr_kit.read_server) with the .config contents and, given a password, the certificate exports."""

from __future__ import annotations

from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._dr_kit import command_names, read_server
from simulator.twins.exchange_dr._exchange_shell import open_exchange_shell
from simulator.twins.exchange_dr._exchange_state import exchange_state
from simulator.winerror import WinError


@twin("exchange_dr.recovery.dr_kit_capture", required_together=[["exchange_username", "exchange_password"]])
def dr_kit_capture(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["changed"] = False
    r["server"] = host.name.upper()
    r["exchange"] = {"version": None, "install_path": None, "shell": None, "snapin": None, "connection_uri": None}
    tables = p["_tables"]
    if tables is None:
        m.fail_json("Failed to capture the DR kit: _tables is set by the action plugin (run the module through its action plugin)")
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to capture the DR kit of {host.name.upper()}: Exchange Server is not installed on it")
    version = str(state["version"])
    r["exchange"].update(version=version, install_path=state["install_path"])
    if tuple(int(x) for x in version.split(".")) < (14, 0):
        m.fail_json(f"Failed to capture the DR kit of {host.name.upper()}: Exchange {version} (2007) is not supported by the DR kit (2010 and later)")
    router = host.service(p["email_router_service"])
    r["_email_router"] = {"installed": router is not None, "service_name": p["email_router_service"]}
    password = p["password"]
    shell = open_exchange_shell(m, version, command_names(tables, version, export=bool(password)))
    r["exchange"].update(shell=shell.method, snapin=shell.snapin, connection_uri=shell.connection_uri)
    failure = None
    read = None
    try:
        read = read_server(host, shell, tables, version, str(state["install_path"]), password=password, with_content=True)
    except (cmdlets.CmdletError, WinError) as error:
        failure = error
    finally:
        shell.close()
    if failure is not None or read is None:
        m.fail_json(f"Failed to capture the DR kit of {host.name.upper()}: {failure}")
    domain = host.domain.name if host.domain is not None else ""
    read["fqdn"] = f"{host.name}.{domain}".lower()
    r["_read"] = read
