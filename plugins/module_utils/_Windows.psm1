# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# How every module of the collection reads Windows the same way on Windows PowerShell 5.1 (Server 2012 R2 to 2025): properties
# an object may lack, WQL and LDAP literals, service states and start modes, exceptions PowerShell wraps. docs/powershell.md
# gives the sources; the simulator's twins mirror each function (tests/simulator/twins/exchange_dr/_windows.py).

Set-StrictMode -Version 2.0

Function Get-ExDrProperty {
    <#
    .SYNOPSIS
    The value of a property the object may not have (a registry value Get-ItemProperty did not find, a CIM property older
    Windows does not define), or $null. Reading a missing property directly returns $null without strict mode and throws
    with it; this never throws.
    #>
    param ([object]$InputObject, [string]$Name)

    if ($null -eq $InputObject) {
        return $null
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) {
        return $null
    }
    , $property.Value
}

Function ConvertTo-ExDrWqlString {
    <#
    .SYNOPSIS
    A WQL string literal: backslash and single quote are escaped with a backslash (WMI's WHERE clause rules; doubling a quote
    is SQL, not WQL, and makes the query invalid).
    #>
    param ([string]$Value)

    "'{0}'" -f $Value.Replace('\', '\\').Replace("'", "\'")
}

Function ConvertTo-ExDrLdapFilterValue {
    <#
    .SYNOPSIS
    A value for an LDAP search filter with the RFC 4515 escapes (\ * ( ) and NUL), so a name matches only itself.
    #>
    param ([string]$Value)

    $Value.Replace('\', '\5c').Replace('*', '\2a').Replace('(', '\28').Replace(')', '\29').Replace("`0", '\00')
}

# Win32_Service.State ('Start Pending') and ServiceControllerStatus ('StartPending') both name a state; every module reports
# it with one name (the controller's table, plugin_utils/_exchange_services.py SERVICE_STATE_NAMES).
$script:ServiceStateNames = @{
    Stopped = 'stopped'
    StartPending = 'start_pending'
    StopPending = 'stop_pending'
    Running = 'running'
    ContinuePending = 'continue_pending'
    PausePending = 'pause_pending'
    Paused = 'paused'
}

Function ConvertTo-ExDrServiceState {
    <#
    .SYNOPSIS
    The collection's name of a service state, from Win32_Service.State or a ServiceControllerStatus; 'unknown' otherwise.
    #>
    param ([object]$State)

    $key = ([string]$State).Replace(' ', '')
    if ($key -and $script:ServiceStateNames.ContainsKey($key)) {
        return $script:ServiceStateNames[$key]
    }
    'unknown'
}

Function Get-ExDrServiceStartMode {
    <#
    .SYNOPSIS
    A Win32_Service instance's start mode in lower case (auto, manual, disabled, boot, system), 'delayed' for a delayed
    automatic start. Win32_Service.DelayedAutoStart exists from Windows Server 2016 on; on 2012 R2 the SCM's
    DelayedAutostart value under the service's registry key says it.
    #>
    param ([object]$Instance)

    $mode = ([string](Get-ExDrProperty -InputObject $Instance -Name 'StartMode')).ToLowerInvariant()
    if ($mode -ne 'auto') {
        return $mode
    }
    $delayed = Get-ExDrProperty -InputObject $Instance -Name 'DelayedAutoStart'
    if ($null -eq $delayed) {
        $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\{0}' -f (Get-ExDrProperty -InputObject $Instance -Name 'Name')
        $values = Get-ItemProperty -LiteralPath $key -Name 'DelayedAutostart' -ErrorAction SilentlyContinue
        $delayed = 1 -eq (Get-ExDrProperty -InputObject $values -Name 'DelayedAutostart')
    }
    if ($delayed) {
        return 'delayed'
    }
    'auto'
}

Function Get-ExDrInnerException {
    <#
    .SYNOPSIS
    The first exception of the given type in an exception's InnerException chain (the exception itself included), or $null.
    A .NET method called from PowerShell throws a MethodInvocationException around what the method threw, and
    ServiceController.Start() throws an InvalidOperationException around the Win32Exception: the code is two levels down.
    #>
    param ([Exception]$Exception, [Type]$Type)

    for ($current = $Exception; $null -ne $current; $current = $current.InnerException) {
        if ($current -is $Type) {
            return $current
        }
    }
    $null
}

$exportMembers = @{
    Function = 'Get-ExDrProperty', 'ConvertTo-ExDrWqlString', 'ConvertTo-ExDrLdapFilterValue', 'ConvertTo-ExDrServiceState',
    'Get-ExDrServiceStartMode', 'Get-ExDrInnerException'
}
Export-ModuleMember @exportMembers
