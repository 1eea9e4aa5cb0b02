#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# The Windows half of service_state: read the given services in one pass (and start the stopped Automatic ones when
# asked), read the Exchange Setup registry key, return plain data. Which services, and what the result means, is decided
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

# Where Setup records the build and the installed roles (facts section 1; _exchange_versions.PRODUCT_FACTS).
$setupLocations = @(
    @{ setup = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup'; roles = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15' },
    @{ setup = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\Setup'; roles = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14' },
    @{ setup = 'HKLM:\SOFTWARE\Microsoft\Exchange\Setup'; roles = 'HKLM:\SOFTWARE\Microsoft\Exchange\v8.0' }
)
$stateNames = @{
    Running = 'running'; Stopped = 'stopped'; StartPending = 'start_pending'; StopPending = 'stop_pending'
    Paused = 'paused'; PausePending = 'pause_pending'; ContinuePending = 'continue_pending'
}

Function Get-ExDrSetupInfo {
    <#
    .SYNOPSIS
    The first Exchange Setup key found: build, install path and role keys (values only, no interpretation).
    #>
    param ([object[]]$Location)

    foreach ($loc in $Location) {
        if (-not (Test-Path -LiteralPath $loc.setup)) {
            continue
        }
        $props = Get-ItemProperty -LiteralPath $loc.setup
        $parts = foreach ($name in 'MsiProductMajor', 'MsiProductMinor', 'MsiBuildMajor', 'MsiBuildMinor') {
            $props.$name
        }
        $build = $null
        if (@($parts | Where-Object { $null -ne $_ }).Count -eq 4) {
            $build = $parts -join '.'
        }
        $roleKeys = @(
            Get-ChildItem -LiteralPath $loc.roles -ErrorAction SilentlyContinue |
                Where-Object { $_.PSChildName -like '*Role' } |
                ForEach-Object {
                    $values = Get-ItemProperty -LiteralPath $_.PSPath
                    @{
                        name = $_.PSChildName
                        unpacked_version = $values.UnpackedVersion
                        configured_version = $values.ConfiguredVersion
                        action = $values.Action
                        watermark = $values.Watermark
                    }
                }
        )
        return @{
            installed = $true
            setup_key = $loc.setup
            build = $build
            install_path = $props.MsiInstallPath
            role_keys = $roleKeys
        }
    }
    return $null
}

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
    $setupInfo = Get-ExDrSetupInfo -Location $setupLocations
}
catch {
    $module.FailJson("Failed to read the Exchange Setup registry key: $($_.Exception.Message)", $_)
}
if ($setupInfo) {
    $module.Result.exchange = $setupInfo
}

$requested = @($module.Params.services | Where-Object { $_ })
$controllers = @{}  # case-insensitive by service name
$cim = @{}
try {
    foreach ($sc in [System.ServiceProcess.ServiceController]::GetServices()) {
        $controllers[$sc.ServiceName] = $sc
    }
    if ($requested.Count -gt 0) {
        $filter = (@($requested | ForEach-Object { "Name='{0}'" -f ($_.name -replace "'", "\'") }) -join ' OR ')
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
        if ($Instance.StartMode -eq 'Auto' -and $Instance.DelayedAutoStart) { return 'delayed' }
        return $Instance.StartMode.ToString().ToLowerInvariant()
    }
    switch ($Controller.StartType.ToString()) {
        'Automatic' { 'auto' }
        default { $_.ToLowerInvariant() }
    }
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
    $state = $stateNames[$sc.Status.ToString()]
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
            $entry.action = 'start_failed'
            $inner = $_.Exception.InnerException
            if ($inner -is [System.ComponentModel.Win32Exception]) {
                $entry.start_error = $inner.Message
                $entry.start_error_code = $inner.NativeErrorCode
            }
            else {
                $entry.start_error = $_.Exception.Message
            }
        }
        $sc.Refresh()
        $entry.state = $stateNames[$sc.Status.ToString()]
    }
    if ($started.Count -gt 0 -and $module.Params.settle_seconds -gt 0) {
        Start-Sleep -Seconds $module.Params.settle_seconds
        foreach ($name in $started) {
            $sc = $controllers[$name]
            $sc.Refresh()
            $entries[$name].state = $stateNames[$sc.Status.ToString()]
            if ($sc.Status -ne 'Running') {
                $entries[$name].stopped_again = $true
                $instance = Get-CimInstance -ClassName Win32_Service -Filter ("Name='{0}'" -f $name)
                if ($instance) { $entries[$name].win32_exit_code = [int]$instance.ExitCode }
            }
        }
    }
    $module.Result.started = $started.ToArray()
    $module.Result.changed = $started.Count -gt 0
}

$module.Result.services = @($entries.Values)
$module.ExitJson()
