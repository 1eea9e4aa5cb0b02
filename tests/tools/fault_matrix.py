"""`make faults`: the DR run against each fault on simulated estates, and the table of what happened.

Every row starts its own estate (random loopback addresses, so rows run side by side), switches a fault on, runs
`exchange_dr.recovery.dr_run` (the run the operator runs), switches the fault off and runs it again. For each row it reports:

  fault | phase hit | error shown (first line) | data lost? | rerun completes? | time

- phase hit, error: from the DR report of the faulted run (the first phase a host failed in, the first line of its first
  failure); a run that completes despite the fault says so ("tolerated").
- data lost: every file of every host is hashed before the faulted run and after each run, read from the state folder
  without the server (simulator.estate.load_host). A file that is gone or whose content changed counts as lost unless its
  old content is still on that host (a backup such as the previous Email Router set, or the same file) or the new content
  only appends to it (a log). Temporary folders are left out.
- rerun completes: the second run (fault off: faults cleared, the estate or inventory put right) succeeds, and afterwards
  the Email Router runs with exactly the configuration set of the backup on \\\\FS01.

Bases: `lost` is tests/simulator/estates/demo.yml as `make demo` starts it (EX01 lost with its Email Router); `recovered` is
that estate after a completed DR run (built once per matrix run), for faults that meet a running Email Router whose set
must survive (its backup on \\\\FS01 replaced by a newer or a hostile one).

    python -m tests.tools.fault_matrix                    # every row, 2 at a time; writes docs/fault-matrix.md
    python -m tests.tools.fault_matrix --rows drop-verify slow-host --jobs 1 --no-doc
    python -m tests.tools.fault_matrix --list

Logs and DR reports of each row stay in .work/faults/<row>/ (the state folder too when the row failed).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator import cli
from simulator.estate import Estate, _parse_exchange, load_host
from simulator.faults import FaultSet, fault_from_dict

ROOT = Path(__file__).resolve().parents[2]
DEMO_ESTATE = ROOT / "tests" / "simulator" / "estates" / "demo.yml"
VARS = ROOT / "tests" / "demo" / "dr_run_vars.yml"
WORK = ROOT / ".work" / "faults"
DOC = ROOT / "docs" / "fault-matrix.md"
PLUGINS = Path(__file__).resolve().parent / "fault_plugins"
PLAYBOOK = "exchange_dr.recovery.dr_run"
PHASES = ("preflight", "prerequisites", "recover", "reboot", "verify", "email_router", "final_verify")
RUN_TIMEOUT = 900.0  # real seconds: a run that takes longer is reported as hanging

BACKUP = r"D:\Backups\EmailRouter\latest"
SERVICE_FOLDER = r"C:\Program Files\Microsoft CRM Email\Service"
CONFIG = "Microsoft.Crm.Tools.EmailAgent.xml"
KEY = "EncryptionKey.xml"
_SKIP_PARTS = {"temp", "tmp", ".ansible", ".ansible_async"}  # ansible's and Windows' temporary folders come and go


# -- what a row changes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    key: str  # short name (--rows)
    fault: str  # the table's description
    base: str = "lost"  # lost | recovered
    faults: tuple[dict[str, Any], ...] = ()  # on before the faulted run
    trigger: dict[str, Any] | None = None  # {"task": name, "play": name?, "fault": {...}}: on when that task starts
    estate: Callable[[dict[str, Any]], None] | None = None  # edits the estate document (lost base)
    prepare: Callable[[Path], None] | None = None  # edits the stopped state folder before the faulted run
    inventory: Callable[[dict[str, Any], Path], None] | None = None  # edits the faulted run's inventory
    restore: Callable[[Path], None] | None = None  # puts the estate right (stopped) before the rerun
    quick: bool = False  # also in `make test` (tests/simulator/tests/test_fault_matrix.py)


def _drop(phase_task: str, *, play: str | None = None, at: str = "receive", skip: int = 0) -> dict[str, Any]:
    trigger: dict[str, Any] = {"task": phase_task, "fault": {"name": "drop_connection", "host": "EX01", "params": {"at": at, "skip": skip}}}
    if play:
        trigger["play"] = play
    return trigger


def _host_file(state: Path, host: str, path: str, data: bytes | None) -> None:
    """Write (or with None delete) a file of a stopped estate's host through the simulator's host model."""
    live = Estate.open(state).host(host)
    with live.mutating():
        if data is None:
            live.remove(path, force=True)
        else:
            live.write_bytes(path, data)
    live.save()


def _backup_file(name: str) -> bytes:
    doc = yaml.safe_load(DEMO_ESTATE.read_text())
    content = doc["hosts"]["FS01"]["state"]["files"][f"{BACKUP}\\{name}"]
    return (content["content"] if isinstance(content, dict) else content).encode("utf-8")


def newer_backup(state: Path) -> None:
    """Tonight's backup of the router set differs from the running one (one setting): the run must replace the set."""
    data = _backup_file(CONFIG).replace(b"<MaxThreads>50</MaxThreads>", b"<MaxThreads>40</MaxThreads>")
    _host_file(state, "FS01", f"{BACKUP}\\{CONFIG}", data)


