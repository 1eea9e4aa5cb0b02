"""The Setup command-line table over every version/build boundary, the preflight judgement, log parsing and the verdict."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_setup as s
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import cu_build, release_of

MEDIA = r"D:\Setup.exe"


def build(product: str, cu: int, bump: int = 0) -> str:
    b = cu_build(product, cu)
    return f"{b[0]}.{b[1]}.{b[2] + bump}.{b[3]}"


# -- command line ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("media_build", "form"),
    [
        ("8.3.83.6", "none"),  # 2007 SP3
        ("14.3.123.4", "none"),  # 2010 SP3
        (build("2013", 0), "legacy"),
        (build("2013", 23), "legacy"),  # the last 2013 CU never got the new switch
        (build("2016", 0), "legacy"),
        (build("2016", 21), "legacy"),
        ("15.1.2308.27", "legacy"),  # CU21 with a later security update: still CU21
        (build("2016", 22), "diagnostic_data"),
        (build("2016", 22, -1), "legacy"),  # one build before CU22 is CU21
        (build("2016", 23), "diagnostic_data"),
        (build("2019", 0), "legacy"),
        (build("2019", 10), "legacy"),
        ("15.2.922.27", "legacy"),  # CU10 + SU
        ("15.2.985.0", "legacy"),  # just below IE15's threshold 15.02.0986.005
        ("15.02.0986.005", "diagnostic_data"),  # 2019 CU11 in FileVersion's long form
        (build("2019", 15), "diagnostic_data"),
        ("15.2.2561.0", "diagnostic_data"),  # still 2019 (CU15 + later builds)
        ("15.2.2562.17", "diagnostic_data"),  # Subscription Edition RTM
    ],
)
def test_license_form_at_every_boundary(media_build: str, form: str) -> None:
    command = s.setup_command(MEDIA, media_build)
    assert command.license == form
    expected = {
        "none": ["/m:RecoverServer"],
        "legacy": ["/m:RecoverServer", "/IAcceptExchangeServerLicenseTerms"],
        "diagnostic_data": ["/Mode:RecoverServer", "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"],
    }[form]
    assert list(command.arguments) == expected


def test_every_cumulative_update_of_the_release_table_gets_a_command() -> None:
    for product, updates in {"2013": 23, "2016": 23, "2019": 15}.items():
        for cu in range(updates + 1):
            command = s.setup_command(MEDIA, build(product, cu))
            new = (product == "2016" and cu >= 22) or (product == "2019" and cu >= 11)
            assert command.license == ("diagnostic_data" if new else "legacy"), (product, cu)
            assert command.program == MEDIA


def test_diagnostic_data_on_and_off() -> None:
    assert "/IAcceptExchangeServerLicenseTerms_DiagnosticDataON" in s.setup_command(MEDIA, "15.2.1544.4", diagnostic_data=True).arguments
    assert "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF" in s.setup_command(MEDIA, "15.2.1544.4").arguments
    # the option means nothing to Setup versions without that switch
    assert s.setup_command(MEDIA, build("2016", 21), diagnostic_data=True).arguments == ("/m:RecoverServer", "/IAcceptExchangeServerLicenseTerms")


def test_2007_and_2010_run_setup_com_next_to_the_media_file() -> None:
    assert s.setup_command(r"E:\Setup.exe", "14.3.123.4").program == r"E:\Setup.com"
    assert s.setup_command(r"E:\setup.com", "8.3.83.6").program == r"E:\setup.com"
    assert s.setup_command(r"\\fs01\Media\Ex2016\Setup.exe", build("2016", 21)).program == r"\\fs01\Media\Ex2016\Setup.exe"


def test_optional_switches_and_quoting() -> None:
    command = s.setup_command(
        MEDIA,
        "15.2.1544.4",
        target_dir="D:\\Program Files\\Exchange\\",
        domain_controller="dc01.contoso.local",
        do_not_start_transport=True,
        updates_dir=r"D:\Updates",
    )
    assert command.arguments[2:] == (
        '/TargetDir:"D:\\Program Files\\Exchange"',  # a trailing backslash would escape the quote
        "/DomainController:dc01.contoso.local",
        "/DoNotStartTransport",
        '/UpdatesDir:"D:\\Updates"',
    )
    assert command.command_line.startswith('"D:\\Setup.exe" /Mode:RecoverServer ')


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_dir": "D:\\"}, "root of a drive"),
        ({"target_dir": 'D:\\a"b'}, "double quote"),
        ({"domain_controller": "dc01 & calc"}, "server name or FQDN"),
    ],
)
def test_bad_switch_values_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(s.SetupCommandError, match=match):
        s.setup_command(MEDIA, "15.2.1544.4", **kwargs)


def test_target_dir_from_the_ad_object_only_when_not_default() -> None:
    r2019 = release_of("15.2.1544.4")
    assert s.target_dir_for(None, {"install_path": r"C:\Program Files\Microsoft\Exchange Server\V15"}, r2019) is None
    assert s.target_dir_for(None, {"install_path": "D:\\Exchange\\"}, r2019) == "D:\\Exchange"
    assert s.target_dir_for("E:\\X", {"install_path": "D:\\Exchange"}, r2019) == "E:\\X"
    assert s.target_dir_for(None, {"install_path": r"C:\Program Files\Microsoft\Exchange Server\V14"}, release_of("14.3.123.4")) is None


# -- preflight --------------------------------------------------------------------------------------------------------
FRESH: dict[str, Any] = {
    "computer_name": "EX01",
    "domain": {"joined": True, "name": "contoso.local"},
    "exchange": {"installed": False, "configured": False, "incomplete": False, "setup_markers": []},
    "pending_reboot": {"component_based_servicing": False, "windows_update": False, "pending_file_rename": False, "computer_rename": False},
    "ad_server": {"exists": True, "name": "EX01", "role_mask": 38, "roles": ["Mailbox", "ClientAccess", "HubTransport"], "version": "15.2.1544.4"},
    "scripting_agent": {"enabled": False, "config_path": r"C:\X\ScriptingAgentConfig.xml", "config_present": False},
    "media": {"path": MEDIA, "exists": True, "version": "15.2.1544.4"},
}


def info(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(FRESH)
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return data


def test_a_clean_host_runs_setup() -> None:
    verdict = s.preflight(info())
    assert (verdict.action, verdict.check, verdict.warnings) == ("recover", "", [])
    assert "Mailbox, ClientAccess, HubTransport" in verdict.msg


@pytest.mark.parametrize(
    ("changes", "kwargs", "check", "words"),
    [
        ({}, {"server_name": "EX02"}, "name_mismatch", ["named EX01", "lost server is EX02", "reset (never delete)"]),
        ({"domain__joined": False}, {}, "not_domain_joined", ["not joined to a domain", "join the host"]),
        ({"ad_server__error": "The server is not operational."}, {}, "ad_unreadable", ["not operational"]),
        ({"ad_server__exists": False}, {}, "no_ad_object", ["no Exchange server object named EX01", "normal install"]),
        ({"ad_server__roles": ["Edge"]}, {}, "edge_role", ["Edge Transport", "edge_servers", "recover_edge"]),
        ({"media__exists": False}, {}, "no_media", ["No Exchange Setup found"]),
        ({"media__version": "1.0.0.0"}, {}, "media_version", ["Could not read an Exchange build"]),
        ({"media__version": build("2016", 23)}, {}, "media_product", ["same product"]),
        ({"media__version": build("2019", 12)}, {}, "media_older", ["older than", "same or a later cumulative update"]),
        ({"scripting_agent__enabled": True}, {}, "scripting_agent", ["Disable-CmdletExtensionAgent", "ScriptingAgentConfig.xml", "File is not found"]),
        ({"pending_reboot__component_based_servicing": True}, {}, "pending_reboot", ["component_based_servicing", "reboot=true"]),
        (
            {
                "setup_processes": [
                    {"pid": 4104, "name": "ExSetup.exe", "path": r"C:\Windows\Temp\ExchangeSetup\ExSetup.exe", "started": "2026-11-22T03:00:00+00:00"}
                ]
            },
            {},
            "setup_running",
            ["still running on EX01", "ExSetup.exe, process 4104", "2026-11-22T03:00:00", "must not start", "ExchangeSetup.log"],
        ),
    ],
)
def test_each_refusal_says_what_to_fix(changes: dict[str, Any], kwargs: dict[str, Any], check: str, words: list[str]) -> None:
    verdict = s.preflight(info(**changes), **kwargs)
    assert (verdict.action, verdict.check) == ("refuse", check)
    for word in words:
        assert word in verdict.msg


def test_a_pending_restart_with_reboot_allowed_restarts_first() -> None:
    verdict = s.preflight(info(pending_reboot__pending_file_rename=True), reboot=True)
    assert verdict.action == "reboot" and "pending_file_rename" in verdict.msg


def test_installed_and_configured_is_nothing_to_do_even_before_other_checks() -> None:
    installed = info(exchange={"installed": True, "configured": True, "incomplete": False, "version": "15.2.1544.4"}, media__exists=False)
    verdict = s.preflight(installed)
    assert verdict.action == "none" and "nothing to recover" in verdict.msg
    assert s.preflight(installed, server_name="ex01").action == "none"  # case does not matter


def test_incomplete_markers_resume() -> None:
    markers = [{"role": "MailboxRole", "incomplete": True}, {"role": "CafeRole", "incomplete": False}]
    verdict = s.preflight(info(exchange={"installed": True, "configured": False, "incomplete": True, "setup_markers": markers}))
    assert verdict.action == "resume" and "MailboxRole" in verdict.msg


def test_a_newer_cu_of_the_same_product_warns_about_upgrade_mode() -> None:
    verdict = s.preflight(info(media__version=build("2019", 15)))
    assert verdict.action == "recover" and "/Mode:Upgrade" in verdict.warnings[0]
    assert s.preflight(info(media__version="15.2.2562.17")).action == "recover"  # 2019 -> Subscription Edition media


def test_the_scripting_agent_with_its_file_in_place_passes() -> None:
    assert s.preflight(info(scripting_agent__enabled=True, scripting_agent__config_present=True)).action == "recover"


# -- ExchangeSetup.log --------------------------------------------------------------------------------------------------
PREVIOUS_FAILED_RUN = """\
[12/21/2020 13:39:58.0893] [0] **********************************************
[12/21/2020 13:39:58.0893] [0] Starting Microsoft Exchange Server 2019 Setup
[12/21/2020 13:39:58.0909] [0] Setup version: 15.2.1544.4.
[12/21/2020 13:39:58.0940] [0] Command Line Parameter Name='mode', Value='RecoverServer'.
[12/21/2020 13:40:33.0755] [1] Failed [Rule:PendingRebootWindowsComponents] [Message:There is a pending reboot from a previous installation \
of a Windows Server role or feature. Please restart the computer and then run Setup again.]
[12/21/2020 13:40:33.0755] [1] [REQUIRED] There is a pending reboot from a previous installation of a Windows Server role or feature. \
Please restart the computer and then run Setup again.
[12/21/2020 13:40:34.0115] [0] The Exchange Server setup operation didn't complete.  More details can be found in ExchangeSetup.log \
located in the <SystemDrive>:\\ExchangeSetupLogs folder.
[12/21/2020 13:40:34.0115] [0] CurrentResult main.run:235: 1
[12/21/2020 13:40:34.0115] [0] End of Setup
"""
SERVICE_FAILURE_RUN = """\
[03/11/2021 15:43:05.0718] [0] Starting Microsoft Exchange Server Subscription Edition Setup
[03/11/2021 15:43:05.0721] [0] Setup version: 15.2.2562.17.
[03/11/2021 15:43:05.0741] [0] Command Line Parameter Name='mode', Value='RecoverServer'.
[03/11/2021 15:43:05.0741] [0] Command Line Parameter Name='iacceptexchangeserverlicenseterms_diagnosticdataoff', Value=''.
[03/11/2021 16:01:24.0362] [1] [ERROR] The following error was generated when "$error.Clear();
        if (get-service MSExchangeServiceHost* | where {$_.name -eq "MSExchangeServiceHost"})
        " was run: "Cannot start service MSExchangeServiceHost on computer '.'.".
