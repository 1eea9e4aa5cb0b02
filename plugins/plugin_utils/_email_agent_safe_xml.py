# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Hardened XML parsing for the Email Router's files: hostile input is refused with its file and line.

For internal collection use only. Safe by construction: a first pass through defusedxml (expat) refuses any DTD, entity
declaration or external reference and reports the line; only then does lxml (entities off, no network, no huge trees) build
the tree whose ``sourceline`` every message quotes. Files larger than the size limit are refused before parsing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import DEFAULT_MAX_BYTES
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError, Issue

try:
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import DefusedXMLParser, ParseError

    HAS_DEFUSEDXML = True
except ImportError:  # pragma: no cover - requirements.txt installs it
    HAS_DEFUSEDXML = False

try:
    from lxml import etree

    HAS_LXML = True
except ImportError:  # pragma: no cover - requirements.txt installs it
    HAS_LXML = False


def missing_libraries() -> list[str]:
    """Python libraries the Email Router model needs that the controller lacks."""
    return [name for name, present in (("defusedxml", HAS_DEFUSEDXML), ("lxml", HAS_LXML)) if not present]


def parse_xml(data: bytes, file_name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The root element of `data`, parsed safely; raises EmailAgentError naming the file and line."""
    missing = missing_libraries()
    if missing:
        raise EmailAgentError([Issue("error", file_name, f"the controller needs the Python libraries {', '.join(missing)} (see requirements.txt)")])
    if len(data) > max_bytes:
        raise EmailAgentError([Issue("error", file_name, f"the file is {len(data)} bytes, more than the limit of {max_bytes} bytes")])
    if not _strip_bom(data).strip(b" \t\r\n\x00"):
        raise EmailAgentError([Issue("error", file_name, "the file is empty (Root element is missing)", line=1)])
    _guard(data, file_name)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=False, remove_pis=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise EmailAgentError([Issue("error", file_name, f"not well-formed XML: {e.msg}", line=e.lineno or None)]) from None
    except (ValueError, LookupError) as e:
        raise EmailAgentError([Issue("error", file_name, f"cannot be read: {e}", line=1)]) from None
    if root is None:
        raise EmailAgentError([Issue("error", file_name, "the file has no root element (Root element is missing)", line=1)])
    return root


def _strip_bom(data: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if data.startswith(bom):
            return data[len(bom) :].replace(b"\x00", b"") if bom != b"\xef\xbb\xbf" else data[len(bom) :]
    return data


def _guard(data: bytes, file_name: str) -> None:
    """First pass (defusedxml over expat): no DTD, no entity declarations, no external references."""
    parser = DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        parser.close()
    except DTDForbidden:
        line = parser.parser.CurrentLineNumber
        raise EmailAgentError([Issue("error", file_name, "a document type declaration (DTD) is not allowed", line=line)]) from None
    except EntitiesForbidden as e:
        line = parser.parser.CurrentLineNumber
        raise EmailAgentError([Issue("error", file_name, f"entity declarations are not allowed (entity {e.name!r})", line=line)]) from None
    except ExternalReferenceForbidden:
        line = parser.parser.CurrentLineNumber
        raise EmailAgentError([Issue("error", file_name, "external references are not allowed", line=line)]) from None
    except ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        text = str(e).split(": line", 1)[0]
        raise EmailAgentError([Issue("error", file_name, f"not well-formed XML: {text}", line=line)]) from None
    except (ValueError, LookupError) as e:  # e.g. an encoding expat cannot read
        raise EmailAgentError([Issue("error", file_name, f"cannot be read: {e}", line=1)]) from None


# -- reading the tree parse_xml returns -----------------------------------------------------------------------------------
def element_name(el: Any) -> str | None:
    """The element's name, or None for comments and processing instructions."""
    return el.tag if isinstance(el.tag, str) else None


def element_text(el: Any) -> str:
    return "".join(el.itertext())


def case_mismatch(name: str, known: Iterable[str]) -> str | None:
    """The known element name `name` matches except for case (element names are case-sensitive), or None."""
    low = name.casefold()
    return next((k for k in known if k.casefold() == low and k != name), None)
