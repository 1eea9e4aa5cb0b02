"""System programs every simulated host has in C:\\Windows\\System32: cmd.exe (a small subset), hostname.exe, whoami.exe,
shutdown.exe, powershell.exe (not modelled: PowerShell work goes through module twins) and a `stub` kind for test media."""

from __future__ import annotations

import re

from simulator.programs import ProcessContext, program
from simulator.winerror import WinError

_NOT_RECOGNISED = "'{0}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
_OPERATOR = re.compile(r'("[^"]*")|(&&|\|\||&)')
_REDIRECT = re.compile(r'(2>&1|[12]?>>?\s*("[^"]+"|[^\s&|]+))')


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


# -- cmd.exe ---------------------------------------------------------------------------------------------------------------
@program("cmd")
def cmd(ctx: ProcessContext) -> int:
    """cmd.exe /c <command> (also /k, and batch files): echo, exit [/b] n, type, cd, set, ver, rem, md, del, &, &&, ||,
    > and >> redirection, %VAR% expansion; anything else runs as a program."""
    shell = _Cmd(ctx)
    try:
        if "batch" in ctx.args:
            for line in ctx.host.read_text(ctx.args["batch"]).splitlines():
                if line.strip() and not line.strip().startswith(("@echo off", "::")):
                    shell.line(line.lstrip("@"))
            return shell.rc
        command = _after_switch(ctx.command_line)
        if command is None:
            for line in ctx.stdin.splitlines():
                shell.line(line)
            return shell.rc
        shell.line(command)
        return shell.rc
    except _Exit as e:
        return e.code


def _after_switch(command_line: str) -> str | None:
    """The command after /c or /k, with cmd's quote rule: a leading quote and the last quote are stripped."""
    m = re.search(r"(?:^|\s)/[cCkK](?:\s+|(?=\"))", command_line)
    if not m:
        return None
    rest = command_line[m.end() :]
    if rest.startswith('"'):
        last = rest.rfind('"')
        rest = rest[1:last] + rest[last + 1 :] if last > 0 else rest[1:]
    return rest


class _Cmd:
    def __init__(self, ctx: ProcessContext) -> None:
        self.ctx = ctx
        self.rc = 0

    def line(self, text: str) -> None:
        expanded = re.sub(r"%([^%]+)%", self._var, text)
        pending_op = None
        pos = 0
        for m in _OPERATOR.finditer(expanded):
            if m.group(2):
                self._step(pending_op, expanded[pos : m.start()])
                pending_op, pos = m.group(2), m.end()
        self._step(pending_op, expanded[pos:])

    def _var(self, m: re.Match[str]) -> str:
        name = m.group(1)
        if name.casefold() == "errorlevel":
            return str(self.rc)
        if name.casefold() == "cd":
            return self.ctx.cwd
        return next((v for k, v in self.ctx.env.items() if k.casefold() == name.casefold()), m.group(0))

    def _step(self, op: str | None, command: str) -> None:
        if (op == "&&" and self.rc != 0) or (op == "||" and self.rc == 0) or not command.strip():
            return
        command, redirects = _split_redirects(command)
        out, err = [], []
        self.rc = self._simple(command.lstrip(), out, err)  # echo keeps trailing spaces, as in `echo a & echo b`
        self._route("".join(out), "".join(err), redirects)

    def _route(self, out: str, err: str, redirects: list[tuple[str, str]]) -> None:
        targets = {"1": None, "2": None}
        for stream, target in redirects:
            targets[stream] = target
        for stream, text in (("1", out), ("2", err)):
            target = targets[stream]
            if target == "&1":
                self.ctx.out(text)
            elif target is None:
                (self.ctx.out if stream == "1" else self.ctx.err)(text)
            elif target.casefold() != "nul" and text:
                path, append = target.lstrip(">"), target.startswith(">")
                self.ctx.host.write_bytes(self.ctx.resolve(path), text.encode("utf-8"), append=append)

    def _simple(self, command: str, out: list[str], err: list[str]) -> int:
        word, _sep, rest = command.partition(" ")
        word = word.rstrip()
        low = word.casefold()
        if low.startswith("echo") and low[4:5] in (".", ""):
            text = rest if low == "echo" else word[5:] + (" " + rest if rest else "")
            if low == "echo" and rest.strip().casefold() in ("on", "off"):
                return self.rc
            out.append(("ECHO is on." if low == "echo" and not rest else text) + "\r\n")
            return 0
        if low == "exit":
            args = rest.split()
            code = int(args[-1]) if args and args[-1].lstrip("-").isdigit() else self.rc
            raise _Exit(code)
        if low == "rem":
            return self.rc
        handler = getattr(self, f"_cmd_{low}", None)
        if handler is not None:
            return handler(rest.strip(), out, err)
        try:
            result = self.ctx.run(command)
        except WinError:
            err.append(_NOT_RECOGNISED.format(word))
            return 9009
        out.append(result.stdout)
        err.append(result.stderr)
        return result.rc

    def _cmd_ver(self, rest: str, out: list[str], err: list[str]) -> int:
        host = self.ctx.host
        out.append(f"\r\nMicrosoft Windows [Version {host.os_version}.{host.state.os.get('ubr', 0)}]\r\n")
        return 0

    def _cmd_cd(self, rest: str, out: list[str], err: list[str]) -> int:
        if not rest:
            out.append(self.ctx.cwd + "\r\n")
            return 0
        target = self.ctx.resolve(rest.removeprefix("/d ").strip('"'))
        if not self.ctx.host.is_dir(target):
            err.append("The system cannot find the path specified.\r\n")
            return 1
        self.ctx.cwd = target
        return 0

    _cmd_chdir = _cmd_cd

    def _cmd_set(self, rest: str, out: list[str], err: list[str]) -> int:
        if "=" not in rest:
            prefix = rest.casefold()
            for k, v in sorted(self.ctx.env.items(), key=lambda kv: kv[0].casefold()):
                if k.casefold().startswith(prefix):
                    out.append(f"{k}={v}\r\n")
            return 0
        name, _sep, value = rest.partition("=")
        self.ctx.env[name] = value
        return 0

    def _cmd_type(self, rest: str, out: list[str], err: list[str]) -> int:
        try:
            out.append(self.ctx.host.read_bytes(self.ctx.resolve(rest.strip('"'))).decode("utf-8", "replace"))
            return 0
        except WinError as e:
            err.append(e.message + "\r\n")
            return 1

    def _cmd_md(self, rest: str, out: list[str], err: list[str]) -> int:
        path = self.ctx.resolve(rest.strip('"'))
        if self.ctx.host.exists(path):
            err.append(f"A subdirectory or file {rest} already exists.\r\n")
            return 1
        self.ctx.host.mkdir(path)
        return 0

    _cmd_mkdir = _cmd_md

    def _cmd_del(self, rest: str, out: list[str], err: list[str]) -> int:
        args = [a for a in rest.split() if not a.startswith("/")]
        for a in args:
            path = self.ctx.resolve(a.strip('"'))
            if not self.ctx.host.exists(path):
                err.append(f"Could Not Find {path}\r\n")
                continue
            self.ctx.host.remove(path, force="/f" in rest.casefold())
        return 0

    _cmd_erase = _cmd_del


