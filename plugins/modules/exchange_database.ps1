#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of exchange_database. The action plugin decides (plugin_utils/_database_restore.py); this module only reads
# (_operation=inspect: the backup folder and eseutil's view of it, the record of earlier runs, the aside volume, 2007's
# storage group, isinteg's list) or runs the steps it was given, in order, stopping at the first failure
# (_operation=apply). It never replaces a file: a copy or a move onto an existing file fails, unless that file is this copy
# or move already done by a run that was cut off.

$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true }
        state = @{ type = 'str'; default = 'mounted'; choices = 'mounted', 'dismounted', 'present' }
        restore_from = @{ type = 'str' }
        restore_logs_from = @{ type = 'str' }
        restore = @{ type = 'str'; default = 'missing'; choices = 'missing', 'unusable', 'always' }
        allow_file_restore = @{ type = 'bool'; default = $false }
        soft_recovery = @{ type = 'bool'; default = $true }
        allow_data_loss = @{ type = 'bool'; default = $false }
        repair = @{ type = 'str'; default = 'none'; choices = 'none', 'repair', 'repair_and_defragment' }
        repair_request = @{ type = 'list'; elements = 'str'; default = @('SearchFolder', 'AggregateCounts', 'ProvisionedFolder', 'FolderView') }
        dial_tone = @{ type = 'bool'; default = $false }
        aside_folder = @{ type = 'str' }
        _operation = @{ type = 'str'; default = 'inspect'; choices = 'inspect', 'apply' }
        _database = @{ type = 'dict' }
        _steps = @{ type = 'list'; elements = 'dict' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result._inspect = $null
$module.Result._applied = @()
$module.Result._final = $null

$recordKey = 'HKLM:\SOFTWARE\exchange_dr\recovery\Databases'
$database = $module.Params._database
if ($null -eq $database) {
    $module.FailJson('Failed to run exchange_database: _database is set by the exchange_dr.recovery.exchange_database action plugin; none was given')
}
$name = $module.Params.name
$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to work on database $($name): Exchange Server is not installed on $($env:COMPUTERNAME)")
}
$eseutilPath = Join-Path -Path $state.install_path -ChildPath 'Bin\eseutil.exe'
$isintegPath = Join-Path -Path $state.install_path -ChildPath 'Bin\isinteg.exe'
$prefix = if ($database.log_prefix) { [string]$database.log_prefix } else { 'E00' }

Function Get-ExDrFileEntry {
    <#
    .SYNOPSIS
    Name, path, size and last write time (UTC) of a file.
    #>
    param ([System.IO.FileInfo]$Item)
    @{ name = $Item.Name; path = $Item.FullName; size = [int64]$Item.Length; modified = $Item.LastWriteTimeUtc.ToString('o') }
}

Function Invoke-ExDrProgram {
    <#
    .SYNOPSIS
    Runs a program with text on its standard input: @{ command_line; rc; output }.
    #>
    param ([string]$Path, [string[]]$Arguments, [string]$InputText)
    $commandLine = (@($Path) + $Arguments | ForEach-Object { ConvertTo-ExDrArgument -Value $_ }) -join ' '
    $process = [Ansible.Process.ProcessUtil]::CreateProcess($null, $commandLine, $null, $null, $InputText)
    @{ command_line = $commandLine; rc = $process.ExitCode; output = @($process.StandardOut -split '\r?\n') }
}

Function Get-ExDrDatabaseObject {
    <#
    .SYNOPSIS
    The database's object with -Status (Mounted), from the cmdlet of its kind.
    #>
    param ([hashtable]$Shell)
    $cmdlet = if ($database.kind -eq 'public_folder') { 'Get-PublicFolderDatabase' } else { 'Get-MailboxDatabase' }
    @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name $cmdlet -Parameters @{ Identity = $name; Status = $true }) | Select-Object -First 1
}

