"""The email_router and email_router_config action plugins, with `_execute_module` answered by the modules' simulator twins on a
simulated host (no server, no WinRM): what the controller decides, which calls reach the host, and what never leaves it."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action.email_router import ActionModule as RouterAction
from ansible_collections.exchange_dr.recovery.plugins.action.email_router import default_install_config
from ansible_collections.exchange_dr.recovery.plugins.action.email_router_config import ActionModule as ConfigAction
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import BIN_FILE, CONFIG_FILE, KEY_FILE, SET_FILES, STATE_FILE
from simulator.hoststate import AccessRule
from simulator.programs import marker
from simulator.testing import make_host
from simulator.twins import run_module

CONFIG_MODULE = "exchange_dr.recovery.email_router_config"
SETUP = r"C:\Media\SetupEmailRouter.exe"
SERVICE_FOLDER = r"C:\Program Files\Microsoft CRM Email\Service"
KEY = base64.b64decode("Xx4tPEtaaXiHlqW0w9Lh8A8eLTxLWml4h5altMPS4fA=")
ENCRYPTED = "{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:VAPOmN6mI7K3UqR6fOKiblkCM6BC81RHFg+3ccG8xyE=@/+7dzLuqmYh3ZlVEMyIRAA=="
KEY_XML = b'<Encryption Key="Xx4tPEtaaXiHlqW0w9Lh8A8eLTxLWml4h5altMPS4fA="/>'
DEFINITION_SECRET = "Definition-Passw0rd!"


def config_xml(server: str = "https://ex01.contoso.local/EWS/Exchange.asmx", password: str = ENCRYPTED) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<Configuration>\n  <SystemConfiguration><MaxThreads>50</MaxThreads></SystemConfiguration>\n'
        "  <ProviderConfiguration>\n"
        "    <ProviderClass>Microsoft.Crm.Tools.Email.Providers.ExchangePollingMailboxProvider</ProviderClass>\n"
        "    <CrmServerUrl>https://crm.contoso.local/Contoso</CrmServerUrl>\n    <Direction>Inbound</Direction>\n"
        f"    <EmailServer>{server}</EmailServer>\n    <EmailUser>CONTOSO\\svc-crm</EmailUser>\n    <EmailPassword>{password}</EmailPassword>\n"
        "    <EmailAddress>sales@contoso.local</EmailAddress>\n  </ProviderConfiguration>\n</Configuration>\n"
    ).encode()


STATE_XML = b"<State><mailbox><emailaddress>sales@contoso.local</emailaddress></mailbox></State>"


class Lab:
    """A domain-joined host with the Email Router installed (through its setup program) and a share-like folder on D:."""

    def __init__(self, root: Path) -> None:
        domain = {"name": "contoso.local", "users": {"svc-crm": {"password": "Crm-Passw0rd!"}, "helpdesk": {"password": "Help-Passw0rd!"}}}
        self.host = make_host(root, "EX01", domain=domain, drives={"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 100, "free_gb": 60}})
        self.host.mkdir(r"C:\Media")
        product = {"code": "{5A5A0001-0000-4000-8000-0000000E0001}", "name": "Microsoft Dynamics CRM E-mail Router", "version": "8.2.0.749"}
        self.host.write_bytes(SETUP, marker("email_router_installer", {"product": product, "file_version": "8.2.0.749", "seconds": 60}))
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def install(self) -> dict[str, Any]:
        return self.module(
            "exchange_dr.recovery.email_router", {"path": SETUP, "install_config": default_install_config(r"C:\Program Files\Microsoft CRM Email")}
        )

    def module(self, name: str, args: dict[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
        complex_args = {
            **args,
            "_ansible_check_mode": check_mode,
            "_ansible_diff": diff,
            "_ansible_no_log": False,
            "_ansible_verbosity": 0,
            "_ansible_module_name": name,
            "_ansible_tmpdir": None,
            "_ansible_remote_tmp": "%TEMP%",
            "_ansible_keep_remote_files": False,
        }
        _rc, out = run_module(name, complex_args, self.host, "Administrator")
        return json.loads(out)

    def put_set(self, folder: str, files: dict[str, bytes]) -> None:
        self.host.mkdir(folder)
        for name, data in files.items():
            self.host.write_bytes(f"{folder}\\{name}", data)

    def hashes(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in SET_FILES:
            path = f"{SERVICE_FOLDER}\\{name}"
            out[name] = self.host.checksum(path, "sha256") if self.host.exists(path) else None
        return out


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab(tmp_path / "lab")
    assert lab.install()["installed"] is True
    return lab


def run_action(lab: Lab, cls: type, args: dict[str, Any], *, check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    module_name = "exchange_dr.recovery.email_router_config" if cls is ConfigAction else "exchange_dr.recovery.email_router"
    task = MagicMock()
    task.args = copy.deepcopy(args)
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = module_name
    connection = MagicMock()
    connection._shell.tmpdir = None
    connection._shell.join_path = lambda a, b: f"{a}\\{b}"
    action = cls(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())

    def execute(module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        lab.calls.append((module_name, copy.deepcopy(module_args)))
        return lab.module(module_name, module_args, check_mode=check_mode, diff=diff)

    def make_tmp_path(*_: Any, **__: Any) -> str:
        path = lab.host.mkdtemp(r"C:\Users\Administrator\AppData\Local\Temp", "ansible-tmp-")
        connection._shell.tmpdir = path
        return path

    action._execute_module = execute
    action._make_tmp_path = make_tmp_path
    action._transfer_data = lambda path, data: lab.host.write_bytes(path, data if isinstance(data, bytes) else data.encode())
    action._remove_tmp_path = lambda path, force=False: lab.host.remove(path, recursive=True)
    return action.run(task_vars={"inventory_hostname": "EX01"})


def local_set(tmp_path: Path, files: dict[str, bytes], name: str = "backup") -> str:
    folder = tmp_path / name
    folder.mkdir()
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return str(folder)


def operations(lab: Lab) -> list[str]:
    return [args.get("_operation", "?") for name, args in lab.calls if name == CONFIG_MODULE]


# -- email_router ---------------------------------------------------------------------------------------------------------
def test_default_install_config_escapes_the_folder() -> None:
    assert default_install_config(r"D:\R&D <Email>") == (
        "<CRMSetup>\r\n  <EmailRouter>\r\n    <InstallDir>D:\\R&amp;D &lt;Email&gt;</InstallDir>\r\n  </EmailRouter>\r\n</CRMSetup>\r\n"
    )


def test_install_config_with_a_dtd_never_reaches_the_host(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab")
    result = run_action(lab, RouterAction, {"path": SETUP, "install_config": '<!DOCTYPE x [<!ENTITY e "x">]><CRMSetup>&e;</CRMSetup>'})
    assert result["failed"] and "install_config, line 1: a document type declaration (DTD) is not allowed" in result["msg"]
    assert lab.calls == []


def test_install_renders_the_default_config_and_passes_it(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab")
    result = run_action(lab, RouterAction, {"path": SETUP, "install_dir": r"D:\Apps\CRM Email"})
    assert result["changed"] and result["install_folder"] == r"D:\Apps\CRM Email" and result["service_folder"] == r"D:\Apps\CRM Email\Service"
    assert lab.calls[0][1]["install_config"] == default_install_config(r"D:\Apps\CRM Email")


def test_absent_needs_no_path_and_present_does(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab")
    assert run_action(lab, RouterAction, {"state": "absent"})["changed"] is False
    result = run_action(lab, RouterAction, {"state": "present"})
    assert result["failed"] and "path is required" in result["msg"] and len(lab.calls) == 1


def test_diff_previews_an_install_then_shows_it(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab")
    absent = {"installed": False, "version": None, "service_account": None}
    planned = run_action(lab, RouterAction, {"path": SETUP}, check_mode=True, diff=True)
    assert planned["changed"] is True and lab.host.service("MSCRMEmail") is None  # check mode: nothing ran
    assert planned["diff"] == {"before": absent, "after": {"installed": True, "version": None, "service_account": None}}
    done = run_action(lab, RouterAction, {"path": SETUP}, diff=True)
    assert done["diff"] == {"before": absent, "after": {"installed": True, "version": "8.2.0.749", "service_account": "LocalSystem"}}
    again = run_action(lab, RouterAction, {"path": SETUP}, diff=True)
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"] == done["diff"]["after"]


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "real"])
def test_diff_of_a_service_account_change_never_shows_the_password(lab: Lab, check_mode: bool) -> None:
    args = {"path": SETUP, "service_account": "CONTOSO\\svc-crm", "service_password": "Crm-Passw0rd!"}
    result = run_action(lab, RouterAction, args, check_mode=check_mode, diff=True)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert result["diff"]["before"]["service_account"] == "LocalSystem"
    assert result["diff"]["after"] == {"installed": True, "version": "8.2.0.749", "service_account": "CONTOSO\\svc-crm"}
    assert "Crm-Passw0rd!" not in json.dumps(result)
    assert lab.host.service("MSCRMEmail").account == ("LocalSystem" if check_mode else "CONTOSO\\svc-crm")


def test_diff_of_a_removal_in_check_mode(lab: Lab) -> None:
    result = run_action(lab, RouterAction, {"state": "absent"}, check_mode=True, diff=True)
    assert result["changed"] is True and lab.host.service("MSCRMEmail") is not None
    assert result["diff"]["before"]["installed"] is True
    assert result["diff"]["after"] == {"installed": False, "version": None, "service_account": None}


def test_no_diff_without_diff_mode(lab: Lab) -> None:
    assert "diff" not in run_action(lab, RouterAction, {"path": SETUP})


# -- email_router_config: sources and validation ---------------------------------------------------------------------------
def test_a_bad_controller_set_makes_no_call_at_all(lab: Lab, tmp_path: Path) -> None:
    folder = local_set(tmp_path, {CONFIG_FILE: config_xml()})  # encrypted password, no key
    result = run_action(lab, ConfigAction, {"src": folder})
    assert result["failed"] and "but the set has no EncryptionKey.xml" in result["msg"]
    assert result["errors"] == [
        {
            "file": CONFIG_FILE,
            "line": 10,
            "element": "Configuration/ProviderConfiguration[1]/EmailPassword",
            "message": result["errors"][0]["message"],
        }
    ]
    assert lab.calls == []
    assert ENCRYPTED not in json.dumps(result)


def test_a_bad_definition_makes_no_call(lab: Lab) -> None:
    result = run_action(lab, ConfigAction, {"definition": {"queues": [{"email": "a@b.c", "queue_id": "x", "incoming_profile": "Nope"}]}})
    assert result["failed"] and "no profile named 'Nope'" in result["msg"] and lab.calls == []


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ({}, "exactly one of src, remote_src and definition is required (got none)"),
        ({"src": "/x", "remote_src": r"D:\x"}, "exactly one of src, remote_src and definition is required (got src, remote_src)"),
        ({"remote_src": r"D:\x", "_operation": "place"}, "_operation are set by the action plugin"),
        ({"remote_src": r"D:\x", "keep_backups": "many"}, "Invalid options"),
    ],
)
def test_option_errors(lab: Lab, args: dict[str, Any], text: str) -> None:
    result = run_action(lab, ConfigAction, args)
    assert result["failed"] and text in result["msg"] and lab.calls == []


def test_check_mode_reads_once_and_shows_a_redacted_diff(lab: Lab, tmp_path: Path) -> None:
    before = lab.hashes()
    folder = local_set(tmp_path, {CONFIG_FILE: config_xml(), KEY_FILE: KEY_XML, STATE_FILE: STATE_XML})
    result = run_action(lab, ConfigAction, {"src": folder, "organization": "Contoso"}, check_mode=True, diff=True)
    assert result["changed"] is True and not result.get("failed")
    assert operations(lab) == ["read"]
    assert lab.hashes() == before
    text = json.dumps(result)
    assert ENCRYPTED not in text and "Xx4tPEtaaXiHlqW0w9Lh8A8eLTxLWml4h5altMPS4fA=" not in text
    assert "<EmailPassword>******** (changed)</EmailPassword>" in result["diff"][0]["after"]
    assert result["diff"][0]["before_header"] == f"{SERVICE_FOLDER}\\{CONFIG_FILE}"


def test_src_is_placed_then_idempotent(lab: Lab, tmp_path: Path) -> None:
    files = {CONFIG_FILE: config_xml(), KEY_FILE: KEY_XML, STATE_FILE: STATE_XML}
    folder = local_set(tmp_path, files)
    result = run_action(lab, ConfigAction, {"src": folder, "verify_seconds": 10})
    assert result["changed"] and not result.get("failed"), result
    assert operations(lab) == ["read", "place"]
    place_args = lab.calls[-1][1]
    assert place_args["_checksums"] == {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    hashes = lab.hashes()
    assert hashes[CONFIG_FILE] == result["files"][2]["sha256"]
    assert hashes[BIN_FILE] is None
    assert not lab.host.exists(place_args["remote_src"])  # the staged copy (credentials) is gone
    acl = {(r.identity, tuple(r.rights)) for r in lab.host.get_acl(f"{SERVICE_FOLDER}\\{KEY_FILE}")}
    assert ("BUILTIN\\Users", ("ReadAndExecute",)) not in acl  # inheritance is off: only admins, SYSTEM and the service account
    assert lab.host.exists(result["backup_folder"] + "\\" + CONFIG_FILE)  # the installer's default set was kept
    lab.calls.clear()
    again = run_action(lab, ConfigAction, {"src": folder})
    assert again["changed"] is False and operations(lab) == ["read"] and again["backup_folder"] is None


def test_remote_src_is_validated_after_the_read_and_nothing_is_placed(lab: Lab) -> None:
    lab.put_set(r"D:\Backups\bad", {CONFIG_FILE: config_xml(), KEY_FILE: b'<Encryption Key="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="/>'})
    before = lab.hashes()
    result = run_action(lab, ConfigAction, {"remote_src": r"D:\Backups\bad"})
    assert result["failed"] and "does not decrypt this password (not the matching key)" in result["msg"]
    assert result["errors"][0]["line"] == 10
    assert operations(lab) == ["read"] and lab.hashes() == before


def test_remote_src_that_does_not_exist(lab: Lab) -> None:
    result = run_action(lab, ConfigAction, {"remote_src": r"D:\Backups\none"})
    assert result["failed"] and "Failed to read the configuration set in 'D:\\Backups\\none'" in result["msg"]


def test_definition_secrets_never_leave_in_the_result(lab: Lab) -> None:
    definition = {
        "crm_server_url": "https://crm.contoso.local/Contoso",
        "profiles": [{"name": "Ex", "email_server": "https://ex01.contoso.local/EWS/Exchange.asmx", "password": DEFINITION_SECRET}],
        "forward_mailboxes": [{"email": "fwd@contoso.local", "incoming_profile": "Ex"}],
    }
    result = run_action(lab, ConfigAction, {"definition": definition, "verify_seconds": 10}, diff=True)
    assert result["changed"] and not result.get("failed"), result
    assert DEFINITION_SECRET not in json.dumps(result)
    assert any("processed again" in w for w in result["warnings"])
    assert DEFINITION_SECRET.encode() in lab.host.read_bytes(f"{SERVICE_FOLDER}\\{CONFIG_FILE}")  # written as given


def test_a_file_in_place_over_the_limit_is_compared_by_hash(lab: Lab, tmp_path: Path) -> None:
    small = {CONFIG_FILE: config_xml(password="plain"), STATE_FILE: STATE_XML, BIN_FILE: b"\x00\x01" * 10}
    assert run_action(lab, ConfigAction, {"src": local_set(tmp_path, small), "verify_seconds": 10})["changed"]
    lab.host.write_bytes(f"{SERVICE_FOLDER}\\{BIN_FILE}", b"\x00" * 5000)  # the Manager saved a large .bin since
    lab.calls.clear()
    result = run_action(lab, ConfigAction, {"src": local_set(tmp_path, small, "again"), "max_file_size": 4096}, check_mode=True, diff=True)
    assert not result.get("failed"), result
    assert result["changed_files"] == [BIN_FILE]
    assert result["diff"][-1]["before"] == "<not read: 5000 bytes, more than max_file_size>\n"


# -- placement and roll-back ----------------------------------------------------------------------------------------------
def test_a_set_the_service_cannot_read_is_rolled_back(lab: Lab, tmp_path: Path) -> None:
    lab.host.set_service("MSCRMEmail", account="CONTOSO\\svc-crm")
    lab.host.restart_service("MSCRMEmail")
    before = lab.hashes()
    folder = local_set(tmp_path, {CONFIG_FILE: config_xml(password="plain"), STATE_FILE: STATE_XML})
    result = run_action(lab, ConfigAction, {"src": folder, "service_account": "CONTOSO\\helpdesk", "verify_seconds": 20})
    assert result["failed"] and result["rolled_back"] is True
    assert result["failure_event"].startswith("#16192 - System information was not specified")
    assert "and the service started again" in result["msg"]
    assert lab.hashes() == before
    assert lab.host.service("MSCRMEmail").state == "running"
    assert lab.host.access_allowed(f"{SERVICE_FOLDER}\\{CONFIG_FILE}", "CONTOSO\\svc-crm", "Read")


def test_keep_backups_prunes_the_oldest(lab: Lab, tmp_path: Path) -> None:
    folders = []
    for i in range(4):
        folder = local_set(tmp_path, {CONFIG_FILE: config_xml(server=f"ex0{i}", password="plain"), STATE_FILE: STATE_XML}, f"b{i}")
        result = run_action(lab, ConfigAction, {"src": folder, "keep_backups": 2, "verify_seconds": 4})
        assert result["changed"] and not result.get("failed"), result
        folders.append(result["backup_folder"])
        lab.host.clock.sleep(2)
    root = folders[0].rsplit("\\", 1)[0]
    assert lab.host.listdir(root) == sorted(f.rsplit("\\", 1)[1] for f in folders[-2:])
    acl = lab.host.get_acl(root)
    assert {r.identity for r in acl} == {"BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM"}
    assert all(isinstance(r, AccessRule) for r in acl)
