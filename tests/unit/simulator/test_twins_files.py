"""win_stat, win_file, win_copy (the modes its action plugin uses) and slurp against a real simulated host."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import pytest
from _twin_host import call, make_host


@pytest.fixture
def host(tmp_path):
    h = make_host(tmp_path)
    h.mkdir("C:\\Data")
    h.write_bytes("C:\\Data\\app.ini", b"[app]\r\nport=80\r\n")
    return h


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


# ------------------------------------------------------------------------------------------------ win_stat
def test_win_stat_file(host):
    rc, out = call(host, "ansible.windows.win_stat", path="c:\\data\\APP.INI")
    stat = out["stat"]
    assert rc == 0
    assert stat["exists"] and stat["isreg"] and not stat["isdir"]
    assert stat["path"] == "C:\\Data\\app.ini"  # real case of the file system
    assert stat["checksum"] == sha1(b"[app]\r\nport=80\r\n")
    assert stat["size"] == 16
    assert stat["extension"] == ".ini"
    assert stat["attributes"] == "Archive"


def test_win_stat_folder_and_missing(host):
    assert call(host, "ansible.windows.win_stat", path="C:\\Data")[1]["stat"]["isdir"] is True
    assert call(host, "ansible.windows.win_stat", path="C:\\Data")[1]["stat"]["size"] == 16
    assert call(host, "ansible.windows.win_stat", path="C:\\Nope")[1]["stat"] == {"exists": False}


def test_win_stat_checksum_algorithm(host):
    out = call(host, "ansible.windows.win_stat", path="C:\\Data\\app.ini", checksum_algorithm="sha256")[1]
    assert out["stat"]["checksum"] == hashlib.sha256(b"[app]\r\nport=80\r\n").hexdigest()


def test_fetch_style_stat_ignores_unknown_options(host):
    """fetch calls ansible.legacy.stat (win_stat) with ignore_unknown_opts; get_size=False leaves size out."""
    rc, out = call(host, "ansible.windows.win_stat", path="C:\\Data\\app.ini", get_size=False, _ansible_ignore_unknown_opts=True, bogus=1)
    assert rc == 0
    assert "size" not in out["stat"]


# ------------------------------------------------------------------------------------------------ win_file
def test_win_file_directory_check_mode_then_real_then_idempotent(host):
    rc, out = call(host, "ansible.windows.win_file", check=True, path="C:\\Data\\logs\\old", state="directory")
    assert (rc, out) == (0, {"changed": True})
    assert not host.exists("C:\\Data\\logs")
    assert call(host, "ansible.windows.win_file", path="C:\\Data\\logs\\old", state="directory")[1]["changed"] is True
    assert host.is_dir("C:\\Data\\logs\\old")
    assert call(host, "ansible.windows.win_file", path="C:\\Data\\logs\\old", state="directory")[1]["changed"] is False


def test_win_file_absent_recursive(host):
    assert call(host, "ansible.windows.win_file", check=True, path="C:\\Data", state="absent")[1]["changed"] is True
    assert host.exists("C:\\Data\\app.ini")
    assert call(host, "ansible.windows.win_file", path="C:\\Data", state="absent")[1]["changed"] is True
    assert not host.exists("C:\\Data")
    assert call(host, "ansible.windows.win_file", path="C:\\Data", state="absent")[1]["changed"] is False


def test_win_file_touch_always_changes(host):
    assert call(host, "ansible.windows.win_file", path="C:\\Data\\new.txt", state="touch")[1]["changed"] is True
    assert host.read_bytes("C:\\Data\\new.txt") == b""
    assert call(host, "ansible.windows.win_file", path="C:\\Data\\new.txt", state="touch")[1]["changed"] is True


@pytest.mark.parametrize(
    ("path", "state", "msg"),
    [
        ("C:\\Data\\app.ini", "directory", "path C:\\Data\\app.ini is not a directory"),
        ("C:\\Data", "file", "path C:\\Data is not a file"),
        ("C:\\Data\\missing.txt", "file", "path C:\\Data\\missing.txt will not be created"),
    ],
)
def test_win_file_refusals(host, path, state, msg):
    rc, out = call(host, "ansible.windows.win_file", path=path, state=state)
    assert (rc, out["msg"], out["failed"]) == (1, msg, True)


# ------------------------------------------------------------------------------------------------ win_copy
def test_win_copy_query_reports_only_differing_files(host):
    files = [
        {"src": "/ctl/app.ini", "dest": "app.ini", "checksum": sha1(b"[app]\r\nport=80\r\n")},
        {"src": "/ctl/new.ini", "dest": "new.ini", "checksum": sha1(b"x")},
    ]
    rc, out = call(host, "ansible.windows.win_copy", _copy_mode="query", dest="C:\\Data", files=files, directories=[{"src": "/ctl/d", "dest": "d"}])
    assert rc == 0
    assert [f["dest"] for f in out["files"]] == ["new.ini"]
    assert out["directories"] == [{"src": "/ctl/d", "dest": "d"}]
    assert "invocation" not in out  # a Legacy module


def test_win_copy_single_into_folder_with_backup(host):
    host.mkdir("C:\\Users\\Administrator\\AppData\\Local\\Temp\\ansible-tmp-1")
    src = "C:\\Users\\Administrator\\AppData\\Local\\Temp\\ansible-tmp-1\\source"
    host.write_bytes(src, b"[app]\r\nport=8080\r\n")
    rc, out = call(host, "ansible.windows.win_copy", _copy_mode="single", src=src, dest="C:\\Data\\", _original_basename="app.ini", backup=True)
    assert rc == 0 and out["changed"] is True
    assert host.read_bytes("C:\\Data\\app.ini") == b"[app]\r\nport=8080\r\n"
    assert out["backup_file"].startswith("C:\\Data\\app.ini.") and out["backup_file"].endswith(".bak")
    assert host.read_bytes(out["backup_file"]) == b"[app]\r\nport=80\r\n"


def test_win_copy_single_missing_parent_fails(host):
    host.write_bytes("C:\\src", b"x")
    rc, out = call(host, "ansible.windows.win_copy", _copy_mode="single", src="C:\\src", dest="C:\\Nope\\f.txt")
    assert (rc, out["msg"]) == (1, "Destination directory 'C:\\Nope' does not exist")


def test_win_copy_explode_unpacks_base64_member_names(host):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(base64.b64encode(b"conf").decode() + "/", b"")
        archive.writestr(base64.b64encode(b"conf/a.txt").decode(), b"A")
        archive.writestr(base64.b64encode(b"b.txt").decode(), b"B")
    host.write_bytes("C:\\source.zip", buffer.getvalue())
    rc, out = call(host, "ansible.windows.win_copy", _copy_mode="explode", src="C:\\source.zip", dest="C:\\Site\\")
    assert (rc, out["changed"]) == (0, True)
    assert host.read_bytes("C:\\Site\\conf\\a.txt") == b"A"
    assert host.read_bytes("C:\\Site\\b.txt") == b"B"


def test_win_copy_remote_check_real_idempotent_with_diff(host):
    args = {"_copy_mode": "remote", "src": "C:\\Data\\app.ini", "dest": "C:\\Backup\\app.ini", "force": True}
    rc, out = call(host, "ansible.windows.win_copy", **{**args, "dest": "C:\\Backup\\app.ini"})
    assert (rc, out["msg"]) == (1, "Destination directory 'C:\\Backup' does not exist")
    host.mkdir("C:\\Backup")
    rc, out = call(host, "ansible.windows.win_copy", check=True, diff=True, **args)
    assert out["changed"] is True and out["diff"] == {"prepared": "+C:\\Backup\\app.ini\n"}
    assert out["size"] is None and not host.exists("C:\\Backup\\app.ini")
    rc, out = call(host, "ansible.windows.win_copy", **args)
    assert out["changed"] is True and out["size"] == 16 and out["operation"] == "file_copy"
    assert out["checksum"] == sha1(b"[app]\r\nport=80\r\n")
    assert call(host, "ansible.windows.win_copy", **args)[1]["changed"] is False


def test_win_copy_remote_folder(host):
    rc, out = call(host, "ansible.windows.win_copy", _copy_mode="remote", src="C:\\Data", dest="C:\\Copy")
    assert (rc, out["changed"], out["dest"], out["operation"]) == (0, True, "C:\\Copy\\Data", "folder_copy")
    assert host.read_bytes("C:\\Copy\\Data\\app.ini") == b"[app]\r\nport=80\r\n"


# ------------------------------------------------------------------------------------------------ slurp
def test_slurp(host):
    _rc, out = call(host, "ansible.windows.slurp", src="C:\\Data\\app.ini")
    assert base64.b64decode(out["content"]) == b"[app]\r\nport=80\r\n"
    assert out["encoding"] == "base64"
    assert call(host, "ansible.windows.slurp", path="C:\\Data")[1]["msg"] == "Path C:\\Data is a directory"
    assert call(host, "ansible.windows.slurp", src="C:\\x")[1]["msg"] == "Path C:\\x is not found"
