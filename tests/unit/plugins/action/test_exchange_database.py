"""The exchange_database action plugin end to end, in process: `_execute_module` runs the simulator's twins of
exchange_database_info and exchange_database on a simulated Exchange host (real ESE files, eseutil, the store, the cmdlet
twins), so every plan is judged against what the host then holds, read independently (hashes, headers, the registry).

Interruptions are made exactly: the apply call runs only the first k planned steps on the host and the connection is
lost (AnsibleConnectionFailure), as when the connection drops during a step or the host restarts; the rerun must finish."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_database import ActionModule
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._database_restore import RECORD_KEY
from simulator.clock import VirtualWall
from simulator.estate import Estate, load_config
from simulator.exchange import ese, store
from simulator.host import Host
from simulator.testing import make_host
from simulator.twins import run_module

PASSWORD = "Adm1n-Secret!"
LOGIN = {"exchange_username": "CONTOSO\\Administrator", "exchange_password": PASSWORD}
DRIVES = {"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 1, "free_gb": 0.05}, "E": {"size_gb": 1, "free_gb": 0.5}}


def _db(n: str, **extra: Any) -> dict[str, Any]:
    return {"server": "EX01", "edb_file_path": f"D:\\{n}\\{n}.edb", "log_folder_path": f"E:\\{n}", **extra}


DOMAIN: dict[str, Any] = {
    "name": "contoso.local",
    "users": {"Administrator": {"password": PASSWORD, "admin": True}},
    "exchange": {
        "organization": "Contoso",
        "servers": {
            "EX01": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX02": {"version": "15.2.1544.4", "roles": ["Mailbox"]},
            "EX2007": {"version": "8.3.83.6", "roles": ["Mailbox"], "install_path": "C:\\Program Files\\Microsoft\\Exchange Server"},
        },
        "storage_groups": {
            "SG1": {"server": "EX2007", "log_folder_path": "E:\\SG1", "system_folder_path": "E:\\SG1"},
            "SG2": {"server": "EX2007", "log_folder_path": "E:\\SG2", "system_folder_path": "E:\\SG2", "log_prefix": "E01"},
        },
        "databases": {
            "DB01": _db("DB01"),
            "DB02": _db("DB02"),
            "DB03": _db("DB03"),
            "DB04": _db("DB04"),
            "DB05": _db("DB05"),
            "DB06": _db("DB06"),
            "DB07": _db("DB07"),
            "DB08": _db("DB08", copies=["EX01", "EX02"]),
            "DB09": {"server": "EX02", "edb_file_path": "D:\\DB09\\DB09.edb", "log_folder_path": "E:\\DB09"},
            "DB10": _db("DB10"),
            "DB11": _db("DB11"),
            "DB12": _db("DB12"),
            "RDB01": _db("RDB01", recovery=True),
            "MBX1": {"server": "EX2007", "edb_file_path": "D:\\SG1\\MBX1.edb", "storage_group": "SG1"},
            "MBX2": {"server": "EX2007", "edb_file_path": "D:\\SG2\\MBX2.edb", "storage_group": "SG2"},
            "PF2": {"server": "EX2007", "kind": "public_folder", "edb_file_path": "D:\\SG2\\PF2.edb", "storage_group": "SG2"},
        },
    },
}
SEED: dict[str, Any] = {
    "exchange": True,
    "exchange_databases": {
        "DB01": {"mounted": True, "logs": {"first": 1, "last": 20}, "mailboxes": [{"display_name": "Alice", "items": 100, "size_mb": 1}]},
        "DB02": {"files": False},
        "DB03": {"state": "dirty", "log_required": [10, 12], "logs": {"first": 5, "last": 12}},
        "DB04": {
            "state": "dirty",
            "log_required": [20, 22],
            "logs": {"first": 15, "last": 22, "missing": [21]},
            "mailboxes": [{"display_name": "Bob", "items": 500}],
        },
        "DB05": {"state": "dirty", "log_required": [30, 31], "logs": {"first": 28, "last": 35, "missing": [33]}},
        "DB06": {"files": False},
        "DB07": {"logs": {"first": 1, "last": 4}},
        "DB08": {"state": "dirty", "log_required": [3, 4], "logs": {"first": 1, "last": 4}},
        "DB10": {"files": False},
        "DB11": {"logs": {"first": 1, "last": 6}},
        "DB12": {"files": False},
        "RDB01": {"logs": {"first": 1, "last": 3}},
    },
    "ese_files": {
        "C:\\Backups\\DB02\\DB02.edb": {"database": "DB02", "state": "dirty", "log_required": [140, 145], "size_mb": 2},
        "C:\\Backups\\DB02": {"logs": {"database": "DB02", "first": 140, "last": 147, "current": False}},
        "C:\\Backups\\DB06\\DB06.edb": {"database": "DB06", "state": "dirty", "log_required": [50, 55], "size_mb": 2},
        "C:\\Backups\\DB06": {"logs": {"database": "DB06", "first": 50, "last": 57, "missing": [52], "current": False}},
        "C:\\Backups\\DB10\\DB10.edb": {"database": "DB10", "state": "clean", "size_mb": 2, "mailboxes": [{"display_name": "Carol", "items": 70}]},
        "C:\\Backups\\DB11\\DB11.edb": {"database": "DB11", "state": "clean", "size_mb": 1},
        "C:\\Backups\\DB04\\DB04.edb": {"database": "DB04", "state": "dirty", "log_required": [18, 19], "size_mb": 1},
        "C:\\Backups\\DB04": {"logs": {"database": "DB04", "first": 18, "last": 19, "current": False}},
        "C:\\Backups\\DB12\\DB12.edb": {"database": "DB12", "state": "clean", "size_mb": 60},
        "C:\\Backups\\Empty\\readme.txt": {"database": "DB02", "state": "clean"},
    },
}
SEED_2007: dict[str, Any] = {
    "exchange": True,
    "exchange_databases": {
        "MBX1": {"state": "dirty", "log_required": [7, 8], "logs": {"first": 1, "last": 8, "missing": [7]}},
        "MBX2": {"logs": {"first": 1, "last": 4}},
        "PF2": {"mounted": True},
    },
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EX01 built once (baseline, Exchange, the seeded files); each test works on a copy of its state folder."""
    root = tmp_path_factory.mktemp("ex01")
    host = make_host(root, "EX01", seed=copy.deepcopy(SEED), domain=copy.deepcopy(DOMAIN), drives=DRIVES)
    host.remove("C:\\Backups\\Empty\\readme.txt")  # an ESE seed needs a database; the folder holds a plain file instead
    host.write_text("C:\\Backups\\Empty\\readme.txt", "the backup job failed")
    host.save()
    return root


