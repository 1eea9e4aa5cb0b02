"""The plan of exchange_database for every verdict and option: which steps, in which order, or which refusal.

The database entries are what exchange_database_info returns (raw, with eseutil's output in the documented format) judged by
_exchange_databases.judge_database, as the action plugin does; the inspect results are the module's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _database_restore as r
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_databases import capabilities, judge_database

MB = 1 << 20
STREAM = "Create time:01/01/2024 00:00:00.000 Rand:1111 Computer:"
OTHER_STREAM = "Create time:01/01/2024 00:00:00.000 Rand:2222 Computer:"
OK_LINE = "Operation completed successfully in 0.125 seconds."


def mh(path: str, state: str = "Clean Shutdown", required: tuple[int, int] = (0, 0), committed: int = 10, repair_count: int = 0) -> dict[str, Any]:
    lines = [
        "Initiating FILE DUMP mode...",
        f"         Database: {path}",
        "",
        "Fields:",
        "     DB Signature: Create time:01/01/2024 00:00:00.000 Rand:42 Computer:",
        "         cbDbPage: 32768",
        f"            State: {state}",
        f"     Log Required: {required[0]}-{required[1]} (0x{required[0]:x}-0x{required[1]:x})",
        f"    Log Committed: 0-{committed} (0x0-0x{committed:x})",
        f"     Repair Count: {repair_count}",
        f"  Last Consistent: (0x{committed:X},1,0)  01/01/2024 00:00:00",
        f"    Log Signature: {STREAM}",
        "",
        OK_LINE,
    ]
    return {"command_line": f"eseutil /mh {path}", "rc": 0, "output": lines}


def log_header(path: str, generation: int, signature: str = STREAM) -> dict[str, Any]:
    lines = [f"      Log file: {path}", f"      lGeneration: {generation} (0x{generation:X})", f"      Signature: {signature}", OK_LINE]
    return {"command_line": f"eseutil /ml {path}", "rc": 0, "output": lines}


def names(generations: Any, prefix: str = "E00", current: int | None = None) -> list[str]:
    out = [f"{prefix}{g:08X}.log" for g in generations if g != current]
    return out + ([f"{prefix}.log"] if current is not None else [])


def entry(
    name: str = "DB01",
    *,
    mounted: bool = False,
    edb: bool = True,
    size: int = MB,
    state: str = "Clean Shutdown",
    required: tuple[int, int] = (0, 0),
    logs: Any = range(1, 11),
    current: int | None = 10,
    kind: str = "mailbox",
    free: int = 100 * MB,
    log_free: int = 100 * MB,
    copies: tuple[str, ...] = ("EX01",),
    recovery: bool = False,
    storage_group: str | None = None,
    repair_count: int = 0,
    allow_file_restore: bool = False,
) -> dict[str, Any]:
    edb_path, folder = f"D:\\{name}\\{name}.edb", f"E:\\{name}"
    log_files = names(logs, current=current)
    eseutil = {"mh": None, "current_log": None, "ml": None}
    if edb and not mounted:
        eseutil["mh"] = mh(edb_path, state, required, repair_count=repair_count)
        if current is not None:
            eseutil["current_log"] = log_header(f"{folder}\\E00.log", current)
    raw = {
        "name": name,
        "guid": f"guid-{name}",
        "kind": kind,
        "server": "EX01",
        "recovery": recovery,
        "mounted": mounted,
        "edb_file_path": edb_path,
        "log_folder_path": folder,
        "system_folder_path": folder,
        "log_prefix": "E00",
        "storage_group": storage_group,
        "allow_file_restore": allow_file_restore,
        "replication": {"replicated": len(copies) > 1, "copies": list(copies), "master_type": "Server"},
        "files": {
            "edb": {"exists": edb, "size": size if edb else None, "modified": None},
            "edb_volume": {"name": "D:\\", "free_bytes": free, "size_bytes": 1 << 30},
            "log_volume": {"name": "E:\\", "free_bytes": log_free, "size_bytes": 1 << 30},
            "log_folder_exists": True,
            "log_count": len(log_files),
            "log_files": None if mounted else log_files,
            "checkpoint_present": bool(log_files),
            "eseutil": eseutil,
        },
    }
    return judge_database(raw)


def backup(
    folder: str = "C:\\Backups\\DB01",
    *,
    edb_names: tuple[str, ...] = ("DB01.edb",),
    state: str = "Dirty Shutdown",
    required: tuple[int, int] = (40, 45),
    logs: Any = range(40, 48),
    size: int = 2 * MB,
    error: str | None = None,
    exists: bool = True,
) -> dict[str, Any]:
    edbs = [{"name": n, "path": f"{folder}\\{n}", "size": size, "modified": "2026-01-01T00:00:00.0000000Z"} for n in edb_names]
    files = [{"name": n, "path": f"{folder}\\{n}", "size": 4096, "modified": None} for n in names(logs)]
    return {
        "folder": folder,
        "exists": exists,
        "error": error,
        "edb_files": edbs,
        "eseutil": {e["name"]: {"mh": mh(e["path"], state, required)} for e in edbs},
        "logs": {"folder": folder, "exists": True, "files": files, "ml": None, "current_log": None},
    }


def ctx(db: dict[str, Any], product: str = "2019", version: str = "15.2.1544.4", inspect: dict[str, Any] | None = None, **params: Any) -> r.Context:
    defaults = {
        "name": db["name"],
        "state": "mounted",
        "restore_from": None,
        "restore_logs_from": None,
        "restore": "missing",
        "allow_file_restore": False,
        "soft_recovery": True,
        "allow_data_loss": False,
        "repair": "none",
        "repair_request": list(r.DEFAULT_CORRUPTION_TYPES),
        "dial_tone": False,
        "aside_folder": None,
    }
    base_inspect = {"server": "EX01", "now": "20260101T000000Z", "record": None, "log_bytes": 40960, "aside_volume": None, "backup": None, "siblings": []}
    return r.Context({**defaults, **params}, db, product, capabilities(version), "EX01", {**base_inspect, **(inspect or {})})


def kinds(plan: r.Plan) -> list[str]:
    return [s.kind for s in plan.steps]


def refused(context: r.Context) -> str:
    with pytest.raises(r.PlanError) as caught:
        r.plan(context)
    message = str(caught.value)
    assert message.endswith("Nothing was changed."), message
    return message


# -- the files in place ---------------------------------------------------------------------------------------------------------
def test_a_mounted_database_needs_nothing() -> None:
    plan = r.plan(ctx(entry(mounted=True)))
    assert plan.steps == [] and plan.action == "nothing" and plan.msg == "DB01 is mounted."


def test_a_clean_database_is_mounted() -> None:
    plan = r.plan(ctx(entry()))
    assert kinds(plan) == ["mount"] and plan.action == "mount" and plan.steps[0].command == "Mount-Database -Identity DB01"


def test_a_recoverable_database_gets_soft_recovery_then_mount() -> None:
    plan = r.plan(ctx(entry(state="Dirty Shutdown", required=(8, 10))))
    assert kinds(plan) == ["eseutil_recover", "mount"] and plan.action == "recover"
    assert plan.steps[0].host["arguments"] == ["/r", "E00", "/lE:\\DB01", "/sE:\\DB01", "/dD:\\DB01"]
    assert plan.verdict["verdict"] == "recoverable"


def test_soft_recovery_can_be_left_to_the_store() -> None:
    assert kinds(r.plan(ctx(entry(state="Dirty Shutdown", required=(8, 10)), soft_recovery=False))) == ["mount"]


def test_present_stops_before_mounting() -> None:
    plan = r.plan(ctx(entry(state="Dirty Shutdown", required=(8, 10)), state="present"))
    assert kinds(plan) == ["eseutil_recover"] and plan.after == {"mounted": False}
    assert r.plan(ctx(entry(), state="present")).steps == []


def test_dismounted_dismounts_only_a_mounted_database() -> None:
    plan = r.plan(ctx(entry(mounted=True), state="dismounted"))
    assert kinds(plan) == ["dismount"] and plan.steps[0].command == "Dismount-Database -Identity DB01 -Confirm:$false"
    assert r.plan(ctx(entry(), state="dismounted")).steps == []


def test_a_required_log_missing_is_refused_with_the_options() -> None:
    message = refused(ctx(entry(state="Dirty Shutdown", required=(5, 8), logs=[1, 2, 3, 4, 5, 7, 8, 9, 10])))
    assert "DB01 is in Dirty Shutdown and needs logs 5-8; missing or damaged in E:\\DB01: E0000000006.log" in message
    assert "repair=repair with allow_data_loss=true" in message and "dial_tone=true" in message


def test_a_hole_after_the_required_logs_needs_allow_data_loss() -> None:
    db = entry(state="Dirty Shutdown", required=(5, 6), logs=[4, 5, 6, 8, 9, 10])
    assert "allow_data_loss=true to replay up to the hole" in refused(ctx(db))
    plan = r.plan(ctx(db, allow_data_loss=True))
    assert kinds(plan) == ["eseutil_recover", "mount"] and plan.steps[0].host["arguments"][-1] == "/a" and plan.warnings


def test_logs_of_another_stream_are_refused() -> None:
    db = entry(state="Dirty Shutdown", required=(9, 10))
    db["files"]["eseutil"]["current_log"] = log_header("E:\\DB01\\E00.log", 10, OTHER_STREAM)
    assert "belong to another log stream" in refused(ctx(judge_database(db)))


def test_a_missing_database_file_needs_a_backup_or_dial_tone() -> None:
    message = refused(ctx(entry(edb=False, logs=[])))
    assert "The database file of DB01, D:\\DB01\\DB01.edb, does not exist on EX01" in message


# -- repair -------------------------------------------------------------------------------------------------------------------------
GAP = {"state": "Dirty Shutdown", "required": (5, 8), "logs": [1, 2, 3, 4, 5, 7, 8, 9, 10]}


def test_repair_keeps_a_copy_moves_the_logs_and_makes_a_repair_request() -> None:
    plan = r.plan(ctx(entry(**GAP), repair="repair", allow_data_loss=True))
    assert kinds(plan) == ["record", "copy", "record", "eseutil_repair", "move", "record", "mount", "record", "repair_request", "record"]
    copying = json.loads(plan.steps[0].host["data"])["repair"]
    assert copying == {"state": "copying", "copy": "D:\\DB01\\DB01.20260101T000000Z\\DB01.edb", "time": "20260101T000000Z", "count_before": 0}
    assert plan.steps[1].host["items"] == [{"src": "D:\\DB01\\DB01.edb", "dst": "D:\\DB01\\DB01.20260101T000000Z\\DB01.edb"}]
    assert json.loads(plan.steps[2].host["data"])["repair"] == {**copying, "state": "started"}
    assert plan.steps[3].host["arguments"] == ["/p", "D:\\DB01\\DB01.edb", "/tD:\\DB01\\TEMPREPAIR.EDB", "/o"]
    moved = [i["src"] for i in plan.steps[4].host["items"]]
    assert "E:\\DB01\\E00.chk" in moved and "E:\\DB01\\E00.log" in moved and len(moved) == 10
    assert plan.steps[8].host["corruption_types"] == list(r.DEFAULT_CORRUPTION_TYPES)
    assert json.loads(plan.steps[5].host["data"])["repair"] == {
        "state": "repaired",
        "copy": "D:\\DB01\\DB01.20260101T000000Z\\DB01.edb",
        "time": "20260101T000000Z",
        "count_before": 0,
        "request": "pending",
        "repair_count": 1,
    }
    assert plan.copy == "D:\\DB01\\DB01.20260101T000000Z\\DB01.edb" and plan.action == "repair"


def test_repair_of_a_recoverable_database_replays_the_logs_first() -> None:
    plan = r.plan(ctx(entry(state="Dirty Shutdown", required=(8, 10)), repair="repair_and_defragment", allow_data_loss=True))
    assert kinds(plan)[:6] == ["eseutil_recover", "record", "copy", "record", "eseutil_repair", "eseutil_defragment"]
    assert plan.steps[5].host["arguments"] == ["/d", "D:\\DB01\\DB01.edb", "/tD:\\DB01\\TEMPDFRG.EDB"]


@pytest.mark.parametrize(
    ("repair", "free", "needed"),
    [
        ("repair", int(1.19 * MB), "1.2 MB needed"),  # the copy (100%) and /p's temporary database (20%)
        ("repair_and_defragment", int(2.09 * MB), "2.1 MB needed"),  # the copy and /d's new copy (110%)
    ],
)
def test_repair_needs_room_for_the_copy_and_the_temporary_database(repair: str, free: int, needed: str) -> None:
    message = refused(ctx(entry(**GAP, free=free), repair=repair, allow_data_loss=True))
    assert "Too little free space on D:\\ of EX01 for repairing DB01" in message and needed in message
    r.plan(ctx(entry(**GAP, free=free + int(0.02 * MB)), repair=repair, allow_data_loss=True))


def test_the_copy_can_go_to_another_volume() -> None:
    inspect = {"aside_volume": {"name": "F:\\", "free_bytes": 10 * MB}}
    plan = r.plan(ctx(entry(**GAP, free=int(0.3 * MB)), inspect=inspect, repair="repair", allow_data_loss=True, aside_folder="F:\\Aside"))
    assert plan.copy == "F:\\Aside\\DB01.20260101T000000Z\\DB01.edb"
    inspect = {"aside_volume": {"name": "F:\\", "free_bytes": MB // 2}}
    assert "Too little free space on F:\\" in refused(ctx(entry(**GAP), inspect=inspect, repair="repair", allow_data_loss=True, aside_folder="F:\\Aside"))


def test_a_repaired_database_is_not_repaired_again() -> None:
    record = {"last": "repair", "repair": {"state": "repaired", "copy": "x", "count_before": 0, "repair_count": 1, "request": "done"}}
    plan = r.plan(ctx(entry(repair_count=1, logs=[], current=None), inspect={"record": json.dumps(record)}, repair="repair", allow_data_loss=True))
    assert kinds(plan) == ["mount"]


def test_a_repair_whose_run_was_cut_off_after_eseutil_p_goes_on_from_there() -> None:
    record = {"last": "repair", "repair": {"state": "started", "copy": "D:\\DB01\\DB01.X\\DB01.edb", "count_before": 0}}
    plan = r.plan(ctx(entry(repair_count=1), inspect={"record": json.dumps(record)}, repair="repair", allow_data_loss=True))
    assert kinds(plan) == ["move", "record", "mount", "record", "repair_request", "record"] and plan.copy == "D:\\DB01\\DB01.X\\DB01.edb"
    assert "was repaired (eseutil /p) by an earlier run that did not finish" in refused(ctx(entry(repair_count=1), inspect={"record": json.dumps(record)}))


@pytest.mark.parametrize("now", ["20260101T000000Z", "20260101T000001Z", "20260102T093000Z"], ids=["same second", "a second later", "a day later"])
def test_a_repair_cut_off_during_or_after_its_copy_copies_into_the_recorded_folder(now: str) -> None:
    """The copy's path is recorded before the copy: the rerun plans the same copy (the host takes a finished one as done)
    and writes the started record, whatever the host's clock says now; no second copy in a new folder."""
    copy = "D:\\DB01\\DB01.20260101T000000Z\\DB01.edb"
    record = {"last": "repair", "repair": {"state": "copying", "copy": copy, "time": "20260101T000000Z", "count_before": 0}}
    plan = r.plan(ctx(entry(**GAP), inspect={"record": json.dumps(record), "now": now}, repair="repair", allow_data_loss=True))
    assert kinds(plan)[:4] == ["copy", "record", "eseutil_repair", "move"]
    assert plan.steps[0].host["items"] == [{"src": "D:\\DB01\\DB01.edb", "dst": copy}] and plan.copy == copy
    assert json.loads(plan.steps[1].host["data"])["repair"] == {**record["repair"], "state": "started"}
    assert [a for a in plan.aside if a.startswith("D:")] == ["D:\\DB01\\DB01.20260101T000000Z"]


