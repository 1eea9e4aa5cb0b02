"""The Information Store of a simulated Exchange server: which databases are mounted, mounting and dismounting them as
Exchange does, and the estate seeds that lay database files on a host.

Runtime state: host.state.exchange = {"mounted": [database GUID...], "mounted_files": [EDB path...]}. A database counts as
mounted only while MSExchangeIS runs (stopping the service dismounts everything, as on Exchange).

Mount (PS Mount-Database, Set-MailboxDatabase -AllowFileRestore; facts section 4):
- the EDB must exist; without it, -Force creates a new empty database (dial tone) - anything else is refused;
- a file whose database GUID is not the AD object's is refused unless AllowFileRestore is $true ("You can't mount a
  database that doesn't match the database entry in Active Directory") or the database is a recovery database (2010 and
  later: it mounts a restored copy of any database, ODX DR/recovery-databases.md); only one recovery database is mounted
  on a server at a time (same page);
- a Dirty Shutdown database is recovered from its own log folder first (the store replays the logs as eseutil /r does);
  required logs missing -> "Unable to mount database. (hr=0x80004005, ec=-543)", a hole -> ec=-528, still dirty -> -550;
- mounting rolls the log stream: the current log becomes numbered and a new current log starts; the header then says
  Dirty Shutdown (attached) and the file is locked (eseutil gets -1032) until the database is dismounted.
Wording marked (modelled) in the messages is the simulator's, not Exchange's.

Seeds (hosts.<H>.state):

    exchange_databases:              # one entry per AD database (domain.exchange.databases) with a copy on this host
      DB01:
        mounted: true                # the store's state (default false)
        files: true                  # false: no EDB and no logs (a lost volume)
        state: clean                 # clean | dirty
        log_required: [143, 145]     # dirty: the generations the header requires (default: the last two)
        logs: {first: 100, last: 145, missing: [140], damaged: [], current: true}   # current: the last one is E00.log
        size_mb: 2
        damaged: false               # pages with checksum errors
        matches: true                # false: the file is another database's (its GUID differs from the AD object's)
        mailboxes: [{display_name: Alice, guid: ..., alias: alice, items: 120, size_mb: 35, bad_items: 0, disconnect_reason: Disabled,
                     disconnect_date: 2026-10-01}]
    ese_files:                       # ESE files anywhere (backups): a database file, or a log folder
      'D:\\Backups\\DB01\\DB01.edb': {database: DB01, state: dirty, log_required: [140, 145], size_mb: 2}
      'D:\\Backups\\DB01\\Logs': {logs: {database: DB01, first: 140, last: 145, current: false}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.exchange import ese
from simulator.exchange.model import DatabaseObject, default_guid

if TYPE_CHECKING:
    from simulator.estate import Domain, ExchangeOrganization
    from simulator.host import Host

MB = 1 << 20
_DB_SEED_KEYS = {"mounted", "files", "state", "log_required", "logs", "size_mb", "damaged", "matches", "mailboxes"}
_LOG_KEYS = {"first", "last", "missing", "damaged", "current", "database", "prefix"}
_MAILBOX_KEYS = {"display_name", "guid", "items", "size_mb", "disconnect_reason", "disconnect_date", "alias", "bad_items"}
DISCONNECT_REASONS = ("Disabled", "SoftDeleted")


class StoreError(Exception):
    """What Mount-Database / Dismount-Database report (the cmdlet twin turns it into the cmdlet's error)."""


def organization(host: Host) -> ExchangeOrganization | None:
    domain = host.estate.domain if host.estate is not None else None
    return domain.exchange if domain is not None else None


def information_store_running(host: Host) -> bool:
    svc = host.service("MSExchangeIS")
    return svc is not None and svc.state == "running"


def is_mounted(host: Host, db: DatabaseObject) -> bool:
    return information_store_running(host) and db.guid in (host.state.exchange.get("mounted") or [])


def stream_id(db: DatabaseObject) -> str:
    return ese.signature(f"log/{db.guid}")


def mount(host: Host, db: DatabaseObject, *, force: bool = False, accept_data_loss: bool = False) -> None:
    """Mount `db` on `host` (its active copy). Raises StoreError with the reason."""
    if is_mounted(host, db):
        return
    if not information_store_running(host):
        raise StoreError(
            f"Couldn't mount the database that you specified. Specified database: {db.name}; Error code: "
            "The Microsoft Exchange Information Store service isn't running (modelled)."
        )
    with host.mutating():
        if not host.exists(db.edb_file_path):
            if not force:
                raise StoreError(
                    f"Couldn't mount the database that you specified. Specified database: {db.name}; Error code: the database file "
                    f"{db.edb_file_path} doesn't exist; mounting with -Force creates a new, empty database (modelled)."
                )
            _create_empty(host, db)
        header = ese.read_database(host, db.edb_file_path)
        foreign = str(header.get("guid", "")).casefold() != db.guid.casefold()
        if foreign and not _allow_file_restore(host, db) and not _recovery_database(db):
            raise StoreError(
                f"Couldn't mount the database that you specified. Specified database: {db.name}; Error code: the database file "
                f"doesn't match the database entry in Active Directory; set AllowFileRestore to $true to mount it (modelled)."
            )
        if _recovery_database(db):
            other = next((d for d in _recovery_databases(host) if d.guid != db.guid and is_mounted(host, d)), None)
            if other is not None:
                raise StoreError(
                    f"Couldn't mount the database that you specified. Specified database: {db.name}; Error code: only one recovery "
                    f"database can be mounted on a server at a time, and {other.name} is mounted (modelled)."
                )
        if header.get("damaged"):
            raise StoreError(_mapi(db, -1018))
        if header["state"] != ese.CLEAN:
            try:
                ese.soft_recover(host, db.log_prefix, db.log_folder_path, db.system_folder_path, only=db.edb_file_path, allow_loss=accept_data_loss)
            except ese.EseError as error:
                raise StoreError(_mapi(db, error.code)) from None
            header = ese.read_database(host, db.edb_file_path)
            if header["state"] != ese.CLEAN:
                raise StoreError(_mapi(db, -550))
        if header.get("guid", "").casefold() != db.guid.casefold():
            header["guid"] = db.guid
            header["database"] = db.name
        generation = _roll(host, db, header)
        header.update(
            state=ese.DIRTY, log_required=[generation, generation], log_committed=generation, log_signature=header.get("log_signature") or stream_id(db)
        )
        ese.write_database(host, db.edb_file_path, header)
        st = host.state.exchange
        st["mounted"] = sorted(set(st.get("mounted") or []) | {db.guid})
        st["mounted_files"] = sorted({p for p in st.get("mounted_files") or [] if p.casefold() != db.edb_file_path.casefold()} | {db.edb_file_path})
        host._dirty = True


def dismount(host: Host, db: DatabaseObject) -> None:
    if not is_mounted(host, db):
        return
    with host.mutating():
        header = ese.read_database(host, db.edb_file_path)
        generation = int(header.get("log_committed") or 0)
        header.update(state=ese.CLEAN, log_required=[0, 0], last_consistent=generation)
        ese.write_database(host, db.edb_file_path, header)
        st = host.state.exchange
        st["mounted"] = [g for g in st.get("mounted") or [] if g != db.guid]
        st["mounted_files"] = [p for p in st.get("mounted_files") or [] if p.casefold() != db.edb_file_path.casefold()]
        host._dirty = True


def _allow_file_restore(host: Host, db: DatabaseObject) -> bool:
    org = organization(host)
    current = org.database(db.guid) if org else None
    return bool((current or db).allow_file_restore)


def _recovery_database(db: DatabaseObject) -> bool:
    """A recovery database of 2010 and later: it mounts a restored copy of any database of the organization ("A recovered
    database mounted as an RDB isn't tied to the original mailbox in any way", ODX DR/recovery-databases.md). A 2007
    recovery storage group database needs AllowFileRestore instead (facts section 4)."""
    return db.recovery and not db.storage_group


def _recovery_databases(host: Host) -> list[DatabaseObject]:
    org = organization(host)
    return [d for d in org.databases.values() if _recovery_database(d) and host.name.upper() in d.copies] if org else []


def _mapi(db: DatabaseObject, code: int) -> str:
    """The mount failure as Exchange words it (facts section 4: MapiExceptionCallFailed ... ec=-550 / -528)."""
    return (
        f"Couldn't mount the database that you specified. Specified database: {db.name}; Error code: MapiExceptionCallFailed: "
        f"Unable to mount database. (hr=0x80004005, ec={code})"
    )


def _roll(host: Host, db: DatabaseObject, header: dict[str, Any]) -> int:
    """Start a new current log: the present E00.log gets its numbered name; returns the new generation."""
    logs = ese.stream(host, db.log_folder_path, db.log_prefix)
    highest = max((lf.generation or 0 for lf in logs), default=int(header.get("log_committed") or 0))
    signature = header.get("log_signature") or stream_id(db)
    host.mkdir(db.log_folder_path)
    for lf in logs:
        if lf.current and lf.generation is not None:
            ese.write_log(host, db.log_folder_path, db.log_prefix, lf.generation, lf.signature or signature, attached=lf.attached)
            host.remove(lf.path)
    generation = highest + 1
    ese.write_log(host, db.log_folder_path, db.log_prefix, generation, signature, current=True, attached=[db.edb_file_path])
    return generation


def _create_empty(host: Host, db: DatabaseObject) -> None:
    host.mkdir(db.edb_file_path.rsplit("\\", 1)[0])
    ese.write_database(host, db.edb_file_path, ese.new_database_header(db.name, db.guid, stream_id(db)), 1 * MB)


# -- seeds ------------------------------------------------------------------------------------------------------------------
def validate_seed(where: str, seed: dict[str, Any], domain: Domain | None, host_name: str) -> str | None:
    """The first problem of a host's exchange_databases / ese_files seed, as 'key: message', or None."""
    org = domain.exchange if domain is not None else None
    databases = seed.get("exchange_databases")
    if databases is not None:
        if not isinstance(databases, dict):
            return f"{where}.exchange_databases: expected a mapping of database name -> file state"
        for name, spec in databases.items():
            key = f"{where}.exchange_databases.{name}"
            db = org.database(str(name)) if org else None
            if db is None:
                return f"{key}: no database {name!r} in domain.exchange.databases"
            if host_name.upper() not in db.copies:
                return f"{key}: {name} has no copy on {host_name} (its copies: {', '.join(db.copies)})"
            problem = _check_file_seed(key, spec, _DB_SEED_KEYS)
            if problem:
                return problem
    files = seed.get("ese_files")
    if files is not None:
        if not isinstance(files, dict):
            return f"{where}.ese_files: expected a mapping of path -> ESE file"
        for path, spec in files.items():
            key = f"{where}.ese_files.{path}"
            if not isinstance(spec, dict):
                return f"{key}: expected a mapping"
            if "logs" in spec:
                unknown = sorted(set(spec) - {"logs"})
                if unknown:
                    return f"{key}.{unknown[0]}: unknown key (a log folder takes only logs)"
                problem = _check_logs(f"{key}.logs", spec["logs"], need_database=True)
            else:
                if "database" not in spec:
                    return f"{key}.database: required (the AD database the file belongs to)"
                if org is None or org.database(str(spec["database"])) is None:
                    return f"{key}.database: no database {spec['database']!r} in domain.exchange.databases"
                problem = _check_file_seed(key, spec, (_DB_SEED_KEYS - {"mounted", "files", "logs"}) | {"database"})
            if problem:
                return problem
            if "logs" in spec and (org is None or org.database(str(spec["logs"]["database"])) is None):
                return f"{key}.logs.database: no database {spec['logs']['database']!r} in domain.exchange.databases"
    return None


def _check_file_seed(key: str, spec: Any, allowed: set[str]) -> str | None:
    if not isinstance(spec, dict):
        return f"{key}: expected a mapping"
    unknown = sorted(set(spec) - allowed)
    if unknown:
        return f"{key}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
    state = spec.get("state", "clean")
    if state not in ("clean", "dirty"):
        return f"{key}.state: expected clean or dirty, got {state!r}"
    for flag in ("mounted", "files", "damaged", "matches"):
        if flag in spec and not isinstance(spec[flag], bool):
            return f"{key}.{flag}: expected true or false, got {spec[flag]!r}"
    if spec.get("mounted") and state == "dirty":
        return f"{key}.mounted: a mounted database's file state is the store's; leave out state: dirty"
    required = spec.get("log_required")
    if required is not None:
        if state != "dirty":
            return f"{key}.log_required: only a dirty database requires logs"
        if not (isinstance(required, list) and len(required) == 2 and all(isinstance(g, int) and g > 0 for g in required) and required[0] <= required[1]):
            return f"{key}.log_required: expected [first, last] generations (first <= last), got {required!r}"
    if "size_mb" in spec and (isinstance(spec["size_mb"], bool) or not isinstance(spec["size_mb"], int | float) or spec["size_mb"] <= 0):
        return f"{key}.size_mb: expected a positive number, got {spec['size_mb']!r}"
    if "logs" in spec:
        problem = _check_logs(f"{key}.logs", spec["logs"], need_database=False)
        if problem:
            return problem
    for i, mailbox in enumerate(spec.get("mailboxes") or []):
        if not isinstance(mailbox, dict):
            return f"{key}.mailboxes[{i}]: expected a mapping"
        unknown = sorted(set(mailbox) - _MAILBOX_KEYS)
        if unknown:
            return f"{key}.mailboxes[{i}].{unknown[0]}: unknown key (allowed: {', '.join(sorted(_MAILBOX_KEYS))})"
        if "display_name" not in mailbox:
            return f"{key}.mailboxes[{i}].display_name: required"
        for count in ("items", "bad_items"):
            if count in mailbox and (isinstance(mailbox[count], bool) or not isinstance(mailbox[count], int) or mailbox[count] < 0):
                return f"{key}.mailboxes[{i}].{count}: expected a number of items (0 or more), got {mailbox[count]!r}"
        reason = mailbox.get("disconnect_reason")
        if reason is not None and reason not in DISCONNECT_REASONS:
            return f"{key}.mailboxes[{i}].disconnect_reason: expected one of {', '.join(DISCONNECT_REASONS)}, got {reason!r}"
    return None


def _check_logs(key: str, logs: Any, *, need_database: bool) -> str | None:
    if not isinstance(logs, dict):
        return f"{key}: expected a mapping {{first, last, missing, damaged, current}}"
    unknown = sorted(set(logs) - _LOG_KEYS)
    if unknown:
        return f"{key}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(_LOG_KEYS))})"
    if need_database and "database" not in logs:
        return f"{key}.database: required (the database whose log stream this is)"
    first, last = logs.get("first", 1), logs.get("last")
    if not isinstance(first, int) or not isinstance(last, int) or first < 1 or last < first:
        return f"{key}: expected first and last generations (1 <= first <= last), got first={first!r} last={last!r}"
    for listed in ("missing", "damaged"):
        values = logs.get(listed) or []
        if not isinstance(values, list) or any(not isinstance(g, int) or g < first or g > last for g in values):
            return f"{key}.{listed}: expected generations between {first} and {last}, got {values!r}"
    return None


def apply_seed(host: Host, seed: dict[str, Any]) -> None:
    """Write the files and store state of a host's exchange_databases and ese_files seeds (validated by the estate)."""
    org = organization(host)
    if org is None:
        raise ValueError(f"hosts.{host.name}.state: exchange_databases and ese_files need domain.exchange")
    for name, entry in (seed.get("exchange_databases") or {}).items():
        db = org.database(str(name))
        spec = dict(entry or {})
        if not spec.get("files", True):
            continue
        _write_database_files(host, db, spec, db.edb_file_path, folders=(db.log_folder_path, db.system_folder_path))
        if spec.get("mounted"):
            st = host.state.exchange
            st["mounted"] = sorted(set(st.get("mounted") or []) | {db.guid})
            st["mounted_files"] = sorted(set(st.get("mounted_files") or []) | {db.edb_file_path})
    for path, spec in (seed.get("ese_files") or {}).items():
        if "logs" in spec:
            db = org.database(str(spec["logs"]["database"]))
            _write_logs(host, db, str(path), spec["logs"], attached=[db.edb_file_path])
        else:
            db = org.database(str(spec["database"]))
            _write_database_files(host, db, dict(spec), str(path), folders=None)


def _write_database_files(host: Host, db: DatabaseObject, spec: dict[str, Any], edb: str, *, folders: tuple[str, str] | None) -> None:
    """The EDB at `edb` and, with `folders` (log folder, checkpoint folder), its log stream and checkpoint."""
    log_folder, system_folder = folders if folders else (None, None)
    logs = dict(spec.get("logs") or {})
    if log_folder and "last" not in logs:
        logs = {"first": 1, "last": 10, **logs}
    last = int(logs.get("last", 0))
    dirty = spec.get("state") == "dirty" or bool(spec.get("mounted"))
    if spec.get("mounted"):
        required = [last, last]
    else:
        required = list(spec.get("log_required") or ([max(1, last - 1), last] if dirty else [0, 0]))
    guid = db.guid if spec.get("matches", True) else _foreign(db.guid)
    header = ese.new_database_header(
        db.name,
        guid,
        stream_id(db),
        state=ese.DIRTY if dirty else ese.CLEAN,
        required=(required[0], required[1]),
        committed=max(last, required[1]),
        page_size=8192 if db.storage_group else 32768,
    )
    header["damaged"] = bool(spec.get("damaged", False))
    header["mailboxes"] = [_mailbox(m) for m in spec.get("mailboxes") or []]
    host.mkdir(edb.rsplit("\\", 1)[0])
    ese.write_database(host, edb, header, int(float(spec.get("size_mb", 1)) * MB))
    if log_folder:
        _write_logs(host, db, log_folder, logs, attached=[db.edb_file_path])
        if system_folder and logs:
            ese.write_checkpoint(host, system_folder, db.log_prefix, required[0] if dirty else last, stream_id(db))


def _write_logs(host: Host, db: DatabaseObject, folder: str, logs: dict[str, Any], attached: list[str]) -> None:
    host.mkdir(folder)
    if "last" not in logs:
        return
    prefix = str(logs.get("prefix") or db.log_prefix)
    missing = set(logs.get("missing") or [])
    damaged = set(logs.get("damaged") or [])
    first, last = int(logs.get("first", 1)), int(logs["last"])
    for generation in range(first, last + 1):
        if generation in missing:
            continue
        current = bool(logs.get("current", True)) and generation == last
        ese.write_log(host, folder, prefix, generation, stream_id(db), current=current, attached=attached, damaged=generation in damaged)


def _mailbox(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "display_name": str(spec["display_name"]),
        "guid": str(spec.get("guid") or default_guid("store", "mailbox", str(spec["display_name"]))),
        "alias": spec.get("alias"),
        "items": int(spec.get("items", 0)),
        "size_bytes": int(float(spec.get("size_mb", 0)) * MB),
        "disconnect_reason": spec.get("disconnect_reason"),
        "disconnect_date": str(spec["disconnect_date"]) if spec.get("disconnect_date") is not None else None,
        "bad_items": int(spec.get("bad_items", 0)),  # corrupted items a restore meets (BadItemLimit)
    }


def _foreign(guid: str) -> str:
    """A GUID that is not the AD object's: the file of another database."""
    return default_guid("foreign", "database", guid)
