"""HTTP/HTTPS WinRM listeners of one simulated host: authentication, message encryption, keep-alive.

Each host gets a :class:`Listener` on its own loopback address, port 5985 (HTTP) and 5986 (HTTPS) as on Windows.

Authentication, as a Windows WinRM service configured for Ansible answers it:

- NTLM (offered as ``Negotiate``; requests-ntlm sends raw NTLMSSP tokens under it). The NTLM context belongs to the TCP
  connection: once authenticated a connection stays authenticated, and the server never closes it. Over HTTP every SOAP
  body must be sealed with the context (``multipart/encrypted``) unless the estate sets ``allow_unencrypted``; over HTTPS
  channel binding (CBT) is checked when the client sends it (Windows' default ``CbtHardeningLevel=Relaxed``).
- Basic, for local accounts only, over HTTPS; over HTTP only with ``allow_unencrypted`` (Windows' ``AllowUnencrypted=false``
  default). Refused Basic gets a 401 that does not offer Basic, so pywinrm reports "the specified credentials were rejected
  by the server".
- Only administrators may use WinRM (the default root SDDL); other accounts get 401 too.

Credentials are per host. pyspnego's NTLM acceptor reads the account list from the file named by the ``NTLM_USER_FILE``
environment variable when it builds a context and again when it checks the AUTHENTICATE message, so each listener writes
its own file and every acceptor call runs under one process-wide lock with the variable pointing at that file: host A's
password never authenticates on host B.

A host that is down (rebooting) closes its listening sockets and every open connection: clients get "connection refused"
until it is up again.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import spnego
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

from simulator import pki
from simulator.wsman import Caller, Reply

log = logging.getLogger(__name__)

HTTP_PORT = 5985
HTTPS_PORT = 5986
IDLE_TIMEOUT = 120.0  # HTTP.sys closes idle keep-alive connections after about two minutes
BOUNDARY = b"--Encrypted Boundary"
ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
SOAP_TYPE = "application/soap+xml;charset=UTF-8"
_NTLM_ENV_LOCK = threading.Lock()  # NTLM_USER_FILE is process-wide: one acceptor call at a time


# -- accounts --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Credential:
    """An account that may log on to a host. ``account`` is the host's own name for it (``EX01\\Administrator`` or just
    ``Administrator`` for a local account, ``CONTOSO\\svc-crm`` for a domain account)."""

    account: str
    password: str
    admin: bool = False
    domain: bool = False  # a domain account (NETBIOS\\user), else local to the host

    @property
    def user(self) -> str:
        return self.account.rsplit("\\", 1)[-1]


class AccountBook:
    """The credentials of one host and the name forms Windows accepts for each of them."""

    def __init__(self, host_name: str, credentials: Callable[[], Iterable[Credential]], dns_domain: str | None = None) -> None:
        self.host_name = host_name
        self._credentials = credentials
        self.dns_domain = dns_domain

    def credentials(self) -> list[Credential]:
        return list(self._credentials())

    def name_forms(self, cred: Credential) -> list[str]:
        """How a client may spell the account: ``user``, ``.\\user``, ``HOST\\user`` (local); ``NETBIOS\\user``,
        ``dns.domain\\user``, ``user@dns.domain`` (domain). Bare names are local accounts only."""
        user = cred.user
        if cred.domain:
            forms = [cred.account]
            if self.dns_domain:
                forms += [f"{self.dns_domain}\\{user}", f"{user}@{self.dns_domain}"]
            return forms
        return [user, f".\\{user}", f"{self.host_name}\\{user}"]

    def resolve(self, name: str) -> Credential | None:
        """The account a client-supplied user name refers to (case-insensitive), or None."""
        wanted = name.strip().upper()
        for cred in self.credentials():
            if any(form.upper() == wanted for form in self.name_forms(cred)):
                return cred
        return None

    def check_password(self, name: str, password: str | None) -> Credential | None:
        cred = self.resolve(name)
        return cred if cred is not None and password is not None and cred.password == password else None

    def ntlm_file_text(self) -> str:
        """The accounts in smbpasswd format (hashes, so any password character is safe), one line per name form."""
        from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1  # pyspnego's own hash functions (pinned version)

        lines = []
        for cred in self.credentials():
            lm = base64.b16encode(lmowfv1(cred.password)).decode()
            nt = base64.b16encode(ntowfv1(cred.password)).decode()
            lines += [f"{form}:0:{lm}:{nt}:[U]:LCT-00000000" for form in self.name_forms(cred)]
        return "\n".join(lines) + "\n"


# -- NTLM ------------------------------------------------------------------------------------------------------------
class NtlmAcceptor:
    """NTLM acceptor for one host: per-host credential file, process-wide lock around pyspnego's reads of it."""

    def __init__(self, book: AccountBook, workdir: Path, cbt_hash: bytes | None = None) -> None:
        self.book = book
        self.path = workdir / f"ntlm-{book.host_name}.users"
        self._written = ""
        self._bindings = GssChannelBindings(application_data=b"tls-server-end-point:" + cbt_hash) if cbt_hash else None

    def _refresh(self) -> None:
        text = self.book.ntlm_file_text()
        if text != self._written:  # accounts can change while the estate runs
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            self._written = text

    def new_context(self) -> spnego.ContextProxy:
        with _NTLM_ENV_LOCK:
            self._refresh()
            os.environ["NTLM_USER_FILE"] = str(self.path)
            return spnego.server(protocol="ntlm")

    def step(self, context: spnego.ContextProxy, token: bytes) -> bytes | None:
        """One NTLM leg; raises SpnegoError when the client's response does not match the host's accounts."""
        bindings = self._bindings if self._bindings is not None and _sends_cbt(token) else None
        with _NTLM_ENV_LOCK:
            self._refresh()
            os.environ["NTLM_USER_FILE"] = str(self.path)
            return context.step(token, channel_bindings=bindings)