def test_a_repair_cut_off_before_eseutil_p_reuses_its_copy() -> None:
    record = {"last": "repair", "repair": {"state": "started", "copy": "D:\\DB01\\DB01.X\\DB01.edb", "count_before": 0}}
    plan = r.plan(ctx(entry(**GAP), inspect={"record": json.dumps(record)}, repair="repair", allow_data_loss=True))
    assert kinds(plan)[:2] == ["eseutil_repair", "move"]


def test_a_repair_request_cut_off_is_checked_on_2013_and_later() -> None:
    record = {"last": "repair", "repair": {"state": "repaired", "request": "requested", "repair_count": 1}}
    context = ctx(entry(mounted=True), inspect={"record": json.dumps(record)})
    with pytest.raises(r.NeedMore):
        r.plan(context)
    context.inspect["repair_requests"] = [{"identity": "guid-DB01\\1", "status": "InProgress"}]
    assert kinds(r.plan(context)) == ["record"]
    context.inspect["repair_requests"] = []
    assert kinds(r.plan(context)) == ["record", "repair_request", "record"]
    # 2010 SP1+ has no Get-MailboxRepairRequest: the request is made again
    assert kinds(r.plan(ctx(entry(mounted=True), "2010", "14.3.123.4", inspect={"record": json.dumps(record)}))) == ["record", "repair_request", "record"]


