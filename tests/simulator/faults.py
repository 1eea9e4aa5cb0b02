"""Named faults an estate file or a test switches on.

The set of active faults lives in DIR/control.json (`{"faults": [{name, host, target, params}, ...]}`), the single source of
truth at run time: `start` copies the estate file's faults into it the first time, `python -m simulator fault on|off`
edits it, and every FaultSet re-reads it when the file changes (mtime/size/inode), so the server picks changes up without a
restart. Writers take an flock on DIR/control.lock and replace the file atomically.

Layers query with `FaultSet.get(host, name, target)` / `active(host, name)`; counted faults are used up with `consume`
(a `skip` parameter lets that many occasions pass first, so a test can aim at the n-th request of a task).
Built-in faults (DESIGN.md): service_wont_start, service_stops_after_start, full_volume, restart_during_program (applied by
host.py and programs/); drop_connection, slow_host (applied by the transport). Later issues add theirs with register_fault().
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.clock import atomic_write_text


@dataclass(frozen=True)
class FaultSpec:
    name: str
    layer: str  # host | transport | program (who applies it)
    description: str
    target: str | None = None  # what `target` names (None: the fault takes no target)
    params: Mapping[str, Any] = field(default_factory=dict)  # defaults


SPECS: dict[str, FaultSpec] = {}


def register_fault(spec: FaultSpec) -> FaultSpec:
    SPECS[spec.name] = spec
    return spec


register_fault(FaultSpec("service_wont_start", "host", "StartService fails with 1053 after the SCM's 30 s timeout; events 7009 + 7000.", "service"))
register_fault(
    FaultSpec("service_stops_after_start", "host", "The service stops again `seconds` after reaching RUNNING; event 7034.", "service", {"seconds": 5})
)
register_fault(FaultSpec("full_volume", "host", "The drive has no free space: writes that grow a file fail with 112.", "drive"))
register_fault(
    FaultSpec(
        "drop_connection",
        "transport",
        "The next `count` Command requests (after `skip` more) close the TCP connection (at: command = before running it, receive = after).",
        None,
        {"count": 1, "at": "command", "skip": 0},
    )
)
register_fault(FaultSpec("slow_host", "transport", "Every WinRM request is answered `seconds` (simulated) later.", None, {"seconds": 2}))
register_fault(
    FaultSpec(
        "restart_during_program",
        "program",
        "The host restarts without a clean shutdown `after` simulated seconds into a run of the program (its file name, e.g. "
        "Setup.exe): every process ends, the program's unsaved work is lost; events 6008 and Kernel-Power 41 at boot.",
        "program",
        {"after": 600, "count": 1},
    )
)


@dataclass(frozen=True)
class Fault:
    name: str
    host: str  # a host name, or "*" for every host
    target: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "target": self.target, "params": dict(self.params)}

    def matches(self, host: str, name: str | None = None, target: str | None = None) -> bool:
        if name is not None and self.name != name:
            return False
        if self.host != "*" and self.host.casefold() != host.casefold():
            return False
        return target is None or self.target is None or _norm_target(self.target) == _norm_target(target)


def _norm_target(target: str) -> str:
    return str(target).rstrip(":\\/").casefold()


def make_fault(name: str, host: str, target: str | None = None, params: Mapping[str, Any] | None = None) -> Fault:
    """A validated fault: known name, a target when the fault needs one, known params (defaults filled in)."""
    spec = SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(sorted(SPECS))}")
    if not host:
        raise ValueError(f"fault {name!r} needs a host (a host name or '*')")
    if spec.target and not target:
        raise ValueError(f"fault {name!r} needs a target ({spec.target})")
    if not spec.target and target:
        raise ValueError(f"fault {name!r} takes no target")
    merged = dict(spec.params)
    for key, value in (params or {}).items():
        if key not in spec.params:
            known = ", ".join(spec.params) or "none"
            raise ValueError(f"fault {name!r} has no parameter {key!r} (parameters: {known})")
        merged[key] = value
    return Fault(name, host, target, merged)


def fault_from_dict(d: Mapping[str, Any], default_host: str | None = None) -> Fault:
    if not isinstance(d, Mapping) or "name" not in d:
        raise ValueError(f"a fault must be a mapping with a 'name', not {d!r}")
    unknown = set(d) - {"name", "host", "target", "params"}
    if unknown:
        raise ValueError(f"fault {d.get('name')!r}: unknown keys {sorted(unknown)} (allowed: name, host, target, params)")
    return make_fault(d["name"], d.get("host") or default_host or "", d.get("target"), d.get("params"))


class FaultSet:
    """The active faults, backed by DIR/control.json (or memory only when `path` is None)."""

    def __init__(self, path: Path | None = None, faults: Iterable[Fault] = ()) -> None:
        self.path = Path(path) if path else None
        self._faults: list[Fault] = list(faults)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    def for_state_dir(cls, state_dir: Path) -> FaultSet:
        fs = cls(Path(state_dir) / "control.json")
        fs._reload()
        return fs

    # -- reading ---------------------------------------------------------------------------------------------------------
    def all(self) -> list[Fault]:
        with self._lock:
            self._reload()
            return list(self._faults)

    def active(self, host: str, name: str | None = None) -> list[Fault]:
        return [f for f in self.all() if f.matches(host, name)]

    def get(self, host: str, name: str, target: str | None = None) -> Fault | None:
        """The first active fault `name` on `host` whose target matches (any target when `target` is None)."""
        return next((f for f in self.all() if f.matches(host, name, target)), None)

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._faults, self._stamp = [], None
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        try:
            data = json.loads(self.path.read_text() or "{}")
            self._faults = [fault_from_dict(d) for d in data.get("faults", [])]
            self._stamp = stamp
        except (ValueError, OSError):
            return  # a half-written or hand-broken file: keep the last good set

    # -- writing ---------------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _editing(self) -> Iterator[list[Fault]]:
        with self._lock, self._file_lock():
            self._stamp = None
            self._reload()
            faults = list(self._faults)
            yield faults
            self._faults = faults
            if self.path is not None:
                atomic_write_text(self.path, json.dumps({"faults": [f.to_dict() for f in faults]}, indent=1))
                self._stamp = None
                self._reload()

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name("control.lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def switch_on(self, fault: Fault) -> None:
        """Activate a fault (replacing an active one with the same name, host and target)."""
        with self._editing() as faults:
            faults[:] = [f for f in faults if (f.name, f.host.casefold(), f.target) != (fault.name, fault.host.casefold(), fault.target)]
            faults.append(fault)

    def switch_off(self, name: str, host: str, target: str | None = None) -> int:
        """Deactivate matching faults (any target when `target` is None); returns how many."""
        with self._editing() as faults:
            keep = [f for f in faults if not (f.name == name and f.host.casefold() == host.casefold() and (target is None or f.target == target))]
            removed = len(faults) - len(keep)
            faults[:] = keep
        return removed

    def replace_all(self, new: Iterable[Fault]) -> None:
        with self._editing() as faults:
            faults[:] = list(new)

    def consume(self, host: str, name: str, target: str | None = None) -> Fault | None:
        """Use one shot of a counted fault (params.count): returns it and decrements, removing it at zero. While its
        params.skip is above zero the occasion passes instead (None is returned) and skip counts down."""
        if self.get(host, name, target) is None:  # cheap check without the file lock
            return None
        with self._editing() as faults:
            for i, f in enumerate(faults):
                if f.matches(host, name, target):
                    skip = int(f.params.get("skip", 0))
                    if skip > 0:
                        faults[i] = Fault(f.name, f.host, f.target, {**f.params, "skip": skip - 1})
                        return None
                    count = int(f.params.get("count", 1))
                    if count <= 1:
                        del faults[i]
                    else:
                        faults[i] = Fault(f.name, f.host, f.target, {**f.params, "count": count - 1})
                    return f
        return None
