# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plan of exchange_database: which files go where, which eseutil runs, what is mounted - and the refusals.

For internal collection use only. The action plugin reads the database (exchange_database_info, judged by
_exchange_databases.judge_database) and the backup, the record of earlier runs and the aside volume (the module's inspect
operation), asks `plan()` for the steps, and hands them to the module's apply operation, which runs them in order and
stops at the first failure. Everything decided here is decided again from the files on the next run, so a run interrupted
at any step completes when it is run again. Facts and sources: docs/databases.md.

The least destructive way to a mounted database is taken:
1. mounted already: nothing (a pending repair request is made);
2. the EDB is missing, or unusable (restore: unusable) or the backup is wanted anyway (restore: always): put the backup
   back - missing logs are added to the log folder (existing files are kept: they may hold newer transactions to roll
   forward), or with allow_file_restore the current files are first moved into a time-stamped aside folder;
3. Dirty Shutdown with every log: soft recovery (eseutil /r), or the store's own replay at mount;
4. a hole after the required logs: eseutil /r /a, only with allow_data_loss;
5. logs missing, damaged or another stream, or repair asked for: a copy aside, eseutil /p (and /d), only with
   allow_data_loss and repair; then New-MailboxRepairRequest (2010 SP1+) or isinteg (2007, 2010 RTM);
6. nothing usable and dial_tone: the remains moved aside and an empty database mounted (Mount-Database -Force).
Otherwise the task fails naming what is wrong and where, and nothing is changed.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._eseutil import _size

MODULE = "exchange_dr.recovery.exchange_database"
RECORD_KEY = r"HKLM:\SOFTWARE\exchange_dr\recovery\Databases"  # one value per database GUID: the JSON record
# New-MailboxRepairRequest -CorruptionType: the four types every release from 2010 SP1 has (PS New-MailboxRepairRequest)
DEFAULT_CORRUPTION_TYPES = ("SearchFolder", "AggregateCounts", "ProvisionedFolder", "FolderView")
CORRUPTION_TYPES = {
    # value -> (first product, only by itself). PS New-MailboxRepairRequest -CorruptionType; "*" marks values that can only
    # be used by themselves - the page's own examples combine the four 2010 types, so the mark is applied to the later ones.
    "SearchFolder": ("2010", False),
    "AggregateCounts": ("2010", False),
    "ProvisionedFolder": ("2010", False),
    "FolderView": ("2010", False),
    "MessageId": ("2010", False),
    "MessagePtagCn": ("2010", False),
    "MissingSpecialFolders": ("2013", False),
    "ReplState": ("2013", False),
    "RestrictionFolder": ("2013", False),
    "RuleMessageClass": ("2013", False),
    "ScheduledCheck": ("2013", False),
    "UniqueMidIndex": ("2013", False),
    "CorruptJunkRule": ("2013", True),
    "DropAllLazyIndexes": ("2013", True),
    "FolderACL": ("2013", True),
    "ImapId": ("2013", True),
    "LockedMoveTarget": ("2013", True),
    "CleanupFilesFolder": ("2016", True),
    "CorruptedPerUserData": ("2016", True),
    "EmptyFilesFolder": ("2016", True),
    "ReduceRedundantAI": ("2016", True),
}
_PRODUCT_ORDER = ("2007", "2010", "2013", "2016", "2019", "SE")
TEMP_REPAIR = "TEMPREPAIR.EDB"  # eseutil /t: the temporary database beside the EDB, so its space comes from that volume
TEMP_DEFRAG = "TEMPDFRG.EDB"


# Get-MailboxRepairRequest: 2013 and later (PS Get-MailboxRepairRequest, "Applicable")
GET_REPAIR_REQUEST_PRODUCTS = ("2013", "2016", "2019", "SE")


class NeedMore(Exception):
    """The plan needs one more read from the host (the name of the inspect flag to set); the action plugin reads and asks again."""


class PlanError(Exception):
    """The task must stop before anything is changed; the message says what is wrong, where, and what to do. `verdict`:
    the soft-recovery verdict behind a refusal, when there is one."""

    def __init__(self, message: str, verdict: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict


@dataclass
class Step:
    """One thing the module's apply operation does. `host` is what the .ps1 reads (its `kind` picks the code)."""

    kind: str
    description: str
    host: dict[str, Any]
    command: str | None = None  # the command line or cmdlet call, for the plan shown to the user

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.kind, "description": self.description, "command": self.command}


@dataclass
class Plan:
    database: str
    action: str  # nothing | dismount | mount | recover | restore | swap | repair | dial_tone | repair_request
    steps: list[Step] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    aside: list[str] = field(default_factory=list)  # folders files are moved or copied into
    restored_from: str | None = None
    copy: str | None = None  # the copy of the database taken before a repair
    verdict: dict[str, Any] | None = None  # soft-recovery verdict of the files that will be mounted
    record: dict[str, Any] | None = None  # the record after the plan ran
    after: dict[str, Any] = field(default_factory=dict)  # the predicted state (check mode, diff)

    @property
    def changes(self) -> bool:
        return bool(self.steps)

    @property
    def msg(self) -> str:
        return " ".join(self.messages)


# -- what the inspect operation read --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backup:
    """The backup in restore_from (and restore_logs_from), as the controller judges it."""

    folder: str
    log_folder: str
    edb: str  # the chosen database file (full path)
    edb_name: str
    edb_size: int
    identity: dict[str, Any]  # size, modified, DB signature: the same backup is not put back twice (restore: always)
    header: _eseutil.DatabaseHeader
    log_names: tuple[str, ...]
    log_bytes: dict[str, int]
    verification: _eseutil.LogVerification | None
    current_generation: int | None
    current_signature: str | None


def _lines(run: dict[str, Any] | None) -> str:
    return "\n".join((run or {}).get("output") or [])


def _norm(path: str | None) -> str:
    return (path or "").rstrip("\\").casefold()


def _folder(path: str) -> str:
    return path.rsplit("\\", 1)[0] if "\\" in path else path


def _name(path: str) -> str:
    return path.rsplit("\\", 1)[-1]


