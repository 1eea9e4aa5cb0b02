"""Twins of the cmdlets the DR kit reads and re-applies (issue 13, docs/dr-kit.md), on top of cmdlets.py's binding: virtual
directories and Outlook Anywhere, receive connectors (Mailbox and Hub Transport servers; an Edge's stay with the Edge's
own twins), per-server transport settings, Exchange certificates, and Get-MailboxServer's DAG membership
(Get-DatabaseAvailabilityGroup and the copy properties of Get-MailboxDatabase are simulator/exchange/dag.py's).

Importing this module adds the cmdlets' parameters to cmdlets.SPECS_2010 and registers their behaviour. The rows were
generated from MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/<cmdlet>.md (each parameter's
`Type:`, `Parameter Sets:`, `Required:`, `Position:` and `Applicable:`), restricted to the parameters the collection passes
plus the common Identity/Server/DomainController/WhatIf/Confirm/Force: a documented parameter missing here fails binding
like an unknown one (add its row from the page). Import-ExchangeCertificate's page heads its FileName and Instance sets
the wrong way round; the sets are named here by their mandatory parameter. Exchange 2007 has none of them here (the DR
kit supports 2010 and later). Behaviour: simulator/exchange/server_config.py; wording marked (modelled) is the simulator's.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from simulator.exchange import cmdlets, server_config
from simulator.exchange.cmdlets import ALL, BEHAVIOURS, DEFAULT_SETS, SPECS_2010, CmdletError, NotModelled, behaviour

try:  # the Edge's own connector twins (issue 12), registered first so the behaviours below can hand an Edge over to them
    from simulator.exchange import transport_cmdlets as _edge_twins
except ImportError:  # pragma: no cover - before issue 12 is merged
    _edge_twins = None

if TYPE_CHECKING:
    from simulator.exchange.shell import ExchangeShell
    from simulator.host import Host

_ALL5 = "2010+2013+2016+2019+SE"
_13 = "2013+2016+2019+SE"

DOCUMENTED: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Get-OwaVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _ALL5),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Set-OwaVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _ALL5),
        ('AdfsAuthentication', 'Boolean', ALL, (), None, _13),
        ('BasicAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DigestAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalAuthenticationMethods', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('ExternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('FormsAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('InternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('OAuthAuthentication', 'Boolean', ALL, (), None, _13),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
        ('WindowsAuthentication', 'Boolean', ALL, (), None, _ALL5),
    ),
    "Get-EcpVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _ALL5),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Set-EcpVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _ALL5),
        ('AdfsAuthentication', 'Boolean', ALL, (), None, _13),
        ('BasicAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DigestAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalAuthenticationMethods', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('ExternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('FormsAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('InternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('OAuthAuthentication', 'Boolean', ALL, (), None, '2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
        ('WindowsAuthentication', 'Boolean', ALL, (), None, _ALL5),
    ),
    "Get-WebServicesVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _ALL5),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Set-WebServicesVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _ALL5),
        ('BasicAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DigestAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('Force', 'SwitchParameter', ALL, (), None, _ALL5),
        ('InternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('OAuthAuthentication', 'Boolean', ALL, (), None, _13),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
        ('WindowsAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('WSSecurityAuthentication', 'Boolean', ALL, (), None, _ALL5),
    ),
    "Get-ActiveSyncVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _ALL5),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Set-ActiveSyncVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _ALL5),
        ('BasicAuthEnabled', 'Boolean', ALL, (), None, _ALL5),
        ('ClientCertAuth', 'ClientCertAuthTypes', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalAuthenticationMethods', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('ExternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('InternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
        ('WindowsAuthEnabled', 'Boolean', ALL, (), None, _ALL5),
    ),
    "Get-OabVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _ALL5),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Set-OabVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _ALL5),
        ('BasicAuthentication', 'Boolean', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('InternalUrl', 'Uri', ALL, (), None, _ALL5),
        ('OAuthAuthentication', 'Boolean', ALL, (), None, _13),
        ('RequireSSL', 'Boolean', ALL, (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
        ('WindowsAuthentication', 'Boolean', ALL, (), None, _ALL5),
    ),
    "Get-MapiVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _13),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _13),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _13),
        ('DomainController', 'Fqdn', ALL, (), None, _13),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, '2013'),
    ),
    "Set-MapiVirtualDirectory": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _13),
        ('Confirm', 'SwitchParameter', ALL, (), None, _13),
        ('DomainController', 'Fqdn', ALL, (), None, _13),
        ('ExternalUrl', 'Uri', ALL, (), None, _13),
        ('IISAuthenticationMethods', 'MultiValuedProperty', ALL, (), None, _13),
        ('InternalUrl', 'Uri', ALL, (), None, _13),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Get-OutlookAnywhere": (
        ('Identity', 'VirtualDirectoryIdParameter', ('Identity',), (), 1, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, _ALL5),
        ('ADPropertiesOnly', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ShowMailboxVirtualDirectories', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Set-OutlookAnywhere": (
        ('Identity', 'VirtualDirectoryIdParameter', ALL, ALL, 1, _ALL5),
        ('ClientAuthenticationMethod', 'AuthenticationMethod', ALL, (), None, '2010'),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalClientAuthenticationMethod', 'AuthenticationMethod', ALL, (), None, _13),
        ('ExternalClientsRequireSsl', 'Boolean', ALL, (), None, _13),
        ('ExternalHostname', 'Hostname', ALL, (), None, _ALL5),
        ('IISAuthenticationMethods', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('InternalClientAuthenticationMethod', 'AuthenticationMethod', ALL, (), None, _13),
        ('InternalClientsRequireSsl', 'Boolean', ALL, (), None, _13),
        ('InternalHostname', 'String', ALL, (), None, _13),
        ('SSLOffloading', 'Boolean', ALL, (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Get-ReceiveConnector": (
        ('Identity', 'ReceiveConnectorIdParameter', ('Identity',), (), 1, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('Server', 'ServerIdParameter', ('Server',), (), None, _ALL5),
    ),
    "New-ReceiveConnector": (
        ('Name', 'String', ALL, ALL, 1, _ALL5),
        (
            'Bindings',
            'MultiValuedProperty',
            ('Custom', 'Internet', 'Partner', 'Internal', 'Client', 'UsageType'),
            ('Custom', 'Internet', 'Partner', 'Internal', 'Client', 'UsageType'),
            None,
            _ALL5,
        ),
        ('Client', 'SwitchParameter', ('Client',), ('Client',), None, _ALL5),
        ('Internal', 'SwitchParameter', ('Internal',), ('Internal',), None, _ALL5),
        ('Internet', 'SwitchParameter', ('Internet',), ('Internet',), None, _ALL5),
        ('Partner', 'SwitchParameter', ('Partner',), ('Partner',), None, _ALL5),
        (
            'RemoteIPRanges',
            'MultiValuedProperty',
            ('Custom', 'Partner', 'Internal', 'Client', 'Internet', 'UsageType'),
            ('Custom', 'Partner', 'Internal', 'Client', 'Internet', 'UsageType'),
            None,
            _ALL5,
        ),
        ('Usage', 'UsageType', ('UsageType',), ('UsageType',), None, _ALL5),
        ('AuthMechanism', 'AuthMechanisms', ALL, (), None, _ALL5),
        ('Banner', 'String', ALL, (), None, _ALL5),
        ('Comment', 'String', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('ConnectionTimeout', 'EnhancedTimeSpan', ALL, (), None, _ALL5),
        ('Custom', 'SwitchParameter', ('Custom',), (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('Enabled', 'Boolean', ALL, (), None, _ALL5),
        ('Fqdn', 'Fqdn', ALL, (), None, _ALL5),
        ('MaxMessageSize', 'ByteQuantifiedSize', ALL, (), None, _ALL5),
        ('MaxRecipientsPerMessage', 'Int32', ALL, (), None, _ALL5),
        ('MessageRateLimit', 'Unlimited', ALL, (), None, _ALL5),
        ('PermissionGroups', 'PermissionGroups', ALL, (), None, _ALL5),
        ('ProtocolLoggingLevel', 'ProtocolLoggingLevel', ALL, (), None, _ALL5),
        ('RequireTLS', 'Boolean', ALL, (), None, _ALL5),
        ('Server', 'ServerIdParameter', ALL, (), None, _ALL5),
        ('TlsCertificateName', 'SmtpX509Identifier', ALL, (), None, _13),
        ('TransportRole', 'ServerRole', ALL, (), None, _13),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Set-ReceiveConnector": (
        ('Identity', 'ReceiveConnectorIdParameter', ALL, ALL, 1, _ALL5),
        ('AuthMechanism', 'AuthMechanisms', ALL, (), None, _ALL5),
        ('Banner', 'String', ALL, (), None, _ALL5),
        ('Bindings', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('Comment', 'String', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('ConnectionTimeout', 'EnhancedTimeSpan', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('Enabled', 'Boolean', ALL, (), None, _ALL5),
        ('Fqdn', 'Fqdn', ALL, (), None, _ALL5),
        ('MaxMessageSize', 'ByteQuantifiedSize', ALL, (), None, _ALL5),
        ('MaxRecipientsPerMessage', 'Int32', ALL, (), None, _ALL5),
        ('MessageRateLimit', 'Unlimited', ALL, (), None, _ALL5),
        ('Name', 'String', ALL, (), None, _ALL5),
        ('PermissionGroups', 'PermissionGroups', ALL, (), None, _ALL5),
        ('ProtocolLoggingLevel', 'ProtocolLoggingLevel', ALL, (), None, _ALL5),
        ('RemoteIPRanges', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('RequireTLS', 'Boolean', ALL, (), None, _ALL5),
        ('TlsCertificateName', 'SmtpX509Identifier', ALL, (), None, _13),
        ('TransportRole', 'ServerRole', ALL, (), None, _13),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Get-TransportService": (
        ('Identity', 'TransportServerIdParameter', ALL, (), 1, _13),
        ('DomainController', 'Fqdn', ALL, (), None, _13),
    ),
    "Set-TransportService": (
        ('Identity', 'ServerIdParameter', ALL, ALL, 1, _13),
        ('Confirm', 'SwitchParameter', ALL, (), None, _13),
        ('ConnectivityLogEnabled', 'Boolean', ALL, (), None, _13),
        ('ConnectivityLogPath', 'LocalLongFullPath', ALL, (), None, _13),
        ('DomainController', 'Fqdn', ALL, (), None, _13),
        ('ExternalDNSServers', 'MultiValuedProperty', ALL, (), None, _13),
        ('InternalDNSServers', 'MultiValuedProperty', ALL, (), None, _13),
        ('MaxConcurrentMailboxDeliveries', 'Int32', ALL, (), None, _13),
        ('MaxConcurrentMailboxSubmissions', 'Int32', ALL, (), None, _13),
        ('MaxConnectionRatePerMinute', 'Int32', ALL, (), None, _13),
        ('MaxOutboundConnections', 'Unlimited', ALL, (), None, _13),
        ('MaxPerDomainOutboundConnections', 'Unlimited', ALL, (), None, _13),
        ('MessageExpirationTimeout', 'EnhancedTimeSpan', ALL, (), None, _13),
        ('MessageRetryInterval', 'EnhancedTimeSpan', ALL, (), None, _13),
        ('MessageTrackingLogEnabled', 'Boolean', ALL, (), None, _13),
        ('MessageTrackingLogMaxAge', 'EnhancedTimeSpan', ALL, (), None, _13),
        ('MessageTrackingLogPath', 'LocalLongFullPath', ALL, (), None, _13),
        ('PickupDirectoryPath', 'LocalLongFullPath', ALL, (), None, _13),
        ('ReceiveProtocolLogPath', 'LocalLongFullPath', ALL, (), None, _13),
        ('ReplayDirectoryPath', 'LocalLongFullPath', ALL, (), None, _13),
        ('SendProtocolLogPath', 'LocalLongFullPath', ALL, (), None, _13),
        ('TransientFailureRetryCount', 'Int32', ALL, (), None, _13),
        ('TransientFailureRetryInterval', 'EnhancedTimeSpan', ALL, (), None, _13),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _13),
    ),
    "Get-TransportServer": (
        ('Identity', 'TransportServerIdParameter', ALL, (), 1, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
    ),
    "Set-TransportServer": (
        ('Identity', 'ServerIdParameter', ALL, ALL, 1, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('ConnectivityLogEnabled', 'Boolean', ALL, (), None, _ALL5),
        ('ConnectivityLogPath', 'LocalLongFullPath', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('ExternalDNSServers', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('InternalDNSServers', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('MaxConcurrentMailboxDeliveries', 'Int32', ALL, (), None, _ALL5),
        ('MaxConcurrentMailboxSubmissions', 'Int32', ALL, (), None, _ALL5),
        ('MaxConnectionRatePerMinute', 'Int32', ALL, (), None, _ALL5),
        ('MaxOutboundConnections', 'Unlimited', ALL, (), None, _ALL5),
        ('MaxPerDomainOutboundConnections', 'Unlimited', ALL, (), None, _ALL5),
        ('MessageExpirationTimeout', 'EnhancedTimeSpan', ALL, (), None, _ALL5),
        ('MessageRetryInterval', 'EnhancedTimeSpan', ALL, (), None, _ALL5),
        ('MessageTrackingLogEnabled', 'Boolean', ALL, (), None, _ALL5),
        ('MessageTrackingLogMaxAge', 'EnhancedTimeSpan', ALL, (), None, _ALL5),
        ('MessageTrackingLogPath', 'LocalLongFullPath', ALL, (), None, _ALL5),
        ('PickupDirectoryPath', 'LocalLongFullPath', ALL, (), None, _ALL5),
        ('ReceiveProtocolLogPath', 'LocalLongFullPath', ALL, (), None, _ALL5),
        ('ReplayDirectoryPath', 'LocalLongFullPath', ALL, (), None, _ALL5),
        ('SendProtocolLogPath', 'LocalLongFullPath', ALL, (), None, _ALL5),
        ('TransientFailureRetryCount', 'Int32', ALL, (), None, _ALL5),
        ('TransientFailureRetryInterval', 'EnhancedTimeSpan', ALL, (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Get-ExchangeCertificate": (
        ('Thumbprint', 'String', ('Thumbprint',), (), 1, _ALL5),
        ('Identity', 'ExchangeCertificateIdParameter', ('Identity',), (), 1, _13),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('DomainName', 'MultiValuedProperty', ALL, (), None, _ALL5),
        ('Instance', 'X509Certificate2', ('Instance',), (), None, _ALL5),
        ('Server', 'ServerIdParameter', ('Instance', 'Thumbprint'), (), None, _ALL5),
    ),
    "Export-ExchangeCertificate": (
        ('Thumbprint', 'String', ('Thumbprint',), ('Thumbprint',), 1, _ALL5),
        ('Identity', 'ExchangeCertificateIdParameter', ('Identity',), (), 1, _13),
        ('BinaryEncoded', 'SwitchParameter', ALL, (), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('FileName', 'String', ALL, (), None, '2013'),
        ('Password', 'SecureString', ALL, (), None, _ALL5),
        ('Server', 'ServerIdParameter', ('Thumbprint',), (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Import-ExchangeCertificate": (
        ('FileData', 'Byte[]', ('FileData',), ('FileData',), None, _ALL5),
        ('FileName', 'String', ('FileName',), ('FileName',), None, '2013'),
        ('Instance', 'String[]', ('Instance',), ('Instance',), None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('FriendlyName', 'String', ALL, (), None, _ALL5),
        ('Password', 'SecureString', ALL, (), None, _ALL5),
        ('PrivateKeyExportable', 'Boolean', ALL, (), None, _ALL5),
        ('Server', 'ServerIdParameter', ALL, (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Enable-ExchangeCertificate": (
        ('Thumbprint', 'String', ('Thumbprint',), ('Thumbprint',), 1, _ALL5),
        ('Identity', 'ExchangeCertificateIdParameter', ('Identity',), (), 1, _13),
        ('Services', 'AllowedServices', ALL, ALL, None, _ALL5),
        ('Confirm', 'SwitchParameter', ALL, (), None, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('DoNotRequireSsl', 'SwitchParameter', ALL, (), None, _ALL5),
        ('Force', 'SwitchParameter', ALL, (), None, _ALL5),
        ('NetworkServiceAllowed', 'SwitchParameter', ALL, (), None, _ALL5),
        ('Server', 'ServerIdParameter', ('Thumbprint',), (), None, _ALL5),
        ('WhatIf', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
    "Get-MailboxServer": (
        ('Identity', 'MailboxServerIdParameter', ALL, (), 1, _ALL5),
        ('DomainController', 'Fqdn', ALL, (), None, _ALL5),
        ('Status', 'SwitchParameter', ALL, (), None, _ALL5),
    ),
}
SPECS_2010.update(cmdlets._build(DOCUMENTED, {}))
DEFAULT_SETS.update(
    {
        **{name: "Identity" for name in DOCUMENTED if name.startswith("Get-") and name.endswith(("VirtualDirectory", "OutlookAnywhere"))},
        "Get-ReceiveConnector": "Identity",
        "Get-ExchangeCertificate": "Thumbprint",
        "Export-ExchangeCertificate": "Thumbprint",
        "Enable-ExchangeCertificate": "Thumbprint",
        "New-ReceiveConnector": "Custom",
    }
)


# -- parameter types ------------------------------------------------------------------------------------------------------------
def _uri(param: Any, value: Any, fail: Any) -> Any:
    """Uri: an absolute http(s) URL, or $null to clear it (PS Set-OwaVirtualDirectory -ExternalUrl $null)."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", value, re.IGNORECASE):
        raise fail("Invalid URI: The format of the URI could not be determined.")
    return value


