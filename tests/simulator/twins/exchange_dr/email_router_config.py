"""exchange_dr.recovery.email_router_config: the Windows half, as plugins/modules/email_router_config.ps1 does it.

Through the Host API, step by step like the .ps1:
- finds the service and its Service folder (Get-ExDrEmailRouter, shared with the email_router twin); fails when the service
  does not exist;
- _operation=read: the set files in the Service folder and in remote_src (names matched case-insensitively), each with size,
  SHA-256 and base64 content when not larger than max_file_size; a remote_src that does not exist (or that the session cannot
  reach: the second hop) fails the module;
- _operation=place: every file named in _checksums must be in remote_src with that SHA-256; the set in place is copied to
  `backup_path\\yyyyMMddTHHmmssZ` (the root created with an ACL for Administrators and SYSTEM only); the new files are
  copied next to the set as `<name>.exdr-new` with a protected ACL (Administrators, SYSTEM full control; the service account
  read); the service is stopped (Stop-Service -Force); each staged file is moved over its target and set files not in the
  new set are removed; Start-Service; then every 2 s until verify_seconds: an Application event from one of event_sources at
  or after the start whose message contains failure_text, or a service that is no longer running, is a failure. On failure
  the backup is put back the same way (readable by the service's own logon account and the given one), the service started
  and watched once more, and the module fails quoting the event. On success
  time-stamped backup folders beyond keep_backups are deleted.
Simulated time (host.clock) stands in for Start-Sleep; the Email Router service itself is simulator/programs/email_router.py.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from simulator.hoststate import AccessRule
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._windows import controller_status, service_state
from simulator.twins.exchange_dr.email_router import detect
from simulator.winerror import WinError

SET_FILES = (
    "Microsoft.Crm.Tools.EmailAgent.xml",
    "EncryptionKey.xml",
    "Microsoft.Crm.Tools.EmailAgent.SystemState.xml",
    "Microsoft.Crm.Tools.EmailAgent.Configuration.bin",
)
STAGED = ".exdr-new"
STAMP = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
POLL_S = 2.0


def read_set(host: Any, folder: str, max_bytes: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in host.listdir(folder):
        path = f"{folder}\\{entry}"
        name = next((k for k in SET_FILES if k.casefold() == entry.casefold()), None)
        if name is None or host.is_dir(path):
            continue
        size = host.stat(path).size
        out[name] = {
            "size": size,
            "sha256": host.checksum(path, "sha256"),
            "content": base64.b64encode(host.read_bytes(path)).decode() if size <= max_bytes else None,
        }
    return out


@twin("exchange_dr.recovery.email_router_config", mutually_exclusive=[["src", "remote_src", "definition"]])
def email_router_config(m: ModuleRun) -> None:
    p = m.params
    host = m.host
    r = m.result
    r.update(
        changed=False,
        service_folder=None,
        service_name=p["service_name"],
        service_account=None,
        service_state=None,
        backup_folder=None,
        rolled_back=False,
        failure_event=None,
    )
    info = detect(host, p["service_name"], p["registry_path"], p["registry_value"])
    if not info["service"]:
        m.fail_json(f"Failed to find the Email Router service '{p['service_name']}': install the Email Router first (exchange_dr.recovery.email_router)")
    if not (p["service_folder"] or info["service_folder"]):
        m.fail_json(f"Failed to find the Service folder of '{p['service_name']}': its image path names none; give service_folder")
    folder = (p["service_folder"] or info["service_folder"]).rstrip("\\")
    account = p["service_account"] or info["service"]["account"]
    service = info["service"]["name"]
    r.update(service_folder=folder, service_account=account, service_state=info["service"]["state"])
    max_bytes = p["max_file_size"]

    if p["_operation"] == "read":
        try:
            r["_current_set"] = read_set(host, folder, max_bytes) if host.is_dir(folder) else {}
        except WinError as e:
            m.fail_json(f"Failed to read the configuration set in '{folder}': {e}")
        remote = p["remote_src"]
        if remote:
            try:
                if not host.is_dir(remote):
                    raise ValueError("the folder does not exist or cannot be reached")
                r["_source_set"] = read_set(host, remote, max_bytes)
            except (WinError, ValueError) as e:
                m.fail_json(f"Failed to read the configuration set in '{remote}': {e}")
        return

    source, checksums = p["remote_src"], p["_checksums"]
    if not source or checksums is None:
        m.fail_json("Failed to place the configuration set: remote_src and _checksums are set by the action plugin")
    r["changed"] = True
    if m.check_mode:
        return
    for name, expected in checksums.items():
        path = f"{source}\\{name}"
        actual = host.checksum(path, "sha256") if host.exists(path) and not host.is_dir(path) else None
        if actual != expected:
            r["changed"] = False
            m.fail_json(f"Failed to place the configuration set: '{path}' is not the file that was validated (it changed or is missing)")

    backup_root = (p["backup_path"] or folder.rsplit("\\", 1)[0] + "\\ConfigurationBackups").rstrip("\\")
    try:
        if not host.exists(backup_root):
            host.mkdir(backup_root)
            rules = [AccessRule("BUILTIN\\Administrators", ["FullControl"]), AccessRule("NT AUTHORITY\\SYSTEM", ["FullControl"])]
            host.set_acl(backup_root, rules, protected=True)
        stamp = host.clock.now().strftime("%Y%m%dT%H%M%SZ")
        backup, n = f"{backup_root}\\{stamp}", 1
        while host.exists(backup):
            backup, n = f"{backup_root}\\{stamp}-{n}", n + 1
        host.mkdir(backup)
        for name in SET_FILES:
            if host.exists(f"{folder}\\{name}"):
                host.copy(f"{folder}\\{name}", f"{backup}\\{name}")
    except WinError as e:
        m.fail_json(f"Failed to keep the previous configuration set in '{backup_root}': {e}")
    r["backup_folder"] = backup

    def set_acl(path: str, readers: list[str]) -> None:
        rules = [AccessRule("BUILTIN\\Administrators", ["FullControl"]), AccessRule("NT AUTHORITY\\SYSTEM", ["FullControl"])]
        for reader in dict.fromkeys(r for r in readers if r and r.casefold() not in ("localsystem", "nt authority\\system")):
            canon = host.canonical_identity(reader)
            if host.account(canon) is None and not canon.startswith(("NT AUTHORITY\\", "NT SERVICE\\", "BUILTIN\\")):
                raise WinError(1332, "Some or all identity references could not be translated.")
            rules.append(AccessRule(reader, ["Read"]))
        host.set_acl(path, rules, protected=True)

    def swap(src: str, names: list[str], readers: list[str]) -> None:
        for name in names:
            staged = f"{folder}\\{name}{STAGED}"
            if host.exists(staged):
                host.remove(staged, force=True)
            host.copy(f"{src}\\{name}", staged)
            set_acl(staged, readers)
        svc = host.service(service)
        if svc is not None and svc.state != "stopped":
            host.stop_service(service, force=True)
        for name in SET_FILES:
            target = f"{folder}\\{name}"
            if name in names:
                if host.exists(target):
                    host.remove(target, force=True)
                host.move(f"{folder}\\{name}{STAGED}", target)
            elif host.exists(target):
                host.remove(target, force=True)

    def start_and_watch(seconds: float) -> str | None:
        since = host.clock.time()
        try:
            host.start_service(service)
        except WinError as e:
            svc = host.service(service)
            return f"the service did not start: Service '{svc.display_name if svc else service} ({service})' cannot be started: {e}"
        deadline = since + seconds
        while True:
            for source_name in p["event_sources"]:
                for event in host.events("Application", source=source_name, since=since):
                    if p["failure_text"].casefold() in event.message.casefold():
                        return event.message
            svc = host.service(service)
            state = service_state(controller_status(svc.state)) if svc else None  # Get-Service's Status, named by _Windows.psm1
            if state != "running":
                return f"the service is {state} (no {p['failure_text']} event was found)"
            if host.clock.time() >= deadline:
                return None
            host.clock.sleep(POLL_S)

    try:
        swap(source, list(checksums), [account])
    except WinError as e:
        m.fail_json(f"Failed to place the configuration set in '{folder}': {e}")
    failure = start_and_watch(p["verify_seconds"])
    if failure is not None:
        r["failure_event"] = failure
        previous = [name for name in SET_FILES if host.exists(f"{backup}\\{name}")]
        try:
            swap(backup, previous, [info["service"]["account"], account])  # the service's own account must read the old set
            r["rolled_back"] = True
            again = start_and_watch(p["verify_seconds"])
        except WinError as e:
            again = str(e)
        svc = host.service(service)
        r["service_state"] = service_state(controller_status(svc.state)) if svc else None
        restarted = f"but the service did not start again: {again}" if again else "and the service started again"
        m.fail_json(
            f"The Email Router did not stay running with the new configuration set; the previous set was put back from '{backup}' {restarted}. Event: {failure}"
        )
    svc = host.service(service)
    r["service_state"] = service_state(controller_status(svc.state)) if svc else None
    old = sorted((d for d in host.listdir(backup_root) if STAMP.match(d) and host.is_dir(f"{backup_root}\\{d}")), reverse=True)
    for name in old[max(1, p["keep_backups"]) :]:
        try:
            host.remove(f"{backup_root}\\{name}", recursive=True, force=True)
        except WinError as e:  # the new set runs: an old backup that cannot go is a warning
            m.warn(f"Failed to remove the old backup '{backup_root}\\{name}': {e}")
