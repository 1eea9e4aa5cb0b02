"""The simulated Email Router: SetupEmailRouter.exe (switches, config file, what it installs and removes) and the service, which
stops with a #16192 event when it cannot load its configuration set (facts: email-router-facts.md)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from simulator.hoststate import AccessRule
from simulator.programs import marker
from simulator.programs.email_router import EVENT_SOURCE, REG_KEY, SERVICE
from simulator.testing import make_host

SETUP = r"C:\Media\SetupEmailRouter.exe"
INSTALL = r"C:\Program Files\Microsoft CRM Email"
FOLDER = INSTALL + r"\Service"
CONFIG = FOLDER + r"\Microsoft.Crm.Tools.EmailAgent.xml"
KEY = FOLDER + r"\EncryptionKey.xml"
STATE = FOLDER + r"\Microsoft.Crm.Tools.EmailAgent.SystemState.xml"
CODE = "{5A5A0001-0000-4000-8000-0000000E0001}"
GOOD_KEY = '<Encryption Key="Xx4tPEtaaXiHlqW0w9Lh8A8eLTxLWml4h5altMPS4fA="/>'
OTHER_KEY = '<Encryption Key="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="/>'
ENCRYPTED = "{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:VAPOmN6mI7K3UqR6fOKiblkCM6BC81RHFg+3ccG8xyE=@/+7dzLuqmYh3ZlVEMyIRAA=="


@pytest.fixture
def host(tmp_path: Path):
    h = make_host(tmp_path, "EX01", domain={"name": "contoso.local", "users": {"svc-crm": {"password": "x"}, "helpdesk": {"password": "y"}}})
    h.mkdir(r"C:\Media")
    product = {"code": CODE, "name": "Microsoft Dynamics CRM E-mail Router", "version": "8.2.0.749"}
    h.write_bytes(SETUP, marker("email_router_installer", {"product": product, "file_version": "8.2.0.749", "seconds": 30}))
    h.write_bytes(r"C:\Media\setup.xml", f"<CRMSetup><EmailRouter><InstallDir>{INSTALL}</InstallDir></EmailRouter></CRMSetup>".encode())
    return h


def setup(host, *switches: str) -> tuple[int, str]:
    result = host.run(f'"{SETUP}" ' + " ".join(switches))
    return result.rc, result.stderr


def installed(host) -> None:
    assert setup(host, "/Q", "/L", r"C:\Windows\Temp\er.log", "/config", r"C:\Media\setup.xml") == (0, "")


def failures(host, since: float | None = None) -> list[str]:
    return [e.message for e in host.events("Application", source=EVENT_SOURCE, since=since)]


def restart_and_wait(host, seconds: float = 10) -> float:
    """Restart the service and let it read its files (config_load_seconds, 5 s, after it starts); returns when it was
    restarted. make_host's clock moves only while something waits, so the read that the start at install scheduled has
    not happened yet: the restart drops it, and exactly one read happens, with the files the test put in place."""
    since = host.clock.time()
    host.restart_service(SERVICE)
    host.clock.sleep(seconds)
    return since


# -- the installer -------------------------------------------------------------------------------------------------------
def test_setup_needs_quiet_mode_and_a_config_file(host) -> None:
    assert setup(host)[0] == 1602
    rc, err = setup(host, "/Q")
    assert rc == 1 and "/config" in err
    host.write_bytes(r"C:\Media\bad.xml", b"<Setup/>")
    rc, err = setup(host, "/Q", "/config", r"C:\Media\bad.xml")
    assert rc == 1 and "<CRMSetup><EmailRouter>" in err
    assert host.product(CODE) is None and host.service(SERVICE) is None


def test_setup_installs_service_files_registry_and_product(host) -> None:
    installed(host)
    svc = host.service(SERVICE)
    assert (svc.display_name, svc.start_mode, svc.account, svc.state) == ("Microsoft Dynamics CRM Email Router", "auto", "LocalSystem", "running")
    assert svc.path == f'"{FOLDER}\\Microsoft.Crm.Tools.EmailAgent.exe"'
    assert host.reg_get_value(REG_KEY, "InstallDir").data == INSTALL
    assert host.product(CODE).quiet_uninstall_string == f'"{INSTALL}\\Setup\\SetupEmailRouter.exe" /X /Q'
    for exe in ("Microsoft.Crm.Tools.EmailAgent.exe", "Microsoft.Crm.Tools.Email.Management.exe"):
        assert host.file_version(f"{FOLDER}\\{exe}") == "8.2.0.749"
    assert b"<SystemConfiguration>" in host.read_bytes(CONFIG)
    assert "installed successfully" in host.read_text(r"C:\Windows\Temp\er.log")
    host.clock.sleep(10)
    assert host.service(SERVICE).state == "running" and failures(host) == []


def test_setup_again_changes_nothing_unless_install_always(host) -> None:
    installed(host)
    host.write_bytes(CONFIG, b"<Configuration><SystemConfiguration/></Configuration>")
    host.remove(f"{FOLDER}\\Microsoft.Crm.Tools.EmailAgent.exe")
    installed(host)
    assert not host.exists(f"{FOLDER}\\Microsoft.Crm.Tools.EmailAgent.exe")
    assert setup(host, "/Q", "/config", r"C:\Media\setup.xml", "/InstallAlways")[0] == 0
    assert host.exists(f"{FOLDER}\\Microsoft.Crm.Tools.EmailAgent.exe")
    assert host.read_bytes(CONFIG) == b"<Configuration><SystemConfiguration/></Configuration>"  # the configuration is kept


def test_uninstall_removes_program_and_keeps_the_configuration(host) -> None:
    installed(host)
    assert host.run(host.product(CODE).quiet_uninstall_string).rc == 0
    assert host.service(SERVICE) is None and host.product(CODE) is None and host.reg_get_key(REG_KEY) is None
    assert host.exists(CONFIG) and not host.exists(f"{FOLDER}\\Microsoft.Crm.Tools.EmailAgent.exe")


# -- the service ---------------------------------------------------------------------------------------------------------
def encrypted_config() -> bytes:
    provider = f"<ProviderConfiguration><EmailPassword>{ENCRYPTED}</EmailPassword></ProviderConfiguration>"
    return f"<Configuration><SystemConfiguration/>{provider}</Configuration>".encode()


def test_a_good_set_with_its_key_keeps_running(host) -> None:
    installed(host)
    host.write_bytes(CONFIG, encrypted_config())
    host.write_bytes(KEY, GOOD_KEY.encode())
    host.write_bytes(STATE, b"<State/>")
    since = restart_and_wait(host)
    assert host.service(SERVICE).state == "running" and failures(host, since) == []


@pytest.mark.parametrize(
    ("files", "text"),
    [
        (
            {KEY: GOOD_KEY, STATE: ""},
            "cannot access system state file " + STATE + ". The file may be corrupt. System.Xml.XmlException: Root element is missing.",
        ),
        ({KEY: OTHER_KEY}, "could not decrypt a password in its configuration"),
        ({}, "could not decrypt the passwords in its configuration. System.IO.FileNotFoundException"),
    ],
    ids=["empty-system-state", "other-key", "no-key"],
)
def test_a_set_it_cannot_load_stops_it_with_16192(host, files: dict[str, str], text: str) -> None:
    installed(host)
    host.write_bytes(CONFIG, encrypted_config())
    for path, content in files.items():
        host.write_bytes(path, content.encode())
    since = restart_and_wait(host)  # the SCM starts it; it reads its files a few seconds later, then stops
    assert host.service(SERVICE).state == "stopped"
    [event] = host.events("Application", source=EVENT_SOURCE, since=since)
    assert event.level == "Error" and event.message.startswith("#16192 - ") and text in event.message


def test_an_unreadable_config_for_the_service_account(host) -> None:
    installed(host)
    host.set_service(SERVICE, account="CONTOSO\\svc-crm")
    rules = [AccessRule("BUILTIN\\Administrators", ["FullControl"]), AccessRule("CONTOSO\\helpdesk", ["Read"])]
    host.set_acl(CONFIG, rules, protected=True)
    since = restart_and_wait(host)
    assert host.service(SERVICE).state == "stopped"
    assert failures(host, since) == [
        "#16192 - System information was not specified for the E-mail Router service. "
        f"System.UnauthorizedAccessException: Access to the path '{CONFIG}' is denied."
    ]


def test_key_file_is_base64_in_the_lab_estate() -> None:
    assert len(base64.b64decode("Xx4tPEtaaXiHlqW0w9Lh8A8eLTxLWml4h5altMPS4fA=")) == 32
