"""An estate: hosts plus what they share (the domain, file shares, the clock, faults), loaded from a YAML file and persisted
in a state folder.

    config = load_config("estates/example.yml")        # validated; EstateError names the offending key
    estate = prepare_state_dir(config, DIR)             # resolves `auto` addresses, writes DIR/estate.yml, seeds new hosts
    estate = Estate.open(DIR)                           # what `serve` does
    host = load_host(DIR, "EX01")                       # what a test does: a read-only copy from state.json + fs/

State folder: DIR/estate.yml (the estate with addresses resolved), DIR/domain.json (domain state: computer accounts, the
Exchange organisation), DIR/clock.json, DIR/control.json (faults), DIR/hosts/<NAME>/{state.json, fs/}. See DESIGN.md.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import ROLE_BITS
from simulator import baseline
from simulator.clock import Clock, VirtualWall, atomic_write_text
from simulator.exchange import dag as exchange_dag
from simulator.exchange import model as exchange_model
from simulator.faults import Fault, FaultSet, fault_from_dict
from simulator.host import Host
from simulator.hoststate import Account, HostState

WINRM_PORTS = (5985, 5986)
AUTO_NETWORK = ipaddress.ip_network("127.64.0.0/10")  # where `auto` addresses are drawn (random: parallel runs never collide)
DEFAULT_ADMIN_GROUP = "Exchange Administrative Group (FYDIBOHF23SPDLT)"
# msExchCurrentServerRoles bits: the controller's table (ROLE_BITS above, plugin_utils/_exchange_versions.py)
EXCHANGE_ROLES = ("Mailbox", "ClientAccess", "Edge")
LEGACY_EXCHANGE_ROLES = ("Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge")  # 2007/2010: separate roles
_NETBIOS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,14}$")


class EstateError(ValueError):
    """An invalid estate file; the message starts with the offending key (`hosts.EX01.os.version: ...`)."""


# -- domain ----------------------------------------------------------------------------------------------------------------
@dataclass
class ExchangeServerObject:
    """An Exchange server's object in AD: it outlives the host (that is what RecoverServer reads)."""

    name: str
    version: str  # build of the installed Exchange, e.g. 15.2.1118.7
    roles: list[str]
    install_path: str = r"C:\Program Files\Microsoft\Exchange Server\V15"
    edition: str = "Standard"
    admin_display_version: str | None = None  # defaults to the version; after a recovery with a newer CU it keeps the old build
    site: str = "Default-First-Site-Name"  # the Active Directory site (EdgeSync subscribes an Edge to a site)

    def role_bits(self) -> int:
        """msExchCurrentServerRoles: Mailbox on 2016 also carries ClientAccess + HubTransport (+ UM on 2016), so 2016 -> 54,
        2019 -> 38; on 2013 Mailbox carries HubTransport + UM."""
        major_minor = tuple(int(x) for x in self.version.split(".")[:2])
        if major_minor < (15, 0):  # 2007/2010: each role is its own bit
            return sum(ROLE_BITS[role] for role in set(self.roles))
        bits = 0
        for role in self.roles:
            bits |= ROLE_BITS[role]
            if role == "Mailbox":
                bits |= ROLE_BITS["HubTransport"]
                bits |= ROLE_BITS["ClientAccess"] if major_minor >= (15, 1) else 0
                bits |= ROLE_BITS["UnifiedMessaging"] if major_minor <= (15, 1) else 0
        return bits

    def display_version(self) -> str:
        v = (self.admin_display_version or self.version).split(".")
        return f"Version {v[0]}.{v[1]} (Build {v[2]}.{v[3]})"


