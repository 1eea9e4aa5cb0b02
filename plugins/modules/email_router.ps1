#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell Ansible.ModuleUtils.ArgvParser
#AnsibleRequires -PowerShell Ansible.ModuleUtils.CommandUtil
#AnsibleRequires -PowerShell ..module_utils._EmailRouter
#AnsibleRequires -PowerShell ..module_utils._Windows

# The Windows half of email_router: detect the Email Router, run its setup (or uninstall command), set the service account.
# The setup configuration content is rendered and checked by the action plugin (plugins/action/email_router.py).

$spec = @{
    options = @{
        state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent', 'reinstalled' }
        path = @{ type = 'str' }
        install_dir = @{ type = 'str'; default = 'C:\Program Files\Microsoft CRM Email' }
        install_config = @{ type = 'str' }
        arguments = @{ type = 'list'; elements = 'str'; default = @('/Q') }
        log_path = @{ type = 'str'; default = 'C:\Windows\Temp\SetupEmailRouter.log' }
        product_name = @{ type = 'str'; default = '*E-mail Router*' }
        service_account = @{ type = 'str' }
        service_password = @{ type = 'str'; no_log = $true }
    }
    required_if = @(
        , @('state', 'present', @('path'))
        , @('state', 'reinstalled', @('path'))
    )
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrEmailRouterSpec))

$module.Result.changed = $false
$module.Result.installed = $false
$module.Result.install_folder = $null
$module.Result.service_folder = $null
$module.Result.version = $null
$module.Result.product_code = $null
$module.Result.service_name = $module.Params.service_name
$module.Result.service_state = $null
$module.Result.service_account = $null
$module.Result.rc = 0
$module.Result.reboot_required = $false
$module.Result.before = @{ installed = $false; version = $null; service_account = $null }
$module.Result.log_tail = @()

$state = $module.Params.state
$routerArgs = @{
    ServiceName = $module.Params.service_name
    RegistryKey = $module.Params.registry_path
    RegistryValue = $module.Params.registry_value
    ProductName = $module.Params.product_name
}

Function Test-ExDrComplete {
    param ($Info)
    $Info.product -and $Info.service -and $Info.service_folder -and
    (Test-Path -LiteralPath (Join-Path -Path $Info.service_folder -ChildPath 'Microsoft.Crm.Tools.EmailAgent.exe'))
}

Function Get-ExDrLogTail {
    param ([string]$Path)
    if (Test-Path -LiteralPath $Path) {
        @(Get-Content -LiteralPath $Path -Tail 20)
    }
    else {
        @()
    }
}

Function Set-ExDrExitCode {
    <#
    .SYNOPSIS
    Record an installer's exit code. 3010 is success with a restart to come: ansible-core fails any result whose rc is not
    0 unless it carries failed (TaskExecutor), so say it, as ansible.windows win_package does.
    #>
    param ([int]$Rc)
    $module.Result.rc = $Rc
    if ($Rc -eq 3010) {
        $module.Result.reboot_required = $true
        $module.Result.failed = $false
    }
}

Function Get-ExDrUninstallCommand {
    <#
    .SYNOPSIS
    The command that removes the product silently: its QuietUninstallString; for a Windows Installer product msiexec /x with
    the product code (its UninstallString is usually MsiExec.exe /I{code}, a maintenance run that removes nothing); else its
    UninstallString with the Email Router setup's quiet switch.
    #>
    param ($Product)
    if ($Product.quiet_uninstall_string) {
        return $Product.quiet_uninstall_string
    }
    $uninstall = [string]$Product.uninstall_string
    if ($Product.windows_installer -or $uninstall -match '(^|[\\"\s])msiexec(\.exe)?"?\s') {
        # the Uninstall key of a Windows Installer product is named after its ProductCode
        $code = $Product.code
        if ($code -notmatch '^\{[0-9A-Fa-f-]{36}\}$' -and $uninstall -match '\{[0-9A-Fa-f-]{36}\}') {
            $code = $Matches[0]
        }
        return Argv-ToString -arguments @((Join-Path -Path $env:SystemRoot -ChildPath 'System32\msiexec.exe'), '/x', $code, '/qn', '/norestart')
    }
    "$uninstall /Q"
}

Function Invoke-ExDrUninstall {
    param ($Info)
    $command = Get-ExDrUninstallCommand -Product $Info.product
    try {
        $run = Run-Command -command $command
    }
    catch {
        $module.FailJson("Failed to remove the Email Router ($($Info.product.name)): '$command' could not be started: $($_.Exception.Message)", $_)
    }
    Set-ExDrExitCode -Rc $run.rc
    if ($run.rc -notin @(0, 3010)) {
        $module.FailJson("Failed to remove the Email Router ($($Info.product.name)): '$command' returned $($run.rc): $($run.stderr)")
    }
}

Function Assert-ExDrSetup {
    <#
    .SYNOPSIS
    Fail before anything changes when setup cannot run.
    #>
    if (-not (Test-Path -LiteralPath $module.Params.path -PathType Leaf)) {
        $module.FailJson("Failed to install the Email Router: the setup program '$($module.Params.path)' cannot be found (or this session cannot reach it: the second hop)")
    }
    if (-not $module.Params.install_config) {
        $module.FailJson('Failed to install the Email Router: install_config is empty (the action plugin renders it; run the module through it)')
    }
}

