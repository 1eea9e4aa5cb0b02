"""Simulated time shared by every host of an estate.

The simulated clock follows the wall clock, except while something is waiting in simulated time (a slow service start, a
reboot, Setup "taking 20 minutes"): then it runs 1/time_scale times faster, until the latest such deadline has passed.
So a 20-minute Setup at time_scale 0.02 takes 24 real seconds and the host's clock really moves 20 minutes, concurrent
waits are not counted twice, and when nothing waits the host clock ticks like a real one (ahead by what was skipped).

Everything is in simulated POSIX seconds (float, UTC). The clock persists (offset + pending warp deadline) so a restarted
server resumes at the same simulated time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Longest single real sleep while waiting, so a waiter notices new deadlines that change the rate.
_MAX_REAL_SLICE = 0.05


@dataclass
class _Checkpoint:
    real: float  # wall-clock seconds at the checkpoint
    sim: float  # simulated seconds at the checkpoint


class Clock:
    """Estate-wide simulated clock; thread-safe."""

    def __init__(self, time_scale: float = 1.0, *, offset: float = 0.0, warp_until: float = 0.0, path: Path | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()
        real = time.time()
        self._ck = _Checkpoint(real=real, sim=real + offset)
        self._warp_until = float(warp_until)
        self._path = path
        self._persisted: tuple[float, float] | None = None

    # -- reading -------------------------------------------------------------------------------------------------------
    def time(self) -> float:
        """Simulated POSIX seconds."""
        with self._lock:
            return self._sim_at(time.time())

    def now(self) -> datetime:
        """Simulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

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
            real = time.time()
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
            time.sleep(min(_MAX_REAL_SLICE, max(remaining * self.time_scale, 0.0005)))

    def sleep(self, sim_seconds: float) -> None:
        """Block for `sim_seconds` of simulated time (sim_seconds * time_scale real seconds)."""
        if sim_seconds > 0:
            self.sleep_until(self.time() + sim_seconds)

    # -- persistence ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, float]:
        with self._lock:
            real = time.time()
            return {"time_scale": self.time_scale, "offset": self._sim_at(real) - real, "warp_until": self._warp_until}

    def _persist_locked(self) -> None:
        if self._path is None:
            return
        real = time.time()
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
    def load(cls, path: Path, time_scale: float) -> Clock:
        """The clock persisted at `path` (a fresh one if absent); `time_scale` comes from the estate."""
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        return cls(time_scale, offset=float(data.get("offset", 0.0)), warp_until=float(data.get("warp_until", 0.0)), path=path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so readers see the old or the new content, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