def clone(template: Path, root: Path) -> Host:
    """A copy of the template whose clock moves only when something waits in simulated time (a VirtualWall, as
    make_host gives): what a test sees never depends on how busy the machine is, e.g. whether a rerun falls in the same
    second as the run it follows. A test moves it on with host.clock.sleep()."""
    shutil.copytree(template, root)
    return Estate(load_config(root / "estate.yml"), root, autosave=False, wall=VirtualWall()).host("EX01")


@pytest.fixture
def ex01(template: Path, tmp_path: Path) -> Host:
    return clone(template, tmp_path / "ex01")


@pytest.fixture
def ex2007(tmp_path: Path) -> Host:
    return make_host(tmp_path / "ex2007", "EX2007", os_version="6.3.9600", seed=copy.deepcopy(SEED_2007), domain=copy.deepcopy(DOMAIN), drives=DRIVES)


class Runner:
    """Runs the action plugin against one simulated host and counts module executions."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.calls: list[dict[str, Any]] = []
        self.interrupt_after: int | None = None  # run only this many planned steps, then lose the connection
        self.lose_result = False  # run every step, then lose the connection before the result arrives

    def __call__(self, args: dict[str, Any], *, check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
        runner = self

        def execute(action: ActionModule, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
            module_args = copy.deepcopy(module_args)
            runner.calls.append({"module": module_name, "args": module_args})
            interrupted = module_args.get("_operation") == "apply" and (runner.interrupt_after is not None or runner.lose_result)
            if interrupted and runner.interrupt_after is not None:
                module_args["_steps"] = module_args["_steps"][: runner.interrupt_after]
            complex_args = {"_ansible_check_mode": check_mode, "_ansible_diff": diff, "_ansible_no_log": False, "_ansible_verbosity": 0, **module_args}
            _rc, out = run_module(module_name, complex_args, runner.host, "CONTOSO\\Administrator")
            if interrupted:
                raise AnsibleConnectionFailure("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")
            return json.loads(out)

        task = MagicMock()
        task.args = {**LOGIN, **args}
        task.check_mode, task.diff, task.async_val = check_mode, diff, 0
        action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), None)
        original = ActionModule._execute_module
        ActionModule._execute_module = execute  # type: ignore[method-assign]
        try:
            return action.run(task_vars={"inventory_hostname": self.host.name})
        finally:
            ActionModule._execute_module = original  # type: ignore[method-assign]

    def modules(self) -> list[str]:
        return [c["module"].rsplit(".", 1)[-1] + (f":{c['args']['_operation']}" if "_operation" in c["args"] else "") for c in self.calls]


def files(host: Host, *roots: str) -> dict[str, str]:
    """Every file under the roots with its SHA-256: the host's disks, read without the modules."""
    out = {}
    for root in roots:
        if host.exists(root):
            for info in host.walk(root):
                if not info.is_dir:
                    out[info.path.casefold()] = host.checksum(info.path, "sha256")
    return out


