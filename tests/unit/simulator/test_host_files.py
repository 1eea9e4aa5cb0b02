"""Files of a simulated host: Windows path rules on a real folder, errors, attributes, ACLs, free space, UNC shares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.hoststate import ATTRIBUTES, AccessRule
from simulator.testing import make_host
from simulator.winerror import WinError

GB = 1024**3


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path, drives={"C": {"size_gb": 100, "free_gb": 60}, "D": {"size_gb": 1, "free_gb": 0.5}})


def code(exc_info) -> int:
    return exc_info.value.code


def test_case_insensitive_and_case_preserving(host) -> None:
    host.mkdir(r"C:\Data\Reports")
    host.write_bytes(r"c:\DATA\reports\Q1.TXT", b"x")
    assert host.listdir(r"C:\data") == ["Reports"]
    assert host.listdir(r"C:\Data\Reports") == ["Q1.TXT"]
    assert host.stat(r"c:/data/REPORTS/q1.txt").path == r"C:\Data\Reports\Q1.TXT"  # real case of every segment
    assert host.read_bytes(r"C:\Data\Reports\q1.txt") == b"x"
    assert host.resolve(r"c:\data\reports\q1.txt") == host.fs_root / "C" / "Data" / "Reports" / "Q1.TXT"


def test_missing_file_is_2_missing_folder_is_3_missing_drive_is_3(host) -> None:
    with pytest.raises(WinError) as e:
        host.read_bytes(r"C:\Windows\nope.txt")
    assert code(e) == 2
    assert e.value.message == "The system cannot find the file specified."
    with pytest.raises(WinError) as e:
        host.read_bytes(r"C:\Nope\nope.txt")
    assert code(e) == 3
    with pytest.raises(WinError) as e:
        host.write_bytes(r"Z:\x.txt", b"")
    assert code(e) == 3
    assert not host.exists(r"Z:\x.txt")
    assert not host.exists("C:\\bad|name")


def test_write_needs_the_parent_folder(host) -> None:
    with pytest.raises(WinError) as e:
        host.write_bytes(r"C:\NoSuchDir\x.txt", b"data")
    assert code(e) == 3


def test_folder_errors(host) -> None:
    host.mkdir(r"C:\D1\D2")
    host.write_bytes(r"C:\D1\D2\f.txt", b"1")
    with pytest.raises(WinError) as e:
        host.remove(r"C:\D1")
    assert code(e) == 145  # not empty
    with pytest.raises(WinError) as e:
        host.mkdir(r"C:\D1\D2\f.txt")
    assert code(e) == 183  # a file is in the way
    with pytest.raises(WinError) as e:
        host.mkdir(r"C:\X\Y", parents=False)
    assert code(e) == 3
    with pytest.raises(WinError) as e:
        host.read_bytes(r"C:\D1")
    assert code(e) == 5  # opening a folder as a file
    with pytest.raises(WinError) as e:
        host.listdir(r"C:\D1\D2\f.txt")
    assert code(e) == 267
    assert host.mkdir(r"C:\D1") is False
    host.remove(r"C:\D1", recursive=True)
    assert not host.exists(r"C:\D1")


def test_trailing_dot_of_ansible_temp_paths(host) -> None:
    tmp = host.mkdtemp(r"C:\Windows\Temp", "ansible-tmp-")
    assert tmp.startswith(r"C:\Windows\Temp\ansible-tmp-")
    host.write_bytes(tmp + r"\source", b"payload")
    host.remove(tmp + "\\.", recursive=True)
    assert not host.exists(tmp)


def test_readonly_attribute_blocks_writes_and_plain_deletes(host) -> None:
    host.write_bytes(r"C:\ro.txt", b"1")
    assert host.stat(r"C:\ro.txt").attribute_names == ["Archive"]
    host.set_attributes(r"C:\ro.txt", ATTRIBUTES["ReadOnly"])
    with pytest.raises(WinError) as e:
        host.write_bytes(r"C:\ro.txt", b"2")
    assert code(e) == 5
    with pytest.raises(WinError) as e:
        host.remove(r"C:\ro.txt")
    assert code(e) == 5
    host.remove(r"C:\ro.txt", force=True)  # Remove-Item -Force clears it
    assert not host.exists(r"C:\ro.txt")
    assert host.stat(r"C:\Windows").attribute_names == ["Directory"]


def test_mtime_follows_the_simulated_clock_and_can_be_set(host) -> None:
    before = host.clock.time()
    host.write_bytes(r"C:\t.txt", b"1")
    assert abs(host.stat(r"C:\t.txt").mtime.timestamp() - before) < 5
    when = datetime(2024, 5, 1, 22, 0, tzinfo=UTC)
    host.set_mtime(r"C:\t.txt", when)
    assert host.stat(r"C:\t.txt").mtime == when


def test_copy_keeps_last_write_time_and_move_keeps_metadata(host) -> None:
    host.mkdir(r"C:\src")
    host.write_bytes(r"C:\src\a.txt", b"abc")
    host.set_mtime(r"C:\src\a.txt", 1_700_000_000)
    host.copy(r"C:\src\a.txt", r"C:\src\b.txt")
    assert host.stat(r"C:\src\b.txt").mtime.timestamp() == 1_700_000_000
    host.set_acl(r"C:\src\a.txt", [AccessRule("Everyone", ["Read"])])
    host.move(r"C:\src\a.txt", r"C:\src\moved.txt")
    assert [r.identity for r in host.get_acl(r"C:\src\moved.txt") if not r.inherited] == ["Everyone"]
    with pytest.raises(WinError) as e:
        host.move(r"C:\src\b.txt", r"C:\src\moved.txt")
    assert code(e) == 183
    host.copy(r"C:\src", r"D:\copy")
    assert sorted(host.listdir(r"D:\copy")) == ["b.txt", "moved.txt"]


def test_free_space_follows_writes_and_deletes(host) -> None:
    free = host.free_bytes("D:")
    host.write_bytes(r"D:\big.bin", bytes(1000))
    assert host.free_bytes("D") == free - 1000
    host.write_bytes(r"D:\big.bin", b"x", append=True)
    assert host.free_bytes("D") == free - 1001
    host.remove(r"D:\big.bin")
    assert host.free_bytes("D") == free


def test_a_write_larger_than_the_free_space_is_112(host) -> None:
    host.state.drives["D"].used_bytes = host.state.drives["D"].size_bytes - 10
    with pytest.raises(WinError) as e:
        host.write_bytes(r"D:\x.bin", bytes(11))
    assert code(e) == 112
    assert e.value.message == "There is not enough space on the disk."
    assert not host.exists(r"D:\x.bin")
    host.write_bytes(r"D:\x.bin", bytes(10))


def test_full_volume_fault(tmp_path) -> None:
    host = make_host(tmp_path, faults=[{"name": "full_volume", "target": "C"}])
    assert host.free_bytes("C") == 0
    with pytest.raises(WinError) as e:
        host.write_bytes(r"C:\x.txt", b"1")
    assert code(e) == 112
    host.write_bytes(r"C:\empty.txt", b"")  # nothing to allocate


def test_acl_inheritance_protection_and_deny(tmp_path) -> None:
    host = make_host(tmp_path, domain={"name": "contoso.local", "users": {"svc": {"password": "pw"}}, "groups": {"Ops": ["svc"]}})
    host.mkdir(r"C:\Cfg\Sub")
    host.write_bytes(r"C:\Cfg\Sub\a.xml", b"<a/>")
    # the volume root lets Users read: a domain account is in Users through Domain Users / Authenticated Users
    assert host.access_allowed(r"C:\Cfg\Sub\a.xml", "CONTOSO\\svc", "Read")
    assert not host.access_allowed(r"C:\Cfg\Sub\a.xml", "CONTOSO\\svc", "Write")
    host.set_acl(r"C:\Cfg", [AccessRule("BUILTIN\\Administrators", ["FullControl"])], protected=True)
    assert not host.access_allowed(r"C:\Cfg\Sub\a.xml", "svc@contoso.local", "Read")
    assert host.access_allowed(r"C:\Cfg\Sub\a.xml", "Administrator", "Modify")
    host.add_access_rule(r"C:\Cfg\Sub", AccessRule("CONTOSO\\Ops", ["ReadAndExecute"]))
    assert host.access_allowed(r"C:\Cfg\Sub\a.xml", "CONTOSO\\svc", "Read")
    acl = host.get_acl(r"C:\Cfg\Sub\a.xml")
    assert [(r.identity, r.inherited) for r in acl] == [("CONTOSO\\Ops", True), ("BUILTIN\\Administrators", True)]
    # an explicit deny on the file beats the inherited allow
    host.set_acl(r"C:\Cfg\Sub\a.xml", [AccessRule("CONTOSO\\svc", ["Read"], "Deny")])
    assert not host.access_allowed(r"C:\Cfg\Sub\a.xml", "CONTOSO\\svc", "ReadData")
    with pytest.raises(ValueError, match="unknown file system right"):
        host.set_acl(r"C:\Cfg", [AccessRule("Everyone", ["ReadEverything"])])


def test_owner_and_shares(tmp_path) -> None:
    host = make_host(tmp_path, shares={"Data": {"host": "WIN01", "path": r"C:\Data"}})
    host.mkdir(r"C:\Data")
    assert host.get_owner(r"C:\Data") == "BUILTIN\\Administrators"
    host.set_owner(r"C:\Data", "SYSTEM")
    assert host.get_owner(r"C:\Data") == "NT AUTHORITY\\SYSTEM"
    assert host.share_name(r"c:\data") == "Data"
    assert host.share_name("C:\\") == "C$"
    assert host.share_name(r"C:\Windows") is None


@pytest.fixture
def two_hosts(tmp_path):
    ex = make_host(
        tmp_path,
        "EX01",
        domain={"name": "contoso.local"},
        shares={"Backups": {"host": "FS01", "path": r"D:\Backups"}},
        other_hosts={
            "FS01": {
                "accounts": {"Administrator": {"password": "pw", "admin": True}},
                "drives": {"C": {"size_gb": 10}, "D": {"size_gb": 10, "free_gb": 5}},
                "state": {"directories": [r"D:\Backups"]},
            }
        },
    )
    return ex, ex.estate.host("FS01")


def test_unc_paths_resolve_to_the_share_owner(two_hosts) -> None:
    ex, fs = two_hosts
    free = fs.free_bytes("D")
    ex.write_bytes(r"\\FS01\Backups\set1.bkf", b"backup")
    assert fs.read_bytes(r"D:\BACKUPS\set1.bkf") == b"backup"
    assert fs.free_bytes("D") == free - 6
    assert ex.read_bytes(r"\\fs01.contoso.local\backups\SET1.BKF") == b"backup"
    assert ex.read_bytes(r"\\?\UNC\FS01\Backups\set1.bkf") == b"backup"
    assert ex.read_bytes(r"\\FS01\D$\Backups\set1.bkf") == b"backup"
    assert ex.is_dir(r"\\FS01\ADMIN$\System32")
    assert ex.stat(r"\\FS01\Backups\set1.bkf").path == r"\\FS01\Backups\set1.bkf"


def test_unc_errors(two_hosts) -> None:
    ex = two_hosts[0]
    with pytest.raises(WinError) as e:
        ex.read_bytes(r"\\NOSUCH\Backups\x")
    assert code(e) == 53
    with pytest.raises(WinError) as e:
        ex.read_bytes(r"\\FS01\NoShare\x")
    assert code(e) == 67
    assert e.value.message == "The network name cannot be found."


def test_full_volume_on_the_share_owner_applies_to_unc_writes(two_hosts) -> None:
    ex, fs = two_hosts
    fs.faults.switch_on(__import__("simulator.faults", fromlist=["make_fault"]).make_fault("full_volume", "FS01", "D"))
    with pytest.raises(WinError) as e:
        ex.write_bytes(r"\\FS01\Backups\x.bin", b"1")
    assert code(e) == 112
    ex.write_bytes(r"C:\fine.txt", b"1")


def test_changes_persist_in_state_json(tmp_path) -> None:
    from simulator.estate import load_host

    host = make_host(tmp_path)
    host.mkdir(r"C:\Keep")
    host.write_bytes(r"C:\Keep\x.txt", b"1")
    host.set_attributes(r"C:\Keep\x.txt", ATTRIBUTES["Hidden"])
    again = load_host(tmp_path, "WIN01")
    assert again.read_bytes(r"C:\keep\X.TXT") == b"1"
    assert "Hidden" in again.stat(r"C:\Keep\x.txt").attribute_names
    assert again.free_bytes("C") == host.free_bytes("C")


def test_second_hop_is_denied_without_delegation(two_hosts) -> None:
    ex, fs = two_hosts
    fs.write_bytes(r"D:\Backups\set.bkf", b"x")
    with ex.logon_session("Administrator", delegation=False):
        assert ex.is_dir(r"C:\Windows")  # local work is fine
        with pytest.raises(WinError) as e:
            ex.read_bytes(r"\\FS01\Backups\set.bkf")
        assert e.value.code == 5
        assert not ex.exists(r"\\FS01\Backups\set.bkf")
    with ex.logon_session("Administrator", delegation=True):  # become / CredSSP
        assert ex.read_bytes(r"\\FS01\Backups\set.bkf") == b"x"
    assert ex.read_bytes(r"\\FS01\Backups\set.bkf") == b"x"  # no session: unrestricted (seeds, unit tests)