def test_2007_repairs_with_isinteg_before_mounting() -> None:
    listing = [
        "Databases for server EX01:",
        "Index  Status       Database-Name",
        "Storage Group Name: SG0",
        "  1    Offline      Other",
        "Storage Group Name: SG1",
        "  2    Offline      DB01",
        "Enter a number to select a database or press Return to exit.",
    ]
    inspect = {"isinteg": {"output": listing}}
    plan = r.plan(ctx(entry(**GAP, storage_group="SG1"), "2007", "8.3.83.6", inspect=inspect, repair="repair", allow_data_loss=True))
    assert kinds(plan) == ["record", "copy", "record", "eseutil_repair", "move", "isinteg", "record", "mount"]
    assert plan.steps[5].host == {"kind": "isinteg", "arguments": ["-s", "EX01", "-fix", "-test", "alltests"], "input": "2\r\ny\r\n"}
    assert json.loads(plan.steps[6].host["data"])["repair"]["request"] == "not_applicable"
    assert "isinteg did not list DB01" in refused(ctx(entry(**GAP, storage_group="SG1"), "2007", "8.3.83.6", repair="repair", allow_data_loss=True))


def test_a_public_folder_database_gets_no_repair_request() -> None:
    plan = r.plan(ctx(entry(**GAP, kind="public_folder"), "2010", "14.3.123.4", repair="repair", allow_data_loss=True))
    assert "repair_request" not in kinds(plan) and any("public folder database" in w for w in plan.warnings)


