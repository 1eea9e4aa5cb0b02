# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# An Edge Transport server's own configuration (its AD LDS, through the Exchange Management Shell's snap-in) and its
# cloned-configuration scripts (ExportEdgeConfig.ps1, ImportEdgeConfig.ps1 in %ExchangeInstallPath%Scripts). Only reading and
# running: the controller parses and judges (plugin_utils/_edge_config.py). Facts and sources: docs/transport-and-edge.md.

#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

Set-StrictMode -Version 2.0

Function ConvertTo-ExDrStringList {
    <#
    .SYNOPSIS
    A multi-valued property (bindings, address spaces, IP ranges...) as strings; $null or empty is an empty list.
    #>
    param ($Value)
    if ($null -eq $Value) {
        return , @()
    }
    return , @(@($Value) | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
}

Function Get-ExDrEdgeConfiguration {
    <#
    .SYNOPSIS
    The Edge's Receive connectors, Send connectors and accepted domains: @{ receive_connectors; send_connectors;
    accepted_domains; subscribed }. `subscribed`: EdgeSync has replicated its Send connectors, which an Edge Subscription
    names "EdgeSync - <site> to Internet" and "EdgeSync - Inbound to <site>" (ODX edge-subscriptions.md).
    #>
    param ([Parameter(Mandatory = $true)] [hashtable]$Shell)
    $receive = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-ReceiveConnector' -NoDomainController | ForEach-Object {
            @{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')
                bindings = ConvertTo-ExDrStringList -Value (Get-ExDrProperty -InputObject $_ -Name 'Bindings')
                remote_ip_ranges = ConvertTo-ExDrStringList -Value (Get-ExDrProperty -InputObject $_ -Name 'RemoteIPRanges')
                fqdn = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Fqdn')
            }
        })
    $send = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-SendConnector' -NoDomainController | ForEach-Object {
            @{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')
                address_spaces = ConvertTo-ExDrStringList -Value (Get-ExDrProperty -InputObject $_ -Name 'AddressSpaces')
                smart_hosts = ConvertTo-ExDrStringList -Value (Get-ExDrProperty -InputObject $_ -Name 'SmartHosts')
                dns_routing = Get-ExDrProperty -InputObject $_ -Name 'DNSRoutingEnabled'
                source_ip = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'SourceIPAddress')
            }
        })
    $accepted = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-AcceptedDomain' -NoDomainController | ForEach-Object {
            @{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'Name')
                domain_name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'DomainName')
                domain_type = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $_ -Name 'DomainType')
            }
        })
    return @{
        receive_connectors = $receive
        send_connectors = $send
        accepted_domains = $accepted
        subscribed = @($send | Where-Object { $_.name -like 'EdgeSync - *' }).Count -gt 0
    }
}

Function Invoke-ExDrEdgeScript {
    <#
    .SYNOPSIS
    Runs a cloned-configuration script in this (Exchange Management Shell) session and returns what it printed, one string
    per line. The scripts write with Write-Host and end with a bare `exit`, so the text is the only result.
    #>
    param ([Parameter(Mandatory = $true)] [string]$Path, [Parameter(Mandatory = $true)] [hashtable]$Parameters)
    $output = & $Path @Parameters *>&1 | ForEach-Object { [string]$_ }
    return , @(@($output) -split '\r?\n' | Where-Object { $_ -ne '' })
}

$exportMembers = @{
    Function = 'ConvertTo-ExDrStringList', 'Get-ExDrEdgeConfiguration', 'Invoke-ExDrEdgeScript'
}
Export-ModuleMember @exportMembers
