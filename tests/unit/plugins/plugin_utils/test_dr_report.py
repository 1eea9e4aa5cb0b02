"""The DR report model: outcomes, durations, causes, renderings, and that secrets never reach an output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_report import (
    HIDDEN,
    REDACTED,
    DrReport,
    Redactor,
    failure_cause,
    human_duration,
    message_text,
)

PASSWORD = "Crm-Svc-Passw0rd!"


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


def outputs(report: DrReport) -> str:
    """Everything the report can emit: JSON, JUnit XML and the console summary."""
    return report.to_json() + report.to_junit() + "\n".join(report.summary_lines(["reports/dr_report.json"]))


def dr_run(clock: FakeClock, check_mode: bool = False) -> DrReport:
    """A recorded run: EX01 recovered over three phases, EX02 fails in recover and never reaches verify."""
    report = DrReport("dr_run.yml", clock=clock)
    report.start_phase("preflight", "Preflight", ["EX01", "EX02"], check_mode=check_mode)
    for host in ("EX01", "EX02"):
        report.task_started(host)
        clock.tick(2)
        report.task_result(host, "ok", "Read Exchange state", {"changed": False, "installed": False})
    report.start_phase("recover", "Recover", ["EX01", "EX02"], check_mode=check_mode)
    report.task_started("EX01")
    report.task_started("EX02")
    clock.tick(300)
    report.task_result("EX01", "ok", "Run Setup /m:RecoverServer", {"changed": True, "msg": "Setup completed"}, action="exchange_dr.recovery.recover_server")
    report.task_result(
        "EX02",
        "failed",
        "Run Setup /m:RecoverServer",
        {
            "failed": True,
            "msg": "Setup failed: [ERROR] The server object could not be read",
            "rc": 1,
            "error_lines": ["[ERROR] The server object could not be read"],
            "log_path": r"C:\ExchangeSetupLogs\ExchangeSetup.log",
        },
        action="exchange_dr.recovery.recover_server",
    )
    report.start_phase("verify", "Verify", ["EX01", "EX02"], check_mode=check_mode)
    report.task_started("EX01")
    clock.tick(10)
    report.task_result("EX01", "ok", "Check services", {"changed": False, "warnings": ["MSExchangeTransport started late"]})
    clock.tick(1)
    report.finish({"EX01": {"ok": 3, "changed": 1}, "EX02": {"ok": 1, "failures": 1}})
    return report


def test_outcomes_durations_and_not_run_hosts() -> None:
    clock = FakeClock()
    report = dr_run(clock)
    data = report.to_dict()
    assert data["outcome"] == "failed"
    assert data["hosts"]["EX01"]["outcome"] == "recovered"
    assert data["hosts"]["EX01"]["phases"] == {"preflight": "ok", "recover": "changed", "verify": "ok"}
    assert data["hosts"]["EX01"]["recovery_time_s"] == pytest.approx(314.0)
    assert data["hosts"]["EX02"]["outcome"] == "failed"
    verify = data["phases"][2]["hosts"]["EX02"]
    assert verify["outcome"] == "not_run"
    assert verify["not_run_reason"] == "host stopped in phase recover"
    failure = data["hosts"]["EX02"]["failures"][0]
    assert failure["phase"] == "recover"
    assert failure["msg"].startswith("Setup failed")
    assert failure["rc"] == 1
    assert failure["log_path"].endswith("ExchangeSetup.log")
    assert data["phases"][1]["hosts"]["EX01"]["changes"] == [
        {"task": "Run Setup /m:RecoverServer", "action": "exchange_dr.recovery.recover_server", "detail": "Setup completed"}
    ]
    assert data["phases"][2]["hosts"]["EX01"]["warnings"] == ["Check services: MSExchangeTransport started late"]
    assert data["duration_s"] == pytest.approx(315.0)


def test_junit_one_suite_per_phase_one_case_per_host() -> None:
    root = ET.fromstring(dr_run(FakeClock()).to_junit())  # noqa: S314 - our own output
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root.findall("testsuite")] == ["preflight", "recover", "verify"]
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "1", "0", "1")
    recover = root.find("testsuite[@name='recover']")
    ex02 = recover.find("testcase[@name='EX02']")
    assert ex02.find("failure") is not None
    assert "Setup failed" in ex02.find("failure").get("message")
    assert "ExchangeSetup.log" in ex02.find("failure").text
    assert float(recover.find("testcase[@name='EX01']").get("time")) == pytest.approx(300.0)
    assert root.find("testsuite[@name='verify']/testcase[@name='EX02']/skipped") is not None


def test_console_summary_is_short_and_names_the_failure() -> None:
    lines = dr_run(FakeClock()).summary_lines(["reports/dr_report.json", "reports/dr_report.junit.xml"])
    assert lines[0].startswith("DR REPORT dr_run.yml: FAILED in 5m15s")
    header = lines[1].split()
    assert header == ["host", "preflight", "recover", "verify", "time"]
    assert lines[2].split()[:4] == ["EX01", "ok", "changed(1)", "ok"]
    assert "not" in lines[3] and "failed" in lines[3]
    assert any(ln.strip().startswith("FAILED EX02 / recover / Run Setup") for ln in lines)
    assert lines[-1] == "  report: reports/dr_report.json, reports/dr_report.junit.xml"
    assert len(lines) < 12


def test_check_mode_is_a_plan() -> None:
    clock = FakeClock()
    report = DrReport("dr_run.yml", clock=clock)
    report.start_phase("recover", "Recover", ["EX01"], check_mode=True)
    report.task_result("EX01", "ok", "Run Setup", {"changed": True, "msg": "would run Setup /m:RecoverServer"})
    report.finish({})
    data = report.to_dict()
    assert (data["check_mode"], data["outcome"], data["hosts"]["EX01"]["outcome"]) == (True, "planned", "planned")
    assert "would chg(1)" in report.summary_lines()[2]
    assert "would change: Run Setup (would run Setup /m:RecoverServer)" in report.to_junit()


def test_a_task_that_reports_its_steps_lists_each_one() -> None:
    """dr_kit_apply returns `steps` (planned in check mode, done or failed for real): each done or planned one is a change."""
    for check_mode, status in ((True, "planned"), (False, "done")):
        report = DrReport("dr_run.yml", clock=FakeClock())
        report.start_phase("reapply", "Reapply", ["EX01"], check_mode=check_mode)
        steps = [
            {"id": 1, "part": "certificates", "action": "import_certificate", "summary": "import certificate AB (CN=mail)", "status": status},
            {
                "id": 2,
                "part": "virtual_directories",
                "action": "cmdlet",
                "summary": "set owa virtual directory owa: ExternalUrl=https://x/owa",
                "status": status,
            },
            {"id": 3, "part": "transport", "action": "cmdlet", "summary": "set the transport service", "status": "failed" if status == "done" else status},
        ]
        report.task_result("EX01", "ok", "Re-apply the DR kit", {"changed": True, "msg": "re-applied 2 step(s)", "steps": steps})
        report.finish({})
        changes = report.to_dict()["phases"][0]["hosts"]["EX01"]["changes"]
        expected = [s["summary"] for s in steps if s["status"] in ("planned", "done")]
        assert [c["item"] for c in changes] == expected
        assert f"{'would change' if check_mode else 'changed'}: Re-apply the DR kit [import certificate AB (CN=mail)]" in report.to_junit()


def test_loop_items_ignored_failures_and_unreachable() -> None:
    report = DrReport("x.yml", clock=FakeClock())
    report.start_phase("prerequisites", hosts=["EX01", "EX02"])
    result = {
        "changed": True,
        "results": [
            {"changed": True, "item": "Web-Server", "_ansible_item_label": "Web-Server"},
            {"changed": False, "item": "RSAT-ADDS"},
            {"changed": True, "_ansible_no_log": True, "censored": "hidden"},
        ],
    }
    report.task_result("EX01", "ok", "Install features", result)
    report.task_result("EX01", "failed", "Optional step", {"failed": True, "msg": "not there"}, ignore_errors=True)
    report.task_result("EX02", "unreachable", "Install features", {"unreachable": True, "msg": "connection refused"})
    report.finish({})
    data = report.to_dict()
    ex01 = data["phases"][0]["hosts"]["EX01"]
    assert [c.get("item") for c in ex01["changes"]] == ["Web-Server", HIDDEN]
    assert ex01["outcome"] == "changed"
    assert ex01["warnings"] == ["Optional step: failed (ignored): not there"]
    assert data["hosts"]["EX02"]["outcome"] == "unreachable"
    assert data["phases"][0]["hosts"]["EX02"]["failures"][0]["kind"] == "unreachable"
    root = ET.fromstring(report.to_junit())  # noqa: S314
    assert root.find("testsuite/testcase[@name='EX02']/error") is not None


def test_interrupted_run() -> None:
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.start_phase("prerequisites", hosts=["EX01"])
    report.task_started("EX01")
    report.task_result("EX01", "ok", "Install", {"changed": True})
    report.start_phase("recover", hosts=["EX01"])
    report.task_started("EX01")  # Setup in flight when Ctrl-C came
    report.finish(interrupted=True)
    data = report.to_dict()
    assert data["outcome"] == "interrupted"
    assert data["hosts"]["EX01"]["outcome"] == "interrupted"
    assert data["hosts"]["EX01"]["phases"] == {"prerequisites": "changed", "recover": "interrupted"}
    assert report.summary_lines()[0].startswith("DR REPORT dr_run.yml: INTERRUPTED")
    root = ET.fromstring(report.to_junit())  # noqa: S314
    assert root.find("testsuite[@name='recover']/testcase[@name='EX01']/error").get("type") == "interrupted"


# -- failure causes and messages ----------------------------------------------------------------------------------------------
def test_failure_cause_of_loop_and_hidden_results() -> None:
    cause = failure_cause({"msg": "One or more items failed", "results": [{"failed": True, "item": "a", "msg": "boom"}, {"failed": False}]})
    assert cause["msg"] == "boom"
    assert cause["items"] == [{"item": "a", "msg": "boom"}]
    assert failure_cause({"censored": "x", "_ansible_no_log": True, "msg": PASSWORD}) == {"msg": HIDDEN}
    assert failure_cause({}) == {"msg": "failed without a message"}
    many = failure_cause({"msg": "x", "stderr": "\n".join(f"line {i}" for i in range(20))})
    assert len(many["stderr"]) == 9 and many["stderr"][-1] == "... (12 more lines)"


@pytest.mark.parametrize(
    ("msg", "words"),
    [
        ("Task failed: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", "connection to the host was lost"),
        ("Task failed: Bad HTTP response returned from server. Code 400", "connection to the host was lost"),
        ("Task failed: ntlm: the specified credentials were rejected by the server", "check ansible_user and ansible_password"),
    ],
)
def test_transport_failures_get_a_hint(msg: str, words: str) -> None:
    """What the fault matrix showed an operator reads for a dropped connection, a restarted host or a wrong password."""
    cause = failure_cause({"msg": msg})
    assert cause["msg"] == msg and words in cause["hint"]
    assert "hint" not in failure_cause({"msg": "Exchange Setup failed on EX01 (exit code 1)"})


def test_message_text_shapes() -> None:
    assert message_text("plain") == "plain"
    assert message_text({"event": {"msg": "from event"}}) == "from event"
    assert message_text({"msg": "from msg"}) == "from msg"

    class Summary:
        class event:
            msg = "from object"

    assert message_text(Summary()) == "from object"


@pytest.mark.parametrize(("seconds", "text"), [(None, "-"), (3.25, "3.2s"), (42, "42s"), (313, "5m13s"), (7322, "2h02m")])
def test_human_duration(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


# -- secrets ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "password",
        "ansible_password",
        "email_router_service_password",
        "Password",
        "api_key",
        "EncryptionKey",
        "key",
        "client_secret",
        "vault_dr_admin_password",
        "token",
        "access_token",
        "ansible_become_pass",
        "pwd",
        "private_key",
    ],
)
def test_secret_names(name: str) -> None:
    assert Redactor().is_secret_name(name)


@pytest.mark.parametrize("name", ["path", "name", "msg", "service_account", "install_folder", "keep", "monkeys", "state", "changed"])
def test_ordinary_names(name: str) -> None:
    assert not Redactor().is_secret_name(name)


def test_free_text_pairs_are_redacted_without_knowing_the_value() -> None:
    r = Redactor()
    assert r.text("setup.exe /Password:Hunter22 /q") == f"setup.exe /Password:{REDACTED} /q"
    assert r.text("password=abc123 user=x") == f"password={REDACTED} user=x"
    assert r.text('{"api_key": "zzzz"}') == f'{{"api_key": {REDACTED}}}'
    assert r.text("-ServicePassword 'p w'") == f"-ServicePassword {REDACTED}"
    assert r.text("no secret here") == "no secret here"


def test_extra_secret_name_patterns() -> None:
    r = Redactor([r"^sa_login$"])
    r.learn({"sa_login": "DBSecretValue", "other": "keep-me"})
    assert r.text("login DBSecretValue keep-me") == f"login {REDACTED} keep-me"


def test_learnt_values_are_removed_everywhere_even_from_earlier_text() -> None:
    """A password shown in a warning before the task that carries it in its arguments is still redacted."""
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.start_phase("email_router", hosts=["EX01"])
    report.task_result("EX01", "ok", "Early", {"changed": True, "msg": f"installed, logon {PASSWORD}", "warnings": [f"retry with {PASSWORD}"]})
    report.task_result("EX01", "ok", f"Task named {PASSWORD}", {"changed": False}, args={"email_router_service_password": PASSWORD})
    report.finish({})
    text = outputs(report)
    assert PASSWORD not in text
    assert REDACTED in text


def test_a_password_in_args_results_warnings_and_messages_never_reaches_any_output() -> None:
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.redactor.learn({"ansible_password": "Inventory-Adm1n!", "ansible_user": "Administrator"})
    report.start_phase("email_router", hosts=["EX01"])
    args = {"service_account": "CONTOSO\\svc-crm", "service_password": PASSWORD, "path": r"\\FS01\Media\SetupEmailRouter.exe"}
    report.task_result(
        "EX01",
        "ok",
        "Install the Email Router",
        {
            "changed": True,
            "msg": f"installed as CONTOSO\\svc-crm ({PASSWORD})",
            "warnings": [f"the password {PASSWORD} expires soon", {"event": {"msg": f"object warning {PASSWORD}"}}],
            "invocation": {"module_args": args},
            "service": {"name": "MSCRMEmail", "logon_password": PASSWORD},
        },
        args=args,
    )
    report.task_result(
        "EX01",
        "failed",
        "Place the configuration",
        {
            "failed": True,
            "msg": f"logon failure for CONTOSO\\svc-crm with {PASSWORD}; the inventory password Inventory-Adm1n! works",
            "stderr": f"Start-Service: wrong password {PASSWORD}\nat line 1",
            "exception": f"Traceback...\nException: bad password {PASSWORD}",
            "invocation": {"module_args": args},
            "results": [{"failed": True, "item": PASSWORD, "msg": f"item {PASSWORD}"}],
        },
        action="exchange_dr.recovery.email_router_config",
    )
    report.finish({"EX01": {"ok": 1, "failures": 1}})
    text = outputs(report)
    assert PASSWORD not in text
    assert "Inventory-Adm1n!" not in text
    assert "Passw0rd" not in text
    data = json.loads(report.to_json())
    failure = data["hosts"]["EX01"]["failures"][0]
    assert failure["args"]["service_password"] == REDACTED
    assert failure["args"]["service_account"] == "CONTOSO\\svc-crm"  # ordinary values stay readable
    assert failure["args"]["path"].endswith("SetupEmailRouter.exe")


def test_no_log_results_contribute_status_only() -> None:
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.start_phase("recover", hosts=["EX01"])
    censored = {"changed": True, "censored": "the output has been hidden", "_ansible_no_log": True}
    report.task_result("EX01", "ok", "Hidden change", censored)
    report.task_result("EX01", "failed", "Hidden failure", {"failed": True, "censored": "hidden", "_ansible_no_log": True})
    report.finish({})
    hp = report.to_dict()["phases"][0]["hosts"]["EX01"]
    assert hp["changes"] == [{"task": "Hidden change", "detail": HIDDEN}]
    assert hp["failures"] == [{"task": "Hidden failure", "kind": "failed", "msg": HIDDEN}]


def test_invalid_xml_characters_are_replaced() -> None:
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.start_phase("verify", hosts=["EX01"])
    report.task_result("EX01", "failed", "Read log", {"failed": True, "msg": "bad \x00\x07 bytes"})
    report.finish({})
    ET.fromstring(report.to_junit())  # noqa: S314 - parses, so the control characters are gone


def test_a_task_forced_into_check_mode_changes_nothing_in_a_real_run() -> None:
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.start_phase("recover", hosts=["EX01"])
    report.task_result("EX01", "ok", "Preflight (check_mode: true)", {"changed": True, "msg": "would run Setup"}, dry_run=True)
    report.finish({})
    hp = report.to_dict()["phases"][0]["hosts"]["EX01"]
    assert (hp["outcome"], hp["changes"]) == ("ok", [])


def test_plays_that_ran_no_task_are_left_out() -> None:
    report = DrReport("dr_run.yml", clock=FakeClock())
    report.start_phase("preflight", hosts=["EX01"])
    report.task_result("EX01", "ok", "Read", {"changed": False})
    report.start_phase("recover", hosts=["EX01"])  # skipped by --tags: no task event at all
    report.finish({})
    assert [p["name"] for p in report.to_dict()["phases"]] == ["preflight"]