def good_backup(state: Path) -> None:
    for name in (CONFIG, KEY):
        _host_file(state, "FS01", f"{BACKUP}\\{name}", _backup_file(name))


XXE = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE Configuration [<!ENTITY secret SYSTEM "file:///C:/Windows/win.ini">]>
<Configuration><SystemConfiguration><MaxThreads>&secret;</MaxThreads></SystemConfiguration></Configuration>
"""
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Configuration [\n <!ENTITY lol "lol">\n'
    + b"".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'.encode() for i in range(1, 10))
    + b"]>\n<Configuration><SystemConfiguration><LogFile>&lol9;</LogFile></SystemConfiguration></Configuration>\n"
)


def hostile_config(data: bytes) -> Callable[[Path], None]:
    return _Put(f"{BACKUP}\\{CONFIG}", data)


@dataclass(frozen=True)
class _Put:
    """Replace a file of FS01's router backup (picklable for the worker processes)."""

    path: str
    data: bytes | None

    def __call__(self, state: Path) -> None:
        _host_file(state, "FS01", self.path, self.data)


def wrong_root(state: Path) -> None:
    data = _backup_file(CONFIG).replace(b"<Configuration>", b"<Settings>").replace(b"</Configuration>", b"</Settings>")
    _host_file(state, "FS01", f"{BACKUP}\\{CONFIG}", data)


def missing_key(state: Path) -> None:
    _host_file(state, "FS01", f"{BACKUP}\\{KEY}", None)


def pending_restart(state: Path) -> None:
    """A restart is still pending after the recovery (a Windows component change): the reboot phase has work."""
    live = Estate.open(state).host("EX01")
    live.set_pending_reboot("component_based_servicing")
    live.save()


def no_server_object(doc: dict[str, Any]) -> None:
    """EX01's Exchange server object is gone from Active Directory; the operator's inventory still lists EX01."""
    del doc["domain"]["exchange"]["servers"]["EX01"]
    doc["hosts"]["EX01"]["groups"] = ["exchange_servers", "email_router_servers"]


def restore_server_object(state: Path) -> None:
    """The object is back (restored from the Active Directory Recycle Bin) before the rerun."""
    original = yaml.safe_load(DEMO_ESTATE.read_text())["domain"]["exchange"]
    server = _parse_exchange({"organization": original["organization"], "servers": {"EX01": original["servers"]["EX01"]}}).servers["EX01"]
    domain_file = state / "domain.json"
    domain = json.loads(domain_file.read_text())
    domain["exchange"]["servers"]["EX01"] = dataclasses.asdict(server)
    domain_file.write_text(json.dumps(domain))


def wrong_host(inventory: dict[str, Any], state: Path) -> None:
    """The inventory's EX01 points at FS01's address (a typo in ansible_host)."""
    hosts = inventory["all"]["hosts"]
    hosts["EX01"]["ansible_host"] = hosts["FS01"]["ansible_host"]