def _sends_cbt(token: bytes) -> bool:
    """Whether an AUTHENTICATE message carries channel bindings: Windows' Relaxed hardening checks them only then."""
    from spnego._ntlm_raw.messages import Authenticate, AvId, MessageType, NTClientChallengeV2

    if len(token) < 12 or not token.startswith(b"NTLMSSP\0") or struct.unpack("<I", token[8:12])[0] != MessageType.authenticate:
        return False
    try:
        response = Authenticate.unpack(token).nt_challenge_response or b""
        if len(response) <= 24:
            return False  # NTLMv1 has no AV pairs
        pairs = NTClientChallengeV2.unpack(response[16:]).av_pairs
    except Exception:
        return False
    return pairs.get(AvId.channel_bindings, b"\0" * 16) != b"\0" * 16


# -- statistics ------------------------------------------------------------------------------------------------------
RAW_COMMANDS = "(raw commands)"  # the per-module entry of commands that ran no module (win_reboot's, temp folders ...)


@dataclass
class HostCounters:
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    connections: int = 0
    auth_failures: int = 0
    module_calls: int = 0
    module_cpu_s: float = 0.0
    modules: dict[str, dict[str, float]] = field(default_factory=dict)


class Stats:
    """Per-host counters for benchmarks (written to DIR/stats.json by the server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, HostCounters] = {}

    def _host(self, name: str) -> HostCounters:
        return self._hosts.setdefault(name, HostCounters())

    def add(self, host: str, **deltas: int) -> None:
        with self._lock:
            counters = self._host(host)
            for key, value in deltas.items():
                setattr(counters, key, getattr(counters, key) + value)

    def module(self, host: str, fqcn: str, cpu_s: float, wall_s: float) -> None:
        with self._lock:
            counters = self._host(host)
            counters.module_calls += 1
            counters.module_cpu_s += cpu_s
            entry = counters.modules.setdefault(fqcn, {"calls": 0, "cpu_s": 0.0, "wall_s": 0.0})
            entry["calls"] += 1
            entry["cpu_s"] += cpu_s
            entry["wall_s"] += wall_s

    def command_requests(self, host: str, label: str, requests: int) -> None:
        """WS-Man requests of one finished command, under the module it ran (RAW_COMMANDS for anything else)."""
        with self._lock:
            entry = self._host(host).modules.setdefault(label or RAW_COMMANDS, {"calls": 0, "cpu_s": 0.0, "wall_s": 0.0})
            entry["requests"] = entry.get("requests", 0) + requests

    def snapshot(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {name: dict(vars(c), modules={k: dict(v) for k, v in c.modules.items()}) for name, c in self._hosts.items()}


# -- HTTP ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TlsIdentity:
    cert: Path
    key: Path


class _Refused(Exception):
    """Authentication failed: answer 401."""


class _NoCredentials(Exception):
    """The request carried no credentials on an unauthenticated connection: answer 401 with the offered schemes."""


class _Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, listener: Listener, address: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.listener = listener
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__((address, port), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's version does a reverse DNS lookup: slow on 127.x
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        conn: socket.socket = request
        if self.tls is not None:  # handshake on the connection's own thread, never in the accept loop
            try:
                request.settimeout(IDLE_TIMEOUT)
                conn = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.debug("%s: TLS handshake with %s failed: %s", self.listener.host_name, client_address, exc)
                return
        with self.conn_lock:
            self.connections.add(conn)
        self.listener.stats.add(self.listener.host_name, connections=1)
        try:
            _Handler(conn, client_address, self)
        finally:
            with self.conn_lock:
                self.connections.discard(conn)
            if conn is not request:
                conn.close()

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("%s: connection %s ended with an error", self.listener.host_name, client_address, exc_info=True)

    def drop_all(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: NTLM authenticates the connection, not the request
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.ntlm: spnego.ContextProxy | None = None
        self.user: Credential | None = None  # set once NTLM completed on this connection

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s: " + format, self.server.listener.host_name, self.client_address[0], *args)

    def do_POST(self) -> None:
        try:
            self.server.listener.handle_post(self)
        except OSError:
            raise  # the client went away: nothing to answer
        except Exception:  # a simulator bug must not close an authenticated connection: answer 500 like a server error
            log.exception("%s: request failed", self.server.listener.host_name)
            self.send_simple(500)

    def do_GET(self) -> None:
        self.send_simple(405)

    def send_simple(self, status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", content_type: str = "") -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.server.listener.stats.add(self.server.listener.host_name, bytes_out=len(body))


class Listener:
    """The WinRM endpoints of one host: HTTP on 5985 and HTTPS on 5986 at the host's own address."""

    def __init__(
        self,
        *,
        host_name: str,
        address: str,
        app: Callable[[bytes, Caller], Reply],
        accounts: AccountBook,
        workdir: Path,
        tls: TlsIdentity | None,
        allow_unencrypted: bool = False,
        stats: Stats | None = None,
        delay: Callable[[], float] | None = None,
        ports: tuple[int, int] = (HTTP_PORT, HTTPS_PORT),
        wire_tap: Callable[[str, str, bytes], None] | None = None,
    ) -> None:
        """``delay`` returns real seconds to hold every request (the slow_host fault); ``app`` answers decrypted SOAP;
        ``wire_tap(scheme, content_type, body)`` sees every request body exactly as it arrived (tests)."""
        self.host_name = host_name
        self.address = address
        self.app = app
        self.accounts = accounts
        self.allow_unencrypted = allow_unencrypted
        self.stats = stats or Stats()
        self.delay = delay
        self.ports = ports
        self.wire_tap = wire_tap
        self._tls = tls
        self._ssl = _ssl_context(tls) if tls else None
        self.ntlm = NtlmAcceptor(accounts, workdir, pki.tls_server_end_point(tls.cert) if tls else None)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def is_up(self) -> bool:
        return bool(self._servers)

    def start(self) -> None:
        """Bind both ports and serve (the host is up)."""
        with self._lock:
            if self._servers:
                return
            http = _Server(self, self.address, self.ports[0], None)
            try:
                https = _Server(self, self.address, self.ports[1], self._ssl) if self._ssl else None
            except OSError:
                http.server_close()
                raise
            self._servers = [s for s in (http, https) if s is not None]
            for server in self._servers:
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name=f"{self.host_name}-{server.scheme}")
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Close the listening sockets and every open connection: the host stops answering (connection refused)."""
        with self._lock:
            servers, self._servers = self._servers, []
            threads, self._threads = self._threads, []
        for server in servers:
            server.shutdown()
            server.server_close()
            server.drop_all()
        for thread in threads:
            thread.join(timeout=5)

    def set_up(self, up: bool) -> None:
        """Follow the host's power state: serve while it is up, refuse while it is down."""
        if up and not self.is_up:
            self.start()
        elif not up and self.is_up:
            self.stop()

    # -- one request -------------------------------------------------------------------------------------------------
    def handle_post(self, h: _Handler) -> None:
        length = h.headers.get("Content-Length")
        if length is None:
            h.send_simple(411)
            return
        body = h.rfile.read(int(length))
        self.stats.add(self.host_name, requests=1, bytes_in=len(body))
        if self.wire_tap:
            self.wire_tap(h.server.scheme, h.headers.get("Content-Type", ""), body)
        if self.delay:
            pause = self.delay()
            if pause > 0:
                time.sleep(pause)
        scheme = h.server.scheme
        try:
            user = self._authenticate(h, scheme, body)
        except _NoCredentials:
            h.send_simple(401, self._offers(scheme))  # the usual first leg: tell the client what it may use
            return
        except _Refused as refused:
            self.stats.add(self.host_name, auth_failures=1)
            log.info("%s: %s refused: %s", self.host_name, h.client_address[0], refused)
            h.send_simple(401, self._offers(scheme))
            return
        if user is None:  # an NTLM challenge was sent
            return
        content_type = h.headers.get("Content-Type", "")
        encrypted = content_type.startswith("multipart/encrypted")
        if encrypted:
            if h.ntlm is None or not h.ntlm.complete:
                h.send_simple(400)
                return
            try:
                soap = unwrap_message(h.ntlm, body)
            except (ValueError, SpnegoError) as exc:
                log.info("%s: could not decrypt a request: %s", self.host_name, exc)
                h.send_simple(400)
                return
        else:
            soap = body
            if soap and scheme == "http" and not self.allow_unencrypted:
                self.stats.add(self.host_name, auth_failures=1)
                h.send_simple(401, self._offers(scheme))  # AllowUnencrypted=false: plaintext SOAP over HTTP is refused
                return
        if not soap:
            h.send_simple(200)  # pywinrm's empty POST that sets up message encryption
            return
        reply = self.app(soap, Caller(user=user.account, scheme=scheme, client=f"{h.client_address[0]}:{h.client_address[1]}"))
        if reply.drop:
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        if encrypted:
            h.send_simple(reply.status, body=wrap_message(h.ntlm, reply.body), content_type=_encrypted_type())
        else:
            h.send_simple(reply.status, body=reply.body, content_type=SOAP_TYPE)

    def _authenticate(self, h: _Handler, scheme: str, body: bytes) -> Credential | None:
        """The account this request runs as; None when an NTLM challenge went out; _Refused for a 401."""
        header = h.headers.get("Authorization")
        if not header:
            if h.user is None:
                raise _NoCredentials
            return h.user
        kind, _sep, token = header.partition(" ")
        kind = kind.lower()
        if kind == "basic":
            return self._basic(scheme, token.strip())
        if kind in ("negotiate", "ntlm"):
            return self._ntlm(h, kind, token.strip())
        raise _Refused(f"authentication scheme {kind!r} is not offered")

    def _basic(self, scheme: str, token: str) -> Credential:
        if scheme == "http" and not self.allow_unencrypted:
            raise _Refused("Basic over HTTP while AllowUnencrypted is false")
        try:
            user, _sep, password = base64.b64decode(token).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Refused("malformed Basic credentials") from exc
        cred = self.accounts.check_password(user, password)
        if cred is None or cred.domain:  # Basic authenticates local accounts only
            raise _Refused(f"Basic logon of {user!r} failed")
        return self._authorised(cred)

    def _ntlm(self, h: _Handler, kind: str, token: str) -> Credential | None:
        try:
            raw = base64.b64decode(token)
        except ValueError as exc:
            raise _Refused("malformed NTLM token") from exc
        if not raw.startswith(b"NTLMSSP\0"):
            raise _Refused("only NTLM is modelled by the simulator (no Kerberos)")
        if raw[8:12] == b"\x01\0\0\0":  # NEGOTIATE: a new handshake on this connection
            h.user = None
            h.ntlm = self.ntlm.new_context()
        if h.ntlm is None:
            raise _Refused("NTLM AUTHENTICATE without NEGOTIATE")
        try:
            answer = self.ntlm.step(h.ntlm, raw)
        except SpnegoError as exc:
            h.ntlm = None
            raise _Refused(f"NTLM logon failed: {exc}") from exc
        if not h.ntlm.complete:
            challenge = base64.b64encode(answer or b"").decode()
            h.send_simple(401, [("WWW-Authenticate", f"{'Negotiate' if kind == 'negotiate' else 'NTLM'} {challenge}")])
            return None
        principal = h.ntlm.client_principal or ""
        cred = self.accounts.resolve(principal)
        if cred is None or not cred.admin:
            h.ntlm = None
            raise _Refused(f"NTLM principal {principal!r} is not an administrator account of the host")
        h.user = cred
        return cred

    def _authorised(self, cred: Credential) -> Credential:
        if not cred.admin:
            raise _Refused(f"{cred.account} is not allowed to use WinRM (not an administrator)")
        return cred

    def _offers(self, scheme: str) -> list[tuple[str, str]]:
        offers = [("WWW-Authenticate", "Negotiate")]
        if scheme == "https" or self.allow_unencrypted:
            offers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return offers


