"""The Exchange Management Shell a module opens on a simulated host, modelled after plugins/module_utils/_ExchangeShell.psm1.

    shell = ExchangeShell.open(m.host, version="15.2.1544.4", requested="auto", user=m.user)   # ShellError when it can't
    databases = shell.invoke("Get-MailboxDatabase", Server="EX01", Status=True)                 # cmdlets.py binds and runs
    shell.close()

How each release is reached (the method per release: plugin_utils/_exchange_databases.py SHELLS, imported, not copied):
- snap-in (2007 always; 2010 and later when asked): Add-PSSnapin of the release's snap-in, which must be registered
  (HKLM\\SOFTWARE\\Microsoft\\PowerShell\\1\\PowerShellSnapIns\\<name>, laid down with Exchange: profiles.py). The cmdlets then
  run in the module's own process with the logon's token and read Active Directory from there: a WinRM network logon
  (NTLM) has no credentials for a domain controller - the second hop - so they fail unless the task runs with become
  (runas) or CredSSP/Kerberos delegation. (Reasoned from the second-hop rule the simulator enforces for shares; no Exchange
  page states it.)
- remote (2010 and later by default): New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri
  http://<fqdn>/PowerShell/ -Authentication Kerberos (PS docs-conceptual/connect-to-exchange-servers-using-remote-powershell.md),
  answered by IIS (W3SVC must run). Without -Credential it uses the logon's own Kerberos credentials, which a WinRM NTLM logon
  does not have (the second hop); with exchange_username/exchange_password it authenticates as that account (ExchangeDsc's
  helper connects to the local server the same way, with a credential). The cmdlets run server-side under RBAC: the
  account needs an Exchange management role group (Organization Management, View-Only Organization Management, Server
  Management, Recipient Management) - a Domain Admin stands in here, as in the Setup model.
- Edge Transport (issue 12): always the snap-in, run by a local administrator; the cmdlets read and write the Edge's own AD
  LDS, so there is no domain controller to reach and no second hop (docs/transport-and-edge.md).
Messages marked (modelled) are the simulator's wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import shell_for
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from simulator.exchange import cmdlets
from simulator.exchange import transport_cmdlets as _transport_cmdlets  # noqa: F401 (registers the transport and EdgeSync cmdlets)

if TYPE_CHECKING:
    from simulator.estate import Domain, ExchangeOrganization
    from simulator.host import Host

SNAPIN_KEY = r"HKLM:\SOFTWARE\Microsoft\PowerShell\1\PowerShellSnapIns"
ROLE_GROUPS = ("organization management", "view-only organization management", "server management", "recipient management")
SECOND_HOP = "A specified logon session does not exist. It may already have been terminated."  # Win32 error 1312


class ShellError(Exception):
    """The shell could not be opened; the message is what the module reports."""


@dataclass
class ExchangeShell:
    host: Host
    product: str
    version: str
    method: str  # snapin | remote
    snapin: str
    connection_uri: str | None
    identity: str  # the account the cmdlets run as
    delegation: bool  # snap-in only: whether the logon can reach a domain controller
    domain_controller: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: bool = False
    edge: bool = False  # an Edge Transport server: the cmdlets use its local AD LDS, no domain controller (no second hop)

    @classmethod
    def open(
        cls,
        host: Host,
        *,
        version: str,
        requested: str = "auto",
        connection_uri: str | None = None,
        username: str | None = None,
        password: str | None = None,
        domain_controller: str | None = None,
        user: str = "Administrator",
    ) -> ExchangeShell:
        product = release_of(version).product
        edge_server = _is_edge(host)
        if edge_server and requested == "remote":
            raise ShellError("An Edge Transport server has no remote Exchange Management Shell (no IIS, outside the domain); use the snap-in (modelled).")
        try:
            method, snapin = shell_for(product, "snapin" if edge_server else requested)
        except ValueError as error:
            raise ShellError(str(error)) from None
        session = host.current_session()
        delegation = session is None or session.delegation
        if method == "snapin":
            if not host.reg_key_exists(rf"{SNAPIN_KEY}\{snapin}"):
                raise ShellError(f"The Windows PowerShell snap-in '{snapin}' is not installed on this computer.")
            if edge_server and not host.is_admin(user):
                raise ShellError(
                    f"Access is denied: the Exchange Management Shell of an Edge Transport server needs a member of its local "
                    f"Administrators group ({user}) (modelled)."
                )
            return cls(host, product, version, method, snapin, None, host.canonical_identity(user), delegation, domain_controller, edge=edge_server)
        fqdn = f"{host.name}.{host.domain.name}".lower() if host.domain is not None else host.name.lower()
        uri = connection_uri or f"http://{fqdn}/PowerShell/"
        prefix = f"Connecting to remote server {uri.split('/')[2]} failed with the following error message : "
        w3svc = host.service("W3SVC")
        if w3svc is None or w3svc.state != "running":
            raise ShellError(
                prefix
                + "The WinRM client cannot complete the operation: the server's PowerShell virtual directory doesn't answer (W3SVC isn't running) (modelled)."
            )
        if username:
            account = host.authenticate(username, password or "")
            if account is None or not account.domain:
                raise ShellError(prefix + "The user name or password is incorrect.")
            identity = host.canonical_identity(account.name)
        else:
            if not delegation:
                raise ShellError(
                    prefix
                    + SECOND_HOP
                    + " (the WinRM logon has no credentials to pass on: the second hop; run the task with become or give exchange_username/exchange_password)"
                )
            identity = host.canonical_identity(user)
        if not _has_management_role(host, identity):
            raise ShellError(prefix + f'The user "{identity}" isn\'t assigned to any management roles. (modelled)')
        return cls(host, product, version, method, snapin, uri, identity, True, domain_controller)

    # -- the organisation -------------------------------------------------------------------------------------------------
    @property
    def domain(self) -> Domain | None:
        return self.host.estate.domain if self.host.estate is not None else None

    @property
    def organization(self) -> ExchangeOrganization | None:
        return self.domain.exchange if self.domain is not None else None

    def host_of(self, server: str) -> Host | None:
        """The host that runs `server` now (None when it is not part of the estate: a lost server)."""
        if self.host.estate is None:
            return self.host if self.host.name.upper() == server.upper() else None
        return self.host.estate.host_by_server_name(server)

    def save_domain(self) -> None:
        if self.host.estate is not None:
            self.host.estate.save_domain()

    # -- cmdlets ----------------------------------------------------------------------------------------------------------
    def invoke(self, cmdlet: str, **args: Any) -> list[dict[str, Any]]:
        """Run one cmdlet with named parameters, as the .ps1 does (splatting); records the call in `calls`."""
        if self.closed:
            raise cmdlets.CmdletError("The session state is Closed (modelled).")
        self.calls.append((cmdlet, dict(args)))
        if self.method == "snapin" and not self.delegation and not self.edge:
            raise cmdlets.CmdletError(
                "Active Directory operation failed: the logon session has no credentials to reach a domain controller "
                "(the second hop of a WinRM logon; run the task with become) (modelled).",
                "ADOperationException",
            )
        return cmdlets.run(self, cmdlet, args)

    def close(self) -> None:
        self.closed = True


def _is_edge(host: Host) -> bool:
    from simulator.exchange import edge

    return edge.is_edge(host)


def _has_management_role(host: Host, identity: str) -> bool:
    principals = host.principals(identity)
    domain = host.domain
    groups = {f"{domain.netbios}\\{g}".casefold() for g in ROLE_GROUPS} if domain is not None else set()
    return bool(principals & groups) or (domain is not None and f"{domain.netbios}\\domain admins".casefold() in principals)
