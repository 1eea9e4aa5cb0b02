# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# Reads what Exchange Setup leaves on a host (registry, ExchangeSetup.log) for exchange_info and recover_server.
# Only reading and collecting here: every judgement is made on the controller (plugin_utils/_exchange_setup.py).

Set-StrictMode -Version 2.0

$script:SetupKeys = @(
    @{ Version = 'v15'; Path = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15' }
    @{ Version = 'v14'; Path = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14' }
    @{ Version = 'v8'; Path = 'HKLM:\SOFTWARE\Microsoft\Exchange' }
)
$script:RoleKeyNames = @(
    'AdminToolsRole', 'BridgeheadRole', 'CafeRole', 'ClientAccessRole', 'EdgeTransportRole', 'FrontendTransportRole',
    'GatewayRole', 'HubTransportRole', 'MailboxRole', 'UnifiedMessagingRole'
)
# Uninstall entries whose InstallDate IE15 checks (2013; 2016, 2019 and Subscription Edition)
$script:UninstallCodes = @('{4934D1EA-BE46-48B1-8847-F1AF20E892C1}', '{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}')
$script:UninstallRoot = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'

Function Get-ExDrRegistryValue {
    <#
    .SYNOPSIS
    A registry value, or $null when the key or the value does not exist.
    #>
    param ([string]$Path, [string]$Name)
    $item = Get-ItemProperty -LiteralPath $Path -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $item) {
        return $null
    }
    return $item.$Name
}

Function Get-ExDrExchangeState {
    <#
    .SYNOPSIS
    The Exchange installation as the registry shows it: installed, configured, incomplete, version, install path, roles,
    setup markers (DSC's test: UnpackedVersion without ConfiguredVersion, or an Action or Watermark value).
    #>
    $state = @{
        installed = $false
        configured = $false
        incomplete = $false
        version = $null
        install_path = $null
        install_date = $null
        roles = [System.Collections.Generic.List[string]]@()
        setup_markers = [System.Collections.Generic.List[hashtable]]@()
    }
    foreach ($key in $script:SetupKeys) {
        $setup = Join-Path -Path $key.Path -ChildPath 'Setup'
        $installPath = Get-ExDrRegistryValue -Path $setup -Name 'MsiInstallPath'
        if ($null -eq $installPath) {
            continue
        }
        $state.installed = $true
        $state.install_path = ([string]$installPath).TrimEnd('\')
        $parts = foreach ($name in 'MsiProductMajor', 'MsiProductMinor', 'MsiBuildMajor', 'MsiBuildMinor') {
            Get-ExDrRegistryValue -Path $setup -Name $name
        }
        if (@($parts | Where-Object { $null -ne $_ }).Count -eq 4) {
            $state.version = $parts -join '.'
        }
        foreach ($role in $script:RoleKeyNames) {
            $roleKey = Join-Path -Path $key.Path -ChildPath $role
            if (-not (Test-Path -LiteralPath $roleKey)) {
                continue
            }
            $marker = @{
                role = $role
                unpacked_version = Get-ExDrRegistryValue -Path $roleKey -Name 'UnpackedVersion'
                configured_version = Get-ExDrRegistryValue -Path $roleKey -Name 'ConfiguredVersion'
                action = Get-ExDrRegistryValue -Path $roleKey -Name 'Action'
                watermark = Get-ExDrRegistryValue -Path $roleKey -Name 'Watermark'
            }
            $marker.incomplete = (($null -ne $marker.unpacked_version -and $null -eq $marker.configured_version) -or
                $null -ne $marker.action -or $null -ne $marker.watermark)
            $state.roles.Add($role)
            $state.setup_markers.Add($marker)
        }
        break
    }
    $incomplete = @($state.setup_markers | Where-Object { $_.incomplete })
    $configured = @($state.setup_markers | Where-Object { $null -ne $_.configured_version })
    $state.incomplete = $incomplete.Count -gt 0
    $state.configured = $state.installed -and $state.setup_markers.Count -gt 0 -and $configured.Count -eq $state.setup_markers.Count
    foreach ($code in $script:UninstallCodes) {
        $date = Get-ExDrRegistryValue -Path (Join-Path -Path $script:UninstallRoot -ChildPath $code) -Name 'InstallDate'
        if ($null -ne $date) {
            $state.install_date = [string]$date
        }
    }
    return $state
}

Function Get-ExDrSetupLogSummary {
    <#
    .SYNOPSIS
    The key lines of the last Setup run in ExchangeSetup.log (the log is appended to by every run): start, version,
    command line parameters, [ERROR]/[REQUIRED] lines, failed rules and the outcome. The controller parses them.
    #>
    param ([int]$MaxLines = 400)
    $path = Join-Path -Path $env:SystemDrive -ChildPath 'ExchangeSetupLogs\ExchangeSetup.log'
    $summary = @{ path = $path; exists = $false; lines = [System.Collections.Generic.List[string]]@() }
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        return $summary
    }
    $summary.exists = $true
    $pattern = 'Starting Microsoft Exchange Server|\] Setup version: |Command Line Parameter Name=|\[ERROR\] |\[REQUIRED\] |' +
        'Failed \[Rule:|setup operation completed successfully|setup operation didn''t complete|\] End of Setup|' +
        'installation mode is set to|Exchange Server object found|No Exchange Server with identity|Setup is stopping now'
    $lines = [System.IO.File]::ReadAllLines($path)
    $start = 0
    for ($i = $lines.Length - 1; $i -ge 0; $i--) {
        if ($lines[$i] -match 'Starting Microsoft Exchange Server') {
            $start = $i
            break
        }
    }
    for ($i = $start; $i -lt $lines.Length -and $summary.lines.Count -lt $MaxLines; $i++) {
        if ($lines[$i] -match $pattern) {
            $summary.lines.Add($lines[$i])
        }
    }
    return $summary
}

Function Get-ExDrPendingReboot {
    <#
    .SYNOPSIS
    The restart flags Windows keeps in the registry (what Exchange Setup's prerequisite check reads).
    #>
    $sessionManager = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager'
    $renames = Get-ExDrRegistryValue -Path $sessionManager -Name 'PendingFileRenameOperations'
    $active = Get-ExDrRegistryValue -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName' -Name 'ComputerName'
    $pending = Get-ExDrRegistryValue -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' -Name 'ComputerName'
    return @{
        component_based_servicing = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
        windows_update = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
        pending_file_rename = ($null -ne $renames -and @($renames | Where-Object { $_ }).Count -gt 0)
        computer_rename = ($null -ne $active -and $null -ne $pending -and $active -ne $pending)
    }
}

$exportMembers = @{
    Function = 'Get-ExDrRegistryValue', 'Get-ExDrExchangeState', 'Get-ExDrSetupLogSummary', 'Get-ExDrPendingReboot'
}
Export-ModuleMember @exportMembers
