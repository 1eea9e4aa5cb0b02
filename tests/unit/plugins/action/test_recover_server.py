"""The recover_server action plugin with `_execute_module` replaced by recorded module results.

The fixtures in fixtures/recover_server were recorded from the simulator's twins by fixtures/recover_server/record.py:
a 2019 CU14 Mailbox server EX01 being recovered (fresh host, a failed prerequisite check, a successful run, the
recovered host).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.exchange_dr.recovery.plugins.action import recover_server as plugin_module
from ansible_collections.exchange_dr.recovery.plugins.action.recover_server import ActionModule

FIXTURES = Path(__file__).parent / "fixtures" / "recover_server"
SETUP = r"D:\Exchange2019-CU14\Setup.exe"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Host:
    """Answers module calls the way the host did, in order, and records them."""

    def __init__(self, info: list[dict[str, Any]], run: dict[str, Any] | None = None, waits_before_done: int = 0) -> None:
        self.info = list(info)
        self.run = run
        self.waits_before_done = waits_before_done  # waits that end with Setup still running (their time is up)
        self.calls: list[tuple[str, dict[str, Any], bool]] = []
        self.restarts: list[str | None] = []

    def execute(self, module_name: str, module_args: dict[str, Any], wrap_async: bool) -> dict[str, Any]:
        self.calls.append((module_name, copy.deepcopy(module_args), wrap_async))
        if module_name == "exchange_dr.recovery.exchange_info":
            return copy.deepcopy(self.info.pop(0) if len(self.info) > 1 else self.info[0])
        if module_name == "exchange_dr.recovery.recover_server" and "_job" in module_args:
            assert not wrap_async, "the wait is a plain module call"
            if self.waits_before_done:
                self.waits_before_done -= 1
                return {"changed": False, "_job": {"id": "j123.4567", "finished": False, "result": None}}
            result = {**copy.deepcopy(self.run or {}), "started": 1, "finished": 1, "ansible_job_id": "j123.4567"}
            return {"changed": False, "_job": {"id": "j123.4567", "finished": True, "result": result}}
        if module_name == "exchange_dr.recovery.recover_server":
            assert wrap_async, "Setup must run as an async job"
            return {"started": 1, "finished": 0, "ansible_job_id": "j123.4567", "results_file": r"C:\Users\Administrator\.ansible_async\j123.4567"}
        if module_name == "ansible.legacy.async_status":
            assert module_args.get("mode") == "cleanup", "the job is waited for with the module, async_status only removes it"
            return {"erased": "x"}
        if module_name == "ansible.windows.win_service":
            return {"changed": True, "name": module_args["name"], "start_mode": "auto", "state": "running"}
        raise AssertionError(f"unexpected module {module_name}")

    def modules(self) -> list[str]:
        return [c[0] for c in self.calls]


def run(monkeypatch: pytest.MonkeyPatch, host: Host, args: dict[str, Any], *, check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    def fake_execute(self: ActionModule, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], wrap_async: bool = False, **_: Any):
        if wrap_async:
            assert self._task.async_val == args.get("timeout", 7200)
        return host.execute(module_name, module_args, wrap_async)

    def fake_reboot(self: ActionModule, a: dict[str, Any], task_vars: dict[str, Any], reason: str | None) -> dict[str, Any]:
        host.restarts.append(reason)
        return {"rebooted": True, "elapsed": 60}

    monkeypatch.setattr(ActionModule, "_execute_module", fake_execute)
    monkeypatch.setattr(ActionModule, "_reboot_host", fake_reboot)
    monkeypatch.setattr(ActionModule, "_remote_expand_user", lambda self, path, **_: r"C:\Users\Administrator\.ansible_async")
    monkeypatch.setattr(plugin_module.time, "sleep", lambda s: None)
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = "exchange_dr.recovery.recover_server"
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp"
    action = ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    result = action.run(task_vars={"inventory_hostname": "EX01"})
    assert task.async_val == 0  # restored after the async start
    return result


def fresh(**changes: Any) -> dict[str, Any]:
    info = recorded("info_fresh")
    for dotted, value in changes.items():
        target = info
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return info


def test_check_mode_reads_judges_and_shows_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()])
    result = run(monkeypatch, host, {"setup_path": SETUP}, check_mode=True)
    assert host.modules() == ["exchange_dr.recovery.exchange_info"]
    assert host.calls[0][1] == {"setup_path": SETUP}
    assert result["changed"] is True and result["action"] == "recover" and not result.get("failed")
    assert result["command_line"] == f'"{SETUP}" /Mode:RecoverServer /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF'
    assert result["release"]["name"] == "Exchange Server 2019 CU14"
    assert result["server"]["roles"] == ["Mailbox", "ClientAccess", "HubTransport"]
    assert result["reboot_required"] is False and result["rebooted"] is False
    assert "rc" not in result  # ansible would fail a task whose rc is not 0 (None included)


@pytest.mark.parametrize(
    ("changes", "args", "check"),
    [
        ({}, {"server_name": "EX02"}, "name_mismatch"),
        ({"domain__joined": False}, {}, "not_domain_joined"),
        ({"ad_server__exists": False}, {}, "no_ad_object"),
        ({"ad_server__role_mask": 64}, {}, "edge_role"),
        ({"pending_reboot__component_based_servicing": True}, {}, "pending_reboot"),
        ({"scripting_agent__enabled": True}, {}, "scripting_agent"),
        ({"media__exists": False}, {}, "no_media"),
    ],
)
def test_refusals_run_nothing(monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any], args: dict[str, Any], check: str) -> None:
    host = Host([fresh(**changes)])
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": False, **args})
    assert host.modules() == ["exchange_dr.recovery.exchange_info"], "nothing but the read may run"
    assert result["failed"] is True and result["check"] == check and result["changed"] is False


def test_recovery_runs_setup_async_judges_restarts_and_continues(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True, "poll_interval": 1})
    assert host.modules() == [
        "exchange_dr.recovery.exchange_info",
        "exchange_dr.recovery.recover_server",  # Setup, as an async job
        "exchange_dr.recovery.recover_server",  # the wait for it, on the host
        "ansible.legacy.async_status",  # cleanup
    ]
    sent = host.calls[1][1]
    assert sent["setup_path"] == SETUP and sent["arguments"] == ["/Mode:RecoverServer", "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"]
    assert "_job" not in sent and "exchange_info" not in sent
    wait = host.calls[2][1]
    assert wait["_job"] == {"id": "j123.4567", "async_dir": r"C:\Users\Administrator\.ansible_async", "wait": 7200}
    assert wait["poll_interval"] == 1 and wait["arguments"] == sent["arguments"]
    assert host.calls[3][1] == {"jid": "j123.4567", "mode": "cleanup", "_async_dir": r"C:\Users\Administrator\.ansible_async"}
    assert host.restarts == ["Exchange Setup finished and needs a restart"]
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["rebooted"] is True and result["reboot_required"] is False
    assert result["exit_code"] == 0 and "rc" not in result and result["setup_log"]["succeeded"] is True and result["action"] == "recover"
    assert result["msg"] == "Exchange Setup recovered EX01 (Exchange Server 2019 CU14)."
    assert not [k for k in result if k.startswith("_")]


def test_without_reboot_the_task_reports_the_restart_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP})
    assert host.restarts == [] and result["reboot_required"] is True and result["rebooted"] is False and result["changed"] is True


def test_a_failed_setup_quotes_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_prereq_failed"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True})
    assert host.restarts == []
    assert result["failed"] is True and result["exit_code"] == 1
    assert result["msg"].startswith("Exchange Setup failed on EX01 (exit code 1): The Active Directory management tools (RSAT-ADDS)")
    assert result["msg"].endswith(r"See C:\ExchangeSetupLogs\ExchangeSetup.log on EX01.")
    assert "Failed [Rule:" not in result["msg"] and len(result["setup_log"]["errors"]) >= 3


def test_exit_code_zero_with_an_incomplete_registry_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    lying = recorded("run_success")
    lying["exchange"]["setup_markers"][0]["configured_version"] = None
    lying["exchange"]["configured"] = False
    lying["exchange"]["incomplete"] = True
    result = run(monkeypatch, Host([fresh()], run=lying), {"setup_path": SETUP})
    assert result["failed"] is True and "registry shows an incomplete installation" in result["msg"]


def test_installed_and_configured_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([recorded("info_installed")])
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True})
    assert host.modules() == ["exchange_dr.recovery.exchange_info"]
    assert result["changed"] is False and result["action"] == "none" and result["rebooted"] is False and not result.get("failed")


def test_restore_transport_on_a_recovered_server(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([recorded("info_installed")])
    result = run(monkeypatch, host, {"setup_path": SETUP, "restore_transport_startup": True})
    assert host.modules() == ["exchange_dr.recovery.exchange_info", "ansible.windows.win_service", "ansible.windows.win_service"]
    assert [c[1] for c in host.calls[1:]] == [
        {"name": "MSExchangeTransport", "start_mode": "auto", "state": "started"},
        {"name": "MSExchangeFrontEndTransport", "start_mode": "auto", "state": "started"},
    ]
    assert result["changed"] is True and result["transport_services"] == ["MSExchangeTransport", "MSExchangeFrontEndTransport"]


def test_a_pending_restart_is_done_first_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    pending = fresh(pending_reboot__pending_file_rename=True)
    host = Host([pending, fresh(), recorded("info_installed")], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True, "do_not_start_transport": True, "restore_transport_startup": True})
    assert host.restarts == ["a restart was pending before Exchange Setup", "Exchange Setup finished and needs a restart"]
    assert "/DoNotStartTransport" in host.calls[2][1]["arguments"]
    assert host.modules()[-2:] == ["ansible.windows.win_service", "ansible.windows.win_service"]
    assert not result.get("failed") and result["rebooted"] is True and result["transport_services"] == ["MSExchangeTransport", "MSExchangeFrontEndTransport"]


def test_a_restart_that_does_not_clear_the_flag_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    pending = fresh(pending_reboot__windows_update=True)
    host = Host([pending, pending], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True})
    assert len(host.restarts) == 1 and "recover_server" not in " ".join(host.modules())
    assert result["failed"] is True and "did not clear it" in result["msg"]


def test_losing_the_job_fails_with_what_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_success"))
    original = host.execute

    def flaky(module_name: str, module_args: dict[str, Any], wrap_async: bool) -> dict[str, Any]:
        if "_job" in module_args:
            host.calls.append((module_name, module_args, wrap_async))
            return {"failed": True, "msg": "Connection aborted."}
        return original(module_name, module_args, wrap_async)

    host.execute = flaky  # type: ignore[method-assign]
    result = run(monkeypatch, host, {"setup_path": SETUP})
    assert len([c for c in host.calls if "_job" in c[1]]) == plugin_module.POLL_RETRIES
    assert "ansible.legacy.async_status" not in host.modules(), "a job it lost track of is left for a later run to find"
    assert result["failed"] is True and result["msg"].startswith("Lost track of Exchange Setup (job j123.4567)")


def test_a_wait_cut_off_is_waited_again_and_a_wait_that_ends_early_too(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_success"), waits_before_done=1)
    original = host.execute
    drops = [AnsibleConnectionFailure("Connection aborted.")]

    def dropping(module_name: str, module_args: dict[str, Any], wrap_async: bool) -> dict[str, Any]:
        if "_job" in module_args and drops:
            host.calls.append((module_name, module_args, wrap_async))
            raise drops.pop()
        return original(module_name, module_args, wrap_async)

    host.execute = dropping  # type: ignore[method-assign]
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True})
    assert len([c for c in host.calls if "_job" in c[1]]) == 3  # cut off, time up (still running), finished
    assert not result.get("failed"), result.get("msg")
    assert result["exit_code"] == 0 and result["setup_log"]["succeeded"] is True


def test_setup_that_outlives_the_timeout_is_left_running(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_success"), waits_before_done=100)
    clock = iter(range(0, 100000, 40))
    monkeypatch.setattr(plugin_module.time, "monotonic", lambda: next(clock))
    result = run(monkeypatch, host, {"setup_path": SETUP, "timeout": 100})
    waits = [c[1]["_job"]["wait"] for c in host.calls if "_job" in c[1]]
    assert waits == [60, 0]  # the time left, measured on the controller
    assert result["failed"] is True and result["msg"].startswith("Exchange Setup did not finish within 100s (it keeps running on EX01")
    assert "ansible.legacy.async_status" not in host.modules()


def test_a_read_made_earlier_is_used_and_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = {**fresh(), "read_options": {"setup_path": SETUP.lower(), "server_name": None, "target_dir": None}}
    host = Host([fresh()], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True, "exchange_info": earlier})
    assert host.modules() == ["exchange_dr.recovery.recover_server", "exchange_dr.recovery.recover_server", "ansible.legacy.async_status"]
    assert all("exchange_info" not in c[1] for c in host.calls)
    assert not result.get("failed") and result["action"] == "recover" and result["release"]["name"] == "Exchange Server 2019 CU14"


def test_a_read_made_earlier_is_not_trusted_after_the_restart_it_leads_to(monkeypatch: pytest.MonkeyPatch) -> None:
    pending = {**fresh(pending_reboot__pending_file_rename=True), "read_options": {"setup_path": SETUP}}
    host = Host([fresh()], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True, "exchange_info": pending})
    assert host.restarts[0] == "a restart was pending before Exchange Setup"
    assert host.modules()[0] == "exchange_dr.recovery.exchange_info", "after the restart the host is read again"
    assert not result.get("failed") and result["exit_code"] == 0


@pytest.mark.parametrize(
    "earlier",
    [
        {"skipped": True, "changed": False},
        {**recorded("info_fresh"), "read_options": {"setup_path": "E:\\Setup.exe"}},  # other media
        {**recorded("info_fresh"), "read_options": {"setup_path": SETUP, "server_name": "EX02"}},
        {**recorded("info_fresh"), "invocation": {"module_args": {"setup_path": SETUP}}},  # no read_options: unknown
    ],
    ids=["skipped", "other-media", "other-server", "unknown-options"],
)
def test_a_read_that_is_not_this_tasks_is_read_again(monkeypatch: pytest.MonkeyPatch, earlier: dict[str, Any]) -> None:
    host = Host([fresh()])
    result = run(monkeypatch, host, {"setup_path": SETUP, "exchange_info": earlier}, check_mode=True)
    assert host.modules() == ["exchange_dr.recovery.exchange_info"]
    assert not result.get("failed") and result["action"] == "recover"


@pytest.mark.parametrize(
    ("earlier", "message"),
    [
        ({"exists": True, "services": []}, "exchange_info is not a result of exchange_dr.recovery.exchange_info: it has no computer_name"),
        ({"failed": True, "msg": "Access is denied"}, "exchange_info is a failed read (Access is denied)"),
    ],
)
def test_something_else_given_as_the_read_is_refused_before_the_host_is_touched(monkeypatch: pytest.MonkeyPatch, earlier: dict[str, Any], message: str) -> None:
    host = Host([fresh()])
    with pytest.raises(AnsibleActionFail, match=re.escape(message)):
        run(monkeypatch, host, {"setup_path": SETUP, "exchange_info": earlier})
    assert host.calls == []


def test_the_internal_wait_option_is_not_for_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()])
    with pytest.raises(AnsibleActionFail, match="_job is set by the action plugin"):
        run(monkeypatch, host, {"setup_path": SETUP, "_job": {"id": "x", "async_dir": "C:\\x"}})
    assert host.calls == []


def _dropping_waits(host: Host, drops: int, *, unfinished_after: int | None = None) -> None:
    """The first `drops` waits raise what a dropped TCP connection raises in pywinrm/requests (an OSError, not an
    AnsibleConnectionFailure); with `unfinished_after`, the job then stays unfinished for good (its watchdog died)."""
    original = host.execute
    state = {"drops": drops}

    def execute(module_name: str, module_args: dict[str, Any], wrap_async: bool) -> dict[str, Any]:
        if "_job" in module_args:
            if state["drops"]:
                state["drops"] -= 1
                host.calls.append((module_name, module_args, wrap_async))
                raise ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")
            if unfinished_after is not None:
                host.calls.append((module_name, module_args, wrap_async))
                return {"changed": False, "_job": {"id": "j123.4567", "finished": False, "result": None}}
        return original(module_name, module_args, wrap_async)

    host.execute = execute  # type: ignore[method-assign]


def test_a_dropped_connection_while_setup_runs_is_waited_through(monkeypatch: pytest.MonkeyPatch) -> None:
    running = fresh(setup_processes=[{"pid": 4124, "name": "Setup.exe", "path": r"E:\Setup.exe"}])
    host = Host([fresh(), running], run=recorded("run_success"), waits_before_done=1)
    _dropping_waits(host, 2)
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": False})
    assert not result.get("failed"), result["msg"]
    waits = [c[1]["_job"]["wait"] for c in host.calls if "_job" in c[1]]
    assert len(waits) == 2 + 1 + 1  # two dropped, one unfinished, one finished
    assert waits[1:3] == [0, 0], "after a drop the job is looked at again at once"
    # after the drops one read checked that Setup still runs, then the wait went on
    assert host.modules().count("exchange_dr.recovery.exchange_info") == 2


def test_a_connection_lost_while_the_job_file_is_removed_does_not_fail_a_finished_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()], run=recorded("run_success"))
    original = host.execute

    def execute(module_name: str, module_args: dict[str, Any], wrap_async: bool) -> dict[str, Any]:
        if module_name == "ansible.legacy.async_status":
            host.calls.append((module_name, module_args, wrap_async))
            raise ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")
        return original(module_name, module_args, wrap_async)

    host.execute = execute  # type: ignore[method-assign]
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": False})
    assert host.modules().count("ansible.legacy.async_status") == 1, "the job file is left on the host, not retried"
    assert not result.get("failed"), result.get("msg")
    assert result["exit_code"] == 0 and result["setup_log"]["succeeded"] is True


def test_a_job_whose_setup_died_with_a_restart_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh(), fresh(exchange__incomplete=True)], run=recorded("run_success"))
    _dropping_waits(host, 1, unfinished_after=0)
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": False})
    assert result["failed"] is True
    assert result["msg"].startswith("Exchange Setup (job j123.4567) ended without a result after ")
    assert "no Exchange Setup process runs on EX01 any more (the host restarted or Setup was stopped)" in result["msg"]
    assert "Run again: Setup resumes where it stopped" in result["msg"]
    assert len([c for c in host.calls if "_job" in c[1]]) == 3  # the dropped wait, the unfinished one, one re-read


def test_arguments_override_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()])
    result = run(
        monkeypatch, host, {"setup_path": SETUP, "arguments": ["/Mode:RecoverServer", "/IAcceptExchangeServerLicenseTerms_DiagnosticDataON"]}, check_mode=True
    )
    assert result["command_line"].endswith("_DiagnosticDataON")


def test_bad_options_fail_before_the_host_is_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()])
    with pytest.raises(Exception, match="setup_path"):
        run(monkeypatch, host, {"reboot": True})
    assert host.calls == []


# -- --diff ----------------------------------------------------------------------------------------------------------------
NOT_INSTALLED = {"installed": False, "configured": False, "incomplete": False, "version": None, "release": None, "roles": []}
RECOVERED = {"installed": True, "configured": True, "incomplete": False, "version": "15.2.1544.4", "release": "Exchange Server 2019 CU14", "roles": ["Mailbox"]}


def test_check_mode_diff_previews_what_setup_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh()])
    result = run(monkeypatch, host, {"setup_path": SETUP}, check_mode=True, diff=True)
    assert host.modules() == ["exchange_dr.recovery.exchange_info"]
    assert result["diff"] == {
        "before": NOT_INSTALLED,
        "after": {**RECOVERED, "roles": ["Mailbox", "ClientAccess", "HubTransport"]},  # the AD object's roles, as it names them
    }


def test_check_mode_diff_with_a_pending_restart_still_previews_the_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh(pending_reboot__pending_file_rename=True)])
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True}, check_mode=True, diff=True)
    assert host.restarts == [] and result["reboot_required"] is True
    assert result["diff"]["before"] == NOT_INSTALLED and result["diff"]["after"]["release"] == "Exchange Server 2019 CU14"


def test_diff_of_a_recovery_is_the_state_before_and_as_setup_left_it(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host([fresh(pending_reboot__pending_file_rename=True), fresh()], run=recorded("run_success"))
    result = run(monkeypatch, host, {"setup_path": SETUP, "reboot": True}, diff=True)
    assert len(host.restarts) == 2 and not result.get("failed")
    # before is the first read (before the restart), after is what the Setup run read back from the registry
    assert result["diff"] == {"before": NOT_INSTALLED, "after": RECOVERED}


def test_diff_of_a_failed_setup_shows_what_it_left(monkeypatch: pytest.MonkeyPatch) -> None:
    left = recorded("run_prereq_failed")
    left["exchange"].update(installed=True, incomplete=True, version="15.2.1544.4", roles=["MailboxRole"])
    result = run(monkeypatch, Host([fresh()], run=left), {"setup_path": SETUP}, diff=True)
    assert result["failed"] is True
    assert result["diff"]["before"] == NOT_INSTALLED
    assert result["diff"]["after"] == {**RECOVERED, "configured": False, "incomplete": True}


@pytest.mark.parametrize("check_mode", [False, True])
def test_diff_of_an_installed_server_or_a_refusal_changes_nothing(monkeypatch: pytest.MonkeyPatch, check_mode: bool) -> None:
    result = run(monkeypatch, Host([recorded("info_installed")]), {"setup_path": SETUP}, check_mode=check_mode, diff=True)
    assert result["changed"] is False and result["diff"] == {"before": RECOVERED, "after": RECOVERED}
    refused = run(monkeypatch, Host([fresh(domain__joined=False)]), {"setup_path": SETUP}, check_mode=check_mode, diff=True)
    assert refused["failed"] is True and refused["diff"] == {"before": NOT_INSTALLED, "after": NOT_INSTALLED}


def test_no_diff_without_diff_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "diff" not in run(monkeypatch, Host([fresh()]), {"setup_path": SETUP}, check_mode=True)
