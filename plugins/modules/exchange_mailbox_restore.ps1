#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of exchange_mailbox_restore. `read` returns the source database and its store mailboxes, the request of
# this name (2010 SP1 and later) or the target's statistics (Restore-Mailbox); `start` runs the one cmdlet with the
# parameters the action plugin built and, for a request, waits for it up to poll_interval seconds; `poll` only waits. The
# request itself runs in the Mailbox Replication service, so nothing here has to outlive a call: the controller polls by
# request name, and a run cut short finds its request again (plugin_utils/_mailbox_restore.py decides everything).

$spec = @{
    options = @{
        source_database = @{ type = 'str'; required = $true }
        source_mailbox = @{ type = 'str'; required = $true }
        target_mailbox = @{ type = 'str'; required = $true }
        name = @{ type = 'str' }
        target_root_folder = @{ type = 'str' }
        target_is_archive = @{ type = 'bool'; default = $false }
        include_folders = @{ type = 'list'; elements = 'str' }
        allow_legacy_dn_mismatch = @{ type = 'bool'; default = $false }
        bad_item_limit = @{ type = 'int'; default = 0 }
        accept_large_data_loss = @{ type = 'bool'; default = $false }
        wait = @{ type = 'bool'; default = $true }
        timeout = @{ type = 'int'; default = 3600 }
        poll_interval = @{ type = 'int'; default = 60 }
        _operation = @{ type = 'str'; choices = 'read', 'start', 'poll'; default = 'read' }
        _parameters = @{ type = 'dict' }
        _identity = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; install_path = $null; shell = $null; snapin = $null; connection_uri = $null }

# A request is still running in these states (the controller judges the others).
$running = @('Queued', 'InProgress', 'CompletionInProgress')
$statisticsProperties = @(
    'Name', 'Identity', 'Status', 'StatusDetail', 'PercentComplete', 'ItemsTransferred', 'BytesTransferred', 'EstimatedTransferItemCount',
    'EstimatedTransferSize', 'BadItemLimit', 'BadItemsEncountered', 'SourceDatabase', 'SourceExchangeGuid', 'TargetAlias', 'TargetRootFolder',
    'TargetIsArchive', 'QueuedTimestamp', 'StartTimestamp', 'CompletionTimestamp', 'FailureType', 'Message'
)

Function ConvertTo-ExDrStatistics {
    <#
    .SYNOPSIS
    A restore request's statistics as text (the controller parses numbers and sizes).
    #>
    param ($Statistics)
    $out = @{}
    foreach ($property in $statisticsProperties) {
        $out[$property] = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Statistics -Name $property)
    }
    return $out
}

Function Wait-ExDrRestoreRequest {
    <#
    .SYNOPSIS
    Reads a request's statistics every 5 seconds until it is no longer running or $Seconds have passed (once with 0).
    #>
    param ([hashtable]$Shell, [string]$Identity, [int]$Seconds)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    $samples = 0
    while ($true) {
        $found = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-MailboxRestoreRequestStatistics' -Parameters @{ Identity = $Identity })
        $samples++
        $statistics = if ($found.Count -gt 0) { ConvertTo-ExDrStatistics -Statistics $found[0] } else { $null }
        if ($null -eq $statistics -or $running -notcontains $statistics.Status -or [DateTime]::UtcNow -ge $deadline) {
            break
        }
        Start-Sleep -Seconds 5
    }
    return @{ statistics = $statistics; samples = $samples }
}

Function ConvertTo-ExDrMailboxEntry {
    param ($Statistics)
    return @{
        display_name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Statistics -Name 'DisplayName')
        guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Statistics -Name 'MailboxGuid')
        item_count = Get-ExDrProperty -InputObject $Statistics -Name 'ItemCount'
        size = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Statistics -Name 'TotalItemSize')
        disconnect_reason = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Statistics -Name 'DisconnectReason')
    }
}

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to restore mailbox content on $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path
$parts = $state.version -split '\.'
$major = [int]$parts[0]
$operation = $module.Params._operation
if ($operation -ne 'read' -and $module.CheckMode) {
    $module.FailJson("Failed to $($operation): check mode only reads")
}
if ($operation -eq 'start' -and $null -eq $module.Params._parameters) {
    $module.FailJson('Failed to start: _parameters is set by the action plugin (exchange_dr.recovery.exchange_mailbox_restore)')
}
if ($operation -eq 'poll' -and -not $module.Params._identity) {
    $module.FailJson('Failed to poll: _identity is set by the action plugin (exchange_dr.recovery.exchange_mailbox_restore)')
}

