# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY
# The host half of the DR kit (docs/dr-kit.md): one read of everything a kit records, and the runner of re-apply steps.
# What to read (cmdlets, properties, files) and every step come from the controller as data (plugin_utils/_dr_kit.py,
# _dr_kit_plan.py); nothing here decides. Requires _ExchangeShell.psm1 (the shell, Get-ExDrProperty). The twin of this file
# is tests/simulator/twins/exchange_dr/_dr_kit.py.

#AnsibleRequires -PowerShell ..module_utils._ExchangeShell

Set-StrictMode -Version 2.0

Function ConvertTo-ExDrKitValue {
    <#
    .SYNOPSIS
    A property value as JSON can carry it: booleans and integers as they are, dates in UTC (ISO 8601), collections
    (MultiValuedProperty, arrays, their deserialized forms) as arrays of text, everything else (Uri, enums, sizes, time
    spans, ADObjectId) as its text.
    #>
    param ($Value)
    if ($null -eq $Value) {
        return $null
    }
    if ($Value -is [bool] -or $Value -is [int] -or $Value -is [long]) {
        return $Value
    }
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    }
    if ($Value -is [string]) {
        return $Value
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        return , @($Value | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
    }
    return [string]$Value
}

Function Get-ExDrKitProperties {
    <#
    .SYNOPSIS
    The named properties of an Exchange object as a hashtable (a property the release or a deserialized object lacks is
    $null).
    #>
    param ($InputObject, [string[]]$Names)
    $out = @{}
    foreach ($name in $Names) {
        $out[$name] = ConvertTo-ExDrKitValue -Value (Get-ExDrProperty -InputObject $InputObject -Name $name)
    }
    return $out
}

Function Get-ExDrKitPairs {
    <#
    .SYNOPSIS
    ActivationPreference, ReplayLagTimes, TruncationLagTimes: server/value pairs - KeyValuePair objects from the snap-in,
    their text '[EX01, 1]' from a remote session. Returned as @{ key; value } or the text; the controller parses both.
    #>
    param ($Value)
    $out = [System.Collections.Generic.List[object]]@()
    foreach ($item in @($Value | Where-Object { $null -ne $_ })) {
        $key = Get-ExDrProperty -InputObject $item -Name 'Key'
        if ($null -ne $key) {
            $out.Add(@{ key = [string]$key; value = [string](Get-ExDrProperty -InputObject $item -Name 'Value') })
        }
        else {
            $out.Add([string]$item)
        }
    }
    return , $out.ToArray()
}

Function Test-ExDrKitVersion {
    <#
    .SYNOPSIS
    Whether the installed build is at least a release of the controller's table (min_version such as 15.0).
    #>
    param ([string]$Version, [string]$MinVersion)
    return ([version]$Version -ge [version]$MinVersion)
}

Function Get-ExDrKitTransportCmdlet {
    param ([hashtable]$Tables, [string]$Version)
    foreach ($entry in @($Tables.transport)) {
        if (Test-ExDrKitVersion -Version $Version -MinVersion $entry.min_version) {
            return [string]$entry.cmdlet
        }
    }
    return $null
}

Function Get-ExDrKitCommandNames {
    <#
    .SYNOPSIS
    The cmdlets a read needs for this release (imported into the remote session).
    #>
    param ([hashtable]$Tables, [string]$Version, [switch]$Export)
    $names = [System.Collections.Generic.List[string]]@('Get-ReceiveConnector', 'Get-ExchangeCertificate', 'Get-MailboxServer', 'Get-DatabaseAvailabilityGroup', 'Get-MailboxDatabase')
    foreach ($entry in @($Tables.virtual_directories)) {
        if (Test-ExDrKitVersion -Version $Version -MinVersion $entry.min_version) {
            $names.Add([string]$entry.cmdlet)
        }
    }
    $transport = Get-ExDrKitTransportCmdlet -Tables $Tables -Version $Version
    if ($transport) {
        $names.Add($transport)
    }
    if ($Export) {
        $names.Add('Export-ExchangeCertificate')
    }
    return , $names.ToArray()
}