def snapshot(host: Host) -> tuple[dict[str, str], Any, list[str]]:
    record = host.reg_get_key(RECORD_KEY)
    return files(host, "C:\\Backups", "D:\\", "E:\\"), dict(record.values) if record else None, sorted(host.state.exchange.get("mounted") or [])


def header(host: Host, path: str) -> dict[str, Any]:
    return ese.read_database(host, path)


def mounted(host: Host, name: str) -> bool:
    return store.is_mounted(host, host.estate.domain.exchange.database(name))


def record(host: Host, name: str) -> dict[str, Any] | None:
    db = host.estate.domain.exchange.database(name)
    value = host.reg_get_value(RECORD_KEY, db.guid)
    return json.loads(value.data) if value is not None else None


# -- restore, recovery, mount: check -> real -> again ---------------------------------------------------------------------------
def test_restore_a_lost_database_check_real_again(ex01: Host) -> None:
    run = Runner(ex01)
    before = snapshot(ex01)
    planned = run({"name": "DB02", "restore_from": "C:\\Backups\\DB02"}, check_mode=True, diff=True)
    assert not planned.get("failed"), planned["msg"]
    assert planned["changed"] and planned["action"] == "restore"
    assert [s["step"] for s in planned["plan"]] == ["copy", "record", "eseutil_recover", "mount"]
    assert planned["plan"][2]["command"] == "eseutil /r E00 /lE:\\DB02 /sE:\\DB02 /dD:\\DB02"
    assert planned["recovery_verdict"]["verdict"] == "recoverable" and planned["recovery_verdict"]["required"] == [140, 145]
    assert planned["after"]["mounted"] and not planned["before"]["edb_exists"]
    assert planned["diff"]["before"]["mounted"] is False and planned["diff"]["after"]["mounted"] is True
    assert planned["diff"]["before"]["edb_exists"] is False and planned["diff"]["after"]["restored_from"] == "C:\\Backups\\DB02"
    assert snapshot(ex01) == before, "check mode changed the host"
    assert run.modules() == ["exchange_database_info", "exchange_database:inspect"]

    run.calls.clear()
    done = run({"name": "DB02", "restore_from": "C:\\Backups\\DB02"}, diff=True)
    assert not done.get("failed"), done["msg"]
    assert done["changed"] and done["mounted"] and done["restored_from"] == "C:\\Backups\\DB02"
    assert [s["ok"] for s in done["steps"]] == [True] * 4 and done["steps"][2]["outcome"]["succeeded"]
    assert done["msg"] == "DB02 was restored from C:\\Backups\\DB02."
    assert done["diff"]["after"]["mounted"] is True and done["diff"]["after"]["edb_size"] == ex01.stat("D:\\DB02\\DB02.edb").size
    assert run.modules() == ["exchange_database_info", "exchange_database:inspect", "exchange_database:apply"]
    assert mounted(ex01, "DB02")
    assert header(ex01, "D:\\DB02\\DB02.edb")["log_committed"] >= 147  # every backup log was replayed, then the store rolled the log
    assert ex01.checksum("C:\\Backups\\DB02\\DB02.edb", "sha256") == before[0]["c:\\backups\\db02\\db02.edb"], "the backup changed"
    assert not [p for p in files(ex01, "D:\\", "E:\\") if p.endswith(".exdr-partial")]
    assert record(ex01, "DB02")["restore"]["source"] == "C:\\Backups\\DB02"

    run.calls.clear()
    ex01.move("C:\\Backups\\DB02", "C:\\Backups\\DB02.old")  # a backup no longer needed is not read: its removal changes nothing
    again = run({"name": "DB02", "restore_from": "C:\\Backups\\DB02"})
    assert not again.get("failed") and not again["changed"] and again["plan"] == [] and again["action"] == "nothing"
    assert run.modules() == ["exchange_database_info", "exchange_database:inspect"]
    assert run.calls[1]["args"]["_database"]["read_backup"] is False