def test_corruption_types_are_checked_against_the_release() -> None:
    message = refused(ctx(entry(**GAP), "2010", "14.3.123.4", repair="repair", allow_data_loss=True, repair_request=["MissingSpecialFolders"]))
    assert "MissingSpecialFolders needs Exchange 2013 or later" in message


# -- restore --------------------------------------------------------------------------------------------------------------------------
def test_a_missing_database_is_restored_and_the_logs_there_are_kept() -> None:
    db = entry(edb=False, logs=[46, 47, 48, 49], current=49)  # the log volume survived: newer logs to roll forward
    plan = r.plan(ctx(db, inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01"))
    assert kinds(plan) == ["copy", "record", "eseutil_recover", "mount"] and plan.action == "restore"
    copied = [i["dst"] for i in plan.steps[0].host["items"]]
    assert copied[-1] == "D:\\DB01\\DB01.edb", "the database file must be copied last"
    assert "E:\\DB01\\E000000002E.log" not in copied and "E:\\DB01\\E000000002D.log" in copied  # 46 is there already, 45 is not
    assert plan.verdict["verdict"] == "recoverable" and plan.restored_from == "C:\\Backups\\DB01"


def test_a_backup_with_a_gap_is_refused_naming_the_log_and_the_folders() -> None:
    db = entry(edb=False, logs=[], current=None)
    message = refused(ctx(db, inspect={"backup": backup(logs=[40, 41, 43, 44, 45, 46])}, restore_from="C:\\Backups\\DB01"))
    assert message.startswith("Cannot restore DB01 from C:\\Backups\\DB01: the backup's DB01.edb is in Dirty Shutdown and needs logs 40-45;")
    assert "missing from C:\\Backups\\DB01 and E:\\DB01: E000000002A.log" in message


def test_a_backup_may_be_repaired_after_it_is_put_back() -> None:
    db = entry(edb=False, logs=[], current=None)
    plan = r.plan(ctx(db, inspect={"backup": backup(logs=[40, 41, 43])}, restore_from="C:\\Backups\\DB01", repair="repair", allow_data_loss=True))
    assert kinds(plan)[:4] == ["copy", "record", "record", "copy"] and "eseutil_repair" in kinds(plan)
    moved = [i["src"] for s in plan.steps if s.kind == "move" for i in s.host["items"]]
    assert "E:\\DB01\\E0000000028.log" in moved, "the copied backup logs no longer match after /p"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (backup(exists=False), "The backup folder C:\\Backups\\DB01 does not exist on EX01"),
        (backup(edb_names=()), "holds no database file (found: no .edb file): it must hold DB01.edb (or a single .edb file)"),
        (backup(edb_names=("a.edb", "b.edb")), "several database files and none is named DB01.edb (found: a.edb, b.edb)"),
        (backup(error="Access is denied."), "Cannot read the backup folder C:\\Backups\\DB01 on EX01: Access is denied."),
    ],
)
def test_unusable_backup_folders_are_refused(raw: dict[str, Any], expected: str) -> None:
    assert expected in refused(ctx(entry(edb=False, logs=[], current=None), inspect={"backup": raw}, restore_from="C:\\Backups\\DB01"))


