#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._EmailRouter
#AnsibleRequires -PowerShell ..module_utils._Windows

# The Windows half of email_router_config. The action plugin (plugins/action/email_router_config.py) calls it twice:
#   _operation=read   returns the set in the Service folder (and the one in remote_src) as base64, read-only;
#   _operation=place  places the set in remote_src that the controller validated (_checksums: name -> SHA-256): backup,
#                     stage with ACLs, swap with the service stopped, start, verify, roll back on failure.
# Validation, comparison, rendering and the diff happen on the controller; src and definition never reach the host.

$spec = @{
    options = @{
        src = @{ type = 'path' }
        remote_src = @{ type = 'str' }
        definition = @{
            type = 'dict'
            options = @{
                crm_server_url = @{ type = 'str' }
                system = @{
                    type = 'dict'
                    options = @{
                        max_threads = @{ type = 'int'; default = 50 }
                        max_thread_execution = @{ type = 'int'; default = 600000 }
                        scheduling_period = @{ type = 'int'; default = 1000 }
                        config_refresh_period = @{ type = 'int'; default = 5000 }
                        config_update_period = @{ type = 'int'; default = 300000 }
                        log_level = @{ type = 'int'; default = 1 }
                        log_file = @{ type = 'str' }
                        provider_overrides = @{
                            type = 'dict'
                            options = @{
                                cache_capacity = @{ type = 'int' }
                                pending_status_delay = @{ type = 'int' }
                                sending_status_delay = @{ type = 'int' }
                                maximum_delivery_attempts = @{ type = 'int' }
                                ews_retrieve_message_count = @{ type = 'int' }
                                batch_size = @{ type = 'int' }
                                request_batch_size = @{ type = 'int' }
                            }
                        }
                    }
                }
                profiles = @{
                    type = 'list'
                    elements = 'dict'
                    options = @{
                        name = @{ type = 'str'; required = $true }
                        direction = @{ type = 'str'; choices = 'incoming', 'outgoing'; default = 'incoming' }
                        provider_class = @{ type = 'str' }
                        protocol = @{ type = 'str' }
                        email_server = @{ type = 'str' }
                        email_server_type = @{ type = 'str' }
                        email_server_version = @{ type = 'str' }
                        port = @{ type = 'int' }
                        use_ssl = @{ type = 'bool' }
                        use_autodiscover = @{ type = 'bool' }
                        auth_mode = @{ type = 'str' }
                        access_credentials = @{ type = 'str' }
                        user = @{ type = 'str' }
                        password = @{ type = 'str'; no_log = $true }
                        use_delegate = @{ type = 'bool' }
                        exchange_online_profile_type = @{ type = 'str' }
                    }
                }
                users = @{
                    type = 'list'
                    elements = 'dict'
                    options = @{
                        email = @{ type = 'str'; required = $true }
                        user_id = @{ type = 'str'; required = $true }
                        incoming_profile = @{ type = 'str' }
                        outgoing_profile = @{ type = 'str' }
                        crm_server_url = @{ type = 'str' }
                    }
                }
                queues = @{
                    type = 'list'
                    elements = 'dict'
                    options = @{
                        email = @{ type = 'str'; required = $true }
                        queue_id = @{ type = 'str'; required = $true }
                        incoming_profile = @{ type = 'str' }
                        outgoing_profile = @{ type = 'str' }
                        crm_server_url = @{ type = 'str' }
                    }
                }
                forward_mailboxes = @{
                    type = 'list'
                    elements = 'dict'
                    options = @{
                        email = @{ type = 'str'; required = $true }
                        incoming_profile = @{ type = 'str'; required = $true }
                        delete_emails = @{ type = 'bool'; default = $false }
                        user = @{ type = 'str' }
                        password = @{ type = 'str'; no_log = $true }
                        crm_server_url = @{ type = 'str' }
                    }
                }
            }
        }
        organization = @{ type = 'str' }
        service_folder = @{ type = 'str' }
        service_account = @{ type = 'str' }
        backup_path = @{ type = 'str' }
        keep_backups = @{ type = 'int'; default = 5 }
        verify_seconds = @{ type = 'int'; default = 60 }
        failure_text = @{ type = 'str'; default = '#16192' }
        event_sources = @{ type = 'list'; elements = 'str'; default = @('MSCRMEmail', 'MSCRMEmailLog') }
        max_file_size = @{ type = 'int'; default = 16777216 }
        _operation = @{ type = 'str'; choices = 'read', 'place'; default = 'read' }
        _checksums = @{ type = 'dict' }
    }
    mutually_exclusive = @(, @('src', 'remote_src', 'definition'))
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrEmailRouterSpec))

