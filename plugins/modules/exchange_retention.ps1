#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of exchange_retention. `read` returns the server's databases with their retention settings, the
# disconnected mailboxes of the one the task names (and the mailbox it names), and the user a mailbox is to be connected
# to; `apply` runs the cmdlets the action plugin planned, in order, stops at the first that fails and reads again. Every
# decision - the time spans and their range, what changes, whether a mailbox can be connected - is made on the controller
# (plugin_utils/_retention.py).

$spec = @{
    options = @{
        database = @{ type = 'str'; required = $true }
        deleted_item_retention = @{ type = 'str' }
        mailbox_retention = @{ type = 'str' }
        retain_deleted_items_until_backup = @{ type = 'bool' }
        list_disconnected = @{ type = 'bool'; default = $false }
        reconnect = @{
            type = 'dict'
            options = @{
                mailbox = @{ type = 'str'; required = $true }
                user = @{ type = 'str'; required = $true }
            }
        }
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
$plannedCmdlets = @('Set-MailboxDatabase', 'Set-PublicFolderDatabase', 'Update-StoreMailboxState', 'Clean-MailboxDatabase', 'Connect-Mailbox')

Function ConvertTo-ExDrRetentionDatabase {
    <#
    .SYNOPSIS
    A database's name, kind, state and retention settings (2007: the recovery flag is its storage group's).
    #>
    param ($Database, [string]$Kind, [hashtable]$Groups)
    $settings = $Database
    $groupName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'StorageGroup')
    if ($groupName -and $Groups.ContainsKey($groupName)) {
        $settings = $Groups[$groupName]
    }
    return @{
        name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Name')
        identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Identity')
        guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Guid')
        server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'Server')
        kind = $Kind
        recovery = [bool](Get-ExDrProperty -InputObject $settings -Name 'Recovery')
        mounted = Get-ExDrProperty -InputObject $Database -Name 'Mounted'
        retention = @{
            deleted_item_retention = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'DeletedItemRetention')
            mailbox_retention = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'MailboxRetention')
            retain_deleted_items_until_backup = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Database -Name 'RetainDeletedItemsUntilBackup')
        }
    }
}

