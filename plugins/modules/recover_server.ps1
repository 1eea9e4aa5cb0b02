#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._Reboot

# The host half of recover_server: run Exchange Setup with the switches the action plugin built (plugin_utils/_exchange_setup.py),
# wait for it, and return what the controller judges the run by: the exit code, the last run's key lines of
# ExchangeSetup.log and the Exchange registry state afterwards. The action plugin runs this module as an async job, then
# calls it again with _job to wait on the host for that job to end (one call instead of a poll every few seconds).

$spec = @{
    options = @{
        setup_path = @{ type = 'str'; required = $true }
        server_name = @{ type = 'str' }
        target_dir = @{ type = 'str' }
        domain_controller = @{ type = 'str' }
        updates_dir = @{ type = 'str' }
        do_not_start_transport = @{ type = 'bool'; default = $false }
        restore_transport_startup = @{ type = 'bool'; default = $false }
        diagnostic_data = @{ type = 'bool'; default = $false }
        arguments = @{ type = 'list'; elements = 'str' }
        timeout = @{ type = 'int'; default = 7200 }
        poll_interval = @{ type = 'int'; default = 15 }
        # stays on the controller: the action plugin judges the preflight from it and never sends it
        exchange_info = @{ type = 'dict' }
        _job = @{
            type = 'dict'
            options = @{
                id = @{ type = 'str'; required = $true }
                async_dir = @{ type = 'path'; required = $true }
                wait = @{ type = 'int'; default = 0 }
            }
        }
    }
    supports_check_mode = $true
}

Function Read-ExDrAsyncJob {
    <#
    .SYNOPSIS
    The state of an async job from its results file: @{ finished; result }.
    .DESCRIPTION
    async_wrapper.ps1 writes {"started":true,"finished":false,...} when the job starts and async_watchdog.ps1 rewrites the
    file with Set-Content when it ends (ansible-core lib/ansible/executor/powershell/). The file is opened sharing read,
    write and delete, so the watchdog's write never fails because of this read; a file caught empty or half-written is a
    job still running.
    #>
    param([Parameter(Mandatory = $true)][string]$Path)

    $text = ''
    try {
        $share = [System.IO.FileShare]::ReadWrite -bor [System.IO.FileShare]::Delete
        $stream = [System.IO.File]::Open($Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, $share)
        try {
            $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $stream, $true
            $text = $reader.ReadToEnd()
        }
        finally {
            $stream.Dispose()
        }
    }
    catch {
        $text = ''  # being rewritten at this moment (or just removed: the caller looks for the file again)
    }
    if (-not $text.Trim()) {
        return @{ finished = $false; result = $null }
    }
    try {
        $job = [Ansible.Basic.AnsibleModule]::FromJson($text)
    }
    catch {
        return @{ finished = $false; result = $null }
    }
    # as async_status.ps1: a result without 'started' is a module's own output, so the job has finished
    $finished = (-not $job.ContainsKey('started')) -or ($job.ContainsKey('finished') -and [bool]$job['finished'])
    if (-not $finished) {
        return @{ finished = $false; result = $null }
    }
    return @{ finished = $true; result = $job }
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrRebootSpec))

$module.Result.changed = $false
$module.Result.computer_name = $env:COMPUTERNAME
$module.Result.command_line = $null
$module.Result.rc = $null
$module.Result.elapsed = 0
$module.Result.stdout_lines = @()
$module.Result.setup_log = @{ path = $null; exists = $false; lines = @() }
$module.Result.exchange = @{}

if ($null -ne $module.Params._job) {
    # Wait on the host for the Setup job the action plugin started: look at its results file every poll_interval seconds
    # until it has finished or _job.wait seconds have passed. Setup keeps running if this call is cut off.
    $job = $module.Params._job
    $jobPath = [System.IO.Path]::Combine($job.async_dir, $job.id)
    $interval = [Math]::Max(1, $module.Params.poll_interval)
    $deadline = [DateTime]::UtcNow.AddSeconds([Math]::Max(0, $job.wait))
    while ($true) {
        if (-not (Test-Path -LiteralPath $jobPath -PathType Leaf)) {
            $module.FailJson("Failed to find the Exchange Setup job $($job.id) in $($job.async_dir)")
        }
        $state = Read-ExDrAsyncJob -Path $jobPath
        $left = ($deadline - [DateTime]::UtcNow).TotalSeconds
        if ($state.finished -or $left -le 0) {
            break
        }
        Start-Sleep -Milliseconds ([int](1000 * [Math]::Min($interval, $left)))
    }
    $module.Result._job = @{ id = $job.id; finished = $state.finished; result = $state.result }
    $module.ExitJson()
}

$setupPath = $module.Params.setup_path
if ($null -eq $module.Params.arguments) {
    $module.FailJson("The Setup switches are built by the exchange_dr.recovery.recover_server action plugin; none were given")
}
$module.Result.command_line = ('"{0}" {1}' -f $setupPath, ($module.Params.arguments -join ' ')).TrimEnd()

if (-not (Test-Path -LiteralPath $setupPath -PathType Leaf)) {
    $module.FailJson("Failed to find Exchange Setup at $setupPath")
}

if (-not $module.CheckMode) {
    $started = [DateTime]::UtcNow
    try {
        $process = [Ansible.Process.ProcessUtil]::CreateProcess($null, $module.Result.command_line, (Split-Path -Path $setupPath -Parent), $null)
    }
    catch {
        $module.FailJson("Failed to start Exchange Setup $($setupPath): $($_.Exception.Message)", $_)
    }
    $module.Result.elapsed = [int]([DateTime]::UtcNow - $started).TotalSeconds
    $module.Result.rc = $process.ExitCode
    $module.Result.stdout_lines = @($process.StandardOut -split '\r?\n' | Where-Object { $_ } | Select-Object -Last 40)
}
$module.Result.changed = $true

$module.Result.setup_log = Get-ExDrSetupLogSummary
$module.Result.exchange = Get-ExDrExchangeState

$module.ExitJson()
