# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# Opens the Exchange Management Shell the way each release needs it, runs Exchange cmdlets and eseutil for the database
# modules, and reads properties that a release or a remote (deserialized) object may lack. Facts and sources:
# docs/databases.md, "How the modules reach Exchange".
# - 2007: the local snap-in only (no remote shell).
# - 2010 and later: remote PowerShell to http://<fqdn>/PowerShell/ with Kerberos (the supported way, under RBAC), or the
#   release's snap-in when asked (bypasses RBAC; for 2013 and later Microsoft supports it only for transport agents).
# Both need credentials that can leave the host: a WinRM logon with NTLM has none (the second hop). Run the task with
# become (runas), or give exchange_username/exchange_password for the remote shell.

#AnsibleRequires -CSharpUtil Ansible.Process

Set-StrictMode -Version 2.0

# The snap-in of each major version (8 = 2007, 14 = 2010, 15 = 2013 to SE). The same names are in
# plugin_utils/_exchange_databases.py SHELLS; tests/unit/plugins/plugin_utils/test_exchange_databases.py holds them together.
$script:ExchangeSnapins = @{
    '8' = 'Microsoft.Exchange.Management.PowerShell.Admin'
    '14' = 'Microsoft.Exchange.Management.PowerShell.E2010'
    '15' = 'Microsoft.Exchange.Management.PowerShell.SnapIn'
}

Function Get-ExDrExchangeShellSpec {
    <#
    .SYNOPSIS
    The shared options of modules that use the Exchange Management Shell: Create($args, $spec, @(Get-ExDrExchangeShellSpec)).
    Documented once in the exchange_dr.recovery.exchange_shell doc fragment.
    #>
    @{
        options = @{
            exchange_shell = @{ type = 'str'; default = 'auto'; choices = 'auto', 'remote', 'snapin' }
            exchange_connection_uri = @{ type = 'str' }
            exchange_username = @{ type = 'str' }
            exchange_password = @{ type = 'str'; no_log = $true }
            domain_controller = @{ type = 'str' }
        }
        required_together = @(, @('exchange_username', 'exchange_password'))
    }
}

Function Get-ExDrProperty {
    <#
    .SYNOPSIS
    A property of an object, or $null when the object is $null or lacks it (releases differ; deserialized objects of a
    remote session carry only some properties). Safe under strict mode.
    #>
    param ($InputObject, [string]$Name)
    if ($null -eq $InputObject) {
        return $null
    }
    if ($InputObject -is [System.Collections.IDictionary]) {
        if ($InputObject.Contains($Name)) {
            return $InputObject[$Name]
        }
        return $null
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) {
        return $null
    }
    return $property.Value
}

Function ConvertTo-ExDrString {
    <#
    .SYNOPSIS
    The text of a value Exchange returns (EdbFilePath, EnhancedTimeSpan, ADObjectId... or their deserialized strings), or $null.
    #>
    param ($Value)
    if ($null -eq $Value) {
        return $null
    }
    return [string]$Value
}

