"""The persisted state of one simulated host: plain dataclasses that round-trip through JSON (state.json).

Files live on disk under the host's fs/ folder; only their non-default metadata (attributes, ACLs) is kept here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATE_VERSION = 1

# FILE_ATTRIBUTE_* flags (winnt.h)
ATTRIBUTES: dict[str, int] = {
    "ReadOnly": 0x1,
    "Hidden": 0x2,
    "System": 0x4,
    "Directory": 0x10,
    "Archive": 0x20,
    "Normal": 0x80,
    "Temporary": 0x100,
    "SparseFile": 0x200,
    "ReparsePoint": 0x400,
    "Compressed": 0x800,
    "Offline": 0x1000,
    "NotContentIndexed": 0x2000,
    "Encrypted": 0x4000,
}

REG_TYPES = ("REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_MULTI_SZ", "REG_QWORD")
START_MODES = ("auto", "delayed", "manual", "disabled")
SERVICE_STATES = ("stopped", "start_pending", "stop_pending", "running", "paused")
EVENT_LEVELS = ("Information", "Warning", "Error", "Critical", "Verbose")


def attribute_names(flags: int) -> list[str]:
    """Names of the set flags, in the order [IO.FileAttributes] prints them."""
    return [n for n, v in ATTRIBUTES.items() if flags & v]


def attribute_flags(names: list[str] | str | int) -> int:
    if isinstance(names, int):
        return names
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    lookup = {k.casefold(): v for k, v in ATTRIBUTES.items()}
    flags = 0
    for n in names:
        if n.casefold() not in lookup:
            raise ValueError(f"unknown file attribute {n!r}; known: {', '.join(ATTRIBUTES)}")
        flags |= lookup[n.casefold()]
    return flags


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# -- files ---------------------------------------------------------------------------------------------------------------
@dataclass
class AccessRule:
    """One ACE in a simple model: who, which FileSystemRights, Allow or Deny. `inherited` is set on effective views only."""

    identity: str
    rights: list[str]
    type: str = "Allow"
    inherited: bool = False


@dataclass
class FileMeta:
    attributes: int | None = None  # explicit FILE_ATTRIBUTE_* flags (Directory bit excluded); None = default
    acl: list[AccessRule] | None = None  # explicit ACEs; None = only inherited ones
    acl_protected: bool = False  # inheritance disabled
    owner: str | None = None


@dataclass
class FileInfo:
    path: str  # normalised Windows path, real case of existing segments
    name: str
    is_dir: bool
    size: int
    mtime: datetime
    ctime: datetime
    atime: datetime
    attributes: int

    @property
    def attribute_names(self) -> list[str]:
        return attribute_names(self.attributes)


@dataclass
class Drive:
    letter: str
    size_bytes: int
    used_bytes: int
    label: str = ""
    filesystem: str = "NTFS"

    @property
    def free_bytes(self) -> int:
        return max(0, self.size_bytes - self.used_bytes)


# -- registry ------------------------------------------------------------------------------------------------------------
@dataclass
class RegValue:
    name: str  # "" is the key's default value
    type: str
    data: Any  # str | int | list[str] | bytes


@dataclass
class RegKey:
    name: str
    values: dict[str, RegValue] = field(default_factory=dict)  # keyed by casefolded name
    subkeys: dict[str, RegKey] = field(default_factory=dict)  # keyed by casefolded name
    mtime: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mtime": self.mtime,
            "values": [_value_to_json(v) for v in self.values.values()],
            "subkeys": [k.to_dict() for k in self.subkeys.values()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegKey:
        key = cls(name=d["name"], mtime=d.get("mtime", 0.0))
        for v in d.get("values", []):
            val = _value_from_json(v)
            key.values[val.name.casefold()] = val
        for k in d.get("subkeys", []):
            sub = cls.from_dict(k)
            key.subkeys[sub.name.casefold()] = sub
        return key


def _value_to_json(v: RegValue) -> dict[str, Any]:
    data = base64.b64encode(v.data).decode() if isinstance(v.data, bytes | bytearray) else v.data
    return {"name": v.name, "type": v.type, "data": data}


def _value_from_json(d: dict[str, Any]) -> RegValue:
    data = d["data"]
    if d["type"] in ("REG_BINARY", "REG_NONE"):
        data = base64.b64decode(data)
    return RegValue(name=d["name"], type=d["type"], data=data)


@dataclass(frozen=True)
class RegKeyInfo:
    """A snapshot of a key, safe to hand out (changes go through the Host methods)."""

    path: str
    name: str
    values: tuple[RegValue, ...]
    subkeys: tuple[str, ...]
    mtime: float

    def value(self, name: str | None) -> RegValue | None:
        want = (name or "").casefold()
        return next((v for v in self.values if v.name.casefold() == want), None)


# -- services, products, features, events --------------------------------------------------------------------------------
@dataclass
class Service:
    name: str
    display_name: str
    path: str = ""
    start_mode: str = "manual"  # auto | delayed | manual | disabled
    state: str = "stopped"  # stopped | start_pending | stop_pending | running | paused
    account: str = "LocalSystem"
    dependencies: list[str] = field(default_factory=list)
    start_seconds: float = 0.0  # simulated time from StartService to RUNNING
    description: str = ""
    exit_code: int = 0  # Win32ExitCode of the last stop
    can_pause: bool = False
    service_type: str = "win32_own_process"
    crash_count: int = 0
    password: str | None = None  # kept as given (a later logon-failure fault can check it)


@dataclass
class Product:
    """An installed product as the Uninstall registry key describes it (the source of truth is the registry)."""

    code: str  # MSI ProductCode '{GUID}' or another Uninstall key name
    name: str
    version: str = ""
    publisher: str = ""
    install_location: str = ""
    install_date: str = ""  # yyyymmdd, as Windows Installer writes it
    msi: bool = True
    arch: str = "x64"  # x64 | x86 (x86 lives under WOW6432Node)
    uninstall_string: str = ""
    quiet_uninstall_string: str = ""
    size_kb: int = 0
    no_modify: bool = False  # ARPNOMODIFY: Windows Installer then records a removing UninstallString (/X) instead of /I


@dataclass
class Feature:
    name: str
    display_name: str
    feature_type: str  # Role | Role Service | Feature
    parent: str | None
    sub_features: list[str]
    installed: bool
    install_state: str  # Installed | Available | InstallPending | UninstallPending | Removed
    reboot_on_install: bool = False
    reboot_on_remove: bool = False


@dataclass
class FeatureChange:
    name: str
    display_name: str
    reboot_required: bool
    message: str = ""


@dataclass
class FeatureResult:
    """What Install-/Uninstall-WindowsFeature reports."""

    success: bool
    exit_code: str  # Success | NoChangeNeeded | SuccessRestartRequired | Failed
    reboot_required: bool
    changes: list[FeatureChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class Event:
    record_id: int
    log: str
    source: str
    event_id: int
    level: str
    message: str
    time: float  # simulated POSIX seconds

    @property
    def datetime(self) -> datetime:
        return utc(self.time)


@dataclass
class Timer:
    """A transition due at a simulated time (boot, a service reaching RUNNING...), applied lazily in time order."""

    at: float
    kind: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Account:
    name: str  # 'EX01\\Administrator' or 'CONTOSO\\svc-crm'
    password: str
    admin: bool = False
    domain: bool = False  # a domain account (valid on every domain-joined host)

    @property
    def user(self) -> str:
        return self.name.split("\\", 1)[-1]


@dataclass
class HostState:
    name: str
    os: dict[str, Any]
    domain_joined: bool = False
    accounts: dict[str, Account] = field(default_factory=dict)  # keyed by casefolded 'DOMAIN\\user'
    drives: dict[str, Drive] = field(default_factory=dict)
    files_meta: dict[str, FileMeta] = field(default_factory=dict)  # keyed by WinPath.key
    registry: dict[str, RegKey] = field(default_factory=dict)  # hive name -> root key
    services: dict[str, Service] = field(default_factory=dict)  # keyed by casefolded name
    features_installed: list[str] = field(default_factory=list)
    features_pending: dict[str, str] = field(default_factory=dict)  # name -> install | remove (applied at boot)
    events: dict[str, list[Event]] = field(default_factory=dict)
    next_record: dict[str, int] = field(default_factory=dict)
    boot_time: float = 0.0
    power: str = "on"  # on | shutting_down | rebooting | off
    timers: list[Timer] = field(default_factory=list)
    on_boot: list[dict[str, Any]] = field(default_factory=list)  # {"hook": kind, "args": {...}}
    exchange: dict[str, Any] = field(default_factory=dict)  # the Information Store's runtime state (simulator/exchange/store.py)
    version: int = STATE_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (shallow conversions: this runs after every change, so it avoids dataclasses.asdict's deep copies)."""
        return {
            "name": self.name,
            "os": dict(self.os),
            "domain_joined": self.domain_joined,
            "accounts": {k: _fields(v) for k, v in self.accounts.items()},
            "drives": {k: _fields(v) for k, v in self.drives.items()},
            "files_meta": {k: _meta_to_json(v) for k, v in self.files_meta.items()},
            "registry": {h: k.to_dict() for h, k in self.registry.items()},
            "services": {k: _fields(v) for k, v in self.services.items()},
            "features_installed": list(self.features_installed),
            "features_pending": dict(self.features_pending),
            "events": {log: [_fields(e) for e in evs] for log, evs in self.events.items()},
            "next_record": dict(self.next_record),
            "boot_time": self.boot_time,
            "power": self.power,
            "timers": [_fields(t) for t in self.timers],
            "on_boot": list(self.on_boot),
            "exchange": dict(self.exchange),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HostState:
        return cls(
            name=d["name"],
            os=d["os"],
            domain_joined=d.get("domain_joined", False),
            accounts={k: Account(**v) for k, v in d.get("accounts", {}).items()},
            drives={k: Drive(**v) for k, v in d.get("drives", {}).items()},
            files_meta={k: _meta_from_json(v) for k, v in d.get("files_meta", {}).items()},
            registry={h: RegKey.from_dict(k) for h, k in d.get("registry", {}).items()},
            services={k: Service(**v) for k, v in d.get("services", {}).items()},
            features_installed=list(d.get("features_installed", [])),
            features_pending=dict(d.get("features_pending", {})),
            events={log: [Event(**e) for e in evs] for log, evs in d.get("events", {}).items()},
            next_record=dict(d.get("next_record", {})),
            boot_time=d.get("boot_time", 0.0),
            power=d.get("power", "on"),
            timers=[Timer(**t) for t in d.get("timers", [])],
            on_boot=list(d.get("on_boot", [])),
            exchange=dict(d.get("exchange", {})),
            version=d.get("version", STATE_VERSION),
        )


def _fields(obj: Any) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__dataclass_fields__}


def _meta_to_json(m: FileMeta) -> dict[str, Any]:
    out = _fields(m)
    if m.acl is not None:
        out["acl"] = [_fields(r) for r in m.acl]
    return out


def _meta_from_json(d: dict[str, Any]) -> FileMeta:
    acl = d.get("acl")
    return FileMeta(
        attributes=d.get("attributes"),
        acl=[AccessRule(**r) for r in acl] if acl is not None else None,
        acl_protected=d.get("acl_protected", False),
        owner=d.get("owner"),
    )
