#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeTransport

# The host half of transport_queue_drain: stop (or restore) the server's intake of mail the way the action plugin chose for
# the release - the HubTransport component state (2013+ Mailbox) or pausing MSExchangeTransport (2007, 2010, Edge) -,
# optionally hand the active delivery queues to another server (Redirect-Message, 2013+), then wait until the queues that
# the server delivers by itself are empty or the timeout passes. docs/transport-and-edge.md, "Queues".

$spec = @{
    options = @{
        state = @{ type = 'str'; default = 'drained'; choices = 'drained', 'active' }
        method = @{ type = 'str'; default = 'auto'; choices = 'auto', 'component', 'pause' }
        target = @{ type = 'str' }
        requester = @{ type = 'str'; default = 'Maintenance' }
        timeout = @{ type = 'int'; default = 300 }
        poll_interval = @{ type = 'int'; default = 10 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.method = $module.Params.method
$module.Result.intake = @{ before = $null; after = $null }
$module.Result.redirected = 0
$module.Result.queues_before = @()
$module.Result.queues = @()
$module.Result.waited = 0
$module.Result.timed_out = $false

Function Get-QueueToDeliver {
    # What the server still delivers by itself: every queue but shadow, unreachable and poison ones (PS Redirect-Message;
    # the same split as plugin_utils/_transport_queue.queue_kind on the controller).
    param ([object[]]$Queues)
    $total = 0
    foreach ($queue in $Queues) {
        $name = ($queue.identity -split '\\', 2)[-1]
        if ($queue.delivery_type -eq 'ShadowRedundancy' -or $queue.delivery_type -eq 'Unreachable' -or $name -eq 'Poison' -or $name -like 'Shadow\*') {
            continue
        }
        $total += [int]$queue.message_count
    }
    return $total
}

Function Test-IntakeStopped {
    param ($Shell, [string]$Method)
    if ($Method -eq 'component') {
        $componentState = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-ServerComponentState' -Parameters @{ Identity = $env:COMPUTERNAME; Component = 'HubTransport' })
        return [string](Get-ExDrProperty -InputObject $componentState[0] -Name 'State')
    }
    return [string](Get-ExDrTransportService).state
}

$method = $module.Params.method
if ($method -eq 'auto') {
    $module.FailJson('method=auto is resolved by the exchange_dr.recovery.transport_queue_drain action plugin from the release; run the module through it')
}
$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to drain $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$edge = $state.roles -contains 'EdgeTransportRole'
$service = $null
try {
    $service = Get-ExDrTransportService
}
catch {
    $failure = $_
}
if ($null -eq $service) {
    $module.FailJson("Failed to read the Microsoft Exchange Transport service of $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}
if (-not $service.exists -or ($service.state -ne 'running' -and $service.state -ne 'paused')) {
    $module.FailJson("Failed to drain $($env:COMPUTERNAME): the Microsoft Exchange Transport service is $($service.state), so its queues cannot be delivered or read; start it first")
}

$commands = @('Get-Queue')
if ($method -eq 'component') {
    $commands += 'Get-ServerComponentState', 'Set-ServerComponentState'
}
if ($module.Params.target) {
    $commands += 'Redirect-Message'
}
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands -Edge:$edge
$failure = $null
try {
    $module.Result.queues_before = Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME
    $before = Test-IntakeStopped -Shell $shell -Method $method
    $module.Result.intake.before = $before
    $module.Result.intake.after = $before
    $stopped = ($method -eq 'component' -and $before -ne 'Active') -or ($method -eq 'pause' -and $before -eq 'paused')
    if ($module.Params.state -eq 'drained') {
        if (-not $stopped) {
            $module.Result.changed = $true
            if (-not $module.CheckMode) {
                if ($method -eq 'component') {
                    $componentParams = @{ Identity = $env:COMPUTERNAME; Component = 'HubTransport'; State = 'Draining'; Requester = $module.Params.requester }
                    Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Set-ServerComponentState' -Parameters $componentParams | Out-Null
                }
                else {
                    Suspend-Service -Name 'MSExchangeTransport' -ErrorAction Stop
                }
                $module.Result.intake.after = Test-IntakeStopped -Shell $shell -Method $method
            }
        }
        $delivering = Get-QueueToDeliver -Queues $module.Result.queues_before
        if ($module.Params.target -and $delivering -gt 0) {
            $module.Result.changed = $true
            $module.Result.redirected = $delivering
            if (-not $module.CheckMode) {
                $redirectParams = @{ Server = $env:COMPUTERNAME; Target = @($module.Params.target) }
                Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Redirect-Message' -Parameters $redirectParams -NoDomainController | Out-Null
            }
        }
        $queues = $module.Result.queues_before
        if (-not $module.CheckMode) {
            $started = [DateTime]::UtcNow
            $queues = Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME
            while ((Get-QueueToDeliver -Queues $queues) -gt 0) {
                $elapsed = ([DateTime]::UtcNow - $started).TotalSeconds
                if ($elapsed -ge $module.Params.timeout) {
                    $module.Result.timed_out = $true
                    break
                }
                Start-Sleep -Seconds ([Math]::Max(1, [Math]::Min($module.Params.poll_interval, $module.Params.timeout - $elapsed)))
                $queues = Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME
            }
            $module.Result.waited = [int]([DateTime]::UtcNow - $started).TotalSeconds
        }
        $module.Result.queues = $queues
    }
    else {
        if ($stopped) {
            $module.Result.changed = $true
            if (-not $module.CheckMode) {
                if ($method -eq 'component') {
                    $componentParams = @{ Identity = $env:COMPUTERNAME; Component = 'HubTransport'; State = 'Active'; Requester = $module.Params.requester }
                    Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Set-ServerComponentState' -Parameters $componentParams | Out-Null
                }
                else {
                    Resume-Service -Name 'MSExchangeTransport' -ErrorAction Stop
                }
                $module.Result.intake.after = Test-IntakeStopped -Shell $shell -Method $method
            }
        }
        $module.Result.queues = Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME
    }
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to $(if ($module.Params.state -eq 'drained') { 'drain' } else { 'reactivate' }) $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
