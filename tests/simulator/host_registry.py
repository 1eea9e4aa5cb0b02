"""The registry of a simulated host: hives, case-insensitive case-preserving keys and typed values.

Paths accept the PowerShell provider forms (`HKLM:\\SOFTWARE\\x`, `Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\x`) and the Win32
forms (`HKLM\\SOFTWARE\\x`, `HKEY_LOCAL_MACHINE\\SOFTWARE\\x`). HKCR is modelled as its machine part, HKLM\\SOFTWARE\\Classes
(the per-user overlay is not modelled); HKCU is one tree for the connecting administrator.

The Service Control Manager keeps each service's configuration under HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>. Here
the services are Service objects (host_services.py), so that key is a read-only view of them: Start (0 boot, 1 system, 2 auto,
3 demand, 4 disabled), DelayedAutostart (1 for a delayed automatic start), Type, ErrorControl, ImagePath, DisplayName,
ObjectName and DependOnService, over whatever was written to the key itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.hoststate import REG_TYPES, RegKey, RegKeyInfo, RegValue
from simulator.winerror import ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_INVALID_PARAMETER, WinError

if TYPE_CHECKING:
    from simulator.host import Host

HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKEY_CURRENT_USER": "HKEY_CURRENT_USER",
    "HKU": "HKEY_USERS",
    "HKEY_USERS": "HKEY_USERS",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKEY_CLASSES_ROOT": "HKEY_CLASSES_ROOT",
    "HKCC": "HKEY_CURRENT_CONFIG",
    "HKEY_CURRENT_CONFIG": "HKEY_CURRENT_CONFIG",
}
# views that are another key's content (HKCR: the machine classes; HKCC: the current hardware profile)
_REDIRECTS = {
    "HKEY_CLASSES_ROOT": ("HKEY_LOCAL_MACHINE", ("SOFTWARE", "Classes")),
    "HKEY_CURRENT_CONFIG": ("HKEY_LOCAL_MACHINE", ("SYSTEM", "CurrentControlSet", "Hardware Profiles", "Current")),
}
_PREFIXES = ("microsoft.powershell.core\\registry::", "registry::")
_SERVICES_KEY = ("system", "currentcontrolset", "services")
_START_VALUES = {"boot": 0, "system": 1, "auto": 2, "delayed": 2, "manual": 3, "disabled": 4}


def parse_reg_path(path: str) -> tuple[str, tuple[str, ...]]:
    """('HKEY_LOCAL_MACHINE', ('SOFTWARE', 'x')) for any accepted spelling; redirected hives resolved."""
    p = path.replace("/", "\\")
    low = p.casefold()
    for prefix in _PREFIXES:
        if low.startswith(prefix):
            p = p[len(prefix) :]
            break
    head, _sep, rest = p.partition("\\")
    if ":" in head:  # HKLM:SOFTWARE\x is relative to the drive's root (its location unless Set-Location moved it)
        head, _sep, first = head.partition(":")
        rest = f"{first}\\{rest}" if first else rest
    hive = HIVES.get(head.rstrip(":").upper())
    if hive is None:
        raise WinError(ERROR_FILE_NOT_FOUND, f"Cannot find drive. A drive with the name '{head.rstrip(':')}' does not exist.", path=path)
    parts = tuple(s for s in rest.split("\\") if s)
    if hive in _REDIRECTS:
        hive, base = _REDIRECTS[hive]
        parts = base + parts
    return hive, parts


def reg_path_str(hive: str, parts: tuple[str, ...]) -> str:
    return "\\".join((hive, *parts))


def normalise_value(type_: str, data: Any) -> Any:
    """Check `data` fits `type_` (as RegSetValueEx would store it) and return its canonical Python form."""
    t = type_.upper()
    if t not in REG_TYPES:
        raise WinError(ERROR_INVALID_PARAMETER, f"Unknown registry value type {type_!r}; expected one of {', '.join(REG_TYPES)}.")
    if t in ("REG_SZ", "REG_EXPAND_SZ"):
        return "" if data is None else str(data)
    if t in ("REG_DWORD", "REG_QWORD"):
        bits = 32 if t == "REG_DWORD" else 64
        value = int(data, 0) if isinstance(data, str) else int(data or 0)
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise WinError(ERROR_INVALID_PARAMETER, f"Value {data!r} does not fit in {t}.")
        return value & ((1 << bits) - 1)  # negative numbers are stored as their two's complement
    if t == "REG_MULTI_SZ":
        if data is None:
            return []
        if isinstance(data, str):
            return [data]
        return [str(x) for x in data]
    # REG_BINARY, REG_NONE
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        return bytes.fromhex(data.replace(",", "").replace(" ", "").removeprefix("hex:"))
    return bytes(int(x) & 0xFF for x in data)


def infer_type(data: Any) -> str:
    """The value type a seed entry without an explicit type gets."""
    if isinstance(data, bool):
        return "REG_DWORD"
    if isinstance(data, int):
        return "REG_DWORD" if 0 <= data < (1 << 32) else "REG_QWORD"
    if isinstance(data, list):
        return "REG_MULTI_SZ"
    if isinstance(data, bytes | bytearray):
        return "REG_BINARY"
    return "REG_SZ"


class RegistryMixin:
    """Registry operations of Host."""

    def _reg_root(self: Host, hive: str) -> RegKey:
        root = self.state.registry.get(hive)
        if root is None:
            root = self.state.registry[hive] = RegKey(name=hive)
        return root

    def _reg_find(self: Host, path: str) -> tuple[RegKey | None, str, tuple[str, ...]]:
        hive, parts = parse_reg_path(path)
        key: RegKey | None = self._reg_root(hive)
        for part in parts:
            key = key.subkeys.get(part.casefold()) if key is not None else None
        return key, hive, parts

    def reg_get_key(self: Host, path: str) -> RegKeyInfo | None:
        with self.lock:
            key, hive, parts = self._reg_find(path)
            view = self._service_key_view(hive, parts)
            if key is None and view is None:
                return None
            values = {n: RegValue(v.name, v.type, _copy(v.data)) for n, v in (key.values.items() if key else ())}
            values.update({v.name.casefold(): v for v in view or ()})
            subkeys = [k.name for k in key.subkeys.values()] if key else []
            if hive == "HKEY_LOCAL_MACHINE" and tuple(p.casefold() for p in parts) == _SERVICES_KEY:
                known = {k.casefold() for k in subkeys}
                subkeys += [s.name for s in self.state.services.values() if s.name.casefold() not in known]
            real = self._reg_real_parts(hive, parts) if key is not None else (*parts[:-1], self.state.services[parts[-1].casefold()].name)
            return RegKeyInfo(
                path=reg_path_str(hive, real),
                name=key.name if key is not None else real[-1],
                values=tuple(values.values()),
                subkeys=tuple(subkeys),
                mtime=key.mtime if key is not None else self.clock.time(),
            )

    def _service_key_view(self: Host, hive: str, parts: tuple[str, ...]) -> list[RegValue] | None:
        """The values the SCM keeps for a service under HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>, or None."""
        if hive != "HKEY_LOCAL_MACHINE" or len(parts) != 4 or tuple(p.casefold() for p in parts[:3]) != _SERVICES_KEY:
            return None
        svc = self.state.services.get(parts[3].casefold())
        if svc is None:
            return None
        values = [
            RegValue("Type", "REG_DWORD", 0x20 if svc.service_type == "win32_share_process" else 0x10),
            RegValue("Start", "REG_DWORD", _START_VALUES.get(svc.start_mode, 3)),
            RegValue("ErrorControl", "REG_DWORD", 1),
            RegValue("ImagePath", "REG_EXPAND_SZ", svc.path),
            RegValue("DisplayName", "REG_SZ", svc.display_name),
            RegValue("ObjectName", "REG_SZ", svc.account),
        ]
        if svc.start_mode == "delayed":
            values.append(RegValue("DelayedAutostart", "REG_DWORD", 1))
        if svc.dependencies:
            values.append(RegValue("DependOnService", "REG_MULTI_SZ", list(svc.dependencies)))
        return values

    def _reg_real_parts(self: Host, hive: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        key = self._reg_root(hive)
        out = []
        for part in parts:
            key = key.subkeys[part.casefold()]
            out.append(key.name)
        return tuple(out)

    def reg_key_exists(self: Host, path: str) -> bool:
        with self.lock:
            key, hive, parts = self._reg_find(path)
            return key is not None or self._service_key_view(hive, parts) is not None

    def reg_create_key(self: Host, path: str) -> bool:
        """Create the key and missing parents; True if anything was created."""
        with self.lock, self.mutating():
            hive, parts = parse_reg_path(path)
            key = self._reg_root(hive)
            created = False
            for part in parts:
                sub = key.subkeys.get(part.casefold())
                if sub is None:
                    sub = key.subkeys[part.casefold()] = RegKey(name=part, mtime=self.clock.time())
                    created = True
                key = sub
            return created

    def reg_delete_key(self: Host, path: str, recurse: bool = False) -> None:
        """Delete a key; one with subkeys needs `recurse` (RegDeleteKey fails with 5 otherwise)."""
        with self.lock, self.mutating():
            hive, parts = parse_reg_path(path)
            if not parts:
                raise WinError(ERROR_ACCESS_DENIED, path=path)
            parent = self._reg_find(reg_path_str(hive, parts[:-1]))[0]
            key = parent.subkeys.get(parts[-1].casefold()) if parent else None
            if parent is None or key is None:
                raise WinError(ERROR_FILE_NOT_FOUND, path=path)
            if key.subkeys and not recurse:
                raise WinError(ERROR_ACCESS_DENIED, path=path)
            del parent.subkeys[parts[-1].casefold()]

    def reg_get_value(self: Host, path: str, name: str | None) -> RegValue | None:
        """The value (name None or "" = the key's default value), or None when the key or value is absent."""
        with self.lock:
            key, hive, parts = self._reg_find(path)
            want = (name or "").casefold()
            view = next((v for v in self._service_key_view(hive, parts) or () if v.name.casefold() == want), None)
            if view is not None:
                return view
            v = key.values.get(want) if key is not None else None
            return RegValue(v.name, v.type, _copy(v.data)) if v else None

    def reg_set_value(self: Host, path: str, name: str | None, data: Any, type_: str = "REG_SZ", *, create_key: bool = False) -> bool:
        """Set a value; True if it changed. The key must exist unless `create_key`."""
        canonical = normalise_value(type_, data)
        with self.lock, self.mutating():
            if create_key:
                self.reg_create_key(path)
            key = self._reg_find(path)[0]
            if key is None:
                raise WinError(ERROR_FILE_NOT_FOUND, path=path)
            lname = (name or "").casefold()
            old = key.values.get(lname)
            if old is not None and old.type == type_.upper() and old.data == canonical:
                return False
            key.values[lname] = RegValue(name=old.name if old else (name or ""), type=type_.upper(), data=canonical)
            key.mtime = self.clock.time()
            return True

    def reg_delete_value(self: Host, path: str, name: str | None) -> None:
        with self.lock, self.mutating():
            key = self._reg_find(path)[0]
            lname = (name or "").casefold()
            if key is None or lname not in key.values:
                raise WinError(ERROR_FILE_NOT_FOUND, path=path)
            del key.values[lname]
            key.mtime = self.clock.time()

    def reg_subkeys(self: Host, path: str) -> list[str]:
        info = self.reg_get_key(path)
        if info is None:
            raise WinError(ERROR_FILE_NOT_FOUND, path=path)
        return list(info.subkeys)

    def reg_values(self: Host, path: str) -> dict[str, RegValue]:
        info = self.reg_get_key(path)
        if info is None:
            raise WinError(ERROR_FILE_NOT_FOUND, path=path)
        return {v.name: v for v in info.values}

    def reg_seed(self: Host, path: str, values: dict[str, Any] | None) -> None:
        """Create a key and set values given as plain data (type inferred) or {type, data}."""
        self.reg_create_key(path)
        for name, spec in (values or {}).items():
            if isinstance(spec, dict) and "type" in spec:
                self.reg_set_value(path, name, spec.get("data"), spec["type"])
            else:
                self.reg_set_value(path, name, spec, infer_type(spec))


def _copy(data: Any) -> Any:
    return list(data) if isinstance(data, list) else data