def parse_record(text: str | None) -> dict[str, Any] | None:
    """The record the module keeps of its own operations on a database (the registry value), or None."""
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def read_backup(db: dict[str, Any], params: dict[str, Any], inspect: dict[str, Any]) -> Backup:
    """Judge the backup folder the inspect operation read; PlanError naming the folder when it cannot be used."""
    name = db["name"]
    raw = inspect.get("backup") or {}
    folder = params["restore_from"]
    own = {_norm(_folder(db["edb_file_path"])), _norm(db.get("log_folder_path"))}
    if _norm(folder) in own or _norm(params.get("restore_logs_from")) in own:
        raise PlanError(f"restore_from {folder} is a folder of {name} itself: give the folder that holds the backup. Nothing was changed.")
    if raw.get("error"):
        hint = ""
        if folder.startswith("\\\\") and "denied" in str(raw["error"]).lower():
            hint = " (a WinRM logon has no credentials for a share - the second hop: run the task with become, or copy the backup to the host first)"
        raise PlanError(f"Cannot read the backup folder {folder} on {inspect.get('server') or 'the host'}: {raw['error']}{hint}. Nothing was changed.")
    if not raw.get("exists"):
        raise PlanError(f"The backup folder {folder} does not exist on {inspect.get('server') or 'the host'}. Nothing was changed.")
    edbs = list(raw.get("edb_files") or [])
    wanted = _name(db["edb_file_path"]).casefold()
    chosen = next((f for f in edbs if f["name"].casefold() == wanted), None)
    if chosen is None and len(edbs) == 1:
        chosen = edbs[0]
    if chosen is None:
        found = ", ".join(f["name"] for f in edbs) or "no .edb file"
        why = "several database files and none is named " + _name(db["edb_file_path"]) if edbs else "no database file"
        raise PlanError(
            f"The backup folder {folder} holds {why} (found: {found}): it must hold {_name(db['edb_file_path'])} (or a single .edb file) "
            f"of {name}. Nothing was changed."
        )
    mh = (raw.get("eseutil") or {}).get(chosen["name"]) or {}
    try:
        header = _eseutil.parse_mh(_lines(mh.get("mh")), (mh.get("mh") or {}).get("rc"))
    except _eseutil.EseutilOutputError as error:
        raise PlanError(f"Cannot read the header of {chosen['path']}: {error}. Nothing was changed.") from None
    if header.state is None:
        raise PlanError(f"{chosen['path']} is not a readable Exchange database ({header.outcome.message}). Nothing was changed.")
    logs = raw.get("logs") or {}
    verification = None
    if logs.get("ml") is not None:
        try:
            verification = _eseutil.parse_ml(_lines(logs["ml"]), logs["ml"].get("rc"))
        except _eseutil.EseutilOutputError:
            verification = None
    generation = signature = None
    if logs.get("current_log") is not None:
        try:
            current = _eseutil.parse_log_header(_lines(logs["current_log"]), logs["current_log"].get("rc"))
            generation, signature = current.generation, current.signature
        except _eseutil.EseutilOutputError:
            generation = signature = None
    files = logs.get("files") or []
    return Backup(
        folder=folder,
        log_folder=params.get("restore_logs_from") or folder,
        edb=chosen["path"],
        edb_name=chosen["name"],
        edb_size=int(chosen.get("size") or 0),
        identity={"size": chosen.get("size"), "modified": chosen.get("modified"), "signature": header.db_signature},
        header=header,
        log_names=tuple(f["name"] for f in files),
        log_bytes={f["name"].casefold(): int(f.get("size") or 0) for f in files},
        verification=verification,
        current_generation=generation,
        current_signature=signature,
    )


# -- the plan ---------------------------------------------------------------------------------------------------------------
@dataclass
class Context:
    """Everything plan() decides from."""

    params: dict[str, Any]
    db: dict[str, Any]  # one judged entry of exchange_database_info
    product: str  # 2007 ... SE
    capabilities: dict[str, bool]
    server: str
    inspect: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.db["name"])

    @property
    def record(self) -> dict[str, Any] | None:
        return parse_record(self.inspect.get("record"))

    @property
    def stamp(self) -> str:
        return str(self.inspect.get("now") or "00000000T000000Z")

    @property
    def prefix(self) -> str:
        return str(self.db.get("log_prefix") or "E00")

    @property
    def siblings(self) -> list[dict[str, Any]]:
        """2007: the other databases of the storage group (they share its log stream and checkpoint)."""
        return [s for s in self.inspect.get("siblings") or [] if str(s.get("name", "")).casefold() != self.name.casefold()]


def validate(params: dict[str, Any]) -> list[str]:
    """Option combinations the documentation rules out (the spec cannot say them)."""
    errors = []
    if params["state"] == "dismounted":
        given = [o for o in ("restore_from", "restore_logs_from", "aside_folder") if params.get(o)]
        given += [o for o in ("dial_tone", "allow_data_loss") if params.get(o)]
        if params.get("repair") != "none":
            given.append("repair")
        if given:
            errors.append(f"state=dismounted only dismounts the database; {', '.join(given)} need state=mounted or state=present")
    if params.get("restore_logs_from") and not params.get("restore_from"):
        errors.append("restore_logs_from needs restore_from (the folder with the backup's database file)")
    if params.get("dial_tone") and params.get("restore_from"):
        errors.append("dial_tone and restore_from are two ways to bring the database back: use one (dial tone first, the backup later: see the examples)")
    if params.get("dial_tone") and params.get("repair") != "none":
        errors.append("dial_tone and repair are two ways to bring the database back: use one")
    if params.get("repair") != "none" and not params.get("allow_data_loss"):
        errors.append(f"repair={params['repair']} runs eseutil /p, which loses data: set allow_data_loss=true to allow it")
    for value in params.get("repair_request") or []:
        if value not in CORRUPTION_TYPES:
            errors.append(f"repair_request: {value!r} is not a corruption type of New-MailboxRepairRequest (known: {', '.join(CORRUPTION_TYPES)})")
    alone = [v for v in params.get("repair_request") or [] if CORRUPTION_TYPES.get(v, ("", False))[1]]
    if alone and len(params.get("repair_request") or []) > 1:
        errors.append(f"repair_request: {alone[0]} can only be used by itself (New-MailboxRepairRequest)")
    return errors


def plan(ctx: Context) -> Plan:
    """The steps that bring the database to the wanted state, or PlanError. Pure: reads only `ctx`."""
    db, p = ctx.db, ctx.params
    name = ctx.name
    result = Plan(name, "nothing")
    mounted = db.get("mounted") is True
    result.after = {"mounted": mounted}

    if p["state"] == "dismounted":
        if mounted:
            result.action = "dismount"
            result.steps.append(_dismount(ctx))
            result.messages.append(f"{name} will be dismounted.")
            result.after = {"mounted": False}
        else:
            result.messages.append(f"{name} is dismounted.")
        return result

    if db.get("recovery"):
        raise PlanError(
            f"{name} is a recovery database (or in a recovery storage group): use exchange_dr.recovery.exchange_recovery_database for it. Nothing was changed."
        )
    record = ctx.record or {}
    if mounted:
        return _plan_mounted(ctx, result, record)
    return _plan_dismounted(ctx, result, record)


