"""Comparing sets (normalised XML), redacting secrets and the diff: layout is no change, no password or key ever shows."""

from __future__ import annotations

import base64

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_diff import diff_sets, unified_diff
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import BIN_FILE, CONFIG_FILE, KEY_FILE, STATE_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_normalise import changed_files
from tests.unit.plugins.plugin_utils.email_agent_samples import GOOD, KEY, OTHER_KEY, SECRET, STATE, config, encrypt, key_file, provider


def test_layout_encoding_and_comments_do_not_count_as_changes():
    pretty = GOOD.replace(b"<Configuration>", b"<Configuration>\n  <!-- restored -->\n")
    utf16 = GOOD.replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16")
    assert changed_files({CONFIG_FILE: GOOD}, {CONFIG_FILE: pretty}) == []
    assert changed_files({CONFIG_FILE: GOOD}, {CONFIG_FILE: utf16}) == []
    assert changed_files({CONFIG_FILE: GOOD, STATE_FILE: STATE}, {CONFIG_FILE: GOOD}) == [STATE_FILE]
    assert changed_files({CONFIG_FILE: GOOD}, {CONFIG_FILE: config(provider(EmailPassword="other"))}) == [CONFIG_FILE]


def test_diff_never_shows_passwords_or_keys():
    old = {CONFIG_FILE: config(provider(EmailPassword=encrypt(SECRET))), KEY_FILE: key_file()}
    new_secret = encrypt("Another-Secret-1")
    new = {CONFIG_FILE: config(provider(EmailPassword=new_secret, EmailServer="mail2.contoso.local")), KEY_FILE: key_file(OTHER_KEY)}
    entries = diff_sets(old, new, "C:\\Program Files\\Microsoft CRM Email\\Service")
    text = unified_diff(entries)
    for secret in (SECRET, "Another-Secret-1", new_secret, old[CONFIG_FILE].decode().split("<EmailPassword>")[1].split("<")[0]):
        assert secret not in text
    for key in (KEY, OTHER_KEY):
        assert base64.b64encode(key).decode() not in text
    assert "+    <EmailPassword>******** (changed)</EmailPassword>" in text
    assert '+<Encryption Key="******** (changed)"/>' in text
    assert "+    <EmailServer>mail2.contoso.local</EmailServer>" in text
    assert entries[0]["before_header"] == "C:\\Program Files\\Microsoft CRM Email\\Service\\Microsoft.Crm.Tools.EmailAgent.xml"


def test_unchanged_secret_is_redacted_without_changed_marker():
    old = {CONFIG_FILE: GOOD}
    new = {CONFIG_FILE: config(provider(EmailServer="mail2.contoso.local"))}
    entries = diff_sets(old, new)
    text = unified_diff(entries)
    assert SECRET not in text and "(changed)" not in text
    assert "<EmailPassword>********</EmailPassword>" in entries[0]["after"]
    assert SECRET not in entries[0]["before"] + entries[0]["after"]


def test_binary_file_is_summarised():
    entries = diff_sets({}, {BIN_FILE: b"\x00\x01secret"})
    assert entries[0]["after"] == "<binary file, 8 bytes>\n" and entries[0]["before_header"].endswith("(absent)")
