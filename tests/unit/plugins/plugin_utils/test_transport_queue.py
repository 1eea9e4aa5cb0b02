"""The transport queue database judged on the controller: queue kinds and counts, folder rights, the database's verdict,
the intake method per release, the plan (and refusals) of every transport_queue_database state, drains and replays."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _transport_queue as tq

MH_CLEAN = """Initiating FILE DUMP mode...
         Database: C:\\Queue\\Mail.que

Fields:
        File Type: Database
            State: Clean Shutdown
     Log Required: 0-0 (0x0-0x0)
     Repair Count: 0

Operation completed successfully in 0.500 seconds.
"""
MH_DIRTY = MH_CLEAN.replace("Clean Shutdown", "Dirty Shutdown").replace("0-0 (0x0-0x0)", "3-3 (0x3-0x3)")
MH_NOT_A_DATABASE = """Initiating FILE DUMP mode...
         Database: C:\\Queue\\Mail.que

Operation terminated with error -1206 (JET_errDatabaseCorrupted, Non database file or corrupted db) after 0.100 seconds.
"""
FULL = {"rights": "FullControl", "type": "Allow"}
GOOD_ACCESS = [
    {"identity": "NT AUTHORITY\\NETWORK SERVICE", **FULL},
    {"identity": "NT AUTHORITY\\SYSTEM", **FULL},
    {"identity": "BUILTIN\\Administrators", **FULL},
]
QUEUES = [
    {"identity": "EX01\\Submission", "delivery_type": "Undefined", "message_count": 2},
    {"identity": "EX01\\3", "delivery_type": "DnsConnectorDelivery", "message_count": 40},
    {"identity": "EX01\\Shadow\\4", "delivery_type": "ShadowRedundancy", "message_count": 7},
    {"identity": "EX01\\Poison", "delivery_type": "Undefined", "message_count": 1},
    {"identity": "EX01\\Unreachable", "delivery_type": "Unreachable", "message_count": 3},
    {"identity": "EX01\\5", "delivery_type": "SmtpRelayToRemoteAdSite", "message_count": 0},
]


def info(*, state: str = "running", queues: list[dict[str, Any]] | None = None, mh: str | None = None, events: list[dict[str, Any]] | None = None,
         files: list[str] = ("Mail.que", "Trn.chk"), access: list[dict[str, Any]] | None = None, version: str = "15.2.1544.4", edge: bool = False,
         replay: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    result: dict[str, Any] = {
        "server": "EX01",
        "exchange": {"version": version, "edge": edge},
        "paths": {"database": "C:\\Queue", "logging": "C:\\Queue"},
        "service": {"exists": True, "state": state},
        "files": {"database": [{"name": n, "size": 2 << 20} for n in files], "logging": []},
        "folders": [{"path": "C:\\Queue", "exists": True, "access": GOOD_ACCESS if access is None else access}],
        "queues": (copy.deepcopy(QUEUES) if queues is None else queues) if state in ("running", "paused") else None,
        "queue_error": None,
        "eseutil": {"mh": {"rc": 0, "output": mh.splitlines()} if mh else None},
        "events": events or [],
    }
    if replay is not None:
        result["replay"] = replay
    return tq.enrich(result)


# -- queues --------------------------------------------------------------------------------------------------------------
def test_queues_are_counted_by_kind() -> None:
    summary = tq.summarize_queues(QUEUES)
    assert (summary["submission"], summary["delivery"], summary["shadow"], summary["poison"], summary["unreachable"]) == (2, 40, 7, 1, 3)
    assert summary["total"] == 53 and summary["to_deliver"] == 42 and summary["queues"] == 6
    assert [q["identity"] for q in summary["not_empty"]] == ["EX01\\Submission", "EX01\\3", "EX01\\Shadow\\4", "EX01\\Poison", "EX01\\Unreachable"]
    assert tq.queue_kind("Shadow\\9") == "shadow" and tq.queue_kind("EX01\\12", "ShadowRedundancy") == "shadow"


def test_a_drain_is_done_when_submission_and_delivery_queues_are_empty() -> None:
    assert not tq.drain_verdict(QUEUES)["drained"]
    left = [q for q in QUEUES if tq.queue_kind(q["identity"], q["delivery_type"]) not in ("submission", "delivery")]
    verdict = tq.drain_verdict(left)
    assert verdict["drained"] and verdict["kept"] == {"poison": 1, "shadow": 7, "unreachable": 3}


# -- rights --------------------------------------------------------------------------------------------------------------
def test_rights_need_full_control_for_network_service_system_and_administrators() -> None:
    assert tq.rights_verdict([{"path": "C:\\Q", "access": GOOD_ACCESS}])["ok"]
    by_sid_name = [{"identity": "NETWORK SERVICE", **FULL}, {"identity": "SYSTEM", **FULL}, {"identity": "Administrators", **FULL}]
    assert tq.rights_verdict([{"path": "C:\\Q", "access": by_sid_name}])["ok"]
    read_only = [{"identity": "NT AUTHORITY\\NETWORK SERVICE", "rights": "ReadAndExecute, Synchronize", "type": "Allow"}, *GOOD_ACCESS[1:]]
    verdict = tq.rights_verdict([{"path": "C:\\Q", "access": read_only}])
    assert not verdict["ok"] and verdict["folders"][0]["missing"] == ["NT AUTHORITY\\NETWORK SERVICE"]
    denied = [*GOOD_ACCESS, {"identity": "BUILTIN\\Administrators", "rights": "FullControl", "type": "Deny"}]
    assert tq.rights_verdict([{"path": "C:\\Q", "access": denied}])["folders"][0]["missing"] == ["BUILTIN\\Administrators"]


# -- the database ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "verdict", "holds"),
    [
        ({}, "healthy", True),
        ({"queues": []}, "healthy", False),
        ({"state": "stopped", "mh": MH_CLEAN}, "stopped", None),
        ({"state": "stopped", "mh": MH_DIRTY}, "dirty", None),
        ({"state": "stopped", "mh": MH_NOT_A_DATABASE}, "corrupt", None),
        ({"state": "stopped", "mh": MH_CLEAN, "events": [{"id": 17003, "message": "The database may be corrupted."}]}, "corrupt", None),
        ({"state": "stopped", "files": ["Trn.chk"]}, "missing", False),
    ],
)
def test_the_database_verdict(kwargs: dict[str, Any], verdict: str, holds: bool | None) -> None:
    db = info(**kwargs)["database"]
    assert db["verdict"] == verdict and db["holds_messages"] is holds, db["message"]


def test_the_intake_method_and_redirect_per_release() -> None:
    assert tq.intake_method("15.2.1544.4", edge=False) == "component"
    assert tq.intake_method("15.0.1497.2", edge=True) == "pause"
    assert tq.intake_method("14.3.123.4", edge=False) == "pause"
    assert tq.intake_method("8.3.83.6", edge=False) == "pause"
    assert tq.can_redirect("15.1.2507.6", edge=False) and not tq.can_redirect("14.3.123.4", edge=False) and not tq.can_redirect("15.2.1544.4", edge=True)
    with pytest.raises(tq.QueuePlanError, match="not a release"):
        tq.intake_method("9.9.9.9", edge=False)


# -- plans ---------------------------------------------------------------------------------------------------------------------
def test_present_relocates_sets_rights_or_does_nothing() -> None:
    assert tq.plan(info(), {"state": "present"}).action == "none"
    relocate = tq.plan(info(), {"state": "present", "path": "D:\\Queue"})
    assert relocate.action == "relocate" and "move Mail.que" in relocate.message and relocate.steps[2] == "move"
    bad = info(access=GOOD_ACCESS[1:])
    assert tq.plan(bad, {"state": "present"}).action == "rights"
    keep_old = tq.plan(info(), {"state": "present", "path": "D:\\Queue", "move_existing": False})
    assert keep_old.refusal and "holds 53 message(s)" in keep_old.refusal
    assert tq.plan(info(queues=[]), {"state": "present", "path": "D:\\Queue", "move_existing": False}).action == "relocate"
    assert "not a full local folder path" in tq.plan(info(), {"state": "present", "path": "Queue"}).refusal
    corrupt = info(state="stopped", mh=MH_NOT_A_DATABASE)
    assert "corrupt" in tq.plan(corrupt, {"state": "present", "path": "D:\\Queue"}).refusal


def test_fresh_refuses_a_database_with_messages_or_uncountable_ones_unless_told() -> None:
    refusal = tq.plan(info(), {"state": "fresh"}).refusal
    assert "holds 53 message(s)" in refusal and "EX01\\3 40" in refusal and "replace_with_messages=true" in refusal
    stopped = tq.plan(info(state="stopped", mh=MH_CLEAN), {"state": "fresh"}).refusal
    assert "cannot be counted" in stopped
    assert tq.plan(info(), {"state": "fresh", "replace_with_messages": True}).action == "fresh"
    assert tq.plan(info(queues=[]), {"state": "fresh"}).action == "none"  # satisfied: running on an empty database
    assert tq.plan(info(state="stopped", files=[]), {"state": "fresh"}).action == "fresh"  # nothing to move: just start


def test_repaired_needs_the_opt_in_and_leaves_a_running_database_alone() -> None:
    corrupt = info(state="stopped", mh=MH_CLEAN, events=[{"id": 17003, "message": "corrupted"}])
    assert "allow_repair=true" in tq.plan(corrupt, {"state": "repaired"}).refusal
    plan = tq.plan(corrupt, {"state": "repaired", "allow_repair": True, "defragment": True})
    assert plan.action == "repair" and plan.steps == ["stop", "copy_aside", "/p", "/d", "start"]
    assert tq.plan(info(), {"state": "repaired", "allow_repair": True}).action == "none"
    assert "no Mail.que" in tq.plan(info(state="stopped", files=[]), {"state": "repaired", "allow_repair": True}).refusal


def replay(**overrides: Any) -> dict[str, Any]:
    return {"path": "C:\\Aside\\1", "exists": True, "files": [{"name": "Mail.que"}, {"name": "Trn.log"}], "marker": None, "in_progress": False,
            "config_backup": False, "mh": {"rc": 0, "output": MH_CLEAN.splitlines()}, **overrides}  # fmt: skip


def test_replay_plans_runs_finishes_and_refuses() -> None:
    options = {"state": "replayed", "replay_from": "C:\\Aside\\1"}
    assert tq.plan(info(replay=replay()), options).action == "replay"
    assert tq.plan(info(replay=replay(marker="replayed on EX01")), options).action == "none"
    assert tq.plan(info(replay=replay(in_progress=True, config_backup=True)), options).action == "replay_finish"
    assert "does not exist" in tq.plan(info(replay=replay(exists=False)), options).refusal
    no_logs = replay(files=[{"name": "Mail.que"}], mh={"rc": 0, "output": MH_DIRTY.splitlines()})
    assert "its logs are not with it" in tq.plan(info(replay=no_logs), options).refusal
    broken = replay(mh={"rc": 4294966090, "output": MH_NOT_A_DATABASE.splitlines()})
    assert "cannot be read as a queue database" in tq.plan(info(replay=broken), options).refusal
    assert "needs replay_from" in tq.plan(info(), {"state": "replayed"}).refusal
    own_corrupt = info(state="stopped", mh=MH_NOT_A_DATABASE, replay=replay())
    assert "Fix it first" in tq.plan(own_corrupt, options).refusal


def test_a_server_without_the_transport_service_is_refused() -> None:
    none = info()
    none["service"] = {"exists": False, "state": None}
    assert "no MSExchangeTransport" in tq.plan(none, {"state": "present"}).refusal