def wrong_password(inventory: dict[str, Any], state: Path) -> None:
    inventory["all"]["hosts"]["EX01"]["ansible_password"] = "Not-The-Passw0rd!"


ROWS: tuple[Row, ...] = (
    Row("drop-preflight", "connection dropped in preflight (exchange_info ran, its answer lost)",
        trigger=_drop("Read the host, its Exchange installation, its server object in AD and the Setup media")),
    Row("drop-prerequisites", "connection dropped in prerequisites (the first runtime installed, its answer lost)",
        trigger=_drop("Install the missing runtimes")),
    Row("drop-recover", "connection dropped in recover (the wait for the running Setup)",
        trigger=_drop("Run Exchange Setup in RecoverServer mode, restart and continue", skip=1)),
    Row("drop-recover-cleanup", "connection dropped in recover (Setup finished, its job file being removed)",
        trigger=_drop("Run Exchange Setup in RecoverServer mode, restart and continue", skip=2)),
    Row("drop-reboot", "connection dropped in reboot (the restart command ran, its answer lost)", base="recovered",
        prepare=pending_restart, trigger=_drop("Restart the recovered server when a restart is still pending, and wait until it answers", skip=1)),
    Row("drop-verify", "connection dropped in verify (service_state ran, its answer lost)",
        trigger=_drop("Check the services of the host in one call", play="Verify")),
    Row("drop-email-router", "connection dropped in email_router (the set was placed, the answer lost)",
        trigger=_drop("Restore or rebuild the configuration set", skip=1), quick=True),
    Row("drop-final-verify", "connection dropped in final_verify",
        trigger=_drop("Check the services of the host in one call", play="Final verify")),
    Row("restart-during-setup", "host restarted during Setup (no clean shutdown, half-way through its components)",
        faults=({"name": "restart_during_program", "host": "EX01", "target": "Setup.exe", "params": {"after": 1500}},)),
    Row("setup-fails", "Exchange Setup fails (a component stops with a critical error)",
        faults=({"name": "exchange_setup_fails", "host": "EX01"},)),
    Row("transport-wont-start", "a service that will not start (MSExchangeTransport: 1053)",
        faults=({"name": "service_wont_start", "host": "EX01", "target": "MSExchangeTransport"},)),
    Row("is-stops", "a service that stops after start (MSExchangeIS, 5 s later)",
        faults=({"name": "service_stops_after_start", "host": "EX01", "target": "MSExchangeIS"},)),
    Row("router-wont-start", "the Email Router service will not start while its new set is placed", base="recovered", prepare=newer_backup,
        faults=({"name": "service_wont_start", "host": "EX01", "target": "MSCRMEmail"},)),
    Row("router-stops", "the Email Router service stops after start (its new set placed)", base="recovered", prepare=newer_backup,
        faults=({"name": "service_stops_after_start", "host": "EX01", "target": "MSCRMEmail"},)),
    Row("full-volume", "full volume (C: on EX01, from the start)", faults=({"name": "full_volume", "host": "EX01", "target": "C"},)),
    Row("full-volume-router", "full volume (C: on EX01) while the router's set is replaced", base="recovered", prepare=newer_backup,
        faults=({"name": "full_volume", "host": "EX01", "target": "C"},)),
    Row("slow-host", "slow host (every WinRM answer 20 s late, simulated)", faults=({"name": "slow_host", "host": "EX01", "params": {"seconds": 20}},)),
    Row("xxe", "hostile Email Router set: XXE (external entity)", base="recovered", prepare=hostile_config(XXE), restore=good_backup),
    Row("billion-laughs", "hostile Email Router set: billion laughs", base="recovered", prepare=hostile_config(BILLION_LAUGHS), restore=good_backup),
    Row("wrong-root", "invalid Email Router set: wrong root element", base="recovered", prepare=wrong_root, restore=good_backup),
    Row("missing-key", "invalid Email Router set: EncryptionKey.xml missing", base="recovered", prepare=missing_key, restore=good_backup),
    Row("wrong-hostname", "wrong hostname (the inventory's EX01 points at FS01)", inventory=wrong_host),
    Row("missing-ad-object", "missing AD object (EX01's Exchange server object deleted)", estate=no_server_object, restore=restore_server_object),
    Row("wrong-credentials", "wrong credentials (EX01's password)", inventory=wrong_password),
)  # fmt: skip
ROWS_BY_KEY = {r.key: r for r in ROWS}


