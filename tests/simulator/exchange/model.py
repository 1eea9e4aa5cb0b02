"""The Exchange organisation's database objects in Active Directory: mailbox and public folder databases, 2007 storage
groups and mailbox users. They live in the domain (DIR/domain.json) and outlive a lost server, as the AD objects do; what a
server's Information Store does with them (mounted or not) is host state (store.py), what the files hold is ESE (ese.py).

Estate keys (validated here; errors name the key, `domain.exchange.databases.DB01.server: ...`):

    domain:
      exchange:
        servers: {EX01: {version: "15.2.1544.4", roles: [Mailbox]}}
        storage_groups:                  # Exchange 2007 only: logs, checkpoint and prefix belong to the storage group
          First Storage Group: {server: EX2007, log_folder_path: 'E:\\SG1', system_folder_path: 'E:\\SG1', log_prefix: E00,
                                recovery: false, circular_logging: false}
        databases:
          DB01:
            name: DB01                   # default: the key (a 2007 recovery storage group database has its original's
                                         # name: give it another key and the name here)
            server: EX01                 # the server hosting the (active) database
            kind: mailbox                # mailbox | public_folder (public folder databases: 2007 and 2010 only)
            edb_file_path: 'D:\\DB01\\DB01.edb'
            log_folder_path: 'E:\\DB01'  # 2010 and later (2007: the storage group's)
            log_prefix: E00              # 2010 and later; E00 by default
            storage_group: First Storage Group   # 2007 only, required there
            recovery: false              # a recovery database (2010+; 2007: the storage group's recovery flag)
            allow_file_restore: false    # "This database can be overwritten by a restore"
            mount_at_startup: true
            circular_logging: false      # 2010 and later (2007: the storage group's)
            deleted_item_retention: "14.00:00:00"
            mailbox_retention: "30.00:00:00"          # mailbox databases only
            retain_deleted_items_until_backup: false
            copies: [EX01, EX02]         # servers holding a copy (a DAG; 2010+), in activation preference order; default: [server]
            copy_settings:               # optional, per copy: ActivationPreference (default: the position in copies; given, it
              EX02: {replay_lag_time: "1.00:00:00", truncation_lag_time: "02:00:00"}   # orders copies), ReplayLagTime and
                                         # TruncationLagTime (00:00:00 to 14.00:00:00)
            guid: 0b9c...                # default: derived from the organisation and the name
        mailboxes:
          alice: {display_name: Alice Smith, database: DB01, guid: ...}   # mailbox users (AD side)
          bob: {display_name: Bob Jones, database: null}  # a user account without a mailbox (RecipientType User): the
                                                          # account of a disabled mailbox (recipients.py)
        dags:                            # database availability groups (2010+; issue 13, docs/dag.md and docs/dr-kit.md)
          DAG1: {servers: [EX01, EX02], witness_server: FS01, witness_directory: 'C:\\DAG1', alternate_witness_server: null,
                 alternate_witness_directory: null, datacenter_activation_mode: 'Off', cluster_nodes: [EX01, EX02]}

Defaults and ranges: PS Set-MailboxDatabase (DeletedItemRetention 14.00:00:00, MailboxRetention 30.00:00:00, both 00:00:00 to
24855.03:14:07; RetainDeletedItemsUntilBackup $false; AllowFileRestore $false).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

KINDS = ("mailbox", "public_folder")
DEFAULT_DELETED_ITEM_RETENTION = "14.00:00:00"
DEFAULT_MAILBOX_RETENTION = "30.00:00:00"
MAX_TIMESPAN_SECONDS = 24855 * 86400 + 3 * 3600 + 14 * 60 + 7  # 24855.03:14:07
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
_LOG_PREFIX = re.compile(r"^[ER][0-9A-Fa-f]{2}$")  # R00...: a 2007 recovery storage group's logs (E07; lower confidence)
_LOCAL_PATH = re.compile(r"^[A-Za-z]:\\")


class ModelError(ValueError):
    """An invalid estate entry; the message starts with the key."""


def parse_timespan(value: Any) -> int:
    """Seconds of an Exchange time span 'd.hh:mm:ss' (EnhancedTimeSpan); ValueError outside 00:00:00-24855.03:14:07."""
    m = _TIMESPAN.match(str(value).strip())
    if not m:
        raise ValueError(f"expected a time span d.hh:mm:ss such as 14.00:00:00, got {value!r}")
    days, hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), int(m.group(3)), int(m.group(4))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{value!r}: hours, minutes or seconds out of range")
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total > MAX_TIMESPAN_SECONDS:
        raise ValueError(f"{value!r} is above the maximum 24855.03:14:07")
    return total


def format_timespan(seconds: int) -> str:
    """The way Exchange prints a time span: '14.00:00:00', '00:30:00' below a day."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock


