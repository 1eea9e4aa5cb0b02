"""ansible.windows.win_regedit: create/remove registry keys and values, with diff, as win_regedit.ps1 does.

Loading an offline hive file (``hive``) is not modelled: the twin says so instead of pretending.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins._validate import UnhandledError, dotnet_str
from simulator.twins.ansible_windows._registry import KINDS, PS_PATH, diff_value, unsigned


@twin("ansible.windows.win_regedit")
def win_regedit(m: ModuleRun) -> None:
    p = m.params
    path, name, kind, state = p["path"], p["name"], p["type"].lower(), p["state"].lower()
    m.result["data_changed"] = False
    m.result["data_type_changed"] = False
    m.diff["before"], m.diff["after"] = "", ""
    if name is None and kind != "string":
        m.warn("the data type when name is not specified can only be 'string', the type has automatically been converted")
        kind = "string"
    if not PS_PATH.match(path):
        m.fail_json(f"path: {path} is not a valid powershell path, see module documentation for examples.")
    if name == "":
        name = None
    data = _convert_data(m, kind, name, p["data"])
    if p["hive"]:
        if not m.host.exists(p["hive"]):
            m.fail_json(f"hive at path '{p['hive']}' is not valid or accessible, cannot load hive")
        m.fail_json("simulator: loading an offline registry hive (hive) is not modelled")
    if state == "present":
        _present(m, path, name or "", data, KINDS[kind][0])
    else:
        _absent(m, path, name or "", p["delete_key"])


def _convert_data(m: ModuleRun, kind: str, name: str | None, data: Any) -> Any:
    """The data conversions win_regedit.ps1 makes before it compares (hex strings, unsigned ints, string lists)."""
    if kind in ("binary", "none"):
        if data is None:
            data = ""
        if isinstance(data, str):
            return _hex_to_bytes(data)
        if isinstance(data, int) and not isinstance(data, bool):
            if data > 255:
                m.fail_json(
                    f"cannot convert binary data '{data}' to byte array, please specify this value as a yaml byte array or a comma separated hex value string"
                )
            return bytes([data])
        if isinstance(data, list):
            return bytes(int(b, 0) if isinstance(b, str) else int(b) for b in data)
        return data
    if kind in ("dword", "qword"):
        bits = 32 if kind == "dword" else 64
        number = _to_uint(m, 0 if data is None else data)
        if number > (1 << bits) - 1:
            m.fail_json(f"data cannot be larger than 0x{'f' * (bits // 4)} when type is {kind}")
        return unsigned(number, bits)
    if kind in ("string", "expandstring"):
        if data is None:
            return "" if name else None
        return dotnet_str(data)
    if kind == "multistring":
        if data is None:
            return []
        return [dotnet_str(v) for v in data] if isinstance(data, list) else [dotnet_str(data)]
    return data


def _to_uint(m: ModuleRun, data: Any) -> int:
    if isinstance(data, str):  # [UInt64]"0x10" / [UInt64]"16"
        text = data.strip()
        try:
            return int(text, 16) if text.lower().startswith("0x") else int(Decimal(text))
        except (ArithmeticError, ValueError):
            raise UnhandledError(f'Cannot convert value "{data}" to type "System.UInt64". Error: "Input string was not in a correct format."') from None
    if isinstance(data, float):
        if data % 1:
            m.fail_json(f"data '{dotnet_str(data)}' cannot be a decimal or float value with a remainder when type is dword or qword")
        return int(data)
    return int(data)


def _hex_to_bytes(text: str) -> bytes:
    """Convert-RegExportHexStringToByteArray: 'hex:be,ef' / 'beef' / 'be:ef'."""
    text = re.sub(r"^hex:", "", text.lower())
    text = re.sub(r"[^a-f0-9\\,x\-:]", "", text).replace(",", ":")
    if not text:
        return b""
    if len(text) == 1:
        return bytes([int(text, 16)])
    if len(text) % 2 == 0 and ":" not in text:
        return bytes(int(text[i : i + 2], 16) for i in range(0, len(text), 2))
    if ":" in text:
        return bytes(int(part, 16) for part in re.split(r":+", text))
    return b""


def _differs(existing: Any, new: Any) -> bool:
    """Compare-RegistryProperty: arrays element by element (Compare-Object: case-insensitive), else ``-cne``.

    ``-cne`` converts the new value to the existing one's type, so a DWord 5 equals the string "5".
    """
    sequence = bytes | bytearray | list | tuple
    if isinstance(existing, sequence):
        old, fresh = list(existing), list(new) if isinstance(new, sequence) else [new]
        return len(old) != len(fresh) or any(dotnet_str(a).lower() != dotnet_str(b).lower() for a, b in zip(old, fresh, strict=False))
    if isinstance(existing, int):
        try:
            return existing != int(new)
        except (TypeError, ValueError):
            return True
    return dotnet_str(existing) != dotnet_str(new)


def _present(m: ModuleRun, path: str, name: str, data: Any, reg_type: str) -> None:
    host = m.host
    key = host.reg_get_key(path)
    if key is None:
        if not m.check_mode:
            host.reg_create_key(path)
        m.result["changed"] = True
        m.diff["before"], m.diff["after"] = {}, {path: {}}
        if m.check_mode:
            return
    else:
        m.diff["before"], m.diff["after"] = {path: {}}, {path: {}}
    if data is None:
        return
    existing = host.reg_get_value(path, name)
    if existing is None:
        if not m.check_mode:
            host.reg_set_value(path, name, data, reg_type)
        m.result["changed"] = True
        m.diff["after"][path][name] = diff_value(reg_type, data)
        return
    change = False
    if existing.type != reg_type:
        change = True
        m.result["data_type_changed"] = True
        m.result["data_changed"] = _differs(existing.data, data)
    elif _differs(existing.data, data):
        change = True
        m.result["data_changed"] = True
    m.diff["before"][path][name] = diff_value(existing.type, existing.data)
    m.diff["after"][path][name] = diff_value(reg_type, data) if change else diff_value(existing.type, existing.data)
    if change:
        if not m.check_mode:
            host.reg_set_value(path, name, data, reg_type)
        m.result["changed"] = True


def _absent(m: ModuleRun, path: str, name: str, delete_key: bool) -> None:
    host = m.host
    if host.reg_get_key(path) is None:
        return
    if delete_key and not name:
        if not m.check_mode:
            host.reg_delete_key(path, recurse=True)
        m.result["changed"] = True
        m.diff["before"], m.diff["after"] = {path: {}}, {}
        return
    existing = host.reg_get_value(path, name)
    if existing is None:
        return
    if not m.check_mode:
        host.reg_delete_value(path, name)
    m.result["changed"] = True
    m.diff["before"], m.diff["after"] = {path: {name: diff_value(existing.type, existing.data)}}, {path: {}}