# -- the host state, read without the server ---------------------------------------------------------------------------
Snapshot = dict[str, dict[str, bytes]]  # host -> relative path -> content


def snapshot(state: Path) -> Snapshot:
    """Every file of every host (temporary folders left out), read from the state folder through load_host."""
    out: Snapshot = {}
    for name in sorted(p.name for p in (state / "hosts").iterdir() if p.is_dir()):
        fs = load_host(state, name).fs_root
        out[name] = {
            str(p.relative_to(fs)): p.read_bytes()
            for p in sorted(fs.rglob("*"))
            if p.is_file() and not _SKIP_PARTS & {part.lower() for part in p.relative_to(fs).parts}
        }
    return out


def lost_files(before: Snapshot, after: Snapshot) -> list[str]:
    """Files whose content is gone: deleted or overwritten, with no copy of the old content left on the host, and not a
    log that only grew."""
    lost = []
    for host, files in before.items():
        now = after.get(host, {})
        hashes = {hashlib.sha256(data).hexdigest() for data in now.values()}
        for path, data in files.items():
            new = now.get(path)
            if new == data or (new is not None and new.startswith(data)):
                continue
            if hashlib.sha256(data).hexdigest() not in hashes:
                lost.append(f"{host}:{path}")
    return lost


def router_matches_backup(state: Path) -> str | None:
    """None when EX01's Email Router runs with the configuration and key of the backup on FS01; else what differs."""
    ex01, fs01 = load_host(state, "EX01"), load_host(state, "FS01")
    service = ex01.service("MSCRMEmail")
    if service is None or service.state != "running":
        return f"MSCRMEmail is {service.state if service else 'not installed'}"
    for name in (CONFIG, KEY):
        if ex01.read_bytes(f"{SERVICE_FOLDER}\\{name}") != fs01.read_bytes(f"{BACKUP}\\{name}"):
            return f"{name} in the Service folder differs from the backup"
    return None


# -- one run -----------------------------------------------------------------------------------------------------------
@dataclass
class Run:
    rc: int
    seconds: float
    outcome: str  # the DR report's outcome, or "no report"
    phase: str  # first failed phase (or "-")
    error: str  # first line of the first failure (or "")
    log: Path
    report_dir: Path


def playbook(row_dir: Path, label: str, inventory: Path, *, trigger: dict[str, Any] | None = None, verbosity: int = 0, extra: tuple[str, ...] = ()) -> Run:
    reports = row_dir / f"reports-{label}"
    log = row_dir / f"{label}.log"
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS),
        "ANSIBLE_CALLBACKS_ENABLED": "exchange_dr.recovery.dr_report" + (",fault_trigger" if trigger else ""),
        "ANSIBLE_LOG_PATH": str(row_dir / f"{label}.ansible.log"),
        "EXCHANGE_DR_REPORT_DIR": str(reports),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(row_dir / "ansible-tmp"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAULT_TRIGGER": json.dumps(trigger) if trigger else "",
        "FAULT_TRIGGER_LOG": str(row_dir / "trigger.log"),
    }
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), PLAYBOOK, "-e", f"@{VARS}", *extra]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    started = time.monotonic()
    with log.open("w") as out:
        try:
            rc = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT, check=False).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    seconds = time.monotonic() - started
    outcome, phase, error = read_report(reports / "dr_report.json")
    if rc == -1:
        outcome, error = "hung", f"no end after {RUN_TIMEOUT:.0f}s"
    elif outcome == "no report":
        error = first_error_line(log.read_text(errors="replace"))
    return Run(rc, seconds, outcome, phase, error, log, reports)


