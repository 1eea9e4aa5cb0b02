"""eseutil output parsers and the soft-recovery and free-space verdicts, on outputs in the documented formats (the ESE source's
dbdump.cxx, logdump.cxx and eseutil.cxx; real Exchange captures for the banner and the /mh layout)."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil as ese

BANNER = "\nExtensible Storage Engine Utilities for Microsoft(R) Exchange Server\nVersion 14.01\nCopyright (C) Microsoft Corporation. All Rights Reserved.\n\n"

MH_DIRTY = (
    BANNER
    + """Initiating FILE DUMP mode...
         Database: D:\\Restore\\Mailbox Database 01.edb

DATABASE HEADER:
Checksum Information:
Expected Checksum: 0x2e01c4d7
  Actual Checksum: 0x2e01c4d7

Fields:
        File Type: Database
         Checksum: 0x2e01c4d7
   Format ulMagic: 0x89abcdef
   Engine ulMagic: 0x89abcdef
 Format ulVersion: 0x620,17
 Engine ulVersion: 0x620,17
Created ulVersion: 0x620,17
     DB Signature: Create time:05/11/2024 10:15:02 Rand:123456789 Computer:
         cbDbPage: 32768
           dbtime: 40311 (0x9d77)
            State: Dirty Shutdown
     Log Required: 143-145 (0x8f-0x91)
    Log Committed: 0-146 (0x0-0x92)
   Log Recovering: 0 (0x0)
         Shadowed: Yes
     Repair Count: 0
  Last Consistent: (0x8E,1,0)  05/11/2024 11:02:44.100
             Dbid: 1
    Log Signature: Create time:05/11/2024 10:15:01 Rand:987654321 Computer:

Operation completed successfully in 0.125 seconds.

"""
)
# the open-source engine's layout: extra fields and a suffix after the required range
MH_CLEAN_OPEN_SOURCE = """Initiating FILE DUMP mode...
         Database: E:\\DB02.edb

Fields:
        File Type: Database
         cbDbPage: 8192
            State: Clean Shutdown
     Log Required: 0-0 (0x0-0x0) [Min. Req. Pre-Redo: 0 (0x0)]
Gen. Max. Req. Creation Time: 00/00/1900 00:00:00.000 UTC
    Log Committed: 0-212 (0x0-0xd4)
   Log Consistent: 212 (0xd4) [Pre-Redo: 0 (0x0)]
   Log Recovering: 0 (0x0)
     Repair Count: 2
  Last Consistent: (0xD4,8,0)  06/01/2024 09:00:00.000 UTC
    Log Signature: Create time:06/01/2024 08:00:00.000 UTC Rand:42 Computer:

Operation completed successfully in 0.031 seconds.
"""
MH_LOCKED = (
    BANNER
    + """Initiating FILE DUMP mode...
         Database: D:\\DB01\\DB01.edb



Operation terminated with error -1032 (JET_errFileAccessDenied, Cannot access file, the file is locked or in use) after 0.500 seconds.
"""
)

ML_SERIES_OK = (
    BANNER
    + """Initiating FILE DUMP mode...

Verifying log files...
     Base name: E00

      Log file: E:\\Logs\\E000000008F.log - OK
      Log file: E:\\Logs\\E0000000090.log - OK
      Log file: E:\\Logs\\E00.log - OK

No damaged log files were found.

Operation completed successfully in 0.922 seconds.
"""
)
ML_SERIES_MISSING = (
    BANNER
    + """Initiating FILE DUMP mode...

Verifying log files...
     Base name: E00

      Log file: E:\\Logs\\E000000008C.log - OK
      Missing log file: E:\\Logs\\E000000008D.log
      Log file: E:\\Logs\\E000000008E.log - OK
      Missing log files: E:\\Logs\\E00{0000008F - 00000090}.log
      Log file: E:\\Logs\\E0000000091.log
                ERROR: Cannot read log file header. Error -501.
      Log file: E:\\Logs\\E00.log - OK


