#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeTransport

# The host half of transport_queue_database: one whole step on the queue database, which the action plugin has judged safe
# and necessary (plugin_utils/_transport_queue.py plan()): relocate it or set its folders' rights (present), replace it with a
# new one with the old set moved aside (fresh), repair it (repaired), or deliver an old database kept aside (replayed).
# Files are moved or copied aside with a time stamp, never deleted. docs/transport-and-edge.md.

$spec = @{
    options = @{
        state = @{ type = 'str'; default = 'present'; choices = 'present', 'fresh', 'repaired', 'replayed' }
        path = @{ type = 'str' }
        logging_path = @{ type = 'str' }
        move_existing = @{ type = 'bool'; default = $true }
        replace_with_messages = @{ type = 'bool'; default = $false }
        allow_repair = @{ type = 'bool'; default = $false }
        defragment = @{ type = 'bool'; default = $false }
        replay_from = @{ type = 'str' }
        aside_root = @{ type = 'str' }
        method = @{ type = 'str'; default = 'auto'; choices = 'auto', 'component', 'pause' }
        timeout = @{ type = 'int'; default = 300 }
        poll_interval = @{ type = 'int'; default = 10 }
        settle_seconds = @{ type = 'int'; default = 10 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.state = $module.Params.state
$module.Result.paths = @{ database = $null; logging = $null }
$module.Result.previous_paths = @{ database = $null; logging = $null }
$module.Result.aside = $null
$module.Result.moved = @()
$module.Result.copied = @()
$module.Result.config_backup = $null
$module.Result.rights_changed = $false
$module.Result.eseutil = @()
$module.Result.service = @{ running = $null; state = $null }
$module.Result.events = @()
$module.Result.new_files = @{ database = @(); logging = @() }
$module.Result.replay = @{ source = $null; finished = $false; waited = 0; timed_out = $false; queues = @() }

Function Move-ExDrQueueFile {
    # Moves the queue database's files of $From into $To (never over an existing file); returns the names moved.
    param ([string]$From, [string]$To, [switch]$Logging)
    $moved = @()
    if (-not (Test-Path -LiteralPath $To -PathType Container)) {
        New-Item -Path $To -ItemType Directory -Force | Out-Null
    }
    foreach ($file in @(Get-ExDrQueueFiles -Folder $From -Logging:$Logging)) {
        $destination = Join-Path -Path $To -ChildPath $file.name
        if (Test-Path -LiteralPath $destination) {
            throw "$destination exists already: the queue database files are never moved over other files"
        }
        Move-Item -LiteralPath (Join-Path -Path $From -ChildPath $file.name) -Destination $destination -ErrorAction Stop
        $moved += $file.name
    }
    return , $moved
}

Function Complete-ExDrStart {
    # Starts the service and records how it went and the new files. Returns $null, or why it did not stay running (the
    # callers fail the module after their try blocks).
    param ([string]$Database, [string]$Logging, [string]$What)
    $started = Start-ExDrTransport -SettleSeconds $module.Params.settle_seconds
    $module.Result.service = @{ running = $started.running; state = $started.state }
    $module.Result.events = $started.events
    $module.Result.new_files = @{ database = Get-ExDrQueueFiles -Folder $Database; logging = Get-ExDrQueueFiles -Folder $Logging -Logging }
    if ($started.running) {
        return $null
    }
    $detail = @($started.events | ForEach-Object { "event $($_.id): $($_.message)" }) -join ' '
    return "$What, but the Microsoft Exchange Transport service did not stay running ($($started.state)). $($started.error) $detail".Trim()
}

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to manage the queue database of $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$edge = $state.roles -contains 'EdgeTransportRole'
$config = $null
$failure = $null
try {
    $config = Get-ExDrTransportConfig -InstallPath $state.install_path
}
catch {
    $failure = $_
}
if ($null -ne $failure) {
    $module.FailJson("Failed to read EdgeTransport.exe.config on $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}
if (-not $config.exists) {
    $module.FailJson("Failed to manage the queue database of $($env:COMPUTERNAME): $($config.path) does not exist")
}
$default = Join-Path -Path $state.install_path -ChildPath 'TransportRoles\data\Queue'
$currentDb = if ($config.queue_database_path) { $config.queue_database_path.TrimEnd('\') } else { $default }
$currentLog = if ($config.queue_database_logging_path) { $config.queue_database_logging_path.TrimEnd('\') } else { $default }
$module.Result.previous_paths = @{ database = $currentDb; logging = $currentLog }
$module.Result.paths = @{ database = $currentDb; logging = $currentLog }
$asideRoot = if ($module.Params.aside_root) { $module.Params.aside_root.TrimEnd('\') } else { Join-Path -Path $currentDb -ChildPath 'QueueAside' }
$stamp = Get-Date -Format 'yyyyMMddTHHmmss'

if ($module.Params.state -eq 'present') {
    $wantDb = if ($module.Params.path) { $module.Params.path.TrimEnd('\') } else { $currentDb }
    $wantLog = $currentLog
    if ($module.Params.logging_path) {
        $wantLog = $module.Params.logging_path.TrimEnd('\')
    }
    elseif ($module.Params.path -and $currentDb -eq $currentLog) {
        $wantLog = $wantDb
    }
    $module.Result.paths = @{ database = $wantDb; logging = $wantLog }
    $module.Result.changed = $true
    if ($module.CheckMode) {
        $module.ExitJson()
    }
    $failure = $null
    try {
        foreach ($folder in @($wantDb, $wantLog) | Select-Object -Unique) {
            if (Grant-ExDrQueueFolderRights -Path $folder) {
                $module.Result.rights_changed = $true
            }
        }
        if ($wantDb -ne $currentDb -or $wantLog -ne $currentLog) {
            Stop-ExDrTransport
            if ($module.Params.move_existing) {
                $module.Result.moved = @(Move-ExDrQueueFile -From $currentDb -To $wantDb) + @(Move-ExDrQueueFile -From $currentLog -To $wantLog -Logging)
            }
            $module.Result.config_backup = "$($config.path).$stamp"
            Set-ExDrTransportConfig -Path $config.path -DatabasePath $wantDb -LoggingPath $wantLog -BackupPath $module.Result.config_backup
        }
    }
    catch {
        $failure = $_
    }
    if ($null -ne $failure) {
        $module.FailJson("Failed to relocate the queue database of $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
    }
    if ($wantDb -ne $currentDb -or $wantLog -ne $currentLog -or (Get-ExDrTransportService).state -eq 'stopped') {
        $problem = Complete-ExDrStart -Database $wantDb -Logging $wantLog -What "The queue database is now at $wantDb"
        if ($problem) {
            $module.FailJson($problem)
        }
    }
    $module.ExitJson()
}

if ($module.Params.state -eq 'fresh') {
    $module.Result.changed = $true
    if ($module.CheckMode) {
        $module.ExitJson()
    }
    $failure = $null
    try {
        Stop-ExDrTransport
        $existing = @(Get-ExDrQueueFiles -Folder $currentDb) + @(Get-ExDrQueueFiles -Folder $currentLog -Logging)
        if ($existing.Count -gt 0) {
            $module.Result.aside = Join-Path -Path $asideRoot -ChildPath $stamp
            $module.Result.moved = @(Move-ExDrQueueFile -From $currentDb -To $module.Result.aside) + @(Move-ExDrQueueFile -From $currentLog -To $module.Result.aside -Logging)
        }
        foreach ($folder in @($currentDb, $currentLog) | Select-Object -Unique) {
            if (Grant-ExDrQueueFolderRights -Path $folder) {
                $module.Result.rights_changed = $true
            }
        }
    }
    catch {
        $failure = $_
    }
    if ($null -ne $failure) {
        $module.FailJson("Failed to move the queue database of $($env:COMPUTERNAME) aside: $($failure.Exception.Message)", $failure)
    }
    $problem = Complete-ExDrStart -Database $currentDb -Logging $currentLog -What 'The old queue database is aside'
    if ($problem) {
        $module.FailJson($problem)
    }
    $created = @($module.Result.new_files.database | Where-Object { $_.name -eq 'Mail.que' -or $_.name -eq 'Trn.chk' })
    if ($created.Count -lt 2) {
        $module.FailJson("The Transport service runs but did not create Mail.que and Trn.chk in $currentDb")
    }
    $module.ExitJson()
}

$eseutilPath = Join-Path -Path $state.install_path -ChildPath 'Bin\eseutil.exe'
if ($module.Params.state -eq 'repaired') {
    if (-not $module.Params.allow_repair) {
        $module.FailJson('state=repaired needs allow_repair=true: eseutil /p loses data')
    }
    $module.Result.changed = $true
    if ($module.CheckMode) {
        $module.ExitJson()
    }
    $mail = Join-Path -Path $currentDb -ChildPath 'Mail.que'
    $failure = $null
    try {
        Stop-ExDrTransport
        # the database is copied aside; its logs and checkpoint no longer match a repaired database, so they are moved there
        $module.Result.aside = Join-Path -Path $asideRoot -ChildPath "$stamp-before-repair"
        New-Item -Path $module.Result.aside -ItemType Directory -Force | Out-Null
        Copy-Item -LiteralPath $mail -Destination (Join-Path -Path $module.Result.aside -ChildPath 'Mail.que') -ErrorAction Stop
        $module.Result.copied = @('Mail.que')
        $module.Result.moved = @(Move-ExDrQueueFile -From $currentLog -To $module.Result.aside -Logging)
        $checkpoint = Join-Path -Path $currentDb -ChildPath 'Trn.chk'
        if (Test-Path -LiteralPath $checkpoint -PathType Leaf) {
            Move-Item -LiteralPath $checkpoint -Destination (Join-Path -Path $module.Result.aside -ChildPath 'Trn.chk') -ErrorAction Stop
            $module.Result.moved += 'Trn.chk'
        }
    }
    catch {
        $failure = $_
    }
    if ($null -ne $failure) {
        $module.FailJson("Failed to set the queue database of $($env:COMPUTERNAME) aside before repairing it: $($failure.Exception.Message)", $failure)
    }
    $runs = @(Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/p', $mail, '/o'))
    if ($runs[0].rc -eq 0 -and $module.Params.defragment) {
        $runs += Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/d', $mail, '/o')
    }
    $module.Result.eseutil = $runs
    if ($runs[-1].rc -ne 0) {
        $module.FailJson("eseutil failed on $mail (exit code $($runs[-1].rc)); the Transport service is left stopped and the database's copy is in $($module.Result.aside)")
    }
    $problem = Complete-ExDrStart -Database $currentDb -Logging $currentLog -What 'The queue database was repaired'
    if ($problem) {
        $module.FailJson($problem)
    }
    $module.ExitJson()
}

# replayed: deliver the messages of an old queue database kept aside (CSS ReplayQueueDatabases; E07 bb124343)
$source = if ($module.Params.replay_from) { $module.Params.replay_from.TrimEnd('\') } else { $null }
if (-not $source) {
    $module.FailJson('state=replayed needs replay_from')
}
$method = $module.Params.method
if ($method -eq 'auto') {
    $module.FailJson('method=auto is resolved by the exchange_dr.recovery.transport_queue_database action plugin from the release; run the module through it')
}
$module.Result.replay.source = $source
$backup = "$($config.path).before-replay"
$notes = Join-Path -Path $source -ChildPath 'exchange_dr.replay.json'
$inProgress = (Test-Path -LiteralPath $backup -PathType Leaf) -and ($currentDb -eq $source)
$module.Result.changed = $true
if ($module.CheckMode) {
    $module.ExitJson()
}
$commands = @('Get-Queue')
if ($method -eq 'component') {
    $commands += 'Get-ServerComponentState', 'Set-ServerComponentState'
}
$failure = $null
$shell = $null
try {
    if (-not $inProgress) {
        $intakeBefore = 'running'
        if ($method -eq 'component') {
            $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands -Edge:$edge
            $found = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-ServerComponentState' -Parameters @{ Identity = $env:COMPUTERNAME; Component = 'HubTransport' })
            $intakeBefore = [string](Get-ExDrProperty -InputObject $found[0] -Name 'State')
            if ($intakeBefore -eq 'Active') {
                $componentParams = @{ Identity = $env:COMPUTERNAME; Component = 'HubTransport'; State = 'Draining'; Requester = 'Maintenance' }
                Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Set-ServerComponentState' -Parameters $componentParams | Out-Null
            }
        }
        [System.IO.File]::WriteAllText($notes, (@{ intake_before = $intakeBefore; started = (Get-Date).ToUniversalTime().ToString('o') } | ConvertTo-Json -Compress))
        Stop-ExDrTransport
        $module.Result.config_backup = $backup
        Set-ExDrTransportConfig -Path $config.path -DatabasePath $source -LoggingPath $source -BackupPath $backup
        $problem = Complete-ExDrStart -Database $source -Logging $source -What "EdgeTransport.exe.config points at $source"
        if ($problem) {
            throw $problem
        }
        if ($method -eq 'pause') {
            Suspend-Service -Name 'MSExchangeTransport' -ErrorAction Stop
        }
    }
    if ($null -eq $shell) {
        $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands -Edge:$edge
    }
    $started = [DateTime]::UtcNow
    $queues = @(Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME)
    $left = @($queues | Where-Object { $_.delivery_type -ne 'ShadowRedundancy' -and $_.delivery_type -ne 'Unreachable' -and ($_.identity -split '\\', 2)[-1] -ne 'Poison' -and [int]$_.message_count -gt 0 })
    while ($left.Count -gt 0) {
        $elapsed = ([DateTime]::UtcNow - $started).TotalSeconds
        if ($elapsed -ge $module.Params.timeout) {
            $module.Result.replay.timed_out = $true
            break
        }
        Start-Sleep -Seconds ([Math]::Max(1, [Math]::Min($module.Params.poll_interval, $module.Params.timeout - $elapsed)))
        $queues = @(Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME)
        $left = @($queues | Where-Object { $_.delivery_type -ne 'ShadowRedundancy' -and $_.delivery_type -ne 'Unreachable' -and ($_.identity -split '\\', 2)[-1] -ne 'Poison' -and [int]$_.message_count -gt 0 })
    }
    $module.Result.replay.waited = [int]([DateTime]::UtcNow - $started).TotalSeconds
    $module.Result.replay.queues = $queues
    if (-not $module.Result.replay.timed_out) {
        # delivered: back to the server's own database, the folder marked, the intake as it was before the replay
        Stop-ExDrTransport
        $keep = "$backup.$stamp"
        Copy-Item -LiteralPath $backup -Destination $config.path -Force -ErrorAction Stop
        Move-Item -LiteralPath $backup -Destination $keep -ErrorAction Stop
        $module.Result.config_backup = $keep
        $intakeBefore = 'Active'
        if (Test-Path -LiteralPath $notes -PathType Leaf) {
            $intakeBefore = [string](ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($notes))).intake_before
        }
        $marker = Join-Path -Path $source -ChildPath 'exchange_dr.replayed'
        [System.IO.File]::WriteAllText($marker, "replayed on $($env:COMPUTERNAME) at $((Get-Date).ToUniversalTime().ToString('o'))")
        $restored = Get-ExDrTransportConfig -InstallPath $state.install_path
        $backDb = if ($restored.queue_database_path) { $restored.queue_database_path.TrimEnd('\') } else { $default }
        $backLog = if ($restored.queue_database_logging_path) { $restored.queue_database_logging_path.TrimEnd('\') } else { $default }
        $module.Result.paths = @{ database = $backDb; logging = $backLog }
        $problem = Complete-ExDrStart -Database $backDb -Logging $backLog -What "The replay of $source is finished"
        if ($problem) {
            throw $problem
        }
        if ($method -eq 'component' -and $intakeBefore -eq 'Active') {
            $componentParams = @{ Identity = $env:COMPUTERNAME; Component = 'HubTransport'; State = 'Active'; Requester = 'Maintenance' }
            Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Set-ServerComponentState' -Parameters $componentParams | Out-Null
        }
        $module.Result.replay.finished = $true
    }
    else {
        $module.Result.paths = @{ database = $source; logging = $source }
    }
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to replay $source on $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
