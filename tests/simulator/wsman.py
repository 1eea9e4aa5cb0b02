"""WS-Management shells and commands, answered the way a Windows WinRM service answers pywinrm.

One :class:`WSManService` per simulated host. It parses the SOAP envelope of each request, keeps the host's shells and
their commands, and builds the responses and faults described in ``shared/docs/winrm-wire-facts.md``:

- Create → ``ResourceCreated`` with the ShellId selector; Delete → empty body, ``RelatesTo`` the request.
- Command → CommandId; the command is prepared by the payload layer (:class:`CommandRunner`) and runs on a worker thread
  once its stdin is complete (or at the first Receive when it reads no stdin).
- Receive waits up to the request's ``OperationTimeout`` for the command; if it is still running Windows answers the
  operation-timeout fault (code 2150858793), which pywinrm retries silently. Output is returned in envelope-sized chunks,
  ``CommandState/Running`` until the last, then ``CommandState/Done`` with the ``ExitCode``.
- Signal terminate ends a command; unknown shells get the "shell was not found" fault.

The service is transport-agnostic: :meth:`WSManService.handle` takes the decrypted SOAP bytes and returns a :class:`Reply`.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from xml.etree.ElementTree import Element  # only the type: parsing goes through defusedxml
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree as SafeET

log = logging.getLogger(__name__)

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_RESOURCE = SHELL_URI + "/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = SHELL_URI + "/Command"
ACTION_SEND = SHELL_URI + "/Send"
ACTION_RECEIVE = SHELL_URI + "/Receive"
ACTION_SIGNAL = SHELL_URI + "/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"
STATE_DONE = SHELL_URI + "/CommandState/Done"

# Windows WSMan fault codes (winerror.h, ERROR_WSMAN_*)
CODE_OPERATION_TIMEOUT = 2150858793  # 0x80338029
CODE_SHELL_NOT_FOUND = 2150858843  # 0x8033805B
CODE_INVALID_PARAMETER = 87
CODE_ACTION_NOT_SUPPORTED = 2150858762  # 0x8033800A

DEFAULT_OPERATION_TIMEOUT = 60.0  # WinRM's MaxTimeoutms default applies when the client sends none
DEFAULT_MAX_ENVELOPE = 153600  # what pywinrm announces; Windows keeps each response under the client's maximum
ENVELOPE_OVERHEAD = 4096  # room for the SOAP around the base64 streams


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the authenticated account (as the host names it) and how it arrived."""

    user: str
    scheme: str = "http"
    client: str = ""


@dataclass(frozen=True)
class Reply:
    """What the transport sends back: HTTP status and SOAP body, or ``drop`` to close the TCP connection unanswered."""

    status: int
    body: bytes = b""
    drop: bool = False


@dataclass
class ProcessResult:
    """Outcome of one command as a Windows process would report it."""

    rc: int
    stdout: bytes = b""
    stderr: bytes = b""


class Job(Protocol):
    """A prepared command. ``needs_stdin``: the process reads stdin to its end before it can finish."""

    needs_stdin: bool

    def run(self, stdin: bytes) -> ProcessResult: ...


class CommandRunner(Protocol):
    """The payload layer as wsman sees it: turns a WinRS command line into a runnable job for a user."""

    def prepare(self, command: str, arguments: list[str], user: str) -> Job: ...


