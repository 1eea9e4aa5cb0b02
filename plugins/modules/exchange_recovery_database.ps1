#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of exchange_recovery_database. Two operations, both thin: `read` returns what the server has (its
# databases and storage groups, the recovery database's files, the backup's files, eseutil's raw output) and `apply` runs
# the steps the action plugin planned, in order, stopping at the first that fails. Every decision - which steps, the
# cmdlet parameters, the eseutil command line, where files go aside - is made on the controller
# (plugin_utils/_recovery_database.py).

$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true }
        state = @{ type = 'str'; default = 'mounted'; choices = 'present', 'mounted', 'absent' }
        edb_file_path = @{ type = 'str' }
        log_folder_path = @{ type = 'str' }
        system_folder_path = @{ type = 'str' }
        storage_group = @{ type = 'str'; default = 'Recovery Storage Group' }
        database = @{ type = 'str' }
        restore_from = @{ type = 'str' }
        restore_logs_from = @{ type = 'str' }
        _operation = @{ type = 'str'; choices = 'read', 'apply'; default = 'read' }
        _plan = @{ type = 'dict' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; install_path = $null; shell = $null; snapin = $null; connection_uri = $null }

# The cmdlets a plan may run (apply refuses any other).
$plannedCmdlets = @(
    'New-StorageGroup', 'New-MailboxDatabase', 'Set-MailboxDatabase', 'Mount-Database', 'Dismount-Database',
    'Remove-MailboxDatabase', 'Remove-StorageGroup'
)

Function Get-ExDrFolderListing {
    <#
    .SYNOPSIS
    A folder's files (name and size), or exists = $false.
    #>
    param ([string]$Path)
    $listing = @{ path = $Path; exists = $false; files = @() }
    if ($Path -and (Test-Path -LiteralPath $Path -PathType Container)) {
        $listing.exists = $true
        $listing.files = @(Get-ChildItem -LiteralPath $Path -File | ForEach-Object { @{ name = $_.Name; size = [int64]$_.Length } })
    }
    return $listing
}

Function Get-ExDrFileEntry {
    <#
    .SYNOPSIS
    Whether a file exists and its size.
    #>
    param ([string]$Path)
    if ($Path -and (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return @{ path = $Path; exists = $true; size = [int64](Get-Item -LiteralPath $Path).Length }
    }
    return @{ path = $Path; exists = $false; size = $null }
}

Function ConvertTo-ExDrDatabaseEntry {
    <#
    .SYNOPSIS
    The properties the controller needs of a mailbox database (2007: log settings and the recovery flag come from its
    storage group).
    #>
    param ($Database, [hashtable]$Groups)
    $groupName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'StorageGroup')
    $group = $null
    if ($groupName -and $Groups.ContainsKey($groupName)) {
        $group = $Groups[$groupName]
    }
    $settings = if ($null -ne $group) { $group } else { $Database }
    $logFolder = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $settings -Name 'LogFolderPath')
    $systemFolder = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $settings -Name 'SystemFolderPath')
    return @{
        name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Name')
        identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Identity')
        guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Guid')
        server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Server')
        recovery = [bool](Get-ExDrProperty -InputObject $settings -Name 'Recovery')
        mounted = Get-ExDrProperty -InputObject $Database -Name 'Mounted'
        allow_file_restore = Get-ExDrProperty -InputObject $Database -Name 'AllowFileRestore'
        edb_file_path = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'EdbFilePath')
        log_folder_path = $logFolder
        system_folder_path = if ($systemFolder) { $systemFolder } else { $logFolder }
        log_prefix = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $settings -Name 'LogFilePrefix')
        storage_group = if ($null -ne $group) { ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'Name') } else { $null }
    }
}

