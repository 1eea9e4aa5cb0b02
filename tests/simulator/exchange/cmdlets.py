"""Twins of the Exchange cmdlets the collection's modules call, and the parameter binding PowerShell does for them.

A module twin calls cmdlets through an ExchangeShell (shell.py) in the order its .ps1 does; each call is bound here against
the cmdlet's documented parameters for the server's release - parameter sets, mandatory parameters, positions, types and
the releases each parameter exists in - before its behaviour runs. A parameter a release does not have fails the way
PowerShell fails for an unknown parameter, so a module that passes -SkipDatabaseLogFolderCreation to Exchange 2010 fails
here as it would there.

Sources:
- 2010 to SE: MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/<cmdlet>.md - the SYNTAX blocks
  (parameter sets; a parameter without brackets is mandatory in its set, `[-Name] <T>` positional), each parameter's
  `Type:` and its "Applicable:" line (the releases it exists in), tabulated in DOCUMENTED below. Where the page is known to
  be incomplete for on-premises servers the row says why it differs.
- 2007: the Exchange 2007 library (learn.microsoft.com, exchg.80), lower confidence: EXCHANGE_2007 below.
- PowerShell's binding errors: the messages Windows PowerShell 5.1 prints ("A parameter cannot be found that matches
  parameter name 'X'.", "Parameter set cannot be resolved using the specified named parameters.", "Cannot process command
  because of one or more missing mandatory parameters: X.").

Behaviour is modelled for the cmdlets exchange_database_info uses and for the store operations the next modules build on
(Get-ExchangeServer, Get-MailboxDatabase, Get-PublicFolderDatabase, Get-StorageGroup, Get-MailboxStatistics,
Mount-Database, Dismount-Database, Set-MailboxDatabase, Set-PublicFolderDatabase; for exchange_database:
New-MailboxRepairRequest -Database and Get-MailboxRepairRequest -Database; recipients.py: Get-User, Get-Mailbox,
Connect-Mailbox, Update-StoreMailboxState, Clean-MailboxDatabase). The others bind their parameters and then
fail with "not modelled yet": whoever builds the module that calls one adds its behaviour (docs/databases.md, "Plan").
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import CAPABILITIES
from simulator.exchange import model, store

if TYPE_CHECKING:
    from simulator.exchange.shell import ExchangeShell

PRODUCTS = ("2007", "2010", "2013", "2016", "2019", "SE")
ALL = "ALL"  # every parameter set of the cmdlet
COMMON_PARAMETERS = {
    "verbose",
    "debug",
    "erroraction",
    "warningaction",
    "informationaction",
    "errorvariable",
    "warningvariable",
    "informationvariable",
    "outvariable",
    "outbuffer",
    "pipelinevariable",
}


class CmdletError(Exception):
    """A terminating error of a cmdlet call: `category` is the .NET exception type PowerShell shows."""

    def __init__(self, message: str, category: str = "InvalidOperationException") -> None:
        super().__init__(message)
        self.category = category


class NotModelled(CmdletError):
    def __init__(self, cmdlet: str) -> None:
        super().__init__(
            f"simulator: {cmdlet} binds its documented parameters but its behaviour is not modelled yet "
            "(add it in tests/simulator/exchange/cmdlets.py with @behaviour; see docs/databases.md, Plan)",
            "NotImplementedException",
        )


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    sets: tuple[str, ...] | str  # ALL or the set names
    mandatory: tuple[str, ...] | str  # sets it is mandatory in (ALL: every set)
    position: int | None
    products: frozenset[str]


@dataclass(frozen=True)
class CmdletSpec:
    name: str
    parameters: dict[str, Parameter]  # keyed by lower-case name
    sets: tuple[str, ...]

    def products(self) -> set[str]:
        return set().union(*(p.products for p in self.parameters.values())) if self.parameters else set()


def _products(text: str) -> frozenset[str]:
    return frozenset(text.split("+"))


# The 2010-SE pages, tabulated: (parameter, type, sets, sets it is mandatory in, position, releases).
DOCUMENTED: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Get-MailboxDatabase": (
        ('Identity', 'DatabaseIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DumpsterStatistics', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IncludeCorrupted', 'SwitchParameter', ALL, (), None, '2016+2019+SE'),
        ('IncludePreExchange2010', 'SwitchParameter', ALL, (), None, '2010'),
        ('IncludePreExchange2013', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('Status', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Get-PublicFolderDatabase": (
        ('Identity', 'DatabaseIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IncludePreExchange2010', 'SwitchParameter', ALL, (), None, '2010'),
        ('Status', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IncludeCorrupted', 'SwitchParameter', ALL, (), None, '2016+2019+SE'),
    ),
    "Mount-Database": (
        ('Identity', 'DatabaseIdParameter', ALL, ALL, 1, '2010+2013+2016+2019+SE'),
        ('AcceptDataLoss', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Force', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('NewCapacity', 'SwitchParameter', ALL, (), None, '2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Dismount-Database": (
        ('Identity', 'DatabaseIdParameter', ALL, ALL, 1, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "New-MailboxDatabase": (
        ('Name', 'String', ALL, ('NonRecovery',), 1, '2010+2013+2016+2019+SE'),
        ('Recovery', 'SwitchParameter', ('Recovery',), (), None, '2010+2013+2016+2019+SE'),
        ('Server', 'ServerIdParameter', ALL, ALL, None, '2010+2013+2016+2019+SE'),
        ('AutoDagExcludeFromMonitoring', 'Boolean', ('NonRecovery',), (), None, '2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('EdbFilePath', 'EdbFilePath', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IsExcludedFromInitialProvisioning', 'SwitchParameter', ('NonRecovery',), (), None, '2013+2016+2019+SE'),
        ('IsExcludedFromProvisioning', 'Boolean', ('NonRecovery',), (), None, '2010+2013+2016+2019+SE'),
        ('IsSuspendedFromProvisioning', 'Boolean', ('NonRecovery',), (), None, '2010+2013+2016+2019+SE'),
        ('LogFolderPath', 'NonRootLocalLongFullPath', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('OfflineAddressBook', 'OfflineAddressBookIdParameter', ('NonRecovery',), (), None, '2010+2013+2016+2019+SE'),
        ('PublicFolderDatabase', 'DatabaseIdParameter', ('NonRecovery',), (), None, '2010+2013+2016+2019+SE'),
        ('SkipDatabaseLogFolderCreation', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Remove-MailboxDatabase": (
        ('Identity', 'DatabaseIdParameter', ALL, ALL, 1, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Set-MailboxDatabase": (
        ('Identity', 'DatabaseIdParameter', ALL, ALL, 1, '2010+2013+2016+2019+SE'),
        ('AllowFileRestore', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('AutoDagExcludeFromMonitoring', 'Boolean', ALL, (), None, '2013+2016+2019+SE'),
        ('AutoDatabaseMountDial', 'AutoDatabaseMountDial', ALL, (), None, '2013+2016+2019+SE'),
        ('BackgroundDatabaseMaintenance', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('CalendarLoggingQuota', 'Unlimited', ALL, (), None, '2013+2016+2019+SE'),
        ('CircularLoggingEnabled', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DatabaseGroup', 'String', ALL, (), None, '2013+2016+2019+SE'),
        ('DataMoveReplicationConstraint', 'DataMoveReplicationConstraintParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DeletedItemRetention', 'EnhancedTimeSpan', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('EventHistoryRetentionPeriod', 'EnhancedTimeSpan', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IndexEnabled', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IsExcludedFromInitialProvisioning', 'Boolean', ALL, (), None, '2013+2016+2019+SE'),
        ('IsExcludedFromProvisioning', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IsExcludedFromProvisioningByOperator', 'Boolean', ALL, (), None, '2016+2019+SE'),
        ('IsExcludedFromProvisioningDueToLogicalCorruption', 'Boolean', ALL, (), None, '2016+2019+SE'),
        ('IsExcludedFromProvisioningReason', 'String', ALL, (), None, '2016+2019+SE'),
        ('IssueWarningQuota', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IsSuspendedFromProvisioning', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('JournalRecipient', 'RecipientIdParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('MailboxRetention', 'EnhancedTimeSpan', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('MaintenanceSchedule', 'Schedule', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('MetaCacheDatabaseMaxCapacityInBytes', 'Int64', ALL, (), None, '2019+SE'),
        ('MountAtStartup', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Name', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('OfflineAddressBook', 'OfflineAddressBookIdParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ProhibitSendQuota', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ProhibitSendReceiveQuota', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('PublicFolderDatabase', 'DatabaseIdParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('QuotaNotificationSchedule', 'Schedule', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('RecoverableItemsQuota', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('RecoverableItemsWarningQuota', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('RetainDeletedItemsUntilBackup', 'Boolean', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('RpcClientAccessServer', 'ClientAccessServerOrArrayIdParameter', ALL, (), None, '2010'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Set-PublicFolderDatabase": (
        ('Identity', 'DatabaseIdParameter', ALL, ALL, 1, '2010'),
        ('AllowFileRestore', 'Boolean', ALL, (), None, '2010'),
        ('BackgroundDatabaseMaintenance', 'Boolean', ALL, (), None, '2010'),
        ('CircularLoggingEnabled', 'Boolean', ALL, (), None, '2010'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010'),
        ('CustomReferralServerList', 'MultiValuedProperty', ALL, (), None, '2010'),
        ('DeletedItemRetention', 'EnhancedTimeSpan', ALL, (), None, '2010'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010'),
        ('EventHistoryRetentionPeriod', 'EnhancedTimeSpan', ALL, (), None, '2010'),
        ('IssueWarningQuota', 'Unlimited', ALL, (), None, '2010'),
        ('ItemRetentionPeriod', 'Unlimited', ALL, (), None, '2010'),
        ('MaintenanceSchedule', 'Schedule', ALL, (), None, '2010'),
        ('MaxItemSize', 'Unlimited', ALL, (), None, '2010'),
        ('MountAtStartup', 'Boolean', ALL, (), None, '2010'),
        ('Name', 'String', ALL, (), None, '2010'),
        ('ProhibitPostQuota', 'Unlimited', ALL, (), None, '2010'),
        ('QuotaNotificationSchedule', 'Schedule', ALL, (), None, '2010'),
        ('ReplicationMessageSize', 'ByteQuantifiedSize', ALL, (), None, '2010'),
        ('ReplicationPeriod', 'UInt32', ALL, (), None, '2010'),
        ('ReplicationSchedule', 'Schedule', ALL, (), None, '2010'),
        ('RetainDeletedItemsUntilBackup', 'Boolean', ALL, (), None, '2010'),
        ('UseCustomReferralServerList', 'Boolean', ALL, (), None, '2010'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010'),
    ),
    "Get-MailboxStatistics": (
        ('Identity', 'GeneralMailboxOrMailUserIdParameter', ('Identity',), ('Identity',), 1, '2010+2013+2016+2019+SE'),
        ('StoreMailboxIdentity', 'StoreMailboxIdParameter', ('Database',), (), 1, '2013+2016+2019+SE'),
        ('Archive', 'SwitchParameter', ('Identity',), (), None, '2010+2013+2016+2019+SE'),
        ('CopyOnServer', 'ServerIdParameter', ('Database', 'Identity'), (), None, '2013+2016+2019+SE'),
        ('Database', 'DatabaseIdParameter', ('Database',), ('Database',), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Filter', 'String', ('Database', 'Server'), (), None, '2013+2016+2019+SE'),
        ('IncludeMoveHistory', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IncludeMoveReport', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IncludePassive', 'SwitchParameter', ('Server',), (), None, '2013+2016+2019+SE'),
        ('IncludeQuarantineDetails', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('NoADLookup', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('Server', 'ServerIdParameter', ('Server',), ('Server',), None, '2010+2013+2016+2019+SE'),
    ),
    "New-MailboxRestoreRequest": (
        (
            'SourceDatabase',
            'DatabaseIdParameter',
            ('Default', 'MigrationLocalMailboxRestore'),
            ('Default', 'MigrationLocalMailboxRestore'),
            None,
            '2010+2013+2016+2019+SE',
        ),
        ('SourceMailbox', 'SourceMailbox', ('SourceMailbox',), ('SourceMailbox',), None, '2016+2019+SE'),
        (
            'SourceStoreMailbox',
            'StoreMailboxIdParameter',
            ('Default', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId'),
            ('Default', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId'),
            None,
            '2010+2013+2016+2019+SE',
        ),
        (
            'TargetMailbox',
            'MailboxLocationIdParameter',
            ('Default', 'CrossTenantRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            ('Default', 'CrossTenantRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            None,
            '2016+2019+SE',
        ),
        ('AcceptLargeDataLoss', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('AllowLegacyDNMismatch', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('AssociatedMessagesCopyOption', 'FAICopyOption', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('BadItemLimit', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('BatchName', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        (
            'CompletedRequestAgeLimit',
            'Unlimited',
            ('CrossTenantRestore', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            (),
            None,
            '2013+2016+2019+SE',
        ),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ConflictResolutionOption', 'ConflictResolutionOption', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ExcludeDumpster', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ExcludeFolders', 'String[]', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IncludeFolders', 'String[]', ALL, (), None, '2010+2013+2016+2019+SE'),
        (
            'InternalFlags',
            'InternalMrsFlag[]',
            ('MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            (),
            None,
            '2013+2016+2019+SE',
        ),
        (
            'LargeItemLimit',
            'Unlimited',
            ('CrossTenantRestore', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            (),
            None,
            '2013+2016+2019+SE',
        ),
        ('MRSServer', 'Fqdn', ('Default',), (), None, '2010'),
        ('Name', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        (
            'Priority',
            'RequestPriority',
            ('Default', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            (),
            None,
            '2010+2013+2016+2019+SE',
        ),
        (
            'RequestExpiryInterval',
            'Unlimited',
            ('MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'SourceMailbox'),
            (),
            None,
            '2016+2019+SE',
        ),
        (
            'SkipMerging',
            'SkippableMergeComponent[]',
            ('CrossTenantRestore', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            (),
            None,
            '2013+2016+2019+SE',
        ),
        ('SourceIsArchive', 'SwitchParameter', ('SourceMailbox',), (), None, '2016+2019+SE'),
        ('SourceRootFolder', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Suspend', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('SuspendComment', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('TargetIsArchive', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('TargetRootFolder', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        (
            'TargetType',
            'TargetTypeComponent',
            ('CrossTenantRestore', 'MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'SourceMailbox'),
            (),
            None,
            '2016+2019+SE',
        ),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        (
            'WorkloadType',
            'RequestWorkloadType',
            ('MigrationLocalMailboxRestore', 'RemoteMailboxRestoreMailboxLocationId', 'RemoteMailboxRestoreMailboxId', 'SourceMailbox'),
            (),
            None,
            '2013+2016+2019+SE',
        ),
    ),
    "Get-MailboxRestoreRequest": (
        ('Identity', 'MailboxRestoreRequestIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('BatchName', 'String', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('HighPriority', 'Boolean', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
        ('Name', 'String', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
        ('RequestQueue', 'DatabaseIdParameter', ('Filtering',), (), None, '2013+2016+2019+SE'),
        ('ResultSize', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('SourceDatabase', 'DatabaseIdParameter', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
        ('Status', 'RequestStatus', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
        ('Suspend', 'Boolean', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
        ('TargetDatabase', 'DatabaseIdParameter', ('Filtering',), (), None, '2010'),
        ('TargetMailbox', 'MailboxOrMailUserIdParameter', ('Filtering',), (), None, '2010+2013+2016+2019+SE'),
    ),
    "Get-MailboxRestoreRequestStatistics": (
        (
            'Identity',
            'MailboxRestoreRequestIdParameter',
            ('IdentityOnPremises', 'IdentityCloud'),
            ('IdentityOnPremises', 'IdentityCloud'),
            1,
            '2010+2013+2016+2019+SE',
        ),
        ('MRSInstance', 'Fqdn', ('MigrationMRSInstance',), ('MigrationMRSInstance',), None, '2010'),
        ('RequestQueue', 'DatabaseIdParameter', ('MigrationRequestQueue',), ('MigrationRequestQueue',), None, '2010+2013+2016+2019+SE'),
        ('IncludeReport', 'SwitchParameter', ('IdentityOnPremises', 'IdentityCloud', 'MigrationRequestQueue'), (), None, '2010+2013+2016+2019+SE'),
        ('RequestGuid', 'Guid', ('MigrationMRSInstance', 'MigrationRequestQueue'), (), None, '2010+2013+2016+2019+SE'),
        ('Diagnostic', 'SwitchParameter', ('IdentityOnPremises', 'MigrationRequestQueue'), (), None, '2013+2016+2019+SE'),
        ('DiagnosticArgument', 'String', ('IdentityOnPremises', 'MigrationRequestQueue'), (), None, '2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ('IdentityOnPremises', 'MigrationMRSInstance', 'MigrationRequestQueue'), (), None, '2010+2013+2016+2019+SE'),
        ('ReportOnly', 'SwitchParameter', ('IdentityOnPremises', 'IdentityCloud', 'MigrationRequestQueue'), (), None, '2016+2019+SE'),
    ),
    "Remove-MailboxRestoreRequest": (
        ('Identity', 'MailboxRestoreRequestIdParameter', ('Identity',), ('Identity',), 1, '2010+2013+2016+2019+SE'),
        ('RequestGuid', 'Guid', ('MigrationRequestQueue',), ('MigrationRequestQueue',), None, '2010+2013+2016+2019+SE'),
        ('RequestQueue', 'DatabaseIdParameter', ('MigrationRequestQueue',), ('MigrationRequestQueue',), None, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Force', 'SwitchParameter', ('Identity',), (), None, '2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Restore-Mailbox": (
        ('Identity', 'MailboxIdParameter', ALL, ALL, 1, '2010'),
        ('RecoveryDatabase', 'DatabaseIdParameter', ALL, ALL, None, '2010'),
        ('RecoveryMailbox', 'StoreMailboxIdParameter', ALL, ALL, None, '2010'),
        ('TargetFolder', 'String', ALL, ALL, None, '2010'),
        ('AllowDuplicates', 'SwitchParameter', ALL, (), None, '2010'),
        ('AllContentKeywords', 'String[]', ALL, (), None, '2010'),
        ('AttachmentFilenames', 'String[]', ALL, (), None, '2010'),
        ('BadItemLimit', 'Int32', ALL, (), None, '2010'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010'),
        ('ContentKeywords', 'String[]', ALL, (), None, '2010'),
        ('EndDate', 'DateTime', ALL, (), None, '2010'),
        ('ExcludeFolders', 'MapiFolderPath[]', ALL, (), None, '2010'),
        ('GlobalCatalog', 'Fqdn', ALL, (), None, '2010'),
        ('IncludeFolders', 'MapiFolderPath[]', ALL, (), None, '2010'),
        ('Locale', 'CultureInfo', ALL, (), None, '2010'),
        ('MaxThreads', 'Int32', ALL, (), None, '2010'),
        ('RecipientKeywords', 'String[]', ALL, (), None, '2010'),
        ('SenderKeywords', 'String[]', ALL, (), None, '2010'),
        ('StartDate', 'DateTime', ALL, (), None, '2010'),
        ('SubjectKeywords', 'String[]', ALL, (), None, '2010'),
        ('ValidateOnly', 'SwitchParameter', ALL, (), None, '2010'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010'),
    ),
    "Connect-Mailbox": (
        ('Identity', 'StoreMailboxIdParameter', ALL, ALL, 1, '2010+2013+2016+2019+SE'),
        ('Database', 'DatabaseIdParameter', ALL, ALL, 2, '2010+2013+2016+2019+SE'),
        ('Equipment', 'SwitchParameter', ('Equipment',), ('Equipment',), None, '2010+2013+2016+2019+SE'),
        ('LinkedDomainController', 'Fqdn', ('Linked',), ('Linked',), None, '2010+2013+2016+2019+SE'),
        ('LinkedMasterAccount', 'UserIdParameter', ('Linked',), ('Linked',), None, '2010+2013+2016+2019+SE'),
        ('Room', 'SwitchParameter', ('Room',), ('Room',), None, '2010+2013+2016+2019+SE'),
        ('Shared', 'SwitchParameter', ('Shared',), ('Shared',), None, '2010+2013+2016+2019+SE'),
        ('ValidateOnly', 'SwitchParameter', ('ValidateOnly',), ('ValidateOnly',), None, '2010+2013+2016+2019+SE'),
        ('ActiveSyncMailboxPolicy', 'MailboxPolicyIdParameter', ('Equipment', 'Linked', 'Room', 'Shared', 'User'), (), None, '2010+2013+2016+2019+SE'),
        ('AddressBookPolicy', 'AddressBookMailboxPolicyIdParameter', ('User',), (), None, '2010+2013+2016+2019+SE'),
        ('Alias', 'String', ('Equipment', 'Linked', 'Room', 'Shared', 'User'), (), None, '2010+2013+2016+2019+SE'),
        ('AllowLegacyDNMismatch', 'SwitchParameter', ('User',), (), None, '2013+2016+2019+SE'),
        ('Archive', 'SwitchParameter', ('User',), (), None, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Force', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('LinkedCredential', 'PSCredential', ('Linked',), (), None, '2010+2013+2016+2019+SE'),
        ('ManagedFolderMailboxPolicy', 'MailboxPolicyIdParameter', ('Equipment', 'Linked', 'Room', 'Shared', 'User'), (), None, '2010+2013+2016+2019+SE'),
        ('ManagedFolderMailboxPolicyAllowed', 'SwitchParameter', ('Equipment', 'Linked', 'Room', 'Shared', 'User'), (), None, '2010+2013+2016+2019+SE'),
        ('RetentionPolicy', 'MailboxPolicyIdParameter', ('Equipment', 'Linked', 'Room', 'Shared', 'User'), (), None, '2010+2013+2016+2019+SE'),
        ('User', 'UserIdParameter', ('Equipment', 'Linked', 'Room', 'Shared', 'User'), (), None, '2010+2013+2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "New-MailboxRepairRequest": (
        ('Database', 'DatabaseIdParameter', ('Database',), ('Database',), 1, '2010+2013+2016+2019+SE'),
        ('Mailbox', 'MailboxIdParameter', ('Mailbox',), ('Mailbox',), 1, '2010+2013+2016+2019+SE'),
        ('StoreMailbox', 'StoreMailboxIdParameter', ('Database',), (), 1, '2013+2016+2019+SE'),
        ('CorruptionType', 'MailboxStoreCorruptionType[]', ALL, ALL, None, '2010+2013+2016+2019+SE'),
        ('Archive', 'SwitchParameter', ('Mailbox',), (), None, '2010+2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DetectOnly', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Force', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Get-MailboxRepairRequest": (
        ('Identity', 'StoreIntegrityCheckJobIdParameter', ('Identity',), ('Identity',), 1, '2013+2016+2019+SE'),
        ('Database', 'DatabaseIdParameter', ('Database',), ('Database',), 1, '2013+2016+2019+SE'),
        ('Mailbox', 'MailboxIdParameter', ('Mailbox',), ('Mailbox',), 1, '2013+2016+2019+SE'),
        ('StoreMailbox', 'StoreMailboxIdParameter', ('Database',), (), 1, '2013+2016+2019+SE'),
        ('Archive', 'SwitchParameter', ('Mailbox',), (), None, '2013+2016+2019+SE'),
        ('Detailed', 'SwitchParameter', ('Identity',), (), None, '2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2013+2016+2019+SE'),
    ),
    "Update-StoreMailboxState": (
        ('Database', 'DatabaseIdParameter', ALL, ALL, None, '2013+2016+2019+SE'),
        ('Identity', 'StoreMailboxIdParameter', ALL, ALL, None, '2013+2016+2019+SE'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
    ),
    "Clean-MailboxDatabase": (
        ('Identity', 'DatabaseIdParameter', ALL, ALL, 1, '2010'),
        ('Confirm', 'SwitchParameter', ALL, (), None, '2010'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010'),
        ('WhatIf', 'SwitchParameter', ALL, (), None, '2010'),
    ),
    "Get-ExchangeServer": (
        ('Identity', 'ServerIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('Domain', 'Fqdn', ('Domain',), ('Domain',), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Status', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Get-User": (
        ('Identity', 'UserIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('Anr', 'String', ('AnrSet',), (), None, '2010+2013+2016+2019+SE'),
        ('Arbitration', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('AuditLog', 'SwitchParameter', ALL, (), None, '2016+2019+SE'),
        ('AuxAuditLog', 'SwitchParameter', ALL, (), None, '2016+2019+SE'),
        ('Credential', 'PSCredential', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Filter', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IgnoreDefaultScope', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('OrganizationalUnit', 'OrganizationalUnitIdParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('PublicFolder', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('ReadFromDomainController', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('RecipientTypeDetails', 'RecipientTypeDetails[]', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ResultSize', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('SortBy', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Get-Mailbox": (
        ('Identity', 'MailboxIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('Anr', 'String', ('AnrSet',), (), None, '2010+2013+2016+2019+SE'),
        ('Database', 'DatabaseIdParameter', ('DatabaseSet',), (), None, '2010+2013+2016+2019+SE'),
        ('Server', 'ServerIdParameter', ('ServerSet',), (), None, '2010+2013+2016+2019+SE'),
        ('Arbitration', 'SwitchParameter', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2010+2013+2016+2019+SE'),
        ('Archive', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('AuditLog', 'SwitchParameter', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2016+2019+SE'),
        ('AuxAuditLog', 'SwitchParameter', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2016+2019+SE'),
        ('Credential', 'PSCredential', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2010+2013+2016+2019+SE'),
        ('Filter', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('IgnoreDefaultScope', 'SwitchParameter', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2010+2013+2016+2019+SE'),
        ('Monitoring', 'SwitchParameter', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2013+2016+2019+SE'),
        ('OrganizationalUnit', 'OrganizationalUnitIdParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('PublicFolder', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
        ('ReadFromDomainController', 'SwitchParameter', ('AnrSet', 'DatabaseSet', 'Identity', 'ServerSet'), (), None, '2010+2013+2016+2019+SE'),
        ('RecipientTypeDetails', 'RecipientTypeDetails[]', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ResultSize', 'Unlimited', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('SortBy', 'String', ALL, (), None, '2010+2013+2016+2019+SE'),
    ),
    "Get-MailboxDatabaseCopyStatus": (
        ('Identity', 'DatabaseCopyIdParameter', ('Identity',), (), 1, '2010+2013+2016+2019+SE'),
        ('Server', 'MailboxServerIdParameter', ('Server',), ('Server',), None, '2010+2013+2016+2019+SE'),
        ('Active', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('ConnectionStatus', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('DomainController', 'Fqdn', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('Local', 'SwitchParameter', ('Identity',), (), None, '2010+2013+2016+2019+SE'),
        ('ExtendedErrorInfo', 'SwitchParameter', ALL, (), None, '2010+2013+2016+2019+SE'),
        ('UseServerCache', 'SwitchParameter', ALL, (), None, '2013+2016+2019+SE'),
    ),
}

# Exchange 2007 (E07: the Exchange 2007 library, exchg.80; lower confidence than the 2010+ pages).
_E07 = "2007"
EXCHANGE_2007: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Get-MailboxDatabase": (
        ("Identity", "DatabaseIdParameter", ("Identity",), (), 1, _E07),
        ("Server", "ServerIdParameter", ("Server",), ("Server",), None, _E07),
        ("StorageGroup", "StorageGroupIdParameter", ("StorageGroup",), ("StorageGroup",), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("IncludePreExchange2007", "SwitchParameter", ALL, (), None, _E07),
        ("Status", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Get-PublicFolderDatabase": (
        ("Identity", "DatabaseIdParameter", ("Identity",), (), 1, _E07),
        ("Server", "ServerIdParameter", ("Server",), ("Server",), None, _E07),
        ("StorageGroup", "StorageGroupIdParameter", ("StorageGroup",), ("StorageGroup",), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("IncludePreExchange2007", "SwitchParameter", ALL, (), None, _E07),
        ("Status", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Get-StorageGroup": (
        ("Identity", "StorageGroupIdParameter", ("Identity",), (), 1, _E07),
        ("Server", "ServerIdParameter", ("Server",), ("Server",), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
    ),
    "New-StorageGroup": (
        ("Name", "String", ALL, ALL, 1, _E07),
        ("Server", "ServerIdParameter", ALL, ALL, None, _E07),
        ("LogFolderPath", "NonRootLocalLongFullPath", ALL, (), None, _E07),
        ("SystemFolderPath", "NonRootLocalLongFullPath", ALL, (), None, _E07),
        ("Recovery", "SwitchParameter", ALL, (), None, _E07),
        ("CircularLoggingEnabled", "Boolean", ALL, (), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Remove-StorageGroup": (
        ("Identity", "StorageGroupIdParameter", ALL, ALL, 1, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "New-MailboxDatabase": (
        ("Name", "String", ("NonRecovery",), ("NonRecovery",), 1, _E07),
        ("MailboxDatabaseToRecover", "DatabaseIdParameter", ("Recovery",), ("Recovery",), None, _E07),
        ("StorageGroup", "StorageGroupIdParameter", ALL, ALL, None, _E07),
        ("EdbFilePath", "EdbFilePath", ALL, (), None, _E07),
        ("OfflineAddressBook", "OfflineAddressBookIdParameter", ("NonRecovery",), (), None, _E07),
        ("PublicFolderDatabase", "DatabaseIdParameter", ("NonRecovery",), (), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Remove-MailboxDatabase": (
        ("Identity", "DatabaseIdParameter", ALL, ALL, 1, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Mount-Database": (
        ("Identity", "DatabaseIdParameter", ALL, ALL, 1, _E07),
        ("AcceptDataLoss", "SwitchParameter", ALL, (), None, _E07),
        ("Force", "SwitchParameter", ALL, (), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Dismount-Database": (
        ("Identity", "DatabaseIdParameter", ALL, ALL, 1, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Set-MailboxDatabase": tuple(
        (name, kind, ALL, ALL if name == "Identity" else (), 1 if name == "Identity" else None, _E07)
        for name, kind in (
            ("Identity", "DatabaseIdParameter"),
            ("AllowFileRestore", "Boolean"),
            ("DeletedItemRetention", "EnhancedTimeSpan"),
            ("MailboxRetention", "EnhancedTimeSpan"),
            ("RetainDeletedItemsUntilBackup", "Boolean"),
            ("MountAtStartup", "Boolean"),
            ("Name", "String"),
            ("EventHistoryRetentionPeriod", "EnhancedTimeSpan"),
            ("IndexEnabled", "Boolean"),
            ("IssueWarningQuota", "Unlimited"),
            ("ProhibitSendQuota", "Unlimited"),
            ("ProhibitSendReceiveQuota", "Unlimited"),
            ("JournalRecipient", "RecipientIdParameter"),
            ("MaintenanceSchedule", "Schedule"),
            ("OfflineAddressBook", "OfflineAddressBookIdParameter"),
            ("PublicFolderDatabase", "DatabaseIdParameter"),
            ("QuotaNotificationSchedule", "Schedule"),
            ("DomainController", "Fqdn"),
            ("Confirm", "SwitchParameter"),
            ("WhatIf", "SwitchParameter"),
        )
    ),
    "Set-PublicFolderDatabase": tuple(
        (name, kind, ALL, ALL if name == "Identity" else (), 1 if name == "Identity" else None, _E07)
        for name, kind in (
            ("Identity", "DatabaseIdParameter"),
            ("AllowFileRestore", "Boolean"),
            ("DeletedItemRetention", "EnhancedTimeSpan"),
            ("RetainDeletedItemsUntilBackup", "Boolean"),
            ("MountAtStartup", "Boolean"),
            ("ItemRetentionPeriod", "Unlimited"),
            ("Name", "String"),
            ("DomainController", "Fqdn"),
            ("Confirm", "SwitchParameter"),
            ("WhatIf", "SwitchParameter"),
        )
    ),
    "Get-MailboxStatistics": (
        ("Identity", "GeneralMailboxIdParameter", ("Identity",), ("Identity",), 1, _E07),
        ("Database", "DatabaseIdParameter", ("Database",), ("Database",), None, _E07),
        ("Server", "ServerIdParameter", ("Server",), ("Server",), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
    ),
    "Restore-Mailbox": (
        ("Identity", "MailboxIdParameter", ALL, ALL, 1, _E07),
        ("RSGDatabase", "DatabaseIdParameter", ALL, ALL, None, _E07),
        ("RSGMailbox", "MailboxIdParameter", ALL, (), None, _E07),
        ("TargetFolder", "String", ALL, (), None, _E07),
        ("AllowDuplicates", "SwitchParameter", ALL, (), None, _E07),
        ("BadItemLimit", "Int32", ALL, (), None, _E07),
        ("IncludeFolders", "MapiFolderPath[]", ALL, (), None, _E07),
        ("ExcludeFolders", "MapiFolderPath[]", ALL, (), None, _E07),
        ("StartDate", "DateTime", ALL, (), None, _E07),
        ("EndDate", "DateTime", ALL, (), None, _E07),
        ("SubjectKeywords", "String[]", ALL, (), None, _E07),
        ("ContentKeywords", "String[]", ALL, (), None, _E07),
        ("MaxThreads", "Int32", ALL, (), None, _E07),
        ("ValidateOnly", "SwitchParameter", ALL, (), None, _E07),
        ("GlobalCatalog", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Connect-Mailbox": (
        ("Identity", "StoreMailboxIdParameter", ALL, ALL, 1, _E07),
        ("Database", "DatabaseIdParameter", ALL, ALL, 2, _E07),
        ("User", "UserIdParameter", ("User",), ("User",), None, _E07),
        ("ValidateOnly", "SwitchParameter", ("ValidateOnly",), ("ValidateOnly",), None, _E07),
        ("Alias", "String", ("User",), (), None, _E07),
        ("ManagedFolderMailboxPolicy", "MailboxPolicyIdParameter", ("User",), (), None, _E07),
        ("ManagedFolderMailboxPolicyAllowed", "SwitchParameter", ("User",), (), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Get-ExchangeServer": (
        ("Identity", "ServerIdParameter", ("Identity",), (), 1, _E07),
        ("Domain", "Fqdn", ("Domain",), ("Domain",), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Status", "SwitchParameter", ALL, (), None, _E07),
    ),
    "Get-User": (
        ("Identity", "UserIdParameter", ("Identity",), (), 1, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Filter", "String", ALL, (), None, _E07),
        ("IgnoreDefaultScope", "SwitchParameter", ALL, (), None, _E07),
        ("OrganizationalUnit", "OrganizationalUnitIdParameter", ALL, (), None, _E07),
        ("ReadFromDomainController", "SwitchParameter", ALL, (), None, _E07),
        ("RecipientTypeDetails", "RecipientTypeDetails[]", ALL, (), None, _E07),
        ("ResultSize", "Unlimited", ALL, (), None, _E07),
        ("SortBy", "String", ALL, (), None, _E07),
    ),
    "Get-Mailbox": (
        ("Identity", "MailboxIdParameter", ("Identity",), (), 1, _E07),
        ("Anr", "String", ("AnrSet",), (), None, _E07),
        ("Database", "DatabaseIdParameter", ("DatabaseSet",), (), None, _E07),
        ("Server", "ServerIdParameter", ("ServerSet",), (), None, _E07),
        ("StorageGroup", "StorageGroupIdParameter", ("StorageGroupSet",), (), None, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Filter", "String", ALL, (), None, _E07),
        ("IgnoreDefaultScope", "SwitchParameter", ALL, (), None, _E07),
        ("OrganizationalUnit", "OrganizationalUnitIdParameter", ALL, (), None, _E07),
        ("ReadFromDomainController", "SwitchParameter", ALL, (), None, _E07),
        ("RecipientTypeDetails", "RecipientTypeDetails[]", ALL, (), None, _E07),
        ("ResultSize", "Unlimited", ALL, (), None, _E07),
        ("SortBy", "String", ALL, (), None, _E07),
    ),
    "Clean-MailboxDatabase": (
        ("Identity", "DatabaseIdParameter", ALL, ALL, 1, _E07),
        ("DomainController", "Fqdn", ALL, (), None, _E07),
        ("Confirm", "SwitchParameter", ALL, (), None, _E07),
        ("WhatIf", "SwitchParameter", ALL, (), None, _E07),
    ),
}
# Rows of the 2010+ pages that are known to be incomplete for on-premises servers: (cmdlet, parameter) -> releases.
DOCUMENTED_CORRECTIONS = {
    # the page's single TargetMailbox section lists 2016+ only; 2010 SP1 and 2013 take -TargetMailbox too (their own pages,
    # and every example of ODX DR/restore-data-using-recovery-dbs.md)
    ("New-MailboxRestoreRequest", "TargetMailbox"): "2010+2013+2016+2019+SE",
}


def _build(rows_by_cmdlet: dict[str, tuple[tuple[Any, ...], ...]], corrections: dict[tuple[str, str], str]) -> dict[str, CmdletSpec]:
    specs: dict[str, CmdletSpec] = {}
    for cmdlet, rows in rows_by_cmdlet.items():
        parameters: dict[str, Parameter] = {}
        sets: list[str] = []
        for name, kind, in_sets, mandatory, position, documented in rows:
            releases = corrections.get((cmdlet, name), documented)
            parameters[name.lower()] = Parameter(name, kind, in_sets, mandatory, position, _products(releases))
            for s in in_sets if in_sets != ALL else ():
                if s not in sets:
                    sets.append(s)
        specs[cmdlet.lower()] = CmdletSpec(cmdlet, parameters, tuple(sets) or ("Default",))
    return specs


# The default parameter set where a call can fit more than one (the pages list sets in no particular order): the set a
# call without its distinguishing parameters means - Get-* without -Server/-Database lists by identity (or all),
# New-MailboxDatabase without -Recovery creates an ordinary database, Connect-Mailbox without a mailbox type connects a user.
DEFAULT_SETS = {
    "Get-MailboxDatabase": "Identity",
    "Get-PublicFolderDatabase": "Identity",
    "Get-StorageGroup": "Identity",
    "Get-MailboxDatabaseCopyStatus": "Identity",
    "Get-ExchangeServer": "Identity",
    "Get-MailboxStatistics": "Identity",
    "Get-MailboxRestoreRequest": "Identity",
    "Get-MailboxRestoreRequestStatistics": "IdentityOnPremises",
    "New-MailboxDatabase": "NonRecovery",
    "New-MailboxRestoreRequest": "Default",
    "Connect-Mailbox": "User",
    "Get-User": "Identity",
    "Get-Mailbox": "Identity",
}
SPECS_2010: dict[str, CmdletSpec] = _build(DOCUMENTED, DOCUMENTED_CORRECTIONS)
SPECS_2007: dict[str, CmdletSpec] = _build(EXCHANGE_2007, {})


def spec_for(cmdlet: str, product: str) -> CmdletSpec | None:
    table = SPECS_2007 if product == "2007" else SPECS_2010
    spec = table.get(cmdlet.lower())
    if spec is None or (product != "2007" and product not in spec.products()):
        return None
    return spec


# -- binding ----------------------------------------------------------------------------------------------------------------
def bind(cmdlet: str, product: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """PowerShell's parameter binding for a call with named parameters: (the parameter set, the bound values by canonical
    name). Raises CmdletError as PowerShell would."""
    spec = spec_for(cmdlet, product)
    if spec is None:
        raise CmdletError(
            f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the "
            "spelling of the name, or if a path was included, verify that the path is correct and try again.",
            "CommandNotFoundException",
        )
    bound: dict[str, Any] = {}
    for given, value in args.items():
        if given.lower() in COMMON_PARAMETERS:
            continue
        param = spec.parameters.get(given.lower())
        if param is None or product not in param.products:
            raise CmdletError(f"A parameter cannot be found that matches parameter name '{given}'.", "ParameterBindingException")
        bound[param.name] = _convert(param, value)
    available = [s for s in spec.sets if any(p.sets == ALL or s in p.sets for p in spec.parameters.values() if product in p.products)]
    candidates = [s for s in available if all(spec.parameters[n.lower()].sets == ALL or s in spec.parameters[n.lower()].sets for n in bound)]
    if not candidates:
        raise CmdletError("Parameter set cannot be resolved using the specified named parameters.", "ParameterBindingException")
    complete = [s for s in candidates if not _missing(spec, s, product, bound)]
    if not complete:
        missing = _missing(spec, candidates[0], product, bound)
        raise CmdletError(f"Cannot process command because of one or more missing mandatory parameters: {' '.join(missing)}.", "ParameterBindingException")
    if len(complete) > 1:
        # more than one set fits: PowerShell takes the cmdlet's default parameter set when it is one of them
        default = DEFAULT_SETS.get(spec.name)
        if default in complete:
            return default, bound
    return complete[0], bound


def _mandatory_in(p: Parameter, set_name: str) -> bool:
    return p.mandatory == ALL or set_name in p.mandatory


def _missing(spec: CmdletSpec, set_name: str, product: str, bound: dict[str, Any]) -> list[str]:
    return [
        p.name
        for p in spec.parameters.values()
        if product in p.products and (p.sets == ALL or set_name in p.sets) and _mandatory_in(p, set_name) and p.name not in bound
    ]


_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# More parameter types, registered by the modules that add cmdlets (type name -> converter(param, value, fail)); consulted
# before the types below. Issue 13 (dr_kit_cmdlets.py) adds Uri, Hostname, SecureString, Byte[] and the enums it binds.
CONVERTERS: dict[str, Callable[[Parameter, Any, Callable[..., CmdletError]], Any]] = {}


def _convert(param: Parameter, value: Any) -> Any:
    kind = param.type

    def fail(reason: str = "") -> CmdletError:
        return CmdletError(
            f"Cannot process argument transformation on parameter '{param.name}'. Cannot convert value \"{value}\" to type "
            f"\"{kind}\".{(' Error: ' + reason) if reason else ''}",
            "ParameterBindingArgumentTransformationException",
        )

    if kind in CONVERTERS:
        return CONVERTERS[kind](param, value, fail)

    if kind in {"SwitchParameter", "Boolean"}:
        if not isinstance(value, bool):
            raise fail("expected $true or $false")
        return value
    if kind in ("Int32", "Int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail()
        return value
    if kind == "UInt32":  # ActivationPreference: a negative number does not convert
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail("Value was either too large or too small for a UInt32.")
        return value
    if kind == "Byte[]":  # New-EdgeSubscription -FileData ([System.IO.File]::ReadAllBytes(...))
        if not isinstance(value, (bytes, bytearray)):
            raise fail()
        return bytes(value)
    if kind.endswith("[]") or kind == "MultiValuedProperty":
        values = value if isinstance(value, list) else [value]
        if any(not isinstance(v, str) or not v for v in values):
            raise fail()
        return list(values)
    if kind == "EnhancedTimeSpan":
        try:
            model.parse_timespan(value)
        except ValueError as e:
            raise fail(str(e)) from None
        return str(value)
    if kind == "Unlimited":
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value)):
            raise fail()
        return value
    if kind == "Guid":
        if not isinstance(value, str) or not _GUID.match(value):
            raise fail()
        return value
    if kind in ("EdbFilePath", "NonRootLocalLongFullPath"):
        if not isinstance(value, str) or not re.match(r"^[A-Za-z]:\\.+", value):
            raise fail("the path must be a full local path that is not a root folder")
        if kind == "EdbFilePath" and not value.casefold().endswith(".edb"):
            raise fail("the file name must end in .edb")
        return value
    if kind == "PSCredential":
        return value
    if not isinstance(value, str) or not value.strip():
        raise fail()
    return value


# -- behaviour ----------------------------------------------------------------------------------------------------------------
Behaviour = Callable[["ExchangeShell", str, dict[str, Any]], list[dict[str, Any]]]
BEHAVIOURS: dict[str, Behaviour] = {}


def behaviour(name: str) -> Callable[[Behaviour], Behaviour]:
    def register(fn: Behaviour) -> Behaviour:
        BEHAVIOURS[name.lower()] = fn
        return fn

    return register


# Cmdlets that came with a service pack of 2010, from the controller's capability table (plugin_utils/_exchange_databases.py:
# mailbox restore and repair requests since 2010 SP1; the PS pages' "Applicable: Exchange Server 2010" does not say which SP).
SINCE_2010_SP = {
    cmdlet.split()[0].lower(): capability.since[1]
    for capability in CAPABILITIES.values()
    if capability.since[0] == "2010" and capability.since[1] > 0
    for cmdlet in capability.cmdlets
}


def available(product: str, version: str, cmdlet: str) -> bool:
    """Whether a release (product and build) has a cmdlet."""
    if spec_for(cmdlet, product) is None:
        return False
    level = SINCE_2010_SP.get(cmdlet.lower())
    return not (product == "2010" and level is not None and int(version.split(".")[1]) < level)


def run(shell: ExchangeShell, cmdlet: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    if spec_for(cmdlet, shell.product) is not None and not available(shell.product, shell.version, cmdlet):
        raise CmdletError(
            f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the "
            "spelling of the name, or if a path was included, verify that the path is correct and try again.",
            "CommandNotFoundException",
        )
    set_name, bound = bind(cmdlet, shell.product, args)
    fn = BEHAVIOURS.get(cmdlet.lower())
    if fn is None:
        raise NotModelled(spec_for(cmdlet, shell.product).name)  # type: ignore[union-attr]
    return fn(shell, set_name, bound)


def _not_found(shell: ExchangeShell, identity: str) -> CmdletError:
    dc = shell.domain_controller or (shell.domain.name if shell.domain else "the directory")
    return CmdletError(f"The operation couldn't be performed because object '{identity}' couldn't be found on '{dc}'.", "ManagementObjectNotFoundException")


def _database(shell: ExchangeShell, identity: str, kind: str | None = None) -> model.DatabaseObject:
    """DatabaseIdParameter: a name, GUID or (2007) Server\\StorageGroup\\Name; a name several databases have is refused
    as Exchange refuses it (ManagementObjectAmbiguousException)."""
    org = shell.organization
    found = [d for d in (org.find_databases(identity) if org else []) if kind is None or d.kind == kind]
    if not found:
        raise _not_found(shell, identity)
    if len(found) > 1:
        raise CmdletError(f"The operation couldn't be performed because '{identity}' matches multiple entries.", "ManagementObjectAmbiguousException")
    return found[0]


def _server_name(shell: ExchangeShell, identity: str) -> str:
    name = str(identity).split(".", maxsplit=1)[0].upper()
    org = shell.organization
    if org is None or name not in org.servers:
        raise _not_found(shell, identity)
    return name


def _mounted(shell: ExchangeShell, db: model.DatabaseObject) -> bool | None:
    host = shell.host_of(db.server)
    return store.is_mounted(host, db) if host is not None else None


def database_object(shell: ExchangeShell, db: model.DatabaseObject, status: bool) -> dict[str, Any]:
    """A MailboxDatabase / PublicFolderDatabase object with the properties the collection reads, named as Exchange names
    them. Mounted is only filled with -Status (PS Get-MailboxDatabase). 2007 objects have no log paths of their own (the
    storage group has them) and no DAG properties."""
    legacy = shell.product == "2007"
    obj: dict[str, Any] = {
        "Name": db.name,
        "Identity": f"{db.server}\\{db.storage_group}\\{db.name}" if legacy else db.name,
        "Guid": db.guid,
        "Server": db.server,
        "EdbFilePath": db.edb_file_path,
        "Recovery": db.recovery,
        "AllowFileRestore": db.allow_file_restore,
        "MountAtStartup": db.mount_at_startup,
        "DeletedItemRetention": db.deleted_item_retention,
        "RetainDeletedItemsUntilBackup": db.retain_deleted_items_until_backup,
        "IsMailboxDatabase": db.kind == "mailbox",
        "IsPublicFolderDatabase": db.kind == "public_folder",
        "Mounted": _mounted(shell, db) if status else None,
    }
    if db.kind == "mailbox":
        obj["MailboxRetention"] = db.mailbox_retention
    if legacy:
        obj["StorageGroup"] = f"{db.server}\\{db.storage_group}"
        obj["StorageGroupName"] = db.storage_group
    else:
        obj.update(
            LogFolderPath=db.log_folder_path,
            LogFilePrefix=db.log_prefix,
            CircularLoggingEnabled=db.circular_logging,
            ReplicationType="Remote" if len(db.copies) > 1 else "None",
            Servers=list(db.copies),
            MasterType="DatabaseAvailabilityGroup" if len(db.copies) > 1 else "Server",
        )
        from simulator.exchange import dag  # DAG copies (dag.py imports this module)

        obj.update(dag.copy_properties(shell, db))
    return obj


def _databases(shell: ExchangeShell, set_name: str, bound: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    org = shell.organization
    if org is None:
        return []
    if set_name == "Identity" and "Identity" in bound:
        chosen = [_database(shell, bound["Identity"], kind)]
    elif set_name == "Server":
        server = _server_name(shell, bound["Server"])
        chosen = [d for d in org.databases_of(server) if d.kind == kind]
    elif set_name == "StorageGroup":
        group = str(bound["StorageGroup"]).rsplit("\\", maxsplit=1)[-1]
        chosen = [d for d in org.databases.values() if d.kind == kind and (d.storage_group or "").casefold() == group.casefold()]
    else:
        chosen = [d for d in org.databases.values() if d.kind == kind]
    if shell.product != "2007":
        legacy = {n for n, s in org.servers.items() if s.version.startswith(("8.", "14.") if shell.product != "2010" else ("8.",))}
        include = bound.get("IncludePreExchange2013") or bound.get("IncludePreExchange2010")
        chosen = [d for d in chosen if include or d.server not in legacy]
    status = bool(bound.get("Status"))
    return [database_object(shell, d, status) for d in sorted(chosen, key=lambda d: d.name.casefold())]


@behaviour("Get-MailboxDatabase")
def get_mailbox_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _databases(shell, set_name, bound, "mailbox")


@behaviour("Get-PublicFolderDatabase")
def get_public_folder_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _databases(shell, set_name, bound, "public_folder")


@behaviour("Get-StorageGroup")
def get_storage_group(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    groups = list(org.storage_groups.values()) if org else []
    if set_name == "Server":
        server = _server_name(shell, bound["Server"])
        groups = [g for g in groups if g.server == server]
    elif "Identity" in bound:
        groups = [storage_group(shell, bound["Identity"])]
    return [
        {
            "Name": g.name,
            "Identity": g.identity,
            "Server": g.server,
            "LogFolderPath": g.log_folder_path,
            "SystemFolderPath": g.system_folder_path,
            "LogFilePrefix": g.log_prefix,
            "Recovery": g.recovery,
            "CircularLoggingEnabled": g.circular_logging,
        }
        for g in sorted(groups, key=lambda g: g.name.casefold())
    ]


@behaviour("Get-ExchangeServer")
def get_exchange_server(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    servers = list(org.servers.values()) if org else []
    if "Identity" in bound:
        name = _server_name(shell, bound["Identity"])
        servers = [s for s in servers if s.name == name]
    return [
        {
            "Name": s.name,
            "Fqdn": f"{s.name}.{shell.domain.name}".lower() if shell.domain else s.name,
            "AdminDisplayVersion": s.display_version(),
            "ServerRole": ", ".join(s.roles),
        }
        for s in sorted(servers, key=lambda s: s.name)
    ]


@behaviour("Get-MailboxStatistics")
def get_mailbox_statistics(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """-Database: every mailbox in the store of a mounted database (connected, disconnected and, in a recovery database,
    the restored ones); -Identity: one mailbox user's mailbox (nothing for a mailbox that holds no content yet, where
    Exchange warns that the user hasn't logged on)."""
    if set_name == "Identity":
        org = shell.organization
        mailbox = org.find_mailbox(bound["Identity"]) if org else None
        if mailbox is None or mailbox.database is None:
            raise _not_found(shell, bound["Identity"])
        db = org.databases.get(mailbox.database) or _database(shell, mailbox.database, "mailbox")
        header = mounted_header(shell, db)
        return [_statistics(m, db, shell.product) for m in header.get("mailboxes") or [] if store_mailbox_matches(m, mailbox)]
    if set_name != "Database":
        raise NotModelled(f"Get-MailboxStatistics -{set_name}")
    db = _database(shell, bound["Database"], "mailbox")
    header = mounted_header(shell, db)
    return [_statistics(m, db, shell.product) for m in header.get("mailboxes") or []]


