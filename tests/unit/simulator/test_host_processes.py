"""Processes: a program is a running process for as long as it runs; a shutdown ends them all."""

from __future__ import annotations

from simulator import programs
from simulator.testing import make_host

SEEN: list[list[tuple[str, str, str]]] = []


@programs.program("test_process_probe")
def _probe(ctx: programs.ProcessContext) -> int:
    SEEN.append([(p.name, p.path, p.command_line) for p in ctx.host.processes()])
    return 0


def test_a_program_is_a_process_while_it_runs(tmp_path) -> None:
    host = make_host(tmp_path)
    host.mkdir(r"C:\Tools")
    host.write_bytes(r"C:\Tools\probe.exe", programs.marker("test_process_probe"))
    SEEN.clear()
    result = host.run(r'C:\Tools\probe.exe /x "a b"')
    assert result.rc == 0
    assert SEEN == [[("probe.exe", r"C:\Tools\probe.exe", r'C:\Tools\probe.exe /x "a b"')]]
    assert host.processes() == []


def test_a_shutdown_ends_every_process(tmp_path) -> None:
    host = make_host(tmp_path, reboot_seconds=1)
    pid = host.start_process(r"C:\Windows\Temp\ExchangeSetup\ExSetup.exe", "ExSetup.exe /mode:RecoverServer", "CONTOSO\\Administrator")
    assert [p.pid for p in host.processes()] == [pid]
    host.reboot()
    host.clock.sleep(host.reboot_seconds)
    assert host.is_up()
    assert host.processes() == []
