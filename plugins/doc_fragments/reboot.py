# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of modules whose action plugin restarts the host and continues (plugin_utils/_module_with_reboot.py).
    DOCUMENTATION = r"""
options:
  reboot:
    description:
      - Restart the host when the module needs it and continue afterwards.
      - The restart is done by the action plugin on the controller with the same logic as M(ansible.windows.win_reboot)
        (boot time comparison, waiting for the host to answer again).
      - When V(false) and a restart is needed, the task returns RV(reboot_required=true) and stops there.
      - Ignored in check mode.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds to wait for the host to come back after a restart started by O(reboot).
    type: int
    default: 600
notes:
  - The reboot options are handled on the controller; the module on the host only accepts them.
"""
