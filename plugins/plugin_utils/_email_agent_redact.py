# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Redacting Email Router set files: readable text with every password and key replaced by a fixed marker.

For internal collection use only. An element whose name contains "password", and an attribute named ``Key`` or containing
"password", is a secret. Nothing here returns a secret except ``secret_values``, which finds them so callers can mask them.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import DEFAULT_MAX_BYTES, XML_FILES
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_normalise import strip_layout
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import parse_xml

try:
    from lxml import etree
except ImportError:  # pragma: no cover - requirements.txt installs it; parse_xml names it
    etree = None

REDACTED = "********"
_SECRET_NAME = re.compile("password", re.IGNORECASE)


def secret_values(root: Any) -> dict[str, str]:
    """Element path -> secret text (passwords) and attribute path -> key."""
    tree = root.getroottree()
    out = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if _SECRET_NAME.search(el.tag) and el.text:
            out[tree.getpath(el)] = el.text
        for attr, value in el.attrib.items():
            if attr.casefold() == "key" or _SECRET_NAME.search(attr):
                out[f"{tree.getpath(el)}/@{attr}"] = value
    return out


def redacted_text(name: str, data: bytes | None, other: bytes | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Readable text of a set file with every password and key replaced by REDACTED. A secret that differs from the one at
    the same place in `other` shows as 'REDACTED (changed)', so a diff tells that it changed, never what it is."""
    if data is None:
        return ""
    if name not in XML_FILES:
        return f"<binary file, {len(data)} bytes>\n"
    try:
        root = strip_layout(parse_xml(data, name, max_bytes))
    except EmailAgentError as e:
        return f"<unreadable: {e.issues[0].message}>\n"
    theirs: dict[str, str] = {}
    if other is not None and name in XML_FILES:
        try:
            theirs = secret_values(parse_xml(other, name, max_bytes))
        except EmailAgentError:
            theirs = {}
    tree = root.getroottree()
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        path = tree.getpath(el)
        if _SECRET_NAME.search(el.tag) and el.text:
            el.text = REDACTED if other is None or theirs.get(path) == el.text else f"{REDACTED} (changed)"
        for attr in list(el.attrib):
            if attr.casefold() == "key" or _SECRET_NAME.search(attr):
                same = other is None or theirs.get(f"{path}/@{attr}") == el.get(attr)
                el.set(attr, REDACTED if same else f"{REDACTED} (changed)")
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode", pretty_print=True)
