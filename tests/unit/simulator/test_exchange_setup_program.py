"""The simulated Exchange Setup (programs/exchange_setup.py) and the exchange_info / recover_server twins on a real Host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator import profiles
from simulator.testing import make_host
from simulator.twins import run_module

ADMIN = "CONTOSO\\Administrator"
MEDIA = r"E:\Setup.exe"


def lab(tmp_path: Path, version: str = "15.2.1544.4", *, roles: list[str] | None = None, prerequisites: bool = True, **domain_extra: Any):
    domain = {
        "name": "contoso.local",
        "computers": ["EX01"],
        "users": {"Administrator": {"password": "Adm1n-Passw0rd!", "admin": True}, "helpdesk": {"password": "Help-Passw0rd!"}},
        "exchange": {"organization": "Contoso", "servers": {"EX01": {"version": version, "roles": roles or ["Mailbox"]}}, **domain_extra},
    }
    seed = {"files": {MEDIA: {"program": "exchange_setup", "args": {"file_version": version, "seconds": 2400}}}}
    host = make_host(tmp_path / "lab", "EX01", domain=domain, seed=seed, drives={"C": {"size_gb": 100}, "E": {"size_gb": 8}}, time_scale=0.0001)
    if prerequisites and version.startswith("15."):
        profiles._prerequisites(host, tuple(int(x) for x in version.split(".")), False)
    return host


def setup(host: Any, *switches: str, user: str = ADMIN) -> tuple[int, str, str]:
    result = host.run(" ".join([f'"{MEDIA}"', *switches]), user=user)
    log = host.read_bytes(r"C:\ExchangeSetupLogs\ExchangeSetup.log").decode()
    return result.rc, result.stdout, log


def twin(host: Any, fqcn: str, **args: Any) -> dict[str, Any]:
    rc, out = run_module(fqcn, {"_ansible_module_name": fqcn, **args}, host, ADMIN)
    return {"rc": rc, **json.loads(out)}


NEW = ("/Mode:RecoverServer", "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF")


def test_recovery_writes_the_log_registry_and_services(tmp_path: Path) -> None:
    host = lab(tmp_path)
    rc, out, log = setup(host, *NEW)
    assert rc == 0 and "The Exchange Server setup operation completed successfully." in out
    lines = log.splitlines()
    assert lines[1].endswith("[0] Starting Microsoft Exchange Server 2019 Setup")
    assert "[0] Setup version: 15.2.1544.4." in log
    assert "Command Line Parameter Name='mode', Value='RecoverServer'." in log
    assert lines[-2].endswith("[0] End of Setup")
    role = host.reg_values(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole")
    assert role["ConfiguredVersion"].data == "15.2.1544.4" and "Watermark" not in role and "Action" not in role
    assert host.product("{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}").install_date
    assert host.service("MSExchangeIS").start_mode == "auto" and host.service("MSExchangeImap4").start_mode == "manual"
    assert host.service("NetTcpPortSharing").start_mode == "auto"


@pytest.mark.parametrize(
    ("version", "switches", "words"),
    [
        ("15.2.1544.4", ("/Mode:RecoverServer", "/IAcceptExchangeServerLicenseTerms"), "is no longer valid"),  # 2019 CU14: old switch
        ("15.2.922.7", NEW, "not valid: IAcceptExchangeServerLicenseTerms_DiagnosticData"),  # 2019 CU10: new switch unknown
        ("15.1.2308.8", ("/m:RecoverServer",), "accept the license terms"),  # 2016 CU21 without any license switch
        ("15.2.1544.4", ("/Mode:RecoverServer", "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF", "/Bogus"), "not valid: /Bogus"),
    ],
)
def test_license_switches_by_build(tmp_path: Path, version: str, switches: tuple[str, ...], words: str) -> None:
    rc, _out, log = setup(lab(tmp_path, version), *switches)
    assert rc == 1 and words in log and "[ERROR]" in log and "didn't complete" in log


def test_2016_cu21_takes_the_old_switch_and_2010_none(tmp_path: Path) -> None:
    assert setup(lab(tmp_path / "a", "15.1.2308.8"), "/m:RecoverServer", "/IAcceptExchangeServerLicenseTerms")[0] == 0
    host2010 = lab(tmp_path / "b", "14.3.123.4", roles=["Mailbox", "ClientAccess", "HubTransport"])
    host2010.mkdir(r"C:\sxs")
    features = ["NET-Framework-Core", "RSAT-ADDS", "Web-Server", "Web-Metabase", "Web-ISAPI-Ext", "WAS-Process-Model", "RPC-over-HTTP-proxy"]
    host2010.install_features(features, source=r"C:\sxs")
    host2010._apply_pending_features()
    rc, _out, log = setup(host2010, "/m:RecoverServer")
    assert rc == 0, log
    assert "Starting Microsoft Exchange Server 2010 Setup" in log
    assert host2010.reg_values(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\HubTransportRole")["ConfiguredVersion"].data == "14.3.123.4"
    assert host2010.service("MSExchangeSA") is not None and host2010.service("MSExchangeTransport") is not None


def test_missing_prerequisites_fail_the_check_with_rule_lines(tmp_path: Path) -> None:
    host = lab(tmp_path, prerequisites=False)
    host.set_pending_reboot("component_based_servicing")
    rc, _out, log = setup(host, *NEW)
    assert rc == 1
    for rule in ("PendingRebootWindowsComponents", "RsatAddsToolsInstalled", "NetFrameworkNotInstalled", "VC2013RedistDependencyRequirement", "UcmaRedistMsi"):
        assert f"Failed [Rule:{rule}]" in log
    assert "[REQUIRED] There is a pending reboot from a previous installation of a Windows Server role or feature." in log
    assert not host.reg_key_exists(r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup")  # nothing installed


def test_a_local_account_lacks_the_rights(tmp_path: Path) -> None:
    rc, _out, log = setup(lab(tmp_path), *NEW, user="Administrator")
    assert rc == 1 and "Failed [Rule:GlobalServerInstall]" in log and "'Organization Management' role group" in log


def test_no_server_object_and_plain_install(tmp_path: Path) -> None:
    host = lab(tmp_path)
    host.estate.domain.exchange.servers.pop("EX01")
    rc, _out, log = setup(host, *NEW)
    assert rc == 1 and "No Exchange Server with identity 'EX01' was found." in log
    host2 = lab(tmp_path / "two")
    rc, _out, log = setup(host2, "/Mode:Install", "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF")
    assert rc == 1 and "Only disaster recovery mode is available. Please use Setup /m:RecoverServer" in log


def test_scripting_agent_without_its_file_stops_setup_then_the_rerun_resumes(tmp_path: Path) -> None:
    host = lab(tmp_path, scripting_agent_enabled=True)
    rc, _out, log = setup(host, *NEW)
    config = r"C:\Program Files\Microsoft\Exchange Server\V15\Bin\CmdletExtensionAgents\ScriptingAgentConfig.xml"
    assert rc == 1 and f"[ERROR] Scripting Agent initialization failed: \"File is not found: '{config}'.\"" in log
    info = twin(host, "exchange_dr.recovery.exchange_info")
    assert info["exchange"]["installed"] and info["exchange"]["incomplete"] and not info["exchange"]["configured"]
    assert info["scripting_agent"] == {"enabled": True, "config_path": config, "config_present": False}
    assert host.service("MSExchangeIS").start_mode == "disabled"  # a failed setup leaves services Disabled (CSS)
    host.write_bytes(config, b"<Configuration version=\"1.0\" />")
    rc, _out, log = setup(host, *NEW)
    assert rc == 0 and host.service("MSExchangeIS").start_mode == "auto"
    assert twin(host, "exchange_dr.recovery.exchange_info")["exchange"]["configured"]


def test_the_setup_fault_fails_once_and_do_not_start_transport(tmp_path: Path) -> None:
    host = lab(tmp_path)
    from simulator.faults import make_fault

    host.estate.faults.switch_on(make_fault("exchange_setup_fails", "EX01", None, {"count": 1, "message": "Boom at transport."}))
    rc, _out, log = setup(host, *NEW)
    assert rc == 1 and "[ERROR] Boom at transport." in log and "Setup is stopping now because of one or more critical errors." in log
    rc, _out, log = setup(host, *NEW, "/DoNotStartTransport")
    assert rc == 0
    assert host.service("MSExchangeTransport").start_mode == "manual" and host.service("MSExchangeTransport").state == "stopped"
    assert host.service("MSExchangeIS").state == "running"


def test_recover_server_twin_returns_what_the_controller_judges(tmp_path: Path) -> None:
    host = lab(tmp_path)
    out = twin(host, "exchange_dr.recovery.recover_server", setup_path=MEDIA, arguments=list(NEW))
    assert out["rc"] == 0 and out["changed"] is True
    assert out["command_line"] == f'"{MEDIA}" /Mode:RecoverServer /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF'
    assert any("completed successfully" in line for line in out["setup_log"]["lines"])
    assert out["exchange"]["configured"] and out["elapsed"] >= 2400
    missing = twin(host, "exchange_dr.recovery.recover_server", setup_path=r"E:\Nope.exe", arguments=list(NEW))
    assert missing["failed"] is True and missing["msg"] == r"Failed to find Exchange Setup at E:\Nope.exe"
    bare = twin(host, "exchange_dr.recovery.recover_server", setup_path=MEDIA)
    assert bare["failed"] is True and "action plugin" in bare["msg"]


def wait(host: Any, seconds: int, jid: str = "j1.1", poll_interval: int = 15, async_dir: str = "%USERPROFILE%\\.ansible_async") -> dict[str, Any]:
    job = {"id": jid, "async_dir": async_dir, "wait": seconds}  # a path: the action plugin may send it unexpanded
    return twin(host, "exchange_dr.recovery.recover_server", setup_path=MEDIA, arguments=list(NEW), poll_interval=poll_interval, _job=job)


def test_recover_server_twin_waits_on_the_host_for_the_setup_job(tmp_path: Path) -> None:
    host = lab(tmp_path)
    async_dir = host.profile_dir(ADMIN) + "\\.ansible_async"
    path = async_dir + "\\j1.1"
    host.mkdir(async_dir)
    host.write_bytes(path, json.dumps({"started": True, "finished": False, "ansible_job_id": "j1.1"}).encode())
    start = host.clock.time()
    out = wait(host, 600)  # nothing ends the job: the wait runs out its time, looking every poll_interval seconds
    assert not out.get("failed") and out["_job"] == {"id": "j1.1", "finished": False, "result": None}
    assert 600 <= host.clock.time() - start < 600 + 15
    host.write_bytes(path, b"")  # the watchdog's Set-Content caught between truncating and writing: still running
    assert wait(host, 0, async_dir=async_dir)["_job"]["finished"] is False
    host.write_bytes(path, b'{"started": true, "finish')
    assert wait(host, 0, async_dir=async_dir)["_job"]["finished"] is False

    done = {"started": True, "finished": True, "ansible_job_id": "j1.1", "rc": 0, "changed": True, "setup_log": {"lines": ["x"]}}
    reads = {"n": 0}
    read_bytes = host.read_bytes

    def watchdog_writes_on_third_look(p: str) -> bytes:  # the job ends while the wait goes on (no wall-clock timer)
        if p.lower() == path.lower():
            reads["n"] += 1
            if reads["n"] == 3:
                host.write_bytes(path, b"\xef\xbb\xbf" + json.dumps(done).encode())
        return read_bytes(p)

    host.read_bytes = watchdog_writes_on_third_look  # type: ignore[method-assign]
    start = host.clock.time()
    out = wait(host, 10**9, poll_interval=5, async_dir=async_dir)
    del host.read_bytes
    assert reads["n"] == 3 and 10 <= host.clock.time() - start < 11  # looked every poll_interval seconds
    assert out["_job"]["finished"] is True and out["_job"]["result"] == done
    assert host.exists(path), "the wait leaves the job file; async_status cleanup removes it"

    gone = wait(host, 10, jid="j9.9", async_dir=async_dir)
    assert gone["failed"] is True and gone["msg"] == f"Failed to find the Exchange Setup job j9.9 in {async_dir}"


def test_a_host_restart_during_setup_ends_it_and_the_rerun_resumes(tmp_path: Path) -> None:
    host = lab(tmp_path)
    from simulator.faults import make_fault

    boot = host.boot_time
    host.estate.faults.switch_on(make_fault("restart_during_program", "EX01", "Setup.exe", {"after": 1200}))
    rc, _out, log = setup(host, *NEW)
    assert rc == 1067  # the caller sees the process aborted (on Windows the caller ends with it)
    assert host.processes() == []  # a restart ends every process
    assert host.estate.faults.get("EX01", "restart_during_program") is None  # used up
    host.clock.sleep(host.reboot_seconds + 1)
    assert host.is_up() and host.boot_time > boot
    system = [(e.source, e.event_id) for e in host.events("System", since=boot)]
    assert ("EventLog", 6008) in system and ("Microsoft-Windows-Kernel-Power", 41) in system
    assert ("EventLog", 6006) not in system and ("User32", 1074) not in system  # no clean shutdown was logged
    # Setup stopped half-way through its components: the log has no outcome and the role keys keep the resume markers
    assert "completed successfully" not in log and "didn't complete" not in log and "Processing component" in log
    info = twin(host, "exchange_dr.recovery.exchange_info")
    assert info["exchange"]["incomplete"] and not info["exchange"]["configured"]
    rc, _out, log = setup(host, *NEW)
    assert rc == 0 and log.count("Starting Microsoft Exchange Server") == 2
    assert twin(host, "exchange_dr.recovery.exchange_info")["exchange"]["configured"]
