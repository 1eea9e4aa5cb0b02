# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One base class for "run a step -> restart the host if the step says so -> continue" (microsoft.ad's pattern).

For internal collection use only. A subclass implements ``_run_step(args, task_vars, previous)``: one step of its work,
usually one module call, returning the step's result. A step that needs a restart sets the private key
``_do_action_reboot: true`` in that result (the Windows module sets it, or the plugin does from its own judgement);
``_reboot_reason`` may say why. The base class then:

- restarts the host when the task's ``reboot`` option is true and the task is not in check mode, through
  ``ansible.windows.win_reboot``'s action plugin (its boot-time comparison, test command and timeouts), and calls
  ``_run_step`` again with the previous result, so the subclass continues where it stopped;
- otherwise stops and returns ``reboot_required: true``.

Private keys (leading ``_`` in ``PRIVATE_KEYS``) never reach the task result. The reboot options are documented once in
the ``exchange_dr.recovery.reboot`` doc fragment.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec

display = Display()

PRIVATE_KEYS = ("_do_action_reboot", "_reboot_reason", "_stage")


class ActionModuleWithReboot(ActionBase):
    """Base for action plugins whose module may need a restart to finish (see the module docstring)."""

    TRANSFERS_FILES = False
    max_reboots = 3  # a step that still asks for a restart after this many is failed, not looped forever
    documented_module = ""  # plugins/modules/<name>.yml: the options the task takes (reboot ones from the fragment)
    argument_relations: dict[str, Any] = {}  # mutually_exclusive, required_if ... as ArgumentSpecValidator takes them

    # -- hooks ---------------------------------------------------------------------------------------------------------
    def _run_step(self, args: dict[str, Any], task_vars: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        """One step. ``previous`` is None the first time, else the result that asked for the restart just done."""
        raise NotImplementedError

    def _reboot_message(self, reason: str | None) -> str:
        return f"Reboot initiated by Ansible ({self._task.action})" + (f": {reason}" if reason else "")

    # -- machinery ---------------------------------------------------------------------------------------------------
    def _argument_spec(self) -> dict[str, Any]:
        return argument_spec(self.documented_module)["argument_spec"]

    def _validate_args(self) -> dict[str, Any]:
        """The task's arguments validated against the documented spec (the controller does not validate a PowerShell
        module's arguments, so the plugin does before anything touches the host)."""
        validator = ArgumentSpecValidator(self._argument_spec(), **self.argument_relations)
        outcome = validator.validate(dict(self._task.args))
        if outcome.error_messages:
            raise AnsibleActionFail("; ".join(outcome.error_messages))
        return dict(outcome.validated_parameters)

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False  # the plugin polls long steps itself; an outer async would race the restarts
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._validate_args()
        reboots = 0
        step = self._run_step(args, task_vars, None)
        while step.get("_do_action_reboot") and not step.get("failed"):
            if self._task.check_mode or not args.get("reboot"):
                step["reboot_required"] = True
                break
            if reboots >= self.max_reboots:
                reason = step.get("_reboot_reason") or "no reason given"
                step.update(failed=True, msg=f"{self._task.action} still asks for a restart after {reboots} restart(s): {reason}")
                break
            reboot = self._reboot_host(args, task_vars, step.get("_reboot_reason"))
            reboots += 1
            if reboot.get("failed") or reboot.get("unreachable"):
                step.update(
                    failed=True,
                    changed=True if step.get("changed") else bool(reboot.get("rebooted")),
                    msg=f"The restart {self._task.action} asked for failed: {reboot.get('msg', 'unknown error')}",
                    reboot_required=True,
                )
                break
            display.vv(f"{self._task.action}: host restarted ({reboot.get('elapsed', 0)}s); continuing")
            step = self._run_step(args, task_vars, step)
        for key in PRIVATE_KEYS:
            step.pop(key, None)
        step.setdefault("reboot_required", False)
        step["rebooted"] = reboots > 0
        if reboots:
            step["changed"] = True
        result.update(step)
        return result

    def _reboot_host(self, args: dict[str, Any], task_vars: dict[str, Any], reason: str | None) -> dict[str, Any]:
        """Restart through ansible.windows.win_reboot's action plugin and wait until the host is back."""
        task = self._task.copy()
        task.args = {"reboot_timeout": int(args.get("reboot_timeout") or 600), "msg": self._reboot_message(reason)}
        action = self._shared_loader_obj.action_loader.get(
            "ansible.windows.win_reboot",
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        return action.run(task_vars=task_vars)
