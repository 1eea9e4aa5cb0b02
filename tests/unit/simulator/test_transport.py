"""Listener: NTLM with message encryption, Basic rules, HTTPS validation, per-host credentials, down hosts, keep-alive.

Real sockets and real pywinrm clients; the WS-Man side is a tiny echo service. Each listener binds 5985/5986 on a random
free loopback address (as estates' `address: auto` do), never a fixed one: other test runs on the same machine (a second
worktree, CI) bind listeners at the same time, and a fixed address made their fixtures fail with "Address already in use".
"""

from __future__ import annotations

import errno

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError

from simulator import pki, transport, wsman
from simulator.estate import pick_address

ADMIN = transport.Credential("EX01\\Administrator", "Adm1n:Pass", admin=True)
USER = transport.Credential("EX01\\operator", "Op3rator", admin=False)
DOMAIN = transport.Credential("CONTOSO\\svc-crm", "Svc!Pass", admin=True, domain=True)


class Echo:
    """Answers every Command with the account it runs as."""

    needs_stdin = False

    def __init__(self, user: str) -> None:
        self.user = user

    def run(self, stdin: bytes) -> wsman.ProcessResult:
        return wsman.ProcessResult(0, self.user.encode())

    @classmethod
    def prepare(cls, command: str, arguments: list[str], user: str) -> Echo:
        return cls(user)


class Tap:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, str, bytes]] = []

    def __call__(self, scheme: str, content_type: str, body: bytes) -> None:
        self.bodies.append((scheme, content_type, body))


def make_listener(tmp_path, name, creds, **kwargs):
    """A started listener on a free random loopback address: (listener, CA certificate path, address)."""
    ca = pki.ensure_ca(tmp_path, "unit")
    book = transport.AccountBook(name, lambda: creds, dns_domain="contoso.local")
    service = wsman.WSManService(name, Echo)
    for _attempt in range(20):
        address = pick_address(set())  # checked free; binding is what reserves it, so a lost race picks another one
        cert = pki.ensure_host_cert(tmp_path, ca, name, f"{name.lower()}.contoso.local", address)
        listener = transport.Listener(
            host_name=name, address=address, app=service.handle, accounts=book, workdir=tmp_path,
            tls=transport.TlsIdentity(cert.cert, cert.key), **kwargs,
        )  # fmt: skip
        try:
            listener.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return listener, ca.cert, address
    raise OSError(errno.EADDRINUSE, "no free loopback address for the test listener")


def http(address: str) -> str:
    return f"http://{address}:5985/wsman"


def https(address: str) -> str:
    return f"https://{address}:5986/wsman"


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transport")
    tap = Tap()
    ex01, ca, address1 = make_listener(tmp, "EX01", [ADMIN, USER, DOMAIN], wire_tap=tap)
    ex02, _ca, address2 = make_listener(tmp, "EX02", [transport.Credential("EX02\\Administrator", "Other-Pass", admin=True)])
    yield {"ex01": ex01, "ex02": ex02, "ca": str(ca), "tap": tap, "http1": http(address1), "https1": https(address1), "http2": http(address2)}
    ex01.stop()
    ex02.stop()


def run(endpoint: str, user: str, password: str, transport_name: str = "ntlm", **kwargs) -> str:
    session = winrm.Session(endpoint, auth=(user, password), transport=transport_name, **kwargs)
    return session.run_cmd("whoami").std_out.decode()


def test_ntlm_over_http_is_encrypted_on_the_wire(estate):
    estate["tap"].bodies.clear()
    assert run(estate["http1"], "Administrator", ADMIN.password) == "EX01\\Administrator"
    soap_bodies = [(ctype, body) for scheme, ctype, body in estate["tap"].bodies if body]
    assert soap_bodies, "the client sent SOAP"
    for ctype, body in soap_bodies:
        assert ctype.startswith("multipart/encrypted") and "HTTP-SPNEGO-session-encrypted" in ctype
        assert b"Envelope" not in body and b"wsman" not in body.lower()


@pytest.mark.parametrize("user", ["Administrator", ".\\Administrator", "EX01\\Administrator", "ex01\\ADMINISTRATOR"])
def test_local_account_name_forms(estate, user):
    assert run(estate["http1"], user, ADMIN.password) == "EX01\\Administrator"


