"""Windows path and command-line rules, independent of any host.

Path normalisation follows "File path formats on Windows systems" (learn.microsoft.com/dotnet/standard/io/file-path-formats):
`/` and `\\` are both separators, runs of separators collapse, `.` and `..` segments are evaluated, a segment's single
trailing period is dropped, and trailing periods and spaces of the last segment are dropped unless the path ends in a
separator. `\\\\?\\` paths skip normalisation. Comparison is case-insensitive; the spelling given is preserved.

Command lines follow CommandLineToArgvW / the MSVC runtime ("Parsing C++ command-line arguments").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.winerror import ERROR_INVALID_NAME, ERROR_PATH_NOT_FOUND, WinError

_INVALID_CHARS = re.compile(r'[<>:"|?*\x00-\x1f]')
_DRIVE = re.compile(r"^([A-Za-z]):(.*)$", re.DOTALL)


@dataclass(frozen=True)
class WinPath:
    """An absolute, normalised Windows path: a drive path (`C:\\x`) or a UNC path (`\\\\server\\share\\x`)."""

    drive: str = ""  # upper-case letter for drive paths
    server: str = ""  # UNC server (as given)
    share: str = ""  # UNC share (as given)
    parts: tuple[str, ...] = ()  # segments below the root, spelling preserved

    @property
    def is_unc(self) -> bool:
        return bool(self.server)

    @property
    def root(self) -> str:
        return f"\\\\{self.server}\\{self.share}" if self.is_unc else f"{self.drive}:"

    def __str__(self) -> str:
        if not self.parts:
            return self.root + "\\"
        return self.root + "\\" + "\\".join(self.parts)

    @property
    def key(self) -> str:
        """Case-insensitive identity of the path (what Windows compares)."""
        return str(self).casefold()

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else ""

    @property
    def parent(self) -> WinPath:
        return WinPath(self.drive, self.server, self.share, self.parts[:-1])

    def joinpath(self, *names: str) -> WinPath:
        return parse(str(self) + "\\" + "\\".join(names))

    def is_relative_to(self, other: WinPath) -> bool:
        if self.root.casefold() != other.root.casefold() or len(self.parts) < len(other.parts):
            return False
        return all(a.casefold() == b.casefold() for a, b in zip(self.parts, other.parts, strict=False))


def parse(path: str, cwd: str | WinPath | None = None) -> WinPath:
    """Parse and normalise a Windows path; relative paths need `cwd`. Raises WinError(123) for invalid syntax."""
    if not isinstance(path, str) or path == "":
        raise WinError(ERROR_INVALID_NAME, path=str(path))
    if path.startswith("\\\\?\\"):
        return _parse_verbatim(path)
    normalise = True
    if path.startswith(("\\\\.\\", "//./")):
        path = path[4:]
    p = path.replace("/", "\\")
    if p.startswith("\\\\"):
        return _parse_unc(p[2:], path, normalise)
    m = _DRIVE.match(p)
    if m:
        drive, rest = m.group(1).upper(), m.group(2)
        if not rest.startswith("\\"):  # drive-relative: C:foo
            base = _as_winpath(cwd) if cwd else None
            prefix = str(base) if base and not base.is_unc and base.drive == drive else f"{drive}:\\"
            return parse(prefix + "\\" + rest, None) if rest else parse(prefix)
        return WinPath(drive=drive, parts=_normalise(rest, path))
    base = _as_winpath(cwd) if cwd else None
    if p.startswith("\\"):  # rooted on the current drive
        root = base.root if base else "C:"
        return parse(root + p)
    if base is None:
        raise WinError(ERROR_PATH_NOT_FOUND, f"Relative path '{path}' needs a working directory.", path=path)
    return parse(str(base) + "\\" + p)


def _as_winpath(cwd: str | WinPath) -> WinPath:
    return cwd if isinstance(cwd, WinPath) else parse(cwd)


def _parse_unc(rest: str, original: str, normalise: bool) -> WinPath:
    bits = rest.split("\\")
    if len(bits) < 2 or not bits[0] or not bits[1]:
        raise WinError(ERROR_INVALID_NAME, path=original)
    server, share = bits[0], bits[1]
    for b in (server, share):
        if _INVALID_CHARS.search(b.replace("$", "")):
            raise WinError(ERROR_INVALID_NAME, path=original)
    tail = "\\".join(bits[2:])
    parts = _normalise("\\" + tail, original) if normalise else tuple(b for b in bits[2:] if b)
    return WinPath(server=server, share=share, parts=parts)


def _parse_verbatim(path: str) -> WinPath:
    rest = path[4:]
    if rest[:4].upper() == "UNC\\":
        return _parse_unc(rest[4:], path, normalise=False)
    m = _DRIVE.match(rest)
    if not m or (m.group(2) and not m.group(2).startswith("\\")):
        raise WinError(ERROR_INVALID_NAME, path=path)
    parts = tuple(b for b in m.group(2).split("\\") if b)
    for b in parts:
        if _INVALID_CHARS.search(b):
            raise WinError(ERROR_INVALID_NAME, path=path)
    return WinPath(drive=m.group(1).upper(), parts=parts)


def _normalise(rest: str, original: str) -> tuple[str, ...]:
    ends_with_sep = rest.endswith("\\")
    out: list[str] = []
    for seg in rest.split("\\"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        # a single trailing period is dropped from any segment
        out.append(seg[:-1] if seg.endswith(".") and not seg.endswith("..") else seg)
    if out and not ends_with_sep:
        last = out[-1].rstrip(". ")
        if last:
            out[-1] = last
        else:
            out.pop()
    for seg in out:
        if _INVALID_CHARS.search(seg) or seg.strip(" ") == "":
            raise WinError(ERROR_INVALID_NAME, path=original)
    return tuple(out)


# -- command lines ---------------------------------------------------------------------------------------------------
def split_command_line(cmdline: str) -> list[str]:
    """Split like CommandLineToArgvW: argv[0] ends at the first space outside quotes (no escapes in it); afterwards
    2n backslashes + `"` give n backslashes and toggle quoting, 2n+1 give n backslashes and a literal `"`, and `""`
    inside quotes is a literal quote."""
    s = cmdline.lstrip(" \t")
    if not s:
        return []
    argv: list[str] = []
    i, n = 0, len(s)
    # argv[0]
    if s[0] == '"':
        end = s.find('"', 1)
        end = n if end < 0 else end
        argv.append(s[1:end])
        i = end + 1
    else:
        while i < n and s[i] not in " \t":
            i += 1
        argv.append(s[:i])
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            return argv
        arg, i = _one_arg(s, i)
        argv.append(arg)


def _one_arg(s: str, i: int) -> tuple[str, int]:
    buf: list[str] = []
    quoted = False
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            j = i
            while j < n and s[j] == "\\":
                j += 1
            count = j - i
            if j < n and s[j] == '"':
                buf.append("\\" * (count // 2))
                if count % 2:
                    buf.append('"')
                    i = j + 1
                else:
                    i = j
            else:
                buf.append("\\" * count)
                i = j
            continue
        if c == '"':
            if quoted and i + 1 < n and s[i + 1] == '"':
                buf.append('"')
                i += 2
                continue
            quoted = not quoted
            i += 1
            continue
        if c in " \t" and not quoted:
            break
        buf.append(c)
        i += 1
    return "".join(buf), i


def quote_arg(arg: str) -> str:
    """Quote one argument so split_command_line gives it back unchanged."""
    if arg and not re.search(r'[\s"]', arg):
        return arg
    out = ['"']
    backslashes = 0
    for c in arg:
        if c == "\\":
            backslashes += 1
            continue
        if c == '"':
            out.append("\\" * (backslashes * 2 + 1) + '"')
        else:
            out.append("\\" * backslashes + c)
        backslashes = 0
    out.append("\\" * (backslashes * 2) + '"')
    return "".join(out)


def join_command_line(argv: list[str]) -> str:
    if not argv:
        return ""
    first = f'"{argv[0]}"' if re.search(r"\s", argv[0]) else argv[0]
    return " ".join([first, *(quote_arg(a) for a in argv[1:])])
