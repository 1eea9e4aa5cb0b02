# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test-only callback of the fault matrix (tests/tools/fault_matrix.py): switches a simulator fault on when a named task
starts, so a fault lands in the middle of a chosen phase every time.

Callbacks run in ansible's main process, and the strategy sends `v2_playbook_on_task_start` before it queues the task to
the workers: the fault is in DIR/control.json before the task's first WinRM request, with no race against the run.

Enabled with ANSIBLE_CALLBACK_PLUGINS=<this folder> and ANSIBLE_CALLBACKS_ENABLED=fault_trigger; configured by
FAULT_TRIGGER (JSON): {"state": DIR, "play": "Final verify" (optional), "task": "<task name>", "fault": {name, host, target,
params}}. It fires once, on the first task of that name (in that play) and writes "fired" lines to FAULT_TRIGGER_LOG.
Not part of the collection.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

from simulator.faults import FaultSet, fault_from_dict

DOCUMENTATION = """
    name: fault_trigger
    type: aggregate
    short_description: switch a simulator fault on when a task starts (fault matrix; test only)
    description: Reads the FAULT_TRIGGER environment variable (JSON); see tests/tools/fault_matrix.py.
    requirements: [the simulator package (tests/simulator) on the Python path]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fault_trigger"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = os.environ.get("FAULT_TRIGGER")
        self._spec: dict[str, Any] | None = json.loads(raw) if raw else None
        self._play = ""
        self._fired = False

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._play = play.get_name().strip()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        spec = self._spec
        if spec is None or self._fired:
            return
        if spec.get("play") and spec["play"] != self._play:
            return
        if (task.name or "").strip() != spec["task"]:
            return
        self._fired = True
        FaultSet.for_state_dir(spec["state"]).switch_on(fault_from_dict(spec["fault"]))
        log = os.environ.get("FAULT_TRIGGER_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"fired {spec['fault']['name']} at play {self._play!r} task {task.name!r}\n")
