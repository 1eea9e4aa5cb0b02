"""The estate CA and host certificates: names a client may use, reuse, re-issue."""

from __future__ import annotations

import hashlib
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simulator import pki


def _cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_ca_is_created_once_and_reused(tmp_path):
    first = pki.ensure_ca(tmp_path, "lab")
    pem = first.cert.read_bytes()
    again = pki.ensure_ca(tmp_path, "lab")
    assert again.cert.read_bytes() == pem
    ca = _cert(first.cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"


def test_host_cert_names_and_issuer(tmp_path):
    ca = pki.ensure_ca(tmp_path, "lab")
    pair = pki.ensure_host_cert(tmp_path, ca, "EX01", "ex01.contoso.local", "127.0.10.1")
    cert = _cert(pair.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == ["ex01", "ex01.contoso.local"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.10.1")]
    cert.verify_directly_issued_by(_cert(ca.cert))
    assert pair.cert == tmp_path / "hosts" / "EX01" / "cert.pem"


def test_host_cert_reissued_when_address_changes(tmp_path):
    ca = pki.ensure_ca(tmp_path, "lab")
    first = pki.ensure_host_cert(tmp_path, ca, "EX01", None, "127.0.10.1").cert.read_bytes()
    same = pki.ensure_host_cert(tmp_path, ca, "EX01", None, "127.0.10.1").cert.read_bytes()
    moved = pki.ensure_host_cert(tmp_path, ca, "EX01", None, "127.0.10.2").cert.read_bytes()
    assert first == same
    assert moved != first


def test_tls_server_end_point_is_sha256_of_der(tmp_path):
    ca = pki.ensure_ca(tmp_path, "lab")
    pair = pki.ensure_host_cert(tmp_path, ca, "EX01", None, "127.0.10.1")
    der = _cert(pair.cert).public_bytes(serialization.Encoding.DER)
    assert pki.tls_server_end_point(pair.cert) == hashlib.sha256(der).digest()
