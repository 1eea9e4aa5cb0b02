"""plugin_utils/_mailbox_restore.py: the release's cmdlet, the options it refuses, the database and mailbox the options mean,
the cmdlet parameters and the report of a request."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _mailbox_restore as restore
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

ARGS: dict[str, Any] = {
    "source_database": "RDB01",
    "source_mailbox": "Alice",
    "target_mailbox": "alice",
    "target_root_folder": None,
    "target_is_archive": False,
}


@pytest.mark.parametrize(
    ("build", "method"),
    [
        ("8.3.83.6", "Restore-Mailbox"),
        ("14.0.639.21", "Restore-Mailbox"),
        ("14.1.218.15", "New-MailboxRestoreRequest"),
        ("15.2.1544.4", "New-MailboxRestoreRequest"),
    ],
)
def test_the_release_decides_the_cmdlet(build: str, method: str) -> None:
    assert restore.method_for(release_of(build)) == method


def test_the_default_name_is_the_same_for_the_same_restore() -> None:
    name = restore.default_name(ARGS)
    assert name.startswith("ExDr-") and name == restore.default_name({**ARGS, "source_mailbox": "ALICE", "include_folders": None, "wait": False})
    assert name != restore.default_name({**ARGS, "target_root_folder": "Restored"})


def test_options_a_release_has_not() -> None:
    restore.check_options({**ARGS, "target_is_archive": True}, release_of("15.2.1544.4"), "2019")
    with pytest.raises(
        restore.Refusal, match="E2007 restores mailbox content with Restore-Mailbox, which has no target_is_archive or allow_legacy_dn_mismatch"
    ):
        restore.check_options({**ARGS, "target_is_archive": True, "allow_legacy_dn_mismatch": True}, release_of("8.3.83.6"), "E2007")
    with pytest.raises(restore.Refusal, match="whose -TargetFolder is mandatory"):
        restore.check_options(ARGS, release_of("14.0.639.21"), "E2010")
    restore.check_options(ARGS, release_of("8.3.83.6"), "E2007")  # 2007's -TargetFolder is optional
    with pytest.raises(restore.Refusal, match="needs accept_large_data_loss: true"):
        restore.check_options({**ARGS, "bad_item_limit": 51}, release_of("15.2.1544.4"), "2019")
    restore.check_options({**ARGS, "bad_item_limit": 51, "accept_large_data_loss": True}, release_of("15.2.1544.4"), "2019")


def test_the_source_database_prefers_the_recovery_storage_group_copy() -> None:
    read = {
        "databases": [
            {"name": "MBX", "identity": "EX\\SG1\\MBX", "recovery": False, "mounted": True},
            {"name": "MBX", "identity": "EX\\RSG\\MBX", "recovery": True, "mounted": True},
        ]
    }
    assert restore.source_database(read, "MBX", "EX")["identity"] == "EX\\RSG\\MBX"
    assert restore.source_database(read, "EX\\SG1\\MBX", "EX")["recovery"] is False


def test_several_mailboxes_with_one_name_are_listed_with_their_guids() -> None:
    mailboxes = [
        {"display_name": "Bob", "guid": "11111111-1111-4111-8111-111111111111", "item_count": 3},
        {"display_name": "bob", "guid": "22222222-2222-4222-8222-222222222222", "item_count": 4, "disconnect_reason": "SoftDeleted"},
    ]
    with pytest.raises(restore.Refusal) as refused:
        restore.source_mailbox(mailboxes, "BOB", "RDB01")
    assert str(refused.value) == (
        "2 mailboxes in RDB01 are named BOB: 11111111-1111-4111-8111-111111111111 (3 items, in the store); "
        "22222222-2222-4222-8222-222222222222 (4 items, SoftDeleted). Name one by its GUID in source_mailbox"
    )
    assert restore.source_mailbox(mailboxes, "22222222-2222-4222-8222-222222222222", "RDB01")["item_count"] == 4


def test_parameters_per_cmdlet() -> None:
    db = {"name": "RDB01", "identity": "RDB01"}
    mailbox = {"guid": "g"}
    request = restore.request_parameters({**ARGS, "target_is_archive": True, "include_folders": ["#Inbox#/*"], "bad_item_limit": 2}, db, mailbox, "N")
    assert request == {
        "SourceDatabase": "RDB01",
        "SourceStoreMailbox": "g",
        "TargetMailbox": "alice",
        "Name": "N",
        "BadItemLimit": 2,
        "IncludeFolders": ["#Inbox#/*"],
        "TargetIsArchive": True,
    }
    old = restore.restore_mailbox_parameters({**ARGS, "target_root_folder": "R"}, {"identity": "EX\\RSG\\MBX"}, mailbox, release_of("8.3.83.6"))
    assert old == {"Identity": "alice", "RSGDatabase": "EX\\RSG\\MBX", "RSGMailbox": "g", "BadItemLimit": 0, "Confirm": False, "TargetFolder": "R"}
    assert "RecoveryDatabase" in restore.restore_mailbox_parameters({**ARGS, "target_root_folder": "R"}, db, mailbox, release_of("14.0.639.21"))


def test_the_report_parses_what_the_statistics_print() -> None:
    stats = {"Identity": "alice\\N", "Status": "Failed", "PercentComplete": "95", "BytesTransferred": "1.5 MB (1,572,864 bytes)", "BadItemLimit": "Unlimited"}
    report = restore.report({**stats, "BadItemsEncountered": "7", "FailureType": "X", "Message": "m"}, created=True)
    assert report is not None and report["bytes_transferred"] == 1572864 and report["percent_complete"] == 95 and report["bad_item_limit"] == "Unlimited"
    assert "failed (X: m; 7 bad items against a limit of Unlimited)" in restore.outcome_message(report)
    with pytest.raises(restore.Refusal, match=r"another restore \(into folder \(the top\), not R\)"):
        restore.same_request({"Identity": "alice\\N", "TargetRootFolder": None}, {"name": "RDB01"}, {"guid": "g"}, {**ARGS, "target_root_folder": "R"})
