"""win_regedit and win_reg_stat against a real simulated host: types, conversions, diff, check mode."""

from __future__ import annotations

import pytest
from _twin_host import call, make_host

KEY = "HKLM:\\SOFTWARE\\Contoso\\App"


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path)


def test_string_value_check_real_idempotent_with_diff(host):
    args = {"path": KEY, "name": "Port", "data": "443"}
    rc, out = call(host, "ansible.windows.win_regedit", check=True, diff=True, **args)
    assert (rc, out["changed"]) == (0, True)
    assert out["diff"] == {"before": {}, "after": {KEY: {}}}  # check mode stops after the (not yet) created key
    assert host.reg_get_key(KEY) is None
    rc, out = call(host, "ansible.windows.win_regedit", diff=True, **args)
    assert out["changed"] is True and out["data_changed"] is False
    assert out["diff"]["after"] == {KEY: {"Port": {"type": "String", "value": "443"}}}
    assert host.reg_get_value(KEY, "Port").data == "443"
    rc, out = call(host, "ansible.windows.win_regedit", **args)
    assert out["changed"] is False


def test_dword_from_hex_string_and_type_change(host):
    host.reg_set_value(KEY, "Level", "1", "REG_SZ", create_key=True)
    _rc, out = call(host, "ansible.windows.win_regedit", diff=True, path=KEY, name="Level", data="0x01", type="dword")
    assert out["changed"] and out["data_type_changed"] and not out["data_changed"]
    assert out["diff"]["after"][KEY]["Level"] == {"type": "DWord", "value": "0x00000001"}
    assert host.reg_get_value(KEY, "Level").type == "REG_DWORD"
    assert call(host, "ansible.windows.win_regedit", path=KEY, name="Level", data=1, type="dword")[1]["changed"] is False


def test_dword_too_large(host):
    rc, out = call(host, "ansible.windows.win_regedit", path=KEY, name="x", data=2**32, type="dword")
    assert (rc, out["msg"]) == (1, "data cannot be larger than 0xffffffff when type is dword")


def test_binary_and_multistring(host):
    call(host, "ansible.windows.win_regedit", path=KEY, name="Blob", data="hex:be,ef", type="binary")
    assert host.reg_get_value(KEY, "Blob").data == b"\xbe\xef"
    call(host, "ansible.windows.win_regedit", path=KEY, name="Names", data=["a", "b"], type="multistring")
    assert call(host, "ansible.windows.win_regedit", path=KEY, name="Names", data=["A", "B"], type="multistring")[1]["changed"] is False


def test_absent_value_and_key(host):
    host.reg_set_value(KEY, "Port", "443", "REG_SZ", create_key=True)
    assert call(host, "ansible.windows.win_regedit", path=KEY, name="Port", state="absent")[1]["changed"] is True
    assert host.reg_get_value(KEY, "Port") is None
    assert call(host, "ansible.windows.win_regedit", check=True, path=KEY, state="absent")[1]["changed"] is True
    assert host.reg_get_key(KEY) is not None
    assert call(host, "ansible.windows.win_regedit", path=KEY, state="absent")[1]["changed"] is True
    assert host.reg_get_key(KEY) is None
    assert call(host, "ansible.windows.win_regedit", path=KEY, state="absent")[1]["changed"] is False


def test_invalid_path(host):
    _rc, out = call(host, "ansible.windows.win_regedit", path="HKEY_LOCAL_MACHINE\\SOFTWARE")
    assert out["msg"] == "path: HKEY_LOCAL_MACHINE\\SOFTWARE is not a valid powershell path, see module documentation for examples."


def test_default_value_only_as_string_warns(host):
    _rc, out = call(host, "ansible.windows.win_regedit", path=KEY, data=5, type="dword")
    assert out["warnings"] == ["the data type when name is not specified can only be 'string', the type has automatically been converted"]


def test_reg_stat_key_and_value(host):
    host.reg_set_value(KEY, "Port", 443, "REG_DWORD", create_key=True)
    host.reg_set_value(KEY, "Home", "%SystemRoot%\\app", "REG_EXPAND_SZ")
    host.reg_create_key(KEY + "\\Sub")
    _rc, out = call(host, "ansible.windows.win_reg_stat", path=KEY)
    assert out["exists"] is True and out["sub_keys"] == ["Sub"]
    assert out["properties"]["Port"] == {"type": "REG_DWORD", "value": 443, "raw_value": 443}
    _rc, out = call(host, "ansible.windows.win_reg_stat", path=KEY, name="Home")
    assert (out["value"], out["raw_value"], out["type"]) == ("C:\\Windows\\app", "%SystemRoot%\\app", "REG_EXPAND_SZ")
    assert call(host, "ansible.windows.win_reg_stat", path=KEY, name="nope")[1]["exists"] is False
    assert call(host, "ansible.windows.win_reg_stat", path=KEY + "\\Nope")[1] == {"changed": False, "exists": False}
