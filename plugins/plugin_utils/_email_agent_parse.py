# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsing Microsoft.Crm.Tools.EmailAgent.xml and SystemState.xml into the model, with every issue found on the way.

For internal collection use only. Reads the tree ``_email_agent_safe_xml`` built, element by element: unknown elements are
kept and warned about, misspelt (wrong case) ones are errors, and each element's rules (``_email_agent_rules``) are applied
as it is read.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE, DEFAULT_MAX_BYTES, STATE_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import Issue, IssueCollector
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import (
    OVERRIDE_NUMBERS,
    PROVIDER_FIELDS,
    SYSTEM_NUMBERS,
    SYSTEM_TEXT,
    EmailAgentConfig,
    Provider,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_rules import INT32_MAX, check_duplicates, check_provider, is_whole_number
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import case_mismatch, element_name, element_text, parse_xml


def parse_email_agent(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, file_name: str = CONFIG_FILE) -> tuple[EmailAgentConfig, list[Issue]]:
    """Parse and check Microsoft.Crm.Tools.EmailAgent.xml. Raises EmailAgentError when the file cannot be parsed at all;
    otherwise returns the model and every issue found (errors included)."""
    root = parse_xml(data, file_name, max_bytes)
    c = IssueCollector(file_name)
    config = EmailAgentConfig()
    name = element_name(root)
    if name != "Configuration":
        hint = " (element names are case-sensitive)" if name and name.casefold() == "configuration" else ""
        c.error(f"the root element must be <Configuration>, not <{name}>{hint}", root.sourceline, name)
        return config, c.issues
    seen_system = False
    for child in root:
        cname = element_name(child)
        if cname is None:
            continue
        if cname == "SystemConfiguration":
            if seen_system:
                c.error("more than one <SystemConfiguration>", child.sourceline, "Configuration/SystemConfiguration")
            seen_system = True
            _system(child, config, c)
        elif cname == "ProviderConfiguration":
            _provider(child, len(config.providers) + 1, config, c)
        else:
            known = case_mismatch(cname, ("SystemConfiguration", "ProviderConfiguration"))
            if known:
                c.error(f"unknown element; element names are case-sensitive: did you mean <{known}>?", child.sourceline, f"Configuration/{cname}")
            else:
                c.warn("unknown element (kept as is)", child.sourceline, f"Configuration/{cname}")
    if not seen_system:
        c.error("the required element <SystemConfiguration> is missing", root.sourceline, "Configuration")
    check_duplicates(config, c)
    return config, c.issues


def _system(el: Any, config: EmailAgentConfig, c: IssueCollector) -> None:
    base = "Configuration/SystemConfiguration"
    for child in el:
        cname = element_name(child)
        if cname is None:
            continue
        path = f"{base}/{cname}"
        if cname == "ProviderOverrides":
            for sub in child:
                sname = element_name(sub)
                if sname is None:
                    continue
                spath = f"{path}/{sname}"
                if sname in OVERRIDE_NUMBERS:
                    config.overrides[sname] = element_text(sub)
                    if not is_whole_number(element_text(sub)):
                        c.error(f"must be a whole number from 0 to {INT32_MAX}, not {element_text(sub).strip()!r}", sub.sourceline, spath)
                elif known := case_mismatch(sname, OVERRIDE_NUMBERS):
                    c.error(f"unknown element; element names are case-sensitive: did you mean <{known}>?", sub.sourceline, spath)
                else:
                    c.warn("unknown element (kept as is)", sub.sourceline, spath)
        elif cname in SYSTEM_NUMBERS:
            config.system[cname] = element_text(child)
            if not is_whole_number(element_text(child)):
                c.error(f"must be a whole number from 0 to {INT32_MAX}, not {element_text(child).strip()!r}", child.sourceline, path)
        elif cname in SYSTEM_TEXT:
            config.system[cname] = element_text(child)
        else:
            known = case_mismatch(cname, (*SYSTEM_NUMBERS, *SYSTEM_TEXT, "ProviderOverrides"))
            if known:
                c.error(f"unknown element; element names are case-sensitive: did you mean <{known}>?", child.sourceline, path)
            else:
                c.warn("unknown element (kept as is)", child.sourceline, path)


def _provider(el: Any, index: int, config: EmailAgentConfig, c: IssueCollector) -> None:
    p = Provider(line=el.sourceline, index=index)
    config.providers.append(p)
    for child in el:
        cname = element_name(child)
        if cname is None:
            continue
        path = f"{p.path}/{cname}"
        nested = [d for d in child.iter() if element_name(d) and element_name(d).casefold() == "providerconfiguration"]
        if nested:
            c.error("<ProviderConfiguration> elements do not nest", nested[0].sourceline, path)
            continue
        known = cname if cname in PROVIDER_FIELDS else next((k for k in PROVIDER_FIELDS if k.casefold() == cname.casefold()), None)
        if known is None:
            c.warn("unknown element (kept as is)", child.sourceline, path)
            continue
        if known != cname:  # the casing real files use is not documented: the migration parser's casing is expected
            c.warn(f"written <{cname}>; Microsoft's parser reads <{known}>", child.sourceline, path)
        if known in p.fields:
            c.error(f"<{known}> appears twice in this provider (first on line {p.lines[known]})", child.sourceline, path)
            continue
        if len(child):
            c.error("must hold text, not elements", child.sourceline, path)
        p.fields[known] = element_text(child)
        p.lines[known] = child.sourceline
    check_provider(p, c)


def parse_state(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Issue]:
    """Microsoft.Crm.Tools.EmailAgent.SystemState.xml: root `State`."""
    root = parse_xml(data, STATE_FILE, max_bytes)
    c = IssueCollector(STATE_FILE)
    if element_name(root) != "State":
        c.error(f"the root element must be <State>, not <{element_name(root)}>", root.sourceline, element_name(root))
    return c.issues
