"""PayloadRunner fed with what ansible-core 2.19 itself builds (module_manifest, the powershell shell plugin, win_reboot's
snippets), against a small fake host."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path

import pytest
from _protocol_fakes import FakeHost
from ansible.executor.powershell import module_manifest
from ansible.plugins.loader import become_loader, shell_loader

from simulator import payload
from simulator.winerror import WinError

USER = "EX01\\Administrator"
WIN_PING = Path(module_manifest.__file__).parents[3] / "ansible_collections/ansible/windows/plugins/modules/win_ping.ps1"
LOGON_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"


@pytest.fixture
def host(tmp_path):
    return FakeHost("EX01", tmp_path)


@pytest.fixture
def calls():
    return []


@pytest.fixture
def gate():
    """Opened by a test to let a module that waits for it (`wait_for_gate`) finish."""
    return threading.Event()


@pytest.fixture
def runner(host, calls, gate):
    def run_module(fqcn, args, h, user):
        calls.append((fqcn, args, user))
        if args.get("wait_for_gate"):
            assert gate.wait(60), "the test never let the module finish"
        return 0, json.dumps({"changed": False, "ping": "pong", "user": user})

    accounts = payload.Accounts(
        resolve=lambda name: USER if name.lower() in ("administrator", ".\\administrator") else None,
        check_password=lambda name, pw: USER if pw == "Passw0rd!" else None,
    )
    return payload.PayloadRunner(host, accounts, run_module=run_module)


def shell():
    plugin = shell_loader.get("powershell")
    plugin.set_options()
    return plugin


def execute(runner, command: str, stdin: bytes = b"", user: str = USER):
    """What wsman does: split the command the way the winrm connection plugin does, prepare, run."""
    parts = command.split(" ")
    return runner.prepare(parts[0], parts[1:], user).run(stdin)


def bootstrap(runner, script: str, stdin: bytes, user: str = USER):
    parts = shell()._encode_script(script, as_list=True, strict_mode=False, preserve_rc=False)
    job = runner.prepare(parts[0], parts[1:], user)
    assert job.needs_stdin
    return job.run(stdin)


def module_input(args: dict, *, become=None, async_timeout: int = 0) -> bytes:
    return module_manifest._create_powershell_wrapper(
        name="ansible_collections.ansible.windows.plugins.modules.win_ping",
        module_data=WIN_PING.read_bytes(),
        module_path=str(WIN_PING),
        module_args={"_ansible_check_mode": False, **args},
        environment={"ANSIBLE_ASYNC_DIR": "%USERPROFILE%\\.ansible_async"} if async_timeout else {},
        async_timeout=async_timeout,
        become_plugin=become,
        substyle="powershell",
        task_vars={},
        profile="legacy",
    )


def run_module(runner, args: dict, **kwargs):
    wrapper = module_manifest._get_powershell_script("bootstrap_wrapper.ps1").decode()
    return bootstrap(runner, wrapper, module_input(args, **kwargs))


# -- modules and wrappers --------------------------------------------------------------------------------------------
def test_module_run_reaches_the_twin(runner, calls):
    result = run_module(runner, {"data": "pong"})
    assert result.rc == 0
    assert json.loads(result.stdout)["ping"] == "pong"
    fqcn, args, user = calls[0]
    assert fqcn == "ansible.windows.win_ping" and args["data"] == "pong" and user == USER


def test_a_command_is_labelled_with_the_module_it_ran(runner):
    wrapper = module_manifest._get_powershell_script("bootstrap_wrapper.ps1").decode()
    parts = shell()._encode_script(wrapper, as_list=True, strict_mode=False, preserve_rc=False)
    job = runner.prepare(parts[0], parts[1:], USER)
    job.run(module_input({}))
    assert job.label == "ansible.windows.win_ping"
    started = runner.prepare(parts[0], parts[1:], USER)
    started.run(module_input({}, async_timeout=30))  # the command that starts an async job counts as its module's
    assert started.label == "ansible.windows.win_ping"
    raw = runner.prepare("hostname", [], USER)
    raw.run(b"")
    assert raw.label == ""


def runas(password):
    plugin = become_loader.get("runas")
    plugin.set_options(direct={"become_user": "Administrator", "become_pass": password})
    return plugin


def test_become_runs_as_the_become_user(runner, calls):
    result = run_module(runner, {}, become=runas("Passw0rd!"))
    assert result.rc == 0 and calls[0][2] == USER


def test_become_with_a_wrong_password_fails_like_ansible_become(runner, calls):
    result = run_module(runner, {}, become=runas("nope"))
    assert result.rc == 1 and not calls
    msg = json.loads(result.stdout)["msg"]
    assert "Failed to logon .\\Administrator" in msg and "Win32ErrorCode 1326" in msg


def test_async_writes_the_job_file_and_finishes_in_background(runner, host, calls, gate):
    result = run_module(runner, {"wait_for_gate": True}, async_timeout=30)
    started = json.loads(result.stdout)
    assert started["started"] and not started["finished"]
    job_file = started["results_file"]
    assert job_file.startswith("C:\\Users\\Administrator\\.ansible_async\\")
    assert json.loads(host.read_bytes(job_file))["finished"] is False  # the module is still running: it waits for the gate
    watchdog = next(t for t in threading.enumerate() if t.name == f"async-{started['ansible_job_id']}")
    gate.set()
    watchdog.join(60)  # the watchdog writes the result file and ends
    assert not watchdog.is_alive()
    final = json.loads(host.read_bytes(job_file).decode("utf-8-sig"))
    assert final["finished"] is True and final["ping"] == "pong" and final["ansible_job_id"] == started["ansible_job_id"]


def test_coverage_wrapper_is_not_modelled(runner):
    stdin = module_input({})
    first, manifest = stdin.split(payload.SEPARATOR, 1)
    data = json.loads(manifest)
    data["actions"].insert(0, {"name": "coverage_wrapper.ps1", "params": {}, "secure_params": {}})
    wrapper = module_manifest._get_powershell_script("bootstrap_wrapper.ps1").decode()
    result = bootstrap(runner, wrapper, first + payload.SEPARATOR + json.dumps(data).encode())
    assert result.rc == 1 and "not modelled by the simulator" in json.loads(result.stdout)["msg"]


# -- executor scripts ------------------------------------------------------------------------------------------------
def test_mkdtemp_expands_temp_and_prints_the_path(runner, host):
    command = shell()._mkdtemp2("ansible-tmp-1", tmpdir="%TEMP%")
    result = execute(runner, command.command, command.input_data)
    path = result.stdout.decode().strip()
    assert path == "C:\\Users\\Administrator\\AppData\\Local\\Temp\\ansible-tmp-1"
    assert host.is_dir(path)
    again = execute(runner, command.command, command.input_data)
    assert again.rc == 1 and "already exists" in json.loads(again.stdout)["msg"]


def test_put_file_writes_and_prints_sha1(runner, host):
    host.mkdir("C:\\tmp")
    data = bytes(range(256)) * 3000
    script, stdin = module_manifest._bootstrap_powershell_script("winrm_put_file.ps1", {"Path": "C:\\tmp\\f.bin"}, has_input=True)
    chunks = b"".join(base64.b64encode(data[i : i + 250000]) + b"\r\n" for i in range(0, len(data), 250000))
    result = bootstrap(runner, script, stdin + chunks)
    assert json.loads(result.stdout) == {"sha1": hashlib.sha1(data).hexdigest()}  # noqa: S324 - what Ansible compares
    assert host.read_bytes("C:\\tmp\\f.bin") == data


def test_fetch_file_chunks_dir_and_missing(runner, host):
    host.mkdir("C:\\tmp")
    host.write_bytes("C:\\tmp\\f.bin", b"0123456789")

    def fetch(path, offset, size=4):
        script, stdin = module_manifest._bootstrap_powershell_script("winrm_fetch_file.ps1", {"Path": path, "BufferSize": size, "Offset": offset})
        return bootstrap(runner, script, stdin)

    assert base64.b64decode(fetch("C:\\tmp\\f.bin", 4).stdout) == b"4567"
    assert fetch("C:\\tmp", 0).stdout.strip() == b"[DIR]"
    missing = fetch("C:\\tmp\\nope", 0)
    assert missing.rc == 1 and b"does not exist" in missing.stderr


def test_remove_temp_dir_with_trailing_dot(runner, host):
    host.mkdir("C:\\tmp\\ansible-tmp-9\\sub")
    result = execute(runner, shell().remove("C:\\tmp\\ansible-tmp-9\\.", recurse=True))
    assert result.rc == 0 and not host.exists("C:\\tmp\\ansible-tmp-9")
    again = execute(runner, shell().remove("C:\\tmp\\ansible-tmp-9\\.", recurse=True))
    assert again.rc == 1 and b"Cannot find path" in again.stderr and again.stderr.startswith(b"#< CLIXML")


# -- win_reboot snippets ---------------------------------------------------------------------------------------------
def reboot_command(script: str) -> str:
    """How ansible.windows' _reboot._execute_command wraps its snippets."""
    pwsh = script + "; If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE } Else { exit 1 } }"
    return "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand " + base64.b64encode(pwsh.encode("utf-16-le")).decode()


