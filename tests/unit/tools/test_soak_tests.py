"""tests/tools/soak_tests.py: reading pytest's JUnit XML, the tables, the options."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import soak_tests

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" tests="4">
  <testcase classname="tests.unit.simulator.test_transport" name="test_keep_alive" time="0.1"/>
  <testcase classname="tests.unit.simulator.test_email_router_program" name="test_a_set_it_cannot_load_stops_it_with_16192[other-key]">
    <failure message="ValueError: too many values to unpack (expected 1)&#10;second line">trace</failure>
  </testcase>
  <testcase classname="tests.unit.simulator.test_transport" name="test_ntlm_over_http_is_encrypted_on_the_wire">
    <error message="failed on setup with &quot;OSError: [Errno 98] Address already in use&quot;">trace</error>
  </testcase>
  <testcase classname="tests.unit.simulator.test_transport" name="test_skipped"><skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def test_parse_junit_reads_failures_and_errors_with_pytest_node_ids(tmp_path: Path) -> None:
    path = tmp_path / "run.xml"
    path.write_text(JUNIT)
    cases, failed = soak_tests.parse_junit(path)
    assert cases == 4
    assert failed == {
        "tests/unit/simulator/test_email_router_program.py::test_a_set_it_cannot_load_stops_it_with_16192[other-key]": (
            "failure: ValueError: too many values to unpack (expected 1)"
        ),
        "tests/unit/simulator/test_transport.py::test_ntlm_over_http_is_encrypted_on_the_wire": (
            'error: failed on setup with "OSError: [Errno 98] Address already in use"'
        ),
    }


def test_node_id_keeps_classes_and_unknown_modules() -> None:
    assert soak_tests.node_id("tests.tools.soak_tests.Thing", "test_x") == "tests/tools/soak_tests.py::Thing::test_x"
    assert soak_tests.node_id("nowhere.test_mod", "test_y") == "nowhere::test_mod::test_y"


def test_report_counts_failed_runs_per_test() -> None:
    flaky = "tests/unit/x.py::test_flaky"
    outcomes = [
        soak_tests.Outcome(1, "unit", 0, 60.0, tests=700),
        soak_tests.Outcome(2, "unit", 1, 61.0, tests=700, failed={flaky: "failure: boom"}),
        soak_tests.Outcome(3, "unit", 1, 62.0, tests=700, failed={flaky: "failure: boom again"}),
        soak_tests.Outcome(3, "simulator", 0, 120.0, tests=20),
    ]
    text = soak_tests.report(outcomes, runs=3, load=2, wall=303.0)
    row = next(line for line in text.splitlines() if line.startswith(flaky))
    assert row.split()[1:3] == ["2", "2,3"] and row.endswith("failure: boom")
    assert "3 runs of simulator, unit under 2 busy-loop process(es): 2 run(s) with a failure (2, 3); 1 distinct failing test(s)" in text
    assert "wall time 5.0 min" in text


def test_report_without_failures() -> None:
    text = soak_tests.report([soak_tests.Outcome(1, "unit", 0, 60.0, tests=700)], runs=1, load=0, wall=60.0)
    assert "Failures per test: none" in text and "0 run(s) with a failure;" in text


def test_a_pytest_run_that_fails_without_a_failing_case_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Done:
        pid = 0

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def wait(self, timeout: float | None = None) -> int:
            return 4  # pytest's "usage error": no JUnit file, no test case

    monkeypatch.setattr(soak_tests.subprocess, "Popen", Done)
    monkeypatch.setattr(soak_tests.tempfile, "gettempdir", lambda: str(tmp_path))
    outcome = soak_tests.run_suite(1, "unit", tmp_path, [], timeout=10)
    assert not outcome.ok and list(outcome.failed) == ["unit (pytest run)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--suites", "unit,bogus"], "unknown suite(s) bogus"), (["--runs", "0"], "--runs must be at least 1"), (["--suites", ""], "(none given)")],
)
def test_bad_options_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        soak_tests.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds servers through /proc")
def test_stop_servers_stops_what_a_run_left_running_under_its_basetemp(tmp_path: Path) -> None:
    def server(state: Path) -> subprocess.Popen[bytes]:  # a stand-in with the command line of `python -m simulator serve`
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "simulator", "serve", "--state", str(state)])

    ours, other = server(tmp_path / "run01-simulator" / "popen-gw0" / "state"), server(tmp_path.parent / "elsewhere" / "state")
    try:
        assert soak_tests.stop_servers(tmp_path / "run01-simulator") == 1
        assert ours.wait(timeout=30) == -signal.SIGTERM
        assert other.poll() is None
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()
