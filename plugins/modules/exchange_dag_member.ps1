#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeDag

# The host half of exchange_dag_member: one server's membership of one DAG, added (Add-DatabaseAvailabilityGroupServer) or
# removed (Remove-DatabaseAvailabilityGroupServer, -ConfigurationOnly for a server that is gone, then its node evicted from
# the DAG's failover cluster with Remove-ClusterNode as the DR pages ask). Everything is read and refused before anything
# changes. Facts and sources: docs/dag.md.

$spec = @{
    options = @{
        dag = @{ type = 'str'; required = $true }
        server = @{ type = 'str'; required = $true }
        state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent' }
        configuration_only = @{ type = 'bool'; default = $false }
        evict_cluster_node = @{ type = 'bool'; default = $true }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.dag = $null
$module.Result.server = $null
$module.Result.member_before = $false
$module.Result.member = $false
$module.Result.members = @()
$module.Result.cluster_node = @{ checked = $false; present_before = $false; evicted = $false }
$module.Result.commands = @()

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to manage the DAG membership from $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
if ([int]($state.version -split '\.')[0] -lt 14) {
    $module.FailJson("Failed to manage the DAG membership from $($env:COMPUTERNAME): DAGs exist from Exchange 2010; this is Exchange $($state.version)")
}
$serverName = $module.Params.server.Split('.')[0].ToUpperInvariant()
$module.Result.server = $serverName
$absent = $module.Params.state -eq 'absent'
$evict = $absent -and $module.Params.configuration_only -and $module.Params.evict_cluster_node
$commands = [System.Collections.Generic.List[string]]@()

# The cluster is read first: when the node must be evicted, a host that cannot do it is refused before anything changes.
$cluster = $null
if ($evict) {
    if ($serverName -eq $env:COMPUTERNAME.ToUpperInvariant()) {
        $module.FailJson("Failed to remove $serverName from $($module.Params.dag): run the task on a surviving member; a node does not evict itself")
    }
    $cluster = Get-ExDrClusterNode
    if (-not $cluster.available -or $null -ne $cluster.error) {
        $module.FailJson("Failed to read the failover cluster on $($env:COMPUTERNAME) to evict $($serverName): $($cluster.error)")
    }
    if (@($cluster.nodes | Where-Object { $_.name -eq $serverName -and $_.state -eq 'Up' }).Count -gt 0) {
        $module.FailJson("Failed to remove $serverName from $($module.Params.dag) as a server that is gone: its cluster node is Up; remove it without configuration_only instead")
    }
}

$refusal = $null
$failure = $null
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @(
    'Get-ExchangeServer', 'Get-DatabaseAvailabilityGroup', 'Get-MailboxDatabase', 'Add-DatabaseAvailabilityGroupServer', 'Remove-DatabaseAvailabilityGroupServer'
)
try {
    $servers = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-ExchangeServer')
    $dags = @(Get-ExDrDag -Shell $shell)
    $dag = @($dags | Where-Object { $_.name -eq $module.Params.dag }) | Select-Object -First 1
    if (@($servers | Where-Object { (Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')) -eq $serverName }).Count -eq 0) {
        $refusal = "there is no Exchange server $serverName in the organisation"
    }
    elseif ($null -eq $dag) {
        $known = @($dags | ForEach-Object { $_.name }) -join ', '
        if (-not $known) {
            $known = 'none'
        }
        $refusal = "there is no database availability group $($module.Params.dag) in the organisation (its DAGs: $known)"
    }
    else {
        $module.Result.dag = $dag.name
        $before = $dag.members -contains $serverName
        $module.Result.member_before = $before
        $module.Result.member = $before
        $module.Result.members = @($dag.members)
        $other = @($dags | Where-Object { $_.name -ne $dag.name -and $_.members -contains $serverName }) | Select-Object -First 1
        if (-not $absent -and $null -ne $other) {
            $refusal = "$serverName is a member of $($other.name), not of $($dag.name); a server is in one DAG at most"
        }
        elseif (-not $absent -and -not $before) {
            $commands.Add("Add-DatabaseAvailabilityGroupServer -Identity '$($dag.name)' -MailboxServer '$serverName'")
            if (-not $module.CheckMode) {
                $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Add-DatabaseAvailabilityGroupServer' -Parameters @{ Identity = $dag.name; MailboxServer = $serverName }
            }
            $module.Result.changed = $true
            $module.Result.member = $true
            $module.Result.members = @($dag.members) + $serverName
        }
        elseif ($absent -and $before) {
            # "To remove a Mailbox server from a DAG, the Mailbox server must not host any replicated databases."
            $replicated = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase' | Where-Object {
                    $copyServers = @((Get-ExDrCopySetting -Database $_).Keys)
                    $copyServers.Count -gt 1 -and $copyServers -contains $serverName
                } | ForEach-Object { ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name') })
            if ($replicated.Count -gt 0) {
                $refusal = "$serverName still holds copies of replicated databases ($($replicated -join ', ')): remove them first (exchange_database_copy state=absent)"
            }
            else {
                $parameters = @{ Identity = $dag.name; MailboxServer = $serverName; Confirm = $false }
                $line = "Remove-DatabaseAvailabilityGroupServer -Identity '$($dag.name)' -MailboxServer '$serverName'"
                if ($module.Params.configuration_only) {
                    $parameters.ConfigurationOnly = $true
                    $line += ' -ConfigurationOnly'
                }
                $commands.Add($line)
                if (-not $module.CheckMode) {
                    $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Remove-DatabaseAvailabilityGroupServer' -Parameters $parameters
                }
                $module.Result.changed = $true
                $module.Result.member = $false
                $module.Result.members = @($dag.members | Where-Object { $_ -ne $serverName })
            }
        }
    }
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
$module.Result.commands = @($commands)
if ($null -ne $failure) {
    $doing = if ($absent) { "remove $serverName from" } else { "add $serverName to" }
    $module.FailJson("Failed to $doing $($module.Params.dag): $($failure.Exception.Message)", $failure)
}
if ($null -ne $refusal) {
    $module.FailJson("Failed to manage the membership of $serverName in $($module.Params.dag): $refusal")
}

# -ConfigurationOnly leaves the node in the DAG's cluster; the DR pages ask to evict it by hand. Also done on a rerun whose
# earlier run removed the membership but not the node.
if ($evict) {
    $module.Result.cluster_node.checked = $true
    $node = @($cluster.nodes | Where-Object { $_.name -eq $serverName }) | Select-Object -First 1
    if ($null -ne $node) {
        $module.Result.cluster_node.present_before = $true
        $commands.Add("Remove-ClusterNode -Name '$serverName' -Force")
        if (-not $module.CheckMode) {
            try {
                Remove-ClusterNode -Name $serverName -Force -ErrorAction Stop
            }
            catch {
                $module.Result.commands = @($commands)
                $module.FailJson("Failed to evict $serverName from the failover cluster of $($module.Params.dag): $($_.Exception.Message)", $_)
            }
        }
        $module.Result.cluster_node.evicted = $true
        $module.Result.changed = $true
    }
}
$module.Result.commands = @($commands)

$module.ExitJson()
