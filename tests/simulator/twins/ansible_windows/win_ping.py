"""ansible.windows.win_ping: returns ``ping`` = ``data``; ``data: crash`` raises, as the module does on purpose."""

from __future__ import annotations

from simulator.twins import ModuleRun, twin
from simulator.twins._validate import UnhandledError


@twin("ansible.windows.win_ping")
def win_ping(m: ModuleRun) -> None:
    if m.params["data"] == "crash":
        raise UnhandledError("boom")
    m.result["ping"] = m.params["data"]
