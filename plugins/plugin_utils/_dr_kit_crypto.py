# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Encryption of kit files that hold keys (the Email Router's configuration set) with the kit password.

For internal collection use only. Format (docs/dr-kit.md): b"EXDRKIT1" + 16-byte salt + 12-byte nonce + AES-256-GCM
ciphertext with its tag; the key is scrypt(password, salt, n=2**15, r=8, p=1). The magic is authenticated data, so a file
from another format or with a flipped byte fails to decrypt instead of yielding garbage. One capture derives its key once
(all its files share the salt, each has its own nonce): scrypt is slow by design.
"""

from __future__ import annotations

import os

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    from cryptography.hazmat.primitives.serialization import pkcs12

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core itself requires cryptography
    HAS_CRYPTOGRAPHY = False

MAGIC = b"EXDRKIT1"
_SALT, _NONCE = 16, 12


class KitCryptoError(ValueError):
    pass


def _key(password: str, salt: bytes) -> bytes:
    if not HAS_CRYPTOGRAPHY:
        raise KitCryptoError("the Python library cryptography is needed on the controller to encrypt or open kit files")
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(password.encode("utf-8"))


class Encryptor:
    """Encrypts the files of one capture with one derived key."""

    def __init__(self, password: str) -> None:
        if not password:
            raise KitCryptoError("a kit password is needed to store this file")
        self._salt = os.urandom(_SALT)
        self._key = _key(password, self._salt)

    def encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return MAGIC + self._salt + nonce + AESGCM(self._key).encrypt(nonce, data, MAGIC)


def encrypt(data: bytes, password: str) -> bytes:
    return Encryptor(password).encrypt(data)


def decrypt(blob: bytes, password: str, _keys: dict[bytes, bytes] | None = None) -> bytes:
    """Decrypt a kit file; `_keys` (salt -> key) lets a caller reuse the key of files from the same capture."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + _SALT + _NONCE + 16:
        raise KitCryptoError("not a file encrypted by the DR kit")
    salt = blob[len(MAGIC) : len(MAGIC) + _SALT]
    nonce = blob[len(MAGIC) + _SALT : len(MAGIC) + _SALT + _NONCE]
    keys = _keys if _keys is not None else {}
    if salt not in keys:
        keys[salt] = _key(password, salt)
    try:
        return AESGCM(keys[salt]).decrypt(nonce, blob[len(MAGIC) + _SALT + _NONCE :], MAGIC)
    except InvalidTag:
        raise KitCryptoError("the kit password does not open this file (or the file was altered)") from None


def pfx_thumbprint(data: bytes, password: str) -> str:
    """The thumbprint (SHA-1 of the certificate, upper-case hex, as Exchange shows it) of the certificate in a PKCS #12 file,
    opened with the password: proves an export can be imported with the password before the kit is relied on."""
    try:
        _key_obj, cert, _extra = pkcs12.load_key_and_certificates(data, password.encode("utf-8"))
    except ValueError as error:
        raise KitCryptoError(f"the PKCS #12 file does not open with the kit password ({error})") from None
    if cert is None:
        raise KitCryptoError("the PKCS #12 file holds no certificate")
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303 - the thumbprint is SHA-1 by definition
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.finalize().hex().upper()
