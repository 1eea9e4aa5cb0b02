"""ansible.windows.async_status (a Legacy module): reads the job file the async wrapper/watchdog write in ``_async_dir``."""

from __future__ import annotations

import json

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._common import join_path

_OPTIONS = {"_async_dir": {"type": "path", "required": True}}


@twin("ansible.windows.async_status", options=_OPTIONS, legacy_reads=["jid", "mode", "_async_dir"])
def async_status(m: ModuleRun) -> None:
    jid, async_dir, host = m.params["jid"], m.params["_async_dir"], m.host
    log_path = join_path(async_dir, str(jid))
    if not host.exists(log_path):
        m.result = {"ansible_job_id": jid, "started": 1, "finished": 1}
        m.fail_json(f"could not find job at '{async_dir}'")
    if (m.params["mode"] or "status").lower() == "cleanup":
        host.remove(log_path, recursive=True)
        m.result = {"ansible_job_id": jid, "erased": log_path}
        return
    raw = host.read_bytes(log_path).decode("utf-8-sig")  # the watchdog's Set-Content -Encoding UTF8 writes a BOM
    if not raw.strip():
        m.result = {"results_file": log_path, "ansible_job_id": jid, "started": 1, "finished": 0}
        return
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        m.result = {"ansible_job_id": jid, "results_file": log_path, "started": 1, "finished": 1}
        m.fail_json("Could not parse job output: ")
    if "started" not in data:
        data["finished"] = 1
        data["ansible_job_id"] = jid
    elif "finished" not in data:
        data["finished"] = 0
    m.result = data