def _split_redirects(command: str) -> tuple[str, list[tuple[str, str]]]:
    redirects: list[tuple[str, str]] = []

    def take(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "2>&1":
            redirects.append(("2", "&1"))
            return ""
        stream = "2" if token.startswith("2") else "1"
        append = ">>" in token
        target = m.group(2).strip('"')
        redirects.append((stream, (">" if append else "") + target))
        return ""

    stripped = _REDIRECT.sub(take, command)
    return stripped, redirects


# -- small system programs ---------------------------------------------------------------------------------------------------
@program("hostname")
def hostname(ctx: ProcessContext) -> int:
    ctx.out(ctx.host.name + "\r\n")
    return 0


@program("whoami")
def whoami(ctx: ProcessContext) -> int:
    """whoami prints DOMAIN\\user in lower case."""
    user = ctx.user
    if user == "NT AUTHORITY\\SYSTEM":
        user = "nt authority\\system"
    ctx.out(user.casefold() + "\r\n")
    return 0


@program("shutdown")
def shutdown(ctx: ProcessContext) -> int:
    """shutdown /r | /s | /p | /a [/t seconds (default 30)] [/c comment] [/f]."""
    flags = [a.casefold() for a in ctx.argv[1:]]
    delay = 30.0
    comment = ""
    for i, a in enumerate(flags):
        if a in ("/t", "-t") and i + 1 < len(flags):
            delay = float(flags[i + 1])
        if a in ("/c", "-c") and i + 1 < len(ctx.argv) - 1:
            comment = ctx.argv[i + 2]
    host = ctx.host
    try:
        if "/a" in flags or "-a" in flags:
            if not host.abort_shutdown():
                ctx.err("Unable to abort the system shutdown because no shutdown was in progress.(1116)\r\n")
                return 1116
            return 0
        if "/r" in flags or "-r" in flags:
            host.reboot(delay, user=ctx.user, comment=comment)
            return 0
        if "/s" in flags or "/p" in flags or "-s" in flags:
            host.power_off()
            return 0
    except WinError as e:
        ctx.err(f"{host.name}: {e.message}({e.code})\r\n")
        return e.code
    ctx.err("Usage: shutdown [/i | /l | /s | /sg | /r | /g | /a | /p | /h | /e | /o] [/hybrid] [/soft] [/fw] [/f]\r\n")
    return 87


@program("powershell")
def powershell(ctx: ProcessContext) -> int:
    ctx.err("powershell.exe is not modelled by the simulator: PowerShell runs only as Ansible payloads decoded into module twins.\r\n")
    return 1


@program("stub")
def stub(ctx: ProcessContext) -> int:
    """A placeholder executable for test media: prints args.stdout / args.stderr, takes args.seconds, returns args.rc."""
    ctx.sleep(float(ctx.args.get("seconds", 0)))
    ctx.out(str(ctx.args.get("stdout", "")))
    ctx.err(str(ctx.args.get("stderr", "")))
    return int(ctx.args.get("rc", 0))
