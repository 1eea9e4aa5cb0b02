# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules a parsed Microsoft.Crm.Tools.EmailAgent.xml must follow: types, required elements, directions, duplicates and
the organization in CrmServerUrl.

For internal collection use only. Each rule adds issues naming the element and its line; the parser applies the per-element
rules as it reads (so issues come in file order), ``validate_set`` the organization.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import Issue, IssueCollector
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_keys import split_encrypted
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import (
    ENCRYPTED_PREFIX,
    PROVIDER_NAMESPACE,
    EmailAgentConfig,
    Provider,
)

# Provider classes Microsoft ships, and the direction each serves (the class name says it: MailboxProvider polls incoming mail,
# SendEmailProvider sends outgoing mail). Others are custom providers.
KNOWN_PROVIDERS = {
    "ExchangePollingMailboxProvider": "Inbound",
    "Pop3PollingMailboxProvider": "Inbound",
    "ExchangeOnlinePollingSendEmailProvider": "Outbound",
    "SmtpPollingSendEmailProvider": "Outbound",
}
PROVIDER_BOOLEANS = ("EmailUseSSL", "UseAutoDiscover", "EmailUseDelegate", "IsForwardMailbox", "DeleteEmails")
# Values the migration parser knows; the service may accept more, so other values are warnings, not errors.
PROVIDER_CHOICES = {
    "Protocol": ("EWS", "POP3", "SMTP"),
    "EmailAuthMode": ("WindowsAuthentication", "Clear Text", "cleartext", "NTLM"),
    "AccessCredentials": ("Other", "UserSpecified", "Self"),
}
INT32_MAX = 2**31 - 1


def is_whole_number(value: str, minimum: int = 0) -> bool:
    """A .NET Int32 from `minimum` up, as the file writes it."""
    text = value.strip()
    return bool(re.fullmatch(r"\+?\d+", text)) and minimum <= int(text) <= INT32_MAX


def check_provider(p: Provider, c: IssueCollector) -> None:
    """Required elements, types and values of one ProviderConfiguration."""

    def at(name: str) -> tuple[int, str]:
        return p.lines.get(name, p.line), f"{p.path}/{name}" if name in p.lines else p.path

    provider_class = p.get("ProviderClass")
    if not provider_class:
        c.error("the required element <ProviderClass> is missing or empty", *at("ProviderClass"))
    direction = p.get("Direction")
    if not direction:
        c.error("the required element <Direction> is missing or empty", *at("Direction"))
    elif direction not in ("Inbound", "Outbound"):
        c.warn(f"<Direction> {direction!r} is neither Inbound nor Outbound; the Email Router treats anything but Inbound as outgoing", *at("Direction"))
    short = (provider_class or "").removeprefix(PROVIDER_NAMESPACE)
    if provider_class and short in KNOWN_PROVIDERS and direction:
        expected = KNOWN_PROVIDERS[short]
        actual = "Inbound" if direction == "Inbound" else "Outbound"
        if expected != actual:
            c.error(f"{short} serves {expected.lower()} mail but <Direction> is {direction!r}", *at("Direction"))
    elif provider_class and short not in KNOWN_PROVIDERS:
        c.warn(f"custom provider class {provider_class!r}", *at("ProviderClass"))
    autodiscover = (p.get("UseAutoDiscover") or "").casefold() == "true"
    if not p.get("EmailServer") and not autodiscover:
        c.error("the required element <EmailServer> is missing or empty (and UseAutoDiscover is not true)", *at("EmailServer"))
    for name in PROVIDER_BOOLEANS:
        value = p.get(name)
        if value is not None and value.casefold() not in ("true", "false"):
            c.error(f"must be True or False (a .NET Boolean), not {value!r}", *at(name))
    port = p.get("EmailPort")
    if port is not None and port != "" and not (is_whole_number(port, 1) and int(port) <= 65535):
        c.error(f"must be a port number from 1 to 65535, not {port!r}", *at("EmailPort"))
    for name, choices in PROVIDER_CHOICES.items():
        value = p.get(name)
        if value and value not in choices and value.casefold() not in {x.casefold() for x in choices}:
            c.warn(f"{value!r} is not one of {', '.join(choices)}", *at(name))
    for name in ("UserId", "QueueId"):
        value = p.get(name)
        if value:
            try:
                uuid.UUID(value)
            except ValueError:
                c.error(f"must be a GUID, not {value!r}", *at(name))
    address = p.get("EmailAddress")
    if address is not None and address and "@" not in address:
        c.error(f"{address!r} is not an e-mail address", *at("EmailAddress"))
    url = p.get("CrmServerUrl")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme.casefold() not in ("http", "https") or not parts.netloc:
            c.error(f"must be an absolute http(s) URL, not {url!r}", *at("CrmServerUrl"))
    password = p.get("EmailPassword") or ""
    if password.startswith(ENCRYPTED_PREFIX) and split_encrypted(password) is None:
        c.error("the encrypted password is malformed (expected the prefix, base64 ciphertext, '@', base64 IV)", *at("EmailPassword"))


def check_duplicates(config: EmailAgentConfig, c: IssueCollector) -> None:
    """One provider per mailbox (or user/queue) and direction."""
    seen: dict[tuple[str, ...], Provider] = {}
    for p in config.providers:
        direction = "Inbound" if p.get("Direction") == "Inbound" else "Outbound"
        owner = (p.get("UserId") or p.get("QueueId") or "").casefold()
        mailbox = (p.get("EmailAddress") or "").casefold()
        if not mailbox and not owner:
            continue
        key = (direction, mailbox, owner)
        first = seen.get(key)
        if first is not None:
            who = p.get("EmailAddress") or owner
            c.error(f"duplicate provider: {direction.lower()} {who} is already configured on line {first.line}", p.line, p.path)
        else:
            seen[key] = p


def check_organization(config: EmailAgentConfig, organization: str, file_name: str = CONFIG_FILE) -> list[Issue]:
    """CrmServerUrl's last path segment must be the organization name."""
    issues = []
    for p in config.providers:
        url = p.get("CrmServerUrl")
        if not url:
            continue
        segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        if segment.casefold() != organization.casefold():
            issues.append(
                Issue(
                    "error",
                    file_name,
                    f"CrmServerUrl {url!r} ends in {segment!r}, not in the organization name {organization!r}",
                    p.lines.get("CrmServerUrl", p.line),
                    f"{p.path}/CrmServerUrl",
                )
            )
    return issues