@dataclass
class ExchangeOrganization:
    organization: str
    admin_group: str = DEFAULT_ADMIN_GROUP
    servers: dict[str, ExchangeServerObject] = field(default_factory=dict)  # keyed by upper-case name
    scripting_agent_enabled: bool = False  # the "Scripting Agent" cmdlet extension agent (recovery fails without its config file)
    # database objects (simulator/exchange/model.py): keyed by name as written
    storage_groups: dict[str, exchange_model.StorageGroupObject] = field(default_factory=dict)
    databases: dict[str, exchange_model.DatabaseObject] = field(default_factory=dict)
    mailboxes: dict[str, exchange_model.MailboxObject] = field(default_factory=dict)
    # database availability groups (exchange/model.py DagObject, behaviour in exchange/dag.py), keyed by name as written
    dags: dict[str, exchange_model.DagObject] = field(default_factory=dict)

    def dag_of(self, server: str) -> exchange_model.DagObject | None:
        """The DAG `server` is a member of (Get-MailboxServer's DatabaseAvailabilityGroup), or None."""
        return next((d for d in self.dags.values() if server.upper() in d.servers), None)

    # EdgeSync (issue 12, simulator/exchange/edge.py): per subscribed Edge (upper-case name) its subscription record, and the
    # organisation's accepted domains that EdgeSync replicates to the Edges
    edge_subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepted_domains: list[dict[str, Any]] = field(default_factory=list)
    # mailbox restore requests of the Mailbox Replication service (simulator/exchange/mrs.py), keyed by request GUID
    restore_requests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def database(self, name: str) -> exchange_model.DatabaseObject | None:
        """A database object by its key, name, GUID or identity (case-insensitive); the first when several match (use
        find_databases where a name can be ambiguous: a 2007 recovery storage group database has its original's name)."""
        if str(name) in self.databases:
            return self.databases[str(name)]
        found = self.find_databases(name)
        return found[0] if found else None

    def find_databases(self, identity: str) -> list[exchange_model.DatabaseObject]:
        """Every database a DatabaseIdParameter value matches: a name or GUID, or on 2007 an identity
        Server\\StorageGroup\\Name (or StorageGroup\\Name)."""
        key = str(identity).casefold()
        if "\\" in key:
            return [d for d in self.databases.values() if d.identity.casefold() == key or d.identity.casefold().endswith("\\" + key)]
        return [d for d in self.databases.values() if key in (d.name.casefold(), d.guid.casefold())]

    def find_mailbox(self, identity: str) -> exchange_model.MailboxObject | None:
        """A mailbox user by alias, display name, GUID, DOMAIN\\alias or alias@domain (MailboxIdParameter)."""
        key = str(identity).casefold().rsplit("\\", maxsplit=1)[-1]
        key = key.split("@", maxsplit=1)[0] if "@" in key else key
        return next((m for m in self.mailboxes.values() if key in (m.alias.casefold(), m.display_name.casefold(), m.guid.casefold())), None)

    def databases_of(self, server: str) -> list[exchange_model.DatabaseObject]:
        """The databases with a copy on `server` (Get-MailboxDatabase -Server), in name order."""
        return sorted((d for d in self.databases.values() if server.upper() in d.copies), key=lambda d: d.name.casefold())

    def cmdlet_extension_agent_attributes(self, name: str) -> dict[str, Any] | None:
        """The AD attributes of a cmdlet extension agent object (CN=<name>, objectClass msExchCmdletExtensionAgent).
        Exchange keeps Enabled and Priority in one attribute, msExchCmdletExtensionFlags: Enabled is bit 0x1, Priority byte 2
        (decompiled Microsoft.Exchange.Data.Directory CmdletExtensionAgentSchema / CmdletExtensionAgent, PiratesRE/exchange_diff);
        the Scripting Agent has priority 6 and is disabled by default (ODX ExchangeServer2013
        cmdlet-extension-agents-exchange-2013-help.md). Only the Scripting Agent is modelled."""
        if name.casefold() != "scripting agent":
            return None
        return {"name": "Scripting Agent", "msExchCmdletExtensionFlags": (6 << 16) | int(self.scripting_agent_enabled)}


@dataclass
class ComputerAccount:
    name: str
    enabled: bool = True
    password_resets: int = 0  # "Reset Account" count (recovery resets, never deletes)


@dataclass
class DomainUser:
    name: str
    password: str
    admin: bool = False  # Domain Admins