def test_a_restore_rolls_forward_with_the_logs_that_survived(ex01: Host) -> None:
    """The database's disk was lost, its log volume was not: the backup is replayed and then the newer logs."""
    db = ex01.estate.domain.exchange.database("DB02")
    ex01.mkdir("E:\\DB02")
    for generation in (148, 149, 150):
        ese.write_log(ex01, "E:\\DB02", "E00", generation, store.stream_id(db), current=generation == 150, attached=[db.edb_file_path])
    kept = files(ex01, "E:\\DB02")
    done = Runner(ex01)(RESTORE)
    assert not done.get("failed"), done["msg"]
    assert len(done["plan"][0]["description"]) and mounted(ex01, "DB02")
    assert header(ex01, "D:\\DB02\\DB02.edb")["log_committed"] >= 150, "the logs that survived were not replayed"
    assert all(ex01.exists(p) or ex01.exists(p.replace("e00.log", "e0000000096.log")) for p in kept)


def test_soft_recovery_then_mount(ex01: Host) -> None:
    run = Runner(ex01)
    done = run({"name": "DB03"})
    assert not done.get("failed"), done["msg"]
    assert done["action"] == "recover" and [s["step"] for s in done["steps"]] == ["eseutil_recover", "mount"]
    assert mounted(ex01, "DB03")
    assert run({"name": "DB03"})["changed"] is False


def test_soft_recovery_left_to_the_store(ex01: Host) -> None:
    done = Runner(ex01)({"name": "DB03", "soft_recovery": False})
    assert [s["step"] for s in done["steps"]] == ["mount"] and mounted(ex01, "DB03")


def test_present_recovers_without_mounting(ex01: Host) -> None:
    run = Runner(ex01)
    done = run({"name": "DB03", "state": "present"})
    assert [s["step"] for s in done["steps"]] == ["eseutil_recover"] and not mounted(ex01, "DB03")
    assert header(ex01, "D:\\DB03\\DB03.edb")["state"] == ese.CLEAN
    assert run({"name": "DB03", "state": "present"})["changed"] is False


def test_dismount_and_mount(ex01: Host) -> None:
    run = Runner(ex01)
    assert run({"name": "DB01", "state": "dismounted"})["action"] == "dismount" and not mounted(ex01, "DB01")
    assert run({"name": "DB01", "state": "dismounted"})["changed"] is False
    back = run({"name": "DB01"})
    assert back["action"] == "mount" and back["mounted"] and mounted(ex01, "DB01")


