#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._DrKit

# The host half of dr_kit_capture: one read-only pass over the server (docs/dr-kit.md). What to read comes from the action
# plugin as data (_tables); the manifest, checksums, versions and the comparison with the last kit are made on the controller.

$spec = @{
    options = @{
        dest = @{ type = 'str'; required = $true }
        password = @{ type = 'str'; no_log = $true }
        config_files = @{ type = 'list'; elements = 'str'; default = @() }
        baseline_dir = @{ type = 'str' }
        record_baseline = @{ type = 'bool'; default = $false }
        keep = @{ type = 'int'; default = 0 }
        email_router_service = @{ type = 'str'; default = 'MSCRMEmail' }
        _tables = @{ type = 'dict' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; install_path = $null; shell = $null; snapin = $null; connection_uri = $null }

$tables = $module.Params._tables
if ($null -eq $tables) {
    $module.FailJson('Failed to capture the DR kit: _tables is set by the action plugin (run the module through its action plugin)')
}
$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to capture the DR kit of $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path
if ([version]$state.version -lt [version]'14.0') {
    $module.FailJson("Failed to capture the DR kit of $($env:COMPUTERNAME): Exchange $($state.version) (2007) is not supported by the DR kit (2010 and later)")
}
$routerService = Get-Service -Name ([WildcardPattern]::Escape($module.Params.email_router_service)) -ErrorAction SilentlyContinue
# the router's configuration set is read by email_router_config (the action plugin calls it when the router is here)
$module.Result._email_router = @{ installed = $null -ne $routerService; service_name = $module.Params.email_router_service }

$password = $module.Params.password
$commands = Get-ExDrKitCommandNames -Tables $tables -Version $state.version -Export:([bool]$password)
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$module.Result.exchange.shell = $shell.method
$module.Result.exchange.snapin = $shell.snapin
$module.Result.exchange.connection_uri = $shell.connection_uri

$read = $null
$failure = $null
try {
    $read = Read-ExDrKitServer -Shell $shell -Tables $tables -Version $state.version -InstallPath $state.install_path -Password $password -WithContent
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to capture the DR kit of $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}
$computer = Get-CimInstance -ClassName Win32_ComputerSystem
$read.fqdn = ('{0}.{1}' -f $env:COMPUTERNAME, [string]$computer.Domain).ToLowerInvariant()
$module.Result._read = $read

$module.ExitJson()
