# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: exchange_prerequisites
short_description: What Exchange Setup needs on a host, and what of it the host lacks
version_added: 0.1.0
author:
  - exchange_dr.recovery maintainers (@exchange-dr)
description:
  - From an M(exchange_dr.recovery.exchange_info) result, the Windows features and runtimes (.NET Framework, Visual C++
    2012/2013, UCMA 4.0, IIS URL Rewrite) Exchange Setup checks for the release being recovered, the role set and the
    Windows Server version, and which runtimes the host does not have yet.
  - The release is the media's build (what Setup will check), else the Active Directory object's; the roles are the AD
    object's. The tables live in the collection (exchange-recovery-facts section 2).
  - Used by the C(exchange_dr.recovery.exchange_prerequisites) role.
options:
  _input:
    description: The host's M(exchange_dr.recovery.exchange_info) result.
    type: dict
    required: true
  build:
    description: An Exchange build to prepare for instead of the media's or the AD object's (for example V(15.2.1544.4)).
    type: str
  roles:
    description: The roles to prepare for instead of the AD object's (V(Mailbox), V(ClientAccess), V(Edge)).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Read the host and the media
  exchange_dr.recovery.exchange_info:
    setup_path: E:\Setup.exe
  register: exchange

- name: What is missing
  ansible.builtin.debug:
    msg: "{{ (exchange | exchange_dr.recovery.exchange_prerequisites).missing }}"
"""

RETURN = r"""
_value:
  description: The prerequisites and what is missing.
  type: dict
  contains:
    release:
      description: The release prepared for (product, cu, name, build).
      type: dict
    os_build:
      description: The Windows build.
      type: int
    features:
      description: Every Windows feature Setup needs (installing them is idempotent).
      type: list
      elements: str
    dotnet:
      description: The minimum .NET Framework 4.x version, or null (2010 needs the .NET 3.5 feature instead).
      type: str
    dotnet_release:
      description: Its C(NDP\v4\Full\Release) value, or null.
      type: int
    vcredist:
      description: The Visual C++ x64 runtimes needed (years).
      type: list
      elements: str
    ucma:
      description: Whether UCMA 4.0 is needed.
      type: bool
    url_rewrite:
      description: Whether IIS URL Rewrite is needed.
      type: bool
    missing:
      description: The runtimes the host lacks - V(dotnet), V(vcredist2012), V(vcredist2013), V(ucma), V(url_rewrite).
      type: list
      elements: str
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_prerequisites import PrerequisiteError, plan


def exchange_prerequisites(info: Any, build: str | None = None, roles: list[str] | None = None) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise AnsibleFilterError(f"exchange_prerequisites: expected an exchange_info result (a dict), got {type(info).__name__}")
    try:
        return plan(info, build=build or None, roles=list(roles) if roles else None).to_dict()
    except (PrerequisiteError, ValueError) as error:
        raise AnsibleFilterError(f"exchange_prerequisites: {error}") from error


class FilterModule:
    """Exchange prerequisite tables."""

    def filters(self) -> dict[str, Any]:
        return {"exchange_prerequisites": exchange_prerequisites}