[03/11/2021 16:01:24.0362] [1] [ERROR] Service 'Microsoft Exchange Service Host (MSExchangeServiceHost)' cannot be started.
[03/11/2021 16:01:24.0362] [1] [ERROR] The service cannot be started, either because it is disabled or because it has no enabled devices associated with it
[03/11/2021 16:01:24.0363] [1] [ERROR-REFERENCE] Id=BridgeheadRoleSetterComponent___115c Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup
[03/11/2021 16:01:24.0363] [1] Setup is stopping now because of one or more critical errors.
[03/11/2021 16:01:24.0398] [0] The Exchange Server setup operation didn't complete.  More details can be found in ExchangeSetup.log.
[03/11/2021 16:01:24.0400] [0] End of Setup
"""
SUCCESS_RUN = """\
[05/01/2024 10:00:00.0001] [0] Starting Microsoft Exchange Server 2019 Setup
[05/01/2024 10:00:00.0002] [0] Setup version: 15.2.1544.4.
[05/01/2024 10:00:00.0003] [0] Command Line Parameter Name='mode', Value='RecoverServer'.
[05/01/2024 10:40:00.0004] [0] The Exchange Server setup operation completed successfully.
[05/01/2024 10:40:00.0005] [0] End of Setup
"""


def test_the_last_run_is_parsed_and_earlier_runs_ignored() -> None:
    run = s.parse_setup_log(PREVIOUS_FAILED_RUN + SUCCESS_RUN)
    assert (run.found, run.product, run.version, run.mode, run.succeeded, run.errors, run.required) == (
        True,
        "2019",
        "15.2.1544.4",
        "RecoverServer",
        True,
        [],
        [],
    )
    first = s.parse_setup_log(PREVIOUS_FAILED_RUN)
    assert first.failed_rules == ["PendingRebootWindowsComponents"] and first.required[0].startswith("There is a pending reboot")
    assert first.succeeded is False and first.ended is True


def test_error_lines_continuations_and_references() -> None:
    run = s.parse_setup_log(SERVICE_FAILURE_RUN)
    assert run.product == "Subscription Edition" and run.parameters["iacceptexchangeserverlicenseterms_diagnosticdataoff"] == ""
    assert len(run.errors) == 3  # [ERROR-REFERENCE] is not an error line; continuation lines are not new lines
    assert run.errors[2] == "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it"


def test_no_run_in_the_log() -> None:
    assert s.parse_setup_log("").found is False
    assert s.parse_setup_log(["random text"]).found is False


# -- verdict -----------------------------------------------------------------------------------------------------------
CONFIGURED = {"installed": True, "configured": True, "incomplete": False, "install_date": "20240501"}


def result(log: str, rc: int, state: dict[str, Any]) -> dict[str, Any]:
    return {"rc": rc, "computer_name": "EX01", "setup_log": {"path": s.SETUP_LOG, "lines": log.splitlines()}, "exchange": state}


def test_success_needs_the_log_and_the_registry() -> None:
    r2019 = release_of("15.2.1544.4")
    assert s.judge_setup(result(SUCCESS_RUN, 0, CONFIGURED), r2019).ok
    no_date = s.judge_setup(result(SUCCESS_RUN, 0, {**CONFIGURED, "install_date": None}), r2019)
    assert not no_date.ok and "registry shows an incomplete installation" in no_date.msg
    # 2010 has no Uninstall entry IE15 checks: the role keys decide
    assert s.judge_setup(result(SUCCESS_RUN, 0, {**CONFIGURED, "install_date": None}), release_of("14.3.123.4")).ok


def test_exit_code_zero_alone_is_not_success() -> None:
    verdict = s.judge_setup(result(PREVIOUS_FAILED_RUN, 0, CONFIGURED), release_of("15.2.1544.4"))
    assert not verdict.ok and "exit code 0" in verdict.msg


def test_failure_quotes_the_first_errors_and_the_log_path() -> None:
    verdict = s.judge_setup(
        result(SERVICE_FAILURE_RUN, 1, {"installed": True, "configured": False, "incomplete": True}), release_of("15.2.2562.17"), max_errors=2
    )
    assert not verdict.ok and len(verdict.errors) == 2
    assert verdict.msg.startswith("Exchange Setup failed on EX01 (exit code 1): The following error was generated")
    assert "Service 'Microsoft Exchange Service Host (MSExchangeServiceHost)' cannot be started." in verdict.msg
    assert verdict.msg.endswith(r"See C:\ExchangeSetupLogs\ExchangeSetup.log on EX01.")
    prereq = s.judge_setup(result(PREVIOUS_FAILED_RUN, 1, {}), release_of("15.2.1544.4"))
    assert "There is a pending reboot" in prereq.msg


def test_an_interrupted_run_and_a_missing_log() -> None:
    interrupted = SUCCESS_RUN.splitlines()[:3]
    assert "interrupted" in s.judge_setup(result("\n".join(interrupted), 1, {}), release_of("15.2.1544.4")).msg
    assert "has no Setup run" in s.judge_setup(result("", 1, {}), release_of("15.2.1544.4")).msg
