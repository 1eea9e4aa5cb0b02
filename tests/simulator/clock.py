"""Simulated time shared by every host of an estate.

The simulated clock follows the wall clock, except while something is waiting in simulated time (a slow service start, a
reboot, Setup "taking 20 minutes"): then it runs 1/time_scale times faster, until the latest such deadline has passed.
So a 20-minute Setup at time_scale 0.02 takes 24 real seconds and the host's clock really moves 20 minutes, concurrent
waits are not counted twice, and when nothing waits the host clock ticks like a real one (ahead by what was skipped).

Everything is in simulated POSIX seconds (float, UTC). The clock persists (offset + pending warp deadline) so a restarted
server resumes at the same simulated time.

The wall clock the simulated one follows is `time.time`/`time.sleep` under a server. Unit tests that drive a host directly
(simulator.testing.make_host) give it a `VirtualWall` instead: real time then passes only while something waits in simulated
time, so what a test sees between two of its own steps no longer depends on how busy the machine is (a timer due 5 simulated
seconds after a service start cannot fire "in the middle" of the test's next two statements because the CPU was slow).
The simulated behaviour is the same: the same deadlines, rates and timers, only the source of real time differs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Longest single real sleep while waiting, so a waiter notices new deadlines that change the rate.
_MAX_REAL_SLICE = 0.05


@dataclass
class _Checkpoint:
    real: float  # wall-clock seconds at the checkpoint
    sim: float  # simulated seconds at the checkpoint


class VirtualWall:
    """A wall clock for tests that moves only when something sleeps on it (thread-safe; no real waiting).

    `time()` starts at the real time of creation; `sleep(s)` adds s. A Clock built on it runs its usual arithmetic, so
    simulated waits end exactly at their deadlines and nothing happens between a test's steps unless a step waits."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)


class Clock:
    """Estate-wide simulated clock; thread-safe."""

    def __init__(
        self, time_scale: float = 1.0, *, offset: float = 0.0, warp_until: float = 0.0, path: Path | None = None, wall: VirtualWall | None = None
    ) -> None:
        """`wall`: the real-time source (default: the system's `time.time`/`time.sleep`); see VirtualWall."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self.wall = wall
        self._real: Callable[[], float] = wall.time if wall is not None else time.time
        self._real_sleep: Callable[[float], None] = wall.sleep if wall is not None else time.sleep
        self._lock = threading.Lock()
        real = self._real()
        self._ck = _Checkpoint(real=real, sim=real + offset)
        self._warp_until = float(warp_until)
        self._path = path
        self._persisted: tuple[float, float] | None = None

    # -- reading -------------------------------------------------------------------------------------------------------
    def time(self) -> float:
        """Simulated POSIX seconds."""
        with self._lock:
            return self._sim_at(self._real())

    def now(self) -> datetime:
        """Simulated time as an aware UTC datetime, truncated to the microsecond. datetime rounds to the nearest one, which
        can put now() up to half a microsecond after time(): an event written at this instant would then not be "at or
        after" now(), a query's result depending on the float's last digits."""
        sim = self.time()
        moment = datetime.fromtimestamp(sim, UTC)
        return moment if moment.timestamp() <= sim else moment - timedelta(microseconds=1)

    def real_seconds(self, sim_seconds: float) -> float:
        """Real seconds a simulated wait of this length takes (when nothing else is warping time)."""
        return max(0.0, sim_seconds) * self.time_scale

    def _sim_at(self, real: float) -> float:
        ck, warp = self._ck, self._warp_until
        fast_sim = ck.sim + (real - ck.real) / self.time_scale
        if warp <= ck.sim or self.time_scale == 1.0:
            return ck.sim + (real - ck.real)
        if fast_sim <= warp:
            return fast_sim
        # the warp ended at real time r_end; wall-clock rate since then
        r_end = ck.real + (warp - ck.sim) * self.time_scale
        return warp + (real - r_end)

    # -- waiting -------------------------------------------------------------------------------------------------------
    def schedule(self, deadline: float) -> None:
        """Make simulated time run fast until `deadline` (simulated seconds) has passed."""
        with self._lock:
            if deadline <= self._warp_until:
                return
            real = self._real()
            self._ck = _Checkpoint(real=real, sim=self._sim_at(real))
            self._warp_until = deadline
            self._persist_locked()

    def sleep_until(self, deadline: float) -> None:
        """Block until simulated time reaches `deadline`."""
        self.schedule(deadline)
        while True:
            remaining = deadline - self.time()
            if remaining <= 0:
                self.save()
                return
            self._real_sleep(min(_MAX_REAL_SLICE, max(remaining * self.time_scale, 0.0005)))

    def sleep(self, sim_seconds: float) -> None:
        """Block for `sim_seconds` of simulated time (sim_seconds * time_scale real seconds)."""
        if sim_seconds > 0:
            self.sleep_until(self.time() + sim_seconds)

    # -- persistence ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, float]:
        with self._lock:
            real = self._real()
            return {"time_scale": self.time_scale, "offset": self._sim_at(real) - real, "warp_until": self._warp_until}

    def _persist_locked(self) -> None:
        if self._path is None:
            return
        real = self._real()
        offset = self._sim_at(real) - real
        key = (round(offset, 3), self._warp_until)
        if key == self._persisted:
            return  # outside a warp the offset does not change: nothing new to write
        data = {"time_scale": self.time_scale, "offset": offset, "warp_until": self._warp_until}
        atomic_write_text(self._path, json.dumps(data))
        self._persisted = key

    def save(self) -> None:
        with self._lock:
            self._persist_locked()

    @classmethod
    def load(cls, path: Path, time_scale: float, wall: VirtualWall | None = None) -> Clock:
        """The clock persisted at `path` (a fresh one if absent); `time_scale` comes from the estate."""
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        return cls(time_scale, offset=float(data.get("offset", 0.0)), warp_until=float(data.get("warp_until", 0.0)), path=path, wall=wall)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so readers see the old or the new content, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
