"""Database availability groups (Exchange 2010 and later): the DAG objects in Active Directory, the failover cluster under
each DAG, the Replication service's view of every database copy, and the cmdlet twins the DAG modules call.

Estate keys (validated here; errors name the key):

    domain:
      exchange:
        dags:
          DAG1:
            servers: [EX01, EX02]        # Mailbox servers of one release (msExchMDBAvailabilityGroupLink on each server object)
            witness_server: FS01         # the file share witness (a host of the estate: it must answer to give its vote)
            witness_directory: 'C:\\DAGFileShareWitnesses\\DAG1.contoso.local'   # default: that folder for <DAG>.<domain>
            alternate_witness_server: null, alternate_witness_directory: null, datacenter_activation_mode: 'Off'
            cluster_nodes: [EX01, EX02]  # the DAG's failover cluster; default: the servers
        databases:
          DB01: {server: EX01, copies: [EX01, EX02], copy_settings: {EX02: {replay_lag_time: "1.00:00:00"}}, ...}

Facts (sources in the collection's docs/dag.md):
- A Mailbox server is a member of at most one DAG; members run the same Exchange release (ODX manage-ha/dag-memberships.md,
  ha/database-copies.md). The server object links to its DAG with msExchMDBAvailabilityGroupLink (decompiled
  Microsoft.Exchange.Data.Directory ServerSchema.DatabaseAvailabilityGroup, PiratesRE/exchange_diff); DAG objects live in
  CN=Database Availability Groups,CN=<admin group>,... (ODX exchange-2013-deployment-permissions-reference).
- Quorum: an even number of cluster nodes uses Node and File Share Majority (the witness votes), an odd number Node
  Majority; a majority of the voters must be up (ODX database-availability-groups.md, manage-dags.md).
- Add-MailboxDatabaseCopy: the server must be a member of the database's DAG, must not hold a copy, the DAG must have
  quorum, the database path must be available on the server, circular logging must be off when the second copy is added;
  ActivationPreference 1 to the number of copies; ReplayLagTime and TruncationLagTime 0 to 14 days; seeding unless
  -SeedingPostponed (then Suspended, "needs to be seeded") (PS Add-MailboxDatabaseCopy; ODX database-copies.md).
- Remove-MailboxDatabaseCopy: quorum, not the active copy, not the last passive copy while circular logging (CRCL) is on;
  the copy's files stay (PS Remove-MailboxDatabaseCopy).
- Remove-DatabaseAvailabilityGroupServer: the server must host no replicated database; -ConfigurationOnly for a server
  that is gone: the DR pages (ODX DR/recover-dag-member-servers.md, 2013/2016/2019) say the node must then be evicted from
  the cluster by hand - the simulator follows them (the cmdlet page says it is evicted when the DAG has quorum: a
  discrepancy, docs/dag.md); without it the server must answer (modelled).
- Add-DatabaseAvailabilityGroupServer installs the Failover Clustering feature when the server lacks it (ODX manage-dags.md).
- Copy status values (ODX manage-ha/monitor-dags.md): a new copy seeds, then is Initializing (about 15 s), then Healthy; an
  active copy is Mounted or Dismounted; a server whose Replication service is not running shows ServiceDown.
Messages marked (modelled) are the simulator's wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.exchange import cmdlets, ese, model, store
from simulator.exchange.cmdlets import ALL, CmdletError, behaviour

if TYPE_CHECKING:
    from simulator.estate import ExchangeOrganization
    from simulator.exchange.shell import ExchangeShell
    from simulator.host import Host

INITIALIZING_SECONDS = 15  # "In most cases, the copy status will remain in the Initializing state for about 15 seconds" (monitor-dags.md)
SEED_BYTES_PER_SECOND = 20 * (1 << 20)  # modelled seeding rate
MIN_SEED_SECONDS = 60  # modelled
DagObject = model.DagObject  # the estate's DAG object (model.py)


def _product(build: str) -> str:
    return model._release(build)


def check_copies(dags: dict[str, DagObject], databases: dict[str, model.DatabaseObject]) -> None:
    """Every copy of a replicated database is on a member of one DAG (ODX ha/database-copies.md). Raises model.ModelError."""
    member_of = {s: d.name for d in dags.values() for s in d.servers}
    for db in databases.values():
        if len(db.copies) < 2:
            continue
        names = {member_of.get(s) for s in db.copies}
        if names != {None} and len(names) != 1:
            raise model.ModelError(
                f"domain.exchange.databases.{db.name}.copies: every copy must be on a member of one DAG, got "
                + ", ".join(f"{s} ({member_of.get(s) or 'no DAG'})" for s in db.copies)
            )


# -- the organisation's view ---------------------------------------------------------------------------------------------
def dags_of(org: ExchangeOrganization | None) -> dict[str, DagObject]:
    return getattr(org, "dags", None) or {} if org is not None else {}


def find_dag(org: ExchangeOrganization | None, name: str) -> DagObject | None:
    key = str(name).casefold()
    return next((d for d in dags_of(org).values() if key in (d.name.casefold(), d.guid.casefold())), None)


def dag_of_server(org: ExchangeOrganization | None, server: str) -> DagObject | None:
    return next((d for d in dags_of(org).values() if server.upper() in d.servers), None)


def dag_of_database(org: ExchangeOrganization | None, db: model.DatabaseObject) -> DagObject | None:
    return next((d for s in db.copies if (d := dag_of_server(org, s)) is not None), None)


def dag_distinguished_name(domain_dn: str, organization: str, admin_group: str, name: str) -> str:
    return (
        f"CN={name},CN=Database Availability Groups,CN={admin_group},CN=Administrative Groups,CN={organization},"
        f"CN=Microsoft Exchange,CN=Services,CN=Configuration,{domain_dn}"
    )


# -- hosts, the cluster, quorum ------------------------------------------------------------------------------------------
def _host(shell: ExchangeShell, server: str) -> Host | None:
    return shell.host_of(server)


def replication_running(host: Host | None) -> bool:
    if host is None or not host.is_up():
        return False
    svc = host.service("MSExchangeRepl")
    return svc is not None and svc.state == "running"


def node_up(shell: ExchangeShell, server: str) -> bool:
    """A cluster node is up when its host answers and runs Exchange's Replication service (the cluster service itself is
    not modelled apart from it)."""
    return replication_running(_host(shell, server))


def witness_up(shell: ExchangeShell, dag: DagObject) -> bool:
    host = _host(shell, str(dag.witness_server or "").split(".", maxsplit=1)[0]) if dag.witness_server else None
    return host is not None and host.is_up()


def quorum(shell: ExchangeShell, dag: DagObject) -> tuple[bool, int, int]:
    """(has quorum, votes present, votes in all): Node and File Share Majority with an even number of nodes, else Node
    Majority (database-availability-groups.md)."""
    nodes = dag.cluster_nodes
    if not nodes:
        return True, 0, 0
    even = len(nodes) % 2 == 0
    total = len(nodes) + (1 if even else 0)
    present = sum(1 for n in nodes if node_up(shell, n)) + (1 if even and witness_up(shell, dag) else 0)
    return present * 2 > total, present, total


def _require_quorum(shell: ExchangeShell, dag: DagObject, doing: str) -> None:
    ok, present, total = quorum(shell, dag)
    if not ok:
        raise CmdletError(
            f"{doing} failed: the database availability group {dag.name} doesn't have quorum ({present} of {total} votes) (modelled).",
            "InvalidOperationException",
        )


# -- copies ----------------------------------------------------------------------------------------------------------------
def lag(db: model.DatabaseObject, server: str, key: str) -> str:
    return str(db.copy_setting(server, key))


def _log_count(shell: ExchangeShell, db: model.DatabaseObject) -> int:
    host = _host(shell, db.server)
    if host is None or not host.is_up():
        return 0
    return sum(1 for lf in ese.stream(host, db.log_folder_path, db.log_prefix) if not lf.current)


def copy_status(shell: ExchangeShell, db: model.DatabaseObject, server: str) -> dict[str, Any]:
    """One Get-MailboxDatabaseCopyStatus object (the properties the collection reads, as Exchange names them)."""
    host = _host(shell, server)
    name = f"{db.name}\\{server}"
    active = server == db.server
    obj: dict[str, Any] = {
        "Name": name,
        "Identity": name,
        "DatabaseName": db.name,
        "MailboxServer": server,
        "ActiveDatabaseCopy": db.server.lower(),
        "ActiveCopy": active,
        "ActivationPreference": db.copies.index(server) + 1 if server in db.copies else None,
        "Status": "Healthy",
        "CopyQueueLength": 0,
        "ReplayQueueLength": 0,
        "ContentIndexState": "Healthy",
        "ErrorMessage": None,
        "SuspendComment": None,
    }
    if not replication_running(host):
        obj.update(Status="ServiceDown", ContentIndexState="Unknown")
        return obj
    assert host is not None
    if active:
        obj["Status"] = "Mounted" if store.is_mounted(host, db) else "Dismounted"
        return obj
    state = db.replication.get(server) or {}
    now = host.clock.time()
    if state.get("suspended"):
        obj.update(Status="Suspended", ContentIndexState="Suspended", SuspendComment=state.get("message"), CopyQueueLength=_log_count(shell, db))
        return obj
    started = state.get("seeding_started")
    if started is not None and now < started + state.get("seed_seconds", 0):
        obj.update(Status="Seeding", ContentIndexState="Seeding", CopyQueueLength=_log_count(shell, db))
        return obj
    if started is not None and now < started + state.get("seed_seconds", 0) + INITIALIZING_SECONDS:
        obj.update(Status="Initializing", ContentIndexState="Crawling")
        return obj
    if not host.exists(db.edb_file_path):
        obj.update(
            Status="FailedAndSuspended", ContentIndexState="Failed", ErrorMessage=f"The database file {db.edb_file_path} is missing on {server} (modelled)."
        )
        return obj
    if model.parse_timespan(lag(db, server, "replay_lag_time")) > 0:
        obj["ReplayQueueLength"] = _log_count(shell, db)  # a lagged copy keeps the logs of its lag window unreplayed
    return obj


def copy_properties(shell: ExchangeShell, db: model.DatabaseObject) -> dict[str, Any]:
    """The DAG properties of a MailboxDatabase object: ActivationPreference, ReplayLagTimes and TruncationLagTimes are
    arrays of server/value pairs - KeyValuePair objects in the snap-in (ExchangeDsc reads `.Key.Name` and `.Value`), their
    text '[EX01, 1]' once a remote session deserializes them (docs/dr-kit.md) - and DatabaseCopies one object per copy."""
    dag = dag_of_database(shell.organization, db)

    def pairs(key: str) -> list[Any]:
        values = [(s, db.copy_setting(s, key)) for s in db.copies]
        if shell.method == "remote":
            return [f"[{s}, {v}]" for s, v in values]
        return [{"Key": {"Name": s}, "Value": v} for s, v in values]

    return {
        "MasterServerOrAvailabilityGroup": dag.name if dag is not None else db.server,
        "ActivationPreference": pairs("activation_preference"),
        "ReplayLagTimes": pairs("replay_lag_time"),
        "TruncationLagTimes": pairs("truncation_lag_time"),
        "DatabaseCopies": [{"HostServerName": s, "DatabaseName": db.name} for s in db.copies],
    }


def _seed(shell: ExchangeShell, db: model.DatabaseObject, server: str, host: Host) -> dict[str, Any]:
    """Seeding from the active copy: the copy's database and log folder are written on the target at once (streamed
    there while the status says Seeding); the status turns Initializing, then Healthy, over simulated time."""
    source = _host(shell, db.server)
    size = source.stat(db.edb_file_path).size if source is not None and source.exists(db.edb_file_path) else 1 << 20
    last = max(1, _log_count(shell, db))
    store._write_database_files(
        host,
        db,
        {"state": "dirty", "logs": {"first": last, "last": last}, "size_mb": size / (1 << 20)},
        db.edb_file_path,
        folders=(db.log_folder_path, db.system_folder_path),
    )
    now = host.clock.time()
    seconds = max(MIN_SEED_SECONDS, size / SEED_BYTES_PER_SECOND)
    host.clock.schedule(now + seconds + INITIALIZING_SECONDS)  # the Replication service works in simulated time
    return {"seeding_started": now, "seed_seconds": seconds}


# -- identities ------------------------------------------------------------------------------------------------------------
def _dag(shell: ExchangeShell, identity: str) -> DagObject:
    dag = find_dag(shell.organization, identity)
    if dag is None:
        raise cmdlets._not_found(shell, identity)
    return dag


def _mailbox_database(shell: ExchangeShell, identity: str) -> model.DatabaseObject:
    db = cmdlets._database(shell, identity, "mailbox")
    if db.recovery:
        raise cmdlets._not_found(shell, identity)
    return db


def _copy_identity(shell: ExchangeShell, identity: str) -> tuple[model.DatabaseObject, str]:
    text = str(identity)
    if "\\" not in text:
        raise CmdletError(f"'{text}' isn't a database copy identity: use <Database>\\<Server> (modelled).", "ArgumentException")
    database, server = text.rsplit("\\", maxsplit=1)
    db = _mailbox_database(shell, database)
    name = server.split(".", maxsplit=1)[0].upper()
    if name not in db.copies:
        raise cmdlets._not_found(shell, text)
    return db, name


def _lag_value(parameter: str, value: str) -> str:
    try:
        return model.lag_timespan(value)
    except ValueError as e:
        raise CmdletError(f"The value of {parameter} is out of range: {e} (00:00:00 to 14.00:00:00) (modelled).", "ArgumentOutOfRangeException") from None


def _preference(value: int, copies: int) -> int:
    if value < 1 or value > copies:
        raise CmdletError(
            f"ActivationPreference {value} is out of range: it must be at least 1 and at most the number of copies of the database ({copies}) (modelled).",
            "ArgumentOutOfRangeException",
        )
    return value


# -- parameter tables (PS <cmdlet>.md, "Applicable:" lines) ---------------------------------------------------------------
_ALL_RELEASES = "2010+2013+2016+2019+SE"
DOCUMENTED_DAG: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Get-DatabaseAvailabilityGroup": (
        ("Identity", "DatabaseAvailabilityGroupIdParameter", ALL, (), 1, _ALL_RELEASES),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("Status", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
    "Add-DatabaseAvailabilityGroupServer": (
        ("Identity", "DatabaseAvailabilityGroupIdParameter", ALL, ALL, 1, _ALL_RELEASES),
        ("MailboxServer", "ServerIdParameter", ALL, ALL, 2, _ALL_RELEASES),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("SkipDagValidation", "SwitchParameter", ALL, (), None, "2013+2016+2019+SE"),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
    "Remove-DatabaseAvailabilityGroupServer": (
        ("Identity", "DatabaseAvailabilityGroupIdParameter", ALL, ALL, 1, _ALL_RELEASES),
        ("MailboxServer", "ServerIdParameter", ALL, ALL, 2, _ALL_RELEASES),
        ("ConfigurationOnly", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("SkipDagValidation", "SwitchParameter", ALL, (), None, "2013+2016+2019+SE"),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
    "Add-MailboxDatabaseCopy": (
        ("Identity", "DatabaseIdParameter", ALL, ALL, 1, _ALL_RELEASES),
        ("MailboxServer", "MailboxServerIdParameter", ALL, ALL, 2, _ALL_RELEASES),
        ("ActivationPreference", "UInt32", ALL, (), None, _ALL_RELEASES),
        ("ConfigurationOnly", "SwitchParameter", ALL, (), None, "2013+2016+2019+SE"),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("ReplayLagMaxDelay", "EnhancedTimeSpan", ALL, (), None, "2016+2019+SE"),
        ("ReplayLagTime", "EnhancedTimeSpan", ALL, (), None, _ALL_RELEASES),
        ("SeedingPostponed", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("TruncationLagTime", "EnhancedTimeSpan", ALL, (), None, _ALL_RELEASES),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
    "Remove-MailboxDatabaseCopy": (
        ("Identity", "DatabaseCopyIdParameter", ALL, ALL, 1, _ALL_RELEASES),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
    "Set-MailboxDatabaseCopy": (
        ("Identity", "DatabaseCopyIdParameter", ALL, ALL, 1, _ALL_RELEASES),
        ("ActivationPreference", "UInt32", ALL, (), None, _ALL_RELEASES),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("DatabaseCopyAutoActivationPolicy", "DatabaseCopyAutoActivationPolicyType", ALL, (), None, "2013+2016+2019+SE"),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("ReplayLagMaxDelay", "EnhancedTimeSpan", ALL, (), None, "2016+2019+SE"),
        ("ReplayLagTime", "EnhancedTimeSpan", ALL, (), None, _ALL_RELEASES),
        ("TruncationLagTime", "EnhancedTimeSpan", ALL, (), None, _ALL_RELEASES),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
    "Test-ReplicationHealth": (
        ("Identity", "ServerIdParameter", ALL, (), 1, _ALL_RELEASES),
        ("ActiveDirectoryTimeout", "Int32", ALL, (), None, _ALL_RELEASES),
        ("Confirm", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("DatabaseAvailabilityGroup", "DatabaseAvailabilityGroupIdParameter", ALL, (), None, "2016+2019+SE"),
        ("DomainController", "Fqdn", ALL, (), None, _ALL_RELEASES),
        ("MonitoringContext", "Boolean", ALL, (), None, _ALL_RELEASES),
        ("OutputObjects", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
        ("TransientEventSuppressionWindow", "UInt32", ALL, (), None, _ALL_RELEASES),
        ("WhatIf", "SwitchParameter", ALL, (), None, _ALL_RELEASES),
    ),
}
cmdlets.SPECS_2010.update(cmdlets._build(DOCUMENTED_DAG, {}))


# -- behaviour -------------------------------------------------------------------------------------------------------------
def _witness_directory(shell: ExchangeShell, dag: DagObject) -> str:
    if dag.witness_directory:
        return dag.witness_directory
    domain = shell.domain.name if shell.domain is not None else "local"
    return f"C:\\DAGFileShareWitnesses\\{dag.name}.{domain}"  # the default when none is given (PS New-DatabaseAvailabilityGroup)


def dag_object(shell: ExchangeShell, dag: DagObject, status: bool) -> dict[str, Any]:
    """A DatabaseAvailabilityGroup object; OperationalServers and PrimaryActiveManager only with -Status
    (PS Get-DatabaseAvailabilityGroup: "Without the Status parameter, the values returned for these properties are blank")."""
    operational = [n for n in dag.cluster_nodes if n in dag.servers and node_up(shell, n)] if status else None
    return {
        "Name": dag.name,
        "Identity": dag.name,
        "Guid": dag.guid,
        "Servers": list(dag.servers),
        "WitnessServer": dag.witness_server,
        "WitnessDirectory": _witness_directory(shell, dag),
        "AlternateWitnessServer": dag.alternate_witness_server,
        "AlternateWitnessDirectory": dag.alternate_witness_directory,
        "DatacenterActivationMode": dag.datacenter_activation_mode,
        "OperationalServers": operational,
        "PrimaryActiveManager": (operational[0] if operational else None) if status else None,
        "WitnessShareInUse": ("Primary" if len(dag.cluster_nodes) % 2 == 0 else "None") if status else None,
    }


@behaviour("Get-DatabaseAvailabilityGroup")
def get_database_availability_group(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if "Identity" in bound:
        chosen = [_dag(shell, bound["Identity"])]
    else:
        chosen = sorted(dags_of(shell.organization).values(), key=lambda d: d.name.casefold())
    return [dag_object(shell, d, bool(bound.get("Status"))) for d in chosen]


@behaviour("Add-DatabaseAvailabilityGroupServer")
def add_database_availability_group_server(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    dag = _dag(shell, bound["Identity"])
    server = cmdlets._server_name(shell, bound["MailboxServer"])
    org = shell.organization
    assert org is not None
    other = dag_of_server(org, server)
    if other is not None:
        raise CmdletError(f"The Mailbox server {server} is already a member of the database availability group {other.name} (modelled).")
    if "Mailbox" not in org.servers[server].roles:
        raise CmdletError(f"{server} isn't a Mailbox server (modelled).")
    if dag.servers and _product(org.servers[dag.servers[0]].version) != _product(org.servers[server].version):
        raise CmdletError(f"{server} runs another Exchange release than the members of {dag.name} (modelled).")
    host = _host(shell, server)
    if not replication_running(host):
        raise CmdletError(
            "A server-side database availability group administrative operation failed: "
            f"the Microsoft Exchange Replication service on {server} can't be contacted (modelled).",
            "DagTaskServerException",
        )
    if server in dag.cluster_nodes:
        raise CmdletError(
            f"{server} is still a node of the failover cluster of {dag.name}: evict it from the cluster first (Remove-ClusterNode) (modelled).",
            "DagTaskServerException",
        )
    if dag.servers:
        _require_quorum(shell, dag, f"Adding {server} to {dag.name}")
    if bound.get("WhatIf"):
        return []
    assert host is not None
    feature = host.feature("Failover-Clustering")
    if feature is not None and not feature.installed:
        host.install_features(["Failover-Clustering"])  # "installs the failover clustering feature" (manage-dags.md)
    dag.servers.append(server)
    dag.cluster_nodes.append(server)
    shell.save_domain()
    return []


@behaviour("Remove-DatabaseAvailabilityGroupServer")
def remove_database_availability_group_server(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    dag = _dag(shell, bound["Identity"])
    server = cmdlets._server_name(shell, bound["MailboxServer"])
    org = shell.organization
    assert org is not None
    if server not in dag.servers:
        raise CmdletError(f"The Mailbox server {server} isn't a member of the database availability group {dag.name} (modelled).")
    replicated = sorted(d.name for d in org.databases.values() if server in d.copies and len(d.copies) > 1)
    if replicated:
        raise CmdletError(
            f"The Mailbox server {server} can't be removed from {dag.name} while it hosts replicated databases: "
            f"{', '.join(replicated)}. Remove their copies first (modelled)."
        )
    configuration_only = bool(bound.get("ConfigurationOnly"))
    if not configuration_only and not node_up(shell, server):
        raise CmdletError(
            f"A server-side database availability group administrative operation failed: {server} can't be contacted. "
            "Use -ConfigurationOnly for a server that is gone (modelled).",
            "DagTaskServerException",
        )
    if bound.get("WhatIf"):
        return []
    dag.servers.remove(server)
    if not configuration_only and server in dag.cluster_nodes:
        dag.cluster_nodes.remove(server)
    shell.save_domain()
    return []


@behaviour("Add-MailboxDatabaseCopy")
def add_mailbox_database_copy(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db = _mailbox_database(shell, bound["Identity"])
    server = cmdlets._server_name(shell, bound["MailboxServer"])
    org = shell.organization
    dag = dag_of_database(org, db)
    if dag is None or server not in dag.servers:
        where = f"the database availability group {dag.name}" if dag is not None else "a database availability group with the database's server"
        raise CmdletError(f"{server} isn't a member of {where}; a copy can only be added on a member of the same DAG (modelled).")
    if server in db.copies:
        raise CmdletError(f"{server} already hosts a copy of the database {db.name} (modelled).")
    _require_quorum(shell, dag, f"Adding a copy of {db.name} on {server}")
    replay = _lag_value("ReplayLagTime", bound["ReplayLagTime"]) if "ReplayLagTime" in bound else "00:00:00"
    truncation = _lag_value("TruncationLagTime", bound["TruncationLagTime"]) if "TruncationLagTime" in bound else "00:00:00"
    preference = _preference(int(bound["ActivationPreference"]), len(db.copies) + 1) if "ActivationPreference" in bound else len(db.copies) + 1
    if db.circular_logging and len(db.copies) == 1:
        raise CmdletError(f"Circular logging is enabled on {db.name}: disable it before adding its second copy (modelled).")
    configuration_only = bool(bound.get("ConfigurationOnly"))
    host = _host(shell, server)
    if not configuration_only:
        for path in (db.edb_file_path, db.log_folder_path):
            if host is not None and path[:1].upper() not in host.state.drives:
                raise CmdletError(f"The path {path} isn't available on {server}: every copy uses the same paths (modelled).")
        if not replication_running(host):
            raise CmdletError(f"The Microsoft Exchange Replication service on {server} can't be contacted (modelled).", "DagTaskServerException")
        if not bound.get("SeedingPostponed"):
            source = _host(shell, db.server)
            if source is None or not store.is_mounted(source, db):
                raise CmdletError(f"Seeding {db.name} to {server} needs its active copy on {db.server} to be mounted (modelled).")
    if bound.get("WhatIf"):
        return []
    db.copies.insert(preference - 1, server)
    db.copy_settings[server] = {"replay_lag_time": replay, "truncation_lag_time": truncation}
    if configuration_only or bound.get("SeedingPostponed"):
        db.replication[server] = {"suspended": True, "message": f"Replication is suspended for database copy '{db.name}' because database needs to be seeded."}
    else:
        assert host is not None
        db.replication[server] = _seed(shell, db, server, host)
    shell.save_domain()
    return []


@behaviour("Remove-MailboxDatabaseCopy")
def remove_mailbox_database_copy(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db, server = _copy_identity(shell, bound["Identity"])
    if server == db.server:
        raise CmdletError(f"{db.name}\\{server} is the active copy of {db.name}; an active copy can't be removed (activate another copy first) (modelled).")
    dag = dag_of_database(shell.organization, db)
    if dag is not None:
        _require_quorum(shell, dag, f"Removing {db.name}\\{server}")
    if db.circular_logging and len(db.copies) == 2:
        raise CmdletError(f"Continuous replication circular logging is enabled on {db.name}: disable it before removing its last passive copy (modelled).")
    if bound.get("WhatIf"):
        return []
    db.copies.remove(server)
    db.copy_settings.pop(server, None)
    db.replication.pop(server, None)
    shell.save_domain()
    return []


@behaviour("Set-MailboxDatabaseCopy")
def set_mailbox_database_copy(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    db, server = _copy_identity(shell, bound["Identity"])
    unmodelled = sorted(
        k for k in bound if k not in ("Identity", "ActivationPreference", "ReplayLagTime", "TruncationLagTime", "DomainController", "Confirm", "WhatIf")
    )
    if unmodelled:
        raise cmdlets.NotModelled(f"Set-MailboxDatabaseCopy -{unmodelled[0]}")
    settings = dict(db.copy_settings.get(server) or {})
    for parameter, key in (("ReplayLagTime", "replay_lag_time"), ("TruncationLagTime", "truncation_lag_time")):
        if parameter in bound:
            settings[key] = _lag_value(parameter, bound[parameter])
    preference = _preference(int(bound["ActivationPreference"]), len(db.copies)) if "ActivationPreference" in bound else None
    if bound.get("WhatIf"):
        return []
    db.copy_settings[server] = settings
    if preference is not None:
        db.copies.remove(server)
        db.copies.insert(preference - 1, server)
    shell.save_domain()
    return []


@behaviour("Get-MailboxDatabaseCopyStatus")
def get_mailbox_database_copy_status(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    org = shell.organization
    if org is None:
        return []
    pairs: list[tuple[model.DatabaseObject, str]] = []
    if set_name == "Server":
        server = cmdlets._server_name(shell, bound["Server"])
        pairs = [(d, server) for d in org.databases_of(server) if d.kind == "mailbox" and not d.recovery]
    elif "Identity" in bound:
        text = str(bound["Identity"])
        if "\\" in text:
            pairs = [_copy_identity(shell, text)]
        else:
            db = _mailbox_database(shell, text)
            pairs = [(db, s) for s in db.copies]
    else:
        pairs = [(d, s) for d in sorted(org.databases.values(), key=lambda d: d.name.casefold()) if d.kind == "mailbox" and not d.recovery for s in d.copies]
    if bound.get("Local"):
        pairs = [(d, s) for d, s in pairs if s == shell.host.name.upper()]
    if bound.get("Active"):
        pairs = [(d, s) for d, s in pairs if s == d.server]
    return [copy_status(shell, d, s) for d, s in pairs]


_CHECKS = (
    "ClusterService",
    "ReplayService",
    "ActiveManager",
    "TasksRpcListener",
    "TcpListener",
    "ServerLocatorService",
    "DagMembersUp",
    "ClusterNetwork",
    "QuorumGroup",
    "FileShareQuorum",
    "DatabaseRedundancy",
    "DatabaseAvailability",
    "DBCopySuspended",
    "DBCopyFailed",
    "DBInitializing",
    "DBDisconnected",
    "DBLogCopyKeepingUp",
    "DBLogReplayKeepingUp",
)  # the tests of ODX manage-ha/monitor-dags.md, in its order


def replication_health(shell: ExchangeShell, server: str) -> list[dict[str, Any]]:
    org = shell.organization
    dag = dag_of_server(org, server)
    if dag is None:
        raise CmdletError(f"{server} isn't a member of a database availability group; Test-ReplicationHealth tests DAG members (modelled).")
    up = node_up(shell, server)
    service = replication_running(_host(shell, server))
    down = [m for m in dag.servers if not node_up(shell, m)]
    has_quorum, present, total = quorum(shell, dag)
    statuses = [copy_status(shell, d, server) for d in org.databases_of(server) if d.kind == "mailbox" and not d.recovery] if org else []
    databases = [d for d in org.databases_of(server) if d.kind == "mailbox" and not d.recovery] if org else []

    def good(db: model.DatabaseObject) -> int:
        return sum(1 for s in db.copies if copy_status(shell, db, s)["Status"] in ("Healthy", "Mounted"))

    def having(*states: str) -> list[str]:
        return [s["Name"] for s in statuses if s["Status"] in states]

    failures: dict[str, str | None] = {
        "ClusterService": None
        if up and server in dag.cluster_nodes
        else f"The cluster service on {server} isn't reachable or {server} isn't a node of {dag.name}'s cluster.",
        "ReplayService": None if service else f"The Microsoft Exchange Replication service isn't running on {server}.",
        "ActiveManager": None if up else f"Active Manager on {server} isn't in a valid role.",
        "TasksRpcListener": None if service else f"The tasks RPC listener on {server} isn't reachable.",
        "TcpListener": None if service else f"The TCP log copy listener on {server} isn't reachable.",
        "ServerLocatorService": None if service else f"The server locator service on {server} isn't reachable.",
        "DagMembersUp": None if not down else f"The following servers in the database availability group are down: {', '.join(down)}.",
        "ClusterNetwork": None if up else f"The cluster networks of {server} aren't available.",
        "QuorumGroup": None if has_quorum else f"The cluster's quorum group is offline ({present} of {total} votes).",
        "FileShareQuorum": None if len(dag.cluster_nodes) % 2 or witness_up(shell, dag) else f"The witness server {dag.witness_server} isn't reachable.",
        "DatabaseRedundancy": None
        if all(good(d) >= 2 for d in databases)
        else "Databases with fewer than two healthy copies: " + ", ".join(d.name for d in databases if good(d) < 2) + ".",
        "DatabaseAvailability": None
        if all(good(d) >= 1 for d in databases)
        else "Databases without a healthy copy: " + ", ".join(d.name for d in databases if good(d) < 1) + ".",
        "DBCopySuspended": None
        if not having("Suspended", "FailedAndSuspended")
        else "Suspended copies: " + ", ".join(having("Suspended", "FailedAndSuspended")) + ".",
        "DBCopyFailed": None if not having("Failed", "FailedAndSuspended") else "Failed copies: " + ", ".join(having("Failed", "FailedAndSuspended")) + ".",
        "DBInitializing": None if not having("Initializing") else "Initializing copies: " + ", ".join(having("Initializing")) + ".",
        "DBDisconnected": None
        if not having("DisconnectedAndHealthy", "DisconnectedAndResynchronizing")
        else "Disconnected copies: " + ", ".join(having("DisconnectedAndHealthy", "DisconnectedAndResynchronizing")) + ".",
        "DBLogCopyKeepingUp": None if not having("Seeding") else "Log copying isn't keeping up for: " + ", ".join(having("Seeding")) + ".",
        "DBLogReplayKeepingUp": None,
    }
    return [{"Server": server, "Check": check, "Result": "Passed" if failures[check] is None else "Failed", "Error": failures[check]} for check in _CHECKS]


@behaviour("Test-ReplicationHealth")
def test_replication_health(shell: ExchangeShell, set_name: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    if "DatabaseAvailabilityGroup" in bound:
        dag = _dag(shell, bound["DatabaseAvailabilityGroup"])
        return [row for member in dag.servers for row in replication_health(shell, member)]
    server = cmdlets._server_name(shell, bound.get("Identity") or shell.host.name)
    return replication_health(shell, server)


# -- the failover cluster (FailoverClusters module: Get-ClusterNode, Remove-ClusterNode) ---------------------------------
class ClusterError(Exception):
    """What a FailoverClusters cmdlet reports (modelled wording)."""


def local_cluster(host: Host) -> DagObject | None:
    org = store.organization(host)
    return next((d for d in dags_of(org).values() if host.name.upper() in d.cluster_nodes), None)


def cluster_nodes(host: Host) -> list[dict[str, Any]]:
    """Get-ClusterNode on a node: every node of the local cluster with its State (Up or Down)."""
    dag = local_cluster(host)
    if dag is None or not replication_running(host):
        raise ClusterError("The cluster service is not running. Make sure that the service is running on all nodes in the cluster. (modelled)")
    lookup = host.estate.host_by_server_name if host.estate is not None else (lambda n: host if n.upper() == host.name.upper() else None)
    return [{"Name": n, "State": "Up" if replication_running(lookup(n)) else "Down", "Cluster": dag.name} for n in dag.cluster_nodes]


def remove_cluster_node(host: Host, name: str) -> None:
    """Remove-ClusterNode -Name <name> -Force on a node of the cluster (evicts the node)."""
    dag = local_cluster(host)
    if dag is None or not replication_running(host):
        raise ClusterError("The cluster service is not running. Make sure that the service is running on all nodes in the cluster. (modelled)")
    node = name.split(".", maxsplit=1)[0].upper()
    if node not in dag.cluster_nodes:
        raise ClusterError(f"The node '{name}' was not found in the cluster. (modelled)")
    if node == host.name.upper():
        raise ClusterError("The local node can't evict itself here: run Remove-ClusterNode from another node. (modelled)")
    dag.cluster_nodes.remove(node)
    if host.estate is not None:
        host.estate.save_domain()
