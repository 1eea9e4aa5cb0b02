#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._Windows

$spec = @{
    options = @{
        server_name = @{ type = 'str' }
        setup_path = @{ type = 'str' }
        target_dir = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$module.Result.computer_name = $env:COMPUTERNAME
$module.Result.domain = @{ joined = $false; name = $null }
$module.Result.os = @{ version = $null; build = $null; caption = $null; server_core = $false }
$module.Result.exchange = @{}
$module.Result.pending_reboot = @{}
$module.Result.reboot_pending = $false
$module.Result.ad_server = @{
    exists = $false; name = $null; distinguished_name = $null; role_mask = $null; install_path = $null
    version = $null; admin_display_version = $null; error = $null
    dag = $null; dag_distinguished_name = $null; dag_members = @()
}
$module.Result.scripting_agent = @{ enabled = $false; config_path = $null; config_present = $false }
$module.Result.media = @{ path = $module.Params.setup_path; exists = $false; version = $null }
$module.Result.prerequisites = @{ dotnet_release = 0; vcredist = @(); ucma_version = $null; url_rewrite_version = $null }
$module.Result.services = @()
$module.Result.setup_log = @{ path = $null; exists = $false; lines = @() }
$module.Result.setup_processes = @()

$exchangeServiceNames = @(
    'ADAM_MSExchange', 'FMS', 'HostControllerService', 'MSComplianceAudit', 'msftesql-Exchange', 'SearchExchangeTracing', 'wsbexchange'
)

Function Get-ExDrFirstValue {
    <#
    .SYNOPSIS
    The first value of an attribute of a DirectorySearcher result, or $null when the object has none (an attribute without
    a value is not returned, and indexing its empty collection throws).
    #>
    param ($Result, [string]$Name)
    $values = $Result.Properties[$Name]
    if ($null -ne $values -and $values.Count -gt 0) {
        return $values[0]
    }
    $null
}

try {
    $computer = Get-CimInstance -ClassName Win32_ComputerSystem
    $module.Result.domain.joined = [bool]$computer.PartOfDomain
    if ($computer.PartOfDomain) {
        $module.Result.domain.name = $computer.Domain
    }
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $module.Result.os.version = $os.Version
    $module.Result.os.build = [int]($os.Version -split '\.')[2]
    $module.Result.os.caption = $os.Caption
    $installationType = Get-ExDrRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -Name 'InstallationType'
    $module.Result.os.server_core = $installationType -eq 'Server Core'
}
catch {
    $module.FailJson("Failed to read the computer system for $($env:COMPUTERNAME): $($_.Exception.Message)", $_)
}

$module.Result.exchange = Get-ExDrExchangeState
$module.Result.pending_reboot = Get-ExDrPendingReboot
$module.Result.reboot_pending = @($module.Result.pending_reboot.Values | Where-Object { $_ }).Count -gt 0
$module.Result.setup_log = Get-ExDrSetupLogSummary

# The server's Exchange object and the organisation's Scripting Agent, read through the domain (configuration partition).
$serverName = if ($module.Params.server_name) { $module.Params.server_name } else { $env:COMPUTERNAME }
$module.Result.ad_server.name = $serverName.ToUpperInvariant()
$adInstallPath = $null
if ($module.Result.domain.joined) {
    try {
        $rootDse = [ADSI]'LDAP://RootDSE'
        $configuration = [string]$rootDse.configurationNamingContext
        $exchangeRoot = [ADSI]"LDAP://CN=Microsoft Exchange,CN=Services,$configuration"
        $searcher = New-Object -TypeName System.DirectoryServices.DirectorySearcher -ArgumentList $exchangeRoot
        $searcher.Filter = '(&(objectClass=msExchExchangeServer)(cn={0}))' -f (ConvertTo-ExDrLdapFilterValue -Value $serverName)
        foreach ($property in 'distinguishedName', 'msExchCurrentServerRoles', 'msExchInstallPath', 'serialNumber', 'msExchMDBAvailabilityGroupLink') {
            [void]$searcher.PropertiesToLoad.Add($property)
        }
        $found = $searcher.FindOne()
        if ($null -ne $found) {
            $module.Result.ad_server.exists = $true
            $module.Result.ad_server.distinguished_name = [string](Get-ExDrFirstValue -Result $found -Name 'distinguishedname')
            $roles = Get-ExDrFirstValue -Result $found -Name 'msexchcurrentserverroles'
            if ($null -ne $roles) {
                $module.Result.ad_server.role_mask = [int]$roles
            }
            $adInstallPath = Get-ExDrFirstValue -Result $found -Name 'msexchinstallpath'
            $module.Result.ad_server.install_path = $adInstallPath
            $display = Get-ExDrFirstValue -Result $found -Name 'serialnumber'
            if ($null -ne $display) {
                $module.Result.ad_server.admin_display_version = [string]$display
                if ($display -match 'Version (\d+)\.(\d+) \(Build (\d+)\.(\d+)\)') {
                    $module.Result.ad_server.version = '{0}.{1}.{2}.{3}' -f $Matches[1], $Matches[2], $Matches[3], $Matches[4]
                }
            }
            # A DAG member's object links to its DAG (msExchMDBAvailabilityGroupLink, Exchange's ServerSchema.DatabaseAvailabilityGroup);
            # the other members are the server objects with the same link.
            $dagLink = Get-ExDrFirstValue -Result $found -Name 'msexchmdbavailabilitygrouplink'
            if ($null -ne $dagLink) {
                $module.Result.ad_server.dag_distinguished_name = [string]$dagLink
                if ([string]$dagLink -match '^CN=((?:\\.|[^,\\])+),') {
                    $module.Result.ad_server.dag = $Matches[1] -replace '\\(.)', '$1'
                }
                $members = New-Object -TypeName System.DirectoryServices.DirectorySearcher -ArgumentList $exchangeRoot
                $members.Filter = '(&(objectClass=msExchExchangeServer)(msExchMDBAvailabilityGroupLink={0}))' -f (ConvertTo-ExDrLdapFilterValue -Value ([string]$dagLink))
                [void]$members.PropertiesToLoad.Add('cn')
                $module.Result.ad_server.dag_members = @($members.FindAll() | ForEach-Object { [string](Get-ExDrFirstValue -Result $_ -Name 'cn') } | Sort-Object)
            }
        }
        # The Scripting Agent: Enabled is bit 0x1 of msExchCmdletExtensionFlags (Exchange's CmdletExtensionAgentSchema
        # calculates Enabled and Priority from that one attribute; there is no attribute of its own for Enabled).
        $agents = New-Object -TypeName System.DirectoryServices.DirectorySearcher -ArgumentList $exchangeRoot
        $agents.Filter = '(&(objectClass=msExchCmdletExtensionAgent)(cn=Scripting Agent))'
        [void]$agents.PropertiesToLoad.Add('msExchCmdletExtensionFlags')
        $agent = $agents.FindOne()
        if ($null -ne $agent) {
            $flags = Get-ExDrFirstValue -Result $agent -Name 'msexchcmdletextensionflags'
            $module.Result.scripting_agent.enabled = $null -ne $flags -and ([int]$flags -band 1) -eq 1
        }
    }
    catch {
        $module.Result.ad_server.error = "$($_.Exception.Message)"
    }
}
else {
    $module.Result.ad_server.error = "$($env:COMPUTERNAME) is not joined to a domain"
}

$installFolder = if ($module.Params.target_dir) {
    $module.Params.target_dir
}
elseif ($module.Result.exchange.install_path) {
    $module.Result.exchange.install_path
}
elseif ($adInstallPath) {
    $adInstallPath
}
else {
    Join-Path -Path $env:ProgramFiles -ChildPath 'Microsoft\Exchange Server\V15'
}
$agentConfig = Join-Path -Path $installFolder.TrimEnd('\') -ChildPath 'Bin\CmdletExtensionAgents\ScriptingAgentConfig.xml'
$module.Result.scripting_agent.config_path = $agentConfig
$module.Result.scripting_agent.config_present = Test-Path -LiteralPath $agentConfig -PathType Leaf

# The media's build: ExSetup.exe under Setup\ServerRoles\Common when present (what IE15 reads), else the Setup file.
if ($module.Params.setup_path) {
    $mediaPath = $module.Params.setup_path
    if (Test-Path -LiteralPath $mediaPath -PathType Container) {
        $mediaPath = @('Setup.exe', 'Setup.com' | ForEach-Object { Join-Path -Path $module.Params.setup_path -ChildPath $_ } |
                Where-Object { Test-Path -LiteralPath $_ -PathType Leaf }) | Select-Object -First 1
    }
    if ($mediaPath -and (Test-Path -LiteralPath $mediaPath -PathType Leaf)) {
        $module.Result.media.path = $mediaPath
        $module.Result.media.exists = $true
        $exSetup = Join-Path -Path (Split-Path -Path $mediaPath -Parent) -ChildPath 'Setup\ServerRoles\Common\ExSetup.exe'
        $versionFile = if (Test-Path -LiteralPath $exSetup -PathType Leaf) { $exSetup } else { $mediaPath }
        try {
            $module.Result.media.version = (Get-Item -LiteralPath $versionFile).VersionInfo.FileVersion
        }
        catch {
            $module.FailJson("Failed to read the file version of $($versionFile): $($_.Exception.Message)", $_)
        }
    }
}

# Prerequisites as CSS HealthChecker detects them.
$module.Result.prerequisites.dotnet_release = [int](Get-ExDrRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -Name 'Release')
$vcYears = [System.Collections.Generic.List[string]]@()
$rewriteProduct = $null
foreach ($root in 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall') {
    foreach ($entry in @(Get-ChildItem -LiteralPath $root -ErrorAction SilentlyContinue)) {
        $name = [string](Get-ExDrRegistryValue -Path $entry.PSPath -Name 'DisplayName')
        if ($name -match '^Microsoft Visual C\+\+ (2012|2013) x64 ') {
            $vcYears.Add($Matches[1])
        }
        elseif ($name -like 'IIS URL Rewrite Module*') {
            $rewriteProduct = Get-ExDrRegistryValue -Path $entry.PSPath -Name 'DisplayVersion'
        }
    }
}
$module.Result.prerequisites.vcredist = @($vcYears | Sort-Object -Unique)
$module.Result.prerequisites.ucma_version = Get-ExDrRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}' -Name 'Version'
$urlRewrite = Get-ExDrRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\IIS Extensions\URL Rewrite' -Name 'Version'
$module.Result.prerequisites.url_rewrite_version = if ($urlRewrite) { [string]$urlRewrite } elseif ($rewriteProduct) { [string]$rewriteProduct } else { $null }

# Exchange Setup still running, for example after the controller lost an earlier run: ExSetup.exe, or the media's own
# Setup program. A second Setup must not be started while one runs.
try {
    $processes = @(Get-CimInstance -ClassName Win32_Process -Filter "Name='ExSetup.exe' OR Name='Setup.exe' OR Name='Setup.com'")
    $services = @(Get-CimInstance -ClassName Win32_Service)
}
catch {
    $module.FailJson("Failed to read the processes and services of $($env:COMPUTERNAME): $($_.Exception.Message)", $_)
}
$module.Result.setup_processes = @($processes |
        Where-Object { $_.Name -eq 'ExSetup.exe' -or ($module.Result.media.exists -and $_.ExecutablePath -eq $module.Result.media.path) } |
        ForEach-Object {
            @{
                pid = [int]$_.ProcessId
                name = $_.Name
                path = $_.ExecutablePath
                command_line = $_.CommandLine
                started = if ($_.CreationDate) { $_.CreationDate.ToUniversalTime().ToString('o') } else { $null }
            }
        })

$module.Result.services = @($services |
        Where-Object { $_.Name -like 'MSExchange*' -or $exchangeServiceNames -contains $_.Name } |
        Sort-Object -Property Name |
        ForEach-Object {
            @{
                name = $_.Name
                display_name = $_.DisplayName
                start_mode = Get-ExDrServiceStartMode -Instance $_
                state = ConvertTo-ExDrServiceState -State $_.State
            }
        })

$module.ExitJson()
