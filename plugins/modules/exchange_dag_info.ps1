#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeDag

# The host half of exchange_dag_info: a DAG, a server's membership, every copy of the DAG's databases with its settings
# and status, the local cluster's nodes and (asked) Test-ReplicationHealth, in one call. Nothing is judged here: the
# action plugin judges health and waits (plugin_utils/_exchange_dag.py).

$spec = @{
    options = @{
        dag = @{ type = 'str' }
        server = @{ type = 'str' }
        test_replication_health = @{ type = 'bool'; default = $false }
        cluster = @{ type = 'bool'; default = $true }
        # read by the action plugin, which waits by calling this module again
        wait_healthy = @{ type = 'bool'; default = $false }
        wait_timeout = @{ type = 'int'; default = 1800 }
        wait_delay = @{ type = 'int'; default = 30 }
        expected_copies = @{
            type = 'list'
            elements = 'dict'
            options = @{
                database = @{ type = 'str'; required = $true }
                activation_preference = @{ type = 'int' }
                replay_lag_time = @{ type = 'str' }
                truncation_lag_time = @{ type = 'str' }
            }
        }
        max_copy_queue_length = @{ type = 'int'; default = 10 }
        max_replay_queue_length = @{ type = 'int'; default = 10 }
        record_path = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.exchange = @{ version = $null; shell = $null }
$module.Result.server = @{ name = $null; exists = $false; member = $false; dag = $null }
$module.Result.dag = $null
$module.Result.all_dag_names = @()
$module.Result.databases = @()
$module.Result.replication_health = $null
$module.Result.cluster = @{ available = $false; nodes = @(); error = $null }

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to read the database availability groups from $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
if ([int]($state.version -split '\.')[0] -lt 14) {
    $module.FailJson("Failed to read the database availability groups from $($env:COMPUTERNAME): DAGs exist from Exchange 2010; this is Exchange $($state.version)")
}
$module.Result.exchange.version = $state.version
$serverName = if ($module.Params.server) { $module.Params.server.Split('.')[0].ToUpperInvariant() } else { $env:COMPUTERNAME.ToUpperInvariant() }
$module.Result.server.name = $serverName

$commands = @('Get-ExchangeServer', 'Get-DatabaseAvailabilityGroup', 'Get-MailboxDatabase', 'Get-MailboxDatabaseCopyStatus', 'Test-ReplicationHealth')
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$module.Result.exchange.shell = $shell.method

$entries = [System.Collections.Generic.List[hashtable]]@()
$failure = $null
try {
    $servers = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-ExchangeServer')
    $module.Result.server.exists = @($servers | Where-Object { (Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')) -eq $serverName }).Count -gt 0

    $dags = @(Get-ExDrDag -Shell $shell)
    $module.Result.all_dag_names = @($dags | ForEach-Object { $_.name })
    $memberOf = @($dags | Where-Object { $_.members -contains $serverName }) | Select-Object -First 1
    if ($null -ne $memberOf) {
        $module.Result.server.dag = $memberOf.name
    }
    $chosen = if ($module.Params.dag) {
        @($dags | Where-Object { $_.name -eq $module.Params.dag }) | Select-Object -First 1
    }
    else {
        $memberOf
    }

    if ($null -ne $chosen) {
        $module.Result.dag = $chosen
        $module.Result.server.member = $chosen.members -contains $serverName
        foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase')) {
            if ($true -eq (Get-ExDrProperty -InputObject $db -Name 'Recovery')) {
                continue
            }
            $settings = Get-ExDrCopySetting -Database $db
            $copyServers = @($settings.Keys)
            $inDag = @($copyServers | Where-Object { $chosen.members -contains $_ -or $_ -eq $serverName }).Count -gt 0
            if (-not $inDag) {
                continue
            }
            $name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Name')
            $statuses = @{}
            foreach ($status in @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabaseCopyStatus' -Parameters @{ Identity = $name })) {
                $copyStatus = ConvertTo-ExDrCopyStatus -Status $status
                $statuses[$copyStatus.server] = $copyStatus
            }
            $copies = [System.Collections.Generic.List[hashtable]]@()
            foreach ($copyServer in @($copyServers | Sort-Object -Property { $settings[$_].activation_preference }, { $_ })) {
                $status = $statuses[$copyServer]
                $copies.Add(@{
                        server = $copyServer
                        activation_preference = $settings[$copyServer].activation_preference
                        replay_lag_time = $settings[$copyServer].replay_lag_time
                        truncation_lag_time = $settings[$copyServer].truncation_lag_time
                        status = if ($null -ne $status) { $status.status } else { $null }
                        active = if ($null -ne $status) { $status.active } else { $false }
                        copy_queue_length = if ($null -ne $status) { $status.copy_queue_length } else { $null }
                        replay_queue_length = if ($null -ne $status) { $status.replay_queue_length } else { $null }
                        content_index_state = if ($null -ne $status) { $status.content_index_state } else { $null }
                        error_message = if ($null -ne $status) { $status.error_message } else { $null }
                    })
            }
            $entries.Add(@{
                    name = $name
                    active_server = Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $db -Name 'Server')
                    circular_logging = $true -eq (Get-ExDrProperty -InputObject $db -Name 'CircularLoggingEnabled')
                    copies = @($copies)
                })
        }
        if ($module.Params.test_replication_health -and $module.Result.server.member) {
            $module.Result.replication_health = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Test-ReplicationHealth' -Parameters @{ Identity = $serverName } |
                    ForEach-Object {
                        @{
                            check = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Check')
                            result = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Result')
                            error = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Error')
                        }
                    })
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
    $module.FailJson("Failed to read the database availability groups from $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}
$module.Result.databases = @($entries | Sort-Object -Property { $_.name })

if ($module.Params.cluster) {
    $module.Result.cluster = Get-ExDrClusterNode
}

$module.ExitJson()