def mounted_header(shell: ExchangeShell, db: model.DatabaseObject) -> dict[str, Any]:
    """The header (with the store's mailboxes) of a mounted database; what the store answers for a dismounted one."""
    host = shell.host_of(db.server)
    if host is None or not store.is_mounted(host, db):
        raise CmdletError(f"The database '{db.name}' isn't mounted; mailbox statistics come from a mounted database (modelled).", "MapiExceptionNotFound")
    from simulator.exchange import ese

    return ese.read_database(host, db.edb_file_path)


def store_mailbox_matches(entry: dict[str, Any], mailbox: model.MailboxObject) -> bool:
    """Whether a store mailbox is a mailbox user's (its GUID, else its alias or display name when the seed gave no GUID)."""
    if str(entry.get("guid", "")).casefold() == mailbox.guid.casefold():
        return True
    alias = entry.get("alias")
    return bool(alias) and str(alias).casefold() == mailbox.alias.casefold() and not entry.get("disconnect_reason")


def byte_size(n: int) -> str:
    """A size as a deserialized ByteQuantifiedSize prints: '3.5 MB (3,670,016 bytes)'."""
    value, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    shown = f"{int(value)} B" if unit == "B" else f"{value:.{2 if value < 10 else 1}f} {unit}"
    return f"{shown} ({n:,} bytes)"