Function Get-ExDrCurrentLogHeader {
    <#
    .SYNOPSIS
    eseutil /ml on every current log (E00.log, R00.log...) of a folder: the current log's name does not carry its generation.
    #>
    param ([hashtable]$Listing, [string]$Eseutil)
    $headers = [System.Collections.Generic.List[hashtable]]@()
    foreach ($file in $Listing.files) {
        if ($file.name -match '^[ER][0-9A-Fa-f]{2}\.log$') {
            $headers.Add(@{ file = $file.name; eseutil = Invoke-ExDrEseutil -Path $Eseutil -Arguments @('/ml', (Join-Path -Path $Listing.path -ChildPath $file.name)) })
        }
    }
    return @($headers)
}

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to manage recovery database $($module.Params.name) on $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path
$major = [int]($state.version -split '\.')[0]
$eseutilPath = Join-Path -Path $state.install_path -ChildPath 'Bin\eseutil.exe'
$plan = $module.Params._plan
$apply = $module.Params._operation -eq 'apply'
if ($apply -and $null -eq $plan) {
    $module.FailJson('Failed to apply: _plan is set by the action plugin (exchange_dr.recovery.exchange_recovery_database)')
}
if ($apply -and $module.CheckMode) {
    # check mode plans on the controller and changes nothing; a plan is never applied in it
    $module.FailJson('Failed to apply: a plan does not run in check mode')
}

$commands = @('Get-MailboxDatabase')
if ($major -eq 8) {
    $commands += 'Get-StorageGroup'
}
if ($apply) {
    foreach ($step in $plan['steps']) {
        if ($step['action'] -eq 'cmdlet') {
            if ($plannedCmdlets -notcontains [string]$step['cmdlet']) {
                $module.FailJson("Failed to apply: $($step['cmdlet']) is not a cmdlet this module runs")
            }
            $commands += [string]$step['cmdlet']
        }
    }
}
$commands = @($commands | Select-Object -Unique)

$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$module.Result.exchange.shell = $shell.method
$module.Result.exchange.snapin = $shell.snapin
$module.Result.exchange.connection_uri = $shell.connection_uri

