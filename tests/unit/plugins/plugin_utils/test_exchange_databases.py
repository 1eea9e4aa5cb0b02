"""The per-release table of the database modules (shell, capabilities) and the judgement of exchange_database_info entries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_databases as xdb

PSM1 = Path(__file__).resolve().parents[4] / "plugins" / "module_utils" / "_ExchangeShell.psm1"


# -- the shell ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("product", "requested", "expected"),
    [
        ("2007", "auto", ("snapin", xdb.SNAPIN_2007)),
        ("2007", "snapin", ("snapin", xdb.SNAPIN_2007)),
        ("2010", "auto", ("remote", xdb.SNAPIN_2010)),
        ("2010", "snapin", ("snapin", xdb.SNAPIN_2010)),
        ("2013", "auto", ("remote", xdb.SNAPIN_2013)),
        ("2019", "remote", ("remote", xdb.SNAPIN_2013)),
        ("SE", "snapin", ("snapin", xdb.SNAPIN_2013)),
    ],
)
def test_shell_per_release(product: str, requested: str, expected: tuple[str, str]) -> None:
    assert xdb.shell_for(product, requested) == expected


def test_2007_has_no_remote_shell_and_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="Exchange 2007 cannot be reached with exchange_shell=remote"):
        xdb.shell_for("2007", "remote")
    with pytest.raises(ValueError, match="exchange_shell must be one of"):
        xdb.shell_for("2019", "ssh")
    with pytest.raises(ValueError, match="unknown Exchange product '2003'"):
        xdb.shell_for("2003")


def test_the_psm1_loads_the_same_snapins_as_the_table() -> None:
    """One source of truth: the PowerShell side needs the names at run time; they must be the table's."""
    text = PSM1.read_text(encoding="utf-8")
    block = re.search(r"\$script:ExchangeSnapins = @\{(.*?)\n\}", text, re.S)
    assert block is not None
    names = dict(re.findall(r"'(\d+)' = '([^']+)'", block.group(1)))
    assert names == {"8": xdb.SHELLS["2007"].snapin, "14": xdb.SHELLS["2010"].snapin, "15": xdb.SHELLS["2013"].snapin}
    assert {xdb.SHELLS[p].snapin for p in ("2016", "2019", "SE")} == {xdb.SNAPIN_2013}


# -- capabilities --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "present", "absent"),
    [
        (
            "8.3.83.6",
            {"storage_groups", "recovery_storage_group", "restore_mailbox", "isinteg", "public_folder_databases"},
            {"recovery_database", "mailbox_restore_request", "remote_shell"},
        ),
        (
            "14.0.639.21",
            {"recovery_database", "restore_mailbox", "isinteg", "remote_shell", "public_folder_databases"},
            {"mailbox_restore_request", "mailbox_repair_request"},
        ),
        ("14.1.218.15", {"recovery_database", "mailbox_restore_request", "mailbox_repair_request", "restore_mailbox"}, {"isinteg", "storage_groups"}),
        (
            "14.3.123.4",
            {"mailbox_restore_request", "clean_mailbox_database", "public_folder_databases"},
            {"update_store_mailbox_state", "skip_log_folder_creation"},
        ),
        (
            "15.0.1497.2",
            {"recovery_database", "update_store_mailbox_state", "skip_log_folder_creation"},
            {"restore_mailbox", "public_folder_databases", "mount_new_capacity"},
        ),
        ("15.1.2507.6", {"mount_new_capacity", "connect_mailbox_legacy_dn_mismatch"}, {"clean_mailbox_database", "recovery_storage_group"}),
        ("15.2.1544.4", {"recovery_database", "mailbox_restore_request", "database_availability_group"}, {"isinteg", "restore_mailbox"}),
        ("15.2.2562.17", {"recovery_database", "mailbox_restore_request", "mount_new_capacity"}, {"storage_groups"}),
    ],
)
def test_capabilities_per_release(build: str, present: set[str], absent: set[str]) -> None:
    table = xdb.capabilities(build)
    assert set(table) == set(xdb.CAPABILITIES)
    assert {name for name in present if table[name]} == present
    assert {name for name in absent if not table[name]} == absent


def test_every_capability_names_cmdlets_and_a_source() -> None:
    for cap in xdb.CAPABILITIES.values():
        assert cap.cmdlets and cap.source, cap.name


