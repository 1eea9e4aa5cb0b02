"""What plugins/module_utils/_ExchangeShell.psm1 does, on a simulated host: one function per PowerShell function, with the
same failure messages. The shell itself (how each release is reached, the second hop, RBAC) is simulator/exchange/shell.py.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import SHELLS
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from simulator.exchange import cmdlets
from simulator.exchange.shell import ExchangeShell, ShellError
from simulator.twins import ModuleRun
from simulator.winpath import join_command_line


def open_exchange_shell(m: ModuleRun, version: str, command_names: list[str], *, edge: bool = False) -> ExchangeShell:
    """Open-ExDrExchangeShell: the module fails naming the reason when the shell cannot be opened. `edge`: -Edge (an Edge
    Transport server: the snap-in only)."""
    p = m.params
    major = version.split(".", maxsplit=1)[0]
    if major not in ("8", "14", "15"):
        m.fail_json(f"Failed to open the Exchange Management Shell: Exchange {version} is not a release this collection knows (2007 to Subscription Edition)")
    if edge and p["exchange_shell"] == "remote":
        m.fail_json("Failed to open the Exchange Management Shell: an Edge Transport server has no remote shell; use exchange_shell=snapin or auto")
    if p["exchange_shell"] == "remote" and major == "8":
        m.fail_json("Failed to open the Exchange Management Shell: Exchange 2007 has no remote shell; use exchange_shell=snapin or auto")
    try:
        shell = ExchangeShell.open(
            m.host,
            version=version,
            requested=p["exchange_shell"],
            connection_uri=p["exchange_connection_uri"],
            username=p["exchange_username"],
            password=p["exchange_password"],
            domain_controller=p["domain_controller"],
            user=m.user,
        )
    except ShellError as error:
        if p["exchange_shell"] == "snapin" or (p["exchange_shell"] == "auto" and (major == "8" or edge)):
            snapin = SHELLS[release_of(version).product].snapin
            m.fail_json(f"Failed to load the Exchange snap-in {snapin}: {error}")
        fqdn = f"{m.host.name}.{m.host.domain.name}".lower() if m.host.domain is not None else m.host.name.lower()
        uri = p["exchange_connection_uri"] or f"http://{fqdn}/PowerShell/"
        m.fail_json(f"Failed to open the Exchange Management Shell at {uri}: {error}")
    shell.imported = list(command_names)  # type: ignore[attr-defined]
    return shell


def invoke(shell: ExchangeShell, name: str, parameters: dict[str, Any], *, no_domain_controller: bool = False) -> list[dict[str, Any]]:
    """Invoke-ExDrExchangeCmdlet: named parameters, plus -DomainController when the task gave one. Only the cmdlets the
    module imported are callable in a remote session (Import-PSSession -CommandName)."""
    imported = getattr(shell, "imported", None)
    if shell.method == "remote" and imported is not None and name.casefold() not in (c.casefold() for c in imported):
        raise cmdlets.CmdletError(
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program.", "CommandNotFoundException"
        )
    arguments = dict(parameters)
    if shell.domain_controller and not no_domain_controller:
        arguments["DomainController"] = shell.domain_controller
    return shell.invoke(name, **arguments)


def invoke_eseutil(m: ModuleRun, path: str, arguments: list[str]) -> dict[str, Any]:
    """Invoke-ExDrEseutil: command_line, rc as Ansible.Process reports it (ExitCode is a UInt32: -528 is 4294966768),
    output lines."""
    command_line = join_command_line([path, *arguments])
    result = m.host.run(command_line, user=m.user)
    return {"command_line": command_line, "rc": result.rc & 0xFFFFFFFF, "output": re.split(r"\r?\n", result.stdout)}


def volume_of(host: Any, path: str) -> dict[str, Any] | None:
    """Get-ExDrVolume over Win32_Volume (local disks): the drive holding the path (the simulator has no mount points)."""
    letter = path[:1].upper() if len(path) > 1 and path[1] == ":" else None
    drive = host.state.drives.get(letter) if letter else None
    if drive is None:
        return None
    return {"name": f"{letter}:\\", "free_bytes": host.free_bytes(letter), "size_bytes": drive.size_bytes}


def prop(obj: dict[str, Any] | None, name: str) -> Any:
    """Get-ExDrProperty: a property or None."""
    return None if obj is None else obj.get(name)


def text(value: Any) -> str | None:
    """ConvertTo-ExDrString."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