def backup_needed(params: dict[str, Any], db: dict[str, Any]) -> bool:
    """Whether the plan may need the backup, from what exchange_database_info read: the inspect reads the backup folder
    (eseutil over every log, perhaps across the network) only then."""
    if not params.get("restore_from") or params["state"] == "dismounted":
        return False
    if db.get("mounted") is True:
        return params["restore"] == "always"
    usable = ((db.get("files") or {}).get("edb") or {}).get("exists") and (db.get("recovery_verdict") or {}).get("verdict") in ("clean", "recoverable")
    return not usable or params["restore"] != "missing"


def _backup(ctx: Context) -> Backup | None:
    """The backup, judged only when the plan needs it: a later run must not fail because a backup no longer needed was
    removed or cannot be read."""
    if not ctx.params.get("restore_from"):
        return None
    if ctx.inspect.get("backup") is None:
        raise NeedMore("read_backup")
    return read_backup(ctx.db, ctx.params, ctx.inspect)


def _check_release(ctx: Context) -> None:
    for value in ctx.params.get("repair_request") or []:
        first = CORRUPTION_TYPES[value][0]
        if ctx.product in _PRODUCT_ORDER and _PRODUCT_ORDER.index(ctx.product) < _PRODUCT_ORDER.index(first):
            raise PlanError(f"repair_request: {value} needs Exchange {first} or later; {ctx.server} runs Exchange {ctx.product}. Nothing was changed.")


# -- a mounted database -----------------------------------------------------------------------------------------------------
def _plan_mounted(ctx: Context, result: Plan, record: dict[str, Any]) -> Plan:
    p, name = ctx.params, ctx.name
    backup = _backup(ctx) if p["restore"] == "always" else None
    if backup is not None and not _already_restored(record, backup):
        if record.get("last") != "dial_tone":
            raise PlanError(
                f"{name} is mounted on {ctx.server}: restore=always would replace the files of a database in use. Dismount it first "
                f"(state=dismounted) if you mean to put the backup from {backup.folder} back over it; its files are then moved aside. Nothing was changed."
            )
        # the swap after dial tone recovery: the empty database this module mounted makes way for the restored one
        _refuse_replicated(ctx, "replace its dial-tone database")
        result.steps.append(_dismount(ctx))
        return _restore(ctx, result, record, backup, replace=True, swap=True)
    pending = _pending_repair_request(ctx, record)
    if pending is not None:
        result.action = "repair_request"
        result.steps.extend(pending)
        result.messages.append(f"{name} is mounted; the repair request that follows its repair is made now.")
        result.after = {"mounted": True}
        return result
    result.messages.append(f"{name} is mounted.")
    if p.get("restore_from") and p["restore"] != "always":
        result.messages.append(f"The backup in {p['restore_from']} is not needed (restore={p['restore']}).")
    return result


def _already_restored(record: dict[str, Any], backup: Backup) -> bool:
    restore = record.get("restore") or {}
    return (
        record.get("last") != "dial_tone"
        and _norm(restore.get("source")) == _norm(backup.folder)
        and (restore.get("backup") or {}) == {k: backup.identity[k] for k in ("size", "modified", "signature")}
    )


def _pending_repair_request(ctx: Context, record: dict[str, Any]) -> list[Step] | None:
    """The repair request that follows a repair, when it is still to be made. A run cut off between "requested" and "done"
    may or may not have made it: on 2013 and later Get-MailboxRepairRequest tells (a second inspect reads it); on 2010 it
    is made again (the store refuses it while the first is still active, and a second repair of the mailboxes is harmless)."""
    repair = record.get("repair") or {}
    if repair.get("state") != "repaired" or repair.get("request") not in ("pending", "requested"):
        return None
    if repair["request"] == "requested" and ctx.product in GET_REPAIR_REQUEST_PRODUCTS:
        listed = ctx.inspect.get("repair_requests")
        if listed is None:
            raise NeedMore("repair_requests")
        if listed:
            done = json.loads(json.dumps(record))
            done["repair"]["request"] = "done"
            return [_record_step(ctx, done, f"record that the repair request for {ctx.name} was made (it is listed: {listed[0].get('identity')})")]
    return _repair_request_steps(ctx, record)


# -- a dismounted database --------------------------------------------------------------------------------------------------
def _plan_dismounted(ctx: Context, result: Plan, record: dict[str, Any]) -> Plan:
    db, p, name = ctx.db, ctx.params, ctx.name
    edb = (db.get("files") or {}).get("edb") or {}
    verdict = db.get("recovery_verdict") or {}
    usable = bool(edb.get("exists")) and verdict.get("verdict") in ("clean", "recoverable")
    repair = record.get("repair") or {}
    count = _header_repair_count(db)
    repaired = repair.get("state") == "repaired" and count is not None and count == repair.get("repair_count")
    if repair.get("state") == "started" and repair.get("count_before") is not None and count == repair["count_before"] + 1:
        # an earlier run's eseutil /p finished but the run did not: finish the repair (the logs aside, mount, request)
        if p["repair"] == "none" or not p.get("allow_data_loss"):
            raise PlanError(
                f"{name} was repaired (eseutil /p) by an earlier run that did not finish: run the task again with repair=repair and "
                f"allow_data_loss=true to finish it (its copy from before the repair is {repair.get('copy')}). Nothing was changed."
            )
        size = int((((db.get("files") or {}).get("edb") or {}).get("size")) or 0)
        _repair(ctx, result, record, size, after_p=True)
        return result

    if p.get("restore_from"):
        needed = not edb.get("exists") or (p["restore"] == "unusable" and not usable and not repaired) or p["restore"] == "always"
        backup = _backup(ctx) if needed else None
        if backup is not None and not edb.get("exists"):
            return _restore(ctx, result, record, backup, replace=False)
        if backup is not None and (p["restore"] != "always" or not _already_restored(record, backup)):
            return _restore(ctx, result, record, backup, replace=True)
    if not edb.get("exists"):
        if p.get("dial_tone"):
            return _dial_tone(ctx, result, record)
        raise PlanError(
            f"The database file of {name}, {db['edb_file_path']}, does not exist on {ctx.server}: give restore_from (a folder with the backup) "
            "or dial_tone=true (an empty database now, the backup later). Nothing was changed."
        )
    return _recover_and_mount(ctx, result, record, verdict=verdict, repaired=repaired)