Function Read-ExDrKitServer {
    <#
    .SYNOPSIS
    Everything a kit records about this server, in one pass over the open shell: virtual directories, receive connectors,
    transport settings, certificates (exported with their private key when a password is given), DAG membership and the
    copies of its databases, the .config files (with their content when asked) and whether named services exist.
    #>
    param (
        [Parameter(Mandatory = $true)] [hashtable]$Shell,
        [Parameter(Mandatory = $true)] [hashtable]$Tables,
        [Parameter(Mandatory = $true)] [string]$Version,
        [Parameter(Mandatory = $true)] [string]$InstallPath,
        [string]$Password,
        [switch]$WithContent
    )
    $server = $env:COMPUTERNAME
    $read = @{
        server = $server
        virtual_directories = @()
        receive_connectors = @()
        transport = $null
        certificates = @()
        dag = $null
        dag_error = $null
        config_files = @()
        services = @{}
    }

    $vdirs = [System.Collections.Generic.List[hashtable]]@()
    foreach ($entry in @($Tables.virtual_directories)) {
        if (-not (Test-ExDrKitVersion -Version $Version -MinVersion $entry.min_version)) {
            continue
        }
        foreach ($vdir in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name $entry.cmdlet -Parameters @{ Server = $server })) {
            $vdirs.Add(@{
                    type = [string]$entry.type
                    name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $vdir -Name 'Name')
                    identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $vdir -Name 'Identity')
                    properties = Get-ExDrKitProperties -InputObject $vdir -Names @($entry.properties)
                })
        }
    }
    $read.virtual_directories = @($vdirs)

    $connectors = [System.Collections.Generic.List[hashtable]]@()
    foreach ($conn in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-ReceiveConnector' -Parameters @{ Server = $server })) {
        $connectors.Add(@{
                name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $conn -Name 'Name')
                identity = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $conn -Name 'Identity')
                properties = Get-ExDrKitProperties -InputObject $conn -Names @($Tables.receive_connector_properties)
            })
    }
    $read.receive_connectors = @($connectors)

    $transportCmdlet = Get-ExDrKitTransportCmdlet -Tables $Tables -Version $Version
    if ($transportCmdlet) {
        $transport = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name $transportCmdlet -Parameters @{ Identity = $server }) | Select-Object -First 1
        $read.transport = @{ cmdlet = $transportCmdlet; properties = Get-ExDrKitProperties -InputObject $transport -Names @($Tables.transport_properties) }
    }

    $certificates = [System.Collections.Generic.List[hashtable]]@()
    foreach ($cert in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-ExchangeCertificate' -Parameters @{ Server = $server })) {
        $thumbprint = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $cert -Name 'Thumbprint')
        $entry = @{
            thumbprint = $thumbprint
            subject = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $cert -Name 'Subject')
            issuer = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $cert -Name 'Issuer')
            friendly_name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $cert -Name 'FriendlyName')
            domains = ConvertTo-ExDrKitValue -Value (Get-ExDrProperty -InputObject $cert -Name 'CertificateDomains')
            services = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $cert -Name 'Services')
            not_before = ConvertTo-ExDrKitValue -Value (Get-ExDrProperty -InputObject $cert -Name 'NotBefore')
            not_after = ConvertTo-ExDrKitValue -Value (Get-ExDrProperty -InputObject $cert -Name 'NotAfter')
            self_signed = [bool](Get-ExDrProperty -InputObject $cert -Name 'IsSelfSigned')
            has_private_key = [bool](Get-ExDrProperty -InputObject $cert -Name 'HasPrivateKey')
            private_key_exportable = [bool](Get-ExDrProperty -InputObject $cert -Name 'PrivateKeyExportable')
            pfx = $null
            pfx_error = $null
        }
        # Only with a password: Export-ExchangeCertificate encrypts the PKCS #12 file with it (never exported without).
        if ($Password -and $entry.has_private_key -and $entry.private_key_exportable) {
            try {
                $secure = ConvertTo-SecureString -String $Password -AsPlainText -Force
                $export = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Export-ExchangeCertificate' -Parameters @{
                        Thumbprint = $thumbprint; BinaryEncoded = $true; Password = $secure; Server = $server
                    }) | Select-Object -First 1
                $entry.pfx = [Convert]::ToBase64String([byte[]](Get-ExDrProperty -InputObject $export -Name 'FileData'))
            }
            catch {
                $entry.pfx_error = "the export failed: $($_.Exception.Message)"
            }
        }
        $certificates.Add($entry)
    }
    $read.certificates = @($certificates)

    # DAG membership and the copies of this server's databases (a server without the Mailbox role has none: recorded, not fatal)
    try {
        $mailboxServer = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-MailboxServer' -Parameters @{ Identity = $server }) | Select-Object -First 1
        $dagName = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $mailboxServer -Name 'DatabaseAvailabilityGroup')
        $dag = @{ name = $dagName; servers = @(); witness_server = $null; witness_directory = $null; alternate_witness_server = $null; alternate_witness_directory = $null; datacenter_activation_mode = $null }
        if ($dagName) {
            $group = @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-DatabaseAvailabilityGroup' -Parameters @{ Identity = $dagName }) | Select-Object -First 1
            $dag.servers = ConvertTo-ExDrKitValue -Value (Get-ExDrProperty -InputObject $group -Name 'Servers')
            $dag.witness_server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'WitnessServer')
            $dag.witness_directory = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'WitnessDirectory')
            $dag.alternate_witness_server = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'AlternateWitnessServer')
            $dag.alternate_witness_directory = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'AlternateWitnessDirectory')
            $dag.datacenter_activation_mode = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $group -Name 'DatacenterActivationMode')
        }
        $databases = [System.Collections.Generic.List[hashtable]]@()
        foreach ($db in @(Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Get-MailboxDatabase' -Parameters @{ Server = $server })) {
            $databases.Add(@{
                    name = ConvertTo-ExDrString -Value (Get-ExDrProperty -InputObject $db -Name 'Name')
                    servers = ConvertTo-ExDrKitValue -Value (Get-ExDrProperty -InputObject $db -Name 'Servers')
                    activation_preference = Get-ExDrKitPairs -Value (Get-ExDrProperty -InputObject $db -Name 'ActivationPreference')
                    replay_lag_times = Get-ExDrKitPairs -Value (Get-ExDrProperty -InputObject $db -Name 'ReplayLagTimes')
                    truncation_lag_times = Get-ExDrKitPairs -Value (Get-ExDrProperty -InputObject $db -Name 'TruncationLagTimes')
                })
        }
        $read.dag = @{ dag = $dag; databases = @($databases) }
    }
    catch {
        $read.dag_error = $_.Exception.Message
    }

    $files = [System.Collections.Generic.List[hashtable]]@()
    foreach ($relative in @($Tables.config_files)) {
        $path = Join-Path -Path $InstallPath -ChildPath $relative
        $file = @{ path = [string]$relative; exists = $false; sha256 = $null; size = $null; content = $null }
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $file.exists = $true
            $file.size = (Get-Item -LiteralPath $path).Length
            $file.sha256 = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($WithContent) {
                $file.content = [Convert]::ToBase64String([IO.File]::ReadAllBytes($path))
            }
        }
        $files.Add($file)
    }
    $read.config_files = @($files)

    foreach ($name in @($Tables.services)) {
        $read.services[[string]$name] = $null -ne (Get-Service -Name ([WildcardPattern]::Escape([string]$name)) -ErrorAction SilentlyContinue)
    }
    return $read
}