def test_a_share_that_cannot_be_read_names_the_second_hop() -> None:
    raw = backup("\\\\FS01\\Backups\\DB01", error="Access is denied.")
    message = refused(ctx(entry(edb=False, logs=[], current=None), inspect={"backup": raw}, restore_from="\\\\FS01\\Backups\\DB01"))
    assert "the second hop: run the task with become" in message


def test_a_single_differently_named_backup_file_is_taken() -> None:
    plan = r.plan(
        ctx(entry(edb=False, logs=[], current=None), inspect={"backup": backup(edb_names=("Mailbox Database 0815.edb",))}, restore_from="C:\\Backups\\DB01")
    )
    assert plan.steps[0].host["items"][-1] == {"src": "C:\\Backups\\DB01\\Mailbox Database 0815.edb", "dst": "D:\\DB01\\DB01.edb"}


def test_restore_unusable_replaces_files_only_with_allow_file_restore() -> None:
    db = entry(**GAP)
    message = refused(ctx(db, inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01", restore="unusable"))
    assert "would replace files that exist on EX01 (D:\\DB01\\DB01.edb: DB01.edb, E0000000001.log" in message and "allow_file_restore=true" in message
    plan = r.plan(ctx(db, inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01", restore="unusable", allow_file_restore=True))
    assert kinds(plan) == ["allow_file_restore", "move", "copy", "record", "eseutil_recover", "mount"]
    assert plan.steps[0].command == "Set-MailboxDatabase -Identity DB01 -AllowFileRestore $true"
    assert plan.aside == ["D:\\DB01\\DB01.20260101T000000Z", "E:\\DB01\\DB01.20260101T000000Z"]
    assert len(plan.steps[2].host["items"]) == 9  # every backup log and the database: nothing is left in the log folder
    # a usable database is not replaced
    assert kinds(r.plan(ctx(entry(), inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01", restore="unusable", allow_file_restore=True))) == ["mount"]


def test_logs_that_do_not_continue_the_backup_are_moved_aside_with_allow_file_restore() -> None:
    db = entry(edb=False, logs=[60, 61, 62], current=62)
    db["files"]["eseutil"]["current_log"] = log_header("E:\\DB01\\E00.log", 62, OTHER_STREAM)
    db = judge_database(db)
    raw = backup(logs=range(40, 46))
    plan = r.plan(ctx(db, inspect={"backup": raw}, restore_from="C:\\Backups\\DB01", allow_file_restore=True))
    assert kinds(plan) == ["allow_file_restore", "move", "copy", "record", "eseutil_recover", "mount"] and plan.warnings


def test_restore_always_puts_a_backup_back_once() -> None:
    context = ctx(
        entry(),
        inspect={"backup": backup(state="Clean Shutdown", required=(0, 0), logs=[])},
        restore_from="C:\\Backups\\DB01",
        restore="always",
        allow_file_restore=True,
    )
    plan = r.plan(context)
    assert kinds(plan) == ["allow_file_restore", "move", "copy", "record", "mount"]
    context.inspect["record"] = plan.steps[3].host["data"]
    assert kinds(r.plan(context)) == ["mount"]


def test_a_mounted_database_is_not_replaced() -> None:
    message = refused(ctx(entry(mounted=True), inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01", restore="always", allow_file_restore=True))
    assert "DB01 is mounted on EX01: restore=always would replace the files of a database in use. Dismount it first" in message


def test_a_restore_checks_the_space_on_both_volumes() -> None:
    context = ctx(entry(edb=False, logs=[], current=None, free=MB), inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01")
    assert "Too little free space on D:\\ of EX01 for restoring DB01: 1.0 MB free, 2.0 MB needed (the backup's DB01.edb 2.0 MB)" in refused(context)
    context = ctx(entry(edb=False, logs=[], current=None, log_free=4096), inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01")
    assert "Too little free space on E:\\" in refused(context)


def test_the_backup_is_not_the_database_itself() -> None:
    assert "is a folder of DB01 itself" in refused(ctx(entry(edb=False, logs=[]), inspect={"backup": backup("D:\\DB01")}, restore_from="D:\\DB01"))


# -- dial tone and the swap ----------------------------------------------------------------------------------------------------------
def test_dial_tone_moves_what_remains_aside_and_mounts_an_empty_database() -> None:
    plan = r.plan(ctx(entry(**GAP), dial_tone=True))
    assert kinds(plan) == ["move", "mount", "record"] and plan.steps[1].host["force"] is True and plan.action == "dial_tone"
    assert kinds(r.plan(ctx(entry(edb=False, logs=[], current=None), dial_tone=True))) == ["mount", "record"]
    assert "needs state=mounted" in refused(ctx(entry(edb=False, logs=[], current=None), dial_tone=True, state="present"))


def test_the_swap_replaces_only_the_dial_tone_database() -> None:
    record = json.dumps({"last": "dial_tone", "dial_tone": {"time": "x"}})
    context = ctx(
        entry(mounted=True), inspect={"record": record, "backup": backup()}, restore_from="C:\\Backups\\DB01", restore="always", allow_file_restore=True
    )
    plan = r.plan(context)
    assert kinds(plan) == ["dismount", "allow_file_restore", "move", "copy", "record", "eseutil_recover", "mount"] and plan.action == "swap"
    assert any("merge" in w for w in plan.warnings)


# -- refusals of the database itself ------------------------------------------------------------------------------------------------
def test_a_replicated_database_is_not_restored() -> None:
    message = refused(ctx(entry(edb=False, logs=[], copies=("EX01", "EX02")), inspect={"backup": backup()}, restore_from="C:\\Backups\\DB01"))
    assert "DB01 has copies on EX01, EX02 (a database availability group)" in message


def test_a_recovery_database_is_left_to_its_module() -> None:
    assert "exchange_recovery_database" in refused(ctx(entry(recovery=True)))


def test_2007_shared_storage_group_leaves_the_replay_to_the_store() -> None:
    siblings = [{"name": "DB01", "mounted": False}, {"name": "PF1", "mounted": True}]
    db = entry(state="Dirty Shutdown", required=(8, 10), storage_group="SG1")
    assert kinds(r.plan(ctx(db, "2007", "8.3.83.6", inspect={"siblings": siblings}))) == ["mount"]
    assert "shares the log stream of its storage group with PF1" in refused(
        ctx(db, "2007", "8.3.83.6", inspect={"siblings": siblings}, repair="repair", allow_data_loss=True)
    )


# -- options ----------------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "dismounted", "dial_tone": True}, "state=dismounted only dismounts the database; dial_tone need state=mounted"),
        ({"repair": "repair"}, "set allow_data_loss=true"),
        ({"dial_tone": True, "restore_from": "x"}, "dial_tone and restore_from"),
        ({"dial_tone": True, "repair": "repair", "allow_data_loss": True}, "dial_tone and repair"),
        ({"repair_request": ["ImapId", "FolderView"]}, "ImapId can only be used by itself"),
    ],
)
def test_option_combinations(params: dict[str, Any], expected: str) -> None:
    base = {"state": "mounted", "repair": "none", "restore_from": None, "restore_logs_from": None, "dial_tone": False, "allow_data_loss": False}
    assert any(expected in e for e in r.validate({**base, **params}))
    assert r.validate(base) == []


def test_the_corruption_types_agree_with_the_simulator() -> None:
    from simulator.exchange import cmdlets

    assert {k: v[0] for k, v in r.CORRUPTION_TYPES.items()} == cmdlets.CORRUPTION_TYPES
    assert {k for k, v in r.CORRUPTION_TYPES.items() if v[1]} == cmdlets.CORRUPTION_TYPES_ALONE


def test_isinteg_index() -> None:
    text = "Storage Group Name: SG1\n  1    Online       MBX1\nStorage Group Name: SG2\n  2    Offline      MBX1\n"
    assert r.isinteg_index(text, {"name": "MBX1", "storage_group": "SG2"}) == 2
    assert r.isinteg_index(text, {"name": "MBX9", "storage_group": "SG2"}) is None


def test_the_logs_beside_a_lost_database_are_read_by_the_inspect() -> None:
    """exchange_database_info runs no eseutil without a database file; the inspect reads the log folder's current log."""
    db = entry(edb=False, logs=[60, 61, 62], current=62)
    live = {"current_log": log_header("E:\\DB01\\E00.log", 62, OTHER_STREAM), "ml": None}
    inspect = {"backup": backup(logs=range(40, 46)), "live": live}
    assert "without losing data" in refused(ctx(db, inspect=inspect, restore_from="C:\\Backups\\DB01"))
    plan = r.plan(ctx(db, inspect=inspect, restore_from="C:\\Backups\\DB01", allow_file_restore=True))
    assert kinds(plan) == ["allow_file_restore", "move", "copy", "record", "eseutil_recover", "mount"]
    assert any("do not continue the backup's log stream" in w for w in plan.warnings)
    ml = [
        "Base name: E00",
        "      Log file: E:\\DB01\\E000000002E.log",
        "Operation terminated with error -501 (JET_errLogFileCorrupt, Log file is corrupt) after 0.1 seconds.",
    ]
    damaged = {"current_log": None, "ml": {"rc": 4294966795, "output": ml}}
    db = entry(edb=False, logs=[46, 47, 48], current=48)
    inspect = {"backup": backup(logs=range(40, 46)), "live": damaged}
    assert "without losing data" in refused(ctx(db, inspect=inspect, restore_from="C:\\Backups\\DB01"))
    plan = r.plan(ctx(db, inspect=inspect, restore_from="C:\\Backups\\DB01", allow_data_loss=True))
    assert plan.verdict["damaged"] == ["E:\\DB01\\E000000002E.log"] and plan.verdict["verdict"] == "recoverable_with_loss"


def test_a_backup_that_is_not_needed_is_not_judged() -> None:
    """A later run must not fail because the backup it no longer needs was removed or cannot be read."""
    gone = backup(exists=False)
    assert r.plan(ctx(entry(mounted=True), inspect={"backup": gone}, restore_from="C:\\Backups\\DB01")).steps == []
    assert kinds(r.plan(ctx(entry(), inspect={"backup": gone}, restore_from="C:\\Backups\\DB01"))) == ["mount"]
    assert "does not exist" in refused(
        ctx(entry(mounted=True), inspect={"backup": gone}, restore_from="C:\\Backups\\DB01", restore="always", allow_file_restore=True)
    )