# -- message encryption ----------------------------------------------------------------------------------------------
def unwrap_message(context: spnego.ContextProxy, body: bytes) -> bytes:
    """Decrypt a ``multipart/encrypted`` body (MS-WSMV 2.2.9.1.1); checks the announced length like the client does."""
    parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
    if len(parts) < 2:
        raise ValueError("encrypted body has no parts")
    header, payload = parts[0], parts[1]
    if payload.endswith(BOUNDARY + b"--\r\n"):
        payload = payload[: -len(BOUNDARY + b"--\r\n")]
    expected = int(header.split(b"Length=")[1].split(b"\r\n")[0])
    prefix = b"\tContent-Type: application/octet-stream\r\n"
    if not payload.startswith(prefix):
        raise ValueError("encrypted part has no octet-stream header")
    data = payload[len(prefix) :]
    sig_len = struct.unpack("<i", data[:4])[0]
    message = context.unwrap_winrm(data[4 : 4 + sig_len], data[4 + sig_len :])
    if len(message) != expected:
        raise ValueError(f"decrypted length {len(message)} differs from the announced {expected}")
    return message


def wrap_message(context: spnego.ContextProxy | None, message: bytes) -> bytes:
    """Encrypt a response body in the same multipart format."""
    if context is None:
        raise ValueError("no security context")
    wrapped = context.wrap_winrm(message)
    return (
        BOUNDARY + b"\r\n"
        b"\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=" + SOAP_TYPE.encode() + b";Length=" + str(len(message)).encode() + b"\r\n"
        + BOUNDARY + b"\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<i", len(wrapped.header)) + wrapped.header + wrapped.data
        + BOUNDARY + b"--\r\n"
    )  # fmt: skip


def _encrypted_type() -> str:
    return f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'


def _ssl_context(tls: TlsIdentity) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(tls.cert), str(tls.key))
    return context


def private_workdir() -> Path:
    """A private folder for the NTLM credential files of one server process."""
    return Path(tempfile.mkdtemp(prefix="winrm-sim-"))