$failure = $null
try {
    if ($apply) {
        $records = [System.Collections.Generic.List[hashtable]]@()
        foreach ($step in $plan['steps']) {
            $record = @{ action = [string]$step['action']; what = [string]$step['what']; ok = $false; error = $null; eseutil = $null; mounted = $null }
            try {
                switch ($record.action) {
                    'cmdlet' {
                        $parameters = @{}
                        foreach ($key in $step['parameters'].Keys) {
                            $parameters[$key] = $step['parameters'][$key]
                        }
                        $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name ([string]$step['cmdlet']) -Parameters $parameters
                        $record.ok = $true
                    }
                    'mkdir' {
                        $null = [System.IO.Directory]::CreateDirectory([string]$step['path'])
                        $record.ok = $true
                    }
                    'move' {
                        # aside, never over anything: Move throws when the destination exists
                        if (Test-Path -LiteralPath ([string]$step['path']) -PathType Container) {
                            [System.IO.Directory]::Move([string]$step['path'], [string]$step['to'])
                        }
                        else {
                            [System.IO.File]::Move([string]$step['path'], [string]$step['to'])
                        }
                        $record.ok = $true
                    }
                    'copy' {
                        # never over an existing file; a database goes through a partial name so a copy cut short is not taken for one
                        if ($step['partial']) {
                            [System.IO.File]::Copy([string]$step['path'], [string]$step['partial'], $true)
                            [System.IO.File]::Move([string]$step['partial'], [string]$step['to'])
                        }
                        else {
                            [System.IO.File]::Copy([string]$step['path'], [string]$step['to'], $false)
                        }
                        $record.ok = $true
                    }
                    'eseutil' {
                        $record.eseutil = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @($step['arguments'] | ForEach-Object { [string]$_ })
                        $record.ok = $record.eseutil.rc -eq 0
                    }
                    'status' {
                        $found = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Identity = [string]$step['identity']; Status = $true })
                        $record.mounted = if ($found.Count -gt 0) { Get-ExDrProperty -InputObject $found[0] -Name 'Mounted' } else { $null }
                        $record.ok = $true
                    }
                    default {
                        $record.error = "unknown step $($record.action)"
                    }
                }
            }
            catch {
                $record.error = $_.Exception.Message
            }
            $records.Add($record)
            if ($record.ok -and $record.action -ne 'status') {
                $module.Result.changed = $true
            }
            if (-not $record.ok) {
                break
            }
        }
        $module.Result._steps = @($records)
    }
    else {
        $groups = @{}
        $storageGroups = [System.Collections.Generic.List[hashtable]]@()
        if ($major -eq 8) {
            foreach ($group in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-StorageGroup' -Parameters @{ Server = $env:COMPUTERNAME })) {
                $groups[[string](Get-ExDrProperty -InputObject $group -Name 'Identity')] = $group
                $storageGroups.Add(@{
                        name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'Name')
                        identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'Identity')
                        recovery = [bool](Get-ExDrProperty -InputObject $group -Name 'Recovery')
                        log_folder_path = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'LogFolderPath')
                        system_folder_path = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'SystemFolderPath')
                        log_prefix = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'LogFilePrefix')
                    })
            }
        }
        $databases = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Server = $env:COMPUTERNAME; Status = $true } |
                ForEach-Object { ConvertTo-ExDrDatabaseEntry -Database $_ -Groups $groups })

        # Names given that are no database of this server: where they are, if anywhere (one lookup each).
        $lookups = [System.Collections.Generic.List[hashtable]]@()
        foreach ($query in @($module.Params.name, $module.Params.database)) {
            if (-not $query) {
                continue
            }
            $local = @($databases | Where-Object { $_.name -eq $query -or $_.identity -eq $query })
            if ($local.Count -gt 0) {
                continue
            }
            $lookup = @{ query = $query; found = @(); error = $null }
            try {
                $lookup.found = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Identity = $query } |
                        ForEach-Object { ConvertTo-ExDrDatabaseEntry -Database $_ -Groups $groups })
            }
            catch {
                $lookup.error = $_.Exception.Message
            }
            $lookups.Add($lookup)
        }

        # The recovery database's files: where the existing one has them, else where the options put them.
        $existing = @($databases | Where-Object { $_.recovery -and $_.name -eq $module.Params.name }) | Select-Object -First 1
        $edbPath = $module.Params.edb_file_path
        $logPath = $module.Params.log_folder_path
        $systemPath = $module.Params.system_folder_path
        if ($null -ne $existing) {
            $edbPath = $existing.edb_file_path
            $logPath = $existing.log_folder_path
            $systemPath = $existing.system_folder_path
        }
        elseif ($major -eq 8) {
            $group = @($storageGroups | Where-Object { $_.name -eq $module.Params.storage_group }) | Select-Object -First 1
            if ($null -ne $group) {
                $logPath = $group.log_folder_path
                $systemPath = $group.system_folder_path
            }
        }
        $volumes = @(Get-CimInstance -ClassName Win32_Volume -Filter 'DriveType=3')
        $target = @{
            edb = Get-ExDrFileEntry -Path $edbPath
            partial = $false
            log_folder = Get-ExDrFolderListing -Path $logPath
            system_folder = Get-ExDrFolderListing -Path $systemPath
            edb_volume = if ($edbPath) { Get-ExDrVolume -Path $edbPath -Volumes $volumes } else { $null }
            log_volume = if ($logPath) { Get-ExDrVolume -Path $logPath -Volumes $volumes } else { $null }
            mh = $null
            current_logs = @()
        }
        if ($edbPath) {
            $target.partial = Test-Path -LiteralPath "$edbPath.exdr-partial" -PathType Leaf
        }
        $mounted = ($null -ne $existing) -and ($true -eq $existing.mounted)
        if ($target.edb.exists -and -not $mounted -and $module.Params.state -ne 'absent') {
            $target.mh = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/mh', $edbPath)
            $target.current_logs = Get-ExDrCurrentLogHeader -Listing $target.log_folder -Eseutil $eseutilPath
        }

        # The backup: read only when the recovery database has no file yet.
        $source = $null
        if ($module.Params.restore_from -and -not $target.edb.exists -and $module.Params.state -ne 'absent') {
            $logsFrom = if ($module.Params.restore_logs_from) { $module.Params.restore_logs_from } else { $module.Params.restore_from }
            $source = @{
                folder = Get-ExDrFolderListing -Path $module.Params.restore_from
                logs = Get-ExDrFolderListing -Path $logsFrom
                mh = @()
                current_logs = @()
            }
            $edbFiles = @($source.folder.files | Where-Object { $_.name -like '*.edb' } | Select-Object -First 4)
            $source.mh = @($edbFiles | ForEach-Object {
                    @{ file = $_.name; eseutil = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/mh', (Join-Path -Path $module.Params.restore_from -ChildPath $_.name)) }
                })
            $source.current_logs = Get-ExDrCurrentLogHeader -Listing $source.logs -Eseutil $eseutilPath
        }
        $module.Result._read = @{
            databases = $databases
            storage_groups = @($storageGroups)
            lookups = @($lookups)
            target = $target
            source = $source
        }
    }
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to manage recovery database $($module.Params.name) on $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
