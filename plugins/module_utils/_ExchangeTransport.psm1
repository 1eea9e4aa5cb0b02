# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# The transport queue database on the host: EdgeTransport.exe.config's queue keys, the files, the folders' rights, the
# Microsoft Exchange Transport service and its events, the queues. Only reading and acting: the controller judges
# (plugin_utils/_transport_queue.py). Facts and sources: docs/transport-and-edge.md.

#AnsibleRequires -PowerShell ..module_utils._Windows
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

Set-StrictMode -Version 2.0

$script:TransportService = 'MSExchangeTransport'
$script:QueueKeys = @('QueueDatabasePath', 'QueueDatabaseLoggingPath')
# Full Control on the queue folders for these (ODX queues/relocate-queue-database.md), by SID: the names are localized
$script:QueueFolderSids = @('S-1-5-20', 'S-1-5-18', 'S-1-5-32-544')
# Mail.que and Trn.chk in QueueDatabasePath; Trn*.log, Trnres*.jrs and Temp.edb (Tmp.edb on the queues page) in the log path
$script:DatabaseFilePatterns = @('Mail.que', 'Trn.chk')
$script:LogFilePatterns = @('Trn*.log', 'Trnres*.jrs', 'Temp.edb', 'Tmp.edb')

Function Get-ExDrTransportConfig {
    <#
    .SYNOPSIS
    The queue keys of <install>\Bin\EdgeTransport.exe.config: @{ path; exists; queue_database_path; queue_database_logging_path }
    (a key that is missing or empty is $null).
    #>
    param ([Parameter(Mandatory = $true)] [string]$InstallPath)
    $path = Join-Path -Path $InstallPath -ChildPath 'Bin\EdgeTransport.exe.config'
    $config = @{ path = $path; exists = $false; queue_database_path = $null; queue_database_logging_path = $null }
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        return $config
    }
    $config.exists = $true
    $doc = New-Object -TypeName System.Xml.XmlDocument
    $doc.Load($path)
    foreach ($key in $script:QueueKeys) {
        $node = $doc.SelectSingleNode("/configuration/appSettings/add[@key='$key']")
        if ($null -ne $node -and $node.GetAttribute('value')) {
            $name = if ($key -eq 'QueueDatabasePath') { 'queue_database_path' } else { 'queue_database_logging_path' }
            $config[$name] = $node.GetAttribute('value')
        }
    }
    return $config
}

Function Set-ExDrTransportConfig {
    <#
    .SYNOPSIS
    Sets the queue keys (key names are case-sensitive) in EdgeTransport.exe.config, adding them to <appSettings> when
    missing. The file is copied to $BackupPath first.
    #>
    param (
        [Parameter(Mandatory = $true)] [string]$Path,
        [Parameter(Mandatory = $true)] [string]$DatabasePath,
        [Parameter(Mandatory = $true)] [string]$LoggingPath,
        [Parameter(Mandatory = $true)] [string]$BackupPath
    )
    Copy-Item -LiteralPath $Path -Destination $BackupPath -Force
    $doc = New-Object -TypeName System.Xml.XmlDocument
    $doc.PreserveWhitespace = $true
    $doc.Load($Path)
    $settings = $doc.SelectSingleNode('/configuration/appSettings')
    if ($null -eq $settings) {
        $settings = $doc.DocumentElement.AppendChild($doc.CreateElement('appSettings'))
    }
    foreach ($pair in @(@('QueueDatabasePath', $DatabasePath), @('QueueDatabaseLoggingPath', $LoggingPath))) {
        $node = $settings.SelectSingleNode("add[@key='$($pair[0])']")
        if ($null -eq $node) {
            $node = $settings.AppendChild($doc.CreateElement('add'))
            $node.SetAttribute('key', $pair[0])
        }
        $node.SetAttribute('value', $pair[1])
    }
    $doc.Save($Path)
}

Function Get-ExDrFolderAccess {
    <#
    .SYNOPSIS
    The access rules of a queue folder (of its nearest existing parent when it does not exist, since the service creates
    it there): @{ path; exists; judged_on; access = @(@{ identity; sid; rights; type; inherited }) }.
    #>
    param ([Parameter(Mandatory = $true)] [string]$Path)
    $target = $Path
    while ($target -and -not (Test-Path -LiteralPath $target -PathType Container)) {
        $parent = Split-Path -Path $target -Parent
        if (-not $parent -or $parent -eq $target) {
            $target = $null
            break
        }
        $target = $parent
    }
    $folder = @{ path = $Path; exists = (Test-Path -LiteralPath $Path -PathType Container); judged_on = $target; access = @() }
    if ($target) {
        $folder.access = @((Get-Acl -LiteralPath $target).Access | ForEach-Object {
                $sid = $null
                try {
                    $sid = $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value
                }
                catch {
                    $sid = $null
                }
                @{
                    identity = $_.IdentityReference.Value
                    sid = $sid
                    rights = $_.FileSystemRights.ToString()
                    type = $_.AccessControlType.ToString()
                    inherited = $_.IsInherited
                }
            })
    }
    return $folder
}

