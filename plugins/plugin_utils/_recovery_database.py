# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plan of exchange_recovery_database: from what the module read on the host (the server's databases and storage
groups, the recovery database's files, the backup's files and eseutil's raw output) to the steps that bring a recovery
database to the state asked for, or a refusal that names what is wrong and changes nothing.

For internal collection use only. Facts and sources (docs/databases.md, "Recovery databases and recovery storage groups"):
- 2010 and later: New-MailboxDatabase -Recovery -Name -Server -EdbFilePath -LogFolderPath; the restored files must be
  brought to Clean Shutdown with `eseutil /r <prefix> /l<logs> /d<edb folder>` (restored databases are dirty; eseutil finds
  the database in /d by its file name); one recovery database mounted per server; it mounts a copy of any database of
  the organisation (ODX DR/create-recovery-dbs.md, restore-data-using-recovery-dbs.md, recovery-databases.md).
- 2007: New-StorageGroup -Recovery (one per server), New-MailboxDatabase -MailboxDatabaseToRecover -StorageGroup
  -EdbFilePath (the database takes the name of the one it recovers), Set-MailboxDatabase -AllowFileRestore $true, the
  files, mount (facts section 4; E07). A storage group's log stream can carry several databases, so eseutil /r gets /i.
- Remove-MailboxDatabase leaves the files; this module moves them aside with a time stamp, never deletes them.
"""

from __future__ import annotations

import ntpath
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import ExchangeRelease

PARTIAL_SUFFIX = ".exdr-partial"
DEFAULT_STORAGE_GROUP = "Recovery Storage Group"
_NUMBERED = re.compile(r"^(?P<prefix>[ER][0-9A-Fa-f]{2})[0-9A-Fa-f]{8}\.log$")
_CURRENT = re.compile(r"^(?P<prefix>[ER][0-9A-Fa-f]{2})\.log$")
_ESE_FILE = re.compile(r"\.(log|chk|jrs|edb|exdr-partial)$", re.IGNORECASE)


@dataclass
class _Context:
    """What a plan is made from: the options, the release, the server and the module's read."""

    args: dict[str, Any]
    read: dict[str, Any]
    release: ExchangeRelease
    server: str
    stamp: str
    legacy: bool
    label: str
    group_name: str
    databases: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    existing: dict[str, Any] | None = None
    recovered: dict[str, Any] | None = None


class Refusal(Exception):
    """The task cannot go on; the message says what is wrong and where. Nothing was changed."""