$module.Result.changed = $false
$module.Result.service_folder = $null
$module.Result.service_name = $module.Params.service_name
$module.Result.service_account = $null
$module.Result.service_state = $null
$module.Result.backup_folder = $null
$module.Result.rolled_back = $false
$module.Result.failure_event = $null

$setFiles = @(
    'Microsoft.Crm.Tools.EmailAgent.xml',
    'EncryptionKey.xml',
    'Microsoft.Crm.Tools.EmailAgent.SystemState.xml',
    'Microsoft.Crm.Tools.EmailAgent.Configuration.bin'
)
$stagedSuffix = '.exdr-new'

Function Read-ExDrSet {
    <#
    .SYNOPSIS
    The set files in a folder (names matched case-insensitively): size, SHA-256 and base64 content up to MaxBytes.
    #>
    param ([string]$Folder, [long]$MaxBytes)

    $set = @{}
    foreach ($item in @(Get-ChildItem -LiteralPath $Folder -File -ErrorAction Stop)) {
        $name = $setFiles | Where-Object { $_ -eq $item.Name } | Select-Object -First 1
        if (-not $name) {
            continue
        }
        $entry = @{
            size = $item.Length
            sha256 = (Get-FileHash -LiteralPath $item.FullName -Algorithm SHA256).Hash.ToLowerInvariant()
            content = $null
        }
        if ($item.Length -le $MaxBytes) {
            $entry.content = [Convert]::ToBase64String([IO.File]::ReadAllBytes($item.FullName))
        }
        $set[$name] = $entry
    }
    $set
}

Function Get-ExDrServiceState {
    param ([string]$Name)
    $svc = Get-Service -Name ([WildcardPattern]::Escape($Name)) -ErrorAction SilentlyContinue
    if (-not $svc) {
        return $null
    }
    ConvertTo-ExDrServiceState -State $svc.Status
}