def _header_repair_count(db: dict[str, Any]) -> int | None:
    return (db.get("header") or {}).get("repair_count")


def _recover_and_mount(
    ctx: Context,
    result: Plan,
    record: dict[str, Any],
    *,
    verdict: dict[str, Any],
    repaired: bool,
    edb_size: int | None = None,
    restored: bool = False,
    log_names: list[str] | None = None,
    checkpoint: bool | None = None,
    repair_count: int | None = None,
) -> Plan:
    """The files are in place (now or after the steps already planned): bring them to Clean Shutdown and mount.
    `log_names`/`checkpoint`: what the log folder holds by then (default: what it holds now); `repair_count`: the header's
    repair count of the database that will be there (default: the current file's)."""
    p, db, name = ctx.params, ctx.db, ctx.name
    if repair_count is None:
        repair_count = _header_repair_count(db)
    kind = verdict.get("verdict") or "unknown"
    size = edb_size if edb_size is not None else int((((db.get("files") or {}).get("edb") or {}).get("size")) or 0)
    result.verdict = verdict or None
    want_repair = p["repair"] != "none" and not repaired
    if kind == "clean" and not want_repair:
        result.action = result.action if restored else "mount"
    elif kind == "recoverable" and not want_repair:
        result.action = result.action if restored else "recover"
        result.steps.extend(_soft_recovery(ctx, allow_loss=False))
    elif kind == "recoverable_with_loss" and not want_repair:
        if not p.get("allow_data_loss"):
            raise PlanError(f"{verdict.get('message')}. Set allow_data_loss=true to replay up to the hole (eseutil /r /a). Nothing was changed.", verdict)
        result.action = result.action if restored else "recover"
        result.steps.extend(_soft_recovery(ctx, allow_loss=True, force_eseutil=True))
        result.warnings.append(f"{name}: the transactions in the logs after the hole are lost (eseutil /r /a).")
    elif kind in ("logs_missing", "logs_mismatch", "unknown") or want_repair:
        if not want_repair:
            if p.get("dial_tone") and not restored:
                return _dial_tone(ctx, result, record)
            options = (
                "restore_from with restore=unusable and allow_file_restore=true (the backup), repair=repair with allow_data_loss=true "
                "(eseutil /p, loses data), or dial_tone=true (an empty database now)"
            )
            raise PlanError(f"{_blocked(ctx, verdict)}. Options: {options}. Nothing was changed.", verdict or None)
        if kind == "recoverable":
            result.steps.extend(_soft_recovery(ctx, allow_loss=False, force_eseutil=True))  # keep what the logs hold before /p
        _repair(ctx, result, record, size, log_names=log_names, checkpoint=checkpoint, repair_count=repair_count)
        return result
    if p["state"] == "mounted":
        result.steps.append(_mount(ctx))
        result.after = {"mounted": True}
        if not result.messages:
            result.messages.append(_summary(ctx, result))
    elif not result.messages:
        result.messages.append(_summary(ctx, result))
    if repaired:
        pending = _pending_repair_request(ctx, record)
        if pending is not None and p["state"] == "mounted":
            result.steps.extend(pending)
    return result


def _blocked(ctx: Context, verdict: dict[str, Any]) -> str:
    """Why the files in place cannot be brought to Clean Shutdown, naming the logs and the folder."""
    name, db = ctx.name, ctx.db
    state = (db.get("header") or {}).get("state") or "an unknown state"
    required = verdict.get("required")
    files = list(verdict.get("missing_files") or [])
    if verdict.get("verdict") == "logs_missing" and required and files:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        return (
            f"{name} is in {state} and needs logs {required[0]}-{required[1]}; missing or damaged in {db.get('log_folder_path')}: {shown}. "
            "Soft recovery cannot bring it to Clean Shutdown"
        )
    return str(verdict.get("message") or f"{name} cannot be mounted as it is").rstrip(".")


def _summary(ctx: Context, result: Plan) -> str:
    name = ctx.name
    kinds = [s.kind for s in result.steps]
    parts = []
    if "eseutil_recover" in kinds:
        parts.append("soft recovery (eseutil /r)")
    if "mount" in kinds:
        parts.append("mount")
    if not parts:
        return f"{name} is in Clean Shutdown and stays dismounted (state=present)."
    return f"{name} will be brought back: " + ", then ".join(parts) + "."


