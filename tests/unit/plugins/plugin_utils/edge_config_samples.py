"""Sample Edge cloned-configuration files for the _edge_config and edge action plugin tests: a data file as
ExportEdgeConfig.ps1 writes it, the answer file ImportEdgeConfig.ps1 -IsImport $false writes for it on another server, and
this server's values."""

from __future__ import annotations

ANY = "0.0.0.0"  # noqa: S104 (an address value, nothing binds)
DATA = b"""<?xml version="1.0" encoding="utf-8"?>
<ExportedEdgeConfiguration>
  <TransportServer>
    <Name>EDGEOLD</Name>
    <MessageTrackingLogPath>D:\\Logs\\MessageTracking</MessageTrackingLogPath>
  </TransportServer>
  <SendConnector>
    <Name>To Internet</Name>
    <AddressSpaces>'smtp:*;1'</AddressSpaces>
    <SourceIPAddress>192.0.2.10</SourceIPAddress>
    <AuthenticationCredential>$null</AuthenticationCredential>
  </SendConnector>
  <ReceiveConnector>
    <Name>Internet</Name>
    <Bindings>'192.0.2.10:25', '0.0.0.0:587'</Bindings>
    <Fqdn>edgeold.contoso.com</Fqdn>
  </ReceiveConnector>
  <AcceptedDomain>
    <Name>contoso.com</Name>
    <DomainName>contoso.com</DomainName>
  </AcceptedDomain>
</ExportedEdgeConfiguration>
"""
ANSWER = b"""<MachineSpecificSettings>
  <TransportServer>
    <!-- Validation failed -->
    <MessageTrackingLogPath>D:\\Logs\\MessageTracking</MessageTrackingLogPath>
  </TransportServer>
  <SendConnector Name="To Internet">
    <!-- Validation failed -->
    <SourceIPAddress>192.0.2.10</SourceIPAddress>
  </SendConnector>
  <ReceiveConnector Name="Internet">
    <Bindings>
      <!-- Validation failed -->
      <Item>192.0.2.10:25</Item>
      <Item>0.0.0.0:587</Item>
    </Bindings>
    <Fqdn>edge01.contoso.com</Fqdn>
  </ReceiveConnector>
</MachineSpecificSettings>
"""
ANSWERS = {
    "transport_server": {"MessageTrackingLogPath": "C:\\Logs\\MessageTracking"},
    "send_connectors": {"To Internet": ANY},
    "receive_connectors": {"internet": {"bindings": ["192.0.2.20:25", "0.0.0.0:587"]}},
}