@dataclass
class Plan:
    """What the module will do (`steps`, sent as `_plan`), said in words (`actions`), and what the task reports."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    database: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] | None = None
    recovery_command: str | None = None
    moved_aside: list[dict[str, str]] = field(default_factory=list)
    created: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    def add(self, action: str, what: str, **fields: Any) -> None:
        self.steps.append({"action": action, "what": what, **fields})
        if action != "status":
            self.actions.append(what)


def release_label(release: ExchangeRelease) -> str:
    """'Exchange Server 2010 RTM (14.0.639.21)', 'Exchange Server 2019 CU14 (15.2.1544.4)': the name a refusal gives."""
    if release.cu is None:
        level = release.build[1]
        return f"Exchange Server {release.product} {'RTM' if level == 0 else f'SP{level}'} ({release.build_string})"
    return f"{release.name} ({release.build_string})"


def _fold(value: Any) -> str:
    return str(value or "").casefold()


def _eseutil_text(result: dict[str, Any] | None) -> str:
    return "\n".join((result or {}).get("output") or [])


def _inside(path: str, folder: str) -> bool:
    return _fold(path).startswith(_fold(folder).rstrip("\\") + "\\")


def _aside(path: str, stamp: str) -> str:
    return f"{path.rstrip(chr(92))}.{stamp}"


def log_streams(names: list[str]) -> list[str]:
    """The log prefixes (E00, R00...) of the numbered and current logs among file names."""
    found = {m.group("prefix").upper() for n in names if (m := _NUMBERED.match(n) or _CURRENT.match(n))}
    return sorted(found)


def stream_files(names: list[str], prefix: str) -> list[str]:
    """The files of one log stream (numbered logs, then the current log): what a restore copies."""
    numbered = sorted((n for n in names if (m := _NUMBERED.match(n)) and m.group("prefix").upper() == prefix), key=str.upper)
    current = [n for n in names if n.upper() == f"{prefix}.LOG"]
    return numbered + current


def judge_files(header_result: dict[str, Any] | None, names: list[str], current_logs: list[dict[str, Any]], *, where: str) -> dict[str, Any]:
    """The state of a database file and the logs beside it: header, log stream, soft-recovery verdict. Refusal when the
    header cannot be read or the logs cannot bring it to Clean Shutdown."""
    try:
        header = _eseutil.parse_mh(_eseutil_text(header_result), (header_result or {}).get("rc"))
    except _eseutil.EseutilOutputError as error:
        raise Refusal(f"cannot read the header of {where}: {error}") from None
    if header.state is None:
        raise Refusal(f"cannot read the header of {where}: {header.outcome.message}")
    out: dict[str, Any] = {"state": header.state, "log_required": header.to_dict()["log_required"], "prefix": None, "logs": None, "verdict": None}
    if header.clean:
        return out
    streams = log_streams(names)
    if not streams:
        raise Refusal(
            f"{where} is in {header.state} and needs logs {header.log_required[0]}-{header.log_required[1]} to be brought to Clean Shutdown, "
            "but there are no transaction logs beside it"
            if header.log_required
            else f"{where} is in {header.state} and there are no transaction logs beside it"
        )
    if len(streams) > 1:
        raise Refusal(f"the logs beside {where} belong to several log streams ({', '.join(streams)}); give a folder with the logs of one")
    prefix = streams[0]
    current = next((c for c in current_logs if _fold(c.get("file")) == _fold(f"{prefix}.log")), None)
    generation = signature = None
    if current is not None:
        try:
            parsed = _eseutil.parse_log_header(_eseutil_text(current.get("eseutil")), (current.get("eseutil") or {}).get("rc"))
            generation, signature = parsed.generation, parsed.signature
        except _eseutil.EseutilOutputError:
            generation = signature = None
    inventory = _eseutil.inventory_logs(names, prefix, generation)
    verdict = _eseutil.recovery_verdict(header, inventory, None, signature, database=where)
    out.update(prefix=prefix, logs=inventory.to_dict(), verdict=verdict.to_dict())
    if verdict.verdict != "recoverable":
        raise Refusal(verdict.message)
    return out


def plan(args: dict[str, Any], read: dict[str, Any], *, given: set[str], release: ExchangeRelease, server: str, stamp: str) -> Plan:
    """The steps for `args` (validated options; `given`: the options the task set) on `server`, from the module's read."""
    legacy = release.product == "2007"
    label = release_label(release)
    name, state = args["name"], args["state"]
    databases: list[dict[str, Any]] = read.get("databases") or []
    groups: list[dict[str, Any]] = read.get("storage_groups") or []
    lookups = {_fold(item.get("query")): item for item in read.get("lookups") or []}

    if legacy:
        if state != "absent" and not args.get("database"):
            raise Refusal(
                f"{label} recovers into a recovery storage group database created for a given database (New-MailboxDatabase "
                "-MailboxDatabaseToRecover): set database to the database the backup is of"
            )
    else:
        exclusive = sorted(given & {"storage_group", "system_folder_path"})
        if exclusive:
            verb = "is" if len(exclusive) == 1 else "are"
            raise Refusal(f"{label} has no storage groups: {' and '.join(exclusive)} {verb} for Exchange 2007 recovery storage groups")

    recovered = _recovered_database(args.get("database"), databases, lookups) if args.get("database") else None
    if legacy and recovered is not None and _fold(recovered["name"]) != _fold(name):
        raise Refusal(f"on {label} the database of a recovery storage group takes the name of the database it recovers: set name to {recovered['name']}")
    group_name = args.get("storage_group") or DEFAULT_STORAGE_GROUP
    mine = [d for d in databases if _fold(d.get("name")) == _fold(name)]
    existing = next((d for d in mine if d.get("recovery") and (not legacy or _fold(d.get("storage_group")) == _fold(group_name))), None)
    if existing is None and not legacy:
        if mine:
            raise Refusal(f"{name} is a mailbox database of {server}, not a recovery database: give the recovery database another name")
        where = [d for d in (lookups.get(_fold(name)) or {}).get("found") or [] if _fold(d.get("server")) != _fold(server)]
        if where:
            kind = "recovery database" if where[0].get("recovery") else "database"
            raise Refusal(f"{name} is a {kind} of {where[0].get('server')}, not of {server}: run the task on {where[0].get('server')} or use another name")
    if existing is None and legacy:
        elsewhere = next((d for d in mine if d.get("recovery")), None)
        if elsewhere is not None:
            raise Refusal(f"{name} is already a database of the recovery storage group {elsewhere.get('storage_group')} on {server}, not of {group_name}")

    result = Plan()
    result.before = _view(existing, name, exists=existing is not None)
    ctx = _Context(args, read, release, server, stamp, legacy, label, group_name, databases, groups, existing, recovered)
    if state == "absent":
        _plan_absent(ctx, result)
    else:
        _plan_present(ctx, result)
    return result


