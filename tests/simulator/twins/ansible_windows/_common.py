"""Small Windows helpers shared by the ansible.windows twins (path functions as .NET/PowerShell behave)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def file_hash(host: Any, path: str, algorithm: str = "sha1") -> str:
    """Lower-case hex digest of a file on the host (Get-FileHash / Get-FileChecksum)."""
    if callable(getattr(host, "checksum", None)):
        return host.checksum(path, algorithm.lower())
    return HASHES[algorithm.lower()](host.read_bytes(path), usedforsecurity=False).hexdigest()


def legacy_checksum(host: Any, path: str) -> str:
    """Ansible.ModuleUtils.Legacy Get-FileChecksum: sha1 of a file, '3' for a folder, '1' for nothing."""
    if host.exists(path) and not host.is_dir(path):
        return file_hash(host, path)
    return "3" if host.exists(path) else "1"


def seconds(moment: datetime | float) -> float:
    """Seconds since the epoch, as win_stat's ConvertTo-Timestamp computes them."""
    if isinstance(moment, int | float):
        return float(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH).total_seconds()


def has_trailing_sep(path: str) -> bool:
    return path.endswith(("\\", "/"))


def join_path(parent: str, child: str) -> str:
    """Join-Path: exactly one separator between the parts."""
    return parent.rstrip("\\/") + "\\" + child.lstrip("\\/")


def dirname(path: str) -> str:
    """[IO.Path]::GetDirectoryName of a full path: '' for a root ('C:\\', '\\\\server\\share')."""
    p = path.replace("/", "\\")
    head, sep, _tail = p.rpartition("\\")
    if not sep:
        return ""
    if p.startswith("\\\\") and head.count("\\") <= 3:  # '\\server\\share' itself has no parent
        return "" if head.count("\\") < 3 else head
    if len(head) == 2 and head[1] == ":":
        return "" if p == head + "\\" else head + "\\"
    return head


def basename(path: str) -> str:
    """Split-Path -Leaf / [IO.Path]::GetFileName."""
    return path.replace("/", "\\").rstrip("\\").rpartition("\\")[2]


def extension(name: str) -> str:
    """[IO.Path]::GetExtension: from the last dot; '' without a dot or when the name ends with one."""
    index = name.rfind(".")
    return name[index:] if 0 <= index < len(name) - 1 else ""
