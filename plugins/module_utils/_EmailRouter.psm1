# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# For internal collection use only.
# Shared by the email_router and email_router_config modules: their common options and how an installed Email Router is found.

#AnsibleRequires -PowerShell ..module_utils._Windows

Function Get-ExDrEmailRouterSpec {
    <#
    .SYNOPSIS
    Options every Email Router module shares (documented in the exchange_dr.recovery.email_router doc fragment).
    #>
    @{
        options = @{
            service_name = @{ type = 'str'; default = 'MSCRMEmail' }
            registry_path = @{ type = 'str'; default = 'HKLM:\SOFTWARE\Microsoft\MSCRM Email' }
            registry_value = @{ type = 'str'; default = 'InstallDir' }
        }
    }
}

Function Get-ExDrServiceImage {
    <#
    .SYNOPSIS
    The executable of a service's PathName ("C:\x\y.exe" -arg or C:\x\y.exe -arg).
    #>
    param ([string]$PathName)

    if (-not $PathName) {
        return $null
    }
    if ($PathName.StartsWith('"')) {
        $end = $PathName.IndexOf('"', 1)
        if ($end -lt 0) {
            return $PathName.Substring(1)
        }
        return $PathName.Substring(1, $end - 1)
    }
    $exe = $PathName.IndexOf('.exe', [StringComparison]::OrdinalIgnoreCase)
    if ($exe -ge 0) {
        return $PathName.Substring(0, $exe + 4)
    }
    return $PathName.Split(' ')[0]
}

Function Get-ExDrEmailRouter {
    <#
    .SYNOPSIS
    What is installed of the Email Router: service, install folder, Service folder, version and product registration.
    .PARAMETER ProductName
    A -like pattern for the DisplayName of the Uninstall entry.
    #>
    param (
        [string]$ServiceName,
        [string]$RegistryKey,
        [string]$RegistryValue,
        [string]$ProductName = '*E-mail Router*'
    )

    $info = @{
        service = $null
        install_folder = $null
        service_folder = $null
        version = $null
        product = $null
    }
    $filter = 'Name={0}' -f (ConvertTo-ExDrWqlString -Value $ServiceName)
    $svc = Get-CimInstance -ClassName Win32_Service -Filter $filter -ErrorAction SilentlyContinue
    if ($svc) {
        $info.service = @{
            name = $svc.Name
            display_name = $svc.DisplayName
            state = ConvertTo-ExDrServiceState -State $svc.State
            start_mode = Get-ExDrServiceStartMode -Instance $svc
            account = $svc.StartName
            path = $svc.PathName
        }
        $image = Get-ExDrServiceImage -PathName $svc.PathName
        if ($image) {
            $info.service_folder = [IO.Path]::GetDirectoryName($image)
            if (Test-Path -LiteralPath $image) {
                $info.version = (Get-Item -LiteralPath $image).VersionInfo.FileVersion
            }
        }
    }
    $key = Get-ItemProperty -LiteralPath $RegistryKey -ErrorAction SilentlyContinue
    $installDir = Get-ExDrProperty -InputObject $key -Name $RegistryValue
    if ($installDir) {
        $info.install_folder = ([string]$installDir).TrimEnd('\')
        if (-not $info.service_folder) {
            $info.service_folder = Join-Path -Path $info.install_folder -ChildPath 'Service'
        }
    }
    elseif ($info.service_folder) {
        $info.install_folder = [IO.Path]::GetDirectoryName($info.service_folder)
    }
    $uninstallRoots = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    foreach ($root in $uninstallRoots) {
        foreach ($entry in @(Get-ChildItem -LiteralPath $root -ErrorAction SilentlyContinue)) {
            # most entries lack some of these values; one that vanished since the listing is skipped
            $values = Get-ItemProperty -LiteralPath $entry.PSPath -ErrorAction SilentlyContinue
            $name = Get-ExDrProperty -InputObject $values -Name 'DisplayName'
            if ($name -and $name -like $ProductName) {
                $info.product = @{
                    code = $entry.PSChildName
                    name = $name
                    version = Get-ExDrProperty -InputObject $values -Name 'DisplayVersion'
                    uninstall_string = Get-ExDrProperty -InputObject $values -Name 'UninstallString'
                    quiet_uninstall_string = Get-ExDrProperty -InputObject $values -Name 'QuietUninstallString'
                    windows_installer = 1 -eq (Get-ExDrProperty -InputObject $values -Name 'WindowsInstaller')
                }
                break
            }
        }
        if ($info.product) {
            break
        }
    }
    if (-not $info.version -and $info.product) {
        $info.version = $info.product.version
    }
    $info
}

$exportMembers = @{
    Function = 'Get-ExDrEmailRouterSpec', 'Get-ExDrServiceImage', 'Get-ExDrEmailRouter'
}
Export-ModuleMember @exportMembers
