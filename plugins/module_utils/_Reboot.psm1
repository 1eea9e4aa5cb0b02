# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# The reboot options of modules whose action plugin restarts the host (plugin_utils/_module_with_reboot.py), documented
# once in the exchange_dr.recovery.reboot doc fragment. The module only accepts them; the controller acts on them.

Function Get-ExDrRebootSpec {
    <#
    .SYNOPSIS
    The shared argument spec of the reboot options, merged by Ansible.Basic: Create($args, $spec, @(Get-ExDrRebootSpec)).
    #>
    @{
        options = @{
            reboot = @{ type = 'bool'; default = $false }
            reboot_timeout = @{ type = 'int'; default = 600 }
        }
    }
}

$exportMembers = @{
    Function = 'Get-ExDrRebootSpec'
}
Export-ModuleMember @exportMembers
