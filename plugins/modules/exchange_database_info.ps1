#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of exchange_database_info: every database of this server in one call, with the state of its files. Nothing
# is judged here: the action plugin parses eseutil's output and decides (plugin_utils/_exchange_databases.py, _eseutil.py).

$spec = @{
    options = @{
        databases = @{ type = 'list'; elements = 'str' }
        eseutil = @{ type = 'str'; default = 'dismounted'; choices = 'dismounted', 'never' }
        verify_logs = @{ type = 'bool'; default = $false }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; install_path = $null; shell = $null; snapin = $null; connection_uri = $null }
$module.Result.databases = @()
$module.Result.all_database_names = @()
$module.Result.not_found = @()

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to read the databases of $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path
$major = [int]($state.version -split '\.')[0]
$eseutilPath = Join-Path -Path $state.install_path -ChildPath 'Bin\eseutil.exe'

# 2007: the storage group holds the log folder, prefix, checkpoint folder, circular logging and the recovery flag.
# 2007 and 2010: public folder databases (2013 and later keep public folders in mailboxes).
$commands = @('Get-MailboxDatabase')
if ($major -le 14) {
    $commands += 'Get-PublicFolderDatabase'
}
if ($major -eq 8) {
    $commands += 'Get-StorageGroup'
}

$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$module.Result.exchange.shell = $shell.method
$module.Result.exchange.snapin = $shell.snapin
$module.Result.exchange.connection_uri = $shell.connection_uri

$entries = [System.Collections.Generic.List[hashtable]]@()
$notFound = [System.Collections.Generic.List[hashtable]]@()
$failure = $null
try {
    $objects = [System.Collections.Generic.List[hashtable]]@()
    foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Server = $env:COMPUTERNAME; Status = $true })) {
        $objects.Add(@{ kind = 'mailbox'; object = $db })
    }
    if ($major -le 14) {
        foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-PublicFolderDatabase' -Parameters @{ Server = $env:COMPUTERNAME; Status = $true })) {
            $objects.Add(@{ kind = 'public_folder'; object = $db })
        }
    }
    $groups = @{}
    if ($major -eq 8) {
        foreach ($group in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-StorageGroup' -Parameters @{ Server = $env:COMPUTERNAME })) {
            $groups[[string](Get-ExDrProperty -InputObject $group -Name 'Identity')] = $group
        }
    }

    foreach ($item in $objects) {
        $db = $item.object
        $group = $null
        if ($major -eq 8) {
            # the group by identity (SERVER\Group), else by name
            $groupName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'StorageGroup')
            $shortName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'StorageGroupName')
            if ($groupName -and $groups.ContainsKey($groupName)) {
                $group = $groups[$groupName]
            }
            elseif ($shortName) {
                $group = @($groups.Values | Where-Object { [string](Get-ExDrProperty -InputObject $_ -Name 'Name') -eq $shortName }) | Select-Object -First 1
            }
        }
        $settings = if ($null -ne $group) { $group } else { $db }
        $logFolder = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $settings -Name 'LogFolderPath')
        $systemFolder = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $settings -Name 'SystemFolderPath')
        if (-not $systemFolder) {
            $systemFolder = $logFolder
        }
        $copies = @(Get-ExDrProperty -InputObject $db -Name 'Servers' | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
        $replication = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'ReplicationType')
        $entries.Add(@{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Name')
                guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Guid')
                kind = $item.kind
                server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Server')
                recovery = [bool](Get-ExDrProperty -InputObject $settings -Name 'Recovery')
                mounted = Get-ExDrProperty -InputObject $db -Name 'Mounted'
                edb_file_path = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'EdbFilePath')
                log_folder_path = $logFolder
                system_folder_path = $systemFolder
                log_prefix = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $settings -Name 'LogFilePrefix')
                storage_group = if ($null -ne $group) { ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'Name') } else { $null }
                allow_file_restore = Get-ExDrProperty -InputObject $db -Name 'AllowFileRestore'
                circular_logging = Get-ExDrProperty -InputObject $settings -Name 'CircularLoggingEnabled'
                mount_at_startup = Get-ExDrProperty -InputObject $db -Name 'MountAtStartup'
                retention = @{
                    deleted_item_retention = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'DeletedItemRetention')
                    mailbox_retention = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'MailboxRetention')
                    retain_deleted_items_until_backup = Get-ExDrProperty -InputObject $db -Name 'RetainDeletedItemsUntilBackup'
                }
                replication = @{
                    replicated = $replication -eq 'Remote'
                    copies = $copies
                    master_type = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'MasterType')
                }
                files = $null
            })
    }
    $module.Result.all_database_names = @($entries | ForEach-Object { $_.name })

    # Databases asked for that this server does not hold: where they are, if anywhere (one lookup each).
    if ($null -ne $module.Params.databases) {
        $known = @($entries | ForEach-Object { $_.name.ToLowerInvariant() })
        foreach ($name in $module.Params.databases) {
            if ($known -contains $name.ToLowerInvariant()) {
                continue
            }
            $owner = $null
            try {
                $other = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Identity = $name })
                if ($other.Count -gt 0) {
                    $owner = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $other[0] -Name 'Server')
                }
            }
            catch {
                $owner = $null
            }
            $notFound.Add(@{ name = $name; server = $owner })
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
    $module.FailJson("Failed to read the databases of $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}
$module.Result.not_found = @($notFound)

$selected = @($entries | Where-Object { $null -eq $module.Params.databases -or $module.Params.databases -contains $_.name })
$volumes = @(Get-CimInstance -ClassName Win32_Volume -Filter 'DriveType=3')

# The files of each selected database: EDB, volumes, the log stream and, for a dismounted database, eseutil's view. A
# mounted database's files are held open by the Information Store, so eseutil is not run on them.
foreach ($entry in $selected) {
    $files = @{
        edb = @{ exists = $false; size = $null; modified = $null }
        edb_volume = $null
        log_volume = $null
        log_folder_exists = $false
        log_count = 0
        log_files = $null
        checkpoint_present = $false
        eseutil = @{ mh = $null; current_log = $null; ml = $null }
    }
    $edb = $entry.edb_file_path
    if ($edb -and (Test-Path -LiteralPath $edb -PathType Leaf)) {
        $item = Get-Item -LiteralPath $edb
        $files.edb = @{ exists = $true; size = [int64]$item.Length; modified = $item.LastWriteTimeUtc.ToString('o') }
    }
    if ($edb) {
        $files.edb_volume = Get-ExDrVolume -Path $edb -Volumes $volumes
    }
    $prefix = if ($entry.log_prefix) { $entry.log_prefix } else { 'E00' }
    $logFolder = $entry.log_folder_path
    $dismounted = -not ($true -eq $entry.mounted)
    if ($logFolder) {
        $files.log_volume = Get-ExDrVolume -Path $logFolder -Volumes $volumes
        if (Test-Path -LiteralPath $logFolder -PathType Container) {
            $files.log_folder_exists = $true
            $names = @(Get-ChildItem -LiteralPath $logFolder -Filter "$prefix*.log" -File | ForEach-Object { $_.Name })
            $files.log_count = $names.Count
            if ($dismounted) {
                $files.log_files = $names
            }
        }
    }
    if ($entry.system_folder_path) {
        $files.checkpoint_present = Test-Path -LiteralPath (Join-Path -Path $entry.system_folder_path -ChildPath "$prefix.chk") -PathType Leaf
    }
    if ($dismounted -and $module.Params.eseutil -eq 'dismounted' -and $files.edb.exists) {
        if (-not (Test-Path -LiteralPath $eseutilPath -PathType Leaf)) {
            $module.FailJson("Failed to read the header of $($edb): eseutil.exe is not at $eseutilPath")
        }
        $files.eseutil.mh = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/mh', $edb)
        $currentLog = if ($logFolder) { Join-Path -Path $logFolder -ChildPath "$prefix.log" } else { $null }
        if ($currentLog -and (Test-Path -LiteralPath $currentLog -PathType Leaf)) {
            # The current log's name does not carry its generation; its header does.
            $files.eseutil.current_log = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/ml', $currentLog)
        }
        if ($module.Params.verify_logs -and $files.log_count -gt 0) {
            $files.eseutil.ml = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/ml', (Join-Path -Path $logFolder -ChildPath $prefix))
        }
    }
    $entry.files = $files
}
$module.Result.databases = $selected

$module.ExitJson()