@dataclass
class Domain:
    name: str  # DNS name, contoso.local
    netbios: str
    computers: dict[str, ComputerAccount] = field(default_factory=dict)  # keyed by upper-case name
    users: dict[str, DomainUser] = field(default_factory=dict)  # keyed by casefolded name
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> member user names
    exchange: ExchangeOrganization | None = None

    @property
    def dn(self) -> str:
        return ",".join(f"DC={label}" for label in self.name.split("."))

    def user(self, name: str) -> DomainUser | None:
        return self.users.get(name.rsplit("\\", maxsplit=1)[-1].casefold())

    def account(self, canonical: str) -> Account | None:
        prefix, _sep, user = canonical.partition("\\")
        if prefix.casefold() != self.netbios.casefold():
            return None
        u = self.user(user)
        return Account(f"{self.netbios}\\{u.name}", u.password, u.admin, True) if u else None

    def accounts(self) -> list[Account]:
        return [Account(f"{self.netbios}\\{u.name}", u.password, u.admin, True) for u in self.users.values()]

    def group_members(self, group: str) -> list[str] | None:
        return next((m for g, m in self.groups.items() if g.casefold() == group.casefold()), None)

    def groups_of(self, user: str) -> list[str]:
        return [g for g, members in self.groups.items() if user.casefold() in (m.split("\\")[-1].casefold() for m in members)]

    def exchange_server_dn(self, name: str) -> str:
        org = self.exchange
        if org is None:
            raise KeyError("the domain has no Exchange organisation")
        return (
            f"CN={name},CN=Servers,CN={org.admin_group},CN=Administrative Groups,CN={org.organization},"
            f"CN=Microsoft Exchange,CN=Services,CN=Configuration,{self.dn}"
        )

    def exchange_server_attributes(self, name: str) -> dict[str, Any] | None:
        """The AD attributes the collection reads from an Exchange server object (None if there is no such object)."""
        org = self.exchange
        server = org.servers.get(name.upper()) if org else None
        if server is None:
            return None
        attrs = {
            "name": server.name,
            "distinguishedName": self.exchange_server_dn(server.name),
            "msExchCurrentServerRoles": server.role_bits(),
            "msExchInstallPath": server.install_path,
            "serialNumber": [server.display_version()],
            "AdminDisplayVersion": server.display_version(),
            "edition": server.edition,
            "roles": list(server.roles),
            "version": server.version,
        }
        dag = exchange_dag.dag_of_server(org, server.name)
        if dag is not None:  # the server object's link to its DAG (ServerSchema.DatabaseAvailabilityGroup)
            attrs["msExchMDBAvailabilityGroupLink"] = exchange_dag.dag_distinguished_name(self.dn, org.organization, org.admin_group, dag.name)
        if not server.roles:
            del attrs["msExchCurrentServerRoles"]  # an attribute without a value is not on the object (LDAP returns none)
        return attrs

    def reset_computer(self, name: str) -> None:
        """Reset (never delete) a computer account, as the recovery procedure requires."""
        self.computers[name.upper()].password_resets += 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Domain:
        ex = d.get("exchange")
        org = None
        if ex:
            org = ExchangeOrganization(
                ex["organization"],
                ex.get("admin_group", DEFAULT_ADMIN_GROUP),
                {k: ExchangeServerObject(**v) for k, v in ex.get("servers", {}).items()},
                bool(ex.get("scripting_agent_enabled", False)),
                {k: exchange_model.storage_group_from_dict(v) for k, v in ex.get("storage_groups", {}).items()},
                {k: exchange_model.database_from_dict(v) for k, v in ex.get("databases", {}).items()},
                {k: exchange_model.mailbox_from_dict(v) for k, v in ex.get("mailboxes", {}).items()},
                {k: exchange_model.dag_from_dict(v) for k, v in ex.get("dags", {}).items()},
                {k: dict(v) for k, v in ex.get("edge_subscriptions", {}).items()},
                [dict(d) for d in ex.get("accepted_domains", [])],
                {k: dict(v) for k, v in ex.get("restore_requests", {}).items()},
            )
        return cls(
            name=d["name"],
            netbios=d["netbios"],
            computers={k: ComputerAccount(**v) for k, v in d.get("computers", {}).items()},
            users={k: DomainUser(**v) for k, v in d.get("users", {}).items()},
            groups={k: list(v) for k, v in d.get("groups", {}).items()},
            exchange=org,
        )


# -- configuration -----------------------------------------------------------------------------------------------------------
@dataclass
class HostConfig:
    name: str
    address: str  # "auto" until resolved
    os: dict[str, Any]
    domain_joined: bool
    accounts: dict[str, dict[str, Any]]  # local accounts: name -> {password, admin}
    drives: dict[str, dict[str, Any]]
    seed: dict[str, Any]
    faults: list[Fault]
    groups: list[str]


@dataclass
class EstateConfig:
    name: str
    time_scale: float
    reboot_seconds: float
    allow_unencrypted: bool
    domain: Domain | None
    shares: dict[str, dict[str, str]]  # share name -> {host, path, description}
    hosts: dict[str, HostConfig]  # keyed by the name as written
    raw: dict[str, Any]  # the YAML document (addresses resolved by resolve_addresses)

    def host_config(self, name: str) -> HostConfig:
        for key, cfg in self.hosts.items():
            if key.casefold() == name.casefold():
                return cfg
        raise KeyError(f"no host {name!r} in estate {self.name!r}")


def load_config(source: str | Path | dict[str, Any]) -> EstateConfig:
    """Read and validate an estate (a YAML file path or an already-parsed mapping)."""
    if isinstance(source, dict):
        raw = source
    else:
        try:
            raw = yaml.safe_load(Path(source).read_text())
        except yaml.YAMLError as e:
            raise EstateError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise EstateError("estate: the document must be a mapping")
    return _parse(json.loads(json.dumps(raw, default=str)))


_TOP_KEYS = {"name", "time_scale", "reboot_seconds", "allow_unencrypted", "domain", "shares", "hosts"}
_HOST_KEYS = {"address", "os", "domain_joined", "accounts", "drives", "state", "faults", "groups"}