class WSManFault(Exception):
    """A SOAP fault as WinRM sends it (HTTP 500)."""

    def __init__(self, code: int, subcode: str, message: str, *, sender: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.message = message
        self.sender = sender


@dataclass
class Command:
    id: str
    job: Job
    stdin: bytearray = field(default_factory=bytearray)
    stdin_done: bool = False
    result: ProcessResult | None = None
    started: bool = False
    terminated: bool = False
    sent_out: int = 0
    sent_err: int = 0
    requests: int = 1  # WS-Man requests about this command, its Command request included (benchmark figures)
    cond: threading.Condition = field(default_factory=threading.Condition)


@dataclass
class Shell:
    id: str
    owner: str
    commands: dict[str, Command] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    action: str
    message_id: str
    shell_id: str | None
    operation_timeout: float
    max_envelope: int
    body: Element | None


class WSManService:
    """The WinRM service of one host: shells, commands and their output."""

    def __init__(
        self,
        machine: str,
        runner: CommandRunner,
        *,
        on_command: Callable[[Caller], str | None] | None = None,
        after_command: Callable[[], None] | None = None,
        on_command_done: Callable[[str, int], None] | None = None,
    ) -> None:
        """``on_command`` is asked before each Command: return ``"drop"`` to close the connection (fault injection),
        ``"drop-receive"`` to run the command but close the connection instead of answering its first Receive.
        ``after_command`` runs after every finished command, before its output is answered (the server saves host state there).
        ``on_command_done(label, requests)`` is told, when a command is signalled or its shell deleted, how many requests
        it took (Command, Send, Receive, Signal) and what it ran (the job's ``label``; benchmark figures)."""
        self.machine = machine
        self.runner = runner
        self.on_command = on_command
        self.after_command = after_command
        self.on_command_done = on_command_done
        self._shells: dict[str, Shell] = {}
        self._lock = threading.Lock()
        self._drop_receive: set[str] = set()

    # -- entry point -------------------------------------------------------------------------------------------------
    def handle(self, soap: bytes, caller: Caller) -> Reply:
        """Answer one SOAP request."""
        try:
            request = parse_request(soap)
        except ValueError as exc:
            return self._fault_reply("", WSManFault(CODE_INVALID_PARAMETER, "w:InvalidMessageInformationHeader", str(exc)))
        try:
            return self._dispatch(request, caller)
        except WSManFault as fault:
            return self._fault_reply(request.message_id, fault)

    def reset(self) -> None:
        """Forget every shell: the WinRM service restarted (host reboot)."""
        with self._lock:
            for shell in self._shells.values():
                for command in shell.commands.values():
                    _terminate(command)
            self._shells.clear()

    @property
    def shell_count(self) -> int:
        with self._lock:
            return len(self._shells)

    # -- actions -----------------------------------------------------------------------------------------------------
    def _dispatch(self, req: Request, caller: Caller) -> Reply:
        handlers: dict[str, Callable[[Request, Caller], Reply]] = {
            ACTION_CREATE: self._create,
            ACTION_DELETE: self._delete,
            ACTION_COMMAND: self._command,
            ACTION_SEND: self._send,
            ACTION_RECEIVE: self._receive,
            ACTION_SIGNAL: self._signal,
        }
        handler = handlers.get(req.action)
        if handler is None:
            raise WSManFault(
                CODE_ACTION_NOT_SUPPORTED,
                "a:ActionNotSupported",
                f"The action {req.action} is not modelled by the simulator (only the WinRS shell actions are).",
            )
        return handler(req, caller)

    def _create(self, req: Request, caller: Caller) -> Reply:
        shell = Shell(id=str(uuid.uuid4()).upper(), owner=caller.user)
        with self._lock:
            self._shells[shell.id] = shell
        address = f"{caller.scheme}://{self.machine}:{5986 if caller.scheme == 'https' else 5985}/wsman"
        body = (
            f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell.id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>'
            f"<rsp:Shell><rsp:ShellId>{shell.id}</rsp:ShellId><rsp:ResourceUri>{CMD_RESOURCE}</rsp:ResourceUri>"
            f"<rsp:Owner>{escape(caller.user)}</rsp:Owner><rsp:InputStreams>stdin</rsp:InputStreams>"
            f"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        )
        return self._ok(req, ACTION_CREATE + "Response", body)

    def _delete(self, req: Request, caller: Caller) -> Reply:
        with self._lock:
            shell = self._shells.pop(self._shell_id(req), None)
        if shell is None:
            raise _shell_not_found(req.shell_id)
        for command in shell.commands.values():
            _terminate(command)
            self._done(command)
        return self._ok(req, ACTION_DELETE + "Response", "")

    def _command(self, req: Request, caller: Caller) -> Reply:
        shell = self._shell(req)
        decision = self.on_command(caller) if self.on_command else None
        if decision == "drop":
            log.warning("%s: fault drop_connection: closing the connection on a Command", self.machine)
            return Reply(status=0, drop=True)
        line = _find(req.body, "rsp:CommandLine")
        command_text = _text(_find(line, "rsp:Command")).strip()
        arguments = [_text(el) for el in (line.findall("rsp:Arguments", NS) if line is not None else [])]
        job = self.runner.prepare(command_text, arguments, shell.owner)
        command = Command(id=str(uuid.uuid4()).upper(), job=job)
        with self._lock:
            shell.commands[command.id] = command
            if decision == "drop-receive":
                self._drop_receive.add(command.id)
        body = f"<rsp:CommandResponse><rsp:CommandId>{command.id}</rsp:CommandId></rsp:CommandResponse>"
        return self._ok(req, ACTION_COMMAND + "Response", body)

    def _send(self, req: Request, caller: Caller) -> Reply:
        shell = self._shell(req)
        for stream in req.body.iter(f"{{{NS['rsp']}}}Stream") if req.body is not None else []:
            command = self._command_of(shell, stream.get("CommandId"))
            command.requests += 1
            with command.cond:
                if command.stdin_done:
                    raise WSManFault(CODE_INVALID_PARAMETER, "w:InvalidParameter", "The stdin stream of this command is already closed.")
                command.stdin += base64.b64decode(stream.text or "")
                if stream.get("End", "false").lower() == "true":
                    command.stdin_done = True
                    self._start(command)
                command.cond.notify_all()
        return self._ok(req, ACTION_SEND + "Response", "<rsp:SendResponse/>")

    def _receive(self, req: Request, caller: Caller) -> Reply:
        shell = self._shell(req)
        desired = _find(req.body, "rsp:Receive/rsp:DesiredStream")
        command = self._command_of(shell, desired.get("CommandId") if desired is not None else None)
        command.requests += 1
        deadline = time.monotonic() + req.operation_timeout
        with command.cond:
            if not command.started and not (command.job.needs_stdin and not command.stdin_done):
                self._start(command)  # the process reads no stdin (or all of it arrived): it runs now
            while command.result is None and not command.terminated:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _operation_timeout()
                command.cond.wait(remaining)
        if command.id in self._drop_receive:
            self._drop_receive.discard(command.id)
            log.warning("%s: fault drop_connection: command ran, closing the connection instead of its output", self.machine)
            return Reply(status=0, drop=True)
        return self._ok(req, ACTION_RECEIVE + "Response", self._receive_body(command, req.max_envelope))

    def _signal(self, req: Request, caller: Caller) -> Reply:
        shell = self._shell(req)
        signal = _find(req.body, "rsp:Signal")
        command_id = signal.get("CommandId") if signal is not None else None
        with self._lock:
            command = shell.commands.pop(command_id or "", None)
        if command is None:
            raise WSManFault(CODE_INVALID_PARAMETER, "w:InvalidParameter", f"The command {command_id} was not found in shell {shell.id}.")
        _terminate(command)
        command.requests += 1
        self._done(command)
        return self._ok(req, ACTION_SIGNAL + "Response", "<rsp:SignalResponse/>")

    # -- helpers -----------------------------------------------------------------------------------------------------
    def _done(self, command: Command) -> None:
        if self.on_command_done:
            self.on_command_done(str(getattr(command.job, "label", "") or ""), command.requests)

    def _start(self, command: Command) -> None:
        """Run the job on a worker thread; the caller holds ``command.cond``."""
        if command.started:
            return
        command.started = True
        stdin = bytes(command.stdin)
        threading.Thread(target=self._run, args=(command, stdin), name=f"cmd-{command.id[:8]}", daemon=True).start()

    def _run(self, command: Command, stdin: bytes) -> None:
        try:
            result = command.job.run(stdin)
        except Exception as exc:  # a bug in a twin must reach the client as a failed process, not hang the Receive
            log.exception("%s: command %s crashed", self.machine, command.id)
            result = ProcessResult(rc=1, stderr=f"simulator internal error: {type(exc).__name__}: {exc}".encode())
        # Save before the output can reach the client: once a client has seen a command finish, what it changed is on
        # disk (a test reads state.json the moment ansible returns; saving after the answer raced that read).
        if self.after_command:
            try:
                self.after_command()
            except Exception:
                log.exception("%s: saving state after a command failed", self.machine)
        with command.cond:
            command.result = result
            command.cond.notify_all()

    def _receive_body(self, command: Command, max_envelope: int) -> str:
        if command.result is None:  # terminated before it produced anything
            command.result = ProcessResult(rc=-1)
        budget = max(1024, (max_envelope - ENVELOPE_OVERHEAD) * 3 // 4)
        out = command.result.stdout[command.sent_out : command.sent_out + budget]
        command.sent_out += len(out)
        err = command.result.stderr[command.sent_err : command.sent_err + max(0, budget - len(out))]
        command.sent_err += len(err)
        done = command.sent_out >= len(command.result.stdout) and command.sent_err >= len(command.result.stderr)
        cid = command.id
        parts = []
        if out:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}">{base64.b64encode(out).decode()}</rsp:Stream>')
        if err:
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}">{base64.b64encode(err).decode()}</rsp:Stream>')
        if done:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{STATE_DONE}"><rsp:ExitCode>{command.result.rc}</rsp:ExitCode></rsp:CommandState>')
        else:
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{STATE_RUNNING}"></rsp:CommandState>')
        return "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"

    def _shell_id(self, req: Request) -> str:
        if not req.shell_id:
            raise WSManFault(CODE_INVALID_PARAMETER, "w:InvalidSelectors", "The request did not name a ShellId selector.")
        return req.shell_id

    def _shell(self, req: Request) -> Shell:
        with self._lock:
            shell = self._shells.get(self._shell_id(req))
        if shell is None:
            raise _shell_not_found(req.shell_id)
        return shell

    def _command_of(self, shell: Shell, command_id: str | None) -> Command:
        with self._lock:
            command = shell.commands.get(command_id or "")
        if command is None:
            raise WSManFault(CODE_INVALID_PARAMETER, "w:InvalidParameter", f"The command {command_id} was not found in shell {shell.id}.")
        return command

    def _ok(self, req: Request, action: str, body: str) -> Reply:
        return Reply(200, envelope(action, req.message_id, body).encode())

    def _fault_reply(self, relates_to: str, fault: WSManFault) -> Reply:
        return Reply(500, fault_envelope(fault, relates_to, self.machine).encode())


# -- parsing and building --------------------------------------------------------------------------------------------
def parse_request(soap: bytes) -> Request:
    """Read what the service needs from a request envelope; ``ValueError`` when it is not a WS-Man request."""
    try:
        root = SafeET.fromstring(soap)
    except SafeET.ParseError as exc:
        raise ValueError(f"the request is not well-formed XML: {exc}") from exc
    header = root.find("s:Header", NS)
    if header is None:
        raise ValueError("the request has no SOAP header")
    action = _text(header.find("a:Action", NS)).strip()
    shell_id = None
    for selector in header.findall("w:SelectorSet/w:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = _text(selector).strip()
    return Request(
        action=action,
        message_id=_text(header.find("a:MessageID", NS)).strip(),
        shell_id=shell_id,
        operation_timeout=parse_duration(_text(header.find("w:OperationTimeout", NS))) or DEFAULT_OPERATION_TIMEOUT,
        max_envelope=_int(_text(header.find("w:MaxEnvelopeSize", NS)), DEFAULT_MAX_ENVELOPE),
        body=root.find("s:Body", NS),
    )


_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> float | None:
    """xs:duration as WS-Man uses it (``PT20S``, ``PT1M30.5S``) in seconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        return None
    d, h, m, s = (float(match.group(k) or 0) for k in "dhms")
    return d * 86400 + h * 3600 + m * 60 + s


def envelope(action: str, relates_to: str, body: str) -> str:
    """A response envelope: Windows echoes the request's MessageID in ``RelatesTo`` (pywinrm asserts it)."""
    namespaces = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "f")
    return (
        f'<s:Envelope xml:lang="en-US" {namespaces}><s:Header>'
        f"<a:Action>{action}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To><a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


def fault_envelope(fault: WSManFault, relates_to: str, machine: str) -> str:
    """A WS-Man fault with the ``f:WSManFault Code`` detail pywinrm reads (the timeout code makes it retry)."""
    code = "s:Sender" if fault.sender else "s:Receiver"
    message = escape(fault.message)
    body = (
        f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{escape(fault.subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{message} </s:Text></s:Reason><s:Detail>'
        f'<f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.code}" Machine={quoteattr(machine)}><f:Message>{message} </f:Message>'
        f"</f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope(ACTION_FAULT, relates_to, body)


def _operation_timeout() -> WSManFault:
    return WSManFault(
        CODE_OPERATION_TIMEOUT,
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
        sender=False,
    )


def _shell_not_found(shell_id: str | None) -> WSManFault:
    return WSManFault(
        CODE_SHELL_NOT_FOUND,
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found on the server. "
        "Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. "
        "Provide the correct ShellId or create a new shell and retry the operation.",
    )


def _terminate(command: Command) -> None:
    with command.cond:
        command.terminated = True
        command.cond.notify_all()


def _find(element: Element | None, path: str) -> Element | None:
    return element.find(path, NS) if element is not None else None


def _text(element: Element | None) -> str:
    return element.text or "" if element is not None else ""


def _int(text: str, default: int) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return default
