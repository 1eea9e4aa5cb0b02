#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

# The host half of edge_subscription, on a Mailbox (2013+) or Hub Transport (2007, 2010) server of the Edge's site. The
# action plugin calls it per step:
#   _step=query      the organisation's Edge Subscriptions, this server's site and time, and the Edge's EdgeSync status
#                    (Test-EdgeSynchronization) when it is subscribed to this server's site;
#   _step=subscribe  the old subscription removed, New-EdgeSubscription -FileData -Site with the file the action plugin
#                    copied here (then deleted: it holds a password), Start-EdgeSynchronization -ForceFullSync, and
#                    Test-EdgeSynchronization until the Edge is synchronized or the timeout passes;
#   _step=remove     Remove-EdgeSubscription.
# The subscription file is checked (its Edge, its age) on the controller. docs/transport-and-edge.md, "EdgeSync".

$spec = @{
    options = @{
        edge_server = @{ type = 'str'; required = $true }
        state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent' }
        subscription_file = @{ type = 'path' }
        site = @{ type = 'str' }
        remove_existing = @{ type = 'bool'; default = $true }
        remove_file = @{ type = 'bool'; default = $true }
        create_internet_send_connector = @{ type = 'bool'; default = $true }
        create_inbound_send_connector = @{ type = 'bool'; default = $true }
        timeout = @{ type = 'int'; default = 600 }
        poll_interval = @{ type = 'int'; default = 30 }
        _step = @{ type = 'str'; default = 'query'; choices = 'query', 'subscribe', 'remove' }
        _file_path = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.step = $module.Params._step
$module.Result.site = $null
$module.Result.host_time = [DateTime]::UtcNow.ToString('o')
$module.Result.subscriptions = @()
$module.Result.removed = $false
$module.Result.subscribed = $false
$module.Result.sync = $null
$module.Result.start = @()
$module.Result.waited = 0
$module.Result.timed_out = $false

Function Get-EdgeSyncStatus {
    param ($Shell, [string]$Edge)
    $test = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Test-EdgeSynchronization' -Parameters @{ TargetServer = $Edge; ExcludeRecipientTest = $true })
    if ($test.Count -eq 0) {
        return $null
    }
    return @{
        status = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $test[0] -Name 'SyncStatus')
        failure = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $test[0] -Name 'FailureDetail')
        last = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $test[0] -Name 'LastSynchronizedDate')
    }
}

Function Get-SiteName {
    param ($Value)
    $name = ConvertTo-ExDrString -Value $Value
    if ($null -eq $name) {
        return $null
    }
    return ($name -split '/')[-1]
}

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to manage the Edge Subscription of $($module.Params.edge_server) on $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
if ($state.roles -contains 'EdgeTransportRole') {
    $module.FailJson("$($env:COMPUTERNAME) is an Edge Transport server: the subscription file is imported on a Mailbox or Hub Transport server of the Edge's site")
}
$edge = $module.Params.edge_server
$step = $module.Params._step
$commands = @('Get-EdgeSubscription', 'Get-ExchangeServer', 'Test-EdgeSynchronization', 'Remove-EdgeSubscription', 'New-EdgeSubscription', 'Start-EdgeSynchronization')
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands
$failure = $null
try {
    $me = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-ExchangeServer' -Parameters @{ Identity = $env:COMPUTERNAME })
    # Site is an ADObjectId (contoso.com/Configuration/Sites/<name>): its name is what -Site takes
    $module.Result.site = Get-SiteName -Value (Get-ExDrProperty -InputObject $me[0] -Name 'Site')
    $module.Result.subscriptions = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Get-EdgeSubscription' | ForEach-Object {
            @{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')
                site = Get-SiteName -Value (Get-ExDrProperty -InputObject $_ -Name 'Site')
            }
        })
    $existing = @($module.Result.subscriptions | Where-Object { $_.name -eq ($edge -split '\.')[0] })
    $module.Result.subscribed = $existing.Count -gt 0
    if ($step -eq 'query') {
        # Test-EdgeSynchronization sees only the Edge Subscriptions of this server's site
        if ($module.Result.subscribed -and $existing[0].site -eq $module.Result.site) {
            $module.Result.sync = Get-EdgeSyncStatus -Shell $shell -Edge $edge
        }
    }
    elseif ($step -eq 'remove') {
        if ($module.Result.subscribed) {
            $module.Result.changed = $true
            $module.Result.removed = $true
            if (-not $module.CheckMode) {
                Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Remove-EdgeSubscription' -Parameters @{ Identity = $edge; Confirm = $false } | Out-Null
            }
            $module.Result.subscribed = $false
        }
    }
    else {
        $file = $module.Params._file_path
        if (-not $file -or -not (Test-Path -LiteralPath $file -PathType Leaf)) {
            throw 'the subscription file is copied here by the exchange_dr.recovery.edge_subscription action plugin; run the module through it'
        }
        $module.Result.changed = $true
        if (-not $module.CheckMode) {
            if ($module.Result.subscribed -and $module.Params.remove_existing) {
                Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Remove-EdgeSubscription' -Parameters @{ Identity = $edge; Confirm = $false } | Out-Null
                $module.Result.removed = $true
            }
            $subscribeParams = @{
                FileData = [System.IO.File]::ReadAllBytes($file)
                CreateInternetSendConnector = $module.Params.create_internet_send_connector
                CreateInboundSendConnector = $module.Params.create_inbound_send_connector
                Confirm = $false
            }
            if ($module.Params.site) {
                $subscribeParams.Site = $module.Params.site
            }
            try {
                Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'New-EdgeSubscription' -Parameters $subscribeParams | Out-Null
            }
            finally {
                Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
            }
            $module.Result.subscribed = $true
            $module.Result.start = @(Invoke-ExDrExchangeCmdlet -Shell $shell -Name 'Start-EdgeSynchronization' -Parameters @{ TargetServer = $edge; ForceFullSync = $true; Confirm = $false } -NoDomainController | ForEach-Object {
                    @{
                        result = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Result')
                        failure = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'FailureDetails')
                    }
                })
            $started = [DateTime]::UtcNow
            $module.Result.sync = Get-EdgeSyncStatus -Shell $shell -Edge $edge
            while ($null -eq $module.Result.sync -or $module.Result.sync.status -ne 'Normal') {
                $elapsed = ([DateTime]::UtcNow - $started).TotalSeconds
                if ($elapsed -ge $module.Params.timeout) {
                    $module.Result.timed_out = $true
                    break
                }
                Start-Sleep -Seconds ([Math]::Max(1, [Math]::Min($module.Params.poll_interval, $module.Params.timeout - $elapsed)))
                $module.Result.sync = Get-EdgeSyncStatus -Shell $shell -Edge $edge
            }
            $module.Result.waited = [int]([DateTime]::UtcNow - $started).TotalSeconds
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
    $module.FailJson("Failed to $(if ($step -eq 'query') { 'read' } else { $step }) the Edge Subscription of $edge on $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