def test_boot_time_query_prints_filetime(runner, host):
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    result = execute(runner, reboot_command(_reboot._DEFAULT_BOOT_TIME_COMMAND))
    assert result.rc == 0
    assert int(result.stdout) == payload.filetime(host.boot_time) == 133485408000000000


def test_reboot_command_and_post_reboot_test(runner, host):
    host.registry.add(LOGON_KEY.lower())
    script = _reboot_script()
    result = execute(runner, reboot_command(script))
    assert json.loads(result.stdout) == {"stdout": "", "stderr": "", "rc": 0}
    assert host.reboots == [2.0]
    assert host.reg_get_key(LOGON_KEY) is None  # removed before shutdown, as win_reboot asks
    test = f"Get-Item -LiteralPath '{LOGON_KEY}' -ErrorAction Stop; 'success-1234'"
    before = execute(runner, reboot_command(test))
    assert before.rc == 1 and b"success-1234" not in before.stdout
    host.boot()  # LogonUI creates the key again at boot
    after = execute(runner, reboot_command(test))
    assert after.rc == 0 and b"success-1234" in after.stdout


def test_reboot_already_scheduled_answers_1190(runner, host):
    def busy(**kwargs):
        raise WinError(1190)

    host.reboot = lambda delay_s=0, user="", comment="": busy()
    result = json.loads(execute(runner, reboot_command(_reboot_script())).stdout)
    assert result["rc"] == 1190 and "(1190)" in result["stderr"]


