#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeDag

# The host half of exchange_database_copy: the copies one Mailbox server holds of the given databases, added with their
# activation preference and lag times (Add-MailboxDatabaseCopy), brought to those settings (Set-MailboxDatabaseCopy) or
# removed (Remove-MailboxDatabaseCopy). Every copy is planned and checked before the first one changes. The action plugin
# has validated and normalized the settings (time spans as Exchange prints them). Facts and sources: docs/dag.md.

$spec = @{
    options = @{
        server = @{ type = 'str'; required = $true }
        state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent' }
        copies = @{
            type = 'list'
            elements = 'dict'
            required = $true
            options = @{
                database = @{ type = 'str'; required = $true }
                activation_preference = @{ type = 'int' }
                replay_lag_time = @{ type = 'str' }
                truncation_lag_time = @{ type = 'str' }
            }
        }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $null
$module.Result.copies = @()
$module.Result.commands = @()

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to manage database copies from $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
if ([int]($state.version -split '\.')[0] -lt 14) {
    $module.FailJson("Failed to manage database copies from $($env:COMPUTERNAME): database copies exist from Exchange 2010; this is Exchange $($state.version)")
}
$serverName = $module.Params.server.Split('.')[0].ToUpperInvariant()
$module.Result.server = $serverName
$absent = $module.Params.state -eq 'absent'

Function Test-ExDrSameLag {
    param ([string]$Have, [string]$Want)
    if (-not $Have) {
        $Have = '00:00:00'
    }
    return [TimeSpan]::Parse($Have) -eq [TimeSpan]::Parse($Want)
}

$plans = [System.Collections.Generic.List[hashtable]]@()
$refusals = [System.Collections.Generic.List[string]]@()
$commands = [System.Collections.Generic.List[string]]@()
$failure = $null
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @(
    'Get-ExchangeServer', 'Get-DatabaseAvailabilityGroup', 'Get-MailboxDatabase', 'Add-MailboxDatabaseCopy', 'Set-MailboxDatabaseCopy', 'Remove-MailboxDatabaseCopy'
)
try {
    $servers = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-ExchangeServer')
    if (@($servers | Where-Object { (Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')) -eq $serverName }).Count -eq 0) {
        $refusals.Add("there is no Exchange server $serverName in the organisation")
    }
    $databases = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-MailboxDatabase')
    $dags = @(Get-ExDrDag -Shell $shell)
    foreach ($wanted in $module.Params.copies) {
        $db = @($databases | Where-Object { (ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')) -eq $wanted.database }) | Select-Object -First 1
        if ($null -eq $db) {
            $refusals.Add("there is no mailbox database $($wanted.database)")
            continue
        }
        $name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Name')
        $settings = Get-ExDrCopySetting -Database $db
        $active = Get-ExDrServerName -Value (Get-ExDrProperty -InputObject $db -Name 'Server')
        $has = $settings.ContainsKey($serverName)
        $before = if ($has) { $settings[$serverName] } else { @{ activation_preference = $null; replay_lag_time = $null; truncation_lag_time = $null } }
        $plan = @{
            database = $name
            present_before = $has
            action = 'none'
            activation_preference = $before.activation_preference
            replay_lag_time = $before.replay_lag_time
            truncation_lag_time = $before.truncation_lag_time
            before = @{ activation_preference = $before.activation_preference; replay_lag_time = $before.replay_lag_time; truncation_lag_time = $before.truncation_lag_time }
            parameters = $null
        }
        if ($absent) {
            if ($has -and $active -eq $serverName) {
                $refusals.Add("$name\$serverName is the active copy of $name; an active copy cannot be removed (activate a copy on another member first)")
            }
            elseif ($has) {
                $plan.action = 'remove'
                $plan.parameters = @{ Identity = "$name\$serverName"; Confirm = $false }
                $plan.activation_preference = $null
                $plan.replay_lag_time = $null
                $plan.truncation_lag_time = $null
            }
            $plans.Add($plan)
            continue
        }
        # A copy goes on a member of the DAG that holds the database's other copies.
        $dag = @($dags | Where-Object { $members = $_.members; @($settings.Keys | Where-Object { $members -contains $_ }).Count -gt 0 }) | Select-Object -First 1
        if ($null -eq $dag -or $dag.members -notcontains $serverName) {
            $where = if ($null -ne $dag) { "$($dag.name) (the DAG of $name)" } else { "a DAG with $name's server" }
            $refusals.Add("$serverName is not a member of $where: add it to the DAG first (exchange_dag_member)")
            $plans.Add($plan)
            continue
        }
        $count = $settings.Count + $(if ($has) { 0 } else { 1 })
        if ($null -ne $wanted.activation_preference -and $wanted.activation_preference -gt $count) {
            $refusals.Add("the activation preference $($wanted.activation_preference) of $name\$serverName is larger than its number of copies ($count)")
            $plans.Add($plan)
            continue
        }
        $parameters = @{}
        if (-not $has) {
            $plan.action = 'add'
            $parameters = @{ Identity = $name; MailboxServer = $serverName }
            foreach ($key in 'activation_preference', 'replay_lag_time', 'truncation_lag_time') {
                if ($null -ne $wanted[$key]) {
                    $plan[$key] = $wanted[$key]
                }
            }
            if ($null -eq $plan.activation_preference) {
                $plan.activation_preference = $count
            }
            if ($null -eq $plan.replay_lag_time) {
                $plan.replay_lag_time = '00:00:00'
            }
            if ($null -eq $plan.truncation_lag_time) {
                $plan.truncation_lag_time = '00:00:00'
            }
        }
        else {
            $parameters = @{ Identity = "$name\$serverName" }
        }
        if ($null -ne $wanted.activation_preference -and (-not $has -or $wanted.activation_preference -ne $before.activation_preference)) {
            $parameters.ActivationPreference = [uint32]$wanted.activation_preference
            $plan.activation_preference = $wanted.activation_preference
        }
        foreach ($lag in @(@{ key = 'replay_lag_time'; parameter = 'ReplayLagTime' }, @{ key = 'truncation_lag_time'; parameter = 'TruncationLagTime' })) {
            $want = $wanted[$lag.key]
            if ($null -ne $want -and (-not $has -or -not (Test-ExDrSameLag -Have $before[$lag.key] -Want $want))) {
                $parameters[$lag.parameter] = $want
                $plan[$lag.key] = $want
            }
        }
        if (-not $has) {
            $plan.parameters = $parameters
        }
        elseif ($parameters.Count -gt 1) {
            $plan.action = 'update'
            $plan.parameters = $parameters
        }
        $plans.Add($plan)
    }

    # Nothing changes unless every copy could be planned.
    if ($refusals.Count -eq 0) {
        foreach ($plan in $plans) {
            if ($plan.action -eq 'none') {
                continue
            }
            $cmdlet = @{ add = 'Add-MailboxDatabaseCopy'; update = 'Set-MailboxDatabaseCopy'; remove = 'Remove-MailboxDatabaseCopy' }[$plan.action]
            $line = $cmdlet
            foreach ($key in @($plan.parameters.Keys | Where-Object { $_ -ne 'Confirm' } | Sort-Object)) {
                $line += " -$key '$($plan.parameters[$key])'"
            }
            $commands.Add($line)
            if (-not $module.CheckMode) {
                $null = Invoke-ExDrExchangeCmdlet -Shell $shell -Name $cmdlet -Parameters $plan.parameters
            }
            $module.Result.changed = $true
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
$module.Result.copies = @($plans | ForEach-Object {
        @{
            database = $_.database
            action = $_.action
            present_before = $_.present_before
            activation_preference = $_.activation_preference
            replay_lag_time = $_.replay_lag_time
            truncation_lag_time = $_.truncation_lag_time
            before = $_.before
        }
    })
if ($null -ne $failure) {
    $module.FailJson("Failed to manage the database copies of $($serverName): $($failure.Exception.Message)", $failure)
}
if ($refusals.Count -gt 0) {
    $module.FailJson("Failed to manage the database copies of $($serverName), nothing was changed: $($refusals -join '; ')")
}

$module.ExitJson()
