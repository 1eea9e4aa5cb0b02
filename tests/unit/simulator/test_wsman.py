"""WSManService driven by pywinrm's own Protocol (its transport short-circuited to the service, HTTP 500 → fault)."""

from __future__ import annotations

import threading

import pytest
from winrm.exceptions import WinRMOperationTimeoutError, WinRMTransportError, WSManFaultError
from winrm.protocol import Protocol

from simulator import wsman


class Job:
    """A process that answers `result`; with a `gate` it runs until the test opens the gate (never for a fixed time, so
    whether a Receive times out first does not depend on how fast the machine is)."""

    def __init__(self, result: wsman.ProcessResult, needs_stdin: bool = False, gate: threading.Event | None = None) -> None:
        self.result = result
        self.needs_stdin = needs_stdin
        self.gate = gate
        self.stdin: bytes | None = None

    def run(self, stdin: bytes) -> wsman.ProcessResult:
        self.stdin = stdin
        if self.gate is not None:
            assert self.gate.wait(60), "the test never let the job finish"
        return self.result


class Runner:
    def __init__(self) -> None:
        self.next: Job = Job(wsman.ProcessResult(0, b"hello\r\n"))
        self.prepared: list[tuple[str, list[str], str]] = []

    def prepare(self, command: str, arguments: list[str], user: str) -> Job:
        self.prepared.append((command, arguments, user))
        return self.next


def protocol_for(service: wsman.WSManService, operation_timeout: int = 20) -> Protocol:
    """A real pywinrm Protocol whose transport hands the SOAP to the service (and raises on HTTP 500 like requests)."""
    proto = Protocol("http://sim:5985/wsman", transport="plaintext", username="u", password="p", operation_timeout_sec=operation_timeout,
                     read_timeout_sec=operation_timeout + 10)  # fmt: skip

    def send_message(message: str | bytes) -> bytes:
        body = message.encode() if isinstance(message, str) else message
        reply = service.handle(body, wsman.Caller(user="EX01\\Administrator"))
        if reply.status != 200:
            raise WinRMTransportError("http", reply.status, reply.body.decode())
        return reply.body

    proto.transport.send_message = send_message  # type: ignore[method-assign]
    return proto


@pytest.fixture
def runner():
    return Runner()


@pytest.fixture
def service(runner):
    return wsman.WSManService("EX01", runner)


def test_shell_command_output_and_cleanup(service, runner):
    proto = protocol_for(service)
    shell = proto.open_shell(codepage=65001)
    command = proto.run_command(shell, "ipconfig", ["/all"])
    out, err, rc = proto.get_command_output(shell, command)
    assert (out, err, rc) == (b"hello\r\n", b"", 0)
    assert runner.prepared == [("ipconfig", ["/all"], "EX01\\Administrator")]
    proto.cleanup_command(shell, command)  # asserts RelatesTo == MessageID
    proto.close_shell(shell, close_session=False)  # same assertion
    assert service.shell_count == 0


def test_exit_code_and_stderr(service, runner):
    runner.next = Job(wsman.ProcessResult(3, b"", b"boom"))
    proto = protocol_for(service)
    shell = proto.open_shell()
    assert proto.get_command_output(shell, proto.run_command(shell, "x")) == (b"", b"boom", 3)


def test_large_output_is_split_across_receives(service, runner):
    data = bytes(range(256)) * 2000  # 512 000 bytes: several envelopes of pywinrm's 150 KiB maximum
    runner.next = Job(wsman.ProcessResult(0, data))
    proto = protocol_for(service)
    shell = proto.open_shell()
    command = proto.run_command(shell, "x")
    first = proto.get_command_output_raw(shell, command)
    assert first[3] is False and 0 < len(first[0]) < len(data)
    out, _err, rc = proto.get_command_output(shell, command)
    assert first[0] + out == data and rc == 0


def test_operation_timeout_fault_is_retried_by_pywinrm(service, runner):
    finish = threading.Event()
    runner.next = Job(wsman.ProcessResult(0, b"late"), gate=finish)
    proto = protocol_for(service, operation_timeout=1)
    shell = proto.open_shell()
    command = proto.run_command(shell, "x")
    with pytest.raises(WinRMOperationTimeoutError):  # still running when the operation timeout ends the Receive
        proto.get_command_output_raw(shell, command)
    finish.set()
    assert proto.get_command_output(shell, command) == (b"late", b"", 0)


