# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Validating a whole Email Router configuration set (file name -> bytes) into one report of errors and warnings.

For internal collection use only. Every file of the set is parsed and checked, and the set as a whole: the configuration file
is required, the key must decrypt the passwords, a missing SystemState.xml is a warning (mail would be processed again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import (
    BIN_FILE,
    CONFIG_FILE,
    DEFAULT_MAX_BYTES,
    KEY_FILE,
    SET_FILES,
    STATE_FILE,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError, Issue
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_keys import check_keys, parse_key
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import EmailAgentConfig
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_parse import parse_email_agent, parse_state
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_rules import check_organization


@dataclass
class SetReport:
    files: dict[str, bytes]
    config: EmailAgentConfig | None
    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


def validate_set(files: Mapping[str, bytes], organization: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> SetReport:
    """Check a configuration set (file name -> bytes; names as in SET_FILES, matched case-insensitively). Never raises for
    content problems: every problem is an Issue in the report."""
    canonical = {}
    issues: list[Issue] = []
    for name, data in files.items():
        known = next((k for k in SET_FILES if k.casefold() == name.casefold()), None)
        if known is None:
            continue
        canonical[known] = bytes(data)
    config: EmailAgentConfig | None = None
    if CONFIG_FILE not in canonical:
        issues.append(Issue("error", CONFIG_FILE, "the set has no Microsoft.Crm.Tools.EmailAgent.xml"))
    else:
        try:
            config, found = parse_email_agent(canonical[CONFIG_FILE], max_bytes)
            issues += found
            if organization and config is not None:
                issues += check_organization(config, organization)
        except EmailAgentError as e:
            issues += e.issues
            config = None
    key: bytes | None = None
    if KEY_FILE in canonical:
        try:
            key, found = parse_key(canonical[KEY_FILE], max_bytes)
            issues += found
        except EmailAgentError as e:
            issues += e.issues
    if STATE_FILE in canonical:
        try:
            issues += parse_state(canonical[STATE_FILE], max_bytes)
        except EmailAgentError as e:
            issues += e.issues
    else:
        issues.append(Issue("warning", STATE_FILE, "not in the set: the Email Router re-creates it, but mail already processed will be processed again"))
    if BIN_FILE in canonical:
        if len(canonical[BIN_FILE]) > max_bytes:
            issues.append(Issue("error", BIN_FILE, f"the file is {len(canonical[BIN_FILE])} bytes, more than the limit of {max_bytes} bytes"))
        elif not canonical[BIN_FILE]:
            issues.append(Issue("error", BIN_FILE, "the file is empty; the Configuration Manager cannot read it"))
    if config is not None:
        issues += check_keys(config, key, KEY_FILE in canonical)
    return SetReport(canonical, config, issues)
