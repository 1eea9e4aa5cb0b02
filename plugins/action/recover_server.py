# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.recover_server.

Steps (plugin_utils/_module_with_reboot.py drives the restarts between them):
1. read the host and the AD object (exchange_dr.recovery.exchange_info, one call), or take that read from the
   `exchange_info` option when it was made earlier in the run with the same options (never after a restart);
2. judge the preflight (plugin_utils/_exchange_setup.preflight): refuse with a message and run nothing, nothing to do,
   restart first, or run Setup (recover / resume);
3. build the version-correct command line (setup_command) and run the module as an async job, so a lost connection does
   not stop Setup; then wait for the job on the host in one module call (`_job`), called again only after a lost
   connection, instead of an async_status poll every few seconds;
4. judge the run from ExchangeSetup.log and the registry (judge_setup); on success ask for the restart Setup needs;
5. after the restart (or at once without one): optionally set the transport services back to Automatic.
With --diff: the Exchange installation (installed, configured, build, roles) as first read and as last read - after Setup,
or in check mode as Setup would leave it (plugin_utils/_module_diffs.py).
"""

from __future__ import annotations

import contextlib
import copy
import time
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.exchange_dr.recovery.plugins.action.exchange_info import enrich, release_dict
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_setup import (
    NOTHING,
    REBOOT,
    REFUSE,
    RESUME,
    RUN,
    TRANSPORT_SERVICES,
    SetupCommandError,
    judge_setup,
    parse_setup_log,
    preflight,
    setup_command,
    target_dir_for,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_diffs import exchange_install_state, planned_recovery_state
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_with_reboot import ActionModuleWithReboot

display = Display()

MODULE = "exchange_dr.recovery.recover_server"
INFO_MODULE = "exchange_dr.recovery.exchange_info"
POLL_RETRIES = 5  # consecutive failed waits (connection lost, host busy) before giving up on the job
# What the exchange_info read depends on: a result read with other values of these is not this task's read.
INFO_OPTIONS = ("server_name", "setup_path", "target_dir")
INFO_KEYS = ("computer_name", "domain", "exchange", "pending_reboot", "ad_server", "scripting_agent", "media")


def given_info(given: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """The `exchange_info` option when it is this task's read, else None (read the host).

    A skipped result, or one read with other server_name/setup_path/target_dir (its `read_options`, which the exchange_info
    action plugin adds; without them it is not known what the read was made with), is not used. Anything that is not an
    exchange_info result at all is refused, before the host is touched.
    """
    if not given or given.get("skipped"):
        return None
    if given.get("failed"):
        raise AnsibleActionFail(f"exchange_info is a failed read ({given.get('msg', 'no message')}); give a successful one or leave it out")
    missing = [key for key in INFO_KEYS if key not in given]
    if missing:
        raise AnsibleActionFail(f"exchange_info is not a result of exchange_dr.recovery.exchange_info: it has no {', '.join(missing)}")
    read_with = given.get("read_options")
    if not isinstance(read_with, dict):
        display.vv("recover_server: exchange_info has no read_options (what it was read with is unknown): reading the host again")
        return None
    for key in INFO_OPTIONS:
        if str(read_with.get(key) or "").casefold() != str(args.get(key) or "").casefold():
            display.vv(f"recover_server: exchange_info was read with {key}={read_with.get(key)!r}, not {args.get(key)!r}: reading the host again")
            return None
    info = copy.deepcopy(given)
    if "release" not in (info.get("media") or {}):
        enrich(info)
    return info


class ActionModule(ActionModuleWithReboot):
    documented_module = "recover_server"

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # the Exchange installation for --diff: as first read, as last read (after Setup), as Setup would leave it (check mode)
        self._install_states: dict[str, dict[str, Any]] = {}
        result = super().run(tmp, task_vars)
        states = self._install_states
        if self._task.diff and "before" in states:
            after = states.get("planned") if self._task.check_mode and "planned" in states else states["observed"]
            result["diff"] = {"before": states["before"], "after": after}
        return result

    def _validate_args(self) -> dict[str, Any]:
        if "_job" in self._task.args:
            raise AnsibleActionFail(f"{MODULE}: _job is set by the action plugin, not by tasks")
        args = super()._validate_args()
        self._given_info = given_info(args.pop("exchange_info", None), args)
        return args

    def _run_step(self, args: dict[str, Any], task_vars: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        if previous is not None and previous.get("_stage") == "setup":
            return self._after_setup(args, task_vars, previous, rebooted=True)
        return self._recover(args, task_vars, after_reboot=previous is not None)

    # -- 1 + 2: read and judge ---------------------------------------------------------------------------------------------
    def _info(self, args: dict[str, Any], task_vars: dict[str, Any], fresh: bool = False) -> dict[str, Any]:
        """The host's exchange_info: the given read while nothing has changed (the first step), else a new read."""
        given, self._given_info = getattr(self, "_given_info", None), None  # good once: the task changes the host next
        if given is not None and not fresh:
            self._observe(given.get("exchange"))
            return given
        info_args = {k: args[k] for k in INFO_OPTIONS if args.get(k)}
        info = self._execute_module(module_name=INFO_MODULE, module_args=info_args, task_vars=task_vars)
        if not info.get("failed"):
            enrich(info)
            self._observe(info.get("exchange"))
        return info

    def _observe(self, exchange: dict[str, Any] | None) -> None:
        state = exchange_install_state(exchange)
        self._install_states.setdefault("before", state)
        self._install_states["observed"] = state

    def _recover(self, args: dict[str, Any], task_vars: dict[str, Any], after_reboot: bool) -> dict[str, Any]:
        result: dict[str, Any] = {"changed": False, "action": NOTHING, "check": "", "command_line": None, "release": None, "server": None}
        result.update(exit_code=None, elapsed=0, transport_services=[])  # not `rc`: ansible fails any task whose rc is not 0
        info = self._info(args, task_vars, fresh=after_reboot)
        if info.get("failed"):
            return {**result, "failed": True, "msg": f"Failed to read the host before recovery: {info.get('msg')}"}
        ad = info.get("ad_server") or {}
        result["server"] = {k: ad.get(k) for k in ("name", "roles", "install_path", "version")} if ad.get("exists") else None
        result["release"] = (info.get("media") or {}).get("release")
        verdict = preflight(info, server_name=args.get("server_name"), reboot=bool(args.get("reboot")))
        result["check"] = verdict.check if verdict.action == REFUSE else ""
        for warning in verdict.warnings:
            display.warning(f"{task_vars.get('inventory_hostname', '')}: {warning}")
        if verdict.action == REFUSE:
            return {**result, "failed": True, "msg": verdict.msg}
        if verdict.action == NOTHING:
            result["msg"] = verdict.msg
            if args.get("restore_transport_startup"):
                result.update(self._restore_transport(info, task_vars))
            return result
        if verdict.action == REBOOT:
            if after_reboot:
                msg = f"{verdict.msg} The restart did not clear it; look at what keeps setting it."
                return {**result, "failed": True, "check": "pending_reboot", "msg": msg}
            then = RESUME if (info.get("exchange") or {}).get("incomplete") else RUN
            self._plan(info)
            pending = {"changed": True, "action": then, "msg": verdict.msg, "_do_action_reboot": True, "_stage": "pending"}
            return {**result, **pending, "_reboot_reason": "a restart was pending before Exchange Setup"}

        media = info["media"]
        try:
            command = setup_command(
                media["path"],
                media["version"],
                diagnostic_data=bool(args.get("diagnostic_data")),
                target_dir=target_dir_for(args.get("target_dir"), ad, release_of(media["version"])),
                domain_controller=args.get("domain_controller"),
                do_not_start_transport=bool(args.get("do_not_start_transport")),
                updates_dir=args.get("updates_dir"),
            )
        except SetupCommandError as error:
            return {**result, "failed": True, "msg": f"Cannot build the Setup command line: {error}"}
        arguments = list(args["arguments"]) if args.get("arguments") else list(command.arguments)
        result.update(action=verdict.action, changed=True, msg=verdict.msg)
        result["command_line"] = " ".join([f'"{command.program}"', *arguments])
        self._plan(info)
        if self._task.check_mode:
            return result

        # 3: Setup as an async job, polled
        module_args = {k: v for k, v in args.items() if v is not None}
        module_args.update(setup_path=command.program, arguments=arguments)
        run = self._run_async(module_args, task_vars, int(args["timeout"]), max(1, int(args["poll_interval"])), args)
        if run.get("failed") and run.get("rc") is None:  # the job or the module failed before Setup ran
            return {**result, "failed": True, "msg": run.get("msg"), "elapsed": run.get("elapsed", 0)}
        # 4: the verdict
        if run.get("exchange"):
            self._observe(run["exchange"])
        result.update(exit_code=run.get("rc"), elapsed=run.get("elapsed", 0))
        judged = judge_setup(run, command.release)
        log = run.get("setup_log") or {}
        parsed = parse_setup_log(log.get("lines") or [])
        result["setup_log"] = {
            "path": log.get("path"),
            "lines": log.get("lines") or [],
            "succeeded": parsed.succeeded,
            "errors": parsed.required + parsed.errors,
        }
        if not judged.ok:
            return {**result, "failed": True, "msg": judged.msg}
        result["msg"] = judged.msg
        result["_stage"] = "setup"
        if not args.get("reboot"):
            return self._after_setup(args, task_vars, result, rebooted=False)
        return {**result, "_do_action_reboot": True, "_reboot_reason": "Exchange Setup finished and needs a restart"}

    def _plan(self, info: dict[str, Any]) -> None:
        media, ad = info.get("media") or {}, info.get("ad_server") or {}
        self._install_states["planned"] = planned_recovery_state(media.get("version"), ad.get("roles") or [])

    # -- 3: the async job --------------------------------------------------------------------------------------------------
    def _run_async(self, module_args: dict[str, Any], task_vars: dict[str, Any], timeout: int, interval: int, args: dict[str, Any]) -> dict[str, Any]:
        """Start the module as an async job (async_wrapper on the host), then wait for it on the host (the module's `_job`
        mode) until it ends: one call, instead of an async_status poll every `interval` seconds. ansible.windows.win_updates
        waits on its background task the same way (a blocking poll, retried after a connection failure).

        A wait can fail without Setup failing: the connection drops (a VPN, a firewall) or the host restarts. Either way the
        connection is reset and the job is looked at again, at once (a wait of 0 seconds). When that finds it unfinished,
        one exchange_info read follows: when no Setup process runs any more, the job can never finish (a restart ends the
        async job with Setup, and its result file stays "started" for good), so the task fails at once, saying so, instead
        of waiting until the timeout. Otherwise the wait goes on."""
        saved = self._task.async_val
        self._task.async_val = timeout
        try:
            job = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars, wrap_async=True)
        finally:
            self._task.async_val = saved
        if job.get("failed") or "ansible_job_id" not in job:
            return {"failed": True, "msg": f"Failed to start Exchange Setup as an async job: {job.get('msg', job)}"}
        jid = job["ansible_job_id"]
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        host = task_vars.get("inventory_hostname", "")
        started = time.monotonic()
        misses = 0
        suspect = False  # a wait failed since Setup was last seen running
        while True:
            elapsed = int(time.monotonic() - started)
            status = self._wait(module_args, jid, async_dir, 0 if suspect else max(timeout - elapsed, 0), task_vars)
            elapsed = int(time.monotonic() - started)
            state = status.get("_job") if not status.get("failed") else None
            if not isinstance(state, dict):
                misses += 1
                suspect = True
                display.vv(f"{host}: waiting for Exchange Setup job {jid} failed ({misses}/{POLL_RETRIES}): {status.get('msg')}")
                if misses >= POLL_RETRIES:
                    return {"failed": True, "msg": f"Lost track of Exchange Setup (job {jid}) after {elapsed}s: {status.get('msg')}", "elapsed": elapsed}
                time.sleep(interval)
                continue
            misses = 0
            if state.get("finished"):
                self._cleanup_job(jid, async_dir, task_vars)
                return dict(state.get("result") or {})
            if suspect:
                gone = self._setup_gone(args, task_vars)
                suspect = False
                if gone is not None:
                    status = self._wait(module_args, jid, async_dir, 0, task_vars)  # it may have ended between the two reads
                    state = status.get("_job") if not status.get("failed") else None
                    if isinstance(state, dict) and state.get("finished"):
                        self._cleanup_job(jid, async_dir, task_vars)
                        return dict(state.get("result") or {})
                    msg = (
                        f"Exchange Setup (job {jid}) ended without a result after {elapsed}s: {gone}. Run again: Setup resumes "
                        "where it stopped (see C:\\ExchangeSetupLogs\\ExchangeSetup.log)."
                    )
                    return {"failed": True, "msg": msg, "elapsed": elapsed}
                continue  # Setup still runs: wait for it again
            display.display(f"{self._task.action}: {host}: Exchange Setup still running ({elapsed}s elapsed)")
            if elapsed >= timeout:
                return {"failed": True, "msg": f"Exchange Setup did not finish within {timeout}s (it keeps running on {host}; job {jid})", "elapsed": elapsed}

    def _wait(self, module_args: dict[str, Any], jid: str, async_dir: str, seconds: int, task_vars: dict[str, Any]) -> dict[str, Any]:
        """One wait for the job on the host (at most `seconds`); a connection that dropped or a host that restarted is a failed
        wait, and the connection is reset so that the next call logs on again (a restarted host has lost its WinRM shells
        and sessions)."""
        wait_args = {**module_args, "_job": {"id": jid, "async_dir": async_dir, "wait": seconds}}
        try:
            return self._execute_module(module_name=MODULE, module_args=wait_args, task_vars=task_vars)
        except AnsibleActionFail:
            raise
        except Exception as error:  # requests, pywinrm and ansible each raise their own for a lost connection
            with contextlib.suppress(Exception):
                self._connection.reset()
            return {"failed": True, "msg": f"{type(error).__name__}: {error}"}

    def _setup_gone(self, args: dict[str, Any], task_vars: dict[str, Any]) -> str | None:
        """Why the job cannot finish any more (no Setup process runs on the host), or None while Setup still runs."""
        try:
            info = self._info(args, task_vars)
        except Exception:  # still unreachable: the next polls decide
            return None
        if info.get("failed") or info.get("setup_processes"):
            return None
        return f"no Exchange Setup process runs on {task_vars.get('inventory_hostname', 'the host')} any more (the host restarted or Setup was stopped)"

    def _cleanup_job(self, jid: str, async_dir: str, task_vars: dict[str, Any]) -> None:
        try:
            cleanup = {"jid": jid, "mode": "cleanup", "_async_dir": async_dir}
            self._execute_module(module_name="ansible.legacy.async_status", module_args=cleanup, task_vars=task_vars)
        except Exception as error:  # a lost connection (pywinrm raises its own) must not fail a finished Setup
            with contextlib.suppress(Exception):
                self._connection.reset()
            display.vv(f"could not remove the async job file of {jid} ({type(error).__name__}: {error}); it is left on the host")

    # -- 5: after Setup ----------------------------------------------------------------------------------------------------
    def _after_setup(self, args: dict[str, Any], task_vars: dict[str, Any], previous: dict[str, Any], rebooted: bool) -> dict[str, Any]:
        result = {k: v for k, v in previous.items() if k not in ("_do_action_reboot", "_reboot_reason")}
        if args.get("restore_transport_startup"):
            info = self._info(args, task_vars, fresh=True)
            if info.get("failed"):
                return {**result, "failed": True, "msg": f"Failed to read the host after Setup: {info.get('msg')}"}
            result.update(self._restore_transport(info, task_vars))
        if not rebooted:
            result["_do_action_reboot"] = True  # the base class reports reboot_required
        return result

    def _restore_transport(self, info: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Set the transport services back to Automatic and start them (ansible.windows.win_service, one call each)."""
        release = release_dict((info.get("exchange") or {}).get("version"))
        product = release["product"] if release else "2019"
        present = {s.get("name", "").casefold() for s in info.get("services") or []}
        done, changed = [], False
        for name in TRANSPORT_SERVICES[product]:
            if name.casefold() not in present:
                continue
            service_args = {"name": name, "start_mode": "auto", "state": "started"}
            service = self._execute_module(module_name="ansible.windows.win_service", module_args=service_args, task_vars=task_vars)
            if service.get("failed"):
                return {"failed": True, "transport_services": done, "msg": f"Failed to set {name} back to Automatic: {service.get('msg')}"}
            changed = changed or bool(service.get("changed"))
            done.append(name)
        out: dict[str, Any] = {"transport_services": done}
        if changed:
            out["changed"] = True
        return out