if ($module.Params._operation -eq 'inspect') {
    $inspect = @{
        server = $env:COMPUTERNAME
        now = [DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ')
        record = Get-ExDrRegistryValue -Path $recordKey -Name ([string]$database.guid)
        log_bytes = [int64]0
        aside_volume = $null
        backup = $null
        siblings = @()
        isinteg = $null
        repair_requests = $null
        live = @{ ml = $null; current_log = $null }
    }
    $logFolder = [string]$database.log_folder_path
    $ours = @()
    $failure = $null
    try {
        $volumes = @(Get-CimInstance -ClassName Win32_Volume -Filter 'DriveType=3')
        if ($logFolder -and (Test-Path -LiteralPath $logFolder -PathType Container)) {
            $ours = @(Get-ChildItem -LiteralPath $logFolder -Filter "$prefix*.log" -File)
            foreach ($log in $ours) {
                $inspect.log_bytes += [int64]$log.Length
            }
        }
        if ($module.Params.aside_folder) {
            $inspect.aside_volume = Get-ExDrVolume -Path $module.Params.aside_folder -Volumes $volumes
        }
    }
    catch {
        $failure = $_
    }
    if ($null -ne $failure) {
        $module.FailJson("Failed to read the files of $($name): $($failure.Exception.Message)", $failure)
    }

    if ($module.Params.restore_from -and $database.read_backup) {
        if (-not (Test-Path -LiteralPath $eseutilPath -PathType Leaf)) {
            $module.FailJson("Failed to read the backup of $($name): eseutil.exe is not at $eseutilPath")
        }
        # The backup: every database file in the folder with its header (eseutil /mh), the log files, and for the logs of
        # this database's stream the verification (/ml <folder>\<prefix>) and the current log's generation.
        $folder = $module.Params.restore_from
        $logsFrom = if ($module.Params.restore_logs_from) { $module.Params.restore_logs_from } else { $folder }
        $backup = @{ folder = $folder; exists = $false; error = $null; edb_files = @(); eseutil = @{}; logs = @{ folder = $logsFrom; exists = $false; files = @(); ml = $null; current_log = $null } }
        $failure = $null
        try {
            $item = Get-Item -LiteralPath $folder -ErrorAction Stop
            $backup.exists = $item.PSIsContainer
            if ($backup.exists) {
                $edbs = @(Get-ChildItem -LiteralPath $folder -Filter '*.edb' -File -ErrorAction Stop | Sort-Object -Property Name | Select-Object -First 5)
                $backup.edb_files = @($edbs | ForEach-Object { Get-ExDrFileEntry -Item $_ })
                foreach ($edb in $edbs) {
                    $backup.eseutil[$edb.Name] = @{ mh = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/mh', $edb.FullName) }
                }
                if (Test-Path -LiteralPath $logsFrom -PathType Container) {
                    $backup.logs.exists = $true
                    $logs = @(Get-ChildItem -LiteralPath $logsFrom -Filter '*.log' -File -ErrorAction Stop | Sort-Object -Property Name)
                    $backup.logs.files = @($logs | ForEach-Object { Get-ExDrFileEntry -Item $_ })
                    $ours = @($logs | Where-Object { $_.Name -like "$prefix*.log" })
                    if ($ours.Count -gt 0) {
                        $backup.logs.ml = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/ml', (Join-Path -Path $logsFrom -ChildPath $prefix))
                    }
                    $current = Join-Path -Path $logsFrom -ChildPath "$prefix.log"
                    if (Test-Path -LiteralPath $current -PathType Leaf) {
                        $backup.logs.current_log = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/ml', $current)
                    }
                }
            }
        }
        catch [System.Management.Automation.ItemNotFoundException] {
            $backup.exists = $false
        }
        catch {
            $failure = $_
        }
        if ($null -ne $failure) {
            $backup.error = $failure.Exception.Message
        }
        $inspect.backup = $backup

        # The logs in the database's own log folder take part in the restore (they can roll it forward): exchange_database_info
        # runs eseutil only beside an existing database file, so their verification and the current log's header are read here.
        if ($ours.Count -gt 0) {
            $failure = $null
            try {
                $inspect.live.ml = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/ml', (Join-Path -Path $logFolder -ChildPath $prefix))
                $current = Join-Path -Path $logFolder -ChildPath "$prefix.log"
                if (Test-Path -LiteralPath $current -PathType Leaf) {
                    $inspect.live.current_log = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/ml', $current)
                }
            }
            catch {
                $failure = $_
            }
            if ($null -ne $failure) {
                $module.FailJson("Failed to read the logs of $($name) in $($logFolder): $($failure.Exception.Message)", $failure)
            }
        }
    }

    if ($database.repair_requests) {
        # 2013 and later: the repair requests the store lists for the database (a resumed run: was it made already?)
        $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @('Get-MailboxRepairRequest')
        $failure = $null
        try {
            $inspect.repair_requests = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxRepairRequest' -Parameters @{ Database = $name } | ForEach-Object {
                    @{
                        identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Identity')
                        status = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Status')
                    }
                })
        }
        catch {
            $failure = $_
        }
        finally {
            Close-ExDrExchangeShell -Shell $shell
        }
        if ($null -ne $failure) {
            $module.FailJson("Failed to read the repair requests of $($name): $($failure.Exception.Message)", $failure)
        }
    }

    if ($database.storage_group -or $database.isinteg) {
        # 2007: the other databases of the storage group share its log stream; isinteg lists the databases it can check
        $commands = @('Get-MailboxDatabase', 'Get-PublicFolderDatabase')
        $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
        $failure = $null
        try {
            if ($database.storage_group) {
                $group = "$($env:COMPUTERNAME)\$($database.storage_group)"
                $found = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ StorageGroup = $group; Status = $true })
                $found += @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-PublicFolderDatabase' -Parameters @{ StorageGroup = $group; Status = $true })
                $inspect.siblings = @($found | ForEach-Object {
                        @{ name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name'); mounted = Get-ExDrProperty -InputObject $_ -Name 'Mounted' }
                    })
            }
        }
        catch {
            $failure = $_
        }
        finally {
            Close-ExDrExchangeShell -Shell $shell
        }
        if ($null -ne $failure) {
            $module.FailJson("Failed to read the storage group of $($name): $($failure.Exception.Message)", $failure)
        }
        if ($database.isinteg -and (Test-Path -LiteralPath $isintegPath -PathType Leaf)) {
            # No answer on its input: isinteg lists the databases and stops at the selection prompt
            $inspect.isinteg = Invoke-ExDrProgram -Path $isintegPath -Arguments @('-s', $env:COMPUTERNAME, '-test', 'alltests') -InputText ''
        }
    }
    $module.Result._inspect = $inspect
    $module.ExitJson()
}