Operation terminated with error -528 (JET_errMissingLogFile, Current log file missing) after 0.310 seconds.
"""
)
ML_HEADER = (
    BANNER
    + """Initiating FILE DUMP mode...

      Base name: E00
      Log file: E:\\Logs\\E00.log
      lGeneration: 146 (0x92)
      Checkpoint: (0x8F,B8,0)
      Signature: Create time:05/11/2024 10:15:01 Rand:987654321 Computer:
       1 D:\\Restore\\Mailbox Database 01.edb

      Last Lgpos: (0x92,8,0)

Integrity check passed for log file: E:\\Logs\\E00.log

Operation completed successfully in 0.100 seconds.
"""
)
R_OK = (
    BANNER
    + """Initiating RECOVERY mode...
    Logfile base name: E00
            Log files: E:\\Logs
         System files: <current directory>
   Database Directory: D:\\Restore

Performing soft recovery...
                      Restore Status (% complete)

          0    10   20   30   40   50   60   70   80   90  100
          |----|----|----|----|----|----|----|----|----|----|
          ...................................................

Operation completed successfully in 0.985 seconds.
"""
)
R_MISSING = (
    BANNER
    + """Initiating RECOVERY mode...
    Logfile base name: E00
            Log files: E:\\Logs
         System files: <current directory>

Performing soft recovery...

Operation terminated with error -543 (JET_errRequiredLogFilesMissing, The required log files for recovery is missing.) after 3.715 seconds.
"""
)
P_OK = (
    BANNER
    + """Initiating REPAIR mode...
        Database: D:\\DB01.edb
  Temp. Database: TEMPREPAIR1492.EDB

Checking database integrity.

Integrity check successful.

Note:
  It is recommended that you immediately perform a full backup
  of this database.