# -- restore from a backup --------------------------------------------------------------------------------------------------
def _restore(ctx: Context, result: Plan, record: dict[str, Any], backup: Backup, *, replace: bool, swap: bool = False) -> Plan:
    db, p, name = ctx.db, ctx.params, ctx.name
    files = db.get("files") or {}
    edb_path = str(db["edb_file_path"])
    log_folder = str(db.get("log_folder_path") or _folder(edb_path))
    live_logs = list(files.get("log_files") or []) if files.get("log_folder_exists") else []
    shared = bool(ctx.siblings)
    _refuse_replicated(ctx, "put a backup in place")

    mode = "replace" if replace else "fill"
    logs = _combined_logs(ctx, backup, live_logs, replace=replace and not shared)
    verdict = _eseutil.recovery_verdict(
        backup.header,
        logs,
        _combined_verification(backup, ctx if not replace or shared else None),
        backup.current_signature or (None if replace and not shared else _live_current(ctx)[1]),
        database=f"the backup's {backup.edb_name}",
    )
    live_signature = _live_current(ctx)[1]
    other_stream = bool(live_signature and backup.header.log_signature) and _eseutil._signature_key(str(live_signature)) != _eseutil._signature_key(
        str(backup.header.log_signature)
    )
    blocked = ("logs_missing", "logs_mismatch") + (("recoverable_with_loss",) if other_stream else ())
    if not replace and verdict.verdict in blocked and live_logs and p.get("allow_file_restore") and not shared:
        # the logs in the log folder do not continue the backup's stream: move them aside and use the backup's alone
        alone = _combined_logs(ctx, backup, [], replace=True)
        alone_verdict = _eseutil.recovery_verdict(
            backup.header, alone, _combined_verification(backup, None), backup.current_signature, database=f"the backup's {backup.edb_name}"
        )
        if alone_verdict.verdict in ("clean", "recoverable"):
            mode, logs, verdict = "replace", alone, alone_verdict
            result.warnings.append(f"{name}: the logs in {log_folder} do not continue the backup's log stream; they are moved aside and not replayed.")
    if verdict.verdict in ("logs_missing", "logs_mismatch", "unknown") and p["repair"] == "none":
        where = backup.log_folder + ("" if mode == "replace" else f" and {log_folder}")
        missing = ", ".join(verdict.missing_files[:5]) + (f" and {len(verdict.missing_files) - 5} more" if len(verdict.missing_files) > 5 else "")
        needed = f"needs logs {verdict.required[0]}-{verdict.required[1]}" if verdict.required else "needs its logs"
        detail = f"; missing from {where}: {missing}" if missing else f": {verdict.message}"
        raise PlanError(
            f"Cannot restore {name} from {backup.folder}: the backup's {backup.edb_name} is in {backup.header.state} and {needed}{detail}. "
            "Soft recovery cannot bring it to Clean Shutdown. Put the missing logs in the backup folder (restore_logs_from), or repair "
            "the restored database with data loss (repair=repair, allow_data_loss=true). Nothing was changed.",
            verdict.to_dict(),
        )
    if verdict.verdict == "recoverable_with_loss" and not p.get("allow_data_loss"):
        raise PlanError(
            f"Cannot restore {name} from {backup.folder} without losing data: {verdict.message}. Set allow_data_loss=true to replay up to the "
            "hole (eseutil /r /a). Nothing was changed.",
            verdict.to_dict(),
        )

    existing = bool((files.get("edb") or {}).get("exists"))
    to_move = _files_to_move_aside(ctx, existing=existing, logs=mode == "replace" and not shared, live_logs=live_logs)
    if to_move and not p.get("allow_file_restore"):
        shown = ", ".join(_name(s) for s in to_move[:4]) + (f" and {len(to_move) - 4} more" if len(to_move) > 4 else "")
        where = edb_path if existing else log_folder
        raise PlanError(
            f"Putting the backup of {name} from {backup.folder} back would replace files that exist on {ctx.server} ({where}: {shown}). Set "
            "allow_file_restore=true to allow it: the current files are then moved aside into a time-stamped folder first, never deleted, "
            "and the database's AllowFileRestore is set. Nothing was changed."
        )
    present = {n.casefold() for n in live_logs} if mode == "fill" or shared else set()
    copy_logs = [n for n in backup.log_names if _eseutil.log_generation(n, ctx.prefix) is not None or n.casefold() == f"{ctx.prefix}.log".casefold()]
    copy_logs = [n for n in copy_logs if n.casefold() not in present]
    _check_space_restore(ctx, backup, copy_logs, to_move, edb_path=edb_path, log_folder=log_folder)

    if p.get("allow_file_restore") and db.get("allow_file_restore") is not True:
        result.steps.append(_allow_file_restore(ctx))
    if to_move:
        step = _move_aside(ctx, to_move, "the current files of " + name)
        result.steps.append(step)
        _note_aside(result, step)
    items = [{"src": f"{backup.log_folder.rstrip(chr(92))}\\{n}", "dst": f"{log_folder}\\{n}"} for n in copy_logs]
    items.append({"src": backup.edb, "dst": edb_path})  # the database file last: when it is there, every log is
    result.steps.append(
        Step(
            "copy",
            f"copy the backup's {backup.edb_name} and {len(copy_logs)} log file(s) from {backup.folder} into place (never over an existing file)",
            {"kind": "copy", "items": items},
            f"copy {len(items)} file(s): {backup.folder} -> {_folder(edb_path)}" + (f", {backup.log_folder} -> {log_folder}" if copy_logs else ""),
        )
    )
    new_record = dict(record)
    new_record.update(
        database=name,
        guid=db.get("guid"),
        last="restore",
        restore={
            "source": backup.folder,
            "backup": {k: backup.identity[k] for k in ("size", "modified", "signature")},
            "time": ctx.stamp,
            "aside": result.aside[:],
        },
    )
    if swap:
        new_record["restore"]["replaced_dial_tone"] = True
    new_record.pop("repair", None)
    result.steps.append(_record_step(ctx, new_record, f"record that {name} was restored from {backup.folder}"))
    result.record = new_record
    result.restored_from = backup.folder
    result.action = "swap" if swap else "restore"
    result.messages.append(
        f"{name} will be restored from {backup.folder}"
        + (" (its dial-tone database is dismounted and moved aside, to be merged later)" if swap else "")
        + (f"; the current files are kept in {', '.join(result.aside)}" if result.aside else "")
        + "."
    )
    if swap:
        result.warnings.append(
            f"{name}: the dial-tone database's files (the mail since the disaster) are kept in {', '.join(result.aside)}: mount them in a recovery "
            "database and merge them with exchange_dr.recovery.exchange_mailbox_restore."
        )
    kept = [] if mode == "replace" and not shared else list(live_logs)
    return _recover_and_mount(
        ctx,
        result,
        new_record,
        verdict=verdict.to_dict(),
        repaired=False,
        edb_size=backup.edb_size,
        restored=True,
        repair_count=backup.header.repair_count,
        log_names=kept + copy_logs,
        checkpoint=bool(files.get("checkpoint_present")) and not (mode == "replace" and not shared),
    )


def _combined_logs(ctx: Context, backup: Backup, live_logs: list[str], *, replace: bool) -> _eseutil.LogInventory:
    names = list(backup.log_names) + ([] if replace else list(live_logs))
    current = backup.current_generation
    if current is None and not replace:
        current = _live_current(ctx)[0]
    return _eseutil.inventory_logs(names, ctx.prefix, current)


def _combined_verification(backup: Backup, ctx: Context | None) -> _eseutil.LogVerification | None:
    """The damaged logs /ml found in the backup (and, when the log folder's logs are used too, there)."""
    damaged = list(backup.verification.damaged) if backup.verification else []
    if ctx is not None:
        live = (ctx.inspect.get("live") or {}).get("ml")
        if live is not None:
            with contextlib.suppress(_eseutil.EseutilOutputError):
                damaged += list(_eseutil.parse_ml(_lines(live), live.get("rc")).damaged)
        elif ctx.db.get("log_verification"):
            damaged += list(ctx.db["log_verification"].get("damaged") or [])
    return _eseutil.LogVerification(None, (), tuple(damaged), (), _eseutil.Outcome(True))