@pytest.mark.parametrize("user", ["CONTOSO\\svc-crm", "contoso.local\\svc-crm", "svc-crm@contoso.local"])
def test_domain_account_name_forms(estate, user):
    assert run(estate["http1"], user, DOMAIN.password) == "CONTOSO\\svc-crm"


def test_wrong_password_and_non_admin_are_refused(estate):
    with pytest.raises(InvalidCredentialsError):
        run(estate["http1"], "Administrator", "wrong")
    with pytest.raises(InvalidCredentialsError):
        run(estate["http1"], "operator", USER.password)


def test_credentials_are_per_host(estate):
    with pytest.raises(InvalidCredentialsError):
        run(estate["http2"], "Administrator", ADMIN.password)
    assert run(estate["http2"], "Administrator", "Other-Pass") == "EX02\\Administrator"
    with pytest.raises(InvalidCredentialsError):
        run(estate["http1"], "Administrator", "Other-Pass")


def test_https_validates_with_the_estate_ca_only(estate):
    assert run(estate["https1"], "Administrator", ADMIN.password, ca_trust_path=estate["ca"]) == "EX01\\Administrator"
    assert run(estate["https1"], "Administrator", ADMIN.password, ca_trust_path=estate["ca"], send_cbt=False) == "EX01\\Administrator"
    with pytest.raises(requests.exceptions.SSLError):
        run(estate["https1"], "Administrator", ADMIN.password, ca_trust_path=None)


def test_basic_only_over_https_and_for_local_accounts(estate):
    assert run(estate["https1"], "Administrator", ADMIN.password, "basic", ca_trust_path=estate["ca"]) == "EX01\\Administrator"
    with pytest.raises(InvalidCredentialsError):
        run(estate["http1"], "Administrator", ADMIN.password, "basic")
    with pytest.raises(InvalidCredentialsError):
        run(estate["https1"], "CONTOSO\\svc-crm", DOMAIN.password, "basic", ca_trust_path=estate["ca"])


def test_basic_over_http_not_offered(estate):
    answer = requests.post(estate["http1"], data=b"<x/>", timeout=5)
    assert answer.status_code == 401
    assert "basic" not in answer.headers.get("WWW-Authenticate", "").lower()
    assert "negotiate" in answer.headers.get("WWW-Authenticate", "").lower()


def test_plaintext_soap_over_http_refused_after_ntlm(estate):
    with pytest.raises(InvalidCredentialsError):
        run(estate["http1"], "Administrator", ADMIN.password, message_encryption="never")


def test_allow_unencrypted_admits_basic_over_http(tmp_path):
    credentials = [transport.Credential("EX03\\Administrator", "pw", admin=True)]
    listener, _ca, address = make_listener(tmp_path, "EX03", credentials, allow_unencrypted=True)
    try:
        assert run(http(address), "Administrator", "pw", "basic") == "EX03\\Administrator"
    finally:
        listener.stop()


def test_keep_alive_one_connection_per_session(estate):
    stats = estate["ex01"].stats
    before = stats.snapshot().get("EX01", {}).get("connections", 0)
    proto = winrm.Protocol(estate["http1"], transport="ntlm", username="Administrator", password=ADMIN.password)
    shell = proto.open_shell()
    for _attempt in range(3):
        command = proto.run_command(shell, "whoami")
        assert proto.get_command_output(shell, command)[2] == 0
        proto.cleanup_command(shell, command)
    proto.close_shell(shell)
    after = stats.snapshot()["EX01"]["connections"]
    assert after - before == 1


def test_down_host_refuses_connections(estate):
    listener = estate["ex02"]
    listener.set_up(False)
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            run(estate["http2"], "Administrator", "Other-Pass")
    finally:
        listener.set_up(True)
    assert run(estate["http2"], "Administrator", "Other-Pass") == "EX02\\Administrator"


def test_ntlm_file_has_every_name_form(tmp_path):
    book = transport.AccountBook("EX01", lambda: [ADMIN, DOMAIN], dns_domain="contoso.local")
    names = [line.split(":", 1)[0] for line in book.ntlm_file_text().splitlines()]
    assert names == ["Administrator", ".\\Administrator", "EX01\\Administrator", "CONTOSO\\svc-crm", "contoso.local\\svc-crm", "svc-crm@contoso.local"]
    assert "Adm1n" not in book.ntlm_file_text()  # hashes, not passwords
