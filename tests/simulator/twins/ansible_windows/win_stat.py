"""ansible.windows.win_stat: file/folder facts, the checksum fetch and win_copy rely on.

Links and hard links are not modelled by the host, so ``islnk``/``isjunction`` are always false and ``nlink`` is 1.
"""

from __future__ import annotations

from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import extension, file_hash, seconds


@twin("ansible.windows.win_stat")
def win_stat(m: ModuleRun) -> None:
    path = m.params["path"]
    m.result["stat"] = {"exists": False}
    if not m.host.exists(path):
        return
    info = m.host.stat(path)
    names = info.attribute_names
    stat: dict[str, Any] = {
        "exists": True,
        "attributes": ", ".join(names),
        "isarchive": "Archive" in names,
        "isdir": False,
        "ishidden": "Hidden" in names,
        "isjunction": False,
        "islnk": False,
        "isreadonly": "ReadOnly" in names,
        "isreg": False,
        "isshared": False,
        "nlink": 1,
        "hlnk_targets": [],
        "creationtime": seconds(info.ctime),
        "lastaccesstime": seconds(info.atime),
        "lastwritetime": seconds(info.mtime),
        "path": info.path,
        "filename": info.name,
        "owner": _owner(m.host, path),
    }
    if info.is_dir:
        stat["isdir"] = True
        share = _share_name(m.host, info.path)
        if share:
            stat["isshared"], stat["sharename"] = True, share
        if m.params["get_size"]:
            stat["size"] = _folder_size(m.host, path)
    else:
        stat["extension"] = extension(info.name)
        stat["isreg"] = True
        if m.params["get_checksum"]:
            stat["checksum"] = file_hash(m.host, path, m.params["checksum_algorithm"])
        if m.params["get_size"]:
            stat["size"] = info.size
    m.result["stat"] = stat


def _owner(host: Any, path: str) -> str | None:
    getter = getattr(host, "get_owner", None)
    return getter(path) if getter else "BUILTIN\\Administrators"


def _share_name(host: Any, path: str) -> str | None:
    finder = getattr(host, "share_name", None)
    return finder(path) if finder else None


def _folder_size(host: Any, path: str) -> int:
    total = 0
    for name in host.listdir(path):
        child = f"{path.rstrip(chr(92))}\\{name}"
        info = host.stat(child)
        total += _folder_size(host, child) if info.is_dir else info.size
    return total