def _live_current(ctx: Context) -> tuple[int | None, str | None]:
    """The generation and signature of the current log in the database's log folder: from the inspect (read beside a
    missing database file too), else from exchange_database_info."""
    run = (ctx.inspect.get("live") or {}).get("current_log") or (((ctx.db.get("files") or {}).get("eseutil")) or {}).get("current_log")
    if not run:
        return None, None
    try:
        header = _eseutil.parse_log_header(_lines(run), run.get("rc"))
    except _eseutil.EseutilOutputError:
        return None, None
    return header.generation, header.signature


def _files_to_move_aside(ctx: Context, *, existing: bool, logs: bool, live_logs: list[str]) -> list[str]:
    db = ctx.db
    files = db.get("files") or {}
    moved = [str(db["edb_file_path"])] if existing else []
    if logs:
        log_folder = str(db.get("log_folder_path"))
        moved += [f"{log_folder}\\{n}" for n in live_logs]
        if files.get("checkpoint_present"):
            moved.append(f"{db.get('system_folder_path') or log_folder!s}\\{ctx.prefix}.chk")
    return moved


def _aside_folder(ctx: Context, path: str) -> str:
    base = ctx.params.get("aside_folder")
    root = base.rstrip("\\") if base else _folder(path)
    return f"{root}\\{ctx.name}.{ctx.stamp}"


def _move_aside(ctx: Context, paths: list[str], what: str) -> Step:
    items = [{"src": s, "dst": f"{_aside_folder(ctx, s)}\\{_name(s)}"} for s in paths]
    return Step(
        "move",
        f"move {what} aside ({len(items)} file(s)) into {', '.join(dict.fromkeys(_folder(i['dst']) for i in items))}",
        {"kind": "move", "items": items},
        "move " + ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else ""),
    )


def _note_aside(result: Plan, step: Step) -> None:
    for folder in dict.fromkeys(_folder(i["dst"]) for i in step.host["items"]):
        if folder not in result.aside:
            result.aside.append(folder)


def _check_space_restore(ctx: Context, backup: Backup, copy_logs: list[str], moved: list[str], *, edb_path: str, log_folder: str) -> None:
    db = ctx.db
    files = db.get("files") or {}
    need: dict[str, list[tuple[int, str]]] = {}
    volumes = _volumes(ctx)
    edb_volume = (files.get("edb_volume") or {}).get("name")
    log_volume = (files.get("log_volume") or {}).get("name")
    if edb_volume is None:
        raise PlanError(f"The volume of {edb_path} does not exist on {ctx.server}: bring the disk back (or its drive letter) first. Nothing was changed.")
    need.setdefault(edb_volume, []).append((backup.edb_size, f"the backup's {backup.edb_name}"))
    log_bytes = sum(backup.log_bytes.get(n.casefold(), 0) for n in copy_logs)
    if log_bytes:
        if log_volume is None:
            raise PlanError(f"The volume of the log folder {log_folder} does not exist on {ctx.server}. Nothing was changed.")
        need.setdefault(log_volume, []).append((log_bytes, f"{len(copy_logs)} log file(s)"))
    aside = (ctx.inspect.get("aside_volume") or {}).get("name")
    if moved and ctx.params.get("aside_folder") and aside:
        # a move to another volume is a copy: the aside volume needs the moved files' size
        edb_moved = any(_norm(m) == _norm(edb_path) for m in moved)
        if edb_moved and _norm(aside) != _norm(edb_volume):
            need.setdefault(aside, []).append((int(((files.get("edb") or {}).get("size")) or 0), f"the current {_name(edb_path)} moved aside"))
        if len(moved) > int(edb_moved) and log_volume and _norm(aside) != _norm(log_volume):
            need.setdefault(aside, []).append((int(ctx.inspect.get("log_bytes") or 0), "the current logs moved aside"))
    _enough(ctx, need, volumes, f"restoring {ctx.name}")


def _volumes(ctx: Context) -> dict[str, int | None]:
    files = ctx.db.get("files") or {}
    out: dict[str, int | None] = {}
    for volume in (files.get("edb_volume"), files.get("log_volume"), ctx.inspect.get("aside_volume")):
        if volume and volume.get("name"):
            out[_norm(volume["name"])] = volume.get("free_bytes")
    return out


def _enough(
    ctx: Context,
    need: dict[str, list[tuple[int, str]]],
    volumes: dict[str, int | None],
    purpose: str,
    transient: dict[str, list[tuple[int, str]]] | None = None,
) -> None:
    """Refuse when a volume lacks the space: what stays (copies) plus the largest temporary need (eseutil's temp databases)."""
    transient = transient or {}
    for volume in sorted(set(need) | set(transient)):
        kept = sum(item[0] for item in need.get(volume, []))
        peak = max((item[0] for item in transient.get(volume, [])), default=0)
        free = volumes.get(_norm(volume))
        total = kept + peak
        if total == 0:
            continue
        parts = [f"{why} {_size(n)}" for n, why in need.get(volume, []) + transient.get(volume, [])]
        if free is None or free < total:
            shown = "unknown" if free is None else _size(free)
            raise PlanError(
                f"Too little free space on {volume} of {ctx.server} for {purpose}: {shown} free, {_size(total)} needed ({'; '.join(parts)}). "
                "Free space or give aside_folder on another volume. Nothing was changed."
            )


# -- soft recovery, repair, mount -------------------------------------------------------------------------------------------
def _soft_recovery(ctx: Context, *, allow_loss: bool, force_eseutil: bool = False) -> list[Step]:
    db, p = ctx.db, ctx.params
    if (not p.get("soft_recovery") or ctx.siblings) and not force_eseutil:
        # Mount-Database replays the logs itself; a 2007 storage group's stream is shared with its other databases
        return []
    if ctx.siblings:
        raise PlanError(
            f"{ctx.name} shares the log stream of its storage group with {', '.join(s['name'] for s in ctx.siblings)}: eseutil /r would replay into "
            "them too. Dismount and recover the storage group's databases together. Nothing was changed."
        )
    edb = str(db["edb_file_path"])
    log_folder = str(db.get("log_folder_path") or _folder(edb))
    system_folder = str(db.get("system_folder_path") or log_folder)
    args = ["/r", ctx.prefix, f"/l{log_folder}", f"/s{system_folder}", f"/d{_folder(edb)}"]
    if allow_loss:
        args.append("/a")
    return [
        Step(
            "eseutil_recover",
            f"soft recovery: replay the logs in {log_folder} into {edb}" + (" up to the hole in the stream (loses the later logs)" if allow_loss else ""),
            {"kind": "eseutil", "arguments": args, "purpose": "recover"},
            "eseutil " + " ".join(args),
        )
    ]


