# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Microsoft.Crm.Tools.EmailAgent.xml holds: its element names and the Python model a parsed file becomes.

For internal collection use only. ``Configuration`` > ``SystemConfiguration`` (> ``ProviderOverrides``) and N x
``ProviderConfiguration``; element names ``Configuration`` and ``ProviderConfiguration`` are case-sensitive and providers do not
nest (facts: the project's email-router-facts.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# An EmailPassword value of this form is encrypted with the set's EncryptionKey.xml (see _email_agent_keys); a value without
# the prefix is used as-is.
ENCRYPTED_PREFIX = "{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:"
PROVIDER_NAMESPACE = "Microsoft.Crm.Tools.Email.Providers."

# SystemConfiguration children, all numbers except LogFile (times in milliseconds); ProviderOverrides children, all numbers.
SYSTEM_NUMBERS = ("MaxThreads", "MaxThreadExecution", "SchedulingPeriod", "ConfigRefreshPeriod", "ConfigUpdatePeriod", "LogLevel")
SYSTEM_TEXT = ("LogFile",)
OVERRIDE_NUMBERS = (
    "CacheCapacity",
    "PendingStatusDelay",
    "SendingStatusDelay",
    "MaximumDeliveryAttempts",
    "EWSRetrieveMessageCount",
    "BatchSize",
    "RequestBatchSize",
)

# ProviderConfiguration children read by Microsoft's migration parser, in the order this model renders them.
PROVIDER_FIELDS = (
    "ProviderClass",
    "CrmServerUrl",
    "Direction",
    "Protocol",
    "EmailServerType",
    "EmailServerVersion",
    "EmailServer",
    "EmailPort",
    "EmailUseSSL",
    "UseAutoDiscover",
    "EmailAuthMode",
    "AccessCredentials",
    "EmailUser",
    "EmailPassword",
    "EmailUseDelegate",
    "ExchangeOnlineProfileType",
    "IsForwardMailbox",
    "Target",
    "DeleteEmails",
    "EmailAddress",
    "UserId",
    "QueueId",
)


@dataclass
class Provider:
    """One ProviderConfiguration: its line and its child elements' text (by element name as written)."""

    line: int
    index: int
    fields: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value.strip() if value is not None else None

    @property
    def path(self) -> str:
        return f"Configuration/ProviderConfiguration[{self.index}]"


@dataclass
class EmailAgentConfig:
    system: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    providers: list[Provider] = field(default_factory=list)

    @property
    def encrypted_passwords(self) -> list[Provider]:
        return [p for p in self.providers if (p.get("EmailPassword") or "").startswith(ENCRYPTED_PREFIX)]