Function Open-ExDrExchangeShell {
    <#
    .SYNOPSIS
    Opens the Exchange Management Shell for the installed release ($Version, the Setup key's build) and makes the cmdlets
    in $CommandName callable. Returns the shell: @{ method; snapin; connection_uri; session; domain_controller }. Fails the
    module naming the reason when it cannot. -Edge: an Edge Transport server, which has only the snap-in (no IIS, no remote
    shell; its cmdlets use the local AD LDS: docs/transport-and-edge.md).
    #>
    param (
        [Parameter(Mandatory = $true)] $Module,
        [Parameter(Mandatory = $true)] [string]$Version,
        [Parameter(Mandatory = $true)] [string[]]$CommandName,
        [switch]$Edge
    )
    $major = ($Version -split '\.')[0]
    if (-not $script:ExchangeSnapins.ContainsKey($major)) {
        $Module.FailJson("Failed to open the Exchange Management Shell: Exchange $Version is not a release this collection knows (2007 to Subscription Edition)")
    }
    $method = $Module.Params.exchange_shell
    if ($Edge -and $method -eq 'remote') {
        $Module.FailJson('Failed to open the Exchange Management Shell: an Edge Transport server has no remote shell; use exchange_shell=snapin or auto')
    }
    if ($method -eq 'auto') {
        $method = if ($major -eq '8' -or $Edge) { 'snapin' } else { 'remote' }
    }
    if ($method -eq 'remote' -and $major -eq '8') {
        $Module.FailJson('Failed to open the Exchange Management Shell: Exchange 2007 has no remote shell; use exchange_shell=snapin or auto')
    }
    $shell = @{
        method = $method
        snapin = $script:ExchangeSnapins[$major]
        connection_uri = $null
        session = $null
        domain_controller = $Module.Params.domain_controller
    }
    $failure = $null
    if ($method -eq 'snapin') {
        try {
            if ($null -eq (Get-PSSnapin -Name $shell.snapin -ErrorAction SilentlyContinue)) {
                Add-PSSnapin -Name $shell.snapin -ErrorAction Stop
            }
        }
        catch {
            $failure = $_
        }
        if ($null -ne $failure) {
            $Module.FailJson("Failed to load the Exchange snap-in $($shell.snapin): $($failure.Exception.Message)", $failure)
        }
        return $shell
    }
    $uri = $Module.Params.exchange_connection_uri
    if (-not $uri) {
        $computer = Get-CimInstance -ClassName Win32_ComputerSystem
        $uri = 'http://{0}.{1}/PowerShell/' -f $env:COMPUTERNAME.ToLowerInvariant(), ([string]$computer.Domain).ToLowerInvariant()
    }
    $shell.connection_uri = $uri
    $sessionParams = @{
        ConfigurationName = 'Microsoft.Exchange'
        ConnectionUri = $uri
        Authentication = 'Kerberos'
        ErrorAction = 'Stop'
    }
    if ($Module.Params.exchange_username) {
        $secure = ConvertTo-SecureString -String $Module.Params.exchange_password -AsPlainText -Force
        $sessionParams.Credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $Module.Params.exchange_username, $secure
    }
    try {
        $shell.session = New-PSSession @sessionParams
        # Only the cmdlets the module calls (importing all of them takes long), into the global scope so the module sees them.
        $imported = Import-PSSession -Session $shell.session -CommandName $CommandName -DisableNameChecking -AllowClobber -ErrorAction Stop
        Import-Module -ModuleInfo $imported -Global -DisableNameChecking -ErrorAction Stop
    }
    catch {
        $failure = $_
    }
    if ($null -ne $failure) {
        Close-ExDrExchangeShell -Shell $shell
        $Module.FailJson("Failed to open the Exchange Management Shell at $($uri): $($failure.Exception.Message)", $failure)
    }
    return $shell
}

Function Invoke-ExDrExchangeCmdlet {
    <#
    .SYNOPSIS
    Runs one Exchange cmdlet with named parameters (and -DomainController when the task gave one) and returns its output
    as an array. Errors are terminating: the caller catches them.
    #>
    param (
        [Parameter(Mandatory = $true)] [hashtable]$Shell,
        [Parameter(Mandatory = $true)] [string]$Name,
        [hashtable]$Parameters = @{},
        [switch]$NoDomainController
    )
    $arguments = @{} + $Parameters
    if ($Shell.domain_controller -and -not $NoDomainController) {
        $arguments.DomainController = $Shell.domain_controller
    }
    @(& $Name @arguments -ErrorAction Stop)
}

Function Close-ExDrExchangeShell {
    <#
    .SYNOPSIS
    Closes the remote session (the server keeps a limited number per user).
    #>
    param ([hashtable]$Shell)
    if ($null -ne $Shell -and $null -ne $Shell.session) {
        Remove-PSSession -Session $Shell.session -ErrorAction SilentlyContinue
        $Shell.session = $null
    }
}

Function ConvertTo-ExDrArgument {
    <#
    .SYNOPSIS
    One argument quoted for a Windows command line (CommandLineToArgvW rules: quotes, and backslashes before them).
    #>
    param ([string]$Value)
    if ($Value -and $Value -notmatch '[\s"]') {
        return $Value
    }
    $escaped = [Regex]::Replace($Value, '(\\*)"', '$1$1\"')
    $escaped = [Regex]::Replace($escaped, '(\\+)$', '$1$1')
    return '"' + $escaped + '"'
}

Function Invoke-ExDrEseutil {
    <#
    .SYNOPSIS
    Runs eseutil.exe and returns @{ command_line; rc; output } with its output lines; the controller parses them. eseutil's
    exit code is the JET error (0 on success, negative on failure).
    #>
    param (
        [Parameter(Mandatory = $true)] [string]$Path,
        [Parameter(Mandatory = $true)] [string[]]$Arguments
    )
    $commandLine = (@($Path) + $Arguments | ForEach-Object { ConvertTo-ExDrArgument -Value $_ }) -join ' '
    $process = [Ansible.Process.ProcessUtil]::CreateProcess($null, $commandLine, $null, $null)
    return @{
        command_line = $commandLine
        rc = $process.ExitCode
        output = @($process.StandardOut -split '\r?\n')
    }
}

Function Get-ExDrVolume {
    <#
    .SYNOPSIS
    The volume holding a path (the longest Win32_Volume name that starts the path, so mount points count): @{ name;
    free_bytes; size_bytes }, or $null.
    #>
    param ([string]$Path, [object[]]$Volumes)
    $best = $null
    foreach ($volume in $Volumes) {
        $name = [string](Get-ExDrProperty -InputObject $volume -Name 'Name')
        if ($name -and $Path.StartsWith($name, [StringComparison]::OrdinalIgnoreCase)) {
            if ($null -eq $best -or $name.Length -gt ([string]$best.Name).Length) {
                $best = $volume
            }
        }
    }
    if ($null -eq $best) {
        return $null
    }
    return @{
        name = [string]$best.Name
        free_bytes = [int64](Get-ExDrProperty -InputObject $best -Name 'FreeSpace')
        size_bytes = [int64](Get-ExDrProperty -InputObject $best -Name 'Capacity')
    }
}

$exportMembers = @{
    Function = 'Get-ExDrExchangeShellSpec', 'Get-ExDrProperty', 'ConvertTo-ExDrString', 'Open-ExDrExchangeShell',
    'Invoke-ExDrExchangeCmdlet', 'Close-ExDrExchangeShell', 'ConvertTo-ExDrArgument', 'Invoke-ExDrEseutil', 'Get-ExDrVolume'
}
Export-ModuleMember @exportMembers