def _repair(
    ctx: Context,
    result: Plan,
    record: dict[str, Any],
    size: int,
    *,
    log_names: list[str] | None = None,
    checkpoint: bool | None = None,
    repair_count: int | None = None,
    after_p: bool = False,
) -> None:
    """Copy aside, record, eseutil /p [/d], the logs aside, [isinteg], record, mount, [repair request]. `after_p`: an
    earlier run's /p finished (its record says started and the header's repair count went up): go on from there."""
    db, p, name = ctx.db, ctx.params, ctx.name
    _refuse_replicated(ctx, "repair it")
    edb = str(db["edb_file_path"])
    repair = dict(record.get("repair") or {})
    resumed = repair.get("state") == "started" and bool(repair.get("copy"))  # the copy was taken before the record was written
    # The copy's path is recorded before the copy starts (state copying): a run cut off during or right after the copy is
    # resumed into the same folder, whatever the clock says now, and the copy step takes a finished copy as done.
    copying = repair.get("state") == "copying" and bool(repair.get("copy"))
    copy = repair["copy"] if resumed or copying else f"{_aside_folder(ctx, edb)}\\{_name(edb)}"
    folder = _folder(edb)
    need: dict[str, list[tuple[int, str]]] = {}
    transient: dict[str, list[tuple[int, str]]] = {}
    edb_volume = ((db.get("files") or {}).get("edb_volume") or {}).get("name")
    aside_volume = (ctx.inspect.get("aside_volume") or {}).get("name") if p.get("aside_folder") else edb_volume
    if edb_volume is None:
        raise PlanError(f"The volume of {edb} does not exist on {ctx.server}. Nothing was changed.")
    if not resumed and not copying:  # a resumed copy: the first run checked its space (and the copy may hold it already)
        need.setdefault(aside_volume or edb_volume, []).append((size, "a copy of the database kept before the repair"))
    if not after_p:
        transient.setdefault(edb_volume, []).append((int(size * _eseutil.REPAIR_FREE_SPACE_RATIO + 0.5), "eseutil /p's temporary database (about 20%)"))
    if p["repair"] == "repair_and_defragment":
        transient.setdefault(edb_volume, []).append((int(size * _eseutil.DEFRAG_FREE_SPACE_RATIO + 0.5), "eseutil /d's new copy (about 110%)"))
    _enough(ctx, need, _volumes(ctx), f"repairing {name}", transient)

    result.copy = copy
    if _folder(copy) not in result.aside:
        result.aside.append(_folder(copy))
    started = dict(record)
    started.update(database=name, guid=db.get("guid"), last="repair")
    if resumed:
        started["repair"] = repair
    elif copying:
        started["repair"] = {**repair, "state": "started"}
    else:
        started["repair"] = {"state": "started", "copy": copy, "time": ctx.stamp, "count_before": repair_count}
    if not resumed:
        if not copying:
            before = dict(started)
            before["repair"] = {**started["repair"], "state": "copying"}
            result.steps.append(_record_step(ctx, before, f"record that {edb} is being copied aside to {copy} before a repair"))
        result.steps.append(
            Step(
                "copy",
                f"copy {edb} aside before the repair (kept: the repair loses data)",
                {"kind": "copy", "items": [{"src": edb, "dst": copy}]},
                f"copy {edb} -> {copy}",
            )
        )
        result.steps.append(_record_step(ctx, started, f"record that a repair of {name} started (the copy is {copy})"))
    if not after_p:
        args = ["/p", edb, f"/t{folder}\\{TEMP_REPAIR}", "/o"]
        result.steps.append(
            Step(
                "eseutil_repair",
                f"hard repair of {edb} (eseutil /p: LOSES DATA, allowed by allow_data_loss)",
                {"kind": "eseutil", "arguments": args, "purpose": "repair"},
                "eseutil " + " ".join(args),
            )
        )
    if p["repair"] == "repair_and_defragment":
        args = ["/d", edb, f"/t{folder}\\{TEMP_DEFRAG}"]
        result.steps.append(
            Step(
                "eseutil_defragment",
                f"offline defragmentation of {edb} (eseutil /d)",
                {"kind": "eseutil", "arguments": args, "purpose": "defragment"},
                "eseutil " + " ".join(args),
            )
        )
    # After /p the database no longer matches its log stream: the logs and the checkpoint go aside (E07 aa998231)
    files = db.get("files") or {}
    if not ctx.siblings:
        log_folder = str(db.get("log_folder_path") or folder)
        if log_names is None:
            log_names = list(files.get("log_files") or []) if files.get("log_folder_exists") else []
        logs = [f"{log_folder}\\{n}" for n in log_names]
        if files.get("checkpoint_present") if checkpoint is None else checkpoint:
            logs.append(f"{db.get('system_folder_path') or log_folder!s}\\{ctx.prefix}.chk")
        if logs:
            step = _move_aside(ctx, logs, f"the logs and checkpoint of {name} (they no longer match the repaired database)")
            result.steps.append(step)
            _note_aside(result, step)
    mailbox = db.get("kind") == "mailbox"
    request = "pending" if mailbox and ctx.capabilities.get("mailbox_repair_request") else "not_applicable"
    repaired = dict(started)
    # the header's Repair Count after the /p: what tells a later run that the repair already ran
    before = started["repair"].get("count_before")
    repaired["repair"] = {**started["repair"], "state": "repaired", "request": request, "repair_count": None if before is None else before + 1}
    if ctx.capabilities.get("isinteg") and not ctx.capabilities.get("mailbox_repair_request"):
        result.steps.append(_isinteg(ctx))
    result.steps.append(_record_step(ctx, repaired, f"record that {name} was repaired"))
    result.record = repaired
    result.action = "repair"
    if after_p:
        result.messages.append(f"The repair of {name} (eseutil /p) by an earlier run finished; the steps after it will run now (the copy is in {copy}).")
    else:
        defrag = " and /d" if p["repair"] == "repair_and_defragment" else ""
        result.messages.append(f"{name} will be repaired with data loss (eseutil /p{defrag}) after a copy is kept in {copy}.")
    if p["state"] == "mounted":
        result.steps.append(_mount(ctx))
        result.after = {"mounted": True}
        if request == "pending":
            result.steps.extend(_repair_request_steps(ctx, repaired))
    if not mailbox:
        result.warnings.append(f"{name} is a public folder database: New-MailboxRepairRequest does not apply to it.")


