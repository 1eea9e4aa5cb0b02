"""Host.run: executable resolution, the program registry, cmd.exe, system programs and the installers."""

from __future__ import annotations

import pytest

from simulator import programs
from simulator.host_software import UNINSTALL
from simulator.testing import make_host
from simulator.winerror import WinError

PKG = {"product_code": "{11111111-2222-3333-4444-555555555555}", "name": "Tool", "version": "1.2.3", "publisher": "Contoso"}


@programs.program("test_counter")
def _counter(ctx: programs.ProcessContext) -> int:
    """A program that uses the host, takes simulated time and asks for on-boot work."""
    ctx.sleep(ctx.args.get("seconds", 0))
    path = ctx.resolve(ctx.argv[1])
    count = int(ctx.host.read_text(path)) + 1 if ctx.host.exists(path) else 1
    ctx.host.write_text(path, str(count))
    ctx.register_on_boot("test_counter_boot", {"path": path})
    ctx.out(f"count={count}\r\n")
    ctx.err("note\r\n")
    return count


@programs.boot_hook("test_counter_boot")
def _counter_boot(host, args) -> None:
    host.write_text(args["path"], "0")


@pytest.fixture
def host(tmp_path):
    h = make_host(tmp_path, time_scale=0.001)
    h.mkdir(r"C:\Tools")
    h.write_bytes(r"C:\Tools\counter.exe", programs.marker("test_counter", {"seconds": 60}))
    return h


def test_a_registered_program_runs_with_host_access(host) -> None:
    t0 = host.clock.time()
    result = host.run(r'"C:\Tools\counter.exe" count.txt', cwd=r"C:\Tools")
    assert (result.rc, result.stdout, result.stderr) == (1, "count=1\r\n", "note\r\n")
    assert host.clock.time() - t0 >= 60
    assert host.read_text(r"C:\Tools\count.txt") == "1"
    assert host.run(r"C:\tools\COUNTER count.txt", cwd=r"C:\Tools").rc == 2  # .exe found without the extension
    host.reboot()
    host.clock.sleep(host.reboot_seconds + 1)
    assert host.read_text(r"C:\Tools\count.txt") == "0"  # the on-boot hook ran


def test_resolution_errors(host) -> None:
    with pytest.raises(WinError) as e:
        host.run("nosuch.exe")
    assert e.value.code == 2
    host.write_bytes(r"C:\Tools\data.exe", b"MZ not a simulated program")
    with pytest.raises(WinError) as e:
        host.run(r"C:\Tools\data.exe")
    assert e.value.code == 193
    host.write_bytes(r"C:\Tools\future.exe", programs.marker("kind_from_a_later_issue"))
    result = host.run(r"C:\Tools\future.exe")
    assert result.rc == 1 and "not modelled by the simulator" in result.stderr


def test_path_search_and_system_programs(host) -> None:
    assert host.run("hostname").stdout == "WIN01\r\n"
    assert host.run("whoami.exe").stdout == "win01\\administrator\r\n"
    assert host.run("whoami", user="SYSTEM").stdout == "nt authority\\system\r\n"
    assert "not modelled" in host.run("powershell.exe -Command Get-Date").stderr


def test_cmd(host) -> None:
    assert host.run("cmd.exe /c echo hello world").stdout == "hello world\r\n"
    assert host.run('cmd /c "echo a && echo b"').stdout == "a \r\nb\r\n"  # the space before && is echoed
    assert host.run("cmd /c exit 3 || echo ran").rc == 3
    result = host.run("cmd /c nosuch-tool && echo never")
    assert result.rc == 9009
    assert result.stderr == "'nosuch-tool' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    assert host.run("cmd /c echo %COMPUTERNAME% %NOPE%").stdout == "WIN01 %NOPE%\r\n"
    host.run(r"cmd /c echo one> C:\Tools\out.txt")
    host.run(r"cmd /c echo two >> C:\Tools\out.txt")
    assert host.read_text(r"C:\Tools\out.txt") == "one\r\ntwo \r\n"  # cmd keeps the space before >>
    assert host.run(r"cmd /c type C:\Tools\out.txt").stdout == "one\r\ntwo \r\n"
    assert host.run("cmd /c echo a & echo b").stdout == "a \r\nb\r\n"
    assert host.run(r"cmd /c type C:\Tools\none.txt").rc == 1
    # %VAR% is expanded when the line is read, before any of its commands run (so this shows the previous level)
    assert host.run(r"cmd /c C:\Tools\counter.exe c2.txt & echo %ERRORLEVEL%", cwd=r"C:\Tools").stdout == "count=1\r\n0\r\n"
    assert host.run(r"cmd /c C:\Tools\counter.exe c2.txt", cwd=r"C:\Tools").rc == 2
    assert host.run("cmd /c ver").stdout.startswith("\r\nMicrosoft Windows [Version 10.0.17763.")


