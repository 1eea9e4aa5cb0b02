# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Normalising Email Router set files for comparison: which files of two sets really differ.

For internal collection use only. XML files compare as canonical XML (C14N 2.0) without layout and comments, so encoding, BOM,
indentation and attribute order do not count as changes; other files (and XML that cannot be read) compare byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import DEFAULT_MAX_BYTES, SET_FILES, XML_FILES
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import parse_xml

try:
    from lxml import etree
except ImportError:  # pragma: no cover - requirements.txt installs it; parse_xml names it
    etree = None


def strip_layout(root: Any) -> Any:
    """Drop whitespace-only text between elements (indentation) and comments; element text stays as written."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    for comment in root.xpath("//comment()"):
        parent = comment.getparent()
        if parent is not None:
            parent.remove(comment)
    return root


def normalise(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A canonical form for comparing two versions of a set file: canonical XML (C14N 2.0) without layout and comments,
    so encoding, BOM, indentation and attribute order do not count as changes; other files as they are."""
    if name not in XML_FILES:
        return bytes(data)
    try:
        root = parse_xml(data, name, max_bytes)
    except EmailAgentError:
        return bytes(data)
    return etree.tostring(strip_layout(root), method="c14n2")


def same_file(name: str, a: bytes | None, b: bytes | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or normalise(name, a) == normalise(name, b)


def changed_files(current: Mapping[str, bytes | None], new: Mapping[str, bytes | None]) -> list[str]:
    """Set files that differ between the current and the new set (a file only on one side counts)."""
    return [name for name in SET_FILES if not same_file(name, current.get(name), new.get(name))]
