#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of edge_subscription_file, on an Edge Transport server: New-EdgeSubscription -FileName <file> -Force writes a
# new Edge Subscription file (its EdgeSync bootstrap account is valid 24 hours). The action plugin fetches it to the
# controller and calls the module again with _state=absent to delete it here: it holds the account's password in clear text
# (ODX edge-subscription-credentials). docs/transport-and-edge.md.

$spec = @{
    options = @{
        dest = @{ type = 'path'; required = $true }
        force = @{ type = 'bool'; default = $false }
        min_valid_hours = @{ type = 'int'; default = 4 }
        _state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent' }
        _path = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.path = $null
$module.Result.created = $null

$path = $module.Params._path
if (-not $path) {
    $path = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath 'exchange_dr\EdgeSubscriptionInfo.xml'
}
$module.Result.path = $path

if ($module.Params._state -eq 'absent') {
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
    $module.FailJson("Failed to create an Edge Subscription file on $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
if (-not ($state.roles -contains 'EdgeTransportRole')) {
    $module.FailJson("Failed to create an Edge Subscription file on $($env:COMPUTERNAME): it is not an Edge Transport server (the file is made on the Edge)")
}
$module.Result.changed = $true
if ($module.CheckMode) {
    $module.ExitJson()
}
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @('New-EdgeSubscription') -Edge
$failure = $null
try {
    $folder = Split-Path -Path $path -Parent
    if (-not (Test-Path -LiteralPath $folder -PathType Container)) {
        New-Item -Path $folder -ItemType Directory -Force | Out-Null
    }
    # -Force: no prompt about the configuration EdgeSync will own (a module cannot answer one), and over an old file
    Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'New-EdgeSubscription' -Parameters @{ FileName = $path; Force = $true } -NoDomainController | Out-Null
    $module.Result.created = [DateTime]::UtcNow.ToString('o')
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to create an Edge Subscription file on $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