@dataclass
class StorageGroupObject:
    """An Exchange 2007 storage group: the log stream (folder, prefix) and the checkpoint folder its databases share."""

    name: str
    server: str
    log_folder_path: str
    system_folder_path: str
    log_prefix: str = "E00"
    recovery: bool = False
    circular_logging: bool = False

    @property
    def identity(self) -> str:
        return f"{self.server}\\{self.name}"


@dataclass
class DatabaseObject:
    name: str
    server: str
    guid: str
    edb_file_path: str
    log_folder_path: str
    system_folder_path: str
    kind: str = "mailbox"
    log_prefix: str = "E00"
    storage_group: str | None = None  # 2007
    recovery: bool = False
    allow_file_restore: bool = False
    mount_at_startup: bool = True
    circular_logging: bool = False
    deleted_item_retention: str = DEFAULT_DELETED_ITEM_RETENTION
    mailbox_retention: str | None = DEFAULT_MAILBOX_RETENTION
    retain_deleted_items_until_backup: bool = False
    copies: list[str] = field(default_factory=list)
    # DAG copies (dag.py): per server {replay_lag_time, truncation_lag_time}; the Replication service's runtime state of
    # each passive copy (seeding start and length) is `replication` - both persist in domain.json
    copy_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    replication: dict[str, dict[str, Any]] = field(default_factory=dict)

    def copy_setting(self, server: str, key: str) -> Any:
        """A copy's ActivationPreference (its position in `copies`), ReplayLagTime or TruncationLagTime (default 00:00:00)."""
        if key == "activation_preference":
            return self.copies.index(server.upper()) + 1 if server.upper() in self.copies else None
        return (self.copy_settings.get(server.upper()) or {}).get(key) or "00:00:00"

    @property
    def identity(self) -> str:
        """The database's Identity: its name (2010 and later), Server\\StorageGroup\\Name on 2007 - where a recovery storage
        group database has the name of the database it recovers, so only the identity tells them apart."""
        return f"{self.server}\\{self.storage_group}\\{self.name}" if self.storage_group else self.name


@dataclass
class DagObject:
    """A database availability group (2010+): its member servers and witness (PS Get-DatabaseAvailabilityGroup) and the
    nodes of its failover cluster (a member removed with -ConfigurationOnly stays a node until it is evicted)."""

    name: str
    servers: list[str] = field(default_factory=list)
    witness_server: str | None = None
    witness_directory: str | None = None
    alternate_witness_server: str | None = None
    alternate_witness_directory: str | None = None
    datacenter_activation_mode: str = "Off"
    cluster_nodes: list[str] = field(default_factory=list)
    guid: str = ""


def next_log_prefix(used: set[str]) -> str:
    """The lowest E00-EFF prefix not in `used` (upper case): the prefix a new database or storage group gets on a server
    (modelled: Exchange numbers the log streams of a server E00, E01, ...)."""
    for n in range(256):
        prefix = f"E{n:02X}"
        if prefix not in used:
            return prefix
    raise ModelError("no free log prefix on the server (E00-EFF are all in use)")


