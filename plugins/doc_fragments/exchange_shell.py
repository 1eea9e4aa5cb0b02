# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of modules that run Exchange cmdlets through plugins/module_utils/_ExchangeShell.psm1.
    DOCUMENTATION = r"""
options:
  exchange_shell:
    description:
      - How the module reaches the Exchange Management Shell on the host.
      - V(auto) uses the local snap-in on Exchange 2007 (it has no remote shell) and remote PowerShell to the server's own
        C(http://<fqdn>/PowerShell/) endpoint with Kerberos on Exchange 2010 and later, which is the supported way and
        applies role-based access control.
      - V(snapin) loads the release's snap-in (C(Microsoft.Exchange.Management.PowerShell.Admin) on 2007, C(.E2010) on
        2010, C(.SnapIn) on 2013 and later) into the module's process. It bypasses role-based access control; Microsoft
        supports it on 2013 and later only for transport agent cmdlets.
      - V(remote) is refused on Exchange 2007.
      - On an Edge Transport server (outside the domain, its configuration in its own AD LDS, no IIS) V(auto) uses the
        snap-in and V(remote) is refused; the task needs a member of the Edge's local Administrators group.
    type: str
    choices: [auto, remote, snapin]
    default: auto
  exchange_connection_uri:
    description:
      - The remote PowerShell endpoint for O(exchange_shell=remote).
      - Defaults to C(http://<computer name>.<domain>/PowerShell/) of the host itself.
    type: str
  exchange_username:
    description:
      - The account the remote shell authenticates as (Kerberos), for example C(CONTOSO\\dr-admin).
      - Without it the remote shell uses the logon's own credentials, which a WinRM logon with NTLM does not have (the
        second hop); then run the task with C(become) (runas) instead.
      - The account needs an Exchange management role group (Organization Management, or View-Only Organization
        Management for modules that only read).
    type: str
  exchange_password:
    description:
      - The password of O(exchange_username). C(no_log).
    type: str
  domain_controller:
    description:
      - The domain controller the Exchange cmdlets read from and write to (their C(-DomainController)), as an FQDN.
      - Useful during a recovery, before Active Directory changes have replicated everywhere.
    type: str
notes:
  - The Exchange cmdlets read Active Directory. A WinRM logon with NTLM cannot pass its credentials on to a domain
    controller or to the remote shell endpoint (the second hop), so run database tasks with C(become=true),
    C(become_method=ansible.builtin.runas) and a domain account, give O(exchange_username) and O(exchange_password) for
    the remote shell, or connect with CredSSP or Kerberos delegation.
  - The remote shell needs Internet Information Services (the C(PowerShell) virtual directory) running on the server.
"""
