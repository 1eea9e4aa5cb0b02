#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeEdge

# The host half of edge_config_export, on a healthy Edge Transport server: ExportEdgeConfig.ps1 writes the cloned-configuration
# data file (2007-2013; the script is in %ExchangeInstallPath%Scripts), and the Edge's connectors and accepted domains are
# read for the declared configuration (2016 and later). The action plugin fetches the file into the DR kit, checks it and
# removes it from the host (_state=absent). dest and name are the controller's (the module only receives them).
# docs/transport-and-edge.md.

$spec = @{
    options = @{
        dest = @{ type = 'path'; required = $true }
        name = @{ type = 'str' }
        key = @{ type = 'str'; no_log = $true }
        method = @{ type = 'str'; default = 'auto'; choices = 'auto', 'cloned', 'declared' }
        _state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent' }
        _path = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; edge = $false; shell = $null }
$module.Result.method = $null
$module.Result.script = $null
$module.Result.path = $null
$module.Result.output = @()
$module.Result.exported = $false
$module.Result.definition = @{ receive_connectors = @(); send_connectors = @(); accepted_domains = @() }
$module.Result.subscribed = $false

$path = $module.Params._path
if (-not $path) {
    $path = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath 'exchange_dr\CloneConfigData.xml'
}
$module.Result.path = $path

if ($module.Params._state -eq 'absent') {
    # the data file holds the connectors' passwords (encrypted with the key): removed once the controller has it
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $module.Result.changed = $true
        if (-not $module.CheckMode) {
            Remove-Item -LiteralPath $path -Force
        }
    }
    $module.ExitJson()
}

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to export the Edge configuration of $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.edge = $state.roles -contains 'EdgeTransportRole'
if (-not $module.Result.exchange.edge) {
    $module.FailJson("Failed to export the Edge configuration of $($env:COMPUTERNAME): it is not an Edge Transport server (roles: $($state.roles -join ', '))")
}
$script = Join-Path -Path $state.install_path -ChildPath 'Scripts\ExportEdgeConfig.ps1'
$hasScript = Test-Path -LiteralPath $script -PathType Leaf
$method = $module.Params.method
if ($method -eq 'auto') {
    $method = if ($hasScript) { 'cloned' } else { 'declared' }
}
if ($method -eq 'cloned' -and -not $hasScript) {
    $module.FailJson("Failed to export the Edge configuration of $($env:COMPUTERNAME): $script does not exist (cloned configuration is Exchange 2007 to 2013); use method=declared")
}
$module.Result.method = $method

$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @('Get-ReceiveConnector', 'Get-SendConnector', 'Get-AcceptedDomain') -Edge
$module.Result.exchange.shell = $shell.method
$failure = $null
try {
    $current = Get-ExDrEdgeConfiguration -Shell $shell
    $module.Result.definition = @{ receive_connectors = $current.receive_connectors; send_connectors = $current.send_connectors; accepted_domains = $current.accepted_domains }
    $module.Result.subscribed = $current.subscribed
    $module.Result.script = if ($method -eq 'cloned') { $script } else { $null }
    if ($method -eq 'cloned' -and -not $module.CheckMode) {
        $folder = Split-Path -Path $path -Parent
        if (-not (Test-Path -LiteralPath $folder -PathType Container)) {
            New-Item -Path $folder -ItemType Directory -Force | Out-Null
        }
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            Remove-Item -LiteralPath $path -Force
        }
        $scriptParams = @{ CloneConfigData = $path }
        if ($module.Params.key) {
            $scriptParams.Key = $module.Params.key
        }
        $module.Result.output = Invoke-ExDrEdgeScript -Path $script -Parameters $scriptParams
        $module.Result.exported = Test-Path -LiteralPath $path -PathType Leaf
    }
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to export the Edge configuration of $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