Function Invoke-ExDrSetup {
    param ([bool]$Again)
    $configFile = Join-Path -Path $module.Tmpdir -ChildPath 'EmailRouterSetup.xml'
    [IO.File]::WriteAllText($configFile, $module.Params.install_config, (New-Object -TypeName Text.UTF8Encoding -ArgumentList $false))
    $argv = @($module.Params.path) + @($module.Params.arguments) + @('/L', $module.Params.log_path, '/config', $configFile)
    if ($Again) {
        $argv += '/InstallAlways'
    }
    $command = Argv-ToString -arguments $argv
    try {
        $run = Run-Command -command $command
    }
    catch {
        $module.FailJson("Failed to install the Email Router: '$command' could not be started: $($_.Exception.Message)", $_)
    }
    Set-ExDrExitCode -Rc $run.rc
    if ($run.rc -notin @(0, 3010)) {
        $module.Result.log_tail = Get-ExDrLogTail -Path $module.Params.log_path
        $module.FailJson("Failed to install the Email Router: '$command' returned $($run.rc): $($run.stderr)")
    }
}

Function Get-ExDrSid {
    param ([string]$Account)
    if ($Account -in @('LocalSystem', '.\LocalSystem', 'NT AUTHORITY\SYSTEM', 'SYSTEM')) {
        return 'S-1-5-18'
    }
    try {
        ([Security.Principal.NTAccount]$Account).Translate([Security.Principal.SecurityIdentifier]).Value
    }
    catch {
        $module.FailJson("Failed to find the account '$Account': $($_.Exception.Message)", $_)
    }
}

$info = Get-ExDrEmailRouter @routerArgs
$complete = Test-ExDrComplete -Info $info
# as found, for the controller's --diff
$module.Result.before.installed = [bool]$complete
$module.Result.before.version = $info.version
if ($info.service) {
    $module.Result.before.service_account = $info.service.account
}

if ($state -eq 'absent') {
    if ($info.product -or $info.service) {
        $module.Result.changed = $true
        if (-not $module.CheckMode) {
            if (-not $info.product) {
                $module.FailJson("Failed to remove the Email Router: the service '$($module.Params.service_name)' exists but no product matches '$($module.Params.product_name)'")
            }
            Invoke-ExDrUninstall -Info $info
        }
    }
}
elseif ($state -eq 'reinstalled' -or -not $complete) {
    Assert-ExDrSetup
    $module.Result.changed = $true
    if (-not $module.CheckMode) {
        $again = $false
        if ($state -eq 'reinstalled' -and $info.product) {
            Invoke-ExDrUninstall -Info $info
        }
        elseif ($info.product) {
            $again = $true
        }
        Invoke-ExDrSetup -Again $again
    }
}

if (-not $module.CheckMode) {
    $info = Get-ExDrEmailRouter @routerArgs
}
$account = $module.Params.service_account
if ($state -ne 'absent' -and $account -and $info.service) {
    if ((Get-ExDrSid -Account $account) -ne (Get-ExDrSid -Account $info.service.account)) {
        $module.Result.changed = $true
        if (-not $module.CheckMode) {
            $startName = $account
            if ((Get-ExDrSid -Account $account) -eq 'S-1-5-18') {
                $startName = 'LocalSystem'
            }
            # an account without a password (LocalSystem, NetworkService, a gMSA) takes "", never NULL (Win32_Service.Change)
            $password = $module.Params.service_password
            if ($null -eq $password) {
                $password = ''
            }
            try {
                $svc = Get-CimInstance -ClassName Win32_Service -Filter ('Name={0}' -f (ConvertTo-ExDrWqlString -Value $info.service.name))
                $change = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments @{
                    StartName = $startName
                    StartPassword = $password
                }
            }
            catch {
                $module.FailJson("Failed to set the account of the service '$($info.service.name)' to '$account': $($_.Exception.Message)", $_)
            }
            if ($change.ReturnValue -ne 0) {
                $module.FailJson("Failed to set the account of the service '$($info.service.name)' to '$account': Win32_Service.Change returned $($change.ReturnValue)")
            }
            if ($info.service.state -eq 'running') {
                try {
                    Restart-Service -Name ([WildcardPattern]::Escape($info.service.name)) -Force -ErrorAction Stop
                }
                catch {
                    $module.FailJson("Failed to restart the service '$($info.service.name)' as '$account': $($_.Exception.Message)", $_)
                }
            }
            $info = Get-ExDrEmailRouter @routerArgs
        }
        else {
            $info.service.account = $account
        }
    }
}

$module.Result.installed = [bool](Test-ExDrComplete -Info $info)
$module.Result.install_folder = $info.install_folder
$module.Result.service_folder = $info.service_folder
$module.Result.version = $info.version
if ($info.product) {
    $module.Result.product_code = $info.product.code
}
if ($info.service) {
    $module.Result.service_state = $info.service.state
    $module.Result.service_account = $info.service.account
}
$module.ExitJson()