@dataclass
class MailboxObject:
    """A user in AD: the user account and the database its mailbox is in (the store holds the content), or no database - a
    user without a mailbox (Get-User RecipientType User), which Connect-Mailbox can give one."""

    alias: str
    display_name: str
    database: str | None
    guid: str
    user: str


def default_guid(organization: str, kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"exchange://{organization}/{kind}/{name}".casefold()))


def _keys(where: str, d: Any, allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ModelError(f"{where}: expected a mapping, got {type(d).__name__}")
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ModelError(f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in d:
            raise ModelError(f"{where}.{key}: required")
    return d


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ModelError(f"{where}: expected true or false, got {value!r}")
    return value


def _path(where: str, value: Any, suffix: str | None = None) -> str:
    text = str(value)
    if not _LOCAL_PATH.match(text):
        raise ModelError(f"{where}: expected a local path such as D:\\DB01, got {value!r}")
    if suffix and not text.casefold().endswith(suffix):
        raise ModelError(f"{where}: the file name must end in {suffix}, got {value!r}")
    return text.rstrip("\\") if not suffix else text


def _prefix(where: str, value: Any) -> str:
    text = str(value)
    if not _LOG_PREFIX.match(text):
        raise ModelError(f"{where}: expected a log prefix such as E00 (E, or R for a recovery storage group, and two hex digits), got {value!r}")
    return text.upper()


def _timespan(where: str, value: Any) -> str:
    try:
        return format_timespan(parse_timespan(value))
    except ValueError as e:
        raise ModelError(f"{where}: {e}") from None


_SG_KEYS = {"server", "log_folder_path", "system_folder_path", "log_prefix", "recovery", "circular_logging"}
_DB_KEYS = {
    "name",
    "server",
    "kind",
    "guid",
    "edb_file_path",
    "log_folder_path",
    "log_prefix",
    "storage_group",
    "recovery",
    "allow_file_restore",
    "mount_at_startup",
    "circular_logging",
    "deleted_item_retention",
    "mailbox_retention",
    "retain_deleted_items_until_backup",
    "copies",
    "copy_settings",
}


def parse_storage_groups(raw: Any, servers: dict[str, str]) -> dict[str, StorageGroupObject]:
    """`servers`: upper-case server name -> its build. Storage groups are for 2007 (8.x) servers only."""
    out: dict[str, StorageGroupObject] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ModelError("domain.exchange.storage_groups: expected a mapping of storage group name -> settings")
    for name, entry in raw.items():
        where = f"domain.exchange.storage_groups.{name}"
        spec = _keys(where, entry, _SG_KEYS, ("server", "log_folder_path"))
        server = str(spec["server"]).upper()
        if server not in servers:
            raise ModelError(f"{where}.server: no Exchange server {spec['server']!r} in domain.exchange.servers")
        if not servers[server].startswith("8."):
            raise ModelError(f"{where}.server: storage groups are Exchange 2007 only; {server} runs {servers[server]}")
        log_folder = _path(f"{where}.log_folder_path", spec["log_folder_path"])
        sg = StorageGroupObject(
            name=str(name),
            server=server,
            log_folder_path=log_folder,
            system_folder_path=_path(f"{where}.system_folder_path", spec.get("system_folder_path", log_folder)),
            log_prefix=_prefix(f"{where}.log_prefix", spec.get("log_prefix", "E00")),
            recovery=_bool(f"{where}.recovery", spec.get("recovery", False)),
            circular_logging=_bool(f"{where}.circular_logging", spec.get("circular_logging", False)),
        )
        clash = next((o for o in out.values() if o.server == server and o.log_prefix == sg.log_prefix), None)
        if clash is not None:
            raise ModelError(f"{where}.log_prefix: {sg.log_prefix} is already the prefix of {clash.name} on {server}")
        out[str(name)] = sg
    recovery = [sg for sg in out.values() if sg.recovery]
    for sg in recovery:
        if sum(1 for o in recovery if o.server == sg.server) > 1:
            raise ModelError(f"domain.exchange.storage_groups.{sg.name}.recovery: a server has at most one recovery storage group")
    return out


def parse_databases(raw: Any, organization: str, servers: dict[str, str], storage_groups: dict[str, StorageGroupObject]) -> dict[str, DatabaseObject]:
    out: dict[str, DatabaseObject] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ModelError("domain.exchange.databases: expected a mapping of database name -> settings")
    for name, entry in raw.items():
        where = f"domain.exchange.databases.{name}"
        spec = _keys(where, entry, _DB_KEYS, ("server", "edb_file_path"))
        server = str(spec["server"]).upper()
        if server not in servers:
            raise ModelError(f"{where}.server: no Exchange server {spec['server']!r} in domain.exchange.servers")
        legacy = servers[server].startswith("8.")
        kind = str(spec.get("kind", "mailbox"))
        if kind not in KINDS:
            raise ModelError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        if kind == "public_folder" and servers[server].startswith("15."):
            raise ModelError(f"{where}.kind: Exchange 2013 and later have no public folder databases ({server} runs {servers[server]})")
        edb = _path(f"{where}.edb_file_path", spec["edb_file_path"], ".edb")
        sg = None
        if legacy:
            for key in ("log_folder_path", "log_prefix", "circular_logging", "recovery"):
                if key in spec:
                    raise ModelError(f"{where}.{key}: on Exchange 2007 this belongs to the storage group (domain.exchange.storage_groups)")
            if "storage_group" not in spec:
                raise ModelError(f"{where}.storage_group: required for an Exchange 2007 database")
            sg = storage_groups.get(str(spec["storage_group"]))
            if sg is None or sg.server != server:
                raise ModelError(f"{where}.storage_group: no storage group {spec['storage_group']!r} on {server} in domain.exchange.storage_groups")
            log_folder, system_folder, prefix = sg.log_folder_path, sg.system_folder_path, sg.log_prefix
            recovery, circular = sg.recovery, sg.circular_logging
        else:
            if "storage_group" in spec:
                raise ModelError(f"{where}.storage_group: storage groups are Exchange 2007 only ({server} runs {servers[server]})")
            if "log_folder_path" not in spec:
                raise ModelError(f"{where}.log_folder_path: required")
            log_folder = _path(f"{where}.log_folder_path", spec["log_folder_path"])
            system_folder = log_folder
            prefix = _prefix(f"{where}.log_prefix", spec.get("log_prefix", "E00"))
            recovery = _bool(f"{where}.recovery", spec.get("recovery", False))
            circular = _bool(f"{where}.circular_logging", spec.get("circular_logging", False))
        if recovery and kind != "mailbox":
            raise ModelError(f"{where}.recovery: only mailbox databases can be recovery databases")
        copies = spec.get("copies", [server])
        if not isinstance(copies, list) or not copies or any(str(c).upper() not in servers for c in copies):
            raise ModelError(f"{where}.copies: expected a list of Exchange servers of domain.exchange.servers, got {copies!r}")
        if len(copies) > 1 and (legacy or recovery):
            raise ModelError(f"{where}.copies: {'recovery databases' if recovery else 'Exchange 2007 databases'} have no database copies")
        mailbox_retention = spec.get("mailbox_retention", DEFAULT_MAILBOX_RETENTION if kind == "mailbox" else None)
        if kind == "public_folder" and "mailbox_retention" in spec:
            raise ModelError(f"{where}.mailbox_retention: public folder databases have no mailbox retention")
        db = DatabaseObject(
            name=str(spec.get("name", name)),
            server=server,
            guid=str(spec.get("guid") or default_guid(organization, "database", str(name))),
            edb_file_path=edb,
            log_folder_path=log_folder,
            system_folder_path=system_folder,
            kind=kind,
            log_prefix=prefix,
            storage_group=sg.name if sg else None,
            recovery=recovery,
            allow_file_restore=_bool(f"{where}.allow_file_restore", spec.get("allow_file_restore", False)),
            mount_at_startup=_bool(f"{where}.mount_at_startup", spec.get("mount_at_startup", not recovery)),
            circular_logging=circular,
            deleted_item_retention=_timespan(f"{where}.deleted_item_retention", spec.get("deleted_item_retention", DEFAULT_DELETED_ITEM_RETENTION)),
            mailbox_retention=_timespan(f"{where}.mailbox_retention", mailbox_retention) if mailbox_retention is not None else None,
            retain_deleted_items_until_backup=_bool(f"{where}.retain_deleted_items_until_backup", spec.get("retain_deleted_items_until_backup", False)),
            copies=[str(c).upper() for c in copies],
        )
        db.copy_settings, db.copies = _copy_settings(f"{where}.copy_settings", spec.get("copy_settings"), db.copies)
        _check_unique_files(where, db, out)
        out[str(name)] = db
    return out


MAX_LAG_SECONDS = 14 * 86400  # ReplayLagTime and TruncationLagTime: 0 to 14 days (PS Add-MailboxDatabaseCopy; ODX database-copies.md)
_COPY_SETTING_KEYS = ("replay_lag_time", "truncation_lag_time")


def lag_timespan(value: Any) -> str:
    """A replay or truncation lag as Exchange prints it; ValueError outside 00:00:00-14.00:00:00."""
    seconds = parse_timespan(value)
    if seconds > MAX_LAG_SECONDS:
        raise ValueError(f"{value!r} is above the maximum 14.00:00:00 (14 days)")
    return format_timespan(seconds)


def _copy_settings(where: str, raw: Any, copies: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(per copy lag times, the copies in activation preference order): a preference given orders the copies (it must be
    1 to the number of copies, each once); the lag times are 00:00:00 to 14.00:00:00."""
    if raw is None:
        return {}, copies
    if not isinstance(raw, dict):
        raise ModelError(f"{where}: expected a mapping of server -> {{activation_preference, replay_lag_time, truncation_lag_time}}")
    out: dict[str, dict[str, Any]] = {}
    wanted: dict[str, int] = {}
    for server, settings in raw.items():
        key = f"{where}.{server}"
        if str(server).upper() not in copies:
            raise ModelError(f"{key}: {server} holds no copy (copies: {', '.join(copies)})")
        spec = _keys(key, settings or {}, {"activation_preference", *_COPY_SETTING_KEYS})
        if "activation_preference" in spec:
            pref = spec["activation_preference"]
            if isinstance(pref, bool) or not isinstance(pref, int) or not 1 <= pref <= len(copies):
                raise ModelError(f"{key}.activation_preference: expected a number from 1 to the number of copies ({len(copies)}), got {pref!r}")
            if pref in wanted.values():
                raise ModelError(f"{key}.activation_preference: {pref} is already the preference of another copy")
            wanted[str(server).upper()] = pref
        try:
            out[str(server).upper()] = {k: lag_timespan(spec[k]) for k in _COPY_SETTING_KEYS if k in spec}
        except ValueError as e:
            raise ModelError(f"{key}: {e}") from None
    ordered = [c for c in copies if c not in wanted]
    for server, pref in sorted(wanted.items(), key=lambda kv: kv[1]):
        ordered.insert(pref - 1, server)
    return out, ordered


_DAG_KEYS = {
    "servers",
    "witness_server",
    "witness_directory",
    "alternate_witness_server",
    "alternate_witness_directory",
    "datacenter_activation_mode",
    "cluster_nodes",
    "guid",
}


def _release(build: str) -> str:
    major, minor = build.split(".")[:2]
    return f"{major}.{minor}" if major == "15" else major


def parse_dags(raw: Any, servers: dict[str, str], organization: str = "") -> dict[str, DagObject]:
    """domain.exchange.dags: name -> members and witness; members are 2010+ servers of one release, each in one DAG at
    most (ODX manage-ha/dag-memberships.md). `servers`: upper-case server name -> its build."""
    out: dict[str, DagObject] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ModelError("domain.exchange.dags: expected a mapping of DAG name -> {servers, witness_server, ...}")
    member_of: dict[str, str] = {}
    for name, entry in raw.items():
        where = f"domain.exchange.dags.{name}"
        spec = _keys(where, entry, _DAG_KEYS, ("servers",))
        members = spec["servers"]
        if not isinstance(members, list) or any(str(m).upper() not in servers for m in members):
            raise ModelError(f"{where}.servers: expected a list of Exchange servers of domain.exchange.servers, got {members!r}")
        members = [str(m).upper() for m in members]
        for m in members:
            if servers[m].startswith("8."):
                raise ModelError(f"{where}.servers: {m} runs Exchange 2007, which has no database availability groups")
            if m in member_of:
                raise ModelError(f"{where}.servers: {m} is already a member of {member_of[m]} (a server is in one DAG at most)")
            member_of[m] = str(name)
        if len({_release(servers[m]) for m in members}) > 1:
            raise ModelError(f"{where}.servers: the members must run one Exchange release, got {', '.join(f'{m} {servers[m]}' for m in members)}")
        mode = str(spec.get("datacenter_activation_mode", "Off"))
        if mode not in ("Off", "DagOnly"):
            raise ModelError(f"{where}.datacenter_activation_mode: expected Off or DagOnly, got {mode!r}")
        nodes = spec.get("cluster_nodes", members)
        if not isinstance(nodes, list) or any(str(n).upper() not in servers for n in nodes):
            raise ModelError(f"{where}.cluster_nodes: expected a list of Exchange servers, got {nodes!r}")
        out[str(name)] = DagObject(
            name=str(name),
            servers=members,
            witness_server=spec.get("witness_server"),
            witness_directory=spec.get("witness_directory"),
            alternate_witness_server=spec.get("alternate_witness_server"),
            alternate_witness_directory=spec.get("alternate_witness_directory"),
            datacenter_activation_mode=mode,
            cluster_nodes=[str(n).upper() for n in nodes],
            guid=str(spec.get("guid") or default_guid(organization, "dag", str(name))),
        )
    return out


def _check_unique_files(where: str, db: DatabaseObject, others: dict[str, DatabaseObject]) -> None:
    for other in others.values():
        if other.server != db.server:
            continue
        if other.edb_file_path.casefold() == db.edb_file_path.casefold():
            raise ModelError(f"{where}.edb_file_path: {db.edb_file_path} is also {other.name}'s database file")
        if not db.storage_group and other.log_folder_path.casefold() == db.log_folder_path.casefold():
            raise ModelError(f"{where}.log_folder_path: {db.log_folder_path} is also {other.name}'s log folder")


def parse_mailboxes(raw: Any, organization: str, databases: dict[str, DatabaseObject]) -> dict[str, MailboxObject]:
    out: dict[str, MailboxObject] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ModelError("domain.exchange.mailboxes: expected a mapping of alias -> {display_name, database, guid}")
    for alias, entry in raw.items():
        where = f"domain.exchange.mailboxes.{alias}"
        spec = _keys(where, entry or {}, {"display_name", "database", "guid", "user"})
        database = spec.get("database")
        if database is not None and str(database) not in databases:
            raise ModelError(f"{where}.database: no database {database!r} in domain.exchange.databases")
        if database is not None and databases[str(database)].kind != "mailbox":
            raise ModelError(f"{where}.database: {database} is not a mailbox database")
        out[str(alias)] = MailboxObject(
            alias=str(alias),
            display_name=str(spec.get("display_name", alias)),
            database=str(database) if database is not None else None,
            guid=str(spec.get("guid") or default_guid(organization, "mailbox", str(alias))),
            user=str(spec.get("user", alias)),
        )
    return out


def database_from_dict(d: dict[str, Any]) -> DatabaseObject:
    return DatabaseObject(**d)


def storage_group_from_dict(d: dict[str, Any]) -> StorageGroupObject:
    return StorageGroupObject(**d)


def mailbox_from_dict(d: dict[str, Any]) -> MailboxObject:
    return MailboxObject(**d)


def dag_from_dict(d: dict[str, Any]) -> DagObject:
    return DagObject(**d)
