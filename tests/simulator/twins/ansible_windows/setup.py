"""ansible.windows.setup (gather_facts): the fact subsets of setup.ps1, computed from the host model.

Facts come from what the host models (name, domain membership, OS version/caption, address, boot time, pending
reboot flags, environment, clock, registry). Hardware the host does not model is reported as a Hyper-V guest with fixed
figures (2 vCPUs, 8 GB): enough for roles that branch on it, and stated here rather than hidden. ``facter`` is never
present; ``winrm`` certificate facts are omitted.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.twins import ModuleRun, twin

GROUPS = {
    "min": ["date_time", "distribution", "dns", "env", "local", "platform", "powershell_version", "user"],
    "network": ["all_ipv4_addresses", "all_ipv6_addresses", "interfaces", "windows_domain", "winrm"],
    "hardware": ["bios", "memory", "processor", "uptime", "virtual"],
    "external": ["facter"],
}
ALL = {name for members in GROUPS.values() for name in members}
_MEMORY_MB, _VCPUS = 8192, 2
_NT_CURRENT = "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"


@twin("ansible.windows.setup", raw_extras=True)
def setup(m: ModuleRun) -> None:
    major_minor = tuple(int(x) for x in _os_version(m.host).split(".")[:2])
    if major_minor < (10, 0):
        m.warn(f"The Windows version '{major_minor[0]}.{major_minor[1]}' is no longer supported or tested by Ansible.")
    wanted = _subsets(m, m.params["gather_subset"])
    facts: dict[str, Any] = {"gather_subset": m.params["gather_subset"], "module_setup": True}
    if m.params["_measure_subset"]:
        facts["measure_info"] = {}
    m.result["ansible_facts"] = facts
    for subsets, collect in _COLLECTORS:
        if wanted & set(subsets):
            collect(m, facts)


def _subsets(m: ModuleRun, requested: list[str]) -> set[str]:
    """setup.ps1's gather_subset arithmetic: start from all, apply !exclusions, add explicit ones back."""
    explicit: set[str] = set()
    exclude: set[str] = set()
    for item in requested:
        if item.startswith("!"):
            name = item[1:]
            if name == "all":
                exclude |= ALL - set(GROUPS["min"])
            elif name in GROUPS:
                exclude |= set(GROUPS[name])
            elif name in ALL:
                exclude.add(name)
        elif item in GROUPS or item == "all":
            explicit |= ALL if item == "all" else set(GROUPS[item])
        elif item in ALL:
            explicit.add(item)
        else:
            m.warn(f"invalid value {item} specified in gather_subset")
    return (ALL - exclude) | explicit


# ------------------------------------------------------------------------------------------------ subsets
def _ip_addresses(m: ModuleRun, facts: dict[str, Any]) -> None:
    facts["ansible_ip_addresses"] = [a for a in (_address(m.host), _ipv6(m.host)) if a not in ("127.0.0.1", "::1")]


def _bios(m: ModuleRun, facts: dict[str, Any]) -> None:
    facts.update(
        ansible_bios_date="11/26/2012",
        ansible_bios_version="Hyper-V UEFI Release v4.1",
        ansible_product_name="Virtual Machine",
        ansible_product_serial=_stable(m.host.name, "serial", 20).upper(),
        ansible_product_uuid=_uuid(m.host.name).upper(),
    )


def _date_time(m: ModuleRun, facts: dict[str, Any]) -> None:
    now = _now(m.host)
    facts["ansible_date_time"] = {
        "date": f"{now:%Y-%m-%d}",
        "day": f"{now:%d}",
        "epoch_local": str(int(now.timestamp())),
        "epoch": str(int(now.timestamp())),
        "epoch_int": round(now.timestamp()),
        "hour": f"{now:%H}",
        "iso8601": f"{now:%Y-%m-%dT%H:%M:%SZ}",
        "iso8601_basic": f"{now:%Y%m%dT%H%M%S%f}",
        "iso8601_basic_short": f"{now:%Y%m%dT%H%M%S}",
        "iso8601_micro": f"{now:%Y-%m-%dT%H:%M:%S.%fZ}",
        "minute": f"{now:%M}",
        "month": f"{now:%m}",
        "second": f"{now:%S}",
        "time": f"{now:%H:%M:%S}",
        "tz": "UTC",
        "tz_offset": "+00:00",
        "weekday": f"{now:%A}",
        "weekday_number": str(int(f"{now:%w}")),
        "weeknumber": f"{now:%W}",
        "year": f"{now:%Y}",
    }


