# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# Reads what Exchange Setup leaves on a host (registry, ExchangeSetup.log) for exchange_info, recover_server and service_state.
# Only reading and collecting here: every judgement is made on the controller (plugin_utils/_exchange_setup.py).

#AnsibleRequires -PowerShell ..module_utils._Windows

Set-StrictMode -Version 2.0

# Where Setup records the build and the roles, newest generation first: a copy of plugin_utils/_exchange_versions.py
# SETUP_REGISTRY_LOCATIONS (tests/unit/plugins/module_utils/test_tables.py holds the two equal; the sources are cited there).
$script:SetupKeys = @(
    @{ Version = 'v15'; Setup = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup'; Roles = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15' }
    @{ Version = 'v14'; Setup = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\Setup'; Roles = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14' }
    @{ Version = 'v8'; Setup = 'HKLM:\SOFTWARE\Microsoft\Exchange\Setup'; Roles = 'HKLM:\SOFTWARE\Microsoft\Exchange\v8.0' }
)
# Uninstall entries whose InstallDate Setup writes when it completes (2013; 2016, 2019 and SE): _exchange_versions.SETUP_UNINSTALL_CODES
$script:UninstallCodes = @('{4934D1EA-BE46-48B1-8847-F1AF20E892C1}', '{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}')
$script:UninstallRoot = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'

Function Get-ExDrRegistryValue {
    <#
    .SYNOPSIS
    A registry value, or $null when the key or the value does not exist.
    #>
    param ([string]$Path, [string]$Name)
    $item = Get-ItemProperty -LiteralPath $Path -Name $Name -ErrorAction SilentlyContinue
    Get-ExDrProperty -InputObject $item -Name $Name
}

Function Get-ExDrSetupRegistry {
    <#
    .SYNOPSIS
    The first Exchange Setup key with an MsiInstallPath, as found: the key, the build (MsiProductMajor.MsiProductMinor.
    MsiBuildMajor.MsiBuildMinor when all four exist), the install path and every *Role key next to it with its Setup
    markers (values only; UnpackedVersion, ConfiguredVersion, Action, Watermark may each be missing).
    #>
    $found = @{ installed = $false; setup_key = $null; build = $null; install_path = $null; role_keys = @() }
    foreach ($key in $script:SetupKeys) {
        $installPath = Get-ExDrRegistryValue -Path $key.Setup -Name 'MsiInstallPath'
        if ($null -eq $installPath) {
            continue
        }
        $setup = Get-ItemProperty -LiteralPath $key.Setup
        $parts = @(foreach ($name in 'MsiProductMajor', 'MsiProductMinor', 'MsiBuildMajor', 'MsiBuildMinor') {
                Get-ExDrProperty -InputObject $setup -Name $name
            })
        $found.installed = $true
        $found.setup_key = $key.Setup
        $found.install_path = ([string]$installPath).TrimEnd('\')
        if (@($parts | Where-Object { $null -ne $_ }).Count -eq 4) {
            $found.build = $parts -join '.'
        }
        $found.role_keys = @(
            Get-ChildItem -LiteralPath $key.Roles -ErrorAction SilentlyContinue |
                Where-Object { $_.PSChildName -like '*Role' } |
                Sort-Object -Property PSChildName |
                ForEach-Object {
                    $values = Get-ItemProperty -LiteralPath $_.PSPath
                    @{
                        name = $_.PSChildName
                        unpacked_version = Get-ExDrProperty -InputObject $values -Name 'UnpackedVersion'
                        configured_version = Get-ExDrProperty -InputObject $values -Name 'ConfiguredVersion'
                        action = Get-ExDrProperty -InputObject $values -Name 'Action'
                        watermark = Get-ExDrProperty -InputObject $values -Name 'Watermark'
                    }
                }
        )
        break
    }
    $found
}

Function Get-ExDrExchangeState {
    <#
    .SYNOPSIS
    The Exchange installation as the registry shows it: installed, configured, incomplete, version, install path, roles,
    setup markers (DSC's test: UnpackedVersion without ConfiguredVersion, or an Action or Watermark value).
    #>
    $found = Get-ExDrSetupRegistry
    $state = @{
        installed = $found.installed
        configured = $false
        incomplete = $false
        version = $found.build
        install_path = $found.install_path
        install_date = $null
        roles = [System.Collections.Generic.List[string]]@()
        setup_markers = [System.Collections.Generic.List[hashtable]]@()
    }
    foreach ($key in $found.role_keys) {
        $marker = @{
            role = $key.name
            unpacked_version = $key.unpacked_version
            configured_version = $key.configured_version
            action = $key.action
            watermark = $key.watermark
        }
        $marker.incomplete = (($null -ne $marker.unpacked_version -and $null -eq $marker.configured_version) -or
            $null -ne $marker.action -or $null -ne $marker.watermark)
        $state.roles.Add($key.name)
        $state.setup_markers.Add($marker)
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
    # A running Setup keeps the log open for writing: ReadAllLines (FileShare.Read) would fail with a sharing violation.
    $stream = New-Object -TypeName System.IO.FileStream -ArgumentList $path, 'Open', 'Read', 'ReadWrite'
    try {
        $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $stream, $true
        $lines = $reader.ReadToEnd() -split '\r?\n'
    }
    finally {
        $stream.Dispose()
    }
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
    Function = 'Get-ExDrRegistryValue', 'Get-ExDrSetupRegistry', 'Get-ExDrExchangeState', 'Get-ExDrSetupLogSummary', 'Get-ExDrPendingReboot'
}
Export-ModuleMember @exportMembers