def _statistics(m: dict[str, Any], db: model.DatabaseObject, product: str) -> dict[str, Any]:
    """A MailboxStatistics object. Exchange 2007's has a DisconnectDate but no DisconnectReason (community, lower confidence:
    2007 scripts find disconnected mailboxes by DisconnectDate; SoftDeleted came with the moves of 2010 SP1)."""
    stats = {
        "DisplayName": m["display_name"],
        "MailboxGuid": m["guid"],
        "ItemCount": m.get("items", 0),
        "TotalItemSize": f"{m.get('size_bytes', 0) / (1 << 20):.2f} MB ({m.get('size_bytes', 0):,} bytes)",
        "DisconnectReason": m.get("disconnect_reason"),
        "DisconnectDate": m.get("disconnect_date"),
        "Database": db.name,
    }
    if product == "2007":
        del stats["DisconnectReason"]
    return stats


@behaviour("Mount-Database")
def mount_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db = _database(shell, bound["Identity"])
    host = shell.host_of(db.server)
    if host is None:
        raise CmdletError(
            f"Couldn't mount the database that you specified. Specified database: {db.name}; Error code: server {db.server} can't be reached (modelled)."
        )
    if bound.get("WhatIf"):
        return []
    try:
        store.mount(host, db, force=bool(bound.get("Force")), accept_data_loss=bool(bound.get("AcceptDataLoss")))
    except store.StoreError as error:
        raise CmdletError(str(error)) from None
    return []