# _operation=apply: the steps in order; the first failure stops the run and is reported with what was done.
$steps = @($module.Params._steps)
if ($module.CheckMode) {
    $module.ExitJson()
}
$commands = @('Get-MailboxDatabase')
if ($database.kind -eq 'public_folder') {
    $commands = @('Get-PublicFolderDatabase')
}
foreach ($step in $steps) {
    if ($step.cmdlet -and $commands -notcontains $step.cmdlet) {
        $commands += [string]$step.cmdlet
    }
}
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$applied = [System.Collections.Generic.List[hashtable]]@()
$failure = $null
$failedStep = $null
try {
    foreach ($step in $steps) {
        $failedStep = $step.kind
        $done = @{ kind = [string]$step.kind; ok = $false; run = $null; output = $null }
        $applied.Add($done)
        $module.Result.changed = $true
        switch ([string]$step.kind) {
            'dismount' {
                $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Dismount-Database' -Parameters @{ Identity = $name; Confirm = $false }
            }
            'mount' {
                $parameters = @{ Identity = $name }
                if ($step.force) {
                    $parameters.Force = $true
                }
                $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Mount-Database' -Parameters $parameters
            }
            'allow_file_restore' {
                $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name ([string]$step.cmdlet) -Parameters @{ Identity = $name; AllowFileRestore = $true }
            }
            'repair_request' {
                $request = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'New-MailboxRepairRequest' -Parameters @{
                        Database = $name
                        CorruptionType = [string[]]@($step.corruption_types)
                    }) | Select-Object -First 1
                $done.output = @{
                    identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $request -Name 'Identity')
                    request_guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $request -Name 'RequestGuid')
                }
            }
            { $_ -in 'move', 'copy' } {
                foreach ($entry in @($step.items)) {
                    $source = [string]$entry.src
                    $destination = [string]$entry.dst
                    $already = $false
                    if (Test-Path -LiteralPath $destination) {
                        # A rerun after a cut: a move whose source is gone is done; a copy whose file has the source's
                        # length and last write time is done (Copy-Item goes through FileInfo.CopyTo, i.e. CopyFile, which
                        # keeps the last write time: PowerShell/PowerShell src/System.Management.Automation/namespaces/
                        # FileSystemProvider.cs CopyFileInfoItem). Anything else is never replaced.
                        $target = Get-Item -LiteralPath $destination -Force -ErrorAction Stop
                        if (-not $target.PSIsContainer) {
                            if ($step.kind -eq 'move') {
                                $already = -not (Test-Path -LiteralPath $source)
                            }
                            elseif (Test-Path -LiteralPath $source -PathType Leaf) {
                                $original = Get-Item -LiteralPath $source -Force -ErrorAction Stop
                                $already = ($original.Length -eq $target.Length) -and ($original.LastWriteTimeUtc -eq $target.LastWriteTimeUtc)
                            }
                        }
                        if (-not $already) {
                            throw "$destination exists and is not the $($step.kind) of $source (another file); it is not replaced"
                        }
                    }
                    if (-not $already) {
                        $parent = Split-Path -Path $destination -Parent
                        if (-not (Test-Path -LiteralPath $parent -PathType Container)) {
                            $null = New-Item -Path $parent -ItemType Directory -Force -ErrorAction Stop
                        }
                        if ($step.kind -eq 'move') {
                            Move-Item -LiteralPath $source -Destination $destination -ErrorAction Stop
                        }
                        else {
                            # Copied under a temporary name, then renamed: a file with its own name is always complete. The
                            # temporary file can only be this module's own interrupted copy.
                            $partial = "$destination.exdr-partial"
                            if (Test-Path -LiteralPath $partial -PathType Leaf) {
                                Remove-Item -LiteralPath $partial -Force -ErrorAction Stop
                            }
                            Copy-Item -LiteralPath $source -Destination $partial -ErrorAction Stop
                            Move-Item -LiteralPath $partial -Destination $destination -ErrorAction Stop
                        }
                    }
                }
            }
            'eseutil' {
                $done.run = Invoke-ExDrEseutil -Path $eseutilPath -Arguments ([string[]]@($step.arguments))
                if (0 -ne $done.run.rc) {
                    throw "eseutil exited with $($done.run.rc)"
                }
            }
            'isinteg' {
                $done.run = Invoke-ExDrProgram -Path $isintegPath -Arguments ([string[]]@($step.arguments)) -InputText ([string]$step.input)
                if (0 -ne $done.run.rc) {
                    throw "isinteg exited with $($done.run.rc)"
                }
            }
            'record' {
                if (-not (Test-Path -LiteralPath $step.key)) {
                    $null = New-Item -Path $step.key -Force -ErrorAction Stop
                }
                $null = New-ItemProperty -LiteralPath $step.key -Name ([string]$step.value) -Value ([string]$step.data) -PropertyType String -Force -ErrorAction Stop
            }
            default {
                throw "unknown step $($step.kind)"
            }
        }
        $done.ok = $true
    }
    $failedStep = $null
}
catch {
    $failure = $_
}
$final = @{ mounted = $null; allow_file_restore = $null; edb = @{ exists = $false; size = $null; modified = $null }; log_count = 0; error = $null }
try {
    $object = Get-ExDrDatabaseObject -Shell $shell
    $final.mounted = Get-ExDrProperty -InputObject $object -Name 'Mounted'
    $final.allow_file_restore = Get-ExDrProperty -InputObject $object -Name 'AllowFileRestore'
}
catch {
    $final.error = $_.Exception.Message
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
$edbPath = [string]$database.edb_file_path
$logFolder = [string]$database.log_folder_path
try {
    if ($edbPath -and (Test-Path -LiteralPath $edbPath -PathType Leaf)) {
        $item = Get-Item -LiteralPath $edbPath
        $final.edb = @{ exists = $true; size = [int64]$item.Length; modified = $item.LastWriteTimeUtc.ToString('o') }
    }
    if ($logFolder -and (Test-Path -LiteralPath $logFolder -PathType Container)) {
        $final.log_count = @(Get-ChildItem -LiteralPath $logFolder -Filter "$prefix*.log" -File).Count
    }
}
catch {
    $final.error = "Failed to read the files of $($name) afterwards: $($_.Exception.Message)"
}
$module.Result._applied = @($applied)
$module.Result._final = $final
if ($null -ne $failure) {
    $module.FailJson("Failed to $failedStep $($name): $($failure.Exception.Message)", $failure)
}
$module.ExitJson()
