"""ansible.windows.win_file (a Legacy module): touch, create folders, remove files and folders recursively.

Follows win_file.ps1: ``touch`` always reports a change; ``state: file`` never creates; without ``state`` an absent path
is treated as a file (and refused). Returns only ``changed`` (Legacy modules have no ``invocation``).
"""

from __future__ import annotations

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import basename, join_path
from simulator.winerror import WinError

_READS = ["path", "state", "_original_basename"]


@twin("ansible.windows.win_file", options={"_original_basename": {"type": "str"}}, legacy_reads=_READS)
def win_file(m: ModuleRun) -> None:
    host, path = m.host, m.params["path"]
    state = (m.params["state"] or "").lower() or None
    if m.params["_original_basename"] is not None and host.is_dir(path):
        path = join_path(path, m.params["_original_basename"])

    if state == "touch":
        if not m.check_mode:
            _touch(m, path)
        m.result["changed"] = True

    if host.exists(path):
        if state == "absent":
            if not m.check_mode:
                try:
                    host.remove(path, recursive=True, force=True)
                except WinError as e:
                    m.fail_json(f"Failed to delete {host.stat(path).path}: {e}")
            m.result["changed"] = True
        elif state == "directory" and not host.is_dir(path):
            m.fail_json(f"path {path} is not a directory")
        elif state == "file" and host.is_dir(path):
            m.fail_json(f"path {path} is not a file")
        return

    if state is None:
        state = "file" if basename(path) else "directory"
    if state == "directory":
        if not m.check_mode:
            try:
                host.mkdir(path, parents=True)
            except WinError as e:
                m.fail_json(str(e))
        m.result["changed"] = True
    elif state == "file":
        m.fail_json(f"path {path} will not be created")


def _touch(m: ModuleRun, path: str) -> None:
    """An existing item gets a new LastWriteTime; a missing one becomes an empty file (Out-File of $null)."""
    host = m.host
    if host.exists(path):
        host.set_mtime(path, host.clock.time())
    else:
        host.write_bytes(path, b"")
