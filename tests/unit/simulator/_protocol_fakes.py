"""A small in-memory stand-in for simulator.host.Host, for the protocol layers' unit tests.

It implements only what payload.py and server.py call, with Windows-like errors; the real Host is tested by its own suite
and end to end in tests/simulator/tests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.faults import FaultSet
from simulator.winerror import WinError


class FakeClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return datetime.now(UTC).timestamp() + self.offset

    def real_seconds(self, sim: float) -> float:
        return sim * 0.01

    def sleep(self, sim: float) -> None:
        threading.Event().wait(self.real_seconds(sim))


@dataclass
class FakeProcess:
    rc: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class FakeHost:
    name: str
    root: Path
    address: str = "127.0.10.1"
    accounts: dict[str, dict[str, Any]] = field(default_factory=lambda: {"Administrator": {"password": "Passw0rd!", "admin": True}})
    registry: set[str] = field(default_factory=set)
    boot_time: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    reboots: list[float] = field(default_factory=list)
    saves: int = 0
    runs: list[tuple[str, str | None]] = field(default_factory=list)
    clock: FakeClock = field(default_factory=FakeClock)
    domain_joined: bool = False

    # -- files: C:\x\y → root/C/x/y (case-insensitive enough for tests: lower-cased) -------------------------------
    def resolve(self, path: str) -> Path:
        norm = path.replace("/", "\\").rstrip("\\")
        drive, _sep, rest = norm.partition(":")
        return self.root.joinpath(drive.upper(), *[p.lower() for p in rest.split("\\") if p and p != "."])

    def exists(self, path: str) -> bool:
        return self.resolve(path).exists()

    def is_dir(self, path: str) -> bool:
        return self.resolve(path).is_dir()

    def read_bytes(self, path: str) -> bytes:
        real = self.resolve(path)
        if not real.is_file():
            raise WinError(2, path=path)
        return real.read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        real = self.resolve(path)
        if not real.parent.is_dir():
            raise WinError(3, path=path)
        real.write_bytes(data)

    def mkdir(self, path: str, parents: bool = True, exist_ok: bool = True) -> bool:
        self.resolve(path).mkdir(parents=parents, exist_ok=exist_ok)
        return True

    def remove(self, path: str, recursive: bool = False) -> None:
        real = self.resolve(path)
        if not real.exists():
            raise WinError(2, path=path)
        if real.is_dir():
            if any(real.iterdir()) and not recursive:
                raise WinError(145, path=path)
            import shutil

            shutil.rmtree(real)
        else:
            real.unlink()

    def copy(self, src: str, dst: str, overwrite: bool = True) -> None:
        self.write_bytes(dst, self.read_bytes(src))

    # -- registry (keys only) ----------------------------------------------------------------------------------------
    def reg_get_key(self, path: str) -> object | None:
        return path.lower() if path.lower() in self.registry else None

    def reg_delete_key(self, path: str, recurse: bool = False) -> None:
        if path.lower() not in self.registry:
            raise WinError(2)
        self.registry.discard(path.lower())

    # -- processes and power -----------------------------------------------------------------------------------------
    def run(self, command_line: str, user: str | None = None) -> FakeProcess:
        self.runs.append((command_line, user))
        if command_line.strip().lower() == "hostname":
            return FakeProcess(0, self.name + "\r\n")
        raise WinError(2, path=command_line.split(maxsplit=1)[0])  # Host.run: program not found

    def reboot(self, delay_s: float = 0, user: str = "", comment: str = "") -> None:
        """Record the request. The fake never goes down on a timer of its own (a wall-clock timer raced the test's next
        step on a busy machine): a test that wants the boot to have happened calls boot()."""
        self.reboots.append(delay_s)

    def boot(self) -> None:
        """What the end of a reboot changes that the protocol layers look at: boot time and LogonUI's AutoLogonChecked key."""
        self.boot_time = datetime.now(UTC)
        self.registry.add(r"hklm:\software\microsoft\windows nt\currentversion\winlogon\autologonchecked")

    def is_up(self) -> bool:
        """Always: the fake has no down time (boot() is the whole reboot, done when the test says so)."""
        return True

    def save(self) -> None:
        self.saves += 1


@dataclass
class FakeEstate:
    hosts: dict[str, FakeHost]
    state_dir: Path
    name: str = "lab"
    allow_unencrypted: bool = False
    faults: FaultSet = field(default_factory=FaultSet)
    clock: FakeClock = field(default_factory=FakeClock)