Function Set-ExDrSetAcl {
    <#
    .SYNOPSIS
    Administrators and SYSTEM full control, the service account read; inheritance off (the files hold credentials).
    #>
    param ([string]$Path, [string[]]$Readers)

    $acl = New-Object -TypeName Security.AccessControl.FileSecurity
    $acl.SetAccessRuleProtection($true, $false)
    $identities = @(
        @{ id = New-Object -TypeName Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'; rights = 'FullControl' },
        @{ id = New-Object -TypeName Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-18'; rights = 'FullControl' }
    )
    foreach ($reader in @($Readers | Where-Object { $_ -and $_ -notin @('LocalSystem', 'NT AUTHORITY\SYSTEM') } | Select-Object -Unique)) {
        $identities += @{ id = New-Object -TypeName Security.Principal.NTAccount -ArgumentList $reader; rights = 'Read' }
    }
    foreach ($entry in $identities) {
        $rule = New-Object -TypeName Security.AccessControl.FileSystemAccessRule -ArgumentList $entry.id, $entry.rights, 'Allow'
        $acl.AddAccessRule($rule)
    }
    Set-Acl -LiteralPath $Path -AclObject $acl
}

Function Set-ExDrBackupRootAcl {
    param ([string]$Path)
    $acl = New-Object -TypeName Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)
    foreach ($sid in 'S-1-5-32-544', 'S-1-5-18') {
        $id = New-Object -TypeName Security.Principal.SecurityIdentifier -ArgumentList $sid
        $rule = New-Object -TypeName Security.AccessControl.FileSystemAccessRule -ArgumentList $id, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow'
        $acl.AddAccessRule($rule)
    }
    Set-Acl -LiteralPath $Path -AclObject $acl
}

Function Wait-ExDrRouter {
    <#
    .SYNOPSIS
    Start the service and watch it for Seconds; returns $null when it stayed running without a failure event, else why not.
    #>
    param ([string]$Name, [int]$Seconds, [string]$FailureText, [string[]]$Sources)

    $since = Get-Date
    try {
        Start-Service -Name ([WildcardPattern]::Escape($Name)) -ErrorAction Stop
    }
    catch {
        return "the service did not start: $($_.Exception.Message)"
    }
    $deadline = $since.AddSeconds($Seconds)
    while ($true) {
        $events = @(Get-EventLog -LogName Application -Source $Sources -After $since -ErrorAction SilentlyContinue |
                Where-Object { $_.Message -like "*$FailureText*" })
        if ($events.Count -gt 0) {
            return $events[0].Message
        }
        $state = Get-ExDrServiceState -Name $Name
        if ($state -ne 'running') {
            return "the service is $state (no $FailureText event was found)"
        }
        if ((Get-Date) -ge $deadline) {
            return $null
        }
        Start-Sleep -Seconds 2
    }
}

$routerArgs = @{
    ServiceName = $module.Params.service_name
    RegistryKey = $module.Params.registry_path
    RegistryValue = $module.Params.registry_value
}
$info = Get-ExDrEmailRouter @routerArgs
if (-not $info.service) {
    $module.FailJson("Failed to find the Email Router service '$($module.Params.service_name)': install the Email Router first (exchange_dr.recovery.email_router)")
}
$folder = $module.Params.service_folder
if (-not $folder) {
    $folder = $info.service_folder
}
if (-not $folder) {
    $module.FailJson("Failed to find the Service folder of '$($module.Params.service_name)': its image path names none; give service_folder")
}
$account = $module.Params.service_account
if (-not $account) {
    $account = $info.service.account
}
$module.Result.service_folder = $folder
$module.Result.service_account = $account
$module.Result.service_state = $info.service.state
$maxBytes = [long]$module.Params.max_file_size

if ($module.Params._operation -eq 'read') {
    $current = @{}
    try {
        if (Test-Path -LiteralPath $folder -PathType Container) {
            $current = Read-ExDrSet -Folder $folder -MaxBytes $maxBytes
        }
    }
    catch {
        $module.FailJson("Failed to read the configuration set in '$folder': $($_.Exception.Message)", $_)
    }
    $module.Result._current_set = $current
    $remote = $module.Params.remote_src
    if ($remote) {
        try {
            if (-not (Test-Path -LiteralPath $remote -PathType Container)) {
                throw "the folder does not exist or cannot be reached"
            }
            $module.Result._source_set = Read-ExDrSet -Folder $remote -MaxBytes $maxBytes
        }
        catch {
            $module.FailJson("Failed to read the configuration set in '$remote': $($_.Exception.Message)", $_)
        }
    }
    $module.ExitJson()
}

# _operation = place
$source = $module.Params.remote_src
$checksums = $module.Params._checksums
if (-not $source -or $null -eq $checksums) {
    $module.FailJson('Failed to place the configuration set: remote_src and _checksums are set by the action plugin')
}
$module.Result.changed = $true
if ($module.CheckMode) {
    $module.ExitJson()
}
foreach ($name in $checksums.Keys) {
    $path = Join-Path -Path $source -ChildPath $name
    $hash = $null
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $hash = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
    }
    if ($hash -ne $checksums[$name]) {
        $module.Result.changed = $false
        $module.FailJson("Failed to place the configuration set: '$path' is not the file that was validated (it changed or is missing)")
    }
}