# -- bad input: a clear error, nothing changed ------------------------------------------------------------------------------------
BAD_INPUT = {
    "logs with a gap in the backup": (
        {"name": "DB06", "restore_from": "C:\\Backups\\DB06"},
        [
            "Cannot restore DB06 from C:\\Backups\\DB06",
            "needs logs 50-55",
            "missing from C:\\Backups\\DB06 and E:\\DB06: E0000000034.log",
            "Nothing was changed.",
        ],
    ),
    "a required log missing in the log folder": (
        {"name": "DB04"},
        ["DB04 is in Dirty Shutdown and needs logs 20-22", "E:\\DB04: E0000000015.log", "repair=repair"],
    ),
    "a hole after the required logs": ({"name": "DB05"}, ["hole after them (generations 33)", "allow_data_loss=true", "Nothing was changed."]),
    "a backup folder without the database file": (
        {"name": "DB02", "restore_from": "C:\\Backups\\Empty"},
        ["The backup folder C:\\Backups\\Empty holds no database file (found: no .edb file)", "DB02.edb"],
    ),
    "a backup folder that does not exist": (
        {"name": "DB02", "restore_from": "C:\\Backups\\Nowhere"},
        ["The backup folder C:\\Backups\\Nowhere does not exist on EX01"],
    ),
    "an unknown database": ({"name": "DB77"}, ["no database DB77 on EX01", "Nothing was changed."]),
    "a database of another server": ({"name": "DB09"}, ["DB09 is a database of EX02, not of EX01"]),
    "too little free space": (
        {"name": "DB12", "restore_from": "C:\\Backups\\DB12"},
        ["Too little free space on D:\\ of EX01 for restoring DB12", "the backup's DB12.edb 60.0 MB"],
    ),
    "a mounted database whose files would be replaced": (
        {"name": "DB01", "restore_from": "C:\\Backups\\DB11", "restore": "always", "allow_file_restore": True},
        ["DB01 is mounted on EX01", "Dismount it first"],
    ),
    "files that exist without allow_file_restore": (
        {"name": "DB04", "restore_from": "C:\\Backups\\DB04", "restore": "unusable"},
        ["would replace files that exist on EX01 (D:\\DB04\\DB04.edb: DB04.edb", "allow_file_restore=true"],
    ),
    "a replicated database": ({"name": "DB08", "restore_from": "C:\\Backups\\DB11", "restore": "always", "allow_file_restore": True}, ["copies on EX01, EX02"]),
    "a recovery database": ({"name": "RDB01"}, ["RDB01 is a recovery database", "exchange_recovery_database"]),
    "no files and no backup": ({"name": "DB10"}, ["D:\\DB10\\DB10.edb, does not exist on EX01", "restore_from", "dial_tone=true"]),
    "the database's own folder as the backup": ({"name": "DB02", "restore_from": "D:\\DB02"}, ["is a folder of DB02 itself"]),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_refused_and_changes_nothing(ex01: Host, case: str) -> None:
    args, expected = BAD_INPUT[case]
    run = Runner(ex01)
    before = snapshot(ex01)
    result = run(args)
    assert result.get("failed"), result
    for text in expected:
        assert text in result["msg"], f"{text!r} not in {result['msg']!r}"
    assert "exchange_database:apply" not in run.modules()
    assert snapshot(ex01) == before
    if case == "logs with a gap in the backup":
        assert result["recovery_verdict"]["verdict"] == "logs_missing" and result["recovery_verdict"]["missing_files"] == ["E0000000034.log"]
    assert PASSWORD not in json.dumps(result)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"name": "DB04", "repair": "repair"}, "repair=repair runs eseutil /p, which loses data: set allow_data_loss=true"),
        ({"name": "DB10", "dial_tone": True, "restore_from": "C:\\Backups\\DB10"}, "dial_tone and restore_from are two ways"),
        ({"name": "DB01", "state": "dismounted", "restore_from": "C:\\x"}, "state=dismounted only dismounts the database; restore_from"),
        ({"name": "DB01", "restore_logs_from": "C:\\x"}, "restore_logs_from needs restore_from"),
        ({"name": "DB01", "_steps": []}, "_steps are set by the action plugin"),
        ({"name": "DB01", "repair_request": ["Bogus"]}, "'Bogus' is not a corruption type"),
        ({"name": "DB01", "repair_request": ["FolderACL", "SearchFolder"]}, "FolderACL can only be used by itself"),
        ({"name": "DB01", "state": "up"}, "state"),
        ({"name": "DB01", "restore": "sometimes"}, "restore"),
    ],
)
def test_invalid_options_are_refused_before_the_host_is_touched(ex01: Host, args: dict[str, Any], expected: str) -> None:
    run = Runner(ex01)
    result = run(args)
    assert result.get("failed") and expected in result["msg"], result["msg"]
    assert run.calls == []