Function Grant-ExDrQueueFolderRights {
    <#
    .SYNOPSIS
    Creates the folder when needed and grants Full Control (this folder, subfolders and files) to NETWORK SERVICE, SYSTEM
    and Administrators where it is missing. Returns $true when it changed something.
    #>
    param ([Parameter(Mandatory = $true)] [string]$Path)
    $changed = $false
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
        New-Item -Path $Path -ItemType Directory -Force | Out-Null
        $changed = $true
    }
    $acl = Get-Acl -LiteralPath $Path
    $added = $false
    foreach ($sidValue in $script:QueueFolderSids) {
        $sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sidValue
        $has = @($acl.Access | Where-Object {
                $ruleSid = $null
                try {
                    $ruleSid = $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value
                }
                catch {
                    $ruleSid = $null
                }
                $ruleSid -eq $sidValue -and $_.AccessControlType -eq 'Allow' -and
                ($_.FileSystemRights -band [System.Security.AccessControl.FileSystemRights]::FullControl) -eq [System.Security.AccessControl.FileSystemRights]::FullControl
            })
        if ($has.Count -eq 0) {
            $ruleArgs = @($sid, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
            $acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $ruleArgs))
            $added = $true
        }
    }
    if ($added) {
        Set-Acl -LiteralPath $Path -AclObject $acl
        $changed = $true
    }
    return $changed
}

Function Get-ExDrQueueFiles {
    <#
    .SYNOPSIS
    The queue database's files in a folder: @(@{ name; size; modified }) for -Database (Mail.que, Trn.chk) or -Logging
    (Trn*.log, Trnres*.jrs, Temp.edb, Tmp.edb).
    #>
    param ([Parameter(Mandatory = $true)] [string]$Folder, [switch]$Logging)
    if (-not (Test-Path -LiteralPath $Folder -PathType Container)) {
        return , @()
    }
    $patterns = if ($Logging) { $script:LogFilePatterns } else { $script:DatabaseFilePatterns }
    $files = foreach ($pattern in $patterns) {
        Get-ChildItem -LiteralPath $Folder -Filter $pattern -File -ErrorAction SilentlyContinue
    }
    return , @($files | Sort-Object -Property Name -Unique | ForEach-Object {
            @{ name = $_.Name; size = [int64]$_.Length; modified = $_.LastWriteTimeUtc.ToString('o') }
        })
}

Function Get-ExDrTransportService {
    <#
    .SYNOPSIS
    MSExchangeTransport: @{ exists; state; start_mode } with the collection's names (ConvertTo-ExDrServiceState,
    Get-ExDrServiceStartMode in _Windows.psm1).
    #>
    $service = Get-CimInstance -ClassName Win32_Service -Filter "Name=$(ConvertTo-ExDrWqlString -Value $script:TransportService)"
    if ($null -eq $service) {
        return @{ exists = $false; state = $null; start_mode = $null }
    }
    return @{
        exists = $true
        state = ConvertTo-ExDrServiceState -State (Get-ExDrProperty -InputObject $service -Name 'State')
        start_mode = Get-ExDrServiceStartMode -Instance $service
    }
}

Function Get-ExDrTransportEvents {
    <#
    .SYNOPSIS
    MSExchangeTransport's error events in the Application log since $Since (the last $Max): @(@{ id; time; message }).
    #>
    param ([datetime]$Since = [datetime]::MinValue, [int]$Max = 5)
    $filter = @{ LogName = 'Application'; ProviderName = $script:TransportService; Level = 2 }
    if ($Since -ne [datetime]::MinValue) {
        $filter.StartTime = $Since
    }
    $found = @(Get-WinEvent -FilterHashtable $filter -MaxEvents $Max -ErrorAction SilentlyContinue)
    return , @($found | Sort-Object -Property TimeCreated | ForEach-Object {
            @{ id = [int]$_.Id; time = $_.TimeCreated.ToUniversalTime().ToString('o'); message = [string]$_.Message }
        })
}

Function Stop-ExDrTransport {
    <#
    .SYNOPSIS
    Stops MSExchangeTransport (a normal stop commits the logs into Mail.que) when it runs or is paused.
    #>
    $service = Get-Service -Name $script:TransportService
    if ($service.Status -ne 'Stopped') {
        Stop-Service -Name $script:TransportService -Force -ErrorAction Stop
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(120))
    }
}

Function Start-ExDrTransport {
    <#
    .SYNOPSIS
    Starts MSExchangeTransport and checks that it stays running $SettleSeconds later (a corrupt database stops it again).
    Returns @{ running; state; events } with the service's error events since the start.
    #>
    param ([int]$SettleSeconds = 10)
    $since = (Get-Date).AddSeconds(-1)
    $startError = $null
    try {
        Start-Service -Name $script:TransportService -ErrorAction Stop
    }
    catch {
        $startError = $_.Exception.Message
    }
    Start-Sleep -Seconds $SettleSeconds
    $service = Get-ExDrTransportService
    $events = @(Get-ExDrTransportEvents -Since $since)
    return @{ running = ($service.state -eq 'running'); state = $service.state; events = $events; error = $startError }
}

Function Get-ExDrQueues {
    <#
    .SYNOPSIS
    Get-Queue on this server through an open Exchange shell: @(@{ identity; delivery_type; status; message_count;
    next_hop_domain; last_error }).
    #>
    param ([Parameter(Mandatory = $true)] [hashtable]$Shell, [Parameter(Mandatory = $true)] [string]$Server)
    $queues = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-Queue' -Parameters @{ Server = $Server } -NoDomainController)
    return , @($queues | ForEach-Object {
            @{
                identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Identity')
                delivery_type = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'DeliveryType')
                status = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Status')
                message_count = [int](Get-ExDrProperty -InputObject $_ -Name 'MessageCount')
                next_hop_domain = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'NextHopDomain')
                last_error = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'LastError')
            }
        })
}

$exportMembers = @{
    Function = 'Get-ExDrTransportConfig', 'Set-ExDrTransportConfig', 'Get-ExDrFolderAccess', 'Grant-ExDrQueueFolderRights',
    'Get-ExDrQueueFiles', 'Get-ExDrTransportService', 'Get-ExDrTransportEvents', 'Stop-ExDrTransport', 'Start-ExDrTransport',
    'Get-ExDrQueues'
}
Export-ModuleMember @exportMembers
