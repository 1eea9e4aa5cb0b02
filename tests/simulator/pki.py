"""Per-estate certificate authority and host certificates for the simulator's HTTPS listeners.

Clients validate the listeners with ``ansible_winrm_ca_trust_path: DIR/ca.pem``, so every host certificate is signed by the
estate's CA and names the host the way a client may reach it: short name, FQDN and IP address (subject alternative names).
Certificates are kept in the state folder and reused; a host certificate is re-issued when its names no longer match
(for example when ``address: auto`` picked another address) or when it is close to expiry.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
HOST_DAYS = 825  # the longest validity public TLS clients have accepted for server certificates
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CertPair:
    """Paths of a PEM certificate and its unencrypted PEM private key."""

    cert: Path
    key: Path


def ensure_ca(state_dir: Path, estate_name: str) -> CertPair:
    """Return the estate CA in ``state_dir`` (ca.pem, ca.key), creating it on first use."""
    pair = CertPair(state_dir / "ca.pem", state_dir / "ca.key")
    if pair.cert.exists() and pair.key.exists() and not _expiring(_load_cert(pair.cert)):
        return pair
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{estate_name} simulator CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_pair(pair, cert, key)
    return pair


def ensure_host_cert(state_dir: Path, ca: CertPair, host_name: str, fqdn: str | None, address: str) -> CertPair:
    """Return DIR/hosts/<host_name>/cert.pem + key.pem for the HTTPS listener, issuing it when missing or stale."""
    folder = state_dir / "hosts" / host_name
    pair = CertPair(folder / "cert.pem", folder / "key.pem")
    names = host_names(host_name, fqdn)
    if pair.cert.exists() and pair.key.exists() and _matches(_load_cert(pair.cert), _load_cert(ca.cert), names, address):
        return pair
    ca_cert = _load_cert(ca.cert)
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca.key}: expected the EC key written by ensure_ca")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(address))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn or host_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=HOST_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_pair(pair, cert, key)
    return pair


def host_names(host_name: str, fqdn: str | None) -> list[str]:
    """DNS names a host certificate carries: the short name (lower case, as DNS is case-insensitive) and the FQDN."""
    names = [host_name.lower()]
    if fqdn and fqdn.lower() not in names:
        names.append(fqdn.lower())
    return names


def tls_server_end_point(cert_pem: Path) -> bytes:
    """RFC 5929 tls-server-end-point hash of a certificate: what NTLM channel binding (CBT) commits to over HTTPS."""
    cert = _load_cert(cert_pem)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()  # RFC 5929 section 4.1
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.finalize()


def _matches(cert: x509.Certificate, ca_cert: x509.Certificate, names: list[str], address: str) -> bool:
    if cert.issuer != ca_cert.subject or _expiring(cert):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    dns = sorted(san.get_values_for_type(x509.DNSName))
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns == sorted(names) and ips == [str(ipaddress.ip_address(address))]


def _expiring(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - RENEW_BEFORE < _now()


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _write_pair(pair: CertPair, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    pair.cert.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _atomic_write(pair.key, key_pem, mode=0o600)
    _atomic_write(pair.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