def test_a_share_without_become_names_the_second_hop(tmp_path: Path) -> None:
    fs01 = {
        "accounts": {"Administrator": {"password": "x", "admin": True}},
        "drives": {"C": {"size_gb": 50, "free_gb": 40}, "D": {"size_gb": 50, "free_gb": 40}},
    }
    host = make_host(
        tmp_path,
        "EX01",
        seed=copy.deepcopy(SEED),
        domain=copy.deepcopy(DOMAIN),
        drives=DRIVES,
        other_hosts={"FS01": fs01},
        shares={"Backups": {"host": "FS01", "path": "D:\\Backups"}},
    )
    fs = host.estate.host("FS01")
    fs.mkdir("D:\\Backups\\DB02")
    for name in host.listdir("C:\\Backups\\DB02"):
        fs.write_bytes(f"D:\\Backups\\DB02\\{name}", host.read_bytes(f"C:\\Backups\\DB02\\{name}"))
    run = Runner(host)
    with host.logon_session("CONTOSO\\Administrator", delegation=False):
        refused = run({"name": "DB02", "restore_from": "\\\\FS01\\Backups\\DB02"})
    assert refused.get("failed") and "Access is denied" in refused["msg"] and "the second hop" in refused["msg"] and "become" in refused["msg"]
    with host.logon_session("CONTOSO\\Administrator", delegation=True):
        done = run({"name": "DB02", "restore_from": "\\\\FS01\\Backups\\DB02"})
    assert not done.get("failed"), done["msg"]
    assert mounted(host, "DB02")


# -- data loss only with the opt-in --------------------------------------------------------------------------------------------
def test_hole_after_the_required_logs_with_allow_data_loss(ex01: Host) -> None:
    done = Runner(ex01)({"name": "DB05", "allow_data_loss": True})
    assert not done.get("failed"), done["msg"]
    assert done["steps"][0]["command"].endswith("/a") and mounted(ex01, "DB05")
    assert any("after the hole are lost" in w for w in done["warnings"])


def test_repair_keeps_a_copy_moves_the_logs_aside_and_requests_a_repair(ex01: Host) -> None:
    run = Runner(ex01)
    original = ex01.checksum("D:\\DB04\\DB04.edb", "sha256")
    logs = {n: ex01.checksum(f"E:\\DB04\\{n}", "sha256") for n in ex01.listdir("E:\\DB04")}
    planned = run({"name": "DB04", "repair": "repair_and_defragment", "allow_data_loss": True}, check_mode=True)
    kinds = [s["step"] for s in planned["plan"]]
    assert kinds == ["record", "copy", "record", "eseutil_repair", "eseutil_defragment", "move", "record", "mount", "record", "repair_request", "record"]
    assert planned["plan"][3]["command"] == "eseutil /p D:\\DB04\\DB04.edb /tD:\\DB04\\TEMPREPAIR.EDB /o"
    assert ex01.checksum("D:\\DB04\\DB04.edb", "sha256") == original

    done = run({"name": "DB04", "repair": "repair_and_defragment", "allow_data_loss": True})
    assert not done.get("failed"), done["msg"]
    assert done["action"] == "repair" and mounted(ex01, "DB04")
    assert ex01.checksum(done["database_copy"], "sha256") == original, "the copy is not the database as it was"
    aside = next(a for a in done["aside"] if a.startswith("E:\\"))
    assert {n: ex01.checksum(f"{aside}\\{n}", "sha256") for n in ex01.listdir(aside)} == logs, "a log was lost"
    assert header(ex01, "D:\\DB04\\DB04.edb")["repair_count"] == 1
    assert done["repair_request"]["request_guid"]
    assert [r["database"] for r in ex01.state.exchange["repair_requests"]] == ["DB04"]
    assert record(ex01, "DB04")["repair"]["request"] == "done"

    again = run({"name": "DB04", "repair": "repair_and_defragment", "allow_data_loss": True})
    assert not again["changed"] and len(ex01.state.exchange["repair_requests"]) == 1