def test_command_reading_stdin_runs_after_end(service, runner):
    job = runner.next = Job(wsman.ProcessResult(0, b"ok"), needs_stdin=True)
    proto = protocol_for(service, operation_timeout=1)
    shell = proto.open_shell()
    command = proto.run_command(shell, "PowerShell", ["-EncodedCommand", "x"], console_mode_stdin=False)
    proto.send_command_input(shell, command, b"part1,")
    with pytest.raises(WinRMOperationTimeoutError):  # still waiting for the rest of stdin
        proto.get_command_output_raw(shell, command)
    proto.send_command_input(shell, command, b"part2", end=True)
    assert proto.get_command_output(shell, command)[0] == b"ok"
    assert job.stdin == b"part1,part2"


def test_unknown_shell_fault(service):
    proto = protocol_for(service)
    with pytest.raises(WSManFaultError) as info:
        proto.run_command("0000-NOPE", "x")
    assert info.value.wsman_fault_code == wsman.CODE_SHELL_NOT_FOUND
    assert "shell was not found" in info.value.reason


def test_reset_forgets_shells(service):
    proto = protocol_for(service)
    shell = proto.open_shell()
    service.reset()
    with pytest.raises(WSManFaultError):
        proto.run_command(shell, "x")


def test_drop_decision_on_command(runner):
    decisions = ["drop", None]
    service = wsman.WSManService("EX01", runner, on_command=lambda caller: decisions.pop(0))
    proto = protocol_for(service)
    shell = proto.open_shell()
    reply = service.handle(_command_envelope(proto, shell), wsman.Caller(user="u"))
    assert reply.drop
    assert proto.get_command_output(shell, proto.run_command(shell, "x"))[2] == 0


def test_after_command_hook_runs(runner):
    saved = threading.Event()
    service = wsman.WSManService("EX01", runner, after_command=saved.set)
    proto = protocol_for(service)
    shell = proto.open_shell()
    proto.get_command_output(shell, proto.run_command(shell, "x"))
    assert saved.is_set()  # before the output was answered: a client that saw the command end finds its changes saved


def test_unsupported_action_is_a_fault(service):
    envelope = wsman.envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", "uuid:1", "")
    reply = service.handle(envelope.replace("<a:RelatesTo>", "<a:MessageID>uuid:1</a:MessageID><a:RelatesTo>").encode(), wsman.Caller(user="u"))
    assert reply.status == 500 and b"not modelled by the simulator" in reply.body


def test_parse_duration():
    assert wsman.parse_duration("PT20S") == 20
    assert wsman.parse_duration("PT1M30.5S") == 90.5
    assert wsman.parse_duration("junk") is None


def _command_envelope(proto: Protocol, shell: str) -> bytes:
    import xmltodict

    req = {"env:Envelope": proto.build_wsman_header(action=wsman.ACTION_COMMAND, resource_uri=wsman.CMD_RESOURCE, shell_id=shell)}
    req["env:Envelope"]["env:Body"] = {"rsp:CommandLine": {"rsp:Command": "x"}}
    return xmltodict.unparse(req).encode()


def test_each_command_reports_its_requests_under_its_label(runner):
    done: list[tuple[str, int]] = []
    service = wsman.WSManService("EX01", runner, on_command_done=lambda label, requests: done.append((label, requests)))
    proto = protocol_for(service)
    shell = proto.open_shell()
    labelled = Job(wsman.ProcessResult(0, b"{}"), needs_stdin=True)
    labelled.label = "ansible.windows.win_ping"  # type: ignore[attr-defined]
    runner.next = labelled
    command = proto.run_command(shell, "powershell.exe", ["-"])
    proto.send_command_input(shell, command, b"input", end=True)
    assert proto.get_command_output(shell, command)[2] == 0
    proto.cleanup_command(shell, command)
    assert done == [("ansible.windows.win_ping", 4)]  # Command, Send, Receive, Signal

    runner.next = Job(wsman.ProcessResult(0, b"x"))  # no label: a command that ran no module
    proto.run_command(shell, "hostname")
    proto.close_shell(shell, close_session=False)  # the shell goes with its command
    assert done[1] == ("", 1)