@behaviour("Dismount-Database")
def dismount_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db = _database(shell, bound["Identity"])
    host = shell.host_of(db.server)
    if host is not None and not bound.get("WhatIf"):
        store.dismount(host, db)
    return []


_SETTABLE = {
    "AllowFileRestore": "allow_file_restore",
    "DeletedItemRetention": "deleted_item_retention",
    "MailboxRetention": "mailbox_retention",
    "RetainDeletedItemsUntilBackup": "retain_deleted_items_until_backup",
    "MountAtStartup": "mount_at_startup",
    "CircularLoggingEnabled": "circular_logging",
}


def _set_database(shell: ExchangeShell, bound: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    db = _database(shell, bound["Identity"], kind)
    unmodelled = sorted(k for k in bound if k not in _SETTABLE and k not in ("Identity", "DomainController", "Confirm", "WhatIf"))
    if unmodelled:
        raise NotModelled(f"Set-{'Mailbox' if kind == 'mailbox' else 'PublicFolder'}Database -{unmodelled[0]}")
    if bound.get("WhatIf"):
        return []
    for parameter, attribute in _SETTABLE.items():
        if parameter in bound:
            value = bound[parameter]
            setattr(db, attribute, model.format_timespan(model.parse_timespan(value)) if isinstance(value, str) else value)
    shell.save_domain()
    return []


@behaviour("Set-MailboxDatabase")
def set_mailbox_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _set_database(shell, bound, "mailbox")


@behaviour("Set-PublicFolderDatabase")
def set_public_folder_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    return _set_database(shell, bound, "public_folder")


# -- creating and removing databases and storage groups ----------------------------------------------------------------------
def _created_guid(shell: ExchangeShell, kind: str, name: str) -> str:
    """A new object's GUID: AD gives every object its own, so one made again under the same name gets another."""
    org = shell.organization
    return model.default_guid(org.organization if org else "", kind, f"{name}@{shell.host.clock.time():.6f}")


def _install_path(shell: ExchangeShell, server: str) -> str:
    org = shell.organization
    return org.servers[server].install_path.rstrip("\\") if org else r"C:\Program Files\Microsoft\Exchange Server\V15"


def _used_prefixes(shell: ExchangeShell, server: str) -> set[str]:
    org = shell.organization
    if org is None:
        return set()
    used = {d.log_prefix.upper() for d in org.databases.values() if server in d.copies}
    return used | {g.log_prefix.upper() for g in org.storage_groups.values() if g.server == server}


def _path_in_use(shell: ExchangeShell, server: str, edb: str, log_folder: str | None) -> str | None:
    org = shell.organization
    for other in org.databases.values() if org else []:
        if server not in other.copies:
            continue
        if other.edb_file_path.casefold() == edb.casefold():
            return f"The database file {edb} is already used by database {other.identity} (modelled)."
        if log_folder and not other.storage_group and other.log_folder_path.casefold() == log_folder.rstrip("\\").casefold():
            return f"The log folder {log_folder} is already used by database {other.identity} (modelled)."
    return None


def storage_group(shell: ExchangeShell, identity: str) -> model.StorageGroupObject:
    """StorageGroupIdParameter: Server\\Name or Name (2007)."""
    org = shell.organization
    server, _sep, name = str(identity).rpartition("\\")
    found = [
        g
        for g in (org.storage_groups.values() if org else [])
        if g.name.casefold() == name.casefold() and (not server or g.server.casefold() == server.split(".", maxsplit=1)[0].casefold())
    ]
    if not found:
        raise _not_found(shell, identity)
    if len(found) > 1:
        raise CmdletError(f"The operation couldn't be performed because '{identity}' matches multiple entries.", "ManagementObjectAmbiguousException")
    return found[0]


@behaviour("New-MailboxDatabase")
def new_mailbox_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """2010 and later: a mailbox database, or with -Recovery a recovery database (PS New-MailboxDatabase; each database
    needs a name unique in the organization). The cmdlet makes the log folder (2013+ -SkipDatabaseLogFolderCreation skips
    that); the EDB is created at the first mount, or is the restored file already at -EdbFilePath. 2007: a database in a
    storage group, or with -MailboxDatabaseToRecover the database of a recovery storage group, which takes the name of the
    database it recovers (facts section 4; E07)."""
    org = shell.organization
    if org is None:
        raise CmdletError("There is no Exchange organization in this simulated domain (modelled).")
    if shell.product == "2007":
        return _new_storage_group_database(shell, set_name, bound)
    server = _server_name(shell, bound["Server"])
    if org.servers[server].version.startswith("8."):
        raise CmdletError(f"The server {server} runs Exchange 2007; its databases belong to storage groups (modelled).")
    recovery = set_name == "Recovery"
    name = bound.get("Name")
    if not name:
        raise NotModelled("New-MailboxDatabase -Recovery without -Name")
    if any(d.name.casefold() == str(name).casefold() for d in org.databases.values()):
        raise CmdletError(
            f"A database named '{name}' already exists in the organization; database names are unique (modelled).", "ADObjectAlreadyExistsException"
        )
    install = _install_path(shell, server)
    edb = bound.get("EdbFilePath") or rf"{install}\Mailbox\{name}\{name}.edb"
    log_folder = str(bound.get("LogFolderPath") or rf"{install}\Mailbox\{name}").rstrip("\\")
    problem = _path_in_use(shell, server, edb, log_folder)
    if problem:
        raise CmdletError(problem)
    if bound.get("WhatIf"):
        return []
    db = model.DatabaseObject(
        name=str(name),
        server=server,
        guid=_created_guid(shell, "database", str(name)),
        edb_file_path=edb,
        log_folder_path=log_folder,
        system_folder_path=log_folder,
        log_prefix=model.next_log_prefix(_used_prefixes(shell, server)),
        recovery=recovery,
        mount_at_startup=not recovery,
        copies=[server],
    )
    org.databases[db.name] = db
    host = shell.host_of(server)
    if host is not None and not bound.get("SkipDatabaseLogFolderCreation"):
        with host.mutating():
            host.mkdir(log_folder)
    shell.save_domain()
    return [database_object(shell, db, False)]


def _new_storage_group_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    group = storage_group(shell, bound["StorageGroup"])
    if set_name == "Recovery":
        if not group.recovery:
            raise CmdletError(f"The storage group {group.identity} isn't a recovery storage group; -MailboxDatabaseToRecover needs one (modelled).")
        original = _database(shell, bound["MailboxDatabaseToRecover"], "mailbox")
        if original.recovery:
            raise CmdletError(f"{original.identity} is itself a recovery storage group database (modelled).")
        name = original.name
    else:
        if group.recovery:
            raise CmdletError(f"{group.identity} is a recovery storage group: add a database to it with -MailboxDatabaseToRecover (modelled).")
        name = str(bound["Name"])
    if any(d.storage_group == group.name and d.server == group.server and d.name.casefold() == name.casefold() for d in org.databases.values()):
        raise CmdletError(f"The storage group {group.identity} already has a database named '{name}' (modelled).", "ADObjectAlreadyExistsException")
    edb = bound.get("EdbFilePath") or rf"{group.log_folder_path}\{name}.edb"
    problem = _path_in_use(shell, group.server, edb, None)
    if problem:
        raise CmdletError(problem)
    if bound.get("WhatIf"):
        return []
    db = model.DatabaseObject(
        name=name,
        server=group.server,
        guid=_created_guid(shell, "database", f"{group.identity}\\{name}"),
        edb_file_path=edb,
        log_folder_path=group.log_folder_path,
        system_folder_path=group.system_folder_path,
        log_prefix=group.log_prefix,
        storage_group=group.name,
        recovery=group.recovery,
        mount_at_startup=not group.recovery,  # databases in a recovery storage group never mount at startup (E07)
        circular_logging=group.circular_logging,
        copies=[group.server],
    )
    org.databases[db.identity if db.name in org.databases else db.name] = db
    shell.save_domain()
    return [database_object(shell, db, False)]


@behaviour("New-StorageGroup")
def new_storage_group(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """2007: a storage group, or with -Recovery the server's recovery storage group (one per server; its logs use the
    prefix R00 - E07, lower confidence). The cmdlet makes the log and system folders."""
    org = shell.organization
    if org is None:
        raise CmdletError("There is no Exchange organization in this simulated domain (modelled).")
    server = _server_name(shell, bound["Server"])
    name = str(bound["Name"])
    if any(g.server == server and g.name.casefold() == name.casefold() for g in org.storage_groups.values()):
        raise CmdletError(f"The storage group {server}\\{name} already exists (modelled).", "ADObjectAlreadyExistsException")
    recovery = bool(bound.get("Recovery"))
    existing = next((g for g in org.storage_groups.values() if g.server == server and g.recovery), None)
    if recovery and existing is not None:
        raise CmdletError(f"The server {server} already has a recovery storage group, {existing.name}; a server has one (modelled).")
    install = _install_path(shell, server)
    log_folder = str(bound.get("LogFolderPath") or rf"{install}\Mailbox\{name}").rstrip("\\")
    system_folder = str(bound.get("SystemFolderPath") or log_folder).rstrip("\\")
    if bound.get("WhatIf"):
        return []
    group = model.StorageGroupObject(
        name=name,
        server=server,
        log_folder_path=log_folder,
        system_folder_path=system_folder,
        log_prefix="R00" if recovery else model.next_log_prefix(_used_prefixes(shell, server)),
        recovery=recovery,
        circular_logging=bool(bound.get("CircularLoggingEnabled", False)),
    )
    org.storage_groups[name if name not in org.storage_groups else group.identity] = group
    host = shell.host_of(server)
    if host is not None:
        with host.mutating():
            host.mkdir(log_folder)
            host.mkdir(system_folder)
    shell.save_domain()
    return get_storage_group(shell, "Identity", {"Identity": group.identity})


@behaviour("Remove-MailboxDatabase")
def remove_mailbox_database(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """Removes the database object; the files stay where they are (Exchange says to remove them by hand). Refused while
    the database is mounted or holds mailbox users (modelled wording)."""
    org = shell.organization
    db = _database(shell, bound["Identity"], "mailbox")
    host = shell.host_of(db.server)
    if host is not None and store.is_mounted(host, db):
        raise CmdletError(f"The database {db.identity} is mounted; dismount it before removing it (modelled).")
    users = sorted(m.alias for m in org.mailboxes.values() if m.database is not None and org.databases.get(m.database) is db)
    if users:
        raise CmdletError(f"This mailbox database contains one or more mailboxes ({', '.join(users)}) (modelled).")
    if bound.get("WhatIf"):
        return []
    key = next(k for k, v in org.databases.items() if v is db)
    del org.databases[key]
    shell.save_domain()
    return []


@behaviour("Remove-StorageGroup")
def remove_storage_group(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    group = storage_group(shell, bound["Identity"])
    inside = sorted(d.name for d in org.databases.values() if d.server == group.server and d.storage_group == group.name)
    if inside:
        raise CmdletError(f"The storage group {group.identity} still contains databases ({', '.join(inside)}); remove them first (modelled).")
    if bound.get("WhatIf"):
        return []
    key = next(k for k, v in org.storage_groups.items() if v is group)
    del org.storage_groups[key]
    shell.save_domain()
    return []


# -- repair requests (PS New-MailboxRepairRequest, Get-MailboxRepairRequest) ------------------------------------------------
# MailboxStoreCorruptionType values per first release, and the ones the page marks "can only be used by itself" (its own
# examples combine the four 2010 types, so the mark is taken to apply to the later ones). Kept in step with the controller's
# table in plugin_utils/_database_restore.py (a unit test holds them together).
CORRUPTION_TYPES = {
    "SearchFolder": "2010",
    "AggregateCounts": "2010",
    "ProvisionedFolder": "2010",
    "FolderView": "2010",
    "MessageId": "2010",
    "MessagePtagCn": "2010",
    "MissingSpecialFolders": "2013",
    "ReplState": "2013",
    "RestrictionFolder": "2013",
    "RuleMessageClass": "2013",
    "ScheduledCheck": "2013",
    "UniqueMidIndex": "2013",
    "CorruptJunkRule": "2013",
    "DropAllLazyIndexes": "2013",
    "FolderACL": "2013",
    "ImapId": "2013",
    "LockedMoveTarget": "2013",
    "CleanupFilesFolder": "2016",
    "CorruptedPerUserData": "2016",
    "EmptyFilesFolder": "2016",
    "ReduceRedundantAI": "2016",
}
CORRUPTION_TYPES_ALONE = {
    "CorruptJunkRule",
    "DropAllLazyIndexes",
    "FolderACL",
    "ImapId",
    "LockedMoveTarget",
    "CleanupFilesFolder",
    "CorruptedPerUserData",
    "EmptyFilesFolder",
    "ReduceRedundantAI",
}
REPAIR_SECONDS = 120  # simulated time a database-level request stays active (modelled)


def _repair_requests(host: Any) -> list[dict[str, Any]]:
    now = host.clock.time()
    requests = list((host.state.exchange or {}).get("repair_requests") or [])
    for request in requests:
        request["status"] = "Succeeded" if now >= float(request["done_at"]) else "InProgress"
    return requests


@behaviour("New-MailboxRepairRequest")
def new_mailbox_repair_request(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name != "Database":
        raise NotModelled("New-MailboxRepairRequest -Mailbox")
    order = PRODUCTS.index(shell.product)
    types = list(bound["CorruptionType"])
    known = [t for t, since in CORRUPTION_TYPES.items() if PRODUCTS.index(since) <= order]
    for value in types:
        match = next((t for t in known if t.casefold() == str(value).casefold()), None)
        if match is None:
            raise CmdletError(
                f"Cannot process argument transformation on parameter 'CorruptionType'. Cannot convert value \"{value}\" to type "
                "\"Microsoft.Exchange.Data.Mapi.MailboxStoreCorruptionType[]\". Error: \"Unable to match the identifier name "
                f"{value} to a valid enumerator name. Specify one of the following enumerator names and try again: {', '.join(known)}\"",
                "ParameterBindingArgumentTransformationException",
            )
        if match in CORRUPTION_TYPES_ALONE and len(types) > 1:
            raise CmdletError(f"The corruption type {match} can only be used by itself (modelled).", "ArgumentException")
    db = _database(shell, bound["Database"], "mailbox")
    host = shell.host_of(db.server)
    if host is None or not store.is_mounted(host, db):
        raise CmdletError(f"The database '{db.name}' isn't mounted; a repair request runs on a mounted database (modelled).", "MapiExceptionNotFound")
    if bound.get("WhatIf"):
        return []
    with host.mutating():
        active = [r for r in _repair_requests(host) if r["status"] == "InProgress" and r.get("level") == "database"]
        if active:
            raise CmdletError(
                f"A database-level repair request is already active on {db.server} ({active[0]['database']}): only one can run on a server at a time "
                "(PS New-MailboxRepairRequest) (modelled wording).",
                "InvalidOperationException",
            )
        request_guid = model.default_guid("repair", db.name, str(host.clock.time()))
        entry = {
            "guid": request_guid,
            "database": db.name,
            "level": "database",
            "corruption_types": types,
            "detect_only": bool(bound.get("DetectOnly")),
            "created": host.clock.time(),
            "done_at": host.clock.time() + REPAIR_SECONDS,
        }
        state = host.state.exchange
        state["repair_requests"] = [*list(state.get("repair_requests") or []), entry]
        host._dirty = True
    return [{"Identity": f"{db.guid}\\{request_guid}", "RequestGuid": request_guid, "Database": db.name, "Server": db.server, "CorruptionType": types}]


@behaviour("Get-MailboxRepairRequest")
def get_mailbox_repair_request(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if set_name != "Database":
        raise NotModelled(f"Get-MailboxRepairRequest -{set_name}")
    db = _database(shell, bound["Database"], "mailbox")
    host = shell.host_of(db.server)
    requests = [r for r in _repair_requests(host) if r["database"].casefold() == db.name.casefold()] if host is not None else []
    return [
        {
            "Identity": f"{db.guid}\\{r['guid']}",
            "RequestGuid": r["guid"],
            "Database": r["database"],
            "CorruptionType": r["corruption_types"],
            "Status": r["status"],
        }
        for r in requests
    ]


# The Mailbox Replication service's restore requests and Restore-Mailbox register their behaviours from their own module.
importlib.import_module("simulator.exchange.mrs")


# The DAG cmdlets (Get-/Add-/Remove-DatabaseAvailabilityGroupServer, *-MailboxDatabaseCopy, Get-MailboxDatabaseCopyStatus,
# Test-ReplicationHealth) register their parameter tables and behaviours from their own module.
importlib.import_module("simulator.exchange.dag")

# Get-User, Get-Mailbox, Connect-Mailbox and the store's view of disconnected mailboxes, from their own module.
importlib.import_module("simulator.exchange.recipients")