Operation completed successfully in 3.547 seconds.
"""
)


# -- outcome ------------------------------------------------------------------------------------------------------------------
def test_outcome_success_and_failure_lines() -> None:
    assert ese.parse_outcome(R_OK) == ese.Outcome(True, 0, None, None, 0.985)
    failed = ese.parse_outcome(R_MISSING)
    assert (failed.succeeded, failed.error, failed.error_name) == (False, -543, "JET_errRequiredLogFilesMissing")
    assert failed.error_text == "The required log files for recovery is missing."
    assert "failed with error -543" in failed.message


def test_outcome_warning_counts_as_success() -> None:
    line = "Operation completed successfully with 595 (JET_wrnFileOpenReadOnly, Database file is read only) after 1.200 seconds."
    outcome = ese.parse_outcome(line)
    assert outcome.succeeded and outcome.warning == 595 and outcome.error_name == "JET_wrnFileOpenReadOnly"


@pytest.mark.parametrize(("rc", "expected"), [(0, (True, 0)), (4294966768, (False, -528)), (-1811, (False, -1811)), (None, (False, 0))])
def test_outcome_without_a_line_comes_from_the_exit_code(rc: int | None, expected: tuple[bool, int]) -> None:
    outcome = ese.parse_outcome("no outcome here", rc)
    assert (outcome.succeeded, outcome.error) == expected


def test_unsigned_exit_codes_are_jet_errors() -> None:
    assert ese.signed_exit_code(4294966768) == -528
    assert ese.signed_exit_code(0) == 0 and ese.signed_exit_code(None) is None and ese.signed_exit_code(-1032) == -1032


# -- /mh ------------------------------------------------------------------------------------------------------------------------
def test_mh_dirty_header() -> None:
    header = ese.parse_mh(MH_DIRTY)
    assert header.database == "D:\\Restore\\Mailbox Database 01.edb"
    assert header.state == "Dirty Shutdown" and header.dirty and not header.clean
    assert header.log_required == (143, 145) and list(header.required_generations) == [143, 144, 145]
    assert header.log_committed == 146 and header.last_consistent == 0x8E and header.repair_count == 0 and header.page_size == 32768
    assert "Rand:987654321" in (header.log_signature or "") and "Rand:123456789" in (header.db_signature or "")
    assert header.to_dict()["log_required"] == [143, 145] and header.to_dict()["clean"] is False


def test_mh_clean_header_in_the_open_source_layout() -> None:
    header = ese.parse_mh(MH_CLEAN_OPEN_SOURCE)
    assert header.clean and header.log_required == (0, 0) and list(header.required_generations) == []
    assert header.log_committed == 212 and header.repair_count == 2 and header.page_size == 8192 and header.last_consistent == 0xD4


def test_mh_on_a_locked_file_gives_no_state_and_the_error() -> None:
    header = ese.parse_mh(MH_LOCKED, 4294966264)
    assert header.state is None and not header.clean and not header.dirty
    assert header.outcome.error == -1032 and header.outcome.error_name == "JET_errFileAccessDenied"


def test_mh_output_without_a_state_line_is_refused() -> None:
    with pytest.raises(ese.EseutilOutputError, match="no 'State:' line"):
        ese.parse_mh("Initiating FILE DUMP mode...\nOperation completed successfully in 0.1 seconds.")


def test_mh_unknown_state_is_refused() -> None:
    with pytest.raises(ese.EseutilOutputError, match="unknown database state 'Sleeping'"):
        ese.parse_mh("            State: Sleeping\nOperation completed successfully in 0.1 seconds.")


# -- log names -----------------------------------------------------------------------------------------------------------------
def test_log_generation_from_names() -> None:
    assert ese.log_generation("E0000000090.log") == 0x90
    assert ese.log_generation("e0100000001.LOG", "E01") == 1
    assert ese.log_generation("E00000A3.log") == 0xA3  # Exchange 2003 and older: 5 hex digits
    assert ese.log_generation("E00.log") is None and ese.log_generation("E00res00001.jrs") is None
    assert ese.log_generation("E0100000001.log", "E00") is None  # another stream's prefix
    assert ese.log_generation("D:\\x\\E0000000001.log") == 1
    assert ese.log_file_name("E00", 144) == "E0000000090.log"


def test_missing_ranges() -> None:
    assert ese.missing_ranges([5, 6, 7, 9, 12, 11]) == [(5, 7), (9, 9), (11, 12)]
    assert ese.missing_ranges([]) == []


def test_inventory_assumes_the_current_log_follows_the_numbered_ones() -> None:
    names = ["E0000000001.log", "E0000000002.log", "E00.log", "E00.chk", "E01000000001.log", "E00res00001.jrs"]
    inventory = ese.inventory_logs(names, "E00")
    assert inventory.numbered == (1, 2) and inventory.current_present and inventory.current_generation == 3 and inventory.current_assumed
    assert inventory.generations == (1, 2, 3) and inventory.gaps == [] and inventory.highest == 3


def test_inventory_with_the_current_generation_read_from_its_header() -> None:
    inventory = ese.inventory_logs(["E0000000001.log", "E00.log"], "E00", current_generation=5)
    assert inventory.generations == (1, 5) and not inventory.current_assumed and inventory.gaps == [(2, 4)]
    assert inventory.to_dict() == {
        "prefix": "E00",
        "count": 2,
        "lowest": 1,
        "highest": 5,
        "current_present": True,
        "current_generation": 5,
        "current_assumed": False,
        "gaps": [[2, 4]],
    }


def test_inventory_of_an_empty_folder() -> None:
    inventory = ese.inventory_logs([], "E00")
    assert inventory.generations == () and inventory.highest is None and not inventory.current_present and inventory.current_generation is None


# -- /ml --------------------------------------------------------------------------------------------------------------------------
def test_ml_series_clean() -> None:
    verification = ese.parse_ml(ML_SERIES_OK)
    assert verification.base_name == "E00" and verification.clean
    assert verification.checked == ("E:\\Logs\\E000000008F.log", "E:\\Logs\\E0000000090.log", "E:\\Logs\\E00.log")
    assert verification.missing == () and verification.damaged == ()


def test_ml_series_with_missing_and_damaged_logs() -> None:
    verification = ese.parse_ml(ML_SERIES_MISSING, 4294966768)
    assert not verification.clean and verification.outcome.error == -528
    assert verification.missing == (0x8D, 0x8F, 0x90)
    assert verification.damaged == ("E:\\Logs\\E0000000091.log",)
    assert verification.to_dict()["clean"] is False


def test_ml_without_base_name_is_refused() -> None:
    with pytest.raises(ese.EseutilOutputError, match="Base name"):
        ese.parse_ml("Operation completed successfully in 0.1 seconds.")


def test_ml_of_one_log_gives_its_generation_and_signature() -> None:
    header = ese.parse_log_header(ML_HEADER)
    assert header.path == "E:\\Logs\\E00.log" and header.generation == 146 and "Rand:987654321" in (header.signature or "")
    with pytest.raises(ese.EseutilOutputError, match="lGeneration"):
        ese.parse_log_header("Operation completed successfully in 0.1 seconds.")
    broken = ese.parse_log_header("      Log file: E00.log\n                ERROR: Cannot read log file header. Error -501.\n", 4294966795)
    assert broken.generation is None and broken.outcome.error == -501


# -- /r /p /d -----------------------------------------------------------------------------------------------------------------------
def test_operation_banners() -> None:
    recovery = ese.parse_operation(R_OK)
    assert recovery.mode == "RECOVERY" and recovery.outcome.succeeded
    assert recovery.fields["Logfile base name"] == "E00" and recovery.fields["Database Directory"] == "D:\\Restore"
    failed = ese.parse_operation(R_MISSING, 4294966753)
    assert failed.mode == "RECOVERY" and failed.outcome.error == -543 and "Database Directory" not in failed.fields
    repair = ese.parse_operation(P_OK)
    assert repair.mode == "REPAIR" and repair.fields["Temp. Database"] == "TEMPREPAIR1492.EDB" and repair.to_dict()["outcome"]["succeeded"]


# -- the soft-recovery verdict -----------------------------------------------------------------------------------------------------
def header(
    state: str = "Dirty Shutdown", required: tuple[int, int] = (143, 145), signature: str = "Create time:x Rand:987654321 Computer:"
) -> ese.DatabaseHeader:
    return ese.DatabaseHeader("D:\\DB.edb", state, required, 146, 0, 142, 0, 32768, signature, "Rand:1", ese.Outcome(True))


def logs(numbered: list[int], current: bool = True, current_generation: int | None = None) -> ese.LogInventory:
    names = [ese.log_file_name("E00", g) for g in numbered] + (["E00.log"] if current else [])
    return ese.inventory_logs(names, "E00", current_generation)


def test_verdict_clean_needs_nothing() -> None:
    verdict = ese.recovery_verdict(header("Clean Shutdown", (0, 0)), logs([]), database="DB01")
    assert verdict.verdict == "clean" and verdict.can_soft_recover and not verdict.needs_recovery and "can be mounted" in verdict.message


def test_verdict_recoverable_with_every_required_log() -> None:
    verdict = ese.recovery_verdict(header(), logs([140, 141, 142, 143, 144]), database="DB01")  # E00.log assumed 145
    assert verdict.verdict == "recoverable" and verdict.can_soft_recover and verdict.needs_recovery
    assert verdict.required == (143, 145) and verdict.missing == () and "logs 143-145 are in its log folder" in verdict.message


def test_verdict_missing_required_log() -> None:
    verdict = ese.recovery_verdict(header(), logs([143, 145], current=False), database="DB02")
    assert verdict.verdict == "logs_missing" and not verdict.can_soft_recover
    assert verdict.missing == (144,) and verdict.missing_files == ("E0000000090.log",)
    assert "E0000000090.log" in verdict.message and "allow_data_loss" in verdict.message


def test_verdict_missing_current_log_is_named_by_its_current_name() -> None:
    verdict = ese.recovery_verdict(header(), logs([143, 144], current=True, current_generation=150), database="DB02")
    assert verdict.verdict == "logs_missing" and verdict.missing == (145,) and verdict.missing_files == ("E0000000091.log",)
    known = ese.recovery_verdict(header(required=(143, 146)), logs([143, 144, 145], current=True, current_generation=147))
    assert known.missing == (146,)


def test_verdict_gap_after_the_required_logs_loses_data() -> None:
    verdict = ese.recovery_verdict(header(), logs([143, 144, 145, 148], current=True, current_generation=149))
    assert verdict.verdict == "recoverable_with_loss" and not verdict.can_soft_recover and verdict.gaps == ((146, 147),)
    assert "146-147" in verdict.message and "/a" in verdict.message


def test_verdict_damaged_log_from_verification_is_missing() -> None:
    verification = ese.parse_ml(
        "     Base name: E00\n      Log file: E:\\Logs\\E0000000090.log\n                ERROR: Cannot read log file header. Error -501.\n"
        "Operation terminated with error -501 (JET_errLogFileCorrupt, Log file is corrupt) after 0.1 seconds."
    )
    verdict = ese.recovery_verdict(header(), logs([143, 144, 145], current=False), verification)
    assert verdict.verdict == "logs_missing" and verdict.missing == (144,) and verdict.damaged == ("E:\\Logs\\E0000000090.log",)


def test_verdict_logs_of_another_stream() -> None:
    verdict = ese.recovery_verdict(header(), logs([143, 144], current=True, current_generation=145), current_signature="Create time:y Rand:55 Computer:")
    assert verdict.verdict == "logs_mismatch" and not verdict.can_soft_recover and "another log stream" in verdict.message
    same = ese.recovery_verdict(
        header(), logs([143, 144], current=True, current_generation=145), current_signature="Create time:other Rand:987654321 Computer:"
    )
    assert same.verdict == "recoverable"


def test_verdict_unreadable_header() -> None:
    unknown = ese.parse_mh(MH_LOCKED)
    verdict = ese.recovery_verdict(unknown, logs([1]), database="DB01")
    assert verdict.verdict == "unknown" and not verdict.can_soft_recover and "-1032" in verdict.message


@pytest.mark.parametrize("state", ["Dirty and Patched Shutdown", "Force Detach Replay Error", "Just Created"])
def test_other_states_need_recovery(state: str) -> None:
    verdict = ese.recovery_verdict(header(state), logs([143, 144, 145], current=False))
    assert verdict.needs_recovery and verdict.verdict == "recoverable"


def test_every_verdict_is_listed() -> None:
    assert set(ese.VERDICTS) == {"clean", "recoverable", "recoverable_with_loss", "logs_missing", "logs_mismatch", "unknown"}
    assert ese.recovery_verdict(header(), logs([])).to_dict()["verdict"] in ese.VERDICTS


# -- free space ------------------------------------------------------------------------------------------------------------------------
GB = 1 << 30


@pytest.mark.parametrize(
    ("operation", "free", "enough", "needed"),
    [
        ("repair", 2 * GB, True, 2 * GB),  # exactly 20% of 10 GB
        ("repair", 2 * GB - 1, False, 2 * GB),
        ("defragment", 11 * GB, True, 11 * GB),  # 110%
        ("defragment", 10 * GB, False, 11 * GB),
        ("copy_aside", 10 * GB, True, 10 * GB),
    ],
)
def test_space_verdicts(operation: str, free: int, enough: bool, needed: int) -> None:
    verdict = ese.space_verdict(operation, 10 * GB, free, "D:\\")
    assert verdict.enough is enough and verdict.needed_bytes == needed
    assert ("enough free space on D:\\" if enough else "too little free space on D:\\") in verdict.message


def test_space_unknown_is_not_enough_and_bad_operation_refused() -> None:
    assert not ese.space_verdict("repair", GB, None).enough
    with pytest.raises(ValueError, match="unknown operation 'shrink'"):
        ese.space_verdict("shrink", GB, GB)