# Restore requests from 2010 SP1 (capability mailbox_restore_request), Restore-Mailbox before.
$requests = $major -gt 14 -or ($major -eq 14 -and [int]$parts[1] -ge 1)
$commands = @('Get-MailboxDatabase', 'Get-MailboxStatistics')
if ($major -eq 8) {
    $commands += 'Get-StorageGroup'
}
if ($requests) {
    $commands += 'Get-MailboxRestoreRequest', 'Get-MailboxRestoreRequestStatistics', 'New-MailboxRestoreRequest'
}
else {
    $commands += 'Restore-Mailbox'
}

$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$module.Result.exchange.shell = $shell.method
$module.Result.exchange.snapin = $shell.snapin
$module.Result.exchange.connection_uri = $shell.connection_uri

$failure = $null
try {
    if ($operation -eq 'read') {
        $groups = @{}
        if ($major -eq 8) {
            foreach ($group in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-StorageGroup' -Parameters @{ Server = $env:COMPUTERNAME })) {
                $groups[[string](Get-ExDrProperty -InputObject $group -Name 'Identity')] = $group
            }
        }
        $databases = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Server = $env:COMPUTERNAME; Status = $true } | ForEach-Object {
                $groupName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'StorageGroup')
                $settings = if ($groupName -and $groups.ContainsKey($groupName)) { $groups[$groupName] } else { $_ }
                @{
                    name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')
                    identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Identity')
                    server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Server')
                    recovery = [bool](Get-ExDrProperty -InputObject $settings -Name 'Recovery')
                    mounted = Get-ExDrProperty -InputObject $_ -Name 'Mounted'
                }
            })
        $query = $module.Params.source_database
        $matching = @($databases | Where-Object { $_.name -eq $query -or $_.identity -eq $query })
        $lookup = $null
        if ($matching.Count -eq 0) {
            $lookup = @{ found = @(); error = $null }
            try {
                $lookup.found = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' -Parameters @{ Identity = $query } | ForEach-Object {
                        @{
                            name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')
                            identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Identity')
                            server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Server')
                        }
                    })
            }
            catch {
                $lookup.error = $_.Exception.Message
            }
        }
        # The store mailboxes of each mounted database the name matches (2007: a recovery storage group database has its original's name).
        $mailboxes = @($matching | Where-Object { $true -eq $_.mounted } | ForEach-Object {
                $identity = $_.identity
                @{
                    database = $identity
                    mailboxes = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxStatistics' -Parameters @{ Database = $identity } |
                            ForEach-Object { ConvertTo-ExDrMailboxEntry -Statistics $_ })
                }
            })
        $read = @{ databases = $databases; lookup = $lookup; mailboxes = $mailboxes; requests = $requests; request = $null; target = $null; target_error = $null }
        try {
            if ($requests) {
                $found = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxRestoreRequest' -Parameters @{
                        TargetMailbox = $module.Params.target_mailbox
                        Name = $module.Params.name
                    })
                if ($found.Count -gt 0) {
                    $identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $found[0] -Name 'Identity')
                    $statistics = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxRestoreRequestStatistics' -Parameters @{ Identity = $identity })
                    $read.request = if ($statistics.Count -gt 0) { ConvertTo-ExDrStatistics -Statistics $statistics[0] } else { $null }
                }
            }
            else {
                $read.target = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxStatistics' -Parameters @{ Identity = $module.Params.target_mailbox } |
                        ForEach-Object { ConvertTo-ExDrMailboxEntry -Statistics $_ })
            }
        }
        catch {
            $read.target_error = $_.Exception.Message
        }
        $module.Result._read = $read
    }
    elseif ($operation -eq 'start') {
        $parameters = @{}
        foreach ($key in $module.Params._parameters.Keys) {
            $parameters[$key] = $module.Params._parameters[$key]
        }
        if ($requests) {
            $created = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'New-MailboxRestoreRequest' -Parameters $parameters)
            $module.Result.changed = $true
            $identity = if ($created.Count -gt 0) { ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $created[0] -Name 'Identity') } else { $null }
            $module.Result._identity = $identity
            if ($identity) {
                $seconds = if ($module.Params.wait) { $module.Params.poll_interval } else { 0 }
                $module.Result._progress = Wait-ExDrRestoreRequest -Shell $shell -Identity $identity -Seconds $seconds
            }
        }
        else {
            $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Restore-Mailbox' -Parameters $parameters
            $module.Result.changed = $true
            $module.Result._target = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxStatistics' -Parameters @{ Identity = $module.Params.target_mailbox } |
                    ForEach-Object { ConvertTo-ExDrMailboxEntry -Statistics $_ })
        }
    }
    else {
        $module.Result._progress = Wait-ExDrRestoreRequest -Shell $shell -Identity $module.Params._identity -Seconds $module.Params.poll_interval
    }
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to restore mailbox content from $($module.Params.source_database) to $($module.Params.target_mailbox): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