# -- judging a module entry ------------------------------------------------------------------------------------------------------
MH_DIRTY = (
    "Initiating FILE DUMP mode...",
    "         Database: D:\\DB02\\DB02.edb",
    "            State: Dirty Shutdown",
    "     Log Required: 140-145 (0x8c-0x91)",
    "    Log Committed: 0-147 (0x0-0x93)",
    "    Log Signature: Create time:01/01/2024 00:00:00.000 Rand:77 Computer:",
    "Operation completed successfully in 0.500 seconds.",
)
CURRENT = (
    "      Base name: E00",
    "      Log file: E:\\DB02\\E00.log",
    "      lGeneration: 147 (0x93)",
    "      Signature: Create time:01/01/2024 00:00:00.000 Rand:77 Computer:",
    "Operation completed successfully in 0.100 seconds.",
)


def entry(
    log_files: list[str] | None, mh: tuple[str, ...] | None = MH_DIRTY, current: tuple[str, ...] | None = CURRENT, mounted: bool = False
) -> dict[str, Any]:
    eseutil = {
        "mh": {"rc": 0, "output": list(mh)} if mh is not None else None,
        "current_log": {"rc": 0, "output": list(current)} if current else None,
        "ml": None,
    }
    return {
        "name": "DB02",
        "log_prefix": "E00",
        "mounted": mounted,
        "files": {
            "edb": {"exists": True, "size": 10 << 30},
            "edb_volume": {"name": "D:\\", "free_bytes": 3 << 30, "size_bytes": 100 << 30},
            "log_files": log_files,
            "eseutil": eseutil,
        },
    }


def test_judge_a_database_whose_logs_have_a_hole() -> None:
    names = [f"E00{g:08X}.log" for g in range(130, 147) if g != 143] + ["E00.log"]
    judged = xdb.judge_database(entry(names))
    assert judged["header"]["state"] == "Dirty Shutdown" and judged["header"]["log_required"] == [140, 145]
    assert judged["logs"]["current_generation"] == 147 and not judged["logs"]["current_assumed"] and judged["logs"]["gaps"] == [[143, 143]]
    verdict = judged["recovery_verdict"]
    assert verdict["verdict"] == "logs_missing" and verdict["missing"] == [143] and verdict["missing_files"] == ["E000000008F.log"]
    assert judged["space"]["repair"]["enough"] is True and judged["space"]["defragment"]["enough"] is False
    assert judged["parse_errors"] == []


def test_judge_a_recoverable_database() -> None:
    names = [f"E00{g:08X}.log" for g in range(138, 147)] + ["E00.log"]
    verdict = xdb.judge_database(entry(names))["recovery_verdict"]
    assert verdict["verdict"] == "recoverable" and verdict["can_soft_recover"] is True


def test_judge_a_mounted_database_gives_no_verdict() -> None:
    judged = xdb.judge_database(entry(None, mh=None, current=None, mounted=True))
    assert judged["header"] is None and judged["logs"] is None and judged["recovery_verdict"] is None
    assert judged["space"]["copy_aside"]["needed_bytes"] == 10 << 30


def test_judge_reports_unreadable_output() -> None:
    judged = xdb.judge_database(
        entry(
            ["E00.log"],
            mh=["garbage", "Operation completed successfully in 0.1 seconds."],
            current=["also garbage", "Operation completed successfully in 0.1 seconds."],
        )
    )
    assert judged["header"] is None and judged["recovery_verdict"] is None
    assert any("State:" in e for e in judged["parse_errors"]) and any("lGeneration" in e for e in judged["parse_errors"])


def test_judge_without_the_edb_has_no_space_verdict() -> None:
    data = entry([])
    data["files"]["edb"] = {"exists": False}
    assert xdb.judge_database(data)["space"] is None


def test_summary_and_selection() -> None:
    names = [f"E00{g:08X}.log" for g in range(138, 147)] + ["E00.log"]
    good = xdb.judge_database(entry(names))
    bad = xdb.judge_database({**entry(["E00.log"]), "name": "DB03"})
    mounted = xdb.judge_database({**entry(None, mh=None, current=None, mounted=True), "name": "DB01"})
    summary = xdb.summarize([good, bad, mounted])
    assert summary == {
        "total": 3,
        "mounted": ["DB01"],
        "dismounted": ["DB02", "DB03"],
        "missing_files": [],
        "clean": [],
        "recoverable": ["DB02"],
        "blocked": ["DB03"],
    }
    chosen, unknown = xdb.select_databases([good, bad], ["db03", "DB09"], "EX01")
    assert [d["name"] for d in chosen] == ["DB03"] and unknown == ["DB09"]
    assert xdb.select_databases([good], None, "EX01") == ([good], [])