def read_report(path: Path) -> tuple[str, str, str]:
    """(outcome, first failed phase, first line of its first failure) from a DR report."""
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return "no report", "-", ""
    for phase in report.get("phases", []):
        for host, hp in sorted(phase.get("hosts", {}).items()):
            if hp.get("failures"):
                first = hp["failures"][0]
                text = (first.get("msg") or "").strip().splitlines()
                shown = _cell(text[0] if text else "", 180)
                if first.get("hint"):  # the DR report's summary prints it under the failure
                    shown += f" [hint: {first['hint'].split(':')[0]}]"
                return report.get("outcome", "?"), f"{phase['name']} ({host})", shown
    return report.get("outcome", "?"), "-", ""


def first_error_line(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("fatal:", "ERROR!", "[ERROR]")):
            return line.strip()
    return ""


# -- the estate of a row -----------------------------------------------------------------------------------------------
def _start(state: Path) -> None:
    with contextlib.redirect_stdout(None):
        rc = cli.main(["start", "--estate", str(state / "estate.yml"), "--state", str(state), "--auto-addresses", "--timeout", "120"])
    if rc != 0:
        raise RuntimeError(f"the estate in {state} did not start (rc {rc}); see {state / 'server.log'}")


def _stop(state: Path) -> None:
    with contextlib.redirect_stdout(None):
        cli.main(["stop", "--state", str(state)])


@contextlib.contextmanager
def stopped(state: Path) -> Iterator[None]:
    _stop(state)
    try:
        yield
    finally:
        _start(state)