def _repair_request_steps(ctx: Context, record: dict[str, Any]) -> list[Step]:
    _check_release(ctx)
    types = list(ctx.params.get("repair_request") or DEFAULT_CORRUPTION_TYPES)
    requested = json.loads(json.dumps(record))
    requested["repair"].update(request="requested", requested=ctx.stamp)
    done = json.loads(json.dumps(requested))
    done["repair"]["request"] = "done"
    command = f"New-MailboxRepairRequest -Database {ctx.name} -CorruptionType {','.join(types)}"
    return [
        _record_step(ctx, requested, f"record that the repair request for {ctx.name} is being made"),
        Step(
            "repair_request",
            f"ask the store to repair the mailboxes of {ctx.name} after the repair ({', '.join(types)})",
            {"kind": "repair_request", "cmdlet": "New-MailboxRepairRequest", "corruption_types": types},
            command,
        ),
        _record_step(ctx, done, f"record that the repair request for {ctx.name} was made"),
    ]


def _isinteg(ctx: Context) -> Step:
    """2007 (and 2010 RTM): isinteg -s <server> -fix -test alltests on the dismounted database; it asks which database
    (by number, from its list) and for a confirmation: both answers are given on its input (modelled, lower confidence)."""
    index = isinteg_index(str(((ctx.inspect.get("isinteg") or {}).get("output") and "\n".join(ctx.inspect["isinteg"]["output"])) or ""), ctx.db)
    if index is None:
        raise PlanError(
            f"isinteg did not list {ctx.name} ({ctx.db.get('storage_group')}) on {ctx.server}, so it cannot be selected for the integrity check after the "
            "repair. Nothing was changed."
        )
    args = ["-s", ctx.server, "-fix", "-test", "alltests"]
    return Step(
        "isinteg",
        f"fix the store's references in {ctx.name} with isinteg (after the repair)",
        {"kind": "isinteg", "arguments": args, "input": f"{index}\r\ny\r\n"},
        "isinteg " + " ".join(args) + f" (database {index})",
    )


_ISINTEG_GROUP = re.compile(r"^\s*Storage Group Name:\s*(?P<group>.+?)\s*$")
_ISINTEG_ROW = re.compile(r"^\s*(?P<index>\d+)\s+(?P<status>Online|Offline)\s+(?P<name>.+?)\s*$")


def isinteg_index(text: str, db: dict[str, Any]) -> int | None:
    """The number isinteg lists a database under (its list: 'Storage Group Name: <group>', then '<n> <Online|Offline>
    <database>' rows)."""
    group = None
    for line in text.splitlines():
        if m := _ISINTEG_GROUP.match(line):
            group = m.group("group")
        elif (
            (m := _ISINTEG_ROW.match(line))
            and m.group("name").casefold() == str(db.get("name")).casefold()
            and (db.get("storage_group") is None or (group or "").casefold() == str(db["storage_group"]).casefold())
        ):
            return int(m.group("index"))
    return None


def _mount(ctx: Context, *, force: bool = False) -> Step:
    command = f"Mount-Database -Identity {ctx.name}" + (" -Force" if force else "")
    return Step(
        "mount",
        f"mount {ctx.name}" + (" as a new, empty database (dial tone)" if force else ""),
        {"kind": "mount", "cmdlet": "Mount-Database", "force": force},
        command,
    )


def _dismount(ctx: Context) -> Step:
    return Step(
        "dismount", f"dismount {ctx.name}", {"kind": "dismount", "cmdlet": "Dismount-Database"}, f"Dismount-Database -Identity {ctx.name} -Confirm:$false"
    )


def _allow_file_restore(ctx: Context) -> Step:
    cmdlet = "Set-PublicFolderDatabase" if ctx.db.get("kind") == "public_folder" else "Set-MailboxDatabase"
    return Step(
        "allow_file_restore",
        f"allow the restore over {ctx.name}'s files (AllowFileRestore)",
        {"kind": "allow_file_restore", "cmdlet": cmdlet},
        f"{cmdlet} -Identity {ctx.name} -AllowFileRestore $true",
    )


def _record_step(ctx: Context, record: dict[str, Any], description: str) -> Step:
    guid = str(ctx.db.get("guid") or ctx.name)
    return Step("record", description, {"kind": "record", "key": RECORD_KEY, "value": guid, "data": json.dumps(record, sort_keys=True)}, None)


def _refuse_replicated(ctx: Context, what: str) -> None:
    replication = ctx.db.get("replication") or {}
    if replication.get("replicated"):
        copies = ", ".join(replication.get("copies") or [])
        raise PlanError(
            f"{ctx.name} has copies on {copies} (a database availability group): this module does not {what} for a replicated database. "
            "Remove its other copies first (Remove-MailboxDatabaseCopy), or reseed from a healthy copy. Nothing was changed."
        )


# -- dial tone --------------------------------------------------------------------------------------------------------------
def _dial_tone(ctx: Context, result: Plan, record: dict[str, Any]) -> Plan:
    """An empty database under the same name, so users can send and receive while the backup is brought back
    (ODX DR/dial-tone-recovery.md). Whatever files remain are moved aside first, never deleted."""
    db, name = ctx.db, ctx.name
    _refuse_replicated(ctx, "mount a dial-tone database")
    if ctx.params["state"] != "mounted":
        raise PlanError("dial_tone mounts an empty database: it needs state=mounted. Nothing was changed.")
    files = db.get("files") or {}
    live_logs = list(files.get("log_files") or []) if files.get("log_folder_exists") else []
    moved = _files_to_move_aside(ctx, existing=bool((files.get("edb") or {}).get("exists")), logs=not ctx.siblings, live_logs=live_logs)
    if moved:
        step = _move_aside(ctx, moved, f"what remains of {name}")
        result.steps.append(step)
        _note_aside(result, step)
    result.steps.append(_mount(ctx, force=True))
    new_record = dict(record)
    new_record.update(database=name, guid=db.get("guid"), last="dial_tone", dial_tone={"time": ctx.stamp, "aside": result.aside[:]})
    result.steps.append(_record_step(ctx, new_record, f"record that {name} runs as a dial-tone database"))
    result.record = new_record
    result.action = "dial_tone"
    result.after = {"mounted": True}
    result.messages.append(
        f"{name} will be mounted as a new, empty database (dial tone) so its users can send and receive"
        + (f"; what remained of it is kept in {', '.join(result.aside)}" if result.aside else "")
        + ". Put the backup back later with restore_from, restore=always and allow_file_restore=true (the swap)."
    )
    result.warnings.append(f"{name} is a dial-tone database: its mailboxes are empty until the backup is put back and merged.")
    return result