def _distribution(m: ModuleRun, facts: dict[str, Any]) -> None:
    host = m.host
    version = _os_version(host)
    full = version if version.count(".") >= 3 else f"{version}.0"
    caption = _os(host).get("caption", "Microsoft Windows Server 2019 Datacenter")
    admin = _is_admin(host, m.user)
    facts.update(
        ansible_distribution=caption if admin else None,
        ansible_distribution_version=full,
        ansible_distribution_major_version=full.split(".", maxsplit=1)[0],
        ansible_os_family="Windows",
        ansible_os_name=caption if admin else None,
        ansible_os_product_type="domain_controller" if _os(host).get("domain_controller") else "server",
        ansible_os_installation_type=_reg(host, _NT_CURRENT, "InstallationType", _os(host).get("installation_type", "Server")),
        ansible_os_install_date=_install_date(host),
    )


def _env(m: ModuleRun, facts: dict[str, Any]) -> None:
    facts["ansible_env"] = {k: v.rstrip("\\") for k, v in m.env.items()}


def _interfaces(m: ModuleRun, facts: dict[str, Any]) -> None:
    host = m.host
    domain = _domain(host)
    facts["ansible_interfaces"] = [
        {
            "connection_name": "Ethernet",
            "default_gateway": None,
            "dns_domain": domain.name if domain else None,
            "interface_index": 6,
            "interface_name": "Microsoft Hyper-V Network Adapter",
            "ipv4": {"address": _address(host), "prefix": "8"},
            "ipv6": {"address": _ipv6(host), "prefix": "64"},
            "macaddress": _mac(host.name),
            "mtu": 1500,
            "speed": 10000,
        }
    ]


def _local(m: ModuleRun, facts: dict[str, Any]) -> None:
    path = m.params["fact_path"]
    if not path:
        return
    if not m.host.exists(path):
        m.warn(f"Non existing path was set for local facts - {path}")
        return
    import json

    for name in m.host.listdir(path):
        child = f"{path.rstrip(chr(92))}\\{name}"
        if m.host.is_dir(child) or not name.endswith(".json"):
            continue  # .ps1 fact scripts would need PowerShell, which the simulator does not run
        facts[f"ansible_{name[:-5]}"] = json.loads(m.host.read_bytes(child).decode("utf-8-sig"))


def _memory(m: ModuleRun, facts: dict[str, Any]) -> None:
    admin = _is_admin(m.host, m.user)
    facts.update(
        ansible_memtotal_mb=_MEMORY_MB,
        ansible_memfree_mb=_MEMORY_MB // 2,
        ansible_swaptotal_mb=0,
        ansible_pagefiletotal_mb=1280 if admin else None,
        ansible_pagefilefree_mb=1200 if admin else None,
    )


def _platform(m: ModuleRun, facts: dict[str, Any]) -> None:
    host = m.host
    domain = _domain(host)
    fqdn = f"{host.name}.{domain.name}" if domain else host.name
    admin = _is_admin(host, m.user)
    facts.update(
        ansible_domain=domain.name if domain else "",
        ansible_fqdn=fqdn,
        ansible_hostname=host.name,
        ansible_netbios_name=host.name.upper(),
        ansible_kernel=_os_version(host) if _os_version(host).count(".") >= 3 else f"{_os_version(host)}.0",
        ansible_nodename=fqdn,
        ansible_machine_id=_machine_sid(host.name),
        ansible_owner_name=_reg(host, _NT_CURRENT, "RegisteredOwner", "Windows User"),
        ansible_system="Win32NT",
        ansible_system_description="",
        ansible_system_vendor="Microsoft Corporation",
        ansible_architecture="64-bit" if admin else None,
        ansible_owner_contact="",
        ansible_reboot_pending=_reboot_pending(host),
        ansible_architecture2="x86_64",
    )


def _powershell(m: ModuleRun, facts: dict[str, Any]) -> None:
    facts["ansible_powershell_version"] = 5


def _processor(m: ModuleRun, facts: dict[str, Any]) -> None:
    cpu = "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz"
    facts.update(
        ansible_processor=[part for index in range(_VCPUS) for part in (str(index), "GenuineIntel", cpu)],
        ansible_processor_count=1,
        ansible_processor_vcpus=_VCPUS,
        ansible_processor_cores=_VCPUS,
        ansible_processor_threads_per_core=1,
    )


def _uptime(m: ModuleRun, facts: dict[str, Any]) -> None:
    boot = m.host.boot_time
    now = _now(m.host)
    facts["ansible_lastboot"] = f"{boot:%Y-%m-%d %H:%M:%S}Z"
    facts["ansible_uptime_seconds"] = round((now - boot).total_seconds())


