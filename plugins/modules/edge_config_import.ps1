#!powershell

# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._ExchangeState
#AnsibleRequires -PowerShell ..module_utils._ExchangeShell
#AnsibleRequires -PowerShell ..module_utils._ExchangeEdge

# The host half of edge_config_import, on a rebuilt Edge Transport server. The action plugin calls it per step:
#   _step=validate  ImportEdgeConfig.ps1 -IsImport $false on the data file it copied here: the answer file's text and the
#                   Edge's current connectors and accepted domains come back;
#   _step=import    the answer file the controller filled and checked is written next to the data file and
#                   ImportEdgeConfig.ps1 -IsImport $true imports;
#   _step=read      the current configuration (declared configuration, 2016 and later);
#   _step=apply     the changes the controller computed from the declared configuration, one cmdlet each.
# Parsing, checking and deciding happen on the controller (plugin_utils/_edge_config.py). docs/transport-and-edge.md.

$spec = @{
    options = @{
        src = @{ type = 'path' }
        answers = @{ type = 'dict' }
        answer_src = @{ type = 'path' }
        key = @{ type = 'str'; no_log = $true }
        definition = @{ type = 'dict' }
        method = @{ type = 'str'; default = 'auto'; choices = 'auto', 'cloned', 'declared' }
        _step = @{ type = 'str'; default = 'read'; choices = 'validate', 'import', 'read', 'apply' }
        _data_path = @{ type = 'str' }
        _answer = @{ type = 'str' }
        _changes = @{ type = 'list'; elements = 'dict' }
    }
    mutually_exclusive = @(, @('src', 'definition'))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec, @(Get-ExDrExchangeShellSpec))

$module.Result.changed = $false
$module.Result.server = $env:COMPUTERNAME
$module.Result.exchange = @{ version = $null; edge = $false; shell = $null }
$module.Result.step = $module.Params._step
$module.Result.script = $null
$module.Result.output = @()
$module.Result.answer = $null
$module.Result.current = @{ receive_connectors = @(); send_connectors = @(); accepted_domains = @(); subscribed = $false }
$module.Result.applied = @()

$step = $module.Params._step
$state = Get-ExDrExchangeState
if (-not $state.installed -or -not $state.version) {
    $module.FailJson("Failed to import the Edge configuration on $($env:COMPUTERNAME): Exchange Server is not installed on it")
}
$module.Result.exchange.version = $state.version
$module.Result.exchange.edge = $state.roles -contains 'EdgeTransportRole'
if (-not $module.Result.exchange.edge) {
    $module.FailJson("Failed to import the Edge configuration on $($env:COMPUTERNAME): it is not an Edge Transport server (roles: $($state.roles -join ', '))")
}
$script = Join-Path -Path $state.install_path -ChildPath 'Scripts\ImportEdgeConfig.ps1'
if ($step -eq 'validate' -or $step -eq 'import') {
    if (-not (Test-Path -LiteralPath $script -PathType Leaf)) {
        $module.FailJson("Failed to import the Edge configuration on $($env:COMPUTERNAME): $script does not exist (cloned configuration is Exchange 2007 to 2013); use definition (the declared configuration)")
    }
    if (-not $module.Params._data_path -or -not (Test-Path -LiteralPath $module.Params._data_path -PathType Leaf)) {
        $module.FailJson('The data file is copied to the Edge by the exchange_dr.recovery.edge_config_import action plugin; run the module through it')
    }
    $module.Result.script = $script
}
$answerPath = if ($module.Params._data_path) { Join-Path -Path (Split-Path -Path $module.Params._data_path -Parent) -ChildPath 'CloneConfigAnswer.xml' } else { $null }

