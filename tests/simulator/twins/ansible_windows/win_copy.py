"""ansible.windows.win_copy (a Legacy module) in the four modes its action plugin uses.

- ``query``: which of the controller's ``files``/``directories`` differ from ``dest`` (by sha1, when ``force``);
- ``single``: copy the uploaded ``src`` to ``dest`` (never runs in check mode: the action plugin answers itself);
- ``explode``: unpack the uploaded zip whose member names are base64 of the relative paths;
- ``remote``: copy a file or folder that is already on the host (``remote_src``), with diff.
"""

from __future__ import annotations

import base64
import io
import random
import zipfile
from datetime import UTC, datetime
from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import basename, dirname, has_trailing_sep, join_path, legacy_checksum

_OPTIONS = {
    "_copy_mode": {"type": "str", "default": "single", "choices": ["explode", "query", "remote", "single"]},
    # -failifempty ($copy_mode -in @("explode", "process", "single"))
    "src": {"type": "path", "required": lambda p: p["_copy_mode"] in ("explode", "process", "single")},
    "dest": {"type": "path", "required": True},
    "backup": {"type": "bool", "default": False},
    "_original_basename": {"type": "str"},
    "force": {"type": "bool", "default": True},
    "files": {"type": "list"},
    "directories": {"type": "list"},
}


@twin("ansible.windows.win_copy", options=_OPTIONS, legacy_reads=list(_OPTIONS))
def win_copy(m: ModuleRun) -> None:
    if m.diff_mode:
        m.result["diff"] = {}
    mode = m.params["_copy_mode"].lower()
    {"query": _query, "explode": _explode, "remote": _remote, "single": _single}[mode](m)


def _query(m: ModuleRun) -> None:
    host, dest, force = m.host, m.params["dest"], m.params["force"]
    changed_files, changed_dirs = [], []
    for file in m.params["files"] or []:
        filename = file["dest"]
        filepath = join_path(dest, filename)
        if host.is_dir(filepath):
            filename = join_path(filename, basename(file["src"]))
            filepath = join_path(dest, filename)
        if host.exists(filepath) and not host.is_dir(filepath):
            if force and legacy_checksum(host, filepath) != file.get("checksum"):
                changed_files.append(file)
        elif host.is_dir(filepath):
            m.fail_json(f"cannot copy file to dest '{filepath}': object at path is already a directory")
        else:
            changed_files.append(file)
    for directory in m.params["directories"] or []:
        dirpath = join_path(dest, directory["dest"])
        if _is_file(host, dirname(dirpath)):
            m.fail_json(f"cannot copy folder to dest '{dirpath}': object at parent directory path is already a file")
        if _is_file(host, dirpath):
            m.fail_json(f"cannot copy folder to dest '{dirpath}': object at path is already a file")
        if not host.is_dir(dirpath):
            changed_dirs.append(directory)
    m.result.update(files=changed_files, directories=changed_dirs, symlinks=[])


def _single(m: ModuleRun) -> None:
    host, src, dest = m.host, m.params["src"], m.params["dest"]
    if not _is_file(host, src):
        m.fail_json(f"Cannot copy src file: '{src}' as it does not exist")
    remote_dest = dest
    if has_trailing_sep(dest) or host.is_dir(dest):
        remote_dest = join_path(dest, m.params["_original_basename"] or "")
    _ensure_parent(m, dest, remote_dest)
    if m.params["backup"]:
        m.result["backup_file"] = _backup(m, remote_dest)
    host.copy(src, remote_dest)
    m.result["changed"] = True


def _explode(m: ModuleRun) -> None:
    host, src, dest = m.host, m.params["src"], m.params["dest"]
    if not _is_file(host, src):
        m.fail_json(f"Cannot expand src zip file: '{src}' as it does not exist")
    with zipfile.ZipFile(io.BytesIO(host.read_bytes(src))) as archive:
        for entry in archive.infolist():
            name, is_dir = _decode_member(entry.filename)
            target = join_path(dest, name)
            entry_dir = dirname(target) if not is_dir else target.rstrip("\\")
            if not host.exists(entry_dir) and not m.check_mode:
                host.mkdir(entry_dir, parents=True)
            if not is_dir and not m.check_mode:
                host.write_bytes(target, archive.read(entry))
    m.result["changed"] = True


def _decode_member(archive_name: str) -> tuple[str, bool]:
    """The action plugin stores each relative path as base64; a folder entry has one extra trailing '/'."""
    padding = len(archive_name) % 4
    if padding == 0:
        return base64.b64decode(archive_name).decode("utf-8").replace("/", "\\"), False
    if padding == 1 and archive_name.endswith(("/", "\\")):
        return base64.b64decode(archive_name[:-1]).decode("utf-8").replace("/", "\\") + "\\", True
    raise ValueError(f"invalid base64 archive name '{archive_name}'")