def _fresh_addresses(state: Path) -> None:
    """A copied state folder gets new random addresses (the original's may be in use by another row)."""
    path = state / "estate.yml"
    doc = yaml.safe_load(path.read_text())
    for spec in doc["hosts"].values():
        spec["address"] = "auto"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def new_state(row: Row, row_dir: Path, recovered: Path | None) -> Path:
    state = row_dir / "state"
    if row.base == "recovered":
        if recovered is None:
            raise RuntimeError(f"row {row.key} needs the recovered base")
        shutil.copytree(recovered, state, ignore=shutil.ignore_patterns("server.pid", "server.log", "stats.json", ".ansible-tmp"))
        _fresh_addresses(state)
    else:
        doc = yaml.safe_load(DEMO_ESTATE.read_text())
        if row.estate:
            row.estate(doc)
        state.mkdir(parents=True)
        (state / "estate.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return state


def build_recovered_base(work: Path) -> Path:
    """The demo estate after a completed DR run (stopped; rows copy it)."""
    base_dir = work / "_recovered"
    shutil.rmtree(base_dir, ignore_errors=True)
    base_dir.mkdir(parents=True)
    state = new_state(Row("_recovered", ""), base_dir, None)
    _start(state)
    try:
        run = playbook(base_dir, "build", state / "inventory.yml")
        if run.rc != 0:
            raise RuntimeError(f"the DR run that builds the recovered base failed: {run.error} (see {run.log})")
    finally:
        _stop(state)
    return state


# -- one row -----------------------------------------------------------------------------------------------------------
@dataclass
class Result:
    row: Row
    faulted: Run | None = None
    rerun: Run | None = None
    lost: list[str] = field(default_factory=list)
    router: str | None = None  # what is wrong with the router after the rerun (None: runs with the backup's set)
    seconds: float = 0.0
    problem: str = ""  # the harness itself failed

    @property
    def tolerated(self) -> bool:
        return self.faulted is not None and self.faulted.rc == 0

    @property
    def error_shown(self) -> str:
        if self.faulted is None:
            return ""
        if self.tolerated:
            return "none: the run completed despite the fault"
        return self.faulted.error

    @property
    def rerun_completes(self) -> bool:
        return self.rerun is not None and self.rerun.rc == 0 and self.rerun.outcome == "succeeded" and self.router is None

    @property
    def ok(self) -> bool:
        """Every row: a clear error (or the fault tolerated), nothing lost, a rerun that completes."""
        return not self.problem and bool(self.error_shown) and not self.lost and self.rerun_completes


def run_row(row: Row, work: Path = WORK, recovered: Path | None = None, *, verbosity: int = 0, extra: tuple[str, ...] = ()) -> Result:
    row_dir = work / row.key
    shutil.rmtree(row_dir, ignore_errors=True)
    row_dir.mkdir(parents=True)
    result = Result(row)
    started = time.monotonic()
    state = new_state(row, row_dir, recovered)
    try:
        if row.prepare:
            row.prepare(state)
        _start(state)
        try:
            inventory = state / "inventory.yml"
            faulted_inventory = inventory
            if row.inventory:
                doc = yaml.safe_load(inventory.read_text())
                row.inventory(doc, state)
                faulted_inventory = row_dir / "inventory-fault.yml"
                faulted_inventory.write_text(yaml.safe_dump(doc, sort_keys=False))
            faults = FaultSet.for_state_dir(state)
            for spec in row.faults:
                faults.switch_on(fault_from_dict(spec))
            trigger = {**row.trigger, "state": str(state)} if row.trigger else None
            before = snapshot(state)
            result.faulted = playbook(row_dir, "1-fault", faulted_inventory, trigger=trigger, verbosity=verbosity, extra=extra)
            lost = lost_files(before, snapshot(state))
            faults.replace_all([])  # the fault is switched off
            if row.restore:
                with stopped(state):
                    row.restore(state)
                before = snapshot(state)  # what the restore put right is the rerun's starting point
            result.rerun = playbook(row_dir, "2-rerun", inventory, verbosity=verbosity, extra=extra)
            time.sleep(0.5)  # the server saves host state after each command and from its flusher
            result.lost = sorted(set(lost) | set(lost_files(before, snapshot(state))))
            result.router = router_matches_backup(state)
        finally:
            _stop(state)
    except Exception as exc:  # the harness failed, not the product: reported in the row
        result.problem = f"{type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    if result.ok and not verbosity:
        shutil.rmtree(state, ignore_errors=True)
    return result


# -- the table ---------------------------------------------------------------------------------------------------------
def _cell(text: str, limit: int = 300) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(results: list[Result]) -> list[str]:
    lines = [
        "| fault | phase hit | error shown (first line) | data lost? | rerun completes? | time (fault + rerun) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.problem:
            lines.append(f"| {_cell(r.row.fault)} | - | harness failed: {_cell(r.problem)} | ? | ? | {r.seconds:.0f} s |")
            continue
        assert r.faulted is not None and r.rerun is not None
        phase = "- (tolerated)" if r.tolerated else r.faulted.phase
        lost = "no" if not r.lost else "YES: " + _cell(", ".join(r.lost), 120)
        rerun = "yes" if r.rerun_completes else f"NO: {_cell(r.rerun.error or r.router or r.rerun.outcome, 100)}"
        timing = f"{r.faulted.seconds:.0f} + {r.rerun.seconds:.0f} s"
        lines.append(f"| {_cell(r.row.fault)} | {phase} | {_cell(r.error_shown)} | {lost} | {rerun} | {timing} |")
    return lines


def write_doc(results: list[Result], wall: float, jobs: int, build_s: float | None, load: float) -> None:
    ok = sum(r.ok for r in results)
    quick = [r.row.key for r in results if r.row.quick]
    lines = [
        "# Fault matrix",
        "",
        "Generated by `make faults` (`python -m tests.tools.fault_matrix`); do not edit by hand. Each row starts its own simulated",
        "estate, switches the fault on, runs `exchange_dr.recovery.dr_run` with `tests/demo/dr_run_vars.yml`, switches the fault off",
        "and runs it again. *Data lost* compares every file of every host before and after each run, read from the state folder",
        "without the server (`simulator.estate.load_host`): a file that is gone or overwritten counts unless its old content is still",
        "on the host (the previous Email Router set in its time-stamped backup folder, say). *Rerun completes* means the second run",
        "succeeded and the Email Router then runs with exactly the configuration set of the backup on `\\\\FS01`.",
        "",
        "Bases: *lost* rows start from `tests/simulator/estates/demo.yml` (EX01 lost with its Email Router, as `make demo`); *recovered*",
        "rows start from that estate after a completed DR run, so a running Email Router's set must survive the fault.",
        "How each fault works: `tests/simulator/faults.py` and `tests/simulator/README.md` (Faults); the rows: `tests/tools/fault_matrix.py`.",
        "",
        *table(results),
        "",
        f"{ok} of {len(results)} rows pass (a clear error or the fault tolerated, nothing lost, the rerun completes).",
        f"Wall time {wall:.0f} s with {jobs} rows at a time"
        + (f", including {build_s:.0f} s to build the recovered base" if build_s is not None else "")
        + f"; sum of row times {sum(r.seconds for r in results):.0f} s; {os.cpu_count()} CPUs, load average {load:.1f} at the start.",
        "",
        "## In `make test`",
        "",
        f"`make simulator` (part of `make test`) runs the row{'s' if len(quick) > 1 else ''} {', '.join(f'`{k}`' for k in quick)}",
        "(`tests/simulator/tests/test_fault_matrix.py`) and one more row with the secrets check (`tests/simulator/tests/test_secrets.py`):",
        "the Email Router's service stops after each start on the lost estate, the router running as a domain account whose",
        "password is a role variable; both runs at `-vvvv --diff`. Their output, the ansible log, the DR report and verify reports,",
        "the simulator's server.log, every host's event logs and registry and every file on the hosts (but the configuration set",
        "itself) must not contain any password or key of the inventory, the variables or the Email Router set (EmailPassword as",
        "stored and decrypted, the EncryptionKey.xml key). About two and a half minutes of test time in all; the whole matrix",
        "is `make faults`.",
        "",
    ]
    DOC.write_text("\n".join(lines))


def _run_one(args: tuple[Row, Path, Path | None]) -> Result:
    return run_row(*args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", help="row keys (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="rows at a time (default 2)")
    parser.add_argument("--no-doc", action="store_true", help=f"do not write {DOC.relative_to(ROOT)}")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args(argv)
    if args.list:
        for row in ROWS:
            print(f"{row.key:22} {row.base:9} {row.fault}")
        return 0
    unknown = [k for k in args.rows or [] if k not in ROWS_BY_KEY]
    if unknown:
        parser.error(f"unknown rows: {', '.join(unknown)} (see --list)")
    rows = [ROWS_BY_KEY[k] for k in args.rows] if args.rows else list(ROWS)
    WORK.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]  # the figures depend on what else the machine runs
    started = time.monotonic()
    recovered, build_s = None, None
    if any(r.base == "recovered" for r in rows):
        print("== building the recovered base (the demo estate after a completed DR run)", flush=True)
        recovered = build_recovered_base(WORK)
        build_s = time.monotonic() - started
    print(f"== {len(rows)} rows, {args.jobs} at a time; logs in {WORK.relative_to(ROOT)}/<row>/", flush=True)
    results: dict[str, Result] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(_run_one, (row, WORK, recovered)): row for row in rows}
        for future in concurrent.futures.as_completed(futures):
            row = futures[future]
            result = future.result()
            results[row.key] = result
            verdict = "ok" if result.ok else "FAILED"
            print(f"   {row.key:22} {verdict:6} {result.seconds:5.0f} s  {_cell(result.error_shown or result.problem, 100)}", flush=True)
    ordered = [results[r.key] for r in rows]
    wall = time.monotonic() - started
    print()
    print("\n".join(table(ordered)))
    print(f"\n{sum(r.ok for r in ordered)} of {len(ordered)} rows pass; wall time {wall:.0f} s ({args.jobs} at a time)")
    if not args.no_doc and not args.rows:
        write_doc(ordered, wall, args.jobs, build_s, load)
        print(f"written {DOC.relative_to(ROOT)}")
    return 0 if all(r.ok for r in ordered) else 1


if __name__ == "__main__":
    sys.exit(main())