$backupRoot = $module.Params.backup_path
if (-not $backupRoot) {
    $backupRoot = Join-Path -Path ([IO.Path]::GetDirectoryName($folder.TrimEnd('\'))) -ChildPath 'ConfigurationBackups'
}
try {
    if (-not (Test-Path -LiteralPath $backupRoot)) {
        New-Item -Path $backupRoot -ItemType Directory -Force | Out-Null
        Set-ExDrBackupRootAcl -Path $backupRoot
    }
    $stamp = (Get-Date).ToUniversalTime().ToString('yyyyMMddTHHmmssZ')
    $backup = Join-Path -Path $backupRoot -ChildPath $stamp
    $n = 1
    while (Test-Path -LiteralPath $backup) {
        $backup = Join-Path -Path $backupRoot -ChildPath "$stamp-$n"
        $n++
    }
    New-Item -Path $backup -ItemType Directory | Out-Null
    foreach ($name in $setFiles) {
        $current = Join-Path -Path $folder -ChildPath $name
        if (Test-Path -LiteralPath $current -PathType Leaf) {
            Copy-Item -LiteralPath $current -Destination (Join-Path -Path $backup -ChildPath $name)
        }
    }
}
catch {
    $module.FailJson("Failed to keep the previous configuration set in '$backupRoot': $($_.Exception.Message)", $_)
}
$module.Result.backup_folder = $backup

Function Copy-ExDrSet {
    <#
    .SYNOPSIS
    Stage the files of From next to the set, with the set ACL, stop the service and rename them over the set; set files not
    in Names are removed.
    #>
    param ([string]$From, [string[]]$Names, [string[]]$Readers)

    foreach ($name in $Names) {
        $staged = Join-Path -Path $folder -ChildPath "$name$stagedSuffix"
        Copy-Item -LiteralPath (Join-Path -Path $From -ChildPath $name) -Destination $staged -Force
        Set-ExDrSetAcl -Path $staged -Readers $Readers
    }
    if ((Get-ExDrServiceState -Name $info.service.name) -ne 'stopped') {
        Stop-Service -Name ([WildcardPattern]::Escape($info.service.name)) -Force -ErrorAction Stop
    }
    foreach ($name in $setFiles) {
        $target = Join-Path -Path $folder -ChildPath $name
        if ($name -in $Names) {
            Move-Item -LiteralPath (Join-Path -Path $folder -ChildPath "$name$stagedSuffix") -Destination $target -Force
        }
        elseif (Test-Path -LiteralPath $target) {
            Remove-Item -LiteralPath $target -Force
        }
    }
}

try {
    Copy-ExDrSet -From $source -Names @($checksums.Keys) -Readers @($account)
}
catch {
    $module.FailJson("Failed to place the configuration set in '$folder': $($_.Exception.Message)", $_)
}
$failure = Wait-ExDrRouter -Name $info.service.name -Seconds $module.Params.verify_seconds -FailureText $module.Params.failure_text -Sources $module.Params.event_sources
if ($null -ne $failure) {
    $module.Result.failure_event = $failure
    $previous = @($setFiles | Where-Object { Test-Path -LiteralPath (Join-Path -Path $backup -ChildPath $_) })
    try {
        # the service's own logon account must be able to read the previous set again
        Copy-ExDrSet -From $backup -Names $previous -Readers @($info.service.account, $account)
        $module.Result.rolled_back = $true
        $again = Wait-ExDrRouter -Name $info.service.name -Seconds $module.Params.verify_seconds -FailureText $module.Params.failure_text -Sources $module.Params.event_sources
    }
    catch {
        $again = $_.Exception.Message
    }
    $module.Result.service_state = Get-ExDrServiceState -Name $info.service.name
    $restarted = 'and the service started again'
    if ($again) {
        $restarted = "but the service did not start again: $again"
    }
    $module.FailJson("The Email Router did not stay running with the new configuration set; the previous set was put back from '$backup' $restarted. Event: $failure")
}
$module.Result.service_state = Get-ExDrServiceState -Name $info.service.name

$stampPattern = '^\d{8}T\d{6}Z(-\d+)?$'
$old = @(Get-ChildItem -LiteralPath $backupRoot -Directory | Where-Object { $_.Name -match $stampPattern } |
        Sort-Object -Property Name -Descending | Select-Object -Skip ([Math]::Max(1, $module.Params.keep_backups)))
foreach ($dir in $old) {
    # the new set is in place and running: an old backup that cannot go now is a warning, not a failed task
    try {
        Remove-Item -LiteralPath $dir.FullName -Recurse -Force
    }
    catch {
        $module.Warn("Failed to remove the old backup '$($dir.FullName)': $($_.Exception.Message)")
    }
}
$module.ExitJson()