Function Invoke-ExDrKitStep {
    <#
    .SYNOPSIS
    Runs one re-apply step the controller planned (kind: cmdlet, import_certificate, write_file, restart_service); returns
    where a replaced file was kept ($null otherwise). Errors are terminating: the caller records them per step.
    #>
    param (
        [hashtable]$Shell,
        [Parameter(Mandatory = $true)] $Step,
        [string]$Password
    )
    switch ([string]$Step.kind) {
        'cmdlet' {
            $parameters = @{}
            foreach ($key in $Step.parameters.Keys) {
                $parameters[$key] = $Step.parameters[$key]
            }
            Invoke-ExDrExchangeCmdlet -Shell $Shell -Name ([string]$Step.cmdlet) -Parameters $parameters | Out-Null
            return $null
        }
        'import_certificate' {
            $parameters = @{
                FileData = [Convert]::FromBase64String([string]$Step.pfx)
                Password = ConvertTo-SecureString -String $Password -AsPlainText -Force
                # exportable again, so the next capture can keep it in the kit
                PrivateKeyExportable = $true
                Server = $env:COMPUTERNAME
            }
            if ($Step.friendly_name) {
                $parameters.FriendlyName = [string]$Step.friendly_name
            }
            Invoke-ExDrExchangeCmdlet -Shell $Shell -Name 'Import-ExchangeCertificate' -Parameters $parameters | Out-Null
            return $null
        }
        'write_file' {
            $path = [string]$Step.path
            $bytes = [Convert]::FromBase64String([string]$Step.content)
            $folder = [IO.Path]::GetDirectoryName($path)
            if (-not (Test-Path -LiteralPath $folder -PathType Container)) {
                New-Item -Path $folder -ItemType Directory -Force | Out-Null
            }
            $aside = $null
            if (Test-Path -LiteralPath $path -PathType Leaf) {
                # never lose data: the file Setup (or someone) left stays beside it
                $aside = '{0}.exdr-{1}' -f $path, (Get-Date).ToUniversalTime().ToString('yyyyMMddTHHmmssZ')
                Copy-Item -LiteralPath $path -Destination $aside -Force
            }
            [IO.File]::WriteAllBytes($path, $bytes)
            $written = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($written -ne [string]$Step.sha256) {
                throw "the file written to $path does not have the kit's checksum ($written, expected $($Step.sha256))"
            }
            return $aside
        }
        'restart_service' {
            $service = Get-Service -Name ([WildcardPattern]::Escape([string]$Step.name)) -ErrorAction SilentlyContinue
            if ($null -ne $service -and [string]$service.Status -eq 'Running') {
                Restart-Service -Name ([WildcardPattern]::Escape([string]$Step.name)) -Force -ErrorAction Stop
            }
            return $null
        }
        default {
            throw "unknown step kind '$($Step.kind)'"
        }
    }
}

$exportMembers = @{
    Function = 'ConvertTo-ExDrKitValue', 'Get-ExDrKitProperties', 'Get-ExDrKitPairs', 'Test-ExDrKitVersion', 'Get-ExDrKitTransportCmdlet',
    'Get-ExDrKitCommandNames', 'Read-ExDrKitServer', 'Invoke-ExDrKitStep'
}
Export-ModuleMember @exportMembers
