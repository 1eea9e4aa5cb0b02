# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EncryptionKey.xml and the encrypted EmailPassword values: read the key, and check that it decrypts every password.

For internal collection use only. ``EncryptionKey.xml`` is ``<Encryption Key="base64"/>``, the AES key that decrypts
``EmailPassword`` values of the form ``{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:`` + base64(ciphertext) + ``@`` + base64(IV)
(facts: the project's email-router-facts.md). A set restored without the key that matches its passwords leaves the Email
Router unable to read them, so the controller refuses it.
"""

from __future__ import annotations

import base64
import binascii

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE, DEFAULT_MAX_BYTES, KEY_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import Issue, IssueCollector
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import ENCRYPTED_PREFIX, EmailAgentConfig
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import element_name, parse_xml

try:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - a dependency of ansible-core
    HAS_CRYPTOGRAPHY = False


def parse_key(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes | None, list[Issue]]:
    """EncryptionKey.xml: `<Encryption Key="base64"/>`; returns the key bytes (None when unusable) and issues."""
    root = parse_xml(data, KEY_FILE, max_bytes)
    c = IssueCollector(KEY_FILE)
    name = element_name(root)
    if name != "Encryption":
        c.error(f"the root element must be <Encryption>, not <{name}>", root.sourceline, name)
        return None, c.issues
    value = root.get("Key")
    if not value:
        c.error("the Key attribute is missing or empty", root.sourceline, "Encryption")
        return None, c.issues
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        c.error("the Key attribute is not base64", root.sourceline, "Encryption")
        return None, c.issues
    return key, c.issues


def split_encrypted(value: str) -> tuple[bytes, bytes] | None:
    """The ciphertext and IV of an encrypted EmailPassword value, or None when it is malformed."""
    body = value[len(ENCRYPTED_PREFIX) :]
    cipher_b64, sep, iv_b64 = body.rpartition("@")
    if not sep:
        return None
    try:
        ciphertext = base64.b64decode(cipher_b64, validate=True)
        iv = base64.b64decode(iv_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not ciphertext or not iv:
        return None
    return ciphertext, iv


def decrypts(value: str, key: bytes) -> bool | None:
    """Does `key` decrypt this EmailPassword (AES-CBC with PKCS7 padding)? None when it cannot be told (an IV or key size AES
    does not have, or no cryptography library). A wrong key fails the padding check except with a probability of about 1/256."""
    parts = split_encrypted(value)
    if parts is None:
        return False
    ciphertext, iv = parts
    if not HAS_CRYPTOGRAPHY or len(iv) != 16 or len(key) not in (16, 24, 32):
        return None
    if len(ciphertext) % 16:
        return False
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        unpadder.update(plain)
        unpadder.finalize()
    except ValueError:
        return False
    return True


def check_keys(config: EmailAgentConfig, key: bytes | None, has_key_file: bool) -> list[Issue]:
    """Encrypted passwords need the set's EncryptionKey.xml, and that key must decrypt each of them."""
    encrypted = config.encrypted_passwords
    if not encrypted:
        return []
    lines = ", ".join(str(p.lines.get("EmailPassword", p.line)) for p in encrypted)
    if not has_key_file:
        return [
            Issue(
                "error",
                CONFIG_FILE,
                f"EmailPassword values on line(s) {lines} are encrypted, but the set has no EncryptionKey.xml: "
                "restore the key from the same backup, or the Email Router cannot decrypt them",
                encrypted[0].lines.get("EmailPassword", encrypted[0].line),
                f"{encrypted[0].path}/EmailPassword",
            )
        ]
    if key is None:
        return []  # the key file's own error is already reported
    issues = []
    for p in encrypted:
        if split_encrypted(p.get("EmailPassword") or "") is None:
            continue  # reported as malformed already
        ok = decrypts(p.get("EmailPassword") or "", key)
        line = p.lines.get("EmailPassword", p.line)
        if ok is False:
            issues.append(
                Issue(
                    "error", CONFIG_FILE, "EncryptionKey.xml in this set does not decrypt this password (not the matching key)", line, f"{p.path}/EmailPassword"
                )
            )
        elif ok is None:
            issues.append(Issue("warning", CONFIG_FILE, "cannot check that EncryptionKey.xml decrypts this password", line, f"{p.path}/EmailPassword"))
    return issues
