# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rendering Microsoft.Crm.Tools.EmailAgent.xml from a declared definition (the email_router_config module's `definition`).

For internal collection use only. Profiles carry server settings; each user, queue and forward mailbox becomes one
ProviderConfiguration per direction it has a profile for. The result is validated like any other set before it is placed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import PROVIDER_FIELDS, PROVIDER_NAMESPACE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import missing_libraries

try:
    from lxml import etree
except ImportError:  # pragma: no cover - requirements.txt installs it; missing_libraries() names it
    etree = None

SYSTEM_OPTIONS = {
    "max_threads": "MaxThreads",
    "max_thread_execution": "MaxThreadExecution",
    "scheduling_period": "SchedulingPeriod",
    "config_refresh_period": "ConfigRefreshPeriod",
    "config_update_period": "ConfigUpdatePeriod",
    "log_level": "LogLevel",
    "log_file": "LogFile",
}
OVERRIDE_OPTIONS = {
    "cache_capacity": "CacheCapacity",
    "pending_status_delay": "PendingStatusDelay",
    "sending_status_delay": "SendingStatusDelay",
    "maximum_delivery_attempts": "MaximumDeliveryAttempts",
    "ews_retrieve_message_count": "EWSRetrieveMessageCount",
    "batch_size": "BatchSize",
    "request_batch_size": "RequestBatchSize",
}
# Sample values from Microsoft's description of the file (S1): the defaults a definition gets.
SYSTEM_DEFAULTS = {
    "max_threads": 50,
    "max_thread_execution": 600000,
    "scheduling_period": 1000,
    "config_refresh_period": 5000,
    "config_update_period": 300000,
    "log_level": 1,
}
PROFILE_OPTIONS = {
    "provider_class": "ProviderClass",
    "protocol": "Protocol",
    "email_server_type": "EmailServerType",
    "email_server_version": "EmailServerVersion",
    "email_server": "EmailServer",
    "port": "EmailPort",
    "use_ssl": "EmailUseSSL",
    "use_autodiscover": "UseAutoDiscover",
    "auth_mode": "EmailAuthMode",
    "access_credentials": "AccessCredentials",
    "user": "EmailUser",
    "password": "EmailPassword",
    "use_delegate": "EmailUseDelegate",
    "exchange_online_profile_type": "ExchangeOnlineProfileType",
}
PROFILE_DEFAULTS = {
    "incoming": {"provider_class": "ExchangePollingMailboxProvider", "protocol": "EWS"},
    "outgoing": {"provider_class": "SmtpPollingSendEmailProvider", "protocol": "SMTP"},
}


class DefinitionError(Exception):
    """A definition that cannot be rendered (unknown profile, wrong direction...); the message names the item."""


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def render_definition(definition: Mapping[str, Any]) -> bytes:
    """Microsoft.Crm.Tools.EmailAgent.xml from a declared definition (the email_router_config module's `definition` option).

    Each user, queue and forward mailbox becomes one ProviderConfiguration per direction it has a profile for, carrying the
    profile's server settings plus its own EmailAddress and UserId/QueueId (profiles themselves are not elements of the file)."""
    if missing_libraries():
        raise DefinitionError(f"the controller needs the Python libraries {', '.join(missing_libraries())}")
    profiles: dict[str, dict[str, Any]] = {}
    for i, profile in enumerate(definition.get("profiles") or []):
        name = profile.get("name")
        if not name:
            raise DefinitionError(f"definition.profiles[{i}]: name is required")
        if name.casefold() in profiles:
            raise DefinitionError(f"definition.profiles[{i}]: a profile named {name!r} is already defined")
        profiles[name.casefold()] = dict(profile)
    root = etree.Element("Configuration")
    system = etree.SubElement(root, "SystemConfiguration")
    system_def = {**SYSTEM_DEFAULTS, **{k: v for k, v in (definition.get("system") or {}).items() if v is not None}}
    for option, element in SYSTEM_OPTIONS.items():
        if system_def.get(option) is not None:
            etree.SubElement(system, element).text = _value(system_def[option])
    overrides = {k: v for k, v in ((definition.get("system") or {}).get("provider_overrides") or {}).items() if v is not None}
    if overrides:
        node = etree.SubElement(system, "ProviderOverrides")
        for option, element in OVERRIDE_OPTIONS.items():
            if option in overrides:
                etree.SubElement(node, element).text = _value(overrides[option])
    default_url = definition.get("crm_server_url")
    mailboxes = [("users", "UserId", "user_id"), ("queues", "QueueId", "queue_id"), ("forward_mailboxes", None, None)]
    for group, id_element, id_option in mailboxes:
        for i, item in enumerate(definition.get(group) or []):
            where = f"definition.{group}[{i}]"
            directions = ("incoming",) if group == "forward_mailboxes" else ("incoming", "outgoing")
            used = [d for d in directions if item.get(f"{d}_profile")]
            if not used:
                raise DefinitionError(f"{where}: needs {' or '.join(f'{d}_profile' for d in directions)}")
            for direction in used:
                profile_name = item[f"{direction}_profile"]
                profile = profiles.get(str(profile_name).casefold())
                if profile is None:
                    raise DefinitionError(f"{where}.{direction}_profile: no profile named {profile_name!r} in definition.profiles")
                if profile.get("direction", "incoming") != direction:
                    raise DefinitionError(f"{where}.{direction}_profile: profile {profile_name!r} is an {profile.get('direction')} profile")
                settings = {**PROFILE_DEFAULTS[direction], **{k: v for k, v in profile.items() if v is not None}}
                if group == "forward_mailboxes":
                    settings.update({k: item[k] for k in ("user", "password") if item.get(k) is not None})
                url = item.get("crm_server_url") or default_url
                provider = etree.SubElement(root, "ProviderConfiguration")
                values: dict[str, Any] = {PROFILE_OPTIONS[k]: v for k, v in settings.items() if k in PROFILE_OPTIONS}
                short = str(values["ProviderClass"])
                values["ProviderClass"] = short if "." in short else PROVIDER_NAMESPACE + short
                values["Direction"] = "Inbound" if direction == "incoming" else "Outbound"
                if url:
                    values["CrmServerUrl"] = url
                if group == "forward_mailboxes":
                    values["IsForwardMailbox"] = True
                    values["DeleteEmails"] = bool(item.get("delete_emails", False))
                values["EmailAddress"] = item.get("email")
                if id_element:
                    values[id_element] = item.get(id_option)
                for element in PROVIDER_FIELDS:
                    if values.get(element) is not None:
                        etree.SubElement(provider, element).text = _value(values[element])
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + etree.tostring(root, encoding="utf-8", pretty_print=True)


def definition_secrets(definition: Mapping[str, Any]) -> list[str]:
    """Every password value a definition carries (for masking)."""
    out = [p.get("password") for p in definition.get("profiles") or []]
    out += [m.get("password") for m in definition.get("forward_mailboxes") or []]
    return [s for s in out if s]