def _check_keys(where: str, d: Any, allowed: set[str], required: tuple[str, ...] = ()) -> None:
    if not isinstance(d, dict):
        raise EstateError(f"{where}: expected a mapping, got {type(d).__name__}")
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise EstateError(f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in d:
            raise EstateError(f"{where}.{key}: required")


def _number(where: str, value: Any, minimum: float, exclusive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EstateError(f"{where}: expected a number, got {value!r}")
    if value < minimum or (exclusive and value == minimum):
        raise EstateError(f"{where}: must be {'>' if exclusive else '>='} {minimum}, got {value!r}")
    return float(value)


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise EstateError(f"{where}: expected true or false, got {value!r}")
    return value


def _parse(raw: dict[str, Any]) -> EstateConfig:
    _check_keys("estate", raw, _TOP_KEYS, ("name", "hosts"))
    if not isinstance(raw["hosts"], dict) or not raw["hosts"]:
        raise EstateError("hosts: at least one host is required")
    domain = _parse_domain(raw.get("domain"), raw["hosts"]) if raw.get("domain") else None
    hosts = {name: _parse_host(name, spec or {}, domain) for name, spec in raw["hosts"].items()}
    _check_unique_addresses(hosts)
    shares = _parse_shares(raw.get("shares") or {}, hosts)
    if domain:
        _merge_domain_accounts(raw["hosts"], domain)
        for name, cfg in hosts.items():
            if cfg.domain_joined and name.upper() not in domain.computers:
                raise EstateError(f"hosts.{name}.domain_joined: true, but {name} has no computer account in domain.computers")
    return EstateConfig(
        name=str(raw["name"]),
        time_scale=_number("time_scale", raw.get("time_scale", 1.0), 0, exclusive=True),
        reboot_seconds=_number("reboot_seconds", raw.get("reboot_seconds", 20), 0),
        allow_unencrypted=_bool("allow_unencrypted", raw.get("allow_unencrypted", False)),
        domain=domain,
        shares=shares,
        hosts=hosts,
        raw=raw,
    )


def _parse_domain(d: Any, hosts: dict[str, Any]) -> Domain:
    _check_keys("domain", d, {"name", "netbios", "computers", "users", "groups", "exchange"}, ("name",))
    name = str(d["name"])
    if "." not in name:
        raise EstateError(f"domain.name: expected a DNS name such as contoso.local, got {name!r}")
    netbios = str(d.get("netbios") or name.split(".", maxsplit=1)[0].upper())
    computers_raw = d.get("computers")
    if computers_raw is None:
        computers_raw = [h for h, spec in hosts.items() if (spec or {}).get("domain_joined", True)]
    if not isinstance(computers_raw, list):
        raise EstateError("domain.computers: expected a list of computer names")
    computers = {str(c).upper(): ComputerAccount(str(c).upper()) for c in computers_raw}
    users = {}
    for uname, spec in (d.get("users") or {}).items():
        _check_keys(f"domain.users.{uname}", spec, {"password", "admin"}, ("password",))
        users[str(uname).casefold()] = DomainUser(str(uname), str(spec["password"]), bool(spec.get("admin", False)))
    groups = d.get("groups") or {}
    for g, members in groups.items():
        if not isinstance(members, list):
            raise EstateError(f"domain.groups.{g}: expected a list of member names")
    exchange = _parse_exchange(d["exchange"]) if d.get("exchange") else None
    return Domain(name, netbios, computers, users, {str(g): [str(m) for m in ms] for g, ms in groups.items()}, exchange)


def _parse_exchange(ex: Any) -> ExchangeOrganization:
    _check_keys(
        "domain.exchange",
        ex,
        {
            "organization",
            "admin_group",
            "servers",
            "scripting_agent_enabled",
            "storage_groups",
            "databases",
            "mailboxes",
            "dags",
            "edge_subscriptions",
            "accepted_domains",
        },
        ("organization",),
    )
    servers = {}
    for sname, spec in (ex.get("servers") or {}).items():
        where = f"domain.exchange.servers.{sname}"
        _check_keys(where, spec, {"version", "roles", "install_path", "edition", "admin_display_version", "site"}, ("version", "roles"))
        version = str(spec["version"])
        if not re.fullmatch(r"(15\.[0-2]|14\.[0-3]|8\.[0-3])\.\d+\.\d+", version):
            raise EstateError(f"{where}.version: expected an Exchange 2013+ build such as 15.2.1118.7 (or 2007/2010: 8.x, 14.x), got {version!r}")
        roles = spec["roles"]  # [] is an object with no role recorded: msExchCurrentServerRoles has no value
        allowed = EXCHANGE_ROLES if version.startswith("15.") else LEGACY_EXCHANGE_ROLES
        if not isinstance(roles, list) or any(r not in allowed for r in roles):
            raise EstateError(f"{where}.roles: expected a list of {', '.join(allowed)}, got {roles!r}")
        servers[str(sname).upper()] = ExchangeServerObject(
            name=str(sname).upper(),
            version=version,
            roles=[str(r) for r in roles],
            install_path=str(spec.get("install_path", ExchangeServerObject.install_path)),
            edition=str(spec.get("edition", "Standard")),
            admin_display_version=spec.get("admin_display_version"),
            site=str(spec.get("site", ExchangeServerObject.site)),
        )
    agent = _bool("domain.exchange.scripting_agent_enabled", ex.get("scripting_agent_enabled", False))
    builds = {name: s.version for name, s in servers.items()}
    try:
        groups = exchange_model.parse_storage_groups(ex.get("storage_groups"), builds)
        databases = exchange_model.parse_databases(ex.get("databases"), str(ex["organization"]), builds, groups)
        mailboxes = exchange_model.parse_mailboxes(ex.get("mailboxes"), str(ex["organization"]), databases)
        dags = exchange_model.parse_dags(ex.get("dags"), builds, str(ex["organization"]))
        exchange_dag.check_copies(dags, databases)
    except exchange_model.ModelError as e:
        raise EstateError(str(e)) from None
    subscriptions = _parse_edge_subscriptions(ex.get("edge_subscriptions"), servers)
    accepted = ex.get("accepted_domains") or []
    for i, d in enumerate(accepted):
        _check_keys(f"domain.exchange.accepted_domains[{i}]", d, {"Name", "DomainName", "DomainType"}, ("Name", "DomainName"))
    return ExchangeOrganization(
        str(ex["organization"]),
        str(ex.get("admin_group", DEFAULT_ADMIN_GROUP)),
        servers,
        agent,
        groups,
        databases,
        mailboxes,
        dags=dags,
        edge_subscriptions=subscriptions,
        accepted_domains=[dict(d) for d in accepted],
    )


def _parse_edge_subscriptions(raw: Any, servers: dict[str, ExchangeServerObject]) -> dict[str, dict[str, Any]]:
    """domain.exchange.edge_subscriptions: {EDGE01: {site, certificate}} - an Edge subscribed before the estate's story."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in (raw or {}).items():
        where = f"domain.exchange.edge_subscriptions.{name}"
        _check_keys(where, spec, {"site", "certificate"}, ("certificate",))
        sites = {s.site for s in servers.values()} | {ExchangeServerObject.site}
        site = str(spec.get("site", ExchangeServerObject.site))
        if site not in sites:
            raise EstateError(f"{where}.site: {site!r} is not the site of any Exchange server ({', '.join(sorted(sites))})")
        out[str(name).upper()] = {
            "site": site, "edge_fqdn": None, "certificate": str(spec["certificate"]), "esbra_user": None, "esbra_password": None,
            "created": None, "last_sync": None, "status": "Normal", "failure": None,
        }  # fmt: skip
    return out


def _parse_host(name: str, spec: dict[str, Any], domain: Domain | None) -> HostConfig:
    where = f"hosts.{name}"
    if not _NETBIOS_NAME.match(str(name)):
        raise EstateError(f"{where}: a host name must be a NetBIOS name (letters, digits, '-', at most 15 characters)")
    _check_keys(where, spec, _HOST_KEYS, ("accounts",))
    address = str(spec.get("address", "auto"))
    if address != "auto":
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            raise EstateError(f"{where}.address: expected an IPv4 address or 'auto', got {address!r}") from None
        if not ip.is_loopback:
            raise EstateError(f"{where}.address: simulated hosts listen on loopback addresses (127.x.y.z) or 'auto', got {address!r}")
    os_cfg = spec.get("os") or {}
    _check_keys(f"{where}.os", os_cfg, {"version", "caption", "edition", "installation_type", "ubr", "net_release"})
    try:
        os_full = baseline.os_defaults(os_cfg)
    except ValueError as e:
        raise EstateError(f"{where}.os.version: {e}") from None
    if os_full["installation_type"] not in ("Server", "Server Core"):
        raise EstateError(f"{where}.os.installation_type: expected 'Server' or 'Server Core'")
    joined = _bool(f"{where}.domain_joined", spec.get("domain_joined", domain is not None))
    if joined and domain is None:
        raise EstateError(f"{where}.domain_joined: true needs a domain section")
    accounts = _parse_accounts(where, spec["accounts"])
    drives = spec.get("drives") or {"C": {"size_gb": 100, "free_gb": 60}}
    if not isinstance(drives, dict) or "C" not in {str(k).upper() for k in drives}:
        raise EstateError(f"{where}.drives: a mapping of drive letters that includes C")
    for letter, d in drives.items():
        if not re.fullmatch(r"[A-Za-z]", str(letter)):
            raise EstateError(f"{where}.drives.{letter}: drive names are single letters")
        _check_keys(f"{where}.drives.{letter}", d, {"size_gb", "free_gb", "label"})
        size = _number(f"{where}.drives.{letter}.size_gb", d.get("size_gb", 100), 0, exclusive=True)
        if _number(f"{where}.drives.{letter}.free_gb", d.get("free_gb", size * 0.6), 0) > size:
            raise EstateError(f"{where}.drives.{letter}.free_gb: larger than size_gb")
    seed = spec.get("state") or {}
    unknown = sorted(set(seed) - set(baseline.SEED_KEYS)) if isinstance(seed, dict) else ["(not a mapping)"]
    if unknown:
        raise EstateError(f"{where}.state.{unknown[0]}: unknown key (allowed: {', '.join(baseline.SEED_KEYS)})")
    if isinstance(seed, dict) and seed.get("exchange_config") is not None:
        from simulator.exchange import server_config

        problem = server_config.validate_seed(f"{where}.state.exchange_config", seed["exchange_config"])
        if problem:
            raise EstateError(problem)
    if isinstance(seed, dict) and seed.get("transport") is not None:
        from simulator.exchange import transport as transport_model

        problem = transport_model.validate_seed(f"{where}.state.transport", seed["transport"])
        if problem:
            raise EstateError(problem)
    if isinstance(seed, dict) and seed.get("edge") is not None:
        from simulator.exchange import edge as edge_model

        problem = edge_model.validate_seed(f"{where}.state.edge", seed["edge"])
        if problem:
            raise EstateError(problem)
    if isinstance(seed, dict) and (seed.get("exchange_databases") is not None or seed.get("ese_files") is not None):
        from simulator.exchange.store import validate_seed

        problem = validate_seed(f"{where}.state", seed, domain, name)
        if problem:
            raise EstateError(problem)
    faults = []
    for i, f in enumerate(spec.get("faults") or []):
        try:
            faults.append(fault_from_dict(f, default_host=name))
        except ValueError as e:
            raise EstateError(f"{where}.faults[{i}]: {e}") from None
    groups = spec.get("groups") or []
    if not isinstance(groups, list):
        raise EstateError(f"{where}.groups: expected a list of inventory group names")
    return HostConfig(name, address, os_full, joined, accounts, {str(k).upper(): v for k, v in drives.items()}, seed, faults, [str(g) for g in groups])


def _parse_accounts(where: str, accounts: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(accounts, dict) or not accounts:
        raise EstateError(f"{where}.accounts: at least one account (name: {{password: ..., admin: true}})")
    out = {}
    for user, spec in accounts.items():
        _check_keys(f"{where}.accounts.{user}", spec, {"password", "admin"}, ("password",))
        out[str(user)] = {"password": str(spec["password"]), "admin": bool(spec.get("admin", False))}
    if not any(a["admin"] for a in out.values()):
        raise EstateError(f"{where}.accounts: needs an account with admin: true (Ansible connects as an administrator)")
    return out


def _merge_domain_accounts(hosts_raw: dict[str, Any], domain: Domain) -> None:
    """Accounts written DOMAIN\\user on a host are domain accounts: they join domain.users (one password per account)."""
    for hname, spec in hosts_raw.items():
        for user, acct in (spec or {}).get("accounts", {}).items():
            prefix, sep, bare = str(user).partition("\\")
            if not sep or prefix.casefold() not in (domain.netbios.casefold(), domain.name.casefold()):
                continue
            existing = domain.user(bare)
            if existing is None:
                domain.users[bare.casefold()] = DomainUser(bare, str(acct["password"]), bool(acct.get("admin", False)))
            elif existing.password != str(acct["password"]):
                raise EstateError(f"hosts.{hname}.accounts.{user}.password: differs from the domain account's password")


def _check_unique_addresses(hosts: dict[str, HostConfig]) -> None:
    seen: dict[str, str] = {}
    for name, cfg in hosts.items():
        if cfg.address != "auto":
            if cfg.address in seen:
                raise EstateError(f"hosts.{name}.address: {cfg.address} is also {seen[cfg.address]}'s address")
            seen[cfg.address] = name


def _parse_shares(shares: Any, hosts: dict[str, HostConfig]) -> dict[str, dict[str, str]]:
    if not isinstance(shares, dict):
        raise EstateError("shares: expected a mapping of share name -> {host, path}")
    names = {h.casefold(): h for h in hosts}
    out = {}
    for share, spec in shares.items():
        _check_keys(f"shares.{share}", spec, {"host", "path", "description"}, ("host", "path"))
        if str(spec["host"]).casefold() not in names:
            raise EstateError(f"shares.{share}.host: no host named {spec['host']!r}")
        if not re.match(r"^[A-Za-z]:\\", str(spec["path"])):
            raise EstateError(f"shares.{share}.path: expected a local path such as D:\\Backups, got {spec['path']!r}")
        out[str(share)] = {"host": names[str(spec["host"]).casefold()], "path": str(spec["path"]), "description": str(spec.get("description", ""))}
    return out


# -- addresses ---------------------------------------------------------------------------------------------------------------
def can_bind(address: str, ports: tuple[int, ...] = WINRM_PORTS) -> bool:
    """Can a listener bind every port on this address (as the server will, with SO_REUSEADDR)?"""
    socks = []
    try:
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            s.listen(1)
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def pick_address(taken: set[str], rng: random.Random | None = None) -> str:
    """A random 127.x.y.z in AUTO_NETWORK where 5985 and 5986 can be bound."""
    rng = rng or random.SystemRandom()
    first, size = int(AUTO_NETWORK.network_address), AUTO_NETWORK.num_addresses
    for _attempt in range(200):
        candidate = str(ipaddress.ip_address(first + rng.randrange(1, size - 1)))
        if candidate not in taken and not candidate.endswith((".0", ".255")) and can_bind(candidate):
            return candidate
    raise OSError(f"no free address in {AUTO_NETWORK} where ports {WINRM_PORTS} can be bound")


def resolve_addresses(config: EstateConfig, previous: dict[str, str] | None = None) -> None:
    """Give every `auto` host an address: the one it had in this state folder if still free, else a new random one."""
    taken = {c.address for c in config.hosts.values() if c.address != "auto"}
    for name, cfg in config.hosts.items():
        if cfg.address != "auto":
            continue
        old = (previous or {}).get(name)
        cfg.address = old if old and old not in taken and can_bind(old) else pick_address(taken)
        taken.add(cfg.address)
        config.raw["hosts"][name] = {**(config.raw["hosts"][name] or {}), "address": cfg.address}


# -- the estate --------------------------------------------------------------------------------------------------------------
class Estate:
    """The hosts of an estate and what they share, bound to a state folder (or to memory-only hosts when state_dir is None)."""

    def __init__(self, config: EstateConfig, state_dir: Path, *, writable: bool = True, autosave: bool = True, wall: VirtualWall | None = None) -> None:
        """`autosave`: hosts write state.json after every change (handy in unit tests); a server turns it off and saves
        after every WinRM command and from a background flusher instead (flush()). `wall`: the clock's source of real
        time (clock.VirtualWall in unit tests; default the system clock)."""
        self.config = config
        self.state_dir = Path(state_dir)
        self.writable = writable
        self.autosave = autosave and writable
        clock_path = self.state_dir / "clock.json"
        self.clock = Clock.load(clock_path, config.time_scale, wall=wall)
        if not writable:
            self.clock._path = None
        self.faults = FaultSet.for_state_dir(self.state_dir)
        self.domain = self._load_domain()
        self._hosts: dict[str, Host] = {}

    # -- opening -----------------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, state_dir: str | Path, *, writable: bool = True, autosave: bool = True) -> Estate:
        """The estate of a prepared state folder (DIR/estate.yml); hosts load on first use."""
        state_dir = Path(state_dir)
        if not (state_dir / "estate.yml").exists():
            raise FileNotFoundError(f"{state_dir}: not a simulator state folder (no estate.yml); run `start` first")
        return cls(load_config(state_dir / "estate.yml"), state_dir, writable=writable, autosave=autosave)

    def _load_domain(self) -> Domain | None:
        path = self.state_dir / "domain.json"
        if path.exists():
            return Domain.from_dict(json.loads(path.read_text()))
        domain = self.config.domain
        if domain is not None and self.writable:
            atomic_write_text(path, json.dumps(domain.to_dict(), indent=1))
        return domain

    def save_domain(self) -> None:
        """Persist domain changes (computer account resets, Exchange server objects)."""
        if self.domain is not None and self.writable:
            atomic_write_text(self.state_dir / "domain.json", json.dumps(self.domain.to_dict(), indent=1))

    # -- hosts -------------------------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def allow_unencrypted(self) -> bool:
        return self.config.allow_unencrypted

    @property
    def reboot_seconds(self) -> float:
        return self.config.reboot_seconds

    @property
    def hosts(self) -> dict[str, Host]:
        """Every host, keyed by its name as written in the estate (loaded or created on first use)."""
        return {name: self.host(name) for name in self.config.hosts}

    def host(self, name: str) -> Host:
        cfg = self.config.host_config(name)
        host = self._hosts.get(cfg.name)
        if host is None:
            host = self._hosts[cfg.name] = self._open_host(cfg)
        return host

    def _open_host(self, cfg: HostConfig) -> Host:
        root = self.state_dir / "hosts" / cfg.name
        kwargs = {"estate": self, "clock": self.clock, "faults": self.faults, "reboot_seconds": self.reboot_seconds, "autosave": self.autosave}
        if (root / "state.json").exists():
            host = Host.load(root, **kwargs)
            host.tick()
            return host
        if not self.writable:
            raise FileNotFoundError(f"{root}: host {cfg.name} has no state yet (start the estate first)")
        return self._create_host(cfg, root, kwargs)

    def _create_host(self, cfg: HostConfig, root: Path, kwargs: dict[str, Any]) -> Host:
        state = HostState(name=cfg.name, os=dict(cfg.os), domain_joined=cfg.domain_joined)
        for user, spec in cfg.accounts.items():
            if "\\" in user and self.domain and user.split("\\")[0].casefold() in (self.domain.netbios.casefold(), self.domain.name.casefold()):
                continue  # a domain account: lives in the domain
            bare = user.split("\\")[-1]
            state.accounts[f"{cfg.name}\\{bare}".casefold()] = Account(f"{cfg.name}\\{bare}", spec["password"], spec["admin"], False)
        # faults apply at run time, not while the baseline and seed are laid down
        host = Host(state, root, **{**kwargs, "autosave": False, "faults": None})
        self._hosts[cfg.name] = host
        now = self.clock.now()
        state.boot_time = self.clock.time()
        baseline.build(host, cfg.drives, now)
        host.write_event("System", "EventLog", 6005, "Information", "The Event log service was started.", time=state.boot_time)
        if cfg.seed:
            baseline.apply_seed(host, cfg.seed)
        host.faults = self.faults
        host.autosave = self.autosave
        host._dirty = True
        host.save()
        return host

    def create_all(self) -> None:
        """Create every host that has no state yet: all baselines first, then the seeds (a seed may write to another
        host's share)."""
        pending = [cfg for cfg in self.config.hosts.values() if not (self.state_dir / "hosts" / cfg.name / "state.json").exists()]
        seeds = {}
        for cfg in pending:
            seeds[cfg.name], cfg.seed = cfg.seed, {}
            self.host(cfg.name)
        for cfg in pending:
            cfg.seed = seeds[cfg.name]
            if cfg.seed:
                host = self.host(cfg.name)
                host.faults = None
                try:
                    with host.mutating():
                        baseline.apply_seed(host, cfg.seed)
                finally:
                    host.faults = self.faults
                host.save()

    def address_of(self, name: str) -> str:
        return self.config.host_config(name).address

    def host_by_server_name(self, server: str) -> Host | None:
        """The host a UNC server name means: its name, FQDN or address."""
        s = server.casefold()
        for name, cfg in self.config.hosts.items():
            fqdn = f"{name}.{self.domain.name}".casefold() if self.domain else None
            if s in (name.casefold(), fqdn, cfg.address):
                return self.host(name)
        return None

    def share_path(self, host_name: str, share: str) -> str | None:
        for name, spec in self.config.shares.items():
            if name.casefold() == share.casefold() and spec["host"].casefold() == host_name.casefold():
                return spec["path"]
        return None

    def shares_of(self, host_name: str) -> dict[str, str]:
        return {n: s["path"] for n, s in self.config.shares.items() if s["host"].casefold() == host_name.casefold()}

    def tick(self) -> None:
        for host in self._hosts.values():
            host.tick()

    def flush(self) -> None:
        """Save every host with unsaved changes (and the clock)."""
        if not self.writable:
            return
        for host in list(self._hosts.values()):
            host.save()
        self.clock.save()


# -- state folder ------------------------------------------------------------------------------------------------------------
def prepare_state_dir(
    source: str | Path | dict[str, Any] | EstateConfig, state_dir: str | Path, *, force_auto: bool = False, wall: VirtualWall | None = None
) -> Estate:
    """Validate the estate, resolve addresses (keeping the ones this folder used before), write DIR/estate.yml, put the
    estate's faults into DIR/control.json the first time, and create the hosts that have no state yet. `wall`: see Estate."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    config = source if isinstance(source, EstateConfig) else load_config(source)
    if force_auto:
        for name, cfg in config.hosts.items():
            cfg.address = "auto"
            config.raw["hosts"][name] = {**(config.raw["hosts"][name] or {}), "address": "auto"}
    previous = _previous_addresses(state_dir)
    resolve_addresses(config, previous)
    atomic_write_text(state_dir / "estate.yml", yaml.safe_dump(config.raw, sort_keys=False, allow_unicode=True))
    if not (state_dir / "control.json").exists():
        FaultSet(state_dir / "control.json").replace_all([f for cfg in config.hosts.values() for f in cfg.faults])
    estate = Estate(config, state_dir, wall=wall)
    estate.create_all()
    return estate


def _previous_addresses(state_dir: Path) -> dict[str, str]:
    try:
        old = yaml.safe_load((state_dir / "estate.yml").read_text())
    except FileNotFoundError:
        return {}
    return {name: str(spec.get("address")) for name, spec in (old.get("hosts") or {}).items() if spec and spec.get("address") not in (None, "auto")}


def load_host(state_dir: str | Path, name: str) -> Host:
    """A read-only copy of a host from DIR/hosts/<NAME>/state.json and its fs/ folder, without the server: for tests that
    check what a play did. Changes made to it are not saved (the server owns the state while it runs)."""
    return Estate.open(state_dir, writable=False).host(name)
