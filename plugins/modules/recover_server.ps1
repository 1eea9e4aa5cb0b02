#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._Reboot

# The host half of recover_server: run Exchange Setup with the switches the action plugin built (plugin_utils/_exchange_setup.py),
# wait for it, and return what the controller judges the run by: the exit code, the last run's key lines of
# ExchangeSetup.log and the Exchange registry state afterwards. The action plugin runs this module as an async job.

$spec = @{
    options = @{
        setup_path = @{ type = 'str'; required = $true }
        server_name = @{ type = 'str' }
        target_dir = @{ type = 'str' }
        domain_controller = @{ type = 'str' }
        updates_dir = @{ type = 'str' }
        do_not_start_transport = @{ type = 'bool'; default = $false }
        restore_transport_startup = @{ type = 'bool'; default = $false }
        diagnostic_data = @{ type = 'bool'; default = $false }
        arguments = @{ type = 'list'; elements = 'str' }
        timeout = @{ type = 'int'; default = 7200 }
        poll_interval = @{ type = 'int'; default = 15 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrRebootSpec))

$module.Result.changed = $false
$module.Result.computer_name = $env:COMPUTERNAME
$module.Result.command_line = $null
$module.Result.rc = $null
$module.Result.elapsed = 0
$module.Result.stdout_lines = @()
$module.Result.setup_log = @{ path = $null; exists = $false; lines = @() }
$module.Result.exchange = @{}

$setupPath = $module.Params.setup_path
if ($null -eq $module.Params.arguments) {
    $module.FailJson("The Setup switches are built by the exchange_dr.recovery.recover_server action plugin; none were given")
}
$module.Result.command_line = ('"{0}" {1}' -f $setupPath, ($module.Params.arguments -join ' ')).TrimEnd()

if (-not (Test-Path -LiteralPath $setupPath -PathType Leaf)) {
    $module.FailJson("Failed to find Exchange Setup at $setupPath")
}

if (-not $module.CheckMode) {
    $started = [DateTime]::UtcNow
    try {
        $process = [Ansible.Process.ProcessUtil]::CreateProcess($null, $module.Result.command_line, (Split-Path -Path $setupPath -Parent), $null)
    }
    catch {
        $module.FailJson("Failed to start Exchange Setup $($setupPath): $($_.Exception.Message)", $_)
    }
    $module.Result.elapsed = [int]([DateTime]::UtcNow - $started).TotalSeconds
    $module.Result.rc = $process.ExitCode
    $module.Result.stdout_lines = @($process.StandardOut -split '\r?\n' | Where-Object { $_ } | Select-Object -Last 40)
}
$module.Result.changed = $true

$module.Result.setup_log = Get-ExDrSetupLogSummary
$module.Result.exchange = Get-ExDrExchangeState

$module.ExitJson()
