"""Registry value conversions shared by win_regedit and win_reg_stat (.NET RegistryValueKind names and formats)."""

from __future__ import annotations

import re
from typing import Any

# module type → (host REG_* type, .NET RegistryValueKind)
KINDS = {
    "none": ("REG_NONE", "None"),
    "binary": ("REG_BINARY", "Binary"),
    "dword": ("REG_DWORD", "DWord"),
    "expandstring": ("REG_EXPAND_SZ", "ExpandString"),
    "multistring": ("REG_MULTI_SZ", "MultiString"),
    "string": ("REG_SZ", "String"),
    "qword": ("REG_QWORD", "QWord"),
}
KIND_OF_REG = dict(KINDS.values())
PS_PATH = re.compile(r"^HK(CC|CR|CU|LM|U):\\", re.I)


def as_bytes(data: Any) -> bytes:
    return bytes(data) if isinstance(data, bytes | bytearray | list | tuple) else b""


def unsigned(data: Any, bits: int) -> int:
    return int(data) & ((1 << bits) - 1)


def diff_value(reg_type: str, data: Any) -> dict[str, Any]:
    """Get-DiffValue of win_regedit.ps1."""
    kind = KIND_OF_REG[reg_type]
    if kind in ("Binary", "None"):
        return {"type": kind, "value": [f"0x{b:02x}" for b in as_bytes(data)]}
    if kind == "DWord":
        return {"type": kind, "value": f"0x{unsigned(data, 32):08x}"}
    if kind == "QWord":
        return {"type": kind, "value": f"0x{unsigned(data, 64):016x}"}
    return {"type": kind, "value": list(data) if isinstance(data, list | tuple) else data}
