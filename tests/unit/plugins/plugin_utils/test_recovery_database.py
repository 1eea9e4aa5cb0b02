"""plugin_utils/_recovery_database.py: the judgements behind exchange_recovery_database's plan, on hand-made reads."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _recovery_database as rdb
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

DIRTY = [
    "Initiating FILE DUMP mode...",
    "         Database: D:\\RDB01\\DB01.edb",
    "            State: Dirty Shutdown",
    "     Log Required: 10-12 (0xa-0xc)",
    "    Log Committed: 0-12 (0x0-0xc)",
    "    Log Signature: Create time:01/01/2024 00:00:00.000 Rand:1234 Computer:",
    "Operation completed successfully in 0.500 seconds.",
]
CLEAN = [line.replace("Dirty Shutdown", "Clean Shutdown").replace("10-12 (0xa-0xc)", "0-0 (0x0-0x0)") for line in DIRTY]


def mh(lines: list[str], rc: int = 0) -> dict[str, Any]:
    return {"command_line": "eseutil /mh x", "rc": rc, "output": lines}


def current(generation: int, rand: int = 1234) -> dict[str, Any]:
    lines = [f"      lGeneration: {generation} (0x{generation:X})", f"      Signature: Create time:01/01/2024 00:00:00.000 Rand:{rand} Computer:"]
    return {"file": "E00.log", "eseutil": {"rc": 0, "output": [*lines, "Operation completed successfully in 0.100 seconds."]}}


def test_release_label_names_service_packs_and_updates() -> None:
    assert rdb.release_label(release_of("8.3.83.6")) == "Exchange Server 2007 SP3 (8.3.83.6)"
    assert rdb.release_label(release_of("14.0.639.21")) == "Exchange Server 2010 RTM (14.0.639.21)"
    assert rdb.release_label(release_of("15.2.1544.4")) == "Exchange Server 2019 CU14 (15.2.1544.4)"


def test_log_streams_and_the_files_of_one() -> None:
    names = ["E000000000B.log", "E000000000A.log", "E00.log", "E00.chk", "R0000000001.log", "E00res00001.jrs", "DB01.edb"]
    assert rdb.log_streams(names) == ["E00", "R00"]
    assert rdb.stream_files(names, "E00") == ["E000000000A.log", "E000000000B.log", "E00.log"]


def test_judge_files_clean_recoverable_and_the_refusals() -> None:
    logs = ["E000000000A.log", "E000000000B.log", "E00.log"]
    assert rdb.judge_files(mh(CLEAN), [], [], where="X")["state"] == "Clean Shutdown"
    judged = rdb.judge_files(mh(DIRTY), logs, [current(12)], where="X")
    assert judged["prefix"] == "E00" and judged["verdict"]["verdict"] == "recoverable" and judged["logs"]["current_generation"] == 12
    with pytest.raises(rdb.Refusal, match=r"X is in Dirty Shutdown and needs logs 10-12 .* there are no transaction logs beside it"):
        rdb.judge_files(mh(DIRTY), [], [], where="X")
    with pytest.raises(rdb.Refusal, match=r"several log streams \(E00, E01\)"):
        rdb.judge_files(mh(DIRTY), [*logs, "E0100000001.log"], [], where="X")
    with pytest.raises(rdb.Refusal, match=r"1 missing or damaged: E000000000B\.log"):
        rdb.judge_files(mh(DIRTY), ["E000000000A.log", "E00.log"], [current(12)], where="X")
    with pytest.raises(rdb.Refusal, match="belong to another log stream"):
        rdb.judge_files(mh(DIRTY), logs, [current(12, rand=999)], where="X")
    with pytest.raises(rdb.Refusal, match=r"cannot read the header of X: eseutil failed with error -1811"):
        rdb.judge_files(mh(["Operation terminated with error -1811 (JET_errFileNotFound, File not found) after 0.010 seconds."], 4294965485), [], [], where="X")


def read(**target: Any) -> dict[str, Any]:
    return {"databases": [], "storage_groups": [], "lookups": [], "target": target, "source": None}


def test_absent_without_the_object_moves_what_an_interrupted_run_left() -> None:
    listing = {"path": "E:\\RDB01", "exists": True, "files": [{"name": "E00.chk", "size": 8192}]}
    raw = read(edb={"path": "D:\\RDB01\\DB01.edb", "exists": True}, log_folder=listing, system_folder=listing)
    planned = rdb.plan(
        {"name": "RDB01", "state": "absent"}, raw, given={"name", "state"}, release=release_of("15.2.1544.4"), server="EX01", stamp="20261122T000000"
    )
    assert [s["action"] for s in planned.steps] == ["move", "move"]
    assert planned.moved_aside == [
        {"path": "E:\\RDB01", "to": "E:\\RDB01.20261122T000000"},
        {"path": "D:\\RDB01\\DB01.edb", "to": "D:\\RDB01\\DB01.edb.20261122T000000"},
    ]
    nothing = rdb.plan({"name": "RDB01", "state": "absent"}, read(), given=set(), release=release_of("15.2.1544.4"), server="EX01", stamp="x")
    assert not nothing.changed


def test_a_folder_another_database_uses_never_moves() -> None:
    other = {"name": "DB02", "identity": "DB02", "guid": "g2", "log_folder_path": "E:\\Shared", "edb_file_path": "D:\\DB02\\DB02.edb"}
    raw = read(
        edb={"path": "E:\\Shared\\DB01.edb", "exists": False}, log_folder={"path": "E:\\Shared", "exists": True, "files": [{"name": "E00.log", "size": 1}]}
    )
    raw["databases"] = [other]
    raw["source"] = {
        "folder": {"path": "C:\\B", "exists": True, "files": [{"name": "DB01.edb", "size": 10}]},
        "logs": {"path": "C:\\B", "exists": True, "files": []},
        "mh": [{"file": "DB01.edb", "eseutil": mh(CLEAN)}],
        "current_logs": [],
    }
    args = {"name": "RDB01", "state": "mounted", "edb_file_path": "E:\\Shared\\DB01.edb", "log_folder_path": "E:\\Shared", "restore_from": "C:\\B"}
    with pytest.raises(rdb.Refusal, match="the log folder E:\\\\Shared holds files of DB02"):
        rdb.plan(args, raw, given=set(args), release=release_of("15.2.1544.4"), server="EX01", stamp="x")
