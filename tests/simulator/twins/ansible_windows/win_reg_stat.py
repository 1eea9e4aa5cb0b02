"""ansible.windows.win_reg_stat (a Legacy module): a key's values and sub keys, or one value (type, value, raw_value)."""

from __future__ import annotations

from typing import Any

from simulator.twins import ModuleRun, twin
from simulator.twins.ansible_windows._registry import KIND_OF_REG, PS_PATH, as_bytes, unsigned


@twin("ansible.windows.win_reg_stat", legacy_reads=["path", "name"])
def win_reg_stat(m: ModuleRun) -> None:
    path, name = m.params["path"], m.params["name"]
    if not PS_PATH.match(path):
        m.fail_json(f"path: {path} is not a valid registry path, see module documentation for examples.")
    key = m.host.reg_get_key(path)
    if key is None:
        m.result["exists"] = False
        return
    if name is None:
        properties = {value.name: _property(m, value) for value in key.values}
        m.result.update(exists=True, properties=properties, sub_keys=list(key.subkeys))
        return
    value = key.value(name)
    if value is None:
        m.result["exists"] = False
    else:
        m.result["exists"] = True
        m.result.update(_property(m, value))


def _property(m: ModuleRun, value: Any) -> dict[str, Any]:
    """Get-PropertyValue: ``value`` as .NET returns it (REG_EXPAND_SZ expanded), ``raw_value`` as stored."""
    kind = KIND_OF_REG.get(value.type, value.type)
    data = value.data
    if kind in ("Binary", "None"):
        raw = as_bytes(data)
        return {"type": value.type, "value": list(raw), "raw_value": [f"0x{b:02x}" for b in raw]}
    if kind in ("DWord", "QWord"):
        number = unsigned(data, 32 if kind == "DWord" else 64)
        return {"type": value.type, "value": number, "raw_value": number}
    if kind == "ExpandString":
        return {"type": value.type, "value": m.expand_env(data), "raw_value": data}
    return {"type": value.type if value.name else "REG_SZ", "value": data, "raw_value": data}
