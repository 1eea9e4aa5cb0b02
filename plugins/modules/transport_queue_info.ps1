#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Process
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeTransport

# The host half of transport_queue_info: the queue database of this transport server in one call - where
# EdgeTransport.exe.config puts it, its files, the folders' rights, the Transport service, its queues (Get-Queue, when
# the service runs) and its header (eseutil /mh, when it does not), the sets kept aside and a replay folder. Nothing is
# judged here: plugin_utils/_transport_queue.py does that on the controller.

$spec = @{
    options = @{
        queues = @{ type = 'bool'; default = $true }
        eseutil = @{ type = 'str'; default = 'stopped'; choices = 'stopped', 'never' }
        aside_root = @{ type = 'str' }
        replay_from = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; install_path = $null; roles = @(); edge = $false; shell = $null }
$module.Result.config = @{ path = $null; exists = $false; queue_database_path = $null; queue_database_logging_path = $null }
$module.Result.paths = @{ database = $null; logging = $null; aside_root = $null }
$module.Result.service = @{ exists = $false; state = $null; start_mode = $null }
$module.Result.files = @{ database = @(); logging = @() }
$module.Result.folders = @()
$module.Result.queues = $null
$module.Result.queue_error = $null
$module.Result.eseutil = @{ mh = $null }
$module.Result.events = @()
$module.Result.aside = @()
$module.Result.replay = @{ path = $null; exists = $false; files = @(); marker = $null; in_progress = $false; config_backup = $false; mh = $null }

$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to read the queue database of $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$edge = $state.roles -contains 'EdgeTransportRole'
$module.Result.exchange.version = $state.version
$module.Result.exchange.install_path = $state.install_path
$module.Result.exchange.roles = @($state.roles)
$module.Result.exchange.edge = $edge

$failure = $null
$running = $false
try {
    $config = Get-ExDrTransportConfig -InstallPath $state.install_path
    $module.Result.config = $config
    $default = Join-Path -Path $state.install_path -ChildPath 'TransportRoles\data\Queue'
    $databasePath = if ($config.queue_database_path) { $config.queue_database_path.TrimEnd('\') } else { $default }
    $loggingPath = if ($config.queue_database_logging_path) { $config.queue_database_logging_path.TrimEnd('\') } else { $default }
    $asideRoot = if ($module.Params.aside_root) { $module.Params.aside_root.TrimEnd('\') } else { Join-Path -Path $databasePath -ChildPath 'QueueAside' }
    $module.Result.paths = @{ database = $databasePath; logging = $loggingPath; aside_root = $asideRoot }
    $module.Result.service = Get-ExDrTransportService
    $module.Result.files = @{ database = Get-ExDrQueueFiles -Folder $databasePath; logging = Get-ExDrQueueFiles -Folder $loggingPath -Logging }
    $module.Result.folders = @(@($databasePath, $loggingPath) | Select-Object -Unique | ForEach-Object { Get-ExDrFolderAccess -Path $_ })
    $module.Result.events = Get-ExDrTransportEvents -Since (Get-Date).AddDays(-1)

    if (Test-Path -LiteralPath $asideRoot -PathType Container) {
        $module.Result.aside = @(Get-ChildItem -LiteralPath $asideRoot -Directory | Sort-Object -Property Name | ForEach-Object {
                @{ path = $_.FullName; name = $_.Name; files = @((Get-ExDrQueueFiles -Folder $_.FullName) + (Get-ExDrQueueFiles -Folder $_.FullName -Logging)) }
            })
    }

    $eseutilPath = Join-Path -Path $state.install_path -ChildPath 'Bin\eseutil.exe'
    $running = $module.Result.service.state -eq 'running' -or $module.Result.service.state -eq 'paused'
    $mail = Join-Path -Path $databasePath -ChildPath 'Mail.que'
    if (-not $running -and $module.Params.eseutil -eq 'stopped' -and (Test-Path -LiteralPath $mail -PathType Leaf) -and (Test-Path -LiteralPath $eseutilPath -PathType Leaf)) {
        $module.Result.eseutil.mh = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/mh', $mail)
    }

    # A replay folder: its files, the marker a finished replay leaves, and whether a replay of it is under way
    $replayFrom = $module.Params.replay_from
    if ($replayFrom) {
        $replayFrom = $replayFrom.TrimEnd('\')
        $replay = @{ path = $replayFrom; exists = $false; files = @(); marker = $null; in_progress = $false; config_backup = $false; mh = $null }
        $replay.config_backup = Test-Path -LiteralPath "$($config.path).before-replay" -PathType Leaf
        $replay.in_progress = $replay.config_backup -and ($databasePath -eq $replayFrom)
        if (Test-Path -LiteralPath $replayFrom -PathType Container) {
            $replay.files = @((Get-ExDrQueueFiles -Folder $replayFrom) + (Get-ExDrQueueFiles -Folder $replayFrom -Logging))
            $replay.exists = @($replay.files | Where-Object { $_.name -eq 'Mail.que' }).Count -gt 0
            $markerPath = Join-Path -Path $replayFrom -ChildPath 'exchange_dr.replayed'
            if (Test-Path -LiteralPath $markerPath -PathType Leaf) {
                $replay.marker = [System.IO.File]::ReadAllText($markerPath)
            }
            $replayMail = Join-Path -Path $replayFrom -ChildPath 'Mail.que'
            $replayOpen = $running -and $replay.in_progress
            if ($replay.exists -and -not $replayOpen -and $module.Params.eseutil -eq 'stopped' -and (Test-Path -LiteralPath $eseutilPath -PathType Leaf)) {
                $replay.mh = Invoke-ExDrEseutil -Path $eseutilPath -Arguments @('/mh', $replayMail)
            }
        }
        $module.Result.replay = $replay
    }
}
catch {
    $failure = $_
}
if ($null -ne $failure) {
    $module.FailJson("Failed to read the queue database of $($env:COMPUTERNAME): $($failure.Exception.Message)", $failure)
}

# The queues, from the running service through the Exchange Management Shell (the snap-in on an Edge)
if ($running -and $module.Params.queues) {
    $shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName @('Get-Queue') -Edge:$edge
    $module.Result.exchange.shell = $shell.method
    try {
        $module.Result.queues = Get-ExDrQueues -Shell $shell -Server $env:COMPUTERNAME
    }
    catch {
        $module.Result.queue_error = $_.Exception.Message
    }
    finally {
        Close-ExDrExchangeShell -Shell $shell
    }
}

$module.ExitJson()