def _remote(m: ModuleRun) -> None:
    host, src, dest = m.host, m.params["src"], m.params["dest"]
    m.result["src"], m.result["dest"] = src, dest
    if not host.exists(src):
        m.fail_json(f"Cannot copy src file: '{src}' as it does not exist")
    remote_dest = dest
    if host.is_dir(src):
        m.result["operation"] = "folder_copy"
        if has_trailing_sep(src):
            diff = ""
            for name in host.listdir(src):
                child_src, child_dest = join_path(src, name), join_path(dest, name)
                diff += _copy_folder(m, child_src, child_dest) if host.is_dir(child_src) else _copy_file(m, child_src, child_dest)[0]
        else:
            remote_dest = join_path(dest, host.stat(src).name)
            m.result["dest"] = remote_dest
            diff = _copy_folder(m, src, remote_dest)
    else:
        m.result["operation"] = "file_copy"
        source_name = host.stat(src).name
        m.result["original_basename"] = source_name
        if has_trailing_sep(dest) or host.is_dir(dest):
            remote_dest = join_path(dest, source_name)
        m.result["dest"] = remote_dest
        # The module creates a missing parent here without -WhatIf, so even in check mode (as win_copy.ps1 does).
        _ensure_parent(m, dest, remote_dest)
        diff, checksum = _copy_file(m, src, remote_dest)
        m.result["checksum"] = checksum
    if not m.check_mode or _is_file(host, remote_dest):
        m.result["size"] = _size(host, remote_dest)
    else:
        m.result["size"] = None
    if m.diff_mode:
        m.result["diff"]["prepared"] = diff


def _copy_file(m: ModuleRun, source: str, dest: str) -> tuple[str, str | None]:
    """Copy-File of win_copy.ps1: returns (diff text, source checksum)."""
    host, force = m.host, m.params["force"]
    diff = ""
    checksum = legacy_checksum(host, source) if force else None
    if host.is_dir(dest):
        m.fail_json(f"cannot copy file from '{source}' to '{dest}': dest is already a folder")
    copy = not host.exists(dest) or (force and legacy_checksum(host, dest) != checksum)
    if copy:
        parent = dirname(dest)
        if _is_file(host, parent):
            m.fail_json(f"cannot copy file from '{source}' to '{dest}': object at dest parent dir is not a folder")
        if not host.exists(parent):
            if not m.check_mode:
                host.mkdir(parent, parents=True)
            diff += f"+{parent}\\\n"
        if m.params["backup"]:
            m.result["backup_file"] = _backup(m, dest)
        if _is_file(host, dest):
            if not m.check_mode:
                host.remove(dest)
            diff += f"-{dest}\n"
        if not m.check_mode:
            host.copy(source, dest)
        diff += f"+{dest}\n"
        m.result["changed"] = True
    return diff, checksum


def _copy_folder(m: ModuleRun, source: str, dest: str) -> str:
    host = m.host
    diff = ""
    if not host.is_dir(dest):
        if _is_file(host, dirname(dest)):
            m.fail_json(f"cannot copy file from '{source}' to '{dest}': object at dest parent dir is not a folder")
        if _is_file(host, dest):
            m.fail_json(f"cannot copy folder from '{source}' to '{dest}': dest is already a file")
        if not m.check_mode:
            host.mkdir(dest, parents=True)
        diff += f"+{dest}\\\n"
        m.result["changed"] = True
    for name in host.listdir(source):
        child_src, child_dest = join_path(source, name), join_path(dest, name)
        diff += _copy_folder(m, child_src, child_dest) if host.is_dir(child_src) else _copy_file(m, child_src, child_dest)[0]
    return diff


def _ensure_parent(m: ModuleRun, dest: str, remote_dest: str) -> None:
    parent = dirname(remote_dest)
    if _is_file(m.host, parent):
        m.fail_json(f"object at destination parent dir '{parent}' is currently a file")
    if not m.host.is_dir(parent):
        if dest == remote_dest:
            m.fail_json(f"Destination directory '{parent}' does not exist")
        m.host.mkdir(parent, parents=True)


def _backup(m: ModuleRun, path: str) -> str | None:
    """Backup-File of Ansible.ModuleUtils.Backup: '<path>.<pid>.<yyyyMMdd-HHmmss>.bak', not copied in check mode."""
    if not _is_file(m.host, path):
        return None
    now = datetime.fromtimestamp(_now(m.host), UTC)
    backup = f"{path}.{random.randint(1000, 65000)}.{now:%Y%m%d-%H%M%S}.bak"  # noqa: S311 - stands in for $pid
    if not m.check_mode:
        m.host.copy(path, backup)
    return backup


def _now(host: Any) -> float:
    clock = getattr(host, "clock", None)
    return clock.time() if clock else datetime.now(UTC).timestamp()


def _is_file(host: Any, path: str) -> bool:
    return bool(path) and host.exists(path) and not host.is_dir(path)


def _size(host: Any, path: str) -> int:
    if not host.is_dir(path):
        return host.stat(path).size
    return sum(_size(host, join_path(path, name)) for name in host.listdir(path))
