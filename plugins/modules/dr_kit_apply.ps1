#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._DrKit

# The host half of dr_kit_apply. The action plugin (plugins/action/dr_kit_apply.py) calls it twice:
#   _operation=read   reads the server as the capture does (no file contents, no exports): what the kit is compared with;
#   _operation=apply  runs the steps the controller planned from the kit (_steps), each on its own, and returns how each went.
# The kit itself (and its checksums, the server and build checks, the plan) never needs the host.

$spec = @{
    options = @{
        kit = @{ type = 'str'; required = $true }
        password = @{ type = 'str'; no_log = $true }
        parts = @{
            type = 'list'
            elements = 'str'
            choices = 'certificates', 'virtual_directories', 'receive_connectors', 'transport', 'config_files'
            default = @('certificates', 'virtual_directories', 'receive_connectors', 'transport', 'config_files')
        }
        _operation = @{ type = 'str'; choices = 'read', 'apply'; default = 'read' }
        _tables = @{ type = 'dict' }
        _steps = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; install_path = $null; shell = $null; snapin = $null; connection_uri = $null }

$tables = $module.Params._tables
if ($null -eq $tables) {
    $module.FailJson('Failed to re-apply the DR kit: _tables is set by the action plugin (run the module through its action plugin)')
}
$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    if ($module.Params._operation -eq 'read') {
        # not recovered yet: the action plugin plans from the kit alone in check mode, and refuses otherwise
        $module.Result._read = $null
        $module.ExitJson()
    }
    $module.FailJson("Failed to re-apply the DR kit on $($env:COMPUTERNAME): Exchange Server is not installed on it (recover it first)")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path

if ($module.Params._operation -eq 'read') {
    $commands = Get-ExDrKitCommandNames -Tables $tables -Version $state.version
    $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
    $module.Result.exchange.shell = $shell.method
    $module.Result.exchange.snapin = $shell.snapin
    $module.Result.exchange.connection_uri = $shell.connection_uri
    $read = $null
    $failure = $null
    try {
        $read = Read-ExDrKitServer -Shell $shell -Tables $tables -Version $state.version -InstallPath $state.install_path
    }
    catch {
        $failure = $_
    }
    finally {
        Close-ExDrExchangeShell -Shell $shell
    }
    if ($null -ne $failure) {
        $module.FailJson("Failed to read $($env:COMPUTERNAME) for the DR kit: $($failure.Exception.Message)", $failure)
    }
    $module.Result._read = $read
    $module.ExitJson()
}

# _operation = apply: every step is tried; one that fails does not stop the others (the action plugin reports each).
$steps = @($module.Params._steps)
$results = [System.Collections.Generic.List[hashtable]]@()
if ($steps.Count -eq 0 -or $module.CheckMode) {
    $module.Result._results = @()
    $module.ExitJson()
}
$commands = @($steps | Where-Object { $_.kind -eq 'cmdlet' } | ForEach-Object { [string]$_.cmdlet })
if (@($steps | Where-Object { $_.kind -eq 'import_certificate' }).Count -gt 0) {
    $commands += 'Import-ExchangeCertificate'
}
$shell = $null
if ($commands.Count -gt 0) {
    $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @($commands | Select-Object -Unique)
    $module.Result.exchange.shell = $shell.method
    $module.Result.exchange.snapin = $shell.snapin
    $module.Result.exchange.connection_uri = $shell.connection_uri
}
try {
    foreach ($step in $steps) {
        $entry = @{ id = $step.id; error = $null; backup = $null }
        try {
            $entry.backup = Invoke-ExDrKitStep -Shell $shell -Step $step -Password $module.Params.password
            $module.Result.changed = $true
        }
        catch {
            $entry.error = $_.Exception.Message
        }
        $results.Add($entry)
    }
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
$module.Result._results = @($results)

$module.ExitJson()
