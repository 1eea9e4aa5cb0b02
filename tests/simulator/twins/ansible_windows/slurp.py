"""ansible.windows.slurp: a file's content as base64 (used by fetch when become is on)."""

from __future__ import annotations

import base64

from simulator.twins import ModuleRun, twin


@twin("ansible.windows.slurp", legacy_reads=["src"])
def slurp(m: ModuleRun) -> None:
    src = m.params["src"]
    if m.host.exists(src) and not m.host.is_dir(src):
        m.result["content"] = base64.b64encode(m.host.read_bytes(src)).decode()
        m.result["encoding"] = "base64"
    elif m.host.exists(src):
        m.fail_json(f"Path {src} is a directory")
    else:
        m.fail_json(f"Path {src} is not found")