def test_a_restore_over_unusable_files_keeps_them_aside(ex01: Host) -> None:
    run = Runner(ex01)
    kept = files(ex01, "D:\\DB04", "E:\\DB04")
    done = run({"name": "DB04", "restore_from": "C:\\Backups\\DB04", "restore": "unusable", "allow_file_restore": True})
    assert not done.get("failed"), done["msg"]
    assert [s["step"] for s in done["steps"]] == ["allow_file_restore", "move", "copy", "record", "eseutil_recover", "mount"]
    assert mounted(ex01, "DB04") and ex01.estate.domain.exchange.database("DB04").allow_file_restore is True
    moved = {p.rsplit("\\", 1)[-1]: h for p, h in files(ex01, *done["aside"]).items()}
    assert moved == {p.rsplit("\\", 1)[-1]: h for p, h in kept.items()}, "a replaced file was not kept"
    assert run({"name": "DB04", "restore_from": "C:\\Backups\\DB04", "restore": "unusable", "allow_file_restore": True})["changed"] is False


def test_dial_tone_then_the_swap(ex01: Host) -> None:
    run = Runner(ex01)
    tone = run({"name": "DB10", "dial_tone": True})
    assert not tone.get("failed"), tone["msg"]
    assert tone["action"] == "dial_tone" and mounted(ex01, "DB10")
    assert header(ex01, "D:\\DB10\\DB10.edb")["mailboxes"] == []
    assert run({"name": "DB10", "dial_tone": True})["changed"] is False

    swap_args = {"name": "DB10", "restore_from": "C:\\Backups\\DB10", "restore": "always", "allow_file_restore": True}
    planned = run(swap_args, check_mode=True)
    assert planned["action"] == "swap" and planned["plan"][0]["step"] == "dismount" and mounted(ex01, "DB10")
    swap = run(swap_args)
    assert not swap.get("failed"), swap["msg"]
    assert mounted(ex01, "DB10") and [m["display_name"] for m in header(ex01, "D:\\DB10\\DB10.edb")["mailboxes"]] == ["Carol"]
    dial_tone_copy = next(a for a in swap["aside"] if a.startswith("D:\\"))
    assert ese.read_database(ex01, f"{dial_tone_copy}\\DB10.edb")["mailboxes"] == [], "the dial-tone database was not kept"
    assert any("merge" in w for w in swap["warnings"])
    assert run(swap_args)["changed"] is False


def test_restore_always_puts_the_same_backup_back_once(ex01: Host) -> None:
    run = Runner(ex01)
    args = {"name": "DB11", "restore_from": "C:\\Backups\\DB11", "restore": "always", "allow_file_restore": True}
    first = run(args)
    assert first["action"] == "restore" and mounted(ex01, "DB11")
    assert run(args)["changed"] is False


# -- interrupted at any step, completed by the next run -------------------------------------------------------------------------
RESTORE = {"name": "DB02", "restore_from": "C:\\Backups\\DB02"}
REPAIR = {"name": "DB04", "repair": "repair", "allow_data_loss": True}
UNUSABLE = {"name": "DB04", "restore_from": "C:\\Backups\\DB04", "restore": "unusable", "allow_file_restore": True}


@pytest.mark.parametrize("pause", [0, 61], ids=["same second", "a minute later"])
@pytest.mark.parametrize(("args", "steps"), [(RESTORE, 4), (REPAIR, 10), (UNUSABLE, 6)], ids=["restore", "repair", "replace"])
def test_an_interrupted_run_completes_when_run_again(template: Path, tmp_path: Path, args: dict[str, Any], steps: int, pause: int) -> None:
    """The rerun comes in the same second as the cut run (the host's clock stands still) or a minute later: both resume."""
    for k in range(steps + 1):
        host = clone(template, tmp_path / f"after{k}")
        run = Runner(host)
        run.interrupt_after = k
        with pytest.raises(AnsibleConnectionFailure):
            run(args)
        host.clock.sleep(pause)
        run.interrupt_after = None
        done = run(args)
        assert not done.get("failed"), f"after {k} step(s): {done['msg']}"
        assert mounted(host, args["name"]), f"after {k} step(s)"
        assert run(args)["changed"] is False, f"after {k} step(s): the third run changed something"
        if args is REPAIR:
            assert header(host, "D:\\DB04\\DB04.edb")["repair_count"] == 1, f"after {k} step(s): repaired twice"
            assert len(host.state.exchange.get("repair_requests") or []) == 1
            copies = [p for p in files(host, "D:\\") if p.endswith("\\db04.edb") and p != "d:\\db04\\db04.edb"]
            assert copies == [record(host, "DB04")["repair"]["copy"].casefold()], f"after {k} step(s): the copies kept are {copies}"
        assert not [p for p in files(host, "D:\\", "E:\\") if p.endswith(".exdr-partial")]