def _reboot_script() -> str:
    """The shutdown script reboot_host() builds (captured from ansible.windows' _reboot module)."""
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    captured = []

    class Conn:
        def exec_command(self, cmd, in_data=None, sudoable=True):
            captured.append(base64.b64decode(cmd.rsplit(" ", 1)[1]).decode("utf-16-le"))
            raise _reboot.AnsibleConnectionFailure("stop here")

    _reboot._perform_reboot("test", Conn(), _reboot_script_text())
    return captured[0].split("; If (-not $?)")[0]


def _reboot_script_text() -> str:
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    source = Path(_reboot.__file__).read_text()
    template = source.split('reboot_command = r"""', 1)[1].split('"""', 1)[0]
    return template % ("True", _reboot._LOGON_UI_KEY, 2, "'Reboot initiated by Ansible'")


# -- raw -------------------------------------------------------------------------------------------------------------
def raw(runner, text: str):
    parts = shell()._encode_script(text, as_list=True, strict_mode=False, preserve_rc=False)
    return runner.prepare(parts[0], parts[1:], USER).run(b"")


def test_raw_native_command_runs_on_the_host(runner, host):
    result = raw(runner, "hostname")
    assert result.rc == 0 and result.stdout == b"EX01\r\n"
    assert host.runs == [("hostname", USER)]


def test_raw_literals_env_and_exit(runner):
    assert raw(runner, "Write-Output 'a b'; echo \"c\"; $env:USERNAME").stdout == b"a b\r\nc\r\nAdministrator\r\n"
    assert raw(runner, "exit 7").rc == 7


def test_raw_unknown_program_and_unmodelled_powershell(runner):
    missing = raw(runner, "nosuchtool /x")
    assert missing.rc == 1 and b"is not recognized" in missing.stderr
    other = raw(runner, "Get-Process | Select-Object -First 1")
    assert other.rc == 1 and b"not modelled by the simulator" in other.stderr


def test_winrs_command_line_runs_directly(runner, host):
    assert execute(runner, "hostname").stdout == b"EX01\r\n"
    missing = execute(runner, "nosuchtool")
    assert missing.rc == 9009 and b"is not recognized" in missing.stderr


def test_keep_remote_files_type_pipe(runner, host, calls):
    host.mkdir("C:\\tmp")
    host.write_bytes("C:\\tmp\\AnsiballZ_win_ping.ps1", module_input({}))
    command = shell().build_module_command("", "#!powershell", "'C:\\tmp\\AnsiballZ_win_ping.ps1'")
    result = execute(runner, command)
    assert result.rc == 0 and calls and calls[0][0] == "ansible.windows.win_ping"


# -- helpers ---------------------------------------------------------------------------------------------------------
def test_module_fqcn():
    assert payload.module_fqcn("ansible_collections.ansible.windows.plugins.modules.win_ping.ps1") == "ansible.windows.win_ping"
    assert payload.module_fqcn("ansible_collections.exchange_dr.recovery.plugins.modules.exchange_info.ps1") == "exchange_dr.recovery.exchange_info"
    assert payload.module_fqcn("ansible.modules.foo.ps1") == "ansible.builtin.foo"


def test_split_statements_respects_quotes():
    assert payload.split_statements("echo 'a;b'; exit 1\n'x'") == ["echo 'a;b'", "exit 1", "'x'"]
