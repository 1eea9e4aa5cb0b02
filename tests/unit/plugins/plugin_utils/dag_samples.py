"""exchange_dag_info results for the DAG tests: the estate of the e2e test (DAG1 = EX01 + EX02, EX02 lost) as the surviving
EX01 reads it while EX02 is lost, after its removal, and once its copies are healthy again."""

from __future__ import annotations

import copy
from typing import Any


def copy_entry(server: str, preference: int, status: str, *, replay: str = "00:00:00", truncation: str = "00:00:00", **extra: Any) -> dict[str, Any]:
    return {
        "server": server,
        "activation_preference": preference,
        "replay_lag_time": replay,
        "truncation_lag_time": truncation,
        "status": status,
        "active": status in ("Mounted", "Dismounted"),
        "copy_queue_length": 0,
        "replay_queue_length": 0,
        "content_index_state": "Healthy" if status in ("Mounted", "Healthy") else "Unknown",
        "error_message": None,
        **extra,
    }


# What exchange_dag_info returns on the surviving EX01 while EX02 is lost (the estate of the e2e test).
LOST: dict[str, Any] = {
    "server": {"name": "EX02", "exists": True, "member": True, "dag": "DAG1"},
    "dag": {"name": "DAG1", "members": ["EX01", "EX02"], "operational_servers": ["EX01"], "witness_server": "FS01"},
    "all_dag_names": ["DAG1"],
    "databases": [
        {
            "name": "DB01",
            "active_server": "EX01",
            "copies": [copy_entry("EX01", 1, "Mounted"), copy_entry("EX02", 2, "ServiceDown", replay="1.00:00:00", truncation="02:00:00")],
        },
        {"name": "DB02", "active_server": "EX01", "copies": [copy_entry("EX02", 1, "ServiceDown"), copy_entry("EX01", 2, "Mounted")]},
    ],
    "cluster": {"available": True, "nodes": [{"name": "EX01", "state": "Up"}, {"name": "EX02", "state": "Down"}], "error": None},
    "record": None,
}


def removed() -> dict[str, Any]:
    info = copy.deepcopy(LOST)
    info["server"].update(member=False, dag=None)
    info["dag"]["members"] = ["EX01"]
    for db in info["databases"]:
        db["copies"] = [c for c in db["copies"] if c["server"] != "EX02"]
    info["cluster"]["nodes"] = [{"name": "EX01", "state": "Up"}]
    return info


def healthy(replay_queue: int = 39) -> dict[str, Any]:
    info = copy.deepcopy(LOST)
    for db in info["databases"]:
        for c in db["copies"]:
            if c["server"] == "EX02":
                c.update(status="Healthy", content_index_state="Healthy")
                if c["replay_lag_time"] != "00:00:00":
                    c["replay_queue_length"] = replay_queue
    return info