def test_a_resumed_copy_never_replaces_another_file(ex01: Host) -> None:
    """Cut right after the copy kept before a repair; the copy is then changed: the rerun refuses and replaces nothing."""
    run = Runner(ex01)
    run.interrupt_after = 2  # the record naming the copy, the copy
    with pytest.raises(AnsibleConnectionFailure):
        run(REPAIR)
    run.interrupt_after = None
    copy = record(ex01, "DB04")["repair"]["copy"]
    ex01.write_bytes(copy, b"another file")
    before = files(ex01, "D:\\", "E:\\"), record(ex01, "DB04")
    refused = run(REPAIR)
    assert refused.get("failed") and f"{copy} exists and is not the copy of D:\\DB04\\DB04.edb" in refused["msg"], refused["msg"]
    assert (files(ex01, "D:\\", "E:\\"), record(ex01, "DB04")) == before and ex01.read_bytes(copy) == b"another file"


def test_a_connection_lost_after_eseutil_r_completed(ex01: Host) -> None:
    """The drop_connection fault with at=receive: every step ran, the controller never heard."""
    run = Runner(ex01)
    run.lose_result = True
    with pytest.raises(AnsibleConnectionFailure):
        run(RESTORE)
    run.lose_result = False
    assert mounted(ex01, "DB02")
    again = run(RESTORE)
    assert not again.get("failed") and not again["changed"]


def test_a_copy_cut_off_midway_is_redone(ex01: Host) -> None:
    run = Runner(ex01)
    ex01.mkdir("D:\\DB02")
    ex01.write_bytes("D:\\DB02\\DB02.edb.exdr-partial", ex01.read_bytes("C:\\Backups\\DB02\\DB02.edb")[:4096])
    done = run(RESTORE)
    assert not done.get("failed"), done["msg"]
    assert ex01.stat("D:\\DB02\\DB02.edb").size == ex01.stat("C:\\Backups\\DB02\\DB02.edb").size
    assert not ex01.exists("D:\\DB02\\DB02.edb.exdr-partial")


# -- Exchange 2007: storage groups, isinteg ---------------------------------------------------------------------------------------
def test_2007_repair_runs_isinteg_before_mounting(ex2007: Host) -> None:
    run = Runner(ex2007)
    done = run({"name": "MBX1", "repair": "repair", "allow_data_loss": True})
    assert not done.get("failed"), done["msg"]
    kinds = [s["step"] for s in done["steps"]]
    assert kinds == ["record", "copy", "record", "eseutil_repair", "move", "isinteg", "record", "mount"]
    assert done["steps"][5]["outcome"]["succeeded"] and "You have selected SG1 / MBX1." in "\n".join(done["steps"][5]["output"])
    assert header(ex2007, "D:\\SG1\\MBX1.edb").get("isinteg_fixed") is True
    assert mounted(ex2007, "MBX1") and record(ex2007, "MBX1")["repair"]["request"] == "not_applicable"
    assert run({"name": "MBX1", "repair": "repair", "allow_data_loss": True})["changed"] is False


def test_2007_a_shared_storage_group_is_left_to_the_store(ex2007: Host) -> None:
    """SG2 holds MBX2 and PF2 (mounted): their log stream is the group's, so nothing of it is moved or replayed here."""
    logs = files(ex2007, "E:\\SG2")
    done = Runner(ex2007)({"name": "MBX2"})
    assert not done.get("failed"), done["msg"]
    assert [s["step"] for s in done["steps"]] == ["mount"] and mounted(ex2007, "MBX2")
    assert mounted(ex2007, "PF2"), "the other database of the storage group was touched"
    assert set(logs) <= set(files(ex2007, "E:\\SG2"))


def test_the_password_stays_out_of_every_result(ex01: Host) -> None:
    run = Runner(ex01)
    outputs = [run({"name": "DB02", "restore_from": "C:\\Backups\\DB02"}, diff=True), run({"name": "DB06", "restore_from": "C:\\Backups\\DB06"})]
    assert all(PASSWORD not in json.dumps(o) for o in outputs)
