#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._Windows

# The Windows half of service_state: read the given services in one pass (and start the stopped Automatic ones when
# asked), read the Exchange Setup registry key (module_utils/_ExchangeState.psm1), return plain data. Which services, and what the result means, is decided
# by the action plugin (plugins/action/service_state.py); the options it does not need here are accepted and ignored.

$spec = @{
    options = @{
        state = @{ type = 'str'; default = 'query'; choices = 'query', 'started' }
        exchange_version = @{ type = 'str' }
        exchange_roles = @{ type = 'list'; elements = 'str'; choices = 'Mailbox', 'ClientAccess', 'HubTransport', 'UnifiedMessaging', 'Edge' }
        include_services = @{ type = 'list'; elements = 'str' }
        exclude_services = @{ type = 'list'; elements = 'str' }
        email_router_service = @{ type = 'str'; default = 'MSCRMEmail' }
        services = @{
            type = 'list'
            elements = 'dict'
            options = @{
                name = @{ type = 'str'; required = $true }
                required = @{ type = 'bool'; default = $true }
                start = @{ type = 'bool'; default = $true }
            }
        }
        timeout = @{ type = 'int'; default = 300 }
        settle_seconds = @{ type = 'int'; default = 15 }
        fail_on_unhealthy = @{ type = 'bool'; default = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
Add-Type -AssemblyName System.ServiceProcess

$module.Result.changed = $false
$module.Result.services = @()
$module.Result.started = @()
$module.Result.exchange = @{ installed = $false; setup_key = $null; build = $null; install_path = $null; role_keys = @() }

Function Get-ExDrStartOrder {
    <#
    .SYNOPSIS
    The services to start, dependencies first (depth-first over ServicesDependedOn).
    #>
    param ([string[]]$Name, [hashtable]$Controller)

    $wanted = @{}
    foreach ($n in $Name) { $wanted[$n] = $true }
    $done = @{}
    $order = [System.Collections.Generic.List[string]]@()
    $visit = {
        param ([string]$n)
        if ($done.ContainsKey($n)) { return }
        $done[$n] = $true
        foreach ($dep in $Controller[$n].ServicesDependedOn) {
            if ($wanted.ContainsKey($dep.ServiceName)) {
                & $visit $dep.ServiceName
            }
        }
        $order.Add($n)
    }
    foreach ($n in $Name) { & $visit $n }
    , $order.ToArray()
}

try {
    $module.Result.exchange = Get-ExDrSetupRegistry
}
catch {
    $module.FailJson("Failed to read the Exchange Setup registry key: $($_.Exception.Message)", $_)
}

$requested = @($module.Params.services | Where-Object { $_ })
$controllers = @{}  # case-insensitive by service name
$cim = @{}
try {
    foreach ($sc in [System.ServiceProcess.ServiceController]::GetServices()) {
        $controllers[$sc.ServiceName] = $sc
    }
    if ($requested.Count -gt 0) {
        $filter = (@($requested | ForEach-Object { 'Name={0}' -f (ConvertTo-ExDrWqlString -Value $_.name) }) -join ' OR ')
        foreach ($instance in Get-CimInstance -ClassName Win32_Service -Filter $filter) {
            $cim[$instance.Name] = $instance
        }
    }
}
catch {
    $module.FailJson("Failed to read the services: $($_.Exception.Message)", $_)
}

Function Get-ExDrStartMode {
    param ($Controller, $Instance)
    if ($Instance) {
        return Get-ExDrServiceStartMode -Instance $Instance
    }
    # no Win32_Service instance (it went between the two reads): ServiceController.StartType, which knows no delayed start
    $type = [string]$Controller.StartType
    if ($type -eq 'Automatic') {
        return 'auto'
    }
    $type.ToLowerInvariant()
}

$entries = [ordered]@{}
$toStart = [System.Collections.Generic.List[string]]@()
foreach ($req in $requested) {
    $sc = $controllers[$req.name]
    if (-not $sc) {
        $entries[$req.name] = @{
            name = $req.name; display_name = $null; exists = $false; start_mode = $null; state = $null; state_before = $null
            dependencies = @(); win32_exit_code = $null; action = 'none'; start_error = $null; start_error_code = $null; stopped_again = $false
        }
        continue
    }
    $instance = $cim[$sc.ServiceName]
    $mode = Get-ExDrStartMode -Controller $sc -Instance $instance
    $state = ConvertTo-ExDrServiceState -State $sc.Status
    $exitCode = $null
    if ($instance) { $exitCode = [int]$instance.ExitCode }
    $entries[$sc.ServiceName] = @{
        name = $sc.ServiceName
        display_name = $sc.DisplayName
        exists = $true
        start_mode = $mode
        state = $state
        state_before = $state
        dependencies = @($sc.ServicesDependedOn | ForEach-Object { $_.ServiceName })
        win32_exit_code = $exitCode
        action = 'none'
        start_error = $null
        start_error_code = $null
        stopped_again = $false
    }
    # StartPending ones are only waited for (not in check mode: nothing would be started)
    $startable = $state -eq 'stopped' -or ($state -eq 'start_pending' -and -not $module.CheckMode)
    if ($module.Params.state -eq 'started' -and $req.start -and $mode -in @('auto', 'delayed') -and $startable -and -not $toStart.Contains($sc.ServiceName)) {
        $toStart.Add($sc.ServiceName)
    }
}

$order = @()
if ($toStart.Count -gt 0) {
    $order = Get-ExDrStartOrder -Name $toStart.ToArray() -Controller $controllers
}

if ($order.Count -gt 0 -and $module.CheckMode) {
    foreach ($name in $order) { $entries[$name].action = 'would_start' }
    $module.Result.started = $order
    $module.Result.changed = $true
}
elseif ($order.Count -gt 0) {
    $deadline = [DateTime]::UtcNow.AddSeconds($module.Params.timeout)
    $started = [System.Collections.Generic.List[string]]@()
    foreach ($name in $order) {
        $sc = $controllers[$name]
        $entry = $entries[$name]
        try {
            $sc.Refresh()
            if ($sc.Status -eq 'Stopped') {
                $sc.Start()
                $entry.action = 'started'
            }
            else {
                $entry.action = 'waited'
            }
            $remaining = $deadline - [DateTime]::UtcNow
            if ($remaining -lt [TimeSpan]::Zero) { $remaining = [TimeSpan]::Zero }
            $sc.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, $remaining)
            if ($entry.action -eq 'started') {
                $started.Add($name)
            }
        }
        catch [System.ServiceProcess.TimeoutException] {
            $entry.action = 'start_failed'
            $entry.start_error = "did not reach Running within $($module.Params.timeout) seconds"
        }
        catch {
            # Start() throws InvalidOperationException around the SCM's Win32Exception, and PowerShell wraps that in a
            # MethodInvocationException: the code is found by walking the chain.
            $entry.action = 'start_failed'
            $win32 = Get-ExDrInnerException -Exception $_.Exception -Type ([System.ComponentModel.Win32Exception])
            if ($null -ne $win32) {
                $entry.start_error = $win32.Message
                $entry.start_error_code = $win32.NativeErrorCode
            }
            else {
                $entry.start_error = $_.Exception.Message
            }
        }
        $sc.Refresh()
        $entry.state = ConvertTo-ExDrServiceState -State $sc.Status
    }
    if ($started.Count -gt 0 -and $module.Params.settle_seconds -gt 0) {
        Start-Sleep -Seconds $module.Params.settle_seconds
        foreach ($name in $started) {
            $sc = $controllers[$name]
            $sc.Refresh()
            $entries[$name].state = ConvertTo-ExDrServiceState -State $sc.Status
            if ($sc.Status -ne 'Running') {
                $entries[$name].stopped_again = $true
                # the exit code is extra detail: a WMI hiccup here must not lose what this call did
                $instance = Get-CimInstance -ClassName Win32_Service -Filter ('Name={0}' -f (ConvertTo-ExDrWqlString -Value $name)) -ErrorAction SilentlyContinue
                if ($instance) { $entries[$name].win32_exit_code = [int]$instance.ExitCode }
            }
        }
    }
    $module.Result.started = $started.ToArray()
    $module.Result.changed = $started.Count -gt 0
}

$module.Result.services = @($entries.Values)
$module.ExitJson()
