# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# Reads of database availability groups for exchange_dag_info, exchange_dag_member and exchange_database_copy: the DAGs,
# each database copy's settings, copy status and the local failover cluster's nodes. Facts and sources: docs/dag.md.
# - A MailboxDatabase object carries ActivationPreference, ReplayLagTimes and TruncationLagTimes as key/value pairs whose
#   key is the server (ExchangeDsc's DSC_ExchMailboxDatabaseCopy reads .Key.Name and .Value); a remote session deserializes
#   each pair to its text '[EX01, 1]' (docs/dr-kit.md). Servers lists the copies' servers.
# - Get-ClusterNode comes with the FailoverClusters module (RSAT-Clustering-PowerShell, a prerequisite Exchange installs).

#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

Set-StrictMode -Version 2.0

Function Get-ExDrServerName {
    <#
    .SYNOPSIS
    The upper-case server name of an ADObjectId, its deserialized form or a string ('EX01', 'contoso.local/.../EX01').
    #>
    param ($Value)
    if ($null -eq $Value) {
        return $null
    }
    $name = Get-ExDrProperty -InputObject $Value -Name 'Name'
    if ($null -eq $name) {
        $name = (([string]$Value) -split '[\\/]')[-1]
    }
    return ([string]$name).Split('.')[0].ToUpperInvariant()
}

Function Get-ExDrDag {
    <#
    .SYNOPSIS
    Every DAG of the organisation as a hashtable (name, members, operational servers with -Status, witness), in name order.
    #>
    param ([Parameter(Mandatory = $true)] [hashtable]$Shell)
    $dags = [System.Collections.Generic.List[hashtable]]@()
    foreach ($dag in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-DatabaseAvailabilityGroup' -Parameters @{ Status = $true })) {
        $dags.Add(@{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $dag -Name 'Name')
                members = @(Get-ExDrProperty -InputObject $dag -Name 'Servers' | Where-Object { $null -ne $_ } | ForEach-Object { Get-ExDrServerName -Value $_ })
                operational_servers = @(Get-ExDrProperty -InputObject $dag -Name 'OperationalServers' | Where-Object { $null -ne $_ } |
                        ForEach-Object { Get-ExDrServerName -Value $_ })
                primary_active_manager = Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $dag -Name 'PrimaryActiveManager')
                witness_server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $dag -Name 'WitnessServer')
                witness_directory = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $dag -Name 'WitnessDirectory')
            })
    }
    $dags | Sort-Object -Property { $_.name }
}

Function Get-ExDrCopySetting {
    <#
    .SYNOPSIS
    The copies of a MailboxDatabase object: server name -> @{ activation_preference; replay_lag_time; truncation_lag_time }.
    #>
    param ($Database)
    $settings = @{}
    foreach ($server in @(Get-ExDrProperty -InputObject $Database -Name 'Servers' | Where-Object { $null -ne $_ })) {
        $settings[(Get-ExDrServerName -Value $server)] = @{ activation_preference = $null; replay_lag_time = '00:00:00'; truncation_lag_time = '00:00:00' }
    }
    $lists = @{ ActivationPreference = 'activation_preference'; ReplayLagTimes = 'replay_lag_time'; TruncationLagTimes = 'truncation_lag_time' }
    foreach ($property in $lists.Keys) {
        foreach ($pair in @(Get-ExDrProperty -InputObject $Database -Name $property | Where-Object { $null -ne $_ })) {
            # A KeyValuePair in the snap-in; its text '[EX01, 1]' once a remote session has deserialized it.
            if ($pair -is [string]) {
                if ($pair -notmatch '^\[(.+), (.+)\]$') {
                    continue
                }
                $name = Get-ExDrServerName -Value $Matches[1]
                $value = $Matches[2]
            }
            else {
                $name = Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $pair -Name 'Key')
                $value = Get-ExDrProperty -InputObject $pair -Name 'Value'
            }
            if ($null -eq $name -or -not $settings.ContainsKey($name) -or $null -eq $value) {
                continue
            }
            if ($property -eq 'ActivationPreference') {
                $settings[$name].activation_preference = [int]$value
            }
            else {
                $settings[$name][$lists[$property]] = [string]$value
            }
        }
    }
    return $settings
}

Function ConvertTo-ExDrCopyStatus {
    <#
    .SYNOPSIS
    One Get-MailboxDatabaseCopyStatus object as a hashtable of the properties the controller judges.
    #>
    param ($Status)
    $copyQueue = Get-ExDrProperty -InputObject $Status -Name 'CopyQueueLength'
    $replayQueue = Get-ExDrProperty -InputObject $Status -Name 'ReplayQueueLength'
    return @{
        name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Status -Name 'Name')
        server = Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $Status -Name 'MailboxServer')
        status = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Status -Name 'Status')
        active = $true -eq (Get-ExDrProperty -InputObject $Status -Name 'ActiveCopy')
        copy_queue_length = if ($null -eq $copyQueue) { $null } else { [int64]$copyQueue }
        replay_queue_length = if ($null -eq $replayQueue) { $null } else { [int64]$replayQueue }
        content_index_state = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Status -Name 'ContentIndexState')
        error_message = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $Status -Name 'ErrorMessage')
    }
}

Function Get-ExDrClusterNode {
    <#
    .SYNOPSIS
    The nodes of the failover cluster this host belongs to (Get-ClusterNode): @{ available; nodes; error }. available is
    $false when the FailoverClusters module is missing; error holds what Get-ClusterNode reported.
    #>
    $result = @{ available = $false; nodes = @(); error = $null }
    if ($null -eq (Get-Command -Name 'Get-ClusterNode' -ErrorAction SilentlyContinue)) {
        $result.error = 'the FailoverClusters module (feature RSAT-Clustering-PowerShell) is not installed'
        return $result
    }
    $result.available = $true
    try {
        $result.nodes = @(Get-ClusterNode -ErrorAction Stop | ForEach-Object {
                @{ name = Get-ExDrServerName -Value $_.Name; state = [string]$_.State }
            })
    }
    catch {
        $result.error = $_.Exception.Message
    }
    return $result
}

$exportMembers = @{
    Function = 'Get-ExDrServerName', 'Get-ExDrDag', 'Get-ExDrCopySetting', 'ConvertTo-ExDrCopyStatus', 'Get-ExDrClusterNode'
}
Export-ModuleMember @exportMembers