$commands = @('Get-ReceiveConnector', 'Get-SendConnector', 'Get-AcceptedDomain', 'New-ReceiveConnector', 'Set-ReceiveConnector', 'New-SendConnector', 'New-AcceptedDomain')
$shell = Open-ExDrExchangeShell -Module $module -Version $state.version -CommandName $commands -Edge
$module.Result.exchange.shell = $shell.method
$failure = $null
try {
    if ($step -eq 'validate') {
        $scriptParams = @{ CloneConfigData = $module.Params._data_path; IsImport = $false; CloneConfigAnswer = $answerPath }
        $module.Result.output = Invoke-ExDrEdgeScript -Path $script -Parameters $scriptParams
        if (Test-Path -LiteralPath $answerPath -PathType Leaf) {
            $module.Result.answer = [System.IO.File]::ReadAllText($answerPath)
        }
    }
    elseif ($step -eq 'import') {
        $module.Result.changed = $true
        if (-not $module.CheckMode) {
            [System.IO.File]::WriteAllText($answerPath, $module.Params._answer)
            $scriptParams = @{ CloneConfigData = $module.Params._data_path; IsImport = $true; CloneConfigAnswer = $answerPath }
            if ($module.Params.key) {
                $scriptParams.Key = $module.Params.key
            }
            $module.Result.output = Invoke-ExDrEdgeScript -Path $script -Parameters $scriptParams
        }
    }
    elseif ($step -eq 'apply') {
        foreach ($change in @($module.Params._changes)) {
            $module.Result.changed = $true
            $cmdlet = $null
            $cmdletParams = @{}
            switch ($change.action) {
                'new_receive_connector' {
                    $cmdlet = 'New-ReceiveConnector'
                    $cmdletParams = @{ Name = $change.name; Bindings = @($change.bindings) }
                    if ($change.usage -eq 'Internet') {
                        $cmdletParams.Internet = $true
                    }
                    else {
                        $cmdletParams.Custom = $true
                        $cmdletParams.RemoteIPRanges = @($change.remote_ip_ranges)
                    }
                    if ($change.fqdn) {
                        $cmdletParams.Fqdn = $change.fqdn
                    }
                }
                'set_receive_connector' {
                    $cmdlet = 'Set-ReceiveConnector'
                    $cmdletParams = @{ Identity = $change.name }
                    foreach ($pair in @(@('bindings', 'Bindings'), @('remote_ip_ranges', 'RemoteIPRanges'), @('fqdn', 'Fqdn'))) {
                        if ($change.ContainsKey($pair[0])) {
                            $cmdletParams[$pair[1]] = $change[$pair[0]]
                        }
                    }
                }
                'new_send_connector' {
                    $cmdlet = 'New-SendConnector'
                    $cmdletParams = @{ Name = $change.name; AddressSpaces = @($change.address_spaces) }
                    if ($change.ContainsKey('smart_hosts') -and @($change.smart_hosts).Count -gt 0) {
                        $cmdletParams.SmartHosts = @($change.smart_hosts)
                        $cmdletParams.DNSRoutingEnabled = $false
                    }
                    if ($change.ContainsKey('source_ip') -and $change.source_ip) {
                        $cmdletParams.SourceIPAddress = $change.source_ip
                    }
                }
                'new_accepted_domain' {
                    $cmdlet = 'New-AcceptedDomain'
                    $cmdletParams = @{ Name = $change.name; DomainName = $change.domain_name }
                    if ($change.ContainsKey('domain_type') -and $change.domain_type) {
                        $cmdletParams.DomainType = $change.domain_type
                    }
                }
                default {
                    throw "unknown change $($change.action) (set by the action plugin)"
                }
            }
            if (-not $module.CheckMode) {
                Invoke-ExDrExchangeCmdlet -Shell $shell -Name $cmdlet -Parameters $cmdletParams -NoDomainController | Out-Null
            }
            $module.Result.applied += "$cmdlet $($change.name)"
        }
    }
    $module.Result.current = Get-ExDrEdgeConfiguration -Shell $shell
}
catch {
    $failure = $_
}
finally {
    Close-ExDrExchangeShell -Shell $shell
}
if ($null -ne $failure) {
    $module.FailJson("Failed to import the Edge configuration on $($env:COMPUTERNAME) ($step): $($failure.Exception.Message)", $failure)
}

$module.ExitJson()