Function Get-ExDrRetentionRead {
    <#
    .SYNOPSIS
    What the controller judges: the server's databases, where a database named but not here is, the disconnected
    mailboxes of the named one (and the mailbox the task names), the user to connect to. Errors are terminating.
    #>
    param ([hashtable]$Shell, [int]$Major)
    $query = $module.Params.database
    $groups = @{}
    if ($Major -eq 8) {
        foreach ($group in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-StorageGroup' -Parameters @{ Server = $env:COMPUTERNAME })) {
            $groups[[string](Get-ExDrProperty -InputObject $group -Name 'Identity')] = $group
        }
    }
    $databases = [System.Collections.Generic.List[hashtable]]@()
    foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-MailboxDatabase' -Parameters @{ Server = $env:COMPUTERNAME; Status = $true })) {
        $databases.Add((ConvertTo-ExDrRetentionDatabase -Database $db -Kind 'mailbox' -Groups $groups))
    }
    if ($Major -le 14) {
        foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-PublicFolderDatabase' -Parameters @{ Server = $env:COMPUTERNAME; Status = $true })) {
            $databases.Add((ConvertTo-ExDrRetentionDatabase -Database $db -Kind 'public_folder' -Groups $groups))
        }
    }
    $matching = @($databases | Where-Object { $_.name -eq $query -or $_.identity -eq $query -or $_.guid -eq $query })

    # A name that is no database of this server: where it is, if anywhere.
    $lookup = $null
    if ($matching.Count -eq 0) {
        $lookup = @{ found = @(); error = $null }
        $found = [System.Collections.Generic.List[hashtable]]@()
        $cmdlets = @('Get-MailboxDatabase')
        if ($Major -le 14) {
            $cmdlets += 'Get-PublicFolderDatabase'
        }
        foreach ($cmdlet in $cmdlets) {
            try {
                foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name $cmdlet -Parameters @{ Identity = $query })) {
                    $found.Add(@{
                            name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Name')
                            server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Server')
                        })
                }
            }
            catch {
                $lookup.error = $_.Exception.Message
            }
        }
        $lookup.found = @($found)
    }

    # The store: only for a mounted mailbox database, and only the disconnected mailboxes and the one the task names
    # (a database holds thousands). 2007 reports no DisconnectReason: a DisconnectDate marks a disconnected mailbox there.
    $mailboxes = @()
    $reconnect = $module.Params.reconnect
    $target = @($matching | Where-Object { $_.kind -eq 'mailbox' -and $true -eq $_.mounted }) | Select-Object -First 1
    if ($matching.Count -eq 1 -and $null -ne $target -and ($module.Params.list_disconnected -or $null -ne $reconnect)) {
        $named = if ($null -ne $reconnect) { [string]$reconnect['mailbox'] } else { $null }
        $mailboxes = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-MailboxStatistics' -Parameters @{ Database = $target.identity } | ForEach-Object {
                $displayName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'DisplayName')
                $guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'MailboxGuid')
                $reason = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'DisconnectReason')
                $date = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'DisconnectDate')
                if ($reason -or $date -or ($named -and ($displayName -eq $named -or $guid -eq $named))) {
                    @{
                        display_name = $displayName
                        guid = $guid
                        item_count = Get-ExDrProperty -InputObject $_ -Name 'ItemCount'
                        size = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'TotalItemSize')
                        disconnect_reason = $reason
                        disconnect_date = $date
                    }
                }
            })
    }

    # The user a mailbox is to be connected to: RecipientType User (no mailbox) or, connected already, its mailbox.
    $user = $null
    if ($null -ne $reconnect) {
        $user = @{ name = $null; recipient_type = $null; exchange_guid = $null; database = $null; error = $null }
        try {
            $found = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-User' -Parameters @{ Identity = [string]$reconnect['user'] })
            if ($found.Count -gt 0) {
                $user.name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $found[0] -Name 'Name')
                $user.recipient_type = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $found[0] -Name 'RecipientType')
            }
        }
        catch {
            $user.error = $_.Exception.Message
        }
        if ($user.recipient_type -eq 'UserMailbox') {
            $mailbox = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-Mailbox' -Parameters @{ Identity = [string]$reconnect['user'] })
            if ($mailbox.Count -gt 0) {
                $user.exchange_guid = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $mailbox[0] -Name 'ExchangeGuid')
                $user.database = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $mailbox[0] -Name 'Database')
            }
        }
    }
    return @{ databases = @($databases); lookup = $lookup; mailboxes = $mailboxes; user = $user }
}

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to manage retention of $($module.Params.database) on $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path
$major = [int]($state.version -split '\.')[0]
$plan = $module.Params._plan
$apply = $module.Params._operation -eq 'apply'
if ($apply -and $null -eq $plan) {
    $module.FailJson('Failed to apply: _plan is set by the action plugin (exchange_dr.recovery.exchange_retention)')
}
if ($apply -and $module.CheckMode) {
    # check mode plans on the controller and changes nothing; a plan is never applied in it
    $module.FailJson('Failed to apply: a plan does not run in check mode')
}

$commands = @('Get-MailboxDatabase', 'Get-MailboxStatistics', 'Get-User', 'Get-Mailbox')
if ($major -le 14) {
    $commands += 'Get-PublicFolderDatabase'
}
if ($major -eq 8) {
    $commands += 'Get-StorageGroup'
}
if ($apply) {
    foreach ($step in $plan['steps']) {
        if ($plannedCmdlets -notcontains [string]$step['cmdlet']) {
            $module.FailJson("Failed to apply: $($step['cmdlet']) is not a cmdlet this module runs")
        }
        $commands += [string]$step['cmdlet']
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
            $record = @{ cmdlet = [string]$step['cmdlet']; what = [string]$step['what']; ok = $false; error = $null }
            $parameters = @{}
            foreach ($key in $step['parameters'].Keys) {
                $parameters[$key] = $step['parameters'][$key]
            }
            try {
                $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name $record.cmdlet -Parameters $parameters -NoDomainController:([bool]$step['no_domain_controller'])
                $record.ok = $true
                $module.Result.changed = $true
            }
            catch {
                $record.error = $_.Exception.Message
            }
            $records.Add($record)
            if (-not $record.ok) {
                break
            }
        }
        $module.Result._steps = @($records)
    }
    # read (again after applying: the controller checks what the steps left and plans what is left)
    $module.Result._read = Get-ExDrRetentionRead -Shell $shell -Major $major
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to read the retention settings and mailboxes of $($module.Params.database) on $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
