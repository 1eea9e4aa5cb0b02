"""Files of a simulated host: Windows paths mapped onto the host's fs/<DRIVE>/ folder, with attributes, a simple ACL model and
free space per drive. UNC paths resolve through the estate's shares (and the administrative X$ / ADMIN$ shares) to the
owning host, whose faults, free space and metadata then apply."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from simulator import winpath
from simulator.hoststate import ATTRIBUTES, AccessRule, FileInfo, FileMeta, utc
from simulator.winerror import (
    ERROR_ACCESS_DENIED,
    ERROR_ALREADY_EXISTS,
    ERROR_BAD_NET_NAME,
    ERROR_BAD_NETPATH,
    ERROR_DIR_NOT_EMPTY,
    ERROR_DIRECTORY,
    ERROR_DISK_FULL,
    ERROR_FILE_NOT_FOUND,
    ERROR_PATH_NOT_FOUND,
    WinError,
)
from simulator.winpath import WinPath

if TYPE_CHECKING:
    from simulator.host import Host

_DIR = ATTRIBUTES["Directory"]
_ARCHIVE = ATTRIBUTES["Archive"]
_READONLY = ATTRIBUTES["ReadOnly"]

# FileSystemRights (System.Security.AccessControl) as sets of the basic rights they grant.
_BASIC = (
    "ReadData",
    "WriteData",
    "AppendData",
    "ReadExtendedAttributes",
    "WriteExtendedAttributes",
    "ExecuteFile",
    "DeleteSubdirectoriesAndFiles",
    "ReadAttributes",
    "WriteAttributes",
    "Delete",
    "ReadPermissions",
    "ChangePermissions",
    "TakeOwnership",
    "Synchronize",
)
_ALIASES = {"ListDirectory": "ReadData", "CreateFiles": "WriteData", "CreateDirectories": "AppendData", "Traverse": "ExecuteFile"}
_READ = {"ReadData", "ReadExtendedAttributes", "ReadAttributes", "ReadPermissions", "Synchronize"}
_WRITE = {"WriteData", "AppendData", "WriteExtendedAttributes", "WriteAttributes", "Synchronize"}
_COMPOSITE: dict[str, set[str]] = {
    "Read": _READ,
    "Write": _WRITE,
    "ReadAndExecute": _READ | {"ExecuteFile"},
    "Modify": _READ | _WRITE | {"ExecuteFile", "Delete"},
    "FullControl": set(_BASIC),
}
RIGHTS = (*_COMPOSITE, *_BASIC, *_ALIASES)

# What a fresh NTFS volume root grants (simplified from a Windows Server C:\ root).
DEFAULT_ROOT_ACL = (
    AccessRule("BUILTIN\\Administrators", ["FullControl"]),
    AccessRule("NT AUTHORITY\\SYSTEM", ["FullControl"]),
    AccessRule("BUILTIN\\Users", ["ReadAndExecute"]),
)


def expand_rights(rights: list[str] | str) -> set[str]:
    names = [rights] if isinstance(rights, str) else rights
    out: set[str] = set()
    lookup = {r.casefold(): r for r in RIGHTS}
    for raw in names:
        for part in str(raw).split(","):
            name = lookup.get(part.strip().casefold())
            if name is None:
                raise ValueError(f"unknown file system right {part.strip()!r}; known: {', '.join(RIGHTS)}")
            name = _ALIASES.get(name, name)
            out |= _COMPOSITE.get(name, {name})
    return out


class FilesMixin:
    """File operations of Host (see host.py for the state and locking this relies on)."""

    # -- path resolution -------------------------------------------------------------------------------------------------
    def parse_path(self: Host, path: str | WinPath, cwd: str | None = None) -> WinPath:
        return path if isinstance(path, WinPath) else winpath.parse(path, cwd)

    def _locate(self: Host, path: str | WinPath) -> tuple[Host, WinPath]:
        """The host that owns the path and the path as a local drive path on it."""
        wp = self.parse_path(path)
        self.tick()  # a file operation sees the host as it is now (e.g. on-boot work done)
        if not wp.is_unc:
            return self, wp
        owner = self._unc_server(wp)
        if owner is not self:
            self._check_second_hop(wp)
            owner.tick()
        share = wp.share
        if len(share) == 2 and share.endswith("$") and share[0].isalpha():  # administrative share C$
            return owner, WinPath(drive=share[0].upper(), parts=wp.parts)
        if share.casefold() == "admin$":
            return owner, WinPath(drive="C", parts=("Windows", *wp.parts))
        target = self.estate.share_path(owner.name, share) if self.estate else None
        if target is None:
            raise WinError(ERROR_BAD_NET_NAME, path=str(wp))
        base = winpath.parse(target)
        return owner, WinPath(drive=base.drive, parts=base.parts + wp.parts)

    def _check_second_hop(self: Host, wp: WinPath) -> None:
        """A network logon without delegable credentials (WinRM with NTLM, no become/CredSSP) reaches other hosts as
        ANONYMOUS LOGON: the classic second hop, access denied. Only enforced inside logon_session(delegation=False)."""
        session = self.current_session()
        if session is not None and not session.delegation:
            raise WinError(ERROR_ACCESS_DENIED, path=str(wp))

    def _unc_server(self: Host, wp: WinPath) -> Host:
        server = wp.server.casefold()
        if server in ("localhost", "127.0.0.1", ".") or server.split(".")[0] == self.name.casefold():
            return self
        if self.estate is not None:
            other = self.estate.host_by_server_name(wp.server)
            if other is not None:
                return other
        raise WinError(ERROR_BAD_NETPATH, path=str(wp))

    def resolve(self: Host, path: str | WinPath) -> Path:
        """Windows path -> real path under fs/ (of this host or the share's owner)."""
        owner, local = self._locate(path)
        return owner._real(local)

    def _real(self: Host, wp: WinPath) -> Path:
        if wp.drive not in self.state.drives:
            raise WinError(ERROR_PATH_NOT_FOUND, path=str(wp))
        cur = self.fs_root / wp.drive
        for i, part in enumerate(wp.parts):
            nxt = cur / part
            if not os.path.lexists(nxt):
                match = _casefold_lookup(cur, part)
                if match is None:
                    return cur.joinpath(*wp.parts[i:])
                nxt = cur / match
            cur = nxt
        return cur

    @staticmethod
    def _display(wp: WinPath, real: Path) -> str:
        """The path as Windows prints it: the requested root with the real case of the existing segments (resolution
        maps segment to segment, so the last len(parts) real segments are the requested ones)."""
        if not wp.parts:
            return str(wp)
        return str(WinPath(wp.drive, wp.server, wp.share, tuple(real.parts[-len(wp.parts) :])))

    def _missing(self: Host, real: Path, wp: WinPath) -> WinError:
        """ERROR_PATH_NOT_FOUND when the parent is missing too, else ERROR_FILE_NOT_FOUND (as CreateFile reports)."""
        code = ERROR_FILE_NOT_FOUND if real.parent.is_dir() else ERROR_PATH_NOT_FOUND
        return WinError(code, path=str(wp))

    # -- queries ---------------------------------------------------------------------------------------------------------
    def exists(self: Host, path: str) -> bool:
        try:
            return self.resolve(path).exists()
        except WinError:
            return False

    def is_dir(self: Host, path: str) -> bool:
        try:
            return self.resolve(path).is_dir()
        except WinError:
            return False

    def stat(self: Host, path: str) -> FileInfo:
        owner, local = self._locate(path)
        with owner.lock:
            owner.tick()
            real = owner._real(local)
            if not real.exists():
                raise owner._missing(real, local)
            return owner._info(local, real, self.parse_path(path))

    def _info(self: Host, local: WinPath, real: Path, shown: WinPath) -> FileInfo:
        st = real.stat()
        is_dir = real.is_dir()
        display = self._display(shown, real)
        return FileInfo(
            path=display,
            name=real.name if local.parts else "",
            is_dir=is_dir,
            size=0 if is_dir else st.st_size,
            mtime=utc(st.st_mtime),
            ctime=utc(min(st.st_ctime, st.st_mtime)),
            atime=utc(st.st_atime),
            attributes=self._attributes(local, is_dir),
        )

    def _attributes(self: Host, local: WinPath, is_dir: bool) -> int:
        meta = self.state.files_meta.get(local.key)
        if meta is not None and meta.attributes is not None:
            flags = meta.attributes
        else:
            flags = 0 if is_dir else _ARCHIVE  # new files carry Archive; plain folders only Directory
        return flags | _DIR if is_dir else flags

    def listdir(self: Host, path: str) -> list[str]:
        real = self._existing(path)
        if not real.is_dir():
            raise WinError(ERROR_DIRECTORY, path=path)
        return sorted((p.name for p in real.iterdir()), key=str.casefold)

    def walk(self: Host, path: str) -> Iterator[FileInfo]:
        """Every file and folder below `path` (depth first, parents before children)."""
        for name in self.listdir(path):
            child = str(self.parse_path(path).joinpath(name))
            info = self.stat(child)
            yield info
            if info.is_dir:
                yield from self.walk(child)

    def read_bytes(self: Host, path: str, *, share: str | None = None) -> bytes:
        """The file's content. With `share` ("read": File.ReadAllBytes/ReadAllLines, Get-Content; "readwrite": a FileStream
        opened with FileShare.ReadWrite) the open obeys the handles running processes hold (Host.hold_open): 32 when a
        writer does not let this reader in. Without it the read is not checked (callers that do not model an open)."""
        real = self._existing(path)
        if real.is_dir():
            raise WinError(ERROR_ACCESS_DENIED, path=path)  # CreateFile on a folder without backup semantics
        if share is not None:
            self.check_sharing(path, access="read", share=share)
        return real.read_bytes()

    def read_text(self: Host, path: str, encoding: str = "utf-8-sig") -> str:
        return self.read_bytes(path).decode(encoding)

    def checksum(self: Host, path: str, algorithm: str = "sha1") -> str:
        h = hashlib.new(algorithm)
        with open(self._existing(path), "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    def _existing(self: Host, path: str) -> Path:
        owner, local = self._locate(path)
        real = owner._real(local)
        if not real.exists():
            raise owner._missing(real, local)
        return real

    # -- changes ---------------------------------------------------------------------------------------------------------
    def write_bytes(self: Host, path: str, data: bytes, *, append: bool = False) -> None:
        owner, local = self._locate(path)
        with owner.lock, owner.mutating():
            real = owner._real(local)
            if not real.parent.is_dir() or not local.parts:
                raise WinError(ERROR_PATH_NOT_FOUND, path=path)
            if real.is_dir():
                raise WinError(ERROR_ACCESS_DENIED, path=path)
            old = real.stat().st_size if real.exists() else 0
            if real.exists() and owner._attributes(local, False) & _READONLY:
                raise WinError(ERROR_ACCESS_DENIED, path=path)
            new = old + len(data) if append else len(data)
            owner._reserve(local.drive, new - old, path)
            with open(real, "ab" if append else "wb") as fh:
                fh.write(data)
            owner._touch(real)
            owner._set_archive(local)

    def write_text(self: Host, path: str, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(path, text.encode(encoding))

    def mkdir(self: Host, path: str, parents: bool = True, exist_ok: bool = True) -> bool:
        """Create a folder; True if it was created."""
        owner, local = self._locate(path)
        with owner.lock, owner.mutating():
            real = owner._real(local)
            if real.exists():
                if real.is_dir() and exist_ok:
                    return False
                raise WinError(ERROR_ALREADY_EXISTS, path=path)
            if not parents and not real.parent.is_dir():
                raise WinError(ERROR_PATH_NOT_FOUND, path=path)
            # create segment by segment so existing segments keep their real case
            cur = local
            missing: list[WinPath] = []
            while cur.parts and not owner._real(cur).exists():
                missing.append(cur)
                cur = cur.parent
            if not owner._real(cur).is_dir():
                raise WinError(ERROR_ALREADY_EXISTS if owner._real(cur).exists() else ERROR_PATH_NOT_FOUND, path=path)
            for wp in reversed(missing):
                target = owner._real(wp)
                target.mkdir()
                owner._touch(target)
            return True

    def remove(self: Host, path: str, recursive: bool = False, force: bool = False) -> None:
        """Delete a file or folder. A non-empty folder needs `recursive` (else 145); a ReadOnly file needs `force` (else 5)."""
        owner, local = self._locate(path)
        with owner.lock, owner.mutating():
            real = owner._real(local)
            if not real.exists():
                raise owner._missing(real, local)
            if not local.parts:
                raise WinError(ERROR_ACCESS_DENIED, path=path)
            if real.is_dir():
                if any(real.iterdir()) and not recursive:
                    raise WinError(ERROR_DIR_NOT_EMPTY, path=path)
                if not force and owner._readonly_below(local, real):
                    raise WinError(ERROR_ACCESS_DENIED, path=path)
                freed = _tree_size(real)
                shutil.rmtree(real)
            else:
                if owner._attributes(local, False) & _READONLY and not force:
                    raise WinError(ERROR_ACCESS_DENIED, path=path)
                freed = real.stat().st_size
                real.unlink()
            owner._release(local.drive, freed)
            owner._drop_meta(local)

    def copy(self: Host, src: str, dst: str, overwrite: bool = True) -> None:
        """CopyFile semantics for files (last write time and attributes kept, ACL inherited at the destination);
        folders are copied recursively."""
        s_owner, s_local = self._locate(src)
        s_real = s_owner._real(s_local)
        if not s_real.exists():
            raise s_owner._missing(s_real, s_local)
        if s_real.is_dir():
            self.mkdir(dst)
            for name in self.listdir(src):
                self.copy(str(self.parse_path(src).joinpath(name)), str(self.parse_path(dst).joinpath(name)), overwrite)
            return
        d_owner, d_local = self._locate(dst)
        d_real = d_owner._real(d_local)
        if d_real.exists() and (d_real.is_dir() or not overwrite):
            raise WinError(ERROR_ACCESS_DENIED if d_real.is_dir() else ERROR_ALREADY_EXISTS, path=dst)
        data = s_real.read_bytes()
        mtime = s_real.stat().st_mtime
        attrs = s_owner._attributes(s_local, False)
        self.write_bytes(dst, data)
        with d_owner.lock, d_owner.mutating():
            os.utime(d_owner._real(d_local), (mtime, mtime))
            if attrs != _ARCHIVE:
                d_owner._meta(d_local).attributes = attrs | _ARCHIVE

    def move(self: Host, src: str, dst: str) -> None:
        """MoveFile semantics: the destination must not exist (183); within a volume explicit ACLs and attributes move along."""
        s_owner, s_local = self._locate(src)
        d_owner, d_local = self._locate(dst)
        s_real = s_owner._real(s_local)
        if not s_real.exists():
            raise s_owner._missing(s_real, s_local)
        d_real = d_owner._real(d_local)
        if d_real.exists() and d_real != s_real:
            raise WinError(ERROR_ALREADY_EXISTS, path=dst)
        if not d_real.parent.is_dir():
            raise WinError(ERROR_PATH_NOT_FOUND, path=dst)
        if s_owner is d_owner and s_local.drive == d_local.drive:
            with s_owner.lock, s_owner.mutating():
                s_real.replace(d_real)
                s_owner._move_meta(s_local, d_local)
            return
        self.copy(src, dst)
        self.remove(src, recursive=True, force=True)

    def mkdtemp(self: Host, base: str, prefix: str = "tmp") -> str:
        """Create a uniquely named folder under `base` (created if missing) and return its Windows path."""
        self.mkdir(base)
        while True:
            candidate = str(self.parse_path(base).joinpath(prefix + secrets.token_hex(4)))
            if self.mkdir(candidate, exist_ok=True):
                return self.stat(candidate).path

    def set_mtime(self: Host, path: str, when: datetime | float) -> None:
        ts = when.timestamp() if isinstance(when, datetime) else float(when)
        real = self._existing(path)
        os.utime(real, (ts, ts))

    def set_attributes(self: Host, path: str, attributes: int) -> None:
        """Set FILE_ATTRIBUTE_* flags (the Directory bit is implied by the item)."""
        owner, local = self._locate(path)
        with owner.lock, owner.mutating():
            owner._existing(str(local))
            owner._meta(local).attributes = attributes & ~_DIR

    # -- ACLs ------------------------------------------------------------------------------------------------------------
    def get_acl(self: Host, path: str) -> list[AccessRule]:
        """Effective ACEs in canonical order: explicit ones first, then inherited ones from the nearest parent up."""
        owner, local = self._locate(path)
        with owner.lock:
            owner._existing(str(local))
            return owner._effective_acl(local)

    def _effective_acl(self: Host, local: WinPath) -> list[AccessRule]:
        out: list[AccessRule] = []
        cur: WinPath | None = local
        inherited = False
        while cur is not None:
            meta = self.state.files_meta.get(cur.key)
            if meta is not None and meta.acl is not None:
                out += [AccessRule(r.identity, list(r.rights), r.type, inherited) for r in meta.acl]
                if meta.acl_protected:
                    return _canonical(out)
            if not cur.parts:
                if meta is None or meta.acl is None:
                    out += [AccessRule(r.identity, list(r.rights), r.type, inherited) for r in DEFAULT_ROOT_ACL]
                break
            cur = cur.parent
            inherited = True
        return _canonical(out)

    def set_acl(self: Host, path: str, rules: list[AccessRule], protected: bool | None = None) -> None:
        """Replace the explicit ACEs (inherited ones stay unless `protected` disables inheritance)."""
        for r in rules:
            expand_rights(r.rights)
            if r.type not in ("Allow", "Deny"):
                raise ValueError(f"access rule type must be Allow or Deny, not {r.type!r}")
        owner, local = self._locate(path)
        with owner.lock, owner.mutating():
            owner._existing(str(local))
            meta = owner._meta(local)
            meta.acl = [AccessRule(self.canonical_identity(r.identity), list(r.rights), r.type) for r in rules]
            if protected is not None:
                meta.acl_protected = protected

    def add_access_rule(self: Host, path: str, rule: AccessRule) -> None:
        owner, local = self._locate(path)
        with owner.lock:
            meta = owner.state.files_meta.get(local.key)
            current = list(meta.acl) if meta is not None and meta.acl is not None else []
        self.set_acl(path, [*current, rule])

    def access_allowed(self: Host, path: str, identity: str, rights: list[str] | str) -> bool:
        """Would `identity` get all of `rights` on `path`? First matching ACE per right decides, in canonical order
        (explicit deny, explicit allow, inherited deny, inherited allow), as Windows evaluates a DACL."""
        needed = expand_rights(rights)
        principals = self.principals(identity)
        acl = self.get_acl(path)
        for right in needed:
            decision = None
            for ace in acl:
                if self.canonical_identity(ace.identity).casefold() in principals and right in expand_rights(ace.rights):
                    decision = ace.type == "Allow"
                    break
            if not decision:
                return False
        return True

    def get_owner(self: Host, path: str) -> str:
        """The owner: as set, else BUILTIN\\Administrators (what an administrator's token makes owner of new items)."""
        owner, local = self._locate(path)
        with owner.lock:
            owner._existing(str(local))
            meta = owner.state.files_meta.get(local.key)
            return meta.owner if meta is not None and meta.owner else "BUILTIN\\Administrators"

    def set_owner(self: Host, path: str, identity: str) -> None:
        owner, local = self._locate(path)
        with owner.lock, owner.mutating():
            owner._existing(str(local))
            owner._meta(local).owner = owner.canonical_identity(identity)

    def share_name(self: Host, path: str) -> str | None:
        """The share whose folder is exactly `path` on this host (estate shares, and the administrative X$ for a drive root)."""
        owner, local = self._locate(path)
        if owner is not self:
            return None
        if not local.parts:
            return f"{local.drive}$"
        if self.estate is not None:
            for name, target in self.estate.shares_of(self.name).items():
                if winpath.parse(target).key == local.key:
                    return name
        return None

    def file_version(self: Host, path: str) -> str | None:
        """The file version of a simulated program (`file_version` in its marker JSON), as FileVersionInfo would report."""
        from simulator.programs import parse_marker  # programs sit above the host layer

        try:
            parsed = parse_marker(self.read_bytes(path)[:4096])
        except WinError:
            return None
        return str(parsed[1]["file_version"]) if parsed and "file_version" in parsed[1] else None

    # -- free space ------------------------------------------------------------------------------------------------------
    def free_bytes(self: Host, drive: str) -> int:
        letter = drive.rstrip(":\\/").upper()
        with self.lock:
            d = self.state.drives.get(letter)
            if d is None:
                raise WinError(ERROR_PATH_NOT_FOUND, path=f"{letter}:\\")
            if self.fault("full_volume", target=letter):
                return 0
            return d.free_bytes

    def _reserve(self: Host, letter: str, grow: int, path: str) -> None:
        if grow > 0 and grow > self.free_bytes(letter):
            raise WinError(ERROR_DISK_FULL, path=path)
        self.state.drives[letter].used_bytes += grow

    def _release(self: Host, letter: str, freed: int) -> None:
        d = self.state.drives[letter]
        d.used_bytes = max(0, d.used_bytes - freed)

    # -- metadata bookkeeping --------------------------------------------------------------------------------------------
    def _touch(self: Host, real: Path) -> None:
        ts = self.clock.time()
        os.utime(real, (ts, ts))

    def _meta(self: Host, local: WinPath) -> FileMeta:
        return self.state.files_meta.setdefault(local.key, FileMeta())

    def _set_archive(self: Host, local: WinPath) -> None:
        meta = self.state.files_meta.get(local.key)
        if meta is not None and meta.attributes is not None:
            meta.attributes |= _ARCHIVE

    def _readonly_below(self: Host, local: WinPath, real: Path) -> bool:
        prefix = local.key.rstrip("\\") + "\\"
        return any(k.startswith(prefix) and m.attributes is not None and m.attributes & _READONLY for k, m in self.state.files_meta.items())

    def _drop_meta(self: Host, local: WinPath) -> None:
        prefix = local.key + "\\"
        for key in [k for k in self.state.files_meta if k == local.key or k.startswith(prefix)]:
            del self.state.files_meta[key]

    def _move_meta(self: Host, src: WinPath, dst: WinPath) -> None:
        prefix = src.key + "\\"
        moved = {k: v for k, v in self.state.files_meta.items() if k == src.key or k.startswith(prefix)}
        for key, meta in moved.items():
            del self.state.files_meta[key]
            self.state.files_meta[dst.key + key[len(src.key) :]] = meta


def _casefold_lookup(folder: Path, name: str) -> str | None:
    want = name.casefold()
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.casefold() == want:
                    return entry.name
    except (FileNotFoundError, NotADirectoryError):
        return None
    return None


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _canonical(rules: list[AccessRule]) -> list[AccessRule]:
    order = {(False, "Deny"): 0, (False, "Allow"): 1, (True, "Deny"): 2, (True, "Allow"): 3}
    return sorted(rules, key=lambda r: order[(r.inherited, r.type)])  # stable: nearer parents stay first