def _user(m: ModuleRun, facts: dict[str, Any]) -> None:
    facts.update(
        ansible_user_dir=m.env.get("USERPROFILE"),
        ansible_user_gecos="",
        ansible_user_id=m.env.get("USERNAME"),
        ansible_user_sid=f"{_machine_sid(m.host.name)}-500" if m.env.get("USERNAME", "").lower() == "administrator" else _user_sid(m),
    )


def _windows_domain(m: ModuleRun, facts: dict[str, Any]) -> None:
    domain = _domain(m.host)
    controller = bool(_os(m.host).get("domain_controller"))
    facts.update(
        ansible_windows_domain=domain.name if domain else "WORKGROUP",
        ansible_windows_domain_member=domain is not None,
        ansible_windows_domain_role="Primary domain controller" if controller else "Member server" if domain else "Stand-alone server",
    )


def _virtual(m: ModuleRun, facts: dict[str, Any]) -> None:
    facts.update(ansible_virtualization_role="guest", ansible_virtualization_type="Hyper-V")


_COLLECTORS = [
    (("all_ipv4_addresses", "all_ipv6_addresses"), _ip_addresses),
    (("bios",), _bios),
    (("date_time",), _date_time),
    (("distribution",), _distribution),
    (("env",), _env),
    (("facter",), lambda m, facts: None),
    (("interfaces",), _interfaces),
    (("local",), _local),
    (("memory",), _memory),
    (("platform",), _platform),
    (("powershell_version",), _powershell),
    (("processor",), _processor),
    (("uptime",), _uptime),
    (("user",), _user),
    (("windows_domain",), _windows_domain),
    (("winrm",), lambda m, facts: None),
    (("virtual",), _virtual),
]


# ------------------------------------------------------------------------------------------------ host reads
def _os(host: Any) -> dict[str, Any]:
    state = getattr(host, "state", None)
    return dict(getattr(state, "os", None) or {})


def _os_version(host: Any) -> str:
    return str(getattr(host, "os_version", None) or _os(host).get("version", "10.0.17763"))


def _domain(host: Any) -> Any:
    return getattr(host, "domain", None)


def _address(host: Any) -> str:
    return str(getattr(host, "address", None) or "127.0.0.1")


def _ipv6(host: Any) -> str:
    digest = hashlib.sha1(host.name.lower().encode(), usedforsecurity=False).hexdigest()
    return f"fe80::{digest[0:4]}:{digest[4:8]}:{digest[8:12]}:{digest[12:16]}%6"


def _mac(name: str) -> str:
    digest = hashlib.sha1(name.lower().encode(), usedforsecurity=False).hexdigest()
    return "00:15:5D:" + ":".join(digest[i : i + 2].upper() for i in (0, 2, 4))


def _stable(name: str, salt: str, length: int) -> str:
    return hashlib.sha1(f"{salt}:{name.lower()}".encode(), usedforsecurity=False).hexdigest()[:length]


def _uuid(name: str) -> str:
    h = _stable(name, "uuid", 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _machine_sid(name: str) -> str:
    h = hashlib.sha1(f"sid:{name.lower()}".encode(), usedforsecurity=False).digest()
    parts = [int.from_bytes(h[i : i + 4], "little") for i in (0, 4, 8)]
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def _user_sid(m: ModuleRun) -> str:
    rid = 1000 + int(_stable(m.user, "rid", 4), 16) % 9000
    return f"{_machine_sid(m.host.name)}-{rid}"


def _is_admin(host: Any, user: str) -> bool:
    check = getattr(host, "is_admin", None)
    return bool(check(user)) if check else True


def _now(host: Any) -> datetime:
    clock = getattr(host, "clock", None)
    return datetime.fromtimestamp(clock.time() if clock else datetime.now(UTC).timestamp(), UTC)


def _reg(host: Any, path: str, name: str, default: Any) -> Any:
    value = host.reg_get_value(path, name)
    return default if value is None else value.data


def _install_date(host: Any) -> str | None:
    value = host.reg_get_value(_NT_CURRENT, "InstallTime")
    if value is None:
        return None
    when = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value.data) // 10)
    return f"{when:%Y-%m-%dT%H:%M:%SZ}"


def _reboot_pending(host: Any) -> bool:
    flags = host.pending_reboot() if hasattr(host, "pending_reboot") else {}
    # setup.ps1 reads PendingFileRenameOperations, the CBS RebootPending key and Server Manager's RestartRequired.
    return bool(flags.get("pending_file_rename") or flags.get("component_based_servicing"))