def _nullable_text(param: Any, value: Any, fail: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail()
    return value


def _multi(param: Any, value: Any, fail: Any) -> Any:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if any(not isinstance(v, str) or not v for v in values):
        raise fail()
    return list(values)


def _bytes(param: Any, value: Any, fail: Any) -> Any:
    if not isinstance(value, (bytes, bytearray)):
        raise fail()
    return bytes(value)


def _enum(*names: str, flags: bool = False) -> Any:
    def convert(param: Any, value: Any, fail: Any) -> Any:
        items = value if isinstance(value, list) else str(value).split(",") if flags else [value]
        tokens = [str(i).strip() for i in items if str(i).strip()]
        known = {n.casefold(): n for n in names}
        if not tokens or any(t.casefold() not in known for t in tokens) or (not flags and len(tokens) != 1):
            hint = f"Specify one of the following enumerator names and try again: {', '.join(names)}"
            raise fail(f"Unable to match the identifier name {value} to a valid enumerator name. {hint}")
        return ", ".join(known[t.casefold()] for t in tokens)

    return convert


def _size(param: Any, value: Any, fail: Any) -> Any:
    if isinstance(value, bool) or value is None:
        raise fail()
    if isinstance(value, int):
        return value
    if str(value).strip().casefold() == "unlimited":
        return "Unlimited"
    from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit import size_bytes

    n = size_bytes(value)
    if n is None:
        raise fail("expected a size such as 36MB or a number of bytes")
    return n


cmdlets.CONVERTERS.update(
    {
        "Uri": _uri,
        "Hostname": _nullable_text,
        "SecureString": _nullable_text,
        "SmtpX509Identifier": _nullable_text,
        "MultiValuedProperty": _multi,
        "Byte[]": _bytes,
        "ByteQuantifiedSize": _size,
        "AuthenticationMethod": _enum(
            "Basic",
            "Digest",
            "Ntlm",
            "Fba",
            "WindowsIntegrated",
            "LiveIdFba",
            "LiveIdBasic",
            "WSSecurity",
            "Certificate",
            "NegoEx",
            "OAuth",
            "Adfs",
            "Kerberos",
            "Negotiate",
            "LiveIdNegotiate",
            "Misconfigured",
        ),
        "ClientCertAuthTypes": _enum("Ignore", "Accepted", "Required"),
        "AllowedServices": _enum("None", "IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter", flags=True),
        "AuthMechanisms": _enum("None", "Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer", "ExternalAuthoritative", flags=True),
        "PermissionGroups": _enum("None", "AnonymousUsers", "ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers", "Partners", "Custom", flags=True),
        "ProtocolLoggingLevel": _enum("None", "Verbose"),
        "ServerRole": _enum("FrontendTransport", "HubTransport"),
    }
)


# -- helpers ----------------------------------------------------------------------------------------------------------------------
def _fail(error: server_config.ConfigError) -> CmdletError:
    return CmdletError(str(error), "InvalidOperationException")


def _host(shell: ExchangeShell, server: Any) -> Host | None:
    """The (running) host of a server named in -Server or an identity's SERVER\\ part; the shell's own server by default."""
    if not server:
        return shell.host
    return shell.host_of(str(server).split(".", maxsplit=1)[0])


def _split_identity(identity: Any) -> tuple[str | None, str]:
    text = str(identity)
    server, sep, name = text.partition("\\")
    return (server, name) if sep else (None, text)


def _configured(shell: ExchangeShell, server: Any) -> tuple[Host, dict[str, Any]] | None:
    host = _host(shell, server)
    if host is None or not server_config.configured(host):
        return None
    return host, server_config.state(host)


def _settable(bound: dict[str, Any]) -> dict[str, Any]:
    """The settings a Set-/New- call changes, kept the way Exchange shows them (sizes with their unit and bytes)."""
    skip = ("Identity", "DomainController", "WhatIf", "Confirm", "Force", "Server")
    return {k: server_config.size_text(v) if k == "MaxMessageSize" else v for k, v in bound.items() if k not in skip}


# -- virtual directories and Outlook Anywhere ------------------------------------------------------------------------------------
_VDIR_CMDLETS = {
    "owa": ("Get-OwaVirtualDirectory", "Set-OwaVirtualDirectory"),
    "ecp": ("Get-EcpVirtualDirectory", "Set-EcpVirtualDirectory"),
    "ews": ("Get-WebServicesVirtualDirectory", "Set-WebServicesVirtualDirectory"),
    "activesync": ("Get-ActiveSyncVirtualDirectory", "Set-ActiveSyncVirtualDirectory"),
    "oab": ("Get-OabVirtualDirectory", "Set-OabVirtualDirectory"),
    "mapi": ("Get-MapiVirtualDirectory", "Set-MapiVirtualDirectory"),
    "outlook_anywhere": ("Get-OutlookAnywhere", "Set-OutlookAnywhere"),
}


def _vdir_object(host: Host, vtype: str, vdir: dict[str, Any]) -> dict[str, Any]:
    server = host.name.upper()
    return {"Name": vdir["name"], "Identity": f"{server}\\{vdir['name']}", "Server": server, **vdir["settings"]}


def _find_vdir(shell: ExchangeShell, vtype: str, identity: Any) -> tuple[Host, dict[str, Any]]:
    server, name = _split_identity(identity)
    found = _configured(shell, server)
    vdir = (found[1].get("virtual_directories") or {}).get(vtype) if found else None
    wanted = name.replace("*", "").casefold()
    if found is None or vdir is None or not (vdir["name"].casefold() == name.casefold() or (name.endswith("*") and vdir["name"].casefold().startswith(wanted))):
        raise cmdlets._not_found(shell, identity)
    return found[0], vdir


def _register_vdir(vtype: str, get_name: str, set_name: str) -> None:
    @behaviour(get_name)
    def get_vdir(shell: ExchangeShell, set_name_: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
        if "Identity" in bound:
            host, vdir = _find_vdir(shell, vtype, bound["Identity"])
            return [_vdir_object(host, vtype, vdir)]
        found = _configured(shell, bound.get("Server"))
        if found is None:
            if bound.get("Server") and shell.host_of(str(bound["Server"]).split(".", maxsplit=1)[0]) is None:
                cmdlets._server_name(shell, bound["Server"])  # an unknown server: not found
            return []
        vdir = (found[1].get("virtual_directories") or {}).get(vtype)
        return [_vdir_object(found[0], vtype, vdir)] if vdir else []

    @behaviour(set_name)
    def set_vdir(shell: ExchangeShell, set_name_: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
        host, vdir = _find_vdir(shell, vtype, bound["Identity"])
        if bound.get("WhatIf"):
            return []
        with host.mutating():
            vdir["settings"].update(_settable(bound))
            if bound.get("FormsAuthentication") is True and vtype in ("owa", "ecp"):
                # PS Set-OwaVirtualDirectory -FormsAuthentication: Basic is also set to $true, Digest and Windows to $false
                vdir["settings"].update(BasicAuthentication=True, DigestAuthentication=False, WindowsAuthentication=False)
                vdir["settings"].update(
                    {k: v for k, v in _settable(bound).items() if k in ("BasicAuthentication", "DigestAuthentication", "WindowsAuthentication")}
                )
            host.state.exchange[server_config.STATE] = server_config.state(host)
        return []


for _vtype, (_get, _set) in _VDIR_CMDLETS.items():
    _register_vdir(_vtype, _get, _set)


# -- receive connectors (Mailbox / Hub Transport servers) ---------------------------------------------------------------------
_EDGE_BEHAVIOURS = {name: BEHAVIOURS.get(name) for name in ("get-receiveconnector", "new-receiveconnector", "set-receiveconnector")}


def _edge(shell: ExchangeShell, name: str) -> Any:
    """An Edge Transport server's connectors live in its AD LDS: its own twins (issue 12) answer there."""
    if getattr(shell, "edge", False) and _EDGE_BEHAVIOURS.get(name) is not None:
        return _EDGE_BEHAVIOURS[name]
    return None


def _connector_object(host: Host, conn: dict[str, Any]) -> dict[str, Any]:
    server = host.name.upper()
    return {**conn, "Identity": f"{server}\\{conn['Name']}", "Server": server}


def _find_connector(shell: ExchangeShell, identity: Any) -> tuple[Host, dict[str, Any]]:
    server, name = _split_identity(identity)
    found = _configured(shell, server)
    conn = next((c for c in found[1].get("receive_connectors") or [] if c["Name"].casefold() == name.casefold()), None) if found else None
    if found is None or conn is None:
        raise cmdlets._not_found(shell, identity)
    return found[0], conn


def _check_conflict(connectors: list[dict[str, Any]], name: str, bindings: list[str], ranges: list[str]) -> None:
    """Two connectors of a server may share a binding only when their remote IP ranges differ (ODX receive-connectors.md,
    "Receive connector local address bindings")."""
    for other in connectors:
        if other["Name"].casefold() == name.casefold():
            continue
        shared = {b.casefold() for b in other.get("Bindings") or []} & {b.casefold() for b in bindings}
        if shared and sorted(r.casefold() for r in other.get("RemoteIPRanges") or []) == sorted(r.casefold() for r in ranges):
            what = "The values that you specified for the Bindings and RemoteIPRanges parameters conflict"
            raise CmdletError(f'{what} with the settings on Receive connector "{other["Name"]}". (modelled)', "InvalidOperationException")


@behaviour("Get-ReceiveConnector")
def get_receive_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    edge = _edge(shell, "get-receiveconnector")
    if edge is not None:
        return edge(shell, set_name, bound)
    if "Identity" in bound:
        host, conn = _find_connector(shell, bound["Identity"])
        return [_connector_object(host, conn)]
    found = _configured(shell, bound.get("Server"))
    if found is None:
        return []
    return [_connector_object(found[0], c) for c in sorted(found[1].get("receive_connectors") or [], key=lambda c: c["Name"].casefold())]


@behaviour("New-ReceiveConnector")
def new_receive_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    edge = _edge(shell, "new-receiveconnector")
    if edge is not None:
        return edge(shell, set_name, bound)
    if set_name != "Custom":
        raise NotModelled(f"New-ReceiveConnector -{set_name} (the collection creates Custom connectors)")
    found = _configured(shell, bound.get("Server"))
    if found is None:
        raise cmdlets._not_found(shell, bound.get("Server") or shell.host.name)
    host, st = found
    connectors = st.setdefault("receive_connectors", [])
    if any(c["Name"].casefold() == bound["Name"].casefold() for c in connectors):
        raise CmdletError(
            f"A Receive connector named {bound['Name']} already exists on server {host.name.upper()}. (modelled)", "ADObjectAlreadyExistsException"
        )
    _check_conflict(connectors, bound["Name"], bound["Bindings"], bound["RemoteIPRanges"])
    product = shell.product
    template = server_config.default_receive_connectors(product, host.name.upper(), server_config.fqdn_of(host))[0]
    conn = {**template, "Name": bound["Name"], "PermissionGroups": "None", "AuthMechanism": "Tls", "ProtocolLoggingLevel": "None"}
    if product != "2010":
        conn["TransportRole"] = "FrontendTransport"  # PS New-ReceiveConnector -TransportRole: FrontendTransport by default on a Mailbox server (modelled)
    conn.update({k: v for k, v in _settable(bound).items() if k not in ("Name", "Custom")})
    if bound.get("WhatIf"):
        return []
    with host.mutating():
        connectors.append(conn)
        host.state.exchange[server_config.STATE] = st
    return [_connector_object(host, conn)]


@behaviour("Set-ReceiveConnector")
def set_receive_connector(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    edge = _edge(shell, "set-receiveconnector")
    if edge is not None:
        return edge(shell, set_name, bound)
    host, conn = _find_connector(shell, bound["Identity"])
    changes = _settable(bound)
    st = server_config.state(host)
    _check_conflict(
        st["receive_connectors"],
        changes.get("Name", conn["Name"]),
        changes.get("Bindings", conn["Bindings"]),
        changes.get("RemoteIPRanges", conn["RemoteIPRanges"]),
    )
    if bound.get("WhatIf"):
        return []
    with host.mutating():
        conn.update(changes)
        host.state.exchange[server_config.STATE] = st
    return []


# -- per-server transport settings --------------------------------------------------------------------------------------------------
def _transport_hosts(shell: ExchangeShell, identity: Any) -> list[Host]:
    if identity:
        host = _host(shell, identity)
        if host is None or not server_config.configured(host):
            raise cmdlets._not_found(shell, identity)
        return [host]
    org = shell.organization
    hosts = [shell.host_of(name) for name in (org.servers if org else {})]
    return [h for h in hosts if h is not None and server_config.configured(h)]


def _register_transport(get_name: str, set_name: str) -> None:
    @behaviour(get_name)
    def get_transport(shell: ExchangeShell, set_name_: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"Name": h.name.upper(), "Identity": h.name.upper(), **server_config.state(h).get("transport", {})}
            for h in _transport_hosts(shell, bound.get("Identity"))
        ]

    @behaviour(set_name)
    def set_transport(shell: ExchangeShell, set_name_: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
        host = _transport_hosts(shell, bound["Identity"])[0]
        if bound.get("WhatIf"):
            return []
        with host.mutating():
            st = server_config.state(host)
            st.setdefault("transport", {}).update(_settable(bound))
            host.state.exchange[server_config.STATE] = st
        return []


_register_transport("Get-TransportService", "Set-TransportService")
_register_transport("Get-TransportServer", "Set-TransportServer")


# -- certificates ----------------------------------------------------------------------------------------------------------------------
def _certificate(shell: ExchangeShell, bound: dict[str, Any]) -> tuple[Host, dict[str, Any]]:
    server, thumb = bound.get("Server"), bound.get("Thumbprint")
    if thumb is None and "Identity" in bound:
        server, thumb = _split_identity(bound["Identity"])
    found = _configured(shell, server)
    entry = (found[1].get("certificates") or {}).get(str(thumb).upper()) if found else None
    if found is None or entry is None:
        raise CmdletError(
            f"The certificate with thumbprint {str(thumb).upper()} was not found on server {str(server or shell.host.name).upper()}. (modelled)",
            "ManagementObjectNotFoundException",
        )
    return found[0], entry


@behaviour("Get-ExchangeCertificate")
def get_exchange_certificate(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if bound.get("Thumbprint") or "Identity" in bound:
        return [server_config.certificate_object(_certificate(shell, bound)[1])]
    found = _configured(shell, bound.get("Server"))
    if found is None:
        return []
    certs = sorted((found[1].get("certificates") or {}).values(), key=lambda c: c["thumbprint"])
    objects = [server_config.certificate_object(c) for c in certs]
    if bound.get("DomainName"):
        wanted = {d.casefold() for d in bound["DomainName"]}
        objects = [o for o in objects if wanted & {d.casefold() for d in o["CertificateDomains"]}]
    return objects


@behaviour("Export-ExchangeCertificate")
def export_exchange_certificate(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if not bound.get("BinaryEncoded"):
        raise NotModelled("Export-ExchangeCertificate without -BinaryEncoded (the collection exports the PKCS #12 file)")
    entry = _certificate(shell, bound)[1]
    try:
        data = server_config.export_pfx(entry, bound.get("Password") or "")
    except server_config.ConfigError as error:
        raise _fail(error) from None
    return [{"FileData": data}]


@behaviour("Import-ExchangeCertificate")
def import_exchange_certificate(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name != "FileData":
        raise NotModelled(f"Import-ExchangeCertificate -{set_name} (the collection passes -FileData)")
    found = _configured(shell, bound.get("Server"))
    if found is None:
        raise cmdlets._not_found(shell, bound.get("Server") or shell.host.name)
    host = found[0]
    if bound.get("WhatIf"):
        return []
    with host.mutating():
        try:
            entry = server_config.import_pfx(
                host,
                bound["FileData"],
                bound.get("Password") or "",
                exportable=bool(bound.get("PrivateKeyExportable")),
                friendly_name=bound.get("FriendlyName"),
            )
        except server_config.ConfigError as error:
            raise _fail(error) from None
        host.state.exchange[server_config.STATE] = server_config.state(host)
    return [server_config.certificate_object(entry)]


@behaviour("Enable-ExchangeCertificate")
def enable_exchange_certificate(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    host, entry = _certificate(shell, bound)
    services = [s.strip() for s in str(bound["Services"]).split(",") if s.strip() and s.strip() != "None"]
    if bound.get("WhatIf"):
        return []
    with host.mutating():
        try:
            server_config.enable(host, entry["thumbprint"], services, force=bool(bound.get("Force")))
        except server_config.ConfigError as error:
            raise _fail(error) from None
        host.state.exchange[server_config.STATE] = server_config.state(host)
    return []


# -- DAG membership -------------------------------------------------------------------------------------------------
@behaviour("Get-MailboxServer")
def get_mailbox_server(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    names = [cmdlets._server_name(shell, bound["Identity"])] if "Identity" in bound else sorted(org.servers if org else [])
    out = []
    for name in names:
        server = org.servers[name]
        if "Mailbox" not in server.roles:
            if "Identity" in bound:
                raise cmdlets._not_found(shell, bound["Identity"])
            continue
        dag = org.dag_of(name)
        out.append({"Name": name, "Identity": name, "DatabaseAvailabilityGroup": dag.name if dag else None, "AdminDisplayVersion": server.display_version()})
    return out


def pfx_base64(data: bytes) -> str:
    """[Convert]::ToBase64String($export.FileData), as the module returns an export."""
    return base64.b64encode(data).decode("ascii")