def _recovered_database(query: str, databases: list[dict[str, Any]], lookups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The production database a backup is of (`database`): a mailbox database of the organisation, not a recovery one."""
    local = [d for d in databases if _fold(query) in (_fold(d.get("name")), _fold(d.get("identity")))]
    lookup = lookups.get(_fold(query)) or {}
    candidates = [d for d in local + list(lookup.get("found") or []) if not d.get("recovery")]
    if not candidates:
        if any(d.get("recovery") for d in local + list(lookup.get("found") or [])):
            raise Refusal(f"{query} is a recovery database; database names the production database the backup is of")
        detail = f" ({lookup['error']})" if lookup.get("error") and "couldn't be found" not in str(lookup["error"]) else ""
        raise Refusal(f"there is no mailbox database {query} in the organization{detail}")
    if len(candidates) > 1:
        raise Refusal(f"{query} names several databases ({', '.join(str(c.get('identity')) for c in candidates)}); give its identity")
    return candidates[0]


def _view(db: dict[str, Any] | None, name: str, *, exists: bool) -> dict[str, Any]:
    db = db or {}
    return {
        "name": name,
        "exists": exists,
        "mounted": bool(db.get("mounted")) if exists else False,
        "identity": db.get("identity"),
        "edb_file_path": db.get("edb_file_path"),
        "log_folder_path": db.get("log_folder_path"),
    }


def _used_elsewhere(folder: str, databases: list[dict[str, Any]], me: dict[str, Any] | None) -> str | None:
    """Another database whose files are in `folder` (its log folder, or its EDB inside it): that folder never moves."""
    for other in databases:
        if me is not None and other.get("guid") == me.get("guid"):
            continue
        if _fold(other.get("log_folder_path")) == _fold(folder.rstrip("\\")) or _inside(str(other.get("edb_file_path") or ""), folder):
            return str(other.get("identity") or other.get("name"))
    return None


def _plan_absent(ctx: _Context, result: Plan) -> None:
    """Dismount, move the files aside (before the object goes, so a rerun still knows where they are), remove the object
    and, on 2007, the emptied recovery storage group. Without the object, files left at the given paths by an earlier,
    interrupted run are moved aside."""
    args, existing, databases, groups, stamp = ctx.args, ctx.existing, ctx.databases, ctx.groups, ctx.stamp
    legacy, group_name = ctx.legacy, ctx.group_name
    target = ctx.read.get("target") or {}
    if existing is not None and existing.get("mounted"):
        result.add("cmdlet", f"dismount {existing['identity']}", cmdlet="Dismount-Database", parameters={"Identity": existing["identity"], "Confirm": False})
    edb = (target.get("edb") or {}).get("path")
    log_folder = (target.get("log_folder") or {}).get("path")
    system_folder = (target.get("system_folder") or {}).get("path")
    folders_moved: list[str] = []
    for folder, listing in ((log_folder, target.get("log_folder")), (system_folder, target.get("system_folder"))):
        if not folder or not (listing or {}).get("exists") or any(_fold(folder) == _fold(f) or _inside(folder, f) for f in folders_moved):
            continue
        if not any(_ESE_FILE.search(f["name"]) for f in listing.get("files") or []):
            continue
        if _used_elsewhere(folder, databases, existing) is not None:
            continue  # a 2007 recovery storage group folder another of its databases still uses: only this database's file moves
        _move_aside(result, folder, stamp, "the folder")
        folders_moved.append(folder)
    if edb and (target.get("edb") or {}).get("exists") and not any(_inside(edb, f) for f in folders_moved):
        _move_aside(result, edb, stamp, "the database file")
    if existing is not None:
        result.add("cmdlet", f"remove {existing['identity']}", cmdlet="Remove-MailboxDatabase", parameters={"Identity": existing["identity"], "Confirm": False})
    if legacy:
        group = next((g for g in groups if _fold(g.get("name")) == _fold(group_name) and g.get("recovery")), None)
        others = [d for d in databases if _fold(d.get("storage_group")) == _fold(group_name) and (existing is None or d.get("guid") != existing.get("guid"))]
        if group is not None and not others:
            result.add(
                "cmdlet",
                f"remove the recovery storage group {group['identity']}",
                cmdlet="Remove-StorageGroup",
                parameters={"Identity": group["identity"], "Confirm": False},
            )
    result.database = {**_view(None, args["name"], exists=False), "storage_group": group_name if legacy else None}


def _move_aside(result: Plan, path: str, stamp: str, kind: str) -> None:
    to = _aside(path, stamp)
    result.add("move", f"move {kind} {path} aside to {to}", path=path, to=to)
    result.moved_aside.append({"path": path, "to": to})


def _plan_present(ctx: _Context, result: Plan) -> None:
    args, existing, recovered, databases, groups, read = ctx.args, ctx.existing, ctx.recovered, ctx.databases, ctx.groups, ctx.read
    legacy, label, group_name, server, stamp = ctx.legacy, ctx.label, ctx.group_name, ctx.server, ctx.stamp
    name, state = args["name"], args["state"]
    if state == "mounted":
        other = next((d for d in databases if d.get("recovery") and d.get("mounted") and (existing is None or d.get("guid") != existing.get("guid"))), None)
        if other is not None:
            raise Refusal(
                f"{other.get('identity')} is mounted on {server}, and a server mounts one recovery database at a time: dismount it or remove it "
                "(state: absent) first"
            )
    group = None
    if legacy:
        group = next((g for g in groups if _fold(g.get("name")) == _fold(group_name)), None)
        if group is not None and not group.get("recovery"):
            raise Refusal(f"{group_name} is a storage group of {server} that is not a recovery storage group")
        rival = next((g for g in groups if g.get("recovery") and _fold(g.get("name")) != _fold(group_name)), None)
        if rival is not None:
            raise Refusal(
                f"{server} already has a recovery storage group, {rival.get('name')}; {label} allows one per server (storage_group: {rival.get('name')})"
            )

    target = read.get("target") or {}
    if existing is not None:
        identity = str(existing["identity"])
        edb, log_folder = str(existing["edb_file_path"]), str(existing["log_folder_path"])
        system_folder = str(existing.get("system_folder_path") or log_folder)
    else:
        edb = args.get("edb_file_path") or ""
        log_folder = str((target.get("log_folder") or {}).get("path") or args.get("log_folder_path") or "").rstrip("\\")
        system_folder = str((target.get("system_folder") or {}).get("path") or args.get("system_folder_path") or log_folder).rstrip("\\")
        missing = [o for o, v in (("edb_file_path", edb), ("log_folder_path", log_folder)) if not v]
        if missing:
            raise Refusal(f"creating recovery database {name} needs {' and '.join(missing)}")
        if not _fold(edb).endswith(".edb"):
            raise Refusal(f"edb_file_path must name a .edb file, got {edb}")
        identity = f"{server}\\{group_name}\\{name}" if legacy else name
    view_after = {
        "name": name,
        "identity": identity,
        "server": server,
        "storage_group": group_name if legacy else None,
        "edb_file_path": edb,
        "log_folder_path": log_folder,
        "system_folder_path": system_folder,
        "recovers": recovered.get("identity") if recovered else None,
        "exists": True,
        "mounted": bool(existing and existing.get("mounted")) or state == "mounted",
    }
    result.database = view_after
    if existing is not None and existing.get("mounted"):
        return  # mounted: its files are in use and in order; present leaves a mounted database mounted

    edb_state = target.get("edb") or {}
    log_listing = target.get("log_folder") or {}
    restoring = not edb_state.get("exists")
    source_plan: list[tuple[str, str, dict[str, Any]]] = []
    recover_from: tuple[str, str] | None = None  # (prefix, log folder) when eseutil /r must run
    if restoring:
        if not args.get("restore_from"):
            if state == "mounted":
                raise Refusal(f"there is no database file at {edb} and no restore_from to restore one from")
        else:
            result.source, source_plan, recover_from = _judge_source(args, read.get("source"), edb, log_folder, target)
            stale = [f for f in log_listing.get("files") or [] if _ESE_FILE.search(f["name"])]
            if stale:
                holder = _used_elsewhere(log_folder, databases, existing)
                if holder is not None:
                    raise Refusal(f"the log folder {log_folder} holds files of {holder}; restore into another folder")
                _move_aside(result, log_folder, stamp, "the folder")
    else:
        judged = judge_files(target.get("mh"), [f["name"] for f in log_listing.get("files") or []], target.get("current_logs") or [], where=edb)
        if judged["state"] != _eseutil.CLEAN_SHUTDOWN:
            recover_from = (str(judged["prefix"]), log_folder)

    if legacy and group is None:
        result.add(
            "cmdlet",
            f"create the recovery storage group {group_name} on {server}",
            cmdlet="New-StorageGroup",
            parameters={"Server": server, "Name": group_name, "LogFolderPath": log_folder, "SystemFolderPath": system_folder, "Recovery": True},
        )
    if existing is None:
        result.created = True
        if legacy:
            recovers = str((recovered or {}).get("identity"))
            parameters = {"MailboxDatabaseToRecover": recovers, "StorageGroup": f"{server}\\{group_name}", "EdbFilePath": edb}
        else:
            parameters = {"Recovery": True, "Name": name, "Server": server, "EdbFilePath": edb, "LogFolderPath": log_folder}
        result.add("cmdlet", f"create the recovery database {identity}", cmdlet="New-MailboxDatabase", parameters=parameters)
    if legacy and (existing is None or not existing.get("allow_file_restore")):
        # the restored file is another database's: the recovery storage group database mounts it with AllowFileRestore
        result.add("cmdlet", f"allow a restored file for {identity}", cmdlet="Set-MailboxDatabase", parameters={"Identity": identity, "AllowFileRestore": True})
    if source_plan:
        for folder in dict.fromkeys([ntpath.dirname(edb), log_folder]):
            result.add("mkdir", f"make the folder {folder}", path=folder)
        for action, what, fields in source_plan:
            result.add(action, what, **fields)
    if recover_from is not None:
        prefix, logs = recover_from
        arguments = ["/r", prefix, f"/l{logs}", f"/s{system_folder}", f"/d{ntpath.dirname(edb)}"] + (["/i"] if legacy else [])
        result.recovery_command = "eseutil " + " ".join(arguments)
        result.add("eseutil", f"bring {edb} to Clean Shutdown ({result.recovery_command})", arguments=arguments)
    if state == "mounted":
        result.add("cmdlet", f"mount {identity}", cmdlet="Mount-Database", parameters={"Identity": identity})
        result.add("status", f"check that {identity} is mounted", identity=identity)


def _judge_source(
    args: dict[str, Any], source: dict[str, Any] | None, edb: str, log_folder: str, target: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any]]], tuple[str, str] | None]:
    """The backup: its database file, its header and its logs; the copy steps; whether eseutil /r must run after."""
    where = args["restore_from"]
    folder = (source or {}).get("folder") or {}
    if not folder.get("exists"):
        raise Refusal(f"restore_from {where} is not a folder this logon can read (a share needs become: the second hop)")
    edbs = [f for f in folder.get("files") or [] if _fold(f["name"]).endswith(".edb")]
    if not edbs:
        names = ", ".join(sorted(f["name"] for f in folder.get("files") or [])) or "nothing"
        raise Refusal(f"there is no database file (*.edb) in restore_from {where} (it holds {names})")
    if len(edbs) > 1:
        raise Refusal(f"restore_from {where} holds several database files ({', '.join(sorted(f['name'] for f in edbs))}); give a folder with one")
    backup = edbs[0]
    logs = (source or {}).get("logs") or {}
    logs_where = logs.get("path") or where
    header_result = next((h.get("eseutil") for h in (source or {}).get("mh") or [] if _fold(h.get("file")) == _fold(backup["name"])), None)
    backup_path = ntpath.join(where, backup["name"])
    judged = judge_files(header_result, [f["name"] for f in logs.get("files") or []], (source or {}).get("current_logs") or [], where=backup_path)
    dirty = judged["state"] != _eseutil.CLEAN_SHUTDOWN
    if dirty and _fold(ntpath.basename(edb)) != _fold(backup["name"]):
        raise Refusal(
            f"the backup's database file is {backup['name']} and it is in {judged['state']}: eseutil /r finds it in the recovery database's folder by "
            f"that name, so name the recovery database's file the same (edb_file_path: {ntpath.join(ntpath.dirname(edb), backup['name'])})"
        )
    log_names = stream_files([f["name"] for f in logs.get("files") or []], judged["prefix"]) if dirty else []
    sizes = {f["name"]: int(f.get("size") or 0) for f in logs.get("files") or []}
    _check_space(target, edb, int(backup.get("size") or 0), sum(sizes.get(n, 0) for n in log_names))
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("copy", f"copy {n} from {logs_where}", {"path": ntpath.join(logs_where, n), "to": ntpath.join(log_folder, n)}) for n in log_names
    ]
    steps.append(("copy", f"copy {backup['name']} from {where} to {edb}", {"path": backup_path, "to": edb, "partial": edb + PARTIAL_SUFFIX}))
    report = {
        "path": where,
        "logs_path": logs_where,
        "edb_file": backup["name"],
        "edb_size": int(backup.get("size") or 0),
        "state": judged["state"],
        "log_required": judged["log_required"],
        "log_prefix": judged["prefix"],
        "log_files": len(log_names),
        "logs": judged["logs"],
        "recovery_verdict": judged["verdict"],
    }
    return report, steps, ((str(judged["prefix"]), log_folder) if dirty else None)


def _check_space(target: dict[str, Any], edb: str, edb_bytes: int, log_bytes: int) -> None:
    """The copies need their size free on the volumes that receive them (one volume may take both)."""
    edb_volume = target.get("edb_volume") or {}
    log_volume = target.get("log_volume") or {}
    needs: dict[str, list[Any]] = {}
    for volume, size in ((edb_volume, edb_bytes), (log_volume, log_bytes)):
        if not volume.get("name") or not size:
            continue
        entry = needs.setdefault(str(volume["name"]), [volume.get("free_bytes"), 0])
        entry[1] += size
    for name, (free, size) in needs.items():
        verdict = _eseutil.space_verdict("copy_aside", size, free, name)
        if not verdict.enough:
            raise Refusal(
                f"too little free space on {name} to restore the backup: {_eseutil._size(size)} to copy, "
                f"{_eseutil._size(free) if free is not None else 'an unknown amount'} free"
            )
