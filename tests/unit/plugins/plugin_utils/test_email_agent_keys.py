"""Encrypted EmailPassword values and EncryptionKey.xml: the key must be in the set and decrypt every password."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE, KEY_FILE, STATE_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_validate import validate_set
from tests.unit.plugins.plugin_utils.email_agent_samples import GOOD, OTHER_KEY, SECRET, STATE, config, encrypt, key_file, only_error, provider


def test_encrypted_password_without_key_file_is_an_error():
    data = config(provider(EmailPassword=encrypt(SECRET)))
    issue = only_error(validate_set({CONFIG_FILE: data, STATE_FILE: STATE}))
    assert "no EncryptionKey.xml" in issue.message and issue.line == 13


def test_encrypted_password_with_the_matching_key():
    data = config(provider(EmailPassword=encrypt(SECRET)))
    assert validate_set({CONFIG_FILE: data, STATE_FILE: STATE, KEY_FILE: key_file()}).issues == []


def test_encrypted_password_with_another_key():
    data = config(provider(EmailPassword=encrypt(SECRET)), provider(EmailAddress="bob@contoso.local", EmailPassword=encrypt("x"), UserId=None))
    report = validate_set({CONFIG_FILE: data, STATE_FILE: STATE, KEY_FILE: key_file(OTHER_KEY)})
    assert all("does not decrypt" in e.message for e in report.errors)
    assert [e.line for e in report.errors] == [13, 26]


@pytest.mark.parametrize(
    ("data", "text"), [(b"<Key/>", "must be <Encryption>"), (b"<Encryption/>", "missing or empty"), (b'<Encryption Key="%%%"/>', "not base64")]
)
def test_bad_key_files(data, text):
    issue = only_error(validate_set({CONFIG_FILE: GOOD, STATE_FILE: STATE, KEY_FILE: data}))
    assert issue.file == KEY_FILE and text in issue.message
