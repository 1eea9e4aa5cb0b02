# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options every Email Router module shares (plugins/module_utils/_EmailRouter.psm1, Get-ExDrEmailRouterSpec).
    DOCUMENTATION = r"""
options:
  service_name:
    description:
      - Short name of the Email Router service.
      - The sources show the display names C(Microsoft CRM Email Router) (2013, 2015) and C(Microsoft Dynamics CRM Email Router)
        (2016) and the event source C(MSCRMEmail); the short name C(MSCRMEmail) is inferred from the event source, so it can be
        changed here.
    type: str
    default: MSCRMEmail
  registry_path:
    description:
      - Registry key where the Email Router records its install location.
    type: str
    default: HKLM:\SOFTWARE\Microsoft\MSCRM Email
  registry_value:
    description:
      - Name of the value under O(registry_path) that holds the install folder (the folder above C(Service)).
      - The value name is not documented by Microsoft; C(InstallDir) is this collection's assumption. When the value is missing,
        the folder of the service's executable is used instead.
    type: str
    default: InstallDir
notes:
  - The Service folder (where C(Microsoft.Crm.Tools.EmailAgent.xml) lives) is the folder of the service's executable
    (C(Microsoft.Crm.Tools.EmailAgent.exe)); without a service, it is C(Service) under the folder in O(registry_path).
"""