def test_batch_files_run_through_cmd(host) -> None:
    host.write_text(r"C:\Tools\job.cmd", "@echo off\r\necho step1\r\nexit /b 4\r\necho never\r\n")
    result = host.run(r"C:\Tools\job.cmd")
    assert (result.rc, result.stdout) == (4, "step1\r\n")


def test_msiexec_install_and_remove(host) -> None:
    host.write_bytes(r"C:\Tools\tool.msi", programs.marker("msi", {**PKG, "install_location": r"C:\Program Files\Tool"}))
    result = host.run(r'msiexec.exe /i C:\Tools\tool.msi /qn /norestart /L*V C:\Tools\install.log')
    assert result.rc == 0
    product = host.product(PKG["product_code"])
    assert (product.name, product.version, product.msi) == ("Tool", "1.2.3", True)
    assert host.is_dir(r"C:\Program Files\Tool")
    assert "Installation completed successfully" in host.read_bytes(r"C:\Tools\install.log").decode("utf-16-le")
    assert host.events("Application", source="MsiInstaller", event_id=11707)
    assert host.run(r"msiexec /i C:\Tools\tool.msi /qn").rc == 0  # already installed: nothing to do
    assert host.run(f"msiexec /x {PKG['product_code']} /qn").rc == 0
    assert host.product(PKG["product_code"]) is None
    assert host.run(f"msiexec /x {PKG['product_code']} /qn").rc == 1605
    assert host.run(r"msiexec /i C:\Tools\missing.msi /qn").rc == 1619


def test_msiexec_reboot_and_failure_codes(host) -> None:
    host.write_bytes(r"C:\Tools\reboot.msi", programs.marker("msi", {**PKG, "reboot": True}))
    assert host.run(r"msiexec /i C:\Tools\reboot.msi /qn /norestart").rc == 3010
    assert host.pending_reboot()["pending_file_rename"]
    host.write_bytes(r"C:\Tools\newer.msi", programs.marker("msi", {**PKG, "version": "2.0"}))
    assert host.run(r"msiexec /i C:\Tools\newer.msi /qn").rc == 1638
    host.write_bytes(r"C:\Tools\broken.msi", programs.marker("msi", {**PKG, "product_code": "{X}", "rc": 1603}))
    assert host.run(r"msiexec /i C:\Tools\broken.msi /qn").rc == 1603
    assert host.product("{X}") is None


def test_exe_installer(host) -> None:
    spec = {"product": {"code": "{ROUTER}", "name": "Email Router", "version": "8.0", "install_location": r"C:\Program Files\Router"},
            "quiet_switch": "/Q", "seconds": 30}  # fmt: skip
    host.write_bytes(r"C:\Tools\SetupEmailRouter.exe", programs.marker("exe_installer", spec))
    assert host.run(r"C:\Tools\SetupEmailRouter.exe").rc == 1602  # no quiet switch: it would wait for a user
    assert host.run(r"C:\Tools\SetupEmailRouter.exe /Q").rc == 0
    key = host.reg_get_key(rf"{UNINSTALL}\{{ROUTER}}")
    assert key.value("UninstallString").data == r'"C:\Tools\SetupEmailRouter.exe" /uninstall /Q'
    assert not host.product("{ROUTER}").msi
    assert host.run(key.value("UninstallString").data).rc == 0
    assert host.product("{ROUTER}") is None


def test_stub_and_file_version(host) -> None:
    host.write_bytes(r"C:\Tools\ExSetup.exe", programs.marker("stub", {"file_version": "15.2.1544.4", "stdout": "ok\r\n", "rc": 7}))
    assert host.file_version(r"C:\Tools\ExSetup.exe") == "15.2.1544.4"
    assert host.file_version(r"C:\Windows\System32\cmd.exe") is None
    result = host.run(r"C:\Tools\ExSetup.exe")
    assert (result.rc, result.stdout) == (7, "ok\r\n")


def test_shutdown_program(host) -> None:
    assert host.run("shutdown /r /t 3600 /c maintenance").rc == 0
    assert host.reboot_pending_at is not None
    assert "maintenance" in host.events("System", event_id=1074)[-1].message
    assert host.run("shutdown /a").rc == 0
    assert host.run("shutdown /a").rc == 1116
