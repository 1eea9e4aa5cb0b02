"""Named faults: validation, the control file as the run-time source of truth, counted faults."""

from __future__ import annotations

import json

import pytest

from simulator.faults import SPECS, FaultSet, FaultSpec, fault_from_dict, make_fault, register_fault


def test_builtin_faults_and_their_defaults() -> None:
    assert {"service_wont_start", "service_stops_after_start", "drop_connection", "full_volume", "slow_host"} <= set(SPECS)
    assert make_fault("drop_connection", "EX01").params == {"count": 1, "at": "command", "skip": 0}
    assert make_fault("restart_during_program", "EX01", "Setup.exe").params == {"after": 600, "count": 1}
    assert make_fault("slow_host", "EX01", params={"seconds": 5}).params == {"seconds": 5}
    assert SPECS["drop_connection"].layer == "transport" and SPECS["full_volume"].layer == "host"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "EX01"), "unknown fault 'nope'; known faults: "),
        (("full_volume", "EX01"), "fault 'full_volume' needs a target (drive)"),
        (("slow_host", "EX01", "C"), "fault 'slow_host' takes no target"),
        (("slow_host", ""), "fault 'slow_host' needs a host"),
    ],
)
def test_validation(args, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        make_fault(*args)
    with pytest.raises(ValueError, match="has no parameter 'speed'"):
        make_fault("slow_host", "EX01", params={"speed": 1})
    with pytest.raises(ValueError, match="unknown keys"):
        fault_from_dict({"name": "slow_host", "host": "EX01", "when": "now"})


def test_matching_by_host_target_and_wildcard() -> None:
    faults = FaultSet(faults=[make_fault("service_wont_start", "EX01", "MSExchangeIS"), make_fault("slow_host", "*")])
    assert faults.get("ex01", "service_wont_start", "msexchangeis") is not None
    assert faults.get("EX01", "service_wont_start", "W3SVC") is None
    assert faults.get("EX01", "service_wont_start") is not None  # any target
    assert faults.get("FS01", "service_wont_start") is None
    assert [f.name for f in faults.active("FS01")] == ["slow_host"]
    volume = FaultSet(faults=[make_fault("full_volume", "FS01", "D:")])
    assert volume.get("FS01", "full_volume", "d") is not None  # D, D: and D:\ are one drive


def test_control_file_is_reread_when_it_changes(tmp_path) -> None:
    writer = FaultSet.for_state_dir(tmp_path)
    reader = FaultSet.for_state_dir(tmp_path)  # another process, e.g. the server
    assert reader.all() == []
    writer.switch_on(make_fault("full_volume", "FS01", "D"))
    assert [f.name for f in reader.active("FS01")] == ["full_volume"]
    writer.switch_on(make_fault("full_volume", "FS01", "D"))  # switching on again replaces, not duplicates
    assert len(reader.all()) == 1
    (tmp_path / "control.json").write_text(json.dumps({"faults": [{"name": "slow_host", "host": "EX01", "params": {"seconds": 3}}]}))
    assert reader.get("EX01", "slow_host").params["seconds"] == 3
    (tmp_path / "control.json").write_text("{ half written")
    assert reader.get("EX01", "slow_host") is not None  # a broken file keeps the last good set
    (tmp_path / "control.json").write_text(json.dumps({"faults": [{"name": "slow_host", "host": "EX01"}]}))
    assert writer.switch_off("slow_host", "ex01") == 1
    assert reader.all() == []


def test_consume_counts_down_and_switches_off(tmp_path) -> None:
    faults = FaultSet.for_state_dir(tmp_path)
    faults.switch_on(make_fault("drop_connection", "EX01", params={"count": 2}))
    assert faults.consume("EX01", "drop_connection").params["count"] == 2
    assert faults.get("EX01", "drop_connection").params["count"] == 1
    assert faults.consume("EX01", "drop_connection") is not None
    assert faults.consume("EX01", "drop_connection") is None
    assert json.loads((tmp_path / "control.json").read_text()) == {"faults": []}


def test_skip_lets_occasions_pass_before_the_counted_ones(tmp_path) -> None:
    faults = FaultSet.for_state_dir(tmp_path)
    faults.switch_on(make_fault("drop_connection", "EX01", params={"skip": 2, "at": "receive"}))
    assert faults.consume("EX01", "drop_connection") is None
    assert faults.consume("EX01", "drop_connection") is None
    assert faults.get("EX01", "drop_connection").params["skip"] == 0
    assert faults.consume("EX01", "drop_connection").params["at"] == "receive"  # the third occasion is hit
    assert faults.consume("EX01", "drop_connection") is None and faults.all() == []


def test_later_issues_can_register_faults() -> None:
    register_fault(FaultSpec("setup_fails_test", "program", "Setup exits 1", "step", {"rc": 1}))
    assert make_fault("setup_fails_test", "EX01", "prereq").params == {"rc": 1}
    del SPECS["setup_fails_test"]
